"""Coverage of the pooled-mean intervals by parametric simulation, on the batched core.

:func:`coverage_study` draws ``B`` data sets with the study sizes of an analysis from the
random-effects model fitted to it, refits every replicate with each interval method (one
batched :func:`~metaview.engine.rma.fit_rma` call per method and chunk of replicates) and
reports how often each interval covers the true pooled value.

Notes
-----
The data-generating model, on the pooling scale ``g`` of the analysis::

    theta_i ~ N(theta, tau2),   p_i = g^-1(theta_i),   x_i ~ Binomial(n_i, p_i)

with ``theta`` and ``tau2`` the analysis's own estimates. On the logit scale this is the
binomial-normal model (the GLMM's own model). On the other scales the study-level effects
are normal on that scale, so ``theta`` is still the exact mean of the true effects and the
coverage target is the same on every scale. Where ``g^-1`` can leave [0, 1] (raw, log) the
``p_i`` are clipped to [0, 1] and the number of clipped draws is reported; the Freeman-Tukey
scale draws ``p_i`` with the arcsine inverse ``sin(theta_i)^2`` (its large-sample limit).

Each replicate's effect sizes get metafor's continuity correction exactly as real data do
(:func:`~metaview.estimate.transforms.effect_sizes`). Coverage is the share of replicates
whose interval contains ``theta``; its Monte Carlo standard error is ``sqrt(c (1 - c) / B)``.
Mean width is measured on the proportion scale (interval ends back-transformed).

The random numbers depend only on the seed, the study sizes and ``B``: they are the ones
:func:`simulate_counts` draws in one go, but drawn and refitted ``chunk`` replicates at a
time, so memory stays bounded for any ``B``; counts and exact sums make the result
independent of the chunk size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metaview.choices import CIMethod, Scale, Tau2Method, parse, require

if TYPE_CHECKING:
    from metaview.engine import bayes
from metaview.errors import UsageError
from metaview.estimate import transforms

Array = NDArray[np.float64]

#: interval methods of the inverse-variance model, in the order they are reported
IV_METHODS = (CIMethod.Z, CIMethod.HK, CIMethod.HK_ADHOC)
#: replicates drawn and refitted at a time (bounds memory for any B; results do not depend
#: on it)
DEFAULT_CHUNK = 10_000
#: GLMM fits are one at a time (0.2 to 0.6 s each); by default at most this many replicates
DEFAULT_GLMM_REPLICATES = 100

#: called with (work done, total work) after each chunk of fits
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class MethodCoverage:
    """How one interval method did over the replicates."""

    method: str
    coverage: float | None  # share of usable replicates whose interval contains theta
    coverage_mcse: float | None  # sqrt(c (1 - c) / replicates)
    mean_width: float | None  # on the proportion scale
    replicates: int  # replicates fitted with this method
    failed: int = 0  # replicates without a finite interval (left out of the coverage)
    ci: str | None = None  # the GLMM's interval (z or t); None for the inverse-variance ones

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "method": self.method, "coverage": self.coverage,
            "coverage_mcse": self.coverage_mcse, "mean_width": self.mean_width,
            "replicates": self.replicates, "failed": self.failed,
        }
        if self.ci is not None:
            out["ci"] = self.ci
        return out


@dataclass(frozen=True)
class CoverageStudy:
    """The result of :func:`coverage_study`."""

    replicates: int
    seed: int | None
    n: tuple[int, ...]  # study sizes used in every replicate
    theta: float  # true pooled value, pooling scale
    tau2: float  # true between-study variance, pooling scale
    true_estimate: float  # theta back-transformed to a proportion
    scale: str
    tau2_method: str | None  # None: common-effect refits
    level: float
    methods: tuple[MethodCoverage, ...]
    clipped: int = 0  # p_i draws clipped to [0, 1] (raw and log scales)
    corrected: float = 0.0  # share of simulated studies given the continuity correction
    notes: tuple[str, ...] = field(default=())

    @property
    def k(self) -> int:
        return len(self.n)

    def to_dict(self) -> dict[str, object]:
        return {
            "replicates": self.replicates, "true_estimate": self.true_estimate,
            "methods": [m.to_dict() for m in self.methods], "seed": self.seed, "k": self.k,
            "n": list(self.n), "true_theta": self.theta, "true_tau2": self.tau2,
            "scale": self.scale, "tau2_method": self.tau2_method, "level": self.level,
            "clipped": self.clipped, "corrected_share": self.corrected,
            "notes": list(self.notes),
        }


def simulate_counts(
    n: ArrayLike, *, theta: float, tau2: float, scale: Scale, replicates: int,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], int]:
    """``(replicates, k)`` event counts drawn from the random-effects model; also the number
    of ``p_i`` clipped to [0, 1].

    Draw order (fixed, so a seed always gives the same data): all ``theta_i`` as one
    ``(replicates, k)`` standard-normal array, then all counts as one binomial array.
    """
    scale = require(Scale, scale, "scale")
    n_arr = np.asarray(n, dtype=np.int64)
    z = rng.standard_normal((replicates, n_arr.size))
    return _counts(z, n_arr, theta, tau2, scale, rng)


def _counts(z: Array, n_arr: NDArray[np.int64], theta: float, tau2: float, scale: Scale,
            rng: np.random.Generator) -> tuple[NDArray[np.int64], int]:
    """Counts from standard-normal draws ``z`` (binomials from ``rng``); clipped ``p_i``."""
    theta_i = theta + math.sqrt(max(tau2, 0.0)) * z
    p = true_proportion(theta_i, scale)
    bad = ~((p >= 0.0) & (p <= 1.0))
    clipped = int(bad.sum())
    p = np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)
    x = rng.binomial(n_arr[None, :], p)
    return np.asarray(x, dtype=np.int64), clipped


def _count_chunks(n_arr: NDArray[np.int64], *, theta: float, tau2: float, scale: Scale,
                  replicates: int, chunk: int, seed: int | None
                  ) -> Iterator[tuple[int, NDArray[np.int64], int]]:
    """The counts of :func:`simulate_counts` (same seed, same numbers), ``chunk`` replicates
    at a time: ``(first replicate, counts, clipped)``.

    :func:`simulate_counts` draws every normal before the first binomial. Here a first
    pass steps one generator through the normals (drawn and dropped chunk by chunk) to
    where the binomials start; then a second generator, started from the seed again, draws
    the normals chunk by chunk while the first draws the binomials. Memory is
    ``chunk * k`` numbers whatever ``replicates`` is.
    """
    k = n_arr.size
    binomials = np.random.default_rng(seed)
    normals = np.random.Generator(type(binomials.bit_generator)())
    normals.bit_generator.state = binomials.bit_generator.state
    for start in range(0, replicates, chunk):
        binomials.standard_normal((min(chunk, replicates - start), k))
    for start in range(0, replicates, chunk):
        z = normals.standard_normal((min(chunk, replicates - start), k))
        x, clipped = _counts(z, n_arr, theta, tau2, scale, binomials)
        yield start, x, clipped


def true_proportion(theta_i: ArrayLike, scale: Scale) -> Array:
    """``g^-1`` of the data-generating model (Freeman-Tukey: the arcsine inverse)."""
    scale = require(Scale, scale, "scale")
    t = np.asarray(theta_i, dtype=float)
    if scale in (Scale.ARCSINE, Scale.PFT):
        # sin^2 is periodic: a draw past either end of [0, pi/2] is clipped, not wrapped
        clipped = np.clip(t, 0.0, math.pi / 2.0)
        return np.where(t == clipped, np.sin(clipped) ** 2, np.where(t < 0, -1.0, 2.0))
    return np.asarray(transforms.back_transform(t, scale), dtype=float)


def coverage_study(
    n: Sequence[float] | ArrayLike,
    *,
    theta: float,
    tau2: float,
    scale: Scale | str = "logit",
    tau2_method: Tau2Method | str | None = "REML",
    level: float = 0.95,
    replicates: int,
    seed: int | None = None,
    methods: Sequence[CIMethod | str] = IV_METHODS,
    with_glmm: bool = False,
    glmm_replicates: int = DEFAULT_GLMM_REPLICATES,
    glmm_ci: CIMethod | str = "z",
    chunk: int = DEFAULT_CHUNK,
    progress: Progress | None = None,
    with_bayes: bool = False,
    tau_prior: bayes.TauPrior | None = None,
    mu_prior: bayes.MuPrior | None = None,
) -> CoverageStudy:
    """Coverage, Monte Carlo SE and mean width of each interval method for one analysis.

    Parameters
    ----------
    n
        Study sizes (rounded to integers for the binomial draws).
    theta, tau2
        The true pooled value and between-study variance on the pooling scale.
    scale
        Pooling scale of the refits (and of the data-generating model, see the module notes).
    tau2_method
        tau2 estimator of the refits, or ``None`` for the common-effect model.
    replicates, seed
        Number of simulated data sets; seed of ``numpy.random.default_rng``.
    methods
        Interval methods of the inverse-variance model to check.
    with_glmm, glmm_replicates, glmm_ci
        Also refit the binomial-normal GLMM (logit scale only) on the first
        ``min(replicates, glmm_replicates)`` replicates, one fit at a time.
    chunk
        Replicates drawn and refitted at a time; it bounds memory and paces ``progress``.
    with_bayes, tau_prior, mu_prior
        Also refit every replicate with the Bayesian normal-normal model on the pooling
        scale (:func:`~metaview.engine.bayes.fit_normal_batch`, all replicates of a chunk on
        one tau rule) and report its central credible interval as method ``bayes``. The
        priors default to half-normal(1) on tau (log-type scales only) and a flat mu.

    Notes
    -----
    The same study in R: simulate as above, then ``rma(measure="PLO", xi=x, ni=n,
    method="REML", test="z"|"knha"|"adhoc")`` once per replicate; this function gives the
    same intervals (tests compare it with a one-replicate-at-a-time loop).
    """
    scale = parse(Scale, scale, option="--scale")
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) \
            or replicates < 1:
        raise UsageError(f"--replicates must be a positive whole number, not {replicates!r}")
    if chunk < 1:
        raise UsageError(f"chunk must be a positive whole number, not {chunk!r}")
    n_arr = np.asarray(n, dtype=float)
    if n_arr.ndim != 1 or n_arr.size < 2:
        raise UsageError("a coverage study needs at least 2 studies with a known size")
    if not np.all(np.isfinite(n_arr) & (n_arr >= 1)):
        raise UsageError("every study size must be a number of patients >= 1")
    if not (math.isfinite(theta) and math.isfinite(tau2) and tau2 >= 0):
        raise UsageError(f"the true values must be finite (theta={theta}, tau2={tau2})")
    ci_methods = [parse(CIMethod, m, option="--ci") for m in methods]
    glmm_test = parse(CIMethod, glmm_ci, option="--ci")
    tau2_m = None if tau2_method is None else parse(Tau2Method, tau2_method, option="--tau2")
    if with_glmm and scale is not Scale.LOGIT:
        raise UsageError(f"--with-glmm needs --scale logit (the GLMM is a logit model), "
                         f"not --scale {scale.value}")
    if with_bayes:
        from metaview.engine import bayes

        if tau_prior is None and scale not in (Scale.LOGIT, Scale.LOG, Scale.CLOGLOG):
            raise UsageError(f"--with-bayes on the {scale.value} scale needs --tau-prior (the "
                             f"default half-normal:1 is for logit, cloglog and log scales; "
                             f"valid forms: {bayes.TAU_PRIOR_FORMS})")
        tau_p = bayes.DEFAULT_TAU_PRIOR if tau_prior is None else tau_prior
        mu_p = bayes.FLAT if mu_prior is None else mu_prior
        bayes_tally = _Tally()
    sizes = np.rint(n_arr).astype(np.int64)
    n_h = float(len(sizes) / np.sum(1.0 / sizes)) if scale is Scale.PFT else None
    n_glmm = min(replicates, glmm_replicates) if with_glmm else 0
    n_chunks = -(-replicates // chunk)
    total_work = (len(ci_methods) + int(with_bayes)) * n_chunks + n_glmm
    done = 0
    tallies = [_Tally() for _ in ci_methods]
    glmm_tally = _Tally()
    clipped = 0
    corrected = 0
    for start, x, chunk_clipped in _count_chunks(sizes, theta=theta, tau2=tau2, scale=scale,
                                                 replicates=replicates, chunk=chunk,
                                                 seed=seed):
        clipped += chunk_clipped
        es = transforms.effect_sizes(x, sizes[None, :].astype(float), scale)
        corrected += int(np.count_nonzero(es.corrected))
        yi = es.yi
        vi = np.broadcast_to(es.vi, yi.shape)  # arcsine and PFT variances depend on n only
        for m, tally in zip(ci_methods, tallies, strict=True):
            tally.add(*_iv_chunk(yi, vi, theta, scale, tau2_m, m, level, n_h))
            done += 1
            if progress is not None:
                progress(done, total_work)
        if with_bayes:
            fit = bayes.fit_normal_batch(yi, vi, tau_prior=tau_p, mu_prior=mu_p, level=level)
            bayes_tally.add(*_judge(fit.low, fit.high, theta, scale, n_h))
            done += 1
            if progress is not None:
                progress(done, total_work)
        if start < n_glmm:
            rows = x[: n_glmm - start]
            glmm_tally.add(*_glmm_chunk(rows, sizes, theta, level, glmm_test, progress,
                                        done, total_work))
            done += rows.shape[0]
    results = [t.summary(m.value) for m, t in zip(ci_methods, tallies, strict=True)]
    if with_bayes:
        results.append(bayes_tally.summary("bayes", ci=f"credible, tau {tau_p.text()}, "
                                                         f"mu {mu_p.text()}"))
    if with_glmm:
        results.append(glmm_tally.summary("glmm", ci=glmm_test.value))
    simulated = replicates * len(sizes)
    notes: list[str] = []
    if clipped:
        notes.append(f"{clipped} of {simulated} simulated study proportions fell outside [0, 1] "
                     f"on the {scale.value} scale and were clipped")
    if with_glmm and n_glmm < replicates:
        notes.append(f"the GLMM was refitted on the first {n_glmm} of {replicates} replicates "
                     "(one fit at a time); its Monte Carlo SE is correspondingly larger")
    true_est = float(transforms.back_transform(theta, scale, n_harmonic=n_h))
    return CoverageStudy(
        replicates=replicates, seed=seed, n=tuple(int(s) for s in sizes), theta=float(theta),
        tau2=float(tau2), true_estimate=true_est, scale=scale.value,
        tau2_method=None if tau2_m is None else tau2_m.value,
        level=level, methods=tuple(results), clipped=clipped,
        corrected=corrected / simulated, notes=tuple(notes),
    )


def _iv_chunk(yi: Array, vi: Array, theta: float, scale: Scale,
              tau2_method: Tau2Method | None, test: CIMethod, level: float,
              n_h: float | None) -> tuple[NDArray[np.bool_], NDArray[np.bool_], Array]:
    """Covered?, usable?, and width on the proportion scale, per replicate of one chunk."""
    from metaview.engine.rma import fit_rma

    fit = fit_rma(yi, vi, method=tau2_method, test=test, level=level, tau2_ci=False)
    return _judge(fit.ci_lb, fit.ci_ub, theta, scale, n_h)


def _judge(lb: Array, ub: Array, theta: float, scale: Scale,
           n_h: float | None) -> tuple[NDArray[np.bool_], NDArray[np.bool_], Array]:
    ok = np.isfinite(lb) & np.isfinite(ub)
    covered = ok & (lb <= theta) & (theta <= ub)
    lo, hi = transforms.back_transform_interval(lb, ub, scale, n_harmonic=n_h)
    return covered, ok, np.where(ok, hi - lo, np.nan)


class _Tally:
    """Coverage counts and the exact sum of widths, added chunk by chunk."""

    def __init__(self) -> None:
        self.replicates = 0
        self.used = 0
        self.covered = 0
        self.width = _ExactSum()

    def add(self, covered: NDArray[np.bool_], ok: NDArray[np.bool_], width: Array) -> None:
        self.replicates += int(ok.size)
        self.used += int(np.count_nonzero(ok))
        self.covered += int(np.count_nonzero(covered & ok))
        self.width.add(width[ok])

    def summary(self, name: str, ci: str | None = None) -> MethodCoverage:
        failed = self.replicates - self.used
        if self.used == 0:
            return MethodCoverage(name, None, None, None, self.replicates, failed, ci)
        c = self.covered / self.used
        return MethodCoverage(
            method=name, coverage=c, coverage_mcse=math.sqrt(c * (1.0 - c) / self.used),
            mean_width=self.width.mean(self.used), replicates=self.replicates, failed=failed,
            ci=ci,
        )


class _ExactSum:
    """The exact sum of float64 values, however they are grouped into calls of ``add``.

    Each value is ``M * 2**(e - 53)`` with an integer ``M`` (``numpy.frexp``); the sum is
    kept as a Python integer in units of ``2**-1126`` (below the smallest subnormal), so
    chunking never changes a mean by even one rounding.
    """

    _UNIT = 1126  # 2**-1126 divides every float64
    _HALF = 26  # M split in two halves of at most 27 bits: int64 sums of them never overflow

    def __init__(self) -> None:
        self.total = 0

    def add(self, values: Array) -> None:
        v = np.asarray(values, dtype=float).ravel()
        v = v[v != 0.0]
        if v.size == 0:
            return
        mantissa, exponent = np.frexp(v)
        m = np.ldexp(mantissa, 53).astype(np.int64)
        hi, lo = m >> self._HALF, m & ((1 << self._HALF) - 1)
        for e in np.unique(exponent):
            sel = exponent == e
            part = (int(hi[sel].sum()) << self._HALF) + int(lo[sel].sum())
            self.total += part << (int(e) - 53 + self._UNIT)

    def mean(self, count: int) -> float:
        """The correctly rounded ``sum / count``."""
        return float(Fraction(self.total, count << self._UNIT))


def _glmm_chunk(x: NDArray[np.int64], n: NDArray[np.int64], theta: float, level: float,
                test: CIMethod, progress: Progress | None, done: int, total: int
                ) -> tuple[NDArray[np.bool_], NDArray[np.bool_], Array]:
    from metaview.engine.glmm import GlmmConvergenceError, fit_glmm

    m = x.shape[0]
    lb = np.full(m, np.nan)
    ub = np.full(m, np.nan)
    for i in range(m):
        try:
            f = fit_glmm(x[i], n, test=test, level=level)
            lb[i], ub[i] = float(f.ci_lb[0]), float(f.ci_ub[0])
        except GlmmConvergenceError:
            pass  # counted as failed (e.g. every study with 0 events)
        if progress is not None:
            progress(done + i + 1, total)
    return _judge(lb, ub, theta, Scale.LOGIT, None)
