"""Shared test fixtures, and the hypothesis profiles.

Hypothesis runs the ``ci`` profile unless ``HYPOTHESIS_PROFILE`` names another: derandomized
(the same examples on every machine and every run), no example database, no deadline (the
machine's speed must not matter), 100 examples per test. ``HYPOTHESIS_PROFILE=deep`` is for
a deliberate search: random examples, 2,000 per test, and failures kept in ``.hypothesis/``
so that the next run replays them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from reference_data import ROOT, metafor_reference

settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=100, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "deep", derandomize=False, deadline=None, max_examples=2000, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def reference() -> dict:
    return metafor_reference()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
