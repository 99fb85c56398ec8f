"""What the page draws of a model, computed on the server: compact arrays and a few numbers.

The output over the plane is a GRID x GRID grid of bytes (10 KB), each unit's output a
THUMB x THUMB thumbnail averaged down from the same grid, as in the Playground; metrics
come from one inference pass over each split. Nothing here changes the model's training:
inference passes draw no random numbers and update no running statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.dataset import CLASSIFICATION, Dataset
from ..doctor.probes import dead_units, saturated_units
from ..layers import Dense
from ..model import Sequential

GRID = 100  # the Playground's 100 x 100 heat-map
THUMB = 20  # neuron thumbnails: the centre of each 5 x 5 block of the grid
PLAYGROUND_EXTENT = 6.0  # the Playground's square [-6, 6]^2
# Per-unit status in a frame, as the page colours it.
UNIT_OK, UNIT_DEAD, UNIT_SATURATED = 0, 1, 2


@dataclass
class Plane:
    """The square of raw (x1, x2) coordinates the heat-map covers, and its grid of points."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def points(self) -> np.ndarray:
        """GRID * GRID raw points, row by row from the top (largest x2) down, as drawn."""
        xs = np.linspace(*self.x_range, GRID)
        ys = np.linspace(*self.y_range, GRID)[::-1]
        x1, x2 = np.meshgrid(xs, ys)
        return np.column_stack([x1.ravel(), x2.ravel()])


def plane_for(raw: Dataset, builtin: bool) -> Plane | None:
    """[-6, 6]^2 for the built-in sets; the data's bounds (padded) for a 2-column CSV; else None."""
    if builtin:
        return Plane(
            (-PLAYGROUND_EXTENT, PLAYGROUND_EXTENT), (-PLAYGROUND_EXTENT, PLAYGROUND_EXTENT)
        )
    if raw.X_train.shape[1] != 2:
        return None
    points = np.concatenate([raw.X_train, raw.X_test])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = np.maximum((high - low) * 0.1, 1e-3)
    return Plane((low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1]))


