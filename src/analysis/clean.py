"""Clean one survey round under the codebook's rules.

Every raw row ends in exactly one state: ``clean``, ``quarantined`` (kept aside with its
reasons, waiting for a correction or decision) or ``excluded`` (deliberately left out, with its
reason). :func:`clean_round` returns the row states with the data, and checks that the counts
add up. Each round is cleaned on its own; linking rounds is the panel stage's job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.codebook import Codebook, Variable
from analysis.errors import CodebookError
from analysis.money import parse_numbers
from analysis.readers import RawTable, normalize_text
from analysis.study import NumberStyle

ROW = "_row"  # spreadsheet row of the record in the raw file (header = row 1)

STATES = ("clean", "quarantined", "excluded")


@dataclass(frozen=True)
class CleanRound:
    """The result of cleaning one round.

    Attributes
    ----------
    round
        ``baseline`` or ``followup``.
    data
        Clean rows, one column per harmonized variable plus ``_row``. Still identified:
        pass it through :func:`analysis.deidentify.deidentify` before writing it anywhere.
    quarantine
        Quarantined rows with the values that could be parsed, ``_row`` and ``reason``.
    row_states
        One row per raw record: ``_row``, ``state`` and ``reason``.
    changes
        The cell-level change log: ``_row``, ``column``, ``old``, ``new``, ``rule``.
    missing
        Counts of values set to missing, by ``variable`` and ``reason``.
    notes
        File-level fixes and warnings (delimiter detected, encoding, ...).
    """

    round: str
    file: str
    data: pd.DataFrame
    quarantine: pd.DataFrame
    row_states: pd.DataFrame
    changes: pd.DataFrame
    missing: pd.DataFrame
    notes: tuple[str, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Rows per state, plus ``raw``."""
        counts = self.row_states["state"].value_counts()
        result = {state: int(counts.get(state, 0)) for state in STATES}
        result["raw"] = len(self.row_states)
        return result

    def reason_counts(self) -> pd.DataFrame:
        """Rows per state and reason (reasons joined by ``;`` are split)."""
        states = self.row_states.loc[self.row_states["state"] != "clean", ["state", "reason"]]
        exploded = states.assign(reason=states["reason"].str.split(";")).explode("reason")
        return exploded.groupby(["state", "reason"], sort=True).size().rename("rows").reset_index()


