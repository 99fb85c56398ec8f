"""Central-difference gradient checks in float64: an oracle that knows nothing of backprop.

Each helper perturbs one number at a time in place, re-evaluates a scalar function and
compares (f(w + h) - f(w - h)) / 2h with the analytic gradient the engine reports.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

STEP = 1e-6
TOLERANCE = 1e-6


def numeric_grad(f: Callable[[], float], array: np.ndarray, h: float = STEP) -> np.ndarray:
    """d f() / d array by central differences, perturbing ``array`` in place (restored after)."""
    assert array.dtype == np.float64, "gradient checks need float64"
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + h
        up = f()
        array[index] = old - h
        down = f()
        array[index] = old
        grad[index] = (up - down) / (2.0 * h)
    return grad


def rel_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max |a - n| relative to the larger gradient's max (floored at 1e-3 against noise)."""
    analytic, numeric = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    assert analytic.shape == numeric.shape, (analytic.shape, numeric.shape)
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0), 1e-3)
    return float(np.abs(analytic - numeric).max(initial=0.0) / scale)


def assert_close_grad(name: str, analytic, numeric, tol: float = TOLERANCE) -> None:
    """Fail with the parameter name and the error size when the gradients disagree."""
    error = rel_error(analytic, numeric)
    assert error < tol, f"gradient of {name}: relative error {error:.3g} >= {tol:g}"


def check_layer(
    layer,
    x: np.ndarray,
    training: bool = False,
    before_forward: Callable[[], None] = lambda: None,
    tol: float = TOLERANCE,
    seed: int = 0,
) -> None:
    """Check a built float64 layer's parameter and input gradients on L = sum(R * layer(x)).

    ``before_forward`` runs before every forward pass (e.g. to re-seed a dropout mask).
    """
    before_forward()
    weights = np.random.default_rng(seed).normal(size=layer.forward(x, training).shape)

    def loss() -> float:
        before_forward()
        return float(np.sum(weights * layer.forward(x, training)))

    before_forward()
    layer.forward(x, training)
    dx = layer.backward(weights.copy())
    analytic = {name: grad.copy() for name, grad in layer.grads.items()}
    for name, param in layer.params.items():
        assert_close_grad(name, analytic[name], numeric_grad(loss, param), tol)
    assert_close_grad("x", dx, numeric_grad(loss, x), tol)


def check_model(
    model,
    X: np.ndarray,
    y: np.ndarray,
    before_forward: Callable[[], None] = lambda: None,
    tol: float = TOLERANCE,
) -> None:
    """Check a compiled float64 model's gradients of loss + penalty (training mode).

    Uses only the public forward/backward path; parameters are perturbed through the
    flat buffer the layers' params are views of.
    """
    assert model.dtype == np.float64
    before_forward()
    out = model.forward(X, training=True)
    targets = model.loss.prepare_targets(y, X.shape[0], model.output_dim, model.dtype)

    def loss() -> float:
        before_forward()
        value = model.loss.value(model.forward(X, training=True), targets)
        return value + model.penalty()

    _, dout = model.loss.value_and_grad(out, targets)
    dX = model.backward(dout)
    analytic = model.flat_grads.copy()
    assert_close_grad("parameters", analytic, numeric_grad(loss, model.flat_params), tol)
    assert_close_grad("X", dX, numeric_grad(loss, X), tol)
