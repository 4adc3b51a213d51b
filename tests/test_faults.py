"""Faults around the outputs: signals while a report is swapped in, read-only parents, files
replaced by FIFOs or devices, the bytes a report hashes, and simulate's memory."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from metaview.cli import main
from metaview.errors import OutputError, StudyFileError
from metaview.io import load_studies, loader
from metaview.report import writer

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "studies"
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]

OLD = {f"{c}.txt": f"old {c}".encode() for c in "abcdef"}
NEW = {f"{c}.txt": f"new {c}".encode() for c in "abcdef"}


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- signals


@pytest.fixture(autouse=True)
def default_signal_handlers():  # type: ignore[no-untyped-def]
    """Python's own handlers for the signals under test, whatever the test runner inherited
    (a runner started in the background by a shell has SIGINT ignored)."""
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    for s, handler in previous.items():
        signal.signal(s, handler)


def _default_signals_in_child() -> None:
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
@pytest.mark.parametrize("at_call", [1, 2, 3, 6, 11])
def test_a_signal_during_the_swap_waits_until_every_file_is_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, at_call: int) -> None:
    writer.write_files(OLD, tmp_path)
    real_replace = os.replace
    calls = {"n": 0}

    def signalled(src, dst):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        result = real_replace(src, dst)
        if calls["n"] == at_call:  # right after a rename: the worst moment
            os.kill(os.getpid(), signum)
        return result

    monkeypatch.setattr(writer.os, "replace", signalled)
    with pytest.raises(writer.Interrupted) as info:
        writer.write_files(NEW, tmp_path)
    assert info.value.signum == signum and info.value.exit_code == 128 + signum
    assert "after the report was complete: all 6 files" in info.value.message
    assert contents(tmp_path) == NEW
    assert hidden(tmp_path) == []
    assert signal.getsignal(signum) is not None  # the handler was put back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_while_writing_the_new_files_changes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    writer.write_files(OLD, tmp_path)
    real_write = writer.write_file
    calls = {"n": 0}

    def signalled(path, data):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        real_write(path, data)
        if calls["n"] == 3:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(writer, "write_file", signalled)
    with pytest.raises(writer.Interrupted) as info:
        writer.write_files(NEW, tmp_path)
    assert info.value.message == f"interrupted by {signal.Signals(signum).name}; " \
                                 "no output was changed"
    assert contents(tmp_path) == OLD
    assert hidden(tmp_path) == []


def test_a_signal_into_a_new_folder_leaves_no_folder_behind(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = writer.write_file

    def signalled(path, data):  # type: ignore[no-untyped-def]
        real_write(path, data)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(writer, "write_file", signalled)
    with pytest.raises(writer.Interrupted):
        writer.write_files(NEW, tmp_path / "report")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_ignored_signal_stays_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer.write_files(OLD, tmp_path)
    real_replace = os.replace

    def signalled(src, dst):  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGHUP)
        return real_replace(src, dst)

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        monkeypatch.setattr(writer.os, "replace", signalled)
        assert len(writer.write_files(NEW, tmp_path)) == 6
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert contents(tmp_path) == NEW


def test_an_exception_right_after_a_rename_puts_that_file_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer.write_files(OLD, tmp_path)
    real_replace = os.replace
    calls = {"n": 0}

    def failing(src, dst):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        result = real_replace(src, dst)
        if calls["n"] == 3:  # c.txt's old file has just been moved aside
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(writer.os, "replace", failing)
    with pytest.raises(KeyboardInterrupt):
        writer.write_files(NEW, tmp_path)
    monkeypatch.setattr(writer.os, "replace", real_replace)
    assert contents(tmp_path) == OLD
    assert hidden(tmp_path) == []


_CHILD = textwrap.dedent("""
    import os, signal, sys
    from metaview.report import writer
    from metaview import cli
    real, real_swap = os.replace, writer._swap_in
    calls = {"n": 0, "on": False}
    def replace(src, dst):
        real(src, dst)
        calls["n"] += calls["on"]
        if calls["n"] == int(sys.argv[2]):
            os.kill(os.getpid(), int(sys.argv[3]))
    def swap(*args):
        calls["on"] = True
        real_swap(*args)
    writer.os.replace = replace
    writer._swap_in = swap
    sys.exit(cli.main(["report", sys.argv[4], "-o", sys.argv[1], "--no-group"]))
