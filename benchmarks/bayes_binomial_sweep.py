"""How often the binomial-normal Bayesian fit completes on random small data sets; prints
figures (recorded in benchmarks/RESULTS.md).

Run: python benchmarks/bayes_binomial_sweep.py [SEED] [FITS]

Each data set has 1 to 6 studies of 3 to 79 patients; a fifth of the studies are at 0
events and a tenth at all events, and three data sets in ten have pseudo-counts (one
decimal). Tau priors: half-normal 0.5, 1, 2, half-Cauchy 0.5, half-t 1,3, exponential 2,
uniform 4; mu flat (8 in 10) or normal 0,2. A fit counts as completed when it returns
ordered intervals, as refused when it says the posterior is improper, and as failed when it
cannot integrate the posterior (an analysis error, exit 1).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from metaview.engine import bayes  # noqa: E402
from metaview.errors import AnalysisError  # noqa: E402

PRIORS = ("half-normal:1", "half-cauchy:0.5", "half-t:1,3", "exponential:2", "uniform:4",
          "half-normal:0.5", "half-normal:2")


def main(seed: int = 1, fits: int = 300) -> None:
    rng = np.random.default_rng(seed)
    done = refused = 0
    failed: list[str] = []
    times: list[float] = []
    for _ in range(fits):
        k = int(rng.integers(1, 7))
        n = rng.integers(3, 80, k).astype(float)
        kind = rng.uniform(size=k)
        x = np.round(n * rng.beta(0.7, 0.7, k))
        if rng.uniform() < 0.3:
            x = np.round(n * rng.beta(0.7, 0.7, k) * 10.0) / 10.0
        x = np.where(kind < 0.2, 0.0, np.where(kind > 0.9, n, x))
        tau = PRIORS[int(rng.integers(len(PRIORS)))]
        mu = "flat" if rng.uniform() < 0.8 else "normal:0,2"
        start = time.process_time()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                fit = bayes.fit_binomial(x, n, tau_prior=bayes.parse_tau_prior(tau),
                                         mu_prior=bayes.parse_mu_prior(mu))
            if not all(q.low < q.median < q.high for q in (fit.mu, fit.tau, *fit.shrunk)):
                failed.append(f"{x.tolist()} / {n.tolist()} {tau} {mu}: intervals not ordered")
            else:
                done += 1
        except AnalysisError as e:
            if "improper" in str(e):
                refused += 1
            else:
                failed.append(f"{x.tolist()} / {n.tolist()} {tau} {mu}: {e}")
        except Exception as e:  # noqa: BLE001 - counted and shown, never hidden
            failed.append(f"{x.tolist()} / {n.tolist()} {tau} {mu}: {e!r}")
        times.append(time.process_time() - start)
    print(f"Binomial-normal Bayesian fits on {fits} random data sets (seed {seed})")
    print(f"  completed {done}, improper (refused) {refused}, failed {len(failed)}")
    print(f"  CPU time per fit: median {statistics.median(times):.3f} s, "
          f"90% {np.quantile(times, 0.9):.3f} s, max {max(times):.2f} s")
    for line in failed:
        print("  failed:", line)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
