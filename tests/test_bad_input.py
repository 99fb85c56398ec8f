"""Bad input fails early with a SigmalabError whose message names the problem."""

from __future__ import annotations

import os

import numpy as np
import pytest

import sigmalab as sl


def _model(outputs=1, loss="bce", layers=None):
    model = sl.Sequential(layers or [sl.Dense(4, activation="relu"), sl.Dense(outputs)])
    model.compile(loss=loss, optimizer=sl.SGD(lr=0.1))
    return model


def _data(n=10, features=2):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, features)), np.arange(n) % 2


def _fit(model, X, y, **kwargs):
    return model.fit(X, y, epochs=1, verbose=0, **kwargs)


def test_length_mismatch():
    X, y = _data()
    with pytest.raises(sl.ShapeError, match="X has 10 rows but y has 9 rows"):
        _fit(_model(), X, y[:9])


def test_wrong_input_width_for_built_model():
    X, y = _data()
    model = _model()
    _fit(model, X, y)
    for call in (lambda: _fit(model, X[:, :1], y), lambda: model.predict(np.ones((2, 3)))):
        with pytest.raises(sl.ShapeError, match="has 3 feature column|has 1 feature column"):
            call()
    with pytest.raises(sl.ShapeError, match="built for 2"):
        model.predict(np.ones((2, 3)))


def test_nan_and_inf_in_x_say_how_many_and_where():
    X, y = _data()
    X[3, 1] = np.nan
    X[5, 0] = np.inf
    X[7, 0] = -np.inf
    with pytest.raises(sl.NotFiniteError) as info:
        _fit(_model(), X, y)
    message = str(info.value)
    assert "X contains 1 NaN and 2 Inf value(s) (of 20)" in message
    assert "(3, 1), (5, 0), (7, 0)" in message


def test_nan_in_y():
    X, y = _data()
    y = y.astype(float)
    y[2] = np.nan
    with pytest.raises(sl.NotFiniteError, match=r"y contains 1 NaN and 0 Inf .* index 2\b"):
        _fit(_model(), X, y)


def test_nan_in_validation_data():
    X, y = _data()
    X_val = X.copy()
    X_val[0, 0] = np.nan
    with pytest.raises(sl.NotFiniteError, match="X_val contains 1 NaN"):
        _fit(_model(), X, y, validation_data=(X_val, y))


@pytest.mark.parametrize(
    ("outputs", "loss", "label", "message"),
    [
        (1, "bce", 2, r"labels must be in 0\.\.1 for 2 classes; y\[4\] = 2 \(1 label"),
        (1, "bce", -1, r"labels must be in 0\.\.1.*y\[4\] = -1"),
        (3, "cross_entropy", 3, r"labels must be in 0\.\.2 for 3 classes; y\[4\] = 3"),
        (3, "cross_entropy", -1, r"labels must be in 0\.\.2.*y\[4\] = -1"),
        (1, "bce", 0.5, "whole numbers"),
    ],
)
def test_labels_out_of_range(outputs, loss, label, message):
    X, y = _data()
    y = y.astype(float)
    y[4] = label
    with pytest.raises(sl.SigmalabError, match=message):
        _fit(_model(outputs, loss), X, y)


@pytest.mark.parametrize(
    ("outputs", "loss", "message"),
    [(2, "bce", "bce needs a model with 1 output"), (1, "cross_entropy", "at least 2 outputs")],
)
def test_loss_and_output_width_disagree(outputs, loss, message):
    X, y = _data()
    with pytest.raises(sl.ShapeError, match=message):
        _fit(_model(outputs, loss), X, y)


def test_bad_one_hot():
    X, _ = _data(n=4)
    y = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1], [1, 0, 0]])
    with pytest.raises(sl.SigmalabError, match="exactly one 1 per row"):
        _fit(_model(3, "cross_entropy"), X, y)


@pytest.mark.parametrize("X", [np.zeros((0, 2)), [], np.zeros((3, 0))])
def test_empty_data(X):
    with pytest.raises(sl.ShapeError, match="X is empty"):
        _fit(_model(), X, [])


@pytest.mark.parametrize("batch_size", [0, -3])
def test_batch_size_below_one(batch_size):
    X, y = _data()
    with pytest.raises(
        sl.SigmalabError, match=f"batch_size must be >= 1, received: batch_size={batch_size}"
    ):
        _fit(_model(), X, y, batch_size=batch_size)


def test_batch_size_not_an_integer():
    X, y = _data()
    with pytest.raises(
        sl.SigmalabError, match="batch_size must be an integer, received: batch_size=2.5"
    ):
        _fit(_model(), X, y, batch_size=2.5)


@pytest.mark.parametrize("optimizer", [sl.SGD, sl.Adam, sl.RMSprop])
@pytest.mark.parametrize("lr", [0.0, -0.1])
def test_learning_rate_must_be_positive(optimizer, lr):
    with pytest.raises(sl.SigmalabError, match=rf"lr must be > 0, received: lr={lr}"):
        optimizer(lr=lr)


