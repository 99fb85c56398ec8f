"""The sigmoid's response falls off on both sides: its slope, and units measured on the
flat ends as their pre-activations grow."""

from __future__ import annotations

from typing import Any

from ..claim import OUTPUT, Claim, Evidence, Number, hidden, mean_of, playground_run
from ..figures import interval_points
from ..measures import RESPONSIVE
from ..stats import Interval
from ..verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS, Verdict

ACTIVATIONS = ["sigmoid", "relu"]
SCALES = [1.0, 4.0, 16.0]
SCALE_KEY = "model.layers[0].weight_scale"
END_SHARE = 0.05  # a flat end counts when at least this share of unit-row pairs sits on it


def verdict(
    low: dict[float, Interval], high: dict[float, Interval], relu: dict[float, Interval]
) -> Verdict:
    """``low``/``high``: the sigmoid's shares of (unit, row) pairs fallen off below/above 0,
    by weight scale; ``relu``: ReLU's responsive share by weight scale. Holds when, from the
    smallest to the largest scale, both of the sigmoid's flat ends grow (intervals apart)
    past END_SHARE, while ReLU's responsive share does not shrink."""
    small, large = min(low), max(low)
    grows = {
        side: shares[large].above(shares[small]) and shares[large].low > END_SHARE
        for side, shares in (("low", low), ("high", high))
    }
    relu_keeps = not relu[large].below(relu[small])
    ends = f"at weight scale {large:g} {low[large].text()} below and {high[large].text()} above"
    if all(grows.values()) and relu_keeps:
        return Verdict(
            HOLDS,
            f"sigmoid units fall off on both sides: {ends} (scale {small:g}: "
            f"{low[small].text()} and {high[small].text()}); ReLU responds on "
            f"{relu[large].text()} of pairs at any scale",
        )
    if any(grows.values()):
        side = "low" if grows["low"] else "high"
        rest = "" if relu_keeps else "; ReLU's responsive share shrank too"
        return Verdict(CONDITIONAL, f"only the {side} end grew: {ends}{rest}")
    return Verdict(DOES_NOT_HOLD, f"no flat end grew with the weight scale: {ends}")


def _stack(activation: str) -> list[dict[str, Any]]:
    return [hidden(activation), hidden(activation), OUTPUT]


def _run(quick: bool) -> dict[str, Any]:
    return playground_run("circle", _stack("sigmoid"), epochs=30 if quick else 60, lr=0.1)


def _label(swept: dict[str, Any]) -> str:
    return f"{swept['model.layers'][0]['activation']}, scale {swept[SCALE_KEY]:g}"


def _judge(groups: dict[str, list[dict]]) -> Evidence:
    numbers = []
    low, high, relu = {}, {}, {}
    for scale in SCALES:
        sigmoid = groups[f"sigmoid, scale {scale:g}"]
        low[scale] = mean_of(sigmoid, "start_low_end_fraction")
        high[scale] = mean_of(sigmoid, "start_high_end_fraction")
        relu[scale] = mean_of(groups[f"relu, scale {scale:g}"], "start_responsive_fraction")
        numbers += [
            Number(f"sigmoid, scale {scale:g}", "share fallen off below 0 (start)", low[scale]),
            Number(f"sigmoid, scale {scale:g}", "share fallen off above 0 (start)", high[scale]),
            Number(
                f"sigmoid, scale {scale:g}",
                "responsive share after training",
                mean_of(sigmoid, "responsive_fraction"),
            ),
            Number(f"relu, scale {scale:g}", "responsive share (start)", relu[scale]),
            Number(
                f"relu, scale {scale:g}",
                "responsive share after training",
                mean_of(groups[f"relu, scale {scale:g}"], "responsive_fraction"),
            ),
        ]
    return Evidence(numbers, verdict(low, high, relu))


def _draw(figure: Any, groups: dict[str, list[dict]]) -> None:
    import numpy as np

    from ...activations import get_activation
    from ..measures import peak_slope

    curve = figure.add_subplot(1, 2, 1)
    z = np.linspace(-8, 8, 801)
    for name in ("sigmoid", "tanh", "relu"):
        activation = get_activation(name)
        curve.plot(z, activation.derivative(z, activation(z)) / peak_slope(activation), label=name)
    curve.axhline(RESPONSIVE, color="grey", linestyle="--", label=f"{RESPONSIVE:g} of the peak")
    curve.set_xlabel("pre-activation z")
    curve.set_ylabel("slope / its peak")
    curve.set_title("how strongly a unit responds")
    curve.legend(fontsize=8)
    curve.grid(alpha=0.3)
    shares = figure.add_subplot(1, 2, 2)
    labels = [f"x{scale:g}" for scale in SCALES]
    series = [
        ("sigmoid", "start_low_end_fraction", "sigmoid: fallen off below 0", -0.15),
        ("sigmoid", "start_high_end_fraction", "sigmoid: fallen off above 0", 0.0),
        ("relu", "start_low_end_fraction", "ReLU: flat (z < 0)", 0.15),
    ]
    for activation, measure, text, offset in series:
        intervals = [mean_of(groups[f"{activation}, scale {scale:g}"], measure) for scale in SCALES]
        interval_points(shares, labels, intervals, "share of (unit, row) pairs", offset, label=text)
    shares.set_xlabel("first layer's initial weights scaled by")
    shares.set_title("units on a flat part, untrained")
    shares.legend(fontsize=7)


CLAIM = Claim(
    name="sigmoid_saturation",
    sentence="A sigmoid unit responds only to pre-activations near 0: its slope falls to a "
    "tenth of its peak by |z| = 3.6 on both sides, so units whose inputs grow sit on one of "
    "two flat ends, while a ReLU unit keeps responding to every positive input.",
    reference="Glorot and Bengio (2010): sigmoid units saturate (top hidden layer near 0), "
    "which slows training; LeCun et al. (1998), Efficient BackProp, on keeping "
    "pre-activations in the sigmoid's responsive range.",
    method="Circle, 200 points, two hidden layers of 8 (sigmoid or ReLU), the first layer's "
    f"initial weights scaled by {', '.join(f'{s:g}' for s in SCALES)}; measured on 100 "
    f"training rows: the share of (unit, row) pairs whose slope is below {RESPONSIVE:g} of "
    "the peak, split by the side of 0, untrained and after training (SGD lr 0.1).",
    run=_run,
    grid={"model.layers": [_stack(name) for name in ACTIVATIONS], SCALE_KEY: SCALES},
    label=_label,
    judge=_judge,
    draw=_draw,
)
