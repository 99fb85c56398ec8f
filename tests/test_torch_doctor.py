"""The doctor in a PyTorch loop: sl.doctor.watch diagnoses with the sigmalab doctor's rules."""

import contextlib
import io
import re
import subprocess
import sys

import pytest

import sigmalab as sl

try:
    import torch
    from torch import nn
except ImportError:
    torch = nn = None

needs_torch = pytest.mark.skipif(
    torch is None, reason="PyTorch is not installed: pip install 'sigmalab[torch]'"
)


def _circle(samples=200, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(samples, 2, generator=generator)
    y = ((X**2).sum(1, keepdim=True) < 1.4).float()
    return X, y


def _train(model, optimizer, loss_fn, X, y, epochs, batch_size=16, watch=True, **options):
    """The issue's loop; returns the watch (None without one)."""
    torch.manual_seed(0)
    doctor = sl.doctor.watch(model, optimizer, loss_fn=loss_fn, **options) if watch else None
    with doctor or contextlib.nullcontext():
        for _ in range(epochs):
            order = torch.randperm(len(X))
            for start in range(0, len(X), batch_size):
                rows = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(X[rows]), y[rows])
                loss.backward()
                if doctor:
                    doctor.step(loss)
                optimizer.step()
            if doctor:
                doctor.epoch_end()
    return doctor


def _steps(model, optimizer, doctor, X, y, loss_fn, batch_size=16):
    """One epoch's unshuffled batches with the watch, as a user's loop runs them."""
    for start in range(0, len(X), batch_size):
        optimizer.zero_grad()
        loss = loss_fn(model(X[start : start + batch_size]), y[start : start + batch_size])
        loss.backward()
        doctor.step(loss)
        optimizer.step()


def _kinds(doctor):
    return {finding.kind for finding in doctor.findings}


def _mlp(*sizes, activation=None):
    activation = activation or nn.ReLU
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [nn.Linear(fan_in, fan_out), activation()]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


@needs_torch
def test_a_healthy_loop_gets_no_warning():
    torch.manual_seed(0)
    model = _mlp(2, 16, 16, 1)
    X, y = _circle()
    optimizer = torch.optim.Adam(model.parameters(), 0.01)
    doctor = _train(model, optimizer, nn.BCEWithLogitsLoss(), X, y, 20, batch_size=32)
    assert [f for f in doctor.findings if f.severity != "info"] == []
    assert doctor.probes >= 5
    assert all(record["layers"][0]["error"] > 0 for record in doctor.records if record["layers"])


@needs_torch
def test_a_deep_sigmoid_net_shows_vanishing_gradients_with_pytorch_remedies():
    torch.manual_seed(0)
    model = _mlp(2, *[8] * 8, 1, activation=nn.Sigmoid)
    X, y = _circle()
    doctor = _train(
        model, torch.optim.SGD(model.parameters(), 0.1), nn.BCEWithLogitsLoss(), X, y, 10
    )
    finding = next(f for f in doctor.findings if f.kind == "vanishing_gradients")
    assert finding.layer["name"] == "model.0 (sigmoid)"
    assert finding.evidence["ratio"] < 1e-3
    assert "`model.1` is `nn.Sigmoid()`: use `nn.ReLU()`" in finding.remedies[0]["pytorch"]
    assert "vanishing_risk" in _kinds(doctor)


def _huge_learning_rate_regression():
    """A 2-16-16-1 regression of x1 + x2 under SGD at lr 5: it blows up within an epoch."""
    torch.manual_seed(0)
    model = _mlp(2, 16, 16, 1)
    X, _ = _circle()
    return model, torch.optim.SGD(model.parameters(), 5.0), X, X.sum(1, keepdim=True)


