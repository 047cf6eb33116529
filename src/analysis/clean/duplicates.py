"""Duplicate submissions and the decisions file (DIME ``ieduplicates`` pattern, cases 31-32).

* An **exact duplicate** (the same submission downloaded twice: identical in every column but
  the export's row counter ``_index``) is collapsed: the first copy is kept, the others are
  ``excluded(duplicate_submission)``.
* Two **different submissions for one household id** are never resolved by picking one: every
  row of the group is ``quarantined(duplicate_id_conflict)`` and listed in the duplicates
  report (``<round>_duplicates.csv`` in the processed folder), with the variables that differ
  and personal values masked.
* The user resolves a group in the **decisions file** (study key ``decisions``), which is
  reapplied on every run::

      round,id,submission,row,action,new_id,reason
      baseline,00130,uuid-a,,keep,,second visit was a re-interview by mistake
      baseline,00130,uuid-b,,drop,,duplicate of uuid-a
      baseline,00131,uuid-c,,new_id,00199,typo in the id; paper form says 00199

  ``submission`` (the export's submission id) names the record; without a submission id in the
  export, ``row`` (the spreadsheet row) does.  ``id``, when given, must still be the record's
  household id, so a decision cannot silently move to another household after a re-export.
  ``action`` is ``keep``, ``drop`` (``excluded(dropped_by_decision)``) or ``new_id`` (the
  household id becomes ``new_id``); empty means undecided.  A group is resolved when at most
  one of its records is left; until then all of them stay quarantined.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from analysis.config import ROUNDS
from analysis.errors import InputError
from analysis.inputs.readers import read_instruction_file
from analysis.shared.masking import mask_value

Action = Literal["keep", "drop", "new_id"]
ACTIONS: tuple[str, ...] = get_args(Action)
DECISION_COLUMNS = ("round", "id", "submission", "row", "action", "new_id", "reason")
REPORT_COLUMNS = (
    "round",
    "group",
    "submission",
    "row",
    "state",
    "differs",
    "values",
    "action",
    "new_id",
    "reason",
)

#: Columns an export numbers afresh on every download; they do not make two copies differ.
POSITION_COLUMNS = ("_index",)


def report_column(name: str) -> str:
    """The name a data column has in the duplicates report.

    The household id column keeps its name (the clean stage pseudonymizes it by that name),
    unless the name is one of the report's own columns (an id called ``state`` or ``row``):
    then it is prefixed with ``id_``, so the report never has two columns of one name.

    >>> report_column("hhid"), report_column("state")
    ('hhid', 'id_state')
    """
    taken = set(REPORT_COLUMNS)
    out = name
    while out in taken:
        out = f"id_{out}"
    return out


def exact_duplicates(frame: pd.DataFrame, *, ignore: Sequence[str] = POSITION_COLUMNS) -> np.ndarray:
    """Rows that repeat an earlier row in every column except ``ignore`` (the first copy is kept)."""
    subset = [c for c in frame.columns if c not in set(ignore)]
    if not subset:
        return np.zeros(len(frame), dtype=bool)
    return frame.duplicated(subset=subset, keep="first").to_numpy()


def conflict_groups(ids: pd.Series, live: np.ndarray) -> np.ndarray:
    """Group number (0, 1, ...) of live rows sharing a non-empty id with another live row; -1 otherwise."""
    key = ids.where(live & ids.notna().to_numpy() & (ids.astype(str) != "").to_numpy())
    dup = key.duplicated(keep=False).to_numpy() & key.notna().to_numpy()
    groups = np.full(len(ids), -1, dtype=np.int64)
    if dup.any():
        codes, _ = pd.factorize(key[dup], sort=False)
        groups[dup] = codes
    return groups


def read_decisions(path: str | Path) -> pd.DataFrame:
    """Read and check a decisions file.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`DECISION_COLUMNS` (text) plus ``_line``, the spreadsheet row of
        each decision; ``attrs["path"]`` holds the file.

    Raises
    ------
    InputError
        Naming the file's row and column of a malformed decision.
    """
    out = read_instruction_file(
        path,
        kind="decisions",
        columns=DECISION_COLUMNS,
        required=("round", "action"),
        one_of=("submission", "row"),
    )
    out["action"] = out["action"].str.casefold()
    problems = (
        ("round", ~out["round"].isin(ROUNDS), "baseline or followup"),
        ("action", ~out["action"].isin(("", *ACTIONS)), "keep, drop, new_id or empty"),
        ("row", (out["submission"] == "") & ~out["row"].str.fullmatch(r"[0-9]+"), "a submission id or a row"),
        ("new_id", (out["action"] == "new_id") & (out["new_id"] == ""), "the new household id"),
        ("reason", (out["action"] != "") & (out["reason"] == ""), "why the decision was taken"),
    )
    for column, bad, expected in problems:
        if bad.any():
            raise InputError(
                f"expecting {expected}",
                file=out.attrs["path"],
                rows=out.loc[bad, "_line"].astype(int).tolist(),
                column=column,
            )
    return out


@dataclass(frozen=True)
class Matched:
    """Decisions matched to the records of one round.

    Attributes
    ----------
    action
        Per record: ``keep``, ``drop``, ``new_id`` or ``""``.
    new_id
        Per record: the new household id for ``new_id``, else ``""``.
    reason
        Per record: the decision's reason.
    notes
        Decisions that match no record (the export changed), for the run log.
    """

    action: np.ndarray
    new_id: np.ndarray
    reason: np.ndarray
    notes: tuple[str, ...]


def match_decisions(
    decisions: pd.DataFrame,
    *,
    round_name: str,
    rows: np.ndarray,
    ids: pd.Series,
    submissions: pd.Series | None,
    file_name: str,
) -> Matched:
    """Attach each decision of ``round_name`` to its record.

    Parameters
    ----------
    decisions
        As returned by :func:`read_decisions`.
    round_name
        The round being cleaned.
    rows
        Spreadsheet row of each record.
    ids
        Household id of each record (normalized text).
    submissions
        Submission id of each record, or None when the export has none.
    file_name
        The raw file, for messages.

    Raises
    ------
    InputError
        When two decisions name the same record, or a decision's ``id`` is no longer the
        record's household id.
    """
    n = len(rows)
    action = np.full(n, "", dtype=object)
    new_id = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    mine = decisions.loc[decisions["round"] == round_name]
    source = Path(str(decisions.attrs.get("path", "decisions.csv")))
    if mine.empty:
        return Matched(action, new_id, reason, ())
    by_submission: dict[str, np.ndarray] = {}
    if submissions is not None:
        text = submissions.astype(str)
        by_submission = {str(k): np.asarray(v) for k, v in text.groupby(text, sort=False).indices.items()}
    by_row = {int(r): i for i, r in enumerate(rows)}
    taken: dict[int, int] = {}
    notes: list[str] = []
    id_text = ids.astype(object).where(ids.notna(), "").astype(str).to_numpy()
    for record in mine.to_dict("records"):
        line = int(record["_line"])
        if record["submission"]:
            positions = by_submission.get(str(record["submission"]), np.empty(0, dtype=np.int64))
        else:
            position = by_row.get(int(record["row"]))
            positions = np.array([] if position is None else [position], dtype=np.int64)
        if len(positions) == 0:
            notes.append(f"{source.name} row {line}: no record of {file_name} matches; decision not applied")
            continue
        if record["id"] and (id_text[positions] != record["id"]).any():
            raise InputError(
                f"the record it names ({file_name} row {int(rows[positions[0]])}) has another household "
                "id now – the export changed; update the decision",
                file=source,
                rows=[line],
                column="id",
            )
        for position in positions:
            if int(position) in taken:
                raise InputError(
                    f"two decisions (rows {taken[int(position)]} and {line}) name {file_name} row "
                    f"{int(rows[position])} – keep one",
                    file=source,
                    rows=[taken[int(position)], line],
                )
            taken[int(position)] = line
        action[positions] = record["action"]
        new_id[positions] = record["new_id"]
        reason[positions] = record["reason"]
    return Matched(action, new_id, reason, tuple(notes))


def check_keeps(groups: np.ndarray, action: np.ndarray, *, rows: np.ndarray, file_name: str) -> None:
    """Refuse two ``keep`` decisions in one conflict group (a contradiction, not a choice)."""
    keep = (groups >= 0) & (action == "keep")
    if not keep.any():
        return
    counts = pd.Series(groups[keep]).value_counts()
    bad = counts[counts > 1]
    if len(bad):
        hit = keep & np.isin(groups, bad.index.to_numpy())
        raise InputError(
            "decisions keep more than one record of the same household – keep one, drop or re-id the others",
            file=file_name,
            rows=[int(r) for r in rows[hit]],
        )


def _cell(value: Any) -> str:
    """A value as a person would write it: ``750000`` rather than ``750000.0``."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def duplicates_report(
    data: pd.DataFrame,
    groups: np.ndarray,
    *,
    round_name: str,
    id_column: str,
    submissions: pd.Series | None,
    rows: np.ndarray,
    state: np.ndarray,
    matched: Matched,
    personal: set[str],
    ignore: Sequence[str] = (),
) -> pd.DataFrame:
    """The ieduplicates-style report of every conflict group.

    One row per record of a group: the household id (in column ``report_column(id_column)``,
    so the clean stage pseudonymizes it with the data), the submission id, the spreadsheet row, the state
    after this run's decisions, the variables whose values differ within the group, this
    record's values of those variables (personal ones masked), and the decision applied.

    Parameters
    ----------
    data
        Typed values, one row per raw record (RangeIndex).
    groups
        Conflict group per record (-1: none), as found before decisions.
    round_name, id_column, submissions, rows, state, matched
        The round, the household id column of ``data``, the submission ids, spreadsheet rows,
        final states and matched decisions of the records.
    personal
        Columns whose values are masked.
    ignore
        Columns that differ by construction (row numbers, submission times) and are not listed.
    """
    in_group = groups >= 0
    id_report = report_column(id_column)
    columns = ["round", "group", id_report, *REPORT_COLUMNS[2:]]
    if not in_group.any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    positions = np.flatnonzero(in_group)
    sub = data.iloc[positions].reset_index(drop=True)
    compare = [c for c in sub.columns if c not in set(ignore) and c != id_column]
    group_of = groups[positions]
    differs = sub[compare].astype(object).groupby(group_of).nunique(dropna=False) > 1
    # Per record: the differing variables of its group, and this record's values of them.
    differ_rows = differs.reindex(group_of).to_numpy()
    names = np.array(compare, dtype=object)
    values = np.full(len(positions), "", dtype=object)
    for j, column in enumerate(compare):
        hit = differ_rows[:, j]
        if not hit.any():
            continue
        cells = np.array([_cell(v) for v in sub[column].to_numpy(dtype=object)], dtype=object)
        if column in personal:
            cells = np.array([mask_value(c) for c in cells], dtype=object)
        piece = np.where(hit, column + "=" + cells, "")
        values = np.where(piece == "", values, np.where(values == "", piece, values + "; " + piece))
    differ_text = [", ".join(names[row]) for row in differ_rows]
    report = pd.DataFrame(
        {
            "round": round_name,
            "group": groups[positions] + 1,
            id_report: data[id_column].iloc[positions].to_numpy(),
            "submission": "" if submissions is None else submissions.iloc[positions].to_numpy(),
            "row": np.asarray(rows)[positions],
            "state": state[positions],
            "differs": differ_text,
            "values": values,
            "action": matched.action[positions],
            "new_id": [mask_value(str(v)) if v else "" for v in matched.new_id[positions]],
            "reason": matched.reason[positions],
        }
    )
    return report[columns].sort_values(["group", "row"], kind="stable").reset_index(drop=True)