def test_learning_rate_in_config_dict():
    with pytest.raises(sl.SigmalabError, match="lr must be"):
        sl.Sequential([sl.Dense(1)]).compile(optimizer={"name": "adam", "lr": 0})


@pytest.mark.parametrize("rate", [1.5, -0.1, float("nan")])
def test_dropout_rate_outside_unit_interval(rate):
    with pytest.raises(sl.SigmalabError, match="rate must be"):
        sl.Dropout(rate)


def test_dropout_rate_message():
    with pytest.raises(sl.SigmalabError, match=r"rate must be in \[0, 1\], received: rate=1.5"):
        sl.Dropout(1.5)


@pytest.mark.parametrize(
    ("name", "hint"), [("rleu", "relu"), ("tanhh", "tanh"), ("leakyrelu", "leaky_relu")]
)
def test_unknown_activation_suggests_closest(name, hint):
    with pytest.raises(
        sl.SigmalabError, match=f"unknown activation '{name}'. Did you mean '{hint}'"
    ):
        sl.Dense(3, activation=name)


def test_hostile_formula_is_rejected_and_not_run(monkeypatch, capfd):
    calls = []
    monkeypatch.setattr(os, "system", lambda command: calls.append(command) or 0)
    for formula in ("__import__('os').system('echo hacked')", "x.__class__", "exec('1')"):
        with pytest.raises(sl.SigmalabError, match="not allowed"):
            sl.Dense(3, activation=formula)
    assert calls == []
    assert "hacked" not in capfd.readouterr().out


def test_one_dimensional_x_hints_reshape():
    with pytest.raises(sl.ShapeError, match=r"must be 2-D.*X.reshape\(-1, 1\)"):
        _fit(_model(), np.arange(10.0), np.arange(10) % 2)


def test_non_numeric_x():
    with pytest.raises(sl.SigmalabError, match="X must be numeric"):
        _fit(_model(), [["a", "b"], ["c", "d"]], [0, 1])


def test_fit_before_compile():
    X, y = _data()
    with pytest.raises(
        sl.SigmalabError, match=r"call model.compile\(loss=..., optimizer=...\) first"
    ):
        sl.Sequential([sl.Dense(1)]).fit(X, y)


def test_evaluate_and_train_step_before_compile():
    X, y = _data()
    for call in ("evaluate", "train_step"):
        with pytest.raises(sl.SigmalabError, match="compile"):
            getattr(sl.Sequential([sl.Dense(1)]), call)(X, y)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sl.Dense(0), "units must be >= 1"),
        (lambda: sl.Dense(3, init="glorot"), "unknown init 'glorot'. Did you mean 'glorot_"),
        (lambda: sl.Dense(3, weight_scale=-1), "weight_scale must be"),
        (lambda: sl.Dense(3, l2=-0.1), "l2 must be"),
        (lambda: sl.BatchNorm(momentum=1.5), "momentum must be"),
        (lambda: sl.Sequential([sl.Dense(1)], dtype="float16"), "dtype must be one of"),
        (lambda: sl.Sequential(["dense"]), "layers must be sigmalab layers"),
        (lambda: sl.Sequential(sl.Dense(1)), r"layers must be a list of layers such as \["),
        (lambda: sl.Sequential("dense"), r"layers must be a list of layers .* received: 'dense'"),
        (lambda: sl.SGD(nesterov=True), "nesterov needs momentum > 0"),
        (lambda: sl.Sequential([sl.Dense(1)]).compile(loss="mae"), "unknown loss 'mae'"),
        (lambda: sl.Sequential([sl.Dense(1)]).compile(optimizer="adamw"), "Did you mean 'adam'"),
        (lambda: sl.Dense(3, activation="tanh", derivative=np.cos), "only used with a callable"),
    ],
)
def test_constructor_arguments(make, message):
    with pytest.raises(sl.SigmalabError, match=message):
        make()


def test_a_layer_belongs_to_one_model_once():
    """One layer object holds one set of weights: listed twice, its second use overwrote the
    values the first one's backward pass needs (the loss rose under Adam); in two models,
    building the second resized the first one's weights into a NumPy shape error."""
    shared = sl.Dense(2, activation="tanh")
    with pytest.raises(sl.SigmalabError, match=r"Dense\(2, .* is already in layers\[0\]"):
        sl.Sequential([shared, shared, sl.Dense(1)])
    first = sl.Sequential([shared, sl.Dense(1)])
    with pytest.raises(sl.SigmalabError, match="is already in another model: a layer holds one"):
        sl.Sequential([sl.Dense(3), shared])
    with pytest.raises(sl.SigmalabError, match="is already in this model"):
        first.add(shared)
    assert first.layers[0] is shared and len(first.layers) == 2
    spare = sl.Dense(1)
    with pytest.raises(sl.SigmalabError, match="already in another model"):
        sl.Sequential([spare, shared])
    assert sl.Sequential([spare]).layers == [spare]  # a refused list claims none of its layers


