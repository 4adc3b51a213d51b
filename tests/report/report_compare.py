"""Comparison of a regenerated report (or figure) with a committed one: text exact, numbers
to a stated tolerance, SVG as XML, PNG by pixel size (see tests/report/test_report_committed.py
for the rules). Imported by plain name (``tests/report`` is on the test path)."""

from __future__ import annotations

import csv
import io
import math
import re
import struct
import xml.etree.ElementTree as ET

SOFTWARE = ("metaview", "Python", "numpy", "scipy", "statsmodels", "pandas", "matplotlib")

#: tolerance of numbers in the CSV, Markdown and HTML files and in the text of figures
RTOL = 1e-8
ATOL = 1e-12
#: tolerance of numbers in SVG attributes (coordinates and sizes in points)
FIGURE_RTOL = 1e-6
FIGURE_ATOL = 1e-4

NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
SVG_BLOCK = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


def _close(a: str, b: str, rtol: float, atol: float) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=rtol, abs_tol=atol)


def same_text(a: str, b: str, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Identical text once the numbers are taken out, and numbers equal to the tolerance."""
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    return all(_close(x, y, rtol, atol) for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def same_csv(a: bytes, b: bytes) -> bool:
    ra = list(csv.reader(io.StringIO(a.decode("utf-8"))))
    rb = list(csv.reader(io.StringIO(b.decode("utf-8"))))
    if len(ra) != len(rb):
        return False
    for row_a, row_b in zip(ra, rb):
        if len(row_a) != len(row_b):
            return False
        for x, y in zip(row_a, row_b):
            if _is_number(x) and _is_number(y):
                if not _close(x, y, RTOL, ATOL):
                    return False
            elif x != y:
                return False
    return True


def _numbered_ids(svg: str) -> str:
    names: dict[str, str] = {}
    for name in re.findall(r'\bid="([^"]+)"', svg):
        names.setdefault(name, f"id{len(names)}")
    return re.sub(r'(\bid="|url\(#|href="#)([^")]+)',
                  lambda m: m.group(1) + names.get(m.group(2), m.group(2)), svg)


def _svg_root(svg: str) -> ET.Element:
    return ET.fromstring(_numbered_ids(svg[svg.find("<svg"):]))


def _drawn_text(root: ET.Element) -> list[str]:
    return [" ".join("".join(e.itertext()).split()) for e in root.iter()
            if e.tag.rsplit("}", 1)[-1] == "text"]


def same_svg(a: str, b: str, *, same_layout: bool = True) -> bool:
    """Same figure: the whole XML tree (numbers to the figure tolerance) or, across
    matplotlib versions (``same_layout=False``), the same text drawn."""
    ta, tb = _svg_root(a), _svg_root(b)
    if not same_layout:
        texts_a, texts_b = _drawn_text(ta), _drawn_text(tb)
        return len(texts_a) == len(texts_b) and all(
            same_text(x, y) for x, y in zip(texts_a, texts_b))
    ea, eb = list(ta.iter()), list(tb.iter())
    if len(ea) != len(eb):
        return False
    for x, y in zip(ea, eb):
        if x.tag != y.tag or sorted(x.attrib) != sorted(y.attrib):
            return False
        if not all(same_text(x.attrib[k], y.attrib[k], FIGURE_RTOL, FIGURE_ATOL)
                   for k in x.attrib):
            return False
        if not same_text((x.text or "").strip(), (y.text or "").strip()):
            return False
        if not same_text((x.tail or "").strip(), (y.tail or "").strip()):
            return False
    return True


def _without_versions(name: str, text: str) -> str:
    alternatives = "|".join(re.escape(s) for s in SOFTWARE)
    if name.endswith(".html"):
        return re.sub(rf"<tr><td>({alternatives})</td><td>[^<]*</td></tr>", "", text)
    return re.sub(rf"^\| ({alternatives}) \| [^|]+ \|$", "", text, flags=re.MULTILINE)


def same_document(name: str, a: bytes, b: bytes, *, same_layout: bool = True) -> bool:
    """Markdown or HTML: text and numbers as :func:`same_text`; inline SVG as SVG."""
    ta = _without_versions(name, a.decode("utf-8"))
    tb = _without_versions(name, b.decode("utf-8"))
    svgs_a, svgs_b = SVG_BLOCK.findall(ta), SVG_BLOCK.findall(tb)
    if len(svgs_a) != len(svgs_b):
        return False
    if not all(same_svg(x, y, same_layout=same_layout) for x, y in zip(svgs_a, svgs_b)):
        return False
    return same_text(SVG_BLOCK.sub("<svg/>", ta), SVG_BLOCK.sub("<svg/>", tb))


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height
