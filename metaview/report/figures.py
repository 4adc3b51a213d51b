"""Figures as bytes: deterministic SVG and PNG files, and SVG ready to be inlined in HTML."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class FigureFiles:
    """One figure as the report writes it."""

    svg: str  # the .svg file; also inlined in the HTML page
    png: bytes  # the .png file


def figure_files(fig: Figure) -> FigureFiles:
    """The figure as SVG and PNG, written by :func:`metaview.render.forest.save_figure` (so
    they match the ``forest`` command's files: fixed font, text kept as text, no dates, fixed
    SVG ids), hence identical from run to run."""
    from metaview.render.forest import save_figure

    with tempfile.TemporaryDirectory(prefix="metaview-figure-") as tmp:
        svg = save_figure(fig, Path(tmp) / "figure.svg").read_text(encoding="utf-8")
        png = save_figure(fig, Path(tmp) / "figure.png").read_bytes()
    return FigureFiles(svg=svg, png=png)


_ID_RE = re.compile(r'\bid="([^"]+)"')
_SIZE_RE = re.compile(r'\s(width|height)="([0-9.]+)(pt|px)?"')

#: Inline figures are drawn at this multiple of their natural size (points -> CSS pixels),
#: never wider than the page. The same factor for every figure keeps their text one size.
INLINE_SCALE = 1.75


def inline_svg(svg: str, *, prefix: str, label: str) -> str:
    """An SVG document made fit to sit inside an HTML page.

    Drops the XML prolog, DOCTYPE and metadata; makes every ``id`` unique to this figure
    (several figures on one page would otherwise share matplotlib's clip-path and marker
    ids); replaces the fixed width and height by CSS scaling with the ``viewBox`` kept; adds
    ``role="img"`` and an ``aria-label`` (``label`` is escaped here).
    """
    from html import escape

    start = svg.find("<svg")
    if start < 0:
        raise ValueError("not an SVG document")
    body = svg[start:]
    body = re.sub(r"\s*<metadata>.*?</metadata>", "", body, count=1, flags=re.DOTALL)
    # matplotlib's <style> says "*{...}"; inside an HTML page that would reach every element.
    body = body.replace("<style type=\"text/css\">*{", f"<style type=\"text/css\">#{prefix} *{{", 1)
    ids = _ID_RE.findall(body)
    for old in sorted(set(ids), key=len, reverse=True):
        new = f"{prefix}-{old}"
        body = body.replace(f'id="{old}"', f'id="{new}"')
        body = body.replace(f"url(#{old})", f"url(#{new})")
        body = body.replace(f'href="#{old}"', f'href="#{new}"')
    open_tag_end = body.find(">")
    tag = body[:open_tag_end]
    size = {m.group(1): float(m.group(2)) * (4 / 3 if m.group(3) in (None, "pt") else 1.0)
            for m in _SIZE_RE.finditer(tag)}
    tag = re.sub(r'\s(width|height)="[^"]*"', "", tag)
    tag += f' id="{prefix}" role="img" aria-label="{escape(label)}" class="figure-svg"'
    if "width" in size:
        tag += f' style="width: {size["width"] * INLINE_SCALE:.0f}px"'
    return tag + body[open_tag_end:].rstrip() + "\n"
