"""The pure-Python probabilities and quantiles against scipy.special."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special as sc

from metaview import distributions as d

DF = [1, 2, 3, 4, 5, 7, 10, 13, 19, 30, 99, 1000]
P = [1e-10, 1e-4, 0.0125, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 0.95, 0.975, 0.9875,
     0.9999, 1 - 1e-10]
X = [0.0, 1e-6, 0.01, 0.3, 1.0, 1.96, 2.5, 4.0, 10.0, 40.0, 300.0]


def small(values: list[float]) -> np.ndarray:
    assert len(values) <= d.SCIPY_ABOVE
    return np.array(values, dtype=float)


@pytest.mark.parametrize("df", DF)
def test_t(df: int) -> None:
    x = small(X + [-v for v in X])
    np.testing.assert_allclose(d.t_cdf(df, x), sc.stdtr(df, x), rtol=1e-10, atol=1e-300)
    if df == 1:  # the Cauchy distribution, exactly
        np.testing.assert_allclose(d.t_cdf(df, x), 0.5 + np.arctan(x) / np.pi, rtol=1e-12)
    p = small(P)
    np.testing.assert_allclose(d.t_ppf(df, p), sc.stdtrit(df, p), rtol=1e-11)


@pytest.mark.parametrize("df", DF)
def test_chi2(df: int) -> None:
    x = small(X)
    np.testing.assert_allclose(d.chi2_sf(df, x), sc.chdtrc(df, x), rtol=1e-11, atol=1e-300)
    p = small(P)
    np.testing.assert_allclose(d.chi2_isf(df, p), sc.chdtri(df, p), rtol=1e-11)


def test_normal_and_expit() -> None:
    p = small(P)
    np.testing.assert_allclose(d.norm_ppf(p), sc.ndtri(p), rtol=1e-13)
    x = small([-40, -5, -1.96, 0, 0.5, 3, 40])
    np.testing.assert_allclose(d.norm_cdf(x), sc.ndtr(x), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(d.expit(x), sc.expit(x), rtol=1e-15)


def test_large_arrays_go_to_scipy_and_agree() -> None:
    rng = np.random.default_rng(3)
    df = rng.integers(1, 30, 200).astype(float)
    p = rng.uniform(0.5, 0.999, 200)
    # scipy.special.stdtrit(df, 0) is +inf (scipy 1.17); the quantile is -inf, as in
    # scipy.stats.t.ppf
    from scipy.stats import t

    np.testing.assert_array_equal(d.t_ppf(df, p), t.ppf(p, df))
    small_result = np.array([d.t_ppf(a, b)[()] for a, b in zip(df[:10], p[:10])])
    np.testing.assert_allclose(small_result, sc.stdtrit(df[:10], p[:10]), rtol=1e-11)


EDGES = [0.0, 1.0, -0.5, 1.5, float("nan"), 1 - 2**-53, 2**-1074]


@pytest.mark.parametrize("df", [1, 2, 3, 10, 1000])
def test_quantiles_at_and_beyond_zero_and_one_are_scipys(df: int) -> None:
    """p = 0 and 1 give the infinite (or zero) quantiles scipy gives; outside [0, 1], NaN."""
    p = small(EDGES[:5])
    np.testing.assert_array_equal(d.norm_ppf(p), sc.ndtri(p))
    # scipy.special.stdtrit(df, 0) is +inf (scipy 1.17); the quantile is -inf, as in
    # scipy.stats.t.ppf
    from scipy.stats import t

    np.testing.assert_array_equal(d.t_ppf(df, p), t.ppf(p, df))
    np.testing.assert_array_equal(d.chi2_isf(df, p), sc.chdtri(df, p))
    near = small(EDGES[5:])  # just inside: finite, as scipy's
    np.testing.assert_allclose(d.norm_ppf(near), sc.ndtri(near), rtol=1e-12)
    # the same through scipy for large arrays
    big = np.resize(p, d.SCIPY_ABOVE + 1)
    np.testing.assert_array_equal(d.norm_ppf(big), sc.ndtri(big))
    np.testing.assert_array_equal(d.t_ppf(df, big), t.ppf(big, df))


def test_finite_quantiles() -> None:
    assert all(d.finite_quantiles(level) for level in (0.95, 0.9999999, 1e-300))
    assert not d.finite_quantiles(0.9999999999999999)
    for level in (0.95, 0.9999999, 0.99999999999999):
        assert np.isfinite(d.norm_ppf(0.5 + level / 2))
        assert np.isfinite(d.norm_ppf(1 - (1 - level) / 2))
