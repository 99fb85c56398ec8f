"""Ensemble: every member ends where the same network trained alone ends."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import sigmalab as sl
from sigmalab.errors import SigmalabError

ARCHITECTURE = [
    {"type": "dense", "units": 8, "activation": "tanh"},
    {"type": "dropout", "rate": 0.0},
    {"type": "dense", "units": 8, "activation": "relu"},
    {"type": "dense", "units": 1},
]
MEMBERS = [
    {"seed": 0},
    {"seed": 1, "lr": 0.03},
    {"seed": 2, "l2": 0.01},
    {"seed": 3, "l1": 0.002, "weight_scale": 2.0},
    {"seed": 4, "dropout": 0.3},
    {"seed": 4, "dropout": 1.0},
]


def _data(n=53, seed=7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    return X, X[:, :1] * X[:, 1:], (X[:, 0] * X[:, 1] > 0).astype(int)


def _alone(layers, settings, loss, optimizer, dtype="float32"):
    """The network a member stands for, built and compiled on its own as a user would."""
    configs = []
    for config in layers:
        config = dict(config)
        if config["type"] == "dense":
            config.update({k: settings[k] for k in ("l1", "l2", "weight_scale") if k in settings})
        if config["type"] == "dropout" and "dropout" in settings:
            config["rate"] = settings["dropout"]
        configs.append(config)
    model = sl.Sequential.from_config(
        {"seed": settings.get("seed", 0), "dtype": dtype, "layers": configs}
    )
    return model.compile(loss, {**optimizer, "lr": settings.get("lr", optimizer["lr"])})


def _assert_same_weights(a, b, rtol=2e-5, atol=2e-6):
    for got, want in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize(
    ("loss", "optimizer"),
    [
        ("mse", {"name": "sgd", "lr": 0.1}),
        ("bce", {"name": "sgd", "lr": 0.1, "momentum": 0.9}),
        ("bce", {"name": "adam", "lr": 0.01}),
    ],
)
def test_each_member_ends_with_the_weights_it_reaches_alone(loss, optimizer):
    X, y_reg, y_cls = _data()
    y = y_reg if loss == "mse" else y_cls
    ensemble = sl.Ensemble(ARCHITECTURE, MEMBERS).compile(loss, optimizer)
    histories = ensemble.fit(X, y, epochs=4, batch_size=10)
    for k in range(len(MEMBERS)):
        alone = _alone(ARCHITECTURE, MEMBERS[k], loss, optimizer)
        history = alone.fit(X, y, epochs=4, batch_size=10, verbose=0)
        _assert_same_weights(ensemble.member(k), alone)
        np.testing.assert_allclose(histories[k].history["loss"], history.history["loss"], rtol=1e-4)


def test_float64_members_match_alone_to_rounding():
    X, y_reg, _ = _data()
    ensemble = sl.Ensemble(ARCHITECTURE, MEMBERS, dtype="float64").compile("mse", "sgd")
    ensemble.fit(X, y_reg, epochs=3, batch_size=8)
    for k in range(len(MEMBERS)):
        alone = _alone(ARCHITECTURE, MEMBERS[k], "mse", {"name": "sgd", "lr": 0.01}, "float64")
        alone.fit(X, y_reg, epochs=3, batch_size=8, verbose=0)
        _assert_same_weights(ensemble.member(k), alone, rtol=1e-12, atol=1e-14)


def test_batchnorm_members_and_unshuffled_batches_match_alone():
    X, _, y_cls = _data(n=61)
    y = y_cls + (X[:, 0] > 1)  # three classes
    layers = [
        {"type": "dense", "units": 6, "activation": "sigmoid"},
        {"type": "batchnorm"},
        {"type": "dropout", "rate": 0.2},
        {"type": "dense", "units": 3},
    ]
    members = [{"seed": 5}, {"seed": 6, "dropout": 0.0, "lr": 0.2}, {"seed": 7, "l2": 0.05}]
    optimizer = {"name": "sgd", "lr": 0.1}
    for shuffle in (True, False):
        ensemble = sl.Ensemble(layers, members).compile("cross_entropy", optimizer)
        ensemble.fit(X, y, epochs=3, batch_size=16, shuffle=shuffle)
        for k in range(len(members)):
            alone = _alone(layers, members[k], "cross_entropy", optimizer)
            alone.fit(X, y, epochs=3, batch_size=16, shuffle=shuffle, verbose=0)
            _assert_same_weights(ensemble.member(k), alone)  # running statistics included


def test_history_per_member_with_validation():
    X, _, y_cls = _data()
    members = [{"seed": 0, "lr": 0.5}, {"seed": 0, "lr": 0.001}]
    ensemble = sl.Ensemble(ARCHITECTURE, members).compile("bce", "sgd")
    validation = (X[:20], y_cls[:20])
    histories = ensemble.fit(X, y_cls, epochs=5, batch_size=10, validation_data=validation)
    assert histories is ensemble.histories and len(histories) == 2
    for history in histories:
        assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        assert history.epoch == [0, 1, 2, 3, 4]
        assert all(isinstance(value, float) for value in history.history["loss"])
    fast, slow = (history.history["loss"] for history in histories)
    assert fast[-1] < slow[-1]  # same seed, so only the learning rate tells them apart
    alone = ensemble.member(0)
    assert alone.history is histories[0]
    np.testing.assert_allclose(
        alone.evaluate(X[:20], y_cls[:20])["loss"], histories[0].history["val_loss"][-1], rtol=1e-5
    )


def test_member_is_an_ordinary_model(tmp_path):
    X, y_reg, _ = _data()
    ensemble = sl.Ensemble(ARCHITECTURE, MEMBERS).compile("mse", {"name": "sgd", "lr": 0.05})
    ensemble.fit(X, y_reg, epochs=2, batch_size=10)
    predictions = ensemble.predict(X)
    assert predictions.shape == (len(MEMBERS), len(X), 1)
    for k in (0, 3):
        model = ensemble.member(k)
        assert isinstance(model, sl.Sequential)
        np.testing.assert_allclose(model.predict(X), predictions[k], rtol=1e-5, atol=1e-6)
        path = tmp_path / f"member{k}.safetensors"
        model.save(str(path))
        np.testing.assert_array_equal(sl.load(str(path)).predict(X), model.predict(X))
    assert ensemble.member(1).optimizer.lr == pytest.approx(0.03)
    assert ensemble.member(2).layers[0].l2 == 0.01 and ensemble.member(4).layers[1].rate == 0.3


def test_extracted_member_trains_on_like_the_network_alone():
    X, _, y_cls = _data()
    members = [{"seed": 3, "dropout": 0.2}, {"seed": 9}]
    optimizer = {"name": "sgd", "lr": 0.1, "momentum": 0.9}
    ensemble = sl.Ensemble(ARCHITECTURE, members).compile("bce", optimizer)
    ensemble.fit(X, y_cls, epochs=2, batch_size=10)
    continued = ensemble.member(0)
    continued.fit(X, y_cls, epochs=2, batch_size=10, verbose=0)  # streams and velocity go on
    alone = _alone(ARCHITECTURE, members[0], "bce", optimizer)
    alone.fit(X, y_cls, epochs=2, batch_size=10, verbose=0)
    alone.fit(X, y_cls, epochs=2, batch_size=10, verbose=0)
    _assert_same_weights(continued, alone)


def test_grid_crosses_the_settings_and_leaves_the_optimizer_alone():
    ensemble = sl.Ensemble.grid(ARCHITECTURE, seed=[0, 1, 2], lr=[0.1, 0.01])
    assert len(ensemble) == 6
    assert ensemble.members[1] == {"seed": 0, "lr": 0.01}
    optimizer = sl.SGD(lr=0.2)
    ensemble.compile("mse", optimizer)
    assert optimizer.lr == 0.2  # the ensemble works on its own copy


@pytest.mark.parametrize("lr", [0.1, "0.1", {"a": 0.1}])
def test_a_grid_axis_that_is_not_a_list_of_values_is_named(lr):
    """A lone number failed inside itertools; a string made one member per character."""
    message = f"lr must be a list of values to try, such as [0.1], received: lr={lr!r}"
    with pytest.raises(SigmalabError, match=re.escape(message)):
        sl.Ensemble.grid(ARCHITECTURE, seed=range(2), lr=lr)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([{"seed": 0, "learning_rate": 0.1}], "unknown setting(s) learning_rate"),
        ([], "at least one network"),
        ([0], "members[0] must be a mapping"),
    ],
)
def test_bad_members_are_named(members, message):
    with pytest.raises(SigmalabError, match=re.escape(message)):
        sl.Ensemble(ARCHITECTURE, members)


def test_a_dropout_setting_without_a_dropout_layer_is_refused():
    """It used to be ignored: a grid over dropout trained the same network at every rate."""
    layers = [{"type": "dense", "units": 4, "activation": "tanh"}, {"type": "dense", "units": 1}]
    message = "members[0]: dropout is set, but the layers hold no Dropout layer"
    with pytest.raises(SigmalabError, match=re.escape(message)):
        sl.Ensemble.grid(layers, dropout=[0.0, 0.5])


def test_bad_member_values_fail_like_the_layers_do_and_name_the_member():
    message = "members[1] {'dropout': 1.5}: rate must be in [0, 1]"
    with pytest.raises(SigmalabError, match=re.escape(message)):
        sl.Ensemble(ARCHITECTURE, [{"seed": 0}, {"dropout": 1.5}])
    ensemble = sl.Ensemble(ARCHITECTURE, [{"seed": 0}, {"seed": 1}, {"lr": -1.0}])
    with pytest.raises(SigmalabError, match=re.escape("members[2] {'lr': -1.0}: lr must be > 0")):
        ensemble.compile("mse", "sgd")
    with pytest.raises(SigmalabError, match="^units must be >= 1"):  # the layers', no member's
        sl.Ensemble([{"type": "dense", "units": 0}], [{"seed": 0}])
    with pytest.raises(SigmalabError, match="below 3"):
        ensemble.build(2).member(3)


def test_a_diverging_member_gets_one_warning_and_leaves_the_others_alone():
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 2)), rng.random(60)
    layers = [sl.Dense(8, "relu"), sl.Dense(1)]
    ensemble = sl.Ensemble(layers, [{"seed": 0, "lr": 0.01}, {"seed": 1, "lr": 1e7}])
    ensemble.compile("mse", "sgd")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        histories = ensemble.fit(X, y, epochs=5, batch_size=10)
    assert [type(w.message) for w in caught] == [sl.DivergenceWarning]
    assert "1 of 2 members diverged" in str(caught[0].message)
    assert "10000000.0" in str(caught[0].message)
    assert np.isfinite(histories[0].history["loss"]).all()
    alone = sl.Sequential([sl.Dense(8, "relu"), sl.Dense(1)], seed=0)
    alone.compile("mse", sl.SGD(lr=0.01)).fit(X, y, epochs=5, batch_size=10, verbose=0)
    np.testing.assert_allclose(
        histories[0].history["loss"], alone.history.history["loss"], rtol=1e-6
    )  # to rounding: the stack sums in another order


def test_the_epoch_orders_are_each_members_own_permutations():
    from sigmalab.ensemble import _permutations

    orders = _permutations([np.random.default_rng(k) for k in range(5)], 17)
    expected = [np.random.default_rng(k).permutation(17) for k in range(5)]
    np.testing.assert_array_equal(orders, np.stack(expected))


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([{"type": "dense", "units": 1, "bogus": 1}], "layers\\[0\\] \\(dense\\).*bogus"),
        (["dense"], "layers\\[0\\] must be a mapping"),
        ([{"type": "dense2", "units": 1}], "unknown layer type 'dense2'.*dense"),
    ],
)
def test_a_broken_layer_config_is_named_as_sequential_names_it(layers, message):
    with pytest.raises(sl.SigmalabError, match=message):
        sl.Ensemble(layers, [{"seed": 0}])


def test_early_stopping_per_member_ends_each_member_where_it_would_alone():
    """One training loop serves both: member k's callbacks see member k and its own logs."""
    X, _, y = _data(n=80)
    Xv, _, yv = _data(n=40, seed=9)
    members = [{"seed": 0, "lr": 0.5}, {"seed": 1, "lr": 0.002}]
    layers = [{"type": "dense", "units": 16, "activation": "relu"}, {"type": "dense", "units": 1}]
    optimizer = {"name": "adam", "lr": 0.01}
    ensemble = sl.Ensemble(layers, members).compile("bce", optimizer)
    stoppers = {}

    def callbacks(k):
        stoppers[k] = sl.EarlyStopping(patience=3)
        return [stoppers[k]]

    histories = ensemble.fit(
        X, y, epochs=60, batch_size=8, validation_data=(Xv, yv), callbacks=callbacks
    )
    lengths = []
    for k, settings in enumerate(members):
        alone = _alone(layers, settings, "bce", optimizer)
        stopper = sl.EarlyStopping(patience=3)
        history = alone.fit(
            X, y, epochs=60, batch_size=8, validation_data=(Xv, yv), verbose=0, callbacks=[stopper]
        )
        assert len(histories[k].epoch) == len(history.epoch)
        assert stoppers[k].best_epoch == stopper.best_epoch
        _assert_same_weights(ensemble.member(k), alone)  # the best weights, restored
        lengths.append(len(history.epoch))
    assert lengths[0] < 60 and lengths[0] != lengths[1]  # the members stop at their own epochs


