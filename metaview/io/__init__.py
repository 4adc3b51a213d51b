"""Study files: the format (:mod:`~metaview.io.schema`), loading and checking them
(:mod:`~metaview.io.loader`) and the template of ``metaview new``
(:mod:`~metaview.io.template`).

>>> from metaview.io import load_studies, outcomes_frame
>>> studies = load_studies(["studies/"])          # doctest: +SKIP
>>> outcomes_frame(studies)                        # doctest: +SKIP
"""

from metaview.io.loader import (
    find_study_files,
    load_studies,
    load_study,
    outcomes_frame,
    study_schema,
)

__all__ = [
    "find_study_files",
    "load_studies",
    "load_study",
    "outcomes_frame",
    "study_schema",
]
