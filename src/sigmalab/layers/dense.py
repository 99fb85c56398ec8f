"""The fully connected layer: a = sigma(x W + b), one node per unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from ..activations import Activation, get_activation
from ..backend import xp
from ..errors import SigmalabError
from ..initializers import check_init, initial_weights
from ..limits import MAX_UNITS
from ..penalties import add_penalty_gradient, weight_penalty
from ..validation import check_bool, check_int, check_number
from .base import Layer


class _Buffers(NamedTuple):
    """A training pass's arrays for one batch size, stored feature-major: (width, rows).

    Feature-major, a row of ones is one contiguous row that an output buffer can carry:
    ``outputs`` is [a^T; 1], which the next Dense reads as its [x^T; 1]. ``z``, ``a``,
    ``delta`` and ``dx`` are the (rows, width) views that forward and backward hand out.
    """

    zt: xp.ndarray
    outputs: xp.ndarray
    deltat: xp.ndarray
    dxt: xp.ndarray
    z: xp.ndarray
    a: xp.ndarray
    delta: xp.ndarray
    dx: xp.ndarray


class Dense(Layer):
    """``units`` nodes, each computing sigma(w.x + b); ``l1``/``l2`` penalise W only.

    After a forward/backward pass ``z`` (pre-activation), ``a`` (output) and ``delta``
    (the loss gradient w.r.t. ``z``, the backpropagated error) stay readable for probes.

    W and b sit in one block [W; b] of shape (inputs + 1, units). When the input is
    another Dense's training output, the model hands over that layer's
    ``output_with_ones()`` too, and one product [x 1] [W; b] = x W + b gives z while
    [x 1]^T delta gives dW and db: the bias costs no pass of its own. Any other input (the
    data, a BatchNorm or Dropout output, an inference pass) takes x W, then adds b.
    """

    kind = "dense"

    def __init__(
        self,
        units: int,
        activation: str | Callable | Activation | None = None,
        init: str = "auto",
        weight_scale: float = 1.0,
        use_bias: bool = True,
        l1: float = 0.0,
        l2: float = 0.0,
        derivative: Callable | None = None,
    ) -> None:
        super().__init__()
        self.units = check_int("units", units)
        MAX_UNITS.check("units", self.units)
        self.activation = get_activation(activation, derivative)
        self.init = check_init(init)
        self.weight_scale = check_number("weight_scale", weight_scale, low=0.0)
        self.use_bias = check_bool("use_bias", use_bias)
        self.l1 = check_number("l1", l1, low=0.0)
        self.l2 = check_number("l2", l2, low=0.0)
        self.x = self.z = self.a = self.delta = None
        self._buffer_cache: dict[int, _Buffers] = {}
        self._buffers: _Buffers | None = None  # None: the last pass was inference
        self._inputs: xp.ndarray | None = None  # [x^T; 1] when the input came with its ones

    def weight_shapes(self, input_dim: int) -> dict[str, tuple[int, ...]]:
        """W (input_dim, units) and, with a bias, b (units,)."""
        shapes = {"W": (input_dim, self.units)}
        if self.use_bias:
            shapes["b"] = (self.units,)
        return shapes

    def output_width(self, input_dim: int) -> int:
        """One output per unit."""
        return self.units

    def build(self, input_dim: int, rng: xp.random.Generator, dtype: xp.dtype) -> int:
        """Draw W (input_dim, units) from the initialiser, scaled; biases start at 0."""
        self.input_dim, self.output_dim = input_dim, self.units
        W = initial_weights(self.init, self.activation, rng, input_dim, self.units, dtype)
        self._check_scale_fits(W)
        self.params = {"W": W * dtype.type(self.weight_scale)}
        if self.use_bias:
            self.params["b"] = xp.zeros(self.units, dtype=dtype)
        size = (input_dim + self.use_bias) * self.units
        self.adopt(xp.empty(size, dtype), xp.zeros(size, dtype))
        return self.units

    def _check_scale_fits(self, W: xp.ndarray) -> None:
        """Refuse a ``weight_scale`` that would overflow the dtype: the weights would start
        infinite, and training would diverge at its first step for no reason of its own."""
        limit = float(xp.finfo(W.dtype).max)
        drawn = float(xp.abs(W).max(initial=0.0))
        if self.weight_scale > limit or drawn * self.weight_scale > limit:
            advice = " or dtype='float64'" if W.dtype != xp.float64 else ""
            raise SigmalabError(
                f"weight_scale={self.weight_scale:g} is too large for {W.dtype.name} (its "
                f"largest number is {limit:.3g}): the scaled initial weights would not be "
                f"finite; use a smaller weight_scale{advice}"
            )

    def adopt(self, params_block: xp.ndarray, grads_block: xp.ndarray) -> None:
        """Take the flat blocks, and see them as [W; b] and [dW; db]."""
        super().adopt(params_block, grads_block)
        rows = self.input_dim + self.use_bias
        self._block = params_block.reshape(rows, self.units)
        self._block_t = self._block.T
        self._bias_column = self.params["b"][:, None] if self.use_bias else None
        self._grad_block = grads_block.reshape(rows, self.units)
        self._buffer_cache.clear()

    def forward(
        self, x: xp.ndarray, training: bool = False, x_with_ones: xp.ndarray | None = None
    ) -> xp.ndarray:
        """z = x W + b, a = sigma(z); a training pass writes into arrays reused next pass.

        ``x_with_ones`` is [x^T; 1], feature-major: the previous Dense's
        ``output_with_ones()`` when x is that layer's training output (the model passes it).
        """
        if not training:
            self._buffers = self._inputs = None
            # xp.dot makes the same BLAS call as @ on 2-D arrays, dispatched ~1 us faster.
            z = xp.dot(x, self.params["W"])
            if self.use_bias:
                z += self.params["b"]
            self.x, self.z = x, z
            self.a = self.activation(z)
            return self.a
        buffers = self._buffers = self._training_buffers(x.shape[0])
        self._inputs = None
        if x_with_ones is not None:
            self._inputs = x_with_ones if self.use_bias else x_with_ones[:-1]
            xp.dot(self._block_t, self._inputs, out=buffers.zt)
        else:
            zt = xp.dot(self.params["W"].T, x.T, out=buffers.zt)
            if self.use_bias:
                zt += self._bias_column
        self.x, self.z = x, buffers.z
        self.a = self.activation(buffers.z, out=buffers.a)
        return self.a

    def backward(self, dy: xp.ndarray, need_input_grad: bool = True) -> xp.ndarray | None:
        """delta = dy * sigma'(z); dW = x^T delta + penalty'; db = sum(delta); dx = delta W^T."""
        buffers = self._buffers
        out = None if buffers is None else buffers.delta
        delta = self.delta = self.activation.backward(dy, self.z, self.a, out=out)
        W, dW = self.params["W"], self.grads["W"]
        if self._inputs is not None:
            xp.dot(self._inputs, delta, out=self._grad_block)
        else:
            xp.dot(self.x.T, delta, out=dW)
            if self.use_bias:
                xp.add.reduce(delta, axis=0, out=self.grads["b"])
        if self.l1 or self.l2:
            add_penalty_gradient(dW, W, self.l1, self.l2)
        if not need_input_grad:
            return None
        if buffers is None:
            return xp.dot(delta, W.T)
        xp.dot(W, delta.T, out=buffers.dxt)
        return buffers.dx

    def output_with_ones(self) -> xp.ndarray | None:
        """[a^T; 1] of the last training pass, for a next Dense to read; None after inference.

        Copying any other input next to a row of ones would cost more than the bias add, so
        only this buffer, which carries the ones already, takes the one-product path.
        """
        if self._buffers is None or self.a is not self._buffers.a:  # not written in place
            return None
        return self._buffers.outputs

    def _training_buffers(self, rows: int) -> _Buffers:
        """The arrays for batches of ``rows`` samples, made once per size.

        Training repeats a few batch sizes, so reusing them saves four allocations per
        layer and step. Inference allocates, so arrays handed to users never change
        afterwards; x, z, a and delta of a training pass stay valid until the next one.
        """
        buffers = self._buffer_cache.get(rows)
        if buffers is None:
            if len(self._buffer_cache) >= 4:  # batch, last batch, a probe: a few sizes at most
                self._buffer_cache.clear()
            dtype = self.params["W"].dtype
            zt, deltat = xp.empty((self.units, rows), dtype), xp.empty((self.units, rows), dtype)
            outputs = xp.ones((self.units + 1, rows), dtype)
            dxt = xp.empty((self.input_dim, rows), dtype)
            buffers = _Buffers(
                zt, outputs, deltat, dxt, zt.T, outputs[: self.units].T, deltat.T, dxt.T
            )
            self._buffer_cache[rows] = buffers
        return buffers

    def penalty(self) -> float:
        """l1 * sum|W| + l2 * sum W^2."""
        return float(weight_penalty(self.params["W"], self.l1, self.l2))

    def get_config(self) -> dict:
        """Constructor arguments; a bare callable activation cannot be saved."""
        if self.activation.spec is None:
            raise SigmalabError(
                f"activation {self.activation.name!r} is a Python callable and cannot be saved; "
                "use a built-in name or a formula string such as 'x * sigmoid(x)'"
            )
        return {
            "type": self.kind,
            "units": self.units,
            "activation": self.activation.spec,
            "init": self.init,
            "weight_scale": self.weight_scale,
            "use_bias": self.use_bias,
            "l1": self.l1,
            "l2": self.l2,
        }

    def __repr__(self) -> str:
        return f"Dense({self.units}, activation={self.activation.spec or self.activation.name!r})"
