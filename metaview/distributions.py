"""Normal, Student t and chi-squared probabilities and quantiles, in numpy and pure Python.

Importing ``scipy.special`` costs about as much as the rest of ``metaview pool``'s start-up
(benchmarks/RESULTS.md), so the few functions the engine needs are computed here, with
``scipy.special``'s results at the edges (p = 0 and 1, x = +/-inf, NaN, df <= 0; see each
function) and its accuracy elsewhere: tests/test_distributions.py checks them against scipy
for df from 0.5 to 1e6 and probabilities from 0 to 1, to 1e-12 relative up to df = 1e4 and
1e-10 beyond. Far in the tails (t beyond 1e10 for small df, quantiles of p below 1e-12)
scipy underflows or loses digits; there the reference is the exact round trip.

Every input is computed by the same arithmetic whatever the size of the array it comes in:
a quantile by a scalar kernel run once per distinct (df, p) pair (about 0.2 ms each; a
batch usually holds one or a few); a t or chi-squared tail
by a scalar kernel for a few elements and, for many, by the same operations on arrays (the
iterative parts only add, multiply and divide; every exp, log and lgamma is the standard
library's, per element), so one fit gives the same bits alone and in a batch.

Algorithms: the regularised incomplete beta and gamma functions by continued fractions
(modified Lentz) and series (Press et al., Numerical Recipes, 3rd ed., 6.2 and 6.4), with
their prefactors from Stirling's series for large parameters (Temme, Special Functions,
1996, 3.6), which keeps the relative error near 1e-11 at df = 1e6 (it was 1e-9 with
lgamma differences); quantiles by Newton's method on the log of the tail, safeguarded by
bisection, which reaches p = 1e-300 in a few dozen steps; the normal quantile is the
standard library's (Wichura's AS 241).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

#: above this many elements, t and chi-squared tails are computed on arrays
VECTOR_ABOVE = 16

_EPS = 1e-16
_TINY = 1e-300
_MAXITER = 20000
_STD_NORMAL = NormalDist()
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
#: above this, log-gamma differences come from Stirling's series (error below 1e-17)
_STIRLING_ABOVE = 40.0


# ------------------------------------------------------------------ scalar kernels


def _stirling_correction(a: float) -> float:
    """lgamma(a) - ((a - 1/2) log a - a + log(2 pi)/2), for a >= _STIRLING_ABOVE."""
    r = 1.0 / (a * a)
    return (1.0 / 12.0 - r * (1.0 / 360.0 - r * (1.0 / 1260.0 - r / 1680.0))) / a


def _log1pmx(u: float) -> float:
    """log(1 + u) - u without cancellation for small u."""
    if abs(u) > 0.25:
        return math.log1p(u) - u
    total, term, k = 0.0, u, 1
    while True:
        term *= -u
        k += 1
        piece = term / k
        total += piece
        if abs(piece) <= 1e-17 * abs(total):
            return total


def _lgamma_ratio(a: float, b: float) -> float:
    """lgamma(a + b) - lgamma(a), accurate for large a."""
    if a < _STIRLING_ABOVE:
        return math.lgamma(a + b) - math.lgamma(a)
    return ((a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b
            + _stirling_correction(a + b) - _stirling_correction(a))


def _betacf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAXITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _beta_setup(a: float, b: float, x: float, xc: float, logx: float,
                logxc: float) -> tuple[float, bool, float]:
    """How I_x(a, b) is computed: ``(value, flip, front)``; ``value`` is the result when it
    needs no continued fraction (NaN otherwise); else I = front * cf(a, b, x), or with
    ``flip`` I = 1 - front * cf(b, a, 1 - x)."""
    if x <= 0.0 and logx == -math.inf:
        return 0.0, False, 0.0
    if xc <= 0.0 and logxc == -math.inf:
        return 1.0, False, 0.0
    if b < a:
        lb = _lgamma_ratio(a, b) - math.lgamma(b)
    else:
        lb = _lgamma_ratio(b, a) - math.lgamma(a)
    lbt = lb + a * logx + b * logxc
    if x < (a + 1.0) / (a + b + 2.0):
        return math.nan, False, math.exp(lbt) / a
    return math.nan, True, math.exp(lbt) / b


def _gamma_log_front(a: float, x: float) -> float:
    """log(x^a e^-x / Gamma(a)), accurate for large a."""
    if a < _STIRLING_ABOVE:
        return -x + a * math.log(x) - math.lgamma(a)
    u = (x - a) / a
    core = a * _log1pmx(u) if -0.5 < u < 1.0 else a * (math.log(x) - math.log(a)) + (a - x)
    return core + 0.5 * math.log(a) - _HALF_LOG_2PI - _stirling_correction(a)


def _gamma_series(a: float, x: float) -> float:
    """sum of the series of P(a, x) (x < a + 1), without its front factor."""
    ap, total = a, 1.0 / a
    delta = total
    for _ in range(_MAXITER):
        ap += 1.0
        delta *= x / ap
        total += delta
        if abs(delta) < abs(total) * _EPS:
            break
    return total


def _gamma_cf(a: float, x: float) -> float:
    """The continued fraction of Q(a, x) (x >= a + 1), without its front factor."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAXITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _gamma_setup(a: float, x: float) -> tuple[float, bool, float]:
    """How P(a, x) is computed: ``(value, by_cf, front)``: ``value`` when no iteration is
    needed (NaN otherwise); else P = front * series(a, x), or with ``by_cf``
    Q = 1 - P = front * cf(a, x)."""
    if x <= 0.0:
        return 0.0, False, 0.0
    if math.isinf(x):
        return 1.0, False, 0.0
    front = math.exp(_gamma_log_front(a, x))
    return math.nan, x >= a + 1.0, front


