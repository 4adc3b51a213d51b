"""The binomial-normal model's shrunken study effects, and studies at 0 and all events."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metaview.engine import bayes


def test_shrunken_effects_agree_with_monte_carlo() -> None:
    """Random-walk Metropolis on the full model (theta_i = mu + tau eta_i, flat mu prior,
    half-normal(1) tau prior) with a study at 0 events and one at all events: the posterior
    probability below each reported quantile of every theta_i matches its nominal value
    within 4 Monte Carlo standard errors between independent chains."""
    x = np.array([0.0, 5.0, 11.0])
    n = np.array([12.0, 20.0, 11.0])
    prior = bayes.parse_tau_prior("half-normal:1")
    fit = bayes.fit_binomial(x, n, tau_prior=prior)
    rng = np.random.default_rng(11)
    chains, steps, burn = 300, 8000, 2000

    def logpost(mu: np.ndarray, lt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        t = np.exp(lt)
        th = mu[:, None] + t[:, None] * eta
        ll = (x * th - n * np.logaddexp(0.0, th)).sum(axis=1)
        return ll - 0.5 * (eta**2).sum(axis=1) + prior.logpdf(t) + lt

    mu = rng.normal(0.5, 0.3, chains)
    lt = np.log(rng.uniform(0.5, 2.0, chains))
    eta = rng.normal(size=(chains, 3))
    lp = logpost(mu, lt, eta)
    marks = np.array([[s.median, s.low, s.high] for s in fit.shrunk])  # (3, 3)
    below = np.zeros((chains, 3, 3))
    for i in range(steps):
        mu2 = mu + 0.4 * rng.normal(size=chains)
        lt2 = lt + 0.6 * rng.normal(size=chains)
        eta2 = eta + 0.5 * rng.normal(size=(chains, 3))
        lp2 = logpost(mu2, lt2, eta2)
        ok = np.log(rng.uniform(size=chains)) < lp2 - lp
        mu, lt, lp = np.where(ok, mu2, mu), np.where(ok, lt2, lt), np.where(ok, lp2, lp)
        eta = np.where(ok[:, None], eta2, eta)
        if i >= burn:
            theta = mu[:, None] + np.exp(lt)[:, None] * eta
            below += theta[:, :, None] <= marks[None]
    per_chain = below / (steps - burn)
    est = per_chain.mean(axis=0)
    se = per_chain.std(axis=0, ddof=1) / math.sqrt(chains)
    nominal = np.array([0.5, 0.025, 0.975])
    assert np.all(np.abs(est - nominal) < 4 * se), (est, se)


@pytest.mark.slow  # about 2 s: such a study's conditional posteriors need many points
def test_pseudo_counts_below_one_with_two_studies() -> None:
    """A pseudo-count of 0.2 events in 4 (its likelihood falls off only as e^(0.2 theta) to
    the left) beside one ordinary study: the fit completes, its intervals are ordered and
    the shrunken effect of the small study lies below the other's."""
    fit = bayes.fit_binomial([0.2, 3.4], [4.0, 9.0],
                             tau_prior=bayes.parse_tau_prior("exponential:2"), level=0.9)
    for q in (fit.mu, fit.tau, fit.predictive, *fit.shrunk):
        assert q.low < q.median < q.high
    assert fit.predictive.low < fit.mu.low and fit.mu.high < fit.predictive.high
    assert fit.shrunk[0].median < fit.shrunk[1].median
