"""The glossary: study data going in, results coming out.

All are frozen dataclasses. The same field names are used everywhere (tables, JSON, CSV,
plots): ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``, ``tau2``, ``i2``,
``q``, ``weight``, ``count``, ``total``. Proportions are fractions in [0, 1]; ``theta``,
``se``, ``yi`` and ``vi`` are on the pooling scale; ``i2`` and ``weight`` are percentages,
as in metafor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from metaview.notices import NoticeCode, code_of

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


# --------------------------------------------------------------------------- study data


@dataclass(frozen=True)
class Outcome:
    """One reported proportion of one study (one entry of ``outcomes:``)."""

    endpoint: str
    source: str
    time_months: float | None = None
    time_origin: str | None = None
    count: int | None = None
    total: int | None = None
    estimate: float | None = None  # as a fraction, when reported as an estimate
    estimate_text: str | None = None  # as written in the file, e.g. "59%"
    ci: tuple[float, float] | None = None  # fractions
    ci_level: float = 0.95
    ci_method: str = "unknown"
    at_risk: int | None = None
    derived: str | None = None
    note: str | None = None
    line: int | None = None  # line of the entry in its file
    #: read off the curve reconstructed from a digitised figure (not an entry of outcomes:)
    reconstructed: bool = False

    @property
    def proportion(self) -> float:
        """The reported proportion: ``count/total`` or ``estimate``."""
        if self.count is not None and self.total is not None:
            return self.count / self.total
        if self.estimate is None:  # pragma: no cover - the loader forbids this
            raise ValueError("outcome has neither counts nor an estimate")
        return self.estimate

    @property
    def has_counts(self) -> bool:
        return self.count is not None and self.total is not None

    def describe(self) -> str:
        """Short human text, e.g. ``OS 45% at 24 mo`` or ``ORR 6/10``."""
        if self.has_counts:
            value = f"{self.count}/{self.total}"
        else:
            value = f"{_percent(self.proportion)}"
        when = "" if self.time_months is None else f" at {_number(self.time_months)} mo"
        return f"{self.endpoint} {value}{when}"


@dataclass(frozen=True)
class Curve:
    """One digitised Kaplan-Meier curve of one study (one entry of ``curves:``).

    ``times`` and ``survival`` are the points file after cleaning (sorted by time, clipped to
    [0, 1], made non-increasing); ``notes`` say what the cleaning changed. Times are in
    ``time_unit``; survival is a fraction whatever the file used (``survival_unit``).
    """

    endpoint: str
    time_unit: str
    points: str  # the path as written in the study file
    at_risk_times: tuple[float, ...]
    at_risk_n: tuple[int, ...]
    source: str
    times: tuple[float, ...]
    survival: tuple[float, ...]
    survival_unit: str  # "fraction" or "percent": how the points file gives survival
    time_origin: str | None = None
    events: int | None = None
    note: str | None = None
    notes: tuple[str, ...] = ()
    points_path: str | None = field(default=None, compare=False)  # the file that was read
    line: int | None = None  # line of the entry in its study file

    @property
    def months_per_unit(self) -> float:
        """Length of one ``time_unit`` in months (1 month = 365.25/12 days)."""
        from metaview.io.schema import TIME_UNITS

        return TIME_UNITS[self.time_unit]


@dataclass(frozen=True)
class Study:
    """One study file."""

    id: str
    label: str
    citation: str
    year: int
    arm: str
    patients: int
    outcomes: tuple[Outcome, ...] = ()
    index: bool = False
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    design: str | None = None
    country: str | None = None
    characteristics: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    notes: str | None = None
    path: str | None = field(default=None, compare=False)
    curves: tuple[Curve, ...] = ()
    #: SHA-256 (hex) and length of the file's bytes as the loader read them
    file_sha256: str | None = field(default=None, compare=False)
    file_bytes: int | None = field(default=None, compare=False)

    def curves_for(self, endpoint: str) -> list[Curve]:
        """The digitised curves of ``endpoint``."""
        return [c for c in self.curves if c.endpoint == endpoint]

    def outcomes_for(self, endpoint: str, time_months: float | None) -> list[Outcome]:
        """The outcomes reporting ``endpoint`` at ``time_months`` (None: without a time)."""
        return [
            o
            for o in self.outcomes
            if o.endpoint == endpoint and _same_time(o.time_months, time_months)
        ]

    def characteristic(self, name: str) -> Any:
        """A top-level field or a characteristic, by name (None when absent)."""
        if name in _STUDY_SCALAR_FIELDS:
            return getattr(self, name)
        return self.characteristics.get(name)


_STUDY_SCALAR_FIELDS = frozenset(f.name for f in fields(Study)) - {
    "outcomes", "characteristics", "curves", "file_sha256", "file_bytes"}


#: Landmarks closer than this many months are one landmark (loader and analysis alike).
LANDMARK_TOLERANCE = 1e-6


def same_landmark(a: float | None, b: float | None) -> bool:
    """Whether two landmarks (months; None: no landmark) are the same one."""
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= LANDMARK_TOLERANCE


_same_time = same_landmark


def _number(x: float) -> str:
    return f"{x:g}"


def _percent(p: float) -> str:
    return f"{100 * p:.3g}%"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class StudyEstimate:
    """One study's contribution to one analysis."""

    id: str
    label: str
    arm: str
    estimate: float  # proportion shown in tables and plots
    ci_low: float
    ci_high: float
    yi: float  # on the pooling scale (after any continuity correction)
    vi: float
    weight: float | None = None  # percent of the total weight; None before pooling
    count: int | None = None
    total: int | None = None
    ci_source: str = "wilson"  # per-study CI method, "reported", or "approximate"
    approximate: bool = False  # SE approximated from estimate + total (no CI, no counts)
    derived: bool = False  # the figure was derived, not stated by the source
    corrected: bool = False  # continuity correction applied on the pooling scale
    is_index: bool = False
    time_months: float | None = None
    time_origin: str | None = None
    source: str = ""
    derived_text: str | None = None
    patients: int | None = None  # the study's cohort size (``total`` may be missing)
    reconstructed: bool = False  # read from the curve reconstructed from a digitised figure
    # --model bayes: the posterior of the study's own theta_i, as proportions
    shrunk_estimate: float | None = None
    shrunk_ci_low: float | None = None
    shrunk_ci_high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: _clean(getattr(self, name)) for name in _STUDY_ESTIMATE_FIELDS
                if name not in _SHRUNK_FIELDS or getattr(self, name) is not None}


