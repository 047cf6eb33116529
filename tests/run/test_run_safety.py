"""The run itself on real paths and real re-runs (#12): one line and exit 2, never a traceback,
and never an old report or a half-written file passing for today's results.

The checks made before any work (output paths, locks, a shared processed folder, error
classes) call ``analysis.run.cli.main`` in-process. Three full runs cover the rest: a small demo
without a pseudonymization key (so the first run creates it), the same demo with one village
removed from the data rerun with ``--villages`` (both built once per session by
tests/e2e_builds.py), and a minimal study whose settings give run warnings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import commands
import pytest
from e2e_builds import REMOVED, SAFETY_VILLAGES, keyless_env
from e2e_builds import SafetyDemo as Demo

from analysis import errors
from analysis.run import cli
from analysis.run.pipeline import LOCK_FILE, _run_warnings
from analysis.shared.files import check_writable_folder
from analysis.shared.layout import PROCESSED_OWNER
from analysis.shared.run_warnings import read_warnings_table
from analysis.stages.folders import claim_processed

BERDAYA = [sys.executable, "-m", "analysis.run.cli"]
VILLAGES = SAFETY_VILLAGES
STAGES = ("clean baseline", "clean followup", "construct panel", "estimate impacts", "programme report")


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the command in-process; assert exit code 2 and one ``error:`` line; return that line."""
    code = cli.main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def minimal_study(folder: Path, *, extra: str = "", name: str = "study.yml") -> Path:
    """A 60-household study without villages (no village reports), written into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["hhid,treat,income,got"]
    follow = ["hhid,treat,income,got"]
    for i in range(60):
        treat = i % 2
        rows.append(f"{i + 1},{treat},{100 + i % 7 + 5 * treat},{treat}")
        follow.append(f"{i + 1},{treat},{103 + i % 7 + 7 * treat},{treat}")
    (folder / "baseline.csv").write_text("\n".join(rows) + "\n")
    (folder / "followup.csv").write_text("\n".join(follow) + "\n")
    study = folder / name
    study.write_text(
        "name: Minimal\nrounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\ntreatment: treat\n"
        "pseudonym_key: test-key-not-secret\nwild_bootstrap_reps: 99\n"
        "outcomes:\n  - {name: income, column: income, family: income}\n"
        "  - {name: participation, column: got, family: participation}\n" + extra
    )
    return study


# --- output paths, checked before any work ---------------------------------------------------


@pytest.mark.parametrize("command", ["run", "package", "demo-data"])
def test_an_out_that_is_a_file_is_one_line_naming_it(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = minimal_study(tmp_path / "study")
    blocker = tmp_path / "reports"
    blocker.write_text("not a folder")
    argv = (
        [command, "--out", str(blocker)]
        if command == "demo-data"
        else [command, str(study), "--out", str(blocker)]
    )
    line = cli_error(capsys, *argv)
    assert line == f"error: --out {blocker} is a file, not a folder: name a folder (it is created if missing)"
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", ["run", "package"])
def test_an_out_under_a_file_is_one_line_naming_the_file(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = minimal_study(tmp_path / "study")
    (tmp_path / "notes.txt").write_text("x")
    line = cli_error(capsys, command, str(study), "--out", str(tmp_path / "notes.txt" / "reports"))
    assert str(tmp_path / "notes.txt" / "reports") in line
    assert f"{tmp_path / 'notes.txt'} is a file, not a folder; choose another path" in line


def test_an_out_in_a_read_only_folder_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = minimal_study(tmp_path / "study")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("this user (root) may write into a read-only folder")
        line = cli_error(capsys, "run", str(study), "--out", str(locked / "reports"))
        assert f"--out {locked / 'reports'} is not writable ({locked} is not writable)" in line
        assert "choose a folder you can write to" in line
        assert not (locked / "reports").exists()
    finally:
        locked.chmod(0o755)


def test_the_writable_check_reads_the_permissions_of_the_nearest_existing_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root may write anywhere, so the permission branch is checked with os.access answering
    # as it would for an ordinary user on a read-only folder.
    asked: list[Path] = []

    def access(path: os.PathLike[str], mode: int) -> bool:
        asked.append(Path(path))
        return False

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(errors.BerdayaError, match="permission denied"):
        check_writable_folder(tmp_path / "a" / "b", what="--out")
    assert asked == [tmp_path]


def test_codebook_template_out_that_is_a_folder_or_under_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = minimal_study(tmp_path / "study")
    line = cli_error(capsys, "codebook-template", str(study), "--out", str(tmp_path))
    assert line == f"error: --out {tmp_path} is a folder, not a file: name a file inside it instead"
    (tmp_path / "file").write_text("x")
    line = cli_error(
        capsys, "codebook-template", str(study), "--out", str(tmp_path / "file" / "codebook.csv")
    )
    assert f"{tmp_path / 'file'} is a file, not a folder" in line


def test_a_study_path_that_is_a_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = minimal_study(tmp_path / "study").parent
    for command in ("run", "codebook-template", "package"):
        argv = [command, str(folder)] + (
            ["--out", str(tmp_path / "out")] if command != "codebook-template" else []
        )
        line = cli_error(capsys, *argv)
        assert (
            line
            == f"error: {folder} is a folder, not a study file: name the study file, for example {folder / 'study.yml'}"
        )


def test_an_os_error_on_the_users_paths_is_one_line_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(args: object) -> int:
        raise PermissionError(13, "Permission denied", "/srv/survey/reports/tables")

    monkeypatch.setattr(cli, "_verify", refuse)
    line = cli_error(capsys, "verify", "pkg")
    assert line.startswith("error: /srv/survey/reports/tables: Permission denied; check the path")
    assert cli.main(["--debug", "verify", "pkg"]) == 2
    assert "Traceback" in capsys.readouterr().err


class _KernelError(Exception):
    """What papermill raises for an exception in a notebook: only the class name and message."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue = ename, evalue


