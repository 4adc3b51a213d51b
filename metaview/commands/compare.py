"""`metaview compare PATH... --index ID`: the index cohort against the pooled other studies."""

from __future__ import annotations

import argparse
import sys

from metaview import __version__
from metaview.choices import OutputFormat, parse
from metaview.commands._common import add_format, index_study, load, options_from_args, write_json
from metaview.display import level_percent, with_labels
from metaview.errors import UsageError
from metaview.model import Comparison
from metaview.render import format as fmt


def _notes(c: Comparison) -> list[str]:
    """The comparison's notes, studies named by their labels."""
    names = {c.index.id: c.index.label}
    names.update((s.id, s.label) for s in c.pooled.studies)
    names.update((e.id, e.label) for e in c.pooled.excluded)
    return [f"  Note: {with_labels(w, names)}" for w in c.warnings]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    p.add_argument("--index", metavar="ID",
                   help="the cohort to compare (default: the study marked index: true)")
    add_format(p)


def run(args: argparse.Namespace) -> int:
    out_format = parse(OutputFormat, args.format, option="--format")
    options = options_from_args(args)
    studies = load(args.paths)
    index_id = index_study(studies, args.index)
    if index_id is None:
        raise UsageError("no index study: give --index ID or mark one study 'index: true'")
    from metaview.engine.analysis import compare

    comparisons = compare(studies, index_id, options)
    if out_format is OutputFormat.JSON:
        write_json({"metaview_version": __version__, "index": index_id,
                    "comparisons": [c.to_dict() for c in comparisons]})
    elif out_format is OutputFormat.CSV:
        from metaview.tidy import compare_csv

        sys.stdout.write(compare_csv(comparisons))
    else:
        sys.stdout.write("\n\n".join(describe(c) for c in comparisons) + "\n")
    return 0


def describe_bayes(c: Comparison) -> str:
    """--model bayes: posterior probabilities and credible intervals in plain words."""
    p = c.pooled
    when = "" if c.time_months is None else f" at {c.time_months:g} months"
    level = level_percent(c.level)
    others = ", ".join(s.label for s in p.studies)
    index = fmt.percent_ci(c.index.estimate, c.index.ci_low, c.index.ci_high)
    pooled = fmt.percent_ci(p.estimate, p.ci_low, p.ci_high)
    lines = [(f"{c.endpoint}{when}: {c.index.label} against {p.k} other "
              f"{'study' if p.k == 1 else 'studies'} of '{p.group}' ({others})"),
             (f"  {c.index.label}: {index}   others, posterior median: {pooled} "
              f"({level} credible interval)")]
    if p.pi_low is not None:
        lines.append(f"  predictive credible interval of a new study: {fmt.percent(p.pi_low)} "
                     f"to {fmt.percent(p.pi_high)}")
    if c.prob_index_above_mean is not None:
        lines.append(f"  probability that {c.index.label}'s true value exceeds the literature "
                     f"mean: {c.prob_index_above_mean:.2f}; exceeds a new study's: "
                     f"{c.prob_index_above_new:.2f}")
    lines.append(f"  Prior: tau ~ {p.tau_prior}, mu ~ {p.mu_prior}; {p.likelihood} likelihood")
    lines += _notes(c)
    return "\n".join(lines)


def describe(c: Comparison) -> str:
    """A short paragraph in plain words, then the numbers."""
    if c.pooled.model == "bayes":
        return describe_bayes(c)
    p = c.pooled
    diff_ci_low, diff_ci_high, z, pvalue = c.tested()
    when = "" if c.time_months is None else f" at {c.time_months:g} months"
    level = level_percent(c.level)
    others = ", ".join(s.label for s in p.studies)
    lines = [f"{c.endpoint}{when}: {c.index.label} against {p.k} other "
             f"{'study' if p.k == 1 else 'studies'} of '{p.group}' ({others})"]
    index_ci = fmt.percent_ci(c.index.estimate, c.index.ci_low, c.index.ci_high)
    lines.append(f"  {c.index.label}: {index_ci}"
                 f"   pooled others: {fmt.percent_ci(p.estimate, p.ci_low, p.ci_high)}")
    if p.pi_low is not None:
        inside = "inside" if c.inside_pi else "outside"
        lines.append(f"  prediction interval of the others: {fmt.percent(p.pi_low)} to "
                     f"{fmt.percent(p.pi_high)}; {c.index.label} lies {inside} it")
    lines.append(f"  difference on the {c.scale} scale: {c.difference:+.3f} "
                 f"({level} CI {diff_ci_low:+.3f} to {diff_ci_high:+.3f}), "
                 f"z = {z:.2f}, {fmt.pvalue(pvalue)}")
    if c.scale == "logit":
        import math

        lines.append(f"  as an odds ratio: {math.exp(c.difference):.2f} "
                     f"({math.exp(diff_ci_low):.2f} to {math.exp(diff_ci_high):.2f})")
    alpha = 1.0 - c.level  # the test at the level of the intervals shown
    verdict = ("no evidence of a difference" if pvalue >= alpha else
               "evidence of a difference")
    lines.append(f"  In words: {verdict} between {c.index.label} and the pooled literature "
                 f"at the {alpha:.2g} level ({fmt.pvalue(pvalue)}); with {p.k} other "
                 f"{'study' if p.k == 1 else 'studies'} this comparison has little power.")
    lines += _notes(c)
    return "\n".join(lines)
