"""The Doctor on tiny real trainings: it finds what is wrong, stays quiet when nothing is,
and never changes the training it watches."""

import io
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import sigmalab as sl
from sigmalab.doctor import Doctor, diagnose_records, render, rules
from sigmalab.doctor.callback import MIN_PROBES, default_probe_interval, probe_cost_in_steps
from sigmalab.doctor.diagnose import diagnose
from sigmalab.doctor.probes import Probe

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def xor():
    data = sl.datasets.load("xor", samples=400, noise=0.1, seed=0)
    return data.X_train, data.y_train, data.X_test, data.y_test


def train(layers, optimizer, data, epochs=20, batch_size=32, doctor=None, seed=0):
    net = sl.Sequential(layers, seed=seed).compile("bce", optimizer)
    doctor = doctor or Doctor(probe_every=10)
    X, y, X_val, y_val = data
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        net.fit(
            X,
            y,
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
            validation_data=(X_val, y_val),
            callbacks=[doctor],
        )
    return net, doctor


def problems(doctor):
    return [f.kind for f in doctor.findings if f.severity != "info"]


def test_healthy_relu_network_with_adam_has_no_problem(xor):
    layers = [sl.Dense(16, "relu"), sl.Dense(16, "relu"), sl.Dense(1)]
    net, doctor = train(layers, {"name": "adam", "lr": 0.01}, xor, epochs=40)
    assert net.history.history["val_accuracy"][-1] > 0.9
    assert problems(doctor) == []
    assert doctor.probes >= 10


def test_deep_tanh_with_small_weights_has_vanishing_gradients(xor):
    layers = [sl.Dense(16, "tanh", weight_scale=0.1) for _ in range(8)] + [sl.Dense(1)]
    _, doctor = train(layers, {"name": "sgd", "lr": 0.1}, xor)
    assert problems(doctor) == ["vanishing_gradients"]
    finding = doctor.findings[0]
    assert finding.layer["index"] == 0
    assert finding.evidence["first_layer_error"] < 1e-4
    assert finding.evidence["ratio"] < 1e-3
    assert finding.remedies[0]["action"] == "set_activation"


def test_large_weights_and_a_large_learning_rate_diverge_and_stop_training(xor):
    layers = [sl.Dense(16, "relu", weight_scale=5) for _ in range(6)] + [sl.Dense(1)]
    net, doctor = train(layers, {"name": "sgd", "lr": 0.5}, xor, epochs=20)
    assert doctor.findings[0].kind == "divergence"
    assert doctor.findings[0].severity == "error"
    assert len(net.history.epoch) < 20  # stopped early
    json.dumps(doctor.to_dict(), allow_nan=False)


def test_large_weights_with_a_tiny_learning_rate_explode_without_diverging(xor):
    layers = [sl.Dense(32, "relu", weight_scale=3) for _ in range(6)] + [sl.Dense(1)]
    _, doctor = train(layers, {"name": "sgd", "lr": 1e-5}, xor, epochs=10)
    assert "exploding_gradients" in problems(doctor)
    assert "divergence" not in problems(doctor)


def test_batchnorm_inference_loss_at_step_one_is_no_divergence(xor):
    """Deep ReLU with large weights and BatchNorm: the first probe (inference mode, running
    statistics barely moved) sees a loss 30x the batch loss; training must go on."""
    layers = []
    for _ in range(7):
        layers += [sl.Dense(16, "relu", weight_scale=3), sl.BatchNorm()]
    net, doctor = train([*layers, sl.Dense(1)], {"name": "adam", "lr": 1e-3}, xor, epochs=5)
    first_probe = next(r for r in doctor.records if r["layers"])
    assert first_probe["loss"] > 20 * doctor.records[0]["loss"]  # the trap is there
    assert "divergence" not in problems(doctor)
    assert len(net.history.epoch) == 5  # not stopped


