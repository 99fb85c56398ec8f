"""Where a sweep's batches train: here, in a local process pool, or on a Dask cluster.

Each backend maps ``train_batch`` over the batches and yields each batch's outcomes as it
finishes, so that the caller records them at once. Dask (``pip install 'sigmalab[sweep]'``)
is imported only when a scheduler is asked for: it is the path for sweeps that outgrow one
machine, and sigmalab carries no scheduler or RPC of its own.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import SigmalabError
from .training import Measure, train_batch

Batch = list[tuple[str, dict[str, Any]]]
LOCAL_CLUSTER = "local"
_LOST = (
    "some runs did not finish ({error}); the others are recorded: run the same command "
    "again to train only the rest"
)


def run_batches(
    batches: Sequence[Batch],
    base_dir: str | None,
    doctor: bool,
    workers: int = 1,
    scheduler: str | None = None,
    measure: Measure | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Each batch's outcomes, in the order the batches finish.

    Never more local workers than batches: a process pool forks all its workers up front,
    so ``--workers 100000`` for one run was still forking two minutes later.
    """
    workers = max(1, min(workers, len(batches)))
    if scheduler is not None:
        yield from _on_dask(batches, base_dir, doctor, workers, scheduler, measure)
    elif workers == 1:
        for batch in batches:
            yield train_batch(batch, base_dir, doctor, measure)
    else:
        yield from _in_processes(batches, base_dir, doctor, workers, measure)


def _in_processes(
    batches: Sequence[Batch],
    base_dir: str | None,
    doctor: bool,
    workers: int,
    measure: Measure | None,
) -> Iterator[list[dict[str, Any]]]:
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers)
    finished = False
    try:
        futures = [pool.submit(train_batch, batch, base_dir, doctor, measure) for batch in batches]
        for future in concurrent.futures.as_completed(futures):
            try:
                outcomes = future.result()
            except concurrent.futures.process.BrokenProcessPool as error:
                raise SigmalabError(_LOST.format(error=error or "a worker process died")) from None
            yield outcomes
        finished = True
    finally:  # on Ctrl-C or an error: drop what has not started, do not wait for it
        pool.shutdown(wait=finished, cancel_futures=not finished)


def _on_dask(
    batches: Sequence[Batch],
    base_dir: str | None,
    doctor: bool,
    workers: int,
    scheduler: str,
    measure: Measure | None,
) -> Iterator[list[dict[str, Any]]]:
    distributed = _import_distributed()
    cluster = None
    if scheduler == LOCAL_CLUSTER:
        # Its status page on any free port of this machine alone: None would mean Dask's
        # 8787, busy (and warned about) whenever another cluster runs here.
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, dashboard_address="127.0.0.1:0"
        )
        address = cluster.scheduler_address
    else:
        address = scheduler
    try:
        try:
            client = distributed.Client(address, timeout="5s")
        except (OSError, TimeoutError, ValueError) as error:
            raise SigmalabError(
                f"--scheduler: cannot reach a Dask scheduler at {scheduler!r} ({error}); give "
                "its address such as tcp://host:8786, or 'local' for a cluster on this machine"
            ) from None
        with client:
            futures = [
                client.submit(train_batch, batch, base_dir, doctor, measure, pure=False)
                for batch in batches
            ]
            lost = None
            for future in distributed.as_completed(futures):
                try:
                    outcomes = future.result()
                except Exception as error:  # a worker died more often than Dask retries
                    lost = error
                    continue
                yield outcomes
            if lost is not None:
                raise SigmalabError(_LOST.format(error=lost))
    finally:
        if cluster is not None:
            cluster.close()


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise SigmalabError(
            "--scheduler needs Dask: pip install 'sigmalab[sweep]' (dask[distributed])"
        ) from None
    return distributed
