"""Plain YAML only: a study file's text composed into a node tree with the file's line numbers.

The only module that parses YAML text (the others read its nodes). A study file is parsed
with ``yaml.SafeLoader`` only as far as its node tree (``compose``; libyaml composes the
same tree six times faster when PyYAML has it and the text is plain, see ``_compose``);
Python values are built from the nodes by :mod:`metaview.io.build`, so that

* every key and value keeps its line number for messages;
* duplicate keys are errors (PyYAML's constructor silently keeps the last one);
* explicit tags (``!!python/object``, ``!foo``, even ``!!str``), anchors and aliases are
  rejected before anything is built (which also defuses alias-expansion bombs);
* YAML 1.1 surprises are reported instead of silently converted: ``NO`` or ``yes`` read as
  booleans, ``2023-01-01`` read as a date, ``010`` read as octal 8, ``1:30`` read as 90.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

import yaml

from metaview.errors import Problem
from metaview.io.checks import _BAD

#: Deepest nesting accepted (a study file needs 4 levels).
MAX_DEPTH = 16
class _StructureError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


#: Line breaks of YAML that are not line breaks of the file as editors, ``grep -n`` and
#: ``wc -l`` count them (a "\r" not followed by "\n", NEL, U+2028, U+2029).
_YAML_ONLY_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")


class _LineNumbers:
    """Line numbers of positions in a text, counted as the file's ``"\n"`` characters.

    YAML also breaks lines at a lone ``"\r"``, NEL and U+2028/U+2029, so its marks' ``line``
    can run past the last line of the file; messages use the file's lines instead.
    """

    def __init__(self, text: str):
        self.exact = _YAML_ONLY_BREAKS.search(text) is None
        self._breaks = [] if self.exact else [m.start() for m in re.finditer("\n", text)]

    def of(self, mark: Any) -> int:
        """1-based line of a YAML mark."""
        if self.exact:
            return int(mark.line) + 1
        return bisect.bisect_left(self._breaks, int(mark.index)) + 1

    def renumber(self, root: yaml.Node | None) -> None:
        """Rewrite the start marks of every node of the tree to the file's lines."""
        if self.exact or root is None:
            return
        stack = [root]
        while stack:
            node = stack.pop()
            m = node.start_mark
            node.start_mark = yaml.Mark(m.name, m.index, self.of(m) - 1, m.column,
                                        None, None)  # type: ignore[arg-type]
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    stack.extend((key, value))
            elif isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)


