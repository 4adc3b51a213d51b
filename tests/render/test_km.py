"""`metaview km`: the worked example, the outputs, the files it writes and the figure."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from metaview.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "km"
DAYS_PER_MONTH = 365.25 / 12


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def example(tmp_path) -> Path:
    folder = tmp_path / "km"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return folder


def test_example_matches_the_true_kaplan_meier_of_the_data(capsys):
    from lifelines import KaplanMeierFitter
    from lifelines.datasets import load_lung

    code, out, err = run(capsys, "km", EXAMPLE, "--time", 6, "--time", 12, "--format", "json")
    assert code == 0, err
    curves = {c["study"]: c for c in json.loads(out)["curves"]}
    lung = load_lung()
    for sex, study in ((1, "ncctg-lung-men"), (2, "ncctg-lung-women")):
        group = lung[lung["sex"] == sex]
        kmf = KaplanMeierFitter().fit(group["time"], group["status"])
        got = curves[study]
        assert got["n"] == len(group)
        for landmark in got["landmarks"]:
            truth = float(kmf.survival_function_at_times(landmark["time_months"]
                                                         * DAYS_PER_MONTH).iloc[0])
            assert abs(landmark["estimate"] - truth) <= 0.03, (study, landmark, truth)
        assert abs(got["median"] - kmf.median_survival_time_) <= 0.1 * kmf.median_survival_time_
        for check in got["at_risk_check"]:
            assert abs(check["published"] - check["reconstructed"]) <= max(1, 0.03 * got["n"])


def test_json_keys(capsys):
    code, out, _ = run(capsys, "km", EXAMPLE / "ncctg-lung-men.yaml", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert set(document) == {"metaview_version", "curves"}
    (curve,) = document["curves"]
    assert {"study", "endpoint", "time_unit", "n", "events", "median", "median_ci_low",
            "median_ci_high", "landmarks", "at_risk_check", "notes"} <= set(curve)
    assert curve["time_unit"] == "days" and curve["survival_unit"] == "percent"
    (landmark,) = curve["landmarks"]
    assert set(landmark) == {"time_months", "estimate", "ci_low", "ci_high", "at_risk"}
    assert landmark["time_months"] == 12
    assert [c["time"] for c in curve["at_risk_check"]] == [0, 200, 400, 600, 800, 1000]
    assert [c["published"] for c in curve["at_risk_check"]] == [138, 78, 31, 13, 6, 2]
    assert curve["notes"][0] == "ncctg-lung-men-os.csv: 180 points, survival read as percent"
    assert curve["median_ci_low"] < curve["median"] < curve["median_ci_high"]
    assert landmark["ci_low"] < landmark["estimate"] < landmark["ci_high"]


def test_table_shows_the_fidelity_table_and_the_survival_unit(capsys):
    code, out, _ = run(capsys, "km", EXAMPLE, "--time", 12)
    assert code == 0
    assert "NCCTG lung, women (ncctg-lung-women) OS, from enrolment:" in out
    assert "numbers at risk (days): time, published, reconstructed" in out
    assert "note: ncctg-lung-women-os.csv: 140 points, survival read as fractions" in out
    assert "12 months" in out and "median" in out
    assert "outside the fidelity bound" not in out


def test_csv_one_row_per_curve_and_landmark(capsys):
    code, out, _ = run(capsys, "km", EXAMPLE, "--time", 6, "--time", 12, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["study"], r["time_months"]) for r in rows] == [
        ("ncctg-lung-men", "6"), ("ncctg-lung-men", "12"),
        ("ncctg-lung-women", "6"), ("ncctg-lung-women", "12")]
    assert all(0 < float(r["estimate"]) < 1 for r in rows)


def test_ipd_dir_writes_and_never_overwrites(capsys, tmp_path):
    folder = tmp_path / "ipd"
    code, _, err = run(capsys, "km", EXAMPLE, "--ipd-dir", folder)
    assert code == 0, err
    men = folder / "ncctg-lung-men-os.csv"
    lines = men.read_text("utf-8").splitlines()
    assert lines[0] == "time,event" and len(lines) == 139
    assert sum(int(x.split(",")[1]) for x in lines[1:]) > 100
    before = men.read_bytes()
    (folder / "ncctg-lung-women-os.csv").unlink()
    code, _, err = run(capsys, "km", EXAMPLE, "--ipd-dir", folder)
    assert code == 2
    assert err.startswith(f"error: --ipd-dir: {men} exists; metaview never overwrites it")
    assert men.read_bytes() == before
    assert not (folder / "ncctg-lung-women-os.csv").exists()  # nothing written at all


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf"])
def test_figure_formats_and_same_bytes(capsys, tmp_path, suffix):
    first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    for path in (first, second):
        code, _, err = run(capsys, "km", EXAMPLE, "-o", path)
        assert code == 0, err
    assert first.stat().st_size > 1000
    if suffix != ".png":
        assert first.read_bytes() == second.read_bytes()
    code, _, err = run(capsys, "km", EXAMPLE, "-o", first)
    assert code == 2 and "use --force" in err
    assert run(capsys, "km", EXAMPLE, "-o", first, "--force")[0] == 0


def test_figure_draws_given_lines_only(capsys):
    from metaview.commands.km import figure_lines
    from metaview.estimate.reconstruct import analyse_curves
    from metaview.io import load_studies

    results = analyse_curves(load_studies([EXAMPLE]), [12])
    lines, ticks = figure_lines(results)
    assert ticks == [0, 6, 12, 18, 24, 30]
    assert [line.at_risk[0] for line in lines] == [138, 90]
    men = results[0].reconstruction
    assert lines[0].at_risk[2] == int(np.sum(men.time >= 12 * DAYS_PER_MONTH - 1e-12))
    assert len(lines[0].censor_times) == int(np.sum(men.event == 0))


@pytest.mark.parametrize(("argv", "message"), [
    (["--format", "xml"], "--format xml: use one of table, json, csv"),
    (["-o", "x.gif"], "unknown format '.gif'"),
    (["--endpoint", "PFS"], "no digitised curve of PFS in"),
    (["--index", "nobody"], "--index nobody: no study has this id"),
])
def test_usage_errors(capsys, argv, message):
    code, out, err = run(capsys, "km", EXAMPLE, *argv)
    assert code in (1, 2) and out == ""
    assert message in err and "Traceback" not in err


def test_a_study_without_curves(capsys):
    studies = Path(__file__).resolve().parents[2] / "studies"
    code, _, err = run(capsys, "km", studies)
    assert code == 1 and "no digitised curve in" in err


def test_bad_points_file_is_one_line_exit_2(capsys, example):
    points = example / "ncctg-lung-men-os.csv"
    lines = points.read_text("utf-8").splitlines()
    lines[5] = lines[5].split(",")[0] + ",x"
    points.write_text("\n".join(lines) + "\n", "utf-8")
    code, out, err = run(capsys, "km", example)
    assert (code, out) == (2, "")
    assert err == f'error: {points}:6: "x" is not a number (write plain decimal numbers: ' \
        "time and survival)\n"


@pytest.mark.slow
def test_the_example_is_what_its_script_makes(tmp_path):
    import subprocess
    import sys

    shutil.copy(EXAMPLE / "digitise.py", tmp_path / "digitise.py")
    proc = subprocess.run([sys.executable, str(tmp_path / "digitise.py")], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in tmp_path.iterdir() if p.suffix in (".csv", ".yaml"))
    assert made == sorted(p.name for p in EXAMPLE.iterdir() if p.suffix in (".csv", ".yaml"))
    for name in made:
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name
