"""Sweeps: many runs of one run file over a grid of settings and seeds (``sl.sweep``).

``sigmalab sweep`` and ``sl.sweep`` expand the grid (``grid``), train the runs as
ensembles where they can, elsewhere in a process pool or on a Dask cluster (``backends``),
record each in ``results.sqlite`` as it finishes (``store``) and summarise them (``show``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .execute import run_sweep
from .summary import flat_rows
from .training import Measure

if TYPE_CHECKING:
    from ..config import RunConfig


def sweep(
    run: str | os.PathLike | RunConfig | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    seeds: int = 1,
    data_seeds: bool = False,
    out: str | os.PathLike | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    doctor: bool = True,
    measure: Measure | None = None,
) -> Any:
    """Train ``run`` for every combination of ``grid`` x ``seeds``; one row per run.

    ``grid`` maps run-file key paths to values (``{"train.optimizer.lr": [0.1, 0.03]}``).
    With ``out`` the results go to ``out/results.sqlite`` and a second call resumes; without
    it they live in a temporary folder. ``measure(config, model, dataset)``, a module-level
    function, adds numbers of its own from each trained model (the ``measures`` column).
    The rows come as a pandas DataFrame when pandas is installed, else as a list of dicts.
    """
    temporary = tempfile.TemporaryDirectory() if out is None else contextlib.nullcontext(out)
    with temporary as folder:
        store = run_sweep(
            run, grid, folder, seeds, data_seeds, workers, scheduler, doctor, measure=measure
        )
        with store:
            rows = flat_rows(store.rows())
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)


__all__ = ["run_sweep", "sweep"]
