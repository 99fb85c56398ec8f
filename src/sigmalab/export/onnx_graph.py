"""A sigmalab model as an ONNX graph (opset 17) computing what ``model.predict`` computes.

Imported only by :func:`sigmalab.export.to_onnx`, after onnx is known to be installed;
the graph is built with onnx's helper API, so neither torch nor onnxruntime is needed.
Input ``X`` holds raw rows (batch, columns) in the model's dtype; output ``Y`` is what
predict returns. Preprocessing runs in double as sigmalab's does; formula activations are
their elementary steps (Mul, Erf, Where, ...), never a custom op.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .. import __version__
from ..activations import LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE
from ..layers import BatchNorm, Dense
from .expression import Program, feature_program, formula_program
from .network import activation_plan, check_exportable, input_columns, output_transform

if TYPE_CHECKING:
    from ..model import Sequential
    from ..preprocessing import Preprocessing

OPSET = 17
INPUT_NAME = "X"
OUTPUT_NAME = "Y"

_STEPS = {
    "neg": "Neg",
    "exp": "Exp",
    "log": "Log",
    "sin": "Sin",
    "cos": "Cos",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "abs": "Abs",
    "sqrt": "Sqrt",
    "erf": "Erf",
    "add": "Add",
    "sub": "Sub",
    "mul": "Mul",
    "div": "Div",
    "pow": "Pow",
    "max": "Max",
    "min": "Min",
    "greater": "Greater",
    "greater_equal": "GreaterOrEqual",
    "less": "Less",
    "less_equal": "LessOrEqual",
    "and": "And",
    "where": "Where",
}
# Built-in activations with an ONNX operator of their own (linear needs none) ...
_NATIVE = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "sin": "Sin"}
# ... and those written as formulas: Gelu needs opset 20, Softplus overflows for large x,
# and onnxruntime runs Elu, Selu, HardSigmoid and LeakyRelu in float32 only.
_AS_FORMULA = {
    "leaky_relu": f"where(x > 0, x, {LEAKY_SLOPE!r} * x)",
    "elu": "where(x > 0, x, exp(min(x, 0)) - 1)",
    "selu": f"{SELU_SCALE!r} * where(x > 0, x, {SELU_ALPHA!r} * (exp(min(x, 0)) - 1))",
    "gelu": "0.5 * x * (1 + erf(x / sqrt(2)))",
    "swish": "x * sigmoid(x)",
    "softplus": "max(x, 0) + log(1 + exp(-abs(x)))",
    "hard_sigmoid": "min(max(x / 6 + 0.5, 0), 1)",
}


class _GraphBuilder:
    """Collects nodes and initializers, naming each value after the layer that makes it."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.names: set[str] = set()

    def unique(self, name: str) -> str:
        candidate, count = name, 1
        while candidate in self.names:
            count += 1
            candidate = f"{name}_{count}"
        self.names.add(candidate)
        return candidate

    def node(self, op: str, inputs: list[str], name: str, **attributes: Any) -> str:
        """Add ``op`` on ``inputs``; return the name of its output."""
        output = self.unique(name)
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def constant(self, array: np.ndarray, name: str) -> str:
        """Add an initializer holding ``array``; return its name."""
        unique = self.unique(name)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), unique))
        return unique

    def program(self, program: Program, inputs: list[str], dtype: np.dtype, name: str) -> list[str]:
        """The steps of ``program`` on the ``inputs`` values; the names of its outputs."""
        values: list[str] = []
        for step in program.steps:
            if step.op == "input":
                values.append(inputs[int(step.value)])
            elif step.op == "constant":
                values.append(self.constant(np.array(step.value, dtype), f"{name}.constant"))
            elif step.op == "erf" and dtype == np.float64:
                values.append(self.double_erf(values[step.inputs[0]], f"{name}.erf"))
            else:
                arguments = [values[i] for i in step.inputs]
                values.append(self.node(_STEPS[step.op], arguments, f"{name}.{step.op}"))
        return [values[i] for i in program.outputs]

    def double_erf(self, value: str, name: str) -> str:
        """Erf of a double through float: onnxruntime has no double Erf kernel. The float
        result is within 1e-7 of the double one."""
        single = self.node("Cast", [value], f"{name}.float", to=TensorProto.FLOAT)
        return self.node("Cast", [self.node("Erf", [single], name)], name, to=TensorProto.DOUBLE)


