"""Quality flags: suspicious but possible values that keep their row ``clean``.

Flags never delete or change a value; they go to the quality report (``<round>_quality.csv``)
and to ``qc_<kind>`` columns of the clean data.  A study may escalate a kind of flag to
quarantine (``quality: {escalate: [end_before_start]}``), in which case the row is
``quarantined(<flag>)``.

Flags (docs/bad-inputs.md cases 21, 25, 36):

``end_before_start``
    The interview ends before it starts (roles ``interview_start`` / ``interview_end``).
``too_short:<N>min``
    The interview took less than ``N`` minutes (``quality: {min_minutes: N}``, default 10).
``outside_fieldwork_window``
    The interview (or, without a start time, the submission) falls outside the round's
    fieldwork window (``fieldwork: {<round>: [first day, last day]}``).
``outlier:<variable>``
    A number outside ``[Q1 - k IQR, Q3 + k IQR]`` of its round (``k`` = 3 by default,
    ``quality: {outlier_iqr: k}``); for money, computed on the logarithm of the positive
    amounts, since incomes are skewed.  Variables whose IQR is 0 are not flagged.
``possible_missing_code:<variable>``
    A value that looks like an unlisted missing code (``999``, ``9999``, ``-9``, ``-99``,
    ``-98``, ``-88`` ...) in a variable whose codebook row does not list it: kept as a number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.clean.dates import timezone_of
from analysis.inputs.codebook import Codebook

#: Raw texts that look like missing codes nobody listed.
SENTINEL_RE = r"-?9{3,}|-9{1,2}|-9[6-8]|-8{1,2}"

FLAG_COLUMNS = ("_row", "flag", "detail")

_NOT_MEASURES = ("household_id", "submission_id", "weight", "treatment", "consent", "form_version")


@dataclass(frozen=True)
class QualityRules:
    """The project's quality rules for one round.

    Attributes
    ----------
    min_minutes
        Interviews shorter than this are flagged ``too_short:<N>min``; None disables the flag.
    fieldwork
        First and last day of the round's fieldwork; submissions before the first day are test
        or pilot submissions (``excluded(test_submission)``), interviews outside the window are
        flagged.
    escalate
        Flag kinds (the part before ``:``) that quarantine the row instead of only flagging it.
    outlier_iqr
        ``k`` of the outlier rule; None disables it.
    """

    min_minutes: float | None = 10.0
    fieldwork: tuple[dt.date, dt.date] | None = None
    escalate: frozenset[str] = frozenset()
    outlier_iqr: float | None = 3.0


def _first(codebook: Codebook, role: str, data: pd.DataFrame) -> str | None:
    names = [v.name for v in codebook.by_role(role) if v.name in data.columns]
    return names[0] if names else None


def local_dates(values: pd.Series, unit: str) -> pd.Series:
    """Calendar dates of timestamps, in the zone the codebook unit names (UTC by default)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        zone = timezone_of(unit) or dt.UTC
        return values.dt.tz_convert(zone).dt.tz_localize(None).dt.normalize()
    return pd.to_datetime(values, errors="coerce").dt.normalize()


def time_flags(data: pd.DataFrame, codebook: Codebook, rules: QualityRules) -> list[tuple[np.ndarray, str]]:
    """Flags on interview times: ``end_before_start``, ``too_short``, ``outside_fieldwork_window``."""
    flags: list[tuple[np.ndarray, str]] = []
    start = _first(codebook, "interview_start", data)
    end = _first(codebook, "interview_end", data)
    if start and end:
        a, b = data[start], data[end]
        if isinstance(a.dtype, pd.DatetimeTZDtype) == isinstance(b.dtype, pd.DatetimeTZDtype):
            minutes = (b - a).dt.total_seconds() / 60
            flags.append(((minutes < 0).to_numpy(dtype=bool, na_value=False), "end_before_start"))
            if rules.min_minutes is not None:
                short = ((minutes >= 0) & (minutes < rules.min_minutes)).to_numpy(dtype=bool, na_value=False)
                flags.append((short, f"too_short:{rules.min_minutes:g}min"))
    when = start or _first(codebook, "submission_time", data)
    if when and rules.fieldwork is not None:
        days = local_dates(data[when], codebook.get(when).unit)
        first, last = (pd.Timestamp(d) for d in rules.fieldwork)
        outside = (days.notna() & ((days < first) | (days > last))).to_numpy(dtype=bool)
        flags.append((outside, "outside_fieldwork_window"))
    return [(mask, flag) for mask, flag in flags if mask.any()]


def outlier_flags(
    data: pd.DataFrame, codebook: Codebook, *, live: np.ndarray, rules: QualityRules
) -> list[tuple[np.ndarray, str]]:
    """``outlier:<variable>`` flags under the documented IQR rule, computed on ``live`` rows."""
    if rules.outlier_iqr is None:
        return []
    flags = []
    k = float(rules.outlier_iqr)
    for variable in codebook.variables:
        if variable.name not in data.columns or variable.type not in ("money", "number", "integer"):
            continue
        if variable.role in _NOT_MEASURES:
            continue
        values = pd.to_numeric(data[variable.name], errors="coerce").astype("float64")
        # Incomes are skewed: for money the rule is applied to the logarithm of positive amounts.
        scale: pd.Series = (
            pd.Series(np.log(values.where(values > 0).to_numpy()), index=values.index)
            if variable.type == "money"
            else values
        )
        basis = scale[live & scale.notna().to_numpy()]
        if len(basis) < 4:
            continue
        q1, q3 = np.quantile(basis.to_numpy(), [0.25, 0.75])
        iqr = q3 - q1
        if iqr <= 0:
            continue
        outside = ((scale < q1 - k * iqr) | (scale > q3 + k * iqr)).to_numpy(dtype=bool, na_value=False)
        if outside.any():
            flags.append((outside, f"outlier:{variable.name}"))
    return flags


def flag_table(flags: list[tuple[np.ndarray, str]], rows: np.ndarray) -> pd.DataFrame:
    """The long quality report: one row per flagged record and flag."""
    parts = [
        pd.DataFrame({"_row": np.asarray(rows)[mask], "flag": flag, "detail": ""})
        for mask, flag in flags
        if mask.any()
    ]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FLAG_COLUMNS})
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(["_row", "flag"], kind="stable").reset_index(drop=True)


def flag_columns(flags: list[tuple[np.ndarray, str]], n: int) -> dict[str, np.ndarray]:
    """One boolean ``qc_<kind>`` column per kind of flag that occurs."""
    columns: dict[str, np.ndarray] = {}
    for mask, flag in flags:
        kind = flag.split(":", 1)[0]
        columns.setdefault(f"qc_{kind}", np.zeros(n, dtype=bool))
        columns[f"qc_{kind}"] |= mask
    return columns
