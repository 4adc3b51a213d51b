"""Reports: one self-contained HTML page, the same in Markdown, CSV tables and figures.

>>> from metaview.io import load_studies
>>> from metaview.engine.analysis import AnalysisOptions
>>> from metaview.report import build_report, write_report
>>> studies = load_studies(["studies/"])                        # doctest: +SKIP
>>> report = build_report(studies, AnalysisOptions.create())    # doctest: +SKIP
>>> write_report(report, "reports/")                            # doctest: +SKIP

:func:`build_report` runs the analyses and draws the figures; :func:`report_files` turns
the result into file contents (byte-identical from run to run unless a timestamp is
given); :func:`write_report` writes them atomically.

The package is also the public verb: ``metaview.report(studies_or_paths, out_dir, ...)``
calls :func:`metaview.api.report` (a function and a subpackage cannot share the name
``metaview.report``, so the package itself is callable).
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

from metaview.report.content import Analysis, InputFile, Report, build_report


def report_files(report: Report) -> dict[str, bytes]:
    """Every file of the report: name -> bytes.

    ``index.html``, ``report.md``, ``studies.csv``, ``pooled.csv``, ``comparison.csv``,
    ``provenance.csv``, ``prior-sensitivity.csv``, ``posterior.svg``/``.png`` and, per
    forest plot, ``forest-<endpoint>[-<months>m].svg`` / ``.png``
    (unique: a short hash is added where two analyses would share a name, see
    :func:`~metaview.report.content.unique_stems`).
    """
    from metaview.report.compose import compose
    from metaview.report.html import render_html
    from metaview.report.markdown import render_markdown
    from metaview.report.tables import csv_files

    doc = compose(report)
    files: dict[str, bytes] = {
        "index.html": render_html(doc).encode("utf-8"),
        "report.md": render_markdown(doc).encode("utf-8"),
    }
    files.update(csv_files(report))
    for stem, figure in report.figures:
        files[f"{stem}.svg"] = figure.svg.encode("utf-8")
        files[f"{stem}.png"] = figure.png
    return files


def write_report(report: Report, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write the report into ``out_dir`` (created when missing), all files or none.

    Files already in ``out_dir`` that the report does not write are left alone.
    """
    from metaview.report.writer import write_files

    return write_files(report_files(report), out_dir)


class _ReportPackage(types.ModuleType):
    """This package, callable as :func:`metaview.api.report`."""

    def __call__(self, *args: Any, **kwargs: Any) -> list[Path]:
        from metaview.api import report

        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _ReportPackage

__all__ = ["Analysis", "InputFile", "Report", "build_report", "report_files", "write_report"]
