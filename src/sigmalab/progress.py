"""A terminal progress bar for ``fit`` (rich is imported only when it is shown)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .callbacks import Callback

if TYPE_CHECKING:
    from .model import Sequential

# The metrics shown and their short names: with them the line fits in 80 columns.
SHOWN = {"loss": "loss", "accuracy": "acc", "val_loss": "val_loss", "val_accuracy": "val_acc"}
MIN_BAR_WIDTH = 10


def format_metrics(logs: dict[str, Any]) -> str:
    """``loss 0.1235 acc 0.950  val_loss 0.2346 val_acc 0.933``: losses to 4 significant
    digits, accuracies to 3 decimals, the validation pair set apart."""
    parts = []
    for key, label in SHOWN.items():
        if key in logs:
            value = logs[key]
            shown = f"{value:.3f}" if key.endswith("accuracy") else f"{value:.4g}"
            gap = " " if key == "val_loss" and parts else ""
            parts.append(f"{gap}{label} {shown}")
    return " ".join(parts)


class ProgressBar(Callback):
    """One bar over the epochs, showing the latest losses and accuracies.

    The epoch count and the metrics keep their full width; the bar takes what is left of
    the terminal line, so the line stays readable at 80 columns.
    """

    def __init__(self, epochs: int, console: Any = None) -> None:
        self.epochs = epochs
        self.console = console  # a rich Console; None: the terminal
        self._progress = None
        self._task = None

    def on_train_begin(self, model: Sequential, logs: dict) -> None:
        """Start the bar."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        from rich.table import Column

        self._progress = Progress(
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(bar_width=None, table_column=Column(min_width=MIN_BAR_WIDTH, ratio=1)),
            TextColumn("{task.fields[metrics]}", table_column=Column(no_wrap=True)),
            console=self.console,
            expand=True,
            transient=False,
        )
        self._task = self._progress.add_task("train", total=self.epochs, metrics="")
        self._progress.start()

    def on_epoch_end(self, model: Sequential, epoch: int, logs: dict) -> None:
        """Advance and show this epoch's metrics."""
        self._progress.update(self._task, advance=1, metrics=format_metrics(logs))

    def on_train_end(self, model: Sequential, logs: dict) -> None:
        """Close the bar."""
        self._progress.stop()
