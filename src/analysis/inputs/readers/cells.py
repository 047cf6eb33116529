"""Checks and normalisations of text cells: float-formatted codes, id text, invisible characters."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import InputError, format_rows
from analysis.inputs.readers.base import _DOUBLE_DIGITS, _ODD_SPACE_RE, _ZERO_WIDTH_RE, RawTable, _and_list

_SCIENTIFIC_RE = r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)[eE][+-]?[0-9]+"


_POINT_ZERO_RE = r"[+-]?[0-9]+[.,]0+"


_DECIMAL_RE = r"[+-]?[0-9]*[.,][0-9]+"


_LEADING_ZERO_RE = r"[+-]?0[0-9]+(?:[.,]0+)?"


_LONG_WHOLE_RE = r"[+-]?[0-9]{16,}(?:[.,]0+)?"


def _float_code_refusal(values: pd.Series, row_numbers: np.ndarray) -> str | None:
    """Why ``12.0``-style codes in ``values`` cannot be read as the integers they look like.

    ``None`` when they can: every number in the column is whole, none keeps a leading zero
    (``0712`` next to ``713.0`` shows the codes are text that lost its zeros), and none is
    longer than a double keeps exactly (15 digits).
    """
    point_zero = values.str.fullmatch(_POINT_ZERO_RE).to_numpy(dtype=bool, na_value=False)
    decimal = values.str.fullmatch(_DECIMAL_RE).to_numpy(dtype=bool, na_value=False) & ~point_zero
    zeros = values.str.fullmatch(_LEADING_ZERO_RE).to_numpy(dtype=bool, na_value=False)
    long = values.str.fullmatch(_LONG_WHOLE_RE).to_numpy(dtype=bool, na_value=False) & point_zero
    for mask, why in (
        (zeros, "other values keep leading zeros, so the codes are text that lost its zeros"),
        (decimal, "other values are not whole numbers"),
        (long, "values longer than 15 digits lost their last digits in the number"),
    ):
        if mask.any():
            return f"{why} ({format_rows(row_numbers[mask].tolist())})"
    return None


def float_codes(table: RawTable, column: str) -> np.ndarray:
    """Cells of a code column written as whole numbers through a float (``12.0``), to read as ``12``.

    Stata and pandas write an integer code column that passed through a floating-point
    number as ``12.0``. When every number in the column is whole, none has a leading zero and
    none is longer than 15 digits, the codes are the integers they look like. Otherwise
    nothing is marked, and :func:`check_id_text` refuses the column.

    Parameters
    ----------
    table
        The table as read by :func:`read_table`.
    column
        The ID or code column.

    Returns
    -------
    numpy.ndarray
        Boolean mask of the cells to rewrite without their ``.0``; all False when there are
        none or the column cannot be repaired.
    """
    values = normalize_text(table.frame[column])[0].astype("str").fillna("")
    point_zero = values.str.fullmatch(_POINT_ZERO_RE).to_numpy(dtype=bool, na_value=False)
    if not point_zero.any() or _float_code_refusal(values, table.row_numbers) is not None:
        return np.zeros(len(values), dtype=bool)
    return point_zero


def without_point_zero(values: pd.Series) -> pd.Series:
    """``12.0`` -> ``12`` (trimmed text; other cells are returned trimmed too)."""
    text = normalize_text(values)[0].astype("str").fillna("")
    return text.str.replace(r"[.,]0+$", "", regex=True).astype(object)


def check_id_text(
    table: RawTable,
    column: str,
    *,
    expected_length: int | None = None,
) -> None:
    """Refuse an ID or code column that shows signs of having passed through a number.

    Checked, on the values after stripping invisible whitespace (blank cells are allowed):

    * scientific notation such as ``9.40101E+15`` (a CSV saved from Excel);
    * a trailing ``.0`` (the column went through a float; cleaning first reads a column of
      whole codes without leading zeros as integers, see :func:`float_codes`);
    * a cell stored as a number with more digits than the format keeps - 15 for Excel and
      doubles, so a 16-digit NIK typed into Excel ends in ``0`` (docs/bad-inputs.md case 18);
    * with ``expected_length``: values shorter than that (a lost leading zero, case 43).

    Parameters
    ----------
    table
        The table as read by :func:`read_table`.
    column
        The ID or code column.
    expected_length
        The length every non-blank value must have, from the codebook (e.g. 16 for a NIK).

    Raises
    ------
    InputError
        Naming the file, sheet, rows and column; values are not printed.
    ValueError
        If ``expected_length`` is not a positive integer.
    """
    if expected_length is not None and (
        isinstance(expected_length, bool) or not isinstance(expected_length, int) or expected_length < 1
    ):
        raise ValueError(f"expected_length={expected_length!r}: expecting a positive integer")
    if column not in table.frame.columns:
        raise InputError("column not found in the file", file=table.path, column=column, sheet=table.sheet)
    values, _ = normalize_text(table.frame[column])
    values = values.astype("str").fillna("")
    filled = (values != "").to_numpy(dtype=bool)
    problems: list[tuple[np.ndarray, str]] = []

    numbers = table.numeric_cells.get(column)
    if numbers is not None and numbers.any():
        allowed = table.numeric_digits.get(column, _DOUBLE_DIGITS)
        digit_count = values.str.count(r"[0-9]").to_numpy(dtype=np.int64)
        lost = numbers & (digit_count > allowed)
        if table.path.suffix.lower() == ".xlsx":
            message = "numeric ID lost precision in Excel – re-export the column as text"
        else:
            message = (
                f"numeric ID stored as a floating-point number keeps only {allowed} digits – "
                "store the ID as a string variable and re-export"
            )
        problems.append((lost, message))

    scientific = values.str.fullmatch(_SCIENTIFIC_RE).to_numpy(dtype=bool, na_value=False)
    problems.append(
        (
            scientific,
            "ID in scientific notation (like 9.4E+15) – it passed through a number in Excel; "
            "re-export the column as text",
        )
    )
    point_zero = values.str.fullmatch(_POINT_ZERO_RE).to_numpy(dtype=bool, na_value=False)
    refusal = _float_code_refusal(values, table.row_numbers) if point_zero.any() else None
    # Cleaning reads a column of whole 12.0 codes as 12 (float_codes); what is left here is a
    # column where that would be a guess.
    problems.append(
        (
            point_zero,
            "ID ends in '.0' – it passed through a floating-point number"
            + (f" and cannot be read as a whole number because {refusal}" if refusal else "")
            + "; re-export the column as text",
        )
    )
    if expected_length is not None:
        lengths = values.str.len().to_numpy(dtype=np.int64)
        short = filled & (lengths < expected_length)
        seen = sorted({int(x) for x in lengths[short]})
        problems.append(
            (
                short,
                f"ID shorter than the expected {expected_length} characters (lengths "
                f"{_and_list(seen) if seen else '-'}; leading zero lost?) – re-export the "
                "column as text or correct the values",
            )
        )

    found = [(mask, message) for mask, message in problems if mask.any()]
    if not found:
        return
    mask, message = found[0]
    also = [
        f"also {format_rows(table.row_numbers[m].tolist())}: {msg.split(' – ')[0]}" for m, msg in found[1:]
    ]
    detail = "; ".join([message, *also])
    raise InputError(
        detail,
        file=table.path,
        rows=table.row_numbers[mask].tolist(),
        column=column,
        sheet=table.sheet,
    )


def normalize_text(series: pd.Series) -> tuple[pd.Series, int]:
    """Strip invisible characters and surrounding whitespace from text cells (case 29).

    Zero-width characters (U+200B/C/D, U+2060, U+FEFF, soft hyphen) are removed anywhere;
    no-break and other Unicode spaces become ordinary spaces; leading and trailing whitespace
    is stripped.  Inner ordinary spaces are kept.

    Parameters
    ----------
    series
        A text column; cells that are not strings are left unchanged.

    Returns
    -------
    tuple[pandas.Series, int]
        The cleaned column (same index and name) and the number of cells that changed.
    """
    if isinstance(series.dtype, pd.StringDtype):
        text = series
    else:
        cells = series.to_numpy(dtype=object)
        is_str = np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=len(cells))
        cells = cells.copy()
        cells[~is_str] = None
        text = pd.Series(cells, index=series.index, dtype="str")
    cleaned = (
        text.str.replace(_ZERO_WIDTH_RE, "", regex=True)
        .str.replace(_ODD_SPACE_RE, " ", regex=True)
        .str.strip()
    )
    # NaN != NaN is True for the str dtype, so missing cells are excluded explicitly.
    changed = ((cleaned != text) & text.notna()).to_numpy(dtype=bool, na_value=False)
    if not changed.any():
        return series, 0
    if isinstance(series.dtype, pd.StringDtype):
        result = cleaned
    else:
        result = series.copy()
        result[changed] = cleaned[changed].to_numpy(dtype=object)
    result.name = series.name
    return result, int(changed.sum())
