"""Clean one survey round under the codebook's rules.

Every raw row ends in exactly one state: ``clean``, ``quarantined`` (kept aside with its
reasons, waiting for a correction or decision) or ``excluded`` (deliberately left out, with its
reason). :func:`clean_round` returns the row states with the data, and checks that the counts
add up. Each round is cleaned on its own; linking rounds is the panel stage's job.

The steps, in order:

1. documented corrections are applied to the raw text (:mod:`analysis.clean.corrections`);
2. every codebook variable is converted from text: missing codes (the codebook's, SPSS
   user-missing values, Stata ``.a``-``.z``) become missing with their reason; questions not
   asked in a row's form version are missing with reason ``not_asked_in_version``; numbers,
   money, categories, dates (:mod:`analysis.clean.dates`) and select_multiple questions
   (:mod:`analysis.clean.select_multiple`) are parsed, and every changed cell is logged;
3. exclusions: exact duplicate submissions, no consent, test or pilot submissions, submissions
   not approved, rows without a valid household id, and rows dropped in the decisions file;
4. quarantine: values that could not be parsed, pandera schema checks
   (:mod:`analysis.clean.validation`), conflicting submissions for one household
   (:mod:`analysis.clean.duplicates`), and quality flags the study escalates
   (:mod:`analysis.clean.quality`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.clean.corrections import apply_corrections
from analysis.clean.dates import EARLIEST, LATEST, parse_dates, timezone_of
from analysis.clean.duplicates import (
    POSITION_COLUMNS,
    Matched,
    check_keeps,
    conflict_groups,
    duplicates_report,
    exact_duplicates,
    match_decisions,
)
from analysis.clean.money import ColumnStyle, Style, column_style, parse_numbers
from analysis.clean.quality import (
    SENTINEL_RE,
    QualityRules,
    flag_columns,
    flag_table,
    local_dates,
    outlier_flags,
    time_flags,
)
from analysis.clean.select_multiple import convert_select_multiple, dummy_columns
from analysis.clean.validation import validate
from analysis.errors import BerdayaError, CodebookError, InputError
from analysis.inputs.codebook import Codebook, Variable, looks_personal, treatment_value
from analysis.inputs.readers import (
    RawTable,
    check_id_text,
    check_xml_headers,
    float_codes,
    normalize_text,
    without_point_zero,
)
from analysis.inputs.study import NumberStyle
from analysis.shared.masking import mask_value
from analysis.shared.run_warnings import RunWarning

__all__ = ["ROW", "STATES", "CleanRound", "check_sources", "clean_round", "mask_value", "quarantine_column"]

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


#: Columns the quarantine file adds to the data.
QUARANTINE_COLUMNS = ("reason",)


def quarantine_column(name: str) -> str:
    """The name a data column has in the quarantine file.

    A variable called ``reason`` would be overwritten by the quarantine reason (and read as
    one by the reports), so it is called ``var_reason`` there.

    >>> quarantine_column("income"), quarantine_column("reason")
    ('income', 'var_reason')
    """
    return f"var_{name}" if name in QUARANTINE_COLUMNS else name


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
        apply). Still identified: pass it through :func:`analysis.clean.deidentify.deidentify`
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
        The duplicates report (:func:`analysis.clean.duplicates.duplicates_report`).
    versions
        Rows per form version (``version``, ``rows``), when the codebook names one.
    warnings
        Run warnings about data the round went ahead with (stage ``clean_<round>``).
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
    warnings: tuple[RunWarning, ...] = ()

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
    #: Whether the study file wrote ``number_style`` (otherwise the column's values decide).
    number_style_set: bool = False
    #: The codebook file, or None when the study file implies the codebook (for messages).
    codebook_path: Path | None = None


class _Distinct:
    """A column as its distinct values plus one code per row.

    Survey columns hold few distinct answers, so every per-cell step (normalizing, parsing,
    recoding) runs once per distinct value and is spread back to the rows with one take.
    """

    def __init__(self, raw: pd.Series) -> None:
        codes, uniques = raw.factorize(use_na_sentinel=True)
        self.codes = np.where(codes < 0, len(uniques), codes)
        values = np.append(np.asarray(uniques, dtype=object), "")
        # A text column stays text: normalizing and comparing it then runs in pyarrow rather
        # than once per value in Python (an id column has as many values as rows).
        text = isinstance(raw.dtype, pd.StringDtype)
        self.values = pd.Series(values, dtype=raw.dtype if text else object)

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
    # Masks from the distinct values, spread to the rows: comparing the rows' text again
    # (hundreds of thousands of cells, for every variable) cost more than the conversion.
    coded = distinct.rows(u_reason != "")
    log.change(coded, name, text, reason, "missing_code", pii=pii)
    blank = distinct.rows(u_blank)
    not_asked = _not_asked(variable, ~blank & ~coded, not_asked_versions)
    log.change(not_asked & ~blank & ~coded, name, text, np.full(n, "", dtype=object), _NOT_ASKED, pii=pii)
    reason[not_asked] = _NOT_ASKED
    reason[blank & ~coded & ~not_asked] = _SKIPPED
    usable = ~(coded | not_asked | blank)  # no reason: neither a code, nor not asked, nor blank
    # Distinct values worth parsing: not blank and not a missing code.
    u_usable_text = u_text.where((u_reason == "") & ~u_blank, "")
    columns: dict[str, pd.Series] = {}

    if variable.role == "treatment" and variable.type in ("integer", "number", "category"):
        columns[name] = _treatment(variable, source, u_text, u_folded, distinct, usable, ctx=ctx)
        return columns, reason

    if variable.type in ("integer", "number", "money"):
        style, style_set = _number_style(variable, ctx)
        # One reading of "." and "," for the whole column, decided from all its values:
        # "687.000" must not be 687 while "4.314.000" in the same column is 4314000.
        decided = column_style(u_usable_text, style=style, style_set=style_set)
        if decided.undecided:
            raise _undecided_style(variable, source, decided, ctx=ctx, pii=pii)
        if decided.note:
            shown = "" if pii else f" (e.g. {', '.join(decided.examples[:2])})"
            ctx.notes.append(f"{source}: {decided.note}{shown}")
        parsed = parse_numbers(u_usable_text, kind=variable.type, style=decided.style)
        u_status = parsed["status"].to_numpy(dtype=object).copy()
        u_status[decided.ambiguous] = "ambiguous"
        u_values = parsed["value"].to_numpy(dtype=np.float64).copy()
        u_values[decided.ambiguous] = np.nan
        u_plain = _plain_text(pd.Series(u_values))
        status = distinct.rows(u_status)
        for bad, why in (
            ("ambiguous", "ambiguous_number"),
            ("unparseable", f"unparseable_{_kind(variable)}"),
        ):
            hit = usable & (status == bad)
            if hit.any():
                ctx.quarantine.append((hit, f"{why}:{name}"))
        values = pd.Series(distinct.rows(u_values), dtype="float64")
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
        if serial.any() or reformatted.any():
            # The dates as text only when a change is logged (writing out 200,000 timestamps
            # took most of a national-scale date column); the whole column is written, since
            # pandas chooses the format (time, fractions) from all of its values.
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


def _kind(variable: Variable) -> str:
    """What a value of ``variable`` is, for quarantine reasons (``unparseable_<kind>:<name>``)."""
    if variable.role in ("treatment", "weight", "consent"):
        return variable.role
    if variable.role in ("gps_latitude", "gps_longitude"):
        return "coordinate"
    return "amount" if variable.type == "money" else "number"


def _number_style(variable: Variable, ctx: _Context) -> tuple[Style, bool]:
    """The number style of a variable's column, and whether something set it.

    The codebook's ``format`` (``id`` or ``plain``) sets it per column; money is always
    Indonesian and device coordinates (-7.210510) always plain; otherwise the study's
    ``number_style``, which counts as set only when the study file wrote it.
    """
    own = variable.format_for(ctx.round_name)
    if own in ("id", "plain"):
        return own, True  # type: ignore[return-value]
    if variable.role in ("gps_latitude", "gps_longitude"):
        return "plain", True  # written by the device, never typed in Indonesian style
    if variable.type == "money":
        return "id", True
    return ctx.number_style, ctx.number_style_set


def _undecided_style(
    variable: Variable, source: str, decided: ColumnStyle, *, ctx: _Context, pii: bool
) -> InputError:
    """The error for a column whose separators read two ways and no setting says which."""
    example = decided.examples[0]
    readings = ""
    if not pii:
        thousands = parse_numbers(pd.Series([example]), style="id")["value"].iloc[0]
        point = parse_numbers(pd.Series([example]), style="plain")["value"].iloc[0]
        readings = (
            f" ({', '.join(decided.examples)}: {example} is {_plain_text(pd.Series([thousands])).iloc[0]} "
            f"with '.' as the thousands separator, {_plain_text(pd.Series([point])).iloc[0]} with '.' "
            "as the decimal point)"
        )
    where = "write `number_style: id` (1.500 = 1500) or `number_style: plain` (1.500 = 1.5) in the study file"
    if ctx.codebook_path is not None:
        where += (
            f", or id or plain in the `format` cell of the row {variable.name} in {ctx.codebook_path.name}"
        )
    return InputError(
        f"every number with a separator has one dot and three decimals{readings}, so the column "
        f"can be read two ways – say which: {where}",
        file=ctx.table.path,
        column=source,
        sheet=ctx.table.sheet,
    )


def _treatment(
    variable: Variable,
    source: str,
    u_text: pd.Series,
    u_folded: pd.Series,
    distinct: _Distinct,
    usable: np.ndarray,
    *,
    ctx: _Context,
) -> pd.Series:
    """Programme assignment as numbers: 1/0 from numbers, common words or the codebook's recode.

    Exports write the assignment as ``ya``/``tidak``, ``Treatment``/``Control``, ``1.0``/``0.0``
    or a value label. Numbers and the spellings of
    :data:`analysis.inputs.codebook.TREATMENT_SPELLINGS` are read (and logged); the codebook's
    ``recode`` comes first. Anything else stops the round with the values found and the
    recode to write: a treatment no one can read would quarantine every row.
    """
    name = variable.name
    u_recoded = u_folded.map(lambda v: variable.recode.get(v, v)).astype(str)
    u_numbers = np.array(
        [np.nan if (n := treatment_value(v)) is None else n for v in u_recoded], dtype=np.float64
    )
    numbers = distinct.rows(u_numbers)
    text = pd.Series(distinct.rows(u_text.to_numpy(dtype=object)), dtype=object)
    unknown = usable & np.isnan(numbers)
    if unknown.any():
        raise _unreadable_treatment(variable, source, text[unknown], ctx=ctx)
    if variable.categories:
        allowed = {c.casefold() for c in variable.categories}
        numeric = all(_is_number_text(c) for c in variable.categories)
        u_known = (
            np.isin(u_numbers, [float(c) for c in variable.categories])
            if numeric
            else u_recoded.str.casefold().isin(allowed).to_numpy()
        )
        outside = usable & ~distinct.rows(u_known)
        if outside.any():
            ctx.quarantine.append((outside, f"unknown_choice:{name}"))
    u_plain = _plain_text(pd.Series(u_numbers))
    u_changed = (u_text != u_plain).to_numpy()
    changed = usable & distinct.rows(u_changed)
    ctx.log.change(
        changed, name, text, distinct.rows(u_plain.to_numpy(dtype=object)), "treatment_read", pii=False
    )
    if changed.any():
        used = np.unique(distinct.codes[changed])
        pairs = sorted({f"{u_text.iloc[k]}={u_plain.iloc[k]}" for k in used})
        more = f" and {len(pairs) - 6} more" if len(pairs) > 6 else ""
        ctx.notes.append(f"{source}: treatment read as numbers: {', '.join(pairs[:6])}{more}")
    return pd.Series(np.where(usable, numbers, np.nan), dtype="float64")


def _is_number_text(text: str) -> bool:
    try:
        return bool(np.isfinite(float(text)))
    except ValueError:
        return False


def _unreadable_treatment(variable: Variable, source: str, values: pd.Series, *, ctx: _Context) -> InputError:
    """The error for treatment values that are neither numbers, common words nor recoded."""
    counts = values.value_counts()
    shown = ", ".join(f"{v!r} ({n} {'row' if n == 1 else 'rows'})" for v, n in counts.head(6).items())
    more = f" and {len(counts) - 6} more" if len(counts) > 6 else ""
    found = [str(v).casefold() for v in counts.index]
    pair = "; ".join(f"{v}={code}" for v, code in zip(found[:2], ("1", "0"), strict=False))
    recode = f"`{pair}`" if len(found) >= 2 else f"`{pair}` (and the other value=0)"
    if ctx.codebook_path is not None:
        todo = (
            f"add a recode to the row {variable.name} of {ctx.codebook_path.name}: {recode} "
            "(1 = programme, 0 = comparison; see docs/codebook.md)"
        )
    else:
        todo = (
            "write the column as 1 (programme) / 0 (comparison), or give the study a codebook "
            "(`berdaya codebook-template STUDY` writes one; name it in the study file as `codebook:`) "
            f"whose row for the treatment reads name={variable.name}, source_{ctx.round_name}={source}, "
            f"type=category, categories=0;1, recode={recode}, role=treatment (see docs/codebook.md)"
        )
    return InputError(
        f"the treatment is written as {shown}{more}, which berdaya cannot read as 1 (programme) or "
        f"0 (comparison) – {todo}",
        file=ctx.table.path,
        column=source,
        sheet=ctx.table.sheet,
    )


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
    number_style_set: bool = False,
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
        ``1,5`` = 1.5) or ``plain`` (``1.5`` = 1.5). Money always uses ``id``; a codebook
        ``format`` of ``id`` or ``plain`` sets one column.
    number_style_set
        Whether the study file wrote ``number_style``. When it did not, a column whose values
        show which separator it uses (``4.314.000``, ``1.5``) is read that way, and a column
        whose only separators are one dot and three digits (``687.000``) stops the round.
    corrections
        The corrections file (:func:`analysis.clean.corrections.read_corrections`), applied first.
    decisions
        The decisions file (:func:`analysis.clean.duplicates.read_decisions`).
    rules
        Quality rules (flags, escalation, fieldwork window); defaults of
        :class:`analysis.clean.quality.QualityRules` when None.

    Returns
    -------
    CleanRound

    Raises
    ------
    CodebookError
        When the codebook names a column the file lacks.
    InputError
        When a date column or a number column's separators are ambiguous, the treatment is
        written in words berdaya does not know, a select_multiple summary disagrees with its
        dummies or holds labels, an id went through a number and lost digits, or a correction
        or decision does not fit the file.
    """
    rules = rules or QualityRules()
    variables = codebook.for_round(round_name)
    check_sources(table, variables, round_name)
    table, float_fixes = _float_codes(table, variables, round_name)
    for variable in variables:
        if variable.type == "id" and variable.sources[round_name] in table.frame.columns:
            # An id that went through a number and cannot be read back (9.4E+15, 16 digits in
            # Excel, 123.0 next to 00124) cannot be repaired by cleaning: stop and ask for a
            # re-export (cases 16-18).
            check_id_text(table, variable.sources[round_name])
    rows = np.asarray(table.row_numbers)
    log = _Log(rows)
    warnings: list[RunWarning] = []
    float_notes: list[str] = []
    for variable, source, fixed, old in float_fixes:
        log.change(fixed, variable.name, old, table.frame[source], "float_code_to_integer", pii=True)
        what = f"{int(fixed.sum())} codes written like 12.0 (a column that went through a number)"
        float_notes.append(f"{source}: {what} read as whole numbers (12)")
        warnings.append(
            RunWarning(
                f"clean_{round_name}",
                "float_codes",
                f"{table.path.name} column {source}: {what} were read as whole numbers (12); "
                "if these codes should have leading zeros (0712), re-export the column as text",
            )
        )
    if corrections is not None:
        table, corrected = apply_corrections(table, corrections, round_name=round_name, codebook=codebook)
        if len(corrected):
            log.changes.append(corrected)
    frame = table.frame
    n = len(frame)
    ctx = _Context(
        table,
        round_name,
        number_style,
        rows,
        log,
        [],
        [],
        float_notes,
        number_style_set=number_style_set,
        codebook_path=codebook.path,
    )

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
        if any(why != _SKIPPED for why in counts.index):  # a reason other than a plain skip
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
    # An error, not an assert, so that `python -O` cannot remove it.
    if not int(counts.sum()) == n == len(table.frame):
        raise BerdayaError(
            f"{table.path.name}: the row accounting does not add up ({int(counts.sum())} row states for {n} "
            "raw rows); this is a defect in berdaya, please report it with the file's header"
        )

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
    quarantine_frame = (
        data.loc[q_mask]
        .rename(columns=quarantine_column)
        .assign(reason=reasons[q_mask])
        .reset_index(drop=True)
    )
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
        warnings=tuple(warnings),
    )


