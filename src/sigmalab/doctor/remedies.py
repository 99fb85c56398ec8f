"""Remedies: machine-applicable fixes, each a pure function from a run-config dict to a new one.

A finding's ``remedies`` are dicts such as ``{"action": "set_activation", "value": "relu"}``.
``apply_remedy`` turns one of them into a changed copy of a run file's dict (the TOML layout:
``data`` / ``model.layers`` / ``train``), so a repair is a diff of the run file that a learner
can read, save and rerun. An action that cannot change the config raises ``RemedyError``
instead of returning an identical run: retraining an unchanged run would waste the budget and
make a no-op look like a failed fix.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

from ..activations import LINEAR, get_activation
from ..errors import SigmalabError, unknown_name
from ..optimizers import OPTIMIZERS


class RemedyError(SigmalabError):
    """A remedy that does not apply to this run (nothing to change, or an unknown action)."""


def _dense_indices(layers: list[dict]) -> list[int]:
    return [i for i, layer in enumerate(layers) if layer.get("type", "dense") == "dense"]


def _layers(config: dict) -> list[dict]:
    layers = config.get("model", {}).get("layers")
    if not layers:
        raise RemedyError("the run has no [model].layers to change")
    return layers


def _dense(config: dict) -> list[dict]:
    layers = _layers(config)
    return [layers[i] for i in _dense_indices(layers)]


def _hidden_indices(layers: list[dict], action: str) -> list[int]:
    """Positions of every Dense layer but the output one; a remedy on them needs at least one."""
    hidden = _dense_indices(layers)[:-1]
    if not hidden:
        raise RemedyError(f"{action}: the network has no hidden Dense layer")
    return hidden


def _hidden_dense(config: dict, action: str) -> list[dict]:
    """Every Dense layer but the output one (at least one, or RemedyError)."""
    layers = _layers(config)
    return [layers[i] for i in _hidden_indices(layers, action)]


def _unchanged(action: str, why: str) -> RemedyError:
    return RemedyError(f"{action} does not apply: {why}")


def _default_lr(name: str) -> float:
    """The optimizer's own default: a switch must not inherit a step size tuned for another
    update rule."""
    return OPTIMIZERS[name]().lr


def _is_linear(activation: str | None) -> bool:
    """Whether a layer's activation spec is the identity, as the static check judges it."""
    return activation is None or get_activation(activation).family == LINEAR


def _optimizer(config: dict) -> dict:
    train = config.setdefault("train", {})
    optimizer = train.get("optimizer", "sgd")
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    optimizer.setdefault("lr", _default_lr(optimizer.setdefault("name", "sgd")))
    train["optimizer"] = optimizer
    return optimizer


def set_activation(config: dict, value: str, layers: str = "hidden") -> None:
    """Give every hidden Dense layer ``value`` (ReLU keeps gradients alive where sigmoid fades)."""
    if layers != "hidden":
        raise RemedyError(f"set_activation: layers must be 'hidden', received {layers!r}")
    hidden = _hidden_dense(config, "set_activation")
    if all(layer.get("activation") == value for layer in hidden):
        raise _unchanged("set_activation", f"every hidden layer already uses {value!r}")
    for layer in hidden:
        layer["activation"] = value


def set_init(config: dict, value: str) -> None:
    """Draw every Dense layer's weights from ``value`` at its natural scale (weight_scale 1).

    The scale multiplier is reset too: a fix for badly scaled weights that kept the bad
    multiplier would change nothing.
    """
    dense = _dense(config)
    if all(
        layer.get("init", "auto") == value and layer.get("weight_scale", 1.0) == 1.0
        for layer in dense
    ):
        raise _unchanged("set_init", f"every Dense layer already uses {value!r} at scale 1")
    for layer in dense:
        layer["init"] = value
        layer["weight_scale"] = 1.0


def add_batchnorm(config: dict) -> None:
    """Put a BatchNorm after each hidden Dense layer that lacks one, renormalising its output."""
    layers = _layers(config)
    hidden = _hidden_indices(layers, "add_batchnorm")
    missing = [
        i for i in hidden if i + 1 >= len(layers) or layers[i + 1].get("type") != "batchnorm"
    ]
    if not missing:
        raise _unchanged("add_batchnorm", "every hidden Dense layer is already normalised")
    for i in reversed(missing):
        layers.insert(i + 1, {"type": "batchnorm"})


def scale_learning_rate(config: dict, factor: float) -> None:
    """Multiply the optimizer's learning rate by ``factor`` (a smaller step cannot overshoot)."""
    optimizer = _optimizer(config)
    # Ten significant digits: 0.1 then 10 gives back the same rate, so the same run.
    optimizer["lr"] = float(f"{float(optimizer['lr']) * factor:.10g}")


