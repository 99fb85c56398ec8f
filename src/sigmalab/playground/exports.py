"""What the page hands out: the run file, the model file and a Python snippet.

The run file is written by ``config.save_run``, the project's own writer, so ``sigmalab
train`` on it trains the page's run: the same data, initial weights and updates.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..config import RunConfig, save_run
from ..model import Sequential

RUN_FILE = "run.toml"
MODEL_FILE = "model.safetensors"
SNIPPET_FILE = "train.py"


def run_file_text(config: RunConfig, folder: Path) -> str:
    """The TOML of ``config`` as written into ``folder`` (a CSV beside it is named relatively)."""
    path = folder / RUN_FILE
    save_run(config, path)
    text = path.read_text(encoding="utf-8")
    path.unlink()
    return text


def model_bytes(model: Sequential) -> bytes:
    """The model's .safetensors file (weights and architecture, no pickle)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / MODEL_FILE
        model.save(path)
        return path.read_bytes()


def python_snippet(run: dict[str, Any], csv_name: str | None = None) -> str:
    """Python that trains the same run with the public API (same seeds, same weights)."""
    data, model, train = run["data"], run["model"], run["train"]
    dataset = csv_name or data["dataset"]
    load = [f"{dataset!r}", f"samples={data['samples']}", f"noise={data['noise']!r}"]
    load += [f"test_fraction={data['test_fraction']!r}", f"seed={data['seed']}"]
    if data.get("features"):
        load.append(f"features={data['features']!r}")
    if data.get("task"):
        load.append(f"task={data['task']!r}")
    lines = [
        "import sigmalab as sl",
        "",
        f"data = sl.datasets.load({', '.join(load)})",
        "X, y, X_test, y_test = data",
    ]
    if data.get("standardize"):
        lines.append("X, X_test, mean, std = sl.datasets.standardize(X, X_test)")
    lines.append("model = sl.Sequential([")
    for layer in model["layers"]:
        lines.append(f"    {_layer_code(layer)},")
    lines.append(f"], seed={model['seed']})")
    optimizer = dict(train["optimizer"])
    name = optimizer.pop("name")
    arguments = ", ".join(f"{key}={value!r}" for key, value in optimizer.items())
    constructor = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}[name]
    lines.append(f"model.compile(loss={train['loss']!r}, optimizer=sl.{constructor}({arguments}))")
    callbacks = ""
    if train.get("early_stopping_patience") is not None:
        callbacks = f", callbacks=[sl.EarlyStopping(patience={train['early_stopping_patience']})]"
    lines.append(
        f"history = model.fit(X, y, epochs={train['epochs']}, batch_size={train['batch_size']}, "
        f"validation_data=(X_test, y_test){callbacks})"
    )
    lines.append("print(model.evaluate(X_test, y_test))")
    return "\n".join(lines) + "\n"


def _layer_code(layer: dict[str, Any]) -> str:
    kind = layer["type"]
    if kind == "batchnorm":
        return "sl.BatchNorm()"
    if kind == "dropout":
        return f"sl.Dropout({layer['rate']!r})"
    arguments = [str(layer["units"])]
    if layer.get("activation") is not None:
        arguments.append(f"activation={layer['activation']!r}")
    for key, default in (("init", "auto"), ("weight_scale", 1.0), ("l1", 0.0), ("l2", 0.0)):
        if layer.get(key, default) != default:
            arguments.append(f"{key}={layer[key]!r}")
    return f"sl.Dense({', '.join(arguments)})"
