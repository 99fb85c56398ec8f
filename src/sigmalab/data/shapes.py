"""Two extra 2-D classification sets in the Playground's [-6, 6] square: moons, checkerboard."""

from __future__ import annotations

import numpy as np

from .playground import noise_shift

MOONS_SCALE = 4.0
MOONS_CENTRE = np.array([0.5, 0.25])  # the centre of sklearn's moons' bounding box
CHECKER_SIZE = 3.0  # 4 x 4 squares on [-6, 6]^2


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles like sklearn's make_moons, stretched to x in [-6, 6].

    The outer moon (class 0) is a half circle of radius 4 centred at (-2, -1); the inner moon
    (class 1) one centred at (2, 1). ``noise`` is Gaussian jitter in make_moons' own units, so
    ``noise=0.1`` looks like ``make_moons(noise=0.1)``: its standard deviation here is 4 * noise.
    """
    n_outer = n // 2
    t_outer = np.linspace(0, np.pi, n_outer)
    t_inner = np.linspace(0, np.pi, n - n_outer)
    unit = np.concatenate(
        [
            np.column_stack([np.cos(t_outer), np.sin(t_outer)]),
            np.column_stack([1 - np.cos(t_inner), 0.5 - np.sin(t_inner)]),
        ]
    )
    X = (unit - MOONS_CENTRE) * MOONS_SCALE + rng.normal(0, noise * MOONS_SCALE, size=unit.shape)
    return X, (np.arange(n) >= n_outer).astype(np.int64)


def checkerboard_label(points: np.ndarray) -> np.ndarray:
    """Colour a point by the parity of its 3 x 3 square, so neighbouring squares differ."""
    cells = np.floor(points / CHECKER_SIZE).astype(np.int64)
    return (cells[:, 0] + cells[:, 1]) % 2


def checkerboard(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A 4 x 4 board on [-6, 6]^2; noise shifts the labelling point like the Playground's sets."""
    X = rng.uniform(-6, 6, size=(n, 2))
    return X, checkerboard_label(noise_shift(X, 6.0, noise, rng))
