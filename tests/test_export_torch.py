"""model.to_torch() and the .pt2 export compute what model.predict computes."""

import numpy as np
import pytest
from export_cases import (
    ACTIVATIONS,
    DTYPES,
    LABELS,
    TOLERANCE,
    max_difference,
    playground_model,
    raw_rows,
    real_model,
)

import sigmalab as sl

torch = pytest.importorskip("torch", reason="the torch extra is not installed")


def run_torch(module, X, dtype):
    with torch.no_grad():
        return module(torch.tensor(X, dtype=getattr(torch, dtype))).numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_matches_predict(activation, dtype):
    model = playground_model(activation, dtype)
    module = model.to_torch()
    assert isinstance(module, torch.nn.Module) and not module.training
    X = raw_rows(50, seed=1)
    assert max_difference(run_torch(module, X, dtype), model, X) <= TOLERANCE[dtype]


@pytest.mark.parametrize("loss", sorted(LABELS))
def test_outputs_match_predict_for_each_loss(loss):
    model = playground_model("relu", "float64", loss)
    X = raw_rows(30, seed=2)
    output = run_torch(model.to_torch(), X, "float64")
    assert max_difference(output, model, X) <= TOLERANCE["float64"]
    if loss != "mse":  # probabilities, as predict returns
        assert (output >= 0).all() and (output <= 1).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_real_data_matches_predict(dtype):
    model, X = real_model(dtype)
    assert max_difference(run_torch(model.to_torch(), X, dtype), model, X) <= TOLERANCE[dtype]


def test_batchnorm_uses_running_statistics_and_dropout_is_the_identity():
    model = playground_model("tanh", "float64")
    module = model.to_torch()
    norm = next(m for m in module.modules() if isinstance(m, torch.nn.BatchNorm1d))
    running_mean = model.named_weights()["001.batchnorm.running_mean"]
    assert np.abs(running_mean).max() > 0  # training moved the statistics away from 0
    np.testing.assert_array_equal(norm.running_mean.numpy(), running_mean)
    X = raw_rows(20, seed=3)
    first, second = run_torch(module, X, "float64"), run_torch(module, X, "float64")
    np.testing.assert_array_equal(first, second)  # no dropout at inference


def test_model_without_preprocessing():
    model = sl.Sequential([sl.Dense(4, "elu"), sl.Dense(2)], dtype="float64").build(3)
    X = raw_rows(10).repeat(2, axis=1)[:, :3]
    assert max_difference(run_torch(model.to_torch(), X, "float64"), model, X) <= 1e-12


def test_a_python_callable_activation_cannot_be_exported():
    model = sl.Sequential([sl.Dense(2, np.tanh), sl.Dense(1)]).build(2)
    with pytest.raises(sl.SigmalabError, match=r"model.layers\[0\].activation: a Python callable"):
        model.to_torch()


def test_unbuilt_model_is_refused():
    with pytest.raises(sl.SigmalabError, match="not built"):
        sl.Sequential([sl.Dense(1)]).to_torch()
