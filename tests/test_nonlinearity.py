"""The text's first claim: without a nonlinear activation a network cannot learn XOR."""

from __future__ import annotations

import numpy as np
import pytest

import sigmalab as sl


def _xor(samples=400, seed=0):
    """Playground XOR (train/test halves); points near the axes are pushed away by the loader."""
    data = sl.datasets.load("xor", samples=samples, noise=0.0, seed=seed)
    assert set(np.unique(data.y_train)) == {0, 1}
    return data.X_train, data.y_train, data.X_test, data.y_test


def _test_accuracy(activation, seed):
    X, y, X_test, y_test = _xor()
    model = sl.Sequential(
        [sl.Dense(8, activation=activation), sl.Dense(8, activation=activation), sl.Dense(1)],
        seed=seed,
    )
    model.compile(loss="bce", optimizer=sl.Adam(lr=0.01))
    model.fit(X, y, epochs=100, batch_size=20, verbose=0)
    return model.evaluate(X_test, y_test)["accuracy"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_activations_stay_near_chance(seed):
    assert _test_accuracy("linear", seed) <= 0.7


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_relu_learns_xor(seed):
    assert _test_accuracy("relu", seed) >= 0.95


def test_stacked_linear_layers_are_one_linear_map():
    """Why: the composition of linear layers is x @ (W1 W2 W3) + const, a single plane."""
    X, *_ = _xor()
    model = sl.Sequential([sl.Dense(8), sl.Dense(8), sl.Dense(1)], dtype="float64", seed=3)
    model.build(2)
    for layer in model.layers:
        layer.params["b"][...] = np.random.default_rng(5).normal(size=layer.params["b"].shape)
    W1, b1, W2, b2, W3, b3 = model.get_weights()
    collapsed = X @ (W1 @ W2 @ W3) + ((b1 @ W2 + b2) @ W3 + b3)
    np.testing.assert_allclose(model.forward(X), collapsed, rtol=1e-12, atol=1e-12)
