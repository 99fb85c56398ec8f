"""The Doctor callback: probes a run as it trains, then diagnoses it from the records."""

from __future__ import annotations

import math
import time

import numpy as np

from ..callbacks import Callback
from ..errors import SigmalabError
from ..validation import check_int, check_number
from .findings import Finding, watch_summary
from .probes import Probe, run_context, target_variance
from .records import ProbeRecord
from .rules import blowup_limit, diagnose_records, without_symptoms
from .static import check_static_with_context

# The default interval comes from the work a probe and a step do, not from timings, so the
# same run probes at the same steps on any machine and under any load (repair's proof
# compares two runs' findings). A step costs about STEP_FIXED_SAMPLES + batch_size samples
# of forward and backward work, a probe (statistics included) PROBE_FIXED_SAMPLES + its
# rows, the fixed parts being per-pass dispatch costs; a probe counts PROBE_COST_FACTOR
# times that estimate. How these constants were measured: benchmarks/README.md.
STEP_FIXED_SAMPLES = 100
PROBE_FIXED_SAMPLES = 250
PROBE_COST_FACTOR = 2.0
# A run gets at least this many probes whatever the budget, so a condition can persist
# over PERSIST probes in a row even in a short run.
MIN_PROBES = 8


def probe_cost_in_steps(probe_rows: int, batch_size: int) -> float:
    """The estimated cost of one probe of ``probe_rows`` samples, in training steps."""
    probe = PROBE_COST_FACTOR * (PROBE_FIXED_SAMPLES + probe_rows)
    return probe / (STEP_FIXED_SAMPLES + batch_size)


def default_probe_interval(probe_rows: int, batch_size: int, overhead_budget: float) -> int:
    """N = ceil(probe cost / (budget * step cost)): probes cost <= budget of training."""
    return max(1, math.ceil(probe_cost_in_steps(probe_rows, batch_size) / overhead_budget))


