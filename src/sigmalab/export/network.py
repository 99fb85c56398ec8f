"""What both exports read from a model: its checks, activations and output transform."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..activations import BUILTIN_NAMES, Activation
from ..errors import SigmalabError
from .expression import Program, formula_program

if TYPE_CHECKING:
    from ..model import Sequential

# Layer kinds both exports know (Dropout exports as the identity it is at inference).
EXPORTABLE_KINDS = ("dense", "batchnorm", "dropout")
# predict's transform of the raw outputs, by loss (see Loss.transform); others: none.
OUTPUT_TRANSFORMS = {"bce": "sigmoid", "cross_entropy": "softmax"}


def check_exportable(model: Sequential) -> None:
    """A built model whose activations are names or formulas (a Python callable is opaque)."""
    from ..model import Sequential

    if not isinstance(model, Sequential):
        raise SigmalabError(f"only an sl.Sequential can be exported, received {model!r}")
    if not model.built:
        raise SigmalabError("the model is not built yet: train it or call model.build(input_dim)")
    for index, layer in enumerate(model.layers):
        if layer.kind not in EXPORTABLE_KINDS:
            raise SigmalabError(
                f"model.layers[{index}]: {layer!r} cannot be exported; exportable layers: "
                f"{', '.join(EXPORTABLE_KINDS)}"
            )
        activation = getattr(layer, "activation", None)
        if activation is not None and activation.spec is None:
            raise SigmalabError(
                f"model.layers[{index}].activation: a Python callable ({activation.name!r}) "
                "cannot be exported; use a built-in name or a formula such as 'x * sigmoid(x)'"
            )


def activation_plan(activation: Activation) -> str | Program:
    """A built-in activation's name, or the steps of a formula activation."""
    if activation.spec in BUILTIN_NAMES:
        return activation.spec
    return formula_program(activation.spec)


def output_transform(model: Sequential) -> str | None:
    """'sigmoid' or 'softmax' when predict returns probabilities, else None (raw outputs)."""
    return None if model.loss is None else OUTPUT_TRANSFORMS.get(model.loss.name)


def input_columns(model: Sequential) -> int:
    """Columns of a raw row: the preprocessing's named columns, else the network's inputs."""
    return model.input_dim if model.preprocessing is None else len(model.preprocessing.columns)
