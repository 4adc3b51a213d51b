"""Fixtures of the forest plot tests (the studies are built in ``forest_data``)."""

from __future__ import annotations

import pytest
from forest_data import six_studies

from metaview.model import Study


@pytest.fixture
def studies() -> list[Study]:
    return six_studies()
