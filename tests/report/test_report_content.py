"""What a report contains: analyses, comparisons, the GLMM beside the default, caveats,
methods and provenance (built from Study objects; figures replaced by a stub)."""

from __future__ import annotations

import pytest
from report_data import hostile_study, six_studies

from metaview.engine.analysis import AnalysisOptions
from metaview.errors import AnalysisError, UsageError
from metaview.report import build_report, report_files
from metaview.report.compose import characteristic_name, compose, pct_ci
from metaview.report.figures import FigureFiles

pytestmark = pytest.mark.slow  # every test here takes seconds (-m "not slow" skips them)

STUB_SVG = ('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100pt" '
            'height="50pt" viewBox="0 0 100 50"><defs><style type="text/css">*{stroke: none}'
            '</style><clipPath id="p1"><rect width="1" height="1"/></clipPath></defs>'
            '<g id="figure_1" clip-path="url(#p1)"><text>stub</text></g></svg>\n')


def stub_figure(analysis, studies):
    return FigureFiles(svg=STUB_SVG, png=b"\x89PNG stub " + analysis.stem.encode())


def build(studies=None, **options):
    index_id = options.pop("index_id", None)
    return build_report(six_studies() if studies is None else studies,
                        AnalysisOptions.create(**options), index_id=index_id,
                        figures=stub_figure)


def text_of(report) -> tuple[str, str]:
    files = report_files(report)
    return files["index.html"].decode(), files["report.md"].decode()


# --------------------------------------------------------------------------- analyses


def test_requested_landmark_first_then_other_landmarks_reported_by_two_series():
    report = build()
    pairs = [(a.endpoint, a.time_months, a.at_requested_landmark) for a in report.analyses]
    assert pairs[:2] == [("OS", 12.0, True), ("PFS", 12.0, True)]
    # Fried 2023 and ZUMA-1 both report OS at 24 months: analysed as well.
    assert ("OS", 24.0, False) in pairs
    # PFS at 24 months: Fried 2023 only, not an analysis of its own.
    assert ("PFS", 24.0, False) not in pairs


def test_forest_plots_for_1_year_os_and_pfs_and_any_pair_reported_by_two_series():
    report = build()
    stems = [stem for stem, _ in report.figures]
    assert stems[:2] == ["forest-os-12m", "forest-pfs-12m"]
    assert "forest-orr" in stems and "forest-allo_hsct" in stems and "forest-os-24m" in stems
    # NRM at 12 months: Zurko 2023 only -> no figure.
    assert "forest-nrm-12m" not in stems
    files = report_files(report)
    for stem in stems:
        assert files[f"{stem}.svg"] == STUB_SVG.encode()
        assert files[f"{stem}.png"].startswith(b"\x89PNG")


def test_comparison_against_the_same_arm_only():
    report = build()
    os12 = report.analyses[0]
    (c,) = os12.comparisons
    assert c.index.id == "cong2024"
    assert {s.id for s in c.pooled.studies} == {"chow2019", "zurko2023"}  # not ZUMA-1
    html, md = text_of(report)
    assert "Cong 2024 against the literature" in html
    assert "No evidence of a difference" in html
    assert "inside the 95% prediction interval" in html
    # PFS: the literature side is Zurko 2023 alone, so there is no prediction interval.
    assert "no PI (k = 1)" in md
    assert "the spread between series cannot be estimated" in md


def test_glmm_is_shown_beside_the_default_and_its_fallbacks_are_said():
    report = build()
    allo = next(a for a in report.analyses if a.endpoint == "ALLO_HSCT")
    pivotal = next(g for g in allo.groups if g.group == "CAR-T pivotal trial")
    glmm = allo.companion_for(pivotal)
    assert glmm is not None and glmm.model == "glmm" and glmm.k == 2
    os12 = report.analyses[0]
    pseudo = os12.companion_for(os12.groups[0])
    # Zurko 2023 reports an estimate and its total: the GLMM uses pseudo-counts and says so
    assert pseudo is not None and pseudo.model == "glmm"
    assert any("pseudo-counts" in w and "zurko2023" in w for w in pseudo.warnings)
    html, md = text_of(report)
    assert "GLMM (95% CI)" in html
    assert pct_ci(glmm.estimate, glmm.ci_low, glmm.ci_high) in md
    assert "not fitted (needs counts)" not in md


