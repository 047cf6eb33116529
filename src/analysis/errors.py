"""Error types of the workbench.

Every problem a user can cause (a bad file, a bad study file, a bad value) is raised as a
subclass of :class:`BerdayaError`.  The command line prints these as one readable line and
shows a traceback only with ``--debug``; any other exception is a bug in berdaya.
"""

from __future__ import annotations

from pathlib import Path


class BerdayaError(Exception):
    """Base class of every error the workbench raises on purpose."""


class StudyError(BerdayaError):
    """The study file (``study.yml``) is missing, malformed or inconsistent."""


class InputError(BerdayaError):
    """A raw input file cannot be used as it is.

    The message names the file, the row as the user sees it in a spreadsheet (the header is
    row 1), the column, and what was expected, so the user can find and fix the cell.

    Parameters
    ----------
    message
        What is wrong and what to do about it.
    file
        The file concerned.
    rows
        Spreadsheet row numbers (header = row 1); long lists are shortened in the message.
    column
        The column concerned.
    sheet
        The worksheet, for XLSX files.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        rows: list[int] | None = None,
        column: str | None = None,
        sheet: str | None = None,
    ) -> None:
        self.file = None if file is None else Path(file).name
        self.rows = list(rows) if rows else []
        self.column = column
        self.sheet = sheet
        self.detail = message
        super().__init__(self._render())

    def _render(self) -> str:
        where: list[str] = []
        if self.file:
            where.append(self.file)
        if self.sheet:
            where.append(f"sheet {self.sheet}")
        if self.rows:
            where.append(format_rows(self.rows))
        if self.column:
            where.append(f"column {self.column}")
        prefix = " ".join(where)
        return f"{prefix}: {self.detail}" if prefix else self.detail


class CodebookError(InputError):
    """The codebook is malformed or does not match the raw files."""


class EstimationError(BerdayaError):
    """An estimator cannot be computed on the data given (for example, no variation)."""


class ReportError(BerdayaError):
    """A report could not be produced."""


def format_rows(rows: list[int], *, limit: int = 3) -> str:
    """Render spreadsheet row numbers the way the messages show them.

    >>> format_rows([14])
    'row 14'
    >>> format_rows([14, 88, 203, 300, 301])
    'rows 14, 88, 203 and 2 more'
    """
    rows = sorted(set(rows))
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:limit])
    if len(rows) <= limit:
        return f"rows {shown}"
    return f"rows {shown} and {len(rows) - limit} more"
