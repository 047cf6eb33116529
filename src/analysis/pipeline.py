"""The whole run: clean each round, construct the panel, estimate, then write the reports.

Every stage is a parameterized notebook in ``notebooks/`` executed by papermill, so each step
can be opened and rerun in JupyterLab. The executed notebooks are kept under
``<out>/notebooks/``; the HTML reports are exported from them without code.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from analysis.config import NOTEBOOKS_DIR, PROJECT_ROOT, ROUNDS
from analysis.execute import execute
from analysis.html_export import export_html
from analysis.index_page import index_page
from analysis.provenance import (
    RunRecord,
    changed_inputs,
    hash_inputs,
    write_json_atomic,
    write_text_atomic,
)
from analysis.report import write_provenance
from analysis.stages import processed_dir_for, villages_of
from analysis.study import Study, load_study, slug

NOTEBOOKS = {
    "clean": "01_clean_round.ipynb",
    "construct": "02_construct_panel.ipynb",
    "estimate": "03_estimate_impacts.ipynb",
    "programme": "04_programme_report.ipynb",
    "village": "05_village_report.ipynb",
}

Logger = Callable[[str], None]


@dataclass(frozen=True)
class VillageResult:
    """The outcome of one village report."""

    village: str
    file: str
    status: str
    seconds: float
    error: str = ""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def village_file_names(villages: Sequence[str]) -> dict[str, str]:
    """Safe, unique file names for village reports (``villages/<slug>.html``)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for village in villages:
        base = slug(village)
        name, n = base, 2
        while name.casefold() in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name.casefold())
        names[village] = f"{name}.html"
    return names


def _village_task(
    study_path: str,
    village: str,
    file_name: str,
    out: str,
    processed: str,
    language: str,
    timeout: float,
) -> VillageResult:
    """Run one village report in a worker process; never raises."""
    start = time.perf_counter()
    out_dir = Path(out)
    executed = out_dir / "notebooks" / "villages" / file_name.replace(".html", ".ipynb")
    try:
        nb = execute(
            NOTEBOOKS_DIR / NOTEBOOKS["village"],
            executed,
            parameters={
                "study_path": study_path,
                "village": village,
                "processed_dir": processed,
                "tables_dir": str(out_dir / "tables"),
                "language": language,
            },
            cwd=NOTEBOOKS_DIR,
            timeout=timeout,
        )
        export_html(nb, out_dir / "villages" / file_name, title=f"Desa {village}", language=language)
        status, error = "ok", ""
    except Exception as exc:  # one village's failure must never stop the others
        status = "failed"
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    return VillageResult(village, file_name, status, round(time.perf_counter() - start, 2), error[:400])


def run_villages(
    study: Study,
    villages: Sequence[str],
    *,
    out: Path,
    processed: Path,
    workers: int,
    timeout: float = 600,
    log: Logger = _stderr,
) -> list[VillageResult]:
    """Write one report per village on a local process pool."""
    names = village_file_names(villages)
    args = [
        (str(study.path), v, names[v], str(out), str(processed), study.language, timeout) for v in villages
    ]
    results: list[VillageResult] = []
    if workers <= 1:
        for a in args:
            results.append(_village_task(*a))
            log(f"  village {a[1]}: {results[-1].status}")
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_village_task, *a) for a in args]
            for done, future in enumerate(as_completed(futures), start=1):
                result = future.result()
                results.append(result)
                log(f"  village {result.village}: {result.status} ({done}/{len(args)})")
    return sorted(results, key=lambda r: r.village)


def run_study(
    study_path: str | Path,
    *,
    out: str | Path,
    village_reports: bool = True,
    workers: int | None = None,
    log: Logger = _stderr,
) -> int:
    """Run the whole pipeline; returns the process exit code (0 = everything succeeded).

    Parameters
    ----------
    study_path
        The study file.
    out
        The output folder (``index.html``, ``programme.html``, ``villages/``, ``tables/``,
        ``run.json``).
    village_reports
        Whether to write the per-village reports.
    workers
        Parallel village reports; defaults to the number of cores.
    log
        Where progress messages go.
    """
    study = load_study(study_path)
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    processed = processed_dir_for(study, out)
    tables = out / "tables"
    executed = out / "notebooks"
    workers = workers or os.cpu_count() or 1
    inputs = hash_inputs(study.input_files(), root=PROJECT_ROOT)
    changed = changed_inputs(out / "run.json", inputs)
    for name in changed:
        log(f"note: {name} changed since the last run (SHA-256 differs)")
    record = RunRecord(
        study=study.name,
        parameters={
            "study": str(study.path),
            "out": str(out),
            "village_reports": village_reports,
            "workers": workers,
            "language": study.language,
            "seed": study.seed,
            "min_cell": study.min_cell,
        },
        inputs=inputs,
        extra={"changed_inputs": changed},
    )
    common = {"study_path": str(study.path), "processed_dir": str(processed)}
    exit_code = 0
    try:
        for round_name in ROUNDS:
            with record.stage(f"clean_{round_name}"):
                log(f"clean {round_name}")
                execute(
                    NOTEBOOKS_DIR / NOTEBOOKS["clean"],
                    executed / f"01_clean_{round_name}.ipynb",
                    parameters={**common, "round_name": round_name},
                    cwd=NOTEBOOKS_DIR,
                )
        with record.stage("construct"):
            log("construct panel")
            execute(
                NOTEBOOKS_DIR / NOTEBOOKS["construct"],
                executed / "02_construct_panel.ipynb",
                parameters=common,
                cwd=NOTEBOOKS_DIR,
            )
        with record.stage("estimate"):
            log("estimate impacts")
            execute(
                NOTEBOOKS_DIR / NOTEBOOKS["estimate"],
                executed / "03_estimate_impacts.ipynb",
                parameters={**common, "tables_dir": str(tables)},
                cwd=NOTEBOOKS_DIR,
            )
        write_provenance(study, tables / "provenance.json", root=PROJECT_ROOT)
        with record.stage("programme_report"):
            log("programme report")
            nb = execute(
                NOTEBOOKS_DIR / NOTEBOOKS["programme"],
                executed / "04_programme_report.ipynb",
                parameters={**common, "tables_dir": str(tables), "language": study.language},
                cwd=NOTEBOOKS_DIR,
            )
            export_html(nb, out / "programme.html", title=study.name, language=study.language)
        results: list[VillageResult] = []
        if village_reports:
            villages = villages_of(tables)
            with record.stage("village_reports") as stage:
                log(f"village reports: {len(villages)} villages on {workers} workers")
                results = run_villages(
                    study, villages, out=out, processed=processed, workers=workers, log=log
                )
                failed = [r for r in results if r.status != "ok"]
                stage.detail = f"{len(results) - len(failed)} ok, {len(failed)} failed"
                if failed:
                    stage.status = "failed"
                    exit_code = 1
                    for r in failed:
                        log(f"FAILED village {r.village}: {r.error}")
        with record.stage("index"):
            write_text_atomic(out / "index.html", index_page(study, tables, results, has_programme=True))
        record.extra["villages"] = [vars(r) for r in results]
    except Exception as exc:
        record.extra["error"] = f"{type(exc).__name__}: {exc}"
        record.extra["traceback"] = traceback.format_exc()
        write_json_atomic(out / "run.json", record.to_dict())
        raise
    write_json_atomic(out / "run.json", record.to_dict())
    log(f"done: {out}")
    return exit_code


def summary_json(out: Path) -> dict[str, object]:
    """The run record of a finished run."""
    result: dict[str, object] = json.loads((out / "run.json").read_text())
    return result
