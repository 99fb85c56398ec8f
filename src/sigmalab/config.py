"""Run files: one training run described in TOML, validated before anything trains.

Every key is checked up front against the engine's own registries (activations, losses,
optimizers, initialisers, dtypes, datasets), so a typo fails at once with its key path and
the allowed values instead of minutes into training. The format::

    [data]   dataset, samples, noise, test_fraction, validation_fraction, standardize, seed,
             features, target, task
    [model]  seed, dtype, layers = [{type = "dense" | "batchnorm" | "dropout", ...}, ...]
    [train]  loss, epochs, batch_size, optimizer = {name = ..., lr = ...},
             early_stopping_patience
"""

from __future__ import annotations

import copy
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .activations import get_activation
from .backend import DTYPES
from .data import available
from .data.features import FEATURES, check_feature_names
from .data.registry import check_features_apply, check_task_applies
from .errors import ArgumentError, SigmalabError, unknown_name_message
from .initializers import INIT_NAMES
from .layers import LAYER_TYPES
from .limits import MAX_SAMPLES, MAX_UNITS, Cap
from .losses import LOSSES
from .model import Sequential
from .optimizers import OPTIMIZERS
from .overrides import apply_overrides


class ConfigError(SigmalabError):
    """A run file that cannot be read or does not validate; ``problems`` lists each one."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _problem(message: str) -> PydanticCustomError:
    """A validation error whose text is used verbatim in the ConfigError."""
    return PydanticCustomError("sigmalab", "{message}", {"message": message})


def _engine_check(check: Callable[..., object], *args: Any, hint: str = "") -> None:
    """Run one of the engine's own checks; its SigmalabError becomes this key's problem."""
    try:
        check(*args)
    except SigmalabError as error:
        raise _problem(f"{error}{hint}") from None


def _build_checked(build: Callable[..., object], arguments: dict[str, Any], raw: Any) -> None:
    """Build the engine object a table describes, so each bound lives in its constructor; an
    argument it refuses becomes that key's problem (quoting the value as the file wrote it),
    any other refusal the table's."""
    try:
        build(**arguments)
    except ArgumentError as error:
        written = raw.get(error.argument, error.received) if isinstance(raw, Mapping) else None
        raise PydanticCustomError(
            "sigmalab_key",
            "{message}",
            {"key": error.argument, "message": f"{error.requirement} (received {written!r})"},
        ) from None
    except SigmalabError as error:
        raise _problem(str(error)) from None


def _within(cap: Cap) -> AfterValidator:
    """A validator admitting sizes up to ``cap``; its message says how to lift the cap."""

    def check(value: int) -> int:
        problem = cap.problem(value)
        if problem is not None:
            raise _problem(problem)
        return value

    return AfterValidator(check)


def _one_of(what: str, choices: Iterable[str]) -> AfterValidator:
    """A validator admitting only ``choices``; its message lists them and suggests the closest."""
    allowed = tuple(choices)

    def check(value: str) -> str:
        if value not in allowed:
            raise _problem(unknown_name_message(what, value, allowed))
        return value

    return AfterValidator(check)


