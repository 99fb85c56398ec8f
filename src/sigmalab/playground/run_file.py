"""The page's settings as a run file and back, so the page, ``sigmalab train`` and the
doctor's remedies all speak one format.

The page trains exactly the run its run file describes (``to_run``): the same data, the
same initial weights, the same updates. A doctor remedy is applied to that run file
(``doctor.remedies.apply_remedy``) and read back (``from_run``); so is a dropped run file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..data.dataset import REGRESSION
from ..data.registry import SYNTHETIC
from .settings import Settings, SettingsError, from_mapping

MOMENTUM = 0.9  # the page's "momentum" optimizer: SGD with PyTorch's usual momentum
# Run-file keys the page does not set, compared with the run file they came from.
_IGNORED = {("data", "dataset"), ("train", "epochs")}


def resolve_loss(settings: Settings, task: str, n_classes: int | None) -> str:
    """The loss the run uses: "auto" is mse (the Playground's) unless there are 3+ classes."""
    if settings.loss != "auto":
        return settings.loss
    return "mse" if task == REGRESSION or (n_classes or 2) <= 2 else "cross_entropy"


def builtin_task(settings: Settings) -> tuple[str, int | None]:
    """Classification or regression, and the number of classes, for a built-in dataset."""
    source = SYNTHETIC[settings.dataset]
    return source.task, None if source.task == REGRESSION else source.classes


def to_run(
    settings: Settings,
    task: str,
    n_classes: int | None,
    epochs: int,
    dataset: str | None = None,
) -> dict[str, Any]:
    """The run-file dict (``[data]``, ``[model]``, ``[train]``) that trains what the page does.

    ``dataset`` replaces the settings' dataset name (an uploaded CSV's path on the server).
    """
    data: dict[str, Any] = {
        "dataset": dataset or settings.dataset,
        "samples": settings.samples,
        "noise": settings.noise / 100,
        "test_fraction": round(1 - settings.ratio / 100, 6),
        "standardize": settings.standardize,
        "seed": settings.seed,
    }
    if settings.is_csv:
        # The loader's reading of the upload, spelled out: otherwise a CSV trained with mse
        # is read as a regression (its 0/1 or text labels would not be classes).
        data["task"] = task
    else:
        data["features"] = list(settings.features)
    loss = resolve_loss(settings, task, n_classes)
    weights = {
        "init": settings.init,
        "weight_scale": settings.scale,
        "l1": settings.l1,
        "l2": settings.l2,
    }
    layers: list[dict[str, Any]] = []
    for layer in settings.layers:
        layers.append({"type": "dense", "units": layer.units, "activation": layer.activation})
        layers[-1].update(weights)
        if layer.batchnorm:
            layers.append({"type": "batchnorm"})
        if layer.dropout:
            layers.append({"type": "dropout", "rate": layer.dropout})
    # A regression has no classes: one output, and the loss check names the mismatch.
    outputs = n_classes if loss == "cross_entropy" and n_classes else 1
    layers.append({"type": "dense", "units": outputs, **weights})
    optimizer: dict[str, Any] = {"name": settings.optimizer, "lr": settings.lr}
    if settings.optimizer == "momentum":
        optimizer.update(name="sgd", momentum=MOMENTUM)
    if settings.clip:
        optimizer["clip_norm"] = settings.clip
    train: dict[str, Any] = {
        "loss": loss,
        "epochs": max(1, epochs),
        "batch_size": settings.batch,
        "optimizer": optimizer,
    }
    if settings.patience:
        train["early_stopping_patience"] = settings.patience
    return {"data": data, "model": {"seed": settings.seed, "layers": layers}, "train": train}


def from_run(
    run: Mapping[str, Any], task: str, n_classes: int | None, view: Settings | None = None
) -> Settings:
    """The page's settings for a complete run dict (``RunConfig.to_dict()``'s form).

    A run the page cannot show exactly (a per-layer initialiser, a data seed that differs
    from the model's, an Adam beta) raises SettingsError naming each key, instead of
    quietly training something else. ``view`` supplies what a run file does not hold
    (the view toggles, the speed, the dataset's page name).
    """
    view = view or Settings()
    data, model, train = run["data"], run["model"], run["train"]
    layers = list(model["layers"])
    output = max(i for i, layer in enumerate(layers) if layer["type"] == "dense")
    hidden: list[dict[str, Any]] = []
    for layer in layers[:output]:
        if layer["type"] == "dense":
            hidden.append({"units": layer["units"], "activation": layer.get("activation")})
        elif hidden and layer["type"] == "batchnorm":
            hidden[-1]["batchnorm"] = True
        elif hidden and layer["type"] == "dropout":
            hidden[-1]["dropout"] = layer["rate"]
    first = layers[output] if not hidden else next(x for x in layers if x["type"] == "dense")
    optimizer = train["optimizer"]
    name = optimizer["name"]
    if name == "sgd" and optimizer.get("momentum", 0.0) > 0:
        name = "momentum"
    values = {
        "dataset": view.dataset if view.is_csv else data["dataset"],
        "noise": round(data["noise"] * 100, 6),
        "ratio": round((1 - data["test_fraction"]) * 100, 6),
        "batch": train["batch_size"],
        "seed": data["seed"],
        "samples": data["samples"],
        "standardize": data["standardize"],
        "lr": optimizer["lr"],
        "optimizer": name,
        "loss": train["loss"],
        "clip": optimizer.get("clip_norm") or 0.0,
        "patience": train.get("early_stopping_patience") or 0,
        "init": first.get("init", "auto"),
        "scale": first.get("weight_scale", 1.0),
        "l1": first.get("l1", 0.0),
        "l2": first.get("l2", 0.0),
        "layers": [layer["units"] for layer in hidden],
        "activation": [layer["activation"] or "linear" for layer in hidden],
        "batchnorm": [layer.get("batchnorm", False) for layer in hidden],
        "dropout": [layer.get("dropout", 0.0) for layer in hidden],
    }
    if data.get("features"):
        values["features"] = data["features"]
    keep = {"show_test", "discretize", "speed"}
    if view.loss == "auto" and resolve_loss(view, task, n_classes) == train["loss"]:
        values["loss"] = "auto"  # a run that keeps the automatic choice keeps it in the URL
    settings = from_mapping(values, base=Settings(**{key: getattr(view, key) for key in keep}))
    again = to_run(settings, task, n_classes, train["epochs"], data["dataset"])
    problems = _differences(_complete(run), _complete(again), "")
    if problems:
        raise SettingsError(problems)
    return settings


def _complete(run: Mapping[str, Any]) -> dict[str, Any]:
    """``run`` with every default spelled out, as the run-file validator writes it.

    The dataset and its task are not compared (the page names the dataset and reads its
    task from it), so a built-in stands in for it and no file is looked up.
    """
    from ..config import RunConfig

    data = {**run["data"], "dataset": "circle", "task": None}
    return RunConfig.from_dict({**run, "data": data}).to_dict()


def _differences(theirs: Any, ours: Any, path: str) -> list[str]:
    """``key.path: the page cannot show ...`` for each value the page would change."""
    if isinstance(theirs, Mapping) and isinstance(ours, Mapping):
        problems = []
        for key in sorted(set(theirs) | set(ours)):
            where = f"{path}.{key}" if path else key
            if tuple(where.split(".")) in _IGNORED:
                continue
            problems += _differences(theirs.get(key), ours.get(key), where)
        return problems
    if isinstance(theirs, list) and isinstance(ours, list) and len(theirs) == len(ours):
        return [
            problem
            for i, (a, b) in enumerate(zip(theirs, ours, strict=True))
            for problem in _differences(a, b, f"{path}[{i}]")
        ]
    if theirs == ours:
        return []
    return [f"{path}: the page cannot show {theirs!r} (it would train with {ours!r})"]


_REMEDY_TEXT = {
    "set_activation": "use {value} in the hidden layers",
    "set_init": "initialise with {value}",
    "add_batchnorm": "add BatchNorm after each hidden layer",
    "scale_learning_rate": "multiply the learning rate by {factor:g}",
    "set_clip_norm": "clip the gradient norm at {value:g}",
    "set_optimizer": "switch to {value}",
    "set_dropout": "set dropout to {value:g}",
    "set_l2": "add L2 regularisation {value:g}",
    "early_stopping": "stop early (patience {patience})",
    "standardize_inputs": "standardise the inputs",
    "insert_activation": "put {value} between the linear layers",
    "remove_output_activation": "remove the output activation",
    "increase_epochs": "train {factor:g}x longer",
    "replace_activation": "use {value} in the layer at fault",
    "add_hidden_layer": "add a hidden layer",
    "set_features": "feed all input features",
    "scale_units": "use {factor:g}x the units per hidden layer",
}


def describe_remedy(remedy: Mapping[str, Any]) -> str:
    """A remedy dict as the label of its button, e.g. "use relu in the hidden layers"."""
    template = _REMEDY_TEXT.get(remedy.get("action", ""), "{action}")
    try:
        return template.format(**remedy)
    except (KeyError, ValueError):
        return str(remedy.get("action"))
