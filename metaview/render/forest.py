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

>>> from metaview.render.forest import forest_plot, save_figure   # doctest: +SKIP
>>> fig = forest_plot(results, comparisons=comparisons, studies=studies)  # doctest: +SKIP
>>> save_figure(fig, "forest.svg")                                 # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from metaview.errors import OutputError, UsageError
from metaview.render import format as fmt

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    from metaview.model import Comparison, ExcludedStudy, PooledResult, Study, StudyEstimate

#: Output formats of :func:`save_figure`, by file name extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Resolution of PNG output (print).
PNG_DPI = 300
#: The one font: ships with matplotlib, so the output is the same on every machine.
FONT_FAMILY = "DejaVu Sans"

# Marks after a cell, explained in the footnotes.
MARK_APPROXIMATE = "\u2020"  # dagger
MARK_DERIVED = "\u2021"  # double dagger
MARK_ORIGIN = "\u00a7"  # section sign
MARK_RECONSTRUCTED = "\u00b6"  # pilcrow: read from a reconstructed Kaplan-Meier curve

# Sizes: points for fonts, inches for the layout.
FONT_SIZE = 7.0
NOTE_SIZE = 6.5
PANEL_TITLE_SIZE = 8.0
TITLE_SIZE = 9.5
LINE_SPACING = 1.2
ROW = 0.18  # height of a one-line row
MARGIN = 0.12
COL_GAP = 0.09
PANEL_GAP = 0.28
PLOT_WIDTH = 1.5
LABEL_MIN_WIDTH = 1.0
LABEL_MAX_WIDTH = 2.2
LABEL_MAX_LINES = 4
MARK_PAD = 0.01  # between a cell and its marks
NOTE_MAX_LINES = 4
#: Characters laid out per allowed line of a text at most (more than any line holds); the
#: rest of a longer text is cut, with an ellipsis, before it is measured.
LINE_CHARS = 400
SQUARE_MAX_SIDE = 0.62  # of a row, for the largest weight in a panel
DIAMOND_HEIGHT = 0.62  # of a row
PI_BAR_HEIGHT = 0.2  # of a row
AXIS_HEIGHT = 0.42  # tick labels and axis label under the panels
#: Figure widths of ``--width single`` and ``--width double`` (journal columns), inches.
WIDTHS = {"single": 3.5, "double": 7.2}
DEFAULT_WIDTH = WIDTHS["double"]
#: Smallest body font the layout shrinks to when the panels do not fit (points).
MIN_FONT_SIZE = 5.0
#: Widest plot column when a figure is stretched to its width (inches).
PLOT_MAX_WIDTH = 2.6
#: Longest side of a PNG, in pixels (the resolution is lowered to stay below it).
PNG_MAX_PIXELS = 16_000

INK = "#1a1a1a"
GREY = "#8a8a8a"
RULE = "#4d4d4d"
STUDY_COLOUR = "#4d4d4d"
INDEX_COLOUR = "#b2182b"
POOLED_COLOUR = "#1f3b73"
PI_COLOUR = "#8fa8d6"
REFERENCE_COLOUR = "#b0b0b0"

_SUMMARY_LABELS = {
    "pooled": "Pooled",
    "literature": "Literature (without index)",
    "all": "All, with index",
}

_CI_SOURCE_NAMES = {
    "wilson": "Wilson score",
    "clopper-pearson": "Clopper-Pearson",
    "agresti-coull": "Agresti-Coull",
    "jeffreys": "Jeffreys",
    "wald": "Wald",
}


# =========================================================================== what to draw
# Plain data, no matplotlib: the panels, the rows they share, and each cell's text.


@dataclass(frozen=True)
class _Panel:
    """One endpoint at one landmark: its results by group, and the index comparison."""

    endpoint: str
    time: float | None
    by_group: Mapping[str | None, "PooledResult"]
    overall: "PooledResult | None"
    comparisons: Mapping[str | None, "Comparison"]

    @property
    def first(self) -> "PooledResult":
        return next(iter(self.by_group.values()))

    @property
    def level(self) -> float:
        return self.first.level

    def estimate(self, group: str | None, sid: str) -> "StudyEstimate | None":
        r = self.by_group.get(group)
        return None if r is None else next((s for s in r.studies if s.id == sid), None)

    def excluded(self, group: str | None, sid: str) -> "ExcludedStudy | None":
        r = self.by_group.get(group)
        return None if r is None else next((e for e in r.excluded if e.id == sid), None)

    @property
    def nobody_reports(self) -> bool:
        return all(r.k == 0 for r in self.by_group.values())

    def when(self) -> str:
        return "" if self.time is None else f" at {self.time:g} mo"


@dataclass
class _Row:
    """One row of the figure, shared by every panel."""

    kind: str  # "group", "study", "summary", "notes", "subgroup", "gap"
    group: str | None = None
    key: str = ""  # study id, or "pooled" / "literature" / "all" for a summary row
    label: str = ""
    lines: int = 1
    top: float = 0.0  # inches from the top of the figure
    height: float = ROW

    @property
    def centre(self) -> float:
        return self.top + self.height / 2


@dataclass
class _Cell:
    """What one panel shows in one study row."""

    reported: str = ""
    reported_marks: str = ""
    estimate: str = ""
    estimate_marks: str = ""
    weight: str = ""
    note: str = ""  # text across the plot for a study that is not in the analysis
    study: "StudyEstimate | None" = None
    grey: bool = False


def _panels(results: Sequence["PooledResult"], comparisons: Sequence["Comparison"]) -> list[_Panel]:
    """Results by (endpoint, landmark), in the order given; the overall result set apart
    when there are groups (it pools different groups, so it is not drawn as a diamond)."""
    keyed: dict[tuple[str, float | None], list[PooledResult]] = {}
    for r in results:
        keyed.setdefault((r.endpoint, r.time_months), []).append(r)
    panels = []
    for (endpoint, time), rs in keyed.items():
        groups = [r for r in rs if r.group is not None]
        overall = next((r for r in rs if r.group is None), None)
        if groups:
            by_group: dict[str | None, PooledResult] = {r.group: r for r in groups}
        else:
            by_group = {None: rs[-1]}
            overall = None
        comps = {c.pooled.group if groups else None: c for c in comparisons
                 if c.endpoint == endpoint and _same_time(c.time_months, time)}
        panels.append(_Panel(endpoint, time, by_group, overall, comps))
    return panels


def _same_time(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)


def _index_id(panels: Sequence[_Panel], studies: Sequence["Study"]) -> str | None:
    for p in panels:
        for c in p.comparisons.values():
            return c.index.id
    for p in panels:
        for r in p.by_group.values():
            for s in r.studies:
                if s.is_index:
                    return s.id
    return next((s.id for s in studies if s.index), None)


def _rows(panels: Sequence[_Panel], studies: Sequence["Study"], index_id: str | None,
          summary_only: bool = False) -> list[_Row]:
    """Group headers, study rows, summary and note rows. A study has a row when one of the
    panels shows something for it (its estimate, or what it reports instead); a study
    that reports none of the panels' endpoints has none (the footnotes count it). With
    ``summary_only``, no study rows."""
    members: dict[str | None, dict[str, str]] = {}  # group -> id -> label
    for p in panels:
        for g, r in p.by_group.items():
            ids = members.setdefault(g, {})
            if summary_only:
                continue
            for s in r.studies:
                ids.setdefault(s.id, s.label)
            for e in r.excluded:
                if not _reports_nothing(e):
                    ids.setdefault(e.id, e.label)
    order = {s.id: i for i, s in enumerate(studies)}
    index_group = next((g for g, ids in members.items() if index_id in ids), "\0none")
    groups = sorted(members, key=lambda g: g != index_group)  # stable: index group first
    has_subgroup_test = any(p.overall is not None and p.overall.subgroup_test is not None
                            for p in panels)
    rows: list[_Row] = []
    for n, g in enumerate(groups):
        if n:
            rows.append(_Row("gap", g, height=ROW / 2))
        if g is not None:
            rows.append(_Row("group", g, label=g))
        in_group = sorted(members[g], key=lambda i: (i == index_id, order.get(i, len(order))))
        rows.extend(_Row("study", g, key=i, label=members[g][i]) for i in in_group)
        kinds = ["literature", "all"] if g == index_group else ["pooled"]
        rows.extend(_Row("summary", g, key=k, label=_SUMMARY_LABELS[k]) for k in kinds)
        rows.append(_Row("notes", g))
    if has_subgroup_test:
        rows.append(_Row("subgroup", None))
    return rows


def _reference_origin(panel: _Panel, group: str | None, index_id: str | None) -> str | None:
    """The time origin the rest of a group is compared with: the index study's, else the
    most frequent one (first seen on a tie)."""
    r = panel.by_group.get(group)
    if r is None:
        return None
    origins = [s.time_origin for s in r.studies if s.time_origin]
    index = next((s for s in r.studies if s.id == index_id and s.time_origin), None)
    if index is not None:
        return index.time_origin
    if not origins:
        return None
    return max(dict.fromkeys(origins), key=origins.count)


def _study_cell(panel: _Panel, group: str | None, sid: str, ref_origin: str | None) -> _Cell:
    s = panel.estimate(group, sid)
    if s is not None:
        marks = ""
        if s.derived:
            marks += MARK_DERIVED
        if s.reconstructed:
            marks += MARK_RECONSTRUCTED
        if s.time_origin and ref_origin and s.time_origin != ref_origin:
            marks += MARK_ORIGIN
        return _Cell(
            reported=fmt.as_reported(s.count, s.total, s.estimate), reported_marks=marks,
            estimate=fmt.percent_bracket(s.estimate, s.ci_low, s.ci_high),
            estimate_marks=MARK_APPROXIMATE if s.approximate else "",
            weight=fmt.weight_percent(s.weight), study=s,
        )
    e = panel.excluded(group, sid)
    if e is None or _reports_nothing(e):  # left out of this panel (see the footnotes)
        return _Cell(grey=True)
    return _Cell(reported=_excluded_value(e), note=_excluded_note(panel, e), grey=True)


def _not_reported(e: "ExcludedStudy") -> bool:
    return " not reported" in e.reason


def _reports_nothing(e: "ExcludedStudy") -> bool:
    """The study reports the endpoint at no landmark at all."""
    return _not_reported(e) and not e.reported


def _excluded_value(e: "ExcludedStudy") -> str:
    return "NR" if _not_reported(e) else "\u2013"


def _excluded_note(panel: _Panel, e: "ExcludedStudy") -> str:
    if _not_reported(e):
        if not e.reported:
            return f"{panel.endpoint} not reported"
        return f"not reported{panel.when()} (" + ", ".join(e.reported) + ")"
    if e.reason.startswith("excluded with"):
        return "left out of this analysis (--exclude)"
    detail = e.reason.split(" but ", 1)[1] if " but " in e.reason else e.reason
    return f"not pooled: {detail}"


@dataclass(frozen=True)
class _Summary:
    result: "PooledResult | None"
    reported: str  # "k = 3"
    estimate: str
    note: str  # when there is nothing to draw


def _summary(panel: _Panel, group: str | None, kind: str, index_id: str | None) -> _Summary:
    r = _summary_result(panel, group, kind, index_id)
    if r is None or r.k == 0 or r.estimate is None:
        k = 0 if r is None else r.k
        if kind == "all" and r is None:
            note = f"index not reported{panel.when()}"
        else:
            note = f"no study reports {panel.endpoint}{panel.when()}"
        return _Summary(None, f"k = {k}", "", note)
    return _Summary(r, f"k = {r.k}", fmt.percent_bracket(r.estimate, r.ci_low, r.ci_high), "")


def _summary_result(panel: _Panel, group: str | None, kind: str,
                    index_id: str | None) -> "PooledResult | None":
    r = panel.by_group.get(group)
    if kind == "pooled":
        return r
    comparison = panel.comparisons.get(group)
    index_in = r is not None and any(s.id == index_id for s in r.studies)
    if kind == "literature":
        if comparison is not None:
            return comparison.pooled
        return None if index_in else r
    return r if index_in else None  # "all"


def _group_notes(panel: _Panel, group: str | None, index_group: bool,
                 index_id: str | None, with_k: bool = False) -> list[str]:
    """The footnote lines under one group of one panel: heterogeneity, prediction interval,
    and for the index group the comparison's p-value; ``with_k`` adds the number of
    studies (when the Reported column, which shows it, is left out)."""
    r = panel.by_group.get(group)
    if r is None:
        return []
    if not index_group:
        return _result_notes(r, "", with_k)
    lines: list[str] = []
    comparison = panel.comparisons.get(group)
    literature = _summary_result(panel, group, "literature", index_id)
    if literature is not None and literature.k:
        lines += _result_notes(literature, "Literature: ", with_k)
    everyone = _summary_result(panel, group, "all", index_id)
    if everyone is not None and everyone.k:
        lines += _result_notes(everyone, "All: ", with_k)
    if comparison is not None and comparison.prob_index_above_mean is not None:
        lines.append(f"Index vs literature: P(index > mean) = "
                     f"{comparison.prob_index_above_mean:.2f}, P(index > new study) = "
                     f"{comparison.prob_index_above_new:.2f}")
    elif comparison is not None:
        text = f"Index vs literature: {fmt.pvalue(comparison.pvalue)}"
        if comparison.inside_pi is not None:
            text += ("; index inside" if comparison.inside_pi else "; index outside")
            text += " the literature's PI"
        lines.append(text)
    return lines


