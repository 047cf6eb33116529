"""Clean one survey round under the codebook's rules.

Every raw row ends in exactly one state: ``clean``, ``quarantined`` (kept aside with its
reasons, waiting for a correction or decision) or ``excluded`` (deliberately left out, with its
reason). :func:`clean_round` returns the row states with the data, and checks that the counts
add up. Each round is cleaned on its own; linking rounds is the panel stage's job.

The steps, in order:

1. documented corrections are applied to the raw text (:mod:`analysis.corrections`);
2. every codebook variable is converted from text: missing codes (the codebook's, SPSS
   user-missing values, Stata ``.a``-``.z``) become missing with their reason; questions not
   asked in a row's form version are missing with reason ``not_asked_in_version``; numbers,
   money, categories, dates (:mod:`analysis.dates`) and select_multiple questions
   (:mod:`analysis.select_multiple`) are parsed, and every changed cell is logged;
3. exclusions: exact duplicate submissions, no consent, test or pilot submissions, submissions
   not approved, rows without a valid household id, and rows dropped in the decisions file;
4. quarantine: values that could not be parsed, pandera schema checks
   (:mod:`analysis.validation`), conflicting submissions for one household
   (:mod:`analysis.duplicates`), and quality flags the study escalates
   (:mod:`analysis.quality`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.codebook import Codebook, Variable, looks_personal
from analysis.corrections import apply_corrections
from analysis.dates import EARLIEST, LATEST, parse_dates, timezone_of
from analysis.duplicates import (
    POSITION_COLUMNS,
    Matched,
    check_keeps,
    conflict_groups,
    duplicates_report,
    exact_duplicates,
    match_decisions,
)
from analysis.errors import CodebookError
from analysis.masking import mask_value
from analysis.money import parse_numbers
from analysis.quality import (
    SENTINEL_RE,
    QualityRules,
    flag_columns,
    flag_table,
    local_dates,
    outlier_flags,
    time_flags,
)
from analysis.readers import RawTable, check_id_text, check_xml_headers, normalize_text
from analysis.select_multiple import convert_select_multiple, dummy_columns
from analysis.study import NumberStyle
from analysis.validation import validate

__all__ = ["ROW", "STATES", "CleanRound", "check_sources", "clean_round", "mask_value"]

ROW = "_row"  # spreadsheet row of the record in the raw file (header = row 1)

STATES = ("clean", "quarantined", "excluded")

#: Enumerator names that mark test or pilot submissions (compared after casefolding).
TEST_MARKERS = ("test", "tes", "testing", "coba", "percobaan", "uji", "uji coba", "ujicoba", "pilot", "dummy")
#: Review states meaning "not approved": Kobo ``validation_status_not_approved``, SurveyCTO
#: ``rejected``, and their Indonesian labels.
NOT_APPROVED_RE = r".*(?:not[ _]approved|rejected|tidak[ _]disetujui|ditolak).*"
#: Household ids that are really a summary row at the end of a spreadsheet (case 39).
NO_ID_RE = r"(?:grand |sub)?total|jumlah|sum|rata-rata|average|mean"

_SKIPPED = "skipped_or_not_asked"
_NOT_ASKED = "not_asked_in_version"


def _empty(columns: Iterable[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass(frozen=True)
class CleanRound:
    """The result of cleaning one round.

    Attributes
    ----------
    round
        ``baseline`` or ``followup``.
    data
        Clean rows, one column per harmonized variable plus ``_row`` (and ``<name>_raw``,
        ``<name>_missing``, select_multiple dummies and ``qc_<flag>`` columns where they
        apply). Still identified: pass it through :func:`analysis.deidentify.deidentify`
        before writing it anywhere.
    quarantine
        Quarantined rows with the values that could be parsed, ``_row`` and ``reason``.
    row_states
        One row per raw record: ``_row``, ``state`` and ``reason``.
    changes
        The cell-level change log: ``_row``, ``column``, ``old``, ``new``, ``rule``.
    missing
        Counts of values set to missing, by ``variable`` and ``reason``.
    notes
        File-level fixes and warnings (delimiter detected, encoding, ...).
    quality
        The quality report: ``_row``, ``flag``, ``detail`` (rows that are not excluded).
    validation
        Schema-check failures: ``_row``, ``column``, ``check``, ``value`` (described, never shown).
    duplicates
        The duplicates report (:func:`analysis.duplicates.duplicates_report`).
    versions
        Rows per form version (``version``, ``rows``), when the codebook names one.
    """

    round: str
    file: str
    data: pd.DataFrame
    quarantine: pd.DataFrame
    row_states: pd.DataFrame
    changes: pd.DataFrame
    missing: pd.DataFrame
    notes: tuple[str, ...]
    quality: pd.DataFrame = field(default_factory=lambda: _empty(("_row", "flag", "detail")))
    validation: pd.DataFrame = field(default_factory=lambda: _empty(("_row", "column", "check", "value")))
    duplicates: pd.DataFrame = field(default_factory=lambda: _empty(("round", "group")))
    versions: pd.DataFrame = field(default_factory=lambda: _empty(("version", "rows")))

    @property
    def counts(self) -> dict[str, int]:
        """Rows per state, plus ``raw``."""
        counts = self.row_states["state"].value_counts()
        result = {state: int(counts.get(state, 0)) for state in STATES}
        result["raw"] = len(self.row_states)
        return result

    def reason_counts(self) -> pd.DataFrame:
        """Rows per state and reason (reasons joined by ``;`` are split)."""
        states = self.row_states.loc[self.row_states["state"] != "clean", ["state", "reason"]]
        exploded = states.assign(reason=states["reason"].str.split(";")).explode("reason")
        return exploded.groupby(["state", "reason"], sort=True).size().rename("rows").reset_index()


class _Log:
    """Collects cell changes and missing-value reasons while columns are converted."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows
        self.changes: list[pd.DataFrame] = []
        self.missing: list[tuple[str, str, int]] = []

    def change(
        self,
        mask: np.ndarray,
        column: str,
        old: pd.Series | np.ndarray,
        new: pd.Series | np.ndarray,
        rule: str,
        *,
        pii: bool,
    ) -> None:
        if not mask.any():
            return
        # Only the changed cells are touched: converting whole columns to text is slow.
        old_values = pd.Series(np.asarray(old, dtype=object)[mask], dtype=object).astype(str)
        new_values = pd.Series(np.asarray(new, dtype=object)[mask], dtype=object).astype(str)
        if pii:
            old_values = old_values.map(mask_value)
            new_values = new_values.map(mask_value)
        self.changes.append(
            pd.DataFrame(
                {
                    ROW: self.rows[mask],
                    "column": column,
                    "old": old_values.to_numpy(),
                    "new": new_values.to_numpy(),
                    "rule": rule,
                }
            )
        )

    def changes_frame(self) -> pd.DataFrame:
        if not self.changes:
            return pd.DataFrame(columns=[ROW, "column", "old", "new", "rule"])
        return pd.concat(self.changes, ignore_index=True)


