"""Remedies (one run-config transformation per action) and the repair loop end to end."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import sigmalab as sl
from sigmalab.config import RunConfig, load_run
from sigmalab.doctor.diagnose import Diagnosis, Metric, diagnose
from sigmalab.doctor.findings import REMEDIES, make_finding
from sigmalab.doctor.remedies import ACTIONS, RemedyError, apply_remedy
from sigmalab.doctor.repair import repair
from sigmalab.doctor.report import describe_remedy

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def small_run() -> dict:
    """Two sigmoid hidden layers, a dropout, a sigmoid output: every remedy has work to do."""
    return {
        "data": {"dataset": "circle", "samples": 100, "standardize": False},
        "model": {
            "layers": [
                {"type": "dense", "units": 8, "activation": "sigmoid", "weight_scale": 0.5},
                {"type": "dropout", "rate": 0.9},
                {"type": "dense", "units": 8},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ]
        },
        "train": {
            "loss": "bce",
            "epochs": 10,
            "batch_size": 10,
            "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.5},
        },
    }


def layers_of(config: dict) -> list[dict]:
    return config["model"]["layers"]


# What a rule adds to its kind's remedies: activation_domain names the layer at fault.
FILLED_IN_BY_RULE = {"replace_activation": {"layer": 0}}


def test_every_remedy_the_doctor_proposes_has_an_action_and_yields_a_valid_run():
    for remedies in REMEDIES.values():
        for remedy in remedies:
            remedy = {**FILLED_IN_BY_RULE.get(remedy["action"], {}), **remedy}
            changed = apply_remedy(small_run(), remedy)
            RunConfig.from_dict(changed)
            assert changed != small_run(), describe_remedy(remedy)


def test_apply_remedy_leaves_the_original_untouched():
    original = small_run()
    apply_remedy(original, {"action": "add_batchnorm"})
    assert original == small_run()


def test_set_activation_changes_hidden_dense_layers_only():
    changed = apply_remedy(
        small_run(), {"action": "set_activation", "value": "relu", "layers": "hidden"}
    )
    assert [layer.get("activation") for layer in layers_of(changed)] == [
        "relu",
        None,
        "relu",
        "sigmoid",
    ]


def test_set_init_resets_the_weight_scale():
    changed = apply_remedy(small_run(), {"action": "set_init", "value": "he_normal"})
    dense = [layer for layer in layers_of(changed) if layer["type"] == "dense"]
    assert all(layer["init"] == "he_normal" and layer["weight_scale"] == 1.0 for layer in dense)


def test_add_batchnorm_follows_each_hidden_dense_layer():
    changed = apply_remedy(small_run(), {"action": "add_batchnorm"})
    assert [layer["type"] for layer in layers_of(changed)] == [
        "dense",
        "batchnorm",
        "dropout",
        "dense",
        "batchnorm",
        "dense",
    ]


def test_learning_rate_clip_and_optimizer_remedies():
    lowered = apply_remedy(small_run(), {"action": "scale_learning_rate", "factor": 0.1})
    assert lowered["train"]["optimizer"]["lr"] == pytest.approx(0.01)
    clipped = apply_remedy(small_run(), {"action": "set_clip_norm", "value": 1.0})
    assert clipped["train"]["optimizer"]["clip_norm"] == 1.0
    adam = apply_remedy(clipped, {"action": "set_optimizer", "value": "adam"})
    assert adam["train"]["optimizer"] == {"name": "adam", "lr": 1e-3, "clip_norm": 1.0}


def test_regularisation_remedies():
    lower = apply_remedy(small_run(), {"action": "set_dropout", "value": 0.2})
    assert [layer.get("rate") for layer in layers_of(lower) if layer["type"] == "dropout"] == [0.2]
    no_dropout = small_run()
    del layers_of(no_dropout)[1]
    added = apply_remedy(no_dropout, {"action": "set_dropout", "value": 0.2})
    assert [layer["type"] for layer in layers_of(added)] == [
        "dense",
        "dropout",
        "dense",
        "dropout",
        "dense",
    ]
    l2 = apply_remedy(small_run(), {"action": "set_l2", "value": 1e-3})
    assert all(layer["l2"] == 1e-3 for layer in layers_of(l2) if layer["type"] == "dense")
    stopping = apply_remedy(small_run(), {"action": "early_stopping", "patience": 20})
    assert stopping["train"]["early_stopping_patience"] == 20


def test_input_structure_and_schedule_remedies():
    assert apply_remedy(small_run(), {"action": "standardize_inputs"})["data"]["standardize"]
    inserted = apply_remedy(small_run(), {"action": "insert_activation", "value": "relu"})
    assert layers_of(inserted)[2]["activation"] == "relu"
    logits = apply_remedy(small_run(), {"action": "remove_output_activation"})
    assert "activation" not in layers_of(logits)[-1]
    longer = apply_remedy(small_run(), {"action": "increase_epochs", "factor": 2})
    assert longer["train"]["epochs"] == 20


def test_capacity_remedies_for_underfitting():
    deeper = layers_of(apply_remedy(small_run(), {"action": "add_hidden_layer"}))
    assert [layer["type"] for layer in deeper] == ["dense", "dropout", "dense", "dense", "dense"]
    assert deeper[3] == deeper[2]  # the last hidden layer repeated, settings and all
    wider = layers_of(apply_remedy(small_run(), {"action": "scale_units", "factor": 4}))
    assert [layer.get("units") for layer in wider] == [32, None, 32, 1]
    remedy = {"action": "set_features", "value": ["x1", "x2", "x1*x2"]}
    assert apply_remedy(small_run(), remedy)["data"]["features"] == ["x1", "x2", "x1*x2"]
    wine = {**small_run(), "data": {"dataset": "wine"}}
    with pytest.raises(RemedyError, match="only to the 2-D built-in datasets"):
        apply_remedy(wine, remedy)


def test_replace_activation_changes_one_layer_and_linear_means_none():
    relu = layers_of(
        apply_remedy(small_run(), {"action": "replace_activation", "layer": 2, "value": "relu"})
    )
    assert [layer.get("activation") for layer in relu] == ["sigmoid", None, "relu", "sigmoid"]
    remedy = {"action": "replace_activation", "layer": 3, "value": "linear"}
    assert "activation" not in layers_of(apply_remedy(small_run(), remedy))[3]
    with pytest.raises(RemedyError, match=r"model.layers\[1\] is not a Dense layer"):
        apply_remedy(small_run(), {"action": "replace_activation", "layer": 1, "value": "relu"})


@pytest.mark.parametrize(
    ("remedy", "message"),
    [
        ({"action": "remove_output_activation"}, "output layer has no activation"),
        ({"action": "standardize_inputs"}, "already standardised"),
        ({"action": "set_activation", "value": "tanh", "layers": "hidden"}, "already uses"),
        ({"action": "make_it_work"}, "unknown remedy action 'make_it_work'"),
        ({"action": "set_l2"}, r"remedy 'set_l2' takes value \(received: none\)"),
        ({"action": "set_features"}, r"remedy 'set_features' takes value \(received: none\)"),
        (
            {"action": "set_l2", "value": 0.01, "amount": 2},
            r"remedy 'set_l2' takes value \(received: amount, value\)",
        ),
    ],
)
def test_a_remedy_that_does_not_apply_raises_a_clear_error(remedy, message):
    config = {
        "data": {"dataset": "circle", "standardize": True},
        "model": {
            "layers": [
                {"type": "dense", "units": 4, "activation": "tanh"},
                {"type": "dense", "units": 1},
            ]
        },
        "train": {"loss": "bce", "epochs": 5, "optimizer": {"name": "sgd", "lr": 0.1}},
    }
    with pytest.raises(RemedyError, match=message):
        apply_remedy(config, remedy)


def test_actions_cover_the_remedy_vocabulary():
    used = {remedy["action"] for remedies in REMEDIES.values() for remedy in remedies}
    assert used <= set(ACTIONS)


# ---- the repair loop -----------------------------------------------------------------------
def diagnose_fixed(config: RunConfig) -> Diagnosis:
    """A fixed probe interval keeps the tests independent of the machine's speed."""
    return diagnose(config, doctor_options={"probe_every": 25})


