"""Replication packages: build, verify, and find a changed cell; the package and verify commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from jobs import Packages, Run, Verified

import analysis.run.replication
from analysis.errors import BerdayaError
from analysis.run.cli import main
from analysis.run.replication import Difference, Verification, verify_package

RAW_FILES = ("baseline_2023.csv", "followup_2025.csv")


# The study and both packages are built once per session, in a background process, through the
# command line's `main` as before (``replication_packages`` in tests/conftest.py, tests/jobs.py):
# the ordinary package through `berdaya package` (which calls build_package) and one with
# --include-raw. The study has few bootstrap draws: every build and verify reruns the estimate
# stage, and the package checks do not depend on the number of draws.
@pytest.fixture
def study(replication_packages: Packages) -> Path:
    return replication_packages.study


@pytest.fixture
def packaged(replication_packages: Packages) -> tuple[Path, Run]:
    return replication_packages.package, replication_packages.run


@pytest.fixture
def package(packaged: tuple[Path, Run]) -> Path:
    out, run = packaged
    assert run.code == 0, run.err
    return out


@pytest.fixture
def raw_packaged(replication_packages: Packages) -> tuple[Path, Run]:
    return replication_packages.raw_package, replication_packages.raw_run


@pytest.fixture
def altered(package: Path, replication_packages: Packages) -> Path:
    """A copy of the package with one household's wage income raised in the processed data."""
    return replication_packages.altered


# `berdaya verify` on each package, run once in the job process (it rebuilds the tables): the
# tests of the command and those of verify_package read the same run (jobs.verify_command).
@pytest.fixture
def verified(package: Path, replication_packages: Packages) -> Verified:
    return replication_packages.verified


@pytest.fixture
def verified_altered(altered: Path, replication_packages: Packages) -> Verified:
    return replication_packages.verified_altered


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
    # The memory a rebuild needs: the building process's peak (imports alone take over 100 MiB).
    peak = re.search(r"peaked at (\d+) MiB of resident memory", readme)
    assert peak is not None and 100 <= int(peak.group(1)) < 24 * 1024, readme
    assert (package / "requirements.lock").is_file()
    assert (package / "study" / "study.yml").is_file() and (package / "study" / "codebook.csv").is_file()
    manifest = json.loads((package / "MANIFEST.json").read_text())
    assert "expected/tables/impact.csv" in manifest["expected"]
    assert all(len(h) == 64 for h in manifest["expected"].values())
    # every file is recorded, so verify notices edited code, notebooks or data
    for recorded in (
        "code/src/analysis/estimate/regressions.py",
        "notebooks/03_estimate_impacts.ipynb",
        "study/study.yml",
    ):
        assert len(manifest["checksums"][recorded]) == 64
    assert "data/processed/baseline_clean.parquet" in manifest["checksums"]
    # de-identified data only: no raw exports, no key
    assert not (package / "data" / "raw").exists()
    assert "pseudonym_key" not in (package / "study" / "study.yml").read_text()
    assert not list(package.rglob("baseline_2023.csv"))
    # the code that made the tables, installable on its own
    import analysis.estimate.regressions

    code = package / "code"
    assert (code / "pyproject.toml").is_file()
    shipped = code / "src" / "analysis" / "estimate" / "regressions.py"
    assert shipped.read_bytes() == Path(analysis.estimate.regressions.__file__).read_bytes()
    assert not list(code.rglob("__pycache__"))


def test_verify_passes_on_an_untouched_package(verified: Verified) -> None:
    result = verified.result
    assert result.ok, [d.describe() for d in result.differences]
    assert "impact.csv" in result.tables
    # It rebuilds elsewhere: a package on read-only media verifies too.
    assert verified.after == verified.before