def _map_unique(series: pd.Series, function: Callable[[str], str]) -> pd.Series:
    """Apply ``function`` once per distinct value (columns have few distinct answers)."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    mapped = np.array([function(str(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def _plain_text(values: pd.Series) -> pd.Series:
    """Numbers as plain text (``1500000``, ``1.5``), vectorized; missing as ``""``."""
    numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    out = np.full(len(numbers), "", dtype=object)
    finite = np.isfinite(numbers)
    whole = finite & (np.abs(numbers) < 2.0**53)
    whole[whole] = np.mod(numbers[whole], 1) == 0
    out[whole] = numbers[whole].astype(np.int64).astype(str)
    for k in np.flatnonzero(finite & ~whole):
        out[k] = repr(float(numbers[k]))
    return pd.Series(out, index=values.index, dtype=object)


def _reason_from_label(label: str, code: str) -> str:
    """``Don't know`` -> ``dont_know``; an unlabelled code -> ``user_missing_<code>``."""
    slug = re.sub(r"[^0-9a-z]+", "_", label.casefold().replace("'", "").replace("\u2019", "")).strip("_")
    if slug:
        return slug
    if re.fullmatch(r"\.[a-z]", code):
        return f"stata_missing_{code[1:]}"
    code_slug = re.sub(r"[^0-9a-z]+", "_", code.casefold().replace("-", "neg")).strip("_")
    return f"user_missing_{code_slug}"


