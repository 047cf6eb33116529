"""The data stages the notebooks call: clean → construct → estimate.

Each stage reads only the previous stage's output files and writes its own; each lives in its
own module (:mod:`analysis.stages.clean`, :mod:`analysis.stages.construct`,
:mod:`analysis.stages.estimate`). This module gathers them for the notebooks.

The names are imported on first use: the run itself imports :mod:`analysis.stages.folders`,
and that must not cost it pandera and statsmodels, which only the stage kernel needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.inputs.codebook import load_codebook
    from analysis.shared.files import FLOAT_FORMAT, write_csv, write_parquet
    from analysis.stages.clean import CleanSummary, clean_stage
    from analysis.stages.construct import construct_stage
    from analysis.stages.estimate import estimate_stage, row_accounting, village_summary
    from analysis.stages.folders import processed_dir_for, villages_of

#: Where each name of this module is defined.
_HOMES = {
    "FLOAT_FORMAT": "analysis.shared.files",
    "CleanSummary": "analysis.stages.clean",
    "clean_stage": "analysis.stages.clean",
    "construct_stage": "analysis.stages.construct",
    "estimate_stage": "analysis.stages.estimate",
    "load_codebook": "analysis.inputs.codebook",
    "processed_dir_for": "analysis.stages.folders",
    "row_accounting": "analysis.stages.estimate",
    "village_summary": "analysis.stages.estimate",
    "villages_of": "analysis.stages.folders",
    "write_csv": "analysis.shared.files",
    "write_parquet": "analysis.shared.files",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # once: later lookups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
