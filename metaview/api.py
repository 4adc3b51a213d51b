"""The Python API, what ``import metaview`` offers: load, pool, compare, forest and report,
with the command line's option names and defaults.

>>> import metaview
>>> results = metaview.pool("studies/", endpoint="OS", time=12)    # doctest: +SKIP
>>> results.to_frame()                                              # doctest: +SKIP
>>> fig = metaview.forest(results)                                  # doctest: +SKIP

Options are checked once, here, by :class:`~metaview.engine.analysis.AnalysisOptions`; a
bad value raises :class:`~metaview.errors.UsageError` (a ``ValueError``) naming the option
and the values it takes. Bad study files raise :class:`~metaview.errors.StudyFileError`
listing every problem.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from metaview.model import Comparison, Outcome, PooledResult, Study

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

    from metaview.engine.analysis import AnalysisOptions

PathArg = str | os.PathLike[str]
StudiesArg = PathArg | Study | Iterable[PathArg] | Iterable[Study]

__all__ = ["Comparisons", "PoolResults", "compare", "forest", "load_studies", "pool",
           "pool_counts", "pool_estimates", "report"]


# ------------------------------------------------------------------ results


class PoolResults(Sequence[PooledResult]):
    """The results of :func:`pool`: a sequence of :class:`~metaview.model.PooledResult`.

    For each endpoint and landmark, one result per group (default: per ``arm``), then the
    analysis of all of them together (``group`` None), as ``metaview pool`` prints them.

    Attributes
    ----------
    studies : tuple of Study
        The studies the results were computed from (loaded from files, or built from
        arrays by :func:`pool_counts` and :func:`pool_estimates`).
    options : AnalysisOptions
        The checked options of the analysis.
    """

    def __init__(self, results: Iterable[PooledResult], *, studies: Sequence[Study] = (),
                 options: AnalysisOptions | None = None):
        self._results = tuple(results)
        self.studies = tuple(studies)
        self.options = options

    @overload
    def __getitem__(self, i: int) -> PooledResult: ...

    @overload
    def __getitem__(self, i: slice) -> PoolResults: ...

    def __getitem__(self, i: int | slice) -> PooledResult | PoolResults:
        if isinstance(i, slice):
            return self._with(self._results[i])
        return self._results[i]

    def __len__(self) -> int:
        return len(self._results)

    def __iter__(self) -> Iterator[PooledResult]:
        return iter(self._results)

    def __repr__(self) -> str:
        shown = ", ".join(_short_name(r) for r in self._results[:6])
        more = f", ... ({len(self)} in all)" if len(self) > 6 else ""
        return f"PoolResults([{shown}{more}])"

    def _with(self, results: Iterable[PooledResult]) -> PoolResults:
        return PoolResults(results, studies=self.studies, options=self.options)

    @property
    def overall(self) -> PoolResults:
        """The analyses of all studies together (``group`` None), one per endpoint and
        landmark; with grouping they carry the test between groups (``subgroup_test``)."""
        return self._with(r for r in self._results if r.group is None)

    @property
    def groups(self) -> PoolResults:
        """The analyses of each group (``group`` not None); empty without grouping or when
        every study falls in one group."""
        return self._with(r for r in self._results if r.group is not None)

    def get(self, endpoint: str | None = None, time: float | None = None, *,
            group: str | None = None) -> PooledResult:
        """The one result of ``endpoint`` at ``time`` in ``group``.

        Parameters
        ----------
        endpoint
            Endpoint token; may be left out when the results hold one endpoint.
        time
            Landmark in months; may be left out when the endpoint has one landmark.
        group
            The group; None (default) is the analysis of all groups together.

        Raises
        ------
        KeyError
            When no result or more than one matches; the message lists the results.
        """
        found = [r for r in self._results
                 if (endpoint is None or r.endpoint == endpoint.strip().upper())
                 and (time is None or (r.time_months is not None
                                       and abs(r.time_months - time) < 1e-6))
                 and r.group == group]
        if len(found) != 1:
            have = "; ".join(f"{_short_name(r)}" for r in self._results)
            what = "no result" if not found else f"{len(found)} results"
            raise KeyError(f"{what} for endpoint={endpoint!r}, time={time!r}, "
                           f"group={group!r} (results: {have})")
        return found[0]

    def to_frame(self) -> pd.DataFrame:
        """The tidy table of every analysis, as ``metaview pool --format csv`` writes it.

        For each analysis: one row per study, the pooled row, then the studies left out
        (column ``row``: ``study``, ``pooled``, ``excluded``). Columns:
        :data:`metaview.tidy.POOL_COLUMNS` (then :data:`metaview.tidy.BAYES_POOL_COLUMNS`
        under ``model="bayes"``); proportions are fractions, ``yi``/``vi`` on
        the pooling scale (the pooled row: theta and se²), ``weight`` and ``i2`` in
        percent. Numbers are not rounded (the CSV has 10 significant digits).

        Returns
        -------
        pandas.DataFrame
        """
        from metaview.tidy import pool_frame

        return pool_frame(self._results)

    def to_csv(self) -> str:
        """The text of ``metaview pool --format csv`` for these results."""
        from metaview.tidy import pool_csv

        return pool_csv(self._results)

    def to_dict(self) -> dict[str, Any]:
        """The document of ``metaview pool --format json`` (without the file warnings)."""
        from metaview import __version__

        return {"metaview_version": __version__,
                "analyses": [r.to_dict() for r in self._results]}

    def summary(self, *, detail: bool | None = None, overall: bool = False) -> str:
        """The table ``metaview pool`` prints.

        Parameters
        ----------
        detail
            Add each analysis with its studies (``--detail``); default: when the results
            hold one endpoint, as the command line does for one ``--endpoint``.
        overall
            Also show the analysis of all groups together (``--overall``).

        Returns
        -------
        str
        """
        if detail is None:
            detail = len({r.endpoint for r in self._results}) == 1
        return summary_text(self._results, detail=detail, overall=overall,
                            studies=self.studies)

    def _repr_html_(self) -> str:
        return results_html(self._results)


class Comparisons(Sequence[Comparison]):
    """The results of :func:`compare`: a sequence of :class:`~metaview.model.Comparison`,
    one per endpoint and landmark the index study shares with the others of its group."""

    def __init__(self, comparisons: Iterable[Comparison], *, index: str,
                 options: AnalysisOptions | None = None):
        self._items = tuple(comparisons)
        # the index study's id; it deliberately takes the place of Sequence.index()
        self.index = index  # type: ignore[method-assign, assignment]
        self.options = options

    @overload
    def __getitem__(self, i: int) -> Comparison: ...

    @overload
    def __getitem__(self, i: slice) -> Comparisons: ...

    def __getitem__(self, i: int | slice) -> Comparison | Comparisons:
        if isinstance(i, slice):
            return Comparisons(self._items[i], index=str(self.index), options=self.options)
        return self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Comparison]:
        return iter(self._items)

    def __repr__(self) -> str:
        shown = ", ".join(_short_name(c.pooled) for c in self._items)
        return f"Comparisons(index={self.index!r}, [{shown}])"

    def to_frame(self) -> pd.DataFrame:
        """One row per comparison, the columns of ``metaview compare --format csv``
        (:data:`metaview.tidy.COMPARE_COLUMNS`, and under the Bayesian model
        :data:`metaview.tidy.BAYES_COMPARE_COLUMNS`); numbers are not rounded.

        Returns
        -------
        pandas.DataFrame
        """
        from metaview.tidy import compare_columns, comparison_record, frame

        return frame([comparison_record(c) for c in self._items], compare_columns(self._items))

    def to_csv(self) -> str:
        """The text of ``metaview compare --format csv``."""
        from metaview.tidy import compare_csv

        return compare_csv(self._items)

    def summary(self) -> str:
        """The text ``metaview compare`` prints."""
        from metaview.commands.compare import describe

        return "\n\n".join(describe(c) for c in self._items) + "\n"

    def _repr_html_(self) -> str:
        return _pre(self.summary())


def _short_name(r: PooledResult) -> str:
    when = "" if r.time_months is None else f"@{r.time_months:g}"
    return f"{r.endpoint}{when}" + ("" if r.group is None else f" [{r.group}]")


# ------------------------------------------------------------------ text and HTML


def summary_text(results: Sequence[PooledResult], *, detail: bool = True,
                 overall: bool = False, studies: Sequence[Study] = ()) -> str:
    """The table ``metaview pool`` prints for ``results`` (see :func:`pool`)."""
    from metaview.commands.pool import to_table

    return to_table(results, detail=detail, overall=overall,
                    labels={s.id: s.label for s in studies})


def _pre(text: str) -> str:
    return f"<pre>{html.escape(text)}</pre>"


def results_html(results: Sequence[PooledResult]) -> str:
    """An HTML table of ``results`` for notebooks: one row per analysis (k, the estimate
    with its interval, the prediction interval, I², τ²), then each analysis's studies
    when there is one analysis."""
    from metaview.render import format as fmt

    e = html.escape
    if not results:
        return "<p>no results</p>"
    first = results[0]
    bayes = first.model == "bayes"
    from metaview.display import level_percent

    level = level_percent(first.level)
    heads = ["endpoint", "landmark", "group", "k",
             (f"{'posterior median' if bayes else 'estimate'} ({level} "
              f"{'credible interval' if bayes else 'CI'})"),
             "predictive interval" if bayes else "prediction interval", "I²", "τ²"]
    rows = []
    for r in results:
        pi = fmt.interval_percent(r.pi_low, r.pi_high) or "–"
        rows.append([r.endpoint, fmt.landmark(r.time_months),
                     r.group if r.group is not None else "all studies", str(r.k),
                     fmt.percent_ci(r.estimate, r.ci_low, r.ci_high, 1) if r.k else "–",
                     pi if r.k >= 2 else "–",
                     "" if r.i2 is None else f"{r.i2:.0f}%",
                     "" if r.tau2 is None or r.model == "common" else f"{r.tau2:.3g}"])
    out = [f"<p><b>Pooled estimates</b> ({e(fmt.method_line(first))})</p>", _table(heads, rows)]
    if len(results) == 1:
        r = first
        srows = [[s.label + (" *" if s.is_index else ""),
                  "" if s.count is None or s.total is None else f"{s.count}/{s.total}",
                  fmt.percent_ci(s.estimate, s.ci_low, s.ci_high, 1),
                  "" if s.weight is None else f"{s.weight:.1f}%"] for s in r.studies]
        srows += [[x.label, "", f"not pooled: {x.reason}", ""] for x in r.excluded]
        if srows:
            out.append(_table(["study", "count", f"estimate ({level} CI)", "weight"], srows))
        het = fmt.heterogeneity(r)
        if het:
            out.append(f"<p>Heterogeneity: {e(het)}</p>")
    notes = list(dict.fromkeys(w for r in results for w in r.warnings))
    if notes:
        out.append("<p>Notes:</p><ul>" + "".join(f"<li>{e(w)}</li>" for w in notes)
                   + "</ul>")
    return "<div>" + "".join(out) + "</div>"


def _table(heads: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


# ------------------------------------------------------------------ options


#: The analysis options :func:`pool`, :func:`compare` and :func:`report` take, by their
#: command-line names (each verb spells them out in its signature, for help and completion;
#: ``tests/test_api.py`` checks that the signatures agree with :func:`_options`).
OPTION_NAMES = ("endpoint", "time", "model", "tau2", "ci", "scale", "study_ci", "level",
                "group_by", "no_group", "exclude", "leave_one_out", "prefer_curves",
                "tau_prior", "mu_prior", "likelihood")


def _options(
    *,
    endpoint: str | Sequence[str] | None,
    time: float | None,
    model: str,
    tau2: str,
    ci: str | None,
    scale: str,
    study_ci: str,
    level: float,
    group_by: str | None,
    no_group: bool,
    exclude: str | Sequence[str],
    leave_one_out: bool,
    prefer_curves: bool,
    tau_prior: str | None,
    mu_prior: str,
    likelihood: str,
) -> AnalysisOptions:
    """The command line's option names, checked into an AnalysisOptions."""
    from metaview.engine.analysis import AnalysisOptions

    endpoints = [endpoint] if isinstance(endpoint, str) else endpoint
    excluded = [exclude] if isinstance(exclude, str) else exclude
    return AnalysisOptions(
        endpoints=endpoints,  # type: ignore[arg-type]
        time_months=time, model=model, tau2_method=tau2, ci_method=ci,  # type: ignore[arg-type]
        scale=scale, study_ci=study_ci, level=level,  # type: ignore[arg-type]
        group_by=None if no_group else group_by, exclude=excluded,  # type: ignore[arg-type]
        leave_one_out=leave_one_out, prefer_curves=prefer_curves, tau_prior=tau_prior,
        mu_prior=mu_prior, likelihood=likelihood,  # type: ignore[arg-type]
    )


