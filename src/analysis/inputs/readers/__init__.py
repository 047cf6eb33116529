"""Read raw survey exports into tables of text.

Every reader returns a :class:`RawTable` whose cells are all Python ``str`` (a missing cell is
``""``): survey IDs such as ``00123`` or a 16-digit NIK must never pass through a number, and
``NA``/``Nan``/``null`` can be real answers (a person named Nan).  Parsing numbers, dates and
choices happens later, in steps that can record the row and column of every problem.

Supported inputs: CSV/TXT/TSV exports (KoboToolbox, ODK, SurveyCTO), ``.xlsx`` workbooks,
Stata ``.dta`` and SPSS ``.sav``.  Problems the user can fix are raised as
:class:`analysis.errors.InputError`, naming the file, the spreadsheet row (header = row 1) and
the column, without printing personal values.  Automatic normalisations are returned in
:attr:`RawTable.fixes` for the run log.

One module per kind of file (:mod:`.delimited`, :mod:`.workbook`, :mod:`.statfile`), the
cell checks (:mod:`.cells`) and header names (:mod:`.headers`); :func:`read_table` picks the
reader from the file's suffix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from analysis.errors import InputError
from analysis.inputs.readers.base import DEFAULT_MAX_BYTES, SUFFIXES, RawTable, _megabytes
from analysis.inputs.readers.cells import check_id_text, float_codes, normalize_text, without_point_zero
from analysis.inputs.readers.delimited import DELIMITERS, _read_csv
from analysis.inputs.readers.headers import check_xml_headers, resolve_form_names
from analysis.inputs.readers.statfile import _read_stat
from analysis.inputs.readers.workbook import _read_xlsx

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DELIMITERS",
    "SUFFIXES",
    "RawTable",
    "check_id_text",
    "check_xml_headers",
    "float_codes",
    "normalize_text",
    "read_instruction_file",
    "read_table",
    "resolve_form_names",
    "without_point_zero",
]


def read_table(
    path: str | Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RawTable:
    """Read a raw export as text.

    Parameters
    ----------
    path
        A ``.csv``/``.txt``/``.tsv``, ``.xlsx``, ``.dta`` or ``.sav`` file.
    sheet
        XLSX only: the worksheet to read (default: the first one).
    encoding
        CSV, dta and sav: the encoding to use instead of detecting it.  CSV detection tries
        UTF-8 strictly, then cp1252 (logged); undecodable bytes are an error, never replaced.
    delimiter
        CSV only: the field delimiter instead of sniffing it from the header line among
        ``, ; TAB |``.
    max_bytes
        Refuse files larger than this many bytes (the memory budget, docs/bad-inputs.md case 42).

    Returns
    -------
    RawTable
        All cells as ``str``, with spreadsheet row numbers and the fixes applied.

    Raises
    ------
    InputError
        If the file is missing, of an unknown type, too large, undecodable, empty (``0 data
        rows``), has duplicated or ``;``-glued headers, or a record with the wrong number of
        fields.  The message names the file, row and column.
    ValueError
        If an option does not apply to the file type or is malformed.
    """
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        hint = " – re-save it as .xlsx" if path.suffix.lower() in (".xls", ".xlsm") else ""
        raise InputError(
            f"unsupported file type {path.suffix or '(none)'!r}; expecting one of "
            f"{', '.join(SUFFIXES)}{hint}",
            file=path,
        )
    if sheet is not None and kind != "xlsx":
        raise ValueError("sheet= applies only to .xlsx files")
    if delimiter is not None:
        if kind != "csv":
            raise ValueError("delimiter= applies only to CSV files")
        if len(delimiter) != 1 or delimiter in '"\r\n':
            raise ValueError(
                f"delimiter={delimiter!r}: expecting one character other than a quote or line break"
            )
    if encoding is not None and kind == "xlsx":
        raise ValueError("encoding= does not apply to .xlsx files")
    if not path.is_file():
        raise InputError("file not found", file=path)
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(
            f"file exceeds the memory budget ({_megabytes(size)} > {_megabytes(max_bytes)}) – "
            "split the export (e.g. by village or submission date) or raise max_bytes",
            file=path,
        )
    if kind == "csv":
        return _read_csv(path, encoding=encoding, delimiter=delimiter)
    if kind == "xlsx":
        return _read_xlsx(path, sheet=sheet)
    return _read_stat(path, kind=kind, encoding=encoding)


def read_instruction_file(
    path: str | Path,
    *,
    kind: str,
    columns: Sequence[str],
    required: Sequence[str],
    one_of: tuple[str, str],
    verbatim: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a hand-written instruction file (corrections, decisions) into its columns, as text.

    Parameters
    ----------
    path
        The file (any format :func:`read_table` reads).
    kind
        What the file is, for the error message (``corrections``, ``decisions``).
    columns
        The file's columns, in order; absent optional ones are filled with ``""``.
    required
        Columns that must be present.
    one_of
        Two columns of which at least one must be present (how a row is identified).
    verbatim
        Columns kept as written; the others are trimmed and Unicode-normalized.

    Returns
    -------
    pandas.DataFrame
        ``columns`` as text plus ``_line``, the file's row number of each row (header = 1);
        ``attrs["path"]`` names the file.

    Raises
    ------
    InputError
        Naming the file and its header row when a column is missing.
    """
    table = read_table(path)
    frame = table.frame
    missing = [c for c in required if c not in frame.columns]
    if not any(c in frame.columns for c in one_of):
        missing.append(" or ".join(one_of))
    if missing:
        raise InputError(
            f"{kind} file lacks the column(s) {', '.join(missing)}; expecting {','.join(columns)}",
            file=table.path,
            rows=[1],
        )
    out = frame.reindex(columns=list(columns), fill_value="").copy()
    for column in columns:
        if column not in verbatim:
            out[column] = normalize_text(out[column].astype(str))[0].astype(str)
    out["_line"] = table.row_numbers
    # The file name travels with the table, for messages that point back into it.
    out.attrs["path"] = str(table.path)
    return out
