"""A high learning rate kills ReLU units: the share of dead units against the learning rate."""

from __future__ import annotations

from typing import Any

from ..claim import OUTPUT, Claim, Evidence, Number, hidden, mean_of, playground_run
from ..figures import interval_pair
from ..stats import Interval
from ..verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS, Verdict

KEY = "train.optimizer.lr"
LEARNING_RATES = [0.01, 0.1, 0.3, 1.0, 3.0]
MARGIN = 0.1  # "kills": a dead share at least 10 points above the smallest rate's (intervals)


def verdict(dead: dict[float, Interval]) -> Verdict:
    """``dead[lr]``: the share of dead hidden units after training. Holds when every rate
    above the smallest leaves more dead units than it (intervals MARGIN apart); holds only
    under a stated condition when that is so from some rate on; else it does not hold."""
    rates = sorted(dead)
    smallest = rates[0]
    kills = [rate for rate in rates[1:] if dead[rate].above(dead[smallest], margin=MARGIN)]
    shares = ", ".join(f"lr {rate:g}: {dead[rate].text(2)}" for rate in rates)
    if not kills:
        return Verdict(
            DOES_NOT_HOLD, f"no rate left clearly more dead units than lr {smallest:g} ({shares})"
        )
    if kills == rates[1:]:
        return Verdict(HOLDS, f"dead share rises with every step of the learning rate ({shares})")
    threshold = min(kills)
    calm = [rate for rate in rates[1:] if rate not in kills]
    return Verdict(
        CONDITIONAL,
        f"only at lr >= {threshold:g} (not at {', '.join(f'{r:g}' for r in calm)}); lowering the "
        f"rate below it keeps the units alive ({shares})",
    )


def _run(quick: bool) -> dict[str, Any]:
    layers = [hidden("relu"), hidden("relu"), OUTPUT]
    return playground_run("circle", layers, epochs=20 if quick else 40, lr=0.1)


def _judge(groups: dict[str, list[dict]]) -> Evidence:
    numbers, dead = [], {}
    for rate in LEARNING_RATES:
        runs = groups[f"lr {rate:g}"]
        dead[rate] = mean_of(runs, "dead_fraction")
        numbers += [
            Number(
                f"lr {rate:g}",
                "dead share of hidden units (start)",
                mean_of(runs, "start_dead_fraction"),
            ),
            Number(f"lr {rate:g}", "dead share of hidden units (trained)", dead[rate]),
            Number(f"lr {rate:g}", "test accuracy", mean_of(runs, "test_accuracy")),
        ]
    return Evidence(numbers, verdict(dead))


def _draw(figure: Any, groups: dict[str, list[dict]]) -> None:
    ax = figure.add_subplot(1, 1, 1)
    labels = [f"lr {rate:g}" for rate in LEARNING_RATES]
    interval_pair(
        ax,
        groups,
        labels,
        (("start_dead_fraction", "untrained"), ("dead_fraction", "trained")),
        "share of dead hidden units",
    )
    ax.set_title("dead ReLU units (never active on 100 training rows)")
    ax.legend(fontsize=8)


CLAIM = Claim(
    name="dead_relu",
    sentence="A ReLU unit whose weighted sum falls below 0 for every input outputs 0 and "
    "gets no gradient, so it stays dead; large learning-rate steps push units there, and "
    "a lower learning rate keeps them alive.",
    reference="He et al. (2015) on ReLU initialisation; Lu et al. (2019), Dying ReLU and "
    "Initialization, on how units die.",
    method="Circle, 200 points, two hidden ReLU layers of 8 (He init), plain SGD, batch 10, "
    f"lr {', '.join(f'{r:g}' for r in LEARNING_RATES)}. A unit is dead when it is inactive "
    "on all 100 training rows.",
    run=_run,
    grid={KEY: LEARNING_RATES},
    label=lambda swept: f"lr {swept[KEY]:g}",
    judge=_judge,
    draw=_draw,
)
