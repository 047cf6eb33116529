"""Warm kernels: one long-lived Jupyter kernel per worker, reused for notebook after notebook.

Starting a kernel and importing pandas, matplotlib and ``analysis`` into it costs seconds; one
village report costs a fraction of a second. A :class:`WarmKernel` starts its kernel once,
runs the notebook's imports, records the kernel's state (:mod:`analysis.run.kernel_state`), and
then executes each village's notebook through papermill — with a custom papermill engine that
hands nbclient the running kernel instead of starting a new one — after putting the kernel
back into that recorded state. The executed notebooks are ordinary papermill notebooks
(injected parameters, papermill metadata), so each can be opened and rerun in JupyterLab.

A kernel that died, timed out or could not be reset is thrown away; the next notebook gets a
fresh one.

The data stages of a run use one warm kernel too (:func:`execute_in`): the stage notebooks run
one after another in it, so pandas, statsmodels and ``analysis`` are imported once per run, not
once per notebook. A run launches that kernel first (:meth:`WarmKernel.launch`), so that the
kernel's imports overlap the run's own start-up; papermill, nbclient and nbformat, which take
seconds to import, are therefore imported here only when a notebook is executed.
"""

from __future__ import annotations

import ast
import asyncio
import contextvars
import functools
import json
import math
import os
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_event_loop, run_sync

from analysis.run.execute import KERNEL_ARGUMENTS, STARTUP_ATTEMPTS, check_parameters
from analysis.shared.files import write_text_atomic

if TYPE_CHECKING:
    import nbformat

#: The papermill engine name under which warm kernels are registered.
ENGINE_NAME = "berdaya-warm"

_SNAPSHOT_CODE = "__import__('analysis.run.kernel_state', fromlist=['snapshot']).snapshot()"
_RESET_CODE = "__import__('analysis.run.kernel_state', fromlist=['reset']).reset()"


#: Why a village has no report (see :class:`analysis.run.batch.VillageResult`).
FailureKind = Literal["exception", "kernel_died", "timeout", "write_failed", "worker_died", "error"]

#: What an execution's ``timeout`` bounds: the whole notebook (a village's budget) or each cell
#: (as papermill's ``execution_timeout``, the budget of a stage notebook).
TimeoutScope = Literal["notebook", "cell"]


class ExecutionFailure(Exception):
    """A notebook did not run to the end; carries what the batch reports about it.

    Parameters
    ----------
    kind
        What went wrong.
    message
        One line for people: the exception, or what happened to the kernel.
    cell
        Execution count (``In [n]``) of the cell that failed or was running, when known.
    cell_source
        First line of that cell.
    notebook
        The partly executed notebook, marked where it stopped, when there is one.
    """

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        cell: int | None = None,
        cell_source: str = "",
        notebook: nbformat.NotebookNode | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.cell = cell
        self.cell_source = cell_source
        self.notebook = notebook