def test_an_error_class_added_to_analysis_errors_later_is_one_line_from_a_notebook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class WeightsError(errors.InputError):  # a later subclass, as CodebookError once was
        pass

    assert {
        "BerdayaError",
        "StudyError",
        "InputError",
        "CodebookError",
        "WeightsError",
    } <= cli.own_error_names()

    def fail(args: object) -> int:
        raise _KernelError("WeightsError", "weights.csv row 4 column weight: expecting a number")

    monkeypatch.setattr(cli, "_verify", fail)
    assert cli_error(capsys, "verify", "pkg") == "error: weights.csv row 4 column weight: expecting a number"
    del WeightsError


def test_a_notebooks_permission_error_is_one_line_and_a_bug_still_raises(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(args: object) -> int:
        raise _KernelError("PermissionError", "[Errno 13] Permission denied: '/data/processed/x'")

    monkeypatch.setattr(cli, "_verify", fail)
    line = cli_error(capsys, "verify", "pkg")
    assert "a stage notebook could not use a file: [Errno 13] Permission denied: '/data/processed/x'" in line

    def bug(args: object) -> int:
        raise _KernelError("KeyError", "'income'")

    monkeypatch.setattr(cli, "_verify", bug)
    with pytest.raises(_KernelError):
        cli.main(["verify", "pkg"])


# --- a processed folder shared by two runs or two studies -----------------------------------

HOLD_LOCK = """\
import fcntl, sys
handle = open(sys.argv[1], "a+")
fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()
"""


def test_a_processed_folder_another_run_is_writing_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = minimal_study(tmp_path / "data", extra="processed: shared\n")
    processed = tmp_path / "data" / "shared"
    processed.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(processed / LOCK_FILE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        line = cli_error(capsys, "run", str(study), "--out", str(tmp_path / "second"))
    finally:
        holder.communicate("", timeout=60)
    assert line.startswith(f"error: another berdaya run is writing to {processed}; wait for it to finish")
    assert "`processed`" in line
    assert not (processed / "baseline_clean.parquet").exists()


def test_a_second_study_file_sharing_a_processed_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = minimal_study(tmp_path / "survey", extra="processed: shared\n")
    second = minimal_study(tmp_path / "survey", extra="processed: shared\n", name="variant.yml")
    processed = tmp_path / "survey" / "shared"
    processed.mkdir()
    claim_processed(processed, first)  # as a finished run of the first study leaves it
    line = cli_error(capsys, "run", str(second), "--out", str(tmp_path / "out"))
    assert line.startswith(
        f"error: the processed folder {processed} holds the data of another study file, {first}"
    )
    assert f"add `processed: processed_variant` (or any new folder) to {second}" in line
    assert not (tmp_path / "out" / "run.json").exists()
    # The same study again is no conflict, nor one whose former study file is gone (renamed).
    claim_processed(processed, first)
    first.unlink()
    claim_processed(processed, second)
    assert json.loads((processed / PROCESSED_OWNER).read_text())["absolute"] == str(second.resolve())


def test_a_copied_project_keeps_its_claim_on_its_processed_folder(tmp_path: Path) -> None:
    study = minimal_study(tmp_path / "project" / "raw", extra="processed: ../processed\n")
    processed = tmp_path / "project" / "processed"
    processed.mkdir()
    claim_processed(processed, study)
    copy = shutil.copytree(tmp_path / "project", tmp_path / "copy")
    # The record's absolute path names the original, which still exists; the relative one
    # names the copy's own study file.
    claim_processed(copy / "processed", copy / "raw" / "study.yml")


# --- full runs ---------------------------------------------------------------------------------


def berdaya(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The command in a fresh process whose home holds no pseudonymization key yet."""
    return commands.berdaya(*args, env=keyless_env(home), timeout=1200)


def record(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


def village_records(out: Path) -> dict[str, dict]:
    return {v["village"]: v for v in record(out)["villages"]}


def index_row(out: Path, village: str) -> str:
    row = re.search(
        rf'<tr [^>]*><td data-value="{re.escape(village)}">.*?</tr>', (out / "index.html").read_text()
    )
    assert row is not None, village
    return row.group(0)


@pytest.fixture
def demo(safety_demo: Demo) -> Demo:
    """Six villages of twelve households, no key in the study file: the first run created one.

    Built once per session (``safety_demo`` in tests/conftest.py, by tests/e2e_builds.py).
    """
    return safety_demo


@pytest.mark.e2e
def test_a_copied_output_folder_reruns_nothing_even_after_the_key_was_created(
    demo: Demo, tmp_path: Path
) -> None:
    assert (demo.home / ".config" / "berdaya" / "pseudonym.key").is_file()  # made by the first run
    assert sorted(p.stem for p in (demo.out / "villages").glob("*.html")) == VILLAGES
    copy = shutil.copytree(demo.out, tmp_path / "reports2")
    again = berdaya("run", str(demo.study), "--out", str(copy), "--workers", "2", home=demo.home)
    assert again.returncode == 0, again.stderr[-3000:]
    for stage in STAGES:
        assert f"{stage}: unchanged, skipped" in again.stderr
    assert f"village reports: all {len(VILLAGES)} unchanged, skipped" in again.stderr
    assert {s["name"]: s["status"] for s in record(copy)["stages"]}["estimate"] == "skipped"


@pytest.fixture
def without_a_village(safety_without_a_village: tuple[Path, str]) -> tuple[Path, str]:
    """The demo's reports rerun with ``--villages 0101`` after village 0301 left the data."""
    return safety_without_a_village


@pytest.mark.e2e
def test_a_village_removed_from_the_data_loses_its_report_and_notebook(
    without_a_village: tuple[Path, str],
) -> None:
    out, stderr = without_a_village
    assert not (out / "villages" / f"{REMOVED}.html").exists()
    assert not (out / "notebooks" / "villages" / f"{REMOVED}.ipynb").exists()
    assert f"village reports: removed 2 file(s) of 1 village(s) no longer in the data ({REMOVED})" in stderr
    assert REMOVED not in village_records(out)
    assert f'<td data-value="{REMOVED}">' not in (out / "index.html").read_text()
    kept = [v for v in VILLAGES if v != REMOVED]
    assert sorted(p.stem for p in (out / "villages").glob("*.html")) == kept


@pytest.mark.e2e
def test_reports_left_by_villages_are_marked_outdated_in_run_json_and_the_index(
    without_a_village: tuple[Path, str],
) -> None:
    out, stderr = without_a_village
    got = village_records(out)
    others = [v for v in VILLAGES if v not in (REMOVED, "0101")]
    assert not got["0101"]["outdated"] and not got["0101"]["reused"]
    assert all(got[v]["outdated"] and got[v]["reused"] for v in others)
    assert f"village reports: {len(others)} outdated, not rerun because of --villages" in stderr
    assert 'class="outdated"' not in index_row(out, "0101")
    for village in others:
        row = index_row(out, village)
        assert re.search(r'<span class="outdated">[^<]*--villages</span>', row), row
        assert f'href="villages/{village}.html"' in row  # still there to read, but marked


@pytest.mark.e2e
def test_warnings_are_printed_and_recorded_even_when_every_stage_is_skipped(tmp_path: Path) -> None:
    # 30 households an arm under min_cell 40: the small-arm warning, one per arm.
    study = minimal_study(tmp_path / "data", extra="min_cell: 40\n")
    out = tmp_path / "out"
    runs = [berdaya("run", str(study), "--out", str(out), "--no-pdf", home=tmp_path) for _ in range(2)]
    # The data stages' warnings, then the run's own: the processed data sit inside `out`.
    warnings = read_warnings_table(out / "tables")
    assert warnings, "the study should give run warnings"
    warnings += _run_warnings(out / "processed", out)
    assert warnings[-1].code == "processed_in_out"
    assert record(out)["warnings"] == [asdict(w) for w in warnings]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
        lines = run.stderr.splitlines()
        printed = [line for line in lines if line.startswith("warning: ")]
        assert printed == [f"warning: {w.message}" for w in warnings]
        assert lines[-1].startswith("done: ") and lines.index(printed[-1]) < len(lines) - 1
    assert "estimate impacts: unchanged, skipped" in runs[1].stderr


def test_processed_data_inside_the_output_folder_is_a_run_warning(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    inside = _run_warnings(out / "processed", out)
    assert [w.code for w in inside] == ["processed_in_out"]
    assert "set `processed:`" in inside[0].message
    assert _run_warnings(tmp_path / "data" / "processed", out) == []