_OPTIONS_DOC = """
    endpoint : str or sequence of str, optional
        Endpoint token(s), e.g. ``"OS"`` or ``["OS", "PFS"]`` (``--endpoint``); default:
        every endpoint found.
    time : float, optional
        Landmark in months (``--time``); default: 12 for endpoints reported with a time.
    model : {"random", "common", "glmm", "bayes"}
        ``--model``; default ``"random"``.
    tau2 : {"REML", "ML", "DL", "PM", "HS", "SJ", "HE", "EB"}
        tau² estimator (``--tau2``, case-insensitive); default ``"REML"``; ML for the GLMM.
    ci : {"z", "hk", "hk-adhoc", "t"}, optional
        Interval of the pooled mean (``--ci``); default ``"hk-adhoc"`` (``"z"`` for the
        GLMM, which takes ``"z"`` or ``"t"``).
    scale : {"logit", "cloglog", "log", "arcsine", "pft", "raw"}
        Pooling scale (``--scale``); default ``"logit"``.
    study_ci : {"wilson", "clopper-pearson", "agresti-coull", "jeffreys", "wald"}
        Per-study interval for counts (``--study-ci``); default ``"wilson"``.
    level : float
        Confidence level (``--level``); default 0.95.
    group_by : str or None
        A top-level field or a characteristic (``--group-by``); default ``"arm"``; None
        pools every arm together.
    no_group : bool
        ``--no-group``: the same as ``group_by=None``.
    exclude : str or sequence of str
        Ids of studies to leave out (``--exclude``).
    leave_one_out : bool
        Refit without each study (``--leave-one-out``).
    prefer_curves : bool
        Use the landmark read from a reconstructed curve even where the paper prints it
        (``--prefer-curves``).
    tau_prior, mu_prior, likelihood : str
        ``model="bayes"`` only (``--tau-prior``, ``--mu-prior``, ``--likelihood``).
"""


