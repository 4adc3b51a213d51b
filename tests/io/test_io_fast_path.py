"""The loader's libyaml path gives exactly what its pure-Python path gives.

Study files are composed by libyaml when PyYAML has it and a cheap check of the text
allows it; the pure-Python composer stays the reference for every message. Every study
file, every broken file, texts found to differ between the two parsers and mutated study
files are loaded through both paths here and must give equal studies (same repr) or the
same problems.
"""

from __future__ import annotations

import gc
import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaview.errors import StudyFileError
from metaview.io import load_studies, loader, plainyaml

pytestmark = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")

HERE = Path(__file__).resolve().parent
STUDIES = sorted((HERE.parents[1] / "studies").glob("*.yaml"))
BROKEN = sorted((HERE / "broken").glob("*.yaml"))


def _outcome(paths: list[Path], fast: bool, monkeypatch: pytest.MonkeyPatch) -> tuple:
    monkeypatch.setattr(plainyaml, "_USE_LIBYAML", fast)
    try:
        studies = load_studies(paths)
    except StudyFileError as exc:
        return ("problems", [(p.file, p.line, p.message) for p in exc.problems])
    return ("studies", repr(studies), studies)


def _same_both_ways(paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> tuple:
    slow = _outcome(paths, False, monkeypatch)
    fast = _outcome(paths, True, monkeypatch)
    assert fast == slow
    return fast


def _tree(node: yaml.Node | None) -> object:
    if node is None:
        return None
    line = node.start_mark.line
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, line)
    if isinstance(node, yaml.SequenceNode):
        return ("list", node.tag, line, [_tree(n) for n in node.value])
    return ("mapping", node.tag, line, [(_tree(k), _tree(v)) for k, v in node.value])


