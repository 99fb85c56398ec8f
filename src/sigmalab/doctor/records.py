"""The records the rules read, typed: the contract between the doctor and any framework.

``rules.diagnose_records`` reads only these plain dicts, so sigmalab's own probes
(:mod:`.probes`) and the PyTorch watch (:mod:`.torch_watch`) both emit them. The types
name every key; the values stay plain numbers so records are JSON-able as they are.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class LayerRecord(TypedDict):
    """One Dense (``nn.Linear``) layer measured by a probe."""

    index: int  # position in the run context's ``layers``
    name: str  # what findings call it: "dense_1 (relu)", "model.0 (relu)"
    family: str | None  # the activation family (activations.RELU, SATURATING, ...)
    output: bool  # the last Dense layer of the network
    error: float  # RMS over samples of |dLoss_i/dz|, the backpropagated error
    grad_norm: float  # |dW|
    weight_norm: float  # |W|
    update_ratio: float | None  # |W - W_before| / |W| for one optimizer step
    dead_fraction: float | None  # ReLU units never active on the probed samples
    saturated_fraction: float | None  # sigmoid/tanh units on a flat end
    finite: bool


class ProbeRecord(TypedDict):
    """A probe (``layers`` filled) or a loss-only record of one training batch (``layers`` [])."""

    step: int  # the optimizer step it was measured at, from 1
    epoch: int  # from 0
    loss: float
    layers: list[LayerRecord]
    finite: NotRequired[bool]


class EpochLog(TypedDict, total=False):
    """One epoch's metrics, as fit's callbacks receive them."""

    epoch: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    best_epoch: int
