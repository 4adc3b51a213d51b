"""The report's words and tables, built from a :class:`~metaview.report.content.Report`.

Everything a reader sees is assembled here once, as a :class:`~metaview.report.doc.Document`
of plain text; the HTML and Markdown writers only lay it out. No statistic is computed
here: every number comes from the pooled results and comparisons.

This module assembles the document and writes the question, comparison, figures, pooled
estimates and studies sections; the other sections have their own modules
(:mod:`~metaview.report.caveats`, :mod:`~metaview.report.provenance`,
:mod:`~metaview.report.methods`), as have the references
(:mod:`~metaview.report.references`), the number and fact wording
(:mod:`~metaview.report.words`) and the look-ups shared by the sections
(:mod:`~metaview.report.context`).
"""

from __future__ import annotations

import math
from collections import OrderedDict

from metaview.engine.analysis import group_of
from metaview.model import Comparison, ExcludedStudy, PooledResult, Study
from metaview.notices import NoticeCode, code_of
from metaview.render import format as fmt
from metaview.report import bayes as _bayes
from metaview.report.caveats import _caveats, _warnings
from metaview.report.content import (
    Analysis,
    Report,
)
from metaview.report.context import _Context
from metaview.report.doc import (
    BulletList,
    Callout,
    Document,
    FigureRef,
    Inline,
    Paragraph,
    Section,
    Span,
    Table,
)
from metaview.report.methods import _methods, _software, method_summary
from metaview.report.provenance import _provenance
from metaview.report.provenance import provenance_rows as provenance_rows
from metaview.report.words import (
    DASH,
    characteristic_name,
    characteristic_text,
    join_words,
    level_text,
    num,
    pct,
    pct_ci,
    pct_range,
    pvalue,
    short_name,
    sig,
)

# --------------------------------------------------------------------------- the document


def compose(report: Report) -> Document:
    """The whole report as a :class:`~metaview.report.doc.Document`."""
    ctx = _Context(report)
    sections = [
        _question(ctx),
        _comparison(ctx),
        _forest(ctx),
        _survival_curves(ctx),
        _pooled(ctx),
        _bayes.bayes_section(ctx),
        _caveats(ctx),
        _studies(ctx),
        _provenance(ctx),
        _methods(ctx),
        _software(ctx),
        _warnings(ctx),
    ]
    index = report.index
    if index is not None:
        title = f"{index.label} compared with published series"
        subtitle = f"{index.arm} \u00b7 {index.patients} patients"
    else:
        title = "Pooled published series"
        arms = sorted({s.arm for s in report.studies})
        subtitle = " \u00b7 ".join(arms)
    if report.timestamp:
        subtitle += f" \u00b7 generated {report.timestamp}"
    return Document(title=title, subtitle=subtitle,
                    sections=tuple(s for s in sections if s is not None))


# --------------------------------------------------------------------------- 1. question


def _question(ctx: _Context) -> Section:
    r = ctx.report
    sec = Section("question", "The question")
    index = ctx.index
    included = [s for s in ctx.studies if s.id not in ctx.options.exclude]
    if index is not None:
        peers = [s for s in included if s.id != index.id and _same_group(ctx, s, index)]
        others = [s for s in included if s.id != index.id and not _same_group(ctx, s, index)]
        lead: list[Inline] = [
            "How do the outcomes of ", Span(index.label, "strong"),
            f" ({index.patients} patients, {index.arm}) compare with published series? ",
        ]
        if ctx.grouped:
            lead.append(
                f"The index cohort is set against the pooled series of the same "
                f"{ctx.group_word()} ({join_words([s.label for s in peers]) or 'none'}), endpoint "
                "by endpoint.")
            if others:
                lead.append(
                    f" Series of other {ctx.group_word()}s "
                    f"({join_words([s.label for s in others])}) are pooled on their own and "
                    "shown for context; they are not part of the comparison.")
        else:
            lead.append("The index cohort is set against every other series, pooled together "
                        "(no grouping was asked for).")
        sec.add(Paragraph(tuple(lead), "lead"))
        sec.add(Table(
            columns=("Index cohort", ""),
            rows=tuple((k, v) for k, v in _study_facts(index) if v),
            name="facts",
        ))
    else:
        sec.add(Paragraph.of(
            "Pooled estimates of the published series, per endpoint and landmark. ",
            r.comparison_note or "", kind="lead"))
    arms: OrderedDict[str, list[str]] = OrderedDict()
    for s in included:
        arms.setdefault(s.arm, []).append(s.label)
    items = tuple(Paragraph.of(Span(arm, "strong"), f": {join_words(labels)}")
                  for arm, labels in arms.items())
    sec.add(Paragraph.of(f"{len(included)} series in this report, by arm:"),
            BulletList(items))
    excluded = [s for s in ctx.studies if s.id in ctx.options.exclude]
    if excluded:
        sec.add(Paragraph.of("Left out on request (--exclude): "
                             + join_words([s.label for s in excluded]) + "."))
    sec.add(Paragraph.of(
        "Read the caveats before quoting any number: the series differ in time origin, "
        "population and how much they report.", kind="note"))
    return sec


