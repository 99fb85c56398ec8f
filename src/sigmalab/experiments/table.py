"""The short summary ``sigmalab lab`` prints: one line per claim with its verdict."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .runner import ClaimResult

_STYLES = {"holds": "green", "does not hold": "red"}


def print_summary(results: Sequence[ClaimResult], report: Path, console: Any = None) -> None:
    """Claim, verdict, runs and seconds as a table on ``console`` (the terminal if None)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("claim", "verdict", "runs", "seconds", title=Text(f"lab report: {report}"))
    for result in results:
        status = result.evidence.verdict.status
        table.add_row(
            result.claim.name,
            Text(status, style=_STYLES.get(status, "yellow")),
            f"{result.runs} ({result.seeds} seeds)",
            f"{result.seconds:.1f}",
        )
    (console or Console()).print(table)
