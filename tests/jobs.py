"""In-process builds that tests/conftest.py runs as background jobs (tests/background.py).

Each writes into the folder it is given and returns what its tests read (paths, small frames),
pickled back to the session. They call the stage functions, or the command line's ``main``, in
the job's own process: the same code the tests ran in-process before, on the second core.
"""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.config import DEMO_DIR, DEMO_STUDY
from analysis.demo.survey import write_demo
from analysis.inputs.study import load_study
from analysis.shared.files import sha256_file
from analysis.stages import clean_stage, construct_stage, estimate_stage
from analysis.stages.folders import processed_dir_for

#: Few bootstrap draws: these studies test what the stages write, not the inference.
FEW_DRAWS = "\nwild_bootstrap_reps: 99\nlee_bounds_reps: 49\ndesign_test_reps: 49\n"


def run_stages(study: Path, out: Path) -> tuple[Path, Path]:
    """Clean both rounds, construct and estimate in-process; returns (processed, tables)."""
    processed, tables = out / "processed", out / "tables"
    for round_name in ("baseline", "followup"):
        clean_stage(study, round_name, processed)
    construct_stage(study, processed)
    estimate_stage(study, processed, tables)
    return processed, tables


# --- the bundled demo (``demo_stages``) ---------------------------------------------------------


@dataclass(frozen=True)
class DemoStages:
    """The bundled demo after the data stages, and the SHA-256 of its raw folder before them."""

    processed: Path
    tables: Path
    raw_before: dict[str, str]


def build_demo_stages(folder: Path) -> DemoStages:
    """data/raw/demo/study.yml through clean, construct and estimate, in-process."""
    before = {p.name: sha256_file(p) for p in sorted(DEMO_DIR.iterdir())}
    processed, tables = run_stages(DEMO_STUDY, folder)
    return DemoStages(processed, tables, before)


# --- one programme or comparison village (tests/estimate/test_one_treated_cluster.py) ----------


def one_cluster_study(folder: Path, arms: list[str], *, language: str = "en") -> Path:
    """The demo survey with 4 villages × 15 households and the given village arms."""
    write_demo(folder, villages=4, households=15, seed=3)
    villages = pd.read_csv(folder / "villages.csv", dtype=str)
    villages["treat"] = arms
    villages.to_csv(folder / "villages.csv", index=False)
    study = folder / "study.yml"
    text = study.read_text(encoding="utf-8").replace("language: id", f"language: {language}")
    study.write_text(text + FEW_DRAWS + "vcov_extra: [CRV3, RI]\n", encoding="utf-8")
    return study


@dataclass(frozen=True)
class OneClusterStages:
    """The data stages in-process on the two one-cluster studies."""

    pilot: tuple[Path, Path, Path]  # one programme village: study, processed, tables
    one_comparison: tuple[Path, Path]  # one comparison village: processed, tables


def build_one_cluster_stages(folder: Path) -> OneClusterStages:
    pilot = one_cluster_study(folder / "pilot" / "raw", ["1", "0", "0", "0"])
    comparison = one_cluster_study(folder / "one_comparison" / "raw", ["1", "1", "1", "0"])
    return OneClusterStages(
        pilot=(pilot, *run_stages(pilot, folder / "pilot" / "out")),
        one_comparison=run_stages(comparison, folder / "one_comparison" / "out"),
    )


def build_one_cluster_pilot(folder: Path) -> tuple[Path, Path, Path, Path, int]:
    """The whole pipeline (notebooks included) on the study with one programme village."""
    from analysis.run.pipeline import run_study

    study = one_cluster_study(folder / "raw", ["1", "0", "0", "0"])
    out = folder / "out"
    code = run_study(study, out=out, village_reports=False, progress=False, log=lambda _: None)
    processed = processed_dir_for(load_study(study), out)
    return study, processed, out / "tables", out, code


# --- replication packages (tests/run/test_replication.py) ---------------------------------------


@dataclass(frozen=True)
class Run:
    """What ``berdaya ARGS`` returned and printed, run in-process."""

    code: int
    out: str
    err: str


