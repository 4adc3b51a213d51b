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
    p.add_argument("--width", default="double", metavar="W",
                   help="figure width: single (3.5 in, one journal column), double (7.2 in) "
                        "or inches (default: double); the layout adapts")
    p.add_argument("--font-size", type=_points, metavar="PT",
                   help="body font size in points (default: 7, smaller when needed to fit)")
    p.add_argument("--dpi", type=_dpi, default=300,
                   help="PNG resolution (default: 300; lowered to keep each side within "
                        "16,000 pixels)")
    p.add_argument("--rows-per-page", type=int, default=60, metavar="N",
                   help="study rows per page; more rows give a multi-page PDF or numbered "
                        "PNG/SVG files FILE-1, FILE-2, ... (default: 60)")
    p.add_argument("--summary-only", action="store_true",
                   help="only the pooled rows of each group, no study rows")
    p.add_argument("--sort", default="year", metavar="ORDER",
                   help="row order within a group: year (then label), label, estimate, "
                        "weight or file (default: year)")
    p.epilog = ("Without --endpoint, OS and PFS are drawn (every endpoint found when no study "
                "reports either); without --time, the landmark is 12 months.")


def _points(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 4.0 <= value <= 24.0:
        raise argparse.ArgumentTypeError(f"'{text}': a font size between 4 and 24 points")
    return value


def _dpi(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 50.0 <= value <= 1200.0:
        raise argparse.ArgumentTypeError(f"'{text}': a resolution between 50 and 1200 dpi")
    return value


def run(args: argparse.Namespace) -> int:
    from metaview.commands._common import index_study, load, options_from_args
    from metaview.engine.analysis import analyse, compare
    from metaview.order import sort_studies
    from metaview.render.forest import (
        FORMATS,
        figure_width,
        forest_pages,
        page_paths,
        png_dpi,
        save_pages,
    )

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

    width = figure_width(args.width)
    sort_studies([], args.sort)  # an unknown order is a usage error before any work
    studies = load(args.paths)
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
    if args.rows_per_page < 1:
        raise UsageError(f"--rows-per-page {args.rows_per_page}: at least 1")
    figs = forest_pages(results, comparisons=comparisons, studies=studies, title=args.title,
                        width=width, font_size=args.font_size, sort=args.sort,
                        rows_per_page=args.rows_per_page, summary_only=args.summary_only)
    if not args.force:
        for path in page_paths(output, len(figs)):
            if path.exists():
                raise UsageError(f"-o {output}: {path} exists; use --force to overwrite it")
    fig = max(figs, key=lambda f: max(f.get_figwidth(), f.get_figheight()))
    if width is not None and fig.get_figwidth() > width + 1e-6:
        print(f"warning: the panels need {fig.get_figwidth():.1f} in, more than the "
              f"{width:g} in asked for (draw fewer endpoints, or choose a wider --width)",
              file=sys.stderr)
    if output.suffix.lower() == ".png" and png_dpi(fig, args.dpi) < args.dpi:
        print(f"note: {output} is written at {png_dpi(fig, args.dpi):g} dpi so that no side "
              "exceeds 16,000 pixels", file=sys.stderr)
    written = save_pages(figs, output, overwrite=args.force, dpi=args.dpi)
    pages = f" ({len(figs)} pages)" if len(figs) > 1 and len(written) == 1 else ""
    print(f"wrote {', '.join(str(p) for p in written)}{pages}")
    return 0


def _default_endpoints(studies: list) -> list[str] | None:
    found = {o.endpoint for s in studies for o in s.outcomes}
    wanted = [e for e in DEFAULT_ENDPOINTS if e in found]
    return list(DEFAULT_ENDPOINTS) if wanted else None
