"""The data stages the notebooks call: clean → construct → estimate.

Each stage reads only the previous stage's output files and writes its own; each lives in its
own module (:mod:`analysis.stages.clean`, :mod:`analysis.stages.construct`,
:mod:`analysis.stages.estimate`). This module gathers them for the notebooks.
"""

from __future__ import annotations

from analysis.inputs.codebook import load_codebook
from analysis.shared.files import FLOAT_FORMAT, write_csv, write_parquet
from analysis.stages.clean import CleanSummary, clean_stage
from analysis.stages.construct import construct_stage
from analysis.stages.estimate import estimate_stage, row_accounting, village_summary, villages_of
from analysis.stages.folders import processed_dir_for

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
