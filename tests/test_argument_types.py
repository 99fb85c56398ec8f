"""Arguments of the wrong kind get a SigmalabError naming the argument and the value, never a
TypeError from deep inside NumPy or Python, nor silently wrong numbers."""

from __future__ import annotations

import numpy as np
import pytest

import sigmalab as sl


def _data(n=12):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 2)), np.arange(n) % 2


@pytest.mark.parametrize(
    ("loss", "message"),
    [
        (["mse"], r"loss must be a name \(mse, bce, cross_entropy\).*received: \['mse'\]"),
        (5, "loss must be a name.*received: 5"),
        (None, "loss must be a name.*received: None"),
    ],
)
def test_compile_names_a_loss_of_the_wrong_kind(loss, message):
    with pytest.raises(sl.SigmalabError, match=message):
        sl.Sequential([sl.Dense(1)]).compile(loss=loss)


@pytest.mark.parametrize(
    ("optimizer", "message"),
    [
        (5, r"optimizer must be a name \(sgd, adam, rmsprop\), a dict.*received: 5"),
        (["sgd"], r"optimizer must be a name.*received: \['sgd'\]"),
        ({"name": ["sgd"]}, r"unknown optimizer \['sgd'\]"),
    ],
)
def test_compile_names_an_optimizer_of_the_wrong_kind(optimizer, message):
    with pytest.raises(sl.SigmalabError, match=message):
        sl.Sequential([sl.Dense(1)]).compile(loss="mse", optimizer=optimizer)


@pytest.mark.parametrize("dtype", [5, 2.5, [1, 2], "float16"])
def test_sequential_names_a_dtype_of_the_wrong_kind(dtype):
    with pytest.raises(sl.SigmalabError, match="dtype must be"):
        sl.Sequential([sl.Dense(1)], dtype=dtype)


@pytest.mark.parametrize(
    ("callbacks", "message"),
    [
        ([5], r"callbacks\[0\] must be a sigmalab Callback .*received: 5"),
        ([sl.EarlyStopping(), "doctor"], r"callbacks\[1\] must be a sigmalab Callback"),
        (5, r"callbacks must be a list such as \[sl.EarlyStopping\(\)\], received: 5"),
        (sl.EarlyStopping(), "callbacks must be a list"),
    ],
)
def test_fit_names_a_callback_of_the_wrong_kind(callbacks, message):
    X, y = _data()
    model = sl.Sequential([sl.Dense(1)]).compile(loss="bce")
    with pytest.raises(sl.SigmalabError, match=message):
        model.fit(X, y, verbose=0, callbacks=callbacks)


@pytest.mark.parametrize("shuffle", ["no", 0, None])
def test_fit_names_a_shuffle_that_is_not_true_or_false(shuffle):
    """A truthy stand-in such as "no" silently shuffled."""
    X, y = _data()
    model = sl.Sequential([sl.Dense(1)]).compile(loss="bce")
    ensemble = sl.Ensemble([{"type": "dense", "units": 1}], [{"seed": 0}]).compile(loss="bce")
    for fit in (model.fit, ensemble.fit):
        with pytest.raises(sl.SigmalabError, match=f"shuffle must be True or False.*{shuffle!r}"):
            fit(X, y, shuffle=shuffle)
    with pytest.raises(sl.SigmalabError, match="use_bias must be True or False"):
        sl.Dense(1, use_bias=shuffle)
    with pytest.raises(sl.SigmalabError, match="nesterov must be True or False"):
        sl.SGD(momentum=0.9, nesterov=shuffle)


@pytest.mark.parametrize("name", [None, 5, ["spiral"]])
def test_datasets_load_names_a_dataset_of_the_wrong_kind(name):
    with pytest.raises(sl.SigmalabError, match=r"dataset must be a built-in name such as 'spiral'"):
        sl.datasets.load(name)


def _train_with(activation, derivative=None):
    X, y = _data()
    model = sl.Sequential([sl.Dense(3, activation=activation, derivative=derivative), sl.Dense(1)])
    model.compile(loss="bce").fit(X, y, epochs=1, verbose=0)
    return model


@pytest.mark.parametrize(
    ("activation", "shape"),
    [
        (lambda z: z.sum(), r"\(\)"),  # a reduction, not an elementwise function
        (lambda z: z[:, :1] * 2, r"\(12, 1\)"),  # broadcastable: would silently mislead
    ],
)
def test_a_callable_activation_of_the_wrong_shape_is_named(activation, shape):
    message = rf"activation '<lambda>' must work elementwise.*received shape {shape}"
    with pytest.raises(sl.ShapeError, match=message):
        _train_with(activation)


@pytest.mark.parametrize("derivative", [lambda z: 2 * z[:, :1], lambda z: 2.0])
def test_a_derivative_of_the_wrong_shape_is_named_not_broadcast(derivative):
    def square(z):
        return z * z

    with pytest.raises(sl.ShapeError, match=r"the derivative of activation 'square' must work"):
        _train_with(square, derivative)


def test_a_callable_returning_no_numbers_is_named():
    with pytest.raises(sl.SigmalabError, match=r"activation 'nothing' must return numbers"):

        def nothing(z):
            return "nothing"

        _train_with(nothing)


def test_an_elementwise_callable_still_trains_like_its_formula():
    formula = _train_with("x * x")
    callable_ = _train_with(lambda z: z * z, derivative=lambda z: 2 * z)
    for ours, reference in zip(callable_.get_weights(), formula.get_weights(), strict=True):
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: sl.EarlyStopping(monitor=5), "monitor must be a metric name.*monitor=5"),
        (lambda: sl.EarlyStopping(restore_best_weights="no"), "restore_best_weights must be"),
        (lambda: sl.repair(5), "run must be a run file path.*received: 5"),
        (lambda: sl.repair({}, budget=0), "budget must be >= 1"),
    ],
)
def test_callback_and_repair_arguments_of_the_wrong_kind_are_named(make, message):
    """Each used to fail later and elsewhere: monitor=5 as an AttributeError inside fit,
    repair(5) as a TypeError from pathlib, budget=0 after a first training, as no repair."""
    with pytest.raises(sl.SigmalabError, match=message):
        make()
