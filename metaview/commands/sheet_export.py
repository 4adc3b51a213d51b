"""`metaview export PATH -o FILE`: the outcomes table of study files as .csv, .tsv or .xlsx.

One row per outcome with the study's fields on each row (the supplementary table of a
paper); ``metaview import`` reads it back. An .xlsx also holds the characteristics and the
notes in sheets of their own; a .csv holds the notes in a column and leaves the
characteristics out (and says so).
"""

from __future__ import annotations

import argparse
import sys

from metaview.commands._common import load


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the sheet to write: .csv, .tsv or .xlsx")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def run(args: argparse.Namespace) -> int:
    from metaview.errors import UsageError
    from metaview.io.sheets import SHEET_SUFFIXES, write_sheet

    suffix = args.output.lower().rsplit(".", 1)[-1] if "." in args.output else ""
    if f".{suffix}" not in SHEET_SUFFIXES:
        raise UsageError(f"-o {args.output}: the name must end in {', '.join(SHEET_SUFFIXES)}")
    studies = load(args.paths)
    notices = write_sheet(studies, args.output, overwrite=args.force)
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)
    n = sum(max(1, len(s.outcomes)) for s in studies)
    print(f"wrote {args.output}: {len(studies)} studies, {n} rows")
    return 0
