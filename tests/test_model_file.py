"""A trained model file is a complete predictor: raw rows in, class names or values out,
wherever the file goes and whatever lies beside it."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_cli import sigmalab

import sigmalab as sl
from sigmalab.config import ConfigError, RunConfig, load_run
from sigmalab.data import DataError
from sigmalab.runner import load_data, predict_csv, train_run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(tmp_path, data, layers, loss, epochs=30, name="run.toml"):
    config = {
        "data": data,
        "model": {"layers": layers},
        "train": {
            "loss": loss,
            "epochs": epochs,
            "batch_size": 8,
            "optimizer": {"name": "adam", "lr": 0.02},
        },
    }
    return RunConfig.from_dict(config, tmp_path)


def _csv(path, header, rows):
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read(path):
    return list(csv.DictReader(Path(path).open()))


def test_a_trained_spiral_model_predicts_raw_points(tmp_path):
    config = load_run(EXAMPLES / "spiral.toml")
    result = train_run(config, out_dir=tmp_path / "spiral", verbose=0)
    raw = load_data(config)[0]
    model = sl.load(tmp_path / "spiral" / "model.safetensors")
    accuracy = np.mean((model.predict(raw.X_test)[:, 0] >= 0.5) == raw.y_test)
    assert accuracy == result.summary["test_accuracy"] >= 0.95  # 0.43 when it ignored scaling
    assert np.mean(model.predict_labels(raw.X_test) == raw.y_test) == accuracy


@pytest.fixture(scope="module")
def scaled_run(tmp_path_factory):
    """A CLI run on far-from-standard inputs, so preprocessing matters: its folder, new
    points, their true labels, and what ``sigmalab predict`` answers for them."""
    folder = tmp_path_factory.mktemp("scaled")
    rng = np.random.default_rng(1)
    X = rng.normal([1000.0, -5.0], [300.0, 0.01], size=(120, 2))
    labels = np.where((X[:, 0] - 1000.0) / 300.0 - (X[:, 1] + 5.0) / 0.01 > 0, "dog", "cat")
    _csv(folder / "pets.csv", ["weight", "tail", "target"], zip(*X.T, labels, strict=True))
    (folder / "run.toml").write_text(
        '[data]\ndataset = "pets.csv"\nstandardize = true\n'
        '[model]\nlayers = [{type = "dense", units = 6, activation = "tanh"}, '
        '{type = "dense", units = 1}]\n'
        '[train]\nloss = "bce"\nepochs = 40\nbatch_size = 8\n'
        'optimizer = {name = "adam", lr = 0.02}\n'
    )
    process = sigmalab("train", folder / "run.toml", "--out", folder / "out", "--quiet")
    assert process.returncode == 0, process.stderr
    points = _csv(folder / "points.csv", ["tail", "weight"], zip(X[:, 1], X[:, 0], strict=True))
    process = sigmalab("predict", folder / "out" / "model.safetensors", points)
    assert process.returncode == 0, process.stderr
    return folder, points, labels, process.stdout


def test_predict_gives_class_names_and_agrees_with_python(scaled_run):
    folder, points, truth, answer = scaled_run
    rows = list(csv.DictReader(answer.splitlines()))
    assert list(rows[0]) == ["probability_cat", "probability_dog", "label"]
    labels = [row["label"] for row in rows]
    assert np.mean(np.array(labels) == truth) > 0.9
    model = sl.load(folder / "out" / "model.safetensors")
    X = np.array([[float(r["weight"]), float(r["tail"])] for r in _read(points)])
    assert labels == model.predict_labels(X).tolist()
    np.testing.assert_allclose(
        [float(row["probability_dog"]) for row in rows], model.predict(X)[:, 0], rtol=1e-6
    )


def test_the_model_file_alone_predicts_the_same_anywhere(scaled_run, tmp_path):
    folder, points, _, at_home = scaled_run
    shutil.copy(folder / "out" / "model.safetensors", tmp_path / "moved.safetensors")
    moved = sigmalab("predict", tmp_path / "moved.safetensors", points)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout == at_home


def test_predict_never_reads_the_summary_beside_the_model(scaled_run, tmp_path):
    folder, points, _, before = scaled_run
    shutil.copy(folder / "out" / "model.safetensors", tmp_path / "model.safetensors")
    scale = {"mean": [0.0, 0.0], "std": [1.0, 1.0]}  # another run's, after a crash mid-save
    other = {"columns": ["weight", "tail"], "features": None, "standardize": scale}
    (tmp_path / "summary.json").write_text(json.dumps({"preprocessing": other}))
    assert sigmalab("predict", tmp_path / "model.safetensors", points).stdout == before


def test_a_model_whose_preprocessing_lived_in_the_summary_is_refused(tmp_path):
    old = sl.Sequential([sl.Dense(1)], seed=0).build(2)  # as an older sigmalab saved it
    old.compile("bce", "sgd")
    old.save(tmp_path / "model.safetensors")
    summary = {"preprocessing": {"columns": ["x1", "x2"], "standardize": None}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    points = _csv(tmp_path / "points.csv", ["x1", "x2"], [[1, 2]])
    with pytest.raises(sl.SigmalabError, match="trained by an older sigmalab.*train the run"):
        predict_csv(tmp_path / "model.safetensors", points)


@pytest.mark.parametrize(
    ("targets", "names"),
    [(["cat", "dog"], ["cat", "dog"]), ([1, 2], ["1", "2"]), ([-1, 1], ["-1", "1"])],
)
def test_csv_class_names_round_trip_through_predict(tmp_path, targets, names):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.where(X[:, 0] > 0, targets[1], targets[0])
    _csv(tmp_path / "data.csv", ["a", "b", "target"], zip(*X.T, y, strict=True))
    config = _run(
        tmp_path, {"dataset": "data.csv"}, [{"type": "dense", "units": 1}], "bce", epochs=20
    )
    train_run(config, verbose=0).model.save(tmp_path / "model.safetensors")
    columns, rows = predict_csv(tmp_path / "model.safetensors", tmp_path / "data.csv")
    assert columns == [f"probability_{names[0]}", f"probability_{names[1]}", "label"]
    predicted = [str(row[-1]) for row in rows]
    assert set(predicted) <= set(names)
    assert np.mean(np.array(predicted) == np.array([str(t) for t in y])) > 0.8


def test_iris_species_come_back_by_name(tmp_path):
    pytest.importorskip("sklearn")
    config = load_run(EXAMPLES / "iris.toml").with_changes({"train": {"epochs": 20}})
    train_run(config, verbose=0).model.save(tmp_path / "model.safetensors")
    raw = load_data(config)[0]
    _csv(tmp_path / "flowers.csv", raw.feature_names, raw.X_test)
    columns, rows = predict_csv(tmp_path / "model.safetensors", tmp_path / "flowers.csv")
    species = ["setosa", "versicolor", "virginica"]
    assert columns == [f"probability_{name}" for name in species] + ["label"]
    truth = np.array(species)[raw.y_test]
    assert np.mean(np.array([row[-1] for row in rows]) == truth) > 0.8


def _prices(tmp_path):
    """Five distinct whole-number targets 300..700 that are amounts, not classes."""
    rng = np.random.default_rng(0)
    size = rng.integers(1, 6, size=60)
    _csv(tmp_path / "prices.csv", ["rooms", "target"], zip(size, 200 + 100 * size, strict=True))


@pytest.mark.parametrize("task", ["regression", None])
def test_whole_number_targets_are_a_regression_when_the_run_says_so(tmp_path, task):
    _prices(tmp_path)
    data = {"dataset": "prices.csv", "standardize": True} | ({"task": task} if task else {})
    config = _run(tmp_path, data, [{"type": "dense", "units": 1}], "mse", epochs=60)
    result = train_run(config, out_dir=tmp_path / "out", verbose=0)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["task"] == "regression" and summary["class_names"] is None
    assert "test_accuracy" not in summary and result.model.task == "regression"
    _csv(tmp_path / "new.csv", ["rooms"], [[1], [5]])
    columns, rows = predict_csv(tmp_path / "out" / "model.safetensors", tmp_path / "new.csv")
    assert columns == ["prediction"]
    assert rows[0][0] < rows[1][0]  # more rooms, a higher price


def test_whole_number_targets_are_classes_when_the_run_says_so(tmp_path):
    _prices(tmp_path)
    data = {"dataset": "prices.csv", "task": "classification"}
    config = _run(tmp_path, data, [{"type": "dense", "units": 1}], "mse", epochs=2)
    result = train_run(config, verbose=0)
    assert result.dataset.class_names == [300, 400, 500, 600, 700]
    assert "test_accuracy" in result.summary
    assert set(result.model.predict_labels(result.dataset.X_test).tolist()) <= {
        300,
        400,
        500,
        600,
        700,
    }


def test_a_regression_task_rejects_a_classification_loss(tmp_path):
    _prices(tmp_path)
    data = {"dataset": "prices.csv", "task": "regression"}
    config = _run(tmp_path, data, [{"type": "dense", "units": 1}], "bce")
    with pytest.raises(ConfigError, match="'bce' is for classification"):
        train_run(config, verbose=0)


def test_text_targets_with_mse_say_how_to_keep_them_classes(tmp_path):
    _csv(tmp_path / "pets.csv", ["a", "target"], [[1, "cat"], [2, "dog"], [3, "cat"]])
    config = _run(tmp_path, {"dataset": "pets.csv"}, [{"type": "dense", "units": 1}], "mse")
    with pytest.raises(DataError, match="'cat' is text.*task = 'classification'"):
        train_run(config, verbose=0)
    with_task = _run(
        tmp_path,
        {"dataset": "pets.csv", "task": "classification"},
        [{"type": "dense", "units": 1}],
        "mse",
        epochs=1,
    )
    assert train_run(with_task, verbose=0).model.class_names == ["cat", "dog"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"dataset": "xor", "task": "regression"}, "'xor' is a built-in classification dataset"),
        ({"dataset": "reg-plane", "task": "classification"}, "built-in regression dataset"),
        ({"dataset": "xor", "task": "classes"}, "data.task: must be 'classification' or"),
    ],
)
def test_the_task_key_is_checked_up_front(tmp_path, data, message):
    with pytest.raises(ConfigError, match=message):
        _run(tmp_path, data, [{"type": "dense", "units": 1}], "mse")
