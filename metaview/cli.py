"""Command line: ``metaview <command> ...``.

A thin layer: argparse here, one module per command under ``metaview.commands`` (imported
only when that command runs, so start-up stays fast), and every expected error mapped to
one ``error: ...`` line on stderr with exit code 0 (success), 1 (analysis could not be
done) or 2 (invalid input or usage).
"""

from __future__ import annotations

import argparse
import codecs
import errno
import importlib
import os
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

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
    "km": ("km", "patient data reconstructed from digitised Kaplan-Meier curves"),
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
                   help="random, common, glmm or bayes (default: random)")
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
    g.add_argument("--prefer-curves", action="store_true",
                   help="use the landmark read from a study's reconstructed Kaplan-Meier curve "
                        "even where the paper prints the figure (sensitivity analysis)")
    g.add_argument("--tau-prior", default=None, metavar="PRIOR",
                   help="--model bayes: prior of tau, half-normal:S, half-cauchy:S, half-t:S,DF, "
                        "exponential:RATE or uniform:MAX (default: half-normal:1 on the "
                        "logit, cloglog and log scales)")
    g.add_argument("--mu-prior", default="flat", metavar="PRIOR",
                   help="--model bayes: prior of mu, flat or normal:M,S (default: flat)")
    g.add_argument("--likelihood", default="normal", metavar="L",
                   help="--model bayes: normal (pooling scale) or binomial (counts, logit) "
                        "(default: normal)")


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
    from metaview.distributions import finite_quantiles

    if not finite_quantiles(value):
        raise argparse.ArgumentTypeError(
            f"'{text}' is so close to 1 that its normal quantile is infinite; choose a level "
            "further from 1, e.g. 0.999")
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


def _command_module(module: str):
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
    stdout = sys.stdout
    sys.stdout = _Stdout(stdout)
    try:
        code = int(module.run(args) or 0)
        sys.stdout.flush()
        return code
    except StdoutError as exc:
        _discard_stdout()
        print(f"error: cannot write to standard output: {exc.strerror} (send it to a file "
              "that can take it, e.g. > out.txt)", file=sys.stderr)
        return exc.exit_code
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
    except KeyboardInterrupt as exc:  # a report's writer says what became of its files
        message = getattr(exc, "message", "interrupted; no output was changed")
        print(f"error: {message}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 130))
    except BrokenPipeError:
        _discard_stdout()
        return 0
    except OSError as exc:  # the file system or the machine, not metaview
        if getattr(args, "traceback", False):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{_os_reason(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a defect: still one line, the traceback on request
        if getattr(args, "traceback", False):
            raise
        print(f"error: internal error ({type(exc).__name__}: {exc}); please report it with "
              "the output of --traceback", file=sys.stderr)
        return 1
    finally:
        sys.stdout = stdout


def _os_reason(exc: OSError) -> str:
    """What an operating-system error means for the user, with what to do about it."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENAMETOOLONG:
        return f"{reason} (use a shorter file or folder name)"
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"{reason} (free some space, or write elsewhere)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{reason} (check the permissions, or write elsewhere)"
    return f"{reason} (check the path)"


class StdoutError(OSError):
    """Standard output is closed, full or otherwise cannot take the output."""

    exit_code = 2


class _Stdout:
    """``sys.stdout`` while a command runs: text the stream's encoding cannot hold is written
    with ASCII replacements (``τ²`` as ``tau^2``), and a stream that is closed or full
    raises :class:`StdoutError` (a broken pipe stays a :class:`BrokenPipeError`)."""

    def __init__(self, stream: TextIO | None):
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:
            raise StdoutError(errno.EBADF, "it is closed")
        try:
            try:
                return self._stream.write(text)
            except UnicodeEncodeError:
                encoding = getattr(self._stream, "encoding", None) or "ascii"
                safe = text.encode(encoding, errors=_FALLBACK).decode(encoding)
                return self._stream.write(safe)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror or str(exc)) from None
        except ValueError as exc:  # "I/O operation on closed file"
            raise StdoutError(errno.EBADF, str(exc)) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror or str(exc)) from None

    def __getattr__(self, name: str) -> Any:
        if self._stream is None:
            raise AttributeError(name)
        return getattr(self._stream, name)


def _discard_stdout() -> None:
    """Point file descriptor 1 at the null device: what could not be written is dropped,
    and Python's final flush at exit does not fail a second time."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:  # pragma: no cover - nothing better to do
        pass


#: ASCII for the characters metaview itself prints (study text falls back to NFKD, then ?)
_ASCII = {
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'",
    "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u2265": ">=", "\u2264": "<=",
    "\u00b1": "+/-", "\u00d7": "x", "\u00b7": ".", "\u2192": "->", "\u03c4": "tau",
    "\u00b2": "^2", "\u03b8": "theta", "\u2248": "~", "\u00a0": " ", "\u2009": " ",
    "\u202f": " ", "\u2022": "*", "\u2020": "+", "\u2021": "++", "\u00b0": " deg",
    "\u03b1": "alpha", "\u03c7": "chi", "\u2500": "-", "\u2502": "|", "\u2550": "=",
}
_FALLBACK = "metaview-ascii"


def _ascii_replacements(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):  # pragma: no cover - only registered for encoding
        raise err
    out = []
    for ch in err.object[err.start:err.end]:
        rep = _ASCII.get(ch)
        if rep is None:
            rep = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii()
                          and c.isprintable()) or "?"
        out.append(rep)
    return "".join(out), err.end


codecs.register_error(_FALLBACK, _ascii_replacements)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