def test_glmm_errors_are_reported_not_raised(monkeypatch):
    from metaview.report import content

    real = content.analyse

    def failing(studies, options):
        if options.model.value == "glmm":
            raise AnalysisError("the GLMM exploded")
        return real(studies, options)

    monkeypatch.setattr(content, "analyse", failing)
    report = build()
    assert all(a.companion_error == "the GLMM exploded" for a in report.analyses)
    _html, md = text_of(report)
    assert "not run (see caveats)" in md
    assert "It could not be run: OS 12 mo: the GLMM exploded" in md


def test_with_glmm_as_the_model_the_default_is_shown_beside_it():
    report = build(model="glmm")
    assert report.companion_options is not None
    assert report.companion_options.model.value == "random"
    _html, md = text_of(report)
    assert "Default model (95% CI)" in md
    assert "binomial-normal generalised linear mixed model" in md
    assert 'rma.glmm(xi, ni, measure="PLO"' in md


def test_unknown_index_and_nothing_to_report_are_errors():
    with pytest.raises(UsageError, match="--index nobody"):
        build(index_id="nobody")
    with pytest.raises(AnalysisError, match="nothing to report"):
        build(endpoints=["XYZ"])
    with pytest.raises(AnalysisError, match="no studies"):
        build(studies=[])


def test_without_an_index_cohort_there_is_no_comparison_section():
    studies = [s for s in six_studies() if s.id != "cong2024"]
    report = build(studies=studies)
    assert report.index is None and not any(a.comparisons for a in report.analyses)
    html, md = text_of(report)
    assert 'id="comparison"' not in html
    assert "No study is marked as the index cohort" in md


def test_explicit_index_is_compared_and_recorded_in_the_command_line():
    report = build(index_id="zurko2023")
    assert report.analyses[0].comparisons[0].index.id == "zurko2023"
    _html, md = text_of(report)
    assert "Zurko 2023 against the literature" in md
    assert "--index zurko2023" in md


# --------------------------------------------------------------------------- caveats


def test_caveats_come_from_the_data():
    _html, md = text_of(build())
    caveats = md.split("## Caveats", 1)[1].split("\n## ", 1)[0]
    assert "Different arms are not pooled together." in caveats
    assert "Time origins differ (OS 12 mo)." in caveats
    assert "from progression after CAR-T: Chow 2019" in caveats
    assert "from CAR-T infusion: ZUMA-1" in caveats
    assert "Landmarks not reported." in caveats
    assert "Fried 2023: OS at 12 months not reported (reports OS at 24 months)" in caveats
    assert "Approximate standard errors." in caveats
    assert "Zurko 2023 (OS 12 mo, PFS 12 mo" in caveats
    assert "Derived figures." in caveats and "Cong 2024 (OS 12 mo, PFS 12 mo)" in caveats
    assert "Single series." in caveats and "Small index cohort." in caveats
    # Every warning of the analyses is listed as written.
    assert "## Every warning of the analyses, as written" in md
    assert "time origins differ (allo-HSCT: cong2024, zurko2023" in md


def test_no_group_pools_arms_together_and_says_so():
    _html, md = text_of(build(group_by=None))
    assert "All arms are pooled together (no grouping)." in md
    assert "All series were pooled together (no grouping)." in md
    assert "--no-group" in md


def test_excluded_study_is_named():
    report = build(exclude=["chow2019"])
    _html, md = text_of(report)
    assert "Left out on request (--exclude): Chow 2019." in md
    assert "chow2019: excluded with --exclude" not in md
    assert "Chow 2019: excluded with --exclude" in md
    assert "--exclude chow2019" in md


