"""Reading study files: every file found, composed, checked and built, every problem at once.

The entry points (:func:`load_studies`, :func:`load_study`, :func:`find_study_files`,
:func:`outcomes_frame`) live here; the steps each have their module:

* :mod:`metaview.io.files` finds the files and reads their bytes;
* :mod:`metaview.io.plainyaml` composes plain YAML into a node tree with line numbers;
* :mod:`metaview.io.checks` checks the values against :mod:`metaview.io.schema`;
* :mod:`metaview.io.build` builds the :class:`~metaview.model.Study` and checks what
  spans keys or files.

Every problem of every file is collected and raised at once as one
:class:`~metaview.errors.StudyFileError`. Nothing else escapes, whatever the input.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metaview.errors import Problem, StudyFileError
from metaview.io import schema as sc
from metaview.io.build import _cross_file_problems, _Marks, _study
from metaview.io.checks import _BAD as _BAD
from metaview.io.checks import _FLOAT_RE as _FLOAT_RE
from metaview.io.checks import _PERCENT_RE as _PERCENT_RE
from metaview.io.checks import _Checker
from metaview.io.checks import _fmt as _fmt
from metaview.io.checks import _line as _line
from metaview.io.checks import _node_kind as _node_kind
from metaview.io.checks import _scalar as _scalar
from metaview.io.checks import _show as _show
from metaview.io.files import MAX_BYTES as MAX_BYTES
from metaview.io.files import STUDY_SUFFIXES as STUDY_SUFFIXES
from metaview.io.files import NotRegularFile as NotRegularFile
from metaview.io.files import PathArg, _as_list, _find, _read_text
from metaview.io.files import _stat_problem as _stat_problem
from metaview.io.files import read_study_bytes as read_study_bytes
from metaview.io.plainyaml import MAX_DEPTH as MAX_DEPTH
from metaview.io.plainyaml import _compose
from metaview.io.plainyaml import _compose_fast as _compose_fast
from metaview.io.plainyaml import _libyaml_can_take as _libyaml_can_take
from metaview.model import Study

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Problems reported per file before the rest are summarised in one line.
MAX_PROBLEMS_PER_FILE = 100


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


def _load_files(files: list[Path]) -> list[tuple[Study | None, list[Problem], _Marks | None]]:
    """Every file's result, in order, loaded in this process.

    A forked worker loading half of a folder past 4,000 files was tried and removed: it
    gained nothing (in-process ``load_studies`` on 2 cores, minimum of 3 runs of generated
    one-outcome files: 4,000 files 0.72 s with the worker, 0.67 s without; 20,000 files
    5.2 s with, 3.2 s without), while costing a process start and a pickled copy of every
    study.
    """
    with _collector_paused():
        return [_load_file(path) for path in files]


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
