"""The binomial-normal random-effects posterior behind :func:`metaview.engine.bayes.fit_binomial`.

Model: ``x_i ~ Bin(n_i, expit(theta_i))``, ``theta_i ~ N(mu, tau^2)``, priors on ``mu`` and
``tau`` as in :mod:`metaview.engine.bayes`. Each study's ``theta_i`` is integrated out:
``L_i(mu, tau) = int l_i(theta) N(theta | mu, tau^2) dtheta`` with
``l_i(theta) = exp(x_i theta - n_i log(1 + e^theta))``.

Layout of the integration:

- ``tau`` on the Chebyshev points of ``u`` in (0, 1), ``tau = c u / (1 - u)`` (``MAX u``
  under a uniform prior), as in the normal-normal model;
- at each ``tau`` node, ``mu`` given ``tau`` on its own interval, which reaches 36 (in log
  density) below the peak of that conditional posterior and of every leave-one-study-out
  version of it. The conditional log density is concave and smooth; it is represented by
  its interpolating polynomial at Chebyshev points of the interval (a polynomial fit to a
  smooth concave function converges fast and keeps its relative accuracy in the tails), so
  that every later integral over ``mu`` (distribution functions, convolutions) costs
  polynomial evaluations, not likelihoods;
- the predictive ``theta_new`` and every study's shrunken ``theta_i``: given ``tau``, the
  predictive density (the conditional posterior of ``mu`` convolved with ``N(0, tau^2)``)
  and the leave-one-out predictive densities are again log-concave; they are computed at
  Chebyshev points of the predictive interval and represented by their log polynomials.
  ``theta_i``'s posterior is ``l_i(theta)`` times its leave-one-out predictive.

``L_i`` itself is computed by Gauss-Hermite quadrature centred at the mode of the integrand
and scaled by its curvature; for a study with fewer than 3 events or non-events and a
``tau`` wide against the spread of its likelihood (where that rule is poor: the integrand is
then a Gaussian cut off by the likelihood's edge), by a Gauss-Jacobi rule of the likelihood
in ``p = expit(theta)`` (or, under 1 event or non-event, of ``d l / d theta`` after taking
the exponential factor into the normal density), which is exact in that limit.

Every series is checked a posteriori (its last quarter against its largest coefficient) and
the points are doubled where that check fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from metaview.engine import bayes as _b
from metaview.errors import AnalysisError

Array = _b.Array

_GH = ((20.0, 12), (10.0, 16), (6.0, 24), (3.0, 32))  # (fewest events or non-events, points)
_SIDE = 40  # Gauss-Legendre points on each side of the mode (studies with few counts)
_DROP = 36.0  # every interval reaches this far (log density) below the peak
_LOG_TAIL = 1e-9  # accepted last quarter of a log-density series (absolute)
_SERIES_TAIL = 1e-9  # accepted last quarter of a density series (relative)
_Z_SMALL = 24  # Gauss-Hermite points of the convolutions where tau is narrow
_NARROW = 1.0  # tau below this many conditional sds of mu counts as narrow
_SQRT2 = math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# ------------------------------------------------------------------ the inner integrals


def _softplus(t: Array) -> Array:
    out: Array = np.maximum(t, 0.0) + np.log1p(np.exp(-np.abs(t)))
    return out


@lru_cache(maxsize=8)
def _hermite(n: int) -> tuple[Array, Array]:
    z, w = np.polynomial.hermite.hermgauss(n)
    return z, np.log(w) + z * z  # log of the weight with e^{-z^2} taken out


def _mode(X: Array, N: Array, M: Array, T2: Array) -> Array:
    """Mode of ``X t - N softplus(t) - (t - M)^2 / (2 T2)`` (elementwise): safeguarded Newton
    steps on the decreasing score, within the bracket ``[M + T2 (X - N), M + T2 X]``."""
    from scipy.special import expit

    lo = M + T2 * (X - N)
    hi = M + T2 * X
    y0 = np.log((X + 0.5) / (N - X + 0.5))
    v0 = 1.0 / (X + 0.5) + 1.0 / (N - X + 0.5)
    t = np.clip((y0 * T2 + M * v0) / (T2 + v0), lo, hi)
    for _ in range(100):
        p = expit(t)
        g = X - N * p - (t - M) / T2
        up = g > 0
        lo = np.where(up, t, lo)
        hi = np.where(up, hi, t)
        new = t + g / (N * p * (1.0 - p) + 1.0 / T2)
        bad = ~((new > lo) & (new < hi))
        new = np.where(bad, 0.5 * (lo + hi), new)
        done = np.abs(new - t) <= 1e-13 * (1.0 + np.abs(t))
        t = new
        if done.all():
            break
    return t


def _loglik_gh(X: Array, N: Array, M: Array, T: Array, points: int) -> Array:
    """log L by mode-centred Gauss-Hermite quadrature (elementwise over equal shapes)."""
    from scipy.special import expit

    T2 = T * T
    t = _mode(X, N, M, T2)
    p = expit(t)
    sig = 1.0 / np.sqrt(N * p * (1.0 - p) + 1.0 / T2)
    z, lw = _hermite(points)
    d = (_SQRT2 * sig)[..., None] * z  # theta - t at the points
    th = t[..., None] + d
    rel = (X[..., None] * d - N[..., None] * (_softplus(th) - _softplus(t)[..., None])
           - d * (d + 2.0 * (t - M)[..., None]) / (2.0 * T2[..., None]))
    top = rel.max(axis=-1, keepdims=True)
    s = np.log(np.sum(np.exp(rel + lw - top), axis=-1)) + top[..., 0]
    peak = X * t - N * _softplus(t) - (t - M) ** 2 / (2.0 * T2)
    out: Array = peak + s + np.log(_SQRT2 * sig) - _LOG_SQRT_2PI - np.log(T)
    return out


def _psi(X: Array, N: Array, t: Array, M: Array, T2: Array) -> Array:
    out: Array = X * t - N * _softplus(t) - (t - M) ** 2 / (2.0 * T2)
    return out


@lru_cache(maxsize=64)
def _edge_rule(n: float, points: int = 40) -> tuple[Array, Array]:
    """Gauss rule (polynomials in y) of the distribution of Y = logit(P), P ~ Beta(1, n),
    whose density is n e^y (1 + e^y)^(-n-1): nodes and log weights (from the discretised
    measure by the Lanczos process)."""
    centre = -math.log(n)
    y = np.linspace(centre - 45.0, centre + 45.0 / n + 8.0, 40001)
    lw = y + math.log(n) - (n + 1.0) * _softplus(y)
    w = np.exp(lw - lw.max())
    w = w / w.sum()
    q = np.sqrt(w)
    basis = [q]
    alpha, beta = [], []
    q_prev, b_prev = np.zeros_like(q), 0.0
    for _ in range(points):
        r = y * q - b_prev * q_prev
        a = float(q @ r)
        r = r - a * q
        for qq in basis:  # full reorthogonalisation
            r = r - float(qq @ r) * qq
        b = float(np.linalg.norm(r))
        alpha.append(a)
        beta.append(b)
        q_prev, q, b_prev = q, r / b, b
        basis.append(q)
    J = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
    nodes, vecs = np.linalg.eigh(J)
    return nodes, np.log(vecs[0] ** 2)


def _loglik_edge(N: Array, M: Array, T: Array) -> Array:
    """log L of a study with no events: int (1 + e^theta)^-n N(theta | M, T^2) dtheta =
    E Phi((Y - M) / T), Y as in :func:`_edge_rule` (exact in the limit of wide T, and good
    where the normal density is centred left of the likelihood's edge)."""
    from scipy.special import log_ndtr

    out = np.empty(M.shape)
    for n in np.unique(N):
        rows = N == n
        y, lw = _edge_rule(float(n))
        e = lw + log_ndtr((y - M[rows, None]) / T[rows, None])
        top = e.max(axis=-1)
        out[rows] = top + np.log(np.sum(np.exp(e - top[:, None]), axis=-1))
    return out


def _loglik_sides(X: Array, N: Array, M: Array, T: Array) -> Array:
    """log L by Gauss-Legendre rules on either side of the integrand's mode, each out to
    where the log integrand has fallen by 40 (found by Newton steps on the concave log
    integrand). For studies with few events or non-events, whose integrand is a Gaussian cut
    off by the likelihood's edge when tau is wide (the Gauss-Hermite rule is then poor)."""
    from scipy.special import expit

    T2 = T * T
    t = _mode(X, N, M, T2)
    p = expit(t)
    sig = 1.0 / np.sqrt(N * p * (1.0 - p) + 1.0 / T2)
    top = _psi(X, N, t, M, T2)
    v, wv = _legendre(_SIDE)
    total = np.zeros(t.shape)
    for side in (1.0, -1.0):
        # the distance where the drop reaches 40: the drop is convex in the distance, so the
        # Newton steps converge from the first one on
        d = math.sqrt(80.0) * sig
        for _ in range(100):
            th = t + side * d
            drop = top - _psi(X, N, th, M, T2)
            slope = -side * (X - N * expit(th) - (th - M) / T2)
            step = (drop - 40.0) / np.maximum(slope, 1e-300)
            d = np.maximum(d - step, 0.5 * d)
            if np.all(np.abs(step) <= 1e-6 * d):
                break
        # points spaced geometrically from the mode (a side far longer than the curvature
        # scale is a Gaussian tail or a straight log tail: its detail is near the mode)
        beta = np.log1p(d / (4.0 * sig))[..., None]
        span = np.expm1(beta)
        w = np.expm1(beta * v) / span
        dw = beta * np.exp(beta * v) / span
        th = t[..., None] + (side * d)[..., None] * w
        e = _psi(X[..., None], N[..., None], th, M[..., None], T2[..., None]) - top[..., None]
        total = total + d * np.sum(np.exp(e) * dw * wv, axis=-1)
    out: Array = top + np.log(total) - _LOG_SQRT_2PI - np.log(T)
    return out


@lru_cache(maxsize=4)
def _legendre(n: int) -> tuple[Array, Array]:
    """Gauss-Legendre points and weights on [0, 1]."""
    v, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (v + 1.0), 0.5 * w


@dataclass(frozen=True)
class _Studies:
    x: Array
    n: Array
    points: Array  # Gauss-Hermite points of its likelihood integral; 0: either side's rule

    @classmethod
    def of(cls, x: Array, n: Array) -> _Studies:
        small = np.minimum(x, n - x)
        points = np.array([next(p for m, p in _GH if sm >= m) if sm >= 3.0 else 0
                           for sm in small], dtype=int)
        return cls(x, n, points)

    def loglik(self, mu: Array, tau: Array) -> Array:
        """log L_i at (mu, tau) (equal shapes (...)): shape (..., k)."""
        k = self.x.size
        shape = mu.shape
        M = np.broadcast_to(mu.reshape(-1, 1), (mu.size, k))
        T = np.broadcast_to(tau.reshape(-1, 1), (mu.size, k))
        out = np.empty(M.shape)
        for z in np.unique(self.points):
            use = np.broadcast_to((self.points == z)[None, :], M.shape)
            X = np.broadcast_to(self.x, M.shape)[use]
            N = np.broadcast_to(self.n, M.shape)[use]
            if z:
                out[use] = _loglik_gh(X, N, M[use], T[use], int(z))
                continue
            Mu, Tu = M[use], T[use]
            res = np.empty(X.shape)
            # no events (or, mirrored, only events), tau wide and the normal density centred
            # left of the likelihood's edge: the edge rule
            flip = X == N
            Me = np.where(flip, -Mu, Mu)
            edge = ((X == 0) | flip) & (Tu >= 3.0) & (Me - (-np.log(N)) <= Tu)
            if edge.any():
                res[edge] = _loglik_edge(N[edge], Me[edge], Tu[edge])
            if (~edge).any():
                res[~edge] = _loglik_sides(X[~edge], N[~edge], Mu[~edge], Tu[~edge])
            out[use] = res
        return out.reshape(shape + (k,))

    def laplace_slope(self, mu: Array, tau: Array) -> tuple[Array, Array, Array]:
        """Per (node, study): the Laplace approximations of d log L / d mu and of
        d^2 log L / d mu^2, and the likelihood's curvature at the mode."""
        from scipy.special import expit

        M = mu[..., None]
        T2 = (tau * tau)[..., None] + np.zeros(self.x.shape)
        X = np.broadcast_to(self.x, T2.shape)
        N = np.broadcast_to(self.n, T2.shape)
        t = _mode(X, N, M + np.zeros(T2.shape), T2)
        p = expit(t)
        info = N * p * (1.0 - p)
        return X - N * p, -info / (1.0 + T2 * info), info


# ------------------------------------------------------------------ Chebyshev helpers


@lru_cache(maxsize=32)
def _interp_matrix(n_from: int, n_to: int) -> Array:
    """Values at the ``n_to`` Chebyshev points of the polynomial through values at the
    ``n_from`` points (both first kind, :func:`bayes._fejer` order)."""
    return _b._cheb_interp(np.eye(n_from), _b._fejer(n_to)[0])


def _cheb_T(x: Array, terms: int) -> Array:
    """Chebyshev polynomials T_0..T_{terms-1} at ``x`` (last axis added)."""
    return np.cos(np.multiply.outer(np.arccos(np.clip(x, -1.0, 1.0)), np.arange(terms)))


def _clenshaw(coef: Array, x: Array) -> Array:
    """The Chebyshev series ``coef`` (first axis: terms; the rest broadcast against the
    trailing axes of ``x``) at ``x`` in [-1, 1]."""
    x = np.clip(x, -1.0, 1.0)
    b1 = np.zeros(np.broadcast_shapes(x.shape, coef.shape[1:]))
    b2 = np.zeros(b1.shape)
    x2 = 2.0 * x
    for c in coef[:0:-1]:
        b1, b2 = c + x2 * b1 - b2, b1
    out: Array = coef[0] + x * b1 - b2
    return out


def _series_tail(coef: Array, *, relative: bool) -> float:
    """Largest last-quarter coefficient over the columns of ``coef`` (first axis), relative
    to each column's largest when ``relative``."""
    a = np.abs(coef)
    q = max(coef.shape[0] // 4, 1)
    tail = a[-q:].max(axis=0)
    if relative:
        top = a.max(axis=0)
        tail = np.where(top > 0, tail / np.where(top > 0, top, 1.0), 0.0)
    return float(tail.max()) if tail.size else 0.0


# ------------------------------------------------------------------ the columns (tau nodes)


@dataclass
class _Columns:
    """At each tau node: the interval of mu, the log densities at its Chebyshev points."""

    tau: Array  # (B,)
    wtau: Array  # (B,) normalised posterior weights of the tau nodes (quadrature included)
    ftau: Array  # (B,) tau density at the nodes (u axis), unnormalised
    c: Array  # (B,) centres of the mu intervals
    h: Array  # (B,) half-widths
    s: Array  # (B,) conditional sd of mu (Laplace)
    lp: Array  # (A, B) log conditional density of mu at the points (unnormalised)
    ll: Array  # (A, B, k) log L_i at the points
    logz: Array  # (B,) log of int exp(lp) dmu
    scale: float  # tau = scale u / (1 - u) (or scale u, uniform)


def _log_prior_mu(mu: Array, mu_prior: _b.MuPrior) -> Array:
    if mu_prior.flat:
        return np.zeros(mu.shape)
    out: Array = -0.5 * ((mu - mu_prior.mean) / mu_prior.sd) ** 2
    return out


def _conditional_modes(st: _Studies, tau: Array, mu_prior: _b.MuPrior, start: Array,
                       leave_out: bool) -> tuple[Array, Array]:
    """Laplace modes and sds of mu given each tau (B,), and, with ``leave_out``, of each
    leave-one-out version (B, k): Newton steps on the Laplace score."""
    k = st.x.size
    groups = 1 + (k if leave_out else 0)
    # mask[g, i]: study i enters group g (group 0: all studies)
    mask = np.ones((groups, k))
    if leave_out:
        mask[1:] -= np.eye(k)
    mu = np.repeat(start[:, None], groups, axis=1)  # (B, G)
    prior_prec = 0.0 if mu_prior.flat else 1.0 / mu_prior.sd**2
    for _ in range(60):
        g1, g2, _info = st.laplace_slope(mu, np.broadcast_to(tau[:, None], mu.shape))
        grad = np.einsum("bgi,gi->bg", g1, mask)
        hess = np.einsum("bgi,gi->bg", g2, mask) - prior_prec
        if not mu_prior.flat:
            grad = grad - (mu - mu_prior.mean) * prior_prec
        hess = np.minimum(hess, -1e-12)
        step = np.clip(-grad / hess, -5.0 * np.sqrt(-1.0 / hess), 5.0 * np.sqrt(-1.0 / hess))
        mu = mu + step
        if np.all(np.abs(step) <= 1e-9 * np.sqrt(-1.0 / hess)):
            break
    g1, g2, _info = st.laplace_slope(mu, np.broadcast_to(tau[:, None], mu.shape))
    hess = np.einsum("bgi,gi->bg", g2, mask) - prior_prec
    return mu, np.sqrt(-1.0 / np.minimum(hess, -1e-300))


def _intervals(st: _Studies, tau: Array, mu_prior: _b.MuPrior, modes: Array, sds: Array,
               groups: Array, peak: Array) -> tuple[Array, Array]:
    """Per tau node, an interval of mu on which the log density of every group (all studies,
    and the leave-one-out sets in ``groups``) falls by at least _DROP from its value at its
    Laplace mode (``peak``) on both sides (the log densities are concave)."""
    width = math.sqrt(2.0 * _DROP)
    lo = (modes - width * sds).min(axis=1)
    hi = (modes + width * sds).max(axis=1)
    for _ in range(20):
        ends = np.stack([lo, hi], axis=1)  # (B, 2)
        le = st.loglik(ends, np.broadcast_to(tau[:, None], ends.shape))  # (B, 2, k)
        val = np.einsum("bei,gi->bge", le, groups) + _log_prior_mu(ends, mu_prior)[:, None, :]
        drop = peak[:, :, None] - val  # (B, G, 2)
        short = drop < _DROP
        if not short.any():
            return lo, hi
        # the drop is convex in the distance from the mode: stretching the distance by a
        # factor a at least multiplies it by a
        dist_lo = modes - lo[:, None]
        dist_hi = hi[:, None] - modes
        grow = np.where(drop > 0.5, 1.1 * _DROP / np.maximum(drop, 0.5), 2.0)
        new_lo = np.where(short[:, :, 0], modes - dist_lo * grow[:, :, 0], lo[:, None])
        new_hi = np.where(short[:, :, 1], modes + dist_hi * grow[:, :, 1], hi[:, None])
        lo = np.minimum(lo, new_lo.min(axis=1))
        hi = np.maximum(hi, new_hi.max(axis=1))
    raise AnalysisError("the posterior could not be integrated (the conditional posterior of "
                        "mu does not fall off)")


def _columns(st: _Studies, tau_prior: _b.TauPrior, mu_prior: _b.MuPrior, scale: float,
             nb: int, na: int, start: float, leave_out: bool) -> _Columns:
    xb, wb, _ = _b._fejer(nb)
    tau, jac = _b._tau_axis(0.5 * (xb + 1.0), scale, tau_prior)
    k = st.x.size
    modes, sds = _conditional_modes(st, tau, mu_prior, np.full(nb, start), leave_out)
    groups = np.ones((modes.shape[1], k))
    if leave_out:
        groups[1:] -= np.eye(k)
    at_mode = st.loglik(modes, np.broadcast_to(tau[:, None], modes.shape))  # (B, G, k)
    peak = np.einsum("bgi,gi->bg", at_mode, groups) + _log_prior_mu(modes, mu_prior)
    # the Laplace approximation of each tau node's weight: nodes below e^-60 of the largest
    # carry nothing (their integrals are not computed)
    with np.errstate(divide="ignore"):
        approx = peak[:, 0] + np.log(sds[:, 0]) + tau_prior.logpdf(tau) + np.log(jac * wb)
    live = np.isfinite(approx) & (approx >= np.max(approx[np.isfinite(approx)]) - 60.0)
    lo, hi = _intervals(st, tau[live], mu_prior, modes[live], sds[live], groups, peak[live])
    c = modes[:, 0].copy()
    h = math.sqrt(2.0 * _DROP) * sds[:, 0]
    c[live] = 0.5 * (lo + hi)
    h[live] = 0.5 * (hi - lo)
    xa = _b._fejer(na)[0]
    lp = np.broadcast_to(-_DROP * xa[:, None] ** 2, (na, nb)).copy()
    ll = np.zeros((na, nb, k))
    mu = c[None, live] + h[None, live] * xa[:, None]  # (A, live)
    ll[:, live] = st.loglik(mu, np.broadcast_to(tau[None, live], mu.shape))
    lp[:, live] = ll[:, live].sum(axis=-1) + _log_prior_mu(mu, mu_prior)
    logz = _log_integral(lp, h)
    lf = np.where(live, logz + tau_prior.logpdf(tau) + np.log(jac), -np.inf)
    ftau = np.exp(lf - lf.max())
    w = wb * ftau
    return _Columns(tau, w / w.sum(), ftau, c, h, sds[:, 0], lp, ll, logz, scale)


def _fine(values: Array, na: int, nm: int) -> Array:
    """Log values at the ``nm`` Chebyshev points from those at the ``na`` points (first axis)."""
    shape = values.shape
    out: Array = (_interp_matrix(na, nm) @ values.reshape(na, -1)).reshape((nm,) + shape[1:])
    return out


def _log_integral(lp: Array, h: Array, nm: int = 128) -> Array:
    """log int exp(polynomial through lp) over each interval (half-width h), columns on axis
    1 and beyond."""
    f = _fine(lp, lp.shape[0], nm)
    top = f.max(axis=0)
    w = _b._fejer(nm)[1]
    hh = h.reshape(h.shape + (1,) * (f.ndim - 1 - h.ndim))
    out: Array = np.log(np.einsum("m,m...->...", w, np.exp(f - top)) * hh) + top
    return out


# ------------------------------------------------------------------ mixtures of columns


@dataclass
class _Mixture:
    """A distribution sum_b W_b p_b, each p_b a density on [c_b - h_b, c_b + h_b] given by
    its Chebyshev series there (normalised)."""

    W: Array  # (B,)
    c: Array
    h: Array
    coef: Array  # (M, B) series of each density in x = (t - c) / h (integrates to 1 in t)
    icoef: Array  # (M + 1, B) integrated series (0 at x = -1, 1 at x = 1)

    @classmethod
    def of(cls, W: Array, c: Array, h: Array, logvals: Array) -> _Mixture:
        """From log densities at the ``na`` Chebyshev points of each interval (na, B)."""
        na = logvals.shape[0]
        nm = 128
        for _ in range(3):
            f = _fine(logvals, na, nm)
            p = np.exp(f - f.max(axis=0))
            coef = _b._fejer(nm)[2] @ p
            if _series_tail(coef, relative=True) <= _SERIES_TAIL or nm >= 512:
                break
            nm *= 2
        icoef = _b._cheb_integral(coef)
        total = icoef.sum(axis=0)
        return cls(W, c, h, coef / (total * h), icoef / total)

    def cdf_pdf(self, t: Array) -> tuple[Array, Array]:
        x = (t[:, None] - self.c[None, :]) / self.h[None, :]
        inside = np.abs(x) < 1.0
        T = _cheb_T(x, self.icoef.shape[0])
        F = np.einsum("rbm,mb->rb", T, self.icoef)
        F = np.where(x >= 1.0, 1.0, np.where(x <= -1.0, 0.0, F))
        f = np.where(inside, np.einsum("rbm,mb->rb", T[..., :-1], self.coef), 0.0)
        return F @ self.W, f @ self.W

    def quantiles(self, probs: Array, start: Array | None = None) -> Array:
        lo = float(np.min(self.c - self.h))
        hi = float(np.max(self.c + self.h))
        x0 = np.clip(start, lo, hi) if start is not None else np.full(probs.shape, 0.5 * (lo + hi))

        def fun(xa: Array, rows: Array) -> tuple[Array, Array, None]:
            F, f = self.cdf_pdf(xa)
            return F - probs[rows], f, None

        return _b._bracketed_newton(fun, x0, np.full(probs.shape, lo), np.full(probs.shape, hi),
                                    atol=1e-12, rtol=1e-12)

    def start(self, probs: Array) -> Array:
        """Rough quantiles from the mixture of normals with the columns' centres and sizes."""
        m = self.c
        s = self.h / 4.0
        return _b.mixture_quantiles(self.W, m, s, probs)


# ------------------------------------------------------------------ convolutions


def _ends(coef: Array, h: Array) -> tuple[Array, Array, Array, Array]:
    """Values and slopes (per unit of mu) at both ends of the series ``coef`` (A, B, ...),
    the interval half-widths ``h`` (B,)."""
    m = np.arange(coef.shape[0]).reshape((-1,) + (1,) * (coef.ndim - 1))
    sign = (-1.0) ** m
    hh = h.reshape(h.shape + (1,) * (coef.ndim - 2))
    right = coef.sum(axis=0)
    left = (sign * coef).sum(axis=0)
    d_right = (m * m * coef).sum(axis=0) / hh
    d_left = (-sign * m * m * coef).sum(axis=0) / hh
    # the log densities are concave and have fallen off at both ends
    return left, np.maximum(d_left, 1e-3 / hh), right, np.minimum(d_right, -1e-3 / hh)


def _convolved_logs(cols: _Columns, funcs: Array, na: int, nt: int) -> tuple[Array, Array,
                                                                              Array]:
    """For each tau node and each function (log densities of mu at the interval's points,
    (A, B, F)), the log of the density convolved with N(0, tau_b^2), at the ``nt`` Chebyshev
    points of the predictive interval: (nt, B, F), and the intervals' centres and
    half-widths. Beyond its interval each log density is continued by its tangent (it has
    fallen by _DROP there, and is concave)."""
    from scipy.special import log_ndtr

    B = cols.tau.size
    tau = cols.tau
    pc = cols.c
    ph = cols.h + 8.5 * (np.sqrt(cols.s**2 + tau**2) - cols.s)
    theta = pc[None, :] + ph[None, :] * _b._fejer(nt)[0][:, None]  # (nt, B)
    out = np.empty((nt, B, funcs.shape[2]))
    coef = np.einsum("ma,abf->mbf", _b._fejer(na)[2], funcs)  # (A, B, F)
    lv, ls, rv, rs = _ends(coef, cols.h)  # (B, F) each
    top = funcs.max(axis=0)  # (B, F): the logs are shifted back at the end
    live = cols.wtau > 0
    narrow = (tau < _NARROW * cols.s) & live
    wide = ~narrow & live
    out[:, ~live] = (-_DROP * _b._fejer(nt)[0] ** 2)[:, None, None]
    if wide.any():
        # enough points for the narrowest kernel (a normal density of width tau spans
        # tau / h of the interval)
        nm = 128
        while nm < 1024 and nm < 16.0 * float(np.max(cols.h[wide] / tau[wide])):
            nm *= 2
        xm, wm, _ = _b._fejer(nm)
        f = _fine(funcs[:, wide], na, nm)  # (M, Bw, F)
        vals = np.exp(f - top[wide][None])
        mu = cols.c[wide][None, :] + cols.h[wide][None, :] * xm[:, None]  # (M, Bw)
        tw = tau[wide]
        th = theta[:, wide]
        z = (th[:, None, :] - mu[None, :, :]) / tw  # (nt, M, Bw)
        kern = np.exp(-0.5 * z * z) * (wm[:, None] * cols.h[wide] / tw)[None]
        conv = np.einsum("tmb,mbf->tbf", kern, vals) / math.sqrt(2.0 * math.pi)
        # the tangent tails beyond both ends, in closed form
        eR = (cols.c + cols.h)[wide][None, :, None]
        eL = (cols.c - cols.h)[wide][None, :, None]
        T3 = tw[None, :, None]
        a, b_ = rs[wide][None], ls[wide][None]
        t3 = th[:, :, None]
        right = (rv[wide][None] - top[wide][None] + a * (t3 - eR) + 0.5 * (a * T3) ** 2
                 + log_ndtr((t3 - eR) / T3 + a * T3))
        left = (lv[wide][None] - top[wide][None] + b_ * (t3 - eL) + 0.5 * (b_ * T3) ** 2
                + log_ndtr((eL - t3) / T3 - b_ * T3))
        out[:, wide] = np.log(conv + np.exp(right) + np.exp(left))
    if narrow.any():
        z, wz = np.polynomial.hermite.hermgauss(_Z_SMALL)
        tn = tau[narrow]
        cn, hn = cols.c[narrow], cols.h[narrow]
        pts = theta[:, narrow][:, None, :] - (_SQRT2 * z)[None, :, None] * tn  # (nt, Z, Bn)
        x = ((pts - cn) / hn)[..., None]  # (nt, Z, Bn, 1)
        logv = _clenshaw(coef[:, narrow], x)  # (nt, Z, Bn, F)
        d = (pts - cn)[..., None]
        hn3 = hn[:, None]
        logv = np.where(x > 1.0, rv[narrow] + rs[narrow] * (d - hn3),
                        np.where(x < -1.0, lv[narrow] + ls[narrow] * (d + hn3), logv))
        vals = np.exp(logv - top[narrow])
        conv = np.einsum("tzbf,z->tbf", vals, wz) / math.sqrt(math.pi)
        out[:, narrow] = np.log(conv)
    return out + top[None], pc, ph


# ------------------------------------------------------------------ the fit


@dataclass
class _Fit:
    cols: _Columns
    mu: _Mixture
    summary: Array  # mu median/lo/hi, tau median/lo/hi, new median/lo/hi
    coef_tau: Array
    wtau_x: Array  # nodes on the u axis (Chebyshev x)


def _weighted_tail(coef: Array, wtau: Array) -> float:
    """The last-quarter size of the log series (A, B, ...) over the tau nodes that carry
    weight (absolute: an error in a log density is a relative error of the density)."""
    use = wtau >= 1e-12 * wtau.max()
    return _series_tail(coef[:, use].reshape(coef.shape[0], -1), relative=False)


def _mu_tau_quantiles(cols: _Columns, tau_prior: _b.TauPrior, probs: Array
                      ) -> tuple[Array, Array, _Mixture]:
    nb = cols.tau.size
    xb, wb, Cb = _b._fejer(nb)
    coef_tau = Cb @ cols.ftau
    tq = _b._tau_axis(0.5 * (_b._cheb_quantiles(coef_tau, probs, xb, wb * cols.ftau) + 1.0),
                      cols.scale, tau_prior)[0]
    mix = _Mixture.of(cols.wtau, cols.c, cols.h, cols.lp)
    return mix.quantiles(probs, mix.start(probs)), tq, mix


def fit(x: Array, n: Array, tau_prior: _b.TauPrior, mu_prior: _b.MuPrior, level: float,
        tol: float) -> _b.BayesFit:
    """The posterior (arguments checked by :func:`bayes.fit_binomial`)."""
    k = x.size
    st = _Studies.of(x, n)
    probs = _b._quantile_probs(level)
    y0 = np.log((x + 0.5) / (n - x + 0.5))
    v0 = 1.0 / (x + 0.5) + 1.0 / (n - x + 0.5)
    if k:
        pilot = _b.fit_normal(y0, v0, tau_prior=tau_prior, mu_prior=mu_prior, level=0.5,
                              tol=1e-4)
        scale = pilot.tau.high
        start = pilot.mu.median
    else:
        scale = tau_prior.median()
        start = mu_prior.mean
    if not (scale > 0 and math.isfinite(scale)):
        scale = tau_prior.median()
    leave_out = k >= 2 or (k == 1 and not mu_prior.flat)
    nb, na = 48, 24
    limit = max(10.0 * tol, 1e-9)
    cols = _columns(st, tau_prior, mu_prior, scale, nb, na, start, leave_out)
    while True:
        tau_tail = _b._tail(_b._fejer(nb)[2] @ cols.ftau)
        if tau_tail > limit:
            if nb >= 768:
                raise AnalysisError(f"the posterior could not be integrated to {tol:g} "
                                    f"(series tail {tau_tail:.2g} in tau)")
            nb *= 2
            cols = _columns(st, tau_prior, mu_prior, scale, nb, na, start, leave_out)
            continue
        mq, tq, mix = _mu_tau_quantiles(cols, tau_prior, probs)
        if _weighted_tail(_b._fejer(na)[2] @ cols.lp, cols.wtau) <= _LOG_TAIL:
            break
        # not resolved by its series: three times the points (the old ones among them) must
        # leave the quantiles within tol / 10
        if na >= 216:
            raise AnalysisError(f"the posterior could not be integrated to {tol:g} "
                                "(the conditional posterior of mu)")
        na *= 3
        cols = _columns(st, tau_prior, mu_prior, scale, nb, na, start, leave_out)
        mq3, tq3, mix3 = _mu_tau_quantiles(cols, tau_prior, probs)
        if np.max(np.abs(np.concatenate([mq3 - mq, tq3 - tq]))) <= 0.1 * tol:
            mq, tq, mix = mq3, tq3, mix3
            break
    coef_tau = _b._fejer(nb)[2] @ cols.ftau
    # theta_new and the leave-one-out predictive densities, given each tau
    funcs = cols.lp[..., None]
    if leave_out:
        funcs = np.concatenate([funcs, cols.lp[..., None] - cols.ll], axis=2)
    nt = min(na, 48)
    for _ in range(4):
        g, pc, ph = _convolved_logs(cols, funcs, na, nt)
        if _weighted_tail((_b._fejer(nt)[2] @ g.reshape(nt, -1)).reshape(g.shape),
                          cols.wtau) <= _LOG_TAIL \
                or nt >= 192:
            break
        nt *= 2
    pred = _Mixture.of(cols.wtau, pc, ph, g[:, :, 0])
    import os
    if os.environ.get("BDEBUG"):
        print("DEBUG na", na, "nb", nb, "nt", nt, "finite g", np.isfinite(g).all(), pred.start(probs))
    nq = pred.quantiles(probs, pred.start(probs))
    s = np.concatenate([mq, tq, nq])
    shrunk = _shrunk(st, cols, g, pc, ph, nt, probs, mu_prior)
    # the posterior as point masses (for the moments and the index probabilities)
    nm = 128
    xm, wm, _ = _b._fejer(nm)
    f = _fine(cols.lp, na, nm)
    p = np.exp(f - f.max(axis=0)) * wm[:, None]
    p = p / p.sum(axis=0)
    w2 = (p * cols.wtau[None, :]).ravel()
    m2 = (cols.c[None, :] + cols.h[None, :] * xm[:, None]).ravel()
    t2 = np.broadcast_to(cols.tau[None, :], (nm, nb)).ravel()
    mean = float(np.sum(w2 * m2))
    sd = math.sqrt(max(float(np.sum(w2 * (m2 - mean) ** 2)), 0.0))
    keep = w2 > 1e-16 * w2.max()
    tg, td = _tau_curve(cols, coef_tau, tau_prior, float(s[5]))
    mg = np.linspace(s[1] - 0.6 * (s[2] - s[1]), s[2] + 0.6 * (s[2] - s[1]), 201)
    md = mix.cdf_pdf(mg)[1]
    return _b.BayesFit(
        k=k, level=level, likelihood="binomial", tau_prior=tau_prior, mu_prior=mu_prior,
        mu=_b.Interval(*s[0:3]), mu_mean=mean, mu_sd=sd, tau=_b.Interval(*s[3:6]),
        predictive=_b.Interval(*s[6:9]), shrunk=shrunk, tau_grid=tg, tau_density=td,
        mu_grid=mg, mu_density=np.maximum(md, 0.0), nodes=int(na * nb),
        _w=w2[keep] / w2[keep].sum(), _m=m2[keep], _V=np.zeros(int(keep.sum())),
        _tau=t2[keep],
    )


def _tau_curve(cols: _Columns, coef_tau: Array, prior: _b.TauPrior, high: float,
               points: int = 201) -> tuple[Array, Array]:
    top = high * 1.6
    if prior.family == "uniform":
        top = min(top, prior.scale)
    grid = np.linspace(0.0, top, points)
    if prior.family == "uniform":
        u = grid / prior.scale
        dudt = np.full(points, 1.0 / prior.scale)
    else:
        u = grid / (cols.scale + grid)
        dudt = cols.scale / (cols.scale + grid) ** 2
    total = float(np.sum(_b._cheb_integral(coef_tau)))
    dens = _b._cheb_interp(cols.ftau, 2.0 * u - 1.0) * 2.0 * dudt / total
    return grid, np.maximum(dens, 0.0)


def _shrunk(st: _Studies, cols: _Columns, g: Array, pc: Array, ph: Array, nt: int,
            probs: Array, mu_prior: _b.MuPrior) -> tuple[_b.Interval, ...]:
    """theta_i's posterior: l_i(theta) times its leave-one-out predictive density (the mixture
    over tau of g[..., 1 + i]), on an interval where it falls by _DROP from its peak. One
    study under a flat mu prior: its likelihood alone (expit(theta) ~ Beta(x, n - x))."""
    from scipy.special import betaincinv, logit

    k = st.x.size
    if k == 0:
        return ()
    if k == 1 and mu_prior.flat:
        q = logit(betaincinv(st.x[0], st.n[0] - st.x[0], probs))
        return (_b.Interval(*q),)
    coef = _b._fejer(nt)[2] @ g[:, :, 1:].reshape(nt, -1)
    coef = coef.reshape((nt,) + g.shape[1:2] + (k,))  # (nt, B, k)
    keep = cols.wtau > 1e-16 * cols.wtau.max()
    coef, pc, ph, W = coef[:, keep], pc[keep], ph[keep], cols.wtau[keep]
    top = g[:, keep, 1:].max(axis=0)  # (B, k)

    def logdens(theta: Array) -> Array:
        """log posterior density of theta_i (unnormalised), theta (T, k)."""
        x = (theta[:, None, :] - pc[None, :, None]) / ph[None, :, None]  # (T, B, k)
        lv = _clenshaw(coef, x)
        v = np.where(np.abs(x) <= 1.0, np.exp(lv - top[None]), 0.0)
        mixv = np.einsum("tbk,b->tk", v, W)
        with np.errstate(divide="ignore"):
            return (np.log(mixv) + st.x * theta - st.n * _softplus(theta))

    lo = np.full(k, float(np.min(pc - ph)))
    hi = np.full(k, float(np.max(pc + ph)))
    nq = 64
    cols_k = np.arange(k)
    for _ in range(40):
        xq, wq, Cq = _b._fejer(nq)
        theta = 0.5 * (lo + hi)[None, :] + 0.5 * (hi - lo)[None, :] * xq[:, None]
        ld = logdens(theta)
        peak = ld.max(axis=0)
        # the points (in increasing theta) within _DROP of the peak, and one either side
        inside = (ld >= peak - _DROP)[::-1]  # _fejer's points decrease
        ts = theta[::-1]
        first = np.maximum(np.argmax(inside, axis=0) - 1, 0)
        last = np.minimum(nq - np.argmax(inside[::-1], axis=0), nq - 1)
        new_lo, new_hi = ts[first, cols_k], ts[last, cols_k]
        if np.any(new_hi - new_lo < 0.5 * (hi - lo)):
            lo, hi = new_lo, new_hi
            continue
        dens = np.exp(ld - peak)
        cf = Cq @ dens
        if _series_tail(cf, relative=True) > _SERIES_TAIL and nq < 512:
            nq *= 2
            continue
        return tuple(_b.Interval(*(0.5 * (lo[i] + hi[i]) + 0.5 * (hi[i] - lo[i])
                                   * _b._cheb_quantiles(cf[:, i], probs, xq, wq * dens[:, i])))
                     for i in range(k))
    raise AnalysisError("the posterior of a study's effect could not be integrated")
