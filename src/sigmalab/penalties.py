"""L1/L2 weight penalties, written once for one network or a stack of them.

``W`` is one weight matrix (in, out) or a stack (networks, in, out); ``l1`` and ``l2`` are
numbers, or arrays of shape (networks, 1, 1) in W's dtype, one per stacked network. The
same arithmetic in the same order serves both, so a stacked network rounds its penalty
gradient exactly as it would alone.
"""

from __future__ import annotations

from .backend import xp


def weight_penalty(W: xp.ndarray, l1: float | xp.ndarray, l2: float | xp.ndarray) -> xp.ndarray:
    """l1 * sum|W| + l2 * sum W^2 per matrix, in float64: a 0-d array, or one per network."""
    networks = W.shape[:-2]
    total = xp.zeros(networks)
    if _any(l1):
        coefficient = xp.asarray(l1, xp.float64).reshape(networks)
        total += coefficient * xp.abs(W).sum(axis=(-2, -1), dtype=xp.float64)
    if _any(l2):
        coefficient = xp.asarray(l2, xp.float64).reshape(networks)
        total += coefficient * xp.einsum("...ij,...ij->...", W, W, dtype=xp.float64)
    return total


def add_penalty_gradient(
    dW: xp.ndarray, W: xp.ndarray, l1: float | xp.ndarray, l2: float | xp.ndarray
) -> None:
    """dW += 2 l2 W, then dW += l1 sign(W), in place."""
    if _any(l2):
        dW += (2.0 * l2) * W
    if _any(l1):
        dW += l1 * xp.sign(W)


def _any(coefficient: float | xp.ndarray) -> bool:
    """Whether a coefficient (a number, or one per network) is non-zero anywhere.

    Dense asks at every step: a plain number answers without NumPy's microseconds.
    """
    if isinstance(coefficient, float | int):
        return coefficient != 0
    return bool(coefficient.any())
