"""no_learning: a run no better than the constant predictor is a finding of its own."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from sigmalab.doctor.baseline import constant_predictor, no_learning_evidence
from sigmalab.doctor.diagnose import diagnose

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_the_constant_predictor_is_the_majority_share_or_the_targets_variance():
    assert constant_predictor(np.array([0, 1, 1, 2, 1]), classification=True) == 0.6
    one_hot = np.eye(3)[[0, 2, 2, 2]]
    assert constant_predictor(one_hot, classification=True) == 0.75
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    assert constant_predictor(y, classification=False) == np.var(y)


def test_accuracy_must_beat_the_majority_by_a_margin_counted_in_samples():
    """100 samples, majority 53: the margin is 2 samples, so 55 right is still no learning."""
    at_margin = no_learning_evidence("test_accuracy", 0.55, 0.53, True, 100)
    assert at_margin["correct"] == 55 and at_margin["majority_count"] == 53
    assert at_margin["margin_samples"] == 2
    assert no_learning_evidence("test_accuracy", 0.56, 0.53, True, 100) is None
    # 0.1 + 0.2 style rounding cannot move a count: 17 of 30 is 17 whatever the float says
    assert no_learning_evidence("test_accuracy", 17 / 30 + 1e-12, 14 / 30, True, 30) is None
    assert no_learning_evidence("test_accuracy", 15 / 30 - 1e-12, 14 / 30, True, 30)


def test_a_regression_must_explain_some_of_the_variance():
    assert no_learning_evidence("test_loss", 0.05, 0.1, False, 40) is None  # R^2 0.5
    flat = no_learning_evidence("test_loss", 0.099, 0.1, False, 40)
    assert flat["r2"] == (1 - 0.099 / 0.1) and flat["constant_predictor"] == 0.1
    assert no_learning_evidence("test_loss", 3282.0, 1.0, False, 40)["r2"] < -3000
    assert no_learning_evidence("test_loss", math.nan, 1.0, False, 40)["r2"] == -math.inf


def test_a_diverged_regression_is_reported_as_no_learning_with_its_evidence():
    diagnosis = diagnose(SCENARIOS / "divergence/01-reg-plane-huge-lr.toml")
    finding = next(f for f in diagnosis.findings if f.kind == "no_learning")
    assert finding.severity == "warning" and diagnosis.has_problem("no_learning")
    assert finding.evidence["metric"] == "test_loss"
    assert finding.evidence["constant_predictor"] == diagnosis.metric.constant > 0
    assert "constant predictor" in finding.explanation
    assert diagnosis.to_dict()["metric"]["constant_predictor"] == diagnosis.metric.constant


def test_a_healthy_run_beats_the_constant_predictor():
    diagnosis = diagnose(SCENARIOS / "healthy/06-reg-plane-tanh-sgd.toml")
    assert not diagnosis.findings
    assert diagnosis.metric.value < 0.1 * diagnosis.metric.constant
