"""The batched normal-normal posterior (simulate --with-bayes) against single fits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metaview.cli import main
from metaview.engine import bayes
from metaview.engine.simulate import coverage_study


@pytest.mark.parametrize("prior", ["half-normal:1", "half-cauchy:0.5", "uniform:4"])
def test_batched_equals_single_fits(prior: str) -> None:
    rng = np.random.default_rng(7)
    y = rng.normal(0.2, 0.6, (40, 4))
    v = rng.uniform(0.02, 0.4, (40, 4))
    tp = bayes.parse_tau_prior(prior)
    batch = bayes.fit_normal_batch(y, v, tau_prior=tp)
    probs = bayes._quantile_probs(0.95)
    c = tp.median()
    for i in range(y.shape[0]):
        # the same rule fitted alone: the batching changes nothing
        one = bayes._normal_pass(y[i], v[i], tp, bayes.FLAT, c, 128, probs)
        if bayes._tail(one.coef) <= 1e-7:
            got = (batch.median[i], batch.low[i], batch.high[i])
            np.testing.assert_allclose(got, one.summary[0:3], rtol=0, atol=1e-9)
        # and the adaptive single fit agrees to its accuracy
        fit = bayes.fit_normal(y[i], v[i], tau_prior=tp)
        np.testing.assert_allclose((batch.median[i], batch.low[i], batch.high[i]),
                                   (fit.mu.median, fit.mu.low, fit.mu.high), rtol=0, atol=1e-7)


def test_unresolved_rows_are_fitted_alone() -> None:
    """Very precise, homogeneous studies put the tau posterior far below the prior median:
    the shared rule does not resolve it, and those rows get their own fit."""
    y = np.array([[0.30, 0.31, 0.29, 0.30], [0.1, 0.9, -0.5, 0.4]])
    v = np.array([[1e-5, 2e-5, 1e-5, 3e-5], [0.05, 0.1, 0.08, 0.2]])
    batch = bayes.fit_normal_batch(y, v, points=32)
    assert batch.refitted >= 1
    for i in range(2):
        fit = bayes.fit_normal(y[i], v[i])
        np.testing.assert_allclose((batch.median[i], batch.low[i], batch.high[i]),
                                   (fit.mu.median, fit.mu.low, fit.mu.high), atol=1e-7)


def test_credible_interval_coverage_is_nominal_when_tau_comes_from_its_prior() -> None:
    """With a flat prior on the location mu and tau drawn from its own prior, the central
    credible interval of mu is an exact confidence interval: coverage 95% up to Monte Carlo
    error (2000 replicates, MC SE about 0.5 points)."""
    rng = np.random.default_rng(2024)
    B, mu = 2000, 0.3
    v = np.array([0.05, 0.12, 0.3])
    tau = np.abs(rng.normal(0.0, 1.0, B))
    theta = mu + tau[:, None] * rng.standard_normal((B, 3))
    y = theta + np.sqrt(v) * rng.standard_normal((B, 3))
    batch = bayes.fit_normal_batch(y, v)
    cover = np.mean((batch.low <= mu) & (mu <= batch.high))
    se = np.sqrt(0.95 * 0.05 / B)
    assert abs(cover - 0.95) <= 4 * se, cover


def test_coverage_study_reports_bayes() -> None:
    study = coverage_study([20, 35, 50], theta=0.3, tau2=0.1, replicates=300, seed=5,
                           with_bayes=True)
    names = [m.method for m in study.methods]
    assert names == ["z", "hk", "hk-adhoc", "bayes"]
    b = study.methods[-1]
    assert b.ci == "credible, tau half-normal:1, mu flat"
    assert b.replicates == 300 and 0.8 < b.coverage <= 1.0 and b.mean_width > 0


def test_simulate_cli_with_bayes(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code = main(["simulate", str(root / "studies"), "--endpoint", "OS", "--time", "12",
                 "--replicates", "200", "--seed", "1", "--with-bayes", "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc = json.loads(out.out)
    assert [m["method"] for m in doc["methods"]] == ["z", "hk", "hk-adhoc", "bayes"]
    code = main(["simulate", str(root / "studies"), "--endpoint", "OS", "--time", "12",
                 "--replicates", "200", "--seed", "1", "--with-bayes"])
    out = capsys.readouterr()
    assert code == 0 and "bayes (credible, tau half-normal:1, mu flat)" in out.out
    code = main(["simulate", str(root / "studies"), "--endpoint", "OS", "--time", "12",
                 "--replicates", "20", "--seed", "1", "--with-bayes", "--scale", "raw"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "needs --tau-prior" in err
