"""Reading study files: safe YAML, every problem with its file, line and key.

This is the only module that imports :mod:`yaml`. A study file is parsed with
``yaml.SafeLoader`` only as far as its node tree (``compose``; libyaml composes the same
tree faster when PyYAML has it and the text is plain, see ``_compose``); Python values are
built here from the nodes, so that

* every key and value keeps its line number for messages;
* duplicate keys are errors (PyYAML's constructor silently keeps the last one);
* explicit tags (``!!python/object``, ``!foo``, even ``!!str``), anchors and aliases are
  rejected before anything is built (which also defuses alias-expansion bombs);
* YAML 1.1 surprises are reported instead of silently converted: ``NO`` or ``yes`` read as
  booleans, ``2023-01-01`` read as a date, ``010`` read as octal 8, ``1:30`` read as 90.

Types, required keys, unknown keys, patterns, enumerations and ranges come from the
declarations in :mod:`metaview.io.schema` (the same ones that make the JSON Schema); the
rules a JSON Schema cannot express are checked here.

Every problem of every file is collected and raised at once as one
:class:`~metaview.errors.StudyFileError`. Nothing else escapes, whatever the input.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import difflib
import errno
import gc
import hashlib
import math
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import yaml

from metaview.errors import Problem, StudyFileError
from metaview.io import schema as sc
from metaview.model import LANDMARK_TOLERANCE, Outcome, Study, same_landmark

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PathArg = str | os.PathLike[str]

#: Largest study file read (a study file is a few kilobytes).
MAX_BYTES = 1024 * 1024
#: Deepest nesting accepted (a study file needs 4 levels).
MAX_DEPTH = 16
#: Problems reported per file before the rest are summarised in one line.
MAX_PROBLEMS_PER_FILE = 100
#: File name endings of study files in a folder.
STUDY_SUFFIXES = (".yaml", ".yml")

_BAD = object()  # a value that failed its check (already reported)

_INT_RE = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_PERCENT_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*")
_NEGATIVE_PERCENT_RE = re.compile(r"\s*-\s*[0-9]+(?:\.[0-9]+)?\s*%\s*")
_NUMBER_TEXT_RE = re.compile(r"\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*")


# --------------------------------------------------------------------------- public API


def find_study_files(paths: PathArg | Iterable[PathArg]) -> list[Path]:
    """The study files named by ``paths``.

    Each path is a study file or a folder; a folder contributes its ``*.yaml`` and ``*.yml``
    files (not sub-folders; names starting with a dot are skipped), sorted by name. A file
    named twice (also through a symbolic link) is returned once.

    Raises
    ------
    StudyFileError
        Listing every path that is missing, a broken link or a link loop, unreadable, not
        a regular file, or a folder without study files.
    """
    files, problems = _find(_as_list(paths))
    if problems:
        raise StudyFileError(problems)
    return files


def load_studies(paths: PathArg | Iterable[PathArg]) -> list[Study]:
    """Load and check every study file named by ``paths`` (files or folders).

    Returns the studies in the order of :func:`find_study_files`.

    Raises
    ------
    StudyFileError
        With every problem of every file, and the problems across files: two files with
        the same ``id``, more than one study with ``index: true``.
    """
    files, problems = _find(_as_list(paths))
    studies: list[Study] = []
    marks: list[_Marks] = []
    for study, file_problems, mark in _load_files(files):
        problems.extend(file_problems)
        if study is not None and mark is not None:
            studies.append(study)
            marks.append(mark)
    problems.extend(_cross_file_problems(studies, marks))
    if problems:
        raise StudyFileError(problems)
    return studies


def load_study(path: PathArg) -> Study:
    """Load and check one study file.

    Raises
    ------
    StudyFileError
        With every problem of the file (a folder is a problem too: use
        :func:`load_studies`).
    """
    p = Path(path)
    try:
        is_dir = p.is_dir()
    except OSError:
        is_dir = False
    if is_dir:
        raise StudyFileError(
            [Problem(str(p), None, "is a folder, not a study file (name one .yaml file, "
                                   "or load a folder with load_studies)")]
        )
    studies = load_studies([p])
    return studies[0]


def study_schema() -> dict[str, Any]:
    """The study file format as a JSON Schema (draft 2020-12); see :mod:`metaview.io.schema`."""
    return sc.json_schema()


OUTCOME_COLUMNS = (
    "id", "label", "arm", "is_index", "year", "patients",
    "endpoint", "time_months", "time_origin", "count", "total", "estimate", "estimate_text",
    "ci_low", "ci_high", "ci_level", "ci_method", "at_risk", "proportion",
    "source", "derived", "note", "file", "line",
)


def outcomes_frame(studies: Iterable[Study]) -> pd.DataFrame:
    """Tidy table of outcomes: one row per outcome of each study.

    Columns: the study's ``id``, ``label``, ``arm``, ``is_index``, ``year``, ``patients``;
    every outcome field (``ci`` split into ``ci_low`` and ``ci_high``); ``proportion``
    (``count/total`` or ``estimate``); ``file`` and ``line`` of the entry.
    """
    import pandas as pd

    rows = []
    for study in studies:
        for o in study.outcomes:
            rows.append(
                {
                    "id": study.id,
                    "label": study.label,
                    "arm": study.arm,
                    "is_index": study.index,
                    "year": study.year,
                    "patients": study.patients,
                    "endpoint": o.endpoint,
                    "time_months": o.time_months,
                    "time_origin": o.time_origin,
                    "count": o.count,
                    "total": o.total,
                    "estimate": o.estimate,
                    "estimate_text": o.estimate_text,
                    "ci_low": None if o.ci is None else o.ci[0],
                    "ci_high": None if o.ci is None else o.ci[1],
                    "ci_level": o.ci_level,
                    "ci_method": o.ci_method,
                    "at_risk": o.at_risk,
                    "proportion": o.proportion,
                    "source": o.source,
                    "derived": o.derived,
                    "note": o.note,
                    "file": study.path,
                    "line": o.line,
                }
            )
    frame = pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))
    for column in ("count", "total", "at_risk", "year", "patients", "line"):
        frame[column] = frame[column].astype("Int64")
    return frame


#: from this many files on, a second process loads half of them (on a machine with 2+ cores)
PARALLEL_FROM = 4000


def _load_all(files: list[Path]) -> list[tuple[Study | None, list[Problem], _Marks | None]]:
    with _collector_paused():
        return [_load_file(path) for path in files]


def _load_files(files: list[Path]) -> list[tuple[Study | None, list[Problem], _Marks | None]]:
    """Every file's result, in order; large folders are split with one forked worker.

    Forking is only used where it is safe and cheap (POSIX, no other threads running);
    anything going wrong with the worker falls back to loading in this process.
    """
    import threading

    if (len(files) < PARALLEL_FROM or (os.cpu_count() or 1) < 2
            or threading.active_count() > 1 or not hasattr(os, "fork")):
        return _load_all(files)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    half = len(files) // 2
    try:
        with ProcessPoolExecutor(max_workers=1,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            later = pool.submit(_load_all, files[half:])
            first = _load_all(files[:half])
            return first + later.result()
    except (OSError, RuntimeError, ImportError):  # no processes here: do it all in one
        return _load_all(files)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused (and then restored as it was).

    Loading a file leaves no reference cycles behind, so the collector finds nothing
    here; left running, it would walk every study loaded so far again and again (a tenth
    of the time for 20,000 files).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


class _StructureError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


#: Line breaks of YAML that are not line breaks of the file as editors, ``grep -n`` and
#: ``wc -l`` count them (a "\r" not followed by "\n", NEL, U+2028, U+2029).
_YAML_ONLY_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


class _LineNumbers:
    """Line numbers of positions in a text, counted as the file's ``"\n"`` characters.

    YAML also breaks lines at a lone ``"\r"``, NEL and U+2028/U+2029, so its marks' ``line``
    can run past the last line of the file; messages use the file's lines instead.
    """

    def __init__(self, text: str):
        self.exact = _YAML_ONLY_BREAKS.search(text) is None
        self._breaks = [] if self.exact else [m.start() for m in re.finditer("\n", text)]

    def of(self, mark: Any) -> int:
        """1-based line of a YAML mark."""
        if self.exact:
            return int(mark.line) + 1
        return bisect.bisect_left(self._breaks, int(mark.index)) + 1

    def renumber(self, root: yaml.Node | None) -> None:
        """Rewrite the start marks of every node of the tree to the file's lines."""
        if self.exact or root is None:
            return
        stack = [root]
        while stack:
            node = stack.pop()
            m = node.start_mark
            node.start_mark = yaml.Mark(m.name, m.index, self.of(m) - 1, m.column, None, None)
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    stack.extend((key, value))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)