def set_clip_norm(config: dict, value: float) -> None:
    """Cap the global gradient norm at ``value``, so one huge gradient cannot throw the weights."""
    optimizer = _optimizer(config)
    if optimizer.get("clip_norm") is not None and optimizer["clip_norm"] <= value:
        raise _unchanged("set_clip_norm", f"clip_norm is already {optimizer['clip_norm']}")
    optimizer["clip_norm"] = value


def set_optimizer(config: dict, value: str) -> None:
    """Switch the update rule at its default learning rate, keeping any gradient clipping."""
    if value not in OPTIMIZERS:
        raise unknown_name("optimizer", value, OPTIMIZERS, RemedyError)
    old = _optimizer(config)
    if old.get("name", "sgd") == value:
        raise _unchanged("set_optimizer", f"the run already uses {value!r}")
    new = {"name": value, "lr": _default_lr(value)}
    if old.get("clip_norm") is not None:
        new["clip_norm"] = old["clip_norm"]
    config["train"]["optimizer"] = new


def set_dropout(config: dict, value: float) -> None:
    """Set every Dropout layer's rate, or add one after each hidden Dense layer if there is none."""
    layers = _layers(config)
    dropouts = [layer for layer in layers if layer.get("type") == "dropout"]
    if dropouts:
        if all(layer.get("rate") == value for layer in dropouts):
            raise _unchanged("set_dropout", f"every Dropout layer already has rate {value}")
        for layer in dropouts:
            layer["rate"] = value
        return
    for i in reversed(_hidden_indices(layers, "set_dropout")):
        after = i + 2 if i + 1 < len(layers) and layers[i + 1].get("type") == "batchnorm" else i + 1
        layers.insert(after, {"type": "dropout", "rate": value})


def set_l2(config: dict, value: float) -> None:
    """Penalise large weights in every Dense layer (weight decay shrinks what noise taught)."""
    dense = _dense(config)
    if all(layer.get("l2", 0.0) >= value for layer in dense):
        raise _unchanged("set_l2", f"every Dense layer already has l2 >= {value}")
    for layer in dense:
        layer["l2"] = max(layer.get("l2", 0.0), value)


def early_stopping(config: dict, patience: int) -> None:
    """Stop once the validation loss has not improved for ``patience`` epochs."""
    train = config.setdefault("train", {})
    if train.get("early_stopping_patience") == patience:
        raise _unchanged("early_stopping", f"patience is already {patience}")
    train["early_stopping_patience"] = patience


def standardize_inputs(config: dict) -> None:
    """Scale each input feature to mean 0 and variance 1, so no unit starts saturated."""
    data = config.setdefault("data", {})
    if data.get("standardize"):
        raise _unchanged("standardize_inputs", "the inputs are already standardised")
    data["standardize"] = True


def insert_activation(config: dict, value: str) -> None:
    """Give a nonlinearity to each Dense layer that feeds another Dense layer without one.

    Two linear layers in a row compute one linear map, so the extra layer adds nothing.
    """
    layers = _layers(config)
    dense = _dense_indices(layers)
    linear = [layers[i] for i in dense[:-1] if _is_linear(layers[i].get("activation"))]
    if not linear:
        raise _unchanged("insert_activation", "every hidden Dense layer has an activation")
    for layer in linear:
        layer["activation"] = value


def remove_output_activation(config: dict) -> None:
    """Make the last Dense layer emit raw logits, which bce and cross_entropy expect."""
    output = _dense(config)[-1]
    if _is_linear(output.get("activation")):
        raise _unchanged("remove_output_activation", "the output layer has no activation")
    output.pop("activation")


def increase_epochs(config: dict, factor: float) -> None:
    """Train ``factor`` times longer, for a run that was still improving when it stopped."""
    train = config.setdefault("train", {})
    if "epochs" not in train:
        raise RemedyError("increase_epochs: the run has no [train].epochs")
    train["epochs"] = math.ceil(train["epochs"] * factor)


ACTIONS: dict[str, Callable[..., None]] = {
    function.__name__: function
    for function in (
        set_activation,
        set_init,
        add_batchnorm,
        scale_learning_rate,
        set_clip_norm,
        set_optimizer,
        set_dropout,
        set_l2,
        early_stopping,
        standardize_inputs,
        insert_activation,
        remove_output_activation,
        increase_epochs,
    )
}


def apply_remedy(config: dict, remedy: dict) -> dict:
    """Return a changed deep copy of ``config``; the original run stays untouched for retries."""
    arguments = dict(remedy)
    action = arguments.pop("action", None)
    if action not in ACTIONS:
        raise unknown_name("remedy action", action, ACTIONS, RemedyError)
    changed = copy.deepcopy(config)
    try:
        ACTIONS[action](changed, **arguments)
    except TypeError as error:
        raise RemedyError(f"remedy {action!r}: {error}") from None
    return changed