@needs_torch
def test_a_huge_learning_rate_shows_divergence():
    model, optimizer, X, y = _huge_learning_rate_regression()
    doctor = _train(model, optimizer, nn.MSELoss(), X, y, 5)
    finding = next(f for f in doctor.findings if f.kind == "divergence")
    assert finding.severity == "error"
    lines = [remedy["pytorch"] for remedy in finding.remedies]
    assert "lower `optimizer.param_groups[0]['lr']` from 5 to 0.5" in lines
    assert any("torch.nn.utils.clip_grad_norm_(model.parameters(), 1)" in line for line in lines)


@needs_torch
def test_dead_relu_units_are_found_in_their_module():
    torch.manual_seed(0)
    model = _mlp(2, 16, 16, 1)
    with torch.no_grad():
        model[0].bias.fill_(-10.0)  # every unit of model.0 starts (and stays) below 0
    X, y = _circle()
    doctor = _train(
        model, torch.optim.SGD(model.parameters(), 0.05), nn.BCEWithLogitsLoss(), X, y, 10
    )
    finding = next(f for f in doctor.findings if f.kind == "dead_relu")
    assert finding.layer["name"] == "model.0 (relu)"
    assert finding.evidence["dead_fraction"] == 1.0


@needs_torch
def test_static_checks_name_the_module_and_the_line_to_change():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 16),
        nn.Linear(16, 16),
        nn.ReLU(),
        nn.Dropout(0.9),
        nn.Linear(16, 1),
        nn.Sigmoid(),
    )
    X, y = _circle(64)
    optimizer = torch.optim.Adam(model.parameters(), 2.0)
    doctor = _train(model, optimizer, nn.BCEWithLogitsLoss(), X, y, 1, static=True)
    by_kind = {f.kind: f for f in doctor.findings}
    mismatch = by_kind["output_loss_mismatch"]
    assert mismatch.severity == "error"
    assert mismatch.remedies[0]["pytorch"].startswith("remove `model.5` (`nn.Sigmoid()`)")
    missing = by_kind["missing_nonlinearity"]
    assert missing.layer["name"] == "model.0"
    assert missing.remedies[0]["pytorch"] == "add `nn.ReLU()` after `model.0` (`nn.Linear`)"
    dropout = by_kind["dropout_too_high"]
    assert dropout.evidence["rate"] == 0.9
    assert (
        dropout.remedies[0]["pytorch"]
        == "`model.3` is `nn.Dropout(p=0.9)`: use `nn.Dropout(p=0.2)`"
    )
    lr_findings = [f for f in doctor.findings if f.kind == "learning_rate_too_high"]
    assert [f.evidence["lr"] for f in lr_findings if "lr" in f.evidence] == [2.0]


@needs_torch
def test_softmax_before_cross_entropy_and_unscaled_inputs_are_found():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3), nn.Softmax(dim=1))
    X = torch.randn(64, 2) * 100 + 50
    y = torch.randint(0, 3, (64,))
    optimizer = torch.optim.SGD(model.parameters(), 1e-3)
    doctor = _train(model, optimizer, nn.CrossEntropyLoss(), X, y, 1)
    kinds = _kinds(doctor)
    assert {"output_loss_mismatch", "unscaled_inputs"} <= kinds
    mismatch = next(f for f in doctor.findings if f.kind == "output_loss_mismatch")
    assert mismatch.evidence["output_activation"] == "softmax"


@needs_torch
def test_inputs_are_judged_as_the_first_linear_sees_them():
    """Raw rows standardised inside the model (to_torch()'s preprocessing) are scaled, as
    sigmalab judges its preprocessed features; the same layers fed the raw rows are not."""
    X, y = _circle()
    X = X * 100 + 50
    model = sl.Sequential([sl.Dense(8, activation="relu"), sl.Dense(1)], seed=0)
    model.preprocessing = sl.Preprocessing.adapt(X.double().numpy(), ["x1", "x2"])
    model.build(2)
    found = {}
    for name, net in (
        ("inside", model.to_torch()),
        ("raw", nn.Sequential(*model.to_torch().layers)),
    ):
        optimizer = torch.optim.SGD(net.parameters(), 0.1)
        found[name] = _kinds(_train(net, optimizer, nn.BCEWithLogitsLoss(), X, y, 1))
    assert "unscaled_inputs" not in found["inside"]
    assert "unscaled_inputs" in found["raw"]


