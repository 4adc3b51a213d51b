"""The Python API as a user calls it: ``import metaview`` and its verbs, the results' tables,
text and HTML, plots, reports, arrays without files, and bad option values."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from reference_data import CLOSED_FORM_RTOL, ITERATIVE_RTOL, ROOT, metafor_reference

import metaview
from metaview.choices import CIMethod, Model, Scale, StudyCI, Tau2Method
from metaview.cli import main
from metaview.engine.analysis import AnalysisOptions, analyse
from metaview.engine.analysis import compare as engine_compare
from metaview.errors import UsageError
from metaview.model import PooledResult
from metaview.tidy import BAYES_POOL_COLUMNS, COMPARE_COLUMNS, POOL_COLUMNS

STUDIES = str(ROOT / "studies")
REF = metafor_reference()


def run_cli(capsys, *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def results() -> metaview.PoolResults:
    return metaview.pool(STUDIES)


# ------------------------------------------------------------------ import and pool


def test_import_metaview_loads_no_heavy_module() -> None:
    code = ("import sys, metaview; "
            "print(sorted(m for m in ('pandas', 'matplotlib', 'scipy', 'metaview.api', "
            "'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_verbs_are_attributes_of_the_package() -> None:
    for name in ("load_studies", "pool", "compare", "forest", "report", "pool_counts",
                 "pool_estimates", "PoolResults", "Comparisons"):
        assert callable(getattr(metaview, name)), name
        assert name in dir(metaview)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        metaview.nothing  # noqa: B018


def test_pool_is_the_engine_with_the_command_line_defaults(results) -> None:
    studies = metaview.load_studies(STUDIES)
    expected = analyse(studies, AnalysisOptions.create())
    assert list(results) == expected
    assert results.options == AnalysisOptions()
    assert [s.id for s in results.studies] == [s.id for s in studies]
    # studies already loaded, a list of paths, and one path give the same
    assert list(metaview.pool(studies)) == expected
    assert list(metaview.pool([STUDIES])) == expected


def test_pool_options_have_the_command_line_names() -> None:
    res = metaview.pool(STUDIES, endpoint="os", time=12, model="common", tau2="dl", ci="z",
                        scale="arcsine", study_ci="jeffreys", level=0.9, no_group=True,
                        exclude="zuma1", leave_one_out=True)
    assert res.options == AnalysisOptions(
        endpoints=("OS",), time_months=12.0, model=Model.COMMON, tau2_method=Tau2Method.DL,
        ci_method=CIMethod.Z, scale=Scale.ARCSINE, study_ci=StudyCI.JEFFREYS, level=0.9,
        group_by=None, exclude=("zuma1",), leave_one_out=True)
    (r,) = res
    assert (r.endpoint, r.time_months, r.group, r.model, r.scale, r.level) == (
        "OS", 12.0, None, "common", "arcsine", 0.9)
    assert "zuma1" in {e.id for e in r.excluded}
    assert r.leave_one_out is not None and len(r.leave_one_out) == r.k


def test_overall_groups_and_get(results) -> None:
    assert all(r.group is None for r in results.overall)
    assert all(r.group is not None for r in results.groups)
    assert len(results.overall) + len(results.groups) == len(results)
    assert isinstance(results.overall, metaview.PoolResults)
    os12 = results.get("OS", 12)
    assert os12.endpoint == "OS" and os12.time_months == 12 and os12.group is None
    assert os12.subgroup_test is not None
    group = results.get("OS", 12, group="allo-HSCT after CAR-T failure")
    assert group.k == 3
    with pytest.raises(KeyError, match="no result"):
        results.get("XYZ")
    with pytest.raises(KeyError, match="results"):
        results.get()  # many endpoints
    assert isinstance(results[0], PooledResult)
    assert isinstance(results[:2], metaview.PoolResults) and len(results[:2]) == 2
    assert repr(results).startswith("PoolResults([OS@12 [")


# ------------------------------------------------------------------ tables


def test_to_frame_has_the_rows_and_columns_of_pool_csv(results, capsys) -> None:
    frame = results.to_frame()
    assert tuple(frame.columns) == POOL_COLUMNS
    assert len(frame) == sum(len(r.studies) + 1 + len(r.excluded) for r in results)
    csv_text = run_cli(capsys, "pool", STUDIES, "--format", "csv")
    assert results.to_csv() == csv_text
    written = pd.read_csv(io.StringIO(csv_text), keep_default_na=False, dtype=str)
    assert list(written.columns) == list(frame.columns)
    for column in frame.columns:
        for ours, theirs in zip(frame[column], written[column], strict=True):
            if ours is None or ours is pd.NA or (isinstance(ours, float) and math.isnan(ours)):
                assert theirs == "", column
            elif isinstance(ours, (bool, np.bool_)):
                assert theirs == str(bool(ours)), column
            elif isinstance(ours, (int, np.integer)):
                assert int(theirs) == ours, column
            elif isinstance(ours, float):  # the CSV has 10 significant digits
                assert float(theirs) == pytest.approx(ours, rel=1e-9, abs=1e-300), column
            else:
                assert theirs == ours, column


@pytest.mark.parametrize("likelihood", ["normal", "binomial"])
def test_bayesian_table_adds_shrunken_estimates_and_the_posterior_of_tau(
        capsys, likelihood: str) -> None:
    """Under model="bayes" the tidy table (CSV and frame) carries each study's shrunken
    estimate and, on the pooled row, tau's posterior, priors and likelihood, as in JSON."""
    res = metaview.pool(STUDIES, model="bayes", likelihood=likelihood, endpoint="OS", time=12)
    frame = res.to_frame()
    assert tuple(frame.columns) == POOL_COLUMNS + BAYES_POOL_COLUMNS
    csv_text = run_cli(capsys, "pool", STUDIES, "--model", "bayes", "--likelihood",
                       likelihood, "--endpoint", "OS", "--time", "12", "--format", "csv")
    assert res.to_csv() == csv_text
    assert csv_text.splitlines()[0].endswith(",".join(BAYES_POOL_COLUMNS))
    doc = json.loads(run_cli(capsys, "pool", STUDIES, "--model", "bayes", "--likelihood",
                             likelihood, "--endpoint", "OS", "--time", "12",
                             "--format", "json"))
    rows = frame.to_dict("records")
    for a in doc["analyses"]:
        mine = [r for r in rows if r["group"] == a["group"]
                or (a["group"] is None and r["group"] is None)]
        pooled = next(r for r in mine if r["row"] == "pooled")
        for key in ("tau_median", "tau_ci_low", "tau_ci_high"):
            assert pooled[key] == pytest.approx(a[key], rel=1e-12)
        assert (pooled["tau_prior"], pooled["mu_prior"], pooled["likelihood"]) == \
            (a["tau_prior"], a["mu_prior"], likelihood)
        for s in a["studies"]:
            row = next(r for r in mine if r["row"] == "study" and r["id"] == s["id"])
            for key in ("shrunk_estimate", "shrunk_ci_low", "shrunk_ci_high"):
                assert row[key] == pytest.approx(s[key], rel=1e-12), (s["id"], key)
            assert row["shrunk_ci_low"] < row["shrunk_estimate"] < row["shrunk_ci_high"]