class _Table(BaseModel):
    """A TOML table: unknown keys, silent type coercion and NaN/Inf are all rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


# ---- [data] --------------------------------------------------------------------------------
class DataConfig(_Table):
    """Which data, how much, how it is split and scaled."""

    dataset: str
    samples: Annotated[int, _within(MAX_SAMPLES)] = Field(500, ge=4)
    noise: float = Field(0.0, ge=0.0, le=1.0)
    test_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    validation_fraction: float = Field(0.0, ge=0.0, lt=1.0)
    standardize: bool = False
    seed: int = Field(0, ge=0)
    features: list[Annotated[str, _one_of("feature", FEATURES)]] | None = Field(None, min_length=1)
    target: str = "target"
    task: Literal["classification", "regression"] | None = None
    _base_dir: Path | None = PrivateAttr(None)

    def model_post_init(self, context: Any) -> None:
        """Remember the run file's folder: relative CSV paths resolve against it."""
        self._base_dir = (context or {}).get("base_dir")

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str, info: ValidationInfo) -> str:
        if value in available():
            return value
        if not value.lower().endswith(".csv"):
            raise _problem(
                unknown_name_message("dataset", value, available(), ", or a path to a .csv file")
            )
        path = _resolve(value, (info.context or {}).get("base_dir"))
        if path.is_dir():
            raise _problem(f"{path} is a folder, not a CSV file")
        if not path.is_file():
            raise _problem(f"file not found: {path}")
        return value

    @field_validator("features")
    @classmethod
    def _features_once_each(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            _engine_check(check_feature_names, value)
        return value

    @model_validator(mode="after")
    def _features_need_2d_data(self) -> DataConfig:
        hint = "; remove the features key"
        _engine_check(check_features_apply, self.dataset, self.features, hint=hint)
        return self

    @model_validator(mode="after")
    def _task_fits_dataset(self) -> DataConfig:
        _engine_check(check_task_applies, self.dataset, self.task, hint="; remove the task key")
        return self

    @property
    def source(self) -> str:
        """The built-in name, or the CSV's path resolved against the run file's folder."""
        return self.dataset if self.dataset in available() else str(self.csv_path)

    @property
    def base_dir(self) -> Path | None:
        """The run file's folder, if known: relative CSV paths resolve against it."""
        return self._base_dir

    @property
    def csv_path(self) -> Path | None:
        """The resolved CSV path, or None for a built-in dataset."""
        return None if self.dataset in available() else _resolve(self.dataset, self._base_dir)


def _resolve(path: str, base_dir: Path | None) -> Path:
    """``path`` as given if absolute, else relative to ``base_dir`` (the run file's folder)."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() or base_dir is None else base_dir / candidate


# ---- [model] -------------------------------------------------------------------------------
class _LayerTable(_Table):
    """A layer's table: the layer's own constructor checks the bounds of its values."""

    type: str

    @model_validator(mode="wrap")
    @classmethod
    def _layer_accepts(cls, data: Any, handler: Callable[[Any], _LayerTable]) -> _LayerTable:
        table = handler(data)
        _build_checked(LAYER_TYPES[table.type], table.model_dump(exclude={"type"}), data)
        return table


class DenseConfig(_LayerTable):
    """``sl.Dense``: units, activation (a name or a formula in x), init, scale, bias, L1/L2."""

    type: Literal["dense"] = "dense"
    units: Annotated[int, _within(MAX_UNITS)]
    activation: str | None = None
    init: Annotated[str, _one_of("init", INIT_NAMES)] = "auto"
    weight_scale: float = 1.0
    use_bias: bool = True
    l1: float = 0.0
    l2: float = 0.0

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, value: str | None) -> str | None:
        _engine_check(get_activation, value)
        return value


class BatchNormConfig(_LayerTable):
    """``sl.BatchNorm``: running-statistics momentum and the variance epsilon."""

    type: Literal["batchnorm"] = "batchnorm"
    momentum: float = 0.1
    eps: float = 1e-5


class DropoutConfig(_LayerTable):
    """``sl.Dropout``: the fraction of units dropped in training."""

    type: Literal["dropout"] = "dropout"
    rate: float


LayerConfig = Annotated[DenseConfig | BatchNormConfig | DropoutConfig, Field(discriminator="type")]


class ModelConfig(_Table):
    """The network: its layers in order, the seed of its weights and its float type."""

    seed: int = Field(0, ge=0)
    dtype: Annotated[str, _one_of("dtype", DTYPES)] = "float32"
    layers: list[LayerConfig] = Field(min_length=1)

    @property
    def output_layer(self) -> int:
        """Index of the last dense layer, whose units are the network's outputs."""
        return max(i for i, layer in enumerate(self.layers) if layer.type == "dense")

    @property
    def output_units(self) -> int:
        """Width of the network's output: the last dense layer's units."""
        return self.layers[self.output_layer].units

    @model_validator(mode="after")
    def _has_dense_layer(self) -> ModelConfig:
        if not any(layer.type == "dense" for layer in self.layers):
            raise _problem("needs at least one dense layer, such as {type = 'dense', units = 1}")
        return self


# ---- [train] -------------------------------------------------------------------------------
class _OptimizerConfig(_Table):
    """An optimizer's table: the optimizer's own constructor checks the bounds."""

    name: str
    lr: float
    clip_norm: float | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _optimizer_accepts(
        cls, data: Any, handler: Callable[[Any], _OptimizerConfig]
    ) -> _OptimizerConfig:
        table = handler(data)
        _build_checked(OPTIMIZERS[table.name], table.model_dump(exclude={"name"}), data)
        return table


class SGDConfig(_OptimizerConfig):
    """``sl.SGD``: plain, momentum or Nesterov gradient descent."""

    name: Literal["sgd"] = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False


class AdamConfig(_OptimizerConfig):
    """``sl.Adam``."""

    name: Literal["adam"] = "adam"
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


class RMSpropConfig(_OptimizerConfig):
    """``sl.RMSprop``."""

    name: Literal["rmsprop"] = "rmsprop"
    lr: float = 1e-2
    rho: float = 0.99
    eps: float = 1e-8


OptimizerConfig = Annotated[SGDConfig | AdamConfig | RMSpropConfig, Field(discriminator="name")]


class TrainConfig(_Table):
    """Loss, schedule and optimizer; early stopping watches the validation loss (the
    test split's when ``data.validation_fraction`` is 0)."""

    loss: Annotated[str, _one_of("loss", LOSSES)]
    epochs: int = Field(ge=1)
    batch_size: int = Field(32, ge=1)
    optimizer: OptimizerConfig
    early_stopping_patience: int | None = Field(None, ge=0)


# ---- the whole run -------------------------------------------------------------------------
class RunConfig(_Table):
    """A validated run file. Build one with ``load_run`` or ``RunConfig.from_dict``."""

    data: DataConfig
    model: ModelConfig
    train: TrainConfig

    @model_validator(mode="after")
    def _bce_has_one_output(self) -> RunConfig:
        if self.train.loss == "bce" and self.model.output_units != 1:
            raise _problem(
                f"model.layers[{self.model.output_layer}].units: loss 'bce' needs 1 output "
                f"unit (a logit), received {self.model.output_units}; set units = 1, or use "
                "loss = 'cross_entropy' with one unit per class"
            )
        return self

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], base_dir: str | os.PathLike | None = None
    ) -> RunConfig:
        """Validate a parsed run file; relative CSV paths resolve against ``base_dir``."""
        base = None if base_dir is None else Path(base_dir)
        try:
            return cls.model_validate(data, context={"base_dir": base})
        except ValidationError as error:
            problems = [_describe(problem, data) for problem in error.errors()]
            raise ConfigError("run file", problems) from None

    @property
    def base_dir(self) -> Path | None:
        """The folder relative paths resolve against (the run file's), if known."""
        return self.data.base_dir

    def to_dict(self) -> dict[str, Any]:
        """A plain, TOML-writable dict of every setting (paths as given, defaults spelled out)."""
        return self.model_dump(exclude_none=True)

    def with_changes(self, changes: Mapping[str, Any]) -> RunConfig:
        """A validated copy with ``changes`` merged in, e.g. ``{"train": {"epochs": 50}}``.

        Nested tables merge key by key; lists (such as ``model.layers``) are replaced whole.
        """
        return RunConfig.from_dict(_merge(self.to_dict(), changes), self.base_dir)


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# ---- error messages ------------------------------------------------------------------------
_BOUNDS = {
    "greater_than": (">", "gt"),
    "greater_than_equal": (">=", "ge"),
    "less_than": ("<", "lt"),
    "less_than_equal": ("<=", "le"),
}


