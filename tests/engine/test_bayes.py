"""Bayesian random-effects engine: priors, improper posteriors, a Monte Carlo check."""

from __future__ import annotations

import math

import numpy as np
import pytest
from binomial_chains import agrees, shares_below

from metaview.engine import bayes
from metaview.errors import AnalysisError, UsageError


@pytest.mark.parametrize("text, family, scale, df", [
    ("half-normal:1", "half-normal", 1.0, None),
    ("Half-Cauchy:0.5", "half-cauchy", 0.5, None),
    ("half-t:1,3", "half-t", 1.0, 3.0),
    ("exponential:2", "exponential", 2.0, None),
    ("uniform:4", "uniform", 4.0, None),
])
def test_tau_prior_parses(text: str, family: str, scale: float, df: float | None) -> None:
    p = bayes.parse_tau_prior(text)
    assert (p.family, p.scale, p.df) == (family, scale, df)
    assert bayes.parse_tau_prior(p.text()) == p


@pytest.mark.parametrize("text", ["half-normal", "half-normal:0", "half-normal:-1",
                                  "gamma:1", "half-t:1", "half-normal:x", "uniform:inf", ""])
def test_bad_tau_prior_is_one_usage_line_listing_the_forms(text: str) -> None:
    with pytest.raises(UsageError) as e:
        bayes.parse_tau_prior(text)
    message = str(e.value)
    assert "\n" not in message and bayes.TAU_PRIOR_FORMS in message


def test_mu_prior_parses_and_rejects() -> None:
    assert bayes.parse_mu_prior("flat").flat
    p = bayes.parse_mu_prior("normal:0,2")
    assert (p.mean, p.sd) == (0.0, 2.0)
    for bad in ("normal:0", "normal:0,0", "cauchy:0,1", "flat:1"):
        with pytest.raises(UsageError, match="valid forms"):
            bayes.parse_mu_prior(bad)


@pytest.mark.parametrize("family", ["half-normal:1", "half-cauchy:0.5", "half-t:1,3",
                                    "exponential:2", "uniform:4"])
def test_tau_priors_are_normalised_densities(family: str) -> None:
    from scipy.integrate import quad

    p = bayes.parse_tau_prior(family)
    total, _ = quad(lambda t: math.exp(float(p.logpdf(t))), 0, p.scale if p.family == "uniform"
                    else np.inf)
    assert total == pytest.approx(1.0, rel=1e-8)
    below, _ = quad(lambda t: math.exp(float(p.logpdf(t))), 0, p.median())
    assert below == pytest.approx(0.5, rel=1e-8)


def test_flat_mu_prior_without_studies_is_improper() -> None:
    with pytest.raises(AnalysisError, match="improper"):
        bayes.fit_normal([], [])
    fit = bayes.fit_normal([], [], mu_prior=bayes.parse_mu_prior("normal:0,2"))
    assert fit.mu.median == pytest.approx(0.0, abs=1e-9)
    assert fit.mu.high == pytest.approx(2 * 1.959963984540054, rel=1e-7)


def test_binomial_all_zero_events_with_flat_mu_is_improper() -> None:
    with pytest.raises(AnalysisError, match="improper"):
        bayes.fit_binomial([0, 0], [10, 12])


def test_one_study_flat_prior_posterior_of_tau_is_the_prior() -> None:
    fit = bayes.fit_normal([0.4], [0.2], tau_prior=bayes.parse_tau_prior("half-normal:1"))
    assert fit.tau.median == pytest.approx(0.6744897501960817, rel=1e-7)
    assert fit.mu.median == pytest.approx(0.4, abs=1e-9)
    assert fit.shrunk[0].high - 0.4 == pytest.approx(1.959963984540054 * math.sqrt(0.2),
                                                     rel=1e-7)


def test_heavy_tailed_prior_with_few_studies_has_no_posterior_sd() -> None:
    cauchy = bayes.parse_tau_prior("half-cauchy:0.5")
    assert bayes.fit_normal([0.4], [0.2], tau_prior=cauchy).mu_sd is None
    assert bayes.fit_normal([0.4, 0.1, 0.3], [0.2, 0.1, 0.1], tau_prior=cauchy).mu_sd is not None


