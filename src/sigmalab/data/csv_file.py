"""CSV loading with errors that point at the exact file, line and column to fix.

Two readers, one result: NumPy's C reader (``np.loadtxt``) parses a well-formed file
about 15 times faster than Python can; any file it refuses, or whose header, cells or
targets need a message, is read again by the exact reader, which names the file, line
and column. So the fast path only ever decides how quickly a good file loads.
"""

from __future__ import annotations

import csv
import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .dataset import REGRESSION, ClassName, DataError

MAX_CLASSES = 50  # integer targets with more distinct values than this are a regression


def _is_number(cell: str) -> bool:
    """Tell whether float() accepts a cell (nan and inf included)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """Return (1-based line number, stripped cells) for each non-blank row.

    A quoted cell may span lines, so a row is numbered by the line it starts on.
    """
    rows = []
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            first_line = 1
            try:
                for row in reader:
                    cells = [cell.strip() for cell in row]
                    if any(cells):
                        rows.append((first_line, cells))
                    first_line = reader.line_num + 1
            except csv.Error as err:
                raise DataError(f"{path} line {reader.line_num}: {err}") from None
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path} is not UTF-8 text (bad byte at offset {err.start})") from None
    except OSError as err:
        raise DataError(f"cannot read {path}: {err.strerror}") from None
    return rows


def _read_table(path: Path) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """The header's line, its column names and the data rows (line, cells) of a headed CSV.

    A missing, blank or duplicated column name, or a file without data rows, is rejected
    before any cell is read.
    """
    rows = _read_rows(path)
    if not rows:
        raise DataError(f"{path} is empty: expected a header row, then data rows")
    line, names = rows[0]
    _check_header(path, line, names)
    if len(rows) == 1:
        raise DataError(f"{path} has a header but no data rows")
    return line, names, rows[1:]


def _check_header(path: Path, line: int, names: list[str]) -> None:
    """Column names: not all numbers (then it is data), none blank, none twice."""
    if all(_is_number(name) for name in names):
        raise DataError(
            f"{path} line {line}: no header; the first row holds only numbers, "
            "but it must name the columns"
        )
    for column, name in enumerate(names, start=1):
        if not name:
            raise DataError(f"{path} line {line}, column {column}: empty column name")
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise DataError(f"{path} line {line}: duplicate column names {twice}")


def _numeric_columns(
    path: Path, names: list[str], rows: list[tuple[int, list[str]]], wanted: list[str]
) -> np.ndarray:
    """The ``wanted`` columns of ``rows`` as float64; every row must match the header's width."""
    indices = [names.index(name) for name in wanted]
    X = np.empty((len(rows), len(wanted)))
    for i, (line, cells) in enumerate(rows):
        _check_width(path, line, names, cells)
        X[i] = [_feature(path, line, names[j], cells[j]) for j in indices]
    return X


def _check_width(path: Path, line: int, names: list[str], cells: list[str]) -> None:
    """Every row has one cell per header column."""
    if len(cells) != len(names):
        raise DataError(
            f"{path} line {line}: expected {len(names)} cells ({', '.join(names)}), "
            f"found {len(cells)}"
        )


