"""Sequential: whole-network gradients, determinism, dtypes, weights, history, early
stopping and how fit walks through the data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from gradcheck import check_model

import sigmalab as sl
from sigmalab.model import batch_bounds


def _blobs(n=40, features=2, classes=2, seed=0):
    """Separable-ish labelled points."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.normal(size=(n, features)) + y[:, None]
    return X, y


def _network(outputs, dtype="float64", seed=0, l2=0.0):
    return sl.Sequential(
        [
            sl.Dense(6, activation="relu", l2=l2),
            sl.BatchNorm(),
            sl.Dropout(0.3),
            sl.Dense(5, activation="tanh", l2=l2),
            sl.Dense(outputs),
        ],
        seed=seed,
        dtype=dtype,
    )


def _fixed_masks(model, seed=3):
    """A before_forward hook that re-seeds every Dropout so each pass draws the same mask."""
    dropouts = [layer for layer in model.layers if isinstance(layer, sl.Dropout)]

    def reseed():
        for layer in dropouts:
            layer.rng = np.random.default_rng(seed)

    return reseed


@pytest.mark.parametrize(
    ("loss", "outputs", "l2"), [("bce", 1, 0.0), ("cross_entropy", 3, 0.0), ("bce", 1, 0.01)]
)
def test_whole_network_gradient(loss, outputs, l2):
    X, y = _blobs(n=10, features=3, classes=max(outputs, 2))
    model = _network(outputs, l2=l2)
    model.compile(loss=loss, optimizer="sgd")
    model.build(3)
    check_model(model, X, y, before_forward=_fixed_masks(model))


def test_mse_network_gradient():
    X = np.random.default_rng(0).normal(size=(8, 2))
    y = np.random.default_rng(1).normal(size=(8, 2))
    model = sl.Sequential(
        [sl.Dense(4, activation="gelu"), sl.Dense(3, activation="sin"), sl.Dense(2)],
        dtype="float64",
    )
    model.compile(loss="mse", optimizer="sgd")
    check_model(model, X, y)


def _trained(seed=0, optimizer=None, dtype="float32"):
    X, y = _blobs(n=50, classes=3)
    model = _network(3, dtype=dtype, seed=seed)
    model.compile(loss="cross_entropy", optimizer=optimizer or sl.Adam(lr=0.01))
    model.fit(X, y, epochs=3, batch_size=8, verbose=0)
    return model.get_weights()


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_same_seed_gives_bit_identical_weights():
    assert _same(_trained(seed=1), _trained(seed=1))
    assert not _same(_trained(seed=1), _trained(seed=2))


def test_reused_optimizer_starts_fresh_on_compile():
    optimizer = sl.Adam(lr=0.01)
    first = _trained(optimizer=optimizer)
    assert _same(_trained(optimizer=optimizer), first)


@pytest.mark.parametrize(("dtype", "expected"), [(None, np.float32), ("float64", np.float64)])
def test_dtype(dtype, expected):
    kwargs = {} if dtype is None else {"dtype": dtype}
    X, y = _blobs()
    model = sl.Sequential([sl.Dense(4, activation="relu"), sl.BatchNorm(), sl.Dense(1)], **kwargs)
    model.compile(loss="bce", optimizer="adam")
    model.fit(X, y, epochs=1, batch_size=10, verbose=0)
    assert all(w.dtype == expected for w in model.get_weights())
    assert model.flat_params.dtype == expected
    assert model.forward(X).dtype == expected
    assert model.predict(X).dtype == expected
    assert all(w.dtype == expected for w in _trained(dtype=np.dtype(expected).name))


def test_get_weights_order_and_shapes():
    model = sl.Sequential(
        [sl.Dense(4), sl.BatchNorm(), sl.Dropout(0.5), sl.Dense(2, use_bias=False)]
    )
    model.build(3)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 4), (4,), (4,), (4,), (4,), (4,), (4, 2)]
    gamma, beta, running_mean, running_var = model.get_weights()[2:6]
    np.testing.assert_array_equal(gamma, 1.0)
    np.testing.assert_array_equal(beta, 0.0)
    np.testing.assert_array_equal(running_mean, 0.0)
    np.testing.assert_array_equal(running_var, 1.0)
    assert model.count_params() == 3 * 4 + 4 + 4 + 4 + 4 * 2