def _doc(func: Any) -> Any:
    """Put the entries of :data:`_OPTIONS_DOC` that ``func`` takes in its docstring."""
    import inspect

    takes = set(inspect.signature(func).parameters)
    blocks: list[list[str]] = []
    for line in _OPTIONS_DOC.strip("\n").splitlines():
        if not line.startswith("        "):
            blocks.append([])
        blocks[-1].append(line)
    kept = [b for b in blocks
            if {n.strip() for n in b[0].split(":")[0].split(",")} & takes]
    func.__doc__ = func.__doc__.replace("    {options}\n",
                                        "".join(line + "\n" for b in kept for line in b))
    return func


# ------------------------------------------------------------------ the verbs


def load_studies(paths: StudiesArg) -> list[Study]:
    """Load and check study files.

    Parameters
    ----------
    paths : str, os.PathLike or a sequence of them
        Study files (``*.yaml``, ``*.yml``) or folders of them.

    Returns
    -------
    list of Study
        In the order of the files (sorted by name within a folder).

    Raises
    ------
    StudyFileError
        Listing every problem of every file (``exc.problems``).
    """
    from metaview.io import load_studies as load

    return load(paths)  # type: ignore[arg-type]


def _studies(studies_or_paths: StudiesArg) -> list[Study]:
    """Studies as given, or loaded from paths."""
    if isinstance(studies_or_paths, Study):
        return [studies_or_paths]
    if isinstance(studies_or_paths, (str, os.PathLike)):
        return load_studies(studies_or_paths)
    items = list(studies_or_paths)
    if items and all(isinstance(s, Study) for s in items):
        return items  # type: ignore[return-value]
    if any(isinstance(s, Study) for s in items):
        raise TypeError("give either studies (from metaview.load_studies) or paths, not both")
    if not items:
        raise ValueError("no studies given: pass a folder, study files or loaded studies")
    return load_studies(items)  # type: ignore[arg-type]


