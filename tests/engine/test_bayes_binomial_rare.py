"""The binomial-normal model with studies at 0 events beside few events: leaving one study
out leaves studies all at 0 events, whose conditional posterior of mu never falls off under
a flat prior; and the data sets whose posterior is improper under a heavy-tailed tau prior."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from binomial_chains import agrees, shares_below

from metaview.engine import bayes
from metaview.errors import AnalysisError

PRIORS = ["half-normal:1", "half-cauchy:0.5", "half-t:1,3", "exponential:2", "uniform:4"]
RARE = [([0.0, 3.0], [10.0, 10.0]), ([0.0, 1.0], [50.0, 60.0]),
        ([0.0, 0.0, 1.0], [20.0, 30.0, 40.0]), ([0.0, 0.0, 0.0, 2.0], [10.0] * 4),
        ([0.0, 0.0, 0.0, 0.0, 1.0], [200.0, 300.0, 150.0, 400.0, 500.0]),
        ([0.0, 22.0], [61.0, 25.0]), ([1.0, 22.0], [46.0, 25.0])]


@pytest.mark.parametrize("prior", PRIORS)
@pytest.mark.parametrize("data", RARE, ids=lambda d: f"x{d[0]}")
def test_rare_events_fit_under_every_prior(data: tuple[list[float], list[float]],
                                           prior: str) -> None:
    x, n = (np.array(v) for v in data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow on the way
        fit = bayes.fit_binomial(x, n, tau_prior=bayes.parse_tau_prior(prior))
    for q in (fit.mu, fit.tau, fit.predictive, *fit.shrunk):
        assert q.low < q.median < q.high
    assert fit.predictive.low < fit.mu.low and fit.mu.high < fit.predictive.high
    # the first study (fewest events) is shrunk towards the rest, below the last one
    assert fit.shrunk[0].median < fit.shrunk[-1].median


def test_rare_events_agree_with_monte_carlo() -> None:
    """Three studies at 0 events and one with 2 of 10: mu, tau, the predictive and every
    shrunken effect against random-walk Metropolis, within 4 Monte Carlo standard errors."""
    x, n = np.array([0.0, 0.0, 0.0, 2.0]), np.full(4, 10.0)
    prior = bayes.parse_tau_prior("half-normal:1")
    fit = bayes.fit_binomial(x, n, tau_prior=prior)
    shares = shares_below(x, n, prior, fit, shrunk=True, seed=5, mu0=-3.0,
                          tau_range=(0.3, 1.5), step_log_tau=0.7)
    assert set(shares) == {"mu", "tau", "new", "shrunk"}
    for name, share in shares.items():
        ok, est, se = agrees(share)
        assert ok, (name, est, se)


@pytest.mark.parametrize("prior", ["half-cauchy:0.5", "half-t:1,1", "half-t:2,0.5"])
@pytest.mark.parametrize("data", [([10.0, 0.0], [10.0, 10.0]),
                                  ([0.0, 12.0, 0.0], [8.0, 12.0, 30.0])])
def test_every_study_at_an_edge_under_a_heavy_tailed_prior_is_improper(
        data: tuple[list[float], list[float]], prior: str) -> None:
    """With no study strictly between 0 and all events, the integral over mu of the
    likelihood grows like tau: a tau prior falling as tau^-2 or slower leaves the posterior
    improper, an error that says so (never a number)."""
    x, n = (np.array(v) for v in data)
    with pytest.raises(AnalysisError, match="improper.*lighter-tailed --tau-prior"):
        bayes.fit_binomial(x, n, tau_prior=bayes.parse_tau_prior(prior))
    # proper with a lighter tail (half-t with 3 df), or with a normal prior on mu (the
    # posterior of tau then falls as tau^-(1 + df): with df = 0.5 too slowly to integrate)
    alternatives = [("half-t:1,3", "flat")]
    if prior != "half-t:2,0.5":
        alternatives.append((prior, "normal:0,2"))
    for tau_prior, mu_prior in alternatives:
        fit = bayes.fit_binomial(x, n, tau_prior=bayes.parse_tau_prior(tau_prior),
                                 mu_prior=bayes.parse_mu_prior(mu_prior))
        assert fit.mu.low < fit.mu.median < fit.mu.high
