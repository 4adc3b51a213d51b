"""Reading the ``curves:`` of a study file and the digitiser's points file each one names.

Called by :mod:`metaview.io.loader` (the only reader of study files) for the ``curves:``
key; the points files are read here and nowhere else. Problems of an entry are reported
at its line in the study file; problems of a point at the point's own line in the points
file.

The points file
    What a digitiser (WebPlotDigitizer, DigitizeIt, ...) exports: one point a line,
    ``time,survival``; a comma or a semicolon between the two (a semicolon file may write
    decimal commas, ``1,5;97,2``); an optional header line (the first line, when it is not
    two numbers); blank lines and lines starting with ``#`` are skipped. Times are in the
    curve's ``time_unit``. Survival is read as percent when any value exceeds 1.5, else as
    fractions; the unit found is kept with the curve and shown in the output.

Where the file may be
    ``points`` is a path relative to the study file, inside the study file's folder or a
    sub-folder of it: absolute paths and paths that lead out of the folder (``..``, or a
    symbolic link pointing elsewhere) are rejected, so a folder of study files can be read
    without it reaching into other files of the machine.

Cleaning digitising noise (each change is counted in a note of the curve)
    * points out of time order are sorted (ties: the higher reading first);
    * a reading up to 1 percentage point above 100% or below 0% is clipped; a time up to 1%
      of the time axis below 0 is set to 0;
    * a reading up to 1 percentage point above the lowest reading before it is lowered to
      that reading (the curve is made non-increasing); a larger rise is an error.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import yaml

from metaview.errors import Problem
from metaview.io import loader as ld
from metaview.io import schema as sc
from metaview.model import Curve

#: Largest points file read (a digitised curve is a few kilobytes).
MAX_POINTS_BYTES = 1024 * 1024
#: Most points in one file.
MAX_POINTS = 20_000
#: Survival is read as percent when any reading exceeds this.
PERCENT_ABOVE = 1.5
#: A rise up to this (a fraction: 1 percentage point) is digitising noise; larger is an error.
RISE_TOLERANCE = 0.01
#: Readings up to this far outside [0, 1] are clipped; further is an error.
CLIP_TOLERANCE = 0.01
#: A time up to this share of the time axis below 0 is set to 0.
NEGATIVE_TIME_TOLERANCE = 0.01
#: The first point must lie within this share of the time axis from 0.
START_TOLERANCE = 0.05

_CURVE_SPECS = {f.name: f for f in sc.CURVE_FIELDS}
_AT_RISK_SPECS = {f.name: f for f in sc.AT_RISK_FIELDS}
_EPS = 1e-9


def parse_curves(node: yaml.Node, study_path: Path, patients: Any,
                 ck: ld._Checker) -> Any:
    """The curves of ``curves:`` (a list), or ``ld._BAD`` after reporting every problem."""
    if isinstance(node, yaml.ScalarNode) and ld._scalar(node).kind == "null":
        ck.add(ld._line(node), "curves", "is empty",
               "add entries starting with '- endpoint: OS', or remove the line")
        return ld._BAD
    if not isinstance(node, yaml.SequenceNode):
        ck.add(ld._line(node), "curves", f"must be a list of entries, found "
               f"{ld._node_kind(node)}", "start each entry with '- endpoint: ...'")
        return ld._BAD
    out: list[Curve] = []
    bad = False
    seen: dict[tuple[str, str | None], tuple[int, int]] = {}
    for i, item in enumerate(node.value, 1):
        path = f"curves[{i}]"
        if not isinstance(item, yaml.MappingNode):
            ck.add(ld._line(item), path, f"must be a mapping of fields, found "
                   f"{ld._node_kind(item)}", "an entry looks like '- endpoint: OS' followed "
                   "by its fields")
            bad = True
            continue
        curve = _curve(item, path, study_path, patients, ck)
        if curve is None:
            bad = True
            continue
        key = (curve.endpoint, curve.time_origin)
        if key in seen:
            j, line = seen[key]
            ck.add(curve.line, path, f"a curve of {curve.endpoint} is already given in "
                   f"curves[{j}] at line {line}",
                   "one curve per endpoint and time origin; remove one")
            bad = True
            continue
        seen[key] = (i, curve.line or 0)
        out.append(curve)
    return ld._BAD if bad else out


def _curve(node: yaml.MappingNode, path: str, study_path: Path, patients: Any,
           ck: ld._Checker) -> Curve | None:
    before = len(ck.problems)
    items = ck.items(node, path)
    ck.unknown_keys(items, path, _CURVE_SPECS)
    line = ld._line(node)
    values = ck.fields(items, _CURVE_SPECS, line, path, {
        "at_risk_table": lambda _, value_node, key, got: _at_risk(value_node, key, patients,
                                                                   ck),
    })
    if len(ck.problems) > before or ld._BAD in values.values():
        return None
    times, n = values["at_risk"]
    events = values.get("events")
    if events is not None and events > n[0]:
        ck.add(ld._line(items["events"][1]), f"{path}.events", f"{events} is greater than "
               f"the {n[0]} patients at risk at time 0", "events counts patients of the curve")
        return None
    points_line = ld._line(items["points"][1])
    read = _points_file(values["points"], study_path, f"{path}.points", points_line, ck)
    if read is None:
        return None
    display, rows = read
    cleaned = _clean(rows, display, times, ck)
    if cleaned is None:
        return None
    t, s, unit, notes = cleaned
    return Curve(
        endpoint=values["endpoint"], time_unit=values["time_unit"], points=values["points"],
        at_risk_times=tuple(times), at_risk_n=tuple(n), source=values["source"],
        times=tuple(t), survival=tuple(s), survival_unit=unit,
        time_origin=values.get("time_origin"), events=events, note=values.get("note"),
        notes=tuple(notes), points_path=display, line=line,
    )


def _at_risk(node: yaml.Node, path: str, patients: Any, ck: ld._Checker) -> Any:
    line = ld._line(node)
    if not isinstance(node, yaml.MappingNode):
        ck.add(line, path, f"must be a mapping {{times: [...], n: [...]}}, found "
               f"{ld._node_kind(node)}", "e.g. at_risk: {times: [0, 6, 12], n: [39, 30, 24]}")
        return ld._BAD
    before = len(ck.problems)
    items = ck.items(node, path)
    ck.unknown_keys(items, path, _AT_RISK_SPECS)
    def read_list(spec: sc.FieldSpec, value_node: yaml.Node, key: str, got: object) -> Any:
        return _list(spec, value_node, key, ck)

    lists = ck.fields(items, _AT_RISK_SPECS, line, path,
                      {"number_list": read_list, "integer_list": read_list})
    if len(ck.problems) > before or any(v is ld._BAD for v in lists.values()):
        return ld._BAD
    times, n = lists["times"], lists["n"]
    t_line, n_line = ld._line(items["times"][1]), ld._line(items["n"][1])
    if len(times) != len(n):
        ck.add(n_line, f"{path}.n", f"has {len(n)} numbers but times has {len(times)}",
               "one number at risk per table time")
        return ld._BAD
    if times[0] != 0:
        ck.add(t_line, f"{path}.times", f"starts at {ld._fmt(times[0])}, not 0",
               "the table starts with the number at risk at time 0")
        return ld._BAD
    for j in range(1, len(times)):
        if not times[j] > times[j - 1]:
            ck.add(t_line, f"{path}.times", f"must increase: {ld._fmt(times[j])} follows "
                   f"{ld._fmt(times[j - 1])}", "write the table times in order, each once")
            return ld._BAD
    for j in range(1, len(n)):
        if n[j] > n[j - 1]:
            ck.add(n_line, f"{path}.n", f"must not increase: {n[j]} at time "
                   f"{ld._fmt(times[j])} follows {n[j - 1]}",
                   "numbers at risk only fall; check the reading of the table")
            return ld._BAD
    if n[0] < 1:
        ck.add(n_line, f"{path}.n", "has no patient at risk at time 0",
               "the first number is the cohort the curve describes")
        return ld._BAD
    if isinstance(patients, int) and n[0] > patients:
        ck.add(n_line, f"{path}.n", f"{n[0]} at risk at time 0 is more than the study's "
               f"{patients} patients", "check the table or patients:")
        return ld._BAD
    return times, n


def _list(spec: sc.FieldSpec, node: yaml.Node, path: str, ck: ld._Checker) -> Any:
    if not isinstance(node, yaml.SequenceNode):
        ck.add(ld._line(node), path, f"must be a list, found {ld._node_kind(node)}",
               f"e.g. {spec.name}: {spec.example}")
        return ld._BAD
    if not node.value:
        ck.add(ld._line(node), path, "is empty", f"e.g. {spec.name}: {spec.example}")
        return ld._BAD
    item_spec = sc.FieldSpec(spec.name, "integer" if spec.kind == "integer_list" else "number",
                             spec.description, minimum=spec.minimum)
    out = [ck.typed(item_spec, item, f"{path}[{j}]") for j, item in enumerate(node.value, 1)]
    return ld._BAD if ld._BAD in out else out


# --------------------------------------------------------------------------- the points file


def _points_file(relative: str, study_path: Path, key: str, line: int,
                 ck: ld._Checker) -> tuple[str, list[tuple[int, float, float]]] | None:
    """The points file's display path and its ``(line, time, survival)`` rows as written."""
    rel = Path(relative.strip())
    if rel.is_absolute() or relative.strip().startswith(("/", "\\")) or (
            len(relative) > 1 and relative[1] == ":"):
        ck.add(line, key, f"{ld._show(relative)} is an absolute path",
               "write the path relative to the study file, e.g. points: fried2023-os.csv")
        return None
    folder = study_path.parent
    target = folder / rel
    display = str(target)
    try:
        inside = os.path.commonpath([os.path.realpath(folder), os.path.realpath(target)]) == \
            os.path.realpath(folder)
    except ValueError:
        inside = False
    if not inside:
        ck.add(line, key, f"{ld._show(relative)} leads outside the study file's folder",
               "keep the points file beside the study file or in a sub-folder of it")
        return None
    try:
        with open(target, "rb") as handle:
            data = handle.read(MAX_POINTS_BYTES + 1)
    except IsADirectoryError:
        ck.add(line, key, f"{ld._show(relative)} is a folder", "name the digitiser's .csv file")
        return None
    except OSError as exc:
        ck.add(line, key, f"{ld._show(relative)}: {ld._stat_problem(target, exc)}")
        return None
    if len(data) > MAX_POINTS_BYTES:
        ck.problems.append(Problem(display, 1, "file is larger than 1 MiB (a digitised curve "
                                   "is a few kilobytes; is this the right file?)"))
        return None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        bad_line = data[: exc.start].count(b"\n") + 1
        ck.problems.append(Problem(display, bad_line, "not valid UTF-8 (save the file as "
                                   "UTF-8 or plain ASCII text)"))
        return None
    rows = _parse_points(text, display, ck)
    if rows is None:
        return None
    return display, rows


