"""Figure file names of a report: safe, bounded and never shared by two analyses."""

from __future__ import annotations

import re

from metaview.engine.analysis import AnalysisOptions
from metaview.model import Outcome, Study
from metaview.report import build_report, report_files
from metaview.report.content import MAX_STEM_LENGTH, Analysis, analysis_stem, unique_stems
from metaview.report.figures import FigureFiles

SAFE = re.compile(r"forest-[a-z0-9_-]+")
SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="10pt"></svg>\n'


def stub(analysis: Analysis, studies: object) -> FigureFiles:
    """A figure whose bytes name its analysis, so that a file overwritten by another
    analysis' figure shows."""
    return FigureFiles(svg=SVG, png=f"{analysis.endpoint} {analysis.time_months!r}".encode())


def series(sid: str, outcomes: list[Outcome]) -> Study:
    return Study(id=sid, label=sid.title(), citation=f"{sid}. J Test.", year=2020,
                 arm="allo-HSCT", patients=40, outcomes=tuple(outcomes))


def test_plain_stems_are_unchanged():
    assert unique_stems([("OS", 12.0), ("PFS", 12.0), ("ORR", None), ("ALLO_HSCT", None)]) == [
        "forest-os-12m", "forest-pfs-12m", "forest-orr", "forest-allo_hsct"]
    assert analysis_stem("OS", 2.5) == "forest-os-2_5m"
    assert analysis_stem("OS", 1e20) == "forest-os-1e_20m"  # no '+' in a file name


def test_landmarks_that_format_the_same_get_different_deterministic_stems():
    keys = [("OS", 12.0), ("OS", 12.0000001), ("PFS", 12.0)]
    stems = unique_stems(keys)
    assert len(set(stems)) == 3
    assert stems[0].startswith("forest-os-12m-") and stems[1].startswith("forest-os-12m-")
    assert stems[2] == "forest-pfs-12m"
    assert unique_stems(keys) == stems  # the same every run
    assert unique_stems(list(reversed(keys))) == list(reversed(stems))  # not order-dependent
    assert all(SAFE.fullmatch(s) for s in stems)


def test_long_endpoints_are_cut_with_a_hash_and_stay_distinct():
    a, b = "E" * 250, "E" * 249 + "F"
    stems = unique_stems([(a, 12.0), (b, 12.0), (a, None)])
    assert len(set(stems)) == 3
    assert all(len(s) <= MAX_STEM_LENGTH and SAFE.fullmatch(s) for s in stems)


def test_report_keeps_one_figure_per_analysis_when_landmarks_format_the_same():
    studies = [
        series("a2020", [Outcome("OS", "T1", time_months=12, count=20, total=40),
                         Outcome("OS", "T1", time_months=12.0000001, count=10, total=40)]),
        series("b2021", [Outcome("OS", "T2", time_months=12, count=25, total=40),
                         Outcome("OS", "T2", time_months=12.0000001, count=15, total=40)]),
    ]
    report = build_report(studies, AnalysisOptions.create(endpoints=["OS"]), figures=stub)
    times = sorted(a.time_months for a in report.analyses)
    assert times == [12.0, 12.0000001]
    files = report_files(report)
    pngs = {name: data for name, data in files.items() if name.endswith(".png")}
    assert len(pngs) == 2
    assert sorted(pngs.values()) == [b"OS 12.0", b"OS 12.0000001"]  # none overwritten
    html = files["index.html"].decode()
    md = files["report.md"].decode()
    for name in pngs:
        assert f'href="{name}"' in html and f"({name})" in md
        assert SAFE.fullmatch(name.removesuffix(".png"))
