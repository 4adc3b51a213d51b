"""From study files to pooled results: choosing outcomes, grouping, excluding, fitting.

This is where study data meet the array core. For each endpoint and landmark, every
analysis (each group, the overall one, and every leave-one-out refit) is one row of a single
batched :func:`~metaview.engine.rma.fit_rma` call.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from metaview import notices
from metaview.choices import CIMethod, Likelihood, Model, Scale, StudyCI, Tau2Method, parse
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
from metaview.notices import code_of

DEFAULT_TIME = 12.0


@dataclass(frozen=True)
class AnalysisOptions:
    """Everything that decides an analysis (the command line's analysis options).

    Every way of building it checks and normalises the values (``__post_init__``): option
    values may be given as the enums of :mod:`metaview.choices` or as their plain strings
    (case-insensitive), and a bad value or combination raises
    :class:`~metaview.errors.UsageError` (a ``ValueError``) naming the option and the
    values it takes. The engine then only sees enums.

    Parameters
    ----------
    endpoints
        Endpoint tokens to analyse (``("OS", "PFS")``); None: every endpoint found.
    time_months
        Landmark in months; None: 12 for endpoints reported with a time.
    model
        ``random`` (default), ``common``, ``glmm`` or ``bayes``.
    tau2_method
        ``REML`` (default), ``ML``, ``DL``, ``PM``, ``HS``, ``SJ``, ``HE`` or ``EB``; always
        ``ML`` for the GLMM.
    ci_method
        ``z``, ``hk`` or ``hk-adhoc``; ``z`` or ``t`` for the GLMM. None (default):
        ``hk-adhoc``, and ``z`` for the GLMM.
    scale
        ``logit`` (default), ``cloglog``, ``log``, ``arcsine``, ``pft`` or ``raw``.
    study_ci
        Per-study interval for counts: ``wilson`` (default), ``clopper-pearson``,
        ``agresti-coull``, ``jeffreys`` or ``wald``.
    level
        Confidence level, strictly between 0 and 1 (default 0.95).
    group_by
        A top-level field or a characteristic to analyse groups by (default ``arm``);
        None: no grouping.
    exclude
        Ids of studies to leave out.
    leave_one_out
        Refit without each study.
    prefer_curves
        Use the landmark read from a reconstructed curve even where the paper prints it.
    tau_prior, mu_prior, likelihood
        ``model="bayes"`` only: priors (``"half-normal:1"``, ``"normal:0,2"``, or the prior
        objects of :mod:`metaview.engine.bayes`) and ``normal`` or ``binomial``.
    """

    endpoints: tuple[str, ...] | None = None
    time_months: float | None = None
    model: Model = Model.RANDOM
    tau2_method: Tau2Method = Tau2Method.REML
    #: None when built: hk-adhoc, z for the GLMM
    ci_method: CIMethod = None  # type: ignore[assignment]
    scale: Scale = Scale.LOGIT
    study_ci: StudyCI = StudyCI.WILSON
    level: float = 0.95
    group_by: str | None = "arm"
    exclude: tuple[str, ...] = ()
    leave_one_out: bool = False
    #: a landmark read from a reconstructed curve wins over the printed figure
    prefer_curves: bool = False
    tau_prior: object | None = None  # --model bayes: a metaview.engine.bayes.TauPrior
    mu_prior: object | None = None  # --model bayes: a metaview.engine.bayes.MuPrior
    likelihood: Likelihood = Likelihood.NORMAL

    def __post_init__(self) -> None:
        for name, value in _checked_options(self).items():
            object.__setattr__(self, name, value)

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
        prefer_curves: bool = False,
        tau_prior: str | None = None,
        mu_prior: str = "flat",
        likelihood: str = "normal",
    ) -> AnalysisOptions:
        """Options from plain strings, checked; the same as calling the class.

        ``endpoints`` and ``exclude`` are sequences of strings (a single string is a
        TypeError, not a sequence of letters); ``endpoints=None`` means every endpoint.

        Raises
        ------
        UsageError
            A bad value or combination (also a ``ValueError``).
        TypeError
            A value of the wrong type (``endpoints="OS"``).
        """
        return cls(
            endpoints=endpoints, time_months=time_months, model=model,  # type: ignore[arg-type]
            tau2_method=tau2_method, ci_method=ci_method, scale=scale,  # type: ignore[arg-type]
            study_ci=study_ci, level=level, group_by=group_by,  # type: ignore[arg-type]
            exclude=exclude, leave_one_out=leave_one_out,  # type: ignore[arg-type]
            prefer_curves=prefer_curves, tau_prior=tau_prior, mu_prior=mu_prior,
            likelihood=likelihood,  # type: ignore[arg-type]
        )


def _checked_options(o: AnalysisOptions) -> dict[str, object]:
    """The fields of ``o`` checked and normalised (enums, tuples, upper-case endpoints)."""
    endpoints = _strings(o.endpoints, "endpoints", "['OS']", allow_none=True)
    exclude = _strings(o.exclude, "exclude", "['zuma1']", allow_none=False)
    group_by = o.group_by
    if group_by is not None and not isinstance(group_by, str):
        raise TypeError(f"group_by must be a field name (str) or None, "
                        f"not {type(group_by).__name__}")
    for name in ("leave_one_out", "prefer_curves"):
        if not isinstance(getattr(o, name), (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, not {getattr(o, name)!r}")
    m = parse(Model, o.model, option="--model")
    sc = parse(Scale, o.scale, option="--scale")
    if o.ci_method is None:
        ci = CIMethod.Z if m is Model.GLMM else CIMethod.HK_ADHOC
    else:
        ci = parse(CIMethod, o.ci_method, option="--ci")
    if m is Model.GLMM:
        if sc is not Scale.LOGIT:
            raise UsageError(f"--model glmm works on the logit scale only, not --scale {sc}")
        if ci not in (CIMethod.Z, CIMethod.T):
            raise UsageError(f"--model glmm takes --ci z or t, not {ci}")
    elif ci is CIMethod.T:
        raise UsageError("--ci t is for --model glmm; use z, hk or hk-adhoc")
    tau2 = parse(Tau2Method, o.tau2_method, option="--tau2")
    lik = parse(Likelihood, o.likelihood, option="--likelihood")
    tau_p, mu_p = o.tau_prior, o.mu_prior
    if m is Model.BAYES:
        from metaview.engine import bayes

        if tau_p is None:
            if sc not in (Scale.LOGIT, Scale.CLOGLOG, Scale.LOG):
                raise UsageError(f"--model bayes on the {sc} scale needs --tau-prior (the "
                                  "default half-normal:1 is for the logit, cloglog and log "
                                  f"scales; valid forms: {bayes.TAU_PRIOR_FORMS})")
            tau_p = bayes.DEFAULT_TAU_PRIOR
        elif isinstance(tau_p, str):
            tau_p = bayes.parse_tau_prior(tau_p)
        if mu_p is None or isinstance(mu_p, str):
            mu_p = bayes.parse_mu_prior(mu_p or "flat")
        if lik is Likelihood.BINOMIAL and sc is not Scale.LOGIT:
            raise UsageError(f"--likelihood binomial works on the logit scale only, not "
                              f"--scale {sc}")
    elif tau_p is not None or mu_p not in (None, "flat") or lik is not Likelihood.NORMAL:
        raise UsageError("--tau-prior, --mu-prior and --likelihood are for --model bayes")
    else:
        mu_p = None
    level = o.level
    if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)):
        raise TypeError(f"level must be a number, e.g. level=0.95, not {level!r}")
    level = float(level)
    if not 0.0 < level < 1.0:
        raise UsageError(f"--level must lie between 0 and 1, not {level}")
    from metaview.distributions import finite_quantiles

    if not finite_quantiles(level):
        raise UsageError(f"--level {level!r} is so close to 1 that its normal quantile is "
                          "infinite; choose a level further from 1, e.g. 0.999")
    time_months = o.time_months
    if time_months is not None:
        if isinstance(time_months, bool) or not isinstance(time_months,
                                                           (int, float, np.number)):
            raise TypeError(f"time_months must be a number of months, e.g. 12, "
                            f"not {time_months!r}")
        time_months = float(time_months)
        if not (time_months > 0 and math.isfinite(time_months)):
            raise UsageError(f"--time must be a positive number of months, not "
                              f"{time_months:g}")
    eps = None
    if endpoints:
        blank = [e for e in endpoints if not e.strip()]
        if blank:
            raise UsageError(f"--endpoint {blank[0]!r}: an endpoint token cannot be empty "
                              "(e.g. --endpoint OS)")
        eps = tuple(dict.fromkeys(e.strip().upper() for e in endpoints))
    if group_by is not None and not group_by.strip():
        raise UsageError("--group-by '': give a field name, e.g. --group-by arm "
                          "(or --no-group)")
    return {
        "endpoints": eps, "time_months": time_months, "model": m,
        "tau2_method": Tau2Method.ML if m is Model.GLMM else tau2, "ci_method": ci,
        "scale": sc, "study_ci": parse(StudyCI, o.study_ci, option="--study-ci"),
        "level": level, "group_by": group_by, "exclude": tuple(exclude or ()),
        "leave_one_out": bool(o.leave_one_out), "prefer_curves": bool(o.prefer_curves),
        "tau_prior": tau_p, "mu_prior": mu_p, "likelihood": lik,
    }


def _strings(values: object, name: str, example: str, *,
             allow_none: bool) -> tuple[str, ...] | None:
    """``values`` as a tuple of strings; a string, bytes or a non-string item is a TypeError."""
    if values is None and allow_none:
        return None
    if values is None or isinstance(values, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be a list of strings, e.g. {name}={example}, "
                        f"not {values!r}")
    try:
        items: tuple[object, ...] = tuple(values)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be a list of strings, e.g. {name}={example}, "
                        f"not {type(values).__name__}") from None
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} must hold strings, not {type(item).__name__} ({item!r})")
    return tuple(str(item) for item in items)


def _check(studies: Sequence[Study], options: AnalysisOptions) -> None:
    """The studies are a sequence of Study; every ``--exclude`` id and the ``--group-by``
    field exist (a typo would silently change the analysis)."""
    if isinstance(studies, (Study, str, bytes)) or not all(isinstance(s, Study)
                                                           for s in studies):
        raise TypeError("studies must be a list of Study (from metaview.io.load_studies)")
    if not isinstance(options, AnalysisOptions):
        raise TypeError("options must be an AnalysisOptions (AnalysisOptions.create(...))")
    known = {s.id for s in studies}
    unknown = [e for e in options.exclude if e not in known]
    if unknown:
        raise UsageError(f"--exclude {unknown[0]}: no study has this id "
                         f"(ids: {', '.join(sorted(known))})")
    field_name = options.group_by
    if field_name is not None and studies and all(s.characteristic(field_name) is None
                                                 for s in studies):
        fields = [*_GROUPABLE, *sorted({k for s in studies for k in s.characteristics}
                                       - set(_GROUPABLE))]
        close = difflib.get_close_matches(field_name, fields, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        shown = ", ".join(fields[:12]) + (f", ... ({len(fields)} in all)" if len(fields) > 12
                                          else "")
        raise UsageError(f"--group-by {field_name}: no study has this field ({hint}fields: "
                         f"{shown}; or --no-group)")


#: top-level fields a study can be grouped by
_GROUPABLE = ("arm", "design", "country", "year")


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


def endpoint_landmarks(studies: Sequence[Study],
                       options: AnalysisOptions) -> list[tuple[str, float | None]]:
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


def _from_curve(s: Study, endpoint: str, time: float, options: AnalysisOptions,
                plan: _Plan) -> list[Outcome]:
    """The landmark read from the study's reconstructed curve of ``endpoint``, if any."""
    from metaview.estimate.reconstruct import landmark_outcome

    for curve in s.curves_for(endpoint):
        found = landmark_outcome(curve, time, options.level)
        if isinstance(found, str):
            plan.warnings.append(notices.curve_not_usable(s.id, found))
            continue
        return [found]
    return []


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
            plan.excluded.append((s, notices.excluded_by_user(s.id)))
            continue
        matches = s.outcomes_for(endpoint, time)
        if s.curves and time is not None and (options.prefer_curves or not matches):
            matches = _from_curve(s, endpoint, time, options, plan) or matches
        if not matches:
            others = [o for o in s.outcomes if o.endpoint == endpoint]
            if not others:
                plan.excluded.append((s, notices.not_reported(s.id, endpoint)))
            else:
                what = ", ".join(
                    f"{endpoint} at {o.time_months:g} months" if o.time_months is not None
                    else f"{endpoint} without a landmark" for o in others)
                plan.excluded.append((s, notices.other_landmark(s.id, endpoint, time, what)))
            continue
        if len(matches) > 1:
            plan.warnings.append(notices.duplicate_entries(s.id, endpoint, time, len(matches),
                                                           matches[0].line))
        candidates.append((s, matches[0]))
    effects = outcome_effects([o for _, o in candidates], scale=options.scale,
                              study_ci=options.study_ci, level=options.level)
    for (s, o), eff in zip(candidates, effects):
        if isinstance(eff, NoStandardError):
            plan.excluded.append(
                (s, notices.no_standard_error(s.id, endpoint, time, o.describe(), str(eff))))
            continue
        plan.rows.append(_Row(s, o, eff, groups[id(s)]))
    return plan


# ------------------------------------------------------------------ fitting


def analyse(studies: Sequence[Study], options: AnalysisOptions) -> list[PooledResult]:
    """Every endpoint x landmark x group analysis of ``studies``.

    With grouping (default: by ``arm``), each endpoint and landmark gives one result per
    group, then the overall one (``group=None``) carrying the between-group test.
    """
    _check(studies, options)
    results: list[PooledResult] = []
    groups = _group_table(studies, options.group_by)
    for endpoint, time in endpoint_landmarks(studies, options):
        results.extend(_analyse_one(studies, endpoint, time, options, groups))
    return results


def analyse_effects(
    items: Sequence[tuple[Study, Outcome, OutcomeEffect]],
    options: AnalysisOptions,
) -> list[PooledResult]:
    """The analyses of given effect sizes (one endpoint and landmark), as :func:`analyse`.

    For data that are already on the pooling scale (``metaview.pool_estimates``): each item
    is a study, the outcome it stands for and its effect (``yi``, ``vi`` and what tables
    show), used as given.
    """
    studies = [s for s, _, _ in items]
    _check(studies, options)
    if not items:
        raise AnalysisError("nothing to pool: no studies were given")
    endpoint, time = items[0][1].endpoint, items[0][1].time_months
    table = _group_table(studies, options.group_by)
    plan = _Plan(endpoint, time)
    plan.rows = [_Row(s, o, e, table[id(s)]) for s, o, e in items if s.id not in options.exclude]
    plan.excluded = [(s, "excluded with --exclude") for s in studies if s.id in options.exclude]
    return _analyse_one(studies, endpoint, time, options, table, plan)


def _analyse_one(studies: Sequence[Study], endpoint: str, time: float | None,
                 options: AnalysisOptions, table: dict[int, str | None] | None = None,
                 plan: _Plan | None = None) -> list[PooledResult]:
    if table is None:
        table = _group_table(studies, options.group_by)
    if plan is None:
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
        warn.append(notices.mixed_arms(arms, per_arm_shown=options.group_by == "arm"))
    overall = replace(overall, warnings=tuple(warn),
                      subgroup_test=_subgroup_test(group_results) if group_results else None)
    return group_results + [overall]


def _fit_block(plan: _Plan, group: str | None, members: list[int],
               options: AnalysisOptions, table: dict[int, str | None]) -> PooledResult:
    rows = [plan.rows[i] for i in members]
    excluded = tuple(
        ExcludedStudy(s.id, s.label, reason,
                      tuple(o.describe() for o in s.outcomes if o.endpoint == plan.endpoint),
                      s.arm, code_of(reason), getattr(reason, "detail", ""))
        for s, reason in plan.excluded
        if group is None or table[id(s)] == group
    )
    warnings = list(plan.warnings)
    warnings.extend(_data_warnings(rows, options))
    base = dict(
        endpoint=plan.endpoint, time_months=plan.time, group=group,
        model=options.model.value, scale=options.scale.value,
        tau2_method=None if options.model in (Model.COMMON, Model.BAYES)
        else options.tau2_method.value,
        ci_method="credible" if options.model is Model.BAYES else options.ci_method.value,
        level=options.level, k=len(rows),
        excluded=excluded, group_by=options.group_by,
    )
    empty = dict(estimate=None, ci_low=None, ci_high=None, pi_low=None, pi_high=None,
                 theta=None, se=None, tau2=None, tau2_ci_low=None, tau2_ci_high=None, i2=None,
                 i2_ci_low=None, i2_ci_high=None, h2=None, h2_ci_low=None, h2_ci_high=None,
                 q=None, q_df=None, q_pvalue=None)
    if not rows:
        warnings.append(notices.no_study(plan.endpoint, plan.time))
        return PooledResult(**base, **empty, studies=(), warnings=tuple(warnings))  # type: ignore[arg-type]
    if options.model is Model.BAYES:
        return _fit_bayes(rows, base, warnings, options)
    if len(rows) == 1:
        r = rows[0]
        only = _study_estimate(r, weight=100.0)
        warnings.append(notices.single_study(r.study.id, plan.endpoint, plan.time))
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
        warnings.append(notices.interval_outside_range(options.scale.value))
    weights = fit.weights[0]
    studies_out = tuple(
        _study_estimate(r, weight=None if not math.isfinite(weights[i]) else float(weights[i]))
        for i, r in enumerate(rows)
    )
    common = options.model is Model.COMMON
    result = PooledResult(
        **dict(base, model=model_used),
        estimate=est, ci_low=lo, ci_high=hi, pi_low=pi_lo, pi_high=pi_hi,
        theta=b, se=float(fit.se[0]),
        tau2=float(fit.tau2[0]),
        tau2_ci_low=_f(fit.tau2_ci_lb[0]), tau2_ci_high=_f(fit.tau2_ci_ub[0]),
        i2=_f(fit.i2[0]), i2_ci_low=_f(fit.i2_ci_lb[0]), i2_ci_high=_f(fit.i2_ci_ub[0]),
        h2=_f(fit.h2[0]), h2_ci_low=_f(fit.h2_ci_lb[0]), h2_ci_high=_f(fit.h2_ci_ub[0]),
        q=_f(fit.q[0]), q_df=int(fit.q_df[0]), q_pvalue=_f(fit.q_pvalue[0]),
        studies=studies_out, warnings=tuple(dict.fromkeys(warnings)),
        leave_one_out=_leave_one_out(rows, y, v, options, n_h) if options.leave_one_out else None,
    )
    if common:
        result = replace(result, tau2=0.0)
    return result


def pseudo_counts(items: Sequence[tuple[int | None, int | None, float, float, float | None]]
                  ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Events and totals for binomial likelihoods from ``(count, total, estimate, vi, n)``.

    Counts are used as they are. A study reporting an estimate ``p`` enters with the
    pseudo-counts ``p * n`` of ``n`` (its ``total`` or number at risk), or, with neither,
    of the effective ``n = 1 / (vi p (1 - p))`` that gives its logit variance ``vi``. Returns
    the events, the totals and the positions of the studies given pseudo-counts.
    """
    x, n, approx = [], [], []
    for i, (count, total, p, vi, size) in enumerate(items):
        if count is not None and total is not None:
            x.append(float(count))
            n.append(float(total))
            continue
        size = total if total is not None else size
        if size is None:
            size = 1.0 / (vi * p * (1.0 - p)) if 0.0 < p < 1.0 and vi > 0 else None
        if size is None:
            raise AnalysisError("a study reporting only an estimate of 0 or 1 with no total "
                                "cannot enter a binomial likelihood")
        x.append(p * float(size))
        n.append(float(size))
        approx.append(i)
    return np.array(x), np.array(n), approx


def _bayes_fit(rows: list[_Row], options: AnalysisOptions, warnings: list[str] | None = None):
    """The posterior of the rows' analysis (normal or binomial likelihood)."""
    from metaview.engine import bayes

    if options.likelihood is Likelihood.BINOMIAL:
        x, n, approx = pseudo_counts([(r.effect.count, r.effect.total, r.effect.estimate,
                                       r.effect.vi, r.effect.n) for r in rows])
        if approx and warnings is not None:
            warnings.append(notices.bayes_pseudo_counts(rows[i].study.id for i in approx))
        return bayes.fit_binomial(x, n, tau_prior=options.tau_prior,  # type: ignore[arg-type]
                                  mu_prior=options.mu_prior, level=options.level)  # type: ignore[arg-type]
    y = np.array([r.effect.yi for r in rows])
    v = np.array([r.effect.vi for r in rows])
    return bayes.fit_normal(y, v, tau_prior=options.tau_prior,  # type: ignore[arg-type]
                            mu_prior=options.mu_prior, level=options.level)  # type: ignore[arg-type]


def _fit_bayes(rows: list[_Row], base: dict, warnings: list[str],
               options: AnalysisOptions) -> PooledResult:
    """``--model bayes``: posterior medians and central credible intervals."""
    from metaview.engine.rma import fit_rma

    n_h = _harmonic_n(rows)
    fit = _bayes_fit(rows, options, warnings)
    sc = options.scale
    est, lo, hi = _back(fit.mu.median, fit.mu.low, fit.mu.high, sc, n_h)
    _, pi_lo, pi_hi = _back(fit.predictive.median, fit.predictive.low, fit.predictive.high,
                            sc, n_h)
    studies_out = []
    for r, s in zip(rows, fit.shrunk):
        e, a, b = _back(s.median, s.low, s.high, sc, n_h)
        studies_out.append(replace(_study_estimate(r, weight=None), shrunk_estimate=e,
                                   shrunk_ci_low=a, shrunk_ci_high=b))
    q = q_df = q_p = None
    if len(rows) >= 2:
        y = np.array([r.effect.yi for r in rows])
        v = np.array([r.effect.vi for r in rows])
        classical = fit_rma(y, v, method=None, test=CIMethod.Z, level=options.level)
        q, q_df, q_p = _f(classical.q[0]), int(classical.q_df[0]), _f(classical.q_pvalue[0])
    if fit.mu_sd is None:
        warnings.append(notices.infinite_posterior_sd(len(rows)))
    if len(rows) == 1:
        warnings.append(notices.tau_from_prior(rows[0].study.id))
    loo = None
    if options.leave_one_out and len(rows) >= 2:
        loo = []
        for i in range(len(rows)):
            keep = [r for j, r in enumerate(rows) if j != i]
            f = _bayes_fit(keep, options)
            e, a, b = _back(f.mu.median, f.mu.low, f.mu.high, sc, n_h)
            _, pa, pb = _back(f.predictive.median, f.predictive.low, f.predictive.high, sc, n_h)
            loo.append(LeaveOneOut(omitted=rows[i].study.id, estimate=e, ci_low=a, ci_high=b,
                                   pi_low=pa, pi_high=pb, theta=float(f.mu.median),
                                   se=float("nan") if f.mu_sd is None else f.mu_sd,
                                   tau2=float(f.tau.median) ** 2, i2=None, q=None))
    return PooledResult(
        **base, estimate=est, ci_low=lo, ci_high=hi, pi_low=pi_lo, pi_high=pi_hi,
        theta=float(fit.mu.median), se=fit.mu_sd, tau2=float(fit.tau.median) ** 2,
        tau2_ci_low=float(fit.tau.low) ** 2, tau2_ci_high=float(fit.tau.high) ** 2,
        i2=None, i2_ci_low=None, i2_ci_high=None, h2=None, h2_ci_low=None, h2_ci_high=None,
        q=q, q_df=q_df, q_pvalue=q_p,
        studies=tuple(studies_out), warnings=tuple(dict.fromkeys(warnings)),
        leave_one_out=None if loo is None else tuple(loo),
        tau_median=float(fit.tau.median), tau_ci_low=float(fit.tau.low),
        tau_ci_high=float(fit.tau.high), tau_prior=fit.tau_prior.text(),
        mu_prior=fit.mu_prior.text(), likelihood=fit.likelihood,
    )


def _fit(rows: list[_Row], y: np.ndarray, v: np.ndarray, options: AnalysisOptions,
         warnings: list[str]):
    from metaview.engine.rma import fit_rma

    if options.model is Model.GLMM:
        from metaview.engine.glmm import GlmmConvergenceError, fit_glmm

        # reported counts or a reconstructed curve's effective counts, else pseudo-counts
        counts = _glmm_counts(rows, warnings)
        no_counts = [r.study.id for r, c in zip(rows, counts) if c is None]
        try:
            x, n, approx = pseudo_counts([
                (c[0] if c else None, c[1] if c else r.effect.total, r.effect.estimate,
                 r.effect.vi, r.effect.n) for r, c in zip(rows, counts)])
        except AnalysisError:
            x = None
            warnings.append(notices.glmm_needs_counts(no_counts))
        if x is not None:
            if approx:
                warnings.append(notices.glmm_pseudo_counts(rows[i].study.id for i in approx))
            try:
                fit = fit_glmm(x, n, test=options.ci_method, level=options.level)
                return fit, "glmm"
            except GlmmConvergenceError as exc:
                warnings.append(notices.glmm_failed(str(exc)))
        fit = fit_rma(y, v, method=Tau2Method.REML, test=CIMethod.HK_ADHOC, level=options.level)
        return fit, "random"
    method = None if options.model is Model.COMMON else options.tau2_method
    return fit_rma(y, v, method=method, test=options.ci_method, level=options.level), \
        options.model.value


def _glmm_counts(rows: list[_Row], warnings: list[str]) -> list[tuple[int, int] | None]:
    """Counts for the GLMM: the reported ones, or a reconstructed curve's effective counts."""
    out: list[tuple[int, int] | None] = []
    effective = []
    for r in rows:
        if r.effect.count is not None:
            out.append((r.effect.count, r.effect.total or 0))
        elif r.outcome.reconstructed:
            from metaview.estimate.reconstruct import effective_counts

            counts = effective_counts(r.outcome)
            out.append(counts)
            if counts is not None:
                effective.append((r.study.id, f"{counts[0]}/{counts[1]}"))
        else:
            out.append(None)
    if effective:
        warnings.append(notices.effective_counts(effective))
    return out


def _leave_one_out(rows: list[_Row], y: np.ndarray, v: np.ndarray, options: AnalysisOptions,
                   n_h: float | None) -> tuple[LeaveOneOut, ...]:
    from metaview.engine.rma import fit_rma

    k = len(rows)
    if k < 2:
        return ()
    mask = ~np.eye(k, dtype=bool)
    yy = np.broadcast_to(y, (k, k))
    vv = np.broadcast_to(v, (k, k))
    counts = _glmm_counts(rows, []) if options.model is Model.GLMM else [None]
    if options.model is Model.GLMM and all(c is not None for c in counts):
        from metaview.engine.glmm import GlmmConvergenceError, fit_glmm

        out = []
        for i in range(k):
            keep = [counts[j] or (0, 0) for j in range(k) if j != i]
            try:
                f = fit_glmm([c[0] for c in keep], [c[1] for c in keep],
                             test=options.ci_method, level=options.level)
            except GlmmConvergenceError:
                continue
            out.append(_loo_entry(rows[i].study.id, f, 0, options, n_h))
        return tuple(out)
    method = None if options.model is Model.COMMON else options.tau2_method
    test = options.ci_method if options.model is not Model.GLMM else CIMethod.HK_ADHOC
    fit = fit_rma(yy, vv, mask, method=method, test=test, level=options.level, tau2_ci=False)
    return tuple(_loo_entry(rows[i].study.id, fit, i, options, n_h) for i in range(k))


def _loo_entry(omitted: str, fit, i: int, options: AnalysisOptions,
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
        derived_text=o.derived, patients=r.study.patients, reconstructed=o.reconstructed,
    )


def _data_warnings(rows: list[_Row], options: AnalysisOptions) -> list[str]:
    out: list[str] = []
    corrected = [r.study.id for r in rows if r.effect.corrected]
    if corrected:
        out.append(notices.continuity_correction(options.scale.value, corrected))
    approx = [r.study.id for r in rows if r.effect.approximate]
    if approx:
        # censoring only concerns a landmark of a time-to-event endpoint
        landmark = any(r.outcome.time_months is not None for r in rows if r.effect.approximate)
        out.append(notices.approximate_se(approx, landmark))
    for r in rows:
        for note in r.effect.notes:
            out.append(notices.study_note(r.study.id, note))
    origins = sorted({r.outcome.time_origin for r in rows if r.outcome.time_origin})
    if len(origins) > 1:
        out.append(notices.literature_time_origins(
            (o, [r.study.id for r in rows if r.outcome.time_origin == o]) for o in origins))
    reconstructed = [r.study.id for r in rows if r.outcome.reconstructed]
    if reconstructed:
        out.append(notices.reconstructed(reconstructed))
    derived = [r.study.id for r in rows if r.outcome.derived]
    if derived:
        out.append(notices.derived(derived))
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


def _index_probabilities(row: _Row, others: Sequence[Study], endpoint: str,
                         time: float | None, options: AnalysisOptions) -> dict[str, float]:
    """P(theta_index > mu | data) and P(theta_index > theta_new | data) under --model bayes.

    The index study's theta is N(y_index, v_index) (normal likelihood) or, with the binomial
    likelihood, its own binomial likelihood under a flat prior on the logit.
    """
    fit = _bayes_fit(_plan(others, endpoint, time, options).rows, options)
    e = row.effect
    if options.likelihood is Likelihood.BINOMIAL:
        x, n, _ = pseudo_counts([(e.count, e.total, e.estimate, e.vi, e.n)])
        return {"prob_index_above_mean": fit.prob_beta_above(float(x[0]), float(n[0]),
                                                             new=False),
                "prob_index_above_new": fit.prob_beta_above(float(x[0]), float(n[0]),
                                                            new=True)}
    return {"prob_index_above_mean": fit.prob_above_mean(e.yi, e.vi),
            "prob_index_above_new": fit.prob_above_new(e.yi, e.vi)}


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

    _check(studies, options)
    ids = {s.id: s for s in studies}
    if index_id not in ids:
        raise UsageError(f"--index {index_id}: no study has this id "
                         f"(ids: {', '.join(sorted(ids))})")
    if index_id in options.exclude:
        raise UsageError(f"--exclude {index_id}: this is the index study, the one compared; "
                         "drop --exclude for it, or choose another --index")
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
        if pooled.k == 0 or pooled.theta is None:
            continue
        warn = list(pooled.warnings)
        if pooled.k == 1:
            warn.append(notices.single_study_literature())
        probs: dict[str, float] = {}
        if options.model is Model.BAYES:
            probs = _index_probabilities(row, others, endpoint, time, opts)
        d = row.effect.yi - pooled.theta
        test: dict[str, float | None] = dict.fromkeys(
            ("diff_ci_low", "diff_ci_high", "z", "pvalue"))
        if pooled.se is not None:  # None: the Bayesian model's infinite posterior SD (noted)
            se_d = math.sqrt(row.effect.vi + pooled.se**2)
            z = d / se_d
            crit = float(ndtri(0.5 + options.level / 2.0))
            test = {"diff_ci_low": d - crit * se_d, "diff_ci_high": d + crit * se_d, "z": z,
                    "pvalue": float(2.0 * ndtr(-abs(z)))}
        inside = None
        if pooled.pi_low is not None and pooled.pi_high is not None:
            inside = bool(pooled.pi_low <= row.effect.estimate <= pooled.pi_high)
        origins = {row.outcome.time_origin} | {s.time_origin for s in pooled.studies}
        origins.discard(None)
        if len(origins) > 1:
            warn.append(notices.time_origins_differ(sorted(o for o in origins if o)))
        out.append(Comparison(
            endpoint=endpoint, time_months=time, index=_study_estimate(row, weight=None),
            pooled=pooled, scale=options.scale.value, level=options.level, difference=d,
            inside_pi=inside, warnings=tuple(dict.fromkeys(warn)), **test, **probs,
        ))
    if not out:
        raise AnalysisError(f"nothing to compare: no endpoint of {index_id} is reported by "
                            "another study of its group at the same landmark")
    return out
