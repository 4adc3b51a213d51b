"""The report's words and tables, built from a :class:`~metaview.report.content.Report`.

Everything a reader sees is assembled here once, as a :class:`~metaview.report.doc.Document`
of plain text; the HTML and Markdown writers only lay it out. No statistic is computed
here: every number comes from the pooled results and comparisons.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any

from metaview.model import Comparison, Outcome, PooledResult, Study
from metaview.engine.analysis import group_of
from metaview.render import format as fmt
from metaview.report import bayes as _bayes
from metaview.report.content import (
    Analysis,
    Report,
    ordered_studies,
)
from metaview.report.doc import (
    BulletList,
    Callout,
    Document,
    FigureRef,
    Inline,
    Paragraph,
    Section,
    Span,
    Table,
)

DASH = "\u2013"
MINUS = "\u2212"

# --------------------------------------------------------------------------- references

REFERENCES: dict[str, str] = {
    "friede2017": "Friede T, R\u00f6ver C, Wandel S, Neuenschwander B. Meta-analysis of few "
                  "small studies in orphan diseases. Res Synth Methods. 2017;8(1):79-91.",
    "rover2020": "R\u00f6ver C. Bayesian random-effects meta-analysis using the bayesmeta R "
                 "package. J Stat Softw. 2020;93(6):1-51.",
    "rover2021": "R\u00f6ver C, Bender R, Dias S, Schmid CH, Schmidli H, Sturtz S, Weber S, "
                 "Friede T. On weakly informative prior distributions for the heterogeneity "
                 "parameter in Bayesian random-effects meta-analysis. Res Synth Methods. "
                 "2021;12(4):448-474.",
    "viechtbauer2010": "Viechtbauer W. Conducting meta-analyses in R with the metafor package. "
                       "J Stat Softw. 2010;36(3):1-48.",
    "hartung2001": "Hartung J, Knapp G. On tests of the overall treatment effect in "
                   "meta-analysis with normally distributed responses. Stat Med. "
                   "2001;20(12):1771-1782.",
    "knapp2003": "Knapp G, Hartung J. Improved tests for a random effects meta-regression "
                 "with a single covariate. Stat Med. 2003;22(17):2693-2710.",
    "rover2015": "R\u00f6ver C, Knapp G, Friede T. Hartung-Knapp-Sidik-Jonkman approach and "
                 "its modification for random-effects meta-analysis with few studies. BMC Med "
                 "Res Methodol. 2015;15:99.",
    "inthout2014": "IntHout J, Ioannidis JPA, Borm GF. The Hartung-Knapp-Sidik-Jonkman method "
                   "for random effects meta-analysis is straightforward and considerably "
                   "outperforms the standard DerSimonian-Laird method. BMC Med Res Methodol. "
                   "2014;14:25.",
    "higgins2009": "Higgins JPT, Thompson SG, Spiegelhalter DJ. A re-evaluation of "
                   "random-effects meta-analysis. J R Stat Soc Ser A Stat Soc. "
                   "2009;172(1):137-159.",
    "viechtbauer2007": "Viechtbauer W. Confidence intervals for the amount of heterogeneity "
                       "in meta-analysis. Stat Med. 2007;26(1):37-52.",
    "stijnen2010": "Stijnen T, Hamza TH, \u00d6zdemir P. Random effects meta-analysis of event "
                   "outcome in the framework of the generalized linear mixed model with "
                   "applications in sparse data. Stat Med. 2010;29(29):3046-3067.",
    "lin2020": "Lin L, Chu H. Meta-analysis of proportions using generalized linear mixed "
               "models. Epidemiology. 2020;31(5):713-717.",
    "wilson1927": "Wilson EB. Probable inference, the law of succession, and statistical "
                  "inference. J Am Stat Assoc. 1927;22(158):209-212.",
    "clopper1934": "Clopper CJ, Pearson ES. The use of confidence or fiducial limits "
                   "illustrated in the case of the binomial. Biometrika. 1934;26(4):404-413.",
    "agresti1998": "Agresti A, Coull BA. Approximate is better than \"exact\" for interval "
                   "estimation of binomial proportions. Am Stat. 1998;52(2):119-126.",
    "brown2001": "Brown LD, Cai TT, DasGupta A. Interval estimation for a binomial proportion. "
                 "Stat Sci. 2001;16(2):101-133.",
    "schwarzer2019": "Schwarzer G, Chemaitelly H, Abu-Raddad LJ, R\u00fccker G. Seriously "
                     "misleading results using inverse of Freeman-Tukey double arcsine "
                     "transformation in meta-analysis of single proportions. Res Synth Methods. "
                     "2019;10(3):476-483.",
    "miller1978": "Miller JJ. The inverse of the Freeman-Tukey double arcsine transformation. "
                  "Am Stat. 1978;32(4):138.",
    "viechtbauer2005": "Viechtbauer W. Bias and efficiency of meta-analytic variance "
                       "estimators in the random-effects model. J Educ Behav Stat. "
                       "2005;30(3):261-293.",
    "dersimonian1986": "DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin "
                       "Trials. 1986;7(3):177-188.",
    "paule1982": "Paule RC, Mandel J. Consensus values and weighting factors. J Res Natl Bur "
                 "Stand. 1982;87(5):377-385.",
    "sidik2005": "Sidik K, Jonkman JN. Simple heterogeneity variance estimation for "
                 "meta-analysis. J R Stat Soc Ser C Appl Stat. 2005;54(2):367-384.",
    "hunter2004": "Hunter JE, Schmidt FL. Methods of meta-analysis: correcting error and bias "
                  "in research findings. 2nd ed. Thousand Oaks: Sage; 2004.",
    "hedges1985": "Hedges LV, Olkin I. Statistical methods for meta-analysis. Orlando: "
                  "Academic Press; 1985.",
    "morris1983": "Morris CN. Parametric empirical Bayes inference: theory and applications. "
                  "J Am Stat Assoc. 1983;78(381):47-55.",
}

CITE: dict[str, str] = {
    "viechtbauer2010": "Viechtbauer 2010", "hartung2001": "Hartung & Knapp 2001",
    "knapp2003": "Knapp & Hartung 2003", "rover2015": "R\u00f6ver et al. 2015",
    "inthout2014": "IntHout et al. 2014", "higgins2009": "Higgins et al. 2009",
    "viechtbauer2007": "Viechtbauer 2007", "stijnen2010": "Stijnen et al. 2010",
    "lin2020": "Lin & Chu 2020", "wilson1927": "Wilson 1927",
    "clopper1934": "Clopper & Pearson 1934", "agresti1998": "Agresti & Coull 1998",
    "brown2001": "Brown et al. 2001", "schwarzer2019": "Schwarzer et al. 2019",
    "miller1978": "Miller 1978", "viechtbauer2005": "Viechtbauer 2005",
    "dersimonian1986": "DerSimonian & Laird 1986", "paule1982": "Paule & Mandel 1982",
    "sidik2005": "Sidik & Jonkman 2005", "hunter2004": "Hunter & Schmidt 2004",
    "hedges1985": "Hedges & Olkin 1985", "morris1983": "Morris 1983",
    "friede2017": "Friede et al. 2017", "rover2020": "R\u00f6ver 2020",
    "rover2021": "R\u00f6ver et al. 2021",
}

TAU2_NAMES: dict[str, tuple[str, str]] = {
    "REML": ("restricted maximum likelihood (REML)", "viechtbauer2005"),
    "ML": ("maximum likelihood (ML)", "viechtbauer2005"),
    "DL": ("the DerSimonian-Laird method (DL)", "dersimonian1986"),
    "PM": ("the Paule-Mandel method (PM)", "paule1982"),
    "HS": ("the Hunter-Schmidt method (HS)", "hunter2004"),
    "SJ": ("the Sidik-Jonkman method (SJ)", "sidik2005"),
    "HE": ("the Hedges method (HE)", "hedges1985"),
    "EB": ("the empirical Bayes method (EB)", "morris1983"),
}

STUDY_CI: dict[str, tuple[str, str]] = {
    "wilson": ("Wilson score", "wilson1927"),
    "clopper-pearson": ("Clopper-Pearson (exact)", "clopper1934"),
    "agresti-coull": ("Agresti-Coull", "agresti1998"),
    "jeffreys": ("Jeffreys", "brown2001"),
    "wald": ("Wald", "brown2001"),
}

SCALES: dict[str, tuple[str, str | None]] = {
    "logit": ("logit (log odds)", "PLO"),
    "log": ("log", "PLN"),
    "raw": ("raw proportion", "PR"),
    "arcsine": ("arcsine square root", "PAS"),
    "pft": ("Freeman-Tukey double arcsine", "PFT"),
    "cloglog": ("complementary log-log, log(\u2212log p)", None),
}

METAFOR_TEST = {"z": "z", "hk": "knha", "hk-adhoc": "adhoc", "t": "t"}


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
    return f"{100 * level:g}%"


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


# --------------------------------------------------------------------------- the document


def compose(report: Report) -> Document:
    """The whole report as a :class:`~metaview.report.doc.Document`."""
    ctx = _Context(report)
    sections = [
        _question(ctx),
        _comparison(ctx),
        _forest(ctx),
        _survival_curves(ctx),
        _pooled(ctx),
        _bayes.bayes_section(ctx),
        _caveats(ctx),
        _studies(ctx),
        _provenance(ctx),
        _methods(ctx),
        _software(ctx),
        _warnings(ctx),
    ]
    index = report.index
    if index is not None:
        title = f"{index.label} compared with published series"
        subtitle = f"{index.arm} \u00b7 {index.patients} patients"
    else:
        title = "Pooled published series"
        arms = sorted({s.arm for s in report.studies})
        subtitle = " \u00b7 ".join(arms)
    if report.timestamp:
        subtitle += f" \u00b7 generated {report.timestamp}"
    return Document(title=title, subtitle=subtitle,
                    sections=tuple(s for s in sections if s is not None))


class _Context:
    """The report plus the look-ups every section needs."""

    def __init__(self, report: Report):
        self.report = report
        self.options = report.options
        self.index = report.index
        self.studies = ordered_studies(report.studies, report.index)
        self.labels = {s.id: s.label for s in report.studies}
        self.level = level_text(report.options.level)
        self.grouped = report.options.group_by is not None
        self.by_arm = report.options.group_by == "arm"

    def label(self, study_id: str) -> str:
        return self.labels.get(study_id, study_id)

    def with_labels(self, text: str) -> str:
        """An engine message with study ids replaced by their labels."""
        import re

        for sid in sorted(self.labels, key=len, reverse=True):
            text = re.sub(rf"(?<![\w-]){re.escape(sid)}(?![\w-])", self.labels[sid], text)
        return text

    def labels_of(self, ids: Iterable[str]) -> list[str]:
        order = {s.id: i for i, s in enumerate(self.studies)}
        return [self.label(i) for i in sorted(ids, key=lambda i: order.get(i, len(order)))]

    def group_word(self) -> str:
        if self.by_arm:
            return "arm"
        return characteristic_name(self.options.group_by or "group").lower()


# --------------------------------------------------------------------------- 1. question


def _question(ctx: _Context) -> Section:
    r = ctx.report
    sec = Section("question", "The question")
    index = ctx.index
    included = [s for s in ctx.studies if s.id not in ctx.options.exclude]
    if index is not None:
        peers = [s for s in included if s.id != index.id and _same_group(ctx, s, index)]
        others = [s for s in included if s.id != index.id and not _same_group(ctx, s, index)]
        lead: list[Inline] = [
            "How do the outcomes of ", Span(index.label, "strong"),
            f" ({index.patients} patients, {index.arm}) compare with published series? ",
        ]
        if ctx.grouped:
            lead.append(
                f"The index cohort is set against the pooled series of the same "
                f"{ctx.group_word()} ({join_words([s.label for s in peers]) or 'none'}), endpoint "
                "by endpoint.")
            if others:
                lead.append(
                    f" Series of other {ctx.group_word()}s "
                    f"({join_words([s.label for s in others])}) are pooled on their own and "
                    "shown for context; they are not part of the comparison.")
        else:
            lead.append("The index cohort is set against every other series, pooled together "
                        "(no grouping was asked for).")
        sec.add(Paragraph(tuple(lead), "lead"))
        sec.add(Table(
            columns=("Index cohort", ""),
            rows=tuple((k, v) for k, v in _study_facts(index) if v),
            name="facts",
        ))
    else:
        sec.add(Paragraph.of(
            "Pooled estimates of the published series, per endpoint and landmark. ",
            r.comparison_note or "", kind="lead"))
    arms: OrderedDict[str, list[str]] = OrderedDict()
    for s in included:
        arms.setdefault(s.arm, []).append(s.label)
    items = tuple(Paragraph.of(Span(arm, "strong"), f": {join_words(labels)}")
                  for arm, labels in arms.items())
    sec.add(Paragraph.of(f"{len(included)} series in this report, by arm:"),
            BulletList(items))
    excluded = [s for s in ctx.studies if s.id in ctx.options.exclude]
    if excluded:
        sec.add(Paragraph.of("Left out on request (--exclude): "
                             + join_words([s.label for s in excluded]) + "."))
    sec.add(Paragraph.of(
        "Read the caveats before quoting any number: the series differ in time origin, "
        "population and how much they report.", kind="note"))
    return sec


def _same_group(ctx: _Context, a: Study, b: Study) -> bool:
    field = ctx.options.group_by
    return field is None or group_of(a, field) == group_of(b, field)


def _study_facts(s: Study) -> list[tuple[str, str]]:
    ids = []
    if s.doi:
        ids.append(f"doi:{s.doi}")
    if s.pmid:
        ids.append(f"PMID {s.pmid}")
    return [
        ("Study", s.label),
        ("Reference", s.citation + (f" ({', '.join(ids)})" if ids else "")),
        ("Design", s.design or ""),
        ("Country", s.country or ""),
        ("Arm", s.arm),
        ("Patients", str(s.patients)),
        ("Reports", "; ".join(o.describe() for o in s.outcomes) or "nothing"),
    ]


# --------------------------------------------------------------------------- 2. comparison


def _comparison(ctx: _Context) -> Section | None:
    r = ctx.report
    if ctx.index is None:
        return None
    sec = Section("comparison", f"{ctx.index.label} against the literature")
    comps = [(a, c) for a in r.analyses for c in a.comparisons]
    if not comps:
        sec.add(Paragraph.of(r.comparison_note or "Nothing to compare."))
        return sec
    scale = ctx.options.scale.value
    for a, c in comps:
        sec.add(Callout(a.title, tuple(comparison_words(ctx, c)), "finding"))
    rows = []
    for a, c in comps:
        p = c.pooled
        rows.append((
            short_name(c.endpoint, c.time_months),
            f"{pct_ci(c.index.estimate, c.index.ci_low, c.index.ci_high)}"
            + (f" [{c.index.count}/{c.index.total}]" if c.index.count is not None else ""),
            f"{pct_ci(p.estimate, p.ci_low, p.ci_high)} [k = {p.k}]",
            pct_range(p.pi_low, p.pi_high, p.estimate),
            f"{num(c.difference)} ({num(c.diff_ci_low)} to {num(c.diff_ci_high)})",
            pvalue(c.pvalue),
            {True: "yes", False: "no", None: "no PI (k = 1)" if p.k < 2 else "no PI"}[
                c.inside_pi],
        ))
    sec.add(Table(
        columns=("Endpoint", f"{ctx.index.label} ({ctx.level} CI)",
                 f"Others pooled ({ctx.level} CI)", f"{ctx.level} PI of others",
                 f"Difference, {scale} scale ({ctx.level} CI)", "p", "Inside PI"),
        rows=tuple(rows),
        caption=(f"The index cohort against the pooled other series of its "
                 f"{ctx.group_word() if ctx.grouped else 'set'}. Difference = index minus "
                 f"pooled, on the {scale} scale; p from a two-sided z-test; PI = prediction "
                 "interval of the other series."),
        numeric=frozenset({"p"}),
        name="comparison",
    ))
    return sec


def comparison_words(ctx: _Context, c: Comparison) -> list[Paragraph]:
    """The comparison in plain words (one or more paragraphs)."""
    idx, p = c.index, c.pooled
    alpha = 1.0 - c.level
    lvl = level_text(c.level)
    label = ctx.index.label if ctx.index is not None else idx.label
    counts = f"{idx.count}/{idx.total}, " if idx.count is not None else ""
    peers = ctx.labels_of(s.id for s in p.studies)
    first: list[Inline] = [
        Span(label, "strong"), (f": {pct(idx.estimate)} ({counts}{lvl} CI "
                               f"{pct_range(idx.ci_low, idx.ci_high, idx.estimate)}). "),
    ]
    if p.k == 1:
        first.append(f"The literature side is a single series, {peers[0]}: "
                     f"{pct_ci(p.estimate, p.ci_low, p.ci_high)}.")
    else:
        first.append(f"Pooled other series (k = {p.k}: {join_words(peers)}): "
                     f"{pct_ci(p.estimate, p.ci_low, p.ci_high)}.")
    out = [Paragraph(tuple(first))]

    higher = c.difference > 0
    significant = c.pvalue < alpha
    verdict: list[Inline] = []
    if significant:
        verdict.append(Span(f"{label} is {'higher' if higher else 'lower'} than the pooled "
                            f"series", "strong"))
        verdict.append(f" (p = {pvalue(c.pvalue)}).".replace("p = <", "p < "))
    else:
        verdict.append(Span("No evidence of a difference", "strong"))
        verdict.append(f" (p = {pvalue(c.pvalue)}).".replace("p = <", "p < "))
    if c.inside_pi is True:
        verdict.append(f" {label} lies inside the {lvl} prediction interval of the other series "
                       f"({pct_range(p.pi_low, p.pi_high, p.estimate)}): a result like it is within the "
                       "range expected for a further series like theirs.")
    elif c.inside_pi is False:
        verdict.append(f" {label} lies outside the {lvl} prediction interval of the other "
                       f"series ({pct_range(p.pi_low, p.pi_high, p.estimate)}): more extreme than expected "
                       "for a further series like theirs.")
    else:
        verdict.append(" There is no prediction interval: with a single series on the "
                       "literature side, the spread between series cannot be estimated.")
    out.append(Paragraph(tuple(verdict)))

    detail = (f"Difference on the {c.scale} scale {num(c.difference)} ({lvl} CI "
              f"{num(c.diff_ci_low)} to {num(c.diff_ci_high)})")
    if c.scale == "logit":
        detail += (f", i.e. an odds ratio of {sig(math.exp(c.difference))} "
                   f"({sig(math.exp(c.diff_ci_low))} to {sig(math.exp(c.diff_ci_high))})")
    detail += "."
    if not significant and idx.total:
        detail += (f" With {idx.total} patients, one patient moves {label}'s proportion by "
                   f"{100 / idx.total:.0f} percentage points: this comparison can only detect "
                   "large differences, and no difference is not the same as equal outcomes.")
    out.append(Paragraph((detail,), "note"))
    cautions = []
    approx = [s for s in (idx, *p.studies) if s.approximate]
    if approx:
        who = join_words(ctx.labels_of(s.id for s in approx))
        cautions.append(f"the standard error of {who} is approximated (no confidence interval "
                        "or counts reported; binomial, ignoring censoring), so it looks more "
                        "precise than it is")
    origins: OrderedDict[str, list[str]] = OrderedDict()
    for s in (idx, *p.studies):
        origins.setdefault(s.time_origin or "an unstated origin", []).append(s.id)
    if len(origins) > 1:
        cautions.append("time is counted from different origins: " + "; ".join(
            f"{o} ({join_words(ctx.labels_of(ids))})" for o, ids in origins.items()))
    if cautions:
        out.append(Paragraph(("Caution: " + "; ".join(cautions) + ".",), "note"))
    return out


# --------------------------------------------------------------------------- 3. forest plots


def _forest(ctx: _Context) -> Section | None:
    r = ctx.report
    plotted = [a for a in r.analyses if r.figure(a.stem) is not None]
    if not plotted:
        return None
    sec = Section("forest", "Forest plots")
    sec.add(Paragraph.of(
        f"Each row is one series: its proportion with its {ctx.level} confidence interval. "
        + (f"Each {ctx.group_word()} is pooled on its own (diamond: pooled estimate and "
           "confidence interval; the line through it: prediction interval). "
           if ctx.grouped else "Diamond: pooled estimate and confidence interval; the line "
                               "through it: prediction interval. ")
        + (f"The index cohort ({ctx.index.label}) is highlighted." if ctx.index else ""),
        kind="note"))
    for a in plotted:
        f = r.figure(a.stem)
        if f is not None:
            sec.add(FigureRef(a.stem, a.title, _figure_caption(ctx, a), f.svg, f.png))
    return sec


def _survival_curves(ctx: _Context) -> Section | None:
    """The reconstructed curves: the overlay figure, the estimates and the fidelity table."""
    from metaview.report.content import CURVES_STEM

    r = ctx.report
    if not r.curves:
        return None
    sec = Section("curves", "Survival curves")
    sec.add(Paragraph.of(
        "Patient-level data reconstructed from the digitised Kaplan-Meier curves with the "
        "algorithm of Guyot et al. (2012): per interval of the numbers-at-risk table, the "
        "censoring that reproduces the published number at risk, spread uniformly; deaths "
        "from the drops of the curve. Estimates: Kaplan-Meier of the reconstruction, "
        f"Greenwood variance, {ctx.level} log-log intervals. A landmark the paper prints "
        "is pooled as printed; the reconstructed one is used where it prints none.",
        kind="note"))
    f = r.figure(CURVES_STEM)
    if f is not None:
        sec.add(FigureRef(CURVES_STEM, "Reconstructed Kaplan-Meier curves",
                          "Reconstructed curves of every series with a digitised figure; "
                          "ticks: censored patients; numbers at risk of the reconstruction "
                          "under the axis.", f.svg, f.png))
    rows = []
    for c in r.curves:
        s = c.summary
        unit = c.curve.time_unit
        median = (DASH if s.median is None else
                  f"{s.median:.3g} {unit} ({_bound(s.median_ci_low)}–"
                  f"{_bound(s.median_ci_high)})")
        for x in s.landmarks:
            rows.append((ctx.label(c.study_id), c.curve.endpoint, c.curve.source, str(s.n),
                         str(s.events), median, fmt.landmark(x.time_months),
                         pct_ci(x.estimate, x.ci_low, x.ci_high), str(x.at_risk)))
    sec.add(Table(columns=("Study", "Endpoint", "Figure", "n", "Events", "Median (CI)",
                           "Landmark", "Estimate (CI)", "At risk"),
                  rows=tuple(rows), numeric=frozenset({"n", "Events", "At risk"}),
                  name="curves"))
    fidelity = []
    for c in r.curves:
        for check in c.reconstruction.at_risk_check:
            fidelity.append((ctx.label(c.study_id), c.curve.endpoint,
                             f"{check.time:g} {c.curve.time_unit}", str(check.published),
                             str(check.reconstructed),
                             f"{check.reconstructed - check.published:+d}"))
    sec.add(Table(columns=("Study", "Endpoint", "Time", "Published at risk",
                           "Reconstructed at risk", "Difference"),
                  rows=tuple(fidelity), caption="Fidelity: the published numbers at risk "
                  "against the reconstruction's (patients with time at or after t).",
                  numeric=frozenset({"Published at risk", "Reconstructed at risk",
                                     "Difference"}), name="fidelity"))
    notes = [f"{ctx.label(c.study_id)} ({c.curve.endpoint}): {n}" for c in r.curves
             for n in c.notes]
    if notes:
        sec.add(BulletList(tuple(Paragraph.of(n, kind="note") for n in notes)))
    return sec


def _bound(x: float | None) -> str:
    return "NR" if x is None else f"{x:.3g}"


def _figure_caption(ctx: _Context, a: Analysis) -> str:
    parts = []
    for g in a.plotted_results():
        who = ", ".join(ctx.labels_of(s.id for s in g.studies))
        name = g.group or "all series"
        if g.k >= 2:
            parts.append(f"{name}: {pct_ci(g.estimate, g.ci_low, g.ci_high)} from k = {g.k} "
                         f"({who})")
        else:
            parts.append(f"{name}: {who} only, nothing pooled")
    text = f"{a.title}. " + "; ".join(parts) + "."
    left = [e for e in a.overall.excluded if "(reports" in e.reason or "--exclude" in e.reason]
    if left:
        text += " Not in the pooled estimates: " + "; ".join(f"{ctx.label(e.id)} ({_reason(e.reason)})"
                                          for e in left) + "."
    return text


def _reason(reason: str) -> str:
    if "(reports " in reason:
        return "reports " + reason.split("(reports ", 1)[1].rstrip(")")
    return reason


# --------------------------------------------------------------------------- 4. pooled


def _pooled(ctx: _Context) -> Section:
    r = ctx.report
    sec = Section("pooled", "Pooled results" + (f" per {ctx.group_word()}" if ctx.grouped else ""))
    companion = r.companion_options
    comp_head = None
    if companion is not None:
        comp_head = ("GLMM" if companion.model.value == "glmm" else "Default model") \
            + f" ({ctx.level} CI)"
    method = method_summary(ctx)
    sec.add(Paragraph.of(
        f"Pooled proportion with its {ctx.level} confidence interval (CI) and prediction "
        f"interval (PI: where a further series like these would be expected to fall); k = "
        f"number of series; I\u00b2, \u03c4\u00b2 and Cochran's Q describe how much the series "
        f"differ. Model: {method}."
        + (f" The {comp_head.split(' (')[0] if comp_head else ''} column shows "
           + ("the binomial-normal GLMM on the counts" if companion and
              companion.model.value == "glmm" else "the default inverse-variance model")
           + " beside it." if comp_head else ""),
        kind="note"))
    groups: OrderedDict[str | None, list[tuple[Analysis, PooledResult]]] = OrderedDict()
    for a in r.analyses:
        for g in a.groups:
            if g.k > 0:
                groups.setdefault(g.group, []).append((a, g))
    mixed: list[tuple[Analysis, PooledResult]] = []
    for a in r.analyses:
        o = a.overall
        with_data = [g for g in a.groups if g.k > 0]
        if o.k > 0 and (not a.groups or len(with_data) > 1):
            mixed.append((a, o))
    index_group = None
    if ctx.index is not None and ctx.grouped:
        index_group = group_of(ctx.index, ctx.options.group_by)
    order = sorted(groups, key=lambda g: (g != index_group, str(g)))
    for name in order:
        rows = groups[name]
        sub = Section(f"pooled-{_slug(str(name))}", str(name))
        sub.add(_pooled_table(ctx, rows, comp_head))
        sec.subsections.append(sub)
    if mixed:
        title = (f"All series together ({ctx.group_word()}s mixed: for reference only)"
                 if ctx.grouped else "All series")
        sub = Section("pooled-all", title)
        if ctx.grouped:
            sub.add(Paragraph.of(
                f"These rows pool series of different {ctx.group_word()}s. They are shown "
                f"because the test of a difference between {ctx.group_word()}s needs them; "
                f"quote the per-{ctx.group_word()} results instead.", kind="note"))
        sub.add(_pooled_table(ctx, mixed, comp_head, between=ctx.grouped))
        sec.subsections.append(sub)
    if ctx.options.leave_one_out:
        sec.subsections.append(_leave_one_out(ctx))
    return sec


def _slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-") or "group"


def _pooled_table(ctx: _Context, rows: list[tuple[Analysis, PooledResult]],
                  comp_head: str | None, between: bool = False) -> Table:
    lvl = ctx.level
    columns = ["Endpoint", "k", "Series", f"Pooled ({lvl} CI)", f"{lvl} PI",
               "I\u00b2 (CI)", "\u03c4\u00b2 (CI)", "Q (df), p"]
    if comp_head:
        columns.append(comp_head)
    columns.extend(_bayes.column_heads(ctx))
    if between:
        columns.append("Between-arm p" if ctx.by_arm else "Between-group p")
    out = []
    for a, res in rows:
        one = res.k == 1
        row = [
            short_name(a.endpoint, a.time_months),
            str(res.k),
            ", ".join(ctx.labels_of(s.id for s in res.studies)),
            pct_ci(res.estimate, res.ci_low, res.ci_high) + (" (single series)" if one else ""),
            DASH if one else pct_range(res.pi_low, res.pi_high, res.estimate),
            DASH if one or res.i2 is None else _i2(res),
            DASH if one or res.model == "common" else _tau2(res),
            DASH if one or res.q is None else f"{num(res.q)} ({res.q_df}), {pvalue(res.q_pvalue)}",
        ]
        if comp_head:
            row.append(_companion_cell(a, res, ctx.report.companion_options.model.value
                                       if ctx.report.companion_options else ""))
        row.extend(_bayes.column_cells(ctx, a, res))
        if between:
            t = res.subgroup_test
            row.append(DASH if t is None else pvalue(t.pvalue))
        out.append(tuple(row))
    return Table(columns=tuple(columns), rows=tuple(out), numeric=frozenset({"k"}),
                 name="pooled")


def _i2(r: PooledResult) -> str:
    text = f"{r.i2:.0f}%"
    if r.i2_ci_low is not None and r.i2_ci_high is not None:
        text += f" ({r.i2_ci_low:.0f}{DASH}{r.i2_ci_high:.0f})"
    return text


def _tau2(r: PooledResult) -> str:
    text = sig(r.tau2)
    if r.tau2_ci_low is not None and r.tau2_ci_high is not None:
        text += f" ({sig(r.tau2_ci_low)}{DASH}{sig(r.tau2_ci_high)})"
    return text


def _companion_cell(a: Analysis, res: PooledResult, wanted: str) -> str:
    """The model beside the default for one pooled set (``wanted``: its model name)."""
    if a.companion_error:
        return "not run (see caveats)"
    c = a.companion_for(res)
    if c is None or c.k < 2:
        return DASH
    if c.model != wanted:
        if any("needs counts" in w for w in c.warnings):
            return "not fitted (needs counts)"
        return "not fitted (see caveats)"
    return pct_ci(c.estimate, c.ci_low, c.ci_high)


def _leave_one_out(ctx: _Context) -> Section:
    sub = Section("leave-one-out", "Leave-one-out")
    rows = []
    for a in ctx.report.analyses:
        for res in a.results:
            if not res.leave_one_out or (res.group is None and a.groups and
                                         sum(g.k > 0 for g in a.groups) < 2):
                continue
            for x in res.leave_one_out:
                left = pct_ci(x.estimate, x.ci_low, x.ci_high)
                if res.k == 2:
                    left += " (one series left)"
                rows.append((short_name(a.endpoint, a.time_months), res.group or "all series",
                             ctx.label(x.omitted), left,
                             pct_range(x.pi_low, x.pi_high, x.estimate),
                             DASH if res.k == 2 else sig(x.tau2),
                             DASH if x.i2 is None else f"{x.i2:.0f}%"))
    if rows:
        sub.add(Table(columns=("Endpoint", "Pooled set", "Left out", f"Pooled ({ctx.level} CI)",
                               f"{ctx.level} PI", "\u03c4\u00b2", "I\u00b2"),
                      rows=tuple(rows), name="loo",
                      caption="The model refitted without each series in turn."))
    else:
        sub.add(Paragraph.of("No pooled set has two or more series: nothing to leave out."))
    return sub


# --------------------------------------------------------------------------- 5. caveats


def caveats(ctx: _Context) -> list[Paragraph]:
    """Caveats read from the data: arms, time origins, missing landmarks, approximations,
    derived figures, single series, the model beside the default."""
    r = ctx.report
    out: list[Paragraph] = []
    included = [s for s in ctx.studies if s.id not in ctx.options.exclude]

    def add(title: str, text: str) -> None:
        out.append(Paragraph.of(Span(title + " ", "strong"), text))

    arms: OrderedDict[str, list[str]] = OrderedDict()
    for s in included:
        arms.setdefault(s.arm, []).append(s.label)
    if len(arms) > 1:
        listing = "; ".join(f"{arm}: {join_words(labels)}" for arm, labels in arms.items())
        if ctx.by_arm:
            add("Different arms are not pooled together.",
                f"The series belong to {len(arms)} arms ({listing}). Each arm is pooled on "
                "its own" + (f", and {ctx.index.label} is compared only with series of its "
                             f"own arm" if ctx.index else "")
                + ". Rows that mix arms are marked as such and are for reference only.")
        elif ctx.grouped:
            add(f"Grouped by {ctx.options.group_by}, not by arm.",
                f"Groups can mix arms ({listing}).")
        else:
            add("All arms are pooled together (no grouping).",
                f"The pooled estimates mix different populations ({listing}).")

    for a in r.analyses:
        origins: OrderedDict[str, list[str]] = OrderedDict()
        for est in a.overall.studies:
            origins.setdefault(est.time_origin or "an unstated origin", []).append(est.id)
        if len(origins) > 1:
            detail = "; ".join(f"from {o}: {join_words(ctx.labels_of(ids))}"
                               for o, ids in origins.items())
            add(f"Time origins differ ({short_name(a.endpoint, a.time_months)}).",
                f"Time is counted {detail}. Survival counted from progression or from CAR-T "
                "infusion is not survival counted from transplant: these figures are not "
                "directly comparable.")

    not_at: OrderedDict[str, list[str]] = OrderedDict()
    for a in r.analyses:
        if not a.at_requested_landmark:
            continue
        for e in a.overall.excluded:
            if "(reports " in e.reason:
                not_at.setdefault(e.id, []).append(e.reason)
    if not_at:
        items = [f"{ctx.label(i)}: " + "; ".join(dict.fromkeys(rs)) for i, rs in not_at.items()]
        add("Landmarks not reported.",
            "; ".join(items) + ". These series are left out of those analyses: a figure at "
            "another landmark or without one is never substituted (a 2-year figure is not a "
            "1-year figure).")
    left: OrderedDict[str, None] = OrderedDict()
    for a in r.analyses:
        for e in a.overall.excluded:
            if "(reports " not in e.reason and not e.reason.endswith(" not reported"):
                left.setdefault(f"{ctx.label(e.id)}: {e.reason}", None)
    if left:
        add("Left out.", "; ".join(left) + ".")

    timed = _by_study(ctx, ((s.id, short_name(a.endpoint, a.time_months))
                            for a in r.analyses if a.time_months is not None
                            for s in a.overall.studies if s.approximate))
    if timed:
        add("Approximate standard errors.",
            f"{timed}: an estimate without a confidence interval or counts. Its standard "
            "error is approximated from the estimate and the number of patients (binomial), "
            "which ignores censoring: it is too small when follow-up is short, so such a series "
            "weighs more, and looks more precise, than it should.")
    untimed = _by_study(ctx, ((s.id, short_name(a.endpoint, a.time_months))
                              for a in r.analyses if a.time_months is None
                              for s in a.overall.studies if s.approximate))
    if untimed:
        add("Approximate standard errors without a landmark.",
            f"{untimed}: a proportion without a confidence interval or counts. Its standard "
            "error is approximated from the estimate and the number of patients (binomial), "
            "which is exact only if the proportion is of all of them.")

    derived = _by_study(ctx, ((s.id, short_name(a.endpoint, a.time_months))
                              for a in r.analyses for s in a.overall.studies if s.derived))
    if derived:
        add("Derived figures.",
            f"{derived}: not stated by the source but derived from it; how is written beside "
            "each figure in the provenance table.")

    singles = _by_study(ctx, ((g.studies[0].id, short_name(a.endpoint, a.time_months))
                              for a in r.analyses for g in (a.groups or (a.overall,))
                              if g.k == 1))
    if singles:
        add("Single series.",
            f"Only one series of its {ctx.group_word() if ctx.grouped else 'set'} reports "
            f"these: {singles}. Its own estimate is shown and nothing is pooled.")

    small = sorted({g.k for a in r.analyses for g in a.results if 2 <= g.k <= 4})
    if small:
        add("Few series.",
            f"Pooled sets have {join_words([str(k) for k in small])} series. With so few, "
            "\u03c4\u00b2 and I\u00b2 are very uncertain (see their intervals), a "
            "non-significant Q test says little, and prediction intervals are wide.")

    if ctx.index is not None and ctx.index.patients <= 30:
        add("Small index cohort.",
            f"{ctx.index.label} has {ctx.index.patients} patients: one patient moves its "
            f"proportions by {100 / ctx.index.patients:.0f} percentage points.")

    corrected = sorted({s.id for a in r.analyses for s in a.overall.studies if s.corrected})
    if corrected:
        add("Continuity correction.",
            f"{join_words(ctx.labels_of(corrected))}: no or only events; 1/2 was added to "
            f"events and non-events on the {ctx.options.scale.value} scale.")

    outside = [short_name(a.endpoint, a.time_months) for a in r.analyses
               if any("outside [0, 1]" in w for g in a.results for w in g.warnings)]
    if outside:
        add("Intervals outside 0-100%.",
            f"On the {ctx.options.scale.value} scale, intervals reach outside [0, 1] for "
            f"{join_words(list(dict.fromkeys(outside)))}; they are shown as computed.")

    companion = _companion_caveat(ctx)
    if companion:
        out.append(companion)
    return out


def _by_study(ctx: _Context, pairs: Iterable[tuple[str, str]]) -> str:
    """``Zurko 2023 (OS 12 mo, PFS 12 mo) and JULIET (CR)``."""
    what: OrderedDict[str, list[str]] = OrderedDict()
    for sid, name in pairs:
        what.setdefault(sid, [])
        if name not in what[sid]:
            what[sid].append(name)
    ordered = ctx.labels_of(what)
    ids = {ctx.label(i): i for i in what}
    return join_words([f"{lab} ({', '.join(what[ids[lab]])})" for lab in ordered])


def _companion_caveat(ctx: _Context) -> Paragraph | None:
    """Where the model shown beside the default could not be fitted, and why."""
    r = ctx.report
    comp = r.companion_options
    if comp is None:
        return None
    glmm = comp.model.value == "glmm"
    name = "The GLMM beside the default." if glmm else "The default model beside the GLMM."
    errors = [f"{short_name(a.endpoint, a.time_months)}: {ctx.with_labels(a.companion_error)}"
              for a in r.analyses if a.companion_error]
    no_counts: list[tuple[str, str]] = []
    failed: list[str] = []
    for a in r.analyses:
        for c in a.companion:
            if c.k < 2 or c.model == comp.model.value:
                continue
            if any("needs counts" in w for w in c.warnings):
                no_counts += [(s.id, short_name(a.endpoint, a.time_months))
                              for s in c.studies if s.count is None]
            else:
                failed += [f"{short_name(a.endpoint, a.time_months)}"
                           + (f" ({c.group})" if c.group else "") + ": "
                           + ctx.with_labels(w) for w in c.warnings if "GLMM" in w]
    parts = []
    if no_counts:
        parts.append("It needs counts from every series, so it is not fitted where a series "
                     f"reports an estimate only: {_by_study(ctx, no_counts)}.")
    if failed:
        parts.append("It could not be fitted: " + "; ".join(dict.fromkeys(failed)) + ".")
    if errors:
        parts.append("It could not be run: " + "; ".join(errors) + ".")
    if not parts:
        return None
    return Paragraph.of(Span(name + " ", "strong"), " ".join(parts))


def _caveats(ctx: _Context) -> Section:
    sec = Section("caveats", "Caveats")
    items = caveats(ctx)
    if items:
        sec.add(BulletList(tuple(items)))
    else:
        sec.add(Paragraph.of("None found in the data."))
    return sec


def _warnings(ctx: _Context) -> Section | None:
    rows = []
    for a in ctx.report.analyses:
        seen: set[str] = set()
        for res in a.results:
            for w in res.warnings:
                if w in seen:
                    continue
                seen.add(w)
                rows.append((short_name(a.endpoint, a.time_months), res.group or "all series", w))
    if not rows:
        return None
    sec = Section("warnings", "Every warning of the analyses, as written")
    sec.add(Paragraph.of("The messages of the analyses themselves (studies named by their "
                         "ids), summarised in the caveats above.", kind="note"))
    sec.add(Table(columns=("Endpoint", "Pooled set", "Warning"), rows=tuple(rows),
                  name="warnings"))
    return sec


# --------------------------------------------------------------------------- 6. studies


def _studies(ctx: _Context) -> Section:
    sec = Section("studies", "The series")
    rows = []
    for s in ctx.studies:
        rows.append((
            s.label + (" (index)" if s.index or (ctx.index and s.id == ctx.index.id) else ""),
            str(s.year), s.design or DASH, s.country or DASH, s.arm, str(s.patients),
            "; ".join(o.describe() for o in s.outcomes) or DASH,
        ))
    sec.add(Table(columns=("Study", "Year", "Design", "Country", "Arm", "Patients", "Reports"),
                  rows=tuple(rows), numeric=frozenset({"Year", "Patients"}), name="studies"))
    names: list[str] = []
    for s in ctx.studies:
        for key in s.characteristics:
            if key not in names:
                names.append(key)
    with_chars = [s for s in ctx.studies if s.characteristics]
    if names:
        sub = Section("characteristics", "Patient and treatment characteristics")
        crows = []
        for key in names:
            crows.append((characteristic_name(key),) + tuple(
                characteristic_text(s.characteristics[key]) if key in s.characteristics
                else DASH for s in with_chars))
        sub.add(Table(columns=("Characteristic",) + tuple(s.label for s in with_chars),
                      rows=tuple(crows), name="characteristics",
                      caption="As reported; \u2013 = not reported. Counts as n/N (%), "
                              "continuous values as median (range)."))
        sec.subsections.append(sub)
    sub = Section("sources", "Sources")
    items = []
    for s in ctx.studies:
        parts: list[Inline] = [Span(s.label, "strong"), f": {s.citation}"]
        if s.doi:
            parts += [" doi:", Span(s.doi, "link", f"https://doi.org/{s.doi}"), "."]
        if s.pmid:
            parts.append(f" PMID {s.pmid}.")
        if s.url and not s.doi:
            parts += [" ", Span(s.url, "link", s.url)]
        if s.notes:
            parts.append(f" Note: {s.notes}")
        items.append(Paragraph(tuple(parts)))
    sub.add(BulletList(tuple(items)))
    sec.subsections.append(sub)
    return sec


# --------------------------------------------------------------------------- 7. provenance


def provenance_rows(report: Report) -> list[dict[str, Any]]:
    """Every reported number of every study: where it is from, how it was derived, and
    where it was used (one dict per outcome, in reading order)."""
    used: dict[tuple[str, str, float | None], list[str]] = {}
    for a in report.analyses:
        sets = [g for g in a.groups if g.k > 0] or [a.overall]
        for g in sets:
            for est in g.studies:
                used.setdefault((est.id, a.endpoint, a.time_months), []).append(
                    short_name(a.endpoint, a.time_months) + (f" ({g.group})" if g.group else ""))
    excluded: dict[tuple[str, str, float | None], str] = {}
    for a in report.analyses:
        for e in a.overall.excluded:
            excluded.setdefault((e.id, a.endpoint, a.time_months), e.reason)
    rows = []
    for s in ordered_studies(report.studies, report.index):
        first_seen: set[tuple[str, float | None]] = set()
        for o in s.outcomes:
            key = (s.id, o.endpoint, o.time_months)
            if (o.endpoint, o.time_months) in first_seen:
                use = "not used (a later entry for the same endpoint and landmark)"
            elif key in used:
                use = "; ".join(dict.fromkeys(used[key]))
            elif s.id in report.options.exclude:
                use = "not used (excluded on request)"
            elif key in excluded:
                use = f"not used ({excluded[key]})"
            else:
                use = _why_unused(report, s, o)
            first_seen.add((o.endpoint, o.time_months))
            rows.append({
                "id": s.id, "study": s.label, "endpoint": o.endpoint,
                "time_months": o.time_months, "time_origin": o.time_origin,
                "reported": reported_value(o), "count": o.count, "total": o.total,
                "estimate": o.estimate, "estimate_text": o.estimate_text,
                "ci_low": None if o.ci is None else o.ci[0],
                "ci_high": None if o.ci is None else o.ci[1],
                "ci_level": o.ci_level if o.ci is not None else None,
                "ci_method": o.ci_method if o.ci is not None else None,
                "at_risk": o.at_risk, "used_in": use, "source": o.source,
                "derived": o.derived, "note": o.note,
                "file": None if s.path is None else _file_name(s.path), "line": o.line,
            })
        rows.extend(_reconstructed_rows(report, s, used))
    return rows


def _reconstructed_rows(report: Report, s: Study,
                        used: dict[tuple[str, str, float | None], list[str]]
                        ) -> list[dict[str, Any]]:
    """Provenance of the landmarks read from the study's reconstructed curves."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, float | None]] = set()
    for a in report.analyses:
        for g in [g for g in a.groups if g.k > 0] or [a.overall]:
            for est in g.studies:
                if est.id != s.id or not est.reconstructed or (a.endpoint, a.time_months) in seen:
                    continue
                seen.add((a.endpoint, a.time_months))
                curve = next((c for c in s.curves_for(a.endpoint)), None)
                rows.append({
                    "id": s.id, "study": s.label, "endpoint": a.endpoint,
                    "time_months": a.time_months, "time_origin": est.time_origin,
                    "reported": "read from the reconstructed curve", "count": None,
                    "total": est.total, "estimate": est.estimate, "estimate_text": None,
                    "ci_low": est.ci_low, "ci_high": est.ci_high,
                    "ci_level": report.options.level, "ci_method": "log-log",
                    "at_risk": None,
                    "used_in": "; ".join(dict.fromkeys(used.get((s.id, a.endpoint,
                                                                 a.time_months), []))),
                    "source": est.source,
                    "derived": "Kaplan-Meier estimate of the patient data reconstructed from "
                               f"{curve.points if curve else 'the digitised curve'} and its "
                               "numbers-at-risk table (Guyot 2012); Greenwood log-log interval",
                    "note": None,
                    "file": None if s.path is None else _file_name(s.path),
                    "line": curve.line if curve else None,
                })
    return rows


