"""Preprocessing: how a raw input row becomes the network's input, owned by the model.

A row holds the named input columns; the Playground features (``x1^2``, ``sin(x1)``, ...)
are computed from its two coordinates, then the columns are standardised. The model saves
all three with its weights, so ``sl.load(path).predict(raw_rows)`` needs nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .data.features import check_feature_names, expand
from .errors import ShapeError, SigmalabError
from .normalization import Normalization
from .validation import as_matrix, check_bool


class Preprocessing:
    """Named input ``columns`` -> optional Playground ``features`` -> optional ``normalization``.

    ``features`` need exactly two columns, read as (x1, x2) in that order.
    """

    def __init__(
        self,
        columns: Sequence[str],
        features: Sequence[str] | None = None,
        normalization: Normalization | None = None,
    ) -> None:
        self.columns = _check_names("columns", columns)
        self.features = None if features is None else _check_features(features, self.columns)
        if normalization is not None and not isinstance(normalization, Normalization):
            raise SigmalabError(
                f"normalization must be an sl.Normalization or None, received {normalization!r}"
            )
        if normalization is not None and normalization.width != len(self.output_names):
            raise ShapeError(
                f"normalization has {normalization.width} column(s) but the preprocessing "
                f"gives {len(self.output_names)} ({', '.join(self.output_names)})"
            )
        self.normalization = normalization

    @classmethod
    def adapt(
        cls,
        X: object,
        columns: Sequence[str],
        features: Sequence[str] | None = None,
        standardize: bool = True,
    ) -> Preprocessing:
        """Preprocessing for raw training rows ``X``, its standardisation fitted to them."""
        unscaled = cls(columns, features)
        if not check_bool("standardize", standardize):  # "no" would standardise
            return unscaled
        return cls(columns, features, Normalization.adapt(unscaled(X)))

    @property
    def output_names(self) -> list[str]:
        """Names of the network's input columns: the features, or the columns themselves."""
        return self.features if self.features is not None else self.columns

    @property
    def state(self) -> dict[str, np.ndarray]:
        """Saved arrays (the normalization's mean and variance), by name."""
        return {} if self.normalization is None else self.normalization.state

    def set_state(self, state: dict[str, object]) -> None:
        """Overwrite the saved arrays (a loaded model's), checking their shapes and values."""
        if self.normalization is not None:
            self.normalization.set_state(state)

    def __call__(self, X: object, name: str = "X") -> np.ndarray:
        """The network's inputs (float64) for raw rows ``X``: a column per entry of ``columns``."""
        X = as_matrix(name, X, np.float64)
        if X.shape[1] != len(self.columns):
            raise ShapeError(
                f"{name} has {X.shape[1]} column(s) but the model reads {len(self.columns)}: "
                f"{', '.join(self.columns)}"
            )
        if self.features is not None:
            X = expand(X, self.features)
        return X if self.normalization is None else self.normalization(X)

    def get_config(self) -> dict[str, Any]:
        """Plain JSON-able settings; the normalization's arrays are saved as tensors."""
        return {
            "columns": self.columns,
            "features": self.features,
            "normalize": self.normalization is not None,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Preprocessing:
        """Rebuild from ``get_config``; a normalization starts as the identity until loaded."""
        if not isinstance(config, dict):
            raise SigmalabError(f"preprocessing must be a mapping, received {config!r}")
        unknown = set(config) - {"columns", "features", "normalize"}
        if unknown:
            raise SigmalabError(f"preprocessing: unknown key(s) {sorted(unknown)}")
        if "columns" not in config:
            raise SigmalabError("preprocessing needs its columns")
        normalize = config.get("normalize", False)
        if not isinstance(normalize, bool):
            raise SigmalabError(f"preprocessing.normalize must be true or false, not {normalize!r}")
        preprocessing = cls(config["columns"], config.get("features"))
        if normalize:
            preprocessing.normalization = Normalization.identity(len(preprocessing.output_names))
        return preprocessing

    def __repr__(self) -> str:
        return (
            f"Preprocessing(columns={self.columns}, features={self.features}, "
            f"normalization={self.normalization!r})"
        )


def _check_names(what: str, names: object) -> list[str]:
    """A non-empty list of distinct, non-empty strings."""
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise SigmalabError(f"{what} must be a list of names, received {names!r}")
    names = list(names)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise SigmalabError(f"{what} must be non-empty names, received {names!r}")
    if len(set(names)) != len(names):
        raise SigmalabError(f"{what} lists a name twice: {names}")
    return names


def _check_features(features: Sequence[str], columns: list[str]) -> list[str]:
    """Playground features are computed from exactly two columns (x1, x2)."""
    if len(columns) != 2:
        raise SigmalabError(
            f"features are computed from two columns (x1, x2); received {len(columns)}: {columns}"
        )
    return check_feature_names(features)
