"""The committed reports/ is the report of studies/ with the default options.

Regenerate it with ``metaview report studies/ -o reports/`` whenever a study file or the
report code changes. ``reports/forest-12m.*`` belong to the ``forest`` command and are not
checked here.

With the same software versions as recorded in the committed report.md every file must be
byte-identical. Under other versions (a CI machine that installed newer wheels) the figures
and the version table may legitimately differ: then the text is compared without them and
the CSV numbers to 1e-6 relative, which still catches any stale content.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from report_data import REPORT_ROOT, STUDIES_DIR

from metaview.cli import main

COMMITTED = REPORT_ROOT / "reports"
NOT_OURS = re.compile(r"^forest-12m\.[A-Za-z]+$")
REGENERATE = "regenerate it: metaview report studies/ -o reports/"
SOFTWARE = ("metaview", "Python", "numpy", "scipy", "statsmodels", "pandas", "matplotlib")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not NOT_OURS.match(p.name)}


def _versions(markdown: bytes) -> dict[str, str]:
    text = markdown.decode("utf-8")
    out = {}
    for name in SOFTWARE:
        m = re.search(rf"^\| {re.escape(name)} \| ([^|]+) \|$", text, re.MULTILINE)
        if m:
            out[name] = m.group(1).strip()
    return out


def _without_versions_and_figures(name: str, data: bytes) -> str:
    text = data.decode("utf-8")
    alternatives = "|".join(re.escape(s) for s in SOFTWARE)
    if name.endswith(".html"):
        text = re.sub(r"<svg\b.*?</svg>", "<svg/>", text, flags=re.DOTALL)
        text = re.sub(rf"<tr><td>({alternatives})</td><td>[^<]*</td></tr>", "", text)
    else:
        text = re.sub(rf"^\| ({alternatives}) \| [^|]+ \|$", "", text, flags=re.MULTILINE)
    return text


def _same_csv(a: bytes, b: bytes) -> bool:
    import numpy as np
    import pandas as pd

    fa, fb = pd.read_csv(io.BytesIO(a)), pd.read_csv(io.BytesIO(b))
    if list(fa.columns) != list(fb.columns) or fa.shape != fb.shape:
        return False
    for column in fa.columns:
        x, y = fa[column], fb[column]
        if pd.api.types.is_float_dtype(x) and pd.api.types.is_float_dtype(y):
            if not np.allclose(x.to_numpy(), y.to_numpy(), rtol=1e-6, atol=1e-9,
                               equal_nan=True):
                return False
        elif not x.equals(y):
            return False
    return True


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("regenerated") / "reports"
    assert main(["report", str(STUDIES_DIR), "-o", str(out)]) == 0
    return _files(out)


def test_committed_report_has_the_same_files(fresh):
    if not COMMITTED.is_dir():
        pytest.fail(f"reports/ is missing; {REGENERATE}")
    committed = _files(COMMITTED)
    missing = sorted(set(fresh) - set(committed))
    extra = sorted(set(committed) - set(fresh))
    assert not missing and not extra, (
        f"reports/ is stale (missing {missing}, no longer written {extra}); {REGENERATE}")


def test_committed_report_is_current(fresh):
    if not COMMITTED.is_dir():
        pytest.fail(f"reports/ is missing; {REGENERATE}")
    committed = _files(COMMITTED)
    same_software = _versions(committed.get("report.md", b"")) == _versions(fresh["report.md"])
    stale = []
    for name, data in sorted(fresh.items()):
        if name not in committed:
            continue
        old = committed[name]
        if same_software:
            if old != data:
                stale.append(name)
        elif name.endswith(".csv"):
            if not _same_csv(old, data):
                stale.append(name)
        elif name.endswith((".html", ".md")) and (_without_versions_and_figures(name, old)
                != _without_versions_and_figures(name, data)):
            stale.append(name)
        # .svg and .png: drawn by the installed matplotlib; compared only with equal versions
    assert not stale, f"reports/ is stale ({', '.join(stale)}); {REGENERATE}"


def test_the_version_tolerant_comparison_still_sees_stale_content(fresh):
    csv = fresh["pooled.csv"]
    assert _same_csv(csv, csv)
    changed = csv.replace(b"0.5", b"0.6", 1)
    assert changed != csv and not _same_csv(csv, changed)
    md = fresh["report.md"]
    other_numpy = re.sub(rb"^\| numpy \| [^|]+ \|$", b"| numpy | 0.0.0 |", md, flags=re.MULTILINE)
    assert other_numpy != md
    assert (_without_versions_and_figures("report.md", other_numpy)
            == _without_versions_and_figures("report.md", md))
    stale_md = md.replace(b"Cong 2024", b"Cong 2023", 1)
    assert (_without_versions_and_figures("report.md", stale_md)
            != _without_versions_and_figures("report.md", md))
    html = fresh["index.html"]
    redrawn = re.sub(rb"<svg\b.*?</svg>", b"<svg>other</svg>", html, flags=re.DOTALL)
    assert (_without_versions_and_figures("index.html", redrawn)
            == _without_versions_and_figures("index.html", html))
