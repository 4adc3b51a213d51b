"""The hypothesis profile of plain runs is the fixed one (tests/conftest.py)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings


@pytest.mark.skipif(os.environ.get("HYPOTHESIS_PROFILE", "ci") != "ci",
                    reason="another hypothesis profile was asked for")
def test_plain_runs_are_derandomized_without_a_database() -> None:
    assert settings.default.derandomize is True
    assert settings.default.database is None
    assert settings.default.deadline is None
