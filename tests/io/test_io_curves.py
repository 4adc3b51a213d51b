"""``curves:`` in a study file and the digitiser's points file it names."""

from __future__ import annotations

import math
from pathlib import Path

import jsonschema
import pytest
import yaml

from metaview.errors import StudyFileError
from metaview.io import load_study, study_schema

STUDY = """\
id: demo
label: Demo 2024
citation: Demo A. A cohort. J. 2024;1:1-2.
year: 2024
arm: allo-HSCT
patients: 40
outcomes: []
curves:
  - endpoint: OS
    time_unit: months
    time_origin: allo-HSCT
    points: {points}
    at_risk:
      times: {times}
      n: {n}
{extra}    source: "Figure 2A"
"""

POINTS = "time,survival\n0,100\n2,95\n4,90\n6,80\n9,70\n12,60\n18,50\n24,45\n"


def write(tmp_path: Path, points: str | None = POINTS, *, name: str = "demo-os.csv",
          times: str = "[0, 6, 12, 18, 24]", n: str = "[40, 30, 22, 15, 8]",
          extra: str = "") -> Path:
    if points is not None:
        (tmp_path / name).write_text(points, "utf-8")
    study = tmp_path / "demo.yaml"
    study.write_text(STUDY.format(points=name, times=times, n=n, extra=extra), "utf-8")
    return study


def problems(path: Path) -> list[str]:
    with pytest.raises(StudyFileError) as info:
        load_study(path)
    return [str(p) for p in info.value.problems]


def test_a_valid_curve_loads(tmp_path):
    study = load_study(write(tmp_path, extra="    events: 30\n"))
    (curve,) = study.curves
    assert curve.endpoint == "OS" and curve.time_unit == "months"
    assert curve.survival_unit == "percent"
    assert curve.times == (0, 2, 4, 6, 9, 12, 18, 24)
    assert curve.survival[:3] == (1.0, 0.95, 0.9)
    assert curve.at_risk_times == (0, 6, 12, 18, 24)
    assert curve.at_risk_n == (40, 30, 22, 15, 8)
    assert curve.events == 30 and curve.notes == ()
    assert curve.points_path == str(tmp_path / "demo-os.csv")
    assert study.curves_for("OS") == [curve] and study.curves_for("PFS") == []


def test_the_study_with_a_curve_satisfies_the_json_schema(tmp_path):
    document = yaml.safe_load(write(tmp_path).read_text("utf-8"))
    errors = list(jsonschema.Draft202012Validator(study_schema()).iter_errors(document))
    assert errors == []
    document["curves"][0]["colour"] = "red"
    assert list(jsonschema.Draft202012Validator(study_schema()).iter_errors(document))


@pytest.mark.parametrize("text", [
    "0;1\n6;0,8\n12;0,6\n24;0,45\n",           # semicolons and decimal commas
    "0,1\n6,0.8\n12,0.6\n24,0.45\n",           # no header, fractions
    "# exported\n\nt;S\n0;1.0\n6;0.8\n12;0.6\n24;0.45\n",
])
def test_delimiters_headers_and_units(tmp_path, text):
    curve = load_study(write(tmp_path, text)).curves[0]
    assert curve.survival_unit == "fraction"
    assert curve.times == (0, 6, 12, 24)
    assert curve.survival == (1.0, 0.8, 0.6, 0.45)


def test_noise_is_cleaned_and_counted(tmp_path):
    text = "0,100.6\n2,95\n6,80\n4,90\n9,80.5\n12,60\n18,50\n24,-0.4\n"
    curve = load_study(write(tmp_path, text)).curves[0]
    assert curve.times == (0, 2, 4, 6, 9, 12, 18, 24)
    assert curve.survival == (1.0, 0.95, 0.9, 0.8, 0.8, 0.6, 0.5, 0.0)
    assert curve.notes == (
        "demo-os.csv: 2 reading(s) just outside 0-100% clipped",
        "demo-os.csv: 1 point(s) out of time order sorted",
        ("demo-os.csv: 1 reading(s) up to 1 percentage point above an earlier one lowered to "
         "it (digitising noise)"),
    )


def test_a_real_rise_is_an_error_at_the_point_line(tmp_path):
    text = "time,survival\n0,100\n6,80\n12,85\n24,45\n"
    path = write(tmp_path, text)
    assert problems(path) == [
        (f"{tmp_path / 'demo-os.csv'}:4: the curve rises from 80% to 85% (more than 1 "
         "percentage point above an earlier reading is not digitising noise: check the point "
         "and the time order)")]


@pytest.mark.parametrize(("text", "line", "message"), [
    ("0,100\n6,80\n12,x\n", 3, '"x" is not a number'),
    ("0,100\n6,80,3\n", 2, "expected two values time,survival, found 3"),
    ("0,100\n6,103\n", 2, "survival 103% is outside 0-100% by more than 1 percentage point"),
    ("0,1\n6,-0.05\n", 2, "survival -0.05 is outside [0, 1] by more than 1 percentage point"),
    ("0,1\n-3,0.9\n24,0.5\n", 2, "time -3 is negative"),
    ("5,1\n24,0.5\n", 1, "the curve starts at time 5, not near 0"),
    ("0,1\n3,0.5\n", 2, "the curve ends at time 3, before the first table time 6"),
    ("0,1\n", 1, "1 point(s): a curve needs at least two"),
])
def test_points_problems_name_the_points_file_line(tmp_path, text, line, message):
    (found,) = problems(write(tmp_path, text))
    assert found.startswith(f"{tmp_path / 'demo-os.csv'}:{line}: {message}"), found


@pytest.mark.parametrize(("times", "n", "message"), [
    ("[0, 6, 6, 24]", "[40, 30, 22, 8]", "curves[1].at_risk.times: must increase: 6 follows 6"),
    ("[0, 6, 12, 24]", "[40, 30, 32, 8]", "curves[1].at_risk.n: must not increase: 32 at time 12"),
    ("[0, 6, 12]", "[41, 30, 22]", ("curves[1].at_risk.n: 41 at risk at time 0 is more than "
                                    "the study's 40 patients")),
    ("[0, 6, 12]", "[40, 30]", "curves[1].at_risk.n: has 2 numbers but times has 3"),
    ("[2, 6, 12]", "[40, 30, 22]", "curves[1].at_risk.times: starts at 2, not 0"),
    ("[0, -6]", "[40, 30]", "curves[1].at_risk.times[2]: -6 is less than 0"),
    ("[0, 6]", "[40, 29.5]", "curves[1].at_risk.n[2]: 29.5 is not a whole number"),
    ("0", "[40]", "curves[1].at_risk.times: must be a list, found a value"),
])
def test_table_problems_name_the_study_file_line(tmp_path, times, n, message):
    path = write(tmp_path, times=times, n=n)
    (found,) = problems(path)
    assert found.startswith(f"{path}:"), found
    assert message in found, found


def test_entry_problems(tmp_path):
    path = write(tmp_path, extra="    colour: red\n")
    (found,) = problems(path)
    assert found == f"{path}:16: curves[1].colour: unknown key (allowed here: endpoint, " \
        "time_unit, time_origin, points, at_risk, events, source, note)"
    path = write(tmp_path, extra="    events: 41\n")
    (found,) = problems(path)
    assert found == f"{path}:16: curves[1].events: 41 is greater than the 40 patients at " \
        "risk at time 0 (events counts patients of the curve)"
    text = path.read_text("utf-8").replace("time_unit: months", "time_unit: month")
    path.write_text(text, "utf-8")
    assert any("did you mean 'months'?" in p for p in problems(path))


def test_two_curves_of_one_endpoint(tmp_path):
    path = write(tmp_path)
    text = path.read_text("utf-8")
    entry = text[text.index("  - endpoint: OS"):]
    path.write_text(text + entry, "utf-8")
    (found,) = problems(path)
    assert "curves[2]: a curve of OS is already given in curves[1] at line 9" in found


@pytest.mark.parametrize("where", ["/etc/passwd", "../outside.csv", "sub/../../outside.csv"])
def test_points_outside_the_study_folder_are_rejected(tmp_path, where):
    inner = tmp_path / "inner"
    inner.mkdir()
    (tmp_path / "outside.csv").write_text(POINTS, "utf-8")
    path = write(inner, None, name=where)
    (found,) = problems(path)
    assert "is an absolute path" in found or "leads outside the study file's folder" in found


def test_a_link_leading_outside_is_rejected_and_a_sub_folder_is_fine(tmp_path):
    inner = tmp_path / "inner"
    (inner / "digitised").mkdir(parents=True)
    (tmp_path / "outside.csv").write_text(POINTS, "utf-8")
    (inner / "link.csv").symlink_to(tmp_path / "outside.csv")
    (found,) = problems(write(inner, None, name="link.csv"))
    assert "leads outside the study file's folder" in found
    (inner / "digitised" / "os.csv").write_text(POINTS, "utf-8")
    assert load_study(write(inner, None, name="digitised/os.csv")).curves


def test_a_missing_points_file(tmp_path):
    path = write(tmp_path, None)
    (found,) = problems(path)
    assert found.startswith(f"{path}:12: curves[1].points: \"demo-os.csv\": no such file")


def test_validate_command_reports_points_problems(tmp_path, cli, parse_errors):
    write(tmp_path, "0,100\n6,80\n12,85\n24,45\n")
    code, out, err = cli("validate", tmp_path)
    assert code == 2 and out == ""
    (entry,) = parse_errors(err)
    assert entry[:2] == (str(tmp_path / "demo-os.csv"), 3)


def test_curve_months_per_unit(tmp_path):
    path = write(tmp_path)
    path.write_text(path.read_text("utf-8").replace("time_unit: months", "time_unit: days"))
    curve = load_study(path).curves[0]
    assert math.isclose(curve.months_per_unit, 12 / 365.25, rel_tol=1e-12)
