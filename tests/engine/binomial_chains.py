"""Random-walk Metropolis on the binomial-normal model, for Monte Carlo checks of the exact
posterior (tests/engine/test_bayes.py, test_bayes_binomial_shrunk.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

NOMINAL = np.array([0.5, 0.025, 0.975])  # the probabilities below median, low and high


def chains(x: np.ndarray, n: np.ndarray, prior, *, seed: int, mu0: float,
           tau_range: tuple[float, float], step_log_tau: float, n_chains: int = 300,
           steps: int = 8000, burn: int = 2000
           ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.random.Generator]]:
    """Independent chains, non-centred (theta_i = mu + tau eta_i), flat mu prior and the tau
    prior ``prior``; yields ``(mu, tau, eta, rng)`` after each step past ``burn``."""
    rng = np.random.default_rng(seed)
    k = x.size

    def logpost(mu: np.ndarray, lt: np.ndarray, eta: np.ndarray) -> np.ndarray:
        t = np.exp(lt)
        th = mu[:, None] + t[:, None] * eta
        ll = (x * th - n * np.logaddexp(0.0, th)).sum(axis=1)
        return ll - 0.5 * (eta**2).sum(axis=1) + prior.logpdf(t) + lt

    mu = rng.normal(mu0, 0.3, n_chains)
    lt = np.log(rng.uniform(*tau_range, n_chains))
    eta = rng.normal(size=(n_chains, k))
    lp = logpost(mu, lt, eta)
    for i in range(steps):
        mu2 = mu + 0.4 * rng.normal(size=n_chains)
        lt2 = lt + step_log_tau * rng.normal(size=n_chains)
        eta2 = eta + 0.5 * rng.normal(size=(n_chains, k))
        lp2 = logpost(mu2, lt2, eta2)
        ok = np.log(rng.uniform(size=n_chains)) < lp2 - lp
        mu, lt, lp = np.where(ok, mu2, mu), np.where(ok, lt2, lt), np.where(ok, lp2, lp)
        eta = np.where(ok[:, None], eta2, eta)
        if i >= burn:
            yield mu, np.exp(lt), eta, rng


def agrees(per_chain: np.ndarray) -> tuple[bool, np.ndarray, np.ndarray]:
    """Whether the share below each mark (first axis: chains) is within 4 Monte Carlo
    standard errors (between chains) of its nominal probability; with the estimate and SE."""
    est = per_chain.mean(axis=0)
    se = per_chain.std(axis=0, ddof=1) / math.sqrt(per_chain.shape[0])
    return bool(np.all(np.abs(est - NOMINAL) < 4 * se)), est, se


def shares_below(x: np.ndarray, n: np.ndarray, prior, fit, *, shrunk: bool = False,
                 **chain_options) -> dict[str, np.ndarray]:
    """Per chain, the share of draws below the fit's median, low and high of mu, tau, the
    predictive theta_new (a fresh draw each step) and, with ``shrunk``, of every study's
    theta_i ("shrunk", chains x k x 3)."""
    marks = {"mu": fit.mu, "tau": fit.tau, "new": fit.predictive}
    cuts = {name: np.array([q.median, q.low, q.high]) for name, q in marks.items()}
    shrunk_cuts = np.array([[s.median, s.low, s.high] for s in fit.shrunk])
    counts: dict[str, np.ndarray] = {}
    steps = 0
    for mu, tau, eta, rng in chains(x, n, prior, **chain_options):
        new = mu + tau * rng.normal(size=mu.size)
        for name, value in (("mu", mu), ("tau", tau), ("new", new)):
            counts[name] = counts.get(name, 0) + (value[:, None] <= cuts[name])
        if shrunk:
            theta = mu[:, None] + tau[:, None] * eta
            counts["shrunk"] = counts.get("shrunk", 0) + (theta[:, :, None] <= shrunk_cuts[None])
        steps += 1
    return {name: c / steps for name, c in counts.items()}