def _why_unused(report: Report, study: Study, o: Outcome) -> str:
    here = "without a landmark" if o.time_months is None else f"at {o.time_months:g} months"
    others = sorted({a.time_months for a in report.analyses if a.endpoint == o.endpoint},
                    key=lambda t: (t is None, t or 0.0))
    if report.options.endpoints and o.endpoint not in report.options.endpoints:
        return f"not used ({o.endpoint} was not asked for)"
    if others:
        at = join_words(["without a landmark" if t is None else f"at {t:g} months"
                         for t in others])
        return (f"not used ({o.endpoint} is analysed {at}; this figure is {here}, and no "
                "other series reports it so)")
    return f"not used (no other series reports {o.endpoint} {here})"


def _file_name(path: str) -> str:
    from pathlib import PurePath

    return PurePath(path).name


def _provenance(ctx: _Context) -> Section:
    sec = Section("provenance", "Where every number comes from")
    sec.add(Paragraph.of(
        "Every figure of every study file, as the file gives it: its source (section, table "
        "or figure of the paper), how it was derived when the paper does not state it "
        "directly, and the analyses that use it.", kind="note"))
    rows = []
    for p in provenance_rows(ctx.report):
        where = p["file"] or DASH
        if p["file"] and p["line"] is not None:
            where += f":{p['line']}"
        figure = p["endpoint"]
        if p["time_months"] is not None:
            figure += f" at {fmt.landmark(p['time_months'])}"
        if p["time_origin"]:
            figure += f", from {p['time_origin']}"
        rows.append((p["study"], figure, p["reported"], p["source"], p["derived"] or DASH,
                     p["used_in"], where))
    sec.add(Table(columns=("Study", "Figure", "As reported", "Source", "Derived", "Used in",
                           "File"),
                  rows=tuple(rows), name="provenance"))
    return sec


