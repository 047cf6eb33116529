"""Repeat groups (household members, plots ...) linked to their parent submission (case 15).

KoboToolbox puts each repeat group on its own sheet, linking a child row to its parent through
``_parent_index`` (the parent's ``_index``); ODK Briefcase/Central and SurveyCTO write a child
file whose ``PARENT_KEY`` is the parent's ``KEY`` (for nested repeats, the key of a repeat
instance such as ``uuid:…/anggota[2]``).  A child whose parent is missing (a deleted or
unsubmitted household, a truncated export) is never attached to anything:
``quarantined(orphan_repeat:<parent table>)``, counted per repeat table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.inputs.readers import RawTable, normalize_text

#: (child column, parent column) pairs, in the order they are tried.
LINKS = (("_parent_index", "_index"), ("PARENT_KEY", "KEY"), ("parent_key", "key"))


@dataclass(frozen=True)
class RepeatLink:
    """A repeat table checked against its parent.

    Attributes
    ----------
    row_states
        One row per child record: ``_row``, ``state`` (``clean`` or ``quarantined``), ``reason``.
    parent_position
        Per child record, the position of its parent row in the parent table (-1 for orphans).
    note
        The count for the run log.
    """

    row_states: pd.DataFrame
    parent_position: np.ndarray
    note: str

    @property
    def counts(self) -> dict[str, int]:
        """Child rows per state, plus ``raw``."""
        counts = self.row_states["state"].value_counts()
        result = {s: int(counts.get(s, 0)) for s in ("clean", "quarantined", "excluded")}
        result["raw"] = len(self.row_states)
        return result


def link_repeat(child: RawTable, parent: RawTable, *, parent_table: str) -> RepeatLink:
    """Attach each child row to its parent; quarantine orphans.

    Parameters
    ----------
    child
        The repeat table (one row per member, plot, ...).
    parent
        The table it repeats within (the households, or an outer repeat).
    parent_table
        Name of the parent table, used in the reason ``orphan_repeat:<parent_table>``.

    Returns
    -------
    RepeatLink

    Raises
    ------
    InputError
        When neither ``_parent_index``/``_index`` nor ``PARENT_KEY``/``KEY`` link the tables,
        or the parent keys are not unique.
    """
    link = next(
        (pair for pair in LINKS if pair[0] in child.frame.columns and pair[1] in parent.frame.columns), None
    )
    if link is None:
        raise InputError(
            "no link to the parent table: expecting _parent_index (Kobo, with _index in the parent) "
            "or PARENT_KEY (ODK/SurveyCTO, with KEY in the parent)",
            file=child.path,
            rows=[1],
            sheet=child.sheet,
        )
    child_key = normalize_text(child.frame[link[0]])[0].astype(str)
    parent_key = normalize_text(parent.frame[link[1]])[0].astype(str)
    repeated = parent_key.duplicated(keep=False) & (parent_key != "")
    if repeated.any():
        raise InputError(
            f"parent key {link[1]} is not unique – the parent export has duplicated rows",
            file=parent.path,
            rows=parent.row_numbers[repeated.to_numpy()].tolist(),
            column=link[1],
            sheet=parent.sheet,
        )
    lookup = pd.Series(np.arange(len(parent_key)), index=parent_key.to_numpy())
    position = child_key.map(lookup).to_numpy(dtype=np.float64, na_value=np.nan)
    orphan = np.isnan(position) | (child_key == "").to_numpy()
    reason = f"orphan_repeat:{parent_table}"
    states = pd.DataFrame(
        {
            "_row": child.row_numbers,
            "state": np.where(orphan, "quarantined", "clean"),
            "reason": np.where(orphan, reason, ""),
        }
    )
    assert len(states) == len(child.frame)  # every child row has exactly one state
    note = f"{child.path.name}: {int(orphan.sum())} of {len(states)} rows without a parent in {parent_table}"
    parents = np.where(orphan, -1, np.nan_to_num(position, nan=-1)).astype(np.int64)
    return RepeatLink(row_states=states, parent_position=parents, note=note)
