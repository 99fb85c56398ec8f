"""Tests for the built-in datasets, input features, splitting and standardisation."""

import sys

import numpy as np
import pytest

from sigmalab.data import DataError, Dataset, available, load, playground, shapes, standardize
from sigmalab.data.real import INSTALL_COMMAND
from sigmalab.data.registry import SYNTHETIC

N = 400


def generate(name, n=N, noise=0.0, seed=0):
    """Call a generator directly, unshuffled, so its structure is visible."""
    return SYNTHETIC[name].generate(n, noise, np.random.default_rng(seed))


def test_available_lists_every_builtin_with_a_description():
    names = available()
    assert list(names)[:6] == ["circle", "xor", "gauss", "spiral", "reg-plane", "reg-gauss"]
    assert {"moons", "checkerboard", "digits", "iris", "wine", "breast_cancer"} <= set(names)
    assert all(isinstance(text, str) and text for text in names.values())


@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_generators_give_float_points_and_typed_labels(name):
    X, y = generate(name, n=101, noise=0.2)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,)
    if SYNTHETIC[name].task == "classification":
        assert y.dtype == np.int64 and set(np.unique(y)) == set(range(SYNTHETIC[name].classes))
    else:
        assert y.dtype == np.float64


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral", "moons"])
def test_two_class_generators_are_balanced_without_noise(name):
    _, y = generate(name, n=N)
    assert y.sum() == N // 2


@pytest.mark.parametrize("name", ["xor", "checkerboard"])
def test_uniform_generators_are_roughly_balanced(name):
    _, y = generate(name, n=2000)
    assert 0.45 < y.mean() < 0.55


@pytest.mark.parametrize(("name", "classes"), [("spiral3", 3), ("blobs", 4)])
def test_multiclass_sets_give_one_balanced_block_per_class(name, classes):
    X, y = generate(name, n=N)
    counts = np.bincount(y)
    assert len(counts) == classes and counts.sum() == N and counts.max() - counts.min() <= 1
    assert np.all(np.abs(X) <= 6)
    data = load(name, samples=90, seed=2)
    assert data.class_names == list(range(classes)) and data.n_classes == classes


def test_the_three_arms_are_the_spiral_turned_by_a_third_of_a_turn():
    X, y = generate("spiral3", n=300)
    angle = 2 * np.pi / 3
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    # (r sin a, r cos a): adding 120 degrees to a turns the point clockwise by 120 degrees.
    np.testing.assert_allclose(X[y == 1], X[y == 0] @ turn, atol=1e-12)


def test_blobs_sit_around_their_own_centres():
    X, y = generate("blobs", n=400)
    centres = np.array([X[y == k].mean(axis=0) for k in range(4)])
    np.testing.assert_allclose(np.hypot(*centres.T), 3.5, atol=0.3)
    assert np.all(np.sign(centres) == [[1, 1], [-1, 1], [-1, -1], [1, -1]])


def test_circle_labels_the_inner_disc_without_noise():
    X, y = generate("circle")
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_array_equal(y, (r < 2.5).astype(int))
    assert r.max() <= 5 and not np.any((r > 2.5) & (r < 3.5))


def test_circle_label_threshold_is_radius_two_and_a_half():
    points = np.array([[0, 2.49], [2.49, 0], [0, 2.5], [-1.8, 1.8], [0, 0]])
    np.testing.assert_array_equal(playground.circle_label(points), [1, 1, 0, 0, 1])


def test_circle_noise_flips_labels_near_the_boundary_only():
    X, y = generate("circle", noise=0.1)  # shifts of at most 0.5 per coordinate
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all(y[r < 2.5 - 0.71] == 1) and np.all(y[r > 2.5 + 0.71] == 0)
    X, y = generate("circle", noise=0.5)
    assert np.any(y != playground.circle_label(X))


def test_xor_labels_by_quadrant_and_keeps_off_the_axes():
    X, y = generate("xor")
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    assert np.abs(X).min() >= 0.3 and np.abs(X).max() <= 5.3
    points = np.array([[0, -1], [-1, -1], [1, -1e-9]])
    np.testing.assert_array_equal(playground.xor_label(points), [1, 1, 0])


def test_gauss_blobs_sit_at_plus_and_minus_two():
    X, y = generate("gauss", n=4000)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(X[y == 1].std(axis=0), np.sqrt(0.5), atol=0.05)


def test_gauss_noise_half_gives_variance_four():
    X, y = generate("gauss", n=4000, noise=0.5)
    np.testing.assert_allclose(X[y == 1].std(axis=0), 2.0, atol=0.1)


