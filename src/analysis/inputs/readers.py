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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InputError, format_rows

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
"""Delimiters the CSV sniffer chooses from, in order of preference on a tie."""

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

_HEADER_SCAN_LIMIT = 1 << 20
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"
_ODD_SPACES = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_ZERO_WIDTH_RE = f"[{_ZERO_WIDTH}]"
_ODD_SPACE_RE = f"[{_ODD_SPACES}]"
_UTF8_MULTIBYTE_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_C0_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


# --------------------------------------------------------------------------------------------
# Entry point


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


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


# --------------------------------------------------------------------------------------------
# CSV


def _read_csv(path: Path, *, encoding: str | None, delimiter: str | None) -> RawTable:
    data = path.read_bytes()
    fixes: list[str] = []
    text, used_encoding = _decode(path, data, encoding, fixes)
    if "\x00" in text:
        row, line, _ = _locate(text[: text.index("\x00")], delimiter or _sniff(text))
        raise InputError(
            f"contains NUL bytes{_line_note(row, line)} – not a plain-text CSV (UTF-16 or "
            "binary?); re-export as CSV UTF-8",
            file=path,
            rows=[row],
        )

    # Blank lines before the header carry nothing; rows are counted from the header.
    stripped = text.lstrip("\r\n")
    lead_lines = _count_line_breaks(text[: len(text) - len(stripped)])
    text = stripped
    if lead_lines:
        fixes.append(f"skipped {_plural(lead_lines, 'blank line')} before the header")
    if not text.strip():
        raise InputError("0 data rows", file=path)

    if delimiter is None:
        delimiter = _sniff(text)
        if delimiter != ",":
            fixes.append(f"sep={delimiter!r} detected")
    header, header_end, problem = _first_record(text, delimiter)
    if problem:
        raise InputError(f"{problem} – re-download the export", file=path, rows=[1])
    if len(header) == 1 and ";" in header[0] and delimiter != ";":
        raise InputError(
            "header parsed as one column containing ';' – file looks ;-separated",
            file=path,
            rows=[1],
            column="1",
        )
    names = _clean_header(path, header, fixes, sheet=None)

    body = text[header_end:]
    header_lines = lead_lines + _count_line_breaks(text[:header_end])
    if not body.strip("\r\n"):
        raise InputError("0 data rows", file=path)
    if body.count('"') % 2:
        _check_quotes_closed(path, body, delimiter, header_lines)

    body_bytes = body.encode("utf-8")
    table = _parse_body(path, body, body_bytes, delimiter, len(names), header_lines)
    frame = table.to_pandas()
    frame.columns = pd.Index(names, dtype=object)
    frame.index = pd.RangeIndex(len(frame))
    if len(frame) == 0:
        raise InputError("0 data rows", file=path)

    rows, lines, blanks = _record_positions(path, body, body_bytes, delimiter, len(frame), header_lines)
    if blanks:
        fixes.append(f"skipped {_plural(blanks, 'blank line')}")
    frame = _drop_unnamed_columns(path, frame, rows, fixes, sheet=None)
    return RawTable(
        frame=_as_text_frame(frame),
        path=path,
        encoding=used_encoding,
        delimiter=delimiter,
        row_numbers=rows,
        line_numbers=lines,
        fixes=tuple(fixes),
    )