class _PlainComposer(yaml.SafeLoader):
    """Builds the node tree of plain YAML; notes tags, anchors and aliases with their lines."""

    def __init__(self, text: str):
        super().__init__(text)
        self.tags: list[tuple[int, str]] = []
        self.anchors_seen: list[tuple[int, str]] = []
        self.aliases_seen: list[tuple[int, str]] = []
        self._depth = 0
        self.lines = _LineNumbers(text)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        line = self.lines.of(event.start_mark)
        if isinstance(event, yaml.AliasEvent):
            self.get_event()
            self.aliases_seen.append((line, str(event.anchor)))
            return yaml.ScalarNode("tag:yaml.org,2002:null", "", event.start_mark,
                                   event.end_mark)
        if event.anchor is not None:
            self.anchors_seen.append((line, str(event.anchor)))
            event.anchor = None
        tag = getattr(event, "tag", None)
        if tag is not None:
            self.tags.append((line, str(tag)))
            event.tag = None
            if isinstance(event, yaml.ScalarEvent):
                event.implicit = (False, True)  # keep it a string; already reported
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _StructureError(line, f"nesting deeper than {MAX_DEPTH} levels "
                                      "(a study file needs four; check the indentation)")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml_error_problem(display: str, text: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return Problem(display, line, f"character #x{exc.character:04x} is not allowed in YAML "
                       "(remove it; save the file as plain UTF-8 text)")
    if isinstance(exc, yaml.MarkedYAMLError):
        lines = _LineNumbers(text)
        mark = exc.problem_mark or exc.context_mark
        line = lines.of(mark) if mark is not None else 1
        problem = (exc.problem or "").strip()
        context = (exc.context or "").strip()
        if "another document" in problem or "another document" in context:
            return Problem(display, line, "a second YAML document ('---') (a study file holds "
                           "one study; remove the '---' line and what follows or move it to "
                           "its own file)")
        if "'\\t'" in problem:
            return Problem(display, line, "YAML syntax error: a tab character (indent with "
                           "spaces, not tabs)")
        start = lines.of(exc.context_mark) if exc.context_mark is not None else None
        plain = _plain_yaml_error(problem, context, line, start)
        if plain is not None:
            at, words = plain
            return Problem(display, at, f"YAML syntax error: {words}")
        what = problem or "invalid YAML"
        if context:
            where = ""
            if exc.context_mark is not None and mark is not None and \
                    lines.of(exc.context_mark) != line:
                where = f" that starts at line {lines.of(exc.context_mark)}"
            what = f"{what} {context}{where}"
        what = " ".join(what.split())
        return Problem(display, line, f"YAML syntax error: {what} (check the indentation, "
                       "colons and quotes around this line)")
    return Problem(display, 1, f"YAML error: {' '.join(str(exc).split())}")


def _plain_yaml_error(problem: str, context: str, line: int,
                      start: int | None) -> tuple[int, str] | None:
    """PyYAML's common syntax errors in plain words: ``(line, what is probably wrong)``.

    ``line`` is where PyYAML noticed the error, ``start`` where the construct it was reading
    began (an unclosed quote or bracket is reported where it opens). None for the others.
    """
    since = f" that starts at line {start}" if start is not None and start != line else ""
    if "could not find expected ':'" in problem:
        key_line = start if start is not None else line
        return line, (f"a missing ':' after the key on line {key_line} (write key: value; a "
                      "value continued on the next line must be indented under it)")
    if "mapping values are not allowed" in problem:
        return line, ("unexpected ':' (a value containing ': ' must be quoted, e.g. "
                      'label: "A: B"; or this line is indented further than the keys above '
                      "it: align it with them)")
    if "quoted scalar" in context and "end of stream" in problem:
        at = start if start is not None else line
        return at, ("a quote opened here is never closed (add the closing quote at the end "
                    "of the value)")
    for opening, closing, what in (("[", "]", "flow sequence"), ("{", "}", "flow mapping")):
        if what in context and (f"expected ',' or '{closing}'" in problem
                                or "end of stream" in problem):
            at = start if start is not None else line
            return at, (f"the '{opening}' opened here is not closed (add '{closing}' at the end "
                        f"of the value, or separate its items with ', ')")
    if problem.startswith("expected <block end>") or (
            problem.startswith("expected <block mapping start>")):
        if "'<scalar>'" in problem:
            return line, ("unexpected text (a quoted value must end at its closing quote: "
                          f"quote the whole value; or the indentation does not match the block"
                          f"{since})")
        block = f"the block{since}" if since else "the lines above"
        return line, (f"the indentation does not match {block} (indent the keys of one "
                      "entry by the same number of spaces, and start each list entry with "
                      "'- ' in the same column)")
    if "cannot start any token" in problem:
        found = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return line, (f"a value cannot start with '{found}' (put the value in quotes)")
    return None


def _compose(display: str, text: str) -> tuple[yaml.Node | None, list[Problem]]:
    if _USE_LIBYAML and _libyaml_can_take(text):
        root = _compose_fast(text)
        if root is not _BAD:
            return root, []
    return _compose_plain(display, text)


# The fast path: libyaml composes the node tree in C. It is taken only for text on which
# it gives the same tree (tags, values, start lines) as the composer above, and only when
# that tree needs none of the composer's checks; for anything else, including every
# error, the text is composed again by the composer above, whose messages are the
# reference.

#: Compose with libyaml when PyYAML has it (tests switch it off to compare both paths).
_USE_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))
#: Longest text given to libyaml, and most flow brackets and block sequence entries
#: ("[", "{", "- "): libyaml's composer recurses in C once per nesting level (and crashes
#: the process some ten thousand levels down), so these bound its depth; deeper text goes
#: to the composer above, which stops at MAX_DEPTH.
_FAST_MAX_CHARS = 64 * 1024
_FAST_MAX_INDICATORS = 500
#: Characters that send a text to the composer above, anywhere (also in quoted text and
#: comments): anchors, aliases and tags, which that composer reports; "?", on which the
#: two disagree in flow collections; tabs, which they accept in different places; line
#: breaks other than "\n" and byte order marks inside the text.
_FAST_EXCLUDED = ("&", "*", "!", "?", "\t", "\r", "\x85", "\u2028", "\u2029", "\ufeff")
#: Characters before a "#" that send a text to the composer above: libyaml takes a comment
#: right after a block scalar header (">-#"), PyYAML does not.
_BEFORE_HASH = frozenset("|>-+0123456789")


def _libyaml_can_take(text: str) -> bool:
    """Whether libyaml composes ``text`` as the composer above does (a cheap check)."""
    if len(text) > _FAST_MAX_CHARS or text.startswith("%") or "\n%" in text:
        return False  # long, or a directive (%YAML, %TAG)
    if not text.endswith("\n"):
        return False  # libyaml puts an empty value at the very end on the next line
    for char in _FAST_EXCLUDED:
        if char in text:
            return False
    at = text.find("#", 1)
    while at > 0:
        if text[at - 1] in _BEFORE_HASH:
            return False
        at = text.find("#", at + 1)
    indicators = text.count("[") + text.count("{") + text.count("- ")
    return indicators <= _FAST_MAX_INDICATORS


