"""The report's Bayesian part: the posterior beside the default model, prior sensitivity of the
index comparison, and the posterior figure (data gathered here, words and tables composed here).

Everything is computed by :mod:`metaview.engine` (``analyse``/``compare`` with
``--model bayes``, and :func:`metaview.engine.bayes.fit_normal` on the same effect sizes);
this module only selects, arranges and words the numbers.

The default tau prior (half-normal with scale 1) is meant for the logit, cloglog and log
scales. When the report pools on another scale (arcsine, PFT, raw), the Bayesian model is
fitted on the logit scale instead, and the report says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from metaview.errors import MetaviewError

if TYPE_CHECKING:  # pragma: no cover
    from metaview.engine.analysis import AnalysisOptions
    from metaview.engine.bayes import TauPrior
    from metaview.model import PooledResult, Study
    from metaview.report.compose import _Context
    from metaview.report.content import Analysis, Report
    from metaview.report.doc import Block, Section
    from metaview.report.figures import FigureFiles

#: the tau priors of the sensitivity table, in the order shown
SENSITIVITY_PRIORS = ("half-normal:0.5", "half-normal:1", "half-normal:2", "half-cauchy:0.5")

#: P(index above the pooled mean) is read in these bands; the conclusion does not depend on
#: the prior when every prior puts it in the same band
BANDS = (0.05, 0.95)

#: the scales the default tau prior is meant for
LOG_TYPE_SCALES = ("logit", "cloglog", "log")

#: file-name stem of the posterior figure
POSTERIOR_STEM = "posterior"


# --------------------------------------------------------------------------- content


@dataclass(frozen=True)
class SensitivityRow:
    """The index comparison under one tau prior (pooled = the other series)."""

    prior: str  # as written on the command line, e.g. "half-normal:1"
    estimate: float  # posterior median of the pooled proportion
    ci_low: float
    ci_high: float
    pi_low: float  # central predictive interval of a new series' proportion
    pi_high: float
    tau_median: float
    prob_above_mean: float  # P(theta_index > mu | data)
    prob_above_new: float  # P(theta_index > theta_new | data)


@dataclass(frozen=True)
class PosteriorCurves:
    """Marginal posterior densities on the pooling scale, and the tau prior on the tau grid."""

    mu_grid: np.ndarray
    mu_density: np.ndarray
    tau_grid: np.ndarray
    tau_density: np.ndarray
    prior_density: np.ndarray
    index_theta: float  # the index cohort's estimate on the pooling scale


@dataclass(frozen=True)
class BayesComparison:
    """One endpoint of the index comparison: prior sensitivity and the posterior curves."""

    endpoint: str
    time_months: float | None
    title: str
    k: int
    others: tuple[str, ...]
    rows: tuple[SensitivityRow, ...]
    curves: PosteriorCurves


@dataclass(frozen=True)
class BayesContent:
    """What the report shows of the Bayesian model."""

    options: AnalysisOptions  # the options of the Bayesian fits (model bayes)
    prior: str  # the tau prior of the column beside the default model
    scale_changed: bool  # fitted on the logit scale because the report's scale is not log-type
    #: per analysis (its file stem): the Bayesian results, in the order of Analysis.results
    results: tuple[tuple[str, tuple[PooledResult, ...]], ...]
    errors: tuple[tuple[str, str], ...]  # (analysis title, why the model was not fitted)
    comparisons: tuple[BayesComparison, ...]

    def results_for(self, stem: str) -> tuple[PooledResult, ...]:
        for s, res in self.results:
            if s == stem:
                return res
        return ()


def bayes_options(options: AnalysisOptions) -> tuple[AnalysisOptions, bool]:
    """The options of the report's Bayesian fits, and whether the scale was changed.

    The report's own tau prior when it runs ``--model bayes``, else the default one; the
    report's scale when the default prior is meant for it, else the logit scale.
    """
    from metaview.engine.analysis import AnalysisOptions

    scale = options.scale.value
    changed = False
    tau = None
    if options.model.value == "bayes":
        tau = options.tau_prior.text()  # type: ignore[attr-defined]
    elif scale not in LOG_TYPE_SCALES:
        scale, changed = "logit", True
    return AnalysisOptions.create(
        endpoints=options.endpoints, time_months=options.time_months, model="bayes",
        scale=scale, study_ci=options.study_ci.value, level=options.level,
        group_by=options.group_by, exclude=options.exclude, tau_prior=tau), changed


def bayes_content(report: Report) -> BayesContent:
    """Run the Bayesian model for every analysis of ``report`` and for its index comparison."""
    from metaview.engine.analysis import analyse

    bopts, changed = bayes_options(report.options)
    studies = report.studies
    results: list[tuple[str, tuple[PooledResult, ...]]] = []
    errors: list[tuple[str, str]] = []
    comparisons: list[BayesComparison] = []
    for a in report.analyses:
        opts = replace(bopts, endpoints=(a.endpoint,),
                       time_months=a.time_months if a.time_months is not None
                       else bopts.time_months)
        try:
            results.append((a.stem, tuple(analyse(studies, opts))))
        except MetaviewError as exc:
            errors.append((a.title, str(exc)))
            continue
        if a.comparisons and report.index is not None:
            comparisons.extend(_sensitivity(studies, report.index, opts, a))
    return BayesContent(options=bopts, prior=bopts.tau_prior.text(),  # type: ignore[attr-defined]
                        scale_changed=changed, results=tuple(results), errors=tuple(errors),
                        comparisons=tuple(comparisons))


def _sensitivity(studies: Sequence[Study], index: Study, opts: AnalysisOptions,
                 a: Analysis) -> list[BayesComparison]:
    """The index comparison of analysis ``a`` under every prior of the sensitivity table.

    The effect sizes are those ``compare --model bayes`` uses; each prior's posterior is
    :func:`metaview.engine.bayes.fit_normal` on them, and the index probabilities are that
    fit's (as ``compare`` computes them for the normal likelihood).
    """
    from metaview.engine import bayes
    from metaview.engine.analysis import compare
    from metaview.estimate.transforms import back_transform

    try:
        found = compare(studies, index.id, opts)
    except MetaviewError:
        return []
    out = []
    for c in found:
        if c.endpoint != a.endpoint or not _same(c.time_months, a.time_months):
            continue
        y = np.array([s.yi for s in c.pooled.studies])
        v = np.array([s.vi for s in c.pooled.studies])
        rows = []
        for text in SENSITIVITY_PRIORS:
            prior = bayes.parse_tau_prior(text)
            fit = bayes.fit_normal(y, v, tau_prior=prior, level=opts.level)
            mu = back_transform([fit.mu.median, fit.mu.low, fit.mu.high], opts.scale)
            pi = back_transform([fit.predictive.low, fit.predictive.high], opts.scale)
            rows.append(SensitivityRow(
                prior=prior.text(), estimate=float(mu[0]), ci_low=float(mu[1]),
                ci_high=float(mu[2]), pi_low=float(pi[0]), pi_high=float(pi[1]),
                tau_median=float(fit.tau.median),
                prob_above_mean=fit.prob_above_mean(c.index.yi, c.index.vi),
                prob_above_new=fit.prob_above_new(c.index.yi, c.index.vi)))
        fit = bayes.fit_normal(y, v, tau_prior=opts.tau_prior,  # type: ignore[arg-type]
                               level=opts.level)
        out.append(BayesComparison(
            endpoint=c.endpoint, time_months=c.time_months, title=a.title, k=c.pooled.k,
            others=tuple(s.id for s in c.pooled.studies), rows=tuple(rows),
            curves=posterior_curves(fit, opts.tau_prior, c.index.yi)))  # type: ignore[arg-type]
    return out


def _same(a: float | None, b: float | None) -> bool:
    return (a is None) == (b is None) and (a is None or abs(a - b) < 1e-9)  # type: ignore[operator]


def posterior_curves(fit: Any, prior: TauPrior, index_theta: float) -> PosteriorCurves:
    """The fit's marginal densities, with the tau prior's density (``TauPrior.logpdf``) on
    the tau grid."""
    tau = np.asarray(fit.tau_grid, float)
    return PosteriorCurves(
        mu_grid=np.asarray(fit.mu_grid, float),
        mu_density=np.asarray(fit.mu_density, float),
        tau_grid=tau, tau_density=np.asarray(fit.tau_density, float),
        prior_density=np.exp(prior.logpdf(tau)), index_theta=float(index_theta))


#: columns of ``prior-sensitivity.csv`` (proportions as fractions, tau on the pooling scale)
SENSITIVITY_COLUMNS = (
    "endpoint", "time_months", "k_others", "others", "scale", "level", "tau_prior",
    "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau_median",
    "prob_index_above_mean", "prob_index_above_new", "depends_on_prior",
)


def sensitivity_frame(content: BayesContent):
    """The prior sensitivity table as a data frame (one row per endpoint and prior)."""
    import pandas as pd

    rows = []
    for bc in content.comparisons:
        depends, _ = prior_conclusion([r.prob_above_mean for r in bc.rows],
                                      [r.prior for r in bc.rows])
        for r in bc.rows:
            rows.append({
                "endpoint": bc.endpoint, "time_months": bc.time_months, "k_others": bc.k,
                "others": ";".join(bc.others), "scale": content.options.scale.value,
                "level": content.options.level, "tau_prior": r.prior, "estimate": r.estimate,
                "ci_low": r.ci_low, "ci_high": r.ci_high, "pi_low": r.pi_low,
                "pi_high": r.pi_high, "tau_median": r.tau_median,
                "prob_index_above_mean": r.prob_above_mean,
                "prob_index_above_new": r.prob_above_new, "depends_on_prior": depends})
    frame = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    frame["k_others"] = frame["k_others"].astype("Int64")
    return frame


# --------------------------------------------------------------------------- words


def band(p: float) -> int:
    """0 below the lower band limit, 2 above the upper one, 1 between."""
    return 0 if p < BANDS[0] else (2 if p > BANDS[1] else 1)


def prior_conclusion(probs: Sequence[float], priors: Sequence[str]) -> tuple[bool, str]:
    """Whether the index comparison's conclusion depends on the prior, and the sentence.

    Rule: the conclusion does not depend on the prior when P(index above the pooled mean)
    lies in the same band (below 0.05, 0.05 to 0.95, above 0.95) under every prior.
    """
    from metaview.report.compose import DASH, join_words

    lo, hi = min(probs), max(probs)
    bands = {band(p) for p in probs}
    span = f"{lo:.2f}" if f"{lo:.2f}" == f"{hi:.2f}" else f"{lo:.2f}{DASH}{hi:.2f}"
    if len(bands) == 1:
        where = {0: f"below {BANDS[0]:g}", 1: f"between {BANDS[0]:g} and {BANDS[1]:g}",
                 2: f"above {BANDS[1]:g}"}[bands.pop()]
        return False, (f"P(index above the pooled mean) is {where} under every prior "
                       f"({span}): the conclusion does not depend on the prior.")
    names = {0: f"below {BANDS[0]:g}", 1: f"between {BANDS[0]:g} and {BANDS[1]:g}",
             2: f"above {BANDS[1]:g}"}
    parts = []
    for b in sorted({band(p) for p in probs}):
        which = [pr for pr, p in zip(priors, probs, strict=True) if band(p) == b]
        parts.append(f"{names[b]} under {join_words(which)}")
    return True, (f"P(index above the pooled mean) is {'; '.join(parts)} ({span}): the "
                  "conclusion depends on the prior.")


def column_heads(ctx: _Context) -> list[str]:
    """The Bayesian columns of a pooled-results table."""
    content = ctx.report.bayes
    if content is None:
        return []
    return [f"Bayesian, {content.prior} (median, {ctx.level} credible interval)",
            f"Bayesian {ctx.level} predictive interval"]


def column_cells(ctx: _Context, a: Analysis, res: PooledResult) -> list[str]:
    """The Bayesian result of the pooled set ``res`` of analysis ``a`` (its group)."""
    from metaview.report.compose import DASH, pct_ci, pct_range

    content = ctx.report.bayes
    if content is None:
        return []
    found = [b for b in content.results_for(a.stem) if b.group == res.group]
    if not found:
        return ["not fitted (see the Bayesian section)", DASH]
    b = found[0]
    if b.k < 2 or b.estimate is None:
        return [DASH, DASH]
    return [pct_ci(b.estimate, b.ci_low, b.ci_high), pct_range(b.pi_low, b.pi_high, b.estimate)]


def methods_text(ctx: _Context, cite: object) -> list[str]:
    """The Methods paragraph of the Bayesian model (``cite`` is the section's citer)."""
    content = ctx.report.bayes
    if content is None:
        return []
    scale = content.options.scale.value
    text = (
        "Beside the default model, every pooled set is also analysed with the Bayesian "
        "normal-normal random-effects model on the "
        f"{scale} scale (y_i ~ N(theta_i, v_i), theta_i ~ N(mu, tau\u00b2)), with a flat prior "
        f"on mu and a {_prior_words(content.prior)} prior on tau, weakly informative for "
        f"between-study heterogeneity on log-odds-type scales {cite('friede2017', 'rover2021')}"  # type: ignore[operator]
        f"; the posterior is computed exactly by numerical integration over tau, as in "
        f"the direct algorithm of bayesmeta {cite('rover2020')}"  # type: ignore[operator]
        f". Shown: the posterior median of the pooled proportion with its central "
        f"{ctx.level} credible interval, and the central {ctx.level} interval of the "
        "posterior predictive distribution of a new series.")
    if content.scale_changed:
        text += (f" The default analysis pools on the {ctx.options.scale.value} scale, for "
                 "which this tau prior is not meant; the Bayesian model is therefore fitted "
                 "on the logit scale.")
    if content.comparisons:
        text += (" For the index comparison, the prior sensitivity table repeats the fit under "
                 f"{_join_priors(SENSITIVITY_PRIORS)} priors on tau and gives P(theta_index > "
                 "mu) and P(theta_index > theta_new), the index cohort's theta taken as normal "
                 "with its own estimate and variance.")
    return [text]


def _prior_words(text: str) -> str:
    family, _, scale = text.partition(":")
    return f"{family} (scale {scale})" if scale else family


def _join_priors(priors: Sequence[str]) -> str:
    from metaview.report.compose import join_words

    return join_words([_prior_words(p) for p in priors])


# --------------------------------------------------------------------------- section


def bayes_section(ctx: _Context) -> Section | None:
    """The section "Bayesian model and prior sensitivity" (None without Bayesian content)."""
    from metaview.report.compose import pct_ci, pct_range
    from metaview.report.doc import FigureRef, Paragraph, Section, Table

    content = ctx.report.bayes
    if content is None:
        return None
    sec = Section("bayes", "Bayesian model and prior sensitivity")
    sec.add(Paragraph.of(
        f"The pooled tables show the Bayesian random-effects model ({content.prior} prior on "
        f"tau, flat prior on mu, {content.options.scale.value} scale) beside the default "
        "model: posterior median with its credible interval, and the predictive interval of a "
        "new series. With two or three small series the default model's intervals rest on "
        "a poorly estimated heterogeneity; the Bayesian ones rest partly on the prior, which "
        "the table below varies.", kind="note"))
    for title, why in content.errors:
        sec.add(Paragraph.of(f"{title}: the Bayesian model was not fitted ({why}).",
                             kind="note"))
    index = ctx.index
    blocks: list[Block] = []
    for bc in content.comparisons:
        probs = [r.prob_above_mean for r in bc.rows]
        _, sentence = prior_conclusion(probs, [r.prior for r in bc.rows])
        rows = tuple(
            (r.prior, pct_ci(r.estimate, r.ci_low, r.ci_high),
             pct_range(r.pi_low, r.pi_high, r.estimate), f"{r.tau_median:.3g}",
             f"{r.prob_above_mean:.3f}", f"{r.prob_above_new:.3f}")
            for r in bc.rows)
        label = index.label if index is not None else "index"
        blocks.append(Paragraph.of(f"{bc.title}: {sentence}"))
        blocks.append(Table(
            columns=("Prior on tau", f"Others pooled ({ctx.level} credible interval)",
                     f"{ctx.level} predictive interval", "tau (median)",
                     "P(index above mean)", "P(index above new series)"),
            rows=rows,
            caption=(f"{bc.title}: {label} against the other "
                     f"{'series' if bc.k == 1 else f'{bc.k} series'} "
                     f"({', '.join(ctx.labels_of(bc.others))}) under four priors on tau"
                     + (" (with one series, the data say nothing about tau: its posterior is "
                        "its prior). " if bc.k == 1 else ". ")
                     + "Posterior medians; index = "
                     f"{label}. "
                     "The conclusion is taken not to depend on the prior when P(index above "
                     f"mean) lies in the same band (below {BANDS[0]:g}, {BANDS[0]:g} to "
                     f"{BANDS[1]:g}, above {BANDS[1]:g}) under every prior."),
            numeric=frozenset({"tau (median)", "P(index above mean)",
                               "P(index above new series)"}),
            name="sensitivity"))
    if blocks:
        sub = Section("bayes-sensitivity", "Prior sensitivity of the index comparison")
        sub.add(*blocks)
        sec.subsections.append(sub)
    fig = ctx.report.figure(POSTERIOR_STEM)
    if fig is not None and content.comparisons:
        sub = Section("bayes-posterior", "Posterior of mu and tau")
        sub.add(FigureRef(
            stem=POSTERIOR_STEM, title="Posterior densities of mu and tau",
            caption=(f"Marginal posterior densities of the pooled mean mu (left; axis in "
                     f"proportions, {content.options.scale.value} scale) and of the "
                     f"between-study SD tau (right, with the {content.prior} prior dashed) "
                     "of the other series, per endpoint of the index comparison; the vertical "
                     "line marks the index cohort's estimate."),
            svg=fig.svg, png=fig.png))
        sec.subsections.append(sub)
    if not sec.subsections and not content.errors and not content.results:
        return None
    return sec


# --------------------------------------------------------------------------- figure

_TICK_PERCENTS = (1, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98, 99)


def posterior_figure(content: BayesContent, index_label: str) -> FigureFiles | None:
    """The posterior figure of every comparison endpoint (None without a comparison)."""
    from metaview.estimate.transforms import transform
    from metaview.render.posterior import PosteriorPanel, posterior_plot
    from metaview.report.figures import figure_files

    if not content.comparisons:
        return None
    scale = content.options.scale.value
    panels = []
    for bc in content.comparisons:
        cv = bc.curves
        lo, hi = float(cv.mu_grid[0]), float(cv.mu_grid[-1])
        ticks = []
        for pc in _TICK_PERCENTS:
            x = float(transform(pc / 100.0, content.options.scale))
            if lo <= x <= hi:
                ticks.append((x, f"{pc}%"))
        if len(ticks) > 6:
            ticks = ticks[:: -(-len(ticks) // 6)]
        panels.append(PosteriorPanel(
            title=bc.title, mu_x=cv.mu_grid, mu_y=cv.mu_density, tau_x=cv.tau_grid,
            tau_y=cv.tau_density, prior_y=cv.prior_density, mu_ticks=tuple(ticks),
            mu_marker=cv.index_theta, mu_marker_label=index_label))
    fig = posterior_plot(panels, mu_label=f"Pooled proportion (mu, {scale} scale)",
                         tau_label=f"Between-study SD tau ({scale} scale)",
                         posterior_label="Posterior",
                         prior_label=f"Prior ({content.prior})")
    return figure_files(fig)
