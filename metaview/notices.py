"""Notices as data: why a study was left out or what a result warns of, as a code and its words.

The engine writes every exclusion reason and the warnings renderers act on with the
functions here, so each message is worded in one place; renderers (forest plot, report,
``pool`` table) branch on :class:`NoticeCode`, never on the message text.

A :class:`Notice` is a ``str`` (the message, exactly as printed and written to JSON) that
also carries its ``code``, the ``study_ids`` it concerns and a ``detail`` (the part a
renderer may show on its own). Imports nothing from the rest of the package.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class NoticeCode(enum.Enum):
    """What a notice says, for renderers to branch on."""

    #: left out with ``--exclude``
    EXCLUDED_BY_USER = "excluded_by_user"
    #: the study does not report the endpoint at all
    NOT_REPORTED = "not_reported"
    #: the study reports the endpoint, but not at this landmark
    OTHER_LANDMARK = "other_landmark"
    #: the reported value gives no standard error (e.g. an estimate without counts or CI)
    NO_STANDARD_ERROR = "no_standard_error"
    #: the GLMM needs counts, some study reports an estimate only (a fallback model was fitted)
    GLMM_NEEDS_COUNTS = "glmm_needs_counts"
    #: the pooled interval reaches outside [0, 1] on the raw or log scale
    INTERVAL_OUTSIDE_RANGE = "interval_outside_range"


#: The codes of an endpoint missing at the landmark (reported elsewhere or not at all).
MISSING = frozenset({NoticeCode.NOT_REPORTED, NoticeCode.OTHER_LANDMARK})


class Notice(str):
    """A message with its :class:`NoticeCode`, study ids and detail."""

    code: NoticeCode | None
    study_ids: tuple[str, ...]
    detail: str

    def __new__(cls, text: str, code: NoticeCode | None = None,
                study_ids: Iterable[str] = (), detail: str = "") -> Notice:
        self = super().__new__(cls, text)
        self.code = code
        self.study_ids = tuple(study_ids)
        self.detail = detail
        return self


def code_of(message: str) -> NoticeCode | None:
    """The code of a message (None for a plain string)."""
    return getattr(message, "code", None)


def _time_text(time: float | None) -> str:
    return "" if time is None else f" at {time:g} months"


def excluded_by_user(study_id: str) -> Notice:
    return Notice("excluded with --exclude", NoticeCode.EXCLUDED_BY_USER, (study_id,))


def not_reported(study_id: str, endpoint: str) -> Notice:
    return Notice(f"{endpoint} not reported", NoticeCode.NOT_REPORTED, (study_id,))


def other_landmark(study_id: str, endpoint: str, time: float | None, reports: str) -> Notice:
    """``reports``: what the study reports instead (e.g. "OS at 24 months")."""
    return Notice(f"{endpoint}{_time_text(time) or ' without a landmark'} not reported "
                  f"(reports {reports})", NoticeCode.OTHER_LANDMARK, (study_id,),
                  detail=f"reports {reports}")


def no_standard_error(study_id: str, endpoint: str, time: float | None, described: str,
                      why: str) -> Notice:
    """``described``: the value as reported; ``why``: why it gives no standard error."""
    return Notice(f"{endpoint}{_time_text(time)} reported as {described} but {why}",
                  NoticeCode.NO_STANDARD_ERROR, (study_id,), detail=why)


def glmm_needs_counts(study_ids: Iterable[str]) -> Notice:
    ids = list(study_ids)
    return Notice("the GLMM needs counts; " + ", ".join(ids)
                  + " report(s) an estimate only: fell back to the inverse-variance "
                    "random-effects model (REML, hk-adhoc)", NoticeCode.GLMM_NEEDS_COUNTS, ids)


def interval_outside_range(scale: str) -> Notice:
    return Notice(f"on the {scale} scale the pooled interval reaches outside [0, 1]; it is "
                  "reported as computed", NoticeCode.INTERVAL_OUTSIDE_RANGE)
