"""Explanations read as sentences whatever the evidence holds: missing, None, zero, 100 %."""

from __future__ import annotations

import pytest

from sigmalab.doctor.explanations import TEMPLATES, explain

LAYER = {"index": 0, "name": "dense_1 (relu)"}
# Every number a rule puts in evidence, so each template meets each of them.
NUMBERS = [
    "step",
    "epoch",
    "loss",
    "initial_loss",
    "final_loss",
    "improvement",
    "first_layer_error",
    "last_layer_error",
    "ratio",
    "update_ratio",
    "threshold",
    "lr",
    "rate",
    "dead_fraction",
    "saturated_fraction",
    "swings",
    "points",
    "epochs",
    "best_epoch",
    "val_loss",
    "train_loss",
    "mean",
    "std",
    "saturating_layers",
    "nonfinite_fraction",
    "bad_input_min",
    "bad_input_max",
    "train_accuracy",
    "recent_improvement",
    "window_epochs",
]
UNREADABLE = ("None", "?", "e+0", "nan ")


def readable(text: str) -> bool:
    return not any(fragment in text for fragment in UNREADABLE)


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
@pytest.mark.parametrize("value", [None, 0.0, 0], ids=["none", "zero", "int-zero"])
def test_no_template_prints_none_a_question_mark_or_an_exponent(kind, value):
    evidence = dict.fromkeys(NUMBERS, value)
    for text in (explain(kind, evidence, LAYER), explain(kind, {}, None)):
        assert readable(text), text


def test_a_divergence_without_a_first_loss_or_a_step_says_no_start():
    text = explain("divergence", {"epoch": None, "loss": float("nan"), "initial_loss": None})
    assert text.startswith("Training diverged: the loss became NaN, so")
    assert "started at" not in text
    text = explain("divergence", {"step": 7, "loss": 1e9, "initial_loss": 0.69})
    assert "at step 7: the loss became 1e+09 (it started at 0.69)" in text


def test_a_first_layer_without_any_error_is_worded_without_a_factor():
    evidence = {"first_layer_error": 0.0, "last_layer_error": 0.86, "ratio": 0.0}
    text = explain("vanishing_gradients", evidence, LAYER)
    assert "dense_1 (relu)'s error is 0 (no error reaches it at all), against the last " in text
    assert "times" not in text
    evidence = {"first_layer_error": 1e-7, "last_layer_error": 0.1, "ratio": 1e-6}
    assert "1e-07, 10^6 times smaller than the last layer's (0.1)" in explain(
        "vanishing_gradients", evidence, LAYER
    )


def test_whole_and_zero_shares_read_as_percents():
    assert explain("dead_relu", {"dead_fraction": 1.0}, LAYER).startswith("100 % of dense_1")
    assert explain("dead_relu", {"dead_fraction": 0.0123}, LAYER).startswith("1.2 % of")


def test_a_loss_that_did_not_fall_and_steps_that_do_not_move_are_said_so():
    slow = explain(
        "slow_convergence",
        {"epochs": 20, "initial_loss": 0.69, "final_loss": 0.7, "improvement": -0.01},
    )
    assert "the loss did not fall (from 0.69 to 0.7)" in slow
    still = explain("learning_rate_too_low", {"update_ratio": 0.0, "threshold": 1e-6})
    assert still.startswith("Each step leaves the weights unchanged")