def first_line(source: str, *, limit: int = 80) -> str:
    """The first non-blank line of a cell, shortened for an index page."""
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def warm_up_code(notebook: Path) -> str:
    """The notebook's top-level import statements, to run once in a fresh kernel.

    Importing before the parameters cell changes nothing a notebook can see (imports do not
    depend on parameters), and it lets every village start from the same post-import state.
    """
    # The file as JSON: a run reads its warm-up before it may spend seconds importing nbformat.
    document = json.loads(notebook.read_text(encoding="utf-8"))
    if document.get("nbformat") == 4:
        cells = document.get("cells", [])
    else:  # an older format: nbformat upgrades it
        import nbformat

        cells = nbformat.read(notebook, as_version=4).cells
    lines: list[str] = []
    for cell in cells:
        if cell.get("cell_type") != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse("".join(source) if isinstance(source, list) else source)
        except SyntaxError:  # IPython magics: not Python, and not needed for warming up
            continue
        lines += [ast.unparse(node) for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    return "\n".join(dict.fromkeys(lines))


def peak_rss(pid: int | None) -> int:
    """Peak resident memory of a process in bytes (Linux ``VmHWM``; current RSS elsewhere)."""
    if pid is None:
        return 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except Exception:  # the process is gone, or psutil cannot see it: no measurement
        return 0


@dataclass
class _Tracker:
    """Follows one execution: which cell runs, and how long the village may still take."""

    deadline: float
    nb: nbformat.NotebookNode | None = None
    cell_index: int | None = None
    execution_count: int = 0
    cell_timeout: float | None = None

    def on_cell_start(self, cell: nbformat.NotebookNode, cell_index: int, **_: Any) -> None:
        # nbclient numbers executed code cells itself, skipping blank ones; mirror it.
        if cell.cell_type == "code" and cell.source.strip():
            self.execution_count += 1
            self.cell_index = cell_index

    def timeout_for(self, cell: nbformat.NotebookNode) -> int:
        if self.cell_timeout is not None:
            return max(1, math.ceil(self.cell_timeout))
        # The village has one time budget; each cell gets what is left of it.
        return max(1, math.ceil(self.deadline - time.monotonic()))


@functools.cache
def _register_engine() -> None:
    """Register the papermill engine that executes in a :class:`WarmKernel`, on first use."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class WarmKernelEngine(NBClientEngine):
        """A papermill engine that executes in an already running :class:`WarmKernel`."""

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: int | None = None,
            warm: WarmKernel | None = None,
            tracker: _Tracker | None = None,
            **kwargs: Any,
        ) -> Any:
            """Execute ``nb_man.nb`` in ``warm``'s kernel (papermill's engine interface)."""
            if warm is None or tracker is None or warm.km is None or warm.kc is None:
                raise RuntimeError(f"the {ENGINE_NAME} engine needs a started WarmKernel")
            tracker.nb = nb_man.nb
            client = PapermillNotebookClient(
                nb_man,
                km=warm.km,
                kernel_name=kernel_name,
                timeout=tracker.timeout_for(nb_man.nb),
                timeout_func=tracker.timeout_for,
                interrupt_on_timeout=False,
                startup_timeout=start_timeout,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                on_cell_start=tracker.on_cell_start,
            )
            # NotebookClient clears `kc` in __init__; setting it afterwards makes setup_kernel
            # reuse this client's channels instead of opening new ones, and because the client
            # does not own `km` it leaves the kernel running when the notebook is done.
            client.kc = warm.kc
            return client.execute()

    papermill_engines.register(ENGINE_NAME, WarmKernelEngine)


def prepare_engine() -> None:
    """Import papermill and nbclient and register the warm engine, in the calling thread.

    Call it before executing in warm kernels from several threads at once: two threads
    importing the same packages at the same moment can each see the other's module half
    initialized.
    """
    import nbclient.exceptions  # noqa: F401 - imported here, not first in a worker thread
    import papermill.exceptions  # noqa: F401

    _register_engine()


def _marked(nb: nbformat.NotebookNode, cell_index: int | None, message: str) -> nbformat.NotebookNode:
    """Mark where execution stopped, the way papermill marks a failed cell."""
    import nbformat
    from papermill.execute import ERROR_MARKER_TAG

    if any(ERROR_MARKER_TAG in c.metadata.get("tags", []) for c in nb.cells):
        return nb  # papermill already marked it
    style = 'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;"'
    top = nbformat.v4.new_markdown_cell(
        f'<span {style}>{message} <a href="#papermill-error-cell">Jump there</a>.</span>'
    )
    anchor = nbformat.v4.new_markdown_cell(
        f'<span id="papermill-error-cell" {style}>Execution using papermill stopped here:</span>'
    )
    for cell in (top, anchor):
        cell.metadata["tags"] = [ERROR_MARKER_TAG]
    if cell_index is not None:
        nb.cells.insert(cell_index, anchor)
    nb.cells.insert(0, top)
    return nb


def _describe_death(km: AsyncKernelManager | None) -> str:
    process = getattr(getattr(km, "provisioner", None), "process", None)
    code = process.poll() if process is not None else None
    if code is None:
        return "the kernel died"
    if code < 0:
        try:
            return f"the kernel died (killed by {signal.Signals(-code).name})"
        except ValueError:
            return f"the kernel died (signal {-code})"
    return f"the kernel died (exit status {code})"


def _cancel_pending() -> None:
    """Cancel what a stopped execution left waiting on this context's event loop.

    A signal (Ctrl-C, SIGTERM) that ends a notebook midway leaves nbclient's cell coroutine
    pending. Resumed by the shutdown that follows, it fails on the dead kernel, and Python prints
    "Task exception was never retrieved" as the command exits, after its one-line message.
    """
    loop = ensure_event_loop()
    if loop.is_running():  # pragma: no cover - only called between executions
        return
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


class WarmKernel:
    """One kernel, started on first use and reused for every notebook given to it.

    Not thread-safe: use one per thread (:func:`kernel_for_thread`).

    Parameters
    ----------
    kernel_name
        The Jupyter kernel to start.
    cwd
        The kernel's working directory (that of the notebooks, as for a papermill run).
    startup_timeout
        Seconds a kernel may take to start and run the notebook's imports.
    recycle_after
        Start a new kernel after this many notebooks, as a bound on slow growth of memory
        that no reset can reach (0: never).
    warm_up
        Code to run once in each new kernel before its state is recorded; default: the
        top-level imports of the first notebook it executes (:func:`warm_up_code`).
    """

    def __init__(
        self,
        *,
        kernel_name: str,
        cwd: Path,
        startup_timeout: float = 180,
        recycle_after: int = 200,
        warm_up: str | None = None,
    ) -> None:
        self.kernel_name = kernel_name
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.recycle_after = recycle_after
        self.warm_up = warm_up
        self.km: AsyncKernelManager | None = None
        self.kc: Any = None
        self.runs = 0
        self.starts = 0
        self.peak_rss = 0
        # nbclient and jupyter_client keep their event loop in a context variable. Dask runs
        # every task in a fresh copy of the thread's context, which would give each village a
        # new loop and orphan the kernel client's sockets; running everything inside one
        # context of our own keeps one loop for the kernel's whole life. The context starts
        # empty rather than copied: a copy would carry the loop of whoever created the kernel,
        # and two kernels made in one thread (the stage kernel and the side kernel that cleans
        # the other round in a thread of its own) would then share one loop and collide
        # ("This event loop is already running") once that thread had used a kernel before.
        self._context = contextvars.Context()
        #: Set by :meth:`kill_now`: a killed kernel is never started again, so that a thread
        #: executing in it stops rather than retrying the start on a fresh kernel.
        self.killed = False

    @property
    def pid(self) -> int | None:
        """Process id of the running kernel."""
        return getattr(getattr(self.km, "provisioner", None), "pid", None) if self.km else None

    def _remember_memory(self) -> None:
        self.peak_rss = max(self.peak_rss, peak_rss(self.pid))

    def launch(self, warm_up: str | None = None) -> None:
        """Start the kernel process and return at once; the next :meth:`execute` waits for it.

        The kernel runs ``warm_up`` (default: :attr:`warm_up`) as it starts, while the caller
        goes on: a run launches its stage kernel before it hashes its inputs. Does nothing when
        the kernel is running already.
        """
        code = warm_up if warm_up is not None else self.warm_up
        self._context.run(self._launch, code or "")

    def _launch(self, warm_up: str) -> None:
        if self.km is not None:
            return
        if self.killed:
            raise RuntimeError("the kernel was stopped")
        # The kernel runs the warm-up while it starts, before it answers any request: an
        # import that fails there fails again, visibly, in the notebook itself.
        arguments = [*KERNEL_ARGUMENTS, *([f"--IPKernelApp.exec_lines={warm_up}"] if warm_up else [])]
        km = AsyncKernelManager(kernel_name=self.kernel_name)
        run_sync(km.start_kernel)(extra_arguments=arguments, cwd=str(self.cwd))
        self.km = km
        self.kc = None
        self.starts += 1
        if self.killed:  # killed while it started, before kill_now could see its process
            self._discard()
            raise RuntimeError("the kernel was stopped")

    def _connect(self) -> None:
        """Wait until a launched kernel answers (its warm-up done), then record its state."""
        if self.km is None:
            raise RuntimeError("the kernel was not launched")
        try:
            kc = self.km.client()
            kc.start_channels()
            self.kc = kc
            run_sync(kc.wait_for_ready)(timeout=self.startup_timeout)
            kc.allow_stdin = False
            self._run_code(_SNAPSHOT_CODE, timeout=self.startup_timeout)
        except BaseException:
            self._discard()
            raise
        self.runs = 0

    def _run_code(self, code: str, *, timeout: float, check: bool = True) -> None:
        """Run code silently: no history, no execution count, no output in any notebook."""
        reply = run_sync(self.kc.execute_interactive)(
            code,
            silent=True,
            store_history=False,
            allow_stdin=False,
            stop_on_error=False,
            timeout=timeout,
            output_hook=lambda msg: None,
        )
        content = reply["content"]
        if check and content.get("status") != "ok":
            raise RuntimeError(f"{content.get('ename', 'error')}: {content.get('evalue', '')}")

    def alive(self) -> bool:
        """Whether the kernel process is running."""
        return self.km is not None and bool(self._context.run(run_sync(self.km.is_alive)))

    def execute(
        self,
        notebook: Path,
        *,
        parameters: Mapping[str, Any],
        timeout: float,
        timeout_scope: TimeoutScope = "notebook",
    ) -> nbformat.NotebookNode:
        """Execute ``notebook`` with ``parameters`` through papermill in this kernel.

        Parameters
        ----------
        notebook
            The template notebook.
        parameters
            Values for its ``parameters`` cell (names are checked against the cell).
        timeout
            Seconds the whole notebook may take (not counting a kernel start), or each cell
            with ``timeout_scope="cell"``.
        timeout_scope
            What ``timeout`` bounds.

        Returns
        -------
        nbformat.NotebookNode
            The executed notebook.

        Raises
        ------
        ExecutionFailure
            When a cell raised, the kernel died, or time ran out.
        """
        check_parameters(notebook, parameters)
        return self._context.run(self._execute, notebook, parameters, timeout, timeout_scope)

    def _execute(
        self, notebook: Path, parameters: Mapping[str, Any], timeout: float, scope: TimeoutScope
    ) -> nbformat.NotebookNode:
        if self.km is not None and (self.runs >= self.recycle_after > 0 or not run_sync(self.km.is_alive)()):
            self._remember_memory()
            self._discard()
        if self.km is None or self.kc is None:
            warm_up = self.warm_up if self.warm_up is not None else warm_up_code(notebook)
            for attempt in range(1, STARTUP_ATTEMPTS + 1):
                try:
                    self._launch(warm_up)  # nothing to do when launched ahead (launch())
                    self._connect()
                    break
                except Exception as exc:
                    # Kernels started side by side can race for the same TCP port and die
                    # before they answer: a start-up accident, so start again (as execute()).
                    if "before replying to kernel_info" in str(exc) and attempt < STARTUP_ATTEMPTS:
                        continue
                    raise ExecutionFailure(
                        "kernel_died", f"the kernel could not start: {type(exc).__name__}: {exc}"
                    ) from exc
        per_cell = timeout if scope == "cell" else None
        tracker = _Tracker(deadline=time.monotonic() + timeout, cell_timeout=per_cell)
        try:
            self._run_code(_RESET_CODE, timeout=min(timeout, 120))
        except Exception as exc:
            self._discard()
            raise ExecutionFailure("kernel_died", f"the kernel could not be reset: {exc}") from exc
        self.runs += 1
        import papermill as pm
        from nbclient.exceptions import CellTimeoutError, DeadKernelError
        from papermill.exceptions import PapermillExecutionError

        _register_engine()
        try:
            nb = pm.execute_notebook(
                str(notebook),
                None,  # no intermediate saves: the caller writes the result once, atomically
                parameters=dict(parameters),
                engine_name=ENGINE_NAME,
                kernel_name=self.kernel_name,
                request_save_on_cell_execute=False,
                progress_bar=False,
                log_output=False,
                warm=self,
                tracker=tracker,
            )
        except PapermillExecutionError as exc:
            self._remember_memory()
            nb = tracker.nb
            message = f"{exc.ename}: {first_line(str(exc.evalue), limit=300)}".rstrip(": ")
            raise ExecutionFailure(
                "exception",
                message,
                cell=exc.exec_count,
                cell_source=first_line(exc.source),
                notebook=None if nb is None else _marked(nb, exc.cell_index, message),
            ) from exc
        except (CellTimeoutError, TimeoutError) as exc:
            self._discard()
            what = "a cell took" if per_cell else "took"
            raise self._stopped("timeout", f"{what} longer than {timeout:g} s", tracker) from exc
        except DeadKernelError as exc:
            message = _describe_death(self.km)
            self._discard()
            raise self._stopped("kernel_died", message, tracker) from exc
        except Exception as exc:
            # The kernel's state is unknown after an unexpected error; do not reuse it.
            dead = self.km is not None and not run_sync(self.km.is_alive)()
            message = _describe_death(self.km) if dead else f"{type(exc).__name__}: {exc}"
            self._discard()
            raise self._stopped("kernel_died" if dead else "error", message, tracker) from exc
        self._remember_memory()
        return nb

    @staticmethod
    def _stopped(kind: FailureKind, message: str, tracker: _Tracker) -> ExecutionFailure:
        cell = None
        source = ""
        nb = tracker.nb
        if nb is not None and tracker.cell_index is not None:
            running = nb.cells[tracker.cell_index]
            source = first_line(running.source)
            cell = tracker.execution_count
            if running.get("execution_count") is None:
                running["execution_count"] = cell
        text = f"{message} (while running In [{cell}])" if cell else message
        return ExecutionFailure(
            kind,
            message,
            cell=cell,
            cell_source=source,
            notebook=None if nb is None else _marked(nb, tracker.cell_index, text),
        )

    def _discard(self) -> None:
        """Stop the kernel now, whatever it is doing, and forget it."""
        km, kc = self.km, self.kc
        self.km = self.kc = None
        _cancel_pending()
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:  # channels of a dead kernel may already be closed
                pass
        if km is not None:
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # already dead: only its files are left to remove
                try:
                    run_sync(km.cleanup_resources)()
                except Exception:
                    pass

    def close(self) -> None:
        """Stop the kernel (call from the thread that uses it)."""
        if self.km is not None:
            self._remember_memory()
            self._context.run(self._discard)

    def kill_now(self) -> None:
        """Kill the kernel process from any thread or a signal handler (no event loop needed).

        The kernel is not started again afterwards (:attr:`killed`).
        """
        self.killed = True
        pid = self.pid
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)  # the kernel leads its own session and group
            except OSError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            # Reap it (we are its parent), so no zombie waits for init after we exit.
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0]:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.01)
        km = self.km
        if km is not None:
            try:
                km.cleanup_connection_file()
            except Exception:  # best effort: a stale connection file is harmless
                pass


def execute_in(
    kernel: WarmKernel,
    notebook: Path,
    output: Path,
    *,
    parameters: Mapping[str, Any],
    timeout: float = 600,
) -> nbformat.NotebookNode:
    """:func:`analysis.run.execute.execute` in a warm kernel: the same file, the same errors.

    For the stage notebooks of a run, which run one after another in one kernel.

    Parameters
    ----------
    kernel
        The kernel to run in (started on first use, reset before every notebook).
    notebook
        The template notebook.
    output
        Where to write the executed notebook (atomically), also when a cell fails.
    parameters
        Values for the ``parameters`` cell; names must be declared there.
    timeout
        Seconds any one cell may run.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell raises, as papermill raises it in a fresh kernel: the error's class name
        and message (``ename``, ``evalue``) are what ``berdaya``'s one-line errors show. The
        notebook written to ``output`` is marked at the failed cell, as papermill marks it.
    Exception
        nbclient's own error when the kernel died or a cell ran out of time; the error of
        the kernel's start when it could not start.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        nb = kernel.execute(notebook, parameters=parameters, timeout=timeout, timeout_scope="cell")
    except ExecutionFailure as failure:
        if failure.notebook is not None:
            _write_notebook(failure.notebook, output)
        # Callers of a stage handle what papermill and nbclient raise (the command's one-line
        # errors read `ename`/`evalue`), not the batch's summary of it.
        cause = failure.__cause__
        if cause is None:
            raise
        raise cause from None
    _write_notebook(nb, output)
    return nb


