"""Stage 1, once per round: read the raw export, clean it, de-identify it, write it.

Reads the raw export of one round; writes ``<round>_clean.parquet`` (de-identified),
``<round>_quarantine.csv``, ``<round>_row_states.csv``, ``<round>_changes.csv``,
``<round>_missing.csv`` and ``<round>_summary.json`` into the processed folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.clean import CleanRound, clean_round
from analysis.codebook import Codebook, codebook_from_study, read_codebook
from analysis.deidentify import deidentify, personal_columns, resolve_key
from analysis.provenance import write_text_atomic
from analysis.readers import RawTable, read_table
from analysis.storage import write_csv, write_parquet
from analysis.study import Study, load_study


def _codebook_for_round(study: Study, table: RawTable, round_name: str) -> Codebook:
    if study.codebook is not None:
        return read_codebook(study.codebook)
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


def clean_stage(study_path: str | Path, round_name: str, processed: str | Path) -> CleanSummary:
    """Clean and de-identify one round, and write its processed files.

    Parameters
    ----------
    study_path
        The study file.
    round_name
        ``baseline`` or ``followup``.
    processed
        The processed-data folder.
    """
    study = load_study(study_path)
    spec = study.rounds[round_name]
    table = read_table(spec.file, sheet=spec.sheet)
    codebook = _codebook_for_round(study, table, round_name)
    result: CleanRound = clean_round(
        table, round_name=round_name, codebook=codebook, number_style=study.number_style
    )
    key = resolve_key(study)
    hashed, dropped = personal_columns(codebook, study)
    processed = Path(processed)
    clean = deidentify(result.data, hashed=hashed, dropped=dropped, key=key)
    quarantine = deidentify(result.quarantine, hashed=hashed, dropped=dropped, key=key)
    # The change log names cells by row; values of personal or id columns are masked.
    changes = result.changes.copy()
    sensitive = changes["column"].isin(hashed + dropped)
    changes.loc[sensitive, ["old", "new"]] = "(masked)"
    write_parquet(clean, processed / f"{round_name}_clean.parquet")
    write_csv(quarantine, processed / f"{round_name}_quarantine.csv")
    write_csv(result.row_states, processed / f"{round_name}_row_states.csv")
    write_csv(changes, processed / f"{round_name}_changes.csv")
    write_csv(result.missing, processed / f"{round_name}_missing.csv")
    summary = {
        "round": round_name,
        "file": result.file,
        "counts": result.counts,
        "notes": list(result.notes),
        "dropped_columns": dropped,
        "hashed_columns": hashed,
    }
    write_text_atomic(processed / f"{round_name}_summary.json", json.dumps(summary, indent=2) + "\n")
    return CleanSummary(
        round=round_name,
        file=result.file,
        counts=result.counts,
        reasons=result.reason_counts(),
        notes=result.notes,
        dropped_columns=tuple(dropped),
        hashed_columns=tuple(hashed),
    )
