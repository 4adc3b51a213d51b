"""Laying out the forest plot: columns, rows, fonts that fit, bands and pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from metaview.display import level_percent
from metaview.render import format as fmt
from metaview.render.forest_cells import (
    _bayes_prior,
    _Cell,
    _footnotes,
    _group_notes,
    _index_id,
    _Panel,
    _patients,
    _reference_origin,
    _Row,
    _rows,
    _study_cell,
    _subgroup_note,
    _summary,
    _weight_note,
)
from metaview.render.forest_measure import _Measure, one_line
from metaview.render.forest_style import (
    AXIS_HEIGHT,
    COL_GAP,
    FONT_FAMILY,
    FONT_SIZE,
    LABEL_MAX_LINES,
    LABEL_MAX_WIDTH,
    LABEL_MIN_WIDTH,
    LINE_CHARS,
    LINE_SPACING,
    MARGIN,
    MARK_PAD,
    MIN_FONT_SIZE,
    NOTE_MAX_LINES,
    NOTE_SIZE,
    PANEL_GAP,
    PANEL_TITLE_SIZE,
    PLOT_MAX_WIDTH,
    PLOT_WIDTH,
    ROW,
    TITLE_SIZE,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.font_manager import FontProperties

    from metaview.model import PooledResult, Study, StudyEstimate


@dataclass
class _Columns:
    """Horizontal positions (inches from the left) of one panel's columns."""

    left: float
    reported_right: float
    plot_left: float
    plot_right: float
    estimate_right: float
    weight_right: float

    @property
    def right(self) -> float:
        return self.weight_right


@dataclass
class _Layout:
    width: float
    height: float
    label_left: float
    label_width: float
    n_right: float
    panels: list[_Columns]
    title_top: float
    panel_title_top: float
    panel_title_height: float
    header_top: float
    body_top: float
    body_bottom: float
    footnote_top: float
    footnotes: list[str] = field(default_factory=list)


class _Scaled:
    """A size of :class:`_Geometry` that scales with its body font (``base`` at the default)."""

    def __init__(self, base: float) -> None:
        self.base = base

    def __get__(self, geo: _Geometry | None, owner: type | None = None) -> float:
        return self.base if geo is None else self.base * geo.scale


@dataclass(frozen=True)
class _Geometry:
    """Sizes of one layout: fonts (points), row height, column widths (inches), and which
    optional columns are shown. Every size scales with the body font."""

    font_size: float = FONT_SIZE
    plot_width: float = PLOT_WIDTH
    label_max_width: float = LABEL_MAX_WIDTH
    label_min_width: float = LABEL_MIN_WIDTH
    show_reported: bool = True
    show_weight: bool = True

    @property
    def scale(self) -> float:
        return self.font_size / FONT_SIZE

    note_size = _Scaled(NOTE_SIZE)
    panel_title_size = _Scaled(PANEL_TITLE_SIZE)
    title_size = _Scaled(TITLE_SIZE)
    row = _Scaled(ROW)
    col_gap = _Scaled(COL_GAP)
    panel_gap = _Scaled(PANEL_GAP)
    axis_height = _Scaled(AXIS_HEIGHT)


def _fitting_steps(font_size: float, fixed_font: bool) -> list[_Geometry]:
    """Layouts from the roomiest to the most compact, tried in turn until one fits the
    width: narrower labels and plots, then without the Reported column, then without
    Weight, then (unless the font size was chosen) smaller fonts."""
    steps = [
        _Geometry(font_size),
        _Geometry(font_size, 1.25, 1.7),
        _Geometry(font_size, 1.0, 1.3, 0.8),
    ]
    if not fixed_font and font_size - 0.5 >= MIN_FONT_SIZE:
        steps.append(_Geometry(font_size - 0.5, 1.0, 1.3, 0.8))
        font_size -= 0.5
    steps += [
        _Geometry(font_size, 1.0, 1.3, 0.8, show_reported=False),
        _Geometry(font_size, 1.0, 1.3, 0.8, show_reported=False, show_weight=False),
        _Geometry(font_size, 0.8, 1.0, 0.6, show_reported=False, show_weight=False),
    ]
    if not fixed_font:
        size = font_size
        while size > MIN_FONT_SIZE:
            size = max(MIN_FONT_SIZE, size - 0.5)
            steps.append(_Geometry(size, 0.8, 1.0, 0.55, show_reported=False,
                                   show_weight=False))
        steps.append(_Geometry(size, 0.6, 0.8, 0.5, show_reported=False, show_weight=False))
    return steps


