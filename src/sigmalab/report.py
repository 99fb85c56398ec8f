"""The run report: curves, what the model does with the data, and the verdict, on one figure.

Top row: the loss (log scale, plain numbers) and accuracy curves; for 2-D data the
Playground picture, the model's output over the input plane with the training points
(white edge) and test points (black edge) on top; a confusion matrix of the test split for
more than two classes; predicted against actual values for a regression. Below: the test
metric and the doctor's findings. A diverged run marks where the loss blew up.

Large datasets are drawn from a deterministic sample of at most ``MAX_POINTS`` points per
split (the figure says so), since matplotlib draws every point it is given. matplotlib
is imported only here, through its object API (no pyplot, no global backend switch); user
text (file and column names) is drawn as it is, never read as TeX or mathtext; the PNG is
written atomically.
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np

from .data.dataset import CLASSIFICATION
from .files import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .runner import RunResult

GRID_POINTS = 120
MAX_POINTS = 2000  # per split, in scatter plots
MAX_FINDING_LINES = 4
PANEL_WIDTH, PANEL_HEIGHT = 4.4, 3.9  # inches
# TensorFlow Playground's palette: orange for class 0 / negative, blue for class 1 / positive.
ORANGE, WHITE, BLUE = "#f59322", "#e8eaeb", "#0877bd"
TAB_COLOURS = (
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
SEVERITY_COLOURS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0"}
DIVERGED = "#c62828"
HEALTHY = "#2e7d32"
# Text is drawn literally: a '$' in a file or column name is not mathtext, and no TeX runs.
PLAIN_TEXT = {"text.usetex": False, "text.parse_math": False}


def save_report(path: str | os.PathLike, result: RunResult, name: str = "") -> None:
    """Draw the report for a finished run called ``name`` and write it to ``path`` as a PNG."""
    import matplotlib

    with matplotlib.rc_context(PLAIN_TEXT):
        buffer = io.BytesIO()
        report_figure(result, name).savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(path, buffer.getvalue())


def report_figure(result: RunResult, name: str = "") -> Figure:
    """The report of a finished run called ``name`` as a matplotlib Figure (not yet drawn)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(PLAIN_TEXT):
        panels = _panels(result)
        notes = _notes(result)
        footer_height = 0.32 * (len(notes) + 1)
        width = PANEL_WIDTH * len(panels)
        figure = Figure(figsize=(width, PANEL_HEIGHT + footer_height), layout="constrained")
        figure.get_layout_engine().set(wspace=0.06)  # room for a colorbar beside a y label
        top, bottom = figure.subfigures(
            2, 1, height_ratios=[PANEL_HEIGHT, footer_height], hspace=0.0
        )
        axes = top.subplots(1, len(panels), squeeze=False)[0]
        for ax, draw in zip(axes, panels, strict=True):
            draw(ax, result)
        top.suptitle(_title(result, name), fontsize="large", fontweight="bold")
        _draw_notes(bottom, notes, width)
    return figure


def _panels(result: RunResult) -> list:
    """The drawing functions for this run, left to right."""
    dataset = result.dataset
    panels = [_plot_loss]
    if "accuracy" in result.history.history:
        panels.append(_plot_accuracy)
    if dataset.X_train.shape[1] == 2:
        panels.append(_plot_plane)
    if dataset.task == CLASSIFICATION and (dataset.n_classes or 2) > 2:
        panels.append(_plot_confusion)
    elif dataset.task != CLASSIFICATION:
        panels.append(_plot_predicted_vs_actual)
    return panels


def _title(result: RunResult, name: str) -> str:
    """``spiral-tanh (spiral, bce): test accuracy 0.992``: the run, its data, its verdict."""
    summary = result.summary
    loss = result.model.loss.name if result.model.loss is not None else "mse"
    metric = (
        f"test accuracy {_accuracy(summary['test_accuracy'])}"
        if "test_accuracy" in summary
        else f"test loss {_number(summary.get('test_loss'))}"
    )
    data = result.dataset.name
    run = f"{name} ({data}, {loss})" if name and name != data else f"{data} ({loss})"
    return f"{run}: {metric}"


# ---- the notes under the panels ------------------------------------------------------------
def _notes(result: RunResult) -> list[tuple[str, str]]:
    """(text, colour) lines: data and sample sizes, then the doctor's findings."""
    summary, dataset = result.summary, result.dataset
    sizes = f"{summary['samples_train']:,} train / {summary['samples_test']:,} test samples"
    line = f"{sizes}, {summary['epochs']} epoch(s), test loss {_number(summary['test_loss'])}"
    largest = max(len(dataset.y_train), len(dataset.y_test))
    if largest > MAX_POINTS:
        line += f"; scatter plots show an even sample of {MAX_POINTS:,} points per split"
    notes = [(line, "black")]
    findings = summary.get("findings")
    if findings is None:
        return [*notes, ("doctor: not attached to this run", "dimgray")]
    if not findings:
        return [*notes, ("doctor: no problems found", HEALTHY)]
    for finding in findings[:MAX_FINDING_LINES]:
        layer = f" ({finding['layer']['name']})" if finding.get("layer") else ""
        first_sentence = finding["explanation"].split(". ")[0].rstrip(".")
        text = f"doctor {finding['severity']}: {finding['kind']}{layer}: {first_sentence}"
        notes.append((text, SEVERITY_COLOURS.get(finding["severity"], "black")))
    if len(findings) > MAX_FINDING_LINES:
        hidden = len(findings) - MAX_FINDING_LINES
        notes.append((f"and {hidden} more finding(s) in summary.json", "dimgray"))
    return notes


