"""The corrections file: documented cell corrections, reapplied on every run.

The raw export is never edited.  A correction is one row of a CSV (or XLSX) file named by the
study key ``corrections``::

    round,id,submission,column,old,new,reason
    baseline,00130,,inc/wage,"750,000",750000,enumerator confirmed by phone 2023-03-02

* ``round``: ``baseline`` or ``followup``.
* ``id`` (household id) or ``submission`` (the export's submission id, e.g. ``_uuid``):
  which record.  ``id`` must then match exactly one record; with duplicated ids give the
  ``submission``.
* ``column``: a codebook variable (its source in that round is corrected) or a raw column.
* ``old``: the value the cell holds now.  When the cell holds something else the run stops with
  an error naming the correction's row and the raw row and column: the export changed, or the
  correction was already made, and nobody should guess which.
* ``new``: the corrected value, as text (it is parsed like any raw cell).
* ``reason``: why (required).

Corrections are applied to the raw text before cleaning, in file order, and every corrected
cell is listed in the cleaning log (rule ``correction``, personal values masked).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.config import ROUNDS
from analysis.errors import InputError
from analysis.inputs.codebook import Codebook, looks_personal
from analysis.inputs.readers import RawTable, normalize_text, read_instruction_file
from analysis.shared.masking import describe_value, mask_value

CORRECTION_COLUMNS = ("round", "id", "submission", "column", "old", "new", "reason")
CHANGE_COLUMNS = ("_row", "column", "old", "new", "rule")


def read_corrections(path: str | Path) -> pd.DataFrame:
    """Read and check a corrections file.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`CORRECTION_COLUMNS` (text, stripped) plus ``_line``, the
        spreadsheet row of each correction.

    Raises
    ------
    InputError
        When a required column is missing or a row is incomplete.
    """
    out = read_instruction_file(
        path,
        kind="corrections",
        columns=CORRECTION_COLUMNS,
        required=("round", "column", "old", "new", "reason"),
        one_of=("id", "submission"),
        verbatim=("old", "new"),  # compared with the raw cell as exported
    )
    blank = (out["round"] == "") & (out["column"] == "") & (out["id"] == "") & (out["submission"] == "")
    out = out.loc[~blank].reset_index(drop=True)
    for column, problem in (
        ("round", ~out["round"].isin(ROUNDS)),
        ("column", out["column"] == ""),
        ("reason", out["reason"] == ""),
        ("id", (out["id"] == "") & (out["submission"] == "")),
    ):
        if problem.any():
            expected = {
                "round": "baseline or followup",
                "column": "a variable or raw column name",
                "reason": "why the value is corrected",
                "id": "the household id or the submission id",
            }[column]
            raise InputError(
                f"expecting {expected}",
                file=out.attrs["path"],
                rows=out.loc[problem, "_line"].astype(int).tolist(),
                column=column,
            )
    return out


def _index(values: pd.Series) -> dict[str, np.ndarray]:
    """Normalized text -> record positions holding it."""
    text = normalize_text(values.astype(str))[0].astype(str)
    return {str(k): np.asarray(v) for k, v in text.groupby(text, sort=False).indices.items()}


def apply_corrections(
    table: RawTable, corrections: pd.DataFrame, *, round_name: str, codebook: Codebook
) -> tuple[RawTable, pd.DataFrame]:
    """Apply the corrections of ``round_name`` to a raw table.

    Parameters
    ----------
    table
        The raw export.
    corrections
        As returned by :func:`read_corrections`.
    round_name
        Only corrections of this round are applied.
    codebook
        Resolves variable names to source columns, and the household and submission ids.

    Returns
    -------
    tuple[RawTable, pandas.DataFrame]
        The corrected table (a copy) and the change log of the corrected cells.

    Raises
    ------
    InputError
        Naming the corrections file's row (and the raw file's row and column) when a
        correction cannot be applied: unknown column, record not found or not unique, or a
        cell that no longer holds ``old``.
    """
    mine = corrections.loc[corrections["round"] == round_name]
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
    if mine.empty:
        return table, empty
    source_file = Path(str(corrections.attrs.get("path", "corrections.csv")))
    frame = table.frame.copy()
    rows = table.row_numbers
    raw_name = table.path.name
    by_source = {v.sources[round_name]: v for v in codebook.for_round(round_name)}
    lookups: dict[str, dict[str, np.ndarray]] = {}

    def lookup(role: str, line: int, column: str) -> dict[str, np.ndarray]:
        variables = [v for v in codebook.by_role(role) if round_name in v.sources]
        if not variables or variables[0].sources[round_name] not in frame.columns:
            raise InputError(
                f"the codebook gives no {role} column for the {round_name} round",
                file=source_file,
                rows=[line],
                column=column,
            )
        source = variables[0].sources[round_name]
        if source not in lookups:
            lookups[source] = _index(frame[source])
        return lookups[source]

    changes = []
    for record in mine.to_dict("records"):
        line = int(record["_line"])
        name = str(record["column"])
        variable = (
            codebook.get(name) if name in codebook and round_name in codebook.get(name).sources else None
        )
        column = variable.sources[round_name] if variable is not None else name
        if column not in frame.columns:
            raise InputError(
                f"`{name}` is neither a codebook variable of the {round_name} round "
                f"nor a column of {raw_name}",
                file=source_file,
                rows=[line],
                column="column",
            )
        variable = variable or by_source.get(column)
        personal = bool(variable is not None and (variable.pii or variable.type == "id")) or (
            looks_personal(column) and not (variable is not None and variable.pii_no)
        )
        if record["submission"]:
            key, role = str(record["submission"]), "submission_id"
        else:
            key, role = str(record["id"]), "household_id"
        field = "submission" if role == "submission_id" else "id"
        positions = lookup(role, line, field).get(
            normalize_text(pd.Series([key]))[0].iloc[0], np.empty(0, int)
        )
        if len(positions) == 0:
            raise InputError(
                f"no record of {raw_name} has this {field} – check the {field}, or remove the correction",
                file=source_file,
                rows=[line],
                column=field,
            )
        if role == "household_id" and len(positions) > 1:
            raise InputError(
                f"{len(positions)} records of {raw_name} ({_rows(rows[positions])}) have this household id – "
                "give the submission id instead",
                file=source_file,
                rows=[line],
                column="id",
            )
        current = normalize_text(frame[column].iloc[positions].astype(str))[0].astype(str)
        old = normalize_text(pd.Series([str(record["old"])]))[0].iloc[0]
        wrong = current.to_numpy() != old
        if wrong.any():
            found = current.to_numpy()[wrong][0]
            shown = (
                f"{describe_value(found)}, expected `old` as {describe_value(old)}"
                if personal
                else f"{found!r}, expected {old!r}"
            )
            raise InputError(
                f"{raw_name} {_rows(rows[positions[wrong]])} column {column} holds {shown} – the export "
                "changed or the correction was already made; update or remove this correction",
                file=source_file,
                rows=[line],
                column="old",
            )
        before = frame[column].iloc[positions].astype(str).to_numpy()
        values = frame[column].astype(object).to_numpy(copy=True)
        values[positions] = str(record["new"])
        frame[column] = pd.Series(values, index=frame.index, dtype="str")
        lookups.pop(column, None)  # a corrected id column must be indexed afresh
        shown_old = [mask_value(b) for b in before] if personal else list(before)
        shown_new = mask_value(str(record["new"])) if personal else str(record["new"])
        changes.append(
            pd.DataFrame(
                {
                    "_row": rows[positions],
                    "column": variable.name if variable is not None else column,
                    "old": shown_old,
                    "new": shown_new,
                    "rule": "correction",
                }
            )
        )
    note = f"{len(mine)} correction{'s' if len(mine) != 1 else ''} applied from {source_file.name}"
    corrected = replace(table, frame=frame, fixes=(*table.fixes, note))
    return corrected, pd.concat(changes, ignore_index=True)


def _rows(rows: np.ndarray) -> str:
    values = sorted(int(r) for r in rows)
    return f"row {values[0]}" if len(values) == 1 else f"rows {', '.join(map(str, values))}"
