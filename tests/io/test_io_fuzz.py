"""Fuzzing the loader with mutated study files (hypothesis, bounded time).

Whatever the bytes, loading either succeeds or raises one StudyFileError whose problems
are one line each with a file and a line inside the file; never another exception. A file
the loader accepts is also accepted by the JSON Schema.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaview.errors import StudyFileError
from metaview.io import load_studies, study_schema

STUDIES = Path(__file__).resolve().parents[2] / "studies"
BASES = {p.stem: p.read_bytes() for p in sorted(STUDIES.glob("*.yaml"))}
VALIDATOR = jsonschema.Draft202012Validator(study_schema())

TOKENS = [
    "yes", "NO", "on", "~", "null", "1e5", "1.0e+400", "0x10", "010", "1_000", "1:30",
    ".nan", "-.inf", "2023-01-01", "2023-02-30", "[]", "{}", "[1, 2, 3]", "{a: 1}",
    '"59%"', "59", "-1", "0", "1", "0.5", '"150%"', '"-5%"', '" 5 %"', "!!str x",
    "!!python/object/apply:os.system [x]", "&a x", "*a", "*undefined", "|", ">-", '"',
    "'", "#", "- x", "? x", ": x", "%", "@x", "`x`", "\t", "\x00", "\u00e9", "\ufeff",
    "---", "...", "FILL IN", "OS", "os", "[0.3, 0.6]", '["31%", "66%"]', '["66%", "31%"]',
    "[0.31, \"66%\"]", "{median: 3, min: 5}", "{count: 5, total: 2}", "x" * 300,
]

lines_of = st.sampled_from(sorted(BASES))


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    name = draw(lines_of)
    data = BASES[name]
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.sampled_from([_replace_value, _delete_line, _duplicate_line,
                                     _swap_lines, _insert_text, _flip_byte, _truncate,
                                     _reindent]))(draw, data)
    return name, data


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _replace_value(draw, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    line = lines[i]
    token = draw(st.sampled_from(TOKENS)).encode("utf-8")
    if b":" in line:
        key = line.split(b":", 1)[0]
        lines[i] = key + b": " + token
    else:
        lines[i] = line + b" " + token
    return b"\n".join(lines)


def _delete_line(draw, data: bytes) -> bytes:
    lines = _lines(data)
    del lines[draw(st.integers(0, len(lines) - 1))]
    return b"\n".join(lines)


def _duplicate_line(draw, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    lines.insert(draw(st.integers(0, len(lines))), lines[i])
    return b"\n".join(lines)


def _swap_lines(draw, data: bytes) -> bytes:
    lines = _lines(data)
    i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def _insert_text(draw, data: bytes) -> bytes:
    at = draw(st.integers(0, len(data)))
    text = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=8))).encode("utf-8")
    return data[:at] + text + data[at:]


def _flip_byte(draw, data: bytes) -> bytes:
    if not data:
        return data
    at = draw(st.integers(0, len(data) - 1))
    return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1:]


def _truncate(draw, data: bytes) -> bytes:
    return data[: draw(st.integers(0, len(data)))]


def _reindent(draw, data: bytes) -> bytes:
    lines = _lines(data)
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] = draw(st.sampled_from([b"", b" ", b"  ", b"\t", b"      "])) + lines[i].lstrip()
    return b"\n".join(lines)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_study_files_never_raise_anything_else(case):
    name, data = case
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.yaml"
        path.write_bytes(data)
        try:
            studies = load_studies([path])
        except StudyFileError as exc:
            assert exc.problems
            n_lines = data.count(b"\n") + 1
            for problem in exc.problems:
                assert problem.file == str(path)
                assert "\n" not in problem.message
                assert "internal error" not in problem.message
                assert problem.line is None or 1 <= problem.line <= n_lines
            return
        assert path.read_bytes() == data
    # accepted by the loader: the JSON Schema must accept it too
    (study,) = studies
    document = yaml.safe_load(data.decode("utf-8-sig"))
    errors = [e.message for e in VALIDATOR.iter_errors(document)]
    assert errors == [], (study.id, errors)


@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_anything_else(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "random.yaml"
        path.write_bytes(data)
        try:
            load_studies([path])
        except StudyFileError as exc:
            assert all("internal error" not in p.message for p in exc.problems)


@given(st.decimals(min_value=0, max_value=200, places=2, allow_nan=False))
def test_percent_strings(value):
    import re

    from metaview.io.schema import PERCENT_PATTERN

    text = f"{value}%"
    base = BASES["zurko2023"].decode("utf-8").replace('estimate: "59%"', f'estimate: "{text}"')
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "zurko2023.yaml"
        path.write_text(base, "utf-8")
        schema_ok = re.search(PERCENT_PATTERN, text) is not None
        try:
            (study,) = load_studies([path])
        except StudyFileError as exc:
            assert value > 100 and not schema_ok
            assert "more than 100%" in str(exc)
            return
    assert value <= 100 and schema_ok
    assert study.outcomes[0].estimate == float(value / 100)
    assert study.outcomes[0].estimate_text == text


def _problems(tmp_path: Path, name: str, data: bytes) -> list:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(data)
    try:
        load_studies([path])
    except StudyFileError as exc:
        return list(exc.problems)
    return []


@pytest.mark.parametrize("brk", ["\r", "\x85", "\u2028", "\u2029"])
def test_lines_are_the_files_lines_whatever_yaml_counts_as_a_line_break(tmp_path: Path,
                                                                         brk: str) -> None:
    """YAML also breaks lines at a lone CR, NEL and U+2028/9; messages count "\\n" as the
    file's lines (found by the fuzz test: an error at line 40 of a 39-line file)."""
    # an unterminated quote on line 1 after a lone break: the error is in the file
    data = (brk + 'id: "\n').encode("utf-8") + BASES["chow2019"].split(b"\n", 1)[1]
    problems = _problems(tmp_path, "chow2019", data)
    n_lines = data.count(b"\n") + 1
    assert problems and all(1 <= p.line <= n_lines for p in problems)
    assert re.search(r"starts at line 1\b", problems[0].message), problems[0].message
    # a value error after breaks inside a comment: reported on the value's own line
    text = BASES["zurko2023"].decode("utf-8")
    lines = text.split("\n")
    year = next(i for i, line in enumerate(lines) if line.startswith("year:"))
    lines[year] = "year: 1800"
    lines.insert(1, f"# a comment{brk}# and two more{brk}# after YAML-only breaks")
    (problem,) = _problems(tmp_path, "zurko2023", "\n".join(lines).encode("utf-8"))
    assert problem.line == year + 2 and "year" in problem.message
