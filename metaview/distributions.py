"""Normal, Student t and chi-squared probabilities and quantiles.

Small inputs (the command line's case: a handful of analyses) are computed here in pure
Python, because importing ``scipy.special`` costs about a quarter of a second, most of the
start-up time of ``metaview pool``. Large arrays (simulation, leave-one-out of many
studies) go to ``scipy.special``. The two agree to about 1e-14 (tests/test_distributions.py).

Algorithms: the regularised incomplete beta and gamma functions by continued fractions
(modified Lentz) and series (Press et al., Numerical Recipes, 3rd ed., 6.2 and 6.4);
quantiles by Newton's method safeguarded by bisection; the normal quantile is the standard
library's (Wichura's AS 241).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]

#: above this many elements, scipy.special does the work
SCIPY_ABOVE = 64

_EPS = 1e-16
_TINY = 1e-300
_STD_NORMAL = NormalDist()


# ------------------------------------------------------------------ scalar kernels


def _betacf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 1000):
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


def betainc(a: float, b: float, x: float, xc: float | None = None) -> float:
    """Regularised incomplete beta function I_x(a, b); ``xc`` is 1 - x when the caller has
    it more accurately than 1 - x."""
    xc = 1.0 - x if xc is None else xc
    if x <= 0.0:
        return 0.0
    if xc <= 0.0:
        return 1.0
    lbt = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
           + a * math.log(x) + b * math.log(xc))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, xc) / b


def _gammainc_lower(a: float, x: float) -> float:
    """Regularised lower incomplete gamma P(a, x) by its series (x < a + 1)."""
    ap, total = a, 1.0 / a
    delta = total
    for _ in range(10000):
        ap += 1.0
        delta *= x / ap
        total += delta
        if abs(delta) < abs(total) * _EPS:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gammainc_upper_cf(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) by its continued fraction (x >= a + 1)."""
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 10000):
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
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def _chi2_sf(df: float, x: float) -> float:
    if x <= 0.0:
        return 1.0
    a, z = df / 2.0, x / 2.0
    if z < a + 1.0:
        return 1.0 - _gammainc_lower(a, z)
    return _gammainc_upper_cf(a, z)


def _chi2_cdf(df: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    a, z = df / 2.0, x / 2.0
    if z < a + 1.0:
        return _gammainc_lower(a, z)
    return 1.0 - _gammainc_upper_cf(a, z)


def _t_tail(df: float, t: float) -> float:
    """P(T > |t|)."""
    if math.isinf(t):
        return 0.0
    t2 = t * t
    return 0.5 * betainc(df / 2.0, 0.5, df / (df + t2), t2 / (df + t2))


def _t_cdf(df: float, t: float) -> float:
    tail = _t_tail(df, t)
    return 1.0 - tail if t > 0 else tail


def _t_pdf(df: float, t: float) -> float:
    return math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)
                    - 0.5 * math.log(df * math.pi) - (df + 1) / 2 * math.log1p(t * t / df))


def _chi2_pdf(df: float, x: float) -> float:
    a = df / 2.0
    return math.exp((a - 1.0) * math.log(x) - x / 2.0 - a * math.log(2.0) - math.lgamma(a))


def _solve_decreasing(f: Callable[[float], float], slope: Callable[[float], float],
                      target: float, x0: float, lo: float, hi: float) -> float:
    """x >= 0 with f(x) = target for decreasing f (an upper tail probability; ``slope`` is
    -f', a density): Newton steps kept inside a shrinking bracket."""
    while f(hi) > target:
        lo, hi = hi, hi * 2.0 + 1.0
    x = min(max(x0, lo), hi)
    for _ in range(200):
        fx = target - f(x)
        if fx > 0:
            hi = x
        else:
            lo = x
        d = slope(x)
        step = fx / d if d > 0 else math.inf
        new = x - step
        if not lo < new < hi:
            new = 0.5 * (lo + hi)
        if abs(new - x) <= 1e-15 * abs(new) or hi - lo <= 1e-300:
            return new
        x = new
    return x


