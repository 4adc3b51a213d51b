"""What the forest plot shows: panels, study rows, cells, pooled rows and footnotes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from metaview.display import MODEL_ADJECTIVES, STUDY_CI_NAMES, level_percent
from metaview.notices import MISSING, NoticeCode
from metaview.render import format as fmt
from metaview.render.forest_style import (
    MARK_APPROXIMATE,
    MARK_DERIVED,
    MARK_ORIGIN,
    MARK_RECONSTRUCTED,
    ROW,
)

if TYPE_CHECKING:  # pragma: no cover

    from metaview.model import Comparison, ExcludedStudy, PooledResult, Study, StudyEstimate


_SUMMARY_LABELS = {
    "pooled": "Pooled",
    "literature": "Literature (without index)",
    "all": "All, with index",
}


# =========================================================================== what to draw
# Plain data, no matplotlib: the panels, the rows they share, and each cell's text.


@dataclass(frozen=True)
class _Panel:
    """One endpoint at one landmark: its results by group, and the index comparison."""

    endpoint: str
    time: float | None
    by_group: Mapping[str | None, PooledResult]
    overall: PooledResult | None
    comparisons: Mapping[str | None, Comparison]

    @property
    def first(self) -> PooledResult:
        return next(iter(self.by_group.values()))

    @property
    def level(self) -> float:
        return self.first.level

    def estimate(self, group: str | None, sid: str) -> StudyEstimate | None:
        r = self.by_group.get(group)
        return None if r is None else next((s for s in r.studies if s.id == sid), None)

    def excluded(self, group: str | None, sid: str) -> ExcludedStudy | None:
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
    study: StudyEstimate | None = None
    grey: bool = False


def _panels(results: Sequence[PooledResult], comparisons: Sequence[Comparison]) -> list[_Panel]:
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


def _index_id(panels: Sequence[_Panel], studies: Sequence[Study]) -> str | None:
    for p in panels:
        for c in p.comparisons.values():
            return c.index.id
    for p in panels:
        for r in p.by_group.values():
            for s in r.studies:
                if s.is_index:
                    return s.id
    return next((s.id for s in studies if s.index), None)


def _rows(panels: Sequence[_Panel], studies: Sequence[Study], index_id: str | None,
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


def _not_reported(e: ExcludedStudy) -> bool:
    return e.code in MISSING


def _reports_nothing(e: ExcludedStudy) -> bool:
    """The study reports the endpoint at no landmark at all."""
    return _not_reported(e) and not e.reported


def _excluded_value(e: ExcludedStudy) -> str:
    return "NR" if _not_reported(e) else "\u2013"


def _excluded_note(panel: _Panel, e: ExcludedStudy) -> str:
    if _not_reported(e):
        if not e.reported:
            return f"{panel.endpoint} not reported"
        return f"not reported{panel.when()} (" + ", ".join(e.reported) + ")"
    if e.code is NoticeCode.EXCLUDED_BY_USER:
        return "left out of this analysis (--exclude)"
    detail = e.detail if e.code is NoticeCode.NO_STANDARD_ERROR else e.reason
    return f"not pooled: {detail}"


@dataclass(frozen=True)
class _Summary:
    result: PooledResult | None
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
                    index_id: str | None) -> PooledResult | None:
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


def _result_notes(r: PooledResult, prefix: str, with_k: bool = False) -> list[str]:
    if r.k == 0:
        return []
    if r.k == 1 and r.model == "bayes":  # the diamond is the posterior of mu
        return [f"{prefix}one study: the credible interval rests on the tau prior"]
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


def _patients(studies: Sequence[Study], panels: Sequence[_Panel]) -> dict[str, str]:
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
    names = [STUDY_CI_NAMES[s] for s in sources if s in STUDY_CI_NAMES]
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
    level = level_percent(panels[0].level) if panels else "95%"
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
    names = " / ".join(dict.fromkeys(MODEL_ADJECTIVES.get(r.model, r.model) for p in panels
                                     for r in p.by_group.values() if r.k))
    index = any(p.comparisons for p in panels)
    text = f"Weight: each study's share of its group's {names or 'pooled'} model"
    if index:
        text += ("; in the index cohort's group, the model of all studies with the index "
                 "(\u201cAll, with index\u201d), not the literature alone")
    return text + "."


def _listing(what: Mapping[str, list[str]]) -> str:
    return ", ".join(f"{label} ({', '.join(dict.fromkeys(eps))})" for label, eps in what.items())