class _PlainComposer(yaml.SafeLoader):
    """Builds the node tree of plain YAML; notes tags, anchors and aliases with their lines."""

    def __init__(self, text: str):
        super().__init__(text)
        self.tags: list[tuple[int, str]] = []
        self.anchors_seen: list[tuple[int, str]] = []
        self.aliases_seen: list[tuple[int, str]] = []
        self._depth = 0
        self.lines = _LineNumbers(text)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        line = self.lines.of(event.start_mark)
        if isinstance(event, yaml.AliasEvent):
            self.get_event()
            self.aliases_seen.append((line, str(event.anchor)))
            return yaml.ScalarNode("tag:yaml.org,2002:null", "",
                                   event.start_mark, event.end_mark)  # type: ignore[arg-type]
        if event.anchor is not None:
            self.anchors_seen.append((line, str(event.anchor)))
            event.anchor = None
        tag = getattr(event, "tag", None)
        if tag is not None:
            self.tags.append((line, str(tag)))
            event.tag = None
            if isinstance(event, yaml.ScalarEvent):
                event.implicit = (False, True)  # keep it a string; already reported
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _StructureError(line, f"nesting deeper than {MAX_DEPTH} levels "
                                      "(a study file needs four; check the indentation)")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml_error_problem(display: str, text: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text[: exc.position].count("\n") + 1
        return Problem(display, line, f"character #x{exc.character:04x} is not allowed in YAML "
                       "(remove it; save the file as plain UTF-8 text)")
    if isinstance(exc, yaml.MarkedYAMLError):
        lines = _LineNumbers(text)
        mark = exc.problem_mark or exc.context_mark
        line = lines.of(mark) if mark is not None else 1
        problem = (exc.problem or "").strip()
        context = (exc.context or "").strip()
        if "another document" in problem or "another document" in context:
            return Problem(display, line, "a second YAML document ('---') (a study file holds "
                           "one study; remove the '---' line and what follows or move it to "
                           "its own file)")
        if "'\\t'" in problem:
            return Problem(display, line, "YAML syntax error: a tab character (indent with "
                           "spaces, not tabs)")
        start = lines.of(exc.context_mark) if exc.context_mark is not None else None
        plain = _plain_yaml_error(problem, context, line, start)
        if plain is not None:
            at, words = plain
            return Problem(display, at, f"YAML syntax error: {words}")
        what = problem or "invalid YAML"
        if context:
            where = ""
            if exc.context_mark is not None and mark is not None and \
                    lines.of(exc.context_mark) != line:
                where = f" that starts at line {lines.of(exc.context_mark)}"
            what = f"{what} {context}{where}"
        what = " ".join(what.split())
        return Problem(display, line, f"YAML syntax error: {what} (check the indentation, "
                       "colons and quotes around this line)")
    return Problem(display, 1, f"YAML error: {' '.join(str(exc).split())}")


def _plain_yaml_error(problem: str, context: str, line: int,
                      start: int | None) -> tuple[int, str] | None:
    """PyYAML's common syntax errors in plain words: ``(line, what is probably wrong)``.

    ``line`` is where PyYAML noticed the error, ``start`` where the construct it was reading
    began (an unclosed quote or bracket is reported where it opens). None for the others.
    """
    since = f" that starts at line {start}" if start is not None and start != line else ""
    if "could not find expected ':'" in problem:
        key_line = start if start is not None else line
        return line, (f"a missing ':' after the key on line {key_line} (write key: value; a "
                      "value continued on the next line must be indented under it)")
    if "mapping values are not allowed" in problem:
        return line, ("unexpected ':' (a value containing ': ' must be quoted, e.g. "
                      'label: "A: B"; or this line is indented further than the keys above '
                      "it: align it with them)")
    if "quoted scalar" in context and "end of stream" in problem:
        at = start if start is not None else line
        return at, ("a quote opened here is never closed (add the closing quote at the end "
                    "of the value)")
    for opening, closing, what in (("[", "]", "flow sequence"), ("{", "}", "flow mapping")):
        if what in context and (f"expected ',' or '{closing}'" in problem
                                or "end of stream" in problem):
            at = start if start is not None else line
            return at, (f"the '{opening}' opened here is not closed (add '{closing}' at the end "
                        f"of the value, or separate its items with ', ')")
    if problem.startswith("expected <block end>") or (
            problem.startswith("expected <block mapping start>")):
        if "'<scalar>'" in problem:
            return line, ("unexpected text (a quoted value must end at its closing quote: "
                          f"quote the whole value; or the indentation does not match the block"
                          f"{since})")
        block = f"the block{since}" if since else "the lines above"
        return line, (f"the indentation does not match {block} (indent the keys of one "
                      "entry by the same number of spaces, and start each list entry with "
                      "'- ' in the same column)")
    if "cannot start any token" in problem:
        found = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return line, (f"a value cannot start with '{found}' (put the value in quotes)")
    return None


def _compose(display: str, text: str) -> tuple[yaml.Node | None, list[Problem]]:
    if _USE_LIBYAML and _libyaml_can_take(text):
        root = _compose_fast(text)
        if root is not _BAD:
            return root, []
    return _compose_plain(display, text)


# The fast path: libyaml composes the node tree in C. It is taken only for text on which
# it gives the same tree (tags, values, start lines) as the composer above, and only when
# that tree needs none of the composer's checks; for anything else, including every
# error, the text is composed again by the composer above, whose messages are the
# reference.
#
# It is kept because users gain from it: in-process ``load_studies`` of generated
# one-outcome files on 2 cores (minimum of 3 runs), 4,000 files take 0.67 s with libyaml and
# 3.95 s without; 20,000 files 3.2 s with and 115 s without.

#: Compose with libyaml when PyYAML has it (tests switch it off to compare both paths).
_USE_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))
#: Longest text given to libyaml, and most flow brackets and block sequence entries
#: ("[", "{", "- "): libyaml's composer recurses in C once per nesting level (and crashes
#: the process some ten thousand levels down), so these bound its depth; deeper text goes
#: to the composer above, which stops at MAX_DEPTH.
_FAST_MAX_CHARS = 64 * 1024
_FAST_MAX_INDICATORS = 500
#: Characters that send a text to the composer above, anywhere (also in quoted text and
#: comments): anchors, aliases and tags, which that composer reports; "?", on which the
#: two disagree in flow collections; tabs, which they accept in different places; line
#: breaks other than "\n" and byte order marks inside the text.
_FAST_EXCLUDED = ("&", "*", "!", "?", "\t", "\r", "\x85", "\u2028", "\u2029", "\ufeff")
#: Characters before a "#" that send a text to the composer above: libyaml takes a comment
#: right after a block scalar header (">-#"), PyYAML does not.
_BEFORE_HASH = frozenset("|>-+0123456789")


