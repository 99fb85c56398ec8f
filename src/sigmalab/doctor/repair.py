"""Repair: apply a finding's remedy to the run file, retrain from scratch, and keep it only if
the problem is gone and the model has learned - a fix with proof, not a suggestion.

The loop takes the most severe problem and tries its remedies in order, each a full retrain
with the same seeds and epoch budget. A remedy that removes its finding is kept and followed
by the remedies for whatever remains, so a fix that needs a second change (standardised
inputs, then a learning rate that suits them) is found as a sequence. The run handed back is
the best one reached that beats the original and the constant predictor, healthy ones
first; a run no better than always answering the same thing (``no_learning``) is never
accepted, whatever findings it lost.
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
from ..validation import check_int
from .diagnose import Diagnosis, Metric, RunSource, as_run_config, diagnose
from .findings import Finding, worst
from .remedies import apply_remedy
from .report import describe_remedy

# Chance variation between two seeded runs: two points of test accuracy, 5 % of the test loss.
ACCURACY_NOISE = 0.02
LOSS_NOISE_FRACTION = 0.05


@dataclass
class Attempt:
    """One retrain: the finding it targeted, the remedy, the metric of the run it changed
    (``step_from``: the attempt that produced that run, 0 for the original) and after."""

    finding: Finding
    remedy: dict
    metric_before: float
    metric_after: float | None
    finding_gone: bool
    accepted: bool = False  # on the path to the run handed back
    findings_after: list[str] = field(default_factory=list)
    error: str | None = None
    step_from: int = 0
    followed: bool = False  # it removed its finding, so the search went on from its run

    @property
    def verdict(self) -> str:
        """accepted (on the final path), followed (kept for a while), rejected or skipped."""
        if self.error is not None:
            return "skipped"
        if self.accepted:
            return "accepted"
        return "followed" if self.followed else "rejected"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record of the attempt."""
        return {
            "finding": self.finding.kind,
            "severity": self.finding.severity,
            "remedy": dict(self.remedy),
            "step_from": self.step_from,
            "metric_before": json_safe(self.metric_before),
            "metric_after": json_safe(self.metric_after),
            "finding_gone": self.finding_gone,
            "accepted": self.accepted,
            "verdict": self.verdict,
            "findings_after": list(self.findings_after),
            "error": self.error,
        }


