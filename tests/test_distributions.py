"""The probabilities and quantiles of metaview.distributions against scipy.special.

Tolerances: relative 1e-12 against scipy for df up to 1e4 (both sides are accurate to a few
ulp there), 1e-10 for df from 1e4 to 1e6 (the continued fractions take thousands of terms
there); where scipy itself is wrong (the t quantile of p = 1e-300, the Cauchy CDF near 0)
the reference is the exact round trip or the closed form. The same inputs give the same
bits alone and inside arrays of any size.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sc
from scipy import stats

from metaview import distributions as d

DF = [0.5, 1, 1.5, 2, 3, 4, 5, 7, 10, 13, 19, 30, 99, 1000, 1e4, 1e5, 1e6]
P = [0.0, 1e-300, 1e-100, 1e-12, 1e-6, 1e-4, 0.0125, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9,
     0.95, 0.975, 0.9875, 0.9999, 1 - 1e-6, 1 - 1e-12, 1 - 2**-53, 1.0]
X = [-math.inf, -1e200, -1e10, -300.0, -40.0, -4.0, -1.96, -1.0, -0.3, -1e-6, -1e-300, 0.0,
     1e-300, 1e-6, 0.01, 0.3, 1.0, 1.96, 2.5, 4.0, 10.0, 40.0, 300.0, 1e4, 1e10, 1e200,
     math.inf, math.nan]
EDGES = [-0.5, 1.5, math.nan]  # outside [0, 1]: NaN


def rtol(df: float) -> float:
    return 1e-12 if df <= 1e4 else 1e-10


def close(mine: np.ndarray, ref: np.ndarray, tol: float) -> None:
    """Equal where either is infinite, NaN or zero; else to a relative ``tol``."""
    np.testing.assert_allclose(mine, ref, rtol=tol, atol=1e-300)


@pytest.mark.parametrize("df", DF)
def test_t_cdf(df: float) -> None:
    x = np.array(X)
    ref = sc.stdtr(df, x)
    if df == 1:  # scipy loses digits near 0 there; the Cauchy CDF is exact
        with np.errstate(divide="ignore"):
            low = np.arctan(1.0 / np.abs(x)) / np.pi  # the tail, without cancellation
        ref = np.where(np.isfinite(x) & (x != 0), np.where(x < 0, low, 1.0 - low), ref)
    mine = d.t_cdf(df, x)
    huge = np.abs(x) == 1e200  # scipy gives 0 and 1 there, even where the tail is 1e-101
    close(mine[~huge], ref[~huge], rtol(df))
    low = float(mine[list(X).index(-1e200)])
    assert mine[list(X).index(1e200)] == 1.0 - low
    if low > 0:
        assert float(d.t_ppf(df, low)) == pytest.approx(-1e200, rel=1e-10)


@pytest.mark.parametrize("df", DF)
def test_t_ppf(df: float) -> None:
    p = np.array(P + EDGES)
    mine = d.t_ppf(df, p)
    ref = stats.t.ppf(p, df)  # -inf at 0 (scipy.special.stdtrit gives +inf there)
    ok = (p >= 1e-12) & (p <= 1 - 1e-12) | ~((p > 0) & (p < 1))
    close(mine[ok], ref[ok], rtol(df) * 10)
    # p = 1e-300: scipy's own quantile is wrong for small df (even its sign at df = 3);
    # the round trip through the CDF is the reference (inf when the quantile overflows)
    for tiny in (1e-100, 1e-300):
        q = float(d.t_ppf(df, tiny))
        assert q < 0
        if math.isfinite(q):
            assert float(d.t_cdf(df, q)) == pytest.approx(tiny, rel=1e-10)
        else:
            assert float(d.t_cdf(df, -1.7e308)) > tiny


@pytest.mark.parametrize("df", DF)
def test_chi2_sf(df: float) -> None:
    x = np.array([v for v in X if not v < 0] + [-1.0])
    close(d.chi2_sf(df, x), sc.chdtrc(df, x), rtol(df))
    xs = x[np.isfinite(x) & (x > 0)] * df
    close(d.chi2_sf(df, xs), sc.chdtrc(df, xs), rtol(df))


@pytest.mark.parametrize("df", DF)
def test_chi2_isf(df: float) -> None:
    p = np.array(P + EDGES)
    mine = d.chi2_isf(df, p)
    ref = sc.chdtri(df, p)
    ok = ~((p > 0) & (p < 1e-100)) & ~((p > 1 - 1e-12) & (p < 1))
    close(mine[ok], ref[ok], rtol(df) * 10)
    for q in (1e-300, 1 - 1e-12):  # the round trip, where scipy's inverse is less accurate
        x = float(d.chi2_isf(df, q))
        assert float(d.chi2_sf(df, x)) == pytest.approx(q, rel=1e-9)


def test_normal_and_expit() -> None:
    p = np.array(P + EDGES)
    close(d.norm_ppf(p), sc.ndtri(p), 1e-13)
    x = np.array(X)
    close(d.norm_cdf(x), sc.ndtr(x), 1e-13)
    xe = np.array([-800, -40, -5, -1.96, 0, 0.5, 3, 40, 800])
    close(d.expit(xe), sc.expit(xe), 1e-15)


def test_nonpositive_df_is_nan() -> None:
    for f in (d.t_cdf, d.t_ppf, d.chi2_sf, d.chi2_isf):
        assert np.isnan(f(np.array([0.0, -1.0, np.nan]), 0.5)).all()


def test_infinite_df_is_the_normal() -> None:
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    close(d.t_cdf(np.inf, x), sc.ndtr(x), 1e-13)
    p = np.array([1e-12, 0.025, 0.5, 0.975])
    close(d.t_ppf(np.inf, p), sc.ndtri(p), 1e-13)


FUNCTIONS = {"t_cdf": (d.t_cdf, X), "chi2_sf": (d.chi2_sf, X), "t_ppf": (d.t_ppf, P),
             "chi2_isf": (d.chi2_isf, P)}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_alone_and_in_a_batch_give_the_same_bits(name: str) -> None:
    """Each element alone (one scalar call) equals the same element inside a batch of 1000
    with other values and other df, exactly."""
    f, values = FUNCTIONS[name]
    rng = np.random.default_rng(7)
    dfs = np.array(DF)[rng.integers(0, len(DF), 1000)]
    xs = np.array(values)[rng.integers(0, len(values), 1000)]
    if name in ("t_cdf", "chi2_sf"):  # also values that are not on the grid
        xs = np.where(rng.uniform(size=1000) < 0.5, xs, rng.normal(0, 5, 1000))
        if name == "chi2_sf":
            xs = np.abs(xs) * np.sqrt(dfs)
    batch = f(dfs, xs)
    alone = np.array([f(a, b)[()] for a, b in zip(dfs, xs)])
    np.testing.assert_array_equal(batch, alone)
    np.testing.assert_array_equal(f(dfs[:1], xs[:1]), alone[:1])
    # and agree with scipy (the quantiles on their accurate range)
    ok = np.isfinite(alone)
    ref = {"t_cdf": sc.stdtr, "chi2_sf": sc.chdtrc}.get(name)
    if ref is not None:
        ok &= np.abs(xs) < 1e10  # scipy's tails underflow beyond
        close(batch[ok], ref(dfs, xs)[ok], 1e-10)


def test_finite_quantiles() -> None:
    assert all(d.finite_quantiles(level) for level in (0.95, 0.9999999, 1e-300, 5e-324))
    assert not d.finite_quantiles(0.9999999999999999)
    for level in (0.95, 0.9999999, 0.99999999999999, 1e-300):
        assert np.isfinite(d.norm_ppf(0.5 + level / 2))
        assert np.isfinite(d.norm_ppf(1 - (1 - level) / 2))
        assert np.isfinite(d.t_ppf(3.0, 1 - (1 - level) / 2))
        assert np.isfinite(d.chi2_isf(3.0, (1 - level) / 2))
