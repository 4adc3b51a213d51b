"""Writing an output file atomically: all of it or nothing, never over a file unless asked.

Every output writer of metaview goes through :func:`atomic_write` (or :func:`write_bytes`):

* the bytes go to a temporary file in the target's own folder (so the final rename stays on
  one file system), are flushed and ``fsync``-ed, and the file is then renamed into place;
* a failure at any point, including an interrupt, removes the temporary file and leaves
  any existing file untouched;
* without ``overwrite`` an existing file is an error, also when it appears while writing
  (the file is moved in with a hard link, which fails if the name is taken);
* a new file gets read/write permissions for everyone as the umask allows (the umask is
  read, never changed process-wide); a replaced file keeps its permissions.

>>> from metaview.atomic import write_bytes
>>> write_bytes("out.csv", b"a,b\\n1,2\\n")              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from metaview.errors import OutputError

PathArg = str | os.PathLike[str]


def exists_message(target: Path) -> str:
    """The one line said when ``target`` exists and overwriting was not asked for."""
    return f"'{target}' exists; use --force to overwrite it"


def check_target(path: PathArg, *, overwrite: bool = False) -> Path:
    """``path`` as a :class:`~pathlib.Path` once it is known it can be written.

    Raises
    ------
    OutputError
        When it is a folder, its folder does not exist, or it exists and ``overwrite`` is
        false.
    """
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"cannot write '{target}': it is a folder")
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write '{target}': folder '{folder}' does not exist")
    if not overwrite and (target.exists() or target.is_symlink()):
        raise OutputError(exists_message(target))
    return target


@contextlib.contextmanager
def atomic_write(path: PathArg, *, overwrite: bool = False,
                 mode: int = 0o666) -> Iterator[BinaryIO]:
    """A binary file to write; on leaving the block it becomes ``path``, atomically.

    Parameters
    ----------
    path
        The file to make.
    overwrite
        Replace an existing file (``False``: an existing file is an error).
    mode
        Permissions of a new file before the umask is applied.

    Raises
    ------
    OutputError
        When the file cannot be written (one line: the file and the system's reason), or
        it exists and ``overwrite`` is false. Any other exception raised in the block is
        raised again after the temporary file is removed.
    """
    target = check_target(path, overwrite=overwrite)
    try:
        with raw_atomic_write(target, overwrite=overwrite, mode=mode) as out:
            yield out
    except FileExistsError:
        raise OutputError(exists_message(target)) from None
    except OSError as exc:
        raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from None


@contextlib.contextmanager
def raw_atomic_write(path: PathArg, *, overwrite: bool = False,
                     mode: int = 0o666) -> Iterator[BinaryIO]:
    """:func:`atomic_write` without the checks and messages: ``OSError`` is raised as is
    (``FileExistsError`` when ``path`` exists and ``overwrite`` is false), for callers
    with their own wording."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, file_mode(target, mode))
        if overwrite:
            os.replace(tmp, target)
        else:
            _move_no_clobber(tmp, target)
    finally:
        _remove(tmp)


def write_bytes(path: PathArg, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` with :func:`atomic_write`; returns the path written."""
    with atomic_write(path, overwrite=overwrite) as out:
        out.write(data)
    return Path(path)


def write_text(path: PathArg, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` as UTF-8 to ``path`` with :func:`atomic_write`."""
    return write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def file_mode(target: Path, mode: int = 0o666) -> int:
    """The existing file's permissions, else ``mode`` (read/write for all) less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return mode & ~umask(target.parent)


def umask(folder: Path | None = None) -> int:
    """The process's umask, read without changing it (``os.umask`` would, for every thread).

    Read from ``/proc/self/status`` where there is one; elsewhere from the permissions of a
    probe file made in ``folder`` with mode 0o666 (and removed at once); 0o022 if neither
    works.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    if folder is not None:
        probe = Path(folder) / f".metaview-umask-{os.getpid()}.tmp"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError:
            return 0o022
        try:
            return 0o666 & ~os.fstat(fd).st_mode & 0o777
        finally:
            os.close(fd)
            _remove(str(probe))
    return 0o022


def _move_no_clobber(tmp: str, target: Path) -> None:
    """Move into place unless the target appeared meanwhile (hard link; the caller removes
    ``tmp``). Raises ``FileExistsError`` when the name is taken."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network or FAT file systems)
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
        os.replace(tmp, target)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