def _decode(path: Path, data: bytes, encoding: str | None, fixes: list[str]) -> tuple[str, str]:
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError:
            raise InputError(f"unknown encoding {encoding!r}", file=path) from None
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise _undecodable(path, data, exc, f"is not valid {encoding}") from None
        if text.startswith("\ufeff"):
            text = text[1:]
            fixes.append("BOM removed")
        if name not in ("utf-8", "utf-8-sig"):
            fixes.append(f"encoding={encoding}")
        return text, encoding

    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode Text" export: UTF-16 with a byte-order mark.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(
                "starts with a UTF-16 byte-order mark but is not valid UTF-16 – re-export as CSV UTF-8",
                file=path,
            ) from None
        fixes.extend(["BOM removed", "encoding=utf-16"])
        return text, "utf-16"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_error = exc
    else:
        if data.startswith(codecs.BOM_UTF8):
            fixes.append("BOM removed")
        return text, "utf-8"

    # Not UTF-8.  cp1252 (Windows "ANSI", a superset of latin-1 for printable text) is what
    # Excel on Indonesian and European Windows writes.  It decodes almost any bytes, so only
    # accept it when the result is plausible: no control characters, and no valid UTF-8
    # multi-byte sequences (those mean a mix of encodings, which no single codec can read).
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if not text or _C0_CONTROL_RE.search(text) or _UTF8_MULTIBYTE_RE.search(data):
        raise _undecodable(path, data, utf8_error, "is not UTF-8 and the encoding could not be determined")
    fixes.append("encoding=cp1252")
    return text, "cp1252"


def _undecodable(path: Path, data: bytes, exc: UnicodeDecodeError, problem: str) -> InputError:
    # latin-1 maps every byte to one character, so positions in the prefix are byte offsets.
    start = exc.start
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    prefix = data[skip:start].decode("latin-1")
    delimiter = _sniff(data[skip : skip + 65536].decode("latin-1"))
    row, line, column = _locate(prefix, delimiter)
    return InputError(
        f"byte 0x{data[start]:02X} {problem}{_line_note(row, line)} – save the file as UTF-8 "
        "or set the encoding for this source",
        file=path,
        rows=[row],
        column=column,
    )


def _locate(prefix: str, delimiter: str) -> tuple[int, int, str]:
    """Return the row, line and column name of the character that follows CSV ``prefix``."""
    records = _safe_csv_records(prefix, delimiter)
    header = records[0] if records else []
    ends_record = prefix.endswith(("\n", "\r")) and prefix.count('"') % 2 == 0
    row = len(records) + 1 if ends_record or not records else len(records)
    line = _count_line_breaks(prefix) + 1
    # The field being read when pos is reached is the last field of the last, partial record.
    index = 0 if ends_record or not records else max(len(records[-1]) - 1, 0)
    if row == 1:
        return 1, line, str(index + 1)
    name = header[index].strip() if index < len(header) else ""
    return row, line, name or str(index + 1)


