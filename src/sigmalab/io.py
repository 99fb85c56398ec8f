"""Model files: weights in safetensors, the architecture as JSON in its metadata.

Loading never unpickles and never runs code; formula activations are stored as
their text and re-parsed by the whitelisting parser. Writes go to a temporary file
that replaces the target only when complete, so a crash never leaves half a file.

Format 2 adds the model's preprocessing (its config, and the normalization's mean and
variance as float64 tensors) and class names; format 1 files, which have neither, load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import SigmalabError
from .files import atomic_write_bytes
from .validation import check_int

if TYPE_CHECKING:
    from .model import Sequential

CONFIG_KEY = "sigmalab_config"
FORMAT_KEY = "sigmalab_format"
FORMAT_VERSION = "2"
READABLE_VERSIONS = ("1", "2")
PREPROCESSING_PREFIX = "preprocessing."
SAFETENSORS_DTYPES = {"float32": "F32", "float64": "F64"}


def save_model(model: Sequential, path: str | os.PathLike) -> None:
    """Save a built model's config and weights to ``path`` (.safetensors)."""
    from safetensors.numpy import save

    _check_path(path)
    tensors = {key: np.ascontiguousarray(array) for key, array in model.named_weights().items()}
    config = json.dumps(model.get_config())
    if model.preprocessing is not None:
        for name, array in model.preprocessing.state.items():
            tensors[PREPROCESSING_PREFIX + name] = np.ascontiguousarray(array)
    metadata = {CONFIG_KEY: config, FORMAT_KEY: FORMAT_VERSION}
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def load_model(path: str | os.PathLike) -> Sequential:
    """Load a model saved by ``save_model``; raises SigmalabError for a bad or foreign file.

    Only the safetensors header is read until the config checks out: the tensors it
    declares must have exactly the shapes and dtype the config implies, and the model must
    be within the size caps, before any weight is allocated. (A tampered file of a few
    bytes could otherwise declare a model of gigabytes.)
    """
    from safetensors import SafetensorError, safe_open

    source = Path(_check_path(path))
    if source.is_dir():
        raise SigmalabError(f"{source} is a folder, not a model file")
    if not source.is_file():
        raise SigmalabError(f"model file not found: {source}")
    try:
        with safe_open(source, framework="numpy") as archive:
            metadata = archive.metadata() or {}
            slices = {key: archive.get_slice(key) for key in archive.keys()}  # noqa: SIM118
            declared = {
                key: (tuple(part.get_shape()), part.get_dtype()) for key, part in slices.items()
            }
            model, input_dim = _model_from_metadata(source, metadata)
            keys = _check_declared(source, model, input_dim, declared)
            _build(source, model, input_dim)
            state_keys = _check_preprocessing(source, model, declared)
            _refuse_unused(source, declared, [*keys, *state_keys.values()])
            weights = [archive.get_tensor(key) for key in keys]
            state = {name: archive.get_tensor(key) for name, key in state_keys.items()}
    except (SafetensorError, OSError) as error:
        raise SigmalabError(f"{source} is not a valid safetensors model file: {error}") from None
    model.set_weights(weights)
    if model.preprocessing is not None:
        try:
            model.preprocessing.set_state(state)
        except SigmalabError as error:
            raise SigmalabError(f"{source}: {error}") from None
    return model


def _check_path(path: object) -> str | os.PathLike:
    """``path`` itself, once it is a file path (a None or a number is not one)."""
    if not isinstance(path, str | os.PathLike):
        raise SigmalabError(
            f"path must be a file path such as 'model.safetensors', received: {path!r}"
        )
    return path


def _model_from_metadata(source: Path, metadata: dict[str, str]) -> tuple[Sequential, int]:
    """The unbuilt model the file's sigmalab config describes, and its input width."""
    from .model import Sequential

    if CONFIG_KEY not in metadata:
        raise SigmalabError(f"{source} has no sigmalab config; was it saved by sigmalab?")
    version = metadata.get(FORMAT_KEY, FORMAT_VERSION)
    if version not in READABLE_VERSIONS:
        raise SigmalabError(
            f"{source} is in sigmalab file format {version!r}; this sigmalab reads formats "
            f"{', '.join(map(repr, READABLE_VERSIONS))}: a newer sigmalab wrote it, so upgrade"
        )
    try:
        config = json.loads(metadata[CONFIG_KEY])
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            received = repr(config)[:80]
            raise SigmalabError(f"expected a JSON object with a list of layers, not {received}")
        input_dim = config.get("input_dim")
        model = Sequential.from_config({**config, "input_dim": None})
    except RecursionError:
        raise SigmalabError(f"{source}: broken sigmalab config: nested too deeply") from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # bad JSON, SigmalabError
        raise SigmalabError(f"{source}: broken sigmalab config: {error}") from None
    if input_dim is None:
        raise SigmalabError(f"{source}: the saved model was never built")
    try:
        return model, check_int("input_dim", input_dim)
    except SigmalabError as error:
        raise SigmalabError(f"{source}: broken sigmalab config: {error}") from None


def _build(source: Path, model: Sequential, input_dim: int) -> None:
    """Build the model; a config whose parts do not fit together (its preprocessing's width,
    its class names and outputs) is a broken config."""
    try:
        model.build(input_dim)
    except SigmalabError as error:
        raise SigmalabError(f"{source}: broken sigmalab config: {error}") from None


def _check_declared(
    source: Path, model: Sequential, input_dim: int, declared: dict[str, tuple[tuple, str]]
) -> list[str]:
    """The tensor names to load, in ``set_weights`` order, once every one is declared with
    the shape and dtype the config implies."""
    dtype = SAFETENSORS_DTYPES[model.dtype.name]
    keys = []
    for key, _, _, shape in model.weight_shapes(input_dim):
        _check_tensor(source, declared, key, shape, dtype)
        keys.append(key)
    return keys


def _check_preprocessing(
    source: Path, model: Sequential, declared: dict[str, tuple[tuple, str]]
) -> dict[str, str]:
    """Tensor name by preprocessing state name (float64, one value per column), once each is
    declared so."""
    state = {} if model.preprocessing is None else model.preprocessing.state
    keys = {}
    for name, placeholder in state.items():
        key = PREPROCESSING_PREFIX + name
        _check_tensor(source, declared, key, placeholder.shape, SAFETENSORS_DTYPES["float64"])
        keys[name] = key
    return keys


def _refuse_unused(source: Path, declared: dict[str, tuple[tuple, str]], used: list[str]) -> None:
    """A tensor the config has no place for means the config was changed after saving
    (a layer dropped, a bias switched off): loading the rest would predict with another
    model than the one trained."""
    unused = sorted(set(declared) - set(used))
    if unused:
        raise SigmalabError(
            f"{source}: tensor(s) {', '.join(map(repr, unused))} are not part of the model "
            f"its config describes ({len(used)} tensor(s)): the config and the weights do "
            "not match, so the file was edited or damaged"
        )


def _check_tensor(
    source: Path, declared: dict[str, tuple[tuple, str]], key: str, shape: tuple, dtype: str
) -> None:
    if key not in declared:
        raise SigmalabError(f"{source}: tensor {key!r} is missing")
    if declared[key] != (shape, dtype):
        raise SigmalabError(
            f"{source}: tensor {key!r} is {declared[key][1]} of shape {declared[key][0]}, "
            f"but the config needs {dtype} of shape {shape}"
        )
