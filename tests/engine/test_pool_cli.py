"""`metaview pool` and `metaview compare` end to end, through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pool_data import write_studies
from reference_data import ITERATIVE_RTOL, metafor_reference

from metaview.cli import main

CONTRACT_KEYS = {
    "endpoint", "time_months", "group", "model", "scale", "tau2_method", "ci_method", "level",
    "k", "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "theta", "se", "tau2",
    "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low", "i2_ci_high", "h2", "h2_ci_low",
    "h2_ci_high", "q", "q_df",
    "q_pvalue", "studies", "excluded", "leave_one_out", "warnings",
}
STUDY_KEYS = {"id", "label", "estimate", "ci_low", "ci_high", "yi", "vi", "weight", "approximate"}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code = main(list(argv))
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_json_contract_keys(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    doc = run_json(capsys, "pool", str(root / "studies"), "--format", "json",
                   "--leave-one-out")
    assert doc["metaview_version"]
    for a in doc["analyses"]:
        assert CONTRACT_KEYS <= set(a), CONTRACT_KEYS - set(a)
        for s in a["studies"]:
            assert STUDY_KEYS <= set(s)
        for e in a["excluded"]:
            assert {"id", "reason"} <= set(e)
    overall = [a for a in doc["analyses"] if a["group"] is None and a["endpoint"] == "OS"]
    assert "subgroup_test" in overall[0]
    assert set(overall[0]["subgroup_test"]) == {"q_between", "df", "pvalue"}


def test_six_studies_one_year_os(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    doc = run_json(capsys, "pool", str(root / "studies"), "--format", "json",
                   "--endpoint", "OS", "--time", "12")
    allo = next(a for a in doc["analyses"] if a["group"] == "allo-HSCT after CAR-T failure")
    assert allo["k"] == 3
    assert {s["id"] for s in allo["studies"]} == {"cong2024", "zurko2023", "chow2019"}
    fried = next(e for e in allo["excluded"] if e["id"] == "fried2023")
    assert fried["reason"] == "OS at 12 months not reported (reports OS at 24 months)"
    zurko = next(s for s in allo["studies"] if s["id"] == "zurko2023")
    assert zurko["approximate"] is True
    assert any("time origins differ" in w for w in allo["warnings"])
    # trials are a group of their own, never pooled with the transplant series by default
    trial = next(a for a in doc["analyses"] if a["group"] == "CAR-T pivotal trial")
    assert {s["id"] for s in trial["studies"]} == {"zuma1"}
    assert sum(a["weight"] for a in [*allo["studies"]]) == pytest.approx(100)
    assert allo["ci_low"] <= allo["estimate"] <= allo["ci_high"]


def test_table_is_readable(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    assert main(["pool", str(root / "studies"), "--endpoint", "OS", "--endpoint", "PFS",
                 "--detail"]) == 0
    out = capsys.readouterr().out
    assert "OS at 12 months" in out and "PFS at 12 months" in out
    assert "Fried 2023: OS at 12 months not reported (reports OS at 24 months)" in out
    assert "Prediction interval" in out


HOLDOUT_TESTS = {"z": "z", "knha": "hk", "adhoc": "hk-adhoc"}


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "PM", "HS", "SJ", "HE", "EB"])
@pytest.mark.parametrize("test", sorted(HOLDOUT_TESTS))
def test_cli_matches_metafor_on_holdout(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        method: str, test: str) -> None:
    """A data set the engine was not tuned on, through study files and the JSON output."""
    ref = metafor_reference()
    ds = ref["datasets"]["holdout"]
    entry = next(r for r in ref["rma"] if r["dataset"] == "holdout" and r["measure"] == "PLO"
                 and r["method"] == method and r["test"] == test)
    folder = write_studies(tmp_path / "studies", ds["x"], ds["n"])
    doc = run_json(capsys, "pool", str(folder), "--format", "json", "--tau2", method.lower(),
                   "--ci", HOLDOUT_TESTS[test])
    (a,) = doc["analyses"]
    assert a["theta"] == pytest.approx(entry["b"], rel=ITERATIVE_RTOL)
    assert a["se"] == pytest.approx(entry["se"], rel=ITERATIVE_RTOL)
    assert a["tau2"] == pytest.approx(entry["tau2"], rel=ITERATIVE_RTOL, abs=1e-8)
    assert a["q"] == pytest.approx(entry["QE"], rel=1e-9)
    from scipy.special import expit

    assert a["ci_low"] == pytest.approx(expit(entry["ci_lb"]), rel=ITERATIVE_RTOL)
    assert a["pi_high"] == pytest.approx(expit(entry["pred"]["pi_ub"]), rel=ITERATIVE_RTOL)
    assert [s["weight"] for s in a["studies"]] == pytest.approx(entry["weights"],
                                                                 rel=ITERATIVE_RTOL)


def test_glmm_through_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = metafor_reference()
    ds = ref["datasets"]["holdout"]
    g = next(r for r in ref["glmm"] if r["dataset"] == "holdout" and r["test"] == "t")
    folder = write_studies(tmp_path / "s", ds["x"], ds["n"])
    doc = run_json(capsys, "pool", str(folder), "--format", "json", "--model", "glmm",
                   "--ci", "t")
    (a,) = doc["analyses"]
    assert a["model"] == "glmm"
    assert a["theta"] == pytest.approx(g["b"], rel=ITERATIVE_RTOL)
    assert a["tau2"] == pytest.approx(g["tau2"], rel=ITERATIVE_RTOL)


def test_glmm_fits_estimates_with_pseudo_counts_and_says_so(
        capsys: pytest.CaptureFixture[str], root: Path) -> None:
    doc = run_json(capsys, "pool", str(root / "studies"), "--format", "json", "--model", "glmm",
                   "--endpoint", "OS")
    allo = next(a for a in doc["analyses"] if a["group"] == "allo-HSCT after CAR-T failure")
    assert allo["model"] == "glmm"
    assert any("pseudo-counts" in w and "zurko2023" in w for w in allo["warnings"])


@pytest.mark.parametrize("x,n", [([0, 0, 0], [10, 12, 8]), ([10, 12, 8], [10, 12, 8]),
                                 ([3, 3], [10, 10]), ([1], [1]), ([0, 5, 1000], [1, 5, 100000])])
@pytest.mark.parametrize("scale", ["logit", "log", "raw", "arcsine", "pft", "cloglog"])
def test_degenerate_sets_give_results_not_nan(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              x: list[int], n: list[int], scale: str) -> None:
    folder = write_studies(tmp_path / "s", x, n)
    doc = run_json(capsys, "pool", str(folder), "--format", "json", "--scale", scale)
    (a,) = doc["analyses"]
    assert a["k"] == len(x)
    assert a["estimate"] is not None
    assert a["ci_low"] <= a["estimate"] <= a["ci_high"]
    if any(xi in (0, ni) for xi, ni in zip(x, n)) and scale in ("logit", "log", "raw", "cloglog"):
        assert any("continuity correction" in w for w in a["warnings"])
    if len(x) == 1:
        assert any("only one study" in w for w in a["warnings"])


def test_nothing_to_pool_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_studies(tmp_path / "s", [3], [10])
    assert main(["pool", str(folder), "--endpoint", "OS"]) == 1
    err = capsys.readouterr()
    assert err.out == ""
    assert err.err.startswith("error: nothing to pool")


@pytest.mark.parametrize("argv", [
    ["--model", "glmm", "--scale", "arcsine"],
    ["--model", "glmm", "--ci", "hk"],
    ["--ci", "t"],
    ["--tau2", "XYZ"],
    ["--scale", "probit"],
    ["--exclude", "nosuchstudy"],
    ["--level", "95"],
    ["--format", "xml"],
])
def test_usage_errors_are_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 argv: list[str]) -> None:
    folder = write_studies(tmp_path / "s", [3, 4], [10, 10])
    code = main(["pool", str(folder), *argv])
    out = capsys.readouterr()
    assert code == 2
    assert out.out == ""
    assert out.err.startswith("error: ") and out.err.count("\n") == 1
    assert "Traceback" not in out.err


def test_exclude_and_method_names_case_insensitive(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_studies(tmp_path / "s", [3, 4, 5], [10, 10, 10])
    doc = run_json(capsys, "pool", str(folder), "--format", "json", "--tau2", "reml",
                   "--ci", "HK", "--exclude", "s01")
    (a,) = doc["analyses"]
    assert a["k"] == 2 and a["tau2_method"] == "REML" and a["ci_method"] == "hk"
    assert a["excluded"][0]["id"] == "s01"


def test_compare_index_against_literature(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    doc = run_json(capsys, "compare", str(root / "studies"), "--index", "cong2024",
                   "--endpoint", "OS", "--time", "12", "--format", "json")
    (c,) = doc["comparisons"]
    assert c["index"]["id"] == "cong2024"
    assert {s["id"] for s in c["pooled"]["studies"]} == {"zurko2023", "chow2019"}
    se = (c["index"]["vi"] + c["pooled"]["se"] ** 2) ** 0.5
    assert c["difference"] == pytest.approx(c["index"]["yi"] - c["pooled"]["theta"])
    assert c["z"] == pytest.approx(c["difference"] / se)
    assert c["inside_pi"] is True
    assert main(["compare", str(root / "studies"), "--index", "cong2024", "--endpoint", "OS"]) == 0
    assert "Cong 2024" in capsys.readouterr().out


@pytest.mark.parametrize("model", ["random", "bayes"])
def test_compare_and_pool_notes_name_studies_by_label(
        capsys: pytest.CaptureFixture[str], root: Path, model: str) -> None:
    """The engine's notes carry study ids; the tables print the labels the reader knows."""
    for command in (["compare", "--index", "cong2024"], ["pool", "--detail"]):
        assert main([command[0], str(root / "studies"), *command[1:], "--endpoint", "OS",
                     "--model", model]) == 0
        notes = [ln for ln in capsys.readouterr().out.splitlines() if "Note:" in ln]
        assert any("Zurko 2023" in ln for ln in notes), (command, notes)
        assert not any(sid in ln for ln in notes
                       for sid in ("zurko2023", "chow2019", "cong2024")), (command, notes)


