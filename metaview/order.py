"""The order of studies in tables and figures: one rule for ``forest``, ``report`` and the API.

The default is by publication year, then label (then id, so that the order is total). The
forest plot keeps its groups (arms) and puts the index cohort last in its group, just above
the summary rows; within a group the rows follow this order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metaview.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from metaview.model import PooledResult, Study

#: The orders ``--sort`` accepts: ``year`` (then label), ``label``, ``estimate`` (lowest
#: first), ``weight`` (heaviest first), ``file`` (file name).
SORTS = ("year", "label", "estimate", "weight", "file")
DEFAULT_SORT = "year"


def year_then_label(study: Study) -> tuple[Any, ...]:
    """The default sort key: year, then label (case-insensitive), then id."""
    return (study.year, study.label.casefold(), study.id)


def sort_studies(studies: Iterable[Study], sort: str = DEFAULT_SORT,
                 results: Sequence[PooledResult] = ()) -> list[Study]:
    """``studies`` in the order named by ``sort`` (one of :data:`SORTS`).

    ``estimate`` and ``weight`` use the studies' values in the first endpoint and landmark
    of ``results`` (each study's own group); studies without a value there come after the
    others, by year and label.

    Raises
    ------
    UsageError
        For an unknown ``sort``.
    """
    name = str(sort).strip().lower()
    if name not in SORTS:
        raise UsageError(f"--sort {sort}: not a known order (one of: {', '.join(SORTS)})")
    studies = list(studies)
    if name == "year":
        return sorted(studies, key=year_then_label)
    if name == "label":
        return sorted(studies, key=lambda s: (s.label.casefold(), s.year, s.id))
    if name == "file":
        return sorted(studies, key=lambda s: (Path(s.path).name if s.path else f"{s.id}.yaml",
                                              s.id))
    values: dict[str, float] = {}
    if results:
        first = (results[0].endpoint, results[0].time_months)
        for r in results:
            if (r.endpoint, r.time_months) != first:
                continue
            for s in r.studies:
                value = s.estimate if name == "estimate" else s.weight
                if value is not None and math.isfinite(value):
                    values.setdefault(s.id, value if name == "estimate" else -value)
    return sorted(studies, key=lambda s: (s.id not in values, values.get(s.id, 0.0),
                                          *year_then_label(s)))