def test_monte_carlo_agrees_within_four_standard_errors() -> None:
    """Random-walk Metropolis on (mu, log tau) with y_i ~ N(mu, v_i + tau^2), flat mu prior,
    half-normal(1) tau prior: the posterior probability below each reported quantile of mu
    and tau matches its nominal value within 4 Monte Carlo standard errors (between
    independent chains)."""
    y = np.array([0.36, 0.05, 0.62])
    v = np.array([0.05, 0.21, 0.11])
    prior = bayes.parse_tau_prior("half-normal:1")
    fit = bayes.fit_normal(y, v, tau_prior=prior)
    rng = np.random.default_rng(20261202)
    chains, steps, burn = 200, 6000, 1000

    def logpost(mu: np.ndarray, lt: np.ndarray) -> np.ndarray:
        t = np.exp(lt)
        s2 = v[None, :] + t[:, None] ** 2
        ll = -0.5 * (np.log(s2) + (y[None, :] - mu[:, None]) ** 2 / s2).sum(axis=1)
        return ll + prior.logpdf(t) + lt  # + log tau: the jacobian of log tau

    mu = rng.normal(0.3, 0.3, chains)
    lt = np.log(rng.uniform(0.1, 1.0, chains))
    lp = logpost(mu, lt)
    marks = np.array([fit.mu.median, fit.mu.low, fit.mu.high])
    tmarks = np.array([fit.tau.median, fit.tau.low, fit.tau.high])
    below = np.zeros((chains, 3))
    tbelow = np.zeros((chains, 3))
    for i in range(steps):
        mu2 = mu + 0.45 * rng.normal(size=chains)
        lt2 = lt + 1.2 * rng.normal(size=chains)
        lp2 = logpost(mu2, lt2)
        accept = np.log(rng.uniform(size=chains)) < lp2 - lp
        mu, lt, lp = np.where(accept, mu2, mu), np.where(accept, lt2, lt), np.where(accept, lp2, lp)
        if i >= burn:
            below += mu[:, None] <= marks
            tbelow += np.exp(lt)[:, None] <= tmarks
    n = steps - burn
    for counts in (below, tbelow):
        per_chain = counts / n
        est = per_chain.mean(axis=0)
        se = per_chain.std(axis=0, ddof=1) / math.sqrt(chains)
        assert np.all(np.abs(est - np.array([0.5, 0.025, 0.975])) < 4 * se), (est, se)


def test_binomial_monte_carlo_agrees_within_four_standard_errors() -> None:
    """Random-walk Metropolis on the full binomial-normal model, non-centred
    (theta_i = mu + tau eta_i), flat mu prior, half-normal(1) tau prior: the posterior
    probability below each reported quantile of mu, tau and the predictive theta_new matches
    its nominal value within 4 Monte Carlo standard errors between independent chains."""
    from scipy.special import expit

    x = np.array([2.0, 7.0, 12.0])
    n = np.array([5.0, 10.0, 30.0])
    prior = bayes.parse_tau_prior("half-normal:1")
    fit = bayes.fit_binomial(x, n, tau_prior=prior)
    shares = shares_below(x, n, prior, fit, seed=7, mu0=-0.2, tau_range=(0.1, 1.0),
                          step_log_tau=0.8)
    assert expit(fit.mu.median) > 0  # the fit is a proper posterior
    for name, share in shares.items():
        ok, est, se = agrees(share)
        assert ok, (name, est, se)


def test_tau_prior_density_on_the_posterior_grid() -> None:
    """The prior of tau is given on the posterior's grid, as a normalised density."""
    from scipy.stats import halfnorm

    fit = bayes.fit_normal([0.2, 0.5, -0.1], [0.05, 0.1, 0.08],
                           tau_prior=bayes.parse_tau_prior("half-normal:0.5"))
    assert fit.tau_prior_density.shape == fit.tau_grid.shape
    np.testing.assert_allclose(fit.tau_prior_density, halfnorm.pdf(fit.tau_grid, scale=0.5),
                               rtol=1e-12)
    fit = bayes.fit_normal([0.2], [0.05], tau_prior=bayes.parse_tau_prior("uniform:2"))
    np.testing.assert_allclose(fit.tau_prior_density[fit.tau_grid <= 2], 0.5, rtol=1e-12)
