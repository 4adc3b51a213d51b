"""The forest plot's sizes, fonts, colours, marks and output formats."""

from __future__ import annotations

#: Output formats of :func:`save_figure`, by file name extension.
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Resolution of PNG output (print).
PNG_DPI = 300
#: The one font: ships with matplotlib, so the output is the same on every machine.
FONT_FAMILY = "DejaVu Sans"

# Marks after a cell, explained in the footnotes.
MARK_APPROXIMATE = "\u2020"  # dagger
MARK_DERIVED = "\u2021"  # double dagger
MARK_ORIGIN = "\u00a7"  # section sign
MARK_RECONSTRUCTED = "\u00b6"  # pilcrow: read from a reconstructed Kaplan-Meier curve

# Sizes: points for fonts, inches for the layout.
FONT_SIZE = 7.0
NOTE_SIZE = 6.5
PANEL_TITLE_SIZE = 8.0
TITLE_SIZE = 9.5
LINE_SPACING = 1.2
ROW = 0.18  # height of a one-line row
MARGIN = 0.12
COL_GAP = 0.09
PANEL_GAP = 0.28
PLOT_WIDTH = 1.5
LABEL_MIN_WIDTH = 1.0
LABEL_MAX_WIDTH = 2.2
LABEL_MAX_LINES = 4
MARK_PAD = 0.01  # between a cell and its marks
NOTE_MAX_LINES = 4
#: Characters laid out per allowed line of a text at most (more than any line holds); the
#: rest of a longer text is cut, with an ellipsis, before it is measured.
LINE_CHARS = 400
SQUARE_MAX_SIDE = 0.62  # of a row, for the largest weight in a panel
DIAMOND_HEIGHT = 0.62  # of a row
PI_BAR_HEIGHT = 0.2  # of a row
AXIS_HEIGHT = 0.42  # tick labels and axis label under the panels
#: Figure widths of ``--width single`` and ``--width double`` (journal columns), inches.
WIDTHS = {"single": 3.5, "double": 7.2}
DEFAULT_WIDTH = WIDTHS["double"]
#: Smallest body font the layout shrinks to when the panels do not fit (points).
MIN_FONT_SIZE = 5.0
#: Widest plot column when a figure is stretched to its width (inches).
PLOT_MAX_WIDTH = 2.6
#: Longest side of a PNG, in pixels (the resolution is lowered to stay below it).
PNG_MAX_PIXELS = 16_000

INK = "#1a1a1a"
GREY = "#8a8a8a"
RULE = "#4d4d4d"
STUDY_COLOUR = "#4d4d4d"
INDEX_COLOUR = "#b2182b"
POOLED_COLOUR = "#1f3b73"
PI_COLOUR = "#8fa8d6"
REFERENCE_COLOUR = "#b0b0b0"
