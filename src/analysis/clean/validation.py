"""Schema checks on a cleaned round, with pandera, turned into quarantine reasons.

The codebook's rules become a :class:`pandera.DataFrameSchema` of named checks; validation runs
with ``lazy=True`` so every failure of every row is collected, and never with
``drop_invalid_rows`` (which silently drops rows).  Each failure becomes the quarantine reason
``<check>:<column>`` of its row, e.g. ``out_of_range:age``.

pandera's ``failure_cases`` table holds the raw failing value (a phone number typed into the
age column is still a phone number), so the log this module returns describes values by kind
and length only (``docs/bad-inputs.md`` section 2.6).  Values are parsed by the workbench's own
parsers before validation, so no check depends on pandera's dtype coercion, whose failures
can lack a row index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.inputs.codebook import Codebook, Variable
from analysis.shared.masking import describe_value

#: Indonesia's bounding box (with a margin): GPS points outside are impossible for the survey.
INDONESIA_LATITUDE = (-11.5, 6.5)
INDONESIA_LONGITUDE = (94.5, 141.5)

LOG_COLUMNS = ("_row", "column", "check", "value")


@dataclass(frozen=True)
class Validation:
    """What validation found.

    Attributes
    ----------
    quarantine
        ``(row mask, reason)`` pairs, the reason being ``<check>:<column>``.
    log
        One row per failure: ``_row``, ``column``, ``check`` and ``value`` - the value
        described by kind and length, never shown.
    """

    quarantine: list[tuple[np.ndarray, str]]
    log: pd.DataFrame


def _between(low: float | None, high: float | None) -> Callable[[pd.Series], pd.Series]:
    def check(values: pd.Series) -> pd.Series:
        numbers = pd.to_numeric(values, errors="coerce")
        ok = pd.Series(True, index=values.index)
        if low is not None:
            ok &= ~(numbers < low)
        if high is not None:
            ok &= ~(numbers > high)
        return ok

    return check


def _whole(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    return ~(numbers.notna() & (np.mod(numbers.fillna(0), 1) != 0))


def _nik(values: pd.Series) -> pd.Series:
    text = values.astype(str)
    return text.str.fullmatch(r"[0-9]{16}") | values.isna()


def checks_for(variable: Variable) -> list[pa.Check]:
    """The named checks the codebook implies for one variable."""
    checks: list[pa.Check] = []
    if variable.is_numeric and (variable.valid_min is not None or variable.valid_max is not None):
        checks.append(pa.Check(_between(variable.valid_min, variable.valid_max), name="out_of_range"))
    if variable.type == "integer":
        checks.append(pa.Check(_whole, name="not_integer"))
    if variable.role == "nik" or (variable.name == "nik" and variable.type in ("id", "text")):
        # Dukcapil NIK: 16 digits (province, regency, district, birth date, serial).
        checks.append(pa.Check(_nik, name="invalid_nik_format"))
    no_range = variable.valid_min is None and variable.valid_max is None
    if variable.role == "gps_latitude" and no_range:
        checks.append(pa.Check(_between(*INDONESIA_LATITUDE), name="outside_indonesia"))
    if variable.role == "gps_longitude" and no_range:
        checks.append(pa.Check(_between(*INDONESIA_LONGITUDE), name="outside_indonesia"))
    return checks


def build_schema(codebook: Codebook, columns: list[str]) -> pa.DataFrameSchema:
    """A pandera schema of the codebook's checks for the variables present in ``columns``.

    No dtype is declared: values were typed by the workbench's parsers, and missing values
    are allowed (their reasons are recorded separately).
    """
    present = set(columns)
    schema_columns = {}
    for variable in codebook.variables:
        if variable.name not in present:
            continue
        checks = checks_for(variable)
        if checks:
            schema_columns[variable.name] = pa.Column(
                checks=checks, nullable=True, required=True, coerce=False
            )
    return pa.DataFrameSchema(schema_columns, strict=False, coerce=False)


def validate(data: pd.DataFrame, codebook: Codebook, *, rows: np.ndarray) -> Validation:
    """Validate a round's typed data against the codebook, collecting every failure.

    Parameters
    ----------
    data
        One row per raw record (RangeIndex), one column per harmonized variable.
    codebook
        The variables and their rules.
    rows
        Spreadsheet row of each record, for the log.

    Returns
    -------
    Validation
        Quarantine reasons per row and a log without personal values.
    """
    n = len(data)
    schema = build_schema(codebook, [str(c) for c in data.columns])
    empty_log = pd.DataFrame({c: pd.Series(dtype=object) for c in LOG_COLUMNS})
    if not schema.columns:
        return Validation([], empty_log)
    try:
        schema.validate(data, lazy=True)
    except pa.errors.SchemaErrors as exc:
        failures = exc.failure_cases
    else:
        return Validation([], empty_log)
    index = pd.to_numeric(failures["index"], errors="coerce")
    if index.isna().any():
        # Only dtype and column-presence failures lack a row, and neither is checked here.
        raise AssertionError("pandera reported a failure without a row index")
    positions = index.astype(np.int64).to_numpy()
    reasons = (failures["check"].astype(str) + ":" + failures["column"].astype(str)).to_numpy()
    quarantine = []
    for reason in dict.fromkeys(reasons):
        mask = np.zeros(n, dtype=bool)
        mask[positions[reasons == reason]] = True
        quarantine.append((mask, str(reason)))
    log = pd.DataFrame(
        {
            "_row": np.asarray(rows)[positions],
            "column": failures["column"].astype(str).to_numpy(),
            "check": failures["check"].astype(str).to_numpy(),
            "value": [describe_value(v) for v in failures["failure_case"].to_numpy(dtype=object)],
        }
    )
    return Validation(quarantine, log)
