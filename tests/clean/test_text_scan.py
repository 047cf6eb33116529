"""Personal data in free text: NIK/KK numbers, phone numbers and known names are masked in the cells.

A small study (a codebook with an "other, specify" column, a comments column kept on purpose,
an enumerator column without a `pii` flag and a respondent-name column) goes through the clean
stage in-process; the processed files are then read back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.shared.masking import MASK, REMOVED, KnownNames, find_personal, mask_personal, screen_reason
from analysis.stages.clean import clean_stage

PHONE = "0812-3456-7890"
KK = "3201 0112 3456 0001"
OTHER_PHONE = "081298765432"

CODEBOOK = """name,type,source_baseline,source_followup,role,pii,categories
hhid,id,hhid,hhid,household_id,,
village,id,desa,desa,village,,
treat,number,treat,treat,treatment,,
y,number,y,y,,,
enumerator,text,enum,enum,enumerator,,
respondent_name,text,nama,nama,,yes,
other_specify,text,lain,lain,,,
comments,text,catatan,catatan,,,
"""

BASELINE = [
    # hhid, desa, treat, y, enum, nama, lain, catatan
    ("HH-1001", "0101", 1, 5, "Budi Santoso", "Siti Aminah", f"beli dari Siti Aminah {PHONE}", ""),
    ("HH-1002", "0101", 1, 6, "Budi Santoso", "Wayan Sudirta", f" KK {KK}", f"hp {OTHER_PHONE}"),
    ("HH-1003", "0102", 0, 4, "Dewi Lestari", "Rina Marlina", "dibantu budi santoso", ""),
    ("HH-1004", "0102", 0, 3, "Dewi Lestari", "Agus Salim", "sapi 2 ekor, Rp 628.000.000", ""),
    # y cannot be read: the row is quarantined, and the quarantine file is scanned too
    ("HH-1005", "0102", 0, "lima", "Dewi Lestari", "Tuti Alawiyah", f"tel {OTHER_PHONE}", ""),
]


def _write_study(folder: Path, *, extra: str = "", decisions: str | None = None) -> Path:
    columns = ["hhid", "desa", "treat", "y", "enum", "nama", "lain", "catatan"]
    frame = pd.DataFrame(BASELINE, columns=columns)
    frame.to_csv(folder / "baseline.csv", index=False)
    frame.to_csv(folder / "followup.csv", index=False)
    (folder / "codebook.csv").write_text(CODEBOOK)
    text = (
        "name: text scan\n"
        "rounds: {baseline: baseline.csv, followup: followup.csv}\n"
        "codebook: codebook.csv\nid: hhid\ntreatment: treat\nvillage: village\n"
        "outcomes: [{name: y, family: income}]\n"
        "pseudonym_key: test-key-not-secret\n" + extra
    )
    if decisions is not None:
        (folder / "decisions.csv").write_text(decisions)
        text += "decisions: decisions.csv\n"
    (folder / "study.yml").write_text(text)
    return folder / "study.yml"


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("text_scan")
    study = _write_study(folder, extra="keep_text_columns: [comments]\n")
    processed = folder / "processed"
    clean_stage(study, "baseline", processed)
    return processed


def test_phone_kk_and_names_in_an_other_specify_answer_are_masked_inside_the_cell(cleaned: Path) -> None:
    clean = pd.read_parquet(cleaned / "baseline_clean.parquet")
    other = clean["other_specify"].tolist()
    assert other == [
        f"beli dari {MASK} {MASK}",
        f"KK {MASK}",
        f"dibantu {MASK}",
        "sapi 2 ekor, Rp 628.000.000",  # an amount in thousands is not a phone number
    ]


def test_the_quarantined_rows_are_masked_too(cleaned: Path) -> None:
    quarantine = pd.read_csv(cleaned / "baseline_quarantine.csv", dtype=str, keep_default_na=False)
    assert quarantine["other_specify"].tolist() == [f"tel {MASK}"]


def test_keep_text_columns_keeps_a_column_as_typed(cleaned: Path) -> None:
    clean = pd.read_parquet(cleaned / "baseline_clean.parquet")
    assert f"hp {OTHER_PHONE}" in clean["comments"].tolist()


def test_an_unflagged_enumerator_column_is_pseudonymized(cleaned: Path) -> None:
    clean = pd.read_parquet(cleaned / "baseline_clean.parquet")
    assert clean["enumerator"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert clean["enumerator"].nunique() == 2  # still one code per enumerator
    summary = json.loads((cleaned / "baseline_summary.json").read_text())
    assert "enumerator" in summary["hashed_columns"]


def test_the_log_and_the_run_warning_give_counts_per_column_and_never_the_values(cleaned: Path) -> None:
    summary = json.loads((cleaned / "baseline_summary.json").read_text())
    notes = [n for n in summary["notes"] if "free text" in n]
    assert len(notes) == 1
    assert "other_specify (1 cell with a NIK/KK number, 2 with a phone number, 2 with a name)" in notes[0]
    assert "keep_text_columns" in notes[0] and "comments" not in notes[0]
    warnings = json.loads((cleaned / "baseline_warnings.json").read_text())
    assert [(w["stage"], w["code"]) for w in warnings] == [("clean_baseline", "personal_text")]
    everything = "\n".join(p.read_text() for p in cleaned.glob("*") if p.suffix in (".csv", ".json"))
    for value in (PHONE, KK, "Siti Aminah", "Budi Santoso", "budi santoso", "Dewi Lestari", "HH-1001"):
        assert value not in everything, value


def test_the_change_log_masks_a_scanned_column_too(cleaned: Path) -> None:
    changes = pd.read_csv(cleaned / "baseline_changes.csv", dtype=str, keep_default_na=False)
    trimmed = changes.loc[changes["column"] == "other_specify"]
    assert len(trimmed) == 1  # the leading space of row 3 was removed
    assert trimmed[["old", "new"]].to_numpy().tolist() == [[f" KK {MASK}", f"KK {MASK}"]]


def test_a_decision_reason_with_personal_data_is_removed_and_raw_ids_become_pseudonyms(
    tmp_path: Path,
) -> None:
    rows = BASELINE + [("HH-1001", "0101", 1, 9, "Budi Santoso", "Siti Aminah", "", "")]
    decisions = (
        "round,id,submission,row,action,new_id,reason\n"
        f"baseline,HH-1001,,2,keep,,confirmed with Siti Aminah by phone {PHONE}\n"
        "baseline,HH-1001,,7,drop,,second visit to HH-1001 by mistake\n"
    )
    study = _write_study(tmp_path, decisions=decisions)
    columns = ["hhid", "desa", "treat", "y", "enum", "nama", "lain", "catatan"]
    pd.DataFrame(rows, columns=columns).to_csv(tmp_path / "baseline.csv", index=False)
    clean_stage(study, "baseline", tmp_path / "processed")
    report = pd.read_csv(tmp_path / "processed" / "baseline_duplicates.csv", dtype=str, keep_default_na=False)
    reasons = dict(zip(report["action"], report["reason"], strict=True))
    assert reasons["keep"] == REMOVED
    pseudonym = report["hhid"].iloc[0]
    assert reasons["drop"] == f"second visit to {pseudonym} by mistake"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("+62 812-3456-7890", ["phone number"]),
        ("6281234567890", ["phone number"]),
        ("hp:081234567", ["phone number"]),
        ("(0812) 3456 7890", ["phone number"]),
        ("3201011234560001", ["NIK/KK number"]),
        ("NIK 32.01.01.123456.0001", ["NIK/KK number"]),
        ("Rp 625.000.000", []),
        ("1500000", []),
        ("0812345", []),  # too short for a phone number
        ("32010112345600011", []),  # 17 digits: neither
    ],
)
def test_find_personal_knows_indonesian_phone_and_nik_shapes(text: str, kinds: list[str]) -> None:
    assert [kind for *_, kind in find_personal(text)] == kinds


def test_known_names_match_whole_words_only() -> None:
    names = KnownNames.from_values(["Budi", "Ani", "-", "tidak ada nama"])
    assert mask_personal("Pak BUDI datang", names=names) == (f"Pak {MASK} datang", ("name",))
    assert mask_personal("budidaya ikan", names=names)[1] == ()  # part of a word
    assert mask_personal("Ani datang", names=names)[1] == ()  # too short to tell from a word
    assert screen_reason("no personal data here", names=names) == "no personal data here"
