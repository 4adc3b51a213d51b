"""Figure of posterior densities: one row per panel, the pooled mean on the left, the
between-study SD on the right with its prior.

The renderer draws what it is given (:class:`PosteriorPanel`: curves as arrays, tick
positions with their labels, one marked position); it computes nothing. Written with
:func:`metaview.render.forest.save_figure` (png/svg/pdf, atomic, the same bytes for the same
figure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure
    from numpy.typing import ArrayLike

WIDTH = 7.0
ROW_HEIGHT = 1.9
TOP = 0.05
BOTTOM = 0.55
POSTERIOR_COLOUR = "#1f3b73"
PRIOR_COLOUR = "#8a8a8a"


@dataclass(frozen=True)
class PosteriorPanel:
    """One row of the figure: two density curves and a prior curve, as given."""

    title: str
    mu_x: ArrayLike
    mu_y: ArrayLike
    tau_x: ArrayLike
    tau_y: ArrayLike
    prior_y: ArrayLike  # on tau_x
    mu_ticks: Sequence[tuple[float, str]] = ()  # (position, label); none: the axis's own
    mu_marker: float | None = None  # a vertical line on the left axis
    mu_marker_label: str = ""


def posterior_plot(panels: Sequence[PosteriorPanel], *, mu_label: str, tau_label: str,
                   posterior_label: str = "Posterior", prior_label: str = "Prior") -> Figure:
    """The figure: per panel, ``mu_y`` over ``mu_x`` (left) and ``tau_y`` and ``prior_y``
    (dashed) over ``tau_x`` (right)."""
    import matplotlib
    from matplotlib.figure import Figure

    from metaview.errors import UsageError
    from metaview.render.forest import INDEX_COLOUR, _attach_canvas, _style

    if not panels:
        raise UsageError("nothing to draw: no posterior was given")
    height = TOP + ROW_HEIGHT * len(panels) + BOTTOM
    with matplotlib.rc_context(_style()):
        fig = Figure(figsize=(WIDTH, height), dpi=100, facecolor="white")
        _attach_canvas(fig)
        for i, p in enumerate(panels):
            bottom = (BOTTOM + ROW_HEIGHT * (len(panels) - 1 - i) + 0.35) / height
            h = (ROW_HEIGHT - 0.75) / height
            left = fig.add_axes((0.08, bottom, 0.4, h))
            right = fig.add_axes((0.57, bottom, 0.4, h))
            left.plot(p.mu_x, p.mu_y, color=POSTERIOR_COLOUR, linewidth=1.3,
                      label=posterior_label)
            if p.mu_marker is not None:
                left.axvline(p.mu_marker, color=INDEX_COLOUR, linewidth=1.0,
                             label=p.mu_marker_label or None)
            if p.mu_ticks:
                left.set_xticks([t for t, _ in p.mu_ticks], [s for _, s in p.mu_ticks])
            right.plot(p.tau_x, p.tau_y, color=POSTERIOR_COLOUR, linewidth=1.3,
                       label=posterior_label)
            right.plot(p.tau_x, p.prior_y, color=PRIOR_COLOUR, linewidth=1.0,
                       linestyle="--", label=prior_label)
            for ax in (left, right):
                ax.set_ylim(bottom=0.0)
                ax.set_yticks([])
                ax.spines[["top", "right", "left"]].set_visible(False)
                ax.legend(loc="upper right", frameon=False, fontsize=6.5)
            right.set_xlim(left=0.0)
            left.set_title(p.title, loc="left", fontsize=8.0)
            left.set_xlabel(mu_label, fontsize=7.0)
            right.set_xlabel(tau_label, fontsize=7.0)
    return fig
