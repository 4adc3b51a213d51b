"""Provenance of the six study files: the status of every figure, its derivation, and the facts
the sources do and do not support, pinned so that a later edit cannot quietly undo them."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from scipy.stats import beta, norm

from metaview.io import load_studies
from metaview.model import Outcome, Study

REPO = Path(__file__).resolve().parents[2]

#: The status phrases a ``source`` starts with (README, "The study file format"), by code.
STATUSES = {
    "Checked on the primary source": "primary",
    "As cited in Cong 2024": "cited",
    "From a secondary publication": "secondary",
    "Not verified": "unverified",
}
STATUS_RE = re.compile(r"^(" + "|".join(map(re.escape, STATUSES)) + r"): \S")


@pytest.fixture(scope="module")
def studies() -> dict[str, Study]:
    return {s.id: s for s in load_studies([REPO / "studies"])}


def status(o: Outcome) -> str:
    """The status code of an outcome's ``source`` ("" when it starts with no status)."""
    match = STATUS_RE.match(o.source)
    return STATUSES[match.group(1)] if match else ""


def provenance(study: Study) -> dict[tuple[str, float | None], tuple[str, bool]]:
    """(endpoint, landmark) -> (status code, whether a ``derived`` text is present)."""
    found = {(o.endpoint, o.time_months): (status(o), o.derived is not None)
             for o in study.outcomes}
    assert len(found) == len(study.outcomes), study.id
    return found


def only(study: Study, endpoint: str, time: float | None) -> Outcome:
    found = study.outcomes_for(endpoint, time)
    assert len(found) == 1, (study.id, endpoint, time)
    return found[0]


def text_of(study: Study) -> str:
    return Path(study.path).read_text("utf-8")


def flat(text: str | None) -> str:
    """Folded text as one line, so that a phrase may be looked for across line breaks."""
    return " ".join((text or "").split())


def group_comments(study: Study) -> dict[str, str]:
    """Characteristic -> the comment block above its group in the file (one line of text)."""
    groups: dict[str, str] = {}
    inside, comment, fresh = False, "", False
    for line in text_of(study).splitlines():
        if not line.startswith(" "):
            inside = line.startswith("characteristics:")
            continue
        if not inside:
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = (comment + " " if fresh else "") + stripped.lstrip("# ")
            fresh = True
            continue
        fresh = False
        key = re.match(r"^  ([a-z][a-z0-9_]*):", line)
        if key:
            groups[key.group(1)] = comment
    return groups


# ----------------------------------------------------------------------------- every file


def test_every_source_starts_with_a_status(studies):
    for study in studies.values():
        for o in study.outcomes:
            assert status(o), (study.id, o.endpoint, o.time_months, o.source[:40])


def test_every_derivation_says_it_is_one(studies):
    for study in studies.values():
        for o in study.outcomes:
            if o.derived is not None:
                assert o.derived.startswith("Derived: "), (study.id, o.endpoint)


def test_the_old_status_words_are_gone(studies):
    for study in studies.values():
        text = flat(text_of(study)).lower()
        assert "primary source checked" not in text, study.id
        assert "primary source not checked" not in text, study.id
        assert "ci_method derived" not in text, study.id


def test_the_readme_defines_the_vocabulary_once():
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("### The study file format", 1)[1].split("\n## ", 1)[0]
    for phrase in STATUSES:
        assert readme.count(f"`{phrase}:`") == 1, phrase
        assert f"| `{phrase}:` |" in section, phrase
    assert "`Derived:`" in section


# ----------------------------------------------------------------------------- cong2024


def test_cong2024_status(studies):
    assert provenance(studies["cong2024"]) == {
        ("OS", 12): ("primary", False), ("PFS", 12): ("primary", False),
        ("CR", None): ("primary", False), ("ORR", None): ("primary", False),
        ("NRM", None): ("primary", True),
    }


