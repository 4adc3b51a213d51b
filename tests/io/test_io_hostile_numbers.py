"""Hostile numbers in study files: each file in ``hostile/num-*.yaml`` is rejected with exit
code 2 and one line naming the key (``error: <file>:<line>: <key>: <what> (<how to fix>)``);
the rules beside them are tested with files built here.

Rules: ``patients``, ``count``, ``total`` and ``at_risk`` are at most 10,000,000, ``year``
1900-2100, ``time_months`` at most 1200 and a numeric characteristic at most 10^12 in
magnitude; an outcome's ``total`` (or ``at_risk``) above ``patients`` needs a ``note`` or
``derived`` saying which cohort it counts; a characteristic's total never exceeds
``patients``; an interval has ``low < high``; landmarks less than 1e-6 months apart are one
landmark (``metaview.model.same_landmark``), in the loader and in the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest
import yaml

from metaview.io import load_studies, study_schema
from metaview.model import LANDMARK_TOLERANCE, same_landmark

HOSTILE = Path(__file__).resolve().parent / "hostile"


@dataclass(frozen=True)
class Case:
    name: str  # hostile/<name>.yaml
    line: int
    key: str
    fragments: tuple[str, ...]
    schema: bool  # the JSON Schema rejects it too (False: only the loader can)


CASES = [
    Case("num-patients-20-digits", 7, "patients",
         ("100000000000000000000 is greater than 10000000", "at most 10000000"), True),
    Case("num-count-20-digits", 16, "outcomes[2].count",
         ("12345678901234567890123 is greater than 10000000",), True),
    Case("num-year-20-digits", 5, "year", ("is out of range", "between 1900 and 2100"), True),
    Case("num-time-months-huge", 10, "outcomes[1].time_months",
         ("is greater than 1200", "at most 1200"), True),
    Case("num-time-months-over-100-years", 10, "outcomes[1].time_months",
         ("1201 is greater than 1200",), True),
    Case("num-characteristic-huge", 9, "characteristics.age.median",
         ("(31 characters) is out of range", "1000000000000"), True),
    Case("num-characteristic-count-huge", 9, "characteristics.male.count",
         ("10000000000000000000 is greater than 10000000",), True),
    # yaml.safe_load itself cannot read it (int() stops at 4,300 digits): no schema check
    Case("num-int-5000-digits", 7, "patients",
         ("(5000 characters) is greater than 10000000",), False),
    Case("num-total-over-patients", 17, "outcomes[2].total",
         ("400 is greater than patients 40", "note or derived"), False),
    Case("num-at-risk-over-patients", 22, "outcomes[3].at_risk",
         ("41 is greater than patients 40",), False),
    Case("num-characteristic-over-patients", 9, "characteristics.male.total",
         ("50 is greater than patients 40",), False),
    Case("num-ci-zero-width", 13, "outcomes[1].ci",
         ("[45%, 45%] has zero width", "low < high"),
         False),
    Case("num-landmark-near-duplicate", 19, "outcomes[3]",
         ("OS at 12 months is already given in outcomes[1] at line 9",
          "within 1e-06 months are one landmark"), False),
]


def test_every_hostile_number_file_has_a_case():
    assert {p.stem for p in HOSTILE.glob("num-*.yaml")} == {c.name for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_number_is_one_clear_line(case, cli, parse_errors):
    path = HOSTILE / f"{case.name}.yaml"
    before = path.read_bytes()
    code, out, err = cli("validate", path)
    assert code == 2 and out == ""
    problems = parse_errors(err)
    assert all(f == str(path) and 1 <= n <= before.count(b"\n") + 1 for f, n, _ in problems)
    wanted = [m for _f, n, m in problems if n == case.line and m.startswith(f"{case.key}: ")]
    assert any(all(frag in m for frag in case.fragments) for m in wanted), err
    assert all(len(m) < 300 for _f, _n, m in problems)
    assert path.read_bytes() == before


@pytest.mark.parametrize("case", [c for c in CASES if c.schema], ids=lambda c: c.name)
def test_json_schema_rejects_the_out_of_range_numbers(case):
    document = yaml.safe_load((HOSTILE / f"{case.name}.yaml").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(study_schema())
    assert list(validator.iter_errors(document))


def _study(tmp_path: Path, name: str, outcomes: str, *, patients: int = 40,
           characteristics: str = "") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f'id: {name}\nlabel: Test 2023\ncitation: "Test A. J Test. 2023;1:1."\nyear: 2023\n'
        f"arm: allo-HSCT after CAR-T failure\npatients: {patients}\n{characteristics}"
        f"outcomes:\n{outcomes}", "utf-8")
    return path


def test_bounds_themselves_are_accepted(tmp_path):
    path = _study(tmp_path, "edge", "  - endpoint: ORR\n    count: 10000000\n    total: 10000000\n"
                  "    source: x\n  - endpoint: OS\n    time_months: 1200\n    estimate: 0.1\n"
                  "    total: 10000000\n    source: x\n", patients=10_000_000,
                  characteristics="characteristics:\n  age: {median: 1000000000000}\n")
    (study,) = load_studies([path])
    assert study.patients == 10_000_000 and study.outcomes[1].time_months == 1200


def test_a_larger_denominator_is_accepted_when_the_entry_says_why(tmp_path):
    """As chow2019's ALLO_HSCT: 5 of the 61-patient cohort the 5 patients come from."""
    for field in ("note", "derived"):
        path = _study(tmp_path, f"wider-{field}", "  - endpoint: ALLO_HSCT\n    count: 5\n"
                      f"    total: 61\n    source: x\n    {field}: the 61-patient source "
                      "cohort\n", patients=5)
        (study,) = load_studies([path])
        assert study.outcomes[0].total == 61


def test_landmarks_further_apart_than_the_tolerance_are_two(tmp_path):
    apart = 12 + 10 * LANDMARK_TOLERANCE
    path = _study(tmp_path, "two", "".join(
        f"  - endpoint: OS\n    time_months: {t!r}\n    estimate: 0.5\n    total: 40\n"
        "    source: x\n" for t in (12, apart)))
    (study,) = load_studies([path])
    assert len(study.outcomes) == 2
    assert same_landmark(12, 12 + LANDMARK_TOLERANCE / 2) and not same_landmark(12, apart)


def test_the_analysis_uses_the_same_landmark_rule(tmp_path):
    from metaview.engine.analysis import AnalysisOptions, analyse

    near = 12 + LANDMARK_TOLERANCE / 2
    paths = [_study(tmp_path, f"s{i}", f"  - endpoint: OS\n    time_months: {t!r}\n"
                    f"    count: {x}\n    total: 40\n    source: x\n")
             for i, (t, x) in enumerate([(12, 20), (near, 25), (12 + 1e-5, 30)])]
    (result,) = analyse(load_studies(paths), AnalysisOptions.create(endpoints=["OS"],
                                                                    time_months=12))
    assert sorted(s.id for s in result.studies) == ["s0", "s1"]
    assert [e.id for e in result.excluded] == ["s2"]
