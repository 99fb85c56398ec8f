"""Size caps: a clear error before any allocation, saying the cap and how to lift it."""

from __future__ import annotations

import copy
import time
import tracemalloc

import pytest

import sigmalab as sl
from sigmalab.config import ConfigError, RunConfig

RUN = {
    "data": {"dataset": "xor", "samples": 40},
    "model": {"layers": [{"type": "dense", "units": 1}]},
    "train": {"loss": "bce", "epochs": 1, "optimizer": {"name": "sgd", "lr": 0.1}},
}


def _run_with(section, key, value):
    data = copy.deepcopy(RUN)
    target = data[section] if section == "data" else data["model"]["layers"][0]
    target[key] = value
    return data


def test_generated_samples_are_capped_before_generating():
    start = time.perf_counter()
    with pytest.raises(sl.SigmalabError) as caught:
        sl.datasets.load("spiral", samples=10**12)
    assert time.perf_counter() - start < 1.0
    message = str(caught.value)
    assert "samples must be <= 1,000,000 (received 1,000,000,000,000)" in message
    assert "SIGMALAB_MAX_SAMPLES" in message
    with pytest.raises(ConfigError, match=r"data.samples: must be <= 1,000,000 .*MAX_SAMPLES"):
        RunConfig.from_dict(_run_with("data", "samples", 2_000_000))


def test_layer_width_is_capped():
    with pytest.raises(sl.SigmalabError, match=r"units must be <= 65,536 \(received 100,000\)"):
        sl.Dense(100_000)
    with pytest.raises(ConfigError, match=r"model.layers\[0\].units: must be <= 65,536"):
        RunConfig.from_dict(_run_with("model", "units", 100_000))


def test_a_model_too_big_to_build_is_refused_before_allocating():
    model = sl.Sequential([sl.Dense(60_000), sl.Dense(60_000)])  # 7.2 billion weights
    tracemalloc.start()
    try:
        with pytest.raises(sl.SigmalabError) as caught:
            model.build(60_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert "number of weights on 60000 inputs must be <= 100,000,000" in str(caught.value)
    assert "SIGMALAB_MAX_WEIGHTS" in str(caught.value)
    assert not model.built


def test_the_environment_variable_lifts_a_cap(monkeypatch):
    monkeypatch.setenv("SIGMALAB_MAX_UNITS", "200000")
    assert sl.Dense(100_000).units == 100_000
    monkeypatch.setenv("SIGMALAB_MAX_SAMPLES", "10")
    with pytest.raises(sl.SigmalabError, match="samples must be <= 10 "):
        sl.datasets.load("xor", samples=11)


@pytest.mark.parametrize("text", ["lots", "0", "-5", "1e6"])
def test_a_bad_cap_setting_is_named(monkeypatch, text):
    monkeypatch.setenv("SIGMALAB_MAX_UNITS", text)
    with pytest.raises(
        sl.SigmalabError, match=f"SIGMALAB_MAX_UNITS must be a whole number >= 1, received '{text}'"
    ):
        sl.Dense(4)


def test_weight_shapes_are_what_build_creates():
    layers = [sl.Dense(5), sl.BatchNorm(), sl.Dropout(0.1), sl.Dense(3, use_bias=False)]
    model = sl.Sequential(layers)
    shapes = [(key, name, shape) for key, _, name, shape in model.weight_shapes(4)]
    model.build(4)
    assert [(key, array.shape) for key, array in model.named_weights().items()] == [
        (key, shape) for key, _, shape in shapes
    ]  # the keys model files use, in get_weights order
    assert [name for _, name, _ in shapes] == [
        "W", "b", "gamma", "beta", "running_mean", "running_var", "W",
    ]  # fmt: skip
    assert shapes[0][0] == "000.dense.W" and shapes[-1][0] == "003.dense.W"
