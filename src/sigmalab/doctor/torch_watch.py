"""The doctor in a PyTorch training loop: ``sl.doctor.watch(model, optimizer, loss_fn)``.

The watch writes the probe records of sigmalab's doctor (:mod:`.records`), measured the
same way, so the sigmalab rules diagnose them unchanged and give the same diagnosis: a
probe measures the model on a fixed batch of up to 256 training samples in inference mode
(:mod:`.torch_probe`; the batch is taken from the loop's first batches through hooks on the
model and on the loss module), on the schedule of sigmalab's doctor: at step 1, then every
``probe_every`` steps, at least MIN_PROBES in a run whose length (``steps``) is known. A
probe due after step ``s`` runs when the loop next calls the watch (the next ``step``,
``epoch_end`` or the end of the block), when the weights are those after step ``s``, as
sigmalab's probe sees them.

Between probes no hook runs and ``step`` stores the loss and compares two integers: a
float when the loss is on the CPU, else the detached tensor, so an accelerator is never
synchronised per step (its losses are read in one transfer at the next probe or epoch end).
The watch's own time (``probe_seconds``) counts everything it does while the loop runs;
the checks before the first step are left out of both times, as sigmalab's doctor leaves
out its own. torch is imported only when a watch starts, so ``import sigmalab`` stays light.
"""

from __future__ import annotations

import math
import numbers
import os
import time
import weakref
from functools import partial
from pathlib import Path

import numpy as np

from ..errors import SigmalabError, unknown_name
from ..files import atomic_write_bytes, check_writable
from ..validation import check_bool, check_int, check_number
from .callback import MIN_PROBES, default_probe_interval
from .findings import Finding, watch_summary
from .probes import target_variance
from .records import EpochLog, ProbeRecord
from .report import render
from .rules import blowup_limit, diagnose_records, without_symptoms
from .torch_modules import ModuleTree, TensorFlow, activation_name, module_kind
from .torch_probe import ProbeBatch, TorchProbe
from .torch_remedies import in_pytorch_terms
from .torch_static import check_torch_static, torch_context

INSTALL_HINT = "pip install 'sigmalab[torch]'"
# Without ``steps`` the loop's length is unknown: the gap between probes is then this share
# of the steps so far (at least the steps of 256 samples, at most the budgeted interval),
# so a short run still gets several probes and a long one settles to sigmalab's interval.
GAP_DIVISOR = 2
OPTIONS = ("steps", "probe_every", "probe_size", "overhead_budget", "static")


def _import_torch():
    try:
        import torch
    except ImportError:
        raise SigmalabError(
            f"sl.doctor.watch needs PyTorch, which is not installed: {INSTALL_HINT}"
        ) from None
    return torch