def _feature(path: Path, line: int, column: str, cell: str) -> float:
    """Parse one feature cell, which must be a finite number."""
    where = f"{path} line {line}, column {column!r}"
    if not cell:
        raise DataError(f"{where}: empty cell")
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{where}: {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{where}: value {cell} is not finite")
    return value


def _encode_targets(
    path: Path, target: str, lines: list[int], cells: list[str], task: str | None
) -> tuple[np.ndarray, list[ClassName] | None]:
    """Return int64 labels 0..k-1 and the class names they stand for, or float64 targets and None.

    ``task`` None infers it: text labels, and integers with at most MAX_CLASSES distinct
    values, are classes; other numbers are a regression. A class name is the text, or the
    number (an int when whole), so predictions come back as the values the file holds. A
    column mixing numbers and text is rejected: it is usually a typo.
    """
    numeric = [_is_number(cell) for cell in cells]
    for line, cell, is_number in zip(lines, cells, numeric, strict=True):
        if not cell:
            raise DataError(f"{path} line {line}, column {target!r}: empty cell")
        if is_number != numeric[0]:
            kinds = ("text", "a number") if numeric[0] else ("a number", "text")
            raise DataError(
                f"{path} line {line}, column {target!r}: {cell!r} is {kinds[0]} but line "
                f"{lines[0]} holds {kinds[1]} ({cells[0]!r}); targets must be all numbers "
                "or all class names"
            )
    if not numeric[0]:
        if task == REGRESSION:
            raise DataError(
                f"{path} line {lines[0]}, column {target!r}: {cells[0]!r} is text, but a "
                "regression needs numbers; set task = 'classification' to learn these classes "
                "(a run whose loss is mse reads a CSV as a regression unless [data] task says so)"
            )
        return _text_targets(np.asarray(cells))
    values = np.array(
        [_feature(path, line, target, cell) for line, cell in zip(lines, cells, strict=True)]
    )
    return _numeric_targets(values, task)


def _text_targets(cells: np.ndarray) -> tuple[np.ndarray, list[ClassName]]:
    """Labels 0..k-1 in the sorted order of the names, and the names."""
    classes, labels = np.unique(cells, return_inverse=True)
    return labels.astype(np.int64), [str(name) for name in classes]


def _numeric_targets(
    values: np.ndarray, task: str | None
) -> tuple[np.ndarray, list[ClassName] | None]:
    """Labels 0..k-1 and the numbers they stand for (an int when whole), or the values and
    None for a regression; without a task, at most MAX_CLASSES whole numbers are classes."""
    classes, labels = np.unique(values, return_inverse=True)
    whole = bool(np.all(classes == np.round(classes)))
    if task == REGRESSION or (task is None and not (whole and len(classes) <= MAX_CLASSES)):
        return values, None
    names = [int(value) if whole else float(value) for value in classes]
    return labels.astype(np.int64), names


# ---- the fast path: NumPy's C reader on a well-formed file ---------------------------------
def _header(path: Path) -> tuple[int, list[str]] | None:
    """The lines up to and including the header row, and its names, when the header is fine."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            for row in reader:
                names = [cell.strip() for cell in row]
                if any(names):
                    _check_header(path, reader.line_num, names)
                    return reader.line_num, names
    except (OSError, UnicodeDecodeError, csv.Error, DataError):
        return None
    return None


def _parse_fast(
    path: Path, header_lines: int, width: int, converters: dict[int, Callable[[str], float]]
) -> np.ndarray | None:
    """Every data cell as float64 (``converters`` turn text columns into numbers), or None
    when NumPy refuses a row or a value is not finite: the exact reader then explains."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": the exact reader says so
            values = np.loadtxt(
                path,
                delimiter=",",
                quotechar='"',
                comments=None,
                skiprows=header_lines,
                converters=converters,
                encoding="utf-8-sig",
                ndmin=2,
            )
    except (ValueError, OSError, UnicodeDecodeError):
        return None
    if values.shape[0] == 0 or values.shape[1] != width or not np.isfinite(values).all():
        return None
    return values


class _Codes(dict):
    """A loadtxt converter: each distinct (stripped) cell gets a number, in order of first
    sight, so a text column parses in C and Python only looks at its distinct values."""

    def __call__(self, cell: str) -> float:
        return self.setdefault(cell.strip(), len(self))


def _fast_targets(
    codes: _Codes, column: np.ndarray, task: str | None
) -> tuple[np.ndarray, list[ClassName] | None] | None:
    """The exact reader's targets and class names from the distinct cells and each row's
    code; None when the cells need its message (an empty cell, numbers mixed with text,
    NaN/Inf, text for a regression)."""
    cells = list(codes)
    numeric = [_is_number(cell) for cell in cells]
    if "" in codes or any(numeric) != all(numeric):
        return None
    rows = column.astype(np.intp)
    if not numeric[0]:
        if task == REGRESSION:
            return None
        labels, names = _text_targets(np.asarray(cells))
        return labels[rows], names
    values = np.array([float(cell) for cell in cells])
    return _numeric_targets(values[rows], task) if np.isfinite(values).all() else None


def _load_fast(
    path: Path, target: str, task: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str], list[ClassName] | None] | None:
    """``load_csv``'s result through NumPy's C reader, or None if the file needs a closer look."""
    header = _header(path)
    if header is None or target not in header[1] or len(header[1]) == 1:
        return None
    lines, names = header
    column = names.index(target)
    values = _parse_fast(path, lines, len(names), {})
    if values is not None:  # numeric targets parse in C too
        targets = _numeric_targets(values[:, column], task)
    else:  # class names (NumPy stops at the first one, so trying costs little)
        codes = _Codes()
        values = _parse_fast(path, lines, len(names), {column: codes})
        targets = None if values is None else _fast_targets(codes, values[:, column], task)
    if targets is None:
        return None
    features = [name for name in names if name != target]
    return np.delete(values, column, axis=1), targets[0], features, targets[1]


