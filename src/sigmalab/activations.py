"""Activation functions: the sigma in sigma(w.x + b).

Each activation knows its value and its exact derivative. Built-ins are looked up
by name; any formula in ``x`` (parsed safely by :mod:`sigmalab.formula`) or any
Python callable works too, as the text promises: "any mathematical function can
serve as an activation function".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

from .backend import xp
from .errors import ShapeError, SigmalabError, unknown_name

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
LEAKY_SLOPE = 0.01

# Families tell the initialiser and the doctor how a unit behaves.
RELU = "relu"  # exactly zero below 0: units can die
RELU_LIKE = "relu_like"  # unbounded above, small below: He init, cannot die
SATURATING = "saturating"  # flat on both sides: units can saturate
LINEAR = "linear"
OTHER = "other"


class Activation:
    """An elementwise function with its derivative; ``spec`` is what gets saved."""

    def __init__(
        self,
        name: str,
        fn: Callable,
        derivative: Callable,
        family: str = OTHER,
        spec: str | None = None,
        uses_output: bool = False,
        writes_out: bool = False,
    ) -> None:
        self.name = name
        self.family = family
        self.spec = spec
        self._fn = fn
        self._derivative = derivative
        self._uses_output = uses_output
        self._writes_out = writes_out  # fn accepts out= (saves an array per training step)

    def __call__(self, z, out=None):
        """The activation's value at ``z``, written into ``out`` when the function can."""
        return self._fn(z, out=out) if self._writes_out else self._fn(z)

    def derivative(self, z, a):
        """d sigma / dz at ``z``; ``a`` = sigma(z) is passed so cheap forms can reuse it."""
        return self._derivative(a) if self._uses_output else self._derivative(z)

    def backward(self, dy, z, a, out=None):
        """The error at the pre-activation: dy * sigma'(z) (into ``out`` if given)."""
        if self.family == LINEAR:
            return dy
        if self.family == RELU:  # by family: a user callable may be named "relu"
            return xp.multiply(dy, z > 0, out=out)
        return xp.multiply(dy, self.derivative(z, a), out=out)

    def __repr__(self) -> str:
        return f"Activation({self.spec or self.name!r})"


def sigmoid(z, out=None):
    """0.5 + 0.5 tanh(z / 2), stable for any z; the same operations in place into ``out``."""
    out = xp.multiply(z, 0.5, out=out)
    xp.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


_ZEROS: dict[tuple, xp.ndarray] = {}


def _zeros_like(z):
    """Read-only zeros in z's shape and memory layout, made once per kind.

    Against such an array NumPy runs its vector loop; against a scalar or an array in
    another layout it runs a strided loop, about 3x slower on a training batch. Training
    repeats a few batch shapes, so the cache stays small; it is emptied when it grows.
    """
    key = (z.shape, z.strides, z.dtype)
    zeros = _ZEROS.get(key)
    if zeros is None:
        if len(_ZEROS) >= 64:
            _ZEROS.clear()
        order = "F" if z.flags.f_contiguous and not z.flags.c_contiguous else "C"
        zeros = xp.zeros(z.shape, z.dtype, order=order)
        zeros.flags.writeable = False
        _ZEROS[key] = zeros
    return zeros


def _relu(z, out=None):
    """max(z, 0); a training pass (with ``out``) compares against cached zeros."""
    if out is None:
        return xp.maximum(z, 0)
    return xp.maximum(z, _zeros_like(z), out=out)


def _erf(z):
    from scipy.special import erf

    return erf(z).astype(z.dtype, copy=False)


def _gelu(z):
    return 0.5 * z * (1.0 + _erf(z * (1.0 / math.sqrt(2.0))))


def _gelu_derivative(z):
    cdf = 0.5 * (1.0 + _erf(z * (1.0 / math.sqrt(2.0))))
    return cdf + z * xp.exp(-0.5 * z * z) * (1.0 / math.sqrt(2.0 * math.pi))


def _elu(z, alpha=1.0):
    return xp.where(z > 0, z, alpha * xp.expm1(xp.minimum(z, 0)))


def _swish_derivative(z):
    s = sigmoid(z)
    return s + z * s * (1.0 - s)