def _same_group(ctx: _Context, a: Study, b: Study) -> bool:
    field = ctx.options.group_by
    return field is None or group_of(a, field) == group_of(b, field)


def _study_facts(s: Study) -> list[tuple[str, str]]:
    ids = []
    if s.doi:
        ids.append(f"doi:{s.doi}")
    if s.pmid:
        ids.append(f"PMID {s.pmid}")
    return [
        ("Study", s.label),
        ("Reference", s.citation + (f" ({', '.join(ids)})" if ids else "")),
        ("Design", s.design or ""),
        ("Country", s.country or ""),
        ("Arm", s.arm),
        ("Patients", str(s.patients)),
        ("Reports", "; ".join(o.describe() for o in s.outcomes) or "nothing"),
    ]


# --------------------------------------------------------------------------- 2. comparison


def _comparison(ctx: _Context) -> Section | None:
    r = ctx.report
    if ctx.index is None:
        return None
    sec = Section("comparison", f"{ctx.index.label} against the literature")
    comps = [(a, c) for a in r.analyses for c in a.comparisons]
    if not comps:
        sec.add(Paragraph.of(r.comparison_note or "Nothing to compare."))
        return sec
    scale = ctx.options.scale.value
    for a, c in comps:
        sec.add(Callout(a.title, tuple(comparison_words(ctx, c)), "finding"))
    rows = []
    for _, c in comps:
        p = c.pooled
        rows.append((
            short_name(c.endpoint, c.time_months),
            f"{pct_ci(c.index.estimate, c.index.ci_low, c.index.ci_high)}"
            + (f" [{c.index.count}/{c.index.total}]" if c.index.count is not None else ""),
            f"{pct_ci(p.estimate, p.ci_low, p.ci_high)} [k = {p.k}]",
            pct_range(p.pi_low, p.pi_high, p.estimate),
            f"{num(c.difference)} ({num(c.diff_ci_low)} to {num(c.diff_ci_high)})",
            pvalue(c.pvalue),
            {True: "yes", False: "no", None: "no PI (k = 1)" if p.k < 2 else "no PI"}[
                c.inside_pi],
        ))
    sec.add(Table(
        columns=("Endpoint", f"{ctx.index.label} ({ctx.level} CI)",
                 f"Others pooled ({ctx.level} CI)", f"{ctx.level} PI of others",
                 f"Difference, {scale} scale ({ctx.level} CI)", "p", "Inside PI"),
        rows=tuple(rows),
        caption=(f"The index cohort against the pooled other series of its "
                 f"{ctx.group_word() if ctx.grouped else 'set'}. Difference = index minus "
                 f"pooled, on the {scale} scale; p from a two-sided z-test; PI = prediction "
                 "interval of the other series."),
        numeric=frozenset({"p"}),
        name="comparison",
    ))
    return sec


