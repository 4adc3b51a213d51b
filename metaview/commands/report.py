"""`metaview report PATH... -o DIR`: HTML + Markdown + CSV + figures, written atomically."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from metaview.commands._common import index_study, load, options_from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="folder to write the report into (created when missing; files the "
                        "report does not write are left alone)")
    p.add_argument("--index", metavar="ID",
                   help="the cohort to compare (default: the study marked index: true)")
    p.add_argument("--timestamp", action="store_true",
                   help="print the date and time in the report (off: re-runs give "
                        "byte-identical files)")


def run(args: argparse.Namespace) -> int:
    from metaview.io import find_study_files
    from metaview.report import build_report, write_report

    options = options_from_args(args)
    studies = load(args.paths)
    index_id = index_study(studies, args.index)
    report = build_report(
        studies, options, index_id=index_id, inputs=find_study_files(args.paths),
        timestamp=datetime.now(UTC) if args.timestamp else None,
    )
    written = write_report(report, args.output)
    print(f"wrote {len(written)} files to {args.output} (open {args.output.rstrip('/')}"
          "/index.html)", file=sys.stderr)
    return 0
