"""Checks before training: problems visible in the architecture, the loss and the data.

Only what is certain is reported (UMLAUT's pre-training checks, kept to the failure cases
an introductory text on training explains), so a sound setup gets no finding at all.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

from ..activations import LINEAR, RELU, SATURATING
from ..layers import Dense, Dropout
from ..losses import get_loss
from ..optimizers import get_optimizer
from .findings import Finding, layer_ref, make_finding
from .probes import run_context

DROPOUT_WARNING = 0.5  # >= 0.5 warns (UMLAUT warns above 0.5); 1.0 learns nothing
# A feature is off-scale when its spread or offset would make the first weighted sums large
# (std > 10, or |mean| above 3 and above 3 standard deviations) or when it barely varies
# (0 < std < 0.01), which leaves its weights almost untrained.
UNSCALED_STD_HIGH = 10.0
UNSCALED_STD_LOW = 0.01
UNSCALED_MEAN = 3.0
UNSCALED_SAMPLE_ROWS = 10_000
VANISHING_RISK_LAYERS = 4  # sigmoid/tanh hidden Dense layers, without BatchNorm
LOGIT_LOSSES = ("bce", "cross_entropy")
# Adam and RMSprop move every weight by about lr per step whatever the gradient's size;
# above this a single step is larger than a typical weight.
ADAPTIVE_LR_MAX = 1.0
ADAPTIVE_OPTIMIZERS = ("adam", "rmsprop")


def _dense_positions(model) -> list[int]:
    return [index for index, layer in enumerate(model.layers) if isinstance(layer, Dense)]


def missing_nonlinearity(model, layers: list[dict], context: dict) -> list[Finding]:
    """Two Dense layers with only a linear activation (and Dropout/BatchNorm) between them."""
    dense = _dense_positions(model)
    findings = []
    for index, following in pairwise(dense):
        if model.layers[index].activation.family != LINEAR:
            continue
        evidence = {"activation": "linear", "next_layer": layers[following]["name"]}
        findings.append(
            make_finding(
                "missing_nonlinearity", "warning", evidence, layer_ref(layers[index]), context
            )
        )
    return findings


def output_loss_mismatch(model, layers: list[dict], context: dict) -> list[Finding]:
    """An activation on the output layer while the loss works on logits (bce, cross_entropy).

    A sigmoid- or ReLU-shaped output cannot go below 0, so class 0 is out of reach: error.
    """
    dense = _dense_positions(model)
    if context["loss"] not in LOGIT_LOSSES or not dense:
        return []
    activation = model.layers[dense[-1]].activation
    if activation.family == LINEAR:
        return []
    severity = "error" if activation.family in (RELU, SATURATING) else "warning"
    evidence = {"loss": context["loss"], "output_activation": activation.name}
    index = dense[-1]
    return [
        make_finding("output_loss_mismatch", severity, evidence, layer_ref(layers[index]), context)
    ]


def dropout_too_high(model, layers: list[dict], context: dict) -> list[Finding]:
    """Dropout rate 1.0 (error: learns nothing) or >= 0.5 (warning)."""
    findings = []
    for index, layer in enumerate(model.layers):
        if isinstance(layer, Dropout) and layer.rate >= DROPOUT_WARNING:
            severity = "error" if layer.rate >= 1.0 else "warning"
            evidence = {"rate": layer.rate, "threshold": DROPOUT_WARNING}
            findings.append(
                make_finding(
                    "dropout_too_high", severity, evidence, layer_ref(layers[index]), context
                )
            )
    return findings


def unscaled_inputs(X: np.ndarray | None, context: dict) -> list[Finding]:
    """The input feature furthest from mean 0 / std 1, when it is far enough to hurt."""
    if X is None or len(X) < 2:
        return []
    sample = np.asarray(X[:UNSCALED_SAMPLE_ROWS], dtype=np.float64)
    mean, std = sample.mean(axis=0), sample.std(axis=0)
    off_scale = (
        (std > UNSCALED_STD_HIGH)
        | ((std > 0) & (std < UNSCALED_STD_LOW))
        | ((np.abs(mean) > UNSCALED_MEAN) & (np.abs(mean) > UNSCALED_MEAN * std))
    )
    if not off_scale.any():
        return []
    distance = np.abs(mean) + np.abs(np.log10(np.where(std > 0, std, 1.0)))
    feature = int(np.argmax(np.where(off_scale, distance, -np.inf)))
    evidence = {
        "feature": feature,
        "mean": float(mean[feature]),
        "std": float(std[feature]),
        "features_off_scale": int(off_scale.sum()),
        "std_range": [UNSCALED_STD_LOW, UNSCALED_STD_HIGH],
        "mean_threshold": UNSCALED_MEAN,
    }
    return [make_finding("unscaled_inputs", "warning", evidence, None, context)]


def vanishing_risk(model, layers: list[dict], context: dict) -> list[Finding]:
    """Four or more sigmoid/tanh hidden layers with no BatchNorm: info, a risk not a fault."""
    hidden = _dense_positions(model)[:-1]
    saturating = [i for i in hidden if model.layers[i].activation.family == SATURATING]
    if len(saturating) < VANISHING_RISK_LAYERS or context["has_batchnorm"]:
        return []
    evidence = {"saturating_layers": len(saturating), "threshold": VANISHING_RISK_LAYERS}
    return [make_finding("vanishing_risk", "info", evidence, None, context)]


def learning_rate_too_high(context: dict) -> list[Finding]:
    """Adam or RMSprop with lr above 1: every step moves each weight by about lr."""
    optimizer, lr = context["optimizer"], context["lr"]
    if optimizer not in ADAPTIVE_OPTIMIZERS or lr <= ADAPTIVE_LR_MAX:
        return []
    evidence = {"lr": lr, "optimizer": optimizer, "threshold": ADAPTIVE_LR_MAX}
    return [make_finding("learning_rate_too_high", "warning", evidence, None, context)]


def check_static(model, X=None, optimizer=None, loss=None) -> list[Finding]:
    """Findings visible before training; ``optimizer``/``loss`` default to the compiled ones."""
    context = run_context(model, None if X is None else np.asarray(X))
    if optimizer is not None:
        optimizer = get_optimizer(optimizer)
        context.update(optimizer=optimizer.name, lr=optimizer.lr, clip_norm=optimizer.clip_norm)
    if loss is not None:
        context["loss"] = get_loss(loss).name
    return check_static_with_context(model, X, context)


def check_static_with_context(model, X, context: dict) -> list[Finding]:
    """``check_static`` for a caller that has the ``run_context`` already (the Doctor)."""
    layers = context["layers"]
    return [
        *missing_nonlinearity(model, layers, context),
        *output_loss_mismatch(model, layers, context),
        *dropout_too_high(model, layers, context),
        *unscaled_inputs(X, context),
        *vanishing_risk(model, layers, context),
        *learning_rate_too_high(context),
    ]