def _big_net_on_noisy_xor(data: dict) -> dict:
    """A run that overfits: two layers of 64 ReLU units, Adam, 60 epochs on noisy xor."""
    return {
        "data": {"dataset": "xor", "noise": 0.3, "standardize": True, **data},
        "model": {
            "seed": 0,
            "layers": [
                {"type": "dense", "units": 64, "activation": "relu"},
                {"type": "dense", "units": 64, "activation": "relu"},
                {"type": "dense", "units": 1},
            ],
        },
        "train": {
            "loss": "bce",
            "epochs": 60,
            "batch_size": 16,
            "optimizer": {"name": "adam", "lr": 0.003},
        },
    }


def test_overfitting_is_not_reported_once_early_stopping_restored_the_best_weights():
    """A big net on 40 noisy xor points overfits; early stopping (patience 10) keeps the best
    epoch's weights, so the epochs it ran on past the best are not held against the run."""
    from sigmalab.doctor.diagnose import diagnose

    run = _big_net_on_noisy_xor({"samples": 80, "seed": 0})
    assert diagnose(run).has_problem("overfitting")
    run["train"]["early_stopping_patience"] = 10
    stopped = diagnose(run)
    assert stopped.summary["epochs"] < 60
    assert not stopped.has_problem("overfitting")


def test_with_a_validation_split_the_doctor_and_repair_watch_it_not_the_test_split():
    """Overfitting is judged on the validation rows carved from the training split, and repair's
    metric is their accuracy; the test split is only evaluated at the end."""
    from sigmalab.doctor.diagnose import diagnose

    run = _big_net_on_noisy_xor({"samples": 160, "validation_fraction": 0.5})
    diagnosis = diagnose(run)
    assert diagnosis.has_problem("overfitting")
    assert diagnosis.summary["samples_validation"] == 40
    assert diagnosis.metric.name == "validation_accuracy"
    assert diagnosis.metric.value == diagnosis.summary["validation_accuracy"]


def test_early_stopping_tells_later_callbacks_the_epoch_it_restores(xor):
    stopper = sl.EarlyStopping(patience=2)
    doctor = Doctor(probe_every=10)
    layers = [sl.Dense(32, "relu"), sl.Dense(1)]
    net = sl.Sequential(layers, seed=0).compile("bce", {"name": "adam", "lr": 0.1})
    net.fit(*xor[:2], epochs=40, verbose=0, validation_data=xor[2:], callbacks=[stopper, doctor])
    assert stopper.stopped_epoch is not None
    assert doctor.epochs[-1]["best_epoch"] == stopper.best_epoch
    assert doctor.context["restored_epoch"] == stopper.best_epoch
    assert "best_epoch" not in net.history.history  # the history keeps the metrics only


def test_static_causes_replace_their_dynamic_symptoms(xor):
    """Dropout 1.0 stops all learning; report the cause, not 'learning rate too low'."""
    layers = [sl.Dense(8, "relu"), sl.Dropout(1.0), sl.Dense(1)]
    _, doctor = train(layers, {"name": "sgd", "lr": 0.01}, xor, epochs=15)
    assert problems(doctor) == ["dropout_too_high"]
    assert doctor.findings[0].severity == "error"
    symptoms = {f.kind for f in diagnose_records(doctor.records, doctor.epochs)}
    assert symptoms & {"learning_rate_too_low", "slow_convergence"}


def test_the_doctor_does_not_change_training(xor):
    """Same weights to the bit with and without probing every step (dropout and BatchNorm
    included: the probe must draw no random numbers and leave running statistics alone)."""

    def layers():
        return [sl.Dense(16, "relu"), sl.BatchNorm(), sl.Dropout(0.3), sl.Dense(1)]

    watched, doctor = train(layers(), "adam", xor, epochs=3, doctor=Doctor(probe_every=1))
    plain = sl.Sequential(layers(), seed=0).compile("bce", "adam")
    plain.fit(xor[0], xor[1], epochs=3, batch_size=32, verbose=0, validation_data=xor[2:])
    assert doctor.probes == 3 * 7  # every step of 3 epochs of 7 batches
    for a, b in zip(watched.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("batch_size", "optimizer"), [(1, "sgd"), (1, "adam"), (2, "adam")])
