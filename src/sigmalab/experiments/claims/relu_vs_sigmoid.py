"""ReLU often trains better than the sigmoid: the same networks, datasets and optimizers."""

from __future__ import annotations

from typing import Any

from ..claim import OUTPUT, Claim, Evidence, Number, done, hidden, mean_of, playground_run, value
from ..figures import interval_points
from ..stats import Interval, difference_interval
from ..verdicts import CONDITIONAL, DOES_NOT_HOLD, HOLDS, Verdict

DATASETS = ["circle", "xor", "gauss", "spiral"]
ACTIVATIONS = ["sigmoid", "relu"]
OPTIMIZERS = [{"name": "sgd", "lr": 0.1}, {"name": "sgd", "lr": 1.0}, {"name": "adam", "lr": 0.01}]


def _stack(activation: str) -> list[dict[str, Any]]:
    return [hidden(activation), hidden(activation), OUTPUT]


def verdict(differences: dict[str, Interval]) -> Verdict:
    """``differences[setting]``: sigmoid's final train loss minus ReLU's. ReLU trains better
    where the interval is above 0, worse where it is below. "Often": better in at least
    half of the settings and worse in none."""
    better = [name for name, interval in differences.items() if interval.low > 0]
    worse = [name for name, interval in differences.items() if interval.high < 0]
    tally = f"ReLU reached a lower train loss in {len(better)} of {len(differences)} settings"
    if not better:
        return Verdict(DOES_NOT_HOLD, f"{tally}; sigmoid was better in {len(worse)}")
    if worse or 2 * len(better) < len(differences):
        same = [name for name in differences if name not in better and name not in worse]
        parts = [f"better: {', '.join(better)}"]
        parts += [f"worse: {', '.join(worse)}"] if worse else []
        parts += [f"no clear difference: {', '.join(same)}"] if same else []
        return Verdict(CONDITIONAL, f"{tally} ({'; '.join(parts)})")
    same = [name for name in differences if name not in better]
    rest = f"; no clear difference in {', '.join(same)}" if same else ""
    return Verdict(HOLDS, f"{tally} and a higher one in none{rest}")


def _run(quick: bool) -> dict[str, Any]:
    return playground_run("circle", _stack("sigmoid"), epochs=30 if quick else 60, lr=0.1)


def _optimizer(settings: dict[str, Any]) -> str:
    return f"{settings['name']} {settings['lr']:g}"


def _settings() -> list[tuple[str, str]]:
    return [(dataset, _optimizer(optimizer)) for dataset in DATASETS for optimizer in OPTIMIZERS]


def _label(swept: dict[str, Any]) -> str:
    activation = swept["model.layers"][0]["activation"]
    return f"{swept['data.dataset']}, {_optimizer(swept['train.optimizer'])}, {activation}"


def _judge(groups: dict[str, list[dict]]) -> Evidence:
    numbers, differences = [], {}
    for dataset, optimizer in _settings():
        setting = f"{dataset}, {optimizer}"
        runs = {name: groups[f"{setting}, {name}"] for name in ACTIVATIONS}
        for name in ACTIVATIONS:
            numbers.append(
                Number(f"{setting}, {name}", "train loss", mean_of(runs[name], "train_loss"))
            )
            numbers.append(
                Number(f"{setting}, {name}", "test accuracy", mean_of(runs[name], "test_accuracy"))
            )
        losses = [[value(row, "train_loss") for row in done(runs[name])] for name in ACTIVATIONS]
        differences[setting] = difference_interval(*losses)
        numbers.append(Number(setting, "train loss, sigmoid - ReLU", differences[setting]))
    return Evidence(numbers, verdict(differences))


def _draw(figure: Any, groups: dict[str, list[dict]]) -> None:
    ax = figure.add_subplot(1, 1, 1)
    settings = _settings()
    labels = [f"{dataset}, {optimizer}" for dataset, optimizer in settings]
    for offset, name in zip((-0.12, 0.12), ACTIVATIONS, strict=True):
        intervals = [mean_of(groups[f"{label}, {name}"], "train_loss") for label in labels]
        interval_points(
            ax, labels, intervals, "final train loss (lower is better)", offset, label=name
        )
    ax.set_title("sigmoid vs ReLU, two hidden layers of 8")
    ax.legend(fontsize=8)


CLAIM = Claim(
    name="relu_vs_sigmoid",
    sentence="With everything else equal, networks of ReLU units often reach a lower "
    "training loss than the same networks of sigmoid units.",
    reference="Glorot, Bordes and Bengio (2011) found rectifiers train deep networks better; "
    "He et al. (2015) give ReLU its initialisation (used here: He normal for ReLU, Glorot "
    "uniform for the sigmoid).",
    method="Two hidden layers of 8, on circle, xor, gauss and spiral (200 points, half for "
    "testing), with plain SGD at lr 0.1 and at lr 1 (a rate that suits the sigmoid's small "
    "slope) and with Adam at lr 0.01, batch 10; the same epochs for both activations. "
    "Compared: the final train loss (Welch interval of the difference).",
    run=_run,
    grid={
        "data.dataset": DATASETS,
        "train.optimizer": OPTIMIZERS,
        "model.layers": [_stack(name) for name in ACTIVATIONS],
    },
    label=_label,
    judge=_judge,
    draw=_draw,
)
