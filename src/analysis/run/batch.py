"""The batch engine: one report per village, on local worker processes or a Dask cluster.

Each worker keeps one warm kernel (:mod:`analysis.run.kernels`) and, per village, executes the
village notebook through papermill in it, writes the executed notebook, and exports the HTML
report in-process. Everything a village writes goes to a temporary file first and is renamed
into place, so an interrupted batch never leaves half a report.

One village's failure never stops the others: an exception in the notebook, a kernel that
dies, a village that runs out of time, or a report that cannot be written each become a
failed :class:`VillageResult` (with the failing cell when there is one), and the partly
executed notebook is kept next to the reports as ``villages/<name>.failed.ipynb``.

Where the work runs:

* locally, on ``workers`` processes of this machine (:func:`run_batch` without a scheduler);
* on an existing Dask cluster (``scheduler="tcp://host:8786"``): any cluster Dask can
  address, including HPC queues through dask-jobqueue and Kubernetes through dask-kubernetes.
  Its workers must run the same environment and see the same file system.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

from analysis.errors import BerdayaError
from analysis.shared import layout

if TYPE_CHECKING:
    # Annotations only: importing the kernels module costs papermill and nbclient, which a
    # run with nothing to do never needs.
    from analysis.run.kernels import FailureKind

#: Words for each failure kind, for summaries.
FAILURE_LABELS: dict[str, str] = {
    "exception": "exception in the notebook",
    "kernel_died": "kernel died",
    "timeout": "timed out",
    "write_failed": "report could not be written",
    "worker_died": "worker process died",
    "error": "other error",
}

#: Seconds a local worker may stay silent beyond a village's own time limit (plus a kernel
#: start) before the pool stops waiting for it and replaces it.
WORKER_GRACE = 60.0
KERNEL_START_ALLOWANCE = 180.0

#: Temporary files of an interrupted run: atomic writers name theirs ``.<name>.<...>.tmp``,
#: papermill runs ``.<stem>.<pid>.running.ipynb``.
_TEMPORARY = re.compile(r"^\..+\.(tmp|running\.ipynb)$")


@dataclass(frozen=True)
class VillageJob:
    """Everything a worker needs to write one village's report (picklable, for Dask).

    Parameters
    ----------
    village
        The village code.
    file
        The report's file name inside ``<out>/villages/``.
    notebook
        The template notebook.
    parameters
        Values for the notebook's ``parameters`` cell.
    out
        The output folder.
    timeout
        Seconds this village may take (a kernel start does not count).
    title, language
        Of the HTML page.
    key
        Content hash of everything the report depends on (recorded with the result).
    recycle_after
        Villages per kernel before a worker starts a fresh one.
    """

    village: str
    file: str
    notebook: str
    parameters: Mapping[str, Any]
    out: str
    timeout: float = 600.0
    title: str = ""
    language: str = "en"
    key: str = ""
    recycle_after: int = 200

    @property
    def stem(self) -> str:
        """The file name without ``.html``."""
        return self.file.removesuffix(layout.HTML_SUFFIX)

    @property
    def report(self) -> Path:
        """The HTML report."""
        return Path(self.out) / layout.VILLAGES_DIR / self.file

    @property
    def executed(self) -> Path:
        """The executed notebook of a successful run."""
        folder = Path(self.out) / layout.EXECUTED_DIR / layout.VILLAGES_DIR
        return folder / layout.executed_notebook(self.stem)

    @property
    def failed(self) -> Path:
        """The partly executed notebook of a failed run, kept next to the reports."""
        return Path(self.out) / layout.VILLAGES_DIR / layout.failed_notebook(self.stem)


@dataclass(frozen=True)
class VillageResult:
    """The outcome of one village report.

    ``village``, ``file``, ``status``, ``error``, :meth:`where` and ``failed_notebook`` are
    what the index page shows; the rest say how a failure happened and what a later run may reuse.
    """

    village: str
    file: str
    status: Literal["ok", "failed"]
    seconds: float
    error: str = ""
    #: What went wrong (None when the report was written).
    failure: FailureKind | None = None
    #: Execution count (``In [n]``) of the cell that failed or was running.
    cell: int | None = None
    #: First line of that cell.
    cell_source: str = ""
    #: The failed notebook, relative to the output folder.
    failed_notebook: str = ""
    #: Content hash of the report's inputs, notebook, parameters and environment.
    key: str = ""
    #: SHA-256 of the HTML report.
    sha256: str = ""
    #: True when the report was left as it was because nothing it depends on changed.
    reused: bool = False
    #: True when the report was left as it was although what it depends on changed: the village
    #: was outside this run's ``--villages`` (or ``--retry-failed``), so it describes older data.
    outdated: bool = False
    #: ``host:pid`` of the worker process that wrote it.
    worker: str = ""
    #: Peak memory of that worker process plus its kernels so far, in bytes.
    peak_rss: int = 0

    def where(self) -> str:
        """Where a failure happened: ``In [5] `vr.income_figure(ctx)```, or ''."""
        if self.cell is None:
            return ""
        return f"In [{self.cell}] `{self.cell_source}`" if self.cell_source else f"In [{self.cell}]"

    def describe(self) -> str:
        """One line for a summary or an index: the failing cell, then the error."""
        parts = [p for p in (self.where(), self.error) if p]
        return ": ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record (for ``run.json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Read a record written by :meth:`to_dict` (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal (Ctrl-C or SIGTERM); ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_INTERRUPTIBLE = threading.local()


@contextmanager
def interruptible() -> Iterator[None]:
    """Inside, SIGTERM and SIGINT raise :class:`Interrupted` in the main thread.

    SIGTERM would otherwise end the process on the spot, leaving kernels and workers behind
    and no record of what was done. Only the first signal raises: a second one arriving while
    the run cleans up is ignored, so the clean-up itself is not cut short.
    """
    if threading.current_thread() is not threading.main_thread() or getattr(_INTERRUPTIBLE, "on", False):
        yield
        return
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Interrupted(signum)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in previous:
        signal.signal(s, handler)
    _INTERRUPTIBLE.on = True
    try:
        yield
    finally:
        _INTERRUPTIBLE.on = False
        for s, h in previous.items():
            signal.signal(s, h)


def worker_id() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _relative(text: str, out: Path) -> str:
    # Error messages reach the index page; the reader needs no local paths.
    return text.replace(f"{out}{os.sep}", "").replace(str(out), ".")


def _remove_file(path: Path) -> None:
    try:
        if path.is_file() or path.is_symlink():
            path.unlink()
    except OSError:  # it stays stale, but the run's record says the village failed
        pass


_KERNEL_NAME: str | None = None


def _kernel_name() -> str:
    global _KERNEL_NAME
    if _KERNEL_NAME is None:
        from analysis.run.execute import kernel_name

        _KERNEL_NAME = kernel_name()
    return _KERNEL_NAME


def run_village(job: VillageJob) -> VillageResult:
    """Write one village's report in this worker's warm kernel; never raises an Exception.

    This is the function local workers and Dask workers run.
    """
    from analysis.run.kernels import (
        ExecutionFailure,
        kernel_for_thread,
        process_peak_rss,
        write_notebook_atomic,
    )
    from analysis.shared.files import sha256_file

    start = time.perf_counter()
    out = Path(job.out)

    def result(status: Literal["ok", "failed"], **values: Any) -> VillageResult:
        return VillageResult(
            village=job.village,
            file=job.file,
            status=status,
            seconds=round(time.perf_counter() - start, 3),
            key=job.key,
            worker=worker_id(),
            peak_rss=process_peak_rss(),
            **values,
        )

    def keep_failed(nb: Any) -> tuple[str, str]:
        """Write the failed notebook; returns its relative path and a note if it failed."""
        if nb is None:
            return "", ""
        try:
            write_notebook_atomic(nb, job.failed)
        except OSError as exc:
            return "", f" (the failed notebook could not be written either: {exc.strerror or exc})"
        return job.failed.relative_to(out).as_posix(), ""

    try:
        kernel = kernel_for_thread(
            kernel_name=_kernel_name(), cwd=Path(job.notebook).parent, recycle_after=job.recycle_after
        )
        try:
            nb = kernel.execute(Path(job.notebook), parameters=job.parameters, timeout=job.timeout)
        except ExecutionFailure as failure:
            # A report from an earlier run would now misrepresent this village.
            _remove_file(job.report)
            _remove_file(job.executed)
            saved, note = keep_failed(failure.notebook)
            return result(
                "failed",
                error=_relative(failure.message, out) + note,
                failure=failure.kind,
                cell=failure.cell,
                cell_source=failure.cell_source,
                failed_notebook=saved,
            )
        nb.metadata.setdefault("papermill", {})["output_path"] = str(job.executed)
        from analysis.report.html_export import export_html

        for target in (job.executed, job.report):
            try:
                if target == job.executed:
                    write_notebook_atomic(nb, target)
                else:
                    export_html(nb, target, title=job.title or job.village, language=job.language)
            except OSError as exc:
                _remove_file(job.report)
                saved, note = keep_failed(nb)
                return result(
                    "failed",
                    error=f"cannot write {target.relative_to(out).as_posix()}: {exc.strerror or exc}" + note,
                    failure="write_failed",
                    failed_notebook=saved,
                )
        _remove_file(job.failed)  # an earlier failure of this village is resolved
        return result("ok", sha256=sha256_file(job.report))
    except Exception as exc:  # whatever else happens, the other villages go on
        return result("failed", error=_relative(f"{type(exc).__name__}: {exc}", out)[:500], failure="error")


def _lost(job: VillageJob, kind: FailureKind, message: str, seconds: float) -> VillageResult:
    """The result for a village whose worker never answered."""
    return VillageResult(
        village=job.village,
        file=job.file,
        status="failed",
        seconds=round(seconds, 3),
        error=message,
        failure=kind,
        key=job.key,
    )


def clean_temporary_files(out: Path) -> int:
    """Remove temporary files an interrupted run left in the output folder; returns how many."""
    removed = 0
    villages, notebooks = out / layout.VILLAGES_DIR, out / layout.EXECUTED_DIR
    for folder in (villages, notebooks / layout.VILLAGES_DIR, notebooks, out):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if _TEMPORARY.match(path.name) and path.is_file():
                try:
                    path.unlink()
                    removed += 1
                except OSError:
                    pass
    return removed


# --- local worker processes -------------------------------------------------------------


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # The main process sends SIGTERM to stop a worker at once: kill its kernel (it would
    # otherwise finish the village and write a report nobody waits for) and leave. Every
    # file is written to a temporary name first, so stopping here leaves no partial report.
    from analysis.run.kernels import release_kernels

    release_kernels()
    os._exit(128 + signum)


def worker_loop(conn: Connection, parent_pid: int) -> None:
    """A local worker: run the villages the main process sends until told to stop.

    Started as ``python -m analysis.run.batch_worker`` (see :class:`_LocalPool`).
    """
    # Ctrl-C reaches every process of the terminal's foreground group; the main process
    # alone decides how the batch stops, and tells the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    from analysis.run.kernels import close_kernels

    try:
        while True:
            if not conn.poll(1.0):
                if os.getppid() != parent_pid:  # orphaned: the main process is gone
                    return
                continue
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            conn.send(run_village(job))
    finally:
        close_kernels()


def _descendants(pid: int) -> list[Any]:
    try:
        import psutil

        return list(psutil.Process(pid).children(recursive=True))
    except Exception:  # the process is gone already, or psutil cannot look
        return []


def _exit_description(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection
    job: VillageJob | None = None
    since: float = 0.0
    villages: int = 0
    children: list[Any] = field(default_factory=list)

    def assign(self, job: VillageJob) -> None:
        self.conn.send(job)
        self.job = job
        self.since = time.monotonic()

    def alive(self) -> bool:
        return self.process.poll() is None

    def overdue(self) -> bool:
        if self.job is None:
            return False
        allowance = self.job.timeout + WORKER_GRACE + (KERNEL_START_ALLOWANCE if self.villages == 0 else 0)
        return time.monotonic() - self.since > allowance


class _LocalPool:
    """Worker processes, each fed one village at a time through its own socket.

    Workers are fresh interpreters (``python -m analysis.run.batch_worker``), not multiprocessing
    children: those would re-run the caller's main script, which a script calling
    :func:`analysis.run.pipeline.run_study` without a ``__main__`` guard cannot survive. One
    connection per worker (rather than a shared queue) means the pool always knows which
    village a worker holds, so a worker that dies costs exactly that village, and no lock held
    by a dead process can block the others.
    """

    def __init__(self, size: int) -> None:
        self._workers: list[_Worker] = [self._start() for _ in range(size)]

    @staticmethod
    def _start() -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "analysis.run.batch_worker", str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        return _Worker(process=process, conn=Connection(ours.detach()))

    def run(self, jobs: Sequence[VillageJob], emit: Callable[[VillageResult], None]) -> None:
        queue = deque(jobs)
        while queue or any(w.job is not None for w in self._workers):
            for w in self._workers:
                if w.job is None and queue and w.alive():
                    job = queue.popleft()
                    try:
                        w.assign(job)
                    except OSError:  # the worker is gone (found below); the job waits
                        queue.appendleft(job)
            # A worker that dies closes its end: its connection turns readable (EOF).
            wait([w.conn for w in self._workers], timeout=1.0)
            for i, w in enumerate(self._workers):
                result: Any = None
                broken = False
                try:
                    if w.conn.poll():
                        result = w.conn.recv()
                except (EOFError, OSError):
                    broken = True
                if isinstance(result, VillageResult):
                    w.job = None
                    w.villages += 1
                    emit(result)
                    continue
                if broken or not w.alive():
                    if w.job is not None:
                        try:
                            code = w.process.wait(5)
                        except subprocess.TimeoutExpired:
                            code = None
                        message = f"the worker process died ({_exit_description(code)})"
                        emit(_lost(w.job, "worker_died", message, time.monotonic() - w.since))
                        w.job = None
                    self._kill([w])
                    self._workers[i] = self._start()
                elif w.overdue():
                    assert w.job is not None
                    limit = w.job.timeout
                    emit(_lost(w.job, "timeout", f"took longer than {limit:g} s", time.monotonic() - w.since))
                    w.job = None
                    self._kill([w])
                    self._workers[i] = self._start()

    def drain(self, emit: Callable[[VillageResult], None]) -> None:
        """Pass on results that have arrived but were not read yet (before an interruption)."""
        for w in self._workers:
            try:
                while w.job is not None and w.conn.poll():
                    result = w.conn.recv()
                    if isinstance(result, VillageResult):
                        w.job = None
                        emit(result)
            except (EOFError, OSError):
                continue

    def close(self) -> None:
        """Let idle workers stop their kernels and exit; kill what does not."""
        for w in self._workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 15
        for w in self._workers:
            try:
                w.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        self._kill(self._workers)

    def kill(self) -> None:
        """Stop every worker now (an interrupted batch)."""
        self._kill(self._workers)

    @staticmethod
    def _kill(workers: Sequence[_Worker]) -> None:
        for w in workers:
            # Remember the kernels first: once a worker is gone they can no longer be found.
            w.children = _descendants(w.process.pid) if w.alive() else []
            if w.alive():
                w.process.terminate()  # SIGTERM: the worker kills its kernel, then exits
        deadline = time.monotonic() + 5
        for w in workers:
            try:
                w.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.process.kill()
                w.process.wait(5)
            for child in w.children:
                try:
                    child.kill()
                except Exception:  # already gone
                    pass
            try:
                w.conn.close()
            except OSError:
                pass


def _run_local(jobs: Sequence[VillageJob], workers: int, emit: Callable[[VillageResult], None]) -> None:
    pool = _LocalPool(max(1, min(workers, len(jobs))))
    try:
        pool.run(jobs, emit)
    except BaseException:
        try:
            pool.drain(emit)
        finally:
            pool.kill()
        raise
    pool.close()


# --- Dask -----------------------------------------------------------------------------------


def _run_dask(jobs: Sequence[VillageJob], scheduler: str, emit: Callable[[VillageResult], None]) -> None:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise BerdayaError(f"--scheduler needs dask[distributed]: {exc}") from exc
    from analysis.run.kernels import release_kernels

    try:
        client = Client(scheduler, timeout=30, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise BerdayaError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
    futures: dict[Any, tuple[VillageJob, float]] = {}
    try:
        for job in jobs:
            key = f"berdaya-village-{job.stem}-{uuid.uuid4().hex[:8]}"
            futures[client.submit(run_village, job, key=key, pure=False)] = (job, time.monotonic())
        for future in as_completed(list(futures), loop=client.loop):
            job, since = futures.pop(future)
            try:
                result = future.result()
            except Exception as exc:
                # Dask retries a task whose worker died; KilledWorker means it gave up.
                kind: FailureKind = "worker_died" if type(exc).__name__ == "KilledWorker" else "error"
                result = _lost(job, kind, f"{type(exc).__name__}: {exc}"[:500], time.monotonic() - since)
            emit(result)
    except BaseException:
        client.cancel(list(futures), force=True)
        raise
    finally:
        # Warm kernels are this run's; do not leave them idling on a shared cluster.
        try:
            client.run(release_kernels)
        except Exception:
            pass
        client.close()


# --- the batch ------------------------------------------------------------------------------


def run_batch(
    jobs: Sequence[VillageJob],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    on_result: Callable[[VillageResult], None] | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> list[VillageResult]:
    """Write every job's report; returns one result per job, in job order.

    Parameters
    ----------
    jobs
        The villages to write.
    workers
        Local worker processes (ignored with ``scheduler``).
    scheduler
        Address of a running Dask scheduler; its workers do the work instead.
    on_result
        Called in this process with each result as it arrives (e.g. to checkpoint).
    progress
        True: a live progress bar on standard error; False: nothing; None (default): the bar
        on a terminal, else a line at every tenth of the batch (a log file shows progress too).
    log
        Where those lines go (default: standard error).

    Raises
    ------
    Interrupted
        On Ctrl-C or SIGTERM, after stopping the workers and removing temporary files.
    """
    if not jobs:
        return []
    outs = {Path(j.out) for j in jobs}
    for out in outs:
        clean_temporary_files(out)
    results: dict[str, VillageResult] = {}
    terminal = sys.stderr.isatty()
    bar = _progress_bar(len(jobs), terminal if progress is None else progress)
    lines = ProgressLines(len(jobs), log or _stderr_line) if progress is None and not terminal else None
    failed = 0

    def emit(result: VillageResult) -> None:
        nonlocal failed
        # By report file: a village written in two languages is two jobs (two files).
        results[result.file] = result
        failed += result.status != "ok"
        if bar is not None:
            bar.set_postfix_str(f"{failed} failed", refresh=False)
            bar.update(1)
        if lines is not None:
            lines.update(failed=failed)
        if on_result is not None:
            on_result(result)

    try:
        with interruptible():
            if scheduler:
                _run_dask(jobs, scheduler, emit)
            else:
                _run_local(jobs, workers, emit)
    finally:
        if bar is not None:
            bar.close()
        for out in outs:
            clean_temporary_files(out)
    missing = [j for j in jobs if j.file not in results]
    for job in missing:  # pragma: no cover - every path above emits a result per job
        results[job.file] = _lost(job, "error", "no result came back", 0.0)
    return [results[j.file] for j in jobs]


def _stderr_line(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    """``45 s``, ``6 min 5 s``, ``1 h 2 min``.

    >>> _duration(44.6), _duration(365), _duration(3725)
    ('45 s', '6 min 5 s', '1 h 2 min')
    """
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


class ProgressLines:
    """The progress bar's news as a line at every tenth of the batch, for output to a file.

    A bar redrawn in place is unreadable in a log file or CI output, and no output at all
    looks like a hang: ``village reports: 12/120 done (10%), 0 failed, 1 min 5 s so far,
    about 9 min 45 s to go``. A batch of fewer than ten villages gets a line per village.
    """

    def __init__(self, total: int, write: Callable[[str], None]) -> None:
        self.total, self.write = total, write
        self.done = self.tenths = 0
        self.start = time.monotonic()

    def update(self, *, failed: int) -> None:
        """Count one more village (``failed`` of all so far failed); write a line on a new tenth."""
        self.done += 1
        tenths = self.done * 10 // self.total
        if tenths <= self.tenths:
            return
        self.tenths = tenths
        spent = time.monotonic() - self.start
        left = spent / self.done * (self.total - self.done)
        self.write(
            f"village reports: {self.done}/{self.total} done ({100 * self.done // self.total}%), "
            f"{failed} failed, {_duration(spent)} so far"
            + (f", about {_duration(left)} to go" if self.done < self.total else "")
        )


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="village",
        desc="village reports",
        file=sys.stderr,
        bar_format="{desc}: {n_fmt}/{total_fmt} done{postfix} |{bar}| {elapsed} elapsed, {remaining} left",
        postfix="0 failed",
        dynamic_ncols=True,
    )
