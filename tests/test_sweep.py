"""Sweeps: grid expansion and its errors, ensembles equal to lone runs, the results file,
resuming after SIGKILL, a process pool, a Dask LocalCluster, and ``sweep show``."""

import concurrent.futures
import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time

import pytest
from test_cli import assert_user_error, sigmalab
from test_cli_options import in_process

import sigmalab as sl
from sigmalab.config import load_run
from sigmalab.runner import train_run
from sigmalab.sweeps import backends
from sigmalab.sweeps.execute import plan_batches, run_sweep
from sigmalab.sweeps.grid import expand, parse_grid_option
from sigmalab.sweeps.show import show
from sigmalab.sweeps.store import DONE, FAILED, RESULTS_FILE
from sigmalab.sweeps.training import member_settings, train_batch

RUN = """\
[data]
dataset = "circle"
samples = 120
noise = 0.05
standardize = true

[model]
layers = [{type = "dense", units = 4, activation = "tanh"}, {type = "dense", units = 1}]

[train]
loss = "bce"
epochs = 8
batch_size = 10
optimizer = {name = "adam", lr = 0.03}
"""


@pytest.fixture
def run_file(tmp_path):
    path = tmp_path / "circle.toml"
    path.write_text(RUN)
    return path


COMPARED = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def metrics_by_id(folder):
    """{run id: (status, *COMPARED metrics)} from a sweep's results file."""
    with sqlite3.connect(folder / RESULTS_FILE) as connection:
        rows = connection.execute(
            f"SELECT id, status, {', '.join(COMPARED)} FROM runs ORDER BY id"
        ).fetchall()
    return {row[0]: row[1:] for row in rows}


# ---- the grid -----------------------------------------------------------------------------
def test_grid_option_splits_at_top_level_commas_and_reads_values_like_set():
    assert parse_grid_option("train.optimizer.lr=0.1, 0.03") == ("train.optimizer.lr", [0.1, 0.03])
    key, values = parse_grid_option('model.layers[1]={type = "dropout", rate = 0.1},relu,"a,b"')
    assert key == "model.layers[1]"
    assert values == [{"type": "dropout", "rate": 0.1}, "relu", "a,b"]
    with pytest.raises(sl.SigmalabError, match="KEY=V1,V2"):
        parse_grid_option("train.optimizer.lr")


def test_every_combination_times_every_seed_is_one_validated_run(run_file):
    runs = expand(
        run_file,
        {"train.optimizer.lr": [0.1, 0.03], "model.layers[0].activation": ["relu", "tanh", "sin"]},
        seeds=3,
        data_seeds=True,
    )
    assert len(runs) == 2 * 3 * 3 and len({run.id for run in runs}) == 18
    first = runs[:3]
    assert [run.config.model.seed for run in first] == [0, 1, 2]
    assert [run.config.data.seed for run in first] == [0, 1, 2]
    assert {run.config.train.optimizer.lr for run in runs} == {0.1, 0.03}
    assert runs[4].values == {"train.optimizer.lr": 0.1, "model.layers[0].activation": "tanh"}
    # The id hashes the resolved run: the file's own activation (tanh) swept or not, same id.
    again = expand(run_file, {"train.optimizer.lr": [0.1]}, seeds=3, data_seeds=True)
    assert [run.id for run in again] == [run.id for run in runs[3:6]]


@pytest.mark.parametrize(
    ("grid", "seeds", "fragments"),
    [
        ({"train.optimizr.lr": [0.1]}, 1, ["train.optimizr", "optimizer"]),
        (
            {"train.optimizer.lr": [0.1, -1.0]},
            1,
            ["train.optimizer.lr=-1.0", "must be > 0 (received -1.0)"],
        ),
        ({"model.layers[5].units": [2]}, 1, ["model.layers[5]", "out of range"]),
        ({"train.optimizer.lr": [0.1, 0.1]}, 1, ["listed twice"]),
        ({"train.optimizer.lr": []}, 1, ["no values"]),
        ({"model.seed": [1, 2]}, 3, ["model.seed", "seeds=3"]),
    ],
)
def test_a_bad_grid_fails_before_anything_trains(run_file, tmp_path, grid, seeds, fragments):
    out = tmp_path / "out"
    with pytest.raises(sl.SigmalabError) as caught:
        run_sweep(run_file, grid, out, seeds=seeds)
    for fragment in fragments:
        assert fragment in str(caught.value)
    assert not out.exists()