def _t_isf(df: float, q: float) -> float:
    """t with P(T > t) = q."""
    if q == 0.5:
        return 0.0
    if q > 0.5:
        return -_t_isf(df, 1.0 - q)
    if df == 1.0:
        return 1.0 / math.tan(math.pi * q)
    if df == 2.0:
        return (1.0 - 2.0 * q) / math.sqrt(2.0 * q * (1.0 - q))
    z = -_STD_NORMAL.inv_cdf(q)
    g1 = (z**3 + z) / 4.0
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96.0
    x0 = z + g1 / df + g2 / df**2  # Cornish-Fisher start
    return _solve_decreasing(lambda t: _t_tail(df, t), lambda t: _t_pdf(df, t), q, x0, 0.0,
                             max(2.0 * x0, 1.0))


def _t_ppf(df: float, p: float) -> float:
    edge = _quantile_edge(p, -math.inf, math.inf)
    if edge is not None:
        return edge
    return -_t_isf(df, p) if p < 0.5 else _t_isf(df, 1.0 - p)


def _norm_ppf(p: float) -> float:
    edge = _quantile_edge(p, -math.inf, math.inf)
    return _STD_NORMAL.inv_cdf(p) if edge is None else edge


def _quantile_edge(p: float, at0: float, at1: float) -> float | None:
    """The quantile at a probability of 0 or 1 (``at0``, ``at1``), NaN outside [0, 1], None
    inside (0, 1): as scipy.special, so the pure-Python and scipy paths agree."""
    if not 0.0 <= p <= 1.0:
        return math.nan
    if p == 0.0:
        return at0
    if p == 1.0:
        return at1
    return None


def _chi2_isf(df: float, q: float) -> float:
    """x with P(X > x) = q."""
    edge = _quantile_edge(q, math.inf, 0.0)
    if edge is not None:
        return edge
    z = -_STD_NORMAL.inv_cdf(q)
    h = 2.0 / (9.0 * df)
    x0 = max(df * (1.0 - h + z * math.sqrt(h)) ** 3, 1e-8)  # Wilson-Hilferty start
    if q < 0.5:
        return _solve_decreasing(lambda x: _chi2_sf(df, x), lambda x: _chi2_pdf(df, x), q, x0,
                                 0.0, max(2.0 * x0, 1.0))
    # lower quantiles: solve on the CDF, which is accurate there
    return _solve_decreasing(lambda x: -_chi2_cdf(df, x), lambda x: _chi2_pdf(df, x),
                             -(1.0 - q), x0, 0.0, max(2.0 * x0, 1.0))


# ------------------------------------------------------------------ array interface


def _apply(kernel: Callable[..., float], scipy_name: str, *args: ArrayLike) -> Array:
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))
    if arrays[0].size > SCIPY_ABOVE:
        import scipy.special

        return np.asarray(getattr(scipy.special, scipy_name)(*arrays), dtype=float)
    out = np.empty(arrays[0].shape)
    flat = [a.ravel() for a in arrays]
    res = out.ravel()
    for i in range(res.size):
        vals = [float(a[i]) for a in flat]
        res[i] = math.nan if any(math.isnan(v) for v in vals) else kernel(*vals)
    return out


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
    return _apply(_norm_ppf, "ndtri", p)


def t_cdf(df: ArrayLike, x: ArrayLike) -> Array:
    """Student t CDF (scipy ``stdtr``)."""
    return _apply(_t_cdf, "stdtr", df, x)


def t_ppf(df: ArrayLike, p: ArrayLike) -> Array:
    """Student t quantile (scipy ``stdtrit``; -inf at 0, inf at 1, NaN outside, as
    ``scipy.stats.t.ppf``: ``stdtrit(df, 0)`` itself gives +inf)."""
    out = _apply(_t_ppf, "stdtrit", df, p)
    return np.where(np.asarray(p, dtype=float) == 0.0, -np.inf, out)


def chi2_sf(df: ArrayLike, x: ArrayLike) -> Array:
    """Chi-squared upper tail probability (scipy ``chdtrc``)."""
    return _apply(_chi2_sf, "chdtrc", df, x)


def chi2_isf(df: ArrayLike, p: ArrayLike) -> Array:
    """Chi-squared quantile of upper tail ``p`` (scipy ``chdtri``: inf at 0, 0 at 1, NaN
    outside)."""
    return _apply(_chi2_isf, "chdtri", df, p)


def expit(x: ArrayLike) -> Array:
    """Logistic function, overflow-free."""
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
