"""A PyTorch model measured on a fixed batch in inference mode: :class:`.probes.Probe`'s twin.

The batch is the first ``size`` training samples the loop feeds (the model's input and the
loss module's target), or every sample of the first epoch when it holds fewer: for a
training set of up to 256 samples, the very samples sigmalab's probe takes. The pass runs
with every module in eval mode (no dropout draw, no BatchNorm running-statistics update)
and takes its gradients with ``torch.autograd.grad``, so the parameters' ``.grad`` and the
training it watches stay untouched, and the records hold the statistics sigmalab's probe
measures: the rules' thresholds mean the same in both frameworks.

The probe's hook exists only while its own forward pass runs; once the batch is filled
(the loop's first steps), the user's steps run hook-free. The same holds for the one pass
that finds where the first non-finite loss came from (``locate_nonfinite``).

A probe of a small network costs about as much as a few training steps, most of it per
tensor operation and per module rather than per number, so the probe keeps those few: one
global forward hook for its pass instead of one per module, the activations' names and
families looked up once, ``torch.linalg.vector_norm`` called directly (what
``Tensor.norm()`` calls after its argument handling), and on the CPU the record's numbers
read one by one (``item`` costs less there than stacking them into one tensor).
"""

from __future__ import annotations

import math
from functools import partial

from ..activations import RELU, SATURATING
from .probes import ACTIVE_OUTPUT_RANGE, SATURATED_SAMPLE_SHARE, SATURATED_Z
from .records import LayerRecord, NonFiniteRecord, ProbeRecord
from .torch_modules import (
    ModuleTree,
    TensorFlow,
    activation_family,
    activation_name,
    module_kind,
    module_label,
)

# Per Linear layer a probe reads five numbers (see TorchProbe._layer_values).
VALUES = 5


class ProbeBatch:
    """The fixed probe batch, filled from the loop's first training batches."""

    def __init__(self, torch, size: int) -> None:
        self._torch = torch
        self.size = size
        self._X: list = []
        self._y: list = []
        self.rows = 0
        self.complete = False
        self.X = self.y = None
        self.output_shape: tuple | None = None  # per row, as the loss receives the output
        self.output_key = None  # the loss's part of a tuple, list or dict output; None: all

    def add(self, X, y, output_shape: tuple, output_key=None) -> None:
        """Keep copies of a training batch's rows until ``size`` rows are held."""
        take = min(self.size - self.rows, X.shape[0])
        if take <= 0 or y.shape[:1] != X.shape[:1]:
            return
        self.output_shape, self.output_key = output_shape, output_key
        self._X.append(X[:take].detach().clone())
        self._y.append(y[:take].detach().clone())
        self.rows += take
        if self.rows >= self.size:
            self.close()

    def held(self):
        """The inputs held so far (all of them once complete); None before any."""
        if self.complete:
            return self.X
        return self._torch.cat(self._X) if self._X else None

    def close(self) -> None:
        """Stop filling (full, or an epoch ended): join the rows into one batch."""
        if self.complete:
            return
        self.complete = True
        if self._X:
            self.X, self.y = self._torch.cat(self._X), self._torch.cat(self._y)
        self._X, self._y = [], []


class _Capture:
    """What one probe pass showed of a Linear layer: its output, weight and activation."""

    def __init__(self) -> None:
        self.z = None
        self.weight = None
        self.rows = self.units = 0
        # ReLU: units active on some sample; sigmoid/tanh: units saturated (0-d tensor)
        self.units_counted = None


