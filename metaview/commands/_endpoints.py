"""Endpoint names that look like typos: warnings for ``validate`` and ``pool``.

A mistyped endpoint (``OSS`` in one file, ``OS`` in the others) is a valid token, so the
loader accepts it, and the analysis silently leaves that study out of the OS analysis.
An endpoint used by one study only and outside the documented vocabulary is reported,
with "did you mean" the endpoint one edit away (a letter added, removed, changed, or two
neighbours swapped) that most studies use, else the closest documented one. Documented
tokens are never reported: several are one edit apart by design (PFS, EFS, RFS, GRFS).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from metaview.model import Study

#: the documented endpoint tokens (study-schema.md and the display names of the reports)
VOCABULARY = ("OS", "PFS", "EFS", "RFS", "GRFS", "NRM", "RELAPSE", "ORR", "CR", "ALLO_HSCT")


def within_one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter added, removed or changed, or two adjacent
    letters swapped (and ``a != b``)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        if len(diff) == 1:
            return True
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    for i in range(len(long)):
        if long[:i] + long[i + 1:] == short:
            return True
    return False


def endpoint_warnings(studies: Sequence[Study]) -> list[str]:
    """One line per suspicious endpoint: ``<file>:<line>: endpoint X ...; did you mean Y?``."""
    users: dict[str, set[str]] = {}
    for s in studies:
        for o in s.outcomes:
            users.setdefault(o.endpoint, set()).add(s.id)
    out: list[str] = []
    for s in studies:
        seen: set[str] = set()
        for o in s.outcomes:
            e = o.endpoint
            if e in seen or len(users[e]) != 1:
                continue
            seen.add(e)
            if e in VOCABULARY:
                continue
            near = [f for f in _candidates(users, e) if within_one_edit(e, f)]
            where = s.path or s.id
            if o.line is not None and s.path:
                where = f"{where}:{o.line}"
            if near:
                others = {f: len(users.get(f, set()) - {s.id}) for f in near}
                best = max(near, key=lambda f: (others[f], f in VOCABULARY))
                used = others[best]
                by = f"used by {used} other stud{'y' if used == 1 else 'ies'}" if used \
                    else "a documented endpoint"
                out.append(f"{where}: endpoint {e} is used by this study only and is one "
                           f"letter away from {best} ({by}); did you mean {best}? "
                           f"(as written, this study is left out of the {best} analyses)")
            else:
                guess = difflib.get_close_matches(e, list(_candidates(users, e)), n=1,
                                                  cutoff=0.6)
                hint = f"; did you mean {guess[0]}?" if guess else ""
                out.append(f"{where}: endpoint {e} is used by this study only and is not one "
                           f"of the documented endpoints ({', '.join(VOCABULARY)}){hint}")
    return out


def _candidates(users: dict[str, set[str]], e: str) -> Iterable[str]:
    return [f for f in dict.fromkeys([*users, *VOCABULARY]) if f != e]
