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
    #: no study of the group reports the endpoint at the landmark
    NO_STUDY = "no_study"
    #: one study only: its own estimate is shown, nothing is pooled
    SINGLE_STUDY = "single_study"
    #: a study gives more than one entry for the same endpoint and landmark
    DUPLICATE_ENTRIES = "duplicate_entries"
    #: a study's reconstructed curve gives no landmark estimate
    CURVE_NOT_USABLE = "curve_not_usable"
    #: the pooled studies are different arms
    MIXED_ARMS = "mixed_arms"
    #: 1/2 added to events and non-events for some studies
    CONTINUITY_CORRECTION = "continuity_correction"
    #: standard errors approximated from the estimate and the number of patients
    APPROXIMATE_SE = "approximate_se"
    #: a note on one study's effect size (e.g. how its reported interval was read)
    STUDY_NOTE = "study_note"
    #: landmarks read from reconstructed Kaplan-Meier curves
    RECONSTRUCTED = "reconstructed"
    #: figures derived, not stated by the source
    DERIVED = "derived"
    #: a count-based model used pseudo-counts (estimate x total) for some studies
    PSEUDO_COUNTS = "pseudo_counts"
    #: the GLMM used a reconstructed curve's effective counts for some studies
    EFFECTIVE_COUNTS = "effective_counts"
    #: the GLMM could not be fitted; the inverse-variance model was fitted instead
    GLMM_FAILED = "glmm_failed"
    #: the posterior variance of mu is infinite (a heavy-tailed tau prior and few studies)
    INFINITE_POSTERIOR_SD = "infinite_posterior_sd"
    #: one study under the Bayesian model: heterogeneity comes from the tau prior alone
    TAU_FROM_PRIOR = "tau_from_prior"
    #: ``compare``: the literature side is a single study
    SINGLE_STUDY_LITERATURE = "single_study_literature"
    #: ``compare``: the index cohort and the literature count time from different origins
    TIME_ORIGINS_DIFFER = "time_origins_differ"


#: The codes of an endpoint missing at the landmark (reported elsewhere or not at all).
MISSING = frozenset({NoticeCode.NOT_REPORTED, NoticeCode.OTHER_LANDMARK})
#: Notices that end in a list of study ids (``detail`` is the text before it): renderers may
#: regroup them by study.
LISTING = frozenset({NoticeCode.PSEUDO_COUNTS, NoticeCode.CONTINUITY_CORRECTION,
                     NoticeCode.APPROXIMATE_SE, NoticeCode.RECONSTRUCTED, NoticeCode.DERIVED})


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


def no_study(endpoint: str, time: float | None) -> Notice:
    return Notice(f"no study in this group reports {endpoint}{_time_text(time)}",
                  NoticeCode.NO_STUDY)


def single_study(study_id: str, endpoint: str, time: float | None) -> Notice:
    return Notice(f"only one study ({study_id}) reports {endpoint}{_time_text(time)}: its own "
                  "estimate is shown, nothing is pooled", NoticeCode.SINGLE_STUDY, (study_id,))


def duplicate_entries(study_id: str, endpoint: str, time: float | None, count: int,
                      line: int | None) -> Notice:
    return Notice(f"{study_id}: {count} entries for {endpoint}{_time_text(time)}; the first "
                  f"(line {line}) is used", NoticeCode.DUPLICATE_ENTRIES, (study_id,))


def curve_not_usable(study_id: str, why: str) -> Notice:
    return Notice(f"{study_id}: {why}", NoticeCode.CURVE_NOT_USABLE, (study_id,), detail=why)


def mixed_arms(arms: Iterable[str], per_arm_shown: bool) -> Notice:
    return Notice("this result pools different arms (" + "; ".join(arms) + ")"
                  + (": read the per-arm results" if per_arm_shown else ""),
                  NoticeCode.MIXED_ARMS)


def _listing(lead: str, study_ids: Iterable[str], code: NoticeCode) -> Notice:
    ids = list(study_ids)
    return Notice(lead + ": " + ", ".join(ids), code, ids, detail=lead)