def test_repair_replaces_a_vanishing_sigmoid_stack_with_relu_and_proves_it():
    result = repair(
        SCENARIOS / "vanishing_gradients/01-circle-deep-sigmoid.toml",
        budget=2,
        diagnose_run=diagnose_fixed,
    )
    first = result.attempts[0]
    assert first.finding.kind == "vanishing_gradients"
    assert first.remedy["action"] == "set_activation" and first.accepted
    assert first.finding_gone and first.metric_after > first.metric_before + 0.2
    assert not result.final.has_problem("vanishing_gradients")
    hidden = [layer for layer in result.config.model.layers if layer.type == "dense"][:-1]
    assert {layer.activation for layer in hidden} == {"relu"}


def test_repair_lowers_a_dropout_rate_of_one_and_saves_the_run(tmp_path):
    result = repair(
        SCENARIOS / "dropout_too_high/01-gauss-dropout-1.toml",
        budget=2,
        diagnose_run=diagnose_fixed,
    )
    assert [(a.remedy, a.accepted) for a in result.accepted] == [
        ({"action": "set_dropout", "value": 0.2}, True)
    ]
    assert result.healthy
    assert result.final.metric.value > result.original.metric.value
    saved = tmp_path / "fixed.toml"
    result.save(saved)
    rates = [layer.rate for layer in load_run(saved).model.layers if layer.type == "dropout"]
    assert rates == [0.2]
    table = dict((row[0], row[1:]) for row in result.table())
    assert table["problems"] == ("dropout_too_high", "none")
    json.dumps(result.to_dict(), allow_nan=False)


