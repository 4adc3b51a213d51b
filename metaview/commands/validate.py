"""`metaview validate`: not implemented yet."""

from __future__ import annotations

import argparse

from metaview.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH")


def run(args: argparse.Namespace) -> int:
    raise UsageError("this command is not available yet")
