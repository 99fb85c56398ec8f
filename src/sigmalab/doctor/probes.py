"""Cheap probes: per-layer statistics of a model on a fixed batch, as plain dicts.

This module is the only place the doctor reads engine objects. A probe record is
``{"step", "epoch", "loss", "finite", "layers": [...]}`` with one entry per Dense layer:
``error`` (RMS over samples of the norm of dLoss_i/dz, the backpropagated error),
``grad_norm`` and ``weight_norm`` (|dW|, |W|), ``update_ratio`` (|W - W_before| / |W| for
the last step, or None), ``dead_fraction`` (ReLU units never active on the probe batch)
and ``saturated_fraction`` (sigmoid/tanh units on a flat end), both None where they do
not apply. Alongside them the stream holds loss-only records ``{"step", "epoch", "loss",
"layers": []}``: a training-batch loss (training mode), kept at step 1 and whenever it
is above the blow-up limit (the rules call a run diverged when it stays there for a few
steps). Probe losses are measured in inference mode, so the rules never compare a probe
loss with a batch loss. The first record with a non-finite loss also carries
``first_nonfinite``: the Dense layer whose weighted sum or activation produced the first
NaN/inf on that record's forward pass (``Probe.locate_nonfinite``, asked once per run).
The rules read only these records (typed in :mod:`.records`), so any framework that
emits them can be diagnosed.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import numpy as np

from ..activations import RELU, SATURATING
from ..backend import blas_threads_for
from ..layers import BatchNorm, Dense, Dropout
from .initial_scale import initial_weight_scale
from .records import NonFiniteRecord, ProbeRecord, RunContext

# Output ranges outside which a unit is saturated (nnscope: sigmoid active in (0.03, 0.97),
# tanh in (-0.97, 0.97)); hard_sigmoid is flat outside (0, 1). Other saturating
# activations count as saturated where |z| > SATURATED_Z (DeepDiagnosis: outside +-5).
ACTIVE_OUTPUT_RANGE = {"sigmoid": (0.03, 0.97), "tanh": (-0.97, 0.97), "hard_sigmoid": (0.0, 1.0)}
SATURATED_Z = 5.0
# A unit is saturated when it is saturated for at least this share of the probe samples.
SATURATED_SAMPLE_SHARE = 0.9
# Inputs count as already standardised (so "standardize_inputs" is no remedy) when every
# feature's mean is within this of 0 and its standard deviation within this of 1.
STANDARDIZED_TOLERANCE = 0.5


def describe_layers(model) -> list[dict]:
    """``{"index", "name", "kind", ...}`` per layer: Dense gets dense_k (activation) and family."""
    described = []
    for index, (layer, name) in enumerate(zip(model.layers, model.layer_names(), strict=True)):
        entry = {"index": index, "kind": layer.kind, "name": name}
        if isinstance(layer, Dense):
            entry["name"] += f" ({layer.activation.name})"
            entry.update(activation=layer.activation.name, family=layer.activation.family)
            entry.update(
                units=layer.units, init=layer.init, weight_scale=layer.weight_scale, l2=layer.l2
            )
        elif isinstance(layer, Dropout):
            entry["rate"] = layer.rate
        described.append(entry)
    return described


def run_context(model, X: np.ndarray | None = None) -> RunContext:
    """What the rules may need to know about the setup, as plain data (chooses remedies)."""
    optimizer = model.optimizer
    context = {
        "optimizer": None if optimizer is None else optimizer.name,
        "lr": None if optimizer is None else optimizer.lr,
        "clip_norm": None if optimizer is None else optimizer.clip_norm,
        "loss": None if model.loss is None else model.loss.name,
        "has_batchnorm": any(isinstance(layer, BatchNorm) for layer in model.layers),
        "layers": describe_layers(model),
        "initial_weight_scale": initial_weight_scale(model),
    }
    if X is not None and len(X):
        mean_ok = np.abs(X.mean(axis=0)) < STANDARDIZED_TOLERANCE
        std_ok = np.abs(X.std(axis=0) - 1.0) < STANDARDIZED_TOLERANCE
        context["inputs_standardized"] = bool(np.all(mean_ok) and np.all(std_ok))
    return context


def target_variance(y) -> float:
    """The mean over outputs of the targets' variance: the mse of predicting their mean,
    against which underfitting judges a regression's loss."""
    targets = np.asarray(y, dtype=np.float64)
    return float(targets.reshape(len(targets), -1).var(axis=0).mean()) if len(targets) else 0.0


