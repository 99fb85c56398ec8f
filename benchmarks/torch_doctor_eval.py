"""The doctor in PyTorch loops, measured on the scenario catalogue next to sigmalab's doctor.

Each run file becomes a PyTorch loop: the same network (nn.Linear, activation modules or
the module to_torch() exports for a formula, nn.BatchNorm1d, nn.Dropout) starting from
the initial weights of the sigmalab model the run file builds, the same data and
preprocessing (sigmalab.runner.load_data), the same update rule and learning rate, batch
size and epochs, trained with ``sl.doctor.watch`` attached (told the loop's length, as
fit tells sigmalab's doctor). The loop does what fit does around its doctor: epoch loss
and accuracy from the training batches, a stop at a non-finite batch loss and after an
epoch whose loss is non-finite (``doctor.diverged``); a finite blow-up trains on.
Shuffling and dropout masks come from torch's generator, so the runs are twins, not
copies. Prints recall, precision and the median probe cost per kind for both frameworks
(benchmarks/doctor_eval.py's tables), the false alarms on healthy runs and the probe cost
(each doctor's own count of its time against training time).

    python benchmarks/torch_doctor_eval.py              # the whole catalogue, 1-3 minutes
    python benchmarks/torch_doctor_eval.py --quick      # one run file per kind
    python benchmarks/torch_doctor_eval.py --threads 2  # torch.set_num_threads(2) (default 1)
    python benchmarks/torch_doctor_eval.py --unknown-length  # the watch not told steps=
    python benchmarks/torch_doctor_eval.py --device cuda    # the twins train on the GPU
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from doctor_eval import (
    HEALTHY,
    Scenario,
    detection_table,
    load_catalogue,
    machine_line,
    quick_subset,
    watched_by_a_doctor_alone,
)
from torch import nn

import sigmalab as sl
from sigmalab.config import RunConfig, build_model, load_run
from sigmalab.layers import BatchNorm, Dense, Dropout
from sigmalab.runner import check_loss_fits, load_data, train_run, watched_split

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "swish": nn.SiLU,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "hard_sigmoid": nn.Hardsigmoid,
}
LOSSES = {"bce": nn.BCEWithLogitsLoss, "cross_entropy": nn.CrossEntropyLoss, "mse": nn.MSELoss}


def torch_twin(model: sl.Sequential) -> nn.Sequential:
    """An nn.Sequential computing what the built sigmalab ``model`` computes, same weights.

    A formula activation (``log(x)``) has no torch.nn class: it is the module that
    ``model.to_torch()`` exports for it.
    """
    exported = iter(model.to_torch().layers)  # per Dense: its Linear, then its activation
    modules: list[nn.Module] = []
    for layer in model.layers:
        if isinstance(layer, Dense):
            W = layer.params["W"]
            linear = nn.Linear(W.shape[0], W.shape[1], bias="b" in layer.params)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                if "b" in layer.params:
                    linear.bias.copy_(torch.from_numpy(layer.params["b"]))
            modules.append(linear)
            next(exported)
            formula = next(exported)
            name = layer.activation.name
            if name in ACTIVATIONS:
                modules.append(ACTIVATIONS[name]())
            elif name != "linear":
                modules.append(formula)
            continue
        next(exported)
        if isinstance(layer, BatchNorm):
            norm = nn.BatchNorm1d(layer.params["gamma"].shape[0], layer.eps, layer.momentum)
            modules.append(norm)
        elif isinstance(layer, Dropout):
            modules.append(nn.Dropout(layer.rate))
    return nn.Sequential(*modules)


def torch_optimizer(settings: dict, parameters) -> torch.optim.Optimizer:
    """The torch optimizer with the run file's update rule and settings."""
    name, lr = settings["name"], settings["lr"]
    if name == "sgd":
        return torch.optim.SGD(
            parameters, lr=lr, momentum=settings["momentum"], nesterov=settings["nesterov"]
        )
    if name == "adam":
        betas = (settings["beta1"], settings["beta2"])
        return torch.optim.Adam(parameters, lr=lr, betas=betas, eps=settings["eps"])
    return torch.optim.RMSprop(parameters, lr=lr, alpha=settings["rho"], eps=settings["eps"])