_STUDY_ESTIMATE_FIELDS = tuple(f.name for f in fields(StudyEstimate))
_SHRUNK_FIELDS = frozenset({"shrunk_estimate", "shrunk_ci_low", "shrunk_ci_high"})


@dataclass(frozen=True)
class ExcludedStudy:
    """A study left out of an analysis, and why."""

    id: str
    label: str
    reason: str
    reported: tuple[str, ...] = ()  # what it does report for the endpoint, e.g. "OS 45% at 24 mo"
    arm: str | None = None
    code: NoticeCode | None = None  # what ``reason`` says, for renderers to branch on
    detail: str = ""  # the part of ``reason`` a renderer may show alone

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason, "label": self.label,
                "reported": list(self.reported), "arm": self.arm,
                "code": None if self.code is None else self.code.value}


@dataclass(frozen=True)
class LeaveOneOut:
    """The model refitted without one study (metafor ``leave1out``)."""

    omitted: str
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float | None
    pi_high: float | None
    theta: float
    se: float
    tau2: float
    i2: float | None
    q: float | None

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


@dataclass(frozen=True)
class SubgroupTest:
    """Between-group test: fixed-effect Q test of the group means (metafor/meta convention)."""

    q_between: float
    df: int
    pvalue: float

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))


@dataclass(frozen=True)
class PooledResult:
    """One meta-analysis: one endpoint, one landmark, one group."""

    endpoint: str
    time_months: float | None
    group: str | None
    model: str
    scale: str
    tau2_method: str | None
    ci_method: str
    level: float
    k: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    pi_low: float | None
    pi_high: float | None
    theta: float | None
    se: float | None
    tau2: float | None
    tau2_ci_low: float | None
    tau2_ci_high: float | None
    i2: float | None
    i2_ci_low: float | None
    i2_ci_high: float | None
    h2: float | None
    h2_ci_low: float | None  # Q-profile interval of H2, beside I2's
    h2_ci_high: float | None
    q: float | None
    q_df: int | None
    q_pvalue: float | None
    studies: tuple[StudyEstimate, ...]
    excluded: tuple[ExcludedStudy, ...] = ()
    leave_one_out: tuple[LeaveOneOut, ...] | None = None
    warnings: tuple[str, ...] = ()
    subgroup_test: SubgroupTest | None = None
    group_by: str | None = None
    # --model bayes only (absent from the JSON of the other models)
    tau_median: float | None = None
    tau_ci_low: float | None = None
    tau_ci_high: float | None = None
    tau_prior: str | None = None
    mu_prior: str | None = None
    likelihood: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``metaview pool --format json`` (one analysis)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _BAYES_FIELDS and self.model != "bayes":
                continue
            if f.name == "studies":
                out["studies"] = [s.to_dict() for s in value]
            elif f.name == "excluded":
                out["excluded"] = [e.to_dict() for e in value]
            elif f.name == "leave_one_out":
                out["leave_one_out"] = None if value is None else [x.to_dict() for x in value]
            elif f.name == "warnings":
                out["warnings"] = list(value)
                out["warning_codes"] = _codes(value)
            elif f.name == "subgroup_test":
                if value is not None:
                    out["subgroup_test"] = value.to_dict()
            else:
                out[f.name] = value
        return _clean(out)

    def to_frame(self) -> pd.DataFrame:
        """The tidy table of this analysis: one row per study, the pooled row, then the
        studies left out (column ``row``: ``study``, ``pooled``, ``excluded``).

        The columns are those of ``metaview pool --format csv``
        (:data:`metaview.tidy.POOL_COLUMNS`, then :data:`metaview.tidy.BAYES_POOL_COLUMNS`
        under the Bayesian model); numbers are not rounded.

        Returns
        -------
        pandas.DataFrame
        """
        from metaview.tidy import pool_frame

        return pool_frame([self])

    def summary(self) -> str:
        """The text ``metaview pool --endpoint E`` prints for this analysis: the headline
        line, each study's row, heterogeneity and the notes.

        Returns
        -------
        str
        """
        from metaview.api import summary_text

        return summary_text([self], detail=True)

    def _repr_html_(self) -> str:
        """A table of the result and its studies, for notebooks."""
        from metaview.api import results_html

        return results_html([self])


