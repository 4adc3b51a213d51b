"""Study objects for the forest plot tests, built directly (no study files needed).

The six studies mirror the shapes of the project's study files: an index cohort with counts,
an estimate without an interval (approximate SE), a study reporting only at 24 months, two
pivotal trials in another arm with reported intervals, and a study whose clock starts at
progression. The numbers are made up for the tests.
"""

from __future__ import annotations

from metaview.model import Outcome, Study

ALLO = "allo-HSCT after CAR-T failure"
PIVOTAL = "CAR-T pivotal trial"


def outcome(endpoint: str, time: float | None = 12, **kw: object) -> Outcome:
    kw.setdefault("source", "Table 2")
    return Outcome(endpoint=endpoint, time_months=time, **kw)  # type: ignore[arg-type]


def study(id: str, label: str, arm: str, patients: int, outcomes: list[Outcome],
          *, index: bool = False, year: int = 2020) -> Study:
    return Study(id=id, label=label, citation=f"{label}. Journal.", year=year, arm=arm,
                 patients=patients, outcomes=tuple(outcomes), index=index)


def six_studies() -> list[Study]:
    return [
        study("cong2024", "Cong 2024", ALLO, 10, [
            outcome("OS", count=7, total=10, time_origin="allo-HSCT"),
            outcome("PFS", count=6, total=10, time_origin="allo-HSCT"),
        ], index=True, year=2024),
        study("zurko2023", "Zurko 2023", ALLO, 88, [
            outcome("OS", estimate=0.59, estimate_text="59%", total=88, time_origin="allo-HSCT"),
            outcome("PFS", estimate=0.45, estimate_text="45%", total=88,
                    time_origin="allo-HSCT"),
        ], year=2023),
        study("fried2023", "Fried 2023", ALLO, 39, [
            outcome("OS", 24, estimate=0.45, estimate_text="45%", ci=(0.29, 0.60),
                    ci_method="log-log", time_origin="allo-HSCT"),
            outcome("PFS", 24, estimate=0.38, estimate_text="38%", ci=(0.23, 0.53),
                    ci_method="log-log", time_origin="allo-HSCT"),
        ], year=2023),
        study("chow2019", "Chow 2019", ALLO, 31, [
            outcome("OS", estimate=0.52, estimate_text="52%", ci=(0.33, 0.68),
                    ci_method="log-log", time_origin="progression after CAR-T"),
        ], year=2019),
        study("zuma1", "ZUMA-1", PIVOTAL, 101, [
            outcome("OS", estimate=0.59, estimate_text="59%", ci=(0.49, 0.68),
                    ci_method="log-log", time_origin="CAR-T infusion"),
            outcome("PFS", estimate=0.44, estimate_text="44%", ci=(0.34, 0.53),
                    ci_method="log-log", time_origin="CAR-T infusion"),
        ], year=2017),
        study("juliet", "JULIET", PIVOTAL, 93, [
            outcome("OS", estimate=0.49, estimate_text="49%", ci=(0.39, 0.59),
                    ci_method="log-log", time_origin="CAR-T infusion"),
            outcome("PFS", count=31, total=93, time_origin="CAR-T infusion",
                    derived="33% of 93 read from the Kaplan-Meier curve"),
        ], year=2019),
    ]


LONG_LABEL = ("Multicentre retrospective registry of allogeneic hematopoietic cell "
              "transplantation after CD19 CAR-T failure (EBMT 2024)")


def many_studies(k: int = 60) -> list[Study]:
    """``k`` studies in two arms, one with a 120-character label and one index cohort;
    every fifth study reports OS only at 24 months, none reports EFS."""
    out = [study("index01", "Index 2024", ALLO, 12, [
        outcome("OS", count=8, total=12), outcome("PFS", count=6, total=12)], index=True)]
    for i in range(1, k):
        arm = ALLO if i % 2 else PIVOTAL
        label = LONG_LABEL if i == 7 else f"Study {i:02d} {2000 + i % 24}"
        n = 10 + (i * 37) % 190
        x = max(1, min(n - 1, round(n * (0.35 + 0.4 * ((i * 13) % 17) / 17))))
        os_ = (outcome("OS", 24, estimate=0.4, estimate_text="40%", total=n) if i % 5 == 0
               else outcome("OS", count=x, total=n))
        out.append(study(f"s{i:02d}", label, arm, n, [
            os_, outcome("PFS", count=max(1, x - n // 6), total=n)]))
    return out