def comparison_words(ctx: _Context, c: Comparison) -> list[Paragraph]:
    """The comparison in plain words (one or more paragraphs)."""
    idx, p = c.index, c.pooled
    alpha = 1.0 - c.level
    lvl = level_text(c.level)
    label = ctx.index.label if ctx.index is not None else idx.label
    counts = f"{idx.count}/{idx.total}, " if idx.count is not None else ""
    peers = ctx.labels_of(s.id for s in p.studies)
    first: list[Inline] = [
        Span(label, "strong"), (f": {pct(idx.estimate)} ({counts}{lvl} CI "
                               f"{pct_range(idx.ci_low, idx.ci_high, idx.estimate)}). "),
    ]
    if p.k == 1:
        first.append(f"The literature side is a single series, {peers[0]}: "
                     f"{pct_ci(p.estimate, p.ci_low, p.ci_high)}.")
    else:
        first.append(f"Pooled other series (k = {p.k}: {join_words(peers)}): "
                     f"{pct_ci(p.estimate, p.ci_low, p.ci_high)}.")
    out = [Paragraph(tuple(first))]

    diff_ci_low, diff_ci_high, _, p_value = c.tested()
    higher = c.difference > 0
    significant = p_value < alpha
    verdict: list[Inline] = []
    if significant:
        verdict.append(Span(f"{label} is {'higher' if higher else 'lower'} than the pooled "
                            f"series", "strong"))
        verdict.append(f" (p = {pvalue(p_value)}).".replace("p = <", "p < "))
    else:
        verdict.append(Span("No evidence of a difference", "strong"))
        verdict.append(f" (p = {pvalue(p_value)}).".replace("p = <", "p < "))
    if c.inside_pi is True:
        verdict.append(f" {label} lies inside the {lvl} prediction interval of the other series "
                       f"({pct_range(p.pi_low, p.pi_high, p.estimate)}): a result like it is "
                       "within the range expected for a further series like theirs.")
    elif c.inside_pi is False:
        verdict.append(f" {label} lies outside the {lvl} prediction interval of the other "
                       f"series ({pct_range(p.pi_low, p.pi_high, p.estimate)}): more extreme "
                       "than expected for a further series like theirs.")
    else:
        verdict.append(" There is no prediction interval: with a single series on the "
                       "literature side, the spread between series cannot be estimated.")
    out.append(Paragraph(tuple(verdict)))

    detail = (f"Difference on the {c.scale} scale {num(c.difference)} ({lvl} CI "
              f"{num(diff_ci_low)} to {num(diff_ci_high)})")
    if c.scale == "logit":
        detail += (f", i.e. an odds ratio of {sig(math.exp(c.difference))} "
                   f"({sig(math.exp(diff_ci_low))} to {sig(math.exp(diff_ci_high))})")
    detail += "."
    if not significant and idx.total:
        detail += (f" With {idx.total} patients, one patient moves {label}'s proportion by "
                   f"{100 / idx.total:.0f} percentage points: this comparison can only detect "
                   "large differences, and no difference is not the same as equal outcomes.")
    out.append(Paragraph((detail,), "note"))
    cautions = []
    approx = [s for s in (idx, *p.studies) if s.approximate]
    if approx:
        who = join_words(ctx.labels_of(s.id for s in approx))
        cautions.append(f"the standard error of {who} is approximated (no confidence interval "
                        "or counts reported; binomial, ignoring censoring), so it looks more "
                        "precise than it is")
    origins: OrderedDict[str, list[str]] = OrderedDict()
    for s in (idx, *p.studies):
        origins.setdefault(s.time_origin or "an unstated origin", []).append(s.id)
    if len(origins) > 1:
        cautions.append("time is counted from different origins: " + "; ".join(
            f"{o} ({join_words(ctx.labels_of(ids))})" for o, ids in origins.items()))
    if cautions:
        out.append(Paragraph(("Caution: " + "; ".join(cautions) + ".",), "note"))
    return out


# --------------------------------------------------------------------------- 3. forest plots


def _forest(ctx: _Context) -> Section | None:
    r = ctx.report
    plotted = [a for a in r.analyses if r.figure(a.stem) is not None]
    if not plotted:
        return None
    sec = Section("forest", "Forest plots")
    sec.add(Paragraph.of(
        f"Each row is one series: its proportion with its {ctx.level} confidence interval. "
        + (f"Each {ctx.group_word()} is pooled on its own (diamond: pooled estimate and "
           "confidence interval; the line through it: prediction interval). "
           if ctx.grouped else "Diamond: pooled estimate and confidence interval; the line "
                               "through it: prediction interval. ")
        + (f"The index cohort ({ctx.index.label}) is highlighted." if ctx.index else ""),
        kind="note"))
    for a in plotted:
        f = r.figure(a.stem)
        if f is not None:
            sec.add(FigureRef(a.stem, a.title, _figure_caption(ctx, a), f.svg, f.png))
    return sec


