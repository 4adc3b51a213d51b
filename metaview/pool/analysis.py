"""From study files to pooled results: choosing outcomes, grouping, excluding, fitting.

This is where study data meet the array core. For each endpoint and landmark, every
analysis (each group, the overall one, and every leave-one-out refit) is one row of a single
batched :func:`~metaview.pool.rma.fit_rma` call.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from metaview.choices import CIMethod, Model, Scale, StudyCI, Tau2Method, parse
from metaview.errors import AnalysisError, UsageError
from metaview.estimate import transforms
from metaview.estimate.effects import NoStandardError, OutcomeEffect, outcome_effects
from metaview.model import (
    Comparison,
    ExcludedStudy,
    LeaveOneOut,
    Outcome,
    PooledResult,
    Study,
    StudyEstimate,
    SubgroupTest,
)

DEFAULT_TIME = 12.0


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything that decides an analysis (the command line's analysis options)."""

    endpoints: tuple[str, ...] | None = None
    time_months: float | None = None
    model: Model = Model.RANDOM
    tau2_method: Tau2Method = Tau2Method.REML
    ci_method: CIMethod = CIMethod.HK_ADHOC
    scale: Scale = Scale.LOGIT
    study_ci: StudyCI = StudyCI.WILSON
    level: float = 0.95
    group_by: str | None = "arm"
    exclude: tuple[str, ...] = ()
    leave_one_out: bool = False

    @classmethod
    def create(
        cls,
        *,
        endpoints: Sequence[str] | None = None,
        time_months: float | None = None,
        model: str = "random",
        tau2_method: str = "REML",
        ci_method: str | None = None,
        scale: str = "logit",
        study_ci: str = "wilson",
        level: float = 0.95,
        group_by: str | None = "arm",
        exclude: Sequence[str] = (),
        leave_one_out: bool = False,
    ) -> AnalysisOptions:
        """Options from plain strings, checked; a bad value or combination is a UsageError."""
        m = parse(Model, model, option="--model")
        sc = parse(Scale, scale, option="--scale")
        if ci_method is None:
            ci = CIMethod.Z if m is Model.GLMM else CIMethod.HK_ADHOC
        else:
            ci = parse(CIMethod, ci_method, option="--ci")
        if m is Model.GLMM:
            if sc is not Scale.LOGIT:
                raise UsageError(f"--model glmm works on the logit scale only, not --scale {sc}")
            if ci not in (CIMethod.Z, CIMethod.T):
                raise UsageError(f"--model glmm takes --ci z or t, not {ci}")
        elif ci is CIMethod.T:
            raise UsageError("--ci t is for --model glmm; use z, hk or hk-adhoc")
        if not 0.0 < level < 1.0:
            raise UsageError(f"--level must lie between 0 and 1, not {level}")
        if time_months is not None and not (time_months > 0 and math.isfinite(time_months)):
            raise UsageError(f"--time must be a positive number of months, not {time_months}")
        eps = None
        if endpoints:
            eps = tuple(dict.fromkeys(e.strip().upper() for e in endpoints))
        return cls(
            endpoints=eps, time_months=time_months, model=m,
            tau2_method=Tau2Method.ML if m is Model.GLMM else parse(Tau2Method, tau2_method,
                                                                    option="--tau2"),
            ci_method=ci, scale=sc, study_ci=parse(StudyCI, study_ci, option="--study-ci"),
            level=level, group_by=group_by, exclude=tuple(exclude), leave_one_out=leave_one_out,
        )


@dataclass
class _Row:
    """One study's usable outcome in one endpoint/landmark analysis."""

    study: Study
    outcome: Outcome
    effect: OutcomeEffect
    group: str | None


