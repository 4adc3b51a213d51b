"""Shared test fixtures."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "reference" / "metafor_reference.json"

#: relative tolerances (brief: 1e-6 for closed forms, 1e-4 for iterative estimators)
CLOSED_FORM_RTOL = 1e-6
ITERATIVE_RTOL = 1e-4


@lru_cache(maxsize=1)
def metafor_reference() -> dict:
    return json.loads(REFERENCE.read_text())


@pytest.fixture(scope="session")
def reference() -> dict:
    return metafor_reference()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
