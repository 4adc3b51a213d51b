"""Writing the report: the files, byte-identical re-runs, atomic replacement, the command."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC
from pathlib import Path

import pytest
from report_data import STUDIES_DIR, six_studies

from metaview.cli import main
from metaview.engine.analysis import AnalysisOptions
from metaview.errors import OutputError
from metaview.report import build_report, report_files, write_report
from metaview.report import writer as writer_module

pytestmark = pytest.mark.slow  # every test here takes seconds (-m "not slow" skips them)

EXPECTED = {"index.html", "report.md", "studies.csv", "pooled.csv", "comparison.csv",
            "provenance.csv", "prior-sensitivity.csv"}


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --------------------------------------------------------------------------- contents


def test_the_report_has_every_file(real_files):
    assert EXPECTED <= set(real_files)
    figures = sorted(n for n in real_files if n.startswith(("forest-", "posterior.")))
    stems = {n.rsplit(".", 1)[0] for n in figures}
    assert {"forest-os-12m", "forest-pfs-12m", "posterior"} <= stems
    for stem in stems:  # every figure as SVG and PNG
        assert real_files[f"{stem}.svg"].lstrip().startswith(b"<?xml")
        assert real_files[f"{stem}.png"].startswith(b"\x89PNG\r\n\x1a\n")
    html = real_files["index.html"].decode()
    assert html.count("<svg") == len(stems)  # inline, one per figure
    md = real_files["report.md"].decode()
    for stem in stems:
        assert f"]({stem}.png)" in md


def test_index_html_is_self_contained(real_files):
    import re

    html = real_files["index.html"].decode()
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<link" not in lowered and "@import" not in lowered
    assert re.search(r"\ssrc\s*=", lowered) is None
    assert "url(http" not in lowered and "url(//" not in lowered
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    # SVG ids are unique across the inlined figures.
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for ref in set(re.findall(r'url\(#([^)]+)\)', html)):
        assert ref in ids, ref


def test_rebuilding_gives_byte_identical_files(real_report, real_files):
    from metaview.io import find_study_files, load_studies

    files = find_study_files([STUDIES_DIR])
    again = report_files(build_report(load_studies(files), AnalysisOptions.create(),
                                      inputs=files))
    assert again.keys() == real_files.keys()
    for name in real_files:
        assert again[name] == real_files[name], name


def test_png_and_svg_of_one_figure_are_deterministic(real_report):
    from metaview.render.forest import forest_plot
    from metaview.report.figures import figure_files

    a = real_report.analyses[0]
    first = figure_files(forest_plot(a.results, comparisons=a.comparisons,
                                     studies=real_report.studies))
    second = figure_files(forest_plot(a.results, comparisons=a.comparisons,
                                      studies=real_report.studies))
    assert first.png == second.png and first.svg == second.svg
    assert b"Date" not in first.png and "<dc:date>" not in first.svg


def test_timestamp_only_when_asked(real_files):
    from datetime import datetime

    assert b"generated 20" not in real_files["index.html"]
    report = build_report(six_studies(), AnalysisOptions.create(), figures=False,
                          timestamp=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    html = report_files(report)["index.html"].decode()
    assert "generated 2025-01-02T03:04:05+00:00" in html


def test_inputs_hash_is_sha256_of_the_files_in_name_order(real_report, real_files):
    paths = sorted(STUDIES_DIR.glob("*.yaml"), key=lambda p: p.name)
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in paths)).hexdigest()
    assert real_report.inputs_sha256 == digest
    assert [f.name for f in real_report.inputs] == [p.name for p in paths]
    md = real_files["report.md"].decode()
    assert digest in md
    for p in paths:
        assert hashlib.sha256(p.read_bytes()).hexdigest() in md


def test_study_text_stays_text_inside_the_drawn_figures():
    from report_data import hostile_study

    report = build_report(six_studies() + [hostile_study()], AnalysisOptions.create(
        endpoints=["OS"]))
    files = report_files(report)
    html = files["index.html"].decode().lower()
    svg = files["forest-os-12m.svg"].decode().lower()
    for text in (html, svg):
        assert "<script" not in text and "<img" not in text and "<iframe" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg


# --------------------------------------------------------------------------- writing


@pytest.fixture
def small_report():
    return build_report(six_studies(), AnalysisOptions.create(), figures=False)


def test_writes_into_a_new_folder(tmp_path, small_report):
    out = tmp_path / "deep" / "report"
    written = write_report(small_report, out)
    assert {p.name for p in written} == EXPECTED
    assert snapshot(out) == report_files(small_report)
    assert [p.name for p in tmp_path.joinpath("deep").iterdir()] == ["report"]  # no leftovers


def test_rewriting_keeps_files_it_did_not_write(tmp_path, small_report):
    out = tmp_path / "reports"
    out.mkdir()
    (out / "forest-12m.png").write_bytes(b"owned by the forest command")
    (out / "index.html").write_text("old report")
    write_report(small_report, out)
    assert (out / "forest-12m.png").read_bytes() == b"owned by the forest command"
    assert (out / "index.html").read_bytes() == report_files(small_report)["index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def _existing_report(tmp_path: Path, small_report) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "reports"
    write_report(small_report, out)
    (out / "notes.txt").write_text("not the report's")
    (out / "index.html").write_text("the previous report")
    return out, snapshot(out)


def test_a_failure_while_writing_leaves_the_existing_report_untouched(tmp_path, small_report,
                                                                      monkeypatch):
    out, before = _existing_report(tmp_path, small_report)
    calls = []
    real = writer_module.write_file

    def flaky(path, data):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(writer_module, "write_file", flaky)
    with pytest.raises(OutputError, match="No space left on device"):
        write_report(small_report, out)
    assert len(calls) == 3
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]  # temp folder removed


def test_a_failure_while_swapping_restores_the_previous_report(tmp_path, small_report,
                                                              monkeypatch):
    out, before = _existing_report(tmp_path, small_report)
    calls = []
    real = os.replace

    def flaky(src, dst):
        calls.append((src, dst))
        if len(calls) == 5:  # in the middle of moving the new files in
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(writer_module.os, "replace", flaky)
    with pytest.raises(OutputError, match="previous report was restored"):
        write_report(small_report, out)
    monkeypatch.setattr(writer_module.os, "replace", real)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]


def test_a_failure_in_a_new_folder_leaves_nothing(tmp_path, small_report, monkeypatch):
    def broken(path, data):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(writer_module, "write_file", broken)
    with pytest.raises(OutputError):
        write_report(small_report, tmp_path / "reports")
    assert list(tmp_path.iterdir()) == []


def test_output_path_that_is_a_file_is_an_error(tmp_path, small_report):
    target = tmp_path / "report.txt"
    target.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        write_report(small_report, target)
    assert target.read_text() == "x"


# --------------------------------------------------------------------------- command line


def test_command_writes_the_report(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["report", str(STUDIES_DIR), "-o", str(out), "--endpoint", "OS"])
    assert code == 0
    assert EXPECTED <= {p.name for p in out.iterdir()}
    assert (out / "forest-os-12m.svg").exists() and (out / "forest-os-12m.png").exists()
    assert not (out / "forest-pfs-12m.svg").exists()
    assert "wrote" in capsys.readouterr().err


def test_command_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(STUDIES_DIR), "-o", str(tmp_path / "x"), "--index", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --index nope") and err.count("\n") == 1
    assert main(["report", str(STUDIES_DIR), "-o", str(tmp_path / "y"), "--scale", "bad"]) == 2
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    try:
        code = main(["report", str(STUDIES_DIR)])  # -o is required
    except SystemExit as exc:
        code = exc.code  # type: ignore[assignment]
    assert code == 2
