"""Optimizers: three steps on a tiny quadratic against PyTorch's documented update rules,
written out in plain Python floats; global-norm clipping over all parameters."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import sigmalab as sl
from sigmalab.optimizers import clip_by_global_norm

CURVATURE = [1.0, 3.0, 0.5]
CENTRE = [1.0, -2.0, 0.5]
START = [0.0, 0.0, 3.0]
STEPS = 3


def _grad(w):
    """Gradient of sum 0.5 * a_i (w_i - c_i)^2."""
    return [a * (wi - c) for a, wi, c in zip(CURVATURE, w, CENTRE, strict=True)]


def _clip(g, max_norm):
    """torch.nn.utils.clip_grad_norm_: scale by min(1, max_norm / (norm + 1e-6))."""
    if max_norm is None:
        return g
    norm = math.sqrt(sum(x * x for x in g))
    coef = min(max_norm / (norm + 1e-6), 1.0)
    return [x * coef for x in g]


def _sgd(lr, momentum=0.0, nesterov=False, clip_norm=None):
    w, buf = list(START), None
    for _ in range(STEPS):
        g = _clip(_grad(w), clip_norm)
        if momentum:
            buf = (
                list(g) if buf is None else [momentum * b + x for b, x in zip(buf, g, strict=True)]
            )
            g = [x + momentum * b for x, b in zip(g, buf, strict=True)] if nesterov else buf
        w = [wi - lr * x for wi, x in zip(w, g, strict=True)]
    return w


def _adam(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, clip_norm=None):
    w, m, v = list(START), [0.0] * 3, [0.0] * 3
    for t in range(1, STEPS + 1):
        g = _clip(_grad(w), clip_norm)
        m = [beta1 * mi + (1 - beta1) * x for mi, x in zip(m, g, strict=True)]
        v = [beta2 * vi + (1 - beta2) * x * x for vi, x in zip(v, g, strict=True)]
        m_hat = [mi / (1 - beta1**t) for mi in m]
        v_hat = [vi / (1 - beta2**t) for vi in v]
        w = [
            wi - lr * mh / (math.sqrt(vh) + eps) for wi, mh, vh in zip(w, m_hat, v_hat, strict=True)
        ]
    return w


def _rmsprop(lr=1e-2, rho=0.99, eps=1e-8, clip_norm=None):
    w, v = list(START), [0.0] * 3
    for _ in range(STEPS):
        g = _clip(_grad(w), clip_norm)
        v = [rho * vi + (1 - rho) * x * x for vi, x in zip(v, g, strict=True)]
        w = [wi - lr * x / (math.sqrt(vi) + eps) for wi, x, vi in zip(w, g, v, strict=True)]
    return w


def _run(optimizer, dtype=np.float64):
    params = np.array(START, dtype=dtype)
    for _ in range(STEPS):
        grads = np.asarray(_grad(params.tolist()), dtype=dtype)
        optimizer.step(params, grads)
    return params


CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adam", {"lr": 0.1}),
    ("adam", {"lr": 0.05, "beta1": 0.8, "beta2": 0.9, "eps": 1e-3}),
    ("adam", {}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.1, "rho": 0.9, "eps": 1e-4}),
]
CASES += [(name, {**kwargs, "clip_norm": 1.0}) for name, kwargs in CASES]
REFERENCES = {"sgd": _sgd, "adam": _adam, "rmsprop": _rmsprop}
CLASSES = {"sgd": sl.SGD, "adam": sl.Adam, "rmsprop": sl.RMSprop}


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_three_steps_match_reference(name, kwargs):
    expected = REFERENCES[name](**kwargs)
    assert expected != START
    np.testing.assert_allclose(_run(CLASSES[name](**kwargs)), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_float32_params_stay_float32(name, kwargs):
    params = _run(CLASSES[name](**kwargs), dtype=np.float32)
    assert params.dtype == np.float32
    np.testing.assert_allclose(params, REFERENCES[name](**kwargs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    options = {k: v for k, v in kwargs.items() if k != "clip_norm"}
    w = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    if name == "sgd":
        reference = torch.optim.SGD([w], **options)
    elif name == "adam":
        betas = (options.pop("beta1", 0.9), options.pop("beta2", 0.999))
        reference = torch.optim.Adam([w], betas=betas, **options)
    else:
        reference = torch.optim.RMSprop([w], alpha=options.pop("rho", 0.99), **options)
    a, c = torch.tensor(CURVATURE, dtype=torch.float64), torch.tensor(CENTRE, dtype=torch.float64)
    for _ in range(STEPS):
        reference.zero_grad()
        (0.5 * a * (w - c) ** 2).sum().backward()
        if "clip_norm" in kwargs:
            torch.nn.utils.clip_grad_norm_([w], kwargs["clip_norm"])
        reference.step()
    ours = _run(CLASSES[name](**kwargs))
    np.testing.assert_allclose(ours, w.detach().numpy(), rtol=1e-12, atol=1e-15)


def test_pytorch_defaults():
    assert sl.Adam().get_config() == {
        "name": "adam",
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
    }
    assert sl.RMSprop().get_config() == {"name": "rmsprop", "lr": 1e-2, "rho": 0.99, "eps": 1e-8}
    assert sl.SGD(lr=0.5).get_config() == {
        "name": "sgd",
        "lr": 0.5,
        "momentum": 0.0,
        "nesterov": False,
    }


def test_clip_is_global_over_all_parameters():
    """One norm over every layer's gradients, not one per layer or per array."""
    model = sl.Sequential([sl.Dense(4, activation="tanh"), sl.Dense(2)], dtype="float64")
    model.compile(loss="mse", optimizer=sl.SGD(lr=0.5, clip_norm=0.01))
    X = np.random.default_rng(0).normal(size=(6, 3))
    y = np.random.default_rng(1).normal(size=(6, 2))
    model.build(3)
    before = model.get_weights()
    out = model.forward(X, training=True)
    _, dout = model.loss.value_and_grad(out, y)
    model.backward(dout)
    grads = [g.copy() for layer in model.layers for g in layer.grads.values()]
    norm = math.sqrt(sum(float((g**2).sum()) for g in grads))
    assert norm > 0.1  # clipping is active
    coef = 0.01 / (norm + 1e-6)
    model.train_step(X, y)
    for got, old, grad in zip(model.get_weights(), before, grads, strict=True):
        np.testing.assert_allclose(got, old - 0.5 * coef * grad, rtol=1e-12, atol=1e-15)