class TorchProbe:
    """Measures the watched model on the probe batch; one record per call."""

    def __init__(self, torch, model, loss_fn, tree: ModuleTree, context: dict) -> None:
        self._torch = torch
        self.model, self.loss_fn, self.tree, self.context = model, loss_fn, tree, context
        self.dense = tree.dense()
        self._modules = [
            (path, module, module_kind(module))
            for path, module in model.named_modules()
            if module_kind(module) is not None
        ]
        # id of a watched module -> (its path, its kind, its activation's name and family)
        self._watched = {
            id(module): (path, kind, *_activation(module, kind))
            for path, module, kind in self._modules
        }
        self._captures: dict[str, _Capture] = {}
        self._flow = TensorFlow()
        self._in_place = any(getattr(module, "inplace", False) for _, module, _ in self._modules)
        self._nan = torch.tensor(math.nan)
        # Every module, switched to eval mode for the probe's pass and back after it. When
        # none has its own train() or __setattr__, eval() amounts to setting each module's
        # flag, which the probe then does directly: Module.__setattr__'s checks took a tenth
        # of a small network's probe.
        self._all_modules = list(model.modules())
        base = torch.nn.Module
        self._plain_modes = all(
            type(module).train is base.train and type(module).__setattr__ is base.__setattr__
            for module in self._all_modules
        )

    def weights(self) -> dict[str, object]:
        """A copy of each Linear's weight, for the next probe's update ratio."""
        return {layer.path: layer.module.weight.detach().clone() for layer in self.dense}

    def state(self) -> dict[str, object]:
        """A copy of every parameter and buffer: the model as it is now, for a later probe."""
        state = {
            name: param.detach().clone().requires_grad_(param.requires_grad)
            for name, param in self.model.named_parameters()
        }
        state.update((name, buffer.detach().clone()) for name, buffer in self.model.named_buffers())
        return state

    def __call__(
        self, batch: ProbeBatch, step: int, epoch: int, previous: dict, state: dict | None = None
    ) -> ProbeRecord:
        """The record of the model (or of ``state``, a copy taken earlier) at ``step``."""
        torch = self._torch
        self._captures = {layer.path: _Capture() for layer in self.dense}
        modes = [module.training for module in self._all_modules]
        handle = torch.nn.modules.module.register_module_forward_hook(self._on_module)
        try:
            if self._plain_modes:
                self._set_modes([False] * len(modes))
            else:
                self.model.eval()
            with torch.enable_grad():
                if state is None:
                    out = self.model(batch.X)
                else:
                    out = torch.func.functional_call(self.model, state, (batch.X,))
                if batch.output_key is not None:
                    out = out[batch.output_key]
                out = out.reshape(out.shape[0], *batch.output_shape)
                loss = self.loss_fn(out, batch.y)
                if loss.dim():  # reduction="none": the loop reduces it, by the mean mostly
                    loss = loss.mean()
                record = self._record(loss, step, epoch, previous)
        finally:
            handle.remove()
            self._set_modes(modes)
            self._flow.clear()
            self._captures = {}
        return record

    def _set_modes(self, modes: list[bool]) -> None:
        """Set each module's training flag (directly when no module has its own setter)."""
        setter = object.__setattr__ if self._plain_modes else setattr
        for module, training in zip(self._all_modules, modes, strict=True):
            setter(module, "training", training)

    def _record(self, loss, step: int, epoch: int, previous: dict) -> ProbeRecord:
        torch = self._torch
        captures = [self._captures[layer.path] for layer in self.dense]
        wanted = [c.z for c in captures if c.z is not None and c.z.requires_grad]
        wanted += [c.weight for c in captures if c.weight is not None and c.weight.requires_grad]
        grads = dict(
            zip(map(id, wanted), torch.autograd.grad(loss, wanted, allow_unused=True), strict=True)
        )
        on_cpu = loss.device.type == "cpu"
        nan = self._nan if on_cpu else torch.tensor(math.nan, device=loss.device)
        values = [loss.detach()]
        with torch.no_grad():
            for capture, layer in zip(captures, self.dense, strict=True):
                values += self._layer_values(capture, grads, previous.get(layer.path), nan)
        # On the CPU one item() per number costs less than a stack; elsewhere one transfer.
        numbers = [value.item() for value in values] if on_cpu else torch.stack(values).tolist()
        loss_value, layers = numbers[0], []
        for position, (capture, layer) in enumerate(zip(captures, self.dense, strict=True)):
            measured = numbers[1 + VALUES * position : 1 + VALUES * (position + 1)]
            layers.append(self._layer_record(layer, position, capture, *measured))
        return {
            "step": step,
            "epoch": epoch,
            "loss": loss_value,
            "finite": math.isfinite(loss_value) and all(entry["finite"] for entry in layers),
            "layers": layers,
        }

    def _layer_values(self, capture: _Capture, grads: dict, previous, nan) -> list:
        """|dLoss/dz|, |dW|, |W|, |W - W_before| and the count of active or saturated units,
        as 0-d tensors (the fewest tensor operations: each costs about as much as its
        arithmetic on a small network)."""
        z, weight = capture.z, capture.weight
        if z is None:
            return [nan] * VALUES
        dz, dw = grads.get(id(z)), grads.get(id(weight))
        norm = self._torch.linalg.vector_norm  # Tensor.norm() without its argument handling
        return [
            nan if dz is None else norm(dz),
            nan if dw is None else norm(dw),
            norm(weight),
            nan if previous is None else weight.dist(previous),
            nan if capture.units_counted is None else capture.units_counted,
        ]

    def _layer_record(
        self,
        layer,
        position: int,
        capture: _Capture,
        error: float,
        grad: float,
        weight: float,
        update: float,
        counted: float,
    ) -> LayerRecord:
        # delta = d(mean loss)/dz = e_i / n: sqrt(n) |delta| is the RMS of |e_i| (probes.py).
        error *= math.sqrt(capture.rows)
        family = self.context["layers"][layer.index]["family"]
        share = None if math.isnan(counted) else counted / capture.units
        return {
            "index": layer.index,
            "name": layer.name,
            "family": family,
            "output": position == len(self.dense) - 1,
            "error": error,
            "grad_norm": 0.0 if math.isnan(grad) else grad,
            "weight_norm": weight,
            "update_ratio": None if math.isnan(update) or weight <= 0 else update / weight,
            "dead_fraction": 1.0 - share if family == RELU and share is not None else None,
            "saturated_fraction": share if family == SATURATING else None,
            "finite": all(map(math.isfinite, (error, grad, weight))),
        }

    def locate_nonfinite(self, X, state: dict | None = None) -> NonFiniteRecord | None:
        """Where a forward pass on ``X`` (of the model, or of ``state``) first turns finite
        values into NaN/inf, as ``probes.Probe.locate_nonfinite`` says it for sigmalab; None
        if nowhere it can name. Asked once per run, when the loss first turns non-finite."""
        torch = self._torch
        watcher = _FirstNonFinite(torch, {layer.path: layer for layer in self.dense})
        modes = [(module, module.training) for module in self.model.modules()]
        handles = [
            module.register_forward_hook(partial(watcher.finished, path))
            for path, module in self.model.named_modules()
        ]
        try:
            self.model.eval()
            with torch.no_grad():
                if state is None:
                    self.model(X)
                else:
                    torch.func.functional_call(self.model, state, (X,))
        finally:
            for handle in handles:
                handle.remove()
            for module, training in modes:
                module.training = training
        return watcher.found

    # ---- the hook of the probe pass -----------------------------------------------------
    def _on_module(self, module, args, output):
        """A global forward hook: measure the watched modules, pass over any other."""
        watched = self._watched.get(id(module))
        if watched is None:
            return None
        path, kind, name, family = watched
        torch = self._torch
        if not args or not isinstance(args[0], torch.Tensor):
            return None
        if not isinstance(output, torch.Tensor):
            return None
        x = args[0]
        if kind == "dense":
            capture = self._captures.get(path)
            if capture is not None and capture.z is None:
                capture.z, capture.weight = output, module.weight
                capture.units = output.shape[-1]
                capture.rows = output.numel() // max(capture.units, 1)
            if self._in_place:
                # The rest of the pass gets a copy, so an in-place activation cannot turn the
                # pre-activation this probe differentiates into the activation's output.
                output = output.clone()
            self._flow.add(output, path)
            return output
        elif kind == "activation":
            source = self._flow.source(x)
            self._flow.consume(output)
            if source is not None and source in self._captures:
                counted = _count_units(name, family, x.detach(), output.detach())
                self._captures[source].units_counted = counted
        else:
            self._flow.pass_through(x, output)
        return None


