"""The epoch loop, written once for a Sequential and for an Ensemble of stacked networks.

A trainer (``Sequential`` or ``Ensemble``) supplies the batches of an epoch, one training
step, and its evaluation; the loop adds up the epoch's metrics, calls the callbacks and
stops when a callback or a diverged loss asks it to. For an ensemble the losses, metrics
and logs are arrays with one entry per member.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .backend import blas_threads_for, xp
from .callbacks import Callback
from .losses import Loss


class Trainer(Protocol):
    """What the loop needs from a model: batches, a step, an evaluation and a stop flag."""

    loss: Loss
    stop_training: bool

    def epoch_batches(
        self, X: xp.ndarray, targets: xp.ndarray, bounds: list[tuple[int, int]], shuffle: bool
    ) -> Iterator[tuple[xp.ndarray, xp.ndarray]]:
        """The (inputs, targets) batches of one epoch, in training order."""

    def train_batch(self, X: xp.ndarray, targets: xp.ndarray) -> tuple[Any, xp.ndarray]:
        """One update; the batch loss (one per member for an ensemble) and the raw outputs."""

    def evaluate_arrays(self, X: xp.ndarray, targets: xp.ndarray) -> dict[str, Any]:
        """Loss and accuracy on prepared arrays, in inference mode."""

    def all_diverged(self, losses: Any) -> bool:
        """Whether training can stop because every loss is NaN or infinite."""


@dataclass(frozen=True)
class Divergence:
    """Where training stopped on a non-finite loss: 0-based epoch, 1-based step, the loss."""

    epoch: int
    step: int
    loss: Any


def begin_logs(
    X: xp.ndarray,
    targets: xp.ndarray,
    batch_size: int,
    epochs: int,
    bounds: list,
    metrics: list[str],
) -> dict[str, Any]:
    """What callbacks get before the first epoch; X and y (targets as the loss expects them)
    let probes such as the doctor's use a fixed batch of training data, and ``metrics``
    (the keys of every epoch's logs) lets EarlyStopping check its monitor before a step."""
    return {
        "samples": X.shape[0],
        "batch_size": batch_size,
        "epochs": epochs,
        "steps_per_epoch": len(bounds),
        "X": X,
        "y": targets,
        "metrics": metrics,
    }


def epoch_metrics(loss: Loss, validation: object | None) -> list[str]:
    """The keys of every epoch's logs: loss, accuracy for classification, and their val_
    twins when there is validation data."""
    metrics = ["loss", "accuracy"] if loss.is_classification else ["loss"]
    return metrics + ([f"val_{name}" for name in metrics] if validation is not None else [])


def train_epochs(
    trainer: Trainer,
    X: xp.ndarray,
    targets: xp.ndarray,
    bounds: list[tuple[int, int]],
    epochs: int,
    shuffle: bool,
    validation: tuple[xp.ndarray, xp.ndarray] | None,
    hooks: Sequence[Callback],
    largest_product: int,
) -> Divergence | None:
    """Run ``epochs`` epochs; return where every loss became non-finite, or None."""
    classification = trainer.loss.is_classification
    n = bounds[-1][1] if bounds else 0
    diverged = None
    # Overflow on the way to a NaN loss is reported once, by fit, not as NumPy warnings.
    with blas_threads_for(largest_product), xp.errstate(over="ignore", invalid="ignore"):
        step = 0
        for epoch in range(epochs):
            loss_sum = correct = 0.0
            for X_batch, y_batch in trainer.epoch_batches(X, targets, bounds, shuffle):
                losses, out = trainer.train_batch(X_batch, y_batch)
                rows = X_batch.shape[-2]
                step += 1
                loss_sum = loss_sum + losses * rows
                if classification:
                    correct = correct + trainer.loss.accuracies(out, y_batch) * rows
                batch_logs = {"loss": losses}
                for hook in hooks:
                    hook.on_batch_end(trainer, step, batch_logs)
                if trainer.all_diverged(losses):
                    diverged = Divergence(epoch, step, losses)
                    trainer.stop_training = True
                    break
            logs = {"loss": loss_sum / n}
            if classification:
                logs["accuracy"] = correct / n
            if validation is not None:
                evaluated = trainer.evaluate_arrays(*validation)
                logs.update({f"val_{key}": value for key, value in evaluated.items()})
            for hook in hooks:
                hook.on_epoch_end(trainer, epoch, logs)
            if trainer.stop_training:
                break
    return diverged
