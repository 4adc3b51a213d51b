"""Forest plots for journals: widths, adaptive layout, fonts, resolution and row order."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from forest_data import many_studies, six_studies
from matplotlib.figure import Figure
from matplotlib.text import Text

from metaview.cli import main
from metaview.engine.analysis import AnalysisOptions, analyse, compare
from metaview.io import load_studies
from metaview.order import sort_studies
from metaview.render import forest
from metaview.render.forest import forest_plot, save_figure

pytestmark = pytest.mark.slow  # every test here takes seconds (-m "not slow" skips them)

ROOT = Path(__file__).resolve().parents[2]
STUDIES = ROOT / "studies"


def project_studies():
    return load_studies([STUDIES])


def draw(studies, index, endpoints=("OS", "PFS"), **kw) -> Figure:
    options = AnalysisOptions.create(endpoints=list(endpoints), time_months=12)
    results = analyse(studies, options)
    comparisons = compare(studies, index, options) if index else []
    return forest_plot(results, comparisons=comparisons, studies=studies, **kw)


def texts(fig: Figure) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def overlapping_texts(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of text artists whose drawn extents overlap; texts outside the figure."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    items = texts(fig)
    boxes = np.array([t.get_window_extent(renderer).extents for t in items])
    tol = 0.5  # pixels
    w, h = fig.bbox.width, fig.bbox.height
    outside = [(items[i].get_text(), "outside the figure") for i in range(len(items))
               if boxes[i, 0] < -tol or boxes[i, 1] < -tol or boxes[i, 2] > w + tol
               or boxes[i, 3] > h + tol]
    x0, y0, x1, y1 = (boxes[:, i][:, None] for i in range(4))
    overlap = (x0 < x1.T - tol) & (x0.T < x1 - tol) & (y0 < y1.T - tol) & (y0.T < y1 - tol)
    np.fill_diagonal(overlap, False)
    pairs = [(items[i].get_text(), items[j].get_text()) for i, j in zip(*np.nonzero(overlap))
             if i < j]
    return outside + pairs


CASES = {
    "project": (project_studies, "cong2024"),
    "six": (six_studies, "cong2024"),
    "twenty": (lambda: many_studies(20), "index01"),
}


@pytest.mark.parametrize("width", ["single", "double", 5.0, 10.0])
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_text_overlaps_at_each_width(case: str, width) -> None:
    make, index = CASES[case]
    fig = draw(make(), index, width=width)
    expected = forest.figure_width(width)
    assert fig.get_figwidth() == pytest.approx(expected, abs=1e-6)
    assert overlapping_texts(fig) == []


def test_three_endpoints_in_one_column() -> None:
    fig = draw(project_studies(), "cong2024", endpoints=("OS", "PFS", "ORR"), width="single")
    assert fig.get_figwidth() == pytest.approx(3.5)
    assert overlapping_texts(fig) == []


def test_single_column_png_is_at_most_1050_pixels_wide(tmp_path: Path) -> None:
    from PIL import Image

    fig = draw(project_studies(), "cong2024", width="single")
    with Image.open(save_figure(fig, tmp_path / "f.png", dpi=300)) as im:
        assert im.size[0] <= 1050


def test_columns_are_left_out_reported_first_then_weight() -> None:
    seen = []
    for width in (12.0, 9.0, 8.0, 7.2, 6.0, 5.0, 4.0, 3.5):
        fig = draw(six_studies(), "cong2024", width=width)
        shown = {t.get_text() for t in texts(fig)}
        seen.append(("Reported" in shown, "Weight" in shown))
    assert seen[0] == (True, True)
    assert (False, True) in seen  # Reported goes first ...
    assert all(weight or not reported for reported, weight in seen)  # ... never Weight alone
    order = [seen.index(x) for x in ((True, True), (False, True)) if x in seen]
    assert order == sorted(order)


def test_font_size_is_kept_when_given() -> None:
    fig = draw(six_studies(), "cong2024", width="single", font_size=6)
    label = next(t for t in texts(fig) if t.get_text() == "Zurko 2023")
    assert label.get_fontsize() == pytest.approx(6)
    fig = draw(six_studies(), "cong2024", width=None, font_size=9)
    label = next(t for t in texts(fig) if t.get_text() == "Zurko 2023")
    assert label.get_fontsize() == pytest.approx(9)
    assert overlapping_texts(fig) == []


def test_weight_column_says_which_model(tmp_path: Path) -> None:
    fig = draw(six_studies(), "cong2024", width=None)
    notes = " ".join(t.get_text().replace("\n", " ") for t in texts(fig))
    assert "Weight: each study's share of its group's random-effects model" in notes
    assert "the model of all studies with the index" in notes


def test_png_never_exceeds_16000_pixels(tmp_path: Path) -> None:
    from PIL import Image

    fig = draw(many_studies(300), "index01", endpoints=("OS",), width="double")
    assert fig.get_figheight() * 300 > forest.PNG_MAX_PIXELS
    with Image.open(save_figure(fig, tmp_path / "tall.png", dpi=300)) as im:
        assert max(im.size) <= forest.PNG_MAX_PIXELS


def _label_order(fig: Figure, labels: set[str]) -> list[str]:
    found = [t for t in texts(fig) if t.get_text() in labels]
    # the text axes measure inches from the top
    return [t.get_text() for t in sorted(found, key=lambda t: t.get_position()[1])]


def test_one_row_order_in_forest_report_and_api(tmp_path: Path) -> None:
    from metaview.report.content import build_report, ordered_studies

    studies = project_studies()  # file-name order
    labels = {s.label for s in studies}
    expected_allo = ["Chow 2019", "Fried 2023", "Zurko 2023", "Cong 2024"]  # index last
    # the Python API: rows by year, then label, whatever the order given
    api = _label_order(draw(list(reversed(studies)), "cong2024", width=None), labels)
    assert api[:4] == expected_allo
    # the command line
    out = tmp_path / "f.svg"
    assert main(["forest", str(STUDIES), "-o", str(out)]) == 0
    svg = out.read_text()
    positions = {label: svg.find(f">{label}<") for label in labels if f">{label}<" in svg}
    assert sorted(positions, key=positions.get)[:4] == expected_allo
    # the report: its figures, and its tables' order within an arm
    options = AnalysisOptions.create(endpoints=["OS"], time_months=12)
    report = build_report(studies, options)
    figure = next(f for stem, f in report.figures if stem.startswith("forest-os"))
    positions = {label: figure.svg.find(f">{label}<") for label in labels
                 if f">{label}<" in figure.svg}
    assert sorted(positions, key=positions.get)[:4] == expected_allo
    index = next(s for s in studies if s.index)
    tables = [s.label for s in ordered_studies(studies, index)]
    assert tables[:4] == ["Cong 2024", "Chow 2019", "Fried 2023", "Zurko 2023"]


@pytest.mark.parametrize("sort, first", [("year", "ZUMA-1"), ("label", "Chow 2019"),
                                         ("file", "Chow 2019"), ("estimate", "Chow 2019"),
                                         ("weight", "ZUMA-1")])
def test_sort_orders(sort: str, first: str) -> None:
    studies = project_studies()
    options = AnalysisOptions.create(endpoints=["OS"], time_months=12)
    ordered = sort_studies(studies, sort, analyse(studies, options))
    assert ordered[0].label == first
    if sort == "label":
        assert [s.label for s in ordered] == sorted((s.label for s in ordered), key=str.casefold)
    if sort == "estimate":  # lowest first; studies without an OS estimate at the end
        assert [s.label for s in ordered][-2:] == ["JULIET", "Fried 2023"]
    if sort == "weight":  # heaviest first: ZUMA-1 alone in its arm, then Zurko 2023
        assert [s.label for s in ordered][:2] == ["ZUMA-1", "Zurko 2023"]


def test_command_options(tmp_path: Path, capsys) -> None:
    out = tmp_path / "f.png"
    assert main(["forest", str(STUDIES), "-o", str(out), "--width", "single", "--dpi", "150",
                 "--font-size", "6", "--sort", "label"]) == 0
    from PIL import Image

    with Image.open(out) as im:
        assert im.size[0] == round(3.5 * 150)
    capsys.readouterr()
    for bad in (["--width", "wide"], ["--width", "1"], ["--sort", "size"], ["--dpi", "5"],
                ["--font-size", "2"]):
        code = main(["forest", str(STUDIES), "-o", str(tmp_path / "g.png"), *bad])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, (bad, err)
        assert re.search(r"width|sort|resolution|font", err)


def test_many_studies_are_paginated(tmp_path: Path) -> None:
    from metaview.render.forest import forest_pages, page_paths, save_pages

    studies = many_studies(130)
    options = AnalysisOptions.create(endpoints=["OS", "PFS"], time_months=12)
    results = analyse(studies, options)
    comparisons = compare(studies, "index01", options)
    figs = forest_pages(results, comparisons=comparisons, studies=studies, rows_per_page=60)
    assert len(figs) == 3
    labels = [t.get_text().replace("\n", " ") for f in figs for t in texts(f)]
    for s in studies:  # every study once, over the pages (a very long label is cut)
        assert sum(label == s.label or (label.endswith("\u2026") and s.label.startswith(
            label[:30])) for label in labels) == 1, s.label
    assert any(label.endswith("(continued)") for label in labels)
    assert all(f.get_figwidth() == pytest.approx(7.2) for f in figs)
    for n, f in enumerate(figs, 1):
        assert any(t.get_text().endswith(f"(page {n} of 3)") for t in texts(f))
        assert overlapping_texts(f) == []
    assert [p.name for p in save_pages(figs, tmp_path / "f.png")] == [
        "f-1.png", "f-2.png", "f-3.png"]
    assert page_paths(tmp_path / "f.svg", 3)[2].name == "f-3.svg"
    (pdf,) = save_pages(figs, tmp_path / "f.pdf")
    assert pdf.read_bytes().count(b"/Type /Page\n") + pdf.read_bytes().count(
        b"/Type /Page ") + pdf.read_bytes().count(b"/Type/Page") >= 3
    summary = forest_pages(results, comparisons=comparisons, studies=studies,
                           summary_only=True)
    assert len(summary) == 1
    shown = {t.get_text() for t in texts(summary[0])}
    assert not shown & {s.label for s in studies}
    assert "Pooled" in shown or "Literature\n(without index)" in shown


def test_forest_command_writes_pages(tmp_path: Path, capsys) -> None:
    out = tmp_path / "f.svg"
    assert main(["forest", str(STUDIES), "-o", str(out), "--rows-per-page", "3"]) == 0
    written = capsys.readouterr().out
    assert "f-1.svg" in written and "f-2.svg" in written
    assert not out.exists()
    code = main(["forest", str(STUDIES), "-o", str(out), "--rows-per-page", "3"])
    assert code == 2 and "exists; use --force" in capsys.readouterr().err
    assert main(["forest", str(STUDIES), "-o", str(tmp_path / "s.png"), "--summary-only"]) == 0
