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


class NonFiniteRecord(TypedDict):
    """Where a forward pass first produced NaN or infinity, walking the layers from the input.

    ``stage`` says which part of that Dense layer did it: "weighted_sum" (z = xW + b was
    already non-finite: the weights or inputs blew up) or "activation" (z was finite, but
    the activation turned some of it into NaN/inf: an input outside its domain).
    """

    index: int  # position in the run context's ``layers``
    name: str  # as in LayerRecord
    activation: str  # the activation's name or formula, e.g. "log(x)"
    stage: str  # "weighted_sum" or "activation"
    nonfinite_fraction: float  # share of that stage's outputs that are NaN or infinite
    # The finite weighted sums the activation turned into NaN/inf (stage "activation"
    # only; None otherwise): the stretch of its input outside its domain.
    bad_input_min: float | None
    bad_input_max: float | None
    # PyTorch: the module that produced it ("model.1"), which may be a user's own module.
    module: NotRequired[str]


class ProbeRecord(TypedDict):
    """A probe (``layers`` filled) or a loss-only record of one training batch (``layers`` [])."""

    step: int  # the optimizer step it was measured at, from 1
    epoch: int  # from 0
    loss: float
    layers: list[LayerRecord]
    finite: NotRequired[bool]
    # On the first record whose loss or statistics are non-finite: the layer that produced
    # the first non-finite value (measured on that record's forward pass), if it was found.
    first_nonfinite: NotRequired[NonFiniteRecord]


class EpochLog(TypedDict, total=False):
    """One epoch's metrics, as fit's callbacks receive them."""

    epoch: int
    loss: float
    accuracy: float  # training accuracy (classification only)
    val_loss: float
    val_accuracy: float
    best_epoch: int


class LayerDescription(TypedDict, total=False):
    """One layer of the run context (``probes.describe_layers``): what remedies judge by."""

    index: int
    kind: str  # "dense", "batchnorm", "dropout"
    name: str  # "dense_1 (relu)"
    activation: str  # Dense: the activation's name, or its formula
    family: str  # Dense: the activation family
    units: int  # Dense
    init: str  # Dense: the initialiser's name
    weight_scale: float  # Dense
    l2: float  # Dense
    rate: float  # Dropout


class RunContext(TypedDict, total=False):
    """What the rules and remedies know of the setup (``probes.run_context``), plain data.

    A missing key means "not known" (the PyTorch watch cannot see gradient clipping in the
    user's loop, for instance): a remedy that depends on it is then offered.
    """

    optimizer: str | None  # the update rule's name: "sgd", "adam", ...
    lr: float | None
    clip_norm: float | None
    loss: str | None  # the loss's name: "bce", "cross_entropy", "mse", ...
    has_batchnorm: bool
    layers: list[LayerDescription]
    inputs_standardized: bool  # every input feature has mean ~0 and std ~1
    target_variance: float  # mse: the probe batch's target variance, a constant's loss
    restored_epoch: int  # early stopping put back this epoch's weights (from 0)
    # Known from a run file only (``remedies.setup_of_config``), not from a model:
    early_stopping_patience: int | None
    features: list[str] | None  # the Playground input features fed to the network
