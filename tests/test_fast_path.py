"""The optimised training path (reused buffers, in-place activations, np.dot, batch gathers,
BLAS thread limits) gives the numbers of a plain NumPy re-implementation of backprop."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info

import sigmalab as sl
from sigmalab.backend import THREADED_PRODUCT_MIN, child_rngs
from sigmalab.model import RANDOM_STREAMS, batch_bounds


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# activation -> (value, derivative from z and a), written the textbook way
PLAIN_ACTIVATIONS = {
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z, a: (z > 0).astype(z.dtype)),
    "sigmoid": (_sigmoid, lambda z, a: a * (1.0 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}


def _plain_loss_grad(loss, out, y):
    """d mean-loss / d out, from the definitions."""
    n = out.shape[0]
    if loss == "mse":
        return 2.0 * (out - y) / out.size
    if loss == "bce":
        return (_sigmoid(out) - y) / n
    probabilities = np.exp(out - out.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return (probabilities - np.eye(out.shape[1])[y]) / n


def _plain_fit(weights, activations, loss, X, targets, lr, momentum, batch_size, orders):
    """Minibatch SGD (PyTorch's momentum rule) on (W, b) pairs, one epoch per sample order."""
    params = [array.copy() for array in weights]
    velocity = None
    for order in orders:
        for start, stop in batch_bounds(len(X), batch_size):
            x, y = X[order[start:stop]], targets[order[start:stop]]
            inputs, zs, outs = [], [], []
            for layer, name in enumerate(activations):
                W, b = params[2 * layer], params[2 * layer + 1]
                inputs.append(x)
                zs.append(x @ W + b)
                x = PLAIN_ACTIVATIONS[name][0](zs[-1])
                outs.append(x)
            dy = _plain_loss_grad(loss, x, y)
            grads = []
            for layer in reversed(range(len(activations))):
                delta = dy * PLAIN_ACTIVATIONS[activations[layer]][1](zs[layer], outs[layer])
                W = params[2 * layer]
                grads[:0] = [inputs[layer].T @ delta, delta.sum(axis=0)]
                dy = delta @ W.T
            if momentum:
                velocity = (
                    grads
                    if velocity is None
                    else [momentum * v + g for v, g in zip(velocity, grads, strict=True)]
                )
                grads = velocity
            params = [p - lr * g for p, g in zip(params, grads, strict=True)]
    return params


CASES = [
    ("mse", ["tanh", "sigmoid", "linear"], 1, 0.0),
    ("cross_entropy", ["relu", "relu", "linear"], 4, 0.9),
    ("bce", ["relu", "tanh", "linear"], 1, 0.5),
]


@pytest.mark.parametrize(("loss", "activations", "outputs", "momentum"), CASES)
@pytest.mark.parametrize(("dtype", "tolerance"), [("float64", 1e-10), ("float32", 2e-4)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_matches_plain_backprop(
    loss, activations, outputs, momentum, dtype, tolerance, shuffle
):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((47, 3))  # 47 = 4 batches of 10 and one of 7: two buffer sizes
    y = {"mse": X[:, :1] * X[:, 1:2], "bce": (X[:, 0] > 0).astype(int)}.get(
        loss, rng.integers(0, outputs, len(X))
    )
    layers = [sl.Dense(6, activations[0]), sl.Dense(5, activations[1])]
    model = sl.Sequential([*layers, sl.Dense(outputs, activations[2])], seed=3, dtype=dtype)
    model.compile(loss, sl.SGD(lr=0.1, momentum=momentum))
    model.build(3)
    start = [w.astype(np.float64) for w in model.get_weights()]
    model.fit(X, y, epochs=3, batch_size=10, shuffle=shuffle, verbose=0)
    targets = model.loss.prepare_targets(y, len(X), outputs, np.dtype(np.float64))
    shuffler = child_rngs(3, len(RANDOM_STREAMS))[RANDOM_STREAMS.index("shuffle")]
    orders = [shuffler.permutation(len(X)) if shuffle else np.arange(len(X)) for _ in range(3)]
    want = _plain_fit(start, activations, loss, X, targets, 0.1, momentum, 10, orders)
    for got, expected in zip(model.get_weights(), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


def test_probe_values_after_a_training_pass_are_that_pass_values():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((9, 4))
    model = sl.Sequential([sl.Dense(5, "relu"), sl.Dense(2)], seed=1, dtype="float64")
    model.compile("mse", "sgd").build(4)
    model.train_step(rng.standard_normal((9, 4)), rng.standard_normal((9, 2)))  # fills buffers
    out = model._forward(X, True)
    dense = model.layers[0]
    z = X @ dense.params["W"] + dense.params["b"]
    np.testing.assert_allclose(dense.z, z, rtol=1e-14)
    np.testing.assert_allclose(dense.a, np.maximum(z, 0), rtol=1e-14)
    dy = np.ones_like(out)
    model._backward(dy, need_input_grad=False)
    np.testing.assert_allclose(dense.delta, (dy @ model.layers[1].params["W"].T) * (z > 0))


def test_predictions_are_never_overwritten_by_later_passes():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((10, 3))
    model = sl.Sequential([sl.Dense(4, "tanh"), sl.Dense(1)], seed=0).compile("mse", "sgd")
    first = model.predict(X)
    kept = first.copy()
    model.fit(X, rng.standard_normal(10), epochs=2, batch_size=10, verbose=0)
    model.predict(2 * X)
    np.testing.assert_array_equal(first, kept)


def test_memory_layout_of_the_data_does_not_change_the_result():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 4))
    y = rng.integers(0, 3, 30)
    results = []
    for data in (X, np.asfortranarray(X), np.repeat(X, 2, axis=1)[:, ::2]):
        model = sl.Sequential([sl.Dense(5, "relu"), sl.Dense(3)], seed=8, dtype="float64")
        model.compile("cross_entropy", "sgd").fit(data, y, epochs=2, batch_size=8, verbose=0)
        results.append(model.get_weights())
    for other in results[1:]:
        for got, want in zip(other, results[0], strict=True):
            np.testing.assert_array_equal(got, want)


class _BlasThreads(sl.Callback):
    """Records how many threads NumPy's BLAS may use while training runs.

    Only NumPy's own BLAS does the training products; SciPy may load another copy.
    """

    def on_batch_end(self, model, step, logs):
        self.threads = max(
            lib["num_threads"]
            for lib in threadpool_info()
            if lib["user_api"] == "blas" and "numpy" in lib["filepath"]
        )


def test_small_products_train_on_one_blas_thread():
    model = sl.Sequential([sl.Dense(8, "tanh"), sl.Dense(1)]).compile("mse", "sgd")
    probe = _BlasThreads()
    X = np.zeros((20, 2))
    model.fit(X, np.zeros(20), batch_size=10, verbose=0, callbacks=[probe])
    assert probe.threads == 1
    assert model.largest_product(10) < THREADED_PRODUCT_MIN
