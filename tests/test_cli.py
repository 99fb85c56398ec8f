"""The command line end to end, through a subprocess as a user runs it."""

import csv
import json
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import sigmalab as sl
from sigmalab.config import load_run
from sigmalab.runner import RUN_FILE, load_data, predict_csv, train_run

RUN = """\
[data]
dataset = "xor"
samples = 60
noise = 0.1
standardize = true

[model]
layers = [{type = "dense", units = 6, activation = "relu"}, {type = "dense", units = 1}]

[train]
loss = "bce"
epochs = 4
batch_size = 10
optimizer = {name = "adam", lr = 0.01}
"""


def sigmalab(*args, cwd=None):
    """Run ``python -m sigmalab ARGS`` and return the completed process."""
    return subprocess.run(
        [sys.executable, "-m", "sigmalab", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def assert_user_error(process, *fragments):
    """Exit code 2 and exactly one ``error:`` line on stderr, naming each fragment."""
    assert process.returncode == 2, process.stderr
    assert "Traceback" not in process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), process.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run file trained once by ``sigmalab train``; yields (run file, output folder)."""
    folder = tmp_path_factory.mktemp("cli")
    run = folder / "xor.toml"
    run.write_text(RUN)
    process = sigmalab("train", run, "--out", folder / "out", "--quiet")
    assert process.returncode == 0, process.stderr
    return run, folder / "out"


def test_train_writes_all_five_files(trained):
    _, out = trained
    names = {"model.safetensors", RUN_FILE, "history.csv", "summary.json", "report.png"}
    assert names <= {path.name for path in out.iterdir()}
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [path for path in out.iterdir() if path.name.endswith(".tmp")]


def test_summary_holds_metrics_that_match_the_saved_model(trained):
    run, out = trained
    summary = json.loads((out / "summary.json").read_text())
    for key in ("train_loss", "test_loss", "train_accuracy", "test_accuracy", "seconds"):
        assert np.isfinite(summary[key]), key
    assert summary["epochs"] == 4 and summary["task"] == "classification"
    assert summary["samples_train"] + summary["samples_test"] == 60
    model = sl.load(out / "model.safetensors")
    dataset = load_data(load_run(run))[0]  # raw rows: the model standardises them
    metrics = model.evaluate(dataset.X_test, dataset.y_test)
    assert metrics["accuracy"] == pytest.approx(summary["test_accuracy"])
    assert metrics["loss"] == pytest.approx(summary["test_loss"], rel=1e-5)


def test_history_has_one_row_per_epoch_with_every_metric(trained):
    _, out = trained
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2", "3", "4"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(0.0 <= float(row["val_accuracy"]) <= 1.0 for row in rows)


def test_the_run_file_copy_reproduces_the_run(trained):
    run, out = trained
    assert load_run(out / RUN_FILE).to_dict() == load_run(run).to_dict()


def test_predict_applies_the_training_standardisation(trained, tmp_path):
    run, out = trained
    raw = load_data(load_run(run))[0]
    table = tmp_path / "points.csv"
    rows = np.column_stack([raw.X_test, raw.y_test])
    table.write_text(
        "x1,x2,target\n" + "\n".join(f"{float(a)!r},{float(b)!r},{int(c)}" for a, b, c in rows)
    )
    process = sigmalab("predict", out / "model.safetensors", table, "--out", tmp_path / "p.csv")
    assert process.returncode == 0, process.stderr
    predictions = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(predictions[0]) == ["probability_0", "probability_1", "label"]
    assert len(predictions) == len(raw.y_test)
    summary = json.loads((out / "summary.json").read_text())
    expected = sl.load(out / "model.safetensors").predict(raw.X_test)[:, 0]
    got = np.array([float(row["probability_1"]) for row in predictions])
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    labels = np.array([int(row["label"]) for row in predictions])
    assert np.mean(labels == raw.y_test) == pytest.approx(summary["test_accuracy"])


def test_predict_names_the_bad_cell(trained, tmp_path):
    _, out = trained
    table = tmp_path / "bad.csv"
    table.write_text("x1,x2\n0.5,1.0\n0.1,oops\n")
    process = sigmalab("predict", out / "model.safetensors", table)
    assert_user_error(process, "bad.csv", "line 3", "'x2'", "'oops'")


def test_an_output_that_is_an_input_is_refused_before_any_work(trained, tmp_path):
    """predict --out on its CSV or model, doctor --html on its run file or on --out: each
    would replace a file the command reads or writes; the files stay as they were."""
    run, out = trained
    table = tmp_path / "points.csv"
    table.write_text("x1,x2\n0.5,1.0\n")
    model = out / "model.safetensors"
    model_bytes = model.read_bytes()
    process = sigmalab("predict", model, table, "--out", table)
    assert_user_error(process, f"--out {table} is the CSV file", "another file")
    process = sigmalab("predict", model, table, "--out", model)
    assert_user_error(process, "is the model file")
    assert table.read_text() == "x1,x2\n0.5,1.0\n" and model.read_bytes() == model_bytes
    run_text = run.read_text()
    process = sigmalab("doctor", run, "--repair", "--html", run)
    assert_user_error(process, f"--html {run} is the run file")
    process = sigmalab("doctor", run, "--repair", "--out", run)
    assert_user_error(process, f"--out {run} is the run file")
    page = tmp_path / "same.html"
    process = sigmalab("doctor", run, "--repair", "--out", page, "--html", page)
    assert_user_error(process, f"--html {page} is the --out file")
    assert run.read_text() == run_text and not page.exists()


def test_predict_names_missing_columns(trained, tmp_path):
    _, out = trained
    table = tmp_path / "narrow.csv"
    table.write_text("x1,z\n0.5,1.0\n")
    assert_user_error(sigmalab("predict", out / "model.safetensors", table), "missing", "x2")


def test_train_prints_a_summary_table(tmp_path):
    (tmp_path / "run.toml").write_text(RUN.replace("epochs = 4", "epochs = 1"))
    process = sigmalab("train", "run.toml", cwd=tmp_path)
    assert process.returncode == 0, process.stderr
    assert "test_accuracy" in process.stdout
    assert (tmp_path / "runs" / "run" / "summary.json").is_file()  # the default --out


def test_datasets_lists_every_builtin():
    process = sigmalab("datasets")
    assert process.returncode == 0, process.stderr
    for name in sl.datasets.available():
        assert name in process.stdout


def test_bad_run_file_gives_one_line_and_exit_code_2(tmp_path):
    run = tmp_path / "bad.toml"
    run.write_text(RUN.replace('loss = "bce"', 'loss = "mae"').replace("units = 6", "units = 0"))
    assert_user_error(
        sigmalab("train", run, "--out", tmp_path / "out"),
        "bad.toml",
        "train.loss: unknown loss 'mae'. Did you mean 'mse'? Allowed: mse, bce, cross_entropy",
        "model.layers[0].units: must be >= 1 (received 0)",
    )
    assert not (tmp_path / "out").exists()


def test_malformed_toml_on_the_command_line_names_the_line(tmp_path):
    run = tmp_path / "broken.toml"
    run.write_text(RUN.replace("[model]", "[model"))
    assert_user_error(sigmalab("train", run), "broken.toml", "invalid TOML", "line 7")


def test_missing_files_are_user_errors(tmp_path):
    assert_user_error(sigmalab("train", tmp_path / "nope.toml"), "run file not found")
    assert_user_error(
        sigmalab("predict", tmp_path / "nope.safetensors", tmp_path / "x.csv"), "not found"
    )


# ---- the same machinery in-process: train_run and predict_csv --------------------------------
def quick_config(tmp_path, **changes):
    """The RUN file above, validated, with ``changes`` merged in."""
    (tmp_path / "run.toml").write_text(RUN)
    return load_run(tmp_path / "run.toml").with_changes(changes)


def test_early_stopping_ends_the_run_and_the_summary_says_when(tmp_path):
    config = quick_config(
        tmp_path, train={"epochs": 300, "early_stopping_patience": 2, "optimizer": {"lr": 0.05}}
    )
    result = train_run(config, verbose=0)
    assert result.summary["epochs"] == len(result.history.epoch) < 300


def test_predict_computes_playground_features_from_x1_x2(tmp_path):
    config = quick_config(tmp_path, data={"dataset": "circle", "features": ["x1^2", "x2^2"]})
    result = train_run(config, out_dir=tmp_path / "out", verbose=0)
    assert result.model.preprocessing.output_names == ["x1^2", "x2^2"]
    table = tmp_path / "points.csv"
    table.write_text("name,x2,x1\nfirst,0.5,-1.0\nsecond,3.0,2.0\n")  # text column unused
    columns, rows = predict_csv(tmp_path / "out" / "model.safetensors", table)
    assert columns == ["probability_0", "probability_1", "label"]
    points = np.array([[-1.0, 0.5], [2.0, 3.0]])
    scale = result.model.preprocessing.normalization
    np.testing.assert_allclose(
        result.model.preprocess(points)[0],
        (np.array([1.0, 0.25]) - scale.mean) / np.sqrt(scale.variance),
    )
    expected = result.model.predict(points)[:, 0]
    np.testing.assert_allclose([row[1] for row in rows], expected, rtol=1e-6)


def test_predict_gives_values_for_regression(tmp_path):
    config = quick_config(
        tmp_path,
        data={"dataset": "reg-plane"},
        train={"loss": "mse"},
    )
    result = train_run(config, out_dir=tmp_path / "out", verbose=0)
    table = tmp_path / "points.csv"
    table.write_text("x1,x2\n1,2\n-3,0.5\n")
    columns, rows = predict_csv(tmp_path / "out" / "model.safetensors", table)
    assert columns == ["prediction"] and len(rows) == 2
    points = np.array([[1.0, 2.0], [-3.0, 0.5]])
    np.testing.assert_allclose([row[0] for row in rows], result.model.predict(points)[:, 0])


def test_mse_on_classes_reports_accuracy_from_rounded_outputs(tmp_path):
    result = train_run(quick_config(tmp_path, train={"loss": "mse"}), verbose=0)
    outputs = result.model.predict(result.dataset.X_test)[:, 0]
    expected = np.mean(np.clip(np.rint(outputs), 0, 1) == result.dataset.y_test)
    assert result.summary["test_accuracy"] == pytest.approx(expected)


DIVERGING = """\
[data]
dataset = "reg-plane"
samples = 100
[model]
layers = [
  {type = "dense", units = 16, activation = "relu", weight_scale = 50.0},
  {type = "dense", units = 1, weight_scale = 50.0},
]
[train]
loss = "mse"
epochs = 50
optimizer = {name = "sgd", lr = 10.0}
"""


def test_a_diverged_run_still_writes_every_file_quietly(tmp_path):
    from sigmalab.doctor import Doctor

    (tmp_path / "diverging.toml").write_text(DIVERGING)
    config = load_run(tmp_path / "diverging.toml")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train_run(config, out_dir=tmp_path / "out", callbacks=[Doctor()], verbose=0)
    noise = [f"{w.filename}:{w.lineno} {w.message}" for w in caught]
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], noise
    names = {"model.safetensors", RUN_FILE, "history.csv", "summary.json", "report.png"}
    assert names <= {path.name for path in (tmp_path / "out").iterdir()}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["train_loss"] in ("inf", "nan") and summary["test_loss"] in ("inf", "nan")


def test_a_warning_on_the_command_line_is_one_line_without_python_source(tmp_path):
    run = tmp_path / "diverging.toml"
    run.write_text(DIVERGING)
    process = sigmalab(
        "train", run, "--no-doctor", "--quiet", "--out", tmp_path / "out", "--set", "train.epochs=9"
    )
    assert process.returncode == 0, process.stderr
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: training diverged: "), lines
    # command-line advice after the same account, not Python's ("add sl.Doctor() ...")
    assert "sl.Doctor" not in lines[0] and "clip_norm, or" not in lines[0]
    assert lines[0].endswith(
        "Lower train.optimizer.lr (now 10.0) or set train.optimizer.clip_norm; to see why, "
        f"train without --no-doctor or run: sigmalab doctor {run} --set train.epochs=9"
    )
    process = sigmalab(
        "sweep", run, "--grid", "train.epochs=9", "--no-doctor", "-q", "--out", tmp_path / "s"
    )
    assert process.returncode == 0, process.stderr
    assert process.stderr.startswith("warning: training diverged: ") and "sl.Doctor" not in (
        process.stderr
    )
    assert "to see why, sweep without --no-doctor" in process.stderr


def test_report_draws_several_classes_on_the_plane(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    rows = "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X.tolist(), labels, strict=True))
    (tmp_path / "three.csv").write_text("a,b,target\n" + rows + "\n")
    config = quick_config(
        tmp_path,
        data={"dataset": "three.csv"},
        model={"layers": [{"type": "dense", "units": 3}]},
        train={"loss": "cross_entropy"},
    )
    train_run(config, out_dir=tmp_path / "out", verbose=0)
    assert (tmp_path / "out" / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_without_a_summary_feeds_every_column_but_target(tmp_path):
    model = sl.Sequential([sl.Dense(3)], seed=0).build(2)
    model.compile("cross_entropy", "sgd")
    model.save(tmp_path / "bare.safetensors")
    table = tmp_path / "points.csv"
    table.write_text("a,target,b\n1,0,2\n3,1,4\n")
    columns, rows = predict_csv(tmp_path / "bare.safetensors", table)
    assert columns == ["probability_0", "probability_1", "probability_2", "label"]
    expected = model.predict(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_allclose([row[:3] for row in rows], expected, rtol=1e-6)


def test_an_output_folder_that_cannot_be_made_is_a_user_error(tmp_path):
    run = tmp_path / "xor.toml"
    run.write_text(RUN)
    blocker = tmp_path / "taken"
    blocker.write_text("a file where the output folder should go")
    assert_user_error(sigmalab("train", run, "--out", blocker / "out", "--quiet"), "taken")
    assert blocker.read_text() == "a file where the output folder should go"


def test_ctrl_c_ends_with_one_line_and_exit_code_130(tmp_path):
    run = tmp_path / "long.toml"
    run.write_text(RUN.replace("epochs = 4", "epochs = 100000"))
    # A shell without job control starts background jobs with SIGINT ignored and children
    # inherit that, so in a suite run in the background the child would ignore Ctrl-C.
    process = subprocess.Popen(
        [sys.executable, "-m", "sigmalab", "train", str(run), "--out", str(tmp_path / "o")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "o").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # let training start
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