# --------------------------------------------------------------------------- 8. methods


def method_summary(ctx: _Context) -> str:
    o = ctx.options
    model = {"random": "random effects", "common": "common effect",
             "glmm": "binomial-normal GLMM"}[o.model.value]
    parts = [model, f"{o.scale.value} scale"]
    if o.model.value == "random":
        parts.append(f"\u03c4\u00b2 by {o.tau2_method.value}")
    parts.append({"z": "z interval", "hk": "Hartung-Knapp interval",
                  "hk-adhoc": "Hartung-Knapp interval (ad hoc floor)",
                  "t": "t interval"}[o.ci_method.value])
    return ", ".join(parts)


class _Cites:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, *keys: str) -> str:
        for k in keys:
            if k not in self.keys:
                self.keys.append(k)
        return "(" + "; ".join(CITE[k] for k in keys) + ")"


def methods_paragraphs(ctx: _Context) -> tuple[list[str], list[str]]:
    """The methods, written from the options used, and the keys of the references cited."""
    o, r = ctx.options, ctx.report
    cite = _Cites()
    lvl = ctx.level
    paras: list[str] = []
    scale, _measure = SCALES[o.scale.value]
    ci_name, ci_ref = STUDY_CI[o.study_ci.value]

    times = sorted({a.time_months for a in r.analyses
                    if a.time_months is not None and a.at_requested_landmark})
    extra = sorted({a.time_months for a in r.analyses
                    if a.time_months is not None and not a.at_requested_landmark})
    data = ("Each series contributes, per endpoint, the proportion it reports: counts (x of n), "
            "an estimate with its confidence interval, or an estimate with the number of "
            "patients.")
    if times:
        data += (" Time-to-event endpoints were taken at "
                 + join_words([f"{t:g} months" for t in times]) + " from the time origin each "
                 "series states; a figure at another landmark was never substituted.")
    if extra:
        data += (" Other landmarks reported by at least two series ("
                 + join_words([f"{t:g} months" for t in extra]) + ") are analysed as well.")
    data += (f" Per-series {lvl} confidence intervals are {ci_name} intervals for counts "
             f"{cite(ci_ref)}; reported intervals are shown as reported. The standard error "
             "of a reported estimate was recovered from its confidence interval on the scale "
             "the source computed it and carried to the pooling scale by the delta method; "
             "when only the estimate and the number of patients were reported, a binomial "
             "standard error was used and flagged as approximate.")
    paras.append(data)

    if o.model.value == "glmm":
        pool = (f"Proportions were pooled with a binomial-normal generalised linear mixed model "
                "(random-intercept logistic regression on the counts, no continuity "
                "correction), fitted by maximum likelihood with adaptive Gauss-Hermite "
                f"quadrature (7 points) {cite('stijnen2010', 'lin2020')}; the {lvl} CI of "
                + ("the pooled proportion used the normal distribution" if o.ci_method.value == "z"
                   else "the pooled proportion used a t distribution with k\u22121 degrees of "
                        "freedom")
                + ". Where a series reports no counts, or the model does not converge, the "
                  "default inverse-variance random-effects model is used instead and the "
                  "report says so.")
    else:
        pool = f"Proportions were pooled on the {scale} scale"
        if o.model.value == "common":
            pool += " with a common-effect (fixed-effect) model and inverse-variance weights"
        else:
            name, ref = TAU2_NAMES[o.tau2_method.value]
            pool += (" with a random-effects model and inverse-variance weights; the "
                     f"between-series variance \u03c4\u00b2 was estimated by {name} {cite(ref)}")
        pool += "."
        ci = o.ci_method.value
        if ci == "z":
            pool += f" The {lvl} CI of the pooled proportion used the normal distribution."
        elif ci == "hk":
            pool += (f" The {lvl} CI of the pooled proportion used the Hartung-Knapp method "
                     f"with a t distribution on k\u22121 degrees of freedom "
                     f"{cite('hartung2001', 'knapp2003')}, which keeps its coverage when few "
                     f"small studies are pooled {cite('inthout2014')}.")
        else:
            pool += (f" The {lvl} CI of the pooled proportion used the Hartung-Knapp method "
                     f"with a t distribution on k\u22121 degrees of freedom "
                     f"{cite('hartung2001', 'knapp2003')}, in its ad hoc form whose variance "
                     "factor is floored at 1, so that the interval is never narrower than the "
                     f"normal one {cite('knapp2003', 'rover2015')}; the z interval is too narrow "
                     f"when few small studies are pooled {cite('inthout2014')}.")
        if o.scale.value == "pft":
            pool += (" Pooled values were back-transformed with Miller's inverse at the "
                     f"harmonic mean of the sample sizes {cite('miller1978')}; this "
                     f"back-transformation can mislead {cite('schwarzer2019')}.")
        else:
            pool += " Pooled values were back-transformed to proportions."
        if o.scale.value in ("logit", "log", "raw"):
            pool += (" For a series with no or only events, 1/2 was added to events and "
                     "non-events (continuity correction).")
        if o.scale.value in ("raw", "log"):
            pool += " Intervals may reach outside 0-100% on this scale; they are shown as computed."
    paras.append(pool)

    het = ""
    if o.model.value != "common":
        crit = "the normal quantile" if o.ci_method.value == "z" else \
            "a t quantile with k\u22121 degrees of freedom"
        het += (f"{lvl} prediction intervals {cite('higgins2009')} use {crit}; they show where "
                "the proportion of a further series like these would be expected to fall. ")
    het += ("Heterogeneity is described by Cochran's Q with its p-value, I\u00b2 and "
            "\u03c4\u00b2")
    if o.model.value == "random":
        het += f", with Q-profile confidence intervals for \u03c4\u00b2 and I\u00b2 {cite('viechtbauer2007')}"
    het += "."
    if o.group_by is not None:
        what = "arm" if ctx.by_arm else f"'{o.group_by}'"
        het += (f" Series were grouped by {what} and each group pooled on its own; the "
                "difference between groups was tested with a fixed-effect Q test of the group "
                "means.")
    else:
        het += " All series were pooled together (no grouping)."
    if o.exclude:
        het += (" Left out on request: "
                + join_words([ctx.label(i) for i in o.exclude]) + ".")
    if o.leave_one_out:
        het += " Each pooled set was refitted without each series in turn (leave-one-out)."
    paras.append(het)

    if ctx.index is not None and any(a.comparisons for a in r.analyses):
        paras.append(
            f"The index cohort ({ctx.index.label}) was compared with the pooled other series "
            f"of its {ctx.group_word() if o.group_by else 'set'} on the {o.scale.value} scale: "
            f"the difference, its {lvl} CI and a two-sided z-test (variance of the difference = "
            "the index variance plus the pooled variance), and whether the index proportion "
            "lies inside the other series' prediction interval.")

    comp = r.companion_options
    if comp is not None and comp.model.value == "glmm":
        paras.append(
            "Beside the default, the binomial-normal generalised linear mixed model "
            "(random-intercept logistic regression on the counts, no continuity correction, "
            "maximum likelihood, adaptive Gauss-Hermite quadrature with 7 points) is shown "
            f"{cite('stijnen2010')}; it is the better model for counts from small series "
            f"{cite('lin2020')}. A series that reports only an estimate enters with "
            "pseudo-counts (the estimate times its number of patients); where the fit does "
            "not converge, the report says so instead of showing it.")
    elif comp is not None:
        paras.append("Beside the GLMM, the default inverse-variance random-effects model "
                     "(logit scale, REML, Hartung-Knapp ad hoc interval) is shown.")

    paras.extend(_bayes.methods_text(ctx, cite))
    call = _metafor_call(o)
    paras.append(
        f"All computations reproduce R's metafor package {cite('viechtbauer2010')} to within "
        f"1e-6 (closed forms) or 1e-4 (iterative estimators and the GLMM); the equivalent call "
        f"is {call}.")
    return paras, cite.keys