def _gammainc_both(a: float, x: float) -> tuple[float, float]:
    """(P(a, x), Q(a, x)), each as accurate as its own branch allows."""
    value, by_cf, front = _gamma_setup(a, x)
    if not math.isnan(value):
        return value, 1.0 - value
    if by_cf:
        q = front * _gamma_cf(a, x)
        return 1.0 - q, q
    p = front * _gamma_series(a, x)
    return p, 1.0 - p


def _chi2_valid(df: float, x: float) -> bool:
    return df > 0.0 and x >= 0.0


def _chi2_sf(df: float, x: float) -> float:
    if not _chi2_valid(df, x):
        return math.nan
    return _gammainc_both(df / 2.0, x / 2.0)[1]


def _chi2_cdf(df: float, x: float) -> float:
    if not _chi2_valid(df, x):
        return math.nan
    return _gammainc_both(df / 2.0, x / 2.0)[0]


def _t_args(df: float, t: float) -> tuple[float, float, float, float]:
    """x = df/(df + t^2), 1 - x and their logarithms, without overflow for huge |t|."""
    at = abs(t)
    if at < 1e150:
        r = at * at / df
        if r == 0.0:
            return 1.0, 0.0, 0.0, -math.inf
        if r <= 1.0:
            return 1.0 / (1.0 + r), r / (1.0 + r), -math.log1p(r), math.log(r) - math.log1p(r)
        s = df / (at * at)
        log_s = math.log(s)
    else:
        log_s = math.log(df) - 2.0 * math.log(at)
        s = math.exp(log_s)
    return s / (1.0 + s), 1.0 / (1.0 + s), log_s - math.log1p(s), -math.log1p(s)


def _t_setup(df: float, t: float) -> tuple[float, bool, float, float, float, float]:
    """``(value, flip, front, a, b, x)`` of P(T > |t|) = I_x(df/2, 1/2) / 2 (value: the tail
    when no continued fraction is needed; NaN otherwise)."""
    if math.isinf(t):
        return 0.0, False, 0.0, 0.0, 0.0, 0.0
    if math.isinf(df):
        return 0.5 * math.erfc(abs(t) / math.sqrt(2.0)), False, 0.0, 0.0, 0.0, 0.0
    a, b = df / 2.0, 0.5
    x, xc, logx, logxc = _t_args(df, t)
    value, flip, front = _beta_setup(a, b, x, xc, logx, logxc)
    if not math.isnan(value):
        return 0.5 * value, False, 0.0, a, b, x
    if flip:
        return math.nan, True, front, b, a, xc
    return math.nan, False, front, a, b, x


