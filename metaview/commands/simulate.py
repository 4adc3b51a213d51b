"""`metaview simulate PATH --endpoint E --replicates B`: coverage of each interval method.

The analysis is the one ``metaview pool`` would do with the same options; the simulation
uses the first group with at least 2 studies for the endpoint and landmark (index group
first, as in ``pool``), else the overall analysis. See :mod:`metaview.engine.simulate` for
the data-generating model.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from metaview.display import level_percent, with_labels
from metaview.errors import AnalysisError, UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="a study file or a folder of them (*.yaml, *.yml)")
    p.add_argument("--replicates", type=_positive_int, required=True, metavar="B",
                   help="number of simulated data sets, e.g. 10000")
    p.add_argument("--seed", type=_seed, default=None, metavar="S",
                   help="seed of the random numbers (default: a fresh one, printed)")
    p.add_argument("--format", default="table", metavar="FORMAT",
                   help="table or json (default: table)")
    p.add_argument("--with-glmm", action="store_true",
                   help="also refit the binomial-normal GLMM (slow: one fit at a time)")
    p.add_argument("--with-bayes", action="store_true",
                   help="also refit every replicate with the Bayesian normal-normal model "
                        "(priors from --tau-prior and --mu-prior) and report the coverage "
                        "of its credible interval")
    p.add_argument("--glmm-replicates", type=_positive_int, default=100, metavar="N",
                   help="with --with-glmm: refit the GLMM on the first N replicates "
                        "(default: 100; each fit takes about 0.2 to 0.6 s)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be a positive whole number")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be 0 or a positive whole number")
    return value


def run(args: argparse.Namespace) -> int:
    from metaview.choices import Model, OutputFormat, parse
    from metaview.commands._common import load, options_from_args, write_json

    out_format = parse(OutputFormat, args.format, option="--format")
    if out_format is OutputFormat.CSV:
        raise UsageError("--format csv is not available for simulate; use table or json")
    if not args.endpoint or len(args.endpoint) != 1:
        raise UsageError("simulate needs exactly one --endpoint, e.g. --endpoint OS")
    options = options_from_args(args, leave_one_out=False)
    studies = load(args.paths)

    from metaview.engine.analysis import _plan, analyse, endpoint_landmarks

    ((endpoint, time),) = endpoint_landmarks(studies, options)
    results = [r for r in analyse(studies, options)
               if r.endpoint == endpoint and r.time_months == time]
    chosen = next((r for r in results if r.group is not None and r.k >= 2), None)
    if chosen is None:
        chosen = next((r for r in results if r.group is None), None)
    when = "" if time is None else f" at {time:g} months"
    if chosen is None or chosen.k < 2 or chosen.theta is None or chosen.tau2 is None:
        raise AnalysisError(f"nothing to simulate: fewer than 2 studies report {endpoint}{when}")

    members = {s.id for s in chosen.studies}
    plan = _plan(studies, endpoint, time, options)
    sizes: list[float] = []
    used: list[str] = []
    messages: list[str] = []
    for row in plan.rows:
        if row.study.id not in members:
            continue
        if row.effect.n is None:
            messages.append(f"{row.study.id}: left out of the simulation (no number of "
                            "patients for this outcome); it still informs the true values")
            continue
        sizes.append(float(row.effect.n))
        used.append(row.study.id)
        if row.effect.count is None:
            messages.append(f"{row.study.id}: reports an estimate only; simulated with its "
                            f"total of {row.effect.n:g} patients")
    if len(sizes) < 2:
        raise AnalysisError(f"nothing to simulate: fewer than 2 studies reporting {endpoint}"
                            f"{when} give a number of patients")

    seed = args.seed
    if seed is None:
        import secrets

        seed = secrets.randbits(32)
    common = options.model is Model.COMMON
    glmm_ci = "t" if options.ci_method.value == "t" else "z"
    from metaview.engine.simulate import coverage_study

    study = coverage_study(
        sizes, theta=float(chosen.theta), tau2=0.0 if common else float(chosen.tau2),
        scale=options.scale, tau2_method=None if common else options.tau2_method,
        level=options.level, replicates=args.replicates, seed=seed,
        with_glmm=args.with_glmm, glmm_replicates=args.glmm_replicates, glmm_ci=glmm_ci,
        progress=_progress_bar() if sys.stderr.isatty() else None,
        with_bayes=args.with_bayes, tau_prior=getattr(options, "tau_prior", None),
        mu_prior=getattr(options, "mu_prior", None),
    )
    doc: dict[str, Any] = study.to_dict()
    doc.update(endpoint=endpoint, time_months=time, group=chosen.group,
               model=chosen.model, studies=used)
    if options.scale.value != "logit":
        messages.append(f"study effects drawn as normal on the {options.scale.value} scale "
                        "(the refitted model's own assumption), then binomial counts")
    doc["notes"] = messages + list(study.notes)
    if out_format is OutputFormat.JSON:
        write_json(doc)
    else:
        sys.stdout.write(_table(doc, chosen.group, {s.id: s.label for s in studies}))
    return 0


def _table(doc: dict[str, Any], group: str | None, names: dict[str, str]) -> str:
    """The coverage table; studies named by label (the JSON keeps their ids)."""
    from metaview.render import format as fmt

    when = "" if doc["time_months"] is None else f" at {doc['time_months']:g} months"
    title = f"Coverage study: {doc['endpoint']}{when}"
    where = group if group is not None else "all studies"
    tau2_text = "common effect" if doc["tau2_method"] is None else f"τ² by {doc['tau2_method']}"
    lines = [
        title, "=" * len(title), "",
        f"Analysis: {where} (k = {doc['k']}: {', '.join(names.get(i, i) for i in doc['studies'])})",
        (f"True values (the fitted {doc['model']} model): estimate "
         f"{fmt.percent(doc['true_estimate'], 1)}, theta = {doc['true_theta']:.4f} on the "
         f"{doc['scale']} scale, τ² = {doc['true_tau2']:.4g}"),
        (f"Replicates: {doc['replicates']} (seed {doc['seed']}); refits: {doc['scale']} scale, "
         f"{tau2_text}, {level_percent(doc['level'])} intervals"),
        "",
    ]
    rows = [["method", "coverage", "MC SE", "mean width", "replicates"]]
    for m in doc["methods"]:
        name = m["method"] + (f" ({m['ci']})" if m.get("ci") else "")
        cov = "n/a" if m["coverage"] is None else f"{m['coverage'] * 100:.1f}%"
        se = "n/a" if m["coverage_mcse"] is None else f"{m['coverage_mcse'] * 100:.1f}%"
        width = "n/a" if m["mean_width"] is None else f"{m['mean_width'] * 100:.1f} points"
        reps = str(m["replicates"]) + (f" ({m['failed']} failed)" if m["failed"] else "")
        rows.append([name, cov, se, width, reps])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    lines += ["", ("Coverage: share of replicates whose interval contains the true value "
                   f"(nominal {level_percent(doc['level'])}); width on the proportion scale.")]
    for note in doc["notes"]:
        lines.append(f"Note: {with_labels(note, names)}")
    return "\n".join(lines) + "\n"


def _progress_bar():
    """A one-line progress bar on stderr (only used when stderr is a terminal)."""
    state = {"last": -1}

    def show(done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        if pct == state["last"]:
            return
        state["last"] = pct
        filled = pct * 30 // 100
        sys.stderr.write(f"\rsimulating [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}%")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
