"""Batch normalisation with PyTorch's conventions (momentum 0.1, eps 1e-5)."""

from __future__ import annotations

import numpy as np

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

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5) -> None:
        super().__init__()
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0)
        self.eps = check_number("eps", eps, low=0.0, low_open=True)
        self._xhat = self._inv_std = None
        self._training_pass = False

    def build(self, input_dim: int, rng: np.random.Generator, dtype: np.dtype) -> int:
        """gamma = 1, beta = 0, running mean 0 and variance 1."""
        self.input_dim = self.output_dim = input_dim
        self.params = {"gamma": np.ones(input_dim, dtype), "beta": np.zeros(input_dim, dtype)}
        self.state = {
            "running_mean": np.zeros(input_dim, dtype),
            "running_var": np.ones(input_dim, dtype),
        }
        self._zero_grads()
        return input_dim

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """gamma * (x - mean) / sqrt(var + eps) + beta."""
        self._training_pass = training
        if training:
            n = x.shape[0]
            if n < 2:
                raise ShapeError(
                    "BatchNorm needs at least 2 samples per batch in training, received 1"
                )
            mean = x.mean(axis=0)
            centered = x - mean
            var = np.einsum("ij,ij->j", centered, centered) / n
            m = self.momentum
            running_mean, running_var = self.state["running_mean"], self.state["running_var"]
            running_mean *= 1.0 - m
            running_mean += m * mean
            running_var *= 1.0 - m
            running_var += (m * n / (n - 1)) * var
            self._inv_std = 1.0 / np.sqrt(var + self.eps)
            self._xhat = centered * self._inv_std
        else:
            self._inv_std = 1.0 / np.sqrt(self.state["running_var"] + self.eps)
            self._xhat = (x - self.state["running_mean"]) * self._inv_std
        return self._xhat * self.params["gamma"] + self.params["beta"]

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Exact gradient through the batch statistics (training) or the fixed ones (inference)."""
        xhat, inv_std = self._xhat, self._inv_std
        np.einsum("ij,ij->j", dy, xhat, out=self.grads["gamma"])
        np.sum(dy, axis=0, out=self.grads["beta"])
        if not need_input_grad:
            return None
        dxhat = dy * self.params["gamma"]
        if not self._training_pass:
            return dxhat * inv_std
        n = dy.shape[0]
        return (inv_std / n) * (
            n * dxhat - dxhat.sum(axis=0) - xhat * np.einsum("ij,ij->j", dxhat, xhat)
        )

    def get_config(self) -> dict:
        """Constructor arguments."""
        return {"type": self.kind, "momentum": self.momentum, "eps": self.eps}

    def __repr__(self) -> str:
        return f"BatchNorm(momentum={self.momentum}, eps={self.eps})"
