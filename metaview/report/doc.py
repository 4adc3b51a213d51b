"""A small document model shared by the HTML and Markdown writers.

The report's content is built once as sections of paragraphs, lists, tables and figures
holding plain text; each writer only decides how to show them (and escapes every piece of
text, so study-provided text can never become markup). That is what keeps ``index.html`` and
``report.md`` saying the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    """A run of text with an optional style: ``strong``, ``em``, ``code`` or ``link``."""

    text: str
    style: str | None = None
    href: str | None = None  # for style="link"


Inline = str | Span


@dataclass(frozen=True)
class Paragraph:
    parts: tuple[Inline, ...]
    kind: str = "text"  # "text", "lead" (an opening summary), "note" (small print)

    @classmethod
    def of(cls, *parts: Inline, kind: str = "text") -> Paragraph:
        return cls(tuple(parts), kind)


@dataclass(frozen=True)
class BulletList:
    items: tuple[Paragraph, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Table:
    """A table of plain-text cells; ``numeric`` names the columns to right-align."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str | None = None
    numeric: frozenset[str] = frozenset()
    name: str = ""  # a CSS class hint, e.g. "provenance"


@dataclass(frozen=True)
class FigureRef:
    """A figure written next to the report: ``<stem>.svg`` and ``<stem>.png``."""

    stem: str
    title: str
    caption: str
    svg: str  # the SVG document, ready to be embedded
    png: bytes


@dataclass(frozen=True)
class Callout:
    """A boxed paragraph group (a key finding, or a warning that must not be missed)."""

    title: str
    blocks: tuple[Block, ...]
    kind: str = "finding"  # "finding" or "warning"


Block = Paragraph | BulletList | Table | FigureRef | Callout


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    sections: tuple[Section, ...]

    def figures(self) -> list[FigureRef]:
        """Every figure, in reading order."""
        out: list[FigureRef] = []

        def visit(blocks: list[Block] | tuple[Block, ...]) -> None:
            for b in blocks:
                if isinstance(b, FigureRef):
                    out.append(b)
                elif isinstance(b, Callout):
                    visit(b.blocks)

        def walk(section: Section) -> None:
            visit(section.blocks)
            for s in section.subsections:
                walk(s)

        for s in self.sections:
            walk(s)
        return out
