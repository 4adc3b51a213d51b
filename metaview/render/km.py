"""Overlay figure of reconstructed Kaplan-Meier curves with a numbers-at-risk table.

The renderer draws what it is given (:class:`KMLine`: the step function, the censoring
marks and the numbers at risk at the table times, all in months); it computes nothing.
One colour per arm; the index cohort is drawn thicker, in the forest plot's index colour;
studies sharing an arm differ by line style. Written with
:func:`metaview.render.forest.save_figure` (png/svg/pdf, atomic, the same bytes for the
same figure).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: Colours of the arms in order of appearance (colour-blind safe; the index has its own).
ARM_COLOURS = ("#1f3b73", "#4d9221", "#e08214", "#542788", "#2c7fb8", "#8c510a", "#7a7a7a")
LINE_STYLES = ("-", "--", ":", "-.")
WIDTH = 7.0
PLOT_HEIGHT = 3.4
ROW = 0.17  # one row of the numbers-at-risk table, inches
TOP = 0.45
BOTTOM = 0.5
LEFT = 1.55
RIGHT = 0.25


@dataclass(frozen=True)
class KMLine:
    """One reconstructed curve as drawn (times in months)."""

    label: str
    arm: str
    is_index: bool
    times: Sequence[float]  # the step function: survival from times[i] on
    survival: Sequence[float]
    censor_times: Sequence[float]
    censor_survival: Sequence[float]
    at_risk: Sequence[int]  # at the figure's table times
    end: float  # the last follow-up time: the line stops there


def km_figure(lines: Sequence[KMLine], table_times: Sequence[float], *,
              title: str | None = None, x_label: str = "Months") -> Figure:
    """The overlay figure: curves on top, the numbers-at-risk table under the axis."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.transforms import offset_copy

    from metaview.errors import UsageError
    from metaview.render.forest import INDEX_COLOUR, _attach_canvas, _style

    if not lines:
        raise UsageError("nothing to draw: no curve was given")
    colours = _colours(lines, INDEX_COLOUR)
    styles = _styles(lines)
    table_height = ROW * (len(lines) + 1.6)
    height = TOP + PLOT_HEIGHT + 0.45 + table_height + BOTTOM
    with matplotlib.rc_context(_style()):
        fig = Figure(figsize=(WIDTH, height), dpi=100, facecolor="white")
        _attach_canvas(fig)
        plot_w = (WIDTH - LEFT - RIGHT) / WIDTH
        ax = fig.add_axes((LEFT / WIDTH, (BOTTOM + table_height + 0.45) / height, plot_w,
                           PLOT_HEIGHT / height))
        x_max = max([line.end for line in lines] + [max(table_times, default=0.0)])
        for i, line in enumerate(lines):
            width = 2.0 if line.is_index else 1.2
            ax.step(list(line.times) + [line.end], list(line.survival) + [line.survival[-1]],
                    where="post", color=colours[i], linestyle=styles[i], linewidth=width,
                    label=f"{line.label} ({line.arm})", zorder=3 if line.is_index else 2)
            ax.plot(line.censor_times, line.censor_survival, linestyle="none", marker="|",
                    markersize=4.5, markeredgewidth=0.8, color=colours[i],
                    zorder=3 if line.is_index else 2)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlim(0.0, x_max * 1.02 if x_max > 0 else 1.0)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0%", "25%", "50%", "75%", "100%"])
        if table_times:
            ax.set_xticks(list(table_times))
            ax.set_xticklabels([f"{t:g}" for t in table_times])
        ax.set_xlabel(x_label)
        ax.set_ylabel("Survival (reconstructed)")
        ax.grid(True, color="#e6e6e6", linewidth=0.5, zorder=0)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(loc="upper right", frameon=False, fontsize=6.5)
        if title:
            fig.text(0.5, 1.0 - 0.22 / height, title, ha="center", va="center", fontsize=9.5)
        table = fig.add_axes((LEFT / WIDTH, BOTTOM / height, plot_w, table_height / height),
                             sharex=ax)
        table.set_ylim(len(lines) + 1.1, -0.2)
        table.set_axis_off()
        # row labels 0.25 inch left of the axis, clear of the numbers at time 0
        labels = offset_copy(table.get_yaxis_transform(), fig=fig, x=-0.25, units="inches")
        table.text(0.0, 0.0, "Number at risk", transform=labels, ha="right", va="center",
                   fontsize=6.5, fontweight="bold")
        for i, line in enumerate(lines):
            y = i + 1
            table.text(0.0, y, line.label, transform=labels, ha="right", va="center",
                       fontsize=6.5, color=colours[i])
            for t, n in zip(table_times, line.at_risk):
                table.text(t, y, str(n), ha="center", va="center", fontsize=6.5,
                           color=colours[i])
    return fig


def _colours(lines: Sequence[KMLine], index_colour: str) -> list[str]:
    arms: list[str] = []
    for line in lines:
        if not line.is_index and line.arm not in arms:
            arms.append(line.arm)
    return [index_colour if line.is_index else ARM_COLOURS[arms.index(line.arm)
                                                           % len(ARM_COLOURS)]
            for line in lines]


def _styles(lines: Sequence[KMLine]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for line in lines:
        key = "(index)" if line.is_index else line.arm
        out.append(LINE_STYLES[seen.get(key, 0) % len(LINE_STYLES)])
        seen[key] = seen.get(key, 0) + 1
    return out
