"""The binomial-normal random-effects posterior behind :func:`metaview.engine.bayes.fit_binomial`.

Model: ``x_i ~ Bin(n_i, expit(theta_i))``, ``theta_i ~ N(mu, tau^2)``, priors on ``mu`` and
``tau`` as in :mod:`metaview.engine.bayes`. Each study's ``theta_i`` is integrated out:
``L_i(mu, tau) = int l_i(theta) N(theta | mu, tau^2) dtheta`` with
``l_i(theta) = exp(x_i theta - n_i log(1 + e^theta))``.

Layout of the integration:

- ``tau`` on the Chebyshev points of ``u`` in (0, 1), ``tau = c u / (1 - u)`` (``MAX u``
  under a uniform prior), ``c`` the upper quartile of tau in a normal-normal pilot fit on
  the corrected logits;
- at each ``tau`` node, ``mu`` given ``tau`` on its own interval, which reaches 36 (in log
  density) below the peak of that conditional posterior and of every leave-one-study-out
  version of it (found with Laplace approximations of the ``L_i``; a leave-one-out version
  that never falls off, the rest all at 0 events or all at n under a flat mu prior, is left
  out, and the interval reaches further below the whole set's peak). These log densities are
  concave and smooth; each is represented by its interpolating polynomial at Chebyshev
  points of ``x`` in [-1, 1] with ``mu = m + beta sinh(alpha (x - x0))`` (:class:`_Map`:
  points concentrated at the mode where the interval is long against the sd, a straight
  line otherwise), so that every later integral over ``mu`` (distribution functions,
  convolutions) costs polynomial evaluations, not likelihoods;
- the predictive ``theta_new``: given ``tau``, the conditional posterior of ``mu`` convolved
  with ``N(0, tau^2)`` (by quadrature over ``mu`` where ``tau`` is wide against it, by
  Gauss-Hermite over the kernel where narrow), again log-concave and held by its log
  polynomial on the predictive interval; the same for each leave-one-out set;
- each study's shrunken ``theta_i``: given ``tau``, ``l_i(theta)`` times its leave-one-out
  predictive density, a log-concave density held on the part of the predictive interval
  where it is within 36 of its peak; its posterior is the mixture of these over ``tau``.

``L_i`` itself is computed by Gauss-Hermite quadrature centred at the mode of the integrand
and scaled by its curvature (12 to 32 points, fewer the more events and non-events the
study has). For a study with fewer than 3 events or non-events, where the integrand is a
normal density cut off by the likelihood's edge when ``tau`` is wide, by Gauss-Legendre
rules on either side of the mode out to where the log integrand has fallen by 40, on
points spaced geometrically from the mode; for one with no events (or only events), wide
``tau`` and the normal density centred left of the edge, as ``E Phi((Y - mu) / tau)`` with
``expit(Y) ~ Beta(1, n)`` by a Gauss rule of ``Y`` (:func:`_edge_rule`).

Every log-density series is checked a posteriori where it weighs (how far its last quarter
moves the density, relative to its peak) and its points are doubled where that check
fails; the tau density's series as in the normal-normal model.
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
_LOO_EXTRA = 8.0  # beside a leave-one-out set that does not fall off, the whole set's
#                   interval reaches this much further down
_SERIES_TAIL = 1e-9  # accepted last quarter of a density series (relative)
_NARROW = 1.0  # tau below this many conditional sds of mu counts as narrow
_PRED_DROP = 32.0  # narrow kernels: the predictive interval reaches this far below the peak
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


def _mode(X: Array, N: Array, M: Array, T2: Array, start: Array | None = None,
          rtol: float = 1e-13) -> Array:
    """Mode of ``X t - N softplus(t) - (t - M)^2 / (2 T2)`` (elementwise): the root of the
    decreasing score by :func:`bayes._bracketed_newton`, within the bracket
    ``[M + T2 (X - N), M + T2 X]``."""
    from scipy.special import expit

    shape = np.broadcast_shapes(X.shape, N.shape, M.shape, T2.shape)
    X, N, M, T2 = (np.broadcast_to(a, shape).ravel() for a in (X, N, M, T2))
    lo = M + T2 * (X - N)
    hi = M + T2 * X
    if start is None:
        y0 = np.log((X + 0.5) / (N - X + 0.5))
        v0 = 1.0 / (X + 0.5) + 1.0 / (N - X + 0.5)
        start = (y0 * T2 + M * v0) / (T2 + v0)
    else:
        start = np.broadcast_to(start, shape).ravel()
    t0 = np.clip(start, lo, hi)

    def minus_score(t: Array, rows: Array) -> tuple[Array, Array, None]:
        p = expit(t)
        return (t - M[rows]) / T2[rows] + N[rows] * p - X[rows], \
            N[rows] * p * (1.0 - p) + 1.0 / T2[rows], None

    return _b._bracketed_newton(minus_score, t0, lo, hi, atol=rtol, rtol=rtol,
                                max_iter=100).reshape(shape)


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
    """The log integrand ``X t - N softplus(t) - (t - M)^2 / (2 T2)``; -inf where ``t`` is
    so far from ``M`` that the square overflows (the integrand is nothing there)."""
    with np.errstate(over="ignore"):
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

    def laplace(self, mu: Array, tau: Array, start: Array | None = None
                ) -> tuple[Array, Array, Array, Array]:
        """Per (node, study), by the Laplace approximation of the integral over theta:
        d log L / d mu, d^2 log L / d mu^2 and log L, and the integrand's mode."""
        from scipy.special import expit

        M = mu[..., None] + np.zeros(self.x.shape)
        T2 = (tau * tau)[..., None] + np.zeros(self.x.shape)
        X = np.broadcast_to(self.x, T2.shape)
        N = np.broadcast_to(self.n, T2.shape)
        t = _mode(X, N, M, T2, start, rtol=1e-10)
        p = expit(t)
        info = N * p * (1.0 - p)
        logl = _psi(X, N, t, M, T2) - 0.5 * np.log1p(T2 * info)
        return X - N * p, -info / (1.0 + T2 * info), logl, t


