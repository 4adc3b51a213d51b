"""`metaview new ID [--dir studies]`: write a commented template for a new study file.

The JSON Schema is written once beside the studies (``study.schema.json``, never replacing
an existing one) and the template's ``yaml-language-server`` line points to it, so the
line keeps working wherever metaview is installed.

The file is written completely or not at all, and never over an existing file: the text
goes to a temporary file in the same folder, which is then hard-linked to its final name
(``link`` fails when the name exists, so a concurrent writer cannot be overwritten either).
Where hard links are not supported, the file is created with ``O_EXCL`` instead.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib import resources
from pathlib import Path

from metaview.atomic import raw_atomic_write
from metaview.errors import OutputError, UsageError
from metaview.io.schema import ID_MAX_LENGTH, ID_PATTERN
from metaview.io.template import render_template


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("id", metavar="ID",
                   help="the new study's id, e.g. smith2024 (the file is DIR/ID.yaml)")
    p.add_argument("--dir", default="studies", metavar="DIR",
                   help="folder of the study files (default: studies)")


def check_id(study_id: str) -> None:
    """Raise ``UsageError`` unless ``study_id`` is a valid study id."""
    if "/" in study_id or "\\" in study_id or study_id in (".", "..") or "\0" in study_id:
        raise UsageError(f"'{study_id}' is not a valid study id: an id is a file name, "
                         "not a path (use --dir to choose the folder)")
    if len(study_id) > ID_MAX_LENGTH:
        raise UsageError(f"'{study_id[:20]}...' is not a valid study id: at most "
                         f"{ID_MAX_LENGTH} characters")
    if not re.fullmatch(ID_PATTERN.strip("^$"), study_id):
        hint = ""
        lowered = re.sub(r"[^a-z0-9_-]+", "-", study_id.lower()).strip("-_")
        if lowered and re.fullmatch(ID_PATTERN.strip("^$"), lowered):
            hint = f"; e.g. {lowered}"
        raise UsageError(f"'{study_id}' is not a valid study id: lower-case letters, digits, "
                         f"'-' and '_', starting with a letter or digit{hint}")


def schema_reference(folder: Path) -> str:
    """Where the shipped JSON Schema is, for the ``yaml-language-server`` line.

    Relative to ``folder`` when the installed schema lies under the working directory (an
    editable install, or a virtual environment inside the project); otherwise a file URI.
    """
    shipped = Path(str(resources.files("metaview.io").joinpath("study.schema.json"))).resolve()
    if shipped.is_relative_to(Path.cwd().resolve()):
        try:
            return Path(os.path.relpath(shipped, folder.resolve())).as_posix()
        except ValueError:  # pragma: no cover - another drive on Windows
            pass
    return shipped.as_uri()


#: The JSON Schema written beside the study files, which their first line points to.
SCHEMA_FILE = "study.schema.json"


def schema_beside(folder: Path) -> tuple[str | None, str | None]:
    """What ``folder`` needs for the schema line: ``(schema text to write, note)``.

    The text is None when ``folder/study.schema.json`` already exists; it is never
    replaced. The note (for stderr) says when that file differs from this version's schema.
    """
    from metaview.io.schema import schema_text

    text = schema_text()
    path = folder / SCHEMA_FILE
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return text, None
    except (OSError, UnicodeDecodeError):
        existing = None
    if existing == text:
        return None, None
    return None, (f"{path} differs from the schema of this metaview version; not replaced "
                  f"(update it with: metaview schema > {path})")


def write_schema_beside(folder: Path) -> str | None:
    """Write ``folder/study.schema.json`` unless it exists; return a note when the existing
    file differs from this version's schema."""
    text, note = schema_beside(folder)
    if text is not None:
        try:
            write_new(folder / SCHEMA_FILE, text)
        except FileExistsError:  # written meanwhile by someone else: keep theirs
            return schema_beside(folder)[1]
        except OSError as exc:
            raise OutputError(f"{folder / SCHEMA_FILE}: cannot write: {exc.strerror or exc} "
                              "(check that the folder is writable)") from None
    return note


def _existing(folder: Path, study_id: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        candidate = folder / f"{study_id}{suffix}"
        if os.path.lexists(candidate):
            return candidate
    return None


def write_new(path: Path, text: str) -> None:
    """Create ``path`` with ``text``: complete or not at all, never over an existing file
    (``FileExistsError`` then); see :func:`metaview.atomic.raw_atomic_write`."""
    with raw_atomic_write(path, overwrite=False, mode=0o644) as handle:
        handle.write(text.encode("utf-8"))


def run(args: argparse.Namespace) -> int:
    study_id: str = args.id
    check_id(study_id)
    folder = Path(args.dir)
    if not folder.exists():
        try:
            folder.mkdir()
        except FileNotFoundError:
            raise OutputError(f"{folder}: its parent folder does not exist (create it, or "
                              "choose another --dir)") from None
        except OSError as exc:
            raise OutputError(f"{folder}: cannot create the folder: "
                              f"{exc.strerror or exc}") from None
    elif not folder.is_dir():
        raise OutputError(f"{folder}: is not a folder (choose another --dir)")
    existing = _existing(folder, study_id)
    if existing is not None:
        raise OutputError(f"{existing}: already exists; not overwritten (choose another id, "
                          "or edit the existing file)")
    path = folder / f"{study_id}.yaml"
    note = write_schema_beside(folder)
    if note:
        print(f"note: {note}", file=sys.stderr)
    text = render_template(study_id, schema_ref=SCHEMA_FILE, path=str(path))
    try:
        write_new(path, text)
    except FileExistsError:
        raise OutputError(f"{path}: already exists; not overwritten (choose another id, "
                          "or edit the existing file)") from None
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc} (check that the "
                          "folder is writable)") from None
    print(f"wrote {path}: replace each FILL IN, then run: metaview validate {path}")
    return 0
