"""Activation formulas: user text in ``x`` to NumPy value and exact derivative functions.

The text is parsed with :func:`ast.parse` and walked against an explicit whitelist that
builds a SymPy expression; Python never evaluates it. Size limits on the text, the tree,
constants and exponents keep hostile input such as ``9**9**9**9`` from hanging or eating
memory, and a budget on the work SymPy's min/max do (below) keeps a short formula from
taking minutes. SymPy is imported on first use so that importing this module stays cheap.
"""

from __future__ import annotations

import ast
import functools
import itertools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import SigmalabError, closest

if TYPE_CHECKING:
    import sympy

MAX_LENGTH = 500
MAX_NODES = 200
MAX_CONSTANT = 1e6
MAX_EXPONENT = 64
# Exact rationals are the one thing SymPy computes eagerly; this caps their size.
MAX_RATIONAL_BITS = 4096
# SymPy's Min/Max flatten nested calls of themselves and compare every pair of the
# arguments, each comparison a query of SymPy's assumptions, every time one is built: a
# chain min(min(min(a, b), c), d) of k arguments compares 1 + 3 + ... + k(k-1)/2 pairs.
# 84 pairs admit one chain of 8 arguments (about 0.6 s measured); the 28-term chain that
# took 21 s needs 3,654. A count of pairs, not a clock, so the verdict never depends on
# the machine.
MAX_COMPARISONS = 84

_ARITY = {
    "abs": 1,
    "cos": 1,
    "erf": 1,
    "exp": 1,
    "log": 1,
    "max": 2,
    "min": 2,
    "sigmoid": 1,
    "sin": 1,
    "sqrt": 1,
    "tanh": 1,
    "where": 3,
}
_NAMES = ("x", "pi", "e")
# One operator serves both the SymPy expression and the float64 shadow value.
_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_KINDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.Starred: "unpacking",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression",
    ast.JoinedStr: "f-string",
}
_ALLOWED = (
    f"Allowed: the variable x, the constants pi and e, numbers, the operators + - * / **, "
    f"the functions {', '.join(_ARITY)}, and comparisons < <= > >= inside where(cond, a, b)."
)


class FormulaError(SigmalabError):
    """A formula that cannot be parsed or is not in the allowed language."""


@dataclass(frozen=True)
class Formula:
    """A compiled activation formula; ``text`` is what gets saved."""

    text: str
    expression: sympy.Expr
    derivative: sympy.Expr
    fn: Callable[[np.ndarray], np.ndarray] = field(compare=False, repr=False)
    grad: Callable[[np.ndarray], np.ndarray] = field(compare=False, repr=False)


def _sigmoid(u: Any) -> Any:
    """Logistic function via exp(-|u|), which cannot overflow."""
    z = np.exp(-np.abs(u))
    return np.where(u >= 0, 1 / (1 + z), z / (1 + z))


def _heaviside(u: Any, _h0: Any = None) -> Any:
    """Step with H(0) = 0, so d max(x, 0)/dx at 0 matches ReLU'(0) = 0; SymPy's H0 is ignored."""
    return np.heaviside(u, 0.0)


def _dirac_delta(u: Any, *_: Any) -> Any:
    """Zero: a delta only lives at a kink, where the derivative convention is already chosen."""
    return np.zeros_like(u)


def _erf(u: Any) -> Any:
    """Error function from SciPy, imported only when a formula uses it."""
    from scipy.special import erf

    return erf(u)


# Names SymPy prints that need our own NumPy versions; everything else comes from NumPy.
_NUMPY = {
    "sigmoid": _sigmoid,
    "abs": np.abs,
    "sign": np.sign,  # sign(0) = 0 so abs'(0) = 0
    "Heaviside": _heaviside,
    "DiracDelta": _dirac_delta,
    "erf": _erf,
}
# The same functions evaluated on float64 scalars, to vet constant subexpressions cheaply.
_SHADOW = {
    "abs": np.abs,
    "cos": np.cos,
    "erf": _erf,
    "exp": np.exp,
    "log": np.log,
    "max": np.maximum,
    "min": np.minimum,
    "sigmoid": _sigmoid,
    "sin": np.sin,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
}


