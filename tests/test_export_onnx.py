"""The ONNX export, run by onnxruntime, computes what model.predict computes."""

import sys

import numpy as np
import pytest
from export_cases import (
    ACTIVATIONS,
    DTYPES,
    LABELS,
    TOLERANCE,
    max_difference,
    playground_model,
    raw_rows,
    real_model,
)

import sigmalab as sl
from sigmalab.export import export_model

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")


def session(model_proto):
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(
        model_proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def run_onnx(model, X):
    return session(model.to_onnx()).run(["Y"], {"X": X.astype(model.dtype)})[0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_matches_predict(activation, dtype):
    model = playground_model(activation, dtype)
    X = raw_rows(50, seed=1)
    assert max_difference(run_onnx(model, X), model, X) <= TOLERANCE[dtype]


@pytest.mark.parametrize("loss", sorted(LABELS))
def test_outputs_match_predict_for_each_loss(loss):
    model = playground_model("relu", "float32", loss)
    X = raw_rows(30, seed=2)
    assert max_difference(run_onnx(model, X), model, X) <= TOLERANCE["float32"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_real_data_matches_predict(dtype):
    model, X = real_model(dtype)
    assert max_difference(run_onnx(model, X), model, X) <= TOLERANCE[dtype]


def test_graph_is_standard_opset_17_with_formulas_as_elementary_ops():
    model = playground_model("where(x > 0, x, 0.1 * x)", "float32", "bce")
    proto = model.to_onnx()
    onnx.checker.check_model(proto, full_check=True)
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
    ops = {node.op_type for node in proto.graph.node}
    assert {"Where", "Greater", "Mul", "Sin", "Sub", "Div", "BatchNormalization"} <= ops
    assert "Sigmoid" in ops  # bce: probabilities
    assert all(node.domain == "" for node in proto.graph.node)


def test_any_batch_size(tmp_path):
    model = playground_model("gelu", "float32", "cross_entropy")
    path = tmp_path / "model.onnx"
    export_model(model, "onnx", path)
    loaded = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for rows in (1, 5, 200):
        X = raw_rows(rows, seed=rows)
        output = loaded.run(["Y"], {"X": X.astype(np.float32)})[0]
        assert max_difference(output, model, X) <= TOLERANCE["float32"]


def test_onnx_export_works_without_torch(monkeypatch):
    model = playground_model("swish", "float32")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now fails
    X = raw_rows(10)
    assert max_difference(run_onnx(model, X), model, X) <= TOLERANCE["float32"]


def test_unknown_format_is_refused(tmp_path):
    model = sl.Sequential([sl.Dense(1)]).build(2)
    with pytest.raises(sl.SigmalabError, match="unknown export format 'tflite'.*torch, onnx"):
        export_model(model, "tflite", tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_a_layer_without_export_form_is_named():
    class Square(sl.Layer):
        kind = "square"

        def forward(self, x, training=False):
            return x * x

    model = sl.Sequential([sl.Dense(2), Square(), sl.Dense(1)]).build(2)
    with pytest.raises(sl.SigmalabError, match=r"model.layers\[1\].*dense, batchnorm, dropout"):
        model.to_onnx()
