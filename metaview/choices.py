"""Option values, declared once.

Public functions accept the plain strings (case-insensitive); :func:`parse` turns them into
the enums below and names the valid values when a string is not one of them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from metaview.errors import UsageError


class Scale(StrEnum):
    """Scale on which proportions are pooled (metafor ``measure``)."""

    LOGIT = "logit"  # PLO
    CLOGLOG = "cloglog"  # log(-log p); no metafor measure, computed as yi/vi
    LOG = "log"  # PLN
    ARCSINE = "arcsine"  # PAS
    PFT = "pft"  # PFT, Freeman-Tukey double arcsine
    RAW = "raw"  # PR


class Model(StrEnum):
    RANDOM = "random"
    COMMON = "common"
    GLMM = "glmm"
    BAYES = "bayes"  # Bayesian random effects (metaview.engine.bayes)


class Likelihood(StrEnum):
    """Within-study likelihood of ``--model bayes``."""

    NORMAL = "normal"  # y_i ~ N(theta_i, v_i) on the pooling scale
    BINOMIAL = "binomial"  # x_i ~ Bin(n_i, expit(theta_i)), logit scale


class Tau2Method(StrEnum):
    """Between-study variance estimators, as metafor ``rma(method=...)``."""

    REML = "REML"
    ML = "ML"
    DL = "DL"
    PM = "PM"
    HS = "HS"
    SJ = "SJ"
    HE = "HE"
    EB = "EB"


class CIMethod(StrEnum):
    """Interval for the pooled mean (metafor ``test``)."""

    Z = "z"
    HK = "hk"  # test="knha"
    HK_ADHOC = "hk-adhoc"  # test="adhoc"
    T = "t"  # GLMM only: t with k-1 df


class StudyCI(StrEnum):
    """Per-study interval for counts (statsmodels ``proportion_confint`` method names)."""

    WILSON = "wilson"
    CLOPPER_PEARSON = "clopper-pearson"
    AGRESTI_COULL = "agresti-coull"
    JEFFREYS = "jeffreys"
    WALD = "wald"


class ReportedCIMethod(StrEnum):
    """How a source computed a reported interval (study file ``ci_method``)."""

    LOG_LOG = "log-log"
    LOG = "log"
    LOGIT = "logit"
    PLAIN = "plain"
    ARCSINE = "arcsine"
    CLOPPER_PEARSON = "clopper-pearson"
    WILSON = "wilson"
    UNKNOWN = "unknown"


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


E = TypeVar("E", bound=StrEnum)


def parse(enum: type[E], value: str | E, *, option: str | None = None) -> E:
    """Return the member of ``enum`` named by ``value`` (case-insensitive).

    Raises
    ------
    UsageError
        When ``value`` is not one of the enum's values; the message lists them.
    """
    if isinstance(value, enum):
        return value
    text = str(value).strip().lower()
    for member in enum:
        if member.value.lower() == text:
            return member
    name = option or enum.__name__
    valid = ", ".join(m.value for m in enum)
    raise UsageError(f"{name}: '{value}' is not one of: {valid}")


def require(enum: type[E], value: object, name: str) -> E:
    """``value`` if it is a member of ``enum``, else a TypeError.

    The engine takes options already parsed (by :func:`parse`, at the command line or in
    :mod:`metaview.api`); this check keeps an unparsed string from being compared with
    members one by one further down.
    """
    if isinstance(value, enum):
        return value
    first = next(iter(enum))
    raise TypeError(f"{name} must be a {enum.__name__} (e.g. {enum.__name__}.{first.name}), "
                    f"not {value!r}: parse option text with metaview.choices.parse")
