"""The playground's settings: URL round trips, caps with clear messages, the run file they
describe and back, the frame format, and the doctor's per-unit helpers the page draws."""

import numpy as np
import pytest

import sigmalab as sl
from sigmalab.config import RunConfig
from sigmalab.doctor.probes import dead_units, saturated_units
from sigmalab.doctor.remedies import ALL_FEATURES, apply_remedy
from sigmalab.playground.frames import pack, unpack
from sigmalab.playground.run_file import describe_remedy, from_run, to_run
from sigmalab.playground.settings import (
    Settings,
    SettingsError,
    from_mapping,
    parse_query,
    to_dict,
    to_query,
)
from sigmalab.playground.view import thumbnails, to_bytes


def test_the_defaults_are_the_playgrounds():
    settings = Settings()
    assert (settings.dataset, settings.noise, settings.ratio, settings.batch) == (
        "circle",
        0,
        50,
        10,
    )
    assert [layer.units for layer in settings.layers] == [4, 2]
    assert {layer.activation for layer in settings.layers} == {"tanh"}
    assert (settings.lr, settings.init, settings.loss) == (0.03, "uniform", "auto")


def test_every_setting_survives_the_url():
    settings = from_mapping(
        {
            "dataset": "spiral",
            "noise": 35,
            "ratio": 70,
            "batch": 3,
            "seed": 123,
            "features": ["x1", "sin(x2)", "x1*x2"],
            "layers": [8, 3, 1],
            "activation": ["relu", "x * sigmoid(x)", "tanh"],
            "batchnorm": [True, False, False],
            "dropout": [0.0, 0.2, 0.0],
            "lr": 0.003,
            "optimizer": "adam",
            "l2": 0.01,
            "init": "he_normal",
            "scale": 0.5,
            "clip": 1.0,
            "standardize": True,
            "patience": 20,
            "show_test": True,
            "discretize": True,
            "speed": 5,
        }
    )
    again, problems = parse_query(to_query(settings))
    assert problems == [] and again == settings
    assert settings.features == ("x1", "x1*x2", "sin(x2)")  # the page's order


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"layers": "8,8,8,8,8,8,8"}, "layers: at most 6 hidden layers (received 7)"),
        ({"layers": "4,9"}, "layers[1]: must be <= 8 (received '9')"),
        ({"layers": "4,0"}, "layers[1]: must be >= 1 (received '0')"),
        ({"noise": "55"}, "noise: must be <= 50 (received '55')"),
        ({"ratio": 95}, "ratio: must be <= 90 (received 95)"),
        ({"batch": 31}, "batch: must be <= 30 (received 31)"),
        ({"samples": 50_000}, "samples: must be <= 2000 (received 50000)"),
        ({"lr": 0}, "lr: must be > 0 (received 0)"),
        ({"lr": "fast"}, "lr: must be a number (received 'fast')"),
        ({"dataset": "sprial"}, "Did you mean 'spiral'?"),
        ({"features": "x3"}, "features: 'x3' is not allowed"),
        ({"features": ""}, "features: pick at least one input"),
        ({"activation": "rleu"}, "activation[0]: unknown activation 'rleu'"),
        ({"activation": "__import__('os').system('x')"}, "is not allowed"),
        ({"dropout": "0.1,0.2,0.3"}, "dropout: give one value, or one per hidden layer (2)"),
        ({"colour": "red"}, "colour: unknown setting"),
    ],
)
def test_bad_values_are_named_with_what_is_allowed(values, problem):
    with pytest.raises(SettingsError) as error:
        from_mapping(values)
    assert any(problem in text for text in error.value.problems), error.value.problems


def test_a_link_keeps_its_good_values_and_reports_the_bad_ones():
    settings, problems = parse_query("?dataset=xor&noise=90&layers=3&activation=relu")
    assert problems == ["noise: must be <= 50 (received '90')"]
    assert settings.dataset == "xor" and settings.noise == 0
    assert [(layer.units, layer.activation) for layer in settings.layers] == [(3, "relu")]


def test_a_new_layer_copies_the_last_ones_settings():
    base = from_mapping({"layers": [4], "activation": "relu", "dropout": 0.1})
    grown = from_mapping({"layers": [4, 2]}, base=base)
    assert [(layer.activation, layer.dropout) for layer in grown.layers] == [
        ("relu", 0.1),
        ("relu", 0.1),
    ]


def test_the_run_file_is_a_valid_run_and_reads_back_to_the_same_settings():
    settings = from_mapping(
        {
            "dataset": "xor",
            "layers": [5, 3],
            "activation": "relu;sigmoid",
            "batchnorm": "1,0",
            "dropout": "0,0.3",
            "optimizer": "momentum",
            "l1": 0.001,
            "clip": 2,
            "patience": 7,
        }
    )
    run = to_run(settings, "classification", 2, epochs=40)
    config = RunConfig.from_dict(run)
    assert config.train.optimizer.momentum == 0.9 and config.train.early_stopping_patience == 7
    assert [layer.type for layer in config.model.layers] == [
        "dense",
        "batchnorm",
        "dense",
        "dropout",
        "dense",
    ]
    assert from_run(config.to_dict(), "classification", 2, view=settings) == settings


def test_a_run_the_page_cannot_show_is_refused_key_by_key():
    run = RunConfig.from_dict(to_run(Settings(), "classification", 2, epochs=1)).to_dict()
    run["model"]["layers"][1]["init"] = "he_normal"
    run["train"]["optimizer"]["momentum"] = 0.5
    with pytest.raises(SettingsError) as error:
        from_run(run, "classification", 2)
    assert "model.layers[1].init: the page cannot show 'he_normal'" in str(error.value)
    assert "train.optimizer.momentum" in str(error.value)


