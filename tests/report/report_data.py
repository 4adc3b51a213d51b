"""Data of the report tests: the six cited series as Study objects (no loader needed), a
hostile study, and the repository's folders. Imported by plain name (``from report_data
import ...``; ``tests/report`` is on the test path, see pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

from metaview.model import Outcome, Study

ALLO = "allo-HSCT after CAR-T failure"
PIVOTAL = "CAR-T pivotal trial"


def six_studies() -> list[Study]:
    """The six series of the literature comparison, as the study files encode them."""
    return [
        Study(
            id="chow2019", label="Chow 2019", year=2019, arm=ALLO, patients=5,
            citation="Chow VA, Gopal AK, Maloney DG, et al. Outcomes of patients with large "
                     "B-cell lymphomas and progressive disease following CD19-specific CAR "
                     "T-cell therapy. Am J Hematol. 2019;94:E209.",
            design="retrospective single-centre", country="USA",
            characteristics={"progression_cohort_patients": 61},
            outcomes=(
                Outcome("OS", "C: as cited in Cong 2024: 2 of 5 alive 12 months after "
                              "progression", time_months=12,
                        time_origin="progression after CAR-T", count=2, total=5),
                Outcome("ALLO_HSCT", "C: 5 (8%) of 61 received allo-HSCT", count=5, total=61),
            ),
        ),
        Study(
            id="cong2024", label="Cong 2024", year=2024, arm=ALLO, patients=10, index=True,
            citation="Cong et al. Outcomes of allogeneic hematopoietic stem cell "
                     "transplantation in RR DLBCL patients with failure of CAR-T therapy. "
                     "Exp Hematol Oncol. 2024;13:4.",
            design="retrospective single-centre", country="China",
            characteristics={"age": {"median": 43.5, "min": 27, "max": 52},
                             "male": {"count": 5, "total": 10}},
            outcomes=(
                Outcome("OS", "P: Abstract: 1-year OS 70%", time_months=12,
                        time_origin="allo-HSCT", count=7, total=10,
                        derived="D: a Kaplan-Meier value of exactly 70% with 10 patients "
                                "needs no censoring before 12 months: 7/10"),
                Outcome("PFS", "P: Abstract: 1-year PFS 40%", time_months=12,
                        time_origin="allo-HSCT", count=4, total=10,
                        derived="D: same reasoning: 4/10"),
                Outcome("ORR", "P: Table 2: CR 5, PR 1", count=6, total=10),
            ),
        ),
        Study(
            id="fried2023", label="Fried 2023", year=2023, arm=ALLO, patients=39,
            citation="Fried S, Shouval R, Walji M, et al. Allogeneic hematopoietic cell "
                     "transplantation after chimeric antigen receptor T cell therapy in large "
                     "B cell lymphoma. Transplant Cell Ther. 2023;29:99-107.",
            outcomes=(
                Outcome("OS", "C: 2-year OS 45% (95% CI 31-66)", time_months=24,
                        time_origin="allo-HSCT", estimate=0.45, estimate_text="45%",
                        ci=(0.31, 0.66), ci_method="log",
                        derived="D: interval symmetric on the log scale"),
                Outcome("PFS", "C: 2-year PFS 31% (95% CI 19-50)", time_months=24,
                        time_origin="allo-HSCT", estimate=0.31, estimate_text="31%",
                        ci=(0.19, 0.50), ci_method="log",
                        derived="D: interval symmetric on the log scale"),
            ),
        ),
        Study(
            id="juliet", label="JULIET", year=2019, arm=PIVOTAL, patients=93,
            citation="Schuster SJ, Bishop MR, Tam CS, et al. Tisagenlecleucel in adult "
                     "relapsed or refractory diffuse large B-cell lymphoma. N Engl J Med. "
                     "2019;380:45-56.",
            design="phase 2 trial",
            outcomes=(
                Outcome("ORR", "P: best overall response 52% (95% CI 41-62)", count=48,
                        total=93),
                Outcome("ALLO_HSCT", "C: 6 unresponsive patients proceeded to allo-HSCT",
                        count=6, total=93,
                        derived="D: denominator = efficacy set; whether all six were in it "
                                "is not stated"),
            ),
        ),
        Study(
            id="zuma1", label="ZUMA-1", year=2017, arm=PIVOTAL, patients=101,
            citation="Neelapu SS, Locke FL, Bartlett NL, et al. Axicabtagene ciloleucel CAR "
                     "T-cell therapy in refractory large B-cell lymphoma. N Engl J Med. "
                     "2017;377:2531-44.",
            design="phase 2 trial",
            outcomes=(
                Outcome("OS", "D: Blood 2023 Table 3: 40 deaths in year 1 among 101 treated",
                        time_months=12, time_origin="CAR-T infusion", count=61, total=101,
                        derived="D: crude, assumes no loss to follow-up in year 1"),
                Outcome("OS", "P: 2-year OS 54%", time_months=24,
                        time_origin="CAR-T infusion", estimate=0.54, estimate_text="54%",
                        total=101),
                Outcome("ALLO_HSCT", "C: 2 patients", count=2, total=101,
                        derived="D: denominator = patients treated"),
            ),
        ),
        Study(
            id="zurko2023", label="Zurko 2023", year=2023, arm=ALLO, patients=88,
            citation="Zurko J, Ramdial J, Shadman M, et al. Allogeneic transplant following "
                     "CAR T-cell therapy for large B-cell lymphoma. Haematologica. "
                     "2023;108(1):98-109.",
            doi="10.3324/haematol.2022.281242", pmid="35833303",
            design="retrospective multicentre", country="USA",
            outcomes=(
                Outcome("OS", "P: Abstract: one-year OS 59%", time_months=12,
                        time_origin="allo-HSCT", estimate=0.59, estimate_text="59%", total=88),
                Outcome("PFS", "P: Abstract: one-year PFS 45%", time_months=12,
                        time_origin="allo-HSCT", estimate=0.45, estimate_text="45%", total=88),
                Outcome("NRM", "P: Abstract: one-year NRM 22%", time_months=12,
                        time_origin="allo-HSCT", estimate=0.22, estimate_text="22%", total=88),
            ),
        ),
    ]


def hostile_study() -> Study:
    """A study whose every text field tries to become markup or a link."""
    return Study(
        id="evil2024", label="<script>alert(1)</script>", year=2024, arm=ALLO, patients=20,
        citation="<img src=x onerror=alert(2)> & Co. | pipe",
        url="javascript:alert(3)", design="<b>bold</b>", country="<i>x</i>",
        characteristics={"note_text": "<iframe src=https://example.org></iframe>"},
        notes="&lt;already escaped&gt; <style>body{display:none}</style>",
        outcomes=(
            Outcome("OS", "<a href=https://example.org>source</a> | with a pipe",
                    time_months=12, time_origin="allo-HSCT", count=11, total=20,
                    derived="<svg onload=alert(4)>", note="line one\nline two"),
        ),
    )


REPORT_ROOT = Path(__file__).resolve().parents[2]
STUDIES_DIR = REPORT_ROOT / "studies"
