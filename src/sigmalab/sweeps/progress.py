"""The progress bar of ``sigmalab sweep``: runs finished of all, with the time left."""

from __future__ import annotations

from typing import Any


class SweepProgress:
    """A rich progress bar with an ETA over the runs still to train (nothing when quiet)."""

    def __init__(self, quiet: bool) -> None:
        self.bar = None
        self.task = None
        if not quiet:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("sweep"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                transient=True,
            )

    def __enter__(self) -> SweepProgress:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, total: int, pending: int) -> None:
        """Show the runs finished before (a resumed sweep) as done already."""
        if self.bar is not None:
            self.task = self.bar.add_task("sweep", total=total, completed=total - pending)
            if pending < total:
                self.bar.console.print(f"resuming: {total - pending} of {total} runs finished")

    def advance(self, outcomes: list[dict[str, Any]]) -> None:
        """Count a finished batch's runs."""
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task, len(outcomes))
