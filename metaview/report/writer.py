"""Writing a report's files into a folder, all or nothing.

Every file is first written into a new temporary folder next to the target (same file
system, so renames are atomic). If the target does not exist, the temporary folder is
renamed into place. If it does, each new file replaces its namesake with ``os.replace``;
the files being replaced are kept aside until the last one is in, and put back if any
replacement fails. Files in the target that the report does not write are never touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from metaview.errors import OutputError


def write_file(path: Path, data: bytes) -> None:
    """Write one file and flush it to disk."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_files(files: Mapping[str, bytes], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``out_dir`` atomically; return their paths.

    Raises
    ------
    OutputError
        When the folder cannot be created or written; the folder is then as it was.
    """
    target = Path(out_dir)
    for name in files:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise OutputError(f"{name!r} is not a plain file name")  # pragma: no cover
    if target.exists() and not target.is_dir():
        raise OutputError(f"{target}: exists and is not a folder; give a folder for -o")
    parent = target.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    except OSError as exc:
        raise OutputError(f"{target}: cannot create the report folder "
                          f"({exc.strerror or exc})") from None
    try:
        try:
            for name in sorted(files):
                write_file(staging / name, files[name])
        except OSError as exc:
            raise OutputError(f"{target}: cannot write the report ({exc.strerror or exc}); "
                              "nothing was changed") from None
        if not target.exists():
            os.chmod(staging, _folder_mode())
            try:
                os.replace(staging, target)
                return [target / name for name in sorted(files)]
            except OSError:
                # Created meanwhile by someone else: fall through to replacing file by file.
                target.mkdir(parents=True, exist_ok=True)
        _swap_in(staging, target, sorted(files))
        return [target / name for name in sorted(files)]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, target: Path, names: list[str]) -> None:
    """Move ``names`` from ``staging`` into ``target``, putting the old files back when a
    move fails."""
    backup = staging / ".previous"
    backup.mkdir()
    moved: list[str] = []
    try:
        for name in names:
            old = target / name
            if old.is_dir():
                raise OutputError(f"{old}: is a folder; the report needs to write a file there")
            if old.exists() or old.is_symlink():
                os.replace(old, backup / name)
            moved.append(name)
            os.replace(staging / name, old)
    except BaseException as exc:  # Ctrl-C too: the previous report is put back
        for name in reversed(moved):
            try:
                if (backup / name).exists() or (backup / name).is_symlink():
                    os.replace(backup / name, target / name)
                elif (target / name).exists():
                    os.remove(target / name)
            except OSError:  # pragma: no cover - nothing better to do
                pass
        if not isinstance(exc, OSError):
            raise
        raise OutputError(f"{target}: cannot replace the report files "
                          f"({exc.strerror or exc}); the previous report was restored") from None


def _folder_mode() -> int:
    """The mode ``mkdir`` would give a new folder (``mkdtemp`` makes it private)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask
