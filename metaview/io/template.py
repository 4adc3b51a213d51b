"""The commented template written by ``metaview new``.

The template is a valid YAML file that is not yet a valid study: every value the user must
supply is the placeholder ``FILL IN``, which the loader reports as
``<key>: fill in: <what the field means>``. Optional fields are present as comments.
"""

from __future__ import annotations

from metaview.io.schema import PLACEHOLDER

SCHEMA_LINE_PREFIX = "# yaml-language-server: $schema="

_TEMPLATE = """\
{schema_line}
#
# metaview study file: one study per file, named <id>.yaml.
# Replace every {P}, delete the optional lines you do not need, then run
#     metaview validate {path}
# Quote text that YAML would read as something else: country: "NO" (a boolean
# otherwise), label: "2023-01" (a date otherwise), text containing ": " or "#".

# Unique key of the study: lower-case letters, digits, - and _; equals the
# file name without .yaml.
id: {study_id}
# Short display label for tables and plots, e.g. Zurko 2023.
label: {P}
# Full reference: authors, title, journal, year;volume:pages.
citation: {P}
# Publication year, e.g. 2023.
year: {P}
# Optional identifiers of the source (delete the ones you do not have):
# doi: 10.3324/haematol.2022.281242    # the bare DOI, without https://doi.org/
# pmid: "35833303"                     # digits in quotes
# url: https://example.org/article
# Optional design and country:
# design: retrospective multicentre    # retrospective single-centre, phase 2 trial, registry, ...
# country: USA
# The population/treatment this cohort represents; studies are grouped by it,
# e.g. allo-HSCT after CAR-T failure, CAR-T pivotal trial.
arm: {P}
# true marks the cohort compared against the literature (at most one study).
index: false
# Size of the analysed cohort (a whole number, at least 1).
patients: {P}
# Optional baseline characteristics: name -> a number, a text,
# {{median, min, max}} (min and max optional) or {{count, total}}.
# Names are lower-case words joined by _ (usable with --group-by).
# characteristics:
#   age_years: {{median: 43.5, min: 27, max: 52}}
#   male: {{count: 5, total: 10}}
#   cart_product: autologous
# One entry per reported proportion, exactly as the paper gives it
# (write outcomes: [] if the study reports none).
outcomes:
    # Upper-case token: OS, PFS, GRFS, NRM, RELAPSE, ORR, CR, ALLO_HSCT, ...
  - endpoint: {P}
    # Landmark in months, e.g. 12; delete it for best-response proportions
    # (ORR, CR) and figures without a landmark.
    time_months: {P}
    # When the clock starts: allo-HSCT, CAR-T infusion, progression after CAR-T.
    time_origin: {P}
    # Data form 1, counts: count patients with the outcome out of total
    # (0 <= count <= total).
    count: {P}
    total: {P}
    # Data form 2, instead of count: the reported estimate, a fraction (0.59)
    # or a percent string ("59%"); total may stay (the patients contributing).
    # estimate: "59%"
    # Optional reported interval [low, high], in the same units as estimate,
    # its level, and how the source computed it: log-log, log, logit, plain,
    # arcsine, clopper-pearson, wilson or unknown. With counts, ci records the
    # interval the paper printed beside them.
    # ci: ["48%", "69%"]
    # ci_level: 0.95
    # ci_method: unknown
    # Optional number at risk at the landmark, when the paper gives it.
    # at_risk: 20
    # Where the figure is: section, table or figure, and a short quote.
    source: {P}
    # How the figure was derived when the paper does not state it directly.
    # derived: 7 of 10 patients; the paper gives 70%
    # note: free text
# Optional digitised Kaplan-Meier curves (see metaview km): the digitiser's
# export (time,survival per line; fractions or percent) beside this file, and
# the numbers-at-risk table printed under the figure.
# curves:
#   - endpoint: OS
#     time_unit: months                # months, weeks, days or years
#     time_origin: allo-HSCT
#     points: {study_id}-os.csv
#     at_risk: {{times: [0, 6, 12, 18, 24], n: [39, 30, 24, 18, 12]}}
#     events: 21                       # optional: total events, when the paper gives it
#     source: "Figure 2A; numbers at risk below the plot"
# Optional free text about the study.
# notes: free text
"""


def render_template(study_id: str, *, schema_ref: str, path: str | None = None) -> str:
    """The commented template for study ``study_id``.

    Parameters
    ----------
    study_id
        The new study's id (already checked by the caller).
    schema_ref
        Path or URL of the JSON Schema for the ``yaml-language-server`` line, relative to
        the folder of the new file.
    path
        The file name shown in the ``metaview validate`` hint.
    """
    return _TEMPLATE.format(
        schema_line=f"{SCHEMA_LINE_PREFIX}{schema_ref}",
        study_id=study_id,
        path=path or f"studies/{study_id}.yaml",
        P=PLACEHOLDER,
    )
