"""Indonesian money and number parsing (docs/bad-inputs.md cases 25, 27, 28 and section 3.5)."""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.clean.money import (
    STATUSES,
    ParsedNumber,
    column_style,
    number_shapes,
    parse_number,
    parse_numbers,
)

# --------------------------------------------------------------------------------------------
# Case 27: Indonesian money strings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rp 1.500.000", 1_500_000),
        ("1.500", 1_500),
        ("1,5 juta", 1_500_000),
        ("2 rb", 2_000),
        ("500ribu", 500_000),
        ("Rp1,5jt", 1_500_000),
        ("Rp. 1.500.000,-", 1_500_000),
        ("IDR 20000", 20_000),
        ("rp 750.000", 750_000),
        ("1.500.000,50", 1_500_000.5),
        ("1,5 JUTA", 1_500_000),
        ("2 Miliar", 2_000_000_000),
        ("1,5M", 1_500_000_000),
        ("5k", 5_000),
        ("500 ribu rupiah", 500_000),
        ("1.5jt", 1_500_000),  # a decimal before a multiplier word has only one reading
        ("-Rp 250.000", -250_000),
        ("Rp -250.000", -250_000),
        ("\u00a0Rp 1.500\u200b ", 1_500),
        ("0", 0),
    ],
)
def test_indonesian_money(text: str, expected: float) -> None:
    assert parse_number(text, kind="money") == ParsedNumber(float(expected), "ok")


def test_one_dot_is_thousands_even_when_every_value_has_one() -> None:
    # The pandas trap: a column where every value has one dot is read as 1.5, 2.5 ...
    parsed = parse_numbers(pd.Series(["1.500", "2.500", "12.000"]), kind="money")
    assert parsed["value"].tolist() == [1500.0, 2500.0, 12000.0]


# --------------------------------------------------------------------------------------------
# Case 28: English-formatted numbers are ambiguous, never guessed


@pytest.mark.parametrize("text", ["1,500", "1.5", "12,000", "1,500,000", "1,500.50", "1,500 rb", "0.5"])
def test_english_format_is_ambiguous(text: str) -> None:
    assert parse_number(text, kind="money") == ParsedNumber(None, "ambiguous")


def test_babel_alone_would_have_guessed() -> None:
    from babel.numbers import parse_decimal

    assert float(parse_decimal("1,500", locale="id_ID", strict=True)) == 1.5
    assert parse_number("1,500").status == "ambiguous"


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("", "missing"),
        ("   ", "missing"),
        ("\u00a0\u200b", "missing"),
        ("abc", "unparseable"),
        ("tidak tahu", "unparseable"),
        ("-", "unparseable"),
        ("1.500.5", "unparseable"),
        ("1..5", "unparseable"),
        ("1e5", "unparseable"),
        ("Rp", "unparseable"),
        ("1,5m", "unparseable"),  # lower-case m could be the English "million"
        ("١٢٣", "unparseable"),  # Arabic-Indic digits are not accepted silently
    ],
)
def test_missing_and_unparseable(text: str, status: str) -> None:
    assert parse_number(text, kind="money") == ParsedNumber(None, status)  # type: ignore[arg-type]


def test_kinds() -> None:
    assert parse_number("1,5", kind="number").value == 1.5
    assert parse_number("1,5", kind="integer").status == "unparseable"
    assert parse_number("1,5 rb", kind="integer").value == 1500.0
    assert parse_number("1.500", kind="integer").value == 1500.0
    # A currency prefix only makes sense for money.
    assert parse_number("Rp 5.000", kind="number").status == "unparseable"


def test_plain_style() -> None:
    assert parse_number("1.5", style="plain").value == 1.5
    assert parse_number("-1.5e3", style="plain").value == -1500.0
    assert parse_number("1,500", style="plain").status == "unparseable"
    assert parse_number(".", style="plain").status == "missing"  # Stata's missing
    assert parse_number(".a", style="plain").status == "missing"
    assert parse_number("1.5", style="plain", kind="integer").status == "unparseable"
    assert parse_number("nan", style="plain").status == "unparseable"
    assert parse_number("1e400", style="plain").status == "unparseable"