def _result_notes(r: "PooledResult", prefix: str, with_k: bool = False) -> list[str]:
    if r.k == 0:
        return []
    if r.k == 1:
        return [f"{prefix}one study: its own estimate, nothing pooled"]
    parts = [f"k = {r.k}"] if with_k else []
    pi = fmt.interval_percent(r.pi_low, r.pi_high)
    if pi:
        parts.append(f"PI {pi}")
    het = fmt.heterogeneity(r)
    if het:
        parts.append(het)
    return [prefix + "; ".join(parts)]


def _subgroup_note(panel: _Panel) -> str:
    t = None if panel.overall is None else panel.overall.subgroup_test
    if t is None:
        return ""
    return (f"Test for subgroup differences: Q = {t.q_between:.2f}, df = {t.df}, "
            f"{fmt.pvalue(t.pvalue)}")


def _patients(studies: Sequence["Study"], panels: Sequence[_Panel]) -> dict[str, str]:
    """The n column: patients in the study file, else the largest total in the results."""
    n = {s.id: str(s.patients) for s in studies}
    for p in panels:
        for r in p.by_group.values():
            for s in r.studies:
                if s.id not in n and s.total is not None:
                    n[s.id] = str(s.total)
    return n


def _footnotes(panels: Sequence[_Panel], rows: Sequence[_Row], index_id: str | None,
               drew_arrows: bool) -> list[str]:
    """The lines under the figure: what each mark means, NR, study intervals, the method."""
    approximate = False
    approximate_landmark = False
    derived: dict[str, list[str]] = {}
    reconstructed: dict[str, list[str]] = {}
    origins: dict[tuple[str, str], list[str]] = {}
    sources: list[str] = []
    corrected: dict[str, list[str]] = {}
    not_reported = False
    for p in panels:
        for row in rows:
            if row.kind != "study":
                continue
            ref = _reference_origin(p, row.group, index_id)
            cell = _study_cell(p, row.group, row.key, ref)
            s = cell.study
            if s is None:
                not_reported |= cell.reported == "NR"
                continue
            approximate |= s.approximate
            approximate_landmark |= s.approximate and p.time is not None
            if s.derived:
                derived.setdefault(s.label, []).append(p.endpoint)
            if s.reconstructed:
                reconstructed.setdefault(f"{s.label} ({p.endpoint})", []).append(s.source)
            if MARK_ORIGIN in cell.reported_marks and ref and s.time_origin:
                origins.setdefault((s.time_origin, ref), []).append(f"{s.label} ({p.endpoint})")
            if s.ci_source not in sources:
                sources.append(s.ci_source)
            if s.corrected:
                corrected.setdefault(s.label, []).append(p.endpoint)
    lines: list[str] = []
    if approximate:
        why = ("; ignores censoring, so the interval is too narrow when follow-up is short"
               if approximate_landmark else "")
        lines.append(f"{MARK_APPROXIMATE} Standard error approximated from the estimate and the "
                     f"number of patients (binomial{why}).")
    if derived:
        lines.append(f"{MARK_DERIVED} Derived, not stated by the source (see the study file): "
                     + _listing(derived) + ".")
    if reconstructed:
        lines.append(f"{MARK_RECONSTRUCTED} " + "; ".join(
            f"{who}: {', '.join(dict.fromkeys(src))}" for who, src in reconstructed.items())
            + " (Guyot 2012; Greenwood standard error).")
    for (origin, ref), who in origins.items():
        lines.append(f"{MARK_ORIGIN} Time counted from {origin}, not from {ref} as for the rest "
                     f"of the group: {', '.join(dict.fromkeys(who))}.")
    left_out = _left_out(panels)
    if left_out:
        lines.append(f"Left out of a panel: studies that report {left_out}.")
    if not_reported:
        where = " at this landmark" if any(p.time is not None for p in panels) else ""
        lines.append(f"NR: not reported{where}; the row says what the study reports instead, "
                     "if anything. Nothing is interpolated.")
    names = [_CI_SOURCE_NAMES[s] for s in sources if s in _CI_SOURCE_NAMES]
    parts = []
    if names:
        parts.append(f"{' / '.join(names)} for counts")
    if "reported" in sources:
        parts.append("as reported by the source")
    if "approximate" in sources:
        parts.append(f"binomial approximation ({MARK_APPROXIMATE})")
    if parts:
        lines.append("Study intervals: " + "; ".join(parts) + ".")
    scales = list(dict.fromkeys(c.scale for p in panels for c in p.comparisons.values()))
    if scales and _bayes_prior(panels):
        lines.append("Index vs literature: posterior probabilities that the index cohort's "
                     "proportion exceeds the literature's mean and a new study's.")
    elif scales:
        lines.append("Index vs literature: two-sided z test of the index cohort against the "
                     f"pooled literature on the {' / '.join(scales)} scale.")
    if corrected:
        lines.append("Continuity correction (1/2 added to events and non-events) on the pooling "
                     "scale: " + _listing(corrected) + ".")
    methods = list(dict.fromkeys(fmt.method_line(r) for p in panels for r in p.by_group.values()
                                 if r.k))
    level = f"{100 * panels[0].level:g}%" if panels else "95%"
    summary = _summary_words(panels, level)
    if len(methods) == 1:
        lines.append(f"Pooled: {methods[0]}. {summary}")
    else:
        for p in panels:
            m = "; ".join(dict.fromkeys(fmt.method_line(r) for r in p.by_group.values() if r.k))
            lines.append(f"Pooled ({p.endpoint}{p.when()}): {m}.")
        lines.append(summary)
    if drew_arrows:
        lines.append("Arrows: the interval continues beyond the 0\u2013100% axis (the numbers "
                     "give its ends).")
    return lines


