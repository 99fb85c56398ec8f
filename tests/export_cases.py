"""Small trained models and inputs shared by the PyTorch and ONNX export tests."""

import numpy as np

import sigmalab as sl
from sigmalab.activations import BUILTIN_NAMES
from sigmalab.data.features import FEATURES

FORMULAS = (
    "x * sigmoid(x)",
    "where(x > 0, x, 0.1 * x)",
    "max(erf(x), abs(x) / 2) - min(x, 0.5)",
    "cos(x) * exp(-x**2) + log(1 + x**2) + sqrt(abs(x)) / (1 + 2**x) + tanh(x) - pi",
    "where(-1 < x <= 1, x, 0.5)",
)
ACTIVATIONS = (*BUILTIN_NAMES, *FORMULAS)
DTYPES = ("float32", "float64")
# Largest |export - predict| allowed: float32 rounding, or 1e-6 in float64.
TOLERANCE = {"float32": 1e-5, "float64": 1e-6}
LABELS = {
    "bce": lambda X: (X[:, 0] * X[:, 1] > 0).astype(float),
    "cross_entropy": lambda X: (X[:, 0] > 0).astype(int) + (X[:, 1] > 0),
    "mse": lambda X: np.sin(X[:, 0]) + X[:, 1],
}
OUTPUTS = {"bce": 1, "cross_entropy": 3, "mse": 1}


def raw_rows(rows=64, seed=0):
    """Raw (x1, x2) points, spread wide enough to reach both sides of every kink."""
    return np.random.default_rng(seed).normal(scale=2.0, size=(rows, 2))


def playground_model(activation="tanh", dtype="float32", loss="bce"):
    """Features, standardisation, Dense, BatchNorm (running stats from training), Dropout."""
    X = raw_rows()
    preprocessing = sl.Preprocessing.adapt(X, ["a", "b"], list(FEATURES))
    model = sl.Sequential(
        [
            sl.Dense(6, activation),
            sl.BatchNorm(),
            sl.Dropout(0.3),
            sl.Dense(OUTPUTS[loss]),
        ],
        dtype=dtype,
        preprocessing=preprocessing,
    )
    model.compile(loss, {"name": "adam", "lr": 0.05})
    model.fit(X, LABELS[loss](X), epochs=3, batch_size=16, verbose=0)
    return model


def real_model(dtype="float32"):
    """iris (four measurements, three species), standardised, trained a few epochs; and
    its test rows."""
    data = sl.datasets.load("iris")
    preprocessing = sl.Preprocessing.adapt(data.X_train, data.feature_names)
    model = sl.Sequential(
        [sl.Dense(8, "gelu"), sl.BatchNorm(), sl.Dense(3)],
        dtype=dtype,
        preprocessing=preprocessing,
    )
    model.compile("cross_entropy", "adam")
    model.fit(data.X_train, data.y_train, epochs=5, batch_size=16, verbose=0)
    return model, data.X_test


def max_difference(exported, model, X):
    """Largest |exported - predict| on raw rows X, after checking shapes agree."""
    expected = model.predict(X)
    assert exported.shape == expected.shape
    return float(np.abs(np.asarray(exported, dtype=np.float64) - expected).max())
