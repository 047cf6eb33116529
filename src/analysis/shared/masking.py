"""Masking personal values before they reach a log, a report or an error message.

Logs and messages name the file, row and column of a problem; the value itself is shown only
masked (its length and at most its first and last two characters) or described by its kind and
length.  Validation output in particular carries the failing value, and a phone number typed
into the wrong column is still a phone number (``docs/bad-inputs.md`` section 2.6).

Free text (an "other, specify" answer, a note, the reason of a correction) is screened for
personal data that no column flag announces: NIK/KK numbers, Indonesian phone numbers and
the names of people the survey knows (:func:`find_personal`).  What is found is replaced
inside the cell by :data:`MASK` (:func:`mask_personal`); a free-text reason that holds any is
replaced as a whole by :data:`REMOVED` (:func:`screen_reason`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

#: What replaces personal data found inside a text cell.
MASK = "(masked)"
#: What replaces a free-text reason or note that holds personal data.
REMOVED = "(removed: looked like personal data)"

#: Kinds of personal data the text scan finds, as they are named in logs and warnings.
KINDS: tuple[str, ...] = ("NIK/KK number", "phone number", "name")

# A separator people type inside long numbers: space, dot, hyphen (0812-3456-7890,
# 3201.0112.3456.0001), and brackets around an area code.
_SEP = r"[ \t.\-()]{0,2}"
#: NIK and KK numbers: 16 digits, possibly grouped by spaces, dots or hyphens.
NIK_RE = re.compile(r"(?<!\d)\d(?:[ .\-]?\d){15}(?![ .\-]?\d)")
#: Indonesian phone numbers: +62, 62 or 08, then 7 to 11 digits, possibly grouped.
PHONE_RE = re.compile(rf"(?<![\d+])(?:\+{_SEP}62|62(?={_SEP}8)|08){_SEP}(?:\d{_SEP}){{6,10}}\d(?!{_SEP}\d)")
# An amount grouped in thousands (628.000.000) is money, not a phone number that starts with 62.
_AMOUNT_RE = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
# A date that starts on the 8th (08-12-2023 10) is not a phone number that starts with 08.
_DATE_RE = re.compile(r"08([-./])\d{1,2}\1\d{2,4}")
_WORD_RE = re.compile(r"\w+")


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


@dataclass(frozen=True)
class KnownNames:
    """Names of people the survey knows (enumerators, respondents), to find them in free text.

    Each name is kept as its casefolded words, so ``Budi  Santoso`` in a names column finds
    ``budi santoso`` or ``BUDI-SANTOSO`` in a note, and never a part of a longer word.
    """

    phrases: frozenset[tuple[str, ...]] = frozenset()

    @classmethod
    def from_values(cls, values: Iterable[object]) -> KnownNames:
        """Build from the cells of names columns; too short or letterless cells are ignored.

        A name needs at least 4 characters of which 3 letters: shorter cells ("-", "ya", "01")
        would mask ordinary words everywhere.
        """
        phrases = set()
        for value in values:
            if _missing(value):
                continue
            # map() rather than generator expressions: this runs for every name and address
            # of a national survey.
            words = tuple(map(str.casefold, _WORD_RE.findall(str(value))))
            text = " ".join(words)
            if len(text) >= 4 and sum(map(str.isalpha, text)) >= 3:
                phrases.add(words)
        return cls(frozenset(phrases))

    @cached_property  # read for every word of every text scanned; computed from every name
    def longest(self) -> int:
        """The most words in one name."""
        return max((len(p) for p in self.phrases), default=0)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of ``text`` that spell a known name (longest names first)."""
        if not self.phrases:
            return []
        words = list(_WORD_RE.finditer(text))
        folded = [w.group().casefold() for w in words]
        found: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            for n in range(min(self.longest, len(words) - i), 0, -1):
                if tuple(folded[i : i + n]) in self.phrases:
                    found.append((words[i].start(), words[i + n - 1].end()))
                    i += n
                    break
            else:
                i += 1
        return found