def _t_tail(df: float, t: float) -> float:
    """P(T > |t|)."""
    value, flip, front, a, b, x = _t_setup(df, t)
    if not math.isnan(value):
        return value
    cf = front * _betacf(a, b, x)
    return 0.5 * (1.0 - cf) if flip else 0.5 * cf


def _t_cdf(df: float, t: float) -> float:
    if not df > 0.0:
        return math.nan
    tail = _t_tail(df, t)
    return 1.0 - tail if t > 0 else tail


def _t_pdf(df: float, t: float) -> float:
    if math.isinf(df):
        return math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    a = df / 2.0
    return math.exp(_lgamma_ratio(a, 0.5) - 0.5 * math.log(df * math.pi)
                    - (df + 1) / 2 * math.log1p(t * t / df))


def _chi2_pdf(df: float, x: float) -> float:
    a = df / 2.0
    return math.exp(_gamma_log_front(a, x / 2.0)) / x


def _solve(tail: Callable[[float], float], density: Callable[[float], float], target: float,
           x0: float, increasing: bool) -> float:
    """x >= 0 with tail(x) = target, for a tail probability (upper: decreasing; lower:
    ``increasing``) whose derivative is -/+ ``density``: Newton steps on log(tail), which
    are nearly linear in both the exponential and the power-law tails, kept inside a
    bracket that shrinks, with bisection (geometric across wide brackets) when a step
    leaves it."""
    def too_small(value: float) -> bool:
        return value < target if increasing else value > target

    lo, hi = 0.0, max(2.0 * x0, 1.0)
    while too_small(tail(hi)):
        lo, hi = hi, hi * 2.0 + 1.0
        if math.isinf(hi):
            return math.inf
    log_target = math.log(target)
    sign = 1.0 if increasing else -1.0
    x = x0 if lo < x0 < hi else 0.5 * (lo + hi)
    for _ in range(400):
        fx = tail(x)
        if fx == target:
            return x
        if too_small(fx):
            lo = x
        else:
            hi = x
        d = density(x)
        new = math.nan
        if fx > 0.0 and d > 0.0:
            new = x - (math.log(fx) - log_target) * fx / (sign * d)
        if not lo < new < hi:
            new = math.sqrt(lo) * math.sqrt(hi) if lo > 0.0 and hi > 4.0 * lo else 0.5 * (lo + hi)
        if abs(new - x) <= 1e-15 * abs(new) or hi - lo <= 1e-15 * hi:
            return new
        x = new
    return x


def _t_isf(df: float, q: float) -> float:
    """t with P(T > t) = q, for 0 < q < 1."""
    if q == 0.5:
        return 0.0
    if q > 0.5:
        return -_t_isf(df, 1.0 - q)
    if math.isinf(df):
        return -_STD_NORMAL.inv_cdf(q)
    if df == 1.0:
        return 1.0 / math.tan(math.pi * q)
    if df == 2.0:
        return (1.0 - 2.0 * q) / math.sqrt(2.0 * q * (1.0 - q))
    z = -_STD_NORMAL.inv_cdf(q)
    g1 = (z**3 + z) / 4.0
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96.0
    x0 = z + g1 / df + g2 / df**2  # Cornish-Fisher start
    return _solve(lambda t: _t_tail(df, t), lambda t: _t_pdf(df, t), q, x0, increasing=False)


def _t_ppf(df: float, p: float) -> float:
    if not df > 0.0:
        return math.nan
    edge = _quantile_edge(p, -math.inf, math.inf)
    if edge is not None:
        return edge
    return -_t_isf(df, p) if p < 0.5 else _t_isf(df, 1.0 - p)


