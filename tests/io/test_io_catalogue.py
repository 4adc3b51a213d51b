"""The catalogue of broken study files: each is rejected with exit code 2 and one line per
problem, ``error: <file>:<line>: <key>: <what> (<how to fix>)``, without a traceback and
without touching the file.

Static cases are the files in ``broken/`` (the first line of each says what is wrong);
cases that need bytes, links, folders or permissions are built in a temporary folder.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import jsonschema
import pytest
import yaml

from metaview.errors import StudyFileError
from metaview.io import find_study_files, load_studies, study_schema

BROKEN = Path(__file__).resolve().parent / "broken"

VALID = """\
id: {id}
label: Test 2023
citation: "Test A, et al. A test study. J Test. 2023;1:1-2."
year: 2023
arm: allo-HSCT after CAR-T failure
patients: 40
outcomes:
  - endpoint: OS
    time_months: 12
    time_origin: allo-HSCT
    estimate: "45%"
    ci: ["31%", "66%"]
    source: "Table 2: 1-year OS 45% (95% CI 31-66)"
  - endpoint: ORR
    count: 20
    total: 40
    source: "Results: 20 of 40 responded"
"""


@dataclass(frozen=True)
class Case:
    name: str  # broken/<name>.yaml
    line: int
    key: str | None  # the key the message must name (None: a problem of the whole file)
    fragments: tuple[str, ...]
    #: True: the JSON Schema rejects it too; False: only the loader can (the schema cannot
    #: express it); None: not loadable by yaml.safe_load at all
    schema: bool | None


CASES = [
    Case("syntax-error", 6, None, ("YAML syntax error", "':'", "line 5"), None),
    Case("tab-indent", 10, None, ("tab", "spaces"), None),
    Case("year-text", 5, "year", ('"2023" is text', "remove the quotes"), True),
    Case("year-out-of-range", 5, "year", ("23", "between 1900 and 2100"), True),
    Case("patients-zero", 7, "patients", ("at least 1",), True),
    Case("patients-float", 7, "patients", ("40.5", "whole number"), True),
    Case("duplicate-key-top", 6, "label", ("duplicate key", "line 3"), False),
    Case("duplicate-key-nested", 17, "outcomes[2].count", ("duplicate key", "line 16"), False),
    Case("unknown-key-top", 3, "lable", ("unknown key", "did you mean 'label'"), True),
    Case("unknown-key-outcome", 12, "outcomes[1].estimte",
         ("unknown key", "did you mean 'estimate'"), True),
    Case("outcome-field-at-top", 8, "endpoint", ("unknown key", "outcome field"), True),
    Case("id-mismatch", 2, "id", ("does not match the file name", "id-mismatch.yaml"), False),
    Case("Upper-Case", 2, "id", ("not valid", "write id: upper-case"), True),
    Case("percent-confusion", 12, "outcomes[1].estimate",
         ("45 is a bare number > 1", "0.45", '"45%"'), True),
    Case("percent-over-100", 12, "outcomes[1].estimate", ('"145%"', "more than 100%"), True),
    Case("percent-negative", 12, "outcomes[1].estimate", ('"-5%"', "negative"), True),
    Case("percent-sign-missing", 12, "outcomes[1].estimate",
         ("no percent sign", '"45%"', "0.45"), True),
    Case("ci-order", 13, "outcomes[1].ci", ("66% is greater than high 31%", "[low, high]"),
         False),
    Case("ci-not-containing", 13, "outcomes[1].ci", ("does not contain the estimate 45%",),
         False),
    Case("ci-mixed-units", 13, "outcomes[1].ci",
         ("mixes a fraction and a percent string", "both as fractions"), True),
    Case("ci-units-differ", 13, "outcomes[1].ci", ("fractions", "same units"), True),
    Case("ci-bare-number", 13, "outcomes[1].ci", ("31 is a bare number > 1", '"31%"'), True),
    Case("ci-three-values", 13, "outcomes[1].ci", ("two values", "found 3"), True),
    Case("ci-not-a-list", 13, "outcomes[1].ci", ("must be a list [low, high]",), True),
    Case("missing-source", 9, "outcomes[1].source", ("missing",), True),
    Case("empty-source", 14, "outcomes[1].source", ("is empty",), True),
    Case("blank-source", 14, "outcomes[1].source", ("is empty",), True),
    Case("python-tag", 3, None, ("!!python/object/apply:os.system", "only plain YAML"), None),
    Case("str-tag", 3, None, ("!!str", "only plain YAML"), False),
    Case("custom-tag", 8, None, ("!foo", "only plain YAML"), None),
    Case("alias-bomb", 2, None, ("anchors and aliases are not allowed",), False),
    Case("anchor-alias", 11, None, ("anchor &origin", "not allowed"), False),
    Case("empty", 1, None, ("empty",), True),
    Case("only-comment", 1, None, ("empty or holds only comments",), True),
    Case("top-level-list", 2, None, ("top level must be a mapping", "found a list"), True),
    Case("top-level-scalar", 2, None, ("top level must be a mapping", "single value"), True),
    Case("country-no", 8, "country", ("boolean false", 'country: "NO"'), True),
    Case("label-yes", 3, "label", ("boolean true", 'label: "yes"'), True),
    Case("date-as-text", 8, "notes", ("read by YAML as a date", 'quote it'), True),
    Case("count-over-total", 16, "outcomes[2].count", ("50 is greater than total 40",), False),
    Case("count-negative", 16, "outcomes[2].count", ("-1", "at least 0"), True),
    Case("count-float", 16, "outcomes[2].count", ("decimal point", "write the whole number 20"),
         False),
    Case("count-fraction", 16, "outcomes[2].count", ("20.5 is not a whole number",), True),
    Case("total-zero", 17, "outcomes[2].total", ("at least 1",), True),
    Case("counts-and-estimate", 17, "outcomes[2].estimate",
         ("together with count", "one data form"), True),
    Case("no-data", 15, "outcomes[2]", ("neither count nor estimate",), True),
    Case("count-without-total", 16, "outcomes[2].total", ("missing", "count needs total"),
         True),
    Case("endpoint-lowercase", 9, "outcomes[1].endpoint", ('"os"', "write endpoint: OS"), True),
    Case("time-zero", 10, "outcomes[1].time_months", ("greater than 0",), True),
    Case("ci-level-percent", 14, "outcomes[1].ci_level", ("write 0.95",), True),
    Case("ci-method-unknown", 14, "outcomes[1].ci_method",
         ('"greenwood"', "one of: log-log, log"), True),
    Case("ci-method-typo", 14, "outcomes[1].ci_method", ("did you mean 'log-log'",), True),
    Case("ci-level-without-ci", 18, "outcomes[2].ci_level", ("without ci",), True),
    Case("at-risk-over-total", 15, "outcomes[1].at_risk", ("50 is greater than total 40",),
         False),
    Case("missing-required", 2, "arm", ("missing",), True),
    Case("outcomes-not-list", 9, "outcomes", ("must be a list", "found a mapping"), True),
    Case("outcome-entry-not-mapping", 9, "outcomes[1]", ("must be a mapping",), True),
    Case("outcomes-empty-value", 8, "outcomes", ("is empty", "outcomes: []"), True),
    Case("characteristics-range-order", 9, "characteristics.age_years",
         ("min <= median <= max",), False),
    Case("characteristics-count-over-total", 9, "characteristics.male.count",
         ("50 is greater than total 40",), False),
    Case("characteristics-unknown-subkey", 9, "characteristics.age_years.mean",
         ("unknown key", "did you mean 'median'"), True),
    Case("characteristics-bad-name", 9, "characteristics.Age (years)",
         ("not a valid characteristic name", "age_years"), True),
    Case("octal-count", 16, "outcomes[2].count", ("not a plain decimal number", "octal"),
         False),
    Case("two-documents", 19, None, ("second YAML document",), None),
    Case("index-text", 8, "index", ('"true" is text', "without quotes"), True),
    Case("index-yes", 8, "index", ("YAML 1.1", "write true"), False),
    Case("estimate-nan", 12, "outcomes[1].estimate", ("not a finite number",), False),
    Case("duplicate-outcome", 19, "outcomes[3]",
         ("OS at 12 months is already given in outcomes[1] at line 9",), False),
    Case("pmid-number", 6, "pmid", ("is a number, not text", 'pmid: "35833303"'), True),
    Case("doi-url", 6, "doi", ("bare DOI",), True),
    Case("label-empty", 3, "label", ("is empty",), True),
    Case("deep-nesting", 8, None, ("nesting deeper",), True),
    Case("estimate-list", 12, "outcomes[1].estimate", ("found a list",), True),
    Case("key-not-text", 8, None, ("key must be a plain word",), None),
    Case("endpoint-missing", 15, "outcomes[2].endpoint", ("missing", "endpoint: OS"), True),
]


def test_catalogue_is_complete_and_large():
    files = {p.stem for p in BROKEN.glob("*.yaml")}
    assert files == {c.name for c in CASES}
    assert len(CASES) >= 45


def assert_rejected(cli, parse_errors, paths, *, file, line, key, fragments):
    """Exit code 2; every stderr line well formed; one of them is the expected problem."""
    code, out, err = cli("validate", *paths)
    assert code == 2, err
    assert out == ""
    problems = parse_errors(err)
    assert problems
    for fragment_file, _line, _message in problems:
        assert fragment_file  # every line names a file
    wanted = [
        message
        for f, n, message in problems
        if f == str(file) and n == line and (key is None or message.startswith(f"{key}: "))
    ]
    assert wanted, f"no problem at {file}:{line} naming {key!r} in:\n{err}"
    assert any(all(frag in message for frag in fragments) for message in wanted), err
    return problems


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_broken_file_is_rejected(case, cli, parse_errors):
    path = BROKEN / f"{case.name}.yaml"
    before = path.read_bytes()
    problems = assert_rejected(cli, parse_errors, [path], file=path, line=case.line,
                               key=case.key, fragments=case.fragments)
    for f, n, _message in problems:
        assert f == str(path) and n is not None  # a content problem always has a line
    assert path.read_bytes() == before


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_python_api_raises_one_study_file_error(case):
    path = BROKEN / f"{case.name}.yaml"
    with pytest.raises(StudyFileError) as info:
        load_studies([path])
    assert info.value.problems
    assert all(p.file == str(path) for p in info.value.problems)


@pytest.mark.parametrize("case", [c for c in CASES if c.schema], ids=lambda c: c.name)
def test_json_schema_rejects_what_it_can_express(case):
    document = yaml.safe_load((BROKEN / f"{case.name}.yaml").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(study_schema())
    assert list(validator.iter_errors(document)), f"the JSON Schema accepts {case.name}"


def test_all_files_at_once_report_every_file(cli, parse_errors):
    code, _out, err = cli("validate", BROKEN)
    assert code == 2
    files = {Path(f).stem for f, _n, _m in parse_errors(err)}
    assert files == {c.name for c in CASES}


# --------------------------------------------------------------------------- built cases


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def valid(study_id: str) -> str:
    return VALID.format(id=study_id)


def test_non_utf8_bytes(tmp_path, cli, parse_errors):
    data = valid("latin").replace("Test 2023", "Test caf\u00e9").encode("latin-1")
    path = write(tmp_path, "latin.yaml", data)
    assert_rejected(cli, parse_errors, [path], file=path, line=2, key=None,
                    fragments=("not valid UTF-8", "0xE9", "offset", "save the file as UTF-8"))
    assert path.read_bytes() == data


def test_utf16_file(tmp_path, cli, parse_errors):
    path = write(tmp_path, "wide.yaml", valid("wide").encode("utf-16"))
    assert_rejected(cli, parse_errors, [path], file=path, line=1, key=None,
                    fragments=("not valid UTF-8", "offset 0"))


def test_bom_is_accepted(tmp_path, cli):
    path = write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + valid("bom").encode("utf-8"))
    code, out, err = cli("validate", path)
    assert (code, err) == (0, "")
    assert out.startswith("1 study file valid")


def test_crlf_is_accepted_and_lines_are_right(tmp_path, cli, parse_errors):
    path = write(tmp_path, "crlf.yaml", valid("crlf").replace("\n", "\r\n"))
    assert cli("validate", path)[0] == 0
    bad = write(tmp_path, "crlf2.yaml",
                valid("crlf2").replace("count: 20", "count: 50").replace("\n", "\r\n"))
    assert_rejected(cli, parse_errors, [bad], file=bad, line=15, key="outcomes[2].count",
                    fragments=("greater than total",))


def test_huge_file(tmp_path, cli, parse_errors):
    text = valid("huge") + "notes: >-\n" + ("  lorem ipsum dolor sit amet\n" * 40000)
    path = write(tmp_path, "huge.yaml", text)
    assert path.stat().st_size > 1024 * 1024
    assert_rejected(cli, parse_errors, [path], file=path, line=1, key=None,
                    fragments=("larger than 1 MiB",))


def test_nul_character(tmp_path, cli, parse_errors):
    path = write(tmp_path, "nul.yaml", valid("nul").replace("Test 2023", "Test\x002023"))
    assert_rejected(cli, parse_errors, [path], file=path, line=2, key=None,
                    fragments=("#x0000", "not allowed"))


def test_missing_path(tmp_path, cli, parse_errors):
    path = tmp_path / "nope"
    problems = assert_rejected(cli, parse_errors, [path], file=path, line=None, key=None,
                               fragments=("no such file or folder",))
    assert len(problems) == 1


def test_folder_without_study_files(tmp_path, cli, parse_errors):
    (tmp_path / "readme.txt").write_text("not a study")
    assert_rejected(cli, parse_errors, [tmp_path], file=tmp_path, line=None, key=None,
                    fragments=("no study files", "metaview new"))


def test_directory_named_like_a_study_file(tmp_path, cli, parse_errors):
    write(tmp_path, "good.yaml", valid("good"))
    (tmp_path / "x.yaml").mkdir()
    assert_rejected(cli, parse_errors, [tmp_path], file=tmp_path / "x.yaml", line=None,
                    key=None, fragments=("is a folder, not a study file",))


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_symlink_loop(tmp_path, cli, parse_errors):
    write(tmp_path, "good.yaml", valid("good"))
    loop = tmp_path / "loop.yaml"
    os.symlink("loop.yaml", loop)
    assert_rejected(cli, parse_errors, [tmp_path], file=loop, line=None, key=None,
                    fragments=("symbolic link loop",))
    assert_rejected(cli, parse_errors, [loop], file=loop, line=None, key=None,
                    fragments=("symbolic link loop",))


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links")
def test_broken_symlink(tmp_path, cli, parse_errors):
    link = tmp_path / "gone.yaml"
    os.symlink("does-not-exist.yaml", link)
    assert_rejected(cli, parse_errors, [tmp_path], file=link, line=None, key=None,
                    fragments=("broken symbolic link",))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_named_pipe_is_not_opened(tmp_path, cli, parse_errors):
    write(tmp_path, "good.yaml", valid("good"))
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert_rejected(cli, parse_errors, [tmp_path], file=fifo, line=None, key=None,
                    fragments=("not a regular file",))


def test_wrong_extension(tmp_path, cli, parse_errors):
    path = write(tmp_path, "study.txt", valid("study"))
    assert_rejected(cli, parse_errors, [path], file=path, line=None, key=None,
                    fragments=(".yaml or .yml",))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root can read a file without read permission")
def test_unreadable_file_chmod(tmp_path, cli, parse_errors):
    path = write(tmp_path, "secret.yaml", valid("secret"))
    path.chmod(0)
    try:
        assert_rejected(cli, parse_errors, [path], file=path, line=None, key=None,
                        fragments=("permission denied",))
    finally:
        path.chmod(0o644)


def test_unreadable_file(tmp_path, cli, parse_errors):
    path = write(tmp_path, "secret.yaml", valid("secret"))
    real_open = os.open  # the loader opens study files with os.open (non-blocking)

    def fake_open(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    with mock.patch("os.open", fake_open):
        assert_rejected(cli, parse_errors, [path], file=path, line=None, key=None,
                        fragments=("permission denied",))


def test_unreadable_file_in_a_folder(tmp_path, cli, parse_errors):
    write(tmp_path, "good.yaml", valid("good"))
    path = write(tmp_path, "secret.yaml", valid("secret"))
    real_access = os.access

    def fake_access(file, mode, *args, **kwargs):
        if str(file) == str(path):
            return False
        return real_access(file, mode, *args, **kwargs)

    with mock.patch("os.access", fake_access):
        problems = assert_rejected(cli, parse_errors, [tmp_path], file=path, line=None,
                                   key=None, fragments=("permission denied",))
    assert len(problems) == 1


def test_unlistable_folder(tmp_path, cli, parse_errors):
    with mock.patch("os.listdir", side_effect=PermissionError(13, "Permission denied")):
        assert_rejected(cli, parse_errors, [tmp_path], file=tmp_path, line=None, key=None,
                        fragments=("permission denied",))


def test_two_index_studies_across_files(tmp_path, cli, parse_errors):
    a = write(tmp_path, "a.yaml", valid("a").replace("patients: 40", "patients: 40\nindex: true"))
    b = write(tmp_path, "b.yaml", valid("b").replace("patients: 40", "patients: 40\nindex: true"))
    problems = assert_rejected(cli, parse_errors, [tmp_path], file=b, line=7, key="index",
                               fragments=(f"{a}:7", "at most one index study"))
    assert len(problems) == 1


def test_duplicate_ids_across_folders(tmp_path, cli, parse_errors):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = write(tmp_path / "one", "same.yaml", valid("same"))
    second = write(tmp_path / "two", "same.yaml", valid("same"))
    assert_rejected(cli, parse_errors, [tmp_path / "one", tmp_path / "two"], file=second,
                    line=1, key="id", fragments=(f"{first}:1", "must be unique"))


def test_same_file_named_twice_is_loaded_once(tmp_path, cli):
    path = write(tmp_path, "twice.yaml", valid("twice"))
    code, out, _err = cli("validate", tmp_path, path)
    assert code == 0 and out.startswith("1 study file valid")


def test_problems_of_several_files_in_one_run(tmp_path, cli, parse_errors):
    write(tmp_path, "a.yaml", valid("a").replace('"45%"', "45"))
    write(tmp_path, "b.yaml", valid("b").replace("count: 20", "count: 50"))
    write(tmp_path, "c.yaml", valid("c"))
    code, _out, err = cli("validate", tmp_path)
    assert code == 2
    assert {Path(f).name for f, _n, _m in parse_errors(err)} == {"a.yaml", "b.yaml"}


def test_several_problems_of_one_file_sorted_by_line(tmp_path, cli, parse_errors):
    text = (valid("many").replace("year: 2023", 'year: "2023"')
            .replace('"45%"', "45").replace("count: 20", "count: 50")
            .replace("patients: 40", "patients: 40\ncountry: NO"))
    path = write(tmp_path, "many.yaml", text)
    code, _out, err = cli("validate", path)
    assert code == 2
    lines = [n for _f, n, _m in parse_errors(err)]
    assert lines == sorted(lines) and len(lines) == 4


def test_find_study_files_sorted_and_filtered(tmp_path):
    for name in ("b.yaml", "a.yml", "c.YAML", ".hidden.yaml", "notes.txt"):
        write(tmp_path, name, valid("x"))
    assert [p.name for p in find_study_files(tmp_path)] == ["a.yml", "b.yaml", "c.YAML"]


def test_no_paths_is_a_problem():
    with pytest.raises(StudyFileError):
        load_studies([])
