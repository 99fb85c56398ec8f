"""Remedies: machine-applicable fixes, each a pure function from a run-config dict to a new one.

A finding's ``remedies`` are dicts such as ``{"action": "set_activation", "value": "relu"}``.
``apply_remedy`` turns one of them into a changed copy of a run file's dict (the TOML layout:
``data`` / ``model.layers`` / ``train``), so a repair is a diff of the run file that a learner
can read, save and rerun. An action that cannot change the config raises ``RemedyError``
instead of returning an identical run: retraining an unchanged run would waste the budget and
make a no-op look like a failed fix.

Whether a remedy is already in effect is judged once, by ``in_effect``, on a run context
(:class:`.records.RunContext`): the rules' context of a model as it is, or
``setup_of_config`` of a run file. ``findings.applicable_remedies`` leaves out what it says
is in effect, and ``apply_remedy`` refuses it, so the two can never disagree.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable

from ..activations import LINEAR, get_activation
from ..data.features import FEATURES
from ..data.registry import SYNTHETIC
from ..errors import SigmalabError, unknown_name
from ..optimizers import OPTIMIZERS
from .records import LayerDescription, RunContext

Judgement = Callable[..., str | None]


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


# ---- the setup as remedies judge it -----------------------------------------------------------
def setup_of_config(config: dict) -> RunContext:
    """A run file's dict in the run context's layout (``probes.run_context``), so that one
    judgement (``in_effect``) reads a trained model's setup and a run file alike."""
    layers: list[LayerDescription] = []
    for index, layer in enumerate(config.get("model", {}).get("layers") or []):
        entry: LayerDescription = {"index": index, "kind": layer.get("type", "dense")}
        if entry["kind"] == "dense":
            activation = get_activation(layer.get("activation"))
            entry.update(
                activation=activation.name,
                family=activation.family,
                units=layer.get("units"),
                init=layer.get("init", "auto"),
                weight_scale=layer.get("weight_scale", 1.0),
                l2=layer.get("l2", 0.0),
            )
        elif entry["kind"] == "dropout":
            entry["rate"] = layer.get("rate")
        layers.append(entry)
    train, data = config.get("train", {}), config.get("data", {})
    optimizer = train.get("optimizer", "sgd")
    optimizer = {"name": optimizer} if isinstance(optimizer, str) else optimizer
    return {
        "optimizer": optimizer.get("name", "sgd"),
        "clip_norm": optimizer.get("clip_norm"),
        "layers": layers,
        "inputs_standardized": bool(data.get("standardize")),
        "early_stopping_patience": train.get("early_stopping_patience"),
        "features": data.get("features"),
    }


def _dense_entries(setup: RunContext) -> list[LayerDescription]:
    return [entry for entry in setup.get("layers", []) if entry.get("kind") == "dense"]


def _linear_entry(entry: LayerDescription) -> bool:
    """A Dense layer without a nonlinearity (the static check's judgement)."""
    return entry.get("activation") == "linear" or entry.get("family") == LINEAR


def _activation_name(spec: str | None) -> str:
    """The name a layer description carries for an activation spec ('ReLU' -> 'relu')."""
    return get_activation(spec).name


# ---- the remedies: each action, then its judgement of being in effect --------------------------
def set_activation(config: dict, value: str, layers: str = "hidden") -> None:
    """Give every hidden Dense layer ``value`` (ReLU keeps gradients alive where sigmoid fades)."""
    if layers != "hidden":
        raise RemedyError(f"set_activation: layers must be 'hidden', received {layers!r}")
    for layer in _hidden_dense(config, "set_activation"):
        layer["activation"] = value


def set_activation_in_effect(setup: RunContext, value: str, layers: str = "hidden") -> str | None:
    """Every hidden Dense layer already uses ``value``."""
    hidden = _dense_entries(setup)[:-1]
    if hidden and all(entry.get("activation") == _activation_name(value) for entry in hidden):
        return f"every hidden layer already uses {value!r}"
    return None


