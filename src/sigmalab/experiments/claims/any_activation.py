"""Any function can serve as an activation: formula activations on a nonlinear problem."""

from __future__ import annotations

from typing import Any

from ..claim import OUTPUT, Claim, Evidence, Number, hidden, mean_of, playground_run
from ..figures import interval_points
from ..stats import Interval
from ..verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS, Verdict

KEY = "model.layers[0].activation"
FORMULAS = ["sin(x)", "x*tanh(x)", "exp(-x**2)", "abs(x)", "x**2", "max(x, 0.1*x)", "2*x"]
LEARNED = 0.9  # test accuracy that counts as having learned circle


def verdict(accuracy: dict[str, Interval]) -> Verdict:
    """``accuracy[formula]``: test accuracy. Holds when every formula's interval lies at or
    above LEARNED; holds only for the formulas that do when some do not."""
    learned = [name for name, interval in accuracy.items() if interval.low >= LEARNED]
    failed = [f"{name} ({accuracy[name].text(2)})" for name in accuracy if name not in learned]
    if not failed:
        return Verdict(HOLDS, f"every formula reached test accuracy >= {LEARNED} (lower bound)")
    if learned:
        return Verdict(
            CONDITIONAL,
            f"{', '.join(learned)} learned; {', '.join(failed)} did not: a function serves "
            "only if it is not affine (a*x + b keeps the network linear)",
        )
    return Verdict(DOES_NOT_HOLD, f"no formula learned: {', '.join(failed)}")


def _run(quick: bool) -> dict[str, Any]:
    return playground_run("circle", [hidden("tanh"), OUTPUT], epochs=60 if quick else 100, lr=0.1)


def _judge(groups: dict[str, list[dict]]) -> Evidence:
    accuracy = {name: mean_of(groups[name], "test_accuracy") for name in FORMULAS}
    numbers = [Number(name, "test accuracy", accuracy[name]) for name in FORMULAS]
    return Evidence(numbers, verdict(accuracy))


def _draw(figure: Any, groups: dict[str, list[dict]]) -> None:
    ax = figure.add_subplot(1, 1, 1)
    interval_points(
        ax, FORMULAS, [mean_of(groups[k], "test_accuracy") for k in FORMULAS], "test accuracy"
    )
    ax.axhline(LEARNED, color="grey", linestyle="--", label=f"learned ({LEARNED})")
    ax.set_title("circle, one hidden layer of 8 with a formula activation")
    ax.legend(fontsize=8)


CLAIM = Claim(
    name="any_activation",
    sentence="Any function of the weighted sum can be a unit's activation: the network "
    "learns with sin(x), x*tanh(x), a Gaussian bump and others, differentiated exactly.",
    reference="Cybenko (1989) and Hornik (1991): one hidden layer of any non-polynomial "
    "(Leshno et al., 1993) activation approximates any continuous function; an affine one "
    "cannot.",
    method="Circle, 200 points, a 2-8-1 network whose hidden activation is a formula "
    f"({', '.join(FORMULAS)}; 2*x is the affine control), SGD lr 0.1, batch 10.",
    run=_run,
    grid={KEY: FORMULAS},
    label=lambda swept: swept[KEY],
    judge=_judge,
    draw=_draw,
)
