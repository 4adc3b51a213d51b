"""Notices as data: exclusions and warnings carry a code and study ids; the words are unchanged."""

import copy
import dataclasses
import json
from pathlib import Path

import pytest

from metaview import notices
from metaview.engine.analysis import AnalysisOptions, analyse
from metaview.io import load_studies
from metaview.notices import MISSING, Notice, NoticeCode, code_of

STUDIES = Path(__file__).resolve().parent.parent / "studies"


@pytest.fixture(scope="module")
def studies():
    return load_studies([STUDIES])


def test_every_exclusion_has_a_code_and_its_study(studies):
    ids = [s.id for s in studies]
    options = AnalysisOptions.create(time_months=24, group_by=None, exclude=[ids[0]])
    results = analyse(studies, options)
    seen = set()
    for r in results:
        for e in r.excluded:
            assert isinstance(e.code, NoticeCode), e
            assert e.reason.study_ids == (e.id,)
            seen.add(e.code)
            if e.code is NoticeCode.EXCLUDED_BY_USER:
                assert e.reason == "excluded with --exclude" and e.id == ids[0]
            elif e.code is NoticeCode.NOT_REPORTED:
                assert e.reason == f"{r.endpoint} not reported"
            elif e.code is NoticeCode.OTHER_LANDMARK:
                assert e.reason.endswith(f"not reported ({e.detail})")
                assert e.detail.startswith("reports ")
            elif e.code is NoticeCode.NO_STANDARD_ERROR:
                assert e.reason.endswith(f" but {e.detail}")
            assert e.to_dict()["code"] == e.code.value
    assert {NoticeCode.EXCLUDED_BY_USER, NoticeCode.NOT_REPORTED} <= seen
    assert NoticeCode.OTHER_LANDMARK in seen  # some study reports OS at 12 months only


def test_warning_codes_survive_copies_and_json():
    w = notices.interval_outside_range("raw")
    assert w == "on the raw scale the pooled interval reaches outside [0, 1]; it is reported as " \
                "computed"
    assert code_of(w) is NoticeCode.INTERVAL_OUTSIDE_RANGE
    assert code_of(copy.deepcopy(w)) is NoticeCode.INTERVAL_OUTSIDE_RANGE
    assert code_of("plain text") is None
    g = notices.glmm_needs_counts(["a", "b"])
    assert g.study_ids == ("a", "b") and g.startswith("the GLMM needs counts; a, b report(s)")
    assert json.loads(json.dumps([g])) == [str(g)]
    assert list(dict.fromkeys([g, notices.glmm_needs_counts(["a", "b"])])) == [g]


def test_raw_scale_warning_is_coded_in_results(studies):
    results = analyse(studies, AnalysisOptions.create(scale="raw", group_by=None))
    coded = [w for r in results for w in r.warnings if isinstance(w, Notice) and w.code]
    assert all(code_of(w) in set(NoticeCode) for w in coded)
    r = dataclasses.replace(results[0])
    assert [code_of(w) for w in r.warnings] == [code_of(w) for w in results[0].warnings]


def test_missing_codes():
    assert MISSING == {NoticeCode.NOT_REPORTED, NoticeCode.OTHER_LANDMARK}
