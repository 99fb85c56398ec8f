"""Layers: Dense (gradients, L1/L2, initialisers), BatchNorm and Dropout, each against an
independent reference computed in the test."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from gradcheck import check_layer, check_model

import sigmalab as sl

F64 = np.dtype(np.float64)


def _built(layer, input_dim, seed=0, dtype=F64):
    """Build a standalone layer with its own generator."""
    layer.build(input_dim, np.random.default_rng(seed), np.dtype(dtype))
    return layer


def _data(rows, cols, seed=1, scale=1.0):
    return np.random.default_rng(seed).normal(scale=scale, size=(rows, cols))


# ---- Dense -------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "sigmoid", "elu", "softplus"])
@pytest.mark.parametrize("use_bias", [True, False])
@pytest.mark.parametrize("training", [False, True])
def test_dense_gradient(activation, use_bias, training):
    layer = _built(sl.Dense(4, activation=activation, use_bias=use_bias), 3)
    if use_bias:
        layer.params["b"][...] = _data(1, 4, seed=5)[0]
    check_layer(layer, _data(7, 3), training=training)


@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_after_dense_gradient(use_bias):
    """The second layer reads the first one's output buffer, ones row included."""
    model = sl.Sequential(
        [sl.Dense(4, "relu"), sl.Dense(3, "tanh", use_bias=use_bias), sl.Dense(2)],
        dtype="float64",
    )
    model.compile("mse", "sgd").build(3)
    for layer in model.layers:
        if layer.use_bias:
            layer.params["b"][...] = _data(1, layer.units, seed=layer.units)[0]
    check_model(model, _data(6, 3), _data(6, 2, seed=4))


def test_an_input_shaped_like_a_dense_output_buffer_is_read_as_given():
    """Only a Dense's own output carries a trusted row of ones; any other array is copied."""
    layer = _built(sl.Dense(2, use_bias=True), 3)
    layer.params["b"][...] = [0.5, -1.0]
    block = _data(4, 5)  # its last row is not ones: it must not act as the bias row
    x = block[:3].T
    np.testing.assert_allclose(
        layer.forward(x, training=True), x @ layer.params["W"] + layer.params["b"], rtol=1e-14
    )


@pytest.mark.parametrize(
    ("activation", "l1", "l2"), [("tanh", 0.01, 0.0), ("relu", 0.0, 0.03), ("sigmoid", 0.02, 0.05)]
)
def test_dense_gradient_with_penalty(activation, l1, l2):
    model = sl.Sequential(
        [sl.Dense(5, activation=activation, l1=l1, l2=l2), sl.Dense(1, l1=l1, l2=l2)],
        dtype="float64",
    )
    model.compile(loss="mse", optimizer=sl.SGD(lr=0.1))
    X, y = _data(8, 3), _data(8, 1, seed=2)
    check_model(model, X, y)


