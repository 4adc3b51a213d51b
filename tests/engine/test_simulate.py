"""Coverage study (`metaview simulate`): the batched core against a one-at-a-time loop."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from metaview.choices import CIMethod, Scale, Tau2Method
from metaview.cli import main
from metaview.engine.rma import fit_rma
from metaview.engine.simulate import coverage_study, simulate_counts, true_proportion
from metaview.errors import UsageError
from metaview.estimate.transforms import back_transform_interval, effect_sizes

N = [5, 10, 88]
THETA, TAU2 = 0.37, 0.25


def reference_loop(n: list[int], *, theta: float, tau2: float, scale: str, method: str | None,
                   replicates: int, seed: int) -> dict[str, tuple[float, float]]:
    """The same study written the slow way: draw as documented, then one fit per replicate."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((replicates, len(n)))
    sc = Scale(scale)
    tau2_method = None if method is None else Tau2Method(method)
    p = np.clip(true_proportion(theta + math.sqrt(tau2) * z, sc), 0.0, 1.0)
    x = rng.binomial(np.asarray(n)[None, :], p)
    out = {}
    for test in (CIMethod.Z, CIMethod.HK, CIMethod.HK_ADHOC):
        hits, widths = 0, []
        for i in range(replicates):
            es = effect_sizes(x[i], np.asarray(n, float), sc)
            f = fit_rma(es.yi, es.vi, method=tau2_method, test=test, tau2_ci=False)
            lb, ub = float(f.ci_lb[0]), float(f.ci_ub[0])
            hits += lb <= theta <= ub
            lo, hi = back_transform_interval(lb, ub, sc)
            widths.append(float(hi - lo))
        out[test] = (hits / replicates, float(np.mean(widths)))
    return out


@pytest.mark.parametrize("scale,method", [("logit", "REML"), ("arcsine", "DL"),
                                          ("logit", None)])
def test_batched_equals_reference_loop(scale: str, method: str | None) -> None:
    b = 200
    fast = coverage_study(N, theta=THETA if scale == "logit" else 0.87, tau2=TAU2 / 10,
                          scale=scale, tau2_method=method, replicates=b, seed=42, chunk=64)
    slow = reference_loop(N, theta=THETA if scale == "logit" else 0.87, tau2=TAU2 / 10,
                          scale=scale, method=method, replicates=b, seed=42)
    assert [m.method for m in fast.methods] == ["z", "hk", "hk-adhoc"]
    for m in fast.methods:
        cov, width = slow[m.method]
        assert m.coverage == cov, m.method
        assert m.mean_width == pytest.approx(width, rel=1e-10)
        assert m.replicates == b and m.failed == 0
        assert m.coverage_mcse == pytest.approx(math.sqrt(cov * (1 - cov) / b))


def test_chunking_and_seed_do_not_change_the_result() -> None:
    a = coverage_study(N, theta=THETA, tau2=TAU2, replicates=500, seed=7, chunk=500)
    b = coverage_study(N, theta=THETA, tau2=TAU2, replicates=500, seed=7, chunk=37)
    c = coverage_study(N, theta=THETA, tau2=TAU2, replicates=500, seed=8)
    assert a.to_dict() == b.to_dict()
    assert a.to_dict() != c.to_dict()


def test_simulated_counts_follow_the_model() -> None:
    rng = np.random.default_rng(1)
    x, clipped = simulate_counts([200, 200], theta=0.0, tau2=0.0, scale=Scale.LOGIT,
                                 replicates=20_000, rng=rng)
    assert clipped == 0 and x.shape == (20_000, 2)
    assert x.mean() / 200 == pytest.approx(0.5, abs=0.002)
    # with tau2 > 0 the between-study spread of the observed logits grows by tau2
    rng = np.random.default_rng(2)
    x, _ = simulate_counts([500] * 2, theta=0.0, tau2=0.3, scale=Scale.LOGIT, replicates=20_000,
                           rng=rng)
    es = effect_sizes(x, np.full(x.shape, 500.0), Scale.LOGIT)
    assert np.var(es.yi) == pytest.approx(0.3 + 4 / 500, rel=0.05)


def test_raw_scale_draws_outside_the_unit_interval_are_clipped_and_counted() -> None:
    res = coverage_study([30, 40], theta=0.95, tau2=0.01, scale="raw", replicates=300, seed=3)
    assert res.clipped > 0
    assert any("clipped" in note for note in res.notes)


def test_nominal_coverage_with_large_studies() -> None:
    """Large studies, tau2 = 0: the z interval is close to its nominal level."""
    res = coverage_study([400] * 10, theta=-0.5, tau2=0.0, tau2_method=None,
                         replicates=4000, seed=11)
    z = res.methods[0]
    assert z.method == "z"
    assert abs(z.coverage - 0.95) < 4 * z.coverage_mcse + 0.005


