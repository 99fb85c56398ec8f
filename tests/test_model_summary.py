"""``model.summary()`` prints the layer table Keras users know."""

import re

import sigmalab as sl


def _model():
    return sl.Sequential(
        [
            sl.Dense(16, activation="relu"),
            sl.BatchNorm(),
            sl.Dropout(0.2),
            sl.Dense(8, activation="x * sigmoid(x)"),
            sl.Dense(1),
        ],
        seed=0,
    )


def _row(text, name):
    """The cells of the table row that starts with ``name``."""
    line = next(line for line in text.splitlines() if f"│ {name} " in line)
    return [cell.strip() for cell in line.strip("│ ").split("│")]


def test_summary_prints_layers_shapes_and_counts_like_keras(capsys):
    model = _model().build(2)
    assert model.summary() is None  # it prints, as Keras does
    text = capsys.readouterr().out
    assert re.search(r"┃ Layer \(type\) +┃ Output Shape +┃ +Param # ┃", text)
    assert _row(text, "dense_1") == ["dense_1 (Dense, relu)", "(None, 16)", "48"]  # 2*16 + 16
    # gamma and beta train; the running mean and variance are saved state
    assert _row(text, "batchnorm_1") == ["batchnorm_1 (BatchNorm)", "(None, 16)", "64"]
    assert _row(text, "dropout_1") == ["dropout_1 (Dropout)", "(None, 16)", "0"]
    assert _row(text, "dense_2") == ["dense_2 (Dense, x * sigmoid(x))", "(None, 8)", "136"]
    assert _row(text, "dense_3") == ["dense_3 (Dense, linear)", "(None, 1)", "9"]
    trainable = model.count_params()
    assert trainable == 48 + 32 + 136 + 9
    assert f"Total params: {trainable + 32:,} (" in text
    assert f"Trainable params: {trainable:,} ({trainable * 4:.2f} B)" in text  # float32
    assert "Non-trainable params: 32 (128.00 B)" in text


def test_summary_of_an_unbuilt_model_says_what_is_unknown(capsys):
    _model().summary()
    text = capsys.readouterr().out
    assert _row(text, "dense_1") == ["dense_1 (Dense, relu)", "(None, 16)", "?"]
    assert "unbuilt: call model.build(input_dim) or fit" in text


def test_summary_goes_to_print_fn_and_uses_thousands_separators():
    model = sl.Sequential([sl.Dense(256, activation="relu"), sl.Dense(10)]).build(784)
    lines = []
    model.summary(print_fn=lines.append)
    assert len(lines) == 1
    assert _row(lines[0], "dense_1")[2] == "200,960"
    assert "Total params: 203,530 (795.04 KB)" in lines[0]
    assert not any(line.endswith(" ") for line in lines[0].splitlines())