@dataclass
class _Fonts:
    body: FontProperties
    bold: FontProperties
    note: FontProperties
    panel_title: FontProperties
    title: FontProperties

    @classmethod
    def create(cls, geo: _Geometry | None = None) -> _Fonts:
        from matplotlib.font_manager import FontProperties

        geo = geo or _Geometry()

        def fp(size: float, weight: str = "normal") -> FontProperties:
            return FontProperties(family=FONT_FAMILY, size=size, weight=weight)

        return cls(fp(geo.font_size), fp(geo.font_size, "bold"), fp(geo.note_size),
                   fp(geo.panel_title_size, "bold"), fp(geo.title_size, "bold"))


@dataclass
class _Plan:
    """Everything the drawing steps need: data, texts and positions."""

    panels: list[_Panel]
    rows: list[_Row]
    index_id: str | None
    index_group: str | None | object
    patients: dict[str, str]
    title: str | None
    fonts: _Fonts
    measure: _Measure
    geo: _Geometry = field(default_factory=_Geometry)
    labels: dict[int, list[str]] = field(default_factory=dict)  # row position -> lines
    panel_titles: list[tuple[list[str], list[str]]] = field(default_factory=list)
    notes: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # (panel, row)
    layout: _Layout | None = None

    def cell(self, p: int, row: _Row) -> _Cell:
        panel = self.panels[p]
        return _study_cell(panel, row.group, row.key,
                           _reference_origin(panel, row.group, self.index_id))


def _line_height(size: float) -> float:
    return size * LINE_SPACING / 72.0


def _plan_columns(plan: _Plan) -> _Layout:
    """Column widths from the widest text in each column; row heights from wrapped text."""
    m, f, geo = plan.measure, plan.fonts, plan.geo
    gap = geo.col_gap
    label_texts = [one_line(r.label)[:LABEL_MAX_LINES * LINE_CHARS] for r in plan.rows
                   if r.kind == "study"]
    label_width = min(geo.label_max_width, max([geo.label_min_width, m.width("Study", f.bold)]
                                               + [m.width(t, f.bold) for t in label_texts]))
    shown = {r.key for r in plan.rows if r.kind == "study"}
    n_width = max([m.width("n", f.bold)] + [m.width(v, f.body) for k, v in plan.patients.items()
                                             if k in shown])
    x = MARGIN
    label_left = x
    x += label_width + gap + n_width
    n_right = x
    columns = []
    for p, panel in enumerate(plan.panels):
        heads = _column_heads(panel)
        reported = [heads[0]]
        estimates = [heads[1]]
        weights = [heads[2]]
        reported_marks, estimate_marks = [""], [""]
        for row in plan.rows:
            if row.kind == "study":
                c = plan.cell(p, row)
                reported.append(c.reported)
                estimates.append(c.estimate)
                weights.append(c.weight)
                reported_marks.append(c.reported_marks)
                estimate_marks.append(c.estimate_marks)
            elif row.kind == "summary":
                s = _summary(panel, row.group, row.key, plan.index_id)
                reported.append(s.reported)
                estimates.append(s.estimate)
        left = x + geo.panel_gap
        if geo.show_reported:
            reported_right = left + max(m.width(t, f.bold if i == 0 else f.body)
                                        for i, t in enumerate(reported))
            plot_left = (reported_right + MARK_PAD
                         + max(m.width(t, f.body) for t in reported_marks) + gap)
        else:  # its marks go after the estimate
            reported_right = plot_left = left
            estimate_marks = [a + b for a, b in zip(estimate_marks, reported_marks)]
        plot_right = plot_left + geo.plot_width
        estimate_right = plot_right + gap + max(m.width(t, f.bold) for t in estimates)
        weight_right = (estimate_right + MARK_PAD
                        + max(m.width(t, f.body) for t in estimate_marks))
        if geo.show_weight:
            weight_right += gap + max(m.width(t, f.bold) for t in weights)
        columns.append(_Columns(left, reported_right, plot_left, plot_right, estimate_right,
                                weight_right))
        x = weight_right
    width = x + MARGIN
    return _Layout(width=width, height=0.0, label_left=label_left, label_width=label_width,
                   n_right=n_right, panels=columns, title_top=0.0, panel_title_top=0.0,
                   panel_title_height=0.0, header_top=0.0, body_top=0.0, body_bottom=0.0,
                   footnote_top=0.0)


