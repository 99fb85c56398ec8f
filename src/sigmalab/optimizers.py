"""Optimizers with PyTorch's update rules, applied to one flat parameter vector.

The model keeps all trainable parameters in one contiguous array (and their
gradients in another), so an update is a handful of whole-array operations however
many layers there are. A leading axis (one row per network) works the same way,
which is how an ensemble trains many networks at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .backend import xp
from .errors import SigmalabError, unknown_name
from .validation import check_bool, check_number


class Optimizer:
    """Base class: gradient clipping, state reset and a JSON-able config."""

    name = "optimizer"

    def __init__(self, lr: float, clip_norm: float | None = None) -> None:
        self.lr = check_number("lr", lr, low=0.0, low_open=True)
        self.clip_norm = (
            None
            if clip_norm is None
            else check_number("clip_norm", clip_norm, low=0.0, low_open=True)
        )
        self.steps = 0
        self._scratch: xp.ndarray | None = None

    def reset(self) -> None:
        """Forget all state (moments, step count) before a new training run."""
        self.steps = 0
        self._scratch = None

    def _scaled(self, values: xp.ndarray) -> xp.ndarray:
        """lr * values in a reused array, so plain and momentum SGD allocate nothing per step."""
        if self._scratch is None or self._scratch.shape != values.shape:
            self._scratch = xp.empty_like(values)
        return xp.multiply(values, self.lr, out=self._scratch)

    def step(self, params: xp.ndarray, grads: xp.ndarray) -> None:
        """Update ``params`` in place from ``grads`` (clipped first if ``clip_norm`` is set)."""
        self.steps += 1
        if self.clip_norm is not None:
            grads = clip_by_global_norm(grads, self.clip_norm)
        self._update(params, grads)

    def _update(self, params: xp.ndarray, grads: xp.ndarray) -> None:
        raise NotImplementedError

    def get_config(self) -> dict:
        """Name and hyper-parameters."""
        config = {"name": self.name, "lr": self.lr}
        if self.clip_norm is not None:
            config["clip_norm"] = self.clip_norm
        return config

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def clip_by_global_norm(grads: xp.ndarray, max_norm: float) -> xp.ndarray:
    """Scale gradients so their global L2 norm is at most ``max_norm`` (PyTorch's rule)."""
    # squares summed in float64: float32 squares overflow from |g| ~ 2e19, which would zero
    # exactly the exploding gradients clipping is for
    norm = xp.sqrt(xp.einsum("...i,...i->...", grads, grads, dtype=xp.float64))[..., None]
    scale = xp.minimum(max_norm / (norm + 1e-6), 1.0).astype(grads.dtype)
    return grads * scale


class SGD(Optimizer):
    """v = momentum * v + g; w -= lr * v (Nesterov: w -= lr * (g + momentum * v))."""

    name = "sgd"

    def __init__(
        self,
        lr: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        clip_norm: float | None = None,
    ) -> None:
        super().__init__(lr, clip_norm)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.nesterov = check_bool("nesterov", nesterov)
        if self.nesterov and self.momentum == 0.0:
            raise SigmalabError("nesterov needs momentum > 0")
        self.velocity: xp.ndarray | None = None

    def reset(self) -> None:
        """Drop the velocity."""
        super().reset()
        self.velocity = None

    def _update(self, params, grads):
        if self.momentum == 0.0:
            params -= self._scaled(grads)
            return
        if self.velocity is None:
            self.velocity = grads.copy()
        else:
            self.velocity *= self.momentum
            self.velocity += grads
        if self.nesterov:
            params -= self.lr * (grads + self.momentum * self.velocity)
        else:
            params -= self._scaled(self.velocity)

    def get_config(self) -> dict:
        """Name and hyper-parameters."""
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam with bias correction; eps is added after the square root (PyTorch)."""

    name = "adam"

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        clip_norm: float | None = None,
    ) -> None:
        super().__init__(lr, clip_norm)
        self.beta1 = check_number("beta1", beta1, low=0.0, high=1.0, high_open=True)
        self.beta2 = check_number("beta2", beta2, low=0.0, high=1.0, high_open=True)
        self.eps = check_number("eps", eps, low=0.0, low_open=True)
        self.m: xp.ndarray | None = None
        self.v: xp.ndarray | None = None

    def reset(self) -> None:
        """Drop both moments."""
        super().reset()
        self.m = self.v = None

    def _update(self, params, grads):
        if self.m is None:
            self.m, self.v = xp.zeros_like(params), xp.zeros_like(params)
        m, v, t = self.m, self.v, self.steps
        m *= self.beta1
        m += (1.0 - self.beta1) * grads
        v *= self.beta2
        v += (1.0 - self.beta2) * (grads * grads)
        step_size = self.lr / (1.0 - self.beta1**t)
        # math.sqrt: a NumPy float64 scalar here would run the whole update in float64.
        denom = xp.sqrt(v) * (1.0 / math.sqrt(1.0 - self.beta2**t)) + self.eps
        params -= step_size * (m / denom)

    def get_config(self) -> dict:
        """Name and hyper-parameters."""
        return {**super().get_config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class RMSprop(Optimizer):
    """v = rho * v + (1 - rho) g^2; w -= lr * g / (sqrt(v) + eps)."""

    name = "rmsprop"

    def __init__(
        self, lr: float = 1e-2, rho: float = 0.99, eps: float = 1e-8, clip_norm: float | None = None
    ) -> None:
        super().__init__(lr, clip_norm)
        self.rho = check_number("rho", rho, low=0.0, high=1.0, high_open=True)
        self.eps = check_number("eps", eps, low=0.0, low_open=True)
        self.v: xp.ndarray | None = None

    def reset(self) -> None:
        """Drop the squared-gradient average."""
        super().reset()
        self.v = None

    def _update(self, params, grads):
        if self.v is None:
            self.v = xp.zeros_like(params)
        self.v *= self.rho
        self.v += (1.0 - self.rho) * (grads * grads)
        params -= self.lr * (grads / (xp.sqrt(self.v) + self.eps))

    def get_config(self) -> dict:
        """Name and hyper-parameters."""
        return {**super().get_config(), "rho": self.rho, "eps": self.eps}


OPTIMIZERS = {cls.name: cls for cls in (SGD, Adam, RMSprop)}


def get_optimizer(spec: str | Mapping | Optimizer) -> Optimizer:
    """Resolve a name, a config dict ({"name": "sgd", "lr": 0.1}) or an Optimizer."""
    if isinstance(spec, Optimizer):
        return spec
    if not isinstance(spec, str | Mapping):
        raise SigmalabError(
            f"optimizer must be a name ({', '.join(OPTIMIZERS)}), a dict such as "
            f"{{'name': 'sgd', 'lr': 0.1}} or a sigmalab Optimizer, received: {spec!r}"
        )
    config = {"name": spec} if isinstance(spec, str) else dict(spec)
    name = config.pop("name", None)
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    try:
        return OPTIMIZERS[name](**config)
    except TypeError as error:
        raise SigmalabError(f"optimizer {name!r}: {error}") from None
