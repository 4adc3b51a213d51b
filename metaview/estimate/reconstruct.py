"""Pseudo individual patient data from a digitised Kaplan-Meier curve (Guyot et al. 2012).

Guyot P, Ades AE, Ouwens MJNM, Welton NJ. Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. BMC Med Res Methodol
2012;12:9. The algorithm, as implemented here:

* The curve starts at ``(0, 1)`` (readings at time 0 are replaced by it). A table time
  between two digitised points gets a point of its own: the step value (the earlier
  reading), or, when a drop between the two points spans the table time and both
  risk-table intervals around it hold digitised points, the value interpolated linearly
  between them (a digitiser sampling along the drawn line does not mark every step).
  An interval in which nothing was digitised is flat (step function).
* Per interval, the number censored ``c_i`` is first guessed from the drop of the curve,
  ``round(n_i S(t_{i+1}) / S(t_i) - n_{i+1})``, and then corrected by the difference between
  the implied and the published number at risk at ``t_{i+1}`` until they agree (Guyot's
  iteration). Censoring times are spread uniformly inside the interval,
  ``t_i + j (t_{i+1} - t_i) / (c_i + 1)``. When even no censoring leaves fewer at risk than
  the table, the interval's drops are shrunk in proportion (``S_k / S(t_i)`` to a power
  below 1) until its deaths fit the table.
* Digitised times are read to within :data:`TIME_TOLERANCE` of the time axis, so a drop
  that close to a table time may belong on either side of it. Each way of splitting the
  points there is tried; the split kept is the one that matches the published number at
  risk best and, among those, the one whose Kaplan-Meier estimate lies closest to the
  readings (least squares); a tie keeps the split at the table time. Deaths placed across
  a table time are timed just inside their interval, and a note counts them.
* At each point ``k`` the deaths are ``d_k = round(n_k (1 - S_k / KM_{k-1}))`` with ``n_k``
  the number still at risk and ``KM_{k-1}`` the Kaplan-Meier estimate of the reconstruction
  so far; a patient censored before a point's time leaves the risk set before its deaths.
* The last interval (from the last table time to the end of the curve) has no number at
  risk to match: with ``events`` given, its censoring is chosen so that the reconstruction
  has that many events in total; without, it is censored at the average rate of the
  earlier intervals (per unit of time). Patients left at the end are censored at the
  curve's last time.

The reconstructed number at risk at ``t`` is the count of patients with time ``>= t``.
:func:`km_summary` computes the Kaplan-Meier estimate, its Greenwood variance, the log-log
interval, the median and its interval from the reconstruction (the project's own
arithmetic, checked against lifelines in the tests; lifelines is not imported here).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from metaview.model import Curve, Outcome, Study

#: Most corrections of one interval's censoring before the closest one is kept.
MAX_ITERATIONS = 100
#: Digitised times are taken as read to within this share of the time axis (the larger of
#: the last point and the last table time): a drop this close to a table time may lie on
#: either side of it, and is placed on the side the numbers at risk support.
TIME_TOLERANCE = 0.005


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
    t_end = max(t[-1], tr[-1])
    tol = TIME_TOLERANCE * t_end
    deaths = [0] * len(t)
    death_times = list(t)
    assigned = [0] * len(t)  # the risk-table interval each point's deaths fell in
    cens_times: list[float] = []
    notes: list[str] = []
    km = 1.0
    n_start = nr[0]
    censored_before = 0
    lo = 1  # point 0 is the start of the curve, (0, 1)
    for i in range(m):
        if i < m - 1:
            start, stop, target = tr[i], tr[i + 1], nr[i + 1]
            default = bisect.bisect_left(t, stop, lo)
            first = max(lo, bisect.bisect_left(t, stop - tol))
            last = bisect.bisect_right(t, stop + tol)
            if i + 2 < m:
                last = min(last, bisect.bisect_left(t, tr[i + 2]))
            last = max(last, default)
            runs = []
            for e in _splits(s, lo, default, first, last):
                run = _matched(t, s, lo, e, start, stop, n_start, km, target, tol)
                error = run.error + _error_after(s, e, last, run.n_end, run.km)
                runs.append((abs(run.n_end - target), error, abs(e - default), e, run))
            miss = min(r[0] for r in runs)
            runs = [r for r in runs if r[0] == miss]
            near = min(runs, key=lambda r: (r[2], r[1]))
            fit = min(runs, key=lambda r: (r[1], r[2]))
            chosen = fit if fit[1] < near[1] else near
            e, run = chosen[3], chosen[4]
            censored_before += len(run.censored)
        else:
            e = len(t)
            run = _last_interval(t, s, lo, tr[i], t_end, n_start, km, events, sum(deaths),
                                 censored_before, tr, tol, notes)
        deaths[lo:e] = run.deaths
        death_times[lo:e] = run.times
        assigned[lo:e] = [i] * (e - lo)
        cens_times.extend(run.censored)
        n_start, km, lo = run.n_end, run.km, e
    if n_start > 0:
        cens_times.extend([t_end] * n_start)
    event_times = np.repeat(np.asarray(death_times, dtype=float), deaths)
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
    moved = sum(1 for k in range(1, len(t)) if deaths[k] and t[k] not in tr
                and assigned[k] != bisect.bisect_right(tr, t[k]) - 1)
    if moved:
        notes.append(f"{moved} drop(s) read within {100 * TIME_TOLERANCE:g}% of the time axis "
                     "of a table time were placed on its other side, where the numbers at "
                     "risk put them")
    return Reconstruction(time, event, checks, tuple(notes))


def _points(times: Sequence[float], survival: Sequence[float],
            table: list[float]) -> tuple[list[float], list[float]]:
    """The points with ``(0, 1)`` first and a point at every table time inside the curve.

    A table time between two digitised points takes the step value (the earlier point's),
    or, when the drop between the two points spans the table time and both risk-table
    intervals around it hold digitised points of their own, the value interpolated
    linearly between them: a digitiser sampling along the drawn line does not mark every
    step, so part of the drop lies before the table time.
    """
    t = np.asarray(times, dtype=float)
    s = np.asarray(survival, dtype=float)
    keep = t > 0
    t = np.concatenate([[0.0], t[keep]])
    s = np.concatenate([[1.0], np.minimum.accumulate(np.minimum(s[keep], 1.0))])
    tl, sl = t.tolist(), s.tolist()
    extra_t, extra_s = [], []
    for j in range(1, len(table)):
        x = table[j]
        b = bisect.bisect_left(tl, x)
        if b >= len(tl) or tl[b] == x:
            continue  # beyond the curve (flat), or digitised there
        a = b - 1
        value = sl[a]
        before = tl[a] >= table[j - 1] and a > 0
        after = j + 1 >= len(table) or tl[b] < table[j + 1]
        if sl[b] < sl[a] and before and after:
            value = sl[a] + (sl[b] - sl[a]) * (x - tl[a]) / (tl[b] - tl[a])
        extra_t.append(x)
        extra_s.append(value)
    if extra_t:
        t = np.concatenate([t, extra_t])
        s = np.concatenate([s, extra_s])
        order = np.lexsort((-s, t))
        t, s = t[order], s[order]
    return t.tolist(), s.tolist()


class _Run(NamedTuple):
    """One risk-table interval worked through with a given number censored."""

    deaths: list[int]  # per point of the interval
    times: list[float]  # the time of each point's deaths
    censored: list[float]  # censoring times kept (a risk set cannot go below 0)
    n_end: int  # number left at the end of the interval
    km: float  # Kaplan-Meier estimate of the reconstruction at the end
    error: float  # sum of squares of that estimate against the readings, point by point
    shrink: float = 1.0  # power the drops were shrunk by (1: as read)


def _splits(s: list[float], lo: int, default: int, first: int, last: int) -> list[int]:
    """Where the points of an interval may end: at the table time, or around it within the
    reading tolerance (only positions that change which drops fall in the interval)."""
    out = {default, last}
    out.update(e for e in range(max(first, lo, 1), last) if s[e] < s[e - 1])
    return sorted(e for e in out if lo <= e <= last)


def _death_times(t: list[float], lo: int, e: int, start: float, stop: float, end: float,
                 tol: float) -> list[float]:
    """The time of the deaths at each point of an interval ``[start, stop)``.

    A point read just before ``start`` but placed in the interval has its deaths shortly
    after ``start``; one read at or after ``stop`` shortly before ``stop``: half the reading
    tolerance, or half the way to the nearest point inside the interval when that is nearer.
    """
    tt = t[lo:e]
    inside = [x for x in tt if start <= x < stop]
    later = [x for x in inside if x > start]
    after_start = start + min((later[0] if later else end) - start, tol) / 2
    prev = inside[-1] if inside else start
    before_stop = stop - min(stop - prev, tol) / 2
    out = []
    latest = start
    for x in tt:
        y = after_start if x < start else before_stop if x >= stop else x
        latest = max(latest, y)
        out.append(latest)
    return out


def _simulate(t: list[float], s: list[float], lo: int, e: int, start: float, stop: float,
              end: float, n_start: int, n_cens: int, km: float, tol: float,
              ref: list[float] | None = None) -> _Run:
    """Deaths and censoring of an interval with ``n_cens`` censored spread uniformly
    (the error against ``ref``, the readings, when ``s`` is a shrunk curve)."""
    ref = s if ref is None else ref
    times = _death_times(t, lo, e, start, stop, end, tol)
    step = (end - start) / (n_cens + 1)
    cts = [start + j * step for j in range(1, n_cens + 1)]
    deaths = []
    kept: list[float] = []
    n = n_start
    error = 0.0
    c = 0
    for k in range(lo, e):
        when = times[k - lo]
        while c < n_cens and cts[c] < when:  # censored before these deaths
            if n > 0:
                kept.append(cts[c])
                n -= 1
            c += 1
        d = 0
        if n > 0 and km > 0:
            d = max(0, min(round(n * (1.0 - s[k] / km)), n))
            if d:
                km *= 1.0 - d / n
                n -= d
        deaths.append(d)
        error += (km - ref[k]) ** 2
    while c < n_cens and n > 0:
        kept.append(cts[c])
        n -= 1
        c += 1
    return _Run(deaths, times, kept, n, km, error)


def _matched(t: list[float], s: list[float], lo: int, e: int, start: float, stop: float,
             n_start: int, km: float, target: int, tol: float) -> _Run:
    """The interval with the number censored that makes the number at risk at ``stop``
    ``target`` (Guyot's iteration), or the closest one found."""
    s_start = s[lo - 1]
    s_stop = s[e - 1] if e > lo else s_start
    guess = 0 if s_start <= 0 else round(n_start * s_stop / s_start - target)
    n_cens = max(0, min(guess, n_start))
    best = run = _simulate(t, s, lo, e, start, stop, stop, n_start, n_cens, km, tol)
    tried = {n_cens}
    for _ in range(MAX_ITERATIONS):
        miss = run.n_end - target
        if abs(miss) < abs(best.n_end - target):
            best = run
        if miss == 0 or (miss < 0 and n_cens == 0):
            break
        n_cens = max(0, min(n_cens + miss, n_start))
        if n_cens in tried:
            break
        tried.add(n_cens)
        run = _simulate(t, s, lo, e, start, stop, stop, n_start, n_cens, km, tol)
    if best.n_end < target and 0 in tried and e > lo and s_start > 0:
        best = _shrunk(t, s, lo, e, start, stop, n_start, km, target, tol, best)
    return best


def _shrunk(t: list[float], s: list[float], lo: int, e: int, start: float, stop: float,
            n_start: int, km: float, target: int, tol: float, best: _Run) -> _Run:
    """More deaths than the table allows even without censoring: the interval's drops
    shrunk in proportion (``S_k / S_0`` to a power below 1) until the deaths fit."""
    base = s[lo - 1]
    shrunk = list(s)
    low, high = 0.0, 1.0
    for _ in range(30):
        power = (low + high) / 2
        for k in range(lo, e):
            shrunk[k] = base * (s[k] / base) ** power if s[k] > 0 else 0.0
        run = _simulate(t, shrunk, lo, e, start, stop, stop, n_start, 0, km, tol, ref=s)
        if abs(run.n_end - target) < abs(best.n_end - target) or (
                run.n_end == target and power > best.shrink):
            best = run._replace(shrink=power)
        if run.n_end < target:
            high = power
        else:
            low = power
        if high - low < 1e-3:
            break
    return best


def _error_after(s: list[float], lo: int, e: int, n: int, km: float) -> float:
    """Sum of squares of the points ``lo..e-1`` read on, without censoring, from ``n``."""
    error = 0.0
    for k in range(lo, e):
        if n > 0 and km > 0:
            d = max(0, min(round(n * (1.0 - s[k] / km)), n))
            if d:
                km *= 1.0 - d / n
                n -= d
        error += (km - s[k]) ** 2
    return error


def _last_interval(t: list[float], s: list[float], lo: int, start: float, end: float,
                   n_start: int, km: float, events: int | None, deaths_so_far: int,
                   censored_before: int, table: list[float], tol: float,
                   notes: list[str]) -> _Run:
    e = len(t)
    span_before = table[-1] - table[0]
    if span_before > 0 and end > start:
        average = round(censored_before * (end - start) / span_before)
    else:
        average = 0
    average = max(0, min(average, n_start))

    def run(c: int) -> _Run:
        return _simulate(t, s, lo, e, start, math.inf, end, n_start, c, km, tol)

    if events is None:
        return run(average)
    wanted = events - deaths_so_far
    if wanted < 0:
        notes.append(f"the curve has {deaths_so_far} events before the last table time, more "
                     f"than the {events} the paper gives: its last interval is censored at "
                     "the average rate")
        return run(average)
    # events in the interval fall as censoring grows: bisect for the closest count
    low, high = 0, n_start
    best = run(average)
    best_c = average
    best_miss = abs(sum(best.deaths) - wanted)
    while low <= high and best_miss:
        mid = (low + high) // 2
        r = run(mid)
        got = sum(r.deaths)
        if abs(got - wanted) < best_miss or (abs(got - wanted) == best_miss
                                             and abs(mid - average) < abs(best_c - average)):
            best, best_c, best_miss = r, mid, abs(got - wanted)
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
    and its interval (the first times the interval's bounds reach 0.5).

    Written out here (tests check it against lifelines' ``KaplanMeierFitter`` and
    ``median_survival_times`` to 1e-9): at each distinct time ``u`` with ``n`` at risk
    (time ``>= u``) and ``d`` deaths, ``S *= 1 - d / n`` and the Greenwood sum grows by
    ``d / (n (n - d))``; the log-log interval is ``exp(-exp(log(-log S) +- z sqrt(G) /
    |log S|))`` (``S`` itself where ``S`` is 0 or 1). The step function starts at time 0.
    """
    from metaview.distributions import norm_ppf

    z = float(norm_ppf(0.5 + level / 2.0))
    time = np.asarray(rec.time, dtype=float)
    event = np.asarray(rec.event, dtype=np.int64)
    at = np.unique(time)
    deaths = np.bincount(np.searchsorted(at, time), weights=event, minlength=at.size)
    at_risk = time.size - np.searchsorted(np.sort(time), at, side="left")
    if at.size == 0 or at[0] > 0:
        at = np.concatenate([[0.0], at])
        deaths = np.concatenate([[0.0], deaths])
        at_risk = np.concatenate([[time.size], at_risk])
    d, n = deaths.astype(float), at_risk.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        sf = np.cumprod(np.where(n > 0, 1.0 - d / n, 1.0))
        terms = np.where(d > 0, d / (n * (n - d)), 0.0)
        greenwood = np.cumsum(terms)
        log_s = np.log(sf)
        inner = np.sqrt(greenwood) / np.abs(log_s)
        theta = np.log(-log_s)
        ci_low = np.exp(-np.exp(theta + z * inner))
        ci_high = np.exp(-np.exp(theta - z * inner))
    defined = (sf > 0) & (sf < 1) & np.isfinite(greenwood)
    ci_low = np.where(defined, ci_low, sf)
    ci_high = np.where(defined, ci_high, sf)
    out = []
    for months in landmarks_months:
        x = months / months_per_unit
        j = int(np.searchsorted(at, x, side="right")) - 1
        if j < 0:
            est, var, lo, hi = 1.0, 0.0, 1.0, 1.0
        else:
            est = float(sf[j])
            var = est * est * float(greenwood[j]) if math.isfinite(greenwood[j]) else math.nan
            lo, hi = float(ci_low[j]), float(ci_high[j])
        out.append(Landmark(float(months), est, math.sqrt(var) if var >= 0 else math.nan,
                            lo, hi, rec.at_risk(x)))
    return KMSummary(rec.n, rec.events, _first_below_half(at, sf),
                     _first_below_half(at, ci_low), _first_below_half(at, ci_high),
                     tuple(out), level, tuple(float(x) for x in at),
                     tuple(float(x) for x in sf))


def _first_below_half(at: np.ndarray, values: np.ndarray) -> float | None:
    """The first time the step function reaches 0.5 (None: never)."""
    below = np.flatnonzero(values <= 0.5 + 1e-12)  # exactly 0.5 whatever the rounding
    return float(at[below[0]]) if below.size else None


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