def fake_diagnosis(
    config: RunConfig, kinds: list[str], accuracy: float, constant: float = 0.5
) -> Diagnosis:
    """A Diagnosis without training, for the loop's decisions alone."""
    findings = [make_finding(kind, "warning", {}) for kind in kinds]
    metric = Metric("test_accuracy", accuracy, True, 0.9, constant)
    return Diagnosis(findings, {"train_loss": 0.5}, None, config, metric)


def fake_regression(config: RunConfig, kinds: list[str], loss: float) -> Diagnosis:
    """A regression Diagnosis without training: targets of variance 1."""
    findings = [make_finding(kind, "warning", {}) for kind in kinds]
    metric = Metric("test_loss", loss, False, 0.1, 1.0)
    return Diagnosis(findings, {"train_loss": loss}, None, config, metric)


def test_a_repair_that_removes_the_finding_but_learns_nothing_is_never_accepted():
    """Weights 3x too large: the run diverges; clipping keeps it finite at a test MSE of 3,282
    on targets of variance 1, which is no learning, so clipping is not a repair."""

    def clipped_learns_nothing(config: RunConfig) -> Diagnosis:
        if config.train.optimizer.clip_norm is not None:
            return fake_regression(config, ["no_learning"], 3282.0)
        return fake_regression(config, ["divergence", "no_learning"], math.nan)

    result = repair(small_run_config(lr=0.1), budget=2, diagnose_run=clipped_learns_nothing)
    clip = next(a for a in result.attempts if a.remedy["action"] == "set_clip_norm")
    assert clip.finding_gone and not clip.accepted
    assert not result.accepted and result.final is result.original
    assert not result.healthy


def sigmoid_on_raw_inputs(config: RunConfig) -> Diagnosis:
    """Standardising removes both findings but, at the old learning rate, trains slowly and
    scores lower (0.64 -> 0.56); with the learning rate raised as well the run is healthy."""
    if not config.data.standardize:
        return fake_diagnosis(config, ["unscaled_inputs", "saturation"], 0.64)
    if config.train.optimizer.lr < 0.2:
        return fake_diagnosis(config, ["slow_convergence"], 0.56)
    return fake_diagnosis(config, [], 0.93)


