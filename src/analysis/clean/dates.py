"""Parse dates and times typed or exported in several ways (docs/bad-inputs.md cases 19-21).

One column can hold Excel serial numbers next to text dates (``45000`` and ``15/03/2023``);
ODK Briefcase writes ``Apr 26, 2018 8:56:00 AM``; KoboToolbox writes ISO 8601 with or without a
UTC offset.  The rules:

* Excel serial numbers in the plausible range are days since 1899-12-30 (``45000`` is
  2023-03-15); numbers outside it are ``implausible``, never guessed.
* Text is parsed with the source's explicit format when the codebook gives one.  Without one,
  only unambiguous shapes are accepted: ISO 8601, ``Apr 26, 2018 [8:56:00 AM]``, and
  ``dd/mm/yyyy`` or ``mm/dd/yyyy`` when some value in the column settles the order (a first
  part above 12 means day first).  When nothing settles it the column is refused.
* Times are stored tz-aware in UTC: offsets in the text are honoured and times without one
  are read in the variable's time zone (the codebook ``unit``, e.g. ``Asia/Makassar`` or
  ``+08:00``; UTC when none is given, which the notes say).  A column of dates without times
  stays a plain (naive) date.

:func:`parse_dates` works on whole columns; every cell ends with a status ``ok``,
``missing``, ``unparseable`` or ``implausible``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError

#: Day 0 of Excel's (1900 date system) serial numbers, correcting for its fictitious 1900-02-29.
EXCEL_ORIGIN = pd.Timestamp("1899-12-30")
#: Dates outside this range are implausible for a household survey unless the codebook widens it.
EARLIEST = pd.Timestamp("1950-01-01")
LATEST = pd.Timestamp("2100-12-31")

_SERIAL_RE = r"[0-9]{1,6}(?:\.[0-9]+)?"
_ISO_DATE_TIME_RE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
_ISO_ZONE_RE = r"(?P<tz>Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
_ISO_RE = _ISO_DATE_TIME_RE + _ISO_ZONE_RE + "?"
# An ISO value with an offset: the same pattern with the offset required. On a value that
# matches _ISO_RE whole, matching this is the same as _ISO_RE giving the `tz` group (every
# optional part is greedy and none can take the offset's characters), and it runs in pyarrow
# instead of one Python regex call per value.
_ISO_WITH_ZONE_RE = _ISO_DATE_TIME_RE + _ISO_ZONE_RE
_NUMERIC_RE = (
    r"(?P<a>[0-9]{1,2})(?P<sep>[/.-])(?P<b>[0-9]{1,2})(?P=sep)(?P<y>[0-9]{4}|[0-9]{2})"
    r"(?:[ T](?P<time>[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?))?"
)
_JAVA_MEDIUM_RE = r"[A-Z][a-z]{2} [0-9]{1,2}, [0-9]{4}(?P<time> [0-9]{1,2}:[0-9]{2}:[0-9]{2} [AP]M)?"


@dataclass(frozen=True)
class ParsedDates:
    """The outcome of parsing one column.

    Attributes
    ----------
    value
        ``datetime64`` values, naive for a column of dates, UTC for a column with times;
        ``NaT`` unless ``status`` is ``ok``.
    status
        Per cell: ``ok``, ``missing`` (blank), ``unparseable`` or ``implausible``.
    serial
        Cells converted from an Excel serial number.
    reformatted
        Cells whose text was not already an ISO 8601 date (serials and locale formats): their
        raw text is worth keeping next to the parsed value.
    has_time
        Whether the column holds times (then ``value`` is tz-aware UTC).
    notes
        What was done, for the run log.
    """

    value: pd.Series
    status: np.ndarray
    serial: np.ndarray
    reformatted: np.ndarray
    has_time: bool
    notes: tuple[str, ...] = field(default_factory=tuple)


def timezone_of(text: str) -> dt.tzinfo | None:
    """The time zone a codebook ``unit`` names (``UTC``, ``Asia/Jakarta``, ``+08:00``), or None.

    >>> timezone_of("+08:00")
    datetime.timezone(datetime.timedelta(seconds=28800))
    >>> timezone_of("Rp/month") is None
    True
    """
    text = text.strip()
    offset = re.fullmatch(r"(?:UTC|GMT)?([+-])([0-9]{1,2})(?::?([0-9]{2}))?", text)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        minutes = int(offset.group(2)) * 60 + int(offset.group(3) or 0)
        return dt.timezone(sign * dt.timedelta(minutes=minutes))
    if text.upper() in ("UTC", "GMT", "Z"):
        return dt.UTC
    if not re.fullmatch(r"[A-Za-z_]+(?:/[A-Za-z_+-]+)+", text):
        return None
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def parse_dates(
    text: pd.Series,
    *,
    fmt: str | None = None,
    timezone: dt.tzinfo | None = None,
    earliest: pd.Timestamp = EARLIEST,
    latest: pd.Timestamp = LATEST,
    file: str | Path | None = None,
    column: str | None = None,
    sheet: str | None = None,
) -> ParsedDates:
    """Parse a column of dates or times.

    Parameters
    ----------
    text
        The column as text, invisible whitespace already stripped; ``""`` or NA is missing.
    fmt
        Explicit ``strftime`` format of this source (``%d/%m/%Y``); Excel serial numbers are
        still recognised.
    timezone
        Zone of times written without an offset; default UTC.
    earliest, latest
        Dates outside this range are ``implausible``.
    file, column, sheet
        Where the column comes from, for error messages.

    Returns
    -------
    ParsedDates

    Raises
    ------
    InputError
        When ``dd/mm`` and ``mm/dd`` cannot be told apart (or both occur) and no format is
        given.
    """
    values = text.astype(object).where(text.notna(), "").astype(str).reset_index(drop=True)
    n = len(values)
    status = np.full(n, "unparseable", dtype=object)
    blank = (values == "").to_numpy()
    status[blank] = "missing"
    stamps = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    aware = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    is_aware = np.zeros(n, dtype=bool)
    serial = np.zeros(n, dtype=bool)
    reformatted = np.zeros(n, dtype=bool)
    timed = np.zeros(n, dtype=bool)  # the cell gave a time of day, not only a date
    notes: list[str] = []

    # Excel serial numbers: whole days, a fraction being the time of day.
    is_serial = values.str.fullmatch(_SERIAL_RE).to_numpy(dtype=bool, na_value=False)
    if is_serial.any():
        days = values[is_serial].astype(float)
        low = (earliest - EXCEL_ORIGIN).days
        high = (latest - EXCEL_ORIGIN).days
        plausible = ((days >= low) & (days <= high)).to_numpy()
        idx = np.flatnonzero(is_serial)
        good = idx[plausible]
        stamps.iloc[good] = (
            EXCEL_ORIGIN + pd.to_timedelta(days[plausible], unit="D").dt.round("s")
        ).to_numpy()
        status[good] = "ok"
        status[idx[~plausible]] = "implausible"
        serial[good] = True
        reformatted[good] = True
        timed[good] = (days[plausible] % 1 != 0).to_numpy()
        notes.append(
            f"{len(good)} Excel serial date{'s' if len(good) != 1 else ''} converted (origin 1899-12-30)"
        )

    rest = ~blank & ~is_serial
    if rest.any():
        if fmt is not None:
            _parse_with_format(values, rest, fmt, stamps, aware, is_aware, status, reformatted, timed)
        else:
            _parse_auto(
                values, rest, stamps, aware, is_aware, status, reformatted, timed, file, column, sheet
            )

    has_time = bool(((is_aware | timed) & (status == "ok")).any())
    if has_time:
        zone = timezone or dt.UTC
        naive = (status == "ok") & ~is_aware
        if naive.any():
            local = stamps[naive].dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            aware[naive] = local.dt.tz_convert("UTC").to_numpy()
            if timezone is None:
                notes.append("times without a time zone read as UTC (set the codebook unit to the zone)")
        result = aware
    else:
        result = stamps
    ok = status == "ok"
    low_ts, high_ts = earliest, latest + pd.Timedelta(days=1)
    if has_time:
        low_ts, high_ts = low_ts.tz_localize("UTC"), high_ts.tz_localize("UTC")
    outside = ok & ((result < low_ts) | (result >= high_ts)).to_numpy(dtype=bool, na_value=False)
    status[outside] = "implausible"
    result = result.where(status == "ok")
    result.index = text.index
    return ParsedDates(
        value=result,
        status=status,
        serial=serial & (status == "ok"),
        reformatted=reformatted & (status == "ok"),
        has_time=has_time,
        notes=tuple(notes),
    )


def _parse_with_format(
    values: pd.Series,
    rest: np.ndarray,
    fmt: str,
    stamps: pd.Series,
    aware: pd.Series,
    is_aware: np.ndarray,
    status: np.ndarray,
    reformatted: np.ndarray,
    timed: np.ndarray,
) -> None:
    idx = np.flatnonzero(rest)
    timed[idx] = bool(re.search(r"%[HIMSXTcRr]", fmt))
    with_zone = "%z" in fmt or "%Z" in fmt
    parsed = pd.to_datetime(values.iloc[idx], format=fmt, errors="coerce", utc=with_zone)
    ok = parsed.notna().to_numpy()
    if with_zone:
        aware.iloc[idx[ok]] = parsed[ok].to_numpy()
        is_aware[idx[ok]] = True
    else:
        stamps.iloc[idx[ok]] = parsed[ok].to_numpy()
    status[idx[ok]] = "ok"
    reformatted[idx[ok]] = True


def _parse_auto(
    values: pd.Series,
    rest: np.ndarray,
    stamps: pd.Series,
    aware: pd.Series,
    is_aware: np.ndarray,
    status: np.ndarray,
    reformatted: np.ndarray,
    timed: np.ndarray,
    file: str | Path | None,
    column: str | None,
    sheet: str | None,
) -> None:
    # ISO 8601, with or without an offset.
    iso = rest & values.str.fullmatch(_ISO_RE).to_numpy(dtype=bool, na_value=False)
    if iso.any():
        zone = values.str.fullmatch(_ISO_WITH_ZONE_RE).to_numpy(dtype=bool, na_value=False) & iso
        timed[iso] = values[iso].str.len().to_numpy() > 10
        for mask, utc in ((zone, True), (iso & ~zone, False)):
            idx = np.flatnonzero(mask)
            if not len(idx):
                continue
            parsed = pd.to_datetime(values.iloc[idx], format="ISO8601", errors="coerce", utc=utc)
            ok = parsed.notna().to_numpy()
            target = aware if utc else stamps
            target.iloc[idx[ok]] = parsed[ok].to_numpy()
            is_aware[idx[ok]] = utc
            status[idx[ok]] = "ok"

    # ODK Briefcase: the exporting user's locale, Java MEDIUM style (English month names).
    java = rest & ~iso & values.str.fullmatch(_JAVA_MEDIUM_RE).to_numpy(dtype=bool, na_value=False)
    if java.any():
        clock = values.str.extract(_JAVA_MEDIUM_RE)["time"].notna().to_numpy()
        timed[java] = clock[java]
        for mask, fmt in ((java & clock, "%b %d, %Y %I:%M:%S %p"), (java & ~clock, "%b %d, %Y")):
            idx = np.flatnonzero(mask)
            if len(idx):
                parsed = pd.to_datetime(values.iloc[idx], format=fmt, errors="coerce")
                ok = parsed.notna().to_numpy()
                stamps.iloc[idx[ok]] = parsed[ok].to_numpy()
                status[idx[ok]] = "ok"
                reformatted[idx[ok]] = True

    # dd/mm/yyyy or mm/dd/yyyy: only when some value in the column settles the order.
    numeric = rest & ~iso & ~java & values.str.fullmatch(_NUMERIC_RE).to_numpy(dtype=bool, na_value=False)
    if not numeric.any():
        return
    idx = np.flatnonzero(numeric)
    parts = values.iloc[idx].str.extract(_NUMERIC_RE)
    a = parts["a"].astype(int).to_numpy()
    b = parts["b"].astype(int).to_numpy()
    day_first, month_first = bool((a > 12).any()), bool((b > 12).any())
    if day_first and month_first:
        raise InputError(
            "dates written both dd/mm and mm/dd – set the date format for this source "
            "(codebook column `format`, e.g. `%d/%m/%Y`)",
            file=file,
            column=column,
            sheet=sheet,
        )
    if not (day_first or month_first):
        raise InputError(
            "dd/mm vs mm/dd ambiguous – set the date format for this source "
            "(codebook column `format`, e.g. `%d/%m/%Y`)",
            file=file,
            column=column,
            sheet=sheet,
        )
    day, month = (a, b) if day_first else (b, a)
    year = parts["y"].astype(int).to_numpy()
    # Two-digit years: 00-69 are 20xx, 70-99 are 19xx (the POSIX strptime pivot).
    year = np.where(year < 100, np.where(year < 70, 2000 + year, 1900 + year), year)
    parsed = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce")
    hms = parts["time"].str.extract(r"(?P<h>[0-9]+):(?P<m>[0-9]+)(?::(?P<s>[0-9]+))?").astype(float)
    seconds = hms["h"].fillna(0) * 3600 + hms["m"].fillna(0) * 60 + hms["s"].fillna(0)
    offset = pd.to_timedelta(seconds, unit="s")
    parsed = parsed + offset.to_numpy()
    ok = (
        parsed.notna().to_numpy()
        & (hms["h"].fillna(0) < 24).to_numpy()
        & (hms["m"].fillna(0) < 60).to_numpy()
    )
    stamps.iloc[idx[ok]] = parsed[ok].to_numpy()
    status[idx[ok]] = "ok"
    reformatted[idx[ok]] = True
    timed[idx[ok]] = parts["time"].notna().to_numpy()[ok]
