"""Keyed pseudonyms for household ids (HMAC-SHA256).

The same household gets the same pseudonym in every round, and nobody without the key can
recompute one from a guessable id.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class PseudonymKey:
    """The secret for pseudonyms, and where it came from (for the run record, never the value)."""

    secret: bytes
    source: str


def pseudonymize(ids: pd.Series, *, key: PseudonymKey) -> pd.Series:
    """Replace each id by the first 16 hex digits of HMAC-SHA256(key, id).

    Missing ids stay missing. The same id always gives the same pseudonym under one key.
    """
    cache: dict[str, str] = {}
    # Copies of the keyed state: keying HMAC anew for each of a national round's ids cost more.
    keyed = hmac.new(key.secret, digestmod=hashlib.sha256)

    def one(value: object) -> object:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return None
        text = str(value)
        if text not in cache:
            digest = keyed.copy()
            digest.update(text.encode())
            cache[text] = digest.hexdigest()[:16]
        return cache[text]

    return ids.map(one).astype(object)


def id_pseudonyms(ids: Iterable[object], *, key: PseudonymKey) -> dict[str, str]:
    """Raw id -> pseudonym, for ids written in free text and in hand-written instruction files."""
    unique = pd.Series(sorted({str(i) for i in ids if isinstance(i, str) and i != ""}), dtype=object)
    return dict(zip(unique, pseudonymize(unique, key=key), strict=True))
