"""The report being composed, with the look-ups every section needs."""

from __future__ import annotations

from collections.abc import Iterable

from metaview.display import with_labels
from metaview.report.content import (
    Report,
    ordered_studies,
)
from metaview.report.words import characteristic_name, level_text


class _Context:
    """The report plus the look-ups every section needs."""

    def __init__(self, report: Report):
        self.report = report
        self.options = report.options
        self.index = report.index
        self.studies = ordered_studies(report.studies, report.index)
        self.labels = {s.id: s.label for s in report.studies}
        self.level = level_text(report.options.level)
        self.grouped = report.options.group_by is not None
        self.by_arm = report.options.group_by == "arm"

    def label(self, study_id: str) -> str:
        return self.labels.get(study_id, study_id)

    def with_labels(self, text: str) -> str:
        """An engine message with study ids replaced by their labels."""
        return with_labels(text, self.labels)

    def labels_of(self, ids: Iterable[str]) -> list[str]:
        order = {s.id: i for i, s in enumerate(self.studies)}
        return [self.label(i) for i in sorted(ids, key=lambda i: order.get(i, len(order)))]

    def group_word(self) -> str:
        if self.by_arm:
            return "arm"
        return characteristic_name(self.options.group_by or "group").lower()