def build_graph(model: Sequential) -> onnx.ModelProto:
    """The model as a checked ONNX model: input X (batch, columns), output Y."""
    check_exportable(model)
    dtype = model.dtype
    graph = _GraphBuilder()
    graph.names.add(INPUT_NAME)
    value = _preprocess(graph, model.preprocessing, dtype)
    for index, layer in enumerate(model.layers):
        name = f"layers.{index}.{layer.kind}"
        if layer.kind == "dense":
            value = _dense(graph, layer, value, name)
        elif layer.kind == "batchnorm":
            value = _batchnorm(graph, layer, value, name)
        else:  # dropout, the identity at inference
            value = graph.node("Identity", [value], name)
    transform = output_transform(model)
    if transform == "sigmoid":
        value = graph.node("Sigmoid", [value], "probabilities")
    elif transform == "softmax":
        value = graph.node("Softmax", [value], "probabilities", axis=-1)
    graph.nodes.append(helper.make_node("Identity", [value], [OUTPUT_NAME], name=OUTPUT_NAME))
    element = helper.np_dtype_to_tensor_dtype(dtype)
    columns = input_columns(model)
    onnx_graph = helper.make_graph(
        graph.nodes,
        "sigmalab",
        [helper.make_tensor_value_info(INPUT_NAME, element, ["batch", columns])],
        [helper.make_tensor_value_info(OUTPUT_NAME, element, ["batch", model.output_dim])],
        graph.initializers,
    )
    onnx_model = helper.make_model(
        onnx_graph,
        producer_name="sigmalab",
        producer_version=__version__,
        opset_imports=[helper.make_opsetid("", OPSET)],
        doc_string="Raw rows X -> predictions Y, as sigmalab's model.predict.",
    )
    onnx.checker.check_model(onnx_model, full_check=True)
    return onnx_model


def _preprocess(graph: _GraphBuilder, preprocessing: Preprocessing | None, dtype: np.dtype) -> str:
    """Features and standardisation in double, then a cast to the model's dtype."""
    if preprocessing is None or (
        preprocessing.features is None and preprocessing.normalization is None
    ):
        return INPUT_NAME
    value = graph.node("Cast", [INPUT_NAME], "preprocess.double", to=TensorProto.DOUBLE)
    if preprocessing.features is not None:
        columns = [
            graph.node(
                "Gather",
                [value, graph.constant(np.array([k]), "preprocess.index")],
                f"preprocess.x{k + 1}",
                axis=1,
            )
            for k in (0, 1)
        ]
        program = feature_program(preprocessing.features)
        features = graph.program(program, columns, np.dtype(np.float64), "preprocess.features")
        value = graph.node("Concat", features, "preprocess.features", axis=1)
    normalization = preprocessing.normalization
    if normalization is not None:
        mean = graph.constant(normalization.mean, "preprocess.mean")
        scale = graph.constant(np.sqrt(normalization.variance), "preprocess.scale")
        value = graph.node("Sub", [value, mean], "preprocess.centered")
        value = graph.node("Div", [value, scale], "preprocess.standardized")
    return graph.node(
        "Cast", [value], "preprocess.output", to=helper.np_dtype_to_tensor_dtype(dtype)
    )


def _dense(graph: _GraphBuilder, layer: Dense, value: str, name: str) -> str:
    """x W (+ b), then the activation."""
    value = graph.node(
        "MatMul", [value, graph.constant(layer.params["W"], f"{name}.W")], f"{name}.matmul"
    )
    if layer.use_bias:
        value = graph.node(
            "Add", [value, graph.constant(layer.params["b"], f"{name}.b")], f"{name}.z"
        )
    plan = activation_plan(layer.activation)
    if plan == "linear":
        return value
    if isinstance(plan, str) and plan in _NATIVE:
        return graph.node(_NATIVE[plan], [value], f"{name}.{plan}")
    if isinstance(plan, str):
        plan = formula_program(_AS_FORMULA[plan])
    return graph.program(plan, [value], layer.params["W"].dtype, f"{name}.activation")[0]


def _batchnorm(graph: _GraphBuilder, layer: BatchNorm, value: str, name: str) -> str:
    """BatchNormalization in inference mode, on the running statistics."""
    arrays = {**layer.params, **layer.state}
    inputs = [value] + [
        graph.constant(arrays[key], f"{name}.{key}")
        for key in ("gamma", "beta", "running_mean", "running_var")
    ]
    return graph.node("BatchNormalization", inputs, name, epsilon=layer.eps)