@pytest.mark.parametrize(("endpoint", "count", "reported"), [("OS", 7, "70%"), ("PFS", 4, "40%")])
def test_cong2024_landmarks_are_the_reported_kaplan_meier_figures(studies, endpoint, count,
                                                                   reported):
    o = only(studies["cong2024"], endpoint, 12)
    # the study file holds the figure the paper prints, not counts made from it
    assert (o.count, o.estimate_text, o.total, o.time_origin) == (
        None, reported, 10, "allo-HSCT")
    assert o.derived is None
    note = flat(o.note)
    assert note.startswith("A Kaplan-Meier figure, not a count")
    assert f"use {reported} x 10 = {count} of 10 as pseudo-counts, flagged approximate" in note
    assert "assumes no patient was censored before 12 months" in note
    assert f"after allo-HSCT {reported}, a Kaplan-Meier figure" in flat(o.source)


def test_cong2024_pseudo_counts_are_the_counts_the_note_names(studies):
    for endpoint, count in (("OS", 7), ("PFS", 4)):
        o = only(studies["cong2024"], endpoint, 12)
        assert round(o.estimate * o.total, 9) == count


def kaplan_meier(pattern: str) -> float:
    """Kaplan-Meier survival of 10 patients after the first ``len(pattern)`` of them, in time
    order, had an event (``D``) or were censored (``C``)."""
    at_risk, surv = 10, 1.0
    for step in pattern:
        if step == "D":
            surv *= (at_risk - 1) / at_risk
        at_risk -= 1
    return surv


def test_cong2024_the_counter_examples_hold():
    # 70% with censoring: three deaths, then one patient censored
    assert math.isclose(kaplan_meier("DDDC"), 0.70)
    # 40% with censoring: two events, two censored, three events
    assert math.isclose(kaplan_meier("DDCCDDD"), 0.40)
    assert round(100 * 32 / 81) == 40


def test_cong2024_nrm_is_a_reading_of_the_causes_of_death(studies):
    o = only(studies["cong2024"], "NRM", None)
    assert (o.count, o.total, o.time_months, o.time_origin) == (2, 10, None, "allo-HSCT")
    source, derived = flat(o.source), flat(o.derived)
    assert '"Non-relapse was 20.0%"' in source and "without \"mortality\"" in source
    assert "non-relapse mortality" not in source.lower()
    assert derived.startswith('Derived: reading "Non-relapse was 20.0%" as non-relapse mortality')
    assert "acute renal failure, severe pulmonary infection" in derived


def test_cong2024_characteristics_say_where_each_group_is(studies):
    s = studies["cong2024"]
    groups = group_comments(s)
    table1 = ("age_years", "male", "ecog_0_1", "ecog_2_or_more", "ann_arbor_iii",
              "ann_arbor_iv", "ldh_above_uln", "histology_dlbcl", "prior_therapies", "ipi_0_1",
              "ipi_2", "ipi_3", "ipi_4")
    text = ("cart_target_cd19", "cart_target_cd19_cd22", "cart_product",
            "cart_best_response_cr", "cart_best_response_pr", "cart_best_response_sd_pd",
            "salvage_after_cart_venetoclax_based", "salvage_after_cart_ibrutinib_tislelizumab",
            "salvage_after_cart_none", "cart_to_hsct_days", "donor_haploidentical",
            "donor_matched_sibling", "neutrophil_engraftment_days", "platelet_engraftment_days",
            "cd34_dose_1e6_per_kg", "gvhd_prophylaxis_csa_mmf_mtx")
    reported = ("engraftment", "acute_gvhd_grade_ii", "acute_gvhd_grade_iii")
    summed = ("acute_gvhd_grade_ii_iv", "acute_gvhd_grade_iii_iv")
    table2 = ("conditioning_bu_cy", "conditioning_tbi_cy", "status_before_hsct_pr",
              "status_before_hsct_pd", "graft_peripheral_blood", "graft_bone_marrow",
              "graft_peripheral_blood_and_bone_marrow", "response_by_status_before_hsct")
    assert set(groups) == set(s.characteristics) == {*table1, *text, *reported, *summed, *table2}
    for key in table1:
        assert groups[key] == "Table 1 (checked on the primary source)", key
    for key in text:
        assert groups[key] == "In the text, not in Table 1 (checked on the primary source)", key
    for key in reported:
        assert groups[key].startswith("Engraftment and acute GVHD by grade"), key
    for key in summed:
        assert groups[key].startswith("Derived: summed from the two grades above"), key
    for key in table2:
        assert groups[key].startswith("Derived: tallied from the per-patient rows of Table 2"), key


