"""The array module of the numerical core, the dtype policy and the seeded generators.

The layers, activations, losses, optimizers, initialisers, the model and the ensemble do
their array math through ``xp`` (NumPy), so that is the code a GPU array library with
NumPy's API would have to serve. Data loading, files, reports and the doctor's statistics
use NumPy directly: they run on the host whatever trains the network. The dtype policy and
the seeded random generators live here too, so determinism has a single home.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from functools import cache

import numpy as np

from .errors import SigmalabError

xp = np

DTYPES = {"float32": np.float32, "float64": np.float64}
DEFAULT_DTYPE = "float32"


def resolve_dtype(dtype: str | type | np.dtype | None) -> np.dtype:
    """Return the NumPy dtype for a name ("float32", "float64") or dtype, float32 by default."""
    if dtype is None:
        return np.dtype(DTYPES[DEFAULT_DTYPE])
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise SigmalabError(f"dtype must be one of {sorted(DTYPES)}, received: dtype={dtype!r}")
        return np.dtype(DTYPES[dtype])
    try:
        resolved = np.dtype(dtype)
    except (TypeError, ValueError):
        raise SigmalabError(
            f"dtype must be 'float32' or 'float64', received: dtype={dtype!r}"
        ) from None
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise SigmalabError(f"dtype must be float32 or float64, received: dtype={resolved}")
    return resolved


def child_rngs(seed: int | None, count: int) -> list[np.random.Generator]:
    """Independent generators derived from one seed (init, shuffling, dropout...)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(count)]


# Matrix products below this many multiply-adds run on one BLAS thread in training: waking
# and synchronising a second thread costs more than it saves, and on a busy machine the
# thread waits for a free core. Measured on 2 cores, OpenBLAS's default threads made all
# three reference shapes (up to 26 million per product) 0-15 % slower.
THREADED_PRODUCT_MIN = 1 << 26


@cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController  # scans the loaded libraries once

    return ThreadpoolController()


def blas_threads_for(largest_product: int) -> AbstractContextManager:
    """One BLAS thread while the largest product is below THREADED_PRODUCT_MIN, else default."""
    if largest_product >= THREADED_PRODUCT_MIN:
        return nullcontext()
    return _blas_controller().limit(limits=1, user_api="blas")
