"""Exceptions and warnings raised by metaview."""

from __future__ import annotations

from dataclasses import dataclass


class MetaviewError(Exception):
    """Base class of every error metaview raises on purpose."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One problem in one input file: where it is and what to do about it."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.message}"


class StudyFileError(MetaviewError):
    """One or more study files are invalid; ``problems`` lists every one of them."""

    exit_code = 2

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(MetaviewError, ValueError):
    """An option or a combination of options that cannot be used.

    Also a ``ValueError``, as Python code expects of a bad argument value.
    """

    exit_code = 2


class AnalysisError(MetaviewError):
    """The analysis could not be done (for example: nothing to pool)."""

    exit_code = 1


class OutputError(MetaviewError):
    """An output file could not be written."""

    exit_code = 2


class MetaviewWarning(UserWarning):
    """A result was produced, but with a caveat the user should read."""