def _norm_ppf(p: float) -> float:
    edge = _quantile_edge(p, -math.inf, math.inf)
    return _STD_NORMAL.inv_cdf(p) if edge is None else edge


def _quantile_edge(p: float, at0: float, at1: float) -> float | None:
    """The quantile at a probability of 0 or 1 (``at0``, ``at1``), NaN outside [0, 1], None
    inside (0, 1), as scipy.special."""
    if not 0.0 <= p <= 1.0:
        return math.nan
    if p == 0.0:
        return at0
    if p == 1.0:
        return at1
    return None


def _chi2_isf(df: float, q: float) -> float:
    """x with P(X > x) = q."""
    if not df > 0.0:
        return math.nan
    edge = _quantile_edge(q, math.inf, 0.0)
    if edge is not None:
        return edge
    z = -_STD_NORMAL.inv_cdf(q)
    h = 2.0 / (9.0 * df)
    x0 = max(df * (1.0 - h + z * math.sqrt(h)) ** 3, 1e-8)  # Wilson-Hilferty start
    if q < 0.5:
        return _solve(lambda x: _chi2_sf(df, x), lambda x: _chi2_pdf(df, x), q, x0,
                      increasing=False)
    # lower quantiles: solve on the CDF, which is accurate there
    return _solve(lambda x: _chi2_cdf(df, x), lambda x: _chi2_pdf(df, x), 1.0 - q, x0,
                  increasing=True)


# ------------------------------------------------------------------ the same on arrays


def _ufunc(f: Callable[..., float], nin: int = 1) -> Callable[..., Array]:
    """``f`` (a standard-library function) element by element: the same bits as a loop."""
    g = np.frompyfunc(f, nin, 1)
    return lambda *a: np.asarray(g(*a), dtype=float)


_exp, _log, _log1p, _lgamma = (_ufunc(f) for f in (math.exp, math.log, math.log1p,
                                                   math.lgamma))


def _where_tiny(v: Array) -> Array:
    return np.where(np.abs(v) > _TINY, v, _TINY)