def test_verify_refuses_a_damaged_manifest_in_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "MANIFEST.json").write_text("{ not json")
    with pytest.raises(BerdayaError, match="MANIFEST.json: not a readable berdaya manifest"):
        verify_package(tmp_path)
    assert main(["verify", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err


def test_verify_names_the_table_and_cell_that_changed(altered: Path, verified_altered: Verified) -> None:
    result = verified_altered.result
    assert not result.ok
    cells = {(d.table, d.column) for d in result.differences}
    assert ("impact.csv", "estimate") in cells
    impact = pd.read_csv(altered / "expected" / "tables" / "impact.csv")
    rows = {d.row for d in result.differences if d.table == "impact.csv"}
    assert "income_pc" in set(impact.loc[sorted(r for r in rows if r is not None), "outcome"])
    assert any(
        "impact.csv row" in d.describe() and "column estimate" in d.describe() for d in result.differences
    )


def test_verify_refuses_a_folder_that_is_not_a_package(tmp_path: Path) -> None:
    with pytest.raises(BerdayaError, match="not a berdaya replication package"):
        verify_package(tmp_path)


def test_package_command_says_where_and_what_and_leaves_raw_data_out(packaged: tuple[Path, Run]) -> None:
    out, run = packaged
    assert run.code == 0, run.err
    assert f"wrote the replication package to {out.resolve()}" in run.out
    tables = len(list((out / "expected" / "tables").glob("*.csv")))
    assert tables > 5
    assert f"{tables} expected tables" in run.out
    assert "no raw data" in run.out
    assert run.err == ""  # no warning: nothing identified went in
    assert not (out / "data" / "raw").exists()
    assert not [p for p in out.rglob("*") if p.name in RAW_FILES]
    assert json.loads((out / "MANIFEST.json").read_text())["include_raw"] is False


def test_package_command_with_include_raw_copies_the_raw_exports_and_warns(
    raw_packaged: tuple[Path, Run], study: Path
) -> None:
    out, run = raw_packaged
    assert run.code == 0, run.err
    for name in RAW_FILES:
        copied = out / "data" / "raw" / name
        assert copied.read_bytes() == (study.parent / name).read_bytes()
    assert "raw exports INCLUDED" in run.out
    warning = run.err.strip()
    assert warning.startswith("warning:") and "\n" not in warning
    assert "identified" in warning and "never share it publicly" in warning
    assert str(out.resolve() / "data" / "raw") in warning
    assert "warning" not in run.out  # stderr only, so it shows even when stdout is redirected


def test_package_command_refuses_a_folder_that_is_not_empty(package: Path, study: Path, capsys) -> None:
    before = sorted(p.relative_to(package) for p in package.rglob("*"))
    assert main(["package", str(study), "--out", str(package)]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and "is not empty" in captured.err
    assert sorted(p.relative_to(package) for p in package.rglob("*")) == before


def test_verify_command_reports_every_table_matching(package: Path, verified: Verified) -> None:
    assert verified.code == 0
    lines = verified.out.splitlines()
    tables = sorted(p.name for p in (package / "expected" / "tables").glob("*.csv"))
    assert sorted(line.removesuffix(": matches") for line in lines[:-1]) == tables
    assert lines[-1] == f"all {len(tables)} tables match the expected outputs"


def test_verify_command_names_the_table_row_and_column_that_changed(
    altered: Path, verified_altered: Verified
) -> None:
    assert verified_altered.code == 1
    out = verified_altered.out
    lines = out.splitlines()
    impact = pd.read_csv(altered / "expected" / "tables" / "impact.csv", dtype=str, keep_default_na=False)
    # rows are numbered as in the file (the header is line 1), so a user can open it there
    expected_lines = {
        f"  impact.csv row {i + 2} column estimate: expected {impact.loc[i, 'estimate']}, found "
        for i in impact.index[impact["outcome"] == "income_pc"]
    }
    assert any(line.startswith(tuple(expected_lines)) for line in lines), out
    assert any(line.startswith("impact.csv: ") and "difference" in line for line in lines)
    # the edited processed file is named too, before the tables
    assert lines[0] == (
        "data/processed/followup_clean.parquet: changed since the package was made "
        "(SHA-256 differs from MANIFEST.json)"
    )
    assert "impact.csv: matches" not in lines
    assert "linkage.csv: matches" in lines  # the households and their linkage did not change
    assert lines[-1].endswith("differences)") and " tables differ from the expected outputs " in lines[-1]


def test_verify_command_shortens_a_long_list_of_differences(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    many = tuple(Difference("impact.csv", r, "estimate", "1", "2") for r in range(57))
    one = (Difference("mde.csv", 0, "mde", "3", "4"),)
    fake = Verification(tables=("impact.csv", "mde.csv", "villages.csv"), differences=many + one)
    monkeypatch.setattr(analysis.run.replication, "verify_package", lambda package: fake)
    assert main(["verify", str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "impact.csv: 57 differences"
    assert lines[1:51] == [f"  {d.describe()}" for d in many[:50]]
    assert lines[51] == "  ... and 7 more in impact.csv"
    assert lines[52:55] == ["mde.csv: 1 difference", f"  {one[0].describe()}", "villages.csv: matches"]
    assert lines[55] == "2 of 3 tables differ from the expected outputs (58 differences)"
    assert len(lines) == 56


def test_verify_command_on_a_folder_that_is_not_a_package_is_a_clean_error(tmp_path: Path, capsys) -> None:
    assert main(["verify", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert (
        captured.err
        == f"error: {tmp_path.resolve()} has no MANIFEST.json: not a berdaya replication package\n"
    )
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""
