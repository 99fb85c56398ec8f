"""A network without a nonlinearity cannot learn XOR; one nonlinear hidden layer can."""

from __future__ import annotations

from typing import Any

from ..claim import OUTPUT, Claim, Evidence, Number, hidden, mean_of, playground_run
from ..figures import interval_points
from ..stats import Interval
from ..verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS, Verdict

KEY = "model.layers[0].activation"
ACTIVATIONS = ["linear", "tanh", "relu"]
LINE_BEST = 0.8  # a line separates at most 3 of XOR's 4 quadrants (75 %), plus margin
LEARNED = 0.9  # test accuracy that counts as having learned XOR


def verdict(linear: Interval, nonlinear: dict[str, Interval]) -> Verdict:
    """Holds when the linear network's interval stays at or below what a line can do and
    every nonlinear one's interval is at or above LEARNED."""
    if not linear.high <= LINE_BEST:
        return Verdict(
            DOES_NOT_HOLD,
            f"the linear network reached test accuracy {linear.text()}, above the "
            f"{LINE_BEST} that separating XOR with one line allows",
        )
    failed = [name for name, interval in nonlinear.items() if not interval.low >= LEARNED]
    if not failed:
        return Verdict(
            HOLDS,
            f"linear stays at {linear.text()} (a line gets at most 3 of 4 quadrants); "
            + ", ".join(
                f"{name} reaches {interval.text()}" for name, interval in nonlinear.items()
            ),
        )
    if len(failed) < len(nonlinear):
        return Verdict(
            CONDITIONAL,
            f"linear fails ({linear.text()}), but {', '.join(failed)} did not reliably learn "
            f"XOR either (lower bound below {LEARNED})",
        )
    return Verdict(
        DOES_NOT_HOLD,
        f"linear fails ({linear.text()}), but no nonlinear network learned XOR here either",
    )


def _run(quick: bool) -> dict[str, Any]:
    return playground_run("xor", [hidden("tanh"), OUTPUT], epochs=60 if quick else 100, lr=0.1)


def _judge(groups: dict[str, list[dict]]) -> Evidence:
    accuracy = {name: mean_of(groups[name], "test_accuracy") for name in ACTIVATIONS}
    numbers = [Number(name, "test accuracy", accuracy[name]) for name in ACTIVATIONS]
    numbers += [
        Number(name, "train loss", mean_of(groups[name], "train_loss")) for name in ACTIVATIONS
    ]
    nonlinear = {name: accuracy[name] for name in ACTIVATIONS if name != "linear"}
    return Evidence(numbers, verdict(accuracy["linear"], nonlinear))


def _draw(figure: Any, groups: dict[str, list[dict]]) -> None:
    ax = figure.add_subplot(1, 1, 1)
    intervals = [mean_of(groups[name], "test_accuracy") for name in ACTIVATIONS]
    interval_points(ax, [f"2-8-1, {name}" for name in ACTIVATIONS], intervals, "test accuracy")
    ax.axhline(0.75, color="grey", linestyle="--", label="best a line can do (3 of 4 quadrants)")
    ax.set_title("XOR: hidden layer activation")
    ax.legend(loc="lower right", fontsize=8)


CLAIM = Claim(
    name="nonlinearity",
    sentence="Without a nonlinear activation a network is one linear map, so it cannot "
    "learn XOR; a single hidden layer with a nonlinear activation can.",
    reference="Minsky and Papert (1969) on what a single linear unit cannot separate.",
    method="XOR, 200 points (100 train, 100 test), a 2-8-1 network, SGD lr 0.1, batch 10; "
    "the hidden layer linear, tanh or ReLU.",
    run=_run,
    grid={KEY: ACTIVATIONS},
    label=lambda swept: swept[KEY],
    judge=_judge,
    draw=_draw,
)
