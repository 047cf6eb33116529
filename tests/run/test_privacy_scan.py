"""Nothing leaked: after a whole run, no name, phone, NIK or GPS value of the raw files is anywhere.

The run goes through the real command line (papermill kernels, nbconvert HTML, village reports)
on a small demo, and every file it wrote is searched: processed data and logs, tables, HTML
reports, executed notebooks and the run record.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

BERDAYA = [sys.executable, "-m", "analysis.run.cli"]
ROUNDS = {"baseline": "baseline_2023.csv", "followup": "followup_2025.csv"}


def berdaya(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([*BERDAYA, *args], capture_output=True, text=True, env=env, timeout=1800)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("scan")
    data, out = folder / "data", folder / "reports"
    made = berdaya("demo-data", "--out", str(data), "--villages", "4", "--households", "20", "--seed", "7")
    assert made.returncode == 0, made.stderr
    run = berdaya("run", str(data / "study.yml"), "--out", str(out), "--workers", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    return data, out


def personal_values(data: Path) -> set[str]:
    """Names, phones, NIKs and GPS values of the raw exports (the codebook's `pii` columns)."""
    codebook = pd.read_csv(data / "codebook.csv", dtype=str, keep_default_na=False)
    sensitive = codebook.loc[codebook["pii"] == "yes"]
    values: set[str] = set()
    for round_name, file in ROUNDS.items():
        raw = pd.read_csv(data / file, sep=";", dtype=str, keep_default_na=False)
        for column in sensitive[f"source_{round_name}"]:
            if column:
                # Short numbers (an altitude of "317.0") occur by chance anywhere; names, phones,
                # NIKs and coordinates are long or contain letters.
                values |= {
                    v.strip()
                    for v in raw[column]
                    if len(v.strip()) >= 8 or (len(v.strip()) >= 4 and any(c.isalpha() for c in v))
                }
    return values


def test_no_personal_value_reaches_processed_data_or_reports(small_run: tuple[Path, Path]) -> None:
    data, out = small_run
    values = personal_values(data)
    assert len(values) > 300, "the demo should carry personal data to test against"
    files = sorted(p for p in out.rglob("*") if p.is_file())
    kinds = {p.suffix for p in files}
    assert {".parquet", ".csv", ".json", ".html", ".ipynb"} <= kinds
    assert len(list((out / "villages").glob("*.html"))) == 4  # village reports were scanned too
    leaks = {}
    for path in files:
        text = (
            pd.read_parquet(path).to_csv() if path.suffix == ".parquet" else path.read_text(errors="replace")
        )
        found = [v for v in values if v in text]
        if found:
            leaks[str(path.relative_to(out))] = len(found)
    assert not leaks, f"personal values found in {leaks}"


def test_the_processed_folder_holds_the_linkage_counts(small_run: tuple[Path, Path]) -> None:
    import json

    _, out = small_run
    processed = out / "processed"
    by_village = pd.read_csv(processed / "linkage_by_village.csv", dtype={"village": str})
    summary = json.loads((processed / "linkage_summary.json").read_text())
    panel = pd.read_parquet(processed / "panel.parquet")
    assert (
        summary["households"]
        == panel["hh"].nunique()
        == int(by_village[["panel", "baseline_only", "followup_only"]].to_numpy().sum())
    )
    assert sorted(v["village"] for v in summary["by_village"]) == sorted(by_village["village"])