if _USE_LIBYAML:
    from yaml.cyaml import CParser

    _RESOLVER = _PlainComposer("")  # resolves tags exactly as the composer above does
    _SCALAR_TAG = _RESOLVER.DEFAULT_SCALAR_TAG
    _COLLECTION_TAGS = {yaml.SequenceNode: _RESOLVER.DEFAULT_SEQUENCE_TAG,
                        yaml.MappingNode: _RESOLVER.DEFAULT_MAPPING_TAG}
    _PLAIN_TAGS: dict[str, str] = {}  # tag of a plain scalar by its text (bounded)

    class _FastComposer(CParser):
        """libyaml's composer with a memo of the tags of plain scalars."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode:
                if not implicit[0]:
                    return _SCALAR_TAG
                tag = _PLAIN_TAGS.get(value)
                if tag is None:
                    tag = _RESOLVER.resolve(kind, value, implicit)
                    if len(_PLAIN_TAGS) < 10_000:
                        _PLAIN_TAGS[value] = tag
                return tag
            return _COLLECTION_TAGS[kind]

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass


def _compose_fast(text: str) -> Any:
    """The node tree of ``text`` from libyaml, or ``_BAD`` when the composer above must
    look at it (a YAML error, nesting deeper than MAX_DEPTH, path resolvers)."""
    if _PlainComposer.yaml_path_resolvers:  # pragma: no cover - nobody adds them
        return _BAD
    parser = None
    try:
        parser = _FastComposer(text)
        root = parser.get_single_node()
    except Exception:  # noqa: BLE001 - the composer above reports it
        return _BAD
    finally:
        if parser is not None:
            parser.dispose()
    if root is None or isinstance(root, yaml.ScalarNode):
        return root
    # Nodes are at depth 1 (the root) and deeper; a node at MAX_DEPTH + 1 is an error.
    stack = [(root, 1)]
    scalar = yaml.ScalarNode
    while stack:
        node, depth = stack.pop()
        if not node.value:
            continue
        if depth >= MAX_DEPTH:
            return _BAD
        depth += 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.__class__ is not scalar:
                    stack.append((key, depth))
                if value.__class__ is not scalar:
                    stack.append((value, depth))
        else:
            for item in node.value:
                if item.__class__ is not scalar:
                    stack.append((item, depth))
    return root


def _compose_plain(display: str, text: str) -> tuple[yaml.Node | None, list[Problem]]:
    loader: _PlainComposer | None = None
    try:
        loader = _PlainComposer(text)  # the reader checks every character here
        root = loader.get_single_node()
        loader.lines.renumber(root)
    except _StructureError as exc:
        return None, [Problem(display, exc.line, exc.message)]
    except yaml.YAMLError as exc:
        return None, [_yaml_error_problem(display, text, exc)]
    except RecursionError:
        return None, [Problem(display, 1, "nesting too deep (check the indentation)")]
    finally:
        if loader is not None:
            loader.dispose()
    problems: list[Problem] = []
    for line, tag in loader.tags:
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        problems.append(Problem(display, line, f"tag {shown}: only plain YAML is allowed "
                                "(remove the tag; quote text instead of tagging it !!str)"))
    for seen, what in ((loader.anchors_seen, "anchor &"), (loader.aliases_seen, "alias *")):
        if seen:
            line, name = seen[0]
            more = f"; {len(seen) - 1} more in this file" if len(seen) > 1 else ""
            problems.append(Problem(display, line, f"{what}{name}: anchors and aliases are not "
                                    f"allowed (write each value out in full{more})"))
    if problems:
        return None, sorted(problems, key=lambda p: p.line or 0)
    return root, []


# --------------------------------------------------------------------------- values


_STR_TAG = "tag:yaml.org,2002:str"


class _Scalar(NamedTuple):
    kind: str  # null, bool, int, float, str, date, oddnumber
    value: Any
    text: str


#: The kind of value of a resolved tag (a tag's last part: null, bool, int, float,
#: timestamp; every other tag is text).
_TAG_KINDS: dict[str, str] = {}


def _tag_kind(tag: str) -> str:
    kind = _TAG_KINDS.get(tag)
    if kind is None:
        kind = "str"
        for suffix, name in ((":null", "null"), (":bool", "bool"), (":int", "int"),
                             (":float", "float"), (":timestamp", "date")):
            if tag.endswith(suffix):
                kind = name
                break
        if len(_TAG_KINDS) < 100:
            _TAG_KINDS[tag] = kind
    return kind


def _scalar(node: yaml.ScalarNode) -> _Scalar:
    text = node.value
    kind = _TAG_KINDS.get(node.tag) or _tag_kind(node.tag)
    if kind == "str":
        return _Scalar("str", text, text)
    if kind == "null":
        return _Scalar("null", None, text)
    if kind == "bool":
        return _Scalar("bool", text.lower() in ("true", "yes", "on"), text)
    if kind == "int":
        if _INT_RE.fullmatch(text):
            # a longer integer is out of every field's range; Decimal compares it exactly
            # (int() refuses more than 4,300 digits)
            return _Scalar("int", int(text) if len(text) <= 30 else Decimal(text), text)
        return _Scalar("oddnumber", None, text)
    if kind == "float":
        if _FLOAT_RE.fullmatch(text) and len(text) <= 60:
            return _Scalar("float", float(text), text)
        if text.lower().lstrip("+-") in (".inf", ".nan"):
            return _Scalar("float", float(text.lower().replace(".", "")), text)
        return _Scalar("oddnumber", None, text)
    return _Scalar("date", None, text)


def _show(text: str, limit: int = 40) -> str:
    """``text`` in double quotes for a message, cut to ``limit`` characters, with every
    character that is not printable written as a YAML escape (``\\e``, ``\\u200b``)."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return '"' + _escaped(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0", "\x1b": "\\e"}


def _escaped(text: str) -> str:
    """Every character of ``text`` that is not printable (controls, format characters,
    surrogates, separators other than the space) as a YAML escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _ESCAPES.get(c) or _escape(c) for c in text)


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


# Text policy (the README's format section): characters refused in any text value, and the
# fields that are one line of text.
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17))
_REFUSED_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
                         "\u2066-\u2069\ud800-\udfff" + _NONCHARACTERS + "]")
#: Characters that show nothing: format characters, fillers and variation selectors.
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
              "\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
              "\U000e0000-\U000e0fff")
_VISIBLE_RE = re.compile(f"[^\\s{_INVISIBLE}]")
_LEADING_INVISIBLE_RE = re.compile(f"[\\s{_INVISIBLE}]*")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_ONE_LINE_FIELDS = frozenset({"label", "arm", "design", "country", "time_origin"})


def _text_ok(text: str, name: str) -> bool:
    """True when ``text`` passes the text policy (the usual case, quickly)."""
    return (_REFUSED_RE.search(text) is None and _VISIBLE_RE.search(text) is not None
            and not (name in _ONE_LINE_FIELDS and ("\n" in text or "\t" in text)))


def _text_problem(text: str, name: str) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) when ``text`` breaks the text policy, else None."""
    bad = _REFUSED_RE.search(text)
    if bad is not None:
        c = bad.group(0)
        n = ord(c)
        at = f"at character {bad.start() + 1}"
        if 0xD800 <= n <= 0xDFFF:
            what = (f"contains a lone surrogate {_escape(c)} {at}, which is not a character "
                    "and cannot be written to any output")
            return what, "remove the escape, or write the character itself"
        if c in "\u2028\u2029":
            return (f"contains the separator {_escape(c)} {at}",
                    "use a plain line break, or remove it")
        if 0x202A <= n <= 0x202E or 0x2066 <= n <= 0x2069:
            what = (f"contains the bidirectional control {_escape(c)} {at}, which reorders "
                    "how the text around it is displayed")
            return what, "remove it"
        if n < 0x20 or 0x7F <= n <= 0x9F:
            return (f"contains the control character {_escaped(c)} {at}",
                    "remove it: control characters are not text and could act on a terminal")
        return f"contains the non-character {_escape(c)} {at}", "remove it"
    if _VISIBLE_RE.search(text) is None:
        what = "has no visible character, only spaces or invisible ones such as \\u200b"
        return what, "write the text, or remove the line"
    if name in _ONE_LINE_FIELDS and ("\n" in text or "\t" in text):
        what = "a line break" if "\n" in text else "a tab"
        return (f"contains {what}, but {name} is one line of text",
                "write it on one line, with spaces")
    return None


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "a value"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _is_placeholder(s: _Scalar) -> bool:
    return s.kind == "str" and _is_placeholder_text(s.value)


