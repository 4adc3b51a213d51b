"""Forest plot: the figure shows what the pooled results say, lays out cleanly, and saves
deterministically with text kept as text."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zlib
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from forest_data import ALLO, LONG_LABEL, PIVOTAL, many_studies, outcome, study
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.text import Text

from metaview import atomic
from metaview.engine.analysis import AnalysisOptions, analyse, compare
from metaview.errors import OutputError, UsageError
from metaview.render import forest
from metaview.render import format as fmt
from metaview.render.forest import element_id, forest_plot, save_figure

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def draw(studies, *, endpoints=("OS", "PFS"), time=12, index="cong2024", width=None, **opts):
    """The forest plot at its natural width (every column) unless ``width`` is given."""
    options = AnalysisOptions.create(endpoints=list(endpoints), time_months=time, **opts)
    results = analyse(studies, options)
    comparisons = compare(studies, index, options) if index else []
    fig = forest_plot(results, comparisons=comparisons, studies=studies, width=width)
    return fig, results, comparisons


def by_gid(fig: Figure, gid: str):
    found = fig.findobj(lambda a: a.get_gid() == gid)
    assert len(found) == 1, f"{gid}: {len(found)} elements"
    return found[0]


def texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def flat(t: Text) -> str:
    return t.get_text().replace("\n", " ")


def all_text(fig: Figure) -> str:
    return "\n".join(flat(t) for t in texts(fig))


def group_results(results):
    return [r for r in results if r.group is not None]


# ----------------------------------------------------------------- content against results


def test_diamond_ends_are_the_pooled_interval(studies):
    fig, results, comparisons = draw(studies)
    checked = 0
    for r in group_results(results):
        comparison = next((c for c in comparisons if c.endpoint == r.endpoint
                           and c.pooled.group == r.group), None)
        pairs = [("all", r), ("literature", comparison.pooled)] if comparison else [("pooled", r)]
        for key, pooled in pairs:
            diamond = by_gid(fig, element_id("diamond", r.endpoint, 12, r.group, key))
            assert isinstance(diamond, Polygon)
            x = diamond.get_xy()[:, 0]
            assert x.min() == pytest.approx(100 * pooled.ci_low, rel=1e-12)
            assert x.max() == pytest.approx(100 * pooled.ci_high, rel=1e-12)
            assert x[1] == pytest.approx(100 * pooled.estimate, rel=1e-12)
            if pooled.pi_low is not None:
                bar = by_gid(fig, element_id("pi", r.endpoint, 12, r.group, key))
                assert isinstance(bar, Rectangle)
                assert bar.get_x() == pytest.approx(100 * pooled.pi_low, rel=1e-12)
                assert bar.get_x() + bar.get_width() == pytest.approx(100 * pooled.pi_high,
                                                                      rel=1e-12)
            checked += 1
    assert checked == 6  # 2 endpoints x (index group: 2 rows + other group: 1 row)


@pytest.mark.slow
def test_square_areas_are_proportional_to_weights(studies):
    fig, results, _ = draw(studies)
    for endpoint in ("OS", "PFS"):
        ratios = []
        for r in group_results(results):
            if r.endpoint != endpoint:
                continue
            for s in r.studies:
                square = by_gid(fig, element_id("square", endpoint, 12, r.group, s.id))
                assert isinstance(square, PathCollection)
                (area,) = square.get_sizes()
                ratios.append(area / s.weight)
                assert square.get_offsets()[0][0] == pytest.approx(100 * s.estimate)
                whisker = by_gid(fig, element_id("ci", endpoint, 12, r.group, s.id))
                assert whisker.get_xdata()[0] == pytest.approx(100 * s.ci_low)
                assert whisker.get_xdata()[1] == pytest.approx(100 * s.ci_high)
        assert len(ratios) >= 4
        assert np.ptp(ratios) == pytest.approx(0.0, abs=1e-9 * max(ratios))


def test_one_row_per_study_and_excluded_rows_kept(studies):
    fig, results, _ = draw(studies)
    labels = [flat(t) for t in texts(fig)]
    for s in studies:
        assert labels.count(s.label) == 1, s.label
    # one square per pooled study per panel, nothing for excluded ones
    squares = [a for a in fig.findobj(PathCollection) if (a.get_gid() or "").startswith("square")]
    assert len(squares) == sum(len(r.studies) for r in group_results(results))


def test_not_reported_rows_are_greyed_and_say_what_is_reported(studies):
    fig, results, _ = draw(studies)
    os_allo = next(r for r in results if r.endpoint == "OS" and r.group == ALLO)
    assert [e.id for e in os_allo.excluded] == ["fried2023"]
    notes = {flat(t): t for t in texts(fig)}
    nr = notes["not reported at 12 mo (OS 45% at 24 mo)"]
    assert nr.get_color() == forest.GREY
    assert "not reported at 12 mo (PFS 38% at 24 mo)" in notes
    # chow2019 reports no PFS at all: its PFS cells are blank, and the footnote says so
    assert "PFS not reported" not in notes
    left = next(line for t in texts(fig) for line in t.get_text().split("\n")
                if line.startswith("Left out of a panel"))
    assert left == "Left out of a panel: studies that report no PFS (Chow 2019)."
    assert notes["Fried 2023"].get_color() == forest.GREY  # NR in every panel
    assert notes["Chow 2019"].get_color() == forest.INK  # reports OS
    assert sum(flat(t) == "NR" for t in texts(fig)) == 2


@pytest.mark.slow
def test_index_row_highlighted_with_two_summary_rows(studies):
    fig, results, comparisons = draw(studies)
    label = next(t for t in texts(fig) if flat(t) == "Cong 2024")
    assert label.get_fontweight() in ("bold", 700)
    assert label.get_color() == forest.INDEX_COLOUR
    index_square = by_gid(fig, element_id("square", "OS", 12, ALLO, "cong2024"))
    other_square = by_gid(fig, element_id("square", "OS", 12, ALLO, "zurko2023"))
    assert matplotlib.colors.to_hex(index_square.get_facecolor()[0]) == forest.INDEX_COLOUR
    assert (matplotlib.colors.to_hex(other_square.get_facecolor()[0])
            != forest.INDEX_COLOUR)
    shown = all_text(fig)
    assert "Literature (without index)" in shown
    assert "All, with index" in shown
    assert "Pooled" in [flat(t) for t in texts(fig)]  # the other arm has one summary row
    for c in comparisons:
        assert f"Index vs literature: {fmt.pvalue(c.pvalue)}" in shown
        assert fmt.percent_bracket(c.pooled.estimate, c.pooled.ci_low, c.pooled.ci_high) in shown


@pytest.mark.slow
def test_group_headers_heterogeneity_and_method_footer(studies):
    fig, results, _ = draw(studies)
    shown = all_text(fig)
    lines = [flat(t) for t in texts(fig)]
    assert ALLO in lines and PIVOTAL in lines
    pivotal = next(r for r in results if r.endpoint == "OS" and r.group == PIVOTAL)
    assert fmt.heterogeneity(pivotal) in shown
    assert fmt.method_line(pivotal) in shown
    overall = next(r for r in results if r.endpoint == "OS" and r.group is None)
    assert overall.subgroup_test is not None
    assert f"Q = {overall.subgroup_test.q_between:.2f}" in shown
    # the overall result pools two arms: no diamond for it
    assert not fig.findobj(lambda a: (a.get_gid() or "").startswith("diamond-os-12-all-"))


def test_marks_and_their_footnotes(studies):
    fig, _, _ = draw(studies)
    lines = [flat(t) for t in texts(fig)]
    shown = all_text(fig)
    assert lines.count(forest.MARK_APPROXIMATE) == 2  # zurko2023, OS and PFS
    assert forest.MARK_ORIGIN in lines  # chow2019 counts from progression
    assert forest.MARK_DERIVED in lines  # juliet PFS
    assert f"{forest.MARK_APPROXIMATE} Standard error approximated" in shown
    assert (f"{forest.MARK_ORIGIN} Time counted from progression after CAR-T, not from "
            "allo-HSCT") in shown
    assert "Chow 2019 (OS)" in shown
    assert f"{forest.MARK_DERIVED} Derived, not stated by the source" in shown
    assert "JULIET (PFS)" in shown


@pytest.mark.slow
def test_reported_values_as_in_the_source(studies):
    fig, _, _ = draw(studies)
    lines = [flat(t) for t in texts(fig)]
    for value in ("7/10", "6/10", "59%", "52%", "31/93"):
        assert value in lines


def test_without_groups_the_index_still_gets_both_summary_rows(studies):
    fig, results, comparisons = draw(studies, group_by=None)
    assert {r.group for r in results} == {None}
    for c in comparisons:
        lit = by_gid(fig, element_id("diamond", c.endpoint, 12, None, "literature"))
        assert lit.get_xy()[:, 0].min() == pytest.approx(100 * c.pooled.ci_low)
    lines = [flat(t) for t in texts(fig)]
    assert ALLO not in lines and PIVOTAL not in lines


# ----------------------------------------------------------------- edge cases


def test_one_study():
    one = [study("solo", "Solo 2020", ALLO, 20, [outcome("OS", count=12, total=20)])]
    fig, results, _ = draw(one, endpoints=("OS",), index=None)
    (r,) = results
    assert r.k == 1
    diamond = by_gid(fig, element_id("diamond", "OS", 12, None, "pooled"))
    assert diamond.get_xy()[:, 0].min() == pytest.approx(100 * r.ci_low)
    assert "one study: its own estimate, nothing pooled" in all_text(fig)
    assert_layout_clean(fig)


def test_one_study_under_the_bayesian_model_says_its_interval_is_the_posterior():
    """With one study the Bayesian diamond is the posterior of mu, wider than the study's
    own interval: the note must not call it the study's own estimate."""
    one = [study("solo", "Solo 2020", ALLO, 20, [outcome("OS", count=12, total=20)])]
    fig, results, _ = draw(one, endpoints=("OS",), index=None, model="bayes")
    (r,) = results
    assert r.k == 1 and r.model == "bayes"
    (s,) = r.studies
    assert r.ci_high - r.ci_low > s.ci_high - s.ci_low
    diamond = by_gid(fig, element_id("diamond", "OS", 12, None, "pooled"))
    assert diamond.get_xy()[:, 0].min() == pytest.approx(100 * r.ci_low)
    text = all_text(fig)
    assert "one study: the credible interval rests on the tau prior" in text
    assert "its own estimate" not in text
    assert_layout_clean(fig)


