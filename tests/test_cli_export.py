"""``sigmalab export``: good files out, and one red error line for bad input."""

import sys

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


@pytest.mark.slow  # a process that imports torch and runs torch.export: several seconds
def test_torch_file_loads_without_sigmalab_and_matches_predict(model_file, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    model, path = model_file
    out = tmp_path / "model.pt2"
    process = sigmalab("export", path, "--format", "torch", "--out", out)
    assert process.returncode == 0, process.stderr
    for name in [name for name in sys.modules if name.split(".")[0] == "sigmalab"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing any of sigmalab now fails
    X = raw_rows(7, seed=6)  # another batch size than the export's example
    output = torch.export.load(out).module()(torch.tensor(X, dtype=torch.float32))
    monkeypatch.undo()
    assert max_difference(output.detach().numpy(), model, X) <= TOLERANCE["float32"]


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


def test_out_is_the_model_file_itself(model_file, tmp_path):
    """The export would replace the model it reads: refused, the model file left as it was."""
    copy = tmp_path / "model.safetensors"
    copy.write_bytes(model_file[1].read_bytes())
    process = sigmalab("export", copy, "--format", "onnx", "--out", tmp_path / "." / copy.name)
    assert_user_error(process, "is the model file", "another file")
    assert copy.read_bytes() == model_file[1].read_bytes()