# ---- training -----------------------------------------------------------------------------
def test_runs_that_share_shapes_train_as_one_ensemble_and_match_train_run(tmp_path):
    run_file = tmp_path / "sgd.toml"  # momentum SGD: not chaotic, so rounding stays rounding
    run_file.write_text(RUN.replace('name = "adam"', 'name = "sgd", momentum = 0.9'))
    runs = expand(run_file, {"train.optimizer.lr": [0.1, 0.01]}, seeds=3)
    batches = plan_batches(runs, workers=1)
    assert [len(batch) for batch in batches] == [6]
    outcomes = train_batch(batches[0], str(run_file.parent), doctor=True)
    for run, outcome in zip(runs, outcomes, strict=True):
        assert outcome["id"] == run.id and outcome["status"] == DONE
        alone = train_run(run.config, verbose=0).summary
        for name in ("train_loss", "test_loss"):  # equal up to the ensemble's rounding
            assert outcome["metrics"][name] == pytest.approx(alone[name], rel=1e-4, abs=1e-6)
        for name in ("train_accuracy", "test_accuracy"):  # at most one sample flips
            assert abs(outcome["metrics"][name] - alone[name]) <= 1 / 60 + 1e-9
        assert outcome["epochs"] == alone["epochs"]


def test_different_shapes_go_to_separate_batches_split_across_workers(run_file):
    runs = expand(run_file, {"model.layers[0].units": [2, 3]}, seeds=4)
    assert sorted(len(batch) for batch in plan_batches(runs, workers=1)) == [4, 4]
    assert sorted(len(batch) for batch in plan_batches(runs, workers=2)) == [2, 2, 2, 2]


def test_a_run_that_fails_in_training_is_recorded_as_failed_and_not_retried(run_file, tmp_path):
    grid = {"train.loss": ["cross_entropy"], "model.layers[1].units": [2, 3]}
    store = run_sweep(run_file, grid, tmp_path / "out", doctor=False)
    rows = {row["swept"]["model.layers[1].units"]: row for row in store.rows()}
    store.close()
    assert rows[2]["status"] == DONE and rows[2]["test_accuracy"] is not None
    assert rows[3]["status"] == FAILED and "units = 2" in rows[3]["error"]
    calls = []
    run_sweep(run_file, grid, tmp_path / "out", on_start=lambda *counts: calls.append(counts))
    assert calls == [(2, 0)]  # both finished: nothing trains again


# ---- results file and resuming --------------------------------------------------------------
def test_a_different_grid_into_the_same_folder_is_refused(run_file, tmp_path):
    run_sweep(run_file, {"train.epochs": [2]}, tmp_path / "out", doctor=False).close()
    with pytest.raises(sl.SigmalabError, match="different sweep"):
        run_sweep(run_file, {"train.epochs": [3]}, tmp_path / "out")
    process = in_process("sweep", run_file, "--grid", "train.epochs=3", "--out", tmp_path / "out")
    assert_user_error(process, "different sweep", "--out")