def _targets(y: np.ndarray, loss: str) -> torch.Tensor:
    if loss == "cross_entropy":
        return torch.from_numpy(np.asarray(y, dtype=np.int64))
    return torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(-1, 1))


def _accuracy(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor | None:
    """The share of rows classified right (None for regression), as sigmalab counts it."""
    if loss == "bce":
        return ((out > 0) == (y > 0.5)).float().mean()
    if loss == "cross_entropy":
        return (out.argmax(1) == y).float().mean()
    return None


def _metrics(model: nn.Module, loss_fn, X, y, loss: str) -> dict[str, float]:
    """Loss (and accuracy for classification) in inference mode."""
    model.eval()
    with torch.no_grad():
        out = model(X)
        metrics = {"loss": float(loss_fn(out, y))}
        accuracy = _accuracy(out, y, loss)
        if accuracy is not None:
            metrics["accuracy"] = float(accuracy)
    model.train()
    return metrics


def train_torch(
    config: RunConfig, tell_length: bool = True, device: str = "cpu"
) -> sl.doctor.TorchDoctor:
    """Train the run file's PyTorch twin with a watch attached; the watch after it closed.

    The loop does what sigmalab's fit does around its doctor: the epoch's loss and accuracy
    are the training batches' (weighted by their rows), training stops at a non-finite
    batch loss, and after an epoch whose loss is non-finite (``doctor.diverged``). On
    ``device`` the network and the data live there; the shuffling order comes from the CPU
    generator.
    """
    dataset, preprocessing = load_data(config)
    check_loss_fits(config, dataset)
    model_sl = build_model(config)
    model_sl.preprocessing = preprocessing
    X = model_sl.preprocess(dataset.X_train).astype(np.float32)
    model_sl.build(X.shape[1])
    torch.manual_seed(config.model.seed)
    model = torch_twin(model_sl).to(device)
    loss_name = config.train.loss
    loss_fn = LOSSES[loss_name]()
    settings = config.train.optimizer.model_dump()
    optimizer = torch_optimizer(settings, model.parameters())
    X_val, y_val = watched_split(dataset)
    X_val = torch.from_numpy(model_sl.preprocess(X_val).astype(np.float32)).to(device)
    y_val = _targets(y_val, loss_name).to(device)
    X, y = torch.from_numpy(X).to(device), _targets(dataset.y_train, loss_name).to(device)
    batch, generator = config.train.batch_size, torch.Generator().manual_seed(config.model.seed)
    steps = config.train.epochs * math.ceil(len(X) / batch) if tell_length else None
    with sl.doctor.watch(model, optimizer, loss_fn=loss_fn, steps=steps) as doctor:
        for _ in range(config.train.epochs):
            order = torch.randperm(len(X), generator=generator)
            loss_sum = correct = 0.0
            diverged = False
            for start in range(0, len(X), batch):
                rows = order[start : start + batch]
                optimizer.zero_grad()
                out = model(X[rows])
                loss = loss_fn(out, y[rows])
                loss.backward()
                doctor.step(loss)
                if settings.get("clip_norm") is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), settings["clip_norm"])
                optimizer.step()
                value = float(loss.detach())
                loss_sum += value * len(rows)
                accuracy = _accuracy(out.detach(), y[rows], loss_name)
                correct += 0.0 if accuracy is None else float(accuracy) * len(rows)
                if not math.isfinite(value):
                    diverged = True
                    break
            val = _metrics(model, loss_fn, X_val, y_val, loss_name)
            doctor.epoch_end(
                loss=loss_sum / len(X),
                accuracy=correct / len(X) if "accuracy" in val else None,
                val_loss=val["loss"],
                val_accuracy=val.get("accuracy"),
            )
            if diverged or doctor.diverged:
                break
    return doctor


def sigmalab_doctor(config: RunConfig) -> sl.Doctor:
    """The sigmalab doctor's run of the same file (as ``diagnose`` trains it)."""
    doctor = sl.Doctor()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        train_run(config, callbacks=[doctor], verbose=0)
    return doctor


def _cell(value: float) -> str:
    return "  -  " if math.isnan(value) else f"{value:5.2f}"


