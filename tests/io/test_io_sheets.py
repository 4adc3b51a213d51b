"""`metaview import` and `metaview export`: extraction sheets to study files and back."""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest

from metaview.io import load_studies
from metaview.io.sheets import OUTCOME_TABLE_COLUMNS, column_letter

openpyxl = pytest.importorskip("openpyxl")


def study_data(studies: list[Any]) -> dict[str, dict[str, Any]]:
    """Everything a study holds, by id (without where it was read from)."""
    out = {}
    for s in studies:
        d = dataclasses.asdict(s)
        for where in ("path", "file_sha256", "file_bytes"):  # the file, not the study
            d.pop(where)
        d["characteristics"] = dict(s.characteristics)
        for o in d["outcomes"]:
            o.pop("line")
        out[s.id] = d
    return out


HEADER = ["id", "label", "citation", "year", "doi", "pmid", "url", "design", "country", "arm",
          "index", "patients", "endpoint", "time_months", "time_origin", "count", "total",
          "estimate", "ci_low", "ci_high", "ci_level", "ci_method", "at_risk", "source",
          "derived", "note", "notes"]

#: A sheet with every field; the second study's fields are filled down (empty below row 4).
ROWS = [
    ["smith2024", "Smith 2024", "Smith J, et al. A cohort. J Test. 2024;1:1-9.", "2024",
     "10.1000/xyz123", "35833303", "https://example.org/smith", "retrospective single-centre",
     "NO", "allo-HSCT after CAR-T failure", "true", "12", "OS", "12", "allo-HSCT", "", "12",
     "59%", "48%", "69%", "0.95", "log-log", "9", "Table 2: 1-year OS 59% (48-69)",
     "read off Figure 1", "landmark from transplant", "Smith's notes: two lines\nsecond"],
    ["smith2024", "", "", "", "", "", "", "", "", "", "", "", "ORR", "", "", "7", "12", "",
     "", "", "", "", "", "Table 3: ORR 7/12", "", "", ""],
    ["jones2023", "Jones 2023", "Jones A. Another. J Test. 2023;2:3.", "2023", "", "", "", "",
     "", "CAR-T pivotal trial", "false", "40", "OS", "12", "CAR-T infusion", "", "40",
     "0.45", "0.3", "0.6", "", "", "", "Abstract: OS 45% at 1 year", "", "", ""],
    ["", "", "", "", "", "", "", "", "", "", "", "", "PFS", "12.5", "", "", "", "0.300",
     "", "", "", "", "", "Figure 2", "", "", ""],
]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_csv_with_every_field_and_filled_down_rows(tmp_path: Path, cli) -> None:
    sheet = write_csv(tmp_path / "sheet.csv", ROWS)
    code, out, err = cli("import", sheet, "--dir", tmp_path / "studies")
    assert code == 0, err
    assert "wrote 2 study files" in out
    studies = {s.id: s for s in load_studies([tmp_path / "studies"])}
    smith, jones = studies["smith2024"], studies["jones2023"]
    assert smith.pmid == "35833303" and smith.country == "NO" and smith.index is True
    assert smith.url == "https://example.org/smith" and smith.doi == "10.1000/xyz123"
    assert smith.notes == "Smith's notes: two lines\nsecond"
    os_, orr = smith.outcomes
    assert (os_.estimate_text, os_.ci, os_.ci_method, os_.at_risk) == (
        "59%", (0.48, 0.69), "log-log", 9)
    assert (os_.derived, os_.note) == ("read off Figure 1", "landmark from transplant")
    assert (orr.endpoint, orr.count, orr.total, orr.time_months) == ("ORR", 7, 12, None)
    # filled down: the PFS row has no id and no study fields
    assert [o.endpoint for o in jones.outcomes] == ["OS", "PFS"]
    assert jones.outcomes[1].estimate_text == "0.300" and jones.outcomes[1].time_months == 12.5
    assert jones.index is False and jones.patients == 40
    text = (tmp_path / "studies" / "smith2024.yaml").read_text()
    assert 'estimate: "59%"' in text and '- "48%"' in text  # percent strings stay strings
    assert 'pmid: "35833303"' in text