def test_cong2024_characteristics_values(studies):
    c = studies["cong2024"].characteristics

    def n(count: int) -> dict[str, int]:
        return {"count": count, "total": 10}

    assert c["age_years"] == {"median": 43.5, "min": 27, "max": 52}
    assert (c["histology_dlbcl"], c["ipi_0_1"], c["ipi_2"], c["ipi_3"], c["ipi_4"]) == (
        n(10), n(0), n(4), n(5), n(1))
    assert (c["salvage_after_cart_venetoclax_based"],
            c["salvage_after_cart_ibrutinib_tislelizumab"], c["salvage_after_cart_none"]) == (
        n(2), n(1), n(7))
    assert (c["graft_peripheral_blood"], c["graft_bone_marrow"],
            c["graft_peripheral_blood_and_bone_marrow"]) == (n(3), n(1), n(6))
    assert (c["acute_gvhd_grade_ii"], c["acute_gvhd_grade_iii"], c["acute_gvhd_grade_ii_iv"],
            c["acute_gvhd_grade_iii_iv"], c["engraftment"]) == (n(1), n(1), n(2), n(1), n(10))
    assert (c["conditioning_bu_cy"], c["conditioning_tbi_cy"], c["status_before_hsct_pr"],
            c["status_before_hsct_pd"]) == (n(8), n(2), n(3), n(7))
    assert c["cart_to_hsct_days"] == {"median": 84.5, "min": 31, "max": 370}
    assert c["cd34_dose_1e6_per_kg"] == {"median": 3.04, "min": 0.95, "max": 7.36}
    assert c["response_by_status_before_hsct"] == (
        "of 3 patients in PR before allo-HSCT: CR 1, PR 1, PD 1; of 7 in PD: CR 4, PD 3")


def test_cong2024_notes_name_the_papers_inconsistencies(studies):
    notes = flat(studies["cong2024"].notes)
    assert '"6 patients were still living"' in notes and '"Among 5 survivals"' in notes
    assert '"median OS 21 months (range 3-69)"' in notes
    assert "repeats the median follow-up with a range: it is not a Kaplan-Meier median" in notes


# ----------------------------------------------------------------------------- zuma1


def test_zuma1_status(studies):
    assert provenance(studies["zuma1"]) == {
        ("OS", 12): ("primary", True), ("OS", 24): ("secondary", False),
        ("OS", 60): ("primary", False), ("ORR", None): ("primary", False),
        ("CR", None): ("primary", False), ("ALLO_HSCT", None): ("cited", True),
    }


def test_zuma1_os24_is_the_comparison_papers_figure(studies):
    o = only(studies["zuma1"], "OS", 24)
    assert (o.estimate_text, o.total, o.ci, o.time_origin) == ("54%", 101, None, "CAR-T infusion")
    source, note = flat(o.source), flat(o.note)
    assert source.startswith("From a secondary publication: the ZUMA-1 figure of a comparison "
                             "paper, Blood Adv 2021;5(20):4149")
    assert '"101 patients received axi-cel and were evaluable for response and survival"' in source
    assert '"2-year survival rate was 54%"' in source
    assert note.startswith("Not the primary 2-year report")
    assert "no number of patients" not in note


