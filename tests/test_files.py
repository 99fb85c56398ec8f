"""Safe file replacement: permissions kept, links and special files refused, long names,
and no temporaries piling up after saves killed with kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import sigmalab as sl
from sigmalab.files import atomic_write_bytes


def _model():
    model = sl.Sequential([sl.Dense(1)], seed=0).build(2)
    return model


def _hidden(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"old")
    path.chmod(0o600)
    _model().save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o640)
    atomic_write_bytes(path, b"new")
    assert path.stat().st_mode & 0o777 == 0o640 and path.read_bytes() == b"new"


def test_a_folder_that_refuses_files_is_named_not_the_temporary(tmp_path, monkeypatch):
    """The error names the file asked for; the temporary's name is an internal detail."""

    def refused(suffix, prefix, folder):
        name = os.path.join(folder, f"{prefix}ab12cd34{suffix}")
        raise PermissionError(13, "Permission denied", name)

    monkeypatch.setattr("tempfile.mkstemp", refused)
    target = tmp_path / "predictions.csv"
    with pytest.raises(PermissionError) as caught:
        atomic_write_bytes(target, b"label\n")
    assert caught.value.filename == str(target) and ".tmp" not in str(caught.value)


def test_writing_over_a_symbolic_link_is_refused(tmp_path):
    real = tmp_path / "real.safetensors"
    real.write_bytes(b"precious")
    link = tmp_path / "link.safetensors"
    link.symlink_to(real)
    with pytest.raises(sl.SigmalabError, match="is a symbolic link, not a regular file; refusing"):
        _model().save(link)
    assert link.is_symlink() and real.read_bytes() == b"precious"
    assert _hidden(tmp_path) == []


def test_writing_over_a_fifo_or_a_device_is_refused(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(sl.SigmalabError, match=r"is a FIFO \(named pipe\), not a regular file"):
        atomic_write_bytes(fifo, b"rows")  # refused without opening it, so it cannot hang
    assert fifo.exists() and not fifo.is_file()
    with pytest.raises(sl.SigmalabError, match="/dev/null is a character device"):
        atomic_write_bytes("/dev/null", b"rows")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_a_name_as_long_as_the_system_allows_can_be_written(tmp_path):
    longest = tmp_path / ("m" * 250 + ".csv")  # 254 characters
    atomic_write_bytes(longest, b"ok")
    assert longest.read_bytes() == b"ok" and _hidden(tmp_path) == []
    atomic_write_bytes(longest, b"again")  # replacing it too
    assert longest.read_bytes() == b"again"
    with pytest.raises(sl.SigmalabError, match=r"name is too long .*\(256 bytes; it allows 255\)"):
        atomic_write_bytes(tmp_path / ("m" * 256), b"no")


SAVER = """
import os, sys
from sigmalab import files
path, size = sys.argv[1], int(sys.argv[2])

def hang(fd):  # the save stops half way, where a kill -9 would find it
    print("writing", flush=True)
    import time
    time.sleep(600)

files.os.fsync = hang
files.atomic_write_bytes(path, b"x" * size)
"""


def _start_saver(path):
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SAVER), str(path), str(2_000_000)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "writing\n"
    return process


def test_temporaries_of_killed_saves_never_pile_up(tmp_path):
    path = tmp_path / "model.safetensors"
    for _ in range(3):
        saver = _start_saver(path)
        saver.send_signal(signal.SIGKILL)
        saver.wait(timeout=30)
        assert len(_hidden(tmp_path)) == 1  # the killed save's half file, and only that one
        atomic_write_bytes(path, b"complete")  # the next save clears it
        assert _hidden(tmp_path) == [] and path.read_bytes() == b"complete"


def test_a_save_in_progress_keeps_its_temporary(tmp_path):
    path = tmp_path / "model.safetensors"
    saver = _start_saver(path)
    try:
        in_progress = _hidden(tmp_path)
        atomic_write_bytes(path, b"other")  # a second writer of the same file
        time.sleep(0.1)
        assert _hidden(tmp_path) == in_progress  # still there: it is locked
    finally:
        saver.kill()
        saver.wait(timeout=30)