@dataclass
class RepairResult:
    """The attempts in order, the original and repaired runs, their diagnoses, and every run
    trained (``tried``, the original first)."""

    original: Diagnosis
    final: Diagnosis
    attempts: list[Attempt]
    retrains: int
    budget: int
    tried: list[Diagnosis] = field(default_factory=list)

    @property
    def config(self) -> RunConfig:
        """The repaired run (the original when nothing was accepted)."""
        return self.final.config

    @property
    def accepted(self) -> list[Attempt]:
        """The path taken: the remedies kept, in the order they were applied."""
        return [attempt for attempt in self.attempts if attempt.accepted]

    @property
    def path(self) -> list[dict[str, Any]]:
        """Each step from the original to the repaired run: remedy, findings after, metric."""
        return [
            {
                "finding": attempt.finding.kind,
                "remedy": dict(attempt.remedy),
                "findings_after": list(attempt.findings_after),
                "metric": json_safe(attempt.metric_after),
            }
            for attempt in self.accepted
        ]

    @property
    def healthy(self) -> bool:
        """True when the final run has no warning or error left."""
        return not self.final.problems

    @property
    def best_tried(self) -> Diagnosis:
        """The run with the best metric among all trained, whatever its findings."""
        return max(self.tried or [self.original], key=lambda diagnosis: diagnosis.metric.score)

    def table(self) -> list[tuple[str, str, str]]:
        """Rows of (quantity, before, after) comparing the original and the repaired run."""
        before, after = self.original, self.final
        return [
            (before.metric.name, _format(before.metric.value), _format(after.metric.value)),
            (
                "constant predictor",
                _format(before.metric.constant),
                _format(after.metric.constant),
            ),
            (
                "train_loss",
                _format(before.summary.get("train_loss")),
                _format(after.summary.get("train_loss")),
            ),
            ("problems", _kinds(before), _kinds(after)),
            ("remedies", "", ", ".join(describe_remedy(a.remedy) for a in self.accepted) or "-"),
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: attempts, the path taken, the before/after table and the config."""
        return {
            "attempts": [attempt.to_dict() for attempt in self.attempts],
            "path": self.path,
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

    def save_html(self, path: str | os.PathLike) -> None:
        """Write the original run's findings and this report (attempts, path taken,
        before/after) as one HTML page, as the terminal shows them."""
        import io

        from rich.console import Console

        from ..files import atomic_write_bytes
        from .report import render

        console = Console(record=True, file=io.StringIO(), width=120)
        render(self.original.findings, console)
        self.render(console)
        atomic_write_bytes(path, console.export_html().encode())

    def render(self, console: Any = None) -> None:
        """Print the attempts, the path taken and the before/after table with rich."""
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        name = self.original.metric.name
        attempts = Table(title="Repair attempts", title_justify="left")
        for column in ("#", "from", "finding", "remedy", name, "gone", "verdict"):
            attempts.add_column(column)
        for number, attempt in enumerate(self.attempts, 1):
            metric = f"{_format(attempt.metric_before)} -> {_format(attempt.metric_after)}"
            attempts.add_row(
                str(number),
                f"#{attempt.step_from}" if attempt.step_from else "original",
                attempt.finding.kind,
                describe_remedy(attempt.remedy),
                metric if attempt.error is None else attempt.error,
                "yes" if attempt.finding_gone else "no",
                _VERDICT_STYLE[attempt.verdict] + attempt.verdict,
            )
        console.print(attempts)
        path = Table(title="Path taken", title_justify="left")
        for column in ("step", "remedy", "problems after", name):
            path.add_column(column)
        path.add_row(
            "0", "(original run)", _kinds(self.original), _format(self.original.metric.value)
        )
        for number, attempt in enumerate(self.accepted, 1):
            path.add_row(
                str(number),
                describe_remedy(attempt.remedy),
                ", ".join(sorted(set(attempt.findings_after))) or "none",
                _format(attempt.metric_after),
            )
        console.print(path)
        summary = Table(title="Before / after", title_justify="left")
        for column in ("", "before", "after"):
            summary.add_column(column)
        for row in self.table():
            summary.add_row(*row)
        console.print(summary)


_VERDICT_STYLE = {"accepted": "[green]", "followed": "[cyan]", "rejected": "[red]", "skipped": ""}


def repair(
    config_or_path: RunSource,
    budget: int = 4,
    verbose: bool = False,
    diagnose_run: Callable[[RunConfig], Diagnosis] = diagnose,
) -> RepairResult:
    """Diagnose the run, then search sequences of remedies, one full retrain each.

    ``budget`` caps the number of retrains (the first diagnosis is not counted).
    ``diagnose_run`` trains and diagnoses one config; tests and benchmarks may pass their own.
    """
    budget = check_int("budget", budget)  # before the first, untimed, training
    trained = _Trained(diagnose_run)
    original = trained(as_run_config(config_or_path))
    trained.retrains = 0  # the first diagnosis is not counted
    search = _Search(original, trained, budget, verbose)
    final = search.run()
    return RepairResult(
        original, final.diagnosis, search.attempts, trained.retrains, budget, trained.tried()
    )


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
        key = config_key(config)
        if key not in self._seen:
            self._seen[key] = self.diagnose_run(config)
            self.retrains += 1
        return self._seen[key]

    def tried(self) -> list[Diagnosis]:
        """Every run trained, the original first."""
        return list(self._seen.values())


def config_key(config: RunConfig) -> str:
    """One string per distinct run: equal configs train to the same run."""
    return json.dumps(config.to_dict(), sort_keys=True, default=str)


@dataclass
class _State:
    """A run reached from the original by a path of remedies, and what is left to try from
    it: ``queue`` for its current ``target``, then ``further`` (compounded factors), then
    ``deferred`` (runs that removed the target but are no better yet), then the next target.
    """

    diagnosis: Diagnosis
    parent: _State | None = None
    attempt: Attempt | None = None
    number: int = 0  # the attempt that produced it; 0 for the original run
    target: Finding | None = None
    given_up: set[str] = field(default_factory=set)
    queue: list[tuple[RunConfig, dict, dict]] = field(default_factory=list)
    further: list[tuple[RunConfig, dict, dict]] = field(default_factory=list)
    deferred: list[_State] = field(default_factory=list)

    def next_candidate(self) -> tuple[RunConfig, dict, dict] | None:
        """(base config, remedy, remedy as applied overall) to try next for the target."""
        if self.queue:
            return self.queue.pop(0)
        return self.further.pop(0) if self.further else None

    def best_deferred(self) -> _State | None:
        """The best-scoring run that removed the target without being better yet."""
        if not self.deferred:
            return None
        best = max(self.deferred, key=lambda state: state.diagnosis.metric.score)
        self.deferred.remove(best)
        return best

    def next_target(self) -> bool:
        """Give up the current target and take the next problem; False when none is left."""
        if self.target is not None:
            self.given_up.add(self.target.kind)
        self.target = _next_target(self.diagnosis, self.given_up)
        if self.target is None:
            return False
        config = self.diagnosis.config
        self.queue = [(config, remedy, remedy) for remedy in self.target.remedies]
        return True


class _Search:
    """Depth first over remedies. A remedy whose run is acceptable (it removed its finding,
    beats the original and the constant predictor) is followed at once by the remedies for
    what remains. One that removed its finding but is no better yet is kept aside and
    followed, best first, once the target's other remedies are tried: standardised inputs
    at the old learning rate train slower until the rate is raised too. One that did not
    remove its finding is dropped. The search stops at the first acceptable healthy run or
    when the budget is spent; the result is the best acceptable run, healthy ones first.
    """

    def __init__(self, original: Diagnosis, trained: _Trained, budget: int, verbose: bool):
        self.root = _State(original)
        self.trained = trained
        self.budget = budget
        self.verbose = verbose
        self.attempts: list[Attempt] = []
        self.states = [self.root]
        self._expanded = {config_key(original.config)}

    def run(self) -> _State:
        """Search within the budget; mark the path to the chosen run; return its state."""
        stack = [self.root]
        while stack and self.trained.retrains < self.budget:
            state = stack[-1]
            candidate = state.next_candidate()
            if candidate is None:
                follow = state.best_deferred()
                if follow is not None:
                    stack.append(self._follow(follow))
                elif not state.next_target():
                    stack.pop()
                continue
            child = self._try(state, *candidate)
            if child is None:
                continue
            if not self._acceptable(child):
                state.deferred.append(child)
                continue
            stack.append(self._follow(child))
            if not child.diagnosis.problems:
                break
        final = max(
            (state for state in self.states if self._acceptable(state)),
            key=lambda state: (not state.diagnosis.problems, state.diagnosis.metric.score),
            default=self.root,
        )
        step = final
        while step.attempt is not None:
            step.attempt.accepted = True
            step = step.parent
        return final

    def _follow(self, state: _State) -> _State:
        state.attempt.followed = True
        return state

    def _try(self, state: _State, base: RunConfig, remedy: dict, total: dict) -> _State | None:
        """Retrain ``base`` with ``remedy``; the new state to follow if it removed the target."""
        target = state.target
        try:
            candidate = _apply(base, remedy)
        except SigmalabError as error:  # RemedyError, or a remedy that makes the run invalid
            self._record(_attempt(target, total, state, None, error=str(error)), str(error))
            return None
        after = self.trained(candidate)
        attempt = _attempt(target, total, state, after)
        key = config_key(candidate)
        if not attempt.finding_gone:
            if "factor" in remedy and not_worse(state.diagnosis.metric, after.metric):
                # A scaling remedy that went the right way but not far enough (a learning
                # rate 1000x too low needs more than one 10x step) is applied again; once
                # the finding is gone, the remedies for what remains take over.
                state.further.append((candidate, remedy, _compounded(total, remedy)))
            self._record(attempt, "finding still there: rejected")
            return None
        if key in self._expanded:
            self._record(attempt, "a run already searched from")
            return None
        self._expanded.add(key)
        better = self._better(after)
        self._record(attempt, "better: kept" if better else "no better yet: kept aside")
        child = _State(after, parent=state, attempt=attempt, number=len(self.attempts))
        self.states.append(child)
        return child

    def _record(self, attempt: Attempt, outcome: str) -> None:
        self.attempts.append(attempt)
        if self.verbose:
            _report(attempt, len(self.attempts), self.root.diagnosis.metric.name, outcome)

    def _acceptable(self, state: _State) -> bool:
        """A run other than the original that beats the constant predictor and the original."""
        return state is not self.root and self._better(state.diagnosis)

    def _better(self, diagnosis: Diagnosis) -> bool:
        """``diagnosis`` beats the constant predictor and the original run's metric."""
        return not diagnosis.has_problem("no_learning") and _improved(
            self.root.diagnosis.metric, diagnosis.metric
        )


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
    state: _State,
    after: Diagnosis | None,
    error: str | None = None,
) -> Attempt:
    """The record of one try from ``state``'s run (the search marks the accepted ones)."""
    return Attempt(
        finding=target,
        remedy=dict(remedy),
        metric_before=state.diagnosis.metric.value,
        metric_after=None if after is None else after.metric.value,
        finding_gone=after is not None and not after.has_problem(target.kind),
        findings_after=[] if after is None else [f.kind for f in after.problems],
        error=error,
        step_from=state.number,
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


def _report(attempt: Attempt, number: int, metric_name: str, outcome: str) -> None:
    start = f"#{attempt.step_from}" if attempt.step_from else "the original"
    print(
        f"#{number} (from {start}) {attempt.finding.kind}: {describe_remedy(attempt.remedy)} -> "
        f"{metric_name} {_format(attempt.metric_before)} -> {_format(attempt.metric_after)}: "
        f"{outcome}"
    )


def _kinds(diagnosis: Diagnosis) -> str:
    return ", ".join(sorted({f.kind for f in diagnosis.problems})) or "none"


def _format(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
