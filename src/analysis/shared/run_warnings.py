"""Warnings a run goes ahead with: data that looks wrong, settings that limit what is reliable.

A run that can go on but whose numbers need a caveat says so once, in one line per warning:
printed at the end of ``berdaya run``, recorded in ``run.json`` and shown at the top of the
programme report. Each stage writes its own warnings next to its outputs, and the estimate
stage gathers the earlier ones into ``tables/warnings.csv`` so that each stage still reads
only the previous stage's files:

``<processed>/<round>_warnings.json``   written by the clean stage, one file per round
``<processed>/construct_warnings.json`` written by the construct stage
``<tables>/warnings.csv``               every warning of the run (the public list)

A warning's text goes into published files, so it never quotes personal values: it names
columns, counts and village codes only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from analysis.shared import layout
from analysis.shared.files import read_csv

#: Columns of ``tables/warnings.csv``.
WARNING_COLUMNS: tuple[str, ...] = ("stage", "code", "message")


@dataclass(frozen=True)
class RunWarning:
    """One caveat of a run.

    Attributes
    ----------
    stage
        Where it was found: ``clean_baseline``, ``clean_followup``, ``construct`` or ``estimate``.
    code
        A short stable name (``one_treated_cluster``, ``float_codes``, ...), for tests and filters.
    message
        One line for the user: what was found, what it means, and what to do.
    """

    stage: str
    code: str
    message: str


def warnings_file(processed: Path, stage: str) -> Path:
    """Where a data stage (``clean_<round>`` or ``construct``) keeps its warnings."""
    name = layout.round_stem(stage.removeprefix("clean_")) if stage.startswith("clean_") else stage
    return Path(processed) / layout.warnings_json(name)


def write_stage_warnings(processed: Path, stage: str, warnings: Iterable[RunWarning]) -> Path:
    """Write one stage's warnings (an empty list too, so a rerun clears the old ones)."""
    from analysis.shared.files import write_text_atomic

    path = warnings_file(processed, stage)
    items = [asdict(w) for w in warnings]
    write_text_atomic(path, json.dumps(items, indent=2, ensure_ascii=False) + "\n")
    return path


def read_stage_warnings(path: Path) -> list[RunWarning]:
    """The warnings in one stage file; a missing file holds none."""
    if not Path(path).is_file():
        return []
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    return [RunWarning(**{k: str(item[k]) for k in WARNING_COLUMNS}) for item in items]


def warnings_frame(warnings: Sequence[RunWarning]) -> pd.DataFrame:
    """Warnings as the tidy table ``tables/warnings.csv``, duplicates removed, order kept."""
    rows = list(dict.fromkeys((w.stage, w.code, w.message) for w in warnings))
    return pd.DataFrame(rows, columns=list(WARNING_COLUMNS))


def read_warnings_table(tables: Path) -> list[RunWarning]:
    """The warnings of a finished run (``tables/warnings.csv``); none when the file is absent."""
    path = Path(tables) / layout.WARNINGS_CSV
    if not path.is_file():
        return []
    frame = read_csv(path, dtype=str, keep_default_na=False)
    records = frame.to_dict("records")
    return [RunWarning(**{k: str(r[k]) for k in WARNING_COLUMNS}) for r in records]
