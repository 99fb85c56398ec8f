"""``sigmalab export``: good files out, and one red error line for bad input."""

import pytest
from export_cases import TOLERANCE, max_difference, playground_model, raw_rows
from test_cli import assert_user_error, sigmalab

ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A trained model saved to a file; yields (model, path)."""
    model = playground_model("tanh", "float32", "bce")
    path = tmp_path_factory.mktemp("export") / "model.safetensors"
    model.save(path)
    return model, path


def test_onnx_file_matches_predict(model_file, tmp_path):
    model, path = model_file
    out = tmp_path / "model.onnx"
    process = sigmalab("export", path, "--format", "onnx", "--out", out)
    assert process.returncode == 0, process.stderr
    assert f"wrote {out}" in process.stdout
    X = raw_rows(40, seed=5)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    output = session.run(["Y"], {"X": X.astype("float32")})[0]
    assert max_difference(output, model, X) <= TOLERANCE["float32"]


def test_missing_model_file(tmp_path):
    missing = tmp_path / "none.safetensors"
    process = sigmalab("export", missing, "--format", "onnx", "--out", tmp_path / "m.onnx")
    assert_user_error(process, "model file not found", str(missing))


def test_unknown_format(model_file, tmp_path):
    process = sigmalab("export", model_file[1], "--format", "tflite", "--out", tmp_path / "m")
    assert_user_error(process, "unknown --format 'tflite'", "Allowed: torch, onnx")
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("format", ["onnx", "torch"])
def test_unwritable_out(model_file, tmp_path, format):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = blocker / "model.out"
    process = sigmalab("export", model_file[1], "--format", format, "--out", out)
    assert_user_error(process, f"cannot write {out}", "Not a directory")
    assert blocker.read_text() == "not a folder"


def test_out_is_a_folder(model_file, tmp_path):
    process = sigmalab("export", model_file[1], "--format", "onnx", "--out", tmp_path)
    assert_user_error(process, "cannot write", "folder")
    assert tmp_path.is_dir()
