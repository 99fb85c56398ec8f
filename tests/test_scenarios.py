"""The scenario catalogue: complete, valid, and each failure shows up as its expected findings.

The whole catalogue is evaluated by benchmarks/doctor_eval.py; here a fast subset (one run
file per failure kind and a few healthy runs) is diagnosed on every test run.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from sigmalab.config import load_run
from sigmalab.doctor.diagnose import diagnose
from sigmalab.doctor.findings import KINDS

CATALOGUE = Path(__file__).resolve().parent.parent / "scenarios"
TABLES = tomllib.loads((CATALOGUE / "expected.toml").read_text())
EXPECTED: dict[str, list[str]] = TABLES["expected"]
# Kinds that are also true of a run (each with the reason): allowed there, never required.
ALSO_TRUE: dict[str, dict] = TABLES.get("also_true", {})
FAST_SUBSET = [
    *(next(name for name in sorted(EXPECTED) if name.startswith(f"{kind}/")) for kind in KINDS),
    "healthy/01-circle-relu-adam.toml",
    "healthy/05-moons-bn-dropout-rmsprop.toml",
    "healthy/06-reg-plane-tanh-sgd.toml",
]


def test_every_run_file_has_expectations_and_every_expectation_a_run_file():
    on_disk = {
        path.relative_to(CATALOGUE).as_posix()
        for path in CATALOGUE.glob("*/*.toml")
        if not path.name.endswith(".repaired.toml")  # what `sigmalab doctor --repair` writes
    }
    assert on_disk == set(EXPECTED)


def test_the_catalogue_covers_every_kind_three_times_and_eleven_healthy_runs():
    """As the README describes it: 58 failing runs, at least 3 per kind; 11 healthy runs
    on 11 datasets."""
    per_kind = Counter(name.split("/")[0] for name in EXPECTED)
    assert all(per_kind[kind] >= 3 for kind in KINDS), per_kind
    assert per_kind["healthy"] == 11
    assert len(EXPECTED) - per_kind["healthy"] == 59
    assert set(per_kind) == {*KINDS, "healthy"}
    healthy = [load_run(CATALOGUE / name) for name in EXPECTED if name.startswith("healthy/")]
    assert len({run.data.dataset for run in healthy}) == 11


def test_expectations_name_known_kinds_and_each_file_its_own():
    for name, kinds in EXPECTED.items():
        folder = name.split("/")[0]
        assert set(kinds) <= set(KINDS), name
        if folder == "healthy":
            assert kinds == [], name
        else:
            assert folder in kinds, name


def test_allowed_extra_kinds_are_known_justified_and_never_on_healthy_runs():
    for name, entry in ALSO_TRUE.items():
        assert name in EXPECTED and not name.startswith("healthy/"), name
        assert set(entry) == {"kinds", "why"}, name
        assert entry["kinds"] and set(entry["kinds"]) <= set(KINDS) - set(EXPECTED[name]), name
        assert len(entry["why"].split()) >= 5, f"{name}: say why the kind is also true"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_run_file_validates(name):
    load_run(CATALOGUE / name)


@pytest.mark.parametrize("name", FAST_SUBSET)
def test_scenario_shows_exactly_its_expected_findings(name):
    # The probe schedule follows from the run's shapes, not the clock, and each scenario is
    # built so that its verdict survives a reseed (benchmarks/doctor_eval.py --seeds), so this
    # holds on any CPU and BLAS kernel, where rounding differs.
    diagnosis = diagnose(CATALOGUE / name)
    found = {finding.kind for finding in diagnosis.findings}
    allowed = set(ALSO_TRUE.get(name, {}).get("kinds", ()))
    assert set(EXPECTED[name]) <= found, f"missed {set(EXPECTED[name]) - found}"
    assert found <= set(EXPECTED[name]) | allowed, f"unexpected {found - set(EXPECTED[name])}"
    if name.startswith("healthy/"):
        assert diagnosis.problems == []