def test_round_trip_of_a_sheet_with_every_field(tmp_path: Path, cli) -> None:
    sheet = write_csv(tmp_path / "sheet.csv", ROWS)
    assert cli("import", sheet, "--dir", tmp_path / "a")[0] == 0
    first = study_data(load_studies([tmp_path / "a"]))
    for suffix in (".csv", ".xlsx", ".tsv"):
        out = tmp_path / f"back{suffix}"
        code, _out, err = cli("export", tmp_path / "a", "-o", out)
        assert code == 0, err
        code, _out, err = cli("import", out, "--dir", tmp_path / f"b{suffix}")
        assert code == 0, err
        assert study_data(load_studies([tmp_path / f"b{suffix}"])) == first


def test_round_trip_of_studies_through_xlsx(tmp_path: Path, cli, studies_dir: Path) -> None:
    out = tmp_path / "studies.xlsx"
    code, _out, err = cli("export", studies_dir, "-o", out)
    assert code == 0, err
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Outcomes", "Characteristics", "Notes"]
    code, _out, err = cli("import", out, "--dir", tmp_path / "back")
    assert code == 0, err
    original = study_data(load_studies([studies_dir]))
    assert study_data(load_studies([tmp_path / "back"])) == original
    assert any(d["characteristics"] for d in original.values())


