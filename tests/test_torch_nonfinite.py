"""The PyTorch watch names the module whose output first turned NaN (activation_domain)."""

import pytest

try:
    import torch
    from torch import nn
except ImportError:
    torch = nn = None

from test_torch_doctor import _circle, _kinds, _train

pytestmark = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


class Log(nn.Module if nn else object):
    """A user's activation undefined below 0."""

    def forward(self, x):
        return torch.log(x)


class Sqrt(nn.Module if nn else object):
    """A user's activation undefined below 0."""

    def forward(self, x):
        return torch.sqrt(x)


class LogBlock(nn.Module if nn else object):
    """A Linear and a functional log in one module of the user's."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 8)

    def forward(self, x):
        return torch.log(self.linear(x))


def _sgd_run(model, loss_fn=None, epochs=2):
    torch.manual_seed(0)
    X, y = _circle()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return _train(model, optimizer, loss_fn or nn.BCEWithLogitsLoss(), X, y, epochs=epochs)


def _finding(doctor, kind):
    return next(finding for finding in doctor.findings if finding.kind == kind)


def _domain_finding_at_step_1(doctor, layer: str, module: str, activation: str):
    """The run's activation_domain finding, not divergence: the NaN located at step 1 in
    ``module`` (``activation``) after the Linear ``layer``."""
    assert "activation_domain" in _kinds(doctor)
    assert "divergence" not in _kinds(doctor)
    finding = _finding(doctor, "activation_domain")
    assert finding.layer["name"] == layer
    assert finding.evidence["module"] == module
    assert finding.evidence["activation"] == activation
    assert finding.evidence["step"] == 1
    return finding


def test_a_log_module_after_a_linear_is_activation_domain_not_divergence():
    torch.manual_seed(0)
    doctor = _sgd_run(nn.Sequential(nn.Linear(2, 8), Log(), nn.Linear(8, 1)))
    finding = _domain_finding_at_step_1(doctor, "model.0", "model.1", "Log")
    assert finding.evidence["bad_input_max"] <= 0
    lines = [remedy["pytorch"] for remedy in finding.remedies]
    assert lines[0] == "`model.1` (`Log`) produces NaN outside its domain: use `nn.ReLU()`"


def test_a_sqrt_on_the_output_layer_is_removed_rather_than_replaced():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1), Sqrt())
    doctor = _sgd_run(model, nn.MSELoss())
    finding = _finding(doctor, "activation_domain")
    assert finding.layer["name"] == "model.2"
    assert finding.evidence["module"] == "model.3"
    assert finding.remedies[0]["pytorch"].startswith(
        "`model.3` (`Sqrt`) produces NaN outside its domain: remove it"
    )


def test_a_functional_log_inside_a_users_module_names_that_module():
    torch.manual_seed(0)
    doctor = _sgd_run(nn.Sequential(LogBlock(), nn.Linear(8, 1)))
    finding = _finding(doctor, "activation_domain")
    assert finding.evidence["module"] == "model.0"
    assert finding.evidence["activation"] == "LogBlock"


def test_weights_that_are_already_infinite_stay_divergence():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    with torch.no_grad():
        model[0].weight[0, 0] = float("inf")
    doctor = _sgd_run(model, epochs=1)
    assert "activation_domain" not in _kinds(doctor)
    first = next(record for record in doctor.records if "first_nonfinite" in record)
    assert first["first_nonfinite"]["stage"] == "weighted_sum"
    assert first["first_nonfinite"]["module"] == "model.0"


def test_a_healthy_loop_has_no_nonfinite_record():
    torch.manual_seed(0)
    doctor = _sgd_run(nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)))
    assert "activation_domain" not in _kinds(doctor)
    assert not any("first_nonfinite" in record for record in doctor.records)


def test_a_formula_exported_by_to_torch_is_named_by_its_formula():
    import sigmalab as sl

    model = sl.Sequential([sl.Dense(8, activation="log(x)"), sl.Dense(1)], seed=0)
    model.build(2)
    doctor = _sgd_run(nn.Sequential(*model.to_torch().layers))
    finding = _finding(doctor, "activation_domain")
    assert finding.evidence["activation"] == "log(x)"
    assert "(`log(x)`) produces NaN outside its domain" in finding.remedies[0]["pytorch"]


def test_a_whole_to_torch_module_trained_as_exported_gets_its_nan_located():
    """to_torch() returns its module in eval mode; a loop that trains it as it is (never
    calling .train()) still feeds the watch its training batches, so the NaN of the
    formula is located inside the module tree, preprocessing included."""
    import sigmalab as sl

    X, _ = _circle()
    model = sl.Sequential([sl.Dense(8, activation="log(x)"), sl.Dense(1)], seed=0)
    model.preprocessing = sl.Preprocessing.adapt(X.double().numpy(), ["x1", "x2"])
    model.build(2)
    net = model.to_torch()
    assert not net.training
    doctor = _sgd_run(net)
    _domain_finding_at_step_1(doctor, "model.layers.0", "model.layers.1", "log(x)")
