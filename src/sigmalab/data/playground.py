"""The six TensorFlow Playground datasets, ported from its dataset.ts.

Labels -1/+1 there become 0/1 here. ``noise`` is the Playground's 0..50 % slider as a
fraction (0..0.5). For most sets it moves the point used to compute the label, not the stored
point, so noise shows up as mislabelled points near the class boundary, exactly as in the
Playground. Every random draw comes from the ``rng`` passed in, so a seed fixes the data.
"""

from __future__ import annotations

import numpy as np

REG_GAUSS_CENTRES = np.array(
    [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]],
    dtype=np.float64,
)


def noise_shift(
    points: np.ndarray, scale: float, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """Return points moved by U(-scale, scale) * noise per coordinate, the Playground's noise."""
    return points + rng.uniform(-scale, scale, size=points.shape) * noise


def _polar(r: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Return (r sin a, r cos a) rows: the Playground's convention, angle 0 points up."""
    return np.column_stack([r * np.sin(angle), r * np.cos(angle)])


def _binary(mask: np.ndarray) -> np.ndarray:
    """Turn a boolean class mask into int64 labels 0/1."""
    return mask.astype(np.int64)


def circle_label(points: np.ndarray) -> np.ndarray:
    """Class 1 inside the disc of radius 2.5 around the origin."""
    return _binary(np.hypot(points[:, 0], points[:, 1]) < 2.5)


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 in a disc of radius 2.5, class 0 in a ring 3.5..5 around it (Playground circle)."""
    radius = 5.0
    n_inner = n // 2
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, n_inner), rng.uniform(radius * 0.7, radius, n - n_inner)]
    )
    X = _polar(r, rng.uniform(0, 2 * np.pi, n))
    return X, circle_label(noise_shift(X, radius, noise, rng))


def xor_label(points: np.ndarray) -> np.ndarray:
    """Class 1 in the quadrants where x * y >= 0."""
    return _binary(points[:, 0] * points[:, 1] >= 0)


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 in the quadrants where x*y >= 0; a 0.3 gap keeps points off the axes."""
    X = rng.uniform(-5, 5, size=(n, 2))
    X += np.where(X > 0, 0.3, -0.3)
    return X, xor_label(noise_shift(X, 5.0, noise, rng))


def gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs at (2, 2) (class 1) and (-2, -2); noise widens them.

    The variance is 0.5 + 7 noise: 0.5 to 4 over the Playground's noise range 0..0.5.
    """
    variance = 0.5 + (4 - 0.5) * noise / 0.5
    n_pos = n // 2
    centres = np.repeat([[2.0, 2.0], [-2.0, -2.0]], [n_pos, n - n_pos], axis=0)
    X = centres + rng.normal(0, np.sqrt(variance), size=(n, 2))
    return X, _binary(np.arange(n) < n_pos)


def spiral_arm(count: int, delta_t: float) -> np.ndarray:
    """``count`` points along one arm of 1.75 turns out to radius 5, turned by ``delta_t``."""
    step = np.arange(count) / count
    return _polar(step * 5, 1.75 * step * 2 * np.pi + delta_t)


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved arms of 1.75 turns out to radius 5, jittered by U(-noise, noise)."""
    n_pos = n // 2
    arms = [spiral_arm(n_pos, 0.0), spiral_arm(n - n_pos, np.pi)]
    X = noise_shift(np.concatenate(arms), 1.0, noise, rng)
    return X, _binary(np.arange(n) < n_pos)


def reg_plane_label(points: np.ndarray) -> np.ndarray:
    """Map x + y linearly from [-10, 10] to [-1, 1], unclamped as in the Playground."""
    return (points[:, 0] + points[:, 1]) / 10


def reg_gauss_label(points: np.ndarray) -> np.ndarray:
    """Return, per point, the signed bump (1 - d/2, clamped to [0, 1]) largest in magnitude.

    Ties keep the first centre, as the Playground only replaces on a strictly larger value.
    """
    d = np.hypot(
        points[:, 0, None] - REG_GAUSS_CENTRES[:, 0], points[:, 1, None] - REG_GAUSS_CENTRES[:, 1]
    )
    bumps = REG_GAUSS_CENTRES[:, 2] * np.clip(1 - d / 2, 0, 1)
    best = np.argmax(np.abs(bumps), axis=1)
    return bumps[np.arange(len(points)), best] + 0.0  # + 0.0 turns -0.0 into 0.0


def reg_plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Regression target (x + y) / 10 on the square [-6, 6]^2 (Playground plane)."""
    X = rng.uniform(-6, 6, size=(n, 2))
    return X, reg_plane_label(noise_shift(X, 6.0, noise, rng))


def reg_gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Regression target: six +-1 bumps of radius 2 on the square [-6, 6]^2 (Playground gauss)."""
    X = rng.uniform(-6, 6, size=(n, 2))
    return X, reg_gauss_label(noise_shift(X, 6.0, noise, rng))
