"""How the report writes numbers, intervals, reported values and study characteristics."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from metaview.display import level_percent
from metaview.model import Outcome
from metaview.render import format as fmt

DASH = "\u2013"
MINUS = "\u2212"

# --------------------------------------------------------------------------- formatting


def pct(p: float | None) -> str:
    """A proportion in percent: whole percent; one decimal below 10% or above 90%."""
    if p is None or not math.isfinite(p):
        return "NR"
    return fmt.percent(p, _digits(p))


def _digits(p: float | None) -> int:
    """Decimals for a percentage and its interval, decided by the estimate."""
    return 1 if p is not None and math.isfinite(p) and (p < 0.1 or p > 0.9) else 0


def pct_ci(est: float | None, low: float | None, high: float | None) -> str:
    """``59% (48–69)``; the estimate alone when the interval is missing or not finite."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return pct(est)
    return fmt.percent_ci(est, low, high, _digits(est))


def pct_range(low: float | None, high: float | None, est: float | None = None) -> str:
    """``12–94%`` (an interval without its centre; decimals as for ``est``)."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return DASH
    d = _digits(est if est is not None else min(low, 1 - high))
    return f"{100 * low:.{d}f}{DASH}{100 * high:.{d}f}%"


def num(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return DASH
    return f"{x:.{digits}f}".replace("-", MINUS)


def sig(x: float | None, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return DASH
    if x == 0:
        return "0"
    return f"{x:.{digits}g}".replace("-", MINUS)


def pvalue(p: float | None) -> str:
    """``0.28``, ``0.003``, ``<0.001`` (for a table cell)."""
    text = fmt.pvalue(p)
    return text.replace("p = ", "").replace("p < ", "<")


def level_text(level: float) -> str:
    return level_percent(level)


def join_words(words: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(words)
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def short_name(endpoint: str, time_months: float | None) -> str:
    """``OS 12 mo`` / ``ORR``."""
    return endpoint if time_months is None else f"{endpoint} {fmt.landmark(time_months)}"


def reported_value(o: Outcome) -> str:
    """An outcome's figure as the study file gives it: ``7/10``, ``45% (95% CI 31–66, log)``."""
    if o.has_counts:
        return f"{o.count}/{o.total}"
    text = o.estimate_text or _as_percent(o.estimate)
    extras = []
    if o.ci is not None:
        method = "" if o.ci_method == "unknown" else f", {o.ci_method}"
        extras.append(f"{level_text(o.ci_level)} CI {_as_percent(o.ci[0], sign=False)}"
                      f"{DASH}{_as_percent(o.ci[1])}{method}")
    if o.total is not None:
        extras.append(f"n = {o.total}")
    if o.at_risk is not None:
        extras.append(f"{o.at_risk} at risk")
    return text + (f" ({'; '.join(extras)})" if extras else "")


def _as_percent(x: float | None, sign: bool = True) -> str:
    if x is None:
        return "NR"
    return f"{100 * x:.6g}" + ("%" if sign else "")


def characteristic_text(value: Any) -> str:
    if isinstance(value, dict):
        if "count" in value and "total" in value:
            c, t = value["count"], value["total"]
            share = f" ({100 * c / t:.0f}%)" if t else ""
            return f"{_n(c)}/{_n(t)}{share}"
        if "median" in value:
            text = f"median {_n(value['median'])}"
            if "min" in value or "max" in value:
                text += f" ({_n(value.get('min'))}{DASH}{_n(value.get('max'))})"
            return text
        return "; ".join(f"{k}: {_n(v)}" for k, v in value.items())
    return _n(value)


def _n(x: Any) -> str:
    if x is None:
        return "?"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


# How a few abbreviations common in characteristic names are written.
_WORDS = {
    "cart": "CAR-T", "hsct": "HSCT", "hct": "HCT", "ecog": "ECOG", "ldh": "LDH", "uln": "ULN",
    "ipi": "IPI", "cr": "CR", "pr": "PR", "sd": "SD", "pd": "PD", "orr": "ORR", "gvhd": "GVHD",
    "csa": "CsA", "mmf": "MMF", "mtx": "MTX", "tbi": "TBI", "bu": "Bu", "cy": "Cy",
    "flu": "Flu", "mel": "Mel", "atg": "ATG", "ptcy": "PTCy", "ric": "RIC", "mac": "MAC",
    "nhl": "NHL", "dlbcl": "DLBCL", "pct": "%", "ii": "II", "iii": "III", "iv": "IV",
    "cd19": "CD19", "cd22": "CD22", "cd34": "CD34", "hla": "HLA", "mrd": "MRD",
    "mud": "MUD", "1e6": "10⁶", "kg": "kg", "followup": "follow-up", "alloHCT": "alloHCT",
}


def characteristic_name(name: str) -> str:
    """``ecog_0_1`` -> ``ECOG 0-1``, ``cart_to_hsct_days`` -> ``CAR-T to HSCT days``."""
    words = [_WORDS.get(w.lower(), w) for w in name.split("_") if w]
    out: list[str] = []
    for w in words:
        if out and w.isdigit() and out[-1].isdigit():
            out[-1] = f"{out[-1]}{DASH}{w}"
        else:
            out.append(w)
    text = " ".join(out).replace(" %", " (%)")
    return text[:1].upper() + text[1:]
