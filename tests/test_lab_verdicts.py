"""Each claim's verdict logic on small synthetic intervals, and the intervals themselves."""

import math

import pytest

from sigmalab.experiments.claim import mean_of
from sigmalab.experiments.claims import (
    any_activation,
    dead_relu,
    dropout,
    exploding_gradients,
    nonlinearity,
    relu_vs_sigmoid,
    sigmoid_saturation,
    vanishing_gradients,
)
from sigmalab.experiments.stats import (
    Interval,
    difference_interval,
    mean_interval,
    paired_difference_interval,
    proportion_interval,
)
from sigmalab.experiments.verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS


def around(mean, half=0.01):
    """An interval of half-width ``half`` around ``mean`` (10 seeds)."""
    return Interval(mean, mean - half, mean + half, 10)


# ---- intervals -----------------------------------------------------------------------------
def test_a_mean_gets_students_t_interval():
    interval = mean_interval([1.0, 2.0, 3.0, 4.0, float("nan")])  # NaN: a run that diverged
    assert interval.n == 4 and interval.mean == 2.5
    half = 3.182446305284263 * math.sqrt(5 / 3) / 2  # t(0.975, 3) * s / sqrt(n)
    assert (interval.low, interval.high) == pytest.approx((2.5 - half, 2.5 + half))
    assert math.isnan(mean_interval([1.0]).low)


