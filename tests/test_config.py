"""Run files: validation messages, path resolution, round trips and build_model."""

import copy
import inspect

import numpy as np
import pytest

import sigmalab as sl
from sigmalab.config import (
    AdamConfig,
    BatchNormConfig,
    ConfigError,
    DenseConfig,
    DropoutConfig,
    RMSpropConfig,
    RunConfig,
    SGDConfig,
    build_model,
    load_run,
    save_run,
)
from sigmalab.runner import check_loss_fits, load_data, train_run

VALID = {
    "data": {"dataset": "xor", "samples": 40, "noise": 0.1, "standardize": True},
    "model": {
        "seed": 3,
        "layers": [
            {"type": "dense", "units": 4, "activation": "relu"},
            {"type": "dropout", "rate": 0.1},
            {"type": "dense", "units": 1},
        ],
    },
    "train": {"loss": "bce", "epochs": 2, "optimizer": {"name": "sgd", "lr": 0.1}},
}


def problems(change) -> str:
    """The ConfigError message for VALID after ``change`` mutates a copy of it."""
    data = copy.deepcopy(VALID)
    change(data)
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict(data)
    return str(caught.value)


def write_csv(path, rows, header="x1,x2,target"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "\n".join(",".join(map(str, row)) for row in rows) + "\n")


def test_valid_run_file_loads_with_engine_defaults_filled_in():
    config = RunConfig.from_dict(VALID)
    assert config.train.batch_size == 32
    assert config.model.dtype == "float32"
    assert config.model.layers[0].init == "auto"
    assert isinstance(config.train.optimizer, SGDConfig)


@pytest.mark.parametrize(
    ("table", "engine"),
    [
        (DenseConfig, sl.Dense),
        (BatchNormConfig, sl.BatchNorm),
        (DropoutConfig, sl.Dropout),
        (SGDConfig, sl.SGD),
        (AdamConfig, sl.Adam),
        (RMSpropConfig, sl.RMSprop),
    ],
)
def test_tables_mirror_the_engine_constructors(table, engine):
    """Same keys and the same defaults as the Python API, so a run file means the same."""
    parameters = inspect.signature(engine).parameters
    keys = set(table.model_fields) - {"type", "name"}
    assert keys == set(parameters) - {"derivative"}
    for key in keys:
        field = table.model_fields[key]
        if parameters[key].default is not inspect.Parameter.empty:
            assert field.default == parameters[key].default, key


def test_unknown_key_names_its_path_and_the_allowed_keys():
    message = problems(lambda d: d["model"]["layers"][0].update(unit=4))
    assert (
        "model.layers[0].unit: unknown key 'unit'. Did you mean 'units'? "
        "Allowed: type, units, activation"
    ) in message
    assert "Did you mean 'units'?" in message


def test_key_of_another_optimizer_is_unknown_for_this_one():
    message = problems(lambda d: d["train"]["optimizer"].update(beta1=0.5))
    assert "train.optimizer.beta1: unknown key 'beta1'" in message
    assert "momentum, nesterov" in message


def test_value_out_of_range_names_path_bound_and_value():
    message = problems(lambda d: d["model"]["layers"][1].update(rate=1.5))
    assert "model.layers[1].rate: must be in [0, 1] (received 1.5)" in message


@pytest.mark.parametrize(
    ("build", "layer", "table"),
    [
        (sl.Dropout, 1, {"type": "dropout", "rate": -0.5}),
        (sl.BatchNorm, 1, {"type": "batchnorm", "momentum": 2.0}),
        (sl.Dense, 0, {"type": "dense", "units": 4, "weight_scale": -1}),
        (sl.SGD, None, {"name": "sgd", "momentum": 1.0}),
        (sl.Adam, None, {"name": "adam", "beta2": 1.5}),
    ],
)
def test_run_file_bounds_are_the_constructors_bounds(build, layer, table):
    """A run file's key is refused in the constructor's own words: one bound, one place."""
    tag, *_ = table
    *_, (key, value) = table.items()
    with pytest.raises(sl.SigmalabError) as engine:
        build(**{k: v for k, v in table.items() if k != tag})

    def change(data):
        if layer is None:
            data["train"]["optimizer"] = table
        else:
            data["model"]["layers"][layer] = table

    path = "train.optimizer" if layer is None else f"model.layers[{layer}]"
    assert f"{path}.{key}: {engine.value.requirement} (received {value!r})" in problems(change)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["train"].update(batch_size=0), "train.batch_size: must be >= 1 (received 0)"),
        (lambda d: d["train"]["optimizer"].update(lr=0), "train.optimizer.lr: must be > 0"),
        (lambda d: d["data"].update(samples="40"), "data.samples: must be a valid integer"),
        (lambda d: d["data"].update(noise=float("nan")), "data.noise: must be a finite number"),
        (lambda d: d["model"]["layers"][0].pop("units"), "model.layers[0].units: missing"),
        (lambda d: d.pop("train"), "train: missing required key"),
        (lambda d: d["data"].update(seed=-1), "data.seed: must be >= 0 (received -1)"),
        (lambda d: d["model"].update(seed=-1), "model.seed: must be >= 0 (received -1)"),
        (
            lambda d: d["data"].update(features=["x1", "x1"]),
            "data.features: features lists a name twice: ['x1', 'x1']",
        ),
    ],
)
def test_bad_values_are_rejected_with_their_path(change, expected):
    assert expected in problems(change)


