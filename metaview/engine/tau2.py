"""Between-study variance (tau^2) estimators for the intercept-only random-effects model.

Each function takes ``y``, ``v`` and a boolean ``mask`` of shape ``(B, K)`` and returns
``tau2`` of shape ``(B,)``, never negative. They follow metafor ``rma.uni(method=...)``:
DL, HE, HS and SJ in closed form; ML, REML and EB by Fisher scoring from the HE value
with step halving at zero (as metafor); PM by solving the generalised Q equation.

Notes
-----
Let ``w = 1/(v + tau2)``, ``b = sum(w y)/sum(w)``, ``r = y - b`` and
``Q(tau2) = sum(w r^2)`` (the generalised Q statistic).

* DL: ``(Q(0) - (k-1)) / (sum w - sum w^2 / sum w)`` with ``w = 1/v``.
* HE: ``(sum (y - mean y)^2 - (k-1)/k sum v) / (k-1)``.
* HS: ``(Q(0) - k) / sum(1/v)``.
* SJ: ``t0 Q_{t0}(t0)/(k-1)`` with ``t0 = sum (y - mean y)^2 / k``.
* ML: root of ``sum w^2 r^2 = sum w``; REML: root of ``y'PPy = tr P``.
* PM and EB: root of ``Q(tau2) = k - 1`` (Paule-Mandel; metafor's EB iteration has the same
  fixed point).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from metaview.choices import Tau2Method, require

Array = NDArray[np.float64]
Mask = NDArray[np.bool_]

#: convergence threshold on tau2 for the iterative estimators (metafor's default is 1e-5)
THRESHOLD = 1e-12
MAX_ITER = 1000
#: Fisher scoring steps before the remaining rows are solved by bisection on the score
SCORING_STEPS = 40


def _prep(y: Array, v: Array, mask: Mask | None) -> tuple[Array, Array, Mask, Array]:
    y = np.atleast_2d(np.asarray(y, dtype=float))
    v = np.atleast_2d(np.asarray(v, dtype=float))
    if mask is None:
        mask = np.ones(y.shape, dtype=bool)
    mask = np.atleast_2d(np.asarray(mask, dtype=bool))
    # neutral values outside the mask keep every sum finite
    y = np.where(mask, y, 0.0)
    v = np.where(mask, v, 1.0)
    k = mask.sum(axis=1).astype(float)
    return y, v, mask, k


def weighted(y: Array, v: Array, mask: Mask, tau2: Array) -> tuple[Array, Array, Array]:
    """Weights ``w`` (zero outside the mask), weighted mean ``b`` and residuals ``y - b``."""
    w = np.where(mask, 1.0 / (v + tau2[:, None]), 0.0)
    sw = w.sum(axis=1)
    b = (w * y).sum(axis=1) / sw
    r = np.where(mask, y - b[:, None], 0.0)
    return w, b, r


def q_gen(y: Array, v: Array, mask: Mask, tau2: Array) -> Array:
    """Generalised Q statistic at ``tau2``."""
    w, _, r = weighted(y, v, mask, tau2)
    return (w * r**2).sum(axis=1)


def tau2_dl(y: Array, v: Array, mask: Mask | None = None) -> Array:
    y, v, mask, k = _prep(y, v, mask)
    zero = np.zeros(len(k))
    w, _, r = weighted(y, v, mask, zero)
    q = (w * r**2).sum(axis=1)
    sw = w.sum(axis=1)
    c = sw - (w**2).sum(axis=1) / sw
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (q - (k - 1.0)) / c
    return np.where(k > 1, np.maximum(t, 0.0), 0.0)


def tau2_he(y: Array, v: Array, mask: Mask | None = None) -> Array:
    y, v, mask, k = _prep(y, v, mask)
    mean = y.sum(axis=1) / k
    rss = np.where(mask, (y - mean[:, None]) ** 2, 0.0).sum(axis=1)
    sv = np.where(mask, v, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (rss - sv * (k - 1.0) / k) / (k - 1.0)
    return np.where(k > 1, np.maximum(t, 0.0), 0.0)


def tau2_hs(y: Array, v: Array, mask: Mask | None = None) -> Array:
    y, v, mask, k = _prep(y, v, mask)
    zero = np.zeros(len(k))
    w, _, r = weighted(y, v, mask, zero)
    q = (w * r**2).sum(axis=1)
    t = (q - k) / w.sum(axis=1)
    return np.where(k > 1, np.maximum(t, 0.0), 0.0)


def tau2_sj(y: Array, v: Array, mask: Mask | None = None) -> Array:
    y, v, mask, k = _prep(y, v, mask)
    mean = y.sum(axis=1) / k
    t0 = np.where(mask, (y - mean[:, None]) ** 2, 0.0).sum(axis=1) / k
    q = q_gen(y, v, mask, t0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t0 * q / (k - 1.0)
    return np.where(k > 1, np.maximum(t, 0.0), 0.0)


def _fisher_scoring(y: Array, v: Array, mask: Mask, k: Array, *, reml: bool) -> Array:
    """ML or REML by Fisher scoring from the HE estimate, halving steps that go below 0.

    Only the rows still moving are iterated. Rows still moving after ``SCORING_STEPS``
    steps (scoring converges linearly there) are finished by bisection on the score.
    """
    tau2 = tau2_he(y, v, mask)
    idx = np.flatnonzero(k > 1)
    ys, vs, ms, ts = y[idx], v[idx], mask[idx], tau2[idx]
    for iteration in range(MAX_ITER):
        if idx.size == 0:
            break
        if iteration == SCORING_STEPS:
            # the few rows where scoring converges linearly and slowly: solve the score
            # equation directly, from a bracket around the current iterate
            tau2[idx] = _score_root(ys, vs, ms, ts, reml=reml)
            break
        score, info = _score(ys, vs, ms, ts, reml=reml)
        adj = _halve_below_zero(ts, score / info)
        new = ts + adj
        # a score pointing below 0 from (next to) 0: the maximum is on the boundary
        at_zero = (adj < 0.0) & (new < THRESHOLD)
        new = np.where(at_zero, 0.0, new)
        tau2[idx] = new
        moving = (np.abs(new - ts) >= THRESHOLD) & ~at_zero
        idx, ys, vs, ms, ts = idx[moving], ys[moving], vs[moving], ms[moving], new[moving]
    return np.where(k > 1, np.maximum(tau2, 0.0), 0.0)


def _score(y: Array, v: Array, mask: Mask, tau2: Array, *, reml: bool) -> tuple[Array, Array]:
    """Score of the (restricted) log-likelihood in tau2 (times 2) and its expected information."""
    w, _, r = weighted(y, v, mask, tau2)
    sw = w.sum(axis=1)
    sw2 = (w**2).sum(axis=1)
    ypy = ((w * r) ** 2).sum(axis=1)  # y'PPy
    if reml:
        trp = sw - sw2 / sw
        trpp = sw2 - 2.0 * (w**3).sum(axis=1) / sw + sw2**2 / sw**2
        return ypy - trp, trpp
    return ypy - sw, sw2


def _score_root(y: Array, v: Array, mask: Mask, tau2: Array, *, reml: bool) -> Array:
    """The root of the score nearest ``tau2`` (the point scoring was converging to), by
    bisection in a bracket with a positive score below and a negative one above; 0 when the
    score is already negative at 0."""
    score, _ = _score(y, v, mask, tau2, reml=reml)
    lo = np.where(score > 0, tau2, tau2 / 2.0)
    hi = np.where(score > 0, tau2 * 2.0 + 1e-8, tau2)
    for _ in range(200):  # widen until the bracket holds
        s_lo, _ = _score(y, v, mask, lo, reml=reml)
        s_hi, _ = _score(y, v, mask, hi, reml=reml)
        bad_lo = (s_lo < 0) & (lo > 0)
        bad_hi = s_hi > 0
        if not (bad_lo.any() or bad_hi.any()):
            break
        lo = np.where(bad_lo, np.where(lo < THRESHOLD, 0.0, lo / 2.0), lo)
        hi = np.where(bad_hi, hi * 2.0, hi)
    s_lo, _ = _score(y, v, mask, lo, reml=reml)
    boundary = s_lo < 0  # lo reached 0 and the score is still negative there
    for _ in range(200):
        # rows stop on their own, so a row's result does not depend on the rest of the batch
        open_ = hi - lo > THRESHOLD * np.maximum(1.0, hi)
        if not open_.any():
            break
        mid = 0.5 * (lo + hi)
        s_mid, _ = _score(y, v, mask, mid, reml=reml)
        lo = np.where(open_ & (s_mid > 0), mid, lo)
        hi = np.where(open_ & (s_mid <= 0), mid, hi)
    return np.where(boundary, 0.0, 0.5 * (lo + hi))


def _halve_below_zero(tau2: Array, adj: Array) -> Array:
    """Halve each step until ``tau2 + adj >= 0`` (metafor's step halving); only the rows
    whose step overshoots are looped over."""
    bad = np.flatnonzero(tau2 + adj < 0.0)
    if bad.size == 0:
        return adj
    t, a = tau2[bad], adj[bad]
    # the number of halvings needed, at once; the loop only mends round-off
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(t > 0.0, np.ceil(np.log2(-a / t)), 0.0)
    a = np.where(t > 0.0, np.ldexp(a, -np.clip(m, 0, 1100).astype(int)), -t)
    for _ in range(64):
        still = t + a < 0.0
        if not still.any():
            break
        a = np.where(still, a / 2.0, a)
    adj = adj.copy()
    adj[bad] = np.where(t + a < 0.0, -t, a)
    return adj


def solve_q(y: Array, v: Array, mask: Mask, target: Array) -> Array:
    """The tau2 >= 0 at which the generalised Q equals ``target`` (0 when Q(0) <= target).

    Q(tau2) is decreasing and convex (a partial minimum of jointly convex functions), so
    Newton's method from 0 approaches the root monotonically from below; a bisection
    safeguard covers round-off.
    """
    target = np.broadcast_to(np.asarray(target, dtype=float), (y.shape[0],)).copy()
    tau2 = np.zeros(y.shape[0])
    q0 = q_gen(y, v, mask, tau2)
    active = q0 > target
    for _ in range(MAX_ITER):
        if not active.any():
            break
        w, _, r = weighted(y, v, mask, tau2)
        q = (w * r**2).sum(axis=1)
        slope = ((w * r) ** 2).sum(axis=1)  # -dQ/dtau2
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(active & (slope > 0), (q - target) / slope, 0.0)
        step = np.maximum(step, 0.0)
        new = tau2 + step
        active = active & (step > THRESHOLD * np.maximum(1.0, new))
        tau2 = new
    return np.where(q0 > target, tau2, 0.0)


def tau2_pm(y: Array, v: Array, mask: Mask | None = None) -> Array:
    y, v, mask, k = _prep(y, v, mask)
    t = solve_q(y, v, mask, k - 1.0)
    return np.where(k > 1, t, 0.0)


def tau2_ml(y: Array, v: Array, mask: Mask | None = None) -> Array:
    y, v, mask, k = _prep(y, v, mask)
    return _fisher_scoring(y, v, mask, k, reml=False)


def tau2_reml(y: Array, v: Array, mask: Mask | None = None) -> Array:
    y, v, mask, k = _prep(y, v, mask)
    return _fisher_scoring(y, v, mask, k, reml=True)


_ESTIMATORS = {
    Tau2Method.DL: tau2_dl,
    Tau2Method.HE: tau2_he,
    Tau2Method.HS: tau2_hs,
    Tau2Method.SJ: tau2_sj,
    Tau2Method.ML: tau2_ml,
    Tau2Method.REML: tau2_reml,
    Tau2Method.PM: tau2_pm,
    Tau2Method.EB: tau2_pm,
}


def estimate_tau2(
    y: Array, v: Array, mask: Mask | None = None, *, method: Tau2Method = Tau2Method.REML
) -> Array:
    """tau2 by ``method`` for each analysis in the batch (shape ``(B,)``)."""
    return _ESTIMATORS[require(Tau2Method, method, "method")](y, v, mask)


def q_profile(
    y: Array, v: Array, mask: Mask | None = None, *, level: float = 0.95
) -> tuple[Array, Array]:
    """Q-profile confidence interval for tau2 (Viechtbauer 2007; metafor ``confint``).

    The lower bound solves ``Q(tau2) = chi2_{k-1}(1 - a/2)``, the upper bound
    ``Q(tau2) = chi2_{k-1}(a/2)``; a bound is 0 when Q(0) is already below its target.
    """
    from metaview.distributions import chi2_isf as chdtri

    y, v, mask, k = _prep(y, v, mask)
    alpha = 1.0 - level
    df = np.maximum(k - 1.0, 1.0)
    lo = solve_q(y, v, mask, chdtri(df, alpha / 2.0))
    hi = solve_q(y, v, mask, chdtri(df, 1.0 - alpha / 2.0))
    ok = k > 1
    return np.where(ok, lo, np.nan), np.where(ok, hi, np.nan)