def _bayes_prior(panels: Sequence[_Panel]) -> str | None:
    """The tau prior when every pooled result is ``--model bayes`` (else None)."""
    fitted = [r for p in panels for r in p.by_group.values() if r.k]
    if not fitted or any(r.model != "bayes" for r in fitted):
        return None
    return " / ".join(dict.fromkeys(str(r.tau_prior) for r in fitted))


def _summary_words(panels: Sequence[_Panel], level: str) -> str:
    """What the diamonds, bars, squares (and open circles) mean."""
    prior = _bayes_prior(panels)
    if prior is None:
        return (f"Diamonds: pooled estimate and {level} CI; bars behind them: {level} "
                "prediction intervals (PI). Square areas proportional to the weights.")
    text = (f"Diamonds: posterior median and {level} credible interval (prior on \u03c4: "
            f"{prior}); bars behind them: {level} posterior predictive intervals. Squares: "
            f"observed study estimates with their {level} CI.")
    if any(s.shrunk_estimate is not None for p in panels for r in p.by_group.values()
           for s in r.studies):
        text += (" Open circles, under each square: the study's shrunken estimate (posterior "
                 f"median of its own proportion) with its {level} credible interval.")
    return text


#: Studies named in the "left out" footnote of one panel, beyond which they are counted.
LEFT_OUT_NAMED = 6


def _left_out(panels: Sequence[_Panel]) -> str:
    """``no OS (JULIET) or no PFS (3 studies)``: per panel, the studies that report its
    endpoint at no landmark (their cells are blank, or they have no row)."""
    parts = []
    for p in panels:
        names = list(dict.fromkeys(e.label for r in p.by_group.values() for e in r.excluded
                                   if _reports_nothing(e)))
        if not names:
            continue
        who = (", ".join(names) if len(names) <= LEFT_OUT_NAMED
               else f"{len(names)} studies")
        parts.append(f"no {p.endpoint} ({who})")
    return " or ".join(parts)


def _weight_note(panels: Sequence[_Panel]) -> str:
    """Which model the Weight column belongs to."""
    models = {"random": "random-effects", "common": "common-effect", "glmm": "GLMM"}
    names = " / ".join(dict.fromkeys(models.get(r.model, r.model) for p in panels
                                     for r in p.by_group.values() if r.k))
    index = any(p.comparisons for p in panels)
    text = f"Weight: each study's share of its group's {names or 'pooled'} model"
    if index:
        text += ("; in the index cohort's group, the model of all studies with the index "
                 "(\u201cAll, with index\u201d), not the literature alone")
    return text + "."


