"""Binomial-normal random-intercept model for proportions (metafor ``rma.glmm``, PLO).

``logit(p_i) = mu + tau u_i`` with ``u_i ~ N(0, 1)`` and ``x_i ~ Binomial(n_i, p_i)``, fitted
by maximum likelihood with the marginal likelihood integrated by adaptive Gauss-Hermite
quadrature with 7 nodes (``lme4::glmer(nAGQ=7)``, which ``rma.glmm`` calls). The standard
error of ``mu`` comes from the observed information of the full likelihood in ``(mu, tau)``.
No continuity correction enters the fit; I2 uses the typical within-study variance of the
(corrected) logit effect sizes, as metafor does, and Q is the Wald-type test of the saturated
model (Cochran's Q over the studies with 0 < x < n).

Convergence: a bounded search over ``tau`` (profiling ``mu``) finds the optimum, then Newton's
method on the score in ``(mu, tau)`` polishes it until a step is below ``PARAMETER_RTOL``
(16 machine epsilons) relative to the parameter, so ``mu`` and ``tau`` are fixed to machine
precision and do not depend on the search path or the CPU's floating-point kernels. The score
is exact to rounding (complex-step derivatives of the quadrature, which is analytic in
``(mu, tau)``); the Hessian, hence the standard error, is a central difference of the score
(step ``1e-5``, error about ``1e-10`` relative). When the optimum is at ``tau = 0`` the model
is the common-effect logistic one and ``mu = logit(sum x / sum n)`` exactly.

Stijnen, Hamza & Oezdemir (2010), Stat Med 29:3046.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from metaview.choices import CIMethod, Scale, require
from metaview.engine.rma import RmaFit, fit_rma
from metaview.engine.tau2 import Array
from metaview.errors import AnalysisError, UsageError

N_AGQ = 7
TAU_MAX = 20.0
#: Newton's polish stops when a step is below this, relative to max(1, |parameter|)
PARAMETER_RTOL = 16 * np.finfo(float).eps
_NEWTON_STEPS = 30
_COMPLEX_STEP = 1e-30
_HESSIAN_STEP = 1e-5


class GlmmConvergenceError(AnalysisError):
    """The GLMM could not be fitted (for example: every study has the same proportion)."""


def _nodes() -> tuple[Array, Array]:
    t, w = np.polynomial.hermite.hermgauss(N_AGQ)
    return t, w


def log_likelihood(mu: float, tau: float, x: Array, n: Array) -> float:
    """Marginal log-likelihood by adaptive Gauss-Hermite quadrature (binomial constants kept)."""
    return float(_log_likelihood(mu, tau, x, n).real)


def _log_likelihood(mu: complex, tau: complex, x: Array, n: Array) -> complex:
    """:func:`log_likelihood` for real or complex ``(mu, tau)`` (complex-step derivatives)."""
    from scipy.special import gammaln

    const = gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)
    if abs(tau) <= 1e-12:
        eta = np.full(x.shape, mu)
        return complex(np.sum(const + x * eta - n * _softplus(eta)))
    # conditional modes by Newton's method (the integrand is log-concave in u)
    u = np.zeros(x.shape, dtype=complex if isinstance(mu + tau, complex) else float)
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
    f = x[:, None] * ee - n[:, None] * _softplus(ee) - uu**2 / 2.0 + t[None, :] ** 2
    fmax = f.real.max(axis=1)
    integral = np.log(np.sum(w[None, :] * np.exp(f - fmax[:, None]), axis=1)) + fmax
    li = integral + np.log(math.sqrt(2.0) * sigma) - 0.5 * math.log(2.0 * math.pi)
    return complex(np.sum(const + li))


def _expit(eta: np.ndarray) -> np.ndarray:
    """Logistic function for real or complex arguments, without overflow."""
    pos = eta.real >= 0
    e = np.exp(np.where(pos, -eta, eta))
    return np.where(pos, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(eta: Array) -> Array:
    """``log(1 + exp(eta))`` for real or complex arguments, without overflow."""
    if not np.iscomplexobj(eta):
        return np.logaddexp(0.0, eta)
    pos = eta.real >= 0
    e = np.exp(np.where(pos, -eta, eta))
    return np.where(pos, eta, 0.0) + np.log1p(e)


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
    mu0 = _common_mu(x, n)
    ll0 = log_likelihood(mu0, 0.0, x, n)
    mu, hess = mu0, None
    if -res.fun > ll0:
        mu, _ = _best_mu(tau, x, n, pooled)
        polished = _polish(mu, tau, x, n)
        if polished is not None:
            mu, tau, hess = polished
        elif tau < 1e-4:  # Newton's method runs to tau = 0: the optimum is on the boundary
            tau = 0.0
    if tau <= 0.0 or log_likelihood(mu, tau, x, n) <= ll0:
        mu, tau, hess = mu0, 0.0, None
    if not (math.isfinite(mu) and tau < TAU_MAX * 0.999):
        raise GlmmConvergenceError("the GLMM did not converge (tau at the search bound)")
    se = _se_mu(mu, tau, x, n, hess)
    if not (math.isfinite(se) and se > 0):
        raise GlmmConvergenceError("the GLMM's information matrix is not positive definite")
    return mu, tau * tau, se


def _common_mu(x: Array, n: Array) -> float:
    """The maximum-likelihood ``mu`` at ``tau = 0``: the logit of the pooled proportion."""
    return float(math.log(x.sum()) - math.log(n.sum() - x.sum()))


def _score(mu: float, tau: float, x: Array, n: Array) -> Array:
    """Gradient of the log-likelihood in ``(mu, tau)``, exact to rounding (complex step)."""
    h = _COMPLEX_STEP
    return np.array([_log_likelihood(complex(mu, h), tau, x, n).imag / h,
                     _log_likelihood(mu, complex(tau, h), x, n).imag / h])


def _hessian(mu: float, tau: float, x: Array, n: Array) -> Array:
    """Central differences of the score (symmetrised)."""
    h = _HESSIAN_STEP
    cols = [(_score(mu + h, tau, x, n) - _score(mu - h, tau, x, n)) / (2 * h),
            (_score(mu, tau + h, x, n) - _score(mu, tau - h, x, n)) / (2 * h)]
    m = np.column_stack(cols)
    return (m + m.T) / 2.0


def _polish(mu: float, tau: float, x: Array, n: Array) -> tuple[float, float, Array] | None:
    """Newton's method on the score from a point near the optimum (see the module notes).

    Stops when a step is below ``PARAMETER_RTOL`` relative to ``max(1, |parameter|)``, or,
    once steps are below ``1e-9``, when a step is no smaller than the one before (the
    rounding noise of the score is reached). None when Newton's method leaves the region
    where the likelihood is concave, reaches ``tau <= 0`` or does not settle.
    """
    theta = np.array([mu, tau])
    previous = math.inf
    for _ in range(_NEWTON_STEPS):
        hess = _hessian(theta[0], theta[1], x, n)
        if not (hess[0, 0] < 0 and np.linalg.det(hess) > 0):
            return None
        step = -np.linalg.solve(hess, _score(theta[0], theta[1], x, n))
        if not np.all(np.isfinite(step)) or theta[1] + step[1] <= 0.0:
            return None
        theta = theta + step
        size = float(np.max(np.abs(step) / np.maximum(1.0, np.abs(theta))))
        if size <= PARAMETER_RTOL or (size < 1e-9 and size >= previous):
            return float(theta[0]), float(theta[1]), _hessian(theta[0], theta[1], x, n)
        previous = size
    return None


def _se_mu(mu: float, tau: float, x: Array, n: Array, hess: Array | None = None) -> float:
    """SE of mu from the observed information in (mu, tau) (only mu's at ``tau = 0``)."""
    if tau <= 0.0:
        p = x.sum() / n.sum()
        info = n.sum() * p * (1.0 - p)
        return 1.0 / math.sqrt(info) if info > 0 else math.nan
    if hess is None:
        hess = _hessian(mu, tau, x, n)
    hmm, hmt, htt = -hess[0, 0], -hess[0, 1], -hess[1, 1]
    det = hmm * htt - hmt**2
    if det <= 0:
        return 1.0 / math.sqrt(hmm) if hmm > 0 else math.nan
    return math.sqrt(htt / det)


def fit_glmm(
    x: ArrayLike, n: ArrayLike, *, test: CIMethod = CIMethod.Z, level: float = 0.95
) -> RmaFit:
    """Fit the GLMM to one data set; the result has the fields (and batch axis) of ``fit_rma``.

    Notes
    -----
    metafor: ``rma.glmm(measure="PLO", xi=x, ni=n, method="ML", test="z"|"t")``; the
    prediction interval is ``mu -/+ crit sqrt(se^2 + tau2)`` (``predict()``).
    """
    from scipy.special import chdtrc, ndtr, ndtri, stdtr, stdtrit

    from metaview.estimate.transforms import effect_sizes

    test = require(CIMethod, test, "test")
    if test not in (CIMethod.Z, CIMethod.T):
        raise UsageError(f"--ci {test.value} is not available for --model glmm; use z or t")
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    k = len(x)
    mu, tau2, se = fit_glmm_ml(x, n)
    es = effect_sizes(x, n, Scale.LOGIT)
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
        h2=a((tau2 + s2) / s2), h2_ci_lb=a(math.nan), h2_ci_ub=a(math.nan),
        q=a(q), q_df=np.array([k - 1]),
        q_pvalue=a(float(chdtrc(k - 1, q)) if math.isfinite(q) else math.nan),
        weights=np.full((1, k), math.nan), s2w=a(1.0), crit=a(crit), zval=a(mu / se),
        pval=a(pval),
    )
