"""Carry out a run file: load the data, build and train the model, and write the results.

``train_run`` is the one place that turns a RunConfig into a trained model, shared by
``sigmalab train`` and the doctor, so both see exactly the same training. ``predict_csv``
applies a trained run to new rows with the same preprocessing.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import data as datasets
from .callbacks import Callback, EarlyStopping, History
from .config import ConfigError, RunConfig, build_model, save_run
from .data.csv_file import read_columns
from .data.dataset import CLASSIFICATION, Dataset
from .data.features import expand
from .errors import SigmalabError
from .io import atomic_write_bytes, load_model
from .losses import LOSSES
from .model import Sequential

MODEL_FILE = "model.safetensors"
RUN_FILE = "run.toml"
HISTORY_FILE = "history.csv"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.png"


@dataclass(frozen=True)
class Preprocessing:
    """How raw input columns become model inputs: Playground features, then standardisation.

    Saved in summary.json so that ``sigmalab predict`` feeds new rows exactly as in training.
    """

    columns: list[str]
    features: list[str] | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def apply(self, X: np.ndarray) -> np.ndarray:
        """Map raw rows (one column per entry of ``columns``) to the model's inputs."""
        if self.features is not None:
            X = expand(X, self.features)
        return X if self.mean is None else (X - self.mean) / self.std

    @property
    def input_names(self) -> list[str]:
        """Names of the model's input columns."""
        return self.features if self.features is not None else self.columns

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; mean/std are null when the run did not standardise."""
        scale = (
            None if self.mean is None else {"mean": self.mean.tolist(), "std": self.std.tolist()}
        )
        return {"columns": self.columns, "features": self.features, "standardize": scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        """Inverse of ``to_dict``; raises ValueError when mean/std do not fit the inputs."""
        scale = data.get("standardize")
        preprocessing = cls(
            columns=list(data["columns"]),
            features=data.get("features"),
            mean=None if scale is None else np.asarray(scale["mean"], dtype=np.float64),
            std=None if scale is None else np.asarray(scale["std"], dtype=np.float64),
        )
        width = (len(preprocessing.input_names),)
        if scale is not None and not preprocessing.mean.shape == preprocessing.std.shape == width:
            raise ValueError(f"standardize needs {width[0]} means and stds, one per input")
        return preprocessing


@dataclass
class RunResult:
    """What a run produced: the trained model, its history, the data it saw, the summary.

    ``dataset`` holds the model's inputs (features expanded, standardised); ``raw`` the
    arrays as loaded, which the report plots. ``summary`` is a plain JSON-able dict.
    """

    model: Sequential
    history: History
    dataset: Dataset
    summary: dict[str, Any]
    raw: Dataset
    preprocessing: Preprocessing


def load_data(config: RunConfig) -> tuple[Dataset, Dataset, Preprocessing]:
    """The raw split, the model-ready split and the preprocessing that links them."""
    settings = config.data
    raw = datasets.load(
        settings.source,
        samples=settings.samples,
        noise=settings.noise,
        test_fraction=settings.test_fraction,
        seed=settings.seed,
        target=settings.target,
    )
    if settings.validation_fraction:
        raw = raw.with_validation(settings.validation_fraction, "data.validation_fraction")
    preprocessing = Preprocessing(columns=list(raw.feature_names), features=settings.features)
    X_train, X_test = preprocessing.apply(raw.X_train), preprocessing.apply(raw.X_test)
    if settings.standardize:
        X_train, X_test, mean, std = datasets.standardize(X_train, X_test)
        preprocessing = dataclasses.replace(preprocessing, mean=mean, std=std)
    prepared = dataclasses.replace(
        raw,
        X_train=X_train,
        X_test=X_test,
        X_val=None if raw.X_val is None else preprocessing.apply(raw.X_val),
        feature_names=preprocessing.input_names,
    )
    return raw, prepared, preprocessing


def check_loss_fits(config: RunConfig, dataset: Dataset) -> None:
    """Reject a loss or output width that cannot work for this dataset, saying what to set."""
    loss, units = config.train.loss, config.model.output_units
    where = f"model.layers[{config.model.output_layer}].units"
    if LOSSES[loss].is_classification and dataset.task != CLASSIFICATION:
        raise ConfigError(
            "train.loss",
            [f"{loss!r} is for classification, but {dataset.name!r} is a regression; use 'mse'"],
        )
    if loss == "bce" and dataset.n_classes != 2:
        raise ConfigError(
            "train.loss",
            [
                f"'bce' is for 2 classes, {dataset.name!r} has {dataset.n_classes}; use "
                f"'cross_entropy' with {where} = {dataset.n_classes}"
            ],
        )
    if loss == "cross_entropy" and units != dataset.n_classes:
        raise ConfigError(
            where,
            [
                f"cross_entropy on {dataset.name!r} needs one output unit per class: set "
                f"units = {dataset.n_classes} (received {units})"
            ],
        )
    if loss == "mse" and units != 1:
        raise ConfigError(
            where, [f"mse on {dataset.name!r} (one target column) needs units = 1, not {units}"]
        )


def predicted_labels(outputs: np.ndarray, loss: str, n_classes: int | None) -> np.ndarray:
    """Class labels from ``model.predict`` outputs: threshold, argmax, or rounded mse values."""
    if loss == "cross_entropy":
        return outputs.argmax(axis=1)
    if loss == "bce":
        return (outputs[:, 0] >= 0.5).astype(np.int64)
    return np.clip(np.rint(outputs[:, 0]), 0, (n_classes or 2) - 1).astype(np.int64)


def train_run(
    config: RunConfig,
    out_dir: str | os.PathLike | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
) -> RunResult:
    """Train the run ``config`` describes; write files to ``out_dir`` when given (model,
    run.toml, history.csv, summary.json, report.png).

    Training watches the validation split carved from the training rows when
    ``data.validation_fraction`` > 0; otherwise it watches the test split, as before.
    """
    started = time.perf_counter()
    raw, dataset, preprocessing = load_data(config)
    check_loss_fits(config, dataset)
    model = build_model(config)
    patience = config.train.early_stopping_patience
    stopper = [] if patience is None else [EarlyStopping(patience=patience)]
    history = model.fit(
        dataset.X_train,
        dataset.y_train,
        epochs=config.train.epochs,
        batch_size=config.train.batch_size,
        validation_data=watched_split(dataset),
        verbose=verbose,
        callbacks=[*stopper, *callbacks],
    )
    summary = _summarize(config, model, history, dataset)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary["preprocessing"] = preprocessing.to_dict()
    result = RunResult(model, history, dataset, summary, raw, preprocessing)
    if out_dir is not None:
        write_outputs(result, config, out_dir)
    return result


def watched_split(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The data training watches: the validation split if there is one, else the test split."""
    if dataset.X_val is None:
        return dataset.X_test, dataset.y_test
    return dataset.X_val, dataset.y_val


