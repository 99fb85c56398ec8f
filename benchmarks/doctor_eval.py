"""How well the doctor works, measured on the scenario catalogue (scenarios/).

Prints the CPU and BLAS kernel it ran on, then, for every finding kind, recall and precision
of what the doctor reports against each run file's expected kinds (scenarios/expected.toml;
a kind listed under ``also_true`` for a run is allowed there, neither required nor an
error), judged kind by kind; the false alarms on
the healthy runs; repair as a user judges it (a run is repaired when the run handed back is
healthy, so no longer no better than the constant predictor, and better than before; per
kind, the metric before and after on one scale against the constant predictor and against
the best run the search trained); and the probe overhead: the
doctor's own count of probe time against training time, next to the wall time of the same
medium-size runs with and without a Doctor (interleaved; for information, since a shared
machine moves single runs by more than the 5 % it would have to resolve).

    python benchmarks/doctor_eval.py            # the whole catalogue, about a minute
    python benchmarks/doctor_eval.py --quick    # one run file per kind, under a minute
    python benchmarks/doctor_eval.py --evidence --no-repair   # the numbers behind each finding
    python benchmarks/doctor_eval.py --seeds 5 --no-repair    # does each verdict survive a reseed?

Targets: recall and precision >= 0.95 for each kind, no warning on a healthy run, repair
success >= 0.9, probe time <= 5 % of training time; with ``--seeds N``, every scenario's
verdict holds for model seeds 0..N-1 (a verdict that a reseed flips would also flip with the
rounding of another CPU or BLAS kernel).
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
import tomllib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import threadpoolctl

from sigmalab.callbacks import Callback
from sigmalab.config import RunConfig, load_run
from sigmalab.doctor.callback import Doctor
from sigmalab.doctor.diagnose import Diagnosis, diagnose
from sigmalab.doctor.findings import KINDS
from sigmalab.doctor.repair import RepairResult, repair
from sigmalab.doctor.report import describe_remedy, summarize_evidence
from sigmalab.runner import train_run

CATALOGUE = Path(__file__).resolve().parent.parent / "scenarios"
HEALTHY = "healthy"
# Kinds that diagnose() finds from the watched split after training, not a Doctor callback.
RUN_LEVEL_KINDS = frozenset({"no_learning"})
# Medium-size runs where training takes long enough (about a second) for timing to mean
# something; the catalogue's runs are kept tiny so that the evaluation stays fast.
OVERHEAD_RUNS = {
    "spiral 1000, [32, 32], adam": {
        "data": {"dataset": "spiral", "samples": 1000, "noise": 0.1, "standardize": True},
        "model": {
            "layers": [
                {"type": "dense", "units": 32, "activation": "relu"},
                {"type": "dense", "units": 32, "activation": "relu"},
                {"type": "dense", "units": 1},
            ]
        },
        "train": {"loss": "bce", "epochs": 300, "batch_size": 16, "optimizer": {"name": "adam"}},
    },
    "digits, [64], sgd momentum": {
        "data": {"dataset": "digits", "standardize": True},
        "model": {
            "layers": [
                {"type": "dense", "units": 64, "activation": "tanh"},
                {"type": "dense", "units": 10},
            ]
        },
        "train": {
            "loss": "cross_entropy",
            "epochs": 200,
            "batch_size": 32,
            "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
        },
    },
}


@dataclass(frozen=True)
class Scenario:
    """One run file of the catalogue, the kind it was built to show, its expected kinds and
    the kinds also true of that run (allowed, not required)."""

    path: Path
    kind: str
    expected: frozenset[str]
    allowed: frozenset[str] = frozenset()

    def holds(self, found: frozenset[str]) -> bool:
        """Every expected kind found, and nothing found beyond the expected and allowed."""
        return self.expected <= found <= self.expected | self.allowed

    @property
    def name(self) -> str:
        """``kind/NN-name`` as in expected.toml, without the suffix."""
        return f"{self.kind}/{self.path.stem}"


def load_catalogue(root: Path = CATALOGUE) -> list[Scenario]:
    """Every run file listed in ``root/expected.toml``, sorted by name."""
    with (root / "expected.toml").open("rb") as stream:
        table = tomllib.load(stream)
    also_true = table.get("also_true", {})
    return [
        Scenario(
            root / name,
            name.split("/")[0],
            frozenset(kinds),
            frozenset(also_true.get(name, {}).get("kinds", ())),
        )
        for name, kinds in sorted(table["expected"].items())
    ]


def watched_by_a_doctor_alone(scenarios: list[Scenario]) -> list[Scenario]:
    """The scenarios as a Doctor callback alone can judge them: ``no_learning`` needs the
    watched split (``diagnose`` has it), so it becomes allowed instead of expected."""
    return [
        Scenario(s.path, s.kind, s.expected - RUN_LEVEL_KINDS, s.allowed | RUN_LEVEL_KINDS)
        for s in scenarios
    ]


def quick_subset(scenarios: list[Scenario]) -> list[Scenario]:
    """The first run file of each failure kind and three healthy ones."""
    chosen, seen = [], {}
    for scenario in scenarios:
        limit = 3 if scenario.kind == HEALTHY else 1
        if seen.get(scenario.kind, 0) < limit:
            chosen.append(scenario)
            seen[scenario.kind] = seen.get(scenario.kind, 0) + 1
    return chosen


def found_kinds(diagnosis: Diagnosis) -> frozenset[str]:
    """Every kind the doctor reported, at any severity (an info note is still a detection)."""
    return frozenset(finding.kind for finding in diagnosis.findings)


def detection_table(results: dict[Scenario, frozenset[str]]) -> dict[str, dict[str, float]]:
    """Per kind: true/false positives, false negatives, recall and precision."""
    table = {}
    for kind in KINDS:
        tp = sum(kind in found and kind in s.expected for s, found in results.items())
        fp = sum(
            kind in found and kind not in s.expected | s.allowed for s, found in results.items()
        )
        fn = sum(kind not in found and kind in s.expected for s, found in results.items())
        table[kind] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "precision": tp / (tp + fp) if tp + fp else float("nan"),
        }
    return table


def skill(value: float, constant: float, higher_is_better: bool) -> float:
    """The metric on one scale: 0 for the constant predictor, 1 for a perfect model.

    Accuracy becomes (accuracy - majority share) / (1 - majority share), a loss becomes
    R^2 = 1 - loss / (the constant predictor's loss); a diverged run scores -inf.
    """
    if not math.isfinite(value):
        return -math.inf
    if higher_is_better:
        return (value - constant) / (1.0 - constant) if constant < 1 else 0.0
    return 1.0 - value / constant if constant > 0 else 0.0


@dataclass
class RepairOutcome:
    """A scenario's repair as a user judges it: repaired when the run handed back is healthy
    (no warning or error left, so no no_learning either) and beats the original."""

    scenario: Scenario
    result: RepairResult

    @property
    def repaired(self) -> bool:
        """Healthy, better than before and better than the constant predictor."""
        return bool(self.result.accepted) and self.result.healthy

    def skill(self, diagnosis: Diagnosis) -> float:
        """``diagnosis``'s metric on the constant-predictor scale (see ``skill``)."""
        metric = diagnosis.metric
        return skill(metric.value, metric.constant, metric.higher_is_better)

    @property
    def skills(self) -> tuple[float, float, float]:
        """(before, after, best run trained in the search) on the constant-predictor scale."""
        result = self.result
        return self.skill(result.original), self.skill(result.final), self.skill(result.best_tried)

    def line(self) -> str:
        """One line: verdict, the metric before -> after, the constant predictor, the path."""
        result, metric = self.result, self.result.original.metric
        path = " -> ".join(describe_remedy(attempt.remedy) for attempt in result.accepted)
        return (
            f"  {'ok  ' if self.repaired else 'FAIL'} {self.scenario.name}: {metric.name} "
            f"{metric.value:.3g} -> {result.final.metric.value:.3g} (constant predictor "
            f"{metric.constant:.3g}, best run found {result.best_tried.metric.value:.3g}); "
            f"{result.retrains} retrains; path: {path or 'none accepted'}; left: "
            f"{', '.join(sorted({f.kind for f in result.final.problems})) or 'nothing'}"
        )


def repair_table(outcomes: list[RepairOutcome]) -> dict[str, dict[str, float]]:
    """Per kind: runs, repaired, and the median skill before, after and of the best run found."""
    table = {}
    for kind in KINDS:
        mine = [outcome for outcome in outcomes if outcome.scenario.kind == kind]
        if not mine:
            continue
        before, after, best = zip(*(outcome.skills for outcome in mine), strict=True)
        table[kind] = {
            "runs": len(mine),
            "repaired": sum(outcome.repaired for outcome in mine),
            "before": statistics.median(before),
            "after": statistics.median(after),
            "best": statistics.median(best),
            "at_best": sum(a >= b - 1e-9 for a, b in zip(after, best, strict=True)),
        }
    return table


def _skill(value: float) -> str:
    if not math.isfinite(value):
        return "  -inf"
    return f"{value:6.2f}" if abs(value) < 1000 else f"{value:6.0e}"


def _print_repair(table: dict[str, dict[str, float]]) -> None:
    print(
        "\nper kind (skill: 0 = the constant predictor, 1 = perfect; medians over the runs):\n"
        f"{'kind':<24}{'runs':>5}{'repaired':>9}{'before':>8}{'after':>8}{'best found':>11}"
        f"{'after = best':>13}"
    )
    for kind, row in table.items():
        print(
            f"{kind:<24}{row['runs']:>5}{row['repaired']:>9}  {_skill(row['before'])}"
            f"  {_skill(row['after'])}     {_skill(row['best'])}"
            f"{row['at_best']:>10} of {row['runs']}"
        )


class _Stopwatch(Callback):
    """Times fit from the first on_train_begin to the last on_train_end.

    Placed before and after the Doctor in the callback list, it includes the doctor's
    static checks and final diagnosis but not the data loading around fit.
    """

    def __init__(self) -> None:
        self.started: float | None = None
        self.seconds = 0.0

    def on_train_begin(self, model, logs):
        """Start the clock (once)."""
        if self.started is None:
            self.started = time.perf_counter()

    def on_train_end(self, model, logs):
        """Stop the clock (the last call wins)."""
        self.seconds = time.perf_counter() - self.started


@dataclass
class Overhead:
    """Fit seconds of the interleaved runs without and with a Doctor, and its own accounting."""

    off: list[float]
    on: list[float]
    probe_share: list[float]

    def ratio(self, statistic) -> float:
        """on / off - 1 under ``statistic`` (median: typical; min: least disturbed by load)."""
        return statistic(self.on) / statistic(self.off) - 1.0


def _timed_fit(config: RunConfig, doctor: Doctor | None) -> float:
    watch = _Stopwatch()
    train_run(config, callbacks=[watch, *([doctor] if doctor else []), watch], verbose=0)
    return watch.seconds


def measure_overhead(repeats: int) -> dict[str, Overhead]:
    """Per medium-size run: fit seconds with and without a Doctor, alternating which goes first."""
    results = {}
    for name, data in OVERHEAD_RUNS.items():
        config = RunConfig.from_dict(data)
        _timed_fit(config, Doctor())  # warm caches and imports before timing
        result = Overhead([], [], [])
        for repeat in range(repeats):
            for with_doctor in (False, True) if repeat % 2 == 0 else (True, False):
                if not with_doctor:
                    result.off.append(_timed_fit(config, None))
                    continue
                doctor = Doctor()
                result.on.append(_timed_fit(config, doctor))
                result.probe_share.append(doctor.to_dict()["overhead"])
        results[name] = result
    return results


def _ratio(value: float) -> str:
    return "  -  " if math.isnan(value) else f"{value:5.2f}"


def machine_line() -> str:
    """The CPU, the BLAS library with the kernel it picked and its threads, and NumPy."""
    cpuinfo = Path("/proc/cpuinfo")
    names = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in names if "model name" in line), "")
    cpu = cpu or platform.processor() or platform.machine()
    blas = [
        f"{pool['internal_api']} {pool['version']} kernel {pool.get('architecture')}, "
        f"{pool['num_threads']} thread(s)"
        for pool in threadpoolctl.threadpool_info()
        if pool["user_api"] == "blas"
    ]
    return f"{cpu}; {'; '.join(blas) or 'no BLAS found'}; NumPy {np.__version__}"