def test_to_frame_of_every_single_result(results) -> None:
    """Each PooledResult.to_frame() works on real results: its studies, its pooled row, its
    studies left out, with the analysis's endpoint, landmark and group on every row."""
    for r in results:
        frame = r.to_frame()
        assert tuple(frame.columns) == POOL_COLUMNS
        assert list(frame["row"]) == (["study"] * len(r.studies) + ["pooled"]
                                      + ["excluded"] * len(r.excluded))
        assert set(frame["endpoint"]) == {r.endpoint}
        assert list(frame.loc[frame["row"] == "study", "id"]) == [s.id for s in r.studies]
        pooled = frame[frame["row"] == "pooled"].iloc[0]
        assert pooled["k"] == r.k
        if r.estimate is not None:
            assert pooled["estimate"] == r.estimate and pooled["yi"] == r.theta
            assert pooled["vi"] == pytest.approx(r.se**2, rel=1e-15)
        for _, row in frame[frame["row"] == "study"].iterrows():
            s = next(s for s in r.studies if s.id == row["id"])
            assert row["estimate"] == s.estimate and row["weight"] == s.weight
            assert row["group"] == r.group and row["time_months"] == r.time_months
    assert str(results.to_frame()["count"].dtype) == "Int64"


def test_summary_is_the_text_of_metaview_pool(results, capsys) -> None:
    assert results.summary() == run_cli(capsys, "pool", STUDIES)
    assert results.summary(detail=True, overall=True) == run_cli(
        capsys, "pool", STUDIES, "--detail", "--overall")
    one = metaview.pool(STUDIES, endpoint="OS")
    assert one.summary() == run_cli(capsys, "pool", STUDIES, "--endpoint", "OS")
    text = results.get("OS", 12, group="allo-HSCT after CAR-T failure").summary()
    assert "OS at 12 months" in text and "Chow 2019" in text and "Pooled" in text


