"""A sigmalab model as a ``torch.nn.Module`` computing what ``model.predict`` computes.

Imported only by :func:`sigmalab.export.to_torch`, after torch is known to be installed.
The module reads raw rows: the preprocessing (Playground features, standardisation) runs
in float64 as sigmalab's does, then the layers in the model's dtype, then the output
transform (probabilities for bce and cross-entropy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..activations import LEAKY_SLOPE
from ..layers import BatchNorm, Dense
from .expression import Program, feature_program
from .network import activation_plan, check_exportable, output_transform

if TYPE_CHECKING:
    from ..model import Sequential
    from ..preprocessing import Preprocessing

_TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_STEPS = {
    "neg": torch.neg,
    "exp": torch.exp,
    "log": torch.log,
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "abs": torch.abs,
    "sqrt": torch.sqrt,
    "erf": torch.erf,
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
    "pow": torch.pow,
    "max": torch.maximum,
    "min": torch.minimum,
    "greater": torch.gt,
    "greater_equal": torch.ge,
    "less": torch.lt,
    "less_equal": torch.le,
    "and": torch.logical_and,
    "where": torch.where,
}
_BUILTINS = {
    "linear": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE),
    "elu": nn.ELU,
    "selu": nn.SELU,  # PyTorch's alpha and scale are sigmalab's SELU_ALPHA and SELU_SCALE
    "gelu": nn.GELU,  # the exact (erf) form, as sigmalab's
    "softplus": nn.Softplus,
    "swish": nn.SiLU,
    "hard_sigmoid": nn.Hardsigmoid,  # clip(x / 6 + 1/2, 0, 1)
    "sin": lambda: Sin(),
}


class Sin(nn.Module):
    """sin(x), the one built-in activation torch.nn has no module for."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """sin of each element."""
        return torch.sin(x)


class Expression(nn.Module):
    """The steps of a Program on tensors; its constants are a buffer in ``dtype``.

    ``formula`` is the text it was built from (``log(x)``), so a report can name it.
    """

    def __init__(self, program: Program, dtype: torch.dtype, formula: str = "") -> None:
        super().__init__()
        self.program = program
        self.formula = formula
        values = [step.value for step in program.steps]
        self.register_buffer("constants", torch.tensor(values, dtype=dtype))

    def run(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Every output of the program for these input tensors."""
        results: list[torch.Tensor] = []
        for index, step in enumerate(self.program.steps):
            if step.op == "input":
                results.append(inputs[int(step.value)])
            elif step.op == "constant":
                results.append(self.constants[index])
            else:
                results.append(_STEPS[step.op](*(results[i] for i in step.inputs)))
        return [results[i] for i in self.program.outputs]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The (single-output) expression applied elementwise to ``x``."""
        return self.run([x])[0]


class Preprocess(nn.Module):
    """Raw rows -> features -> standardised columns (float64) -> the model's dtype."""

    def __init__(self, preprocessing: Preprocessing | None, dtype: torch.dtype) -> None:
        super().__init__()
        self.dtype = dtype
        features = None if preprocessing is None else preprocessing.features
        self.features = None if features is None else Expression(feature_program(features), dtype)
        normalization = None if preprocessing is None else preprocessing.normalization
        self.normalize = normalization is not None
        if normalization is not None:
            self.register_buffer("mean", torch.from_numpy(normalization.mean.copy()))
            self.register_buffer("scale", torch.from_numpy(np.sqrt(normalization.variance)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network's inputs for raw rows ``x``."""
        if self.features is None and not self.normalize:
            return x.to(self.dtype)
        x = x.to(torch.float64)
        if self.features is not None:
            x = torch.stack(self.features.run([x[:, 0], x[:, 1]]), dim=1)
        if self.normalize:
            x = (x - self.mean) / self.scale
        return x.to(self.dtype)


class SigmalabNet(nn.Module):
    """preprocess -> layers -> output transform, as ``Sequential.predict``."""

    def __init__(self, preprocess: Preprocess, layers: nn.Sequential, output: nn.Module) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.layers = layers
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions for raw rows ``x`` (batch, columns)."""
        return self.output(self.layers(self.preprocess(x)))


def build_module(model: Sequential) -> SigmalabNet:
    """The model as a torch module in inference mode (BatchNorm's running statistics,
    Dropout the identity); its parameters are copies, trainable in PyTorch."""
    check_exportable(model)
    dtype = _TORCH_DTYPES[model.dtype.name]
    layers = []
    for layer in model.layers:
        if layer.kind == "dense":
            layers += [_linear(layer, dtype), _activation(layer, dtype)]
        elif layer.kind == "batchnorm":
            layers.append(_batchnorm(layer, dtype))
        else:  # dropout, the identity in eval mode
            layers.append(nn.Dropout(layer.rate))
    transform = output_transform(model)
    output = {None: nn.Identity(), "sigmoid": nn.Sigmoid(), "softmax": nn.Softmax(dim=-1)}
    net = SigmalabNet(
        Preprocess(model.preprocessing, dtype), nn.Sequential(*layers), output[transform]
    )
    return net.eval()


def _linear(layer: Dense, dtype: torch.dtype) -> nn.Linear:
    linear = nn.Linear(layer.input_dim, layer.units, bias=layer.use_bias, dtype=dtype)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))
        if layer.use_bias:
            linear.bias.copy_(torch.from_numpy(layer.params["b"].copy()))
    return linear


def _activation(layer: Dense, dtype: torch.dtype) -> nn.Module:
    plan = activation_plan(layer.activation)
    if isinstance(plan, str):
        return _BUILTINS[plan]()
    return Expression(plan, dtype, formula=layer.activation.spec or "")


def _batchnorm(layer: BatchNorm, dtype: torch.dtype) -> nn.BatchNorm1d:
    norm = nn.BatchNorm1d(layer.input_dim, eps=layer.eps, momentum=layer.momentum, dtype=dtype)
    arrays = {**layer.params, **layer.state}
    with torch.no_grad():
        norm.weight.copy_(torch.from_numpy(arrays["gamma"].copy()))
        norm.bias.copy_(torch.from_numpy(arrays["beta"].copy()))
        norm.running_mean.copy_(torch.from_numpy(arrays["running_mean"].copy()))
        norm.running_var.copy_(torch.from_numpy(arrays["running_var"].copy()))
    return norm
