"""Fixtures for the report tests: the six cited series as Study objects (no loader needed)."""

from __future__ import annotations

import pytest
from report_data import STUDIES_DIR, six_studies

from metaview.model import Study


@pytest.fixture
def studies() -> list[Study]:
    return six_studies()


@pytest.fixture(scope="session")
def real_report():
    """The default report of the repository's studies/, with its figures (built once)."""
    from metaview.engine.analysis import AnalysisOptions
    from metaview.io import find_study_files, load_studies
    from metaview.report import build_report

    files = find_study_files([STUDIES_DIR])
    return build_report(load_studies(files), AnalysisOptions.create(), inputs=files)


@pytest.fixture(scope="session")
def real_files(real_report):
    from metaview.report import report_files

    return report_files(real_report)
