"""The data stages the notebooks call: clean → construct → estimate.

Each stage reads only the previous stage's output files and writes its own:

==============  ==========================================  ==========================================
stage           reads                                       writes
==============  ==========================================  ==========================================
clean (×2)      the raw export of one round                 ``<round>_clean.parquet`` (de-identified),
                                                            ``<round>_quarantine.csv``,
                                                            ``<round>_row_states.csv``,
                                                            ``<round>_changes.csv``, ``<round>_missing.csv``
construct       both ``<round>_clean.parquet``              ``panel.parquet``, ``panel_linkage.csv``
estimate        ``panel.parquet``                           ``tables/impact.csv`` and friends
==============  ==========================================  ==========================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.clean import ROW, CleanRound, clean_round
from analysis.codebook import Codebook, codebook_from_study, read_codebook
from analysis.config import IMPACT_COLUMNS, ROUNDS
from analysis.deidentify import deidentify, personal_columns, resolve_key
from analysis.estimate import estimate_impacts
from analysis.indicators import construct
from analysis.panel import build_panel, linkage_by_village
from analysis.provenance import write_text_atomic
from analysis.readers import RawTable, read_table
from analysis.study import Study, load_study

#: Fixed float formatting so tables are byte-identical across machines.
FLOAT_FORMAT = "%.10g"


def processed_dir_for(study: Study, out: Path) -> Path:
    """Where the study's processed data go: the study's ``processed`` key, else ``out/processed``."""
    return study.processed_dir if study.processed_dir is not None else out / "processed"


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table with the workbench's fixed formatting, atomically."""
    write_text_atomic(path, frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write Parquet atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def load_codebook(study: Study, tables: dict[str, RawTable] | None = None) -> Codebook:
    """The study's codebook, or the one its study file implies."""
    if study.codebook is not None:
        return read_codebook(study.codebook)
    if tables is None:
        tables = {r: read_table(study.rounds[r].file, sheet=study.rounds[r].sheet) for r in ROUNDS}
    return codebook_from_study(study, {r: list(t.frame.columns) for r, t in tables.items()})


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


def construct_stage(study_path: str | Path, processed: str | Path) -> pd.DataFrame:
    """Build indicators for each round and link the rounds into ``panel.parquet``.

    Returns the linkage summary (households by arm and linkage status).
    """
    study = load_study(study_path)
    processed = Path(processed)
    codebook = load_codebook(study)
    base_cpi = study.rounds["baseline"].cpi
    line = (study.extra.get("income") or {}).get("poverty_line")
    rounds = {}
    for round_name in ROUNDS:
        frame = pd.read_parquet(processed / f"{round_name}_clean.parquet")
        rounds[round_name] = construct(
            frame,
            codebook=codebook,
            cpi=study.rounds[round_name].cpi,
            base_cpi=base_cpi,
            poverty_line=None if line is None else float(line),
        )
    panel = build_panel(rounds, codebook=codebook, study=study)
    write_parquet(panel.data.drop(columns=[ROW], errors="ignore"), processed / "panel.parquet")
    write_csv(panel.linkage, processed / "panel_linkage.csv")
    write_csv(panel.exclusions, processed / "panel_exclusions.csv")
    return panel.linkage


def row_accounting(processed: Path) -> pd.DataFrame:
    """Raw rows per round by final state; ``n_raw = clean + quarantined + excluded`` is checked."""
    rows = []
    for round_name in ROUNDS:
        states = pd.read_csv(processed / f"{round_name}_row_states.csv", dtype=str, keep_default_na=False)
        counts = states["state"].value_counts()
        record: dict[str, object] = {
            "round": round_name,
            "n_raw": len(states),
            "clean": int(counts.get("clean", 0)),
            "quarantined": int(counts.get("quarantined", 0)),
            "excluded": int(counts.get("excluded", 0)),
        }
        if len(states) != sum(int(counts.get(s, 0)) for s in ("clean", "quarantined", "excluded")):
            raise AssertionError(f"row accounting does not add up for {round_name}: {record}")
        rows.append(record)
    return pd.DataFrame(rows)


def village_summary(panel: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """One row per village: arm, households per round, attrition, and headline means.

    Statistics over fewer than ``min_cell`` households are suppressed (NaN), so the index page
    and village reports never describe a handful of households.
    """
    if panel["village"].isna().all():
        return pd.DataFrame()
    linkage = linkage_by_village(panel)
    names = panel.drop_duplicates("village").set_index("village")["village_name"]
    linkage["village_name"] = linkage["village"].map(names)
    stats = []
    for column in ("income_pc", "participation_score"):
        if column not in panel.columns:
            continue
        grouped = panel.groupby(["village", "round"])[column]
        centre = grouped.median() if column == "income_pc" else grouped.mean()
        wide = centre.where(grouped.count() >= min_cell).unstack("round")
        wide.columns = [f"{column}_{r}" for r in wide.columns]
        stats.append(wide)
    out = linkage
    for table in stats:
        out = out.merge(table, left_on="village", right_index=True, how="left")
    small = out["baseline"].lt(min_cell) & out["followup"].lt(min_cell)
    out["suppressed"] = small
    return out.sort_values("village", kind="stable").reset_index(drop=True)


def estimate_stage(study_path: str | Path, processed: str | Path, tables: str | Path) -> pd.DataFrame:
    """Estimate every outcome from ``panel.parquet`` and write the tidy tables.

    Writes ``impact.csv`` (exactly the contract columns), ``impact_detail.csv`` (plus notes),
    ``row_accounting.csv``, ``linkage.csv`` and ``villages.csv`` into ``tables``.

    Returns
    -------
    pandas.DataFrame
        The impact table.
    """
    study = load_study(study_path)
    processed, tables = Path(processed), Path(tables)
    panel = pd.read_parquet(processed / "panel.parquet")
    clustered = study.cluster_column is not None and bool(panel["cluster"].notna().any())
    impact = estimate_impacts(panel, study.outcomes, clustered=clustered, vcov=study.vcov)
    write_csv(impact[list(IMPACT_COLUMNS)], tables / "impact.csv")
    write_csv(impact, tables / "impact_detail.csv")
    write_csv(row_accounting(processed), tables / "row_accounting.csv")
    write_csv(pd.read_csv(processed / "panel_linkage.csv"), tables / "linkage.csv")
    villages = village_summary(panel, min_cell=study.min_cell)
    if not villages.empty:
        write_csv(villages, tables / "villages.csv")
    return impact


def villages_of(tables: Path) -> list[str]:
    """Village codes with a report to write (from ``villages.csv``), in a fixed order."""
    path = tables / "villages.csv"
    if not path.is_file():
        return []
    frame = pd.read_csv(path, dtype={"village": str}, keep_default_na=False)
    return sorted(v for v in frame["village"].astype(str) if v)


def finite_or_none(value: float) -> float | None:
    """JSON-friendly float."""
    return None if value is None or not np.isfinite(value) else float(value)
