"""Standard errors recovered from reported intervals (landmark survival and the like).

A reported interval ``[low, high]`` for an estimate ``p`` was computed by the source on some
scale ``h`` (``ci_method``): R survival's default is ``log``, many papers use ``log-log``
(Kalbfleisch & Prentice 1980; SAS LIFETEST's default). The standard error on that scale is
``(h(high) - h(low)) / (2 z)``; the delta method carries it to the pooling scale ``g``:
``SE_g = SE_h |g'(p) / h'(p)|``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from metaview.choices import ReportedCIMethod, Scale, require
from metaview.estimate import transforms

#: interval methods of the source -> the scale on which that interval is symmetric
_SYMMETRIC_ON: dict[ReportedCIMethod, Scale | None] = {
    ReportedCIMethod.LOG_LOG: Scale.CLOGLOG,
    ReportedCIMethod.LOG: Scale.LOG,
    ReportedCIMethod.LOGIT: Scale.LOGIT,
    ReportedCIMethod.PLAIN: Scale.RAW,
    ReportedCIMethod.ARCSINE: Scale.ARCSINE,
    # score and exact binomial intervals are close to symmetric on the logit scale
    ReportedCIMethod.CLOPPER_PEARSON: Scale.LOGIT,
    ReportedCIMethod.WILSON: Scale.LOGIT,
    ReportedCIMethod.UNKNOWN: None,
}


@dataclass(frozen=True)
class RecoveredSE:
    """A standard error on the pooling scale, and how it was obtained."""

    se: float
    interval_scale: Scale  # the scale h the interval was taken to be symmetric on
    assumed: bool  # h was assumed (ci_method unknown, or a binomial interval)
    one_sided: bool  # a bound was truncated at 0 or 1; the other half-width was used


def se_from_interval(
    p: float,
    low: float,
    high: float,
    *,
    level: float = 0.95,
    ci_method: ReportedCIMethod = ReportedCIMethod.UNKNOWN,
    scale: Scale = Scale.LOGIT,
) -> RecoveredSE:
    """The standard error of ``g(p)`` implied by a reported interval.

    Raises
    ------
    ValueError
        When the interval carries no information (both ends truncated, or zero width).
    """
    from metaview.distributions import norm_ppf as ndtri

    method = require(ReportedCIMethod, ci_method, "ci_method")
    scale = require(Scale, scale, "scale")
    h = _SYMMETRIC_ON[method]
    assumed = h is None or method in (ReportedCIMethod.CLOPPER_PEARSON, ReportedCIMethod.WILSON)
    if h is None:
        h = Scale.ARCSINE if scale is Scale.PFT else scale
    z = float(ndtri(0.5 + level / 2.0))
    hp, hl, hh = (float(transforms.transform(t, h)) for t in (p, low, high))
    lo_ok = math.isfinite(hl) and 0.0 < low
    hi_ok = math.isfinite(hh) and high < 1.0
    if lo_ok and hi_ok:
        se_h = abs(hh - hl) / (2.0 * z)
        one_sided = False
    elif lo_ok and math.isfinite(hp):
        se_h = abs(hp - hl) / z
        one_sided = True
    elif hi_ok and math.isfinite(hp):
        se_h = abs(hh - hp) / z
        one_sided = True
    else:
        raise ValueError("the interval has no finite end on its own scale")
    if not se_h > 0:
        raise ValueError("the interval has zero width")
    g = Scale.ARCSINE if scale is Scale.PFT else scale
    ratio = float(transforms.derivative(p, g)) / float(transforms.derivative(p, h))
    return RecoveredSE(se_h * ratio, h, assumed, one_sided)


def peto_variance(p: float, at_risk: float) -> float:
    """Peto's variance of a Kaplan-Meier estimate: ``S^2 (1 - S) / n(t)`` (raw scale)."""
    return p * p * (1.0 - p) / at_risk