class Doctor(Callback):
    """Watch a training run: ``model.fit(X, y, callbacks=[doctor])``, then ``doctor.findings``.

    Parameters
    ----------
    probe_every : probe every this many optimizer steps; None (default) derives the interval
        from the work of a probe and of a training step (``default_probe_interval``) so that
        probes take about ``overhead_budget`` of the training time, at least MIN_PROBES per
        run, plus a probe at the end of any epoch that had none while the probes so far stay
        within the budget. The schedule depends on the shapes only, never on the clock: the
        same run always gives the same records and findings.
    probe_size : samples in the fixed probe batch (evenly spaced over the training set).
    overhead_budget : the share of training time probes may take by the default schedule.
    static : also run ``check_static`` on the model and inputs at the start.
    stop_on_divergence : end training after the epoch whose loss became NaN/Inf, since
        nothing more can be learned from it. A loss that blew up but stayed finite trains
        on, so that what the blow-up did (ReLU units it killed) is measured too.

    Attributes after ``fit``: ``findings`` (static and dynamic, most severe first),
    ``records`` (the probe stream), ``epochs`` (epoch logs), ``probes`` (how many full probes
    ran), ``probe_every`` (the interval used), ``probe_seconds`` (what the doctor does while
    the run trains: probes, weight snapshots, loss records and epoch logs) and
    ``train_seconds`` (the rest of the run), measured to report the overhead. Left out is
    the check most steps end at (two comparisons, about 60 ns): two clock reads would cost
    that step four times more than the check.
    """

    explains_divergence = True  # its divergence finding replaces fit's warning

    def __init__(
        self,
        probe_every: int | None = None,
        probe_size: int = 256,
        overhead_budget: float = 0.03,
        static: bool = True,
        stop_on_divergence: bool = True,
    ) -> None:
        self.probe_every = None if probe_every is None else check_int("probe_every", probe_every)
        self._explicit_every = self.probe_every
        self.probe_size = check_int("probe_size", probe_size)
        self.overhead_budget = check_number(
            "overhead_budget", overhead_budget, low=0.0, high=1.0, low_open=True
        )
        self.static = bool(static)
        self.stop_on_divergence = bool(stop_on_divergence)
        self._reset()

    def _reset(self) -> None:
        self.records: list[dict] = []
        self.epochs: list[dict] = []
        self.findings: list[Finding] = []
        self.static_findings: list[Finding] = []
        self.context: dict = {}
        self.probe_seconds = 0.0
        self.train_seconds = 0.0
        self.probe_every = self._explicit_every
        self._probe: Probe | None = None
        self._probe_cost = 0.0
        self.probes = 0
        self._epoch = 0
        self._last_probe_step = 0
        self._next_check = 1
        # Batch losses above this are recorded for rules.divergence to judge; every step
        # goes the slow way until step 1 sets it.
        self._blowup_limit = -math.inf
        self._located = False  # whether the first non-finite value was looked for
        self._steps_per_epoch = 1
        self._start = 0.0

    # ---- hooks -------------------------------------------------------------------------
    def on_train_begin(self, model, logs):
        """Check the setup statically, fix the probe batch and the schedule, snapshot weights."""
        if "X" not in logs or "y" not in logs:
            raise SigmalabError("Doctor needs fit to pass the training arrays (logs['X'], ['y'])")
        self._reset()
        X, y = logs["X"], logs["y"]
        self.context = run_context(model, X)
        self.static_findings = (
            check_static_with_context(model, X, self.context) if self.static else []
        )
        rows = np.linspace(0, len(X) - 1, min(len(X), self.probe_size)).astype(np.intp)
        self._probe = Probe(model, X[rows], y[rows], self.probe_size, limit_threads=False)
        if self.context["loss"] == "mse":
            self.context["target_variance"] = target_variance(self._probe.y)
        self._steps_per_epoch = logs["steps_per_epoch"]
        if self._explicit_every is None:
            self._probe_cost = probe_cost_in_steps(len(rows), logs["batch_size"])
            enough = max(1, self._steps_per_epoch * logs["epochs"] // MIN_PROBES)
            budgeted = default_probe_interval(len(rows), logs["batch_size"], self.overhead_budget)
            self.probe_every = min(budgeted, enough)
        self._probe.remember_weights(0)
        self._start = time.perf_counter()

    def on_batch_end(self, model, step, logs):
        """Record the first loss and any loss above the blow-up limit; probe when due.

        Most steps cost two comparisons. Whether recorded losses mean divergence (NaN at
        once, a finite one on several steps in a row) is for rules.divergence to say.
        """
        loss = logs["loss"]
        if step < self._next_check and loss <= self._blowup_limit:
            return
        start = time.perf_counter()
        self._watch_step(step, loss)
        self.probe_seconds += time.perf_counter() - start

    def _watch_step(self, step: int, loss: float) -> None:
        """The steps past the check: keep the loss, probe or snapshot the weights when due."""
        if step == 1 or not loss <= self._blowup_limit:  # the first, NaN, Inf or too large
            # A loss-only record; at step 1 it keeps the initial loss, before any update.
            record: ProbeRecord = {"step": step, "epoch": self._epoch, "loss": loss, "layers": []}
            if not math.isfinite(loss):
                self._locate_nonfinite(record)
            self.records.append(record)
        if step == 1:
            self._blowup_limit = blowup_limit(loss) if math.isfinite(loss) else math.inf
        if step >= self._next_check:
            self._schedule(step)

    def on_epoch_end(self, model, epoch, logs):
        """Keep the epoch's metrics; stop a run whose loss is NaN/Inf."""
        start = time.perf_counter()
        self.epochs.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
        self._epoch = epoch + 1
        # Only a non-finite loss ends the run: nothing more can be learned from NaN, but a
        # finite blow-up leaves a network to measure (units it killed show later).
        if self.stop_on_divergence and not math.isfinite(logs.get("loss", 0.0)):
            model.stop_training = True
        self.probe_seconds += time.perf_counter() - start

    def _locate_nonfinite(self, record: ProbeRecord) -> None:
        """On the run's first non-finite record, note which layer produced the NaN/inf."""
        if self._located:
            return
        self._located = True
        where = self._probe.locate_nonfinite()
        if where is not None:
            record["first_nonfinite"] = where

    def on_train_end(self, model, logs):
        """Diagnose the whole run: static findings plus every rule's, most severe first."""
        self.train_seconds = time.perf_counter() - self._start - self.probe_seconds
        if self.epochs and "best_epoch" in self.epochs[-1]:
            # An EarlyStopping before this callback puts back the weights of its best epoch.
            self.context["restored_epoch"] = int(self.epochs[-1]["best_epoch"])
        self.findings = self.current_findings()

    def current_findings(self) -> list[Finding]:
        """The diagnosis of the run so far: static findings plus every rule's, most severe
        first. ``on_train_end`` keeps this as ``findings``; a live view asks while training."""
        dynamic = diagnose_records(self.records, self.epochs, self.context)
        return without_symptoms([*self.static_findings, *dynamic])

    # ---- probing schedule --------------------------------------------------------------
    def _schedule(self, step: int) -> None:
        """Probe now, or snapshot the weights for a probe next step; set the next check."""
        if self._due(step):
            self._run_probe(step)
        elif self._due(step + 1):
            self._probe.remember_weights(step)
        self._next_check = max(step + 1, self._next_candidate(step) - 1)

    def _next_candidate(self, step: int) -> int:
        """The first step after ``step`` at which ``_due`` may hold.

        Until the next probe, only the step changes in ``_due``'s budget test, so the epoch
        ends before the first that passes it are skipped: on a run of a few steps per epoch
        they would otherwise take the slow way through ``on_batch_end`` two steps in three.
        """
        last = self._last_probe_step
        if self._explicit_every is not None:
            return last + self._explicit_every
        regular = last + self.probe_every
        per_epoch = self._steps_per_epoch
        epoch = self._epoch_of(step)
        probed = self._epoch_of(self._last_probe_step) == epoch
        epoch_end = (epoch + 1 + probed) * per_epoch
        # One epoch before the estimate, so rounding never skips the first that passes.
        needed = (self.probes + 1) * self._probe_cost / self.overhead_budget
        epoch_end = max(epoch_end, per_epoch * (math.ceil(needed / per_epoch) - 1))
        while epoch_end < regular and not self._within_budget(epoch_end):
            epoch_end += per_epoch
        return min(regular, epoch_end)

    def _due(self, step: int) -> bool:
        """Whether to probe after ``step``.

        Always at step 1, then every ``probe_every`` steps; by the default schedule also at
        the end of an epoch that had no probe, when the estimated cost of the probes so far
        and this one stays within ``overhead_budget`` of the steps so far.
        """
        if step == 1:
            return True
        if step - self._last_probe_step >= self.probe_every:
            return True
        if self._explicit_every is not None or step % self._steps_per_epoch:
            return False
        unprobed_epoch = self._epoch_of(self._last_probe_step) != self._epoch_of(step)
        return unprobed_epoch and self._within_budget(step)

    def _within_budget(self, step: int) -> bool:
        """Whether one more probe keeps the probes' estimated cost within the budget of the
        ``step`` steps so far."""
        return (self.probes + 1) * self._probe_cost <= self.overhead_budget * step

    def _epoch_of(self, step: int) -> int:
        """The epoch (from 0) in which optimizer step ``step`` ran; -1 for step 0, before any."""
        return (step - 1) // self._steps_per_epoch

    def _run_probe(self, step: int) -> None:
        record = self._probe(step, self._epoch)
        if not record["finite"]:
            self._locate_nonfinite(record)
        self.records.append(record)
        self.probes += 1
        self._last_probe_step = step
        if self.probes == 1 and math.isfinite(record["loss"]):
            # rules.divergence judges batch losses against the larger of the first batch
            # loss and the first probe loss: only losses above that need recording.
            self._blowup_limit = max(self._blowup_limit, blowup_limit(record["loss"]))

    # ---- output ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-safe summary: findings, number of probes, the interval, the measured overhead."""
        return watch_summary(
            self.findings, self.probes, self.probe_every, self.probe_seconds, self.train_seconds
        )
