"""Up-front checks of user arguments, so mistakes fail early with a message that names them."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import NotFiniteError, ShapeError, SigmalabError


def check_number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float after checking it is a real number within the bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SigmalabError(f"{name} must be a number, received: {name}={value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise SigmalabError(f"{name} must be finite, received: {name}={value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open or high is None else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise SigmalabError(
            f"{name} must be in {left}{lo}, {hi}{right}, received: {name}={value!r}"
        )
    return value


def check_int(name: str, value: object, *, low: int = 1) -> int:
    """Return ``value`` as an int after checking it is a whole number >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SigmalabError(f"{name} must be an integer, received: {name}={value!r}")
    if value < low:
        raise SigmalabError(f"{name} must be >= {low}, received: {name}={value!r}")
    return int(value)


def as_float_array(name: str, data: object, dtype: np.dtype) -> np.ndarray:
    """Convert ``data`` to a finite float array of ``dtype``; NaN/Inf reported with positions.

    Numeric arrays convert straight to ``dtype`` (no copy when it already matches), so
    validating a large training set costs one read of it, not two extra copies.
    """
    try:
        array = np.asarray(data)
        if array.dtype.kind not in "biuf":  # strings, Python objects: parse as numbers
            array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise SigmalabError(f"{name} must be numeric: {error}") from None
    if array.size == 0:
        raise ShapeError(f"{name} is empty (shape {array.shape}); at least one sample is needed")
    check_finite(name, array)
    return array.astype(dtype, copy=False)


def check_finite(name: str, array: np.ndarray) -> None:
    """Raise NotFiniteError saying how many entries are NaN/Inf and where the first ones are."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(array, axis=None)):  # one pass: NaN and Inf propagate
            return
    bad = ~np.isfinite(array)
    if not bad.any():  # the sum overflowed; every entry is finite
        return
    positions = np.argwhere(bad)[:3]
    where = ", ".join(
        str(tuple(int(i) for i in p)) if p.size > 1 else str(int(p[0])) for p in positions
    )
    n_nan = int(np.isnan(array).sum())
    n_inf = int(bad.sum()) - n_nan
    raise NotFiniteError(
        f"{name} contains {n_nan} NaN and {n_inf} Inf value(s) (of {array.size}); "
        f"first at index {where}. Remove or impute them before training."
    )


def as_matrix(name: str, data: object, dtype: np.dtype) -> np.ndarray:
    """A finite 2-D float array (samples x features)."""
    array = as_float_array(name, data, dtype)
    if array.ndim != 2:
        hint = " Use X.reshape(-1, 1) for a single feature." if array.ndim == 1 else ""
        raise ShapeError(
            f"{name} must be 2-D (samples, features), received shape {array.shape}.{hint}"
        )
    return array
