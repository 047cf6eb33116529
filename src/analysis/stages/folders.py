"""The processed folder of a study: where it is, and the record of which study file owns it.

Also the list of villages the estimate stage wrote (:func:`villages_of`): the run reads both
without importing the stages themselves (pandas and statsmodels stay in the kernel).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from analysis.config import PROCESSED_DIR, RAW_DIR
from analysis.errors import StudyError
from analysis.inputs.study import Study
from analysis.shared import layout
from analysis.shared.files import read_csv, write_text_atomic


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
        return out / layout.OUT_PROCESSED_DIR


def claim_processed(processed: Path, study_path: Path) -> None:
    """Record that ``processed`` holds the data of ``study_path``; refuse another study's folder.

    Two study files kept in one ``data/raw/<name>/`` folder share ``data/processed/<name>/`` by
    default. Run one after the other, each overwrites the other's cleaned rounds and panel, so
    the folder describes whichever ran last, and every run of the other redoes all its stages.
    Rather than guess a separate folder, the second study is refused with the fix: its own
    ``processed`` key. The record names the study file both absolutely and relative to the
    processed folder, so a copied or moved project (the relative path still matches) and a
    renamed or deleted study file (neither path exists) are no conflict.

    Call it while holding the processed folder's lock.

    Raises
    ------
    StudyError
        When the folder's record names another study file that still exists.
    """
    processed = Path(processed)
    study_path = Path(study_path).resolve()
    record = processed / layout.PROCESSED_OWNER
    try:
        owner = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        owner = {}
    named: list[Path] = []
    if isinstance(owner, dict):
        for key, base in (("relative", processed), ("absolute", Path("/"))):
            value = owner.get(key)
            if isinstance(value, str) and value:
                named.append((base / value).resolve())
    existing = [p for p in named if p.is_file()]
    if existing and study_path not in named:
        other = existing[0]
        raise StudyError(
            f"the processed folder {processed} holds the data of another study file, {other}; two "
            f"studies sharing it would overwrite each other's files. Give {study_path.name} its own "
            f"folder: add `processed: processed_{study_path.stem}` (or any new folder) to {study_path}"
        )
    wanted = {"absolute": str(study_path), "relative": os.path.relpath(study_path, processed.resolve())}
    if owner != wanted:
        write_text_atomic(record, json.dumps(wanted, indent=2) + "\n")


def villages_of(tables: Path) -> list[str]:
    """Village codes with a report to write (from ``villages.csv``), in a fixed order.

    The codes are the panel's own (``=X``, not the spreadsheet-guarded ``'=X``), so each report
    finds its village.
    """
    path = tables / layout.VILLAGES_CSV
    if not path.is_file():
        return []
    frame = read_csv(path, dtype={"village": str}, keep_default_na=False)
    return sorted(v for v in frame["village"].astype(str) if v)
