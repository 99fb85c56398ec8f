"""Normalization: the standardisation a model owns, saved with its weights (as in Keras).

Fitted once on the training inputs (``adapt``), it maps each column to zero mean and unit
variance. Because the model holds it, a saved model standardises new raw rows itself, so
its predictions cannot depend on a file kept beside it.
"""

from __future__ import annotations

import numpy as np

from .errors import ShapeError, SigmalabError
from .validation import as_matrix


class Normalization:
    """(x - mean) / sqrt(variance) per column; mean and variance are float64 state, not trained.

    A constant training column gets variance 1, so it becomes zeros instead of a division
    by zero.
    """

    def __init__(self, mean: object, variance: object) -> None:
        self.state: dict[str, np.ndarray] = {}
        self.set_state({"mean": mean, "variance": variance})

    @classmethod
    def adapt(cls, X: object) -> Normalization:
        """Fit mean and variance to the rows of ``X`` (the training split only)."""
        X = as_matrix("X", X, np.float64)
        variance = X.var(axis=0)
        variance[np.ptp(X, axis=0) == 0] = 1.0
        return cls(X.mean(axis=0), variance)

    @classmethod
    def identity(cls, width: int) -> Normalization:
        """Mean 0, variance 1: the placeholder a loaded model's saved state overwrites."""
        return cls(np.zeros(width), np.ones(width))

    @property
    def mean(self) -> np.ndarray:
        """Per-column mean of the training inputs."""
        return self.state["mean"]

    @property
    def variance(self) -> np.ndarray:
        """Per-column (biased) variance of the training inputs; 1 for a constant column."""
        return self.state["variance"]

    @property
    def width(self) -> int:
        """Number of columns it standardises."""
        return self.mean.shape[0]

    def set_state(self, state: dict[str, object]) -> None:
        """Replace mean and variance: one finite value per column, variances > 0."""
        arrays = {}
        for name in ("mean", "variance"):
            if name not in state:
                raise SigmalabError(f"normalization needs its {name}")
            try:
                arrays[name] = np.array(state[name], dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise SigmalabError(f"normalization {name} must be numeric: {error}") from None
        mean, variance = arrays["mean"], arrays["variance"]
        width = self.width if self.state else mean.shape[0] if mean.ndim == 1 else None
        for name, array in (("mean", mean), ("variance", variance)):
            if array.ndim != 1 or array.shape[0] != width:
                expected = "a 1-D array" if width is None else f"shape ({width},)"
                raise ShapeError(f"normalization {name} must be {expected}, received {array.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(variance).all() and (variance > 0).all()):
            raise SigmalabError(
                "normalization mean must be finite and variance finite and > 0, received "
                f"mean={mean.tolist()}, variance={variance.tolist()}"
            )
        self.state = {"mean": mean, "variance": variance}

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The standardised columns of float64 rows ``X``."""
        return (X - self.mean) / np.sqrt(self.variance)

    def __repr__(self) -> str:
        return f"Normalization(width={self.width})"