class _Log:
    """Collects cell changes and missing-value reasons while columns are converted."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.changes: list[pd.DataFrame] = []
        self.missing: list[tuple[str, str, int]] = []

    def change(
        self, mask: np.ndarray, column: str, old: pd.Series, new: pd.Series, rule: str, *, pii: bool
    ) -> None:
        if not mask.any():
            return
        old_values = old[mask].astype(str)
        if pii:
            old_values = old_values.map(mask_value)
        self.changes.append(
            pd.DataFrame(
                {
                    ROW: self.rows[mask],
                    "column": column,
                    "old": old_values.to_numpy(),
                    "new": new[mask].astype(str).to_numpy(),
                    "rule": rule,
                }
            )
        )

    def changes_frame(self) -> pd.DataFrame:
        if not self.changes:
            return pd.DataFrame(columns=[ROW, "column", "old", "new", "rule"])
        return pd.concat(self.changes, ignore_index=True)


def mask_value(text: str) -> str:
    """Mask a personal value for logs: keep its length and at most its first and last two characters.

    >>> mask_value("9401011201900013")
    '94************13'
    >>> mask_value("Siti")
    '****'
    """
    if len(text) <= 6:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


def _convert(
    variable: Variable,
    raw: pd.Series,
    *,
    number_style: NumberStyle,
    log: _Log,
    quarantine: list[tuple[np.ndarray, str]],
) -> pd.Series:
    """Convert one raw text column to its typed, harmonized form."""
    text, _ = normalize_text(raw)
    changed = (text != raw).to_numpy()
    log.change(changed, variable.name, raw, text, "whitespace_removed", pii=variable.pii)

    folded = text.str.casefold()
    missing_reason = pd.Series("", index=text.index, dtype=object)
    for code, reason in variable.missing_codes.items():
        hit = (folded == code).to_numpy()
        missing_reason[hit] = reason
    coded = (missing_reason != "").to_numpy()
    for code_reason, count in pd.Series(missing_reason[coded]).value_counts().items():
        log.missing.append((variable.name, str(code_reason), int(count)))
    log.change(coded, variable.name, text, missing_reason, "missing_code", pii=variable.pii)
    empty = (text == "").to_numpy() & ~coded
    if empty.any():
        log.missing.append((variable.name, "skipped_or_not_asked", int(empty.sum())))
    usable = ~coded & ~empty

    if variable.type in ("integer", "number", "money"):
        style: NumberStyle = "id" if variable.type == "money" else number_style
        kind = variable.type
        parsed = parse_numbers(text.where(usable, ""), kind=kind, style=style)
        values = parsed["value"].astype("float64")
        status = parsed["status"].to_numpy()
        for bad, reason in (
            ("ambiguous", "ambiguous_number"),
            ("unparseable", "unparseable_amount"),
        ):
            hit = usable & (status == bad)
            if hit.any():
                quarantine.append((hit, f"{reason}:{variable.name}"))
        reformatted = usable & (status == "ok") & (text.to_numpy() != values.map(_plain).to_numpy())
        log.change(reformatted, variable.name, text, values.map(_plain), "number_parsed", pii=variable.pii)
        _range_check(variable, values, quarantine)
        return values

    if variable.type == "category":
        recoded = folded.map(lambda v: variable.recode.get(v, v))
        if variable.categories:
            allowed = {c.casefold(): c for c in variable.categories}
            known = recoded.str.casefold().isin(list(allowed))
            unknown = usable & ~known.to_numpy()
            if unknown.any():
                quarantine.append((unknown, f"unknown_choice:{variable.name}"))
            recoded = recoded.str.casefold().map(lambda v: allowed.get(v, v))
            case_fixed = usable & known.to_numpy() & (text.to_numpy() != folded.to_numpy())
            log.change(case_fixed, variable.name, text, folded, "case_folded", pii=variable.pii)
        result = recoded.where(usable, None)
        if variable.is_numeric:
            values = pd.to_numeric(result, errors="coerce").astype("float64")
            _range_check(variable, values, quarantine)
            return values
        return result.astype(object)

    # id, text, date and select_multiple are kept as normalised text here; the codebook's
    # richer types are parsed by later, dedicated steps.
    return text.where(usable, None).astype(object)


def _plain(value: float) -> str:
    if pd.isna(value):
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _range_check(variable: Variable, values: pd.Series, quarantine: list[tuple[np.ndarray, str]]) -> None:
    present = values.notna().to_numpy()
    bad = np.zeros(len(values), dtype=bool)
    if variable.valid_min is not None:
        bad |= present & (values.to_numpy() < variable.valid_min)
    if variable.valid_max is not None:
        bad |= present & (values.to_numpy() > variable.valid_max)
    if variable.type == "integer":
        bad |= present & (np.mod(values.fillna(0).to_numpy(), 1) != 0)
    if bad.any():
        quarantine.append((bad, f"out_of_range:{variable.name}"))


def check_sources(table: RawTable, variables: Iterable[Variable], round_name: str) -> None:
    """Fail closed when a codebook source column is absent from the raw file."""
    absent = [v for v in variables if v.sources[round_name] not in table.frame.columns]
    if absent:
        names = ", ".join(f"{v.sources[round_name]} ({v.name})" for v in absent[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        raise CodebookError(
            f"the codebook's source_{round_name} names columns that are not in the file: "
            f"{names}{more}. Fix the codebook or re-export the round",
            file=table.path,
            rows=[1],
        )


def clean_round(
    table: RawTable,
    *,
    round_name: str,
    codebook: Codebook,
    number_style: NumberStyle = "id",
) -> CleanRound:
    """Clean one round's raw export.

    Parameters
    ----------
    table
        The raw export, every cell as text.
    round_name
        ``baseline`` or ``followup``: selects each variable's source column.
    codebook
        The harmonized variables.
    number_style
        How ``integer`` and ``number`` columns are written: ``id`` (``1.500`` = 1500,
        ``1,5`` = 1.5) or ``plain`` (``1.5`` = 1.5). Money always uses ``id``.

    Returns
    -------
    CleanRound

    Raises
    ------
    CodebookError
        When the codebook names a column the file lacks.
    """
    variables = codebook.for_round(round_name)
    check_sources(table, variables, round_name)
    frame = table.frame
    rows = np.asarray(table.row_numbers)
    n = len(frame)
    log = _Log(rows)
    quarantine: list[tuple[np.ndarray, str]] = []

    converted = {
        v.name: _convert(
            v,
            frame[v.sources[round_name]].reset_index(drop=True),
            number_style=number_style,
            log=log,
            quarantine=quarantine,
        )
        for v in variables
    }
    data = pd.DataFrame(converted, index=pd.RangeIndex(n))
    data.insert(0, ROW, rows)

    excluded = np.full(n, "", dtype=object)

    def exclude(mask: np.ndarray, reason: str) -> None:
        target = mask & (excluded == "")
        excluded[target] = reason

    # An exact repeat of a whole submission is an overlapping download, not a second household.
    exclude(frame.duplicated(keep="first").to_numpy(), "duplicate_submission")
    for variable in codebook.by_role("consent"):
        if variable.name in data:
            exclude((data[variable.name] == 0).to_numpy(), "no_consent")
    id_vars = [v for v in codebook.by_role("household_id") if v.name in data]
    if not id_vars:
        raise CodebookError(
            f"no variable with role household_id has a source in the {round_name} round",
            file=codebook.path,
        )
    hh = data[id_vars[0].name]
    exclude(hh.isna().to_numpy() | (hh.astype(str).str.len() == 0).to_numpy(), "no_valid_id")

    quarantined = np.full(n, "", dtype=object)
    for mask, reason in quarantine:
        hit = mask & (excluded == "")
        quarantined[hit] = np.where(quarantined[hit] == "", reason, quarantined[hit] + ";" + reason)
    # Two different submissions for one household id: keep neither until a decision is made.
    live = excluded == ""
    ids = hh.where(live)
    conflict = live & ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    quarantined[conflict] = np.where(
        quarantined[conflict] == "",
        "duplicate_id_conflict",
        quarantined[conflict] + ";duplicate_id_conflict",
    )

    state = np.where(excluded != "", "excluded", np.where(quarantined != "", "quarantined", "clean"))
    reasons = np.where(excluded != "", excluded, quarantined)
    row_states = pd.DataFrame({ROW: rows, "state": state, "reason": reasons})
    counts = row_states["state"].value_counts()
    # The accounting invariant of the whole workbench: every raw row is in exactly one state.
    assert int(counts.sum()) == n == len(table.frame)

    clean_mask = state == "clean"
    q_mask = state == "quarantined"
    quarantine_frame = data.loc[q_mask].assign(reason=reasons[q_mask]).reset_index(drop=True)
    missing = pd.DataFrame(log.missing, columns=["variable", "reason", "count"])
    return CleanRound(
        round=round_name,
        file=table.path.name,
        data=data.loc[clean_mask].reset_index(drop=True),
        quarantine=quarantine_frame,
        row_states=row_states,
        changes=log.changes_frame(),
        missing=missing,
        notes=tuple(table.fixes),
    )
