"""The report's methods text (with the matching metafor call) and software section."""

from __future__ import annotations

from typing import Any

from metaview.display import CI_METHOD_NAMES, MODEL_NAMES, level_percent
from metaview.report import bayes as _bayes
from metaview.report.content import (
    Report,
)
from metaview.report.context import _Context
from metaview.report.doc import (
    BulletList,
    Paragraph,
    Section,
    Span,
    Table,
)
from metaview.report.references import METAFOR_TEST, REFERENCES, SCALES, STUDY_CI, TAU2_NAMES
from metaview.report.words import join_words

# --------------------------------------------------------------------------- 8. methods


def method_summary(ctx: _Context) -> str:
    o = ctx.options
    parts = [MODEL_NAMES[o.model.value], f"{o.scale.value} scale"]
    if o.model.value == "random":
        parts.append(f"\u03c4\u00b2 by {o.tau2_method.value}")
    parts.append(f"{CI_METHOD_NAMES[o.ci_method.value]} interval")
    return ", ".join(parts)


class _Cites:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, *keys: str) -> str:
        for k in keys:
            if k not in self.keys:
                self.keys.append(k)
        return "(" + "; ".join(REFERENCES[k].cite for k in keys) + ")"


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
        het += (", with Q-profile confidence intervals for \u03c4\u00b2 and I\u00b2 "
                f"{cite('viechtbauer2007')}")
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
        test = METAFOR_TEST[o.ci_method.value]
        return (f'rma.glmm(xi, ni, measure="PLO", nAGQ=7, test="{test}", '
                f"level={level_percent(o.level)[:-1]})")
    measure = SCALES[o.scale.value][1]
    what = (f'measure="{measure}"' if measure else "yi, vi (cloglog effect sizes)")
    method = '"EE"' if o.model.value == "common" else f'"{o.tau2_method.value}"'
    return (f"rma({what}, method={method}, test=\"{METAFOR_TEST[o.ci_method.value]}\", "
            f"level={level_percent(o.level)[:-1]})")


def _methods(ctx: _Context) -> Section:
    sec = Section("methods", "Methods")
    paras, keys = methods_paragraphs(ctx)
    for p in paras:
        sec.add(Paragraph.of(p))
    sub = Section("references", "References")
    refs = sorted(keys, key=lambda k: REFERENCES[k].text)
    sub.add(BulletList(tuple(Paragraph.of(REFERENCES[k].text) for k in refs)))
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
              f"--study-ci {o.study_ci.value}", f"--level {o.level!r}"]
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