def test_leave_one_out_table_never_shows_nan():
    _html, md = text_of(build(leave_one_out=True))
    loo = md.split("### Leave-one-out", 1)[1].split("\n## ", 1)[0]
    assert "| OS 12 mo | allo-HSCT after CAR-T failure | Chow 2019 |" in loo
    assert ("PFS 12 mo | allo-HSCT after CAR-T failure | Cong 2024 | 45% (one series left) | "
            "\u2013") in loo
    assert "nan" not in loo.lower()
    assert "Each pooled set was refitted without each series in turn" in md


def test_grouping_by_another_field_is_named_as_such():
    _html, md = text_of(build(group_by="design"))
    assert "Grouped by design, not by arm." in md
    assert "### All series together (designs mixed: for reference only)" in md
    assert "Between-group p" in md
    assert "Series were grouped by 'design'" in md


def test_other_requested_landmark():
    report = build(time_months=24)
    assert [(a.endpoint, a.time_months) for a in report.analyses][:2] == [
        ("OS", 24.0), ("PFS", 24.0)]
    _html, md = text_of(report)
    assert "Time-to-event endpoints were taken at 24 months" in md
    assert "Other landmarks reported by at least two series (12 months)" in md


# --------------------------------------------------------------------------- methods


@pytest.mark.parametrize(
    ("options", "present", "absent"),
    [
        ({}, ["restricted maximum likelihood (REML)", "Hartung-Knapp", "ad hoc form",
              "Knapp G, Hartung J. Improved tests", "IntHout J", "Higgins JPT",
              "Viechtbauer W. Confidence intervals for the amount of heterogeneity",
              "Viechtbauer W. Conducting meta-analyses in R with the metafor package",
              "Wilson EB.", "Stijnen T", 'test="adhoc"', "logit (log odds) scale"],
         ["Schwarzer G", "DerSimonian R"]),
        ({"tau2_method": "DL", "ci_method": "z", "scale": "pft",
          "study_ci": "clopper-pearson", "level": 0.9},
         ["the DerSimonian-Laird method (DL)", "DerSimonian R, Laird N.", "Schwarzer G",
          "Miller JJ.", "Clopper CJ", "90% CI of the pooled proportion used the normal",
          'measure="PFT"', 'test="z"', "level=90"],
         ["Wilson EB.", "Hartung-Knapp", "IntHout J"]),
        ({"model": "common"}, ["common-effect (fixed-effect) model", 'method="EE"'],
         ["prediction intervals (Higgins", "Q-profile"]),
    ],
)
def test_methods_are_written_from_the_options_used(options, present, absent):
    _html, md = text_of(build(**options))
    methods = md.split("## Methods", 1)[1].split("\n## ", 1)[0]
    for text in present:
        assert text in methods, text
    for text in absent:
        assert text not in methods, text


def test_software_versions_and_options_are_listed():
    _html, md = text_of(build())
    for name in ("metaview", "Python", "numpy", "scipy", "matplotlib"):
        assert f"| {name} |" in md
    assert ("metaview report PATH -o DIR --model random --tau2 REML --ci hk-adhoc --scale "
            "logit --study-ci wilson --level 0.95") in md
    assert "the studies were not read from files, so no hash is given" in md


# --------------------------------------------------------------------------- provenance


def test_every_reported_number_is_in_the_provenance_table():
    import pandas as pd

    studies = six_studies()
    report = build()
    frame = pd.read_csv(__import__("io").BytesIO(report_files(report)["provenance.csv"]))
    assert len(frame) == sum(len(s.outcomes) for s in studies)
    for s in studies:
        for o in s.outcomes:
            rows = frame[(frame["id"] == s.id) & (frame["endpoint"] == o.endpoint)
                         & (frame["source"] == o.source)]
            assert len(rows) == 1, (s.id, o.endpoint)
    used = {(i, e, t): u for i, e, t, u in zip(frame["id"], frame["endpoint"],
                                                frame["time_months"], frame["used_in"],
                                                strict=True)}
    assert len(used) == len(frame)
    assert used[("cong2024", "OS", 12)] == "OS 12 mo (allo-HSCT after CAR-T failure)"
    fried_pfs = used[("fried2023", "PFS", 24)]
    assert fried_pfs.startswith("not used (PFS is analysed at 12 months; this figure is at 24")
    _html, md = text_of(report)
    assert "D: a Kaplan-Meier value of exactly 70% with 10 patients" in md
    assert "45% (95% CI 31\u201366%, log)" in md


