"""PyYAML's common syntax errors reported in plain words, with the line to look at."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaview.errors import StudyFileError
from metaview.io import load_study

HEAD = "id: x\nlabel: X\n"

CASES = [
    # (name, text, line, words that must appear)
    ("missing-colon", HEAD + "year 2020\narm: a\n", 4,
     ("a missing ':' after the key on line 3", "write key: value")),
    ("list-entry-key-at-dash-column", HEAD + "outcomes:\n  - endpoint: OS\n  count: 3\n", 5,
     ("the indentation does not match the block that starts at line 4",
      "same number of spaces")),
    ("entry-key-indented-less", HEAD + "outcomes:\n  - endpoint: OS\n   count: 3\n", 5,
     ("the indentation does not match", "'- '")),
    ("entry-key-indented-more", HEAD + "outcomes:\n  - endpoint: OS\n      count: 3\n", 5,
     ("unexpected ':'", "indented further than the keys above it")),
    ("colon-in-value", "id: x\nlabel: A: B\n", 2,
     ("unexpected ':'", 'must be quoted, e.g. label: "A: B"')),
    ("unclosed-double-quote", HEAD + 'citation: "A. 2020\nyear: 2020\n', 3,
     ("a quote opened here is never closed",)),
    ("unclosed-single-quote", HEAD + "citation: 'A. 2020\nyear: 2020\n", 3,
     ("a quote opened here is never closed",)),
    ("unclosed-bracket", HEAD + "ci: [0.1, 0.2\nyear: 2020\n", 3,
     ("the '[' opened here is not closed", "add ']'")),
    ("unclosed-brace", HEAD + "characteristics: {age: 1\nyear: 2020\n", 3,
     ("the '{' opened here is not closed", "add '}'")),
    ("text-after-quote", HEAD + 'source: "Table 1" page 3\n', 3,
     ("unexpected text", "quote the whole value")),
    ("reserved-character", HEAD + "notes: @home\n", 3,
     ("a value cannot start with '@'", "in quotes")),
]


@pytest.mark.parametrize("name, text, line, words", CASES, ids=[c[0] for c in CASES])
def test_yaml_errors_in_plain_words(tmp_path: Path, name: str, text: str, line: int,
                                    words: tuple[str, ...]) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(StudyFileError) as info:
        load_study(path)
    (problem,) = info.value.problems
    assert problem.line == line
    assert problem.message.startswith("YAML syntax error: ")
    for w in words:
        assert w in problem.message
    for jargon in ("<block end>", "scalar", "simple key", "block collection", "stream"):
        assert jargon not in problem.message
