"""select_multiple questions in both export forms (docs/bad-inputs.md cases 11-13).

KoboToolbox, ODK and SurveyCTO export a select_multiple question as a summary column of
space-separated choice values (``assets = "tv motor"``), as one 0/1 dummy per choice
(``assets/tv``, ``assets-tv`` or SurveyCTO's ``assets_tv``), or as both.  The rules:

* An unanswered question is ``""`` in the summary and in every dummy: it stays missing (reason
  ``skipped_or_not_asked``), never 0, so means of the dummies exclude it.
* When both forms are present they must agree on every answered row; a disagreement is an
  error listing the rows, because neither column can be preferred silently.
* Summaries are split on spaces, which only works for choice *values*.  An export made with
  choice labels (``"Tidak tahu Sepeda motor"``) is refused.
* A choice that is not in the codebook's categories quarantines the row
  (``unknown_choice:<variable>``).

The harmonized output is the summary ``<name>`` (chosen values in codebook order, separated by
a space) and one float dummy ``<name>_<choice>`` per category (1, 0 or NaN).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError, format_rows
from analysis.inputs.codebook import Variable
from analysis.inputs.readers import normalize_text

_TRUE = ("1", "1.0", "true", "ya", "yes")
_FALSE = ("0", "0.0", "false", "tidak", "no")
# More than this share of answered rows holding unknown choices means the export holds labels
# (or another form's values), not a few typos to quarantine.
_LABEL_SHARE = 0.5


def disagreement_error(
    message: str,
    *,
    file: str | Path | None,
    rows: list[int],
    columns: Sequence[str],
    sheet: str | None = None,
) -> InputError:
    """An :class:`InputError` that names several columns.

    Rendered as ``baseline.csv rows 45, 312 columns assets vs assets/motor: ...``.  It stays a
    plain ``InputError`` (the command line prints those as one line, also when a notebook raised
    them); only the text names the columns.
    """
    error = InputError(message, file=file, rows=rows, column=columns[0], sheet=sheet)
    where = [
        w for w in (error.file, f"sheet {sheet}" if sheet else "", format_rows(rows) if rows else "") if w
    ]
    where.append(f"columns {columns[0]} vs {', '.join(columns[1:])}")
    error.args = (f"{' '.join(where)}: {message}",)
    return error


@dataclass(frozen=True)
class SelectMultiple:
    """One select_multiple question after harmonization.

    Attributes
    ----------
    columns
        ``{<name>: summary, <name>_<choice>: dummy, ...}``; the summary is text (NA when
        unanswered), each dummy float 1/0/NaN.
    answered
        Rows that answered the question.
    unknown
        Rows holding a choice not in the categories (to quarantine).
    rewritten
        Rows whose summary text changed (order, case, recode, or built from the dummies).
    dummy_sources
        Raw dummy column of each choice.
    notes
        For the run log.
    """

    columns: dict[str, pd.Series]
    answered: np.ndarray
    unknown: np.ndarray
    rewritten: np.ndarray
    dummy_sources: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def dummy_columns(columns: Sequence[str], source: str, categories: Sequence[str]) -> dict[str, str]:
    """Find the dummy columns of ``source``: raw column -> raw choice.

    ``source/choice`` (Kobo) and ``source-choice`` (ODK) are dummies whatever the choice;
    ``source_choice`` (SurveyCTO) only for a choice in ``categories``, since many ordinary
    columns share a prefix with an underscore.

    >>> dummy_columns(["assets", "assets/tv", "assets_motor", "assets_count"], "assets", ["tv", "motor"])
    {'assets/tv': 'tv', 'assets_motor': 'motor'}
    """
    known = {c.casefold() for c in categories}
    found: dict[str, str] = {}
    for column in columns:
        if len(column) <= len(source) + 1 or not column.startswith(source):
            continue
        sep, choice = column[len(source)], column[len(source) + 1 :]
        if sep in "/-" or (sep == "_" and choice.casefold() in known):
            found[column] = choice
    return found


def _map_tokens(tokens: pd.Series, variable: Variable) -> pd.Series:
    """Raw tokens -> harmonized choice values (recode, then case-insensitive category match)."""
    allowed = {c.casefold(): c for c in variable.categories}
    codes, uniques = pd.factorize(tokens)
    mapped = []
    for token in uniques:
        key = str(token).casefold()
        key = variable.recode.get(key, key).casefold() if key in variable.recode else key
        mapped.append(allowed.get(key, key) if allowed else str(token))
    lookup = np.array(mapped + [""], dtype=object)
    return pd.Series(lookup[codes], index=tokens.index, dtype=object)


def convert_select_multiple(
    frame: pd.DataFrame,
    variable: Variable,
    *,
    source: str,
    skip: np.ndarray,
    file: str | Path | None = None,
    rows: np.ndarray | None = None,
    sheet: str | None = None,
) -> SelectMultiple:
    """Harmonize one select_multiple question from its summary and/or dummy columns.

    Parameters
    ----------
    frame
        The raw export (all text) with a RangeIndex.
    variable
        The codebook variable (type ``select_multiple``); ``categories`` are the choice values,
        ``recode`` may map old values or labels without spaces to them.
    source
        The summary column's name in this round (it may be absent when only dummies were
        exported).
    skip
        Rows already missing for a known reason (a missing code in the summary, or not asked
        in this form version): left missing, and not checked for agreement.
    file, rows, sheet
        Where the data come from, for error messages (``rows`` are spreadsheet rows).

    Returns
    -------
    SelectMultiple

    Raises
    ------
    InputError
        When the summary holds labels that contain spaces, or mostly unknown choices (labels
        instead of values), or when summary and dummies disagree (:func:`disagreement_error`).
    """
    n = len(frame)
    rows = np.arange(2, n + 2) if rows is None else np.asarray(rows)
    dummies = dummy_columns([str(c) for c in frame.columns], source, variable.categories)
    has_summary = source in frame.columns
    if not has_summary and not dummies:
        raise InputError("select_multiple column not found, nor its dummies", file=file, column=source)

    # Dummies: 1 / 0 / "" (unanswered); anything else is an unknown answer.
    dummy_values: dict[str, np.ndarray] = {}
    dummy_bad = np.zeros(n, dtype=bool)
    for column, choice in dummies.items():
        text, _ = normalize_text(frame[column])
        folded = text.astype(str).str.casefold().to_numpy(dtype=object)
        value = np.full(n, np.nan)
        value[np.isin(folded, _TRUE)] = 1.0
        value[np.isin(folded, _FALSE)] = 0.0
        dummy_bad |= (folded != "") & np.isnan(value)
        dummy_values[choice] = value

    if has_summary:
        text, _ = normalize_text(frame[source])
        text = text.astype(str)
        blank = (text == "").to_numpy() | skip
        _refuse_labels(text.where(~blank, ""), variable, file=file, column=source, sheet=sheet)
        tokens = text.where(~blank, "").str.split().explode()
        tokens = tokens[tokens.notna() & (tokens != "")]
        mapped = _map_tokens(tokens, variable)
        known_values = set(variable.categories) if variable.categories else set(mapped)
        is_known = mapped.isin(known_values)
        positions = tokens.index.to_numpy()
        unknown = np.zeros(n, dtype=bool)
        unknown[positions[~is_known.to_numpy()]] = True
        answered = ~blank
        _refuse_mostly_unknown(
            text, tokens, is_known, answered, unknown, file=file, column=source, sheet=sheet
        )
        chosen = {
            c: np.isin(np.arange(n), positions[(mapped == c).to_numpy()]) for c in _choices(variable, mapped)
        }
    else:
        filled = np.zeros(n, dtype=bool)
        for value in dummy_values.values():
            filled |= ~np.isnan(value)
        answered = filled & ~skip
        unknown = np.zeros(n, dtype=bool)
        chosen = {}

    # Map dummy choices to harmonized values; a dummy for a choice outside the categories
    # counts as an unknown answer when it is ticked.
    allowed = {c.casefold(): c for c in variable.categories}
    by_value: dict[str, tuple[str, np.ndarray]] = {}
    for column, raw_choice in dummies.items():
        key = raw_choice.casefold()
        key = variable.recode.get(key, key).casefold() if key in variable.recode else key
        harmonized = allowed.get(key) if allowed else raw_choice
        if harmonized is None:
            unknown |= (dummy_values[raw_choice] == 1) & answered
            continue
        by_value[harmonized] = (column, dummy_values[raw_choice])
    unknown |= dummy_bad & answered

    if has_summary and dummies:
        _check_agreement(
            chosen, by_value, answered=answered, skip=skip, source=source, file=file, rows=rows, sheet=sheet
        )
    if not has_summary:
        chosen = {value: (d == 1) & answered for value, (_, d) in by_value.items()}

    choices = list(variable.categories) or sorted(chosen)
    out: dict[str, pd.Series] = {}
    parts = [np.where(chosen.get(c, np.zeros(n, dtype=bool)), c, "") for c in choices]
    summary = pd.Series(np.full(n, "", dtype=object))
    for part in parts:
        summary = summary.str.cat(pd.Series(part, dtype=object), sep=" ")
    summary = summary.str.split().str.join(" ").where(answered, None).astype(object)
    out[variable.name] = summary
    for choice in choices:
        value = np.where(chosen.get(choice, np.zeros(n, dtype=bool)), 1.0, 0.0)
        out[variable.dummy_name(choice)] = pd.Series(np.where(answered, value, np.nan))
    if has_summary:
        original = frame[source].astype(str).to_numpy(dtype=object)
        rewritten = answered & (summary.fillna("").to_numpy(dtype=object) != original)
    else:
        rewritten = answered.copy()
    notes = []
    if not has_summary:
        notes.append(f"{variable.name}: summary built from {len(dummies)} dummy columns")
    return SelectMultiple(
        columns=out,
        answered=answered,
        unknown=unknown & answered,
        rewritten=rewritten,
        dummy_sources={v: c for v, (c, _) in by_value.items()},
        notes=tuple(notes),
    )


def _choices(variable: Variable, mapped: pd.Series) -> list[str]:
    if variable.categories:
        return list(variable.categories)
    return sorted({str(v) for v in mapped if v})


def _refuse_labels(
    text: pd.Series, variable: Variable, *, file: str | Path | None, column: str, sheet: str | None
) -> None:
    """Refuse a summary built from labels that contain spaces (known from the recode)."""
    spaced = [key for key in variable.recode if re.search(r"\s", key)]
    if not spaced:
        return
    folded = text.str.casefold()
    pattern = "|".join(re.escape(k) for k in sorted(spaced, key=len, reverse=True))
    if folded.str.contains(pattern, regex=True).any():
        raise InputError(
            "labels contain spaces, cannot split – re-export with choice values",
            file=file,
            column=column,
            sheet=sheet,
        )


def _refuse_mostly_unknown(
    text: pd.Series,
    tokens: pd.Series,
    is_known: pd.Series,
    answered: np.ndarray,
    unknown: np.ndarray,
    *,
    file: str | Path | None,
    column: str,
    sheet: str | None,
) -> None:
    """Refuse a summary where most answers hold unknown words: labels, not choice values."""
    n_answered = int(answered.sum())
    n_unknown = int((unknown & answered).sum())
    if n_unknown < 2 or n_unknown <= _LABEL_SHARE * n_answered:
        return
    # Two unknown words in a row within one answer look like one label containing a space.
    positions = tokens.index.to_numpy()
    bad = ~is_known.to_numpy()
    adjacent = bool(np.any(bad[1:] & bad[:-1] & (positions[1:] == positions[:-1])))
    if adjacent:
        message = "labels contain spaces, cannot split – re-export with choice values"
    else:
        message = (
            f"{n_unknown} of {n_answered} answers hold choices that are not in the codebook's "
            "categories (labels instead of choice values?) – re-export with choice values, or map "
            "them in the codebook's recode"
        )
    raise InputError(message, file=file, column=column, sheet=sheet)


def _check_agreement(
    chosen: dict[str, np.ndarray],
    by_value: dict[str, tuple[str, np.ndarray]],
    *,
    answered: np.ndarray,
    skip: np.ndarray,
    source: str,
    file: str | Path | None,
    rows: np.ndarray,
    sheet: str | None,
) -> None:
    """Raise when a dummy contradicts the summary on some row (no silent preference)."""
    n = len(answered)
    bad_rows = np.zeros(n, dtype=bool)
    bad_columns: list[str] = []
    for value, (column, dummy) in by_value.items():
        selected = chosen.get(value, np.zeros(n, dtype=bool))
        ticked, unticked = dummy == 1, dummy == 0
        # A blank dummy on an answered row carries no claim (the choice may be newer than the
        # form version); a tick on an unanswered row, or 0/1 against the summary, does.
        clash = (answered & ((ticked & ~selected) | (unticked & selected))) | (~answered & ~skip & ticked)
        if clash.any():
            bad_rows |= clash
            bad_columns.append(column)
    if bad_columns:
        raise disagreement_error(
            "summary and dummy disagree – re-export the form, or correct the cells in the corrections file",
            file=file,
            rows=[int(r) for r in rows[bad_rows]],
            columns=[source, *bad_columns],
            sheet=sheet,
        )
