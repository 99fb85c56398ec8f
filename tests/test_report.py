"""report.png: what each kind of run shows, drawn from the figure's own artists."""

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from sigmalab.callbacks import History
from sigmalab.config import RunConfig, load_run
from sigmalab.doctor import Doctor
from sigmalab.model import Sequential
from sigmalab.report import MAX_POINTS, report_figure, sample_rows, save_report
from sigmalab.runner import train_run


def _run(tmp_path=None, *, dataset="xor", loss="bce", units=1, epochs=3, lr=0.05, **data):
    """Train a small run with the doctor watching; its findings go into the summary."""
    config = RunConfig.from_dict(
        {
            "data": {"dataset": dataset, "standardize": True, **data},
            "model": {
                "layers": [
                    {"type": "dense", "units": 8, "activation": "tanh"},
                    {"type": "dense", "units": units},
                ]
            },
            "train": {
                "loss": loss,
                "epochs": epochs,
                "batch_size": 10,
                "optimizer": {"name": "sgd", "lr": lr},
            },
        },
        base_dir=tmp_path,
    )
    doctor = Doctor()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        result = train_run(config, callbacks=[doctor], verbose=0)
    result.summary["findings"] = [finding.to_dict() for finding in doctor.findings]
    return result


def _figure(result, name="my-run"):
    return report_figure(result, name)


