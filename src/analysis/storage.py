"""Writing tables and processed data: fixed formatting, atomic replacement."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.config import PROCESSED_DIR, RAW_DIR
from analysis.provenance import write_text_atomic
from analysis.safe_export import neutralize_formulas
from analysis.study import Study

#: Fixed float formatting so tables are byte-identical across machines.
FLOAT_FORMAT = "%.10g"


def processed_dir_for(study: Study, out: Path) -> Path:
    """Where the study's processed data go.

    The study's ``processed`` key wins. A study kept under ``data/raw/<name>/`` writes to
    ``data/processed/<name>/`` (the project's layout); any other study writes to ``out/processed``.
    """
    if study.processed_dir is not None:
        return study.processed_dir
    try:
        return PROCESSED_DIR / study.folder.resolve().relative_to(RAW_DIR.resolve())
    except ValueError:
        return out / "processed"


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table with the workbench's fixed formatting, atomically.

    Text cells that a spreadsheet would run as a formula are neutralised first (bad-inputs
    case 40); numbers are untouched.
    """
    safe = neutralize_formulas(frame)
    write_text_atomic(path, safe.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write Parquet atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
