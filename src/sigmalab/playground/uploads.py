"""Uploaded CSV files: checked against the page's caps, stored in the session's own folder,
and read by the same loader as ``sigmalab train`` so errors read exactly as the CLI's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import data as datasets
from ..data.dataset import CLASSIFICATION, REGRESSION, DataError, Dataset
from .settings import CSV_NAME

MAX_UPLOAD_BYTES = 1_000_000
MAX_UPLOAD_ROWS = 5000
MAX_UPLOAD_COLUMNS = 16  # feature columns: each is an input node on the page
MAX_CLASSES = 10  # one colour each
LARGEST_VALUE = float(np.finfo(np.float32).max)  # the page's networks compute in float32


@dataclass(frozen=True)
class UploadedCsv:
    """A CSV the page trains on: its name on the page, its file, and what it holds."""

    name: str
    task: str
    n_classes: int | None
    feature_names: list[str]
    rows: int


def save_upload(folder: Path, name: str, text: str) -> UploadedCsv:
    """Write an uploaded CSV into ``folder`` and load it once to check it.

    Raises DataError with the loader's own words (file, line, column), the file named as the
    user named it; a file over a cap is refused before it is written.
    """
    if not isinstance(name, str) or not CSV_NAME.match(name):
        raise DataError(
            f"upload: the file name must end in .csv and use letters, digits, spaces, - _ . "
            f"(received {name!r})"
        )
    size = len(text.encode())
    if size > MAX_UPLOAD_BYTES:
        raise DataError(
            f"{name}: {size:,} bytes is over the upload limit of {MAX_UPLOAD_BYTES:,} bytes"
        )
    path = folder / name
    path.write_text(text, encoding="utf-8")
    try:
        dataset = datasets.load(path, test_fraction=0.5)
    except DataError as error:
        path.unlink(missing_ok=True)
        raise DataError(str(error).replace(str(path), name)) from None
    rows = len(dataset.y_train) + len(dataset.y_test)
    problem = None
    if rows > MAX_UPLOAD_ROWS:
        problem = f"{rows:,} rows is over the limit of {MAX_UPLOAD_ROWS:,}"
    elif len(dataset.feature_names) > MAX_UPLOAD_COLUMNS:
        problem = (
            f"{len(dataset.feature_names)} feature columns is over the limit of "
            f"{MAX_UPLOAD_COLUMNS}"
        )
    elif dataset.task == CLASSIFICATION and (dataset.n_classes or 0) > MAX_CLASSES:
        problem = f"{dataset.n_classes} classes is over the limit of {MAX_CLASSES}"
    else:
        problem = _beyond_float32(dataset)
    if problem:
        path.unlink(missing_ok=True)
        raise DataError(f"{name}: {problem}")
    return UploadedCsv(name, dataset.task, dataset.n_classes, list(dataset.feature_names), rows)


def _beyond_float32(dataset: Dataset) -> str | None:
    """The first column holding a value the page's float32 network would read as infinite."""
    values = np.vstack([dataset.X_train, dataset.X_test]).T
    columns = dict(zip(dataset.feature_names, values, strict=True))
    if dataset.task == REGRESSION:
        columns["target"] = np.concatenate([dataset.y_train, dataset.y_test])
    for name, values in columns.items():
        largest = float(np.abs(values).max())
        if largest > LARGEST_VALUE:
            return (
                f"column {name!r}: {largest:g} is beyond the float32 range the page trains in "
                f"(|value| <= {LARGEST_VALUE:.3g}); rescale the column"
            )
    return None
