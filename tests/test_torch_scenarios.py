"""The PyTorch watch on PyTorch twins of catalogue runs gives the sigmalab doctor's diagnosis.

benchmarks/torch_doctor_eval.py trains every run file of the catalogue as a PyTorch loop;
here the runs on which the two doctors once disagreed (a blow-up the watch took for
vanishing gradients, dropout 1.0 read as vanishing gradients on live batches, an
oscillation named as a learning rate too high, a loss spike's dead units left unmeasured
by a loop stopped at the spike), a healthy run with BatchNorm and dropout and a formula
activation's NaN are trained on every test run, with the evaluation's own loop.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sigmalab.config import load_run

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed: pip install 'sigmalab[torch]'"
)

ROOT = Path(__file__).resolve().parent.parent
RUNS = [
    "divergence/03-iris-relu-huge-lr.toml",
    "dropout_too_high/01-gauss-dropout-1.toml",
    "oscillation/03-moons-linear-mse-momentum-0.9995.toml",
    "healthy/05-moons-bn-dropout-rmsprop.toml",
    # A finite loss spike that kills the ReLUs: the loop trains on after it, as sigmalab's
    # does, so both divergence and dead_relu are found.
    "dead_relu/04-wine-sgd-momentum-spike.toml",
    # A formula activation, exported by to_torch(): its NaN is the activation's, not the
    # weights' (activation_domain, not divergence).
    "activation_domain/03-reg-plane-second-layer-log.toml",
]


@pytest.fixture(scope="module")
def evaluation():
    """The evaluation's loop and its catalogue as a callback can judge it (``no_learning``
    is found by ``sigmalab doctor`` after training, so it is allowed, not expected)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from doctor_eval import load_catalogue, watched_by_a_doctor_alone
        from torch_doctor_eval import train_torch
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    scenarios = {s.name: s for s in watched_by_a_doctor_alone(load_catalogue())}
    return train_torch, scenarios


@pytest.mark.parametrize(
    ("name", "tell_length"),
    [
        *((name, True) for name in RUNS),
        # Not told the loop's length, the watch spaces probes by itself: no denser than one
        # per 256 samples, so a run that blows up in its first epoch is probed as sigmalab
        # probes it (once a step, it also measured the blow-up's steps and saturated units).
        ("divergence/01-reg-plane-huge-lr.toml", False),
    ],
)
def test_the_pytorch_twin_shows_exactly_the_expected_findings(name, tell_length, evaluation):
    train_torch, scenarios = evaluation
    doctor = train_torch(load_run(ROOT / "scenarios" / name), tell_length)
    found = frozenset(finding.kind for finding in doctor.findings)
    assert scenarios[name.removesuffix(".toml")].holds(found), found
    if name.startswith("healthy/"):
        assert [f for f in doctor.findings if f.severity != "info"] == []