def test_a_doctor_per_member_finds_what_it_finds_for_the_network_alone():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 2)), rng.random(60)
    layers = [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 1}]
    members = [{"seed": 0, "lr": 0.01}, {"seed": 1, "lr": 1e7}]
    doctors = {}

    def callbacks(k):
        doctors[k] = sl.Doctor()
        return [doctors[k]]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the doctor reports divergence: no warning on top
        sl.Ensemble(layers, members).compile("mse", "sgd").fit(
            X, y, epochs=20, batch_size=10, callbacks=callbacks
        )
    for k, settings in enumerate(members):
        alone_doctor = sl.Doctor()
        alone = _alone(layers, settings, "mse", {"name": "sgd", "lr": 0.01})
        with np.errstate(all="ignore"):
            alone.fit(X, y, epochs=20, batch_size=10, verbose=0, callbacks=[alone_doctor])
        found = sorted(f.kind for f in doctors[k].findings)
        assert found == sorted(f.kind for f in alone_doctor.findings)
    assert "divergence" in [f.kind for f in doctors[1].findings]
    assert "divergence" not in [f.kind for f in doctors[0].findings]


def test_ensemble_callbacks_must_be_a_function_of_the_member():
    ensemble = sl.Ensemble(ARCHITECTURE, MEMBERS[:2]).compile("mse", "sgd")
    X, y, _ = _data()
    with pytest.raises(SigmalabError, match="lambda k"):
        ensemble.fit(X, y, callbacks=[sl.EarlyStopping()])
    with pytest.raises(SigmalabError, match=r"callbacks\(0\): callbacks\[0\] must be a sigmalab"):
        ensemble.fit(X, y, callbacks=lambda k: [5])