def _survival_curves(ctx: _Context) -> Section | None:
    """The reconstructed curves: the overlay figure, the estimates and the fidelity table."""
    from metaview.report.content import CURVES_STEM

    r = ctx.report
    if not r.curves:
        return None
    sec = Section("curves", "Survival curves")
    sec.add(Paragraph.of(
        "Patient-level data reconstructed from the digitised Kaplan-Meier curves with the "
        "algorithm of Guyot et al. (2012): per interval of the numbers-at-risk table, the "
        "censoring that reproduces the published number at risk, spread uniformly; deaths "
        "from the drops of the curve. Estimates: Kaplan-Meier of the reconstruction, "
        f"Greenwood variance, {ctx.level} log-log intervals. A landmark the paper prints "
        "is pooled as printed; the reconstructed one is used where it prints none.",
        kind="note"))
    f = r.figure(CURVES_STEM)
    if f is not None:
        sec.add(FigureRef(CURVES_STEM, "Reconstructed Kaplan-Meier curves",
                          "Reconstructed curves of every series with a digitised figure; "
                          "ticks: censored patients; numbers at risk of the reconstruction "
                          "under the axis.", f.svg, f.png))
    rows = []
    for c in r.curves:
        s = c.summary
        unit = c.curve.time_unit
        median = (DASH if s.median is None else
                  f"{s.median:.3g} {unit} ({_bound(s.median_ci_low)}–"
                  f"{_bound(s.median_ci_high)})")
        for x in s.landmarks:
            rows.append((ctx.label(c.study_id), c.curve.endpoint, c.curve.source, str(s.n),
                         str(s.events), median, fmt.landmark(x.time_months),
                         pct_ci(x.estimate, x.ci_low, x.ci_high), str(x.at_risk)))
    sec.add(Table(columns=("Study", "Endpoint", "Figure", "n", "Events", "Median (CI)",
                           "Landmark", "Estimate (CI)", "At risk"),
                  rows=tuple(rows), numeric=frozenset({"n", "Events", "At risk"}),
                  name="curves"))
    fidelity = []
    for c in r.curves:
        for check in c.reconstruction.at_risk_check:
            fidelity.append((ctx.label(c.study_id), c.curve.endpoint,
                             f"{check.time:g} {c.curve.time_unit}", str(check.published),
                             str(check.reconstructed),
                             f"{check.reconstructed - check.published:+d}"))
    sec.add(Table(columns=("Study", "Endpoint", "Time", "Published at risk",
                           "Reconstructed at risk", "Difference"),
                  rows=tuple(fidelity), caption="Fidelity: the published numbers at risk "
                  "against the reconstruction's (patients with time at or after t).",
                  numeric=frozenset({"Published at risk", "Reconstructed at risk",
                                     "Difference"}), name="fidelity"))
    notes = [f"{ctx.label(c.study_id)} ({c.curve.endpoint}): {n}" for c in r.curves
             for n in c.notes]
    if notes:
        sec.add(BulletList(tuple(Paragraph.of(n, kind="note") for n in notes)))
    return sec


def _bound(x: float | None) -> str:
    return "NR" if x is None else f"{x:.3g}"


def _figure_caption(ctx: _Context, a: Analysis) -> str:
    parts = []
    for g in a.plotted_results():
        who = ", ".join(ctx.labels_of(s.id for s in g.studies))
        name = g.group or "all series"
        if g.k >= 2:
            parts.append(f"{name}: {pct_ci(g.estimate, g.ci_low, g.ci_high)} from k = {g.k} "
                         f"({who})")
        else:
            parts.append(f"{name}: {who} only, nothing pooled")
    text = f"{a.title}. " + "; ".join(parts) + "."
    left = [e for e in a.overall.excluded
            if e.code in (NoticeCode.OTHER_LANDMARK, NoticeCode.EXCLUDED_BY_USER)]
    if left:
        text += " Not in the pooled estimates: " + "; ".join(
            f"{ctx.label(e.id)} ({_reason(e)})" for e in left) + "."
    return text


def _reason(e: ExcludedStudy) -> str:
    return e.detail if e.code is NoticeCode.OTHER_LANDMARK else e.reason


# --------------------------------------------------------------------------- 4. pooled