def test_endpoint_nobody_reports_and_empty_group(studies):
    fig, results, _ = draw(studies, endpoints=("OS", "EFS"))
    efs = [r for r in results if r.endpoint == "EFS"]
    assert all(r.k == 0 for r in efs)
    shown = all_text(fig)
    assert "Event-free survival at 12 months" in shown
    assert "no study reports EFS at 12 mo" in shown
    assert not fig.findobj(lambda a: (a.get_gid() or "").startswith(("square-efs",
                                                                      "diamond-efs")))
    lines = [flat(t) for t in texts(fig)]
    assert lines.count("EFS not reported") == 0  # blank cells, counted in a footnote
    left = next(line for t in texts(fig) for line in t.get_text().split("\n")
                if line.startswith("Left out of a panel"))
    assert all(s.label in left for s in studies)  # six studies are named
    for s in studies:  # every study reporting OS keeps its one row
        assert lines.count(s.label) == (1 if any(o.endpoint == "OS" for o in s.outcomes)
                                        else 0)
    assert_layout_clean(fig)


def test_intervals_beyond_the_axis_get_arrows_and_are_said_as_computed():
    studies = [study("a", "A 2020", ALLO, 5, [outcome("OS", count=0, total=5)]),
               study("b", "B 2021", ALLO, 20, [outcome("OS", count=1, total=20)]),
               study("c", "C 2022", ALLO, 8, [outcome("OS", count=8, total=8)])]
    fig, (r,), _ = draw(studies, endpoints=("OS",), index=None, scale="raw", ci_method="z")
    assert r.ci_low < 0 < 1 < r.pi_high  # the raw scale reaches past 0-100%
    diamond = by_gid(fig, element_id("diamond", "OS", 12, None, "pooled"))
    assert diamond.get_xy()[:, 0].min() == pytest.approx(100 * r.ci_low)  # not moved
    heads = [line.get_marker() for ax in fig.axes for line in ax.get_lines()
             if line.get_marker() in ("<", ">")]
    assert sorted(heads) == ["<", ">"]
    shown = all_text(fig)
    assert "Arrows: the interval continues beyond the 0\u2013100% axis" in shown
    assert fmt.percent_bracket(r.estimate, r.ci_low, r.ci_high) in shown
    assert f"[{100 * r.ci_low:.0f} to {100 * r.ci_high:.0f}]" in shown
    assert_layout_clean(fig)


