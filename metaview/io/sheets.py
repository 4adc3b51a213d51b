"""Extraction sheets in and out: study files from a .csv, .tsv or .xlsx table, and back.

A sheet holds one row per outcome, with columns named as the fields of the study format
(``ci`` split into ``ci_low`` and ``ci_high``). A study's own fields (``id``, ``label``,
``citation``, ...) are repeated on each of its rows or filled down: an empty ``id`` continues
the study of the row above, an empty study field takes the value given on an earlier row of
the same study. In an .xlsx workbook the sheet ``Outcomes`` (else the first sheet) holds these
rows; ``Characteristics`` (``id``, ``name`` and ``value`` or ``median``/``min``/``max`` or
``count``/``total``) and ``Notes`` (``id``, ``notes``) are optional sheets of their own.

:func:`sheet_to_study_texts` turns a sheet into the text of one study file per study (plain,
quoted YAML written here; the text is checked by loading it with :mod:`metaview.io.loader`,
the only reader of study files) and says which cell each line came from, so that every
problem is reported with its cell: ``sheet.xlsx:Outcomes!D7: estimate 59 is a bare number > 1
(...)``. :func:`sheet_bytes` and :func:`write_sheet` are the way back.
"""

from __future__ import annotations

import csv
import datetime as _dt
import difflib
import io
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from metaview.atomic import write_bytes
from metaview.errors import Problem, StudyFileError, UsageError
from metaview.io import schema as sc
from metaview.model import Study

#: File name endings read and written.
SHEET_SUFFIXES = (".csv", ".tsv", ".xlsx")
OUTCOMES_SHEET = "Outcomes"
CHARACTERISTICS_SHEET = "Characteristics"
NOTES_SHEET = "Notes"

_STUDY_COLUMNS = tuple(f.name for f in sc.STUDY_FIELDS
                       if f.kind not in ("characteristics", "outcomes", "curves")
                       and f.name != "notes")
_OUTCOME_COLUMNS: tuple[str, ...] = ()
for _f in sc.OUTCOME_FIELDS:
    _OUTCOME_COLUMNS += ("ci_low", "ci_high") if _f.kind == "interval" else (_f.name,)
#: Columns of the outcomes table, in order: the study's fields, then the outcome's.
OUTCOME_TABLE_COLUMNS = _STUDY_COLUMNS + _OUTCOME_COLUMNS
#: Columns that must be present in a sheet.
REQUIRED_COLUMNS = tuple(f.name for f in sc.STUDY_FIELDS if f.required
                         and f.kind != "outcomes") + ("endpoint", "source")
CHARACTERISTIC_COLUMNS = ("id", "name", "value") + sc.RANGE_KEYS + sc.COUNT_KEYS
NOTES_COLUMNS = ("id", "notes")

_KIND = {f.name: f.kind for f in sc.STUDY_FIELDS + sc.OUTCOME_FIELDS}
_KIND.update({"ci_low": "proportion", "ci_high": "proportion"})
_NUMBER_RE = re.compile(r"[-+]?(0|[1-9][0-9]*)(\.[0-9]+)?")
_DECIMAL_RE = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_PLAIN_KEY_RE = re.compile(sc.CHARACTERISTIC_PATTERN.strip("^$"))
_ID_RE = re.compile(sc.ID_PATTERN.strip("^$"))


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Cell:
    """One cell: its value as the sheet holds it and, for .xlsx, its number format."""

    value: Any  # str for .csv/.tsv; str, int, float, bool, datetime or None for .xlsx
    number_format: str = "General"

    @property
    def empty(self) -> bool:
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())


@dataclass
class Table:
    """One sheet: its name (None for .csv/.tsv) and its rows of cells (row 1 first)."""

    name: str | None
    rows: list[list[Cell]]


