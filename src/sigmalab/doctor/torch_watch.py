"""The doctor in a PyTorch training loop: ``sl.doctor.watch(model, optimizer)``.

Hooks on the model turn what PyTorch computes anyway into the doctor's probe records
(:mod:`.records`), which the sigmalab rules then diagnose unchanged. The watch measures
the live batches instead of a fixed probe batch: in the user's loop it sees only the loss,
not the targets, and a pass of its own would draw dropout masks and move BatchNorm's
running statistics, changing the training it watches. A probe is therefore a *window* of
consecutive training steps that together hold ``probe_size`` samples (256, the size of
sigmalab's probe batch): the error, dead and saturated units are measured over the
window's samples, the gradient and weight norms and the update ratio at its last step, and
its loss is the mean of its batch losses. Outside the windows the hooks return at once.

torch is imported only when a watch starts, so ``import sigmalab`` stays light.
"""

from __future__ import annotations

import math
import time
from functools import partial

import numpy as np

from ..activations import RELU, SATURATING
from ..errors import SigmalabError
from ..validation import check_int
from .findings import Finding
from .probes import ACTIVE_OUTPUT_RANGE, SATURATED_SAMPLE_SHARE, SATURATED_Z
from .records import EpochLog, LayerRecord, ProbeRecord
from .report import render
from .rules import blowup_limit, diagnose_records, without_symptoms
from .torch_modules import (
    ModuleTree,
    TensorFlow,
    activation_family,
    activation_name,
    module_kind,
)
from .torch_remedies import in_pytorch_terms
from .torch_static import check_torch_static, torch_context

INSTALL_HINT = "pip install 'sigmalab[torch]'"
# By default the gap between probes is this share of the steps so far (and at least one
# window): probes come at 1, 2, 3, 4.5, 6.75... windows, so a run of T steps gets about
# log(T / window) / log(1.5) probes, and their cost is a falling share of a long run.
GAP_DIVISOR = 2


def _import_torch():
    try:
        import torch
    except ImportError:
        raise SigmalabError(
            f"sl.doctor.watch needs PyTorch, which is not installed: {INSTALL_HINT}"
        ) from None
    return torch


class _Window:
    """One Linear layer's sums over the samples of the current probe window."""

    def __init__(self) -> None:
        self.error_sq = 0.0  # sum over samples of |e_i|^2, e_i = n * dLoss/dz_i
        self.rows = 0
        self.active = None  # per unit: active on some sample (ReLU family)
        self.flat = None  # per unit: samples on a flat end (saturating family)
        self.activation_rows = 0

    def add_activity(self, name: str, z, a) -> None:
        """Count one batch's active (ReLU) or saturated (sigmoid, tanh) units, as probes.py
        does: from the activation's output, or its input where no output range is known."""
        family = activation_family(name)
        z, a = z.reshape(-1, z.shape[-1]), a.reshape(-1, a.shape[-1])
        if family == RELU:  # a > 0 exactly where z > 0, even after an in-place ReLU
            active = (a > 0).any(0)
            self.active = active if self.active is None else self.active | active
        elif family == SATURATING:
            if name in ACTIVE_OUTPUT_RANGE:
                low, high = ACTIVE_OUTPUT_RANGE[name]
                flat = ((a <= low) | (a >= high)).sum(0)
            else:
                flat = (z.abs() > SATURATED_Z).sum(0)
            self.flat = flat if self.flat is None else self.flat + flat
        self.activation_rows += a.shape[0]

    def dead_fraction(self) -> float | None:
        """Share of units active on no sample of the window; None if none were counted."""
        if self.active is None or not self.activation_rows:
            return None
        return float((~self.active).float().mean())

    def saturated_fraction(self) -> float | None:
        """Share of units on a flat end for >= 90 % of the window's samples, or None."""
        if self.flat is None or not self.activation_rows:
            return None
        saturated = self.flat >= SATURATED_SAMPLE_SHARE * self.activation_rows
        return float(saturated.float().mean())


