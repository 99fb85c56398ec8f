"""The L1/L2 penalty, written once: a stack of networks gets what each network gets alone."""

from __future__ import annotations

import numpy as np

from sigmalab.penalties import add_penalty_gradient, weight_penalty


def test_penalty_value_against_the_definition():
    W = np.random.default_rng(0).normal(size=(4, 3))
    expected = 0.01 * np.abs(W).sum() + 0.2 * (W**2).sum()
    np.testing.assert_allclose(weight_penalty(W, 0.01, 0.2), expected, rtol=1e-14)
    assert weight_penalty(W, 0.0, 0.0) == 0.0


def test_a_stack_rounds_each_network_as_it_would_alone():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(3, 5, 4)).astype(np.float32)
    dW = rng.normal(size=W.shape).astype(np.float32)
    l1, l2 = [0.0, 0.003, 0.01], [0.05, 0.0, 0.02]
    stacked = dW.copy()
    add_penalty_gradient(
        stacked, W, np.float32(l1).reshape(-1, 1, 1), np.float32(l2).reshape(-1, 1, 1)
    )
    values = weight_penalty(W, np.float32(l1).reshape(-1, 1, 1), np.float32(l2).reshape(-1, 1, 1))
    for k in range(3):
        alone = dW[k].copy()
        add_penalty_gradient(alone, W[k], l1[k], l2[k])
        np.testing.assert_array_equal(stacked[k], alone)  # bit for bit
        np.testing.assert_allclose(values[k], weight_penalty(W[k], l1[k], l2[k]), rtol=1e-6)
