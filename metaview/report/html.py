"""``index.html``: one self-contained page (inline CSS and SVG; no scripts, nothing fetched).

Every piece of text goes through :func:`html.escape`; links are written only for http(s)
addresses. A Content-Security-Policy forbids the page to load anything at all, so even a
mistake elsewhere cannot make it fetch a resource.
"""

from __future__ import annotations

from html import escape

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
from metaview.report.figures import inline_svg

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
:root {
  --ink: #1d2430; --muted: #5b6472; --rule: #d8dde4; --band: #f4f6f9;
  --accent: #1f5f99; --finding: #eef5fb; --warn: #fff6e5; --warn-rule: #e0a43a;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; color: var(--ink); background: #fff;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
        "Noto Sans", "Liberation Sans", sans-serif;
}
header, main, footer { max-width: 78rem; margin: 0 auto; padding: 0 2rem; }
header { padding-top: 2.2rem; }
nav { border-bottom: 3px solid var(--accent); padding-bottom: 1rem; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: 0 0 .3rem; }
.subtitle { color: var(--muted); margin: 0 0 1rem; font-size: 1.05rem; }
nav ol { margin: 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap;
         gap: .25rem 1.25rem; font-size: .92rem; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
section { margin: 0; }
main > section { padding: 1.4rem 0 .6rem; border-bottom: 1px solid var(--rule); }
h2 { font-size: 1.45rem; margin: .4rem 0 .8rem; }
h3 { font-size: 1.12rem; margin: 1.4rem 0 .5rem; }
p { margin: .5rem 0 .8rem; max-width: 52rem; }
p.lead { font-size: 1.1rem; max-width: 56rem; }
p.note, figcaption, caption { color: var(--muted); font-size: .92rem; }
ul, ol { padding-left: 1.4rem; max-width: 58rem; }
li { margin: .35rem 0; }
a { color: var(--accent); }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono",
       monospace; font-size: .86em; background: var(--band); padding: .05em .3em;
       border-radius: 3px; overflow-wrap: anywhere; }
.callout { border-left: 4px solid var(--accent); background: var(--finding);
           padding: .6rem 1.1rem .4rem; margin: 1rem 0; border-radius: 0 6px 6px 0;
           max-width: 58rem; }