def column_letter(index: int) -> str:
    """Spreadsheet column name of a 0-based index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@dataclass(frozen=True)
class CellRef:
    """Where a value came from: sheet, row (1-based) and column (0-based; None: the row)."""

    sheet: str | None
    row: int
    column: int | None = None

    def show(self, display: str) -> str:
        sheet = f"{self.sheet}!" if self.sheet else ""
        if self.column is None:
            return f"{display}:{sheet}row {self.row}"
        return f"{display}:{sheet}{column_letter(self.column)}{self.row}"


def read_tables(path: str | os.PathLike[str]) -> list[Table]:
    """Every sheet of a .csv, .tsv or .xlsx file.

    Raises
    ------
    StudyFileError
        When the file cannot be read or is not a table of the kind its name says.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    display = str(p)
    if suffix not in SHEET_SUFFIXES:
        raise UsageError(f"{display}: not a sheet: the name must end in "
                         f"{', '.join(SHEET_SUFFIXES)}")
    if not p.is_file():
        what = "is a folder, not a sheet" if p.is_dir() else "no such file (check the path)"
        raise StudyFileError([Problem(display, None, what)])
    if suffix == ".xlsx":
        return _read_xlsx(p, display)
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        what = f"cannot be read: {exc.strerror or exc}"
        raise StudyFileError([Problem(display, None, what)]) from None
    except UnicodeDecodeError as exc:
        raise StudyFileError([Problem(display, None, f"not valid UTF-8 at byte {exc.start} "
                                      "(save the sheet as CSV UTF-8)")]) from None
    delimiter = "\t" if suffix == ".tsv" else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        what = f"not a valid {suffix[1:]} table: {exc}"
        raise StudyFileError([Problem(display, None, what)]) from None
    return [Table(None, [[Cell(v) for v in row] for row in rows])]


def _read_xlsx(p: Path, display: str) -> list[Table]:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency of metaview
        raise UsageError("reading .xlsx needs openpyxl (pip install openpyxl)") from None
    import zipfile

    try:
        book = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise StudyFileError([Problem(display, None, f"not a readable .xlsx workbook ({exc}) "
                                      "(save it from your spreadsheet as .xlsx)")]) from None
    tables = []
    try:
        for ws in book.worksheets:
            rows = []
            for row in ws.iter_rows():
                rows.append([Cell(c.value, getattr(c, "number_format", None) or "General")
                             for c in row])
            tables.append(Table(ws.title, rows))
    finally:
        book.close()
    return tables


# --------------------------------------------------------------------------- cell text


def _number_text(value: float) -> str:
    """A float as the shortest decimal that reads back as the same float, never 1e-05."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def _percent_decimals(number_format: str) -> int | None:
    """Decimals of a percent number format ('0%' -> 0, '0.0%' -> 1); None if not percent."""
    fmt = number_format.split(";")[0]
    if "%" not in fmt:
        return None
    match = re.search(r"0\.(0+)", fmt)
    return len(match.group(1)) if match else 0


@dataclass(frozen=True)
class _Value:
    """What a cell becomes in YAML: ``plain`` text written as is, or ``text`` quoted."""

    text: str
    plain: bool


def cell_value(cell: Cell, kind: str, integer: bool = False) -> _Value:
    """The YAML value of a non-empty cell for a field of ``kind`` (schema kinds).

    Text is kept as it is; a number in a text field becomes its text; a number-like text in
    a number field becomes the number. Anything else is written as quoted text, for the
    loader to report.
    """
    v = cell.value
    if isinstance(v, bool):
        word = "true" if v else "false"
        return _Value(word, True) if kind == "boolean" else _Value(word.upper(), False)
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        text = v.isoformat()
        if isinstance(v, _dt.datetime) and v.time() == _dt.time(0):
            text = v.date().isoformat()
        return _Value(text, False)
    if isinstance(v, (int, float)):
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e15 and (
                integer or kind == "string"):
            text = str(int(v))
        elif isinstance(v, float):
            text = _number_text(v)
        else:
            text = str(v)
        if kind == "string":
            return _Value(text, False)
        if kind == "proportion":
            decimals = _percent_decimals(cell.number_format)
            if decimals is not None:
                return _Value(f"{Decimal(text) * 100:.{decimals}f}%", False)
        return _Value(text, True)
    text = str(v)
    if kind == "string":
        return _Value(text, False)
    stripped = text.strip()
    if kind == "boolean":
        if stripped.lower() in ("true", "false"):
            return _Value(stripped.lower(), True)
        return _Value(text, False)
    if _NUMBER_RE.fullmatch(stripped):
        return _Value(stripped, True)
    if _DECIMAL_RE.fullmatch(stripped):
        try:
            return _Value(_number_text(float(stripped)), True)
        except ValueError:  # pragma: no cover - the pattern is a float
            pass
    return _Value(text, False)


_YAML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar that reads back as exactly ``text``."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _YAML_ESCAPES:
            out.append(_YAML_ESCAPES[ch])
        elif code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF) or (
                0xD800 <= code <= 0xDFFF) or code in (0xFFFE, 0xFFFF):
            out.append(f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _yaml(value: _Value) -> str:
    return value.text if value.plain else quote(value.text)


# --------------------------------------------------------------------------- reading a sheet


@dataclass
class _Header:
    columns: dict[str, int]  # field name -> 0-based column


@dataclass
class _StudyRows:
    """A study's values gathered from its rows."""

    id: str
    first: CellRef
    fields: dict[str, tuple[Cell, CellRef]] = field(default_factory=dict)
    outcomes: list[tuple[int, dict[str, tuple[Cell, CellRef]]]] = field(default_factory=list)
    characteristics: list[tuple[str, CellRef, dict[str, tuple[Cell, CellRef]]]] = field(
        default_factory=list)
    rows: list[int] = field(default_factory=list)


