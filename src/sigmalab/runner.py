"""Carry out a run file: load the data, build and train the model, and write the results.

``train_run`` is the one place that turns a RunConfig into a trained model, shared by
``sigmalab train`` and the doctor, so both see exactly the same training. ``predict_csv``
applies a saved model to the rows of a CSV: the model file carries the preprocessing and
the class names, so nothing beside it is read.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import data as datasets
from .callbacks import Callback, EarlyStopping, History
from .config import ConfigError, RunConfig, build_model, save_run
from .data.csv_file import read_columns
from .data.dataset import CLASSIFICATION, REGRESSION, Dataset
from .errors import SigmalabError
from .files import atomic_write_bytes
from .io import load_model
from .json_values import json_safe
from .losses import LOSSES
from .model import Sequential
from .output_folder import OutputFolder
from .preprocessing import Preprocessing

MODEL_FILE = "model.safetensors"
RUN_FILE = "run.toml"
HISTORY_FILE = "history.csv"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.png"
OUTPUT_FILES = (MODEL_FILE, RUN_FILE, HISTORY_FILE, SUMMARY_FILE, REPORT_FILE)


@dataclass
class RunResult:
    """What a run produced: the trained model, its history, the data it saw, the summary.

    ``dataset`` holds the rows as loaded (raw): the model preprocesses them itself.
    ``summary`` is a plain JSON-able dict.
    """

    model: Sequential
    history: History
    dataset: Dataset
    summary: dict[str, Any]


def load_data(config: RunConfig) -> tuple[Dataset, Preprocessing]:
    """The split as loaded (with a validation split carved from the training rows when the
    run asks for one), and the preprocessing fitted to its training rows."""
    settings = config.data
    dataset = datasets.load(
        settings.source,
        samples=settings.samples,
        noise=settings.noise,
        test_fraction=settings.test_fraction,
        seed=settings.seed,
        target=settings.target,
        task=run_task(config),
    )
    if settings.validation_fraction:
        dataset = dataset.with_validation(settings.validation_fraction, "data.validation_fraction")
    preprocessing = Preprocessing.adapt(
        dataset.X_train,
        columns=dataset.feature_names,
        features=settings.features,
        standardize=settings.standardize,
    )
    return dataset, preprocessing


def run_task(config: RunConfig) -> str | None:
    """The run's task: its ``[data] task``; else a regression for a CSV trained with mse;
    else None (the dataset decides)."""
    if config.data.task is not None:
        return config.data.task
    if config.train.loss == "mse" and config.data.csv_path is not None:
        return REGRESSION
    return None


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


def train_run(
    config: RunConfig,
    out_dir: str | os.PathLike | None = None,
    callbacks: Sequence[Callback] = (),
    verbose: int = 1,
) -> RunResult:
    """Train the run ``config`` describes; write files to ``out_dir`` when given (model,
    run.toml, history.csv, summary.json, report.png).

    Training watches the validation split carved from the training rows when
    ``data.validation_fraction`` > 0; otherwise it watches the test split, as before. The
    output folder is checked before training starts (see ``open_outputs``).
    """
    folder = None if out_dir is None else open_outputs(config, out_dir)
    with folder or contextlib.nullcontext() as outputs:
        result = _train(config, callbacks, verbose)
        if outputs is not None:
            write_outputs(result, config, outputs)
    return result


def _train(config: RunConfig, callbacks: Sequence[Callback], verbose: int) -> RunResult:
    started = time.perf_counter()
    dataset, preprocessing = load_data(config)
    check_loss_fits(config, dataset)
    model = build_model(config)
    model.preprocessing = preprocessing
    model.class_names = dataset.class_names
    patience = config.train.early_stopping_patience
    stopper = [] if patience is None else [EarlyStopping(patience=patience)]
    history = model.fit(  # the model preprocesses the rows once, up front
        dataset.X_train,
        dataset.y_train,
        epochs=config.train.epochs,
        batch_size=config.train.batch_size,
        validation_data=watched_split(dataset),
        verbose=verbose,
        callbacks=[*stopper, *callbacks],
    )
    summary = summarize(model, history, dataset)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary["preprocessing"] = _describe(preprocessing)
    return RunResult(model, history, dataset, summary)


def watched_split(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The data training watches: the validation split if there is one, else the test split."""
    if dataset.X_val is None:
        return dataset.X_test, dataset.y_test
    return dataset.X_val, dataset.y_val