def kinds_missing_targets(table: dict[str, dict[str, float]], target: float) -> list[str]:
    """Kinds whose recall or precision is below ``target``; each kind is judged on its own."""
    return [
        kind
        for kind, row in table.items()
        if not (row["recall"] >= target) or (row["tp"] + row["fp"] and row["precision"] < target)
    ]


def _print_detection(table: dict[str, dict[str, float]]) -> None:
    print(f"\n{'kind':<24}{'TP':>4}{'FP':>4}{'FN':>4}{'recall':>9}{'precision':>11}")
    for kind, row in table.items():
        print(
            f"{kind:<24}{row['tp']:>4}{row['fp']:>4}{row['fn']:>4}"
            f"{_ratio(row['recall']):>9}{_ratio(row['precision']):>11}"
        )
    tp = sum(row["tp"] for row in table.values())
    fp = sum(row["fp"] for row in table.values())
    fn = sum(row["fn"] for row in table.values())
    recall, precision = tp / max(tp + fn, 1), tp / max(tp + fp, 1)
    print(f"{'all kinds (micro)':<24}{tp:>4}{fp:>4}{fn:>4}{recall:9.2f}{precision:11.2f}")


def _misses(results: dict[Scenario, frozenset[str]]) -> Iterable[str]:
    for scenario, found in results.items():
        if not scenario.holds(found):
            missing = ", ".join(sorted(scenario.expected - found)) or "-"
            extra = ", ".join(sorted(found - scenario.expected - scenario.allowed)) or "-"
            yield f"  {scenario.name}: missed {missing}; unexpected {extra}"