def _draw(figure):
    """Lay out and draw the figure (needed for tick labels and extents); return the renderer."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def _texts(figure):
    return [text.get_text() for text in figure.findobj(Text)]


def _axes(figure, title):
    return next(ax for ax in figure.get_axes() if ax.get_title().startswith(title))


@pytest.fixture(scope="module")
def binary():
    return _figure(_run(samples=80))


@pytest.fixture(scope="module")
def three_classes():
    return _run(dataset="iris", loss="cross_entropy", units=3, epochs=5)


@pytest.fixture(scope="module")
def regression():
    return _run(dataset="reg-plane", loss="mse", samples=80)


def test_dollar_signs_in_file_and_column_names_are_drawn_as_they_are(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    rows = "\n".join(f"{a},{b},{int(a * b > 0)}" for a, b in X)
    (tmp_path / "$\\nope$.csv").write_text(f"$\\alpha_$,$x^$,target\n{rows}\n")
    result = _run(tmp_path, dataset="$\\nope$.csv")
    save_report(tmp_path / "report.png", result, name="$\\frac$")  # mathtext would fail here
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"
    texts = _texts(_figure(result, "$\\frac$"))
    assert {"$\\alpha_$", "$x^$"} <= set(texts)
    assert any(text.startswith("$\\frac$ ($\\nope$, bce)") for text in texts)


def test_the_title_names_the_run_its_data_and_its_test_metric(binary):
    title = binary.subfigs[0].get_suptitle()
    assert title.startswith("my-run (xor, bce): test accuracy ")
    assert 0.0 <= float(title.rsplit(" ", 1)[1]) <= 1.0


def test_the_doctor_findings_are_on_the_figure(binary, three_classes):
    assert "doctor: no problems found" in _texts(binary)
    result = dataclasses.replace(three_classes, summary=dict(three_classes.summary))
    finding = {
        "kind": "dead_relu",
        "severity": "warning",
        "layer": {"index": 0, "name": "dense_1 (relu)"},
        "explanation": "80% of dense_1's ReLU units output 0. Lower the learning rate.",
    }
    result.summary["findings"] = [finding] * 6
    texts = _texts(report_figure(result, "run"))
    lines = [text for text in texts if text.startswith("doctor warning: dead_relu (dense_1")]
    assert len(lines) == 4 and "and 2 more finding(s) in summary.json" in texts
    del result.summary["findings"]
    assert "doctor: not attached to this run" in _texts(report_figure(result, "run"))


def test_more_than_two_classes_get_a_confusion_matrix_of_the_test_split(three_classes):
    figure = _figure(three_classes)
    matrix = _axes(figure, "test split: true vs predicted").get_images()[0].get_array()
    data = three_classes.dataset
    predicted = three_classes.model.predict(data.X_test).argmax(axis=1)
    expected = np.zeros((3, 3), dtype=int)
    np.add.at(expected, (data.y_test, predicted), 1)
    np.testing.assert_array_equal(matrix, expected)
    assert "test accuracy" in figure.subfigs[0].get_suptitle()


def test_a_regression_plots_predicted_against_actual(regression):
    figure = _figure(regression)
    ax = _axes(figure, "predicted vs actual")
    test_points = ax.collections[1].get_offsets()
    data = regression.dataset
    np.testing.assert_allclose(test_points[:, 0], data.y_test)
    np.testing.assert_allclose(
        test_points[:, 1], regression.model.predict(data.X_test)[:, 0], rtol=1e-5
    )
    assert "test loss" in figure.subfigs[0].get_suptitle()


def test_legends_sit_outside_the_axes_so_they_cover_no_point(binary, regression):
    for figure in (binary, _figure(regression)):
        renderer = _draw(figure)
        for ax in figure.get_axes():
            legend = ax.get_legend()
            if legend is not None:
                legend_box = legend.get_window_extent(renderer)
                assert not legend_box.overlaps(ax.get_window_extent(renderer))


def test_loss_axes_carry_plain_numbers(binary):
    result = _run(samples=80)
    falling = History()
    for epoch, loss in enumerate([2.0, 0.5, 0.05, 0.004, 0.0009]):
        falling.on_epoch_end(None, epoch, {"loss": loss, "accuracy": 0.5})
    figure = _figure(dataclasses.replace(result, history=falling))
    _draw(figure)
    ax = _axes(figure, "loss")
    assert ax.get_yscale() == "log"
    labels = [label.get_text() for label in ax.get_yticklabels() if label.get_text()]
    assert labels and all("$" not in label and "^" not in label for label in labels)
    assert {float(label) for label in labels} >= {0.001, 0.01, 0.1, 1.0}


def test_a_diverged_run_shows_where_it_blew_up():
    config = load_run(Path(__file__).parents[1] / "scenarios/divergence/03-iris-relu-huge-lr.toml")
    doctor = Doctor()
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        result = train_run(config, callbacks=[doctor], verbose=0)
    result.summary["findings"] = [finding.to_dict() for finding in doctor.findings]
    finding = next(f for f in result.summary["findings"] if f["kind"] == "divergence")
    losses = result.history.history["loss"]
    epoch = next((i for i, v in enumerate(losses, 1) if not np.isfinite(v)), len(losses))
    figure = _figure(result)
    ax = _axes(figure, f"loss: diverged at epoch {epoch}, step {finding['evidence']['step']}")
    red_lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in red_lines] == [epoch]
    start = next(line for line in ax.get_lines() if line.get_label() == "start")
    assert start.get_ydata()[0] == pytest.approx(finding["evidence"]["initial_loss"])
    assert any(text.startswith("doctor error: divergence") for text in _texts(figure))


def test_a_loss_that_became_nan_is_marked_without_the_doctor(regression):
    history = History()
    for epoch, loss in enumerate([0.5, 0.4, float("nan")]):
        history.on_epoch_end(None, epoch, {"loss": loss, "val_loss": loss})
    summary = {key: value for key, value in regression.summary.items() if key != "findings"}
    result = dataclasses.replace(regression, history=history, summary=summary)
    ax = _axes(_figure(result), "loss: diverged at epoch 3")
    assert "the loss became nan" in ax.get_title()
    assert len(ax.get_lines()[0].get_xdata()) == 3  # the finite epochs are still drawn


def test_panels_say_when_the_model_output_is_not_finite(regression):
    model = Sequential.from_config(regression.model.get_config())
    model.flat_params[:] = np.nan
    figure = _figure(dataclasses.replace(regression, model=model))
    for title in ("output", "predicted vs actual"):
        assert "(output not finite: the run diverged)" in _axes(figure, title).get_title()


def test_large_datasets_scatter_an_even_sample_and_say_so():
    result = _run(dataset="spiral", samples=2 * MAX_POINTS + 1000, epochs=1)
    figure = _figure(result)
    for collection in _axes(figure, "output").collections:
        assert len(collection.get_offsets()) == MAX_POINTS
    assert any(f"sample of {MAX_POINTS:,} points per split" in text for text in _texts(figure))


def test_the_sample_is_deterministic_sorted_and_spans_the_rows():
    rows = sample_rows(1_000_000)
    np.testing.assert_array_equal(rows, sample_rows(1_000_000))
    assert len(np.unique(rows)) == MAX_POINTS and rows[0] == 0 and rows[-1] == 999_999
    assert np.all(np.diff(rows) > 0)
    assert sample_rows(MAX_POINTS) == slice(None)