def test_csv_tables_have_one_row_per_study_and_analysis():
    import io

    import pandas as pd

    report = build()
    files = report_files(report)
    pooled = pd.read_csv(io.BytesIO(files["pooled.csv"]))
    studies = pd.read_csv(io.BytesIO(files["studies.csv"]))
    comparison = pd.read_csv(io.BytesIO(files["comparison.csv"]))
    main = pooled[pooled["analysis"] == "main"]
    assert len(main) == sum(len(a.results) for a in report.analyses)
    assert set(pooled["analysis"]) == {"main", "glmm", "bayes"}
    assert len(studies[studies["analysis"] == "main"]) == sum(
        r.k for a in report.analyses for r in a.results)
    assert list(comparison["endpoint"]) == ["OS", "PFS"]
    os12 = main[(main["endpoint"] == "OS") & main["group"].isna()].iloc[0]
    result = report.analyses[0].overall
    assert os12["estimate"] == pytest.approx(result.estimate, rel=1e-9)
    assert os12["k"] == result.k


# --------------------------------------------------------------------------- escaping


def test_study_text_is_escaped_in_html_and_markdown():
    studies = six_studies() + [hostile_study()]
    html, md = text_of(build(studies=studies))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    lowered = html.lower()
    for bad in ("<script", "<img", "<iframe", "<b>", "<i>", "<svg onload", "<a href=https",
                "<style>body", 'href="javascript'):
        assert bad not in lowered, bad
    assert "javascript:alert(3)" in html  # shown as text, not linked
    # Already-escaped text stays as written (escaped once more, shown literally).
    assert "&amp;lt;already escaped&amp;gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    for bad in ("<script", "<img", "<iframe", "<svg onload", "<style>body"):
        assert bad not in md.lower(), bad
    # A pipe in study text does not break a Markdown table row.
    assert "\\| with a pipe" in md


def test_only_http_links_and_local_files_are_linked():
    import re

    html, _ = text_of(build(studies=six_studies() + [hostile_study()]))
    hrefs = re.findall(r'<a href="([^"]*)"', html)
    assert hrefs, "expected links"
    for href in hrefs:
        assert href.startswith(("#", "https://doi.org/")) or re.fullmatch(
            r"forest-[a-z0-9_-]+\.(svg|png)", href), href


def test_characteristic_names_are_readable():
    assert characteristic_name("ecog_0_1") == "ECOG 0\u20131"
    assert characteristic_name("cart_to_hsct_days") == "CAR-T to HSCT days"
    assert characteristic_name("age_years") == "Age years"


def test_document_sections_in_reading_order():
    doc = compose(build())
    assert [s.id for s in doc.sections] == [
        "question", "comparison", "forest", "pooled", "bayes", "caveats", "studies", "provenance",
        "methods", "software", "warnings"]


def test_censoring_is_named_only_for_landmark_endpoints():
    from pathlib import Path

    from metaview.io import load_studies

    studies = load_studies([Path(__file__).resolve().parents[2] / "studies"])
    _html, md = text_of(build(studies))
    caveats = md.split("## Caveats", 1)[1].split("\n## ", 1)[0]
    timed = next(line for line in caveats.splitlines() if "Approximate standard errors." in line)
    untimed = next(line for line in caveats.splitlines()
                   if "Approximate standard errors without a landmark." in line)
    assert "Zurko 2023 (OS 12 mo" in timed and "censoring" in timed and "CR" not in timed
    assert "JULIET (CR)" in untimed and "censoring" not in untimed
