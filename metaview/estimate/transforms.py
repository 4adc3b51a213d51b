"""Pooling scales for proportions: effect sizes from counts, transforms and back-transforms.

Effect sizes match metafor ``escalc`` (measures PLO, PLN, PR, PAS, PFT), including its
continuity correction (``add=1/2, to="only0"``): for the logit, log, raw and cloglog scales
a study with ``x = 0`` or ``x = n`` gets ``x + 1/2`` events of ``n + 1``; arcsine and
Freeman-Tukey need no correction. The cloglog scale (``log(-log p)``) has no metafor measure;
its variance is the delta-method binomial one, ``(1 - p) / (n p log(p)^2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metaview.choices import Scale, require

Array = NDArray[np.float64]

#: scales whose effect sizes get metafor's continuity correction
CORRECTED_SCALES = frozenset({Scale.LOGIT, Scale.LOG, Scale.RAW, Scale.CLOGLOG})


@dataclass(frozen=True)
class EffectSizes:
    """Per-study effect sizes on one scale (arrays of the input's shape)."""

    yi: Array
    vi: Array
    corrected: NDArray[np.bool_]  # continuity correction applied


def effect_sizes(x: ArrayLike, n: ArrayLike, scale: Scale) -> EffectSizes:
    """Effect sizes and sampling variances of proportions ``x/n`` on ``scale``.

    Notes
    -----
    metafor: ``escalc(measure="PLO"|"PLN"|"PR"|"PAS"|"PFT", xi=x, ni=n)``. ``x`` need not
    be an integer (an estimate times a total is used for reported proportions).
    """
    scale = require(Scale, scale, "scale")
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    corrected = np.zeros(np.broadcast(x, n).shape, dtype=bool)
    if scale in CORRECTED_SCALES:
        corrected = (x <= 0) | (x >= n)
        x = np.where(corrected, x + 0.5, x)
        n = np.where(corrected, n + 1.0, n)
    p = x / n
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale is Scale.LOGIT:
            yi = np.log(x / (n - x))
            vi = 1.0 / x + 1.0 / (n - x)
        elif scale is Scale.LOG:
            yi = np.log(p)
            vi = 1.0 / x - 1.0 / n
        elif scale is Scale.RAW:
            yi = p
            vi = p * (1.0 - p) / n
        elif scale is Scale.CLOGLOG:
            logp = np.log(p)
            yi = np.log(-logp)
            vi = (1.0 - p) / (n * p * logp**2)
        elif scale is Scale.ARCSINE:
            yi = np.arcsin(np.sqrt(p))
            vi = 1.0 / (4.0 * n)
        else:  # PFT
            yi = pft(x, n)
            vi = 1.0 / (4.0 * n + 2.0)
    return EffectSizes(np.asarray(yi, float), np.asarray(vi, float), np.asarray(corrected))


def pft(x: ArrayLike, n: ArrayLike) -> Array:
    """Freeman-Tukey double arcsine of ``x`` events of ``n`` (metafor's half-sum form)."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    return 0.5 * (np.arcsin(np.sqrt(x / (n + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (n + 1.0))))


def ipft(y: ArrayLike, n: ArrayLike) -> Array:
    """Miller's (1978) inverse of the Freeman-Tukey transform at sample size ``n``.

    Notes
    -----
    metafor ``transf.ipft(xi, ni)``; with ``n`` the harmonic mean of the studies' sizes this
    is ``transf.ipft.hm``.
    """
    y = np.asarray(y, dtype=float)
    n = np.asarray(n, dtype=float)
    s = np.sin(2.0 * y)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = 1.0 - (s + (s - 1.0 / s) / n) ** 2
        p = 0.5 * (1.0 - np.sign(np.cos(2.0 * y)) * np.sqrt(inner))
    p = np.where(y > pft(n, n), 1.0, p)
    p = np.where(y < pft(0.0, n), 0.0, p)
    return np.asarray(p, dtype=float)


def transform(p: ArrayLike, scale: Scale, *, n: ArrayLike | None = None) -> Array:
    """A proportion ``p`` on the pooling scale (PFT needs ``n``; without it: arcsine)."""
    scale = require(Scale, scale, "scale")
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale is Scale.LOGIT:
            return np.log(p / (1.0 - p))
        if scale is Scale.LOG:
            return np.log(p)
        if scale is Scale.RAW:
            return p.copy()
        if scale is Scale.CLOGLOG:
            return np.log(-np.log(p))
        if scale is Scale.ARCSINE or n is None:
            return np.arcsin(np.sqrt(p))
        return pft(p * np.asarray(n, float), n)


def derivative(p: ArrayLike, scale: Scale) -> Array:
    """|dg/dp| of the pooling transform g at ``p`` (PFT: that of the arcsine, its limit)."""
    scale = require(Scale, scale, "scale")
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale is Scale.LOGIT:
            d = 1.0 / (p * (1.0 - p))
        elif scale is Scale.LOG:
            d = 1.0 / p
        elif scale is Scale.RAW:
            d = np.ones_like(p)
        elif scale is Scale.CLOGLOG:
            d = 1.0 / (p * np.log(p))
        else:
            d = 1.0 / (2.0 * np.sqrt(p * (1.0 - p)))
    return np.abs(d)


def back_transform(y: ArrayLike, scale: Scale, *,
                   n_harmonic: ArrayLike | None = None) -> Array:
    """A value on the pooling scale back to a proportion.

    The raw and log scales can give values outside [0, 1]; they are returned as computed
    (the caller warns). On the bounded scales (logit, cloglog, arcsine, Freeman-Tukey) the
    result is clipped into [0, 1], so rounding never gives 1.0000000000000002. cloglog is
    decreasing: swap interval ends after back-transforming (:func:`back_transform_interval`
    does).
    """
    scale = require(Scale, scale, "scale")
    y = np.asarray(y, dtype=float)
    if scale is Scale.LOG:
        return np.exp(y)
    if scale is Scale.RAW:
        return y.copy()
    if scale is Scale.LOGIT:
        p = np.asarray(_expit(y), dtype=float)
    elif scale is Scale.CLOGLOG:
        p = np.exp(-np.exp(y))
    elif scale is Scale.ARCSINE or n_harmonic is None:
        p = np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2
    else:
        p = ipft(y, n_harmonic)
    return np.clip(p, 0.0, 1.0)


def back_transform_interval(
    low: ArrayLike, high: ArrayLike, scale: Scale, *, n_harmonic: ArrayLike | None = None
) -> tuple[Array, Array]:
    """Interval ends back to proportions, in increasing order."""
    a = back_transform(low, scale, n_harmonic=n_harmonic)
    b = back_transform(high, scale, n_harmonic=n_harmonic)
    return np.minimum(a, b), np.maximum(a, b)


def _expit(y: Array) -> Array:
    from metaview.distributions import expit

    return np.asarray(expit(y), dtype=float)