# ------------------------------------------------------------------ Chebyshev helpers


@lru_cache(maxsize=32)
def _interp_matrix(n_from: int, n_to: int) -> Array:
    """Values at the ``n_to`` Chebyshev points of the polynomial through values at the
    ``n_from`` points (both first kind, :func:`bayes._fejer` order)."""
    return _b._cheb_interp(np.eye(n_from), _b._fejer(n_to)[0])


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


# ------------------------------------------------------------------ the columns (tau nodes)


@dataclass(frozen=True)
class _Map:
    """Per column (leading axis), ``mu = m + beta sinh(alpha (x - x0))`` for x in [-1, 1]:
    points concentrated near the mode ``m`` when the interval is long against the
    conditional sd (a straight line, alpha near 0, otherwise)."""

    m: Array
    beta: Array
    alpha: Array
    x0: Array

    @classmethod
    def linear(cls, c: Array, h: Array) -> _Map:
        alpha = np.full(np.shape(c), 1e-6)
        return cls(np.asarray(c, dtype=float), h / alpha, alpha, np.zeros(np.shape(c)))

    @classmethod
    def of(cls, lo: Array, hi: Array, mode: Array, sd: Array) -> _Map:
        """The map of [-1, 1] onto [lo, hi] whose slope at the mode is that of the straight
        map of a normal density's interval (9.4 sd wide either side), where the interval is
        longer."""
        scale = 9.4 * sd
        rp = (hi - mode) / scale
        rm = (mode - lo) / scale
        long = (rp > 0) & (rm > 0) & (rp + rm > 2.2)
        # (asinh(a rp) + asinh(a rm)) / a = 2 decreases in a: bisection
        a_lo = np.full(lo.shape, 1e-9)
        a_hi = np.full(lo.shape, 50.0)
        for _ in range(60):
            mid = 0.5 * (a_lo + a_hi)
            over = (np.arcsinh(mid * rp) + np.arcsinh(mid * rm)) / mid > 2.0
            a_lo = np.where(over, mid, a_lo)
            a_hi = np.where(over, a_hi, mid)
        alpha = 0.5 * (a_lo + a_hi)
        x0 = (np.arcsinh(alpha * rm) - np.arcsinh(alpha * rp)) / (2.0 * alpha)
        lin = cls.linear(0.5 * (lo + hi), 0.5 * (hi - lo))
        return cls(np.where(long, mode, lin.m), np.where(long, scale / alpha, lin.beta),
                   np.where(long, alpha, lin.alpha), np.where(long, x0, lin.x0))

    def mu(self, x: Array) -> Array:
        """mu at x (broadcast against the arrays: their axes are the last of x's)."""
        out: Array = self.m + self.beta * np.sinh(self.alpha * (x - self.x0))
        return out

    def dmu(self, x: Array) -> Array:
        out: Array = self.beta * self.alpha * np.cosh(self.alpha * (x - self.x0))
        return out

    def x(self, mu: Array) -> Array:
        out: Array = self.x0 + np.arcsinh((mu - self.m) / self.beta) / self.alpha
        return out

    def take(self, sel: np.ndarray) -> _Map:
        return _Map(self.m[sel], self.beta[sel], self.alpha[sel], self.x0[sel])


@dataclass
class _Columns:
    """At each tau node: the interval of mu, the log densities at its Chebyshev points."""

    tau: Array  # (B,)
    wtau: Array  # (B,) normalised posterior weights of the tau nodes (quadrature included)
    ftau: Array  # (B,) tau density at the nodes (u axis), unnormalised
    c: Array  # (B,) centres of the mu intervals
    h: Array  # (B,) half-widths
    s: Array  # (B,) conditional sd of mu (Laplace)
    m: Array  # (B,) conditional mode of mu (Laplace)
    map: _Map  # the points of mu on each interval
    lp: Array  # (A, B) log conditional density of mu at the points (unnormalised)
    ll: Array  # (A, B, k) log L_i at the points
    logz: Array  # (B,) log of int exp(lp) dmu
    scale: float  # tau = scale u / (1 - u) (or scale u, uniform)


def _log_prior_mu(mu: Array, mu_prior: _b.MuPrior) -> Array:
    if mu_prior.flat:
        return np.zeros(mu.shape)
    out: Array = -0.5 * ((mu - mu_prior.mean) / mu_prior.sd) ** 2
    return out


def _group_mask(k: int, leave_out: bool) -> Array:
    """``mask[g, i]``: study i enters group g (group 0: all studies; with ``leave_out``,
    group 1 + i: all but study i)."""
    mask = np.ones((1 + (k if leave_out else 0), k))
    if leave_out:
        mask[1:] -= np.eye(k)
    return mask


