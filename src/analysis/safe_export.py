"""User text made safe for where it goes: spreadsheets (formula guard) and HTML (bidi isolation).

**Spreadsheets** (case 40). Survey free text can hold ``=HYPERLINK("http://x","klik")`` or
``@SUM(...)``; a CSV or XLSX opened in Excel or LibreOffice would run it (CSV/formula
injection). Text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
get a leading apostrophe, which spreadsheets show as text. Only text columns are touched, and
a cell that is a plain number (``-99``, ``+62``) is left as it is, since spreadsheets read it as
a number, not a formula. The analysis values (Parquet) are never changed.

The guard is for spreadsheets only: berdaya's own code reads its tables back with
:func:`read_csv`, which removes it again, so a village coded ``=X`` is ``=X`` everywhere
(its report is found, and pages show ``=X``). To make that exact, a text cell that itself
starts with apostrophes and then a trigger (``'=X``) is guarded too (``''=X``): one leading
apostrophe is removed on reading exactly when the guard added one. Guard a frame once only.

**HTML.** Unicode bidi control characters in a village or study name (U+202E
RIGHT-TO-LEFT OVERRIDE and friends) would reverse the report's own words after the name. Every
string from the data reaches a page through :func:`html_text` (text) or :func:`html_attribute`
(attribute values, ``<title>``): the explicit embeddings, overrides and isolates are removed,
and text that has any right-to-left character is wrapped in ``<bdi>``, which isolates it so that
it can neither reorder nor be reordered by the sentence around it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from analysis.study import Study

_TRIGGER_RE = r"(?s)'*[=+\-@\t\r].*"
_PLAIN_NUMBER_RE = r"[+-]?[0-9]+(?:[.,][0-9]+)*"


def _text_cells(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The column's cells as an object array and a mask of the cells that are ``str``."""
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return None
    cells = values.to_numpy(dtype=object)
    is_text = np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=len(cells))
    return (cells, is_text) if is_text.any() else None


def _needs_guard(text: pd.Series) -> np.ndarray:
    """Which cells a spreadsheet could take for a formula (or that start with ``'`` + trigger)."""
    trigger = text.str.fullmatch(_TRIGGER_RE).to_numpy(dtype=bool, na_value=False)
    number = text.str.fullmatch(_PLAIN_NUMBER_RE).to_numpy(dtype=bool, na_value=False)
    return trigger & ~number


def _rewrite_text_cells(
    frame: pd.DataFrame,
    rewrite: Callable[[pd.Series], tuple[np.ndarray, pd.Series]],
    *,
    keep_dtype: bool,
) -> pd.DataFrame:
    """A copy of ``frame`` in which ``rewrite`` (text → which cells, their new text) is applied."""
    out = frame.copy()
    for column in out.columns:
        found = _text_cells(out[column])
        if found is None:
            continue
        cells, is_text = found
        text = pd.Series(np.where(is_text, cells, ""), dtype=object).astype(str)
        hit, new = rewrite(text)
        hit = hit & is_text
        if hit.any():
            cells = cells.copy()
            cells[hit] = new[hit].to_numpy(dtype=object)
            series = pd.Series(cells, index=out.index, dtype=object)
            out[column] = series.astype(out[column].dtype) if keep_dtype else series
    return out


