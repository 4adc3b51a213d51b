"""Speed of the Bayesian random-effects engine (metaview.engine.bayes); prints figures.

Run: python benchmarks/bayes.py   (figures recorded in benchmarks/RESULTS.md)
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from metaview.engine import bayes


def _median_time(fn, repeats: int) -> float:
    """Median CPU time of this process per call (wall-clock time on a loaded machine
    measures the other work; the CPU time of a single-threaded fit does not)."""
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(1)
    bayes.fit_normal([0.1, 0.2], [0.1, 0.1])  # imports and caches once, as after start-up
    print("Bayesian random effects (median CPU time of repeated runs, after import)")
    for k in (3, 10, 50):
        y = rng.normal(0.3, 0.4, k)
        v = rng.uniform(0.02, 0.3, k)
        s = _median_time(lambda y=y, v=v: bayes.fit_normal(y, v), 30)
        flag = "PASS" if s < 2e-3 else "FAIL"
        print(f"  normal-normal fit, k = {k:3d}, half-normal(1)   {1e3 * s:8.2f} ms"
              f"   [{flag}: target < 2 ms]")
    y = rng.normal(0.3, 0.4, (10_000, 5))
    v = rng.uniform(0.02, 0.3, (10_000, 5))
    bayes.fit_normal_batch(y[:10], v[:10])
    s = _median_time(lambda: bayes.fit_normal_batch(y, v), 3)
    flag = "PASS" if s < 2.0 else "FAIL"
    print(f"  10,000 batched normal-normal fits, k = 5  {s:8.2f} s "
          f"   [{flag}: target < 2 s]")
    n = rng.integers(10, 60, 10).astype(float)
    x = np.round(n * rng.uniform(0.2, 0.7, 10))
    s = _median_time(lambda: bayes.fit_binomial(x, n), 3)
    flag = "PASS" if s < 0.05 else "FAIL"
    print(f"  binomial-normal fit, k = 10               {1e3 * s:8.1f} ms"
          f"   [{flag}: target < 50 ms]")


if __name__ == "__main__":
    main()
