"""Two built-in sets with more than two classes, in the Playground's [-6, 6] square: a
three-arm spiral and four Gaussian blobs, one class (and one colour in the playground) each."""

from __future__ import annotations

import numpy as np

from .playground import noise_shift, spiral_arm

SPIRAL_ARMS = 3
BLOB_COUNT = 4
BLOB_RADIUS = 3.5  # the blobs' centres lie on this circle, at 45, 135, 225 and 315 degrees


def _balanced_labels(n: int, classes: int) -> np.ndarray:
    """Labels 0..classes-1 in blocks of (almost) equal size, as int64."""
    return (np.arange(n) * classes // n).astype(np.int64)


def spiral3(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved arms (the Playground spiral's shape, turned by 120 degrees each),
    jittered by U(-noise, noise) like its two-arm spiral."""
    y = _balanced_labels(n, SPIRAL_ARMS)
    arms = [
        spiral_arm(int(np.sum(y == arm)), 2 * np.pi * arm / SPIRAL_ARMS)
        for arm in range(SPIRAL_ARMS)
    ]
    return noise_shift(np.concatenate(arms), 1.0, noise, rng), y


def blobs(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Four Gaussian blobs, one class each, on a circle of radius 3.5; noise widens them as
    it widens the Playground's gauss set (variance 0.5 to 4 over noise 0..0.5)."""
    y = _balanced_labels(n, BLOB_COUNT)
    angles = np.pi / 4 + np.pi / 2 * np.arange(BLOB_COUNT)
    centres = BLOB_RADIUS * np.column_stack([np.cos(angles), np.sin(angles)])
    variance = 0.5 + (4 - 0.5) * noise / 0.5
    return centres[y] + rng.normal(0, np.sqrt(variance), size=(n, 2)), y
