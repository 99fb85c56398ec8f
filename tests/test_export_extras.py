"""The export extras stay optional: nothing heavy at import, a clear message when missing."""

import subprocess
import sys

import pytest
from test_cli import assert_user_error

import sigmalab as sl
from sigmalab.data.features import FEATURES
from sigmalab.export import MissingExtraError, to_onnx, to_torch
from sigmalab.export.expression import feature_expressions


def test_importing_sigmalab_and_its_export_loads_no_torch_or_onnx():
    script = (
        "import sys, sigmalab, sigmalab.export\n"
        "print(sorted({'torch', 'onnx', 'onnxruntime'} & set(sys.modules)))"
    )
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert process.stdout.strip() == "[]", process.stderr


@pytest.mark.parametrize(
    ("export", "package", "extra"),
    [(to_torch, "torch", "torch"), (to_onnx, "onnx", "onnx")],
)
def test_missing_package_names_the_extra(monkeypatch, export, package, extra):
    model = sl.Sequential([sl.Dense(1)]).build(2)
    monkeypatch.setitem(sys.modules, package, None)  # importing it now fails
    with pytest.raises(MissingExtraError, match=rf"pip install 'sigmalab\[{extra}\]'"):
        export(model)


def test_cli_missing_extra_is_one_error_line(tmp_path):
    path = tmp_path / "model.safetensors"
    sl.Sequential([sl.Dense(1)]).build(2).save(path)
    script = (
        "import sys; sys.modules['onnx'] = None\n"
        "from sigmalab.cli import app\n"
        f"sys.argv = ['sigmalab', 'export', {str(path)!r}, '--format', 'onnx', '--out', "
        f"{str(tmp_path / 'm.onnx')!r}]\n"
        "app()\n"
    )
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert_user_error(process, "needs the package 'onnx'", "pip install 'sigmalab[onnx]'")


def test_every_playground_feature_has_an_export_form():
    assert list(feature_expressions()) == list(FEATURES)