def test_clip_leaves_small_gradients_alone():
    params, grads = np.zeros(3), np.array([0.1, -0.2, 0.05])
    sl.SGD(lr=1.0, clip_norm=10.0).step(params, grads)
    np.testing.assert_array_equal(params, -grads)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop"])
def test_reset_forgets_state(name):
    kwargs = {"lr": 0.1, "momentum": 0.9} if name == "sgd" else {"lr": 0.1}
    optimizer = CLASSES[name](**kwargs)
    _run(optimizer)
    optimizer.reset()
    assert optimizer.steps == 0
    np.testing.assert_allclose(_run(optimizer), REFERENCES[name](**kwargs), rtol=1e-12)


@pytest.mark.parametrize("size", [3e20, 1e30, 1.0, 1e-20])
def test_clip_keeps_direction_of_huge_float32_gradients(size):
    """Exploding gradients are what clipping is for: their squares overflow float32."""
    grads = np.array([3.0, -4.0], np.float32) * np.float32(size)
    with np.errstate(over="raise", invalid="raise"):
        clipped = clip_by_global_norm(grads, 0.5)
    expected = [0.3, -0.4] if size > 0.1 else [3.0 * size, -4.0 * size]
    np.testing.assert_allclose(clipped, expected, rtol=1e-5)


def test_clip_rows_are_separate_networks():
    """A leading axis holds one network per row; each row is clipped by its own norm."""
    grads = np.array([[3.0, 4.0], [0.3, 0.4]])
    np.testing.assert_allclose(clip_by_global_norm(grads, 1.0), [[0.6, 0.8], [0.3, 0.4]], 1e-6)


def test_adam_on_float32_parameters_computes_in_float32():
    """A float64 scalar in the update would promote every temporary to float64: slower,
    and twice the memory. Temporaries stay within 3 float32 arrays of the parameters'."""
    optimizer = sl.Adam()
    params = np.ones(1_000_000, np.float32)
    grads = np.full_like(params, 0.5)
    optimizer.step(params, grads)  # moments allocated on the first step
    tracemalloc.start()
    optimizer.step(params, grads)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert params.dtype == np.float32
    assert peak < 3.5 * params.nbytes
