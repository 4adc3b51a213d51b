"""Presentation: number formatting (shared by tables, plots and reports) and figures."""