def test_zuma1_os12_and_os60(studies):
    s = studies["zuma1"]
    os12 = only(s, "OS", 12)
    assert (os12.count, os12.total) == (61, 101)
    assert "Table 3: 40 deaths in the first year" in flat(os12.source)
    assert "assumes no patient was lost to follow-up" in flat(os12.derived)
    os60 = only(s, "OS", 60)
    assert (os60.estimate_text, os60.total) == ("42.6%", None)


def test_zuma1_responses_are_the_five_year_reports(studies):
    s = studies["zuma1"]
    for endpoint, reported in (("ORR", "83%"), ("CR", "58%")):
        o = only(s, endpoint, None)
        assert (o.estimate_text, o.total, o.ci) == (reported, 101, None)
        assert "Blood 2023;141(19):2307" in flat(o.source)
        assert f"{reported} among the 101 treated patients" in flat(o.source)
    assert "5-year disease-specific survival 51.0%" in flat(s.notes)


def test_zuma1_transplants_were_consolidation(studies):
    o = only(studies["zuma1"], "ALLO_HSCT", None)
    assert (o.count, o.total) == (2, 101)
    note = flat(o.note)
    assert "The 2 were responders, transplanted as consolidation, whereas JULIET's 6 were " \
           "non-responders: the two ALLO_HSCT figures measure different things" in note
    assert "later" not in note and "the source gives no time for it" in note


# ----------------------------------------------------------------------------- juliet


def test_juliet_status(studies):
    assert provenance(studies["juliet"]) == {
        ("ORR", None): ("cited", False), ("CR", None): ("cited", False),
        ("RFS", 12): ("unverified", False), ("ALLO_HSCT", None): ("cited", True),
    }
    text = flat(text_of(studies["juliet"]))
    assert "Checked on the primary source" not in text
    assert "infused and evaluable" not in text


def test_juliet_orr_interval_method_is_unknown(studies):
    o = only(studies["juliet"], "ORR", None)
    assert (o.estimate, o.total, o.ci, o.ci_method) == (0.52, 93, (0.41, 0.62), "unknown")
    note = flat(o.note)
    assert note.startswith("ci_method unknown:")
    assert "Clopper-Pearson (41.0% to 62.1%) and Wald (41.5% to 61.8%) both round to 41-62" in note
    assert "only Wilson (41.6% to 61.5%, rounded 42-62) is excluded" in note


def test_juliet_the_interval_reasoning_holds():
    x, n, z = 48, 93, norm.ppf(0.975)
    p = x / n
    clopper = (beta.ppf(0.025, x, n - x + 1), beta.ppf(0.975, x + 1, n - x))
    wald = (p - z * math.sqrt(p * (1 - p) / n), p + z * math.sqrt(p * (1 - p) / n))
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    wilson = (centre - half, centre + half)
    for (low, high), text in ((clopper, (41.0, 62.1)), (wald, (41.5, 61.8)),
                              (wilson, (41.6, 61.5))):
        assert (round(100 * low, 1), round(100 * high, 1)) == text
    assert (round(100 * clopper[0]), round(100 * clopper[1])) == (41, 62)
    assert (round(100 * wald[0]), round(100 * wald[1])) == (41, 62)
    assert (round(100 * wilson[0]), round(100 * wilson[1])) == (42, 62)
    assert round(100 * p) == 52


def test_juliet_unverified_and_cited_figures(studies):
    s = studies["juliet"]
    rfs = only(s, "RFS", 12)
    assert (rfs.estimate, rfs.total, rfs.time_origin) == (0.65, None, "initial response")
    assert "65% among responders (79% among complete responders)" in flat(rfs.source)
    assert "found in no source that could be checked" in flat(rfs.source)
    for endpoint in ("ORR", "CR"):
        source = flat(only(s, endpoint, None).source)
        assert "efficacy set of 93 patients at the NEJM data cut" in source
        assert "the primary source was not checked" in source
    assert s.characteristics["enrolled"] == 167
    comment = group_comments(s)["enrolled"]
    assert comment.startswith("Not verified: 167 enrolled")
    assert "efficacy set at the NEJM 2019 data cut" in comment


