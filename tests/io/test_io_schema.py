"""The JSON Schema: one declaration, shipped, printed, and consistent with the loader."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from metaview.io import schema, study_schema


def test_shipped_schema_equals_the_declaration():
    shipped = resources.files("metaview.io").joinpath("study.schema.json").read_text("utf-8")
    assert shipped == schema.schema_text(), (
        "regenerate it: metaview schema > metaview/io/study.schema.json")
    assert json.loads(shipped) == study_schema()


def test_schema_is_a_valid_draft_2020_12_schema():
    document = study_schema()
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)


def test_schema_command_prints_it(cli):
    code, out, err = cli("schema")
    assert (code, err) == (0, "")
    assert json.loads(out) == study_schema()


def test_schema_names_every_declared_field():
    document = study_schema()
    assert set(document["properties"]) == {f.name for f in schema.STUDY_FIELDS}
    outcome = document["$defs"]["outcome"]
    assert set(outcome["properties"]) == {f.name for f in schema.OUTCOME_FIELDS}
    assert set(document["required"]) == {f.name for f in schema.STUDY_FIELDS if f.required}
    assert set(outcome["required"]) == {"endpoint", "source"}
    assert outcome["properties"]["ci_method"]["enum"][-1] == "unknown"


def test_the_six_studies_satisfy_the_schema(studies_dir: Path):
    validator = jsonschema.Draft202012Validator(study_schema())
    files = sorted(studies_dir.glob("*.yaml"))
    assert len(files) == 6
    for path in files:
        document = yaml.safe_load(path.read_text("utf-8"))
        errors = [e.message for e in validator.iter_errors(document)]
        assert errors == [], (path.name, errors)


def test_study_files_point_editors_at_the_schema(studies_dir: Path):
    for path in studies_dir.glob("*.yaml"):
        first = path.read_text("utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../metaview/io/study.schema.json"
        assert (studies_dir / "../metaview/io/study.schema.json").is_file()


def test_percent_pattern_agrees_with_the_loader():
    import re

    from metaview.io.loader import _PERCENT_RE

    pattern = re.compile(schema.PERCENT_PATTERN)
    for text in ["0%", "59%", "59 %", " 4.5% ", "100%", "100.0%", "007%", "99.99%"]:
        assert pattern.search(text) and _PERCENT_RE.fullmatch(text), text
    for text in ["100.5%", "101%", "-5%", "59", ".5%", "5%%", "1e2%", "59 percent"]:
        assert not pattern.search(text), text