def test_no_results_is_a_usage_error():
    with pytest.raises(UsageError):
        forest_plot([])


def test_draws_into_a_given_figure(studies):
    options = AnalysisOptions.create(endpoints=["OS"], time_months=12)
    given = Figure()
    assert forest_plot(analyse(studies, options), fig=given) is given


# ----------------------------------------------------------------- layout


def assert_layout_clean(fig: Figure) -> None:
    """No two text artists overlap, and every text and axes lies inside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    items = texts(fig)
    boxes = np.array([t.get_window_extent(renderer).extents for t in items])
    tol = 0.5  # pixels
    assert (boxes[:, 0] >= -tol).all() and (boxes[:, 1] >= -tol).all()
    assert (boxes[:, 2] <= width + tol).all() and (boxes[:, 3] <= height + tol).all()
    x0, y0, x1, y1 = (boxes[:, i][:, None] for i in range(4))
    overlap = ((x0 < x1.T - tol) & (x0.T < x1 - tol) & (y0 < y1.T - tol) & (y0.T < y1 - tol))
    np.fill_diagonal(overlap, False)
    rows, cols = np.nonzero(overlap)
    pairs = [(flat(items[i]), flat(items[j])) for i, j in zip(rows, cols, strict=True) if i < j]
    assert not pairs, pairs[:5]
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        assert box.x0 >= -tol and box.y0 >= -tol
        assert box.x1 <= width + tol and box.y1 <= height + tol


@pytest.mark.slow
def test_layout_sixty_studies_and_a_long_label():
    studies = many_studies(60)
    assert len(LONG_LABEL) == 120
    fig, results, _ = draw(studies, index="index01")
    assert_layout_clean(fig)
    labels = [flat(t) for t in texts(fig)]
    assert LONG_LABEL in labels  # wrapped, not cut
    for s in studies:
        assert labels.count(s.label) == 1
    # the figure grows with the rows: at least one row height per study
    assert fig.get_figheight() > len(studies) * forest.ROW


def test_layout_of_the_six_studies(studies):
    fig, _, _ = draw(studies)
    assert_layout_clean(fig)


def test_wrap_breaks_long_words_and_ends_with_an_ellipsis():
    measure = forest._Measure()
    font = forest._Fonts.create().body
    lines = measure.wrap("x" * 200, font, 1.0, 3)
    assert len(lines) == 3 and lines[-1].endswith("\u2026")
    assert all(measure.width(line, font) <= 1.0 for line in lines)
    lines = measure.wrap("Q = 0.67, df = 1, p = 0.41", font, 0.6, 5)
    assert len(lines) > 1
    assert all(" = " in line for line in lines)  # never "df" / "= 1"


def test_wrap_of_a_100000_character_word_is_capped_with_an_ellipsis():
    measure = forest._Measure()
    font = forest._Fonts.create().body
    lines = measure.wrap("Zurko " + "x" * 100_000, font, 1.5, 4)
    assert len(lines) == 4 and lines[0] == "Zurko" and lines[-1].endswith("\u2026")
    assert all(measure.width(line, font) <= 1.5 for line in lines)
    assert all(len(line) > 10 for line in lines[1:])  # lines are filled, not one letter each


def test_wrap_of_many_words_newlines_and_invisible_characters():
    measure = forest._Measure()
    font = forest._Fonts.create().body
    lines = measure.wrap("ab " * 50_000, font, 1.0, 3)
    assert len(lines) == 3 and lines[-1].endswith("\u2026")
    assert set(" ".join(lines[:-1]).split()) == {"ab"}
    assert measure.wrap("Zurko\n2023\tcohort", font, 5.0, 2) == ["Zurko 2023 cohort"]
    # zero-width characters take no width: still a bounded number of characters per line
    lines = measure.wrap("a" + "\u200b" * 100_000, font, 1.0, 2)
    assert len(lines) <= 2 and sum(map(len, lines)) <= 2 * forest.LINE_CHARS + 1
    assert measure.wrap("", font, 1.0, 2) == [""]


def test_short_text_is_not_cut():
    measure = forest._Measure()
    font = forest._Fonts.create().body
    assert measure.wrap("Zurko 2023", font, 2.0, 4) == ["Zurko 2023"]
    assert measure._fit("x" * 50, font, measure.width("x" * 20, font)) == 20


def test_a_100000_character_label_and_a_250_character_endpoint_are_drawn_clean(studies):
    long_word = "x" * 100_000
    ep = "E" * 250
    studies = [s if s.id != "zurko2023" else study(
        "zurko2023", f"Zurko {long_word}", ALLO, 88,
        [outcome("OS", estimate=0.59, estimate_text="59%", total=88),
         outcome(ep, count=40, total=88)]) for s in studies]
    studies = [s if s.id != "chow2019" else study(
        "chow2019", "Chow 2019", ALLO, 31, [outcome(ep, count=10, total=31)]) for s in studies]
    fig, _, _ = draw(studies, endpoints=("OS", ep))
    assert_layout_clean(fig)
    label = next(t for t in texts(fig) if t.get_text().startswith("Zurko"))
    lines = label.get_text().split("\n")
    assert len(lines) == forest.LABEL_MAX_LINES and lines[-1].endswith("\u2026")
    title = next(t for t in texts(fig) if t.get_text().startswith(ep[:20]))
    assert title.get_text().endswith("\u2026")


# ----------------------------------------------------------------- global state, imports


def test_import_does_not_load_matplotlib():
    code = ("import sys, metaview.render.forest, metaview.commands.forest; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_no_pyplot_and_rcparams_untouched(tmp_path, studies):
    before = dict(matplotlib.rcParams)
    fig, _, _ = draw(studies)
    save_figure(fig, tmp_path / "f.svg")
    assert dict(matplotlib.rcParams) == before
    code = ("import sys; sys.path.insert(0, 'tests/render'); "
            "from forest_data import six_studies; "
            "from metaview.engine.analysis import AnalysisOptions, analyse; "
            "from metaview.render.forest import forest_plot; "
            "forest_plot(analyse(six_studies(), AnalysisOptions.create(time_months=12))); "
            "print('matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_user_rcparams_do_not_change_the_output(tmp_path, studies):
    fig, _, _ = draw(studies)
    save_figure(fig, tmp_path / "plain.svg")
    with matplotlib.rc_context({"font.size": 20, "lines.linewidth": 5, "svg.fonttype": "path",
                                "font.family": "serif", "axes.edgecolor": "red"}):
        fig2, _, _ = draw(studies)
        save_figure(fig2, tmp_path / "styled.svg")
    assert (tmp_path / "plain.svg").read_bytes() == (tmp_path / "styled.svg").read_bytes()


# ----------------------------------------------------------------- saving

SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from forest_data import six_studies
from metaview.engine.analysis import AnalysisOptions, analyse, compare
from metaview.render.forest import forest_plot, save_figure
studies = six_studies()
options = AnalysisOptions.create(endpoints=["OS", "PFS"], time_months=12)
fig = forest_plot(analyse(studies, options), comparisons=compare(studies, "cong2024", options),
                  studies=studies)
save_figure(fig, sys.argv[1])
"""


