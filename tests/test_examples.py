"""Every example run file does what its comment promises, at its documented settings."""

from pathlib import Path

import numpy as np
import pytest

from sigmalab.config import load_run
from sigmalab.data.registry import REAL
from sigmalab.runner import train_run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
REGRESSION = {"reg-plane", "reg-gauss"}
NEAR_CHANCE = {"xor_linear"}
SLOW = {"checkerboard", "spiral", "spiral3", "digits", "breast_cancer"}
CLASSIFICATION = sorted(
    path.stem for path in EXAMPLES.glob("*.toml") if path.stem not in REGRESSION | NEAR_CHANCE
)


def run(name: str) -> dict:
    """Train examples/NAME.toml in-process and return its summary."""
    config = load_run(EXAMPLES / f"{name}.toml")
    if config.data.dataset in REAL:
        pytest.importorskip("sklearn")
    return train_run(config, verbose=0).summary


def test_there_is_an_example_per_builtin_dataset():
    from sigmalab.data import available

    datasets = {load_run(path).data.dataset for path in EXAMPLES.glob("*.toml")}
    assert datasets == set(available())


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in CLASSIFICATION]
)
def test_classification_example_reaches_95_percent(name):
    assert run(name)["test_accuracy"] >= 0.95


@pytest.mark.parametrize("name", sorted(REGRESSION))
def test_regression_example_explains_most_of_the_variance(name):
    config = load_run(EXAMPLES / f"{name}.toml")
    result = train_run(config, verbose=0)
    variance = float(np.var(result.dataset.y_test))
    assert result.summary["test_loss"] <= 0.1 * variance


def test_xor_with_linear_activations_stays_near_chance():
    """The text's claim: without a nonlinearity, layers collapse into one linear map."""
    assert run("xor_linear")["test_accuracy"] <= 0.7
    assert run("xor")["test_accuracy"] >= 0.95
