"""Tests for the CSV loader: parsing, target encoding, and errors that point at the cell."""

import numpy as np
import pytest

from sigmalab.data import DataError, load, load_csv, read_columns


def write(tmp_path, text, name="data.csv", encoding="utf-8"):
    """Write a CSV file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_round_trip_of_a_good_file(tmp_path):
    path = write(tmp_path, "x1, x2 ,target\n1.5,2,0\n-3, 4e1 ,1\n\n0,0,1\n")
    X, y, names, _ = load_csv(path)
    assert names == ["x1", "x2"]
    assert X.dtype == np.float64 and y.dtype == np.int64
    np.testing.assert_array_equal(X, [[1.5, 2], [-3, 40], [0, 0]])
    np.testing.assert_array_equal(y, [0, 1, 1])


def test_target_column_may_sit_anywhere_and_have_another_name(tmp_path):
    path = write(tmp_path, "a,label,b\n1,5,2\n3,7,4\n")
    X, y, names, _ = load_csv(str(path), target="label")
    assert names == ["a", "b"]
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, [0, 1])


def test_integer_targets_are_remapped_in_sorted_order(tmp_path):
    X, y, _, classes = load_csv(write(tmp_path, "x,target\n0,10\n1,-2\n2,3.0\n3,10\n"))
    np.testing.assert_array_equal(y, [2, 0, 1, 2])
    assert classes == [-2, 3, 10] and all(type(name) is int for name in classes)


def test_string_labels_become_sorted_classes(tmp_path):
    _, y, _, classes = load_csv(write(tmp_path, "x,target\n1,dog\n2,cat\n3,dog\n4,emu\n"))
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [1, 0, 1, 2])
    assert classes == ["cat", "dog", "emu"]


def test_fractional_targets_are_a_regression(tmp_path):
    _, y, _, _ = load_csv(write(tmp_path, "x,target\n1,0.5\n2,-1.25\n3,2\n"))
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, [0.5, -1.25, 2])


def test_many_distinct_integer_targets_are_a_regression(tmp_path):
    rows = "".join(f"{i},{i * 3}\n" for i in range(51))
    _, y, _, _ = load_csv(write(tmp_path, "x,target\n" + rows))
    assert y.dtype == np.float64 and y[-1] == 150
    _, y50, _, _ = load_csv(write(tmp_path, "x,target\n" + rows[: rows.index("50,")], "b.csv"))
    assert y50.dtype == np.int64 and y50.max() == 49


def test_utf8_bom_is_ignored(tmp_path):
    _, _, names, _ = load_csv(write(tmp_path, "x1,target\n1,0\n", encoding="utf-8-sig"))
    assert names == ["x1"]


def test_load_splits_a_csv_and_infers_the_task(tmp_path):
    rows = "".join(f"{i},{i % 2 == 0},{i % 3}\n" for i in range(20))
    path = write(tmp_path, "a,flag,target\n" + rows.replace("True", "1").replace("False", "0"))
    data = load(str(path), test_fraction=0.25, seed=1, samples=4, noise=0.9)
    assert (data.name, data.task, data.n_classes) == ("data", "classification", 3)
    assert data.X_train.shape == (15, 2) and data.X_test.shape == (5, 2)
    assert data.feature_names == ["a", "flag"]
    np.testing.assert_array_equal(data.y_train, data.X_train[:, 0] % 3)
    again = load(path, test_fraction=0.25, seed=1)
    np.testing.assert_array_equal(again.X_test, data.X_test)


def test_load_of_a_regression_csv(tmp_path):
    data = load(str(write(tmp_path, "x,target\n1,0.5\n2,1.5\n3,2.5\n4,3.5\n")))
    assert data.task == "regression" and data.n_classes is None


def test_features_are_rejected_for_csv(tmp_path):
    path = write(tmp_path, "x1,x2,target\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match="only to the 2-D built-in"):
        load(str(path), features=["x1*x2"])


def expect_error(path, *parts, target="target"):
    """Load a bad file and check that the message contains every expected part."""
    with pytest.raises(DataError) as info:
        load_csv(path, target=target)
    message = str(info.value)
    for part in (str(path), *parts):
        assert part in message, f"{part!r} not in {message!r}"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    expect_error(path, f"file not found: {path}")
    with pytest.raises(DataError, match="file not found"):
        load(str(path))


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path, text):
    expect_error(write(tmp_path, text), "is empty")


def test_no_header(tmp_path):
    expect_error(write(tmp_path, "1,2,0\n3,4,1\n"), "line 1", "no header")


def test_empty_column_name(tmp_path):
    expect_error(write(tmp_path, "x1,,target\n1,2,0\n"), "line 1, column 2: empty column name")


def test_duplicate_column_name(tmp_path):
    expect_error(write(tmp_path, "x,x,target\n1,2,0\n"), "line 1", "duplicate", "'x'")


def test_no_target_column(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,3\n")
    expect_error(path, f"column 'target' not found in {path}; columns: a, b, c")


def test_only_a_target_column(tmp_path):
    expect_error(write(tmp_path, "target\n1\n"), "line 1", "no feature columns")


def test_header_without_data(tmp_path):
    expect_error(write(tmp_path, "x1,target\n\n"), "no data rows")


BAD_CELLS = [
    ("x1,x2,target\n1,2,0\n3,4\n", "line 3: expected 3 cells (x1, x2, target), found 2"),
    ("x1,x2,target\n1,2,0\n3, ,1\n", "line 3, column 'x2': empty cell"),
    ("x1,x2,target\n" + "1,2,0\n" * 5 + "3,abc,1\n", "line 7, column 'x2': 'abc' is not a number"),
    ("x1,x2,target\n1,2,0\n3,nan,1\n", "line 3, column 'x2': value nan is not finite"),
    ("x1,x2,target\n1,2,0\n3,inf,1\n", "line 3, column 'x2': value inf is not finite"),
    ("x1,x2,target\n1,2,0\n3,-Infinity,1\n", "line 3, column 'x2': value -Infinity is not finite"),
    ("x1,target\n1,0\n2,\n", "line 3, column 'target': empty cell"),
    ("x1,target\n1,0.5\n2,nan\n", "line 3, column 'target': value nan is not finite"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CELLS)
def test_a_bad_row_or_cell_is_named_by_line_and_column(tmp_path, text, message):
    expect_error(write(tmp_path, text), message)


def test_target_mixing_numbers_and_text(tmp_path):
    path = write(tmp_path, "x1,y\n1,0.5\n2,1.5\n3,oops\n")
    expect_error(path, "line 4, column 'y': 'oops' is text but line 2 holds a number", target="y")


def test_line_numbers_count_physical_lines_of_quoted_cells(tmp_path):
    path = write(tmp_path, 'x,target\n1,"two\nlines"\n\n2,b\nbad,c\n')
    expect_error(path, "line 6, column 'x': 'bad' is not a number")
    expect_error(write(tmp_path, 'x,target\nq,"a\nb"\n', "b.csv"), "line 2, column 'x'")


def test_non_utf8_file(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("x,target\n1,caf\u00e9\n".encode("latin-1"))
    expect_error(path, "not UTF-8")


def test_read_columns_takes_the_named_columns_and_ignores_the_rest(tmp_path):
    path = tmp_path / "new.csv"
    path.write_text("b,target,a,extra\n1,0,2,x\n3,1,4,y\n")
    np.testing.assert_array_equal(read_columns(path, ["a", "b"]), [[2.0, 1.0], [4.0, 3.0]])


def test_read_columns_names_missing_columns_and_bad_cells(tmp_path):
    path = tmp_path / "new.csv"
    path.write_text("a,c\n1,2\n3,oops\n")
    with pytest.raises(DataError, match=r"is missing column\(s\) b; needed: a, b"):
        read_columns(path, ["a", "b"])
    with pytest.raises(DataError, match=r"line 3, column 'c': 'oops' is not a number"):
        read_columns(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2\n3,4\n", "line 1: no header"),
        ("a,b,a\n1,2,3\n", "line 1: duplicate column names ['a']"),
        ("a,b\n", "has a header but no data rows"),
        ("", "is empty"),
    ],
)
def test_read_columns_checks_the_header_like_load_csv(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(DataError) as info:
        read_columns(path, ["a", "b"])
    assert f"{path} {message}" in str(info.value)


# Cells that NumPy's C reader and Python's float() may see differently.
TRICKY_CELLS = [
    "1", "-2.5", " 3 ", "4e1", "+.5", "5.", "1_0", "0x10", "1d5", "\u0661\u0662", "nan",
    "inf", "-Infinity", "1e400", "", " ", "abc", "cat", '"7"', '"8,9"', '"a ""b"""', "1.5 2",
    "--1", '"two\nlines"',
]  # fmt: skip


