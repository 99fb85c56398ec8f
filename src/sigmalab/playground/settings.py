"""The page's settings: every control's value, validated, and their form in the URL.

The URL is the page's state (a link reproduces a setup: the same seed gives the same data
and the same initial weights), so it is parsed here, on the server, with the same checks
as every change made with the controls. Bad values get a message in the project's style,
``noise: must be <= 50 (received 70)``, and the caps that keep the server responsive
(layers, units, samples) are enforced here.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..activations import get_activation
from ..data.features import FEATURES
from ..data.registry import SYNTHETIC
from ..errors import SigmalabError, closest
from ..initializers import INIT_NAMES
from ..losses import LOSSES

MAX_HIDDEN_LAYERS = 6
MAX_UNITS = 8
MIN_SAMPLES, MAX_SAMPLES = 20, 2000
MAX_BATCH = 30
MAX_SEED = 2**31 - 1
MAX_SPEED = 100  # epochs per frame; 0 means as fast as the engine goes
OPTIMIZERS = ("sgd", "momentum", "adam", "rmsprop")
LOSS_CHOICES = ("auto", *LOSSES)
NEW_LAYER_UNITS = 2  # a layer added with the + button starts with 2 units, as in the Playground
# An uploaded CSV is named by its file name: letters, digits, - _ . and spaces, ending .csv.
CSV_NAME = re.compile(r"^[\w\- .]{1,80}\.csv$", re.IGNORECASE)


class SettingsError(SigmalabError):
    """Settings the page cannot use; ``problems`` lists each as ``key: what is wrong``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class LayerSettings:
    """One hidden layer: its units, activation (a name or a formula in x), BatchNorm, dropout."""

    units: int = 4
    activation: str = "tanh"
    batchnorm: bool = False
    dropout: float = 0.0


@dataclass(frozen=True)
class Settings:
    """Everything the page's controls set. Defaults are TensorFlow Playground's.

    ``noise`` and ``ratio`` (the training share) are percentages as on its sliders; ``loss``
    "auto" is the Playground's square loss (mse) for two classes and regression, and
    cross-entropy for three or more classes.
    """

    dataset: str = "circle"
    noise: int = 0
    ratio: int = 50
    batch: int = 10
    seed: int = 0
    samples: int = 500
    features: tuple[str, ...] = ("x1", "x2")
    layers: tuple[LayerSettings, ...] = (LayerSettings(4), LayerSettings(2))
    lr: float = 0.03
    optimizer: str = "sgd"
    loss: str = "auto"
    l1: float = 0.0
    l2: float = 0.0
    init: str = "uniform"
    scale: float = 1.0
    clip: float = 0.0
    standardize: bool = False
    patience: int = 0
    show_test: bool = False
    discretize: bool = False
    speed: int = 0

    @property
    def is_csv(self) -> bool:
        """Whether the data is an uploaded CSV file rather than a built-in generator."""
        return self.dataset not in SYNTHETIC

    def structure_equals(self, other: Settings) -> bool:
        """Whether ``other`` trains the same run; the learning rate and the view may differ."""
        live = ("lr", "show_test", "discretize", "speed")
        return {**to_dict(self), **dict.fromkeys(live)} == {**to_dict(other), **dict.fromkeys(live)}


# ---- parsing ------------------------------------------------------------------------------
def _bounded(
    kind: type, low: float, high: float, open_low: bool = False
) -> Callable[[str, Any], Any]:
    """A parser for an int or float within [low, high] (or (low, high] when ``open_low``)."""

    def parse(key: str, value: Any) -> Any:
        number = _number(key, value, kind)
        if (number <= low) if open_low else (number < low):
            raise SettingsError(
                [f"{key}: must be {'>' if open_low else '>='} {low:g} (received {value!r})"]
            )
        if number > high:
            raise SettingsError([f"{key}: must be <= {high:g} (received {value!r})"])
        return number

    return parse


def _number(key: str, value: Any, kind: type) -> Any:
    if isinstance(value, bool):
        raise SettingsError([f"{key}: must be a number (received {value!r})"])
    try:
        number = kind(value) if isinstance(value, str) else value
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise SettingsError([f"{key}: must be {noun} (received {value!r})"]) from None
    if kind is int and isinstance(number, float) and number.is_integer():
        number = int(number)
    if not isinstance(number, kind if kind is int else (int, float)):
        noun = "a whole number" if kind is int else "a number"
        raise SettingsError([f"{key}: must be {noun} (received {value!r})"])
    if not math.isfinite(number):
        raise SettingsError([f"{key}: must be finite (received {value!r})"])
    return kind(number)


