"""Stata ``.dta`` and SPSS ``.sav`` files, with their value labels and missing-value codes kept."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.inputs.readers.base import (
    _DOUBLE_DIGITS,
    _FLOAT32_DIGITS,
    RawTable,
    _as_text_frame,
    _cell_text,
    _float_text,
)


def _read_stat(path: Path, *, kind: str, encoding: str | None) -> RawTable:
    import pyreadstat

    reader = pyreadstat.read_dta if kind == "dta" else pyreadstat.read_sav
    try:
        # user_missing=True keeps SPSS -99/-98 codes and Stata's .a-.z distinct instead of
        # turning them all into NaN (docs/bad-inputs.md cases 23, 24).
        frame, meta = reader(str(path), user_missing=True, encoding=encoding)
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError, UnicodeError) as exc:
        raise InputError(
            f"cannot be read as a .{kind} file ({exc}) – re-export it from "
            f"{'Stata' if kind == 'dta' else 'SPSS'}",
            file=path,
        ) from None

    fixes: list[str] = []
    types: Mapping[str, str] = meta.readstat_variable_types or {}
    numeric: dict[str, np.ndarray] = {}
    digits: dict[str, int] = {}
    columns: dict[int, np.ndarray] = {}
    for j, name in enumerate(frame.columns):
        vtype = types.get(name, "")
        is_number = vtype in ("double", "float", "int8", "int16", "int32")
        single = vtype == "float"
        text, number_mask = _render_stat_column(frame[name], numeric=is_number, single=single)
        columns[j] = text
        if vtype in ("double", "float") and number_mask.any():
            numeric[str(name)] = number_mask
            digits[str(name)] = _FLOAT32_DIGITS if single else _DOUBLE_DIGITS

    value_labels: dict[str, dict[str, str]] = {}
    for name, stored in (meta.variable_value_labels or {}).items():
        value_labels[str(name)] = {_cell_text(code): str(label) for code, label in stored.items()}
        texts = [str(label) for label in stored.values()]
        if len(set(texts)) < len(texts):
            # pandas.read_stata refuses these files; codes are kept as read (case 22).
            fixes.append(f"variable {name}: non-unique value labels, codes kept")

    user_missing: dict[str, dict[str, str]] = {}
    for name, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
        labels = value_labels.get(str(name), {})
        codes: dict[str, str] = {}
        for item in ranges:
            lo, hi = _cell_text(item.get("lo")), _cell_text(item.get("hi"))
            key = lo if lo == hi else f"{lo}..{hi}"
            codes[key] = labels.get(key, "")
        if codes:
            user_missing[str(name)] = codes
    for name, letters in (getattr(meta, "missing_user_values", None) or {}).items():
        labels = value_labels.get(str(name), {})
        codes = user_missing.setdefault(str(name), {})
        for letter in letters:
            key = f".{letter}" if kind == "dta" else _cell_text(letter)
            codes.setdefault(key, labels.get(key, ""))
    for name, codes in user_missing.items():
        described = ", ".join(f"{k} {v}".strip() for k, v in codes.items())
        fixes.append(f"variable {name}: user-missing codes kept as text ({described})")

    out = pd.DataFrame({j: pd.Series(v, dtype="str") for j, v in columns.items()})
    out.columns = pd.Index([str(c) for c in frame.columns], dtype=object)
    n = len(out)
    if n == 0:
        raise InputError("0 data rows", file=path)
    return RawTable(
        frame=_as_text_frame(out),
        path=path,
        encoding=getattr(meta, "file_encoding", None),
        row_numbers=np.arange(2, n + 2, dtype=np.int64),
        fixes=tuple(fixes),
        value_labels=value_labels,
        user_missing=user_missing,
        numeric_cells=numeric,
        numeric_digits=digits,
    )


def _render_stat_column(column: pd.Series, *, numeric: bool, single: bool) -> tuple[np.ndarray, np.ndarray]:
    """Render a pyreadstat column as text; also return the mask of cells holding numbers."""
    n = len(column)
    out = np.full(n, "", dtype=object)
    if pd.api.types.is_float_dtype(column.dtype) or pd.api.types.is_integer_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(values)
        # Whole numbers in int64 range convert in one vectorised step; the rest one by one.
        whole = finite & (np.abs(values) < 2.0**62)
        whole[whole] = np.mod(values[whole], 1) == 0
        out[whole] = values[whole].astype(np.int64).astype(str)
        for k in np.flatnonzero(~whole & ~np.isnan(values)):
            out[k] = _float_text(float(values[k]), single=single)
        return out, ~np.isnan(values)

    number_mask = np.zeros(n, dtype=bool)
    for i, value in enumerate(column.to_numpy(dtype=object)):
        if isinstance(value, str):
            # With user_missing=True pyreadstat returns Stata's extended missing .a-.z as the
            # bare letter in an otherwise numeric column.
            if numeric and len(value) == 1 and "a" <= value <= "z":
                out[i] = "." + value
            else:
                out[i] = value
        elif isinstance(value, (float, np.floating)):
            out[i] = _float_text(float(value), single=single)
            number_mask[i] = not math.isnan(value)
        else:
            out[i] = _cell_text(value)
            number_mask[i] = numeric and isinstance(value, (int, np.integer))
    return out, number_mask
