"""De-identification: what happens before anything is written to ``data/processed``.

Direct identifiers (names, phones, NIK, GPS, ...) are dropped. The household id that links the
rounds is replaced by a keyed hash (HMAC-SHA256), so the same household gets the same
pseudonym in both rounds while nobody without the key can recompute it from a NIK or a
guessable id. The key never lives in the repository.

Personal data no column flag announces is looked for in the text columns that are kept: NIK/KK
numbers, phone numbers and the names of the survey's enumerators and respondents typed into an
"other, specify" answer or a note are masked inside the cell (:func:`scan_text_columns`), and
counted per column for the cleaning log, never shown.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from analysis.errors import StudyError
from analysis.inputs.codebook import Codebook, Variable, looks_personal
from analysis.inputs.study import Study
from analysis.shared.masking import KINDS, KnownNames, mask_personal_series
from analysis.shared.pseudonyms import PseudonymKey, id_pseudonyms, pseudonymize
from analysis.shared.run_warnings import RunWarning

GpsRule = Literal["drop", "village"]

GPS_RULES: tuple[str, ...] = get_args(GpsRule)

KEY_ENV = "BERDAYA_PSEUDONYM_KEY"

DEFAULT_KEY_FILE = Path("~/.config/berdaya/pseudonym.key")

def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr)

def resolve_key(
    study: Study, *, create: bool = True, announce: Callable[[str], None] = _to_stderr
) -> PseudonymKey:
    """Find the pseudonymization key.

    The order is: the ``BERDAYA_PSEUDONYM_KEY`` environment variable; the study's
    ``pseudonym_key`` (only for demo or public data, where it is documented); the study's
    ``pseudonym_key_file``; then ``~/.config/berdaya/pseudonym.key``, created with a random key
    on first use so that a minimal study runs without set-up.

    Parameters
    ----------
    study
        The study.
    create
        Create the user key file when no other key is given and it does not exist yet.
    announce
        Told, in one line, when the key file is created: where it is and that it must be kept
        (a lost key means the next round's households cannot be linked to this one's).

    Raises
    ------
    StudyError
        When ``pseudonym_key_file`` is given but missing or empty.
    """
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return PseudonymKey(from_env.encode(), f"environment variable {KEY_ENV}")
    if study.pseudonym_key:
        return PseudonymKey(study.pseudonym_key.encode(), "study file (documented demo key)")
    if study.pseudonym_key_file is not None:
        path = study.pseudonym_key_file.expanduser()
        if not path.is_file() or not path.read_text().strip():
            raise StudyError(
                f"pseudonym key file {path} is missing or empty. Create it outside the repository "
                f"(for example: python -c 'import secrets; print(secrets.token_hex(32))' > {path}) "
                f"or set {KEY_ENV}"
            )
        return PseudonymKey(path.read_text().strip().encode(), f"key file {path.name}")
    path = DEFAULT_KEY_FILE.expanduser()
    if not path.is_file():
        if not create:
            raise StudyError(f"no pseudonym key: set {KEY_ENV} or `pseudonym_key_file`")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, readable by the owner only from the start, so
        # a second process never reads half a key and nobody else ever reads it.
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(partial, path)  # fails if another process created the key meanwhile
            created = True
        except FileExistsError:
            created = False
        except OSError:  # a file system without hard links: a plain rename then
            created = not path.exists()
            if created:
                os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        if created:
            announce(
                f"note: created the pseudonymization key {path}; it is needed to link future rounds "
                "of this study to the same households: keep it safe and back it up (without it, "
                "the next round's pseudonyms cannot be matched to this one's)"
            )
    return PseudonymKey(path.read_text().strip().encode(), f"user key file {path}")

def suspected_personal(codebook: Codebook) -> list[str]:
    """Variables not flagged ``pii`` whose name or source looks personal (names, phones, GPS, ...).

    They are treated as personal data unless the codebook says ``pii: no``: a forgotten flag
    must not leak a phone number (case 44).
    """
    found = []
    for variable in codebook.variables:
        if variable.pii or variable.pii_no or variable.role in ("household_id", "submission_id", "village"):
            continue
        if any(looks_personal(text) for text in (variable.name, *variable.sources.values())):
            found.append(variable.name)
    return found

def _companions(variable: Variable) -> list[str]:
    """Columns cleaning derives from a variable: raw text, missing reasons, select_multiple dummies."""
    names = [f"{variable.name}_raw", f"{variable.name}_missing"]
    if variable.type == "select_multiple":
        names += [variable.dummy_name(c) for c in variable.categories]
    return names

def personal_columns(codebook: Codebook, study: Study) -> tuple[list[str], list[str]]:
    """Split the codebook's personal-data variables into (to hash, to drop).

    The household id is always hashed; other ``id``-typed personal variables are hashed too;
    every other personal variable is dropped, with the columns derived from it (``<name>_raw``,
    select_multiple dummies).  A hashed id's raw text (``<name>_raw``) is dropped as well.
    Variables that look personal but are not flagged count as personal
    (:func:`suspected_personal`).  An ``enumerator`` column not flagged either way holds
    people's names: it is hashed, so that results by enumerator stay possible without them.
    """
    hashed = [v.name for v in codebook.by_role("household_id")]
    dropped: list[str] = [f"{name}_raw" for name in hashed]
    suspected = set(suspected_personal(codebook))
    for variable in codebook.variables:
        if variable.name in hashed:
            continue
        if variable.role == "enumerator" and not (
            variable.pii or variable.pii_no or variable.name in study.pii_columns
        ):
            hashed.append(variable.name)
            continue
        if variable.pii or variable.name in study.pii_columns or variable.name in suspected:
            if variable.type == "id":
                hashed.append(variable.name)
                dropped.append(f"{variable.name}_raw")
            else:
                dropped += [variable.name, *_companions(variable)]
    return hashed, dropped

def deidentify(
    frame: pd.DataFrame, *, hashed: Iterable[str], dropped: Iterable[str], key: PseudonymKey
) -> pd.DataFrame:
    """Return a copy of ``frame`` with personal columns dropped and ids pseudonymized."""
    out = frame.drop(columns=[c for c in dropped if c in frame.columns])
    for column in hashed:
        if column in out.columns:
            out[column] = pseudonymize(out[column], key=key)
    return out

def coarsen_gps(
    frame: pd.DataFrame,
    *,
    latitude: str,
    longitude: str,
    village: str | None,
    how: GpsRule = "drop",
    digits: int = 3,
) -> pd.DataFrame:
    """Replace household GPS points by the village centroid, or drop them.

    Parameters
    ----------
    frame
        One round's data.
    latitude, longitude
        The GPS columns (numbers or text holding numbers).
    village
        The village column; required for ``how="village"``.
    how
        ``drop``: remove the points.  ``village``: add ``village_latitude`` and
        ``village_longitude``, the mean point of the village's households rounded to ``digits``
        decimals (3 decimals is about 100 m), and remove the points.  No map finer than the
        desa centroid is ever produced (docs/bad-inputs.md section 2.5).
    digits
        Decimals kept in the centroid.

    Returns
    -------
    pandas.DataFrame
        A copy without the household points.

    Raises
    ------
    ValueError
        If ``how`` is unknown, or ``village`` is missing for ``how="village"``.
    """
    if how not in GPS_RULES:
        raise ValueError(f"how={how!r}: expecting one of {', '.join(GPS_RULES)}")
    out = frame.drop(columns=[c for c in (latitude, longitude) if c in frame.columns])
    if how == "drop" or latitude not in frame.columns or longitude not in frame.columns:
        return out
    if village is None or village not in frame.columns:
        raise ValueError("coarsening GPS to the village needs the village column")
    points = pd.DataFrame(
        {
            "village": frame[village].to_numpy(),
            "lat": pd.to_numeric(frame[latitude], errors="coerce").to_numpy(),
            "lon": pd.to_numeric(frame[longitude], errors="coerce").to_numpy(),
        }
    )
    centre = points.groupby("village", dropna=True)[["lat", "lon"]].mean().round(digits)
    keys = frame[village].to_numpy()
    out["village_latitude"] = pd.Series(keys).map(centre["lat"]).to_numpy(dtype=np.float64, na_value=np.nan)
    out["village_longitude"] = pd.Series(keys).map(centre["lon"]).to_numpy(dtype=np.float64, na_value=np.nan)
    return out

# Roles whose values are codes, not free text: scanning them would read a village code
# (6271010001, Kalimantan Tengah) as a phone number.
_CODE_ROLES = ("household_id", "submission_id", "village", "cluster", "form_version", "validation_status")

def text_columns(
    frame: pd.DataFrame, codebook: Codebook, *, hashed: Iterable[str], dropped: Iterable[str]
) -> list[str]:
    """The columns of ``frame`` the personal-data text scan reads.

    Every text column that is kept as it is: text variables, categories without a list of
    choices, and the text as typed next to a parsed number or date (``<name>_raw``).  Ids,
    codes, closed categories, dates, numbers, the missing-value reasons berdaya writes
    (``<name>_missing``) and columns already hashed or dropped are not read.
    """
    skip = set(hashed) | set(dropped)
    found = []
    for column in frame.columns:
        if column in skip or column.startswith("_") or column.endswith("_missing"):
            continue
        values = frame[column]
        if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)):
            continue
        base = column.removesuffix("_raw") if column.endswith("_raw") else column
        if base in skip:
            continue
        variable = codebook.get(base) if base in codebook else None
        if variable is not None and column == base:
            if variable.role in _CODE_ROLES or variable.type in ("id", "date", "select_multiple"):
                continue
            if variable.type == "category" and variable.categories:
                continue
        found.append(column)
    return found

def known_names(frames: Iterable[pd.DataFrame], codebook: Codebook, *, dropped: Iterable[str]) -> KnownNames:
    """Names of people the survey knows, to look for in free text.

    The values of the ``enumerator`` column and of the personal text columns that are dropped
    (names, addresses), read before de-identification.  A value shared by many rows of a
    personal column other than the enumerator's ("tidak tahu", "-") is a placeholder, not a
    name, and is left out.
    """
    dropped_set = set(dropped)
    enumerators = {v.name for v in codebook.by_role("enumerator")}
    # Free-typed values only: a closed category's choices (a religion, say) are words, not names.
    personal = {
        v.name
        for v in codebook.variables
        if v.name in dropped_set
        and (v.type == "text" or (v.type == "category" and not v.categories))
        and v.name not in enumerators
    }
    values: list[object] = []
    for frame in frames:
        for column in enumerators & set(frame.columns):
            values += frame[column].dropna().unique().tolist()
        for column in personal & set(frame.columns):
            counts = frame[column].dropna().astype(str).value_counts()
            limit = max(5, len(frame) // 100)
            values += counts.index[counts <= limit].tolist()
    return KnownNames.from_values(values)

@dataclass(frozen=True)
class TextScan:
    """What :func:`scan_text_columns` masked.

    Attributes
    ----------
    frames
        The scanned frames, in the order given, with personal data masked inside the cells.
    counts
        Per column, the cells masked per kind of personal data (only columns with any).
    kept
        Columns of ``keep_text_columns`` that were not scanned.
    """

    frames: tuple[pd.DataFrame, ...]
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    kept: tuple[str, ...] = ()

    def note(self) -> str | None:
        """One line for the cleaning log, naming columns and counts, never values."""
        if not self.counts:
            return None
        parts = []
        for column, by_kind in self.counts.items():
            found = [(kind, n) for kind, n in by_kind.items() if n]
            pieces = [
                f"{n} {'cell' if n == 1 else 'cells'} with a {kind}" if i == 0 else f"{n} with a {kind}"
                for i, (kind, n) in enumerate(found)
            ]
            parts.append(f"{column} ({', '.join(pieces)})")
        return (
            "free text held personal data, masked inside the cells: "
            + "; ".join(parts)
            + ". To keep a column as typed, list it under keep_text_columns in the study file"
        )

    def warning(self, stage: str) -> RunWarning | None:
        """The run warning ``personal_text``, or None when nothing was found."""
        note = self.note()
        return None if note is None else RunWarning(stage, "personal_text", note)

def scan_text_columns(
    frames: Iterable[pd.DataFrame],
    *,
    columns: Iterable[str],
    names: KnownNames,
    keep: Iterable[str] = (),
    renamed: Sequence[Callable[[str], str] | None] = (),
) -> TextScan:
    """Mask NIK/KK numbers, phone numbers and known names inside the text columns of frames.

    Parameters
    ----------
    frames
        De-identified frames with the same variables (a round's clean rows and quarantined rows).
    columns
        The columns to read (:func:`text_columns`), by variable name.
    names
        Names to look for (:func:`known_names`).
    keep
        Columns the study keeps as typed (``keep_text_columns``): not scanned.
    renamed
        Per frame, the name a variable has in it when that differs (the quarantine file
        calls a variable ``reason`` ``var_reason``); None or absent: the variable's name.

    Returns
    -------
    TextScan
        The masked frames, and the count of masked cells per column and kind.
    """
    keep_set = set(keep)
    scanned = [c for c in columns if c not in keep_set]
    counts: dict[str, dict[str, int]] = {}
    out = []
    for i, frame in enumerate(frames):
        rename = renamed[i] if i < len(renamed) else None
        masked = frame.copy()
        for column in scanned:
            name = column if rename is None else rename(column)
            if name not in masked.columns:
                continue
            masked[name], found = mask_personal_series(masked[name], names=names)
            total = counts.setdefault(column, dict.fromkeys(KINDS, 0))
            for kind, n in found.items():
                total[kind] += n
        out.append(masked)
    hits = {c: n for c, n in counts.items() if any(n.values())}
    kept = tuple(c for c in columns if c in keep_set)
    return TextScan(frames=tuple(out), counts=hits, kept=kept)

@dataclass(frozen=True)
class ScreenedRound:
    """A round's de-identified outputs after the free-text screen (:func:`screen_round`)."""

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    changes: pd.DataFrame
    duplicates: pd.DataFrame
    scan: TextScan

    def warnings(self, stage: str) -> list[RunWarning]:
        """The run warnings of the screen (``personal_text``), for the stage's warning file."""
        warning = self.scan.warning(stage)
        return [] if warning is None else [warning]

def screen_round(
    *,
    clean: pd.DataFrame,
    quarantine: pd.DataFrame,
    changes: pd.DataFrame,
    duplicates: pd.DataFrame,
    identified: Iterable[pd.DataFrame],
    codebook: Codebook,
    hashed: Iterable[str],
    dropped: Iterable[str],
    keep: Iterable[str],
    key: PseudonymKey,
) -> ScreenedRound:
    """Screen a round's de-identified outputs for personal data in free text.

    Parameters
    ----------
    clean, quarantine
        The de-identified clean and quarantined rows: text columns are scanned
        (:func:`scan_text_columns`).
    changes
        The cleaning log: ``old`` and ``new`` of the scanned columns are masked the same way.
    duplicates
        The de-identified duplicates report: personal data in ``values`` is masked, and a
        decision's ``reason`` that holds any is removed (raw household ids in it become their
        pseudonyms first).
    identified
        The same rows before de-identification, where the names to look for are read
        (:func:`known_names`) and the raw household ids.
    codebook, hashed, dropped
        The round's codebook and its personal columns (:func:`personal_columns`).
    keep
        The study's ``keep_text_columns``.
    key
        The pseudonymization key.
    """
    from analysis.clean.round import quarantine_column
    from analysis.shared.masking import mask_personal, screen_reason

    hashed, dropped = list(hashed), list(dropped)
    identified = list(identified)
    names = known_names(identified, codebook, dropped=dropped)
    columns = text_columns(clean, codebook, hashed=hashed, dropped=dropped)
    scan = scan_text_columns(
        (clean, quarantine), columns=columns, names=names, keep=keep, renamed=(None, quarantine_column)
    )
    scanned = [c for c in columns if c not in scan.kept]

    changes = changes.copy()
    rows = changes["column"].isin(scanned).to_numpy() if len(changes) else np.zeros(0, dtype=bool)
    for part in ("old", "new"):
        if rows.any():
            cells = changes[part].to_numpy(dtype=object).copy()
            cells[rows] = [
                c if not isinstance(c, str) else mask_personal(c, names=names)[0] for c in cells[rows]
            ]
            changes[part] = pd.Series(cells, index=changes.index, dtype=object)

    duplicates = duplicates.copy()
    if len(duplicates):
        # Only an id written in a reason can be replaced there: hashing every id of a national
        # round for a handful of reasons took seconds. An id not in the text is never looked up.
        reasons = duplicates["reason"] if "reason" in duplicates.columns else pd.Series(dtype=object)
        written = "\n".join(r for r in reasons.to_numpy(dtype=object) if isinstance(r, str))
        ids: list[object] = []
        for frame in identified:
            for variable in codebook.by_role("household_id"):
                if variable.name in frame.columns:
                    ids += [i for i in frame[variable.name].dropna().astype(str).tolist() if i in written]
        pseudonyms = id_pseudonyms(ids, key=key)
        if "values" in duplicates.columns:
            duplicates["values"] = mask_personal_series(duplicates["values"], names=names)[0]
        if "reason" in duplicates.columns:
            duplicates["reason"] = [
                screen_reason(r, names=names, pseudonyms=pseudonyms) if isinstance(r, str) else r
                for r in duplicates["reason"].to_numpy(dtype=object)
            ]
    clean, quarantine = scan.frames
    return ScreenedRound(
        clean=clean, quarantine=quarantine, changes=changes, duplicates=duplicates, scan=scan
    )