def _missing_reasons(
    text: pd.Series, folded: pd.Series, variable: Variable, table: RawTable, source: str
) -> np.ndarray:
    """Reason per cell for cells that hold a missing code ("" otherwise).

    The codebook's ``missing_codes`` come first; then the file's own declarations: SPSS
    user-missing values and ranges (read with ``user_missing=True``) and Stata's extended
    missing values ``.a`` ... ``.z``, each kept as a distinct reason (cases 23-25).
    """
    reason = np.full(len(text), "", dtype=object)
    folded_values = folded.to_numpy(dtype=object)
    for code, why in variable.missing_codes.items():
        hit = (folded_values == code) & (reason == "")
        reason[hit] = why
    labels = table.value_labels.get(source, {})
    declared = table.user_missing.get(source, {})
    numbers: pd.Series | None = None
    for code, label in declared.items():
        why = _reason_from_label(label or labels.get(code, ""), code)
        if ".." in code:
            low, high = (float(x) for x in code.split("..", 1))
            if numbers is None:
                numbers = pd.to_numeric(text, errors="coerce")
            hit = ((numbers >= low) & (numbers <= high)).to_numpy(dtype=bool, na_value=False)
        else:
            hit = folded_values == code.casefold()
        reason[hit & (reason == "")] = why
    if table.path.suffix.lower() == ".dta":
        # Stata's extended missing values are missing by definition, declared or not.
        letters = folded.str.fullmatch(r"\.[a-z]").to_numpy(dtype=bool, na_value=False) & (reason == "")
        for code in np.unique(folded_values[letters]):
            why = _reason_from_label(labels.get(str(code), ""), "") if labels.get(str(code)) else ""
            reason[letters & (folded_values == code)] = why or f"stata_missing_{str(code)[1:]}"
    return reason


def _version_asked(variable: Variable, versions: pd.Series) -> np.ndarray:
    """Rows whose form version asked the question, from the codebook's ``versions`` list."""
    asked = np.zeros(len(versions), dtype=bool)
    numbers = pd.to_numeric(versions, errors="coerce")
    for item in variable.versions:
        if item.startswith(">="):
            asked |= (numbers >= float(item[2:])).to_numpy(dtype=bool, na_value=False)
        elif item.startswith("<="):
            asked |= (numbers <= float(item[2:])).to_numpy(dtype=bool, na_value=False)
        else:
            asked |= (versions == item).to_numpy(dtype=bool, na_value=False)
    return asked


def _not_asked(variable: Variable, filled: np.ndarray, versions: pd.Series | None) -> np.ndarray:
    """Rows whose form version did not ask the question (case 10).

    With a ``versions`` list in the codebook, that list decides.  Without one, the data do:
    when the export mixes form versions and every row of some version is blank in this
    column while other versions have answers, that version did not ask it (Kobo exports the
    union of every version's columns and leaves the others blank).
    """
    n = len(filled)
    if versions is None:
        return np.zeros(n, dtype=bool)
    has_version = (versions != "").to_numpy()
    if variable.versions:
        return has_version & ~_version_asked(variable, versions)
    if versions[has_version].nunique() < 2 or not filled.any():
        return np.zeros(n, dtype=bool)
    answered_in_version = pd.Series(filled).groupby(versions.to_numpy()).transform("any").to_numpy(dtype=bool)
    return has_version & ~answered_in_version


