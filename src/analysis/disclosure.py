"""Statistical disclosure control for published reports (``bad-inputs.md`` §2.4–2.5).

Rules applied by every report:

- **Primary suppression.** A count of households that is not zero but below ``min_cell`` is
  hidden, and so is any statistic (mean, median, share) computed from fewer than ``min_cell``
  households.
- **Complementary suppression.** When a hidden count could be worked out from published totals
  (``found again = surveyed − not found``), more cells are hidden until no hidden cell is
  determined by the published ones. :func:`suppress_counts` checks this exactly with linear
  algebra over the table's additive constraints, so it works for one-way lists with a total and
  for two-way tables with margins alike.
- **Rates follow their counts.** A rate whose numerator or complement is hidden is shown only as
  a bound (``≥ 55%``), which is what the hidden count already reveals.
- **Top-coding.** Income shown in figures is capped at a pooled upper quantile.

:func:`scan_html` is the check run on finished pages: no personal value, no count below
``min_cell`` and no statistic from a base below ``min_cell``.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Generic, Literal, TypeVar

import numpy as np
import pandas as pd

#: The smallest ``min_cell`` any report accepts (``study.py`` refuses lower values as well).
MIN_CELL_FLOOR = 5

K = TypeVar("K", bound=Hashable)


def check_min_cell(min_cell: int) -> int:
    """``min_cell`` when it is at least :data:`MIN_CELL_FLOOR`; raises otherwise."""
    if int(min_cell) < MIN_CELL_FLOOR:
        raise ValueError(f"min_cell is {min_cell}; it may not be below {MIN_CELL_FLOOR}")
    return int(min_cell)


def is_small(count: float, min_cell: int) -> bool:
    """Whether a count must be hidden: above zero and below ``min_cell``.

    A zero is published: it says nothing about any household's answers, and hiding zeros would
    hide most of a small village's tables for no protection.
    """
    return 0 < count < min_cell


@dataclass(frozen=True)
class SuppressedTable(Generic[K]):
    """Counts after suppression.

    Attributes
    ----------
    values
        Every cell's true count (never published where it is hidden).
    hidden
        Cells to hide.
    primary
        The hidden cells that are themselves small (the others are complementary).
    """

    values: Mapping[K, int]
    hidden: frozenset[K]
    primary: frozenset[K]

    def shown(self, key: K) -> int | None:
        """The count to publish, or None when it is hidden."""
        return None if key in self.hidden else int(self.values[key])


Constraints = Mapping[K, Sequence[K]] | Sequence[tuple[K, Sequence[K]]]


def _pairs(totals: Constraints[K] | None) -> list[tuple[K, Sequence[K]]]:
    if totals is None:
        return []
    if isinstance(totals, Mapping):
        return list(totals.items())
    return list(totals)


def _constraint_matrix(keys: Sequence[K], totals: Sequence[tuple[K, Sequence[K]]]) -> np.ndarray:
    position = {k: i for i, k in enumerate(keys)}
    rows = []
    for total, parts in totals:
        row = np.zeros(len(keys))
        row[position[total]] = 1.0
        for part in parts:
            row[position[part]] -= 1.0
        rows.append(row)
    return np.array(rows).reshape(len(rows), len(keys))


def recoverable(keys: Sequence[K], totals: Constraints[K], hidden: Iterable[K]) -> set[K]:
    """The hidden cells whose value is determined exactly by the published cells.

    With ``A x = 0`` the table's additive constraints, the published cells ``S`` and the hidden
    ones ``U`` satisfy ``A_U x_U = −A_S x_S``. A hidden cell ``j`` is determined exactly when the
    unit vector ``e_j`` lies in the row space of ``A_U``, i.e. adding it does not raise the rank.
    """
    pairs = _pairs(totals)
    hidden_keys = [k for k in keys if k in set(hidden)]
    if not hidden_keys or not pairs:
        return set()
    matrix = _constraint_matrix(keys, pairs)
    columns = [keys.index(k) for k in hidden_keys]
    sub = matrix[:, columns]
    rank = np.linalg.matrix_rank(sub) if sub.size else 0
    found = set()
    for j, key in enumerate(hidden_keys):
        unit = np.zeros((1, len(hidden_keys)))
        unit[0, j] = 1.0
        if np.linalg.matrix_rank(np.vstack([sub, unit])) == rank:
            found.add(key)
    return found


def suppress_counts(
    values: Mapping[K, int],
    *,
    totals: Constraints[K] | None = None,
    min_cell: int,
) -> SuppressedTable[K]:
    """Primary and complementary suppression of a table of household counts.

    Parameters
    ----------
    values
        Every cell of the table, totals included, keyed by any hashable (``"lost"``,
        ``("lost", "programme")``).
    totals
        For each total cell, the cells that add up to it (``{"baseline": ["panel", "lost"]}``),
        or a list of ``(total, parts)`` pairs when a cell is the total of several constraints
        (the corner of a two-way table with margins).
    min_cell
        The smallest count that may be published (at least 5).

    Returns
    -------
    SuppressedTable
        The cells to hide. Complementary cells are chosen greedily, smallest count first
        (the least information lost), among the cells sharing a constraint with a cell that is
        still recoverable; the loop ends when no hidden cell is determined by the others.
    """
    check_min_cell(min_cell)
    pairs = _pairs(totals)
    keys = list(values)
    primary = {k for k in keys if is_small(values[k], min_cell)}
    hidden = set(primary)
    while True:
        exposed = recoverable(keys, pairs, hidden)
        if not exposed:
            break
        candidates: set[K] = set()
        for key in exposed:
            for total, parts in pairs:
                members = {total, *parts}
                if key in members:
                    candidates |= members - hidden
        if not candidates:  # cannot happen: an exposed cell always shares a constraint with a shown one
            hidden |= exposed
            break
        # Deterministic choice: the smallest count, then the table's own order.
        choice = min(candidates, key=lambda k: (values[k], keys.index(k)))
        hidden.add(choice)
    return SuppressedTable(values=dict(values), hidden=frozenset(hidden), primary=frozenset(primary))


def rate_display(numerator: int, denominator: int, *, min_cell: int) -> tuple[float | None, float | None]:
    """A rate that respects the suppression of its counts.

    Returns
    -------
    tuple
        ``(rate, None)`` when the rate may be published exactly; ``(None, bound)`` when the
        numerator or its complement is hidden, where ``bound`` is the lower bound on the rate
        that the hidden count already implies (``(denominator − (min_cell − 1)) / denominator``
        when the complement is small); ``(None, None)`` when the base is itself too small or the
        numerator is small.
    """
    if denominator < min_cell or denominator <= 0:
        return None, None
    complement = denominator - numerator
    if is_small(numerator, min_cell):
        return None, None
    if is_small(complement, min_cell):
        return None, max(0.0, (denominator - (min_cell - 1)) / denominator)
    return numerator / denominator, None


def safe_statistic(
    values: pd.Series, *, statistic: Literal["mean", "median"], min_cell: int
) -> tuple[float, int]:
    """A mean or median with its base, NaN when fewer than ``min_cell`` values are present."""
    data = pd.to_numeric(values, errors="coerce").dropna()
    n = len(data)
    if n < min_cell:
        return float("nan"), n
    return (float(data.median()) if statistic == "median" else float(data.mean())), n


def top_code(
    values: pd.Series, *, quantile: float = 0.99, cap: float | None = None
) -> tuple[pd.Series, float]:
    """Cap ``values`` at ``cap`` (default: their ``quantile``) for display; returns the capped series and cap.

    Top-coding (sdcMicro ``topBotCoding``) stops the richest household from standing out in a
    figure; estimates always use the uncapped values.
    """
    data = pd.to_numeric(values, errors="coerce")
    limit = float(data.quantile(quantile)) if cap is None else float(cap)
    return data.clip(upper=limit), limit


# ---------------------------------------------------------------------------------------------
# The scan of finished pages


@dataclass(frozen=True)
class Finding:
    """One problem :func:`scan_html` found."""

    kind: Literal["personal_data", "small_count", "small_base", "small_count_in_text"]
    detail: str


class _CountCollector(HTMLParser):
    """Collects the text of elements with class ``n`` and every ``data-base`` attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.counts: list[tuple[str, bool]] = []
        self.bases: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []
        self._buffer: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag in ("script", "style"):
            self._skip += 1
        if "data-base" in attributes:
            self.bases.append(attributes["data-base"] or "")
        is_count = "n" in classes
        if tag in ("br", "img", "hr", "meta", "input", "link"):
            return
        self._stack.append((tag, is_count, "suppressed" in classes))
        if is_count:
            self._buffer = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        while self._stack:
            open_tag, is_count, suppressed = self._stack.pop()
            if is_count:
                self.counts.append(("".join(self._buffer).strip(), suppressed))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._buffer.append(data)
        self.text.append(data)


