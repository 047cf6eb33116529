"""Parse Indonesian money amounts and numbers typed as text.

Survey exports carry amounts the way enumerators typed them: ``Rp 1.500.000``, ``1,5 juta``,
``500ribu``, ``Rp1,5jt``.  Indonesian formatting (``id_ID``) uses ``.`` as the thousands separator
and ``,`` as the decimal mark, which is the opposite of the English convention, so a value such as
``1,500`` or ``1.5`` cannot be read without guessing.  Such values get the status ``ambiguous``
(docs/bad-inputs.md case 28) and are never turned into a number.

:func:`parse_number` reads one string; :func:`parse_numbers` reads a whole column, parsing each
distinct non-trivial string once.  Neither raises on arbitrary text: every input ends with one of
the statuses ``ok``, ``missing``, ``ambiguous`` or ``unparseable``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

import numpy as np
import pandas as pd
from babel.numbers import NumberFormatError, parse_decimal

Kind = Literal["money", "number", "integer"]
Style = Literal["id", "plain"]
Status = Literal["ok", "missing", "ambiguous", "unparseable"]

KINDS: tuple[str, ...] = get_args(Kind)
STYLES: tuple[str, ...] = get_args(Style)
STATUSES: tuple[str, ...] = get_args(Status)


@dataclass(frozen=True)
class ParsedNumber:
    """The outcome of parsing one cell.

    Attributes
    ----------
    value
        The number, or ``None`` unless ``status`` is ``"ok"``.
    status
        ``"ok"``, ``"missing"`` (empty cell), ``"ambiguous"`` (readable in more than one way, e.g.
        an English-formatted number in an Indonesian column) or ``"unparseable"``.
    """

    value: float | None
    status: Status


_MISSING = ParsedNumber(None, "missing")
_AMBIGUOUS = ParsedNumber(None, "ambiguous")
_UNPARSEABLE = ParsedNumber(None, "unparseable")

# Characters that are invisible or look like a space; enumerators' phones insert them.
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SPACE_RE = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_MINUS_SIGNS = "-\u2212"

_CURRENCY_RE = re.compile(r"(?:rp\.?|idr)\s*", re.IGNORECASE)
_RUPIAH_SUFFIX_RE = re.compile(r"\s*rupiah$", re.IGNORECASE)
# ",-" / ",--" / ".-" after an amount means "no cents" in Indonesian price notation.
_NO_CENTS_RE = re.compile(r"[.,]-{1,2}$")
_MULTIPLIER_RE = re.compile(r"(?P<word>ribu|rb|k|juta|jt|miliar|milyar|miliyar|triliun)\.?$", re.IGNORECASE)
_MULTIPLIERS = {
    "ribu": 10**3,
    "rb": 10**3,
    "k": 10**3,
    "juta": 10**6,
    "jt": 10**6,
    "miliar": 10**9,
    "milyar": 10**9,
    "miliyar": 10**9,
    "m": 10**9,
    "triliun": 10**12,
}

# Number shapes, ASCII digits only (``\d`` would also accept Arabic-Indic digits).
_DIGITS_RE = re.compile(r"[0-9]+")
_ID_GROUPED_RE = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?")
_ID_DECIMAL_RE = re.compile(r"[0-9]+,[0-9]+")
# One comma followed by exactly three digits: Indonesian 1,500 (= 1.5) or English 1,500 (= 1500).
_COMMA_THREE_RE = re.compile(r"[1-9][0-9]{0,2},[0-9]{3}")
# English grouping that an Indonesian reading cannot explain: "1,500,000" or "1,500.50".
_EN_GROUPED_RE = re.compile(r"[0-9]{1,3}(?:,[0-9]{3}){2,}(?:\.[0-9]+)?|[0-9]{1,3}(?:,[0-9]{3})+\.[0-9]+")
_DOT_DECIMAL_RE = re.compile(r"[0-9]+\.[0-9]+")
_PLAIN_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Stata writes "." for a missing number and ".a" ... ".z" for extended missing values.
_STATA_MISSING_RE = re.compile(r"\.[a-z]?")

# Fast paths for parse_numbers: plain integers (both styles) and plain decimals (style "plain").
# Up to 15 digits, so the float conversion is exact.
_FAST_ID_RE = r"-?[0-9]{1,15}"
_FAST_PLAIN_RE = r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?"
_BLANK_RE = r"\s*"


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r}: expecting one of {', '.join(repr(c) for c in choices)}")


def _clean(text: str) -> str:
    text = _INVISIBLE_RE.sub("", text)
    return _SPACE_RE.sub(" ", text).strip()


def _finish(value: Decimal | float, *, kind: str, negative: bool) -> ParsedNumber:
    try:
        number = float(value)
    except (OverflowError, ValueError):
        return _UNPARSEABLE
    if not math.isfinite(number):
        return _UNPARSEABLE
    if kind == "integer" and not number.is_integer():
        return _UNPARSEABLE
    if negative:
        number = -number
    if number == 0:
        number = 0.0  # -0.0 would print as "-0" in reports
    return ParsedNumber(number, "ok")


def _parse_plain(text: str, *, kind: str) -> ParsedNumber:
    if text == "" or _STATA_MISSING_RE.fullmatch(text):
        return _MISSING
    if not _PLAIN_RE.fullmatch(text):
        return _UNPARSEABLE
    return _finish(float(text), kind=kind, negative=False)


def _take_sign(text: str) -> tuple[bool | None, str]:
    if text[:1] in _MINUS_SIGNS:
        return True, text[1:].lstrip()
    if text[:1] == "+":
        return False, text[1:].lstrip()
    return None, text


def _id_decimal(number: str) -> Decimal | None:
    # babel checks the grouping (strict=True rejects "1.5" or "01.500"); the regexes in
    # _parse_id decided beforehand which shapes are unambiguous enough to hand over.
    try:
        return parse_decimal(number, locale="id_ID", strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        return None


def _parse_id(text: str, *, kind: str) -> ParsedNumber:
    if text == "":
        return _MISSING
    negative, rest = _take_sign(text)
    currency = _CURRENCY_RE.match(rest)
    if currency:
        rest = rest[currency.end() :]
        if negative is None:
            negative, rest = _take_sign(rest)
    if currency and kind != "money":
        return _UNPARSEABLE
    rest = _RUPIAH_SUFFIX_RE.sub("", rest)
    rest = _NO_CENTS_RE.sub("", rest).rstrip()

    multiplier = 1
    if rest.endswith("M") and rest[:-1].rstrip()[-1:].isdigit():
        # Upper-case "M" is the Indonesian abbreviation of miliar; a lower-case "m" could be
        # read as the English "million", so it is not accepted.
        multiplier, rest = _MULTIPLIERS["m"], rest[:-1].rstrip()
    else:
        word = _MULTIPLIER_RE.search(rest)
        if word and rest[: word.start()].rstrip()[-1:].isdigit():
            multiplier = _MULTIPLIERS[word.group("word").lower()]
            rest = rest[: word.start()].rstrip()

    value: Decimal | None
    if _DIGITS_RE.fullmatch(rest):
        value = Decimal(rest)
    elif _ID_GROUPED_RE.fullmatch(rest):
        value = _id_decimal(rest)
    elif _COMMA_THREE_RE.fullmatch(rest) or _EN_GROUPED_RE.fullmatch(rest):
        # "1,500" is 1.5 by Indonesian rules and 1500 by English ones; "1,500,000" and
        # "1,500.50" are English-formatted in an Indonesian column.  Never guess (case 28).
        return _AMBIGUOUS
    elif _ID_DECIMAL_RE.fullmatch(rest):
        value = _id_decimal(rest)
    elif _DOT_DECIMAL_RE.fullmatch(rest):
        if multiplier == 1:
            # "1.5" is not valid Indonesian grouping: an English decimal or a typo of "1.500".
            return _AMBIGUOUS
        # Before a multiplier word a dot-decimal has only one reading: "1.5jt" is 1,5 juta.
        value = Decimal(rest)
    else:
        return _UNPARSEABLE
    if value is None:
        return _UNPARSEABLE
    return _finish(value * multiplier, kind=kind, negative=bool(negative))


def parse_number(
    text: str,
    *,
    kind: Kind = "number",
    style: Style = "id",
) -> ParsedNumber:
    """Parse one number typed as text.

    Parameters
    ----------
    text
        The cell, as text.  ``None`` and float NaN count as missing; other non-text values are
        converted with ``str`` first.
    kind
        ``"money"`` accepts an ``Rp``/``IDR`` prefix (and ``rupiah``, ``,-`` suffixes);
        ``"integer"`` rejects values with a fraction (``unparseable``); ``"number"`` is any
        number.  Multiplier words (``ribu``/``rb``/``k`` = 1e3, ``juta``/``jt`` = 1e6,
        ``miliar``/``M`` = 1e9) are accepted for every kind in style ``"id"``.
    style
        ``"id"``: Indonesian formatting, ``.`` thousands and ``,`` decimal; values that an English
        reading would give a different number (``1,500``, ``1.5``) are ``ambiguous``.
        ``"plain"``: C-locale numbers such as ``1500``, ``-1.5``, ``1e3``; ``.`` and Stata's
        ``.a`` ... ``.z`` are missing.

    Returns
    -------
    ParsedNumber
        The value and the status; the value is ``None`` unless the status is ``"ok"``.

    Raises
    ------
    ValueError
        If ``kind`` or ``style`` is not one of the allowed choices.

    Examples
    --------
    >>> parse_number("Rp 1.500.000", kind="money")
    ParsedNumber(value=1500000.0, status='ok')
    >>> parse_number("1,5 juta").value
    1500000.0
    >>> parse_number("1,500").status
    'ambiguous'
    """
    _check_choice("kind", kind, KINDS)
    _check_choice("style", style, STYLES)
    if text is None:
        return _MISSING
    if not isinstance(text, str):
        if isinstance(text, float) and math.isnan(text):
            return _MISSING
        text = str(text)
    cleaned = _clean(text)
    if style == "plain":
        return _parse_plain(cleaned, kind=kind)
    return _parse_id(cleaned, kind=kind)


def parse_numbers(
    values: pd.Series,
    *,
    kind: Kind = "number",
    style: Style = "id",
) -> pd.DataFrame:
    """Parse a column of numbers typed as text.

    Plain digit strings (and, in style ``"plain"``, plain decimals) are converted in one
    vectorised step; every other distinct string is parsed once with :func:`parse_number` and
    the result mapped back, so large columns with few distinct odd values are fast.

    Parameters
    ----------
    values
        The column, normally all ``str`` as returned by :func:`analysis.inputs.readers.read_table`.
    kind
        As in :func:`parse_number`.
    style
        As in :func:`parse_number`.

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``; column ``value`` (float64, NaN unless the status is ``ok``) and
        column ``status`` (``ok``, ``missing``, ``ambiguous`` or ``unparseable``).

    Raises
    ------
    ValueError
        If ``kind`` or ``style`` is not one of the allowed choices.
    """
    _check_choice("kind", kind, KINDS)
    _check_choice("style", style, STYLES)
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    n = len(series)
    value = np.full(n, np.nan, dtype=np.float64)
    status = np.full(n, "unparseable", dtype=object)

    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        # Already numbers (not the normal case: readers return text); only check them.
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isfinite(numbers)
        if kind == "integer":
            ok &= np.mod(numbers, 1, where=ok, out=np.zeros(n)) == 0
        value[ok] = numbers[ok]
        status[ok] = "ok"
        status[np.isnan(numbers)] = "missing"
        return _result(value, status, series.index)

    if isinstance(series.dtype, pd.StringDtype):
        is_str = series.notna().to_numpy(dtype=bool)
        strings = series[is_str]
    else:
        cells = series.to_numpy(dtype=object)
        is_str = np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=n)
        strings = pd.Series(cells[is_str], dtype="str")
    str_pos = np.flatnonzero(is_str)
    fast_pattern = _FAST_PLAIN_RE if style == "plain" else _FAST_ID_RE
    fast_sub = strings.str.fullmatch(fast_pattern).to_numpy(dtype=bool, na_value=False)
    blank_sub = strings.str.fullmatch(_BLANK_RE).to_numpy(dtype=bool, na_value=False)

    if fast_sub.any():
        numbers = strings[fast_sub].astype("float64").to_numpy() + 0.0  # "-0" -> 0.0
        ok = (numbers % 1 == 0) if kind == "integer" else np.ones(len(numbers), dtype=bool)
        idx = str_pos[fast_sub]
        value[idx[ok]] = numbers[ok]
        status[idx] = np.where(ok, "ok", "unparseable")
    status[str_pos[blank_sub]] = "missing"

    done = np.zeros(n, dtype=bool)
    done[str_pos[fast_sub | blank_sub]] = True
    rest = np.flatnonzero(~done)
    if len(rest):
        # Parse every distinct remaining cell once; NA-like cells get code -1 (missing).
        codes, uniques = pd.factorize(series.iloc[rest].to_numpy(dtype=object))
        parsed = [parse_number(u, kind=kind, style=style) for u in uniques]
        unique_values = np.array([np.nan if p.value is None else p.value for p in parsed] + [np.nan])
        unique_status = np.array([p.status for p in parsed] + ["missing"], dtype=object)
        value[rest] = unique_values[codes]
        status[rest] = unique_status[codes]
    return _result(value, status, series.index)


def _result(value: np.ndarray, status: np.ndarray, index: pd.Index) -> pd.DataFrame:
    return pd.DataFrame({"value": value, "status": pd.array(status, dtype="str")}, index=index)


# --------------------------------------------------------------------------------------------
# One reading per column

# What a value's separators say about the column it is in (on the number itself, after the
# sign, currency and "rupiah" / ",-" have been taken off):
#   "id"     only the Indonesian reading works: "4.314.000", "1.500,50", "1,5", "0,75";
#   "plain"  only a decimal point works: "1.5", "12.75", "0.500", "1234.500", "1,500,000", "1e5";
#   "three"  one dot and exactly three digits, "687.000" or "23.625": 687000 or 687, 23625 or
#            23.625, and nothing in the value itself says which;
#   ""       no separator to decide ("1500", "1,500" which stays ambiguous either way, "1,5 juta"
#            whose multiplier word makes it Indonesian whatever the column).
_SHAPE_ID_RE = r"[0-9]{1,3}(?:\.[0-9]{3}){2,}(?:,[0-9]+)?|[0-9]{1,3}\.[0-9]{3},[0-9]+|[0-9]+,[0-9]+"
_SHAPE_THREE_RE = r"[1-9][0-9]{0,2}\.[0-9]{3}"
_SHAPE_PLAIN_RE = (
    r"[0-9]*\.[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+"
)
# "1,500" (one comma, three digits) is English 1500 or Indonesian 1,5; it stays ambiguous in
# both readings, so it is no evidence either way (parse_number marks it).
_SHAPE_COMMA_THREE_RE = r"[1-9][0-9]{0,2},[0-9]{3}"
# Digits and separators only, a digit at each end: :func:`_number_core` returns it unchanged.
_BARE_NUMBER_RE = r"[0-9](?:[0-9.,]*[0-9])?"


def _number_core(text: str) -> str:
    """The digits and separators of a value: sign, currency, ``rupiah`` and ``,-`` removed.

    A value with a multiplier word (``1,5 juta``, ``500rb``) gives ``""``: the word makes it
    Indonesian whatever the rest of the column is, so it is no evidence about the column.
    """
    rest = _clean(text)
    _, rest = _take_sign(rest)
    currency = _CURRENCY_RE.match(rest)
    if currency:
        rest = rest[currency.end() :]
        _, rest = _take_sign(rest)
    rest = _NO_CENTS_RE.sub("", _RUPIAH_SUFFIX_RE.sub("", rest)).rstrip()
    word = _MULTIPLIER_RE.search(rest)
    if (word and rest[: word.start()].rstrip()[-1:].isdigit()) or (
        rest.endswith("M") and rest[:-1].rstrip()[-1:].isdigit()
    ):
        return ""
    return rest


def number_shapes(values: pd.Series) -> np.ndarray:
    """What each value's separators say about its column: ``id``, ``plain``, ``three`` or ``""``.

    Parameters
    ----------
    values
        Text values (normally the distinct values of one column).

    Returns
    -------
    numpy.ndarray
        One of ``"id"`` (only the Indonesian reading works: ``4.314.000``, ``1,5``), ``"plain"``
        (only a decimal point works: ``1.5``, ``0.500``, ``1,500,000``), ``"three"`` (one dot and
        three digits, ``687.000``: either reading works) or ``""`` per value.

    Examples
    --------
    >>> number_shapes(pd.Series(["4.314.000", "1.5", "687.000", "1500", "1,5 juta"])).tolist()
    ['id', 'plain', 'three', '', '']
    """
    if isinstance(values.dtype, pd.StringDtype) and not values.isna().any():
        text = values.reset_index(drop=True)  # already the text of every value
    else:
        text = pd.Series([str(v) for v in values], dtype="str")
    # A value of ASCII digits and separators only, starting and ending with a digit, is its own
    # core (no sign, currency, suffix or multiplier word to take off): most values of a large
    # column, kept out of the per-value Python function.
    plain = text.str.fullmatch(_BARE_NUMBER_RE).to_numpy(dtype=bool, na_value=False)
    found = text.to_numpy(dtype=object)
    found[~plain] = [_number_core(v) for v in found[~plain]]
    cores = pd.Series(found, dtype="str")
    comma_three = cores.str.fullmatch(_SHAPE_COMMA_THREE_RE).to_numpy(dtype=bool, na_value=False)
    shape = np.full(len(cores), "", dtype=object)
    for name, pattern in (("plain", _SHAPE_PLAIN_RE), ("id", _SHAPE_ID_RE), ("three", _SHAPE_THREE_RE)):
        hit = cores.str.fullmatch(pattern).to_numpy(dtype=bool, na_value=False) & ~comma_three
        shape[hit] = name
    return shape


@dataclass(frozen=True)
class ColumnStyle:
    """How one column's separators are read, decided from all of its values.

    Attributes
    ----------
    style
        The style the column is parsed in.
    ambiguous
        Per value: quarantined as ambiguous, because it contradicts the style the study or
        codebook set, or because the column mixes the two readings (``4.314.000`` next to
        ``1.5``).
    undecided
        Every value with a separator is one dot and three digits (``687.000``, ``23.625``) and
        nothing set the style: 687000 and 687 are equally possible, so the caller stops and asks.
    examples
        Up to three values that show the evidence or the problem, for messages.
    note
        One line for the cleaning log when the column was read otherwise than the default, or
        had values quarantined as ambiguous; ``""`` otherwise.
    """

    style: Style
    ambiguous: np.ndarray
    undecided: bool = False
    examples: tuple[str, ...] = ()
    note: str = ""


def _examples(values: pd.Series, mask: np.ndarray) -> tuple[str, ...]:
    return tuple(str(v) for v in values[mask].head(3))


def column_style(values: pd.Series, *, style: Style, style_set: bool) -> ColumnStyle:
    """Decide how a column's ``.`` and ``,`` are read, from all of its values.

    A value such as ``687.000`` reads as 687000 with Indonesian separators and as 687 with a
    decimal point; reading each value on its own gives 687 next to an unreadable ``4.314.000``
    in the same column, every amount under a million 1000 times too small.  So the whole
    column gets one reading:

    * values only one reading explains (``4.314.000``, ``1,5``: Indonesian; ``1.5``,
      ``0.500``: decimal point) decide it when they all point the same way;
    * with ``style_set`` (the study, the codebook or the type fixed the style), that style
      is kept: values that contradict it are ambiguous, and so are the three-decimal values
      when nothing in the column supports the set style;
    * without it, a column whose values point both ways is ambiguous in every value with a
      separator, and a column whose only separators are one dot and three digits
      (``687.000``, ``23.625``) is ``undecided``.

    Parameters
    ----------
    values
        The column's text values (normally its distinct values).
    style
        The style set for the column, or the default.
    style_set
        Whether the study file, the codebook or the variable's type set ``style``.

    Returns
    -------
    ColumnStyle
    """
    _check_choice("style", style, STYLES)
    shapes = number_shapes(values)
    is_id, is_plain, three = (shapes == "id"), (shapes == "plain"), (shapes == "three")
    none = np.zeros(len(shapes), dtype=bool)
    other: Style = "plain" if style == "id" else "id"
    reading = {"id": "'.' as the thousands separator", "plain": "'.' as the decimal point"}
    if is_id.any() and is_plain.any():
        against = is_plain if style == "id" else is_id
        if style_set:
            return ColumnStyle(
                style,
                against,
                examples=_examples(values, against),
                note=f"values written with {reading[other]} in a column read with {reading[style]}"
                " are quarantined as ambiguous",
            )
        mixed = is_id | is_plain | three
        return ColumnStyle(
            style,
            mixed,
            examples=_examples(values, is_id)[:1] + _examples(values, is_plain)[:1],
            note="the column mixes '.' as the thousands separator and as the decimal point; "
            "every value with a separator is quarantined as ambiguous",
        )
    evidence = is_id if is_id.any() else is_plain
    if evidence.any():
        found: Style = "id" if is_id.any() else "plain"
        if found == style:
            return ColumnStyle(style, none, examples=_examples(values, evidence))
        if style_set:
            against = evidence | three
            return ColumnStyle(
                style,
                against,
                examples=_examples(values, evidence),
                note=f"values written with {reading[found]} in a column set to be read with "
                f"{reading[style]} are quarantined as ambiguous",
            )
        return ColumnStyle(
            found,
            none,
            examples=_examples(values, evidence),
            note=f"read with {reading[found]}, as the column's values show",
        )
    if three.any() and not style_set:
        return ColumnStyle(style, none, undecided=True, examples=_examples(values, three))
    return ColumnStyle(style, none)