def _plan_rows(plan: _Plan, layout: _Layout) -> None:
    """Wrap labels and notes, then give every row its height and position."""
    m, f, geo = plan.measure, plan.fonts, plan.geo
    ROW = geo.row  # noqa: N806 - the row height of this layout
    line = _line_height(geo.font_size)
    note_line = _line_height(geo.note_size)
    first_plot = layout.panels[0].plot_left if layout.panels else layout.width - MARGIN
    for i, row in enumerate(plan.rows):
        heights = [ROW]
        if row.kind in ("study", "summary"):
            font = f.bold if (row.kind == "summary" or row.key == plan.index_id) else f.body
            lines = m.wrap(row.label, font, layout.label_width, LABEL_MAX_LINES)
            plan.labels[i] = lines
            heights.append(ROW + (len(lines) - 1) * line)
        elif row.kind == "group":
            lines = m.wrap(row.label, f.bold, first_plot - layout.label_left - geo.col_gap,
                           LABEL_MAX_LINES)
            plan.labels[i] = lines
            heights.append(ROW + (len(lines) - 1) * line)
        for p, cols in enumerate(layout.panels):
            text = _panel_text(plan, p, row)
            if not text:
                continue
            font = f.note if row.kind in ("notes", "subgroup") else f.body
            avail = cols.right - (cols.left if row.kind in ("notes", "subgroup")
                                  else cols.plot_left + 0.04)
            lines = []
            for t in text:
                lines += m.wrap(t, font, avail, NOTE_MAX_LINES)
            plan.notes[(p, i)] = lines
            lh = note_line if font is f.note else line
            heights.append(ROW + (len(lines) - 1) * lh if row.kind not in ("notes", "subgroup")
                           else len(lines) * lh + 0.06)
        if row.kind == "notes" and len(heights) == 1:
            heights = [0.04]
        if row.kind == "gap":
            heights = [ROW / 2]
        row.height = max(heights)


def _panel_text(plan: _Plan, p: int, row: _Row) -> list[str]:
    """Free text of one panel in one row: NR notes, empty summaries, footnote lines."""
    panel = plan.panels[p]
    if row.kind == "study":
        note = plan.cell(p, row).note
        return [note] if note else []
    if row.kind == "summary":
        note = _summary(panel, row.group, row.key, plan.index_id).note
        return [note] if note else []
    if row.kind == "notes":
        return _group_notes(panel, row.group, row.group == plan.index_group, plan.index_id,
                            with_k=not plan.geo.show_reported)
    if row.kind == "subgroup":
        note = _subgroup_note(panel)
        return [note] if note else []
    return []


def _plan_vertical(plan: _Plan, layout: _Layout, footnote_lines: list[str],
                   top: float = MARGIN) -> None:
    m, f, geo = plan.measure, plan.fonts, plan.geo
    y = top
    layout.title_top = y
    if plan.title:
        title_lines = m.wrap(plan.title, f.title, layout.width - 2 * MARGIN, 3)
        plan.title = "\n".join(title_lines)
        y += len(title_lines) * _line_height(geo.title_size) + 0.08
    layout.panel_title_top = y
    plan.panel_titles = []
    for panel, cols in zip(plan.panels, layout.panels, strict=True):
        first, *rest = _panel_title(panel)
        room = cols.right - cols.left
        plan.panel_titles.append((m.wrap(first, f.panel_title, room, 3),
                                  [w for t in rest for w in m.wrap(t, f.note, room, 2)]))
    titles = max((len(t) * _line_height(geo.panel_title_size) + len(n) *
                  _line_height(geo.note_size) for t, n in plan.panel_titles), default=0.0)
    layout.panel_title_height = titles + 0.06
    y += layout.panel_title_height
    layout.header_top = y
    head_lines = max((h.count("\n") + 1 for p in plan.panels for h in _column_heads(p)),
                     default=1)
    y += geo.row + (head_lines - 1) * _line_height(geo.font_size) + 0.04
    layout.body_top = y
    for row in plan.rows:
        row.top = y
        y += row.height
    y += 0.04
    layout.body_bottom = y
    y += geo.axis_height
    layout.footnote_top = y
    layout.footnotes = []
    for text in footnote_lines:
        layout.footnotes += m.wrap(text, f.note, layout.width - 2 * MARGIN, 12)
    y += len(layout.footnotes) * _line_height(geo.note_size)
    layout.height = y + MARGIN


