"""What the lab measures in each trained network, beyond its metrics (a sweep ``measure``).

The numbers come from the doctor's probe (``sigmalab.doctor.probes.Probe``) on up to 256
training rows, in inference mode, so the lab and the doctor measure the same things the
same way: per Dense layer the backpropagated error (the gradient signal that reaches the
layer), the share of dead ReLU units and of saturated sigmoid/tanh units. Beside them, the
hidden units' responsiveness: the share of (unit, row) pairs where the activation's slope
is at least RESPONSIVE of its peak, and the shares where it has fallen off below 0 (``low``)
and above 0 (``high``): the text's "range of responsiveness", measured. ``start_``
numbers are the same measurements on the untrained network (same seed), where the text's
claims about weights and depth act before any learning.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..config import RunConfig, build_model

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..model import Sequential

PROBE_ROWS = 256
RESPONSIVE = 0.1  # a unit responds where its slope is at least this share of the peak slope


def network_measures(config: RunConfig, model: Sequential, dataset: Dataset) -> dict[str, float]:
    """Probe numbers of the trained network and of the same network before training."""
    X = np.asarray(model.preprocess(dataset.X_train), dtype=model.dtype)
    untrained = build_model(config)
    untrained.preprocessing = model.preprocessing
    untrained.build(X.shape[1])
    return {
        **_probed(model, X, dataset.y_train, ""),
        **_probed(untrained, X, dataset.y_train, "start_"),
    }


def _probed(model: Sequential, X, y, prefix: str) -> dict[str, float]:
    """``{prefix}error_i`` per Dense layer i (0 = first), and the hidden layers' dead and
    saturated unit fractions (NaN where no hidden unit has that family)."""
    from ..doctor.probes import Probe

    rows = min(len(X), PROBE_ROWS)
    targets = model.loss.prepare_targets(y[:rows], rows, model.output_dim, model.dtype)
    record = Probe(model, X[:rows], targets, size=rows)(step=0, epoch=0)
    measures = {}
    dead, saturated = [], []
    for position, layer in enumerate(record["layers"]):
        measures[f"{prefix}error_{position}"] = layer["error"]
        if layer["output"]:
            continue
        units = _units(model, layer["index"])
        if layer["dead_fraction"] is not None:
            dead.append((layer["dead_fraction"], units))
        if layer["saturated_fraction"] is not None:
            saturated.append((layer["saturated_fraction"], units))
    measures[f"{prefix}dead_fraction"] = _weighted(dead)
    measures[f"{prefix}saturated_fraction"] = _weighted(saturated)
    measures[f"{prefix}loss"] = record["loss"]
    for name, share in _responsiveness(model).items():
        measures[f"{prefix}{name}"] = share
    return measures


def _responsiveness(model: Sequential) -> dict[str, float]:
    """Shares of the hidden (unit, row) pairs of the last pass that respond, and that have
    fallen off on the low or the high side (see RESPONSIVE)."""
    from ..layers import Dense

    hidden = [layer for layer in model.layers if isinstance(layer, Dense)][:-1]
    counts = {"responsive_fraction": 0, "low_end_fraction": 0, "high_end_fraction": 0}
    total = 0
    for layer in hidden:
        slope = layer.activation.derivative(layer.z, layer.a) / peak_slope(layer.activation)
        flat = slope < RESPONSIVE
        counts["responsive_fraction"] += int(np.count_nonzero(~flat))
        counts["low_end_fraction"] += int(np.count_nonzero(flat & (layer.z < 0)))
        counts["high_end_fraction"] += int(np.count_nonzero(flat & (layer.z >= 0)))
        total += layer.z.size
    return {name: count / total if total else math.nan for name, count in counts.items()}


def peak_slope(activation) -> float:
    """The activation's largest slope on [-10, 10] (0.25 for the sigmoid, 1 for ReLU)."""
    z = np.linspace(-10.0, 10.0, 2001)
    return float(np.max(np.abs(activation.derivative(z, activation(z)))))


def _units(model: Sequential, index: int) -> int:
    return model.layers[index].units


def _weighted(fractions: list[tuple[float, int]]) -> float:
    """The fraction of all units (each layer's fraction weighted by its unit count)."""
    total = sum(units for _, units in fractions)
    if not total:
        return math.nan
    return sum(fraction * units for fraction, units in fractions) / total