def test_repr_html(results) -> None:
    page = results._repr_html_()
    assert page.startswith("<div>") and page.count("<table>") == 1
    assert page.count("<tr>") == len(results) + 1
    assert "allo-HSCT after CAR-T failure" in page and "Pooled estimates" in page
    one = results.get("OS", 12, group="allo-HSCT after CAR-T failure")
    page = one._repr_html_()
    assert page.count("<table>") == 2
    for s in one.studies:
        assert s.label in page
    assert "Heterogeneity" in page
    hostile = replace(one, studies=tuple(replace(s, label="<b>&") for s in one.studies))
    assert "<b>&" not in hostile._repr_html_() and "&lt;b&gt;&amp;" in hostile._repr_html_()


# ------------------------------------------------------------------ forest


@pytest.mark.slow
def test_forest_of_one_result_and_of_many(results, tmp_path) -> None:
    from matplotlib.figure import Figure

    one = results.get("OS", 12, group="allo-HSCT after CAR-T failure")
    fig = metaview.forest(one)
    assert isinstance(fig, Figure)
    assert len(fig.axes) >= 2  # the background and one panel
    fig.savefig(tmp_path / "one.png")
    many = metaview.pool(STUDIES, endpoint=["OS", "PFS"], time=12)
    fig2 = metaview.forest(many, title="OS and PFS at 12 months")
    assert isinstance(fig2, Figure)
    assert len(fig2.axes) > len(fig.axes)  # two panels
    fig2.savefig(tmp_path / "many.png")
    assert fig2.get_figwidth() == pytest.approx(7.2)
    assert metaview.forest(list(many)).get_figwidth() == pytest.approx(7.2)


def _texts(fig) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


@pytest.mark.slow
def test_forest_of_pool_results_is_the_plot_of_metaview_forest() -> None:
    """With an index study, the comparison is drawn as ``metaview forest`` draws it."""
    from metaview.render.forest import forest_plot

    res = metaview.pool(STUDIES, endpoint=["OS", "PFS"], time=12)
    studies = metaview.load_studies(STUDIES)
    options = AnalysisOptions.create(endpoints=["OS", "PFS"], time_months=12)
    expected = forest_plot(analyse(studies, options),
                           comparisons=engine_compare(studies, "cong2024", options),
                           studies=studies)
    fig = metaview.forest(res)
    assert _texts(fig) == _texts(expected)
    assert fig.get_size_inches() == pytest.approx(expected.get_size_inches())
    assert any("Index vs literature" in t for t in _texts(fig))
    bare = metaview.forest(res, comparisons=[])
    assert not any("Index vs literature" in t for t in _texts(bare))


