"""Large initial weights: measured against the default initialiser, and they pick the remedy."""

from __future__ import annotations

import pytest

import sigmalab as sl
from sigmalab.doctor.findings import make_finding
from sigmalab.doctor.initial_scale import blame_large_weights, initial_weight_scale
from sigmalab.doctor.probes import run_context


def model_with_scale(scale: float) -> sl.Sequential:
    layers = [sl.Dense(64, "relu", weight_scale=scale), sl.Dense(64, "tanh"), sl.Dense(1)]
    return sl.Sequential(layers, seed=0).build(64)


def test_the_initial_weight_scale_is_measured_against_he_and_glorot():
    assert initial_weight_scale(model_with_scale(1.0)) == pytest.approx(1.0, abs=0.15)
    assert initial_weight_scale(model_with_scale(3.0)) == pytest.approx(3.0, rel=0.05)
    assert run_context(model_with_scale(3.0))["initial_weight_scale"] > 2.5


@pytest.mark.parametrize("kind", ["exploding_gradients", "divergence", "no_learning"])
def test_large_initial_weights_put_the_initialiser_first(kind):
    context = {"initial_weight_scale": 3.5}
    finding = blame_large_weights(make_finding(kind, "warning", {}, None, context), context)
    assert finding.remedies[0] == {"action": "set_init", "value": "auto"}
    if kind == "exploding_gradients":
        assert finding.remedies[1] == {"action": "add_batchnorm"}
        clip = finding.remedies.index({"action": "set_clip_norm", "value": 1.0})
        assert clip > 1
    assert finding.evidence["initial_weight_scale"] == 3.5
    assert "3.5 times the scale of the default initialiser" in finding.explanation


def test_default_weights_keep_the_textbook_order():
    context = {"initial_weight_scale": 1.0}
    finding = blame_large_weights(make_finding("exploding_gradients", "warning", {}), context)
    assert finding.remedies[0]["action"] == "scale_learning_rate"
    assert "initial_weight_scale" not in finding.evidence
