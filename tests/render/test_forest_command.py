"""`metaview forest` on the project's study files: defaults, overwrite rules, errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metaview.cli import main

ROOT = Path(__file__).resolve().parent.parent.parent
STUDIES = ROOT / "studies"

pytestmark = pytest.mark.skipif(not (STUDIES / "cong2024.yaml").exists(),
                                reason="the project's study files are not there")


def run(*argv: str) -> int:
    return main(["forest", *argv])


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


def test_writes_the_figure_with_os_and_pfs_at_12_months_by_default(tmp_path, capsys):
    out = tmp_path / "forest.svg"
    assert run(str(STUDIES), "-o", str(out)) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    svg = out.read_text(encoding="utf-8")
    assert "Overall survival at 12 months" in svg
    assert "Progression-free survival at 12 months" in svg
    assert "Complete response" not in svg
    assert ">Literature<" in svg and "index)<" in svg  # wrapped in the label column
    assert ">All, with index<" in svg
    assert ">Cong 2024<" in svg
    assert "not reported at 12 mo (OS 45% at 24 mo)" in svg  # fried2023


def test_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "forest.png"
    out.write_bytes(b"keep me")
    assert run(str(STUDIES), "-o", str(out)) == 2
    err = one_error_line(capsys)
    assert "exists" in err and "--force" in err
    assert out.read_bytes() == b"keep me"
    assert run(str(STUDIES), "-o", str(out), "--force") == 0
    assert out.read_bytes().startswith(b"\x89PNG")


def test_unknown_format(tmp_path, capsys):
    assert run(str(STUDIES), "-o", str(tmp_path / "forest.jpg")) == 2
    err = one_error_line(capsys)
    assert ".png, .svg, .pdf" in err
    assert not list(tmp_path.iterdir())


def test_missing_output_folder(tmp_path, capsys):
    assert run(str(STUDIES), "-o", str(tmp_path / "nowhere" / "forest.pdf")) == 2
    assert "does not exist" in one_error_line(capsys)


def test_unknown_index(tmp_path, capsys):
    assert run(str(STUDIES), "-o", str(tmp_path / "f.svg"), "--index", "nobody") == 2
    assert "--index nobody" in one_error_line(capsys)


def test_no_group_and_other_options(tmp_path):
    out = tmp_path / "f.svg"
    assert run(str(STUDIES), "-o", str(out), "--no-group", "--endpoint", "OS",
               "--model", "common", "--scale", "cloglog") == 0
    svg = out.read_text(encoding="utf-8")
    assert ">CAR-T pivotal trial<" not in svg  # no group headers
    assert "Progression-free survival" not in svg
    assert "common effect, cloglog scale" in svg


def test_without_an_index_study(tmp_path):
    folder = tmp_path / "studies"
    folder.mkdir()
    for name in ("zuma1.yaml", "zurko2023.yaml", "chow2019.yaml"):
        shutil.copy(STUDIES / name, folder / name)
    out = tmp_path / "f.svg"
    assert run(str(folder), "-o", str(out), "--title", "No index") == 0
    svg = out.read_text(encoding="utf-8")
    assert ">(without index)<" not in svg and ">Pooled<" in svg
    assert ">No index<" in svg


@pytest.mark.slow
def test_same_svg_bytes_across_runs(tmp_path):
    outputs = []
    for seed in ("0", "12345"):
        out = tmp_path / f"f{seed}.svg"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-m", "metaview", "forest", str(STUDIES), "-o", str(out)],
                       check=True, cwd=ROOT, env=env, capture_output=True)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


COMMITTED = ROOT / "reports" / "forest-12m.svg"
REGENERATE = ("metaview forest studies/ --endpoint OS --endpoint PFS --time 12 "
              "-o reports/forest-12m.{png,svg,pdf} --force")


@pytest.mark.skipif(not COMMITTED.exists(), reason="reports/forest-12m.svg is not there")
def test_committed_figure_is_current(tmp_path):
    out = tmp_path / "forest-12m.svg"
    assert run(str(STUDIES), "--endpoint", "OS", "--endpoint", "PFS", "--time", "12",
               "-o", str(out)) == 0
    # as the committed report: the SVG as XML, numbers to a tolerance (report_compare)
    from report_compare import same_svg

    assert same_svg(COMMITTED.read_text("utf-8"), out.read_text("utf-8")), (
        f"out of date; run: {REGENERATE}")
