"""Stage 2: build indicators for each round and link the rounds into one household panel.

Reads both ``<round>_clean.parquet``; writes ``panel.parquet``, ``panel_linkage.csv`` and
``panel_exclusions.csv``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.clean import ROW
from analysis.codebook import load_codebook
from analysis.config import ROUNDS
from analysis.indicators import construct
from analysis.panel import build_panel
from analysis.storage import write_csv, write_parquet
from analysis.study import load_study


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
