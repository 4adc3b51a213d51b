"""Hostile text in study files (``hostile/text-*.yaml``): each file is rejected with one
clear line that shows the offending character escaped, or accepted with its text kept
exactly as written.

The policy (README, "Text in study files"): no control characters other than tab and line
feed, no lone surrogates, bidirectional embeddings, overrides or isolates, line or
paragraph separators or non-characters in any text; every text has a visible character;
``label``, ``arm``, ``design``, ``country`` and ``time_origin`` are one line; a placeholder
is found behind invisible characters too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from metaview.errors import StudyFileError
from metaview.io import load_studies
from metaview.io.template import render_template

HOSTILE = Path(__file__).resolve().parent / "hostile"

#: What may reach a terminal: no C0/C1 control other than line feed, no bidi controls.
UNSAFE_FOR_TERMINALS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                                  "\u2028\u2029\ud800-\udfff]")


@dataclass(frozen=True)
class Rejected:
    name: str  # hostile/<name>.yaml
    line: int
    key: str
    fragments: tuple[str, ...]


REJECTED = [
    Rejected("text-lone-surrogate", 3, "label", ("lone surrogate \\ud800", "character 6")),
    Rejected("text-nul", 4, "citation", ("control character \\0", "character 7")),
    Rejected("text-terminal-escape", 3, "label", ("control character \\e", "character 1")),
    Rejected("text-c1-control", 6, "arm", ("control character \\x9b",)),
    Rejected("text-cr-in-id", 2, "id", ("control character \\r",)),
    Rejected("text-invisible-label", 3, "label", ("no visible character",)),
    Rejected("text-invisible-source", 13, "outcomes[1].source", ("no visible character",)),
    Rejected("text-hidden-placeholder", 3, "label", ("fill in", "FILL IN placeholder")),
    Rejected("text-bidi-override", 3, "label", ("bidirectional control \\u202e",)),
    Rejected("text-bidi-isolate", 13, "outcomes[1].source", ("bidirectional control \\u2068",)),
    Rejected("text-newline-label", 3, "label", ("line break", "one line")),
    Rejected("text-tab-arm", 6, "arm", ("a tab", "one line")),
    Rejected("text-line-separator", 14, "notes", ("separator \\u2028",)),
    Rejected("text-noncharacter", 14, "notes", ("non-character \\uffff",)),
    Rejected("text-escape-in-key", 14, "\\e[2Jlabel", ("unknown key", "did you mean 'label'")),
    Rejected("text-control-in-characteristic", 15, "characteristics.disease",
             ("control character \\x07",)),
]

#: Accepted files and a text each keeps exactly (the loader never rewrites study text).
ACCEPTED = {
    "text-multiline": ("citation", "Test A, et al.\nJ Test.\t2023;1:1-2."),
    "text-scripts": ("label", ("Te\u200dst \u05de\u05d7\u05e7\u05e8 \u200e2023 "
                               "\U0001F469\u200D\U0001F52C")),
    "text-formula": ("label", '=HYPERLINK("https://example.org/x","Test")'),
    "text-markup": ("label", "![p](https://example.org/p.png) <b>Test</b>"),
    "text-long-endpoint": ("label", "Test 2023"),
    "text-long-endpoint-2": ("label", "Test 2024"),
}


def test_catalogue_lists_every_text_file():
    files = {p.stem for p in HOSTILE.glob("text-*.yaml")}
    assert files == {c.name for c in REJECTED} | set(ACCEPTED)
    for path in HOSTILE.glob("text-*.yaml"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(("# rejected: ", "# accepted: ")), path.name


@pytest.mark.parametrize("case", REJECTED, ids=lambda c: c.name)
def test_hostile_text_is_rejected_with_one_clear_line(case, cli, parse_errors):
    path = HOSTILE / f"{case.name}.yaml"
    before = path.read_bytes()
    code, out, err = cli("validate", path)
    assert code == 2 and out == ""
    assert not UNSAFE_FOR_TERMINALS.search(err), repr(err)
    problems = parse_errors(err)
    assert len(problems) == 1, err
    file, line, message = problems[0]
    assert (file, line) == (str(path), case.line), err
    assert message.startswith(f"{case.key}: "), message
    assert all(f in message for f in case.fragments), message
    assert re.search(r"\(.+\)$", message), "the message says how to fix it"
    assert path.read_bytes() == before


@pytest.mark.parametrize("case", REJECTED, ids=lambda c: c.name)
def test_python_api_rejects_hostile_text(case):
    path = HOSTILE / f"{case.name}.yaml"
    with pytest.raises(StudyFileError) as info:
        load_studies([path])
    assert len(info.value.problems) == 1
    assert not UNSAFE_FOR_TERMINALS.search(str(info.value))


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_text_is_kept_exactly(name, cli):
    path = HOSTILE / f"{name}.yaml"
    code, out, err = cli("validate", path)
    assert code == 0, err
    (study,) = load_studies([path])
    field, text = ACCEPTED[name]
    assert getattr(study, field) == text


def test_multi_line_fields_keep_line_breaks_and_tabs():
    (study,) = load_studies([HOSTILE / "text-multiline.yaml"])
    assert study.notes == "First line.\nSecond\tline.\n"
    assert study.outcomes[0].source == "Table 2:\n1-year OS 45%\n"


@pytest.mark.parametrize("invisible", ["\u200b", "\ufeff", "\u2060", "\u00ad", "\u200b \u200c"])
def test_placeholder_behind_invisible_characters_is_found(tmp_path, invisible, cli,
                                                          parse_errors):
    """The template's placeholders stay placeholders whatever invisible character hides
    them, at the start or inside the words."""
    text = render_template("hidden", schema_ref="study.schema.json")
    assert "FILL IN" in text
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(r"label: .*FILL IN", line))
    lines[first] = lines[first].replace(
        "FILL IN", f"{invisible}FI{invisible.replace(' ', '')}LL IN")
    path = tmp_path / "hidden.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first += 1
    code, _, err = cli("validate", path)
    assert code == 2
    assert any(line == first and "fill in" in message
               for _, line, message in parse_errors(err)), err


def test_file_name_with_control_characters_is_shown_escaped(tmp_path, cli, parse_errors):
    path = tmp_path / "bad\x1b[2J.yaml"
    path.write_text((HOSTILE / "text-markup.yaml").read_text(encoding="utf-8"),
                    encoding="utf-8")
    code, _, err = cli("validate", path)
    assert code == 2
    assert "\x1b" not in err and "\\e[2J" in err


@pytest.mark.parametrize("text, ok", [
    ("Zurko 2023", True),
    ("Zu\u200brko", True),  # invisible inside visible text: kept
    ("\u00a0x", True),
    ("\u3164", False),  # Hangul filler alone shows nothing
    ("\u2800\u200b", False),
    ("\U000e0041", False),  # a tag character alone
    ("a\x7fb", False),
    ("a\x85b", False),  # NEL, a C1 control
    ("\U0010fffe", False),
])
def test_text_policy_of_single_values(tmp_path, text, ok):
    source = (HOSTILE / "text-markup.yaml").read_text(encoding="utf-8")
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    lines = source.splitlines()
    lines[2] = f'label: "{escaped}"'
    path = tmp_path / "text-markup.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if ok:
        (study,) = load_studies([path])
        assert study.label == text
    else:
        with pytest.raises(StudyFileError) as info:
            load_studies([path])
        assert info.value.problems[0].line == 3