#: Roles whose values are codes even when the codebook types them as text or category.
_CODE_ROLES = ("household_id", "village", "cluster")


def _float_codes(
    table: RawTable, variables: list[Variable], round_name: str
) -> tuple[RawTable, list[tuple[Variable, str, np.ndarray, pd.Series]]]:
    """Read id and code columns written through a float (``12.0``) as the integers they are.

    Stata and pandas exports write an integer code column that held a missing value as
    ``12.0``. When every number in the column is whole and none keeps a leading zero
    (:func:`analysis.inputs.readers.float_codes`), ``12.0`` is read as ``12`` so that it matches the
    village list and the other round; otherwise :func:`check_id_text` refuses the column.

    Returns
    -------
    tuple
        The table with the codes rewritten, and per repaired column: the variable, the source
        column, the mask of rewritten cells and the old text (for the change log).
    """
    fixes: list[tuple[Variable, str, np.ndarray, pd.Series]] = []
    frame: pd.DataFrame | None = None
    done: set[str] = set()
    for variable in variables:
        source = variable.sources[round_name]
        is_code = variable.type == "id" or (
            variable.role in _CODE_ROLES and variable.type in ("text", "category") and not variable.is_numeric
        )
        if not is_code or source in done or source not in table.frame.columns:
            continue
        done.add(source)
        mask = float_codes(table, source)
        if not mask.any():
            continue
        if frame is None:
            frame = table.frame.copy()
        old = frame[source].copy()
        frame[source] = pd.Series(
            np.where(mask, without_point_zero(old).to_numpy(), old.to_numpy()), dtype=object
        )
        fixes.append((variable, source, mask, old))
    if frame is None:
        return table, fixes
    return dataclasses.replace(table, frame=frame), fixes


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