class Probe:
    """Measures a model on the first ``size`` of the given samples, without changing training.

    The pass runs in inference mode (no dropout draws, no BatchNorm running-stat update),
    so no random generator is consumed; the gradients it computes are put back afterwards.
    """

    def __init__(
        self, model, X: np.ndarray, y: np.ndarray, size: int = 256, limit_threads: bool = True
    ) -> None:
        self.model = model
        self.limit_threads = limit_threads
        self.X = np.array(X[:size])
        self.y = np.array(y[:size])
        self.dense = [
            (i, layer) for i, layer in enumerate(model.layers) if isinstance(layer, Dense)
        ]
        self.names = {entry["index"]: entry["name"] for entry in describe_layers(model)}
        self._previous: dict[int, np.ndarray] = {}
        self._previous_step: int | None = None

    def remember_weights(self, step: int) -> None:
        """Snapshot the weights after ``step``, so the next probe can measure one update."""
        self._previous = {index: layer.params["W"].copy() for index, layer in self.dense}
        self._previous_step = step

    def __call__(self, step: int, epoch: int) -> ProbeRecord:
        """One record of per-layer statistics at optimizer step ``step``."""
        model = self.model
        saved_grads = model.flat_grads.copy()
        # BLAS threads as fit chooses them: one for small products, since for a few hundred
        # rows waking a sleeping thread pool costs more than the product itself (10x on a busy
        # machine). Inside fit they are chosen already (``limit_threads=False``): a second
        # limiter would cost ~10 % of a probe.
        threads = (
            blas_threads_for(model.largest_product(len(self.X)))
            if self.limit_threads
            else nullcontext()
        )
        with threads:
            loss, _ = model.loss_and_gradients(self.X, self.y)
        previous = self._previous if self._previous_step == step - 1 else {}
        layers = [
            self._layer_stats(index, layer, previous.get(index)) for index, layer in self.dense
        ]
        model.flat_grads[...] = saved_grads
        self._previous, self._previous_step = {}, None
        return {
            "step": step,
            "epoch": epoch,
            "loss": float(loss),
            "finite": bool(np.isfinite(loss)) and all(entry["finite"] for entry in layers),
            "layers": layers,
        }

    def locate_nonfinite(self) -> NonFiniteRecord | None:
        """The first Dense layer whose last forward pass (training batch or probe) produced
        NaN/inf, and whether its weighted sum or its activation did; None if none did.

        It reads what the layers kept of that pass, so the caller asks right after a
        non-finite loss, before another pass overwrites it: once per run, never per step.
        """
        for index, layer in self.dense:
            z, a = layer.z, layer.a
            if z is None or a is None:
                return None
            finite_z = np.isfinite(z)
            if not finite_z.all():
                return self._nonfinite(index, layer, "weighted_sum", finite_z, None)
            finite_a = np.isfinite(a)
            if not finite_a.all():
                return self._nonfinite(index, layer, "activation", finite_a, z[~finite_a])
        return None

    def _nonfinite(
        self, index: int, layer: Dense, stage: str, finite: np.ndarray, bad: np.ndarray | None
    ) -> NonFiniteRecord:
        return {
            "index": index,
            "name": self.names[index],
            "activation": layer.activation.spec or layer.activation.name,
            "stage": stage,
            "nonfinite_fraction": float(1.0 - np.mean(finite)),
            "bad_input_min": None if bad is None else float(bad.min()),
            "bad_input_max": None if bad is None else float(bad.max()),
        }

    def _layer_stats(self, index: int, layer: Dense, previous_W: np.ndarray | None) -> dict:
        W, dW, z, a = layer.params["W"], layer.grads["W"], layer.z, layer.a
        weight_norm = _norm(W)
        # delta is d(mean loss)/dz = e_i / n for per-sample errors e_i; sqrt(n) * |delta|_F
        # is the root-mean-square of |e_i| over samples: independent of the probe size, and
        # a norm over the layer's units as AUTOTRAINER's gradient ratio uses.
        error = _norm(layer.delta) * math.sqrt(z.shape[0])
        entry = {
            "index": index,
            "name": self.names[index],
            "family": layer.activation.family,
            "output": index == self.dense[-1][0],
            "error": error,
            "grad_norm": _norm(dW),
            "weight_norm": weight_norm,
            "update_ratio": None,
            "dead_fraction": None,
            "saturated_fraction": None,
        }
        if previous_W is not None and weight_norm > 0:
            entry["update_ratio"] = _norm(W - previous_W) / weight_norm
        if layer.activation.family == RELU:
            dead = dead_units(z)
            entry["dead_fraction"] = np.count_nonzero(dead) / dead.size
        elif layer.activation.family == SATURATING:
            saturated = saturated_units(layer.activation.name, z, a)
            entry["saturated_fraction"] = np.count_nonzero(saturated) / saturated.size
        entry["finite"] = all(map(math.isfinite, (error, entry["grad_norm"], weight_norm)))
        return entry


def _norm(x: np.ndarray) -> float:
    """The Frobenius norm as np.linalg.norm computes it (one dot product), without its
    argument handling: a probe takes a few norms per layer and small arrays."""
    flat = x.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


def dead_units(z: np.ndarray) -> np.ndarray:
    """Per unit: never active (z <= 0) on any sample, so a ReLU unit passes no gradient.

    The ufuncs' own reductions: what np.any and np.count_nonzero compute, without the
    Python layer that costs more than the work on a probe's few hundred rows."""
    return ~np.logical_or.reduce(z > 0, axis=0)


def saturated_units(activation: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Per unit: its output sits on a flat end for most samples (see ACTIVE_OUTPUT_RANGE)."""
    if activation in ACTIVE_OUTPUT_RANGE:
        low, high = ACTIVE_OUTPUT_RANGE[activation]
        flat = (a <= low) | (a >= high)
    else:
        flat = np.abs(z) > SATURATED_Z
    return np.add.reduce(flat, axis=0) >= SATURATED_SAMPLE_SHARE * flat.shape[0]
