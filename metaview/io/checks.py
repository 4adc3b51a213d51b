"""Checking values of a composed study file against the schema, one problem per key.

Types, required keys, unknown keys, patterns, enumerations and ranges come from the
declarations in :mod:`metaview.io.schema` (the same ones that make the JSON Schema); the
rules a JSON Schema cannot express are checked here and in :mod:`metaview.io.build`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import yaml

from metaview.errors import Problem
from metaview.io import schema as sc

_BAD = object()  # a value that failed its check (already reported)

_INT_RE = re.compile(r"[-+]?(0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?")
_PERCENT_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*%\s*")
_NEGATIVE_PERCENT_RE = re.compile(r"\s*-\s*[0-9]+(?:\.[0-9]+)?\s*%\s*")
_NUMBER_TEXT_RE = re.compile(r"\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*")

# --------------------------------------------------------------------------- values


_STR_TAG = "tag:yaml.org,2002:str"


class _Scalar(NamedTuple):
    kind: str  # null, bool, int, float, str, date, oddnumber
    value: Any
    text: str


#: The kind of value of a resolved tag (a tag's last part: null, bool, int, float,
#: timestamp; every other tag is text).
_TAG_KINDS: dict[str, str] = {}


def _tag_kind(tag: str) -> str:
    kind = _TAG_KINDS.get(tag)
    if kind is None:
        kind = "str"
        for suffix, name in ((":null", "null"), (":bool", "bool"), (":int", "int"),
                             (":float", "float"), (":timestamp", "date")):
            if tag.endswith(suffix):
                kind = name
                break
        if len(_TAG_KINDS) < 100:
            _TAG_KINDS[tag] = kind
    return kind


def _scalar(node: yaml.ScalarNode) -> _Scalar:
    text = node.value
    kind = _TAG_KINDS.get(node.tag) or _tag_kind(node.tag)
    if kind == "str":
        return _Scalar("str", text, text)
    if kind == "null":
        return _Scalar("null", None, text)
    if kind == "bool":
        return _Scalar("bool", text.lower() in ("true", "yes", "on"), text)
    if kind == "int":
        if _INT_RE.fullmatch(text):
            # a longer integer is out of every field's range; Decimal compares it exactly
            # (int() refuses more than 4,300 digits)
            return _Scalar("int", int(text) if len(text) <= 30 else Decimal(text), text)
        return _Scalar("oddnumber", None, text)
    if kind == "float":
        if _FLOAT_RE.fullmatch(text) and len(text) <= 60:
            return _Scalar("float", float(text), text)
        if text.lower().lstrip("+-") in (".inf", ".nan"):
            return _Scalar("float", float(text.lower().replace(".", "")), text)
        return _Scalar("oddnumber", None, text)
    return _Scalar("date", None, text)


def _show(text: str, limit: int = 40) -> str:
    """``text`` in double quotes for a message, cut to ``limit`` characters, with every
    character that is not printable written as a YAML escape (``\\e``, ``\\u200b``)."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return '"' + _escaped(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0", "\x1b": "\\e"}