def test_differences_are_welch_or_paired_and_shares_wilson():
    welch = difference_interval([1.0, 2.0, 3.0], [0.0, 0.0, 0.5, 0.5])
    assert welch.mean == pytest.approx(1.75) and welch.low < 1.75 < welch.high
    assert paired_difference_interval([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == Interval(0, 0, 0, 3)
    share = proportion_interval(0, 10)  # Wilson: not a zero-width interval at 0 of 10
    assert share.mean == 0 and share.low == 0 and share.high == pytest.approx(0.2775, abs=1e-4)
    assert around(0.9).above(around(0.5)) and not around(0.9).above(around(0.895))


def test_accuracies_shares_and_losses_keep_their_intervals_inside_their_bounds():
    def runs(name, values):
        return [{"status": "done", name: value, "measures": {}} for value in values]

    accuracy = mean_of(runs("test_accuracy", [1.0, 1.0, 0.98]), "test_accuracy")
    assert accuracy.high == 1.0 and accuracy.low < 0.98
    assert mean_of(runs("train_loss", [0.0, 0.0, 0.0, 0.01]), "train_loss").low == 0.0
    dead = mean_of(
        [{"status": "done", "measures": {"dead_fraction": v}} for v in (0, 0, 0.1)], "dead_fraction"
    )
    assert dead.low == 0.0
    free = mean_interval([0.0, 0.0, 0.0, 0.01])  # an unbounded quantity keeps Student's t
    assert free.low < 0


# ---- verdicts: each claim with intervals that support it, do not, or only partly ---------------
def test_nonlinearity():
    assert (
        nonlinearity.verdict(around(0.72), {"tanh": around(0.98), "relu": around(0.99)}).status
        == HOLDS
    )
    assert nonlinearity.verdict(around(0.95), {"tanh": around(0.98)}).status == DOES_NOT_HOLD
    partly = nonlinearity.verdict(around(0.72), {"tanh": around(0.85), "relu": around(0.99)})
    assert partly.status == CONDITIONAL and "tanh" in partly.reason
    # a point value past the bound is not enough: the whole interval must clear it
    assert nonlinearity.verdict(around(0.79, 0.02), {"tanh": around(0.98)}).status == DOES_NOT_HOLD


def test_relu_vs_sigmoid():
    better, same, worse = around(0.3), around(0.0), around(-0.3)
    assert relu_vs_sigmoid.verdict({"a": better, "b": better, "c": same}).status == HOLDS
    partly = relu_vs_sigmoid.verdict({"a": better, "b": worse, "c": same})
    assert partly.status == CONDITIONAL and "worse: b" in partly.reason
    assert relu_vs_sigmoid.verdict({"a": better, "b": same, "c": same}).status == CONDITIONAL
    assert relu_vs_sigmoid.verdict({"a": same, "b": worse}).status == DOES_NOT_HOLD


def test_sigmoid_saturation():
    flat = {1.0: around(0.0, 0.001), 16.0: around(0.15)}
    relu = {1.0: around(0.5), 16.0: around(0.5)}
    assert sigmoid_saturation.verdict(flat, flat, relu).status == HOLDS
    one_side = sigmoid_saturation.verdict(flat, {1.0: around(0.0), 16.0: around(0.0)}, relu)
    assert one_side.status == CONDITIONAL and "low end" in one_side.reason
    none = {1.0: around(0.0), 16.0: around(0.01)}
    assert sigmoid_saturation.verdict(none, none, relu).status == DOES_NOT_HOLD


def test_vanishing_gradients():
    sigmoid = {2: around(-1.4, 0.1), 10: around(-6.7, 0.2)}
    assert (
        vanishing_gradients.verdict(sigmoid, {2: around(-0.5), 10: around(-1.0, 0.3)}).status
        == HOLDS
    )
    weak_relu = {2: around(-0.5), 10: around(-5.5, 0.3)}
    assert vanishing_gradients.verdict(sigmoid, weak_relu).status == CONDITIONAL
    flat = {2: around(-1.4, 0.1), 10: around(-2.0, 0.2)}  # 0.6 orders: not "vanishing"
    assert vanishing_gradients.verdict(flat, weak_relu).status == DOES_NOT_HOLD


def test_exploding_gradients():
    normal, large = around(-0.5, 0.1), around(1.4, 0.2)
    assert (
        exploding_gradients.verdict(normal, large, around(0.5), around(0.7), around(0.95)).status
        == HOLDS
    )
    only_bn = exploding_gradients.verdict(
        normal, large, around(0.5), around(0.5, 0.05), around(0.95)
    )
    assert only_bn.status == CONDITIONAL and "only batch normalisation" in only_bn.reason
    assert (
        exploding_gradients.verdict(
            normal, around(0.2), around(0.5), around(0.7), around(0.95)
        ).status
        == DOES_NOT_HOLD
    )


def test_dead_relu():
    rising = {0.01: around(0.02), 0.1: around(0.2), 1.0: around(0.4), 3.0: around(0.7)}
    assert dead_relu.verdict(rising).status == HOLDS
    late = {0.01: around(0.02), 0.1: around(0.03), 1.0: around(0.04), 3.0: around(0.7)}
    partly = dead_relu.verdict(late)
    assert partly.status == CONDITIONAL and "only at lr >= 3" in partly.reason
    flat = {0.01: around(0.02), 3.0: around(0.08)}  # above, but not by the margin
    assert dead_relu.verdict(flat).status == DOES_NOT_HOLD


def test_dropout():
    zero, chance, learned = Interval(0, 0, 0, 10), around(0.52, 0.03), around(0.8)
    assert dropout.verdict(zero, chance, {0.5: around(0.05)}).status == HOLDS
    harmful = dropout.verdict(zero, chance, {0.5: around(-0.1)})
    assert harmful.status == HOLDS and "'more useful' did not hold" in harmful.reason
    assert dropout.verdict(zero, learned, {}).status == CONDITIONAL
    assert dropout.verdict(around(0.0, 0.04), chance, {}).status == CONDITIONAL  # not within +-1 %
    assert dropout.verdict(around(0.1), learned, {}).status == DOES_NOT_HOLD


def test_any_activation():
    assert any_activation.verdict({"sin(x)": around(0.98), "x**2": around(0.99)}).status == HOLDS
    partly = any_activation.verdict({"sin(x)": around(0.98), "2*x": around(0.38)})
    assert partly.status == CONDITIONAL and "2*x" in partly.reason
    assert any_activation.verdict({"2*x": around(0.38)}).status == DOES_NOT_HOLD
