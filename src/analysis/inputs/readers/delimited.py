"""CSV, TSV and TXT exports: encoding, delimiter, quoting and record positions, checked strictly."""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.inputs.readers.base import (
    RawTable,
    _as_text_frame,
    _clean_header,
    _drop_unnamed_columns,
    _plural,
)

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
"""Delimiters the CSV sniffer chooses from, in order of preference on a tie."""


_HEADER_SCAN_LIMIT = 1 << 20


_UTF8_MULTIBYTE_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


_C0_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
    # The parity of the quotes before each line break: the parity of each stretch between
    # breaks (XOR stays in bytes), accumulated. Listing every quote's position instead (two per
    # field when every field is quoted) took most of the time of reading a national export.
    # Breaks increase strictly, so every stretch but a leading empty one (a break at 0, whose
    # byte is no quote) is reduced as a slice.
    ends = breaks
    if len(breaks):
        is_quote = (arr == 34).view(np.uint8)
        parity = np.bitwise_xor.reduceat(is_quote, np.concatenate(([0], breaks)))[:-1]
        ends = breaks[np.bitwise_xor.accumulate(parity) == 0]
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