def test_wrong_enum_lists_the_allowed_values():
    message = problems(lambda d: d["train"].update(loss="mae"))
    assert (
        "train.loss: unknown loss 'mae'. Did you mean 'mse'? Allowed: mse, bce, cross_entropy"
        in message
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["model"]["layers"][0].update(type="conv"),
            "model.layers[0].type: unknown layer type 'conv'. Allowed: dense, batchnorm, dropout",
        ),
        (
            lambda d: d["train"]["optimizer"].update(name="adagrad"),
            "train.optimizer.name: unknown optimizer 'adagrad'. Allowed: sgd, adam, rmsprop",
        ),
        (
            lambda d: d["model"].update(dtype="float16"),
            "model.dtype: unknown dtype 'float16'. Did you mean 'float64'? Allowed: float32, "
            "float64",
        ),
        (lambda d: d["model"]["layers"][0].update(init="he"), "Allowed: auto, glorot_uniform"),
        (lambda d: d["data"].update(features=["x3"]), "data.features[0]: unknown feature 'x3'"),
        (lambda d: d["data"].update(dataset="spirale"), "Did you mean 'spiral'?"),
    ],
)
def test_every_choice_lists_its_allowed_values(change, expected):
    assert expected in problems(change)


def test_unknown_activation_gets_the_engines_suggestion():
    message = problems(lambda d: d["model"]["layers"][0].update(activation="rleu"))
    assert "model.layers[0].activation: unknown activation 'rleu'. Did you mean 'relu'?" in message


def test_formula_activation_is_accepted_and_unsafe_formula_rejected():
    data = copy.deepcopy(VALID)
    data["model"]["layers"][0]["activation"] = "x * sigmoid(x)"
    assert RunConfig.from_dict(data).model.layers[0].activation == "x * sigmoid(x)"
    message = problems(lambda d: d["model"]["layers"][0].update(activation="__import__('os')"))
    assert "model.layers[0].activation" in message and "not allowed" in message


def test_all_problems_are_reported_at_once():
    def break_twice(data):
        data["train"]["loss"] = "mae"
        data["model"]["layers"][1]["rate"] = -1

    message = problems(break_twice)
    assert "train.loss" in message
    assert "model.layers[1].rate: must be in [0, 1] (received -1)" in message


def test_bce_with_several_outputs_says_what_to_set():
    message = problems(lambda d: d["model"]["layers"][2].update(units=2))
    assert "model.layers[2].units: loss 'bce' needs 1 output unit" in message
    assert "set units = 1" in message


def test_nesterov_without_momentum_is_rejected():
    message = problems(lambda d: d["train"]["optimizer"].update(nesterov=True))
    assert "train.optimizer: nesterov needs momentum > 0" in message


def test_malformed_toml_reports_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[data]\ndataset = "xor"\n[model\nseed = 1\n')
    with pytest.raises(ConfigError, match=r"broken\.toml: invalid TOML: .*line 3"):
        load_run(path)


def test_missing_run_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="run file not found"):
        load_run(tmp_path / "absent.toml")


