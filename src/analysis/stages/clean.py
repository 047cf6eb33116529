"""Stage 1, once per round: read the raw export, clean it, de-identify it, write it.

Reads the raw export of one round (and the study's corrections and decisions files); writes
into the processed folder:

``<round>_clean.parquet``      clean rows, de-identified
``<round>_id_forms.parquet``   keyed hashes of the normalised household ids (linkage check)
``<round>_quarantine.csv``     quarantined rows with their reasons (de-identified; a variable
                               called ``reason`` is ``var_reason`` there)
``<round>_row_states.csv``     one state per raw row
``<round>_changes.csv``        the cell-level cleaning log (personal values masked)
``<round>_missing.csv``        values set to missing, by variable and reason
``<round>_quality.csv``        quality flags (rows stay clean unless the study escalates them)
``<round>_validation.csv``     schema-check failures, values described but never shown
``<round>_duplicates.csv``     the duplicates report, to copy into the decisions file
``<round>_columns.csv``        the raw columns, their variable and kind (for the schema diff)
``<round>_summary.json``       counts, notes, removed and pseudonymized columns

Every CSV has its text cells neutralised against spreadsheet formulas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.clean.corrections import read_corrections
from analysis.clean.deidentify import (
    coarsen_gps,
    deidentify,
    personal_columns,
    resolve_key,
    screen_round,
    suspected_personal,
)
from analysis.clean.duplicates import read_decisions, report_column
from analysis.clean.quality import QualityRules
from analysis.clean.round import CleanRound, clean_round, quarantine_column
from analysis.clean.schema import column_inventory
from analysis.construct.panel import round_id_forms
from analysis.construct.study_columns import check_round_columns, village_list_columns
from analysis.errors import InputError
from analysis.inputs.codebook import (
    Codebook,
    codebook_from_study,
    load_codebook,
    village_labels,
    with_village_names,
)
from analysis.inputs.readers import RawTable
from analysis.inputs.rounds import RECORD_ID, round_table, with_record_ids, with_record_variable
from analysis.inputs.study import Study, load_study
from analysis.shared import layout
from analysis.shared.files import write_csv, write_parquet, write_text_atomic
from analysis.shared.run_warnings import write_stage_warnings


def _codebook_for_round(study: Study, table: RawTable, round_name: str) -> Codebook:
    if study.codebook is not None:
        return load_codebook(study)  # with the roles the study's keys imply
    # Without a codebook only this round's columns are known, which is all cleaning needs.
    return codebook_from_study(study, {round_name: list(table.frame.columns)})


@dataclass(frozen=True)
class CleanSummary:
    """What the clean stage reports about one round."""

    round: str
    file: str
    counts: dict[str, int]
    reasons: pd.DataFrame
    notes: tuple[str, ...]
    dropped_columns: tuple[str, ...]
    hashed_columns: tuple[str, ...]


def _gps(study: Study, codebook: Codebook, data: pd.DataFrame) -> pd.DataFrame:
    """Apply the study's GPS rule (``gps: drop`` by default, or ``village``) before de-identifying."""
    names = {
        role: [v.name for v in codebook.by_role(role) if v.name in data.columns]
        for role in ("gps_latitude", "gps_longitude", "village")
    }
    if not names["gps_latitude"] or not names["gps_longitude"]:
        return data
    return coarsen_gps(
        data,
        latitude=names["gps_latitude"][0],
        longitude=names["gps_longitude"][0],
        village=names["village"][0] if names["village"] else None,
        how=study.gps,
    )


def _quality_rules(study: Study, round_name: str) -> QualityRules:
    """The study's ``quality`` and ``fieldwork`` settings (checked by load_study) for one round."""
    return QualityRules(
        min_minutes=study.quality.min_minutes,
        fieldwork=study.fieldwork.get(round_name),
        escalate=frozenset(study.quality.escalate),
        outlier_iqr=study.quality.outlier_iqr,
    )


def _check_rows_left(result: CleanRound, processed: Path) -> None:
    """Stop when cleaning left no clean row: every later stage would fail on an empty round.

    Called after the processed files are written, so the quarantine file the message names
    is there to open.
    """
    counts = result.counts
    if counts["clean"] > 0:
        return
    reasons = result.reason_counts().sort_values("rows", ascending=False, kind="stable")
    top = ", ".join(
        f"{r['reason']} ({r['rows']} {'row' if r['rows'] == 1 else 'rows'})"
        for r in reasons.head(3).to_dict("records")
    )
    raise InputError(
        f"no row of the {result.round} round is left to analyse: {counts['quarantined']} of "
        f"{counts['raw']} rows quarantined and {counts['excluded']} excluded (top reasons: {top}) – "
        f"open {processed / layout.quarantine_csv(result.round)} and {layout.row_states_csv(result.round)} "
        "to see the rows, then fix the data, the codebook or the study file",
        file=result.file,
    )