def _betacf_many(a: Array, b: Array, x: Array) -> Array:
    """``_betacf`` element by element, with the same operations in the same order."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 / _where_tiny(1.0 - qab * x / qap)
    h = d.copy()
    out = np.empty_like(x)
    idx = np.arange(x.size)
    for m in range(1, _MAXITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 / _where_tiny(1.0 + aa * d)
        c = _where_tiny(1.0 + aa / c)
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 / _where_tiny(1.0 + aa * d)
        c = _where_tiny(1.0 + aa / c)
        delta = d * c
        h *= delta
        done = np.abs(delta - 1.0) < _EPS
        if done.any():
            out[idx[done]] = h[done]
            keep = ~done
            idx, a, b, x, c, d, h = idx[keep], a[keep], b[keep], x[keep], c[keep], d[keep], h[keep]
            qab, qap, qam = qab[keep], qap[keep], qam[keep]
            if not idx.size:
                return out
    out[idx] = h
    return out


def _gamma_series_many(a: Array, x: Array) -> Array:
    """``_gamma_series`` element by element."""
    ap = a.copy()
    total = 1.0 / a
    delta = total.copy()
    out = np.empty_like(x)
    idx = np.arange(x.size)
    for _ in range(_MAXITER):
        ap += 1.0
        delta *= x / ap
        total += delta
        done = np.abs(delta) < np.abs(total) * _EPS
        if done.any():
            out[idx[done]] = total[done]
            keep = ~done
            idx, ap, x, delta, total = idx[keep], ap[keep], x[keep], delta[keep], total[keep]
            if not idx.size:
                return out
    out[idx] = total
    return out


def _gamma_cf_many(a: Array, x: Array) -> Array:
    """``_gamma_cf`` element by element."""
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / _TINY)
    d = 1.0 / b
    h = d.copy()
    out = np.empty_like(x)
    idx = np.arange(x.size)
    for i in range(1, _MAXITER):
        an = -i * (i - a)
        b = b + 2.0
        d = 1.0 / _where_tiny(an * d + b)
        c = _where_tiny(b + an / c)
        delta = d * c
        h *= delta
        done = np.abs(delta - 1.0) < _EPS
        if done.any():
            out[idx[done]] = h[done]
            keep = ~done
            idx, a, b, c, d, h = idx[keep], a[keep], b[keep], c[keep], d[keep], h[keep]
            if not idx.size:
                return out
    out[idx] = h
    return out


def _chi2_sf_many(df: Array, x: Array) -> Array:
    """``_chi2_sf`` element by element; the front factors of large df (Stirling's series)
    and the edge cases go through the scalar code."""
    out = np.full(x.shape, np.nan)
    a, z = df / 2.0, x / 2.0
    valid = (df > 0.0) & (x >= 0.0)
    out[valid & (x == 0.0)] = 1.0
    out[valid & np.isinf(x)] = 0.0
    plain = valid & (x > 0.0) & np.isfinite(x) & (a < _STIRLING_ABOVE)
    other = valid & (x > 0.0) & np.isfinite(x) & ~plain
    for i in np.flatnonzero(other):
        out[i] = _chi2_sf(float(df[i]), float(x[i]))
    a, z = a[plain], z[plain]
    uniq, inv = np.unique(a, return_inverse=True)
    front = _exp(-z + a * _log(z) - _lgamma(uniq)[inv.ravel()])
    by_cf = z >= a + 1.0
    res = np.empty(a.shape)
    res[by_cf] = front[by_cf] * _gamma_cf_many(a[by_cf], z[by_cf])
    s = ~by_cf
    res[s] = 1.0 - front[s] * _gamma_series_many(a[s], z[s])
    out[plain] = res
    return out


def _t_cdf_many(df: Array, t: Array) -> Array:
    """``_t_cdf`` element by element; large df, huge |t| and the edge cases go through the
    scalar code."""
    out = np.full(t.shape, np.nan)
    at = np.abs(t)
    valid = (df > 0.0) & ~np.isnan(t)
    plain = valid & np.isfinite(df) & (df / 2.0 < _STIRLING_ABOVE) & (at < 1e150) & (at > 1e-140)
    other = valid & ~plain
    for i in np.flatnonzero(other):
        out[i] = _t_cdf(float(df[i]), float(t[i]))
    df, at, tp = df[plain], at[plain], t[plain]
    a = df / 2.0
    b = 0.5
    r = at * at / df
    small = r <= 1.0
    s = df / (at * at)
    x = np.where(small, 1.0 / (1.0 + r), 0.0)
    xc = np.where(small, r / (1.0 + r), 0.0)
    logx = np.empty(r.shape)
    logxc = np.empty(r.shape)
    rs, ss = r[small], s[~small]
    l1p = _log1p(rs)
    logx[small] = -l1p
    logxc[small] = _log(rs) - l1p
    log_s = _log(ss)
    l1p = _log1p(ss)
    x[~small] = ss / (1.0 + ss)
    xc[~small] = 1.0 / (1.0 + ss)
    logx[~small] = log_s - l1p
    logxc[~small] = -l1p
    # the lgamma terms depend on df alone
    uniq, inv = np.unique(df, return_inverse=True)
    ua = uniq / 2.0
    lb_u = np.array([(_lgamma_ratio(float(v), b) - math.lgamma(b)) if b < v
                     else (_lgamma_ratio(b, float(v)) - math.lgamma(float(v))) for v in ua])
    lbt = lb_u[inv] + a * logx + b * logxc
    flip = ~(x < (a + 1.0) / (a + b + 2.0))
    e = _exp(lbt)
    front = np.where(flip, e / b, e / a)
    tail = np.empty(r.shape)
    f = flip
    tail[f] = 0.5 * (1.0 - front[f] * _betacf_many(np.full(f.sum(), b), a[f], xc[f]))
    n = ~flip
    tail[n] = 0.5 * (front[n] * _betacf_many(a[n], np.full(n.sum(), b), x[n]))
    out[plain] = np.where(tp > 0, 1.0 - tail, tail)
    return out


# ------------------------------------------------------------------ array interface


def _apply(kernel: Callable[..., float], *args: ArrayLike) -> Array:
    """``kernel`` once per distinct tuple of arguments (NaN where any is NaN)."""
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))
    shape = arrays[0].shape
    flat = np.stack([a.ravel() for a in arrays], axis=1)
    if flat.shape[0] > 1 and (flat == flat[0]).all():  # one value: the usual batch
        flat, inv = flat[:1], np.zeros(flat.shape[0], dtype=np.intp)
    elif flat.shape[0] > 1:
        flat, inv = np.unique(flat, axis=0, return_inverse=True)
    else:
        inv = np.zeros(flat.shape[0], dtype=np.intp)
    values = np.array([math.nan if any(math.isnan(v) for v in row) else kernel(*row)
                       for row in flat.tolist()], dtype=float)
    return values[inv.ravel()].reshape(shape)


def _apply_tail(kernel: Callable[[float, float], float],
                many: Callable[[Array, Array], Array], df: ArrayLike, x: ArrayLike) -> Array:
    d, v = np.broadcast_arrays(np.asarray(df, dtype=float), np.asarray(x, dtype=float))
    if d.size > VECTOR_ABOVE:
        return many(d.ravel().copy(), v.ravel().copy()).reshape(d.shape)
    return _apply(kernel, d, v)


def finite_quantiles(level: float) -> bool:
    """Whether the two-sided quantiles of a confidence ``level`` are finite in floating point
    (both forms the engine computes, ``1 - (1 - level)/2`` and ``0.5 + level/2``, must be
    below 1; 0.9999999999999999 fails)."""
    alpha = 1.0 - level
    return alpha / 2.0 > 0.0 and 1.0 - alpha / 2.0 < 1.0 and 0.5 + level / 2.0 < 1.0


def norm_cdf(x: ArrayLike) -> Array:
    """Standard normal CDF (scipy ``ndtr``)."""
    x = np.asarray(x, dtype=float)
    return np.asarray(0.5 * np.vectorize(math.erfc, otypes=[float])(-x / math.sqrt(2.0))
                      if x.size else x)


def norm_ppf(p: ArrayLike) -> Array:
    """Standard normal quantile (scipy ``ndtri``: -inf at 0, inf at 1, NaN outside)."""
    return _apply(_norm_ppf, p)


def t_cdf(df: ArrayLike, x: ArrayLike) -> Array:
    """Student t CDF (scipy ``stdtr``: 0 and 1 at -/+inf, the normal CDF for infinite df,
    NaN for df <= 0 or a NaN)."""
    return _apply_tail(_t_cdf, _t_cdf_many, df, x)


def t_ppf(df: ArrayLike, p: ArrayLike) -> Array:
    """Student t quantile (scipy ``stdtrit``; -inf at 0, inf at 1, NaN outside, as
    ``scipy.stats.t.ppf``: ``stdtrit(df, 0)`` itself gives +inf)."""
    return _apply(_t_ppf, df, p)


def chi2_sf(df: ArrayLike, x: ArrayLike) -> Array:
    """Chi-squared upper tail probability (scipy ``chdtrc``: 1 at 0, 0 at inf, NaN for
    x < 0, df <= 0 or a NaN)."""
    return _apply_tail(_chi2_sf, _chi2_sf_many, df, x)


def chi2_isf(df: ArrayLike, p: ArrayLike) -> Array:
    """Chi-squared quantile of upper tail ``p`` (scipy ``chdtri``: inf at 0, 0 at 1, NaN
    outside)."""
    return _apply(_chi2_isf, df, p)


def expit(x: ArrayLike) -> Array:
    """Logistic function, overflow-free."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