def _parse_points(text: str, display: str,
                  ck: ld._Checker) -> list[tuple[int, float, float]] | None:
    problems: list[Problem] = []
    rows: list[tuple[int, float, float]] = []
    delimiter: str | None = None
    first = True
    for number, raw in enumerate(text.splitlines(), 1):
        content = raw.strip()
        if not content or content.startswith("#"):
            continue
        if delimiter is None:
            delimiter = ";" if ";" in content else ","
        fields = [f.strip() for f in content.split(delimiter)]
        if len(fields) == 3 and fields[2] == "":
            fields = fields[:2]  # a trailing delimiter
        values = [_number(f, delimiter) for f in fields] if len(fields) == 2 else None
        if first:
            first = False
            if len(fields) == 2 and all(_number(f, delimiter) is None for f in fields):
                continue  # a header line
        if len(fields) != 2:
            problems.append(Problem(display, number, f"expected two values time{delimiter}"
                                    f"survival, found {len(fields)} (one point a line)"))
            continue
        if values is None or None in values:
            which = fields[0] if values is None or values[0] is None else fields[1]
            problems.append(Problem(display, number, f"{ld._show(which)} is not a number "
                                    "(write plain decimal numbers: time and survival)"))
            continue
        rows.append((number, float(values[0]), float(values[1])))  # type: ignore[arg-type]
        if len(rows) > MAX_POINTS:
            problems.append(Problem(display, number, f"more than {MAX_POINTS} points (is this "
                                    "the digitiser's export of one curve?)"))
            break
    if not problems and len(rows) < 2:
        problems.append(Problem(display, 1, f"{len(rows)} point(s): a curve needs at least two "
                                "(export the digitised points as time,survival lines)"))
    if problems:
        ck.problems.extend(problems[: ld.MAX_PROBLEMS_PER_FILE])
        return None
    return rows


