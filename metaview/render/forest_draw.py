"""Drawing a laid-out forest plot with matplotlib, every element with a stable id."""

from __future__ import annotations

import contextlib
import re
import warnings
from typing import TYPE_CHECKING, Any

from metaview.render.forest_cells import _Panel, _summary, _summary_result
from metaview.render.forest_layout import _column_heads, _Layout, _line_height, _Plan
from metaview.render.forest_style import (
    DIAMOND_HEIGHT,
    FONT_FAMILY,
    FONT_SIZE,
    GREY,
    INDEX_COLOUR,
    INK,
    LINE_SPACING,
    MARGIN,
    MARK_PAD,
    PI_BAR_HEIGHT,
    PI_COLOUR,
    POOLED_COLOUR,
    REFERENCE_COLOUR,
    RULE,
    SQUARE_MAX_SIDE,
    STUDY_COLOUR,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    from metaview.model import StudyEstimate


def _style() -> Any:
    """matplotlib's defaults (whatever the user's matplotlibrc says) plus a fixed font and
    text kept as text in SVG and PDF; used inside ``rc_context`` only."""
    import matplotlib

    rc = {k: v for k, v in matplotlib.rcParamsDefault.items()
          if not k.startswith(("backend", "interactive", "webagg", "savefig.directory",
                               "toolbar", "keymap", "tk.", "macosx", "figure.raise_window"))}
    rc.update({
        "font.family": "sans-serif",
        "font.sans-serif": [FONT_FAMILY],
        "font.size": FONT_SIZE,
        "svg.fonttype": "none",
        "svg.hashsalt": "metaview",
        "pdf.fonttype": 42,
        "axes.unicode_minus": True,
        "path.simplify": False,
    })
    return rc


@contextlib.contextmanager
def _glyphs_quiet() -> Any:
    """No warning for characters the font lacks (an emoji, a rare script): they are drawn
    as the font's empty box, as in any program; a study's text is never refused for it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font",
                                category=UserWarning)
        yield


def _attach_canvas(fig: Figure) -> None:
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if type(fig.canvas) is FigureCanvasBase:
        FigureCanvasAgg(fig)


def _draw_background(fig: Figure, layout: _Layout) -> Axes:
    """An invisible axes over the whole figure, in inches from the top-left corner, for
    the text columns and rules."""
    bg = fig.add_axes((0.0, 0.0, 1.0, 1.0), zorder=0)
    bg.set_xlim(0.0, layout.width)
    bg.set_ylim(layout.height, 0.0)
    bg.set_axis_off()
    bg.set_gid("forest-text")
    return bg


def _text(ax: Axes, x: float, y: float, s: str, font: FontProperties, *, ha: str = "left",
          va: str = "center", colour: str = INK, **kw: Any) -> None:
    if not s:
        return
    if va == "center" and "\n" not in s:
        va = "center_baseline"  # the cells of a row share one baseline
    ax.text(x, y, s, fontproperties=font, ha=ha, va=va, color=colour, parse_math=False,
            linespacing=LINE_SPACING, **kw)


def _rule(ax: Axes, x0: float, x1: float, y: float, width: float = 0.6) -> None:
    ax.plot([x0, x1], [y, y], color=RULE, linewidth=width, solid_capstyle="butt")


def _draw_titles(bg: Axes, plan: _Plan, layout: _Layout) -> None:
    f = plan.fonts
    if plan.title:
        _text(bg, layout.label_left, layout.title_top, plan.title, f.title, va="top")
    for (title, note), cols in zip(plan.panel_titles, layout.panels, strict=True):
        centre = (cols.left + cols.right) / 2
        _text(bg, centre, layout.panel_title_top, "\n".join(title), f.panel_title, ha="center",
              va="top", multialignment="center")
        if note:
            _text(bg, centre, layout.panel_title_top
                  + len(title) * _line_height(plan.geo.panel_title_size), "\n".join(note),
                  f.note, ha="center", va="top", colour=GREY, multialignment="center")
        _rule(bg, cols.left, cols.right, layout.header_top - 0.03, 0.5)
    y = layout.body_top - 0.07  # headers sit on their baseline area, bottom-aligned
    _text(bg, layout.label_left, y, "Study", f.bold, va="bottom")
    _text(bg, layout.n_right, y, "n", f.bold, ha="right", va="bottom")
    for panel, cols in zip(plan.panels, layout.panels, strict=True):
        heads = _column_heads(panel)
        rights = (cols.reported_right, cols.estimate_right, cols.weight_right)
        shown = (plan.geo.show_reported, True, plan.geo.show_weight)
        for x, head, show in zip(rights, heads, shown, strict=True):
            if show:
                _text(bg, x, y, head, f.bold, ha="right", va="bottom")
    right = layout.panels[-1].right if layout.panels else layout.width - MARGIN
    _rule(bg, layout.label_left, right, layout.body_top - 0.02, 0.8)


def _draw_left_columns(bg: Axes, plan: _Plan, layout: _Layout) -> None:
    """Group headers, study and summary labels, and the n column."""
    f = plan.fonts
    for i, row in enumerate(plan.rows):
        lines = plan.labels.get(i)
        if not lines:
            continue
        text = "\n".join(lines)
        if row.kind in ("group", "summary"):
            _text(bg, layout.label_left, row.centre, text, f.bold)
        elif row.kind == "study":
            index = row.key == plan.index_id
            grey = all(plan.cell(p, row).study is None for p in range(len(plan.panels)))
            colour = INDEX_COLOUR if index else (GREY if grey else INK)
            _text(bg, layout.label_left + 0.06, row.centre, text, f.bold if index else f.body,
                  colour=colour)
            _text(bg, layout.n_right, row.centre, plan.patients.get(row.key, ""), f.body,
                  ha="right", colour=GREY if grey else INK)


def _draw_panel_columns(bg: Axes, plan: _Plan, layout: _Layout, p: int) -> None:
    """The text columns of one panel: as reported (with marks), estimate [CI], weight."""
    f, cols, panel = plan.fonts, layout.panels[p], plan.panels[p]
    for row in plan.rows:
        y = row.centre
        if row.kind == "study":
            c = plan.cell(p, row)
            colour = GREY if c.grey else INK
            marks = c.estimate_marks
            if plan.geo.show_reported:
                _text(bg, cols.reported_right, y, c.reported, f.body, ha="right",
                      colour=colour)
                _text(bg, cols.reported_right + MARK_PAD, y, c.reported_marks, f.body,
                      colour=colour)
            else:
                marks += c.reported_marks
            _text(bg, cols.estimate_right, y, c.estimate, f.body, ha="right", colour=colour)
            _text(bg, cols.estimate_right + MARK_PAD, y, marks, f.body, colour=colour)
            if plan.geo.show_weight:
                _text(bg, cols.weight_right, y, c.weight, f.body, ha="right", colour=colour)
        elif row.kind == "summary":
            s = _summary(panel, row.group, row.key, plan.index_id)
            if plan.geo.show_reported:
                _text(bg, cols.reported_right, y, s.reported, f.body, ha="right",
                      colour=GREY if s.result is None else INK)
            _text(bg, cols.estimate_right, y, s.estimate, f.bold, ha="right")


def _draw_panel_axes(fig: Figure, plan: _Plan, layout: _Layout, p: int) -> Axes:
    """The plot column: x in percent (0-100), y in inches from the top (as the text)."""
    cols, panel = layout.panels[p], plan.panels[p]
    W, H = layout.width, layout.height
    ax = fig.add_axes((cols.plot_left / W, 1.0 - layout.body_bottom / H,
                       (cols.plot_right - cols.plot_left) / W,
                       (layout.body_bottom - layout.body_top) / H), zorder=1)
    ax.set_gid(f"forest-panel-{_slug(panel.endpoint)}-{_time_slug(panel.time)}")
    ax.set_xlim(0.0, 100.0)
    ax.set_ylim(layout.body_bottom, layout.body_top)
    ax.patch.set_visible(False)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(0.6)
    ax.spines["bottom"].set_color(RULE)
    narrow = cols.plot_right - cols.plot_left < 1.1 * plan.geo.scale
    ax.set_xticks([0, 25, 50, 75, 100] if narrow else [0, 20, 40, 60, 80, 100])
    ax.set_yticks([])
    ax.tick_params(axis="x", direction="out", length=2.5, width=0.6, colors=RULE, pad=2,
                   labelsize=plan.geo.font_size, labelcolor=INK, labelfontfamily=FONT_FAMILY)
    xlabel = plan.measure.wrap(f"{panel.endpoint}{panel.when()} (%)", plan.fonts.body,
                               plan.geo.plot_width + 2 * plan.geo.col_gap, 1)[0]
    ax.set_xlabel(xlabel, fontproperties=plan.fonts.body, color=INK, labelpad=3)
    return ax


def _draw_reference_lines(ax: Axes, plan: _Plan, p: int) -> None:
    """A dotted line per group at its pooled estimate (the literature's for the index group),
    over the group's study and summary rows."""
    panel = plan.panels[p]
    spans: dict[str | None, list[float]] = {}
    for row in plan.rows:
        if row.kind in ("study", "summary"):
            lo_hi = spans.setdefault(row.group, [row.top, row.top + row.height])
            lo_hi[1] = row.top + row.height
    for group, (top, bottom) in spans.items():
        kind = "literature" if group == plan.index_group else "pooled"
        r = _summary_result(panel, group, kind, plan.index_id)
        if r is None or r.k == 0 or r.estimate is None:
            continue
        ax.plot([100 * r.estimate] * 2, [top, bottom], color=REFERENCE_COLOUR, linewidth=0.6,
                linestyle=(0, (1.5, 1.5)), zorder=0.5, clip_on=True)


def _draw_studies(ax: Axes, plan: _Plan, layout: _Layout, p: int) -> None:
    """Squares (area proportional to weight) and interval whiskers; arrows past the axis."""
    panel = plan.panels[p]
    cells = [(row, plan.cell(p, row)) for row in plan.rows if row.kind == "study"]
    weights = [c.study.weight for _, c in cells if c.study is not None and c.study.weight]
    side_max = SQUARE_MAX_SIDE * plan.geo.row * 72.0  # points
    scale = side_max**2 / max(weights) if weights else 0.0  # points^2 per percent
    for row, c in cells:
        s = c.study
        if s is None:
            continue
        colour = INDEX_COLOUR if s.id == plan.index_id else STUDY_COLOUR
        y = row.centre
        ax.plot([100 * s.ci_low, 100 * s.ci_high], [y, y], color=colour, linewidth=0.8,
                solid_capstyle="butt", zorder=2, gid=_gid("ci", panel, row.group, s.id))
        _draw_arrows(ax, s.ci_low, s.ci_high, y, colour)
        area = scale * s.weight if s.weight else side_max**2 / 4
        # not clipped: a square at 0% or 100% is drawn whole, like meta::forest
        ax.scatter([100 * s.estimate], [y], s=[area], marker="s", c=colour, linewidths=0,
                   edgecolors="none", zorder=3, clip_on=not 0.0 <= s.estimate <= 1.0,
                   gid=_gid("square", panel, row.group, s.id))
        if s.shrunk_estimate is not None:  # --model bayes: the shrunken estimate, below
            _draw_shrunk(ax, s, y + SHRUNK_OFFSET * plan.geo.row, colour,
                         _gid("shrunk", panel, row.group, s.id))


#: the open marker of a shrunken estimate sits this fraction of a row below the square
SHRUNK_OFFSET = 0.3


def _draw_shrunk(ax: Axes, s: StudyEstimate, y: float, colour: str, gid: str) -> None:
    """An open circle at the study's shrunken estimate, with its interval as a thin line."""
    if s.shrunk_estimate is None:
        return
    if s.shrunk_ci_low is not None and s.shrunk_ci_high is not None:
        ax.plot([100 * s.shrunk_ci_low, 100 * s.shrunk_ci_high], [y, y], color=colour,
                linewidth=0.5, solid_capstyle="butt", zorder=2, gid=gid + "-ci")
    ax.plot([100 * s.shrunk_estimate], [y], linestyle="none", marker="o", markersize=3.2,
            markerfacecolor="white", markeredgecolor=colour, markeredgewidth=0.7, zorder=3,
            gid=gid)


def _draw_arrows(ax: Axes, low: float, high: float, y: float, colour: str) -> None:
    """Arrow heads just outside the axis ends where an interval (proportions) continues
    beyond them; the line itself is clipped by the axes."""
    from matplotlib.transforms import ScaledTranslation

    for end, beyond, marker, shift in ((0.0, low < 0.0, "<", -1.8), (100.0, high > 1.0, ">", 1.8)):
        if beyond:  # shift in points, outward
            outside = ax.transData + ScaledTranslation(shift / 72.0, 0.0,
                                                       ax.figure.dpi_scale_trans)
            ax.plot([end], [y], marker=marker, markersize=3.6, color=colour, clip_on=False,
                    zorder=4, linestyle="none", markeredgewidth=0, transform=outside)


def _draw_summaries(ax: Axes, plan: _Plan, p: int) -> None:
    """Diamonds spanning the pooled CI, and the prediction interval as a bar behind them."""
    from matplotlib.patches import Polygon, Rectangle

    panel = plan.panels[p]
    for row in plan.rows:
        if row.kind != "summary":
            continue
        s = _summary(panel, row.group, row.key, plan.index_id)
        r = s.result
        if r is None or r.estimate is None or r.ci_low is None or r.ci_high is None:
            continue
        y = row.centre
        if r.pi_low is not None and r.pi_high is not None:
            h = PI_BAR_HEIGHT * plan.geo.row
            ax.add_patch(Rectangle((100 * r.pi_low, y - h / 2), 100 * (r.pi_high - r.pi_low), h,
                                   facecolor=PI_COLOUR, edgecolor="none", zorder=2,
                                   gid=_gid("pi", panel, row.group, row.key)))
        h = DIAMOND_HEIGHT * plan.geo.row / 2
        est, lo, hi = 100 * r.estimate, 100 * r.ci_low, 100 * r.ci_high
        open_ = row.key == "all"
        ax.add_patch(Polygon([(lo, y), (est, y - h), (hi, y), (est, y + h)], closed=True,
                             facecolor="white" if open_ else POOLED_COLOUR,
                             edgecolor=POOLED_COLOUR, linewidth=0.8, joinstyle="miter",
                             zorder=3, gid=_gid("diamond", panel, row.group, row.key)))
        _draw_arrows(ax, min(r.ci_low, r.pi_low if r.pi_low is not None else 0.0),
                     max(r.ci_high, r.pi_high if r.pi_high is not None else 1.0), y,
                     POOLED_COLOUR)


def _draw_panel_notes(ax: Axes, bg: Axes, plan: _Plan, layout: _Layout, p: int) -> None:
    """Free text of the panel: NR rows across the plot (above the reference lines, on a
    white ground), group footnotes under each group."""
    f, cols = plan.fonts, layout.panels[p]
    inset = 100 * 0.04 / (cols.plot_right - cols.plot_left)  # 0.04 inch, in % of the axis
    for i, row in enumerate(plan.rows):
        lines = plan.notes.get((p, i))
        if not lines:
            continue
        text = "\n".join(lines)
        if row.kind in ("notes", "subgroup"):
            _text(bg, cols.left, row.top + 0.03, text, f.note, va="top", colour=INK)
        else:
            _text(ax, inset, row.centre, text, f.body, colour=GREY, style="italic", zorder=4,
                  clip_on=False, bbox={"facecolor": "white", "edgecolor": "none",
                                       "boxstyle": "square,pad=0.1"})


def _draw_footnotes(bg: Axes, plan: _Plan, layout: _Layout) -> None:
    if layout.footnotes:
        _text(bg, layout.label_left, layout.footnote_top, "\n".join(layout.footnotes),
              plan.fonts.note, va="top", colour=INK)


def _slug(text: str | None) -> str:
    return re.sub(r"[^a-z0-9]+", "-", (text or "all").lower()).strip("-") or "x"


def _time_slug(time: float | None) -> str:
    return "none" if time is None else f"{time:g}".replace(".", "_")


def _gid(kind: str, panel: _Panel, group: str | None, key: str) -> str:
    """The SVG id of a drawn element, e.g. ``diamond-os-12-allo-hsct-literature``."""
    return f"{kind}-{_slug(panel.endpoint)}-{_time_slug(panel.time)}-{_slug(group)}-{_slug(key)}"


def element_id(kind: str, endpoint: str, time_months: float | None, group: str | None,
               key: str) -> str:
    """The id (``gid``, kept in SVG) of one drawn element: ``kind`` is ``square``, ``ci``
    (a study's whisker; ``key`` its id), ``diamond`` or ``pi`` (``key`` ``pooled``,
    ``literature`` or ``all``)."""
    return (f"{kind}-{_slug(endpoint)}-{_time_slug(time_months)}-{_slug(group)}-{_slug(key)}")


# =========================================================================== saving
