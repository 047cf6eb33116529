"""The data stages run in-process on the bundled demo: accounting, de-identification, and truth."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.config import DEMO_DIR, DEMO_STUDY, IMPACT_COLUMNS
from analysis.provenance import sha256_file
from analysis.stages import clean_stage, construct_stage, estimate_stage


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    before = {p.name: sha256_file(p) for p in sorted(DEMO_DIR.iterdir())}
    out = tmp_path_factory.mktemp("demo")
    processed, tables = out / "processed", out / "tables"
    for round_name in ("baseline", "followup"):
        clean_stage(DEMO_STUDY, round_name, processed)
    construct_stage(DEMO_STUDY, processed)
    estimate_stage(DEMO_STUDY, processed, tables)
    return processed, tables, before


def test_raw_files_are_never_written(demo_run: tuple[Path, Path, dict[str, str]]) -> None:
    _, _, before = demo_run
    assert {p.name: sha256_file(p) for p in sorted(DEMO_DIR.iterdir())} == before


def test_counts_add_up(demo_run: tuple[Path, Path, dict[str, str]]) -> None:
    _, tables, _ = demo_run
    accounting = pd.read_csv(tables / "row_accounting.csv")
    assert (accounting["n_raw"] == accounting[["clean", "quarantined", "excluded"]].sum(axis=1)).all()
    assert (accounting["quarantined"] > 0).all() and (accounting["excluded"] > 0).all()


def test_impact_table_contract(demo_run: tuple[Path, Path, dict[str, str]]) -> None:
    _, tables, _ = demo_run
    impact = pd.read_csv(tables / "impact.csv")
    assert tuple(impact.columns) == IMPACT_COLUMNS
    assert set(impact["estimator"]) == {"followup_diff", "did", "ancova", "before_after"}
    assert set(impact["se_type"]) == {"CR1"}
    # followup-only outcome: only the follow-up difference
    assert impact.loc[impact["outcome"] == "programme_participation", "estimator"].tolist() == [
        "followup_diff"
    ]
    both = impact.loc[impact["outcome"] == "income_pc", "estimator"].tolist()
    assert both == ["followup_diff", "did", "ancova", "before_after"]
    assert (impact.loc[impact["estimator"] != "before_after", "n_clusters"] == 30).all()
    assert not impact.duplicated(["outcome", "estimator"]).any()


@pytest.mark.parametrize("outcome", ["income_pc", "participation_score"])
@pytest.mark.parametrize("estimator", ["did", "ancova"])
def test_demo_estimates_cover_the_true_effect(
    demo_run: tuple[Path, Path, dict[str, str]], outcome: str, estimator: str
) -> None:
    _, tables, _ = demo_run
    truth = json.loads((DEMO_DIR / "truth.json").read_text())
    impact = pd.read_csv(tables / "impact.csv").set_index(["outcome", "estimator"])
    row = impact.loc[(outcome, estimator)]
    assert row["ci_low"] <= truth[outcome] <= row["ci_high"], (row.to_dict(), truth[outcome])


def test_processed_data_carry_no_personal_data(demo_run: tuple[Path, Path, dict[str, str]]) -> None:
    processed, _, _ = demo_run
    codebook = pd.read_csv(DEMO_DIR / "codebook.csv", dtype=str, keep_default_na=False)
    sensitive = codebook.loc[(codebook["pii"] == "yes") | (codebook["role"] == "household_id")]
    values: set[str] = set()
    for round_name, file in (("baseline", "baseline_2023.csv"), ("followup", "followup_2025.csv")):
        raw = pd.read_csv(DEMO_DIR / file, sep=";", dtype=str, keep_default_na=False)
        for column in sensitive[f"source_{round_name}"]:
            if column:
                # Short numbers (an altitude of "317.0") occur by chance anywhere; names, phones,
                # NIKs, coordinates and ids are long or contain letters.
                values |= {
                    v.strip()
                    for v in raw[column]
                    if len(v.strip()) >= 8 or (len(v.strip()) >= 4 and any(c.isalpha() for c in v))
                }
    assert len(values) > 1000, "the demo should carry personal data to test against"
    text = ""
    for path in processed.iterdir():
        if path.suffix == ".parquet":
            text += pd.read_parquet(path).to_csv()
        else:
            text += path.read_text()
    leaked = [v for v in values if v in text]
    assert not leaked, f"{len(leaked)} personal values reached data/processed, e.g. {leaked[:1]}"
