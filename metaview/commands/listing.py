"""`metaview list PATH...`: one row per study: id, label, arm, patients, what it reports."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from typing import Any

from metaview.choices import OutputFormat, parse
from metaview.model import Outcome, Study
from metaview.render.format import csv_text

COLUMNS = ("id", "label", "year", "arm", "patients", "index", "reports")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    p.add_argument("--format", default="table", metavar="FORMAT",
                   help="table, json or csv (default: table)")


def reported(outcome: Outcome) -> str:
    """Short token of what an outcome reports: ``OS@12``, or ``ORR`` without a landmark."""
    if outcome.time_months is None:
        return outcome.endpoint
    return f"{outcome.endpoint}@{outcome.time_months:g}"


def study_row(study: Study) -> dict[str, Any]:
    reports: list[str] = []
    for outcome in study.outcomes:
        token = reported(outcome)
        if token not in reports:
            reports.append(token)
    return {
        "id": study.id,
        "label": study.label,
        "year": study.year,
        "arm": study.arm,
        "patients": study.patients,
        "index": study.index,
        "reports": reports,
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain text table with aligned columns; ``*`` marks the index study."""
    cells = [[c for c in COLUMNS]]
    for row in rows:
        cells.append([
            row["id"],
            row["label"],
            str(row["year"]),
            row["arm"],
            str(row["patients"]),
            "*" if row["index"] else "",
            ", ".join(row["reports"]) or "-",
        ])
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    right = {"year", "patients"}
    lines = []
    for line in cells:
        parts = [
            cell.rjust(width) if COLUMNS[i] in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(line, widths))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines) + "\n"


def format_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_text(v) for v in (
            row["id"], row["label"], row["year"], row["arm"], row["patients"],
            "true" if row["index"] else "false", "; ".join(row["reports"]),
        )])
    return buffer.getvalue()


def run(args: argparse.Namespace) -> int:
    from metaview.io import load_studies

    fmt = parse(OutputFormat, args.format, option="--format")
    rows = [study_row(s) for s in load_studies(args.paths)]
    if fmt is OutputFormat.JSON:
        text = json.dumps({"studies": rows}, indent=2, ensure_ascii=False) + "\n"
    elif fmt is OutputFormat.CSV:
        text = format_csv(rows)
    else:
        text = format_table(rows)
    sys.stdout.write(text)
    return 0
