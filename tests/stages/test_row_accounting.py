"""The row accounting of the estimate stage: every raw row clean, quarantined or excluded."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import BerdayaError
from analysis.stages.estimate import row_accounting


def write_states(folder: Path, round_name: str, states: list[str]) -> None:
    lines = ["_row,state,reason", *(f"{i + 2},{s}," for i, s in enumerate(states))]
    (folder / f"{round_name}_row_states.csv").write_text("\n".join(lines) + "\n")


def test_row_accounting_counts_each_state(tmp_path: Path) -> None:
    write_states(tmp_path, "baseline", ["clean", "clean", "quarantined", "excluded"])
    write_states(tmp_path, "followup", ["clean", "excluded"])
    table = row_accounting(tmp_path).set_index("round")
    assert table.loc["baseline", ["n_raw", "clean", "quarantined", "excluded"]].tolist() == [4, 2, 1, 1]
    assert table.loc["followup", ["n_raw", "clean", "quarantined", "excluded"]].tolist() == [2, 1, 0, 1]


def test_an_edited_row_states_file_is_a_one_line_error_not_an_assert(tmp_path: Path) -> None:
    # A state outside the three (a hand edit) breaks n_raw = clean + quarantined + excluded. The
    # check must survive `python -O`, so it is a BerdayaError naming the file, not an assert.
    write_states(tmp_path, "baseline", ["clean", "dropped"])
    write_states(tmp_path, "followup", ["clean"])
    with pytest.raises(BerdayaError, match=r"baseline_row_states\.csv: the row accounting does not add up"):
        row_accounting(tmp_path)
