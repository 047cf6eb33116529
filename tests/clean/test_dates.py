"""Dates and times: Excel serials, explicit formats, the dd/mm trap, time zones."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.clean.dates import EXCEL_ORIGIN, parse_dates, timezone_of
from analysis.errors import InputError


def test_serial_boundaries_and_fractions() -> None:
    result = parse_dates(pd.Series(["45000.5", "18263", "18264", "73415", "73416", "0"]))
    assert result.status.tolist() == ["ok", "implausible", "ok", "ok", "implausible", "implausible"]
    assert result.has_time  # the fraction is a time of day
    assert result.value.iloc[0] == pd.Timestamp("2023-03-15 12:00", tz="UTC")
    assert result.value.iloc[2] == pd.Timestamp("1950-01-01", tz="UTC")


def test_day_first_is_settled_by_one_value() -> None:
    result = parse_dates(pd.Series(["03/04/2023", "25/12/2023", "1.2.23"]))
    assert result.value.dt.strftime("%Y-%m-%d").tolist() == ["2023-04-03", "2023-12-25", "2023-02-01"]
    month_first = parse_dates(pd.Series(["03/04/2023", "12/25/2023"]))
    assert month_first.value.dt.strftime("%Y-%m-%d").tolist() == ["2023-03-04", "2023-12-25"]
    with pytest.raises(InputError, match="dates written both dd/mm and mm/dd"):
        parse_dates(pd.Series(["25/12/2023", "12/25/2023"]), file="a.csv", column="tgl")


def test_unparseable_text_and_explicit_format() -> None:
    result = parse_dates(pd.Series(["kemarin", "2023-02-30", "", "2023-03-15"]))
    assert result.status.tolist() == ["unparseable", "unparseable", "missing", "ok"]
    formatted = parse_dates(pd.Series(["15-03-2023", "2023-03-15"]), fmt="%d-%m-%Y")
    assert formatted.status.tolist() == ["ok", "unparseable"]  # with a format, only the format


def test_offsets_are_honoured_and_zones_applied() -> None:
    makassar = timezone_of("Asia/Makassar")
    result = parse_dates(pd.Series(["2023-03-15T09:10:00+08:00", "2023-03-15 09:10"]), timezone=makassar)
    assert result.value.tolist() == [pd.Timestamp("2023-03-15 01:10", tz="UTC")] * 2
    assert timezone_of("UTC+7") == dt.timezone(dt.timedelta(hours=7))
    assert timezone_of("Asia/Nowhere") is None and timezone_of("Rp") is None


def test_plausible_range_can_be_narrowed() -> None:
    result = parse_dates(
        pd.Series(["2023-03-15", "2021-01-01"]),
        earliest=pd.Timestamp("2023-01-01"),
        latest=pd.Timestamp("2023-12-31"),
    )
    assert result.status.tolist() == ["ok", "implausible"]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    st.lists(
        st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 12, 31)), min_size=1, max_size=20
    )
)
def test_serials_and_iso_text_agree(days: list[dt.date]) -> None:
    serials = [str((pd.Timestamp(d) - EXCEL_ORIGIN).days) for d in days]
    iso = [d.isoformat() for d in days]
    from_serial = parse_dates(pd.Series(serials))
    from_text = parse_dates(pd.Series(iso))
    assert (from_serial.status == "ok").all() and (from_text.status == "ok").all()
    assert from_serial.value.tolist() == from_text.value.tolist()
    assert from_serial.serial.all() and not from_text.reformatted.any()


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.lists(st.text(alphabet="0123456789/-.: TZ+aprAM,", max_size=25), max_size=10))
def test_parse_dates_never_fails_except_with_an_input_error(cells: list[str]) -> None:
    try:
        result = parse_dates(pd.Series(cells, dtype=object))
    except InputError:
        return
    assert set(result.status) <= {"ok", "missing", "unparseable", "implausible"}
    assert (result.value.notna().to_numpy() == (result.status == "ok")).all()
    assert np.all(result.serial <= (result.status == "ok"))


_ISO_PIECES = st.lists(
    st.sampled_from(
        ["2023-02-06", "T", " ", "12", ":", "30", "45", ".5", "Z", "+07", "-0700", "+07:00", "0", "-"]
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(st.lists(_ISO_PIECES.map("".join), min_size=1, max_size=20))
def test_an_iso_value_has_an_offset_exactly_when_the_iso_pattern_finds_one(cells: list[str]) -> None:
    # parse_dates tells offsets by the pattern with the offset required (run in pyarrow); it must
    # agree with the offset group of the ISO pattern itself, on every value that pattern matches.
    from analysis.clean.dates import _ISO_RE, _ISO_WITH_ZONE_RE

    values = pd.Series(cells, dtype="str")
    iso = values.str.fullmatch(_ISO_RE).to_numpy(dtype=bool, na_value=False)
    group = values.str.extract(_ISO_RE)["tz"].notna().to_numpy()
    required = values.str.fullmatch(_ISO_WITH_ZONE_RE).to_numpy(dtype=bool, na_value=False)
    assert (group & iso).tolist() == (required & iso).tolist()


def test_iso_values_with_and_without_offsets_parse_as_before() -> None:
    result = parse_dates(pd.Series(["2023-02-06T10:00:00+07:00", "2023-02-06T10:00:00", "2023-02-06 10:00Z"]))
    assert result.status.tolist() == ["ok", "ok", "ok"]
    assert result.value.tolist() == [
        pd.Timestamp("2023-02-06 03:00", tz="UTC"),
        pd.Timestamp("2023-02-06 10:00", tz="UTC"),
        pd.Timestamp("2023-02-06 10:00", tz="UTC"),
    ]