@needs_torch
def test_module_trees_are_followed_by_their_tensors_not_their_registration():
    class Net(nn.Module):
        def __init__(self, between):
            super().__init__()
            self.head = nn.Linear(8, 1)  # registered first, runs last
            self.encoder = nn.ModuleDict({"fc1": nn.Linear(2, 8), "fc2": nn.Linear(8, 8)})
            self.act = nn.Tanh()  # shared by fc1 and, in "shared", fc2
            self.between = between

        def forward(self, x):
            h = self.encoder["fc2"](self.act(self.encoder["fc1"](x)))
            if self.between == "functional":
                h = torch.nn.functional.relu(h)  # no module, but a nonlinearity
            elif self.between == "shared":
                h = self.act(h)
            return self.head(h)

    X, y = _circle(64)
    for between, missing, paths in (
        ("functional", [], ["act", None]),
        ("nothing", ["model.encoder.fc2"], ["act", None]),
        ("shared", [], ["act", "act"]),
    ):
        torch.manual_seed(0)
        model = Net(between)
        doctor = _train(
            model, torch.optim.SGD(model.parameters(), 0.1), nn.BCEWithLogitsLoss(), X, y, 1
        )
        layers = doctor.context["layers"]
        assert layers[0]["name"] == "model.encoder.fc1 (tanh)"
        assert layers[-1]["name"] == "model.head"
        assert [entry["activation_path"] for entry in layers[:2]] == paths
        found = [f.layer["name"] for f in doctor.findings if f.kind == "missing_nonlinearity"]
        assert found == missing


@needs_torch
def test_the_watch_does_not_change_training():
    X, y = _circle(64)

    def trained(watch):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1)
        )
        optimizer = torch.optim.Adam(model.parameters(), 0.01)
        doctor = _train(
            model, optimizer, nn.BCEWithLogitsLoss(), X, y, 3, watch=watch, probe_every=2
        )
        assert not watch or doctor.probes >= 3  # the windows measured steps in between
        return model.state_dict()

    with_watch, without = trained(True), trained(False)
    assert all(torch.equal(with_watch[key], without[key]) for key in without)


@needs_torch
def test_the_report_renders_the_findings_and_writes_html(tmp_path):
    from rich.console import Console

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1))
    X, y = _circle(32)
    doctor = _train(
        model, torch.optim.SGD(model.parameters(), 0.1), nn.BCEWithLogitsLoss(), X, y, 1
    )
    console = Console(record=True, width=200)
    doctor.report(html=tmp_path / "doctor.html", console=console)
    text = re.sub(r"<[^>]+>", "", (tmp_path / "doctor.html").read_text())
    assert "first remedy: add `nn.ReLU()` after `model.0` (`nn.Linear`)" in text


@needs_torch
def test_bad_arguments_get_a_clear_error():
    model = _mlp(2, 4, 1)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    with pytest.raises(sl.SigmalabError, match=r"model must be a torch.nn.Module \(received list"):
        sl.doctor.watch([model], optimizer)
    with pytest.raises(sl.SigmalabError, match=r"optimizer must be .*\(received float\)"):
        sl.doctor.watch(model, 0.1)
    with pytest.raises(sl.SigmalabError, match=r"probe_every"):
        sl.doctor.watch(model, optimizer, probe_every=0)
    with pytest.raises(sl.SigmalabError, match=r"steps must be >= 1, received: steps=0"):
        sl.doctor.watch(model, optimizer, steps=0)
    with pytest.raises(
        sl.SigmalabError, match=r"loss_fn must be the loss module .*received function"
    ):
        sl.doctor.watch(model, optimizer, nn.functional.mse_loss)
    with sl.doctor.watch(model, optimizer) as doctor:
        with pytest.raises(sl.SigmalabError, match="epoch_end: pass loss="):
            doctor.epoch_end()
        doctor.epoch_end(loss=1.0)


