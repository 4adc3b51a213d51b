"""The tidy results table: the one builder of the rows and columns shared by ``pool --format
csv``, ``compare --format csv``, :meth:`PoolResults.to_frame <metaview.api.PoolResults.to_frame>`
and the report's CSV files.

A record is a plain ``dict`` keyed by the glossary names of :mod:`metaview.model` (``estimate``,
``ci_low``, ``weight``, ...), with ``None`` for what does not apply; each output picks its
columns from the same records. Imports nothing heavy: pandas only in :func:`pool_frame`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from metaview.model import _clean

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from metaview.model import Comparison, ExcludedStudy, PooledResult, StudyEstimate

#: The columns of ``metaview pool --format csv`` and of ``to_frame()``, in order.
POOL_COLUMNS = ("endpoint", "time_months", "group", "row", "id", "label", "count", "total",
                "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "weight", "yi", "vi",
                "approximate", "k", "tau2", "i2", "q", "q_pvalue", "model", "scale",
                "tau2_method", "ci_method", "level", "reason", "reconstructed")

#: Added after :data:`POOL_COLUMNS` under ``--model bayes``: each study's shrunken estimate
#: (posterior median and credible interval of its own proportion), the posterior of tau on
#: the pooled row, and the model's priors and likelihood.
BAYES_POOL_COLUMNS = ("shrunk_estimate", "shrunk_ci_low", "shrunk_ci_high", "tau_median",
                      "tau_ci_low", "tau_ci_high", "tau_prior", "mu_prior", "likelihood")

#: The columns of ``metaview compare --format csv``, in order.
COMPARE_COLUMNS = ("endpoint", "time_months", "group", "index", "index_estimate",
                   "index_ci_low", "index_ci_high", "k_others", "pooled_estimate",
                   "pooled_ci_low", "pooled_ci_high", "pi_low", "pi_high", "scale",
                   "difference", "diff_ci_low", "diff_ci_high", "z", "pvalue", "inside_pi")
#: Added after :data:`COMPARE_COLUMNS` under ``--model bayes``.
BAYES_COMPARE_COLUMNS = ("prob_index_above_mean", "prob_index_above_new")

#: Columns holding whole numbers (nullable integers in a data frame).
INT_COLUMNS = ("count", "total", "k", "q_df", "q_between_df", "index_count", "index_total",
               "k_others", "at_risk", "line")


def analysis_fields(r: PooledResult) -> dict[str, Any]:
    """What identifies an analysis: endpoint, landmark, group and the method used."""
    return {"endpoint": r.endpoint, "time_months": r.time_months, "group": r.group,
            "model": r.model, "scale": r.scale, "tau2_method": r.tau2_method,
            "ci_method": r.ci_method, "level": r.level}


def study_record(r: PooledResult, s: StudyEstimate) -> dict[str, Any]:
    """One study of one analysis: the analysis's fields, ``row="study"`` and every field of
    :class:`~metaview.model.StudyEstimate`."""
    return {**analysis_fields(r), "row": "study", **s.to_dict()}


def pooled_record(r: PooledResult) -> dict[str, Any]:
    """The pooled row of one analysis: ``row="pooled"``, every scalar of the result, ``yi``
    and ``vi`` (theta and se² on the pooling scale), the between-group test as
    ``q_between``, ``q_between_df``, ``q_between_pvalue``, and the ids of its studies,
    the studies left out (``id: reason``) and its warnings as one text each."""
    d = r.to_dict()
    t = r.subgroup_test
    scalars = {k: v for k, v in d.items()
               if k not in ("studies", "excluded", "leave_one_out", "warnings",
                            "subgroup_test")}
    return {
        **scalars, "row": "pooled", "id": None, "label": "Pooled",
        "yi": d["theta"], "vi": None if d["se"] is None else d["se"] ** 2,
        "q_between": None if t is None else _clean(t.q_between),
        "q_between_df": None if t is None else t.df,
        "q_between_pvalue": None if t is None else _clean(t.pvalue),
        "studies": ";".join(s.id for s in r.studies),
        "excluded": ";".join(f"{e.id}: {e.reason}" for e in r.excluded),
        "warnings": " | ".join(r.warnings),
    }


def excluded_record(r: PooledResult, e: ExcludedStudy) -> dict[str, Any]:
    """A study left out of one analysis, with the reason."""
    return {**analysis_fields(r), "row": "excluded", "id": e.id, "label": e.label,
            "reason": e.reason}


def pool_records(results: Iterable[PooledResult], *,
                 excluded: bool = True) -> list[dict[str, Any]]:
    """Tidy records: each analysis's studies, its pooled row, then (with ``excluded``) the
    studies it left out."""
    rows: list[dict[str, Any]] = []
    for r in results:
        rows.extend(study_record(r, s) for s in r.studies)
        rows.append(pooled_record(r))
        if excluded:
            rows.extend(excluded_record(r, e) for e in r.excluded)
    return rows


def comparison_record(c: Comparison) -> dict[str, Any]:
    """One index comparison: the index study, the pooled others and the difference."""
    p = c.pooled
    return _clean({
        "endpoint": c.endpoint, "time_months": c.time_months, "group": p.group,
        "index": c.index.id, "index_estimate": c.index.estimate,
        "index_ci_low": c.index.ci_low, "index_ci_high": c.index.ci_high,
        "index_count": c.index.count, "index_total": c.index.total,
        "k_others": p.k, "others": ";".join(s.id for s in p.studies),
        "pooled_estimate": p.estimate, "pooled_ci_low": p.ci_low,
        "pooled_ci_high": p.ci_high, "pi_low": p.pi_low, "pi_high": p.pi_high,
        "scale": c.scale, "difference": c.difference, "diff_ci_low": c.diff_ci_low,
        "diff_ci_high": c.diff_ci_high, "z": c.z, "pvalue": c.pvalue,
        "inside_pi": c.inside_pi,
        "prob_index_above_mean": c.prob_index_above_mean,
        "prob_index_above_new": c.prob_index_above_new,
    })


def compare_columns(comparisons: Sequence[Comparison]) -> tuple[str, ...]:
    """:data:`COMPARE_COLUMNS`, with the posterior probabilities when the model is Bayesian."""
    if any(c.prob_index_above_mean is not None for c in comparisons):
        return COMPARE_COLUMNS + BAYES_COMPARE_COLUMNS
    return COMPARE_COLUMNS


def csv_cell(value: Any) -> str:
    """A CSV cell: empty for None, floats with 10 significant digits, text neutralised
    against spreadsheet formulas (:func:`metaview.render.format.csv_text`)."""
    from metaview.render.format import csv_text

    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(csv_text(value))


def to_csv(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    """``records`` as CSV text with ``columns`` (a missing key is an empty cell)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for rec in records:
        writer.writerow([csv_cell(rec.get(c)) for c in columns])
    return buf.getvalue()