class TorchDoctor:
    """Watches a PyTorch training loop and diagnoses it with the sigmalab doctor's rules.

    Use it as ``with sl.doctor.watch(model, optimizer) as doctor:`` and call
    ``doctor.step(loss)`` after ``loss.backward()`` and before ``optimizer.step()``;
    optionally ``doctor.epoch_end(val_loss=..., ...)`` after each epoch (the curve rules,
    slow convergence and overfitting, read the epoch logs). When the block ends:
    ``findings`` (static and dynamic, most severe first, each remedy with a ``pytorch``
    line), ``records`` and ``epochs`` (what the rules read), ``probes``, ``probe_seconds``
    (the watch's own time: hooks while measuring, ``step``, the probes) and
    ``train_seconds`` (the rest of the loop). ``report()`` prints the findings.
    """

    def __init__(
        self,
        model,
        optimizer,
        loss_fn=None,
        probe_every: int | None = None,
        probe_size: int = 256,
        static: bool = True,
    ) -> None:
        self._torch = _import_torch()
        if not isinstance(model, self._torch.nn.Module):
            raise SigmalabError(
                f"watch: model must be a torch.nn.Module (received {type(model).__name__})"
            )
        if not isinstance(optimizer, self._torch.optim.Optimizer):
            raise SigmalabError(
                "watch: optimizer must be a torch.optim.Optimizer "
                f"(received {type(optimizer).__name__})"
            )
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self._explicit_every = (
            None if probe_every is None else check_int("probe_every", probe_every)
        )
        self.probe_size = check_int("probe_size", probe_size)
        self.static = bool(static)
        self.tree = ModuleTree()
        self.context: dict = {}
        self.records: list[ProbeRecord] = []
        self.epochs: list[EpochLog] = []
        self.findings: list[Finding] = []
        self.static_findings: list[Finding] = []
        self.probes = 0
        self.probe_seconds = 0.0
        self.train_seconds = 0.0
        self.steps = 0
        self._flow = TensorFlow()
        self._handles: list = []
        self._tracing = True  # the first forward pass: learn the tree
        self._armed = True  # inside a probe window (the first one starts at step 1)
        self._first_X: np.ndarray | None = None
        # id of an activation's output during the first pass -> (output, path, name)
        self._output_activation: dict[int, tuple] = {}
        self._batch_rows = 0
        self._windows: dict[str, _Window] = {}
        self._window_losses: list[float] = []
        self._window = 1
        self._next_probe = 1
        self._previous_weights: dict[str, object] = {}
        self._epoch_losses: list[float] = []
        self._blowup_limit = -math.inf
        self._start = 0.0

    # ---- the context manager -----------------------------------------------------------
    def __enter__(self) -> TorchDoctor:
        self.attach()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def attach(self) -> None:
        """Register the hooks (``with watch(...)`` does this)."""
        model = self.model
        self._handles.append(model.register_forward_pre_hook(self._on_model_input))
        self._handles.append(model.register_forward_hook(self._on_model_output))
        for path, module in model.named_modules():
            kind = module_kind(module)
            if kind is not None:
                hook = partial(self._on_module, path, kind)
                self._handles.append(module.register_forward_hook(hook))
        self._start = time.perf_counter()

    def close(self) -> None:
        """Remove the hooks and diagnose the run (the end of the ``with`` block does this)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._flow.clear()
        self.train_seconds = time.perf_counter() - self._start - self.probe_seconds
        dynamic = diagnose_records(self.records, self.epochs, self.context)
        found = without_symptoms([*self.static_findings, *dynamic])
        self.findings = [in_pytorch_terms(finding, self.context) for finding in found]

    # ---- the user's calls --------------------------------------------------------------
    def step(self, loss) -> None:
        """Record a step: call after ``loss.backward()``, before ``optimizer.step()``."""
        start = time.perf_counter()
        self.steps += 1
        step = self.steps
        value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
        self._epoch_losses.append(value)
        if step == 1:
            self._begin()
            self.records.append({"step": 1, "epoch": len(self.epochs), "loss": value, "layers": []})
            self._blowup_limit = blowup_limit(value) if math.isfinite(value) else math.inf
        elif not value <= self._blowup_limit:  # NaN, Inf or above the limit
            self.records.append(
                {"step": step, "epoch": len(self.epochs), "loss": value, "layers": []}
            )
        if self._armed:
            self._window_losses.append(value)
        if step == self._next_probe - 1:
            self._previous_weights = {
                layer.path: layer.module.weight.detach().clone() for layer in self.tree.dense()
            }
        if step == self._next_probe:
            self._probe(step)
        self._armed = self._next_probe - self._window < step + 1 <= self._next_probe
        self._flow.clear()
        self.probe_seconds += time.perf_counter() - start

    def epoch_end(
        self,
        loss: float | None = None,
        accuracy: float | None = None,
        val_loss: float | None = None,
        val_accuracy: float | None = None,
    ) -> None:
        """Close an epoch; ``loss`` defaults to the mean of its step losses."""
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

    def report(self, html: str | None = None, console=None) -> None:
        """Print the findings (``sl.doctor.render``); with ``html``, also save them there."""
        from rich.console import Console

        console = console or Console(record=html is not None)
        render(self.findings, console)
        if html is not None:
            console.save_html(html)

    def to_dict(self) -> dict:
        """JSON-safe summary: findings, number of probes, the interval, the measured overhead."""
        overhead = self.probe_seconds / self.train_seconds if self.train_seconds else 0.0
        return {
            "findings": [finding.to_dict() for finding in self.findings],
            "probes": self.probes,
            "probe_every": self._explicit_every,
            "overhead": overhead,
        }

    # ---- schedule and probes -----------------------------------------------------------
    def _begin(self) -> None:
        """After the first step: the static checks, the window length and the schedule."""
        self._tracing = False
        self._output_activation.clear()
        self.context = torch_context(self.tree, self.optimizer, self.loss_fn, self._first_X)
        if self.static:
            self.static_findings = check_torch_static(self.tree, self._first_X, self.context)
        rows = max(self._batch_rows, 1)
        self._window = max(1, math.ceil(self.probe_size / rows))
        if self._explicit_every is not None:
            self._window = min(self._window, self._explicit_every)
        self._next_probe = self._window

    def _probe(self, step: int) -> None:
        dense = self.tree.dense()
        layers = [self._layer_record(layer, layer is dense[-1]) for layer in dense]
        loss = float(np.mean(self._window_losses))
        self.records.append(
            {
                "step": step,
                "epoch": len(self.epochs),
                "loss": loss,
                "finite": math.isfinite(loss) and all(entry["finite"] for entry in layers),
                "layers": layers,
            }
        )
        self.probes += 1
        if self.probes == 1 and math.isfinite(loss):
            self._blowup_limit = max(self._blowup_limit, blowup_limit(loss))
        self._windows, self._window_losses, self._previous_weights = {}, [], {}
        self._next_probe = step + self._gap(step)

    def _gap(self, step: int) -> int:
        """Steps from this probe to the next: ``probe_every`` if given, else half the steps
        so far, at least one window.

        The loop's length is unknown (sigmalab's schedule knows it), so the default spaces
        probes by the steps so far: a short run still gets several probes, and a long
        run's probes cost an ever smaller share of its steps.
        """
        if self._explicit_every is not None:
            return self._explicit_every
        return max(self._window, step // GAP_DIVISOR)

    def _layer_record(self, layer, output: bool) -> LayerRecord:
        entry = self.context["layers"][layer.index]
        window = self._windows.get(layer.path, _Window())
        weight = layer.module.weight.detach()
        grad = layer.module.weight.grad
        weight_norm = float(weight.norm())
        error = math.sqrt(float(window.error_sq) / window.rows) if window.rows else math.nan
        record: LayerRecord = {
            "index": layer.index,
            "name": layer.name,
            "family": entry["family"],
            "output": output,
            "error": error,
            "grad_norm": 0.0 if grad is None else float(grad.detach().norm()),
            "weight_norm": weight_norm,
            "update_ratio": None,
            "dead_fraction": window.dead_fraction() if entry["family"] == RELU else None,
            "saturated_fraction": (
                window.saturated_fraction() if entry["family"] == SATURATING else None
            ),
            "finite": True,
        }
        previous = self._previous_weights.get(layer.path)
        if previous is not None and weight_norm > 0:
            record["update_ratio"] = float((weight - previous).norm()) / weight_norm
        measured = (error if window.rows else 0.0, record["grad_norm"], weight_norm)
        record["finite"] = all(map(math.isfinite, measured))
        return record

    # ---- hooks -------------------------------------------------------------------------
    def _training_pass(self) -> bool:
        """Whether a forward pass is a training step's (not an evaluation under no_grad)."""
        return self._torch.is_grad_enabled() and self.model.training

    def _on_model_input(self, module, args) -> None:
        self._flow.clear()
        if not args or not isinstance(args[0], self._torch.Tensor):
            return
        X = args[0]
        if self._tracing and self._first_X is None and X.dim() == 2:
            self._first_X = X.detach().cpu().double().numpy()
        if self._training_pass() and not self._batch_rows:
            self._batch_rows = X.shape[0]

    def _on_model_output(self, module, args, output) -> None:
        if self._tracing and isinstance(output, self._torch.Tensor):
            activation = self._output_activation.get(id(output))
            self.tree.output_activation = None if activation is None else activation[1:]

    def _on_module(self, path: str, kind: str, module, args, output) -> None:
        if not (self._tracing or self._armed) or not args:
            return
        x = args[0]
        if not isinstance(x, self._torch.Tensor) or not isinstance(output, self._torch.Tensor):
            return
        start = time.perf_counter()
        measure = self._armed and self._training_pass()  # asked before no_grad below
        with self._torch.no_grad():
            if kind == "dense":
                self._on_linear(path, module, x, output, measure)
            elif kind == "activation":
                self._on_activation(path, module, x, output, measure)
            else:
                if self._tracing and kind != "identity":
                    self.tree.saw(path, kind, module)
                self._flow.pass_through(x, output)
        if not self._tracing:
            self.probe_seconds += time.perf_counter() - start

    def _on_linear(self, path: str, module, x, output, measure: bool) -> None:
        if self._tracing:
            self.tree.saw(path, "dense", module)
            source = self._flow.source(x)
            if source is not None:
                self.tree.missing.append((source, path))
        self._flow.add(output, path)
        if measure and output.requires_grad:
            rows = output.reshape(-1, output.shape[-1]).shape[0]
            window = self._windows.setdefault(path, _Window())
            output.register_hook(partial(self._on_linear_grad, window, rows))

    def _on_linear_grad(self, window: _Window, rows: int, grad) -> None:
        start = time.perf_counter()
        with self._torch.no_grad():
            window.error_sq = window.error_sq + (grad * rows).square().sum()
        window.rows += rows
        self.probe_seconds += time.perf_counter() - start

    def _on_activation(self, path: str, module, x, output, measure: bool) -> None:
        source = self._flow.source(x)
        self._flow.consume(output)
        name = activation_name(module)
        if self._tracing:
            if source is not None:
                layer = self.tree.layer(source)
                layer.activation, layer.activation_path = name, path
            self._output_activation[id(output)] = (output, path, name)
        if measure and source is not None:
            self._windows.setdefault(source, _Window()).add_activity(name, x, output)


def watch(model, optimizer, loss_fn=None, **options) -> TorchDoctor:
    """A TorchDoctor for a PyTorch ``model`` and ``optimizer`` (use it as a context manager).

    ``loss_fn`` (the loss module, such as ``nn.BCEWithLogitsLoss()``) lets the static checks
    see an output activation the loss already applies. ``options``: ``probe_every`` (steps
    between probes; by default the first windows follow each other, then the gap grows to
    an eighth of the steps so far), ``probe_size`` (samples per window, 256) and ``static``
    (run the checks before the first step, True).
    """
    return TorchDoctor(model, optimizer, loss_fn, **options)
