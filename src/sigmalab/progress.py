"""A terminal progress bar for ``fit`` (rich is imported only when it is shown)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .callbacks import Callback

if TYPE_CHECKING:
    from .model import Sequential


class ProgressBar(Callback):
    """One bar over the epochs, showing the latest losses and accuracies."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self._progress = None
        self._task = None

    def on_train_begin(self, model: Sequential, logs: dict) -> None:
        """Start the bar."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("{task.fields[metrics]}"),
            transient=False,
        )
        self._task = self._progress.add_task("train", total=self.epochs, metrics="")
        self._progress.start()

    def on_epoch_end(self, model: Sequential, epoch: int, logs: dict) -> None:
        """Advance and show this epoch's metrics."""
        metrics = "  ".join(f"{key} {value:.4g}" for key, value in logs.items())
        self._progress.update(self._task, advance=1, metrics=metrics)

    def on_train_end(self, model: Sequential, logs: dict) -> None:
        """Close the bar."""
        self._progress.stop()