@needs_torch
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", r"step: loss must be a number or a tensor of one element \(received str 'abc'\)"),
        (None, r"step: loss must be a number .*\(received NoneType None\)"),
        (True, r"step: loss must be a number .*\(received bool True\)"),
        ("vector", r"step: loss must be one number, .*\(received a tensor of shape \(3,\)\)"),
    ],
)
def test_a_step_with_something_other_than_the_loss_gets_a_clear_error(value, message):
    model = _mlp(2, 4, 1)
    X, y = _circle(8)
    with sl.doctor.watch(model, torch.optim.SGD(model.parameters(), 0.1)) as doctor:
        loss = nn.BCEWithLogitsLoss()(model(X), y)
        loss.backward()
        with pytest.raises(sl.SigmalabError, match=message):
            doctor.step(torch.ones(3) if value == "vector" else value)
        doctor.step(loss)  # the watch goes on after a refused value
        with pytest.raises(sl.SigmalabError, match=r"epoch_end: val_loss must be a number"):
            doctor.epoch_end(val_loss="x")
        doctor.epoch_end(val_loss=torch.tensor(0.5))
    assert doctor.steps == 1 and doctor.epochs[0]["val_loss"] == 0.5


def test_a_missing_torch_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(sl.SigmalabError, match=r"pip install 'sigmalab\[torch\]'"):
        sl.doctor.watch(object(), object())


def test_import_sigmalab_does_not_import_torch():
    code = "import sys, sigmalab; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


@needs_torch
def test_probes_measure_the_training_samples_in_inference_mode_after_the_step():
    """As sigmalab's probe: the loss of the fixed batch (here the whole training set) with
    dropout off and BatchNorm's running statistics, on the weights after the last step."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1)
    )
    X, y = _circle(64)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    doctor = _train(model, optimizer, loss_fn, X, y, 4, steps=16, probe_every=5)
    probes = [record for record in doctor.records if record["layers"]]
    assert [record["step"] for record in probes] == [1, 6, 11, 16]
    assert model.training and model[3].training  # the modes are put back
    model.eval()
    with torch.no_grad():
        expected = float(loss_fn(model(X), y))
    assert probes[-1]["loss"] == pytest.approx(expected, rel=1e-5)


@needs_torch
def test_a_model_trained_in_eval_mode_is_probed_on_its_training_batches_only():
    """A training pass is one the loop steps after, whatever the model's mode: a module
    trained in eval mode (as to_torch() returns it) is probed, and a validation loss taken
    with gradients on, never followed by a step, stays out of the probe batch."""
    torch.manual_seed(0)
    model = _mlp(2, 16, 1).eval()
    X, y = _circle(64)
    X_val, y_val = _circle(64, seed=1)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    with sl.doctor.watch(model, optimizer, loss_fn=loss_fn, steps=16, probe_every=5) as doctor:
        for _ in range(4):
            _steps(model, optimizer, doctor, X, y, loss_fn)
            doctor.epoch_end(val_loss=loss_fn(model(X_val), y_val).item())
    probes = [record for record in doctor.records if record["layers"]]
    assert [record["step"] for record in probes] == [1, 6, 11, 16]
    with torch.no_grad():
        expected = float(loss_fn(model(X), y))
    assert probes[-1]["loss"] == pytest.approx(expected, rel=1e-5)


@needs_torch
def test_dropout_of_one_is_not_read_as_vanishing_gradients():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(1.0), nn.Linear(16, 1))
    X, y = _circle(100)
    optimizer = torch.optim.Adam(model.parameters(), 0.01)
    doctor = _train(model, optimizer, nn.BCEWithLogitsLoss(), X, y, 20, steps=140)
    assert _kinds(doctor) == {"dropout_too_high"}


@needs_torch
def test_diverged_says_when_to_stop_as_sigmalab_stops():
    model, optimizer, X, y = _huge_learning_rate_regression()
    doctor = sl.doctor.watch(model, optimizer, loss_fn=nn.MSELoss())
    epochs = 0
    with doctor:
        while not doctor.diverged and epochs < 50:
            _steps(model, optimizer, doctor, X, y, nn.MSELoss())
            doctor.epoch_end()
            epochs += 1
    assert doctor.diverged and epochs < 5
    assert "divergence" in _kinds(doctor)


@needs_torch
def test_a_finite_blow_up_is_divergence_but_trains_on_as_sigmalab_does():
    """Only a NaN/Inf loss says stop: after a finite spike the loop goes on, so what the
    spike left (dead units) is measured, as sigmalab's doctor keeps training."""
    torch.manual_seed(0)
    model = _mlp(2, 16, 1)
    X, _ = _circle()
    y = X.sum(1, keepdim=True)
    optimizer = torch.optim.SGD(model.parameters(), 0.0)  # the weights move only by hand
    epochs = 0
    with sl.doctor.watch(model, optimizer, loss_fn=nn.MSELoss()) as doctor:
        while not doctor.diverged and epochs < 4:
            if epochs == 1:
                with torch.no_grad():
                    model[2].weight *= 1e4  # a spike: every loss from here is 1e8 times larger
            _steps(model, optimizer, doctor, X, y, nn.MSELoss())
            doctor.epoch_end()
            epochs += 1
    assert epochs == 4 and not doctor.diverged
    assert "divergence" in _kinds(doctor)


