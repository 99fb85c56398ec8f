"""Dropout 0.0 changes nothing and 1.0 learns nothing (and rates between: measured too)."""

from __future__ import annotations

from typing import Any

from ..claim import OUTPUT, Claim, Evidence, Number, done, hidden, mean_of, playground_run, value
from ..figures import interval_pair
from ..stats import Interval, paired_difference_interval
from ..verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS, Verdict

RATES = [None, 0.0, 0.1, 0.2, 0.5, 1.0]  # None: no dropout layer at all
UNITS = 32  # wide enough to overfit 100 noisy points, where dropout has work to do
SAME = 0.01  # "changes nothing": the accuracy difference's interval inside +-SAME
CHANCE_MARGIN = 0.1  # "learns nothing": accuracy interval no higher than chance + this
CHANCE = 0.5  # the two balanced classes of the Playground datasets


def verdict(zero_minus_none: Interval, full: Interval, between: dict[float, Interval]) -> Verdict:
    """``zero_minus_none``: test accuracy with rate 0.0 minus without dropout, seed by seed
    (same seed, same initial weights and batches); ``full``: the
    test accuracy at rate 1.0; ``between[rate]``: accuracy difference (rate - none) for the
    rates between. Holds when the first lies inside +-SAME and the second no higher than
    CHANCE + CHANCE_MARGIN; the rates between are reported, not judged (the claim is 0 and 1)."""
    nothing = zero_minus_none.within(-SAME, SAME)
    learns_nothing = full.high <= CHANCE + CHANCE_MARGIN
    useful = [f"{rate:g}" for rate, interval in between.items() if interval.low > 0]
    harmful = [f"{rate:g}" for rate, interval in between.items() if interval.high < 0]
    aside = f"; rates between: better than none at {', '.join(useful) or 'none of them'}" + (
        f", worse at {', '.join(harmful)} (the text's 'more useful' did not hold there)"
        if harmful
        else ""
    )
    facts = (
        f"rate 0.0 minus no dropout: {zero_minus_none.text(2)}; rate 1.0 test accuracy "
        f"{full.text(2)} (chance {CHANCE:g})"
    )
    if nothing and learns_nothing:
        return Verdict(HOLDS, facts + aside)
    if nothing or learns_nothing:
        failed = "rate 1.0 still learned" if nothing else "rate 0.0 changed the result"
        return Verdict(CONDITIONAL, f"{failed}: {facts}{aside}")
    return Verdict(DOES_NOT_HOLD, facts + aside)


def _stack(rate: float | None) -> list[dict[str, Any]]:
    if rate is None:
        return [hidden("relu", UNITS), hidden("relu", UNITS), OUTPUT]
    drop = {"type": "dropout", "rate": rate}
    return [hidden("relu", UNITS), drop, hidden("relu", UNITS), drop, OUTPUT]


def _name(rate: float | None) -> str:
    return "no dropout" if rate is None else f"dropout {rate:g}"


def _run(quick: bool) -> dict[str, Any]:
    return playground_run(
        "spiral",
        _stack(None),
        epochs=60 if quick else 300,
        lr=0.01,
        optimizer="adam",
        samples=200,
        noise=0.2,
    )


def _label(swept: dict[str, Any]) -> str:
    return next(_name(rate) for rate in RATES if _stack(rate) == swept["model.layers"])


def _accuracies(runs: list[dict]) -> list[float]:
    """Test accuracy per seed (NaN for a run that did not finish), in seed order."""
    finished = {row["seed"]: value(row, "test_accuracy") for row in done(runs)}
    return [finished.get(row["seed"], float("nan")) for row in runs]


def _judge(groups: dict[str, list[dict]]) -> Evidence:
    numbers = []
    for rate in RATES:
        runs = groups[_name(rate)]
        numbers += [
            Number(_name(rate), "test accuracy", mean_of(runs, "test_accuracy")),
            Number(_name(rate), "train accuracy", mean_of(runs, "train_accuracy")),
        ]
    none = _accuracies(groups[_name(None)])
    difference = {
        rate: paired_difference_interval(_accuracies(groups[_name(rate)]), none)
        for rate in RATES[1:]
    }
    numbers += [
        Number(_name(rate), "test accuracy minus no dropout", difference[rate])
        for rate in RATES[1:]
    ]
    between = {rate: difference[rate] for rate in RATES if rate not in (None, 0.0, 1.0)}
    full = mean_of(groups[_name(1.0)], "test_accuracy")
    return Evidence(numbers, verdict(difference[0.0], full, between))


def _draw(figure: Any, groups: dict[str, list[dict]]) -> None:
    ax = figure.add_subplot(1, 1, 1)
    labels = [_name(rate) for rate in RATES]
    interval_pair(
        ax,
        groups,
        labels,
        (("train_accuracy", "train"), ("test_accuracy", "test")),
        "accuracy",
    )
    ax.axhline(CHANCE, color="grey", linestyle="--", label="chance")
    ax.set_title(f"spiral, 2 x {UNITS} ReLU, dropout after each hidden layer")
    ax.legend(fontsize=8)


CLAIM = Claim(
    name="dropout",
    sentence="Dropout with rate 0.0 is no dropout at all, rate 1.0 silences every unit so "
    "the network learns nothing, and rates between regularise.",
    reference="Srivastava et al. (2014): dropout (they quote p = 0.5 for hidden units) "
    "reduces overfitting of large networks.",
    method=f"Spiral with 20 % noise, 200 points (100 train), two hidden ReLU layers of {UNITS} "
    "with a Dropout layer after each (rate 0.0, 0.1, 0.2, 0.5, 1.0, or no Dropout layer), "
    "Adam lr 0.01, batch 10.",
    run=_run,
    grid={"model.layers": [_stack(rate) for rate in RATES]},
    label=_label,
    judge=_judge,
    draw=_draw,
)