_NUMBER = re.compile(r"^[+−-]?[\d.,\u2009 ]+$")
_COUNT_IN_TEXT = re.compile(
    r"(?<![\d.,])(\d{1,3})\s+(households?|rumah tangga|records?|catatan|interviews?|wawancara)\b",
    re.IGNORECASE,
)


def _as_int(text: str) -> int | None:
    digits = re.sub(r"[.,\u2009 ]", "", text.replace("−", "-"))
    try:
        return int(digits)
    except ValueError:
        return None


def scan_html(page: str, *, min_cell: int, forbidden: Iterable[str] = ()) -> list[Finding]:
    """Check a finished report page for disclosure problems.

    Parameters
    ----------
    page
        The HTML of one report.
    min_cell
        The study's threshold.
    forbidden
        Personal values that must not appear anywhere in the page (names, phone numbers, NIKs,
        GPS coordinates, raw household ids). Text shorter than 4 characters and numbers shorter
        than 6 (a GPS precision of ``11.1``) are ignored: they occur by chance in any report.

    Returns
    -------
    list of Finding
        Empty when the page passes. Counts are the text of elements with class ``n`` (every count
        the reports print is marked so); bases are ``data-base`` attributes carried by statistics
        and figures. The visible text is also searched for phrases such as ``3 households``.
    """
    findings: list[Finding] = []
    unescaped = html_lib.unescape(page)
    for value in forbidden:
        text = str(value).strip()
        shortest = 6 if any(ch.isdigit() for ch in text) else 4
        if len(text) >= shortest and (text in page or text in unescaped):
            findings.append(Finding("personal_data", f"{text[:3]}… appears in the page"))
    parser = _CountCollector()
    parser.feed(page)
    for text, suppressed in parser.counts:
        if suppressed:
            continue
        if not _NUMBER.match(text):
            findings.append(Finding("small_count", f"count cell holds {text!r}, not a number"))
            continue
        parsed = _as_int(text)
        if parsed is None or is_small(parsed, min_cell):
            findings.append(Finding("small_count", f"count {text!r} is below min_cell={min_cell}"))
    for base in parser.bases:
        parsed = _as_int(base)
        if parsed is None or parsed < min_cell:
            findings.append(Finding("small_base", f"statistic from {base!r} households"))
    visible = " ".join(parser.text)
    for match in _COUNT_IN_TEXT.finditer(visible):
        if is_small(int(match.group(1)), min_cell):
            findings.append(Finding("small_count_in_text", match.group(0)))
    return findings
