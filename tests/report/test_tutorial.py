"""The tutorial runs top to bottom through papermill, in English and Indonesian.

It runs on the session's small demo study (``demo_run`` in tests/conftest.py; the same generator as
the bundled demo, fewer villages), so that its stages take seconds. Both runs are made in the
background, once the demo is built (``tutorial_runs``, tests/jobs.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from jobs import TUTORIALS

from analysis.config import NOTEBOOKS_DIR

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("name", "language"), TUTORIALS)
def test_tutorial_runs_and_its_numbers_come_from_the_pipeline(
    tutorial_runs: dict[str, tuple[Path, Path, str]], name: str, language: str
) -> None:
    executed, work, error = tutorial_runs[name]
    assert not error, error
    nb = nbformat.read(executed, as_version=4)
    assert (work / "tables" / "impact.csv").is_file()
    text = "\n".join(
        str(o.get("data", {}).get("text/markdown", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    keyword = "difference-in-differences" if language == "en" else "selisih-dari-selisih"
    assert keyword in text.lower()
    # Markdown cells (hand-written) carry no digits other than years, section numbers and citations.
    for cell in nbformat.read(NOTEBOOKS_DIR / name, as_version=4).cells:
        if cell.cell_type == "markdown":
            stripped = cell.source
            for allowed in (
                "2023",
                "2025",
                "2012",
                "15 of 30",
                "15 dari 30",
                "1.",
                "2.",
                "3.",
                "4.",
                "5.",
                "6.",
            ):
                stripped = stripped.replace(allowed, "")
            assert not any(ch.isdigit() for ch in stripped), cell.source[:80]
