"""Pieces shared by the analysis commands: options from arguments, loading, the index study."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from metaview.errors import UsageError

if TYPE_CHECKING:  # every command module imports this one while the parser is built
    from metaview.engine.analysis import AnalysisOptions
    from metaview.model import Study


def options_from_args(args: argparse.Namespace, **overrides: Any) -> AnalysisOptions:
    """AnalysisOptions from the shared analysis options of the command line."""
    from metaview.engine.analysis import AnalysisOptions

    values: dict[str, Any] = dict(
        endpoints=args.endpoint, time_months=args.time, model=args.model,
        tau2_method=args.tau2, ci_method=args.ci, scale=args.scale, study_ci=args.study_ci,
        level=args.level, group_by=None if args.no_group else (args.group_by or "arm"),
        exclude=tuple(args.exclude or ()), leave_one_out=args.leave_one_out,
        prefer_curves=getattr(args, "prefer_curves", False),
    )
    for name in ("tau_prior", "mu_prior", "likelihood"):
        if getattr(args, name, None) is not None:
            values[name] = getattr(args, name)
    values.update(overrides)
    return AnalysisOptions.create(**values)


def load(paths: Sequence[str]) -> list[Study]:
    from metaview.io import load_studies

    if not paths:
        raise UsageError("give a study file or a folder of them, e.g. studies/")
    return load_studies(paths)


def index_study(studies: Sequence[Study], explicit: str | None) -> str | None:
    """The index study's id: ``--index`` if given (checked), else the one marked ``index: true``."""
    if explicit:
        if explicit not in {s.id for s in studies}:
            raise UsageError(f"--index {explicit}: no study has this id "
                             f"(ids: {', '.join(sorted(s.id for s in studies))})")
        return explicit
    marked = [s.id for s in studies if s.index]
    return marked[0] if marked else None


#: above this many characters of compact JSON the output stays compact: indenting a large
#: document takes Python's slow pure-Python encoder (seconds for 20,000 studies)
INDENT_UP_TO = 2_000_000


def write_json(payload: Any) -> None:
    """The whole document at once, so an error never leaves partial JSON on stdout.

    Indented for reading, unless the document is very large (then compact, same content).
    """
    text = json.dumps(payload, allow_nan=False)
    if len(text) <= INDENT_UP_TO:
        text = json.dumps(payload, indent=2, allow_nan=False)
    sys.stdout.write(text + "\n")


def add_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", default="table", metavar="FORMAT",
                   help="table, json or csv (default: table)")


def load_valid(paths: Sequence[str]) -> list[Study]:
    """The valid study files among ``paths``; the invalid ones are listed on stderr.

    Every problem is printed as an ``error:`` line, then one line saying how many files were
    skipped. Problems with the paths themselves (a missing file or folder) are still raised.

    Raises
    ------
    StudyFileError
        When a path is missing or unreadable, or when no file is valid.
    """
    from metaview.errors import StudyFileError
    from metaview.io import find_study_files, load_studies

    if not paths:
        raise UsageError("give a study file or a folder of them, e.g. studies/")
    files = find_study_files(paths)
    try:
        return load_studies(files)
    except StudyFileError as exc:
        problems = exc.problems
    bad = {p.file for p in problems}
    valid = [f for f in files if str(f) not in bad]
    if not valid:
        raise StudyFileError(list(problems))
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    skipped = len(files) - len(valid)
    print(f"note: skipped {skipped} invalid study file{'' if skipped == 1 else 's'} "
          f"(--skip-invalid); analysing the other {len(valid)}", file=sys.stderr)
    return load_studies(valid)
