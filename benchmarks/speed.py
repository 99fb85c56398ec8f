"""Side-by-side training speed: sigmalab, PyTorch, scikit-learn and the GEMM-only ceiling.

Every contender trains the same network shape with plain SGD in float32 on the same
synthetic data for the same number of samples. Timings are interleaved (one repeat of
every contender, then the next repeat) so that machine load hits all of them alike; the
tables report each contender's fastest round and the spread of the per-round ratios.
PyTorch and scikit-learn are skipped when not installed.

    python benchmarks/speed.py            # a few minutes
    python benchmarks/speed.py --quick    # under a minute
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

import sigmalab as sl

# Peers are imported only by their own trainers, so a memory probe of one contender
# never pays for another's import.
HAVE_TORCH = importlib.util.find_spec("torch") is not None
HAVE_SKLEARN = importlib.util.find_spec("sklearn") is not None
LEARNING_RATE = 0.01
SEED = 0


@dataclass(frozen=True)
class Shape:
    """A reference network: input width, hidden widths, outputs, batch and sample counts."""

    name: str
    inputs: int
    hidden: tuple[int, ...]
    outputs: int
    batch_size: int
    activation: str
    samples: int
    quick_samples: int

    @property
    def loss(self) -> str:
        """Regression for one output, softmax classification otherwise."""
        return "mse" if self.outputs == 1 else "cross_entropy"

    @property
    def widths(self) -> list[int]:
        """Input, hidden and output widths in order."""
        return [self.inputs, *self.hidden, self.outputs]


SHAPES = (
    Shape("2-8-8-8-1", 2, (8, 8, 8), 1, 10, "tanh", 40_000, 3_000),
    Shape("784-256-256-10", 784, (256, 256), 10, 128, "relu", 16_384, 1_024),
    Shape("64 x 20 hidden, 10 out", 64, (64,) * 20, 10, 64, "relu", 24_000, 1_920),
)
MEMORY_SHAPE = SHAPES[1]


def make_data(shape: Shape, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs; Gaussian targets (regression) or uniform labels (classification)."""
    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((samples, shape.inputs), dtype=np.float32)
    if shape.outputs == 1:
        return X, rng.standard_normal((samples, 1), dtype=np.float32)
    return X, rng.integers(0, shape.outputs, samples)


# ---- contenders: each returns a function that trains one epoch over the data -----------
Trainer = Callable[[], None]


def sigmalab_layers(shape: Shape) -> list[sl.Layer]:
    """The shape as sigmalab layers: activation on the hidden layers, linear output."""
    return [*(sl.Dense(width, shape.activation) for width in shape.hidden), sl.Dense(shape.outputs)]


def sigmalab_trainer(
    shape: Shape,
    X: np.ndarray,
    y: np.ndarray,
    lr: float = LEARNING_RATE,
    seed: int = SEED,
    epochs: int = 1,
) -> Trainer:
    """What users call: Sequential + compile + fit(verbose=0)."""
    model = sl.Sequential(sigmalab_layers(shape), seed=seed)
    model.compile(shape.loss, sl.SGD(lr=lr))
    return lambda: model.fit(X, y, epochs=epochs, batch_size=shape.batch_size, verbose=0)


def torch_trainer(
    shape: Shape, X: np.ndarray, y: np.ndarray, lr: float = LEARNING_RATE, seed: int = SEED
) -> Trainer:
    """An idiomatic PyTorch loop: shuffle, slice, zero_grad, backward, step."""
    import torch

    torch.manual_seed(seed)
    activation = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[shape.activation]
    modules: list[torch.nn.Module] = []
    for fan_in, fan_out in zip(shape.widths[:-2], shape.widths[1:-1], strict=True):
        modules += [torch.nn.Linear(fan_in, fan_out), activation()]
    modules.append(torch.nn.Linear(shape.widths[-2], shape.outputs))
    net = torch.nn.Sequential(*modules)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = torch.nn.MSELoss() if shape.outputs == 1 else torch.nn.CrossEntropyLoss()
    X_all, y_all = torch.from_numpy(X), torch.from_numpy(y)
    n, batch = len(X), shape.batch_size

    def train() -> None:
        order = torch.randperm(n)
        X_epoch, y_epoch = X_all[order], y_all[order]
        for start in range(0, n, batch):
            optimizer.zero_grad()
            loss = loss_fn(net(X_epoch[start : start + batch]), y_epoch[start : start + batch])
            loss.backward()
            optimizer.step()

    return train


