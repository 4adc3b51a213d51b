"""The engine against R's metafor, over the pinned grid in tests/reference/.

R 4.2.2, metafor 3.8-1, lme4 1.1-31 (see tests/reference/README.md and make_reference.R for
the exact calls, e.g. ``rma(measure="PLO", xi=x, ni=n, method="REML", test="knha")``).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from reference_data import CLOSED_FORM_RTOL, ITERATIVE_RTOL, metafor_reference

from metaview.choices import CIMethod, Scale, Tau2Method
from metaview.engine.glmm import fit_glmm
from metaview.engine.rma import fit_rma
from metaview.estimate.transforms import back_transform, effect_sizes

SCALE = {"PLO": Scale.LOGIT, "PLN": Scale.LOG, "PR": Scale.RAW, "PAS": Scale.ARCSINE,
         "PFT": Scale.PFT, "CLL": Scale.CLOGLOG}
TEST = {"z": CIMethod.Z, "knha": CIMethod.HK, "adhoc": CIMethod.HK_ADHOC}
METHODS = ["FE", "REML", "ML", "DL", "PM", "HS", "SJ", "HE", "EB"]
ITERATIVE = {"REML", "ML", "PM", "EB"}

REF = metafor_reference()
DATASETS = sorted(REF["datasets"])


def _close(actual: float, expected: float | None, rtol: float, what: str,
           atol: float = 1e-10) -> None:
    if expected is None:  # R wrote an infinite or missing value
        assert actual is None or not math.isfinite(actual), what
        return
    # the absolute floor matters only for values that are zero in exact arithmetic
    assert actual == pytest.approx(expected, rel=rtol, abs=atol), (
        f"{what}: {actual!r} != {expected!r}"
    )


def test_grid_is_complete() -> None:
    """Every dataset x measure x method x test is pinned, so the grid cannot quietly shrink."""
    pinned = {(r["dataset"], r["measure"], r["method"], r["test"]) for r in REF["rma"]}
    wanted = set(itertools.product(DATASETS, SCALE, METHODS, TEST))
    assert wanted == pinned
    assert len(DATASETS) >= 6
    ks = {len(d["x"]) for d in REF["datasets"].values()}
    assert min(ks) == 2 and max(ks) >= 20
    glmm = {(g["dataset"], g["test"]) for g in REF["glmm"]}
    skipped = {(s["dataset"], s["test"]) for s in REF["skipped"]}
    assert glmm | skipped == set(itertools.product(DATASETS, ["z", "t"]))


def _atol(method: str, key: str) -> float:
    """Absolute floor: metafor stops Fisher scoring when a step is below 1e-10, so an
    estimate on the boundary (tau2 = 0) is only that close to 0; I2 (in percent) and H2
    magnify it by 100/s2 and 1/s2."""
    if method not in ITERATIVE:
        return 1e-10
    return {"tau2": 1e-8, "I2": 1e-4, "H2": 1e-6}.get(key, 1e-10)


def _cases() -> list:
    return [pytest.param(r, id=f"{r['dataset']}-{r['measure']}-{r['method']}-{r['test']}")
            for r in REF["rma"]]


@pytest.mark.parametrize("ref", _cases())
def test_rma_matches_metafor(ref: dict) -> None:
    ds = REF["datasets"][ref["dataset"]]
    scale = SCALE[ref["measure"]]
    rtol = ITERATIVE_RTOL if ref["method"] in ITERATIVE else CLOSED_FORM_RTOL
    es = effect_sizes(ds["x"], ds["n"], scale)
    np.testing.assert_allclose(es.yi, ref["yi"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(es.vi, ref["vi"], rtol=1e-12)
    method = None if ref["method"] == "FE" else Tau2Method(ref["method"])
    fit = fit_rma(es.yi, es.vi, method=method, test=TEST[ref["test"]], tau2_ci=False)
    for ours, theirs in [("b", "b"), ("se", "se"), ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub"),
                         ("tau2", "tau2"), ("i2", "I2"), ("h2", "H2"), ("q", "QE"),
                         ("q_pvalue", "QEp"), ("s2w", "s2w")]:
        value = float(getattr(fit, ours)[0])
        expected = ref[theirs]
        tol = CLOSED_FORM_RTOL if theirs in ("QE", "QEp") else rtol
        _close(value, expected, tol, ours, _atol(ref["method"], theirs))
    np.testing.assert_allclose(fit.weights[0], ref["weights"], rtol=rtol)
    pred = ref["pred"]
    if pred["pi_lb"] is not None:
        _close(float(fit.pi_lb[0]), pred["pi_lb"], rtol, "pi_lb")
        _close(float(fit.pi_ub[0]), pred["pi_ub"], rtol, "pi_ub")
    if "pred_ipft_hm" in ref:
        n_h = len(ds["n"]) / sum(1 / n for n in ds["n"])
        p = ref["pred_ipft_hm"]
        for ours, key in [(fit.b, "pred"), (fit.ci_lb, "ci_lb"), (fit.ci_ub, "ci_ub")]:
            _close(float(back_transform(ours[0], Scale.PFT, n_harmonic=n_h)), p[key], rtol, key)


@pytest.mark.parametrize(
    "ref", [pytest.param(r, id=f"{r['dataset']}-{r['measure']}-{r['method']}")
            for r in REF["confint"]])
def test_q_profile_matches_metafor(ref: dict) -> None:
    ds = REF["datasets"][ref["dataset"]]
    es = effect_sizes(ds["x"], ds["n"], SCALE[ref["measure"]])
    fit = fit_rma(es.yi, es.vi, method=Tau2Method(ref["method"]), test=CIMethod.Z)
    # the bounds are roots found by uniroot(tol=1e-12): an iterative result
    _close(float(fit.tau2_ci_lb[0]), ref["tau2_lb"], ITERATIVE_RTOL, "tau2_lb")
    _close(float(fit.tau2_ci_ub[0]), ref["tau2_ub"], ITERATIVE_RTOL, "tau2_ub")
    _close(float(fit.i2_ci_lb[0]), ref["I2_lb"], ITERATIVE_RTOL, "I2_lb")
    _close(float(fit.i2_ci_ub[0]), ref["I2_ub"], ITERATIVE_RTOL, "I2_ub")
    _close(float(fit.h2_ci_lb[0]), ref["H2_lb"], ITERATIVE_RTOL, "H2_lb")
    _close(float(fit.h2_ci_ub[0]), ref["H2_ub"], ITERATIVE_RTOL, "H2_ub")
    # H2 = 1 / (1 - I2/100) holds exactly at both bounds (a closed form of the same roots)
    for h2, i2 in [(fit.h2_ci_lb, fit.i2_ci_lb), (fit.h2_ci_ub, fit.i2_ci_ub)]:
        _close(float(h2[0]), 1.0 / (1.0 - float(i2[0]) / 100.0), CLOSED_FORM_RTOL, "H2(I2)")
    for key_h, key_i in [("H2_lb", "I2_lb"), ("H2_ub", "I2_ub")]:
        _close(ref[key_h], 1.0 / (1.0 - ref[key_i] / 100.0), CLOSED_FORM_RTOL, "metafor H2(I2)")


@pytest.mark.parametrize(
    "ref", [pytest.param(r, id=f"{r['dataset']}-{r['method']}-{r['test']}")
            for r in REF["leave1out"]])
def test_leave_one_out_matches_metafor(ref: dict) -> None:
    """One batched fit with a mask per omitted study (metafor ``leave1out``)."""
    ds = REF["datasets"][ref["dataset"]]
    es = effect_sizes(ds["x"], ds["n"], SCALE[ref["measure"]])
    k = len(ds["x"])
    mask = ~np.eye(k, dtype=bool)
    y = np.broadcast_to(es.yi, (k, k))
    v = np.broadcast_to(es.vi, (k, k))
    method = None if ref["method"] == "FE" else Tau2Method(ref["method"])
    fit = fit_rma(y, v, mask, method=method, test=TEST[ref["test"]], tau2_ci=False)
    rtol = ITERATIVE_RTOL if ref["method"] in ITERATIVE else CLOSED_FORM_RTOL
    np.testing.assert_allclose(fit.b, ref["estimate"], rtol=rtol)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=rtol)
    np.testing.assert_allclose(fit.ci_lb, ref["ci_lb"], rtol=rtol)
    np.testing.assert_allclose(fit.ci_ub, ref["ci_ub"], rtol=rtol)
    np.testing.assert_allclose(fit.q, ref["QE"], rtol=CLOSED_FORM_RTOL, atol=1e-12)
    if ref["tau2"] is not None:
        np.testing.assert_allclose(fit.tau2, ref["tau2"], rtol=rtol,
                                   atol=_atol(ref["method"], "tau2"))
        np.testing.assert_allclose(fit.i2, ref["I2"], rtol=rtol, atol=_atol(ref["method"], "I2"))


#: lme4's own optimum is only accurate to about 6e-5 here (its optimizers' default
#: tolerances): the standard error, a second derivative at that optimum, moves by 1.9e-4
GLMM_SE_RTOL = {"zeros_events": 2.5e-4}
#: absolute floor for the GLMM mean: k20's is -0.012, where lme4's optimum is 1.3e-6 off
GLMM_ATOL = 1e-5


@pytest.mark.parametrize(
    "ref", [pytest.param(r, id=f"{r['dataset']}-{r['test']}") for r in REF["glmm"]
            if r["test"] == "z"])
def test_glmm_optimum_is_at_least_as_good_as_lme4s(ref: dict) -> None:
    """Where we differ from lme4, our likelihood is the higher one (lme4 stopped early)."""
    from metaview.engine.glmm import fit_glmm_ml, log_likelihood

    ds = REF["datasets"][ref["dataset"]]
    x, n = np.asarray(ds["x"], float), np.asarray(ds["n"], float)
    mu, tau2, _ = fit_glmm_ml(x, n)
    ours = log_likelihood(mu, math.sqrt(tau2), x, n)
    theirs = log_likelihood(ref["b"], math.sqrt(ref["tau2"]), x, n)
    assert ours >= theirs - 1e-9


@pytest.mark.parametrize(
    "ref", [pytest.param(r, id=f"{r['dataset']}-{r['test']}") for r in REF["glmm"]])
def test_glmm_matches_metafor(ref: dict) -> None:
    ds = REF["datasets"][ref["dataset"]]
    fit = fit_glmm(ds["x"], ds["n"], test=CIMethod(ref["test"]))
    rtol = ITERATIVE_RTOL
    _close(float(fit.b[0]), ref["b"], rtol, "b", GLMM_ATOL)
    _close(float(fit.se[0]), ref["se"], GLMM_SE_RTOL.get(ref["dataset"], rtol), "se")
    _close(float(fit.tau2[0]), ref["tau2"], rtol if ref["tau2"] > 1e-6 else 1.0, "tau2")
    if ref["tau2"] > 1e-6:
        _close(float(fit.i2[0]), ref["I2"], rtol, "I2")
    _close(float(fit.q[0]), ref["QE_Wld"], rtol, "QE_Wld")
    ci_tol = GLMM_SE_RTOL.get(ref["dataset"], rtol)
    for ours, theirs in [(fit.ci_lb, ref["ci_lb"]), (fit.ci_ub, ref["ci_ub"]),
                         (fit.pi_lb, ref["pred"]["pi_lb"]), (fit.pi_ub, ref["pred"]["pi_ub"])]:
        _close(float(ours[0]), theirs, ci_tol, "interval", GLMM_ATOL)


@pytest.mark.parametrize("ref", REF["subgroups"], ids=lambda r: r["test"])
def test_subgroup_test_matches_metafor(ref: dict) -> None:
    from metaview.engine.analysis import AnalysisOptions, analyse
    from metaview.model import Outcome, Study

    ds = REF["datasets"][ref["dataset"]]
    members = {i - 1: g for g, idx in ref["groups"].items() for i in idx}
    studies = [
        Study(id=f"s{i}", label=f"S{i}", citation="c", year=2000, arm=members[i], patients=n,
              outcomes=(Outcome("ORR", "table", count=x, total=n),))
        for i, (x, n) in enumerate(zip(ds["x"], ds["n"]))
    ]
    opts = AnalysisOptions.create(ci_method=TEST[ref["test"]], tau2_method=ref["method"])
    results = analyse(studies, opts)
    groups = {r.group: r for r in results}
    for g in ref["group_b"]:
        _close(groups[g].theta, ref["group_b"][g], ITERATIVE_RTOL, f"b {g}")
        _close(groups[g].se, ref["group_se"][g], ITERATIVE_RTOL, f"se {g}")
    test = groups[None].subgroup_test
    assert test is not None and test.df == ref["df"]
    _close(test.q_between, ref["q_between"], ITERATIVE_RTOL, "q_between")
    _close(test.pvalue, ref["pvalue"], ITERATIVE_RTOL, "pvalue")


@pytest.mark.parametrize("dataset", sorted({r["dataset"] for r in REF["glmm"]}))
def test_glmm_optimum_is_at_machine_precision(dataset: str) -> None:
    """The score vanishes at the fit, and Newton's method from a start 1e-4 away lands on
    the same parameters to a few machine epsilons (the search path does not matter)."""
    from metaview.engine import glmm

    ds = REF["datasets"][dataset]
    x, n = np.asarray(ds["x"], float), np.asarray(ds["n"], float)
    mu, tau2, _ = glmm.fit_glmm_ml(x, n)
    if tau2 == 0.0:
        assert mu == pytest.approx(math.log(x.sum() / (n.sum() - x.sum())), rel=1e-15)
        return
    tau = math.sqrt(tau2)
    assert np.all(np.abs(glmm._score(mu, tau, x, n)) < 1e-9)
    polished = glmm._polish(mu * (1 + 1e-4) + 1e-4, tau * (1 - 1e-4), x, n)
    assert polished is not None
    assert polished[0] == pytest.approx(mu, rel=1e-13, abs=1e-14)
    assert polished[1] == pytest.approx(tau, rel=1e-13)