@needs_torch
def test_a_loss_on_the_reshaped_output_gets_probes_and_without_a_loss_module_none():
    torch.manual_seed(0)
    X, y = _circle()
    for loss_fn in (nn.BCEWithLogitsLoss(), None):
        model = _mlp(2, 8, 1)
        optimizer = torch.optim.SGD(model.parameters(), 0.1)
        with sl.doctor.watch(model, optimizer, loss_fn=loss_fn) as doctor:
            for _ in range(5):
                for start in range(0, len(X), 20):
                    optimizer.zero_grad()
                    out = model(X[start : start + 20]).squeeze(1)  # (rows,) as y[:, 0]
                    loss = (
                        nn.functional.binary_cross_entropy_with_logits(
                            out, y[start : start + 20, 0]
                        )
                        if loss_fn is None
                        else loss_fn(out, y[start : start + 20, 0])
                    )
                    loss.backward()
                    doctor.step(loss)
                    optimizer.step()
                doctor.epoch_end()
        probes = [record for record in doctor.records if record["layers"]]
        if loss_fn is None:  # the targets are out of sight: only the loss records
            assert probes == [] and doctor.records[0]["step"] == 1
        else:
            assert len(probes) >= 3 and probes[0]["layers"][0]["error"] > 0


@needs_torch
def test_dead_units_are_found_in_a_nested_module_tree():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.ModuleDict({"fc": nn.Linear(2, 16), "act": nn.ReLU()})
            self.head = nn.Sequential(nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1))

        def forward(self, x):
            return self.head(self.encoder["act"](self.encoder["fc"](x)))

    torch.manual_seed(0)
    model = Net()
    with torch.no_grad():
        model.encoder["fc"].bias.fill_(-10.0)
    X, y = _circle()
    optimizer = torch.optim.SGD(model.parameters(), 0.05)
    doctor = _train(model, optimizer, nn.BCEWithLogitsLoss(), X, y, 10, steps=130)
    finding = next(f for f in doctor.findings if f.kind == "dead_relu")
    assert finding.layer["name"] == "model.encoder.fc (relu)"
    assert finding.evidence["dead_fraction"] == 1.0