class TorchDoctor:
    """Watches a PyTorch training loop and diagnoses it with the sigmalab doctor's rules.

    Use it as ``with sl.doctor.watch(model, optimizer, loss_fn) as doctor:`` and call
    ``doctor.step(loss)`` after ``loss.backward()`` and before ``optimizer.step()``, and
    ``doctor.epoch_end(...)`` after each epoch (the curve rules, slow convergence and
    overfitting, read the epoch logs; ``doctor.diverged`` then says whether to stop, as
    sigmalab's doctor stops a run: once an epoch's loss is NaN/Inf; a loss that blew up but
    stayed finite trains on, so what the blow-up left, dead ReLU units, is measured too).
    ``loss_fn`` (the loss module the loop calls) shows the watch the targets its probes
    need; without it only the static checks and the loss-based rules run. When the block
    ends: ``findings`` (static and dynamic, most severe first, each remedy with a
    ``pytorch`` line), ``records`` and ``epochs`` (what the rules read), ``probes``,
    ``probe_seconds`` (the watch's own time) and ``train_seconds`` (the rest of the block).
    ``report()`` prints the findings.
    """

    def __init__(
        self,
        model,
        optimizer,
        loss_fn=None,
        probe_every: int | None = None,
        probe_size: int = 256,
        steps: int | None = None,
        overhead_budget: float = 0.03,
        static: bool = True,
    ) -> None:
        self._torch = _import_torch()
        nn = self._torch.nn
        if not isinstance(model, nn.Module):
            raise SigmalabError(
                f"watch: model must be a torch.nn.Module (received {type(model).__name__})"
            )
        if not isinstance(optimizer, self._torch.optim.Optimizer):
            raise SigmalabError(
                "watch: optimizer must be a torch.optim.Optimizer "
                f"(received {type(optimizer).__name__})"
            )
        if loss_fn is not None and not isinstance(loss_fn, nn.Module):
            raise SigmalabError(
                "watch: loss_fn must be the loss module the loop calls, such as "
                f"nn.BCEWithLogitsLoss() (received {type(loss_fn).__name__})"
            )
        optimized = {id(param) for group in optimizer.param_groups for param in group["params"]}
        owned = [id(param) for param in model.parameters()]
        if owned and optimized.isdisjoint(owned):
            # Nothing in the model would train; the findings would judge a frozen network.
            raise SigmalabError(
                "watch: the optimizer holds none of the model's parameters; build it from "
                "this model, such as torch.optim.SGD(model.parameters(), lr=0.1)"
            )
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self._explicit_every = (
            None if probe_every is None else check_int("probe_every", probe_every)
        )
        self.probe_size = check_int("probe_size", probe_size)
        self.total_steps = None if steps is None else check_int("steps", steps)
        self.overhead_budget = check_number(
            "overhead_budget", overhead_budget, low=0.0, high=1.0, low_open=True
        )
        self.static = check_bool("static", static)
        self.tree = ModuleTree()
        self.context: dict = {}
        self.records: list[ProbeRecord] = []
        self.epochs: list[EpochLog] = []
        self.findings: list[Finding] = []
        self.static_findings: list[Finding] = []
        self.diverged = False
        self.probes = 0
        self.probe_every: int | None = self._explicit_every
        self.probe_seconds = 0.0
        self.train_seconds = 0.0
        self.steps = 0
        self._batch = ProbeBatch(self._torch, self.probe_size)
        self._probe: TorchProbe | None = None
        self._flow = TensorFlow()
        self._trace_handles: list = []
        self._fill_handles: list = []
        self._tracing = True  # until the first step: the forward passes show the tree
        self._first_X: np.ndarray | None = None  # the first Linear's first input
        self._batch_rows = 0
        # The last forward pass taken with gradients, and the rows of its loss (input,
        # target, output shape per row), until ``step`` says that they were a training step's.
        self._pass_input = self._pass_output = None
        self._step_rows: tuple | None = None
        # id of an activation's output during the first pass -> (output, path, name)
        self._output_activation: dict[int, tuple] = {}
        # The losses of the steps since the last flush: floats when the loss lives on the
        # CPU (reading it costs less than keeping it), else detached device tensors.
        self._losses: list = []
        self._on_host = True
        self._setup_seconds = 0.0  # the checks before the first step, left out of both times
        self._flushed = 0  # steps whose losses were read
        self._epoch_losses: list[float] = []
        self._blowup_limit = -math.inf
        self._next_probe = 1
        self._due: tuple[int, dict] | None = None  # (step, weights before it) awaiting a probe
        self._queued: list[tuple] = []  # probes taken before the probe batch was complete
        # Where the first non-finite loss came from: (step, NonFiniteRecord or None), found
        # once per run, at the step itself when the loss lives on the CPU.
        self._nonfinite: tuple[int, dict | None] | None = None
        self._start = 0.0
        self._state = "new"  # then "running" (inside the block), then "ended"
        self._last_loss: weakref.ref | None = None

    # ---- the context manager -----------------------------------------------------------
    def __enter__(self) -> TorchDoctor:
        self.attach()
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        self.close()
        if exc_type is None and self.steps == 0 and not self.epochs:
            # Even the static checks run at the first step: 'no problems' would be a guess.
            raise SigmalabError(
                "watch: the block ended without a doctor.step(loss), so nothing was "
                "measured; call it after loss.backward(), before optimizer.step()"
            )

    def attach(self) -> None:
        """Register the hooks of the first steps (``with watch(...)`` does this)."""
        if self._state != "new":
            # A second block would hook the model twice and mix two runs in one diagnosis.
            raise SigmalabError(
                "watch: a watch follows one run and has already been entered; "
                "start a new sl.doctor.watch(...) for another"
            )
        self._state = "running"
        model = self.model
        self._fill_handles += [
            model.register_forward_pre_hook(self._on_model_input),
            model.register_forward_hook(self._on_model_output),
        ]
        if self.loss_fn is not None:
            self._fill_handles.append(self.loss_fn.register_forward_hook(self._on_loss))
        for path, module in model.named_modules():
            kind = module_kind(module)
            if kind is not None:
                hook = partial(self._on_module, path, kind)
                self._trace_handles.append(module.register_forward_hook(hook))
        self._start = time.perf_counter()

    def close(self) -> None:
        """Remove the hooks, take the last probe and diagnose the run (the end of the block)."""
        if self._state != "running":
            return
        self._state = "ended"
        start = time.perf_counter()
        self._remove(self._trace_handles)
        self._catch_up(batch_complete=True)
        self.probe_seconds += time.perf_counter() - start
        elapsed = time.perf_counter() - self._start
        self.train_seconds = elapsed - self.probe_seconds - self._setup_seconds
        if self.context.get("loss") == "mse" and self._batch.y is not None:
            targets = self._batch.y.detach().cpu().double().numpy()  # NumPy has no bfloat16
            self.context["target_variance"] = target_variance(targets)
        dynamic = diagnose_records(self.records, self.epochs, self.context)
        found = without_symptoms([*self.static_findings, *dynamic])
        self.findings = [in_pytorch_terms(finding, self.context) for finding in found]

    # ---- the user's calls --------------------------------------------------------------
    def step(self, loss) -> None:
        """Record a step: call after ``loss.backward()``, before ``optimizer.step()``."""
        start = time.perf_counter()
        self._check_running("step")
        self._check_one_number("step", "loss", loss)
        if isinstance(loss, self._torch.Tensor):
            if self._last_loss is not None and self._last_loss() is loss:
                raise SigmalabError(
                    "step: this loss was already stepped; call doctor.step(loss) once per "
                    "batch (the schedule and the loss curve count the calls)"
                )
            self._last_loss = weakref.ref(loss)  # a weak one: no graph is kept alive
        self._keep_step_rows()
        if self._due is not None or (self._batch.complete and (self._queued or self._fill_handles)):
            self._catch_up()
        self.steps += 1
        if self.steps == 1:
            setup = time.perf_counter()
            self._begin(loss)
            self._setup_seconds = time.perf_counter() - setup
            start += self._setup_seconds
        if self._on_host:
            self._losses.append(loss.item() if isinstance(loss, self._torch.Tensor) else loss)
        else:
            self._losses.append(loss.detach())
        # An accelerator's losses are read in one transfer per flush, except the first: a
        # NaN from the very first forward pass (log or sqrt of negative inputs) is located
        # there too, before optimizer.step(), while the weights are those that made it.
        if self._nonfinite is None and (self._on_host or self.steps == 1):
            value = self._losses[-1] if self._on_host else loss.item()
            if not math.isfinite(value):
                self._locate_nonfinite(self.steps)
        if self.steps == self._next_probe:
            weights = self._probe.weights() if self._probe is not None else {}
            self._due = (self.steps, weights)
        self.probe_seconds += time.perf_counter() - start

    def epoch_end(
        self,
        loss: float | None = None,
        accuracy: float | None = None,
        val_loss: float | None = None,
        val_accuracy: float | None = None,
    ) -> None:
        """Close an epoch; ``loss`` defaults to the mean of its step losses."""
        start = time.perf_counter()
        self._check_running("epoch_end")
        metrics = ("loss", loss), ("accuracy", accuracy), ("val_loss", val_loss)
        for name, value in (*metrics, ("val_accuracy", val_accuracy)):
            if value is not None:
                self._check_one_number("epoch_end", name, value)
        self._catch_up(batch_complete=True)  # the first epoch has shown every sample
        if loss is None and not self._epoch_losses:
            raise SigmalabError(
                "epoch_end: pass loss=..., or call doctor.step(loss) in the epoch first "
                "(received no loss and no step since the last epoch)"
            )
        log: EpochLog = {
            "epoch": len(self.epochs),
            "loss": float(np.mean(self._epoch_losses)) if loss is None else float(loss),
        }
        for key, value in (
            ("accuracy", accuracy),
            ("val_loss", val_loss),
            ("val_accuracy", val_accuracy),
        ):
            if value is not None:
                log[key] = float(value)
        self.epochs.append(log)
        self._epoch_losses = []
        # As sigmalab's doctor stops: only a NaN/Inf loss ends the run, since nothing more
        # can be learned from it; a finite blow-up trains on, so the units it killed show.
        self.diverged = self.diverged or not math.isfinite(log["loss"])
        self.probe_seconds += time.perf_counter() - start

    def report(self, html: str | None = None, console=None) -> None:
        """Print the findings (``sl.doctor.render``); with ``html``, also save them there."""
        from rich.console import Console

        if self._state != "ended":
            raise SigmalabError(
                "report: the run has not been diagnosed yet; call doctor.report() after "
                "the `with sl.doctor.watch(...) as doctor:` block"
            )
        if html is not None:
            if not isinstance(html, str | os.PathLike):
                raise SigmalabError(
                    f"report: html must be a file path (received {type(html).__name__} {html!r})"
                )
            check_writable(Path(html), "report: html")
        console = console or Console(record=html is not None)
        render(self.findings, console)
        reason = self.unprobed_reason()
        if reason is not None:
            console.print(
                f"No probe was taken: {reason}; these findings come from the static checks "
                "and the losses alone."
            )
        if html is not None:
            try:
                atomic_write_bytes(html, console.export_html().encode())
            except OSError as error:
                raise SigmalabError(
                    f"report: html: cannot write {html}: {error.strerror or error}"
                ) from None

    def unprobed_reason(self) -> str | None:
        """Why the run got no probe (so 'no problems' is not read as a clean bill of
        health); None when it got one."""
        if self.probes:
            return None
        if self.loss_fn is None:
            return "no loss_fn was given, so the targets are unknown"
        if not self.tree.dense():
            return "the model ran no nn.Linear, the layer the probes measure"
        return (
            "no batch reached the loss as model(X) of one input tensor "
            "followed by doctor.step(loss)"
        )

    def to_dict(self) -> dict:
        """JSON-safe summary: findings, number of probes, the interval, the measured overhead."""
        return watch_summary(
            self.findings, self.probes, self.probe_every, self.probe_seconds, self.train_seconds
        )

    # ---- schedule and probes -----------------------------------------------------------
    def _begin(self, loss) -> None:
        """At the first step: the static checks, the probe and the schedule."""
        self._on_host = not isinstance(loss, self._torch.Tensor) or loss.device.type == "cpu"
        self._tracing = False
        self._remove(self._trace_handles)
        self._output_activation.clear()
        self._flow.clear()
        self.context = torch_context(self.tree, self.optimizer, self.loss_fn, self._first_X)
        if self.static:
            self.static_findings = check_torch_static(self.tree, self._first_X, self.context)
        if self.loss_fn is None:
            self._batch.close()
            self._remove(self._fill_handles)
        elif self.tree.dense():
            self._probe = TorchProbe(self._torch, self.model, self.loss_fn, self.tree, self.context)
        if self._explicit_every is None and self.total_steps is not None:
            self.probe_every = min(self._budgeted(), max(1, self.total_steps // MIN_PROBES))

    def _budgeted(self) -> int:
        """The interval at which probes cost ``overhead_budget`` of the training work."""
        return default_probe_interval(
            self.probe_size, max(self._batch_rows, 1), self.overhead_budget
        )

    def _gap(self, step: int) -> int:
        """Steps from the probe at ``step`` to the next: ``probe_every`` when set or derived
        from ``steps``, else half the steps so far, at least the steps that feed a probe
        batch's worth of samples and at most the budgeted interval."""
        if self.probe_every is not None:
            return self.probe_every
        window = math.ceil(self.probe_size / max(self._batch_rows, 1))
        return min(self._budgeted(), max(window, step // GAP_DIVISOR))

    def _catch_up(self, batch_complete: bool = False) -> None:
        """Take the probe due after the last step (the weights are now those after it), and
        the queued ones once the probe batch is complete; read the losses up to now."""
        if batch_complete and not self._batch.complete:
            self._batch.close()
        if self._batch.complete and self._fill_handles:
            self._remove(self._fill_handles)
        if self._due is not None:
            step, previous = self._due
            self._due = None
            self._flush()
            self._next_probe = step + self._gap(step)
            if self._probe is not None:
                state = None if self._batch.complete else self._probe.state()
                self._queued.append((step, len(self.epochs), previous, state))
        if self._queued and self._batch.complete:
            queued, self._queued = self._queued, []
            if self._batch.X is not None:
                for step, epoch, previous, state in queued:
                    self._take_probe(step, epoch, previous, state)
                self.records.sort(key=lambda record: (record["step"], bool(record["layers"])))
        self._flush()

    def _take_probe(self, step: int, epoch: int, previous: dict, state: dict | None) -> None:
        record = self._probe(self._batch, step, epoch, previous, state)
        if not record["finite"]:
            self._attach_nonfinite(record, state)
        self.records.append(record)
        self.probes += 1
        if self.probes == 1 and math.isfinite(record["loss"]):
            # rules.divergence judges batch losses against the larger of the first batch
            # loss and the first probe loss: only losses above that need recording.
            self._blowup_limit = max(self._blowup_limit, blowup_limit(record["loss"]))

    def _flush(self) -> None:
        """Read the losses of the steps since the last flush (one transfer) into records."""
        if not self._losses:
            return
        if self._on_host:
            values = list(map(float, self._losses))
        else:  # one transfer for all the steps
            values = self._torch.stack([loss.reshape(()) for loss in self._losses]).tolist()
        self._losses = []
        for value in values:
            self._flushed += 1
            step = self._flushed
            self._epoch_losses.append(value)
            if step == 1:
                self._blowup_limit = blowup_limit(value) if math.isfinite(value) else math.inf
            elif value <= self._blowup_limit:
                continue
            record: ProbeRecord = {
                "step": step,
                "epoch": len(self.epochs),
                "loss": value,
                "layers": [],
            }
            if not math.isfinite(value):
                self._attach_nonfinite(record)
            self.records.append(record)

    def _locate_nonfinite(self, step: int, state: dict | None = None) -> None:
        """Find, once per run, which module made the values of ``step`` non-finite (on the
        model as it is now, or on ``state``, the copy a queued probe took of it)."""
        held = self._batch.held()
        found = None
        if self._probe is not None and held is not None:
            found = self._probe.locate_nonfinite(held, state)
        self._nonfinite = (step, found)
        if found is not None and found["stage"] == "activation":
            # No torch.nn class named that Linear's activation (a user's module): now it
            # is known, so no remedy takes the Linear for one without an activation.
            entry = self.context["layers"][found["index"]]
            if not entry.get("activation_path"):
                entry["activation"] = found["activation"]

    def _attach_nonfinite(self, record: ProbeRecord, state: dict | None = None) -> None:
        """Give the run's first non-finite record its ``first_nonfinite``; a loss read from
        an accelerator is located now, when the weights may have moved on since."""
        if self._nonfinite is None:
            self._locate_nonfinite(record["step"], state)
        step, found = self._nonfinite
        if step == record["step"] and found is not None:
            record["first_nonfinite"] = found

    def _check_running(self, method: str) -> None:
        """``step`` and ``epoch_end`` count only inside the block: outside it no hook sees
        the model, so the report would say 'no problems' of a run it never measured."""
        if self._state == "running":
            return
        where = "has ended" if self._state == "ended" else "has not started"
        raise SigmalabError(
            f"{method}: the watch {where}; call it inside "
            "`with sl.doctor.watch(model, optimizer, loss_fn) as doctor:`"
        )

    def _check_one_number(self, method: str, name: str, value) -> None:
        """A loss or metric is one number: a float (NaN and inf included: they are evidence)
        or a tensor of one element; anything else would fail deep inside the bookkeeping."""
        if isinstance(value, self._torch.Tensor):
            if value.numel() == 1 and not value.is_complex():
                return
            raise SigmalabError(
                f"{method}: {name} must be one number, such as the loss tensor of the batch "
                f"(received a tensor of shape {tuple(value.shape)})"
            )
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise SigmalabError(
                f"{method}: {name} must be a number or a tensor of one element "
                f"(received {type(value).__name__} {value!r})"
            )

    @staticmethod
    def _remove(handles: list) -> None:
        for handle in handles:
            handle.remove()
        handles.clear()

    # ---- hooks -------------------------------------------------------------------------
    def _on_model_input(self, module, args) -> None:
        self._flow.clear()
        self._pass_input = None
        if len(args) != 1 or not isinstance(args[0], self._torch.Tensor):
            return  # the probe replays model(X): a pass of other inputs cannot be replayed
        if self._torch.is_grad_enabled():  # under no_grad no step can follow
            self._pass_input = args[0]

    def _on_model_output(self, module, args, output) -> None:
        self._pass_output = output if self._pass_input is not None else None
        if self._tracing and isinstance(output, self._torch.Tensor):
            activation = self._output_activation.get(id(output))
            self.tree.output_activation = None if activation is None else activation[1:]

    def _on_loss(self, module, args, output) -> None:
        """Note the rows (input and target) of a loss taken with gradients: the probe batch
        keeps them if ``step`` comes next. Whether the model is in training mode says
        nothing (to_torch() returns its module in eval mode, and a loop may train it so);
        that the loop steps after the loss is what makes the pass a training one."""
        start = time.perf_counter()
        output, torch = self._pass_output, self._torch
        if (
            len(args) >= 2
            and output is not None
            and isinstance(args[0], torch.Tensor)
            and isinstance(args[1], torch.Tensor)
        ):
            keys = self._output_keys(output, args[0])
            if len(keys) == 1:
                self._step_rows = (self._pass_input, args[1], tuple(args[0].shape[1:]), keys[0])
        self._pass_input = self._pass_output = None
        self.probe_seconds += time.perf_counter() - start

    def _output_keys(self, output, given) -> list:
        """Where in the model's output the loss's input lies: ``[None]`` for the output
        itself, ``[i]`` or ``[key]`` for a part of a tuple, list or dict. The loop may
        reshape it for its loss (``model(X).squeeze(1)``): a tensor with the same rows and
        elements is taken for it, and the probe reshapes alike. Several candidates and no
        identical one (``(logits, probabilities)`` reshaped): ambiguous, so no probe."""
        torch = self._torch
        if isinstance(output, torch.Tensor):
            parts = [(None, output)]
        elif isinstance(output, tuple | list):
            parts = list(enumerate(output))
        elif isinstance(output, dict):
            parts = list(output.items())
        else:
            return []
        parts = [(key, part) for key, part in parts if isinstance(part, torch.Tensor)]
        same = [key for key, part in parts if part is given]
        return same or [
            key
            for key, part in parts
            if part.shape[:1] == given.shape[:1] and part.numel() == given.numel()
        ]

    def _keep_step_rows(self) -> None:
        """The loss this step follows was a training batch's: its rows feed the probe batch."""
        if self._step_rows is None:
            return
        X, y, output_shape, output_key = self._step_rows
        self._step_rows = None
        if not self._batch_rows:
            self._batch_rows = X.shape[0]
        self._batch.add(X, y, output_shape, output_key)

    def _on_module(self, path: str, kind: str, module, args, output) -> None:
        """The first forward pass: learn the layers and how tensors flow between them."""
        if not self._tracing or not args:
            return
        x = args[0]
        if not isinstance(x, self._torch.Tensor) or not isinstance(output, self._torch.Tensor):
            return
        if kind == "dense":
            if self._first_X is None:
                # The features the first weights see, after any preprocessing the model
                # does itself (to_torch()'s standardisation), as sigmalab checks its own.
                self._first_X = x.detach().reshape(-1, x.shape[-1]).cpu().double().numpy()
            self.tree.saw(path, "dense", module)
            source = self._flow.source(x)
            if source is not None:
                self.tree.missing.append((source, path))
            self._flow.add(output, path)
        elif kind == "activation":
            source = self._flow.source(x)
            self._flow.consume(output)
            name = activation_name(module)
            if source is not None:
                layer = self.tree.layer(source)
                layer.activation, layer.activation_path = name, path
            self._output_activation[id(output)] = (output, path, name)
        else:
            if kind != "identity":
                self.tree.saw(path, kind, module)
            self._flow.pass_through(x, output)


def watch(model, optimizer, loss_fn=None, **options) -> TorchDoctor:
    """A TorchDoctor for a PyTorch ``model`` and ``optimizer`` (use it as a context manager).

    ``loss_fn`` (the loss module the loop calls, such as ``nn.BCEWithLogitsLoss()``) shows
    the watch the targets its probes need and lets the static checks see an output
    activation the loss already applies. ``options``: ``steps`` (the loop's optimizer steps,
    when known: probes then come as sigmalab's doctor spaces them, at least 8 per run),
    ``probe_every`` (steps between probes), ``probe_size`` (samples in the probe batch,
    256), ``overhead_budget`` (0.03) and ``static`` (the checks before the first step).
    """
    for name in options:
        if name not in OPTIONS:
            raise unknown_name("watch option", name, OPTIONS)
    return TorchDoctor(model, optimizer, loss_fn, **options)
