"""Batch normalisation with PyTorch's conventions (momentum 0.1, eps 1e-5)."""

from __future__ import annotations

from ..backend import xp
from ..errors import ShapeError
from ..validation import check_number
from .base import Layer


class BatchNorm(Layer):
    """Normalise each feature over the batch, then scale by gamma and shift by beta.

    Training normalises with the biased batch variance and updates
    running = (1 - momentum) * running + momentum * batch, storing the unbiased
    variance; inference uses the running statistics. This keeps each layer's input
    on one scale, which is why it tames exploding and vanishing gradients.
    """

    kind = "batchnorm"
    nonnegative_weights = ("running_var",)

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0)
        self.eps = check_number("eps", eps, low=0.0, low_open=True)
        self._xhat = self._inv_std = None
        self._training_pass = False

    def weight_shapes(self, input_dim: int) -> dict[str, tuple[int, ...]]:
        """gamma, beta, running_mean and running_var: one entry per feature each."""
        return dict.fromkeys(("gamma", "beta", "running_mean", "running_var"), (input_dim,))

    def build(self, input_dim: int, rng: xp.random.Generator, dtype: xp.dtype) -> int:
        """gamma = 1, beta = 0, running mean 0 and variance 1."""
        self.input_dim = self.output_dim = input_dim
        self.params = {"gamma": xp.ones(input_dim, dtype), "beta": xp.zeros(input_dim, dtype)}
        self.state = {
            "running_mean": xp.zeros(input_dim, dtype),
            "running_var": xp.ones(input_dim, dtype),
        }
        self._zero_grads()
        return input_dim

    def forward(self, x: xp.ndarray, training: bool = False) -> xp.ndarray:
        """gamma * (x - mean) / sqrt(var + eps) + beta."""
        self._training_pass = training
        self._xhat, self._inv_std = normalize(
            x,
            self.state["running_mean"][None, :],
            self.state["running_var"][None, :],
            self.momentum,
            self.eps,
            training,
        )
        return self._xhat * self.params["gamma"] + self.params["beta"]

    def backward(self, dy: xp.ndarray, need_input_grad: bool = True) -> xp.ndarray | None:
        """Exact gradient through the batch statistics (training) or the fixed ones (inference)."""
        scale_and_shift_gradients(dy, self._xhat, self.grads["gamma"], self.grads["beta"])
        if not need_input_grad:
            return None
        return input_gradient(
            dy * self.params["gamma"], self._xhat, self._inv_std, self._training_pass
        )

    def get_config(self) -> dict:
        """Constructor arguments."""
        return {"type": self.kind, "momentum": self.momentum, "eps": self.eps}

    def __repr__(self) -> str:
        return f"BatchNorm(momentum={self.momentum}, eps={self.eps})"


# The arithmetic below works along the sample axis (-2) with per-feature arrays of shape
# (..., 1, features), so one model and a stack of K models (the ensemble) share it.


def normalize(
    x: xp.ndarray,
    running_mean: xp.ndarray,
    running_var: xp.ndarray,
    momentum: float,
    eps: float,
    training: bool,
) -> tuple[xp.ndarray, xp.ndarray]:
    """(xhat, 1/std); training uses the batch and updates the running statistics in place."""
    if not training:
        inv_std = 1.0 / xp.sqrt(running_var + eps)
        return (x - running_mean) * inv_std, inv_std
    n = x.shape[-2]
    if n < 2:
        raise ShapeError("BatchNorm needs at least 2 samples per batch in training, received 1")
    mean = x.mean(axis=-2, keepdims=True)
    centered = x - mean
    var = xp.einsum("...ij,...ij->...j", centered, centered)[..., None, :] / n
    running_mean *= 1.0 - momentum
    running_mean += momentum * mean
    running_var *= 1.0 - momentum
    running_var += (momentum * n / (n - 1)) * var
    inv_std = 1.0 / xp.sqrt(var + eps)
    return centered * inv_std, inv_std


def scale_and_shift_gradients(
    dy: xp.ndarray, xhat: xp.ndarray, dgamma: xp.ndarray, dbeta: xp.ndarray
) -> None:
    """Fill d loss / d gamma and d loss / d beta in place."""
    xp.einsum("...ij,...ij->...j", dy, xhat, out=dgamma)
    xp.sum(dy, axis=-2, out=dbeta)


def input_gradient(
    dxhat: xp.ndarray, xhat: xp.ndarray, inv_std: xp.ndarray, training: bool
) -> xp.ndarray:
    """d loss / d x from d loss / d xhat, through the batch statistics when training."""
    if not training:
        return dxhat * inv_std
    n = dxhat.shape[-2]
    projection = xp.einsum("...ij,...ij->...j", dxhat, xhat)[..., None, :]
    return (inv_std / n) * (n * dxhat - dxhat.sum(axis=-2, keepdims=True) - xhat * projection)