def test_spiral_arms_grow_linearly_turn_one_and_three_quarters_and_are_opposite():
    X, y = generate("spiral")
    m = N // 2
    step = np.arange(m) / m
    np.testing.assert_allclose(np.hypot(X[:m, 0], X[:m, 1]), step * 5)
    angle = np.arctan2(X[1:m, 0], X[1:m, 1])  # angle 0 points up: x = r sin t, y = r cos t
    np.testing.assert_allclose(np.exp(1j * angle), np.exp(1j * 1.75 * step[1:] * 2 * np.pi))
    np.testing.assert_allclose(X[y == 0], -X[y == 1], atol=1e-12)


def test_spiral_noise_moves_the_points():
    clean, _ = generate("spiral")
    noisy, _ = generate("spiral", noise=0.5)
    shift = np.abs(noisy - clean)
    assert shift.max() <= 0.5 and shift.max() > 0.4


def test_reg_plane_is_the_scaled_sum_without_noise():
    X, y = generate("reg-plane")
    np.testing.assert_allclose(y, (X[:, 0] + X[:, 1]) / 10)
    # faithful to the Playground: x1 + x2 spans [-12, 12], so targets reach +-1.2
    assert np.abs(y).max() <= 1.2 and np.abs(X).max() <= 6


def test_reg_gauss_label_peaks_at_the_centres_and_vanishes_between():
    points = np.array([[-4, 2.5], [0, 2.5], [4, -2.5], [-2, 0], [6, 6], [-4, 1.5]])
    np.testing.assert_allclose(playground.reg_gauss_label(points), [1, -1, -1, 0, 0, 0.5])


def test_reg_gauss_targets_follow_the_label_function_and_stay_in_unit_range():
    X, y = generate("reg-gauss", n=2000)
    np.testing.assert_allclose(y, playground.reg_gauss_label(X))
    _, noisy = generate("reg-gauss", n=2000, noise=0.3)
    assert np.abs(noisy).max() <= 1 and np.any(noisy > 0.5) and np.any(noisy < -0.5)


def test_moons_lie_on_two_shifted_half_circles_without_noise():
    X, y = generate("moons")
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*(outer - [-2, -1]).T), 4)
    np.testing.assert_allclose(np.hypot(*(inner - [2, 1]).T), 4)
    assert outer[:, 1].min() >= -1 - 1e-12 and inner[:, 1].max() <= 1 + 1e-12
    np.testing.assert_allclose([X[:, 0].min(), X[:, 0].max()], [-6, 6])


def test_checkerboard_colours_three_unit_squares():
    X, y = generate("checkerboard", n=2000)
    np.testing.assert_array_equal(y, (np.floor(X[:, 0] / 3) + np.floor(X[:, 1] / 3)) % 2)
    np.testing.assert_array_equal(
        shapes.checkerboard_label(np.array([[0.5, 0.5], [-0.5, 0.5]])), [0, 1]
    )


def test_noise_shift_scales_uniform_offsets():
    points = np.zeros((1000, 2))
    moved = playground.noise_shift(points, 6.0, 0.5, np.random.default_rng(0))
    assert np.abs(moved).max() <= 3 and np.abs(moved).max() > 2.9
    assert np.array_equal(
        playground.noise_shift(points, 6.0, 0.0, np.random.default_rng(0)), points
    )


def test_load_returns_a_shuffled_split_that_unpacks():
    data = load("circle", samples=200, noise=0.1, seed=3)
    assert isinstance(data, Dataset)
    Xtr, ytr, Xte, yte = data
    assert Xtr.shape == (100, 2) and Xte.shape == (100, 2) and ytr.shape == yte.shape == (100,)
    assert (data.name, data.task, data.n_classes) == ("circle", "classification", 2)
    assert data.feature_names == ["x1", "x2"]
    assert 0 < ytr[:50].sum() < 50  # shuffled: not all of one class first


def test_load_regression_has_no_classes():
    data = load("reg-plane", samples=50)
    assert data.task == "regression" and data.n_classes is None


@pytest.mark.parametrize(
    ("samples", "fraction", "n_test"), [(500, 0.5, 250), (101, 0.2, 20), (4, 0.01, 1), (4, 0.99, 3)]
)
def test_split_sizes_round_and_keep_both_sides(samples, fraction, n_test):
    data = load("xor", samples=samples, test_fraction=fraction)
    assert len(data.y_test) == n_test and len(data.y_train) == samples - n_test


def test_split_keeps_rows_paired_with_labels():
    data = load("xor", samples=300, test_fraction=0.3)
    for X, y in ((data.X_train, data.y_train), (data.X_test, data.y_test)):
        np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))


@pytest.mark.parametrize("name", list(SYNTHETIC))
def test_same_seed_same_arrays_different_seed_different(name):
    first, again, other = (list(load(name, samples=60, noise=0.2, seed=s)) for s in (7, 7, 8))
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_features_are_computed_in_the_given_order():
    plain = load("xor", samples=40, seed=1)
    data = load("xor", samples=40, seed=1, features=["x1*x2", "x1", "sin(x2)", "x1^2"])
    assert data.feature_names == ["x1*x2", "x1", "sin(x2)", "x1^2"]
    x1, x2 = plain.X_train.T
    np.testing.assert_allclose(data.X_train, np.column_stack([x1 * x2, x1, np.sin(x2), x1**2]))


