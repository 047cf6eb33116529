"""The clean and construct stages on the bundled demo: the files they write and what is in them."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import DEMO_STUDY
from analysis.inputs.study import load_study
from analysis.stages import construct_stage


@pytest.fixture
def processed(demo_stages) -> Path:
    """The bundled demo's processed folder, from the session's in-process stages (read-only)."""
    return demo_stages.processed


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_every_round_writes_its_logs(processed: Path) -> None:
    for round_name in ("baseline", "followup"):
        for kind in (
            "quarantine",
            "row_states",
            "changes",
            "missing",
            "quality",
            "validation",
            "duplicates",
            "columns",
        ):
            assert (processed / f"{round_name}_{kind}.csv").is_file(), kind
        summary = json.loads((processed / f"{round_name}_summary.json").read_text())
        counts = summary["counts"]
        assert counts["raw"] == counts["clean"] + counts["quarantined"] + counts["excluded"]
        states = read(processed / f"{round_name}_row_states.csv")
        assert len(states) == counts["raw"]
        reasons = states.loc[states["state"] != "clean"].groupby(["state", "reason"]).size()
        assert {f"{s}:{r}": int(n) for (s, r), n in reasons.items()} == summary["reasons"]


def test_duplicates_report_lists_the_conflict_with_pseudonyms(processed: Path) -> None:
    report = read(processed / "baseline_duplicates.csv")
    assert len(report) == 2 and report["group"].nunique() == 1  # the demo's one conflicting id
    assert report["hhid"].str.fullmatch(r"[0-9a-f]{16}").all() and report["hhid"].nunique() == 1
    assert set(report["state"]) == {"quarantined"} and report["action"].eq("").all()
    assert "income" in report["differs"].iloc[0]
    raw = pd.read_csv(DEMO_STUDY.parent / "baseline_2023.csv", sep=";", dtype=str, keep_default_na=False)
    assert not set(raw["hh/hhid"].str.strip()) & set(report["hhid"])
    assert read(processed / "followup_duplicates.csv").empty


def test_the_demo_schema_is_fully_mapped(processed: Path) -> None:
    diff = read(processed / "schema_diff.csv").set_index("variable")
    assert "unmapped" not in set(diff["status"])
    assert diff.loc["hhid", "status"] == "renamed" and diff.loc["clean_water", "status"] == "unchanged"
    assert diff.loc["programme_participation", "status"] == "added"


def test_money_keeps_its_raw_text_and_the_change_log_masks_personal_values(processed: Path) -> None:
    clean = pd.read_parquet(processed / "baseline_clean.parquet")
    typed = clean.loc[
        clean["income_wage_raw"].notna()
        & (clean["income_wage_raw"] != clean["income_wage"].astype("Int64").astype(str))
    ]
    assert len(typed) > 0  # "Rp 1.500.000" next to 1500000
    for column in ("respondent_name", "phone", "gps", "gps_latitude", "nik_raw", "hhid_raw"):
        assert column not in clean.columns
    changes = read(processed / "baseline_changes.csv")
    masked = changes.loc[changes["column"].isin(["hhid", "nik", "phone"])]
    assert len(masked) and set(masked["old"]) == {"(masked)"}


def test_linkage_files_agree_with_the_panel(processed: Path) -> None:
    panel = pd.read_parquet(processed / "panel.parquet")
    by_village = read(processed / "linkage_by_village.csv")
    counts = by_village[["panel", "baseline_only", "followup_only"]].astype(int)
    assert int(counts.to_numpy().sum()) == panel["hh"].nunique()
    summary = json.loads((processed / "linkage_summary.json").read_text())
    assert summary["new_households"] == "keep" and len(summary["by_village"]) == 30
    arms = pd.read_csv(processed / "panel_linkage.csv")
    for record in arms.to_dict("records"):
        assert summary["by_arm"][record["arm"]][record["linkage"]] == record["households"]
    unlinked = read(processed / "unlinked.csv")
    assert (unlinked["linkage"] == "followup_only").sum() == int(
        arms.loc[arms["linkage"] == "followup_only", "households"].sum()
    )


def test_construct_takes_the_poverty_line_and_winsor_quantile_from_study_income(
    processed: Path, tmp_path: Path
) -> None:
    # The construct stage overwrites the panel: work on a copy of the module's processed folder.
    folder = tmp_path / "processed"
    shutil.copytree(processed, folder)
    study = load_study(DEMO_STUDY)
    panel = pd.read_parquet(processed / "panel.parquet")
    # A line at the median of real income, far from the BPS default, so `poor` must change.
    line = float(panel["income_pc_real"].median())
    assert study.income.poverty_line is not None and abs(line - study.income.poverty_line) > 1
    income = dataclasses.replace(study.income, poverty_line=line, winsor_quantile=0.9)
    construct_stage(dataclasses.replace(study, income=income), folder)
    moved = pd.read_parquet(folder / "panel.parquet")
    measured = moved["income_pc_real"].notna()
    assert measured.sum() > 100
    expected_poor = (moved.loc[measured, "income_pc_real"] < line).astype(float)
    assert (moved.loc[measured, "poor"].astype(float) == expected_poor).all()
    for _, rows in moved.groupby("round"):
        cap = float(np.quantile(rows["income_pc"].dropna(), 0.9))
        expected = rows["income_pc"].clip(upper=cap)
        pd.testing.assert_series_equal(rows["income_pc_w99"], expected, check_names=False)
