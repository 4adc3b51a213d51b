"""``report.md``: the report in Markdown (GitHub-flavoured tables; figures as PNG links).

Study-provided text is escaped so that it stays text: ``<`` and ``>`` become entities (a
Markdown renderer would otherwise pass HTML through), the characters that make emphasis,
code, links, images, strikethrough and math get a backslash (so ``![p](https://...)`` is
not an image to fetch), so does a ``# ``, ``- ``, ``+ ``, ``= `` or ``1. `` that would
start a block (``>`` is an entity already), ``|`` is escaped inside tables, and line
breaks and tabs become spaces.
"""

from __future__ import annotations

import re

from metaview import __version__
from metaview.report.doc import (
    Block,
    BulletList,
    Callout,
    Document,
    FigureRef,
    Inline,
    Paragraph,
    Section,
    Table,
)


def render_markdown(doc: Document) -> str:
    out: list[str] = [f"# {_text(doc.title)}", "", f"*{_text(doc.subtitle)}*", ""]
    out.append("Contents: " + " \u00b7 ".join(f"[{_text(s.title)}](#{s.id})"
                                            for s in doc.sections))
    out.append("")
    counter = [0]
    for s in doc.sections:
        out.extend(_section(s, 2, counter))
    out += ["---", "", (f"metaview {__version__} \u00b7 the same report as index.html; its "
            "tables are in studies.csv, pooled.csv, comparison.csv, provenance.csv and "
            "prior-sensitivity.csv."), ""]
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text


def _section(s: Section, level: int, counter: list[int]) -> list[str]:
    out = [f'<a id="{s.id}"></a>', "", f"{'#' * level} {_text(s.title)}", ""]
    for b in s.blocks:
        out.extend(_block(b, level, counter))
        out.append("")
    for sub in s.subsections:
        out.extend(_section(sub, min(level + 1, 6), counter))
    return out


def _block(b: Block, level: int, counter: list[int]) -> list[str]:
    if isinstance(b, Paragraph):
        text = _inline(b.parts)
        return [f"*{text}*" if b.kind == "note" and "*" not in text else text]
    if isinstance(b, BulletList):
        return [("1. " if b.ordered else "- ") + _inline(p.parts) for p in b.items]
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, FigureRef):
        counter[0] += 1
        return [f"![{_text(b.title)}]({b.stem}.png)", "",
                (f"**Figure {counter[0]}.** {_text(b.caption)} "
                 f"Files: [{b.stem}.svg]({b.stem}.svg), [{b.stem}.png]({b.stem}.png).")]
    if isinstance(b, Callout):
        out = [f"> **{_text(b.title)}**", ">"]
        for i, inner in enumerate(b.blocks):
            for line in _block(inner, level + 1, counter):
                out.append(f"> {line}".rstrip())
            if i < len(b.blocks) - 1:
                out.append(">")
        return out
    raise TypeError(f"cannot render {type(b).__name__}")  # pragma: no cover


def _table(t: Table) -> list[str]:
    out = []
    if t.caption:
        out += [f"*{_text(t.caption)}*", ""]
    out.append("| " + " | ".join(_cell(c) or " " for c in t.columns) + " |")
    out.append("|" + "|".join("---:" if c in t.numeric else "---" for c in t.columns) + "|")
    for row in t.rows:
        out.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return out


def _inline(parts: tuple[Inline, ...]) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(_text(p))
        elif p.style == "strong":
            out.append(f"**{_text(p.text).strip()}**" + (" " if p.text.endswith(" ") else ""))
        elif p.style == "em":
            out.append(f"*{_text(p.text)}*")
        elif p.style == "code":
            out.append(f"`{p.text.replace('`', '')}`")
        elif p.style == "link" and p.href and p.href.lower().startswith(("https://", "http://")):
            out.append(f"[{_text(p.text)}](<{_html_safe(p.href)}>)")
        else:
            out.append(_text(p.text))
    return "".join(out)


_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


# an underscore inside a word (ALLO_HSCT) makes no emphasis and is left as it is
_INLINE_RE = re.compile(r"([\\`*\[\]~$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
_BLOCK_START_RE = re.compile(r"^(\s*)(#{1,6}(?=\s|$)|[-+=](?=\s|$)|\d{1,9}[.)](?=\s|$))")


def _html_safe(s: str) -> str:
    """No HTML, no character references, no line breaks or tabs (a lone ``&`` is left as it
    is, readable in the source)."""
    s = _ENTITY_RE.sub(lambda m: "&amp;" + m.group(0)[1:], s)
    return (s.replace("<", "&lt;").replace(">", "&gt;").replace("\r", " ").replace("\n", " ")
            .replace("\t", " "))


def _text(s: str) -> str:
    """Text that a Markdown renderer shows as written: :func:`_html_safe`, and a backslash
    before every character that would make markup (emphasis, code, links and images,
    strikethrough, math) and before a block marker at the start."""
    s = _INLINE_RE.sub(r"\\\1", s)
    s = _BLOCK_START_RE.sub(lambda m: m.group(1) + _escape_marker(m.group(2)), s)
    return _html_safe(s)


def _escape_marker(marker: str) -> str:
    return "\\" + marker if not marker[0].isdigit() else marker[:-1] + "\\" + marker[-1]


def _cell(s: str) -> str:
    return _text(s).replace("|", "\\|")
