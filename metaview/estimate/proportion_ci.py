"""Confidence intervals for a single binomial proportion, shown per study.

The method names and results are those of statsmodels ``proportion_confint`` (which the
tests use as the reference). They are written here with ``scipy.special`` because importing
``statsmodels.stats.proportion`` costs about two seconds, which every ``metaview`` command
would pay.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metaview.choices import StudyCI, require

Array = NDArray[np.float64]


def proportion_ci(
    x: ArrayLike, n: ArrayLike, *, method: StudyCI = StudyCI.WILSON, level: float = 0.95
) -> tuple[Array, Array]:
    """Interval for ``x`` events of ``n`` (arrays broadcast).

    Notes
    -----
    * wilson: score interval (Wilson 1927); exactly 0 (1) at the lower (upper) end when
      ``x = 0`` (``x = n``).
    * clopper-pearson: beta quantiles ``B(a/2; x, n-x+1)``, ``B(1-a/2; x+1, n-x)``.
    * agresti-coull: Wald interval around ``(x + z^2/2)/(n + z^2)``, clipped to [0, 1].
    * jeffreys: equal-tailed beta(x + 1/2, n - x + 1/2) quantiles (as statsmodels: no
      boundary modification at x = 0 or x = n).
    * wald: ``p -/+ z sqrt(p(1-p)/n)``, clipped to [0, 1].

    Every interval is clipped into [0, 1] (which removes rounding past the ends).
    Checked against statsmodels ``proportion_confint(method="wilson" | "beta" |
    "agresti_coull" | "jeffreys" | "normal")`` and Newcombe (1998), Table I.
    """
    from metaview.distributions import norm_ppf as ndtri

    method = require(StudyCI, method, "method")
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1.0 - level
    z = ndtri(1.0 - alpha / 2.0)
    p = x / n
    with np.errstate(divide="ignore", invalid="ignore"):
        if method is StudyCI.WILSON:
            denom = n + z**2
            centre = (x + z**2 / 2.0) / denom
            half = z / denom * np.sqrt(x * (n - x) / n + z**2 / 4.0)
            # exact ends at x = 0 and x = n (centre -/+ half is 0 or 1 only up to rounding)
            lo = np.where(x <= 0, 0.0, centre - half)
            hi = np.where(x >= n, 1.0, centre + half)
        elif method is StudyCI.CLOPPER_PEARSON:
            from scipy.special import betaincinv

            lo = np.where(x > 0, betaincinv(x, n - x + 1.0, alpha / 2.0), 0.0)
            hi = np.where(x < n, betaincinv(x + 1.0, n - x, 1.0 - alpha / 2.0), 1.0)
        elif method is StudyCI.JEFFREYS:
            from scipy.special import betaincinv

            lo = betaincinv(x + 0.5, n - x + 0.5, alpha / 2.0)
            hi = betaincinv(x + 0.5, n - x + 0.5, 1.0 - alpha / 2.0)
        elif method is StudyCI.AGRESTI_COULL:
            nt = n + z**2
            pt = (x + z**2 / 2.0) / nt
            half = z * np.sqrt(pt * (1.0 - pt) / nt)
            lo, hi = pt - half, pt + half
        else:
            half = z * np.sqrt(p * (1.0 - p) / n)
            lo, hi = p - half, p + half
    # every method's interval lies in [0, 1]; clipping removes rounding beyond the ends
    return (np.asarray(np.clip(lo, 0.0, 1.0), dtype=float),
            np.asarray(np.clip(hi, 0.0, 1.0), dtype=float))