def test_the_fast_reader_agrees_with_the_exact_one_or_leaves_the_file_to_it(tmp_path, monkeypatch):
    """Whatever NumPy's C reader accepts must load exactly as the cell-by-cell reader loads it;
    anything else falls back to that reader (and its messages)."""
    from sigmalab.data import csv_file

    rng = np.random.default_rng(0)
    outcomes = {"fast": 0, "fallback": 0}
    targets = [["0", "1", "2"], ["0.5", "-1", "2e3"], ["cat", "dog", " emu "]]
    for case in range(300):
        rows = [
            [str(rng.integers(-9, 9)), str(rng.normal()), rng.choice(targets[case % 3])]
            for _ in range(4)
        ]
        for row in rows:  # now and then a cell that only one reader might accept
            for column in range(3):
                if rng.random() < 0.05:
                    row[column] = rng.choice(TRICKY_CELLS)
        blank = "\n" if case % 7 == 0 else ""
        text = "a,b,target\n" + blank + "\n".join(",".join(row) for row in rows) + "\n"
        path = write(tmp_path, text, f"case{case}.csv")
        task = (None, "classification", "regression")[case // 3 % 3]
        fast = csv_file._load_fast(path, "target", task)
        with monkeypatch.context() as patched:
            patched.setattr(csv_file, "_load_fast", lambda *_: None)
            try:
                exact = load_csv(path, task=task)
            except DataError:
                exact = None
        if fast is None:
            outcomes["fallback"] += 1
            continue
        outcomes["fast"] += 1
        assert exact is not None, text
        for ours, theirs in zip(fast, exact, strict=True):
            np.testing.assert_array_equal(ours, theirs)
            assert getattr(ours, "dtype", None) == getattr(theirs, "dtype", None)
    assert min(outcomes.values()) > 30  # both paths were exercised


def test_read_columns_fast_path_matches_and_ignores_text_columns(tmp_path, monkeypatch):
    from sigmalab.data import csv_file

    path = write(tmp_path, 'b,target,a,extra\n1,dog,2,x\n3,cat,4,"y,z"\n')
    fast = read_columns(path, ["a", "b"])
    monkeypatch.setattr(csv_file, "_read_columns_fast", lambda *_: None)
    np.testing.assert_array_equal(fast, read_columns(path, ["a", "b"]))
    np.testing.assert_array_equal(fast, [[2.0, 1.0], [4.0, 3.0]])
