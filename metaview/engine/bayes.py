"""Bayesian random-effects meta-analysis: exact posteriors by numerical integration.

Two models, both with ``theta_i ~ N(mu, tau^2)`` and the same priors:

- normal-normal: ``y_i ~ N(theta_i, v_i)`` on the pooling scale. Given ``tau``, ``mu`` is
  normal (flat or normal prior), so every posterior is a one-dimensional mixture over
  ``tau`` (the direct algorithm of Röver 2020, J Stat Softw 93(6), with quadrature in
  place of its discretisation);
- binomial-normal: ``x_i ~ Bin(n_i, expit(theta_i))``; each study's ``theta_i`` is
  integrated out, then ``mu`` given ``tau`` and ``tau`` (:mod:`metaview.engine._binomial`).
  ``x_i`` need not be an integer (pseudo-counts ``estimate * total``).

For the normal-normal model the integral over ``tau`` uses Chebyshev points of the first
kind (Fejér's rule) on a transformed axis: ``tau = c u / (1 - u)`` with ``u`` in (0, 1)
and ``c`` the 0.8 quantile of ``tau`` from a pilot pass (``tau = MAX u`` under a uniform
prior). The interpolating Chebyshev series of the tau density is integrated exactly to
give its distribution function; quantiles of such series and of the normal mixtures (mu,
theta_new and every shrunken effect given tau are normal) are found by one safeguarded
Newton-Halley solver (:func:`_bracketed_newton`). The number of points is doubled until
the last quarter of the series of the tau density, and of the density times mu's
conditional mean, is below ``max(10 tol, 1e-9)`` of its largest coefficient, so that the
reported figures are accurate to about ``tol``.

Everything here is a pure function of arrays; options arrive already parsed
(:func:`parse_tau_prior`, :func:`parse_mu_prior`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metaview.errors import AnalysisError, UsageError

Array = NDArray[np.float64]

TAU_PRIOR_FORMS = "half-normal:S, half-cauchy:S, half-t:S,DF, exponential:RATE, uniform:MAX"
MU_PRIOR_FORMS = "flat, normal:M,S"

#: reported quantiles are accurate to about this (absolute, pooling scale)
DEFAULT_TOL = 1e-7
_MAX_NODES = 2048


# ------------------------------------------------------------------ priors


@dataclass(frozen=True)
class TauPrior:
    """Prior of the between-study standard deviation ``tau`` (a proper density on tau >= 0)."""

    family: str  # half-normal, half-cauchy, half-t, exponential, uniform
    scale: float  # S, RATE or MAX
    df: float | None = None  # half-t only

    def text(self) -> str:
        """The prior as written on the command line, e.g. ``half-normal:1``."""
        if self.family == "half-t":
            return f"half-t:{self.scale:g},{self.df:g}"
        return f"{self.family}:{self.scale:g}"

    def logpdf(self, tau: ArrayLike) -> Array:
        """Log density at ``tau`` (normalised; -inf outside the support)."""
        from scipy.special import gammaln

        t = np.asarray(tau, dtype=float)
        s = self.scale
        with np.errstate(divide="ignore"):
            if self.family == "half-normal":
                out = 0.5 * math.log(2.0 / math.pi) - math.log(s) - 0.5 * (t / s) ** 2
            elif self.family == "half-cauchy":
                out = math.log(2.0 / (math.pi * s)) - np.log1p((t / s) ** 2)
            elif self.family == "half-t":
                d = float(self.df or 1.0)
                c = (math.log(2.0) + gammaln((d + 1) / 2) - gammaln(d / 2)
                     - 0.5 * math.log(d * math.pi) - math.log(s))
                out = c - (d + 1) / 2 * np.log1p((t / s) ** 2 / d)
            elif self.family == "exponential":
                out = math.log(s) - s * t
            else:  # uniform on [0, MAX]
                out = np.where(t <= s, -math.log(s), -np.inf)
        return np.where(t >= 0, out, -np.inf)

    def median(self) -> float:
        """Median of the prior (the starting scale of the integration)."""
        from scipy.stats import t as student_t

        if self.family == "half-normal":
            return self.scale * 0.6744897501960817
        if self.family == "half-cauchy":
            return self.scale
        if self.family == "half-t":
            return self.scale * float(student_t.ppf(0.75, self.df))
        if self.family == "exponential":
            return math.log(2.0) / self.scale
        return self.scale / 2.0

    def tail_power(self) -> float:
        """``a`` with density ~ tau^-a far out (inf for light tails)."""
        if self.family == "half-cauchy":
            return 2.0
        if self.family == "half-t":
            return float(self.df or 1.0) + 1.0
        return math.inf


@dataclass(frozen=True)
class MuPrior:
    """Prior of the mean ``mu``: flat (improper) or normal."""

    family: str  # flat or normal
    mean: float = 0.0
    sd: float = math.inf

    def text(self) -> str:
        return "flat" if self.family == "flat" else f"normal:{self.mean:g},{self.sd:g}"

    @property
    def flat(self) -> bool:
        return self.family == "flat"


DEFAULT_TAU_PRIOR = TauPrior("half-normal", 1.0)
FLAT = MuPrior("flat")


def _numbers(body: str, count: int, option: str, forms: str, text: str) -> list[float]:
    parts = [p.strip() for p in body.split(",")] if body.strip() else []
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(x) for x in values):
        raise UsageError(f"{option}: cannot read '{text}' (valid forms: {forms})")
    return values


def parse_tau_prior(text: str, *, option: str = "--tau-prior") -> TauPrior:
    """A :class:`TauPrior` from ``family:parameters``; a bad string is a UsageError."""
    raw = str(text).strip()
    family, _, body = raw.partition(":")
    family = family.strip().lower().replace("_", "-")
    counts = {"half-normal": 1, "half-cauchy": 1, "half-t": 2, "exponential": 1, "uniform": 1}
    if family not in counts or not _:
        raise UsageError(f"{option}: '{text}' is not a prior this model knows "
                         f"(valid forms: {TAU_PRIOR_FORMS})")
    values = _numbers(body, counts[family], option, TAU_PRIOR_FORMS, raw)
    if any(x <= 0 for x in values):
        raise UsageError(f"{option}: '{text}' needs positive parameters "
                         f"(valid forms: {TAU_PRIOR_FORMS})")
    return TauPrior(family, values[0], values[1] if family == "half-t" else None)


def parse_mu_prior(text: str, *, option: str = "--mu-prior") -> MuPrior:
    """A :class:`MuPrior` from ``flat`` or ``normal:M,S``; a bad string is a UsageError."""
    raw = str(text).strip()
    family, sep, body = raw.partition(":")
    family = family.strip().lower()
    if family == "flat" and not sep:
        return FLAT
    if family != "normal" or not sep:
        raise UsageError(f"{option}: '{text}' is not a prior this model knows "
                         f"(valid forms: {MU_PRIOR_FORMS})")
    m, s = _numbers(body, 2, option, MU_PRIOR_FORMS, raw)
    if s <= 0:
        raise UsageError(f"{option}: '{text}' needs a positive standard deviation "
                         f"(valid forms: {MU_PRIOR_FORMS})")
    return MuPrior("normal", m, s)


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class Interval:
    """Posterior median and central interval of one quantity (pooling scale)."""

    median: float
    low: float
    high: float


@dataclass(frozen=True)
class BayesFit:
    """The posterior summaries of one meta-analysis, on the pooling scale.

    ``mu_sd`` is None when the posterior variance of ``mu`` is infinite (a heavy-tailed
    ``tau`` prior with too few studies). ``tau_grid``/``tau_density`` and
    ``mu_grid``/``mu_density`` are the marginal posterior densities for plotting;
    :attr:`tau_prior_density` is the prior density of tau on ``tau_grid`` (to draw beside
    the posterior).
    """

    k: int
    level: float
    likelihood: str
    tau_prior: TauPrior
    mu_prior: MuPrior
    mu: Interval
    mu_mean: float | None
    mu_sd: float | None
    tau: Interval
    predictive: Interval
    shrunk: tuple[Interval, ...]
    tau_grid: Array
    tau_density: Array
    mu_grid: Array
    mu_density: Array
    nodes: int
    # the posterior as a mixture: weights and, per component, mu's (conditional) mean and
    # variance and tau (for the probabilities of the index comparison)
    _w: Array
    _m: Array
    _V: Array
    _tau: Array

    @property
    def tau_prior_density(self) -> Array:
        """The prior density of tau at ``tau_grid`` (same units as ``tau_density``)."""
        return np.exp(self.tau_prior.logpdf(self.tau_grid))

    def prob_above_mean(self, y: float, v: float) -> float:
        """P(theta_index > mu | data), theta_index ~ N(y, v) independent of the posterior."""
        from scipy.special import ndtr

        return float(np.sum(self._w * ndtr((y - self._m) / np.sqrt(v + self._V))))

    def prob_above_new(self, y: float, v: float) -> float:
        """P(theta_index > theta_new | data), theta_index ~ N(y, v)."""
        from scipy.special import ndtr

        s = np.sqrt(v + self._V + self._tau**2)
        return float(np.sum(self._w * ndtr((y - self._m) / s)))

    def prob_beta_above(self, x: float, n: float, *, new: bool) -> float:
        """As the two above, with the index theta's posterior from its binomial likelihood
        under a flat prior on the logit (expit(theta) ~ Beta(x, n - x))."""
        from scipy.special import betaincc, expit

        if not (0 < x < n):
            raise AnalysisError("the index cohort's posterior under a flat prior on the logit "
                                "is improper with 0 or all events")
        # E over (mu, tau) of P(theta_index > mu + tau z) with z ~ N(0, 1) for 'new'
        z, wz = (_gauss_hermite(32) if new else (np.zeros(1), np.ones(1)))
        mu = self._m[..., None] + np.sqrt(self._V)[..., None] * 0.0
        loc = mu + (self._tau[..., None] * math.sqrt(2.0) * z if new else 0.0)
        p = betaincc(x, n - x, expit(loc))
        return float(np.sum(self._w[..., None] * p * wz / (math.sqrt(math.pi) if new else 1.0)))


# ------------------------------------------------------------------ quadrature pieces


@lru_cache(maxsize=32)
def _fejer(n: int) -> tuple[Array, Array, Array]:
    """Chebyshev points of the first kind on [-1, 1], Fejér weights, and the matrix
    taking values at the points to Chebyshev coefficients."""
    j = np.arange(n)
    theta = np.pi * (j + 0.5) / n
    x = np.cos(theta)
    m = np.arange(n)
    C = (2.0 / n) * np.cos(np.outer(m, theta))
    C[0] *= 0.5
    even = m % 2 == 0
    integrals = np.zeros(n)
    integrals[even] = 2.0 / (1.0 - m[even].astype(float) ** 2)
    w = integrals @ C
    return x, w, C


@lru_cache(maxsize=8)
def _gauss_hermite(n: int) -> tuple[Array, Array]:
    z, w = np.polynomial.hermite.hermgauss(n)
    return z, w


@lru_cache(maxsize=32)
def _bary_weights(n: int) -> Array:
    """Barycentric weights of the ``n`` Chebyshev points of the first kind (in the order of
    :func:`_fejer`)."""
    j = np.arange(n)
    out: Array = np.where(j % 2 == 0, 1.0, -1.0) * np.sin(np.pi * (j + 0.5) / n)
    return out


def _cheb_interp(values: Array, x: Array) -> Array:
    """The polynomial through ``values`` at the points of :func:`_fejer` (the series
    ``C @ values``), at points ``x`` in [-1, 1]: the barycentric formula (stable, and
    exact at the points themselves)."""
    n = values.shape[0]
    d = np.subtract.outer(x, _fejer(n)[0])
    hit = d == 0.0
    d[hit] = 1.0
    r = _bary_weights(n) / d
    out = (r @ values) / r.sum(axis=1).reshape((-1,) + (1,) * (values.ndim - 1))
    if hit.any():
        rows, cols = np.nonzero(hit)
        out[rows] = values[cols]
    return out


def _cheb_integral(coef: Array) -> Array:
    """Coefficients of the integral from -1 of the Chebyshev series ``coef`` (first axis),
    ``int T_0 = T_1``, ``int T_1 = T_2 / 4``, ``int T_m = T_{m+1} / (2(m+1)) - T_{m-1} /
    (2(m-1))``, with the constant making it zero at -1."""
    n = coef.shape[0]
    c = np.concatenate([coef, np.zeros((2,) + coef.shape[1:])], axis=0)
    out = np.zeros((n + 1,) + coef.shape[1:])
    m = np.arange(2, n + 1).reshape((-1,) + (1,) * (coef.ndim - 1))
    out[1] = c[0] - 0.5 * c[2]
    out[2:] = (c[1:n] - c[3:n + 2]) / (2.0 * m)
    sign = (-1.0) ** np.arange(1, n + 1).reshape((-1,) + (1,) * (coef.ndim - 1))
    out[0] = -np.sum(sign * out[1:], axis=0)
    return out


_INV_SQRT_2PI = 0.3989422804014327


def _bracketed_newton(fun, x: Array, lo: Array, hi: Array, *, atol: float, rtol: float = 0.0,
                      ftol: float = 0.0, accept: Array | None = None,
                      max_iter: int = 200) -> Array:
    """Roots of increasing functions, one per element of ``x`` (the starting points).

    ``fun(x, rows)`` gives ``(F, dF, d2F)`` at the points ``x`` of ``rows`` (the indices of
    the roots still moving); ``d2F`` may be None. Each step is Newton's, or Halley's where
    ``d2F`` is given and its correction is modest; ``[lo, hi]`` brackets the root and
    narrows with every evaluation, and a step that leaves the bracket or does not halve the
    one before is replaced by bisection. A root is done when ``|F| <= ftol`` (kept), when its
    step or its bracket is within ``atol + rtol |x|``, or after a Halley step no longer than
    ``accept`` (per root; the error after such a step is of the order of its cube).
    """
    x = np.array(x, dtype=float)
    lo = np.array(lo, dtype=float)
    hi = np.array(hi, dtype=float)
    last = np.abs(hi - lo)
    rows = np.arange(x.size)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(max_iter):
            xa = x[rows]
            F, d1, d2 = fun(xa, rows)
            below = F < 0
            la = np.where(below, xa, lo[rows])
            ha = np.where(below, hi[rows], xa)
            step = F / d1
            if d2 is not None:
                den = 1.0 - 0.5 * step * d2 / d1
                halley = den > 0.5
                step = np.where(halley, step / den, step)
            new = xa - step
            tol = atol + rtol * np.abs(xa)
            # a step within the tolerance is the last (it may not even move x)
            small = np.abs(step) <= tol
            bad = ~small & (~np.isfinite(new) | (new <= la) | (new >= ha)
                            | (np.abs(2.0 * step) > last[rows]))
            new = np.where(bad, 0.5 * (la + ha), new)
            last[rows] = np.where(bad, 0.5 * (ha - la), np.abs(step))
            exact = np.abs(F) <= ftol
            done = exact | small | (np.abs(new - xa) <= tol) | (ha - la <= tol)
            if accept is not None and d2 is not None:
                done |= halley & ~bad & (np.abs(step) <= accept[rows])
            x[rows] = np.where(exact, xa, new)
            lo[rows] = la
            hi[rows] = ha
            rows = rows[~done]
            if rows.size == 0:
                break
    return x


def _cheb_T(x: Array, terms: int) -> Array:
    """T_0..T_{terms-1} at ``x`` in [-1, 1] (last axis added): ``cos(m arccos x)``."""
    out: Array = np.cos(np.multiply.outer(np.arccos(np.clip(x, -1.0, 1.0)), np.arange(terms)))
    return out


def _cheb_derivative(coef: Array) -> Array:
    """Coefficients of the derivative of the Chebyshev series ``coef`` (one shorter):
    ``d_k = 2 sum_{j > k, j - k odd} j c_j``, halved for ``k = 0``."""
    n = coef.size
    jc = 2.0 * np.arange(n) * coef
    out = np.zeros(n)
    for parity in (0, 1):  # d_k sums the j c_j of the other parity above k
        idx = np.arange(parity, n, 2)
        tail = np.cumsum(jc[idx][::-1])[::-1]  # sum over idx >= i
        # d at k = idx - 1 (k of the other parity) takes every j in idx from there on
        k = idx - 1
        ok = k >= 0
        out[k[ok]] = tail[ok]
    out[0] *= 0.5
    return out[: max(n - 1, 1)]


def _cheb_quantiles(coef: Array, probs: Array, nodes: Array | None = None,
                    weights: Array | None = None) -> Array:
    """Points x in [-1, 1] where the integral from -1 of the Chebyshev series ``coef``
    (a density) reaches ``probs`` times its total: safeguarded Halley steps on the integrated
    series, started from the cumulative quadrature weights when given."""
    cdf = _cheb_integral(coef)
    dcoef = _cheb_derivative(coef)
    total = float(np.sum(cdf))  # the series at x = 1
    target = np.asarray(probs, dtype=float) * total
    if nodes is not None and weights is not None:
        order = np.argsort(nodes)
        cum = np.cumsum(weights[order])
        x = np.interp(np.asarray(probs) * cum[-1], cum, nodes[order])
    else:
        x = np.zeros(target.shape)
    n1, n2 = coef.size, dcoef.size

    def fun(xa: Array, rows: Array) -> tuple[Array, Array, Array]:
        T = _cheb_T(xa, cdf.size)
        return T @ cdf - target[rows], T[:, :n1] @ coef, T[:, :n2] @ dcoef

    return _bracketed_newton(fun, x, np.full(target.shape, -1.0), np.full(target.shape, 1.0),
                             atol=1e-13, ftol=1e-15 * abs(total),
                             accept=np.full(target.shape, 1e-7))


def _mixture_quantiles(w: Array, means: Array, sds: Array, probs: Array) -> Array:
    """Quantiles (G, Q) of G normal mixtures ``sum_j w_j N(means[g, j], sds[g, j]^2)`` at
    ``probs`` (G, Q) or (Q,).

    ``w`` is (n,), shared, or (G, n); each row sums to 1. Halley steps from the
    Cornish-Fisher quantile of the mixture's first four moments, safeguarded by bisection
    within a bracket that always holds the root (the smallest and the largest component
    quantile); a root is taken after a Halley step below 1e-4 of the smallest component sd
    (its error is then below about 1e-13 of that sd).
    """
    from scipy.special import ndtr, ndtri

    G = means.shape[0]
    p = np.broadcast_to(np.asarray(probs, dtype=float), (G, np.shape(probs)[-1]))
    Q = p.shape[1]
    zp = ndtri(p)
    comp_q = means[:, None, :] + sds[:, None, :] * zp[..., None]  # (G, Q, n)
    lo = comp_q.min(axis=2)
    hi = comp_q.max(axis=2)
    wg = w if w.ndim == 2 else w[None, :]
    mean = np.sum(wg * means, axis=1)
    d = means - mean[:, None]
    s2 = sds * sds
    var = np.maximum(np.sum(wg * (s2 + d * d), axis=1), 1e-300)
    sd = np.sqrt(var)
    g1 = np.sum(wg * d * (d * d + 3.0 * s2), axis=1) / (var * sd)
    g2 = np.sum(wg * (d * d * (d * d + 6.0 * s2) + 3.0 * s2 * s2), axis=1) / (var * var) - 3.0
    g1, g2 = g1[:, None], g2[:, None]
    cf = (zp + (zp * zp - 1.0) * g1 / 6.0 + (zp**3 - 3.0 * zp) * g2 / 24.0
          - (2.0 * zp**3 - 5.0 * zp) * g1 * g1 / 36.0)
    x0 = np.where(np.isfinite(cf), mean[:, None] + sd[:, None] * cf, mean[:, None])
    x0 = np.clip(x0, lo, hi)
    accept = np.repeat(1e-4 * sds.min(axis=1), Q)
    pr = p.ravel()
    inv = 1.0 / sds

    def fun(xa: Array, rows: Array) -> tuple[Array, Array, Array]:
        g = rows // Q
        iv = inv[g]
        z = (xa[:, None] - means[g]) * iv
        e = np.exp(-0.5 * z * z) * iv
        if w.ndim == 1:
            return ndtr(z) @ w - pr[rows], e @ w * _INV_SQRT_2PI, (e * z * iv) @ w * -_INV_SQRT_2PI
        wr = w[g]
        return (np.einsum("rj,rj->r", ndtr(z), wr) - pr[rows],
                np.einsum("rj,rj->r", e, wr) * _INV_SQRT_2PI,
                np.einsum("rj,rj->r", e * z * iv, wr) * -_INV_SQRT_2PI)

    x = _bracketed_newton(fun, x0.ravel(), lo.ravel(), hi.ravel(), atol=1e-12, rtol=1e-12,
                          ftol=1e-15, accept=accept)
    return x.reshape(G, Q)


def _weighty(w: Array, mass: float = 1e-15) -> Array:
    """The components of a mixture (weights ``w``) without the lightest ones that together
    weigh at most ``mass`` of the total."""
    s = np.sort(w)
    light = np.cumsum(s) <= mass * s.sum()
    return w > s[light][-1] if light.any() else np.ones(w.shape, dtype=bool)


def _tau_axis(u: Array, c: float, prior: TauPrior) -> tuple[Array, Array]:
    """tau at u in (0, 1) and dtau/du."""
    if prior.family == "uniform":
        return prior.scale * u, np.full_like(u, prior.scale)
    return c * u / (1.0 - u), c / (1.0 - u) ** 2


def _quantile_probs(level: float) -> Array:
    a = (1.0 - level) / 2.0
    return np.array([0.5, a, 1.0 - a])


# ------------------------------------------------------------------ normal-normal


def _normal_tau_terms(y: Array, v: Array, tau: Array, mu_prior: MuPrior
                      ) -> tuple[Array, Array, Array]:
    """log marginal likelihood of tau (mu integrated out), and mu | tau mean, variance."""
    W = 1.0 / (v[None, :] + tau[:, None] ** 2)
    sW = W.sum(axis=1)
    sWy = (W * y[None, :]).sum(axis=1)
    if not mu_prior.flat:
        w0 = 1.0 / mu_prior.sd**2
        sW = sW + w0
        sWy = sWy + w0 * mu_prior.mean
    m = sWy / sW
    Q = (W * (y[None, :] - m[:, None]) ** 2).sum(axis=1)
    if not mu_prior.flat:
        Q = Q + (mu_prior.mean - m) ** 2 / mu_prior.sd**2
    loglik = 0.5 * np.log(W).sum(axis=1) - 0.5 * np.log(sW) - 0.5 * Q
    return loglik, m, 1.0 / sW


@dataclass
class _Pass:
    tau: Array
    w: Array
    m: Array
    V: Array
    coef: Array
    c: float
    u_to_tau: float
    f: Array  # the tau density at the points (unnormalised)
    summary: Array  # mu median/lo/hi, tau median/lo/hi, new median/lo/hi


def _normal_rule(y: Array, v: Array, prior: TauPrior, mu_prior: MuPrior, c: float, n: int
                 ) -> _Pass:
    """The posterior on one rule of ``n`` points, its quantiles not yet computed (NaN)."""
    x, wq, C = _fejer(n)
    tau, jac = _tau_axis(0.5 * (x + 1.0), c, prior)
    loglik, m, V = _normal_tau_terms(y, v, tau, mu_prior)
    logf = loglik + prior.logpdf(tau) + np.log(jac)
    f = np.exp(logf - logf.max())
    w = wq * f
    total = w.sum()
    if not (total > 0 and np.isfinite(total)):
        raise AnalysisError("the posterior could not be integrated (no mass on the tau axis)")
    w = w / total
    return _Pass(tau, w, m, V, C @ f, c, 0.0, f, np.full(9, np.nan))


def _normal_mixtures(p: _Pass, y: Array, v: Array, probs: Array, *, shrunk: bool) -> Array:
    """Quantiles (G, Q) of mu, theta_new and (with ``shrunk``) every shrunken effect: the
    normal mixtures over the points of ``p`` (theta_i | tau, y is normal), solved together."""
    use = _weighty(p.w)
    w = p.w[use] / p.w[use].sum()
    m, V, tau = p.m[use], p.V[use], p.tau[use]
    means = [m, m]
    sds = [np.sqrt(V), np.sqrt(V + tau**2)]
    if shrunk and y.size:
        B = v[:, None] / (v[:, None] + tau[None, :] ** 2)  # (k, n)
        means.extend(B * m[None, :] + (1.0 - B) * y[:, None])
        sds.extend(np.sqrt(v[:, None] * (1.0 - B) + B**2 * V[None, :]))
    return _mixture_quantiles(w, np.array(means), np.array(sds), probs)


def _normal_pass(y: Array, v: Array, prior: TauPrior, mu_prior: MuPrior, c: float, n: int,
                 probs: Array, *, mixtures: bool = True) -> _Pass:
    """One rule of ``n`` points with the quantiles of tau and, with ``mixtures``, of mu and
    theta_new (else NaN)."""
    p = _normal_rule(y, v, prior, mu_prior, c, n)
    p.summary[3:6] = _tau_axis(0.5 * (_cheb_quantiles(p.coef, probs, _fejer(n)[0], p.w) + 1.0),
                               c, prior)[0]
    if mixtures:
        qs = _normal_mixtures(p, y, v, probs, shrunk=False)
        p.summary[0:3] = qs[0]
        p.summary[6:9] = qs[1]
    return p


def _tail(coef: Array) -> float:
    """Size of the last quarter of a Chebyshev series (first axis: terms) relative to its
    largest coefficient, the largest over the series when there are several (the other
    axes): the a-posteriori estimate of how well the points resolve the function."""
    a = np.abs(coef).reshape(coef.shape[0], -1)
    top = a.max(axis=0)
    tail = a[-max(coef.shape[0] // 4, 1):].max(axis=0)
    rel = np.where(top > 0, tail / np.where(top > 0, top, 1.0), 0.0)
    return float(rel.max()) if rel.size else 0.0


def _tau_centre(y: Array, v: Array, prior: TauPrior, mu_prior: MuPrior) -> float:
    """Approximate posterior median of tau (the scale of the tau axis) from a coarse rule."""
    x, wq, _ = _fejer(32)
    c0 = prior.median()
    tau, jac = _tau_axis(0.5 * (x + 1.0), c0, prior)
    logf = _normal_tau_terms(y, v, tau, mu_prior)[0] + prior.logpdf(tau) + np.log(jac)
    w = wq * np.exp(logf - logf.max())
    order = np.argsort(tau)
    cum = np.cumsum(w[order])
    c = float(np.interp(0.8 * cum[-1], cum, tau[order]))
    return c if c > 0 and math.isfinite(c) else c0


def fit_normal(y: ArrayLike, v: ArrayLike, *, tau_prior: TauPrior = DEFAULT_TAU_PRIOR,
               mu_prior: MuPrior = FLAT, level: float = 0.95,
               tol: float = DEFAULT_TOL) -> BayesFit:
    """Posterior of the normal-normal random-effects model.

    Parameters
    ----------
    y, v
        Effect sizes and their sampling variances on the pooling scale (k >= 0).
    tau_prior, mu_prior
        Priors of tau and mu.
    level
        Probability of the central credible intervals.
    tol
        Target accuracy of the reported quantiles (absolute, pooling scale).

    Notes
    -----
    The number of points on the tau axis starts at 64 and is doubled until the Chebyshev
    series of the tau density and of the density times the conditional mean of mu have a
    last quarter below ``max(10 tol, 1e-9)`` of their largest coefficient (the quadrature
    error is then far below ``tol``).

    Raises
    ------
    AnalysisError
        When the posterior is improper (flat mu prior and no study) or cannot be integrated.
    """
    y = np.asarray(y, dtype=float).ravel()
    v = np.asarray(v, dtype=float).ravel()
    k = y.size
    if v.size != k or not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        raise AnalysisError("the Bayesian model needs a finite effect size and a positive "
                            "sampling variance for every study")
    if k == 0 and mu_prior.flat:
        raise AnalysisError("the posterior is improper: a flat prior on mu needs at least one "
                            "study (give --mu-prior normal:M,S)")
    probs = _quantile_probs(level)
    c = _tau_centre(y, v, tau_prior, mu_prior)
    limit = max(10.0 * tol, 1e-9)
    n = 64
    while True:
        cur = _normal_rule(y, v, tau_prior, mu_prior, c, n)
        # the tau density, and the density times mu's conditional mean (absolute, pooling
        # scale) as a series on the same points
        coef_m = _fejer(n)[2] @ (cur.f * (cur.m - np.sum(cur.w * cur.m)))
        top = np.abs(cur.coef).max()
        err = max(_tail(cur.coef), float(np.abs(coef_m[-n // 4:]).max() / top))
        if err <= limit:
            break
        if n >= _MAX_NODES:
            raise AnalysisError(f"the posterior could not be integrated to {tol:g} "
                                f"(series tail {err:.2g} with {n} points)")
        n *= 2
    s = cur.summary
    s[3:6] = _tau_axis(0.5 * (_cheb_quantiles(cur.coef, probs, _fejer(n)[0], cur.w) + 1.0),
                       c, tau_prior)[0]
    qs = _normal_mixtures(cur, y, v, probs, shrunk=True)
    s[0:3] = qs[0]
    s[6:9] = qs[1]
    shrunk = tuple(Interval(*q) for q in qs[2:])
    mean = float(np.sum(cur.w * cur.m))
    sd = math.sqrt(max(float(np.sum(cur.w * (cur.V + cur.m**2))) - mean**2, 0.0))
    tg, td = tau_curve(cur.f, cur.coef, cur.c, float(cur.summary[5]), tau_prior)
    mg, md = _mixture_curve(cur.w, cur.m, np.sqrt(cur.V), s[1], s[2])
    return BayesFit(
        k=k, level=level, likelihood="normal", tau_prior=tau_prior, mu_prior=mu_prior,
        mu=Interval(*s[0:3]), mu_mean=mean if _finite_first_moment(k, tau_prior, mu_prior)
        else None, mu_sd=sd if _finite_second_moment(k, tau_prior, mu_prior) else None,
        tau=Interval(*s[3:6]), predictive=Interval(*s[6:9]), shrunk=shrunk, tau_grid=tg,
        tau_density=td, mu_grid=mg, mu_density=md, nodes=n, _w=cur.w, _m=cur.m, _V=cur.V,
        _tau=cur.tau,
    )


def _finite_second_moment(k: int, prior: TauPrior, mu_prior: MuPrior) -> bool:
    """E[mu^2 | data] is finite iff E[tau^2 | data] is (for a heavy-tailed tau prior)."""
    a = prior.tail_power() + max(k - (1 if mu_prior.flat else 0), 0)
    return a > 3.0


def _finite_first_moment(k: int, prior: TauPrior, mu_prior: MuPrior) -> bool:
    a = prior.tail_power() + max(k - (1 if mu_prior.flat else 0), 0)
    return a > 2.0 or k > 0  # mu | tau is symmetric about a bounded mean when k > 0


def tau_curve(f: Array, coef: Array, c: float, high: float, prior: TauPrior,
              points: int = 201) -> tuple[Array, Array]:
    """The marginal density of tau on an even grid from 0 to 1.6 ``high`` (its upper
    quantile), from its values ``f`` at the points of :func:`_fejer` on the axis ``u`` of
    :func:`_tau_axis` (``c`` its scale) and their Chebyshev series ``coef``."""
    top = high * 1.6
    if prior.family == "uniform":
        top = min(top, prior.scale)
    grid = np.linspace(0.0, top, points)
    if prior.family == "uniform":
        u = grid / prior.scale
        dudt = np.full_like(grid, 1.0 / prior.scale)
    else:
        u = grid / (c + grid)
        dudt = c / (c + grid) ** 2
    dens = _cheb_interp(f, 2.0 * u - 1.0) * 2.0 * dudt  # f(u) per unit x is f/2: undo
    total = float(np.sum(_cheb_integral(coef)))
    return grid, np.maximum(dens / total, 0.0)


def _mixture_curve(w: Array, m: Array, s: Array, lo: float, hi: float,
                   points: int = 201) -> tuple[Array, Array]:
    pad = 0.6 * (hi - lo)
    grid = np.linspace(lo - pad, hi + pad, points)
    use = w > 1e-16 * w.max()  # the rest adds less than 1e-16 of the density
    w, m, s = w[use], m[use], s[use]
    z = (grid[:, None] - m[None, :]) / s[None, :]
    dens = np.exp(-0.5 * z * z) @ (w / (s * math.sqrt(2 * math.pi)))
    return grid, dens


# ------------------------------------------------------------------ binomial-normal


def fit_binomial(x: ArrayLike, n: ArrayLike, *, tau_prior: TauPrior = DEFAULT_TAU_PRIOR,
                 mu_prior: MuPrior = FLAT, level: float = 0.95,
                 tol: float = 1e-6) -> BayesFit:
    """Posterior of the binomial-normal random-effects model on the logit scale.

    ``x`` may be non-integer (pseudo-counts); no continuity correction is applied.

    Raises
    ------
    AnalysisError
        When the posterior is improper (flat mu prior with no study, with every study at 0
        events or every study at all events, or with every study at 0 or all events under a
        half-Cauchy or half-t prior with df <= 1) or cannot be integrated.
    """
    x = np.asarray(x, dtype=float).ravel()
    n = np.asarray(n, dtype=float).ravel()
    k = x.size
    if n.size != k or not (np.all(np.isfinite(x)) and np.all(n > 0) and np.all(x >= 0)
                           and np.all(x <= n)):
        raise AnalysisError("the binomial model needs 0 <= events <= total for every study")
    if mu_prior.flat:
        if k == 0:
            raise AnalysisError("the posterior is improper: a flat prior on mu needs at least "
                                "one study (give --mu-prior normal:M,S)")
        if np.all(x == 0) or np.all(x == n):
            which = "no events" if np.all(x == 0) else "only events"
            raise AnalysisError(f"the posterior is improper: every study has {which}, and "
                                "with a flat prior on mu the likelihood does not vanish "
                                "(give --mu-prior normal:M,S)")
        # far out in tau, the integral over mu of the likelihood grows as tau^(1 - m), m the
        # studies with some events and some non-events; the prior density falls as tau^-a
        interior = int(np.sum((x > 0) & (x < n)))
        if interior + tau_prior.tail_power() <= 2.0:
            raise AnalysisError(
                f"the posterior is improper: every study has 0 or all events, and with a flat "
                f"prior on mu the likelihood grows with tau faster than the {tau_prior.text()} "
                "prior falls (give a lighter-tailed --tau-prior such as half-normal:S, or "
                "--mu-prior normal:M,S)")
    from metaview.engine import _binomial

    return _binomial.fit(x, n, tau_prior, mu_prior, level, tol)


# ------------------------------------------------------------------ batched normal-normal


@dataclass(frozen=True)
class BatchFit:
    """Posterior median and central credible interval of mu for each of B data sets."""

    median: Array
    low: Array
    high: Array
    refitted: int  # replicates the shared rule did not resolve, fitted one at a time


def fit_normal_batch(y: ArrayLike, v: ArrayLike, *, tau_prior: TauPrior = DEFAULT_TAU_PRIOR,
                     mu_prior: MuPrior = FLAT, level: float = 0.95, points: int = 128,
                     centre: float | None = None, chunk: int = 2000) -> BatchFit:
    """The posterior of mu of the normal-normal model for B data sets at once.

    All rows share one rule of ``points`` points on the tau axis (centred at ``centre``,
    by default the prior median of tau). A row whose tau density the shared rule does not
    resolve (the test of :func:`fit_normal`) is fitted alone with :func:`fit_normal`.

    Parameters
    ----------
    y, v
        (B, k) effect sizes and sampling variances.
    """
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.broadcast_to(np.asarray(v, dtype=float), y.shape)
    if y.shape[1] == 0 and mu_prior.flat:
        raise AnalysisError("the posterior is improper: a flat prior on mu needs at least one "
                            "study (give --mu-prior normal:M,S)")
    probs = _quantile_probs(level)
    c = tau_prior.median() if centre is None else float(centre)
    x, wq, C = _fejer(points)
    tau, jac = _tau_axis(0.5 * (x + 1.0), c, tau_prior)
    logprior = tau_prior.logpdf(tau) + np.log(jac)
    out = np.full((y.shape[0], probs.size), np.nan)
    refit: list[int] = []
    tail = max(points // 4, 1)
    for start in range(0, y.shape[0], chunk):
        yb = y[start:start + chunk]
        vb = v[start:start + chunk]
        good = np.all(np.isfinite(yb), axis=1) & np.all(np.isfinite(vb) & (vb > 0), axis=1)
        Wt = 1.0 / (vb[:, None, :] + (tau**2)[None, :, None])  # (b, n, k)
        sW = Wt.sum(axis=2)
        sWy = np.einsum("bnk,bk->bn", Wt, np.where(good[:, None], yb, 0.0))
        if not mu_prior.flat:
            w0 = 1.0 / mu_prior.sd**2
            sW = sW + w0
            sWy = sWy + w0 * mu_prior.mean
        m = sWy / sW
        Q = np.sum(Wt * (np.where(good[:, None], yb, 0.0)[:, None, :] - m[..., None]) ** 2,
                   axis=2)
        if not mu_prior.flat:
            Q = Q + (mu_prior.mean - m) ** 2 / mu_prior.sd**2
        logf = 0.5 * np.log(Wt).sum(axis=2) - 0.5 * np.log(sW) - 0.5 * Q + logprior
        f = np.exp(logf - logf.max(axis=1, keepdims=True))
        w = wq * f
        w = w / w.sum(axis=1, keepdims=True)
        coef = f @ C.T
        top = np.abs(coef).max(axis=1)
        coef_m = (f * (m - np.sum(w * m, axis=1, keepdims=True))) @ C.T
        err = np.maximum(np.abs(coef[:, -tail:]).max(axis=1),
                         np.abs(coef_m[:, -tail:]).max(axis=1)) / top
        ok = good & (err <= 1e-6)
        if ok.any():
            out[start:start + chunk][ok] = _mixture_quantiles(
                w[ok], m[ok], np.sqrt(1.0 / sW[ok]), probs)
        refit.extend(int(i) + start for i in np.nonzero(good & ~ok)[0])
    for i in refit:
        one = fit_normal(y[i], v[i], tau_prior=tau_prior, mu_prior=mu_prior, level=level)
        out[i] = (one.mu.median, one.mu.low, one.mu.high)
    return BatchFit(out[:, 0], out[:, 1], out[:, 2], len(refit))
