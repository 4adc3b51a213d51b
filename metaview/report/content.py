"""Everything a report shows, gathered once: the analyses, the GLMM beside the default, the
index comparison, figures, inputs and versions.

:func:`build_report` runs the analyses (through :mod:`metaview.engine`; nothing is computed
here) and returns a frozen :class:`Report`; the writers in this package only present it.
"""

from __future__ import annotations

import hashlib
import math
import platform
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from metaview import __version__
from metaview.display import endpoint_name
from metaview.engine.analysis import AnalysisOptions, analyse, compare, endpoint_landmarks
from metaview.errors import AnalysisError, MetaviewError, OutputError, UsageError
from metaview.model import Comparison, PooledResult, Study
from metaview.report.figures import FigureFiles

if TYPE_CHECKING:  # pragma: no cover
    from metaview.estimate.reconstruct import CurveResult
    from metaview.report.bayes import BayesContent

# Display names of the usual endpoint tokens; any other token is shown as written.
# The endpoints that always get a forest plot at the requested landmark (when reported).
ALWAYS_PLOTTED = ("OS", "PFS")


def analysis_title(endpoint: str, time_months: float | None) -> str:
    """``Overall survival (OS) at 12 months`` or ``Overall response (ORR)``."""
    name = endpoint_name(endpoint)
    head = name if name == endpoint else f"{name} ({endpoint})"
    if time_months is None:
        return head
    unit = "month" if time_months == 1 else "months"
    return f"{head} at {time_months:g} {unit}"


#: Longest file-name stem of a figure (the file names stay far below the 255 bytes that
#: file systems allow).
MAX_STEM_LENGTH = 80


def analysis_stem(endpoint: str, time_months: float | None) -> str:
    """File-name stem of an analysis' figure: ``forest-os-12m``, ``forest-orr``; only
    lower-case letters, digits, ``-`` and ``_``. Two analyses may share it (12 and
    12.0000001 months both give ``-12m``): :func:`unique_stems` tells them apart."""
    token = endpoint.lower()
    stem = f"forest-{token}" if time_months is None else f"forest-{token}-{time_months:g}m"
    return re.sub(r"[^a-z0-9_-]", "_", stem)


def unique_stems(keys: Sequence[tuple[str, float | None]]) -> list[str]:
    """One file-name stem per (endpoint, landmark), all different: :func:`analysis_stem`,
    with a short hash of the exact endpoint and landmark added where two would be the same
    or where the stem is longer than ``MAX_STEM_LENGTH`` (then cut). The same keys always
    give the same stems."""
    plain = [analysis_stem(e, t) for e, t in keys]
    seen: dict[str, int] = {}
    for stem in plain:
        seen[stem] = seen.get(stem, 0) + 1
    out: list[str] = []
    for (endpoint, time), stem in zip(keys, plain, strict=True):
        if seen[stem] > 1 or len(stem) > MAX_STEM_LENGTH:
            digest = hashlib.sha256(f"{endpoint}\0{time!r}".encode()).hexdigest()
            size = 8
            while True:  # longer hashes in the (unheard of) case of a collision
                candidate = f"{stem[:MAX_STEM_LENGTH - size - 1]}-{digest[:size]}"
                if candidate not in out and candidate not in seen:
                    break
                size += 4
            stem = candidate
        out.append(stem)
    return out