def _conditional_modes(st: _Studies, tau: Array, mu_prior: _b.MuPrior, start: Array,
                       mask: Array, improper: Array) -> tuple[Array, Array]:
    """Laplace modes and sds of mu given each tau (B,) for each group of ``mask`` (B, G):
    Newton steps on the Laplace score. A group whose density does not fall off
    (``improper``) has no mode: it is left at the start (and out of :func:`_intervals`)."""
    mu = np.repeat(start[:, None], mask.shape[0], axis=1)  # (B, G)
    prior_prec = 0.0 if mu_prior.flat else 1.0 / mu_prior.sd**2
    taus = np.broadcast_to(tau[:, None], mu.shape)
    t = None
    for _ in range(60):
        g1, g2, _l, t = st.laplace(mu, taus, t)
        grad = np.einsum("bgi,gi->bg", g1, mask)
        hess = np.minimum(np.einsum("bgi,gi->bg", g2, mask) - prior_prec, -1e-12)
        if not mu_prior.flat:
            grad = grad - (mu - mu_prior.mean) * prior_prec
        sd = np.sqrt(-1.0 / hess)
        step = np.where(improper[None, :], 0.0, np.clip(-grad / hess, -5.0 * sd, 5.0 * sd))
        mu = mu + step
        if np.all(np.abs(step) <= 1e-6 * sd):
            break
    return mu, sd


def _improper_groups(st: _Studies, groups: Array, mu_prior: _b.MuPrior) -> Array:
    """Which groups (rows of ``groups``) have a conditional posterior of mu that does not
    fall off on one side: under a flat mu prior, studies all at 0 events (or all at n)."""
    if not mu_prior.flat:
        return np.zeros(groups.shape[0], dtype=bool)
    member = groups > 0
    none = np.all(~member | (st.x == 0.0), axis=1)
    every = np.all(~member | (st.x == st.n), axis=1)
    out: Array = none | every
    return out


def _intervals(st: _Studies, tau: Array, mu_prior: _b.MuPrior, modes: Array, sds: Array,
               groups: Array, improper: Array) -> tuple[Array, Array]:
    """Per tau node, an interval of mu on which the log density of every group (all studies,
    and the leave-one-out sets in ``groups``) falls by at least _DROP from its value at its
    mode on both sides (the log densities are concave), judged by the Laplace approximation
    of the likelihoods with a margin of 4.

    A leave-one-out set's predictive density is weighed by the left-out study's likelihood,
    so what it needs is where the whole set is not negligible: its interval ends where the
    whole set has fallen by _LOO_EXTRA more (a set with few events can fall off slowly). A
    set whose density does not fall off at all (:func:`_improper_groups`) is left out, and
    the whole set's interval then reaches that far."""
    base, far = _DROP + 4.0, _DROP + 4.0 + _LOO_EXTRA
    keep = np.logical_not(improper)
    keep[0] = True  # the whole set is proper (checked before)
    groups, modes, sds = groups[keep], modes[:, keep], sds[:, keep]
    need = np.full((1, groups.shape[0]), base)
    if improper.any():
        need[0, 0] = far
    taus = np.broadcast_to(tau[:, None], modes.shape)
    peak = (np.einsum("bgi,gi->bg", st.laplace(modes, taus)[2], groups)
            + _log_prior_mu(modes, mu_prior))
    width = np.sqrt(2.0 * need)
    lo = (modes - width * sds).min(axis=1)
    hi = (modes + width * sds).max(axis=1)
    for _ in range(30):
        ends = np.stack([lo, hi], axis=1)  # (B, 2)
        le = st.laplace(ends, np.broadcast_to(tau[:, None], ends.shape))[2]  # (B, 2, k)
        val = np.einsum("bei,gi->bge", le, groups) + _log_prior_mu(ends, mu_prior)[:, None, :]
        drop = peak[:, :, None] - val  # (B, G, 2)
        short = drop < need[:, :, None]
        # nor one that falls off slowly (few events): not where the whole set is that low
        short[:, 1:, :] &= drop[:, :1, :] < far
        if not short.any():
            return lo, hi
        # the drop is convex in the distance from the mode: stretching the distance by a
        # factor a at least multiplies it by a
        dist_lo = modes - lo[:, None]
        dist_hi = hi[:, None] - modes
        grow = np.where(drop > 0.5, 1.1 * need[:, :, None] / np.maximum(drop, 0.5), 2.0)
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
    groups = _group_mask(k, leave_out)
    improper = _improper_groups(st, groups, mu_prior)
    modes, sds = _conditional_modes(st, tau, mu_prior, np.full(nb, start), groups, improper)
    peak = (st.laplace(modes[:, 0], tau)[2].sum(axis=-1)
            + _log_prior_mu(modes[:, 0], mu_prior))
    # the Laplace approximation of each tau node's weight: nodes below e^-60 of the largest
    # carry nothing (their integrals are not computed)
    with np.errstate(divide="ignore"):
        approx = peak + np.log(sds[:, 0]) + tau_prior.logpdf(tau) + np.log(jac * wb)
    live = np.isfinite(approx) & (approx >= np.max(approx[np.isfinite(approx)]) - 60.0)
    lo, hi = _intervals(st, tau[live], mu_prior, modes[live], sds[live], groups, improper)
    c = modes[:, 0].copy()
    h = math.sqrt(2.0 * _DROP) * sds[:, 0]
    c[live] = 0.5 * (lo + hi)
    h[live] = 0.5 * (hi - lo)
    cmap = _Map.of(c - h, c + h, np.clip(modes[:, 0], c - h, c + h), sds[:, 0])
    xa = _b._fejer(na)[0]
    lp = np.broadcast_to(-_DROP * xa[:, None] ** 2, (na, nb)).copy()
    ll = np.zeros((na, nb, k))
    mu = cmap.take(live).mu(xa[:, None])  # (A, live)
    ll[:, live] = st.loglik(mu, np.broadcast_to(tau[None, live], mu.shape))
    lp[:, live] = ll[:, live].sum(axis=-1) + _log_prior_mu(mu, mu_prior)
    logz = _log_integral(lp, cmap)
    lf = np.where(live, logz + tau_prior.logpdf(tau) + np.log(jac), -np.inf)
    ftau = np.exp(lf - lf.max())
    w = wb * ftau
    return _Columns(tau, w / w.sum(), ftau, c, h, sds[:, 0], modes[:, 0].copy(), cmap, lp, ll,
                    logz, scale)