@pytest.mark.parametrize(
    ("remedy", "changed"),
    [
        ({"action": "set_activation", "value": "relu", "layers": "hidden"}, {"activation"}),
        ({"action": "add_batchnorm"}, {"batchnorm"}),
        ({"action": "scale_learning_rate", "factor": 0.1}, {"lr"}),
        ({"action": "set_optimizer", "value": "adam"}, {"optimizer", "lr"}),
        ({"action": "set_clip_norm", "value": 1.0}, {"clip"}),
        ({"action": "set_dropout", "value": 0.2}, {"dropout"}),
        ({"action": "set_l2", "value": 1e-3}, {"l2"}),
        ({"action": "set_init", "value": "he_normal"}, {"init"}),
        ({"action": "standardize_inputs"}, {"standardize"}),
        ({"action": "early_stopping", "patience": 20}, {"patience"}),
        ({"action": "replace_activation", "layer": 0, "value": "relu"}, {"activation"}),
        ({"action": "add_hidden_layer"}, {"layers", "activation", "batchnorm", "dropout"}),
        ({"action": "set_features", "value": ALL_FEATURES}, {"features"}),
    ],
)
def test_each_remedy_the_doctor_proposes_maps_onto_the_pages_controls(remedy, changed):
    settings = from_mapping({"layers": [8, 8, 8], "activation": "sigmoid"})
    run = RunConfig.from_dict(to_run(settings, "classification", 2, epochs=1)).to_dict()
    repaired = RunConfig.from_dict(apply_remedy(run, remedy)).to_dict()
    after = from_run(repaired, "classification", 2, view=settings)
    before_values, after_values = to_dict(settings), to_dict(after)
    assert {key for key in before_values if before_values[key] != after_values[key]} == changed
    assert describe_remedy(remedy)[0].islower()


def test_frames_pack_header_and_arrays_without_copies_on_the_page():
    arrays = {
        "heat": np.arange(10, dtype=np.uint8),
        "w0": np.ones((2, 3), np.float32),
        "odd": np.arange(3, dtype=np.uint8),
        "b0": np.array([0.5], np.float32),
    }
    message = pack({"type": "frame", "loss": float("nan")}, arrays)
    header, back = unpack(message)
    assert header == {"type": "frame", "loss": "nan"}
    for name, array in arrays.items():
        np.testing.assert_array_equal(back[name], array)
    length = int.from_bytes(message[:4], "little")
    assert (4 + length) % 4 == 0  # every array starts 4-byte aligned for a Float32Array


def test_heat_bytes_and_thumbnails():
    np.testing.assert_array_equal(
        to_bytes(np.array([-2.0, -1.0, 0.0, 1.0, np.nan]), -1, 1), [0, 0, 128, 255, 128]
    )
    grid = np.linspace(-1, 1, 100)
    columns = np.column_stack([np.tile(grid, 100), 3 * np.repeat(grid, 100)])
    thumbs = thumbnails([columns[:, :1], columns[:, 1:]])
    assert thumbs.shape == (2, 20, 20) and thumbs.dtype == np.uint8
    assert thumbs[0, 0, 0] < 20 and thumbs[0, 0, -1] > 235  # left to right
    assert thumbs[1, 0, 0] < 20 and thumbs[1, -1, 0] > 235  # scaled by its own largest value


def test_the_doctors_per_unit_tests_match_its_fractions():
    z = np.array([[-1.0, 2.0, -3.0], [-0.5, -1.0, -2.0]])
    np.testing.assert_array_equal(dead_units(z), [True, False, True])
    a = 1 / (1 + np.exp(-np.array([[9.0, 0.0], [10.0, 0.1]])))
    np.testing.assert_array_equal(saturated_units("sigmoid", None, a), [True, False])
    X, y, _, _ = sl.datasets.load("xor", samples=80, seed=0)
    model = sl.Sequential([sl.Dense(6, "sigmoid", weight_scale=20), sl.Dense(1)], seed=0)
    model.compile("bce", "sgd")
    doctor = sl.Doctor(probe_every=1)
    model.fit(X, y, epochs=3, batch_size=20, verbose=0, callbacks=[doctor])
    dense = model.layers[0]
    model.forward(doctor_probe_rows(X, doctor))
    fraction = np.mean(saturated_units("sigmoid", dense.z, dense.a))
    last_probe = [record for record in doctor.records if record["layers"]][-1]
    assert fraction == pytest.approx(last_probe["layers"][0]["saturated_fraction"])
    assert [f.kind for f in doctor.current_findings()] == [f.kind for f in doctor.findings]


def doctor_probe_rows(X, doctor):
    """The probe batch the doctor used: evenly spaced rows of the training set."""
    rows = np.linspace(0, len(X) - 1, min(len(X), doctor.probe_size)).astype(np.intp)
    return X[rows]


def test_the_per_unit_tests_read_nan_as_neither_active_nor_flat():
    """NaN is no activity (z > 0 is False) and no flat end: as np.any / np.count_nonzero
    over the comparisons say it, whatever reduction computes them."""
    z = np.array([[np.nan, np.nan, -1.0], [np.nan, 2.0, np.nan]])
    np.testing.assert_array_equal(dead_units(z), ~np.any(z > 0, axis=0))
    np.testing.assert_array_equal(dead_units(z), [True, False, True])
    a = np.array([[np.nan, 0.99, 0.5]] * 9 + [[0.01, np.nan, 0.99]])
    flat = (a <= 0.03) | (a >= 0.97)
    expected = np.count_nonzero(flat, axis=0) >= 0.9 * len(a)
    np.testing.assert_array_equal(saturated_units("sigmoid", None, a), expected)
    np.testing.assert_array_equal(expected, [False, True, False])