def test_pool_does_not_load_plotting_or_pandas() -> None:
    code = ("import sys, metaview.engine, metaview.engine.analysis; "
            "bad = [m for m in ('matplotlib', 'pandas') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_leave_one_out_refits(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ref = metafor_reference()
    ds = ref["datasets"]["pritz1997"]
    loo = next(r for r in ref["leave1out"] if r["dataset"] == "pritz1997"
               and r["method"] == "REML" and r["test"] == "adhoc")
    folder = write_studies(tmp_path / "s", ds["x"], ds["n"])
    doc = run_json(capsys, "pool", str(folder), "--format", "json", "--leave-one-out")
    (a,) = doc["analyses"]
    assert [x["theta"] for x in a["leave_one_out"]] == pytest.approx(loo["estimate"],
                                                                     rel=ITERATIVE_RTOL)


def test_single_group_table_shows_the_analysis(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_studies(tmp_path / "s", [3, 5], [10, 10])
    assert main(["pool", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "ORR       all studies  2  " in out and "--overall" not in out
    assert main(["pool", str(folder), "--detail"]) == 0
    out = capsys.readouterr().out
    assert "Study 0" in out and "Pooled" in out


def test_raw_scale_outside_unit_interval_is_reported_not_clipped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_studies(tmp_path / "s", [1, 9], [10, 10])
    doc = run_json(capsys, "pool", str(folder), "--format", "json", "--scale", "raw")
    (a,) = doc["analyses"]
    assert a["ci_low"] < 0.0 or a["ci_high"] > 1.0
    assert any("outside [0, 1]" in w for w in a["warnings"])


@pytest.mark.parametrize("command", ["pool", "compare", "report", "forest", "simulate"])
def test_level_without_a_finite_quantile_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                           root: Path, tmp_path: Path,
                                                           command: str) -> None:
    argv = [command, str(root / "studies"), "--level", "0.9999999999999999"]
    if command in ("report", "forest"):
        argv += ["-o", str(tmp_path / "out")]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "--level" in err and "quantile is infinite" in err and "internal error" not in err
    assert not (tmp_path / "out").exists()


def test_level_close_to_one_still_works(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    doc = run_json(capsys, "pool", str(root / "studies"), "--format", "json", "--level",
                   "0.99999999999999")
    assert all(a["ci_low"] is None or a["ci_low"] <= a["estimate"] <= a["ci_high"]
               for a in doc["analyses"] if a["estimate"] is not None)


@pytest.mark.parametrize("level", ["1e-300", "5e-324"])
def test_a_level_near_zero_gives_an_interval_of_zero_width(capsys: pytest.CaptureFixture[str],
                                                           root: Path, level: str) -> None:
    doc = run_json(capsys, "pool", str(root / "studies"), "--format", "json", "--level", level)
    pooled = [a for a in doc["analyses"] if a["estimate"] is not None and a["k"] > 1]
    assert pooled
    for a in pooled:
        assert a["ci_low"] == pytest.approx(a["estimate"], rel=1e-9)
        assert a["ci_high"] == pytest.approx(a["estimate"], rel=1e-9)


def test_python_api_refuses_a_level_without_a_finite_quantile() -> None:
    from metaview.engine.analysis import AnalysisOptions
    from metaview.errors import UsageError

    with pytest.raises(UsageError, match="quantile is infinite"):
        AnalysisOptions.create(level=0.9999999999999999)