@dataclass
class _Plan:
    endpoint: str
    time: float | None
    rows: list[_Row] = field(default_factory=list)
    excluded: list[tuple[Study, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ choosing what to pool


def endpoint_landmarks(studies: Sequence[Study], options: AnalysisOptions) -> list[tuple[str, float | None]]:
    """The (endpoint, landmark) pairs to analyse, in a stable order (OS, PFS first)."""
    found: dict[str, set[bool]] = {}
    for s in studies:
        for o in s.outcomes:
            found.setdefault(o.endpoint, set()).add(o.time_months is not None)
    wanted = options.endpoints or tuple(sorted(found, key=_endpoint_order))
    pairs: list[tuple[str, float | None]] = []
    for e in wanted:
        timed = found.get(e, {True})
        if True in timed:
            pairs.append((e, options.time_months if options.time_months is not None
                          else DEFAULT_TIME))
        else:
            pairs.append((e, None))
    return pairs


def _endpoint_order(e: str) -> tuple[int, str]:
    first = ["OS", "PFS", "EFS", "GRFS", "NRM", "RELAPSE", "ORR", "CR"]
    return (first.index(e) if e in first else len(first), e)


def group_of(study: Study, group_by: str | None) -> str | None:
    """The group a study falls in for ``--group-by`` (None without grouping)."""
    if group_by is None:
        return None
    value = study.characteristic(group_by)
    if isinstance(value, dict):
        if "count" in value and "total" in value:
            return f"{value['count']}/{value['total']}"
        if "median" in value:
            return f"median {value['median']}"
    if value is None:
        return "(not reported)"
    return str(value)


def _time_text(t: float | None) -> str:
    return "" if t is None else f" at {t:g} months"


def _group_table(studies: Sequence[Study], group_by: str | None) -> dict[int, str | None]:
    """Each study's group, looked up once per analysis run (keyed by object identity)."""
    return {id(s): group_of(s, group_by) for s in studies}


def _plan(studies: Sequence[Study], endpoint: str, time: float | None,
          options: AnalysisOptions, groups: dict[int, str | None] | None = None) -> _Plan:
    if groups is None:
        groups = _group_table(studies, options.group_by)
    plan = _Plan(endpoint, time)
    candidates: list[tuple[Study, Outcome]] = []
    for s in studies:
        if s.id in options.exclude:
            plan.excluded.append((s, "excluded with --exclude"))
            continue
        matches = s.outcomes_for(endpoint, time)
        if not matches:
            others = [o for o in s.outcomes if o.endpoint == endpoint]
            if not others:
                plan.excluded.append((s, f"{endpoint} not reported"))
            else:
                what = ", ".join(
                    f"{endpoint} at {o.time_months:g} months" if o.time_months is not None
                    else f"{endpoint} without a landmark" for o in others)
                plan.excluded.append(
                    (s, f"{endpoint}{_time_text(time) or ' without a landmark'} not reported "
                        f"(reports {what})"))
            continue
        if len(matches) > 1:
            plan.warnings.append(
                f"{s.id}: {len(matches)} entries for {endpoint}{_time_text(time)}; "
                f"the first (line {matches[0].line}) is used")
        candidates.append((s, matches[0]))
    effects = outcome_effects([o for _, o in candidates], scale=options.scale,
                              study_ci=options.study_ci, level=options.level)
    for (s, o), eff in zip(candidates, effects):
        if isinstance(eff, NoStandardError):
            plan.excluded.append((s, f"{endpoint}{_time_text(time)} reported as {o.describe()} "
                                     f"but {eff}"))
            continue
        plan.rows.append(_Row(s, o, eff, groups[id(s)]))
    return plan


# ------------------------------------------------------------------ fitting


def analyse(studies: Sequence[Study], options: AnalysisOptions) -> list[PooledResult]:
    """Every endpoint x landmark x group analysis of ``studies``.

    With grouping (default: by ``arm``), each endpoint and landmark gives one result per
    group, then the overall one (``group=None``) carrying the between-group test.
    """
    known = {s.id for s in studies}
    unknown = [e for e in options.exclude if e not in known]
    if unknown:
        raise UsageError(f"--exclude {unknown[0]}: no study has this id "
                         f"(ids: {', '.join(sorted(known))})")
    results: list[PooledResult] = []
    groups = _group_table(studies, options.group_by)
    for endpoint, time in endpoint_landmarks(studies, options):
        results.extend(_analyse_one(studies, endpoint, time, options, groups))
    return results


def _analyse_one(studies: Sequence[Study], endpoint: str, time: float | None,
                 options: AnalysisOptions,
                 table: dict[int, str | None] | None = None) -> list[PooledResult]:
    if table is None:
        table = _group_table(studies, options.group_by)
    plan = _plan(studies, endpoint, time, options, table)
    groups: list[str | None] = []
    if options.group_by is not None:
        seen = dict.fromkeys(table[id(s)] for s in studies)
        index_groups = {table[id(s)] for s in studies if s.index}
        groups = sorted(seen, key=lambda g: (g not in index_groups, str(g)))
    # one block per group, then the overall one; a single group is the overall analysis
    blocks: list[tuple[str | None, list[int]]] = []
    if len(groups) > 1:
        blocks = [(g, [i for i, r in enumerate(plan.rows) if r.group == g]) for g in groups]
    blocks.append((None, list(range(len(plan.rows)))))
    fitted = [
        _fit_block(plan, g, members, options, table) for g, members in blocks
    ]
    overall = fitted[-1]
    group_results = fitted[:-1]
    warn = list(overall.warnings)
    arms = sorted({r.study.arm for r in plan.rows})
    if len(arms) > 1:
        warn.append("this result pools different arms (" + "; ".join(arms) + ")"
                    + (": read the per-arm results" if options.group_by == "arm" else ""))
    overall = replace(overall, warnings=tuple(warn),
                      subgroup_test=_subgroup_test(group_results) if group_results else None)
    return group_results + [overall]


def _fit_block(plan: _Plan, group: str | None, members: list[int],
               options: AnalysisOptions, table: dict[int, str | None]) -> PooledResult:
    rows = [plan.rows[i] for i in members]
    excluded = tuple(
        ExcludedStudy(s.id, s.label, reason,
                      tuple(o.describe() for o in s.outcomes if o.endpoint == plan.endpoint),
                      s.arm)
        for s, reason in plan.excluded
        if group is None or table[id(s)] == group
    )
    warnings = list(plan.warnings)
    warnings.extend(_data_warnings(rows, options))
    base = dict(
        endpoint=plan.endpoint, time_months=plan.time, group=group,
        model=options.model.value, scale=options.scale.value,
        tau2_method=None if options.model is Model.COMMON else options.tau2_method.value,
        ci_method=options.ci_method.value, level=options.level, k=len(rows),
        excluded=excluded, group_by=options.group_by,
    )
    empty = dict(estimate=None, ci_low=None, ci_high=None, pi_low=None, pi_high=None,
                 theta=None, se=None, tau2=None, tau2_ci_low=None, tau2_ci_high=None, i2=None,
                 i2_ci_low=None, i2_ci_high=None, h2=None, q=None, q_df=None, q_pvalue=None)
    if not rows:
        warnings.append(f"no study in this group reports {plan.endpoint}"
                        f"{_time_text(plan.time)}")
        return PooledResult(**base, **empty, studies=(), warnings=tuple(warnings))  # type: ignore[arg-type]
    if len(rows) == 1:
        r = rows[0]
        only = _study_estimate(r, weight=100.0)
        warnings.append(f"only one study ({r.study.id}) reports {plan.endpoint}"
                        f"{_time_text(plan.time)}: its own estimate is shown, nothing is pooled")
        one = dict(empty, estimate=only.estimate, ci_low=only.ci_low, ci_high=only.ci_high,
                   theta=r.effect.yi, se=math.sqrt(r.effect.vi))
        return PooledResult(**base, **one, studies=(only,), warnings=tuple(warnings))  # type: ignore[arg-type]

    y = np.array([r.effect.yi for r in rows])
    v = np.array([r.effect.vi for r in rows])
    n_h = _harmonic_n(rows)
    fit, model_used = _fit(rows, y, v, options, warnings)
    b = float(fit.b[0])
    est, lo, hi = _back(b, float(fit.ci_lb[0]), float(fit.ci_ub[0]), options.scale, n_h)
    pi_lo = pi_hi = None
    if options.model is not Model.COMMON or model_used == "glmm":
        if math.isfinite(fit.pi_lb[0]):
            _, pi_lo, pi_hi = _back(b, float(fit.pi_lb[0]), float(fit.pi_ub[0]),
                                    options.scale, n_h)
    if any(v is not None and not 0.0 <= v <= 1.0 for v in (est, lo, hi, pi_lo, pi_hi)):
        warnings.append(f"on the {options.scale.value} scale the pooled interval reaches "
                        "outside [0, 1]; it is reported as computed")
    weights = fit.weights[0]
    studies_out = tuple(
        _study_estimate(r, weight=None if not math.isfinite(weights[i]) else float(weights[i]))
        for i, r in enumerate(rows)
    )
    common = options.model is Model.COMMON
    result = PooledResult(
        **dict(base, model=model_used),  # type: ignore[arg-type]
        estimate=est, ci_low=lo, ci_high=hi, pi_low=pi_lo, pi_high=pi_hi,
        theta=b, se=float(fit.se[0]),
        tau2=float(fit.tau2[0]),
        tau2_ci_low=_f(fit.tau2_ci_lb[0]), tau2_ci_high=_f(fit.tau2_ci_ub[0]),
        i2=_f(fit.i2[0]), i2_ci_low=_f(fit.i2_ci_lb[0]), i2_ci_high=_f(fit.i2_ci_ub[0]),
        h2=_f(fit.h2[0]), q=_f(fit.q[0]), q_df=int(fit.q_df[0]), q_pvalue=_f(fit.q_pvalue[0]),
        studies=studies_out, warnings=tuple(dict.fromkeys(warnings)),
        leave_one_out=_leave_one_out(rows, y, v, options, n_h) if options.leave_one_out else None,
    )
    if common:
        result = replace(result, tau2=0.0)
    return result


def _fit(rows: list[_Row], y: np.ndarray, v: np.ndarray, options: AnalysisOptions,
         warnings: list[str]):  # type: ignore[no-untyped-def]
    from metaview.pool.rma import fit_rma

    if options.model is Model.GLMM:
        from metaview.pool.glmm import GlmmConvergenceError, fit_glmm

        no_counts = [r.study.id for r in rows if r.effect.count is None]
        if no_counts:
            warnings.append("the GLMM needs counts; " + ", ".join(no_counts)
                            + " report(s) an estimate only: fell back to the inverse-variance "
                              "random-effects model (REML, hk-adhoc)")
        else:
            try:
                fit = fit_glmm([r.effect.count or 0 for r in rows],
                               [r.effect.total or 0 for r in rows],
                               test=options.ci_method, level=options.level)
                return fit, "glmm"
            except GlmmConvergenceError as exc:
                warnings.append(f"the GLMM could not be fitted ({exc}): fell back to the "
                                "inverse-variance random-effects model (REML, hk-adhoc)")
        fit = fit_rma(y, v, method=Tau2Method.REML, test=CIMethod.HK_ADHOC, level=options.level)
        return fit, "random"
    method = None if options.model is Model.COMMON else options.tau2_method
    return fit_rma(y, v, method=method, test=options.ci_method, level=options.level), \
        options.model.value


def _leave_one_out(rows: list[_Row], y: np.ndarray, v: np.ndarray, options: AnalysisOptions,
                   n_h: float | None) -> tuple[LeaveOneOut, ...]:
    from metaview.pool.rma import fit_rma

    k = len(rows)
    if k < 2:
        return ()
    mask = ~np.eye(k, dtype=bool)
    yy = np.broadcast_to(y, (k, k))
    vv = np.broadcast_to(v, (k, k))
    if options.model is Model.GLMM and all(r.effect.count is not None for r in rows):
        from metaview.pool.glmm import GlmmConvergenceError, fit_glmm

        out = []
        for i in range(k):
            keep = [j for j in range(k) if j != i]
            try:
                f = fit_glmm([rows[j].effect.count or 0 for j in keep],
                             [rows[j].effect.total or 0 for j in keep],
                             test=options.ci_method, level=options.level)
            except GlmmConvergenceError:
                continue
            out.append(_loo_entry(rows[i].study.id, f, 0, options, n_h))
        return tuple(out)
    method = None if options.model is Model.COMMON else options.tau2_method
    test = options.ci_method if options.model is not Model.GLMM else CIMethod.HK_ADHOC
    fit = fit_rma(yy, vv, mask, method=method, test=test, level=options.level, tau2_ci=False)
    return tuple(_loo_entry(rows[i].study.id, fit, i, options, n_h) for i in range(k))


def _loo_entry(omitted: str, fit, i: int, options: AnalysisOptions,  # type: ignore[no-untyped-def]
               n_h: float | None) -> LeaveOneOut:
    b = float(fit.b[i])
    est, lo, hi = _back(b, float(fit.ci_lb[i]), float(fit.ci_ub[i]), options.scale, n_h)
    pi_lo = pi_hi = None
    if options.model is not Model.COMMON and math.isfinite(fit.pi_lb[i]):
        _, pi_lo, pi_hi = _back(b, float(fit.pi_lb[i]), float(fit.pi_ub[i]), options.scale, n_h)
    return LeaveOneOut(omitted=omitted, estimate=est, ci_low=lo, ci_high=hi, pi_low=pi_lo,
                       pi_high=pi_hi, theta=b, se=float(fit.se[i]), tau2=float(fit.tau2[i]),
                       i2=_f(fit.i2[i]), q=_f(fit.q[i]))


def _back(b: float, lo: float, hi: float, scale: Scale,
          n_h: float | None) -> tuple[float, float, float]:
    est = float(transforms.back_transform(b, scale, n_harmonic=n_h))
    a, c = transforms.back_transform_interval(lo, hi, scale, n_harmonic=n_h)
    return est, float(a), float(c)


def _harmonic_n(rows: list[_Row]) -> float | None:
    ns = [r.effect.n for r in rows if r.effect.n]
    if not ns:
        return None
    return len(ns) / sum(1.0 / n for n in ns)


def _f(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _study_estimate(r: _Row, *, weight: float | None) -> StudyEstimate:
    e, o = r.effect, r.outcome
    return StudyEstimate(
        id=r.study.id, label=r.study.label, arm=r.study.arm, estimate=e.estimate,
        ci_low=e.ci_low, ci_high=e.ci_high, yi=e.yi, vi=e.vi, weight=weight, count=e.count,
        total=e.total, ci_source=e.ci_source, approximate=e.approximate,
        derived=o.derived is not None, corrected=e.corrected, is_index=r.study.index,
        time_months=o.time_months, time_origin=o.time_origin, source=o.source,
        derived_text=o.derived, patients=r.study.patients,
    )


def _data_warnings(rows: list[_Row], options: AnalysisOptions) -> list[str]:
    out: list[str] = []
    corrected = [r.study.id for r in rows if r.effect.corrected]
    if corrected:
        out.append("continuity correction (1/2 added to events and non-events) applied on the "
                   f"{options.scale.value} scale for: " + ", ".join(corrected))
    approx = [r.study.id for r in rows if r.effect.approximate]
    if approx:
        # censoring only concerns a landmark of a time-to-event endpoint
        landmark = any(r.outcome.time_months is not None for r in rows if r.effect.approximate)
        why = ("(binomial, ignoring censoring: too narrow when follow-up is short)" if landmark
               else "(binomial)")
        out.append("standard error approximated from the estimate and the number of patients "
                   f"{why} for: " + ", ".join(approx))
    for r in rows:
        for note in r.effect.notes:
            out.append(f"{r.study.id}: {note}")
    origins = sorted({r.outcome.time_origin for r in rows if r.outcome.time_origin})
    if len(origins) > 1:
        detail = "; ".join(
            f"{o}: " + ", ".join(r.study.id for r in rows if r.outcome.time_origin == o)
            for o in origins)
        out.append(f"time origins differ ({detail})")
    derived = [r.study.id for r in rows if r.outcome.derived]
    if derived:
        out.append("derived, not stated by the source (see each study's 'derived'): "
                   + ", ".join(derived))
    return out


def _subgroup_test(groups: list[PooledResult]) -> SubgroupTest | None:
    """Fixed-effect Q test of the group means (each weighted by 1/se^2)."""
    from metaview.distributions import chi2_sf as chdtrc

    usable = [g for g in groups if g.k >= 1 and g.theta is not None and g.se]
    if len(usable) < 2:
        return None
    th = np.array([g.theta for g in usable])
    w = 1.0 / np.array([g.se for g in usable]) ** 2
    mean = float((w * th).sum() / w.sum())
    q = float((w * (th - mean) ** 2).sum())
    df = len(usable) - 1
    return SubgroupTest(q_between=q, df=df, pvalue=float(chdtrc(df, q)))


# ------------------------------------------------------------------ index comparison


def compare(studies: Sequence[Study], index_id: str, options: AnalysisOptions) -> list[Comparison]:
    """The index study against the pooled other studies of its group, per endpoint/landmark.

    Notes
    -----
    On the pooling scale: ``d = y_index - theta_others``, ``se_d = sqrt(v_index + se^2)``,
    the two-sided z test of ``d = 0``, and whether the index estimate lies inside the
    others' prediction interval.
    """
    from metaview.distributions import norm_cdf as ndtr
    from metaview.distributions import norm_ppf as ndtri

    ids = {s.id: s for s in studies}
    if index_id not in ids:
        raise UsageError(f"--index {index_id}: no study has this id "
                         f"(ids: {', '.join(sorted(ids))})")
    index = ids[index_id]
    group = group_of(index, options.group_by)
    others = [s for s in studies if s.id != index_id and
              (options.group_by is None or group_of(s, options.group_by) == group)]
    opts = replace(options, group_by=None)
    out: list[Comparison] = []
    for endpoint, time in endpoint_landmarks([index], opts):
        plan = _plan([index], endpoint, time, replace(opts, exclude=()))
        if not plan.rows:
            continue
        row = plan.rows[0]
        pooled = _analyse_one(others, endpoint, time, opts)[-1]
        pooled = replace(pooled, group=group)
        if pooled.k == 0 or pooled.theta is None or pooled.se is None:
            continue
        warn = list(pooled.warnings)
        if pooled.k == 1:
            warn.append("the literature side is a single study")
        d = row.effect.yi - pooled.theta
        se_d = math.sqrt(row.effect.vi + pooled.se**2)
        z = d / se_d
        crit = float(ndtri(0.5 + options.level / 2.0))
        inside = None
        if pooled.pi_low is not None and pooled.pi_high is not None:
            inside = bool(pooled.pi_low <= row.effect.estimate <= pooled.pi_high)
        origins = {row.outcome.time_origin} | {s.time_origin for s in pooled.studies}
        origins.discard(None)
        if len(origins) > 1:
            warn.append("time origins differ between the index cohort and the literature: "
                        + ", ".join(sorted(o for o in origins if o)))
        out.append(Comparison(
            endpoint=endpoint, time_months=time, index=_study_estimate(row, weight=None),
            pooled=pooled, scale=options.scale.value, level=options.level, difference=d,
            diff_ci_low=d - crit * se_d, diff_ci_high=d + crit * se_d, z=z,
            pvalue=float(2.0 * ndtr(-abs(z))), inside_pi=inside,
            warnings=tuple(dict.fromkeys(warn)),
        ))
    if not out:
        raise AnalysisError(f"nothing to compare: no endpoint of {index_id} is reported by "
                            "another study of its group at the same landmark")
    return out
