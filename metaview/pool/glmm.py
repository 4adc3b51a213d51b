"""Binomial-normal random-intercept model for proportions (metafor ``rma.glmm``, PLO).

``logit(p_i) = mu + tau u_i`` with ``u_i ~ N(0, 1)`` and ``x_i ~ Binomial(n_i, p_i)``, fitted
by maximum likelihood with the marginal likelihood integrated by adaptive Gauss-Hermite
quadrature with 7 nodes (``lme4::glmer(nAGQ=7)``, which ``rma.glmm`` calls). The standard
error of ``mu`` comes from the observed information of the full likelihood in ``(mu, tau)``.
No continuity correction enters the fit; I2 uses the typical within-study variance of the
(corrected) logit effect sizes, as metafor does, and Q is the Wald-type test of the saturated
model (Cochran's Q over the studies with 0 < x < n).

Stijnen, Hamza & Oezdemir (2010), Stat Med 29:3046.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from metaview.choices import CIMethod, parse
from metaview.errors import AnalysisError, UsageError
from metaview.pool.rma import RmaFit, fit_rma
from metaview.pool.tau2 import Array

N_AGQ = 7
TAU_MAX = 20.0


class GlmmConvergenceError(AnalysisError):
    """The GLMM could not be fitted (for example: every study has the same proportion)."""


def _nodes() -> tuple[Array, Array]:
    t, w = np.polynomial.hermite.hermgauss(N_AGQ)
    return t, w


def log_likelihood(mu: float, tau: float, x: Array, n: Array) -> float:
    """Marginal log-likelihood by adaptive Gauss-Hermite quadrature (binomial constants kept)."""
    from scipy.special import gammaln

    const = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)
    if tau <= 1e-12:
        eta = np.full_like(x, mu)
        return float(np.sum(const + x * eta - n * np.logaddexp(0.0, eta)))
    # conditional modes by Newton's method (the integrand is log-concave in u)
    u = np.zeros_like(x)
    for _ in range(100):
        eta = mu + tau * u
        p = _expit(eta)
        grad = tau * (x - n * p) - u
        hess = -(tau**2) * n * p * (1.0 - p) - 1.0
        step = grad / hess
        u = u - step
        if np.max(np.abs(step)) < 1e-12:
            break
    eta = mu + tau * u
    p = _expit(eta)
    sigma = 1.0 / np.sqrt(tau**2 * n * p * (1.0 - p) + 1.0)
    t, w = _nodes()
    uu = u[:, None] + math.sqrt(2.0) * sigma[:, None] * t[None, :]
    ee = mu + tau * uu
    f = x[:, None] * ee - n[:, None] * np.logaddexp(0.0, ee) - uu**2 / 2.0 + t[None, :] ** 2
    fmax = f.max(axis=1)
    integral = np.log(np.sum(w[None, :] * np.exp(f - fmax[:, None]), axis=1)) + fmax
    li = integral + np.log(math.sqrt(2.0) * sigma) - 0.5 * math.log(2.0 * math.pi)
    return float(np.sum(const + li))


def _expit(eta: Array) -> Array:
    from scipy.special import expit

    return np.asarray(expit(eta), dtype=float)


def _best_mu(tau: float, x: Array, n: Array, start: float) -> tuple[float, float]:
    from scipy.optimize import minimize_scalar

    res = minimize_scalar(lambda m: -log_likelihood(m, tau, x, n),
                          bracket=(start - 1.0, start + 1.0), tol=1e-12)
    return float(res.x), float(-res.fun)


def fit_glmm_ml(x: ArrayLike, n: ArrayLike) -> tuple[float, float, float]:
    """Maximum-likelihood ``(mu, tau2, se_mu)`` of the binomial-normal model."""
    from scipy.optimize import minimize_scalar

    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    if len(x) < 2:
        raise GlmmConvergenceError("the GLMM needs at least 2 studies")
    pooled = float(np.log((x.sum() + 0.5) / (n.sum() - x.sum() + 0.5)))
    if np.all(x == 0) or np.all(x == n):
        raise GlmmConvergenceError("every study has 0 events or every study has only events")
    cache: dict[str, float] = {}

    def profile(tau: float) -> float:
        mu, ll = _best_mu(tau, x, n, cache.get("mu", pooled))
        cache["mu"] = mu
        return -ll

    res = minimize_scalar(profile, bounds=(0.0, TAU_MAX), method="bounded",
                          options={"xatol": 1e-10, "maxiter": 500})
    tau = float(res.x)
    if profile(0.0) <= res.fun:
        tau = 0.0
    mu, _ = _best_mu(tau, x, n, pooled)
    if not (math.isfinite(mu) and tau < TAU_MAX * 0.999):
        raise GlmmConvergenceError("the GLMM did not converge (tau at the search bound)")
    se = _se_mu(mu, tau, x, n)
    if not (math.isfinite(se) and se > 0):
        raise GlmmConvergenceError("the GLMM's information matrix is not positive definite")
    return mu, tau * tau, se


def _se_mu(mu: float, tau: float, x: Array, n: Array) -> float:
    """SE of mu from the numerical observed information in (mu, tau)."""

    def nll(a: float, b: float) -> float:
        return -log_likelihood(a, b, x, n)

    h = 1e-4
    f0 = nll(mu, tau)
    hmm = (nll(mu + h, tau) - 2 * f0 + nll(mu - h, tau)) / h**2
    if tau < 10 * h:
        return 1.0 / math.sqrt(hmm) if hmm > 0 else math.nan
    htt = (nll(mu, tau + h) - 2 * f0 + nll(mu, tau - h)) / h**2
    hmt = (nll(mu + h, tau + h) - nll(mu + h, tau - h) - nll(mu - h, tau + h)
           + nll(mu - h, tau - h)) / (4 * h**2)
    det = hmm * htt - hmt**2
    if det <= 0:
        return 1.0 / math.sqrt(hmm) if hmm > 0 else math.nan
    return math.sqrt(htt / det)


def fit_glmm(
    x: ArrayLike, n: ArrayLike, *, test: CIMethod | str = "z", level: float = 0.95
) -> RmaFit:
    """Fit the GLMM to one data set; the result has the fields (and batch axis) of ``fit_rma``.

    Notes
    -----
    metafor: ``rma.glmm(measure="PLO", xi=x, ni=n, method="ML", test="z"|"t")``; the
    prediction interval is ``mu -/+ crit sqrt(se^2 + tau2)`` (``predict()``).
    """
    from scipy.special import chdtrc, ndtr, ndtri, stdtr, stdtrit

    from metaview.estimate.transforms import effect_sizes

    test = parse(CIMethod, test, option="--ci")
    if test not in (CIMethod.Z, CIMethod.T):
        raise UsageError(f"--ci {test.value} is not available for --model glmm; use z or t")
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    k = len(x)
    mu, tau2, se = fit_glmm_ml(x, n)
    es = effect_sizes(x, n, "logit")
    w0 = 1.0 / es.vi
    s2 = (k - 1) * w0.sum() / (w0.sum() ** 2 - (w0**2).sum())
    inner = (x > 0) & (x < n)
    if inner.sum() >= 2:
        q = float(fit_rma(es.yi[inner], es.vi[inner], method=None, tau2_ci=False).q[0])
    else:
        q = math.nan
    alpha = 1.0 - level
    if test is CIMethod.Z:
        crit = float(ndtri(1 - alpha / 2))
        pval = float(2 * ndtr(-abs(mu / se)))
    else:
        crit = float(stdtrit(k - 1, 1 - alpha / 2))
        pval = float(2 * stdtr(k - 1, -abs(mu / se)))
    half_pi = crit * math.sqrt(se**2 + tau2)

    def a(value: float) -> Array:
        return np.array([value], dtype=float)

    return RmaFit(
        k=np.array([k]), b=a(mu), se=a(se), ci_lb=a(mu - crit * se), ci_ub=a(mu + crit * se),
        pi_lb=a(mu - half_pi), pi_ub=a(mu + half_pi), tau2=a(tau2),
        tau2_ci_lb=a(math.nan), tau2_ci_ub=a(math.nan),
        i2=a(100 * tau2 / (tau2 + s2)), i2_ci_lb=a(math.nan), i2_ci_ub=a(math.nan),
        h2=a((tau2 + s2) / s2), q=a(q), q_df=np.array([k - 1]),
        q_pvalue=a(float(chdtrc(k - 1, q)) if math.isfinite(q) else math.nan),
        weights=np.full((1, k), math.nan), s2w=a(1.0), crit=a(crit), zval=a(mu / se),
        pval=a(pval),
    )
