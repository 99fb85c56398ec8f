"""Model files: round trip, clear errors for foreign or broken files, atomic writes, no pickle."""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import tracemalloc

import numpy as np
import pytest
from safetensors.numpy import save as save_safetensors

import sigmalab as sl


def _trained_model(dtype="float32"):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    model = sl.Sequential(
        [
            sl.Dense(6, activation="relu", l2=1e-3),
            sl.BatchNorm(momentum=0.2),
            sl.Dropout(0.25),
            sl.Dense(5, activation="x * sigmoid(x)", init="he_uniform", weight_scale=1.5),
            sl.Dense(4, activation="where(x > 0, x, 0.1*x)", use_bias=False, l1=1e-4),
            sl.Dense(3),
        ],
        seed=7,
        dtype=dtype,
    )
    model.compile(loss="cross_entropy", optimizer=sl.Adam(lr=0.01, clip_norm=5.0))
    model.fit(X, y, epochs=3, batch_size=8, verbose=0)
    return model, X


def _files(folder):
    return sorted(p.name for p in pathlib.Path(folder).iterdir())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip(tmp_path, dtype):
    model, X = _trained_model(dtype)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = sl.load(path)
    assert loaded.get_config() == model.get_config()
    assert loaded.dtype == model.dtype
    for got, want in zip(loaded.get_weights(), model.get_weights(), strict=True):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    running_var = model.layers[1].state["running_var"]
    assert not np.allclose(running_var, 1.0)  # the statistics moved, so keeping them matters
    np.testing.assert_array_equal(loaded.layers[1].state["running_var"], running_var)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.layers[3].activation.spec == "x * sigmoid(x)"
    assert loaded.layers[4].activation.spec == "where(x > 0, x, 0.1*x)"
    assert _files(tmp_path) == ["model.safetensors"]


def test_loaded_model_keeps_training(tmp_path):
    model, X = _trained_model()
    model.save(tmp_path / "m.safetensors")
    loaded = sl.load(tmp_path / "m.safetensors")
    y = np.arange(40) % 3
    history = loaded.fit(X, y, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_bare_callable_cannot_be_saved(tmp_path):
    model = sl.Sequential([sl.Dense(2, activation=np.tanh)])
    model.build(3)
    with pytest.raises(sl.SigmalabError, match="callable and cannot be saved.*formula"):
        model.save(tmp_path / "m.safetensors")
    assert _files(tmp_path) == []


def test_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(sl.SigmalabError, match="not built"):
        sl.Sequential([sl.Dense(1)]).save(tmp_path / "m.safetensors")


def test_missing_file(tmp_path):
    with pytest.raises(sl.SigmalabError, match="model file not found"):
        sl.load(tmp_path / "nope.safetensors")
    (tmp_path / "run").mkdir()
    with pytest.raises(sl.SigmalabError, match="run is a folder, not a model file"):
        sl.load(tmp_path / "run")  # not "not found": it is there


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _with_config(tmp_path, config, tensors=None):
    """A safetensors file whose sigmalab metadata holds ``config`` (a dict or raw text)."""
    text = config if isinstance(config, str) else json.dumps(config)
    if tensors is None:
        tensors = {
            "000.dense.W": np.zeros((2, 1), np.float32),
            "000.dense.b": np.zeros(1, np.float32),
        }
    data = save_safetensors(tensors, metadata={"sigmalab_config": text, "sigmalab_format": "1"})
    return _write(tmp_path / "crafted.safetensors", data)


GOOD = {"seed": 0, "dtype": "float32", "input_dim": 2, "layers": [{"type": "dense", "units": 1}]}


def test_crafted_good_file_loads(tmp_path):
    assert sl.load(_with_config(tmp_path, GOOD)).count_params() == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not a model file at all, just some text", "not a valid safetensors"),
        (b"", "not a valid safetensors"),
        (b"\xff" * 8 + b"{}", "not a valid safetensors"),
        (b"PK\x03\x04" + bytes(100), "not a valid safetensors"),
    ],
)
def test_foreign_bytes(tmp_path, data, message):
    with pytest.raises(sl.SigmalabError, match=message):
        sl.load(_write(tmp_path / "m.safetensors", data))