@needs_torch
def test_a_probe_hooks_no_module_of_the_model(monkeypatch):
    """A probe watches its own pass through one hook, removed after it, instead of one
    hook per module registered and removed at every probe (a tenth of a small net's
    probe)."""
    torch.manual_seed(0)
    model = _mlp(2, 8, 8, 1)
    X, y = _circle(64)
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    registered = []
    register = nn.Module.register_forward_hook

    def counted(self, *args, **kwargs):
        registered.append(type(self).__name__)
        return register(self, *args, **kwargs)

    with sl.doctor.watch(model, optimizer, loss_fn=loss_fn, probe_every=1) as doctor:
        for epoch in range(2):
            if epoch == 1:  # the probe batch is complete: from now on, probes only
                monkeypatch.setattr(nn.Module, "register_forward_hook", counted)
                before = doctor.probes
            _steps(model, optimizer, doctor, X, y, loss_fn)
            doctor.epoch_end()
    assert doctor.probes - before >= 4
    assert registered == []
    dense = [record["layers"] for record in doctor.records if record["layers"]][-1]
    assert [layer["dead_fraction"] is not None for layer in dense] == [True, True, False]


@needs_torch
def test_a_probe_sets_the_modes_directly_unless_a_module_has_its_own_train(monkeypatch):
    """eval() and putting the modes back through Module.__setattr__ took a tenth of a small
    network's probe; the probe sets the flags itself, except where a module of the user's
    overrides train(), which it still calls. The modes are put back either way."""

    class Frozen(nn.Linear):
        calls = 0

        def train(self, mode=True):
            Frozen.calls += 1
            return super().train(mode)

    X, y = _circle(64)
    loss_fn = nn.BCEWithLogitsLoss()
    counted = []
    set_attribute = nn.Module.__setattr__

    def counting(self, name, value):
        if name == "training":
            counted.append(value)
        set_attribute(self, name, value)

    for first, expected in ((nn.Linear(2, 8), False), (Frozen(2, 8), True)):
        torch.manual_seed(0)
        model = nn.Sequential(first, nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1))
        optimizer = torch.optim.SGD(model.parameters(), 0.1)
        counted.clear()
        monkeypatch.setattr(nn.Module, "__setattr__", counting)
        doctor = _train(model, optimizer, loss_fn, X, y, 2, probe_every=2)
        monkeypatch.undo()
        assert doctor.probes >= 3
        assert bool(counted) is expected and (Frozen.calls > 0) is expected
        assert all(module.training for module in model.modules())


@needs_torch
def test_a_regression_loop_gives_the_rules_its_target_variance():
    """Underfitting judges a regression by 1 - loss / the probe batch's target variance, as
    sigmalab's doctor measures it on its own probe batch."""
    torch.manual_seed(0)
    model = _mlp(2, 4, 1)
    X, _ = _circle(64)
    y = 3.0 * X[:, :1] ** 2
    doctor = _train(model, torch.optim.SGD(model.parameters(), 0.01), nn.MSELoss(), X, y, 2)
    assert doctor.context["target_variance"] == pytest.approx(float(y.var(unbiased=False)))
    net = _mlp(2, 4, 1)
    optimizer = torch.optim.SGD(net.parameters(), 0.01)
    classifier = _train(net, optimizer, nn.BCEWithLogitsLoss(), X, (y > 1).float(), 1)
    assert "target_variance" not in classifier.context


@needs_torch
def test_an_unknown_or_mistyped_watch_option_gets_a_clear_error():
    model = _mlp(2, 4, 1)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    with pytest.raises(sl.SigmalabError, match=r"unknown watch option 'step'\. Did you mean"):
        sl.doctor.watch(model, optimizer, step=100)
    with pytest.raises(sl.SigmalabError, match=r"static must be True or False.*'no'"):
        sl.doctor.watch(model, optimizer, static="no")


