"""The whole run: clean each round, construct the panel, estimate, then write the reports.

Every stage is a parameterized notebook in ``notebooks/`` executed by papermill, so each step
can be opened and rerun in JupyterLab. The executed notebooks are kept under
``<out>/notebooks/``; the HTML reports are exported from them without code. The stage
notebooks run one after another in one warm kernel (:class:`Run`): pandas, statsmodels and
``analysis`` are imported once per run, not once per notebook, and each notebook still starts
from the same clean state (:mod:`analysis.run.kernel_state`). With two or more workers the two
rounds are cleaned at once, the second in a side kernel with the same warm-up: they are
independent, and cleaning is a third of a national run.

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
import hashlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.config import NOTEBOOKS_DIR, PROJECT_ROOT
from analysis.errors import BerdayaError, ReportError
from analysis.inputs.study import Study, check_run_supported, load_study, slug
from analysis.report.text import LANGUAGES, check_language, t
from analysis.run.batch import FAILURE_LABELS, Interrupted, VillageJob, VillageResult, run_batch
from analysis.run.fingerprint import PathLabels, digest, environment, files_intact, stat_tree, written_between
from analysis.run.provenance import RunRecord, StageRecord, changed_inputs, data_summaries
from analysis.shared import layout
from analysis.shared.files import (
    check_writable_folder,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)
from analysis.shared.run_warnings import RunWarning, read_warnings_table
from analysis.shared.versions import git_commit
from analysis.stages.folders import claim_processed, processed_dir_for

if TYPE_CHECKING:
    from concurrent.futures import Future

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
    # One write per line: the rounds cleaned at once log from two threads, and print() writes
    # the line and its newline separately, so two lines could run together.
    sys.stderr.write(f"{message}\n")
    sys.stderr.flush()


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


def in_languages(
    names: Mapping[str, str], languages: Sequence[str], *, first: str
) -> dict[str, dict[str, str]]:
    """Each village's report file name in each language (``0101.html``, ``0101.en.html``).

    ``names`` are :func:`village_file_names`; the run's first language keeps them, the others add
    their code (:func:`analysis.shared.layout.in_language`).
    """
    return {
        language: {v: layout.in_language(name, language, first=first) for v, name in names.items()}
        for language in languages
    }


def village_parameters(
    study: Study,
    village: str,
    *,
    processed: Path,
    tables: Path,
    language: str | None = None,
    other_languages: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The parameters of ``05_village_report.ipynb`` for one village.

    ``language`` defaults to the study's; ``other_languages`` (language → the report's file in
    that language) is passed only when the run writes several languages, so a one-language
    run's reports keep their content hashes.
    """
    parameters: dict[str, Any] = {
        "study_path": str(study.path),
        "village": village,
        "processed_dir": str(processed),
        "tables_dir": str(tables),
        "language": language or study.language,
    }
    if other_languages:
        parameters["other_languages"] = dict(sorted(other_languages.items()))
    return parameters


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
    language: str | None = None,
    languages: Sequence[str] = (),
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
    language
        The reports' language (default: the study's).
    languages
        Every language of the run, the first one first (default: ``language`` alone): the first
        keeps the plain file names (``villages/0101.html``), the others add their code
        (``villages/0101.en.html``), and each report links to the others.

    Returns
    -------
    list of VillageResult
        One per village, sorted by village.
    """
    language = language or study.language
    jobs = village_jobs(
        study,
        villages,
        language=language,
        languages=tuple(languages) or (language,),
        out=out,
        processed=processed,
        tables=tables,
        timeout=timeout,
        timeouts=timeouts,
        notebook=notebook,
        keys=keys,
    )
    results = _write_reports(
        jobs, workers=workers, scheduler=scheduler, on_result=on_result, progress=progress, log=log
    )
    return sorted(results, key=lambda r: r.village)


def village_jobs(
    study: Study,
    villages: Sequence[str],
    *,
    language: str,
    languages: Sequence[str],
    out: Path,
    processed: Path,
    tables: Path | None = None,
    timeout: float = 600,
    timeouts: Mapping[str, float] | None = None,
    notebook: Path | None = None,
    keys: Mapping[str, str] | None = None,
    files: Mapping[str, Mapping[str, str]] | None = None,
) -> list[VillageJob]:
    """The batch jobs writing ``villages``' reports in ``language`` (see :func:`run_villages`).

    ``files`` gives each village's report file in each language (:func:`in_languages`; by
    default made from ``villages``); each report links to its files in the other ``languages``.
    """
    out = Path(out).resolve()
    tables = Path(tables).resolve() if tables is not None else out / layout.TABLES_DIR
    notebook = Path(notebook or NOTEBOOKS_DIR / NOTEBOOKS["village"]).resolve()
    if files is None:
        files = in_languages(village_file_names(villages), languages, first=languages[0])
    return [
        VillageJob(
            village=v,
            file=files[language][v],
            notebook=str(notebook),
            parameters=village_parameters(
                study,
                v,
                processed=Path(processed).resolve(),
                tables=tables,
                language=language,
                other_languages={other: files[other][v] for other in languages if other != language},
            ),
            out=str(out),
            timeout=float((timeouts or {}).get(v, timeout)),
            title=f"{t('village', check_language(language))} {v}",
            language=language,
            key=(keys or {}).get(v, ""),
        )
        for v in villages
    ]


def _write_reports(
    jobs: Sequence[VillageJob],
    *,
    workers: int,
    scheduler: str | None,
    on_result: Callable[[VillageResult], None] | None,
    progress: bool | None,
    log: Logger,
) -> list[VillageResult]:
    """Run ``jobs`` in one batch (every language together: the workers start once)."""
    where = f"the Dask cluster at {scheduler}" if scheduler else f"{min(workers, len(jobs))} worker(s)"
    if jobs:
        languages = sorted({job.language for job in jobs})
        what = "village reports" + (f" ({', '.join(languages)})" if len(languages) > 1 else "")
        log(f"{what}: {len(jobs)} to write on {where}")
    return run_batch(
        jobs, workers=workers, scheduler=scheduler, on_result=on_result, progress=progress, log=log
    )


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


def _hash_inputs(files: Sequence[Path], *, roots: Sequence[Path]) -> list[dict[str, str]]:
    """:func:`analysis.shared.files.hash_inputs` under each of ``roots``, each file read once."""
    digests = {path: sha256_file(path) for path in files}
    named = []
    for root in roots:
        base = root.resolve()
        names = {}
        for path, sha in digests.items():
            # Named as hash_inputs names them: relative to the root when inside it.
            try:
                names[str(path.resolve().relative_to(base))] = sha
            except ValueError:
                names[str(path)] = sha
        named.append(names)
    return named


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
        Local worker processes for village reports; with two or more, the rounds are also
        cleaned at once, in two kernels (one round's data in memory per kernel).
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
    pdf
        Print the reports to A4 PDFs next to their pages (``--no-pdf`` turns it off; so does
        the study key ``pdf: false``).
    languages
        The report languages, the first one the default (``--language id,en``); empty means
        the study's (``languages``, else ``language``).
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
    pdf: bool = True
    languages: tuple[str, ...] = ()
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
    pdf: bool = True,
    languages: Sequence[str] | None = None,
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
        pdf=pdf,
        languages=tuple(languages or ()),
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
    check_run_supported(study)  # a rollout without `id`: not analysed yet
    from analysis.inputs.rounds import study_rounds

    study = study_rounds(study)  # the rounds of one long file come from its round column
    if options.languages:
        # --language replaces the study's languages: the first is the report language, which
        # the index, the record and the default file names follow.
        chosen = tuple(check_language(code) for code in options.languages)
        study = replace(study, language=chosen[0], languages=chosen)
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
        Village reports written or kept by this run, in the report language.
    translations
        The same in each of the run's other languages (``--language id,en``), by language.
    kernel
        The stage kernel, while it runs.
    side
        A second stage kernel on its own thread, while the two rounds are cleaned at once
        (:class:`_SideKernel`).
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
    translations: dict[str, list[VillageResult]] = field(default_factory=dict)
    kernel: WarmKernel | None = None
    side: _SideKernel | None = None

    @property
    def rounds(self) -> tuple[str, ...]:
        """The study's rounds in time order (baseline and followup for two rounds)."""
        return self.study.round_design.round_order

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

    @property
    def languages(self) -> tuple[str, ...]:
        """The report languages, the first one (the study's ``language``) first."""
        return self.study.report_languages

    def file_in(self, name: str, language: str) -> str:
        """``name`` (``programme.html``) as the report in ``language`` is called."""
        return layout.in_language(name, language, first=self.languages[0])

    def results_in(self, language: str) -> list[VillageResult]:
        """The village results of ``language`` (:attr:`results` for the first language)."""
        if language == self.languages[0]:
            return self.results
        return self.translations.setdefault(language, [])

    @classmethod
    def start(cls, study: Study, *, out: Path, processed: Path, options: RunOptions) -> Run:
        """Read the last record, note what changed since, and fingerprint this run's inputs.

        Creates the study's pseudonymization key when it has none (announced once). On a first
        run in the output folder, launches the stage kernel before anything else, and with two
        or more workers the side kernel that cleans the second round alongside the first.
        """
        run_json = out / layout.RUN_JSON
        previous = _read_record(run_json)
        incremental = previous.get("incremental")
        done_before = isinstance(incremental, dict) and bool(incremental.get("stages"))
        kernel = None if done_before else _stage_kernel()
        side = _SideKernel() if kernel is not None and _clean_side_by_side(options) else None
        try:
            if kernel is not None:
                kernel.launch()
            if side is not None:
                side.launch()
            run = cls._start(
                study, out=out, processed=processed, options=options, previous=previous, kernel=kernel
            )
        except BaseException:
            if kernel is not None:
                _close(kernel)
            if side is not None:
                side.close()
            raise
        run.side = side
        return run

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
        # Each input file is read once (a national export is hundreds of megabytes), then named
        # both ways: relative to the project for the record, to the study for the fingerprints.
        inputs, by_study = _hash_inputs(study.input_files(), roots=(PROJECT_ROOT, study.folder))
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
            inputs=by_study,
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
                "languages": list(study.report_languages),
                "pdf": options.pdf and study.pdf,
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
        cleaned = [f"clean_{r}" for r in self.rounds]
        try:
            try:
                self._clean_rounds(common)
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
                record.extra["data"] = data_summaries(self.processed, self.rounds)
                self._provenance()
                data_steps = steps.upstream(*cleaned, "construct", "estimate", "provenance")
                for language in self.languages:
                    first = language == self.languages[0]
                    parameters: dict[str, Any] = {**common, **tables, "language": language}
                    if len(self.languages) > 1:
                        parameters["other_languages"] = {
                            other: self.file_in(layout.PROGRAMME_HTML, other)
                            for other in self.languages
                            if other != language
                        }
                    if not first:
                        # The first language writes tables/programme_report.tex; a second
                        # writer would overwrite it and make the first one's record stale.
                        parameters["write_latex"] = False
                    self._stage(
                        "programme_report" if first else f"programme_report_{language}",
                        "programme report" if first else f"programme report ({language})",
                        "programme",
                        self.file_in(layout.executed_notebook("04_programme_report"), language),
                        parameters,
                        data_steps,
                        html=(self.out / self.file_in(layout.PROGRAMME_HTML, language), study.name),
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
            with record.stage("pdf") as st:
                self._pdfs(st)
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
        if self.translations:
            # The village reports in the run's other languages, by language, as ``villages``.
            self.record.extra["translations"] = {
                language: [r.to_dict() for r in sorted(results, key=lambda r: r.village)]
                for language, results in self.translations.items()
            }
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
        kernel: WarmKernel | None = None,
        others: Sequence[str] = (),
    ) -> None:
        """Execute one stage notebook unless its key and outputs are unchanged.

        ``notebook`` names the template in :data:`NOTEBOOKS`, ``output`` the executed copy in
        ``out/notebooks``; ``html`` is the report exported from it, and its title. ``kernel``
        runs it instead of the stage kernel. ``others`` are the file-name prefixes of stages
        running at the same time (``followup_``): their files are not this stage's outputs.
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
            nb = self._execute(template, executed, parameters, kernel=kernel)
            written = [
                p for p in written_between(before, stat_tree(watched)) if not p.name.startswith(tuple(others))
            ]
            if html is not None:
                from analysis.report.html_export import export_html

                language = parameters.get("language", self.study.language)
                export_html(nb, html[0], title=html[1], language=language)
                written.append(html[0])
            steps.done(name, key, {steps.labels.label(p): sha256_file(p) for p in written})
            log(f"{message}: done in {time.perf_counter() - start:.1f} s")

    def _execute(
        self,
        template: Path,
        output: Path,
        parameters: Mapping[str, Any],
        *,
        kernel: WarmKernel | None = None,
    ) -> NotebookNode:
        """Execute a stage notebook in ``kernel``, else in the run's stage kernel (started on first use)."""
        from analysis.run.kernels import execute_in

        if kernel is None:
            if self.kernel is None:
                self.kernel = _stage_kernel()
            kernel = self.kernel
        return execute_in(kernel, template, output, parameters=parameters, timeout=STAGE_CELL_TIMEOUT)

    def _close_kernel(self) -> None:
        kernel, self.kernel = self.kernel, None
        if kernel is not None:
            _close(kernel)
        self._close_side()

    def _close_side(self) -> None:
        side, self.side = self.side, None
        if side is not None:
            side.close()

    def _must_run(self, name: str, notebook: str, output: str, parameters: Mapping[str, Any]) -> bool:
        """Whether a stage without upstream steps will run (:meth:`_stage` decides the same way)."""
        template = NOTEBOOKS_DIR / NOTEBOOKS[notebook]
        key = self.steps.key(name, template, parameters, {})
        before = self.steps.previous.get("stages", {}).get(name)
        if not before or before.get("key") != key:
            return True  # decided without hashing the outputs, which _stage would hash again
        return self.steps.unchanged(name, key, self.executed / output) is None

    def _clean_rounds(self, common: Mapping[str, Any]) -> None:
        """Clean every round; when two must run, the side kernel cleans one alongside.

        The stage kernel cleans the first round that must run, the side kernel the later ones.
        The rounds are independent: each reads its own export and writes only its own
        ``<round>_*`` files, so on two cores the second round costs little more than the first.
        The records, outputs and executed notebooks are those of cleaning them one by one, and
        an error of the first round is the one reported, as when the rounds run in turn.
        """
        stages = [
            (
                f"clean_{r}",
                f"clean {r}",
                "clean",
                layout.executed_clean_notebook(r),
                {**common, "round_name": r},
            )
            for r in self.rounds
        ]
        pending = [s for s in stages if self._must_run(s[0], s[2], s[3], s[4])]
        if len(pending) < 2 or not _clean_side_by_side(self.options):
            self._close_side()  # launched ahead for a first run that stopped needing it
            for name, message, notebook, output, parameters in stages:
                self._stage(name, message, notebook, output, parameters, {})
            return
        from analysis.run.execute import parameters_of
        from analysis.run.kernels import prepare_engine

        # papermill is imported here, once: two threads importing it at once can meet a
        # partly initialized module.
        prepare_engine()
        parameters_of(NOTEBOOKS_DIR / NOTEBOOKS["clean"])
        side = self.side = self.side or _SideKernel()
        prefixes = {s[0]: f"{layout.round_stem(s[0].removeprefix('clean_'))}_" for s in stages}

        def run(stage: tuple[str, str, str, str, dict[str, Any]], kernel: WarmKernel | None) -> None:
            name, message, notebook, output, parameters = stage
            others = [prefix for other, prefix in prefixes.items() if other != name]
            self._stage(name, message, notebook, output, parameters, {}, kernel=kernel, others=others)

        for stage in stages:
            if stage not in pending:
                run(stage, None)  # current: skipped
        first, later = pending[0], pending[1:]

        def run_later() -> None:
            for stage in later:
                run(stage, side.kernel)

        on_side = side.submit(run_later)
        try:
            run(first, None)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # Interrupted: stop the side kernel too
                side.kill()
            with contextlib.suppress(BaseException):
                on_side.result()  # the first round's error is the one reported
            if isinstance(exc, Interrupted):
                for st in self.record.stages:
                    if st.name in prefixes and st.status == "failed":
                        st.status = "interrupted"
            raise
        else:
            on_side.result()
        finally:
            # The records in the order of the rounds, whichever finished first.
            order = list(prefixes)
            at = [i for i, st in enumerate(self.record.stages) if st.name in prefixes]
            ordered = sorted((self.record.stages[i] for i in at), key=lambda st: order.index(st.name))
            for i, st in zip(at, ordered, strict=True):
                self.record.stages[i] = st
            self._close_side()

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

    def _village_keys(
        self, villages: Sequence[str], upstream: Mapping[str, str], language: str
    ) -> dict[str, str]:
        """Each village report's content hash, in ``language``."""
        notebook = self.options.notebook
        files = in_languages(village_file_names(villages), self.languages, first=self.languages[0])
        return {
            v: self.steps.key(
                "village",
                notebook,
                village_parameters(
                    self.study,
                    v,
                    processed=self.processed,
                    tables=self.tables,
                    language=language,
                    other_languages={other: files[other][v] for other in self.languages if other != language},
                ),
                upstream,
            )
            for v in villages
        }

    def _remove_stale(self, villages: Sequence[str]) -> None:
        """Remove the reports of villages no longer in the data, in every language.

        Reports in a language this run does not write stay while their village is in the data
        (a later run in that language reuses or replaces them).
        """
        names = village_file_names(villages)
        every = in_languages(names, LANGUAGES, first=self.languages[0])
        stems = {f"{language}:{v}": name for language, files in every.items() for v, name in files.items()}
        _remove_stale_reports(self.out, stems, log=self.options.log)

    def _keep_current_reports(self, upstream: Mapping[str, str]) -> None:
        """No reports this time; the index still links those that are current."""
        all_villages = _village_list(self.tables, self.steps)
        self._remove_stale(all_villages)
        for language in self.languages:
            before = _previous_results(self.previous, self._record_key(language))
            if not before:
                continue  # no report to keep: the keys of 2,000 villages took a second
            keys = self._village_keys(all_villages, upstream, language)
            self.results_in(language).extend(
                replace(before[v], reused=True, outdated=False)
                for v in all_villages
                if _current(before.get(v), keys[v], self.out)
            )

    def _record_key(self, language: str) -> str | None:
        """Where ``run.json`` keeps the village results of ``language`` (None: ``villages``)."""
        return None if language == self.languages[0] else language

    def _village_reports(self, upstream: Mapping[str, str], stage: StageRecord) -> int:
        """Decide which villages to write in each language, write them, and summarize.

        Returns the exit code. Every language's reports are written in one batch, so the
        workers and their kernels start once; the data stages are not redone for a second
        language, and a failure in one language never stops the others.
        """
        study, out, options, log = self.study, self.out, self.options, self.options.log
        all_villages = _village_list(self.tables, self.steps)
        self._remove_stale(all_villages)
        if options.villages:
            unknown = sorted(set(options.villages) - set(all_villages))
            if unknown:
                known = ", ".join(all_villages[:10]) + (", …" if len(all_villages) > 10 else "")
                raise BerdayaError(f"unknown village code(s) {', '.join(unknown)}; the study has {known}")
        files = in_languages(village_file_names(all_villages), self.languages, first=self.languages[0])
        jobs: list[VillageJob] = []
        plans: dict[str, tuple[int, list[str]]] = {}
        for language in self.languages:
            keys = self._village_keys(all_villages, upstream, language)
            to_run, reused, outdated = self._plan(language, all_villages, files[language], keys)
            plans[language] = (reused, outdated)
            jobs += village_jobs(
                study,
                to_run,
                language=language,
                languages=self.languages,
                out=out,
                processed=self.processed,
                tables=self.tables,
                timeout=options.timeout,
                timeouts=options.timeouts,
                notebook=options.notebook,
                keys=keys,
                files=files,
            )
        language_of = {job.file: job.language for job in jobs}
        last_save = time.monotonic()

        def checkpoint(result: VillageResult) -> None:
            nonlocal last_save
            self.results_in(language_of[result.file]).append(result)
            if time.monotonic() - last_save >= CHECKPOINT_SECONDS:
                self.save()
                last_save = time.monotonic()

        start = time.perf_counter()
        new = _write_reports(
            jobs,
            workers=options.workers,
            scheduler=options.scheduler,
            on_result=checkpoint,
            progress=options.progress,
            log=log,
        )
        seconds = time.perf_counter() - start
        peaks: dict[str, int] = {}
        for r in new:
            if r.worker:
                peaks[r.worker] = max(peaks.get(r.worker, 0), r.peak_rss)
        self.steps.meta["batch"] = {
            "workers": None if options.scheduler else min(options.workers, max(1, len(jobs))),
            "scheduler": options.scheduler,
            "villages_run": len(new),
            "seconds": round(seconds, 3),
            "peak_rss_per_worker": peaks,
        }
        details = []
        failed_any = False
        for language in self.languages:
            mine = [r for r in new if language_of[r.file] == language]
            reused, outdated = plans[language]
            detail, failed = self._summarize(
                language, mine, reused=reused, outdated=outdated, seconds=seconds
            )
            details.append(detail if language == self.languages[0] else f"{language}: {detail}")
            failed_any = failed_any or failed
        stage.detail = "; ".join(details)
        if new and len(self.languages) > 1:
            rate = len(new) / seconds * 60 if seconds > 0 else float("nan")
            log(f"village reports: {len(new)} written in {seconds:.1f} s ({rate:.0f} reports/min)")
        if failed_any:
            stage.status = "failed"
            flag = f" --language {','.join(options.languages)}" if options.languages else ""
            log(f"rerun only the failures: berdaya run {study.path} --out {out}{flag} --retry-failed")
            return 1
        if not new:
            stage.status = "skipped"
        return 0

    def _what(self, language: str) -> str:
        """“village reports” in log lines, with the language when it is not the first."""
        return "village reports" if language == self.languages[0] else f"village reports ({language})"

    def _plan(
        self, language: str, all_villages: Sequence[str], names: Mapping[str, str], keys: Mapping[str, str]
    ) -> tuple[list[str], int, list[str]]:
        """Which villages to write in ``language``; keeps the others' last results.

        Returns the villages to write, the number of reports kept, and the villages kept although
        outdated (outside ``--villages`` or ``--retry-failed``).
        """
        out, options, log = self.out, self.options, self.options.log
        results = self.results_in(language)
        what = self._what(language)
        villages, retry_failed = options.villages, options.retry_failed
        selected = [v for v in all_villages if not villages or v in set(villages)]
        before = _previous_results(self.previous, self._record_key(language))
        if retry_failed:
            selected = [v for v in selected if v in before and before[v].status == "failed"]
            if not selected:
                log(f"{what}: no failed villages to retry")
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
            log(f"{what}: all {reused} unchanged, skipped")
        elif reused:
            log(f"{what}: {reused} unchanged, skipped")
        if outdated:
            option = "--retry-failed" if retry_failed and not villages else "--villages"
            shown = ", ".join(outdated[:10]) + (", …" if len(outdated) > 10 else "")
            log(
                f"{what}: {len(outdated)} outdated, not rerun because of {option} ({shown}); "
                f"they are marked outdated in index.html and run.json: rerun without {option} to update them"
            )
        return to_run, reused, outdated

    def _summarize(
        self,
        language: str,
        new: Sequence[VillageResult],
        *,
        reused: int,
        outdated: Sequence[str],
        seconds: float,
    ) -> tuple[str, bool]:
        """Log what the batch did in ``language``; returns the stage detail and whether any failed."""
        log, what = self.options.log, self._what(language)
        failed = [r for r in new if r.status != "ok"]
        detail = f"{len(new) - len(failed)} written, {reused} unchanged, {len(failed)} failed" + (
            f", {len(outdated)} outdated" if outdated else ""
        )
        if new:
            kinds: dict[str, int] = {}
            for r in failed:
                label = FAILURE_LABELS.get(r.failure or "error", "other error")
                kinds[label] = kinds.get(label, 0) + 1
            kinds_text = f" ({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))})" if kinds else ""
            rate = len(new) / seconds * 60 if seconds > 0 else float("nan")
            # With several languages the batch's time is theirs together (logged once, after).
            timing = f" in {seconds:.1f} s ({rate:.0f} villages/min)" if len(self.languages) == 1 else ""
            log(
                f"{what}: {len(new) - len(failed)} written, {reused} unchanged, {len(failed)} failed"
                f"{kinds_text}{timing}"
            )
        in_language = "" if language == self.languages[0] else f" ({language})"
        for r in failed:
            where = f" [{r.failed_notebook}]" if r.failed_notebook else ""
            log(f"FAILED village {r.village}{in_language}: {r.describe()}{where}")
        return detail, bool(failed)

    def _pdfs(self, st: StageRecord) -> None:
        """Print the reports to A4 PDFs next to their pages, unless ``--no-pdf`` or ``pdf: false``.

        A PDF is current while its page is the HTML it was printed from; only the others are
        printed, all by one browser (:mod:`analysis.report.pdf`). A PDF whose page is gone (a
        village that failed) or that no longer matches it while printing is off is removed:
        an old print must not pass for today's report. Without chromium the run says so in one
        line and goes on.
        """
        from analysis.report.pdf import PdfPage, PdfStamp, data_dates, print_pdfs, printer

        out, steps, study, log = self.out, self.steps, self.study, self.options.log
        villages = out / layout.VILLAGES_DIR
        # The report pages on disk now, in every language the run writes: the village step has
        # removed the pages of villages that failed or left the data.
        programme = layout.PROGRAMME_HTML.removesuffix(layout.HTML_SUFFIX)
        htmls = sorted(out.glob(f"{programme}*{layout.HTML_SUFFIX}"))
        htmls += sorted(villages.glob(f"*{layout.HTML_SUFFIX}")) if villages.is_dir() else []
        pages = [PdfPage(p, p.with_name(layout.printed_pdf(p.name))) for p in htmls]
        # A PDF without its page (a village that failed now) would pass for its report.
        pdfs = sorted(out.glob(f"{programme}*{layout.PDF_SUFFIX}"))
        pdfs += sorted(villages.glob(f"*{layout.PDF_SUFFIX}")) if villages.is_dir() else []
        for pdf in pdfs:
            if not pdf.with_name(pdf.stem + layout.HTML_SUFFIX).is_file():
                pdf.unlink(missing_ok=True)
        before = steps.previous.get("pdf")
        before = before if isinstance(before, dict) else {}
        printed: dict[str, dict[str, str]] = {}
        todo: dict[PdfPage, dict[str, str]] = {}
        versions = printer()
        for page in pages:
            if not page.html.is_file():
                page.pdf.unlink(missing_ok=True)
                continue
            label = steps.labels.label(page.pdf)
            now = {"html": sha256_file(page.html), "environment": steps.environment, "printer": versions}
            last = before.get(label)
            last = last if isinstance(last, dict) else {}
            same = all(last.get(k) == v for k, v in now.items())
            if same and page.pdf.is_file() and sha256_file(page.pdf) == last.get("pdf"):
                printed[label] = last
                continue
            todo[page] = {"label": label, **now}
        steps.meta["pdf"] = printed
        if not (self.options.pdf and study.pdf):
            for page in todo:
                page.pdf.unlink(missing_ok=True)
            st.status, st.detail = "skipped", "--no-pdf" if not self.options.pdf else "pdf: false"
            return
        if not todo:
            st.status, st.detail = "skipped", "unchanged since the last run"
            log(f"PDFs: all {len(printed)} unchanged, skipped")
            return
        final = self.rounds[-1]  # the follow-up, or the last of more rounds: the data's date
        fieldwork = study.fieldwork.get(final)
        dated, date = data_dates(fieldwork[1] if fieldwork else None, study.rounds[final].year)
        # The footer ties a printout to its data: a hash of the input files' hashes.
        inputs = hashlib.sha256("\n".join(sorted(self.inputs.values())).encode()).hexdigest()[:12]
        stamp = PdfStamp(dated=dated, date=date, footer=f"{study.name} · berdaya · SHA-256 {inputs}")

        def done(page: PdfPage) -> None:
            record = dict(todo[page])
            label = record.pop("label")
            printed[label] = {**record, "pdf": sha256_file(page.pdf)}

        def failed(page: PdfPage, reason: str) -> None:
            page.pdf.unlink(missing_ok=True)
            log(f"PDF of {page.html.relative_to(out).as_posix()} not written: {reason}")

        log(f"PDFs: {len(todo)} to print ({len(printed)} unchanged)")
        start = time.perf_counter()
        try:
            written = print_pdfs(list(todo), stamp=stamp, on_done=done, on_error=failed)
        except ReportError as exc:
            for page in todo:
                page.pdf.unlink(missing_ok=True)
            st.status, st.detail = "skipped", str(exc)
            log(str(exc))
            return
        seconds = time.perf_counter() - start
        st.detail = f"{len(written)} written, {len(printed) - len(written)} unchanged"
        log(f"PDFs: {len(written)} written in {seconds:.1f} s")

    def _index(self, st: StageRecord) -> None:
        """Write ``index.html`` (and ``index.<language>.html`` per other language) unless unchanged."""
        written = [language for language in self.languages if self._index_in(language)]
        if not written:
            st.status, st.detail = "skipped", "unchanged since the last run"

    def _index_in(self, language: str) -> bool:
        """Write the index in ``language`` unless nothing it shows has changed; whether it was written."""
        out, tables, steps = self.out, self.tables, self.steps
        # The index in another language describes that language's reports, in its words.
        study = replace(self.study, language=check_language(language))
        # A failed village shows its cell, its error and a link to its kept notebook; a notebook
        # that is no longer there (removed by hand) gets no link.
        shown = [
            replace(r, failed_notebook="")
            if r.failed_notebook and not (out / r.failed_notebook).is_file()
            else r
            for r in self.results_in(language)
        ]
        villages_csv = tables / layout.VILLAGES_CSV
        from analysis.report.index_page import index_inputs, index_page

        others = {o: self.file_in(layout.INDEX_HTML, o) for o in self.languages if o != language}
        key = digest(
            {
                "step": "index",
                # The panel (each village's interval) and the clean stage's files (cleaning counts).
                "processed": sorted((p.name, sha256_file(p)) for p in index_inputs(self.processed)),
                "seed": study.seed,
                "min_cell": study.min_cell,
                "results": sorted(
                    (r.village, r.file, r.status, r.where(), r.error, r.failed_notebook, r.outdated)
                    for r in shown
                ),
                "villages_csv": sha256_file(villages_csv) if villages_csv.is_file() else "",
                "environment": steps.environment,
                "study": study.name,
                "language": language,
                "languages": list(self.languages),
            }
        )
        first = language == self.languages[0]
        step = "index" if first else f"index_{language}"
        path = out / self.file_in(layout.INDEX_HTML, language)
        kept = steps.unchanged(step, key, path)
        if kept is not None:
            steps.done(step, key, kept)
            return False
        extra: dict[str, Any] = {"alternate": others} if others else {}
        page = index_page(study, tables, shown, has_programme=True, processed=self.processed, **extra)
        write_text_atomic(path, page)
        steps.done(step, key, {steps.labels.label(path): sha256_file(path)})
        return True