def test_round_trip_of_studies_through_csv(tmp_path: Path, cli, studies_dir: Path) -> None:
    out = tmp_path / "studies.csv"
    code, _out, err = cli("export", studies_dir, "-o", out)
    assert code == 0, err
    assert "everything but the characteristics" in err
    assert cli("import", out, "--dir", tmp_path / "back")[0] == 0
    original = study_data(load_studies([studies_dir]))
    for d in original.values():
        d["characteristics"] = {}
    assert study_data(load_studies([tmp_path / "back"])) == original
    text = out.read_text(encoding="utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert header[0] == "id" and "source" in header and "notes" in header


def test_xlsx_with_several_sheets(tmp_path: Path, cli) -> None:
    book = openpyxl.Workbook()
    readme = book.active
    readme.title = "Readme"
    readme.append(["How this sheet was filled in"])
    ws = book.create_sheet("Outcomes")
    ws.append(["id", "label", "citation", "year", "arm", "patients", "pmid", "endpoint",
               "time_months", "count", "total", "estimate", "ci_low", "ci_high", "source"])
    ws.append(["lee2022", "Lee 2022", "Lee K. A series. 2022.", 2022, "allo", 20, 12345678,
               "OS", 12, None, 20, "61%", None, None, "Table 1"])
    ws.append([None, None, None, None, None, None, None, "PFS", 12, None, 20, 0.4, 0.25, 0.57,
               "Table 1"])
    ws.append([None, None, None, None, None, None, None, "NRM", 12.0, None, 20, 0.15, None,
               None, "Table 4"])
    ws["L4"].number_format = "0%"  # a number shown as a percent is written as the percent
    ws.append([None, None, None, None, None, None, None, "CR", None, 8.0, 20.0, None, None,
               None, "Text"])
    chars = book.create_sheet("Characteristics")
    chars.append(["id", "name", "value", "median", "min", "max", "count", "total"])
    chars.append(["lee2022", "age_years", None, 55, 30, 70, None, None])
    chars.append([None, "male", None, None, None, None, 12, 20])
    chars.append([None, "product", "axi-cel", None, None, None, None, None])
    chars.append([None, "followup_months", 14.5, None, None, None, None, None])
    notes = book.create_sheet("Notes")
    notes.append(["id", "notes"])
    notes.append(["lee2022", "Single centre."])
    path = tmp_path / "sheet.xlsx"
    book.save(path)
    code, _out, err = cli("import", path, "--dir", tmp_path / "s")
    assert code == 0, err
    assert "sheet \"Readme\" is not read" in err
    (lee,) = load_studies([tmp_path / "s"])
    assert lee.pmid == "12345678" and lee.notes == "Single centre."
    assert [o.estimate_text for o in lee.outcomes] == ["61%", "0.4", "15%", None]
    assert lee.outcomes[1].ci == (0.25, 0.57)
    assert (lee.outcomes[3].count, lee.outcomes[3].total) == (8, 20)
    assert dict(lee.characteristics) == {
        "age_years": {"median": 55, "min": 30, "max": 70}, "male": {"count": 12, "total": 20},
        "product": "axi-cel", "followup_months": 14.5}


def test_xlsx_bad_cell_is_named_with_its_sheet(tmp_path: Path, cli) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Outcomes"
    ws.append(["id", "label", "citation", "year", "arm", "patients", "endpoint", "estimate",
               "total", "source"])
    ws.append(["a2020", "A 2020", "A. 2020.", 2020, "allo", 10, "OS", 0.5, 10, "T1"])
    ws.append([None, None, None, None, None, None, "PFS", 59, 10, "T1"])
    path = tmp_path / "sheet.xlsx"
    book.save(path)
    code, _out, err = cli("import", path, "--dir", tmp_path / "s")
    assert code == 2
    assert err.splitlines() == [
        f'error: {path}:Outcomes!H3: estimate 59 is a bare number > 1 (write 0.59 or "59%")']
    assert not (tmp_path / "s").exists()


def _cell(column: str, row: int) -> str:
    return f"{column_letter(HEADER.index(column))}{row}"


BAD_CELLS = [
    # (row index in ROWS, column, bad value, expected start of the message)
    (0, "id", "Smith 2024", 'id "Smith 2024" is not a valid id (e.g. smith-2024;'),
    (0, "label", "", "label missing"),
    (0, "citation", "", "citation missing"),
    (0, "year", "20x3", 'year "20x3" is not a number'),
    (0, "doi", "doi:10.1/x", 'doi "doi:10.1/x" is not valid'),
    (0, "pmid", "PMID 123", 'pmid "PMID 123" is not valid'),
    (0, "url", "www.example.org", 'url "www.example.org" is not valid'),
    (0, "arm", "", "arm missing"),
    (0, "index", "maybe", "index maybe is not a boolean"),
    (0, "patients", "0", "patients 0 is less than 1"),
    (0, "endpoint", "os 1y", 'endpoint "os 1y" is not valid (write endpoint: OS_1Y'),
    (0, "time_months", "-3", "time_months -3 is not greater than 0"),
    (1, "count", "13", "count 13 is greater than total 12"),
    (0, "total", "0", "total 0 is less than 1"),
    (2, "estimate", "45", 'estimate 45 is a bare number > 1 (write 0.45 or "45%")'),
    (2, "ci_low", "0.5", "ci [0.5, 0.6] does not contain the estimate 0.45"),
    (2, "ci_high", "abc", 'ci high "abc" is neither a fraction nor a percent string'),
    (0, "ci_level", "95", "ci_level 95 is not less than 1 (a fraction: write 0.95 for 95%)"),
    (0, "ci_method", "exact", 'ci_method "exact" is not a known value'),
    (0, "at_risk", "20", "at_risk 20 is greater than total 12"),
    (1, "source", "", "source missing"),
]


@pytest.mark.parametrize("row, column, value, message", BAD_CELLS,
                         ids=[c[1] for c in BAD_CELLS])
def test_a_bad_cell_in_each_column(tmp_path: Path, cli, row: int, column: str, value: str,
                                   message: str) -> None:
    rows = [list(r) for r in ROWS]
    rows[row][HEADER.index(column)] = value
    sheet = write_csv(tmp_path / "sheet.csv", rows)
    code, out, err = cli("import", sheet, "--dir", tmp_path / "studies")
    assert code == 2 and out == ""
    lines = err.splitlines()
    expected = f"error: {sheet}:{_cell(column, row + 2)}: {message}"
    assert any(line.startswith(expected) for line in lines), (expected, lines)
    assert len(lines) == 1, lines
    assert not (tmp_path / "studies").exists()  # nothing written


def test_sheet_without_a_source_column(tmp_path: Path, cli) -> None:
    header = [h for h in HEADER if h != "source"]
    rows = [[v for h, v in zip(HEADER, r) if h != "source"] for r in ROWS]
    sheet = write_csv(tmp_path / "sheet.csv", rows, header)
    code, _out, err = cli("import", sheet, "--dir", tmp_path / "studies")
    assert code == 2
    assert err.startswith(f"error: {sheet}:row 1: no source column (every figure needs its "
                          "source")
    assert not (tmp_path / "studies").exists()


def test_unknown_column_and_conflicting_study_fields(tmp_path: Path, cli) -> None:
    header = list(HEADER)
    header[HEADER.index("patients")] = "patient"
    rows = [list(r) for r in ROWS]
    code, _out, err = cli("import", write_csv(tmp_path / "a.csv", rows, header), "--dir",
                          tmp_path / "s")
    assert code == 2
    assert f':{_cell("patients", 1)}: unknown column "patient" (did you mean \'patients\'?)' \
        in err
    rows[1][HEADER.index("label")] = "Smith 2025"
    code, _out, err = cli("import", write_csv(tmp_path / "b.csv", rows), "--dir",
                          tmp_path / "s")
    assert code == 2
    assert err.splitlines() == [
        (f"error: {tmp_path / 'b.csv'}:{_cell('label', 3)}: label differs from "
        f"{_cell('label', 2)} of the same study smith2024 (a study's fields are the same on "
        "each of its rows: correct one, or leave them empty below the first)")]


def test_import_never_overwrites_without_force(tmp_path: Path, cli) -> None:
    sheet = write_csv(tmp_path / "sheet.csv", ROWS)
    target = tmp_path / "studies"
    target.mkdir()
    (target / "smith2024.yaml").write_text("# my own file\n")
    code, _out, err = cli("import", sheet, "--dir", target)
    assert code == 2
    assert "smith2024.yaml: already exists; not overwritten (use --force" in err
    assert (target / "smith2024.yaml").read_text() == "# my own file\n"
    assert not (target / "jones2023.yaml").exists()
    code, _out, err = cli("import", sheet, "--dir", target, "--force")
    assert code == 0, err
    assert len(load_studies([target])) == 2
    assert sorted(p.name for p in target.iterdir()) == ["jones2023.yaml", "smith2024.yaml",
                                                       "study.schema.json"]
    assert (target / "jones2023.yaml").read_text().startswith(
        "# yaml-language-server: $schema=study.schema.json\n")


def test_export_refuses_to_overwrite_and_leaves_no_temporary_file(
        tmp_path: Path, cli, studies_dir: Path) -> None:
    out = tmp_path / "table.xlsx"
    out.write_bytes(b"mine")
    code, _out, err = cli("export", studies_dir, "-o", out)
    assert code == 2 and "exists; use --force" in err
    assert out.read_bytes() == b"mine"
    assert cli("export", studies_dir, "-o", out, "--force")[0] == 0
    assert openpyxl.load_workbook(out).sheetnames[0] == "Outcomes"
    assert [p.name for p in tmp_path.iterdir()] == ["table.xlsx"]
    code, _out, err = cli("export", studies_dir, "-o", tmp_path / "table.ods")
    assert code == 2 and "must end in .csv, .tsv, .xlsx" in err


def test_export_columns_follow_the_study_format(tmp_path: Path, cli, studies_dir: Path) -> None:
    out = tmp_path / "t.csv"
    assert cli("export", studies_dir, "-o", out)[0] == 0
    header = next(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    order = [c for c in OUTCOME_TABLE_COLUMNS + ("notes",) if c in header]
    assert header == order
