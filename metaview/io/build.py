"""Building the model (:class:`~metaview.model.Study`) from a checked node tree."""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from metaview.errors import Problem
from metaview.io import schema as sc
from metaview.io.checks import (
    _BAD,
    _UNIT_WORDS,
    _Checker,
    _fmt,
    _is_placeholder,
    _line,
    _node_kind,
    _scalar,
    _show,
    _text_problem,
    _token_suggestion,
)
from metaview.io.files import STUDY_SUFFIXES
from metaview.model import LANDMARK_TOLERANCE, Outcome, Study, same_landmark

# --------------------------------------------------------------------------- a study


@dataclass(frozen=True)
class _Marks:
    """Lines used by the checks across files."""

    display: str
    id_line: int
    index_line: int | None


_STUDY_SPECS = {f.name: f for f in sc.STUDY_FIELDS}
_OUTCOME_SPECS = {f.name: f for f in sc.OUTCOME_FIELDS}

def _study(root: yaml.Node | None, path: Path, ck: _Checker) -> tuple[Study | None, _Marks | None]:
    if root is None:
        ck.add(1, None, "the file is empty or holds only comments",
               f"a study file starts with id: {_stem(path)}; create one with: "
               "metaview new ID")
        return None, None
    if not isinstance(root, yaml.MappingNode):
        found = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        ck.add(_line(root), None, f"the top level must be a mapping of fields "
               f"(id: ..., label: ...), found {found}",
               "see metaview new ID for the layout of a study file")
        return None, None
    items = ck.items(root, "")
    ck.unknown_keys(items, "", _STUDY_SPECS, _OUTCOME_SPECS,
                    "an outcome field: put it under an entry of outcomes:")
    from metaview.io.curves import parse_curves

    values = ck.fields(items, _STUDY_SPECS, _line(root), "", {
        "characteristics": lambda _, node, key, got: _characteristics(node, ck),
        "outcomes": lambda _, node, key, got: _outcomes(node, ck),
        # the curves' numbers at risk are checked against the patients read before them
        "curves": lambda _, node, key, got: parse_curves(node, path, got.get("patients"), ck),
    })

    study_id = values.get("id")
    stem = _stem(path)
    if isinstance(study_id, str) and study_id != stem:
        ck.add(_line(items["id"][1]), "id", f"{_show(study_id)} does not match the file name "
               f"{path.name}", f"the id equals the file name: set id: {stem} or rename the "
               f"file to {study_id}{path.suffix}")
    if _BAD not in values.values() and not ck.problems:
        _check_against_patients(values, items, ck)
    if _BAD in values.values() or ck.problems:
        return None, None
    index_line = _line(items["index"][1]) if values.get("index") else None
    marks = _Marks(str(path), _line(items["id"][1]), index_line)
    study = Study(
        id=values["id"],
        label=values["label"],
        citation=values["citation"],
        year=values["year"],
        arm=values["arm"],
        patients=values["patients"],
        outcomes=tuple(values["outcomes"]),
        index=bool(values.get("index", False)),
        doi=values.get("doi"),
        pmid=values.get("pmid"),
        url=values.get("url"),
        design=values.get("design"),
        country=values.get("country"),
        characteristics=values.get("characteristics") or {},
        notes=values.get("notes"),
        path=str(path),
        curves=tuple(values.get("curves") or ()),
    )
    return study, marks


