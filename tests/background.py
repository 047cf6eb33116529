"""Run functions of the tests/ helper modules in one background process (the jobs of tests/conftest.py).

In-process work (stage functions, the Monte Carlo draws) run in the session's build thread would
compete with the tests for the interpreter lock. :class:`JobServer` runs it in one separate
Python process instead, one job after another, so the imports are paid once; the process is
registered with :mod:`commands`, so :func:`commands.stop_all` stops it when the session ends early.

``python tests/background.py`` reads pickled ``(module, function, args)`` requests on its standard
input and answers each with a pickled ``("ok", value)`` or ``("error", traceback)`` on its
standard output (what the jobs themselves print goes to its standard error, a log file).
"""

from __future__ import annotations

import importlib
import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import commands


class JobServer:
    """The session's job process, started at its first job; its output goes to ``log``."""

    def __init__(self, log: Path, *, env: Mapping[str, str] | None = None) -> None:
        self._log, self._env = log, env
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def run(self, module: str, function: str, *args: Any) -> Any:
        """``module.function(*args)`` in the job process; returns what it returns."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:
                with self._log.open("ab") as log:
                    process = subprocess.Popen(
                        [sys.executable, __file__],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=log,
                        env=None if self._env is None else dict(self._env),
                        cwd=self._log.parent,
                        start_new_session=True,
                    )
                commands.register(process)
                self._process = process
            assert process.stdin is not None and process.stdout is not None
            try:
                pickle.dump((module, function, args), process.stdin)
                process.stdin.flush()
                status, value = pickle.load(process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError) as exc:
                raise RuntimeError(f"the job process stopped during {module}.{function}; see {self._log}") from exc
        if status != "ok":
            raise RuntimeError(f"background job {module}.{function} failed:\n{value}")
        return value

    def close(self) -> None:
        """Stop the job process (it may be running a job: the session ended early)."""
        process = self._process
        if process is not None:
            commands.stop(process)


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    while True:
        try:
            module, function, args = pickle.load(requests)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", getattr(importlib.import_module(module), function)(*args))
        except Exception:
            answer = ("error", traceback.format_exc())
        pickle.dump(answer, answers)
        answers.flush()


if __name__ == "__main__":
    # The protocol keeps the original stdin and stdout; what the jobs print goes to stderr.
    channel_in, channel_out = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    serve(channel_in, channel_out)
