"""Train a batch of sweep runs: as one ``sl.Ensemble`` when their networks match, else alone.

A batch is what one worker trains. Runs whose configs differ only in what an ensemble
member may change (``MEMBER_SETTINGS``: seed, learning rate, and L1, L2, weight scale or
dropout rate when every such layer shares it) train together, so one batched step does
the work of K small ones; each member ends with the weights it would reach alone (see
``sigmalab.ensemble``), so its metrics equal ``train_run``'s up to float rounding. Any
other run trains through ``train_run`` itself. Outcomes are plain dicts, so that they
travel from a process pool or a Dask worker unchanged. A ``measure`` function, when given,
adds numbers of its own (a dead-unit fraction, per-layer gradients) from each trained
model: the metrics alone cannot show why a run went the way it did.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import RunConfig

if TYPE_CHECKING:
    from ..data.dataset import Dataset
    from ..model import Sequential

# measure(config, trained model, dataset) -> {name: number}; a module-level function, so
# that it travels to a process pool or a Dask worker by name.
Measure = Callable[[RunConfig, "Sequential", "Dataset"], Mapping[str, float]]

# Per-layer keys an ensemble member can set, when all layers of that type share the value.
_DENSE_SETTINGS = ("l1", "l2", "weight_scale")


def member_settings(config: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The settings an ensemble member carries, and a key equal for configs that can share
    an ensemble (the config with those settings taken out)."""
    rest = json.loads(json.dumps(config))  # a deep copy of plain values
    settings = {"seed": rest["model"].pop("seed"), "lr": rest["train"]["optimizer"].pop("lr")}
    layers = rest["model"]["layers"]
    dense = [layer for layer in layers if layer["type"] == "dense"]
    for name in _DENSE_SETTINGS:
        values = {layer[name] for layer in dense}
        if len(values) == 1:
            settings[name] = values.pop()
            for layer in dense:
                del layer[name]
    dropout = [layer for layer in layers if layer["type"] == "dropout"]
    rates = {layer["rate"] for layer in dropout}
    if len(rates) == 1:
        settings["dropout"] = rates.pop()
        for layer in dropout:
            del layer["rate"]
    return settings, json.dumps(rest, sort_keys=True)


def train_batch(
    runs: Sequence[tuple[str, dict[str, Any]]],
    base_dir: str | None,
    doctor: bool,
    measure: Measure | None = None,
) -> list[dict[str, Any]]:
    """Train ``(id, config dict)`` runs that share an ensemble key; one outcome per run.

    A batch of one trains with ``train_run``. If the ensemble cannot train (an error of
    one member's settings), each run trains alone so the others still finish. ``measure``
    adds its numbers to each outcome as ``measures``.
    """
    configs = [
        (run_id, RunConfig.from_dict(config, None if base_dir is None else Path(base_dir)))
        for run_id, config in runs
    ]
    if len(configs) > 1:
        try:
            return _train_ensemble(configs, doctor, measure)
        except Exception:  # fall back: each run then fails or succeeds alone
            pass
    return [_train_alone(run_id, config, doctor, measure) for run_id, config in configs]


def _train_alone(
    run_id: str, config: RunConfig, doctor: bool, measure: Measure | None
) -> dict[str, Any]:
    from ..doctor import Doctor
    from ..runner import train_run

    started = time.perf_counter()
    watcher = Doctor() if doctor else None
    try:
        result = train_run(config, callbacks=[] if watcher is None else [watcher], verbose=0)
        measures = _measured(measure, config, result.model, result.dataset)
    except Exception as error:  # a failed run is a result of the sweep
        return _failure(run_id, error, started)
    return _outcome(run_id, result.summary, watcher, time.perf_counter() - started, measures)


def _measured(
    measure: Measure | None, config: RunConfig, model: Sequential, dataset: Dataset
) -> dict[str, float] | None:
    """``measure``'s numbers as plain floats, or None without a measure."""
    if measure is None:
        return None
    return {str(name): float(value) for name, value in measure(config, model, dataset).items()}


def _train_ensemble(
    configs: list[tuple[str, RunConfig]], doctor: bool, measure: Measure | None
) -> list[dict[str, Any]]:
    from ..doctor import Doctor
    from ..ensemble import Ensemble
    from ..runner import check_loss_fits, load_data, summarize, watched_split

    started = time.perf_counter()
    first = configs[0][1]
    dataset, preprocessing = load_data(first)
    check_loss_fits(first, dataset)
    members = [member_settings(config.to_dict())[0] for _, config in configs]
    layers = [layer.model_dump() for layer in first.model.layers]
    ensemble = Ensemble(layers, members, dtype=first.model.dtype)
    optimizer = first.train.optimizer.model_dump()
    ensemble.compile(first.train.loss, optimizer)
    patience = first.train.early_stopping_patience
    watchers = [Doctor() if doctor else None for _ in configs]

    def callbacks(k: int) -> list:
        from ..callbacks import EarlyStopping

        stopper = [] if patience is None else [EarlyStopping(patience=patience)]
        return [*stopper, *([] if watchers[k] is None else [watchers[k]])]

    X_watch, y_watch = watched_split(dataset)
    ensemble.fit(
        preprocessing(dataset.X_train),
        dataset.y_train,
        epochs=first.train.epochs,
        batch_size=first.train.batch_size,
        validation_data=(preprocessing(X_watch, "X_val"), y_watch),
        callbacks=callbacks,
    )
    seconds = (time.perf_counter() - started) / len(configs)  # each run's share
    outcomes = []
    for k, (run_id, config) in enumerate(configs):
        model = ensemble.member(k)
        model.preprocessing = preprocessing
        model.class_names = dataset.class_names
        summary = summarize(model, model.history, dataset)
        measures = _measured(measure, config, model, dataset)
        outcomes.append(_outcome(run_id, summary, watchers[k], seconds, measures))
    return outcomes


def _outcome(
    run_id: str, summary: dict, watcher: Any, seconds: float, measures: dict | None = None
) -> dict[str, Any]:
    from .store import DONE, METRICS

    kinds = [] if watcher is None else sorted({finding.kind for finding in watcher.findings})
    outcome = {
        "id": run_id,
        "status": DONE,
        "metrics": {name: summary[name] for name in METRICS if name in summary},
        "epochs": summary["epochs"],
        "seconds": round(seconds, 4),
        "findings": kinds,
    }
    if measures is not None:
        outcome["measures"] = measures
    return outcome


def _failure(run_id: str, error: Exception, started: float) -> dict[str, Any]:
    from ..errors import SigmalabError
    from .store import FAILED

    message = str(error) if isinstance(error, SigmalabError) else traceback.format_exc(limit=3)
    return {
        "id": run_id,
        "status": FAILED,
        "error": f"{type(error).__name__}: {message}",
        "seconds": round(time.perf_counter() - started, 4),
    }