def _is_placeholder_text(text: str) -> bool:
    # text.strip().upper().startswith(PLACEHOLDER), without copying long texts, and blind
    # to invisible characters (a zero-width space must not hide a placeholder)
    if text.lstrip()[:_PLACEHOLDER_LENGTH].upper().startswith(sc.PLACEHOLDER):
        return True
    start = _LEADING_INVISIBLE_RE.match(text).end()  # type: ignore[union-attr]
    head = text[start:start + 2 * _PLACEHOLDER_LENGTH]
    if _INVISIBLE_RE.search(head) is not None:
        head = _INVISIBLE_RE.sub("", text[start:start + 64 * _PLACEHOLDER_LENGTH])
    return " ".join(head.split())[:_PLACEHOLDER_LENGTH].upper() == sc.PLACEHOLDER


_PLACEHOLDER_LENGTH = len(sc.PLACEHOLDER)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled


def _matches(pattern: str, value: str) -> bool:
    if _compiled(pattern).search(value) is None:
        return False
    return not (value.endswith("\n") and pattern.endswith("$"))


def _fmt(x: float | Decimal) -> str:
    if isinstance(x, int):
        return str(x)
    if isinstance(x, Decimal):
        text = format(x.normalize(), "f")
        return text
    return f"{x:g}"


def _did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    options = list(candidates)
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _token_suggestion(name: str, value: str) -> str | None:
    """A corrected token for an id, an endpoint or a characteristic name, if one is obvious."""
    if name == "endpoint":
        candidate = re.sub(r"[^A-Z0-9_]+", "_", value.strip().upper()).strip("_")
        pattern = sc.ENDPOINT_PATTERN
    elif name == "id":
        candidate = re.sub(r"[^a-z0-9_-]+", "-", value.strip().lower()).strip("-_")
        pattern = sc.ID_PATTERN
    else:
        candidate = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
        pattern = sc.CHARACTERISTIC_PATTERN
    if candidate and candidate != value and re.fullmatch(pattern.strip("^$"), candidate):
        return candidate
    return None