def _pooled(ctx: _Context) -> Section:
    r = ctx.report
    sec = Section("pooled", "Pooled results" + (f" per {ctx.group_word()}" if ctx.grouped else ""))
    companion = r.companion_options
    comp_head = None
    if companion is not None:
        comp_head = ("GLMM" if companion.model.value == "glmm" else "Default model") \
            + f" ({ctx.level} CI)"
    method = method_summary(ctx)
    sec.add(Paragraph.of(
        f"Pooled proportion with its {ctx.level} confidence interval (CI) and prediction "
        f"interval (PI: where a further series like these would be expected to fall); k = "
        f"number of series; I\u00b2, \u03c4\u00b2 and Cochran's Q describe how much the series "
        f"differ. Model: {method}."
        + (f" The {comp_head.split(' (')[0] if comp_head else ''} column shows "
           + ("the binomial-normal GLMM on the counts" if companion and
              companion.model.value == "glmm" else "the default inverse-variance model")
           + " beside it." if comp_head else ""),
        kind="note"))
    groups: OrderedDict[str | None, list[tuple[Analysis, PooledResult]]] = OrderedDict()
    for a in r.analyses:
        for g in a.groups:
            if g.k > 0:
                groups.setdefault(g.group, []).append((a, g))
    mixed: list[tuple[Analysis, PooledResult]] = []
    for a in r.analyses:
        o = a.overall
        with_data = [g for g in a.groups if g.k > 0]
        if o.k > 0 and (not a.groups or len(with_data) > 1):
            mixed.append((a, o))
    index_group = None
    if ctx.index is not None and ctx.grouped:
        index_group = group_of(ctx.index, ctx.options.group_by)
    order = sorted(groups, key=lambda g: (g != index_group, str(g)))
    for name in order:
        rows = groups[name]
        sub = Section(f"pooled-{_slug(str(name))}", str(name))
        sub.add(_pooled_table(ctx, rows, comp_head))
        sec.subsections.append(sub)
    if mixed:
        title = (f"All series together ({ctx.group_word()}s mixed: for reference only)"
                 if ctx.grouped else "All series")
        sub = Section("pooled-all", title)
        if ctx.grouped:
            sub.add(Paragraph.of(
                f"These rows pool series of different {ctx.group_word()}s. They are shown "
                f"because the test of a difference between {ctx.group_word()}s needs them; "
                f"quote the per-{ctx.group_word()} results instead.", kind="note"))
        sub.add(_pooled_table(ctx, mixed, comp_head, between=ctx.grouped))
        sec.subsections.append(sub)
    if ctx.options.leave_one_out:
        sec.subsections.append(_leave_one_out(ctx))
    return sec


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-") or "group"


def _pooled_table(ctx: _Context, rows: list[tuple[Analysis, PooledResult]],
                  comp_head: str | None, between: bool = False) -> Table:
    lvl = ctx.level
    columns = ["Endpoint", "k", "Series", f"Pooled ({lvl} CI)", f"{lvl} PI",
               "I\u00b2 (CI)", "\u03c4\u00b2 (CI)", "Q (df), p"]
    if comp_head:
        columns.append(comp_head)
    columns.extend(_bayes.column_heads(ctx))
    if between:
        columns.append("Between-arm p" if ctx.by_arm else "Between-group p")
    out = []
    for a, res in rows:
        one = res.k == 1
        row = [
            short_name(a.endpoint, a.time_months),
            str(res.k),
            ", ".join(ctx.labels_of(s.id for s in res.studies)),
            pct_ci(res.estimate, res.ci_low, res.ci_high) + (" (single series)" if one else ""),
            DASH if one else pct_range(res.pi_low, res.pi_high, res.estimate),
            DASH if one or res.i2 is None else _i2(res),
            DASH if one or res.model == "common" else _tau2(res),
            DASH if one or res.q is None else f"{num(res.q)} ({res.q_df}), {pvalue(res.q_pvalue)}",
        ]
        if comp_head:
            row.append(_companion_cell(a, res, ctx.report.companion_options.model.value
                                       if ctx.report.companion_options else ""))
        row.extend(_bayes.column_cells(ctx, a, res))
        if between:
            t = res.subgroup_test
            row.append(DASH if t is None else pvalue(t.pvalue))
        out.append(tuple(row))
    return Table(columns=tuple(columns), rows=tuple(out), numeric=frozenset({"k"}),
                 name="pooled")


def _i2(r: PooledResult) -> str:
    text = f"{r.i2:.0f}%"
    if r.i2_ci_low is not None and r.i2_ci_high is not None:
        text += f" ({r.i2_ci_low:.0f}{DASH}{r.i2_ci_high:.0f})"
    return text


