"""The raw table every reader returns, and the helpers the readers share."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InputError

DEFAULT_MAX_BYTES = 1 << 30
"""Largest file :func:`read_table` reads (1 GiB); a CSV needs several times its size in memory."""


SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".dta": "dta",
    ".sav": "sav",
}


# Excel and IEEE doubles keep 15 significant digits reliably (Microsoft KB 269370); a Stata or
# SPSS "float" keeps 7.  An ID stored as a number with more digits than this lost some.
_DOUBLE_DIGITS = 15


_FLOAT32_DIGITS = 7


_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"


_ODD_SPACES = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"


_ZERO_WIDTH_RE = f"[{_ZERO_WIDTH}]"


_ODD_SPACE_RE = f"[{_ODD_SPACES}]"


def _empty_rows() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class RawTable:
    """A raw export read as text, with the information needed to point users at cells.

    Attributes
    ----------
    frame
        One column per header, every cell a Python ``str``; a missing cell is ``""`` (never NaN);
        the index is a ``RangeIndex``.
    path
        The file read.
    sheet
        The worksheet, for XLSX files.
    encoding
        The text encoding used (CSV) or reported by the file (dta/sav).
    delimiter
        The CSV delimiter.
    row_numbers
        Spreadsheet row of each record, the header being row 1: ``2, 3, ...`` for dta/sav; the
        Excel row number for XLSX (blank rows inside the data are kept as records of ``""``);
        for CSV the record's position counted in records, where skipped blank lines still
        count, as they would in a spreadsheet.  When left empty it is filled with ``2, 3, ...``.
    line_numbers
        CSV only: the physical line where each record starts; it differs from the row number
        when quoted free text contains line breaks.
    fixes
        Normalisations applied while reading, for the run log (``sep=';' detected``, ``BOM
        removed``, ``encoding=cp1252`` ...).
    value_labels
        Value labels from dta/sav files: ``{column: {code as text: label}}``.
    user_missing
        User-defined missing codes from sav files (and Stata extended missing values declared
        in dta files): ``{column: {code as text: label}}``; a range is keyed ``"lo..hi"``.
    numeric_cells
        ``{column: boolean mask}`` of the cells that were stored as numbers in the file (XLSX
        numeric cells, dta/sav floating-point variables); used by :func:`check_id_text`.
    numeric_digits
        ``{column: significant digits a number in that column keeps}`` (15 for Excel and
        doubles, 7 for Stata/SPSS floats).
    """

    frame: pd.DataFrame
    path: Path
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    row_numbers: np.ndarray = field(default_factory=_empty_rows)
    line_numbers: np.ndarray | None = None
    fixes: tuple[str, ...] = ()
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    user_missing: dict[str, dict[str, str]] = field(default_factory=dict)
    numeric_cells: dict[str, np.ndarray] = field(default_factory=dict)
    numeric_digits: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Normalise the row-number arrays and check they match the frame."""
        if not isinstance(self.frame, pd.DataFrame):
            raise TypeError("RawTable.frame must be a pandas DataFrame")
        if not isinstance(self.frame.index, pd.RangeIndex):
            raise ValueError("RawTable.frame must have a RangeIndex")
        n = len(self.frame)
        rows = np.asarray(self.row_numbers, dtype=np.int64)
        if len(rows) == 0 and n:
            rows = np.arange(2, n + 2, dtype=np.int64)
        if len(rows) != n:
            raise ValueError(f"row_numbers has {len(rows)} entries for {n} rows")
        object.__setattr__(self, "row_numbers", rows)
        object.__setattr__(self, "path", Path(self.path))
        if self.line_numbers is not None:
            lines = np.asarray(self.line_numbers, dtype=np.int64)
            if len(lines) != n:
                raise ValueError(f"line_numbers has {len(lines)} entries for {n} rows")
            object.__setattr__(self, "line_numbers", lines)

    def take(self, keep: np.ndarray | pd.Series) -> RawTable:
        """The records where ``keep`` is true, as if the file held only them.

        Used for one round of a long file (``rounds: {file, column}``): every record keeps its
        spreadsheet row and line number in the whole file, so messages still point at the cell
        the user can open.
        """
        mask = np.asarray(keep, dtype=bool)
        if len(mask) != len(self.frame):
            raise ValueError(f"keep has {len(mask)} entries for {len(self.frame)} rows")
        return dataclasses.replace(
            self,
            frame=self.frame.loc[mask].reset_index(drop=True),
            row_numbers=self.row_numbers[mask],
            line_numbers=None if self.line_numbers is None else self.line_numbers[mask],
            numeric_cells={c: np.asarray(m)[mask] for c, m in self.numeric_cells.items()},
        )


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _clean_header(path: Path, header: Sequence[str], fixes: list[str], *, sheet: str | None) -> list[str]:
    names = [_strip_invisible(h) for h in header]
    changed = sum(a != b for a, b in zip(names, header, strict=True))
    if changed:
        fixes.append(f"header whitespace stripped: {_plural(changed, 'column')}")
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        if name:
            positions.setdefault(name, []).append(i)
    duplicated = {name: pos for name, pos in positions.items() if len(pos) > 1}
    if duplicated:
        parts = [f"{name} (columns {_and_list(pos)})" for name, pos in duplicated.items()]
        raise InputError(
            f"duplicated column names {'; '.join(parts)} – rename or remove the extra columns",
            file=path,
            rows=[1],
            sheet=sheet,
        )
    return names