def test_a_remedy_that_removes_the_cause_but_slows_the_run_is_followed_by_the_next():
    result = repair(small_run_config(lr=0.1), budget=4, diagnose_run=sigmoid_on_raw_inputs)
    assert [a.remedy["action"] for a in result.accepted] == [
        "standardize_inputs",
        "scale_learning_rate",
    ]
    assert result.healthy and result.final.metric.value == 0.93
    assert result.accepted[1].step_from == 1  # the second step changes the first one's run
    assert result.path == [
        {
            "finding": "unscaled_inputs",
            "remedy": {"action": "standardize_inputs"},
            "findings_after": ["slow_convergence"],
            "metric": 0.56,
        },
        {
            "finding": "slow_convergence",
            "remedy": {"action": "scale_learning_rate", "factor": 3.0},
            "findings_after": [],
            "metric": 0.93,
        },
    ]


def test_the_path_taken_is_in_the_terminal_and_json_reports():
    from rich.console import Console

    result = repair(small_run_config(lr=0.1), budget=4, diagnose_run=sigmoid_on_raw_inputs)
    console = Console(record=True, width=200)
    result.render(console)
    text = console.export_text()
    assert "Path taken" in text
    path_rows = text[text.index("Path taken") : text.index("Before / after")]
    assert "standardize_inputs" in path_rows and "scale_learning_rate 3.0" in path_rows
    assert "slow_convergence" in path_rows and "0.93" in path_rows
    report = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert [step["remedy"]["action"] for step in report["path"]] == [
        "standardize_inputs",
        "scale_learning_rate",
    ]
    assert report["attempts"][0]["verdict"] == "accepted"


def test_a_scaling_remedy_that_falls_short_is_pushed_further():
    """lr 1e-6: x10 is not enough; the loop multiplies again until the finding is gone."""

    def by_learning_rate(config: RunConfig) -> Diagnosis:
        too_low = config.train.optimizer.lr < 5e-4
        return fake_diagnosis(
            config, ["learning_rate_too_low"] if too_low else [], 0.5 + 0.4 * (not too_low)
        )

    result = repair(small_run_config(lr=1e-6), budget=4, diagnose_run=by_learning_rate)
    factors = [attempt.remedy["factor"] for attempt in result.attempts]
    assert factors == [10.0, 100.0, 1000.0]
    assert [attempt.accepted for attempt in result.attempts] == [False, False, True]
    assert result.config.train.optimizer.lr == pytest.approx(1e-3)


def test_a_config_tried_for_one_finding_is_not_retrained_for_the_next():
    """Divergence and exploding gradients share their first remedies: after divergence's
    are rejected, exploding gradients reads their diagnoses instead of training again."""
    trained = []

    def never_better(config: RunConfig) -> Diagnosis:
        trained.append(json.dumps(config.to_dict(), sort_keys=True, default=str))
        original = trained[-1] == trained[0]
        return fake_diagnosis(config, ["divergence", "exploding_gradients"], 0.5 + 0.1 * original)

    result = repair(small_run_config(lr=0.1), budget=6, diagnose_run=never_better)
    assert len(trained) == len(set(trained))  # no config trained twice
    assert result.retrains == len(trained) - 1  # the first diagnosis is not a retrain
    tried = [(attempt.finding.kind, attempt.remedy["action"]) for attempt in result.attempts]
    assert ("exploding_gradients", "scale_learning_rate") in tried
    assert ("divergence", "scale_learning_rate") in tried  # tried, not retrained
    assert result.retrains < len(result.attempts)


def test_a_fix_that_makes_the_metric_worse_is_rejected_and_the_budget_holds():
    def always_worse(config: RunConfig) -> Diagnosis:
        original = config.train.optimizer.lr == 0.1
        return fake_diagnosis(config, ["oscillation"] if original else [], 0.8 if original else 0.6)

    result = repair(small_run_config(lr=0.1), budget=1, diagnose_run=always_worse)
    assert result.retrains == 1 and not result.accepted
    assert result.config == result.original.config


def small_run_config(lr: float) -> RunConfig:
    config = small_run()
    config["train"]["optimizer"] = {"name": "sgd", "lr": lr}
    return RunConfig.from_dict(config)


# ---- the command line ----------------------------------------------------------------------
def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sigmalab", *args], capture_output=True, text=True, timeout=120
    )