def _value_line(node: yaml.Node, name: str) -> int:
    """Line of the value of key ``name`` in a mapping node (the node's own line without it)."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == name:
                return _line(value_node)
    return _line(node)


def _check_against_patients(values: dict[str, Any],
                            items: dict[str, tuple[yaml.Node, yaml.Node]], ck: _Checker) -> None:
    """Counts above the study's ``patients``.

    An outcome's ``total`` (or ``at_risk``) may exceed ``patients`` only when its ``note`` or
    ``derived`` says why (a denominator from another cohort, as a source cohort from which
    the study's patients were drawn); a characteristic ``{count, total}`` describes the
    study's own patients, so its total never does.
    """
    patients = values["patients"]
    fix_outcome = ("an outcome counts the study's patients: check the numbers, or say in note "
                   "or derived which cohort the denominator is")
    entries = items["outcomes"][1].value if "outcomes" in items else []
    for i, (node, outcome) in enumerate(zip(entries, values.get("outcomes") or []), 1):
        if outcome.note or outcome.derived:
            continue
        for name in ("total", "at_risk"):
            size = getattr(outcome, name)
            if size is not None and size > patients:
                ck.add(_value_line(node, name), f"outcomes[{i}].{name}",
                       f"{size} is greater than patients {patients}", fix_outcome)
                break
    chars = items["characteristics"][1] if "characteristics" in items else None
    for name, value in (values.get("characteristics") or {}).items():
        if isinstance(value, dict) and "total" in value and value["total"] > patients:
            assert chars is not None  # a characteristic's value came from this node
            node = next(v for k, v in chars.value if k.value == name)
            ck.add(_value_line(node, "total"), f"characteristics.{name}.total",
                   f"{value['total']} is greater than patients {patients}",
                   "a characteristic describes the study's patients: check the numbers")


def _stem(path: Path) -> str:
    name = path.name
    for suffix in STUDY_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _characteristics(node: yaml.Node, ck: _Checker) -> Any:
    key = "characteristics"
    if isinstance(node, yaml.ScalarNode) and _scalar(node).kind == "null":
        ck.add(_line(node), key, "is empty", "add entries such as age_years: {median: 43.5, "
               "min: 27, max: 52}, or remove the line")
        return _BAD
    if not isinstance(node, yaml.MappingNode):
        ck.add(_line(node), key, f"must be a mapping of name: value, found {_node_kind(node)}",
               "e.g. male: {count: 5, total: 10}")
        return _BAD
    out: dict[str, Any] = {}
    bad = False
    for name, (key_node, value_node) in ck.items(node, key).items():
        path = f"{key}.{name}"
        if not _CHARACTERISTIC_NAME_RE.fullmatch(name):
            suggestion = _token_suggestion("characteristic", name)
            fix = f"write {suggestion}" if suggestion else "lower-case letters, digits and _"
            ck.add(_line(key_node), path, "is not a valid characteristic name",
                   f"{fix}; names are lower-case letters, digits and _, starting with a letter")
            bad = True
            continue
        value = _characteristic(value_node, path, ck)
        if value is _BAD:
            bad = True
        else:
            out[name] = value
    return _BAD if bad else out


_CHARACTERISTIC_NAME_RE = re.compile(sc.CHARACTERISTIC_PATTERN.strip("^$"))
_CHAR_NUMBER = sc.FieldSpec("value", "number", "a number, a text, {median, min, max} or "
                            "{count, total}", minimum=-sc.MAX_CHARACTERISTIC,
                            maximum=sc.MAX_CHARACTERISTIC)
_RANGE_SPECS = {name: sc.FieldSpec(name, "number", f"the {name}",
                                   minimum=-sc.MAX_CHARACTERISTIC, maximum=sc.MAX_CHARACTERISTIC)
                for name in sc.RANGE_KEYS}
_CHAR_HINT = "a number, a text, {median: 43.5, min: 27, max: 52} or {count: 5, total: 10}"


def _characteristic(node: yaml.Node, path: str, ck: _Checker) -> Any:
    line = _line(node)
    if isinstance(node, yaml.SequenceNode):
        ck.add(line, path, "must be " + _CHAR_HINT + ", found a list")
        return _BAD
    if isinstance(node, yaml.ScalarNode):
        s = _scalar(node)
        if _is_placeholder(s):
            ck.add(line, path, "fill in: " + _CHAR_HINT,
                   f"replace the {sc.PLACEHOLDER} placeholder")
            return _BAD
        if s.kind == "str":
            if not s.value.strip():
                ck.add(line, path, "is empty", "give " + _CHAR_HINT + ", or remove the line")
                return _BAD
            problem = _text_problem(s.value, "")
            if problem is not None:
                ck.add(line, path, *problem)
                return _BAD
            return s.value
        if s.kind == "null":
            ck.add(line, path, "is empty", "give " + _CHAR_HINT + ", or remove the line")
            return _BAD
        if s.kind in ("bool", "date"):
            what = "a boolean" if s.kind == "bool" else "a date"
            ck.add(line, path, f"{s.text} is read by YAML as {what}",
                   f'quote it if it is text: "{s.text}"')
            return _BAD
        return ck.typed(_CHAR_NUMBER, node, path)
    assert isinstance(node, yaml.MappingNode)  # the composer makes no other kind of node
    items = ck.items(node, path)
    keys = set(items)
    if keys & set(sc.COUNT_KEYS):
        allowed: tuple[str, ...] = sc.COUNT_KEYS
        required: tuple[str, ...] = sc.COUNT_KEYS
    elif "median" in keys or keys & set(sc.RANGE_KEYS):
        allowed = sc.RANGE_KEYS
        required = ("median",)
    else:
        ck.unknown_keys(items, path, sc.RANGE_KEYS + sc.COUNT_KEYS)
        ck.add(line, path, "must be {median, min, max} or {count, total}",
               "e.g. {median: 43.5, min: 27, max: 52} or {count: 5, total: 10}")
        return _BAD
    before = len(ck.problems)
    ck.unknown_keys(items, path, allowed)
    for name in required:
        if name not in items:
            ck.add(line, f"{path}.{name}", "missing",
                   "{count, total} needs both" if allowed == sc.COUNT_KEYS
                   else "{median, min, max} needs at least the median")
    values: dict[str, Any] = {}
    for name in allowed:
        if name in items:
            if allowed == sc.COUNT_KEYS:
                spec = _OUTCOME_SPECS[name]
            else:
                spec = _RANGE_SPECS[name]
            values[name] = ck.typed(spec, items[name][1], f"{path}.{name}")
    if len(ck.problems) > before or _BAD in values.values():
        return _BAD
    if allowed == sc.COUNT_KEYS:
        if values["count"] > values["total"]:
            ck.add(_line(items["count"][1]), f"{path}.count",
                   f"{values['count']} is greater than total {values['total']}",
                   "count is the number among total")
            return _BAD
    else:
        low, mid, high = values.get("min"), values["median"], values.get("max")
        if (low is not None and low > mid) or (high is not None and mid > high) or (
                low is not None and high is not None and low > high):
            ck.add(line, path, "needs min <= median <= max",
                   f"found min {_fmt(low) if low is not None else '-'}, median {_fmt(mid)}, "
                   f"max {_fmt(high) if high is not None else '-'}")
            return _BAD
    return {name: values[name] for name in allowed if name in values}


def _outcomes(node: yaml.Node, ck: _Checker) -> Any:
    if isinstance(node, yaml.ScalarNode) and _scalar(node).kind == "null":
        ck.add(_line(node), "outcomes", "is empty",
               "write outcomes: [] when the study reports none, or add entries")
        return _BAD
    if not isinstance(node, yaml.SequenceNode):
        ck.add(_line(node), "outcomes", f"must be a list of entries, found {_node_kind(node)}",
               "start each entry with '- endpoint: ...'")
        return _BAD
    out: list[Outcome] = []
    # per (endpoint, time origin): the landmarks seen, sorted, with (entry, line)
    seen: dict[tuple[str, str | None], list[tuple[float, int, int]]] = {}
    bad = False
    for i, item in enumerate(node.value, 1):
        path = f"outcomes[{i}]"
        if not isinstance(item, yaml.MappingNode):
            ck.add(_line(item), path, f"must be a mapping of fields, found {_node_kind(item)}",
                   "an entry looks like '- endpoint: OS' followed by its fields")
            bad = True
            continue
        outcome = _outcome(item, path, ck)
        if outcome is None:
            bad = True
            continue
        earlier = _same_landmark_entry(seen, outcome, i)
        if earlier is not None:
            j, line, time = earlier
            at = "" if outcome.time_months is None else f" at {_fmt(outcome.time_months)} months"
            same = "" if time is None or time == outcome.time_months else (
                f" (landmarks within {LANDMARK_TOLERANCE:g} months are one landmark: "
                f"{_fmt(time)} there)")
            ck.add(outcome.line, path, f"{outcome.endpoint}{at} is already given in "
                   f"outcomes[{j}] at line {line}{same}",
                   "one entry per endpoint, time and time origin; remove one")
            bad = True
            continue
        out.append(outcome)
    return _BAD if bad else out


def _same_landmark_entry(seen: dict[tuple[str, str | None], list[tuple[float, int, int]]],
                         outcome: Outcome, i: int) -> tuple[int, int, float | None] | None:
    """The earlier entry (number, line, landmark) with the same endpoint, time origin and
    landmark (:func:`metaview.model.same_landmark`) as ``outcome``; else None, and
    ``outcome`` is recorded as entry ``i``. Sorted landmarks make each look-up O(log n)."""
    times = seen.setdefault((outcome.endpoint, outcome.time_origin), [])
    t = -math.inf if outcome.time_months is None else float(outcome.time_months)
    at = bisect.bisect_left(times, (t,))
    for neighbour in times[max(at - 1, 0):at + 1]:
        other = neighbour[0]
        if (other == t == -math.inf) or (math.isfinite(other) and math.isfinite(t)
                                         and same_landmark(other, t)):
            return neighbour[1], neighbour[2], None if other == -math.inf else other
    bisect.insort(times, (t, i, outcome.line or 0))
    return None


def _outcome(node: yaml.MappingNode, path: str, ck: _Checker) -> Outcome | None:
    before = len(ck.problems)
    items = ck.items(node, path)
    ck.unknown_keys(items, path, _OUTCOME_SPECS, _STUDY_SPECS,
                    "a top-level field: move it out of outcomes")
    line = _line(node)
    values = ck.fields(items, _OUTCOME_SPECS, line, path, {
        "proportion": lambda _, value_node, key, got: ck.proportion(value_node, key) or _BAD,
        "interval": lambda _, value_node, key, got: ck.interval(value_node, key) or _BAD,
    })

    def at(name: str) -> int:
        return _line(items[name][1])

    has_count, has_estimate = "count" in items, "estimate" in items
    if has_count and has_estimate:
        ck.add(at("estimate"), f"{path}.estimate", "given together with count",
               "keep one data form: count and total, or estimate with an optional total")
    elif not has_count and not has_estimate:
        ck.add(line, path, "has no data: neither count nor estimate",
               'give count and total, or estimate, e.g. estimate: "59%"')
    if has_count and "total" not in items:
        ck.add(at("count"), f"{path}.total", "missing", "count needs total: the proportion "
               "is count/total")

    def ok(name: str) -> bool:
        return name in values and values[name] is not _BAD

    if ok("count") and ok("total") and values["count"] > values["total"]:
        ck.add(at("count"), f"{path}.count", f"{values['count']} is greater than total "
               f"{values['total']}", "count is the number with the outcome among total")
    if ok("at_risk") and ok("total") and values["at_risk"] > values["total"]:
        ck.add(at("at_risk"), f"{path}.at_risk", f"{values['at_risk']} is greater than total "
               f"{values['total']}", "at most total patients can be at risk")
    if "at_risk" in items and "time_months" not in items:
        ck.add(at("at_risk"), f"{path}.at_risk", "given without time_months",
               "the number at risk belongs to a landmark: add time_months or remove at_risk")
    for name in ("ci_level", "ci_method"):
        if name in items and "ci" not in items:
            ck.add(at(name), f"{path}.{name}", "given without ci",
                   f"add the reported interval ci: [low, high] or remove {name}")

    estimate = values.get("estimate") if ok("estimate") else None
    ci = values.get("ci") if ok("ci") else None
    if ci is not None:
        low, high = ci
        if estimate is not None and estimate[1] != low[1]:
            unit = "percent string" if estimate[1] == "percent" else "fraction"
            ck.add(at("ci"), f"{path}.ci", f"is in {_UNIT_WORDS[low[1]]} but estimate "
                   f"{estimate[2]} is a {unit}",
                   "write estimate and ci in the same units")
        else:
            shown: str | None = None
            value: float | None = None
            if estimate is not None:
                value, shown = estimate[0], estimate[2]
            elif ok("count") and ok("total") and values["count"] <= values["total"]:
                value = values["count"] / values["total"]
                shown = f"{values['count']}/{values['total']}"
            if value is not None and not (low[0] - 1e-12 <= value <= high[0] + 1e-12):
                ck.add(at("ci"), f"{path}.ci", f"[{low[2]}, {high[2]}] does not contain the "
                       f"estimate {shown}", "check the numbers: low <= estimate <= high")

    if len(ck.problems) > before or _BAD in values.values():
        return None
    return Outcome(
        endpoint=values["endpoint"],
        source=values["source"],
        time_months=values.get("time_months"),
        time_origin=values.get("time_origin"),
        count=values.get("count"),
        total=values.get("total"),
        estimate=None if estimate is None else estimate[0],
        estimate_text=None if estimate is None else estimate[2],
        ci=None if ci is None else (ci[0][0], ci[1][0]),
        ci_level=float(values.get("ci_level", 0.95)),
        ci_method=values.get("ci_method", "unknown"),
        at_risk=values.get("at_risk"),
        derived=values.get("derived"),
        note=values.get("note"),
        line=line,
    )


# --------------------------------------------------------------------------- across files


def _cross_file_problems(studies: list[Study], marks: list[_Marks]) -> list[Problem]:
    problems: list[Problem] = []
    first_by_id: dict[str, _Marks] = {}
    for study, mark in zip(studies, marks):
        first = first_by_id.get(study.id)
        if first is None:
            first_by_id[study.id] = mark
            continue
        problems.append(Problem(mark.display, mark.id_line,
                                f"id: {_show(study.id)} is also the id of "
                                f"{first.display}:{first.id_line} (ids must be unique; "
                                "analyse one of the two files, or rename one)"))
    index_marks = [m for m in marks if m.index_line is not None]
    for mark in index_marks[1:]:
        first = index_marks[0]
        problems.append(Problem(mark.display, mark.index_line,
                                f"index: true here and in {first.display}:{first.index_line} "
                                "(at most one index study per analysis; set index: false in "
                                "all but one)"))
    return problems
