"""One diagnosed training run: train a run file with a Doctor attached and keep what it found.

The repair loop and the ``sigmalab doctor`` command both need the same three things from a
run - the findings, the summary metrics and the trained model - so they share this function.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig, load_run
from ..errors import SigmalabError
from ..json_values import json_safe
from ..losses import LOSSES
from ..model import Sequential
from .baseline import constant_predictor, no_learning_evidence
from .callback import Doctor
from .findings import Finding, make_finding, severity_rank
from .initial_scale import blame_large_weights

PROBLEM_SEVERITIES = ("warning", "error")
# A run counts as already fine at 90 % accuracy on the watched split (validation, else test),
# or (regression) at a loss below a tenth of its targets' variance (R^2 >= 0.9); repair accepts
# a fix that keeps the metric equal within noise instead of demanding a gain.
FINE_ACCURACY = 0.9
FINE_VARIANCE_FRACTION = 0.1

RunSource = RunConfig | Mapping[str, Any] | str | os.PathLike


def as_run_config(source: RunSource) -> RunConfig:
    """Accept a RunConfig, a run-file dict (paths relative to the working folder) or a path."""
    if isinstance(source, RunConfig):
        return source
    if isinstance(source, Mapping):
        return RunConfig.from_dict(source)
    if not isinstance(source, str | os.PathLike):
        raise SigmalabError(
            f"run must be a run file path, a RunConfig or a dict, received: {source!r}"
        )
    return load_run(Path(source))


@dataclass(frozen=True)
class Metric:
    """The metric repair judges by: accuracy (higher) or loss (lower) on the watched split,
    with the constant predictor's value of it on the same split (see :mod:`.baseline`)."""

    name: str
    value: float
    higher_is_better: bool
    fine_threshold: float
    constant: float | None = None

    @property
    def score(self) -> float:
        """The value oriented so that larger is better; a non-finite loss scores -inf."""
        if not math.isfinite(self.value):
            return -math.inf
        return self.value if self.higher_is_better else -self.value

    @property
    def is_fine(self) -> bool:
        """Whether the run already meets the bar of a healthy run on this task."""
        if self.higher_is_better:
            return self.value >= self.fine_threshold
        return math.isfinite(self.value) and self.value <= self.fine_threshold


@dataclass
class Diagnosis:
    """What one run found: ``findings`` (all severities), the run ``summary`` and the ``model``."""

    findings: list[Finding]
    summary: dict[str, Any]
    model: Sequential
    config: RunConfig
    metric: Metric

    @property
    def problems(self) -> list[Finding]:
        """Findings at warning or error severity: the ones repair tries to remove."""
        return [finding for finding in self.findings if finding.severity in PROBLEM_SEVERITIES]

    def has_problem(self, kind: str) -> bool:
        """Whether a warning or error of ``kind`` was found."""
        return any(finding.kind == kind for finding in self.problems)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able findings, summary and metric."""
        return {
            "findings": [finding.to_dict() for finding in self.findings],
            "summary": json_safe(self.summary),
            "metric": {
                "name": self.metric.name,
                "value": json_safe(self.metric.value),
                "constant_predictor": json_safe(self.metric.constant),
            },
        }


def diagnose(
    config: RunSource, verbose: int = 0, doctor_options: Mapping[str, Any] | None = None
) -> Diagnosis:
    """Train the run once with a Doctor attached; the same seeds give the same run every time.

    Besides the Doctor's findings, a run that does no better than the constant predictor on
    the watched split gets a ``no_learning`` finding: only here is that split at hand.
    """
    from ..runner import train_run, watched_split

    run_config = as_run_config(config)
    doctor = Doctor(**dict(doctor_options or {}))
    # Overflow in a diverging run is a finding, reported with its evidence, not a warning.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = train_run(run_config, callbacks=[doctor], verbose=verbose)
    y_watched = watched_split(result.dataset)[1]
    metric = _metric(run_config, result.summary, y_watched)
    findings = [*doctor.findings, *no_learning(metric, len(y_watched), doctor.context)]
    return Diagnosis(
        findings=sorted(findings, key=severity_rank),
        summary=dict(result.summary),
        model=result.model,
        config=run_config,
        metric=metric,
    )


def no_learning(metric: Metric, samples: int, context: dict | None = None) -> list[Finding]:
    """A ``no_learning`` warning when ``metric`` does not beat its constant predictor."""
    evidence = no_learning_evidence(
        metric.name, metric.value, metric.constant, metric.higher_is_better, samples
    )
    if evidence is None:
        return []
    context = context or {}
    finding = make_finding("no_learning", "warning", evidence, None, context)
    return [blame_large_weights(finding, context)]


def _metric(config: RunConfig, summary: Mapping[str, Any], y_watched: Any) -> Metric:
    """The watched split's metric: validation when the run carves one, else test."""
    split = "validation" if "samples_validation" in summary else "test"
    classification = LOSSES[config.train.loss].is_classification
    constant = constant_predictor(y_watched, classification)
    if classification:
        name = f"{split}_accuracy"
        return Metric(name, float(summary[name]), True, FINE_ACCURACY, constant)
    fine_loss = FINE_VARIANCE_FRACTION * float(y_watched.var())
    return Metric(f"{split}_loss", float(summary[f"{split}_loss"]), False, fine_loss, constant)