def _listing(what: Mapping[str, list[str]]) -> str:
    return ", ".join(f"{label} ({', '.join(dict.fromkeys(eps))})" for label, eps in what.items())


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

    def width(self, text: str, font: "FontProperties") -> float:
        if not text:
            return 0.0
        key = (text, font)
        if key not in self._cache:
            self._cache[key] = self.SLACK * max(
                r.get_text_width_height_descent(line, font, ismath=False)[0] / dpi
                for r, dpi in self._renderers for line in text.split("\n"))
        return self._cache[key]

    def wrap(self, text: str, font: "FontProperties", width: float, max_lines: int) -> list[str]:
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

    def _fit(self, word: str, font: "FontProperties", width: float, *, suffix: str = "",
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

    @property
    def note_size(self) -> float:
        return NOTE_SIZE * self.scale

    @property
    def panel_title_size(self) -> float:
        return PANEL_TITLE_SIZE * self.scale

    @property
    def title_size(self) -> float:
        return TITLE_SIZE * self.scale

    @property
    def row(self) -> float:
        return ROW * self.scale

    @property
    def col_gap(self) -> float:
        return COL_GAP * self.scale

    @property
    def panel_gap(self) -> float:
        return PANEL_GAP * self.scale

    @property
    def axis_height(self) -> float:
        return AXIS_HEIGHT * self.scale


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
    body: "FontProperties"
    bold: "FontProperties"
    note: "FontProperties"
    panel_title: "FontProperties"
    title: "FontProperties"

    @classmethod
    def create(cls, geo: _Geometry | None = None) -> "_Fonts":
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
    return ("Reported", f"Estimate\n[{100 * panel.level:g}% {what}]", "Weight")


def _panel_title(panel: _Panel) -> list[str]:
    lines = [fmt.endpoint_at(panel.endpoint, panel.time)]
    if panel.nobody_reports:
        lines.append(f"no study reports {panel.endpoint}{panel.when()}")
    return lines


# =========================================================================== drawing


def forest_plot(
    results: Sequence["PooledResult"],
    *,
    comparisons: Sequence["Comparison"] = (),
    studies: Sequence["Study"] = (),
    title: str | None = None,
    fig: "Figure | None" = None,
    width: float | str | None = DEFAULT_WIDTH,
    font_size: float | None = None,
    sort: str = "year",
) -> "Figure":
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
    from matplotlib.figure import Figure

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
    results: Sequence["PooledResult"],
    *,
    comparisons: Sequence["Comparison"] = (),
    studies: Sequence["Study"] = (),
    title: str | None = None,
    width: float | str | None = DEFAULT_WIDTH,
    font_size: float | None = None,
    sort: str = "year",
    rows_per_page: int | None = ROWS_PER_PAGE,
    summary_only: bool = False,
) -> list["Figure"]:
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


def _draw_bands(bands: Sequence[_Plan], fig: "Figure | None" = None) -> "Figure":
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


#: Space between two bands of panels stacked one under the other (inches).
BAND_GAP = 0.2


def _make_plan(panels: list[_Panel], studies: Sequence["Study"], title: str | None,
               width: float | None = None, font_size: float | None = None) -> _Plan:
    """The plan of one figure with every panel side by side (see :func:`_make_bands`)."""
    (plan,) = _make_bands(panels, studies, title, width, font_size, stack=False)
    return plan


def _make_bands(panels: list[_Panel], studies: Sequence["Study"], title: str | None,
                width: float | None, font_size: float | None, stack: bool = True
                ) -> list[_Plan]:
    """Plans of the bands of one figure: every panel side by side when they fit the width
    at the chosen font size (narrowing and leaving out columns as needed); otherwise one
    panel per band, the bands one under the other, all with one geometry."""
    return _make_pages(panels, studies, title, width, font_size, None, False, stack)[0]