def test_bad_validation_data():
    X, y = _data()
    with pytest.raises(sl.SigmalabError, match=r"validation_data must be a pair"):
        _fit(_model(), X, y, validation_data=X)
    with pytest.raises(sl.ShapeError, match="X_val has 3 feature column"):
        _fit(_model(), X, y, validation_data=(np.ones((4, 3)), y[:4]))


def test_batchnorm_batch_of_one():
    X, y = _data(n=4)
    model = _model(layers=[sl.Dense(3), sl.BatchNorm(), sl.Dense(1)])
    with pytest.raises(sl.ShapeError, match="BatchNorm needs at least 2 samples per batch"):
        _fit(model, X, y, batch_size=1)


def test_backward_before_forward_and_wrong_shape():
    model = sl.Sequential([sl.Dense(2)])
    model.build(3)
    with pytest.raises(sl.SigmalabError, match="call model.forward"):
        model.backward(np.ones((4, 2)))
    model.forward(np.ones((4, 3)))
    with pytest.raises(sl.ShapeError, match=r"dY must have the last output's shape \(4, 2\)"):
        model.backward(np.ones((4, 3)))


def test_nothing_lost_after_bad_input():
    """A rejected call leaves the model exactly as it was."""
    X, y = _data()
    model = _model()
    _fit(model, X, y)
    before = model.get_weights()
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(sl.NotFiniteError):
        _fit(model, bad, y)
    with pytest.raises(sl.ShapeError):
        _fit(model, X, y[:5])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before, strict=True))


@pytest.mark.parametrize("seed", ["a", -1, 1.5])
def test_seed_must_be_a_non_negative_integer(seed):
    with pytest.raises(sl.SigmalabError, match="seed must be"):
        sl.Sequential([sl.Dense(1)], seed=seed)


def test_values_beyond_float32_are_named_before_training():
    X, y = _data()
    X[2, 1] = 1e39  # finite in float64, Inf in float32
    with pytest.raises(sl.NotFiniteError) as info:
        _fit(_model(), X, y)
    assert "X has 1 value(s) too large for float32" in str(info.value)
    assert "index (2, 1): 1e+39" in str(info.value)
    targets = np.zeros(10)
    targets[4] = -1e39
    with pytest.raises(sl.NotFiniteError, match=r"y has 1 value\(s\) too large.*index \(4, 0\)"):
        _fit(_model(loss="mse"), _data()[0], targets)
    assert np.isfinite(sl.Sequential([sl.Dense(1)], dtype="float64").predict(X)).all()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m, X, y: _fit(m, None, y), "X must be an array of numbers, received None"),
        (lambda m, X, y: _fit(m, X, None), "y must be an array of numbers, received None"),
        (lambda m, X, y: m.predict(np.nan), r"X must be 2-D .* received shape \(\)"),
        (lambda m, X, y: _fit(m, X + 1j, y), "X must hold real numbers, received dtype complex"),
        (
            lambda m, X, y: _fit(m, np.full((10, 2), "2020-01-01", "datetime64[D]"), y),
            "received dtype datetime64.D.. Convert dates to numbers",
        ),
        (lambda m, X, y: m.predict(np.ones((2, 2), "timedelta64[s]")), "Convert durations"),
        (lambda m, X, y: _fit(m, X, y + 0j), "y must hold real numbers"),
    ],
)
def test_inputs_that_are_not_real_numbers_are_named(call, message):
    X, y = _data()
    with pytest.raises(sl.SigmalabError, match=message):
        call(_model(), X, y)


def _built_batchnorm_model():
    model = _model(layers=[sl.Dense(3), sl.BatchNorm(), sl.Dense(1)])
    model.build(2)
    return model


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: 5, "set_weights expects a list of 8 arrays .* received int"),
        (lambda w: ["a"] * 8, r"weight 0 \(dense W\) must be numeric"),
        (lambda w: [[[1.0, 2.0], [3.0]], *w[1:]], r"weight 0 \(dense W\) must be numeric"),
        (lambda w: [w[0] * np.nan, *w[1:]], r"weight 0 \(dense W\) contains 6 NaN"),
        (lambda w: [*w[:3], np.full(3, np.inf), *w[4:]], r"weight 3 \(batchnorm beta\).* 3 Inf"),
        (lambda w: [w[0] + 1e39, *w[1:]], r"weight 0 \(dense W\) has 6 value\(s\) too large"),
        (
            lambda w: [*w[:5], np.array([1.0, -0.5, 1.0]), *w[6:]],
            r"weight 5 \(batchnorm running_var\) must be >= 0 .*-0.5 at index 1",
        ),
    ],
)
def test_set_weights_rejects_bad_arrays_and_keeps_the_old_ones(change, message):
    model = _built_batchnorm_model()
    before = model.get_weights()
    with pytest.raises(sl.SigmalabError, match=message):
        model.set_weights(change([w.astype(np.float64) for w in before]))
    for old, now in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, now)