class _Checker:
    """Collects the problems of one file."""

    def __init__(self, display: str):
        self.display = _escaped(display)
        self.problems: list[Problem] = []

    def add(self, line: int | None, key: str | None, what: str, fix: str | None = None) -> None:
        message = f"{key}: {what}" if key else what
        if fix:
            message = f"{message} ({fix})"
        self.problems.append(Problem(self.display, line, _escaped(message)))

    def missing(self, line: int | None, key: str, spec: sc.FieldSpec) -> None:
        """Report ``key`` as missing when its field is required (else nothing)."""
        if spec.required:
            example = f", e.g. {spec.name}: {spec.example}" if spec.example else ""
            self.add(line, key, "missing", f"add it: {spec.description}{example}")

    # ----------------------------------------------------------------- mappings

    def items(self, node: yaml.MappingNode, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Keys of a mapping with their nodes; duplicate and non-text keys reported."""
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is yaml.ScalarNode and key_node.tag == _STR_TAG:
                key = key_node.value  # the usual case, in short
                if key not in out:
                    out[key] = (key_node, value_node)
                    continue
            where = f"{path}." if path else ""
            if not isinstance(key_node, yaml.ScalarNode):
                self.add(_line(key_node), path or None,
                         f"a key must be a plain word, found {_node_kind(key_node)}",
                         "write key: value")
                continue
            key = str(key_node.value)
            kind = _scalar(key_node).kind
            if kind != "str":
                what = {"bool": "a boolean", "null": "empty", "date": "a date"}.get(
                    kind, "a number")
                self.add(_line(key_node), f"{where}{key}",
                         f"this key is read by YAML as {what}",
                         f'quote it ("{key}": ...) or use a word')
                continue
            if key in out:
                first = _line(out[key][0])
                self.add(_line(key_node), f"{where}{key}",
                         f"duplicate key: also at line {first}",
                         "keep one of them; YAML tools silently keep the last one")
                continue
            out[key] = (key_node, value_node)
        return out

    def unknown_keys(
        self,
        items: dict[str, tuple[yaml.Node, yaml.Node]],
        path: str,
        known: Iterable[str],
        elsewhere: Iterable[str] = (),
        elsewhere_hint: str = "",
    ) -> None:
        if isinstance(known, dict):
            if items.keys() <= known.keys():
                return  # the usual case
        elif isinstance(known, tuple):
            for key in items:
                if key not in known:
                    break
            else:
                return
        known = list(known)
        elsewhere = set(elsewhere)
        for key, (key_node, _value) in items.items():
            if key in known:
                continue
            name = f"{path}.{key}" if path else key
            suggestion = _did_you_mean(key, known)
            if suggestion is not None:
                fix = f"did you mean '{suggestion}'?"
            elif key in elsewhere:
                fix = elsewhere_hint
            else:
                fix = "allowed here: " + ", ".join(known)
            self.add(_line(key_node), name, "unknown key", fix)

    # ----------------------------------------------------------------- typed values

    def typed(self, spec: sc.FieldSpec, node: yaml.Node, key: str) -> Any:
        """The value of ``node`` checked against ``spec`` (``_BAD`` when it fails)."""
        if node.__class__ is yaml.ScalarNode:
            value = _valid_value(spec, node)
            if value is not _NOT_SHORT:
                return value
        line = _line(node)
        what = spec.description
        if not isinstance(node, yaml.ScalarNode):
            self.add(line, key, f"must be {_expected(spec)}, found {_node_kind(node)}",
                     f"{spec.name}: {spec.example}" if spec.example else None)
            return _BAD
        s = _scalar(node)
        if _is_placeholder(s):
            self.add(line, key, f"fill in: {what}", f"replace the {sc.PLACEHOLDER} placeholder"
                     + ("" if spec.required else ", or delete the line"))
            return _BAD
        if s.kind == "null":
            self.add(line, key, "is empty", f"fill in {what}, or remove the line"
                     if not spec.required else f"fill in {what}")
            return _BAD
        if spec.kind == "string":
            return self._string(spec, s, line, key)
        if spec.kind in ("integer", "number"):
            return self._number(spec, s, line, key)
        if spec.kind == "boolean":
            return self._boolean(s, line, key)
        raise AssertionError(spec.kind)  # pragma: no cover - programming error

    def _string(self, spec: sc.FieldSpec, s: _Scalar, line: int, key: str) -> Any:
        if s.kind == "bool":
            self.add(line, key, f"{s.text} is read by YAML as the boolean "
                     f"{'true' if s.value else 'false'}, not as text",
                     f'quote it: {spec.name}: "{s.text}"')
            return _BAD
        if s.kind == "date":
            self.add(line, key, f"{s.text} is read by YAML as a date, not as text",
                     f'quote it: {spec.name}: "{s.text}"')
            return _BAD
        if s.kind != "str":
            self.add(line, key, f"{s.text} is a number, not text",
                     f'quote it: {spec.name}: "{s.text}"')
            return _BAD
        value = str(s.value)
        if spec.enum is not None:
            if value not in spec.enum:
                suggestion = _did_you_mean(value, spec.enum)
                hint = f"did you mean '{suggestion}'? " if suggestion else ""
                self.add(line, key, f"{_show(value)} is not a known value",
                         f"{hint}one of: {', '.join(spec.enum)}")
                return _BAD
            return value
        if not value.strip():
            self.add(line, key, "is empty", f"fill in {spec.description}")
            return _BAD
        problem = _text_problem(value, spec.name)
        if problem is not None:
            self.add(line, key, *problem)
            return _BAD
        if spec.pattern is not None and not _matches(spec.pattern, value):
            suggestion = _token_suggestion(spec.name, value) if spec.name in (
                "id", "endpoint") else None
            fix = (f"write {spec.name}: {suggestion}" if suggestion
                   else spec.pattern_hint or f"must match {spec.pattern}")
            if suggestion and spec.pattern_hint:
                fix = f"{fix}; {spec.pattern_hint}"
            self.add(line, key, f"{_show(value)} is not valid", fix)
            return _BAD
        if spec.max_length is not None and len(value) > spec.max_length:
            self.add(line, key, f"is {len(value)} characters long",
                     f"at most {spec.max_length}")
            return _BAD
        return value

    def _number(self, spec: sc.FieldSpec, s: _Scalar, line: int, key: str) -> Any:
        whole = spec.kind == "integer"
        expected = "a whole number" if whole else "a number"
        if s.kind == "oddnumber":
            self.add(line, key, f"{s.text} is not a plain decimal number",
                     "YAML 1.1 reads 010 as octal 8 and 1:30 as 90; write digits only, "
                     "without leading zeros or separators")
            return _BAD
        if s.kind == "bool":
            self.add(line, key, f"{s.text} is read by YAML as a boolean", f"must be {expected}")
            return _BAD
        if s.kind == "date":
            self.add(line, key, f"{s.text} is read by YAML as a date", f"must be {expected}")
            return _BAD
        if s.kind == "str":
            text = str(s.value)
            if _NUMBER_TEXT_RE.fullmatch(text):
                self.add(line, key, f"{_show(text)} is text, not a number",
                         f"remove the quotes: {spec.name}: {text.strip()}")
            elif "%" in text:
                self.add(line, key, f"{_show(text)} is a percent string", f"must be {expected}"
                         + (f", e.g. {spec.name}: {spec.example}" if spec.example else ""))
            else:
                self.add(line, key, f"{_show(text)} is not a number", f"must be {expected}"
                         + (f", e.g. {spec.name}: {spec.example}" if spec.example else ""))
            return _BAD
        value = s.value
        if isinstance(value, float) and not math.isfinite(value):
            self.add(line, key, f"{s.text} is not a finite number", f"must be {expected}")
            return _BAD
        if whole and isinstance(value, float):
            if value.is_integer():
                self.add(line, key, f"{s.text} is written with a decimal point",
                         f"write the whole number {int(value)}")
            else:
                self.add(line, key, f"{s.text} is not a whole number",
                         "write a whole number")
            return _BAD
        return self._range(spec, value, s.text, line, key)

    def _range(self, spec: sc.FieldSpec, value: float, text: str, line: int, key: str) -> Any:
        low, high = spec.minimum, spec.maximum
        if len(text) > 24:
            text = f"{text[:12]}... ({len(text)} characters)"
        # "between" for a range (a year); a bound far above the minimum is a sanity cap
        # (patients <= 10,000,000) and gets its own message, as the minimum does
        ranged = low is not None and high is not None and high < 1000 * max(1, abs(low))
        if ranged and not low <= value <= high:
            self.add(line, key, f"{text} is out of range", f"must be between {_fmt(low)} "
                     f"and {_fmt(high)}")
            return _BAD
        if low is not None and value < low:
            self.add(line, key, f"{text} is less than {_fmt(low)}",
                     f"must be at least {_fmt(low)}")
            return _BAD
        if spec.exclusive_minimum is not None and not value > spec.exclusive_minimum:
            self.add(line, key, f"{text} is not greater than {_fmt(spec.exclusive_minimum)}",
                     f"must be greater than {_fmt(spec.exclusive_minimum)}")
            return _BAD
        if high is not None and value > high:
            self.add(line, key, f"{text} is greater than {_fmt(high)}",
                     f"must be at most {_fmt(high)}")
            return _BAD
        if spec.exclusive_maximum is not None and not value < spec.exclusive_maximum:
            fix = f"must be less than {_fmt(spec.exclusive_maximum)}"
            if spec.name == "ci_level" and 1 < value < 100:
                fix = f"a fraction: write {_fmt(Decimal(text) / 100)} for {text}%"
            self.add(line, key, f"{text} is not less than {_fmt(spec.exclusive_maximum)}", fix)
            return _BAD
        return value

    def _boolean(self, s: _Scalar, line: int, key: str) -> Any:
        if s.kind == "bool":
            if s.text.lower() in ("true", "false"):
                return bool(s.value)
            self.add(line, key, f"{s.text} is a boolean only in YAML 1.1",
                     f"write {'true' if s.value else 'false'}")
            return _BAD
        if s.kind == "str" and s.value.strip().lower() in ("true", "false", "yes", "no"):
            self.add(line, key, f"{_show(s.value)} is text, not a boolean",
                     "write true or false without quotes")
            return _BAD
        self.add(line, key, f"{s.text} is not a boolean", "write true or false")
        return _BAD

    # ----------------------------------------------------------------- proportions

    def proportion(self, node: yaml.Node, key: str,
                   label: str = "") -> tuple[float, str, str] | None:
        """``(fraction, unit, text)``; unit is "fraction" or "percent"."""
        line = _line(node)
        if not isinstance(node, yaml.ScalarNode):
            self.add(line, key, f"{label}must be a fraction or a percent string, found "
                     f"{_node_kind(node)}", 'e.g. 0.59 or "59%"')
            return None
        s = _scalar(node)
        if _is_placeholder(s):
            self.add(line, key, "fill in: the reported proportion",
                     f'e.g. 0.59 or "59%"; replace the {sc.PLACEHOLDER} placeholder')
            return None
        if s.kind in ("int", "float"):
            value = float(s.value)
            if not math.isfinite(value):
                self.add(line, key, f"{label}{s.text} is not a finite number",
                         'write a fraction such as 0.59 or a percent string such as "59%"')
                return None
            if value < 0:
                self.add(line, key, f"{label}{s.text} is negative",
                         "a proportion lies between 0 and 1")
                return None
            if value > 1:
                if value <= 100:
                    frac = _fmt(Decimal(s.text) / 100)
                    self.add(line, key, f"{label}{s.text} is a bare number > 1",
                             f'write {frac} or "{s.text}%"')
                else:
                    self.add(line, key, f"{label}{s.text} is greater than 1",
                             'a proportion is a fraction in [0, 1] or a percent string such as '
                             '"59%"')
                return None
            return value, "fraction", s.text
        if s.kind == "str":
            text = str(s.value)
            match = _PERCENT_RE.fullmatch(text)
            if match:
                percent = Decimal(match.group(1))
                if percent > 100:
                    self.add(line, key, f"{label}{_show(text)} is more than 100%",
                             "a percent string lies between 0% and 100%")
                    return None
                return float(percent / 100), "percent", text
            if _NEGATIVE_PERCENT_RE.fullmatch(text):
                self.add(line, key, f"{label}{_show(text)} is negative",
                         "a percent string lies between 0% and 100%")
                return None
            if _NUMBER_TEXT_RE.fullmatch(text):
                try:
                    number = Decimal(text.strip())
                except InvalidOperation:  # pragma: no cover - the pattern excludes it
                    number = Decimal(-1)
                if 0 <= number <= 1:
                    self.add(line, key, f"{label}{_show(text)} is text, not a number",
                             f"remove the quotes: {text.strip()}")
                    return None
                if 1 < number <= 100:
                    self.add(line, key, f"{label}{_show(text)} has no percent sign",
                             f'write "{text.strip()}%" or {_fmt(number / 100)}')
                    return None
            self.add(line, key, f"{label}{_show(text)} is neither a fraction nor a percent "
                     "string", 'write e.g. 0.59 or "59%"')
            return None
        if s.kind == "null":
            self.add(line, key, f"{label}is empty", 'write e.g. 0.59 or "59%"')
            return None
        kind = {"bool": "a boolean", "date": "a date"}.get(s.kind, "not a plain number")
        self.add(line, key, f"{label}{s.text} is read by YAML as {kind}",
                 'write a fraction such as 0.59 or a percent string such as "59%"')
        return None

    def interval(self, node: yaml.Node, key: str) -> tuple[tuple[float, str, str], ...] | None:
        line = _line(node)
        if isinstance(node, yaml.ScalarNode):
            s = _scalar(node)
            if _is_placeholder(s):
                self.add(line, key, "fill in: the reported interval [low, high]",
                         f"replace the {sc.PLACEHOLDER} placeholder")
            elif s.kind == "null":
                self.add(line, key, "is empty", 'write [low, high], e.g. ["48%", "69%"], '
                         "or remove the line")
            else:
                self.add(line, key, f"must be a list [low, high], found {_show(s.text)}",
                         'write e.g. ci: ["48%", "69%"] or ci: [0.48, 0.69]')
            return None
        if not isinstance(node, yaml.SequenceNode):
            self.add(line, key, "must be a list [low, high], found a mapping",
                     'write e.g. ci: ["48%", "69%"]')
            return None
        if len(node.value) != 2:
            self.add(line, key, f"must have two values [low, high], found {len(node.value)}",
                     'write e.g. ci: ["48%", "69%"]')
            return None
        low = self.proportion(node.value[0], key, "low ")
        high = self.proportion(node.value[1], key, "high ")
        if low is None or high is None:
            return None
        if low[1] != high[1]:
            self.add(line, key, "mixes a fraction and a percent string",
                     "write both as fractions or both as percent strings")
            return None
        if low[0] > high[0]:
            self.add(line, key, f"low {low[2]} is greater than high {high[2]}",
                     "write [low, high]")
            return None
        if low[0] == high[0]:
            self.add(line, key, f"[{low[2]}, {high[2]}] has zero width",
                     "an interval has low < high: check the numbers, or remove ci if the "
                     "source gives none")
            return None
        return low, high


_NOT_SHORT = object()  # _valid_value leaves the value to _Checker.typed
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"


def _valid_value(spec: sc.FieldSpec, node: yaml.ScalarNode) -> Any:
    """What :meth:`_Checker.typed` returns for a scalar that passes every check of
    ``spec``, in short; ``_NOT_SHORT`` for anything else (typed then checks it in full)."""
    tag = node.tag
    kind = spec.kind
    text = node.value
    if kind == "string":
        if tag != _STR_TAG or _is_placeholder_text(text):
            return _NOT_SHORT
        if spec.enum is not None:
            return text if text in spec.enum else _NOT_SHORT
        if not text.strip() or not _text_ok(text, spec.name):
            return _NOT_SHORT
        if spec.pattern is not None and not _matches(spec.pattern, text):
            return _NOT_SHORT
        if spec.max_length is not None and len(text) > spec.max_length:
            return _NOT_SHORT
        return text
    if kind == "integer" or kind == "number":
        value: Any
        if tag == _INT_TAG:
            if not _INT_RE.fullmatch(text) or len(text) > 30:
                return _NOT_SHORT
            value = int(text)
        elif tag == _FLOAT_TAG and kind == "number":
            if not _FLOAT_RE.fullmatch(text) or len(text) > 60:
                return _NOT_SHORT
            value = float(text)
            if not math.isfinite(value):
                return _NOT_SHORT
        else:
            return _NOT_SHORT
        if spec.minimum is not None and value < spec.minimum:
            return _NOT_SHORT
        if spec.maximum is not None and value > spec.maximum:
            return _NOT_SHORT
        if spec.exclusive_minimum is not None and not value > spec.exclusive_minimum:
            return _NOT_SHORT
        if spec.exclusive_maximum is not None and not value < spec.exclusive_maximum:
            return _NOT_SHORT
        return value
    if kind == "boolean" and tag == _BOOL_TAG:
        lowered = text.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return _NOT_SHORT


def _expected(spec: sc.FieldSpec) -> str:
    return {
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
    }.get(spec.kind, spec.kind)


_UNIT_WORDS = {"fraction": "fractions", "percent": "percent strings"}


# --------------------------------------------------------------------------- a study


@dataclass(frozen=True)
class _Marks:
    """Lines used by the checks across files."""

    display: str
    id_line: int
    index_line: int | None


_STUDY_SPECS = {f.name: f for f in sc.STUDY_FIELDS}
_OUTCOME_SPECS = {f.name: f for f in sc.OUTCOME_FIELDS}


def _load_file(path: Path) -> tuple[Study | None, list[Problem], _Marks | None]:
    display = str(path)
    text, problems, data = _read_text(path, display)
    if text is None:
        return None, problems, None
    root, problems = _compose(display, text)
    if problems:
        return None, problems, None
    checker = _Checker(display)
    try:
        study, marks = _study(root, path, checker)
    except RecursionError:
        checker.add(1, None, "nesting too deep (check the indentation)")
        study, marks = None, None
    except Exception as exc:  # noqa: BLE001 - a bug here must not become a traceback
        checker.add(1, None, f"internal error while checking this file: "
                    f"{type(exc).__name__}: {exc}", "please report this as a bug")
        study, marks = None, None
    problems = sorted(checker.problems, key=lambda p: p.line or 0)
    if len(problems) > MAX_PROBLEMS_PER_FILE:
        rest = len(problems) - MAX_PROBLEMS_PER_FILE
        line = problems[MAX_PROBLEMS_PER_FILE].line
        problems = problems[:MAX_PROBLEMS_PER_FILE]
        problems.append(Problem(display, line, f"{rest} more problems not shown "
                                "(fix the ones above first)"))
    if problems or study is None:
        return None, problems, None
    # the hash of the bytes analysed, for the provenance of what is made from the study
    study = dataclasses.replace(study, file_sha256=hashlib.sha256(data).hexdigest(),
                                file_bytes=len(data))
    return study, [], marks


def _study(root: yaml.Node | None, path: Path, ck: _Checker) -> tuple[Study | None, _Marks | None]:
    if root is None:
        ck.add(1, None, "the file is empty or holds only comments",
               f"a study file starts with id: {_stem(path)}; create one with: "
               "metaview new ID")
        return None, None
    if not isinstance(root, yaml.MappingNode):
        found = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        ck.add(_line(root), None, f"the top level must be a mapping of fields "
               f"(id: ..., label: ...), found {found}",
               "see metaview new ID for the layout of a study file")
        return None, None
    items = ck.items(root, "")
    ck.unknown_keys(items, "", _STUDY_SPECS, _OUTCOME_SPECS,
                    "an outcome field: put it under an entry of outcomes:")
    values: dict[str, Any] = {}
    root_line = _line(root)
    for name, spec in _STUDY_SPECS.items():
        if name not in items:
            ck.missing(root_line, name, spec)
            continue
        node = items[name][1]
        if spec.kind == "characteristics":
            values[name] = _characteristics(node, ck)
        elif spec.kind == "outcomes":
            values[name] = _outcomes(node, ck)
        elif spec.kind == "curves":
            from metaview.io.curves import parse_curves

            values[name] = parse_curves(node, path, values.get("patients"), ck)
        else:
            values[name] = ck.typed(spec, node, name)

    study_id = values.get("id")
    stem = _stem(path)
    if isinstance(study_id, str) and study_id != stem:
        ck.add(_line(items["id"][1]), "id", f"{_show(study_id)} does not match the file name "
               f"{path.name}", f"the id equals the file name: set id: {stem} or rename the "
               f"file to {study_id}{path.suffix}")
    if _BAD not in values.values() and not ck.problems:
        _check_against_patients(values, items, ck)
    if _BAD in values.values() or ck.problems:
        return None, None
    index_line = _line(items["index"][1]) if values.get("index") else None
    marks = _Marks(str(path), _line(items["id"][1]), index_line)
    study = Study(
        id=values["id"],
        label=values["label"],
        citation=values["citation"],
        year=values["year"],
        arm=values["arm"],
        patients=values["patients"],
        outcomes=tuple(values["outcomes"]),
        index=bool(values.get("index", False)),
        doi=values.get("doi"),
        pmid=values.get("pmid"),
        url=values.get("url"),
        design=values.get("design"),
        country=values.get("country"),
        characteristics=values.get("characteristics") or {},
        notes=values.get("notes"),
        path=str(path),
        curves=tuple(values.get("curves") or ()),
    )
    return study, marks


def _value_line(node: yaml.Node, name: str) -> int:
    """Line of the value of key ``name`` in a mapping node (the node's own line without it)."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == name:
                return _line(value_node)
    return _line(node)


def _check_against_patients(values: dict[str, Any],
                            items: dict[str, tuple[yaml.Node, yaml.Node]], ck: _Checker) -> None:
    """Counts above the study's ``patients``.

    An outcome's ``total`` (or ``at_risk``) may exceed ``patients`` only when its ``note`` or
    ``derived`` says why (a denominator from another cohort, as a source cohort from which
    the study's patients were drawn); a characteristic ``{count, total}`` describes the
    study's own patients, so its total never does.
    """
    patients = values["patients"]
    fix_outcome = ("an outcome counts the study's patients: check the numbers, or say in note "
                   "or derived which cohort the denominator is")
    entries = items["outcomes"][1].value if "outcomes" in items else []
    for i, (node, outcome) in enumerate(zip(entries, values.get("outcomes") or []), 1):
        if outcome.note or outcome.derived:
            continue
        for name in ("total", "at_risk"):
            size = getattr(outcome, name)
            if size is not None and size > patients:
                ck.add(_value_line(node, name), f"outcomes[{i}].{name}",
                       f"{size} is greater than patients {patients}", fix_outcome)
                break
    chars = items["characteristics"][1] if "characteristics" in items else None
    for name, value in (values.get("characteristics") or {}).items():
        if isinstance(value, dict) and "total" in value and value["total"] > patients:
            node = next(v for k, v in chars.value if k.value == name)
            ck.add(_value_line(node, "total"), f"characteristics.{name}.total",
                   f"{value['total']} is greater than patients {patients}",
                   "a characteristic describes the study's patients: check the numbers")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in STUDY_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _characteristics(node: yaml.Node, ck: _Checker) -> Any:
    key = "characteristics"
    if isinstance(node, yaml.ScalarNode) and _scalar(node).kind == "null":
        ck.add(_line(node), key, "is empty", "add entries such as age_years: {median: 43.5, "
               "min: 27, max: 52}, or remove the line")
        return _BAD
    if not isinstance(node, yaml.MappingNode):
        ck.add(_line(node), key, f"must be a mapping of name: value, found {_node_kind(node)}",
               "e.g. male: {count: 5, total: 10}")
        return _BAD
    out: dict[str, Any] = {}
    bad = False
    for name, (key_node, value_node) in ck.items(node, key).items():
        path = f"{key}.{name}"
        if not _CHARACTERISTIC_NAME_RE.fullmatch(name):
            suggestion = _token_suggestion("characteristic", name)
            fix = f"write {suggestion}" if suggestion else "lower-case letters, digits and _"
            ck.add(_line(key_node), path, "is not a valid characteristic name",
                   f"{fix}; names are lower-case letters, digits and _, starting with a letter")
            bad = True
            continue
        value = _characteristic(value_node, path, ck)
        if value is _BAD:
            bad = True
        else:
            out[name] = value
    return _BAD if bad else out


_CHARACTERISTIC_NAME_RE = re.compile(sc.CHARACTERISTIC_PATTERN.strip("^$"))
_CHAR_NUMBER = sc.FieldSpec("value", "number", "a number, a text, {median, min, max} or "
                            "{count, total}", minimum=-sc.MAX_CHARACTERISTIC,
                            maximum=sc.MAX_CHARACTERISTIC)
_RANGE_SPECS = {name: sc.FieldSpec(name, "number", f"the {name}",
                                   minimum=-sc.MAX_CHARACTERISTIC, maximum=sc.MAX_CHARACTERISTIC)
                for name in sc.RANGE_KEYS}
_CHAR_HINT = "a number, a text, {median: 43.5, min: 27, max: 52} or {count: 5, total: 10}"


def _characteristic(node: yaml.Node, path: str, ck: _Checker) -> Any:
    line = _line(node)
    if isinstance(node, yaml.SequenceNode):
        ck.add(line, path, "must be " + _CHAR_HINT + ", found a list")
        return _BAD
    if isinstance(node, yaml.ScalarNode):
        s = _scalar(node)
        if _is_placeholder(s):
            ck.add(line, path, "fill in: " + _CHAR_HINT,
                   f"replace the {sc.PLACEHOLDER} placeholder")
            return _BAD
        if s.kind == "str":
            if not s.value.strip():
                ck.add(line, path, "is empty", "give " + _CHAR_HINT + ", or remove the line")
                return _BAD
            problem = _text_problem(s.value, "")
            if problem is not None:
                ck.add(line, path, *problem)
                return _BAD
            return s.value
        if s.kind == "null":
            ck.add(line, path, "is empty", "give " + _CHAR_HINT + ", or remove the line")
            return _BAD
        if s.kind in ("bool", "date"):
            what = "a boolean" if s.kind == "bool" else "a date"
            ck.add(line, path, f"{s.text} is read by YAML as {what}",
                   f'quote it if it is text: "{s.text}"')
            return _BAD
        return ck.typed(_CHAR_NUMBER, node, path)
    items = ck.items(node, path)
    keys = set(items)
    if keys & set(sc.COUNT_KEYS):
        allowed: tuple[str, ...] = sc.COUNT_KEYS
        required: tuple[str, ...] = sc.COUNT_KEYS
    elif "median" in keys or keys & set(sc.RANGE_KEYS):
        allowed = sc.RANGE_KEYS
        required = ("median",)
    else:
        ck.unknown_keys(items, path, sc.RANGE_KEYS + sc.COUNT_KEYS)
        ck.add(line, path, "must be {median, min, max} or {count, total}",
               "e.g. {median: 43.5, min: 27, max: 52} or {count: 5, total: 10}")
        return _BAD
    before = len(ck.problems)
    ck.unknown_keys(items, path, allowed)
    for name in required:
        if name not in items:
            ck.add(line, f"{path}.{name}", "missing",
                   "{count, total} needs both" if allowed == sc.COUNT_KEYS
                   else "{median, min, max} needs at least the median")
    values: dict[str, Any] = {}
    for name in allowed:
        if name in items:
            if allowed == sc.COUNT_KEYS:
                spec = _OUTCOME_SPECS[name]
            else:
                spec = _RANGE_SPECS[name]
            values[name] = ck.typed(spec, items[name][1], f"{path}.{name}")
    if len(ck.problems) > before or _BAD in values.values():
        return _BAD
    if allowed == sc.COUNT_KEYS:
        if values["count"] > values["total"]:
            ck.add(_line(items["count"][1]), f"{path}.count",
                   f"{values['count']} is greater than total {values['total']}",
                   "count is the number among total")
            return _BAD
    else:
        low, mid, high = values.get("min"), values["median"], values.get("max")
        if (low is not None and low > mid) or (high is not None and mid > high) or (
                low is not None and high is not None and low > high):
            ck.add(line, path, "needs min <= median <= max",
                   f"found min {_fmt(low) if low is not None else '-'}, median {_fmt(mid)}, "
                   f"max {_fmt(high) if high is not None else '-'}")
            return _BAD
    return {name: values[name] for name in allowed if name in values}


def _outcomes(node: yaml.Node, ck: _Checker) -> Any:
    if isinstance(node, yaml.ScalarNode) and _scalar(node).kind == "null":
        ck.add(_line(node), "outcomes", "is empty",
               "write outcomes: [] when the study reports none, or add entries")
        return _BAD
    if not isinstance(node, yaml.SequenceNode):
        ck.add(_line(node), "outcomes", f"must be a list of entries, found {_node_kind(node)}",
               "start each entry with '- endpoint: ...'")
        return _BAD
    out: list[Outcome] = []
    # per (endpoint, time origin): the landmarks seen, sorted, with (entry, line)
    seen: dict[tuple[str, str | None], list[tuple[float, int, int]]] = {}
    bad = False
    for i, item in enumerate(node.value, 1):
        path = f"outcomes[{i}]"
        if not isinstance(item, yaml.MappingNode):
            ck.add(_line(item), path, f"must be a mapping of fields, found {_node_kind(item)}",
                   "an entry looks like '- endpoint: OS' followed by its fields")
            bad = True
            continue
        outcome = _outcome(item, path, ck)
        if outcome is None:
            bad = True
            continue
        earlier = _same_landmark_entry(seen, outcome, i)
        if earlier is not None:
            j, line, time = earlier
            at = "" if outcome.time_months is None else f" at {_fmt(outcome.time_months)} months"
            same = "" if time is None or time == outcome.time_months else (
                f" (landmarks within {LANDMARK_TOLERANCE:g} months are one landmark: "
                f"{_fmt(time)} there)")
            ck.add(outcome.line, path, f"{outcome.endpoint}{at} is already given in "
                   f"outcomes[{j}] at line {line}{same}",
                   "one entry per endpoint, time and time origin; remove one")
            bad = True
            continue
        out.append(outcome)
    return _BAD if bad else out


def _same_landmark_entry(seen: dict[tuple[str, str | None], list[tuple[float, int, int]]],
                         outcome: Outcome, i: int) -> tuple[int, int, float | None] | None:
    """The earlier entry (number, line, landmark) with the same endpoint, time origin and
    landmark (:func:`metaview.model.same_landmark`) as ``outcome``; else None, and
    ``outcome`` is recorded as entry ``i``. Sorted landmarks make each look-up O(log n)."""
    times = seen.setdefault((outcome.endpoint, outcome.time_origin), [])
    t = -math.inf if outcome.time_months is None else float(outcome.time_months)
    at = bisect.bisect_left(times, (t,))
    for neighbour in times[max(at - 1, 0):at + 1]:
        other = neighbour[0]
        if (other == t == -math.inf) or (math.isfinite(other) and math.isfinite(t)
                                         and same_landmark(other, t)):
            return neighbour[1], neighbour[2], None if other == -math.inf else other
    bisect.insort(times, (t, i, outcome.line or 0))
    return None


def _outcome(node: yaml.MappingNode, path: str, ck: _Checker) -> Outcome | None:
    before = len(ck.problems)
    items = ck.items(node, path)
    ck.unknown_keys(items, path, _OUTCOME_SPECS, _STUDY_SPECS,
                    "a top-level field: move it out of outcomes")
    line = _line(node)
    values: dict[str, Any] = {}
    for name, spec in _OUTCOME_SPECS.items():
        if name not in items:
            ck.missing(line, f"{path}.{name}", spec)
            continue
        value_node = items[name][1]
        if spec.kind == "proportion":
            values[name] = ck.proportion(value_node, f"{path}.{name}") or _BAD
        elif spec.kind == "interval":
            values[name] = ck.interval(value_node, f"{path}.{name}") or _BAD
        else:
            values[name] = ck.typed(spec, value_node, f"{path}.{name}")

    def at(name: str) -> int:
        return _line(items[name][1])

    has_count, has_estimate = "count" in items, "estimate" in items
    if has_count and has_estimate:
        ck.add(at("estimate"), f"{path}.estimate", "given together with count",
               "keep one data form: count and total, or estimate with an optional total")
    elif not has_count and not has_estimate:
        ck.add(line, path, "has no data: neither count nor estimate",
               'give count and total, or estimate, e.g. estimate: "59%"')
    if has_count and "total" not in items:
        ck.add(at("count"), f"{path}.total", "missing", "count needs total: the proportion "
               "is count/total")

    def ok(name: str) -> bool:
        return name in values and values[name] is not _BAD

    if ok("count") and ok("total") and values["count"] > values["total"]:
        ck.add(at("count"), f"{path}.count", f"{values['count']} is greater than total "
               f"{values['total']}", "count is the number with the outcome among total")
    if ok("at_risk") and ok("total") and values["at_risk"] > values["total"]:
        ck.add(at("at_risk"), f"{path}.at_risk", f"{values['at_risk']} is greater than total "
               f"{values['total']}", "at most total patients can be at risk")
    if "at_risk" in items and "time_months" not in items:
        ck.add(at("at_risk"), f"{path}.at_risk", "given without time_months",
               "the number at risk belongs to a landmark: add time_months or remove at_risk")
    for name in ("ci_level", "ci_method"):
        if name in items and "ci" not in items:
            ck.add(at(name), f"{path}.{name}", "given without ci",
                   f"add the reported interval ci: [low, high] or remove {name}")

    estimate = values.get("estimate") if ok("estimate") else None
    ci = values.get("ci") if ok("ci") else None
    if ci is not None:
        low, high = ci
        if estimate is not None and estimate[1] != low[1]:
            ck.add(at("ci"), f"{path}.ci", f"is in {_UNIT_WORDS[low[1]]} but estimate "
                   f"{estimate[2]} is a {'percent string' if estimate[1] == 'percent' else 'fraction'}",
                   "write estimate and ci in the same units")
        else:
            shown: str | None = None
            value: float | None = None
            if estimate is not None:
                value, shown = estimate[0], estimate[2]
            elif ok("count") and ok("total") and values["count"] <= values["total"]:
                value = values["count"] / values["total"]
                shown = f"{values['count']}/{values['total']}"
            if value is not None and not (low[0] - 1e-12 <= value <= high[0] + 1e-12):
                ck.add(at("ci"), f"{path}.ci", f"[{low[2]}, {high[2]}] does not contain the "
                       f"estimate {shown}", "check the numbers: low <= estimate <= high")

    if len(ck.problems) > before or _BAD in values.values():
        return None
    return Outcome(
        endpoint=values["endpoint"],
        source=values["source"],
        time_months=values.get("time_months"),
        time_origin=values.get("time_origin"),
        count=values.get("count"),
        total=values.get("total"),
        estimate=None if estimate is None else estimate[0],
        estimate_text=None if estimate is None else estimate[2],
        ci=None if ci is None else (ci[0][0], ci[1][0]),
        ci_level=float(values.get("ci_level", 0.95)),
        ci_method=values.get("ci_method", "unknown"),
        at_risk=values.get("at_risk"),
        derived=values.get("derived"),
        note=values.get("note"),
        line=line,
    )


# --------------------------------------------------------------------------- across files


def _cross_file_problems(studies: list[Study], marks: list[_Marks]) -> list[Problem]:
    problems: list[Problem] = []
    first_by_id: dict[str, _Marks] = {}
    for study, mark in zip(studies, marks):
        first = first_by_id.get(study.id)
        if first is None:
            first_by_id[study.id] = mark
            continue
        problems.append(Problem(mark.display, mark.id_line,
                                f"id: {_show(study.id)} is also the id of "
                                f"{first.display}:{first.id_line} (ids must be unique; "
                                "analyse one of the two files, or rename one)"))
    index_marks = [m for m in marks if m.index_line is not None]
    for mark in index_marks[1:]:
        first = index_marks[0]
        problems.append(Problem(mark.display, mark.index_line,
                                f"index: true here and in {first.display}:{first.index_line} "
                                "(at most one index study per analysis; set index: false in "
                                "all but one)"))
    return problems