def reseeded(scenario: Scenario, seed: int) -> RunConfig:
    """The scenario's run with another model seed (initial weights, shuffling, dropout)."""
    config = load_run(scenario.path)
    return config.model_copy(update={"model": config.model.model_copy(update={"seed": seed})})


def seed_robustness(scenarios: list[Scenario], seeds: int, options: dict) -> list[str]:
    """Scenarios whose verdict fails on some model seed in 1..seeds-1, with what was found."""
    fragile = []
    for scenario in scenarios:
        failures = []
        for seed in range(1, seeds):
            found = found_kinds(diagnose(reseeded(scenario, seed), doctor_options=options))
            if not scenario.holds(found):
                failures.append(f"seed {seed}: {', '.join(sorted(found)) or 'nothing'}")
        if failures:
            fragile.append(f"  {scenario.name}: {'; '.join(failures)}")
    return fragile


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print its tables; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run file per kind")
    parser.add_argument("--no-repair", action="store_true", help="skip the repair evaluation")
    parser.add_argument(
        "--evidence", action="store_true", help="print each scenario's own finding and numbers"
    )
    parser.add_argument("--repeats", type=int, default=None, help="timing repeats per run")
    parser.add_argument(
        "--probe-every", type=int, default=None, help="fixed probe interval (default: work-based)"
    )
    parser.add_argument(
        "--seeds", type=int, default=1, help="also check each verdict under model seeds 1..N-1"
    )
    parser.add_argument("--no-overhead", action="store_true", help="skip the timing runs")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    scenarios = load_catalogue()
    if args.quick:
        scenarios = quick_subset(scenarios)

    print(machine_line())
    started = time.perf_counter()
    options = {"probe_every": args.probe_every}
    diagnoses = {s: diagnose(load_run(s.path), doctor_options=options) for s in scenarios}
    results = {scenario: found_kinds(diagnosis) for scenario, diagnosis in diagnoses.items()}
    print(f"diagnosed {len(results)} run files in {time.perf_counter() - started:.1f} s")
    table = detection_table(results)
    _print_detection(table)
    weak_kinds = kinds_missing_targets(table, 0.95)
    if weak_kinds:
        print(f"kinds below 0.95 recall or precision: {', '.join(weak_kinds)}")
    if args.evidence:
        print("\nthe numbers behind each scenario's own finding:")
        for scenario, diagnosis in diagnoses.items():
            own = [f for f in diagnosis.findings if f.kind == scenario.kind]
            numbers = summarize_evidence(own[0].evidence, limit=4) if own else "not found"
            print(f"  {scenario.name}: {numbers}")
    misses = list(_misses(results))
    if misses:
        print("scenarios whose findings differ from expected.toml:", *misses, sep="\n")
    healthy = [s for s in scenarios if s.kind == HEALTHY]
    alarms = [s.name for s in healthy if diagnoses[s].problems]
    print(f"\nfalse alarms on healthy runs: {len(alarms)} of {len(healthy)} {alarms or ''}")

    fragile: list[str] = []
    if args.seeds > 1:
        fragile = seed_robustness(scenarios, args.seeds, options)
        print(f"\nverdicts that a reseed (model seeds 1..{args.seeds - 1}) breaks: {len(fragile)}")
        print(*fragile, sep="\n")

    repair_rate = float("nan")
    if not args.no_repair:
        # Repair acts on warnings and errors; a scenario whose kind is only an info note
        # (vanishing_risk) has nothing to repair.
        failing = [s for s in scenarios if s.kind != HEALTHY and diagnoses[s].has_problem(s.kind)]
        print(f"\nrepair ({len(failing)} run files with a warning or error, 4 retrains each):")
        outcomes = []
        for scenario in failing:
            outcomes.append(RepairOutcome(scenario, repair(scenario.path)))
            print(outcomes[-1].line(), flush=True)
        _print_repair(repair_table(outcomes))
        repaired = sum(outcome.repaired for outcome in outcomes)
        repair_rate = repaired / len(outcomes)
        print(
            f"repaired (healthy, better than before and than a constant): {repaired} of "
            f"{len(outcomes)} = {repair_rate:.2f}"
        )

    repeats = args.repeats or (3 if args.quick else 9)
    worst_share = 0.0
    overheads = {} if args.no_overhead else measure_overhead(repeats)
    if overheads:
        print(f"\nprobe overhead ({repeats} interleaved repeats, fit seconds without -> with):")
    for name, result in overheads.items():
        worst_share = max(worst_share, statistics.median(result.probe_share))
        print(
            f"  {name:<30} median {statistics.median(result.off):5.2f} -> "
            f"{statistics.median(result.on):5.2f} s ({result.ratio(statistics.median):+.1%}), "
            f"fastest {result.ratio(min):+.1%}, "
            f"probe time / train time (doctor's count) {statistics.median(result.probe_share):.1%}"
        )

    targets = {
        "recall and precision >= 0.95 for each kind": not weak_kinds,
        "no false alarms": not alarms,
        "repair >= 0.9": args.no_repair or repair_rate >= 0.9,
        "probe time <= 5 %": args.no_overhead or worst_share <= 0.05,
        f"verdicts hold on {args.seeds} seed(s)": not fragile,
    }
    print(
        "\ntargets: " + ", ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in targets.items())
    )
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
