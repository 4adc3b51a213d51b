"""Make the worked example of ``metaview km``: digitised curves of a public data set.

The data are the NCCTG advanced lung cancer cohort (Loprinzi et al., J Clin Oncol
1994;12:601-7; R survival's ``lung``, shipped with lifelines as ``load_lung``): 228
patients, survival in days, 165 deaths. For men and women separately this script draws
the Kaplan-Meier curve as a paper would and reads it back as a digitiser does: points
spread evenly along the drawn line (flat parts and drops), left to right, with reading
errors of up to 0.4 percentage points and 0.3% of the time axis (fixed seed). It writes the
two points files (men: comma-separated percent with a header; women: semicolon-separated
fractions with decimal commas, as a European digitiser exports them) and the two study
files with the numbers-at-risk table a paper prints under the figure (every 200 days).

Run from the repository root::

    python examples/km/digitise.py
    metaview km examples/km/ --time 6 --time 12 -o km.png
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_lung

HERE = Path(__file__).resolve().parent
TABLE_DAYS = [0, 200, 400, 600, 800, 1000]
POINTS = {1: 180, 2: 140}
SEED = 20120209  # Guyot et al. 2012 was published on 9 February 2012

STUDY = """\
# yaml-language-server: $schema=../../metaview/io/study.schema.json
# Worked example of curves: (made by digitise.py from R survival's lung data set)
id: {id}
label: {label}
citation: "Loprinzi CL, et al. Prospective evaluation of prognostic variables from \\
patient-completed questionnaires. North Central Cancer Treatment Group. J Clin Oncol. \\
1994;12(3):601-7."
year: 1994
pmid: "8120560"
design: prospective multicentre
country: USA
arm: {arm}
patients: {n}
outcomes: []
curves:
  - endpoint: OS
    time_unit: days
    time_origin: enrolment
    points: {points}
    at_risk:
      times: {times}
      n: {at_risk}
    events: {events}
    source: "Kaplan-Meier curve of overall survival by sex; numbers at risk below the plot"
"""


def digitise(time: np.ndarray, event: np.ndarray, k: int, rng: np.random.Generator):
    kmf = KaplanMeierFitter().fit(time, event)
    steps_t = kmf.survival_function_.index.to_numpy(dtype=float)
    steps_s = kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float)
    vt, vs = [0.0], [1.0]
    for t, s in zip(steps_t[1:], steps_s[1:]):
        if s < vs[-1]:
            vt += [t, t]
            vs += [vs[-1], s]
    axis = float(time.max())
    vt.append(axis)
    vs.append(vs[-1])
    vt_a, vs_a = np.array(vt), np.array(vs)
    length = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(vt_a)) / axis
                                              + np.abs(np.diff(vs_a)))])
    where = (np.arange(k) + rng.uniform(0.1, 0.9, k)) * length[-1] / k
    where[0] = 0.0
    t = np.interp(where, length, vt_a) + rng.uniform(-0.003, 0.003, k) * axis
    s = np.interp(where, length, vs_a) + rng.uniform(-0.004, 0.004, k)
    return np.maximum.accumulate(np.maximum(t, 0.0)), s


def main() -> None:
    lung = load_lung()
    rng = np.random.default_rng(SEED)
    for sex, word in ((1, "men"), (2, "women")):
        group = lung[lung["sex"] == sex]
        time = group["time"].to_numpy(dtype=float)
        event = group["status"].to_numpy(dtype=int)
        t, s = digitise(time, event, POINTS[sex], rng)
        name = f"ncctg-lung-{word}"
        points = f"{name}-os.csv"
        if sex == 1:
            lines = ["days,survival %"] + [f"{a:.1f},{100 * b:.2f}" for a, b in zip(t, s)]
        else:
            lines = [f"{a:.1f};{b:.4f}".replace(".", ",") for a, b in zip(t, s)]
        (HERE / points).write_text("\n".join(lines) + "\n", "utf-8")
        at_risk = [int(np.sum(time >= x)) for x in TABLE_DAYS]
        (HERE / f"{name}.yaml").write_text(STUDY.format(
            id=name, label=f"NCCTG lung, {word}", arm=f"advanced lung cancer, {word}",
            n=len(group), points=points, times=TABLE_DAYS, at_risk=at_risk,
            events=int(event.sum())), "utf-8")
        print(f"wrote {points} ({len(t)} points) and {name}.yaml (at risk {at_risk})")


if __name__ == "__main__":
    main()
