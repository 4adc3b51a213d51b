"""The Bayesian binomial-normal model against posteriors integrated independently in R
(tests/reference/make_bayes_binomial_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import expit

from metaview.engine import bayes
from metaview.errors import AnalysisError

REFERENCE = (Path(__file__).resolve().parent.parent / "reference"
             / "bayes_binomial_reference.json")
DOC = json.loads(REFERENCE.read_text())
CASES = DOC["binomial"]
RTOL = 1e-5  # relative, with 1e-5 absolute for quantiles near zero


def _close(got: float, want: float) -> bool:
    return abs(got - want) <= RTOL * max(1.0, abs(want))


def _case_id(c: dict) -> str:
    return f"{c['dataset']}-{c['tau_prior']}-{c['mu_prior']}"


#: Known open defect: with x = 0 and x = n among three studies, a heavy-tailed tau prior
#: (half-Cauchy, half-t) leaves the outer mu-tau rule unconverged, and fit_binomial stops
#: with an AnalysisError (exit 1, never a number). Strict: these fail loudly once fixed.
KNOWN_UNCONVERGED = {"b3_edges-half-cauchy:0.5-flat", "b3_edges-half-t:1,3-flat"}


def _param(c: dict) -> object:
    if _case_id(c) in KNOWN_UNCONVERGED:
        return pytest.param(c, id=_case_id(c), marks=pytest.mark.xfail(
            raises=AnalysisError, strict=True,
            reason="outer quadrature does not converge for heavy-tailed tau priors at x = 0, n"))
    return pytest.param(c, id=_case_id(c))


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
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