def _summarize(
    config: RunConfig, model: Sequential, history: History, dataset: Dataset
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "dataset": dataset.name,
        "task": dataset.task,
        "samples_train": len(dataset.y_train),
        "samples_test": len(dataset.y_test),
        "n_classes": dataset.n_classes,
        "epochs": len(history.epoch),
    }
    splits = [("train", dataset.X_train, dataset.y_train)]
    if dataset.X_val is not None:
        summary["samples_validation"] = len(dataset.y_val)
        splits.append(("validation", dataset.X_val, dataset.y_val))
    splits.append(("test", dataset.X_test, dataset.y_test))
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model: fit already said so
        for split, X, y in splits:
            metrics = model.evaluate(X, y)  # one forward pass: loss, and accuracy if it has one
            summary[f"{split}_loss"] = metrics["loss"]
            if dataset.task == CLASSIFICATION:
                accuracy = metrics.get("accuracy")
                if accuracy is None:  # mse on class labels: the rounded predictions count
                    predictions = model.predict(X)
                    labels = predicted_labels(predictions, config.train.loss, dataset.n_classes)
                    accuracy = np.mean(labels == y)
                summary[f"{split}_accuracy"] = float(accuracy)
    return summary


def write_outputs(result: RunResult, config: RunConfig, out_dir: str | os.PathLike) -> None:
    """Write the five run files into ``out_dir``; each appears complete or not at all.

    A diverged run's NaN/Inf metrics are written as the strings 'nan', 'inf', '-inf' (as in
    the doctor's findings), since JSON has no such numbers.
    """
    from .doctor.findings import json_safe
    from .report import save_report

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    result.model.save(folder / MODEL_FILE)
    save_run(config, folder / RUN_FILE)
    atomic_write_bytes(folder / HISTORY_FILE, _history_csv(result.history).encode())
    text = json.dumps(json_safe(result.summary), indent=2, allow_nan=False)
    atomic_write_bytes(folder / SUMMARY_FILE, (text + "\n").encode())
    save_report(folder / REPORT_FILE, result, name=folder.resolve().name)