def _safe_csv_records(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
    except csv.Error:
        pass
    return records


def _line_note(row: int, line: int) -> str:
    return "" if row == line else f" (record starts on line {line})"


def _count_line_breaks(text: str) -> int:
    # "\r\n", "\n" and a lone "\r" each end one physical line, as for pyarrow and csv.
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _sniff(text: str) -> str:
    """Pick the delimiter that occurs most often outside quotes on the first line."""
    first = re.split(r"[\r\n]", text[:_HEADER_SCAN_LIMIT], maxsplit=1)[0]
    unquoted = re.sub(r'"[^"]*"', "", first)
    counts = [unquoted.count(d) for d in DELIMITERS]
    best = max(counts)
    return DELIMITERS[counts.index(best)] if best else ","


def _first_record(text: str, delimiter: str) -> tuple[list[str], int, str]:
    """Split the header record; return its fields, where it ends and a problem ("" if none).

    Quote rules follow the csv module (RFC 4180 with doubled quotes; a quote is special only at
    the start of a field).  Only the header is scanned here, so a Python loop is cheap.
    """
    fields: list[str] = []
    buf: list[str] = []
    in_quotes = False
    field_start = True
    n = min(len(text), _HEADER_SCAN_LIMIT)
    i = 0
    while i < n:
        c = text[i]
        if in_quotes:
            if c == '"':
                if i + 1 < n and text[i + 1] == '"':
                    buf.append('"')
                    i += 2
                    continue
                in_quotes = False
            else:
                buf.append(c)
            i += 1
            continue
        if c == delimiter:
            fields.append("".join(buf))
            buf = []
            field_start = True
        elif c in "\r\n":
            fields.append("".join(buf))
            end = i + 2 if c == "\r" and text[i + 1 : i + 2] == "\n" else i + 1
            return fields, end, ""
        elif c == '"' and field_start:
            in_quotes = True
            field_start = False
        else:
            buf.append(c)
            field_start = False
        i += 1
    fields.append("".join(buf))
    if n < len(text):
        return fields, n, "no line break in the first 1 MB – not a CSV export?"
    return fields, n, "a quote in the header is never closed" if in_quotes else ""


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


def _check_quotes_closed(path: Path, body: str, delimiter: str, header_lines: int) -> None:
    """Raise if the last record opens a quote that the file never closes (truncation)."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=True)
    row, line = 1, header_lines
    try:
        for _ in reader:
            row += 1
            line = header_lines + reader.line_num
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            return  # a quoting quirk that pyarrow and pandas accept; not a truncation
        start = line + 1
        raise InputError(
            f"a quoted value is never closed{_line_note(row + 1, start)} (file truncated?) – "
            "re-download the export",
            file=path,
            rows=[row + 1],
        ) from None


def _parse_body(
    path: Path, body: str, body_bytes: bytes, delimiter: str, ncols: int, header_lines: int
) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(ncols)]
    # Placeholder names: pyarrow rejects neither duplicates nor odd names, but the real header
    # was already parsed (and checked) with the csv-module quoting rules.
    convert = pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        null_values=[],
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=True,
        ignore_empty_lines=True,
    )
    block = 1 << 22
    while True:
        try:
            return pacsv.read_csv(
                pa.BufferReader(body_bytes),
                read_options=pacsv.ReadOptions(column_names=names, block_size=block),
                parse_options=parse,
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            # A record longer than one block cannot be split across blocks; retry bigger.
            if "straddl" in str(exc) and block < len(body_bytes) + 1:
                block = min(block * 8, len(body_bytes) + 1)
                continue
            _raise_field_count_error(path, body, delimiter, ncols, header_lines)
            raise InputError(
                "malformed CSV (the parser rejected it; no row could be singled out) – "
                "re-download the export",
                file=path,
            ) from None


def _raise_field_count_error(path: Path, body: str, delimiter: str, expected: int, header_lines: int) -> None:
    """Find the records with the wrong number of fields (slow path, only on error)."""
    bad: list[tuple[int, int, int]] = []
    row = 1
    for record, start_line in _csv_records(path, body, delimiter, header_lines):
        row += 1
        if record and len(record) != expected:
            bad.append((row, start_line, len(record)))
    if not bad:
        return
    first_row, first_line, count = bad[0]
    if len(bad) == 1:
        hint = (
            " (file truncated?) – re-download the export"
            if first_row == row
            else f" – look for an unquoted {delimiter!r} or line break in a value, or re-download the export"
        )
        detail = (
            f"has {_plural(count, 'field')}, expected {expected}{_line_note(first_row, first_line)}{hint}"
        )
    else:
        examples = ", ".join(f"row {r}: {c}" for r, _, c in bad[:3])
        detail = (
            f"wrong number of fields, expected {expected} ({examples}) – look for an unquoted "
            f"{delimiter!r} or line break in a value, or re-download the export"
        )
    raise InputError(detail, file=path, rows=[r for r, _, _ in bad])


def _csv_records(path: Path, body: str, delimiter: str, header_lines: int) -> Iterator[tuple[list[str], int]]:
    """Yield each body record with the physical line where it starts (csv-module rules)."""
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=False)
    previous = 0
    old_limit = csv.field_size_limit()
    # Free-text answers can exceed the csv module's 128 kB field limit.
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise InputError(
                    f"malformed CSV near line {header_lines + previous + 1} ({exc}) – re-download the export",
                    file=path,
                ) from None
            yield record, header_lines + previous + 1
            previous = reader.line_num
    finally:
        csv.field_size_limit(old_limit)


def _record_positions(
    path: Path, body: str, body_bytes: bytes, delimiter: str, nrows: int, header_lines: int
) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Return (row numbers, start lines, blank lines skipped) of the parsed records.

    Fast path: a line break ends a record when an even number of quotes precede it (RFC 4180
    quoting, where "" inside a quoted field keeps the parity).  The result is trusted only if it
    yields exactly as many non-blank records as pyarrow parsed; otherwise the records are
    re-counted with the csv module.
    """
    arr = np.frombuffer(body_bytes, dtype=np.uint8)
    newline = np.flatnonzero(arr == 10)
    carriage = np.flatnonzero(arr == 13)
    lone = carriage + 1 >= len(arr)
    lone[~lone] = arr[carriage[~lone] + 1] != 10
    breaks = np.union1d(newline, carriage[lone])
    quotes = np.flatnonzero(arr == 34)
    ends = breaks if len(quotes) == 0 else breaks[np.searchsorted(quotes, breaks) % 2 == 0]
    starts = np.concatenate(([0], ends + 1))
    stops = np.concatenate((ends, [len(arr)]))
    if stops[-1] <= starts[-1]:  # text after the last line break is empty: not a record
        starts, stops = starts[:-1], stops[:-1]
    length = stops - starts
    single = length == 1
    blank = length == 0
    blank[single] = arr[starts[single]] == 13
    keep = ~blank
    if int(keep.sum()) == nrows:
        rows = np.flatnonzero(keep).astype(np.int64) + 2
        lines = np.searchsorted(breaks, starts[keep]).astype(np.int64) + header_lines + 1
        return rows, lines, int(blank.sum())

    rows_list: list[int] = []
    lines_list: list[int] = []
    blanks = 0
    try:
        for i, (record, line) in enumerate(_csv_records(path, body, delimiter, header_lines)):
            if record:
                rows_list.append(i + 2)
                lines_list.append(line)
            else:
                blanks += 1
    except InputError:
        rows_list = []
    if len(rows_list) == nrows:
        return np.asarray(rows_list, np.int64), np.asarray(lines_list, np.int64), blanks
    # The parsers disagree on some quoting quirk: fall back to counting parsed records.
    return np.arange(2, nrows + 2, dtype=np.int64), None, 0


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


# --------------------------------------------------------------------------------------------
# XLSX


def _read_xlsx(path: Path, *, sheet: str | None) -> RawTable:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt zips raise many unrelated types
        raise InputError(
            f"cannot be opened as an .xlsx workbook ({type(exc).__name__}) – re-save it from Excel as .xlsx",
            file=path,
        ) from None
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


# --------------------------------------------------------------------------------------------
# Stata / SPSS


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


# --------------------------------------------------------------------------------------------
# Checks on read tables


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


# --------------------------------------------------------------------------------------------
# Headers from KoboToolbox / ODK forms


_XML_HEADER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]*(?:/[A-Za-z0-9_.:-]+)*")