@_doc
def pool(
    studies_or_paths: StudiesArg,
    *,
    endpoint: str | Sequence[str] | None = None,
    time: float | None = None,
    model: str = "random",
    tau2: str = "REML",
    ci: str | None = None,
    scale: str = "logit",
    study_ci: str = "wilson",
    level: float = 0.95,
    group_by: str | None = "arm",
    no_group: bool = False,
    exclude: str | Sequence[str] = (),
    leave_one_out: bool = False,
    prefer_curves: bool = False,
    tau_prior: str | None = None,
    mu_prior: str = "flat",
    likelihood: str = "normal",
) -> PoolResults:
    """Pooled estimates per endpoint, landmark and group: ``metaview pool`` from Python.

    Parameters
    ----------
    studies_or_paths : str, os.PathLike, Study or a sequence of them
        A folder of study files, study files, or studies from :func:`load_studies`.
    {options}

    Returns
    -------
    PoolResults
        For each endpoint and landmark, one :class:`~metaview.model.PooledResult` per group,
        then the one of all studies together (``.overall``).

    Raises
    ------
    UsageError
        A bad option value (also a ``ValueError``), an unknown ``exclude`` id or
        ``group_by`` field.
    StudyFileError
        Invalid study files, with every problem.

    Examples
    --------
    >>> res = metaview.pool("studies/", endpoint="OS", time=12)    # doctest: +SKIP
    >>> res.overall[0].estimate                                      # doctest: +SKIP
    """
    from metaview.engine.analysis import analyse

    given = locals()
    options = _options(**{name: given[name] for name in OPTION_NAMES})
    studies = _studies(studies_or_paths)
    return PoolResults(analyse(studies, options), studies=studies, options=options)


