"""The data stages the notebooks call: clean → construct → estimate.

Each stage reads only the previous stage's output files and writes its own; each lives in its
own module (:mod:`analysis.stage_clean`, :mod:`analysis.stage_construct`,
:mod:`analysis.stage_estimate`). This module gathers them for the notebooks.
"""

from __future__ import annotations

from analysis.codebook import load_codebook
from analysis.stage_clean import CleanSummary, clean_stage
from analysis.stage_construct import construct_stage
from analysis.stage_estimate import estimate_stage, row_accounting, village_summary, villages_of
from analysis.storage import FLOAT_FORMAT, processed_dir_for, write_csv, write_parquet

__all__ = [
    "FLOAT_FORMAT",
    "CleanSummary",
    "clean_stage",
    "construct_stage",
    "estimate_stage",
    "load_codebook",
    "processed_dir_for",
    "row_accounting",
    "village_summary",
    "villages_of",
    "write_csv",
    "write_parquet",
]
