"""Figure helpers the claims share: a 95 % interval per setting, saved as a PNG.

matplotlib loads only here, with the Agg backend (no display needed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .claim import mean_of
from .stats import Interval


def interval_points(
    ax: Any,
    labels: Sequence[str],
    intervals: Sequence[Interval],
    ylabel: str,
    offset: float = 0.0,
    **style: Any,
) -> None:
    """One point per setting at its mean, with its 95 % interval as an error bar; ``offset``
    shifts the points sideways so that two series can share the settings."""
    error_bars(ax, [k + offset for k in range(len(labels))], intervals, fmt="o", **style)
    ax.set_xticks(range(len(labels)), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def interval_pair(
    ax: Any,
    groups: Mapping[str, list[dict]],
    labels: Sequence[str],
    measures: Sequence[tuple[str, str]],
    ylabel: str,
) -> None:
    """Two measures of each setting side by side (before/after, train/test), each as
    ``interval_points`` of its mean over the setting's runs in ``groups``; ``measures``
    holds (measure, legend label) pairs."""
    for offset, (measure, label) in zip((-0.1, 0.1), measures, strict=True):
        intervals = [mean_of(groups[setting], measure) for setting in labels]
        interval_points(ax, labels, intervals, ylabel, offset, label=label)


def error_bars(
    ax: Any, positions: Sequence[float], intervals: Sequence[Interval], **style: Any
) -> None:
    """Means at ``positions`` with their 95 % intervals as error bars."""
    means = [interval.mean for interval in intervals]
    below = [_span(interval.mean - interval.low) for interval in intervals]
    above = [_span(interval.high - interval.mean) for interval in intervals]
    ax.errorbar(positions, means, yerr=[below, above], capsize=3, **style)


def _span(x: float) -> float:
    return 0.0 if math.isnan(x) else max(x, 0.0)


def save_figure(path: Path, draw: Callable[[Any], None], width: float = 9.0) -> None:
    """Draw on a new figure and save it as a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = plt.figure(figsize=(width, 3.6))
    try:
        draw(figure)
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=90)
    finally:
        plt.close(figure)
