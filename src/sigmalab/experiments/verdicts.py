"""A claim's verdict: holds, does not hold, or holds only under stated conditions.

Each claim decides with explicit thresholds on 95 % intervals (``stats.Interval``), and
says why in a sentence built from the numbers it used.
"""

from __future__ import annotations

from dataclasses import dataclass

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
CONDITIONAL = "holds only under stated conditions"
VERDICTS = (HOLDS, CONDITIONAL, DOES_NOT_HOLD)


@dataclass(frozen=True)
class Verdict:
    """What the evidence says about a claim, and why."""

    status: str
    reason: str