.callout.warning { border-left-color: var(--warn-rule); background: var(--warn); }
.callout h3 { margin: .2rem 0 .3rem; font-size: 1.05rem; }
.callout p { margin: .35rem 0; }
.table-wrap { overflow-x: auto; margin: .6rem 0 1.2rem; }
table { border-collapse: collapse; font-size: .9rem; line-height: 1.4; width: 100%; }
caption { caption-side: bottom; text-align: left; padding-top: .45rem; }
th, td { text-align: left; vertical-align: top; padding: .42rem .7rem .42rem 0; }
th { font-weight: 600; border-bottom: 2px solid var(--ink); white-space: nowrap; }
td { border-bottom: 1px solid var(--rule); }
tbody tr:nth-child(even) td { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td { font-variant-numeric: tabular-nums; }
table.facts { width: auto; max-width: 58rem; }
table.facts td:first-child { font-weight: 600; white-space: nowrap; padding-right: 1.5rem; }
table.facts thead { display: none; }
table.pooled td:first-child, table.comparison td:first-child { white-space: nowrap; }
table.pooled td:nth-child(n+4), table.comparison td:nth-child(n+2) { white-space: nowrap; }
table.pooled td:nth-child(3) { min-width: 9rem; }
table.provenance, table.warnings { font-size: .82rem; }
table.provenance td:nth-child(2) { min-width: 8rem; }
table.provenance td:nth-child(3) { min-width: 7rem; }
table.provenance td:nth-child(4), table.provenance td:nth-child(5) { min-width: 15rem; }
table.provenance td:nth-child(6) { min-width: 8rem; }
table.provenance td:last-child { white-space: nowrap; }
table.warnings td:first-child, table.warnings td:nth-child(2) { white-space: nowrap; }
table.inputs td:last-child, table.inputs td:first-child { font-family: ui-monospace, Menlo,
  Consolas, "Liberation Mono", monospace; font-size: .8rem; }
table.versions, table.inputs { width: auto; }
table.characteristics td:first-child { font-weight: 600; min-width: 11rem; }
table.characteristics td { min-width: 6rem; max-width: 18rem; }
table.studies td:nth-child(7) { min-width: 16rem; }
figure { margin: 1.2rem 0 2rem; }
figure svg { display: block; max-width: 100%; height: auto; }
/* The figures name DejaVu Sans (it ships with matplotlib, which laid the text out); where a
   reader lacks it, fall back to fonts of the same width. */
figure svg text { font-family: "DejaVu Sans", "Bitstream Vera Sans", Verdana, sans-serif
                  !important; }
figcaption { margin-top: .4rem; max-width: 58rem; }
figcaption strong { color: var(--ink); }
footer { color: var(--muted); font-size: .85rem; padding-top: 1rem; padding-bottom: 2.5rem; }
@media print {
  header, main, footer { max-width: none; padding: 0; }
  main > section { break-inside: auto; }
  figure, .callout, tr { break-inside: avoid; }
  nav { display: none; }
}
"""


def render_html(doc: Document) -> str:
    """The page as text (UTF-8 when written)."""
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="metaview {escape(__version__)}">',
        f"<title>{escape(doc.title)}</title>",
        "<style>" + CSS.strip("\n") + "\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(doc.title)}</h1>",
        f'<p class="subtitle">{escape(doc.subtitle)}</p>',
        '<nav aria-label="Contents"><ol>',
    ]
    for s in doc.sections:
        out.append(f'<li><a href="#{escape(s.id)}">{escape(s.title)}</a></li>')
    out += ["</ol></nav>", "</header>", "<main>"]
    counter = [0]
    for s in doc.sections:
        out.extend(_section(s, 2, counter))
    out += [
        "</main>",
        (f"<footer>metaview {escape(__version__)} \u00b7 the same report is in report.md; its "
        "tables are in studies.csv, pooled.csv, comparison.csv, provenance.csv and "
        "prior-sensitivity.csv.</footer>"),
        "</body>",
        "</html>",
    ]
    return "\n".join(out) + "\n"


def _section(s: Section, level: int, counter: list[int]) -> list[str]:
    out = [f'<section id="{escape(s.id)}">', f"<h{level}>{escape(s.title)}</h{level}>"]
    for b in s.blocks:
        out.extend(_block(b, level, counter))
    for sub in s.subsections:
        out.extend(_section(sub, min(level + 1, 6), counter))
    out.append("</section>")
    return out


def _block(b: Block, level: int, counter: list[int]) -> list[str]:
    if isinstance(b, Paragraph):
        cls = "" if b.kind == "text" else f' class="{escape(b.kind)}"'
        return [f"<p{cls}>{_inline(b.parts)}</p>"]
    if isinstance(b, BulletList):
        tag = "ol" if b.ordered else "ul"
        return [f"<{tag}>"] + [f"<li>{_inline(p.parts)}</li>" for p in b.items] + [f"</{tag}>"]
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, FigureRef):
        counter[0] += 1
        svg = inline_svg(b.svg, prefix=f"f{counter[0]}", label=b.title) if b.svg else ""
        return [
            f'<figure id="{escape(b.stem)}">',
            svg.rstrip("\n"),
            (f"<figcaption><strong>Figure {counter[0]}.</strong> {escape(b.caption)} "
            f'Files: <a href="{escape(b.stem)}.svg">{escape(b.stem)}.svg</a>, '
            f'<a href="{escape(b.stem)}.png">{escape(b.stem)}.png</a>.</figcaption>'),
            "</figure>",
        ]
    if isinstance(b, Callout):
        h = min(level + 1, 6)
        out = [f'<div class="callout {escape(b.kind)}">', f"<h{h}>{escape(b.title)}</h{h}>"]
        for inner in b.blocks:
            out.extend(_block(inner, h, counter))
        out.append("</div>")
        return out
    raise TypeError(f"cannot render {type(b).__name__}")  # pragma: no cover


def _table(t: Table) -> list[str]:
    cls = f' class="{escape(t.name)}"' if t.name else ""
    out = ['<div class="table-wrap">', f"<table{cls}>"]
    if t.caption:
        out.append(f"<caption>{escape(t.caption)}</caption>")
    heads = []
    for c in t.columns:
        num = ' class="num"' if c in t.numeric else ""
        heads.append(f'<th scope="col"{num}>{escape(c)}</th>')
    out.append("<thead><tr>" + "".join(heads) + "</tr></thead>")
    out.append("<tbody>")
    for row in t.rows:
        cells = []
        for c, value in zip(t.columns, row):
            num = ' class="num"' if c in t.numeric else ""
            cells.append(f"<td{num}>{escape(value)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>", "</div>"]
    return out


def _inline(parts: tuple[Inline, ...]) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(escape(p))
            continue
        text = escape(p.text)
        if p.style == "strong":
            out.append(f"<strong>{text}</strong>")
        elif p.style == "em":
            out.append(f"<em>{text}</em>")
        elif p.style == "code":
            out.append(f"<code>{text}</code>")
        elif p.style == "link" and _safe_href(p.href):
            out.append(f'<a href="{escape(p.href or "")}">{text}</a>')
        else:
            out.append(text)
    return "".join(out)


def _safe_href(href: str | None) -> bool:
    """Only http(s) links: a ``javascript:`` or ``data:`` address from a study file is shown
    as text."""
    if not href:
        return False
    return href.strip().lower().startswith(("https://", "http://"))

