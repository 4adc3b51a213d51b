"""The Bayesian binomial-normal model against posteriors integrated independently in R
(tests/reference/make_bayes_binomial_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from metaview.engine import bayes

REFERENCE = (Path(__file__).resolve().parent.parent / "reference"
             / "bayes_binomial_reference.json")
DOC = json.loads(REFERENCE.read_text())
CASES = DOC["binomial"]
RTOL = 1e-5  # relative, with 1e-5 absolute for quantiles near zero


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= RTOL * max(1.0, abs(want))


def _case_id(c: dict) -> str:
    return f"{c['dataset']}-{c['tau_prior']}-{c['mu_prior']}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_binomial_posterior_matches_r(case: dict) -> None:
    # the reference's own integration error is far below the tolerance
    assert max(case["check"].values()) < 1e-6
    fit = bayes.fit_binomial(
        np.array(case["x"]), np.array(case["n"]),
        tau_prior=bayes.parse_tau_prior(case["tau_prior"]),
        mu_prior=bayes.parse_mu_prior(case["mu_prior"]), level=case["level"])
    got = {"mu": fit.mu, "tau": fit.tau, "predictive": fit.predictive}
    for name, interval in got.items():
        values = (interval.median, interval.low, interval.high)
        for g, w, what in zip(values, case[name], ("median", "low", "high")):
            assert _close(float(g), w), f"{name} {what}: {g!r} vs R {w!r}"
    # the reported estimate and credible interval are the back-transformed quantiles of mu
    want = expit(np.array(case["mu"]))
    np.testing.assert_allclose(expit([fit.mu.median, fit.mu.low, fit.mu.high]), want,
                               rtol=RTOL)