# What the tag of each tagged table names, for "unknown layer type 'conv'".
_TAG_WORDS = {"type": "layer type", "name": "optimizer"}


def _describe(problem: dict[str, Any], data: Any) -> str:
    """One pydantic error as ``key.path[i].name: what is wrong (received ...)``."""
    loc, kind, ctx = list(problem["loc"]), problem["type"], problem.get("ctx", {})
    received = problem.get("input")
    if kind == "extra_forbidden":
        allowed = list(_unwrap(_annotation_at(loc[:-1])).model_fields)
        message = unknown_name_message("key", loc[-1], allowed)
    elif kind in _BOUNDS:
        symbol, key = _BOUNDS[kind]
        message = f"must be {symbol} {ctx[key]:g} (received {received!r})"
    elif kind == "too_short":
        message = f"must have at least {ctx['min_length']} item(s)"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = [_tag(member) for member in get_args(_unwrap(_annotation_at(loc)))]
        field = ctx["discriminator"].strip("'")
        if kind == "union_tag_not_found":
            message = f"missing required key; allowed: {', '.join(tags)}"
        else:
            message = unknown_name_message(_TAG_WORDS.get(field, field), ctx["tag"], tags)
        loc.append(field)
    elif kind == "missing":
        message = "missing required key"
    elif kind == "sigmalab":
        message = problem["msg"]
    elif kind == "sigmalab_key":
        message = problem["msg"]
        loc.append(ctx["key"])
    elif problem["msg"].startswith("Input should be"):
        message = f"must be{problem['msg'][len('Input should be') :]} (received {received!r})"
    else:
        message = problem["msg"]
    path = _key_path(loc, data)
    return f"{path}: {message}" if path else message


