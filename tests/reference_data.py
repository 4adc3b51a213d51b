"""The pinned metafor reference numbers and the tolerances they are checked to.

Imported by plain name (``from reference_data import ...``): ``tests/`` is on the test path
(``pythonpath`` in pyproject.toml), so plain ``pytest`` and ``python -m pytest`` both work.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "reference" / "metafor_reference.json"

#: relative tolerances (brief: 1e-6 for closed forms, 1e-4 for iterative estimators)
CLOSED_FORM_RTOL = 1e-6
ITERATIVE_RTOL = 1e-4


@lru_cache(maxsize=1)
def metafor_reference() -> dict:
    return json.loads(REFERENCE.read_text())
