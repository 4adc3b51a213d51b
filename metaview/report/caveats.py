"""The report's caveats and warnings sections, from the results' notices."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from metaview.notices import MISSING, NoticeCode, code_of
from metaview.report.context import _Context
from metaview.report.doc import (
    BulletList,
    Paragraph,
    Section,
    Span,
    Table,
)
from metaview.report.words import join_words, short_name

# --------------------------------------------------------------------------- 5. caveats


def caveats(ctx: _Context) -> list[Paragraph]:
    """Caveats read from the data: arms, time origins, missing landmarks, approximations,
    derived figures, single series, the model beside the default."""
    r = ctx.report
    out: list[Paragraph] = []
    included = [s for s in ctx.studies if s.id not in ctx.options.exclude]

    def add(title: str, text: str) -> None:
        out.append(Paragraph.of(Span(title + " ", "strong"), text))

    arms: OrderedDict[str, list[str]] = OrderedDict()
    for s in included:
        arms.setdefault(s.arm, []).append(s.label)
    if len(arms) > 1:
        listing = "; ".join(f"{arm}: {join_words(labels)}" for arm, labels in arms.items())
        if ctx.by_arm:
            add("Different arms are not pooled together.",
                f"The series belong to {len(arms)} arms ({listing}). Each arm is pooled on "
                "its own" + (f", and {ctx.index.label} is compared only with series of its "
                             f"own arm" if ctx.index else "")
                + ". Rows that mix arms are marked as such and are for reference only.")
        elif ctx.grouped:
            add(f"Grouped by {ctx.options.group_by}, not by arm.",
                f"Groups can mix arms ({listing}).")
        else:
            add("All arms are pooled together (no grouping).",
                f"The pooled estimates mix different populations ({listing}).")

    for a in r.analyses:
        origins: OrderedDict[str, list[str]] = OrderedDict()
        for est in a.overall.studies:
            origins.setdefault(est.time_origin or "an unstated origin", []).append(est.id)
        if len(origins) > 1:
            detail = "; ".join(f"from {o}: {join_words(ctx.labels_of(ids))}"
                               for o, ids in origins.items())
            add(f"Time origins differ ({short_name(a.endpoint, a.time_months)}).",
                f"Time is counted {detail}. Survival counted from progression or from CAR-T "
                "infusion is not survival counted from transplant: these figures are not "
                "directly comparable.")

    not_at: OrderedDict[str, list[str]] = OrderedDict()
    for a in r.analyses:
        if not a.at_requested_landmark:
            continue
        for e in a.overall.excluded:
            if e.code is NoticeCode.OTHER_LANDMARK:
                not_at.setdefault(e.id, []).append(e.reason)
    if not_at:
        items = [f"{ctx.label(i)}: " + "; ".join(dict.fromkeys(rs)) for i, rs in not_at.items()]
        add("Landmarks not reported.",
            "; ".join(items) + ". These series are left out of those analyses: a figure at "
            "another landmark or without one is never substituted (a 2-year figure is not a "
            "1-year figure).")
    left: OrderedDict[str, None] = OrderedDict()
    for a in r.analyses:
        for e in a.overall.excluded:
            if e.code not in MISSING:
                left.setdefault(f"{ctx.label(e.id)}: {e.reason}", None)
    if left:
        add("Left out.", "; ".join(left) + ".")

    timed = _by_study(ctx, ((s.id, short_name(a.endpoint, a.time_months))
                            for a in r.analyses if a.time_months is not None
                            for s in a.overall.studies if s.approximate))
    if timed:
        add("Approximate standard errors.",
            f"{timed}: an estimate without a confidence interval or counts. Its standard "
            "error is approximated from the estimate and the number of patients (binomial), "
            "which ignores censoring: it is too small when follow-up is short, so such a series "
            "weighs more, and looks more precise, than it should.")
    untimed = _by_study(ctx, ((s.id, short_name(a.endpoint, a.time_months))
                              for a in r.analyses if a.time_months is None
                              for s in a.overall.studies if s.approximate))
    if untimed:
        add("Approximate standard errors without a landmark.",
            f"{untimed}: a proportion without a confidence interval or counts. Its standard "
            "error is approximated from the estimate and the number of patients (binomial), "
            "which is exact only if the proportion is of all of them.")

    derived = _by_study(ctx, ((s.id, short_name(a.endpoint, a.time_months))
                              for a in r.analyses for s in a.overall.studies if s.derived))
    if derived:
        add("Derived figures.",
            f"{derived}: not stated by the source but derived from it; how is written beside "
            "each figure in the provenance table.")

    singles = _by_study(ctx, ((g.studies[0].id, short_name(a.endpoint, a.time_months))
                              for a in r.analyses for g in (a.groups or (a.overall,))
                              if g.k == 1))
    if singles:
        add("Single series.",
            f"Only one series of its {ctx.group_word() if ctx.grouped else 'set'} reports "
            f"these: {singles}. Its own estimate is shown and nothing is pooled.")

    small = sorted({g.k for a in r.analyses for g in a.results if 2 <= g.k <= 4})
    if small:
        add("Few series.",
            f"Pooled sets have {join_words([str(k) for k in small])} series. With so few, "
            "\u03c4\u00b2 and I\u00b2 are very uncertain (see their intervals), a "
            "non-significant Q test says little, and prediction intervals are wide.")

    if ctx.index is not None and ctx.index.patients <= 30:
        add("Small index cohort.",
            f"{ctx.index.label} has {ctx.index.patients} patients: one patient moves its "
            f"proportions by {100 / ctx.index.patients:.0f} percentage points.")

    corrected = sorted({s.id for a in r.analyses for s in a.overall.studies if s.corrected})
    if corrected:
        add("Continuity correction.",
            f"{join_words(ctx.labels_of(corrected))}: no or only events; 1/2 was added to "
            f"events and non-events on the {ctx.options.scale.value} scale.")

    outside = [short_name(a.endpoint, a.time_months) for a in r.analyses
               if any(code_of(w) is NoticeCode.INTERVAL_OUTSIDE_RANGE
                      for g in a.results for w in g.warnings)]
    if outside:
        add("Intervals outside 0-100%.",
            f"On the {ctx.options.scale.value} scale, intervals reach outside [0, 1] for "
            f"{join_words(list(dict.fromkeys(outside)))}; they are shown as computed.")

    companion = _companion_caveat(ctx)
    if companion:
        out.append(companion)
    return out


def _by_study(ctx: _Context, pairs: Iterable[tuple[str, str]]) -> str:
    """``Zurko 2023 (OS 12 mo, PFS 12 mo) and JULIET (CR)``."""
    what: OrderedDict[str, list[str]] = OrderedDict()
    for sid, name in pairs:
        what.setdefault(sid, [])
        if name not in what[sid]:
            what[sid].append(name)
    ordered = ctx.labels_of(what)
    ids = {ctx.label(i): i for i in what}
    return join_words([f"{lab} ({', '.join(what[ids[lab]])})" for lab in ordered])


def _companion_caveat(ctx: _Context) -> Paragraph | None:
    """Where the model shown beside the default could not be fitted, and why."""
    r = ctx.report
    comp = r.companion_options
    if comp is None:
        return None
    glmm = comp.model.value == "glmm"
    name = "The GLMM beside the default." if glmm else "The default model beside the GLMM."
    errors = [f"{short_name(a.endpoint, a.time_months)}: {ctx.with_labels(a.companion_error)}"
              for a in r.analyses if a.companion_error]
    no_counts: list[tuple[str, str]] = []
    failed: list[str] = []
    for a in r.analyses:
        for c in a.companion:
            if c.k < 2 or c.model == comp.model.value:
                continue
            if any(code_of(w) is NoticeCode.GLMM_NEEDS_COUNTS for w in c.warnings):
                no_counts += [(s.id, short_name(a.endpoint, a.time_months))
                              for s in c.studies if s.count is None]
            else:
                failed += [f"{short_name(a.endpoint, a.time_months)}"
                           + (f" ({c.group})" if c.group else "") + ": "
                           + ctx.with_labels(w) for w in c.warnings
                           if code_of(w) is NoticeCode.GLMM_FAILED]
    parts = []
    if no_counts:
        parts.append("It needs counts from every series, so it is not fitted where a series "
                     f"reports an estimate only: {_by_study(ctx, no_counts)}.")
    if failed:
        parts.append("It could not be fitted: " + "; ".join(dict.fromkeys(failed)) + ".")
    if errors:
        parts.append("It could not be run: " + "; ".join(errors) + ".")
    if not parts:
        return None
    return Paragraph.of(Span(name + " ", "strong"), " ".join(parts))


def _caveats(ctx: _Context) -> Section:
    sec = Section("caveats", "Caveats")
    items = caveats(ctx)
    if items:
        sec.add(BulletList(tuple(items)))
    else:
        sec.add(Paragraph.of("None found in the data."))
    return sec


def _warnings(ctx: _Context) -> Section | None:
    rows = []
    for a in ctx.report.analyses:
        seen: set[str] = set()
        for res in a.results:
            for w in res.warnings:
                if w in seen:
                    continue
                seen.add(w)
                rows.append((short_name(a.endpoint, a.time_months), res.group or "all series", w))
    if not rows:
        return None
    sec = Section("warnings", "Every warning of the analyses, as written")
    sec.add(Paragraph.of("The messages of the analyses themselves (studies named by their "
                         "ids), summarised in the caveats above.", kind="note"))
    sec.add(Table(columns=("Endpoint", "Pooled set", "Warning"), rows=tuple(rows),
                  name="warnings"))
    return sec