def pool_columns(results: Sequence[PooledResult]) -> tuple[str, ...]:
    """:data:`POOL_COLUMNS`, with :data:`BAYES_POOL_COLUMNS` when a result is Bayesian."""
    if any(r.model == "bayes" for r in results):
        return POOL_COLUMNS + BAYES_POOL_COLUMNS
    return POOL_COLUMNS


def pool_csv(results: Sequence[PooledResult]) -> str:
    """The text of ``metaview pool --format csv``."""
    return to_csv(pool_records(results), pool_columns(results))


def compare_csv(comparisons: Sequence[Comparison]) -> str:
    """The text of ``metaview compare --format csv``."""
    return to_csv((comparison_record(c) for c in comparisons), compare_columns(comparisons))


def frame(records: Iterable[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """``records`` as a data frame with ``columns``; whole-number columns as ``Int64``."""
    import pandas as pd

    out = pd.DataFrame([{c: rec.get(c) for c in columns} for rec in records],
                       columns=list(columns))
    for c in INT_COLUMNS:
        if c in out.columns:
            out[c] = out[c].astype("Int64")
    return out


def pool_frame(results: Sequence[PooledResult]) -> pd.DataFrame:
    """The table of ``pool --format csv`` as a data frame (numbers unrounded)."""
    return frame(pool_records(results), pool_columns(results))