@functools.cache
def _symbolic() -> dict[str, Any]:
    """The SymPy side (symbol, functions, constants), built on first use."""
    import sympy as sp

    class sigmoid(sp.Function):  # noqa: N801 - the printed name is looked up in _NUMPY
        """Kept whole (not expanded) so NumPy evaluates it stably; s' = s (1 - s)."""

        def fdiff(self, argindex: int = 1) -> sp.Expr:
            s = sigmoid(self.args[0])
            return s * (1 - s)

        def _eval_is_real(self) -> bool | None:
            return self.args[0].is_real

        def _eval_is_positive(self) -> bool | None:
            return self.args[0].is_real

    class abs(sp.Function):  # noqa: N801 - the printed name is looked up in _NUMPY
        """Absolute value of a real function: SymPy's Abs differentiates through re/im."""

        @classmethod
        def eval(cls, arg: sp.Expr) -> sp.Expr | None:
            if arg.is_Number or arg.is_extended_nonnegative:
                return sp.Abs(arg)
            if arg.is_extended_nonpositive:
                return -arg
            if arg.could_extract_minus_sign():
                return cls(-arg)
            return None

        def fdiff(self, argindex: int = 1) -> sp.Expr:
            return sp.sign(self.args[0])

        def _eval_is_extended_real(self) -> bool | None:
            return self.args[0].is_extended_real

        def _eval_is_extended_nonnegative(self) -> bool | None:
            return self.args[0].is_extended_real

    return {
        "x": sp.Symbol("x", real=True),
        "constants": {"pi": sp.pi, "e": sp.E},
        "functions": {
            "abs": abs,
            "cos": sp.cos,
            "erf": sp.erf,
            "exp": sp.exp,
            "log": sp.log,
            "max": sp.Max,
            "min": sp.Min,
            "sigmoid": sigmoid,
            "sin": sp.sin,
            "sqrt": sp.sqrt,
            "tanh": sp.tanh,
        },
        "compare": {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge},
        "undefined": (sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I),
    }


def _op_symbol(op: ast.AST) -> str:
    """The source spelling of an operator node, for error messages."""
    a, b = ast.Name("a"), ast.Name("b")
    if isinstance(op, ast.unaryop):
        return ast.unparse(ast.UnaryOp(op, a))[:-1].strip()
    if isinstance(op, ast.cmpop):
        return ast.unparse(ast.Compare(a, [op], [b]))[2:-2]
    return ast.unparse(ast.BinOp(a, op, b))[2:-2]


