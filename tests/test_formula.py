"""Formula activations: values, exact derivatives, dtypes, stability and safe rejection."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sigmalab
from sigmalab.formula import MAX_COMPARISONS, MAX_LENGTH, FormulaError, compile_formula

# Points away from every kink (0 and 1) in the table below.
POINTS = np.array([-2.6, -1.3, -0.55, -0.2, 0.35, 0.8, 1.45, 2.7])


def _erf(x: np.ndarray) -> np.ndarray:
    return np.array([math.erf(v) for v in x])


CASES = {
    "x * sigmoid(x)": lambda x: x / (1 + np.exp(-x)),
    "tanh(x)": np.tanh,
    "exp(-x**2)": lambda x: np.exp(-(x**2)),
    "log(1 + exp(x))": lambda x: np.log1p(np.exp(x)),
    "sin(x) + cos(x)": lambda x: np.sin(x) + np.cos(x),
    "abs(x)": np.abs,
    "max(x, 0)": lambda x: np.maximum(x, 0),
    "min(x, 1)": lambda x: np.minimum(x, 1),
    "sqrt(x**2 + 1)": lambda x: np.sqrt(x**2 + 1),
    "erf(x)": _erf,
    "where(x > 0, x, 0.1 * x)": lambda x: np.where(x > 0, x, 0.1 * x),
    "x / (1 + abs(x))": lambda x: x / (1 + np.abs(x)),
    "pi * x": lambda x: np.pi * x,
    "e ** x": np.exp,
}


@pytest.mark.parametrize("text", CASES)
def test_value_matches_numpy(text):
    np.testing.assert_allclose(compile_formula(text).fn(POINTS), CASES[text](POINTS), rtol=1e-12)


@pytest.mark.parametrize("text", CASES)
def test_grad_matches_central_difference(text):
    formula = compile_formula(text)
    h = 1e-6
    numeric = (formula.fn(POINTS + h) - formula.fn(POINTS - h)) / (2 * h)
    np.testing.assert_allclose(formula.grad(POINTS), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("text", CASES)
def test_float32_in_float32_out(text):
    formula = compile_formula(text)
    x = POINTS.astype(np.float32).reshape(2, 4)
    for out in (formula.fn(x), formula.grad(x)):
        assert out.dtype == np.float32
        assert out.shape == (2, 4)


def test_derivative_is_symbolic():
    assert str(compile_formula("x**3").derivative) == "3*x**2"


@pytest.mark.parametrize("text", ["max(x, 0)", "abs(x)"])
def test_kink_derivative_is_zero_at_zero(text):
    # ReLU'(0) = 0 is the convention; Heaviside and sign must follow it.
    assert compile_formula(text).grad(np.array([0.0]))[0] == 0.0


@pytest.mark.parametrize(
    ("text", "value", "slope"), [("1", 1.0, 0.0), ("2*x", None, 2.0), ("pi", np.pi, 0.0)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_constant_parts_broadcast(text, value, slope, dtype):
    x = np.linspace(-1, 1, 6, dtype=dtype).reshape(3, 2)
    formula = compile_formula(text)
    fn, grad = formula.fn(x), formula.grad(x)
    assert fn.shape == grad.shape == x.shape
    assert fn.dtype == grad.dtype == dtype
    np.testing.assert_allclose(grad, np.full_like(x, slope))
    if value is not None:
        np.testing.assert_allclose(fn, np.full_like(x, value), rtol=1e-6)


def test_identity_returns_a_copy():
    x = np.array([1.0, 2.0])
    out = compile_formula("x").fn(x)
    out[0] = 5.0
    assert x[0] == 1.0


@pytest.mark.parametrize(
    ("text", "values", "grads"),
    [
        ("sigmoid(x)", [0.0, 1.0], [0.0, 0.0]),
        ("x * sigmoid(x)", [0.0, 1000.0], [0.0, 1.0]),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_large_inputs(text, values, grads, dtype):
    formula = compile_formula(text)
    x = np.array([-1000.0, 1000.0], dtype=dtype)
    np.testing.assert_allclose(formula.fn(x), values)
    np.testing.assert_allclose(formula.grad(x), grads)


def test_cached_and_text_kept():
    assert compile_formula(" tanh(x) ") is compile_formula(" tanh(x) ")
    assert compile_formula(" tanh(x) ").text == " tanh(x) "


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("__import__('os').system('echo hi')", ["name '__import__' is not allowed", "tanh"]),
        ("x.__class__", ["attribute access 'x.__class__' is not allowed"]),
        ("open('f')", ["name 'open' is not allowed", "sigmoid"]),
        ("y + 1", ["name 'y' is not allowed", "the variable x"]),
        ("lambda: 1", ["lambda 'lambda: 1' is not allowed"]),
        ('"a"', ["string constant 'a' is not allowed"]),
        ("x[0]", ["subscript 'x[0]' is not allowed"]),
        ("tanhh(x)", ["name 'tanhh' is not allowed", "Did you mean 'tanh'?"]),
        ("x +", ["invalid syntax at column 4"]),
        ("", ["empty"]),
        ("x == 1", ["only allowed as the first argument of where"]),
        ("x // 2", ["operator '//' is not allowed; allowed operators: + - * / **"]),
        ("max(x)", ["max() takes exactly 2 arguments, got 1"]),
        ("where(x, 1, 0)", ["must be a comparison"]),
        ("max(x, y=0)", ["keyword arguments are not allowed"]),
        ("x ** 100", ["exponent '100' is too large"]),
        ("1e9 * x", ["constant '1e9' is too large"]),
        ("log(-1) * x", ["constant 'log(-1)'", "not a finite real number"]),
        ("x / 0", ["undefined"]),
    ],
)
def test_rejections_name_the_problem(text, expected):
    with pytest.raises(FormulaError) as info:
        compile_formula(text)
    for fragment in expected:
        assert fragment in str(info.value)


def test_formula_error_is_a_value_error():
    assert issubclass(FormulaError, ValueError)


def test_too_long_text_is_rejected():
    with pytest.raises(FormulaError, match="characters long"):
        compile_formula("+".join(["x"] * MAX_LENGTH))


@pytest.mark.parametrize("text", ["x ** 10**10**10", "9**9**9**9", "((1/3)**64)**64"])
def test_huge_powers_are_rejected_quickly(text):
    start = time.perf_counter()
    with pytest.raises(FormulaError, match="too large"):
        compile_formula(text)
    assert time.perf_counter() - start < 2.0


def test_rejection_runs_nothing(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    for text in ["open('created.txt', 'w')", "print('ran')", "__import__('os').system('echo ran')"]:
        with pytest.raises(FormulaError):
            compile_formula(text)
    assert not (tmp_path / "created.txt").exists()
    assert "ran" not in capfd.readouterr().out


def test_import_does_not_load_sympy():
    src = str(Path(sigmalab.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    code = "import sys, sigmalab.formula; print('sympy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.stdout.strip() == "False", result.stderr


def _nested(function: str, terms: list[str]) -> str:
    text = terms[0]
    for term in terms[1:]:
        text = f"{function}({text}, {term})"
    return text


def test_min_max_work_is_bounded_by_a_count_not_only_by_length():
    """28 nested min of sin(x + k): 430 characters, within the length and node limits, took
    21 s in SymPy before; the count of argument comparisons rejects it at once."""
    text = _nested("min", [f"sin(x+{k})" for k in range(28)])
    assert len(text) < MAX_LENGTH
    start = time.perf_counter()
    with pytest.raises(FormulaError, match="min/max need 120 argument comparisons") as caught:
        compile_formula(text)
    assert time.perf_counter() - start < 5.0
    assert f"the limit is {MAX_COMPARISONS} (one min or max of 8 arguments)" in str(caught.value)


def test_the_comparison_count_follows_sympys_flattening():
    eight = _nested("max", [f"x*{k}" for k in range(1, 9)])
    assert compile_formula(eight).fn(np.array([2.0]))[0] == 16.0
    with pytest.raises(FormulaError, match="min/max need 120"):
        compile_formula(_nested("max", [f"x*{k}" for k in range(1, 10)]))
    # 1*min(...) is min(...) to SymPy, so it flattens into the outer min like a nested call
    disguised = _nested("min", [f"sin(x+{k})" for k in range(8)])
    with pytest.raises(FormulaError, match="min/max need 120"):
        compile_formula(f"min(1*{disguised}, sin(x+9))")
