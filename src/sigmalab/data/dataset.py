"""The Dataset container and the shuffled train/test split that every loader shares."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from ..errors import SigmalabError
from ..validation import holdout_rows

CLASSIFICATION = "classification"
REGRESSION = "regression"


class DataError(SigmalabError):
    """A bad dataset request or file; the message names the file, row, column or parameter."""


ClassName = str | int | float


@dataclass(eq=False)
class Dataset:
    """A train/test split plus what a model needs to know to fit it (task, classes, names).

    ``X_val``/``y_val`` hold a validation split carved out of the training rows by
    ``with_validation``; None when there is none. ``class_names[k]`` is the target value
    that label k stands for (``"cat"``, ``-1``, ...); None for a regression.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: str
    feature_names: list[str]
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    class_names: list[ClassName] | None = None

    @property
    def n_classes(self) -> int | None:
        """How many classes a classification has (None for a regression)."""
        return None if self.class_names is None else len(self.class_names)

    def with_validation(self, fraction: float, name: str = "validation_fraction") -> Dataset:
        """The last ``round(n * fraction)`` training rows as the validation split.

        The training rows are already shuffled by the data seed, so the carve is seeded too.
        """
        held = holdout_rows(name, fraction, len(self.y_train))
        return replace(
            self,
            X_train=self.X_train[:-held],
            y_train=self.y_train[:-held],
            X_val=self.X_train[-held:],
            y_val=self.y_train[-held:],
        )

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield X_train, y_train, X_test, y_test so ``Xtr, ytr, Xte, yte = load(...)`` works."""
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))


def split(
    X: np.ndarray, y: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle, then split, so neither side inherits a generator's class-by-class row order.

    The test side gets ``round(n * test_fraction)`` rows, clamped so both sides keep at least
    one row: a tiny dataset still yields a usable split instead of an empty array.
    """
    n = len(y)
    if n < 2:
        raise DataError(f"need at least 2 rows to split into train and test (received {n})")
    n_test = min(max(round(n * test_fraction), 1), n - 1)
    order = rng.permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]