def test_single_sample_batches_are_no_divergence_and_train_as_without_a_doctor(
    batch_size, optimizer
):
    """With a batch of one, the batch loss jumps with every sample (0.05 for one, 4.7 for
    the next): the doctor must neither call that divergence nor stop training."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((57, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    weights = []
    for callbacks in ([], [Doctor()]):
        net = sl.Sequential([sl.Dense(8, "relu"), sl.Dense(8, "relu"), sl.Dense(1)], seed=1)
        net.compile("bce", {"name": optimizer, "lr": 0.02})
        history = net.fit(X, y, epochs=8, batch_size=batch_size, verbose=0, callbacks=callbacks)
        weights.append(net.flat_params.copy())
    assert len(history.history["loss"]) == 8
    assert "divergence" not in problems(callbacks[0])
    np.testing.assert_array_equal(*weights)


def test_probe_restores_gradients_and_measures_one_step(xor):
    net = sl.Sequential([sl.Dense(8, "tanh"), sl.Dense(1)], seed=0).compile("bce", "sgd")
    X, y = xor[0], net.loss.prepare_targets(xor[1], len(xor[0]), 1, net.dtype)
    X = X.astype(net.dtype)
    net.build(X.shape[1])
    probe = Probe(net, X, y, size=64)
    before = net.layers[0].params["W"].copy()
    probe.remember_weights(0)
    net.train_step(X[:32], xor[1][:32])
    grads = net.flat_grads.copy()
    record = probe(1, 0)
    np.testing.assert_array_equal(net.flat_grads, grads)
    after = net.layers[0].params["W"]
    expected = np.linalg.norm(after - before) / np.linalg.norm(after)
    assert record["layers"][0]["update_ratio"] == pytest.approx(expected)
    assert record["layers"][0]["saturated_fraction"] is not None
    assert record["layers"][1]["output"] is True
    assert probe(2, 0)["layers"][0]["update_ratio"] is None  # no snapshot of step 1


def test_explicit_interval_and_the_default_one(xor):
    def layers():
        return [sl.Dense(8, "relu"), sl.Dense(1)]

    _, doctor = train(layers(), "adam", xor, epochs=4, doctor=Doctor(probe_every=7))
    steps = [r["step"] for r in doctor.records if r["layers"]]
    assert steps == list(range(1, 4 * 7 + 1, 7))  # 7 steps per epoch, 28 steps
    _, default = train(layers(), "adam", xor, epochs=10, doctor=Doctor())
    budgeted = default_probe_interval(min(len(xor[0]), 256), 32, default.overhead_budget)
    assert default.probe_every == min(budgeted, 10 * 7 // MIN_PROBES)
    # The overhead is measured (its size is for benchmarks/doctor_eval.py to judge: on a
    # loaded machine a tiny run's probes can take longer than its training).
    assert math.isfinite(default.to_dict()["overhead"]) and default.to_dict()["overhead"] >= 0
    assert default.to_dict()["probes"] == default.probes >= MIN_PROBES  # even a short run


def test_the_default_schedule_depends_on_the_work_not_the_clock(xor, monkeypatch):
    """Two runs give the same records and findings even when one sees an erratic clock (a
    loaded machine): repair's proof compares findings across runs."""
    import random
    import time

    def run():
        layers = [sl.Dense(16, "relu"), sl.Dense(16, "tanh"), sl.Dense(1)]
        _, doctor = train(layers, "adam", xor, epochs=60, doctor=Doctor())
        return doctor

    steady = run()
    jumps, now = random.Random(0), [0.0]

    def erratic_clock():
        now[0] += jumps.choice([1e-6, 1e-4, 1e-2])
        return now[0]

    monkeypatch.setattr(time, "perf_counter", erratic_clock)
    loaded = run()
    monkeypatch.undo()
    assert json.dumps(loaded.records) == json.dumps(steady.records)
    assert [f.to_dict() for f in loaded.findings] == [f.to_dict() for f in steady.findings]
    # The interval follows from the shapes: probe rows, batch size, and 60 epochs of 7 steps.
    budgeted = default_probe_interval(min(len(xor[0]), 256), 32, steady.overhead_budget)
    assert steady.probe_every == min(budgeted, 60 * 7 // MIN_PROBES)
    assert steady.probes >= MIN_PROBES


def test_probes_keep_to_three_percent_of_the_training_work(xor):
    """The probe budget leaves room for the rest of the doctor within 5 % of training time."""
    layers = [sl.Dense(16, "relu"), sl.Dense(1)]
    _, doctor = train(layers, "adam", xor, epochs=400, doctor=Doctor())
    assert doctor.overhead_budget <= 0.03
    cost = probe_cost_in_steps(len(xor[0]), 32)
    steps = 400 * 7
    assert doctor.probe_every < steps // MIN_PROBES  # the budget binds, not the minimum
    assert doctor.probes * cost <= doctor.overhead_budget * steps + cost  # + the first probe


def test_probe_seconds_count_the_weight_snapshots_too(xor, monkeypatch):
    """The overhead counts what the doctor does while the run trains, not only its probes:
    the snapshot a step before each probe (for its update ratio) is the doctor's work too."""
    import time

    snapshots = []
    remember = Probe.remember_weights

    def slow_snapshot(self, step):
        time.sleep(0.02)
        snapshots.append(step)
        remember(self, step)

    monkeypatch.setattr(Probe, "remember_weights", slow_snapshot)
    _, doctor = train([sl.Dense(8, "relu"), sl.Dense(1)], "adam", xor, epochs=3)
    during_training = [step for step in snapshots if step > 0]  # step 0: before the clock
    assert len(during_training) >= 2
    assert doctor.probe_seconds >= 0.02 * len(during_training)


def test_between_probes_the_doctor_looks_again_only_where_one_may_be_due(xor, monkeypatch):
    """On a run of 3-step epochs, the default schedule's epoch-end probes the budget does not
    allow are skipped without a look (before, two steps in three took the slow way); the
    probes still come at the steps the schedule's rules give."""
    looks = []
    schedule = Doctor._schedule
    monkeypatch.setattr(
        Doctor, "_schedule", lambda self, step: (looks.append(step), schedule(self, step))
    )
    X, y, X_val, y_val = xor
    epochs, per_epoch = 100, 3
    _, doctor = train(
        [sl.Dense(8, "relu"), sl.Dense(1)],
        "adam",
        (X[:96], y[:96], X_val, y_val),
        epochs,
        doctor=Doctor(),
    )
    expected, last = [], 0
    cost = probe_cost_in_steps(96, 32)
    for step in range(1, epochs * per_epoch + 1):
        unprobed_epoch_end = (
            step % per_epoch == 0 and (last - 1) // per_epoch != (step - 1) // per_epoch
        )
        within = (len(expected) + 1) * cost <= doctor.overhead_budget * step
        if step == 1 or step - last >= doctor.probe_every or (unprobed_epoch_end and within):
            expected.append(step)
            last = step
    assert [r["step"] for r in doctor.records if r["layers"]] == expected
    assert len(looks) <= 2 * len(expected)  # the probe's step and the snapshot's before it


def test_probes_inside_fit_leave_the_blas_threads_to_fit(xor, monkeypatch):
    """fit already picks the BLAS threads for the run; a second limiter per probe cost ~10 %."""
    from sigmalab.doctor import probes

    def no_second_limiter(largest_product):
        raise AssertionError("the Doctor's probes should not set BLAS threads inside fit")

    monkeypatch.setattr(probes, "blas_threads_for", no_second_limiter)
    _, doctor = train([sl.Dense(8, "relu"), sl.Dense(1)], "adam", xor, epochs=3)
    assert doctor.probes >= 2


def test_render_lists_findings_or_says_all_is_well(xor):
    layers = [sl.Dense(8), sl.Dense(1)]
    _, doctor = train(layers, "adam", xor, epochs=1)
    out = io.StringIO()
    render(doctor.findings, Console(file=out, width=120))
    assert "missing_nonlinearity" in out.getvalue()
    assert "first remedy: insert_activation relu" in out.getvalue()
    out = io.StringIO()
    render([], Console(file=out))
    assert "No problems found" in out.getvalue()


def test_doctor_validates_its_parameters():
    with pytest.raises(sl.SigmalabError, match="probe_every"):
        Doctor(probe_every=0)
    with pytest.raises(sl.SigmalabError, match="overhead_budget"):
        Doctor(overhead_budget=0.0)


def test_with_a_doctor_a_diverging_fit_reports_through_the_doctor_only():
    rng = np.random.default_rng(0)
    X, y = rng.random((50, 2)), rng.random(50)
    model = sl.Sequential([sl.Dense(8, "relu"), sl.Dense(1)]).compile("mse", sl.SGD(lr=1e6))
    doctor = sl.Doctor()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y, epochs=20, batch_size=10, verbose=0, callbacks=[doctor])
    assert caught == []
    assert "divergence" in [finding.kind for finding in doctor.findings]