def _stage_kernel(stages: Sequence[str] = STAGE_NOTEBOOKS) -> WarmKernel:
    """The kernel of a run's stage notebooks (not started yet).

    Its warm-up is the imports of every notebook of ``stages``, run before the kernel's state is
    recorded: each notebook then starts from the same state, whichever stages the run skips.
    """
    from analysis.run.execute import kernel_name
    from analysis.run.kernels import WarmKernel, warm_up_code

    lines = (
        line
        for stage in stages
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


def _clean_side_by_side(options: RunOptions) -> bool:
    """Whether the rounds may be cleaned at once, in two kernels: with two or more workers.

    Cleaning holds a round's data in each kernel, so ``--workers 1`` keeps one round in memory
    at a time.
    """
    return options.workers >= 2


class _SideKernel:
    """A second stage kernel, driven from a thread of its own, that cleans a round alongside.

    Everything done with the kernel (launch, execute, close) runs on that one thread, as each
    batch kernel stays on its thread (:func:`analysis.run.kernels.kernel_for_thread`); only
    :meth:`kill` may be called from any thread. It only cleans, so its warm-up is the clean
    notebook's imports alone: the report modules (matplotlib, seaborn, statsmodels), 2 s of
    CPU, are the stage kernel's. A round cleaned in either kernel writes the same bytes (tested).
    """

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.kernel = _stage_kernel(("clean",))
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="berdaya-side-kernel")

    def launch(self) -> None:
        """Start the kernel and its warm-up, without waiting (a failed start shows on first use)."""
        self._thread.submit(self.kernel.launch)

    def submit(self, work: Callable[[], object]) -> Future[object]:
        """Run ``work`` on the kernel's thread."""
        return self._thread.submit(work)

    def kill(self) -> None:
        """Kill the kernel now: an execution under way on its thread then fails."""
        self.kernel.kill_now()

    def close(self) -> None:
        """Stop the kernel, after any work still queued, and end the thread."""
        self._thread.submit(_close, self.kernel)
        self._thread.shutdown(wait=True)


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


def _previous_results(previous: Mapping[str, Any], language: str | None = None) -> dict[str, VillageResult]:
    """The last run's village results: ``villages``, or with ``language`` its ``translations``."""
    found: dict[str, VillageResult] = {}
    if language is None:
        items = previous.get("villages", []) or []
    else:
        translations = previous.get("translations")
        items = (translations.get(language) if isinstance(translations, dict) else None) or []
    for item in items:
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
    report, still readable in ``villages/``. Only files with the names the run writes are
    touched: ``villages/<name>.html``, ``villages/<name>.pdf``, ``villages/<name>.failed.ipynb``
    and ``notebooks/villages/<name>.ipynb``.

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
            elif path.suffix in (layout.HTML_SUFFIX, layout.PDF_SUFFIX):
                candidates.append((path, path.stem))
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
