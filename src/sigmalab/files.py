"""Replacing files safely: atomically, without piling up temporaries, never through a link.

A file is written to a temporary sibling and renamed over its target only when complete,
so a crash never leaves half a file. The temporary is locked (``flock``) while it is
written; one that nobody holds a lock on is what a killed save left behind, and the next
save of the same target removes it. The lock dies with its process, so ``kill -9`` cannot
make a live save look stale or a stale one look alive.

Only a regular file (or nothing) is replaced: a symbolic link, a FIFO, a device or a
folder at the target is refused with a message, since renaming over it would silently
replace the link (or the pipe, or the device) rather than write where it points. The
replaced file's permissions are kept.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
from pathlib import Path

from .errors import SigmalabError

TEMPORARY_SUFFIX = ".tmp"
_RANDOM_PART = r"[a-z0-9_]{8}"  # what tempfile puts between prefix and suffix


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` through a locked temporary file and an atomic rename."""
    target = Path(path)
    mode = replaceable_mode(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = _temporary_prefix(target)
    remove_stale_temporaries(target.parent, prefix, TEMPORARY_SUFFIX)
    try:
        handle, temporary = _locked(
            lambda: tempfile.mkstemp(TEMPORARY_SUFFIX, prefix, target.parent)
        )
    except OSError as error:  # named after the temporary, which the caller never chose
        raise type(error)(error.errno, error.strerror, str(target)) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
            os.fchmod(stream.fileno(), mode)  # mkstemp's 0600 would hide a new file from others
            os.replace(temporary, target)  # still locked, so no cleaner can take it first
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def refuse_replacing_inputs(outputs: dict[str, Path | None], inputs: dict[str, Path]) -> None:
    """Refuse an output path that is one of the command's inputs, or another output, before
    any work: writing it would replace the file the command reads (or has just written)."""
    named = [(label, path) for label, path in outputs.items() if path is not None]
    for position, (label, path) in enumerate(named):
        for other, source in [*inputs.items(), *named[:position]]:
            if _same_file(path, source):
                raise SigmalabError(
                    f"{label} {path} is the {other} file, which writing {label} would "
                    "replace: write it to another file"
                )


def check_writable(path: Path, label: str) -> None:
    """Refuse, before any work, an output that could not be written once the work is done:
    a folder or special file in its place, or a folder that takes no new files."""
    folder = path.absolute().parent
    while not folder.exists():  # what the write will create its folders in
        folder = folder.parent
    if not folder.is_dir():
        raise SigmalabError(f"{label} {path}: {folder} is a file, not a folder")
    try:
        replaceable_mode(path)
    except IsADirectoryError:
        raise SigmalabError(f"{label} {path} is a folder; name a file in it") from None
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise SigmalabError(f"{label} {path}: cannot write in {folder}: {error.strerror}") from None


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links and hard links where both exist)."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def replaceable_mode(target: Path) -> int:
    """The permission bits a new file at ``target`` gets: the old file's, or 0666 less the
    umask; raises unless ``target`` is a regular file or absent."""
    try:
        status = os.lstat(target)
    except FileNotFoundError:
        return 0o666 & ~_current_umask()
    except OSError as error:
        if error.errno == errno.ENAMETOOLONG:
            raise SigmalabError(
                f"{target}: the name is too long for the file system "
                f"({len(os.fsencode(target.name))} bytes; it allows {_name_max(target.parent)})"
            ) from None
        raise
    if stat.S_ISDIR(status.st_mode):  # else the rename fails naming only the temporary
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(target))
    if not stat.S_ISREG(status.st_mode):
        raise SigmalabError(
            f"{target} is {_kind(status.st_mode)}, not a regular file; refusing to replace "
            "it; choose another path"
        )
    return stat.S_IMODE(status.st_mode)


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _name_max(folder: Path) -> int:
    """The longest file name (in bytes) ``folder``'s file system holds."""
    try:
        return os.pathconf(folder if folder.is_dir() else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _temporary_prefix(target: Path) -> str:
    """``.NAME.``, with NAME cut so that the temporary's name fits where NAME itself fits."""
    budget = _name_max(target.parent) - len("..") - 8 - len(TEMPORARY_SUFFIX)
    return f".{os.fsdecode(os.fsencode(target.name)[:budget])}."


def _current_umask() -> int:
    """The process umask (only readable by setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def locked_temporary_folder(parent: Path, prefix: str) -> tuple[int, Path]:
    """A new folder in ``parent``, locked until the returned descriptor is closed."""
    handle, folder = _locked(lambda: _open_folder(tempfile.mkdtemp(dir=parent, prefix=prefix)))
    return handle, Path(folder)


def _open_folder(folder: str) -> tuple[int, str]:
    return os.open(folder, os.O_RDONLY | os.O_DIRECTORY), folder


def _locked(create):
    """Create a temporary (``create()`` -> (descriptor, path)) and lock it exclusively.

    A cleaner may remove a temporary in the instant between its creation and its lock; a
    removed one has no links left, and another is made.
    """
    import fcntl

    while True:
        handle, path = create()
        fcntl.flock(handle, fcntl.LOCK_EX)
        if os.fstat(handle).st_nlink:
            return handle, path
        os.close(handle)


def remove_stale_temporaries(folder: Path, prefix: str, suffix: str = "") -> None:
    """Remove the unlocked files or folders named PREFIX + 8 random characters + SUFFIX:
    those of saves that were killed."""
    import fcntl

    pattern = re.compile(re.escape(prefix) + _RANDOM_PART + re.escape(suffix))
    try:
        entries = [entry for entry in os.scandir(folder) if pattern.fullmatch(entry.name)]
    except OSError:
        return
    for entry in entries:
        try:
            handle = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.path.samestat(os.fstat(handle), os.lstat(entry.path)):
                _remove(entry.path, os.fstat(handle).st_mode)
        except OSError:  # locked: a save in progress; or gone already
            pass
        finally:
            os.close(handle)


def _remove(path: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        os.unlink(path)
