"""Repair: apply a finding's remedy to the run file, retrain from scratch, and keep it only if
the problem is gone and the model is no worse - a fix with proof, not a suggestion.

The loop takes the most severe problem, tries its remedies in order (each a full retrain with
the same seeds and epoch budget), accepts the first that removes the problem and improves the
validation metric, then moves on to whatever problems remain, until none is left or the budget
of retrains is spent.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..config import RunConfig, save_run
from ..errors import SigmalabError
from ..json_values import json_safe
from .diagnose import Diagnosis, Metric, RunSource, as_run_config, diagnose
from .findings import Finding, worst
from .remedies import apply_remedy
from .report import describe_remedy

# Chance variation between two seeded runs: two points of test accuracy, 5 % of the test loss.
ACCURACY_NOISE = 0.02
LOSS_NOISE_FRACTION = 0.05


@dataclass
class Attempt:
    """One retrain: which finding it targeted, the remedy, the metric before/after, the verdict."""

    finding: Finding
    remedy: dict
    metric_before: float
    metric_after: float | None
    finding_gone: bool
    accepted: bool
    findings_after: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record of the attempt."""
        return {
            "finding": self.finding.kind,
            "severity": self.finding.severity,
            "remedy": dict(self.remedy),
            "metric_before": json_safe(self.metric_before),
            "metric_after": json_safe(self.metric_after),
            "finding_gone": self.finding_gone,
            "accepted": self.accepted,
            "findings_after": list(self.findings_after),
            "error": self.error,
        }