def test_a_sweep_killed_mid_way_resumes_without_losing_or_repeating_runs(run_file, tmp_path):
    grid = ["--grid", "model.layers[0].units=2,3,4,5,6,7,8,9", "--grid", "train.epochs=30"]
    killed, whole = tmp_path / "killed", tmp_path / "whole"
    command = [sys.executable, "-m", "sigmalab", "sweep", str(run_file), *grid, "-q"]
    process = subprocess.Popen([*command, "--out", str(killed)], stderr=subprocess.PIPE)
    done = 0
    deadline = time.monotonic() + 60
    while done < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
        if (killed / RESULTS_FILE).exists():
            try:
                done = sum(status == DONE for status, *_ in metrics_by_id(killed).values())
            except sqlite3.OperationalError:  # the sweep is still creating its tables
                done = 0
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = metrics_by_id(killed)
    finished = sum(status == DONE for status, *_ in partial.values())
    assert len(partial) == 8 and 2 <= finished < 8, "kill it mid-sweep"
    assert sigmalab("sweep", run_file, *grid, "-q", "--out", killed).returncode == 0
    assert sigmalab("sweep", run_file, *grid, "-q", "--out", whole).returncode == 0
    resumed, uninterrupted = metrics_by_id(killed), metrics_by_id(whole)
    assert len(resumed) == 8 and resumed.keys() == uninterrupted.keys()
    for run_id, (status, *values) in resumed.items():
        assert status == DONE
        assert values == pytest.approx(uninterrupted[run_id][1:], rel=1e-6)
    for run_id, (status, *values) in partial.items():  # what was recorded stays as it was
        if status == DONE:
            assert values == pytest.approx(resumed[run_id][1:], rel=0, abs=0)


# ---- where runs train ------------------------------------------------------------------------
def test_a_process_pool_gives_the_same_results_as_one_worker(run_file, tmp_path):
    grid = {"model.layers[0].units": [2, 3, 4]}
    run_sweep(run_file, grid, tmp_path / "one", doctor=False).close()
    run_sweep(run_file, grid, tmp_path / "two", workers=2, doctor=False).close()
    one, two = metrics_by_id(tmp_path / "one"), metrics_by_id(tmp_path / "two")
    assert one.keys() == two.keys()
    for run_id, (status, *values) in two.items():
        assert status == DONE and values == pytest.approx(one[run_id][1:], rel=1e-6)


def test_a_process_pool_starts_no_more_workers_than_there_are_batches(
    run_file, tmp_path, monkeypatch
):
    """The pool forks every worker it is given at once, whether there is work for it or not."""
    asked = []

    class RecordingPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, max_workers):
            asked.append(max_workers)
            super().__init__(max_workers=2)  # what the test runs on, whatever was asked

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RecordingPool)
    grid = {"model.layers[0].units": [2, 3]}
    run_sweep(run_file, grid, tmp_path, workers=10_000, doctor=False).close()
    assert asked == [2]


def exit_in_the_worker(batch, base_dir, doctor, measure=None):
    """A worker process that dies as if killed (module level: the pool pickles it by name)."""
    os._exit(1)


def test_a_worker_process_that_dies_loses_only_its_runs_and_the_sweep_resumes(
    run_file, tmp_path, monkeypatch
):
    grid = {"model.layers[0].units": [2, 3, 4]}
    with monkeypatch.context() as patch:
        patch.setattr(backends, "train_batch", exit_in_the_worker)
        with pytest.raises(sl.SigmalabError, match="run the same command again"):
            run_sweep(run_file, grid, tmp_path, workers=2, doctor=False)
    store = run_sweep(run_file, grid, tmp_path, workers=2, doctor=False)
    assert [row["status"] for row in store.rows()] == [DONE] * 3
    store.close()


def test_a_dask_local_cluster_trains_the_sweep(run_file, tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"model.layers[0].units": [2, 3], "train.optimizer.lr": [0.1, 0.01]}
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0"
    ) as cluster:
        rows = sl.sweep(run_file, grid, out=tmp_path / "dask", scheduler=cluster.scheduler_address)
    run_sweep(run_file, grid, tmp_path / "here").close()
    here = metrics_by_id(tmp_path / "here")
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert len(records) == 4 and {row["status"] for row in records} == {DONE}
    for row in records:
        assert row["test_loss"] == pytest.approx(here[row["id"]][COMPARED.index("test_loss") + 1])


