"""Hook points into ``fit``: the history, early stopping, and where the doctor listens."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .errors import ArgumentError, SigmalabError, closest
from .validation import check_bool, check_int, check_number

if TYPE_CHECKING:
    from .model import Sequential


class Callback:
    """Override any hook; ``model.stop_training = True`` ends training after the epoch."""

    # True for callbacks that report a diverging run themselves (the doctor), so fit
    # does not warn about it a second time.
    explains_divergence = False

    def on_train_begin(self, model: Sequential, logs: dict) -> None:
        """Before the first epoch; ``logs``: samples, batch_size, epochs, steps_per_epoch, X,
        y (loss-ready) and metrics (the keys each epoch's logs will have)."""

    def on_batch_end(self, model: Sequential, step: int, logs: dict) -> None:
        """After each optimizer step; ``logs['loss']`` is the batch loss."""

    def on_epoch_end(self, model: Sequential, epoch: int, logs: dict) -> None:
        """After each epoch; ``logs`` has loss, val_loss, accuracy, val_accuracy as they apply."""

    def on_train_end(self, model: Sequential, logs: dict) -> None:
        """After the last epoch."""


def check_callbacks(callbacks: object) -> list[Callback]:
    """``callbacks`` as a list after checking that each item is a sigmalab Callback."""
    if isinstance(callbacks, Callback) or not isinstance(callbacks, Sequence):
        raise SigmalabError(
            f"callbacks must be a list such as [sl.EarlyStopping()], received: {callbacks!r}"
        )
    for index, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise SigmalabError(
                f"callbacks[{index}] must be a sigmalab Callback (such as sl.EarlyStopping() "
                f"or sl.Doctor()), received: {callback!r}"
            )
    return list(callbacks)


class History(Callback):
    """Per-epoch metrics: ``history.history['loss']`` is a list with one value per epoch."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, model, epoch, logs):
        """Append this epoch's metrics."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best weights.

    A ``monitor`` the run does not log is an error before training starts (the default,
    ``val_loss``, needs validation data), never a callback that silently does nothing.

    While it keeps weights to restore, it adds ``best_epoch`` (the epoch they are from) to
    each epoch's logs, so callbacks after it - the doctor - know which epoch the run ends
    with: training that stops ``patience`` epochs after the best still keeps the best.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
    ) -> None:
        if not isinstance(monitor, str):  # a metric name; anything else failed mid-fit
            raise ArgumentError("monitor", "must be a metric name such as 'val_loss'", monitor)
        self.monitor = monitor
        self.patience = check_int("patience", patience, low=0)
        self.min_delta = check_number("min_delta", min_delta, low=0.0)
        self.restore_best_weights = check_bool("restore_best_weights", restore_best_weights)
        self.best = math.inf
        self.best_epoch = -1
        self.stopped_epoch: int | None = None
        self._best_weights = None

    def on_train_begin(self, model, logs):
        """Check that the run logs ``monitor``; reset, so one instance can serve several runs."""
        self._check_monitor(logs["metrics"])
        self.best, self.best_epoch, self.stopped_epoch, self._best_weights = (
            math.inf,
            -1,
            None,
            None,
        )

    def on_epoch_end(self, model, epoch, logs):
        """Track the best epoch; stop once patience runs out."""
        value = logs[self.monitor]
        maximise = "accuracy" in self.monitor
        score = -value if maximise else value
        if score < self.best - self.min_delta:
            self.best, self.best_epoch = score, epoch
            if self.restore_best_weights:
                self._best_weights = model.get_weights()
        elif epoch - self.best_epoch >= self.patience:
            self.stopped_epoch = epoch
            model.stop_training = True
        if self.restore_best_weights and self._best_weights is not None:
            logs["best_epoch"] = self.best_epoch

    def _check_monitor(self, metrics: list[str]) -> None:
        if self.monitor in metrics:
            return
        if self.monitor.startswith("val_") and self.monitor[len("val_") :] in metrics:
            raise SigmalabError(
                f"EarlyStopping(monitor={self.monitor!r}) needs validation data: pass "
                "validation_data=(X_val, y_val) or validation_split=0.2 to fit, or use monitor="
                f"{self.monitor[len('val_') :]!r}"
            )
        raise SigmalabError(
            f"EarlyStopping monitor {self.monitor!r} is not logged by this run."
            f"{closest(str(self.monitor), metrics)} Available: {', '.join(metrics)}"
        )

    def on_train_end(self, model, logs):
        """Put back the weights of the best epoch."""
        if self.restore_best_weights and self._best_weights is not None:
            model.set_weights(self._best_weights)