def _column_heads(panel: _Panel) -> tuple[str, str, str]:
    what = "interval" if panel.first.model == "bayes" else "CI"
    return ("Reported", f"Estimate\n[{level_percent(panel.level)} {what}]", "Weight")


def _panel_title(panel: _Panel) -> list[str]:
    lines = [fmt.endpoint_at(panel.endpoint, panel.time)]
    if panel.nobody_reports:
        lines.append(f"no study reports {panel.endpoint}{panel.when()}")
    return lines


# =========================================================================== drawing


#: Space between two bands of panels stacked one under the other (inches).
BAND_GAP = 0.2


def _make_plan(panels: list[_Panel], studies: Sequence[Study], title: str | None,
               width: float | None = None, font_size: float | None = None) -> _Plan:
    """The plan of one figure with every panel side by side (see :func:`_make_bands`)."""
    (plan,) = _make_bands(panels, studies, title, width, font_size, stack=False)
    return plan


def _make_bands(panels: list[_Panel], studies: Sequence[Study], title: str | None,
                width: float | None, font_size: float | None, stack: bool = True
                ) -> list[_Plan]:
    """Plans of the bands of one figure: every panel side by side when they fit the width
    at the chosen font size (narrowing and leaving out columns as needed); otherwise one
    panel per band, the bands one under the other, all with one geometry."""
    return _make_pages(panels, studies, title, width, font_size, None, False, stack)[0]


def _make_pages(panels: list[_Panel], studies: Sequence[Study], title: str | None,
                width: float | None, font_size: float | None, rows_per_page: int | None,
                summary_only: bool, stack: bool = True) -> list[list[_Plan]]:
    """The pages of a forest plot, each a list of bands (see :func:`_make_bands`)."""
    index_id = _index_id(panels, studies)
    measure = _Measure()
    base = FONT_SIZE if font_size is None else font_size
    steps = [_Geometry(base)] if width is None else _fitting_steps(base, font_size is not None)
    groups = [panels]
    if stack and width is not None and len(panels) > 1:
        side_by_side = [g for g in steps if g.font_size >= base - 0.5]
        if _first_fit([panels], studies, index_id, side_by_side, width, measure) is None:
            groups = [[p] for p in panels]
    geo = _first_fit(groups, studies, index_id, steps, width, measure) or steps[-1]
    if summary_only or _bayes_prior(panels):  # no study rows, or no weights (bayes)
        geo = replace(geo, show_weight=False)
    footnotes = _footnotes(panels, _rows(panels, studies, index_id), index_id,
                           _any_arrows(panels, studies, index_id))
    if geo.show_weight and not summary_only:
        footnotes.append(_weight_note(panels))
    chunks = [(g, _rows(g, studies, index_id, summary_only)) for g in groups]
    paged = [(g, rows, _paginate(rows, rows_per_page)) for g, rows in chunks]
    if all(len(p) == 1 for _g, _rows_, p in paged):
        layouts = [[(g, rows, rows) for g, rows, _p in paged]]
    else:  # each band's pages on their own
        layouts = [[(g, rows, page)] for g, rows, pages_ in paged for page in pages_]
    pages: list[list[_Plan]] = []
    for number, page in enumerate(layouts, 1):
        shown = title
        if len(layouts) > 1:
            shown = f"{title + ' ' if title else ''}(page {number} of {len(layouts)})"
        bands: list[_Plan] = []
        top = MARGIN
        for n, (band_panels, all_rows, page_rows) in enumerate(page):
            last = n == len(page) - 1
            plan = _plan_band(band_panels, studies, index_id, geo, measure, width,
                              shown if n == 0 else None, footnotes if last else [], top,
                              all_rows, page_rows)
            bands.append(plan)
            assert plan.layout is not None
            top = plan.layout.height - MARGIN + BAND_GAP
        full_width = max(b.layout.width for b in bands if b.layout is not None)
        height = bands[-1].layout.height if bands[-1].layout is not None else 0.0
        for b in bands:
            assert b.layout is not None
            b.layout.width, b.layout.height = full_width, height
        pages.append(bands)
    return pages


