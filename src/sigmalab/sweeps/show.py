"""``sigmalab sweep show DIR``: the per-combination table, ``results.csv`` and ``sweep.png``.

The figure plots the score against each swept key's values with error bars (one standard
deviation over every finished run with that value), and adds a heat-map of the mean when
exactly two keys are swept. matplotlib and rich load only here.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import SigmalabError
from ..files import atomic_write_bytes
from .store import DONE, RESULTS_FILE, ResultStore
from .summary import combinations, score_name

CSV_FILE = "results.csv"
FIGURE_FILE = "sweep.png"


def load_results(folder: str | os.PathLike) -> tuple[list[str], list[dict[str, Any]]]:
    """The swept keys and every run's row from ``folder/results.sqlite``."""
    folder = Path(folder)
    if not (folder / RESULTS_FILE).is_file():
        raise SigmalabError(f"{folder}: no {RESULTS_FILE} here; run 'sigmalab sweep' first")
    with ResultStore(folder) as store:
        return [key for key, _ in store.grid()["grid"]], store.rows()


def show(folder: str | os.PathLike, console: Any = None) -> list[dict[str, Any]]:
    """Print the table on ``console`` (the terminal if None), write the CSV and the figure;
    the per-combination rows, best first."""
    keys, rows = load_results(folder)
    table = combinations(rows, keys)
    write_csv(Path(folder) / CSV_FILE, table)
    save_figure(Path(folder) / FIGURE_FILE, keys, rows)
    print_table(table, keys, score_name(rows), Path(folder), console)
    return table


def write_csv(path: Path, table: Sequence[dict[str, Any]]) -> None:
    """The per-combination table as CSV (values such as inline tables written as JSON)."""
    from ..runner import csv_text

    header = list(table[0])
    rows = [[_cell(entry[column]) for column in header] for entry in table]
    atomic_write_bytes(path, csv_text(header, rows).encode())


def _cell(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list | dict) else value


def print_table(
    table: Sequence[dict[str, Any]], keys: Sequence[str], score: str, folder: Path, console: Any
) -> None:
    """The table: the swept values, the score as mean +- std, finished runs, findings."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    shown = Table(*keys, score, "runs done", "epochs", "findings", title=Text(str(folder)))
    for entry in table:
        mean, std = entry[f"{score}_mean"], entry[f"{score}_std"]
        value = "-" if math.isnan(mean) else f"{mean:.4g} +- {std:.2g}"
        done = f"{entry[DONE]}/{entry['runs']}"
        if entry["failed"]:
            done += f" ({entry['failed']} failed)"
        shown.add_row(
            *(Text(_label(entry[key])) for key in keys),
            value,
            done,
            "-" if math.isnan(entry["epochs_mean"]) else f"{entry['epochs_mean']:.0f}",
            Text(", ".join(entry["findings"])),
        )
    (console or Console()).print(shown)


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def save_figure(path: Path, keys: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """The score against each swept key (mean +- std), plus a heat-map for two keys."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    score = score_name(rows)
    done = [row for row in rows if row["status"] == DONE and row[score] is not None]
    panels = len(keys) + (1 if len(keys) == 2 else 0)
    figure, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3.6), squeeze=False)
    for axis, key in zip(axes[0], keys, strict=False):
        labels = _values_of(rows, key)
        groups = [[row[score] for row in done if _label(row["swept"][key]) == x] for x in labels]
        means = [_mean_std(group)[0] for group in groups]
        stds = [_mean_std(group)[1] for group in groups]
        axis.errorbar(range(len(labels)), means, yerr=stds, fmt="o-", capsize=4)
        axis.set_xticks(range(len(labels)), labels, rotation=20)
        axis.set_xlabel(key)
        axis.set_ylabel(score)
    if len(keys) == 2:
        _heat_map(axes[0][-1], keys, rows, done, score)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _heat_map(axis: Any, keys: Sequence[str], rows: Sequence, done: Sequence, score: str) -> None:
    """The mean score of every pair of the two keys' values, written in each cell."""
    first, second = (_values_of(rows, key) for key in keys)
    grid = [
        [
            _mean_std(
                [
                    row[score]
                    for row in done
                    if _label(row["swept"][keys[0]]) == a and _label(row["swept"][keys[1]]) == b
                ]
            )[0]
            for b in second
        ]
        for a in first
    ]
    image = axis.imshow(grid, cmap="viridis", aspect="auto")
    axis.set_xticks(range(len(second)), second, rotation=20)
    axis.set_yticks(range(len(first)), first)
    axis.set_xlabel(keys[1])
    axis.set_ylabel(keys[0])
    for i, line in enumerate(grid):
        for j, value in enumerate(line):
            axis.text(j, i, "-" if math.isnan(value) else f"{value:.3g}", ha="center", va="center")
    axis.figure.colorbar(image, ax=axis, label=f"mean {score}")


def _values_of(rows: Sequence[dict[str, Any]], key: str) -> list[str]:
    """A key's values as labels, in grid order."""
    return list(dict.fromkeys(_label(row["swept"][key]) for row in rows))


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    import statistics

    if not values:
        return math.nan, 0.0
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0
