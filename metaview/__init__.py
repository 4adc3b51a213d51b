"""metaview: literature-comparison meta-analysis of proportions and landmark survival.

The statistics match R's metafor. From Python::

    import metaview

    results = metaview.pool("studies/", endpoint="OS", time=12)
    results.to_frame()          # tidy table, the columns of `metaview pool --format csv`
    metaview.forest(results)    # matplotlib Figure

The verbs (:func:`load_studies`, :func:`pool`, :func:`compare`, :func:`forest`,
:func:`report`, :func:`pool_counts`, :func:`pool_estimates`) live in :mod:`metaview.api`
and are imported on first use, so ``import metaview`` (and the command line) stays fast.
``metaview.report`` is also the report subpackage; calling it is :func:`metaview.api.report`.
``metaview.engine`` is the pooling engine, ``metaview.io`` the study file format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Comparisons", "PoolResults", "__version__", "compare", "forest", "load_studies",
           "pool", "pool_counts", "pool_estimates", "report"]

#: the public names of metaview.api, imported on first use
_API = frozenset(__all__) - {"__version__"}

if TYPE_CHECKING:  # pragma: no cover
    from metaview.api import (
        Comparisons,
        PoolResults,
        compare,
        forest,
        load_studies,
        pool,
        pool_counts,
        pool_estimates,
        report,
    )


def __getattr__(name: str) -> Any:
    if name == "report":  # the subpackage, callable as metaview.api.report
        import importlib

        return importlib.import_module("metaview.report")
    if name in _API:
        from metaview import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'metaview' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
