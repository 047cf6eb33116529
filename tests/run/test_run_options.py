"""The run's options (``RunOptions``) and its stage notebooks in one warm kernel (``execute_in``).

The stage notebooks of a run execute one after another in one kernel; each must still start
from a clean namespace, be saved as papermill saves it, and fail as papermill fails (the
command's one-line errors read the exception's ``ename`` and ``evalue``). Tiny notebooks
written here stand in for the stages: the kernel machinery is under test, not the stages.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from papermill.exceptions import PapermillExecutionError
from papermill.execute import ERROR_MARKER_TAG

from analysis.run import pipeline
from analysis.run.execute import execute, kernel_name
from analysis.run.kernels import WarmKernel, execute_in
from analysis.run.pipeline import RunOptions, run_study

# Warm kernels and notebook runs: the end-to-end tier (`make test-fast` skips it).
pytestmark = pytest.mark.e2e


def test_run_options_are_frozen_and_keyword_only() -> None:
    options = RunOptions(workers=3, villages=("0101",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.workers = 4  # type: ignore[misc]
    with pytest.raises(TypeError):
        RunOptions(False)  # type: ignore[misc]
    assert options.notebook.name == pipeline.NOTEBOOKS["village"]
    assert RunOptions(village_notebook=Path("/x/mine.ipynb")).notebook == Path("/x/mine.ipynb")


def test_run_study_hands_every_keyword_to_run_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[tuple[object, object, RunOptions]] = []

    def capture(study_path: object, *, out: object, options: RunOptions) -> int:
        seen.append((study_path, out, options))
        return 7

    def log(message: str) -> None:
        pass

    monkeypatch.setattr(pipeline, "run_with_options", capture)
    code = run_study(
        "study.yml",
        out=tmp_path,
        village_reports=False,
        workers=3,
        scheduler="tcp://h:8786",
        villages=["0102", "0101"],
        retry_failed=True,
        timeout=12.5,
        timeouts={"0101": 99.0},
        village_notebook=Path("v.ipynb"),
        progress=False,
        log=log,
    )
    assert code == 7
    study, out, options = seen[-1]
    assert (study, out) == ("study.yml", tmp_path)
    assert options == RunOptions(
        village_reports=False,
        workers=3,
        scheduler="tcp://h:8786",
        villages=("0102", "0101"),
        retry_failed=True,
        timeout=12.5,
        timeouts={"0101": 99.0},
        village_notebook=Path("v.ipynb"),
        progress=False,
        log=log,
    )
    run_study("study.yml", out=tmp_path)
    defaults = seen[-1][2]
    assert defaults.workers == (os.cpu_count() or 1)
    assert defaults.villages == () and dict(defaults.timeouts) == {}
    assert defaults.village_reports and defaults.village_notebook is None


def _notebook(path: Path, *cells: str) -> Path:
    """A notebook with a ``parameters`` cell (``value``) and then ``cells``."""
    parameters = nbformat.v4.new_code_cell('value = "default"')
    parameters.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[parameters, *(nbformat.v4.new_code_cell(c) for c in cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def _outputs(nb: Any) -> list[str]:
    return [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_notebooks_in_one_warm_kernel_start_clean_and_fail_as_papermill_fails(tmp_path: Path) -> None:
    first = _notebook(tmp_path / "first.ipynb", "left_behind = value * 2\nprint(left_behind)")
    second = _notebook(
        tmp_path / "second.ipynb", "print(sorted(k for k in ('left_behind', 'value') if k in globals()))"
    )
    failing = _notebook(
        tmp_path / "failing.ipynb", "print('before')", "raise ValueError(f'bad {value}')", "print('never')"
    )
    kernel = WarmKernel(kernel_name=kernel_name(), cwd=tmp_path, recycle_after=0, warm_up="import json")
    try:
        out = tmp_path / "out"
        nb = execute_in(kernel, first, out / "first.ipynb", parameters={"value": "ab"})
        assert "abab\n" in _outputs(nb)
        saved = nbformat.read(out / "first.ipynb", as_version=4)
        assert saved.metadata.papermill.output_path == str(out / "first.ipynb")
        assert saved.metadata.papermill.parameters == {"value": "ab"}
        assert "abab\n" in _outputs(saved)

        # The next notebook sees its own parameters only, not what the first one left.
        nb = execute_in(kernel, second, out / "second.ipynb", parameters={})
        assert "['value']\n" in _outputs(nb)

        with pytest.raises(PapermillExecutionError) as raised:
            execute_in(kernel, failing, out / "failing.ipynb", parameters={"value": "x"})
        # What papermill raises and keeps when the same notebook fails in a fresh kernel.
        with pytest.raises(PapermillExecutionError) as fresh:
            execute(failing, tmp_path / "fresh" / "failing.ipynb", parameters={"value": "x"}, cwd=tmp_path)
        warm_error, fresh_error = raised.value, fresh.value
        assert (warm_error.ename, warm_error.evalue) == ("ValueError", "bad x")
        assert (warm_error.exec_count, warm_error.cell_index, warm_error.source) == (
            fresh_error.exec_count,
            fresh_error.cell_index,
            fresh_error.source,
        )
        kept = nbformat.read(out / "failing.ipynb", as_version=4)
        fresh_kept = nbformat.read(tmp_path / "fresh" / "failing.ipynb", as_version=4)
        assert [c.metadata.get("tags", []) for c in kept.cells] == [
            c.metadata.get("tags", []) for c in fresh_kept.cells
        ]
        assert any(ERROR_MARKER_TAG in c.metadata.get("tags", []) for c in kept.cells)
        assert _outputs(kept)[0] == "before\n" and "never\n" not in _outputs(kept)
        assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left

        # A cell's exception is the notebook's, not the kernel's: the same kernel goes on.
        nb = execute_in(kernel, first, out / "again.ipynb", parameters={"value": "c"})
        assert "cc\n" in _outputs(nb)
        assert kernel.starts == 1
    finally:
        kernel.close()


def test_an_undeclared_parameter_is_refused_before_the_kernel_starts(tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "n.ipynb", "print(value)")
    kernel = WarmKernel(kernel_name=kernel_name(), cwd=tmp_path, recycle_after=0)
    try:
        with pytest.raises(Exception, match="has no parameter 'other'"):
            execute_in(kernel, notebook, tmp_path / "out.ipynb", parameters={"other": 1})
        assert kernel.starts == 0 and not (tmp_path / "out.ipynb").exists()
    finally:
        kernel.close()