def bayes_pseudo_counts(study_ids: Iterable[str]) -> Notice:
    return _listing("binomial likelihood with pseudo-counts (estimate x total, or the "
                    "effective sample size of the reported interval; approximate) for",
                    study_ids, NoticeCode.PSEUDO_COUNTS)


def glmm_pseudo_counts(study_ids: Iterable[str]) -> Notice:
    return _listing("the GLMM used pseudo-counts (estimate x total, or the effective sample "
                    "size of the reported interval; approximate) for", study_ids,
                    NoticeCode.PSEUDO_COUNTS)


def effective_counts(entries: Iterable[tuple[str, str]]) -> Notice:
    """``entries``: (study id, "x/n") for each study whose curve gave the counts."""
    pairs = list(entries)
    return Notice("the GLMM uses effective counts of the reconstructed curve (binomial "
                  "counts with its estimate and Greenwood variance; approximate) for: "
                  + ", ".join(f"{sid} ({counts})" for sid, counts in pairs),
                  NoticeCode.EFFECTIVE_COUNTS, [sid for sid, _ in pairs],
                  detail="the GLMM uses effective counts of the reconstructed curve (binomial "
                         "counts with its estimate and Greenwood variance; approximate) for")


def glmm_failed(why: str) -> Notice:
    return Notice(f"the GLMM could not be fitted ({why}): fell back to the inverse-variance "
                  "random-effects model (REML, hk-adhoc)", NoticeCode.GLMM_FAILED, detail=why)


def infinite_posterior_sd(k: int) -> Notice:
    return Notice("the posterior standard deviation of mu is infinite under this tau prior "
                  f"with k = {k}; se is null", NoticeCode.INFINITE_POSTERIOR_SD)


def tau_from_prior(study_id: str) -> Notice:
    return Notice(f"only one study ({study_id}): the posterior rests on the tau prior",
                  NoticeCode.TAU_FROM_PRIOR, (study_id,))


def single_study_literature() -> Notice:
    return Notice("the literature side is a single study", NoticeCode.SINGLE_STUDY_LITERATURE)


def time_origins_differ(origins: Iterable[str]) -> Notice:
    return Notice("time origins differ between the index cohort and the literature: "
                  + ", ".join(origins), NoticeCode.TIME_ORIGINS_DIFFER)



def continuity_correction(scale: str, study_ids: Iterable[str]) -> Notice:
    return _listing("continuity correction (1/2 added to events and non-events) applied on the "
                    f"{scale} scale for", study_ids, NoticeCode.CONTINUITY_CORRECTION)


def approximate_se(study_ids: Iterable[str], landmark: bool) -> Notice:
    """``landmark``: a time-to-event landmark, where censoring makes the binomial SE narrow."""
    why = ("(binomial, ignoring censoring: too narrow when follow-up is short)" if landmark
           else "(binomial)")
    return _listing(f"standard error approximated from the estimate and the number of "
                    f"patients {why} for", study_ids, NoticeCode.APPROXIMATE_SE)


def study_note(study_id: str, note: str) -> Notice:
    return Notice(f"{study_id}: {note}", NoticeCode.STUDY_NOTE, (study_id,), detail=note)


def literature_time_origins(by_origin: Iterable[tuple[str, Iterable[str]]]) -> Notice:
    """``by_origin``: (time origin, the ids of the studies counting from it)."""
    pairs = [(o, list(ids)) for o, ids in by_origin]
    detail = "; ".join(f"{o}: " + ", ".join(ids) for o, ids in pairs)
    return Notice(f"time origins differ ({detail})", NoticeCode.TIME_ORIGINS_DIFFER,
                  [i for _, ids in pairs for i in ids], detail=detail)


def reconstructed(study_ids: Iterable[str]) -> Notice:
    return _listing("read from the reconstructed curve (Guyot 2012; Greenwood standard error) "
                    "for", study_ids, NoticeCode.RECONSTRUCTED)


def derived(study_ids: Iterable[str]) -> Notice:
    return _listing("derived, not stated by the source (see each study's 'derived')",
                    study_ids, NoticeCode.DERIVED)