@pytest.mark.slow
def test_scheduler_local_starts_a_local_cluster_of_worker_processes(run_file, tmp_path):
    """Even beside another Dask cluster: its status port (8787) busy is no business of ours."""
    pytest.importorskip("distributed")
    grid = ["--grid", "model.layers[0].units=2,3", "--grid", "train.epochs=3"]
    with contextlib.ExitStack() as busy:
        with contextlib.suppress(OSError):  # held already, by another cluster: busy too
            busy.enter_context(socket.create_server(("127.0.0.1", 8787)))
        process = sigmalab(
            "sweep", run_file, *grid, "--scheduler", "local", "--workers", "2", "-q",
            "--out", tmp_path,
        )  # fmt: skip
    assert process.returncode == 0, process.stderr
    assert "8787" not in process.stderr
    assert [status for status, *_ in metrics_by_id(tmp_path).values()] == [DONE, DONE]


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_clear_error(run_file, tmp_path):
    pytest.importorskip("distributed")
    process = in_process(
        "sweep",
        run_file,
        "--grid",
        "train.epochs=2",
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--out",
        tmp_path / "out",
    )
    assert_user_error(process, "tcp://127.0.0.1:9", "Dask scheduler")


# ---- the Python function and show -------------------------------------------------------------
def test_sl_sweep_returns_one_row_per_run_with_the_swept_values(run_file):
    rows = sl.sweep(run_file, {"train.optimizer.lr": [0.1, 0.01]}, seeds=2, doctor=False)
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else rows
    assert [row["train.optimizer.lr"] for row in records] == [0.1, 0.1, 0.01, 0.01]
    assert [row["seed"] for row in records] == [0, 1, 0, 1]
    assert all(row["status"] == DONE and row["epochs"] == 8 for row in records)


def test_show_writes_the_table_csv_and_figure_best_first(run_file, tmp_path):
    grid = {"train.optimizer.lr": [0.1, 0.001], "model.layers[0].activation": ["tanh", "relu"]}
    run_sweep(run_file, grid, tmp_path, seeds=2).close()
    table = show(tmp_path)
    means = [entry["test_accuracy_mean"] for entry in table]
    assert len(table) == 4 and means == sorted(means, reverse=True)
    assert all(entry["done"] == 2 for entry in table)
    csv_lines = (tmp_path / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("train.optimizer.lr,model.layers[0].activation,runs,done")
    assert len(csv_lines) == 5
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    process = in_process("sweep", "show", tmp_path)
    assert process.returncode == 0 and "2/2" in process.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--grid", "train.optimizr.lr=0.1"], ["train.optimizr", "optimizer"]),
        (
            ["--grid", "train.optimizer.lr=0.1,-2"],
            ["train.optimizer.lr=-2", "must be > 0 (received -2)"],
        ),
        (["--grid", "train.epochs"], ["KEY=V1,V2"]),
        (
            ["--grid", "train.epochs=1,2", "--grid", "train.epochs=3"],
            ["--grid train.epochs is given twice", "train.epochs=1,2 and train.epochs=3"],
        ),
    ],
)
def test_bad_sweep_input_is_one_error_line(run_file, tmp_path, args, fragments):
    process = in_process("sweep", run_file, *args, "--out", tmp_path / "out")
    assert_user_error(process, *fragments)