def _metafor_call(o: Any) -> str:
    if o.model.value == "glmm":
        return (f'rma.glmm(xi, ni, measure="PLO", nAGQ=7, test="{METAFOR_TEST[o.ci_method.value]}", '
                f"level={100 * o.level:g})")
    measure = SCALES[o.scale.value][1]
    what = (f'measure="{measure}"' if measure else "yi, vi (cloglog effect sizes)")
    method = '"EE"' if o.model.value == "common" else f'"{o.tau2_method.value}"'
    return (f"rma({what}, method={method}, test=\"{METAFOR_TEST[o.ci_method.value]}\", "
            f"level={100 * o.level:g})")


def _methods(ctx: _Context) -> Section:
    sec = Section("methods", "Methods")
    paras, keys = methods_paragraphs(ctx)
    for p in paras:
        sec.add(Paragraph.of(p))
    sub = Section("references", "References")
    refs = sorted(keys, key=lambda k: REFERENCES[k])
    sub.add(BulletList(tuple(Paragraph.of(REFERENCES[k]) for k in refs)))
    sec.subsections.append(sub)
    return sec


# --------------------------------------------------------------------------- 9. software


def options_text(report: Report) -> str:
    """The analysis options as command-line flags (what reproduces this report)."""
    o = report.options
    parts = []
    if o.endpoints:
        parts += [f"--endpoint {e}" for e in o.endpoints]
    if o.time_months is not None:
        parts.append(f"--time {o.time_months:g}")
    parts += [f"--model {o.model.value}"]
    if o.model.value != "glmm":
        parts.append(f"--tau2 {o.tau2_method.value}")
    parts += [f"--ci {o.ci_method.value}", f"--scale {o.scale.value}",
              f"--study-ci {o.study_ci.value}", f"--level {o.level:g}"]
    if o.group_by is None:
        parts.append("--no-group")
    elif o.group_by != "arm":
        parts.append(f"--group-by {o.group_by}")
    parts += [f"--exclude {e}" for e in o.exclude]
    if o.leave_one_out:
        parts.append("--leave-one-out")
    if report.index is not None and not report.index.index:
        parts.append(f"--index {report.index.id}")
    return " ".join(parts)


def _software(ctx: _Context) -> Section:
    r = ctx.report
    sec = Section("software", "Software and inputs")
    sec.add(Paragraph.of("Made with ", Span(
        "metaview report PATH -o DIR " + options_text(r), "code"), "."))
    sec.add(Table(columns=("Software", "Version"), rows=tuple(r.versions), name="versions"))
    if r.inputs:
        sec.add(Paragraph.of(
            f"Inputs: {len(r.inputs)} study files. SHA-256 of their bytes concatenated in "
            "file-name order: ", Span(r.inputs_sha256 or "", "code"), "."))
        sec.add(Table(columns=("File", "Bytes", "SHA-256"),
                      rows=tuple((f.name, str(f.size), f.sha256) for f in r.inputs),
                      numeric=frozenset({"Bytes"}), name="inputs"))
    else:
        sec.add(Paragraph.of("Inputs: the studies were not read from files, so no hash is given."))
    if r.timestamp:
        sec.add(Paragraph.of(f"Generated {r.timestamp}."))
    return sec
