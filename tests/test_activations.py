"""Activations: values against formulas written out with the math module, derivatives
against central differences, and the formula / callable paths through Dense."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gradcheck import assert_close_grad, check_layer

import sigmalab as sl
from sigmalab.activations import get_activation

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# Independent reference values, one scalar formula per activation (PyTorch's definitions).
REFERENCE = {
    "linear": lambda z: z,
    "sigmoid": _sigmoid,
    "tanh": math.tanh,
    "relu": lambda z: max(z, 0.0),
    "leaky_relu": lambda z: z if z > 0 else 0.01 * z,
    "elu": lambda z: z if z > 0 else math.exp(z) - 1.0,
    "selu": lambda z: SELU_SCALE * (z if z > 0 else SELU_ALPHA * (math.exp(z) - 1.0)),
    "gelu": lambda z: 0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0))),
    "softplus": lambda z: math.log1p(math.exp(z)),
    "swish": lambda z: z * _sigmoid(z),
    "silu": lambda z: z * _sigmoid(z),
    "hard_sigmoid": lambda z: min(max(z + 3.0, 0.0), 6.0) / 6.0,
    "sin": math.sin,
    "x * sigmoid(x)": lambda z: z * _sigmoid(z),
    "where(x > 0, x, 0.1*x)": lambda z: z if z > 0 else 0.1 * z,
    "tanh(x) + 0.1 * x**2": lambda z: math.tanh(z) + 0.1 * z * z,
}
NAMES = list(REFERENCE)
KINKS = {"relu": [0.0], "leaky_relu": [0.0], "elu": [0.0], "selu": [0.0], "hard_sigmoid": [-3, 3]}
KINKS["where(x > 0, x, 0.1*x)"] = [0.0]


def _points(name: str) -> np.ndarray:
    """-6..6 on an irregular grid, at least 1e-3 away from the activation's kinks."""
    z = np.linspace(-6.0, 6.0, 97) + 0.0123
    for kink in KINKS.get(name, []):
        z = z[np.abs(z - kink) > 1e-3]
    return z


@pytest.mark.parametrize("name", NAMES)
def test_value_matches_reference(name):
    z = _points(name)
    expected = np.array([REFERENCE[name](float(v)) for v in z])
    np.testing.assert_allclose(get_activation(name)(z), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_matches_central_differences(name):
    z = _points(name)
    h = 1e-6
    ref = REFERENCE[name]
    numeric = np.array([(ref(v + h) - ref(v - h)) / (2 * h) for v in z.tolist()])
    act = get_activation(name)
    a = act(z)
    assert_close_grad(name, act.backward(np.ones_like(z), z, a), numeric, tol=1e-7)
    dy = np.linspace(-1.0, 2.0, z.size)
    np.testing.assert_allclose(act.backward(dy, z, a), dy * numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    act = get_activation(name)
    z = np.linspace(-4, 4, 11, dtype=np.float32)
    a = act(z)
    assert a.dtype == np.float32
    assert act.backward(np.ones_like(z), z, a).dtype == np.float32


@pytest.mark.parametrize("name", ["relu", "max(x, 0)"])
def test_relu_derivative_at_zero_is_zero(name):
    act = get_activation(name)
    z = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(act.backward(np.ones(3), z, act(z)), [0.0, 0.0, 1.0])


@pytest.mark.parametrize(
    "activation", ["relu", "tanh", "gelu", "x * sigmoid(x)", "where(x > 0, x, 0.1*x)"]
)
def test_dense_gradient_with_activation(activation):
    layer = sl.Dense(4, activation=activation)
    layer.build(3, np.random.default_rng(0), np.dtype(np.float64))
    layer.params["b"][...] = np.random.default_rng(1).normal(size=4)
    x = np.random.default_rng(2).normal(size=(6, 3))
    check_layer(layer, x)


def test_callable_with_derivative_is_used():
    layer = sl.Dense(4, activation=np.tanh, derivative=lambda z: 1.0 - np.tanh(z) ** 2)
    layer.build(3, np.random.default_rng(0), np.dtype(np.float64))
    check_layer(layer, np.random.default_rng(2).normal(size=(5, 3)))
    doubled = get_activation(np.sin, derivative=lambda z: np.full_like(z, 2.0))
    z = np.array([0.3, -1.0])
    np.testing.assert_array_equal(doubled.backward(np.array([1.0, 3.0]), z, np.sin(z)), [2, 6])


def test_callable_without_derivative_uses_numeric_slope():
    def cube(z):
        return z**3 - z

    layer = sl.Dense(4, activation=cube)
    layer.build(3, np.random.default_rng(0), np.dtype(np.float64))
    check_layer(layer, np.random.default_rng(2).normal(size=(5, 3)), tol=1e-5)
    act = get_activation(cube)
    z = np.array([-2.0, 0.5, 3.0])
    np.testing.assert_allclose(act.backward(np.ones(3), z, act(z)), 3 * z**2 - 1, rtol=1e-7)


def test_callable_named_like_a_builtin_keeps_its_own_derivative():
    def relu(z):  # a user function that happens to share a built-in's name
        return np.where(z > 0, z, 0.5 * z)

    act = get_activation(relu, derivative=lambda z: np.where(z > 0, 1.0, 0.5))
    z = np.array([-2.0, 1.0])
    np.testing.assert_array_equal(act.backward(np.ones(2), z, act(z)), [0.5, 1.0])


@pytest.mark.parametrize(
    ("typo", "suggestion"), [("rleu", "relu"), ("tahn", "tanh"), ("sigmod", "sigmoid")]
)
def test_unknown_name_suggests_closest(typo, suggestion):
    with pytest.raises(sl.SigmalabError, match=f"unknown activation '{typo}'.*'{suggestion}'"):
        get_activation(typo)


@pytest.mark.parametrize(("alias", "target"), [("silu", "swish"), ("ReLU", "relu")])
def test_aliases_and_case(alias, target):
    z = np.linspace(-3, 3, 7)
    np.testing.assert_array_equal(get_activation(alias)(z), get_activation(target)(z))


def test_gelu_dependency_is_declared():
    """gelu and erf() need SciPy at run time, so a plain install must bring it."""
    import pathlib
    import tomllib

    pyproject = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert any(d.replace(" ", "").lower().startswith("scipy") for d in dependencies)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "tanh(x) + 0.1 * x**2"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_builtins_finite_for_huge_inputs(name, dtype):
    act = get_activation(name)
    z = np.array([-1000.0, -90.0, 0.0, 90.0, 1000.0], dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = act(z)
        slope = act.backward(np.ones_like(z), z, a)
    assert np.isfinite(a).all() and np.isfinite(slope).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_training_backward_is_the_textbook_mask(dtype):
    """The in-place training form, in either memory layout, equals dy * (z > 0)."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 5)).astype(dtype)
    z[0, :3] = 0.0  # exactly at the kink: no gradient, as in PyTorch
    dy = rng.normal(size=(6, 5)).astype(dtype)
    relu = sl.activations.get_activation("relu")
    for layout in (np.ascontiguousarray, np.asfortranarray):
        a = relu(layout(z), out=layout(np.empty_like(z)))
        out = relu.backward(layout(dy), layout(z), a, out=layout(np.empty_like(z)))
        np.testing.assert_array_equal(out, dy * (z > 0))
        assert out.dtype == dtype