@dataclass
class StudyText:
    """The text of one study file made from a sheet, with the cell of each line."""

    id: str
    text: str
    line_cells: dict[int, CellRef]
    first: CellRef
    outcome_rows: list[CellRef]
    columns: dict[str | None, dict[str, int]]  # sheet -> field -> column


class _Problems:
    def __init__(self, display: str):
        self.display = display
        self.items: list[tuple[tuple[Any, ...], Problem]] = []

    def add(self, ref: CellRef | None, message: str) -> None:
        where = self.display if ref is None else ref.show(self.display)
        key = (0, "", 0, 0) if ref is None else (
            1, ref.sheet or "", ref.row, -1 if ref.column is None else ref.column)
        self.items.append((key, Problem(where, None, message)))

    def sorted(self) -> list[Problem]:
        return [p for _key, p in sorted(self.items, key=lambda kp: kp[0])]


def _header(table: Table, known: Sequence[str], problems: _Problems,
            required: Sequence[str]) -> _Header | None:
    rows = table.rows
    header = rows[0] if rows else []
    columns: dict[str, int] = {}
    ok = True
    lowered = {k.lower(): k for k in known}
    for j, cell in enumerate(header):
        if cell.empty:
            continue
        raw = str(cell.value).strip()
        name = lowered.get(raw.lower().replace(" ", "_"))
        ref = CellRef(table.name, 1, j)
        if name is None:
            match = difflib.get_close_matches(raw.lower(), list(lowered), n=1, cutoff=0.6)
            fix = (f"did you mean '{lowered[match[0]]}'?" if match else
                   "columns are the fields of a study file: " + ", ".join(known))
            problems.add(ref, f"unknown column {quote(raw)} ({fix})")
            ok = False
            continue
        if name in columns:
            problems.add(ref, f"column {name} is given twice, also in "
                         f"{column_letter(columns[name])}1 (keep one)")
            ok = False
            continue
        columns[name] = j
    if not columns and not any(not c.empty for r in rows for c in r):
        problems.add(None if table.name is None else CellRef(table.name, 1),
                     "the sheet is empty (the first row names the columns: "
                     + ", ".join(required) + ", ...)")
        return None
    missing = [name for name in required if name not in columns]
    for name in missing:
        why = (" (every figure needs its source: section, table or figure, and a short quote)"
               if name == "source" else "")
        problems.add(CellRef(table.name, 1), f"no {name} column{why}; the first row names "
                     "the columns")
    if missing or not ok:
        return None
    return _Header(columns)


def _row_cells(row: list[Cell], header: _Header, sheet: str | None,
               number: int) -> dict[str, tuple[Cell, CellRef]]:
    out = {}
    for name, j in header.columns.items():
        if j < len(row) and not row[j].empty:
            out[name] = (row[j], CellRef(sheet, number, j))
    return out


def _pick_tables(tables: list[Table], display: str,
                 notices: list[str]) -> tuple[Table, Table | None, Table | None]:
    if len(tables) == 1:
        return tables[0], None, None
    by_name = {(t.name or "").strip().lower(): t for t in tables}
    outcomes = by_name.get(OUTCOMES_SHEET.lower(), tables[0])
    characteristics = by_name.get(CHARACTERISTICS_SHEET.lower())
    notes = by_name.get(NOTES_SHEET.lower())
    for t in tables:
        if t is not outcomes and t is not characteristics and t is not notes and any(
                not c.empty for r in t.rows for c in r):
            notices.append(f"{display}: sheet {quote(t.name or '')} is not read (metaview reads "
                           f"{OUTCOMES_SHEET} or the first sheet, {CHARACTERISTICS_SHEET} and "
                           f"{NOTES_SHEET})")
    return outcomes, characteristics, notes