@pytest.mark.parametrize(
    ("features", "message"),
    [
        (["x1", "x3"], "unknown features ['x3']; allowed: x1, x2, x1^2"),
        ([], "at least one"),
        (["x1", "x1"], "twice"),
        ("x1", "list of names"),
    ],
)
def test_bad_features_are_rejected(features, message):
    with pytest.raises(DataError, match=message.replace("^", r"\^").replace("[", r"\[")):
        load("circle", features=features)


def test_features_on_a_non_2d_dataset_are_rejected():
    pytest.importorskip("sklearn")
    with pytest.raises(DataError, match="only to the 2-D built-in datasets.*'iris'"):
        load("iris", features=["x1"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"samples": 3}, r"samples must be an integer >= 4 \(received 3\)"),
        ({"samples": 10.0}, r"samples .* \(received 10.0\)"),
        ({"samples": True}, "received True"),
        ({"noise": -0.1}, r"noise .* \(received -0.1\)"),
        ({"noise": 1.5}, r"noise .* \(received 1.5\)"),
        ({"noise": None}, r"noise must be a number \(received None\)"),
        ({"test_fraction": "0.2"}, r"test_fraction must be a number \(received '0.2'\)"),
        ({"test_fraction": 0.0}, r"test_fraction .* \(received 0.0\)"),
        ({"test_fraction": 1}, r"test_fraction .* \(received 1\)"),
        ({"seed": -1}, r"seed must be an integer >= 0 \(received -1\)"),
        ({"seed": 0.5}, r"seed must be an integer >= 0 \(received 0.5\)"),
    ],
)
def test_bad_parameters_name_themselves_and_the_value(kwargs, message):
    with pytest.raises(DataError, match=message):
        load("circle", **kwargs)


def test_unknown_name_suggests_the_closest_and_lists_all():
    with pytest.raises(
        DataError, match=r"unknown dataset 'cirle'\. Did you mean 'circle'\? Allowed: circle, xor"
    ) as info:
        load("cirle")
    assert "spiral" in str(info.value) and "breast_cancer" in str(info.value)


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize(
    ("name", "shape", "n_classes"),
    [
        ("iris", (150, 4), 3),
        ("wine", (178, 13), 3),
        ("breast_cancer", (569, 30), 2),
        ("digits", (1797, 64), 10),
    ],
)
def test_real_datasets_load_with_their_shapes(name, shape, n_classes):
    pytest.importorskip("sklearn")
    data = load(name, test_fraction=0.2, samples=10, noise=0.5)
    assert len(data.y_train) + len(data.y_test) == shape[0]
    assert data.X_train.shape[1] == shape[1] == len(data.feature_names)
    assert data.X_train.dtype == np.float64 and data.y_train.dtype == np.int64
    assert (data.task, data.n_classes) == ("classification", n_classes)
    assert set(np.concatenate([data.y_train, data.y_test])) == set(range(n_classes))


def test_real_dataset_without_sklearn_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    with pytest.raises(DataError, match=r"dataset 'iris' needs scikit-learn") as caught:
        load("iris")
    assert str(caught.value).endswith(INSTALL_COMMAND)  # the README's first command runs it


def test_standardize_fits_on_train_only():
    rng = np.random.default_rng(0)
    X_train = rng.normal(5, 3, size=(200, 3))
    X_test = rng.normal(5, 3, size=(50, 3))
    Xtr, Xte, mean, std = standardize(X_train, X_test)
    np.testing.assert_allclose(Xtr.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Xtr.std(axis=0), 1)
    np.testing.assert_allclose(mean, X_train.mean(axis=0))
    np.testing.assert_allclose(Xte, (X_test - X_train.mean(axis=0)) / X_train.std(axis=0))


def test_standardize_leaves_constant_columns_finite():
    X = np.column_stack([np.full(10, 0.1), np.arange(10.0)])
    Xtr, Xte, _, std = standardize(X, np.array([[0.1, 3.0], [0.7, 3.0]]))
    assert std[0] == 1 and np.all(np.isfinite(Xtr))
    np.testing.assert_allclose(Xtr[:, 0], 0, atol=1e-12)
    np.testing.assert_allclose(Xte[:, 0], [0, 0.6], atol=1e-12)


def test_standardize_without_test_and_bad_shapes():
    Xtr, Xte, _, _ = standardize(np.array([[1.0], [3.0]]))
    assert Xte is None and Xtr.ravel().tolist() == [-1, 1]
    with pytest.raises(DataError, match="2-D.*shape \\(3,\\)"):
        standardize(np.ones(3))
    with pytest.raises(DataError, match="X_test must be 2-D with 2 columns"):
        standardize(np.ones((3, 2)), np.ones((3, 3)))
