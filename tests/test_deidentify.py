"""De-identification: keyed pseudonyms, dropped identifiers, and where the key comes from."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pandas as pd
import pytest

from analysis.deidentify import KEY_ENV, PseudonymKey, deidentify, pseudonymize, resolve_key
from analysis.errors import StudyError
from analysis.study import load_study


def test_pseudonym_is_hmac_sha256_of_the_id() -> None:
    key = PseudonymKey(b"secret", "test")
    got = pseudonymize(pd.Series(["00123", None, "00123"]), key=key)
    expected = hmac.new(b"secret", b"00123", hashlib.sha256).hexdigest()[:16]
    assert got.iloc[0] == got.iloc[2] == expected
    assert pd.isna(got.iloc[1])  # a missing id stays missing
    # another key gives another pseudonym, so ids cannot be recomputed without it
    assert pseudonymize(pd.Series(["00123"]), key=PseudonymKey(b"other", "t")).iloc[0] != expected


def test_deidentify_drops_and_hashes() -> None:
    frame = pd.DataFrame(
        {"hhid": ["1", "2"], "nama": ["Siti", "Budi"], "nik": ["9401011201900013", None], "y": [1, 2]}
    )
    out = deidentify(frame, hashed=["hhid", "nik"], dropped=["nama"], key=PseudonymKey(b"k", "t"))
    assert list(out.columns) == ["hhid", "nik", "y"]
    assert "Siti" not in out.to_string() and "9401011201900013" not in out.to_string()
    assert frame.loc[0, "nama"] == "Siti"  # the input is not modified


def _study(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "b.csv").write_text("hhid,treat,y\n1,1,2\n")
    (tmp_path / "f.csv").write_text("hhid,treat,y\n1,1,3\n")
    (tmp_path / "study.yml").write_text(
        "rounds: {baseline: b.csv, followup: f.csv}\nid: hhid\ntreatment: treat\noutcomes: [y]\n" + extra
    )
    return tmp_path / "study.yml"


def test_key_order_environment_then_study_then_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "from-env")
    study = load_study(_study(tmp_path, "pseudonym_key: demo-key\n"))
    assert resolve_key(study).secret == b"from-env"
    monkeypatch.delenv(KEY_ENV)
    assert resolve_key(study).secret == b"demo-key"


def test_missing_key_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    study = load_study(_study(tmp_path, "pseudonym_key_file: /nonexistent/berdaya.key\n"))
    with pytest.raises(StudyError, match="pseudonym key file .* is missing"):
        resolve_key(study)


def test_default_key_is_created_outside_the_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    study = load_study(_study(tmp_path))
    first = resolve_key(study)
    assert (tmp_path / "home/.config/berdaya/pseudonym.key").is_file()
    assert resolve_key(study).secret == first.secret  # stable across runs