@_doc
def compare(
    studies_or_paths: StudiesArg,
    *,
    index: str | None = None,
    endpoint: str | Sequence[str] | None = None,
    time: float | None = None,
    model: str = "random",
    tau2: str = "REML",
    ci: str | None = None,
    scale: str = "logit",
    study_ci: str = "wilson",
    level: float = 0.95,
    group_by: str | None = "arm",
    no_group: bool = False,
    exclude: str | Sequence[str] = (),
    leave_one_out: bool = False,
    prefer_curves: bool = False,
    tau_prior: str | None = None,
    mu_prior: str = "flat",
    likelihood: str = "normal",
) -> Comparisons:
    """The index cohort against the pooled other studies of its group: ``metaview compare``.

    Parameters
    ----------
    studies_or_paths : str, os.PathLike, Study or a sequence of them
        A folder of study files, study files, or studies from :func:`load_studies`.
    index : str, optional
        The id of the index study (``--index``); default: the study marked
        ``index: true``.
    {options}

    Returns
    -------
    Comparisons
        One :class:`~metaview.model.Comparison` per endpoint and landmark: the difference
        on the pooling scale with its CI and p-value, and whether the index estimate lies
        in the others' prediction interval.

    Raises
    ------
    UsageError
        No index study, an unknown id or a bad option value.
    AnalysisError
        Nothing to compare.
    """
    from metaview.commands._common import index_study
    from metaview.engine.analysis import compare as run_compare
    from metaview.errors import UsageError

    given = locals()
    options = _options(**{name: given[name] for name in OPTION_NAMES})
    studies = _studies(studies_or_paths)
    index_id = index_study(studies, index)
    if index_id is None:
        raise UsageError("no index study: give index='ID' or mark one study 'index: true'")
    return Comparisons(run_compare(studies, index_id, options), index=index_id,
                       options=options)


def forest(
    results: PooledResult | Iterable[PooledResult],
    *,
    ax: Axes | None = None,
    fig: Figure | None = None,
    comparisons: Iterable[Comparison] | None = None,
    studies: Sequence[Study] | None = None,
    title: str | None = None,
    width: float | str | None = "double",
    font_size: float | None = None,
    sort: str = "year",
) -> Figure:
    """A forest plot of one result or many: ``metaview forest`` from Python.

    Parameters
    ----------
    results : PooledResult, PoolResults or a sequence of PooledResult
        What to draw: one panel per endpoint and landmark, rows grouped by group. A single
        result (one group, or one analysis) is drawn on its own.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes, as an image of the plot filling it (the plot lays out its own
        columns and panels); the axes' frame and ticks are turned off. For a vector figure
        use ``fig`` or neither.
    fig : matplotlib.figure.Figure, optional
        Draw into this figure (it is resized to fit the rows); default: a new figure (with
        the Agg canvas; pyplot is never used, so it does not show by itself in scripts,
        while notebooks display the returned figure).
    comparisons : sequence of Comparison, optional
        From :func:`compare`: the index study's group then shows the literature without
        and with the index, and the comparison's p-value. Default: for a
        :class:`PoolResults` with an index study, its comparisons are computed (as
        ``metaview forest`` does); otherwise none (a group holding the index study then
        shows no "literature without the index" estimate).
    studies : sequence of Study, optional
        Order the rows (``sort``) and fill the n column; default: the studies of a
        :class:`PoolResults`.
    title : str, optional
        Printed above the figure.
    width : float or {"single", "double"}
        Inches, or ``"single"`` (3.5) or ``"double"`` (7.2, default); None: natural width.
    font_size : float, optional
        Body font size in points (default 7).
    sort : {"year", "label", "estimate", "weight", "file"}
        Row order within a group (default: year, then label).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` is given).
    """
    from metaview.errors import UsageError
    from metaview.render.forest import forest_plot

    if ax is not None and fig is not None:
        raise ValueError("give ax or fig, not both")
    if isinstance(results, PooledResult):
        items: list[PooledResult] = [results]
    else:
        items = list(results)
        if not all(isinstance(r, PooledResult) for r in items):
            raise TypeError("results must be a PooledResult or a sequence of them "
                            "(from metaview.pool)")
    if not items:
        raise UsageError("nothing to draw: no results were given")
    if studies is None:
        studies = results.studies if isinstance(results, PoolResults) else ()
    if comparisons is None:
        comps = _index_comparisons(results) if isinstance(results, PoolResults) else []
    else:
        comps = list(comparisons)
    if ax is None:
        return forest_plot(items, comparisons=comps, studies=studies, title=title, fig=fig,
                           width=width, font_size=font_size, sort=sort)
    return _into_axes(ax, forest_plot(items, comparisons=comps, studies=studies, title=title,
                                      width=width, font_size=font_size, sort=sort))


