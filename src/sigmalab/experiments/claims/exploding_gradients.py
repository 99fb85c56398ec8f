"""Large weights make gradients explode; batch normalisation or a lower learning rate helps."""

from __future__ import annotations

import math
from typing import Any

from ..claim import (
    OUTPUT,
    Claim,
    Evidence,
    Number,
    hidden,
    log10_mean_of,
    mean_of,
    playground_run,
    share_of,
    value,
)
from ..figures import interval_points
from ..stats import Interval
from ..verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS, Verdict

DEPTH = 4
LARGE = 4.0  # initial weights x4 in each of 5 layers: the signal grows ~4^5 = 1024x
LEARNING_RATES = [0.1, 0.01]
ORDERS = 1.0  # "explodes": the first layer's error at least 10x that of normal weights


def verdict(
    normal: Interval, large: Interval, fails: Interval, lower_lr: Interval, batchnorm: Interval
) -> Verdict:
    """``normal``/``large``: log10 first-layer error at the start with normal/large weights;
    ``fails``, ``lower_lr``, ``batchnorm``: test accuracy with large weights as they are,
    with a 10x lower learning rate, with batch normalisation. Holds when large weights
    raise the error by ORDERS (intervals apart) and each remedy's accuracy interval lies
    above the one without it."""
    explodes = large.above(normal, margin=ORDERS)
    helped = {
        name: share.above(fails)
        for name, share in (("a lower learning rate", lower_lr), ("batch normalisation", batchnorm))
    }
    numbers = (
        f"log10 first-layer error {large.text(2)} with large weights vs {normal.text(2)}; "
        f"test accuracy {fails.text(2)} as is, {lower_lr.text(2)} with a 10x lower learning "
        f"rate, {batchnorm.text(2)} with batch normalisation"
    )
    if not explodes:
        return Verdict(
            DOES_NOT_HOLD, f"large weights did not raise the gradient {10**ORDERS:g}x: {numbers}"
        )
    if all(helped.values()):
        return Verdict(HOLDS, numbers)
    working = [name for name, ok in helped.items() if ok]
    if working:
        failing = [name for name, ok in helped.items() if not ok]
        return Verdict(CONDITIONAL, f"only {working[0]} helped, not {failing[0]}: {numbers}")
    return Verdict(DOES_NOT_HOLD, f"the gradients explode but neither remedy helped: {numbers}")


def _stack(scale: float, batchnorm: bool) -> list[dict[str, Any]]:
    layers = []
    for _ in range(DEPTH):
        layers.append(hidden("relu", weight_scale=scale))
        layers += [{"type": "batchnorm"}] if batchnorm else []
    return [*layers, {**OUTPUT, "weight_scale": scale}]


STACKS = {
    "normal weights": _stack(1.0, False),
    "large weights": _stack(LARGE, False),
    "large weights + batchnorm": _stack(LARGE, True),
}


def _run(quick: bool) -> dict[str, Any]:
    return playground_run("circle", STACKS["normal weights"], epochs=20 if quick else 40, lr=0.1)


def _label(swept: dict[str, Any]) -> str:
    name = next(name for name, stack in STACKS.items() if stack == swept["model.layers"])
    return f"{name}, lr {swept['train.optimizer.lr']:g}"


def _diverged(row: dict) -> bool:
    return not math.isfinite(value(row, "train_loss"))


def _judge(groups: dict[str, list[dict]]) -> Evidence:
    high, low = (f"lr {rate:g}" for rate in LEARNING_RATES)
    numbers = []
    for label, runs in groups.items():
        numbers += [
            Number(label, "log10 first-layer error (start)", log10_mean_of(runs, "start_error_0")),
            Number(label, "share of runs whose loss became NaN/inf", share_of(runs, _diverged)),
            Number(label, "test accuracy", mean_of(runs, "test_accuracy")),
        ]
    return Evidence(
        numbers,
        verdict(
            log10_mean_of(groups[f"normal weights, {high}"], "start_error_0"),
            log10_mean_of(groups[f"large weights, {high}"], "start_error_0"),
            mean_of(groups[f"large weights, {high}"], "test_accuracy"),
            mean_of(groups[f"large weights, {low}"], "test_accuracy"),
            mean_of(groups[f"large weights + batchnorm, {high}"], "test_accuracy"),
        ),
    )


def _draw(figure: Any, groups: dict[str, list[dict]]) -> None:
    labels = list(groups)
    error = figure.add_subplot(1, 2, 1)
    interval_points(
        error,
        labels,
        [log10_mean_of(groups[k], "start_error_0") for k in labels],
        "log10 first-layer error, untrained",
    )
    error.set_title("gradient signal at the start")
    learned = figure.add_subplot(1, 2, 2)
    interval_points(
        learned, labels, [mean_of(groups[k], "test_accuracy") for k in labels], "test accuracy"
    )
    learned.set_title("after training")


CLAIM = Claim(
    name="exploding_gradients",
    sentence="When a network's weights are large, the gradients of its first layers are "
    "products of many large factors and grow too large to converge; batch normalisation, "
    "or a lower learning rate, lets it learn again.",
    reference="Ioffe and Szegedy (2015): batch normalisation makes training robust to the "
    "scale of the weights; Glorot and Bengio (2010) and He et al. (2015) on initial "
    "scales that keep signals from growing with depth.",
    method=f"Circle, 200 points, {DEPTH} hidden ReLU layers of 8 (He init) with the initial "
    f"weights of every layer (the output layer too) scaled by 1 or {LARGE:g}, with and "
    "without BatchNorm after each hidden layer; "
    "plain SGD at lr 0.1 and 0.01, batch 10. Measured: the first layer's backpropagated "
    "error before training, and the test accuracy after it.",
    run=_run,
    grid={"model.layers": list(STACKS.values()), "train.optimizer.lr": LEARNING_RATES},
    label=_label,
    judge=_judge,
    draw=_draw,
)
