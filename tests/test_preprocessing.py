"""The model owns its preprocessing and class names, and its file carries them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save as save_safetensors

import sigmalab as sl


def _points(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=[50.0, -3.0], scale=[20.0, 0.01], size=(n, 2))
    y = ((X[:, 0] - 50.0) / 20.0 + (X[:, 1] + 3.0) / 0.01 > 0).astype(int)
    return X, y


def _model(preprocessing=None, class_names=None, loss="bce", units=1):
    model = sl.Sequential(
        [sl.Dense(6, activation="tanh"), sl.Dense(units)],
        seed=3,
        dtype="float64",
        preprocessing=preprocessing,
        class_names=class_names,
    )
    return model.compile(loss, sl.Adam(lr=0.05))


def test_normalization_adapts_to_zero_mean_unit_variance():
    X = np.array([[1.0, 5.0, 7.0], [3.0, 5.0, 9.0], [5.0, 5.0, 14.0]])
    scale = sl.Normalization.adapt(X)
    out = scale(X)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), [1.0, 0.0, 1.0])  # a constant column: zeros
    assert scale.variance[1] == 1.0
    standardized = sl.datasets.standardize(X)[0]  # the same arithmetic, bit for bit
    np.testing.assert_array_equal(out, standardized)


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"mean": [0.0, 0.0], "variance": [1.0, -1.0]}, "variance finite and > 0"),
        ({"mean": [np.nan, 0.0], "variance": [1.0, 1.0]}, "mean must be finite"),
        ({"mean": [0.0], "variance": [1.0]}, r"mean must be shape \(2,\)"),
        ({"mean": [0.0, 0.0]}, "needs its variance"),
        ({"mean": ["a", "b"], "variance": [1.0, 1.0]}, "mean must be numeric"),
    ],
)
def test_normalization_state_is_checked(state, message):
    with pytest.raises(sl.SigmalabError, match=message):
        sl.Normalization.identity(2).set_state(state)


def test_preprocessing_reads_named_columns_and_says_which():
    inputs = sl.Preprocessing(["x1", "x2"], features=["x1^2", "sin(x2)"])
    np.testing.assert_allclose(inputs(np.array([[2.0, 0.5]])), [[4.0, np.sin(0.5)]])
    with pytest.raises(sl.ShapeError, match=r"X has 3 column\(s\) but the model reads 2: x1, x2"):
        inputs(np.zeros((1, 3)))
    with pytest.raises(sl.SigmalabError, match="features are computed from two columns"):
        sl.Preprocessing(["a", "b", "c"], features=["x1"])
    with pytest.raises(sl.SigmalabError, match="lists a name twice"):
        sl.Preprocessing(["a", "a"])
    with pytest.raises(sl.ShapeError, match="normalization has 2 column"):
        sl.Preprocessing(["a"], normalization=sl.Normalization.identity(2))


def test_standardize_takes_true_or_false_only():
    """``standardize="no"`` was truthy, so the rows were standardised without a word."""
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    with pytest.raises(sl.SigmalabError, match=r"standardize must be True or False.*'no'"):
        sl.Preprocessing.adapt(X, columns=["a", "b"], standardize="no")
    assert sl.Preprocessing.adapt(X, columns=["a", "b"], standardize=False).normalization is None


def test_fit_predict_and_evaluate_take_raw_rows():
    X, y = _points()
    inputs = sl.Preprocessing.adapt(X, columns=["height", "tilt"])
    owned = _model(inputs)
    owned.fit(X, y, epochs=5, batch_size=8, validation_data=(X, y), verbose=0)
    by_hand = _model()  # the same network on inputs standardised up front, as before
    by_hand.fit(inputs(X), y, epochs=5, batch_size=8, validation_data=(inputs(X), y), verbose=0)
    for ours, theirs in zip(owned.get_weights(), by_hand.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)  # training is unchanged
    np.testing.assert_array_equal(owned.predict(X), by_hand.predict(inputs(X)))
    assert owned.evaluate(X, y) == by_hand.evaluate(inputs(X), y)
    np.testing.assert_array_equal(owned.forward(owned.preprocess(X)), by_hand.forward(inputs(X)))


def test_saved_model_predicts_raw_rows_with_its_class_names(tmp_path):
    X, y = _points()
    model = _model(
        sl.Preprocessing.adapt(X, columns=["height", "tilt"]), class_names=["cat", "dog"]
    )
    model.fit(X, y, epochs=20, batch_size=8, verbose=0)
    model.save(tmp_path / "m.safetensors")
    loaded = sl.load(tmp_path / "m.safetensors")
    assert loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    labels = loaded.predict_labels(X)
    assert set(labels) <= {"cat", "dog"}
    np.testing.assert_array_equal(labels, np.where(model.predict(X)[:, 0] >= 0.5, "dog", "cat"))
    assert np.mean(labels == np.array(["cat", "dog"])[y]) > 0.9
    with safe_open(tmp_path / "m.safetensors", "numpy") as stored:
        assert stored.metadata()["sigmalab_format"] == "2"
        mean = stored.get_tensor("preprocessing.mean")
        assert mean.dtype == np.float64
        np.testing.assert_array_equal(mean, model.preprocessing.normalization.mean)


@pytest.mark.parametrize(
    ("names", "loss", "units"),
    [([1, 2], "bce", 1), ([-1, 1], "bce", 1), (["a", "b", "c"], "cross_entropy", 3)],
)
def test_labels_come_back_as_the_class_names(tmp_path, names, loss, units):
    X, y = _points()
    model = _model(class_names=names, loss=loss, units=units).build(2)
    model.save(tmp_path / "m.safetensors")
    loaded = sl.load(tmp_path / "m.safetensors")
    labels = loaded.predict_labels(X)
    assert set(labels.tolist()) <= set(names)
    assert type(labels.tolist()[0]) is type(names[0])


def test_a_classification_trained_with_mse_rounds_to_its_class_names():
    model = _model(class_names=[300, 500, 700], loss="mse").build(2)
    assert model.task == "classification"
    model.layers[-1].params["W"][...] = 0.0
    model.layers[-1].params["b"][...] = 1.2  # rounds to label 1
    assert model.predict_labels(np.zeros((2, 2))).tolist() == [500, 500]
    model.layers[-1].params["b"][...] = 9.0  # clipped to the last class
    assert model.predict_labels(np.zeros((1, 2))).tolist() == [700]


def test_a_regression_has_no_labels():
    model = _model(loss="mse").build(2)
    assert model.task == "regression"
    with pytest.raises(sl.SigmalabError, match="is a regression .* use predict"):
        model.predict_labels(np.zeros((1, 2)))


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["cat"], "2 or more names"),
        (["cat", 1], "all text or all finite numbers"),
        ([True, False], "all text or all finite numbers"),
        ([1, 1.0], "lists a name twice"),
        ("cat", "must be a list"),
    ],
)
def test_class_names_are_checked(names, message):
    with pytest.raises(sl.SigmalabError, match=message):
        _model(class_names=names)


def _file(tmp_path, config, tensors):
    metadata = {"sigmalab_config": json.dumps(config), "sigmalab_format": "2"}
    path = tmp_path / "crafted.safetensors"
    path.write_bytes(save_safetensors(tensors, metadata=metadata))
    return path


DENSE = {"000.dense.W": np.zeros((2, 1), np.float32), "000.dense.b": np.zeros(1, np.float32)}
CONFIG = {
    "seed": 0,
    "dtype": "float32",
    "input_dim": 2,
    "layers": [{"type": "dense", "units": 1}],
    "loss": "bce",
    "optimizer": {"name": "sgd", "lr": 0.1},
    "preprocessing": {"columns": ["a", "b"], "features": None, "normalize": True},
}
SCALE = {"preprocessing.mean": np.zeros(2), "preprocessing.variance": np.ones(2)}


@pytest.mark.parametrize(
    ("config", "tensors", "message"),
    [
        (CONFIG, DENSE, "tensor 'preprocessing.mean' is missing"),
        (CONFIG, {**DENSE, **SCALE, "preprocessing.variance": -np.ones(2)}, "variance finite"),
        ({**CONFIG, "class_names": ["a", "b", "c"]}, {**DENSE, **SCALE}, "needs 2 names"),
        ({**CONFIG, "preprocessing": {"columns": ["a"]}}, DENSE, "broken sigmalab config"),
        ({**CONFIG, "preprocessing": {"columns": "ab"}}, DENSE, "columns must be a list"),
    ],
)
def test_a_broken_preprocessing_in_a_file_is_named(tmp_path, config, tensors, message):
    with pytest.raises(sl.SigmalabError, match=message) as caught:
        sl.load(_file(tmp_path, config, tensors))
    assert str(caught.value).startswith(str(tmp_path / "crafted.safetensors"))


def test_a_format_1_file_without_preprocessing_still_loads(tmp_path):
    config = {k: v for k, v in CONFIG.items() if k != "preprocessing"}
    path = tmp_path / "old.safetensors"
    metadata = {"sigmalab_config": json.dumps(config), "sigmalab_format": "1"}
    path.write_bytes(save_safetensors(DENSE, metadata=metadata))
    model = sl.load(path)
    assert model.preprocessing is None and model.task == "classification"
    assert model.predict_labels(np.zeros((1, 2))).tolist() == [1]  # sigmoid(0) = 0.5
