"""Masking personal values before they reach a log, a report or an error message.

Logs and messages name the file, row and column of a problem; the value itself is shown only
masked (its length and at most its first and last two characters) or described by its kind and
length.  Validation output in particular carries the failing value, and a phone number typed
into the wrong column is still a phone number (``bad-inputs.md`` section 2.6).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def mask_value(text: str) -> str:
    """Mask a personal value for logs: keep its length and at most its first and last two characters.

    >>> mask_value("9401011201900013")
    '94************13'
    >>> mask_value("Siti")
    '****'
    """
    if len(text) <= 6:
        return "*" * len(text)
    return text[:2] + "*" * (len(text) - 4) + text[-2:]


def describe_value(value: object) -> str:
    """Describe a value by its kind and length only, never its content.

    >>> describe_value(81234567890.0), describe_value("Siti"), describe_value(None)
    ('number with 11 digits', 'text of 4 characters', 'missing')
    """
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, (int, float, np.integer, np.floating)):
        digits = sum(ch.isdigit() for ch in f"{float(value):f}".rstrip("0").rstrip("."))
        return f"number with {digits} digit{'s' if digits != 1 else ''}"
    if isinstance(value, pd.Timestamp):
        return "date"
    text = str(value)
    return f"text of {len(text)} character{'s' if len(text) != 1 else ''}"


def mask_series(values: pd.Series) -> pd.Series:
    """Mask every cell of a column with :func:`mask_value` (missing cells stay empty)."""
    cells = values.astype(object).to_numpy()
    out = np.array(["" if _missing(c) else mask_value(str(c)) for c in cells], dtype=object)
    return pd.Series(out, index=values.index, dtype=object)


def _missing(value: object) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
