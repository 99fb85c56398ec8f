"""Feature standardisation, fitted on the training set only so test data cannot leak in."""

from __future__ import annotations

import numpy as np

from ..normalization import Normalization
from .dataset import DataError


def standardize(
    X_train: np.ndarray, X_test: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Return (X_train, X_test) scaled to zero mean, unit std by train statistics, mean, std.

    Gradient descent converges faster on features of similar scale. A constant column gets
    std 1, so it becomes all zeros instead of a division by zero. The same arithmetic as
    ``sl.Normalization``, the step a model keeps to standardise new rows.
    """
    X_train = np.asarray(X_train, dtype=np.float64)
    if X_train.ndim != 2 or len(X_train) == 0:
        raise DataError(f"X_train must be a non-empty 2-D array, received shape {X_train.shape}")
    scale = Normalization.adapt(X_train)
    std = np.sqrt(scale.variance)
    if X_test is None:
        return scale(X_train), None, scale.mean, std
    X_test = np.asarray(X_test, dtype=np.float64)
    if X_test.ndim != 2 or X_test.shape[1] != X_train.shape[1]:
        raise DataError(
            f"X_test must be 2-D with {X_train.shape[1]} columns like X_train, "
            f"received shape {X_test.shape}"
        )
    return scale(X_train), scale(X_test), scale.mean, std
