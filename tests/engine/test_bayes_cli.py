"""`--model bayes` through the command line: JSON keys, wording, usage errors, compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from metaview.choices import Scale
from metaview.cli import main
from metaview.engine import bayes
from metaview.estimate import transforms

BAYES_KEYS = {"tau_median", "tau_ci_low", "tau_ci_high", "tau_prior", "mu_prior", "likelihood"}
SHRUNK_KEYS = {"shrunk_estimate", "shrunk_ci_low", "shrunk_ci_high"}


def _write(folder: Path, x: list[int], n: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (xi, ni) in enumerate(zip(x, n)):
        (folder / f"s{i:02d}.yaml").write_text(
            f"id: s{i:02d}\nlabel: Study {i}\ncitation: Test study {i}.\nyear: 2020\n"
            f"arm: arm A\npatients: {ni}\noutcomes:\n  - endpoint: ORR\n"
            f"    count: {xi}\n    total: {ni}\n    source: Table 1\n")
    return folder


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_pool_json_matches_the_engine(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    x, n = [3, 7, 12, 5], [10, 12, 30, 9]
    folder = _write(tmp_path / "s", x, n)
    code, out, err = _run(capsys, "pool", str(folder), "--model", "bayes", "--format", "json",
                          "--tau-prior", "half-cauchy:0.5")
    assert code == 0, err
    a = json.loads(out)["analyses"][-1]
    assert BAYES_KEYS <= set(a) and a["model"] == "bayes" and a["i2"] is None
    assert a["tau_prior"] == "half-cauchy:0.5" and a["mu_prior"] == "flat"
    es = transforms.effect_sizes(np.array(x, float), np.array(n, float), Scale.LOGIT)
    fit = bayes.fit_normal(es.yi, es.vi, tau_prior=bayes.parse_tau_prior("half-cauchy:0.5"))
    from scipy.special import expit

    assert a["theta"] == pytest.approx(fit.mu.median, rel=1e-9)
    assert a["estimate"] == pytest.approx(expit(fit.mu.median), rel=1e-9)
    assert a["ci_high"] == pytest.approx(expit(fit.mu.high), rel=1e-9)
    assert a["pi_low"] == pytest.approx(expit(fit.predictive.low), rel=1e-9)
    assert a["tau2"] == pytest.approx(fit.tau.median**2, rel=1e-9)
    assert a["se"] == pytest.approx(fit.mu_sd, rel=1e-9)
    assert a["q"] is not None and a["q_df"] == 3
    for s, sh in zip(a["studies"], fit.shrunk):
        assert SHRUNK_KEYS <= set(s)
        assert s["shrunk_estimate"] == pytest.approx(expit(sh.median), rel=1e-9)


def test_other_models_do_not_gain_keys(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = _write(tmp_path / "s", [3, 7], [10, 12])
    _, out, _ = _run(capsys, "pool", str(folder), "--format", "json")
    a = json.loads(out)["analyses"][-1]
    assert not (BAYES_KEYS & set(a)) and not (SHRUNK_KEYS & set(a["studies"][0]))


def test_table_says_credible_interval_and_names_the_prior(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = _write(tmp_path / "s", [3, 7, 12], [10, 12, 30])
    code, out, _ = _run(capsys, "pool", str(folder), "--model", "bayes")
    assert code == 0
    assert "credible interval" in out and "half-normal:1" in out
    assert "CI" not in out


@pytest.mark.parametrize("argv, fragment", [
    (["--model", "bayes", "--scale", "arcsine"], "needs --tau-prior"),
    (["--model", "bayes", "--tau-prior", "half-normal:-1"], "valid forms"),
    (["--model", "bayes", "--mu-prior", "normal:1"], "valid forms"),
    (["--model", "bayes", "--likelihood", "poisson"], "--likelihood"),
    (["--tau-prior", "half-normal:1"], "are for --model bayes"),
])
def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str],
                      fragment: str) -> None:
    folder = _write(tmp_path / "s", [3, 7], [10, 12])
    code, out, err = _run(capsys, "pool", str(folder), *argv)
    assert code == 2 and out == ""
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_arcsine_with_a_tau_prior_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = _write(tmp_path / "s", [3, 7], [10, 12])
    code, _, err = _run(capsys, "pool", str(folder), "--model", "bayes", "--scale", "arcsine",
                        "--tau-prior", "half-normal:0.3")
    assert code == 0, err


def test_compare_probabilities(capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code, out, err = _run(capsys, "compare", str(root / "studies"), "--model", "bayes",
                          "--format", "json")
    assert code == 0, err
    for c in json.loads(out)["comparisons"] if "comparisons" in json.loads(out) else \
            json.loads(out)["analyses"]:
        p_mean, p_new = c["prob_index_above_mean"], c["prob_index_above_new"]
        assert 0.0 < p_mean < 1.0 and 0.0 < p_new < 1.0
        # a new study is more dispersed than the mean: its probability is nearer 1/2
        assert abs(p_new - 0.5) <= abs(p_mean - 0.5) + 1e-12


def test_compare_keeps_a_comparison_whose_posterior_sd_is_infinite(
        capsys: pytest.CaptureFixture[str], root: Path) -> None:
    """half-Cauchy with k <= 2 others: no z test, but the comparison and its probabilities."""
    argv = ["compare", str(root / "studies"), "--model", "bayes", "--tau-prior",
            "half-cauchy:0.5"]
    code, out, err = _run(capsys, *argv, "--format", "json")
    assert code == 0, err
    comps = json.loads(out)["comparisons"]
    assert {(c["endpoint"], c["time_months"]) for c in comps} >= {("OS", 12), ("PFS", 12)}
    for c in comps:
        assert c["z"] is None and c["pvalue"] is None and c["diff_ci_low"] is None
        assert 0.0 < c["prob_index_above_mean"] < 1.0
        assert "infinite_posterior_sd" in c["warning_codes"]
        assert len(c["warning_codes"]) == len(c["warnings"])
    code, out, err = _run(capsys, *argv, "--format", "csv")
    assert code == 0, err
    head, *rows = out.splitlines()
    assert head.endswith(",inside_pi,prob_index_above_mean,prob_index_above_new")
    assert len(rows) == len(comps)
    code, out, err = _run(capsys, *argv)
    assert code == 0 and "probability that" in out, err


def test_compare_csv_of_other_models_has_no_probability_columns(
        capsys: pytest.CaptureFixture[str], root: Path) -> None:
    code, out, err = _run(capsys, "compare", str(root / "studies"), "--format", "csv")
    assert code == 0, err
    assert out.splitlines()[0].endswith(",pvalue,inside_pi")
