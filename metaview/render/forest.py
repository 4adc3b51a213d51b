"""Forest plots of pooled proportions: one panel per endpoint and landmark, shared study rows.

The renderer draws what the results say and computes no statistic: squares are the studies'
estimates and intervals from :class:`~metaview.model.StudyEstimate`, diamonds and prediction
bars are the :class:`~metaview.model.PooledResult` fields, and the index comparison is the
:class:`~metaview.model.Comparison` from :func:`metaview.engine.analysis.compare`.

The layout follows R's ``meta::forest``: study label and size on the left; per panel the
value as reported, the plot, ``estimate [CI]`` and the weight; per group a header, the
pooled diamond with its prediction interval as a bar behind it, and a heterogeneity line.

matplotlib is imported inside the functions only, and no global state is touched: every
style setting is explicit or lives in a ``matplotlib.rc_context``.

This module holds the entry points (:func:`forest_plot`, :func:`forest_pages`, saving);
the steps have their modules: :mod:`~metaview.render.forest_cells` (what each row and cell
shows), :mod:`~metaview.render.forest_measure` (text widths and wrapping),
:mod:`~metaview.render.forest_layout` (columns, rows, bands and pages),
:mod:`~metaview.render.forest_draw` (matplotlib drawing) and
:mod:`~metaview.render.forest_style` (sizes, fonts and colours).

>>> from metaview.render.forest import forest_plot, save_figure   # doctest: +SKIP
>>> fig = forest_plot(results, comparisons=comparisons, studies=studies)  # doctest: +SKIP
>>> save_figure(fig, "forest.svg")                                 # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metaview.atomic import atomic_write, exists_message
from metaview.errors import OutputError, UsageError
from metaview.render.forest_cells import _panels
from metaview.render.forest_draw import (
    _attach_canvas,
    _draw_background,
    _draw_footnotes,
    _draw_left_columns,
    _draw_panel_axes,
    _draw_panel_columns,
    _draw_panel_notes,
    _draw_reference_lines,
    _draw_studies,
    _draw_summaries,
    _draw_titles,
    _glyphs_quiet,
    _style,
)
from metaview.render.forest_draw import element_id as element_id
from metaview.render.forest_layout import _Fonts as _Fonts
from metaview.render.forest_layout import _make_bands, _make_pages, _Plan
from metaview.render.forest_measure import _Measure as _Measure
from metaview.render.forest_measure import one_line as one_line
from metaview.render.forest_style import DEFAULT_WIDTH, FORMATS, PNG_DPI, PNG_MAX_PIXELS, WIDTHS
from metaview.render.forest_style import GREY as GREY
from metaview.render.forest_style import INDEX_COLOUR as INDEX_COLOUR
from metaview.render.forest_style import INK as INK
from metaview.render.forest_style import LABEL_MAX_LINES as LABEL_MAX_LINES
from metaview.render.forest_style import LINE_CHARS as LINE_CHARS
from metaview.render.forest_style import MARK_APPROXIMATE as MARK_APPROXIMATE
from metaview.render.forest_style import MARK_DERIVED as MARK_DERIVED
from metaview.render.forest_style import MARK_ORIGIN as MARK_ORIGIN
from metaview.render.forest_style import MARK_RECONSTRUCTED as MARK_RECONSTRUCTED
from metaview.render.forest_style import ROW as ROW

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from metaview.model import Comparison, PooledResult, Study


def forest_plot(
    results: Sequence[PooledResult],
    *,
    comparisons: Sequence[Comparison] = (),
    studies: Sequence[Study] = (),
    title: str | None = None,
    fig: Figure | None = None,
    width: float | str | None = DEFAULT_WIDTH,
    font_size: float | None = None,
    sort: str = "year",
) -> Figure:
    """Draw a forest plot of pooled proportions, one panel per endpoint and landmark.

    Parameters
    ----------
    results
        From :func:`metaview.engine.analysis.analyse`: for each endpoint and landmark, one
        result per group, then the overall one (``group=None``). With groups, the overall
        result is not drawn as a diamond (it pools different groups); its between-group test
        is printed under the panel. Without groups, the one result is drawn.
    comparisons
        From :func:`metaview.engine.analysis.compare`. The group holding the index study then
        shows two summary rows, the literature without the index (``comparison.pooled``)
        and all studies with it (the group result), and the comparison's p-value.
    studies
        The study files, optional: they are put in the order ``sort`` (within each group),
        and their ``patients`` fill the n column (otherwise the largest ``total`` in the
        results).
    title
        Printed above the figure.
    fig
        A matplotlib Figure to draw into (it is resized to fit the rows); a new one with
        the Agg canvas otherwise. pyplot is never used.
    width
        Figure width in inches, or ``"single"`` (3.5, one journal column) or ``"double"``
        (7.2, the default). The layout adapts: labels wrap, plots narrow, the Reported
        column and then the Weight column are left out, and the fonts shrink (down to
        5 pt, unless ``font_size`` is given) until the panels fit; spare width widens the
        plots. None: the natural width. A figure that cannot be made to fit is wider than
        asked (compare ``fig.get_figwidth()``).
    font_size
        Body font size in points (default 7); every size and spacing scales with it.
    sort
        Row order within a group, one of :data:`metaview.order.SORTS` (default: year, then
        label); the index cohort stays last in its group.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Drawn as R's ``meta::forest`` (Schwarzer et al.): squares with areas proportional to the
    weights (percent, as metafor's ``weights()``), study intervals as whiskers, arrows where
    an interval leaves the 0-100% axis, diamonds spanning the pooled CI, and the prediction
    interval (Higgins, Thompson & Spiegelhalter 2009) as a bar behind the diamond. A study
    that does not report the endpoint at the landmark keeps its row, greyed, with what it
    does report. Nothing here computes a statistic.
    """
    import matplotlib

    from metaview.order import sort_studies

    panels = _panels(results, comparisons)
    if not panels:
        raise UsageError("nothing to draw: no results were given")
    studies = sort_studies(studies, sort, results)
    with matplotlib.rc_context(_style()), _glyphs_quiet():
        bands = _make_bands(panels, studies, title, figure_width(width), font_size)
        return _draw_bands(bands, fig)


#: Study rows per page of :func:`forest_pages` (and ``metaview forest``) by default.
ROWS_PER_PAGE = 60


def forest_pages(
    results: Sequence[PooledResult],
    *,
    comparisons: Sequence[Comparison] = (),
    studies: Sequence[Study] = (),
    title: str | None = None,
    width: float | str | None = DEFAULT_WIDTH,
    font_size: float | None = None,
    sort: str = "year",
    rows_per_page: int | None = ROWS_PER_PAGE,
    summary_only: bool = False,
) -> list[Figure]:
    """The forest plot as pages of at most ``rows_per_page`` study rows each.

    As :func:`forest_plot` (same arguments), with the rows cut into pages: a group that
    continues on the next page repeats its header ("... (continued)"), its summary rows
    come where it ends, and every page has the same columns and the footnotes. With
    ``summary_only``, no study rows: the pooled rows of each group only. One page when
    everything fits (or ``rows_per_page`` is None).
    """
    import matplotlib

    from metaview.order import sort_studies

    if rows_per_page is not None and rows_per_page < 1:
        raise UsageError(f"--rows-per-page {rows_per_page}: at least 1")
    panels = _panels(results, comparisons)
    if not panels:
        raise UsageError("nothing to draw: no results were given")
    studies = sort_studies(studies, sort, results)
    with matplotlib.rc_context(_style()), _glyphs_quiet():
        pages = _make_pages(panels, studies, title, figure_width(width), font_size,
                            rows_per_page, summary_only)
        return [_draw_bands(bands) for bands in pages]


def _draw_bands(bands: Sequence[_Plan], fig: Figure | None = None) -> Figure:
    """Draw planned bands (panels side by side; bands one under the other) into ``fig``."""
    from matplotlib.figure import Figure

    layout = bands[0].layout
    assert layout is not None  # set by _plan_band
    if fig is None:
        fig = Figure(figsize=(layout.width, layout.height), dpi=100, facecolor="white")
    else:
        fig.set_size_inches(layout.width, layout.height)
    _attach_canvas(fig)
    bg = _draw_background(fig, layout)
    for plan in bands:
        layout = plan.layout
        assert layout is not None
        _draw_titles(bg, plan, layout)
        _draw_left_columns(bg, plan, layout)
        for p in range(len(plan.panels)):
            ax = _draw_panel_axes(fig, plan, layout, p)
            _draw_panel_columns(bg, plan, layout, p)
            _draw_reference_lines(ax, plan, p)
            _draw_studies(ax, plan, layout, p)
            _draw_summaries(ax, plan, p)
            _draw_panel_notes(ax, bg, plan, layout, p)
        _draw_footnotes(bg, plan, layout)
    return fig


def figure_width(width: float | str | None) -> float | None:
    """Inches of a ``--width`` value: ``single``, ``double`` or a number of inches.

    Raises
    ------
    UsageError
        For anything else, or a width outside 2 to 20 inches.
    """
    if width is None:
        return None
    if isinstance(width, str):
        name = width.strip().lower()
        if name in WIDTHS:
            return WIDTHS[name]
        try:
            value = float(name)
        except ValueError:
            raise UsageError(f"--width {width}: use single ({WIDTHS['single']:g} in), double "
                             f"({WIDTHS['double']:g} in) or a width in inches") from None
    else:
        value = float(width)
    if not 2.0 <= value <= 20.0:
        raise UsageError(f"--width {width}: a figure width between 2 and 20 inches")
    return value

def png_dpi(fig: Figure, dpi: float = PNG_DPI) -> float:
    """The resolution a PNG of ``fig`` is written at: ``dpi``, lowered when a side would
    exceed :data:`PNG_MAX_PIXELS`."""
    longest = max(fig.get_figwidth(), fig.get_figheight())
    return min(float(dpi), math.floor(PNG_MAX_PIXELS / longest))


def save_figure(fig: Figure, path: str | os.PathLike[str], *, overwrite: bool = True,
                dpi: float = PNG_DPI) -> Path:
    """Write ``fig`` to ``path``; the format comes from the extension (.png, .svg, .pdf).

    PNG at ``dpi`` (300 by default), lowered when a side would exceed 16,000 pixels
    (:func:`png_dpi`). SVG and PDF keep text as text (SVG ``svg.fonttype='none'``, PDF TrueType
    fonts), carry no date, and SVG ids come from a fixed hash salt, so the same figure gives
    the same bytes. The file is written by :func:`metaview.atomic.atomic_write`: a
    failure leaves any existing file untouched. With ``overwrite=False`` an existing file is
    an error.
    """
    import matplotlib

    from metaview import __version__

    target = Path(path)
    fmt_ = FORMATS.get(target.suffix.lower())
    if fmt_ is None:
        raise UsageError(f"cannot write '{target}': unknown format '{target.suffix or '(none)'}'; "
                         f"use one of {', '.join(FORMATS)}")
    metadata: Any = {
        "png": {"Software": f"metaview {__version__}"},
        "svg": {"Date": None, "Creator": f"metaview {__version__}"},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": f"metaview {__version__}",
                "Producer": f"metaview {__version__}"},
    }[fmt_]
    with (atomic_write(target, overwrite=overwrite) as out,
          matplotlib.rc_context(_style()), _glyphs_quiet()):
        fig.savefig(out, format=fmt_, dpi=png_dpi(fig, dpi) if fmt_ == "png" else 72,
                    metadata=metadata, facecolor="white")
    return target


def page_paths(path: str | os.PathLike[str], pages: int) -> list[Path]:
    """Where :func:`save_pages` writes: the file itself for one page or a PDF; otherwise
    one numbered file per page (``forest-1.png``, ``forest-2.png``, ...)."""
    target = Path(path)
    if pages == 1 or target.suffix.lower() == ".pdf":
        return [target]
    return [target.with_name(f"{target.stem}-{n}{target.suffix}") for n in range(1, pages + 1)]


def save_pages(figs: Sequence[Figure], path: str | os.PathLike[str], *,
               overwrite: bool = True, dpi: float = PNG_DPI) -> list[Path]:
    """Write the pages of :func:`forest_pages`: one PDF with a page each, or numbered PNG or
    SVG files (see :func:`page_paths`); each file as :func:`save_figure` writes it."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    from metaview import __version__

    paths = page_paths(path, len(figs))
    if len(figs) == 1 or len(paths) > 1:
        if not overwrite:
            for p in paths:
                if p.exists():
                    raise OutputError(exists_message(p))
        return [save_figure(f, p, overwrite=overwrite, dpi=dpi) for f, p in zip(figs, paths,
                                                                                  strict=True)]
    target = paths[0]
    metadata = {"CreationDate": None, "ModDate": None, "Creator": f"metaview {__version__}",
                "Producer": f"metaview {__version__}"}
    with (atomic_write(target, overwrite=overwrite) as out,
          matplotlib.rc_context(_style()), _glyphs_quiet(),
          PdfPages(out, metadata=metadata) as pdf):
        for fig in figs:
            pdf.savefig(fig, facecolor="white")
    return [target]
