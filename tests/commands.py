"""Run the command line as a user would, from a test or from a background build of conftest.py.

Each command runs in its own process group and is registered while it runs, so that
:func:`stop_all` can end it with its workers and kernels when the session stops early.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BERDAYA = [sys.executable, "-m", "analysis.run.cli"]

_RUNNING: set[subprocess.Popen[Any]] = set()
_LOCK = threading.Lock()


def run(
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1500,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end and capture its output (text).

    With ``BERDAYA_TEST_TRACE=FILE`` in the environment, each command's seconds and what it did
    (the lines that say a step ran or was skipped) are appended to FILE: where a slow suite spends.
    """
    began = time.perf_counter()
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else dict(env),
        cwd=cwd,
        start_new_session=True,
    )
    with _LOCK:
        _RUNNING.add(process)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        _kill(process)
        raise
    finally:
        with _LOCK:
            _RUNNING.discard(process)
    trace = os.environ.get("BERDAYA_TEST_TRACE")
    if trace:
        steps = [
            line for line in stderr.splitlines() if line.endswith(("skipped", " s")) or " done in " in line
        ]
        with open(trace, "a", encoding="utf-8") as file:
            file.write(f"{time.perf_counter() - began:6.1f} s  {' '.join(map(str, command[1:]))[:240]}\n")
            file.writelines(f"          {line}\n" for line in steps)
    return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)


def berdaya(
    *args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None, timeout: float = 1500
) -> subprocess.CompletedProcess[str]:
    """``berdaya ARGS`` in a fresh process (``env`` defaults to this process's environment)."""
    environment = {**(os.environ if env is None else env), "PYTHONHASHSEED": "0"}
    return run([*BERDAYA, *args], env=environment, cwd=cwd, timeout=timeout)


def register(process: subprocess.Popen[Any]) -> None:
    """Have :func:`stop_all` end ``process`` (started in a session of its own) with its children."""
    with _LOCK:
        _RUNNING.add(process)


def stop(process: subprocess.Popen[Any]) -> None:
    """End a registered ``process`` now, with its children."""
    _kill(process)
    with _LOCK:
        _RUNNING.discard(process)


def stop_all() -> None:
    """End every command still running, with its children."""
    with _LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill(process)


def _kill(process: subprocess.Popen[Any]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