def replace_activation(config: dict, layer: int, value: str) -> None:
    """Give the Dense layer at position ``layer`` the activation ``value`` ('linear': none).

    The targeted fix for one layer whose activation is at fault (one undefined on part of
    the real line, such as log(x)), leaving the other layers as the learner chose them.
    """
    layers = _layers(config)
    if not (0 <= layer < len(layers) and layers[layer].get("type", "dense") == "dense"):
        raise RemedyError(f"replace_activation: model.layers[{layer}] is not a Dense layer")
    if _is_linear(value):
        layers[layer].pop("activation", None)
    else:
        layers[layer]["activation"] = value


def replace_activation_in_effect(setup: RunContext, layer: int, value: str) -> str | None:
    """The layer at ``layer`` already uses ``value``."""
    entries = setup.get("layers", [])
    if 0 <= layer < len(entries) and entries[layer].get("activation") == _activation_name(value):
        return f"layer {layer} already uses {value!r}"
    return None


def set_init(config: dict, value: str) -> None:
    """Draw every Dense layer's weights from ``value`` at its natural scale (weight_scale 1).

    The scale multiplier is reset too: a fix for badly scaled weights that kept the bad
    multiplier would change nothing.
    """
    for layer in _dense(config):
        layer["init"] = value
        layer["weight_scale"] = 1.0


def set_init_in_effect(setup: RunContext, value: str) -> str | None:
    """Every Dense layer already draws from ``value`` at scale 1."""
    dense = _dense_entries(setup)
    if dense and all(e.get("init") == value and e.get("weight_scale") == 1.0 for e in dense):
        return f"every Dense layer already uses {value!r} at scale 1"
    return None


def add_batchnorm(config: dict) -> None:
    """Put a BatchNorm after each hidden Dense layer that lacks one, renormalising its output."""
    layers = _layers(config)
    hidden = _hidden_indices(layers, "add_batchnorm")
    missing = [
        i for i in hidden if i + 1 >= len(layers) or layers[i + 1].get("type") != "batchnorm"
    ]
    for i in reversed(missing):
        layers.insert(i + 1, {"type": "batchnorm"})


def add_batchnorm_in_effect(setup: RunContext) -> str | None:
    """A BatchNorm follows every hidden Dense layer."""
    layers = setup.get("layers", [])
    hidden = [i for i, entry in enumerate(layers) if entry.get("kind") == "dense"][:-1]
    if hidden and all(
        i + 1 < len(layers) and layers[i + 1].get("kind") == "batchnorm" for i in hidden
    ):
        return "every hidden Dense layer is already normalised"
    return None


def scale_learning_rate(config: dict, factor: float) -> None:
    """Multiply the optimizer's learning rate by ``factor`` (a smaller step cannot overshoot)."""
    optimizer = _optimizer(config)
    # Ten significant digits: 0.1 then 10 gives back the same rate, so the same run.
    optimizer["lr"] = float(f"{float(optimizer['lr']) * factor:.10g}")


def set_clip_norm(config: dict, value: float) -> None:
    """Cap the global gradient norm at ``value``, so one huge gradient cannot throw the weights."""
    _optimizer(config)["clip_norm"] = value


def set_clip_norm_in_effect(setup: RunContext, value: float) -> str | None:
    """Gradients are already clipped at ``value`` or tighter."""
    clip_norm = setup.get("clip_norm")
    if clip_norm is not None and clip_norm <= value:
        return f"clip_norm is already {clip_norm}"
    return None


def set_optimizer(config: dict, value: str) -> None:
    """Switch the update rule at its default learning rate, keeping any gradient clipping."""
    if value not in OPTIMIZERS:
        raise unknown_name("optimizer", value, OPTIMIZERS, RemedyError)
    old = _optimizer(config)
    new = {"name": value, "lr": _default_lr(value)}
    if old.get("clip_norm") is not None:
        new["clip_norm"] = old["clip_norm"]
    config["train"]["optimizer"] = new


def set_optimizer_in_effect(setup: RunContext, value: str) -> str | None:
    """The run already uses the update rule ``value``."""
    return f"the run already uses {value!r}" if setup.get("optimizer") == value else None