def _boolean(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", 1):
        return True
    if value in ("false", "0", 0):
        return False
    raise SettingsError([f"{key}: must be true or false (received {value!r})"])


def _not_allowed(key: str, value: Any, allowed: tuple[str, ...], extra: str = "") -> SettingsError:
    """``loss: 'mae' is not allowed; allowed: auto, mse, bce, cross_entropy. Did you mean ...``"""
    message = f"{key}: {value!r} is not allowed; allowed: {', '.join(allowed)}{extra}"
    return SettingsError(
        [message + (f".{closest(str(value), allowed)}" if closest(str(value), allowed) else "")]
    )


def _choice(allowed: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(key: str, value: Any) -> str:
        if value not in allowed:
            raise _not_allowed(key, value, allowed)
        return value

    return parse


def _dataset(key: str, value: Any) -> str:
    if isinstance(value, str) and (value in SYNTHETIC or CSV_NAME.match(value)):
        return value
    raise _not_allowed(key, value, tuple(SYNTHETIC), ", or the name of an uploaded .csv file")


def _items(key: str, value: Any, separator: str) -> list[Any]:
    """A list from a JSON list or from its URL form, items joined by ``separator``."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        return [] if value == "" else [item.strip() for item in value.split(separator)]
    return [value]


def _features(key: str, value: Any) -> tuple[str, ...]:
    names = _items(key, value, ",")
    unknown = [name for name in names if not isinstance(name, str) or name not in FEATURES]
    if unknown:
        raise SettingsError(
            [f"{key}: {unknown[0]!r} is not allowed; allowed: {', '.join(FEATURES)}"]
        )
    if not names:
        raise SettingsError([f"{key}: pick at least one input (received none)"])
    if len(set(names)) != len(names):
        raise SettingsError([f"{key}: each input may appear once (received {names})"])
    return tuple(name for name in FEATURES if name in names)  # the page's order


def _activation(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(
            [f"{key}: must be an activation name or a formula in x (received {value!r})"]
        )
    try:
        get_activation(value)  # formulas go through the whitelisting parser, never eval
    except SigmalabError as error:
        raise SettingsError([f"{key}: {error}"]) from None
    return value.strip()


_SCALARS: dict[str, Callable[[str, Any], Any]] = {
    "dataset": _dataset,
    "noise": _bounded(int, 0, 50),
    "ratio": _bounded(int, 10, 90),
    "batch": _bounded(int, 1, MAX_BATCH),
    "seed": _bounded(int, 0, MAX_SEED),
    "samples": _bounded(int, MIN_SAMPLES, MAX_SAMPLES),
    "features": _features,
    "lr": _bounded(float, 0.0, 10.0, open_low=True),
    "optimizer": _choice(OPTIMIZERS),
    "loss": _choice(LOSS_CHOICES),
    "l1": _bounded(float, 0.0, 10.0),
    "l2": _bounded(float, 0.0, 10.0),
    "init": _choice(tuple(INIT_NAMES)),
    "scale": _bounded(float, 0.0, 100.0),
    "clip": _bounded(float, 0.0, 1e6),
    "standardize": _boolean,
    "patience": _bounded(int, 0, 100000),
    "show_test": _boolean,
    "discretize": _boolean,
    "speed": _bounded(int, 0, MAX_SPEED),
}
_LAYER_KEYS = ("layers", "activation", "batchnorm", "dropout")
KEYS = (*_SCALARS, *_LAYER_KEYS)


def from_mapping(values: Mapping[str, Any], base: Settings | None = None) -> Settings:
    """Settings from a flat mapping (the URL's keys, or the page's JSON), all checked.

    Keys not given keep ``base``'s values (the defaults when None). Every problem is
    collected before raising, so the page can show them all at once.
    """
    if not isinstance(values, Mapping):
        raise SettingsError([f"settings: must be an object of key: value (received {values!r})"])
    base = base or Settings()
    problems: list[str] = []
    unknown = [key for key in values if key not in KEYS]
    for key in unknown:
        problems.append(f"{key}: unknown setting.{closest(key, KEYS)} Allowed: {', '.join(KEYS)}")
    changes: dict[str, Any] = {}
    for key, parse in _SCALARS.items():
        if key in values:
            try:
                changes[key] = parse(key, values[key])
            except SettingsError as error:
                problems.extend(error.problems)
    try:
        changes["layers"] = _layers(values, base.layers)
    except SettingsError as error:
        problems.extend(error.problems)
    if problems:
        raise SettingsError(problems)
    return dataclasses.replace(base, **changes)


def _layers(
    values: Mapping[str, Any], base: tuple[LayerSettings, ...]
) -> tuple[LayerSettings, ...]:
    """The hidden layers from ``layers`` (units), ``activation``, ``batchnorm``, ``dropout``.

    ``activation``, ``batchnorm`` and ``dropout`` list one value per layer, or one value
    for all (the Playground's single activation); a missing one keeps ``base``'s.
    """
    if "layers" in values:
        units = [
            _bounded(int, 1, MAX_UNITS)(f"layers[{i}]", item)
            for i, item in enumerate(_items("layers", values["layers"], ","))
        ]
        if len(units) > MAX_HIDDEN_LAYERS:
            raise SettingsError(
                [f"layers: at most {MAX_HIDDEN_LAYERS} hidden layers (received {len(units)})"]
            )
    else:
        units = [layer.units for layer in base]
    columns = {}
    for key, separator, parse in (
        ("activation", ";", _activation),
        ("batchnorm", ",", _boolean),
        ("dropout", ",", _bounded(float, 0.0, 1.0)),
    ):
        if key not in values:
            old = [getattr(layer, key) for layer in base]
            filler = (
                old[-1] if old else getattr(LayerSettings(), key)
            )  # a new layer copies the last
            columns[key] = (old + [filler] * len(units))[: len(units)]
            continue
        items = _items(key, values[key], separator)
        if len(items) == 1:
            items = items * len(units)
        if len(items) != len(units) and units:
            raise SettingsError(
                [
                    f"{key}: give one value, or one per hidden layer ({len(units)}), "
                    f"received {len(items)}"
                ]
            )
        columns[key] = [parse(f"{key}[{i}]", item) for i, item in enumerate(items[: len(units)])]
    return tuple(
        LayerSettings(
            units[i], *(columns[key][i] for key in ("activation", "batchnorm", "dropout"))
        )
        for i in range(len(units))
    )


def parse_query(query: str) -> tuple[Settings, list[str]]:
    """Settings from a URL query (``?dataset=xor&layers=4,2``) and the problems found.

    A shared link with one bad value still opens: the bad keys keep their defaults and the
    page shows what was wrong.
    """
    values = dict(parse_qsl(query.lstrip("?#"), keep_blank_values=True))
    try:
        return from_mapping(values), []
    except SettingsError as error:
        bad = {problem.split(":")[0].split("[")[0] for problem in error.problems}
        good = {key: value for key, value in values.items() if key not in bad}
        if bad & set(_LAYER_KEYS):
            good = {key: value for key, value in good.items() if key not in _LAYER_KEYS}
        try:
            return from_mapping(good), error.problems
        except SettingsError as again:
            return Settings(), error.problems + again.problems


# ---- writing ------------------------------------------------------------------------------
def to_dict(settings: Settings) -> dict[str, Any]:
    """The flat JSON form the page keeps (lists per layer), which ``from_mapping`` reads back."""
    values = {key: getattr(settings, key) for key in _SCALARS}
    values["features"] = list(settings.features)
    values["layers"] = [layer.units for layer in settings.layers]
    for key in ("activation", "batchnorm", "dropout"):
        values[key] = [getattr(layer, key) for layer in settings.layers]
    return values


def to_query(settings: Settings) -> str:
    """The URL query that reproduces ``settings`` (every key written, so links outlive
    changes of the defaults)."""
    values = to_dict(settings)
    text: dict[str, str] = {}
    for key, value in values.items():
        if key in ("activation", "batchnorm", "dropout"):
            items = [_text(item) for item in value]
            text[key] = (
                items[0]
                if items and len(set(items)) == 1
                else (";" if key == "activation" else ",").join(items)
            )
        elif isinstance(value, list):
            text[key] = ",".join(_text(item) for item in value)
        else:
            text[key] = _text(value)
    return urlencode(text, safe=",;*^()")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}" if float(f"{value:g}") == value else repr(value)
    return str(value)