def _fine(values: Array, na: int, nm: int) -> Array:
    """Log values at the ``nm`` Chebyshev points from those at the ``na`` points (first axis)."""
    shape = values.shape
    out: Array = (_interp_matrix(na, nm) @ np.ascontiguousarray(values.reshape(na, -1))
                  ).reshape((nm,) + shape[1:])
    return out


def _log_integral(lp: Array, cmap: _Map, nm: int = 128) -> Array:
    """log int exp(polynomial through lp) dmu over each column's interval (lp (A, B))."""
    f = _fine(lp, lp.shape[0], nm)
    top = f.max(axis=0)
    xm, w, _ = _b._fejer(nm)
    out: Array = np.log(np.einsum("m,mb->b", w, np.exp(f - top) * cmap.dmu(xm[:, None]))) + top
    return out


# ------------------------------------------------------------------ mixtures of columns


@dataclass
class _Mixture:
    """K distributions sum_b W_b p_bj (j < K), each p_bj a density on an interval given by
    its Chebyshev series in the variable x of a :class:`_Map` (arrays (B, K)) of it."""

    W: Array  # (B,)
    map: _Map  # arrays (B, K)
    coef: Array  # (M, B, K) series of each density in x (integrates to 1 over x)
    icoef: Array  # (M + 1, B, K) integrated series (0 at x = -1, 1 at x = 1)
    mean: Array  # (B, K) each density's mean and sd
    sd: Array

    @classmethod
    def of(cls, W: Array, cmap: _Map, logvals: Array, tail: float = _SERIES_TAIL) -> _Mixture:
        """From log densities (in mu) at the ``na`` Chebyshev points of each interval, (na, B)
        or (na, B, K), ``cmap`` arrays (B,) or (B, K); the tau nodes of negligible weight
        are left out."""
        if logvals.ndim == 2:
            logvals = logvals[..., None]
        na, _, K = logvals.shape
        shape = (logvals.shape[1], K)
        cmap = _Map(*(np.broadcast_to(np.reshape(v, (shape[0], -1)), shape)
                      for v in (cmap.m, cmap.beta, cmap.alpha, cmap.x0)))
        use = _b._weighty(W)
        W, cmap, logvals = W[use] / W[use].sum(), cmap.take(use), logvals[:, use]
        # densities in x: the jacobian in
        logvals = logvals + np.log(cmap.dmu(_b._fejer(na)[0][:, None, None]))
        nm = 128
        for _ in range(3):
            f = _fine(logvals, na, nm)
            p = np.exp(f - f.max(axis=0))
            coef = (_b._fejer(nm)[2] @ p.reshape(nm, -1)).reshape(p.shape)
            if _b._tail(coef) <= tail or nm >= 512:
                break
            nm *= 2
        icoef = _b._cheb_integral(coef)
        total = icoef.sum(axis=0)
        # the terms that matter
        big = np.abs(icoef).max(axis=(1, 2)) > 1e-17 * np.abs(icoef).max()
        m = int(np.nonzero(big)[0].max()) + 2
        # each density's mean and sd (for the starting points)
        xm, wm, _ = _b._fejer(nm)
        pw = p * wm[:, None, None]
        mass = pw.sum(axis=0)
        mu = cmap.mu(xm[:, None, None])
        mean = np.einsum("mbk,mbk->bk", mu, pw) / mass
        var = np.maximum(np.einsum("mbk,mbk->bk", (mu - mean) ** 2, pw) / mass, 1e-300)
        return cls(W, cmap, coef[:m - 1] / total, icoef[:m] / total, mean, np.sqrt(var))

    def cdf_pdf(self, t: Array, which: Array) -> tuple[Array, Array]:
        """Distribution function and density of mixture ``which[r]`` at ``t[r]``."""
        one = self.icoef.shape[2] == 1
        sel = slice(0, 1) if one else which
        cmap = _Map(self.map.m[:, sel], self.map.beta[:, sel], self.map.alpha[:, sel],
                    self.map.x0[:, sel])
        x = cmap.x(t[None, :])  # (B, R)
        ic = self.icoef if one else self.icoef[:, :, which]
        co = self.coef if one else self.coef[:, :, which]
        F = np.where(x >= 1.0, 1.0, np.where(x <= -1.0, 0.0, _clenshaw(ic, x)))
        f = np.where(np.abs(x) < 1.0, _clenshaw(co, x) / cmap.dmu(x), 0.0)
        return self.W @ F, self.W @ f

    def quantiles(self, probs: Array, start: Array, tol: float = 1e-12) -> Array:
        """(K, Q) quantiles from starting points (K, Q), to ``tol`` (relative, and absolute
        near 0)."""
        K, Q = start.shape
        lo = float(np.min(self.map.mu(np.full(self.map.m.shape, -1.0))))
        hi = float(np.max(self.map.mu(np.full(self.map.m.shape, 1.0))))
        pr = np.tile(probs, K)

        def fun(xa: Array, rows: Array) -> tuple[Array, Array, None]:
            F, f = self.cdf_pdf(xa, rows // Q)
            return F - pr[rows], f, None

        x = _b._bracketed_newton(fun, np.clip(start, lo, hi).ravel(), np.full(K * Q, lo),
                                 np.full(K * Q, hi), atol=tol, rtol=tol)
        return x.reshape(K, Q)

    def start(self, probs: Array) -> Array:
        """Starting points (K, Q): the quantiles of the mixtures of normal densities with the
        densities' means and sds."""
        return _b._mixture_quantiles(self.W, self.mean.T, self.sd.T, probs)


# ------------------------------------------------------------------ convolutions


def _ends(coef: Array, dleft: Array, dright: Array) -> tuple[Array, Array, Array, Array]:
    """Values and slopes (per unit of mu) at both ends of the series ``coef`` (A, B, ...),
    ``dleft``, ``dright`` (B,) the derivatives of mu in x there."""
    m = np.arange(coef.shape[0]).reshape((-1,) + (1,) * (coef.ndim - 1))
    sign = (-1.0) ** m
    dl = dleft.reshape(dleft.shape + (1,) * (coef.ndim - 2))
    dr = dright.reshape(dright.shape + (1,) * (coef.ndim - 2))
    right = coef.sum(axis=0)
    left = (sign * coef).sum(axis=0)
    d_right = (m * m * coef).sum(axis=0) / dr
    d_left = (-sign * m * m * coef).sum(axis=0) / dl
    # the log densities are concave and have fallen off at both ends
    return left, np.maximum(d_left, 1e-3 / dl), right, np.minimum(d_right, -1e-3 / dr)


def _convolved_logs(cols: _Columns, funcs: Array, na: int, nt: int) -> tuple[Array, _Map]:
    """For each tau node and each function (log densities of mu at the interval's points,
    (A, B, F)), the log of the density convolved with N(0, tau_b^2), at the ``nt`` Chebyshev
    points of the map of the predictive interval: (nt, B, F), and that map. Beyond its
    interval each log density is continued by its tangent (it has fallen by _DROP there, and
    is concave)."""
    from scipy.special import log_ndtr

    B = cols.tau.size
    tau = cols.tau
    live = cols.wtau > 0
    narrow = (tau < _NARROW * cols.s) & live
    wide = ~narrow & live
    pc = cols.c.copy()
    ph = cols.h + 8.5 * (np.sqrt(cols.s**2 + tau**2) - cols.s)
    if narrow.any():
        # a narrow kernel hardly widens the density: its predictive interval is the part of
        # the interval where some function is within _PRED_DROP of its peak (the continuation
        # beyond the interval then weighs nothing there)
        xf = _b._fejer(256)[0]
        f = _fine(funcs[:, narrow], na, 256)  # (256, Bn, F)
        near = (f >= f.max(axis=0) - _PRED_DROP).any(axis=2)  # (256, Bn)
        lo_x = np.where(near, xf[:, None], np.inf).min(axis=0)
        hi_x = np.where(near, xf[:, None], -np.inf).max(axis=0)
        lo_x = np.maximum(lo_x - 0.02, -1.0)
        hi_x = np.minimum(hi_x + 0.02, 1.0)
        nmap = cols.map.take(narrow)
        lo_mu, hi_mu = nmap.mu(lo_x), nmap.mu(hi_x)
        pc[narrow] = 0.5 * (lo_mu + hi_mu)
        ph[narrow] = 0.5 * (hi_mu - lo_mu)
    # the points of theta: concentrated near the mode where the interval is long
    psd = np.where(narrow, cols.s, np.sqrt(cols.s**2 + tau**2))
    pmap = _Map.of(pc - ph, pc + ph, np.clip(cols.m, pc - ph, pc + ph), psd)
    theta = pmap.mu(_b._fejer(nt)[0][:, None])  # (nt, B)
    out = np.empty((nt, B, funcs.shape[2]))
    coef = np.einsum("ma,abf->mbf", _b._fejer(na)[2], funcs)  # (A, B, F)
    lv, ls, rv, rs = _ends(coef, cols.map.dmu(np.full(B, -1.0)),
                           cols.map.dmu(np.full(B, 1.0)))  # (B, F) each
    top = funcs.max(axis=0)  # (B, F): the logs are shifted back at the end
    out[:, ~live] = (-_DROP * _b._fejer(nt)[0] ** 2)[:, None, None]
    # wide kernels: quadrature over the interval, with enough points for each kernel (a
    # normal density of width tau spans tau / (dmu / dx) of x), columns grouped by points
    # largest dmu / dx where some function is within _DROP of its peak
    xf = _b._fejer(128)[0]
    ff = _fine(funcs, na, 128)
    near = (ff >= ff.max(axis=0) - _DROP).any(axis=2)  # (128, B)
    slope = np.where(near, cols.map.dmu(xf[:, None]), 0.0).max(axis=0)
    need = np.where(wide, 16.0 * slope / np.where(wide, tau, 1.0), 0.0)
    sizes = 2 ** np.clip(np.ceil(np.log2(np.maximum(need, 1.0))), 7, 12).astype(int)
    for nm in np.unique(sizes[wide]):
        sel = wide & (sizes == nm)
        xm, wm, _ = _b._fejer(int(nm))
        f = _fine(funcs[:, sel], na, int(nm))  # (M, Bs, F)
        vals = np.exp(f - top[sel][None]).transpose(1, 0, 2)  # (Bs, M, F)
        smap = cols.map.take(sel)
        mu = smap.mu(xm[:, None]).T  # (Bs, M)
        tw = tau[sel]
        th = theta[:, sel].T  # (Bs, nt)
        z = (th[:, :, None] - mu[:, None, :]) / tw[:, None, None]  # (Bs, nt, M)
        kern = np.exp(-0.5 * z * z) * (wm[:, None] * smap.dmu(xm[:, None]) / tw).T[:, None, :]
        conv = np.matmul(kern, vals).transpose(1, 0, 2) / math.sqrt(2.0 * math.pi)
        # the tangent tails beyond both ends, in closed form
        eR = (cols.c + cols.h)[sel][None, :, None]
        eL = (cols.c - cols.h)[sel][None, :, None]
        T3 = tw[None, :, None]
        a, b_ = rs[sel][None], ls[sel][None]
        t3 = theta[:, sel][:, :, None]
        right = (rv[sel][None] - top[sel][None] + a * (t3 - eR) + 0.5 * (a * T3) ** 2
                 + log_ndtr((t3 - eR) / T3 + a * T3))
        left = (lv[sel][None] - top[sel][None] + b_ * (t3 - eL) + 0.5 * (b_ * T3) ** 2
                + log_ndtr((eL - t3) / T3 - b_ * T3))
        # (far out the density may fall below the floating-point range: a floor far below
        # anything that weighs)
        out[:, sel] = np.log(np.maximum(conv + np.exp(right) + np.exp(left), 1e-300))
    # narrow kernels: Gauss-Hermite over the kernel, the log density from its series (the
    # points fewer, the narrower the kernel against the density)
    ratio = np.where(narrow, tau / cols.s, 0.0)
    zs = np.where(ratio < 0.1, 6, np.where(ratio < 0.3, 10, np.where(ratio < 0.6, 16, 24)))
    for nz in np.unique(zs[narrow]):
        sel = narrow & (zs == nz)
        z, wz = np.polynomial.hermite.hermgauss(int(nz))
        tn = tau[sel]
        cn, hn = cols.c[sel], cols.h[sel]
        smap = cols.map.take(sel)
        pts = theta[:, sel].T[:, :, None] - (_SQRT2 * tn)[:, None, None] * z  # (Bs, nt, Z)
        pts = pts.reshape(sel.sum(), -1)  # (Bs, P)
        x = smap.x(pts.T).T
        T = _b._cheb_T(x, na)  # (Bs, P, A)
        logv = np.matmul(T, coef[:, sel].transpose(1, 0, 2))  # (Bs, P, F)
        x3, p3 = x[..., None], pts[..., None]
        eR, eL = (cn + hn)[:, None, None], (cn - hn)[:, None, None]
        logv = np.where(x3 > 1.0, rv[sel][:, None] + rs[sel][:, None] * (p3 - eR),
                        np.where(x3 < -1.0, lv[sel][:, None] + ls[sel][:, None] * (p3 - eL),
                                 logv))
        vals = np.exp(logv - top[sel][:, None]).reshape(sel.sum(), nt, int(nz), -1)
        conv = np.einsum("btzf,z->tbf", vals, wz) / math.sqrt(math.pi)
        out[:, sel] = np.log(np.maximum(conv, 1e-300))
    return out + top[None], pmap


# ------------------------------------------------------------------ the fit



@lru_cache(maxsize=16)
def _tail_matrices(n: int, fine: int = 96) -> tuple[Array, Array]:
    """At ``fine`` Chebyshev points: the series of ``n`` terms, and its last quarter."""
    T = _b._cheb_T(_b._fejer(fine)[0], n)
    T_tail = T.copy()
    T_tail[:, : n - max(n // 4, 1)] = 0.0
    return T, T_tail


def _weighted_tail(coef: Array, wtau: Array, extra: Array | None = None) -> float:
    """How far the last quarter of a log-density series (terms, B, ...) moves the density,
    relative to its peak, over the tau nodes that carry weight: where the density is far
    below its peak a poor logarithm is harmless. ``extra`` (96, B, ...): log factors the
    density is to be weighed by, at the points of :func:`_tail_matrices`."""
    use = wtau >= 1e-12 * wtau.max()
    n = coef.shape[0]
    c = np.ascontiguousarray(coef[:, use].reshape(n, -1))
    T, T_tail = _tail_matrices(n)
    logv = T @ c
    if extra is not None:
        logv = logv + extra[:, use].reshape(logv.shape)
    err = np.abs(T_tail @ c) * np.exp(logv - logv.max(axis=0))
    return float(err.max()) if err.size else 0.0


def _mu_tau_quantiles(cols: _Columns, tau_prior: _b.TauPrior, probs: Array
                      ) -> tuple[Array, Array]:
    nb = cols.tau.size
    xb, wb, Cb = _b._fejer(nb)
    coef_tau = Cb @ cols.ftau
    tq = _b._tau_axis(0.5 * (_b._cheb_quantiles(coef_tau, probs, xb, wb * cols.ftau) + 1.0),
                      cols.scale, tau_prior)[0]
    mix = _Mixture.of(cols.wtau, cols.map, cols.lp)
    return mix.quantiles(probs, mix.start(probs))[0], tq


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
    # the series of the tau density overstates the error of the integrals: with its last
    # quarter at 100 tol the quantiles of the reference cases are within 1e-2 tol
    limit = max(100.0 * tol, 1e-9)
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
        mq, tq = _mu_tau_quantiles(cols, tau_prior, probs)
        # the conditional densities of mu resolved by their series (an error of 0.1 tol in
        # their logarithms where they weigh), or twice the points leaving the quantiles
        # within tol (the finer rule is then far closer)
        if _weighted_tail(_b._fejer(na)[2] @ cols.lp, cols.wtau) <= 0.1 * tol:
            break
        if na >= 768:
            raise AnalysisError(f"the posterior could not be integrated to {tol:g} "
                                "(the conditional posterior of mu)")
        na *= 2
        cols = _columns(st, tau_prior, mu_prior, scale, nb, na, start, leave_out)
        mq2, tq2 = _mu_tau_quantiles(cols, tau_prior, probs)
        if np.max(np.abs(np.concatenate([mq2 - mq, tq2 - tq]))) <= tol:
            mq, tq = mq2, tq2
            break
    coef_tau = _b._fejer(nb)[2] @ cols.ftau
    # theta_new and the leave-one-out predictive densities, given each tau
    funcs = cols.lp[..., None]
    if leave_out:
        funcs = np.concatenate([funcs, cols.lp[..., None] - cols.ll], axis=2)
    nt = 36
    for _ in range(4):
        g, pmap = _convolved_logs(cols, funcs, na, nt)
        # the leave-one-out densities matter where the study's likelihood puts them
        th = pmap.mu(_b._fejer(96)[0][:, None])[..., None]  # (96, B, 1)
        extra = np.concatenate([np.zeros(th.shape),
                                np.broadcast_to(st.x * th - st.n * _softplus(th),
                                                th.shape[:2] + (k,))], axis=2)[..., :g.shape[2]]
        if _weighted_tail((_b._fejer(nt)[2] @ g.reshape(nt, -1)).reshape(g.shape), cols.wtau,
                          extra) <= 0.1 * tol or nt >= 192:
            break
        nt *= 2
    pred = _Mixture.of(cols.wtau, pmap, g[:, :, 0])
    nq = pred.quantiles(probs, pred.start(probs))[0]
    s = np.concatenate([mq, tq, nq])
    shrunk = _shrunk(st, cols, g, pmap, probs, mu_prior)
    # the posterior as point masses (for the moments and the index probabilities)
    nm = 128
    xm, wm, _ = _b._fejer(nm)
    f = _fine(cols.lp, na, nm)
    p = np.exp(f - f.max(axis=0)) * wm[:, None] * cols.map.dmu(xm[:, None])
    p = p / p.sum(axis=0)
    w2 = (p * cols.wtau[None, :]).ravel()
    m2 = cols.map.mu(xm[:, None]).ravel()
    t2 = np.broadcast_to(cols.tau[None, :], (nm, nb)).ravel()
    mean = float(np.sum(w2 * m2))
    sd = math.sqrt(max(float(np.sum(w2 * (m2 - mean) ** 2)), 0.0))
    keep = w2 > 1e-16 * w2.max()
    tg, td = _b.tau_curve(cols.ftau, coef_tau, cols.scale, float(s[5]), tau_prior)
    mg = np.linspace(s[1] - 0.6 * (s[2] - s[1]), s[2] + 0.6 * (s[2] - s[1]), 201)
    md = _mu_density(cols, mg)
    return _b.BayesFit(
        k=k, level=level, likelihood="binomial", tau_prior=tau_prior, mu_prior=mu_prior,
        mu=_b.Interval(*s[0:3]), mu_mean=mean, mu_sd=sd, tau=_b.Interval(*s[3:6]),
        predictive=_b.Interval(*s[6:9]), shrunk=shrunk, tau_grid=tg, tau_density=td,
        mu_grid=mg, mu_density=np.maximum(md, 0.0), nodes=int(na * nb),
        _w=w2[keep] / w2[keep].sum(), _m=m2[keep], _V=np.zeros(int(keep.sum())),
        _tau=t2[keep],
    )


def _mu_density(cols: _Columns, mu: Array) -> Array:
    """The marginal density of mu at ``mu``: the mixture over tau of the conditional
    densities, from their log series."""
    na = cols.lp.shape[0]
    use = _b._weighty(cols.wtau)
    coef = np.ascontiguousarray((_b._fejer(na)[2] @ cols.lp)[:, use])
    x = cols.map.take(use).x(mu[None, :].T).T  # (B, P)
    vals = np.where(np.abs(x) <= 1.0,
                    np.exp(_clenshaw(coef[:, :, None], x) - cols.logz[use][:, None]), 0.0)
    out: Array = (cols.wtau[use] / cols.wtau[use].sum()) @ vals
    return out


def _shrunk(st: _Studies, cols: _Columns, g: Array, pmap: _Map, probs: Array,
            mu_prior: _b.MuPrior) -> tuple[_b.Interval, ...]:
    """theta_i's posterior: given tau_b, l_i(theta) times its leave-one-out predictive density
    (log values g[..., 1 + i] at the points of the predictive map ``pmap``), a log-concave
    density, on the part of the predictive interval where it is within _DROP of its peak;
    then the mixture over tau. One study under a flat mu prior: its likelihood alone
    (expit(theta) ~ Beta(x, n - x))."""
    from scipy.special import betaincinv, logit

    k = st.x.size
    if k == 0:
        return ()
    if k == 1 and mu_prior.flat:
        q = logit(betaincinv(st.x[0], st.n[0] - st.x[0], probs))
        return (_b.Interval(*q),)
    nt = g.shape[0]
    use = _b._weighty(cols.wtau)
    W, pm = cols.wtau[use], pmap.take(use)
    coef = (_b._fejer(nt)[2] @ g[:, use, 1:].reshape(nt, -1)).reshape((nt,) + (use.sum(), k))
    big = np.abs(coef).max(axis=(1, 2)) > 1e-13
    coef = np.ascontiguousarray(coef[: int(np.nonzero(big)[0].max()) + 1])
    pcols = _Map(*(v[:, None] for v in (pm.m, pm.beta, pm.alpha, pm.x0)))

    def logv(x: Array, smap: _Map) -> Array:
        """log l_i(theta) + log leave-one-out predictive at theta = smap(x) (x (P, 1, 1))."""
        th = smap.mu(x)  # (P, B, k)
        out: Array = (_clenshaw(coef, pcols.x(th)) + st.x * th - st.n * _softplus(th))
        return out

    # each (tau node, study): the part where the product is within _DROP of its peak, and
    # a map concentrated at its mode (the likelihood may make the product far narrower than
    # the predictive density): found on 64 points, until they are not all it spans
    smap = _Map(*(np.broadcast_to(v, (v.shape[0], k)) for v in
                  (pcols.m, pcols.beta, pcols.alpha, pcols.x0)))
    bound_lo = smap.mu(np.full(smap.m.shape, -1.0))
    bound_hi = smap.mu(np.full(smap.m.shape, 1.0))
    ns = 48
    xf = _b._fejer(ns)[0][::-1, None, None]  # increasing
    idx = np.arange(ns)[:, None, None]
    for _ in range(8):
        f = logv(xf, smap)
        th = smap.mu(xf)
        top = f.max(axis=0)
        # (the part reaches 2 further than _DROP; an end counts as open within 2 less, so
        # that a part found is not found open again)
        near = f >= top - _DROP - 2.0
        first = np.where(near, idx, ns).min(axis=0)
        last = np.where(near, idx, -1).max(axis=0)
        lo = smap.mu(np.full(top.shape, -1.0))
        hi = smap.mu(np.full(top.shape, 1.0))
        mode = np.take_along_axis(th, f.argmax(axis=0)[None], axis=0)[0]
        # an end still within _DROP of the peak: twice as far from the mode (within the
        # predictive interval)
        open_lo = (f[0] > top - _DROP + 2.0) & (lo > bound_lo)
        open_hi = (f[-1] > top - _DROP + 2.0) & (hi < bound_hi)
        new_lo = np.where(open_lo, np.maximum(mode - 2.0 * (mode - lo), bound_lo),
                          np.take_along_axis(th, np.maximum(first - 1, 0)[None], axis=0)[0])
        new_hi = np.where(open_hi, np.minimum(mode + 2.0 * (hi - mode), bound_hi),
                          np.take_along_axis(th, np.minimum(last + 1, ns - 1)[None], axis=0)[0])
        spread = last - first + 1
        # the sd from the points within 2 of the peak (about 2 sd either side), where they
        # are enough to tell, else from the whole part
        core = f >= top - 2.0
        width = (np.where(core, th, -np.inf).max(axis=0)
                 - np.where(core, th, np.inf).min(axis=0))
        sd = np.where(core.sum(axis=0) >= 6, width / 4.0, (new_hi - new_lo) / 17.0)
        sd = np.maximum(sd, 1e-9 * (np.abs(mode) + 1.0))
        done = ~(open_lo | open_hi) & (spread >= 20)
        smap = _Map.of(new_lo, new_hi, np.clip(mode, new_lo, new_hi), sd)
        if done.all():
            break
    # the log densities on their maps, resolved by their series
    nq = 64
    while True:
        vals = logv(_b._fejer(nq)[0][:, None, None], smap)
        tail = _weighted_tail((_b._fejer(nq)[2] @ vals.reshape(nq, -1)).reshape(vals.shape), W)
        if tail <= 1e-8 or nq >= 512:
            break
        nq *= 2
    mix = _Mixture.of(W, smap, vals, tail=1e-7)
    q = mix.quantiles(probs, mix.start(probs), tol=1e-10)
    return tuple(_b.Interval(*row) for row in q)
