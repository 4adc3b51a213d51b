"""The posterior renderer draws the curves it is given; ``forest --model bayes`` draws the
shrunken study estimates as open markers and says "credible interval"."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.lines import Line2D
from matplotlib.text import Text

from metaview.engine.analysis import AnalysisOptions, analyse, compare
from metaview.errors import UsageError
from metaview.render.forest import element_id, forest_plot
from metaview.render.posterior import PosteriorPanel, posterior_plot


def _panel(title: str, shift: float) -> PosteriorPanel:
    mu_x = np.linspace(-3, 3, 41) + shift
    tau_x = np.linspace(0, 2.5, 31)
    return PosteriorPanel(
        title=title, mu_x=mu_x, mu_y=np.exp(-0.5 * (mu_x - shift) ** 2),
        tau_x=tau_x, tau_y=tau_x * np.exp(-tau_x), prior_y=np.exp(-0.5 * tau_x**2),
        mu_ticks=((-1.0 + shift, "27%"), (shift, "50%")), mu_marker=0.4 + shift,
        mu_marker_label="Index")


def test_posterior_plot_draws_exactly_the_given_curves():
    panels = [_panel("OS at 12 months", 0.0), _panel("PFS at 12 months", 0.5)]
    fig = posterior_plot(panels, mu_label="mu", tau_label="tau", prior_label="Prior (hn:1)")
    axes = fig.axes
    assert len(axes) == 4
    for i, p in enumerate(panels):
        left, right = axes[2 * i], axes[2 * i + 1]
        (mu_line, marker) = left.get_lines()
        np.testing.assert_array_equal(mu_line.get_xdata(), p.mu_x)
        np.testing.assert_array_equal(mu_line.get_ydata(), p.mu_y)
        assert list(marker.get_xdata()) == [p.mu_marker, p.mu_marker]
        post, prior = right.get_lines()
        np.testing.assert_array_equal(post.get_xdata(), p.tau_x)
        np.testing.assert_array_equal(post.get_ydata(), p.tau_y)
        np.testing.assert_array_equal(prior.get_xdata(), p.tau_x)
        np.testing.assert_array_equal(prior.get_ydata(), p.prior_y)
        assert prior.get_linestyle() == "--"
        assert [t for t in left.get_xticks()] == [x for x, _ in p.mu_ticks]
        assert [t.get_text() for t in left.get_xticklabels()] == [s for _, s in p.mu_ticks]
        assert left.get_title(loc="left") == p.title
        legend = [t.get_text() for t in right.get_legend().get_texts()]
        assert legend == ["Posterior", "Prior (hn:1)"]


def test_posterior_plot_needs_a_panel():
    with pytest.raises(UsageError):
        posterior_plot([], mu_label="mu", tau_label="tau")


def _texts(fig) -> str:
    return " ".join(" ".join(t.get_text() for t in fig.findobj(Text)).split())


def test_forest_model_bayes_draws_open_markers_at_the_shrunken_estimates(studies):
    opts = AnalysisOptions.create(model="bayes", endpoints=["OS"], time_months=12)
    results = analyse(studies, opts)
    comparisons = compare(studies, "cong2024", opts)
    fig = forest_plot(results, comparisons=comparisons, studies=studies)
    lines = {ln.get_gid(): ln for ln in fig.findobj(Line2D) if ln.get_gid()}
    drawn = 0
    for r in results:
        if r.group is None:
            continue
        for s in r.studies:
            gid = element_id("shrunk", "OS", 12.0, r.group, s.id)
            marker = lines[gid]
            assert list(marker.get_xdata()) == [pytest.approx(100 * s.shrunk_estimate)]
            assert marker.get_marker() == "o" and marker.get_markerfacecolor() == "white"
            ci = lines[gid + "-ci"]
            assert list(ci.get_xdata()) == [pytest.approx(100 * s.shrunk_ci_low),
                                            pytest.approx(100 * s.shrunk_ci_high)]
            # beside the observed estimate: the same row, just below it
            observed = lines[element_id("ci", "OS", 12.0, r.group, s.id)]
            assert 0 < marker.get_ydata()[0] - observed.get_ydata()[0] < 0.2
            drawn += 1
    assert drawn >= 3
    text = _texts(fig)
    assert "credible interval (prior on \u03c4: half-normal:1)" in text
    assert "Open circles" in text and "shrunken estimate" in text
    assert "posterior predictive intervals" in text
    assert "P(index > mean) = " in text
    assert "Weight:" not in text


def test_forest_default_model_draws_no_open_markers(studies):
    opts = AnalysisOptions.create(endpoints=["OS"], time_months=12)
    fig = forest_plot(analyse(studies, opts), studies=studies)
    assert not [ln for ln in fig.findobj(Line2D) if (ln.get_gid() or "").startswith("shrunk")]
    text = _texts(fig)
    assert "credible" not in text and "Open circles" not in text
