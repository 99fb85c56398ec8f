"""The training progress bar stays readable in an 80-column terminal."""

import io
import re

import numpy as np
import pytest
from rich.console import Console

import sigmalab as sl
from sigmalab.progress import ProgressBar, format_metrics


def _last_line(console):
    """The bar as it was left on screen: the text after the last carriage return."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console.file.getvalue().split("\r")[-1]).strip()


def _console(width):
    return Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)


@pytest.mark.parametrize("val_loss", [0.2345678, 1.2345678e-5])
def test_the_bar_keeps_count_and_every_metric_in_80_columns(val_loss):
    console = _console(80)
    bar = ProgressBar(200, console=console)
    bar.on_train_begin(None, {})
    logs = {"loss": 0.123456, "accuracy": 0.95, "val_loss": val_loss, "val_accuracy": 0.9333}
    for epoch in range(200):
        bar.on_epoch_end(None, epoch, logs)
    bar.on_train_end(None, {})
    line = _last_line(console)
    assert len(line) <= 80
    assert line.startswith("epoch 200/200 ━━━━━━━━━━")  # the bar keeps at least 10 cells
    assert line.endswith(format_metrics(logs))
    assert "…" not in line


def test_metrics_are_short_and_the_validation_pair_is_set_apart():
    logs = {"loss": 0.5, "accuracy": 0.875, "val_loss": 0.625, "val_accuracy": 0.8, "best_epoch": 3}
    assert format_metrics(logs) == "loss 0.5 acc 0.875  val_loss 0.625 val_acc 0.800"
    assert format_metrics({"loss": 0.123456, "val_loss": 2.0}) == "loss 0.1235  val_loss 2"


def test_fit_shows_the_bar_and_closes_it(monkeypatch):
    console = _console(80)
    monkeypatch.setattr("rich.progress.get_console", lambda: console)
    X = np.random.default_rng(0).normal(size=(20, 2))
    model = sl.Sequential([sl.Dense(1)]).compile(loss="bce")
    model.fit(X, np.arange(20) % 2, epochs=3, verbose=1, validation_data=(X, np.arange(20) % 2))
    line = _last_line(console)
    assert line.startswith("epoch 3/3") and "val_acc" in line and len(line) <= 80
