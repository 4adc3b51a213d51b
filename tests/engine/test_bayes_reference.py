"""The Bayesian normal-normal model against posteriors integrated independently in R."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metaview.engine import bayes

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "bayes_reference.json"
CASES = json.loads(REFERENCE.read_text())["normal"]
RTOL = 1e-6  # relative, with 1e-6 absolute for quantiles near zero


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= RTOL * max(1.0, abs(want))


def _case_id(c: dict) -> str:
    return f"{c['dataset']}-{c['tau_prior']}-{c['mu_prior']}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_normal_posterior_matches_r(case: dict) -> None:
    fit = bayes.fit_normal(
        np.array(case["y"]), np.array(case["v"]),
        tau_prior=bayes.parse_tau_prior(case["tau_prior"]),
        mu_prior=bayes.parse_mu_prior(case["mu_prior"]), level=case["level"])
    got = {
        "mu": fit.mu, "tau": fit.tau, "predictive": fit.predictive,
        "shrunk_first": fit.shrunk[0],
    }
    for name, interval in got.items():
        values = (interval.median, interval.low, interval.high)
        for g, w, what in zip(values, case[name], ("median", "low", "high")):
            assert _close(float(g), w), f"{name} {what}: {g!r} vs R {w!r}"


def test_reference_grid_is_complete() -> None:
    """k = 1, 2, 3, 6, 20; tau near 0 and large; every tau prior family; both mu priors."""
    ks = {len(c["y"]) for c in CASES}
    assert ks == {1, 2, 3, 6, 20}
    families = {c["tau_prior"].split(":")[0] for c in CASES}
    assert families == {"half-normal", "half-cauchy", "half-t", "exponential", "uniform"}
    for k in ks:
        have = {c["tau_prior"].split(":")[0] for c in CASES if len(c["y"]) == k}
        assert have == families, f"k = {k} lacks a prior family"
    assert {c["mu_prior"].split(":")[0] for c in CASES} == {"flat", "normal"}
    taus = {c["dataset"]: c["tau"][0] for c in CASES if c["tau_prior"] == "half-normal:1"
            and c["mu_prior"] == "flat"}
    assert taus["k6_tau0"] < 0.1
    assert taus["k6_large"] > 1.0