def _index_comparisons(results: PoolResults) -> list[Comparison]:
    """The index study against the others for the endpoints of ``results``, when it can be
    compared (as ``metaview forest`` draws them)."""
    from dataclasses import replace as with_options

    from metaview.engine.analysis import compare as run_compare
    from metaview.errors import AnalysisError

    options = results.options
    index = next((s.id for s in results.studies if s.index), None)
    if options is None or index is None or index in options.exclude:
        return []
    endpoints = tuple(dict.fromkeys(r.endpoint for r in results))
    try:
        return run_compare(results.studies, index,
                           with_options(options, endpoints=endpoints, leave_one_out=False))
    except AnalysisError:
        return []


def _into_axes(ax: Axes, plot: Figure) -> Figure:
    """Draw ``plot`` as an image filling ``ax``, at the resolution of ``ax``'s figure."""
    import numpy as np

    target = ax.get_figure()
    dpi = max(float(target.dpi), 150.0) if target is not None else 150.0
    plot.set_dpi(dpi)
    plot.canvas.draw()
    image = np.asarray(plot.canvas.buffer_rgba())  # type: ignore[attr-defined]
    ax.imshow(image, interpolation="antialiased")
    ax.set_axis_off()
    ax.set_aspect("equal")
    return target  # type: ignore[return-value]


@_doc
def report(
    studies_or_paths: StudiesArg,
    out_dir: PathArg,
    *,
    index: str | None = None,
    force: bool = False,
    timestamp: bool = False,
    endpoint: str | Sequence[str] | None = None,
    time: float | None = None,
    model: str = "random",
    tau2: str = "REML",
    ci: str | None = None,
    scale: str = "logit",
    study_ci: str = "wilson",
    level: float = 0.95,
    group_by: str | None = "arm",
    no_group: bool = False,
    exclude: str | Sequence[str] = (),
    leave_one_out: bool = False,
    prefer_curves: bool = False,
    tau_prior: str | None = None,
    mu_prior: str = "flat",
    likelihood: str = "normal",
) -> list[Path]:
    """Write the HTML + Markdown + CSV report with figures: ``metaview report``.

    All files are written atomically (a failure leaves an earlier report as it was);
    re-runs give identical bytes unless ``timestamp``.

    Parameters
    ----------
    studies_or_paths : str, os.PathLike, Study or a sequence of them
        A folder of study files, study files, or studies from :func:`load_studies`.
    out_dir : str or os.PathLike
        Folder to write into (created when missing); files the report does not write are
        left alone.
    index : str, optional
        The cohort to compare (``--index``); default: the study marked ``index: true``.
    force : bool
        Replace files in ``out_dir`` even when it does not hold an earlier metaview report.
    timestamp : bool
        Print the date and time in the report.
    {options}

    Returns
    -------
    list of pathlib.Path
        The files written (``index.html``, ``report.md``, ``studies.csv``, ``pooled.csv``,
        ``comparison.csv``, ``provenance.csv`` and the figures).

    Raises
    ------
    UsageError
        A bad option, an unknown index id, or ``out_dir`` holding other files (without
        ``force``).
    """
    from datetime import UTC, datetime

    from metaview.commands._common import index_study
    from metaview.commands.report import _refuse_foreign_files
    from metaview.report import build_report, report_files
    from metaview.report.writer import write_files

    given = locals()
    options = _options(**{name: given[name] for name in OPTION_NAMES})
    studies = _studies(studies_or_paths)
    built = build_report(studies, options, index_id=index_study(studies, index),
                         timestamp=datetime.now(UTC) if timestamp else None)
    files = report_files(built)
    if not force:
        _refuse_foreign_files(Path(out_dir), files)
    return write_files(files, out_dir)