def _write_notebook(nb: nbformat.NotebookNode, output: Path) -> None:
    """Write ``nb`` to ``output`` through a temporary file: never a half-written notebook."""
    # papermill records where it wrote the notebook; the warm engine wrote nowhere yet.
    metadata = nb.metadata.get("papermill")
    if isinstance(metadata, dict):
        metadata["output_path"] = str(output)
    write_notebook_atomic(nb, output)


def write_notebook_atomic(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write ``nb`` to ``path`` as nbformat writes it, never half-written (a temporary file)."""
    import nbformat

    text = nbformat.writes(nb)
    write_text_atomic(path, text if text.endswith("\n") else text + "\n")


_KERNELS: dict[int, WarmKernel] = {}
# Re-entrant: a worker's SIGTERM handler releases the kernels in the main thread, possibly
# while that same thread holds the lock.
_KERNELS_LOCK = threading.RLock()


def kernel_for_thread(*, kernel_name: str, cwd: Path, recycle_after: int = 200) -> WarmKernel:
    """The calling thread's warm kernel, created on first use.

    One per thread: a local worker process has one thread, a Dask worker process as many as
    it runs tasks at once.
    """
    ident = threading.get_ident()
    with _KERNELS_LOCK:
        kernel = _KERNELS.get(ident)
    if kernel is not None and (kernel.kernel_name, kernel.cwd) == (kernel_name, cwd):
        return kernel
    if kernel is not None:
        kernel.close()
    kernel = WarmKernel(kernel_name=kernel_name, cwd=cwd, recycle_after=recycle_after)
    with _KERNELS_LOCK:
        _KERNELS[ident] = kernel
    return kernel


def process_peak_rss() -> int:
    """Peak memory of this process plus the peak of every kernel it has run (bytes)."""
    with _KERNELS_LOCK:
        kernels = list(_KERNELS.values())
    for kernel in kernels:
        kernel._remember_memory()
    return peak_rss(os.getpid()) + sum(k.peak_rss for k in kernels)


def close_kernels() -> None:
    """Shut down this thread's kernel and wait for it to exit; kill any other of this process."""
    with _KERNELS_LOCK:
        own = _KERNELS.pop(threading.get_ident(), None)
    if own is not None:
        try:
            own.close()
        except Exception:  # a kernel that will not stop politely is killed below
            own.kill_now()
    release_kernels()


def release_kernels() -> int:
    """Kill every warm kernel of this process; returns how many there were.

    Safe from a signal handler and from another thread (Dask's ``Client.run``).
    """
    with _KERNELS_LOCK:
        kernels = list(_KERNELS.values())
        _KERNELS.clear()
    for kernel in kernels:
        kernel.kill_now()
    return len(kernels)
