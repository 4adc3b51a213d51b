"""The binomial-normal model's shrunken study effects, and studies at 0 and all events."""

from __future__ import annotations

import numpy as np
import pytest
from binomial_chains import agrees, chains

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
    marks = np.array([[s.median, s.low, s.high] for s in fit.shrunk])  # (3, 3)
    below = np.zeros((300, 3, 3))
    steps = 0
    for mu, tau, eta, _ in chains(x, n, prior, seed=11, mu0=0.5, tau_range=(0.5, 2.0),
                                  step_log_tau=0.6):
        theta = mu[:, None] + tau[:, None] * eta
        below += theta[:, :, None] <= marks[None]
        steps += 1
    ok, est, se = agrees(below / steps)
    assert ok, (est, se)


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