@pytest.mark.parametrize("suffix", [".svg", ".pdf"])
@pytest.mark.slow
def test_output_is_byte_identical_across_runs(tmp_path, suffix):
    script = SCRIPT.format(tests=str(HERE))
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"run{seed}{suffix}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, cwd=ROOT, env=env)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    if suffix == ".svg":
        assert b"<dc:date>" not in outputs[0]


def test_svg_keeps_text_as_text(tmp_path, studies):
    fig, _, _ = draw(studies)
    svg = save_figure(fig, tmp_path / "f.svg").read_text(encoding="utf-8")
    for s in studies:
        assert f">{s.label}<" in svg
    assert "Overall survival at 12 months" in svg
    assert "font-family: 'DejaVu Sans'" in svg
    assert 'id="DejaVuSans-' not in svg  # no glyphs drawn as paths
    assert 'id="diamond-os-12-allo-hsct-after-car-t-failure-literature"' in svg


def pdf_strings(data: bytes) -> str:
    """The text shown by the PDF's content streams (TrueType, UTF-16 strings in TJ arrays)."""
    shown = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(m.group(1))
        except zlib.error:
            continue
        for array in re.findall(rb"\[(.*?)\]\s*TJ", content, re.S):
            parts = re.findall(rb"\(((?:\\.|[^\\)])*)\)", array, re.S)
            raw = b"".join(re.sub(rb"\\(.)", rb"\1", p, flags=re.S) for p in parts)
            shown.append(raw.decode("utf-16-be", errors="replace"))
    return "\n".join(shown)


