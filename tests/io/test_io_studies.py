"""The six study files: they load, validate, and say exactly what cited-series.md says."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from scipy.stats import beta

from metaview.io import load_studies, load_study, outcomes_frame
from metaview.model import Outcome, Study

IDS = {"cong2024", "zurko2023", "fried2023", "zuma1", "juliet", "chow2019"}
TIME_TO_EVENT = {"OS", "PFS", "GRFS", "NRM", "RELAPSE", "RFS"}


@pytest.fixture(scope="module")
def studies() -> dict[str, Study]:
    folder = Path(__file__).resolve().parents[2] / "studies"
    return {s.id: s for s in load_studies([folder])}


def only(study: Study, endpoint: str, time: float | None) -> Outcome:
    found = study.outcomes_for(endpoint, time)
    assert len(found) == 1, (study.id, endpoint, time)
    return found[0]


def test_validate_the_six(cli, studies_dir):
    code, out, err = cli("validate", f"{studies_dir}/")
    assert (code, err) == (0, "")
    assert out == f"6 study files valid ({studies_dir}/)\n"


def test_ids_and_the_one_index(studies):
    assert set(studies) == IDS
    assert [s.id for s in studies.values() if s.index] == ["cong2024"]


def test_every_time_to_event_outcome_has_an_origin_or_says_why_not(studies):
    # the status of each source and each derivation: test_study_provenance.py
    for study in studies.values():
        for o in study.outcomes:
            if o.endpoint in TIME_TO_EVENT:
                # an origin the source does not state is left out, and the note says so
                assert o.time_origin or "time origin is not stated" in (o.note or ""), (
                    study.id, o.endpoint)


def test_outcome_lines_point_at_the_entries(studies):
    for study in studies.values():
        lines = Path(study.path).read_text("utf-8").splitlines()
        for o in study.outcomes:
            assert lines[o.line - 1].strip() == f"- endpoint: {o.endpoint}"


def test_cong2024(studies):
    s = studies["cong2024"]
    assert (s.patients, s.arm, s.index) == (10, "allo-HSCT after CAR-T failure", True)
    os12 = only(s, "OS", 12)
    assert (os12.count, os12.estimate, os12.total, os12.time_origin) == (
        None, 0.70, 10, "allo-HSCT")
    assert "70%" in os12.source and os12.derived is None
    pfs12 = only(s, "PFS", 12)
    assert (pfs12.count, pfs12.estimate, pfs12.total) == (None, 0.40, 10)
    assert "40%" in pfs12.source and pfs12.derived is None
    assert (only(s, "CR", None).count, only(s, "ORR", None).count) == (5, 6)
    nrm = only(s, "NRM", None)
    assert (nrm.count, nrm.total, nrm.time_months) == (2, 10, None)
    assert "last follow-up" in nrm.note
    assert s.characteristics["age_years"] == {"median": 43.5, "min": 27, "max": 52}
    assert s.characteristics["male"] == {"count": 5, "total": 10}
    assert s.characteristics["cd34_dose_1e6_per_kg"]["median"] == 3.04


def test_zurko2023(studies):
    s = studies["zurko2023"]
    assert (s.patients, s.doi, s.pmid) == (88, "10.3324/haematol.2022.281242", "35833303")
    expected = {"OS": 0.59, "PFS": 0.45, "GRFS": 0.39, "NRM": 0.22, "RELAPSE": 0.33}
    for endpoint, value in expected.items():
        o = only(s, endpoint, 12)
        assert math.isclose(o.estimate, value)
        assert (o.total, o.ci, o.count, o.time_origin) == (88, None, None, "allo-HSCT")


def test_fried2023_reports_two_years_only(studies):
    s = studies["fried2023"]
    assert s.patients == 39
    assert all(o.time_months == 24 for o in s.outcomes)
    assert s.outcomes_for("OS", 12) == []
    os24, pfs24 = only(s, "OS", 24), only(s, "PFS", 24)
    assert (os24.estimate, os24.ci, os24.ci_method) == (0.45, (0.31, 0.66), "log")
    assert (pfs24.estimate, pfs24.ci, pfs24.ci_method) == (0.31, (0.19, 0.50), "log")
    assert os24.derived and pfs24.derived and os24.total is None
    # the derivation holds: symmetric on the log scale
    for est, (low, high) in ((0.45, (0.31, 0.66)), (0.31, (0.19, 0.50))):
        assert math.isclose(math.log(est) - math.log(low), math.log(high) - math.log(est),
                            abs_tol=0.02)


def test_zuma1(studies):
    s = studies["zuma1"]
    assert (s.patients, s.arm, s.doi) == (101, "CAR-T pivotal trial", "10.1056/NEJMoa1707447")
    os12 = only(s, "OS", 12)
    assert (os12.count, os12.total, os12.time_origin) == (61, 101, "CAR-T infusion")
    assert "40 deaths" in os12.source and os12.derived
    os24 = only(s, "OS", 24)
    assert (os24.estimate, os24.total) == (0.54, 101)
    assert only(s, "OS", 60).estimate_text == "42.6%"
    assert (only(s, "ORR", None).estimate_text, only(s, "ORR", None).total) == ("83%", 101)
    assert (only(s, "CR", None).estimate_text, only(s, "CR", None).total) == ("58%", 101)
    allo = only(s, "ALLO_HSCT", None)
    assert (allo.count, allo.total) == (2, 101) and allo.derived


def test_juliet(studies):
    s = studies["juliet"]
    assert (s.patients, s.arm) == (93, "CAR-T pivotal trial")
    orr = only(s, "ORR", None)
    assert (orr.estimate, orr.ci, orr.ci_method, orr.total) == (
        0.52, (0.41, 0.62), "unknown", 93)
    # the exact interval for 48/93 rounds to the printed one (so does Wald's: the method
    # stays unknown; see test_study_provenance.py)
    low, high = beta.ppf(0.025, 48, 46), beta.ppf(0.975, 49, 45)
    assert (round(100 * low), round(100 * high)) == (41, 62)
    assert (only(s, "CR", None).estimate, only(s, "CR", None).total) == (0.40, 93)
    rfs = only(s, "RFS", 12)
    assert (rfs.estimate, rfs.total, rfs.time_origin) == (0.65, None, "initial response")
    allo = only(s, "ALLO_HSCT", None)
    assert (allo.count, allo.total) == (6, 93)
    assert "not stated" in allo.derived


def test_chow2019(studies):
    s = studies["chow2019"]
    assert (s.patients, s.arm) == (5, "allo-HSCT after CAR-T failure")
    os12 = only(s, "OS", 12)
    assert (os12.count, os12.total, os12.time_origin) == (2, 5, "progression after CAR-T")
    allo = only(s, "ALLO_HSCT", None)
    assert (allo.count, allo.total) == (5, 61)  # total > patients is allowed
    assert s.characteristics["progression_cohort_patients"] == 61


def test_load_study_one_file(studies_dir):
    study = load_study(studies_dir / "fried2023.yaml")
    assert study.id == "fried2023" and study.path.endswith("fried2023.yaml")


def test_load_study_refuses_a_folder(studies_dir):
    from metaview.errors import StudyFileError

    with pytest.raises(StudyFileError, match="is a folder"):
        load_study(studies_dir)


def test_outcomes_frame(studies):
    frame = outcomes_frame(studies.values())
    assert len(frame) == sum(len(s.outcomes) for s in studies.values())
    for column in ("id", "label", "arm", "is_index", "endpoint", "time_months", "count",
                   "total", "estimate", "estimate_text", "ci_low", "ci_high", "ci_method",
                   "source", "derived", "proportion", "line"):
        assert column in frame.columns
    row = frame[(frame["id"] == "cong2024") & (frame["endpoint"] == "OS")].iloc[0]
    assert (row["proportion"], row["estimate_text"], row["total"], bool(row["is_index"])) == (
        0.7, "70%", 10, True)
    assert row["count"] is pd.NA
    fried = frame[frame["id"] == "fried2023"]
    assert list(fried["ci_low"]) == [0.31, 0.19]
    assert outcomes_frame([]).empty


def test_list_table(cli, studies_dir):
    code, out, err = cli("list", studies_dir)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["id", "label", "year", "arm", "patients", "index", "reports"]
    assert len(lines) == 7
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["cong2024"].rstrip().endswith("OS@12, PFS@12, CR, ORR, NRM")
    assert " * " in rows["cong2024"] and " * " not in rows["zurko2023"]
    assert rows["fried2023"].rstrip().endswith("OS@24, PFS@24")
    assert rows["zuma1"].rstrip().endswith("OS@12, OS@24, OS@60, ORR, CR, ALLO_HSCT")
    # aligned: every row has the arm column at the same offset
    offset = lines[0].index("arm")
    assert all(line[offset:].startswith(("allo-HSCT", "CAR-T")) for line in lines[1:])


def test_list_json_and_csv(cli, studies_dir):
    code, out, _err = cli("list", studies_dir, "--format", "json")
    assert code == 0
    data = json.loads(out)
    by_id = {row["id"]: row for row in data["studies"]}
    assert by_id["zurko2023"]["reports"] == ["OS@12", "PFS@12", "GRFS@12", "NRM@12",
                                             "RELAPSE@12"]
    assert by_id["cong2024"]["index"] is True and by_id["chow2019"]["patients"] == 5
    code, out, _err = cli("list", studies_dir, "--format", "CSV")
    assert code == 0
    assert out.splitlines()[0] == "id,label,year,arm,patients,index,reports"
    assert "fried2023,Fried 2023,2023,allo-HSCT after CAR-T failure,39,false,OS@24; PFS@24" in out


def test_list_bad_format(cli, studies_dir, parse_errors):
    code, out, err = cli("list", studies_dir, "--format", "xml")
    assert code == 2 and out == ""
    assert "table, json, csv" in err
    parse_errors(err)


def test_list_invalid_study(cli, broken_dir, parse_errors):
    code, out, err = cli("list", broken_dir / "percent-confusion.yaml")
    assert code == 2 and out == ""
    assert "bare number > 1" in err
