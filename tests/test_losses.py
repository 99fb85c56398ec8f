"""Losses: values against formulas written out in plain Python, gradients against central
differences, stability at |logit| = 1000, and predict() probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gradcheck import assert_close_grad, numeric_grad

import sigmalab as sl
from sigmalab.losses import get_loss

F64 = np.float64


def _mse(out, y):
    squares = [(o - t) ** 2 for o, t in zip(np.ravel(out), np.ravel(y), strict=True)]
    return sum(squares) / len(squares)


def _bce(out, y):
    total = 0.0
    for o, t in zip(out[:, 0], y, strict=True):
        p = 1.0 / (1.0 + math.exp(-o))
        total -= t * math.log(p) + (1 - t) * math.log(1 - p)
    return total / len(y)


def _cross_entropy(out, labels):
    total = 0.0
    for row, label in zip(out, labels, strict=True):
        total -= math.log(math.exp(row[label]) / sum(math.exp(v) for v in row))
    return total / len(labels)


def _case(name, target_shape):
    """(loss, logits, raw targets, labels or values for the reference)."""
    rng = np.random.default_rng(0)
    n = 7
    if name == "mse":
        out, y = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
        return out, y, y
    if name == "bce":
        out, labels = rng.normal(scale=2, size=(n, 1)), rng.integers(0, 2, n)
        labels[:2] = [0, 1]
        return out, labels.reshape(target_shape), labels
    out, labels = rng.normal(scale=2, size=(n, 4)), rng.integers(0, 4, n)
    if target_shape == "one_hot":
        return out, np.eye(4)[labels], labels
    return out, labels, labels


REFERENCES = {"mse": _mse, "bce": _bce, "cross_entropy": _cross_entropy}
CASES = [
    ("mse", None),
    ("bce", (-1,)),
    ("bce", (-1, 1)),
    ("cross_entropy", "labels"),
    ("cross_entropy", "one_hot"),
]


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_loss_value_matches_reference(name, shape):
    out, raw, reference_targets = _case(name, shape)
    loss = get_loss(name)
    targets = loss.prepare_targets(raw, out.shape[0], out.shape[1], np.dtype(F64))
    expected = REFERENCES[name](out, reference_targets)
    assert loss.value(out, targets) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("name", "shape"), CASES)
def test_loss_gradient_matches_central_differences(name, shape):
    out, raw, _ = _case(name, shape)
    loss = get_loss(name)
    targets = loss.prepare_targets(raw, out.shape[0], out.shape[1], np.dtype(F64))
    _, grad = loss.value_and_grad(out, targets)
    numeric = numeric_grad(lambda: loss.value(out, targets), out)
    assert_close_grad(name, grad, numeric)


def test_bce_label_shapes_agree():
    out, labels, _ = _case("bce", (-1,))
    loss = get_loss("bce")
    flat = loss.prepare_targets(labels, 7, 1, np.dtype(F64))
    column = loss.prepare_targets(labels.reshape(-1, 1), 7, 1, np.dtype(F64))
    np.testing.assert_array_equal(flat, column)
    assert loss.value(out, flat) == loss.value(out, column)


def test_one_hot_equals_labels():
    out, labels, _ = _case("cross_entropy", "labels")
    loss = get_loss("cross_entropy")
    from_labels = loss.prepare_targets(labels, 7, 4, np.dtype(F64))
    from_one_hot = loss.prepare_targets(np.eye(4)[labels], 7, 4, np.dtype(F64))
    np.testing.assert_array_equal(from_labels, from_one_hot)


@pytest.mark.parametrize(
    ("name", "out", "labels", "expected_loss", "expected_grad"),
    [
        ("bce", [[1000.0], [-1000.0]], [0, 1], 1000.0, [[0.5], [-0.5]]),
        ("bce", [[1000.0], [-1000.0]], [1, 0], 0.0, [[0.0], [0.0]]),
        ("cross_entropy", [[1000.0, -1000.0, 0.0]], [1], 2000.0, [[1.0, -1.0, 0.0]]),
        ("cross_entropy", [[-1000.0, 1000.0]], [1], 0.0, [[0.0, 0.0]]),
    ],
)
def test_stable_for_huge_logits(name, out, labels, expected_loss, expected_grad):
    loss = get_loss(name)
    for dtype in (np.float32, np.float64):
        logits = np.array(out, dtype=dtype)
        targets = loss.prepare_targets(labels, logits.shape[0], logits.shape[1], np.dtype(dtype))
        with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
            value, grad = loss.value_and_grad(logits, targets)
        assert math.isfinite(value) and np.isfinite(grad).all()
        assert value == pytest.approx(expected_loss, abs=1e-6)
        np.testing.assert_allclose(grad, expected_grad, atol=1e-7)


@pytest.mark.parametrize("units", [1, 3])
def test_predict_returns_probabilities(units):
    rng = np.random.default_rng(0)
    X = rng.normal(scale=3, size=(9, 2))
    model = sl.Sequential([sl.Dense(units, weight_scale=3.0)])
    model.compile(loss="bce" if units == 1 else "cross_entropy", optimizer="sgd")
    logits = model.forward(X).astype(F64)
    proba = model.predict(X)
    assert proba.shape == logits.shape and proba.dtype == np.float32
    if units == 1:
        expected = [[1.0 / (1.0 + math.exp(-v))] for v in logits[:, 0]]
    else:
        expected = [[math.exp(v) / sum(math.exp(u) for u in row) for v in row] for row in logits]
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-7)


def test_mse_predict_is_raw():
    model = sl.Sequential([sl.Dense(2)])
    model.compile(loss="mse", optimizer="sgd")
    X = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(model.predict(X), model.forward(X))


@pytest.mark.parametrize(
    ("name", "out", "labels", "expected"),
    [
        ("bce", [[0.3], [-2.0], [0.1]], [1, 1, 0], 1 / 3),
        ("cross_entropy", [[0.1, 0.2], [3.0, -1.0], [0.0, 5.0]], [1, 0, 0], 2 / 3),
    ],
)
def test_accuracy(name, out, labels, expected):
    loss = get_loss(name)
    logits = np.array(out)
    targets = loss.prepare_targets(labels, len(labels), logits.shape[1], np.dtype(F64))
    assert loss.accuracy(logits, targets) == pytest.approx(expected)


@pytest.mark.parametrize("name", ["mse", "bce", "cross_entropy"])
def test_a_stack_of_networks_gets_each_networks_own_loss_gradient_and_accuracy(name):
    """The loss is written once over (..., batch, outputs): the ensemble's stacked call
    gives every network what the single-network call gives it, gradients bit for bit."""
    loss = get_loss(name)
    rng = np.random.default_rng(3)
    outputs = 1 if name != "cross_entropy" else 4
    out = rng.normal(size=(3, 7, outputs)).astype(np.float32)
    if name == "mse":
        y = rng.normal(size=(3, 7, 1)).astype(np.float32)
    elif name == "bce":
        y = rng.integers(0, 2, (3, 7, 1)).astype(np.float32)
    else:
        y = rng.integers(0, 4, (3, 7))
    values, grad = loss.values_and_grad(out, y)
    accuracies = loss.accuracies(out, y)
    for k in range(3):
        value, grad_k = loss.value_and_grad(out[k], y[k])
        np.testing.assert_array_equal(grad[k], grad_k)
        np.testing.assert_allclose(values[k], value, rtol=1e-6)
        if accuracies is not None:
            assert accuracies[k] == loss.accuracy(out[k], y[k])
