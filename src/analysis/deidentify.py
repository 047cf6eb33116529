"""De-identification: what happens before anything is written to ``data/processed``.

Direct identifiers (names, phones, NIK, GPS, ...) are dropped. The household id that links the
rounds is replaced by a keyed hash (HMAC-SHA256), so the same household gets the same
pseudonym in both rounds while nobody without the key can recompute it from a NIK or a
guessable id. The key never lives in the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from analysis.codebook import Codebook, Variable, looks_personal
from analysis.errors import StudyError
from analysis.study import Study

GpsRule = Literal["drop", "village"]
GPS_RULES: tuple[str, ...] = get_args(GpsRule)

KEY_ENV = "BERDAYA_PSEUDONYM_KEY"
DEFAULT_KEY_FILE = Path("~/.config/berdaya/pseudonym.key")


@dataclass(frozen=True)
class PseudonymKey:
    """The secret for pseudonyms, and where it came from (for the run record, never the value)."""

    secret: bytes
    source: str


def resolve_key(study: Study, *, create: bool = True) -> PseudonymKey:
    """Find the pseudonymization key.

    The order is: the ``BERDAYA_PSEUDONYM_KEY`` environment variable; the study's
    ``pseudonym_key`` (only for demo or public data, where it is documented); the study's
    ``pseudonym_key_file``; then ``~/.config/berdaya/pseudonym.key``, created with a random key
    on first use so that a minimal study runs without set-up.

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
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return PseudonymKey(path.read_text().strip().encode(), f"user key file {path}")


def pseudonymize(ids: pd.Series, *, key: PseudonymKey) -> pd.Series:
    """Replace each id by the first 16 hex digits of HMAC-SHA256(key, id).

    Missing ids stay missing. The same id always gives the same pseudonym under one key.
    """
    cache: dict[str, str] = {}

    def one(value: object) -> object:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return None
        text = str(value)
        if text not in cache:
            cache[text] = hmac.new(key.secret, text.encode(), hashlib.sha256).hexdigest()[:16]
        return cache[text]

    return ids.map(one).astype(object)


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
    (:func:`suspected_personal`).
    """
    hashed = [v.name for v in codebook.by_role("household_id")]
    dropped: list[str] = [f"{name}_raw" for name in hashed]
    suspected = set(suspected_personal(codebook))
    for variable in codebook.variables:
        if variable.name in hashed:
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
        desa centroid is ever produced (bad-inputs section 2.5).
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
