"""The report's Bayesian part: the column beside the default model, the prior sensitivity of
the index comparison and its sentence, the Methods text, the CSV and the posterior figure."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from metaview.engine import bayes
from metaview.engine.analysis import AnalysisOptions, analyse, compare
from metaview.errors import AnalysisError
from metaview.report import build_report, report_files
from metaview.report.bayes import (
    POSTERIOR_STEM,
    SENSITIVITY_PRIORS,
    bayes_options,
    prior_conclusion,
)
from metaview.report.compose import compose, pct_ci, pct_range, short_name
from metaview.report.doc import Table

#: each test builds a report or a Bayesian fit of every analysis
pytestmark = pytest.mark.slow


TOL = 1e-9


def _expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _tables(doc, name: str) -> list[Table]:
    out = []

    def walk(section):
        out.extend(b for b in section.blocks if isinstance(b, Table) and b.name == name)
        for s in section.subsections:
            walk(s)

    for s in doc.sections:
        walk(s)
    return out


@pytest.fixture
def report(studies):
    return build_report(studies, AnalysisOptions.create(), figures=False)


def test_bayesian_column_equals_the_engine_beside_every_pooled_row(report):
    doc = compose(report)
    tables = _tables(doc, "pooled")
    assert tables
    head = f"Bayesian, {bayes.DEFAULT_TAU_PRIOR.text()} (median, 95% credible interval)"
    checked = 0
    for t in tables:
        assert head in t.columns and "Bayesian 95% predictive interval" in t.columns
    for a in report.analyses:
        for res in a.results:
            if res.k < 2:
                continue
            # a direct call of the engine on the default model's effect sizes (logit scale)
            y = np.array([s.yi for s in res.studies])
            v = np.array([s.vi for s in res.studies])
            fit = bayes.fit_normal(y, v, tau_prior=bayes.DEFAULT_TAU_PRIOR, level=0.95)
            (b,) = [r for r in report.bayes.results_for(a.stem) if r.group == res.group]
            assert b.model == "bayes" and b.tau_prior == "half-normal:1"
            for got, want in ((b.estimate, fit.mu.median), (b.ci_low, fit.mu.low),
                              (b.ci_high, fit.mu.high), (b.pi_low, fit.predictive.low),
                              (b.pi_high, fit.predictive.high)):
                assert got == pytest.approx(_expit(want), abs=TOL)
            cell = pct_ci(b.estimate, b.ci_low, b.ci_high)
            pi = pct_range(b.pi_low, b.pi_high, b.estimate)
            default = pct_ci(res.estimate, res.ci_low, res.ci_high)
            rows = [row for t in tables for row in t.rows
                    if row[0] == short_name(a.endpoint, a.time_months) and row[1] == str(res.k)
                    and row[3] == default]
            assert rows, (a.title, res.group, cell)
            i = tables[0].columns.index(head)
            assert rows[0][i] == cell and rows[0][i + 1] == pi
            checked += 1
    assert checked >= 3


def test_sensitivity_table_equals_the_engine_under_every_prior(report):
    assert report.bayes.comparisons
    html, md = (report_files(report)[n].decode() for n in ("index.html", "report.md"))
    index = report.index
    for bc in report.bayes.comparisons:
        (a,) = [a for a in report.analyses if a.endpoint == bc.endpoint
                and a.time_months == bc.time_months]
        (c,) = a.comparisons  # the default model's comparison: same effect sizes (logit)
        y = np.array([s.yi for s in c.pooled.studies])
        v = np.array([s.vi for s in c.pooled.studies])
        assert [r.prior for r in bc.rows] == list(SENSITIVITY_PRIORS)
        for row in bc.rows:
            prior = bayes.parse_tau_prior(row.prior)
            fit = bayes.fit_normal(y, v, tau_prior=prior, level=0.95)
            assert row.estimate == pytest.approx(_expit(fit.mu.median), abs=TOL)
            assert row.ci_low == pytest.approx(_expit(fit.mu.low), abs=TOL)
            assert row.ci_high == pytest.approx(_expit(fit.mu.high), abs=TOL)
            assert row.pi_low == pytest.approx(_expit(fit.predictive.low), abs=TOL)
            assert row.pi_high == pytest.approx(_expit(fit.predictive.high), abs=TOL)
            assert row.tau_median == pytest.approx(fit.tau.median, abs=TOL)
            assert row.prob_above_mean == pytest.approx(
                fit.prob_above_mean(c.index.yi, c.index.vi), abs=TOL)
            assert row.prob_above_new == pytest.approx(
                fit.prob_above_new(c.index.yi, c.index.vi), abs=TOL)
            # and as `compare --model bayes --tau-prior ...` gives them
            opts = AnalysisOptions.create(model="bayes", tau_prior=row.prior,
                                          endpoints=[bc.endpoint], time_months=bc.time_months)
            try:
                found = [x for x in compare(report.studies, index.id, opts)
                         if x.time_months == bc.time_months]
            except AnalysisError:
                found = []
            if found:
                (cb,) = found
                assert cb.prob_index_above_mean == pytest.approx(row.prob_above_mean, abs=TOL)
                assert cb.prob_index_above_new == pytest.approx(row.prob_above_new, abs=TOL)
            else:  # compare leaves out a comparison whose posterior SD of mu is infinite
                assert fit.mu_sd is None
            # the page shows the numbers
            cells = (f"| {row.prior} | {pct_ci(row.estimate, row.ci_low, row.ci_high)} | "
                     f"{pct_range(row.pi_low, row.pi_high, row.estimate)} | "
                     f"{row.tau_median:.3g} | {row.prob_above_mean:.3f} | "
                     f"{row.prob_above_new:.3f} |")
            assert cells in md
            assert f"<td>{row.prior}</td>" in html
        depends, sentence = prior_conclusion([r.prob_above_mean for r in bc.rows],
                                             [r.prior for r in bc.rows])
        assert f"{bc.title}: {sentence}" in md
        assert ("does not depend" in sentence) is (not depends)


def test_the_sentence_follows_the_numbers():
    priors = list(SENSITIVITY_PRIORS)
    depends, text = prior_conclusion([0.74, 0.76, 0.77, 0.75], priors)
    assert not depends
    assert text == ("P(index above the pooled mean) is between 0.05 and 0.95 under every prior "
                    "(0.74\u20130.77): the conclusion does not depend on the prior.")
    depends, text = prior_conclusion([0.97, 0.96, 0.99, 0.951], priors)
    assert not depends and "above 0.95 under every prior" in text
    depends, text = prior_conclusion([0.97, 0.96, 0.93, 0.951], priors)
    assert depends
    assert text == ("P(index above the pooled mean) is between 0.05 and 0.95 under "
                    "half-normal:2; above 0.95 under half-normal:0.5, half-normal:1 and "
                    "half-cauchy:0.5 (0.93\u20130.97): the conclusion depends on the prior.")
    depends, text = prior_conclusion([0.04, 0.06, 0.06, 0.06], priors)
    assert depends and "below 0.05 under half-normal:0.5" in text


def test_a_constructed_case_where_the_conclusion_depends_on_the_prior():
    """Three consistent series near 50% and an index cohort at 64.5%: under a narrow prior on
    tau the index is above the pooled mean with probability > 0.95, under a wide one not."""
    y = np.log(np.array([0.5, 0.52, 0.48]) / (1 - np.array([0.5, 0.52, 0.48])))
    v = np.array([0.04, 0.05, 0.045])
    yi, vi = math.log(0.645 / 0.355), 0.08
    probs = [bayes.fit_normal(y, v, tau_prior=bayes.parse_tau_prior(p)).prob_above_mean(yi, vi)
             for p in SENSITIVITY_PRIORS]
    depends, text = prior_conclusion(probs, list(SENSITIVITY_PRIORS))
    assert probs[0] > 0.95 > probs[2]  # half-normal:0.5 against half-normal:2
    assert depends and text.endswith("the conclusion depends on the prior.")
    # the same data with the index at 55%: no prior makes it credibly different
    probs = [bayes.fit_normal(y, v, tau_prior=bayes.parse_tau_prior(p)).prob_above_mean(
        math.log(0.55 / 0.45), vi) for p in SENSITIVITY_PRIORS]
    depends, text = prior_conclusion(probs, list(SENSITIVITY_PRIORS))
    assert not depends and text.endswith("the conclusion does not depend on the prior.")


def test_methods_name_the_model_the_prior_and_the_references(report):
    md = report_files(report)["report.md"].decode()
    methods = md[md.index("## Methods"):]
    assert "Bayesian normal-normal random-effects model on the logit scale" in methods
    assert "half-normal (scale 1) prior on tau" in methods
    assert "(Friede et al. 2017; R\u00f6ver et al. 2021)" in methods
    assert "(R\u00f6ver 2020)" in methods
    assert "Friede T, R\u00f6ver C, Wandel S, Neuenschwander B." in methods
    assert "R\u00f6ver C. Bayesian random-effects meta-analysis using the bayesmeta R" in methods


def test_on_a_scale_the_default_prior_is_not_meant_for_the_model_is_fitted_on_logit(studies):
    opts, changed = bayes_options(AnalysisOptions.create(scale="arcsine"))
    assert changed and opts.scale.value == "logit"
    opts, changed = bayes_options(AnalysisOptions.create(scale="cloglog"))
    assert not changed and opts.scale.value == "cloglog"
    report = build_report(studies, AnalysisOptions.create(scale="arcsine"), figures=False)
    assert report.bayes.scale_changed
    md = report_files(report)["report.md"].decode()
    assert ("The default analysis pools on the arcsine scale, for which this tau prior is not "
            "meant; the Bayesian model is therefore fitted on the logit scale.") in md
    for a in report.analyses:
        for b in report.bayes.results_for(a.stem):
            assert b.scale == "logit"


def test_report_with_model_bayes_keeps_its_own_prior(studies):
    report = build_report(studies, AnalysisOptions.create(model="bayes",
                                                          tau_prior="half-cauchy:0.5"),
                          figures=False)
    assert report.bayes.prior == "half-cauchy:0.5"
    b = report.bayes.results_for(report.analyses[0].stem)
    assert b and all(r.tau_prior == "half-cauchy:0.5" for r in b if r.k)


def test_csv_has_the_bayesian_rows_and_the_sensitivity_table(report):
    files = report_files(report)
    pooled = pd.read_csv(io.BytesIO(files["pooled.csv"]))
    bayes_rows = pooled[pooled["analysis"] == "bayes"]
    expected = sum(len(r) for _, r in report.bayes.results)
    assert len(bayes_rows) == expected and set(bayes_rows["model"]) == {"bayes"}
    sens = pd.read_csv(io.BytesIO(files["prior-sensitivity.csv"]))
    rows = [(bc, r) for bc in report.bayes.comparisons for r in bc.rows]
    assert len(sens) == len(rows)
    for (_, r), (_, got) in zip(rows, sens.iterrows(), strict=True):
        assert got["tau_prior"] == r.prior
        assert got["prob_index_above_mean"] == pytest.approx(r.prob_above_mean, rel=1e-9)
        assert got["estimate"] == pytest.approx(r.estimate, rel=1e-9)


def test_posterior_figure_is_drawn_from_the_fits_and_shown_in_the_report(studies):
    report = build_report(studies, AnalysisOptions.create(), figures=True)
    fig = report.figure(POSTERIOR_STEM)
    assert fig is not None and fig.png.startswith(b"\x89PNG")
    files = report_files(report)
    assert f"{POSTERIOR_STEM}.svg" in files and f"{POSTERIOR_STEM}.png" in files
    assert f"{POSTERIOR_STEM}.png" in files["report.md"].decode()
    assert 'id="fig-' in files["index.html"].decode() or "<svg" in files["index.html"].decode()
    for bc in report.bayes.comparisons:
        cv = bc.curves
        prior = bayes.DEFAULT_TAU_PRIOR
        np.testing.assert_allclose(cv.prior_density, np.exp(prior.logpdf(cv.tau_grid)),
                                   rtol=1e-12)
        # the curves are the engine's, for the other series under the column's prior
        (a,) = [a for a in report.analyses if a.endpoint == bc.endpoint
                and a.time_months == bc.time_months]
        (c,) = a.comparisons
        fit = bayes.fit_normal([s.yi for s in c.pooled.studies],
                               [s.vi for s in c.pooled.studies], tau_prior=prior)
        np.testing.assert_allclose(cv.mu_grid, fit.mu_grid, rtol=1e-12)
        np.testing.assert_allclose(cv.mu_density, fit.mu_density, rtol=1e-12)
        np.testing.assert_allclose(cv.tau_grid, fit.tau_grid, rtol=1e-12)
        np.testing.assert_allclose(cv.tau_density, fit.tau_density, rtol=1e-12)
        assert cv.index_theta == pytest.approx(c.index.yi, abs=TOL)


def test_no_comparison_no_sensitivity_table(studies):
    others = [s for s in studies if not s.index]
    report = build_report(others, AnalysisOptions.create(), figures=False)
    assert report.bayes.comparisons == ()
    md = report_files(report)["report.md"].decode()
    assert "Prior sensitivity of the index comparison" not in md
    assert "Bayesian, half-normal:1" in md
    assert analyse(others, AnalysisOptions.create(model="bayes"))