@needs_torch
def test_the_watch_counts_only_inside_its_block():
    """Outside the block no hook sees the model: a step there, or a report before the end,
    would report 'no problems' of a run never measured; a second block would mix two runs."""
    model = _mlp(2, 4, 1)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    X, y = _circle(32)
    loss_fn = nn.BCEWithLogitsLoss()
    loss = loss_fn(model(X), y)
    doctor = sl.doctor.watch(model, optimizer, loss_fn=loss_fn)
    with pytest.raises(sl.SigmalabError, match=r"step: the watch has not started; call it inside"):
        doctor.step(loss)
    with pytest.raises(sl.SigmalabError, match=r"report: the run has not been diagnosed yet"):
        doctor.report()
    with doctor:
        with pytest.raises(sl.SigmalabError, match=r"has already been entered"), doctor:
            pass
        _steps(model, optimizer, doctor, X, y, loss_fn)
    assert doctor.steps == 2 and doctor.probes >= 1
    with pytest.raises(sl.SigmalabError, match=r"epoch_end: the watch has ended"):
        doctor.epoch_end(loss=1.0)
    with pytest.raises(sl.SigmalabError, match=r"has already been entered"), doctor:
        pass
    assert not any(module._forward_hooks for module in model.modules())


@needs_torch
def test_an_html_report_path_that_cannot_be_written_is_named(tmp_path):
    model = _mlp(2, 4, 1)
    X, y = _circle(32)
    doctor = _train(
        model, torch.optim.SGD(model.parameters(), 0.1), nn.BCEWithLogitsLoss(), X, y, 1
    )
    with pytest.raises(sl.SigmalabError, match=r"report: html .* is a folder; name a file in it"):
        doctor.report(html=tmp_path)
    with pytest.raises(sl.SigmalabError, match=r"report: html must be a file path \(received int"):
        doctor.report(html=3)
    assert list(tmp_path.iterdir()) == []


class _TwoInputs(nn.Module if nn else object):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.out = nn.Linear(2, 4), nn.Linear(1, 4), nn.Linear(4, 1)

    def forward(self, x, z):
        return self.out(torch.relu(self.a(x) + self.b(z)))


class _TupleOutput(nn.Module if nn else object):
    def __init__(self, as_dict=False):
        super().__init__()
        self.hidden, self.out, self.as_dict = nn.Linear(2, 4), nn.Linear(4, 1), as_dict

    def forward(self, x):
        h = torch.relu(self.hidden(x))
        return {"logits": self.out(h), "h": h} if self.as_dict else (self.out(h), h)


@needs_torch
def test_a_model_of_several_inputs_trains_on_with_its_static_checks():
    """The probe replays ``model(X)`` on one tensor: a model of several inputs is not
    probed (it failed deep in torch, 'forward() missing 1 required positional argument')."""
    torch.manual_seed(0)
    model = _TwoInputs()
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    loss_fn = nn.BCEWithLogitsLoss()
    X, y = _circle(64)
    with sl.doctor.watch(model, optimizer, loss_fn) as doctor:
        for _ in range(3):
            optimizer.zero_grad()
            loss = loss_fn(model(X, X[:, :1]), y)
            loss.backward()
            doctor.step(loss)
            optimizer.step()
        doctor.epoch_end()
    assert doctor.steps == 3 and doctor.probes == 0 and len(doctor.epochs) == 1
    assert [layer["name"] for layer in doctor.context["layers"]]
    assert _report_text(doctor).startswith(
        "No problems found.\nNo probe was taken: no batch reached the loss as model(X) of one "
    )


def _report_text(doctor):
    from rich.console import Console

    console = Console(record=True, width=300, file=io.StringIO())
    doctor.report(console=console)
    return console.export_text()


@needs_torch
def test_a_report_without_probes_says_why():
    """'No problems found.' alone read as a clean bill of health for a run never probed."""
    model = _mlp(2, 4, 1)
    X, y = _circle(32)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    with sl.doctor.watch(model, optimizer) as unprobed:
        _steps(model, optimizer, unprobed, X, y, nn.BCEWithLogitsLoss())
    assert "No probe was taken: no loss_fn was given" in _report_text(unprobed)
    probed = _train(model, optimizer, nn.BCEWithLogitsLoss(), X, y, 1)
    assert probed.probes and "No probe was taken" not in _report_text(probed)


