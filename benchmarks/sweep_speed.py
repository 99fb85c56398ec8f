"""A sweep against the same runs trained one by one, and 2 workers against 1.

Part 1, 120 runs that share one shape (4 learning rates x 3 dropout rates x 10 seeds of a
Playground network): ``sigmalab sweep`` (one sl.Ensemble), a Python loop of ``fit`` calls,
and separate ``sigmalab train`` commands. The commands are estimated: a few are timed and
their mean is multiplied by 120 (printed as such). Part 2, runs of different shapes (hidden
units 2..17), which cannot share an ensemble: 1 worker against 2.

    python benchmarks/sweep_speed.py            # about 3 minutes on 2 cores
    python benchmarks/sweep_speed.py --quick    # fewer epochs and timed commands
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import threadpoolctl

from sigmalab.config import RunConfig, build_model
from sigmalab.runner import load_data, watched_split
from sigmalab.sweeps.execute import run_sweep
from sigmalab.sweeps.grid import expand

RUN = """\
[data]
dataset = "circle"
samples = 500
noise = 0.05
standardize = true

[model]
layers = [
  {{type = "dense", units = 8, activation = "tanh"}},
  {{type = "dropout", rate = 0.0}},
  {{type = "dense", units = 8, activation = "tanh"}},
  {{type = "dense", units = 1}},
]

[train]
loss = "bce"
epochs = {epochs}
batch_size = 10
optimizer = {{name = "adam", lr = 0.03}}
"""
SHARED_GRID = {
    "train.optimizer.lr": [0.1, 0.03, 0.01, 0.003],
    "model.layers[1].rate": [0.0, 0.1, 0.2],
}
SHAPES_GRID = {"model.layers[0].units": list(range(2, 18))}


def timed(function, *args, **kwargs) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - started


def fit_loop(configs: list[RunConfig]) -> None:
    """What a user writes without sweeps: build and fit each run's model in turn."""
    for config in configs:
        dataset, preprocessing = load_data(config)
        model = build_model(config)
        model.preprocessing = preprocessing
        model.fit(
            dataset.X_train,
            dataset.y_train,
            epochs=config.train.epochs,
            batch_size=config.train.batch_size,
            validation_data=watched_split(dataset),
            verbose=0,
        )


def commands(run_file: Path, folder: Path, count: int) -> float:
    """Mean seconds of one ``sigmalab train`` command (doctor off, as in the sweep)."""
    total = 0.0
    for k in range(count):
        command = [sys.executable, "-m", "sigmalab", "train", str(run_file), "-q", "--no-doctor"]
        command += ["--set", f"model.seed={k}", "--out", str(folder / f"train{k}")]
        total += timed(subprocess.run, command, check=True)
    return total / count


def sweep(run_file: Path, grid: dict, folder: Path, **options) -> float:
    """Seconds of a whole sweep into a fresh folder (the doctor off unless asked)."""
    options.setdefault("doctor", False)
    return timed(lambda: run_sweep(run_file, grid, folder, **options).close())


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (pool workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main() -> None:
    """Print both comparisons, the BLAS kernel and the machine's load."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    epochs, timed_commands = (20, 2) if quick else (100, 5)
    blas = [lib for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]
    for lib in blas:
        print(f"BLAS: {lib['internal_api']} {lib['version']} kernel {lib.get('architecture')}")
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        run_file = folder / "playground.toml"
        run_file.write_text(RUN.format(epochs=epochs))
        configs = [run.config for run in expand(run_file, SHARED_GRID, seeds=10)]
        print(f"\n120 runs sharing one shape ({epochs} epochs, 500 samples, batch 10)")
        ensemble = sweep(run_file, SHARED_GRID, folder / "s1", seeds=10)
        doctored = sweep(run_file, SHARED_GRID, folder / "s2", seeds=10, doctor=True)
        loop = timed(fit_loop, configs)
        one_command = commands(run_file, folder, timed_commands)
        separate = one_command * len(configs)
        print(f"  sweep (one ensemble)          {ensemble:8.1f} s")
        print(f"  sweep with the doctor         {doctored:8.1f} s")
        print(f"  Python loop of fit            {loop:8.1f} s   sweep is {loop / ensemble:.1f}x")
        print(
            f"  separate 'sigmalab train'     {separate:8.1f} s   sweep is "
            f"{separate / ensemble:.1f}x  (estimated: {timed_commands} commands timed, "
            f"{one_command:.2f} s each, x 120)"
        )
        print(f"\n{len(SHAPES_GRID['model.layers[0].units'])} runs of different shapes")
        used = cpu_seconds()
        one = sweep(run_file, SHAPES_GRID, folder / "w1")
        used_one, used = cpu_seconds() - used, cpu_seconds()
        two = sweep(run_file, SHAPES_GRID, folder / "w2", workers=2)
        used_two = cpu_seconds() - used
        print(f"  1 worker                      {one:8.1f} s   {used_one:.1f} CPU s")
        print(
            f"  2 worker processes            {two:8.1f} s   {used_two:.1f} CPU s"
            f"   {one / two:.2f}x"
        )
        print(
            f"  CPU per wall second: {used_one / one:.2f} (1 worker), {used_two / two:.2f} "
            "(2 workers); 2.0 is two free cores"
        )
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