@pytest.mark.slow
def test_forest_into_a_figure_or_an_axes(results) -> None:
    from matplotlib.figure import Figure

    one = results.get("OS", 12)
    mine = Figure()
    assert metaview.forest(one, fig=mine) is mine and mine.axes
    host = Figure(figsize=(8, 6))
    ax = host.add_subplot(1, 2, 1)
    assert metaview.forest(one, ax=ax) is host
    assert len(ax.images) == 1 and not ax.axison
    with pytest.raises(ValueError, match="ax or fig"):
        metaview.forest(one, ax=ax, fig=mine)
    with pytest.raises(TypeError, match="PooledResult"):
        metaview.forest(["OS"])  # type: ignore[list-item]
    with pytest.raises(UsageError, match="nothing to draw"):
        metaview.forest([])


# ------------------------------------------------------------------ compare and report


def test_compare(capsys) -> None:
    comparisons = metaview.compare(STUDIES)
    studies = metaview.load_studies(STUDIES)
    assert list(comparisons) == engine_compare(studies, "cong2024", AnalysisOptions())
    assert comparisons.index == "cong2024"
    frame = comparisons.to_frame()
    assert tuple(frame.columns) == COMPARE_COLUMNS and len(frame) == len(comparisons)
    assert list(frame["difference"]) == [c.difference for c in comparisons]
    assert comparisons.to_csv() == run_cli(capsys, "compare", STUDIES, "--format", "csv")
    assert comparisons.summary() == run_cli(capsys, "compare", STUDIES)
    assert "<pre>" in comparisons._repr_html_()
    assert isinstance(comparisons[0], type(comparisons[0])) and len(comparisons[:1]) == 1
    with pytest.raises(UsageError, match="no study has this id"):
        metaview.compare(STUDIES, index="nobody")


def test_report_stays_callable_beside_its_subpackage() -> None:
    import metaview.report.writer
    from metaview.report import build_report

    assert callable(metaview.report) and callable(build_report)
    assert metaview.report is sys.modules["metaview.report"]


@pytest.mark.slow
def test_report_into_a_folder(tmp_path, capsys) -> None:
    written = metaview.report(STUDIES, tmp_path / "api", endpoint="OS")
    names = {p.name for p in written}
    assert {"index.html", "report.md", "studies.csv", "pooled.csv", "comparison.csv",
            "provenance.csv"} <= names
    assert main(["report", STUDIES, "--endpoint", "OS", "-o", str(tmp_path / "cli")]) == 0
    for name in ("report.md", "studies.csv", "pooled.csv", "comparison.csv", "provenance.csv"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "index.html").write_text("mine")
    with pytest.raises(UsageError, match="not an earlier metaview report"):
        metaview.report(STUDIES, tmp_path / "other", endpoint="OS")
    assert (tmp_path / "other" / "index.html").read_text() == "mine"


# ------------------------------------------------------------------ arrays


def _counts_files(tmp_path, x, n) -> str:
    for i, (xi, ni) in enumerate(zip(x, n, strict=True)):
        (tmp_path / f"s{i}.yaml").write_text(
            f"id: s{i}\nlabel: s{i}\ncitation: A test series.\nyear: 2020\narm: one\n"
            f"patients: {ni}\noutcomes:\n  - endpoint: OS\n    time_months: 12\n"
            f"    count: {xi}\n    total: {ni}\n"
            "    source: 'Checked on the primary source: Table 1.'\n")
    return str(tmp_path)


_NUMBERS = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "theta", "se", "tau2",
            "tau2_ci_low", "tau2_ci_high", "i2", "i2_ci_low", "i2_ci_high", "q", "q_pvalue")


@pytest.mark.parametrize("options", [{}, {"tau2": "DL", "ci": "z"}, {"scale": "pft"},
                                     {"model": "glmm"}, {"model": "common", "scale": "log"}])
