"""`metaview validate PATH...`: check study files and report every problem."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")


def run(args: argparse.Namespace) -> int:
    """Print one line on stdout when every file is valid; otherwise raise.

    The problems of every file are raised together as one ``StudyFileError``; the command
    line prints them on stderr, one line each, and exits with code 2.
    """
    from metaview.io import load_studies

    studies = load_studies(args.paths)
    n = len(studies)
    print(f"{n} study file{'' if n == 1 else 's'} valid ({', '.join(args.paths)})")
    return 0
