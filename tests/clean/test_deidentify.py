"""De-identification: keyed pseudonyms, dropped identifiers, and where the key comes from."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pandas as pd
import pytest

from analysis.clean.deidentify import KEY_ENV, deidentify, resolve_key
from analysis.errors import StudyError
from analysis.inputs.study import load_study
from analysis.shared.pseudonyms import PseudonymKey, pseudonymize


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


def test_creating_the_default_key_says_once_where_it_is_and_to_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    study = load_study(_study(tmp_path))
    said: list[str] = []
    first = resolve_key(study, announce=said.append)
    assert resolve_key(study, announce=said.append).secret == first.secret
    path = tmp_path / "home/.config/berdaya/pseudonym.key"
    assert len(said) == 1 and "\n" not in said[0]
    assert str(path) in said[0] and "link future rounds" in said[0] and "back it up" in said[0]
    assert path.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temporary file left


def test_an_enumerator_column_without_a_pii_flag_is_pseudonymized(tmp_path: Path) -> None:
    from analysis.clean.deidentify import personal_columns
    from analysis.inputs.codebook import read_codebook

    (tmp_path / "codebook.csv").write_text(
        "name,type,source_baseline,role,pii\n"
        "hhid,id,hhid,household_id,\n"
        "enumerator,text,enum,enumerator,\n"
        "supervisor,text,spv,,\n"
    )
    hashed, dropped = personal_columns(read_codebook(tmp_path / "codebook.csv"), load_study(_study(tmp_path)))
    assert hashed == ["hhid", "enumerator"] and "enumerator" not in dropped


def test_gps_points_become_village_centroids_or_are_dropped() -> None:
    from analysis.clean.deidentify import coarsen_gps

    frame = pd.DataFrame(
        {
            "desa": ["0101", "0101", "0102"],
            "lat": ["-7.210510", "-7.219763", "-7.100001"],
            "lon": [108.461864, 108.467339, 108.300000],
            "y": [1, 2, 3],
        }
    )
    coarse = coarsen_gps(frame, latitude="lat", longitude="lon", village="desa", how="village")
    assert list(coarse.columns) == ["desa", "y", "village_latitude", "village_longitude"]
    assert coarse["village_latitude"].tolist() == [-7.215, -7.215, -7.1]
    assert "-7.210510" not in coarse.to_csv()
    assert list(coarsen_gps(frame, latitude="lat", longitude="lon", village="desa").columns) == ["desa", "y"]
    with pytest.raises(ValueError, match="expecting one of drop, village"):
        coarsen_gps(frame, latitude="lat", longitude="lon", village="desa", how="jitter")  # type: ignore[arg-type]


def test_unflagged_personal_looking_variables_and_derived_columns_are_dropped(tmp_path: Path) -> None:
    from analysis.clean.deidentify import personal_columns, suspected_personal
    from analysis.inputs.codebook import read_codebook

    (tmp_path / "codebook.csv").write_text(
        "name,type,source_baseline,role,pii,categories\n"
        "hhid,id,hhid,household_id,,\n"
        "device,text,deviceid,,,\n"
        "village_name,text,nama_desa,,no,\n"
        "assets,select_multiple,aset,,yes,tv;motor\n"
        "nik,id,nik,,yes,\n"
    )
    codebook = read_codebook(tmp_path / "codebook.csv")
    assert suspected_personal(codebook) == ["device"]
    hashed, dropped = personal_columns(codebook, load_study(_study(tmp_path)))
    assert hashed == ["hhid", "nik"]
    assert {"device", "device_raw", "assets", "assets_tv", "assets_motor", "hhid_raw", "nik_raw"} <= set(
        dropped
    )
    assert "village_name" not in dropped  # `pii: no` keeps it