def _ignored(cell: str) -> float:
    """A loadtxt converter for columns nobody reads: any text is fine."""
    return 0.0


def _read_columns_fast(path: Path, target: str, columns: list[str] | None) -> np.ndarray | None:
    """``read_columns``'s result through NumPy's C reader, or None if the file needs a closer
    look."""
    header = _header(path)
    if header is None:
        return None
    lines, names = header
    wanted = [name for name in names if name != target] if columns is None else columns
    if not set(wanted) <= set(names):
        return None
    ignored = dict.fromkeys(set(range(len(names))) - {names.index(n) for n in wanted}, _ignored)
    values = _parse_fast(path, lines, len(names), ignored)
    return None if values is None else values[:, [names.index(name) for name in wanted]]


def load_csv(
    path: str | os.PathLike[str], target: str = "target", task: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str], list[ClassName] | None]:
    """Read a headed CSV into float64 X, targets y, feature names and class names.

    The ``target`` column holds y: int64 labels 0..k-1 with their class names for a
    classification, float64 values and None for a regression (``task`` "classification" or
    "regression"; None infers it). Every other column must be numeric. Any bad cell raises a
    DataError naming the file, line and column, so a user can fix the data directly.
    """
    path = Path(path)
    fast = _load_fast(path, target, task)
    if fast is not None:
        return fast
    header_line, names, rows = _read_table(path)
    if target not in names:
        raise DataError(f"column {target!r} not found in {path}; columns: {', '.join(names)}")
    if len(names) == 1:
        raise DataError(f"{path} line {header_line}: no feature columns besides {target!r}")
    feature_names = [name for name in names if name != target]
    X = _numeric_columns(path, names, rows, feature_names)
    target_index = names.index(target)
    lines = [line for line, _ in rows]
    cells = [cells[target_index] for _, cells in rows]
    y, class_names = _encode_targets(path, target, lines, cells, task)
    return X, y, feature_names, class_names


def read_columns(
    path: str | os.PathLike[str], columns: list[str] | None = None, target: str = "target"
) -> np.ndarray:
    """The named numeric columns of a headed CSV as float64 (all but ``target`` when None).

    For new data to predict on: other columns, the target among them, are ignored, and any
    bad cell raises a DataError naming the file, line and column.
    """
    path = Path(path)
    fast = _read_columns_fast(path, target, columns)
    if fast is not None:
        return fast
    _, names, rows = _read_table(path)
    wanted = [name for name in names if name != target] if columns is None else list(columns)
    missing = [name for name in wanted if name not in names]
    if missing:
        raise DataError(
            f"{path} is missing column(s) {', '.join(missing)}; needed: {', '.join(wanted)}"
        )
    return _numeric_columns(path, names, rows, wanted)
