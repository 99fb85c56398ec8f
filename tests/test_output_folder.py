"""A run's outputs arrive as one set, and a folder that cannot take them is refused before
training starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import RUN, assert_user_error, sigmalab

import sigmalab as sl
from sigmalab.config import load_run
from sigmalab.output_folder import STAGING_PREFIX, OutputFolder
from sigmalab.runner import OUTPUT_FILES, open_outputs, train_run

LONG_RUN = RUN.replace("epochs = 4", "epochs = 100000")  # never finishes if it starts


def _run_file(folder, text=RUN):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "xor.toml").write_text(text)
    return folder / "xor.toml"


def _train_refused(run, out, *fragments):
    started = time.monotonic()
    process = sigmalab("train", run, "--out", out, "--quiet")
    assert_user_error(process, *fragments)
    assert time.monotonic() - started < 60  # before training, which would take hours


def _snapshot(folder):
    return {name: (folder / name).read_bytes() for name in OUTPUT_FILES}


def test_an_existing_file_as_output_folder_is_one_clear_line(tmp_path):
    run = _run_file(tmp_path)
    (tmp_path / "afile").write_text("mine")
    _train_refused(run, tmp_path / "afile", "output folder", "afile is a file, not a folder")
    assert (tmp_path / "afile").read_text() == "mine"


def test_an_unwritable_output_folder_is_refused_before_training(tmp_path):
    if not os.path.isdir("/sys"):
        pytest.skip("needs Linux's /sys, which nobody can write to")
    _train_refused(
        _run_file(tmp_path, LONG_RUN), "/sys", "cannot write into the output folder /sys"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not stop root")
def test_a_read_only_output_folder_is_refused_before_training(tmp_path):
    out = tmp_path / "out"
    out.mkdir(mode=0o555)
    _train_refused(_run_file(tmp_path, LONG_RUN), out, "cannot write into", "Permission denied")


def _refused(run, out, inputs, message):
    """Opening ``out`` for ``run`` (the check ``train`` makes before training) fails."""
    with pytest.raises(sl.SigmalabError, match=message):
        open_outputs(load_run(run), out, inputs)
    assert not [name for name in os.listdir(out) if name.startswith(STAGING_PREFIX)]


def test_outputs_that_would_overwrite_the_run_file_are_refused(tmp_path):
    out = tmp_path / "out"
    run = out / "run.toml"  # e.g. rerunning the copy that train wrote, into its own folder
    _run_file(out).rename(run)
    _refused(run, out, {run: "run file"}, "run.toml is this run's run file; .* another output")
    assert run.read_text() == RUN


def test_outputs_that_would_overwrite_the_data_csv_are_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    rows = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30))
    (out / "history.csv").write_text("a,b,target\n" + rows)
    run = _run_file(tmp_path, RUN.replace('dataset = "xor"', 'dataset = "out/history.csv"'))
    _refused(run, out, None, "history.csv is this run's data CSV")
    assert (out / "history.csv").read_text() == "a,b,target\n" + rows


@pytest.mark.parametrize("kind", ["symlink", "fifo", "folder"])
def test_an_output_name_taken_by_a_link_fifo_or_folder_is_refused(tmp_path, kind):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "summary.json"
    if kind == "symlink":
        (tmp_path / "elsewhere.json").write_text("{}")
        target.symlink_to(tmp_path / "elsewhere.json")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    words = {"symlink": "symbolic link", "fifo": "FIFO", "folder": "is a folder"}[kind]
    _refused(_run_file(tmp_path), out, None, f"summary.json .*{words}.*refusing")
    kept = {"symlink": target.is_symlink, "fifo": target.is_fifo, "folder": target.is_dir}[kind]
    assert kept() and os.listdir(out) == ["summary.json"]


@pytest.fixture
def first_run(tmp_path):
    """A run file and an output folder that holds a first, complete run."""
    run = _run_file(tmp_path)
    train_run(load_run(run), out_dir=tmp_path / "out", verbose=0)
    return run, tmp_path / "out"


def test_a_run_that_fails_while_saving_leaves_the_previous_set_whole(first_run, monkeypatch):
    run, out = first_run
    before = _snapshot(out)
    config = load_run(run).with_changes({"train": {"epochs": 2}})

    def broken_report(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("sigmalab.report.save_report", broken_report)
    with pytest.raises(OSError, match="disk full"):
        train_run(config, out_dir=out, verbose=0)
    assert _snapshot(out) == before  # not the new model beside the old summary
    assert sorted(os.listdir(out)) == sorted(OUTPUT_FILES)  # and no temporary folder


def test_a_second_run_replaces_the_whole_set_and_keeps_permissions(first_run):
    run, out = first_run
    (out / "summary.json").chmod(0o600)
    before = _snapshot(out)
    train_run(load_run(run).with_changes({"train": {"epochs": 2}}), out_dir=out, verbose=0)
    after = _snapshot(out)
    assert all(after[name] != before[name] for name in ("model.safetensors", "history.csv"))
    assert (out / "summary.json").stat().st_mode & 0o777 == 0o600
    assert sorted(os.listdir(out)) == sorted(OUTPUT_FILES)


HOLDER = """
import sys, time
from sigmalab.output_folder import STAGING_PREFIX, OutputFolder
folder = OutputFolder(sys.argv[1], ["model.safetensors"])
folder.file("model.safetensors").write_bytes(b"x" * 100_000)
print(folder.staging, flush=True)
time.sleep(600)
"""


def _holder(folder):
    """A process that is writing a run's outputs into ``folder``, and where."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    return process, Path(process.stdout.readline().strip())


def test_the_temporary_folder_of_a_killed_run_is_removed_by_the_next(tmp_path):
    killed, killed_staging = _holder(tmp_path)
    alive, alive_staging = _holder(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert killed_staging.exists()
        with OutputFolder(tmp_path, OUTPUT_FILES):
            assert not killed_staging.exists()  # the killed run's is gone
            assert alive_staging.exists()  # a run still writing is left alone
    finally:
        alive.kill()
        alive.wait(timeout=30)
    OutputFolder(tmp_path, OUTPUT_FILES).discard()
    assert os.listdir(tmp_path) == []


def test_commit_needs_every_output(tmp_path):
    with OutputFolder(tmp_path / "out", ["a.txt", "b.txt"]) as folder:
        folder.file("a.txt").write_text("a")
        with pytest.raises(sl.SigmalabError, match="outputs not written: b.txt"):
            folder.commit()
    assert os.listdir(tmp_path / "out") == []


def test_the_run_file_copy_finds_a_relative_csv_from_the_output_folder(tmp_path):
    rows = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "points.csv").write_text("a,b,target\n" + rows)
    run = _run_file(tmp_path, RUN.replace('dataset = "xor"', 'dataset = "data/points.csv"'))
    train_run(load_run(run), out_dir=tmp_path / "runs" / "points", verbose=0)
    copy = load_run(tmp_path / "runs" / "points" / "run.toml")  # written in a folder below
    assert copy.data.dataset == "../../data/points.csv"
    assert copy.data.csv_path.resolve() == (tmp_path / "data" / "points.csv").resolve()
