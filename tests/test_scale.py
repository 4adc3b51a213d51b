"""Large analyses: the engine works on k = 100,000 studies with memory linear in k.

No timing assertions here (timings are in benchmarks/run.py); the checks are that nothing
builds a k x k matrix (which at this k would need 80 GB and fail) and that the answer is
right.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from metaview.choices import CIMethod, Scale, Tau2Method
from metaview.engine.rma import fit_rma
from metaview.estimate.transforms import effect_sizes

K = 100_000


@pytest.fixture(scope="module")
def big() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2024)
    n = rng.integers(200, 2000, size=K)
    theta_i = -0.4 + 0.5 * rng.standard_normal(K)
    x = rng.binomial(n, 1.0 / (1.0 + np.exp(-theta_i)))
    es = effect_sizes(x, n, Scale.LOGIT)
    return es.yi, es.vi


@pytest.mark.parametrize("method", ["REML", "DL", "PM", None])
def test_fit_with_k_100000(big: tuple[np.ndarray, np.ndarray], method: str | None) -> None:
    y, v = big
    tracemalloc.start()
    try:
        fit = fit_rma(y, v, method=None if method is None else Tau2Method(method),
                      test=CIMethod.HK_ADHOC, tau2_ci=method == "REML")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # linear memory: a few dozen arrays of k doubles, far below one k x k matrix (80 GB)
    assert peak < 200 * K * 8
    assert fit.k[0] == K and fit.weights.shape == (1, K)
    # near the true values (logit variances estimated from the data bias them a little;
    # the common-effect mean leans towards studies near p = 1/2, so it is not checked)
    if method is not None:
        assert fit.b[0] == pytest.approx(-0.4, abs=0.03)
        assert fit.tau2[0] == pytest.approx(0.25, rel=0.15)
    # the weighted mean agrees with the closed form
    w = 1.0 / (v + fit.tau2[0])
    assert fit.b[0] == pytest.approx(float((w * y).sum() / w.sum()), rel=1e-10)
    if method == "REML":  # the Q-profile interval is finite and narrow at this k
        assert 0.0 < fit.tau2_ci_lb[0] < fit.tau2_ci_ub[0] < fit.tau2_ci_lb[0] + 0.05