def sheet_to_study_texts(
    path: str | os.PathLike[str],
    schema_ref: str | None = None,
    notices: list[str] | None = None,
) -> list[StudyText]:
    """The text of one study file per study of the sheet at ``path``.

    The texts are not yet checked (:func:`check_study_texts` does that with the loader).
    Problems of the sheet itself (unknown or missing columns, a study field that differs
    between the rows of one study, an id that is not a file name) are raised together.

    Raises
    ------
    StudyFileError
        With one problem per cell, e.g. ``sheet.xlsx:Outcomes!A7: ...``.
    """
    display = str(path)
    tables = read_tables(path)
    notices = [] if notices is None else notices
    problems = _Problems(display)
    outcomes_t, chars_t, notes_t = _pick_tables(tables, display, notices)
    header = _header(outcomes_t, OUTCOME_TABLE_COLUMNS + ("notes",), problems,
                     REQUIRED_COLUMNS)
    if header is None:
        raise StudyFileError(problems.sorted())
    columns: dict[str | None, dict[str, int]] = {outcomes_t.name: header.columns}
    studies: dict[str, _StudyRows] = {}
    current: _StudyRows | None = None
    sheet = outcomes_t.name
    for number, row in enumerate(outcomes_t.rows[1:], 2):
        cells = _row_cells(row, header, sheet, number)
        if not cells:
            continue
        if "id" in cells:
            cell, ref = cells["id"]
            study_id = str(cell_value(cell, "string").text).strip()
            if not _valid_id(study_id, ref, problems):
                current = None
                continue
            current = studies.get(study_id)
            if current is None:
                current = studies[study_id] = _StudyRows(study_id, ref)
        elif current is None:
            problems.add(CellRef(sheet, number, header.columns["id"]),
                         "id is empty and no study is named above (give the study's id on its "
                         "first row; rows below with an empty id belong to the same study)")
            continue
        current.rows.append(number)
        for name in _STUDY_COLUMNS[1:] + ("notes",):
            if name in cells:
                _set_study_field(current, name, cells[name], problems)
        outcome = {k: v for k, v in cells.items() if k in _OUTCOME_COLUMNS}
        if outcome:
            current.outcomes.append((number, outcome))
    if chars_t is not None:
        chars_header = _header(chars_t, CHARACTERISTIC_COLUMNS, problems, ("id", "name"))
        if chars_header is not None:
            columns[chars_t.name] = chars_header.columns
            _read_characteristics(chars_t, chars_header, studies, problems)
    if notes_t is not None:
        notes_header = _header(notes_t, NOTES_COLUMNS, problems, NOTES_COLUMNS)
        if notes_header is not None:
            columns[notes_t.name] = notes_header.columns
            _read_notes(notes_t, notes_header, studies, problems)
    if not studies and not problems.items:
        problems.add(CellRef(sheet, 2), "no study rows below the header row (one row per "
                     "outcome: the study's fields and the outcome's)")
    if problems.items:
        raise StudyFileError(problems.sorted())
    return [_study_text(s, columns, schema_ref, display) for s in studies.values()]


def _valid_id(study_id: str, ref: CellRef, problems: _Problems) -> bool:
    if len(study_id) <= sc.ID_MAX_LENGTH and _ID_RE.fullmatch(study_id):
        return True
    suggestion = re.sub(r"[^a-z0-9_-]+", "-", study_id.lower()).strip("-_")
    hint = (f"e.g. {suggestion}; " if suggestion and _ID_RE.fullmatch(suggestion)
            and len(suggestion) <= sc.ID_MAX_LENGTH else "")
    problems.add(ref, f"id {quote(study_id[:40])} is not a valid id ({hint}lower-case letters, "
                 f"digits, '-' and '_', starting with a letter or digit, at most "
                 f"{sc.ID_MAX_LENGTH} characters: it becomes the file name)")
    return False


def _same(a: Cell, b: Cell, name: str) -> bool:
    kind = "string" if name == "notes" else _KIND[name]
    integer = kind == "integer"
    return cell_value(a, kind, integer) == cell_value(b, kind, integer)


