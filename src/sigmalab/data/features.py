"""The Playground's input features, computed from the two raw coordinates of a 2-D dataset."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .dataset import DataError

FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1**2,
    "x2^2": lambda x1, x2: x2**2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}
DEFAULT_FEATURES = ("x1", "x2")


def expand(X: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Return the chosen feature columns of the raw (x1, x2) points, in the given order.

    Hand-made features let a tiny network (or none) solve circle or xor, as in the Playground.
    """
    names = check_feature_names(names)
    return np.column_stack([FEATURES[name](X[:, 0], X[:, 1]) for name in names])


def check_feature_names(names: Sequence[str]) -> list[str]:
    """Return ``names`` as a list after checking each is known, none repeats and one is given."""
    if isinstance(names, str):
        raise DataError(f"features must be a list of names, received the string {names!r}")
    names = list(names)
    unknown = [name for name in names if name not in FEATURES]
    if unknown:
        raise DataError(f"unknown features {unknown}; allowed: {', '.join(FEATURES)}")
    if not names:
        raise DataError(f"features must name at least one of: {', '.join(FEATURES)}")
    if len(set(names)) != len(names):
        raise DataError(f"features lists a name twice: {names}")
    return names
