"""`metaview pool` table output: the headline table first, notes a clinician can read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from metaview.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def write(folder: Path, name: str, outcomes: str, arm: str = "arm A", patients: int = 10) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        f"id: {name}\nlabel: Label of {name}\ncitation: Test.\nyear: 2020\narm: {arm}\n"
        f"patients: {patients}\noutcomes:\n{outcomes}")


def test_headline_of_studies_fits_in_40_lines(capsys, root: Path) -> None:
    code, out, _err = run(capsys, "pool", root / "studies")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) <= 40, out
    assert lines[0].startswith("Pooled estimates (random effects, logit scale")
    assert lines[2].split() == ["endpoint", "group", "k", "estimate", "(95%", "CI)",
                                "prediction", "interval", "I²", "τ²"]
    assert lines[3].split()[:8] == ["OS", "12", "mo", "allo-HSCT", "after", "CAR-T",
                                    "failure", "3"]
    assert "59% (38–77)" in lines[3] and "38–77%" in lines[3]
    # no per-study blocks and no analysis across arms by default
    assert "Pooled  " not in out and "Overall" not in out and "together" not in out.split(
        "Notes:")[0]
    assert "pools different arms" not in out


def test_single_study_groups_show_the_study_not_a_pool(capsys, root: Path) -> None:
    _code, out, _err = run(capsys, "pool", root / "studies")
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("OS 12 mo"))
    assert lines[at + 1].split() == ["CAR-T", "pivotal", "trial", "1", "60%", "(51–69)", "1",
                                     "study:", "not", "pooled", "(ZUMA-1)"]


def test_overall_only_on_request_and_with_its_warning(capsys, root: Path) -> None:
    _code, out, _err = run(capsys, "pool", root / "studies", "--endpoint", "OS", "--overall")
    row = next(line for line in out.splitlines() if "all arm groups together" in line)
    assert row.split()[4:7] == ["4", "60%", "(48–70)"]
    assert "this result pools different arms" in out
    assert "Overall (all arm groups together)" in out  # one endpoint: the per-study blocks
    _code, out, _err = run(capsys, "pool", root / "studies", "--endpoint", "OS")
    assert "together" not in out and "Zurko 2023 †" in out
    # JSON keeps the overall analysis
    _code, out, _err = run(capsys, "pool", root / "studies", "--endpoint", "OS",
                           "--format", "json")
    assert [a["group"] for a in json.loads(out)["analyses"]] == [
        "allo-HSCT after CAR-T failure", "CAR-T pivotal trial", None]


def test_notes_name_studies_by_label(capsys, root: Path) -> None:
    for extra in ((), ("--detail",), ("--endpoint", "OS", "--overall")):
        _code, out, _err = run(capsys, "pool", root / "studies", *extra)
        for sid in ("zurko2023", "cong2024", "zuma1", "juliet", "chow2019", "fried2023"):
            assert sid not in out, (extra, sid)
    _code, out, _err = run(capsys, "pool", root / "studies")
    assert ("for: Cong 2024 (OS, PFS 12 mo); Zurko 2023 (OS, PFS, GRFS, NRM, RELAPSE 12 mo)"
            in " ".join(out.split()))


def test_censoring_caveat_only_for_time_to_event(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "s"
    for name, n in (("a", 40), ("b", 60)):
        write(folder, name, f"  - endpoint: ORR\n    estimate: 0.5\n    total: {n}\n"
                            f"    source: T1\n  - endpoint: OS\n    time_months: 12\n"
                            f"    estimate: 0.6\n    total: {n}\n    source: T2\n", patients=n)
    _code, out, _err = run(capsys, "pool", folder, "--format", "json")
    warnings = {a["endpoint"]: a["warnings"] for a in json.loads(out)["analyses"]}
    assert any("approximated" in w and "censoring" in w for w in warnings["OS"])
    assert any("approximated" in w for w in warnings["ORR"])
    assert not any("censoring" in w for w in warnings["ORR"])
    _code, out, _err = run(capsys, "pool", folder)
    for line in out.splitlines():
        if "censoring" in line:
            assert "ORR" not in line


def test_few_studies_with_a_wide_interval_point_to_the_alternatives(capsys,
                                                                      tmp_path: Path) -> None:
    folder = tmp_path / "s"
    write(folder, "a", "  - endpoint: CR\n    count: 1\n    total: 5\n    source: T\n")
    write(folder, "b", "  - endpoint: CR\n    count: 4\n    total: 5\n    source: T\n")
    write(folder, "c", "  - endpoint: ORR\n    count: 40\n    total: 80\n    source: T\n"
                       "  - endpoint: CR\n    count: 3\n    total: 5\n    source: T\n",
          arm="arm B", patients=80)
    for name, count in (("d", 45), ("e", 38), ("f", 50)):
        write(folder, name, f"  - endpoint: ORR\n    count: {count}\n    total: 80\n"
                            "    source: T\n", arm="arm B", patients=80)
    _code, out, _err = run(capsys, "pool", folder)
    pointers = [line for line in out.splitlines() if "--model bayes" in line]
    assert pointers == [line for line in pointers if "--model common" in line]
    assert len(pointers) == 1 and pointers[0].startswith("  CR, arm A: 2 studies, CI ")
    # arm B pools four studies: no such line, however wide its interval
    assert not any("ORR" in line for line in pointers)


def test_skip_invalid_analyses_the_valid_files(capsys, tmp_path: Path, root: Path) -> None:
    folder = tmp_path / "s"
    shutil.copytree(root / "studies", folder)
    (folder / "half.yaml").write_text("id: half\nlabel: Half done\n")
    code, _out, err = run(capsys, "pool", folder)
    assert code == 2 and "half.yaml" in err
    code, out, err = run(capsys, "pool", folder, "--skip-invalid")
    assert code == 0
    assert "OS 12 mo" in out
    lines = err.splitlines()
    assert any(line.startswith(f"error: {folder / 'half.yaml'}:") and "citation: missing"
               in line for line in lines)
    assert lines[-1] == ("note: skipped 1 invalid study file (--skip-invalid); analysing the "
                         "other 6")
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    shutil.copy(folder / "half.yaml", only_bad)
    code, out, err = run(capsys, "pool", only_bad, "--skip-invalid")
    assert code == 2 and out == "" and "citation: missing" in err