def _set_study_field(study: _StudyRows, name: str, given: tuple[Cell, CellRef],
                     problems: _Problems) -> None:
    cell, ref = given
    earlier = study.fields.get(name)
    if earlier is None:
        study.fields[name] = given
        return
    if not _same(earlier[0], cell, name):
        first = earlier[1]
        where = f"{first.sheet}!" if first.sheet and first.sheet != ref.sheet else ""
        problems.add(ref, f"{name} differs from {where}{column_letter(first.column or 0)}"
                     f"{first.row} of the same study {study.id} (a study's fields are the same "
                     "on each of its rows: correct one, or leave them empty below the first)")


def _read_characteristics(table: Table, header: _Header, studies: dict[str, _StudyRows],
                          problems: _Problems) -> None:
    seen: dict[tuple[str, str], CellRef] = {}
    current: str | None = None
    for number, row in enumerate(table.rows[1:], 2):
        cells = _row_cells(row, header, table.name, number)
        if not cells:
            continue
        if "id" in cells:
            current = str(cell_value(cells["id"][0], "string").text).strip()
            id_ref = cells["id"][1]
        elif current is None:
            problems.add(CellRef(table.name, number, header.columns["id"]),
                         "id is empty and no study is named above (give the study's id)")
            continue
        else:
            id_ref = CellRef(table.name, number, header.columns["id"])
        if current not in studies:
            problems.add(id_ref, f"study {quote(current)} is not in the "
                         f"{OUTCOMES_SHEET} sheet (add its rows there, or correct the id)")
            continue
        if "name" not in cells:
            problems.add(CellRef(table.name, number, header.columns["name"]),
                         "name is empty (the characteristic's name, e.g. age_years)")
            continue
        name_cell, name_ref = cells["name"]
        name = str(cell_value(name_cell, "string").text).strip()
        if (current, name) in seen:
            first = seen[(current, name)]
            problems.add(name_ref, f"characteristic {name} of {current} is given twice, also "
                         f"in row {first.row} (keep one)")
            continue
        seen[(current, name)] = name_ref
        values = {k: v for k, v in cells.items() if k not in ("id", "name")}
        if not values:
            problems.add(name_ref, f"characteristic {name} has no value (fill in value, "
                         "median/min/max or count/total)")
            continue
        studies[current].characteristics.append((name, name_ref, values))


def _read_notes(table: Table, header: _Header, studies: dict[str, _StudyRows],
                problems: _Problems) -> None:
    for number, row in enumerate(table.rows[1:], 2):
        cells = _row_cells(row, header, table.name, number)
        if not cells:
            continue
        if "id" not in cells:
            problems.add(CellRef(table.name, number, header.columns["id"]),
                         "id is empty (name the study whose notes these are)")
            continue
        study_id = str(cell_value(cells["id"][0], "string").text).strip()
        study = studies.get(study_id)
        if study is None:
            problems.add(cells["id"][1], f"study {quote(study_id)} is not in the "
                         f"{OUTCOMES_SHEET} sheet (add its rows there, or correct the id)")
            continue
        if "notes" in cells:
            _set_study_field(study, "notes", cells["notes"], problems)


# --------------------------------------------------------------------------- writing YAML


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.cells: dict[int, CellRef] = {}

    def add(self, text: str, ref: CellRef | None = None) -> None:
        self.lines.append(text)
        if ref is not None:
            self.cells[len(self.lines)] = ref