def _draw_notes(subfigure: Any, notes: list[tuple[str, str]], width: float) -> None:
    """One line per note, cut to the figure's width (about 13 characters an inch)."""
    step = 1.0 / (len(notes) + 1)
    for row, (text, colour) in enumerate(notes):
        line = textwrap.shorten(text, width=int(13 * width), placeholder=" ...")
        subfigure.text(0.01, 1.0 - (row + 0.8) * step, line, color=colour, va="center")


# ---- curves --------------------------------------------------------------------------------
def _plot_loss(ax: Axes, result: RunResult) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    history = result.history.history
    _plot_curves(ax, history, "loss")
    _mark_divergence(ax, result)
    low, high = ax.dataLim.intervaly  # the finite values drawn (the red line adds none)
    if math.isfinite(high) and low > 0 and high / low > 10:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda value, _: f"{value:g}")  # 0.05, not 5 x 10^-2
        ax.yaxis.set_major_formatter(plain)
        if high / low < 100:  # under two decades: label 2 and 5 as well
            ax.yaxis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
            ax.yaxis.set_minor_formatter(plain)
        else:
            ax.yaxis.set_minor_formatter(NullFormatter())


def _plot_accuracy(ax: Axes, result: RunResult) -> None:
    _plot_curves(ax, result.history.history, "accuracy")


def _plot_curves(ax: Axes, history: dict[str, list[float]], metric: str) -> None:
    from matplotlib.ticker import MaxNLocator

    for key, label in ((metric, "train"), (f"val_{metric}", "test")):
        if key in history:
            values = np.asarray(history[key], dtype=float)
            few = len(values) <= 20  # a line through one or two epochs would not show
            epochs = np.arange(1, len(values) + 1)
            ax.plot(epochs, values, marker="o" if few else None, markersize=4, label=label)
    ax.set(xlabel="epoch", ylabel=metric, title=metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    epochs_run = len(history.get(metric, []))
    if epochs_run <= 20:
        ax.set_xlim(0.5, epochs_run + 0.5)
    ax.grid(alpha=0.3)
    _legend_below(ax)


def _mark_divergence(ax: Axes, result: RunResult) -> None:
    """A red line at the epoch where the loss stopped being finite (or the doctor saw it
    explode), the loss it started from, and what happened, in the panel's title."""
    losses = result.history.history.get("loss", [])
    findings = result.summary.get("findings") or []
    finding = next((f for f in findings if f["kind"] == "divergence"), None)
    bad = [epoch for epoch, value in enumerate(losses, 1) if not math.isfinite(value)]
    if not bad and finding is None:
        return
    epoch = bad[0] if bad else len(losses)
    evidence = finding["evidence"] if finding else {}
    where = f"epoch {epoch}" + (f", step {evidence['step']}" if "step" in evidence else "")
    became = evidence.get("loss", losses[epoch - 1] if losses else "nan")
    start = evidence.get("initial_loss")
    if isinstance(start, float) and math.isfinite(start):
        ax.plot([0], [start], marker="o", color="black", markersize=5, label="start")
        _legend_below(ax)
    ax.axvline(epoch, color=DIVERGED, linestyle="--", linewidth=1.5)
    ax.set_xlim(-0.5, len(losses) + 0.5)
    ax.set_title(f"loss: diverged at {where}\n(the loss became {_number(became)})", color=DIVERGED)


def _legend_below(ax: Axes) -> None:
    """A legend under the axes, where it cannot cover a curve or a point."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16),
            ncol=len(handles),
            frameon=False,
            fontsize="small",
        )


# ---- the data --------------------------------------------------------------------------
def _plot_plane(ax: Axes, result: RunResult) -> None:
    """Heat-map of the model's output over the data range, with the points on top."""
    raw = result.dataset
    points = np.vstack([raw.X_train, raw.X_test])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.05 * (high - low) + 1e-9
    x1 = np.linspace(low[0] - margin[0], high[0] + margin[0], GRID_POINTS)
    x2 = np.linspace(low[1] - margin[1], high[1] + margin[1], GRID_POINTS)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(x1, x2)])
    outputs = _predict(result, grid)
    values, colours = _colouring(outputs, result)
    image = ax.imshow(
        values.reshape(GRID_POINTS, GRID_POINTS),
        origin="lower",
        extent=(x1[0], x1[-1], x2[0], x2[-1]),
        aspect="auto",
        alpha=0.8,
        **colours,
    )
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    for X, y, edge, label in (
        (raw.X_train, raw.y_train, "white", "train"),
        (raw.X_test, raw.y_test, "black", "test"),
    ):
        rows = sample_rows(len(y))
        ax.scatter(
            X[rows, 0],
            X[rows, 1],
            c=y[rows],
            edgecolors=edge,
            linewidths=0.6,
            s=14,
            label=label,
            **colours,
        )
    ax.set(xlabel=raw.feature_names[0], ylabel=raw.feature_names[1], title="output")
    if not np.isfinite(values).all():
        _say_not_finite(ax)
    _legend_below(ax)
    for handle in ax.get_legend().legend_handles:  # the edge, not the colour, tells them apart
        handle.set_array(None)
        handle.set_facecolor("darkgray")


