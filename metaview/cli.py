"""Command line: ``metaview <command> ...``.

A thin layer: argparse here, one module per command under ``metaview.commands`` (imported
only when that command runs, so start-up stays fast), and every expected error mapped to
one ``error: ...`` line on stderr with exit code 0 (success), 1 (analysis could not be
done) or 2 (invalid input or usage).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from metaview import __version__

# command name -> (module under metaview.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate", "check study files and report every problem"),
    "list": ("listing", "one row per study: id, label, arm, patients, what it reports"),
    "new": ("new", "write a commented template for a new study file"),
    "pool": ("pool", "pooled estimates per endpoint, landmark and group"),
    "compare": ("compare", "the index cohort against the pooled other studies"),
    "forest": ("forest", "forest plot (.png, .svg or .pdf)"),
    "report": ("report", "HTML + Markdown + CSV report with figures"),
    "simulate": ("simulate", "coverage of each interval method for this analysis"),
    "schema": ("schema", "print the study file JSON Schema"),
    "import": ("sheet_import", "study files from an extraction sheet (.csv, .tsv, .xlsx)"),
    "export": ("sheet_export", "the outcomes table of study files as .csv, .tsv or .xlsx"),
}

ANALYSIS_COMMANDS = ("pool", "compare", "forest", "report", "simulate")


def add_analysis_options(p: argparse.ArgumentParser) -> None:
    """Options shared by pool, compare, forest, report and simulate (see cli-contract.md)."""
    g = p.add_argument_group("analysis options")
    g.add_argument("--endpoint", action="append", metavar="E",
                   help="endpoint token, e.g. OS (repeatable; default: every endpoint found)")
    g.add_argument("--time", type=_positive_float, metavar="T",
                   help="landmark in months (default: 12 for endpoints reported with a time)")
    g.add_argument("--model", default="random", metavar="M",
                   help="random, common or glmm (default: random)")
    g.add_argument("--tau2", default="REML", metavar="METHOD",
                   help="REML, ML, DL, PM, HS, SJ, HE or EB (default: REML)")
    g.add_argument("--ci", default=None, metavar="METHOD",
                   help="z, hk, hk-adhoc; t for glmm (default: hk-adhoc; z for glmm)")
    g.add_argument("--scale", default="logit", metavar="S",
                   help="logit, cloglog, log, arcsine, pft or raw (default: logit)")
    g.add_argument("--study-ci", default="wilson", metavar="METHOD",
                   help="per-study CI for counts: wilson, clopper-pearson, agresti-coull, "
                        "jeffreys, wald (default: wilson)")
    g.add_argument("--level", type=_level, default=0.95, help="confidence level (default: 0.95)")
    g.add_argument("--group-by", metavar="FIELD",
                   help="a top-level field or a characteristic (default: arm)")
    g.add_argument("--no-group", action="store_true",
                   help="pool every arm together (no grouping)")
    g.add_argument("--exclude", action="append", default=[], metavar="ID",
                   help="leave a study out (repeatable)")
    g.add_argument("--leave-one-out", action="store_true", help="refit without each study")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive number of months")
    return value


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must lie strictly between 0 and 1, e.g. 0.95")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="metaview",
        description="Literature-comparison meta-analysis of proportions and landmark survival.",
    )
    parser.add_argument("--version", action="version", version=f"metaview {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show a Python traceback on errors (for debugging)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                       help="show a Python traceback on errors (for debugging)")
        if name in ANALYSIS_COMMANDS:
            add_analysis_options(p)
        _command_module(module).add_arguments(p)
    return parser


def _command_module(module: str):  # type: ignore[no-untyped-def]
    return importlib.import_module(f"metaview.commands.{module}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    from metaview.errors import MetaviewError, StudyFileError

    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help, --version, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    module = _command_module(COMMANDS[args.command][0])
    try:
        return int(module.run(args) or 0)
    except StudyFileError as exc:
        if getattr(args, "traceback", False):
            raise
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return exc.exit_code
    except MetaviewError as exc:
        if getattr(args, "traceback", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted; no output was changed", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a defect: still one line, the traceback on request
        if getattr(args, "traceback", False):
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); please report it with "
              "the output of --traceback", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
