"""The committed reports/ is the report of studies/ with the default options.

Regenerate it with ``metaview report studies/ -o reports/`` whenever a study file or the
report code changes. ``reports/forest-12m.*`` belong to the ``forest`` command and are not
checked here.

The comparison holds on any machine: text is compared exactly and numbers to a tolerance.

* CSV: cell by cell; a cell that is a number on both sides is compared to ``RTOL``
  relative (``ATOL`` absolute near zero). The files hold 10 significant digits and every
  iterative fit is converged far beyond that (tau2 to 1e-12, the GLMM to machine
  precision), so another CPU or BLAS can change at most the last written digit.
* Markdown and HTML: the text with every number taken out must be identical, and the
  numbers must agree to ``RTOL``. The software versions table is left out (it describes the
  machine that wrote the report); the SVG figures inlined in the HTML are compared as SVG.
* SVG: as XML after numbering the ids in order (matplotlib derives clip-path ids from a hash
  of the coordinates): the same elements, attributes and text; numbers in attributes
  (coordinates in points) agree to ``FIGURE_RTOL`` relative or ``FIGURE_ATOL`` points. When
  the committed report was drawn by another matplotlib version (the layout may change from
  one version to the next), only the text written in the figures is compared.
* PNG: only the pixel size, and only under the same matplotlib version: pixels depend on
  the rasteriser and are covered by the SVG of the same figure.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from report_compare import (
    NUMBER,
    RTOL,
    SOFTWARE,
    png_size,
    same_csv,
    same_document,
    same_svg,
)
from report_data import REPORT_ROOT, STUDIES_DIR

from metaview.cli import main

pytestmark = pytest.mark.slow  # every test here takes seconds (-m "not slow" skips them)

COMMITTED = REPORT_ROOT / "reports"
NOT_OURS = re.compile(r"^forest-12m\.[A-Za-z]+$")
REGENERATE = "regenerate it: metaview report studies/ -o reports/"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not NOT_OURS.match(p.name)}


def _versions(markdown: bytes) -> dict[str, str]:
    text = markdown.decode("utf-8")
    out = {}
    for name in SOFTWARE:
        m = re.search(rf"^\| {re.escape(name)} \| ([^|]+) \|$", text, re.MULTILINE)
        if m:
            out[name] = m.group(1).strip()
    return out


def _stale(name: str, old: bytes, new: bytes, same_matplotlib: bool) -> bool:
    if old == new:
        return False
    if name.endswith(".csv"):
        return not same_csv(old, new)
    if name.endswith((".md", ".html")):
        return not same_document(name, old, new, same_layout=same_matplotlib)
    if name.endswith(".svg"):
        return not same_svg(old.decode("utf-8"), new.decode("utf-8"),
                            same_layout=same_matplotlib)
    if name.endswith(".png"):
        return same_matplotlib and png_size(old) != png_size(new)
    return True


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("regenerated") / "reports"
    assert main(["report", str(STUDIES_DIR), "-o", str(out)]) == 0
    return _files(out)


def test_committed_report_has_the_same_files(fresh):
    if not COMMITTED.is_dir():
        pytest.fail(f"reports/ is missing; {REGENERATE}")
    committed = _files(COMMITTED)
    missing = sorted(set(fresh) - set(committed))
    extra = sorted(set(committed) - set(fresh))
    assert not missing and not extra, (
        f"reports/ is stale (missing {missing}, no longer written {extra}); {REGENERATE}")


def test_committed_report_is_current(fresh):
    if not COMMITTED.is_dir():
        pytest.fail(f"reports/ is missing; {REGENERATE}")
    committed = _files(COMMITTED)
    versions = _versions(committed.get("report.md", b"")), _versions(fresh["report.md"])
    same_matplotlib = versions[0].get("matplotlib") == versions[1].get("matplotlib")
    stale = [name for name, data in sorted(fresh.items())
             if name in committed and _stale(name, committed[name], data, same_matplotlib)]
    assert not stale, f"reports/ is stale ({', '.join(stale)}); {REGENERATE}"


# ------------------------------------------------------------ the comparison itself


def _bump(text: str, index: int, factor: float) -> str:
    """``text`` with its ``index``-th number multiplied by ``factor``, to 17 digits."""
    m = list(NUMBER.finditer(text))[index]
    return text[:m.start()] + repr(float(m.group()) * factor) + text[m.end():]


def test_csv_numbers_are_compared_to_the_tolerance_and_text_exactly(fresh):
    csv_bytes = fresh["pooled.csv"]
    text = csv_bytes.decode("utf-8")
    assert same_csv(csv_bytes, csv_bytes)
    first = next(i for i, m in enumerate(NUMBER.finditer(text)) if "." in m.group())
    assert same_csv(csv_bytes, _bump(text, first, 1 + RTOL / 10).encode())
    assert not same_csv(csv_bytes, _bump(text, first, 1 + RTOL * 10).encode())
    assert not same_csv(csv_bytes, text.replace("REML", "ML", 1).encode())
    assert not same_csv(csv_bytes, csv_bytes + b"x\n")


def test_documents_compare_numbers_to_the_tolerance_and_text_exactly(fresh):
    md = fresh["report.md"]
    text = md.decode("utf-8")
    assert same_document("report.md", md, md)
    other_numpy = re.sub(r"^\| numpy \| [^|]+ \|$", "| numpy | 0.0.0 |", text, flags=re.M)
    assert other_numpy != text and same_document("report.md", md, other_numpy.encode())
    assert not same_document("report.md", md, text.replace("Cong 2024", "Cong 2023", 1).encode())
    where = next(i for i, m in enumerate(NUMBER.finditer(text)) if m.group() == "70")
    assert same_document("report.md", md, _bump(text, where, 1 + RTOL / 10).encode())
    assert not same_document("report.md", md, _bump(text, where, 1.01).encode())


def test_figures_are_compared_as_svg(fresh):
    svg = fresh["forest-os-12m.svg"].decode("utf-8")
    assert same_svg(svg, svg)
    # coordinates a rounding apart and clip-path ids derived from them: the same figure
    moved = re.sub(r'x="([0-9.]+)"', lambda m: f'x="{float(m.group(1)) + 1e-6:.6f}"', svg)
    renamed = re.sub(r'clip-path="url\(#p', 'clip-path="url(#q', moved)
    renamed = re.sub(r'id="p', 'id="q', renamed)
    assert moved != svg and same_svg(svg, renamed)
    assert not same_svg(svg, svg.replace(">Chow 2019<", ">Chow 2018<", 1))
    assert not same_svg(svg, re.sub(r'x="([0-9.]+)"',
                                    lambda m: f'x="{float(m.group(1)) + 1:g}"', svg, count=1))
    # across matplotlib versions only the drawn text counts
    relaid = re.sub(r'x="([0-9.]+)"', lambda m: f'x="{float(m.group(1)) + 5:g}"', svg)
    assert same_svg(svg, relaid, same_layout=False)
    assert not same_svg(svg, svg.replace(">Chow 2019<", ">Chow 2018<", 1), same_layout=False)
    html = fresh["index.html"]
    assert same_document("index.html", html, html)
    changed = html.decode("utf-8").replace(">Chow 2019<", ">Chow 2018<", 1)
    assert not same_document("index.html", html, changed.encode())


def test_png_is_compared_by_its_size(fresh):
    png = fresh["forest-os-12m.png"]
    width, height = png_size(png)
    assert width > 100 and height > 100
    assert not _stale("forest-os-12m.png", png, png[:-1] + b"\0", True)
    bigger = png[:16] + struct.pack(">II", width + 1, height) + png[24:]
    assert _stale("forest-os-12m.png", png, bigger, True)
    assert not _stale("forest-os-12m.png", png, bigger, False)
