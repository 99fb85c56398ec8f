"""Each doctor rule on synthetic probe streams: fires when a failure persists, stays quiet on
one noisy probe and on healthy noisy runs."""

import json
import math

import numpy as np
import pytest

from sigmalab.doctor import KINDS, Finding, diagnose_records, make_finding, rules, worst
from sigmalab.doctor.explanations import explain
from sigmalab.doctor.findings import REMEDIES, applicable_remedies
from sigmalab.doctor.report import describe_remedy
from sigmalab.doctor.torch_remedies import in_pytorch_terms
from sigmalab.json_values import json_safe

PROBES = 20
EPOCHS = 30


def healthy_run(seed: int = 0) -> tuple[list[dict], list[dict]]:
    """A noisy but sound run: relu -> tanh -> linear output, the loss falling from 0.7."""
    rng = np.random.default_rng(seed)

    def noisy(value: float, spread: float = 0.3) -> float:
        return float(value * math.exp(rng.normal(0.0, spread)))

    records = []
    for probe in range(PROBES):
        loss = noisy(0.05 + 0.65 * math.exp(-probe / 4), 0.15)
        layers = [
            {"family": "relu", "dead_fraction": float(rng.uniform(0.0, 0.4))},
            {"family": "saturating", "saturated_fraction": float(rng.uniform(0.0, 0.3))},
            {"family": "linear", "output": True},
        ]
        for index, entry in enumerate(layers):
            entry.setdefault("dead_fraction", None)
            entry.setdefault("saturated_fraction", None)
            entry.update(
                index=index,
                name=f"dense_{index + 1} ({entry['family']})",
                output=entry.get("output", False),
                error=noisy(0.3 if index < 2 else 0.5),
                grad_norm=noisy(0.05),
                weight_norm=noisy(3.0, 0.05),
                update_ratio=noisy(2e-3),
            )
        layers[0]["update_ratio"] = None if probe == 0 else layers[0]["update_ratio"]
        records.append(
            {"step": 1 + 50 * probe, "epoch": probe, "loss": loss, "finite": True, "layers": layers}
        )
    epochs = []
    for epoch in range(EPOCHS):
        loss = noisy(0.05 + 0.6 * math.exp(-epoch / 5), 0.1)
        epochs.append(
            {
                "epoch": epoch,
                "loss": loss,
                "val_loss": noisy(loss * 1.1 + 0.02, 0.1),
                "accuracy": min(1.0, 0.5 + epoch / 40),
                "val_accuracy": min(1.0, 0.48 + epoch / 40),
            }
        )
    return records, epochs


def kinds(findings: list[Finding]) -> set[str]:
    return {finding.kind for finding in findings}


def warnings_of(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity != "info"]


# Per-probe failures: how one probe record looks when the failure is present.
def _vanishing(record):
    first, last = record["layers"][0], record["layers"][-1]
    first["error"] = last["error"] * 1e-6


def _exploding(record):
    record["layers"][0]["error"] = record["layers"][-1]["error"] * 500


def _dead(record):
    record["layers"][0]["dead_fraction"] = 0.9


def _saturated(record):
    record["layers"][1]["saturated_fraction"] = 0.8


def _lr_high(record):
    record["layers"][1]["update_ratio"] = 0.3
    record["loss"] = 0.7  # no new best loss while the steps are huge


PER_PROBE = {
    "vanishing_gradients": _vanishing,
    "exploding_gradients": _exploding,
    "dead_relu": _dead,
    "saturation": _saturated,
    "learning_rate_too_high": _lr_high,
}


@pytest.mark.parametrize("kind", PER_PROBE)
def test_per_probe_rule_fires_when_the_failure_persists(kind):
    records, epochs = healthy_run()
    for record in records[-4:]:
        PER_PROBE[kind](record)
    found = diagnose_records(records, epochs)
    assert kind in kinds(found)
    finding = next(f for f in found if f.kind == kind)
    assert finding.severity == "warning"
    assert finding.evidence["probes"] >= rules.PERSIST
    assert finding.remedies and finding.explanation


