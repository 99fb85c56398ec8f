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

from .io import atomic_write_bytes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .runner import RunResult

GRID_POINTS = 120
# TensorFlow Playground's palette: orange for class 0 / negative, blue for class 1 / positive.
ORANGE, WHITE, BLUE = "#f59322", "#e8eaeb", "#0877bd"


def save_report(path: str | os.PathLike, result: RunResult, title: str = "") -> None:
    """Draw the report for a finished run and write it to ``path`` as a PNG (atomically)."""
    from matplotlib.figure import Figure

    history = result.history.history
    has_accuracy = "accuracy" in history
    planar = result.raw is not None and result.raw.X_train.shape[1] == 2
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
    from matplotlib.colors import LinearSegmentedColormap

    raw = result.raw
    points = np.vstack([raw.X_train, raw.X_test])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.05 * (high - low) + 1e-9
    x1 = np.linspace(low[0] - margin[0], high[0] + margin[0], GRID_POINTS)
    x2 = np.linspace(low[1] - margin[1], high[1] + margin[1], GRID_POINTS)
    grid = np.column_stack([g.ravel() for g in np.meshgrid(x1, x2)])
    outputs = result.model.predict(result.preprocessing.apply(grid))
    classification = raw.task == "classification"
    # Binary: probability (or score) of class 1; several classes: the predicted class.
    if outputs.shape[1] == 2:
        values = outputs[:, 1]
    elif outputs.shape[1] > 2:
        values = outputs.argmax(axis=1) / (outputs.shape[1] - 1)
    else:
        values = outputs[:, 0]
    colours = LinearSegmentedColormap.from_list("playground", [ORANGE, WHITE, BLUE])
    if classification:  # labels 0..k-1 drawn on the same 0..1 scale as the output
        vmin, vmax, label_scale = 0.0, 1.0, max(1, (raw.n_classes or 2) - 1)
    else:
        bound = max(float(np.max(np.abs(raw.y_train))), 1e-9)
        vmin, vmax, label_scale = -bound, bound, 1
    image = ax.imshow(
        values.reshape(GRID_POINTS, GRID_POINTS),
        origin="lower",
        extent=(x1[0], x1[-1], x2[0], x2[-1]),
        cmap=colours,
        vmin=vmin,
        vmax=vmax,
        aspect="auto",
        alpha=0.8,
    )
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    for X, y, edge, label in (
        (raw.X_train, raw.y_train, "white", "train"),
        (raw.X_test, raw.y_test, "black", "test"),
    ):
        ax.scatter(
            X[:, 0],
            X[:, 1],
            c=y / label_scale,
            cmap=colours,
            vmin=vmin,
            vmax=vmax,
            edgecolors=edge,
            linewidths=0.6,
            s=14,
            label=label,
        )
    ax.set(xlabel=raw.feature_names[0], ylabel=raw.feature_names[1], title="output")
    ax.legend(loc="upper right", fontsize="small")
