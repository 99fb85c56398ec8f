"""The run report: loss (and accuracy) curves and, for 2-D data, the Playground picture.

The picture shows the model's output over the input plane with the training points
(white edge) and test points (black edge) on top, so over- and underfitting are visible at
a glance. matplotlib is imported only here, through its object API (no pyplot, no global
backend switch), and the PNG is written atomically.
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

import numpy as np

from .data.dataset import CLASSIFICATION
from .io import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .data import Dataset
    from .runner import RunResult

GRID_POINTS = 120
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


def save_report(path: str | os.PathLike, result: RunResult, title: str = "") -> None:
    """Draw the report for a finished run and write it to ``path`` as a PNG (atomically)."""
    from matplotlib.figure import Figure

    history = result.history.history
    has_accuracy = "accuracy" in history
    planar = result.raw.X_train.shape[1] == 2
    panels = 1 + has_accuracy + planar
    figure = Figure(figsize=(4.5 * panels, 4), layout="constrained")
    axes = figure.subplots(1, panels, squeeze=False)[0]
    _plot_curves(axes[0], history, "loss", log=True)
    if has_accuracy:
        _plot_curves(axes[1], history, "accuracy", log=False)
    if planar:
        _plot_plane(axes[-1], result)
    if title:
        figure.suptitle(title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    atomic_write_bytes(path, buffer.getvalue())


def _plot_curves(ax: Axes, history: dict[str, list[float]], metric: str, log: bool) -> None:
    for key, label in ((metric, "train"), (f"val_{metric}", "test")):
        if key in history:
            ax.plot(np.arange(1, len(history[key]) + 1), history[key], label=label)
    if log and all(value > 0 for value in history[metric]):
        ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel=metric, title=metric)
    ax.grid(alpha=0.3)
    ax.legend()


def _plot_plane(ax: Axes, result: RunResult) -> None:
    """Heat-map of the model's output over the data range, with the points on top."""
    raw = result.raw
    points = np.vstack([raw.X_train, raw.X_test])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.05 * (high - low) + 1e-9
    x1 = np.linspace(low[0] - margin[0], high[0] + margin[0], GRID_POINTS)
    x2 = np.linspace(low[1] - margin[1], high[1] + margin[1], GRID_POINTS)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(x1, x2)])
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model: fit already said so
        outputs = result.model.predict(result.preprocessing.apply(grid))
    values, colours = _colouring(outputs, raw)
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
        ax.scatter(
            X[:, 0], X[:, 1], c=y, edgecolors=edge, linewidths=0.6, s=14, label=label, **colours
        )
    ax.set(xlabel=raw.feature_names[0], ylabel=raw.feature_names[1], title="output")
    ax.legend(loc="upper right", fontsize="small")


def _colouring(outputs: np.ndarray, raw: Dataset) -> tuple[np.ndarray, dict]:
    """Grid values and colour settings shared by the map and the points, so a point sits on
    its own colour where the model is right.

    Two classes: probability (or mse score) of class 1 from orange to blue, as in the
    Playground. More classes: the predicted class, one distinct colour each. Regression:
    the output on a scale symmetric around 0.
    """
    from matplotlib.colors import LinearSegmentedColormap, ListedColormap

    playground = LinearSegmentedColormap.from_list("playground", [ORANGE, WHITE, BLUE])
    if outputs.shape[1] > 2:
        classes = outputs.shape[1]
        palette = ListedColormap([ORANGE, BLUE, *TAB_COLOURS][:classes])
        return outputs.argmax(axis=1), {"cmap": palette, "vmin": -0.5, "vmax": classes - 0.5}
    values = outputs[:, -1]
    if raw.task == CLASSIFICATION:
        return values, {"cmap": playground, "vmin": 0.0, "vmax": 1.0}
    bound = max(float(np.max(np.abs(raw.y_train))), 1e-9)
    return values, {"cmap": playground, "vmin": -bound, "vmax": bound}
