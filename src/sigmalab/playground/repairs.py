"""Repair in the background: the doctor's repair loop on a copy of the page's setup.

It runs in a thread of its own, so training and the page go on while it retrains; a session
runs one at a time. Cancelling takes effect before the loop's next retrain (a retrain is a
page-sized run: a second or two), since the loop trains each candidate to its end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..config import RunConfig
from ..errors import SigmalabError
from .run_file import describe_remedy

if TYPE_CHECKING:
    from ..doctor.diagnose import Diagnosis
    from ..doctor.repair import RepairResult

log = logging.getLogger(__name__)

REPAIR_BUDGET = 4  # retrains, as ``sigmalab doctor --repair`` does by default


class RepairCancelled(Exception):  # noqa: N818 (a signal, not an error)
    """The page cancelled the repair: leave the loop before its next retrain."""


class BackgroundRepair:
    """One repair loop on ``config`` in a worker thread.

    ``on_progress(retrain, budget)`` is called before each retrain and ``on_done(result,
    problem)`` once at the end, both from the worker thread: ``result`` is the
    ``RepairResult``, or None with ``problem`` saying why ("cancelled", or the error).
    """

    def __init__(
        self,
        config: RunConfig,
        on_progress: Callable[[int, int], None],
        on_done: Callable[[RepairResult | None, str | None], None],
        budget: int = REPAIR_BUDGET,
    ) -> None:
        self.config = config
        self.budget = budget
        self._on_progress = on_progress
        self._on_done = on_done
        self._cancel = threading.Event()
        self._retrains = 0
        self._thread = threading.Thread(target=self._main, name="playground-repair", daemon=True)

    def start(self) -> None:
        """Begin the loop in the background."""
        self._thread.start()

    def cancel(self) -> None:
        """Stop before the next retrain; ``on_done`` then reports "cancelled"."""
        self._cancel.set()

    @property
    def running(self) -> bool:
        """Whether the loop is still working (a cancelled one may be finishing a retrain)."""
        return self._thread.is_alive()

    @property
    def cancelled(self) -> bool:
        """Whether cancel was asked for."""
        return self._cancel.is_set()

    def _diagnose(self, config: RunConfig) -> Diagnosis:
        """The loop's retrain, with a check for cancellation and a progress report first."""
        from ..doctor.diagnose import diagnose

        if self._cancel.is_set():
            raise RepairCancelled
        self._retrains += 1
        self._on_progress(self._retrains, self.budget + 1)  # the first run is the diagnosis
        return diagnose(config)

    def _main(self) -> None:
        from ..doctor.repair import repair

        try:
            result = repair(self.config, budget=self.budget, diagnose_run=self._diagnose)
        except RepairCancelled:
            self._on_done(None, "cancelled")
        except SigmalabError as error:
            self._on_done(None, str(error))
        except Exception as error:  # a bug must not pass silently, nor kill the server
            log.exception("playground repair failed")
            self._on_done(None, f"internal error: {error!r}")
        else:
            cancelled = self._cancel.is_set()
            self._on_done(None if cancelled else result, "cancelled" if cancelled else None)


def repair_message(result: RepairResult | None, problem: str | None, run: int, epochs: int) -> dict:
    """The page's message for a finished repair: the metric and problems before and after,
    the remedies kept and every attempt; or why there is no result."""
    if result is None:
        state = "cancelled" if problem == "cancelled" else "failed"
        return {"type": "repair", "state": state, "run": run, "message": problem}
    sides = {
        side: {
            "metric": diagnosis.metric.value,
            "findings": sorted({finding.kind for finding in diagnosis.problems}),
        }
        for side, diagnosis in (("before", result.original), ("after", result.final))
    }
    return {
        "type": "repair",
        "state": "done",
        "run": run,
        "epochs": epochs,
        "retrains": result.retrains,
        "metric": result.original.metric.name,
        **sides,
        "remedies": [describe_remedy(attempt.remedy) for attempt in result.accepted],
        "attempts": [
            {
                "finding": attempt.finding.kind,
                "remedy": describe_remedy(attempt.remedy),
                "metric_after": attempt.metric_after,
                "accepted": attempt.accepted,
            }
            for attempt in result.attempts
        ],
        "adoptable": bool(result.accepted),
        "note": "" if result.accepted else "no remedy was proved to help: the setup stays as it is",
    }
