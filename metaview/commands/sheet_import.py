"""`metaview import SHEET [--dir studies]`: study files from an extraction sheet.

Every study of the sheet becomes ``DIR/<id>.yaml``. The files are checked with the loader
before anything is written; any problem (each named by its cell) means nothing is written.
Existing files are never replaced without ``--force``; the files are written all or nothing,
with the JSON Schema beside them (``study.schema.json``, never replaced) for editors.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from metaview.errors import OutputError, Problem, StudyFileError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sheet", metavar="SHEET",
                   help="the extraction sheet: .csv, .tsv or .xlsx, one row per outcome")
    p.add_argument("--dir", default="studies", metavar="DIR",
                   help="folder to write the study files into (default: studies)")
    p.add_argument("--force", action="store_true",
                   help="replace study files that already exist")


def run(args: argparse.Namespace) -> int:
    from metaview.commands.new import SCHEMA_FILE, schema_beside
    from metaview.io.sheets import check_study_texts, sheet_to_study_texts
    from metaview.report.writer import write_files

    folder = Path(args.dir)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: is not a folder (choose another --dir)")
    notices: list[str] = []
    texts = sheet_to_study_texts(args.sheet, schema_ref=SCHEMA_FILE, notices=notices)
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)
    check_study_texts(texts, args.sheet)
    problems = []
    for st in texts:
        for suffix, replaceable in ((".yaml", True), (".yml", False)):
            path = folder / f"{st.id}{suffix}"
            if not os.path.lexists(path):
                continue
            if not replaceable:
                problems.append(Problem(str(path), None, f"already holds study {st.id}; not "
                                        f"replaced (remove or rename it to {st.id}.yaml)"))
            elif not args.force:
                problems.append(Problem(str(path), None, "already exists; not overwritten "
                                        "(use --force to replace it)"))
    if problems:
        raise StudyFileError(problems)
    files = {f"{st.id}.yaml": st.text.encode("utf-8") for st in texts}
    schema, note = schema_beside(folder)
    if schema is not None:
        files[SCHEMA_FILE] = schema.encode("utf-8")
    if note:
        print(f"note: {note}", file=sys.stderr)
    try:
        write_files(files, folder)
    except OutputError as exc:
        raise OutputError(f"{exc} (no study file was written)") from None
    n = len(texts)
    schema_note = f" and {SCHEMA_FILE}" if schema is not None else ""
    print(f"wrote {n} study file{'' if n == 1 else 's'}{schema_note} to {folder} from "
          f"{args.sheet}; check them with: metaview validate {folder}")
    return 0