class _Builder:
    """Walks a parsed formula into SymPy, with a float64 shadow value for x-free parts.

    The shadow lets constants be vetted (finite, small exponents) before SymPy is asked to
    compute them exactly; ``None`` marks a subexpression that depends on ``x``.
    """

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.sym = _symbolic()
        self.comparisons = 0  # argument pairs compared by the min/max built so far

    def error(self, message: str) -> FormulaError:
        """A FormulaError that quotes the formula."""
        return _error(self.text, message)

    def segment(self, node: ast.AST) -> str:
        """The source text of ``node``."""
        return ast.get_source_segment(self.source, node) or ast.unparse(node)

    def not_allowed(self, node: ast.AST) -> FormulaError:
        """Reject a construct outside the language, naming it."""
        kind = _KINDS.get(type(node), "expression")
        return self.error(f"{kind} {self.segment(node)!r} is not allowed. {_ALLOWED}")

    def build(self, node: ast.AST) -> tuple[Any, Any]:
        """SymPy expression and shadow value (None if it depends on x) of ``node``."""
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            result = self.unary(node)
        elif isinstance(node, ast.BinOp):
            result = self.binary(node)
        elif isinstance(node, ast.Call):
            result = self.call(node)
        elif isinstance(node, ast.Compare):
            raise self.error(
                f"comparison {self.segment(node)!r} is only allowed as the first argument "
                "of where(cond, a, b)"
            )
        else:
            raise self.not_allowed(node)
        if result[1] is not None:
            self.vet_constant(node, *result)
        return result

    def vet_constant(self, node: ast.AST, expr: Any, value: Any) -> None:
        """Reject constants that are not finite reals or whose exact value is huge."""
        if not np.isfinite(value):
            raise self.error(
                f"constant {self.segment(node)!r} evaluates to {value}, not a finite real number"
            )
        if expr.is_Rational and max(abs(expr.p), expr.q).bit_length() > MAX_RATIONAL_BITS:
            raise self.error(f"constant {self.segment(node)!r} is too large to compute exactly")

    def constant(self, node: ast.Constant) -> tuple[Any, Any]:
        """Int and float literals up to MAX_CONSTANT in magnitude."""
        value = node.value
        if type(value) not in (int, float):
            kind = "string constant" if isinstance(value, str) else "constant"
            raise self.error(f"{kind} {value!r} is not allowed; only numbers. {_ALLOWED}")
        if not abs(value) <= MAX_CONSTANT:
            raise self.error(
                f"constant {self.segment(node)!r} is too large (|constant| must be <= "
                f"{MAX_CONSTANT:g})"
            )
        import sympy as sp

        expr = sp.Integer(value) if isinstance(value, int) else sp.Float(value)
        return expr, np.float64(value)

    def name(self, node: ast.Name) -> tuple[Any, Any]:
        """The variable x or the constants pi and e (unknown names were rejected earlier)."""
        if node.id == "x":
            return self.sym["x"], None
        if node.id in _ARITY:
            raise self.error(f"{node.id!r} is a function; call it, e.g. {node.id}(x)")
        return self.sym["constants"][node.id], np.float64(getattr(np, node.id))

    def unary(self, node: ast.UnaryOp) -> tuple[Any, Any]:
        """Unary + and -."""
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise self.error(
                f"operator {_op_symbol(node.op)!r} is not allowed; allowed unary operators: - +"
            )
        expr, value = self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return expr, value
        return -expr, None if value is None else -value

    def binary(self, node: ast.BinOp) -> tuple[Any, Any]:
        """+ - * / ** with the exponent of ** limited, before SymPy computes the power."""
        op = type(node.op)
        if op not in _BINARY:
            raise self.error(
                f"operator {_op_symbol(node.op)!r} is not allowed; allowed operators: "
                f"{' '.join(_op_symbol(allowed()) for allowed in _BINARY)}"
            )
        left, left_value = self.build(node.left)
        right, right_value = self.build(node.right)
        if op is ast.Pow and right_value is not None and not abs(right_value) <= MAX_EXPONENT:
            raise self.error(
                f"exponent {self.segment(node.right)!r} is too large (|exponent| must be <= "
                f"{MAX_EXPONENT})"
            )
        value = None
        if left_value is not None and right_value is not None:
            value = _BINARY[op](left_value, right_value)
        return _BINARY[op](left, right), value

    def call(self, node: ast.Call) -> tuple[Any, Any]:
        """Calls of the whitelisted functions with the right number of arguments."""
        func = node.func
        if not isinstance(func, ast.Name):
            if type(func) in _KINDS:
                raise self.not_allowed(func)
            raise self.error(f"only named functions can be called, not {self.segment(func)!r}")
        if func.id not in _ARITY:
            raise self.error(f"{func.id!r} is not a function. {_ALLOWED}")
        if node.keywords:
            raise self.error(
                f"keyword arguments are not allowed in {self.segment(node)!r}; "
                f"pass arguments by position"
            )
        arity = _ARITY[func.id]
        if len(node.args) != arity:
            plural = "s" if arity > 1 else ""
            raise self.error(
                f"{func.id}() takes exactly {arity} argument{plural}, got {len(node.args)} "
                f"in {self.segment(node)!r}"
            )
        if func.id == "where":
            return self.where(node)
        args = [self.build(arg) for arg in node.args]
        exprs = [expr for expr, _ in args]
        values = [value for _, value in args]
        value = None if None in values else _SHADOW[func.id](*values)
        function = self.sym["functions"][func.id]
        if func.id in ("max", "min"):
            self.count_comparisons(node, function, exprs)
        return function(*exprs), value

    def count_comparisons(self, node: ast.Call, function: Any, exprs: list[Any]) -> None:
        """Add the argument pairs SymPy will compare to build ``function(*exprs)``, within
        MAX_COMPARISONS, before it does."""
        arguments = sum(len(expr.args) if expr.func == function else 1 for expr in exprs)
        self.comparisons += arguments * (arguments - 1) // 2
        if self.comparisons > MAX_COMPARISONS:
            shown = self.segment(node)
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise self.error(
                f"its min/max need {self.comparisons} argument comparisons by {shown!r}; the "
                f"limit is {MAX_COMPARISONS} (one min or max of 8 arguments), which keeps the "
                "exact derivative quick. Use fewer nested min/max terms."
            )

    def where(self, node: ast.Call) -> tuple[Any, Any]:
        """where(cond, a, b) as a SymPy Piecewise."""
        import sympy as sp

        cond, cond_value = self.condition(node.args[0])
        (a, a_value), (b, b_value) = self.build(node.args[1]), self.build(node.args[2])
        value = None
        if None not in (cond_value, a_value, b_value):
            value = a_value if cond_value else b_value
        return sp.Piecewise((a, cond), (b, True)), value

    def condition(self, node: ast.AST) -> tuple[Any, Any]:
        """A (possibly chained) comparison with < <= > >=."""
        import sympy as sp

        if not isinstance(node, ast.Compare):
            raise self.error(
                f"the first argument of where() must be a comparison such as x > 0, "
                f"not {self.segment(node)!r}"
            )
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise self.error(
                    f"comparison {_op_symbol(op)!r} is not allowed; allowed comparisons: < <= > >="
                )
        operands = [self.build(operand) for operand in [node.left, *node.comparators]]
        relations, truths = [], []
        pairs = itertools.pairwise(operands)
        for op, ((left, left_value), (right, right_value)) in zip(node.ops, pairs, strict=True):
            relations.append(self.sym["compare"][type(op)](left, right))
            if left_value is not None and right_value is not None:
                truths.append(_COMPARE[type(op)](left_value, right_value))
        value = all(truths) if len(truths) == len(relations) else None
        return sp.And(*relations), value