@dataclass
class RepairResult:
    """The attempts in order, the original and repaired runs, and their diagnoses."""

    original: Diagnosis
    final: Diagnosis
    attempts: list[Attempt]
    retrains: int
    budget: int

    @property
    def config(self) -> RunConfig:
        """The repaired run (the original when nothing was accepted)."""
        return self.final.config

    @property
    def accepted(self) -> list[Attempt]:
        """The remedies that were kept, in the order they were applied."""
        return [attempt for attempt in self.attempts if attempt.accepted]

    @property
    def healthy(self) -> bool:
        """True when the final run has no warning or error left."""
        return not self.final.problems

    def table(self) -> list[tuple[str, str, str]]:
        """Rows of (quantity, before, after) comparing the original and the repaired run."""
        before, after = self.original, self.final
        return [
            (before.metric.name, _format(before.metric.value), _format(after.metric.value)),
            (
                "train_loss",
                _format(before.summary.get("train_loss")),
                _format(after.summary.get("train_loss")),
            ),
            ("problems", _kinds(before), _kinds(after)),
            ("remedies", "", ", ".join(describe_remedy(a.remedy) for a in self.accepted) or "-"),
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: attempts, the before/after table and the repaired config."""
        return {
            "attempts": [attempt.to_dict() for attempt in self.attempts],
            "retrains": self.retrains,
            "budget": self.budget,
            "healthy": self.healthy,
            "metric": self.original.metric.name,
            "before": self.original.to_dict(),
            "after": self.final.to_dict(),
            "table": [list(row) for row in self.table()],
            "config": self.config.to_dict(),
        }

    def save(self, path: str | os.PathLike) -> None:
        """Write the repaired run file (TOML) so the fix can be rerun and read as a diff."""
        save_run(self.config, path)

    def render(self, console: Any = None) -> None:
        """Print the attempts and the before/after table with rich."""
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        attempts = Table(title="Repair attempts", title_justify="left")
        for column in ("#", "finding", "remedy", self.original.metric.name, "gone", "verdict"):
            attempts.add_column(column)
        for number, attempt in enumerate(self.attempts, 1):
            verdict = "[green]accepted" if attempt.accepted else "[red]rejected"
            if attempt.error is not None:
                verdict = "skipped"
            metric = f"{_format(attempt.metric_before)} -> {_format(attempt.metric_after)}"
            attempts.add_row(
                str(number),
                attempt.finding.kind,
                describe_remedy(attempt.remedy),
                metric if attempt.error is None else attempt.error,
                "yes" if attempt.finding_gone else "no",
                verdict,
            )
        console.print(attempts)
        summary = Table(title="Before / after", title_justify="left")
        for column in ("", "before", "after"):
            summary.add_column(column)
        for row in self.table():
            summary.add_row(*row)
        console.print(summary)


def repair(
    config_or_path: RunSource,
    budget: int = 4,
    verbose: bool = False,
    diagnose_run: Callable[[RunConfig], Diagnosis] = diagnose,
) -> RepairResult:
    """Diagnose the run, then fix its problems one remedy and one full retrain at a time.

    ``budget`` caps the number of retrains (the first diagnosis is not counted).
    ``diagnose_run`` trains and diagnoses one config; tests and benchmarks may pass their own.
    """
    trained = _Trained(diagnose_run)
    original = trained(as_run_config(config_or_path))
    trained.retrains = 0  # the first diagnosis is not counted
    current = original
    attempts: list[Attempt] = []
    given_up: set[str] = set()
    while trained.retrains < budget:
        target = _next_target(current, given_up)
        if target is None:
            break
        fixed = _fix(target, current, budget, attempts, trained, verbose)
        if fixed is None:
            given_up.add(target.kind)
        else:
            current = fixed
    return RepairResult(original, current, attempts, trained.retrains, budget)


class _Trained:
    """``diagnose_run`` that trains each distinct config once and counts the retrains.

    Runs are seeded, so a config tried before (two findings can share a remedy, such as
    divergence and exploding gradients a lower learning rate) gives the same diagnosis.
    """

    def __init__(self, diagnose_run: Callable[[RunConfig], Diagnosis]) -> None:
        self.diagnose_run = diagnose_run
        self.retrains = 0
        self._seen: dict[str, Diagnosis] = {}

    def __call__(self, config: RunConfig) -> Diagnosis:
        key = json.dumps(config.to_dict(), sort_keys=True, default=str)
        if key not in self._seen:
            self._seen[key] = self.diagnose_run(config)
            self.retrains += 1
        return self._seen[key]


def _fix(
    target: Finding,
    current: Diagnosis,
    budget: int,
    attempts: list[Attempt],
    trained: _Trained,
    verbose: bool,
) -> Diagnosis | None:
    """Try ``target``'s remedies in order, within ``budget`` retrains; the accepted diagnosis.

    A rejected scaling remedy (one with a ``factor``) that did not make the metric worse may
    have gone the right way but not far enough - a learning rate 1000x too low needs more
    than one 10x step - so once the list is exhausted it is applied again on top of its own
    result while the budget lasts.
    """
    queue = [(current.config, remedy, remedy) for remedy in target.remedies]
    further: list[tuple[RunConfig, dict, dict]] = []
    while trained.retrains < budget and (queue or further):
        base, remedy, total = queue.pop(0) if queue else further.pop(0)
        try:
            candidate = _apply(base, remedy)
        except SigmalabError as error:  # RemedyError, or a remedy that makes the run invalid
            attempts.append(_attempt(target, total, current.metric, None, error=str(error)))
            continue
        after = trained(candidate)
        attempt = _attempt(target, total, current.metric, after)
        attempts.append(attempt)
        if verbose:
            _report(attempt, current.metric.name)
        if attempt.accepted:
            return after
        if "factor" in remedy and not_worse(current.metric, after.metric):
            further.append((candidate, remedy, _compounded(total, remedy)))
    return None


def _compounded(total: dict, remedy: dict) -> dict:
    """``total`` applied once more: the factors multiply (0.1 then 0.1 is 0.01 overall)."""
    return {**total, "factor": float(f"{total['factor'] * remedy['factor']:.10g}")}


def _next_target(diagnosis: Diagnosis, given_up: set[str]) -> Finding | None:
    """The most severe problem whose remedies have not all failed already."""
    return worst(f for f in diagnosis.problems if f.kind not in given_up and f.remedies)


def _apply(config: RunConfig, remedy: dict) -> RunConfig:
    """The remedied run, validated like any run file (a remedy must produce a legal run)."""
    return RunConfig.from_dict(apply_remedy(config.to_dict(), remedy), config.base_dir)


def _attempt(
    target: Finding,
    remedy: dict,
    before: Metric,
    after: Diagnosis | None,
    error: str | None = None,
) -> Attempt:
    """The record of one try; accepted when the finding is gone and the metric improved."""
    finding_gone = after is not None and not after.has_problem(target.kind)
    return Attempt(
        finding=target,
        remedy=dict(remedy),
        metric_before=before.value,
        metric_after=None if after is None else after.metric.value,
        finding_gone=finding_gone,
        accepted=finding_gone and _improved(before, after.metric),
        findings_after=[] if after is None else [f.kind for f in after.problems],
        error=error,
    )


def metric_noise(metric: Metric) -> float:
    """How far ``metric`` may move by chance between two seeded runs differing in one setting."""
    if metric.higher_is_better:
        return ACCURACY_NOISE
    return LOSS_NOISE_FRACTION * abs(metric.value) if math.isfinite(metric.value) else 0.0


def not_worse(before: Metric, after: Metric) -> bool:
    """``after`` is at least as good as ``before``, within noise."""
    return after.score >= before.score - metric_noise(before)


def _improved(before: Metric, after: Metric) -> bool:
    """Better beyond noise; or, for a run that was already fine, equal within noise."""
    gain = after.score - before.score
    return gain > metric_noise(before) or (before.is_fine and not_worse(before, after))


def _report(attempt: Attempt, metric_name: str) -> None:
    verdict = "accepted" if attempt.accepted else "rejected"
    print(
        f"{attempt.finding.kind}: {describe_remedy(attempt.remedy)} -> {metric_name} "
        f"{_format(attempt.metric_before)} -> {_format(attempt.metric_after)}, "
        f"finding {'gone' if attempt.finding_gone else 'still there'}: {verdict}"
    )


def _kinds(diagnosis: Diagnosis) -> str:
    return ", ".join(sorted({f.kind for f in diagnosis.problems})) or "none"


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
