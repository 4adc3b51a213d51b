"""The study file format, declared once.

Every field of a study file is declared here as a :class:`FieldSpec`. Two things are made
from these declarations:

* the JSON Schema (draft 2020-12) returned by :func:`json_schema`, printed by
  ``metaview schema`` and shipped as ``metaview/io/study.schema.json`` for editors;
* the loader's checks of types, required fields, unknown keys, patterns, enumerations and
  ranges (:mod:`metaview.io.loader` reads the same declarations).

The loader adds the checks a JSON Schema cannot express (the id equals the file name,
``count <= total``, ``low <= estimate <= high``, duplicate keys, YAML tags, ...).

Regenerate the shipped file after a change here::

    metaview schema > metaview/io/study.schema.json

A test asserts that the shipped file equals :func:`json_schema`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from metaview.choices import ReportedCIMethod

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
FORMAT_VERSION = 1

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
ID_MAX_LENGTH = 64
ENDPOINT_PATTERN = r"^[A-Z][A-Z0-9_]*$"
CHARACTERISTIC_PATTERN = r"^[a-z][a-z0-9_]*$"
PMID_PATTERN = r"^[0-9]+$"
DOI_PATTERN = r"^10\.[0-9]{4,9}/\S+$"
URL_PATTERN = r"^https?://\S+$"
NONBLANK_PATTERN = r"\S"
#: A percent string between 0% and 100%, e.g. "59%", "59 %", "4.5%". The loader accepts
#: exactly these strings (it parses any number before a percent sign and then checks the
#: range, which gives a clearer message than a failed pattern).
PERCENT_PATTERN = r"^\s*0*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?)\s*%\s*$"
#: Template values still to be replaced start with this text; the loader reports them as
#: "fill in ...".
PLACEHOLDER = "FILL IN"

#: Value kinds understood by the loader. ``proportion`` is a fraction in [0, 1] or a percent
#: string; ``interval`` is a two-item list of proportions; the last three are structures.
KINDS = (
    "string",
    "integer",
    "number",
    "boolean",
    "proportion",
    "interval",
    "characteristics",
    "outcomes",
    "curves",
    "at_risk_table",
    "number_list",
    "integer_list",
)


#: Largest number of patients, events, total or number at risk (a larger cohort than any
#: clinical series; it keeps 20-digit typos out of the arithmetic).
MAX_COUNT = 10_000_000
#: Longest landmark in months (100 years).
MAX_MONTHS = 1200
#: Largest magnitude of a numeric characteristic (median, min, max or a bare number).
MAX_CHARACTERISTIC = 1_000_000_000_000


@dataclass(frozen=True)
class FieldSpec:
    """One key of a study file (top level or an outcome entry)."""

    name: str
    kind: str
    description: str
    required: bool = False
    pattern: str | None = None
    #: how to fix a value that does not match ``pattern``
    pattern_hint: str | None = None
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    max_length: int | None = None
    #: example value, used in messages ("e.g. ...")
    example: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:  # pragma: no cover - a programming error
            raise ValueError(f"unknown kind {self.kind!r} for field {self.name!r}")


STUDY_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "id", "string", "unique key of the study; equals the file name without .yaml",
        required=True, pattern=ID_PATTERN, max_length=ID_MAX_LENGTH,
        pattern_hint="lower-case letters, digits, '-' and '_', starting with a letter or digit",
        example="zurko2023",
    ),
    FieldSpec("label", "string", "short display label in tables and plots", required=True,
              pattern=NONBLANK_PATTERN, example="Zurko 2023"),
    FieldSpec("citation", "string", "full reference", required=True, pattern=NONBLANK_PATTERN,
              example="Zurko J, et al. Haematologica. 2023;108(1):98-109."),
    FieldSpec("year", "integer", "publication year", required=True, minimum=1900,
              maximum=2100, example="2023"),
    FieldSpec("doi", "string", "DOI of the source, without https://doi.org/",
              pattern=DOI_PATTERN,
              pattern_hint="write the bare DOI, e.g. 10.3324/haematol.2022.281242",
              example="10.3324/haematol.2022.281242"),
    FieldSpec("pmid", "string", "PubMed id of the source (quoted digits)", pattern=PMID_PATTERN,
              pattern_hint='digits only, in quotes, e.g. "35833303"', example='"35833303"'),
    FieldSpec("url", "string", "web address of the source", pattern=URL_PATTERN,
              pattern_hint="a full address starting with http:// or https://"),
    FieldSpec("design", "string",
              "study design, e.g. retrospective single-centre, retrospective multicentre, "
              "phase 2 trial, registry", pattern=NONBLANK_PATTERN),
    FieldSpec("country", "string", "country or countries of the cohort", pattern=NONBLANK_PATTERN),
    FieldSpec("arm", "string",
              "population/treatment this cohort represents; the default grouping",
              required=True, pattern=NONBLANK_PATTERN,
              example="allo-HSCT after CAR-T failure"),
    FieldSpec("index", "boolean",
              "true marks the cohort compared against the literature (at most one per analysis)"),
    FieldSpec("patients", "integer", "size of the analysed cohort", required=True, minimum=1,
              maximum=MAX_COUNT, example="88"),
    FieldSpec("characteristics", "characteristics",
              "name -> number, text, {median, min, max} or {count, total}"),
    FieldSpec("outcomes", "outcomes", "the reported proportions (a list, may be empty)",
              required=True),
    FieldSpec("curves", "curves",
              "digitised Kaplan-Meier curves, each with its numbers-at-risk table (a list)"),
    FieldSpec("notes", "string", "free text", pattern=NONBLANK_PATTERN),
)

OUTCOME_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("endpoint", "string",
              "upper-case token: OS, PFS, GRFS, NRM, RELAPSE, ORR, CR, ALLO_HSCT, ...",
              required=True, pattern=ENDPOINT_PATTERN,
              pattern_hint="an upper-case token such as OS, PFS, NRM, ORR, ALLO_HSCT",
              example="OS"),
    FieldSpec("time_months", "number",
              "landmark in months; omit it for best-response proportions", exclusive_minimum=0,
              maximum=MAX_MONTHS, example="12"),
    FieldSpec("time_origin", "string",
              "when the clock starts, e.g. allo-HSCT, CAR-T infusion, progression after CAR-T",
              pattern=NONBLANK_PATTERN),
    FieldSpec("count", "integer", "number of patients with the outcome (with total)", minimum=0,
              maximum=MAX_COUNT, example="7"),
    FieldSpec("total", "integer",
              "patients the proportion refers to (with count), or contributing to the estimate",
              minimum=1, maximum=MAX_COUNT, example="10"),
    FieldSpec("estimate", "proportion",
              'the reported proportion: a fraction in [0, 1] or a percent string, e.g. "59%"',
              example='"59%"'),
    FieldSpec("ci", "interval",
              "[low, high] reported interval, in the same units as estimate; with counts, "
              "the interval printed beside them",
              example='["48%", "69%"]'),
    FieldSpec("ci_level", "number", "level of ci (default 0.95)", exclusive_minimum=0,
              exclusive_maximum=1, example="0.95"),
    FieldSpec("ci_method", "string", "how the source computed ci (default unknown)",
              enum=tuple(m.value for m in ReportedCIMethod), example="log-log"),
    FieldSpec("at_risk", "integer", "number at risk at the landmark, when the paper gives it",
              minimum=0, maximum=MAX_COUNT),
    FieldSpec("source", "string",
              "where the figure is: section, table or figure, and a short quote",
              required=True, pattern=NONBLANK_PATTERN),
    FieldSpec("derived", "string",
              "how the figure was derived when the paper does not state it directly",
              pattern=NONBLANK_PATTERN),
    FieldSpec("note", "string", "free text", pattern=NONBLANK_PATTERN),
)

#: Time units of a digitised curve, and their length in months (1 month = 365.25/12 days).
TIME_UNITS: dict[str, float] = {
    "months": 1.0,
    "weeks": 7.0 / (365.25 / 12.0),
    "days": 1.0 / (365.25 / 12.0),
    "years": 12.0,
}

CURVE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("endpoint", "string", "upper-case token of the endpoint the curve shows: OS, "
              "PFS, ...", required=True, pattern=ENDPOINT_PATTERN,
              pattern_hint="an upper-case token such as OS or PFS", example="OS"),
    FieldSpec("time_unit", "string", "unit of the time axis", required=True,
              enum=tuple(TIME_UNITS), example="months"),
    FieldSpec("time_origin", "string", "when the clock starts, e.g. allo-HSCT",
              pattern=NONBLANK_PATTERN),
    FieldSpec("points", "string",
              "the digitiser's export (time,survival per line), a path relative to the study "
              "file, inside its folder", required=True, pattern=NONBLANK_PATTERN,
              example="fried2023-os.csv"),
    FieldSpec("at_risk", "at_risk_table",
              "the numbers-at-risk table printed under the figure: {times: [...], n: [...]}",
              required=True, example="{times: [0, 6, 12], n: [39, 30, 24]}"),
    FieldSpec("events", "integer", "total number of events, when the paper gives it",
              minimum=0, example="21"),
    FieldSpec("source", "string", "where the figure is, e.g. Figure 2A", required=True,
              pattern=NONBLANK_PATTERN, example='"Figure 2A; numbers at risk below the plot"'),
    FieldSpec("note", "string", "free text", pattern=NONBLANK_PATTERN),
)

AT_RISK_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("times", "number_list", "table times in time_unit, increasing, from 0",
              required=True, minimum=0, example="[0, 6, 12, 18, 24]"),
    FieldSpec("n", "integer_list", "numbers at risk at those times, non-increasing",
              required=True, minimum=0, example="[39, 30, 24, 18, 12]"),
)

#: Keys of a ``{median, min, max}`` characteristic (median required).
RANGE_KEYS = ("median", "min", "max")
#: Keys of a ``{count, total}`` characteristic (both required).
COUNT_KEYS = ("count", "total")


def study_field(name: str) -> FieldSpec | None:
    return next((f for f in STUDY_FIELDS if f.name == name), None)


def outcome_field(name: str) -> FieldSpec | None:
    return next((f for f in OUTCOME_FIELDS if f.name == name), None)


def curve_field(name: str) -> FieldSpec | None:
    return next((f for f in CURVE_FIELDS if f.name == name), None)


# --------------------------------------------------------------------------- JSON Schema


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"description": spec.description}
    if spec.kind == "string":
        out["type"] = "string"
        if spec.enum is not None:
            out["enum"] = list(spec.enum)
        if spec.pattern is not None:
            out["pattern"] = spec.pattern
        if spec.max_length is not None:
            out["maxLength"] = spec.max_length
    elif spec.kind in ("integer", "number"):
        out["type"] = spec.kind
        for key, value in (
            ("minimum", spec.minimum),
            ("maximum", spec.maximum),
            ("exclusiveMinimum", spec.exclusive_minimum),
            ("exclusiveMaximum", spec.exclusive_maximum),
        ):
            if value is not None:
                out[key] = value
    elif spec.kind == "boolean":
        out["type"] = "boolean"
    elif spec.kind == "proportion":
        out["$ref"] = "#/$defs/proportion"
    elif spec.kind == "interval":
        out["$ref"] = "#/$defs/interval"
    elif spec.kind == "characteristics":
        out.update(
            {
                "type": "object",
                "propertyNames": {"pattern": CHARACTERISTIC_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/characteristic"},
            }
        )
    elif spec.kind == "outcomes":
        out.update({"type": "array", "items": {"$ref": "#/$defs/outcome"}})
    elif spec.kind == "curves":
        out.update({"type": "array", "items": {"$ref": "#/$defs/curve"}})
    elif spec.kind == "at_risk_table":
        out["$ref"] = "#/$defs/at_risk_table"
    elif spec.kind in ("number_list", "integer_list"):
        item: dict[str, Any] = {"type": "number" if spec.kind == "number_list" else "integer"}
        if spec.minimum is not None:
            item["minimum"] = spec.minimum
        out.update({"type": "array", "minItems": 1, "items": item})
    return out


def _object_schema(fields: tuple[FieldSpec, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {f.name: _field_schema(f) for f in fields},
        "required": [f.name for f in fields if f.required],
        "additionalProperties": False,
    }


def json_schema() -> dict[str, Any]:
    """The study file format as a JSON Schema (draft 2020-12).

    Notes
    -----
    Rules the schema cannot express are checked by the loader only: the id equals the file
    name, ``count <= total``, ``at_risk <= total``, ``low <= estimate <= high``, ``low <
    high``, ``total`` and ``at_risk`` not above ``patients`` unless ``note`` or ``derived``
    says why, a characteristic's ``total`` not above ``patients``, one entry per endpoint,
    landmark (``metaview.model.same_landmark``) and time origin,
    ``min <= median <= max``, for a curve: table times increasing, numbers at risk
    non-increasing and at most ``patients``, the points file itself; duplicate keys, YAML
    tags and anchors, whole numbers written
    as ``7.0``, and the uniqueness of ids and of the index study across files.
    """
    fraction = {"type": "number", "minimum": 0, "maximum": 1}
    magnitude = {"type": "number", "minimum": -MAX_CHARACTERISTIC, "maximum": MAX_CHARACTERISTIC}
    percent = {"type": "string", "pattern": PERCENT_PATTERN}
    outcome = _object_schema(OUTCOME_FIELDS)
    outcome["dependentRequired"] = {
        "count": ["total"],
        "ci_level": ["ci"],
        "ci_method": ["ci"],
        "at_risk": ["time_months"],
    }
    outcome["allOf"] = [
        # exactly one data form: counts, or an estimate (optionally with total)
        {"anyOf": [{"required": ["count"]}, {"required": ["estimate"]}]},
        {"not": {"required": ["count", "estimate"]}},
        # ci in the same units as estimate
        {
            "if": {"required": ["estimate"], "properties": {"estimate": {"type": "string"}}},
            "then": {"properties": {"ci": {"items": {"type": "string"}}}},
        },
        {
            "if": {"required": ["estimate"], "properties": {"estimate": {"type": "number"}}},
            "then": {"properties": {"ci": {"items": {"type": "number"}}}},
        },
    ]
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "title": f"metaview study file, version {FORMAT_VERSION}",
        "description": (
            "One study per YAML file, named <id>.yaml. Each outcome reports one proportion: "
            "counts (count/total) or the reported estimate (a fraction or a percent string)."
        ),
        **_object_schema(STUDY_FIELDS),
        "$defs": {
            "proportion": {
                "description": 'a fraction in [0, 1] (0.59) or a percent string ("59%")',
                "oneOf": [fraction, percent],
            },
            "interval": {
                "description": "[low, high], both fractions or both percent strings",
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "oneOf": [{"items": fraction}, {"items": percent}],
            },
            "characteristic": {
                "description": "a number, a text, {median, min, max} or {count, total}",
                "oneOf": [
                    magnitude,
                    {"type": "string", "pattern": NONBLANK_PATTERN},
                    {
                        "type": "object",
                        "properties": {k: magnitude for k in RANGE_KEYS},
                        "required": ["median"],
                        "additionalProperties": False,
                    },
                    {
                        "type": "object",
                        "properties": {
                            "count": {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                            "total": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
                        },
                        "required": list(COUNT_KEYS),
                        "additionalProperties": False,
                    },
                ],
            },
            "outcome": outcome,
            "curve": _object_schema(CURVE_FIELDS),
            "at_risk_table": _object_schema(AT_RISK_FIELDS),
        },
    }
    return schema


def schema_text() -> str:
    """The JSON Schema as written to ``study.schema.json`` (stable key order, newline-ended)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
