"""`metaview report PATH... -o DIR`: HTML + Markdown + CSV + figures, written atomically."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from metaview.commands._common import index_study, load, options_from_args
from metaview.errors import OutputError, UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder to write the report into (created when missing; files the "
                        "report does not write are left alone)")
    p.add_argument("--index", metavar="ID",
                   help="the cohort to compare (default: the study marked index: true)")
    p.add_argument("--force", action="store_true",
                   help="replace files in DIR even when DIR does not hold an earlier "
                        "metaview report")
    p.add_argument("--timestamp", action="store_true",
                   help="print the date and time in the report (off: re-runs give "
                        "byte-identical files)")


def run(args: argparse.Namespace) -> int:
    from metaview.report import build_report
    from metaview.report.writer import write_files

    options = options_from_args(args)
    studies = load(args.paths)
    index_id = index_study(studies, args.index)
    report = build_report(
        studies, options, index_id=index_id,
        timestamp=datetime.now(UTC) if args.timestamp else None,
    )
    from metaview.report import report_files

    files = report_files(report)
    if not args.force:
        _refuse_foreign_files(Path(args.output), files)
    written = write_files(files, args.output)
    print(f"wrote {len(written)} files to {args.output} (open {args.output.rstrip('/')}"
          "/index.html)", file=sys.stderr)
    return 0


def _refuse_foreign_files(folder: Path, files: Mapping[str, bytes]) -> None:
    """Replacing an earlier metaview report is expected; replacing anything else is not."""
    try:
        clashes = sorted(name for name in files if (folder / name).exists())
    except OSError as exc:  # e.g. a name too long for the file system
        raise OutputError(f"-o {folder}: cannot use this folder ({exc.strerror or exc})") from None
    if not clashes:
        return
    try:
        head = (folder / "index.html").read_bytes()[:2000]
    except OSError:
        head = b""
    if b'<meta name="generator" content="metaview' in head:
        return
    shown = ", ".join(clashes[:3]) + (" ..." if len(clashes) > 3 else "")
    raise UsageError(f"-o {folder}: holds files that are not an earlier metaview report "
                     f"({shown}); choose another folder or use --force to replace them")
