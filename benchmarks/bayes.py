"""Speed of the Bayesian random-effects engine (metaview.engine.bayes); prints figures.

Run: python benchmarks/bayes.py   (figures recorded in benchmarks/RESULTS.md)

numpy runs single-threaded (the BLAS thread count is set before numpy is imported): with
threads, CPU time counts the threads' waiting too, and a fit's small matrices gain nothing.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from metaview.engine import bayes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _median_time(fn, repeats: int) -> float:
    """Median CPU time of this process per call (wall-clock time on a loaded machine
    measures the other work; the CPU time of a single-threaded fit does not)."""
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def _command_cpu(argv: list[str]) -> float:
    """CPU time (user + system) of one run of the command line ``metaview ARGV``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "metaview", *argv], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


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
    bayes.fit_binomial(x[:2], n[:2])  # the rules' caches, as after a first fit
    s = _median_time(lambda: bayes.fit_binomial(x, n), 5)
    flag = "PASS" if s < 0.05 else "FAIL"
    print(f"  binomial-normal fit, k = 10               {1e3 * s:8.1f} ms"
          f"   [{flag}: target < 50 ms]")
    argv = ["pool", "studies/", "--model", "bayes", "--likelihood", "binomial"]
    runs = [_command_cpu(argv) for _ in range(3)]
    print(f"  metaview {' '.join(argv)}: median {statistics.median(runs):.2f} s CPU "
          f"(runs: {', '.join(f'{r:.2f}' for r in runs)})")


if __name__ == "__main__":
    main()