def sklearn_trainer(shape: Shape, X: np.ndarray, y: np.ndarray) -> Trainer:
    """MLPClassifier / MLPRegressor: plain SGD, fixed batches, one epoch, no early stopping."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    estimator = MLPRegressor if shape.outputs == 1 else MLPClassifier
    model = estimator(
        hidden_layer_sizes=shape.hidden,
        activation=shape.activation,
        solver="sgd",
        learning_rate_init=LEARNING_RATE,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=shape.batch_size,
        max_iter=1,
        tol=0.0,
        n_iter_no_change=10**9,
        early_stopping=False,
        random_state=SEED,
    )
    labels = y.ravel() if shape.outputs == 1 else y

    def train() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, labels)

    return train


def ceiling_trainer(shape: Shape, X: np.ndarray, y: np.ndarray) -> Trainer:
    """Only the matrix products of training: x W, x^T delta and delta W^T per layer.

    The first layer's delta W^T is left out, as every contender leaves it out (nobody
    needs the gradient with respect to the data), so the ceiling is not flattered.
    """
    rng = np.random.default_rng(SEED)
    batch = shape.batch_size
    pairs = list(zip(shape.widths[:-1], shape.widths[1:], strict=True))
    weights = [
        rng.standard_normal((i, o), dtype=np.float32) / np.float32(np.sqrt(i)) for i, o in pairs
    ]
    outputs = [np.empty((batch, o), np.float32) for _, o in pairs]
    deltas = [rng.standard_normal((batch, o), dtype=np.float32) for _, o in pairs]
    weight_grads = [np.empty_like(W) for W in weights]
    input_grads = [np.empty((batch, i), np.float32) for i, _ in pairs]
    n = len(X) // batch * batch

    def train() -> None:
        for start in range(0, n, batch):
            inputs = [X[start : start + batch], *outputs[:-1]]
            for x, W, z in zip(inputs, weights, outputs, strict=True):
                np.matmul(x, W, out=z)
            for layer in reversed(range(len(weights))):
                np.matmul(inputs[layer].T, deltas[layer], out=weight_grads[layer])
                if layer:
                    np.matmul(deltas[layer], weights[layer].T, out=input_grads[layer])

    return train


PEER_PACKAGES = tuple(
    package
    for package, present in (("torch", HAVE_TORCH), ("scikit-learn", HAVE_SKLEARN))
    if present
)
CONTENDERS: dict[str, Callable[[Shape, np.ndarray, np.ndarray], Trainer]] = {
    "sigmalab": sigmalab_trainer,
    **({"PyTorch": torch_trainer} if HAVE_TORCH else {}),
    **({"scikit-learn": sklearn_trainer} if HAVE_SKLEARN else {}),
    "GEMM ceiling": ceiling_trainer,
}


# ---- thread settings ---------------------------------------------------------------------
MODES = ("1 thread", "default")
# Idle OpenBLAS and OpenMP workers spin for about 0.1 s before they sleep: every timed run
# waits that long first, so one contender's spinning pool does not take the next one's core
# (in both modes, so that a run after a pause is compared with a run after a pause).
IDLE_PAUSE = 0.1


@contextmanager
def thread_mode(mode: str):
    """'1 thread': BLAS, OpenMP and PyTorch limited to one thread; 'default': untouched."""
    if mode == "default":
        yield
        return
    torch = sys.modules.get("torch")
    torch_threads = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=1):
        if torch is not None:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(torch_threads)


# ---- timing ------------------------------------------------------------------------------
def seconds(train: Trainer) -> float:
    """Wall time of one call."""
    start = time.perf_counter()
    train()
    return time.perf_counter() - start


def run_speed(quick: bool, repeats: int) -> dict[tuple[str, str, str], list[float]]:
    """samples/s lists keyed by (mode, shape, contender), timed in interleaved rounds.

    Round 0 is a warm-up in every thread mode (caches, lazy imports, allocator pools) and
    is not recorded.
    """
    trainers = {}
    for shape in SHAPES:
        X, y = make_data(shape, shape.quick_samples if quick else shape.samples)
        for name, make in CONTENDERS.items():
            trainers[shape.name, name] = (make(shape, X, y), len(X))
    rates: dict[tuple[str, str, str], list[float]] = {
        (mode, *key): [] for mode in MODES for key in trainers
    }
    for round_index in range(repeats + 1):
        print(f"  round {round_index}/{repeats}", file=sys.stderr)
        for mode in MODES:
            with thread_mode(mode):
                for (shape_name, name), (train, samples) in trainers.items():
                    time.sleep(IDLE_PAUSE)
                    rate = samples / seconds(train)
                    if round_index:
                        rates[mode, shape_name, name].append(rate)
    return rates


# ---- many networks at once --------------------------------------------------------------
ENSEMBLE_SIZE = 64
ENSEMBLE_LRS = (0.003, 0.01, 0.03, 0.1)
ENSEMBLE_SAMPLES, ENSEMBLE_EPOCHS = 250, 20  # a playground dataset's training half, 500 steps
ONE_BY_ONE_TIMED = 8  # networks timed one after the other (quick: 4); each costs the same


def ensemble_trainers(
    X: np.ndarray, y: np.ndarray, one_by_one_timed: int = ONE_BY_ONE_TIMED
) -> dict[str, tuple[Trainer, int]]:
    """Ways to train K = 64 playground networks (2-8-8-8-1): (function, networks it trains).

    Each function builds its networks too, as a grid search would: seeds 0..63 crossed with
    four learning rates. Trained one after the other, every network costs the same, so
    timing ``one_by_one_timed`` of them gives the rate of all 64 without the wait.
    """
    shape = SHAPES[0]
    members = [{"seed": k, "lr": ENSEMBLE_LRS[k % len(ENSEMBLE_LRS)]} for k in range(ENSEMBLE_SIZE)]

    def together() -> None:
        ensemble = sl.Ensemble(sigmalab_layers(shape), members).compile(shape.loss, "sgd")
        ensemble.fit(X, y, epochs=ENSEMBLE_EPOCHS, batch_size=shape.batch_size)

    def sigmalab_alone(member: dict) -> None:
        """One network as a user trains it: a model, then one fit call for all epochs."""
        train = sigmalab_trainer(shape, X, y, member["lr"], member["seed"], ENSEMBLE_EPOCHS)
        train()

    def torch_alone(member: dict) -> None:
        """PyTorch has no fit: its idiomatic loop runs one epoch after the other."""
        train_epoch = torch_trainer(shape, X, y, lr=member["lr"], seed=member["seed"])
        for _ in range(ENSEMBLE_EPOCHS):
            train_epoch()

    def one_by_one(train_alone: Callable[[dict], None]) -> Trainer:
        return lambda: [train_alone(member) for member in members[:one_by_one_timed]]

    trainers = {
        "sigmalab Ensemble (64 at once)": (together, ENSEMBLE_SIZE),
        "sigmalab Sequential, one by one": (one_by_one(sigmalab_alone), one_by_one_timed),
    }
    if HAVE_TORCH:
        trainers["PyTorch, one by one"] = (one_by_one(torch_alone), one_by_one_timed)
    return trainers


def run_ensemble(quick: bool, repeats: int) -> dict[str, list[float]]:
    """Network-samples/s per way of training the 64 networks, one thread, interleaved."""
    X, y = make_data(SHAPES[0], ENSEMBLE_SAMPLES)
    trainers = ensemble_trainers(X, y, ONE_BY_ONE_TIMED // 2 if quick else ONE_BY_ONE_TIMED)
    rates: dict[str, list[float]] = {name: [] for name in trainers}
    with thread_mode("1 thread"):
        for round_index in range(repeats + 1):
            print(f"  ensemble round {round_index}/{repeats}", file=sys.stderr)
            for name, (train, networks) in trainers.items():
                rate = networks * ENSEMBLE_SAMPLES * ENSEMBLE_EPOCHS / seconds(train)
                if round_index:
                    rates[name].append(rate)
    return rates


# ---- memory ------------------------------------------------------------------------------
def _status_kib(field: str) -> int:
    """A size from /proc/self/status in KiB: VmRSS (resident now) or VmHWM (its peak)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def memory_child(name: str) -> None:
    """In a fresh process: print the resident size before training and its peak during it.

    Writing 5 to /proc/self/clear_refs resets the peak (VmHWM) to the current size, so
    the peak afterwards is the training's own, not an import spike's. (ru_maxrss would
    also count the parent's size at fork, which a subprocess inherits as a floor.)
    """
    shape = MEMORY_SHAPE
    X, y = make_data(shape, shape.samples)
    train = CONTENDERS[name](shape, X, y)
    with thread_mode("1 thread"):
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        before = _status_kib("VmRSS")
        train()
        peak = _status_kib("VmHWM")
    print(before, peak)