def _make_pages(panels: list[_Panel], studies: Sequence["Study"], title: str | None,
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


def _first_fit(groups: list[list[_Panel]], studies: Sequence["Study"], index_id: str | None,
               steps: Sequence[_Geometry], width: float | None,
               measure: _Measure) -> _Geometry | None:
    """The first geometry in which every band of ``groups`` fits ``width``."""
    for geo in steps:
        if width is None or all(_band_width(g, studies, index_id, geo, measure) <= width
                                for g in groups):
            return geo
    return None


def _band_width(panels: list[_Panel], studies: Sequence["Study"], index_id: str | None,
                geo: _Geometry, measure: _Measure) -> float:
    plan = _Plan(panels, _rows(panels, studies, index_id), index_id, None,
                 _patients(studies, panels), None, _Fonts.create(geo), measure, geo)
    return _plan_columns(plan).width


def _any_arrows(panels: Sequence[_Panel], studies: Sequence["Study"],
                index_id: str | None) -> bool:
    rows = _rows(panels, studies, index_id)
    return any(_leaves_axis(_study_cell(p, r.group, r.key, None).study) for p in panels
               for r in rows if r.kind == "study") or any(
        _pooled_leaves_axis(_summary(p, r.group, r.key, index_id).result)
        for p in panels for r in rows if r.kind == "summary")


def _plan_band(panels: list[_Panel], studies: Sequence["Study"], index_id: str | None,
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


def _leaves_axis(s: "StudyEstimate | None") -> bool:
    return s is not None and (s.ci_low < 0.0 or s.ci_high > 1.0)


def _pooled_leaves_axis(r: "PooledResult | None") -> bool:
    if r is None:
        return False
    ends = [x for x in (r.ci_low, r.ci_high, r.pi_low, r.pi_high) if x is not None]
    return any(x < 0.0 or x > 1.0 for x in ends)


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


def _attach_canvas(fig: "Figure") -> None:
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if type(fig.canvas) is FigureCanvasBase:
        FigureCanvasAgg(fig)


def _draw_background(fig: "Figure", layout: _Layout) -> "Axes":
    """An invisible axes over the whole figure, in inches from the top-left corner, for
    the text columns and rules."""
    bg = fig.add_axes((0.0, 0.0, 1.0, 1.0), zorder=0)
    bg.set_xlim(0.0, layout.width)
    bg.set_ylim(layout.height, 0.0)
    bg.set_axis_off()
    bg.set_gid("forest-text")
    return bg


def _text(ax: "Axes", x: float, y: float, s: str, font: "FontProperties", *, ha: str = "left",
          va: str = "center", colour: str = INK, **kw: Any) -> None:
    if not s:
        return
    if va == "center" and "\n" not in s:
        va = "center_baseline"  # the cells of a row share one baseline
    ax.text(x, y, s, fontproperties=font, ha=ha, va=va, color=colour, parse_math=False,
            linespacing=LINE_SPACING, **kw)


def _rule(ax: "Axes", x0: float, x1: float, y: float, width: float = 0.6) -> None:
    ax.plot([x0, x1], [y, y], color=RULE, linewidth=width, solid_capstyle="butt")


def _draw_titles(bg: "Axes", plan: _Plan, layout: _Layout) -> None:
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


def _draw_left_columns(bg: "Axes", plan: _Plan, layout: _Layout) -> None:
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


def _draw_panel_columns(bg: "Axes", plan: _Plan, layout: _Layout, p: int) -> None:
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


def _draw_panel_axes(fig: "Figure", plan: _Plan, layout: _Layout, p: int) -> "Axes":
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


def _draw_reference_lines(ax: "Axes", plan: _Plan, p: int) -> None:
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


def _draw_studies(ax: "Axes", plan: _Plan, layout: _Layout, p: int) -> None:
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
    if s.shrunk_ci_low is not None and s.shrunk_ci_high is not None:
        ax.plot([100 * s.shrunk_ci_low, 100 * s.shrunk_ci_high], [y, y], color=colour,
                linewidth=0.5, solid_capstyle="butt", zorder=2, gid=gid + "-ci")
    ax.plot([100 * s.shrunk_estimate], [y], linestyle="none", marker="o", markersize=3.2,
            markerfacecolor="white", markeredgecolor=colour, markeredgewidth=0.7, zorder=3,
            gid=gid)


def _draw_arrows(ax: "Axes", low: float, high: float, y: float, colour: str) -> None:
    """Arrow heads just outside the axis ends where an interval (proportions) continues
    beyond them; the line itself is clipped by the axes."""
    from matplotlib.transforms import ScaledTranslation

    for end, beyond, marker, shift in ((0.0, low < 0.0, "<", -1.8), (100.0, high > 1.0, ">", 1.8)):
        if beyond:  # shift in points, outward
            outside = ax.transData + ScaledTranslation(shift / 72.0, 0.0,
                                                       ax.figure.dpi_scale_trans)
            ax.plot([end], [y], marker=marker, markersize=3.6, color=colour, clip_on=False,
                    zorder=4, linestyle="none", markeredgewidth=0, transform=outside)


def _draw_summaries(ax: "Axes", plan: _Plan, p: int) -> None:
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


def _draw_panel_notes(ax: "Axes", bg: "Axes", plan: _Plan, layout: _Layout, p: int) -> None:
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


def _draw_footnotes(bg: "Axes", plan: _Plan, layout: _Layout) -> None:
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


def png_dpi(fig: "Figure", dpi: float = PNG_DPI) -> float:
    """The resolution a PNG of ``fig`` is written at: ``dpi``, lowered when a side would
    exceed :data:`PNG_MAX_PIXELS`."""
    longest = max(fig.get_figwidth(), fig.get_figheight())
    return min(float(dpi), math.floor(PNG_MAX_PIXELS / longest))


def save_figure(fig: "Figure", path: str | os.PathLike[str], *, overwrite: bool = True,
                dpi: float = PNG_DPI) -> Path:
    """Write ``fig`` to ``path``; the format comes from the extension (.png, .svg, .pdf).

    PNG at ``dpi`` (300 by default), lowered when a side would exceed 16,000 pixels
    (:func:`png_dpi`). SVG and PDF keep text as text (SVG ``svg.fonttype='none'``, PDF TrueType
    fonts), carry no date, and SVG ids come from a fixed hash salt, so the same figure gives
    the same bytes. The file is written next to its destination and moved into place: a
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
    folder = target.parent
    if target.is_dir():
        raise OutputError(f"cannot write '{target}': it is a folder")
    if not folder.is_dir():
        raise OutputError(f"cannot write '{target}': folder '{folder}' does not exist")
    if not overwrite and target.exists():
        raise OutputError(f"'{target}' exists; use --force to overwrite it")
    metadata: Any = {
        "png": {"Software": f"metaview {__version__}"},
        "svg": {"Date": None, "Creator": f"metaview {__version__}"},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": f"metaview {__version__}",
                "Producer": f"metaview {__version__}"},
    }[fmt_]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out, matplotlib.rc_context(_style()), _glyphs_quiet():
            fig.savefig(out, format=fmt_, dpi=png_dpi(fig, dpi) if fmt_ == "png" else 72,
                        metadata=metadata, facecolor="white")
        os.chmod(tmp, _file_mode(target))
        if overwrite:
            os.replace(tmp, target)
        else:
            _move_no_clobber(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise
    return target


def page_paths(path: str | os.PathLike[str], pages: int) -> list[Path]:
    """Where :func:`save_pages` writes: the file itself for one page or a PDF; otherwise
    one numbered file per page (``forest-1.png``, ``forest-2.png``, ...)."""
    target = Path(path)
    if pages == 1 or target.suffix.lower() == ".pdf":
        return [target]
    return [target.with_name(f"{target.stem}-{n}{target.suffix}") for n in range(1, pages + 1)]


def save_pages(figs: Sequence["Figure"], path: str | os.PathLike[str], *,
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
                    raise OutputError(f"'{p}' exists; use --force to overwrite it")
        return [save_figure(f, p, overwrite=overwrite, dpi=dpi) for f, p in zip(figs, paths,
                                                                                  strict=True)]
    target = paths[0]
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write '{target}': folder '{folder}' does not exist")
    if not overwrite and target.exists():
        raise OutputError(f"'{target}' exists; use --force to overwrite it")
    metadata = {"CreationDate": None, "ModDate": None, "Creator": f"metaview {__version__}",
                "Producer": f"metaview {__version__}"}
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as out, matplotlib.rc_context(_style()), _glyphs_quiet():
            with PdfPages(out, metadata=metadata) as pdf:
                for fig in figs:
                    pdf.savefig(fig, facecolor="white")
        os.chmod(tmp, _file_mode(target))
        if overwrite:
            os.replace(tmp, target)
        else:
            _move_no_clobber(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"cannot write '{target}': {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise
    return [target]


def _move_no_clobber(tmp: str, target: Path) -> None:
    """Move into place unless the target appeared meanwhile (hard link, then unlink)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputError(f"'{target}' exists; use --force to overwrite it") from None
    except OSError:  # no hard links here (some network or FAT file systems)
        if target.exists():
            raise OutputError(f"'{target}' exists; use --force to overwrite it") from None
        os.replace(tmp, target)
        return
    _remove(tmp)


def _file_mode(target: Path) -> int:
    """The existing file's permissions, else read/write for all as the umask allows."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    try:  # Linux: read it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass

