"""Rules: one small function per failure kind over the probe records and the epoch logs.

Rules read plain data only - probe records, epoch logs and the run context, the dicts
typed in :mod:`.records` (``ProbeRecord``, ``EpochLog``, ``RunContext``) - so any
framework that emits the same dicts can be diagnosed. Each rule
returns a list of at most one Finding. A per-layer condition must hold on the last
``PERSIST`` probes in a row before it warns (nnscope's 3 logs): one noisy probe never
raises an alarm.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from itertools import pairwise

from .findings import KINDS, Finding, layer_ref, make_finding, severity_rank
from .initial_scale import blame_large_weights
from .records import EpochLog, ProbeRecord, RunContext

PERSIST = 3
# AUTOTRAINER: vanishing when |first| / |last| < 1e-3 and |first| < 1e-4. Here the
# magnitudes are the backpropagated error (RMS over samples of |dLoss_i/dz|), not dW,
# since small weights shrink both ends' dW and hide the signal.
VANISHING_RATIO = 1e-3
VANISHING_ERROR = 1e-4
EXPLODING_RATIO = 70.0  # AUTOTRAINER
DEAD_FRACTION = 0.7  # AUTOTRAINER and DeepDiagnosis: >= 70 % of a layer's units
SATURATED_FRACTION = 0.5  # nnscope, DeepDiagnosis: half of a layer's units
UPDATE_RATIO_HIGH = 0.05  # nnscope: |dW| / |W| per step
UPDATE_RATIO_LOW = 1e-6  # nnscope
# A loss above DIVERGENCE_FACTOR times the initial one (and above DIVERGENCE_FLOOR, so
# near-zero regression losses do not count) has blown up; NaN/Inf always has.
DIVERGENCE_FACTOR = 20.0
DIVERGENCE_FLOOR = 1.0
# One training batch's loss swings far more than a probe's (a batch of one sample that the
# network gets wrong can cost 100x the mean), so a batch loss counts as blown up only on
# BLOWUP_STEPS optimizer steps in a row, measured against the larger of the first batch
# loss and the first probe loss.
BLOWUP_STEPS = 3
# Curve rules need this many epochs (or probes) before judging a trend.
MIN_CURVE_POINTS = 10
SLOW_IMPROVEMENT = 0.1  # less than 10 % loss reduction from the first probe
OSCILLATION_SWING = 0.5  # a move larger than half the median loss
OSCILLATION_MIN_SWINGS = 3
OSCILLATION_SHARE = 0.1  # ... and swings in at least 10 % of the points
OVERFITTING_EPOCHS = 5  # validation loss above its best for at least this many epochs
OVERFITTING_RISE = 0.2  # ... by at least 20 %
# ... and by at least this much in absolute terms: after a perfect fit (best validation
# loss 0) any rounding-level wobble would otherwise be an infinite relative rise.
OVERFITTING_MIN_INCREASE = 0.01
OVERFITTING_GAP = 1.5  # ... and at least 1.5 times the training loss
# ... and, for classification, training accuracy 5 points above validation accuracy:
# a confident model's validation loss can creep up while it still classifies as well.
OVERFITTING_ACCURACY_GAP = 0.05
STALL_TOLERANCE = 0.01  # a new best loss must beat the old by 1 % to count as progress
# A loss below this share of its first value counts as converged: swings and large steps
# there are harmless (Adam's late spikes near zero loss), so oscillation and
# learning_rate_too_high need the loss above it.
CONVERGED_LEVEL = 0.2
# Underfitting: over the last third of the epochs (at least UNDERFIT_WINDOW) the training
# loss fell by less than 5 % while training accuracy stayed below 0.8. Measured on the
# catalogue: healthy runs end at 0.88-1.00 training accuracy with the loss still 25-79 %
# down over their last third; the 2-16-1 ReLU network on the spiral sits at 0.58-0.67
# with its loss under 1 % down.
UNDERFIT_WINDOW = 5
UNDERFIT_PROGRESS = 0.05
UNDERFIT_ACCURACY = 0.8
# A regression underfits when its training loss explains under half of the targets'
# variance (R^2 = 1 - mse / variance < 0.5) on that plateau: healthy regressions in the
# catalogue end at R^2 0.9 and above, a 2-3-1 tanh network on the Gaussian bumps at 0.2-0.4.
UNDERFIT_R2 = 0.5

Rule = Callable[[list[ProbeRecord], list[EpochLog], RunContext], list[Finding]]


# ---- helpers over the stream ----------------------------------------------------------
def _probes(records: list[dict]) -> list[dict]:
    """Full probes (with per-layer statistics), not the loss-only records of single steps."""
    return [record for record in records if record.get("layers")]


def _probes_with_updates(records: list[dict]) -> list[dict]:
    """Full probes that measured the last step's update (``update_ratio`` not None)."""
    return [
        record for record in _probes(records) if record["layers"][0]["update_ratio"] is not None
    ]


