"""Finding study files and reading their bytes: folders scanned once, nothing followed blindly."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from metaview.errors import Problem

PathArg = str | os.PathLike[str]

#: Largest study file read (a study file is a few kilobytes).
MAX_BYTES = 1024 * 1024
#: File name endings of study files in a folder.
STUDY_SUFFIXES = (".yaml", ".yml")
# --------------------------------------------------------------------------- finding files


def _as_list(paths: PathArg | Iterable[PathArg]) -> list[PathArg]:
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    if paths is None or isinstance(paths, (bytes, bytearray)):
        raise TypeError(f"paths must be a path (str or os.PathLike) or a list of them, "
                        f"not {type(paths).__name__}")
    return list(paths)


_UNREADABLE = "permission denied (make it readable, e.g. chmod u+r)"


def _stat_problem(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop (fix or remove the link)"
    if isinstance(exc, FileNotFoundError):
        if os.path.islink(path):
            return "broken symbolic link: its target does not exist (fix or remove the link)"
        return "no such file or folder (check the path)"
    if isinstance(exc, PermissionError):
        return _UNREADABLE
    if exc.errno == errno.ENAMETOOLONG:
        return "path too long"
    return f"cannot be read: {exc.strerror or exc} (check the path)"


def _find(paths: list[PathArg]) -> tuple[list[Path], list[Problem]]:
    files: list[Path] = []
    problems: list[Problem] = []
    seen: set[tuple[int, int]] = set()

    def add(path: Path, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if key not in seen:
            seen.add(key)
            files.append(path)

    if not paths:
        problems.append(Problem("(no path)", None, "no study file or folder given "
                                "(name a study file or a folder, e.g. studies/)"))
    for raw in paths:
        try:
            path = Path(raw)
        except TypeError:
            problems.append(Problem(str(raw), None, "is not a path"))
            continue
        try:
            st = os.stat(path)
        except (OSError, ValueError) as exc:
            message = (_stat_problem(path, exc) if isinstance(exc, OSError)
                       else "is not a valid path")
            problems.append(Problem(str(path), None, message))
            continue
        if stat.S_ISDIR(st.st_mode):
            found, folder_problems = _scan_folder(path)
            problems.extend(folder_problems)
            for file, file_st in found:
                add(file, file_st)
        elif stat.S_ISREG(st.st_mode):
            if not path.name.lower().endswith(STUDY_SUFFIXES):
                problems.append(Problem(str(path), None, "is not a study file: the name must "
                                        "end in .yaml or .yml (rename it)"))
                continue
            if not os.access(path, os.R_OK):
                problems.append(Problem(str(path), None, _UNREADABLE))
                continue
            add(path, st)
        else:
            problems.append(Problem(str(path), None, "is not a regular file (name a study "
                                    "file or a folder of them)"))
    return files, problems


def _scan_folder(folder: Path) -> tuple[list[tuple[Path, os.stat_result]], list[Problem]]:
    found: list[tuple[Path, os.stat_result]] = []
    problems: list[Problem] = []
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        return [], [Problem(str(folder), None, _stat_problem(folder, exc))]
    for name in names:
        if name.startswith(".") or not name.lower().endswith(STUDY_SUFFIXES):
            continue
        path = folder / name
        try:
            st = os.stat(path)
        except OSError as exc:
            problems.append(Problem(str(path), None, _stat_problem(path, exc)))
            continue
        if stat.S_ISDIR(st.st_mode):
            problems.append(Problem(str(path), None, "is a folder, not a study file "
                                    "(rename it or move it out of the folder)"))
        elif not stat.S_ISREG(st.st_mode):
            problems.append(Problem(str(path), None, "is not a regular file "
                                    "(remove it from the folder)"))
        elif not os.access(path, os.R_OK):
            problems.append(Problem(str(path), None, _UNREADABLE))
        else:
            found.append((path, st))
    if not found and not problems:
        problems.append(Problem(str(folder), None, "no study files (*.yaml, *.yml) in this "
                                f"folder (create one with: metaview new ID --dir {folder})"))
    return found, problems


# --------------------------------------------------------------------------- reading


class NotRegularFile(OSError):
    """What was opened is not a regular file (a FIFO or device put there after the scan)."""


def read_study_bytes(path: PathArg, limit: int = MAX_BYTES + 1) -> bytes:
    """Up to ``limit`` bytes of a regular file, without ever blocking on what is there.

    The file is opened non-blocking (a FIFO or device that replaced the file after the
    folder was scanned opens at once) and its type is checked on the open handle.

    Raises
    ------
    NotRegularFile
        When the path does not name a regular file once opened.
    OSError
        When it cannot be opened or read.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit)
    finally:
        os.close(fd)


def _read_text(path: Path, display: str) -> tuple[str | None, list[Problem], bytes]:
    """The file's text (None on a problem), its problems, and the bytes read."""
    try:
        data = read_study_bytes(path)
    except NotRegularFile:
        return None, [Problem(display, None, "is not a regular file: it was replaced after "
                              "the folder was read (remove it, or put the study file back)")], b""
    except OSError as exc:
        return None, [Problem(display, None, _stat_problem(path, exc))], b""
    if len(data) > MAX_BYTES:
        return None, [Problem(display, 1, f"file is larger than {MAX_BYTES // 1024 // 1024} MiB "
                              "(a study file is a few kilobytes; is this the right file?)")], data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        return None, [Problem(display, line, f"not valid UTF-8: byte 0x{byte:02X} at offset "
                              f"{exc.start} (save the file as UTF-8)")], data
    text = text.removeprefix("\ufeff")
    return text, [], data