_BAYES_FIELDS = frozenset({"tau_median", "tau_ci_low", "tau_ci_high", "tau_prior", "mu_prior",
                           "likelihood"})


@dataclass(frozen=True)
class Comparison:
    """The index cohort against the pooled other studies, on the pooling scale."""

    endpoint: str
    time_months: float | None
    index: StudyEstimate
    pooled: PooledResult  # the other studies, without the index
    scale: str
    level: float
    difference: float  # index minus pooled, on the pooling scale
    # the z test of the difference; None when the pooled standard error is not finite (the
    # Bayesian model with a heavy-tailed tau prior and few studies)
    diff_ci_low: float | None
    diff_ci_high: float | None
    z: float | None
    pvalue: float | None
    inside_pi: bool | None  # None when the pooled result has no prediction interval
    warnings: tuple[str, ...] = ()
    # --model bayes: P(theta_index > mu | data) and P(theta_index > theta_new | data)
    prob_index_above_mean: float | None = None
    prob_index_above_new: float | None = None

    def tested(self) -> tuple[float, float, float, float]:
        """``(diff_ci_low, diff_ci_high, z, pvalue)``; a comparison under the default models
        always has them (only the Bayesian model can leave them out)."""
        lo, hi, z, p = self.diff_ci_low, self.diff_ci_high, self.z, self.pvalue
        if lo is None or hi is None or z is None or p is None:
            raise ValueError(f"{self.endpoint}: this comparison has no z test "
                             f"({self.pooled.model} model)")
        return lo, hi, z, p

    def to_dict(self) -> dict[str, Any]:
        extra = {} if self.prob_index_above_mean is None else {
            "prob_index_above_mean": self.prob_index_above_mean,
            "prob_index_above_new": self.prob_index_above_new}
        return _clean(
            {
                "endpoint": self.endpoint,
                "time_months": self.time_months,
                "index": self.index.to_dict(),
                "pooled": self.pooled.to_dict(),
                "scale": self.scale,
                "level": self.level,
                "difference": self.difference,
                "diff_ci_low": self.diff_ci_low,
                "diff_ci_high": self.diff_ci_high,
                "z": self.z,
                "pvalue": self.pvalue,
                "inside_pi": self.inside_pi,
                "warnings": list(self.warnings),
                "warning_codes": _codes(self.warnings),
                **extra,
            }
        )


def _codes(warnings: tuple[str, ...]) -> list[str | None]:
    """The code of each warning (:class:`metaview.notices.NoticeCode` value), or None."""
    return [None if (c := code_of(w)) is None else c.value for w in warnings]


def _clean(value: Any) -> Any:
    """JSON-safe copy: tuples to lists, NaN and infinities to None, numpy scalars to floats."""
    if type(value) is float:  # the common case first
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if getattr(getattr(value, "dtype", None), "kind", "") in ("i", "u", "b"):
        return value.item()  # a numpy integer or boolean scalar
    try:
        x = float(value)
    except (TypeError, ValueError):
        return value
    return x if math.isfinite(x) else None
