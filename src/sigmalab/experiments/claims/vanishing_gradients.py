"""Gradients vanish toward the first layers of deep sigmoid networks; ReLU keeps them."""

from __future__ import annotations

from typing import Any

from ..claim import OUTPUT, Claim, Evidence, Number, hidden, log10_mean_of, mean_of, playground_run
from ..figures import error_bars
from ..stats import Interval
from ..verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS, Verdict

ACTIVATIONS = ["sigmoid", "relu"]
DEPTHS = [2, 5, 10]
ORDERS = 2.0  # "vanishes": the first layer's error at least 100x smaller (log10 intervals apart)


def verdict(sigmoid: dict[int, Interval], relu: dict[int, Interval]) -> Verdict:
    """``sigmoid``/``relu``: log10 of the first layer's backpropagated error, by depth.
    Holds when the deepest sigmoid network's interval lies ORDERS below the shallowest's and
    the deepest ReLU network's lies ORDERS above the deepest sigmoid's."""
    shallow, deep = min(sigmoid), max(sigmoid)
    vanishes = sigmoid[deep].below(sigmoid[shallow], margin=ORDERS)
    helps = relu[deep].above(sigmoid[deep], margin=ORDERS)
    numbers = (
        f"log10 first-layer error: sigmoid {sigmoid[shallow].text(2)} at {shallow} layers, "
        f"{sigmoid[deep].text(2)} at {deep}; ReLU {relu[deep].text(2)} at {deep}"
    )
    if vanishes and helps:
        return Verdict(HOLDS, numbers)
    if vanishes:
        return Verdict(
            CONDITIONAL,
            f"the sigmoid signal vanishes but ReLU's is not {ORDERS:g} orders larger: {numbers}",
        )
    return Verdict(DOES_NOT_HOLD, f"no vanishing by {ORDERS:g} orders with depth: {numbers}")


def _stack(activation: str, depth: int) -> list[dict[str, Any]]:
    return [hidden(activation) for _ in range(depth)] + [OUTPUT]


def _run(quick: bool) -> dict[str, Any]:
    return playground_run("circle", _stack("sigmoid", 2), epochs=30 if quick else 60, lr=0.1)


def _label(swept: dict[str, Any]) -> str:
    layers = swept["model.layers"]
    return f"{layers[0]['activation']}, {len(layers) - 1} layers"


def _judge(groups: dict[str, list[dict]]) -> Evidence:
    numbers, first = [], {name: {} for name in ACTIVATIONS}
    for name in ACTIVATIONS:
        for depth in DEPTHS:
            runs = groups[f"{name}, {depth} layers"]
            first[name][depth] = log10_mean_of(runs, "start_error_0")
            setting = f"{name}, {depth} layers"
            numbers += [
                Number(setting, "log10 first-layer error (start)", first[name][depth]),
                Number(
                    setting, "log10 first-layer error (trained)", log10_mean_of(runs, "error_0")
                ),
                Number(setting, "test accuracy", mean_of(runs, "test_accuracy")),
            ]
    return Evidence(numbers, verdict(first["sigmoid"], first["relu"]))


def _draw(figure: Any, groups: dict[str, list[dict]]) -> None:
    ax = figure.add_subplot(1, 1, 1)
    styles = {"sigmoid": "-", "relu": "--"}
    for name in ACTIVATIONS:
        for depth in DEPTHS:
            runs = groups[f"{name}, {depth} layers"]
            layers = range(depth + 1)  # the hidden layers and the output layer
            intervals = [log10_mean_of(runs, f"start_error_{k}") for k in layers]
            error_bars(
                ax,
                [k + 1 for k in layers],
                intervals,
                linestyle=styles[name],
                marker="o",
                label=f"{name}, {depth} hidden",
            )
    ax.set_xlabel("Dense layer (1 = first, nearest the input)")
    ax.set_ylabel("log10 backpropagated error")
    ax.set_title("gradient signal per layer, untrained networks (mean, 95 % interval)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)


CLAIM = Claim(
    name="vanishing_gradients",
    sentence="In a deep network of sigmoid units the gradient reaching the first layers "
    "shrinks with every layer it passes, until those layers barely learn; ReLU units keep "
    "it alive.",
    reference="Glorot and Bengio (2010): backpropagated gradients shrink toward the input "
    "layers of deep sigmoid/tanh networks; He et al. (2015): He initialisation keeps ReLU "
    "signals at scale with depth.",
    method="Circle, 200 points, 2, 5 or 10 hidden layers of 8 (sigmoid with Glorot init, "
    "ReLU with He init), SGD lr 0.1, batch 10. Measured on 100 training rows: per layer the "
    "backpropagated error (RMS over rows of |dLoss/dz|), before training and after it.",
    run=_run,
    grid={"model.layers": [_stack(name, depth) for name in ACTIVATIONS for depth in DEPTHS]},
    label=_label,
    judge=_judge,
    draw=_draw,
)