def run_memory() -> dict[str, tuple[float, float]]:
    """(training delta, whole-process peak) in MiB per contender, each in its own process."""
    results = {}
    for name in CONTENDERS:
        if name == "GEMM ceiling":
            continue
        output = subprocess.run(
            [sys.executable, __file__, "--memory-child", name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        before, after = (int(value) / 1024 for value in output[-2:])
        results[name] = (after - before, after)
    return results


# ---- report ------------------------------------------------------------------------------
def machine_description() -> list[str]:
    """Date, CPU, cores, library versions and the BLAS NumPy uses."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    blas = next(
        (
            f"{lib['internal_api']} {lib['version']} ({lib.get('architecture', '?')}, "
            f"{lib['num_threads']} threads)"
            for lib in threadpool_info()
            if lib["user_api"] == "blas" and "numpy" in lib["filepath"]
        ),
        "unknown",
    )
    versions = [f"numpy {np.__version__}", f"sigmalab {sl.__version__}"]
    versions += [f"{package} {version(package)}" for package in PEER_PACKAGES]
    lines = [
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        f"libraries: {', '.join(versions)}; NumPy BLAS: {blas}",
    ]
    if os.environ.get("OPENBLAS_CORETYPE"):
        lines.append(f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}")
    return lines


def paired_ratio(numerators: list[float], denominators: list[float]) -> str:
    """Median of the round-by-round ratios, with their range.

    Both were timed in the same round, seconds apart, so a ratio taken within a round
    cancels the machine's slow drifts; the range shows what is left.
    """
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True)]
    return f"{statistics.median(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def speed_table(rates: dict[tuple[str, str, str], list[float]], repeats: int) -> list[str]:
    """Markdown tables: each contender's fastest round with ratios, then per-round ratios.

    Other work on a shared machine only ever slows a run down, so the fastest of several
    rounds is the steadiest estimate of what a contender can do (timeit's rule); the
    per-round ratios show how far single rounds scatter.
    """
    peers = [name for name in CONTENDERS if name != "sigmalab"]
    header = ["shape (batch)", "threads", *CONTENDERS, *(f"vs {peer}" for peer in peers)]
    lines = [
        f"samples/s, SGD, float32, fastest of {repeats} interleaved rounds (higher is better)",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for mode in MODES:
        for shape in SHAPES:
            best = {name: max(rates[mode, shape.name, name]) for name in CONTENDERS}
            cells = [f"{shape.name} ({shape.batch_size})", mode]
            cells += [f"{best[name]:,.0f}" for name in CONTENDERS]
            cells += [f"{best['sigmalab'] / best[peer]:.2f}x" for peer in peers]
            lines.append("| " + " | ".join(cells) + " |")
    header = ["shape (batch)", "threads", *(f"vs {peer}" for peer in peers)]
    lines += [
        "",
        "sigmalab's ratios within each round: median (lowest-highest)",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for mode in MODES:
        for shape in SHAPES:
            mine = rates[mode, shape.name, "sigmalab"]
            cells = [f"{shape.name} ({shape.batch_size})", mode]
            cells += [paired_ratio(mine, rates[mode, shape.name, peer]) for peer in peers]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "sigmalab with default threads relative to 1 thread (fastest rounds):"]
    for shape in SHAPES:
        default, single = (max(rates[mode, shape.name, "sigmalab"]) for mode in MODES[::-1])
        lines.append(f"  {shape.name}: {default / single:.2f}x")
    return lines


def ensemble_table(rates: dict[str, list[float]]) -> list[str]:
    """Markdown table of the fastest round's network-samples/s, speed-ups, per-round ones."""
    together = next(iter(rates.values()))
    lines = [
        f"{ENSEMBLE_SIZE} networks 2-8-8-8-1, batch 10, {ENSEMBLE_SAMPLES} samples x "
        f"{ENSEMBLE_EPOCHS} epochs each, building included, 1 thread (network-samples/s):",
        "",
        "| training | network-samples/s | Ensemble speed-up | within each round |",
        "|---|---|---|---|",
    ]
    for name, values in rates.items():
        speed_up = max(together) / max(values)
        cells = [name, f"{max(values):,.0f}", f"{speed_up:.1f}x", paired_ratio(together, values)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def memory_table(memory: dict[str, tuple[float, float]]) -> list[str]:
    """Markdown table of the memory each contender's 784 run adds to its process."""
    lines = [
        f"peak memory, {MEMORY_SHAPE.name} on {MEMORY_SHAPE.samples} samples, one process each:",
        "(training = peak resident size during training (VmHWM, reset just before) minus the",
        " resident size after imports, data and model creation; process = that peak)",
        "",
        "| contender | training MiB | process MiB |",
        "|---|---|---|",
    ]
    for name, (delta, peak) in memory.items():
        lines.append(f"| {name} | {delta:.1f} | {peak:.0f} |")
    if "PyTorch" in memory and memory["PyTorch"][0] > 0:
        ratio = memory["sigmalab"][0] / memory["PyTorch"][0]
        lines.append(f"\nsigmalab / PyTorch training memory: {ratio:.2f}x")
    return lines


def main() -> None:
    """Parse arguments, run the interleaved timings and the memory probes, print tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and repeats")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (default 5, quick 3)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    repeats = args.repeats or (3 if args.quick else 5)
    print("\n".join(machine_description()), end="\n\n")
    rates = run_speed(args.quick, repeats)
    print("\n".join(speed_table(rates, repeats)), end="\n\n")
    print("\n".join(ensemble_table(run_ensemble(args.quick, repeats))), end="\n\n")
    print("\n".join(memory_table(run_memory())))


if __name__ == "__main__":
    main()
