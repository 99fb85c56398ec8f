"""How far an Ensemble member drifts from the same network trained alone, by epochs trained.

Both run the same arithmetic, but the ensemble sums in a different order (stacked
products), so the results differ by rounding; training amplifies that difference, a lot in
chaotic runs (Adam, BatchNorm). Prints the largest absolute weight difference after each
number of epochs, in float32 and float64, with the BLAS kernel named.

    python benchmarks/ensemble_drift.py
"""

from __future__ import annotations

import numpy as np
import threadpoolctl

import sigmalab as sl

LAYERS = [
    {"type": "dense", "units": 8, "activation": "tanh"},
    {"type": "batchnorm"},
    {"type": "dense", "units": 8, "activation": "relu"},
    {"type": "dense", "units": 1},
]
SETUPS = {
    "SGD 0.1, no BN": ({"name": "sgd", "lr": 0.1}, [LAYERS[0], LAYERS[2], LAYERS[3]]),
    "Adam 0.01 + BN": ({"name": "adam", "lr": 0.01}, LAYERS),
    "Adam 0.05 + BN": ({"name": "adam", "lr": 0.05}, LAYERS),
}
EPOCHS = (5, 50, 300)


def largest_difference(a: sl.Sequential, b: sl.Sequential) -> float:
    """The largest absolute difference over all weights and running statistics."""
    return max(
        float(np.max(np.abs(x - y))) for x, y in zip(a.get_weights(), b.get_weights(), strict=True)
    )


def drift(optimizer: dict, layers: list[dict], epochs: int, dtype: str) -> float:
    """Largest weight difference of member 0 against its network trained alone."""
    X, y, _, _ = sl.datasets.load("xor", samples=200, noise=0.1, seed=0)
    ensemble = sl.Ensemble(layers, [{"seed": 0}, {"seed": 1}], dtype=dtype)
    ensemble.compile("bce", optimizer).fit(X, y, epochs=epochs, batch_size=10)
    alone = sl.Sequential.from_config({"seed": 0, "dtype": dtype, "layers": layers})
    alone.compile("bce", optimizer).fit(X, y, epochs=epochs, batch_size=10, verbose=0)
    return largest_difference(ensemble.member(0), alone)


def main() -> None:
    """Print the drift table."""
    blas = [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]
    print(f"BLAS: {blas[0]['internal_api']} kernel {blas[0].get('architecture')}" if blas else "")
    print(f"{'setup':<20}{'dtype':<9}" + "".join(f"{f'{e} epochs':>14}" for e in EPOCHS))
    for name, (optimizer, layers) in SETUPS.items():
        for dtype in ("float32", "float64"):
            row = [drift(optimizer, layers, epochs, dtype) for epochs in EPOCHS]
            print(f"{name:<20}{dtype:<9}" + "".join(f"{value:14.1e}" for value in row))


if __name__ == "__main__":
    main()
