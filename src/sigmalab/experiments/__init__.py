"""The lab: every claim of the text as a sweep over settings x seeds, judged on intervals.

``sigmalab lab`` and ``sl.lab`` run the claims (``claims/``, one experiment each) on top
of the sweeps package, measure each trained network (``measures``), put 95 % intervals on
every number (``stats``), decide each verdict by explicit thresholds on them (each claim's
``verdict``) and write a self-contained report (``report``).
"""

from __future__ import annotations

from .claims import CLAIMS, select
from .runner import ClaimResult, run_lab

__all__ = ["CLAIMS", "ClaimResult", "run_lab", "select"]