@pytest.mark.parametrize("kind", PER_PROBE)
@pytest.mark.parametrize("where", [PROBES // 2, PROBES - 1])
def test_per_probe_rule_ignores_a_single_glitch(kind, where):
    records, epochs = healthy_run()
    PER_PROBE[kind](records[where])
    assert kind not in kinds(diagnose_records(records, epochs))


@pytest.mark.parametrize("kind", PER_PROBE)
def test_per_probe_rule_ignores_a_glitch_two_probes_long(kind):
    records, epochs = healthy_run()
    for record in records[-2:]:
        PER_PROBE[kind](record)
    assert kind not in kinds(diagnose_records(records, epochs))


@pytest.mark.parametrize("seed", range(10))
def test_healthy_noisy_runs_raise_no_warning(seed):
    records, epochs = healthy_run(seed)
    assert warnings_of(diagnose_records(records, epochs)) == []


def test_vanishing_needs_the_first_error_tiny_in_absolute_terms():
    """A ratio below 1e-3 alone is not enough when the first layer still gets real error."""
    records, epochs = healthy_run()
    for record in records[-4:]:
        record["layers"][-1]["error"] = 2000.0  # ratio 1.5e-4, but first error 0.3
    assert "vanishing_gradients" not in kinds(diagnose_records(records, epochs))


def test_vanishing_evidence_names_the_numbers_in_the_explanation():
    records, epochs = healthy_run()
    for record in records[-4:]:
        _vanishing(record)
    finding = next(f for f in diagnose_records(records, epochs) if f.kind == "vanishing_gradients")
    assert finding.layer == {"index": 0, "name": "dense_1 (relu)"}
    assert finding.evidence["ratio"] < rules.VANISHING_RATIO
    assert "closer to the input" in finding.explanation
    assert "10^6 times smaller" in finding.explanation


@pytest.mark.parametrize(
    "losses",
    [[0.04, 0.03, 0.02, 0.01], [0.01] * 4],
    ids=["still improving", "converged"],
)
def test_learning_rate_too_high_needs_a_stalled_high_loss(losses):
    records, epochs = healthy_run()
    for record, loss in zip(records[-4:], losses, strict=True):
        record["layers"][1]["update_ratio"] = 0.3
        record["loss"] = loss
    assert "learning_rate_too_high" not in kinds(diagnose_records(records, epochs))


def _tiny_steps(records: list[dict], flat_loss: bool) -> None:
    for record in records:
        for entry in record["layers"]:
            entry["update_ratio"] = 1e-8
        if flat_loss:
            record["loss"] = 0.69 - 1e-4 * record["epoch"]


def test_learning_rate_too_low_fires_on_tiny_steps_and_a_flat_loss():
    records, epochs = healthy_run()
    _tiny_steps(records, flat_loss=True)
    finding = next(
        f for f in diagnose_records(records, epochs) if f.kind == "learning_rate_too_low"
    )
    assert finding.remedies[0] == {"action": "scale_learning_rate", "factor": 10.0}


def test_learning_rate_too_low_is_quiet_once_converged():
    records, epochs = healthy_run()
    _tiny_steps(records, flat_loss=False)  # tiny steps after the loss fell: converged
    assert "learning_rate_too_low" not in kinds(diagnose_records(records, epochs))


def test_learning_rate_too_low_ignores_one_tiny_step():
    records, epochs = healthy_run()
    _tiny_steps(records[-1:], flat_loss=False)
    assert "learning_rate_too_low" not in kinds(diagnose_records(records, epochs))


# ---- run-level rules -------------------------------------------------------------------
def test_divergence_is_an_error_at_once_on_nan():
    records, epochs = healthy_run()
    records.insert(5, {"step": 230, "epoch": 4, "loss": float("nan"), "layers": []})
    (finding,) = [f for f in diagnose_records(records, epochs) if f.kind == "divergence"]
    assert finding.severity == "error"
    assert finding.evidence["step"] == 230
    assert "step 230" in finding.explanation
    assert worst(diagnose_records(records, epochs)).kind == "divergence"


def test_divergence_on_a_blown_up_loss_and_on_a_nan_epoch():
    records, epochs = healthy_run()
    records[6]["loss"] = records[0]["loss"] * (rules.DIVERGENCE_FACTOR + 1)
    assert "divergence" in kinds(diagnose_records(records, epochs))
    records, epochs = healthy_run()
    epochs[-1]["loss"] = float("inf")
    (finding,) = rules.divergence(records, epochs, {})
    assert finding.evidence["epoch"] == EPOCHS


def test_divergence_ignores_a_loss_that_only_doubles():
    records, epochs = healthy_run()
    records[6]["loss"] = records[0]["loss"] * 2
    assert "divergence" not in kinds(diagnose_records(records, epochs))


def test_divergence_compares_probe_losses_with_the_first_probe_not_the_batch_loss():
    """At step 1 BatchNorm's running statistics have barely moved: the inference-mode probe
    loss (38.4) is 30x the training-batch loss (1.29) of a run that is fine."""
    records, epochs = healthy_run()
    records[0]["loss"] = 38.4
    records.insert(0, {"step": 1, "epoch": 0, "loss": 1.29, "layers": []})
    assert "divergence" not in kinds(diagnose_records(records, epochs))
    records[-1]["loss"] = 38.4 * (rules.DIVERGENCE_FACTOR + 1)  # the probes themselves blow up
    (finding,) = rules.divergence(records, epochs, {})
    assert finding.evidence["measured"] == "probe"
    assert finding.evidence["initial_loss"] == 38.4


def test_a_blown_up_batch_loss_counts_only_on_steps_in_a_row():
    """One batch is a noisy measure (one sample the network gets wrong can cost 100x the
    mean): batch losses blow up only on BLOWUP_STEPS steps in a row above the limit, which
    the larger first loss sets (here the probe's, BatchNorm making it 30x the batch's)."""
    records, epochs = healthy_run()
    records[0]["loss"] = 38.4
    records.insert(0, {"step": 1, "epoch": 0, "loss": 1.29, "layers": []})
    spike = {"epoch": 19, "loss": 38.4 * (rules.DIVERGENCE_FACTOR + 1), "layers": []}
    records += [{**spike, "step": step} for step in (990, 991, 993, 994)]
    assert rules.divergence(records, epochs, {}) == []  # at most two steps in a row
    records.append({**spike, "step": 995})
    (finding,) = rules.divergence(records, epochs, {})
    assert (finding.evidence["measured"], finding.evidence["step"]) == ("batch", 995)
    assert rules.BLOWUP_STEPS == 3
    records[-1]["loss"] = 1.29 * 25  # above 20x the first batch loss, below the probe's
    assert rules.divergence(records, epochs, {}) == []
    records[-1]["loss"] = float("nan")  # NaN needs no second step
    (finding,) = rules.divergence(records, epochs, {})
    assert finding.evidence["step"] == 995
    records.pop()
    records[5]["layers"][0]["finite"], records[5]["finite"] = False, False  # NaN in a probe
    (finding,) = rules.divergence(records, epochs, {})
    assert finding.evidence["step"] == records[5]["step"]


def _first_nan(stage: str, index: int = 0) -> dict:
    """A loss-only record at step 1 whose NaN the probe traced to layer ``index``."""
    where = {
        "index": index,
        "name": f"dense_{index + 1} (log(x))",
        "activation": "log(x)",
        "stage": stage,
        "nonfinite_fraction": 0.5,
        "bad_input_min": -1.7 if stage == "activation" else None,
        "bad_input_max": -0.003 if stage == "activation" else None,
    }
    return {"step": 1, "epoch": 0, "loss": float("nan"), "layers": [], "first_nonfinite": where}


THREE_DENSE = {
    "layers": [
        {"index": 0, "kind": "dense", "activation": "log(x)"},
        {"index": 1, "kind": "dense", "activation": "tanh"},
        {"index": 2, "kind": "dense", "activation": "linear"},
    ]
}


def test_activation_domain_names_the_layer_and_replaces_divergence():
    """A NaN made by the activation from finite sums: the activation, not the weights."""
    records, epochs = healthy_run()
    records.insert(0, _first_nan("activation"))
    found = diagnose_records(records, epochs, THREE_DENSE)
    assert "divergence" not in kinds(found)
    (finding,) = [f for f in found if f.kind == "activation_domain"]
    assert finding.severity == "error"
    assert finding.layer == {"index": 0, "name": "dense_1 (log(x))"}
    assert finding.evidence["activation"] == "log(x)" and finding.evidence["step"] == 1
    assert "log(x)" in finding.explanation and "-1.7 to -0.003" in finding.explanation
    assert finding.remedies == [
        {"action": "replace_activation", "layer": 0, "value": "relu"},
        {"action": "replace_activation", "layer": 0, "value": "tanh"},
    ]
    assert all(remedy["action"] != "scale_learning_rate" for remedy in finding.remedies)
    assert describe_remedy(finding.remedies[0]) == "replace_activation relu in model.layers[0]"


def test_a_first_nan_in_a_weighted_sum_is_divergence_not_the_activation():
    records, epochs = healthy_run()
    records.insert(0, _first_nan("weighted_sum"))
    assert {"divergence"} == kinds(diagnose_records(records, epochs, THREE_DENSE))


def test_activation_domain_at_the_output_layer_asks_for_no_activation():
    records, epochs = healthy_run()
    records.insert(0, _first_nan("activation", index=2))
    context = {
        "layers": [
            *THREE_DENSE["layers"][:2],
            {"index": 2, "kind": "dense", "activation": "log(x)"},
        ]
    }
    (finding,) = rules.activation_domain(records, epochs, context)
    assert finding.remedies == [{"action": "replace_activation", "layer": 2, "value": "linear"}]


def _plateau(epochs: list[dict], accuracy: float, final_loss: float = 0.64) -> None:
    """The loss falls from 0.69 for a few epochs, then levels off at ``final_loss``."""
    for log in epochs:
        log["loss"] = max(final_loss, 0.69 - 0.01 * log["epoch"]) + 1e-4 * (log["epoch"] % 2)
        log["accuracy"] = accuracy


def test_underfitting_fires_on_a_plateau_at_low_training_accuracy():
    records, epochs = healthy_run()
    _plateau(epochs, accuracy=0.6)
    (finding,) = diagnose_records(records, epochs)
    assert (finding.kind, finding.severity) == ("underfitting", "warning")
    assert finding.evidence["train_accuracy"] == 0.6
    assert finding.evidence["recent_improvement"] < rules.UNDERFIT_PROGRESS
    assert "0.6" in finding.explanation
    assert [remedy["action"] for remedy in finding.remedies] == [
        "add_hidden_layer",
        "set_features",
        "scale_units",
        "increase_epochs",
    ]


@pytest.mark.parametrize(
    "change",
    [
        "high_accuracy",  # the loss levelled off because the training set is fitted
        "still_falling",  # slow, but still learning
        "few_epochs",  # too short to call a plateau
        "no_accuracy",  # no accuracy and no target variance: no absolute scale for the loss
    ],
)
def test_underfitting_needs_a_plateau_a_low_accuracy_and_enough_epochs(change):
    records, epochs = healthy_run()
    _plateau(epochs, accuracy=0.95 if change == "high_accuracy" else 0.6)
    if change == "still_falling":
        for log in epochs:
            log["loss"] = 0.69 * 0.97 ** log["epoch"]
    if change == "few_epochs":
        epochs = epochs[: rules.MIN_CURVE_POINTS - 1]
    if change == "no_accuracy":
        for log in epochs:
            del log["accuracy"]
    assert rules.underfitting(records, epochs, {}) == []


@pytest.mark.parametrize(("variance", "found"), [(1.0, True), (1.4, False), (None, False)])
def test_a_regression_underfits_when_its_loss_explains_under_half_the_target_variance(
    variance, found
):
    """A plateau at mse 0.64: R^2 0.36 against a target variance of 1.0 (underfitting), 0.54
    against 1.4 (fitted well enough), and nothing to judge it by without the variance."""
    records, epochs = healthy_run()
    _plateau(epochs, accuracy=0.0)
    for log in epochs:
        del log["accuracy"]
    context = {"loss": "mse"} if variance is None else {"loss": "mse", "target_variance": variance}
    findings = rules.underfitting(records, epochs, context)
    assert bool(findings) == found
    if found:
        (finding,) = findings
        assert finding.evidence["train_r2"] == pytest.approx(1 - 0.64 / variance, abs=1e-3)
        assert finding.evidence["r2_threshold"] == rules.UNDERFIT_R2
        assert "explains only 36 % of the training targets' variance" in finding.explanation


@pytest.mark.parametrize("cause", ["dead_relu", "saturation", "vanishing_gradients"])
def test_underfitting_gives_way_to_a_finding_that_explains_the_plateau(cause):
    records, epochs = healthy_run()
    _plateau(epochs, accuracy=0.6)
    for record in records[-4:]:
        PER_PROBE[cause](record)
    assert cause in kinds(diagnose_records(records, epochs))
    assert "underfitting" not in kinds(diagnose_records(records, epochs))


def test_a_spike_that_kills_the_relus_is_reported_as_divergence_and_dead_relu():
    """The blow-up (step 12) and what it left behind (dead units), each with its evidence."""
    records, epochs = healthy_run()
    spike = {"epoch": 0, "loss": 1e7, "layers": []}
    records[1:1] = [{**spike, "step": step} for step in (10, 11, 12)]
    records.insert(0, {"step": 1, "epoch": 0, "loss": 0.7, "layers": []})
    for record in records[-4:]:
        _dead(record)
    found = {f.kind: f for f in diagnose_records(records, epochs)}
    assert {"divergence", "dead_relu"} <= set(found)
    assert found["divergence"].evidence["step"] == 12
    assert found["dead_relu"].evidence["dead_fraction"] == 0.9


def _set_epoch_losses(epochs: list[dict], losses: list[float]) -> None:
    for log, loss in zip(epochs, losses, strict=True):
        log["loss"] = loss


def test_oscillation_fires_on_repeated_large_swings():
    records, epochs = healthy_run()
    _set_epoch_losses(epochs, [0.7 if e % 2 else 0.3 for e in range(EPOCHS)])
    finding = next(f for f in diagnose_records(records, epochs) if f.kind == "oscillation")
    assert finding.evidence["swings"] >= rules.OSCILLATION_MIN_SWINGS


def test_oscillation_ignores_one_spike_and_late_spikes_near_zero_loss():
    records, epochs = healthy_run()
    epochs[-5]["loss"] = 0.6
    assert "oscillation" not in kinds(diagnose_records(records, epochs))
    late = [0.7 * math.exp(-e / 3) for e in range(EPOCHS)]
    late[15:] = [0.02 if e % 2 else 0.005 for e in range(15, EPOCHS)]
    _set_epoch_losses(epochs, late)
    assert "oscillation" not in kinds(diagnose_records(records, epochs))


def test_slow_convergence_fires_when_the_loss_hardly_falls():
    records, epochs = healthy_run()
    for probe, record in enumerate(records):
        record["loss"] = 0.69 - 0.002 * probe
    finding = next(f for f in diagnose_records(records, epochs) if f.kind == "slow_convergence")
    assert finding.evidence["improvement"] < rules.SLOW_IMPROVEMENT


def test_slow_convergence_ignores_one_bad_last_probe_and_short_runs():
    records, epochs = healthy_run()
    records[-1]["loss"] = records[0]["loss"]
    assert "slow_convergence" not in kinds(diagnose_records(records, epochs))
    for record in records:
        record["loss"] = 0.69
    assert "slow_convergence" not in kinds(
        diagnose_records(records, epochs[: rules.MIN_CURVE_POINTS - 1])
    )


def test_slow_convergence_is_left_out_when_its_cause_is_found():
    records, epochs = healthy_run()
    for record in records:
        record["loss"] = 0.69
    for record in records[-4:]:
        _vanishing(record)
    assert {"vanishing_gradients"} <= kinds(diagnose_records(records, epochs))
    assert "slow_convergence" not in kinds(diagnose_records(records, epochs))


@pytest.mark.parametrize("symptom", ["learning_rate_too_low", "slow_convergence"])
def test_the_doctor_never_asks_to_raise_and_to_lower_the_learning_rate_at_once(symptom):
    """Too-high steps can strand a network where the loss stops falling (slow_convergence) or
    where updates vanish (learning_rate_too_low): the high lr is the cause, and both symptoms'
    remedies would raise it."""
    context = {"optimizer": "adam", "lr": 2.0}
    high = make_finding("learning_rate_too_high", "warning", {"update_ratio": 0.4}, None, context)
    stalled = make_finding(symptom, "warning", {"improvement": 0.0}, None, context)
    assert stalled.remedies[0]["factor"] > 1 > high.remedies[0]["factor"]
    assert [finding.kind for finding in rules.without_symptoms([stalled, high])] == [
        "learning_rate_too_high"
    ]


def _overfit(epochs: list[dict], best: int = 12) -> None:
    for log in epochs:
        e = log["epoch"]
        log["loss"] = 0.7 * math.exp(-e / 4) + 0.01
        log["val_loss"] = 0.3 + 0.02 * abs(e - best)
        log["accuracy"], log["val_accuracy"] = 1.0, 0.8


def test_overfitting_fires_when_validation_loss_rises_as_training_loss_falls():
    records, epochs = healthy_run()
    _overfit(epochs)
    finding = next(f for f in diagnose_records(records, epochs) if f.kind == "overfitting")
    assert finding.evidence["best_epoch"] == 13
    assert finding.remedies[0] == {"action": "set_dropout", "value": 0.2}


def test_overfitting_ignores_one_val_spike_and_equal_accuracy():
    records, epochs = healthy_run()
    epochs[-1]["val_loss"] *= 3
    assert "overfitting" not in kinds(diagnose_records(records, epochs))
    _overfit(epochs)
    for log in epochs:
        log["val_accuracy"] = 0.99  # loss creeps up, classification is as good: not flagged
    assert "overfitting" not in kinds(diagnose_records(records, epochs))


def test_a_swinging_loss_is_oscillation_not_overfitting():
    """Training loss averaged during an epoch, validation loss after it: on a loss that swings
    every few epochs the two are sampled at different points of the swing, and the best
    validation epoch is the bottom of one. The overfitting rule alone reads that as a rise;
    with the swing found, the swing is what is reported."""
    records, epochs = healthy_run()
    cycle = [0.1, 0.6, 0.4]  # a swing over three epochs, validation two epochs ahead
    for log in epochs:
        e = log["epoch"]
        log["loss"] = cycle[e % 3]
        log["val_loss"] = 1.6 * cycle[(e + 2) % 3] + 0.001 * e
        del log["accuracy"], log["val_accuracy"]  # a regression: no accuracy gap to check
    assert rules.overfitting(records, epochs, {}) and rules.oscillation(records, epochs, {})
    assert kinds(diagnose_records(records, epochs)) == {"oscillation"}


def test_overfitting_is_judged_up_to_the_epoch_early_stopping_restored():
    """Early stopping ran on 17 epochs past the best (patience) and put the best back."""
    records, epochs = healthy_run()
    _overfit(epochs, best=12)
    assert "overfitting" in kinds(diagnose_records(records, epochs))
    assert "overfitting" not in kinds(diagnose_records(records, epochs, {"restored_epoch": 12}))
    # Restored to a later epoch, the kept model is still past its best: still flagged.
    restored = diagnose_records(records, epochs, {"restored_epoch": 25})
    assert "overfitting" in kinds(restored)


def test_overfitting_needs_an_absolute_rise_after_a_perfect_fit():
    """Best validation loss 0: a relative rise is infinite even for a rounding-level wobble."""
    records, epochs = healthy_run()
    _overfit(epochs)
    for log in epochs:
        log["val_loss"] = 0.0 if log["epoch"] == 3 else 1e-4
        log["loss"] = 1e-6 if log["epoch"] > 3 else 1e-3
        log.pop("accuracy"), log.pop("val_accuracy")  # a regression run: no accuracy gap
    assert "overfitting" not in kinds(diagnose_records(records, epochs))
    for log in epochs[-8:]:
        log["val_loss"] = 0.05  # a real rise from a perfect fit still counts
    finding = next(f for f in diagnose_records(records, epochs) if f.kind == "overfitting")
    assert finding.evidence["best_val_loss"] == 0.0


# ---- findings, explanations, remedies --------------------------------------------------
def test_every_kind_has_an_explanation_and_remedies():
    for kind in KINDS:
        assert REMEDIES[kind]
        text = explain(kind, {}, None)
        assert text and "{" not in text


def test_a_finding_whose_remedies_have_no_pytorch_line_keeps_them_as_actions():
    """The PyTorch watch words the remedies it knows; a run-file-only one (another hidden
    layer) stays an action instead of failing the whole diagnosis."""
    finding = make_finding("underfitting", "warning", {}, None, {})
    in_pytorch_terms(finding, {})
    assert finding.remedies[0] == {"action": "add_hidden_layer"}


def test_finding_rejects_unknown_kind_and_severity():
    with pytest.raises(ValueError, match="kind must be one of"):
        Finding("gradient_trouble", "warning", None, {})
    with pytest.raises(ValueError, match="severity must be one of"):
        Finding("divergence", "fatal", None, {})


def test_worst_prefers_severity_then_the_order_of_kinds():
    info = make_finding("vanishing_risk", "info", {})
    late = make_finding("overfitting", "warning", {})
    early = make_finding("dead_relu", "warning", {})
    assert worst([info, late, early]) is early
    assert worst([info, make_finding("divergence", "error", {})]).kind == "divergence"
    assert worst([]) is None


def test_to_dict_is_strict_json():
    finding = make_finding("divergence", "error", {"step": 3, "loss": np.float32("nan")})
    text = json.dumps(finding.to_dict(), allow_nan=False)
    assert json.loads(text)["evidence"]["loss"] == "nan"


def test_the_rules_entry_point_survives_importing_the_diagnose_submodule():
    """``sigmalab.doctor.diagnose`` is a submodule; the rules' function has its own name."""
    import sigmalab.doctor
    import sigmalab.doctor.diagnose  # noqa: F401  (binds the submodule on the package)

    assert sigmalab.doctor.diagnose_records is rules.diagnose_records
    assert "diagnose" not in sigmalab.doctor.__all__
    records, epochs = healthy_run()
    assert sigmalab.doctor.diagnose_records(records, epochs) == diagnose_records(records, epochs)


def test_json_safe_is_public_and_handles_nested_numpy_values():
    value = {"a": [np.float64("inf"), (np.int64(3), None)], 2: {"b": np.float32(0.5)}}
    assert json_safe(value) == {"a": ["inf", [3, None]], "2": {"b": 0.5}}
    json.dumps(json_safe(value), allow_nan=False)


def test_remedies_already_in_effect_are_left_out():
    context = {
        "clip_norm": 1.0,
        "optimizer": "adam",
        "layers": [
            {"kind": "dense", "activation": "relu"},
            {"kind": "batchnorm"},
            {"kind": "dense", "activation": "linear"},
        ],
    }
    assert applicable_remedies("exploding_gradients", context) == [
        {"action": "scale_learning_rate", "factor": 0.1}
    ]
    assert {"action": "set_optimizer", "value": "adam"} not in applicable_remedies(
        "oscillation", context
    )
    assert applicable_remedies("vanishing_gradients", context) == [
        {"action": "set_init", "value": "he_normal"}
    ]


def test_remedies_that_would_still_change_the_run_are_offered():
    """A looser clip can be tightened, and a hidden layer without BatchNorm can get one:
    the same judgement as the remedies themselves."""
    context = {
        "clip_norm": 10.0,
        "layers": [
            {"kind": "dense", "activation": "relu"},
            {"kind": "batchnorm"},
            {"kind": "dense", "activation": "relu"},
            {"kind": "dense", "activation": "linear"},
        ],
    }
    actions = [remedy["action"] for remedy in applicable_remedies("exploding_gradients", context)]
    assert actions == ["scale_learning_rate", "set_clip_norm", "add_batchnorm"]
