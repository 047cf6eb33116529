"""Writing tables and processed data: fixed formatting, atomic replacement.

Also the checks made before a run writes anything: that the output and processed folders can
be written (:func:`check_writable_folder`), and that a processed folder is not shared by two
study files (:func:`claim_processed`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from analysis.config import PROCESSED_DIR, RAW_DIR
from analysis.errors import BerdayaError, StudyError
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

    Text cells that a spreadsheet would run as a formula are neutralised first (docs/bad-inputs.md
    case 40); numbers are untouched. Pass the frame unguarded (the guard is applied once,
    here) and read it back with :func:`analysis.safe_export.read_csv`, which removes it.
    """
    safe = neutralize_formulas(frame)
    write_text_atomic(path, safe.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n"))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write Parquet atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def _nearest_existing(path: Path) -> Path:
    """``path`` itself when it exists, else its closest ancestor that does."""
    existing = path
    # exists() is False under a file too (ENOTDIR), so the walk stops at that file.
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing


def _existing_folder(path: Path, *, what: str, target: Path, verb: str) -> Path:
    """The closest existing ancestor of ``path``, which must be a folder (not a file)."""
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise BerdayaError(
            f"{what} {target} cannot be {verb}: {existing} is a file, not a folder; choose another path"
        )
    return existing


def check_writable_folder(path: str | Path, *, what: str) -> Path:
    """Check, before any work, that ``path`` is or can become a folder this user can write.

    A path that is a file, lies under a file, or sits in a folder without write permission
    would otherwise fail minutes later with a traceback.

    Parameters
    ----------
    path
        The folder (it need not exist yet).
    what
        How the user names it in messages (``--out``, ``the processed folder``).

    Returns
    -------
    pathlib.Path
        The absolute path.

    Raises
    ------
    BerdayaError
        One line naming the path, the problem and what to do.
    """
    folder = Path(path).expanduser().absolute()
    if folder.exists() and not folder.is_dir():
        raise BerdayaError(
            f"{what} {folder} is a file, not a folder: name a folder (it is created if missing)"
        )
    existing = _existing_folder(folder, what=what, target=folder, verb="created")
    # os.access answers for this user (root passes); a read-only file system fails it too.
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == folder else f" ({existing} is not writable)"
        raise BerdayaError(
            f"{what} {folder} is not writable{where}: permission denied; choose a folder you can "
            "write to, or change its permissions"
        )
    return folder


def check_writable_file(path: str | Path, *, what: str) -> Path:
    """Check that ``path`` can be written as a file (not a folder; its folder writable).

    Parameters
    ----------
    path
        The file (it need not exist yet).
    what
        How the user names it in messages (``--out``).

    Returns
    -------
    pathlib.Path
        The absolute path.

    Raises
    ------
    BerdayaError
        One line naming the path, the problem and what to do.
    """
    file = Path(path).expanduser().absolute()
    if file.is_dir():
        raise BerdayaError(f"{what} {file} is a folder, not a file: name a file inside it instead")
    existing = _existing_folder(file.parent, what=what, target=file, verb="written")
    target = file if file.exists() else existing
    if not os.access(target, os.W_OK | (0 if target is file else os.X_OK)):
        raise BerdayaError(
            f"{what} {file} is not writable ({target}: permission denied); choose a path you can write to"
        )
    return file


#: The record, in a processed folder, of the study file whose data it holds.
PROCESSED_OWNER = ".berdaya-study.json"


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
    record = processed / PROCESSED_OWNER
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