def _key_path(loc: list[Any], data: Any) -> str:
    """Render a pydantic location as ``model.layers[1].rate``, dropping union tags."""
    text, node = "", data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if isinstance(node, Mapping) and part not in node and part in _tags(node):
            continue  # the discriminated union's tag, e.g. 'dropout' in layers[1].dropout.rate
        text += f".{part}" if text else part
        node = node.get(part) if isinstance(node, Mapping) else None
    return text


def _tags(node: Mapping[str, Any]) -> set[Any]:
    return {node.get("type"), node.get("name")} - {None}


def _annotation_at(loc: list[Any]) -> Any:
    """The config type at a pydantic location, found by walking the config classes."""
    node: Any = RunConfig
    for part in loc:
        node = _unwrap(node)
        if isinstance(part, int):
            node = get_args(node)[0]
        elif isinstance(node, type) and issubclass(node, BaseModel):
            node = node.model_fields[part].annotation
        else:  # a discriminated union: pick the member whose tag is ``part``
            node = next(member for member in get_args(node) if _tag(member) == part)
    return node


def _tag(member: type[BaseModel]) -> str:
    """A union member's tag: the default of its ``type`` (layers) or ``name`` (optimizers)."""
    fields = member.model_fields
    return (fields.get("type") or fields["name"]).default


def _unwrap(annotation: Any) -> Any:
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


# ---- files and models ----------------------------------------------------------------------
def load_run(path: str | os.PathLike, overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """Read and validate a TOML run file; any problem raises ConfigError naming the file.

    ``overrides`` (``{"train.optimizer.lr": 0.1}``, see ``sigmalab.overrides``) replace
    single keys of the file before it is validated, so they are checked like the file.
    """
    source = Path(path)
    try:
        with source.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(str(source), ["run file not found"]) from None
    except IsADirectoryError:
        raise ConfigError(str(source), ["is a folder, not a run file"]) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(source), [f"invalid TOML: {error}"]) from None
    except UnicodeDecodeError as error:
        raise ConfigError(str(source), [f"not UTF-8 text: {error}"]) from None
    try:
        if overrides:
            data = apply_overrides(data, overrides)
        return RunConfig.from_dict(data, source.resolve().parent)
    except ConfigError as error:
        raise ConfigError(str(source), error.problems) from None
    except SigmalabError as error:  # an override that does not fit the file's structure
        raise ConfigError(str(source), [str(error)]) from None


def save_run(
    config: RunConfig, path: str | os.PathLike, folder: str | os.PathLike | None = None
) -> None:
    """Write ``config`` as a TOML run file (atomically) that reproduces the same run.

    A relative CSV path is rewritten relative to ``folder``, where the file will be read
    (by default the one it is written to), so the copy still finds the data.
    """
    import tomli_w

    from .files import atomic_write_bytes

    target = Path(path)
    data = config.to_dict()
    csv_path = config.data.csv_path
    if csv_path is not None and not Path(config.data.dataset).is_absolute():
        base = Path(folder) if folder is not None else target.parent
        data["data"]["dataset"] = Path(
            os.path.relpath(csv_path.resolve(), base.resolve())
        ).as_posix()
    atomic_write_bytes(target, tomli_w.dumps(data).encode())


def build_model(config: RunConfig) -> Sequential:
    """The compiled, not yet built ``sl.Sequential`` that ``config`` describes."""
    model = config.model
    return Sequential.from_config(
        {
            "seed": model.seed,
            "dtype": model.dtype,
            "layers": [layer.model_dump() for layer in model.layers],
            "loss": config.train.loss,
            "optimizer": config.train.optimizer.model_dump(),
        }
    )
