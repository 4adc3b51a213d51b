"""`metaview validate PATH...`: check study files and report every problem."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    p.add_argument("--strict", action="store_true",
                   help="exit with code 2 when there are warnings (e.g. an endpoint that "
                        "looks mistyped)")


def run(args: argparse.Namespace) -> int:
    """Print one line on stdout when every file is valid; otherwise raise.

    The problems of every file are raised together as one ``StudyFileError``; the command
    line prints them on stderr, one line each, and exits with code 2. Warnings (endpoints
    that look mistyped) go to stderr too; they make the exit code 2 with ``--strict``.
    """
    import sys

    from metaview.commands._endpoints import endpoint_warnings
    from metaview.io import load_studies

    studies = load_studies(args.paths)
    warnings = endpoint_warnings(studies)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    n = len(studies)
    if warnings and args.strict:
        print(f"error: {len(warnings)} warning{'' if len(warnings) == 1 else 's'} with "
              "--strict (fix the files, or run without --strict)", file=sys.stderr)
        return 2
    caveat = f", {len(warnings)} warning{'' if len(warnings) == 1 else 's'}" if warnings else ""
    print(f"{n} study file{'' if n == 1 else 's'} valid{caveat} ({', '.join(args.paths)})")
    return 0