def _libyaml_can_take(text: str) -> bool:
    """Whether libyaml composes ``text`` as the composer above does (a cheap check)."""
    if len(text) > _FAST_MAX_CHARS or text.startswith("%") or "\n%" in text:
        return False  # long, or a directive (%YAML, %TAG)
    if not text.endswith("\n"):
        return False  # libyaml puts an empty value at the very end on the next line
    for char in _FAST_EXCLUDED:
        if char in text:
            return False
    at = text.find("#", 1)
    while at > 0:
        if text[at - 1] in _BEFORE_HASH:
            return False
        at = text.find("#", at + 1)
    indicators = text.count("[") + text.count("{") + text.count("- ")
    return indicators <= _FAST_MAX_INDICATORS


if _USE_LIBYAML:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    _RESOLVER = _PlainComposer("")  # resolves tags exactly as the composer above does
    _SCALAR_TAG = _RESOLVER.DEFAULT_SCALAR_TAG
    _COLLECTION_TAGS = {yaml.SequenceNode: _RESOLVER.DEFAULT_SEQUENCE_TAG,
                        yaml.MappingNode: _RESOLVER.DEFAULT_MAPPING_TAG}
    _PLAIN_TAGS: dict[str, str] = {}  # tag of a plain scalar by its text (bounded)

    class _FastComposer(CParser):
        """libyaml's composer with a memo of the tags of plain scalars."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is yaml.ScalarNode:
                if not implicit[0]:
                    return _SCALAR_TAG
                tag = _PLAIN_TAGS.get(value)
                if tag is None:
                    tag = _RESOLVER.resolve(kind, value, implicit)
                    if len(_PLAIN_TAGS) < 10_000:
                        _PLAIN_TAGS[value] = tag
                return tag
            return _COLLECTION_TAGS[kind]

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            pass

        def ascend_resolver(self) -> None:
            pass


def _compose_fast(text: str) -> Any:
    """The node tree of ``text`` from libyaml, or ``_BAD`` when the composer above must
    look at it (a YAML error, nesting deeper than MAX_DEPTH, path resolvers)."""
    if _PlainComposer.yaml_path_resolvers:  # pragma: no cover - nobody adds them
        return _BAD
    parser = None
    try:
        parser = _FastComposer(text)
        root = parser.get_single_node()
    except Exception:  # noqa: BLE001 - the composer above reports it
        return _BAD
    finally:
        if parser is not None:
            parser.dispose()
    if root is None or isinstance(root, yaml.ScalarNode):
        return root
    # Nodes are at depth 1 (the root) and deeper; a node at MAX_DEPTH + 1 is an error.
    stack = [(root, 1)]
    scalar = yaml.ScalarNode
    while stack:
        node, depth = stack.pop()
        if not node.value:
            continue
        if depth >= MAX_DEPTH:
            return _BAD
        depth += 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.__class__ is not scalar:
                    stack.append((key, depth))
                if value.__class__ is not scalar:
                    stack.append((value, depth))
        else:
            for item in node.value:
                if item.__class__ is not scalar:
                    stack.append((item, depth))
    return root


def _compose_plain(display: str, text: str) -> tuple[yaml.Node | None, list[Problem]]:
    loader: _PlainComposer | None = None
    try:
        loader = _PlainComposer(text)  # the reader checks every character here
        root = loader.get_single_node()
        loader.lines.renumber(root)
    except _StructureError as exc:
        return None, [Problem(display, exc.line, exc.message)]
    except yaml.YAMLError as exc:
        return None, [_yaml_error_problem(display, text, exc)]
    except RecursionError:
        return None, [Problem(display, 1, "nesting too deep (check the indentation)")]
    finally:
        if loader is not None:
            loader.dispose()
    problems: list[Problem] = []
    for line, tag in loader.tags:
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        problems.append(Problem(display, line, f"tag {shown}: only plain YAML is allowed "
                                "(remove the tag; quote text instead of tagging it !!str)"))
    for seen, what in ((loader.anchors_seen, "anchor &"), (loader.aliases_seen, "alias *")):
        if seen:
            line, name = seen[0]
            more = f"; {len(seen) - 1} more in this file" if len(seen) > 1 else ""
            problems.append(Problem(display, line, f"{what}{name}: anchors and aliases are not "
                                    f"allowed (write each value out in full{more})"))
    if problems:
        return None, sorted(problems, key=lambda p: p.line or 0)
    return root, []
