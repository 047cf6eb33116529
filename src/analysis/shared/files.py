"""Files: tables written the same way every time, atomic writes, hashes, the formula guard.

CSV and Parquet tables are written with fixed formatting; every write replaces the old file
whole or not at all. Text cells a spreadsheet would run as a formula get a guard that
:func:`read_csv` takes off again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import BerdayaError


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks so large exports do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def hash_inputs(files: Iterable[Path], *, root: Path) -> dict[str, str]:
    """Map of each input file (relative to ``root`` when inside it) to its SHA-256."""
    result = {}
    for path in files:
        try:
            name = str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            name = str(path)
        result[name] = sha256_file(path)
    return result


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON to a temporary file in the same folder, then rename it over ``path``."""
    write_text_atomic(path, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write text so that readers see either the old file or the whole new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates the file private (0600); reports are meant to be shared.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Fixed float formatting so tables are byte-identical across machines.
FLOAT_FORMAT = "%.10g"


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table with the workbench's fixed formatting, atomically.

    Text cells that a spreadsheet would run as a formula are neutralised first (docs/bad-inputs.md
    case 40); numbers are untouched. Pass the frame unguarded (the guard is applied once,
    here) and read it back with :func:`analysis.shared.files.read_csv`, which removes it.
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


_TRIGGER_RE = r"(?s)'*[=+\-@\t\r].*"


_PLAIN_NUMBER_RE = r"[+-]?[0-9]+(?:[.,][0-9]+)*"


def _text_cells(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """The column's cells as an object array and a mask of the cells that are ``str``."""
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
        return None
    cells = values.to_numpy(dtype=object)
    is_text = np.fromiter((isinstance(c, str) for c in cells), dtype=bool, count=len(cells))
    return (cells, is_text) if is_text.any() else None


def _needs_guard(text: pd.Series) -> np.ndarray:
    """Which cells a spreadsheet could take for a formula (or that start with ``'`` + trigger)."""
    trigger = text.str.fullmatch(_TRIGGER_RE).to_numpy(dtype=bool, na_value=False)
    number = text.str.fullmatch(_PLAIN_NUMBER_RE).to_numpy(dtype=bool, na_value=False)
    return trigger & ~number


def _rewrite_text_cells(
    frame: pd.DataFrame,
    rewrite: Callable[[pd.Series], tuple[np.ndarray, pd.Series]],
    *,
    keep_dtype: bool,
) -> pd.DataFrame:
    """A copy of ``frame`` in which ``rewrite`` (text → which cells, their new text) is applied."""
    out = frame.copy()
    for column in out.columns:
        found = _text_cells(out[column])
        if found is None:
            continue
        cells, is_text = found
        text = pd.Series(np.where(is_text, cells, ""), dtype=object).astype(str)
        hit, new = rewrite(text)
        hit = hit & is_text
        if hit.any():
            cells = cells.copy()
            cells[hit] = new[hit].to_numpy(dtype=object)
            series = pd.Series(cells, index=out.index, dtype=object)
            out[column] = series.astype(out[column].dtype) if keep_dtype else series
    return out


def _add_guard(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    return _needs_guard(text), "'" + text


def _remove_guard(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    # Exactly the cells the guard made: an apostrophe before something the guard guards.
    guarded = text.str.startswith("'").to_numpy(dtype=bool) & _needs_guard(text.str.slice(1))
    return guarded, text.str.slice(1)


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a copy whose text cells cannot be read as formulas by a spreadsheet.

    >>> neutralize_formulas(pd.DataFrame({"x": ["=1+2", "-99", "ok", "@cmd", "'=x"]}))["x"].tolist()
    ["'=1+2", '-99', 'ok', "'@cmd", "''=x"]
    """
    return _rewrite_text_cells(frame, _add_guard, keep_dtype=False)


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralize_formulas`: the original text of every guarded cell.

    >>> restore_formulas(pd.DataFrame({"x": ["'=1+2", "-99", "'ok", "'@cmd", "''=x"]}))["x"].tolist()
    ['=1+2', '-99', "'ok", '@cmd', "'=x"]
    """
    return _rewrite_text_cells(frame, _remove_guard, keep_dtype=True)


def read_csv(path: str | Path, **options: Any) -> pd.DataFrame:
    """Read a table berdaya wrote (``storage.write_csv``) with the original text of every cell.

    Use it for berdaya's own tables only: a user's file has no guard to remove. ``options`` go
    to :func:`pandas.read_csv`.
    """
    return restore_formulas(pd.read_csv(path, **options))