def probe_costs(runs: dict[Scenario, object]) -> dict[str, float]:
    """Per scenario folder (a kind, or healthy): the median of the doctor's own probe time
    over training time on its run files."""
    shares: dict[str, list[float]] = {}
    for scenario, doctor in runs.items():
        shares.setdefault(scenario.kind, []).append(doctor.to_dict()["overhead"])
    return {kind: statistics.median(values) for kind, values in shares.items()}


def print_side_by_side(
    tables: dict[str, dict[str, dict[str, float]]], costs: dict[str, dict[str, float]]
) -> None:
    """Per kind and framework: TP/FP/FN, recall, precision and the median probe cost of the
    run files built to show that kind."""
    names = list(tables)
    header = "".join(
        f"{name + ' TP/FP/FN':>20}{'recall':>8}{'prec.':>7}{'cost':>7}" for name in names
    )
    print(f"\n{'kind':<24}{header}")
    for kind in [*tables[names[0]], HEALTHY]:
        cells = ""
        for name in names:
            row = tables[name].get(kind, {"tp": 0, "fp": 0, "fn": 0})
            counts = f"{row['tp']}/{row['fp']}/{row['fn']}"
            recall, precision = row.get("recall", math.nan), row.get("precision", math.nan)
            cost = costs[name].get(kind, math.nan)
            cost_cell = "  -  " if math.isnan(cost) else f"{cost:5.1%}"
            cells += f"{counts:>20}{_cell(recall):>8}{_cell(precision):>7}{cost_cell:>7}"
        print(f"{kind:<24}{cells}")


def main(argv: list[str] | None = None) -> int:
    """Run both doctors over the catalogue and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run file per kind")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch.set_num_threads (1: fastest for tiny nets)"
    )
    parser.add_argument("--device", default="cpu", help="where the twins train (cpu, cuda)")
    parser.add_argument(
        "--unknown-length",
        action="store_true",
        help="do not tell the watch the loop's length (steps=None: its own schedule)",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    torch.set_num_threads(args.threads)
    scenarios = watched_by_a_doctor_alone(load_catalogue())
    if args.quick:
        scenarios = quick_subset(scenarios)
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(
        f"{machine_line()}; torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"twins on {args.device} ({where})"
    )
    started = time.perf_counter()
    doctors: dict[str, dict[Scenario, object]] = {"sigmalab": {}, "pytorch": {}}
    for scenario in scenarios:
        config = load_run(scenario.path)
        doctors["sigmalab"][scenario] = sigmalab_doctor(config)
        doctors["pytorch"][scenario] = train_torch(config, not args.unknown_length, args.device)
    print(f"trained {len(scenarios)} run files twice in {time.perf_counter() - started:.1f} s")
    found = {
        name: {s: frozenset(f.kind for f in d.findings) for s, d in runs.items()}
        for name, runs in doctors.items()
    }
    print_side_by_side(
        {name: detection_table(results) for name, results in found.items()},
        {name: probe_costs(runs) for name, runs in doctors.items()},
    )
    healthy = [s for s in scenarios if s.kind == HEALTHY]
    for name, runs in doctors.items():
        alarms = [
            s.name
            for s in healthy
            if any(f.severity in ("warning", "error") for f in runs[s].findings)
        ]
        shares = [d.to_dict()["overhead"] for d in runs.values()]
        costliest = max(runs, key=lambda s: runs[s].to_dict()["overhead"]).name
        print(
            f"{name}: false alarms on healthy runs {len(alarms)} of {len(healthy)} "
            f"{alarms or ''}; probe time / train time median {statistics.median(shares):.1%}, "
            f"max {max(shares):.1%} ({costliest}), over 5 % in {sum(x > 0.05 for x in shares)} "
            f"of {len(shares)} runs"
        )
    print("\nscenarios where the two doctors disagree:")
    for scenario in scenarios:
        ours, theirs = found["sigmalab"][scenario], found["pytorch"][scenario]
        if ours != theirs:
            print(
                f"  {scenario.name}: sigmalab {', '.join(sorted(ours)) or '-'}; "
                f"pytorch {', '.join(sorted(theirs)) or '-'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