def cli(*argv: str) -> Run:
    """``berdaya ARGS`` through ``analysis.run.cli.main`` in this process, its output captured."""
    from analysis.run.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return Run(code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class Verified:
    """One ``berdaya verify PACKAGE`` in-process, with what ``verify_package`` returned inside it."""

    result: Any  # analysis.run.replication.Verification
    code: int
    out: str
    before: list[str]  # the package's files before the command
    after: list[str]  # and after it


def verify_command(package: Path) -> Verified:
    """Run the verify command once; the tests of the command and of ``verify_package`` share it.

    ``verify_package`` rebuilds the tables (seconds): the command calls the real function, and
    a wrapper keeps what it returned.
    """
    import analysis.run.replication
    from analysis.run.cli import main

    real, seen = analysis.run.replication.verify_package, []

    def keep(path: Path) -> Any:
        seen.append(real(path))
        return seen[-1]

    def files() -> list[str]:
        return sorted(str(p.relative_to(package)) for p in package.rglob("*"))

    before, out = files(), io.StringIO()
    analysis.run.replication.verify_package = keep  # type: ignore[assignment]
    try:
        with redirect_stdout(out):
            code = main(["verify", str(package)])
    finally:
        analysis.run.replication.verify_package = real
    assert len(seen) == 1
    return Verified(seen[0], code, out.getvalue(), before, files())


def alter(package: Path, copy: Path) -> Path:
    """A copy of the package with one household's wage income raised in the processed data."""
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
    return copy


@dataclass(frozen=True)
class Packages:
    """The replication tests' study, its two packages with what each command printed, and
    ``berdaya verify`` on the package and on a copy with one value changed (``altered``)."""

    study: Path
    package: Path
    run: Run
    raw_package: Path
    raw_run: Run
    altered: Path
    verified: Verified
    verified_altered: Verified


def build_packages(folder: Path) -> Packages:
    """Six villages × 20 households; ``berdaya package`` without and with ``--include-raw``."""
    write_demo(folder / "study", villages=6, households=20, seed=11)
    # Few bootstrap draws: every build and verify reruns the estimate stage, and the package
    # checks do not depend on the number of draws.
    study = folder / "study" / "study.yml"
    study.write_text(study.read_text() + FEW_DRAWS.lstrip("\n"))
    package, raw_package = folder / "replication" / "package", folder / "replication_raw" / "package"
    run = cli("package", str(study), "--out", str(package))
    raw_run = cli("package", str(study), "--out", str(raw_package), "--include-raw")
    if run.code != 0:  # the tests report it
        return Packages(study, package, run, raw_package, raw_run, package, None, None)  # type: ignore[arg-type]
    altered = alter(package, folder / "altered" / "package")
    return Packages(
        study, package, run, raw_package, raw_run, altered, verify_command(package), verify_command(altered)
    )


# --- 5,000 households (tests/stages/test_scale_correctness.py) ----------------------------------


def build_scale_run(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo at 50 villages × 100 households through the stages: (panel, impact table)."""
    write_demo(folder / "study", villages=50, households=100, seed=7)
    processed, tables = run_stages(folder / "study" / "study.yml", folder)
    return pd.read_parquet(processed / "panel.parquet"), pd.read_csv(tables / "impact.csv")


# --- the tutorials (tests/report/test_tutorial.py) ----------------------------------------------

TUTORIALS = (("tutorial.ipynb", "en"), ("tutorial_id.ipynb", "id"))


def run_tutorials(study: Path, folder: Path) -> dict[str, tuple[Path, Path, str]]:
    """Each tutorial through ``analysis.run.execute.execute`` (papermill) on ``study``.

    Returns, by notebook name, the executed notebook, the tutorial's work folder and the error
    its run raised (``""`` if none), so that one failing tutorial does not hide the other.
    """
    import traceback

    from analysis.config import NOTEBOOKS_DIR
    from analysis.run.execute import execute

    runs = {}
    for name, language in TUTORIALS:
        work = folder / language / "work"
        executed = folder / language / name
        try:
            execute(
                NOTEBOOKS_DIR / name,
                executed,
                parameters={"study_path": str(study), "work_dir": str(work), "language": language},
                cwd=NOTEBOOKS_DIR,
            )
            error = ""
        except Exception:
            error = traceback.format_exc()
        runs[name] = (executed, work, error)
    return runs


# --- the file-name layout (tests/shared/test_layout.py) ------------------------------------------


def build_layout_stages(folder: Path) -> tuple[Path, Path]:
    """The demo at 10 villages × 20 households (seed 5) through the stages: (processed, tables)."""
    write_demo(folder / "study", villages=10, households=20, seed=5)
    study = folder / "study" / "study.yml"
    # Few resamples: only the file names matter here.
    study.write_text(study.read_text() + FEW_DRAWS.lstrip("\n"))
    return run_stages(study, folder)


# --- user text (tests/shared/test_user_text.py) -------------------------------------------------

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
ARABIC = "مسجد النور"
#: Village codes that start with spreadsheet formula triggers, and names and labels with bidi controls.
CODES = {"0101": "=X", "0102": "+62", "0201": "-1", "0202": "@a"}
HOSTILE_NAME = f"Mekar{RLO}agung"
STUDY_NAME = f"Studi {RLO}uji"
INCOME_LABEL = f"Pendapatan {RLO}per orang"


def build_user_text_stages(folder: Path) -> tuple[Path, Path, Path]:
    """A small demo (4 villages × 12 households, seed 7) with those codes and names, through the
    stages in-process: (study, processed, tables)."""
    import re

    data = folder
    write_demo(data, villages=4, households=12, seed=7)
    for name in ("baseline_2023.csv", "followup_2025.csv"):
        path = data / name
        text = path.read_text(encoding="utf-8")
        for old, new in CODES.items():
            assert f'"{old}"' in text
            text = text.replace(f'"{old}"', f'"{new}"')
        path.write_text(text, encoding="utf-8")
    villages = pd.read_csv(data / "villages.csv", dtype=str, keep_default_na=False)
    villages.loc[villages["village"] == "0101", "village_name"] = HOSTILE_NAME
    villages.loc[villages["village"] == "0102", "village_name"] = ARABIC
    villages["village"] = villages["village"].replace(CODES)
    villages.to_csv(data / "villages.csv", index=False)
    study = (data / "study.yml").read_text(encoding="utf-8")
    study = re.sub(r'^name: ".*"$', 'name: "Studi \\\\u202Euji"', study, count=1, flags=re.MULTILINE)
    study = study.replace(
        "- {name: income_pc, family: income}",
        '- {name: income_pc, family: income, label: "Pendapatan \\u202Eper orang"}',
    )
    (data / "study.yml").write_text(study, encoding="utf-8")
    assert load_study(data / "study.yml").name == STUDY_NAME
    processed, tables = run_stages(data / "study.yml", data / "out")
    return data / "study.yml", processed, tables