@dataclass
class _Context:
    """What converting one column needs besides the column."""

    table: RawTable
    round_name: str
    number_style: NumberStyle
    rows: np.ndarray
    log: _Log
    quarantine: list[tuple[np.ndarray, str]]
    flags: list[tuple[np.ndarray, str]]
    notes: list[str]


class _Distinct:
    """A column as its distinct values plus one code per row.

    Survey columns hold few distinct answers, so every per-cell step (normalizing, parsing,
    recoding) runs once per distinct value and is spread back to the rows with one take.
    """

    def __init__(self, raw: pd.Series) -> None:
        codes, uniques = raw.factorize(use_na_sentinel=True)
        self.codes = np.where(codes < 0, len(uniques), codes)
        self.values = pd.Series(np.append(np.asarray(uniques, dtype=object), ""), dtype=object)

    def rows(self, per_value: pd.Series | np.ndarray) -> np.ndarray:
        """Per-value results as one entry per row."""
        return np.asarray(per_value)[self.codes]

    def series(self, per_value: pd.Series) -> pd.Series:
        """Per-value results as a row-indexed Series, keeping the dtype (tz-aware dates too)."""
        return per_value.take(self.codes).reset_index(drop=True)


def _convert(
    variable: Variable, source: str, *, not_asked_versions: pd.Series | None, ctx: _Context
) -> tuple[dict[str, pd.Series], np.ndarray]:
    """Convert one variable's raw text to its typed, harmonized column(s) and missing reasons."""
    frame = ctx.table.frame
    name, log = variable.name, ctx.log
    # Logged values are masked for personal data and identifiers, flagged or not.
    pii = variable.pii or variable.type == "id" or (looks_personal(source) and not variable.pii_no)
    n = len(frame)
    raw = frame[source] if source in frame.columns else pd.Series([""] * n, dtype="str")
    distinct = _Distinct(raw)
    u_raw = distinct.values
    u_text = normalize_text(u_raw)[0].astype(object).where(u_raw.notna(), "").astype(str)
    u_folded = u_text.str.casefold()
    u_reason = _missing_reasons(u_text, u_folded, variable, ctx.table, source)
    u_blank = (u_text == "").to_numpy()

    text = pd.Series(distinct.rows(u_text.to_numpy(dtype=object)), dtype=object)
    changed = distinct.rows((u_text != u_raw).to_numpy())
    log.change(
        changed, name, distinct.rows(u_raw.to_numpy(dtype=object)), text, "whitespace_removed", pii=pii
    )
    reason = distinct.rows(u_reason).copy()
    coded = reason != ""
    log.change(coded, name, text, reason, "missing_code", pii=pii)
    blank = distinct.rows(u_blank)
    not_asked = _not_asked(variable, ~blank & ~coded, not_asked_versions)
    log.change(not_asked & ~blank & ~coded, name, text, np.full(n, "", dtype=object), _NOT_ASKED, pii=pii)
    reason[not_asked] = _NOT_ASKED
    reason[blank & (reason == "")] = _SKIPPED
    usable = reason == ""
    # Distinct values worth parsing: not blank and not a missing code.
    u_usable_text = u_text.where((u_reason == "") & ~u_blank, "")
    columns: dict[str, pd.Series] = {}

    if variable.type in ("integer", "number", "money"):
        style: NumberStyle = "id" if variable.type == "money" else ctx.number_style
        if variable.role in ("gps_latitude", "gps_longitude"):
            style = "plain"  # written by the device (-7.210510), never typed in Indonesian style
        parsed = parse_numbers(u_usable_text, kind=variable.type, style=style)
        u_status = parsed["status"].to_numpy(dtype=object)
        u_plain = _plain_text(parsed["value"])
        status = distinct.rows(u_status)
        for bad, why in (("ambiguous", "ambiguous_number"), ("unparseable", "unparseable_amount")):
            hit = usable & (status == bad)
            if hit.any():
                ctx.quarantine.append((hit, f"{why}:{name}"))
        values = pd.Series(distinct.rows(parsed["value"].to_numpy(dtype=np.float64)), dtype="float64")
        values[~usable] = np.nan
        u_reformatted = (u_status == "ok") & (u_text.to_numpy() != u_plain.to_numpy())
        reformatted = usable & distinct.rows(u_reformatted)
        log.change(reformatted, name, text, distinct.rows(u_plain), "number_parsed", pii=pii)
        columns[name] = values
        if reformatted.any():
            # Parsing "1,5 juta" gives 1500000: the text as typed is kept next to the number.
            columns[f"{name}_raw"] = raw.astype(object).where(~blank, None).reset_index(drop=True)
        u_sentinel = (u_status == "ok") & u_text.str.fullmatch(SENTINEL_RE).to_numpy(
            dtype=bool, na_value=False
        )
        sentinel = usable & distinct.rows(u_sentinel)
        if sentinel.any() and not source.startswith("_"):  # export metadata are not answers
            ctx.flags.append((sentinel, f"possible_missing_code:{name}"))
        return columns, reason

    if variable.type == "category":
        u_recoded = u_folded.map(lambda v: variable.recode.get(v, v)).astype(str)
        if variable.categories:
            allowed = {c.casefold(): c for c in variable.categories}
            u_recoded_folded = u_recoded.str.casefold()
            u_known = u_recoded_folded.isin(list(allowed)).to_numpy()
            known = distinct.rows(u_known)
            unknown = usable & ~known
            if unknown.any():
                ctx.quarantine.append((unknown, f"unknown_choice:{name}"))
            u_recoded = u_recoded_folded.map(lambda v: allowed.get(v, v)).astype(str)
            case_fixed = usable & known & distinct.rows((u_text != u_folded).to_numpy())
            log.change(case_fixed, name, text, distinct.rows(u_folded), "case_folded", pii=pii)
        if variable.is_numeric:
            u_numbers = pd.to_numeric(u_recoded, errors="coerce").astype("float64").to_numpy()
            columns[name] = pd.Series(np.where(usable, distinct.rows(u_numbers), np.nan), dtype="float64")
        else:
            result = pd.Series(distinct.rows(u_recoded.to_numpy(dtype=object)), dtype=object)
            columns[name] = result.where(usable, None)
        return columns, reason

    if variable.type == "date":
        parsed_dates = parse_dates(
            u_usable_text,
            fmt=variable.format_for(ctx.round_name),
            timezone=timezone_of(variable.unit),
            earliest=pd.Timestamp(variable.date_min) if variable.date_min else EARLIEST,
            latest=pd.Timestamp(variable.date_max) if variable.date_max else LATEST,
            file=ctx.table.path,
            column=source,
            sheet=ctx.table.sheet,
        )
        status = distinct.rows(parsed_dates.status)
        for bad, why in (("unparseable", "unparseable_date"), ("implausible", "implausible_date")):
            hit = usable & (status == bad)
            if hit.any():
                ctx.quarantine.append((hit, f"{why}:{name}"))
        values = distinct.series(parsed_dates.value)
        values[~usable] = pd.NaT
        serial = usable & distinct.rows(parsed_dates.serial)
        reformatted = usable & distinct.rows(parsed_dates.reformatted)
        iso = distinct.rows(parsed_dates.value.astype(str).to_numpy(dtype=object))
        log.change(serial, name, text, iso, "excel_serial_date", pii=pii)
        log.change(reformatted & ~serial, name, text, iso, "date_parsed", pii=pii)
        ctx.notes.extend(f"{source}: {note}" for note in parsed_dates.notes)
        columns[name] = values
        if reformatted.any():
            columns[f"{name}_raw"] = raw.astype(object).where(~blank, None).reset_index(drop=True)
        return columns, reason

    if variable.type == "select_multiple":
        skip = coded | not_asked
        chosen = convert_select_multiple(
            frame,
            variable,
            source=source,
            skip=skip,
            file=ctx.table.path,
            rows=ctx.rows,
            sheet=ctx.table.sheet,
        )
        columns.update(chosen.columns)
        if chosen.unknown.any():
            ctx.quarantine.append((chosen.unknown, f"unknown_choice:{name}"))
        if source in frame.columns:
            log.change(chosen.rewritten, name, text, chosen.columns[name], "choices_normalized", pii=pii)
        reason[chosen.answered] = ""
        reason[~chosen.answered & (reason == "")] = _SKIPPED
        ctx.notes.extend(chosen.notes)
        return columns, reason

    # id and text are kept as normalised text.
    columns[name] = text.where(usable, None)
    return columns, reason


