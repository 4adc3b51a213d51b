"""`metaview new`: the commented template, and that nothing is ever overwritten."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from unittest import mock
from urllib.parse import unquote, urlparse

import pytest

from metaview.commands import new as new_command
from metaview.errors import StudyFileError
from metaview.io import load_study, schema
from metaview.io.template import SCHEMA_LINE_PREFIX, render_template

FILLED = {
    "label": "Smith 2024",
    "citation": '"Smith J, et al. A cohort. J Test. 2024;1:1-9."',
    "year": "2024",
    "arm": "allo-HSCT after CAR-T failure",
    "patients": "12",
    "endpoint": "OS",
    "time_months": "12",
    "time_origin": "allo-HSCT",
    "count": "6",
    "total": "12",
    "source": '"Table 2: 1-year OS 6/12"',
}


def fill(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        return f"{match.group(1)}{match.group(2)}: {FILLED[match.group(2)]}"

    return re.sub(r"^(\s*(?:- )?)(\w+): FILL IN$", replace, text, flags=re.MULTILINE)


def test_new_writes_a_commented_template(tmp_path, cli):
    folder = tmp_path / "studies"
    code, out, err = cli("new", "smith2024", "--dir", folder)
    assert (code, err) == (0, "")
    path = folder / "smith2024.yaml"
    assert f"wrote {path}" in out
    text = path.read_text("utf-8")
    first = text.splitlines()[0]
    assert first.startswith(SCHEMA_LINE_PREFIX)
    ref = first[len(SCHEMA_LINE_PREFIX):]
    target = Path(unquote(urlparse(ref).path)) if ref.startswith("file:") else folder / ref
    assert target.is_file() and '"$schema"' in target.read_text("utf-8")
    assert "id: smith2024\n" in text
    # the schema beside the studies, and no temporary file left behind
    assert sorted(os.listdir(folder)) == ["smith2024.yaml", "study.schema.json"]
    assert first == SCHEMA_LINE_PREFIX + "study.schema.json"
    assert (folder / "study.schema.json").read_text("utf-8") == schema.schema_text()


def test_new_writes_the_schema_once_and_never_replaces_it(tmp_path, cli):
    folder = tmp_path / "studies"
    assert cli("new", "a1", "--dir", folder)[0] == 0
    code, _out, err = cli("new", "a2", "--dir", folder)
    assert (code, err) == (0, "")
    (folder / "study.schema.json").write_text('{"mine": true}\n')
    code, _out, err = cli("new", "a3", "--dir", folder)
    assert code == 0
    assert err == (f"note: {folder / 'study.schema.json'} differs from the schema of this "
                   f"metaview version; not replaced (update it with: metaview schema > "
                   f"{folder / 'study.schema.json'})\n")
    assert (folder / "study.schema.json").read_text() == '{"mine": true}\n'
    assert (folder / "a3.yaml").read_text().startswith(SCHEMA_LINE_PREFIX + "study.schema.json\n")


def test_template_explains_every_field():
    text = render_template("x", schema_ref="s.json")
    for spec in schema.STUDY_FIELDS + schema.OUTCOME_FIELDS:
        assert re.search(rf"^\s*(#\s*)?(- )?{spec.name}:", text, flags=re.MULTILINE), spec.name
    for method in schema.outcome_field("ci_method").enum:
        assert method in text


def test_template_is_invalid_until_filled_in(tmp_path, cli, parse_errors):
    cli("new", "smith2024", "--dir", tmp_path)
    path = tmp_path / "smith2024.yaml"
    code, _out, err = cli("validate", path)
    assert code == 2
    problems = parse_errors(err)
    assert len(problems) == len(FILLED)
    assert all("fill in" in message for _f, _n, message in problems)
    keys = {message.split(":")[0].split(".")[-1] for _f, _n, message in problems}
    assert keys == set(FILLED)


def test_filled_template_validates(tmp_path, cli):
    cli("new", "smith2024", "--dir", tmp_path)
    path = tmp_path / "smith2024.yaml"
    path.write_text(fill(path.read_text("utf-8")), "utf-8")
    code, _out, err = cli("validate", path)
    assert (code, err) == (0, ""), err
    study = load_study(path)
    assert (study.label, study.patients, study.index) == ("Smith 2024", 12, False)
    (outcome,) = study.outcomes
    assert (outcome.endpoint, outcome.count, outcome.total) == ("OS", 6, 12)


def test_filled_template_with_an_estimate_validates(tmp_path):
    text = fill(render_template("est", schema_ref="s.json"))
    text = text.replace("    count: 6\n", "")
    text = text.replace('    # estimate: "59%"', '    estimate: "59%"')
    text = text.replace('    # ci: ["48%", "69%"]', '    ci: ["48%", "69%"]')
    (tmp_path / "est.yaml").write_text(text, "utf-8")
    (outcome,) = load_study(tmp_path / "est.yaml").outcomes
    assert (outcome.estimate, outcome.ci, outcome.total) == (0.59, (0.48, 0.69), 12)


def test_new_never_overwrites(tmp_path, cli, parse_errors):
    path = tmp_path / "smith2024.yaml"
    path.write_bytes(b"id: smith2024\n# my work\n")
    code, out, err = cli("new", "smith2024", "--dir", tmp_path)
    assert code == 2 and out == ""
    assert "already exists" in err and "not overwritten" in err
    assert path.read_bytes() == b"id: smith2024\n# my work\n"
    parse_errors(err)


def test_new_refuses_an_existing_yml(tmp_path, cli):
    (tmp_path / "smith2024.yml").write_text("keep")
    code, _out, err = cli("new", "smith2024", "--dir", tmp_path)
    assert code == 2 and "already exists" in err
    assert sorted(os.listdir(tmp_path)) == ["smith2024.yml"]


@pytest.mark.parametrize("bad", ["../x", "a/b", "/tmp/x", "..", "Smith2024", "-x", "_x",
                                 "a b", "x.yaml", "", "a" * 65, "caf\u00e9"])
def test_new_refuses_invalid_ids(bad, tmp_path, cli, parse_errors):
    before = sorted(os.listdir(tmp_path))
    code, out, err = cli("new", "--dir", tmp_path / "studies", "--", bad)
    assert code == 2 and out == ""
    assert "not a valid study id" in err
    parse_errors(err)
    assert sorted(os.listdir(tmp_path)) == before


def test_new_creates_one_missing_folder_but_not_its_parents(tmp_path, cli):
    code, _out, _err = cli("new", "x1", "--dir", tmp_path / "studies")
    assert code == 0 and (tmp_path / "studies" / "x1.yaml").is_file()
    code, _out, err = cli("new", "x1", "--dir", tmp_path / "no" / "such")
    assert code == 2 and "parent folder does not exist" in err


def test_new_dir_is_a_file(tmp_path, cli):
    (tmp_path / "file").write_text("x")
    code, _out, err = cli("new", "x1", "--dir", tmp_path / "file")
    assert code == 2 and "is not a folder" in err


def test_race_with_another_writer_is_lost_safely(tmp_path, cli):
    """A file created between the check and the write is not overwritten."""
    path = tmp_path / "race.yaml"

    def link(src, dst):
        Path(dst).write_text("theirs")
        raise FileExistsError(errno.EEXIST, "File exists", str(dst))

    with mock.patch("os.link", link):
        code, _out, err = cli("new", "race", "--dir", tmp_path)
    assert code == 2 and "already exists" in err
    assert path.read_text() == "theirs"
    assert sorted(os.listdir(tmp_path)) == ["race.yaml", "study.schema.json"]


def test_without_hard_links_the_file_is_created_exclusively(tmp_path):
    path = tmp_path / "nolink.yaml"
    with mock.patch("os.link", side_effect=OSError(errno.EPERM, "not permitted")):
        new_command.write_new(path, "id: nolink\n")
    assert path.read_text() == "id: nolink\n"
    assert os.listdir(tmp_path) == ["nolink.yaml"]
    with (mock.patch("os.link", side_effect=OSError(errno.EPERM, "not permitted")),
          pytest.raises(FileExistsError)):
        new_command.write_new(path, "other\n")
    assert path.read_text() == "id: nolink\n"


def test_unwritable_folder_is_one_clear_error(tmp_path, cli):
    with mock.patch("tempfile.mkstemp", side_effect=PermissionError(13, "Permission denied")):
        code, _out, err = cli("new", "x1", "--dir", tmp_path)
    assert code == 2 and "cannot write" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_template_loads_as_invalid_with_the_python_api(tmp_path):
    (tmp_path / "t1.yaml").write_text(render_template("t1", schema_ref="s.json"), "utf-8")
    with pytest.raises(StudyFileError) as info:
        load_study(tmp_path / "t1.yaml")
    assert all("fill in" in p.message for p in info.value.problems)