def _first_fit(groups: list[list[_Panel]], studies: Sequence[Study], index_id: str | None,
               steps: Sequence[_Geometry], width: float | None,
               measure: _Measure) -> _Geometry | None:
    """The first geometry in which every band of ``groups`` fits ``width``."""
    for geo in steps:
        if width is None or all(_band_width(g, studies, index_id, geo, measure) <= width
                                for g in groups):
            return geo
    return None


def _band_width(panels: list[_Panel], studies: Sequence[Study], index_id: str | None,
                geo: _Geometry, measure: _Measure) -> float:
    plan = _Plan(panels, _rows(panels, studies, index_id), index_id, None,
                 _patients(studies, panels), None, _Fonts.create(geo), measure, geo)
    return _plan_columns(plan).width


def _any_arrows(panels: Sequence[_Panel], studies: Sequence[Study],
                index_id: str | None) -> bool:
    rows = _rows(panels, studies, index_id)
    return any(_leaves_axis(_study_cell(p, r.group, r.key, None).study) for p in panels
               for r in rows if r.kind == "study") or any(
        _pooled_leaves_axis(_summary(p, r.group, r.key, index_id).result)
        for p in panels for r in rows if r.kind == "summary")


def _plan_band(panels: list[_Panel], studies: Sequence[Study], index_id: str | None,
               geo: _Geometry, measure: _Measure, width: float | None, title: str | None,
               footnotes: list[str], top: float, rows: list[_Row] | None = None,
               page_rows: list[_Row] | None = None) -> _Plan:
    """One band: its columns (from all its ``rows``, widened to ``width``), then the row
    heights and vertical positions of ``page_rows`` (default: all) from ``top``."""
    if rows is None:
        rows = _rows(panels, studies, index_id)
    index_group: str | None | object = next(
        (r.group for r in rows if r.kind == "study" and r.key == index_id), object())
    plan = _Plan(panels, rows, index_id, index_group, _patients(studies, panels), title,
                 _Fonts.create(geo), measure, geo)
    layout = _plan_columns(plan)
    if width is not None and layout.width < width:
        # spare width widens the plots (up to PLOT_MAX_WIDTH), the rest is margin
        grow = min(PLOT_MAX_WIDTH - plan.geo.plot_width,
                   (width - layout.width) / max(1, len(panels)))
        if grow > 0:
            plan.geo = replace(plan.geo, plot_width=plan.geo.plot_width + grow)
            layout = _plan_columns(plan)
        layout.width = max(layout.width, width)
    if page_rows is not None:
        plan.rows = page_rows
    _plan_rows(plan, layout)
    _plan_vertical(plan, layout, footnotes, top)
    plan.layout = layout
    return plan


def _leaves_axis(s: StudyEstimate | None) -> bool:
    return s is not None and (s.ci_low < 0.0 or s.ci_high > 1.0)


def _pooled_leaves_axis(r: PooledResult | None) -> bool:
    if r is None:
        return False
    ends = [x for x in (r.ci_low, r.ci_high, r.pi_low, r.pi_high) if x is not None]
    return any(x < 0.0 or x > 1.0 for x in ends)


def _paginate(rows: list[_Row], limit: int | None) -> list[list[_Row]]:
    """``rows`` cut before every ``limit``-th study row; a group carried over to the next
    page gets its header again."""
    if limit is None or sum(r.kind == "study" for r in rows) <= limit:
        return [rows]
    pages: list[list[_Row]] = [[]]
    count = 0
    for row in rows:
        if row.kind == "study":
            if count == limit:
                pages.append([])
                count = 0
                if row.group is not None:
                    pages[-1].append(_Row("group", row.group, label=f"{row.group} (continued)"))
            count += 1
        if row.kind == "gap" and not pages[-1]:
            continue
        pages[-1].append(row)
    return pages
