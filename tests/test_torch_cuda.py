"""The PyTorch watch on a GPU: the same findings as the same loop on the CPU.

Skipped where no CUDA device is present; `benchmarks/torch_doctor_eval.py --device cuda`
measures the whole catalogue there.
"""

import pytest

try:
    import torch
    from torch import nn
except ImportError:
    torch = nn = None

from test_torch_doctor import _circle, _kinds, _mlp, _train
from test_torch_nonfinite import Log

pytestmark = pytest.mark.skipif(
    torch is None or not torch.cuda.is_available(), reason="needs PyTorch with a CUDA device"
)


def _healthy():
    return _mlp(2, 16, 16, 1), lambda p: torch.optim.Adam(p, 0.01), None, 20


def _deep_sigmoid():
    return _mlp(2, *[8] * 8, 1, activation=nn.Sigmoid), lambda p: torch.optim.SGD(p, 0.1), None, 10


def _dead_relu():
    model = _mlp(2, 16, 16, 1)
    with torch.no_grad():
        model[0].bias.fill_(-10.0)
    return model, lambda p: torch.optim.SGD(p, 0.05), None, 10


def _huge_lr():
    return _mlp(2, 16, 16, 1), lambda p: torch.optim.SGD(p, 5.0), "sum", 5


def _log_activation():
    model = nn.Sequential(nn.Linear(2, 8), Log(), nn.Linear(8, 1))
    return model, lambda p: torch.optim.SGD(p, 0.1), None, 2


CASES = {
    "healthy": (_healthy, set()),
    "deep_sigmoid": (_deep_sigmoid, {"vanishing_gradients"}),
    "dead_relu": (_dead_relu, {"dead_relu"}),
    "huge_lr": (_huge_lr, {"divergence"}),
    "log_activation": (_log_activation, {"activation_domain"}),
}


def _run(case, device):
    torch.manual_seed(0)
    model, optimizer, target, epochs = case()
    model = model.to(device)
    X, y = _circle()
    if target == "sum":
        y = X.sum(1, keepdim=True)
    loss_fn = nn.MSELoss() if target == "sum" else nn.BCEWithLogitsLoss()
    X, y = X.to(device), y.to(device)
    return _train(model, optimizer(model.parameters()), loss_fn, X, y, epochs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_watch_on_a_gpu_finds_what_it_finds_on_the_cpu(name):
    case, expected = CASES[name]
    on_gpu, on_cpu = _run(case, "cuda"), _run(case, "cpu")
    warnings = {f.kind for f in on_gpu.findings if f.severity != "info"}
    assert expected <= warnings
    if not expected:
        assert warnings == set()
    if name != "huge_lr":  # after a blow-up, what else is broken depends on the rounding
        assert _kinds(on_gpu) == _kinds(on_cpu)
        assert on_gpu.probes == on_cpu.probes
    assert all(isinstance(record["loss"], float) for record in on_gpu.records)


@pytest.mark.parametrize("activation", ["relu", "tanh", "x * sigmoid(x)", "log(1 + exp(x))"])
def test_an_exported_model_computes_the_same_on_a_gpu(activation):
    from export_cases import max_difference, playground_model, raw_rows

    model = playground_model(activation, "float64")
    module = model.to_torch().to("cuda")
    X = raw_rows(50, seed=1)
    with torch.no_grad():
        output = module(torch.tensor(X, dtype=torch.float64, device="cuda")).cpu().numpy()
    assert max_difference(output, model, X) <= 1e-6
