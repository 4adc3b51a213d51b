"""Fixtures for the study-file tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from metaview.cli import main

REPO = Path(__file__).resolve().parents[2]

CliRunner = Callable[..., tuple[int, str, str]]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def studies_dir() -> Path:
    return REPO / "studies"


@pytest.fixture
def broken_dir() -> Path:
    return Path(__file__).resolve().parent / "broken"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run ``metaview ARGS...`` in-process; return (exit code, stdout, stderr)."""

    def run(*argv: object) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def error_lines(err: str) -> list[tuple[str, int | None, str]]:
    """Parse ``error: FILE:LINE: MESSAGE`` (or ``error: FILE: MESSAGE``) lines.

    Fails the test when a line has another form or a traceback appears.
    """
    assert "Traceback" not in err
    parsed = []
    for text in err.splitlines():
        match = re.match(r"^error: (.+?):(\d+): (.+)$", text)
        if match:
            parsed.append((match.group(1), int(match.group(2)), match.group(3)))
            continue
        match = re.match(r"^error: (.+?): (.+)$", text)
        assert match, f"not an error line: {text!r}"
        parsed.append((match.group(1), None, match.group(2)))
    return parsed


@pytest.fixture
def parse_errors() -> Callable[[str], list[tuple[str, int | None, str]]]:
    return error_lines