def test_the_first_nan_is_traced_to_the_activation_that_made_it(xor):
    """log(x) in the second layer: the first layer's outputs are finite, the second's are
    not at step 1, and the finding names that layer, not the weights."""
    layers = [sl.Dense(8, "tanh"), sl.Dense(8, "log(x)"), sl.Dense(1)]
    _, doctor = train(layers, {"name": "sgd", "lr": 0.1}, xor, epochs=5)
    traced = [record for record in doctor.records if "first_nonfinite" in record]
    assert [record["step"] for record in traced] == [1]  # looked for once, at the first NaN
    where = traced[0]["first_nonfinite"]
    assert (where["index"], where["stage"], where["activation"]) == (1, "activation", "log(x)")
    assert where["bad_input_max"] <= 0 < where["nonfinite_fraction"]
    assert problems(doctor) == ["activation_domain"]
    assert doctor.findings[0].layer["name"] == "dense_2 (log(x))"


def test_a_nan_from_blown_up_weights_is_traced_to_a_weighted_sum(xor):
    layers = [sl.Dense(16, "relu", weight_scale=5) for _ in range(6)] + [sl.Dense(1)]
    _, doctor = train(layers, {"name": "sgd", "lr": 0.5}, xor, epochs=20)
    (traced,) = [record for record in doctor.records if "first_nonfinite" in record]
    assert traced["first_nonfinite"]["stage"] == "weighted_sum"
    assert "activation_domain" not in problems(doctor)


def test_a_finite_blow_up_trains_on_so_the_units_it_killed_are_measured():
    """SGD at lr 0.4 with momentum 0.98 throws the loss far up, and the spike kills the ReLUs:
    the run is not stopped at the spike, so both are found, each with its own numbers, and
    the run, at chance accuracy, has learned nothing."""
    diagnosis = diagnose(SCENARIOS / "dead_relu/04-wine-sgd-momentum-spike.toml")
    assert diagnosis.summary["epochs"] == len(diagnosis.model.history.epoch)
    found = {finding.kind: finding for finding in diagnosis.findings}
    assert set(found) == {"divergence", "dead_relu", "no_learning"}
    spike = found["divergence"].evidence
    assert spike["loss"] > rules.DIVERGENCE_FACTOR * spike["initial_loss"]
    assert found["dead_relu"].evidence["dead_fraction"] >= rules.DEAD_FRACTION