def _plot_confusion(ax: Axes, result: RunResult) -> None:
    """Test-split counts: rows are the true classes, columns the predicted ones."""
    dataset = result.dataset
    classes = dataset.n_classes
    outputs = _predict(result, dataset.X_test)
    with np.errstate(invalid="ignore"):
        predicted = result.model.class_indices(np.nan_to_num(outputs))
    counts = np.bincount(dataset.y_test * classes + predicted, minlength=classes * classes)
    counts = counts.reshape(classes, classes)
    ax.imshow(counts, cmap="Blues", vmin=0)
    threshold = counts.max() / 2
    for (row, column), count in np.ndenumerate(counts):
        colour = "white" if count > threshold else "black"
        ax.text(column, row, str(count), ha="center", va="center", color=colour, fontsize="small")
    ticks = np.arange(classes)
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted class", ylabel="true class")
    ax.set_title("test split: true vs predicted")
    if not np.isfinite(outputs).all():
        _say_not_finite(ax)


def _plot_predicted_vs_actual(ax: Axes, result: RunResult) -> None:
    """Each sample's prediction against its target; a perfect model lies on the diagonal."""
    dataset = result.dataset
    shown = []
    for X, y, colour, label in (
        (dataset.X_train, dataset.y_train, ORANGE, "train"),
        (dataset.X_test, dataset.y_test, BLUE, "test"),
    ):
        rows = sample_rows(len(y))
        predicted = _predict(result, X[rows])[:, 0]
        ax.scatter(y[rows], predicted, s=10, alpha=0.6, color=colour, label=label)
        shown += [y[rows], predicted]
    ax.axline((0, 0), slope=1, color="gray", linestyle="--", linewidth=1, label="ideal")
    ax.set(xlabel="actual", ylabel="predicted", title="predicted vs actual")
    ax.grid(alpha=0.3)
    if not np.isfinite(np.concatenate(shown)).all():
        targets = np.concatenate(shown[::2])
        ax.set(xlim=(targets.min(), targets.max()), ylim=(targets.min(), targets.max()))
        _say_not_finite(ax)
    _legend_below(ax)


def _say_not_finite(ax: Axes) -> None:
    """Say in the title, not over the points, that the model's output cannot be drawn."""
    ax.set_title(f"{ax.get_title()}\n(output not finite: the run diverged)", color=DIVERGED)


def sample_rows(n: int, limit: int = MAX_POINTS) -> np.ndarray | slice:
    """Every row up to ``limit``; beyond it ``limit`` evenly spaced rows (the data is
    shuffled already, so they are a fair, deterministic sample)."""
    if n <= limit:
        return slice(None)
    return np.linspace(0, n - 1, limit).astype(np.int64)


def _predict(result: RunResult, X: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model: fit already said so
        return result.model.predict(X)


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _accuracy(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _colouring(outputs: np.ndarray, result: RunResult) -> tuple[np.ndarray, dict]:
    """Grid values and colour settings shared by the map and the points, so a point sits on
    its own colour where the model is right.

    Two classes: probability (or mse score) of class 1 from orange to blue, as in the
    Playground. More classes: the predicted class, one distinct colour each. Regression:
    the output on a scale symmetric around 0.
    """
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    raw = result.dataset
    playground = LinearSegmentedColormap.from_list("playground", [ORANGE, WHITE, BLUE])
    if outputs.shape[1] > 2:
        classes = outputs.shape[1]
        palette = ListedColormap([ORANGE, BLUE, *TAB_COLOURS][:classes])
        labels = np.where(np.isfinite(outputs).all(axis=1), outputs.argmax(axis=1), np.nan)
        return labels, {"cmap": palette, "vmin": -0.5, "vmax": classes - 0.5}
    values = outputs[:, -1]
    if raw.task == CLASSIFICATION:
        return values, {"cmap": playground, "vmin": 0.0, "vmax": 1.0}
    bound = max(float(np.max(np.abs(raw.y_train))), 1e-9)
    return values, {"cmap": playground, "vmin": -bound, "vmax": bound}
