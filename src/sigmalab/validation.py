"""Up-front checks of user arguments, so mistakes fail early with a message that names them."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import ArgumentError, NotFiniteError, ShapeError, SigmalabError


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
        raise ArgumentError(name, "must be a number", value)
    number = float(value)
    if not np.isfinite(number):
        raise ArgumentError(name, "must be finite", value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if too_low or too_high:
        raise ArgumentError(name, _bounds(low, high, low_open, high_open), value)
    return number


def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    """``must be in [0, 1)`` for two bounds, ``must be > 0`` or ``must be <= 1`` for one."""
    if low is not None and high is not None:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        return f"must be in {left}{low:g}, {high:g}{right}"
    if low is not None:
        return f"must be {'>' if low_open else '>='} {low:g}"
    return f"must be {'<' if high_open else '<='} {high:g}"


def check_int(name: str, value: object, *, low: int = 1) -> int:
    """Return ``value`` as an int after checking it is a whole number >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(name, "must be an integer", value)
    if value < low:
        raise ArgumentError(name, f"must be >= {low}", value)
    return int(value)


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` once it is True or False: a truthy stand-in such as ``"no"`` would
    silently mean True."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentError(name, "must be True or False", value)
    return bool(value)


def holdout_rows(name: str, fraction: object, n_samples: int) -> int:
    """How many of ``n_samples`` a held-out ``fraction`` takes: round(n * fraction), checked.

    Both sides must keep at least one sample, so the error says which side would be empty.
    """
    fraction = check_number(name, fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    rows = round(n_samples * fraction)
    if not 1 <= rows <= n_samples - 1:
        side = "no sample" if rows < 1 else "no sample to train on"
        raise SigmalabError(
            f"{name}={fraction:g} of {n_samples} samples holds out {rows}, which leaves "
            f"{side}; choose a fraction between {1 / n_samples:.3g} and {1 - 1 / n_samples:.3g}"
        )
    return rows


def as_real_array(name: str, data: object) -> np.ndarray:
    """``data`` as an array of real numbers (bool, int or float; no copy when it is one).

    Text and Python objects are parsed as numbers; complex numbers, dates and None are
    named instead of being silently turned into something else (NumPy would drop the
    imaginary part, count days since 1970, or make None a NaN).
    """
    if data is None:
        raise SigmalabError(f"{name} must be an array of numbers, received None")
    try:
        array = np.asarray(data)
        if array.dtype.kind in "OSU":  # strings, Python objects: parse as numbers
            array = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise SigmalabError(f"{name} must be numeric: {error}") from None
    if array.dtype.kind not in "biuf":
        hint = _CONVERSION_HINTS.get(array.dtype.kind, "")
        raise SigmalabError(f"{name} must hold real numbers, received dtype {array.dtype}.{hint}")
    return array


_CONVERSION_HINTS = {
    "c": " Pass the part you mean, e.g. X.real or abs(X).",
    "M": " Convert dates to numbers first, e.g. days since a reference date.",
    "m": " Convert durations to numbers first, e.g. seconds.",
}


def to_dtype(name: str, array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``array`` (finite) cast to ``dtype``, refusing values beyond its range.

    1e39 is finite in float64 but Inf in float32: without this check it would pass the
    NaN/Inf test and turn into Inf inside training.
    """
    with np.errstate(over="ignore"):  # reported below, with the index, not as a warning
        converted = array.astype(dtype, copy=False)
    if converted is array or _all_finite(converted):
        return converted
    bad = ~np.isfinite(converted)
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    raise NotFiniteError(
        f"{name} has {int(bad.sum())} value(s) too large for {np.dtype(dtype).name} "
        f"(|value| > {np.finfo(dtype).max:.4g}); first at index {_index_text(first)}: "
        f"{array[first]:g}. Rescale them, or use dtype='float64'."
    )


def _all_finite(array: np.ndarray) -> bool:
    """One pass: NaN and Inf propagate into the sum (an overflowing sum is checked again)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(array, axis=None)):
            return True
    return bool(np.isfinite(array).all())


def _index_text(index: tuple[int, ...]) -> str:
    return str(index[0]) if len(index) == 1 else str(index)


def check_finite(name: str, array: np.ndarray) -> None:
    """Raise NotFiniteError saying how many entries are NaN/Inf and where the first ones are."""
    if _all_finite(array):
        return
    bad = ~np.isfinite(array)
    where = ", ".join(_index_text(tuple(int(i) for i in p)) for p in np.argwhere(bad)[:3])
    n_nan = int(np.isnan(array).sum())
    n_inf = int(bad.sum()) - n_nan
    raise NotFiniteError(
        f"{name} contains {n_nan} NaN and {n_inf} Inf value(s) (of {array.size}); "
        f"first at index {where}. Remove or impute them before training."
    )


def as_matrix(name: str, data: object, dtype: np.dtype) -> np.ndarray:
    """A finite 2-D float array (samples x features) of ``dtype``."""
    array = as_real_array(name, data)
    if array.size == 0:
        raise ShapeError(f"{name} is empty (shape {array.shape}); at least one sample is needed")
    if array.ndim != 2:
        hint = " Use X.reshape(-1, 1) for a single feature." if array.ndim == 1 else ""
        raise ShapeError(
            f"{name} must be 2-D (samples, features), received shape {array.shape}.{hint}"
        )
    check_finite(name, array)
    return to_dtype(name, array, dtype)
