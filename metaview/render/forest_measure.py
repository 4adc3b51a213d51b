"""Measuring and wrapping the forest plot's text with the fonts' real widths."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from metaview.render.forest_style import LINE_CHARS

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.font_manager import FontProperties


# =========================================================================== measuring text


_OPERATORS = {"=", "<", ">", "\u2264", "\u2265"}
_SPACE_RE = re.compile(r"\s+")


def one_line(text: str) -> str:
    """``text`` with every run of white space (line breaks, tabs) as one space."""
    return _SPACE_RE.sub(" ", text).strip() if text else ""


def _units(text: str) -> list[str]:
    """Words, with ``a = b`` and a parenthesised phrase of up to six words glued."""
    words = [w for w in text.split(" ") if w]
    glued: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _OPERATORS and glued and i + 1 < len(words):
            glued[-1] = f"{glued[-1]} {w} {words[i + 1]}"
            i += 2
            continue
        if w.startswith("(") and ")" not in w:
            end = next((j for j in range(i + 1, min(i + 6, len(words)))
                        if ")" in words[j]), None)
            if end is not None:
                glued.append(" ".join(words[i:end + 1]))
                i = end + 1
                continue
        glued.append(w)
        i += 1
    return glued


class _Measure:
    """Text extents in inches. Hinting makes a text's width depend on the resolution, so it
    is measured with Agg renderers at screen and print resolutions and the widest is kept,
    with a little slack."""

    DPIS = (72, 100, 150, 300)
    SLACK = 1.02

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import RendererAgg

        self._renderers = [(RendererAgg(10, 10, dpi), dpi) for dpi in self.DPIS]
        self._cache: dict[tuple[str, Any], float] = {}

    def width(self, text: str, font: FontProperties) -> float:
        if not text:
            return 0.0
        key = (text, font)
        if key not in self._cache:
            self._cache[key] = self.SLACK * max(
                r.get_text_width_height_descent(line, font, ismath=False)[0] / dpi
                for r, dpi in self._renderers for line in text.split("\n"))
        return self._cache[key]

    def wrap(self, text: str, font: FontProperties, width: float, max_lines: int) -> list[str]:
        """Greedy word wrap to ``width`` inches; a word too long for a line is broken; past
        ``max_lines`` the last line ends with an ellipsis. ``x = 1`` and a short phrase in
        parentheses are kept on one line when they fit. Line breaks and tabs in ``text``
        count as spaces, and at most ``max_lines * LINE_CHARS`` characters are laid out, so
        the time taken is bounded whatever the text (break points are found by a galloping
        binary search, a few measurements per line)."""
        text = one_line(text)
        if not text:
            return [""]
        limit = max_lines * LINE_CHARS
        cut_short = len(text) > limit
        if cut_short:
            text = text[:limit]
        units: list[str] = []
        for unit in _units(text):
            if " " in unit and self.width(unit, font) > width:
                units.extend(unit.split(" "))
            else:
                units.append(unit)
        lines: list[str] = []
        for word in units:
            if len(lines) > max_lines:
                break
            candidate = f"{lines[-1]} {word}" if lines else word
            if lines and self.width(candidate, font) <= width:
                lines[-1] = candidate
                continue
            while len(lines) <= max_lines and self.width(word, font) > width:
                cut = self._fit(word, font, width)
                lines.append(word[:cut])
                word = word[cut:]
            lines.append(word)
        if len(lines) > max_lines or cut_short:
            end = min(len(lines), max_lines) - 1
            last = lines[end]
            keep = self._fit(last, font, width, suffix="\u2026", least=0)
            lines = lines[:end] + [last[:keep].rstrip() + "\u2026"]
        return lines

    def _fit(self, word: str, font: FontProperties, width: float, *, suffix: str = "",
             least: int = 1) -> int:
        """The longest prefix of ``word`` (at least ``least`` characters) that, followed by
        ``suffix``, fits in ``width``: widths grow with the prefix, so a galloping search
        (1, 2, 4, ... characters) then a binary search take O(log n) measurements."""
        def fits(k: int) -> bool:
            return self.width(word[:k] + suffix, font) <= width

        n = len(word)
        good, bad = least, n + 1  # fits(good) is assumed, fits(bad) is known false
        step = max(1, least)
        while good < n:
            probe = min(n, good + step)
            if fits(probe):
                good = probe
                step *= 2
            else:
                bad = probe
                break
        while bad - good > 1:
            mid = (good + bad) // 2
            if fits(mid):
                good = mid
            else:
                bad = mid
        return good


# =========================================================================== layout