""")


@pytest.mark.slow
@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_the_command_survives_a_signal_mid_swap(tmp_path: Path, signum: int) -> None:
    out = tmp_path / "out"
    assert main(["report", str(STUDIES), "-o", str(out), "--no-group"]) == 0
    before = contents(out)
    (out / "report.md").write_bytes(b"<!-- earlier -->" + before["report.md"])
    child = subprocess.run([sys.executable, "-c", _CHILD, str(out), "5", str(signum),
                            str(STUDIES)], capture_output=True, text=True, timeout=600, check=False,
                           env={**os.environ, "MPLBACKEND": "Agg"},
                           preexec_fn=_default_signals_in_child)
    name = signal.Signals(signum).name
    assert child.returncode == 128 + signum, child.stderr
    assert f"error: interrupted by {name} after the report was complete" in child.stderr
    assert "no output was changed" not in child.stderr
    assert contents(out) == before
    assert hidden(out) == []


# --------------------------------------------------------------------------- where to stage


def _read_only_outside(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating anything outside ``folder`` fails as under a read-only parent (tests may run
    as root, who is not stopped by permissions)."""
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, dir=None, **kwargs):  # type: ignore[no-untyped-def]
        if dir is None or Path(dir).resolve() != folder.resolve():
            raise PermissionError(13, "Permission denied")
        return real_mkdtemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(writer.tempfile, "mkdtemp", mkdtemp)


def test_writes_into_an_existing_folder_under_a_read_only_parent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "mnt"
    target.mkdir()
    _read_only_outside(target, monkeypatch)
    writer.write_files(OLD, target)
    writer.write_files(NEW, target)
    assert contents(target) == NEW and hidden(target) == []