def _tau2(r: PooledResult) -> str:
    text = sig(r.tau2)
    if r.tau2_ci_low is not None and r.tau2_ci_high is not None:
        text += f" ({sig(r.tau2_ci_low)}{DASH}{sig(r.tau2_ci_high)})"
    return text


def _companion_cell(a: Analysis, res: PooledResult, wanted: str) -> str:
    """The model beside the default for one pooled set (``wanted``: its model name)."""
    if a.companion_error:
        return "not run (see caveats)"
    c = a.companion_for(res)
    if c is None or c.k < 2:
        return DASH
    if c.model != wanted:
        if any(code_of(w) is NoticeCode.GLMM_NEEDS_COUNTS for w in c.warnings):
            return "not fitted (needs counts)"
        return "not fitted (see caveats)"
    return pct_ci(c.estimate, c.ci_low, c.ci_high)


def _leave_one_out(ctx: _Context) -> Section:
    sub = Section("leave-one-out", "Leave-one-out")
    rows = []
    for a in ctx.report.analyses:
        for res in a.results:
            if not res.leave_one_out or (res.group is None and a.groups and
                                         sum(g.k > 0 for g in a.groups) < 2):
                continue
            for x in res.leave_one_out:
                left = pct_ci(x.estimate, x.ci_low, x.ci_high)
                if res.k == 2:
                    left += " (one series left)"
                rows.append((short_name(a.endpoint, a.time_months), res.group or "all series",
                             ctx.label(x.omitted), left,
                             pct_range(x.pi_low, x.pi_high, x.estimate),
                             DASH if res.k == 2 else sig(x.tau2),
                             DASH if x.i2 is None else f"{x.i2:.0f}%"))
    if rows:
        sub.add(Table(columns=("Endpoint", "Pooled set", "Left out", f"Pooled ({ctx.level} CI)",
                               f"{ctx.level} PI", "\u03c4\u00b2", "I\u00b2"),
                      rows=tuple(rows), name="loo",
                      caption="The model refitted without each series in turn."))
    else:
        sub.add(Paragraph.of("No pooled set has two or more series: nothing to leave out."))
    return sub


# --------------------------------------------------------------------------- 6. studies


def _studies(ctx: _Context) -> Section:
    sec = Section("studies", "The series")
    rows = []
    for s in ctx.studies:
        rows.append((
            s.label + (" (index)" if s.index or (ctx.index and s.id == ctx.index.id) else ""),
            str(s.year), s.design or DASH, s.country or DASH, s.arm, str(s.patients),
            "; ".join(o.describe() for o in s.outcomes) or DASH,
        ))
    sec.add(Table(columns=("Study", "Year", "Design", "Country", "Arm", "Patients", "Reports"),
                  rows=tuple(rows), numeric=frozenset({"Year", "Patients"}), name="studies"))
    names: list[str] = []
    for s in ctx.studies:
        for key in s.characteristics:
            if key not in names:
                names.append(key)
    with_chars = [s for s in ctx.studies if s.characteristics]
    if names:
        sub = Section("characteristics", "Patient and treatment characteristics")
        crows = []
        for key in names:
            crows.append((characteristic_name(key),) + tuple(
                characteristic_text(s.characteristics[key]) if key in s.characteristics
                else DASH for s in with_chars))
        sub.add(Table(columns=("Characteristic",) + tuple(s.label for s in with_chars),
                      rows=tuple(crows), name="characteristics",
                      caption="As reported; \u2013 = not reported. Counts as n/N (%), "
                              "continuous values as median (range)."))
        sec.subsections.append(sub)
    sub = Section("sources", "Sources")
    items = []
    for s in ctx.studies:
        parts: list[Inline] = [Span(s.label, "strong"), f": {s.citation}"]
        if s.doi:
            parts += [" doi:", Span(s.doi, "link", f"https://doi.org/{s.doi}"), "."]
        if s.pmid:
            parts.append(f" PMID {s.pmid}.")
        if s.url and not s.doi:
            parts += [" ", Span(s.url, "link", s.url)]
        if s.notes:
            parts.append(f" Note: {s.notes}")
        items.append(Paragraph(tuple(parts)))
    sub.add(BulletList(tuple(items)))
    sec.subsections.append(sub)
    return sec