def test_pool_counts_equals_the_file_based_path(tmp_path, options) -> None:
    x, n = [16, 10, 4, 43, 0, 25], [17, 12, 8, 58, 10, 42]
    from_files = metaview.pool(_counts_files(tmp_path, x, n), **options).get("OS", 12)
    from_arrays = metaview.pool_counts(x, n, endpoint="OS", time=12,
                                       labels=[f"s{i}" for i in range(6)], **options)
    assert isinstance(from_arrays, metaview.PoolResults) and len(from_arrays) == 1
    (r,) = from_arrays
    for name in _NUMBERS:
        expected = getattr(from_files, name)
        if expected is None:
            assert getattr(r, name) is None, name
        else:
            assert getattr(r, name) == pytest.approx(expected, rel=1e-12), name
    assert r.model == from_files.model and r.warnings == from_files.warnings
    for ours, theirs in zip(r.studies, from_files.studies, strict=True):
        for name in ("estimate", "ci_low", "ci_high", "yi", "vi", "weight"):
            a, b = getattr(ours, name), getattr(theirs, name)
            assert (a is None and b is None) or a == pytest.approx(b, rel=1e-12), name
    assert [s.id for s in r.studies] == [f"s{i}" for i in range(6)]
    default = metaview.pool_counts(x, n)[0]
    assert [s.id for s in default.studies] == [f"study{i}" for i in range(1, 7)]
    assert default.studies[0].label == "Study 1" and default.endpoint == "P"


def _ref(dataset: str, measure: str, method: str, test: str) -> dict:
    return next(r for r in REF["rma"] if (r["dataset"], r["measure"], r["method"], r["test"])
                == (dataset, measure, method, test))


_SCALE = {"PLO": "logit", "PLN": "log", "PR": "raw", "PAS": "arcsine", "PFT": "pft"}
_TEST = {"z": "z", "knha": "hk", "adhoc": "hk-adhoc"}


@pytest.mark.parametrize("measure", sorted(_SCALE))
@pytest.mark.parametrize("method,test", [("DL", "z"), ("DL", "knha"), ("FE", "z"),
                                         ("REML", "adhoc"), ("PM", "knha")])
def test_pool_counts_and_pool_estimates_match_metafor(measure, method, test) -> None:
    ds = REF["datasets"]["pritz1997"]
    ref = _ref("pritz1997", measure, method, test)
    rtol = CLOSED_FORM_RTOL if method in ("DL", "FE") else ITERATIVE_RTOL
    kw = {"scale": _SCALE[measure], "ci": _TEST[test]}
    kw.update({"model": "common"} if method == "FE" else {"tau2": method})
    from_counts = metaview.pool_counts(ds["x"], ds["n"], **kw)[0]
    from_yi = metaview.pool_estimates(ref["yi"], ref["vi"], n=ds["n"], **kw)[0]
    for r in (from_counts, from_yi):
        assert r.k == ref["k"]
        assert r.theta == pytest.approx(ref["b"], rel=rtol)
        assert r.se == pytest.approx(ref["se"], rel=rtol)
        assert r.tau2 == pytest.approx(ref["tau2"], rel=rtol, abs=1e-8)
        assert r.q == pytest.approx(ref["QE"], rel=CLOSED_FORM_RTOL)
        assert r.q_pvalue == pytest.approx(ref["QEp"], rel=CLOSED_FORM_RTOL)
        assert r.i2 == pytest.approx(ref["I2"], rel=rtol, abs=1e-4)
        assert [s.weight for s in r.studies] == pytest.approx(ref["weights"], rel=rtol)
    if measure == "PLO":
        def expit(t: float) -> float:
            return 1.0 / (1.0 + math.exp(-t))

        assert from_yi.estimate == pytest.approx(expit(ref["b"]), rel=rtol)
        assert from_yi.ci_low == pytest.approx(expit(ref["ci_lb"]), rel=rtol)
        assert from_yi.ci_high == pytest.approx(expit(ref["ci_ub"]), rel=rtol)
        if method != "FE":
            assert from_yi.pi_low == pytest.approx(expit(ref["pred"]["pi_lb"]), rel=rtol)
            assert from_yi.pi_high == pytest.approx(expit(ref["pred"]["pi_ub"]), rel=rtol)