@dataclass(frozen=True)
class InputFile:
    """One study file the report was made from."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Analysis:
    """One endpoint at one landmark: per-group results then the overall one, as
    :func:`~metaview.engine.analysis.analyse` returns them, with the alternative model's
    results in the same order and the index comparison."""

    endpoint: str
    time_months: float | None
    results: tuple[PooledResult, ...]
    companion: tuple[PooledResult, ...] = ()
    companion_error: str | None = None
    comparisons: tuple[Comparison, ...] = ()
    at_requested_landmark: bool = True
    #: the figure's file-name stem, unique in its report (see :func:`unique_stems`)
    file_stem: str = ""

    @property
    def title(self) -> str:
        return analysis_title(self.endpoint, self.time_months)

    @property
    def stem(self) -> str:
        return self.file_stem or analysis_stem(self.endpoint, self.time_months)

    @property
    def overall(self) -> PooledResult:
        return self.results[-1]

    @property
    def groups(self) -> tuple[PooledResult, ...]:
        return self.results[:-1]

    def companion_for(self, result: PooledResult) -> PooledResult | None:
        for c in self.companion:
            if c.group == result.group:
                return c
        return None

    def plotted_results(self) -> tuple[PooledResult, ...]:
        """What the forest plot draws: each group with a study in it; the overall result only
        when there is no grouping (or a single group), since the overall one mixes arms."""
        groups = [r for r in self.groups if r.k > 0]
        if groups:
            return tuple(groups)
        return (self.overall,) if self.overall.k > 0 else ()


@dataclass(frozen=True)
class Report:
    """The content of a report (see :func:`build_report`)."""

    studies: tuple[Study, ...]
    options: AnalysisOptions
    companion_options: AnalysisOptions | None
    index: Study | None
    analyses: tuple[Analysis, ...]
    comparison_note: str | None
    inputs: tuple[InputFile, ...]
    inputs_sha256: str | None
    versions: tuple[tuple[str, str], ...]
    timestamp: str | None = None
    figures: tuple[tuple[str, FigureFiles], ...] = ()  # (file stem, figure) per plot
    #: every digitised curve, reconstructed (at the report's landmark)
    curves: tuple[CurveResult, ...] = ()
    #: the Bayesian model beside the default, and the prior sensitivity of the comparison
    bayes: BayesContent | None = None

    def figure(self, stem: str) -> FigureFiles | None:
        for s, f in self.figures:
            if s == stem:
                return f
        return None

    def study(self, study_id: str) -> Study | None:
        for s in self.studies:
            if s.id == study_id:
                return s
        return None


# --------------------------------------------------------------------------- building


FigureMaker = Callable[["Analysis", Sequence[Study]], "FigureFiles | None"]


def build_report(
    studies: Sequence[Study],
    options: AnalysisOptions,
    *,
    index_id: str | None = None,
    inputs: Sequence[str | Path] | None = None,
    timestamp: datetime | None = None,
    figures: bool | FigureMaker = True,
) -> Report:
    """Run every analysis a report shows and return its content.

    Parameters
    ----------
    studies
        The loaded studies (``metaview.io.load_studies``).
    options
        The analysis options; the report shows every endpoint at ``options.time_months``
        (default 12 months for time-to-event endpoints), plus every other endpoint x
        landmark reported by at least two studies.
    index_id
        The index cohort compared with the literature; default: the study marked
        ``index: true`` (no comparison when there is none).
    inputs
        The study files, hashed (SHA-256) for the report's provenance. Default: the files
        the studies were loaded from, when known.
    timestamp
        Shown in the report when given; without it the report is byte-identical from run
        to run.
    figures
        ``True`` draws the forest plots with :func:`metaview.render.forest.forest_plot`;
        ``False`` draws none; a callable ``(analysis, studies) -> FigureFiles | None``
        replaces the drawing.

    Raises
    ------
    UsageError
        An unknown ``index_id`` or ``--exclude`` id.
    AnalysisError
        Nothing to report (no study reports any requested endpoint).
    """
    studies = tuple(studies)
    if not studies:
        raise AnalysisError("nothing to report: no studies were given")
    ids = {s.id: s for s in studies}
    index: Study | None
    if index_id is not None:
        if index_id not in ids:
            raise UsageError(f"--index {index_id}: no study has this id "
                             f"(ids: {', '.join(sorted(ids))})")
        index = ids[index_id]
    else:
        marked = [s for s in studies if s.index]
        index = marked[0] if marked else None

    companion_options = _companion_options(options)
    pairs = _analysis_pairs(studies, options)
    analyses: list[Analysis] = []
    for endpoint, time, requested in pairs:
        opts = replace(options, endpoints=(endpoint,),
                       time_months=time if time is not None else options.time_months)
        results = tuple(analyse(studies, opts))
        if not results:
            continue
        companion: tuple[PooledResult, ...] = ()
        companion_error = None
        if companion_options is not None:
            copts = replace(companion_options, endpoints=(endpoint,),
                            time_months=opts.time_months)
            companion, companion_error = _run_companion(studies, copts)
        comparisons: tuple[Comparison, ...] = ()
        if index is not None and index.id not in options.exclude:
            comparisons = _comparisons(studies, index, opts, endpoint, time)
        analyses.append(Analysis(endpoint, time, results, companion, companion_error,
                                 comparisons, requested))
    stems = unique_stems([(a.endpoint, a.time_months) for a in analyses])
    analyses = [replace(a, file_stem=stem) for a, stem in zip(analyses, stems, strict=True)]
    if not any(a.overall.k > 0 for a in analyses):
        wanted = ", ".join(options.endpoints) if options.endpoints else "any endpoint"
        raise AnalysisError(f"nothing to report: no study reports {wanted}"
                            + ("" if options.time_months is None
                               else f" at {options.time_months:g} months"))

    note = None
    if index is None:
        note = ("No study is marked as the index cohort (index: true), so the report shows the "
                "pooled literature only; name one with --index ID to compare it.")
    elif index.id in options.exclude:
        note = f"The index cohort {index.label} is excluded (--exclude), so it is not compared."
    elif not any(a.comparisons for a in analyses):
        note = (f"{index.label} reports no endpoint that another study of its group reports at "
                "the same landmark, so there is nothing to compare.")

    files, combined = _hash_inputs(studies, inputs)
    report = Report(
        studies=studies,
        options=options,
        companion_options=companion_options,
        index=index,
        analyses=tuple(analyses),
        comparison_note=note,
        inputs=files,
        inputs_sha256=combined,
        versions=software_versions(),
        timestamp=None if timestamp is None else timestamp.isoformat(timespec="seconds"),
    )
    if any(st.curves for st in studies):
        from metaview.estimate.reconstruct import analyse_curves

        landmark = options.time_months if options.time_months is not None else 12.0
        report = replace(report, curves=tuple(analyse_curves(
            studies, [landmark], level=options.level, endpoints=options.endpoints)))
    from metaview.report.bayes import bayes_content

    report = replace(report, bayes=bayes_content(report))
    if figures is False:
        return report
    maker: FigureMaker = _draw_forest if figures is True else figures
    drawn = []
    for a in report.analyses:
        if not _plotted(a):
            continue
        out = maker(a, studies)
        if out is not None:
            drawn.append((a.stem, out))
    if report.curves and figures is True:
        drawn.append((CURVES_STEM, _draw_curves(report)))
    if report.bayes is not None and figures is True:
        from metaview.report.bayes import POSTERIOR_STEM, posterior_figure

        post = posterior_figure(report.bayes, report.index.label if report.index else "index")
        if post is not None:
            drawn.append((POSTERIOR_STEM, post))
    return replace(report, figures=tuple(drawn))


def _plotted(a: Analysis) -> bool:
    """1-year OS and PFS (the requested landmark) whenever reported; any other analysis when
    at least two studies report it."""
    k = a.overall.k
    if a.at_requested_landmark and a.endpoint in ALWAYS_PLOTTED:
        return k >= 1
    return k >= 2


def _analysis_pairs(studies: Sequence[Study],
                    options: AnalysisOptions) -> list[tuple[str, float | None, bool]]:
    """(endpoint, landmark, at the requested landmark?) in reading order: the requested
    landmark first, then every other landmark that at least two studies report."""
    pairs: list[tuple[str, float | None, bool]] = [
        (e, t, True) for e, t in endpoint_landmarks(studies, options)]
    taken = {(e, t) for e, t, _ in pairs}
    wanted = set(options.endpoints) if options.endpoints else None
    reporting: dict[tuple[str, float], set[str]] = {}
    for s in studies:
        if s.id in options.exclude:
            continue
        for o in s.outcomes:
            if o.time_months is None or (wanted is not None and o.endpoint not in wanted):
                continue
            reporting.setdefault((o.endpoint, float(o.time_months)), set()).add(s.id)
    order = [e for e, _, _ in pairs]
    extra = sorted(
        (key for key, who in reporting.items() if len(who) >= 2 and key not in taken),
        key=lambda et: (order.index(et[0]) if et[0] in order else len(order), et[0], et[1]))
    pairs.extend((e, t, False) for e, t in extra)
    return pairs


def _companion_options(options: AnalysisOptions) -> AnalysisOptions | None:
    """The model shown beside the one asked for: the binomial-normal GLMM beside an
    inverse-variance model; beside a GLMM, the default inverse-variance model."""
    common = {"endpoints": options.endpoints, "time_months": options.time_months,
                  "study_ci": options.study_ci.value, "level": options.level,
                  "group_by": options.group_by, "exclude": options.exclude}
    if options.model.value == "glmm":
        return AnalysisOptions.create(model="random", **common)  # type: ignore[arg-type]
    return AnalysisOptions.create(model="glmm", scale="logit", **common)  # type: ignore[arg-type]


def _run_companion(studies: Sequence[Study],
                   options: AnalysisOptions) -> tuple[tuple[PooledResult, ...], str | None]:
    try:
        return tuple(analyse(studies, options)), None
    except MetaviewError as exc:
        return (), str(exc)


def _comparisons(studies: Sequence[Study], index: Study, options: AnalysisOptions,
                 endpoint: str, time: float | None) -> tuple[Comparison, ...]:
    if not any(o.endpoint == endpoint for o in index.outcomes):
        return ()
    try:
        found = compare(studies, index.id, options)
    except AnalysisError:
        return ()
    return tuple(c for c in found if c.endpoint == endpoint and _same(c.time_months, time))


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=0.0, abs_tol=1e-9)


# --------------------------------------------------------------------------- provenance


def _hash_inputs(studies: Sequence[Study], inputs: Sequence[str | Path] | None
                 ) -> tuple[tuple[InputFile, ...], str | None]:
    """Each study file's size and SHA-256, in name order, and the SHA-256 of their bytes
    concatenated in that order (what ``cat $(ls studies/*.yaml | LC_ALL=C sort) | sha256sum``
    prints).

    The per-file figures of a loaded study are those of the bytes the loader read and the
    analysis used. The concatenation needs the bytes again: a file whose bytes then differ
    from the ones analysed (edited meanwhile) is an error, never a hash of other bytes.
    """
    from metaview.io.loader import read_study_bytes

    if inputs is None:
        known = [s.path for s in studies]
        if not known or any(p is None for p in known):
            return (), None
        inputs = [p for p in known if p is not None]
    analysed = {Path(s.path): s.file_sha256 for s in studies
                if s.path is not None and s.file_sha256 is not None}
    paths = sorted({Path(p) for p in inputs}, key=lambda p: (p.name, str(p)))
    combined = hashlib.sha256()
    files = []
    for p in paths:
        try:
            data = read_study_bytes(p, limit=-1)
        except OSError as exc:
            raise OutputError(f"{p}: cannot read the input file to hash it "
                              f"({exc.strerror or exc})") from None
        digest = hashlib.sha256(data).hexdigest()
        if analysed.get(p, digest) != digest:
            raise OutputError(f"{p}: the file changed after it was analysed; run the report "
                              "again")
        combined.update(data)
        files.append(InputFile(p.name, len(data), digest))
    return tuple(files), combined.hexdigest()


def software_versions() -> tuple[tuple[str, str], ...]:
    """Versions of metaview, Python and the libraries that made the numbers and figures."""
    import matplotlib
    import numpy
    import pandas
    import scipy
    import statsmodels

    return (
        ("metaview", __version__),
        ("Python", platform.python_version()),
        ("numpy", numpy.__version__),
        ("scipy", scipy.__version__),
        ("statsmodels", statsmodels.__version__),
        ("pandas", pandas.__version__),
        ("matplotlib", matplotlib.__version__),
    )


# --------------------------------------------------------------------------- figures


def _draw_forest(a: Analysis, studies: Sequence[Study]) -> FigureFiles | None:
    from metaview.render.forest import forest_plot
    from metaview.report.figures import figure_files

    if a.overall.k == 0:
        return None
    fig = forest_plot(a.results, comparisons=a.comparisons, studies=studies)
    return figure_files(fig)


#: file stem of the figure of the reconstructed curves
CURVES_STEM = "km-curves"


def _draw_curves(report: Report) -> FigureFiles:
    from dataclasses import replace as with_

    from metaview.commands.km import figure
    from metaview.report.figures import figure_files

    index_id = report.index.id if report.index is not None else None
    curves = [with_(c, is_index=c.study_id == index_id) for c in report.curves]
    return figure_files(figure(curves))


def ordered_studies(studies: Iterable[Study], index: Study | None) -> list[Study]:
    """Reading order: the index cohort, then its arm, then the other arms; within an arm
    the order of :func:`metaview.order.year_then_label` (as the forest plots)."""
    studies = list(studies)
    index_arm = index.arm if index is not None else None

    from metaview.order import year_then_label

    def key(s: Study) -> tuple[object, ...]:
        return (0 if index is not None and s.id == index.id else 1,
                0 if s.arm == index_arm else 1, s.arm, *year_then_label(s))

    return sorted(studies, key=key)
