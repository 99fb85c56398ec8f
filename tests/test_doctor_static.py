"""check_static on small models: each certain pre-training problem, and silence on sound ones."""

import numpy as np
import pytest

import sigmalab as sl
from sigmalab.doctor import check_static


def model(*layers, loss="bce", optimizer="adam"):
    net = sl.Sequential(list(layers), seed=0)
    return net.compile(loss, optimizer)


def kinds(findings):
    return [finding.kind for finding in findings]


def standard_inputs(rows=200, columns=2):
    return np.random.default_rng(0).normal(size=(rows, columns))


def test_a_sound_model_has_no_static_finding():
    net = model(sl.Dense(8, "relu"), sl.Dropout(0.2), sl.Dense(8, "tanh"), sl.Dense(1))
    assert check_static(net, standard_inputs()) == []


@pytest.mark.parametrize("between", [[], [sl.Dropout(0.1)], [sl.BatchNorm()]])
def test_missing_nonlinearity_between_two_dense_layers(between):
    net = model(sl.Dense(8), *between, sl.Dense(1))
    (finding,) = check_static(net)
    assert finding.kind == "missing_nonlinearity"
    assert finding.severity == "warning"
    assert finding.layer == {"index": 0, "name": "dense_1 (linear)"}
    assert "collapse into one linear layer" in finding.explanation
    assert finding.remedies[0] == {"action": "insert_activation", "value": "relu"}


def test_a_linear_output_layer_alone_is_not_missing_a_nonlinearity():
    assert check_static(model(sl.Dense(1))) == []


@pytest.mark.parametrize(
    ("activation", "loss", "severity"),
    [("sigmoid", "bce", "error"), ("relu", "bce", "error"), ("elu", "bce", "warning")],
)
def test_output_activation_before_a_logit_loss(activation, loss, severity):
    (finding,) = check_static(model(sl.Dense(4, "relu"), sl.Dense(1, activation), loss=loss))
    assert (finding.kind, finding.severity) == ("output_loss_mismatch", severity)
    assert finding.remedies == [{"action": "remove_output_activation"}]


def test_output_activation_with_mse_and_an_explicit_loss_argument():
    net = model(sl.Dense(4, "relu"), sl.Dense(1, "sigmoid"), loss="mse")
    assert check_static(net) == []
    assert kinds(check_static(net, loss="bce")) == ["output_loss_mismatch"]


@pytest.mark.parametrize(("rate", "severity"), [(0.5, "warning"), (0.8, "warning"), (1.0, "error")])
def test_dropout_too_high(rate, severity):
    (finding,) = check_static(model(sl.Dense(8, "relu"), sl.Dropout(rate), sl.Dense(1)))
    assert (finding.kind, finding.severity) == ("dropout_too_high", severity)
    assert finding.layer == {"index": 1, "name": "dropout_1"}
    assert ("learns nothing" in finding.explanation) == (rate == 1.0)


@pytest.mark.parametrize(
    ("scale", "shift"),
    [(100.0, 0.0), (1.0, 50.0), (0.001, 0.0)],
    ids=["wide", "offset", "tiny"],
)
def test_unscaled_inputs(scale, shift):
    X = standard_inputs()
    X[:, 1] = X[:, 1] * scale + shift
    (finding,) = check_static(model(sl.Dense(4, "relu"), sl.Dense(1)), X)
    assert finding.kind == "unscaled_inputs"
    assert finding.evidence["feature"] == 1
    assert finding.remedies == [{"action": "standardize_inputs"}]


def test_playground_scale_inputs_are_not_unscaled():
    X = np.random.default_rng(0).uniform(-6, 6, size=(300, 2))
    assert check_static(model(sl.Dense(4, "relu"), sl.Dense(1)), X) == []


def test_vanishing_risk_for_four_saturating_hidden_layers_without_batchnorm():
    def deep(count):
        return [sl.Dense(8, "tanh") for _ in range(count)]

    (finding,) = check_static(model(*deep(4), sl.Dense(1)))
    assert (finding.kind, finding.severity) == ("vanishing_risk", "info")
    assert check_static(model(*deep(3), sl.Dense(1))) == []
    with_bn = [sl.Dense(8, "tanh"), sl.BatchNorm(), *[sl.Dense(8, "tanh") for _ in range(3)]]
    assert check_static(model(*with_bn, sl.Dense(1))) == []


def test_adaptive_optimizer_with_a_learning_rate_above_one():
    net = model(sl.Dense(4, "relu"), sl.Dense(1), optimizer={"name": "adam", "lr": 2.0})
    (finding,) = check_static(net)
    assert finding.kind == "learning_rate_too_high"
    assert "adam moves every weight" in finding.explanation
    assert check_static(net, optimizer=sl.Adam(lr=0.01)) == []
    assert check_static(model(sl.Dense(4, "relu"), sl.Dense(1), optimizer="sgd")) == []