def find_personal(text: str, *, names: KnownNames | None = None) -> list[tuple[int, int, str]]:
    """Spans of personal data in a text: ``(start, end, kind)`` with kind one of :data:`KINDS`.

    >>> [kind for *_, kind in find_personal("KK 3201 0112 3456 0001, hp 0812-3456-7890")]
    ['NIK/KK number', 'phone number']
    >>> find_personal("Rp 628.000.000 untuk 2 ekor sapi")
    []
    """
    spans: list[tuple[int, int, str]] = [(m.start(), m.end(), KINDS[0]) for m in NIK_RE.finditer(text)]

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b, _ in spans)

    for match in PHONE_RE.finditer(text):
        digits = match.group().strip(" \t.-()")
        if (digits.startswith("62") and _AMOUNT_RE.fullmatch(digits)) or _DATE_RE.match(digits):
            continue
        if free(match.start(), match.end()):
            spans.append((match.start(), match.end(), KINDS[1]))
    for start, end in (names or KnownNames()).spans(text):
        if free(start, end):
            spans.append((start, end, KINDS[2]))
    return sorted(spans)


def mask_personal(text: str, *, names: KnownNames | None = None) -> tuple[str, tuple[str, ...]]:
    """Replace each piece of personal data inside ``text`` by :data:`MASK`.

    Returns the masked text and the kinds found (one per piece).

    >>> mask_personal("lainnya: hubungi Pak Budi 0812 3456 7890", names=KnownNames.from_values(["Budi"]))
    ('lainnya: hubungi Pak (masked) (masked)', ('name', 'phone number'))
    """
    spans = find_personal(text, names=names)
    if not spans:
        return text, ()
    pieces, last = [], 0
    for start, end, _ in spans:
        pieces += [text[last:start], MASK]
        last = end
    pieces.append(text[last:])
    return "".join(pieces), tuple(kind for *_, kind in spans)


def mask_personal_series(
    values: pd.Series, *, names: KnownNames | None = None
) -> tuple[pd.Series, dict[str, int]]:
    """Mask personal data inside every text cell of a column.

    Returns the column (other cells untouched, dtype kept where nothing changed) and the
    number of cells masked per kind of :data:`KINDS` (a cell with a phone and a name counts
    once under each).
    """
    counts = dict.fromkeys(KINDS, 0)
    cells = values.to_numpy(dtype=object)
    text = np.fromiter((isinstance(c, str) and c != "" for c in cells), dtype=bool, count=len(cells))
    if not text.any():
        return values, counts
    # Free text repeats ("tidak ada", "-"): each distinct value is scanned once.
    distinct = pd.unique(cells[text])
    masked: dict[str, tuple[str, tuple[str, ...]]] = {}
    for value in distinct:
        result = mask_personal(str(value), names=names)
        if result[1]:
            masked[str(value)] = result
    if not masked:
        return values, counts
    out = cells.copy()
    for i in np.flatnonzero(text):
        hit = masked.get(str(cells[i]))
        if hit is not None:
            out[i] = hit[0]
            for kind in set(hit[1]):
                counts[kind] += 1
    return pd.Series(out, index=values.index, dtype=object, name=values.name), counts


def replace_ids(text: str, pseudonyms: Mapping[str, str]) -> str:
    """Replace every raw household id written in ``text`` by its pseudonym.

    Ids are matched as whole tokens (letters, digits, ``-``, ``/``, ``_``), so the id ``00130``
    is replaced in "duplicate of 00130." but not inside ``2023-00130-7``.  A number of fewer
    than 5 digits is left alone: "2 visits" or "in 2023" name no household, whatever the ids.

    >>> replace_ids("duplicate of 00130, 2 visits.", {"00130": "a1b2c3", "2": "d4e5f6"})
    'duplicate of a1b2c3, 2 visits.'
    """
    if not pseudonyms:
        return text

    def one(match: re.Match[str]) -> str:
        token = match.group()
        if token.isdigit() and len(token) < 5:
            return token
        return pseudonyms.get(token, token)

    return _TOKEN_RE.sub(one, text)


_TOKEN_RE = re.compile(r"(?<![\w/\-])\w(?:[\w/\-]*\w)?(?![\w/\-])")


def screen_reason(
    text: str, *, names: KnownNames | None = None, pseudonyms: Mapping[str, str] | None = None
) -> str:
    """A free-text reason or note as it may be published.

    Raw household ids in it become their pseudonyms (so the reason still points at the right
    household); if it then still holds personal data (:func:`find_personal`), the whole text
    becomes :data:`REMOVED`: a reason is read as a sentence, and a masked sentence can still
    say who was meant.
    """
    if not text:
        return text
    text = replace_ids(text, pseudonyms or {})
    return REMOVED if find_personal(text, names=names) else text
