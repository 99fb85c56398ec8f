"""Checks before the first optimizer step of a PyTorch loop, the same ones as ``check_static``.

They read the module tree the first forward pass showed (:mod:`.torch_modules`), the loss
function and the optimizer, and report the same Finding kinds with the same evidence, so
the explanations are the sigmalab doctor's own.
"""

from __future__ import annotations

import numpy as np

from ..activations import RELU, SATURATING
from .findings import Finding, layer_ref, make_finding
from .probes import STANDARDIZED_TOLERANCE
from .static import (
    DROPOUT_WARNING,
    LOGIT_LOSSES,
    VANISHING_RISK_LAYERS,
    learning_rate_too_high,
    unscaled_inputs,
)
from .torch_modules import ModuleTree, activation_family

# torch loss classes and the sigmalab loss that computes the same thing from logits.
LOSSES = {"BCEWithLogitsLoss": "bce", "CrossEntropyLoss": "cross_entropy", "MSELoss": "mse"}
# torch optimizer classes and the sigmalab update rule they implement (AdamW is Adam with
# decoupled weight decay: the same step size).
OPTIMIZERS = {"SGD": "sgd", "Adam": "adam", "AdamW": "adam", "RMSprop": "rmsprop"}


def torch_context(tree: ModuleTree, optimizer, loss_fn, X: np.ndarray | None) -> dict:
    """The run context (see probes.run_context) of a PyTorch model, optimizer and loss."""
    group = optimizer.param_groups[0]
    context = {
        "optimizer": OPTIMIZERS.get(type(optimizer).__name__, type(optimizer).__name__.lower()),
        "lr": float(group["lr"]),
        "clip_norm": None,  # clipping happens in the user's loop, out of sight
        "loss": None if loss_fn is None else LOSSES.get(type(loss_fn).__name__),
        "has_batchnorm": any(layer.kind == "batchnorm" for layer in tree.layers),
        "layers": [layer.describe() for layer in tree.layers],
    }
    if X is not None and len(X):
        mean_ok = np.abs(X.mean(axis=0)) < STANDARDIZED_TOLERANCE
        std_ok = np.abs(X.std(axis=0) - 1.0) < STANDARDIZED_TOLERANCE
        context["inputs_standardized"] = bool(np.all(mean_ok) and np.all(std_ok))
    return context


def missing_nonlinearity(tree: ModuleTree, context: dict) -> list[Finding]:
    """A Linear whose output reaches another Linear through no activation at all."""
    layers = context["layers"]
    findings = []
    for path, following in tree.missing:
        entry = layers[tree.layer(path).index]
        evidence = {
            "activation": "linear",
            "next_layer": layers[tree.layer(following).index]["name"],
        }
        findings.append(
            make_finding("missing_nonlinearity", "warning", evidence, layer_ref(entry), context)
        )
    return findings


def output_loss_mismatch(tree: ModuleTree, context: dict) -> list[Finding]:
    """The model's output comes out of an activation while the loss expects logits."""
    if context["loss"] not in LOGIT_LOSSES or tree.output_activation is None:
        return []
    path, name = tree.output_activation
    family = activation_family(name)
    severity = "error" if family in (RELU, SATURATING) else "warning"
    evidence = {"loss": context["loss"], "output_activation": name, "module": f"model.{path}"}
    dense = tree.dense()
    layer = layer_ref(context["layers"][dense[-1].index]) if dense else None
    return [make_finding("output_loss_mismatch", severity, evidence, layer, context)]


def dropout_too_high(context: dict) -> list[Finding]:
    """An ``nn.Dropout`` with p 1.0 (error: learns nothing) or >= 0.5 (warning)."""
    findings = []
    for entry in context["layers"]:
        if entry["kind"] == "dropout" and entry["rate"] >= DROPOUT_WARNING:
            severity = "error" if entry["rate"] >= 1.0 else "warning"
            evidence = {"rate": entry["rate"], "threshold": DROPOUT_WARNING}
            findings.append(
                make_finding("dropout_too_high", severity, evidence, layer_ref(entry), context)
            )
    return findings


def vanishing_risk(context: dict) -> list[Finding]:
    """Four or more sigmoid/tanh hidden Linear layers and no BatchNorm: info."""
    dense = [entry for entry in context["layers"] if entry["kind"] == "dense"][:-1]
    saturating = [entry for entry in dense if entry["family"] == SATURATING]
    if len(saturating) < VANISHING_RISK_LAYERS or context["has_batchnorm"]:
        return []
    evidence = {"saturating_layers": len(saturating), "threshold": VANISHING_RISK_LAYERS}
    return [make_finding("vanishing_risk", "info", evidence, None, context)]


def check_torch_static(tree: ModuleTree, X: np.ndarray | None, context: dict) -> list[Finding]:
    """Every check that needs no training, on the tree, the first batch and the context."""
    return [
        *missing_nonlinearity(tree, context),
        *output_loss_mismatch(tree, context),
        *dropout_too_high(context),
        *unscaled_inputs(X, context),
        *vanishing_risk(context),
        *learning_rate_too_high(context),
    ]
