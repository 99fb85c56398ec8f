"""What the doctor reports: a named problem, how sure it is, the numbers, the words, the fixes.

A Finding is plain data (JSON-able through ``to_dict``) so the CLI, the repair loop and
other frameworks can read it without touching engine objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..json_values import json_safe
from .explanations import explain
from .records import RunContext
from .remedies import ALL_FEATURES, in_effect

KINDS = (
    "missing_nonlinearity",
    "output_loss_mismatch",
    "dropout_too_high",
    "unscaled_inputs",
    "vanishing_risk",
    "vanishing_gradients",
    "exploding_gradients",
    "dead_relu",
    "saturation",
    "activation_domain",
    "divergence",
    "oscillation",
    "slow_convergence",
    "overfitting",
    "learning_rate_too_high",
    "learning_rate_too_low",
    "underfitting",
    "no_learning",
)
SEVERITIES = ("info", "warning", "error")

# Ordered remedies per kind, the textbook ones first: the repair loop tries the first,
# then the next while the finding persists.
_RELU = {"action": "set_activation", "value": "relu", "layers": "hidden"}
_LOWER_LR = {"action": "scale_learning_rate", "factor": 0.1}
_CLIP = {"action": "set_clip_norm", "value": 1.0}
_BATCHNORM = {"action": "add_batchnorm"}
REMEDIES: dict[str, tuple[dict, ...]] = {
    "missing_nonlinearity": ({"action": "insert_activation", "value": "relu"},),
    "output_loss_mismatch": ({"action": "remove_output_activation"},),
    "dropout_too_high": ({"action": "set_dropout", "value": 0.2},),
    "unscaled_inputs": ({"action": "standardize_inputs"},),
    "vanishing_risk": (_RELU, _BATCHNORM),
    "vanishing_gradients": (_RELU, _BATCHNORM, {"action": "set_init", "value": "he_normal"}),
    "exploding_gradients": (_LOWER_LR, _CLIP, _BATCHNORM),
    "dead_relu": (
        _LOWER_LR,
        {"action": "set_activation", "value": "leaky_relu", "layers": "hidden"},
    ),
    "saturation": ({"action": "standardize_inputs"}, _RELU, _BATCHNORM),
    "divergence": (_LOWER_LR, _CLIP),
    "oscillation": (
        {"action": "scale_learning_rate", "factor": 0.3},
        {"action": "set_optimizer", "value": "adam"},
    ),
    "slow_convergence": (
        {"action": "scale_learning_rate", "factor": 3.0},
        {"action": "set_optimizer", "value": "adam"},
        {"action": "increase_epochs", "factor": 2},
    ),
    "overfitting": (
        {"action": "set_dropout", "value": 0.2},
        {"action": "set_l2", "value": 1e-3},
        {"action": "early_stopping", "patience": 20},
    ),
    "learning_rate_too_high": (_LOWER_LR,),
    "learning_rate_too_low": ({"action": "scale_learning_rate", "factor": 10.0},),
    # The layer at fault gets an activation defined on every real number; the rule adds
    # its position ("layer") and, for the output layer, asks for no activation instead.
    "activation_domain": (
        {"action": "replace_activation", "value": "relu"},
        {"action": "replace_activation", "value": "tanh"},
    ),
    # In the order that fixed the catalogue's runs: depth fixed both spirals, the features
    # the checkerboard; four times the units fixed none of them.
    "underfitting": (
        {"action": "add_hidden_layer"},
        {"action": "set_features", "value": ALL_FEATURES},
        {"action": "scale_units", "factor": 4},
        {"action": "increase_epochs", "factor": 2},
    ),
    # Usually the consequence of another finding, whose remedies come first (it is last in
    # KINDS); alone, the run needs a better optimizer or more time (or, with large initial
    # weights, the default initialiser: see initial_scale.py).
    "no_learning": (
        {"action": "set_optimizer", "value": "adam"},
        {"action": "increase_epochs", "factor": 2},
    ),
}


@dataclass
class Finding:
    """One diagnosed problem: ``kind`` from KINDS, ``severity`` from SEVERITIES.

    ``layer`` is ``{"index": i, "name": "dense_2 (relu)"}`` (i counts ``model.layers``) or
    None for run-level problems; ``evidence`` holds the measured numbers and the thresholds
    they crossed; ``remedies`` are machine-applicable actions, best first.
    """

    kind: str
    severity: str
    layer: dict | None
    evidence: dict
    explanation: str = ""
    remedies: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, received: {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"severity must be one of {', '.join(SEVERITIES)}, received: {self.severity!r}"
            )

    def to_dict(self) -> dict:
        """Plain JSON-safe dict (non-finite numbers become the strings 'nan', 'inf', '-inf')."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "layer": None if self.layer is None else dict(self.layer),
            "evidence": json_safe(self.evidence),
            "explanation": self.explanation,
            "remedies": [dict(remedy) for remedy in self.remedies],
        }


def applicable_remedies(
    kind: str, context: RunContext | None = None, candidates: Iterable[dict] | None = None
) -> list[dict]:
    """The kind's remedies (or ``candidates``) minus those already in effect in ``context``.

    Retrying a setting the run already has cannot fix it, so the repair loop should not
    spend a retrain on it. "In effect" is ``remedies.in_effect``, the judgement that
    ``apply_remedy`` makes on a run file too.
    """
    context = context or {}
    candidates = REMEDIES[kind] if candidates is None else candidates
    return [dict(remedy) for remedy in candidates if in_effect(remedy, context) is None]


def layer_ref(entry: dict) -> dict:
    """The part of a layer description a finding names: its index and name."""
    return {"index": entry["index"], "name": entry["name"]}


def make_finding(
    kind: str,
    severity: str,
    evidence: dict,
    layer: dict | None = None,
    context: RunContext | None = None,
    remedies: Iterable[dict] | None = None,
) -> Finding:
    """Build a Finding with its explanation and the remedies that apply to ``context``
    (the kind's own, or ``remedies`` fitted to this finding, such as its layer's)."""
    return Finding(
        kind=kind,
        severity=severity,
        layer=layer,
        evidence=evidence,
        explanation=explain(kind, evidence, layer),
        remedies=applicable_remedies(kind, context, remedies),
    )


def severity_rank(finding: Finding) -> tuple[int, int]:
    """Sort key: higher severity first, then the order of KINDS (the catalogue's order)."""
    return (-SEVERITIES.index(finding.severity), KINDS.index(finding.kind))


def worst(findings: Iterable[Finding]) -> Finding | None:
    """The most severe finding (error > warning > info), ties broken by KINDS order."""
    return min(findings, key=severity_rank, default=None)


def watch_summary(
    findings: Iterable[Finding],
    probes: int,
    probe_every: int,
    probe_seconds: float,
    train_seconds: float,
) -> dict:
    """A watching doctor's JSON-safe summary (sigmalab's callback and the PyTorch watch
    alike): its findings, number of probes, the interval and the measured overhead."""
    return {
        "findings": [finding.to_dict() for finding in findings],
        "probes": probes,
        "probe_every": probe_every,
        "overhead": probe_seconds / train_seconds if train_seconds else 0.0,
    }
