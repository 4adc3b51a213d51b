"""Speed and scale figures of metaview, side by side with R's metafor where it is installed.

Run from the repository root::

    python benchmarks/run.py            # everything (a few minutes)
    python benchmarks/run.py --quick    # fewer repeats, 5,000 generated files

Prints the machine and versions, then each figure with its target and PASS/FAIL:

1. ``metaview pool studies/`` wall time (subprocess, median of 5) against ``Rscript`` doing
   the same REML analysis with metafor (same yi/vi), and their ratio;
2. per-fit time of batched REML fits (10,000 replicates of k = 5) against metafor's per-fit
   time (a loop of ``rma()`` calls timed with ``system.time`` inside R), and the ratio;
   also ``metaview simulate studies/ --endpoint OS --time 12 --replicates 10000`` end to end;
3. generated study files (5,000, 10,000 and 20,000 in a temporary folder) pooled end to end
   with ``metaview pool --format json``, with the time per file to show whether it is linear;
4. one fit with k = 100,000: time and peak memory (tracemalloc);
5. ``metaview forest`` of ``studies/`` with one label made 1,000, 10,000 and 100,000
   characters long (one unbroken word), against the plain files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "studies"

TARGET_POOL_VS_R = 1 / 3  # metaview pool at most a third of Rscript's wall time
TARGET_PER_FIT_SPEEDUP = 500.0  # batched fits at least 500 x metafor's per-fit speed
TARGET_20000_FILES_S = 10.0
TARGET_K100000_S = 1.0
TARGET_LONG_LABEL_RATIO = 2.0  # a 100,000-character label at most twice the plain time

results: list[tuple[str, str, bool | None]] = []  # (figure, target, passed)


def metaview_cmd() -> list[str]:
    exe = shutil.which("metaview")
    return [exe] if exe else [sys.executable, "-m", "metaview"]


def wall(cmd: Sequence[str], repeats: int, **kw: object) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False,
                              **kw)  # type: ignore[call-overload]
        times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
    return times


def verdict(name: str, target: str, passed: bool | None) -> None:
    results.append((name, target, passed))
    mark = "n/a " if passed is None else ("PASS" if passed else "FAIL")
    print(f"  [{mark}] {name}  (target: {target})")


# ------------------------------------------------------------------ machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def r_info() -> str | None:
    if not shutil.which("Rscript"):
        return None
    proc = subprocess.run(
        ["Rscript", "-e", ('suppressPackageStartupMessages(library(metafor)); '
                           'cat(R.version.string, "; metafor", '
                           'as.character(packageVersion("metafor")))')],
        capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def machine() -> str | None:
    import scipy

    import metaview

    print("Machine")
    print(f"  date      {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"  CPU       {cpu_model()}; {os.cpu_count()} logical cores")
    print(f"  OS        {platform.platform()}")
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"  load      {load} (1, 5, 15 min; other work on the machine slows every figure)")
    print(f"  Python    {platform.python_version()} ({platform.python_implementation()})")
    print(f"  numpy     {np.__version__}; scipy {scipy.__version__}; metaview "
          f"{metaview.__version__}")
    r = r_info()
    print(f"  R         {r or 'not found (R comparisons skipped)'}")
    print()
    return r


# ------------------------------------------------------------------ 1. pool vs Rscript


def six_effects() -> tuple[list[float], list[float]]:
    """yi/vi of six OS outcomes of the example studies (any landmark), for the R timing."""
    out = subprocess.run(metaview_cmd() + ["pool", str(STUDIES), "--endpoint", "OS",
                                           "--no-group", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    pairs = [(s["yi"], s["vi"]) for a in json.loads(out)["analyses"] for s in a["studies"]]
    for t in (24, 36, 60):
        more = subprocess.run(metaview_cmd() + ["pool", str(STUDIES), "--endpoint", "OS",
                                                "--time", str(t), "--no-group", "--format",
                                                "json"],
                              capture_output=True, text=True, check=False)
        if more.returncode == 0:
            pairs += [(s["yi"], s["vi"]) for a in json.loads(more.stdout)["analyses"]
                      for s in a["studies"]]
    while len(pairs) < 6:
        pairs += pairs
    pairs = pairs[:6]
    return [p[0] for p in pairs], [p[1] for p in pairs]


R_ANALYSIS = """
suppressPackageStartupMessages(library(metafor))
yi <- c({yi}); vi <- c({vi})
res <- rma(yi, vi, method = "REML", test = "adhoc")
print(res)
print(predict(res, transf = transf.ilogit))
print(confint(res))
"""


def bench_pool(repeats: int, have_r: bool) -> None:
    print("1. Start-up: metaview pool studies/ against Rscript + metafor (same REML analysis)")
    mv = wall(metaview_cmd() + ["pool", str(STUDIES)], repeats)
    mv_med = statistics.median(mv)
    print(f"  metaview pool studies/        median {mv_med:.3f} s  (runs: "
          + ", ".join(f"{t:.2f}" for t in mv) + ")")
    if not have_r:
        verdict("pool / Rscript", "<= 1/3", None)
        return
    yi, vi = six_effects()
    code = R_ANALYSIS.format(yi=", ".join(repr(x) for x in yi),
                             vi=", ".join(repr(x) for x in vi))
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(code)
        script = fh.name
    try:
        rt = wall(["Rscript", script], repeats)
    finally:
        os.unlink(script)
    r_med = statistics.median(rt)
    print(f"  Rscript (metafor, k = 6)      median {r_med:.3f} s  (runs: "
          + ", ".join(f"{t:.2f}" for t in rt) + ")")
    ratio = mv_med / r_med
    print(f"  ratio metaview / R            {ratio:.2f}  (R takes {r_med / mv_med:.1f} x as long)")
    verdict(f"pool takes {ratio:.2f} of Rscript's time", "<= 0.33", ratio <= TARGET_POOL_VS_R)
    print()


# ------------------------------------------------------------------ 2. per-fit speed


def batched_fit_time(b: int, k: int, repeats: int) -> float:
    from metaview.choices import CIMethod, Scale, Tau2Method
    from metaview.engine.rma import fit_rma
    from metaview.estimate.transforms import effect_sizes

    rng = np.random.default_rng(1)
    n = np.array([20, 35, 50, 80, 120, 60, 40, 90, 30, 150][:k])
    theta = -0.3 + np.sqrt(0.2) * rng.standard_normal((b, k))
    x = rng.binomial(n, 1.0 / (1.0 + np.exp(-theta)))
    es = effect_sizes(x, n, Scale.LOGIT)
    fit_rma(es.yi[:10], es.vi[:10], method=Tau2Method.REML, test=CIMethod.HK_ADHOC,
            tau2_ci=False)  # warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fit_rma(es.yi, es.vi, method=Tau2Method.REML, test=CIMethod.HK_ADHOC, tau2_ci=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / b


R_LOOP = """
suppressPackageStartupMessages(library(metafor))
set.seed(1)
n <- c(20, 35, 50, 80, 120)
B <- {loops}
dat <- lapply(seq_len(B), function(i) {{
  x <- rbinom(5, n, plogis(-0.3 + sqrt(0.2) * rnorm(5)))
  escalc(measure = "PLO", xi = x, ni = n)
}})
invisible(rma(yi, vi, data = dat[[1]], method = "REML", test = "adhoc"))
tm <- system.time(for (d in dat) rma(yi, vi, data = d, method = "REML", test = "adhoc"))
cat(tm[["elapsed"]] / B, "\\n")
"""


def bench_per_fit(have_r: bool, quick: bool) -> None:
    print("2. Per-fit speed: batched REML fits (k = 5, hk-adhoc) against metafor's rma() loop")
    b = 10_000
    per_fit = batched_fit_time(b, 5, 3 if quick else 5)
    print(f"  metaview, {b} fits in one batch   {per_fit * 1e6:.1f} us per fit "
          f"({per_fit * b:.3f} s in all)")
    if have_r:
        loops = 200
        proc = subprocess.run(["Rscript", "-e", R_LOOP.format(loops=loops)],
                              capture_output=True, text=True, check=True)
        r_fit = float(proc.stdout.split()[-1])
        print(f"  metafor, loop of {loops} rma()        {r_fit * 1e3:.2f} ms per fit")
        speedup = r_fit / per_fit
        print(f"  speed ratio                      {speedup:.0f} x")
        verdict(f"batched fits {speedup:.0f} x metafor's per-fit speed", ">= 500 x",
                speedup >= TARGET_PER_FIT_SPEEDUP)
    else:
        verdict("batched fits vs metafor", ">= 500 x", None)
    sim = wall(metaview_cmd() + ["simulate", str(STUDIES), "--endpoint", "OS", "--time", "12",
                                 "--replicates", "10000", "--seed", "1", "--format", "json"],
               1 if quick else 3)
    print(f"  metaview simulate studies/ --endpoint OS --time 12 --replicates 10000: "
          f"median {statistics.median(sim):.2f} s end to end (3 interval methods)")
    print()


# ------------------------------------------------------------------ 3. many study files


def write_study_files(folder: Path, count: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n = rng.integers(10, 200, size=count)
    x = rng.binomial(n, 0.6)
    for i in range(count):
        (folder / f"s{i:05d}.yaml").write_text(
            f"id: s{i:05d}\nlabel: Study {i}\ncitation: Generated study {i}.\nyear: 2020\n"
            f"arm: arm {'AB'[i % 2]}\npatients: {n[i]}\noutcomes:\n  - endpoint: OS\n"
            f"    time_months: 12\n    count: {x[i]}\n    total: {n[i]}\n"
            f"    source: Table 1\n")


def bench_many_files(quick: bool) -> None:
    sizes = (1_000, 5_000) if quick else (5_000, 10_000, 20_000)
    print("3. Many study files: metaview pool DIR --format json, end to end (generated files)")
    with tempfile.TemporaryDirectory() as tmp:
        per_file = []
        for count in sizes:
            folder = Path(tmp) / f"s{count}"
            write_study_files(folder, count)
            t = wall(metaview_cmd() + ["pool", str(folder), "--format", "json"], 1)[0]
            per_file.append(t / count)
            print(f"  {count:>6} files   {t:6.2f} s   {t / count * 1e3:.2f} ms per file")
        growth = per_file[-1] / per_file[0]
        print(f"  time per file, largest / smallest run: {growth:.2f} "
              "(about 1 when the time is linear in the number of files)")
        if 20_000 in sizes:
            verdict(f"20,000 files in {t:.1f} s", "<= 10 s", t <= TARGET_20000_FILES_S)
        else:
            verdict("20,000 files (skipped with --quick)", "<= 10 s", None)
        # realistic files: copies of a real study file (five outcomes, long source texts)
        count = sizes[-1]
        folder = Path(tmp) / "real"
        write_copies(folder, count, ROOT / "studies" / "zurko2023.yaml")
        t = wall(metaview_cmd() + ["pool", str(folder), "--format", "json"], 1)[0]
        print(f"  {count:>6} copies of studies/zurko2023.yaml (5 outcomes each): {t:6.2f} s "
              f"({t / count * 1e3:.2f} ms per file)")
    print()


def write_copies(folder: Path, count: int, source: Path) -> None:
    text = source.read_text(encoding="utf-8")
    folder.mkdir(parents=True, exist_ok=True)
    old_id = f"id: {source.stem}"
    for i in range(count):
        (folder / f"c{i:05d}.yaml").write_text(text.replace(old_id, f"id: c{i:05d}"),
                                               encoding="utf-8")


# ------------------------------------------------------------------ 4. k = 100,000


def bench_big_k() -> None:
    from metaview.choices import CIMethod, Scale, Tau2Method
    from metaview.engine.rma import fit_rma
    from metaview.estimate.transforms import effect_sizes

    print("4. One analysis with k = 100,000 (REML, hk-adhoc, Q-profile tau2 CI)")
    k = 100_000
    rng = np.random.default_rng(3)
    n = rng.integers(20, 400, size=k)
    x = rng.binomial(n, 1.0 / (1.0 + np.exp(-(-0.4 + 0.5 * rng.standard_normal(k)))))
    es = effect_sizes(x, n, Scale.LOGIT)
    fit_rma(es.yi[:100], es.vi[:100], method=Tau2Method.REML, test=CIMethod.HK_ADHOC)  # warm up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        fit_rma(es.yi, es.vi, method=Tau2Method.REML, test=CIMethod.HK_ADHOC)
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    tracemalloc.start()
    fit_rma(es.yi, es.vi, method=Tau2Method.REML, test=CIMethod.HK_ADHOC)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  time {t:.3f} s (median of 3); peak memory of the fit {peak / 2**20:.1f} MiB "
          f"({peak / k:.0f} bytes per study; one k x k matrix would be "
          f"{k * k * 8 / 2**30:.0f} GiB)")
    verdict(f"k = 100,000 in {t:.2f} s", "< 1 s", t < TARGET_K100000_S)
    print()


# ------------------------------------------------------------------ 5. long labels


def bench_long_label(repeats: int) -> None:
    print("5. metaview forest studies/ with one label of n characters (one unbroken word)")
    with tempfile.TemporaryDirectory(prefix="metaview-bench-") as tmp:
        folder = Path(tmp) / "studies"
        shutil.copytree(STUDIES, folder)
        target = folder / "zurko2023.yaml"
        original = target.read_text(encoding="utf-8")
        times = {}
        for n in (0, 1_000, 10_000, 100_000):
            label = "Zurko 2023" + ("" if n == 0 else " " + "x" * n)
            target.write_text(original.replace("label: Zurko 2023", f'label: "{label}"'),
                              encoding="utf-8")
            cmd = [*metaview_cmd(), "forest", str(folder), "-o", str(Path(tmp) / "f.png"),
                   "--force"]
            times[n] = statistics.median(wall(cmd, repeats))
            print(f"  n = {n:>7,}: {times[n]:.2f} s (median of {repeats})")
    ratio = times[100_000] / times[0]
    verdict(f"forest with a 100,000-character label: {ratio:.2f} x the plain time",
            f"<= {TARGET_LONG_LABEL_RATIO:g} x", ratio <= TARGET_LONG_LABEL_RATIO)
    print()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, fewer files")
    ap.add_argument("--skip-files", action="store_true", help="skip the many-files figure")
    args = ap.parse_args(argv)
    os.chdir(ROOT)
    have_r = machine() is not None
    bench_pool(2 if args.quick else 5, have_r)
    bench_per_fit(have_r, args.quick)
    if not args.skip_files:
        bench_many_files(args.quick)
    bench_big_k()
    bench_long_label(1 if args.quick else 3)
    print("Summary")
    for name, target, passed in results:
        mark = "n/a " if passed is None else ("PASS" if passed else "FAIL")
        print(f"  [{mark}] {name}  (target: {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