def test_pool_estimates_per_study_rows() -> None:
    yi, vi = [0.2, -0.4, 1.1], [0.04, 0.09, 0.25]
    res = metaview.pool_estimates(yi, vi, labels=["A", "B", "C"], endpoint="ORR")
    (r,) = res
    assert (r.endpoint, r.time_months, r.group) == ("ORR", None, None)
    s = r.studies[1]
    assert (s.id, s.label, s.yi, s.vi) == ("B", "B", -0.4, 0.09)
    assert s.estimate == pytest.approx(1 / (1 + math.exp(0.4)), rel=1e-12)
    assert s.ci_low == pytest.approx(1 / (1 + math.exp(0.4 + 1.959963984540054 * 0.3)),
                                     rel=1e-12)
    frame = res.to_frame()
    assert list(frame["id"][:3]) == ["A", "B", "C"] and frame["row"].iloc[3] == "pooled"
    out = metaview.pool_estimates(yi, vi, labels=["A", "B", "C"], exclude="C")[0]
    assert out.k == 2 and [e.id for e in out.excluded] == ["C"]


def test_array_groups_give_one_analysis_per_group_and_the_test() -> None:
    res = metaview.pool_counts([3, 5, 9, 12], [10, 12, 20, 22],
                               groups=["a", "a", "b", "b"], leave_one_out=True)
    assert [r.group for r in res] == ["a", "b", None]
    assert res.overall[0].subgroup_test is not None
    alone = metaview.pool_counts([3, 5], [10, 12])[0]
    assert res[0].theta == pytest.approx(alone.theta, rel=1e-12)


def test_arrays_bayes_model() -> None:
    r = metaview.pool_counts([3, 5, 9], [10, 12, 20], model="bayes")[0]
    assert r.model == "bayes" and r.tau_median is not None and r.estimate is not None


# ------------------------------------------------------------------ bad values


@pytest.mark.parametrize("kwargs,message", [
    ({"scale": "logt"}, r"--scale: 'logt' is not one of: logit, cloglog, log"),
    ({"model": "glm"}, r"--model: 'glm' is not one of: random, common, glmm, bayes"),
    ({"tau2": "XX"}, r"--tau2: 'XX' is not one of: REML, ML"),
    ({"ci": "t"}, r"--ci t is for --model glmm"),
    ({"model": "glmm", "scale": "log"}, r"logit scale only"),
    ({"level": 1.2}, r"--level must lie between 0 and 1"),
    ({"time": -3}, r"--time must be a positive number"),
    ({"study_ci": "exact"}, r"--study-ci: 'exact' is not one of: wilson"),
    ({"tau_prior": "half-normal:1"}, r"are for --model bayes"),
    ({"model": "bayes", "tau_prior": "normal"}, r"--tau-prior: 'normal' is not a prior"),
    ({"exclude": "nobody"}, r"--exclude nobody: no study has this id"),
    ({"group_by": "colour"}, r"--group-by colour: no study has this field"),
])
def test_bad_option_values_are_value_errors_naming_the_option(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message) as info:
        metaview.pool(STUDIES, **kwargs)
    assert isinstance(info.value, UsageError)


@pytest.mark.parametrize("kwargs,message", [
    ({"endpoint": 5}, "endpoints must be a list of strings"),
    ({"level": "0.95"}, "level must be a number"),
    ({"time": "12"}, "time_months must be a number"),
    ({"leave_one_out": "yes"}, "leave_one_out must be True or False"),
    ({"group_by": 3}, "group_by must be a field name"),
])
def test_wrong_types_are_type_errors(kwargs, message) -> None:
    with pytest.raises(TypeError, match=message):
        metaview.pool(STUDIES, **kwargs)