def test_invalid_choices_are_value_errors() -> None:
    with pytest.raises(ValueError, match="kind='amount': expecting one of 'money', 'number', 'integer'"):
        parse_number("1", kind="amount")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="style='en': expecting one of 'id', 'plain'"):
        parse_numbers(pd.Series(["1"]), style="en")  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Case 25: numeric sentinel codes stay distinct numbers for the codebook to map


def test_sentinels_parse_to_their_exact_codes() -> None:
    parsed = parse_numbers(pd.Series(["-99", "-98", "999", "9999", "1.500"]), kind="money")
    assert parsed["value"].tolist() == [-99.0, -98.0, 999.0, 9999.0, 1500.0]
    assert (parsed["status"] == "ok").all()


# --------------------------------------------------------------------------------------------
# parse_numbers


def test_parse_numbers_shape_index_and_dtypes() -> None:
    values = pd.Series(
        ["1500", "Rp 1.500", "", "x", None, "1,500", "-99", "1.500"],
        index=[5, 6, 7, 8, 9, 10, 11, 12],
        dtype=object,
    )
    parsed = parse_numbers(values, kind="money")
    assert list(parsed.index) == list(values.index)
    assert list(parsed.columns) == ["value", "status"]
    assert parsed["value"].dtype == np.float64
    assert parsed["status"].tolist() == [
        "ok",
        "ok",
        "missing",
        "unparseable",
        "missing",
        "ambiguous",
        "ok",
        "ok",
    ]
    assert parsed["value"].iloc[[0, 1, 6, 7]].tolist() == [1500.0, 1500.0, -99.0, 1500.0]
    assert parsed["value"].iloc[[2, 3, 4, 5]].isna().all()


def test_parse_numbers_integer_kind_and_plain_fast_path() -> None:
    parsed = parse_numbers(pd.Series(["1.5", "2", "3.0"], dtype="str"), kind="integer", style="plain")
    assert parsed["status"].tolist() == ["unparseable", "ok", "ok"]
    assert parsed["value"].iloc[1:].tolist() == [2.0, 3.0]


def test_parse_numbers_200k_mostly_plain_values() -> None:
    # No time limit is asserted (the machine is shared, and no test fails on time): it is printed.
    rng = np.random.default_rng(20240501)
    values = pd.Series(rng.integers(0, 10_000_000, 200_000).astype(str), dtype="str")
    values[::97] = "Rp 1.500.000"
    values[::101] = "2 rb"
    values[::89] = ""
    start = time.perf_counter()
    parsed = parse_numbers(values, kind="money")
    elapsed = time.perf_counter() - start
    print(f"\n200,000 values parsed in {elapsed:.2f} s")
    assert parsed["value"].iloc[97] == 1_500_000.0 and parsed["value"].iloc[101] == 2_000.0
    assert int((parsed["status"] == "missing").sum()) == len(range(0, 200_000, 89))


# --------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=400, derandomize=True, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=40),
        st.text(alphabet="0123456789.,- RpjutaribkM\u00a0\u200b+e", max_size=20),
    ),
    kind=st.sampled_from(["money", "number", "integer"]),
    style=st.sampled_from(["id", "plain"]),
)
def test_parse_number_never_raises_and_status_is_valid(text: str, kind: str, style: str) -> None:
    result = parse_number(text, kind=kind, style=style)  # type: ignore[arg-type]
    assert result.status in STATUSES
    if result.status == "ok":
        assert result.value is not None and math.isfinite(result.value)
        if kind == "integer":
            assert result.value.is_integer()
    else:
        assert result.value is None


@settings(max_examples=300, derandomize=True, deadline=None)
@given(amount=st.integers(min_value=0, max_value=10**15), negative=st.booleans())
def test_rupiah_formatting_round_trips(amount: int, negative: bool) -> None:
    text = "Rp " + ("-" if negative else "") + f"{amount:,}".replace(",", ".")
    result = parse_number(text, kind="money")
    assert result == ParsedNumber(float(-amount if negative else amount), "ok")


