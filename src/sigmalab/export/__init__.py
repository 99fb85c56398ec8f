"""Models out: a trained sigmalab model as a PyTorch module or an ONNX graph.

Both compute what ``model.predict`` computes from raw rows: preprocessing, layers in
inference mode, and probabilities for bce and cross-entropy. torch, onnx and onnxruntime
are optional extras, imported here only when an export runs, so ``import sigmalab`` stays
light.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import SigmalabError, unknown_name
from ..files import atomic_write_bytes, replaceable_mode
from .extras import MissingExtraError, require
from .network import input_columns

if TYPE_CHECKING:
    from ..model import Sequential

FORMATS = ("torch", "onnx")


def to_torch(model: Sequential) -> Any:
    """A ``torch.nn.Module`` (in eval mode) computing ``model.predict`` on raw rows."""
    require("torch")
    from .torch_module import build_module

    return build_module(model)


def to_onnx(model: Sequential) -> Any:
    """An ``onnx.ModelProto`` (opset 17): input X (raw rows), output Y (as ``predict``)."""
    require("onnx")
    from .onnx_graph import build_graph

    return build_graph(model)


def check_format(format: str, label: str = "export format") -> str:
    """``format`` if it is one of FORMATS; ``label`` names it in the error (``--format``)."""
    if format not in FORMATS:
        raise unknown_name(label, format, FORMATS)
    return format


def export_model(model: Sequential, format: str, path: str | os.PathLike) -> None:
    """Write ``model`` to ``path`` as a torch.export program (.pt2) or an ONNX file.

    The .pt2 file loads without sigmalab: ``torch.export.load(path).module()(X)``, with X
    in the model's dtype and any number of rows.
    """
    check_format(format)
    try:
        replaceable_mode(Path(path))  # a folder or a link at ``path`` is refused before the work
        data = _torch_bytes(model) if format == "torch" else to_onnx(model).SerializeToString()
        atomic_write_bytes(path, data)
    except OSError as error:
        raise SigmalabError(f"cannot write {path}: {error.strerror or error}") from None


def _torch_bytes(model: Sequential) -> bytes:
    """The module exported with a dynamic batch size, serialised by ``torch.export.save``."""
    torch = require("torch")
    module = to_torch(model)
    example = torch.zeros(2, input_columns(model), dtype=getattr(torch, model.dtype.name))
    program = torch.export.export(
        module, (example,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},)
    )
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


__all__ = ["FORMATS", "MissingExtraError", "check_format", "export_model", "to_onnx", "to_torch"]