def test_set_weights_round_trip_and_views():
    model = sl.Sequential([sl.Dense(4), sl.BatchNorm(), sl.Dense(2)], dtype="float64")
    model.build(3)
    rng = np.random.default_rng(0)
    new = [rng.normal(size=w.shape) for w in model.get_weights()]
    new[5] = np.abs(new[5])  # running_var, a variance
    model.set_weights(new)
    assert _same(model.get_weights(), new)
    np.testing.assert_array_equal(model.layers[0].params["W"], new[0])
    np.testing.assert_array_equal(model.layers[1].state["running_var"], new[5])
    np.testing.assert_array_equal(model.flat_params[:12], new[0].ravel())  # views, not copies
    copies = model.get_weights()
    copies[0][...] = 99.0
    np.testing.assert_array_equal(model.layers[0].params["W"], new[0])
    with pytest.raises(sl.ShapeError, match="set_weights expects 8 arrays, received 7"):
        model.set_weights(new[:-1])
    with pytest.raises(sl.ShapeError, match=r"weight 0 \(dense W\) must have shape \(3, 4\)"):
        model.set_weights([np.zeros((4, 3)), *new[1:]])


@pytest.mark.parametrize(
    ("loss", "outputs", "validation", "keys"),
    [
        ("bce", 1, True, {"loss", "accuracy", "val_loss", "val_accuracy"}),
        ("cross_entropy", 2, False, {"loss", "accuracy"}),
        ("mse", 1, True, {"loss", "val_loss"}),
    ],
)
def test_history_keys(loss, outputs, validation, keys):
    X, y = _blobs()
    model = sl.Sequential([sl.Dense(4, activation="tanh"), sl.Dense(outputs)])
    model.compile(loss=loss, optimizer=sl.SGD(lr=0.1))
    history = model.fit(
        X, y, epochs=4, batch_size=8, verbose=0, validation_data=(X, y) if validation else None
    )
    assert set(history.history) == keys
    assert all(len(values) == 4 for values in history.history.values())
    assert model.history is history
    if validation:  # val_loss is the inference-mode loss after the epoch
        assert history.history["val_loss"][-1] == pytest.approx(model.evaluate(X, y)["loss"])


class _Recorder(sl.Callback):
    """Keeps a copy of the weights after every epoch."""

    def __init__(self):
        self.weights = []

    def on_epoch_end(self, model, epoch, logs):
        self.weights.append(model.get_weights())


def test_early_stopping_stops_and_restores_best():
    X, y = _blobs()
    model = sl.Sequential([sl.Dense(4, activation="tanh"), sl.Dense(1)])
    model.compile(loss="bce", optimizer=sl.SGD(lr=0.05))
    recorder = _Recorder()
    # min_delta larger than any change: only epoch 0 counts as an improvement
    stopper = sl.EarlyStopping(monitor="val_loss", patience=3, min_delta=10.0)
    history = model.fit(
        X, y, epochs=50, batch_size=8, verbose=0, validation_data=(X, y),
        callbacks=[recorder, stopper],
    )  # fmt: skip
    assert len(history.history["loss"]) == 4
    assert stopper.best_epoch == 0 and stopper.stopped_epoch == 3
    assert not _same(recorder.weights[-1], recorder.weights[0])
    assert _same(model.get_weights(), recorder.weights[0])