def _study_text(study: _StudyRows, columns: dict[str | None, dict[str, int]],
                schema_ref: str | None, display: str) -> StudyText:
    out = _Lines()
    if schema_ref:
        out.add(f"# yaml-language-server: $schema={schema_ref}")
    rows = ", ".join(str(r) for r in study.rows[:20]) + (", ..." if len(study.rows) > 20 else "")
    out.add(f"# imported from {Path(display).name}, row{'s' if len(study.rows) > 1 else ''} "
            f"{rows}")
    out.add(f"id: {quote(study.id)}", study.first)
    outcome_rows: list[CellRef] = []
    sheet = study.first.sheet
    for spec in sc.STUDY_FIELDS:
        name = spec.name
        if name == "id":
            continue
        if name == "characteristics":
            if study.characteristics:
                out.add("characteristics:")
                for char_name, ref, values in study.characteristics:
                    key = char_name if _PLAIN_KEY_RE.fullmatch(char_name) else quote(char_name)
                    if "value" in values and len(values) == 1:
                        cell, vref = values["value"]
                        out.add(f"  {key}: {_yaml(cell_value(cell, 'number'))}", vref)
                        continue
                    out.add(f"  {key}:", ref)
                    for sub in CHARACTERISTIC_COLUMNS[2:]:
                        if sub in values:
                            cell, vref = values[sub]
                            integer = sub in sc.COUNT_KEYS
                            out.add(f"    {sub}: {_yaml(cell_value(cell, 'number', integer))}",
                                    vref)
            continue
        if name == "outcomes":
            if not study.outcomes:
                out.add("outcomes: []", study.first)
                continue
            out.add("outcomes:")
            for number, cells in study.outcomes:
                first_col = min(ref.column or 0 for _c, ref in cells.values())
                outcome_rows.append(CellRef(sheet, number, first_col))
                prefix = "  - "
                for ospec in sc.OUTCOME_FIELDS:
                    oname = ospec.name
                    if ospec.kind == "interval":
                        parts = [cells.get("ci_low"), cells.get("ci_high")]
                        given = [p for p in parts if p is not None]
                        if not given:
                            continue
                        out.add(f"{prefix}ci:", given[0][1])
                        prefix = "    "
                        for part, col in zip(parts, ("ci_low", "ci_high")):
                            if part is None:
                                out.add("      - null", CellRef(sheet, number,
                                                               columns[sheet].get(col)))
                            else:
                                out.add(f"      - {_yaml(cell_value(part[0], 'proportion'))}",
                                        part[1])
                        continue
                    if oname not in cells:
                        continue
                    cell, ref = cells[oname]
                    value = cell_value(cell, ospec.kind, ospec.kind == "integer")
                    out.add(f"{prefix}{oname}: {_yaml(value)}", ref)
                    prefix = "    "
            continue
        if name in study.fields:
            cell, ref = study.fields[name]
            value = cell_value(cell, spec.kind, spec.kind == "integer")
            out.add(f"{name}: {_yaml(value)}", ref)
    return StudyText(study.id, "\n".join(out.lines) + "\n", out.cells, study.first,
                     outcome_rows, columns)


# --------------------------------------------------------------------------- checking


_KEY_RE = re.compile(r"^(?:outcomes\[(\d+)\]\.)?([a-z_]+)(?:\.([a-z0-9_]+)(?:\.([a-z_]+))?)?: ")
_ENTRY_RE = re.compile(r"^outcomes\[(\d+)\]: ")
_ENTRY_LINE_RE = re.compile(r"outcomes\[(\d+)\] at line \d+")


def _column_at(st: StudyText, ref: CellRef) -> str | None:
    if ref.column is None:
        return None
    return next((c for c, j in st.columns.get(ref.sheet, {}).items() if j == ref.column), None)


def _cell_problem(problem: Problem, st: StudyText, display: str) -> Problem:
    """A loader problem of a study file made from a sheet, as a problem of its cell."""
    message = problem.message
    at_line = st.line_cells.get(problem.line or 0)
    sheet = st.first.sheet
    ref = at_line or st.first

    def row_of(index: str | None) -> int:
        if index is not None and 0 < int(index) <= len(st.outcome_rows):
            return st.outcome_rows[int(index) - 1].row
        return at_line.row if at_line is not None and at_line.sheet == sheet else st.first.row

    match = _KEY_RE.match(message)
    entry = _ENTRY_RE.match(message)
    if match:
        index, name, sub, subsub = match.groups()
        rest = message[match.end():]
        if name == "characteristics":
            shown = f"characteristic {sub}" + (f" {subsub}" if subsub else "") if sub else name
        else:
            found = None if at_line is None else _column_at(st, at_line)
            shown = name
            if not (found == name or (name == "ci" and found in ("ci_low", "ci_high"))):
                column = st.columns.get(sheet, {}).get("ci_low" if name == "ci" else name)
                ref = CellRef(sheet, row_of(index), column)
        message = f"{shown} {rest}"
    elif entry:
        message = "row " + message[entry.end():]
        ref = CellRef(sheet, row_of(entry.group(1)), None) if at_line is None else at_line

    def entry_row(m: re.Match[str]) -> str:
        i = int(m.group(1))
        if 0 < i <= len(st.outcome_rows):
            return f"row {st.outcome_rows[i - 1].row}"
        return m.group(0)  # pragma: no cover - the loader names an entry of this file

    message = _ENTRY_LINE_RE.sub(entry_row, message)
    return Problem(ref.show(display), None, message)