@cache  # an Activation holds no state: every layer with this name can share one
def _builtin(name: str) -> Activation:
    table = {
        "linear": (lambda z: z, lambda z: xp.ones_like(z), LINEAR, False),
        "sigmoid": (sigmoid, lambda a: a * (1.0 - a), SATURATING, True),
        "tanh": (xp.tanh, lambda a: 1.0 - a * a, SATURATING, True),
        "relu": (
            _relu,
            lambda z: (z > 0).astype(z.dtype),
            RELU,
            False,
        ),
        "leaky_relu": (
            lambda z: xp.where(z > 0, z, LEAKY_SLOPE * z),
            lambda z: xp.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype),
            RELU_LIKE,
            False,
        ),
        "elu": (_elu, lambda z: xp.where(z > 0, 1.0, xp.exp(xp.minimum(z, 0))), RELU_LIKE, False),
        "selu": (
            lambda z: SELU_SCALE * _elu(z, SELU_ALPHA),
            lambda z: SELU_SCALE * xp.where(z > 0, 1.0, SELU_ALPHA * xp.exp(xp.minimum(z, 0))),
            RELU_LIKE,
            False,
        ),
        "gelu": (_gelu, _gelu_derivative, RELU_LIKE, False),
        "softplus": (
            lambda z: xp.logaddexp(0, z).astype(z.dtype, copy=False),
            sigmoid,
            RELU_LIKE,
            False,
        ),
        "swish": (lambda z: z * sigmoid(z), _swish_derivative, RELU_LIKE, False),
        "hard_sigmoid": (
            lambda z: xp.clip(z * (1.0 / 6.0) + 0.5, 0.0, 1.0),
            lambda z: ((z > -3.0) & (z < 3.0)).astype(z.dtype) * (1.0 / 6.0),
            SATURATING,
            False,
        ),
        "sin": (xp.sin, xp.cos, OTHER, False),
    }
    fn, derivative, family, uses_output = table[name]
    return Activation(
        name,
        fn,
        derivative,
        family,
        spec=name,
        uses_output=uses_output,
        writes_out=name in WRITES_OUT,
    )


# Built-ins whose function takes ``out=``: Dense then reuses its output array in training.
WRITES_OUT = frozenset({"sigmoid", "tanh", "relu", "sin"})


BUILTIN_NAMES = (
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "softplus",
    "swish",
    "hard_sigmoid",
    "sin",
)
ALIASES = {"silu": "swish", "identity": "linear", "none": "linear"}


def _from_formula(text: str) -> Activation:
    from .formula import compile_formula

    formula = compile_formula(text)
    return Activation(text, formula.fn, formula.grad, OTHER, spec=text)


def _numeric_derivative(fn: Callable) -> Callable:
    """Central differences in float64, for callables given without a derivative."""

    def derivative(z):
        z64 = z.astype("float64")
        h = 1e-6 * xp.maximum(1.0, xp.abs(z64))
        slope = (
            xp.asarray(fn(z64 + h), dtype="float64") - xp.asarray(fn(z64 - h), dtype="float64")
        ) / (2 * h)
        return slope.astype(z.dtype)

    return derivative


def _elementwise(what: str, function: Callable) -> Callable:
    """``function`` checked to return an array of its input's shape, in its input's dtype.

    A user function that returns another shape (a sum, one column) would otherwise be
    broadcast by NumPy into silently wrong outputs and gradients.
    """

    def checked(z):
        try:
            result = xp.asarray(function(z), dtype=z.dtype)
        except (TypeError, ValueError) as error:
            raise SigmalabError(f"{what} must return numbers, but: {error}") from None
        if result.shape != z.shape:
            raise ShapeError(
                f"{what} must work elementwise and return an array of its input's shape "
                f"{z.shape}, received shape {result.shape}"
            )
        return result

    return checked


def _from_callable(fn: Callable, derivative: Callable | None) -> Activation:
    name = getattr(fn, "__name__", type(fn).__name__)
    value = _elementwise(f"activation {name!r}", fn)
    if derivative is None:
        grad = _numeric_derivative(fn)
    else:
        grad = _elementwise(f"the derivative of activation {name!r}", derivative)
    return Activation(name, value, grad, OTHER, spec=None)


def get_activation(
    spec: str | Callable | Activation | None, derivative: Callable | None = None
) -> Activation:
    """Resolve a name, a formula in ``x``, a callable, or None (linear) to an Activation."""
    if isinstance(spec, Activation):
        return spec
    if spec is None:
        return _builtin("linear")
    if callable(spec):
        return _from_callable(spec, derivative)
    if not isinstance(spec, str):
        raise SigmalabError(
            f"activation must be a name, a formula in x or a callable, received: {spec!r}"
        )
    if derivative is not None:
        raise SigmalabError("derivative= is only used with a callable activation")
    key = spec.strip().lower()
    key = ALIASES.get(key, key)
    if key in BUILTIN_NAMES:
        return _builtin(key)
    if spec.strip().isidentifier() and spec.strip() != "x":
        raise unknown_name(
            "activation",
            spec,
            BUILTIN_NAMES,
            also="; or write a formula in x such as 'x * sigmoid(x)'",
            hint_from=ALIASES,
        )
    return _from_formula(spec)
