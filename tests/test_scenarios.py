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
EXPECTED: dict[str, list[str]] = tomllib.loads((CATALOGUE / "expected.toml").read_text())[
    "expected"
]
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
    """As the README describes it: 46 failing runs, at least 3 per kind; 11 healthy runs
    on 11 datasets."""
    per_kind = Counter(name.split("/")[0] for name in EXPECTED)
    assert all(per_kind[kind] >= 3 for kind in KINDS), per_kind
    assert per_kind["healthy"] == 11
    assert len(EXPECTED) - per_kind["healthy"] == 46
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


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_run_file_validates(name):
    load_run(CATALOGUE / name)


@pytest.mark.parametrize("name", FAST_SUBSET)
def test_scenario_shows_exactly_its_expected_findings(name):
    # The default probe schedule follows from the run's shapes, not the clock, so this is
    # what a user gets on any machine; the benchmark checks the whole catalogue.
    diagnosis = diagnose(CATALOGUE / name)
    found = sorted({finding.kind for finding in diagnosis.findings})
    assert found == sorted(EXPECTED[name])
    if name.startswith("healthy/"):
        assert diagnosis.problems == []