def clean_stage(study_path: str | Path | Study, round_name: str, processed: str | Path) -> CleanSummary:
    """Clean and de-identify one round, and write its processed files.

    Parameters
    ----------
    study_path
        The study file (or a study already loaded).
    round_name
        One of the study's rounds (``baseline`` or ``followup`` in a two-round study; a value of
        the round column for one long file).
    processed
        The processed-data folder.
    """
    study = study_path if isinstance(study_path, Study) else load_study(study_path)
    # A round of a long file is the rows holding its name, cleaned as if in a file of its own.
    study, table = round_table(study, round_name)
    study, table = with_record_ids(study, table, round_name)
    codebook = _codebook_for_round(study, table, round_name)
    if study.id == RECORD_ID:
        codebook = with_record_variable(codebook, [round_name])  # a study without `id`
    # Every column the study file names must be there, before minutes of cleaning.
    check_round_columns(
        study,
        list(table.frame.columns),
        round_name=round_name,
        codebook=codebook if study.codebook is not None else None,
        village_columns=village_list_columns(study),
    )
    result: CleanRound = clean_round(
        table,
        round_name=round_name,
        codebook=codebook,
        number_style=study.number_style,
        number_style_set=getattr(study, "number_style_set", False),
        corrections=None if study.corrections is None else read_corrections(study.corrections),
        decisions=None if study.decisions is None else read_decisions(study.decisions),
        rules=_quality_rules(study, round_name),
    )
    key = resolve_key(study)
    hashed, dropped = personal_columns(codebook, study)
    suspected = suspected_personal(codebook)
    processed = Path(processed)

    def private(frame: pd.DataFrame) -> pd.DataFrame:
        return deidentify(_gps(study, codebook, frame), hashed=hashed, dropped=dropped, key=key)

    clean = private(result.data)
    # The quarantine file names a variable called `reason` apart from its own column.
    quarantine = deidentify(
        _gps(study, codebook, result.quarantine),
        hashed=[quarantine_column(c) for c in hashed],
        dropped=[quarantine_column(c) for c in dropped],
        key=key,
    )
    # The report names the id column apart from its own columns (an id called `state`).
    duplicates = deidentify(
        result.duplicates,
        hashed=[report_column(c) for c in hashed],
        dropped=[report_column(c) for c in dropped],
        key=key,
    )
    # The change log names cells by row; values of personal or id columns are masked.
    changes = result.changes.copy()
    sensitive = changes["column"].isin(hashed + dropped)
    changes.loc[sensitive, ["old", "new"]] = "(masked)"
    # Free text (other-specify answers, notes, decision reasons) can hold a phone number, a
    # NIK/KK or a name that no column flag announces: masked, and counted in the log.
    screened = screen_round(
        clean=clean,
        quarantine=quarantine,
        changes=changes,
        duplicates=duplicates,
        identified=(result.data, result.quarantine, result.duplicates),
        codebook=codebook,
        hashed=hashed,
        dropped=dropped,
        keep=getattr(study, "keep_text_columns", ()),
        key=key,
    )
    clean, quarantine = screened.clean, screened.quarantine
    # Value labels of a .dta/.sav village code are its names (after screening: not free text).
    clean = with_village_names(clean, village_labels(table, codebook, round_name), codebook=codebook)
    changes, duplicates = screened.changes, screened.duplicates
    write_parquet(clean, processed / layout.clean_parquet(round_name))
    # Keyed hashes of the normalised ids, so the construct stage can tell damaged ids (lost
    # leading zeros, a trailing .0) from a repeated cross-section without any raw id.
    forms = round_id_forms(result.data, codebook=codebook, study=study, key=key)
    write_parquet(forms, processed / layout.id_forms_parquet(round_name))
    write_csv(quarantine, processed / layout.quarantine_csv(round_name))
    write_csv(result.row_states, processed / layout.row_states_csv(round_name))
    write_csv(changes, processed / layout.changes_csv(round_name))
    write_csv(result.missing, processed / layout.missing_csv(round_name))
    write_csv(result.quality, processed / layout.quality_csv(round_name))
    write_csv(result.validation, processed / layout.validation_csv(round_name))
    write_csv(duplicates, processed / layout.duplicates_csv(round_name))
    write_csv(column_inventory(table, codebook, round_name), processed / layout.columns_csv(round_name))
    removed = sorted(c for c in dropped if c in result.data.columns)
    notes = list(result.notes)
    if suspected:
        notes.append(
            f"treated as personal data because the name looks personal: {', '.join(suspected)} "
            "(write pii: no in the codebook to keep them)"
        )
    if screened.scan.note():
        notes.append(str(screened.scan.note()))
    write_stage_warnings(
        processed, f"clean_{round_name}", [*result.warnings, *screened.warnings(f"clean_{round_name}")]
    )
    summary = {
        "round": round_name,
        "file": result.file,
        "counts": result.counts,
        "reasons": {
            f"{r['state']}:{r['reason']}": int(r["rows"]) for r in result.reason_counts().to_dict("records")
        },
        "notes": notes,
        "dropped_columns": removed,
        "hashed_columns": hashed,
        "quality_flags": {str(k): int(v) for k, v in result.quality["flag"].value_counts().items()},
        "duplicate_groups": int(result.duplicates["group"].nunique()) if len(result.duplicates) else 0,
        "form_versions": {
            str(v): int(n) for v, n in zip(result.versions["version"], result.versions["rows"], strict=True)
        },
    }
    write_text_atomic(processed / layout.summary_json(round_name), json.dumps(summary, indent=2) + "\n")
    _check_rows_left(result, processed)
    return CleanSummary(
        round=round_name,
        file=result.file,
        counts=result.counts,
        reasons=result.reason_counts(),
        notes=tuple(notes),
        dropped_columns=tuple(removed),
        hashed_columns=tuple(hashed),
    )