def test_options_are_checked_however_they_are_built() -> None:
    assert AnalysisOptions(scale="LOGIT") == AnalysisOptions()  # type: ignore[arg-type]
    options = AnalysisOptions(model="glmm", tau2_method="DL", endpoints=["os", "OS"])  # type: ignore[arg-type]
    assert options.model is Model.GLMM and options.tau2_method is Tau2Method.ML
    assert options.ci_method is CIMethod.Z and options.endpoints == ("OS",)
    assert AnalysisOptions.create(model="glmm") == AnalysisOptions(model=Model.GLMM)
    plain = AnalysisOptions(scale="raw", ci_method="HK", study_ci="Wald")  # type: ignore[arg-type]
    assert (plain.scale, plain.ci_method, plain.study_ci) == (Scale.RAW, CIMethod.HK,
                                                              StudyCI.WALD)
    assert all(type(v) is not str for v in (plain.scale, plain.ci_method, plain.study_ci,
                                            plain.model, plain.tau2_method, plain.likelihood))
    with pytest.raises(ValueError, match="--scale: 'logt'"):
        AnalysisOptions(scale="logt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="--scale: 'logt'"):
        replace(AnalysisOptions(), scale="logt")
    with pytest.raises(ValueError, match="logit scale only"):
        replace(AnalysisOptions(model=Model.GLMM), scale=Scale.LOG)
    bayes = AnalysisOptions(model="bayes", mu_prior="normal:0,2")  # type: ignore[arg-type]
    assert replace(bayes, endpoints=("OS",)).mu_prior == bayes.mu_prior
    assert bayes.tau_prior is not None and not isinstance(bayes.mu_prior, str)


@pytest.mark.parametrize("call,message", [
    (lambda: metaview.pool_counts([1, 2], [5]), "same length"),
    (lambda: metaview.pool_counts([6, 2], [5, 5]), "need 0 <= x <= n"),
    (lambda: metaview.pool_counts([1.5, 2], [5, 5]), "whole numbers"),
    (lambda: metaview.pool_counts([], []), "non-empty"),
    (lambda: metaview.pool_counts([1, float("nan")], [5, 5]), "finite"),
    (lambda: metaview.pool_counts([1, 2], [5, 5], labels=["a", "a"]), "unique"),
    (lambda: metaview.pool_counts([1, 2], [5, 5], groups=["a"]), "groups"),
    (lambda: metaview.pool_counts([1, 2], [5, 5], scale="nope"), "--scale: 'nope'"),
    (lambda: metaview.pool_estimates([0.1, 0.2], [0.1, 0.0]), "must be > 0"),
    (lambda: metaview.pool_estimates([0.1, 0.2], [0.1, 0.1], scale="pft"), "needs n"),
    (lambda: metaview.pool_estimates([[0.1]], [[0.1]]), "one-dimensional"),
    (lambda: metaview.pool_estimates(["a"], [0.1]), "sequence of numbers"),
])
def test_bad_arrays_are_value_errors(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_studies_and_paths_are_not_mixed() -> None:
    studies = metaview.load_studies(STUDIES)
    with pytest.raises(TypeError, match="not both"):
        metaview.pool([studies[0], STUDIES])
    with pytest.raises(ValueError, match="no studies given"):
        metaview.pool([])


def test_the_verbs_take_the_same_options_as_the_command_line():
    """pool, compare and report spell the options out; the lists and defaults agree."""
    import inspect

    from metaview import api
    from metaview.api import OPTION_NAMES, _options

    names = list(inspect.signature(_options).parameters)
    assert names == list(OPTION_NAMES)
    want = {n: inspect.signature(metaview.pool).parameters[n].default for n in OPTION_NAMES}
    defaults = AnalysisOptions()
    assert want["model"] == defaults.model.value and want["scale"] == defaults.scale.value
    for verb in (api.pool, api.compare, api.report):
        params = inspect.signature(verb).parameters
        assert {n: params[n].default for n in OPTION_NAMES} == want, verb.__name__
        assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in OPTION_NAMES)
