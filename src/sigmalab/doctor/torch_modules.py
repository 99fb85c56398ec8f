"""What a PyTorch model's forward pass shows the doctor: its layers and how tensors flow.

Module registration order says nothing about execution order, and a shared ``nn.ReLU`` may
follow several ``nn.Linear`` layers, so the layers are found by following the tensors of a
forward pass: a Linear's output, passed through Dropout, BatchNorm or Identity, reaches
either an activation module (that Linear's activation) or another Linear directly (a
missing nonlinearity). A functional activation (``F.relu``) makes a new tensor that no
module produced, so it never counts as a missing one: only what is certain is reported.
Nothing here imports torch: the modules are recognised by their class names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..activations import OTHER, get_activation

# torch.nn activation classes and the sigmalab activation with the same shape.
ACTIVATIONS = {
    "ReLU": "relu",
    "LeakyReLU": "leaky_relu",
    "ELU": "elu",
    "SELU": "selu",
    "GELU": "gelu",
    "SiLU": "swish",
    "Softplus": "softplus",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Hardsigmoid": "hard_sigmoid",
}
# Output-only normalisers: no sigmalab twin, but a logit loss after them is a mistake.
OUTPUT_ACTIVATIONS = {"Softmax": "softmax", "LogSoftmax": "log_softmax"}
PASS_THROUGH = {"Dropout": "dropout", "BatchNorm1d": "batchnorm", "Identity": "identity"}
DENSE = "Linear"


def module_kind(module: object) -> str | None:
    """'dense', 'activation', 'dropout', 'batchnorm', 'identity', or None for other modules."""
    name = type(module).__name__
    if name == DENSE:
        return "dense"
    if name in ACTIVATIONS or name in OUTPUT_ACTIVATIONS:
        return "activation"
    return PASS_THROUGH.get(name)


def activation_name(module: object) -> str:
    """The sigmalab name of an activation module ('relu', 'swish', ...) or 'softmax'."""
    name = type(module).__name__
    return ACTIVATIONS.get(name) or OUTPUT_ACTIVATIONS[name]


def module_label(module: object) -> str:
    """How a finding names a module that computed an activation: sigmalab's name for a
    known activation, the formula of one exported by ``to_torch()``, else its class."""
    if module_kind(module) == "activation":
        return activation_name(module)
    formula = getattr(module, "formula", None)
    return formula if isinstance(formula, str) and formula else type(module).__name__


def activation_family(name: str | None) -> str:
    """The activation's family (activations.RELU, SATURATING, ...); OTHER when unknown."""
    if name is None or name in OUTPUT_ACTIVATIONS.values():
        return OTHER
    return get_activation(name).family


class TensorFlow:
    """Which Linear's output a tensor still is (through pass-through modules), per forward.

    Tensors are kept by reference while the forward pass lasts, so an id is never reused
    for another tensor before ``clear``.
    """

    def __init__(self) -> None:
        self._sources: dict[int, tuple[object, str]] = {}

    def clear(self) -> None:
        """Forget the last forward pass."""
        self._sources.clear()

    def add(self, tensor: object, linear_path: str) -> None:
        """``tensor`` is the output of the Linear at ``linear_path``."""
        self._sources[id(tensor)] = (tensor, linear_path)

    def source(self, tensor: object) -> str | None:
        """The path of the Linear whose output ``tensor`` is, or None."""
        entry = self._sources.get(id(tensor))
        return None if entry is None else entry[1]

    def pass_through(self, tensor_in: object, tensor_out: object) -> None:
        """A Dropout/BatchNorm/Identity output is still its input's Linear output."""
        source = self.source(tensor_in)
        if source is not None:
            self.add(tensor_out, source)

    def consume(self, tensor: object) -> None:
        """An activation's output is no Linear output (in place, it is the same object)."""
        self._sources.pop(id(tensor), None)


@dataclass
class Layer:
    """One Linear, BatchNorm or Dropout module, in the order the forward pass ran them."""

    index: int
    path: str
    kind: str
    module: object
    activation: str | None = None
    activation_path: str | None = None

    @property
    def name(self) -> str:
        """What findings call the layer: ``model.0 (relu)``, ``model.head``."""
        shown = f"model.{self.path}" if self.path else "model"
        return f"{shown} ({self.activation})" if self.activation else shown

    def describe(self) -> dict:
        """The run-context entry (see probes.describe_layers), plus the module paths."""
        entry = {"index": self.index, "kind": self.kind, "name": self.name, "path": self.path}
        if self.kind == "dense":
            entry.update(
                activation=self.activation or "linear",
                family=activation_family(self.activation) if self.activation else OTHER,
                units=self.module.out_features,
                activation_path=self.activation_path,
            )
        elif self.kind == "dropout":
            entry["rate"] = float(self.module.p)
        return entry


@dataclass
class ModuleTree:
    """What the first forward pass showed: layers, missing nonlinearities, output activation."""

    layers: list[Layer] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)  # (linear, next linear)
    output_activation: tuple[str, str] | None = None  # (path, sigmalab name)
    _by_path: dict[str, Layer] = field(default_factory=dict)

    def saw(self, path: str, kind: str, module: object) -> Layer:
        """Add a Linear/BatchNorm/Dropout module the first time the pass runs it."""
        if path not in self._by_path:
            layer = Layer(len(self.layers), path, kind, module)
            self.layers.append(layer)
            self._by_path[path] = layer
        return self._by_path[path]

    def layer(self, path: str) -> Layer:
        """The layer at module path ``path``."""
        return self._by_path[path]

    def dense(self) -> list[Layer]:
        """The Linear layers in execution order."""
        return [layer for layer in self.layers if layer.kind == "dense"]
