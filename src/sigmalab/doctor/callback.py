"""The Doctor callback: probes a run as it trains, then diagnoses it from the records."""

from __future__ import annotations

import math
import time

import numpy as np

from ..callbacks import Callback
from ..errors import SigmalabError
from ..model import batch_bounds
from ..validation import check_int, check_number
from .findings import Finding
from .probes import Probe, run_context
from .rules import blowup_limit, diagnose_records, without_symptoms
from .static import check_static

# Steps timed after the first probe before the adaptive interval is first set; it is then
# re-estimated after every probe from the mean probe and step times, the same totals the
# overhead is judged by.
WARMUP_STEPS = 5
# A run gets at least this many probes whatever the budget, so a condition can persist
# over PERSIST probes in a row even in a short run.
MIN_PROBES = 8


class Doctor(Callback):
    """Watch a training run: ``model.fit(X, y, callbacks=[doctor])``, then ``doctor.findings``.

    Parameters
    ----------
    probe_every : probe every this many optimizer steps; None (default) picks the interval
        from the measured cost of a probe and of a step so that probes take at most
        ``overhead_budget`` of the training time, and adds a probe at the end of any epoch
        that had none while the budget allows.
    probe_size : samples in the fixed probe batch (evenly spaced over the training set).
    overhead_budget : the share of training time probes may take in adaptive mode.
    static : also run ``check_static`` on the model and inputs at the start.
    stop_on_divergence : end training after the epoch in which the loss became NaN/Inf or
        blew up, since nothing more can be learned from it.

    Attributes after ``fit``: ``findings`` (static and dynamic, most severe first),
    ``records`` (the probe stream), ``epochs`` (epoch logs), ``probe_every`` (the interval
    used), ``probe_seconds`` and ``train_seconds`` (to check the overhead).
    """

    def __init__(
        self,
        probe_every: int | None = None,
        probe_size: int = 256,
        overhead_budget: float = 0.04,
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
        self._timed_seconds = 0.0
        self._timed_probes = 0
        self._epoch = 0
        self._probed_epoch = -1
        self._last_probe_step = 0
        self._next_check = 1
        self._blowup_limit = math.inf
        self._probe_blowup_limit = math.inf
        self._diverged = False
        self._steps_per_epoch = 1
        self._min_probes_interval = 1
        self._start = 0.0

    # ---- hooks -------------------------------------------------------------------------
    def on_train_begin(self, model, logs):
        """Check the setup statically, fix the probe batch, and snapshot the weights."""
        if "X" not in logs or "y" not in logs:
            raise SigmalabError("Doctor needs fit to pass the training arrays (logs['X'], ['y'])")
        self._reset()
        X, y = logs["X"], logs["y"]
        self.context = run_context(model, X)
        self.static_findings = check_static(model, X) if self.static else []
        rows = np.linspace(0, len(X) - 1, min(len(X), self.probe_size)).astype(np.intp)
        self._probe = Probe(model, X[rows], y[rows], self.probe_size)
        self._steps_per_epoch = len(batch_bounds(logs["samples"], logs["batch_size"]))
        self._min_probes_interval = max(1, self._steps_per_epoch * logs["epochs"] // MIN_PROBES)
        self._probe.remember_weights(0)
        self._start = time.perf_counter()

    def on_batch_end(self, model, step, logs):
        """Flag a NaN/blown-up loss at once; probe when due. Most steps cost two comparisons."""
        loss = logs["loss"]
        if step == 1:
            # A loss-only record keeps the initial loss, before any update.
            self.records.append({"step": 1, "epoch": 0, "loss": loss, "layers": []})
            self._blowup_limit = blowup_limit(loss)
            self._diverged = not math.isfinite(loss)
        elif not loss <= self._blowup_limit and not self._diverged:  # NaN, Inf or blown up
            self._diverged = True
            self.records.append({"step": step, "epoch": self._epoch, "loss": loss, "layers": []})
        if step >= self._next_check:
            self._schedule(step)

    def on_epoch_end(self, model, epoch, logs):
        """Keep the epoch's metrics; stop a diverged run early."""
        self.epochs.append({"epoch": epoch, **{k: float(v) for k, v in logs.items()}})
        self._epoch = epoch + 1
        self._diverged = self._diverged or not math.isfinite(logs.get("loss", 0.0))
        if self.stop_on_divergence and self._diverged:
            model.stop_training = True

    def on_train_end(self, model, logs):
        """Diagnose the whole run: static findings plus every rule's, most severe first."""
        self.train_seconds = time.perf_counter() - self._start - self.probe_seconds
        if self.epochs and "best_epoch" in self.epochs[-1]:
            # An EarlyStopping before this callback puts back the weights of its best epoch.
            self.context["restored_epoch"] = int(self.epochs[-1]["best_epoch"])
        dynamic = diagnose_records(self.records, self.epochs, self.context)
        self.findings = without_symptoms([*self.static_findings, *dynamic])

    # ---- probing schedule --------------------------------------------------------------
    def _schedule(self, step: int) -> None:
        """Probe now, or snapshot the weights for a probe next step; set the next check."""
        self.train_seconds = time.perf_counter() - self._start - self.probe_seconds
        if step == 1 + WARMUP_STEPS:
            self._choose_interval(step)
        if self._due(step):
            self._run_probe(step)
        elif self._due(step + 1):
            self._probe.remember_weights(step)
        self._next_check = max(step + 1, self._next_candidate(step) - 1)

    def _next_candidate(self, step: int) -> int:
        """The first step after ``step`` at which ``_due`` may hold."""
        last = self._last_probe_step
        if self._explicit_every is not None:
            return last + self._explicit_every
        if self.probe_every is None:
            return 1 + WARMUP_STEPS
        epoch = (step - 1) // self._steps_per_epoch
        epoch_end = (epoch + 1 + (self._probed_epoch == epoch)) * self._steps_per_epoch
        return min(last + self.probe_every, last + self._min_probes_interval, epoch_end)

    @property
    def _probe_estimate(self) -> float:
        """The mean probe time: what probing really costs, occasional slow ones included."""
        return self._timed_seconds / self._timed_probes if self._timed_probes else 0.0

    def _choose_interval(self, steps: int) -> None:
        """N = ceil(probe time / (budget * step time)): probes cost <= budget of training."""
        if self._explicit_every is not None:
            return
        step_seconds = self.train_seconds / steps
        ratio = self._probe_estimate / max(self.overhead_budget * step_seconds, 1e-9)
        self.probe_every = max(1, math.ceil(ratio))

    def _due(self, step: int) -> bool:
        """Whether to probe after ``step``.

        Always at step 1; with an explicit ``probe_every``, every that many steps. Adaptive:
        every ``probe_every`` steps and at the end of an epoch that had no probe, whenever
        the time spent probing stays within budget; and regardless of budget once
        1 / MIN_PROBES of the planned steps passed without a probe, so short runs get
        enough probes for a condition to persist.
        """
        if step == 1:
            return True
        since = step - self._last_probe_step
        if self._explicit_every is not None:
            return since >= self._explicit_every
        if self.probe_every is None:  # still timing the first steps
            return False
        if since >= self._min_probes_interval:
            return True
        epoch_end = step % self._steps_per_epoch == 0 and self._probed_epoch != (
            (step - 1) // self._steps_per_epoch
        )
        if since < self.probe_every and not epoch_end:
            return False
        return (
            self.probe_seconds + self._probe_estimate <= self.overhead_budget * self.train_seconds
        )

    def _run_probe(self, step: int) -> None:
        start = time.perf_counter()
        record = self._probe(step, self._epoch)
        self.records.append(record)
        seconds = time.perf_counter() - start
        if step == 1:
            # The first probe pays one-off costs (caches, BLAS threads waking up); time a
            # second, discarded pass so the interval is not set from a cold measurement.
            self.probe_seconds += seconds
            start = time.perf_counter()
            self._probe(step, self._epoch)
            seconds = time.perf_counter() - start
        self._timed_seconds += seconds
        self._timed_probes += 1
        self.probe_seconds += seconds
        self._last_probe_step = step
        self._probed_epoch = (step - 1) // self._steps_per_epoch
        if self._probe_blowup_limit == math.inf and math.isfinite(record["loss"]):
            # Probe losses (inference mode) are judged against the first probe's, not the
            # batch loss: BatchNorm's running statistics make the two differ at the start.
            self._probe_blowup_limit = blowup_limit(record["loss"])
        self._diverged = self._diverged or not (
            record["finite"] and record["loss"] <= self._probe_blowup_limit
        )
        if step > WARMUP_STEPS:
            self._choose_interval(step)

    # ---- output ------------------------------------------------------------------------
    @property
    def probes(self) -> int:
        """How many full probes ran."""
        return sum(1 for record in self.records if record.get("layers"))

    def to_dict(self) -> dict:
        """JSON-safe summary: findings, number of probes, the interval, the measured overhead."""
        overhead = self.probe_seconds / self.train_seconds if self.train_seconds else 0.0
        return {
            "findings": [finding.to_dict() for finding in self.findings],
            "probes": self.probes,
            "probe_every": self.probe_every,
            "overhead": overhead,
        }
