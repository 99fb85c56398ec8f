"""Run the lab: each claim's sweep into DIR (resumable), its verdict, run files and figure.

Each claim's runs go to ``DIR/results/<claim>/results.sqlite`` (``-quick`` for the quick
lab, whose grid differs), so an interrupted lab resumes where it stopped and a finished
one re-renders its report without training. Diverging runs are part of some experiments
(large weights, high learning rates), so their warnings are silenced here; the verdicts
count them.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import save_run
from ..errors import DivergenceWarning
from ..sweeps.execute import run_sweep
from ..sweeps.grid import expand
from .claim import Claim, Evidence
from .claims import select
from .figures import save_figure
from .lab_folder import check_lab_folder, results_folder
from .measures import network_measures


@dataclass(frozen=True)
class RunFile:
    """A setting of a claim as a run file (seed 0), the commands that re-run it, and why
    the playground cannot show it (None when it can)."""

    setting: str
    path: Path
    train_command: str
    sweep_command: str
    not_in_playground: str | None


@dataclass(frozen=True)
class ClaimResult:
    """A claim after its sweep: the evidence, the files written for it, the time taken."""

    claim: Claim
    evidence: Evidence
    run_files: list[RunFile]
    figure: Path
    runs: int
    seeds: int
    epochs: int
    seconds: float


def run_lab(
    claims: Sequence[str] = (),
    out: str | os.PathLike = "lab",
    quick: bool = False,
    workers: int = 1,
    on_claim: Callable[[ClaimResult], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    on_outcomes: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[ClaimResult]:
    """Run the named claims (all for none) into ``out`` and write ``out/index.html``;
    ``out`` must be missing, empty or an earlier lab's (``check_lab_folder``).

    ``on_claim(result)`` is called as each claim is judged; ``on_start`` and
    ``on_outcomes`` are passed to each claim's sweep (``run_sweep``: a progress bar).
    """
    from .report import write_report

    selected = select(claims)
    out = Path(out)
    check_lab_folder(out, selected)
    results = []
    for claim in selected:
        result = run_claim(claim, out, quick, workers, on_start, on_outcomes)
        results.append(result)
        if on_claim is not None:
            on_claim(result)
    write_report(out, results, quick)
    return results


def run_claim(
    claim: Claim,
    out: Path,
    quick: bool,
    workers: int = 1,
    on_start: Callable[[int, int], None] | None = None,
    on_outcomes: Callable[[list[dict[str, Any]]], None] | None = None,
) -> ClaimResult:
    """One claim's sweep (resumed if begun), judged, with its run files and figure."""
    started = time.perf_counter()
    run = claim.run(quick)
    seeds = claim.seeds(quick)
    folder = results_folder(out, claim, quick)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in diverging members
        store = run_sweep(
            run,
            claim.grid,
            folder,
            seeds=seeds,
            workers=workers,
            doctor=False,
            measure=network_measures,
        )
        with store:
            rows = store.rows()
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(claim.label(row["swept"]), []).append(row)
    evidence = claim.judge(groups)
    run_files = write_run_files(claim, run, out, seeds)
    figure = out / "figures" / f"{claim.name}.png"
    save_figure(figure, lambda canvas: claim.draw(canvas, groups))
    epochs = run["train"]["epochs"]
    seconds = time.perf_counter() - started
    return ClaimResult(claim, evidence, run_files, figure, len(rows), seeds, epochs, seconds)


def write_run_files(claim: Claim, run: dict[str, Any], out: Path, seeds: int) -> list[RunFile]:
    """Each setting as ``out/<claim>/<setting>.toml`` (seed 0), with the exact commands."""
    folder = out / claim.name
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for setting in expand(run, claim.grid):
        label = claim.label(setting.values)
        path = folder / f"{_slug(label)}.toml"
        save_run(setting.config, path)
        epochs = setting.config.train.epochs
        files.append(
            RunFile(
                label,
                path,
                f"sigmalab train {path} --out runs/{claim.name}/{_slug(label)}",
                f"sigmalab sweep {path} --grid train.epochs={epochs} --seeds {seeds} "
                f"--out sweeps/{claim.name}/{_slug(label)}",
                _playground_refusal(setting.config.to_dict()),
            )
        )
    return files


def _playground_refusal(run: dict[str, Any]) -> str | None:
    """Why the playground page cannot open ``run`` (its own message), or None if it can."""
    from ..data.dataset import CLASSIFICATION
    from ..playground.run_file import from_run
    from ..playground.settings import SettingsError

    try:
        from_run(run, CLASSIFICATION, 2)
    except SettingsError as error:
        return str(error)
    return None


def _slug(label: str) -> str:
    """A file name for a setting label: ``sigmoid, scale 4`` -> ``sigmoid_scale_4``."""
    return re.sub(r"[^A-Za-z0-9.]+", "_", label).strip("_")
