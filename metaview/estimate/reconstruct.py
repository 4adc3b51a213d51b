"""Pseudo individual patient data from a digitised Kaplan-Meier curve (Guyot et al. 2012).

Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
2012;12:9. The algorithm, as implemented here:

* The curve starts at ``(0, 1)`` (readings at time 0 are replaced by it). Each table time
  ``t_i`` gets a point with the curve's value there (a step function: the last reading at or
  before ``t_i``), so every risk-table interval ``[t_i, t_{i+1})`` starts with a point, also
  an interval in which nothing was digitised.
* Per interval, the number censored ``c_i`` is first guessed from the drop of the curve,
  ``round(n_i S(t_{i+1}) / S(t_i) - n_{i+1})``, and then corrected by the difference between
  the implied and the published number at risk at ``t_{i+1}`` until they agree (or cannot:
  then the next interval starts from the implied number, as in Guyot's code). Censoring
  times are spread uniformly inside the interval, ``t_i + j (t_{i+1} - t_i) / (c_i + 1)``.
* At each point ``k`` the deaths are ``d_k = round(n_k (1 - S_k / KM_{k-1}))`` with ``n_k``
  the number still at risk and ``KM_{k-1}`` the Kaplan-Meier estimate of the reconstruction
  so far.
* The last interval (from the last table time to the end of the curve) has no number at
  risk to match: with ``events`` given, its censoring is chosen so that the reconstruction
  has that many events in total; without, it is censored at the average rate of the
  earlier intervals (per unit of time). Patients left at the end are censored at the
  curve's last time.

The reconstructed number at risk at ``t`` is the count of patients with time ``>= t``.
:func:`km_summary` computes the Kaplan-Meier estimate, its Greenwood variance, the log-log
interval, the median and its interval from the reconstruction with lifelines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from metaview.model import Curve, Outcome, Study

#: Most corrections of one interval's censoring before the closest one is kept.
MAX_ITERATIONS = 100


@dataclass(frozen=True)
class AtRiskCheck:
    """Published against reconstructed number at risk at one table time."""

    time: float
    published: int
    reconstructed: int

    def to_dict(self) -> dict[str, float | int]:
        return {"time": self.time, "published": self.published,
                "reconstructed": self.reconstructed}


@dataclass(frozen=True)
class Reconstruction:
    """Reconstructed patients of one curve: ``time`` (in the curve's unit) and ``event``."""

    time: np.ndarray
    event: np.ndarray  # 1 = event, 0 = censored
    at_risk_check: tuple[AtRiskCheck, ...]
    notes: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        return int(self.time.size)

    @property
    def events(self) -> int:
        return int(self.event.sum())

    def at_risk(self, t: float) -> int:
        """Reconstructed patients with time ``>= t``."""
        return int(np.count_nonzero(self.time >= t - 1e-12))


def reconstruct_curve(curve: Curve) -> Reconstruction:
    """:func:`reconstruct` for a curve of a study file."""
    return reconstruct(curve.times, curve.survival, curve.at_risk_times, curve.at_risk_n,
                       events=curve.events)


def reconstruct(times: Sequence[float], survival: Sequence[float],
                at_risk_times: Sequence[float], at_risk_n: Sequence[int],
                events: int | None = None) -> Reconstruction:
    """Reconstruct patient-level data from digitised points and a numbers-at-risk table.

    Parameters
    ----------
    times, survival
        The digitised points, sorted by time, survival as non-increasing fractions (what
        the loader makes of a points file).
    at_risk_times, at_risk_n
        The numbers-at-risk table: increasing times starting at 0, non-increasing numbers.
    events
        Total number of events, when the paper gives it (closes the last interval).

    Returns
    -------
    Reconstruction
        One row per patient of ``at_risk_n[0]``.
    """
    tr = [float(x) for x in at_risk_times]
    nr = [int(x) for x in at_risk_n]
    if not tr or tr[0] != 0.0 or len(tr) != len(nr):
        raise ValueError("the at-risk table must start at time 0, one number per time")
    t, s = _points(times, survival, tr)
    m = len(tr)
    lower = [int(np.searchsorted(t, x, side="left")) for x in tr]
    upper = [lower[i + 1] - 1 for i in range(m - 1)] + [len(t) - 1]
    t_end = max(float(t[-1]), tr[-1])
    ends = tr[1:] + [t_end]

    deaths = np.zeros(len(t), dtype=np.int64)
    cens_times: list[float] = []
    notes: list[str] = []
    km = 1.0
    n_start = nr[0]
    censored_before = 0
    for i in range(m):
        lo, hi = lower[i], upper[i]
        if i < m - 1:
            target = nr[i + 1]
            guess = 0 if s[lo] <= 0 else round(n_start * s[lower[i + 1]] / s[lo] - target)
            n_cens = max(0, min(guess, n_start))
            best = _interval(t, s, lo, hi, tr[i], ends[i], n_start, n_cens, km, i == 0)
            run, tried = best, {n_cens}
            for _ in range(MAX_ITERATIONS):
                miss = run[3] - target
                if abs(miss) < abs(best[3] - target):
                    best = run
                if miss == 0 or (miss < 0 and n_cens == 0):
                    break
                n_cens = max(0, min(n_cens + miss, n_start))
                if n_cens in tried:
                    break
                tried.add(n_cens)
                run = _interval(t, s, lo, hi, tr[i], ends[i], n_start, n_cens, km, i == 0)
            d, cts, _, n_end, km = best
            censored_before += len(cts)
        else:
            d, cts, _, n_end, km = _last_interval(
                t, s, lo, hi, tr[i], t_end, n_start, km, i == 0, events,
                int(deaths.sum()), censored_before, tr, notes)
        deaths[lo:hi + 1] = d
        cens_times.extend(cts)
        n_start = n_end
    if n_start > 0:
        cens_times.extend([t_end] * n_start)
    event_times = np.repeat(t, deaths)
    time = np.concatenate([event_times, np.asarray(cens_times, dtype=float)])
    event = np.concatenate([np.ones(event_times.size, dtype=np.int64),
                            np.zeros(len(cens_times), dtype=np.int64)])
    order = np.lexsort((1 - event, time))
    time, event = time[order], event[order]
    checks = tuple(
        AtRiskCheck(x, n, int(np.count_nonzero(time >= x - 1e-12))) for x, n in zip(tr, nr))
    if events is not None and int(event.sum()) != events and not notes:
        notes.append(f"the reconstruction has {int(event.sum())} events, the paper {events} "
                     "(the curve and the table do not allow more agreement)")
    return Reconstruction(time, event, checks, tuple(notes))


def _points(times: Sequence[float], survival: Sequence[float],
            table: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """The points with ``(0, 1)`` first and one point at every table time."""
    t = np.asarray(times, dtype=float)
    s = np.asarray(survival, dtype=float)
    keep = t > 0
    t = np.concatenate([[0.0], t[keep]])
    s = np.concatenate([[1.0], np.minimum.accumulate(np.minimum(s[keep], 1.0))])
    extra = [x for x in table[1:] if not np.any(t == x)]
    if extra:
        at = np.searchsorted(t, extra, side="right") - 1
        t = np.concatenate([t, extra])
        s = np.concatenate([s, s[at]])
        order = np.lexsort((-s, t))
        t, s = t[order], s[order]
    return t, s


def _interval(t: np.ndarray, s: np.ndarray, lo: int, hi: int, start: float, end: float,
              n_start: int, n_cens: int, km: float,
              first: bool) -> tuple[np.ndarray, list[float], int, int, float]:
    """Deaths per point, censoring times, censored count, number left and KM at the end."""
    if n_cens > 0:
        step = (end - start) / (n_cens + 1)
        cts = [start + j * step for j in range(1, n_cens + 1)]
    else:
        cts = []
    # censoring times falling in [t_k, t_{k+1}) of each point k of the interval
    bounds = np.append(t[lo + 1:hi + 1], np.inf)
    per_point = np.bincount(np.searchsorted(bounds, cts, side="right"),
                            minlength=hi - lo + 1) if cts else np.zeros(hi - lo + 1, int)
    d = np.zeros(hi - lo + 1, dtype=np.int64)
    n = n_start
    kept: list[float] = []
    at = 0
    for j, k in enumerate(range(lo, hi + 1)):
        if n > 0 and not (first and j == 0) and km > 0:
            dk = round(n * (1.0 - s[k] / km))
            dk = max(0, min(dk, n))
            if dk:
                km *= 1.0 - dk / n
                n -= dk
                d[j] = dk
        c = int(per_point[j])
        taken = min(c, n)
        kept.extend(cts[at:at + taken])
        at += c
        n -= taken
    return d, kept, len(kept), n, km


def _last_interval(t: np.ndarray, s: np.ndarray, lo: int, hi: int, start: float, end: float,
                   n_start: int, km: float, first: bool, events: int | None, deaths_so_far: int,
                   censored_before: int, table: list[float],
                   notes: list[str]) -> tuple[np.ndarray, list[float], int, int, float]:
    span_before = table[-1] - table[0]
    if span_before > 0 and end > start:
        average = round(censored_before * (end - start) / span_before)
    else:
        average = 0
    average = max(0, min(average, n_start))
    if events is None:
        return _interval(t, s, lo, hi, start, end, n_start, average, km, first)
    wanted = events - deaths_so_far
    if wanted < 0:
        notes.append(f"the curve has {deaths_so_far} events before the last table time, more "
                     f"than the {events} the paper gives: its last interval is censored at "
                     "the average rate")
        return _interval(t, s, lo, hi, start, end, n_start, average, km, first)

    def run(c: int) -> tuple[np.ndarray, list[float], int, int, float]:
        return _interval(t, s, lo, hi, start, end, n_start, c, km, first)

    # events in the interval fall as censoring grows: bisect for the closest count
    low, high = 0, n_start
    best = run(average)
    best_miss = abs(int(best[0].sum()) - wanted)
    while low <= high and best_miss:
        mid = (low + high) // 2
        r = run(mid)
        got = int(r[0].sum())
        if abs(got - wanted) < best_miss or (abs(got - wanted) == best_miss
                                             and abs(mid - average) < abs(best[2] - average)):
            best, best_miss = r, abs(got - wanted)
        if got > wanted:
            low = mid + 1
        elif got < wanted:
            high = mid - 1
        else:
            break
    return best


# --------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class Landmark:
    """The Kaplan-Meier estimate of the reconstruction at one landmark."""

    time_months: float
    estimate: float
    se: float  # Greenwood, on the survival scale
    ci_low: float
    ci_high: float
    at_risk: int

    def to_dict(self) -> dict[str, float | int]:
        return {"time_months": self.time_months, "estimate": self.estimate,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "at_risk": self.at_risk}


@dataclass(frozen=True)
class KMSummary:
    """Kaplan-Meier summary of a reconstruction (times in the curve's unit)."""

    n: int
    events: int
    median: float | None  # None: not reached
    median_ci_low: float | None
    median_ci_high: float | None
    landmarks: tuple[Landmark, ...]
    level: float
    #: the Kaplan-Meier step function: survival from ``timeline[i]`` on (curve's unit)
    timeline: tuple[float, ...] = ()
    survival: tuple[float, ...] = ()

    def survival_at(self, t: float) -> float:
        """The Kaplan-Meier estimate at ``t`` (in the curve's unit)."""
        j = int(np.searchsorted(self.timeline, t, side="right")) - 1
        return 1.0 if j < 0 else self.survival[j]


def km_summary(rec: Reconstruction, landmarks_months: Sequence[float], months_per_unit: float,
               level: float = 0.95) -> KMSummary:
    """Kaplan-Meier estimate, Greenwood SE and log-log interval at each landmark, the median
    and its interval (the times where the interval's bounds reach 0.5), with lifelines.
    """
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    kmf = KaplanMeierFitter(alpha=1.0 - level)
    kmf.fit(rec.time, rec.event)
    table = kmf.event_table
    at = table.index.to_numpy(dtype=float)
    d = table["observed"].to_numpy(dtype=float)
    n = table["at_risk"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(d > 0, d / (n * (n - d)), 0.0)
    greenwood = np.cumsum(terms)
    sf = kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    ci = kmf.confidence_interval_.to_numpy(dtype=float)
    timeline = kmf.timeline
    if not np.array_equal(timeline, at):  # pragma: no cover - lifelines' default timeline
        raise RuntimeError("lifelines' timeline differs from its event table")
    out = []
    for months in landmarks_months:
        x = months / months_per_unit
        j = int(np.searchsorted(at, x, side="right")) - 1
        if j < 0:
            est, var, lo, hi = 1.0, 0.0, 1.0, 1.0
        else:
            est = float(sf[j])
            var = est * est * float(greenwood[j]) if math.isfinite(greenwood[j]) else math.nan
            lo, hi = float(ci[j, 0]), float(ci[j, 1])
        out.append(Landmark(float(months), est, math.sqrt(var) if var >= 0 else math.nan,
                            lo, hi, rec.at_risk(x)))
    median = _finite(kmf.median_survival_time_)
    bounds = median_survival_times(kmf.confidence_interval_)
    m_low, m_high = (_finite(v) for v in bounds.to_numpy(dtype=float)[0])
    return KMSummary(rec.n, rec.events, median, m_low, m_high, tuple(out), level,
                     tuple(float(x) for x in kmf.timeline), tuple(float(x) for x in sf))


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


# --------------------------------------------------------------------------- per study


@dataclass(frozen=True)
class CurveResult:
    """One study's curve: its reconstruction and the Kaplan-Meier summary of it."""

    study_id: str
    label: str
    arm: str
    is_index: bool
    curve: Curve
    reconstruction: Reconstruction
    summary: KMSummary

    @property
    def notes(self) -> tuple[str, ...]:
        unit = ("percent" if self.curve.survival_unit == "percent" else "fractions")
        first = (f"{Path(self.curve.points).name}: {len(self.curve.times)} points, survival "
                 f"read as {unit}")
        return (first,) + self.curve.notes + self.reconstruction.notes

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``metaview km --format json`` (one curve)."""
        s, c = self.summary, self.curve
        return {
            "study": self.study_id,
            "label": self.label,
            "arm": self.arm,
            "index": self.is_index,
            "endpoint": c.endpoint,
            "time_unit": c.time_unit,
            "time_origin": c.time_origin,
            "source": c.source,
            "points": c.points,
            "survival_unit": c.survival_unit,
            "level": s.level,
            "n": s.n,
            "events": s.events,
            "events_published": c.events,
            "median": s.median,
            "median_ci_low": s.median_ci_low,
            "median_ci_high": s.median_ci_high,
            "landmarks": [x.to_dict() for x in s.landmarks],
            "at_risk_check": [x.to_dict() for x in self.reconstruction.at_risk_check],
            "notes": list(self.notes),
        }


def analyse_curves(studies: Sequence[Study], landmarks_months: Sequence[float],
                   level: float = 0.95, endpoints: Sequence[str] | None = None
                   ) -> list[CurveResult]:
    """Every curve of ``studies`` (of ``endpoints``, when given) reconstructed and summarised."""
    out = []
    for study in studies:
        for curve in study.curves:
            if endpoints and curve.endpoint not in endpoints:
                continue
            rec = reconstruct_curve(curve)
            summary = km_summary(rec, landmarks_months, curve.months_per_unit, level)
            out.append(CurveResult(study.id, study.label, study.arm, study.index, curve, rec,
                                   summary))
    return out


# --------------------------------------------------------------------------- for pooling


def landmark_outcome(curve: Curve, time_months: float, level: float = 0.95) -> Outcome | str:
    """The landmark read off a curve's reconstruction, as an outcome to pool.

    The estimate is the Kaplan-Meier estimate of the reconstruction; its interval the
    log-log one from the Greenwood variance (``ci_method: log-log``), from which the
    standard error on the pooling scale follows exactly (the delta method of the Greenwood
    standard error). Returns the reason as text when the curve cannot give the landmark.
    """
    from metaview.model import Outcome

    rec, summary = _reconstructed(curve, float(time_months), level)
    horizon = float(rec.time.max()) * curve.months_per_unit
    if time_months > horizon + 1e-9:
        return (f"the reconstructed curve ({curve.source}) ends at {horizon:.3g} months, "
                f"before {time_months:g} months")
    (landmark,) = summary.landmarks
    return Outcome(
        endpoint=curve.endpoint, source=f"read from the reconstructed curve ({curve.source})",
        time_months=float(time_months), time_origin=curve.time_origin, total=rec.n,
        estimate=landmark.estimate, estimate_text=f"{100 * landmark.estimate:.1f}%",
        ci=(landmark.ci_low, landmark.ci_high), ci_level=level, ci_method="log-log",
        at_risk=landmark.at_risk, line=curve.line, reconstructed=True,
    )


def effective_counts(outcome: Outcome) -> tuple[int, int] | None:
    """Binomial counts with the reconstructed estimate and its Greenwood variance:
    ``n = S (1 - S) / Var(S)``, ``x = round(S n)`` (an approximation, for the GLMM)."""
    from metaview.distributions import norm_ppf

    if outcome.estimate is None or outcome.ci is None:
        return None
    s, (low, high) = outcome.estimate, outcome.ci
    if not (0 < low <= s <= high < 1) or s >= 1:
        return None
    z = float(norm_ppf(0.5 + outcome.ci_level / 2.0))
    se_theta = (math.log(-math.log(low)) - math.log(-math.log(high))) / (2 * z)
    var = (s * abs(math.log(s)) * se_theta) ** 2
    if not var > 0:
        return None
    n = max(1, round(s * (1 - s) / var))
    return round(s * n), n


_CACHE: dict[tuple[Curve, float, float], tuple[Reconstruction, KMSummary]] = {}


def _reconstructed(curve: Curve, time_months: float,
                   level: float) -> tuple[Reconstruction, KMSummary]:
    key = (curve, time_months, level)
    found = _CACHE.get(key)
    if found is None:
        rec = reconstruct_curve(curve)
        found = (rec, km_summary(rec, [time_months], curve.months_per_unit, level))
        if len(_CACHE) > 256:
            _CACHE.clear()
        _CACHE[key] = found
    return found
