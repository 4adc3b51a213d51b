"""`metaview schema`: print the study file JSON Schema."""

from __future__ import annotations

import argparse
import sys

from metaview.io.schema import schema_text


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = ("Save it for an editor: metaview schema > study.schema.json, then start a "
                "study file with: # yaml-language-server: $schema=study.schema.json")


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0
