"""Remedies in PyTorch's words: the module to change and the line to write.

A finding's remedies stay the machine-readable actions of :mod:`.findings`; for a PyTorch
loop each gets a ``pytorch`` entry that names the module path (``model.3``) and the code,
since a PyTorch user has no run file for ``apply_remedy`` to change.
"""

from __future__ import annotations

from .findings import Finding

# sigmalab activation names and the torch.nn class that computes the same function.
TORCH_CLASSES = {
    "relu": "nn.ReLU()",
    "leaky_relu": "nn.LeakyReLU(0.01)",
    "elu": "nn.ELU()",
    "selu": "nn.SELU()",
    "gelu": "nn.GELU()",
    "swish": "nn.SiLU()",
    "softplus": "nn.Softplus()",
    "sigmoid": "nn.Sigmoid()",
    "tanh": "nn.Tanh()",
    "hard_sigmoid": "nn.Hardsigmoid()",
    "softmax": "nn.Softmax()",
    "log_softmax": "nn.LogSoftmax()",
}
OPTIMIZER_CLASSES = {"adam": "torch.optim.Adam", "sgd": "torch.optim.SGD"}
LR = "optimizer.param_groups[0]['lr']"


def _module(path: str | None) -> str:
    return f"`model.{path}`" if path else "`model`"


def _hidden(context: dict) -> list[dict]:
    return [entry for entry in context.get("layers", []) if entry["kind"] == "dense"][:-1]


def _set_activation(remedy: dict, finding: Finding, context: dict) -> str:
    new = f"`{TORCH_CLASSES.get(remedy['value'], remedy['value'])}`"
    changes = [
        f"{_module(entry['activation_path'])} is `{TORCH_CLASSES[entry['activation']]}`: use {new}"
        for entry in _hidden(context)
        if entry.get("activation_path") and entry["activation"] != remedy["value"]
    ]
    return "; ".join(changes) or f"use {new} after each hidden `nn.Linear`"


def _scale_lr(remedy: dict, finding: Finding, context: dict) -> str:
    lr = context.get("lr")
    if lr is None:
        return f"multiply {LR} by {remedy['factor']:g}"
    direction = "lower" if remedy["factor"] < 1 else "raise"
    return f"{direction} `{LR}` from {lr:g} to {lr * remedy['factor']:g}"


def _dropout(remedy: dict, finding: Finding, context: dict) -> str:
    dropouts = [entry for entry in context.get("layers", []) if entry["kind"] == "dropout"]
    rate = remedy["value"]
    if not dropouts:
        return f"add `nn.Dropout(p={rate:g})` after each hidden activation"
    return "; ".join(
        f"{_module(entry['path'])} is `nn.Dropout(p={entry['rate']:g})`: use "
        f"`nn.Dropout(p={rate:g})`"
        for entry in dropouts
        if entry["rate"] != rate
    )


def _insert_activation(remedy: dict, finding: Finding, context: dict) -> str:
    layer = finding.layer or {}
    entry = context["layers"][layer["index"]] if "index" in layer else {}
    new = TORCH_CLASSES[remedy["value"]]
    return f"add `{new}` after {_module(entry.get('path'))} (`nn.Linear`)"


def _remove_output_activation(remedy: dict, finding: Finding, context: dict) -> str:
    module = finding.evidence.get("module", "the output activation")
    return (
        f"remove `{module}` (`{TORCH_CLASSES.get(finding.evidence['output_activation'])}`): "
        "the loss applies it itself; apply it only when predicting"
    )


def _replace_activation(remedy: dict, finding: Finding, context: dict) -> str:
    evidence = finding.evidence
    module = f"`{evidence['module']}`" if evidence.get("module") else "the activation"
    fault = f"{module} (`{evidence['activation']}`) produces NaN outside its domain"
    if remedy["value"] == "linear":
        return f"{fault}: remove it, the output `nn.Linear` needs no activation before the loss"
    return f"{fault}: use `{TORCH_CLASSES[remedy['value']]}`"


def _set_optimizer(remedy: dict, finding: Finding, context: dict) -> str:
    name = OPTIMIZER_CLASSES.get(remedy["value"], remedy["value"])
    return f"use `{name}(model.parameters())` at its default learning rate"


LINES = {
    "set_activation": _set_activation,
    "scale_learning_rate": _scale_lr,
    "set_dropout": _dropout,
    "insert_activation": _insert_activation,
    "remove_output_activation": _remove_output_activation,
    "set_optimizer": _set_optimizer,
    "replace_activation": _replace_activation,
    "set_clip_norm": lambda remedy, finding, context: (
        f"add `torch.nn.utils.clip_grad_norm_(model.parameters(), {remedy['value']:g})` "
        "between `loss.backward()` and `optimizer.step()`"
    ),
    "add_batchnorm": lambda remedy, finding, context: (
        "add `nn.BatchNorm1d(units)` after each hidden `nn.Linear`"
    ),
    "set_init": lambda remedy, finding, context: (
        "initialise each `nn.Linear` with `nn.init.kaiming_normal_(layer.weight, "
        "nonlinearity='relu')`"
    ),
    "set_l2": lambda remedy, finding, context: (
        f"pass `weight_decay={remedy['value']:g}` to the optimizer"
    ),
    "early_stopping": lambda remedy, finding, context: (
        f"stop when the validation loss has not improved for {remedy['patience']} epochs and "
        "load the best `model.state_dict()`"
    ),
    "standardize_inputs": lambda remedy, finding, context: (
        "standardise the inputs with the training set's statistics: "
        "`X = (X - X_train.mean(0)) / X_train.std(0)`"
    ),
    "increase_epochs": lambda remedy, finding, context: (
        f"train {remedy['factor']:g} times as many epochs"
    ),
}


def in_pytorch_terms(finding: Finding, context: dict) -> Finding:
    """The finding with a ``pytorch`` line added to each remedy (the finding itself, changed)."""
    for remedy in (remedy for remedy in finding.remedies if remedy["action"] in LINES):
        remedy["pytorch"] = LINES[remedy["action"]](remedy, finding, context)
    return finding