def test_truncated_file(tmp_path):
    model, _ = _trained_model()
    model.save(tmp_path / "m.safetensors")
    data = (tmp_path / "m.safetensors").read_bytes()
    for cut in (4, 12, len(data) // 2, len(data) - 1):
        with pytest.raises(sl.SigmalabError, match="not a valid safetensors"):
            sl.load(_write(tmp_path / "cut.safetensors", data[:cut]))


def test_safetensors_without_sigmalab_metadata(tmp_path):
    data = save_safetensors({"weight": np.zeros((2, 2), np.float32)})
    with pytest.raises(sl.SigmalabError, match="no sigmalab config"):
        sl.load(_write(tmp_path / "other.safetensors", data))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("{not json", "broken sigmalab config"),
        ([1, 2], "broken sigmalab config: expected a JSON object with a list of layers, not"),
        ("null", "broken sigmalab config: expected a JSON object with a list of layers, not"),
        ({**GOOD, "layers": None}, "expected a JSON object with a list of layers, not"),
        ({**GOOD, "layers": [{"type": "conv2d"}]}, "unknown layer type 'conv2d'"),
        ({**GOOD, "layers": ["dense"]}, "layers"),
        ({**GOOD, "dtype": "float16"}, "dtype"),
        ({**GOOD, "layers": [{"type": "dense", "units": 1, "bogus": 2}]}, "bogus"),
        ({**GOOD, "input_dim": None}, "never built"),
    ],
)
def test_broken_config(tmp_path, config, message):
    with pytest.raises(sl.SigmalabError, match=message) as caught:
        sl.load(_with_config(tmp_path, config))
    assert str(caught.value).startswith(f"{tmp_path / 'crafted.safetensors'}: ")


def test_file_format_from_another_version_is_named(tmp_path):
    tensors = {"000.dense.W": np.zeros((2, 1), np.float32), "000.dense.b": np.zeros(1, np.float32)}
    metadata = {"sigmalab_config": json.dumps(GOOD), "sigmalab_format": "3"}
    path = _write(tmp_path / "future.safetensors", save_safetensors(tensors, metadata=metadata))
    with pytest.raises(
        sl.SigmalabError, match="is in sigmalab file format '3'; .* formats '1', '2': a newer"
    ):
        sl.load(path)


def test_missing_or_misshapen_tensor(tmp_path):
    with pytest.raises(sl.SigmalabError, match="tensor '000.dense.b' is missing"):
        sl.load(_with_config(tmp_path, GOOD, {"000.dense.W": np.zeros((2, 1), np.float32)}))
    wrong = {"000.dense.W": np.zeros((3, 1), np.float32), "000.dense.b": np.zeros(1, np.float32)}
    with pytest.raises(sl.SigmalabError, match=r"F32 of shape \(3, 1\), but the config needs"):
        sl.load(_with_config(tmp_path, GOOD, wrong))
    as_float64 = {key: value.astype(np.float64) for key, value in wrong.items()}
    as_float64["000.dense.W"] = np.zeros((2, 1))
    with pytest.raises(sl.SigmalabError, match=r"'000.dense.W' is F64 .* needs F32 of shape"):
        sl.load(_with_config(tmp_path, GOOD, as_float64))


def test_weights_the_config_has_no_place_for_are_refused(tmp_path):
    """A layer dropped from the config (or its bias switched off) would otherwise load the
    remaining weights and predict with another model than the one trained."""
    two_layers = {
        "000.dense.W": np.zeros((2, 1), np.float32),
        "000.dense.b": np.zeros(1, np.float32),
        "001.dense.W": np.zeros((1, 1), np.float32),
        "001.dense.b": np.zeros(1, np.float32),
    }
    with pytest.raises(
        sl.SigmalabError, match=r"'001.dense.W', '001.dense.b' are not part of the model"
    ):
        sl.load(_with_config(tmp_path, GOOD, two_layers))
    no_bias = {**GOOD, "layers": [{"type": "dense", "units": 1, "use_bias": False}]}
    with pytest.raises(sl.SigmalabError, match=r"'000.dense.b' are not part .* do not match"):
        sl.load(_with_config(tmp_path, no_bias))


@pytest.mark.parametrize("path", [None, 5])
def test_a_path_that_is_not_one_is_named(tmp_path, path):
    model = sl.Sequential([sl.Dense(1)]).build(2)
    for action in (lambda: sl.load(path), lambda: model.save(path)):
        with pytest.raises(sl.SigmalabError, match=f"path must be a file path .* {path}"):
            action()


def test_formula_in_file_is_parsed_not_run(tmp_path):
    marker = tmp_path / "hacked"
    evil = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    config = {**GOOD, "layers": [{"type": "dense", "units": 1, "activation": evil}]}
    with pytest.raises(sl.SigmalabError, match="not allowed"):
        sl.load(_with_config(tmp_path, config))
    assert not marker.exists()