def check_study_texts(texts: Sequence[StudyText], display: str) -> list[Study]:
    """Load the study files ``texts`` with the loader; its problems become cell problems.

    Raises
    ------
    StudyFileError
        With every problem, each naming its cell.
    """
    from metaview.io.loader import load_studies

    with tempfile.TemporaryDirectory(prefix="metaview-import-") as tmp:
        folder = Path(tmp)
        by_file: dict[str, StudyText] = {}
        for st in texts:
            path = folder / f"{st.id}.yaml"
            path.write_text(st.text, encoding="utf-8")
            by_file[str(path)] = st
        try:
            studies = load_studies([folder / f"{st.id}.yaml" for st in texts])
        except StudyFileError as exc:
            mapped = []
            names = re.compile("|".join(re.escape(f) for f in sorted(by_file, key=len,
                                                                       reverse=True))
                               + r"(?::(\d+))?")

            def cell_of(m: re.Match[str]) -> str:
                other = by_file[m.group(0).rsplit(":", 1)[0] if m.group(1) else m.group(0)]
                line = int(m.group(1)) if m.group(1) else 0
                return other.line_cells.get(line, other.first).show(display)

            for problem in exc.problems:
                owner = by_file.get(problem.file)
                if owner is None:  # pragma: no cover - every problem names one of the files
                    mapped.append(problem)
                    continue
                cell_problem = _cell_problem(problem, owner, display)
                mapped.append(Problem(cell_problem.file, None,
                                      names.sub(cell_of, cell_problem.message)))
            raise StudyFileError(_sorted_cell_problems(mapped)) from None
    return studies


def _sorted_cell_problems(problems: list[Problem]) -> list[Problem]:
    def key(p: Problem) -> tuple[Any, ...]:
        m = re.search(r":(?:([^!:]*)!)?([A-Z]+)(\d+)$", p.file)
        if not m:
            return ("", 0, 0)
        letters = m.group(2)
        col = 0
        for ch in letters:
            col = col * 26 + ord(ch) - 64
        return (m.group(1) or "", int(m.group(3)), col)

    seen: set[str] = set()
    out = []
    for p in sorted(problems, key=key):
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


# --------------------------------------------------------------------------- export


def _percent_text(fraction: float) -> str:
    value = Decimal(_number_text(fraction)) * 100
    text = format(value.normalize(), "f")
    return f"{text}%"


def outcome_rows(studies: Iterable[Study], with_notes: bool) -> list[dict[str, Any]]:
    """One row per outcome (one row for a study without outcomes): the outcomes table."""
    rows: list[dict[str, Any]] = []
    for study in studies:
        base: dict[str, Any] = {}
        for name in _STUDY_COLUMNS:
            value = getattr(study, name)
            if name == "index":
                value = True if value else None
            base[name] = value
        if with_notes:
            base["notes"] = study.notes
        if not study.outcomes:
            rows.append(dict(base))
        for o in study.outcomes:
            row = dict(base)
            percent = o.estimate_text is not None and "%" in o.estimate_text
            row.update(endpoint=o.endpoint, time_months=o.time_months,
                       time_origin=o.time_origin, count=o.count, total=o.total,
                       estimate=None, ci_low=None, ci_high=None, ci_level=None,
                       ci_method=None, at_risk=o.at_risk, source=o.source,
                       derived=o.derived, note=o.note)
            if o.estimate_text is not None and o.estimate is not None:
                # the number, unless its text differs from the shortest one ("0.300")
                same = not percent and _number_text(o.estimate) == o.estimate_text.strip()
                row["estimate"] = o.estimate if same else o.estimate_text
            if o.ci is not None:
                low, high = o.ci
                row["ci_low"] = _percent_text(low) if percent else low
                row["ci_high"] = _percent_text(high) if percent else high
                row["ci_level"] = o.ci_level
                row["ci_method"] = o.ci_method
            rows.append(row)
    return rows


def characteristic_rows(studies: Iterable[Study]) -> list[dict[str, Any]]:
    """One row per characteristic of each study."""
    rows = []
    for study in studies:
        for name, value in study.characteristics.items():
            row: dict[str, Any] = {"id": study.id, "name": name}
            if isinstance(value, dict):
                row.update(value)
            else:
                row["value"] = value
            rows.append(row)
    return rows


