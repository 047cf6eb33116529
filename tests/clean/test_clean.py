"""Cleaning one round: typed conversion, row states, and the accounting invariant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.clean.round import clean_round, mask_value
from analysis.errors import CodebookError
from analysis.inputs.codebook import read_codebook
from analysis.inputs.readers import read_table

CODEBOOK = """name,label_id,label_en,source_baseline,source_followup,type,unit,valid_min,valid_max,categories,recode,missing_codes,family,role,direction,pii
hhid,ID,Household id,hh/hhid,,id,,,,,,,,household_id,,
consent,Setuju,Consent,consent,,category,,,,0;1,ya=1; tidak=0,,,consent,,
size,Jumlah ART,Household size,hh/size,,integer,persons,1,30,,,,,household_size,,
wage,Upah,Wage,inc/wage,,money,Rp/month,0,,,,-99=refused; -98=dont_know; tidak tahu=dont_know,income,income_component,1,
plan,Perencanaan,Planning,p/plan,,category,,,,0;1,ya=1; tidak=0,,participation,ladder,1,
name,Nama,Name,resp/nama,,text,,,,,,,,,,yes
"""

ROWS = [
    # hhid ; consent ; size ; wage ; plan ; name ; _uuid
    ("00123", "ya", "4", "Rp 1.500.000", "ya", "Siti", "u1"),
    (" 00124", "ya", "3", "1,5 juta", "YA", "Budi", "u2"),
    ("00125", "ya", "2", "-99", "tidak", "Ani", "u3"),
    ("00126", "ya", "0", "500rb", "tidak", "Dewi", "u4"),  # out of range size
    ("00127", "ya", "5", "1,500", "ya", "Eko", "u5"),  # ambiguous money
    ("00128", "tidak", "", "", "", "Fajar", "u6"),  # no consent
    ("00129", "ya", "2", "750000", "mungkin", "Gita", "u7"),  # unknown choice
    ("00130", "ya", "2", "750000", "ya", "Hadi", "u8"),
    ("00130", "ya", "2", "800000", "ya", "Hadi", "u9"),  # same id, different content
    ("00123", "ya", "4", "Rp 1.500.000", "ya", "Siti", "u1"),  # exact duplicate submission
    ("", "ya", "2", "1000", "ya", "Ina", "u10"),  # no id
]


@pytest.fixture
def round_files(tmp_path: Path) -> tuple[Path, Path]:
    header = '"hh/hhid";"consent";"hh/size";"inc/wage";"p/plan";"resp/nama";"_uuid"'
    lines = [header] + [";".join(f'"{v}"' for v in row) for row in ROWS]
    raw = tmp_path / "baseline.csv"
    raw.write_text("\n".join(lines) + "\n", encoding="utf-8")
    codebook = tmp_path / "codebook.csv"
    codebook.write_text(CODEBOOK)
    return raw, codebook


def test_every_row_gets_exactly_one_state(round_files: tuple[Path, Path]) -> None:
    raw, codebook = round_files
    result = clean_round(read_table(raw), round_name="baseline", codebook=read_codebook(codebook))
    states = result.row_states.set_index("_row")
    assert len(states) == len(ROWS)  # n_raw
    counts = result.counts
    assert counts["raw"] == counts["clean"] + counts["quarantined"] + counts["excluded"]
    # spreadsheet rows: the header is row 1, so the first record is row 2
    expected = {
        2: ("clean", ""),
        3: ("clean", ""),
        4: ("clean", ""),
        5: ("quarantined", "out_of_range:size"),
        6: ("quarantined", "ambiguous_number:wage"),
        7: ("excluded", "no_consent"),
        8: ("quarantined", "unknown_choice:plan"),
        9: ("quarantined", "duplicate_id_conflict"),
        10: ("quarantined", "duplicate_id_conflict"),
        11: ("excluded", "duplicate_submission"),
        12: ("excluded", "no_valid_id"),
    }
    got = {row: (s.state, s.reason) for row, s in states.iterrows()}
    assert got == expected


def test_values_are_typed_and_ids_keep_leading_zeros(round_files: tuple[Path, Path]) -> None:
    raw, codebook = round_files
    result = clean_round(read_table(raw), round_name="baseline", codebook=read_codebook(codebook))
    clean = result.data.set_index("hhid")
    assert list(clean.index) == ["00123", "00124", "00125"]  # strings, zeros kept, space removed
    assert clean.loc["00123", "wage"] == 1_500_000
    assert clean.loc["00124", "wage"] == 1_500_000
    assert np.isnan(clean.loc["00125", "wage"])  # -99 = refused → missing, not -99
    assert clean["plan"].tolist() == [1.0, 1.0, 0.0]  # "YA" case-folded to the choice
    missing = result.missing.set_index(["variable", "reason"])["count"]
    assert missing[("wage", "refused")] == 1


def test_change_log_lists_changed_cells_and_masks_personal_ones(round_files: tuple[Path, Path]) -> None:
    raw, codebook = round_files
    result = clean_round(read_table(raw), round_name="baseline", codebook=read_codebook(codebook))
    log = result.changes
    money = log.loc[(log["column"] == "wage") & (log["rule"] == "number_parsed")]
    assert {"Rp 1.500.000", "1,5 juta"} <= set(money["old"])
    assert "1500000" in set(money["new"])
    assert set(log.loc[log["column"] == "hhid", "rule"]) == {"whitespace_removed"}
    assert ((log["column"] == "plan") & (log["old"] == "YA") & (log["rule"] == "case_folded")).any()


def test_quarantined_rows_are_kept_with_reasons(round_files: tuple[Path, Path]) -> None:
    raw, codebook = round_files
    result = clean_round(read_table(raw), round_name="baseline", codebook=read_codebook(codebook))
    assert len(result.quarantine) == result.counts["quarantined"]
    assert set(result.quarantine["reason"]) >= {"out_of_range:size", "duplicate_id_conflict"}


def test_a_codebook_column_missing_from_the_file_fails_closed(round_files: tuple[Path, Path]) -> None:
    raw, codebook = round_files
    codebook.write_text(codebook.read_text().replace("inc/wage", "inc/upah"))
    with pytest.raises(CodebookError, match=r"inc/upah \(wage\)"):
        clean_round(read_table(raw), round_name="baseline", codebook=read_codebook(codebook))


def test_mask_value_hides_personal_values() -> None:
    assert mask_value("9401011201900013") == "94************13"
    assert "Siti" not in mask_value("Siti")


def test_row_accounting_holds_on_the_demo(tmp_path: Path) -> None:
    from analysis.demo.survey import write_demo

    write_demo(tmp_path, villages=4, households=25, seed=3)
    codebook = read_codebook(tmp_path / "codebook.csv")
    for round_name, file in (("baseline", "baseline_2023.csv"), ("followup", "followup_2025.csv")):
        table = read_table(tmp_path / file)
        result = clean_round(table, round_name=round_name, codebook=codebook)
        counts = result.counts
        assert (
            counts["raw"] == len(table.frame) == counts["clean"] + counts["quarantined"] + counts["excluded"]
        )
        assert len(result.data) == counts["clean"]
        assert isinstance(result.data, pd.DataFrame)
