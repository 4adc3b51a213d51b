"""Writing a report's files into a folder, all or nothing, even when interrupted.

Every file is first written into a new hidden temporary folder on the same file system as
the target, so that renames are atomic. When the target folder exists, the temporary
folder is made inside it (so a mount point, or ``-o .`` under a read-only parent, works);
each new file then replaces its namesake with ``os.replace``, the files being replaced are
kept aside until the last one is in, and put back if any replacement fails. When the
target does not exist, the temporary folder is made next to it and renamed into place.
Files in the target that the report does not write are never touched.

SIGINT, SIGTERM and SIGHUP (those not ignored) stop the writing while the new files are
being written, and leave the target as it was. From the first rename on they are held
back until every file is in place and the temporary folder is gone; then they are acted
on. Either way :class:`Interrupted` says what happened to the output. (What cannot be
caught, SIGKILL or a power cut during the renames, can leave a mix of old and new files,
the old ones in the hidden ``.metaview-tmp-*/.previous`` folder.)
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from metaview.atomic import raw_atomic_write, umask
from metaview.errors import OutputError

#: Signals that stop the writing (those that exist on this system).
SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                if hasattr(signal, name))

#: Prefix of the temporary folder's name (a hidden name: study folder scans skip it).
TEMP_PREFIX = ".metaview-tmp-"


class Interrupted(KeyboardInterrupt):
    """A signal stopped :func:`write_files`; ``message`` says what became of the output.

    ``exit_code`` is 128 plus the signal number, as a shell reports a process a signal
    ended.
    """

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum = signum
        self.message = message
        self.exit_code = 128 + signum


class _Stop(BaseException):
    """Raised by the signal handler while stopping is still safe."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _SignalGuard:
    """Catch :data:`SIGNALS` while active: raise :class:`_Stop` at once, or, once
    ``hold`` is set, remember the first one for later.

    Handlers can only be set in the main thread; elsewhere this does nothing. A signal
    that is ignored (``nohup``, a background job's SIGINT) stays ignored.
    """

    def __init__(self) -> None:
        self.hold = False
        self.caught: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalGuard:  # noqa: PYI034 - a private class
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum in SIGNALS:
            try:
                current = signal.getsignal(signum)
                if current == signal.SIG_IGN:
                    continue
                signal.signal(signum, self._handle)
            except (ValueError, OSError):  # pragma: no cover - not settable here
                continue
            self._previous[signum] = current
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.caught is None:
            self.caught = signum
        if not self.hold:
            raise _Stop(signum)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)


def _name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:  # pragma: no cover
        return f"signal {signum}"


def write_file(path: Path, data: bytes) -> None:
    """Write one file of the staging folder with :func:`metaview.atomic.raw_atomic_write`
    (flushed to disk, permissions as the umask allows)."""
    with raw_atomic_write(path, overwrite=False) as f:
        f.write(data)


def write_files(files: Mapping[str, bytes], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``out_dir`` atomically; return their paths.

    Raises
    ------
    OutputError
        When the folder cannot be created or written; the folder is then as it was.
    Interrupted
        When SIGINT, SIGTERM or SIGHUP arrived: before the first rename the folder is as
        it was; after it, every new file is in place. The message says which.
    """
    target = Path(out_dir)
    names = sorted(files)
    for name in names:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise OutputError(f"{name!r} is not a plain file name")  # pragma: no cover
    try:
        exists = target.is_dir()
        if not exists and (target.exists() or target.is_symlink()):
            raise OutputError(f"{target}: exists and is not a folder; give a folder for -o")
    except OSError as exc:
        raise OutputError(f"{target}: cannot use this folder ({exc.strerror or exc})") from None
    written = [target / name for name in names]
    staging: Path | None = None
    with _SignalGuard() as guard:
        try:
            staging = _make_staging(target, exists)
            try:
                for name in names:
                    write_file(staging / name, files[name])
            except OSError as exc:
                raise OutputError(f"{target}: cannot write the report "
                                  f"({exc.strerror or exc}); nothing was changed") from None
            guard.hold = True
            if not exists:
                os.chmod(staging, _folder_mode())
                try:
                    os.rename(staging, target)
                    staging = None
                except OSError as exc:
                    if not target.is_dir():
                        raise OutputError(f"{target}: cannot create the report folder "
                                          f"({exc.strerror or exc})") from None
                    # Created meanwhile by someone else: replace file by file from the
                    # sibling temporary folder (the same file system).
            if staging is not None:
                _swap_in(staging, target, names)
        except _Stop as stop:
            guard.hold = True
            _remove(staging)
            raise Interrupted(stop.signum, f"interrupted by {_name(stop.signum)}; "
                              f"no output was changed") from None
        finally:
            guard.hold = True
            _remove(staging)
    if guard.caught is not None:
        raise Interrupted(guard.caught, f"interrupted by {_name(guard.caught)} after the report "
                          f"was complete: all {len(names)} files in {target} are new")
    return written


def _make_staging(target: Path, exists: bool) -> Path:
    """A new private folder on the target's file system: inside it when it exists."""
    where = target if exists else target.absolute().parent
    try:
        if not exists:
            where.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=where))
    except OSError as exc:
        what = "write into" if exists else "create"
        raise OutputError(f"{target}: cannot {what} the report folder "
                          f"({exc.strerror or exc})") from None


def _remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _swap_in(staging: Path, target: Path, names: list[str]) -> None:
    """Move ``names`` from ``staging`` into ``target``, putting the old files back when a
    move fails."""
    backup = staging / ".previous"
    backup.mkdir()
    started: list[str] = []  # names whose old file may be in backup or whose new one is in
    try:
        for name in names:
            old = target / name
            if old.is_dir():
                raise OutputError(f"{old}: is a folder; the report needs to write a file there")
            started.append(name)
            if old.exists() or old.is_symlink():
                os.replace(old, backup / name)
            os.replace(staging / name, old)
    except BaseException as exc:  # anything at all: the previous report is put back
        for name in reversed(started):
            try:
                if (backup / name).exists() or (backup / name).is_symlink():
                    os.replace(backup / name, target / name)
                elif not (staging / name).exists() and (target / name).exists():
                    os.remove(target / name)  # new here, no old one: take it out again
            except OSError:  # pragma: no cover - nothing better to do
                pass
        if not isinstance(exc, OSError):
            raise
        raise OutputError(f"{target}: cannot replace the report files "
                          f"({exc.strerror or exc}); the previous report was restored") from None


def _folder_mode() -> int:
    """The mode ``mkdir`` would give a new folder (``mkdtemp`` makes it private)."""
    return 0o777 & ~umask()
