"""The report's provenance: where every number analysed comes from, and why one was unused."""

from __future__ import annotations

from typing import Any

from metaview.model import Outcome, Study
from metaview.render import format as fmt
from metaview.report.content import (
    Report,
    ordered_studies,
)
from metaview.report.context import _Context
from metaview.report.doc import (
    Paragraph,
    Section,
    Table,
)
from metaview.report.words import DASH, join_words, reported_value, short_name

# --------------------------------------------------------------------------- 7. provenance


def provenance_rows(report: Report) -> list[dict[str, Any]]:
    """Every reported number of every study: where it is from, how it was derived, and
    where it was used (one dict per outcome, in reading order)."""
    used: dict[tuple[str, str, float | None], list[str]] = {}
    for a in report.analyses:
        sets = [g for g in a.groups if g.k > 0] or [a.overall]
        for g in sets:
            for est in g.studies:
                used.setdefault((est.id, a.endpoint, a.time_months), []).append(
                    short_name(a.endpoint, a.time_months) + (f" ({g.group})" if g.group else ""))
    excluded: dict[tuple[str, str, float | None], str] = {}
    for a in report.analyses:
        for e in a.overall.excluded:
            excluded.setdefault((e.id, a.endpoint, a.time_months), e.reason)
    rows = []
    for s in ordered_studies(report.studies, report.index):
        first_seen: set[tuple[str, float | None]] = set()
        for o in s.outcomes:
            key = (s.id, o.endpoint, o.time_months)
            if (o.endpoint, o.time_months) in first_seen:
                use = "not used (a later entry for the same endpoint and landmark)"
            elif key in used:
                use = "; ".join(dict.fromkeys(used[key]))
            elif s.id in report.options.exclude:
                use = "not used (excluded on request)"
            elif key in excluded:
                use = f"not used ({excluded[key]})"
            else:
                use = _why_unused(report, s, o)
            first_seen.add((o.endpoint, o.time_months))
            rows.append({
                "id": s.id, "study": s.label, "endpoint": o.endpoint,
                "time_months": o.time_months, "time_origin": o.time_origin,
                "reported": reported_value(o), "count": o.count, "total": o.total,
                "estimate": o.estimate, "estimate_text": o.estimate_text,
                "ci_low": None if o.ci is None else o.ci[0],
                "ci_high": None if o.ci is None else o.ci[1],
                "ci_level": o.ci_level if o.ci is not None else None,
                "ci_method": o.ci_method if o.ci is not None else None,
                "at_risk": o.at_risk, "used_in": use, "source": o.source,
                "derived": o.derived, "note": o.note,
                "file": None if s.path is None else _file_name(s.path), "line": o.line,
            })
        rows.extend(_reconstructed_rows(report, s, used))
    return rows


def _reconstructed_rows(report: Report, s: Study,
                        used: dict[tuple[str, str, float | None], list[str]]
                        ) -> list[dict[str, Any]]:
    """Provenance of the landmarks read from the study's reconstructed curves."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, float | None]] = set()
    for a in report.analyses:
        for g in [g for g in a.groups if g.k > 0] or [a.overall]:
            for est in g.studies:
                if est.id != s.id or not est.reconstructed or (a.endpoint, a.time_months) in seen:
                    continue
                seen.add((a.endpoint, a.time_months))
                curve = next((c for c in s.curves_for(a.endpoint)), None)
                rows.append({
                    "id": s.id, "study": s.label, "endpoint": a.endpoint,
                    "time_months": a.time_months, "time_origin": est.time_origin,
                    "reported": "read from the reconstructed curve", "count": None,
                    "total": est.total, "estimate": est.estimate, "estimate_text": None,
                    "ci_low": est.ci_low, "ci_high": est.ci_high,
                    "ci_level": report.options.level, "ci_method": "log-log",
                    "at_risk": None,
                    "used_in": "; ".join(dict.fromkeys(used.get((s.id, a.endpoint,
                                                                 a.time_months), []))),
                    "source": est.source,
                    "derived": "Kaplan-Meier estimate of the patient data reconstructed from "
                               f"{curve.points if curve else 'the digitised curve'} and its "
                               "numbers-at-risk table (Guyot 2012); Greenwood log-log interval",
                    "note": None,
                    "file": None if s.path is None else _file_name(s.path),
                    "line": curve.line if curve else None,
                })
    return rows


def _why_unused(report: Report, study: Study, o: Outcome) -> str:
    here = "without a landmark" if o.time_months is None else f"at {o.time_months:g} months"
    others = sorted({a.time_months for a in report.analyses if a.endpoint == o.endpoint},
                    key=lambda t: (t is None, t or 0.0))
    if report.options.endpoints and o.endpoint not in report.options.endpoints:
        return f"not used ({o.endpoint} was not asked for)"
    if others:
        at = join_words(["without a landmark" if t is None else f"at {t:g} months"
                         for t in others])
        return (f"not used ({o.endpoint} is analysed {at}; this figure is {here}, and no "
                "other series reports it so)")
    return f"not used (no other series reports {o.endpoint} {here})"


def _file_name(path: str) -> str:
    from pathlib import PurePath

    return PurePath(path).name


def _provenance(ctx: _Context) -> Section:
    sec = Section("provenance", "Where every number comes from")
    sec.add(Paragraph.of(
        "Every figure of every study file, as the file gives it: its source (section, table "
        "or figure of the paper), how it was derived when the paper does not state it "
        "directly, and the analyses that use it.", kind="note"))
    rows = []
    for p in provenance_rows(ctx.report):
        where = p["file"] or DASH
        if p["file"] and p["line"] is not None:
            where += f":{p['line']}"
        figure = p["endpoint"]
        if p["time_months"] is not None:
            figure += f" at {fmt.landmark(p['time_months'])}"
        if p["time_origin"]:
            figure += f", from {p['time_origin']}"
        rows.append((p["study"], figure, p["reported"], p["source"], p["derived"] or DASH,
                     p["used_in"], where))
    sec.add(Table(columns=("Study", "Figure", "As reported", "Source", "Derived", "Used in",
                           "File"),
                  rows=tuple(rows), name="provenance"))
    return sec
