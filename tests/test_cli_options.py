"""The command line's options: --version, --set, and usage mistakes as one red line.

Mistakes are checked in-process with Typer's test runner (no training, no interpreter
start-up); what trains runs through a subprocess, as a user runs it.
"""

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from test_cli import RUN, assert_user_error, sigmalab
from typer.testing import CliRunner

import sigmalab as sl
from sigmalab.cli import app, print_summary
from sigmalab.config import load_run


def in_process(*args):
    """Run the CLI in this process; the result reads like a completed subprocess."""
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)


@pytest.fixture
def run_file(tmp_path):
    path = tmp_path / "xor.toml"
    path.write_text(RUN)
    return path


def test_version_prints_the_package_version():
    process = in_process("--version")
    assert process.returncode == 0, process.stderr
    assert process.stdout.strip() == f"sigmalab {sl.__version__}"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("train", "{run}", "--bogus"), ["No such option: --bogus", "sigmalab train --help"]),
        (("doctor", "{run}", "--budget", "0"), ["--budget must be >= 1", "--budget=0"]),
        (("doctor", "{run}", "--budget", "many"), ["'--budget'", "valid integer"]),
        (("trian",), ["No such command 'trian'", "Did you mean 'train'?"]),
        (("train",), ["Missing argument"]),
        (("--bogus",), ["No such option: --bogus"]),
    ],
)
def test_a_usage_mistake_is_one_red_line_with_exit_code_2(run_file, args, fragments):
    process = in_process(*(str(arg).format(run=run_file) for arg in args))
    assert_user_error(process, *fragments)
    assert "╭" not in process.stderr and "Usage:" not in process.stderr


def test_the_installed_command_prints_usage_mistakes_as_one_line(run_file):
    assert_user_error(sigmalab("train", run_file, "--bogus"), "No such option: --bogus")


def test_bare_sigmalab_still_shows_the_help():
    process = in_process()
    assert "Usage: sigmalab" in process.stdout
    assert "train" in process.stdout


@pytest.mark.parametrize("name", ["o/[red]exp1", "o/[/]", "o/[bold"])
def test_names_that_look_like_rich_markup_are_printed_as_they_are(name):
    console = Console(file=io.StringIO(), width=200)
    print_summary({"dataset": name, "test_loss": 0.5}, Path(name), console)
    text = console.file.getvalue()
    assert f"run written to {name}" in text
    assert f"│ {name}" in text


def test_train_set_varies_the_run_and_run_toml_holds_the_result(run_file, tmp_path):
    out = tmp_path / "out"
    process = sigmalab(
        "train",
        run_file,
        "--set",
        "train.epochs=3",
        "--set",
        "model.layers[0].activation=x * sigmoid(x)",
        "--set",
        "train.optimizer={name = 'sgd', lr = 0.05}",
        "--out",
        out,
        "--quiet",
    )
    assert process.returncode == 0, process.stderr
    written = load_run(out / "run.toml")
    assert written.train.epochs == 3
    assert written.model.layers[0].activation == "x * sigmoid(x)"
    assert (written.train.optimizer.name, written.train.optimizer.lr) == ("sgd", 0.05)
    assert len(list(csv.DictReader((out / "history.csv").open()))) == 3
    assert load_run(run_file).train.epochs == 4  # the run file itself is untouched


@pytest.mark.parametrize(
    ("setting", "fragments"),
    [
        ("train.optimzer.lr=0.1", ["train.optimzer", "Did you mean 'optimizer'?"]),
        ("train.epochs=0", ["train.epochs: must be >= 1 (received 0)"]),
        ("model.layers[7].units=2", ["model.layers[7]: index out of range"]),
        ("train.epochs", ["--set expects KEY=VALUE"]),
    ],
)
@pytest.mark.parametrize("verb", ["train", "doctor"])
def test_a_bad_set_is_one_red_line_naming_the_key(
    run_file, tmp_path, monkeypatch, verb, setting, fragments
):
    monkeypatch.chdir(tmp_path)
    assert_user_error(in_process(verb, run_file, "--set", setting), *fragments)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("option", "target", "fragment"),
    [
        ("--out", "folder", "--out {path} is a folder; name a file in it"),
        ("--html", "taken.txt/report.html", "taken.txt is a file, not a folder"),
    ],
)
def test_a_repair_output_that_cannot_be_written_is_refused_before_training(
    run_file, tmp_path, option, target, fragment
):
    """Found only after the retrains, such an output lost a whole repair's work."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "taken.txt").write_text("mine")
    path = tmp_path / target
    linear = "model.layers[0].activation=linear"  # a problem for repair to retrain on
    process = in_process("doctor", run_file, "--set", linear, "--repair", option, path)
    assert_user_error(process, fragment.format(path=path))
    assert process.stdout == ""  # nothing trained
    assert (tmp_path / "taken.txt").read_text() == "mine"


def test_doctor_set_diagnoses_the_varied_run(run_file):
    process = sigmalab("doctor", run_file, "--set", "model.layers[0].activation=linear", "--json")
    assert process.returncode == 1, process.stderr  # the warning remains
    kinds = {finding["kind"] for finding in json.loads(process.stdout)["findings"]}
    assert "missing_nonlinearity" in kinds
    plain = json.loads(sigmalab("doctor", run_file, "--json").stdout)["findings"]
    assert "missing_nonlinearity" not in {finding["kind"] for finding in plain}
