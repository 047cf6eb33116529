"""Excel ``.xlsx`` workbooks, read cell by cell as text (row numbers as Excel shows them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.inputs.readers.base import (
    _DOUBLE_DIGITS,
    RawTable,
    _as_text_frame,
    _cell_text,
    _clean_header,
    _drop_unnamed_columns,
    _plural,
)


def open_workbook(path: Path) -> Any:
    """An openpyxl workbook, read-only with cached values; a file that is not one is one line.

    Raises
    ------
    InputError
        Naming the file, when it cannot be opened as an ``.xlsx`` workbook.
    """
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt zips raise many unrelated types
        raise InputError(
            f"cannot be opened as an .xlsx workbook ({type(exc).__name__}) – re-save it from Excel as .xlsx",
            file=path,
        ) from None


def sheet_names(path: Path) -> list[str]:
    """The names of a workbook's sheets, in order."""
    workbook = open_workbook(path)
    try:
        return [str(s) for s in workbook.sheetnames]
    finally:
        workbook.close()


def _read_xlsx(path: Path, *, sheet: str | None) -> RawTable:
    workbook = open_workbook(path)
    try:
        sheets = workbook.sheetnames
        if sheet is None:
            if not workbook.worksheets:
                raise InputError("workbook has no worksheet", file=path)
            worksheet = workbook.worksheets[0]
        elif sheet in sheets:
            worksheet = workbook[sheet]
        else:
            raise InputError(f"sheet {sheet!r} not found; the workbook has {', '.join(sheets)}", file=path)
        sheet_name = str(worksheet.title)
        # Dimensions written by some tools are wrong; let openpyxl find the real extent.
        if hasattr(worksheet, "reset_dimensions"):
            worksheet.reset_dimensions()
        cells = [tuple(r) for r in worksheet.iter_rows(values_only=True)]
    finally:
        workbook.close()

    fixes: list[str] = []
    filled = [any(v is not None and v != "" for v in r) for r in cells]
    if not any(filled):
        raise InputError("0 data rows", file=path, sheet=sheet_name)
    header_index = filled.index(True)
    last = len(filled) - 1 - filled[::-1].index(True)
    trailing = len(cells) - 1 - last
    if trailing and any(filled[header_index + 1 :]):
        fixes.append(f"dropped {_plural(trailing, 'empty row')} after the last row with data")
    cells = cells[header_index : last + 1]
    if len(cells) < 2:
        raise InputError("0 data rows", file=path, sheet=sheet_name)
    if header_index:
        fixes.append(f"header found on row {header_index + 1} (rows above it are empty)")

    width = max(len(r) for r in cells)
    header = [_cell_text(r) for r in _pad(cells[0], width)]
    names = _clean_header(path, header, fixes, sheet=sheet_name)
    data = cells[1:]
    rows = np.arange(len(data), dtype=np.int64) + header_index + 2
    columns: dict[int, list[str]] = {}
    numeric: dict[str, np.ndarray] = {}
    for j in range(width):
        values = [r[j] if j < len(r) else None for r in data]
        columns[j] = [_cell_text(v) for v in values]
        mask = np.fromiter((type(v) in (int, float) for v in values), dtype=bool, count=len(values))
        if mask.any() and names[j]:
            numeric[names[j]] = mask
    frame = pd.DataFrame({j: pd.Series(v, dtype="str") for j, v in columns.items()})
    frame.columns = pd.Index(names, dtype=object)
    frame = _drop_unnamed_columns(path, frame, rows, fixes, sheet=sheet_name)
    return RawTable(
        frame=_as_text_frame(frame),
        path=path,
        sheet=sheet_name,
        row_numbers=rows,
        fixes=tuple(fixes),
        numeric_cells=numeric,
        numeric_digits={name: _DOUBLE_DIGITS for name in numeric},
    )


def _pad(row: tuple[Any, ...], width: int) -> tuple[Any, ...]:
    return row + (None,) * (width - len(row))