def set_dropout(config: dict, value: float) -> None:
    """Set every Dropout layer's rate, or add one after each hidden Dense layer if there is none."""
    layers = _layers(config)
    dropouts = [layer for layer in layers if layer.get("type") == "dropout"]
    if dropouts:
        for layer in dropouts:
            layer["rate"] = value
        return
    for i in reversed(_hidden_indices(layers, "set_dropout")):
        after = i + 2 if i + 1 < len(layers) and layers[i + 1].get("type") == "batchnorm" else i + 1
        layers.insert(after, {"type": "dropout", "rate": value})


def set_dropout_in_effect(setup: RunContext, value: float) -> str | None:
    """The run has Dropout layers, all at rate ``value``."""
    rates = [e.get("rate") for e in setup.get("layers", []) if e.get("kind") == "dropout"]
    if rates and all(rate == value for rate in rates):
        return f"every Dropout layer already has rate {value}"
    return None


def set_l2(config: dict, value: float) -> None:
    """Penalise large weights in every Dense layer (weight decay shrinks what noise taught)."""
    for layer in _dense(config):
        layer["l2"] = max(layer.get("l2", 0.0), value)


def set_l2_in_effect(setup: RunContext, value: float) -> str | None:
    """Every Dense layer is already penalised at least that much."""
    dense = _dense_entries(setup)
    if dense and all(entry.get("l2", 0.0) >= value for entry in dense):
        return f"every Dense layer already has l2 >= {value}"
    return None


def early_stopping(config: dict, patience: int) -> None:
    """Stop once the validation loss has not improved for ``patience`` epochs."""
    config.setdefault("train", {})["early_stopping_patience"] = patience


def early_stopping_in_effect(setup: RunContext, patience: int) -> str | None:
    """The run already stops with this patience."""
    if setup.get("early_stopping_patience") == patience:
        return f"patience is already {patience}"
    return None


def standardize_inputs(config: dict) -> None:
    """Scale each input feature to mean 0 and variance 1, so no unit starts saturated."""
    config.setdefault("data", {})["standardize"] = True


def standardize_inputs_in_effect(setup: RunContext) -> str | None:
    """The inputs are standardised already (the run file asks for it, or they are by nature)."""
    return "the inputs are already standardised" if setup.get("inputs_standardized") else None


def insert_activation(config: dict, value: str) -> None:
    """Give a nonlinearity to each Dense layer that feeds another Dense layer without one.

    Two linear layers in a row compute one linear map, so the extra layer adds nothing.
    """
    layers = _layers(config)
    dense = _dense_indices(layers)
    for i in dense[:-1]:
        if _is_linear(layers[i].get("activation")):
            layers[i]["activation"] = value


def insert_activation_in_effect(setup: RunContext, value: str) -> str | None:
    """No hidden Dense layer is linear."""
    dense = _dense_entries(setup)
    if dense and not any(_linear_entry(entry) for entry in dense[:-1]):
        return "every hidden Dense layer has an activation"
    return None


def remove_output_activation(config: dict) -> None:
    """Make the last Dense layer emit raw logits, which bce and cross_entropy expect."""
    _dense(config)[-1].pop("activation", None)


def remove_output_activation_in_effect(setup: RunContext) -> str | None:
    """The output layer emits raw weighted sums already."""
    dense = _dense_entries(setup)
    if dense and _linear_entry(dense[-1]):
        return "the output layer has no activation"
    return None


def increase_epochs(config: dict, factor: float) -> None:
    """Train ``factor`` times longer, for a run that was still improving when it stopped."""
    train = config.setdefault("train", {})
    if "epochs" not in train:
        raise RemedyError("increase_epochs: the run has no [train].epochs")
    train["epochs"] = math.ceil(train["epochs"] * factor)


def scale_units(config: dict, factor: float) -> None:
    """Give every hidden Dense layer ``factor`` times the units: room for a finer boundary."""
    for layer in _hidden_dense(config, "scale_units"):
        layer["units"] = math.ceil(layer["units"] * factor)


