"""The whole run: clean each round, construct the panel, estimate, then write the reports.

Every stage is a parameterized notebook in ``notebooks/`` executed by papermill, so each step
can be opened and rerun in JupyterLab. The executed notebooks are kept under
``<out>/notebooks/``; the HTML reports are exported from them without code. The stage
notebooks run one after another in one warm kernel (:class:`Run`): pandas, statsmodels and
``analysis`` are imported once per run, not once per notebook, and each notebook still starts
from the same clean state (:mod:`analysis.run.kernel_state`).

Runs are incremental. Each step's content hash — notebook, parameters, the study's input
files, the outputs of the steps before it, package versions and the ``analysis`` source — is
recorded in ``run.json``; a later run skips a step whose hash is unchanged and whose outputs
are still on disk as written (:mod:`analysis.run.fingerprint`). The village reports are written by
the batch engine (:mod:`analysis.run.batch`): warm kernels on local worker processes or on a Dask
cluster, one village's failure never stopping the others.

Heavy libraries (papermill, nbconvert, matplotlib, statsmodels) are imported only when a step
actually runs, so a run with nothing to do takes a second or two.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.config import NOTEBOOKS_DIR, PROJECT_ROOT, ROUNDS
from analysis.errors import BerdayaError
from analysis.inputs.study import Study, load_study, slug
from analysis.run.batch import FAILURE_LABELS, Interrupted, VillageJob, VillageResult, run_batch
from analysis.run.fingerprint import PathLabels, digest, environment, files_intact, stat_tree, written_between
from analysis.run.provenance import RunRecord, StageRecord, changed_inputs, data_summaries
from analysis.shared import layout
from analysis.shared.files import (
    check_writable_folder,
    hash_inputs,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)
from analysis.shared.run_warnings import RunWarning, read_warnings_table
from analysis.shared.versions import git_commit
from analysis.stages.folders import claim_processed, processed_dir_for

if TYPE_CHECKING:
    from nbformat import NotebookNode

    from analysis.run.kernels import WarmKernel

__all__ = [
    "NOTEBOOKS",
    "Run",
    "RunOptions",
    "VillageResult",
    "run_study",
    "run_villages",
    "run_with_options",
    "summary_json",
    "village_file_names",
]

#: The template notebook of each stage, named once with the other file names.
NOTEBOOKS = layout.NOTEBOOKS

Logger = Callable[[str], None]

#: Seconds between checkpoints of ``run.json`` while villages are written; a checkpoint is
#: what lets an interrupted batch resume where it stopped.
CHECKPOINT_SECONDS = 5.0


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
        names[village] = layout.village_html(name)
    return names


def village_parameters(study: Study, village: str, *, processed: Path, tables: Path) -> dict[str, Any]:
    """The parameters of ``05_village_report.ipynb`` for one village."""
    return {
        "study_path": str(study.path),
        "village": village,
        "processed_dir": str(processed),
        "tables_dir": str(tables),
        "language": study.language,
    }


def run_villages(
    study: Study,
    villages: Sequence[str],
    *,
    out: Path,
    processed: Path,
    tables: Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    timeout: float = 600,
    timeouts: Mapping[str, float] | None = None,
    notebook: Path | None = None,
    keys: Mapping[str, str] | None = None,
    on_result: Callable[[VillageResult], None] | None = None,
    progress: bool | None = None,
    log: Logger = _stderr,
) -> list[VillageResult]:
    """Write one report per village with the batch engine; nothing is skipped here.

    Parameters
    ----------
    study
        The study.
    villages
        Village codes to write.
    out
        Output folder: reports go to ``villages/``, executed notebooks to
        ``notebooks/villages/``.
    processed, tables
        Where the stages wrote their data and tables (``tables`` defaults to
        ``out/tables``).
    workers
        Local worker processes, each with one warm kernel.
    scheduler
        Address of a Dask scheduler to run on instead (``tcp://host:8786``).
    timeout
        Seconds each village may take.
    timeouts
        Per-village exceptions to ``timeout``.
    notebook
        The village notebook (default: ``notebooks/05_village_report.ipynb``).
    keys
        Content hash per village, recorded with its result.
    on_result
        Called with each result as it arrives.
    progress
        Show a progress bar (default: when standard error is a terminal; otherwise a line every
        tenth of the villages, through ``log``).
    log
        Where messages go.

    Returns
    -------
    list of VillageResult
        One per village, sorted by village.
    """
    out = Path(out).resolve()
    tables = Path(tables).resolve() if tables is not None else out / layout.TABLES_DIR
    notebook = Path(notebook or NOTEBOOKS_DIR / NOTEBOOKS["village"]).resolve()
    names = village_file_names(villages)
    jobs = [
        VillageJob(
            village=v,
            file=names[v],
            notebook=str(notebook),
            parameters=village_parameters(study, v, processed=Path(processed).resolve(), tables=tables),
            out=str(out),
            timeout=float((timeouts or {}).get(v, timeout)),
            title=f"Desa {v}",
            language=study.language,
            key=(keys or {}).get(v, ""),
        )
        for v in villages
    ]
    where = f"the Dask cluster at {scheduler}" if scheduler else f"{min(workers, len(jobs))} worker(s)"
    if jobs:
        log(f"village reports: {len(jobs)} to write on {where}")
    results = run_batch(
        jobs, workers=workers, scheduler=scheduler, on_result=on_result, progress=progress, log=log
    )
    return sorted(results, key=lambda r: r.village)


#: The lock file a run holds in its output folder and in its processed folder.
LOCK_FILE = layout.LOCK_FILE


@contextlib.contextmanager
def _exclusive(folder: Path, *, advice: str = "wait for it to finish") -> Iterator[None]:
    """Refuse a second concurrent run on the same folder (POSIX advisory lock).

    Held on the output folder and on the processed folder: two runs with different ``--out``
    but one processed folder (two study files in one ``data/raw/<name>/``) would otherwise
    read each other's half-written files and publish wrong numbers with exit code 0.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock
        yield
        return
    try:
        handle = (folder / LOCK_FILE).open("a+")
    except OSError as exc:
        raise BerdayaError(f"cannot write {folder / LOCK_FILE}: {exc.strerror or exc}") from exc
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise BerdayaError(f"another berdaya run is writing to {folder}; {advice}") from exc
        yield
    finally:
        handle.close()


def _make_folder(folder: Path, *, what: str) -> Path:
    """Check and create a folder the run writes, as one readable error if that fails."""
    folder = check_writable_folder(folder, what=what).resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BerdayaError(f"cannot create {what} {folder}: {exc.strerror or exc}") from exc
    return folder


@dataclass
class _Steps:
    """The incremental bookkeeping of one run."""

    labels: PathLabels
    environment: str
    inputs: dict[str, str]
    previous: dict[str, Any]
    stages: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    notebooks: dict[Path, str] = field(default_factory=dict)

    def key(
        self, step: str, notebook: Path | None, parameters: Mapping[str, Any], upstream: Mapping[str, str]
    ) -> str:
        """The content hash of one step."""
        if notebook is not None and notebook not in self.notebooks:
            self.notebooks[notebook] = sha256_file(notebook)  # once per run, not once per village
        return digest(
            {
                "step": step,
                "notebook": self.notebooks[notebook] if notebook is not None else None,
                "parameters": self.labels.portable(dict(parameters)),
                "environment": self.environment,
                "inputs": self.inputs,
                "upstream": dict(upstream),
            }
        )

    def unchanged(self, step: str, key: str, *must_exist: Path) -> dict[str, str] | None:
        """The recorded outputs of ``step`` when it may be skipped, else None."""
        before = self.previous.get("stages", {}).get(step)
        if not before or before.get("key") != key or not all(p.is_file() for p in must_exist):
            return None
        outputs = dict(before.get("outputs", {}))
        return outputs if files_intact(outputs, self.labels) else None

    def done(self, step: str, key: str, outputs: dict[str, str]) -> None:
        self.stages[step] = {"key": key, "outputs": outputs}
        self.outputs[step] = outputs

    def upstream(self, *steps: str) -> dict[str, str]:
        merged: dict[str, str] = {}
        for step in steps:
            merged.update(self.outputs.get(step, {}))
        return merged

    def record(self) -> dict[str, Any]:
        # Steps this run did not reach keep their last record: their keys still decide.
        return {**self.previous, **self.meta, "stages": {**self.previous.get("stages", {}), **self.stages}}


def _read_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _report_intact(result: VillageResult, out: Path) -> bool:
    path = out / layout.VILLAGES_DIR / result.file
    return bool(result.sha256) and path.is_file() and sha256_file(path) == result.sha256


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What a run was asked to do besides which study and where: the options of ``berdaya run``.

    Attributes
    ----------
    village_reports
        Whether to write the per-village reports.
    workers
        Local worker processes for village reports.
    scheduler
        Address of a running Dask scheduler to write the village reports on instead.
    villages
        Only these village codes (empty: all); the others keep their last report while it is
        still current.
    retry_failed
        Only the villages that failed in the last run.
    timeout
        Seconds each village report may take.
    timeouts
        Per-village exceptions to ``timeout``.
    village_notebook
        Another village notebook instead of ``notebooks/05_village_report.ipynb``.
    progress
        Show a progress bar (None: when standard error is a terminal).
    log
        Where progress messages go.
    """

    village_reports: bool = True
    workers: int = 1
    scheduler: str | None = None
    villages: tuple[str, ...] = ()
    retry_failed: bool = False
    timeout: float = 600
    timeouts: Mapping[str, float] = field(default_factory=dict)
    village_notebook: Path | None = None
    progress: bool | None = None
    log: Logger = _stderr

    @property
    def notebook(self) -> Path:
        """The village notebook this run uses."""
        return Path(self.village_notebook) if self.village_notebook else NOTEBOOKS_DIR / NOTEBOOKS["village"]


#: Seconds any one cell of a stage notebook may run (papermill's ``execution_timeout``).
STAGE_CELL_TIMEOUT = 600.0

#: The stage notebooks a run executes, in order, in one kernel: their imports warm it up.
STAGE_NOTEBOOKS = ("clean", "construct", "estimate", "programme")


def run_study(
    study_path: str | Path,
    *,
    out: str | Path,
    village_reports: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
    villages: Sequence[str] | None = None,
    retry_failed: bool = False,
    timeout: float = 600,
    timeouts: Mapping[str, float] | None = None,
    village_notebook: Path | None = None,
    progress: bool | None = None,
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
    village_reports ... log
        The options of ``berdaya run``, each described in :class:`RunOptions`; ``workers``
        defaults to the number of cores.

    Returns
    -------
    int
        0 when everything succeeded, 1 when some village reports failed.

    Raises
    ------
    BerdayaError
        Before any work, when the output or processed folder cannot be written, when another
        run is writing to either, or when the processed folder holds another study's data
        (:func:`analysis.stages.folders.claim_processed`); later, for problems in the study's data.
    Interrupted
        On Ctrl-C or SIGTERM, after recording in ``run.json`` what was done.
    """
    options = RunOptions(
        village_reports=village_reports,
        workers=workers or os.cpu_count() or 1,
        scheduler=scheduler,
        villages=tuple(villages or ()),
        retry_failed=retry_failed,
        timeout=timeout,
        timeouts=dict(timeouts or {}),
        village_notebook=Path(village_notebook) if village_notebook else None,
        progress=progress,
        log=log,
    )
    return run_with_options(study_path, out=out, options=options)


def run_with_options(study_path: str | Path, *, out: str | Path, options: RunOptions) -> int:
    """:func:`run_study` with its options gathered: lock the folders, then run.

    Parameters
    ----------
    study_path
        The study file.
    out
        The output folder.
    options
        What to do.

    Returns
    -------
    int
        0 when everything succeeded, 1 when some village reports failed.
    """
    from analysis.run.batch import interruptible

    study = load_study(study_path)
    folder = _make_folder(Path(out), what="output folder")
    with _exclusive(folder):
        processed = _make_folder(processed_dir_for(study, folder), what="processed folder")
        shared = (
            "wait for it to finish. Two study files that share a processed folder must not run "
            "at the same time; give each its own with the study key `processed`"
        )
        with _exclusive(processed, advice=shared), interruptible():
            if not processed.is_relative_to(folder):
                # A processed folder outside the output folder can be another study's; one
                # inside it belongs to whatever this output folder now holds.
                claim_processed(processed, study.path)
            return Run.start(study, out=folder, processed=processed, options=options).go()


@dataclass
class Run:
    """One run under way: the study, its folders, its options and its record.

    :meth:`start` reads the last record and fingerprints what the steps depend on;
    :meth:`go` runs every step that is not current. The stage notebooks run one after another
    in one warm kernel (:func:`analysis.run.kernels.execute_in`), shut down before the village
    reports, which bring their own. A first run in an output folder runs every stage, so it
    launches that kernel before it hashes anything: the kernel's imports and the run's own
    start-up then overlap. Other runs start it when the first stage must run.

    Attributes
    ----------
    study
        The study.
    out, processed
        The output folder and the processed folder (both locked by the caller).
    options
        What the run was asked to do.
    previous
        The last run's ``run.json`` (empty when there is none).
    inputs
        SHA-256 of the study's input files, named relative to the project.
    steps
        The incremental bookkeeping: each step's key and outputs.
    record
        ``run.json`` as it accumulates.
    results
        Village reports written or kept by this run.
    kernel
        The stage kernel, while it runs.
    """

    study: Study
    out: Path
    processed: Path
    options: RunOptions
    previous: dict[str, Any]
    inputs: dict[str, str]
    steps: _Steps
    record: RunRecord
    results: list[VillageResult] = field(default_factory=list)
    kernel: WarmKernel | None = None

    @property
    def tables(self) -> Path:
        """The published tables (``out/tables``)."""
        return self.out / layout.TABLES_DIR

    @property
    def executed(self) -> Path:
        """The executed stage notebooks (``out/notebooks``)."""
        return self.out / layout.EXECUTED_DIR

    @property
    def run_json(self) -> Path:
        """The run record."""
        return self.out / layout.RUN_JSON

    @classmethod
    def start(cls, study: Study, *, out: Path, processed: Path, options: RunOptions) -> Run:
        """Read the last record, note what changed since, and fingerprint this run's inputs.

        Creates the study's pseudonymization key when it has none (announced once). On a first
        run in the output folder, launches the stage kernel before anything else.
        """
        run_json = out / layout.RUN_JSON
        previous = _read_record(run_json)
        incremental = previous.get("incremental")
        done_before = isinstance(incremental, dict) and bool(incremental.get("stages"))
        kernel = None if done_before else _stage_kernel()
        try:
            if kernel is not None:
                kernel.launch()
            return cls._start(
                study, out=out, processed=processed, options=options, previous=previous, kernel=kernel
            )
        except BaseException:
            if kernel is not None:
                _close(kernel)
            raise

    @classmethod
    def _start(
        cls,
        study: Study,
        *,
        out: Path,
        processed: Path,
        options: RunOptions,
        previous: dict[str, Any],
        kernel: WarmKernel | None,
    ) -> Run:
        """:meth:`start` once the stage kernel, if any, is launched."""
        log = options.log
        run_json = out / layout.RUN_JSON
        inputs = hash_inputs(study.input_files(), root=PROJECT_ROOT)
        changed = changed_inputs(run_json, inputs)
        for name in changed:
            log(f"note: {name} changed since the last run (SHA-256 differs)")
        labels = PathLabels({"out": out, "study": study.folder, "project": PROJECT_ROOT})
        # Create the pseudonym key (announced once) before fingerprinting rather than in the first
        # stage's kernel: the new key is then part of this run's fingerprint, and the next run
        # does not mistake it for a changed key and redo everything.
        from analysis.clean.deidentify import resolve_key

        resolve_key(study, announce=log)
        env = environment(study)
        steps = _Steps(
            labels=labels,
            environment=digest(env),
            inputs=hash_inputs(study.input_files(), root=study.folder),
            previous=previous.get("incremental", {}) if isinstance(previous.get("incremental"), dict) else {},
        )
        _note_environment(steps.previous.get("environment"), env, log=log)
        steps.meta["environment"] = env
        record = RunRecord(
            study=study.name,
            parameters={
                "study": str(study.path),
                "out": str(out),
                "village_reports": options.village_reports,
                "workers": options.workers,
                "scheduler": options.scheduler,
                "villages": list(options.villages) if options.villages else None,
                "retry_failed": options.retry_failed,
                "timeout": options.timeout,
                "language": study.language,
                "seed": study.seed,
                "min_cell": study.min_cell,
            },
            inputs=inputs,
            extra={"changed_inputs": changed},
        )
        return cls(
            study=study,
            out=out,
            processed=processed,
            options=options,
            previous=previous,
            inputs=inputs,
            steps=steps,
            record=record,
            kernel=kernel,
        )

    def go(self) -> int:
        """Run every step that is not current, then write ``index.html`` and ``run.json``.

        Returns
        -------
        int
            0 when everything succeeded, 1 when some village reports failed.
        """
        log, study, steps, record = self.options.log, self.study, self.steps, self.record
        began = time.perf_counter()
        common = {"study_path": str(study.path), "processed_dir": str(self.processed)}
        tables = {"tables_dir": str(self.tables)}
        cleaned = [f"clean_{r}" for r in ROUNDS]
        try:
            try:
                for round_name in ROUNDS:
                    self._stage(
                        f"clean_{round_name}",
                        f"clean {round_name}",
                        "clean",
                        layout.executed_clean_notebook(round_name),
                        {**common, "round_name": round_name},
                        {},
                    )
                self._stage(
                    "construct",
                    "construct panel",
                    "construct",
                    layout.executed_notebook("02_construct_panel"),
                    common,
                    steps.upstream(*cleaned),
                )
                self._stage(
                    "estimate",
                    "estimate impacts",
                    "estimate",
                    layout.executed_notebook("03_estimate_impacts"),
                    {**common, **tables},
                    steps.upstream(*cleaned, "construct"),
                )
                record.extra["data"] = data_summaries(self.processed, ROUNDS)
                self._provenance()
                data_steps = steps.upstream(*cleaned, "construct", "estimate", "provenance")
                self._stage(
                    "programme_report",
                    "programme report",
                    "programme",
                    layout.executed_notebook("04_programme_report"),
                    {**common, **tables, "language": study.language},
                    data_steps,
                    html=(self.out / layout.PROGRAMME_HTML, study.name),
                )
            finally:
                # The stage kernel holds a study's worth of memory; the village workers start
                # their own kernels.
                self._close_kernel()
            exit_code = 0
            if self.options.village_reports:
                with record.stage("village_reports") as st:
                    exit_code = self._village_reports(data_steps, st)
            else:
                self._keep_current_reports(data_steps)
            with record.stage("index") as st:
                self._index(st)
            # Printed on every run, skipped stages included: they describe the tables on disk.
            warnings = read_warnings_table(self.tables) + _run_warnings(self.processed, self.out)
            record.extra["warnings"] = [asdict(w) for w in warnings]
            for warning in warnings:
                log(f"warning: {warning.message}")
        except Interrupted as exc:
            if record.stages and record.stages[-1].status == "failed":
                record.stages[-1].status = "interrupted"
            record.extra["interrupted"] = exc.signum
            self.save()
            done = sum(1 for r in self.results if not r.reused)
            log(
                f"interrupted ({exc}); {done} village report(s) written. "
                "Run the same command again to resume."
            )
            raise
        except Exception as exc:
            record.extra["error"] = f"{type(exc).__name__}: {exc}"
            record.extra["traceback"] = traceback.format_exc()
            self.save()
            raise
        self.save()
        log(f"done: {self.out} ({time.perf_counter() - began:.0f} s in all)")
        return exit_code

    def save(self) -> None:
        """Write ``run.json`` as it stands (also a checkpoint while villages are written)."""
        self.record.extra["villages"] = [r.to_dict() for r in sorted(self.results, key=lambda r: r.village)]
        self.record.extra["incremental"] = self.steps.record()
        write_json_atomic(self.run_json, self.record.to_dict())

    def _stage(
        self,
        name: str,
        message: str,
        notebook: str,
        output: str,
        parameters: dict[str, Any],
        upstream: Mapping[str, str],
        *,
        html: tuple[Path, str] | None = None,
    ) -> None:
        """Execute one stage notebook unless its key and outputs are unchanged.

        ``notebook`` names the template in :data:`NOTEBOOKS`, ``output`` the executed copy in
        ``out/notebooks``; ``html`` is the report exported from it, and its title.
        """
        steps, log = self.steps, self.options.log
        template = NOTEBOOKS_DIR / NOTEBOOKS[notebook]
        executed = self.executed / output
        key = steps.key(name, template, parameters, upstream)
        with self.record.stage(name) as st:
            kept = steps.unchanged(name, key, executed, *([html[0]] if html else []))
            if kept is not None:
                st.status, st.detail = "skipped", "unchanged since the last run"
                log(f"{message}: unchanged, skipped")
                steps.done(name, key, kept)
                return
            log(f"{message} ...")
            start = time.perf_counter()
            watched = [self.processed, self.tables]
            before = stat_tree(watched)
            nb = self._execute(template, executed, parameters)
            written = written_between(before, stat_tree(watched))
            if html is not None:
                from analysis.report.html_export import export_html

                export_html(nb, html[0], title=html[1], language=self.study.language)
                written.append(html[0])
            steps.done(name, key, {steps.labels.label(p): sha256_file(p) for p in written})
            log(f"{message}: done in {time.perf_counter() - start:.1f} s")

    def _execute(self, template: Path, output: Path, parameters: Mapping[str, Any]) -> NotebookNode:
        """Execute a stage notebook in the run's stage kernel, started on first use."""
        from analysis.run.kernels import execute_in

        if self.kernel is None:
            self.kernel = _stage_kernel()
        return execute_in(self.kernel, template, output, parameters=parameters, timeout=STAGE_CELL_TIMEOUT)

    def _close_kernel(self) -> None:
        kernel, self.kernel = self.kernel, None
        if kernel is not None:
            _close(kernel)

    def _provenance(self) -> None:
        """Write ``tables/provenance.json`` when its facts changed (it imports matplotlib)."""
        study, steps = self.study, self.steps
        path = self.tables / layout.PROVENANCE_JSON
        key = digest(
            {
                "step": "provenance",
                "study": study.name,
                "study_file": study.path.name,
                "git_commit": git_commit(),
                # As provenance.json names them (relative to the project, else absolute): a moved
                # study folder must rewrite it.
                "inputs": dict(self.inputs),
                "environment": steps.environment,
            }
        )
        kept = steps.unchanged("provenance", key, path)
        if kept is None:
            from analysis.report.blocks import write_provenance

            write_provenance(study, path, root=PROJECT_ROOT)
            kept = {steps.labels.label(path): sha256_file(path)}
        steps.done("provenance", key, kept)

    def _village_keys(self, villages: Sequence[str], upstream: Mapping[str, str]) -> dict[str, str]:
        """Each village report's content hash."""
        notebook = self.options.notebook
        return {
            v: self.steps.key(
                "village",
                notebook,
                village_parameters(self.study, v, processed=self.processed, tables=self.tables),
                upstream,
            )
            for v in villages
        }

    def _keep_current_reports(self, upstream: Mapping[str, str]) -> None:
        """No reports this time; the index still links those that are current."""
        all_villages = _village_list(self.tables, self.steps)
        _remove_stale_reports(self.out, village_file_names(all_villages), log=self.options.log)
        keys = self._village_keys(all_villages, upstream)
        before = _previous_results(self.previous)
        self.results.extend(
            replace(before[v], reused=True, outdated=False)
            for v in all_villages
            if _current(before.get(v), keys[v], self.out)
        )

    def _village_reports(self, upstream: Mapping[str, str], stage: StageRecord) -> int:
        """Decide which villages to write, write them, and summarize; returns the exit code."""
        study, out, options, results, log = self.study, self.out, self.options, self.results, self.options.log
        villages, retry_failed = options.villages, options.retry_failed
        all_villages = _village_list(self.tables, self.steps)
        names = village_file_names(all_villages)
        _remove_stale_reports(out, names, log=log)
        keys = self._village_keys(all_villages, upstream)
        if villages:
            unknown = sorted(set(villages) - set(all_villages))
            if unknown:
                known = ", ".join(all_villages[:10]) + (", …" if len(all_villages) > 10 else "")
                raise BerdayaError(f"unknown village code(s) {', '.join(unknown)}; the study has {known}")
        selected = [v for v in all_villages if not villages or v in set(villages)]
        before = _previous_results(self.previous)
        if retry_failed:
            selected = [v for v in selected if v in before and before[v].status == "failed"]
            if not selected:
                log("village reports: no failed villages to retry")
        to_run: list[str] = []
        for v in selected:
            last = before.get(v)
            if (
                last is not None
                and last.status == "ok"
                and last.file == names[v]
                and _current(last, keys[v], out)
            ):
                results.append(replace(last, reused=True, outdated=False))
            else:
                to_run.append(v)
        chosen = set(selected)
        outdated: list[str] = []
        for v in all_villages:
            last = before.get(v)
            if v in chosen or last is None:
                continue
            # Villages outside this run's selection keep their last result while it is current;
            # one that is no longer current (the data or the code changed) stays listed, marked
            # outdated, rather than silently passing for a report of today's data.
            if _current(last, keys[v], out):
                results.append(replace(last, reused=True, outdated=False))
            elif last.file == names[v] and (last.status == "failed" or _report_intact(last, out)):
                results.append(replace(last, reused=True, outdated=True))
                outdated.append(v)
        reused = len(results) - len(outdated)
        if reused and not to_run:
            log(f"village reports: all {reused} unchanged, skipped")
        elif reused:
            log(f"village reports: {reused} unchanged, skipped")
        if outdated:
            option = "--retry-failed" if retry_failed and not villages else "--villages"
            shown = ", ".join(outdated[:10]) + (", …" if len(outdated) > 10 else "")
            log(
                f"village reports: {len(outdated)} outdated, not rerun because of {option} ({shown}); "
                f"they are marked outdated in index.html and run.json: rerun without {option} to update them"
            )

        last_save = time.monotonic()

        def checkpoint(result: VillageResult) -> None:
            nonlocal last_save
            results.append(result)
            if time.monotonic() - last_save >= CHECKPOINT_SECONDS:
                self.save()
                last_save = time.monotonic()

        start = time.perf_counter()
        new = run_villages(
            study,
            to_run,
            out=out,
            processed=self.processed,
            tables=self.tables,
            workers=options.workers,
            scheduler=options.scheduler,
            timeout=options.timeout,
            timeouts=options.timeouts,
            notebook=options.notebook,
            keys=keys,
            on_result=checkpoint,
            progress=options.progress,
            log=log,
        )
        seconds = time.perf_counter() - start
        failed = [r for r in new if r.status != "ok"]
        peaks: dict[str, int] = {}
        for r in new:
            if r.worker:
                peaks[r.worker] = max(peaks.get(r.worker, 0), r.peak_rss)
        stage.detail = f"{len(new) - len(failed)} written, {reused} unchanged, {len(failed)} failed" + (
            f", {len(outdated)} outdated" if outdated else ""
        )
        if not new:
            stage.status = "skipped"
        self.steps.meta["batch"] = {
            "workers": None if options.scheduler else min(options.workers, max(1, len(to_run))),
            "scheduler": options.scheduler,
            "villages_run": len(new),
            "seconds": round(seconds, 3),
            "peak_rss_per_worker": peaks,
        }
        if new:
            kinds: dict[str, int] = {}
            for r in failed:
                label = FAILURE_LABELS.get(r.failure or "error", "other error")
                kinds[label] = kinds.get(label, 0) + 1
            detail = f" ({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))})" if kinds else ""
            rate = len(new) / seconds * 60 if seconds > 0 else float("nan")
            log(
                f"village reports: {len(new) - len(failed)} written, {reused} unchanged, {len(failed)} failed"
                f"{detail} in {seconds:.1f} s ({rate:.0f} villages/min)"
            )
        for r in failed:
            where = f" [{r.failed_notebook}]" if r.failed_notebook else ""
            log(f"FAILED village {r.village}: {r.describe()}{where}")
        if failed:
            stage.status = "failed"
            log(f"rerun only the failures: berdaya run {study.path} --out {out} --retry-failed")
            return 1
        return 0

    def _index(self, st: StageRecord) -> None:
        """Write ``index.html`` unless nothing it shows has changed."""
        out, tables, steps, study = self.out, self.tables, self.steps, self.study
        # A failed village shows its cell, its error and a link to its kept notebook; a notebook
        # that is no longer there (removed by hand) gets no link.
        shown = [
            replace(r, failed_notebook="")
            if r.failed_notebook and not (out / r.failed_notebook).is_file()
            else r
            for r in self.results
        ]
        villages_csv = tables / layout.VILLAGES_CSV
        key = digest(
            {
                "step": "index",
                "results": sorted(
                    (r.village, r.file, r.status, r.where(), r.error, r.failed_notebook, r.outdated)
                    for r in shown
                ),
                "villages_csv": sha256_file(villages_csv) if villages_csv.is_file() else "",
                "environment": steps.environment,
                "study": study.name,
            }
        )
        path = out / layout.INDEX_HTML
        kept = steps.unchanged("index", key, path)
        if kept is not None:
            st.status, st.detail = "skipped", "unchanged since the last run"
            steps.done("index", key, kept)
            return
        from analysis.report.index_page import index_page

        write_text_atomic(path, index_page(study, tables, shown, has_programme=True))
        steps.done("index", key, {steps.labels.label(path): sha256_file(path)})


def _stage_kernel() -> WarmKernel:
    """The kernel of a run's stage notebooks (not started yet).

    Its warm-up is every stage notebook's imports, run before the kernel's state is recorded:
    each notebook then starts from the same state, whichever stages the run skips.
    """
    from analysis.run.execute import kernel_name
    from analysis.run.kernels import WarmKernel, warm_up_code

    lines = (
        line
        for stage in STAGE_NOTEBOOKS
        for line in warm_up_code(NOTEBOOKS_DIR / NOTEBOOKS[stage]).splitlines()
    )
    return WarmKernel(
        kernel_name=kernel_name(), cwd=NOTEBOOKS_DIR, recycle_after=0, warm_up="\n".join(dict.fromkeys(lines))
    )


def _close(kernel: WarmKernel) -> None:
    try:
        kernel.close()
    except Exception:  # a kernel that will not stop politely is killed
        kernel.kill_now()


#: What each part of :func:`analysis.run.fingerprint.environment` is, in a note to the user.
_ENVIRONMENT_PARTS = {
    "packages": "package versions",
    "analysis_source": "berdaya's own code (src/analysis)",
    "python": "the Python version",
    "pseudonym_key": "the pseudonymization key",
}


def _note_environment(before: object, now: Mapping[str, Any], *, log: Logger) -> None:
    """Say which part of the environment changed since the last run: every step reruns then.

    Without it a run that redoes everything (a developer's edit, an upgraded package, a new
    key) looks the same as one whose data changed.
    """
    if not isinstance(before, Mapping):
        return
    changed = [words for part, words in _ENVIRONMENT_PARTS.items() if before.get(part) != now.get(part)]
    if changed:
        log(f"note: {', '.join(changed)} changed since the last run, so every step runs again")


def _run_warnings(processed: Path, out: Path) -> list[RunWarning]:
    """Warnings about the run's own layout (the data stages write theirs to ``warnings.csv``)."""
    if not processed.resolve().is_relative_to(out.resolve()):
        return []
    # The default for a study outside data/raw/: the output folder is what people publish, and
    # the processed folder holds household-level data and the unsuppressed internal tier.
    return [
        RunWarning(
            stage="run",
            code="processed_in_out",
            message=(
                f"the processed data (household rows and the unsuppressed internal tables) are in "
                f"{processed}, inside the output folder: do not publish that folder, or set "
                "`processed:` in the study file to keep them elsewhere"
            ),
        )
    ]


def _village_list(tables: Path, steps: _Steps) -> list[str]:
    """Village codes from ``tables/villages.csv``, remembered by the file's hash."""
    path = tables / layout.VILLAGES_CSV
    sha = sha256_file(path) if path.is_file() else ""
    cached = steps.previous.get("village_list", {})
    if sha and cached.get("sha256") == sha and isinstance(cached.get("villages"), list):
        villages = [str(v) for v in cached["villages"]]
    else:
        from analysis.stages import villages_of

        villages = villages_of(tables)
    steps.meta["village_list"] = {"sha256": sha, "villages": villages}
    return villages


def _previous_results(previous: Mapping[str, Any]) -> dict[str, VillageResult]:
    found: dict[str, VillageResult] = {}
    for item in previous.get("villages", []) or []:
        try:
            result = VillageResult.from_dict(item)
        except TypeError:  # a record from an older version: nothing to reuse
            continue
        found[result.village] = result
    return found


def _current(result: VillageResult | None, key: str, out: Path) -> bool:
    """Whether a last run's result still describes this village (same key, report intact)."""
    if result is None or result.key != key:
        return False
    return result.status == "failed" or _report_intact(result, out)


def _remove_stale_reports(out: Path, names: Mapping[str, str], *, log: Logger) -> list[Path]:
    """Delete the reports and notebooks of villages the data no longer contains.

    A village removed from the exports (consent withdrawn, say) would otherwise keep its old
    report, still readable in ``villages/``. Only files with the names the batch writes are
    touched: ``villages/<name>.html``, ``villages/<name>.failed.ipynb`` and
    ``notebooks/villages/<name>.ipynb``.

    Parameters
    ----------
    out
        The output folder.
    names
        Village code → report file name of every village in the data now
        (:func:`village_file_names`).
    log
        Told the number of files removed, in one line.

    Returns
    -------
    list of Path
        The files removed.
    """
    stems = {name.removesuffix(layout.HTML_SUFFIX) for name in names.values()}
    candidates: list[tuple[Path, str]] = []
    reports = out / layout.VILLAGES_DIR
    if reports.is_dir():
        for path in reports.iterdir():
            if path.name.endswith(layout.FAILED_SUFFIX):
                candidates.append((path, path.name.removesuffix(layout.FAILED_SUFFIX)))
            elif path.suffix == layout.HTML_SUFFIX:
                candidates.append((path, path.name.removesuffix(layout.HTML_SUFFIX)))
    notebooks = out / layout.EXECUTED_DIR / layout.VILLAGES_DIR
    if notebooks.is_dir():
        candidates += [(p, p.stem) for p in notebooks.iterdir() if p.suffix == layout.NOTEBOOK_SUFFIX]
    removed: list[Path] = []
    gone: set[str] = set()
    for path, stem in sorted(candidates):
        # Temporary files (".name.tmp") belong to the batch engine's own clean-up.
        if stem in stems or path.name.startswith(".") or not path.is_file():
            continue
        try:
            path.unlink()
        except OSError as exc:
            raise BerdayaError(
                f"cannot remove {path}, the report of a village no longer in the data: "
                f"{exc.strerror or exc}; delete it by hand"
            ) from exc
        removed.append(path)
        gone.add(stem)
    if removed:
        shown = ", ".join(sorted(gone)[:10]) + (", …" if len(gone) > 10 else "")
        log(
            f"village reports: removed {len(removed)} file(s) of {len(gone)} village(s) no longer in "
            f"the data ({shown})"
        )
    return removed


def summary_json(out: Path) -> dict[str, object]:
    """The run record of a finished run."""
    result: dict[str, object] = json.loads((out / layout.RUN_JSON).read_text())
    return result
