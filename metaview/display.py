"""Number formatting and display names shared by tables, plots and reports (no statistics).

Also text made safe for CSV cells. The bottom layer of the package: it imports nothing
from the rest of metaview (a pooled result is read by its attributes only), so the model
and every renderer can use it; :mod:`metaview.render.format` is the same functions under
their older name."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

#: A :class:`~metaview.model.PooledResult`, read by its attributes only.
PooledResult = Any


def with_labels(text: str, names: Mapping[str, str]) -> str:
    """An engine message with study ids (the keys of ``names``) replaced by their labels."""
    for sid in sorted(names, key=len, reverse=True):
        if sid in text:
            text = re.sub(rf"(?<![\w-]){re.escape(sid)}(?![\w-])", names[sid], text)
    return text


def level_percent(level: float) -> str:
    """A confidence level as a percentage: ``95%``, ``99.9%``, ``99.999999999999%`` (never
    rounded to ``100%``)."""
    from decimal import Decimal

    value = (Decimal(repr(float(level))) * 100).normalize()  # the digits the user wrote
    return f"{value:f}%" if value.adjusted() > -7 else f"{100 * level:g}%"


def percent(p: float | None, digits: int = 0) -> str:
    """``0.593`` -> ``59%`` (``digits`` decimals); None -> ``NR``."""
    if p is None or not math.isfinite(p):
        return "NR"
    return f"{100 * p:.{digits}f}%"


def percent_ci(est: float | None, low: float | None, high: float | None, digits: int = 0) -> str:
    """``59% (48-69)``; None -> ``NR``."""
    if est is None:
        return "NR"
    if low is None or high is None:
        return percent(est, digits)
    return f"{percent(est, digits)} ({_pnum(low, digits)}\u2013{_pnum(high, digits)})"


def _pnum(p: float, digits: int) -> str:
    return f"{100 * p:.{digits}f}"


def number(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return "\u2013"
    return f"{x:.{digits}f}"


def pvalue(p: float | None) -> str:
    """``p = 0.28``, ``p = 0.003``, ``p < 0.001``."""
    if p is None or not math.isfinite(p):
        return "p = \u2013"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def landmark(time_months: float | None) -> str:
    """``12 mo`` or ``best response`` when there is no landmark."""
    return "no landmark" if time_months is None else f"{time_months:g} mo"


def heterogeneity(r: PooledResult) -> str:
    """``I² = 21% (0–88), τ² = 0.05, Q p = 0.28`` (empty when not estimable)."""
    if r.model == "bayes" and r.tau_median is not None:
        return (f"\u03c4 = {r.tau_median:.3g} ({r.tau_ci_low:.2g}\u2013{r.tau_ci_high:.3g}, "
                "posterior median and credible interval)"
                + ("" if r.q is None or r.q_pvalue is None else
                   f", Q = {r.q:.2f}, df = {r.q_df}, {pvalue(r.q_pvalue)}"))
    if r.k < 2 or r.i2 is None:
        return ""
    parts = [f"I\u00b2 = {r.i2:.0f}%"]
    if r.i2_ci_low is not None and r.i2_ci_high is not None:
        parts[0] += f" ({r.i2_ci_low:.0f}\u2013{r.i2_ci_high:.0f})"
    if r.tau2 is not None and r.model != "common":
        parts.append(f"\u03c4\u00b2 = {r.tau2:.3g}")
    if r.q_pvalue is not None:
        parts.append(f"Q = {r.q:.2f}, df = {r.q_df}, {pvalue(r.q_pvalue)}")
    return ", ".join(parts)


def method_line(r: PooledResult) -> str:
    """``random effects, logit scale, REML, Hartung-Knapp (ad hoc), 95% CI``."""
    if r.model == "bayes":
        return (f"Bayesian random effects ({r.likelihood} likelihood), {r.scale} scale, "
                f"prior tau ~ {r.tau_prior}, mu ~ {r.mu_prior}, posterior medians with "
                f"{level_percent(r.level)} central credible intervals")
    model = MODEL_NAMES.get(r.model, r.model)
    ci = f"{CI_METHOD_NAMES[r.ci_method]} CI" if r.ci_method in CI_METHOD_NAMES else r.ci_method
    parts = [model, f"{r.scale} scale"]
    if r.model == "random" and r.tau2_method:
        parts.append(f"\u03c4\u00b2 by {r.tau2_method}")
    parts.append(ci)
    parts.append(f"{level_percent(r.level)} level")
    return ", ".join(parts)


def summary_text(r: PooledResult) -> str:
    """A few lines describing one pooled result."""
    head = f"{r.endpoint} at {landmark(r.time_months)}" + (f", {r.group}" if r.group else "")
    lines = [head, f"  k = {r.k}: {percent_ci(r.estimate, r.ci_low, r.ci_high, 1)}"]
    if r.pi_low is not None:
        lines.append(f"  prediction interval {percent(r.pi_low, 1)} to {percent(r.pi_high, 1)}")
    het = heterogeneity(r)
    if het:
        lines.append(f"  {het}")
    lines.append(f"  {method_line(r)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- forest plot text

# --------------------------------------------------------------------------- display names
# The one table of each kind of name; the command-line output, the forest plot and the
# report all take their words from here.

#: endpoint tokens of the study files (an unknown token is shown as it is)
ENDPOINT_NAMES = {
    "OS": "Overall survival",
    "PFS": "Progression-free survival",
    "EFS": "Event-free survival",
    "RFS": "Relapse-free survival",
    "GRFS": "GVHD-free, relapse-free survival",
    "NRM": "Non-relapse mortality",
    "RELAPSE": "Relapse",
    "ORR": "Overall response",
    "CR": "Complete response",
    "ALLO_HSCT": "Allogeneic transplantation",
}

#: ``--model`` values as a noun phrase ("a common effect")
MODEL_NAMES = {
    "random": "random effects",
    "common": "common effect",
    "glmm": "binomial-normal GLMM (ML)",
    "bayes": "Bayesian random effects",
}

#: ``--model`` values as the adjective before "model" ("the random-effects model")
MODEL_ADJECTIVES = {
    "random": "random-effects",
    "common": "common-effect",
    "glmm": "GLMM",
    "bayes": "Bayesian random-effects",
}

#: ``--ci`` values: the pooled interval's method, before "CI" or "interval"
CI_METHOD_NAMES = {
    "z": "normal (z)",
    "hk": "Hartung-Knapp",
    "hk-adhoc": "Hartung-Knapp (ad hoc floor)",
    "t": "t",
}

#: ``--study-ci`` values: each study's own interval from counts
STUDY_CI_NAMES = {
    "wilson": "Wilson score",
    "clopper-pearson": "Clopper-Pearson (exact)",
    "agresti-coull": "Agresti-Coull",
    "jeffreys": "Jeffreys",
    "wald": "Wald",
}


def endpoint_name(endpoint: str) -> str:
    """``OS`` -> ``Overall survival``; an unknown token is returned as is."""
    return ENDPOINT_NAMES.get(endpoint, endpoint)


def endpoint_at(endpoint: str, time_months: float | None) -> str:
    """``Overall survival at 12 months`` (the name alone without a landmark)."""
    name = endpoint_name(endpoint)
    return name if time_months is None else f"{name} at {time_months:g} months"


def percent_bracket(est: float | None, low: float | None, high: float | None,
                    digits: int = 0) -> str:
    """``59% [48–69]``, the forest plot style of :func:`percent_ci`; None -> ``NR``."""
    if est is None or not math.isfinite(est):
        return "NR"
    if low is None or high is None:
        return percent(est, digits)
    return f"{percent(est, digits)} [{_range(low, high, digits)}]"


def _range(low: float, high: float, digits: int) -> str:
    """``48–69``; ``-22 to 94`` when an end is negative (a dash would read as a minus)."""
    sep = " to " if low < 0 or high < 0 else "\u2013"
    return f"{_pnum(low, digits)}{sep}{_pnum(high, digits)}"


def interval_percent(low: float | None, high: float | None, digits: int = 0) -> str:
    """``39–75%``; empty when either end is missing."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"{_range(low, high, digits)}%"


def weight_percent(w: float | None) -> str:
    """``6.8%`` (one decimal, as meta::forest); None -> empty."""
    if w is None or not math.isfinite(w):
        return ""
    return f"{w:.1f}%"


def as_reported(count: int | None, total: int | None, estimate: float | None) -> str:
    """``7/10`` for counts, else ``59%`` (three significant digits, as the study file)."""
    if count is not None and total is not None:
        return f"{count}/{total}"
    if estimate is None or not math.isfinite(estimate):
        return "NR"
    return f"{100 * estimate:.3g}%"


# --------------------------------------------------------------------------- CSV cells

#: A cell that starts with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)")


def csv_text(value: object) -> object:
    """A CSV cell that a spreadsheet program shows as written (OWASP's advice on CSV
    injection): text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    gets a leading single quote. Numbers (also written as text, e.g. ``-0.25``) and
    anything that is not text are returned unchanged.

    >>> csv_text("=HYPERLINK(\"x\")"), csv_text("-0.25"), csv_text(-0.25), csv_text("OS")
    ('\'=HYPERLINK("x")', '-0.25', -0.25, 'OS')
    """
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _PLAIN_NUMBER_RE.fullmatch(value)):
        return "'" + value
    return value