@pytest.mark.slow
def test_pdf_keeps_text_as_text(tmp_path, studies):
    fig, _, _ = draw(studies)
    data = save_figure(fig, tmp_path / "f.pdf").read_bytes()
    assert b"/FontFile2" in data and b"/Type3" not in data  # embedded TrueType
    assert b"/CreationDate" not in data
    shown = pdf_strings(data)
    for s in studies:
        assert s.label in shown
    assert "Overall survival at 12 months" in shown


def test_png_at_print_resolution(tmp_path, studies):
    from PIL import Image

    fig, _, _ = draw(studies)
    with Image.open(save_figure(fig, tmp_path / "f.png")) as im:
        assert im.size == (int(fig.get_figwidth() * 300), int(fig.get_figheight() * 300))


def test_unknown_format_names_the_allowed_ones(tmp_path, studies):
    fig, _, _ = draw(studies)
    with pytest.raises(UsageError, match=r"\.png, \.svg, \.pdf"):
        save_figure(fig, tmp_path / "f.jpg")
    assert not list(tmp_path.iterdir())


def test_refuses_to_overwrite_without_permission(tmp_path, studies):
    fig, _, _ = draw(studies)
    target = tmp_path / "f.svg"
    target.write_text("old")
    with pytest.raises(OutputError, match="exists"):
        save_figure(fig, target, overwrite=False)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.svg"]
    save_figure(fig, target)
    assert target.read_text().startswith("<?xml")


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path, studies, monkeypatch):
    fig, _, _ = draw(studies)
    target = tmp_path / "f.svg"
    target.write_text("old")

    def broken(out, **kw):
        out.write(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fig, "savefig", broken)
    with pytest.raises(OutputError) as info:
        save_figure(fig, target)
    assert "No space left on device" in str(info.value) and "\n" not in str(info.value)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.svg"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can write to a read-only folder")
def test_unwritable_folder_is_one_line(tmp_path, studies):
    fig, _, _ = draw(studies)
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError) as info:
            save_figure(fig, folder / "f.png")
    finally:
        folder.chmod(0o700)
    assert "\n" not in str(info.value) and "locked" in str(info.value)


@pytest.mark.slow
def test_permission_denied_is_one_line(tmp_path, studies, monkeypatch):
    fig, _, _ = draw(studies)

    def denied(**kw):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", denied)
    with pytest.raises(OutputError) as info:
        save_figure(fig, tmp_path / "f.png")
    assert str(info.value) == f"cannot write '{tmp_path / 'f.png'}': Permission denied"
    assert not list(tmp_path.iterdir())


def test_missing_folder(tmp_path, studies):
    fig, _, _ = draw(studies)
    with pytest.raises(OutputError, match="does not exist"):
        save_figure(fig, tmp_path / "nowhere" / "f.png")


def test_new_file_permissions_follow_the_umask(tmp_path, studies):
    fig, _, _ = draw(studies)
    path = save_figure(fig, tmp_path / "f.svg")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask

