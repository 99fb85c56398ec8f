"""Model files: weights in safetensors, the architecture as JSON in its metadata.

Loading never unpickles and never runs code; formula activations are stored as
their text and re-parsed by the whitelisting parser. Writes go to a temporary file
that replaces the target only when complete, so a crash never leaves half a file.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import SigmalabError

if TYPE_CHECKING:
    from .model import Sequential

CONFIG_KEY = "sigmalab_config"
FORMAT_KEY = "sigmalab_format"
FORMAT_VERSION = "1"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    target = Path(path)
    if target.is_dir():  # else the rename fails naming only the hidden temporary file
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_current_umask())  # mkstemp's 0600 would hide it from others
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _current_umask() -> int:
    """The process umask (only readable by setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _tensor_name(index: int, kind: str, name: str) -> str:
    return f"{index:03d}.{kind}.{name}"


def save_model(model: Sequential, path: str | os.PathLike) -> None:
    """Save a built model's config and weights to ``path`` (.safetensors)."""
    from safetensors.numpy import save

    model._require_built()
    config = json.dumps(model.get_config())
    tensors = {
        _tensor_name(index, layer.kind, name): np.ascontiguousarray(array)
        for index, layer in enumerate(model.layers)
        for name, array in (*layer.params.items(), *layer.state.items())
    }
    metadata = {CONFIG_KEY: config, FORMAT_KEY: FORMAT_VERSION}
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def load_model(path: str | os.PathLike) -> Sequential:
    """Load a model saved by ``save_model``; raises SigmalabError for a bad or foreign file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    from .model import Sequential

    source = Path(path)
    if not source.is_file():
        raise SigmalabError(f"model file not found: {source}")
    data = source.read_bytes()
    try:
        tensors = load(data)
        metadata = _read_metadata(data)
    except (SafetensorError, ValueError, OSError) as error:
        raise SigmalabError(f"{source} is not a valid safetensors model file: {error}") from None
    if CONFIG_KEY not in metadata:
        raise SigmalabError(f"{source} has no sigmalab config; was it saved by sigmalab?")
    version = metadata.get(FORMAT_KEY, FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise SigmalabError(
            f"{source} is in sigmalab file format {version!r}; this sigmalab reads format "
            f"{FORMAT_VERSION!r} only"
        )
    try:
        model = Sequential.from_config(json.loads(metadata[CONFIG_KEY]))
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # bad JSON, SigmalabError
        raise SigmalabError(f"{source}: broken sigmalab config: {error}") from None
    if not model.built:
        raise SigmalabError(f"{source}: the saved model was never built")
    weights = []
    for index, layer in enumerate(model.layers):
        for name in (*layer.params, *layer.state):
            key = _tensor_name(index, layer.kind, name)
            if key not in tensors:
                raise SigmalabError(f"{source}: tensor {key!r} is missing")
            weights.append(tensors[key])
    model.set_weights(weights)
    return model


def _read_metadata(data: bytes) -> dict[str, str]:
    """The safetensors header's __metadata__ (JSON; read without executing anything)."""
    if len(data) < 8:
        raise ValueError("file too short")
    header_size = int.from_bytes(data[:8], "little")
    if header_size > len(data) - 8:
        raise ValueError("header size exceeds file size")
    header = json.loads(data[8 : 8 + header_size])
    return header.get("__metadata__", {}) or {}