# ------------------------------------------------------------------ arrays


def _array_studies(k: int, labels: Sequence[str] | None, groups: Sequence[str] | None,
                   sizes: Sequence[int | None]) -> list[Study]:
    if labels is not None:
        labels = [str(x) for x in labels]
        if len(labels) != k:
            raise ValueError(f"labels: {len(labels)} labels for {k} studies")
        if len(set(labels)) != k:
            raise ValueError("labels must be unique (they are the studies' ids)")
    if groups is not None:
        groups = [str(g) for g in groups]
        if len(groups) != k:
            raise ValueError(f"groups: {len(groups)} groups for {k} studies")
    return [Study(id=labels[i] if labels else f"study{i + 1}",
                  label=labels[i] if labels else f"Study {i + 1}", citation="", year=0,
                  arm=groups[i] if groups else "", patients=sizes[i] or 0)
            for i in range(k)]


def _vector(values: ArrayLike, name: str):
    import numpy as np

    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers") from None
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty one-dimensional sequence of numbers")
    bad = [i for i, v in enumerate(a) if not math.isfinite(v)]
    if bad:
        raise ValueError(f"{name}[{bad[0]}] is {a[bad[0]]}: every value must be finite")
    return a


_ARRAY_SOURCE = "Given as an array to metaview.{func}"


@_doc
def pool_counts(
    x: ArrayLike,
    n: ArrayLike,
    *,
    labels: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    endpoint: str = "P",
    time: float | None = None,
    model: str = "random",
    tau2: str = "REML",
    ci: str | None = None,
    scale: str = "logit",
    study_ci: str = "wilson",
    level: float = 0.95,
    exclude: str | Sequence[str] = (),
    leave_one_out: bool = False,
    tau_prior: str | None = None,
    mu_prior: str = "flat",
    likelihood: str = "normal",
) -> PoolResults:
    """Pool proportions given as counts, without study files.

    Parameters
    ----------
    x, n : array_like of int
        Events and patients of each study (``0 <= x <= n``, ``n > 0``).
    labels : sequence of str, optional
        The studies' names (also their ids, for ``exclude``); default ``Study 1``, ... with
        the ids ``study1``, ...
    groups : sequence of str, optional
        Each study's group: one analysis per group, then all together with the test
        between groups.
    endpoint : str
        The endpoint token the results carry (default ``"P"``).
    time : float, optional
        The landmark the results carry, in months; default: none.
    {options}

    Returns
    -------
    PoolResults
        As :func:`pool`.

    Examples
    --------
    >>> res = metaview.pool_counts([7, 20, 13], [10, 39, 29])     # doctest: +SKIP
    >>> res[0].estimate                                            # doctest: +SKIP
    """
    import numpy as np

    from metaview.engine.analysis import analyse

    xs, ns = _vector(x, "x"), _vector(n, "n")
    if xs.shape != ns.shape:
        raise ValueError(f"x and n must have the same length ({xs.size} and {ns.size})")
    for name, a in (("x", xs), ("n", ns)):
        bad = np.flatnonzero(a != np.round(a))
        if bad.size:
            raise ValueError(f"{name}[{bad[0]}] is {a[bad[0]]:g}: counts are whole numbers")
    bad = np.flatnonzero((xs < 0) | (ns <= 0) | (xs > ns))
    if bad.size:
        i = bad[0]
        raise ValueError(f"study {i}: x = {xs[i]:g} of n = {ns[i]:g} (need 0 <= x <= n, n > 0)")
    options = _options(endpoint=endpoint, time=time, model=model, tau2=tau2, ci=ci,
                       scale=scale, study_ci=study_ci, level=level,
                       group_by="arm" if groups is not None else None, no_group=False,
                       exclude=exclude, leave_one_out=leave_one_out, prefer_curves=False,
                       tau_prior=tau_prior, mu_prior=mu_prior, likelihood=likelihood)
    endpoint_token = options.endpoints[0] if options.endpoints else "P"
    base = _array_studies(xs.size, labels, groups, [int(v) for v in ns])
    source = _ARRAY_SOURCE.format(func="pool_counts")
    studies = [replace(s, outcomes=(Outcome(
        endpoint=endpoint_token, source=source, time_months=options.time_months,
        count=int(xs[i]), total=int(ns[i])),)) for i, s in enumerate(base)]
    return PoolResults(analyse(studies, options), studies=studies, options=options)


