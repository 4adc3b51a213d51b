"""Typos in options and names never change the analysis silently."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from metaview.cli import main
from metaview.commands._endpoints import endpoint_warnings, within_one_edit
from metaview.commands.compare import describe
from metaview.engine.analysis import AnalysisOptions, analyse, compare
from metaview.errors import UsageError
from metaview.io import load_studies

ROOT = Path(__file__).resolve().parent.parent
STUDIES = ROOT / "studies"


@pytest.fixture
def typo(tmp_path: Path) -> Path:
    """The repository's studies with ZUMA-1's OS mistyped as OSS."""
    for p in STUDIES.glob("*.yaml"):
        shutil.copy(p, tmp_path / p.name)
    path = tmp_path / "zuma1.yaml"
    text = path.read_text()
    assert "endpoint: OS\n" in text
    path.write_text(text.replace("endpoint: OS\n", "endpoint: OSS\n", 1))
    return tmp_path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# --------------------------------------------------------------------------- endpoint typos


def test_within_one_edit() -> None:
    assert within_one_edit("OSS", "OS") and within_one_edit("OS", "OSS")
    assert within_one_edit("PFS", "PSF") and within_one_edit("NRM", "NRN")
    assert not within_one_edit("OS", "OS") and not within_one_edit("OS", "PFS")
    assert not within_one_edit("ORR", "OS")  # ORR -> OR -> OS: two edits
    assert not within_one_edit("PFS", "SPF")


def test_validate_warns_about_a_mistyped_endpoint(typo: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(typo)]) == 0
    out, err = capsys.readouterr()
    line = _line_of(typo / "zuma1.yaml", "endpoint: OSS")
    assert err.splitlines() == [
        (f"warning: {typo / 'zuma1.yaml'}:{line}: endpoint OSS is used by this study only and "
         "is one letter away from OS (used by 4 other studies); did you mean OS? (as written, "
         "this study is left out of the OS analyses)")]
    assert "6 study files valid, 1 warning" in out


def test_validate_strict_fails_on_warnings(typo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--strict", str(typo)]) == 2
    err = capsys.readouterr().err
    assert "did you mean OS?" in err and "error: 1 warning with --strict" in err
    assert main(["validate", "--strict", str(STUDIES)]) == 0


def test_the_repository_studies_raise_no_warning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(STUDIES)]) == 0
    assert capsys.readouterr().err == ""  # RFS and GRFS are documented, though one edit apart


def test_an_undocumented_endpoint_of_one_study_is_reported(typo: Path) -> None:
    path = typo / "fried2023.yaml"
    path.write_text(path.read_text().replace("endpoint: OS\n", "endpoint: SURVIVAL\n", 1))
    found = endpoint_warnings(load_studies(typo))
    assert any("endpoint SURVIVAL is used by this study only and is not one of the "
               "documented endpoints" in w for w in found)


def test_pool_repeats_the_warning_on_stderr_and_in_json(typo: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pool", str(typo), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert len(doc["warnings"]) == 1 and "did you mean OS?" in doc["warnings"][0]
    assert err.splitlines() == [f"warning: {doc['warnings'][0]}"]
    assert main(["pool", str(STUDIES), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


# --------------------------------------------------------------------------- options


def test_group_by_a_field_no_study_has_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pool", str(STUDIES), "--group-by", "desing"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --group-by desing: no study has this field (did you mean "
                          "design?") and err.count("\n") == 1
    with pytest.raises(UsageError, match="no study has this field"):
        analyse(load_studies(STUDIES), AnalysisOptions.create(group_by="nope"))
    assert main(["pool", str(STUDIES), "--group-by", "design", "--endpoint", "OS"]) == 0


def test_compare_exclude_unknown_or_index_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(STUDIES), "--exclude", "zuma"]) == 2
    assert "error: --exclude zuma: no study has this id" in capsys.readouterr().err
    assert main(["compare", str(STUDIES), "--exclude", "cong2024"]) == 2
    assert "error: --exclude cong2024: this is the index study" in capsys.readouterr().err
    studies = load_studies(STUDIES)
    with pytest.raises(UsageError, match="this is the index study"):
        compare(studies, "cong2024", AnalysisOptions.create(exclude=["cong2024"]))


def test_forest_with_the_index_excluded_draws_no_comparison(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["forest", str(STUDIES), "-o", str(tmp_path / "f.svg"),
                 "--exclude", "cong2024"]) == 0


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_endpoint_is_a_usage_error(value: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pool", str(STUDIES), "--endpoint", value]) == 2
    assert "an endpoint token cannot be empty" in capsys.readouterr().err


def test_one_group_still_lists_the_studies_not_pooled(capsys: pytest.CaptureFixture[str]) -> None:
    # every study with OS at 12 months is of one arm once ZUMA-1 is left out
    assert main(["pool", str(STUDIES), "--endpoint", "OS", "--exclude", "zuma1"]) == 0
    out = capsys.readouterr().out
    assert "Not pooled:" in out
    assert "Fried 2023: OS at 12 months not reported (reports OS at 24 months)" in out
    assert "ZUMA-1: excluded with --exclude" in out
    assert "JULIET: OS not reported" in out


@pytest.mark.parametrize(("level", "verdict"), [(0.95, "no evidence of a difference"),
                                                (0.5, "evidence of a difference")])
def test_compare_verdict_uses_the_level(level: float, verdict: str) -> None:
    studies = load_studies(STUDIES)
    found = compare(studies, "cong2024", AnalysisOptions.create(level=level, endpoints=["OS"]))
    c = found[0]
    assert 1 - 0.95 < c.pvalue < 1 - 0.5  # p between the two thresholds
    text = describe(c)
    assert f"In words: {verdict} between" in text
    assert f"at the {1 - level:.2g} level" in text


# --------------------------------------------------------------------------- Python API


@pytest.mark.parametrize("kwargs", [{"endpoints": "OS"}, {"exclude": "zuma1"},
                                    {"exclude": None}, {"endpoints": [b"OS"]},
                                    {"exclude": [1]}, {"group_by": 3},
                                    {"endpoints": b"OS"}])
def test_options_refuse_strings_where_lists_are_meant(kwargs: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(TypeError, match="must"):
        AnalysisOptions.create(**kwargs)


def test_options_take_lists_and_tuples_and_none() -> None:
    assert AnalysisOptions.create(endpoints=["os"], exclude=("zuma1",)).endpoints == ("OS",)
    assert AnalysisOptions.create(endpoints=None).endpoints is None


@pytest.mark.parametrize("paths", [b"studies", None, bytearray(b"studies")])
def test_load_studies_refuses_bytes_and_none(paths: object) -> None:
    with pytest.raises(TypeError, match="paths must be a path"):
        load_studies(paths)  # type: ignore[arg-type]


def test_analyse_refuses_what_is_not_a_list_of_studies() -> None:
    studies = load_studies(STUDIES)
    with pytest.raises(TypeError, match="studies must be a list of Study"):
        analyse(studies[0], AnalysisOptions.create())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="studies must be a list of Study"):
        analyse("studies", AnalysisOptions.create())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="options must be an AnalysisOptions"):
        analyse(studies, {"level": 0.9})  # type: ignore[arg-type]
