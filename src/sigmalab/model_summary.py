"""``model.summary()``: the layer table Keras users know, drawn with rich.

One row per layer (name and type, output shape, parameter count), then the totals split
into trainable parameters and saved state (BatchNorm's running statistics), with their
size in memory, as Keras prints them.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Sequential


def summary_text(model: Sequential) -> str:
    """The summary table of ``model`` as text (built or not)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    title = f"Model: Sequential ({model.dtype.name}, seed {model.seed})"
    table = Table(box=box.HEAVY_HEAD, title=Text(title), title_justify="left")
    table.add_column("Layer (type)")
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    for name, layer in zip(model.layer_names(), model.layers, strict=True):
        kind = type(layer).__name__
        if hasattr(layer, "activation"):
            kind += f", {layer.activation.spec or layer.activation.name}"
        width = layer.output_dim if layer.built else getattr(layer, "units", "?")
        count = _count(layer.params) + _count(layer.state) if layer.built else "?"
        table.add_row(Text(f"{name} ({kind})"), f"(None, {width})", _thousands(count))
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, color_system=None, highlight=False)
    console.print(table)
    if not model.built:
        console.print(" Parameters: ? (unbuilt: call model.build(input_dim) or fit)")
        return _trimmed(buffer.getvalue())
    trainable = sum(_count(layer.params) for layer in model.layers)
    state = sum(_count(layer.state) for layer in model.layers)
    size = model.dtype.itemsize
    for label, count in (
        ("Total", trainable + state),
        ("Trainable", trainable),
        ("Non-trainable", state),
    ):
        console.print(f" {label} params: {count:,} ({_bytes(count * size)})")
    return _trimmed(buffer.getvalue())


def _trimmed(text: str) -> str:
    """Without the spaces rich pads lines with."""
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def _count(arrays: dict) -> int:
    return sum(int(array.size) for array in arrays.values())


def _thousands(count: int | str) -> str:
    return f"{count:,}" if isinstance(count, int) else count


def _bytes(size: float) -> str:
    """``35.04 KB`` as Keras writes sizes (powers of 1024)."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            break
        size /= 1024
    return f"{size:.2f} {unit}"
