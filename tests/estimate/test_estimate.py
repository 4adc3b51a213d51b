"""Per-study intervals and standard errors against published and reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference_data import metafor_reference

from metaview.choices import ReportedCIMethod, Scale, StudyCI
from metaview.estimate.effects import NoStandardError, outcome_effects
from metaview.estimate.proportion_ci import proportion_ci
from metaview.estimate.survival import se_from_interval
from metaview.model import Outcome

# Newcombe (1998), Stat Med 17:857, Table I (four decimals)
NEWCOMBE = [
    ((81, 263), {"wald": (0.2522, 0.3638), "wilson": (0.2553, 0.3662),
                 "clopper-pearson": (0.2527, 0.3676)}),
    ((15, 148), {"wald": (0.0527, 0.1500), "wilson": (0.0624, 0.1605),
                 "clopper-pearson": (0.0578, 0.1617)}),
    ((0, 20), {"wald": (0.0, 0.0), "wilson": (0.0, 0.1611), "clopper-pearson": (0.0, 0.1684)}),
    ((1, 29), {"wald": (0.0, 0.1009), "wilson": (0.0061, 0.1718),
               "clopper-pearson": (0.0009, 0.1776)}),  # Wald's "<0" is shown clipped at 0
]


@pytest.mark.parametrize("counts,expected", NEWCOMBE, ids=lambda c: str(c))
def test_newcombe_table_one(counts: tuple[int, int], expected: dict) -> None:
    for method, (lo, hi) in expected.items():
        got = proportion_ci(*counts, method=StudyCI(method))
        assert float(got[0]) == pytest.approx(lo, abs=5e-5), method
        assert float(got[1]) == pytest.approx(hi, abs=5e-5), method


STATSMODELS_NAME = {"wilson": "wilson", "clopper-pearson": "beta", "agresti-coull":
                    "agresti_coull", "jeffreys": "jeffreys", "wald": "normal"}


@pytest.mark.parametrize("method", sorted(STATSMODELS_NAME))
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_matches_statsmodels(method: str, level: float) -> None:
    sm = pytest.importorskip("statsmodels.stats.proportion")
    x = np.array([0, 1, 3, 7, 10, 50, 99, 100])
    n = np.array([10, 10, 11, 10, 10, 120, 100, 100])
    lo, hi = proportion_ci(x, n, method=StudyCI(method), level=level)
    elo, ehi = sm.proportion_confint(x, n, alpha=1 - level, method=STATSMODELS_NAME[method])
    np.testing.assert_allclose(lo, elo, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hi, ehi, rtol=1e-9, atol=1e-12)


def test_freireich_loglog_se_from_rounded_interval() -> None:
    """public-oracles.md: 6-MP arm, S(12) = 0.7529 (0.5032-0.8894), SE of log(-log S) 0.4509."""
    se = se_from_interval(0.7529, 0.5032, 0.8894, ci_method=ReportedCIMethod.LOG_LOG,
                          scale=Scale.CLOGLOG).se
    assert se == pytest.approx(0.4509, abs=5e-4)
    se = se_from_interval(0.4482, 0.1881, 0.6801, ci_method=ReportedCIMethod.LOG_LOG,
                          scale=Scale.CLOGLOG).se
    assert se == pytest.approx(0.3742, abs=5e-4)


@pytest.mark.parametrize("ref", metafor_reference()["survival"],
                         ids=lambda r: f"{r['conf_type']}-{r['time']}")
def test_se_from_survfit_interval(ref: dict) -> None:
    """R survival ``survfit(conf.type=...)``: the SE behind the interval is recovered exactly."""
    method = {"log-log": "log-log", "log": "log", "plain": "plain", "logit": "logit"}[
        ref["conf_type"]]
    s = ref["surv"]
    lower, upper = ref["lower"], ref["upper"]
    rec = se_from_interval(s, lower, upper, ci_method=ReportedCIMethod(method), scale=Scale.LOG)
    # survfit's std.err is the SE of log S (Greenwood)
    assert rec.se == pytest.approx(ref["std_err"], rel=1e-6)
    if method == "log-log":
        rec = se_from_interval(s, lower, upper, ci_method=ReportedCIMethod(method),
                               scale=Scale.CLOGLOG)
        assert rec.se == pytest.approx(ref["se_loglog"], rel=1e-6)


def test_truncated_bound_uses_other_half() -> None:
    rec = se_from_interval(0.9, 0.7, 1.0, ci_method=ReportedCIMethod("plain"), scale=Scale.RAW)
    assert rec.one_sided and rec.se == pytest.approx(0.2 / 1.959963984540054)


def test_unknown_method_is_assumed_on_pooling_scale() -> None:
    rec = se_from_interval(0.5, 0.4, 0.6, scale=Scale.LOGIT)
    assert rec.assumed
    assert rec.se == pytest.approx((math.log(1.5) - math.log(0.4 / 0.6)) / (2 * 1.959963984540054))


def test_outcome_forms() -> None:
    counts = Outcome("OS", "s", 12, count=7, total=10)
    approx = Outcome("OS", "s", 12, estimate=0.59, total=88)
    reported = Outcome("OS", "s", 24, estimate=0.45, ci=(0.31, 0.66), ci_method="log")
    bare = Outcome("OS", "s", 12, estimate=0.5)
    a, b, c, d = outcome_effects([counts, approx, reported, bare])
    assert not a.approximate and a.ci_source == "wilson"
    assert a.yi == pytest.approx(math.log(7 / 3)) and a.vi == pytest.approx(1 / 7 + 1 / 3)
    assert b.approximate and b.vi == pytest.approx(1 / (0.59 * 88) + 1 / (0.41 * 88))
    assert c.ci_source == "reported" and (c.ci_low, c.ci_high) == (0.31, 0.66)
    se_log = (math.log(0.66) - math.log(0.31)) / (2 * 1.959963984540054)
    assert math.sqrt(c.vi) == pytest.approx(se_log / (1 - 0.45))
    assert isinstance(d, NoStandardError)


def test_peto_variance_with_number_at_risk() -> None:
    """Estimate with the number at risk only: Peto's S^2(1-S)/n(t), then the delta method."""
    (e,) = outcome_effects([Outcome("OS", "s", 12, estimate=0.6, at_risk=20)])
    assert e.approximate and "Peto" in e.notes[0]
    assert e.yi == pytest.approx(math.log(0.6 / 0.4))
    assert e.vi == pytest.approx(0.36 * 0.4 / 20 / (0.6 * 0.4) ** 2)