def _trailing(flags: list[bool]) -> int:
    """How many of the last flags are True in a row."""
    count = 0
    for flag in reversed(flags):
        if not flag:
            break
        count += 1
    return count


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def _stalled(probes: list[dict]) -> bool:
    """True when the last PERSIST probes beat no earlier probe's loss and are not converged."""
    losses = [record["loss"] for record in probes]
    earlier, recent = losses[:-PERSIST], losses[-PERSIST:]
    if not earlier or not all(map(_finite, losses)):
        return False
    no_progress = min(recent) >= min(earlier) * (1.0 - STALL_TOLERANCE)
    return no_progress and min(recent) >= CONVERGED_LEVEL * losses[0]


def _improvement(probes: list[dict]) -> float | None:
    """Relative loss reduction from the first probe to the best of the last PERSIST."""
    if len(probes) < 2:
        return None
    first = probes[0]["loss"]
    last = min(record["loss"] for record in probes[-PERSIST:])
    if not (_finite(first) and _finite(last)) or first <= 0:
        return None
    return 1.0 - last / first


def _per_layer_rule(
    records: list[dict],
    context: dict,
    kind: str,
    key: str,
    threshold: float,
    hidden_only: bool = True,
) -> list[Finding]:
    """Warn about the layer whose ``key`` stayed >= ``threshold`` on the last PERSIST probes.

    Among such layers the one with the largest latest value is named. Output layers are
    skipped when ``hidden_only``: a confident sigmoid output is saturated by design.
    """
    probes = _probes(records)
    worst_entry, worst_streak = None, 0
    for position, entry in enumerate(probes[-1]["layers"] if probes else []):
        if (hidden_only and entry["output"]) or entry.get(key) is None:
            continue
        values = [record["layers"][position].get(key) for record in probes]
        streak = _trailing([_finite(v) and v >= threshold for v in values])
        if streak >= PERSIST and (worst_entry is None or entry[key] > worst_entry[key]):
            worst_entry, worst_streak = entry, streak
    if worst_entry is None:
        return []
    evidence = {key: worst_entry[key], "threshold": threshold, "probes": worst_streak}
    return [make_finding(kind, "warning", evidence, layer_ref(worst_entry), context)]


def _error_ratios(records: list[dict]) -> list[tuple[dict, dict, float]]:
    """Per probe: (first Dense entry, last Dense entry, first error / last error)."""
    ratios = []
    for record in _probes(records):
        first, last = record["layers"][0], record["layers"][-1]
        ratio = (
            first["error"] / last["error"]
            if _finite(first["error"]) and _finite(last["error"]) and last["error"] > 0
            else math.nan
        )
        ratios.append((first, last, ratio))
    return ratios


def _error_ratio_rule(
    records: list[dict],
    context: dict,
    kind: str,
    crossed: Callable[[dict, float], bool],
    threshold: float,
    **extra_evidence: float,
) -> list[Finding]:
    """Warn at the first Dense layer when ``crossed(first entry, ratio)`` held on the last
    PERSIST probes (ratio: first layer's error / last layer's)."""
    ratios = _error_ratios(records)
    streak = _trailing([crossed(first, ratio) for first, _, ratio in ratios])
    if streak < PERSIST:
        return []
    first, last, ratio = ratios[-1]
    evidence = {
        "first_layer_error": first["error"],
        "last_layer_error": last["error"],
        "ratio": ratio,
        "threshold": threshold,
        "probes": streak,
        **extra_evidence,
    }
    return [make_finding(kind, "warning", evidence, layer_ref(first), context)]