def _history_csv(history: History) -> str:
    keys = list(history.history)
    rows = [
        [epoch + 1, *(repr(float(history.history[key][row])) for key in keys)]
        for row, epoch in enumerate(history.epoch)
    ]
    return csv_text(["epoch", *keys], rows)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A header and rows as CSV text with plain newlines, as history.csv and predict write it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# ---- prediction ----------------------------------------------------------------------------
def predict_csv(
    model_path: str | os.PathLike, csv_path: str | os.PathLike
) -> tuple[list[str], list[list[float | int]]]:
    """Predictions for the rows of a CSV: header and rows, ready for ``csv.writer``.

    The preprocessing comes from summary.json beside the model, so new rows are expanded
    and standardised exactly as in training; without one, every CSV column except
    ``target`` feeds the model as is. Columns the model does not read are ignored.
    """
    model = load_model(model_path)
    summary, preprocessing = _read_summary(Path(model_path).parent / SUMMARY_FILE)
    X = read_columns(csv_path, None if preprocessing is None else preprocessing.columns)
    if preprocessing is not None:
        X = preprocessing.apply(X)
    loss = model.loss.name if model.loss is not None else "mse"
    return _prediction_table(model.predict(X), loss, summary)


def _read_summary(path: Path) -> tuple[dict[str, Any], Preprocessing | None]:
    """The summary.json beside a model and its preprocessing; both empty when it is absent."""
    if not path.is_file():
        return {}, None
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(summary, dict):
            raise TypeError(f"expected a JSON object, found {type(summary).__name__}")
        recorded = summary.get("preprocessing")
        preprocessing = None if recorded is None else Preprocessing.from_dict(recorded)
    except (ValueError, KeyError, TypeError) as error:  # ValueError: bad JSON or UTF-8 too
        raise SigmalabError(
            f"{path} is broken ({type(error).__name__}: {error}); train again or remove it"
        ) from None
    return summary, preprocessing


def _prediction_table(
    outputs: np.ndarray, loss: str, summary: dict[str, Any]
) -> tuple[list[str], list[list[float | int]]]:
    """Column names and rows: probabilities and label, or the value (and label for a
    classification trained with mse)."""
    labels = None
    if loss == "mse":
        width = outputs.shape[1]
        columns = ["prediction"] if width == 1 else [f"prediction_{k}" for k in range(width)]
        if summary.get("task") == CLASSIFICATION:
            labels = predicted_labels(outputs, loss, summary.get("n_classes"))
    else:
        labels = predicted_labels(outputs, loss, None)
        if loss == "bce":
            outputs = np.column_stack([1.0 - outputs[:, 0], outputs[:, 0]])
        columns = [f"probability_{k}" for k in range(outputs.shape[1])]
    rows = outputs.tolist()
    if labels is not None:
        columns.append("label")
        rows = [[*row, int(label)] for row, label in zip(rows, labels, strict=True)]
    return columns, rows
