"""Text helpers shared by the outputs: CSV cells safe from formula injection, Markdown
text that stays text."""

from __future__ import annotations

import pytest

from metaview.render.format import csv_text
from metaview.report.markdown import _cell, _text


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"),
    ("+SUM(A1)", "'+SUM(A1)"),
    ("-allo", "'-allo"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("-0.25", "-0.25"),  # a negative number is not text
    ("+3", "+3"),
    ("-1e-05", "-1e-05"),
    ("-inf", "-inf"),
    ("- 1", "'- 1"),
    ("Zurko 2023", "Zurko 2023"),
    ("a=b", "a=b"),
    ("", ""),
    (-0.25, -0.25),
    (3, 3),
    (None, None),
    (True, True),
])
def test_csv_text(value, expected):
    assert csv_text(value) == expected


@pytest.mark.parametrize("text, expected", [
    ("Zurko 2023", "Zurko 2023"),
    ("allo-HSCT after CAR-T failure", "allo-HSCT after CAR-T failure"),
    ("ALLO_HSCT", "ALLO_HSCT"),
    ("![p](https://example.org/p.png)", "!\\[p\\](https://example.org/p.png)"),
    ("<b>x</b> &amp;", "&lt;b&gt;x&lt;/b&gt; &amp;amp;"),
    ("*a* _b_ `c` ~~d~~ $e$", "\\*a\\* \\_b\\_ \\`c\\` \\~\\~d\\~\\~ \\$e\\$"),
    ("# title", "\\# title"),
    ("> quote", "&gt; quote"),  # an entity: no block quote
    ("- item", "\\- item"),
    ("1. item", "1\\. item"),
    ("4.0% (1.8-8.8)", "4.0% (1.8-8.8)"),
    ("a\nb\tc\rd", "a b c d"),
    ("back\\slash", "back\\\\slash"),
])
def test_markdown_text(text, expected):
    assert _text(text) == expected


def test_markdown_cell_escapes_pipes():
    assert _cell("a | b") == "a \\| b"
