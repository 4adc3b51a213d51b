"""Inverse-variance common-effect and random-effects models (metafor ``rma.uni``).

:func:`fit_rma` fits a batch of intercept-only models at once. Everything in the returned
:class:`RmaFit` is an array with one entry per analysis in the batch (``weights``: one row).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from metaview.choices import CIMethod, Tau2Method, require
from metaview.engine.tau2 import Array, Mask, _prep, estimate_tau2, q_profile, weighted
from metaview.errors import UsageError


@dataclass(frozen=True)
class RmaFit:
    """A batch of fitted models; every field has the batch as its first axis."""

    k: NDArray[np.int64]
    b: Array  # pooled mean, pooling scale
    se: Array  # its standard error (Hartung-Knapp adjusted where asked)
    ci_lb: Array
    ci_ub: Array
    pi_lb: Array  # NaN when k < 2
    pi_ub: Array
    tau2: Array  # 0 for the common-effect model
    tau2_ci_lb: Array  # NaN for the common-effect model or unless asked
    tau2_ci_ub: Array
    i2: Array  # percent
    i2_ci_lb: Array
    i2_ci_ub: Array
    h2: Array
    h2_ci_lb: Array  # H2 = 1 / (1 - I2/100) at the Q-profile bounds of tau2
    h2_ci_ub: Array
    q: Array  # Cochran's Q with weights 1/v
    q_df: NDArray[np.int64]
    q_pvalue: Array
    weights: Array  # (B, K), percent; 0 outside the mask
    s2w: Array  # Hartung-Knapp variance factor (1 for z), after any ad hoc floor
    crit: Array  # quantile used for the CI and the prediction interval
    zval: Array  # test statistic of the mean
    pval: Array


def fit_rma(
    y: Array,
    v: Array,
    mask: Mask | None = None,
    *,
    method: Tau2Method | None = Tau2Method.REML,
    test: CIMethod = CIMethod.Z,
    level: float = 0.95,
    tau2_ci: bool = True,
) -> RmaFit:
    """Fit intercept-only meta-analysis models to a batch of data sets.

    Parameters
    ----------
    y, v
        Effect sizes and sampling variances, shape ``(K,)`` or ``(B, K)``.
    mask
        Which studies take part in each analysis (default: all).
    method
        tau2 estimator, or ``None`` for the common-effect (inverse-variance) model.
    test
        ``z``, ``hk`` (Hartung-Knapp, metafor ``test="knha"``) or ``hk-adhoc`` (metafor
        ``test="adhoc"``: the variance factor is floored at 1).
    level
        Confidence level of the intervals.
    tau2_ci
        Also compute the Q-profile interval for tau2 and I2 (random effects only).

    Notes
    -----
    With ``w = 1/(v + tau2)``: ``b = sum(w y)/sum(w)``, ``se = sqrt(1/sum(w))``. Hartung-Knapp
    multiplies the variance by ``s2w = sum(w (y - b)^2)/(k - 1)`` and uses t(k-1); the
    prediction interval is ``b -/+ crit sqrt(se^2 + tau2)`` with the same quantile (metafor
    ``predict()``). I2 = 100 tau2/(tau2 + s2) with the typical within-study variance
    ``s2 = (k-1) sum(1/v) / ((sum 1/v)^2 - sum 1/v^2)``; for the common-effect model
    I2 = max(0, (Q - df)/Q) and H2 = Q/df.
    """
    from metaview.distributions import chi2_sf as chdtrc
    from metaview.distributions import norm_cdf as ndtr
    from metaview.distributions import norm_ppf as ndtri
    from metaview.distributions import t_cdf as stdtr
    from metaview.distributions import t_ppf as stdtrit

    test = require(CIMethod, test, "test")
    if method is not None:
        require(Tau2Method, method, "method")
    if test is CIMethod.T:
        raise UsageError("--ci t is for --model glmm; use z, hk or hk-adhoc")
    common = method is None
    y, v, mask, kf = _prep(y, v, mask)
    k = kf.astype(np.int64)
    nb = y.shape[0]

    tau2 = np.zeros(nb) if method is None else estimate_tau2(y, v, mask, method=method)

    # heterogeneity statistics from the common-effect weights
    w0, _, r0 = weighted(y, v, mask, np.zeros(nb))
    q = (w0 * r0**2).sum(axis=1)
    df = np.maximum(k - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q_p = np.where(df > 0, chdtrc(np.maximum(df, 1), q), np.nan)
        sw0 = w0.sum(axis=1)
        s2 = (kf - 1.0) * sw0 / (sw0**2 - (w0**2).sum(axis=1))
        if common:
            i2 = np.where(df > 0, 100.0 * np.maximum(0.0, (q - df) / q), np.nan)
            i2 = np.where((df > 0) & (q == 0), 0.0, i2)
            h2 = np.where(df > 0, q / np.maximum(df, 1), np.nan)
        else:
            i2 = np.where(df > 0, 100.0 * tau2 / (tau2 + s2), np.nan)
            h2 = np.where(df > 0, (tau2 + s2) / s2, np.nan)

    w, b, r = weighted(y, v, mask, tau2)
    sw = w.sum(axis=1)
    se = np.sqrt(1.0 / sw)
    alpha = 1.0 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        if test is CIMethod.Z:
            s2w = np.ones(nb)
            crit = np.full(nb, ndtri(1.0 - alpha / 2.0))
        else:
            s2w = (w * r**2).sum(axis=1) / (kf - 1.0)
            # identical studies: metafor sets a round-off factor to exactly 0
            s2w = np.where(s2w <= np.finfo(float).eps, 0.0, s2w)
            if test is CIMethod.HK_ADHOC:
                s2w = np.maximum(s2w, 1.0)
            crit = stdtrit(np.maximum(df, 1), 1.0 - alpha / 2.0)
            crit = np.where(df > 0, crit, np.nan)
        se = se * np.sqrt(s2w)
        zval = b / se
        if test is CIMethod.Z:
            pval = 2.0 * ndtr(-np.abs(zval))
        else:
            pval = 2.0 * stdtr(np.maximum(df, 1), -np.abs(zval))
    ci_lb = b - crit * se
    ci_ub = b + crit * se
    half_pi = crit * np.sqrt(se**2 + tau2)
    pi_lb = np.where(k >= 2, b - half_pi, np.nan)
    pi_ub = np.where(k >= 2, b + half_pi, np.nan)
    weights = 100.0 * w / sw[:, None]

    nan = np.full(nb, np.nan)
    t_lo, t_hi, i_lo, i_hi, h_lo, h_hi = nan, nan, nan, nan, nan, nan
    if tau2_ci and not common:
        t_lo, t_hi = q_profile(y, v, mask, level=level)
        with np.errstate(divide="ignore", invalid="ignore"):
            i_lo = 100.0 * t_lo / (t_lo + s2)
            i_hi = 100.0 * t_hi / (t_hi + s2)
            h_lo = (t_lo + s2) / s2  # metafor confint(): H2 = (tau2 + s2) / s2
            h_hi = (t_hi + s2) / s2
    return RmaFit(
        k=k, b=b, se=se, ci_lb=ci_lb, ci_ub=ci_ub, pi_lb=pi_lb, pi_ub=pi_ub, tau2=tau2,
        tau2_ci_lb=t_lo, tau2_ci_ub=t_hi, i2=i2, i2_ci_lb=i_lo, i2_ci_ub=i_hi, h2=h2,
        h2_ci_lb=h_lo, h2_ci_ub=h_hi,
        q=q, q_df=df, q_pvalue=q_p, weights=weights, s2w=s2w, crit=crit, zval=zval, pval=pval,
    )
