"""The report's tables as CSV: per-study estimates, pooled results, the index comparison and
the provenance of every number.

Columns use the glossary names (``estimate``, ``ci_low``, ...); proportions are fractions,
``theta``/``se``/``yi``/``vi`` are on the pooling scale, ``i2`` and ``weight`` in percent.
Floats are written with 10 significant digits, so the files diff cleanly between runs.
Text that a spreadsheet would run as a formula gets a leading ``'``
(:func:`metaview.render.format.csv_text`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from metaview.render.format import csv_text
from metaview.report.bayes import sensitivity_frame
from metaview.report.compose import provenance_rows
from metaview.report.content import Report
from metaview.tidy import comparison_record, frame, pooled_record, study_record

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

FLOAT_FORMAT = "%.10g"

STUDY_COLUMNS = (
    "analysis", "endpoint", "time_months", "group", "model", "scale", "id", "label", "arm",
    "is_index", "estimate", "ci_low", "ci_high", "ci_source", "count", "total", "yi", "vi",
    "weight", "approximate", "derived", "corrected", "time_origin",
)

POOLED_COLUMNS = (
    "analysis", "endpoint", "time_months", "group", "model", "scale", "tau2_method",
    "ci_method", "level", "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "theta",
    "se", "tau2", "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low", "i2_ci_high", "h2",
    "h2_ci_low", "h2_ci_high", "q", "q_df", "q_pvalue", "q_between", "q_between_df",
    "q_between_pvalue", "studies",
    "excluded", "warnings",
)

COMPARISON_COLUMNS = (
    "endpoint", "time_months", "group", "index", "index_estimate", "index_ci_low",
    "index_ci_high", "index_count", "index_total", "k_others", "others", "pooled_estimate",
    "pooled_ci_low", "pooled_ci_high", "pi_low", "pi_high", "scale", "difference",
    "diff_ci_low", "diff_ci_high", "z", "pvalue", "inside_pi",
)

PROVENANCE_COLUMNS = (
    "id", "study", "endpoint", "time_months", "time_origin", "reported", "count", "total",
    "estimate", "estimate_text", "ci_low", "ci_high", "ci_level", "ci_method", "at_risk",
    "used_in", "source", "derived", "note", "file", "line",
)



def _analysis_sets(report: Report) -> Iterable[tuple[str, Any]]:
    """("main" | "glmm" | "default" | "bayes", result) for every result of every analysis."""
    companion = report.companion_options
    name = None if companion is None else ("glmm" if companion.model.value == "glmm"
                                           else "default")
    for a in report.analyses:
        for r in a.results:
            yield "main", r
        if name is not None:
            for r in a.companion:
                yield name, r
        if report.bayes is not None:
            yield from (("bayes", r) for r in report.bayes.results_for(a.stem))


def studies_frame(report: Report) -> pd.DataFrame:
    """One row per study per analysis (each group and the overall one)."""
    rows = [{**study_record(r, s), "analysis": analysis}
            for analysis, r in _analysis_sets(report) for s in r.studies]
    return frame(rows, STUDY_COLUMNS)


def pooled_frame(report: Report) -> pd.DataFrame:
    """One row per pooled result; ``analysis`` tells the main model from the one beside it."""
    rows = [{**pooled_record(r), "analysis": analysis} for analysis, r in _analysis_sets(report)]
    return frame(rows, POOLED_COLUMNS)


def comparison_frame(report: Report) -> pd.DataFrame:
    rows = [comparison_record(c) for a in report.analyses for c in a.comparisons]
    return frame(rows, COMPARISON_COLUMNS)


def provenance_frame(report: Report) -> pd.DataFrame:
    return frame(provenance_rows(report), PROVENANCE_COLUMNS)


def to_csv(frame: pd.DataFrame) -> bytes:
    import pandas as pd

    frame = frame.apply(lambda col: col if pd.api.types.is_numeric_dtype(col)
                        else col.map(csv_text))
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n", float_format=FLOAT_FORMAT)
    return buf.getvalue().encode("utf-8")


def csv_files(report: Report) -> dict[str, bytes]:
    """``studies.csv``, ``pooled.csv``, ``comparison.csv``, ``provenance.csv`` and
    ``prior-sensitivity.csv``."""
    return {
        "studies.csv": to_csv(studies_frame(report)),
        "pooled.csv": to_csv(pooled_frame(report)),
        "comparison.csv": to_csv(comparison_frame(report)),
        "provenance.csv": to_csv(provenance_frame(report)),
        **({} if report.bayes is None else
           {"prior-sensitivity.csv": to_csv(sensitivity_frame(report.bayes))}),
    }
