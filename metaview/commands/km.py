"""`metaview km PATH...`: patient data reconstructed from digitised Kaplan-Meier curves.

Per curve: n, events, the median with its interval, the landmarks with log-log intervals
and numbers at risk, and the fidelity table (published against reconstructed numbers at
risk at every table time). ``--ipd-dir`` writes the reconstructed patients as CSV (never
overwriting), ``-o`` draws every curve in one figure.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from metaview.atomic import raw_atomic_write
from metaview.display import level_percent
from metaview.errors import AnalysisError, OutputError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from metaview.estimate.reconstruct import CurveResult

#: Landmark when no --time is given (months).
DEFAULT_TIME = 12.0
FORMATS = ("table", "json", "csv")
CSV_COLUMNS = ("study", "endpoint", "time_unit", "n", "events", "median", "median_ci_low",
               "median_ci_high", "time_months", "estimate", "ci_low", "ci_high", "at_risk")


def add_arguments(p: argparse.ArgumentParser) -> None:
    from metaview.cli import _level, _positive_float

    p.add_argument("paths", nargs="+", metavar="PATH", help="study files or folders of them")
    p.add_argument("--time", action="append", type=_positive_float, metavar="T",
                   help="landmark in months (repeatable; default: 12)")
    p.add_argument("--endpoint", action="append", metavar="E",
                   help="only curves of this endpoint (repeatable; default: every curve)")
    p.add_argument("--level", type=_level, default=0.95,
                   help="confidence level (default: 0.95)")
    p.add_argument("--format", default="table", metavar="FORMAT",
                   help="table, json or csv (default: table)")
    p.add_argument("--ipd-dir", metavar="DIR",
                   help="write each curve's reconstructed patients as DIR/<study>-<endpoint>"
                        ".csv (time,event; never overwrites)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="overlay figure of the reconstructed curves (.png, .svg or .pdf)")
    p.add_argument("--index", metavar="ID",
                   help="the cohort highlighted in the figure (default: the study marked "
                        "'index: true', if any)")
    p.add_argument("--title", help="title printed above the figure")
    p.add_argument("--force", action="store_true", help="overwrite FILE of -o if it exists")
    p.epilog = ("Medians are in each curve's time unit; landmarks are in months "
                "(1 month = 365.25/12 days).")


def run(args: argparse.Namespace) -> int:
    from metaview.commands._common import index_study, load, write_json
    from metaview.estimate.reconstruct import analyse_curves

    fmt = str(args.format).lower()
    if fmt not in FORMATS:
        raise UsageError(f"--format {args.format}: use one of {', '.join(FORMATS)}")
    output = Path(args.output) if args.output else None
    if output is not None:
        from metaview.render.forest import FORMATS as FIGURE_FORMATS

        if output.suffix.lower() not in FIGURE_FORMATS:
            raise UsageError(f"-o {output}: unknown format '{output.suffix or '(none)'}'; "
                             f"use one of {', '.join(FIGURE_FORMATS)}")
        if output.exists() and not args.force:
            raise UsageError(f"-o {output}: the file exists; use --force to overwrite it")
    studies = load(args.paths)
    index_id = index_study(studies, args.index)
    times = list(dict.fromkeys(args.time or [DEFAULT_TIME]))
    endpoints = [e.strip().upper() for e in args.endpoint] if args.endpoint else None
    results = analyse_curves(studies, times, level=args.level, endpoints=endpoints)
    if not results:
        what = f" of {', '.join(endpoints)}" if endpoints else ""
        raise AnalysisError(f"no digitised curve{what} in {', '.join(args.paths)} (add "
                            "curves: to a study file; see the README)")
    if index_id is not None:
        results = [_with_index(r, index_id) for r in results]
    ipd_plan = _ipd_plan(results, Path(args.ipd_dir)) if args.ipd_dir else []
    if fmt == "json":
        from metaview import __version__

        write_json({"metaview_version": __version__,
                    "curves": [r.to_dict() for r in results]})
    elif fmt == "csv":
        sys.stdout.write(_csv(results))
    else:
        sys.stdout.write(table_text(results))
    for path, text in ipd_plan:
        _write_new(path, text)
        print(f"wrote {path}", file=sys.stderr)
    if output is not None:
        from metaview.render.forest import save_figure

        fig = figure(results, title=args.title)
        written = save_figure(fig, output, overwrite=args.force)
        print(f"wrote {written}", file=sys.stderr)
    return 0


def _with_index(result: CurveResult, index_id: str) -> CurveResult:
    from dataclasses import replace

    return replace(result, is_index=result.study_id == index_id)


# --------------------------------------------------------------------------- text


def _num(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NR"
    return f"{x:.{digits}g}"


def _pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def table_text(results: list[CurveResult]) -> str:
    """The ``--format table`` output."""
    out = io.StringIO()
    for k, r in enumerate(results):
        c, s = r.curve, r.summary
        if k:
            out.write("\n")
        origin = f", from {c.time_origin}" if c.time_origin else ""
        out.write(f"{r.label} ({r.study_id}) {c.endpoint}{origin}: {c.source}\n")
        events = f"{s.events}" + (f" (paper: {c.events})" if c.events is not None else "")
        level = level_percent(s.level)
        out.write(f"  n {s.n}, events {events}, median {_num(s.median)} {c.time_unit} "
                  f"({level} CI {_num(s.median_ci_low)} to {_num(s.median_ci_high)})\n")
        out.write(f"  {'landmark':<10}{'estimate':>9}  {level + ' CI (log-log)':<20}"
                  f"{'at risk':>7}\n")
        for x in s.landmarks:
            interval = f"{_pct(x.ci_low)} to {_pct(x.ci_high)}"
            out.write(f"  {f'{x.time_months:g} months':<10}{_pct(x.estimate):>9}  "
                      f"{interval:<20}{x.at_risk:>7}\n")
        out.write(f"  numbers at risk ({c.time_unit}): time, published, reconstructed\n")
        bound = max(1, 0.03 * s.n)
        for check in r.reconstruction.at_risk_check:
            flag = "" if abs(check.reconstructed - check.published) <= bound else \
                "  (outside the fidelity bound)"
            out.write(f"    {check.time:>8g} {check.published:>9} {check.reconstructed:>13}"
                      f"{flag}\n")
        for note in r.notes:
            out.write(f"  note: {note}\n")
    return out.getvalue()


def _csv(results: list[CurveResult]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in results:
        s = r.summary
        for x in s.landmarks:
            writer.writerow([r.study_id, r.curve.endpoint, r.curve.time_unit, s.n, s.events,
                             _cell(s.median), _cell(s.median_ci_low), _cell(s.median_ci_high),
                             f"{x.time_months:g}", _cell(x.estimate), _cell(x.ci_low),
                             _cell(x.ci_high), x.at_risk])
    return buf.getvalue()


def _cell(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else repr(float(x))


# --------------------------------------------------------------------------- files


def _ipd_name(r: CurveResult, used: set[str]) -> str:
    base = f"{r.study_id}-{r.curve.endpoint.lower()}"
    name, k = base, 2
    while name in used:
        name, k = f"{base}-{k}", k + 1
    used.add(name)
    return name + ".csv"


def _ipd_plan(results: list[CurveResult], folder: Path) -> list[tuple[Path, str]]:
    """Every file to write, checked before anything is written."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--ipd-dir {folder}: is not a folder")
    used: set[str] = set()
    plan = []
    for r in results:
        path = folder / _ipd_name(r, used)
        if path.exists():
            raise OutputError(f"--ipd-dir: {path} exists; metaview never overwrites it (remove "
                              "it or choose another folder)")
        lines = ["time,event"] + [f"{t:.6g},{int(e)}" for t, e in
                                  zip(r.reconstruction.time, r.reconstruction.event)]
        plan.append((path, "\n".join(lines) + "\n"))
    return plan