def test_writes_into_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _read_only_outside(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)
    writer.write_files(NEW, ".")
    assert contents(tmp_path) == NEW and hidden(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root is not stopped by permissions")
def test_writes_into_a_folder_whose_parent_is_read_only(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    tmp_path.chmod(0o555)
    try:
        writer.write_files(NEW, target)
    finally:
        tmp_path.chmod(0o755)
    assert contents(target) == NEW


def test_a_new_folder_under_a_read_only_parent_is_a_clear_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _read_only_outside(tmp_path / "elsewhere", monkeypatch)
    with pytest.raises(OutputError, match="cannot create the report folder"):
        writer.write_files(NEW, tmp_path / "new")


# --------------------------------------------------------------------------- hashing


@pytest.mark.slow
def test_the_report_hashes_the_bytes_the_loader_read(tmp_path: Path) -> None:
    from metaview.engine.analysis import AnalysisOptions
    from metaview.report import build_report

    studies = load_studies(STUDIES)
    for s in studies:
        data = Path(s.path).read_bytes()
        assert s.file_sha256 == hashlib.sha256(data).hexdigest()
        assert s.file_bytes == len(data)
    report = build_report(studies, AnalysisOptions.create(), figures=False)
    assert {f.name: f.sha256 for f in report.inputs} == {
        Path(s.path).name: s.file_sha256 for s in studies}


@pytest.mark.slow
def test_a_study_file_edited_after_loading_is_not_hashed(tmp_path: Path) -> None:
    from metaview.engine.analysis import AnalysisOptions
    from metaview.report import build_report

    for p in STUDIES.glob("*.yaml"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    studies = load_studies(tmp_path)
    with (tmp_path / "zuma1.yaml").open("a") as f:
        f.write("# edited\n")
    with pytest.raises(OutputError, match="zuma1.yaml: the file changed after it was analysed"):
        build_report(studies, AnalysisOptions.create(), figures=False)


# --------------------------------------------------------------------------- FIFOs, devices


def _scanned_then_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace) -> Path:  # type: ignore[no-untyped-def]
    for p in STUDIES.glob("*.yaml"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    found = loader._find([tmp_path])
    target = tmp_path / "zuma1.yaml"
    target.unlink()
    replace(target)
    monkeypatch.setattr(loader, "_find", lambda paths: found)  # as scanned before
    return target


def _load_without_hanging(folder: Path, fifo: Path | None = None) -> BaseException | None:
    outcome: dict[str, BaseException | None] = {"exc": None}

    def load() -> None:
        try:
            load_studies(folder)
        except BaseException as exc:  # noqa: BLE001
            outcome["exc"] = exc

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(120)
    if t.is_alive() and fifo is not None:  # unblock the reader before failing
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        t.join(10)
        pytest.fail("loading blocked on a FIFO")
    assert not t.is_alive()
    return outcome["exc"]


def test_a_file_replaced_by_a_fifo_after_the_scan_does_not_block(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = _scanned_then_replaced(tmp_path, monkeypatch, os.mkfifo)
    exc = _load_without_hanging(tmp_path, fifo)
    assert isinstance(exc, StudyFileError)
    assert [str(p) for p in exc.problems] == [
        (f"{fifo}: is not a regular file: it was replaced after the folder was read "
         "(remove it, or put the study file back)")]


def test_a_file_replaced_by_a_device_after_the_scan_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link = _scanned_then_replaced(tmp_path, monkeypatch,
                                  lambda p: os.symlink("/dev/zero", p))
    exc = _load_without_hanging(tmp_path)
    assert isinstance(exc, StudyFileError)
    assert len(exc.problems) == 1 and "is not a regular file" in str(exc.problems[0])
    assert exc.problems[0].file == str(link)


def test_read_study_bytes_checks_the_open_handle(tmp_path: Path) -> None:
    fifo = tmp_path / "x.yaml"
    os.mkfifo(fifo)
    with pytest.raises(loader.NotRegularFile):
        loader.read_study_bytes(fifo)
    (tmp_path / "y.yaml").write_bytes(b"id: y\n")
    assert loader.read_study_bytes(tmp_path / "y.yaml") == b"id: y\n"


# --------------------------------------------------------------------------- simulate


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_chunked_draws_are_the_unchunked_draws(chunk: int) -> None:
    from metaview.choices import Scale
    from metaview.engine.simulate import _count_chunks, simulate_counts

    sizes = np.array([10, 61, 101, 115], dtype=np.int64)
    for scale in (Scale.LOGIT, Scale.RAW):
        whole, clipped = simulate_counts(sizes, theta=0.4 if scale is Scale.RAW else -0.3,
                                         tau2=0.2, scale=scale, replicates=333,
                                         rng=np.random.default_rng(2024))
        parts = list(_count_chunks(sizes, theta=0.4 if scale is Scale.RAW else -0.3, tau2=0.2,
                                   scale=scale, replicates=333, chunk=chunk, seed=2024))
        assert [p[0] for p in parts] == list(range(0, 333, chunk))
        np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), whole)
        assert sum(p[2] for p in parts) == clipped


@pytest.mark.parametrize("scale", ["logit", "raw", "pft"])
@pytest.mark.slow
def test_coverage_does_not_depend_on_the_chunk(scale: str) -> None:
    from metaview.engine.simulate import coverage_study

    theta = {"logit": -0.2, "raw": 0.45, "pft": 0.75}[scale]
    args = {"theta": theta, "tau2": 0.05 if scale != "raw" else 0.01, "scale": scale,
            "replicates": 240, "seed": 5}
    one = coverage_study([10, 61, 101, 115], chunk=240, **args).to_dict()
    for chunk in (1, 17, 100):
        other = coverage_study([10, 61, 101, 115], chunk=chunk, **args).to_dict()
        assert _widthless(other) == _widthless(one)  # same draws, same counts
        for a, b in zip(other["methods"], one["methods"], strict=True):
            # REML is iterated per batch of fits: the last digits may differ
            assert a["mean_width"] == pytest.approx(b["mean_width"], rel=1e-10)


def _widthless(doc: dict) -> dict:  # type: ignore[type-arg]
    return doc | {"methods": [m | {"mean_width": None} for m in doc["methods"]]}


@pytest.mark.slow
def test_coverage_with_glmm_does_not_depend_on_the_chunk() -> None:
    from metaview.engine.simulate import coverage_study

    args = {"theta": -0.2, "tau2": 0.1, "replicates": 12, "seed": 3, "with_glmm": True,
            "glmm_replicates": 5}
    one = coverage_study([10, 61, 101], chunk=12, **args)
    other = coverage_study([10, 61, 101], chunk=2, **args)
    assert _widthless(other.to_dict()) == _widthless(one.to_dict())
    assert other.methods[-1].mean_width == pytest.approx(one.methods[-1].mean_width, rel=1e-10)
    assert one.methods[-1].method == "glmm" and one.methods[-1].replicates == 5


def test_exact_sum_is_exact_in_any_grouping() -> None:
    from fractions import Fraction

    from metaview.engine.simulate import _ExactSum

    rng = np.random.default_rng(1)
    values = np.concatenate([rng.random(500) * 10.0 ** rng.integers(-300, 300, 500),
                             -rng.random(100), [5e-324, 1e308, -1e308, 0.0]])
    exact = sum(Fraction(float(v)) for v in values)
    for split in (1, 3, 250, values.size):
        s = _ExactSum()
        for i in range(0, values.size, split):
            s.add(values[i:i + split])
        assert s.mean(values.size) == float(exact / values.size)


@pytest.mark.slow
def test_simulate_memory_is_bounded_by_the_chunk() -> None:
    from metaview.engine.simulate import coverage_study

    tracemalloc.start()
    try:
        res = coverage_study([20, 40, 60], theta=0.0, tau2=0.1, tau2_method="DL",
                             methods=("z",), replicates=1_000_000, seed=1, chunk=10_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.methods[0].replicates == 1_000_000
    # one million replicates x 3 studies drawn at once would need 24 MB per array
    assert peak < 20 * 1024 * 1024, peak


# --------------------------------------------------------------------------- the environment


def _metaview(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "metaview"
    prefix = str(exe) if exe.exists() else f"{sys.executable} -m metaview"
    return subprocess.run(["sh", "-c", f"{prefix} {command}"], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env={**os.environ, **env}, check=False)


@pytest.mark.parametrize("command", ["list studies", "pool studies --format json",
                                     "validate studies"])
@pytest.mark.parametrize(("redirect", "reason"), [(">&-", "Bad file descriptor|it is closed"),
                                                  ("> /dev/full", "No space left on device")])
def test_stdout_closed_or_full_is_one_clear_line(command: str, redirect: str,
                                                 reason: str) -> None:
    import re

    if redirect == "> /dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    done = _metaview(f"{command} {redirect}")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: cannot write to standard output: ")
    assert re.search(reason, lines[0]) and "internal error" not in lines[0]


def test_an_encoding_that_cannot_print_falls_back_to_ascii() -> None:
    exe = Path(sys.executable).parent / "metaview"
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "metaview"]
    done = subprocess.run([*command, "pool", "studies"], capture_output=True, timeout=600,
                          cwd=ROOT, env={**os.environ, "PYTHONIOENCODING": "latin-1"},
                          check=False)
    assert done.returncode == 0, done.stderr
    assert b"internal error" not in done.stderr
    utf8 = _metaview("pool studies")
    assert "\u2013" in utf8.stdout and "\u03c4" in utf8.stdout  # something needs replacing
    expected = utf8.stdout.replace("\u2013", "-").replace("\u03c4", "tau").replace("\u2020", "+")
    assert done.stdout.decode("latin-1") == expected  # latin-1 keeps what it can, e.g. ²


def test_ascii_replacements() -> None:
    import codecs

    import metaview.cli  # noqa: F401 - registers the error handler

    text = "τ² – 5 ≥ 3, Zürich, 北京"
    assert codecs.encode(text, "ascii", "metaview-ascii") == b"tau^2 - 5 >= 3, Zurich, ??"
    assert codecs.encode(text, "latin-1", "metaview-ascii") == \
        "tau² - 5 >= 3, Zürich, ??".encode("latin-1")


@pytest.mark.slow
def test_names_too_long_are_user_errors(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    long = tmp_path / ("x" * 300)
    for argv in (["report", str(STUDIES), "-o", str(long)],
                 ["report", str(STUDIES), "-o", str(long / "sub")],
                 ["forest", str(STUDIES), "-o", f"{long}.png"],
                 ["new", "abc", "--dir", str(long)],
                 ["list", str(long / "a.yaml")]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: "), err
        assert "internal error" not in err and ("too long" in err or "File name" in err), err
    assert list(tmp_path.iterdir()) == []
