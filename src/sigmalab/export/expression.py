"""Elementwise expressions as a list of elementary steps, the form both exports translate.

A formula activation is a whitelisted SymPy expression (see :mod:`sigmalab.formula`); the
Playground features are small expressions in (x1, x2). Lowering either to a flat list of
steps (add, mul, sin, where, ...) lets the PyTorch module and the ONNX graph each map one
step to one operation: neither ever evaluates text, and both read the same list.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import SigmalabError

if TYPE_CHECKING:
    import sympy

# Step operations, by the number of step inputs they take.
UNARY = ("neg", "exp", "log", "sin", "cos", "tanh", "sigmoid", "abs", "sqrt", "erf")
BINARY = ("add", "sub", "mul", "div", "pow", "max", "min")
COMPARISONS = ("greater", "greater_equal", "less", "less_equal", "and")
# where(condition, if_true, if_false); "input" reads input ``value``; "constant" is ``value``.
OPERATIONS = (*UNARY, *BINARY, *COMPARISONS, "where", "input", "constant")

# SymPy function name -> unary step; sigmoid and abs are the formula parser's own classes.
_FUNCTIONS = {
    "exp": "exp",
    "log": "log",
    "sin": "sin",
    "cos": "cos",
    "tanh": "tanh",
    "erf": "erf",
    "sigmoid": "sigmoid",
    "abs": "abs",
    "Abs": "abs",
}
_RELATIONS = {
    "StrictGreaterThan": "greater",
    "GreaterThan": "greater_equal",
    "StrictLessThan": "less",
    "LessThan": "less_equal",
}


@dataclass(frozen=True)
class Step:
    """One elementary operation on earlier steps (``inputs`` are their indices)."""

    op: str
    inputs: tuple[int, ...] = ()
    value: float = 0.0  # the constant, or which input an "input" step reads


@dataclass(frozen=True)
class Program:
    """Steps in evaluation order; ``outputs`` are the indices of the results."""

    steps: tuple[Step, ...]
    outputs: tuple[int, ...]


@functools.cache
def feature_expressions() -> dict[str, Any]:
    """The Playground features (``sigmalab.data.features``) as SymPy expressions in x1, x2."""
    import sympy as sp

    x1, x2 = sp.symbols("x1 x2", real=True)
    return {
        "x1": x1,
        "x2": x2,
        "x1^2": x1**2,
        "x2^2": x2**2,
        "x1*x2": x1 * x2,
        "sin(x1)": sp.sin(x1),
        "sin(x2)": sp.sin(x2),
    }


def feature_program(names: Sequence[str]) -> Program:
    """The features ``names`` computed from inputs 0 (x1) and 1 (x2), one output each."""
    import sympy as sp

    table = feature_expressions()
    return lower([table[name] for name in names], sp.symbols("x1 x2", real=True))


def formula_program(text: str) -> Program:
    """The formula activation ``text`` (already accepted by the parser) on input 0 (x)."""
    import sympy as sp

    from ..formula import compile_formula

    x = sp.Symbol("x", real=True)  # equal to the parser's x: same name, same assumptions
    expression = compile_formula(text).expression
    if not expression.free_symbols:  # a constant activation still has the input's shape
        expression = sp.Add(expression, sp.Mul(0, x, evaluate=False), evaluate=False)
    return lower([expression], [x])


def lower(expressions: Sequence[sympy.Basic], inputs: Sequence[sympy.Symbol]) -> Program:
    """Steps computing ``expressions`` from the symbols ``inputs``; shared subterms once."""
    lowering = _Lowering(inputs)
    outputs = tuple(lowering.visit(expression) for expression in expressions)
    return Program(tuple(lowering.steps), outputs)


class _Lowering:
    """Walks SymPy trees into steps; a step already made (a repeated subterm) is reused."""

    def __init__(self, inputs: Sequence[sympy.Symbol]) -> None:
        self.steps: list[Step] = []
        self.seen: dict[Any, int] = {}
        self.inputs = {symbol: index for index, symbol in enumerate(inputs)}

    def emit(self, op: str, *inputs: int, value: float = 0.0) -> int:
        step = Step(op, tuple(inputs), float(value))
        if step not in self.seen:
            self.seen[step] = len(self.steps)
            self.steps.append(step)
        return self.seen[step]

    def constant(self, value: float) -> int:
        return self.emit("constant", value=value)

    def fold(self, op: str, indices: Sequence[int]) -> int:
        """A left fold of a binary step over n-ary SymPy arguments (Add, Mul, Max, Min)."""
        result = indices[0]
        for index in indices[1:]:
            result = self.emit(op, result, index)
        return result

    def visit(self, expr: Any) -> int:
        import sympy as sp

        if expr in self.inputs:
            return self.emit("input", value=self.inputs[expr])
        if not expr.free_symbols:
            value = float(expr)
            if not math.isfinite(value):
                raise SigmalabError(f"cannot export the constant {expr}: not a finite number")
            return self.constant(value)
        name = type(expr).__name__
        if expr.is_Add:
            return self.fold("add", [self.visit(arg) for arg in expr.args])
        if expr.is_Mul:
            return self.product(expr)
        if expr.is_Pow:
            return self.power(*expr.args)
        if name in ("Max", "Min"):
            return self.fold(name.lower(), [self.visit(arg) for arg in expr.args])
        if name in _FUNCTIONS and len(expr.args) == 1:
            return self.emit(_FUNCTIONS[name], self.visit(expr.args[0]))
        if name in _RELATIONS:
            return self.emit(_RELATIONS[name], self.visit(expr.lhs), self.visit(expr.rhs))
        if name == "And":
            return self.fold("and", [self.visit(arg) for arg in expr.args])
        if isinstance(expr, sp.Piecewise):
            return self.piecewise(expr.args)
        raise SigmalabError(f"cannot export the term {expr} ({name}): no elementary operation")

    def product(self, expr: Any) -> int:
        """Numerator times numerator, divided once by the denominator; -1 becomes a negation."""
        coefficient, factors = expr.as_coeff_mul()
        numerator, denominator = [], []
        for factor in factors:
            exponent = factor.exp if factor.is_Pow else None
            if exponent is not None and exponent.is_number and exponent < 0:
                denominator.append(self.power(factor.base, -exponent))
            else:
                numerator.append(self.visit(factor))
        if coefficient not in (1, -1):
            numerator.insert(0, self.constant(float(coefficient)))
        result = self.fold("mul", numerator) if numerator else self.constant(1.0)
        if denominator:
            result = self.emit("div", result, self.fold("mul", denominator))
        return self.emit("neg", result) if coefficient == -1 else result

    def power(self, base: Any, exponent: Any) -> int:
        """Squares as products and square roots as sqrt, as NumPy computes them."""
        from sympy import Rational

        if exponent.is_number and exponent < 0:
            return self.emit("div", self.constant(1.0), self.power(base, -exponent))
        if exponent == 2:
            lowered = self.visit(base)
            return self.emit("mul", lowered, lowered)
        if exponent == Rational(1, 2):
            return self.emit("sqrt", self.visit(base))
        return self.emit("pow", self.visit(base), self.visit(exponent))

    def piecewise(self, pieces: Sequence[Any]) -> int:
        """Nested where() from the last piece back; no piece true gives NaN, like SymPy's."""
        import sympy as sp

        result = None
        for value, condition in reversed(pieces):
            if condition == sp.true:
                result = self.visit(value)
            elif condition != sp.false:
                otherwise = self.constant(math.nan) if result is None else result
                result = self.emit("where", self.visit(condition), self.visit(value), otherwise)
        return self.constant(math.nan) if result is None else result