def _compose_both_ways(text: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Compose ``text`` through both paths; assert the same tree and problems.

    Returns whether the libyaml path took the text.
    """
    monkeypatch.setattr(plainyaml, "_USE_LIBYAML", False)
    slow_root, slow_problems = loader._compose("f.yaml", text)
    monkeypatch.setattr(plainyaml, "_USE_LIBYAML", True)
    fast_root, fast_problems = loader._compose("f.yaml", text)
    assert fast_problems == slow_problems, repr(text)
    assert _tree(fast_root) == _tree(slow_root), repr(text)
    return loader._libyaml_can_take(text) and loader._compose_fast(text) is not loader._BAD


@pytest.mark.parametrize("path", STUDIES + BROKEN, ids=lambda p: p.name)
def test_every_file_same_on_both_paths(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _same_both_ways([path], monkeypatch)
    text = path.read_bytes().decode("utf-8", "replace").removeprefix("\ufeff")
    _compose_both_ways(text, monkeypatch)


def test_study_files_take_the_libyaml_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for path in STUDIES:
        assert _compose_both_ways(path.read_text("utf-8"), monkeypatch), path.name


def test_folder_same_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    kind, _text, studies = _same_both_ways([STUDIES[0].parent], monkeypatch)
    assert kind == "studies" and len(studies) == len(STUDIES)


def test_folder_of_broken_files_same_on_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    kind, problems = _same_both_ways([HERE / "broken"], monkeypatch)
    assert kind == "problems" and len(problems) >= len(BROKEN)


#: Texts on which libyaml and PyYAML differ, or nearly do; each must give the same result
#: through both paths (most of them by going to the pure-Python composer).
EDGE_CASES = [
    "---",  # an empty value at the very end, without a final line break
    "---\n",
    "a: 1\nb:",
    "? x\n",
    "? x: y\n",
    "? - a\n: - b\n",
    "a: [b, ?%]\n",  # "?" in flow collections
    "a: [x ? ]\n",
    "a: >#x\n  text\n",  # a comment right after a block scalar header
    "a: |-#x\n  text\n",
    "a: |2\n   text\n",
    "a: >-\n  folded\n\n  text\n",
    "a:\tb\n",  # tabs
    "a: b\t\n",
    "a:\n\t- b\n",
    "a: 1\r\nb: 2\r\n",  # other line breaks
    "a: 1\rb: 2\n",
    "a: 1\x85b: 2\n",
    "a: 1\u2028b: 2\n",
    "a: \ufeffb\n",
    "%YAML 1.1\n---\na: 1\n",  # directives
    "%TAG ! tag:example.com,2000:\n---\na: !x 1\n",
    "a: &x 1\nb: *x\n",  # anchors, aliases, tags
    "a: !!str 1\n",
    "a: 'R&D * !'\n",
    "a: \x07\n",  # characters YAML does not allow
    "a: 1\n\x00",
    "a: b\n---\nc: d\n",  # two documents
    "a: b\n...\n",
    "a: b\n... # end\n",
    "- - - x\n",
    "a: b: c\n",
    "a: 'unterminated\n",
    "a: \"\\x41\\u00e9\\N\\_\\L\\P\\ \\/\\e\\0\"\n",
    "a: \"bad \\q escape\"\n",
    "a: \"line\n\n  folded  \"\n",
    "a: plain\n  continued\n\n  again\n",
    "a: 1 # comment\n# comment\n",
    "a: x#y\n",
    "\u00e9" * 1024 + ": x\n",  # simple keys of up to 1024 characters
    "\u00e9" * 1025 + ": x\n",
    "a: b\n" * 3 + "a: c\n",  # duplicate keys (the checker reports them)
    "[" * 100_000 + "]" * 100_000 + "\n",  # too deep for libyaml's recursive composer
    "[" * 20_000 + "\n",
    "- " * 30_000 + "x\n",
    "".join(" " * i + "k:\n" for i in range(40)),  # deeper than MAX_DEPTH
    "".join(" " * i + "k:\n" for i in range(loader.MAX_DEPTH)),
    "".join(" " * i + "k:\n" for i in range(loader.MAX_DEPTH - 1)) + " " * 20 + "v\n",
    "a: " + "[" * (loader.MAX_DEPTH - 1) + "]" * (loader.MAX_DEPTH - 1) + "\n",
    "a: " + "[" * loader.MAX_DEPTH + "]" * loader.MAX_DEPTH + "\n",
    "a: " + "[" * (loader.MAX_DEPTH - 1) + "1" + "]" * (loader.MAX_DEPTH - 1) + "\n",
    "",
    "\n",
    "# only a comment\n",
    "x\n",
    "[1, 2]\n",
    "yes: no\n~: 010\n1:30: 2023-01-01\n0x1F: .inf\n",
]


@pytest.mark.parametrize("text", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_same_on_both_paths(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _compose_both_ways(text, monkeypatch)


@pytest.mark.parametrize("text", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_in_a_study_same_on_both_paths(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = STUDIES[-1].read_text("utf-8")
    path = tmp_path / STUDIES[-1].name
    path.write_text(base.replace("\noutcomes:", "\n" + text + "\noutcomes:", 1), "utf-8",
                    newline="")
    _same_both_ways([path], monkeypatch)
    path.write_text(base + text, "utf-8", newline="")
    _same_both_ways([path], monkeypatch)


# --------------------------------------------------------------------------- mutations

TOKENS = [
    "yes", "NO", "on", "~", "null", "1e5", "1.0e+400", "0x10", "010", "1_000", "1:30",
    ".nan", "-.inf", "2023-01-01", "[]", "{}", "[1, 2, 3]", "{a: 1}", '"59%"', "59", "-1",
    "0", "1", "0.5", "+1", "1.", ".5", "12.0", "1E+3", '"150%"', '"-5%"', '" 5 %"', "|",
    ">-", "|+", "|2", '"', "'", "#", "- x", ": x", "%", "@x", "`x`", "\u00e9", "\u00a0",
    "---", "...", "FILL IN", "OS", "os", "[0.3, 0.6]", '["31%", "66%"]', '["66%", "31%"]',
    "{median: 3, min: 5}", "{count: 5, total: 2}", "x" * 300, "'it''s'", '"a\\x41\\n"',
    "key: value # c", "[a, b,]", "{a, b: }", "true", "False", "", " ", "-", ":",
]


def _mutate(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        if not lines:
            lines = [""]
        i = rng.randrange(len(lines))
        op = rng.randrange(7)
        if op == 0:
            key = lines[i].split(":", 1)[0] if ":" in lines[i] else lines[i]
            lines[i] = f"{key}: {rng.choice(TOKENS)}"
        elif op == 1:
            del lines[i]
        elif op == 2:
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
        elif op == 3:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == 4:
            joined = "\n".join(lines)
            at = rng.randrange(len(joined) + 1)
            lines = (joined[:at] + rng.choice(TOKENS) + joined[at:]).split("\n")
        elif op == 5:
            lines[i] = rng.choice(["", " ", "  ", "    ", "      "]) + lines[i].lstrip()
        else:
            joined = "\n".join(lines)
            lines = joined[: rng.randrange(len(joined) + 1)].split("\n")
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(8))
def test_mutated_study_files_same_on_both_paths(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    taken = 0
    for _ in range(40):
        source = rng.choice(STUDIES)
        text = _mutate(rng, source.read_text("utf-8"))
        if rng.random() < 0.8 and not text.endswith("\n"):
            text += "\n"
        path = tmp_path / source.name
        path.write_text(text, "utf-8")
        _same_both_ways([path], monkeypatch)
        taken += _compose_both_ways(text, monkeypatch)
    assert taken  # the libyaml path was compared, not only the fallback


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STUDIES), st.lists(st.tuples(st.integers(0, 10_000),
                                                    st.sampled_from(TOKENS) | st.text(max_size=6)),
                                          min_size=1, max_size=3))
@pytest.mark.slow
def test_hypothesis_mutations_same_on_both_paths(source: Path, edits: list) -> None:
    text = source.read_text("utf-8")
    for at, token in edits:
        at %= len(text) + 1
        text = text[:at] + token + text[at:]
    with pytest.MonkeyPatch.context() as monkeypatch:
        _compose_both_ways(text, monkeypatch)


# --------------------------------------------------------------------------- the collector


@pytest.mark.parametrize("enabled", [True, False])
def test_loading_restores_the_garbage_collector(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        load_studies([STUDIES[0]])
        assert gc.isenabled() is enabled
        with pytest.raises(StudyFileError):
            load_studies([BROKEN[0]])
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