def test_a_results_folder_that_is_a_file_is_one_error_line(run_file, tmp_path):
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    process = in_process("sweep", run_file, "--grid", "train.epochs=1", "--out", taken)
    assert_user_error(process, "notes.txt is a file: a sweep's results go into a folder")
    assert taken.read_text() == "mine"


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        ("CREATE TABLE notes (text TEXT)", "notes"),
        ("CREATE TABLE runs (name TEXT, took REAL)", "runs"),  # a table name a sweep uses
    ],
)
def test_a_database_that_no_sweep_wrote_is_refused_and_left_as_it_is(
    run_file, tmp_path, schema, named
):
    theirs = tmp_path / "mine" / RESULTS_FILE
    theirs.parent.mkdir()
    with sqlite3.connect(theirs) as connection:
        connection.execute(schema)
    connection.close()
    before = theirs.read_bytes()
    process = in_process("sweep", run_file, "--grid", "train.epochs=1", "--out", theirs.parent)
    assert_user_error(process, f"{theirs}: not a sweep results file", named)
    assert_user_error(in_process("sweep", "show", theirs.parent), "not a sweep results file")
    assert theirs.read_bytes() == before
    assert sorted(path.name for path in theirs.parent.iterdir()) == [RESULTS_FILE]


def test_show_of_a_folder_without_a_sweep_is_one_error_line(tmp_path):
    assert_user_error(in_process("sweep", "show", tmp_path), "no results.sqlite")


def test_settings_every_dense_layer_shares_become_member_settings(run_file):
    both = load_run(run_file, {"model.layers[0].l2": 1e-3, "model.layers[1].l2": 1e-3})
    one = load_run(run_file, {"model.layers[0].l2": 1e-3})
    settings, key = member_settings(both.to_dict())
    assert settings["l2"] == 1e-3 and settings["seed"] == 0 and settings["lr"] == 0.03
    assert member_settings(load_run(run_file).to_dict())[1] == key  # one ensemble
    assert "l2" not in member_settings(one.to_dict())[0]  # a per-layer value stays in the key
    assert member_settings(one.to_dict())[1] != key


# ---- measures ---------------------------------------------------------------------------------
def first_layer_weight_norm(config, model, dataset):
    """A measure: numbers read from the trained model, its config and its data."""
    import numpy as np

    return {
        "first_norm": float(np.linalg.norm(model.get_weights()[0])),
        "seed": config.model.seed,
        "rows": len(dataset.X_train),
    }


def test_a_measure_adds_its_numbers_to_every_run_alone_or_in_an_ensemble(run_file, tmp_path):
    grid = {"model.layers[0].units": [3], "train.optimizer.lr": [0.1, 0.01]}
    store = run_sweep(run_file, grid, tmp_path, seeds=2, measure=first_layer_weight_norm)
    rows = store.rows()
    store.close()
    assert [row["measures"]["seed"] for row in rows] == [0, 1, 0, 1]
    assert all(row["measures"]["rows"] == 60 and row["measures"]["first_norm"] > 0 for row in rows)
    alone = train_batch(
        [(rows[0]["id"], expand(run_file, grid, seeds=2)[0].config.to_dict())],
        str(run_file.parent),
        False,
        first_layer_weight_norm,
    )
    assert alone[0]["measures"]["first_norm"] == pytest.approx(
        rows[0]["measures"]["first_norm"], rel=1e-4
    )
    calls = []
    run_sweep(
        run_file,
        grid,
        tmp_path,
        seeds=2,
        measure=first_layer_weight_norm,
        on_start=lambda *counts: calls.append(counts),
    ).close()
    assert calls == [(4, 0)]  # resumed: nothing trains again
    with pytest.raises(sl.SigmalabError, match="different sweep"):
        run_sweep(run_file, grid, tmp_path, seeds=2)  # rows without the measure's numbers


def test_a_results_file_from_before_measures_gains_the_column(run_file, tmp_path):
    run_sweep(run_file, {"train.epochs": [2]}, tmp_path, doctor=False).close()
    with sqlite3.connect(tmp_path / RESULTS_FILE) as connection:
        connection.execute("ALTER TABLE runs DROP COLUMN measures")
    store = run_sweep(run_file, {"train.epochs": [2]}, tmp_path, doctor=False)
    assert [row["measures"] for row in store.rows()] == [{}]
    store.close()
