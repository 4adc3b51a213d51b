"""Speed figures of the Kaplan-Meier reconstruction (``metaview km``).

Run from the repository root::

    python benchmarks/km.py

Prints, with targets and PASS/FAIL:

1. one digitised curve of 300 points with 10 risk-table intervals reconstructed (Guyot
   2012), median of 200 runs; and the Kaplan-Meier summary of it (own arithmetic);
2. ``metaview km examples/km/`` end to end (subprocess, median of 5);
3. whether ``metaview km examples/km/`` loads lifelines or pandas (it should not: lifelines
   is the tests' cross-check, not part of the command path).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TARGET_RECONSTRUCT_MS = 20.0
TARGET_KM_COMMAND_S = 1.0


def metaview_cmd() -> list[str]:
    exe = shutil.which("metaview")
    return [exe] if exe else [sys.executable, "-m", "metaview"]


def curve_300() -> tuple[np.ndarray, np.ndarray, list[float], list[int]]:
    """A 300-point digitised curve of 400 simulated patients, table every 6 months."""
    rng = np.random.default_rng(7)
    n = 400
    true = rng.weibull(1.2, n) * 30
    cens = rng.uniform(0, 66, n)
    time_, event = np.minimum(true, cens), true <= cens
    order = np.argsort(time_)
    t_sorted, e_sorted = time_[order], event[order]
    at_risk = n - np.arange(n)
    surv = np.cumprod(np.where(e_sorted, 1 - 1 / at_risk, 1.0))
    grid = np.linspace(0, 60, 300)
    idx = np.searchsorted(t_sorted, grid, side="right") - 1
    s = np.where(idx >= 0, surv[np.maximum(idx, 0)], 1.0)
    s = np.minimum.accumulate(np.clip(s + rng.uniform(-0.004, 0.004, 300), 0, 1))
    table = [float(x) for x in range(0, 61, 6)]  # 11 times: 10 intervals
    n_table = [int(np.sum(time_ >= x)) for x in table]
    return grid, s, table, n_table


def main() -> int:
    from metaview.estimate.reconstruct import km_summary, reconstruct

    print("Machine")
    print(f"  CPU       {platform.processor() or platform.machine()}; {os.cpu_count()} cores")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(f"  load      {load} (1, 5, 15 min)")
    print(f"  Python    {platform.python_version()}")
    ok = True

    t, s, table, n = curve_300()
    reconstruct(t, s, table, n)  # warm up
    runs = []
    for _ in range(200):
        t0 = time.perf_counter()
        rec = reconstruct(t, s, table, n)
        runs.append(time.perf_counter() - t0)
    ms = 1000 * statistics.median(runs)
    passed = ms < TARGET_RECONSTRUCT_MS
    ok &= passed
    print("\n1. One curve: 300 points, 10 risk intervals, 400 patients")
    print(f"  reconstruction   median {ms:.2f} ms (min {1000 * min(runs):.2f}, "
          f"max {1000 * max(runs):.2f}; 200 runs)")
    km_summary(rec, [12.0], 1.0)  # warm up
    runs = []
    for _ in range(50):
        t0 = time.perf_counter()
        km_summary(rec, [12.0, 24.0], 1.0)
        runs.append(time.perf_counter() - t0)
    print(f"  KM summary (2 landmarks, median and CI)  median "
          f"{1000 * statistics.median(runs):.2f} ms")
    print(f"  [{'PASS' if passed else 'FAIL'}] reconstruction {ms:.2f} ms  "
          f"(target: < {TARGET_RECONSTRUCT_MS:g} ms)")

    cmd = metaview_cmd() + ["km", str(ROOT / "examples" / "km"), "--time", "6", "--time", "12"]
    walls = []
    for _ in range(5):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            print(proc.stderr)
            return 1
    wall = statistics.median(walls)
    passed = wall < TARGET_KM_COMMAND_S
    ok &= passed
    print("\n2. metaview km examples/km/ --time 6 --time 12, end to end (2 curves)")
    print(f"  median {wall:.3f} s  (runs: {', '.join(f'{x:.2f}' for x in walls)})")
    print(f"  [{'PASS' if passed else 'FAIL'}] metaview km {wall:.2f} s  "
          f"(target: < {TARGET_KM_COMMAND_S:g} s)")

    code = ("import sys, io, contextlib; from metaview.cli import main; "
            "f = io.StringIO(); "
            "r = contextlib.redirect_stdout(f); r.__enter__(); "
            f"main(['km', {str(ROOT / 'examples' / 'km')!r}]); r.__exit__(None, None, None); "
            "print('lifelines' in sys.modules or 'pandas' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    loaded = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "?"
    passed = loaded == "False"
    ok &= passed
    print("\n3. metaview km examples/km/ loads lifelines or pandas: "
          f"{'no' if passed else loaded}")
    print(f"  [{'PASS' if passed else 'FAIL'}] the command path computes without lifelines")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