def check_sources(table: RawTable, variables: Iterable[Variable], round_name: str) -> None:
    """Fail closed when a codebook source column is absent from the raw file.

    A select_multiple question counts as present when its summary column or any of its dummy
    columns is in the file.
    """
    columns = [str(c) for c in table.frame.columns]
    variables = list(variables)
    absent = []
    for v in variables:
        source = v.sources[round_name]
        if source in columns:
            continue
        if v.type == "select_multiple" and dummy_columns(columns, source, v.categories):
            continue
        absent.append(v)
    if absent:
        # Question labels instead of XML names explain every missing column at once (case 7).
        check_xml_headers(table)
        names = ", ".join(f"{v.sources[round_name]} ({v.name})" for v in absent[:5])
        more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
        raise CodebookError(
            f"the codebook's source_{round_name} names columns that are not in the file: "
            f"{names}{more}. Fix the codebook or re-export the round",
            file=table.path,
            rows=[1],
        )


def _role(codebook: Codebook, role: str, data: pd.DataFrame) -> str | None:
    names = [v.name for v in codebook.by_role(role) if v.name in data.columns]
    return names[0] if names else None


def _personal(codebook: Codebook, round_name: str) -> set[str]:
    """Variables whose values are masked in logs and reports (personal data and ids)."""
    names = set()
    for v in codebook.variables:
        source = v.sources.get(round_name, v.name)
        if v.pii or v.type == "id" or (looks_personal(source) and not v.pii_no):
            names |= {v.name, f"{v.name}_raw"}
    return names


