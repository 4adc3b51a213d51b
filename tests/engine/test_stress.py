"""Every model x scale x interval method on the six studies and on degenerate sets: a result
or one clear message, never a traceback and never NaN in the output."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from pool_data import write_studies

from metaview.cli import main

pytestmark = pytest.mark.slow  # every test here takes seconds (-m "not slow" skips them)

DEGENERATE = {
    "all-zero": ([0, 0, 0], [10, 12, 8]),
    "all-events": ([10, 12, 8], [10, 12, 8]),
    "identical": ([3, 3, 3], [10, 10, 10]),
    "one-study": ([4], [9]),
    "n-is-1": ([0, 1, 1], [1, 1, 1]),
    "huge-n": ([0, 5, 100000], [1, 5, 10_000_000]),
    "k2-zero": ([0, 7], [10, 10]),
}
MODELS = ["random", "common", "glmm"]
SCALES = ["logit", "log", "raw", "arcsine", "pft", "cloglog"]
CIS = ["z", "hk", "hk-adhoc", "t"]


def _valid(model: str, scale: str, ci: str) -> bool:
    if model == "glmm":
        return scale == "logit" and ci in ("z", "t")
    return ci != "t"


def _reject_nan(token: str) -> float:
    raise AssertionError(f"{token} in JSON output")


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, root: Path) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("degenerate")
    out = {name: write_studies(base / name, x, n) for name, (x, n) in DEGENERATE.items()}
    out["six-studies"] = root / "studies"
    return out


@pytest.mark.parametrize("data", [*DEGENERATE, "six-studies"])
def test_every_combination(folders: dict[str, Path], data: str,
                           capsys: pytest.CaptureFixture[str]) -> None:
    for model, scale, ci in itertools.product(MODELS, SCALES, CIS):
        code = main(["pool", str(folders[data]), "--model", model, "--scale", scale, "--ci", ci,
                     "--format", "json", "--leave-one-out"])
        out = capsys.readouterr()
        what = f"{data} {model} {scale} {ci}"
        assert "Traceback" not in out.err and "internal error" not in out.err, what
        if not _valid(model, scale, ci):
            assert code == 2 and out.out == "" and out.err.count("\n") == 1, what
            continue
        assert code == 0, f"{what}: {out.err}"
        assert out.err == "", what
        doc = json.loads(out.out, parse_constant=_reject_nan)
        for a in doc["analyses"]:
            if a["k"] >= 1:
                assert a["estimate"] is not None, what
                assert a["ci_low"] <= a["estimate"] <= a["ci_high"], what
            if a["k"] >= 1 and scale in ("logit", "arcsine", "pft", "cloglog"):
                assert 0.0 <= a["ci_low"] and a["ci_high"] <= 1.0, what
