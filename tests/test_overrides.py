"""Key-path overrides of run files (``--set``): parsing, applying, validating like the file."""

import pytest

import sigmalab as sl
from sigmalab.config import ConfigError, load_run, save_run
from sigmalab.overrides import (
    apply_overrides,
    format_key_path,
    parse_key_path,
    parse_overrides,
    parse_value,
)

RUN = """\
[data]
dataset = "xor"
samples = 40

[model]
layers = [{type = "dense", units = 4, activation = "tanh"}, {type = "dense", units = 1}]

[train]
loss = "bce"
epochs = 2
optimizer = {name = "sgd", lr = 0.03}
"""


@pytest.fixture
def run_file(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(RUN)
    return path


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("train.epochs", ("train", "epochs")),
        ("model.layers[0].activation", ("model", "layers", 0, "activation")),
        ("a[1][2]", ("a", 1, 2)),
        ("early_stopping-patience", ("early_stopping-patience",)),
    ],
)
def test_key_paths_parse_and_print_back(text, path):
    assert parse_key_path(text) == path
    assert format_key_path(path) == text


@pytest.mark.parametrize("text", ["", "train..lr", "layers[x]", "a b", "[0]", "train.", "1abc"])
def test_malformed_key_paths_are_rejected_with_an_example(text):
    with pytest.raises(sl.SigmalabError, match=r"not a key path such as model\.layers\[0\]"):
        parse_key_path(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1", 0.1),
        ("3", 3),
        ("1e-3", 1e-3),
        ("true", True),
        ('"relu"', "relu"),
        ("[1, 2]", [1, 2]),
        ('{type = "dropout", rate = 0.1}', {"type": "dropout", "rate": 0.1}),
        ("relu", "relu"),  # not TOML: a plain string
        ("x * sigmoid(x)", "x * sigmoid(x)"),
        (" 7 ", 7),
    ],
)
def test_values_are_toml_where_possible_and_strings_otherwise(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_assignments_split_at_the_first_equals_sign_and_the_last_one_wins():
    overrides = parse_overrides(["train.epochs=5", "data.target=a=b", "train.epochs=7"])
    assert overrides == {"train.epochs": 7, "data.target": "a=b"}


@pytest.mark.parametrize("assignment", ["train.epochs", "=3", " =3"])
def test_an_assignment_without_key_or_equals_sign_is_rejected(assignment):
    with pytest.raises(sl.SigmalabError, match="expects KEY=VALUE"):
        parse_overrides([assignment])


def test_apply_sets_nested_keys_and_list_items_on_a_copy():
    run = {"train": {"optimizer": {"lr": 0.1}}, "model": {"layers": [{"units": 2}]}}
    changed = apply_overrides(
        run,
        {
            "train.optimizer.lr": 0.5,
            "model.layers[0].activation": "relu",
            "train.early_stopping_patience": 3,
            "data.features": ["x1", "x2"],
        },
    )
    assert changed["train"]["optimizer"]["lr"] == 0.5
    assert changed["model"]["layers"][0] == {"units": 2, "activation": "relu"}
    assert changed["train"]["early_stopping_patience"] == 3
    assert changed["data"] == {"features": ["x1", "x2"]}
    assert run == {"train": {"optimizer": {"lr": 0.1}}, "model": {"layers": [{"units": 2}]}}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("model.layers[2].units", r"model\.layers\[2\]: index out of range; model\.layers has 2"),
        ("train.epochs.x", r"train\.epochs is not a table, so it has no key 'x'"),
        ("model.layers.units", r"give an index such as model\.layers\[0\]\.units"),
        ("train.loss[0]", r"train\.loss is not a list"),
        ("model.layerz[0].units", r"model\.layerz: no such list.*Did you mean 'layers'\?"),
    ],
)
def test_paths_that_do_not_fit_the_file_are_named(key, message):
    run = {"model": {"layers": [{}, {}]}, "train": {"epochs": 2, "loss": "bce"}}
    with pytest.raises(sl.SigmalabError, match=message):
        apply_overrides(run, {key: 1})


def test_load_run_validates_overrides_like_the_file(run_file):
    config = load_run(
        run_file,
        parse_overrides(["train.optimizer.lr=0.1", "model.layers[0].activation=relu"]),
    )
    assert config.train.optimizer.lr == 0.1
    assert config.model.layers[0].activation == "relu"
    assert load_run(run_file).train.optimizer.lr == 0.03  # the file itself is unchanged


@pytest.mark.parametrize(
    ("assignment", "fragments"),
    [
        ("train.optimzer.lr=0.1", ["train.optimzer", "unknown key", "Did you mean 'optimizer'?"]),
        ("model.layers[0].activaton=relu", ["model.layers[0].activaton", "'activation'"]),
        ("model.layers[0].activation=relux", ["unknown activation 'relux'", "'relu'"]),
        ("train.epochs=0", ["train.epochs: must be >= 1 (received 0)"]),
        ("train.epochs=many", ["train.epochs", "'many'"]),
        ("data.noise=inf", ["data.noise"]),
        ("model.layers[5].units=3", ["run.toml", "model.layers[5]: index out of range"]),
    ],
)
def test_a_bad_override_is_a_config_error_naming_the_key(run_file, assignment, fragments):
    with pytest.raises(ConfigError) as caught:
        load_run(run_file, parse_overrides([assignment]))
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_the_saved_run_file_holds_the_overrides(run_file, tmp_path):
    config = load_run(run_file, parse_overrides(["train.epochs=9", "model.layers[0].units=3"]))
    save_run(config, tmp_path / "copy.toml")
    copy = load_run(tmp_path / "copy.toml")
    assert copy.train.epochs == 9 and copy.model.layers[0].units == 3
