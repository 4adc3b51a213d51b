"""Landmarks read from reconstructed curves in pool, forest and report."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from metaview.choices import Scale
from metaview.cli import main
from metaview.engine.analysis import AnalysisOptions, analyse
from metaview.estimate import transforms
from metaview.estimate.reconstruct import effective_counts, landmark_outcome
from metaview.io import load_studies

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "km"
PRINTED = """\
  - endpoint: OS
    time_months: 12
    time_origin: enrolment
    estimate: "40%"
    ci: ["31%", "49%"]
    ci_method: log-log
    source: "Results: 1-year survival 40%"
"""


@pytest.fixture
def folder(tmp_path) -> Path:
    out = tmp_path / "studies"
    shutil.copytree(EXAMPLE, out, ignore=shutil.ignore_patterns("*.py", "*.md"))
    men = out / "ncctg-lung-men.yaml"
    men.write_text(men.read_text("utf-8").replace("outcomes: []\n", "outcomes:\n" + PRINTED),
                   "utf-8")
    return out


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def by_id(result):
    return {s.id: s for s in result.studies}


def test_a_study_without_the_figure_contributes_its_reconstructed_landmark(folder):
    studies = load_studies([folder])
    (r,) = analyse(studies, AnalysisOptions.create(endpoints=["OS"], group_by=None))
    est = by_id(r)
    women, men = est["ncctg-lung-women"], est["ncctg-lung-men"]
    assert women.reconstructed and not men.reconstructed  # a printed figure wins
    assert men.estimate == pytest.approx(0.40)
    curve = next(s for s in studies if s.id == "ncctg-lung-women").curves[0]
    assert women.source == f"read from the reconstructed curve ({curve.source})"
    outcome = landmark_outcome(curve, 12.0)
    assert women.estimate == outcome.estimate and women.total == 90
    assert women.to_dict()["reconstructed"] is True
    assert any("read from the reconstructed curve" in w and "ncctg-lung-women" in w
               for w in r.warnings)


@pytest.mark.parametrize("scale", ["logit", "cloglog", "log", "arcsine", "raw"])
def test_the_standard_error_is_greenwood_carried_to_the_pooling_scale(folder, scale):
    from metaview.estimate.reconstruct import km_summary, reconstruct_curve

    studies = load_studies([folder])
    (r,) = analyse(studies, AnalysisOptions.create(endpoints=["OS"], group_by=None,
                                                   scale=scale))
    women = by_id(r)["ncctg-lung-women"]
    curve = next(s for s in studies if s.id == "ncctg-lung-women").curves[0]
    rec = reconstruct_curve(curve)
    (landmark,) = km_summary(rec, [12.0], curve.months_per_unit).landmarks
    expected = float(transforms.derivative(landmark.estimate, Scale(scale))) * landmark.se
    assert math.sqrt(women.vi) == pytest.approx(abs(expected), rel=1e-9)


def test_prefer_curves_reverses_the_choice(folder):
    studies = load_studies([folder])
    options = AnalysisOptions.create(endpoints=["OS"], group_by=None, prefer_curves=True)
    (r,) = analyse(studies, options)
    men = by_id(r)["ncctg-lung-men"]
    assert men.reconstructed and men.estimate != pytest.approx(0.40)


def test_glmm_uses_effective_counts_flagged_approximate(folder):
    studies = load_studies([folder])
    (r,) = analyse(studies, AnalysisOptions.create(endpoints=["OS"], group_by=None,
                                                   model="glmm", prefer_curves=True))
    assert r.model == "glmm"
    (warning,) = [w for w in r.warnings if "effective counts" in w]
    assert "approximate" in warning
    curve = next(s for s in studies if s.id == "ncctg-lung-men").curves[0]
    x, n = effective_counts(landmark_outcome(curve, 12.0))
    assert f"ncctg-lung-men ({x}/{n})" in warning
    outcome = landmark_outcome(curve, 12.0)
    from metaview.estimate.reconstruct import km_summary, reconstruct_curve

    (landmark,) = km_summary(reconstruct_curve(curve), [12.0], curve.months_per_unit).landmarks
    s = outcome.estimate
    assert n == round(s * (1 - s) / landmark.se**2)
    assert x == round(s * n)


def test_a_landmark_after_the_end_of_the_curve_is_not_read(folder):
    studies = load_studies([folder])
    (r,) = analyse(studies, AnalysisOptions.create(endpoints=["OS"], time_months=36,
                                                   group_by=None))
    assert r.k == 0
    assert any("ncctg-lung-women: the reconstructed curve" in w and "before 36 months" in w
               for w in r.warnings)


def test_pool_command_table_json_and_csv(folder, capsys):
    code, out, err = run(capsys, "pool", folder, "--endpoint", "OS", "--no-group")
    assert code == 0, err
    assert "NCCTG lung, women ¶" in out and "curve" in out
    assert "  ¶ NCCTG lung, women: read from the reconstructed curve (Kaplan-Meier curve" in out
    code, out, _ = run(capsys, "pool", folder, "--endpoint", "OS", "--no-group",
                       "--format", "json")
    studies = {s["id"]: s for s in json.loads(out)["analyses"][0]["studies"]}
    assert studies["ncctg-lung-women"]["reconstructed"] is True
    assert studies["ncctg-lung-men"]["reconstructed"] is False
    code, out, _ = run(capsys, "pool", folder, "--endpoint", "OS", "--no-group",
                       "--prefer-curves", "--format", "json")
    studies = {s["id"]: s for s in json.loads(out)["analyses"][0]["studies"]}
    assert studies["ncctg-lung-men"]["reconstructed"] is True
    code, out, _ = run(capsys, "pool", folder, "--endpoint", "OS", "--format", "csv")
    assert out.splitlines()[0].endswith(",reason,reconstructed")


def test_forest_footnote_mark(folder):
    from metaview.render.forest import MARK_RECONSTRUCTED, forest_plot

    studies = load_studies([folder])
    results = analyse(studies, AnalysisOptions.create(endpoints=["OS"], time_months=12))
    fig = forest_plot(results, studies=studies)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.endswith(MARK_RECONSTRUCTED) for t in texts)
    joined = " ".join(texts)
    assert f"{MARK_RECONSTRUCTED} NCCTG lung, women (OS): read from the reconstructed curve" \
        in joined


def test_report_has_the_survival_curves_section_and_provenance(folder):
    import csv
    import io

    from metaview.report import build_report, report_files

    studies = load_studies([folder])
    report = build_report(studies, AnalysisOptions.create(endpoints=["OS"]))
    files = report_files(report)
    md = files["report.md"].decode("utf-8")
    assert "## Survival curves" in md and "(km-curves.png)" in md
    assert "| Study | Endpoint | Time | Published at risk | Reconstructed at risk |" in md
    assert "| NCCTG lung, women | OS | 200 days | 66 | 66 | +0 |" in md
    assert files["km-curves.png"].startswith(b"\x89PNG")
    rows = list(csv.DictReader(io.StringIO(files["provenance.csv"].decode("utf-8"))))
    (row,) = [r for r in rows if r["id"] == "ncctg-lung-women" and r["time_months"] == "12"]
    assert row["source"].startswith("read from the reconstructed curve (")
    assert row["used_in"].startswith("OS 12 mo")
    assert "Guyot 2012" in row["derived"]
