"""`metaview pool PATH...`: pooled estimates per endpoint, landmark and group."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from typing import Any

from metaview import __version__
from metaview.choices import OutputFormat, parse
from metaview.commands._common import add_format, load, options_from_args, write_json
from metaview.errors import AnalysisError
from metaview.model import PooledResult
from metaview.render import format as fmt


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    add_format(p)


def run(args: argparse.Namespace) -> int:
    out_format = parse(OutputFormat, args.format, option="--format")
    options = options_from_args(args)
    studies = load(args.paths)
    from metaview.pool.analysis import analyse

    results = analyse(studies, options)
    from metaview.commands._endpoints import endpoint_warnings

    warnings = endpoint_warnings(studies)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not any(r.k > 0 for r in results):
        wanted = ", ".join(f"{r.endpoint}{'' if r.time_months is None else f' at {r.time_months:g} months'}"
                           for r in results if r.group is None) or "any endpoint"
        raise AnalysisError(f"nothing to pool: no study reports {wanted} "
                            "(see 'metaview list' for what each study reports)")
    if out_format is OutputFormat.JSON:
        write_json({"metaview_version": __version__, "analyses": [r.to_dict() for r in results],
                    "warnings": warnings})
    elif out_format is OutputFormat.CSV:
        sys.stdout.write(to_csv(results))
    else:
        sys.stdout.write(to_table(results))
    return 0


# ------------------------------------------------------------------ CSV

CSV_COLUMNS = ("endpoint", "time_months", "group", "row", "id", "label", "count", "total",
               "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "weight", "yi", "vi",
               "approximate", "k", "tau2", "i2", "q", "q_pvalue", "model", "scale",
               "tau2_method", "ci_method", "level", "reason", "reconstructed")


def csv_rows(results: Sequence[PooledResult]) -> list[dict[str, Any]]:
    """Tidy rows: each analysis's studies, its pooled row, then the studies left out."""
    rows: list[dict[str, Any]] = []
    for r in results:
        common = {"endpoint": r.endpoint, "time_months": r.time_months, "group": r.group,
                  "model": r.model, "scale": r.scale, "tau2_method": r.tau2_method,
                  "ci_method": r.ci_method, "level": r.level}
        for s in r.studies:
            rows.append({**common, "row": "study", "id": s.id, "label": s.label,
                         "count": s.count, "total": s.total, "estimate": s.estimate,
                         "ci_low": s.ci_low, "ci_high": s.ci_high, "weight": s.weight,
                         "yi": s.yi, "vi": s.vi, "approximate": s.approximate,
                         "reconstructed": s.reconstructed})
        rows.append({**common, "row": "pooled", "label": "Pooled", "estimate": r.estimate,
                     "ci_low": r.ci_low, "ci_high": r.ci_high, "pi_low": r.pi_low,
                     "pi_high": r.pi_high, "yi": r.theta,
                     "vi": None if r.se is None else r.se**2, "k": r.k, "tau2": r.tau2,
                     "i2": r.i2, "q": r.q, "q_pvalue": r.q_pvalue})
        for e in r.excluded:
            rows.append({**common, "row": "excluded", "id": e.id, "label": e.label,
                         "reason": e.reason})
    return rows


def to_csv(results: Sequence[PooledResult]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(results):
        # 10 significant digits, as the report; text cells neutralised against formulas
        writer.writerow({k: ("" if v is None else f"{v:.10g}" if isinstance(v, float)
                             else fmt.csv_text(v)) for k, v in row.items()})
    return buf.getvalue()


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
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
    return out


def to_table(results: Sequence[PooledResult]) -> str:
    """Plain text a clinician can read: per endpoint and landmark, each group, then overall."""
    lines: list[str] = []
    seen: set[tuple[str, float | None]] = set()
    groups: dict[tuple[str, float | None], list[PooledResult]] = {}
    for r in results:
        if r.group is not None:
            groups.setdefault((r.endpoint, r.time_months), []).append(r)
    for r in results:
        key = (r.endpoint, r.time_months)
        if r.group is None and key in groups and sum(g.k > 0 for g in groups[key]) < 2:
            continue  # the overall result would repeat the one group that has data
        if key not in seen:
            seen.add(key)
            when = "" if r.time_months is None else f" at {r.time_months:g} months"
            title = f"{r.endpoint}{when}"
            lines += ["", title, "=" * len(title)]
        lines += _block(r, grouped=key in groups)
    if results and results[0].model == "bayes":
        lines += ["", f"Method: {fmt.method_line(results[0])}.",
                  "Observed: per-study intervals for counts " + _study_ci_name(results)
                  + ", reported intervals as published; posterior: the study's shrunken "
                    "effect; † SE approximated from estimate and n."]
    elif results:
        lines += ["", f"Method: {fmt.method_line(results[0])}.",
                  "Per-study CIs: counts " + _study_ci_name(results)
                  + "; reported intervals as published; † SE approximated from estimate and n."]
    return "\n".join(lines).lstrip("\n") + "\n"


def _study_ci_name(results: Sequence[PooledResult]) -> str:
    for r in results:
        for s in r.studies:
            if s.ci_source not in ("reported", "approximate"):
                return s.ci_source
    return "wilson"


def _bayes_block(r: PooledResult) -> list[str]:
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
        lines.append(f"  Note: {w}")
    return lines


def _block(r: PooledResult, *, grouped: bool) -> list[str]:
    name = r.group if r.group is not None else "All studies"
    if r.group is None and grouped:
        name = f"Overall (all {r.group_by} groups together)"
    lines = ["", f"{name}  (k = {r.k})"]
    if r.studies and r.model == "bayes":
        return lines + _bayes_block(r)
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
        lines.append(f"  Between groups: Q = {t.q_between:.2f}, df = {t.df}, {fmt.pvalue(t.pvalue)}")
    if r.excluded and (r.group is not None or not grouped):  # else listed in its group
        lines.append("  Not pooled:")
        for e in r.excluded:
            lines.append(f"    {e.label}: {e.reason}")
    if r.leave_one_out:
        lines.append("  Leave-one-out:")
        rows = [[f"    without {x.omitted}", fmt.percent_ci(x.estimate, x.ci_low, x.ci_high),
                 "" if x.i2 is None else f"I² {x.i2:.0f}%"] for x in r.leave_one_out]
        lines += _align(rows, right=set())
    for s in r.studies:
        if s.reconstructed:
            lines.append(f"  ¶ {s.label}: {s.source}")
    for w in r.warnings:
        lines.append(f"  Note: {w}")
    return lines