def _number(text: str, delimiter: str) -> float | None:
    if delimiter == ";" and "," in text and "." not in text:
        text = text.replace(",", ".")  # a decimal comma
    if not ld._FLOAT_RE.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _clean(rows: list[tuple[int, float, float]], display: str, table_times: list[float],
           ck: ld._Checker) -> tuple[list[float], list[float], str, list[str]] | None:
    """Sorted, clipped, non-increasing points, the survival unit and notes on the changes."""
    problems: list[Problem] = []
    notes: list[str] = []
    name = Path(display).name
    percent = max(s for _, _, s in rows) > PERCENT_ABOVE
    unit = "percent" if percent else "fraction"
    scale = 100.0 if percent else 1.0
    span = max(max(t for _, t, _ in rows), table_times[-1])
    clipped_s = clipped_t = 0
    points: list[tuple[int, float, float]] = []
    for number, t, s in rows:
        f = s / scale
        if f < -CLIP_TOLERANCE - _EPS or f > 1.0 + CLIP_TOLERANCE + _EPS:
            shown = f"{ld._fmt(s)}{'%' if percent else ''}"
            problems.append(Problem(display, number, f"survival {shown} is outside "
                                    f"{'0-100%' if percent else '[0, 1]'} by more than 1 "
                                    "percentage point (check the reading and the axis "
                                    "calibration)"))
            continue
        if f < 0.0 or f > 1.0:
            f = min(1.0, max(0.0, f))
            clipped_s += 1
        if t < 0.0:
            if t < -NEGATIVE_TIME_TOLERANCE * span - _EPS:
                problems.append(Problem(display, number, f"time {ld._fmt(t)} is negative "
                                        "(times start at 0; check the axis calibration)"))
                continue
            t = 0.0
            clipped_t += 1
        points.append((number, t, f))
    if problems:
        ck.problems.extend(problems[: ld.MAX_PROBLEMS_PER_FILE])
        return None
    if clipped_s:
        notes.append(f"{name}: {clipped_s} reading(s) just outside 0-100% clipped")
    if clipped_t:
        notes.append(f"{name}: {clipped_t} time(s) just below 0 set to 0")
    order = sorted(range(len(points)), key=lambda i: (points[i][1], -points[i][2]))
    latest = -math.inf
    moved = 0  # points before a time already passed
    for _, t, _ in points:
        if t < latest:
            moved += 1
        latest = max(latest, t)
    if order != list(range(len(points))):
        points = [points[i] for i in order]
        if moved:
            notes.append(f"{name}: {moved} point(s) out of time order sorted")
    lowered = 0
    lowest = 1.0
    times: list[float] = []
    survival: list[float] = []
    for number, t, f in points:
        if f > lowest:
            if f - lowest > RISE_TOLERANCE + _EPS:
                problems.append(Problem(display, number, f"the curve rises from "
                                        f"{_show(lowest, scale)} to {_show(f, scale)} (more than "
                                        "1 percentage point above an earlier reading is not "
                                        "digitising noise: check the point and the time order)"))
                continue
            f = lowest
            lowered += 1
        lowest = f
        times.append(t)
        survival.append(f)
    if problems:
        ck.problems.extend(problems[: ld.MAX_PROBLEMS_PER_FILE])
        return None
    if lowered:
        notes.append(f"{name}: {lowered} reading(s) up to 1 percentage point above an earlier "
                     "one lowered to it (digitising noise)")
    first_line = points[0][0]
    if times[0] > START_TOLERANCE * span + _EPS:
        ck.problems.append(Problem(display, first_line, f"the curve starts at time "
                                   f"{ld._fmt(times[0])}, not near 0 (digitise the curve from "
                                   "its start at time 0)"))
        return None
    positive = [x for x in table_times if x > 0]
    if positive and times[-1] < positive[0]:
        ck.problems.append(Problem(display, points[-1][0], f"the curve ends at time "
                                   f"{ld._fmt(times[-1])}, before the first table time "
                                   f"{ld._fmt(positive[0])} (digitise the whole curve)"))
        return None
    beyond = [x for x in table_times if x > times[-1]]
    if beyond:
        notes.append(f"{name}: the curve ends at {ld._fmt(times[-1])}, before the table "
                     f"time(s) {', '.join(ld._fmt(x) for x in beyond)}: taken as flat there")
    return times, survival, unit, notes


def _show(fraction: float, scale: float) -> str:
    if scale == 100.0:
        return f"{100 * fraction:.4g}%"
    return f"{fraction:.4g}"
