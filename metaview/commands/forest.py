"""`metaview forest PATH... -o FILE`: forest plot (.png, .svg or .pdf, from the extension)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metaview.errors import AnalysisError, OutputError, UsageError

#: Endpoints drawn when no --endpoint is given (when at least one study reports one of them).
DEFAULT_ENDPOINTS = ("OS", "PFS")
#: Landmark when no --time is given.
DEFAULT_TIME = 12.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="study files or folders of them")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="figure file; format from the extension: .png (300 dpi), .svg, .pdf")
    p.add_argument("--index", metavar="ID",
                   help="the cohort compared with the literature (default: the study marked "
                        "'index: true', if any)")
    p.add_argument("--title", help="title printed above the figure")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.epilog = ("Without --endpoint, OS and PFS are drawn (every endpoint found when no study "
                "reports either); without --time, the landmark is 12 months.")


def run(args: argparse.Namespace) -> int:
    from metaview.commands._common import index_study, load, options_from_args
    from metaview.pool.analysis import analyse, compare
    from metaview.render.forest import FORMATS, forest_plot, save_figure

    output = Path(args.output)
    if output.suffix.lower() not in FORMATS:
        raise UsageError(f"-o {output}: unknown format '{output.suffix or '(none)'}'; "
                         f"use one of {', '.join(FORMATS)}")
    try:
        exists = output.exists()
    except OSError as exc:  # e.g. a name too long for the file system
        raise OutputError(f"-o {output}: cannot write here ({exc.strerror or exc})") from None
    if exists and not args.force:
        raise UsageError(f"-o {output}: the file exists; use --force to overwrite it")

    studies = sorted(load(args.paths), key=lambda s: (s.year, s.label.lower(), s.id))
    if not studies:
        raise UsageError(f"no study files found in {', '.join(args.paths)}")
    options = options_from_args(
        args, endpoints=args.endpoint or _default_endpoints(studies),
        time_months=args.time if args.time is not None else DEFAULT_TIME, leave_one_out=False)
    results = analyse(studies, options)
    index_id = index_study(studies, args.index)
    comparisons = []
    if index_id is not None and index_id not in options.exclude:
        try:
            comparisons = compare(studies, index_id, options)
        except AnalysisError as exc:
            print(f"warning: no index comparison drawn: {exc}", file=sys.stderr)
    fig = forest_plot(results, comparisons=comparisons, studies=studies, title=args.title)
    written = save_figure(fig, output, overwrite=args.force)
    print(f"wrote {written}")
    return 0


def _default_endpoints(studies: list) -> list[str] | None:  # type: ignore[type-arg]
    found = {o.endpoint for s in studies for o in s.outcomes}
    wanted = [e for e in DEFAULT_ENDPOINTS if e in found]
    return list(DEFAULT_ENDPOINTS) if wanted else None