def test_glmm_on_a_few_replicates() -> None:
    res = coverage_study(N, theta=THETA, tau2=TAU2, replicates=50, seed=5, with_glmm=True,
                         glmm_replicates=4)
    glmm = res.methods[-1]
    assert glmm.method == "glmm" and glmm.ci == "z" and glmm.replicates == 4
    assert glmm.coverage is None or 0.0 <= glmm.coverage <= 1.0
    assert any("GLMM" in note for note in res.notes)


@pytest.mark.parametrize("kwargs", [{"replicates": 0}, {"replicates": 2.5},
                                    {"replicates": 10, "n": [50]},
                                    {"replicates": 10, "with_glmm": True, "scale": "raw"}])
def test_function_usage_errors(kwargs: dict) -> None:
    args = {"n": N, "theta": THETA, "tau2": TAU2, "seed": 1} | kwargs
    with pytest.raises(UsageError):
        coverage_study(args.pop("n"), **args)


# ------------------------------------------------------------------ command line


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_contract(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code, out, err = run_cli(capsys, "simulate", str(root / "studies"), "--endpoint", "OS",
                             "--time", "12", "--replicates", "300", "--seed", "1",
                             "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert {"replicates", "true_estimate", "methods"} <= set(doc)
    assert doc["replicates"] == 300 and doc["seed"] == 1
    assert doc["group"] == "allo-HSCT after CAR-T failure"  # the first group with k >= 2
    assert doc["k"] == 3 and 0.0 < doc["true_estimate"] < 1.0
    assert [m["method"] for m in doc["methods"]] == ["z", "hk", "hk-adhoc"]
    for m in doc["methods"]:
        assert {"method", "coverage", "coverage_mcse", "mean_width"} <= set(m)
        assert 0.0 <= m["coverage"] <= 1.0
        assert m["coverage_mcse"] == pytest.approx(
            math.sqrt(m["coverage"] * (1 - m["coverage"]) / 300))
        assert 0.0 < m["mean_width"] < 1.0
    assert any("estimate only" in note for note in doc["notes"])  # zurko2023 uses its total
    # the true value is the pooled analysis's own estimate
    main(["pool", str(root / "studies"), "--endpoint", "OS", "--time", "12", "--format",
          "json"])
    pooled = json.loads(capsys.readouterr().out)["analyses"][0]
    assert pooled["group"] == doc["group"]
    assert doc["true_estimate"] == pytest.approx(pooled["estimate"], rel=1e-12)
    assert doc["true_theta"] == pytest.approx(pooled["theta"], rel=1e-12)


def test_same_seed_same_output(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    argv = ("simulate", str(root / "studies"), "--endpoint", "OS", "--replicates", "200",
            "--seed", "9", "--format", "json")
    first = run_cli(capsys, *argv)
    second = run_cli(capsys, *argv)
    assert first[0] == 0 and first[1] == second[1]


def test_table_output_names_the_analysis(capsys: pytest.CaptureFixture[str],
                                         root: Path) -> None:
    code, out, _ = run_cli(capsys, "simulate", str(root / "studies"), "--endpoint", "OS",
                           "--replicates", "100", "--seed", "2", "--no-group")
    assert code == 0
    assert "all studies" in out and "hk-adhoc" in out and "MC SE" in out


def test_table_names_studies_by_label_and_json_by_id(capsys: pytest.CaptureFixture[str],
                                                     root: Path) -> None:
    argv = ("simulate", str(root / "studies"), "--endpoint", "OS", "--time", "12",
            "--replicates", "50", "--seed", "3")
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0
    assert "(k = 3: Chow 2019, Cong 2024, Zurko 2023)" in out
    assert "Note: Cong 2024: reports an estimate only" in out
    assert "cong2024" not in out and "zurko2023" not in out
    code, out, _ = run_cli(capsys, *argv, "--format", "json")
    doc = json.loads(out)
    assert doc["studies"] == ["chow2019", "cong2024", "zurko2023"]
    assert any(n.startswith("cong2024: reports an estimate only") for n in doc["notes"])


@pytest.mark.parametrize("extra", [
    ["--replicates", "0"], ["--replicates", "-5"], ["--replicates", "ten"],
    ["--replicates", "1.5"], [],  # --replicates missing
    ["--replicates", "10", "--seed", "x"],
    ["--replicates", "10", "--format", "csv"],
    ["--replicates", "10", "--with-glmm", "--scale", "raw"],
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], root: Path, extra: list[str]) -> None:
    code, out, err = run_cli(capsys, "simulate", str(root / "studies"), "--endpoint", "OS",
                             *extra)
    assert code == 2
    assert out == ""
    assert err.startswith("error:") and "Traceback" not in err


def test_endpoint_is_required(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code, out, err = run_cli(capsys, "simulate", str(root / "studies"), "--replicates", "10")
    assert code == 2 and out == "" and "--endpoint" in err


def test_nothing_to_simulate(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code, out, err = run_cli(capsys, "simulate", str(root / "studies" / "zuma1.yaml"),
                             "--endpoint", "OS", "--replicates", "10")
    assert code == 1 and out == "" and "nothing to simulate" in err