def test_missing_csv_is_reported_with_its_resolved_path(tmp_path):
    run = tmp_path / "run.toml"
    run.write_text(
        '[data]\ndataset = "data/absent.csv"\n[model]\nlayers = [{type = "dense", units = 1}]\n'
        '[train]\nloss = "mse"\nepochs = 1\noptimizer = {name = "sgd"}\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_run(run)
    assert f"data.dataset: file not found: {tmp_path / 'data' / 'absent.csv'}" in str(caught.value)


def test_csv_path_that_is_a_folder_is_named_as_one(tmp_path):
    (tmp_path / "points.csv").mkdir()
    data = copy.deepcopy(VALID)
    data["data"] = {"dataset": "points.csv"}
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict(data, tmp_path)
    assert f"data.dataset: {tmp_path / 'points.csv'} is a folder, not a CSV file" in str(
        caught.value
    )


def test_relative_csv_path_resolves_against_the_run_files_folder(tmp_path, monkeypatch):
    write_csv(tmp_path / "data" / "points.csv", [(i % 3, i % 5, i % 2) for i in range(20)])
    run = tmp_path / "runs" / "run.toml"
    run.parent.mkdir()
    data = copy.deepcopy(VALID)
    data["data"] = {"dataset": "../data/points.csv"}
    save_run(RunConfig.from_dict(data, tmp_path / "runs"), run)
    monkeypatch.chdir(tmp_path / "data")  # the working directory must not matter
    config = load_run(run)
    assert config.data.dataset == "../data/points.csv"  # kept as written
    assert config.data.csv_path.resolve() == (tmp_path / "data" / "points.csv").resolve()
    assert load_data(config)[0].X_train.shape[1] == 2


def test_saved_copy_elsewhere_still_finds_the_csv(tmp_path):
    write_csv(tmp_path / "data" / "points.csv", [(i % 3, i % 5, i % 2) for i in range(20)])
    data = copy.deepcopy(VALID)
    data["data"] = {"dataset": "data/points.csv"}
    config = RunConfig.from_dict(data, tmp_path)
    save_run(config, tmp_path / "out" / "deep" / "run.toml")
    copied = load_run(tmp_path / "out" / "deep" / "run.toml")
    assert copied.data.dataset == "../../data/points.csv"
    assert copied.data.csv_path.resolve() == config.data.csv_path.resolve()


def test_to_dict_and_save_run_round_trip(tmp_path):
    config = RunConfig.from_dict(VALID)
    assert RunConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()
    save_run(config, tmp_path / "copy.toml")
    assert load_run(tmp_path / "copy.toml").to_dict() == config.to_dict()


def test_with_changes_merges_and_revalidates():
    config = RunConfig.from_dict(VALID)
    changed = config.with_changes({"train": {"epochs": 7, "optimizer": {"lr": 0.5}}})
    assert (changed.train.epochs, changed.train.optimizer.lr) == (7, 0.5)
    assert changed.train.loss == "bce" and config.train.epochs == 2
    with pytest.raises(ConfigError, match="train.epochs: must be >= 1"):
        config.with_changes({"train": {"epochs": 0}})


def test_build_model_matches_a_hand_built_sequential():
    data = copy.deepcopy(VALID)
    data["model"] = {
        "seed": 7,
        "dtype": "float64",
        "layers": [
            {"type": "dense", "units": 5, "activation": "tanh", "l2": 1e-3, "init": "he_uniform"},
            {"type": "batchnorm", "momentum": 0.2},
            {"type": "dropout", "rate": 0.3},
            {"type": "dense", "units": 1, "weight_scale": 0.5},
        ],
    }
    data["train"]["optimizer"] = {"name": "adam", "lr": 0.01, "clip_norm": 1.0}
    model = build_model(RunConfig.from_dict(data)).build(3)
    by_hand = sl.Sequential(
        [
            sl.Dense(5, activation="tanh", l2=1e-3, init="he_uniform"),
            sl.BatchNorm(momentum=0.2),
            sl.Dropout(0.3),
            sl.Dense(1, weight_scale=0.5),
        ],
        seed=7,
        dtype="float64",
    ).build(3)
    by_hand.compile("bce", sl.Adam(lr=0.01, clip_norm=1.0))
    assert model.get_config() == by_hand.get_config()
    for ours, theirs in zip(model.get_weights(), by_hand.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_classification_loss_on_regression_data_is_rejected():
    data = copy.deepcopy(VALID)
    data["data"] = {"dataset": "reg-plane", "samples": 20}
    config = RunConfig.from_dict(data)
    with pytest.raises(ConfigError, match="'bce' is for classification.*use 'mse'"):
        check_loss_fits(config, load_data(config)[0])


def test_cross_entropy_output_width_must_match_the_classes(tmp_path):
    write_csv(tmp_path / "three.csv", [(i, -i, i % 3) for i in range(30)])
    data = copy.deepcopy(VALID)
    data["data"] = {"dataset": "three.csv"}
    data["train"]["loss"] = "cross_entropy"
    data["model"]["layers"][2]["units"] = 2
    config = RunConfig.from_dict(data, tmp_path)
    with pytest.raises(ConfigError, match=r"model.layers\[2\].units: .*set units = 3"):
        train_run(config, verbose=0)
    binary = copy.deepcopy(data)
    binary["train"]["loss"] = "bce"
    binary["model"]["layers"][2]["units"] = 1
    with pytest.raises(ConfigError, match="'bce' is for 2 classes.*has 3"):
        train_run(RunConfig.from_dict(binary, tmp_path), verbose=0)


def test_the_issues_example_run_file_is_valid(tmp_path):
    """The run file documented in the engine issue, with every key shown, loads and builds."""
    run = tmp_path / "spiral.toml"
    run.write_text(
        """
[data]
dataset = "spiral"
samples = 500
noise = 0.1
test_fraction = 0.5
standardize = true
seed = 0
[model]
seed = 0
dtype = "float32"
layers = [
  {type = "dense", units = 8, activation = "relu", weight_scale = 1.0, l2 = 0.0},
  {type = "batchnorm"},
  {type = "dropout", rate = 0.1},
  {type = "dense", units = 1},
]
[train]
loss = "bce"
epochs = 200
batch_size = 10
optimizer = {name = "sgd", lr = 0.03, momentum = 0.0}
"""
    )
    model = build_model(load_run(run)).build(2)
    assert [layer.kind for layer in model.layers] == ["dense", "batchnorm", "dropout", "dense"]
    assert model.optimizer.get_config()["lr"] == 0.03


def test_features_on_a_csv_are_rejected_with_what_to_remove(tmp_path):
    write_csv(tmp_path / "points.csv", [(i, -i, i % 2) for i in range(10)])
    data = copy.deepcopy(VALID)
    data["data"] = {"dataset": "points.csv", "features": ["x1^2"]}
    with pytest.raises(ConfigError) as caught:
        RunConfig.from_dict(data, tmp_path)
    message = str(caught.value)
    assert "data: features apply only to the 2-D built-in datasets (circle, xor" in message
    assert "not 'points.csv'; remove the features key" in message


def test_validation_fraction_carves_the_watched_split_from_the_training_rows():
    plain = RunConfig.from_dict(VALID)
    carved = plain.with_changes({"data": {"validation_fraction": 0.25}})
    without, _ = load_data(plain)
    dataset, preprocessing = load_data(carved)  # raw rows: the model preprocesses them
    assert without.X_val is None
    assert (len(dataset.y_train), len(dataset.y_val), len(dataset.y_test)) == (15, 5, 20)
    # the last training rows of the same seeded split; standardisation fitted without them
    np.testing.assert_array_equal(dataset.X_val, without.X_train[15:])
    np.testing.assert_allclose(preprocessing.normalization.mean, dataset.X_train.mean(axis=0))

    recorded = []

    class Watch(sl.Callback):
        def on_train_begin(self, model, logs):
            recorded.append(logs["samples"])

    result = train_run(carved, verbose=0, callbacks=[Watch()])
    assert recorded == [15]
    summary = result.summary
    assert summary["samples_train"] == 15 and summary["samples_validation"] == 5
    val_loss = result.model.evaluate(dataset.X_val, dataset.y_val)["loss"]
    assert result.history.history["val_loss"][-1] == pytest.approx(val_loss)
    assert summary["validation_loss"] == pytest.approx(val_loss)
    assert summary["test_loss"] == pytest.approx(
        result.model.evaluate(dataset.X_test, dataset.y_test)["loss"]
    )
    # without a validation split, training watches the test split (the default)
    default = train_run(plain, verbose=0)
    assert "validation_loss" not in default.summary
    assert default.history.history["val_loss"][-1] == pytest.approx(default.summary["test_loss"])


def test_a_validation_fraction_too_small_for_the_data_names_the_key():
    carved = RunConfig.from_dict(VALID).with_changes({"data": {"validation_fraction": 0.01}})
    with pytest.raises(sl.SigmalabError, match=r"data.validation_fraction=0.01 of 20 samples"):
        train_run(carved, verbose=0)
    with pytest.raises(ConfigError, match=r"data.validation_fraction: must be < 1"):
        RunConfig.from_dict(VALID).with_changes({"data": {"validation_fraction": 1.0}})


@pytest.mark.parametrize(
    ("loss", "units"), [("bce", 1), ("cross_entropy", 1), ("cross_entropy", 2)]
)
def test_a_target_with_a_single_class_says_so_for_every_loss(tmp_path, loss, units):
    """bce used to say 'use cross_entropy' and cross_entropy 'use bce'."""
    write_csv(tmp_path / "one.csv", [(i, -i, "yes") for i in range(10)])
    data = copy.deepcopy(VALID)
    data["data"] = {"dataset": "one.csv"}
    data["train"]["loss"] = loss
    data["model"]["layers"][2]["units"] = units
    with pytest.raises(sl.SigmalabError) as caught:
        train_run(RunConfig.from_dict(data, tmp_path), verbose=0)
    message = str(caught.value)
    assert "one.csv: the target column 'target' holds a single class" in message
    assert "a classifier needs at least 2 classes" in message
    assert "use" not in message
