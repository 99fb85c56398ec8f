"""Which folders the lab may write into: a missing or empty one, or one an earlier lab wrote.

Every lab run replaces ``DIR/index.html``, ``DIR/figures/<claim>.png`` and the run files
``DIR/<claim>/*.toml``. Pointed at a folder of someone's own (a website, notes), it would
replace their files or mix its own among them, so such a folder is refused. An earlier
lab's folder is recognised by what only the lab leaves there, a claim's sweep results
file ``DIR/results/<claim>/results.sqlite``, so an interrupted lab still resumes and a
finished one re-renders.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import SigmalabError
from ..sweeps.store import RESULTS_FILE, is_results_file
from .claim import Claim
from .claims import CLAIMS


def results_folder(out: Path, claim: Claim, quick: bool) -> Path:
    """Where a claim's sweep goes: ``out/results/<claim>`` (``<claim>-quick`` for the quick
    lab, whose grid differs)."""
    return out / "results" / (f"{claim.name}-quick" if quick else claim.name)


def check_lab_folder(out: Path, claims: Sequence[Claim]) -> None:
    """Refuse ``out`` unless it is missing, holds no files, or holds an earlier lab's results;
    the error names the first file the lab would replace (else the first one it holds)."""
    if out.exists() and not out.is_dir():
        raise SigmalabError(f"out: must be a folder (received {out}, which is not one)")
    try:
        first = _first_file(out)
    except OSError as error:  # a folder this user may not list
        raise SigmalabError(f"out: {out} cannot be read ({error.strerror})") from None
    if first is None or any(
        is_results_file(results_folder(out, claim, quick) / RESULTS_FILE)
        for claim in CLAIMS.values()
        for quick in (False, True)
    ):
        return
    names = ["index.html", "results"]
    for claim in claims:
        names += [f"figures/{claim.name}.png", claim.name]
    replaced = next((out / name for name in names if (out / name).exists()), None)
    found = f"{replaced}, which the lab would replace" if replaced else first
    raise SigmalabError(
        f"out: {out} holds files that no earlier lab wrote ({found}); the lab writes into "
        "a new or empty folder, or one it wrote before: choose another --out"
    )


def _first_file(folder: Path) -> Path | None:
    """The first entry under ``folder`` that is not a folder (None when it is missing or
    holds only empty folders, as a lab stopped at its very start leaves it)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return None
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            return Path(entry.path)
        try:
            found = _first_file(Path(entry.path))
        except OSError:  # a folder that cannot be read is not known to be empty
            return Path(entry.path)
        if found is not None:
            return found
    return None
