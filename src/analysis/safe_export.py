"""Neutralise spreadsheet formulas in text cells before a table is exported (case 40).

Survey free text can hold ``=HYPERLINK("http://x","klik")`` or ``@SUM(...)``; a CSV or XLSX
opened in Excel or LibreOffice would run it (CSV/formula injection).  Text cells that start
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a leading apostrophe, which
spreadsheets show as text.  Only text columns are touched, and a cell that is a plain number
(``-99``, ``+62``) is left as it is, since spreadsheets read it as a number, not a formula.
The analysis values (Parquet) are never changed; HTML reports escape text separately.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_TRIGGER_RE = r"(?s)[=+\-@\t\r].*"
_PLAIN_NUMBER_RE = r"[+-]?[0-9]+(?:[.,][0-9]+)*"


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot be read as formulas by a spreadsheet.

    >>> neutralize_formulas(pd.DataFrame({"x": ["=1+2", "-99", "ok", "@cmd"]}))["x"].tolist()
    ["'=1+2", '-99', 'ok', "'@cmd"]
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
            continue
        cells = values.to_numpy(dtype=object)
        is_text = np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=len(cells))
        if not is_text.any():
            continue
        text = pd.Series(np.where(is_text, cells, ""), dtype=object).astype(str)
        trigger = text.str.fullmatch(_TRIGGER_RE).to_numpy(dtype=bool, na_value=False)
        number = text.str.fullmatch(_PLAIN_NUMBER_RE).to_numpy(dtype=bool, na_value=False)
        risky = trigger & ~number & is_text
        if risky.any():
            cells = cells.copy()
            cells[risky] = "'" + text[risky].to_numpy(dtype=object)
            out[column] = pd.Series(cells, index=out.index, dtype=object)
    return out