def clean_round(
    table: RawTable,
    *,
    round_name: str,
    codebook: Codebook,
    number_style: NumberStyle = "id",
    corrections: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    rules: QualityRules | None = None,
) -> CleanRound:
    """Clean one round's raw export.

    Parameters
    ----------
    table
        The raw export, every cell as text.
    round_name
        ``baseline`` or ``followup``: selects each variable's source column.
    codebook
        The harmonized variables.
    number_style
        How ``integer`` and ``number`` columns are written: ``id`` (``1.500`` = 1500,
        ``1,5`` = 1.5) or ``plain`` (``1.5`` = 1.5). Money always uses ``id``.
    corrections
        The corrections file (:func:`analysis.corrections.read_corrections`), applied first.
    decisions
        The decisions file (:func:`analysis.duplicates.read_decisions`).
    rules
        Quality rules (flags, escalation, fieldwork window); defaults of
        :class:`analysis.quality.QualityRules` when None.

    Returns
    -------
    CleanRound

    Raises
    ------
    CodebookError
        When the codebook names a column the file lacks.
    InputError
        When a date column is ambiguous, a select_multiple summary disagrees with its dummies
        or holds labels, or a correction or decision does not fit the file.
    """
    rules = rules or QualityRules()
    variables = codebook.for_round(round_name)
    check_sources(table, variables, round_name)
    for variable in variables:
        if variable.type == "id" and variable.sources[round_name] in table.frame.columns:
            # An id that went through a number (9.4E+15, 123.0, 16 digits in Excel) cannot be
            # repaired by cleaning: stop and ask for a re-export (cases 16-18).
            check_id_text(table, variable.sources[round_name])
    rows = np.asarray(table.row_numbers)
    log = _Log(rows)
    if corrections is not None:
        table, corrected = apply_corrections(table, corrections, round_name=round_name, codebook=codebook)
        if len(corrected):
            log.changes.append(corrected)
    frame = table.frame
    n = len(frame)
    ctx = _Context(table, round_name, number_style, rows, log, [], [], [])

    versions, version_counts = _versions(codebook, frame, round_name, ctx.notes)
    converted: dict[str, pd.Series] = {}
    for variable in variables:
        columns, reason = _convert(
            variable, variable.sources[round_name], not_asked_versions=versions, ctx=ctx
        )
        converted.update(columns)
        counts = pd.Series(reason[reason != ""]).value_counts()
        for why, count in counts.items():
            log.missing.append((variable.name, str(why), int(count)))
        if (~np.isin(reason, ("", _SKIPPED))).any():
            # Why a value is missing matters when it is not a plain skip (refused, don't know,
            # not asked in this form version): the reason is kept per cell.
            converted[f"{variable.name}_missing"] = pd.Series(reason, dtype=object)
    data = pd.DataFrame(converted, index=pd.RangeIndex(n))
    data.insert(0, ROW, rows)

    excluded = np.full(n, "", dtype=object)

    def exclude(mask: np.ndarray, reason: str) -> None:
        excluded[mask & (excluded == "")] = reason

    # An exact repeat of a whole submission is an overlapping download, not a second household.
    exclude(exact_duplicates(frame), "duplicate_submission")
    consent = _role(codebook, "consent", data)
    if consent:
        exclude((data[consent] == 0).to_numpy(), "no_consent")
    enumerator = _role(codebook, "enumerator", data)
    if enumerator:
        names = data[enumerator].astype(object).where(data[enumerator].notna(), "").astype(str)
        exclude(names.str.casefold().isin(TEST_MARKERS).to_numpy(), "test_submission")
    submitted = _role(codebook, "submission_time", data)
    if submitted and rules.fieldwork is not None:
        days = local_dates(data[submitted], codebook.get(submitted).unit)
        exclude(
            (days < pd.Timestamp(rules.fieldwork[0])).to_numpy(dtype=bool, na_value=False), "test_submission"
        )
    review = _role(codebook, "validation_status", data)
    if review:
        status = data[review].astype(object).where(data[review].notna(), "").astype(str).str.casefold()
        exclude(status.str.fullmatch(NOT_APPROVED_RE).to_numpy(dtype=bool, na_value=False), "not_approved")
    id_vars = [v for v in codebook.by_role("household_id") if v.name in data]
    if not id_vars:
        raise CodebookError(
            f"no variable with role household_id has a source in the {round_name} round",
            file=codebook.path,
        )
    id_name = id_vars[0].name
    hh = data[id_name].astype(object)
    no_id = hh.isna().to_numpy() | hh.astype(str).str.casefold().str.fullmatch(NO_ID_RE).to_numpy(dtype=bool)
    exclude(no_id | (hh.astype(str).str.len() == 0).to_numpy(), "no_valid_id")

    # Decisions on duplicates (ieduplicates pattern): drop, re-id or keep named submissions.
    submission_name = _role(codebook, "submission_id", data)
    submissions = (
        None if submission_name is None else data[submission_name].astype(object).fillna("").astype(str)
    )
    if decisions is not None:
        matched = match_decisions(
            decisions,
            round_name=round_name,
            rows=rows,
            ids=hh,
            submissions=submissions,
            file_name=table.path.name,
        )
        ctx.notes.extend(matched.notes)
    else:
        blank_array = np.full(n, "", dtype=object)
        matched = Matched(blank_array, blank_array.copy(), blank_array.copy(), ())
    groups_before = conflict_groups(hh, excluded == "")
    check_keeps(groups_before, matched.action, rows=rows, file_name=table.path.name)
    renamed = matched.action == "new_id"
    if renamed.any():
        new_ids = pd.Series(np.where(renamed, matched.new_id, hh.to_numpy()), dtype=object)
        log.change(renamed, id_name, hh, new_ids, "decision_new_id", pii=True)
        data[id_name] = new_ids
    exclude(matched.action == "drop", "dropped_by_decision")

    live = excluded == ""
    quarantine = list(ctx.quarantine)
    checked = validate(data, codebook, rows=rows)
    quarantine.extend(checked.quarantine)
    groups = conflict_groups(data[id_name].astype(object), live)
    quarantine.append((groups >= 0, "duplicate_id_conflict"))
    if submissions is not None:
        # One submission id with two different contents: an edited re-download, not a copy.
        same = submissions.where(live & (submissions != "").to_numpy())
        quarantine.append(
            (
                same.duplicated(keep=False).to_numpy() & same.notna().to_numpy(),
                "duplicate_submission_conflict",
            )
        )

    flags = (
        ctx.flags + time_flags(data, codebook, rules) + outlier_flags(data, codebook, live=live, rules=rules)
    )
    flags = [(mask & live, flag) for mask, flag in flags if (mask & live).any()]
    quarantine.extend((mask, flag) for mask, flag in flags if flag.split(":", 1)[0] in rules.escalate)
    for column, values in flag_columns(flags, n).items():
        data[column] = values

    quarantined = np.full(n, "", dtype=object)
    for mask, why in quarantine:
        hit = mask & live
        quarantined[hit] = np.where(quarantined[hit] == "", why, quarantined[hit] + ";" + why)

    state = np.where(excluded != "", "excluded", np.where(quarantined != "", "quarantined", "clean"))
    reasons = np.where(excluded != "", excluded, quarantined)
    row_states = pd.DataFrame({ROW: rows, "state": state, "reason": reasons})
    counts = row_states["state"].value_counts()
    # The accounting invariant of the whole workbench: every raw row is in exactly one state.
    assert int(counts.sum()) == n == len(table.frame)

    ignore = [ROW, *(c for c in data.columns if c.endswith(("_raw", "_missing")) or c.startswith("qc_"))]
    ignore += [v.name for v in codebook.variables if v.sources.get(round_name) in POSITION_COLUMNS]
    ignore += [v.name for v in codebook.by_role("submission_id")]
    ignore += [v.name for v in codebook.by_role("submission_time")]
    report = duplicates_report(
        data.assign(**{id_name: hh}),
        groups_before,
        round_name=round_name,
        id_column=id_name,
        submissions=submissions,
        rows=rows,
        state=state,
        matched=matched,
        personal=_personal(codebook, round_name),
        ignore=ignore,
    )

    clean_mask = state == "clean"
    q_mask = state == "quarantined"
    quarantine_frame = data.loc[q_mask].assign(reason=reasons[q_mask]).reset_index(drop=True)
    missing = pd.DataFrame(log.missing, columns=["variable", "reason", "count"])
    checked_log = checked.log.loc[checked.log["_row"].isin(rows[live])].reset_index(drop=True)
    return CleanRound(
        round=round_name,
        file=table.path.name,
        data=data.loc[clean_mask].reset_index(drop=True),
        quarantine=quarantine_frame,
        row_states=row_states,
        changes=log.changes_frame(),
        missing=missing,
        notes=tuple(table.fixes) + tuple(ctx.notes),
        quality=flag_table(flags, rows),
        validation=checked_log,
        duplicates=report,
        versions=version_counts,
    )


def _versions(
    codebook: Codebook, frame: pd.DataFrame, round_name: str, notes: list[str]
) -> tuple[pd.Series | None, pd.DataFrame]:
    """The form version of each row (role ``form_version``), and rows per version (logged)."""
    sources = [v.sources[round_name] for v in codebook.by_role("form_version") if round_name in v.sources]
    if not sources or sources[0] not in frame.columns:
        return None, _empty(("version", "rows"))
    versions = normalize_text(frame[sources[0]])[0].astype(str)
    counts = versions.value_counts(sort=False).sort_index()
    table = pd.DataFrame({"version": counts.index.astype(str), "rows": counts.to_numpy()})
    for version, rows in zip(table["version"], table["rows"], strict=True):
        notes.append(f"form version {version or '(blank)'}: {rows} rows")
    return versions, table
