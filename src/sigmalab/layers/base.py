"""What every layer shares: parameters, their gradients, and the build step."""

from __future__ import annotations

from ..backend import xp


class Layer:
    """A layer maps (batch, in) -> (batch, out) and backpropagates the error.

    ``params`` and ``grads`` hold arrays by name (trainable, same shapes); ``state``
    holds saved but untrained arrays (BatchNorm's running statistics). The model may
    move ``params``/``grads`` into one flat buffer, so layers update them in place.
    """

    kind = "layer"
    random_stream = "init"  # which of the model's generators build() receives
    nonnegative_weights: tuple[str, ...] = ()  # arrays that set_weights keeps >= 0

    def __init__(self) -> None:
        self.params: dict[str, xp.ndarray] = {}
        self.grads: dict[str, xp.ndarray] = {}
        self.state: dict[str, xp.ndarray] = {}
        self.input_dim: int | None = None
        self.output_dim: int | None = None
        self.owner: object | None = None  # the one model whose weights this layer holds

    @property
    def built(self) -> bool:
        """True once ``build`` has fixed the input width and created the parameters."""
        return self.input_dim is not None

    def weight_shapes(self, input_dim: int) -> dict[str, tuple[int, ...]]:
        """Name -> shape of the arrays ``build(input_dim)`` creates (``params``, then ``state``).

        Known without creating them, so sizes can be checked before any memory is taken.
        """
        return {}

    def output_width(self, input_dim: int) -> int:
        """The output width for ``input_dim`` inputs (the same, unless the layer says otherwise)."""
        return input_dim

    def build(self, input_dim: int, rng: xp.random.Generator, dtype: xp.dtype) -> int:
        """Create parameters for ``input_dim`` inputs; return the output width."""
        self.input_dim = self.output_dim = input_dim
        return input_dim

    def forward(self, x: xp.ndarray, training: bool = False) -> xp.ndarray:
        """The layer's output for a batch."""
        raise NotImplementedError

    def backward(self, dy: xp.ndarray, need_input_grad: bool = True) -> xp.ndarray | None:
        """Fill ``grads`` from the output error ``dy``; return the input error (if asked)."""
        raise NotImplementedError

    def penalty(self) -> float:
        """The regularisation term this layer adds to the loss."""
        return 0.0

    def get_config(self) -> dict:
        """The constructor arguments, as plain JSON-able values."""
        return {"type": self.kind}

    def adopt(self, params_block: xp.ndarray, grads_block: xp.ndarray) -> None:
        """Move ``params`` (values copied) and ``grads`` into these flat blocks, in order.

        The model hands every layer a slice of its flat parameter and gradient arrays,
        so an optimizer updates all layers at once.
        """
        offset = 0
        for name, value in self.params.items():
            stop = offset + value.size
            self.params[name] = params_block[offset:stop].reshape(value.shape)
            self.params[name][...] = value
            self.grads[name] = grads_block[offset:stop].reshape(value.shape)
            offset = stop

    def _zero_grads(self) -> None:
        self.grads = {name: xp.zeros_like(value) for name, value in self.params.items()}