def test_doctor_json_prints_one_object_with_the_findings():
    done = run_cli("doctor", str(SCENARIOS / "dropout_too_high/01-gauss-dropout-1.toml"), "--json")
    assert done.returncode == 1, done.stderr  # an error remains
    report = json.loads(done.stdout)
    assert set(report) == {"findings", "repair"} and report["repair"] is None
    dropout = next(f for f in report["findings"] if f["kind"] == "dropout_too_high")
    assert dropout["severity"] == "error"
    assert dropout["remedies"][0] == {"action": "set_dropout", "value": 0.2}


def test_doctor_repair_writes_the_repaired_run_file(tmp_path):
    run_file = tmp_path / "vanishing.toml"
    run_file.write_text((SCENARIOS / "vanishing_gradients/01-circle-deep-sigmoid.toml").read_text())
    page = tmp_path / "report.html"
    done = run_cli(
        "doctor", str(run_file), "--repair", "--json", "--budget", "1", "--html", str(page)
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["repair"]
    assert report["attempts"][0]["accepted"]
    assert report["path"][0]["remedy"]["action"] == "set_activation"
    html = page.read_text()
    assert "Path taken" in html and "set_activation relu" in html
    repaired = tmp_path / "vanishing.repaired.toml"
    assert report["saved_to"] == str(repaired)
    assert load_run(repaired).model.layers[0].activation == "relu"


def test_doctor_html_without_repair_is_a_usage_error(tmp_path):
    done = run_cli("doctor", "any.toml", "--html", str(tmp_path / "report.html"))
    assert done.returncode == 2
    assert "--html" in done.stderr and "--repair" in done.stderr
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    ("scenario", "metric"),
    [
        ("healthy/03-gauss-sigmoid-sgd.toml", "accuracy"),
        ("healthy/06-reg-plane-tanh-sgd.toml", r"loss \(mse\)"),
    ],
)
def test_doctor_exits_0_on_a_healthy_run_and_shows_its_metric(scenario, metric):
    done = run_cli("doctor", str(SCENARIOS / scenario))
    assert done.returncode == 0, done.stderr
    assert "No problems found" in done.stdout
    assert re.search(rf"^{metric}: train [0-9.e-]+, test [0-9.e-]+$", done.stdout, re.M)


def test_doctor_repair_exits_1_when_no_remedy_was_accepted_and_the_problem_remains():
    """The first underfitting remedy (another layer) lowers this run's accuracy: rejected."""
    run_file = SCENARIOS / "underfitting/02-checkerboard-2-8-1.toml"
    done = run_cli("doctor", str(run_file), "--repair", "--budget", "1")
    assert done.returncode == 1, done.stderr
    assert "no remedy was accepted" in done.stdout
    assert re.search(r"^accuracy: train [0-9.]+, test [0-9.]+$", done.stdout, re.M)
    done = run_cli("doctor", str(run_file), "--repair", "--budget", "1", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)["repair"]
    assert not report["attempts"][0]["accepted"] and not report["healthy"]
    assert not run_file.with_name(f"{run_file.stem}.repaired.toml").exists()


def test_doctor_names_a_missing_run_file():
    done = run_cli("doctor", "no-such-run.toml")
    assert done.returncode == 2
    assert "no-such-run.toml" in done.stderr


def test_train_stores_the_doctors_findings_in_the_summary_unless_told_not_to(tmp_path):
    run_file = str(SCENARIOS / "dead_relu/01-spiral-adam-large-lr.toml")
    watched, unwatched = tmp_path / "watched", tmp_path / "unwatched"
    assert run_cli("train", run_file, "--out", str(watched), "--quiet").returncode == 0
    assert run_cli("train", run_file, "--out", str(unwatched), "-q", "--no-doctor").returncode == 0
    findings = json.loads((watched / "summary.json").read_text())["findings"]
    assert [finding["kind"] for finding in findings] == ["dead_relu"]
    assert "findings" not in json.loads((unwatched / "summary.json").read_text())


