"""Weight initialisers: where training starts decides whether gradients vanish or explode."""

from __future__ import annotations

import math

from .activations import RELU, RELU_LIKE, Activation
from .backend import xp
from .errors import unknown_name


def _glorot_uniform(rng, fan_in, fan_out):
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def _glorot_normal(rng, fan_in, fan_out):
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))


def _he_uniform(rng, fan_in, fan_out):
    limit = math.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def _he_normal(rng, fan_in, fan_out):
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


def _lecun_normal(rng, fan_in, fan_out):
    return rng.normal(0.0, math.sqrt(1.0 / fan_in), size=(fan_in, fan_out))


def _uniform(rng, fan_in, fan_out):
    """TensorFlow Playground's initialiser: U(-0.5, 0.5)."""
    return rng.uniform(-0.5, 0.5, size=(fan_in, fan_out))


def _zeros(rng, fan_in, fan_out):
    return xp.zeros((fan_in, fan_out))


INITIALIZERS = {
    "glorot_uniform": _glorot_uniform,
    "glorot_normal": _glorot_normal,
    "he_uniform": _he_uniform,
    "he_normal": _he_normal,
    "lecun_normal": _lecun_normal,
    "uniform": _uniform,
    "zeros": _zeros,
}
INIT_NAMES = ("auto", *INITIALIZERS)


def check_init(name: str) -> str:
    """Return ``name`` if it is a known initialiser, else raise with the allowed names."""
    if name not in INIT_NAMES:
        raise unknown_name("init", name, INIT_NAMES)
    return name


def auto_init(activation: Activation) -> str:
    """He normal for the ReLU family, LeCun normal for SELU, Glorot uniform otherwise."""
    if activation.spec == "selu":  # the built-in: a user callable may be named "selu"
        return "lecun_normal"
    if activation.family in (RELU, RELU_LIKE):
        return "he_normal"
    return "glorot_uniform"


def initial_weights(
    name: str,
    activation: Activation,
    rng: xp.random.Generator,
    fan_in: int,
    fan_out: int,
    dtype: xp.dtype,
) -> xp.ndarray:
    """Draw a (fan_in, fan_out) weight matrix; drawn in float64 so dtypes share one stream."""
    resolved = auto_init(activation) if name == "auto" else check_init(name)
    return INITIALIZERS[resolved](rng, fan_in, fan_out).astype(dtype)