def check_xml_headers(table: RawTable) -> None:
    """Refuse an export whose headers are question labels instead of XML names (case 7).

    KoboToolbox exports made with a label language give headers such as
    ``Group 1/Sub Group 1/G1SG1Q1`` or ``Berapa pendapatan...?``; these cannot be matched to
    the form.  XML names contain no spaces or punctuation other than ``_ . - :`` (and ``/``
    between groups).

    Parameters
    ----------
    table
        The table as read by :func:`read_table`.

    Raises
    ------
    InputError
        Naming the file and a few of the offending headers.
    """
    labels = [str(c) for c in table.frame.columns if not _XML_HEADER_RE.fullmatch(str(c))]
    if not labels:
        return
    shown = ", ".join(repr(c) for c in labels[:3])
    more = f" and {len(labels) - 3} more" if len(labels) > 3 else ""
    raise InputError(
        f"export uses question labels as headers; re-export with XML values ({len(labels)} of "
        f"{table.frame.shape[1]} headers are not XML names: {shown}{more})",
        file=table.path,
        sheet=table.sheet,
    )


def resolve_form_names(table: RawTable, form_paths: Iterable[str]) -> RawTable:
    """Rename group-prefixed headers to the names in the XLSForm (case 8).

    The same question arrives as ``hh/income`` (KoboToolbox, ``group_sep='/'``), ``hh-income``
    (ODK Briefcase/Central) or ``income`` (group names removed).  Each resolves to the XLSForm
    name ``income``; when that name exists in several groups, to the full path ``hh/income``.
    select_multiple dummies (``hh/assets/motor``) keep their choice suffix (``assets/motor``).
    Headers that match no question (``_uuid``, ``KEY`` ...) are left as they are.

    Parameters
    ----------
    table
        The table as read by :func:`read_table`.
    form_paths
        The ``/``-joined path of every question in the form's ``survey`` sheet, e.g.
        ``["consent", "hh/hhid", "hh/income", "farm/income"]``.

    Returns
    -------
    RawTable
        A copy with renamed columns and one logged fix per renamed column.

    Raises
    ------
    InputError
        If a header without its group prefix matches a name used in several groups, or if two
        headers resolve to the same name.
    """
    paths = [tuple(p.split("/")) for p in dict.fromkeys(form_paths) if p]
    leaves: dict[str, list[tuple[str, ...]]] = {}
    for p in paths:
        leaves.setdefault(p[-1], []).append(p)

    def target(p: tuple[str, ...]) -> str:
        return p[-1] if len(leaves[p[-1]]) == 1 else "/".join(p)

    variants: dict[str, set[tuple[str, ...]]] = {}
    for p in paths:
        for spelling in {"/".join(p), "-".join(p), p[-1]}:
            variants.setdefault(spelling, set()).add(p)

    def lookup(header: str) -> str | None:
        found = variants.get(header)
        if not found:
            return None
        if len(found) > 1:
            groups = sorted("/".join(p[:-1]) or "(top level)" for p in found)
            raise InputError(
                f"name exists in groups {_and_list(groups)} and the export has no group "
                "prefix – re-export with group names",
                file=table.path,
                column=header,
                sheet=table.sheet,
            )
        return target(next(iter(found)))

    renames: dict[str, str] = {}
    for header in (str(c) for c in table.frame.columns):
        new = lookup(header)
        if new is None:
            # select_multiple dummy or split geopoint: question spelling + separator + suffix.
            for cut in (m.start() for m in re.finditer(r"[/-]", header)):
                base = lookup(header[:cut])
                if base is not None:
                    new = base + header[cut:]
                    break
        if new is not None and new != header:
            renames[header] = new

    if not renames:
        return table
    final = [renames.get(str(c), str(c)) for c in table.frame.columns]
    clashes: dict[str, list[str]] = {}
    for old, new in zip(table.frame.columns, final, strict=True):
        clashes.setdefault(new, []).append(str(old))
    clashing = {new: olds for new, olds in clashes.items() if len(olds) > 1}
    if clashing:
        parts = [f"{_and_list(olds)} all resolve to {new}" for new, olds in clashing.items()]
        raise InputError(
            f"columns {'; '.join(parts)} – remove the duplicate columns",
            file=table.path,
            rows=[1],
            sheet=table.sheet,
        )
    frame = table.frame.copy()
    frame.columns = pd.Index(final, dtype=object)
    fixes = tuple(f"column {old} -> {new} (XLSForm name)" for old, new in renames.items())

    def rename_keys(mapping: Mapping[str, Any]) -> dict[str, Any]:
        return {renames.get(k, k): v for k, v in mapping.items()}

    return replace(
        table,
        frame=frame,
        fixes=table.fixes + fixes,
        value_labels=rename_keys(table.value_labels),
        user_missing=rename_keys(table.user_missing),
        numeric_cells=rename_keys(table.numeric_cells),
        numeric_digits=rename_keys(table.numeric_digits),
    )


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
