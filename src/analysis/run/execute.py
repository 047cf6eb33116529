"""Run a parameterized notebook through papermill, safely.

Parameter names are allow-listed before papermill sees them (papermill inserts names
unescaped, ``docs/bad-inputs.md`` §4.1), values are passed through the Python API so that codes such
as ``"0712"`` stay text, and the executed notebook is written to a temporary file and renamed,
so an interrupted run never leaves a half-written notebook.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from analysis.errors import ReportError
from analysis.inputs.study import is_safe_identifier

if TYPE_CHECKING:
    import nbformat

# papermill (and nbformat with it) is imported where a notebook is read or run: it takes
# seconds, and a run imports this module to launch its kernel before anything else.

KERNEL_NAME = "berdaya"

#: Arguments for every kernel the workbench starts. The kernel's own start-up chatter (e.g.
#: the TCP transport notice) is not news to the user; cell errors still arrive through the
#: execution channel. History goes to memory: many kernels writing one SQLite history file
#: in the user's home would contend for its lock and fill it with generated code.
KERNEL_ARGUMENTS: tuple[str, ...] = (
    "--IPKernelApp.log_level=CRITICAL",
    "--HistoryManager.hist_file=:memory:",
)

#: Kernel start-ups tried before a notebook counts as failed.
STARTUP_ATTEMPTS = 3


def kernel_name() -> str:
    """The kernel that runs this very interpreter.

    ``make`` registers a ``berdaya`` kernel inside ``.venv``. When it points at another
    interpreter (or is missing, e.g. after ``pip install`` elsewhere), fall back to ipykernel's
    built-in ``python3``, which Jupyter resolves to the running interpreter.
    """
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        return "python3"
    executable = Path(spec.argv[0]) if spec.argv else None
    if executable is not None and executable.exists():
        if os.path.realpath(executable) == os.path.realpath(sys.executable):
            return KERNEL_NAME
    return "python3"


@functools.lru_cache(maxsize=32)
def _declared(notebook: str, mtime_ns: int, size: int) -> dict[str, Any]:
    import papermill as pm

    return {name: info for name, info in pm.inspect_notebook(notebook).items()}


def parameters_of(notebook: Path) -> dict[str, Any]:
    """The parameters the notebook declares in its ``parameters`` cell.

    Cached per file version: a batch checks the same template once per village.
    """
    st = notebook.stat()
    return dict(_declared(str(notebook.resolve()), st.st_mtime_ns, st.st_size))


def check_parameters(notebook: Path, parameters: Mapping[str, Any]) -> None:
    """Refuse parameter names that are not identifiers or that the notebook does not declare."""
    declared = parameters_of(notebook)
    for name in parameters:
        if not is_safe_identifier(name):
            raise ReportError(f"refusing parameter name {name!r}: not a Python identifier")
        if name not in declared:
            raise ReportError(
                f"{notebook.name} has no parameter {name!r}; it declares {', '.join(sorted(declared))}"
            )


def execute(
    notebook: Path,
    output: Path,
    *,
    parameters: Mapping[str, Any],
    cwd: Path | None = None,
    timeout: float | None = 600,
    progress: bool = False,
) -> nbformat.NotebookNode:
    """Execute ``notebook`` with ``parameters`` into ``output`` (written atomically).

    Parameters
    ----------
    notebook
        The template notebook (committed without outputs).
    output
        Where to write the executed notebook.
    parameters
        Values for the ``parameters`` cell; names must be declared there.
    cwd
        Working directory of the kernel.
    timeout
        Seconds any one cell may run.
    progress
        Show papermill's cell progress bar.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell fails; the failed notebook is still written to ``output``.
    """
    import papermill as pm

    check_parameters(notebook, parameters)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.stem}.{os.getpid()}.running.ipynb")
    try:
        for attempt in range(1, STARTUP_ATTEMPTS + 1):
            try:
                result = pm.execute_notebook(
                    str(notebook),
                    str(tmp),
                    parameters=dict(parameters),
                    kernel_name=kernel_name(),
                    cwd=str(cwd) if cwd else None,
                    execution_timeout=timeout,
                    progress_bar=progress,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    extra_arguments=list(KERNEL_ARGUMENTS),
                )
                break
            except RuntimeError as exc:
                # Kernels started side by side can race for the same TCP port and die
                # before they answer (jupyter_client picks free ports, then binds later).
                # That is a start-up accident, not the notebook's fault: start again.
                if "before replying to kernel_info" not in str(exc) or attempt == STARTUP_ATTEMPTS:
                    raise
    finally:
        # papermill saves the notebook even when a cell fails, so publish what exists.
        if tmp.exists():
            os.replace(tmp, output)
    return result
