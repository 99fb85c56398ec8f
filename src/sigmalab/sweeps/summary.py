"""A sweep's results per combination: mean and spread over seeds, best first.

The score is the test accuracy when the runs have one (a classification), else the test
loss; lower is better for a loss. Runs that failed or have not finished are counted but
not averaged, and a combination with no finished run sorts last.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from typing import Any

from .store import DONE, FAILED, PENDING


def score_name(rows: Sequence[dict[str, Any]]) -> str:
    """The metric a sweep is ranked by: test accuracy if the runs report it, else test loss."""
    has_accuracy = any(row.get("test_accuracy") is not None for row in rows)
    return "test_accuracy" if has_accuracy else "test_loss"


def flat_rows(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One plain dict per run: its swept values as columns beside id, seed and results."""
    flat = []
    for row in rows:
        rest = {key: value for key, value in row.items() if key != "swept"}
        flat.append({"id": rest.pop("id"), **row["swept"], **rest})
    return flat


def combinations(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per combination of swept values: counts, mean and std of the score over the
    finished seeds, mean epochs and seconds, and every finding kind seen; best first."""
    score = score_name(rows)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(json.dumps([row["swept"][key] for key in keys]), []).append(row)
    table = []
    for group in groups.values():
        done = [row for row in group if row["status"] == DONE]
        values = [row[score] for row in done if row[score] is not None]
        table.append(
            {
                **{key: group[0]["swept"][key] for key in keys},
                "runs": len(group),
                DONE: len(done),
                FAILED: sum(row["status"] == FAILED for row in group),
                PENDING: sum(row["status"] == PENDING for row in group),
                f"{score}_mean": statistics.fmean(values) if values else math.nan,
                f"{score}_std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "epochs_mean": _mean(row["epochs"] for row in done),
                "seconds_mean": _mean(row["seconds"] for row in done),
                "findings": sorted({kind for row in done for kind in row["findings"]}),
            }
        )
    lower_is_better = score.endswith("loss")
    table.sort(key=lambda entry: _rank(entry[f"{score}_mean"], lower_is_better))
    return table


def _rank(value: float, lower_is_better: bool) -> tuple[bool, float]:
    """Sort key: finite scores first, best first; NaN (nothing finished, diverged) last."""
    if math.isnan(value):
        return (True, 0.0)
    return (False, value if lower_is_better else -value)


def _mean(values: Any) -> float:
    present = [value for value in values if value is not None]
    return statistics.fmean(present) if present else math.nan
