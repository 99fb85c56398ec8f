"""What a claim of the text is, as an experiment: a run, a grid, and a judge of the results.

A claim module (``experiments/claims/``) gives the sentence it tests in our words, the published
result to compare with, the run file and grid it sweeps, a label for each setting, a
``judge`` that turns the runs into 95 % intervals and a verdict, and a figure. The helpers
here build the small Playground runs the claims share and read numbers out of result rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..sweeps.store import DONE
from .stats import Interval, mean_interval, proportion_interval
from .verdicts import Verdict

FULL_SEEDS = 30
QUICK_SEEDS = 10
OUTPUT = {"type": "dense", "units": 1}  # a logit for the bce loss
# Bounds of the quantities by the end of their names: shares lie in [0, 1], losses >= 0.
_BOUNDS = {"accuracy": (0.0, 1.0), "fraction": (0.0, 1.0), "loss": (0.0, math.inf)}


@dataclass(frozen=True)
class Number:
    """One reported number: the setting, what was measured, its interval over seeds."""

    setting: str
    quantity: str
    interval: Interval


@dataclass(frozen=True)
class Evidence:
    """A judged claim: its numbers and its verdict."""

    numbers: list[Number]
    verdict: Verdict


@dataclass(frozen=True)
class Claim:
    """A claim of the text as a sweep (see the module docstring)."""

    name: str
    sentence: str
    reference: str
    method: str
    run: Callable[[bool], dict[str, Any]]  # quick -> the run file as a dict
    grid: Mapping[str, Sequence[Any]]
    label: Callable[[Mapping[str, Any]], str]
    judge: Callable[[dict[str, list[dict[str, Any]]]], Evidence]
    draw: Callable[[Any, dict[str, list[dict[str, Any]]]], None]  # (figure, groups)

    def seeds(self, quick: bool) -> int:
        """Seeds per setting: at least 10 even in a quick lab."""
        return QUICK_SEEDS if quick else FULL_SEEDS


def hidden(activation: str, units: int = 8, **settings: Any) -> dict[str, Any]:
    """A hidden Dense layer as a run file writes it."""
    return {"type": "dense", "units": units, "activation": activation, **settings}


def playground_run(
    dataset: str,
    layers: list[dict[str, Any]],
    epochs: int,
    lr: float,
    optimizer: str = "sgd",
    samples: int = 200,
    noise: float = 0.0,
    batch_size: int = 10,
) -> dict[str, Any]:
    """A run file (as a dict) on a Playground dataset, standardised, with the bce loss; the
    inputs named as the playground page names them, so that it can open the file."""
    return {
        "data": {
            "dataset": dataset,
            "samples": samples,
            "noise": noise,
            "standardize": True,
            "features": ["x1", "x2"],
        },
        "model": {"seed": 0, "layers": layers},
        "train": {
            "loss": "bce",
            "epochs": epochs,
            "batch_size": batch_size,
            "optimizer": {"name": optimizer, "lr": lr},
        },
    }


def value(row: Mapping[str, Any], name: str) -> float:
    """A run's metric (``test_accuracy``) or measure (``start_error_0``); NaN if missing."""
    found = row.get(name, row["measures"].get(name))
    return math.nan if found is None else float(found)


def done(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The finished runs (failed and pending ones count as missing seeds)."""
    return [row for row in rows if row["status"] == DONE]


def mean_of(rows: Sequence[Mapping[str, Any]], name: str) -> Interval:
    """The mean of ``name`` over the finished runs, with its interval, kept inside the
    quantity's bounds (Student's t does not know that an accuracy stops at 1)."""
    interval = mean_interval(value(row, name) for row in done(rows))
    for ending, (low, high) in _BOUNDS.items():
        if name.endswith(ending):
            return replace(interval, low=max(interval.low, low), high=min(interval.high, high))
    return interval


def log10_mean_of(rows: Sequence[Mapping[str, Any]], name: str) -> Interval:
    """The mean of log10(``name``): for gradient sizes that span orders of magnitude."""
    return mean_interval(_log10(value(row, name)) for row in done(rows))


def share_of(
    rows: Sequence[Mapping[str, Any]], test: Callable[[Mapping[str, Any]], bool]
) -> Interval:
    """The share of finished runs for which ``test`` holds (Wilson interval)."""
    finished = done(rows)
    return proportion_interval(sum(bool(test(row)) for row in finished), len(finished))


def _log10(x: float) -> float:
    return math.log10(x) if x > 0 and math.isfinite(x) else math.nan
