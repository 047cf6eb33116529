"""Value labels of the village code in a Stata or SPSS export are the villages' names.

Without them a study with no village list showed its villages as 1, 10, 11. A village list
that gives names wins over the labels.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from analysis.inputs.codebook import codebook_from_study, village_labels
from analysis.inputs.readers import read_table
from analysis.inputs.study import load_study
from analysis.stages.clean import clean_stage
from analysis.stages.construct import construct_stage

NAMES = {1: "Sukamaju", 2: "Mekarsari", 3: "Cibodas", 10: "Tanjung Baru"}
#: A labelled code that is not a village: declared missing in the SPSS file.
UNKNOWN = {-99: "Tidak tahu"}


def write_rounds(folder: Path) -> None:
    """Baseline .dta, follow-up .sav; 4 villages × 5 households, the village code labelled."""
    codes = sorted(NAMES)
    frame = pd.DataFrame(
        {
            "hhid": [f"{c:02d}{h}" for c in codes for h in range(5)],
            "desa": [float(c) for c in codes for _ in range(5)],
            "treat": [float(i % 2) for i, _ in enumerate(codes) for _ in range(5)],
            "income": [100.0 + 3 * i + h for i, _ in enumerate(codes) for h in range(5)],
        }
    )
    pyreadstat.write_dta(frame, folder / "baseline.dta", variable_value_labels={"desa": NAMES})
    follow = frame.assign(income=frame["income"] + 5)
    pyreadstat.write_sav(
        follow,
        folder / "followup.sav",
        variable_value_labels={"desa": {**NAMES, **UNKNOWN}},
        missing_ranges={"desa": [-99]},
    )


def write_study(folder: Path, extra: str = "") -> Path:
    path = folder / "study.yml"
    path.write_text(
        "name: Labels\nrounds: {baseline: baseline.dta, followup: followup.sav}\n"
        "id: hhid\ntreatment: treat\nvillage: desa\npseudonym_key: test-key\n"
        + extra
        + "outcomes:\n  - {name: income}\n"
    )
    return path


def village_names(study: Path, processed: Path) -> dict[str, str]:
    for round_name in ("baseline", "followup"):
        clean_stage(study, round_name, processed)
    construct_stage(study, processed)
    panel = pd.read_parquet(processed / "panel.parquet")
    assert panel.groupby("village")["village_name"].nunique().eq(1).all()  # one name per village
    return panel.drop_duplicates("village").set_index("village")["village_name"].to_dict()


def test_village_names_come_from_the_value_labels(tmp_path: Path) -> None:
    write_rounds(tmp_path)
    names = village_names(write_study(tmp_path), tmp_path / "processed")
    assert names == {str(code): name for code, name in NAMES.items()}


@pytest.mark.parametrize("file", ["baseline.dta", "followup.sav"])
def test_labelled_missing_codes_are_not_villages(tmp_path: Path, file: str) -> None:
    write_rounds(tmp_path)
    study = load_study(write_study(tmp_path))
    table = read_table(tmp_path / file)
    round_name = "baseline" if file.endswith(".dta") else "followup"
    codebook = codebook_from_study(study, {round_name: list(table.frame.columns)})
    assert village_labels(table, codebook, round_name) == {str(c): n for c, n in NAMES.items()}


def test_a_village_list_with_names_wins_over_the_labels(tmp_path: Path) -> None:
    write_rounds(tmp_path)
    listed = {str(code): f"Desa {code}" for code in NAMES}
    pd.DataFrame({"desa": list(listed), "nama": list(listed.values())}).to_csv(
        tmp_path / "villages.csv", index=False
    )
    study = write_study(tmp_path, "villages: {file: villages.csv, id: desa, name: nama}\n")
    assert village_names(study, tmp_path / "processed") == listed
    # A list without names keeps the labels.
    study = write_study(tmp_path, "villages: {file: villages.csv, id: desa}\n")
    names = village_names(study, tmp_path / "processed2")
    assert names == {str(code): name for code, name in NAMES.items()}