def _escaped(text: str) -> str:
    """Every character of ``text`` that is not printable (controls, format characters,
    surrogates, separators other than the space) as a YAML escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _ESCAPES.get(c) or _escape(c) for c in text)


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


# Text policy (the README's format section): characters refused in any text value, and the
# fields that are one line of text.
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(1, 17))
_REFUSED_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
                         "\u2066-\u2069\ud800-\udfff" + _NONCHARACTERS + "]")
#: Characters that show nothing: format characters, fillers and variation selectors.
_INVISIBLE = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
              "\u202a-\u202e\u2060-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0"
              "\U000e0000-\U000e0fff")
_VISIBLE_RE = re.compile(f"[^\\s{_INVISIBLE}]")
_LEADING_INVISIBLE_RE = re.compile(f"[\\s{_INVISIBLE}]*")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_ONE_LINE_FIELDS = frozenset({"label", "arm", "design", "country", "time_origin"})


def _text_ok(text: str, name: str) -> bool:
    """True when ``text`` passes the text policy (the usual case, quickly)."""
    return (_REFUSED_RE.search(text) is None and _VISIBLE_RE.search(text) is not None
            and not (name in _ONE_LINE_FIELDS and ("\n" in text or "\t" in text)))


def _text_problem(text: str, name: str) -> tuple[str, str] | None:
    """(what is wrong, how to fix it) when ``text`` breaks the text policy, else None."""
    bad = _REFUSED_RE.search(text)
    if bad is not None:
        c = bad.group(0)
        n = ord(c)
        at = f"at character {bad.start() + 1}"
        if 0xD800 <= n <= 0xDFFF:
            what = (f"contains a lone surrogate {_escape(c)} {at}, which is not a character "
                    "and cannot be written to any output")
            return what, "remove the escape, or write the character itself"
        if c in "\u2028\u2029":
            return (f"contains the separator {_escape(c)} {at}",
                    "use a plain line break, or remove it")
        if 0x202A <= n <= 0x202E or 0x2066 <= n <= 0x2069:
            what = (f"contains the bidirectional control {_escape(c)} {at}, which reorders "
                    "how the text around it is displayed")
            return what, "remove it"
        if n < 0x20 or 0x7F <= n <= 0x9F:
            return (f"contains the control character {_escaped(c)} {at}",
                    "remove it: control characters are not text and could act on a terminal")
        return f"contains the non-character {_escape(c)} {at}", "remove it"
    if _VISIBLE_RE.search(text) is None:
        what = "has no visible character, only spaces or invisible ones such as \\u200b"
        return what, "write the text, or remove the line"
    if name in _ONE_LINE_FIELDS and ("\n" in text or "\t" in text):
        what = "a line break" if "\n" in text else "a tab"
        return (f"contains {what}, but {name} is one line of text",
                "write it on one line, with spaces")
    return None


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "a value"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _is_placeholder(s: _Scalar) -> bool:
    return s.kind == "str" and _is_placeholder_text(s.value)


def _is_placeholder_text(text: str) -> bool:
    # text.strip().upper().startswith(PLACEHOLDER), without copying long texts, and blind
    # to invisible characters (a zero-width space must not hide a placeholder)
    if text.lstrip()[:_PLACEHOLDER_LENGTH].upper().startswith(sc.PLACEHOLDER):
        return True
    start = _LEADING_INVISIBLE_RE.match(text).end()  # type: ignore[union-attr]
    head = text[start:start + 2 * _PLACEHOLDER_LENGTH]
    if _INVISIBLE_RE.search(head) is not None:
        head = _INVISIBLE_RE.sub("", text[start:start + 64 * _PLACEHOLDER_LENGTH])
    return " ".join(head.split())[:_PLACEHOLDER_LENGTH].upper() == sc.PLACEHOLDER


_PLACEHOLDER_LENGTH = len(sc.PLACEHOLDER)


_PATTERNS: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _PATTERNS.get(pattern)
    if compiled is None:
        compiled = _PATTERNS[pattern] = re.compile(pattern)
    return compiled


def _matches(pattern: str, value: str) -> bool:
    if _compiled(pattern).search(value) is None:
        return False
    return not (value.endswith("\n") and pattern.endswith("$"))


def _fmt(x: float | Decimal) -> str:
    if isinstance(x, int):
        return str(x)
    if isinstance(x, Decimal):
        text = format(x.normalize(), "f")
        return text
    return f"{x:g}"


def _did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    options = list(candidates)
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _token_suggestion(name: str, value: str) -> str | None:
    """A corrected token for an id, an endpoint or a characteristic name, if one is obvious."""
    if name == "endpoint":
        candidate = re.sub(r"[^A-Z0-9_]+", "_", value.strip().upper()).strip("_")
        pattern = sc.ENDPOINT_PATTERN
    elif name == "id":
        candidate = re.sub(r"[^a-z0-9_-]+", "-", value.strip().lower()).strip("-_")
        pattern = sc.ID_PATTERN
    else:
        candidate = re.sub(r"[^a-z0-9_]+", "_", value.strip().lower()).strip("_")
        pattern = sc.CHARACTERISTIC_PATTERN
    if candidate and candidate != value and re.fullmatch(pattern.strip("^$"), candidate):
        return candidate
    return None


#: Reads one field: ``(spec, node, key, values read so far) -> value`` (``_BAD`` on a problem).
FieldReader = Callable[[sc.FieldSpec, yaml.Node, str, dict[str, Any]], Any]


class _Checker:
    """Collects the problems of one file."""

    def __init__(self, display: str):
        self.display = _escaped(display)
        self.problems: list[Problem] = []

    def add(self, line: int | None, key: str | None, what: str, fix: str | None = None) -> None:
        message = f"{key}: {what}" if key else what
        if fix:
            message = f"{message} ({fix})"
        self.problems.append(Problem(self.display, line, _escaped(message)))

    def missing(self, line: int | None, key: str, spec: sc.FieldSpec) -> None:
        """Report ``key`` as missing when its field is required (else nothing)."""
        if spec.required:
            example = f", e.g. {spec.name}: {spec.example}" if spec.example else ""
            self.add(line, key, "missing", f"add it: {spec.description}{example}")

    # ----------------------------------------------------------------- mappings

    def fields(self, items: Mapping[str, tuple[yaml.Node, yaml.Node]],
               specs: Mapping[str, sc.FieldSpec], line: int | None, prefix: str,
               readers: Mapping[str, FieldReader] | None = None) -> dict[str, Any]:
        """The value of each field of ``specs`` in ``items`` (a missing one is reported when
        required, and left out).

        A field is read by ``readers[spec.kind](spec, node, key, values_so_far)`` when its kind
        has a reader there (nested mappings, lists, intervals), else by :meth:`typed`;
        ``key`` is ``prefix.name`` (``name`` at the top level), as messages show it.
        """
        values: dict[str, Any] = {}
        for name, spec in specs.items():
            key = f"{prefix}.{name}" if prefix else name
            if name not in items:
                self.missing(line, key, spec)
                continue
            node = items[name][1]
            read = readers.get(spec.kind) if readers else None
            values[name] = (read(spec, node, key, values) if read
                            else self.typed(spec, node, key))
        return values

    def items(self, node: yaml.MappingNode, path: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """Keys of a mapping with their nodes; duplicate and non-text keys reported."""
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is yaml.ScalarNode and key_node.tag == _STR_TAG:
                key = key_node.value  # the usual case, in short
                if key not in out:
                    out[key] = (key_node, value_node)
                    continue
            where = f"{path}." if path else ""
            if not isinstance(key_node, yaml.ScalarNode):
                self.add(_line(key_node), path or None,
                         f"a key must be a plain word, found {_node_kind(key_node)}",
                         "write key: value")
                continue
            key = str(key_node.value)
            kind = _scalar(key_node).kind
            if kind != "str":
                what = {"bool": "a boolean", "null": "empty", "date": "a date"}.get(
                    kind, "a number")
                self.add(_line(key_node), f"{where}{key}",
                         f"this key is read by YAML as {what}",
                         f'quote it ("{key}": ...) or use a word')
                continue
            if key in out:
                first = _line(out[key][0])
                self.add(_line(key_node), f"{where}{key}",
                         f"duplicate key: also at line {first}",
                         "keep one of them; YAML tools silently keep the last one")
                continue
            out[key] = (key_node, value_node)
        return out

    def unknown_keys(
        self,
        items: dict[str, tuple[yaml.Node, yaml.Node]],
        path: str,
        known: Iterable[str],
        elsewhere: Iterable[str] = (),
        elsewhere_hint: str = "",
    ) -> None:
        if isinstance(known, dict):
            if items.keys() <= known.keys():
                return  # the usual case
        elif isinstance(known, tuple):
            for key in items:
                if key not in known:
                    break
            else:
                return
        known = list(known)
        elsewhere = set(elsewhere)
        for key, (key_node, _value) in items.items():
            if key in known:
                continue
            name = f"{path}.{key}" if path else key
            suggestion = _did_you_mean(key, known)
            if suggestion is not None:
                fix = f"did you mean '{suggestion}'?"
            elif key in elsewhere:
                fix = elsewhere_hint
            else:
                fix = "allowed here: " + ", ".join(known)
            self.add(_line(key_node), name, "unknown key", fix)

    # ----------------------------------------------------------------- typed values

    def typed(self, spec: sc.FieldSpec, node: yaml.Node, key: str) -> Any:
        """The value of ``node`` checked against ``spec`` (``_BAD`` when it fails)."""
        if node.__class__ is yaml.ScalarNode:
            value = _valid_value(spec, node)
            if value is not _NOT_SHORT:
                return value
        line = _line(node)
        what = spec.description
        if not isinstance(node, yaml.ScalarNode):
            self.add(line, key, f"must be {_expected(spec)}, found {_node_kind(node)}",
                     f"{spec.name}: {spec.example}" if spec.example else None)
            return _BAD
        s = _scalar(node)
        if _is_placeholder(s):
            self.add(line, key, f"fill in: {what}", f"replace the {sc.PLACEHOLDER} placeholder"
                     + ("" if spec.required else ", or delete the line"))
            return _BAD
        if s.kind == "null":
            self.add(line, key, "is empty", f"fill in {what}, or remove the line"
                     if not spec.required else f"fill in {what}")
            return _BAD
        if spec.kind == "string":
            return self._string(spec, s, line, key)
        if spec.kind in ("integer", "number"):
            return self._number(spec, s, line, key)
        if spec.kind == "boolean":
            return self._boolean(s, line, key)
        raise AssertionError(spec.kind)  # pragma: no cover - programming error

    def _string(self, spec: sc.FieldSpec, s: _Scalar, line: int, key: str) -> Any:
        if s.kind == "bool":
            self.add(line, key, f"{s.text} is read by YAML as the boolean "
                     f"{'true' if s.value else 'false'}, not as text",
                     f'quote it: {spec.name}: "{s.text}"')
            return _BAD
        if s.kind == "date":
            self.add(line, key, f"{s.text} is read by YAML as a date, not as text",
                     f'quote it: {spec.name}: "{s.text}"')
            return _BAD
        if s.kind != "str":
            self.add(line, key, f"{s.text} is a number, not text",
                     f'quote it: {spec.name}: "{s.text}"')
            return _BAD
        value = str(s.value)
        if spec.enum is not None:
            if value not in spec.enum:
                suggestion = _did_you_mean(value, spec.enum)
                hint = f"did you mean '{suggestion}'? " if suggestion else ""
                self.add(line, key, f"{_show(value)} is not a known value",
                         f"{hint}one of: {', '.join(spec.enum)}")
                return _BAD
            return value
        if not value.strip():
            self.add(line, key, "is empty", f"fill in {spec.description}")
            return _BAD
        problem = _text_problem(value, spec.name)
        if problem is not None:
            self.add(line, key, *problem)
            return _BAD
        if spec.pattern is not None and not _matches(spec.pattern, value):
            suggestion = _token_suggestion(spec.name, value) if spec.name in (
                "id", "endpoint") else None
            fix = (f"write {spec.name}: {suggestion}" if suggestion
                   else spec.pattern_hint or f"must match {spec.pattern}")
            if suggestion and spec.pattern_hint:
                fix = f"{fix}; {spec.pattern_hint}"
            self.add(line, key, f"{_show(value)} is not valid", fix)
            return _BAD
        if spec.max_length is not None and len(value) > spec.max_length:
            self.add(line, key, f"is {len(value)} characters long",
                     f"at most {spec.max_length}")
            return _BAD
        return value

    def _number(self, spec: sc.FieldSpec, s: _Scalar, line: int, key: str) -> Any:
        whole = spec.kind == "integer"
        expected = "a whole number" if whole else "a number"
        if s.kind == "oddnumber":
            self.add(line, key, f"{s.text} is not a plain decimal number",
                     "YAML 1.1 reads 010 as octal 8 and 1:30 as 90; write digits only, "
                     "without leading zeros or separators")
            return _BAD
        if s.kind == "bool":
            self.add(line, key, f"{s.text} is read by YAML as a boolean", f"must be {expected}")
            return _BAD
        if s.kind == "date":
            self.add(line, key, f"{s.text} is read by YAML as a date", f"must be {expected}")
            return _BAD
        if s.kind == "str":
            text = str(s.value)
            if _NUMBER_TEXT_RE.fullmatch(text):
                self.add(line, key, f"{_show(text)} is text, not a number",
                         f"remove the quotes: {spec.name}: {text.strip()}")
            elif "%" in text:
                self.add(line, key, f"{_show(text)} is a percent string", f"must be {expected}"
                         + (f", e.g. {spec.name}: {spec.example}" if spec.example else ""))
            else:
                self.add(line, key, f"{_show(text)} is not a number", f"must be {expected}"
                         + (f", e.g. {spec.name}: {spec.example}" if spec.example else ""))
            return _BAD
        value = s.value
        if isinstance(value, float) and not math.isfinite(value):
            self.add(line, key, f"{s.text} is not a finite number", f"must be {expected}")
            return _BAD
        if whole and isinstance(value, float):
            if value.is_integer():
                self.add(line, key, f"{s.text} is written with a decimal point",
                         f"write the whole number {int(value)}")
            else:
                self.add(line, key, f"{s.text} is not a whole number",
                         "write a whole number")
            return _BAD
        return self._range(spec, value, s.text, line, key)

    def _range(self, spec: sc.FieldSpec, value: float, text: str, line: int, key: str) -> Any:
        low, high = spec.minimum, spec.maximum
        if len(text) > 24:
            text = f"{text[:12]}... ({len(text)} characters)"
        # "between" for a range (a year); a bound far above the minimum is a sanity cap
        # (patients <= 10,000,000) and gets its own message, as the minimum does
        if (low is not None and high is not None and high < 1000 * max(1, abs(low))
                and not low <= value <= high):
            self.add(line, key, f"{text} is out of range", f"must be between {_fmt(low)} "
                     f"and {_fmt(high)}")
            return _BAD
        if low is not None and value < low:
            self.add(line, key, f"{text} is less than {_fmt(low)}",
                     f"must be at least {_fmt(low)}")
            return _BAD
        if spec.exclusive_minimum is not None and not value > spec.exclusive_minimum:
            self.add(line, key, f"{text} is not greater than {_fmt(spec.exclusive_minimum)}",
                     f"must be greater than {_fmt(spec.exclusive_minimum)}")
            return _BAD
        if high is not None and value > high:
            self.add(line, key, f"{text} is greater than {_fmt(high)}",
                     f"must be at most {_fmt(high)}")
            return _BAD
        if spec.exclusive_maximum is not None and not value < spec.exclusive_maximum:
            fix = f"must be less than {_fmt(spec.exclusive_maximum)}"
            if spec.name == "ci_level" and 1 < value < 100:
                fix = f"a fraction: write {_fmt(Decimal(text) / 100)} for {text}%"
            self.add(line, key, f"{text} is not less than {_fmt(spec.exclusive_maximum)}", fix)
            return _BAD
        return value

    def _boolean(self, s: _Scalar, line: int, key: str) -> Any:
        if s.kind == "bool":
            if s.text.lower() in ("true", "false"):
                return bool(s.value)
            self.add(line, key, f"{s.text} is a boolean only in YAML 1.1",
                     f"write {'true' if s.value else 'false'}")
            return _BAD
        if s.kind == "str" and s.value.strip().lower() in ("true", "false", "yes", "no"):
            self.add(line, key, f"{_show(s.value)} is text, not a boolean",
                     "write true or false without quotes")
            return _BAD
        self.add(line, key, f"{s.text} is not a boolean", "write true or false")
        return _BAD

    # ----------------------------------------------------------------- proportions

    def proportion(self, node: yaml.Node, key: str,
                   label: str = "") -> tuple[float, str, str] | None:
        """``(fraction, unit, text)``; unit is "fraction" or "percent"."""
        line = _line(node)
        if not isinstance(node, yaml.ScalarNode):
            self.add(line, key, f"{label}must be a fraction or a percent string, found "
                     f"{_node_kind(node)}", 'e.g. 0.59 or "59%"')
            return None
        s = _scalar(node)
        if _is_placeholder(s):
            self.add(line, key, "fill in: the reported proportion",
                     f'e.g. 0.59 or "59%"; replace the {sc.PLACEHOLDER} placeholder')
            return None
        if s.kind in ("int", "float"):
            value = float(s.value)
            if not math.isfinite(value):
                self.add(line, key, f"{label}{s.text} is not a finite number",
                         'write a fraction such as 0.59 or a percent string such as "59%"')
                return None
            if value < 0:
                self.add(line, key, f"{label}{s.text} is negative",
                         "a proportion lies between 0 and 1")
                return None
            if value > 1:
                if value <= 100:
                    frac = _fmt(Decimal(s.text) / 100)
                    self.add(line, key, f"{label}{s.text} is a bare number > 1",
                             f'write {frac} or "{s.text}%"')
                else:
                    self.add(line, key, f"{label}{s.text} is greater than 1",
                             'a proportion is a fraction in [0, 1] or a percent string such as '
                             '"59%"')
                return None
            return value, "fraction", s.text
        if s.kind == "str":
            text = str(s.value)
            match = _PERCENT_RE.fullmatch(text)
            if match:
                percent = Decimal(match.group(1))
                if percent > 100:
                    self.add(line, key, f"{label}{_show(text)} is more than 100%",
                             "a percent string lies between 0% and 100%")
                    return None
                return float(percent / 100), "percent", text
            if _NEGATIVE_PERCENT_RE.fullmatch(text):
                self.add(line, key, f"{label}{_show(text)} is negative",
                         "a percent string lies between 0% and 100%")
                return None
            if _NUMBER_TEXT_RE.fullmatch(text):
                try:
                    number = Decimal(text.strip())
                except InvalidOperation:  # pragma: no cover - the pattern excludes it
                    number = Decimal(-1)
                if 0 <= number <= 1:
                    self.add(line, key, f"{label}{_show(text)} is text, not a number",
                             f"remove the quotes: {text.strip()}")
                    return None
                if 1 < number <= 100:
                    self.add(line, key, f"{label}{_show(text)} has no percent sign",
                             f'write "{text.strip()}%" or {_fmt(number / 100)}')
                    return None
            self.add(line, key, f"{label}{_show(text)} is neither a fraction nor a percent "
                     "string", 'write e.g. 0.59 or "59%"')
            return None
        if s.kind == "null":
            self.add(line, key, f"{label}is empty", 'write e.g. 0.59 or "59%"')
            return None
        kind = {"bool": "a boolean", "date": "a date"}.get(s.kind, "not a plain number")
        self.add(line, key, f"{label}{s.text} is read by YAML as {kind}",
                 'write a fraction such as 0.59 or a percent string such as "59%"')
        return None

    def interval(self, node: yaml.Node, key: str) -> tuple[tuple[float, str, str], ...] | None:
        line = _line(node)
        if isinstance(node, yaml.ScalarNode):
            s = _scalar(node)
            if _is_placeholder(s):
                self.add(line, key, "fill in: the reported interval [low, high]",
                         f"replace the {sc.PLACEHOLDER} placeholder")
            elif s.kind == "null":
                self.add(line, key, "is empty", 'write [low, high], e.g. ["48%", "69%"], '
                         "or remove the line")
            else:
                self.add(line, key, f"must be a list [low, high], found {_show(s.text)}",
                         'write e.g. ci: ["48%", "69%"] or ci: [0.48, 0.69]')
            return None
        if not isinstance(node, yaml.SequenceNode):
            self.add(line, key, "must be a list [low, high], found a mapping",
                     'write e.g. ci: ["48%", "69%"]')
            return None
        if len(node.value) != 2:
            self.add(line, key, f"must have two values [low, high], found {len(node.value)}",
                     'write e.g. ci: ["48%", "69%"]')
            return None
        low = self.proportion(node.value[0], key, "low ")
        high = self.proportion(node.value[1], key, "high ")
        if low is None or high is None:
            return None
        if low[1] != high[1]:
            self.add(line, key, "mixes a fraction and a percent string",
                     "write both as fractions or both as percent strings")
            return None
        if low[0] > high[0]:
            self.add(line, key, f"low {low[2]} is greater than high {high[2]}",
                     "write [low, high]")
            return None
        if low[0] == high[0]:
            self.add(line, key, f"[{low[2]}, {high[2]}] has zero width",
                     "an interval has low < high: check the numbers, or remove ci if the "
                     "source gives none")
            return None
        return low, high


_NOT_SHORT = object()  # _valid_value leaves the value to _Checker.typed
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"


def _valid_value(spec: sc.FieldSpec, node: yaml.ScalarNode) -> Any:
    """What :meth:`_Checker.typed` returns for a scalar that passes every check of
    ``spec``, in short; ``_NOT_SHORT`` for anything else (typed then checks it in full)."""
    tag = node.tag
    kind = spec.kind
    text = node.value
    if kind == "string":
        if tag != _STR_TAG or _is_placeholder_text(text):
            return _NOT_SHORT
        if spec.enum is not None:
            return text if text in spec.enum else _NOT_SHORT
        if not text.strip() or not _text_ok(text, spec.name):
            return _NOT_SHORT
        if spec.pattern is not None and not _matches(spec.pattern, text):
            return _NOT_SHORT
        if spec.max_length is not None and len(text) > spec.max_length:
            return _NOT_SHORT
        return text
    if kind == "integer" or kind == "number":
        value: Any
        if tag == _INT_TAG:
            if not _INT_RE.fullmatch(text) or len(text) > 30:
                return _NOT_SHORT
            value = int(text)
        elif tag == _FLOAT_TAG and kind == "number":
            if not _FLOAT_RE.fullmatch(text) or len(text) > 60:
                return _NOT_SHORT
            value = float(text)
            if not math.isfinite(value):
                return _NOT_SHORT
        else:
            return _NOT_SHORT
        if spec.minimum is not None and value < spec.minimum:
            return _NOT_SHORT
        if spec.maximum is not None and value > spec.maximum:
            return _NOT_SHORT
        if spec.exclusive_minimum is not None and not value > spec.exclusive_minimum:
            return _NOT_SHORT
        if spec.exclusive_maximum is not None and not value < spec.exclusive_maximum:
            return _NOT_SHORT
        return value
    if kind == "boolean" and tag == _BOOL_TAG:
        lowered = text.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    return _NOT_SHORT


def _expected(spec: sc.FieldSpec) -> str:
    return {
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
    }.get(spec.kind, spec.kind)


_UNIT_WORDS = {"fraction": "fractions", "percent": "percent strings"}