def _error(text: str, message: str) -> FormulaError:
    """A FormulaError that quotes (a shortened) formula."""
    shown = text if len(text) <= 60 else text[:57] + "..."
    return FormulaError(f"formula {shown!r}: {message}")


def _parse(text: str) -> tuple[str, ast.Expression]:
    """Check size and syntax; return the stripped source and its tree."""
    source = text.strip()
    if not source:
        raise _error(text, "formula is empty; write an expression in x such as 'tanh(x)'")
    if len(text) > MAX_LENGTH:
        raise _error(text, f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if "\n" in source or "\r" in source:
        raise _error(text, "formula must be a single line")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        # offset 0 means the text ended early; report the column just past the end.
        column = (exc.offset or len(source) + 1) + len(text) - len(text.lstrip())
        detail = "" if exc.msg == "invalid syntax" else f" ({exc.msg})"
        raise _error(text, f"invalid syntax at column {column}{detail}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise _error(text, f"cannot be parsed ({type(exc).__name__})") from None
    nodes = sum(isinstance(node, ast.expr) for node in ast.walk(tree))
    if nodes > MAX_NODES:
        raise _error(text, f"formula has {nodes} terms; the limit is {MAX_NODES}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in _NAMES and node.id not in _ARITY:
            hint = closest(node.id, [*_NAMES, *_ARITY])
            raise _error(text, f"name {node.id!r} is not allowed.{hint} {_ALLOWED}")
    return source, tree


def _vectorize(raw: Callable[[np.ndarray], Any]) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap a lambdified function to return a fresh array of the input's shape and dtype."""

    def apply(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float64)
        with np.errstate(all="ignore"):
            out = np.asarray(raw(x), dtype=x.dtype)
        if out.shape != x.shape:  # a constant, e.g. the derivative of 2*x
            return np.full_like(x, out)
        return out.copy() if out is x else out

    return apply


@functools.lru_cache(maxsize=256)
def compile_formula(text: str) -> Formula:
    """Parse ``text`` (a formula in x), differentiate it and build NumPy fn and grad."""
    if not isinstance(text, str):
        raise FormulaError(f"formula must be a string, received: {type(text).__name__}")
    source, tree = _parse(text)
    import sympy as sp

    with np.errstate(all="ignore"):
        expression, _ = _Builder(text, source).build(tree.body)
    sym = _symbolic()
    derivative = sp.diff(expression, sym["x"])
    for label, expr in (("value", expression), ("derivative", derivative)):
        if expr.has(*sym["undefined"]):
            raise _error(text, f"the {label} is undefined or not real: {expr}")
    modules = [_NUMPY, "numpy"]
    return Formula(
        text=text,
        expression=expression,
        derivative=derivative,
        fn=_vectorize(sp.lambdify(sym["x"], expression, modules=modules)),
        grad=_vectorize(sp.lambdify(sym["x"], derivative, modules=modules)),
    )