def open_outputs(
    config: RunConfig, out_dir: str | os.PathLike, inputs: Mapping[Path, str] | None = None
) -> OutputFolder:
    """The run's output folder, checked before training: it can be made and written to, no
    output would replace a link, FIFO, device or folder, or one of the run's inputs (its
    CSV, and ``inputs`` such as the run file)."""
    protected = dict(inputs or {})
    if config.data.csv_path is not None:
        protected[config.data.csv_path] = "data CSV"
    return OutputFolder(out_dir, OUTPUT_FILES, protected)


def _describe(preprocessing: Preprocessing) -> dict[str, Any]:
    """The preprocessing in summary.json, for people: the model file holds the real one."""
    described: dict[str, Any] = preprocessing.get_config()
    if preprocessing.normalization is not None:
        described["mean"] = preprocessing.normalization.mean.tolist()
        described["variance"] = preprocessing.normalization.variance.tolist()
    return described


def summarize(model: Sequential, history: History, dataset: Dataset) -> dict[str, Any]:
    """A trained model's summary: dataset sizes, epochs, and each split's loss and accuracy."""
    summary: dict[str, Any] = {
        "dataset": dataset.name,
        "task": dataset.task,
        "samples_train": len(dataset.y_train),
        "samples_test": len(dataset.y_test),
        "n_classes": dataset.n_classes,
        "class_names": dataset.class_names,
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
                    accuracy = np.mean(model.class_indices(model.predict(X)) == y)
                summary[f"{split}_accuracy"] = float(accuracy)
    return summary


def write_outputs(result: RunResult, config: RunConfig, outputs: OutputFolder) -> None:
    """Write the five run files and move them into the output folder as one set.

    A diverged run's NaN/Inf metrics are written as the strings 'nan', 'inf', '-inf' (as in
    the doctor's findings), since JSON has no such numbers.
    """
    from .report import save_report

    result.model.save(outputs.file(MODEL_FILE))
    save_run(config, outputs.file(RUN_FILE), folder=outputs.path)
    atomic_write_bytes(outputs.file(HISTORY_FILE), _history_csv(result.history).encode())
    text = json.dumps(json_safe(result.summary), indent=2, allow_nan=False)
    atomic_write_bytes(outputs.file(SUMMARY_FILE), (text + "\n").encode())
    save_report(outputs.file(REPORT_FILE), result, name=outputs.path.resolve().name)
    outputs.commit()


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
) -> tuple[list[str], list[list[Any]]]:
    """Predictions for the rows of a CSV: header and rows, ready for ``csv.writer``.

    Everything comes from the model file: the columns it reads (other columns, such as
    ``target``, are ignored), their preprocessing and the class names. A model saved
    without preprocessing reads every column except ``target``, as it is.
    """
    model = load_model(model_path)
    if model.preprocessing is None:
        _refuse_a_legacy_run(Path(model_path))
    columns = None if model.preprocessing is None else model.preprocessing.columns
    outputs = model.predict(read_columns(csv_path, columns))
    return _prediction_table(model, outputs)


def _refuse_a_legacy_run(model_path: Path) -> None:
    """A model that an older sigmalab trained kept its preprocessing in summary.json beside
    it; fed raw rows it would answer garbage, so it is refused (the summary is only read to
    say so)."""
    summary = model_path.parent / SUMMARY_FILE
    try:
        legacy = '"preprocessing"' in summary.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):  # none there, or not ours: nothing to refuse
        legacy = False
    if legacy:
        raise SigmalabError(
            f"{model_path} was trained by an older sigmalab, which kept the model's "
            f"preprocessing in {summary}; train the run again ({model_path.parent / RUN_FILE}) "
            "so that the model file carries it"
        )


def _prediction_table(model: Sequential, outputs: np.ndarray) -> tuple[list[str], list[list[Any]]]:
    """Column names and rows: a probability per class and the label (a class name), or the
    value (and the label, for a classification trained with mse)."""
    labels = names = None
    if model.task == CLASSIFICATION:
        names = model.labels
        labels = [names[index] for index in model.class_indices(outputs)]
    loss = model.loss.name if model.loss is not None else "mse"
    if loss == "mse":
        width = outputs.shape[1]
        columns = ["prediction"] if width == 1 else [f"prediction_{k}" for k in range(width)]
    else:
        if loss == "bce":
            outputs = np.column_stack([1.0 - outputs[:, 0], outputs[:, 0]])
        columns = [f"probability_{name}" for name in names]
    rows = outputs.tolist()
    if labels is not None:
        columns.append("label")
        rows = [[*row, label] for row, label in zip(rows, labels, strict=True)]
    return columns, rows