def _used_columns(rows: list[dict[str, Any]], columns: Sequence[str],
                  keep: Sequence[str]) -> list[str]:
    return [c for c in columns if c in keep or any(r.get(c) is not None for r in rows)]


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def sheet_bytes(studies: Sequence[Study], suffix: str) -> tuple[bytes, list[str]]:
    """The outcomes table of ``studies`` as .csv, .tsv or .xlsx bytes, and notes for the user.

    A .csv/.tsv holds the outcomes table with the studies' notes in a ``notes`` column (the
    characteristics are left out and the notes say so); an .xlsx holds the outcomes table and
    the sheets ``Characteristics`` and ``Notes``.
    """
    suffix = suffix.lower()
    notices: list[str] = []
    if suffix in (".csv", ".tsv"):
        rows = outcome_rows(studies, with_notes=True)
        columns = _used_columns(rows, OUTCOME_TABLE_COLUMNS + ("notes",), REQUIRED_COLUMNS)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter="\t" if suffix == ".tsv" else ",",
                            lineterminator="\r\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_text(row.get(c)) for c in columns])
        with_chars = sum(1 for s in studies if s.characteristics)
        if with_chars:
            notices.append(f"a {suffix[1:]} file holds everything but the characteristics "
                           f"({with_chars} of {len(studies)} studies have them); write an "
                           ".xlsx file to keep them")
        else:
            notices.append(f"a {suffix[1:]} file holds everything but characteristics (no "
                           "study has any)")
        data = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if suffix not in (".csv", ".tsv", ".xlsx"):
        raise UsageError(f"cannot write a '{suffix or '(none)'}' sheet: use .csv, .tsv or .xlsx")
    with_curves = [s.id for s in studies if s.curves]
    if with_curves:
        notices.append("digitised curves (curves:) are not part of the sheet: "
                       + ", ".join(with_curves) + " keep theirs only in the study files")
    if suffix != ".xlsx":
        return data, notices
    return _xlsx_bytes(studies), notices


def _xlsx_bytes(studies: Sequence[Study]) -> bytes:
    try:
        import openpyxl
        from openpyxl.styles import Font
    except ImportError:  # pragma: no cover - a dependency of metaview
        raise UsageError("writing .xlsx needs openpyxl (pip install openpyxl)") from None
    book = openpyxl.Workbook()
    fixed = _dt.datetime(2000, 1, 1)
    book.properties.created = fixed
    book.properties.modified = fixed
    book.properties.creator = "metaview"
    sheets = [
        (OUTCOMES_SHEET, outcome_rows(studies, with_notes=False), OUTCOME_TABLE_COLUMNS,
         REQUIRED_COLUMNS),
        (CHARACTERISTICS_SHEET, characteristic_rows(studies), CHARACTERISTIC_COLUMNS,
         ("id", "name")),
        (NOTES_SHEET, [{"id": s.id, "notes": s.notes} for s in studies if s.notes],
         NOTES_COLUMNS, NOTES_COLUMNS),
    ]
    first = True
    for title, rows, all_columns, keep in sheets:
        ws = book.active if first else book.create_sheet()
        first = False
        ws.title = title
        columns = _used_columns(rows, all_columns, keep)
        ws.append(columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            values = []
            for c in columns:
                v = row.get(c)
                values.append(v)
            ws.append(values)
        for j, c in enumerate(columns, 1):
            kind = _KIND.get(c)
            if kind == "string" or c in ("id", "name", "notes") or (
                    title == CHARACTERISTICS_SHEET and c == "value"):
                for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                    if isinstance(cell.value, str):
                        cell.data_type = "s"
                        cell.number_format = "@"
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_sheet(studies: Sequence[Study], path: str | os.PathLike[str],
                overwrite: bool = False) -> list[str]:
    """Write the table of ``studies`` to ``path`` (.csv, .tsv or .xlsx), atomically
    (:func:`metaview.atomic.write_bytes`).

    Returns notes for the user (what a .csv leaves out).

    Raises
    ------
    OutputError
        When ``path`` exists (without ``overwrite``) or cannot be written.
    """
    target = Path(path)
    data, notices = sheet_bytes(studies, target.suffix)
    write_bytes(target, data, overwrite=overwrite)
    return notices