@needs_torch
@pytest.mark.parametrize("as_dict", [False, True])
def test_a_tuple_or_dict_output_is_probed_on_the_part_the_loss_reads(as_dict):
    """It failed in the watch ("'tuple' object has no attribute 'shape'")."""
    torch.manual_seed(0)
    model = _TupleOutput(as_dict)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    loss_fn = nn.BCEWithLogitsLoss()
    X, y = _circle(64)
    with sl.doctor.watch(model, optimizer, loss_fn) as doctor:
        output = model(X)
        loss = loss_fn((output["logits"] if as_dict else output[0]).squeeze(1), y.squeeze(1))
        loss.backward()
        doctor.step(loss)
        doctor.epoch_end()
    assert doctor.probes == 1
    assert doctor.records[0]["loss"] == pytest.approx(loss.item(), rel=1e-5)


@needs_torch
def test_a_bfloat16_regression_loop_is_diagnosed():
    """NumPy has no bfloat16: the targets' variance is read in float64."""
    torch.manual_seed(0)
    model = _mlp(2, 4, 1).to(torch.bfloat16)
    X, _ = _circle(64)
    y = 3.0 * X[:, :1] ** 2
    optimizer = torch.optim.SGD(model.parameters(), 0.01)
    doctor = _train(model, optimizer, nn.MSELoss(), X.bfloat16(), y.bfloat16(), 1)
    assert doctor.probes >= 1
    assert doctor.context["target_variance"] == pytest.approx(float(y.var(unbiased=False)), 0.02)


@needs_torch
def test_an_optimizer_of_another_model_gets_a_clear_error():
    model = _mlp(2, 4, 1)
    other = torch.optim.SGD(_mlp(2, 4, 1).parameters(), 0.1)
    with pytest.raises(sl.SigmalabError, match=r"the optimizer holds none of the model's"):
        sl.doctor.watch(model, other)
    frozen_head = torch.optim.SGD(model[2].parameters(), 0.1)  # fine-tuning a part is fine
    assert sl.doctor.watch(model, frozen_head).optimizer is frozen_head


@needs_torch
def test_a_loop_that_steps_twice_per_loss_or_never_is_told():
    """Two steps per batch doubled the schedule and the loss curve; none gave 'no problems'
    of a run never measured."""
    model = _mlp(2, 4, 1)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    loss_fn = nn.BCEWithLogitsLoss()
    X, y = _circle(16)
    with sl.doctor.watch(model, optimizer, loss_fn) as doctor:
        loss = loss_fn(model(X), y)
        loss.backward()
        doctor.step(loss)
        with pytest.raises(sl.SigmalabError, match=r"step: this loss was already stepped"):
            doctor.step(loss)
        optimizer.step()
    assert doctor.steps == 1
    with (
        pytest.raises(sl.SigmalabError, match=r"the block ended without a doctor\.step\(loss\)"),
        sl.doctor.watch(model, optimizer, loss_fn),
    ):
        loss_fn(model(X), y).backward()
    assert not any(module._forward_hooks for module in [*model.modules(), loss_fn])


@needs_torch
def test_a_loss_module_of_reduction_none_is_probed_on_its_mean():
    """The loop reduces such a loss itself (mean, mostly); the probe's gradient needs one
    number, so it takes the mean (it failed with 'grad can be implicitly created only for
    scalar outputs')."""
    torch.manual_seed(0)
    model = _mlp(2, 4, 1)
    optimizer = torch.optim.SGD(model.parameters(), 0.1)
    per_sample = nn.BCEWithLogitsLoss(reduction="none")
    X, y = _circle(32)
    with sl.doctor.watch(model, optimizer, per_sample) as doctor:
        optimizer.zero_grad()
        loss = per_sample(model(X), y).mean()
        loss.backward()
        doctor.step(loss)
        doctor.epoch_end()
    assert doctor.probes == 1
    assert doctor.records[0]["loss"] == pytest.approx(loss.item(), rel=1e-5)
