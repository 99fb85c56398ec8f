"""Run a sweep: expand the grid, skip what is finished, batch the rest, record as they end.

Runs that can share an ``sl.Ensemble`` (``training.member_settings``) are grouped into
batches; a large group is split so that every worker has a share, and no ensemble grows
past MAX_MEMBERS. Every outcome is written to the results file the moment its batch ends.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..validation import check_int
from .backends import Batch, run_batches
from .grid import SweepRun, expand
from .store import ResultStore
from .training import Measure, member_settings

MAX_MEMBERS = 256  # a bound on one ensemble's memory: members x samples x features per epoch


def run_sweep(
    run: str | os.PathLike | RunConfig | Mapping[str, Any],
    grid: Mapping[str, Sequence[Any]],
    out: str | os.PathLike,
    seeds: int = 1,
    data_seeds: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
    doctor: bool = True,
    on_start: Callable[[int, int], None] | None = None,
    on_outcomes: Callable[[list[dict[str, Any]]], None] | None = None,
    measure: Measure | None = None,
) -> ResultStore:
    """Train every run of the grid not yet finished in ``out``; the open results store.

    ``on_start(total, pending)`` is called once the grid is validated and registered;
    ``on_outcomes(outcomes)`` after each batch is recorded (a progress bar). ``measure``
    (see ``training.Measure``) adds its numbers to each run's row as ``measures``.
    """
    workers = check_int("workers", workers, low=1)
    runs = expand(run, grid, seeds=seeds, data_seeds=data_seeds)
    store = ResultStore(out)
    try:
        store.register(_description(runs, grid, seeds, data_seeds, measure), runs)
        pending = store.pending(run.id for run in runs)
        todo = [run for run in runs if run.id in pending]
        if on_start is not None:
            on_start(len(runs), len(todo))
        base_dir = runs[0].config.base_dir
        batches = plan_batches(todo, workers)
        for outcomes in run_batches(
            batches,
            None if base_dir is None else str(base_dir),
            doctor,
            workers,
            scheduler,
            measure,
        ):
            store.record(outcomes)
            if on_outcomes is not None:
                on_outcomes(outcomes)
    except BaseException:
        store.close()
        raise
    return store


def _description(
    runs: Sequence[SweepRun],
    grid: Mapping[str, Sequence[Any]],
    seeds: int,
    data_seeds: bool,
    measure: Measure | None = None,
) -> dict[str, Any]:
    """What makes a sweep the same sweep: the grid, the seeds, the run file it varies and
    the measure function (rows without its numbers must not be mixed in)."""
    ids = " ".join(sorted(run.id for run in runs))  # a changed run file changes them
    description = {
        "grid": [[key, list(values)] for key, values in grid.items()],  # keeps the key order
        "seeds": seeds,
        "data_seeds": data_seeds,
        "runs": hashlib.sha256(ids.encode()).hexdigest()[:16],
    }
    if measure is not None:
        description["measure"] = f"{measure.__module__}.{measure.__qualname__}"
    return description


def plan_batches(runs: Sequence[SweepRun], workers: int) -> list[Batch]:
    """Runs grouped by ensemble key (grid order kept), each group cut into near-equal
    batches: at least one per worker when it is large enough, none over MAX_MEMBERS."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for run in runs:
        config = run.config.to_dict()
        groups.setdefault(member_settings(config)[1], []).append((run.id, config))
    batches = []
    for group in groups.values():
        count = max(math.ceil(len(group) / MAX_MEMBERS), min(workers, len(group)))
        size = math.ceil(len(group) / count)
        batches.extend(group[start : start + size] for start in range(0, len(group), size))
    return batches


def results_folder(out: str | os.PathLike | None, run: object) -> Path:
    """The folder for a sweep's results: ``out``, else ``sweeps/<run file name>``."""
    if out is not None:
        return Path(out)
    name = Path(run).stem if isinstance(run, str | os.PathLike) else "sweep"
    return Path("sweeps") / name