@_doc
def pool_estimates(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    n: ArrayLike | None = None,
    labels: Sequence[str] | None = None,
    groups: Sequence[str] | None = None,
    endpoint: str = "P",
    time: float | None = None,
    model: str = "random",
    tau2: str = "REML",
    ci: str | None = None,
    scale: str = "logit",
    level: float = 0.95,
    exclude: str | Sequence[str] = (),
    leave_one_out: bool = False,
    tau_prior: str | None = None,
    mu_prior: str = "flat",
    likelihood: str = "normal",
) -> PoolResults:
    """Pool effect sizes already on the pooling scale, without study files (metafor's
    ``rma(yi, vi)``).

    Each study's proportion and interval (for tables and plots) are ``yi`` and
    ``yi -/+ z sqrt(vi)`` back-transformed from ``scale``.

    Parameters
    ----------
    yi, vi : array_like of float
        Effect sizes and sampling variances (``vi > 0``) on ``scale``.
    n : array_like of int, optional
        Each study's number of patients: needed on the ``pft`` scale (its back-transform
        uses the harmonic mean of n), and used by ``model="glmm"`` and the binomial
        likelihood (pseudo-counts).
    labels, groups, endpoint, time
        As in :func:`pool_counts`.
    {options}

    Returns
    -------
    PoolResults
        As :func:`pool`.
    """
    import numpy as np

    from metaview.distributions import norm_ppf
    from metaview.engine.analysis import analyse_effects
    from metaview.estimate import transforms
    from metaview.estimate.effects import OutcomeEffect

    ys, vs = _vector(yi, "yi"), _vector(vi, "vi")
    if ys.shape != vs.shape:
        raise ValueError(f"yi and vi must have the same length ({ys.size} and {vs.size})")
    bad = np.flatnonzero(vs <= 0)
    if bad.size:
        raise ValueError(f"vi[{bad[0]}] is {vs[bad[0]]:g}: sampling variances must be > 0")
    sizes: list[int | None] = [None] * ys.size
    if n is not None:
        ns = _vector(n, "n")
        if ns.shape != ys.shape or np.any(ns <= 0) or np.any(ns != np.round(ns)):
            raise ValueError("n must hold one whole number > 0 per study")
        sizes = [int(v) for v in ns]
    options = _options(endpoint=endpoint, time=time, model=model, tau2=tau2, ci=ci,
                       scale=scale, study_ci="wilson", level=level,
                       group_by="arm" if groups is not None else None, no_group=False,
                       exclude=exclude, leave_one_out=leave_one_out, prefer_curves=False,
                       tau_prior=tau_prior, mu_prior=mu_prior, likelihood=likelihood)
    if options.scale.value == "pft" and n is None:
        raise ValueError("scale='pft' needs n (the Freeman-Tukey back-transform uses it)")
    endpoint_token = options.endpoints[0] if options.endpoints else "P"
    base = _array_studies(ys.size, labels, groups, sizes)
    z = float(norm_ppf(0.5 + options.level / 2.0))
    source = _ARRAY_SOURCE.format(func="pool_estimates")
    items = []
    for i, s in enumerate(base):
        nh = sizes[i]
        est = float(transforms.back_transform(ys[i], options.scale, n_harmonic=nh))
        lo, hi = transforms.back_transform_interval(ys[i] - z * math.sqrt(vs[i]),
                                                    ys[i] + z * math.sqrt(vs[i]),
                                                    options.scale, n_harmonic=nh)
        outcome = Outcome(endpoint=endpoint_token, source=source,
                          time_months=options.time_months, estimate=est, total=nh)
        study = replace(s, outcomes=(outcome,))
        effect = OutcomeEffect(yi=float(ys[i]), vi=float(vs[i]), estimate=est,
                               ci_low=float(lo), ci_high=float(hi), ci_source="given",
                               n=None if nh is None else float(nh), total=nh)
        items.append((study, outcome, effect))
    return PoolResults(analyse_effects(items, options), studies=[s for s, _, _ in items],
                       options=options)

