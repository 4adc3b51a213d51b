"""What the report cites: references, citation keys and the names of methods and scales."""

from __future__ import annotations

from typing import NamedTuple

from metaview.display import STUDY_CI_NAMES


class Reference(NamedTuple):
    """A work the report cites: the in-text citation and the full reference."""

    cite: str
    text: str


# --------------------------------------------------------------------------- references

REFERENCES: dict[str, Reference] = {
    "friede2017": Reference(
        "Friede et al. 2017",
        "Friede T, R\u00f6ver C, Wandel S, Neuenschwander B. Meta-analysis of few "
        "small studies in orphan diseases. Res Synth Methods. 2017;8(1):79-91."),
    "rover2020": Reference(
        "R\u00f6ver 2020",
        "R\u00f6ver C. Bayesian random-effects meta-analysis using the bayesmeta R "
        "package. J Stat Softw. 2020;93(6):1-51."),
    "rover2021": Reference(
        "R\u00f6ver et al. 2021",
        "R\u00f6ver C, Bender R, Dias S, Schmid CH, Schmidli H, Sturtz S, Weber S, "
        "Friede T. On weakly informative prior distributions for the "
        "heterogeneity parameter in Bayesian random-effects meta-analysis. Res "
        "Synth Methods. 2021;12(4):448-474."),
    "viechtbauer2010": Reference(
        "Viechtbauer 2010",
        "Viechtbauer W. Conducting meta-analyses in R with the metafor package. J "
        "Stat Softw. 2010;36(3):1-48."),
    "hartung2001": Reference(
        "Hartung & Knapp 2001",
        "Hartung J, Knapp G. On tests of the overall treatment effect in "
        "meta-analysis with normally distributed responses. Stat Med. "
        "2001;20(12):1771-1782."),
    "knapp2003": Reference(
        "Knapp & Hartung 2003",
        "Knapp G, Hartung J. Improved tests for a random effects meta-regression "
        "with a single covariate. Stat Med. 2003;22(17):2693-2710."),
    "rover2015": Reference(
        "R\u00f6ver et al. 2015",
        "R\u00f6ver C, Knapp G, Friede T. Hartung-Knapp-Sidik-Jonkman approach and its "
        "modification for random-effects meta-analysis with few studies. BMC Med "
        "Res Methodol. 2015;15:99."),
    "inthout2014": Reference(
        "IntHout et al. 2014",
        "IntHout J, Ioannidis JPA, Borm GF. The Hartung-Knapp-Sidik-Jonkman "
        "method for random effects meta-analysis is straightforward and "
        "considerably outperforms the standard DerSimonian-Laird method. BMC Med "
        "Res Methodol. 2014;14:25."),
    "higgins2009": Reference(
        "Higgins et al. 2009",
        "Higgins JPT, Thompson SG, Spiegelhalter DJ. A re-evaluation of "
        "random-effects meta-analysis. J R Stat Soc Ser A Stat Soc. "
        "2009;172(1):137-159."),
    "viechtbauer2007": Reference(
        "Viechtbauer 2007",
        "Viechtbauer W. Confidence intervals for the amount of heterogeneity in "
        "meta-analysis. Stat Med. 2007;26(1):37-52."),
    "stijnen2010": Reference(
        "Stijnen et al. 2010",
        "Stijnen T, Hamza TH, \u00d6zdemir P. Random effects meta-analysis of event "
        "outcome in the framework of the generalized linear mixed model with "
        "applications in sparse data. Stat Med. 2010;29(29):3046-3067."),
    "lin2020": Reference(
        "Lin & Chu 2020",
        "Lin L, Chu H. Meta-analysis of proportions using generalized linear "
        "mixed models. Epidemiology. 2020;31(5):713-717."),
    "wilson1927": Reference(
        "Wilson 1927",
        "Wilson EB. Probable inference, the law of succession, and statistical "
        "inference. J Am Stat Assoc. 1927;22(158):209-212."),
    "clopper1934": Reference(
        "Clopper & Pearson 1934",
        "Clopper CJ, Pearson ES. The use of confidence or fiducial limits "
        "illustrated in the case of the binomial. Biometrika. 1934;26(4):404-413."),
    "agresti1998": Reference(
        "Agresti & Coull 1998",
        "Agresti A, Coull BA. Approximate is better than \"exact\" for interval "
        "estimation of binomial proportions. Am Stat. 1998;52(2):119-126."),
    "brown2001": Reference(
        "Brown et al. 2001",
        "Brown LD, Cai TT, DasGupta A. Interval estimation for a binomial "
        "proportion. Stat Sci. 2001;16(2):101-133."),
    "schwarzer2019": Reference(
        "Schwarzer et al. 2019",
        "Schwarzer G, Chemaitelly H, Abu-Raddad LJ, R\u00fccker G. Seriously "
        "misleading results using inverse of Freeman-Tukey double arcsine "
        "transformation in meta-analysis of single proportions. Res Synth "
        "Methods. 2019;10(3):476-483."),
    "miller1978": Reference(
        "Miller 1978",
        "Miller JJ. The inverse of the Freeman-Tukey double arcsine "
        "transformation. Am Stat. 1978;32(4):138."),
    "viechtbauer2005": Reference(
        "Viechtbauer 2005",
        "Viechtbauer W. Bias and efficiency of meta-analytic variance estimators "
        "in the random-effects model. J Educ Behav Stat. 2005;30(3):261-293."),
    "dersimonian1986": Reference(
        "DerSimonian & Laird 1986",
        "DerSimonian R, Laird N. Meta-analysis in clinical trials. Control Clin "
        "Trials. 1986;7(3):177-188."),
    "paule1982": Reference(
        "Paule & Mandel 1982",
        "Paule RC, Mandel J. Consensus values and weighting factors. J Res Natl "
        "Bur Stand. 1982;87(5):377-385."),
    "sidik2005": Reference(
        "Sidik & Jonkman 2005",
        "Sidik K, Jonkman JN. Simple heterogeneity variance estimation for "
        "meta-analysis. J R Stat Soc Ser C Appl Stat. 2005;54(2):367-384."),
    "hunter2004": Reference(
        "Hunter & Schmidt 2004",
        "Hunter JE, Schmidt FL. Methods of meta-analysis: correcting error and "
        "bias in research findings. 2nd ed. Thousand Oaks: Sage; 2004."),
    "hedges1985": Reference(
        "Hedges & Olkin 1985",
        "Hedges LV, Olkin I. Statistical methods for meta-analysis. Orlando: "
        "Academic Press; 1985."),
    "morris1983": Reference(
        "Morris 1983",
        "Morris CN. Parametric empirical Bayes inference: theory and "
        "applications. J Am Stat Assoc. 1983;78(381):47-55."),
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

#: each study interval's name (from :mod:`metaview.display`) and the reference for it
STUDY_CI: dict[str, tuple[str, str]] = {
    key: (STUDY_CI_NAMES[key], ref) for key, ref in (
        ("wilson", "wilson1927"), ("clopper-pearson", "clopper1934"),
        ("agresti-coull", "agresti1998"), ("jeffreys", "brown2001"), ("wald", "brown2001"))
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