@settings(max_examples=100, derandomize=True, deadline=None)
@given(
    cells=st.lists(
        st.one_of(st.text(alphabet="0123456789.,- Rpjtrb", max_size=12), st.none()),
        max_size=30,
    ),
    style=st.sampled_from(["id", "plain"]),
)
def test_parse_numbers_agrees_with_parse_number(cells: list[str | None], style: str) -> None:
    parsed = parse_numbers(pd.Series(cells, dtype=object), kind="money", style=style)  # type: ignore[arg-type]
    for cell, value, status in zip(cells, parsed["value"], parsed["status"], strict=True):
        expected = parse_number(cell, kind="money", style=style)  # type: ignore[arg-type]
        assert status == expected.status
        if expected.value is None:
            assert math.isnan(value)
        else:
            assert value == expected.value


# --------------------------------------------------------------------------------------------
# One reading of "." per column (issue #12)


def test_number_shapes_say_which_reading_each_value_allows() -> None:
    values = [
        "4.314.000",
        "1.500,50",
        "1,5",
        "1.5",
        "0.500",
        "1,500,000",
        "687.000",
        "1500",
        "1,500",
        "1,5 juta",
    ]
    assert number_shapes(pd.Series(values)).tolist() == [
        "id", "id", "id", "plain", "plain", "plain", "three", "", "", "",
    ]  # fmt: skip


def test_a_column_is_read_the_way_its_unambiguous_values_show() -> None:
    thousands = column_style(pd.Series(["687.000", "4.314.000", "12"]), style="plain", style_set=False)
    assert (thousands.style, thousands.ambiguous.tolist(), thousands.undecided) == ("id", [False] * 3, False)
    decimals = column_style(pd.Series(["23.625", "1.5"]), style="id", style_set=False)
    assert (decimals.style, decimals.ambiguous.tolist()) == ("plain", [False, False])


def test_three_decimals_alone_are_undecided_unless_the_style_is_set() -> None:
    values = pd.Series(["687.000", "23.625", "5"])
    assert column_style(values, style="plain", style_set=False).undecided
    assert column_style(values, style="plain", style_set=False).examples == ("687.000", "23.625")
    assert not column_style(values, style="id", style_set=True).undecided


def test_values_against_a_set_style_or_a_mixed_column_are_ambiguous() -> None:
    against = column_style(pd.Series(["23.625", "1.5", "20"]), style="id", style_set=True)
    assert (against.style, against.ambiguous.tolist()) == ("id", [True, True, False])
    # Money (style id, set) with thousands dots and one English decimal: only the decimal.
    money = column_style(pd.Series(["1.500.000", "750.000", "1.5"]), style="id", style_set=True)
    assert money.ambiguous.tolist() == [False, False, True]
    mixed = column_style(pd.Series(["4.314.000", "1.5", "687.000", "12"]), style="plain", style_set=False)
    assert mixed.ambiguous.tolist() == [True, True, True, False] and "mixes" in mixed.note


def _shapes_value_by_value(values: list[str]) -> list[str]:
    """number_shapes as first written: every value through _number_core, then the patterns."""
    from analysis.clean import money

    cores = pd.Series([money._number_core(str(v)) for v in values], dtype="str")
    comma_three = cores.str.fullmatch(money._SHAPE_COMMA_THREE_RE).to_numpy(dtype=bool, na_value=False)
    shape = np.full(len(cores), "", dtype=object)
    for name, pattern in (
        ("plain", money._SHAPE_PLAIN_RE),
        ("id", money._SHAPE_ID_RE),
        ("three", money._SHAPE_THREE_RE),
    ):
        shape[cores.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False) & ~comma_three] = name
    return shape.tolist()


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.,- Rpjutarb\u00a0", max_size=14), min_size=1, max_size=30))
def test_number_shapes_of_a_text_column_equal_those_found_value_by_value(cells: list[str]) -> None:
    # A text column takes a vectorized path (a bare number is its own core); every value must
    # get the shape that the per-value core gives it.
    expected = _shapes_value_by_value(cells)
    assert number_shapes(pd.Series(cells, dtype="str")).tolist() == expected
    assert number_shapes(pd.Series(cells, dtype=object)).tolist() == expected
