"""Builds of the batch, run-safety and reproducibility tests, started early by ``tests/conftest.py``.

Each build only writes files and runs ``berdaya`` in fresh processes, so that conftest.py can
run it in a background thread while the in-process tests use the other core. The tests that read
them are tests/run/test_batch.py, tests/run/test_run_safety.py and tests/run/test_reproducible.py.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from commands import berdaya, run

from analysis.config import PROJECT_ROOT
from analysis.demo.survey import write_demo

#: Few bootstrap draws: the runs test the machinery, not the inference.
FEW_DRAWS = "wild_bootstrap_reps: 99\nlee_bounds_reps: 49\ndesign_test_reps: 49\n"
#: The batch and run-safety tests test the runs, not printing (tests/report/test_pdf.py does):
#: set in their study files, so that every run of those studies leaves PDFs out alike.
NO_PDF = "pdf: false\n"

# --- the village batch (tests/run/test_batch.py) ------------------------------------------------


@dataclass(frozen=True)
class BatchStudy:
    """The batch tests' demo (6 villages × 20 households, seed 7) after its stages."""

    study: Path
    out: Path  # stages done, no village reports yet

    def copy(self, to: Path) -> Path:
        shutil.copytree(self.out, to)
        return to


def build_batch_stages(folder: Path, *, env: Mapping[str, str] | None = None) -> BatchStudy:
    """``berdaya demo-data`` then ``berdaya run --no-village-reports``."""
    made = berdaya(
        "demo-data", "--out", str(folder / "data"), "--villages", "6", "--households", "20", "--seed", "7",
        env=env, cwd=folder,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    out = folder / "stages"
    study = folder / "data" / "study.yml"
    with study.open("a", encoding="utf-8") as file:
        file.write(NO_PDF)
    done = berdaya("run", str(study), "--out", str(out), "--no-village-reports", env=env, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    return BatchStudy(study=study, out=out)


def build_batch_local_run(stages: BatchStudy, folder: Path, *, env: Mapping[str, str] | None = None) -> Path:
    """All six village reports written by `berdaya run` on the local pool (2 workers), into a copy."""
    out = stages.copy(folder / "out")
    done = berdaya("run", str(stages.study), "--out", str(out), "--workers", "2", env=env, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


# --- real paths and re-runs (tests/run/test_run_safety.py) ---------------------------------------

SAFETY_VILLAGES = ["0101", "0102", "0201", "0202", "0301", "0302"]
REMOVED = "0301"  # a comparison village: both arms keep two or more villages without it


def keyless_env(home: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a fresh process whose home holds no pseudonymization key yet."""
    environment = {
        k: v for k, v in (os.environ if env is None else env).items() if k != "BERDAYA_PSEUDONYM_KEY"
    }
    environment["HOME"] = str(home)
    return environment


@dataclass(frozen=True)
class SafetyDemo:
    data: Path
    out: Path
    home: Path
    first: subprocess.CompletedProcess[str]

    @property
    def study(self) -> Path:
        return self.data / "study.yml"


def build_safety_demo(folder: Path, *, env: Mapping[str, str] | None = None) -> SafetyDemo:
    """Six villages of twelve households, no key in the study file: the first run creates one."""
    data = folder / "data"
    write_demo(data, villages=6, households=12, seed=3)
    text = (data / "study.yml").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("pseudonym_key"))
    (data / "study.yml").write_text(text + "\n" + FEW_DRAWS + NO_PDF)
    home = folder / "home"
    home.mkdir()
    out = folder / "reports"
    first = berdaya(
        "run",
        str(data / "study.yml"),
        "--out",
        str(out),
        "--workers",
        "2",
        env=keyless_env(home, env),
        cwd=folder,
    )
    assert first.returncode == 0, first.stderr[-3000:]
    return SafetyDemo(data=data, out=out, home=home, first=first)


def drop_village(source: Path, target: Path, village: str) -> Path:
    """A copy of the demo's data folder without one village's households (consent withdrawn)."""
    shutil.copytree(source, target)
    for name, column in (("baseline_2023.csv", 2), ("followup_2025.csv", 2)):
        path = target / name
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter=";"))
        kept = [rows[0]] + [r for r in rows[1:] if r[column].strip() != village]
        assert len(kept) < len(rows)
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(kept)
    villages = target / "villages.csv"
    lines = villages.read_text().splitlines()
    villages.write_text("\n".join(line for line in lines if not line.startswith(f"{village},")) + "\n")
    return target / "study.yml"


def build_without_a_village(
    demo: SafetyDemo, folder: Path, *, env: Mapping[str, str] | None = None
) -> tuple[Path, str]:
    """The demo's reports rerun with ``--villages 0101`` after one village left the data."""
    study = drop_village(demo.data, folder / "data", REMOVED)
    out = shutil.copytree(demo.out, folder / "reports")
    done = berdaya(
        "run", str(study), "--out", str(out), "--workers", "2", "--villages", "0101",
        env=keyless_env(demo.home, env), cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done.stderr


# --- identical rebuilds (tests/run/test_reproducible.py) ----------------------------------------


def checkout(target: Path) -> Path:
    """The files a fresh clone of the working tree would hold (tracked and new, not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is not part of it
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def build_checkouts(folder: Path, *, env: Mapping[str, str] | None = None) -> dict[str, Path]:
    """One demo study run in two checkouts: one worker in Jakarta time, two in UTC and the C locale.

    The two runs go at the same time; returns each checkout's ``out``.
    """
    write_demo(folder / "study", villages=4, households=15)
    started = {}
    for name, workers in (("checkout-a", 1), ("checkout-b", 2)):
        code = checkout(folder / name)
        shutil.copytree(folder / "study", code / "study")  # inside the checkout, as a clone's user keeps it
        environment = {**(os.environ if env is None else env), "PYTHONPATH": str(code / "src")}
        environment["TZ"] = "Asia/Jakarta" if workers == 1 else "UTC"
        environment["LC_ALL"] = "C.UTF-8" if workers == 1 else "C"
        command = [sys.executable, "-m", "analysis.run.cli", "run", str(code / "study" / "study.yml"),
                   "--out", str(code / "out"), "--workers", str(workers)]  # fmt: skip
        started[name] = (command, environment, code)
    with ThreadPoolExecutor(max_workers=2) as pool:  # both at once: separate processes
        done = {
            name: pool.submit(run, command, env=environment, cwd=code, timeout=1200)
            for name, (command, environment, code) in started.items()
        }
    for name, future in done.items():
        result = future.result()
        assert result.returncode == 0, (name, result.stderr[-3000:])
    return {name: code / "out" for name, (_, _, code) in started.items()}


# --- the stage notebooks through papermill's command line (tests/run/test_notebook_params.py) ---

#: Each stage notebook with what a student adds on the command line (the rest are its defaults:
#: the bundled demo study, found from the project root). Output folders go to a copy of the
#: session's ``demo_stages``, so the repository's data/ and reports/ stay untouched.
STAGE_NOTEBOOKS: dict[str, list[str]] = {
    "01_clean_round.ipynb": ["-p", "round_name", "followup"],
    "02_construct_panel.ipynb": [],
    "03_estimate_impacts.ipynb": ["-p", "tables_dir", "{tables}"],
    "04_programme_report.ipynb": ["-p", "tables_dir", "{tables}"],
    # papermill's command line reads 0101 as the number 101.
    "05_village_report.ipynb": ["-p", "tables_dir", "{tables}", "-p", "village", "0101"],
}
WHERE = ("root", "notebooks")


@dataclass(frozen=True)
class NotebookRun:
    """One stage notebook run by ``papermill`` from one folder, into its own copy of the stages."""

    processed: Path
    tables: Path
    before: dict[Path, int]  # the copies' files and their mtimes before the run
    out: Path  # the executed notebook
    result: subprocess.CompletedProcess[str]


def build_stage_notebook_runs(
    processed: Path, tables: Path, folder: Path, *, env: Mapping[str, str] | None = None
) -> dict[tuple[str, str], NotebookRun]:
    """Every stage notebook through ``papermill`` from the project root and from notebooks/."""
    from analysis.config import NOTEBOOKS_DIR
    from analysis.run.execute import kernel_name

    papermill = Path(sys.executable).with_name("papermill")
    runs = {}
    for notebook, extra in STAGE_NOTEBOOKS.items():
        for where in WHERE:
            work = folder / f"{Path(notebook).stem}-{where}"
            copied, copied_tables = work / "processed", work / "tables"
            shutil.copytree(processed, copied)
            shutil.copytree(tables, copied_tables)
            before = {p: p.stat().st_mtime_ns for p in (*copied.iterdir(), *copied_tables.iterdir())}
            cwd, source = (PROJECT_ROOT, f"notebooks/{notebook}") if where == "root" else (NOTEBOOKS_DIR, notebook)
            out = work / "executed.ipynb"
            command = [str(papermill), source, str(out), "-k", kernel_name(), "-p", "processed_dir", str(copied)]
            command += [a.replace("{tables}", str(copied_tables)) for a in extra]
            result = run(command, env=env, cwd=cwd)
            runs[notebook, where] = NotebookRun(copied, copied_tables, before, out, result)
    return runs


# --- more rounds and repeated cross-sections (tests/run/test_multi_round_run.py) ------------------

#: The three-round demo's size and seed: cs_att's interval covers the truth and twfe is about
#: half of it for income on each of seeds 1 to 8 at this size (checked when the test was written).
THREE_ROUND_DEMO = {"villages": 12, "households": 20, "rounds": 3, "waves": 2, "seed": 4}
PUBLISHED = Path(__file__).resolve().parent / "fixtures" / "published"


@dataclass(frozen=True)
class MultiRoundRuns:
    """The runs of the multi-round tests, made in the background.

    ``three_rounds``: ``berdaya run --no-pdf`` of the three-round demo (``data`` into ``out``);
    ``package`` and ``verify``: its replication package and the package's check;
    ``injury``: the repeated cross-section of one long file (``injury/study.yml`` into
    ``injury_out``); ``no_id``: the bundled demo without ``id`` (``no_id/study.yml``), village
    0101 only, into ``no_id_out``.
    """

    folder: Path
    three_rounds: subprocess.CompletedProcess[str]
    package: subprocess.CompletedProcess[str]
    verify: subprocess.CompletedProcess[str]
    injury: subprocess.CompletedProcess[str]
    no_id: subprocess.CompletedProcess[str]

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def out(self) -> Path:
        return self.folder / "out"


def injury_study(folder: Path) -> Path:
    """Wooldridge's injury data as one long file, the period in column afchnge, no id."""
    folder.mkdir(parents=True)
    (folder / "injury.csv").write_bytes((PUBLISHED / "wooldridge_injury" / "injury.csv").read_bytes())
    (folder / "study.yml").write_text(
        "name: Kentucky benefit cap\n"
        "rounds: {file: injury.csv, column: afchnge}\n"
        "treatment: highearn\n"
        "pseudonym_key: test-key-not-secret\n"
        "pdf: false\n"
        "outcomes:\n  - {name: ldurat}\n"
    )
    return folder / "study.yml"


def survey_without_id(folder: Path, *, keep_role: bool = False) -> Path:
    """The bundled two-round demo as a repeated cross-section: `id` removed (and its role)."""
    from analysis.config import DEMO_DIR

    shutil.copytree(DEMO_DIR, folder)
    study = folder / "study.yml"
    study.write_text(study.read_text().replace("id: hhid\n", "") + "pdf: false\n")
    if not keep_role:
        codebook = folder / "codebook.csv"
        lines = codebook.read_text().splitlines(keepends=True)
        lines = [line.replace(",household_id,", ",,") if line.startswith("hhid,") else line for line in lines]
        codebook.write_text("".join(lines))
    return study


def build_multi_round_runs(folder: Path, *, env: Mapping[str, str] | None = None) -> MultiRoundRuns:
    """The three-round demo run, packaged and verified; a repeated cross-section with and without villages."""
    from analysis.demo.staggered import write_staggered

    write_staggered(folder / "data", **THREE_ROUND_DEMO)
    study = folder / "data" / "study.yml"
    # --no-pdf on the command line, not in the study: the printing test prints from a copy.
    three = berdaya("run", str(study), "--out", str(folder / "out"), "--no-pdf", env=env, cwd=folder)
    package = folder / "package"
    built = berdaya("package", str(study), "--out", str(package), env=env, cwd=folder)
    verified = berdaya("verify", str(package), env=env, cwd=folder)
    injury = berdaya(
        "run", str(injury_study(folder / "injury")), "--out", str(folder / "injury_out"), env=env, cwd=folder
    )
    no_id = berdaya(
        "run", str(survey_without_id(folder / "no_id")), "--out", str(folder / "no_id_out"), "--villages", "0101",
        env=env, cwd=folder,
    )  # fmt: skip
    return MultiRoundRuns(folder, three, built, verified, injury, no_id)