class _Payload:
    """Unpickling this object would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


@pytest.mark.parametrize("wrap", ["plain", "numpy"])
def test_pickle_disguised_as_safetensors_is_rejected(tmp_path, wrap):
    marker = tmp_path / "unpickled"
    path = tmp_path / "model.safetensors"
    if wrap == "plain":
        path.write_bytes(pickle.dumps(_Payload(str(marker))))
    else:
        with open(path, "wb") as stream:
            np.save(stream, np.array([_Payload(str(marker))], dtype=object), allow_pickle=True)
    assert pickle.loads(pickle.dumps(_Payload(str(tmp_path / "probe")))) is None  # it would run
    assert (tmp_path / "probe").exists()
    with pytest.raises(sl.SigmalabError, match="not a valid safetensors"):
        sl.load(path)
    assert not marker.exists()


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    first, _ = _trained_model()
    first.save(path)
    before = path.read_bytes()
    second = sl.Sequential([sl.Dense(2)])
    second.build(3)

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        second.save(path)
    assert path.read_bytes() == before
    assert _files(tmp_path) == ["model.safetensors"]
    monkeypatch.undo()
    assert sl.load(path).get_config() == first.get_config()


def test_save_creates_folders_and_overwrites(tmp_path):
    path = tmp_path / "deep" / "er" / "m.safetensors"
    model, X = _trained_model()
    model.save(path)
    model.fit(X, np.arange(40) % 3, epochs=1, verbose=0)
    model.save(path)
    np.testing.assert_array_equal(sl.load(path).predict(X), model.predict(X))
    assert _files(path.parent) == ["m.safetensors"]


def test_saved_file_has_ordinary_permissions(tmp_path):
    """Like open(path, 'w'): 0666 less the umask, not the temporary file's private 0600."""
    mask = os.umask(0o022)
    try:
        model = sl.Sequential([sl.Dense(1)])
        model.build(2)
        model.save(tmp_path / "m.safetensors")
    finally:
        os.umask(mask)
    assert (tmp_path / "m.safetensors").stat().st_mode & 0o777 == 0o644


def test_saving_onto_a_folder_names_the_folder(tmp_path):
    folder = tmp_path / "model.safetensors"
    folder.mkdir()
    model = sl.Sequential([sl.Dense(1)])
    model.build(2)
    with pytest.raises(IsADirectoryError, match=r"is a folder, not a file: '.*model\.safetensors'"):
        model.save(folder)
    assert _files(tmp_path) == ["model.safetensors"] and _files(folder) == []


def _peak_bytes_while_loading(path) -> tuple[int, str]:
    """Peak bytes traced while ``sl.load(path)`` fails, and its message."""
    warm = path.parent / "warm"
    warm.mkdir(exist_ok=True)
    sl.load(_with_config(warm, GOOD))  # imports happen before measuring
    tracemalloc.start()
    try:
        with pytest.raises(sl.SigmalabError) as caught:
            sl.load(path)
        return tracemalloc.get_traced_memory()[1], str(caught.value)
    finally:
        tracemalloc.stop()


def test_a_tampered_tiny_file_is_rejected_before_any_large_allocation(tmp_path):
    """The config of a 1 KB file claims 4 million weights (16 MB) whose tensors it lacks."""
    config = {**GOOD, "input_dim": 2000, "layers": [{"type": "dense", "units": 2000}]}
    path = _with_config(tmp_path, config)
    assert path.stat().st_size < 2000
    peak, message = _peak_bytes_while_loading(path)
    assert "'000.dense.W' is F32 of shape (2, 1), but the config needs F32 of shape" in message
    assert peak < 1_000_000


def test_a_model_above_the_weight_cap_says_how_to_lift_it(tmp_path, monkeypatch):
    config = {**GOOD, "input_dim": 33_000, "layers": [{"type": "dense", "units": 33_000}]}
    peak, message = _peak_bytes_while_loading(_with_config(tmp_path, config))  # 4.4 GB claimed
    assert "F32 of shape (2, 1), but the config needs F32 of shape (33000, 33000)" in message
    assert peak < 1_000_000
    monkeypatch.setenv("SIGMALAB_MAX_WEIGHTS", "2")
    with pytest.raises(sl.SigmalabError) as caught:
        sl.load(_with_config(tmp_path, GOOD))
    assert "weights on 2 inputs must be <= 2 (received 3)" in str(caught.value)
    assert "set the environment variable SIGMALAB_MAX_WEIGHTS" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda W, b: (W * np.nan, b), r"weight 0 \(dense W\) contains 2 NaN"),
        (lambda W, b: (W, b + np.inf), r"weight 1 \(dense b\) contains 0 NaN and 1 Inf"),
    ],
)
def test_a_file_with_non_finite_weights_is_rejected(tmp_path, change, message):
    W, b = change(np.ones((2, 1), np.float32), np.zeros(1, np.float32))
    with pytest.raises(sl.SigmalabError, match=message):
        sl.load(_with_config(tmp_path, GOOD, {"000.dense.W": W, "000.dense.b": b}))


def test_a_negative_running_variance_in_a_file_is_rejected(tmp_path):
    model = sl.Sequential([sl.Dense(2), sl.BatchNorm(), sl.Dense(1)]).build(2)
    model.layers[1].state["running_var"][0] = -1.0
    model.save(tmp_path / "m.safetensors")
    with pytest.raises(sl.SigmalabError, match=r"running_var\) must be >= 0"):
        sl.load(tmp_path / "m.safetensors")


def test_a_config_nested_100000_deep_is_a_clear_error(tmp_path):
    deep = '{"seed": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(sl.SigmalabError, match="broken sigmalab config: nested too deeply"):
        sl.load(_with_config(tmp_path, deep))