def test_vectorised_approximation_equals_one_at_a_time() -> None:
    outcomes = [Outcome("OS", "s", 12, estimate=p, total=n)
                for p, n in [(0.59, 88), (0.0, 12), (1.0, 7), (0.333, 30)]]
    together = outcome_effects(outcomes, scale=Scale.PFT)
    for o, t in zip(outcomes, together):
        (alone,) = outcome_effects([o], scale=Scale.PFT)
        assert alone == t


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys", "agresti-coull",
                                    "wald"])
@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99, 0.999])
def test_study_intervals_stay_in_zero_one(method: str, level: float) -> None:
    """At x = 0 and x = n the ends are exactly 0 and 1, never 1.0000000000000002."""
    n = np.arange(1, 2001, dtype=float)
    for x in (np.zeros_like(n), n, np.floor(n / 3)):
        lo, hi = proportion_ci(x, n, method=StudyCI(method), level=level)
        assert np.all((lo >= 0.0) & (lo <= hi) & (hi <= 1.0))
    if method in ("wilson", "clopper-pearson", "agresti-coull", "wald"):
        at_zero = proportion_ci(np.zeros_like(n), n, method=StudyCI(method), level=level)
        assert np.all(at_zero[0] == 0.0)
        assert np.all(proportion_ci(n, n, method=StudyCI(method), level=level)[1] == 1.0)


@pytest.mark.parametrize("scale", ["logit", "cloglog", "arcsine", "pft"])
def test_bounded_scales_back_transform_into_zero_one(scale: str) -> None:
    from metaview.estimate.transforms import back_transform, transform

    n = np.arange(1, 401, dtype=float)
    y = np.concatenate([transform(np.linspace(0, 1, 400), Scale(scale), n=n),
                        np.linspace(-40, 40, 400)])
    y = y[np.isfinite(y)]
    p = back_transform(y, Scale(scale), n_harmonic=np.resize(n, y.shape))
    assert np.all((p >= 0.0) & (p <= 1.0))


@pytest.mark.parametrize("p", [0.0, 1.0, 0.59, 0.003])
@pytest.mark.parametrize("scale", ["logit", "log", "raw", "cloglog", "arcsine", "pft"])
def test_estimate_with_total_only_gets_an_interval_around_it(p: float, scale: str) -> None:
    """0 with total 88 used to be shown with [0.00076, 0.167]; the interval is now the
    Wilson interval of estimate * total events, which contains the estimate."""
    (e,) = outcome_effects([Outcome("OS", "t", time_months=12, estimate=p, total=88)],
                           scale=Scale(scale))
    lo, hi = proportion_ci(p * 88, 88, method=StudyCI.WILSON)
    assert (e.ci_low, e.ci_high) == (float(lo), float(hi))
    assert e.ci_low <= p <= e.ci_high and e.approximate and e.ci_source == "approximate"
    if p in (0.0, 1.0):
        assert (e.ci_low if p == 0 else e.ci_high) == p
