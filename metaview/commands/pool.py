"""`metaview pool PATH...`: pooled estimates per endpoint, landmark and group."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metaview import __version__
from metaview.choices import OutputFormat, parse
from metaview.commands._common import (
    add_format,
    load,
    load_valid,
    options_from_args,
    write_json,
)
from metaview.display import level_percent, with_labels
from metaview.errors import AnalysisError
from metaview.model import PooledResult
from metaview.notices import LISTING, MISSING, Notice, NoticeCode, code_of
from metaview.render import format as fmt
from metaview.tidy import POOL_COLUMNS, pool_csv


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    add_format(p)
    p.add_argument("--detail", action="store_true",
                   help="table: each study's row under the headline table (the default when "
                        "one endpoint is chosen)")
    p.add_argument("--overall", action="store_true",
                   help="table: also the analysis of all groups together (JSON and CSV always "
                        "have it)")
    p.add_argument("--skip-invalid", action="store_true",
                   help="analyse the valid study files; list the invalid ones on stderr")


def run(args: argparse.Namespace) -> int:
    out_format = parse(OutputFormat, args.format, option="--format")
    options = options_from_args(args)
    studies = load_valid(args.paths) if args.skip_invalid else load(args.paths)
    from metaview.engine.analysis import analyse

    results = analyse(studies, options)
    from metaview.commands._endpoints import endpoint_warnings

    warnings = endpoint_warnings(studies)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not any(r.k > 0 for r in results):
        wanted = ", ".join(
            f"{r.endpoint}{'' if r.time_months is None else f' at {r.time_months:g} months'}"
            for r in results if r.group is None) or "any endpoint"
        raise AnalysisError(f"nothing to pool: no study reports {wanted} "
                            "(see 'metaview list' for what each study reports)")
    if out_format is OutputFormat.JSON:
        write_json({"metaview_version": __version__, "analyses": [r.to_dict() for r in results],
                    "warnings": warnings})
    elif out_format is OutputFormat.CSV:
        sys.stdout.write(to_csv(results))
    else:
        detail = args.detail or len(set(args.endpoint or ())) == 1
        sys.stdout.write(to_table(results, detail=detail, overall=args.overall,
                                  labels={st.id: st.label for st in studies}))
    return 0


# ------------------------------------------------------------------ CSV

#: the columns of --format csv (the tidy results table, :mod:`metaview.tidy`; under --model
#: bayes followed by :data:`metaview.tidy.BAYES_POOL_COLUMNS`)
CSV_COLUMNS = POOL_COLUMNS


def to_csv(results: Sequence[PooledResult]) -> str:
    """The text of ``--format csv``: each analysis's studies, its pooled row, then the
    studies left out (:func:`metaview.tidy.pool_csv`)."""
    return pool_csv(results)


# ------------------------------------------------------------------ table


def _reported(s: Any) -> str:
    if s.reconstructed:
        return "curve"
    if s.count is not None and s.total is not None:
        return f"{s.count}/{s.total}"
    return fmt.percent(s.estimate, 1 if round(s.estimate * 100, 1) % 1 else 0)


def _align(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w)
                 for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
    return out


#: a pooled interval wider than this (proportion) with few studies gets a pointer to
#: the Bayesian model and the common-effect sensitivity analysis
WIDE_CI = 0.50
#: ... when k is at most this
FEW_STUDIES = 3
#: longest line of the notes (they are wrapped)
WIDTH = 100


def to_table(results: Sequence[PooledResult], *, detail: bool = False, overall: bool = False,
             labels: Mapping[str, str] | None = None) -> str:
    """Plain text a clinician can read.

    First the headline table: one line per endpoint, landmark and group (k, the pooled
    estimate with its CI, the prediction interval, I² and τ²; a group with one study shows
    that study's own estimate, not pooled), then the notes, naming studies by label. With
    ``detail``, then each analysis with its studies. The analysis of all groups together is
    shown only with ``overall`` (it mixes arms).
    """
    names = dict(labels or {})
    for r in results:
        for s in r.studies:
            names.setdefault(s.id, s.label)
        for e in r.excluded:
            names.setdefault(e.id, e.label)
    shown = [r for r in results if _shown(r, results, overall)]
    lines: list[str] = []
    if shown:
        first = shown[0]
        lines += [f"Pooled estimates ({fmt.method_line(first)})", ""]
        table = _headline(shown)
        lines += table
        notes = _notes(shown, names, max(WIDTH, max(len(t) for t in table)),
                       warnings=not detail)
        if notes:
            lines += ["", "Notes:"] + notes
    if detail:
        seen: set[tuple[str, float | None]] = set()
        for r in shown:
            key = (r.endpoint, r.time_months)
            if key not in seen:
                seen.add(key)
                when = "" if r.time_months is None else f" at {r.time_months:g} months"
                title = f"{r.endpoint}{when}"
                lines += ["", title, "=" * len(title)]
            lines += _block(r, grouped=_is_across_groups(r, results), names=names)
    if results:
        lines += ["", _wording(results[0]).footnote.format(study_ci=_study_ci_name(results))]
    if results and not detail:
        lines.append("Each study's row: add --detail (or choose one endpoint with "
                     "--endpoint E)." + ("" if overall or not _has_overall(results) else
                                         " All groups together: --overall."))
    return "\n".join(lines).lstrip("\n") + "\n"


def _groups_of(r: PooledResult, results: Sequence[PooledResult]) -> list[PooledResult]:
    """The group analyses of ``r``'s endpoint and landmark."""
    return [g for g in results if g.group is not None and g.endpoint == r.endpoint
            and g.time_months == r.time_months]


def _is_across_groups(r: PooledResult, results: Sequence[PooledResult]) -> bool:
    """Whether ``r`` pools two or more groups that have data of their own."""
    return r.group is None and sum(g.k > 0 for g in _groups_of(r, results)) >= 2


def _has_overall(results: Sequence[PooledResult]) -> bool:
    return any(_is_across_groups(r, results) for r in results)


def _shown(r: PooledResult, results: Sequence[PooledResult], overall: bool) -> bool:
    """Whether ``r`` is a row of the table: every group; all groups together only with
    ``overall`` and when two or more groups have data; the one analysis when there are
    no groups."""
    if r.group is not None or not _groups_of(r, results):
        return True
    return overall and _is_across_groups(r, results)


def _short(r: PooledResult) -> str:
    return r.endpoint if r.time_months is None else f"{r.endpoint} {r.time_months:g} mo"


def _group_name(r: PooledResult) -> str:
    if r.group is not None:
        return r.group
    if r.subgroup_test is None:
        return "all studies"
    return f"all {r.group_by} groups together"


@dataclass(frozen=True)
class _Wording:
    """How the table speaks of one kind of model."""

    estimate_head: str  # {level}: e.g. "95%"
    interval_head: str
    footnote: str  # {study_ci}: the per-study interval method
    posterior_rows: bool  # per-study rows with the posterior (shrunken) effects


#: The Bayesian model reports posterior medians with credible and predictive intervals; the
#: others estimates with confidence and prediction intervals.
_WORDING = {
    True: _Wording("posterior median ({level} credible interval)", "predictive interval",
                   "Observed: per-study intervals for counts {study_ci}, reported intervals "
                   "as published; posterior: the study's shrunken effect; † SE approximated "
                   "from estimate and n.", posterior_rows=True),
    False: _Wording("estimate ({level} CI)", "prediction interval",
                    "Per-study CIs: counts {study_ci}; reported intervals as published; "
                    "† SE approximated from estimate and n.", posterior_rows=False),
}


def _wording(r: PooledResult) -> _Wording:
    return _WORDING[r.model == "bayes"]


def _headline(results: Sequence[PooledResult]) -> list[str]:
    level = level_percent(results[0].level)
    words = _wording(results[0])
    heads = [words.estimate_head.format(level=level), words.interval_head]
    rows = [["endpoint", "group", "k", *heads, "I²", "τ²"]]
    previous = None
    for r in results:
        label = _short(r)
        row = [label if label != previous else "", _group_name(r), str(r.k)]
        previous = label
        if r.k == 0:
            usable = all(e.code in MISSING for e in r.excluded)
            row += ["not reported" if usable else "none usable (see --detail)", "", "", ""]
        elif r.k == 1:
            s = r.studies[0]
            row += [fmt.percent_ci(s.estimate, s.ci_low, s.ci_high),
                    f"1 study: not pooled ({s.label})", "", ""]
        else:
            pi = fmt.interval_percent(r.pi_low, r.pi_high) or "–"
            i2 = "" if r.i2 is None else f"{r.i2:.0f}%"
            tau2 = "" if r.tau2 is None or r.model == "common" else f"{r.tau2:.3g}"
            row += [fmt.percent_ci(r.estimate, r.ci_low, r.ci_high), pi, i2, tau2]
        rows.append(row)
    return _align(rows, right={2, 5, 6})


#: engine notes the headline table already says in its own words
_SAID_BY_THE_TABLE = frozenset({NoticeCode.SINGLE_STUDY, NoticeCode.NO_STUDY})


def _rows_text(rows: Sequence[PooledResult]) -> str:
    """``OS, PFS 12 mo; ORR``: the endpoints of ``rows``, landmarks said once."""
    by_time: dict[float | None, list[str]] = {}
    for r in rows:
        names = by_time.setdefault(r.time_months, [])
        if r.endpoint not in names:
            names.append(r.endpoint)
    return "; ".join(", ".join(e) + ("" if t is None else f" {t:g} mo")
                     for t, e in by_time.items())


def _notes(results: Sequence[PooledResult], names: Mapping[str, str], width: int,
           warnings: bool = True) -> list[str]:
    """One line per analysis with few studies and a wide interval, pointing to the
    alternatives; the test between groups; then (with ``warnings``) each note of the
    analyses once, naming studies by label with the rows they concern."""
    out: list[str] = []
    plain: dict[str, list[PooledResult]] = {}
    listed: dict[str, dict[str, list[PooledResult]]] = {}
    for r in results:
        if r.model != "bayes" and 2 <= r.k <= FEW_STUDIES and r.ci_low is not None \
                and r.ci_high is not None and r.ci_high - r.ci_low > WIDE_CI:
            out.append(f"  {_short(r)}, {_group_name(r)}: {r.k} studies, CI "
                       f"{100 * (r.ci_high - r.ci_low):.0f} points wide: see the Bayesian model "
                       "(--model bayes) and the common-effect analysis (--model common)")
        t = r.subgroup_test
        if t is not None:
            out.append(f"  {_short(r)}: between groups Q = {t.q_between:.2f}, df = {t.df}, "
                       f"{fmt.pvalue(t.pvalue)}")
        for w in r.warnings if warnings else ():
            if code_of(w) in _SAID_BY_THE_TABLE:
                continue
            if (isinstance(w, Notice) and w.code in LISTING and w.study_ids
                    and all(i in names for i in w.study_ids)):
                for i in w.study_ids:
                    listed.setdefault(w.detail, {}).setdefault(i, []).append(r)
            else:
                plain.setdefault(w, []).append(r)
    texts = [f"{_rows_text(rows)}: {with_labels(text, names)}" for text, rows in plain.items()]
    for prefix, by_study in listed.items():
        texts.append(prefix + ": " + "; ".join(f"{names[i]} ({_rows_text(rows)})"
                                               for i, rows in by_study.items()))
    for text in texts:
        out += textwrap.wrap(text, width, initial_indent="  ", subsequent_indent="    ",
                             break_on_hyphens=False)
    return out


def _study_ci_name(results: Sequence[PooledResult]) -> str:
    for r in results:
        for s in r.studies:
            if s.ci_source not in ("reported", "approximate"):
                return s.ci_source
    return "wilson"


def _bayes_block(r: PooledResult, names: Mapping[str, str]) -> list[str]:
    """The rows of one --model bayes analysis: observed and posterior, credible intervals."""
    rows = [["study", "n", "reported", "observed (interval)", "posterior (credible interval)"]]
    for s in r.studies:
        mark = (" *" if s.is_index else "") + (" †" if s.approximate else "")
        size = s.total if s.total is not None else s.patients
        post = ("" if s.shrunk_estimate is None else
                fmt.percent_ci(s.shrunk_estimate, s.shrunk_ci_low, s.shrunk_ci_high))
        rows.append([f"  {s.label}{mark}", "" if size is None else str(size), _reported(s),
                     fmt.percent_ci(s.estimate, s.ci_low, s.ci_high), post])
    rows.append(["  Pooled (posterior median)", "", "", "",
                 fmt.percent_ci(r.estimate, r.ci_low, r.ci_high)])
    lines = _align(rows, right={1})
    if r.pi_low is not None:
        lines.append(f"  Predictive credible interval: {fmt.percent(r.pi_low)} to "
                     f"{fmt.percent(r.pi_high)}")
    lines.append(f"  Heterogeneity: {fmt.heterogeneity(r)}")
    lines.append(f"  Prior: tau ~ {r.tau_prior}, mu ~ {r.mu_prior}")
    if r.leave_one_out:
        lines.append("  Leave-one-out (posterior median, credible interval):")
        lines += _align([[f"    without {x.omitted}",
                          fmt.percent_ci(x.estimate, x.ci_low, x.ci_high)]
                         for x in r.leave_one_out], right=set())
    for w in r.warnings:
        lines.append(f"  Note: {with_labels(w, names)}")
    return lines


def _block(r: PooledResult, *, grouped: bool, names: Mapping[str, str]) -> list[str]:
    name = r.group if r.group is not None else "All studies"
    if r.group is None and grouped:
        name = f"Overall (all {r.group_by} groups together)"
    lines = ["", f"{name}  (k = {r.k})"]
    if r.studies and _wording(r).posterior_rows:
        return lines + _bayes_block(r, names)
    if r.studies:
        rows = [["study", "n", "reported", "estimate (CI)", "weight"]]
        for s in r.studies:
            mark = (" *" if s.is_index else "") + (" †" if s.approximate else "") \
                + (" ¶" if s.reconstructed else "")
            size = s.total if s.total is not None else s.patients
            n = "" if size is None else str(size)
            weight = "" if s.weight is None else f"{s.weight:.1f}%"
            rows.append([f"  {s.label}{mark}", n, _reported(s),
                         fmt.percent_ci(s.estimate, s.ci_low, s.ci_high), weight])
        if r.k >= 2:
            rows.append(["  Pooled", "", "", fmt.percent_ci(r.estimate, r.ci_low, r.ci_high),
                         "100%"])
        lines += _align(rows, right={1, 4})
        if r.k >= 2 and r.pi_low is not None:
            lines.append(f"  Prediction interval: {fmt.percent(r.pi_low)} to "
                         f"{fmt.percent(r.pi_high)}")
        het = fmt.heterogeneity(r)
        if het:
            lines.append(f"  Heterogeneity: {het}")
    if r.subgroup_test is not None:
        t = r.subgroup_test
        lines.append(f"  Between groups: Q = {t.q_between:.2f}, df = {t.df}, "
                     f"{fmt.pvalue(t.pvalue)}")
    if r.excluded and (r.group is not None or not grouped):  # else listed in its group
        lines.append("  Not pooled:")
        for e in r.excluded:
            lines.append(f"    {e.label}: {e.reason}")
    if r.leave_one_out:
        lines.append("  Leave-one-out:")
        rows = [[f"    without {names.get(x.omitted, x.omitted)}",
                 fmt.percent_ci(x.estimate, x.ci_low, x.ci_high),
                 "" if x.i2 is None else f"I² {x.i2:.0f}%"] for x in r.leave_one_out]
        lines += _align(rows, right=set())
    for s in r.studies:
        if s.reconstructed:
            lines.append(f"  ¶ {s.label}: {s.source}")
    for w in r.warnings:
        lines.append(f"  Note: {with_labels(w, names)}")
    return lines