def test_early_stopping_waits_while_improving():
    X, y = _blobs()
    model = sl.Sequential([sl.Dense(4, activation="tanh"), sl.Dense(1)])
    model.compile(loss="bce", optimizer=sl.SGD(lr=0.05))
    stopper = sl.EarlyStopping(monitor="loss", patience=2)
    history = model.fit(X, y, epochs=6, batch_size=8, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 6 and stopper.stopped_epoch is None


@pytest.mark.parametrize(
    ("n", "batch_size", "expected"),
    [
        (10, 5, [(0, 5), (5, 10)]),
        (10, 4, [(0, 4), (4, 8), (8, 10)]),
        (11, 5, [(0, 5), (5, 11)]),
        (9, 4, [(0, 4), (4, 9)]),
        (3, 10, [(0, 3)]),
        (1, 1, [(0, 1)]),
        (2, 1, [(0, 1), (1, 2)]),
        (3, 1, [(0, 1), (1, 2), (2, 3)]),
    ],
)
def test_batch_bounds(n, batch_size, expected):
    bounds = batch_bounds(n, batch_size)
    assert bounds == expected
    covered = [i for start, stop in bounds for i in range(start, stop)]
    assert covered == list(range(n))


def _linear_reference(X, y, W, b, lr, batches, epochs):
    """Plain mini-batch SGD on mse for a linear model: the gradient of each batch alone."""
    for _ in range(epochs):
        for start, stop in batches:
            xb, yb = X[start:stop], y[start:stop]
            g = 2 * (xb @ W + b - yb) / yb.size
            W, b = W - lr * xb.T @ g, b - lr * g.sum(axis=0)
    return W, b


def test_fit_uses_each_batch_gradient_alone():
    """n = 11, batch 5: batches [0:5] and [5:11]; no leftover gradient crosses a step."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(11, 3)), rng.normal(size=(11, 1))
    model = sl.Sequential([sl.Dense(1)], dtype="float64")
    model.compile(loss="mse", optimizer=sl.SGD(lr=0.1))
    model.build(3)
    W, b = model.get_weights()
    model.fit(X, y, epochs=3, batch_size=5, shuffle=False, verbose=0)
    expected = _linear_reference(X, y, W, b, 0.1, [(0, 5), (5, 11)], epochs=3)
    for got, want in zip(model.get_weights(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("n", "batch_size"), [(10, 4), (9, 4), (7, 7), (13, 3)])
def test_fit_equals_manual_train_steps(n, batch_size):
    X, y = _blobs(n=n, features=3)

    def make():
        model = _network(1)
        model.compile(loss="bce", optimizer=sl.SGD(lr=0.1, momentum=0.9))
        return model

    fitted = make()
    history = fitted.fit(X, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0)
    manual = make()
    for _ in range(2):
        losses = [
            (manual.train_step(X[a:z], y[a:z]), z - a) for a, z in batch_bounds(n, batch_size)
        ]
    for got, want in zip(fitted.get_weights(), manual.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    mean_loss = sum(loss * size for loss, size in losses) / n
    assert history.history["loss"][-1] == pytest.approx(mean_loss, rel=1e-12)


@pytest.mark.parametrize(("n", "batch_size"), [(23, 5), (21, 5), (20, 5), (8, 32)])
def test_every_sample_once_per_epoch_when_shuffled(n, batch_size, monkeypatch):
    X = np.column_stack([np.arange(n), np.zeros(n)]).astype(float)  # column 0 is the id
    y = np.arange(n) % 2
    model = sl.Sequential([sl.Dense(3, activation="relu"), sl.BatchNorm(), sl.Dense(1)])
    model.compile(loss="bce", optimizer="sgd")
    seen = []
    original = model.train_batch

    def spy(X_batch, targets):
        seen.append(X_batch[:, 0].astype(int).tolist())
        return original(X_batch, targets)

    monkeypatch.setattr(model, "train_batch", spy)
    model.fit(X, y, epochs=3, batch_size=batch_size, verbose=0)
    per_epoch = len(batch_bounds(n, batch_size))
    assert len(seen) == 3 * per_epoch
    orders = []
    for epoch in range(3):
        ids = [i for batch in seen[epoch * per_epoch : (epoch + 1) * per_epoch] for i in batch]
        assert sorted(ids) == list(range(n))
        orders.append(ids)
    if n > 8:
        assert orders[0] != orders[1]  # shuffled anew each epoch


def test_train_step_returns_loss_before_update():
    X, y = _blobs(n=12)
    model = sl.Sequential([sl.Dense(3, activation="tanh"), sl.Dense(1)], dtype="float64")
    model.compile(loss="bce", optimizer=sl.SGD(lr=0.5))
    model.build(2)
    before = model.evaluate(X, y)["loss"]  # no BatchNorm/Dropout: training == inference
    assert model.train_step(X, y) == pytest.approx(before, rel=1e-12)
    assert model.evaluate(X, y)["loss"] < before


def test_training_reaches_high_accuracy():
    rng = np.random.default_rng(4)
    y = np.arange(60) % 3
    angles = 2 * np.pi * y / 3
    X = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)]) + rng.normal(0, 0.5, (60, 2))
    model = _network(3, dtype="float32")
    model.compile(loss="cross_entropy", optimizer=sl.Adam(lr=0.02))
    history = model.fit(X, y, epochs=40, batch_size=10, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(X, y)["accuracy"] >= 0.9


def test_float32_training_tracks_float64():
    """Same seed, same steps: the float32 run stays within float32 rounding of float64."""
    X, y = _blobs(n=30, classes=3)
    weights = {}
    for dtype in ("float32", "float64"):
        model = sl.Sequential(
            [sl.Dense(6, activation="tanh"), sl.BatchNorm(), sl.Dense(3)], seed=5, dtype=dtype
        )
        model.compile(loss="cross_entropy", optimizer=sl.SGD(lr=0.1, momentum=0.9))
        model.fit(X, y, epochs=3, batch_size=8, verbose=0)
        weights[dtype] = model.get_weights()
    for low, high in zip(weights["float32"], weights["float64"], strict=True):
        np.testing.assert_allclose(low, high, rtol=1e-4, atol=1e-5)


def test_a_diverging_run_stops_with_one_clear_warning_not_numpy_noise():
    rng = np.random.default_rng(0)
    X, y = rng.random((50, 2)), rng.random(50)
    model = sl.Sequential([sl.Dense(8, "relu"), sl.Dense(1)]).compile("mse", sl.SGD(lr=1e6))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(X, y, epochs=20, batch_size=10, verbose=0)
    assert [type(w.message) for w in caught] == [sl.DivergenceWarning]
    assert "lr=1000000.0" in str(caught[0].message)
    # what happened and the Python advice apart, so that the command line can give its own
    warning = caught[0].message
    assert str(warning) == f"{warning.what} {warning.advice}" and "sl.Doctor()" in warning.advice
    assert str(warning.advised("Run the doctor.")) == f"{warning.what} Run the doctor."
    assert len(history.history["loss"]) < 20
    assert not np.isfinite(history.history["loss"][-1])


def test_callbacks_end_even_when_training_is_interrupted():
    """Ctrl-C (or an error) in the middle of fit still reaches on_train_end: the progress
    bar and the doctor clean up."""

    class Interrupt(sl.Callback):
        ended = False

        def on_batch_end(self, model, step, logs):
            if step == 3:
                raise KeyboardInterrupt

        def on_train_end(self, model, logs):
            self.ended = True

    hook = Interrupt()
    model = sl.Sequential([sl.Dense(4, "tanh"), sl.Dense(1)]).compile("mse", "sgd")
    X = np.random.default_rng(0).normal(size=(40, 2))
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, X[:, :1], epochs=2, batch_size=4, verbose=0, callbacks=[hook])
    assert hook.ended


def test_early_stopping_rejects_a_negative_min_delta():
    with pytest.raises(sl.SigmalabError, match="min_delta"):
        sl.EarlyStopping(min_delta=-0.1)


def test_validation_split_holds_out_the_last_samples_before_shuffling():
    X, y = _blobs(n=40)

    def trained(X_fit, y_fit, **kwargs):
        model = sl.Sequential([sl.Dense(4, activation="tanh"), sl.Dense(1)])
        model.compile(loss="bce", optimizer=sl.SGD(lr=0.1))
        history = model.fit(X_fit, y_fit, epochs=3, batch_size=8, verbose=0, **kwargs)
        return model, history

    split, split_history = trained(X, y, validation_split=0.25)
    explicit, explicit_history = trained(X[:30], y[:30], validation_data=(X[30:], y[30:]))
    assert _same(split.get_weights(), explicit.get_weights())
    assert split_history.history == explicit_history.history
    assert set(split_history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation_split": 1.0}, r"validation_split must be in \(0, 1\)"),
        ({"validation_split": -0.2}, r"validation_split must be in \(0, 1\)"),
        ({"validation_split": 0.01}, "validation_split=0.01 of 40 samples holds out 0"),
        ({"validation_split": 0.99}, "holds out 40, which leaves no sample to train on"),
        ({"validation_split": "0.2"}, "validation_split must be a number"),
        ({"validation_split": 0.2, "validation_data": (np.ones((2, 2)), [0, 1])}, "not both"),
    ],
)
def test_validation_split_is_checked(kwargs, message):
    X, y = _blobs(n=40)
    model = sl.Sequential([sl.Dense(1)]).compile("bce")
    with pytest.raises(sl.SigmalabError, match=message):
        model.fit(X, y, verbose=0, **kwargs)


@pytest.mark.parametrize(
    ("monitor", "validation", "message"),
    [
        ("val_loss", False, r"EarlyStopping\(monitor='val_loss'\) needs validation data"),
        ("val_accuracy", False, "validation_split=0.2 to fit, or use monitor='accuracy'"),
        ("val_acc", True, "'val_acc' is not logged by this run. Did you mean 'val_accuracy'?"),
        ("accuracy", True, "Available: loss, val_loss"),  # a regression has no accuracy
    ],
)
def test_early_stopping_without_its_metric_is_an_error_before_training(
    monitor, validation, message
):
    X, y = _blobs()
    loss = "mse" if monitor == "accuracy" else "bce"
    model = sl.Sequential([sl.Dense(1)]).compile(loss)
    recorder = _Recorder()
    with pytest.raises(sl.SigmalabError, match=message):
        model.fit(
            X, y, epochs=3, verbose=0, validation_split=0.25 if validation else 0.0,
            callbacks=[sl.EarlyStopping(monitor=monitor), recorder],
        )  # fmt: skip
    assert recorder.weights == []  # not a single epoch ran
