"""From a study's reported outcome to its effect size on the pooling scale.

Three data forms, in order of preference:

1. counts ``count/total``: exact binomial effect sizes (metafor ``escalc``), per-study
   interval by ``study_ci``;
2. an estimate with a reported interval: the standard error recovered from the interval on
   the scale the source computed it (``ci_method``), carried to the pooling scale by the
   delta method; the reported interval is shown as is;
3. an estimate with ``total`` (or ``at_risk``) but no interval: the binomial approximation as
   if ``estimate * total`` events had been seen (Peto's variance with ``at_risk``), flagged
   ``approximate``. The interval shown with ``total`` is the Wilson score interval of
   ``estimate * total`` events of ``total``, which always contains the estimate (also 0 and
   1, where the continuity-corrected effect size lies inside (0, 1)).

An estimate with neither an interval nor a total has no standard error; it is not pooled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metaview.choices import ReportedCIMethod, Scale, StudyCI, require
from metaview.estimate import transforms
from metaview.estimate.proportion_ci import proportion_ci
from metaview.estimate.survival import peto_variance, se_from_interval
from metaview.model import Outcome


@dataclass(slots=True)  # not frozen: built once per outcome, many thousands at a time
class OutcomeEffect:
    """One outcome on the pooling scale, with what a table or plot shows for it."""

    yi: float
    vi: float
    estimate: float
    ci_low: float
    ci_high: float
    ci_source: str  # the per-study CI method, "reported" or "approximate"
    n: float | None  # sample size (for the Freeman-Tukey back-transform)
    count: int | None = None
    total: int | None = None
    approximate: bool = False
    corrected: bool = False
    notes: tuple[str, ...] = ()  # caveats for the warnings list


class NoStandardError(ValueError):
    """The outcome carries no information about its precision."""


def outcome_effects(
    outcomes: list[Outcome],
    *,
    scale: Scale = Scale.LOGIT,
    study_ci: StudyCI = StudyCI.WILSON,
    level: float = 0.95,
) -> list[OutcomeEffect | NoStandardError]:
    """Effect sizes of many outcomes; counts are done in one vectorised pass."""
    scale = require(Scale, scale, "scale")
    study_ci = require(StudyCI, study_ci, "study_ci")
    out: list[OutcomeEffect | NoStandardError | None] = [None] * len(outcomes)
    idx = [i for i, o in enumerate(outcomes) if o.has_counts]
    if idx:
        x = np.array([outcomes[i].count for i in idx], dtype=float)
        n = np.array([outcomes[i].total for i in idx], dtype=float)
        es = transforms.effect_sizes(x, n, scale)
        lo, hi = proportion_ci(x, n, method=study_ci, level=level)
        for j, i in enumerate(idx):
            o = outcomes[i]
            out[i] = OutcomeEffect(
                yi=float(es.yi[j]), vi=float(es.vi[j]), estimate=float(x[j] / n[j]),
                ci_low=float(lo[j]), ci_high=float(hi[j]), ci_source=study_ci.value,
                n=float(n[j]), count=o.count, total=o.total, corrected=bool(es.corrected[j]),
            )
    idx = [i for i, o in enumerate(outcomes)
           if out[i] is None and o.ci is None and o.total is not None]
    if idx:  # estimate and total only: the binomial approximation, vectorised too
        for i, effect in zip(idx, _approximate_effects([outcomes[i] for i in idx], scale, level)):
            out[i] = effect
    for i, o in enumerate(outcomes):
        if out[i] is None:
            try:
                out[i] = _reported_effect(o, scale, level)
            except NoStandardError as exc:
                out[i] = exc
    return [e for e in out if e is not None]


def _approximate_effects(outcomes: list[Outcome], scale: Scale,
                         level: float) -> list[OutcomeEffect]:
    """Estimate and total without an interval: as if ``estimate * total`` events were seen."""
    p = np.array([o.proportion for o in outcomes], dtype=float)
    n = np.array([o.total for o in outcomes], dtype=float)
    es = transforms.effect_sizes(p * n, n, scale)
    lo, hi = proportion_ci(p * n, n, method=StudyCI.WILSON, level=level)
    return [
        OutcomeEffect(
            yi=float(es.yi[j]), vi=float(es.vi[j]), estimate=float(p[j]), ci_low=float(lo[j]),
            ci_high=float(hi[j]), ci_source="approximate", n=float(n[j]), total=o.total,
            approximate=True, corrected=bool(es.corrected[j]),
        )
        for j, o in enumerate(outcomes)
    ]


def _reported_effect(o: Outcome, scale: Scale, level: float) -> OutcomeEffect:
    p = o.proportion
    size = o.total if o.total is not None else o.at_risk
    notes: list[str] = []
    if o.ci is not None:
        low, high = o.ci
        try:
            rec = se_from_interval(p, low, high, level=o.ci_level,
                                   ci_method=ReportedCIMethod(o.ci_method), scale=scale)
        except ValueError as exc:
            raise NoStandardError(f"its interval cannot give a standard error ({exc})") from None
        if rec.assumed:
            if o.ci_method == "unknown":
                notes.append("interval method unknown: taken as symmetric on the "
                             f"{rec.interval_scale.value} scale")
            else:
                notes.append(f"{o.ci_method} interval taken as symmetric on the logit scale")
        if rec.one_sided:
            notes.append("a reported bound was truncated at 0 or 1: the other half-width used")
        yi = _point(p, scale, size)
        if not math.isfinite(yi):
            raise NoStandardError(f"an estimate of {p:g} cannot be put on the {scale.value} scale")
        return OutcomeEffect(
            yi=yi, vi=rec.se**2, estimate=p, ci_low=low, ci_high=high, ci_source="reported",
            n=None if size is None else float(size), total=o.total, notes=tuple(notes),
        )
    if o.at_risk is None:
        raise NoStandardError("no interval, counts or total: no standard error can be derived")
    # at_risk without total: Peto's variance on the raw scale, then the delta method
    size = o.at_risk
    g = Scale.ARCSINE if scale is Scale.PFT else scale
    d = float(transforms.derivative(p, g))
    yi, vi = _point(p, scale, size), peto_variance(p, size) * d * d
    if not (math.isfinite(yi) and vi > 0 and math.isfinite(vi)):
        raise NoStandardError(f"Peto's variance is 0 at an estimate of {p:g}; give a CI")
    from metaview.distributions import norm_ppf

    half = float(norm_ppf(0.5 + level / 2.0)) * math.sqrt(vi)
    lo, hi = transforms.back_transform_interval(yi - half, yi + half, scale,
                                                n_harmonic=float(size))
    return OutcomeEffect(
        yi=yi, vi=vi, estimate=p, ci_low=float(np.clip(lo, 0, 1)),
        ci_high=float(np.clip(hi, 0, 1)), ci_source="approximate", n=float(size),
        approximate=True,
        notes=("standard error from Peto's variance with the number at risk",),
    )


def _point(p: float, scale: Scale, size: float | None) -> float:
    return float(transforms.transform(p, scale, n=size))