def _loss_curve(records: list[dict], epochs: list[dict]) -> list[float]:
    """The longer of the per-epoch training loss and the probe loss (both say the trend)."""
    by_epoch = [log["loss"] for log in epochs if "loss" in log]
    by_probe = [record["loss"] for record in _probes(records)]
    return by_probe if len(by_probe) > len(by_epoch) else by_epoch


# ---- the rules -------------------------------------------------------------------------
def vanishing_gradients(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """The first layer's error is 1000x below the last's and tiny, on the last probes."""
    return _error_ratio_rule(
        records,
        context,
        "vanishing_gradients",
        lambda first, ratio: ratio < VANISHING_RATIO and first["error"] < VANISHING_ERROR,
        VANISHING_RATIO,
        error_threshold=VANISHING_ERROR,
    )


def exploding_gradients(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """The first layer's error is more than 70x the last's on the last probes."""
    return _error_ratio_rule(
        records,
        context,
        "exploding_gradients",
        lambda first, ratio: ratio > EXPLODING_RATIO,
        EXPLODING_RATIO,
    )


def dead_relu(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """>= 70 % of a hidden ReLU layer's units never active on the probe batch."""
    return _per_layer_rule(records, context, "dead_relu", "dead_fraction", DEAD_FRACTION)


def saturation(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """> 50 % of a hidden sigmoid/tanh layer's units stuck on a flat end."""
    return _per_layer_rule(records, context, "saturation", "saturated_fraction", SATURATED_FRACTION)


def divergence(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """NaN/Inf anywhere, or a blown-up loss (20x its initial value): an error at once.

    A probe loss (inference mode, a fixed batch) is compared with the first probe's. A
    training-batch loss (a loss-only record) is compared with the larger of the first
    batch loss and the first probe loss, and must stay above the limit for BLOWUP_STEPS
    steps in a row: one batch is a noisy measure, most of all with a few samples. The
    first probe loss alone would mislead for the batches: at step 1 BatchNorm's running
    statistics have barely moved, so it can be 30x the batch loss of a healthy run.
    Records are in step order.
    """
    initial_losses = _initial_losses(records)
    limits = {
        measured: blowup_limit(initial)
        for measured, initial in initial_losses.items()
        if initial is not None
    }
    if "batch" in limits and "probe" in limits:
        limits["batch"] = max(limits["batch"], limits["probe"])
    streak, last_over = 0, None
    for record in records:
        loss, measured = record["loss"], _measured(record)
        blown_up = measured in limits and _finite(loss) and loss > limits[measured]
        if blown_up and measured == "batch":
            streak = streak + 1 if last_over == record["step"] - 1 else 1
            last_over = record["step"]
            blown_up = streak >= BLOWUP_STEPS
        if not _finite(loss) or not record.get("finite", True) or blown_up:
            evidence = {
                "step": record["step"],
                "loss": loss,
                "initial_loss": initial_losses[measured],
                "measured": measured,
                "threshold": DIVERGENCE_FACTOR,
            }
            return [make_finding("divergence", "error", evidence, None, context)]
    initial = (
        initial_losses["batch"] if initial_losses["batch"] is not None else initial_losses["probe"]
    )
    for log in epochs:
        if "loss" in log and not _finite(log["loss"]):
            evidence = {"epoch": log["epoch"] + 1, "loss": log["loss"], "initial_loss": initial}
            return [make_finding("divergence", "error", evidence, None, context)]
    return []


def blowup_limit(initial_loss: float) -> float:
    """The loss above which a run has blown up, given the first loss of the same kind."""
    return max(DIVERGENCE_FACTOR * initial_loss, DIVERGENCE_FLOOR)


def _measured(record: dict) -> str:
    """'probe' for a full probe (inference mode), 'batch' for a training-batch loss record."""
    return "probe" if record.get("layers") else "batch"


def _initial_losses(records: list[dict]) -> dict[str, float | None]:
    """The first finite loss of each kind of record: {'batch': ..., 'probe': ...}."""
    initial: dict[str, float | None] = {"batch": None, "probe": None}
    for record in records:
        measured = _measured(record)
        if initial[measured] is None and _finite(record["loss"]):
            initial[measured] = record["loss"]
    return initial


def oscillation(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """The loss keeps swinging up and down by more than half its typical level."""
    curve = [value for value in _loss_curve(records, epochs) if _finite(value)]
    if len(curve) < MIN_CURVE_POINTS:
        return []
    if statistics.median(curve[len(curve) // 2 :]) < CONVERGED_LEVEL * curve[0]:
        return []
    swing = OSCILLATION_SWING * statistics.median(curve)
    moves = [after > before for before, after in pairwise(curve) if abs(after - before) > swing]
    swings = sum(1 for a, b in pairwise(moves) if a != b)
    if swings < max(OSCILLATION_MIN_SWINGS, OSCILLATION_SHARE * len(curve)):
        return []
    evidence = {
        "swings": swings,
        "points": len(curve),
        "swing_size": swing,
        "threshold": OSCILLATION_MIN_SWINGS,
    }
    return [make_finding("oscillation", "warning", evidence, None, context)]


def slow_convergence(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """After >= 10 epochs the loss fell by less than 10 % from the first probe."""
    probes = _probes(records)
    improvement = _improvement(probes)
    if len(epochs) < MIN_CURVE_POINTS or improvement is None or improvement >= SLOW_IMPROVEMENT:
        return []
    evidence = {
        "epochs": len(epochs),
        "initial_loss": probes[0]["loss"],
        "final_loss": min(record["loss"] for record in probes[-PERSIST:]),
        "improvement": improvement,
        "threshold": SLOW_IMPROVEMENT,
    }
    return [make_finding("slow_convergence", "warning", evidence, None, context)]


def overfitting(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """Validation loss rose 20 % (and 0.01) above its best for 5+ epochs as training loss fell.

    Judged on the epochs up to the weights the run keeps: when early stopping restored the
    weights of epoch ``context["restored_epoch"]``, the epochs after it are not the model's.
    """
    restored = context.get("restored_epoch")
    logs = [
        log
        for log in epochs
        if _finite(log.get("val_loss"))
        and _finite(log.get("loss"))
        and (restored is None or log["epoch"] <= restored)
    ]
    if len(logs) < OVERFITTING_EPOCHS + 2:
        return []
    val = [log["val_loss"] for log in logs]
    train = [log["loss"] for log in logs]
    best = min(range(len(val)), key=val.__getitem__)
    val_end = statistics.median(val[-PERSIST:])  # medians: one noisy epoch does not count
    train_end = statistics.median(train[-PERSIST:])
    increase = val_end - val[best]
    rise = increase / val[best] if val[best] > 0 else math.inf
    if (
        len(logs) - 1 - best < OVERFITTING_EPOCHS
        or rise < OVERFITTING_RISE
        or increase < OVERFITTING_MIN_INCREASE
        or train_end >= train[best]
        or val_end < OVERFITTING_GAP * train_end
        or _accuracy_gap(logs) < OVERFITTING_ACCURACY_GAP
    ):
        return []
    evidence = {
        "best_epoch": logs[best]["epoch"] + 1,
        "best_val_loss": val[best],
        "val_loss": val_end,
        "train_loss": train_end,
        "rise": rise,
        "threshold": OVERFITTING_RISE,
        "increase_threshold": OVERFITTING_MIN_INCREASE,
        "gap_threshold": OVERFITTING_GAP,
    }
    return [make_finding("overfitting", "warning", evidence, None, context)]


def _accuracy_gap(logs: list[dict]) -> float:
    """Train minus validation accuracy over the last epochs; +inf without accuracies."""
    pairs = [
        (log["accuracy"], log["val_accuracy"])
        for log in logs[-PERSIST:]
        if _finite(log.get("accuracy")) and _finite(log.get("val_accuracy"))
    ]
    if not pairs:
        return math.inf
    return statistics.median(train - val for train, val in pairs)


def learning_rate_too_high(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """Steps change a layer's weights by > 5 % each, and the loss stopped improving."""
    probes = _probes_with_updates(records)
    if not _stalled(probes):
        return []
    return _per_layer_rule(
        probes,
        context,
        "learning_rate_too_high",
        "update_ratio",
        UPDATE_RATIO_HIGH,
        hidden_only=False,
    )


def learning_rate_too_low(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """Every layer's steps are below 1e-6 of its weights, and the loss has barely moved."""
    probes = _probes_with_updates(records)
    largest = [max(entry["update_ratio"] or 0.0 for entry in r["layers"]) for r in probes]
    streak = _trailing([_finite(value) and value < UPDATE_RATIO_LOW for value in largest])
    improvement = _improvement(_probes(records))
    if streak < PERSIST or improvement is None or improvement >= SLOW_IMPROVEMENT:
        return []
    evidence = {"update_ratio": largest[-1], "threshold": UPDATE_RATIO_LOW, "probes": streak}
    return [make_finding("learning_rate_too_low", "warning", evidence, None, context)]


def activation_domain(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """The first NaN/inf of the run came out of an activation fed finite weighted sums.

    The weighted sums were fine, so the weights are not too large: the activation is not
    defined on all of the real line (log or sqrt of a negative number), and its layer and
    formula are the cause to name. A first NaN in a weighted sum is divergence's instead.
    """
    where = next((r["first_nonfinite"] for r in records if "first_nonfinite" in r), None)
    if where is None or where["stage"] != "activation":
        return []
    step = next(r["step"] for r in records if "first_nonfinite" in r)
    evidence = {
        "activation": where["activation"],
        "step": step,
        "nonfinite_fraction": where["nonfinite_fraction"],
        "bad_input_min": where["bad_input_min"],
        "bad_input_max": where["bad_input_max"],
    }
    if "module" in where:  # a PyTorch remedy names the module to change
        evidence["module"] = where["module"]
    layer = {"index": where["index"], "name": where["name"]}
    output = _is_output_layer(where["index"], context)
    # An output layer needs no squashing at all (the loss works on raw sums); a hidden
    # one needs a nonlinearity defined everywhere.
    values = ("linear",) if output else ("relu", "tanh")
    remedies = [
        {"action": "replace_activation", "value": value, "layer": where["index"]}
        for value in values
    ]
    return [make_finding("activation_domain", "error", evidence, layer, context, remedies=remedies)]


def _is_output_layer(index: int, context: RunContext) -> bool:
    """Whether ``index`` is the last Dense layer of the context's layers."""
    dense = [entry["index"] for entry in context.get("layers", []) if entry["kind"] == "dense"]
    return bool(dense) and index == dense[-1]


def underfitting(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext
) -> list[Finding]:
    """The training loss stopped falling while the training accuracy (or R^2) stayed low.

    The network cannot fit even the samples it trains on. Judged on the epoch logs: the
    best loss of the last third of the epochs (at least UNDERFIT_WINDOW) beats the best
    before it by less than UNDERFIT_PROGRESS, and the median training accuracy of the
    last PERSIST epochs is below UNDERFIT_ACCURACY. A regression (mse without accuracy)
    is judged by its R^2 on the training set, 1 - loss / the variance of the probe batch's
    targets (``target_variance``: the constant predictor's loss), below UNDERFIT_R2. Any
    other finding present explains a plateau better (see EXPLAINED_BY), since its remedy is
    the one to try.
    """
    variance = context.get("target_variance")
    regression = context.get("loss") == "mse" and _finite(variance) and variance > 0
    metric = "loss" if regression and not any("accuracy" in log for log in epochs) else "accuracy"
    logs = [log for log in epochs if _finite(log.get("loss")) and _finite(log.get(metric))]
    window = max(UNDERFIT_WINDOW, len(logs) // 3)
    if len(logs) < MIN_CURVE_POINTS or len(logs) <= window:
        return []
    losses = [log["loss"] for log in logs]
    before, recent = min(losses[:-window]), min(losses[-window:])
    progress = 1.0 - recent / before if before > 0 else 0.0
    level = statistics.median(log[metric] for log in logs[-PERSIST:])
    if metric == "accuracy":
        fit = {"train_accuracy": level, "accuracy_threshold": UNDERFIT_ACCURACY}
        low = level < UNDERFIT_ACCURACY
    else:
        fit = {"train_r2": 1.0 - level / variance, "r2_threshold": UNDERFIT_R2}
        low = fit["train_r2"] < UNDERFIT_R2
    if progress >= UNDERFIT_PROGRESS or not low:
        return []
    evidence = {
        **fit,
        "recent_improvement": progress,
        "window_epochs": window,
        "improvement_threshold": UNDERFIT_PROGRESS,
        "train_loss": losses[-1],
    }
    return [make_finding("underfitting", "warning", evidence, None, context)]


RULES: tuple[Rule, ...] = (
    vanishing_gradients,
    exploding_gradients,
    dead_relu,
    saturation,
    divergence,
    oscillation,
    slow_convergence,
    overfitting,
    learning_rate_too_high,
    learning_rate_too_low,
    activation_domain,
    underfitting,
)

# A symptom is not reported when a finding that explains it is present: the cause is
# what the learner (and the repair loop) should act on. Static findings count as causes.
_NO_LEARNING = {"dropout_too_high", "missing_nonlinearity", "output_loss_mismatch"}
EXPLAINED_BY = {
    # Dead units pass no error back; after a blow-up, a saturated output passes none either,
    # and a lower learning rate (divergence's remedy), not ReLU, is what helps.
    "vanishing_gradients": {"dead_relu", "divergence"},
    "learning_rate_too_low": {
        "learning_rate_too_high",  # huge steps can strand the weights where updates vanish
        "vanishing_gradients",
        "dead_relu",
        "saturation",
        "divergence",
        *_NO_LEARNING,
    },
    "slow_convergence": {
        "learning_rate_too_high",  # its stall is the slow progress: a larger lr would worsen it
        "vanishing_gradients",
        "exploding_gradients",
        "dead_relu",
        "saturation",
        "divergence",
        "learning_rate_too_low",
        *_NO_LEARNING,
    },
    "oscillation": {"divergence", "exploding_gradients", "learning_rate_too_high"},
    # On a loss that swings, the best validation epoch is the bottom of a swing, so a
    # validation loss "above its best" measures the swing. Memorisation drives the training
    # loss towards 0, below the level at which oscillation is judged at all.
    # After a blow-up the validation loss measures the broken weights, not memorisation.
    "overfitting": {"oscillation", "divergence"},
    # An activation that turned finite sums into NaN, not weights too large, made it diverge.
    "divergence": {"activation_domain"},
    # A plateau at low accuracy is underfitting only when nothing else explains it: every
    # other kind names a cause whose own remedy comes first.
    "underfitting": {kind for kind in KINDS if kind != "underfitting"},
}


def without_symptoms(findings: list[Finding]) -> list[Finding]:
    """Drop findings explained by another one present, then sort most severe first."""
    kinds = {finding.kind for finding in findings}
    kept = [f for f in findings if not EXPLAINED_BY.get(f.kind, set()) & kinds]
    return sorted(kept, key=severity_rank)


def diagnose_records(
    records: list[ProbeRecord], epochs: list[EpochLog], context: RunContext | None = None
) -> list[Finding]:
    """All rule findings for a run, most severe first, symptoms of a found cause left out."""
    context = context or {}
    found = [f for rule in RULES for f in rule(records, epochs, context)]
    return without_symptoms([blame_large_weights(f, context) for f in found])
