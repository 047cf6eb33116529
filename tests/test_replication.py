"""Replication packages: build, verify, and find a changed cell."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.demo import write_demo
from analysis.errors import BerdayaError
from analysis.replication import build_package, verify_package


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("replication")
    write_demo(folder / "study", villages=6, households=20, seed=11)
    return build_package(folder / "study" / "study.yml", out=folder / "package")


def test_package_holds_what_the_aea_template_asks_for(package: Path) -> None:
    readme = (package / "README.md").read_text()
    order = [
        "Data availability and provenance",
        "Software",
        "Run time and memory",
        "Instructions",
        "Tables and the code",
    ]
    positions = [readme.index(h) for h in order]
    assert positions == sorted(positions)
    assert (package / "requirements.lock").is_file()
    assert (package / "study" / "study.yml").is_file() and (package / "study" / "codebook.csv").is_file()
    manifest = json.loads((package / "MANIFEST.json").read_text())
    assert "expected/tables/impact.csv" in manifest["expected"]
    assert all(len(h) == 64 for h in manifest["expected"].values())
    # de-identified data only: no raw exports, no key
    assert not (package / "data" / "raw").exists()
    assert "pseudonym_key" not in (package / "study" / "study.yml").read_text()
    assert not list(package.rglob("baseline_2023.csv"))


def test_verify_passes_on_an_untouched_package(package: Path) -> None:
    result = verify_package(package)
    assert result.ok, [d.describe() for d in result.differences]
    assert "impact.csv" in result.tables


def test_verify_names_the_table_and_cell_that_changed(package: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "altered"
    shutil.copytree(package, copy)
    path = copy / "data" / "processed" / "followup_clean.parquet"
    frame = pd.read_parquet(path)
    # a household whose income total is defined (every source answered), so the change counts
    sources = [
        "income_wage",
        "income_farm",
        "income_business",
        "income_transfer",
        "income_remittance",
        "income_other",
    ]
    first = frame.index[frame[sources].notna().all(axis=1) & (frame["household_size"] > 0)][0]
    frame.loc[first, "income_wage"] = frame.loc[first, "income_wage"] + 5_000_000
    frame.to_parquet(path, index=False)
    result = verify_package(copy)
    assert not result.ok
    cells = {(d.table, d.column) for d in result.differences}
    assert ("impact.csv", "estimate") in cells
    impact = pd.read_csv(copy / "expected" / "tables" / "impact.csv")
    rows = {d.row for d in result.differences if d.table == "impact.csv"}
    assert "income_pc" in set(impact.loc[sorted(r for r in rows if r is not None), "outcome"])
    assert any(
        "impact.csv row" in d.describe() and "column estimate" in d.describe() for d in result.differences
    )


def test_verify_refuses_a_folder_that_is_not_a_package(tmp_path: Path) -> None:
    with pytest.raises(BerdayaError, match="not a berdaya replication package"):
        verify_package(tmp_path)
