"""A run's output folder, whose files appear as one set once all of them are written.

The files are written into a locked temporary folder inside the output folder. Only when
every one is complete are the previous run's files of those names removed and the new
ones renamed in (renames inside one folder: nothing is copied). Until then the folder holds
the previous run untouched; a crash in the instant of the swap can leave part of the new
set, never files of two runs. A temporary folder that a killed run left is removed by the
next run into the same folder, and everything that can be checked before training is
checked when the folder is opened.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from .errors import SigmalabError
from .files import locked_temporary_folder, remove_stale_temporaries, replaceable_mode

STAGING_PREFIX = ".sigmalab-run-"


class OutputFolder:
    """The folder ``path`` about to receive the files ``names``; ``file(name)`` is where to
    write each, ``commit()`` moves them in together, ``discard()`` (or leaving a ``with``
    block without committing) drops them.

    Opening it checks everything that would otherwise fail after training: the folder can
    be made and written to; no output would replace a symbolic link, a FIFO, a device or a
    folder; and none would overwrite one of ``inputs`` (path -> what it is, e.g. the run
    file or its CSV).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        names: Iterable[str],
        inputs: Mapping[Path, str] | None = None,
    ) -> None:
        self.path = Path(path)
        self.names = tuple(names)
        self._lock: int | None = None
        self._make_folder()
        for name in self.names:
            self._check_target(self.path / name, inputs or {})
        remove_stale_temporaries(self.path, STAGING_PREFIX)
        try:
            self._lock, self.staging = locked_temporary_folder(self.path, STAGING_PREFIX)
        except OSError as error:
            raise SigmalabError(
                f"cannot write into the output folder {self.path}: {error.strerror}"
            ) from None

    def _make_folder(self) -> None:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            status = None
        except OSError as error:
            raise SigmalabError(
                f"cannot use {self.path} as output folder: {error.strerror}"
            ) from None
        if status is not None and not stat.S_ISDIR(status.st_mode):
            kind = "a file" if stat.S_ISREG(status.st_mode) else "not a folder"
            raise SigmalabError(
                f"output folder {self.path} is {kind}, not a folder; choose another path"
            )
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise SigmalabError(
                f"cannot create the output folder {self.path}: {error.strerror}"
            ) from None

    @staticmethod
    def _check_target(target: Path, inputs: Mapping[Path, str]) -> None:
        try:
            replaceable_mode(target)
        except IsADirectoryError:
            raise SigmalabError(
                f"{target} is a folder; refusing to replace it with a file"
            ) from None
        for source, what in inputs.items():
            with contextlib.suppress(OSError):
                if os.path.samefile(target, source):
                    raise SigmalabError(
                        f"{target} is this run's {what}; writing the outputs there would "
                        "overwrite it: choose another output folder"
                    )

    def file(self, name: str) -> Path:
        """Where to write the output ``name`` until ``commit``."""
        return self.staging / name

    def commit(self) -> None:
        """Replace the previous run's files by the new set; keeps each replaced file's mode."""
        missing = [name for name in self.names if not self.file(name).is_file()]
        if missing:
            raise SigmalabError(f"outputs not written: {', '.join(missing)}")
        for name in self.names:
            os.chmod(self.file(name), replaceable_mode(self.path / name))
        for name in self.names:  # the old set leaves first, so no mix of two runs can exist
            (self.path / name).unlink(missing_ok=True)
        for name in self.names:
            os.replace(self.file(name), self.path / name)
        _sync_folder(self.path)
        self.discard()

    def discard(self) -> None:
        """Remove the temporary folder and whatever it holds (idempotent)."""
        if self._lock is None:
            return
        shutil.rmtree(self.staging, ignore_errors=True)
        os.close(self._lock)
        self._lock = None

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()


def _sync_folder(folder: Path) -> None:
    """Make the renames durable (where the system supports syncing a folder)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):
            os.fsync(handle)
    finally:
        os.close(handle)