def _write_new(path: Path, text: str) -> None:
    """Write ``text`` to a new file ``path`` atomically; never replaces an existing file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with raw_atomic_write(path, overwrite=False) as handle:
            handle.write(text.encode("utf-8"))
    except FileExistsError:
        raise OutputError(f"--ipd-dir: {path} exists; metaview never overwrites it") from None
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- figure


def figure_lines(results: list[CurveResult]) -> tuple[list, list[float]]:
    """What the renderer draws: step functions, censoring marks and numbers at risk, in
    months, and the table times (the first curve's table times converted to months, or
    every 6 months)."""
    import numpy as np

    from metaview.render.km import KMLine

    lines = []
    horizon = 0.0
    for r in results:
        k = r.curve.months_per_unit
        horizon = max(horizon, float(r.reconstruction.time.max()) * k)
    step = _nice_step(horizon)
    ticks = [float(x) for x in np.arange(0.0, horizon + 1e-9, step)]
    for r in results:
        k = r.curve.months_per_unit
        rec = r.reconstruction
        cens = rec.time[rec.event == 0]
        lines.append(KMLine(
            label=r.label if len([x for x in results if x.study_id == r.study_id]) == 1
            else f"{r.label} {r.curve.endpoint}",
            arm=r.arm, is_index=r.is_index,
            times=[t * k for t in r.summary.timeline], survival=list(r.summary.survival),
            censor_times=[float(t) * k for t in cens],
            censor_survival=[r.summary.survival_at(float(t)) for t in cens],
            at_risk=[rec.at_risk(t / k) for t in ticks],
            end=float(rec.time.max()) * k,
        ))
    return lines, ticks


def _nice_step(horizon: float) -> float:
    for step in (1, 2, 3, 6, 12, 24, 36, 60, 120):
        if horizon / step <= 10:
            return float(step)
    return float(math.ceil(horizon / 10))


def figure(results: list[CurveResult], title: str | None = None):
    """The overlay figure of ``results``."""
    from metaview.render.km import km_figure

    lines, ticks = figure_lines(results)
    endpoints = sorted({r.curve.endpoint for r in results})
    return km_figure(lines, ticks, title=title or f"Reconstructed {', '.join(endpoints)}",
                     x_label="Months")
