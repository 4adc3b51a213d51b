"""Hostile text that passes ``validate`` works in every output: the study files of
``studies/`` with the accepted ``tests/io/hostile/text-*.yaml`` files and a study whose
label is one 100,000-character word, through validate, list and pool (table, json, csv),
compare (table, json, csv), forest (png, svg, pdf) and report (html, md, csv, figures).

Checked: every command succeeds; nothing that could act on a terminal reaches stdout or
stderr; JSON keeps the text exactly; every CSV cell that a spreadsheet would run as a
formula is neutralised while numbers stay numbers; SVG is well-formed XML; HTML and
Markdown show study text as text; report file names are safe and bounded.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from metaview.cli import main

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "io" / "hostile"
LONG_WORD = "x" * 100_000

#: What may reach a terminal: no C0/C1 control other than line feed, no bidi controls.
UNSAFE_FOR_TERMINALS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                                  "\u2028\u2029\ud800-\udfff]")
FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)")
FORMULA_LABEL = '=HYPERLINK("https://example.org/x","Test")'
MARKUP_LABEL = "![p](https://example.org/p.png) <b>Test</b>"


def accepted_files() -> list[Path]:
    return sorted(p for p in HOSTILE.glob("text-*.yaml")
                  if p.read_text(encoding="utf-8").startswith("# accepted: "))


def run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("hostile") / "studies"
    shutil.copytree(ROOT / "studies", target)
    for path in accepted_files():
        shutil.copy(path, target / path.name)
    zurko = (ROOT / "studies" / "zurko2023.yaml").read_text(encoding="utf-8")
    assert "label: Zurko 2023\n" in zurko
    (target / "zurko2023.yaml").write_text(
        zurko.replace("label: Zurko 2023\n", f'label: "Zurko {LONG_WORD}"\n'), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def report(folder: Path) -> Path:
    out = folder.parent / "report"
    code, _, err = run("report", folder, "-o", out)
    assert code == 0, err
    return out


def assert_terminal_safe(*texts: str) -> None:
    for text in texts:
        bad = UNSAFE_FOR_TERMINALS.search(text)
        assert bad is None, f"{bad.group(0)!r} at {bad.start()}: {text[:200]!r}"


def assert_csv_safe(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    assert rows
    for row in rows:
        for cell in row:
            if cell.startswith(FORMULA):
                assert NUMBER.fullmatch(cell), f"formula cell {cell[:60]!r}"
    return rows


def test_every_accepted_file_is_in_the_folder(folder):
    assert len(accepted_files()) >= 5
    code, out, err = run("validate", folder)
    assert code == 0, err
    assert_terminal_safe(out, err)


@pytest.mark.parametrize("command", ["list", "pool", "compare"])
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_terminal_formats(folder, command, fmt):
    code, out, err = run(command, folder, "--format", fmt)
    assert code == 0, err
    assert_terminal_safe(out, err)
    if fmt == "json":
        json.loads(out)
    if fmt == "csv":
        assert_csv_safe(out)
    if command in ("list", "pool") and fmt != "json":
        assert "Zurko x" in out or "Zurko xxxx" in out  # the long label is there


def test_list_json_keeps_text_exactly_and_csv_neutralises_it(folder):
    _, out, _ = run("list", folder, "--format", "json")
    labels = {s["id"]: s["label"] for s in json.loads(out)["studies"]}
    assert labels["text-formula"] == FORMULA_LABEL
    assert labels["text-markup"] == MARKUP_LABEL
    assert labels["zurko2023"] == f"Zurko {LONG_WORD}"
    _, out, _ = run("list", folder, "--format", "csv")
    rows = {r[0]: r for r in assert_csv_safe(out)}
    assert rows["text-formula"][1] == "'" + FORMULA_LABEL
    assert rows["text-formula"][3] == "'-allo-HSCT after CAR-T failure"


def test_pool_csv_keeps_negative_numbers_as_numbers(folder):
    _, out, _ = run("pool", folder, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    yis = [r["yi"] for r in rows if r["yi"]]
    assert any(v.startswith("-") for v in yis)
    assert all(NUMBER.fullmatch(v) for v in yis)
    assert any(r["label"] == "'" + FORMULA_LABEL for r in rows)


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
@pytest.mark.slow
def test_forest_formats(folder, suffix):
    target = folder.parent / f"forest{suffix}"
    code, out, err = run("forest", folder, "-o", target, "--force")
    assert code == 0, err
    assert_terminal_safe(out, err)
    assert "Warning" not in err
    data = target.read_bytes()
    assert len(data) > 1000
    if suffix == ".svg":
        root = ET.fromstring(data)  # well-formed XML
        text = "".join(root.itertext())
        assert "Zurko" in text and "\u2026" in text  # the long label is cut with an ellipsis
        assert LONG_WORD[:1000] not in text
        assert "<b>Test</b>" in text  # markup is text, escaped in the XML
        assert b"<b>" not in data


@pytest.mark.slow
def test_report_files_are_safe(report):
    names = sorted(p.name for p in report.iterdir())
    assert "index.html" in names and "report.md" in names
    for name in names:
        assert re.fullmatch(r"[a-z0-9_.-]+", name) and len(name.encode()) <= 100, name
    svgs = [n for n in names if n.endswith(".svg")]
    assert any(n.startswith("forest-eeee") for n in svgs)  # the 250-character endpoint
    for name in svgs:
        ET.parse(report / name)


def test_report_csvs_neutralise_formulas(report):
    for name in ("studies.csv", "pooled.csv", "comparison.csv", "provenance.csv"):
        rows = assert_csv_safe((report / name).read_text(encoding="utf-8"))
        assert len(rows) > 1
    studies = (report / "studies.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in studies


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_html_shows_study_text_as_text(report):
    html = (report / "index.html").read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(html)
    tags = {t for t, _ in parser.tags}
    assert "script" not in tags and "b" not in tags and "i" not in tags
    assert not any(t == "img" and "onerror" in a for t, a in parser.tags)
    assert not any((a.get("src") or "").startswith("https://example.org") for _, a in parser.tags)
    text = "".join(parser.text)
    assert MARKUP_LABEL in text
    assert "<script>alert(1)</script>" in text


def test_report_markdown_shows_study_text_as_text(report):
    md = (report / "report.md").read_text(encoding="utf-8")
    assert "![p](" not in md  # no image to fetch
    assert "<b>" not in md and "<script>" not in md and "<img" not in md and "<i>" not in md
    assert not re.search(r"(?<!\\)\]\(javascript:", md)  # no link either
    assert "!\\[p\\](https://example.org/p.png) &lt;b&gt;Test&lt;/b&gt;" in md
    images = re.findall(r"!\[[^\]]*\]\(([^)]*)\)", md)
    assert images
    assert all(re.fullmatch(r"(forest-[a-z0-9_-]+|posterior)\.png", src) for src in images)
    assert_terminal_safe(md)