def add_hidden_layer(config: dict) -> None:
    """Repeat the last hidden Dense layer (all its settings) before the output layer.

    A second layer composes the first one's features, which one layer of the same width
    can only approximate with many more units.
    """
    layers = _layers(config)
    last = _hidden_indices(layers, "add_hidden_layer")[-1]
    layers.insert(_dense_indices(layers)[-1], copy.deepcopy(layers[last]))


def set_features(config: dict, value: list[str]) -> None:
    """Feed a 2-D dataset these Playground input features (squares, product, sines)."""
    data = config.setdefault("data", {})
    if data.get("dataset") not in SYNTHETIC:
        raise RemedyError(
            f"set_features: input features apply only to the 2-D built-in datasets "
            f"({', '.join(SYNTHETIC)}), not {data.get('dataset')!r}"
        )
    data["features"] = list(value)


def set_features_in_effect(setup: RunContext, value: list[str]) -> str | None:
    """The run already feeds these input features."""
    if setup.get("features") is not None and list(setup["features"]) == list(value):
        return "the run already uses these input features"
    return None


# All Playground features: what a network on 2-D points can be given beyond x1 and x2.
ALL_FEATURES = list(FEATURES)


def _never(setup: RunContext, **arguments: object) -> None:
    """A change that always changes the run (a factor, one more layer)."""
    return None


ACTIONS: dict[str, Callable[..., None]] = {
    function.__name__: function
    for function in (
        set_activation,
        replace_activation,
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
        scale_units,
        add_hidden_layer,
        set_features,
    )
}
# Per action, its one judgement of "already in effect" (None: the remedy would change the run).
IN_EFFECT: dict[str, Judgement] = {
    "set_activation": set_activation_in_effect,
    "replace_activation": replace_activation_in_effect,
    "set_init": set_init_in_effect,
    "add_batchnorm": add_batchnorm_in_effect,
    "scale_learning_rate": _never,
    "set_clip_norm": set_clip_norm_in_effect,
    "set_optimizer": set_optimizer_in_effect,
    "set_dropout": set_dropout_in_effect,
    "set_l2": set_l2_in_effect,
    "early_stopping": early_stopping_in_effect,
    "standardize_inputs": standardize_inputs_in_effect,
    "insert_activation": insert_activation_in_effect,
    "remove_output_activation": remove_output_activation_in_effect,
    "increase_epochs": _never,
    "scale_units": _never,
    "add_hidden_layer": _never,
    "set_features": set_features_in_effect,
}


def in_effect(remedy: dict, setup: RunContext) -> str | None:
    """Why ``remedy`` would change nothing in ``setup`` (a run context, or
    ``setup_of_config`` of a run file), or None when it would change the run."""
    arguments = dict(remedy)
    action = arguments.pop("action", None)
    if action not in IN_EFFECT:
        raise unknown_name("remedy action", action, ACTIONS, RemedyError)
    return _call(action, IN_EFFECT[action], setup, arguments)


def apply_remedy(config: dict, remedy: dict) -> dict:
    """Return a changed deep copy of ``config``; the original run stays untouched for retries."""
    arguments = dict(remedy)
    action = arguments.pop("action", None)
    if action not in ACTIONS:
        raise unknown_name("remedy action", action, ACTIONS, RemedyError)
    reason = in_effect(remedy, setup_of_config(config))
    if reason is not None:
        raise _unchanged(action, reason)
    changed = copy.deepcopy(config)
    _call(action, ACTIONS[action], changed, arguments)
    return changed


def _call(action: str, function: Callable, subject: object, arguments: dict):
    """``function(subject, **arguments)``; arguments the action does not take, or lacks, are
    named with the ones it takes rather than by Python's text about the function."""
    signature = inspect.signature(function)
    try:
        signature.bind(subject, **arguments)
    except TypeError:
        takes = [name for name in signature.parameters][1:]
        raise RemedyError(
            f"remedy {action!r} takes {', '.join(takes) or 'no arguments'} "
            f"(received: {', '.join(sorted(arguments)) or 'none'})"
        ) from None
    try:
        return function(subject, **arguments)
    except TypeError as error:  # an argument of the wrong kind, such as a number for a list
        raise RemedyError(f"remedy {action!r}: {error}") from None
