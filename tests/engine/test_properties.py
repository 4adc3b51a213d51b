"""Property-based checks of the engine on random study sets (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from metaview.engine.analysis import AnalysisOptions, analyse
from metaview.engine.rma import fit_rma
from metaview.model import Outcome, Study

BOUNDED = ["logit", "cloglog", "arcsine", "pft"]


@st.composite
def study_sets(draw: st.DrawFn, min_k: int = 1, max_k: int = 12) -> list[Study]:
    k = draw(st.integers(min_k, max_k))
    studies = []
    for i in range(k):
        n = draw(st.integers(1, 400))
        x = draw(st.integers(0, n))
        studies.append(Study(id=f"s{i}", label=f"S{i}", citation="c", year=2000, arm="A",
                             patients=n, outcomes=(Outcome("ORR", "t", count=x, total=n),)))
    return studies


SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow])


ALL_EVENTS = [Study(id="s0", label="S0", citation="c", year=2000, arm="A", patients=32,
                   outcomes=(Outcome("ORR", "t", count=32, total=32),))]


@SETTINGS
@given(studies=study_sets(), scale=st.sampled_from(BOUNDED),
       ci=st.sampled_from(["z", "hk", "hk-adhoc"]),
       tau2=st.sampled_from(["REML", "DL", "PM", "SJ", "ML", "HS", "HE", "EB"]))
@example(studies=ALL_EVENTS, scale="logit", ci="z", tau2="REML")  # Wilson gave 1 + 2e-16
def test_bounded_scales_give_ordered_proportions(studies: list[Study], scale: str, ci: str,
                                                 tau2: str) -> None:
    (r,) = analyse(studies, AnalysisOptions.create(scale=scale, ci_method=ci, tau2_method=tau2))
    assert r.k == len(studies)
    for v in (r.estimate, r.ci_low, r.ci_high):
        assert v is not None and 0.0 <= v <= 1.0 and not math.isnan(v)
    assert r.ci_low <= r.estimate + 1e-12 and r.estimate <= r.ci_high + 1e-12
    if r.k >= 2:
        assert r.tau2 is not None and r.tau2 >= 0.0
        assert r.pi_low <= r.ci_low + 1e-12 and r.ci_high <= r.pi_high + 1e-12
        assert sum(s.weight for s in r.studies) == pytest.approx(100.0)


@SETTINGS
@given(studies=study_sets(min_k=2), seed=st.integers(0, 2**32 - 1))
def test_order_and_file_names_do_not_matter(studies: list[Study], seed: int) -> None:
    rng = np.random.default_rng(seed)
    shuffled = [studies[i] for i in rng.permutation(len(studies))]
    renamed = [Study(**{**s.__dict__, "id": f"z{j}", "outcomes": s.outcomes})
               for j, s in enumerate(shuffled)]
    opts = AnalysisOptions.create()
    (a,) = analyse(studies, opts)
    (b,) = analyse(renamed, opts)
    assert b.estimate == pytest.approx(a.estimate, rel=1e-9)
    assert b.ci_low == pytest.approx(a.ci_low, rel=1e-9)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-7, abs=1e-10)


@SETTINGS
@given(y=st.lists(st.floats(-5, 5), min_size=1, max_size=15),
       v=st.lists(st.floats(0.01, 4), min_size=15, max_size=15))
def test_duplicating_studies_halves_common_effect_variance(y: list[float], v: list[float]) -> None:
    y_arr = np.array(y)
    v_arr = np.array(v[: len(y)])
    once = fit_rma(y_arr, v_arr, method=None)
    twice = fit_rma(np.tile(y_arr, 2), np.tile(v_arr, 2), method=None)
    assert twice.b[0] == pytest.approx(once.b[0], rel=1e-9, abs=1e-12)
    assert twice.se[0] ** 2 == pytest.approx(once.se[0] ** 2 / 2, rel=1e-9)


@SETTINGS
@given(x=st.integers(0, 50), n_extra=st.integers(0, 50), k=st.integers(1, 10),
       scale=st.sampled_from(BOUNDED + ["log", "raw"]))
def test_identical_studies_pool_to_their_value(x: int, n_extra: int, k: int, scale: str) -> None:
    n = max(x + n_extra, 1)
    studies = [Study(id=f"s{i}", label=f"S{i}", citation="c", year=2000, arm="A", patients=n,
                     outcomes=(Outcome("ORR", "t", count=x, total=n),)) for i in range(k)]
    (r,) = analyse(studies, AnalysisOptions.create(model="common", scale=scale))
    single = r.studies[0]
    assert r.theta == pytest.approx(single.yi, rel=1e-9, abs=1e-12)
    if k >= 2:
        assert r.q == pytest.approx(0.0, abs=1e-9)