def to_bytes(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Values mapped linearly from [low, high] to 0..255 (clipped), NaN to the middle."""
    scaled = (np.nan_to_num(values, nan=(low + high) / 2) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def thumbnails(columns: list[np.ndarray]) -> np.ndarray:
    """(units, THUMB, THUMB) bytes from unit outputs on the grid, (GRID * GRID, units) each.

    A thumbnail samples the centre of each block of the grid (no copy of the whole grid;
    at this size it looks the same as the Playground's block average). Each unit is scaled
    by its largest magnitude (at least 1, so tanh and sigmoid keep their natural range):
    -scale -> 0, 0 -> 128, +scale -> 255.
    """
    block = GRID // THUMB
    centre = slice(block // 2, GRID, block)
    sampled = np.concatenate(
        [np.moveaxis(c.reshape(GRID, GRID, -1)[centre, centre], -1, 0) for c in columns]
    )
    with np.errstate(invalid="ignore"):
        scale = np.maximum(np.nanmax(np.abs(sampled), axis=(1, 2), initial=0.0), 1.0)
    return to_bytes(sampled / scale[:, None, None], -1.0, 1.0)


class View:
    """Computes each frame's arrays and metrics for one run's data."""

    def __init__(self, data: Dataset, model: Sequential, loss: str, plane: Plane | None) -> None:
        self.data = data
        self.loss = loss
        self.plane = plane
        self.classification = data.task == CLASSIFICATION
        self.n_classes = data.n_classes
        # The network's inputs (the model's own preprocessing applied), in its float type,
        # computed once rather than at every frame.
        dtype = model.dtype
        self.grid = None if plane is None else model.preprocess(plane.points()).astype(dtype)
        self._inputs = [model.preprocess(X).astype(dtype) for X in (data.X_train, data.X_test)]
        self._targets: list[np.ndarray] | None = None

    # ---- what is sent once per run -----------------------------------------------------
    def input_thumbnails(self) -> np.ndarray | None:
        """Thumbnails of each model input over the plane (None without a plane)."""
        return None if self.grid is None else thumbnails([self.grid])

    def heat_range(self) -> tuple[float, float]:
        """The output values mapped to bytes 0 and 255: probabilities [0, 1], values [-1, 1]."""
        if self.classification:
            return (0.0, 1.0)
        return (-1.0, 1.0)

    # ---- each frame ----------------------------------------------------------------------
    def metrics(self, model: Sequential) -> tuple[dict, list[list[int]]]:
        """Train and test loss (penalty included, as ``evaluate`` gives it), accuracy and the
        test confusion matrix (classification) or R^2 (regression), and per-unit status
        measured on the training split: one inference pass per split."""
        data = self.data
        if self._targets is None:  # once per run: the labels as the loss reads them
            self._targets = [
                model.loss.prepare_targets(y, len(y), model.output_dim, model.dtype)
                for y in (data.y_train, data.y_test)
            ]
        penalty = model.penalty()
        train_out = model.forward(self._inputs[0])
        status = self._unit_status(model)  # the layers hold the training split's pass
        test_out = model.forward(self._inputs[1])
        metrics = {
            "train_loss": model.loss.value(train_out, self._targets[0]) + penalty,
            "test_loss": model.loss.value(test_out, self._targets[1]) + penalty,
        }
        if self.classification:
            k = self.n_classes or 2
            predicted = [
                model.class_indices(model.loss.transform(out)) for out in (train_out, test_out)
            ]
            metrics["train_accuracy"] = float(np.mean(predicted[0] == data.y_train))
            metrics["test_accuracy"] = float(np.mean(predicted[1] == data.y_test))
            confusion = np.zeros((k, k), dtype=np.int64)
            np.add.at(confusion, (data.y_test, np.clip(predicted[1], 0, k - 1)), 1)
            metrics["confusion"] = confusion.tolist()
        else:
            residual = float(np.sum((test_out[:, 0] - data.y_test) ** 2))
            total = float(np.sum((data.y_test - data.y_test.mean()) ** 2))
            metrics["test_r2"] = 1.0 - residual / total if total > 0 else 0.0
        return metrics, status

    def _unit_status(self, model: Sequential) -> list[list[int]]:
        """UNIT_DEAD / UNIT_SATURATED / UNIT_OK for each hidden Dense unit, by the doctor's
        own tests (doctor.probes), on the last pass the layers hold."""
        status = []
        for layer in hidden_dense(model):
            codes = np.full(layer.units, UNIT_OK)
            codes[dead_units(layer.z) & (layer.activation.family == "relu")] = UNIT_DEAD
            if layer.activation.family == "saturating":
                codes[saturated_units(layer.activation.name, layer.z, layer.a)] = UNIT_SATURATED
            status.append(codes.tolist())
        return status

    def heat(self, model: Sequential, units: bool = True) -> dict[str, np.ndarray]:
        """The output over the plane as bytes, and (``units``) every hidden unit's thumbnail.

        Cross-entropy gives two grids: the winning class and its probability, rescaled from
        [1/k, 1] to 0..255.
        """
        if self.grid is None:
            return {}
        outputs = model.loss.transform(model.forward(self.grid))  # the grid is preprocessed
        outputs_of_units = [layer.a for layer in hidden_dense(model)] if units else []
        arrays: dict[str, np.ndarray] = {}
        if self.loss == "cross_entropy":
            k = outputs.shape[1]
            arrays["heat_class"] = outputs.argmax(axis=1).astype(np.uint8)
            arrays["heat"] = to_bytes(outputs.max(axis=1), 1.0 / k, 1.0)
        else:
            arrays["heat"] = to_bytes(outputs[:, 0], *self.heat_range())
        if outputs_of_units:  # the grid pass, just made
            arrays["units"] = thumbnails(outputs_of_units)
        return arrays


def hidden_dense(model: Sequential) -> list[Dense]:
    """Every Dense layer but the output one, in order: the page's hidden layers."""
    return [layer for layer in model.layers if isinstance(layer, Dense)][:-1]


def dense_weights(model: Sequential) -> dict[str, np.ndarray]:
    """Each Dense layer's W and b as float32 arrays named w0, b0, w1, ... for the links."""
    arrays = {}
    for index, layer in enumerate(layer for layer in model.layers if isinstance(layer, Dense)):
        arrays[f"w{index}"] = np.asarray(layer.params["W"], dtype=np.float32)
        if "b" in layer.params:
            arrays[f"b{index}"] = np.asarray(layer.params["b"], dtype=np.float32)
    return arrays