def test_juliet_transplant_denominator_is_an_assumption(studies):
    o = only(studies["juliet"], "ALLO_HSCT", None)
    assert (o.count, o.total) == (6, 93)
    derived = flat(o.derived)
    assert "which is an assumption" in derived and "about 45 (93 - 48 responders)" in derived
    assert "The 6 were non-responders" in flat(o.note)
    assert "ZUMA-1's 2 were responders transplanted as consolidation" in flat(o.note)
    assert "measure different things" in flat(o.note)


# ----------------------------------------------------------------------------- chow2019


def test_chow2019_status(studies):
    assert provenance(studies["chow2019"]) == {
        ("OS", 12): ("cited", False), ("ALLO_HSCT", None): ("cited", False),
    }


def test_chow2019_claims_no_centre_country_or_design(studies):
    s = studies["chow2019"]
    assert (s.design, s.country) == (None, None)
    assert "Seattle" not in s.characteristics["progression_cohort"]
    notes = flat(s.notes)
    for sentence in re.split(r"(?<=\.) ", notes):
        if "Seattle" in sentence or "single centre" in sentence:
            assert "affiliations" in sentence
    assert "that is an inference, not a fact of the source" in notes
    text = text_of(s)
    assert text.count("Seattle") == 1


def test_chow2019_os12_is_a_crude_count(studies):
    o = only(studies["chow2019"], "OS", 12)
    assert (o.count, o.total, o.time_origin) == (2, 5, "progression after CAR-T")
    note = flat(o.note)
    assert "2/5 is a crude count, not a Kaplan-Meier estimate: censoring is unknown" in note
    assert "immortal-time bias" in note
    allo = only(studies["chow2019"], "ALLO_HSCT", None)
    assert (allo.count, allo.total) == (5, 61)


# ----------------------------------------------------------------------------- fried2023


def test_fried2023_status(studies):
    assert provenance(studies["fried2023"]) == {
        ("OS", 24): ("cited", True), ("PFS", 24): ("cited", True),
    }


@pytest.mark.parametrize(("endpoint", "est", "low", "high"),
                         [("OS", 0.45, 0.31, 0.66), ("PFS", 0.31, 0.19, 0.50)])
def test_fried2023_log_symmetry_within_rounding(studies, endpoint, est, low, high):
    o = only(studies["fried2023"], endpoint, 24)
    assert (o.estimate, o.ci, o.ci_method) == (est, (low, high), "log")
    derived = flat(o.derived)
    below, above = math.log(est) - math.log(low), math.log(high) - math.log(est)
    assert derived.startswith("Derived: ci_method log, because the interval is symmetric on the "
                              "log scale within rounding")
    assert f"log {est:.2f} - log {low:.2f} = {below:.3f}" in derived
    assert f"log {high:.2f} - log {est:.2f} = {above:.3f}" in derived
    assert f"(plain: {est - low:.2f} below, {high - est:.2f} above)" in derived
    assert "evenly spaced" not in derived
    # within rounding, and far closer than the plain scale would be
    assert abs(below - above) < 0.015 < abs((est - low) - (high - est))


# ----------------------------------------------------------------------------- zurko2023


def test_zurko2023_status(studies):
    assert provenance(studies["zurko2023"]) == {
        (e, 12): ("primary", False) for e in ("OS", "PFS", "GRFS", "NRM", "RELAPSE")
    }
    for o in studies["zurko2023"].outcomes:
        assert o.source.startswith(
            "Checked on the primary source: abstract (PubMed 35833303 / PMC9827150): ")