@pytest.mark.parametrize("spelling", ["none", "Linear", "identity"])
def test_linear_layers_spelled_any_way_get_an_activation_and_lose_it_at_the_output(spelling):
    """The remedies judge 'linear' as the static check does: by the activation's family."""
    config = {
        "model": {"layers": [{"type": "dense", "units": 4, "activation": spelling} for _ in "ab"]},
        "train": {"loss": "bce"},
    }
    fixed = apply_remedy(config, {"action": "insert_activation", "value": "relu"})
    assert fixed["model"]["layers"][0]["activation"] == "relu"
    with pytest.raises(sl.SigmalabError, match="no activation"):
        apply_remedy(fixed, {"action": "remove_output_activation"})


def test_check_static_takes_an_optimizer_by_name():
    model = sl.Sequential([sl.Dense(4, "relu"), sl.Dense(1)]).build(2)
    by_name = sl.doctor.check_static(model, optimizer="sgd", loss="mse")
    by_object = sl.doctor.check_static(model, optimizer=sl.SGD(), loss="mse")
    assert [f.to_dict() for f in by_name] == [f.to_dict() for f in by_object]
    with pytest.raises(sl.SigmalabError, match="unknown optimizer"):
        sl.doctor.check_static(model, optimizer="adamw")


def test_set_init_auto_resets_the_weight_scale_and_is_no_change_on_a_default_run():
    scaled = apply_remedy(small_run(), {"action": "set_init", "value": "auto"})
    dense = [layer for layer in layers_of(scaled) if layer["type"] == "dense"]
    assert all(layer["init"] == "auto" and layer["weight_scale"] == 1.0 for layer in dense)
    with pytest.raises(RemedyError, match="already uses 'auto' at scale 1"):
        apply_remedy(scaled, {"action": "set_init", "value": "auto"})
    default = small_run()
    for layer in layers_of(default):
        layer.pop("weight_scale", None)
    with pytest.raises(RemedyError, match="already uses 'auto'"):
        apply_remedy(default, {"action": "set_init", "value": "auto"})


def test_a_run_diverging_from_weights_3x_too_large_is_repaired_by_the_initialiser():
    """Not by clipping, which keeps the loss finite and learns nothing (no_learning/01)."""
    result = repair(
        SCENARIOS / "divergence/04-reg-gauss-init-3x.toml", budget=1, diagnose_run=diagnose_fixed
    )
    divergence = next(f for f in result.original.findings if f.kind == "divergence")
    assert divergence.evidence["initial_weight_scale"] > 2.5
    assert [a.remedy for a in result.accepted] == [{"action": "set_init", "value": "auto"}]
    assert result.healthy
    assert result.final.metric.value < 0.9 * result.original.metric.constant


def test_a_sibling_that_repairs_the_run_comes_before_following_one_that_only_moved_it():
    """Weights all zero: ReLU removes vanishing gradients but every unit is dead and nothing
    is learned, so it is kept aside while the target's other remedies are tried; the
    initialiser repairs the run and the search never spends a retrain on the dead units."""

    def zero_init(config: RunConfig) -> Diagnosis:
        dense = [layer for layer in config.model.layers if layer.type == "dense"]
        if dense[0].init == "he_normal":
            return fake_diagnosis(config, [], 0.97)
        if dense[0].activation == "relu":
            return fake_diagnosis(config, ["dead_relu", "no_learning"], 0.47)
        return fake_diagnosis(config, ["vanishing_gradients", "no_learning"], 0.47)

    result = repair(small_run_config(lr=0.1), budget=4, diagnose_run=zero_init)
    assert [a.remedy["action"] for a in result.attempts] == [
        "set_activation",
        "add_batchnorm",
        "set_init",
    ]
    assert [a.verdict for a in result.attempts] == ["rejected", "rejected", "accepted"]
    assert result.healthy and result.retrains == 3


def test_scaling_the_learning_rate_down_and_up_gives_back_the_same_run():
    config = small_run()
    config["train"]["optimizer"]["lr"] = 1.5
    down = apply_remedy(config, {"action": "scale_learning_rate", "factor": 0.1})
    back = apply_remedy(down, {"action": "scale_learning_rate", "factor": 10.0})
    assert back == config