def _strip_invisible(text: str) -> str:
    text = re.sub(_ZERO_WIDTH_RE, "", text)
    return re.sub(_ODD_SPACE_RE, " ", text).strip()


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _and_list(items: Sequence[object]) -> str:
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _drop_unnamed_columns(
    path: Path, frame: pd.DataFrame, rows: np.ndarray, fixes: list[str], *, sheet: str | None
) -> pd.DataFrame:
    """Drop empty columns without a header (trailing delimiters); refuse ones holding data."""
    drop: list[int] = []
    for position, name in enumerate(frame.columns):
        if name != "":
            continue
        column = frame.iloc[:, position]
        filled = (column.notna() & (column.astype(str) != "")).to_numpy(dtype=bool)
        if filled.any():
            raise InputError(
                "has no header but holds values – add a column name or delete the column",
                file=path,
                rows=[int(r) for r in rows[filled]],
                column=str(position + 1),
                sheet=sheet,
            )
        drop.append(position)
    if not drop:
        return frame
    fixes.append(f"dropped {_plural(len(drop), 'empty column')} without a header")
    keep = [i for i in range(frame.shape[1]) if i not in set(drop)]
    return frame.iloc[:, keep]


def _as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every column as pandas' ``str`` dtype and a RangeIndex."""
    columns = {}
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        if not (isinstance(column.dtype, pd.StringDtype) and not column.isna().any()):
            column = pd.Series(column.to_numpy(dtype=object), dtype="str").fillna("")
        columns[position] = column.reset_index(drop=True)
    out = pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))
    out.columns = pd.Index([str(c) for c in frame.columns], dtype=object)
    return out


def _cell_text(value: Any) -> str:
    """Render one cell value as the text a user would type, without float artefacts."""
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return _float_text(float(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _float_text(value: float, *, single: bool = False) -> str:
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer():
        return str(int(value))  # exact for any size: 1e16 -> "10000000000000000"
    # The shortest text that reads back as the same number ("0.1", not 0.1000000000000000055);
    # a Stata/SPSS "float" read into a double is shortened as a float32 (1.1, not
    # 1.100000023841858).
    number: float | np.float32 = np.float32(value) if single else value
    text = str(number)
    if "e" in text:  # positional, as typed: 0.00001 rather than 1e-05
        text = str(np.format_float_positional(number, trim="-"))
    return text
