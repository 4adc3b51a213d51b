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


@pytest.mark.parametrize("opts", [
    {}, {"scale": "raw"}, pytest.param({"model": "glmm"}, marks=pytest.mark.slow),
    {"model": "common"}, {"group_by": None},
    {"model": "bayes"}, {"model": "bayes", "tau_prior": "half-cauchy:0.5"},
    {"time_months": 24}, {"leave_one_out": True}, {"prefer_curves": True},
], ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "defaults")
def test_every_engine_warning_has_a_code(studies, opts):
    results = analyse(studies, AnalysisOptions.create(**opts))
    warnings = [w for r in results for w in r.warnings]
    assert warnings
    plain = [w for w in warnings if code_of(w) is None]
    assert not plain, plain


def test_listing_notices_name_their_studies():
    for make, lead in [
        (lambda ids: notices.approximate_se(ids, landmark=True),
         "standard error approximated from the estimate and the number of patients (binomial, "
         "ignoring censoring: too narrow when follow-up is short) for"),
        (lambda ids: notices.continuity_correction("logit", ids),
         "continuity correction (1/2 added to events and non-events) applied on the logit "
         "scale for"),
        (notices.derived, "derived, not stated by the source (see each study's 'derived')"),
        (notices.bayes_pseudo_counts, None), (notices.glmm_pseudo_counts, None),
        (notices.reconstructed, None),
    ]:
        w = make(["a-1", "b"])
        assert w.code in notices.LISTING
        assert w.study_ids == ("a-1", "b")
        assert w == f"{w.detail}: a-1, b"
        if lead is not None:
            assert w.detail == lead


def test_compare_bayes_keeps_a_comparison_whose_posterior_sd_is_infinite(studies):
    from metaview.engine.analysis import compare

    found = compare(studies, "cong2024", AnalysisOptions.create(
        model="bayes", tau_prior="half-cauchy:0.5"))
    by = {(c.endpoint, c.time_months): c for c in found}
    # k = 2 and k = 1 on the literature side: E[tau^2 | data] is infinite under a half-Cauchy
    for key in [("OS", 12.0), ("PFS", 12.0)]:
        c = by[key]
        assert c.pooled.se is None
        assert c.z is None and c.pvalue is None and c.diff_ci_low is None
        assert 0.0 < c.prob_index_above_mean < 1.0
        assert any(code_of(w) is NoticeCode.INFINITE_POSTERIOR_SD for w in c.warnings)
        assert c.to_dict()["z"] is None
        with pytest.raises(ValueError, match="no z test"):
            c.tested()
