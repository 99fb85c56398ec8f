"""Initial weights against the default initialiser's scale: evidence that picks the remedy.

Weights drawn several times larger than He or Glorot draw them multiply the backpropagated
error by about that factor at every layer, so the gradients explode, the loss diverges, or
the network spends its epochs undoing its start and ends no better than a constant. A lower
learning rate or clipping only damps that; redrawing the weights at the default scale (and
batch normalization, which rescales each layer's output) removes the cause, so when the
evidence points at large initial weights those remedies are tried first.
"""

from __future__ import annotations

import math

from ..initializers import auto_init
from ..layers import Dense
from .findings import Finding

# Weights at least twice the default initialiser's standard deviation count as large.
LARGE_INITIAL_SCALE = 2.0
# The kinds that large initial weights cause, and the remedies that treat that cause: the
# activation's default initialiser at scale 1 (offered only on this evidence), then the
# kind's own BatchNorm remedy if it has one.
CAUSED_BY_LARGE_WEIGHTS = ("exploding_gradients", "divergence", "no_learning")
RESET_INIT = {"action": "set_init", "value": "auto"}
BATCHNORM = {"action": "add_batchnorm"}


def _default_std(init: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation of the weights ``auto_init``'s choice draws."""
    if init == "he_normal":
        return math.sqrt(2.0 / fan_in)
    if init == "lecun_normal":
        return math.sqrt(1.0 / fan_in)
    return math.sqrt(2.0 / (fan_in + fan_out))  # glorot_uniform


def initial_weight_scale(model) -> float | None:
    """The largest ratio, over Dense layers, of the weights' RMS to the standard deviation
    the layer's default initialiser draws with (1 for a default run); None without one."""
    ratios = []
    for layer in model.layers:
        if not isinstance(layer, Dense) or "W" not in layer.params:
            continue
        W = layer.params["W"]
        fan_in, fan_out = W.shape
        rms = math.sqrt(float((W.astype(float) ** 2).mean()))
        ratios.append(rms / _default_std(auto_init(layer.activation), fan_in, fan_out))
    return max(ratios, default=None)


def blame_large_weights(finding: Finding, context: dict) -> Finding:
    """``finding`` with the initial weight scale in its evidence and the remedies for large
    weights first, when it is a kind they cause and the run's weights started large."""
    scale = context.get("initial_weight_scale")
    if finding.kind not in CAUSED_BY_LARGE_WEIGHTS or scale is None or scale < LARGE_INITIAL_SCALE:
        return finding
    finding.evidence["initial_weight_scale"] = scale
    finding.explanation += (
        f" The weights started {scale:.3g} times the scale of the default initialiser (He for "
        "ReLU, Glorot otherwise): redraw them at that scale."
    )
    first = [RESET_INIT, *([BATCHNORM] if BATCHNORM in finding.remedies else [])]
    finding.remedies = [dict(r) for r in first] + [r for r in finding.remedies if r not in first]
    return finding