def _add_guard(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    return _needs_guard(text), "'" + text


def _remove_guard(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    # Exactly the cells the guard made: an apostrophe before something the guard guards.
    guarded = text.str.startswith("'").to_numpy(dtype=bool) & _needs_guard(text.str.slice(1))
    return guarded, text.str.slice(1)


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot be read as formulas by a spreadsheet.

    >>> neutralize_formulas(pd.DataFrame({"x": ["=1+2", "-99", "ok", "@cmd", "'=x"]}))["x"].tolist()
    ["'=1+2", '-99', 'ok', "'@cmd", "''=x"]
    """
    return _rewrite_text_cells(frame, _add_guard, keep_dtype=False)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralize_formulas`: the original text of every guarded cell.

    >>> restore_formulas(pd.DataFrame({"x": ["'=1+2", "-99", "'ok", "'@cmd", "''=x"]}))["x"].tolist()
    ['=1+2', '-99', "'ok", '@cmd', "'=x"]
    """
    return _rewrite_text_cells(frame, _remove_guard, keep_dtype=True)


def read_csv(path: str | Path, **options: Any) -> pd.DataFrame:
    """Read a table berdaya wrote (``storage.write_csv``) with the original text of every cell.

    Use it for berdaya's own tables only: a user's file has no guard to remove. ``options`` go
    to :func:`pandas.read_csv`.
    """
    return restore_formulas(pd.read_csv(path, **options))


# ---------------------------------------------------------------------------------------------
# Bidi control characters in HTML

#: Explicit embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI):
#: unbalanced, they reorder whatever follows them, so text from the data never keeps them.
BIDI_EMBEDDINGS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Directional marks (LRM, RLM, ALM): invisible strong characters. Harmless inside an isolate,
#: so text keeps them; a ``<title>`` or attribute cannot be isolated, so there they go too.
BIDI_MARKS = frozenset("\u200e\u200f\u061c")
BIDI_CONTROLS = BIDI_EMBEDDINGS | BIDI_MARKS

_EMBEDDINGS_RE = re.compile("[" + "".join(sorted(BIDI_EMBEDDINGS)) + "]")
_CONTROLS_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")
#: Bidi classes that can change the order of text around them: right-to-left letters,
#: Arabic digits, and the controls.
_RTL_CLASSES = frozenset({"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def bidi_controls(text: str) -> list[str]:
    """The bidi control characters in ``text`` as ``U+202E`` names, in order, without repeats."""
    return list(dict.fromkeys(f"U+{ord(ch):04X}" for ch in str(text) if ch in BIDI_CONTROLS))


def strip_bidi_controls(text: str) -> str:
    """``text`` without any bidi control character (for a ``<title>``, an attribute, a log line)."""
    return _CONTROLS_RE.sub("", str(text))


def _is_rtl_sensitive(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in _RTL_CLASSES or ch in BIDI_MARKS for ch in text)


def html_text(value: object) -> str:
    """``value`` as HTML text: escaped, bidi embeddings removed, and isolated when it needs it.

    Text with a right-to-left letter (or a mark) is wrapped in ``<bdi>``; its direction is then
    its own (``dir=auto``) and cannot spill over the report's words. Text without one reads the
    same isolated or not on a page whose own words are left-to-right, so it stays unwrapped.

    >>> html_text("Desa <b>")
    'Desa &lt;b&gt;'
    >>> html_text(chr(0x202E) + "evil")
    'evil'
    >>> html_text("مسجد 1")
    '<bdi>مسجد 1</bdi>'
    """
    text = _EMBEDDINGS_RE.sub("", str(value))
    escaped = html.escape(text, quote=True)
    return f"<bdi>{escaped}</bdi>" if _is_rtl_sensitive(text) else escaped


def html_attribute(value: object) -> str:
    """``value`` for an HTML attribute or ``<title>``: escaped and without bidi controls.

    Neither can hold ``<bdi>``, so every control goes, marks included.
    """
    return html.escape(strip_bidi_controls(str(value)), quote=True)


def show_bidi_controls(text: str) -> str:
    """``text`` with each bidi control written as ``<U+202E>``, safe to print in a log line."""
    return "".join(f"<U+{ord(ch):04X}>" if ch in BIDI_CONTROLS else ch for ch in str(text))


def text_direction_findings(study: Study, panel: pd.DataFrame) -> list[str]:
    """One line per user text with bidi controls: the study name, outcome labels, villages.

    Reports drop the controls (:func:`html_text`), so the run goes ahead; the lines become run
    warnings so that nobody is surprised that a name reads differently than in another program.
    They name village codes, never quote the names.
    """
    study_file = study.path.name
    found: list[tuple[str, str]] = [(f"{study_file}: the study name", study.name)]
    found += [(f"{study_file}: the label of outcome {o.name}", o.label or "") for o in study.outcomes]
    source = study.villages.file.name if study.villages is not None else "the survey data"
    if "village" in panel.columns:
        columns = ["village", *(["village_name"] if "village_name" in panel.columns else [])]
        villages = panel[columns].drop_duplicates("village").dropna(subset=["village"])
        for record in villages.to_dict("records"):
            code = str(record["village"])
            found.append((f"{source}: village code {show_bidi_controls(code)}", code))
            name = record.get("village_name")
            if isinstance(name, str):
                found.append((f"{source}: the name of village {show_bidi_controls(code)}", name))
    return [
        f"{where} holds invisible text-direction characters ({', '.join(bidi_controls(text))}), "
        "which can make a name read backwards or reorder the words after it; the reports leave "
        "them out. Remove them from the file if they are not meant to be there."
        for where, text in found
        if bidi_controls(text)
    ]
