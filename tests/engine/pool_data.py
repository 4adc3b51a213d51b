"""Study folders written for the pooling tests (imported by plain name: ``from pool_data
import write_studies``; ``tests/engine`` is on the test path, see pyproject.toml)."""

from __future__ import annotations

from pathlib import Path


def write_studies(folder: Path, x: list[int], n: list[int], *, endpoint: str = "ORR",
                  arm: str = "arm A", time: float | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (xi, ni) in enumerate(zip(x, n)):
        when = "" if time is None else f"\n    time_months: {time}"
        (folder / f"s{i:02d}.yaml").write_text(
            f"id: s{i:02d}\nlabel: Study {i}\ncitation: Test study {i}.\nyear: 2020\n"
            f"arm: {arm}\npatients: {ni}\noutcomes:\n  - endpoint: {endpoint}{when}\n"
            f"    count: {xi}\n    total: {ni}\n    source: Table 1\n")
    return folder