def test_train_step_loss_includes_penalty_and_update_is_gradient_step():
    l1, l2, lr = 0.01, 0.02, 0.1
    model = sl.Sequential(
        [sl.Dense(3, activation="tanh", l1=l1, l2=l2), sl.Dense(1, l2=l2)], dtype="float64"
    )
    model.compile(loss="mse", optimizer=sl.SGD(lr=lr))
    X, y = _data(6, 2), _data(6, 1, seed=3)
    model.build(2)
    W1, b1, W2, b2 = model.get_weights()
    out = np.tanh(X @ W1 + b1) @ W2 + b2
    penalty = l1 * np.abs(W1).sum() + l2 * (W1**2).sum() + l2 * (W2**2).sum()
    expected = np.mean((out - y) ** 2) + penalty
    assert model.train_step(X, y) == pytest.approx(expected, rel=1e-12)

    # the update: w -= lr * d(loss + penalty)/dw, with the penalty gradient on W only
    h = np.tanh(X @ W1 + b1)
    dout = 2 * (out - y) / out.size
    dW2 = h.T @ dout + 2 * l2 * W2
    dz = (dout @ W2.T) * (1 - h**2)
    dW1 = X.T @ dz + l1 * np.sign(W1) + 2 * l2 * W1
    expected_weights = [W1 - lr * dW1, b1 - lr * dz.sum(0), W2 - lr * dW2, b2 - lr * dout.sum(0)]
    for got, want in zip(model.get_weights(), expected_weights, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


FAN_IN, FAN_OUT = 300, 200
# init -> (distribution, spread): uniform spreads are the limit, normal ones the std
INITS = {
    "glorot_uniform": ("uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    "glorot_normal": ("normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_uniform": ("uniform", math.sqrt(6 / FAN_IN)),
    "he_normal": ("normal", math.sqrt(2 / FAN_IN)),
    "lecun_normal": ("normal", math.sqrt(1 / FAN_IN)),
    "uniform": ("uniform", 0.5),
}


@pytest.mark.parametrize("init", list(INITS))
def test_init_statistics(init):
    kind, spread = INITS[init]
    layer = _built(sl.Dense(FAN_OUT, init=init), FAN_IN)
    W = layer.params["W"]
    assert W.shape == (FAN_IN, FAN_OUT)
    assert abs(W.mean()) < 0.02 * spread
    if kind == "uniform":
        assert np.abs(W).max() <= spread
        assert np.abs(W).max() > 0.999 * spread
        assert W.std() == pytest.approx(spread / math.sqrt(3), rel=0.02)
    else:
        assert W.std() == pytest.approx(spread, rel=0.02)
        assert np.abs(W).max() > 3.5 * spread  # normal tails, impossible for a uniform
    np.testing.assert_array_equal(layer.params["b"], 0.0)


def test_zeros_init():
    layer = _built(sl.Dense(4, init="zeros"), 3)
    np.testing.assert_array_equal(layer.params["W"], 0.0)


def selu(z):
    """A user function that only shares the built-in's name."""
    return np.tanh(z)


@pytest.mark.parametrize(
    ("activation", "expected"),
    [("relu", "he_normal"), ("leaky_relu", "he_normal"), ("tanh", "glorot_uniform")]
    + [("sigmoid", "glorot_uniform"), ("linear", "glorot_uniform"), ("selu", "lecun_normal")]
    + [(selu, "glorot_uniform")],
)
def test_auto_init_choice(activation, expected):
    auto = _built(sl.Dense(FAN_OUT, activation=activation), FAN_IN, seed=4)
    explicit = _built(sl.Dense(FAN_OUT, activation=activation, init=expected), FAN_IN, seed=4)
    np.testing.assert_array_equal(auto.params["W"], explicit.params["W"])
    kind, spread = INITS[expected]
    target = spread / math.sqrt(3) if kind == "uniform" else spread
    assert auto.params["W"].std() == pytest.approx(target, rel=0.02)


@pytest.mark.parametrize("init", ["glorot_uniform", "he_normal", "uniform"])
def test_weight_scale_multiplies(init):
    plain = _built(sl.Dense(6, init=init), 5, seed=9)
    scaled = _built(sl.Dense(6, init=init, weight_scale=7.5), 5, seed=9)
    np.testing.assert_allclose(scaled.params["W"], 7.5 * plain.params["W"], rtol=1e-15)
    np.testing.assert_array_equal(scaled.params["b"], 0.0)


@pytest.mark.parametrize("init", ["glorot_uniform", "zeros"])
def test_a_weight_scale_the_dtype_cannot_hold_is_refused_at_build(init):
    """1e300 is finite, but not in float32: the weights started infinite (or NaN for zeros)
    behind a NumPy overflow warning, and the run diverged at its first step."""
    model = sl.Sequential([sl.Dense(4, init=init, weight_scale=1e300), sl.Dense(1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            sl.SigmalabError, match=r"weight_scale=1e\+300 is too large for float32"
        ):
            model.build(2)
        assert np.isfinite(_built(sl.Dense(4, weight_scale=1e300), 2).params["W"]).all()


def test_dense_stores_forward_and_backward_values():
    layer = _built(sl.Dense(3, activation="tanh"), 2)
    x = _data(4, 2)
    a = layer.forward(x, training=True)
    z = x @ layer.params["W"] + layer.params["b"]
    np.testing.assert_allclose(layer.z, z)
    np.testing.assert_allclose(layer.a, np.tanh(z))
    assert layer.x is x and a is layer.a
    dy = _data(4, 3, seed=8)
    layer.backward(dy)
    np.testing.assert_allclose(layer.delta, dy * (1 - np.tanh(z) ** 2))


# ---- BatchNorm ---------------------------------------------------------------------------


def _batchnorm(dim=3, seed=0):
    layer = _built(sl.BatchNorm(), dim)
    rng = np.random.default_rng(seed)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, dim)
    layer.params["beta"][...] = rng.normal(size=dim)
    return layer


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradient(training):
    layer = _batchnorm()
    layer.state["running_mean"][...] = [0.3, -0.2, 1.0]
    layer.state["running_var"][...] = [0.5, 2.0, 1.5]
    check_layer(layer, _data(6, 3, scale=2.0) + 1.0, training=training)


def test_batchnorm_running_statistics_known_answer():
    momentum, eps = 0.1, 1e-5
    layer = _batchnorm()
    gamma, beta = layer.params["gamma"].copy(), layer.params["beta"].copy()
    running_mean, running_var = np.zeros(3), np.ones(3)
    for step in range(4):
        x = _data(5 + step, 3, seed=10 + step, scale=1.0 + step) + step
        n = x.shape[0]
        mean = [sum(x[i, j] for i in range(n)) / n for j in range(3)]
        biased = [sum((x[i, j] - mean[j]) ** 2 for i in range(n)) / n for j in range(3)]
        unbiased = [v * n / (n - 1) for v in biased]
        out = layer.forward(x, training=True)
        expected = [
            [
                gamma[j] * (x[i, j] - mean[j]) / math.sqrt(biased[j] + eps) + beta[j]
                for j in range(3)
            ]
            for i in range(n)
        ]
        np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
        running_mean = (1 - momentum) * running_mean + momentum * np.array(mean)
        running_var = (1 - momentum) * running_var + momentum * np.array(unbiased)
        np.testing.assert_allclose(layer.state["running_mean"], running_mean, rtol=1e-12)
        np.testing.assert_allclose(layer.state["running_var"], running_var, rtol=1e-12)
    x = _data(4, 3, seed=99)
    expected = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    before = {k: v.copy() for k, v in layer.state.items()}
    np.testing.assert_allclose(layer.forward(x, training=False), expected, rtol=1e-12)
    for name, value in before.items():  # inference leaves the running statistics alone
        np.testing.assert_array_equal(layer.state[name], value)


def test_batchnorm_matches_torch():
    torch = pytest.importorskip("torch")
    layer = _batchnorm(seed=3)
    reference = torch.nn.BatchNorm1d(3, momentum=0.1, eps=1e-5).double()
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(layer.params["gamma"].copy()))
        reference.bias.copy_(torch.from_numpy(layer.params["beta"].copy()))
    for step in range(3):
        x = _data(6, 3, seed=20 + step, scale=2.0) + step
        tx = torch.from_numpy(x.copy()).requires_grad_(True)
        reference.train()
        expected = reference(tx)
        dy = _data(6, 3, seed=30 + step)
        expected.backward(torch.from_numpy(dy))
        out = layer.forward(x, training=True)
        dx = layer.backward(dy)
        np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.grads["gamma"], reference.weight.grad.numpy(), 1e-9)
        reference.weight.grad = reference.bias.grad = None
    np.testing.assert_allclose(layer.state["running_mean"], reference.running_mean.numpy())
    np.testing.assert_allclose(layer.state["running_var"], reference.running_var.numpy())
    reference.eval()
    x = _data(5, 3, seed=50)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-10, atol=1e-12)


