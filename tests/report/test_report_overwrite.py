"""`metaview report` replaces an earlier report, but not files it did not write."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_data import STUDIES_DIR

from metaview.cli import main

pytestmark = pytest.mark.slow  # every test here takes seconds (-m "not slow" skips them)


def test_refuses_to_replace_foreign_files(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "report.md").write_text("my own notes\n")
    assert main(["report", str(STUDIES_DIR), "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not an earlier metaview report (report.md)" in err and "--force" in err
    assert (tmp_path / "report.md").read_text() == "my own notes\n"
    assert not (tmp_path / "index.html").exists()


def test_replaces_its_own_report_and_with_force(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(STUDIES_DIR), "-o", str(tmp_path), "--no-group"]) == 0
    first = (tmp_path / "report.md").read_bytes()
    assert main(["report", str(STUDIES_DIR), "-o", str(tmp_path)]) == 0  # an earlier report
    assert (tmp_path / "report.md").read_bytes() != first
    (tmp_path / "index.html").write_text("someone else's page")
    assert main(["report", str(STUDIES_DIR), "-o", str(tmp_path)]) == 2
    assert main(["report", str(STUDIES_DIR), "-o", str(tmp_path), "--force"]) == 0
    assert b"metaview" in (tmp_path / "index.html").read_bytes()


def test_interrupt_while_swapping_restores_the_previous_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from metaview.report import writer

    writer.write_files({"a.txt": b"old a", "b.txt": b"old b"}, tmp_path)
    real_replace = os.replace
    calls = {"n": 0}

    def interrupted(src, dst):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:  # after a.txt went in, while b.txt is being swapped
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(writer.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        writer.write_files({"a.txt": b"new a", "b.txt": b"new b"}, tmp_path)
    monkeypatch.setattr(writer.os, "replace", real_replace)
    assert (tmp_path / "a.txt").read_bytes() == b"old a"
    assert (tmp_path / "b.txt").read_bytes() == b"old b"
