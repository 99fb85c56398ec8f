"""Inverted dropout: drop units at random in training, keep the expected activation."""

from __future__ import annotations

from ..backend import xp
from ..validation import check_number
from .base import Layer


class Dropout(Layer):
    """Zero each unit with probability ``rate`` and scale survivors by 1/(1-rate).

    rate 0.0 is the identity; rate 1.0 drops everything and outputs zeros (the text's
    "the model learns nothing"). Inference is always the identity. Backward reuses
    the exact mask drawn in forward.
    """

    kind = "dropout"
    random_stream = "noise"

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = check_number("rate", rate, low=0.0, high=1.0)
        self.mask: xp.ndarray | None = None
        self.rng: xp.random.Generator | None = None

    def build(self, input_dim: int, rng: xp.random.Generator, dtype: xp.dtype) -> int:
        """Keep the generator that draws the masks."""
        self.rng = rng
        return super().build(input_dim, rng, dtype)

    def forward(self, x: xp.ndarray, training: bool = False) -> xp.ndarray:
        """x * mask in training (mask in {0, 1/(1-rate)}), x at inference."""
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        if self.rate == 1.0:
            self.mask = xp.zeros_like(x)
        else:
            keep = self.rng.random(x.shape) >= self.rate
            self.mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, dy: xp.ndarray, need_input_grad: bool = True) -> xp.ndarray | None:
        """The same mask as forward: dropped units pass no error back."""
        if not need_input_grad:
            return None
        return dy if self.mask is None else dy * self.mask

    def get_config(self) -> dict:
        """Constructor arguments."""
        return {"type": self.kind, "rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"