def _activation(module, kind: str) -> tuple[str | None, str | None]:
    """An activation module's sigmalab name and family; (None, None) for other kinds."""
    if kind != "activation":
        return None, None
    name = activation_name(module)
    return name, activation_family(name)


def _count_units(name: str, family: str, z, a):
    """Units active on some sample (ReLU) or saturated on most (sigmoid, tanh), counted as
    probes.py counts them, from the activation's input and output (detached, so no
    gradient is recorded); None for others."""
    if z.dim() != 2:
        z, a = z.reshape(-1, z.shape[-1]), a.reshape(-1, a.shape[-1])
    if family == RELU:  # a > 0 exactly where z > 0, even after an in-place ReLU
        return (a > 0).any(0).sum()
    if family == SATURATING:
        if name in ACTIVE_OUTPUT_RANGE:
            low, high = ACTIVE_OUTPUT_RANGE[name]
            flat = (a <= low) | (a >= high)
        else:
            flat = z.abs() > SATURATED_Z
        return (flat.sum(0) >= SATURATED_SAMPLE_SHARE * flat.shape[0]).sum()
    return None


class _FirstNonFinite:
    """Forward hooks on every module see them finish innermost first, in execution order:
    the first module fed finite tensors that returns a non-finite one made the NaN/inf. A
    Linear is then the weighted sum; a module of no parameters of its own after a Linear
    (an activation module, or a user's module computing ``torch.log``) is that Linear's
    activation; anything else is nothing the records can name. Each module is judged as it
    finishes, before an in-place operation further on changes its output."""

    def __init__(self, torch, dense: dict) -> None:
        self._torch = torch
        self._dense = dense  # module path -> the Linear's Layer
        self._last = None  # the Linear that finished last
        self._done = False
        self.found: NonFiniteRecord | None = None

    def finished(self, path: str, module, args, output) -> None:
        """A forward hook: judge the module that just finished."""
        torch = self._torch
        if self._done or not isinstance(output, torch.Tensor):
            return
        inputs = [arg for arg in args if isinstance(arg, torch.Tensor)]
        if not all(map(_finite, inputs)):
            self._done = True  # NaN in the inputs, or an in-place module hid its finite input
            return
        if _finite(output):
            self._last = self._dense.get(path, self._last)
            return
        self._done = True
        own_parameters = next(module.parameters(recurse=False), None) is not None
        if path in self._dense:
            layer = self._dense[path]
            activation = layer.activation or "linear"
            self.found = self._record(path, layer, output, "weighted_sum", activation, None)
        elif self._last is not None and not own_parameters:
            fresh = inputs and inputs[0] is not output and inputs[0].shape == output.shape
            bad = inputs[0][~torch.isfinite(output)] if fresh else None
            activation = module_label(module)
            self.found = self._record(path, self._last, output, "activation", activation, bad)

    def _record(
        self, path: str, layer, output, stage: str, activation: str, bad
    ) -> NonFiniteRecord:
        torch = self._torch
        measured = bad is not None and bad.numel() > 0
        return {
            "index": layer.index,
            "name": layer.name,
            "activation": activation,
            "stage": stage,
            "nonfinite_fraction": float((~torch.isfinite(output)).float().mean()),
            "bad_input_min": float(bad.min()) if measured else None,
            "bad_input_max": float(bad.max()) if measured else None,
            "module": f"model.{path}" if path else "model",
        }


def _finite(tensor) -> bool:
    """Whether every value of ``tensor`` is finite (integer tensors always are)."""
    return not tensor.is_floating_point() or bool(tensor.isfinite().all())