def test_batchnorm_float32():
    layer = _built(sl.BatchNorm(), 2, dtype=np.float32)
    out = layer.forward(_data(5, 2).astype(np.float32), training=True)
    assert out.dtype == np.float32 and layer.state["running_var"].dtype == np.float32
    assert layer.backward(np.ones((5, 2), np.float32)).dtype == np.float32


# ---- Dropout -----------------------------------------------------------------------------


def _dropout(rate, seed=0):
    return _built(sl.Dropout(rate), 4, seed=seed)


def test_dropout_gradient_with_fixed_mask():
    layer = _dropout(0.4)

    def reseed():
        layer.rng = np.random.default_rng(7)

    check_layer(layer, _data(8, 4), training=True, before_forward=reseed)


def test_dropout_backward_uses_forward_mask():
    layer = _dropout(0.5)
    x = _data(50, 4) + 5.0  # no zeros in x, so zeros in the output are dropped units
    out = layer.forward(x, training=True)
    kept = out != 0
    assert 0 < kept.mean() < 1
    dy = _data(50, 4, seed=2)
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dx[~kept], 0.0)
    np.testing.assert_allclose(dx[kept], dy[kept] * 2.0, rtol=1e-15)
    np.testing.assert_allclose(out[kept], x[kept] * 2.0, rtol=1e-15)


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.5, 0.8])
def test_dropout_statistics(rate):
    layer = _dropout(rate)
    x = np.ones((4000, 25))
    out = layer.forward(x, training=True)
    assert np.mean(out == 0) == pytest.approx(rate, abs=0.01)
    assert out.mean() == pytest.approx(1.0, abs=0.03)
    np.testing.assert_allclose(np.unique(out[out != 0]), [1 / (1 - rate)])


@pytest.mark.parametrize("rate", [0.0, 0.3, 1.0])
def test_dropout_identity_at_inference(rate):
    layer = _dropout(rate)
    x = _data(5, 4)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)
    np.testing.assert_array_equal(layer.backward(np.ones((5, 4))), 1.0)


def test_dropout_rate_zero_is_identity_in_training():
    layer = _dropout(0.0)
    x = _data(5, 4)
    np.testing.assert_array_equal(layer.forward(x, training=True), x)
    dy = _data(5, 4, seed=3)
    np.testing.assert_array_equal(layer.backward(dy), dy)


def test_dropout_rate_one_gives_zeros_without_warnings():
    layer = _dropout(1.0)
    x = _data(5, 4)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        out = layer.forward(x, training=True)
        dx = layer.backward(_data(5, 4, seed=3))
    np.testing.assert_array_equal(out, 0.0)
    np.testing.assert_array_equal(dx, 0.0)
    assert np.isfinite(out).all() and np.isfinite(dx).all()


def test_model_with_full_dropout_learns_nothing():
    """The text: "1.0 = Drop out everything. The model learns nothing."."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = np.tile([0, 1], 20)  # balanced labels: the output bias has nothing to learn either
    model = sl.Sequential([sl.Dense(8, activation="relu"), sl.Dropout(1.0), sl.Dense(1)])
    model.compile(loss="bce", optimizer=sl.Adam(lr=0.05))
    model.build(2)
    before = model.get_weights()
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        history = model.fit(X, y, epochs=5, batch_size=10, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], math.log(2), rtol=1e-6)
    for got, want in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(got, want)
    train_mode = model.forward(X, training=True)
    np.testing.assert_array_equal(train_mode, np.full_like(train_mode, train_mode[0, 0]))
