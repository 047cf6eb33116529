"""Notebooks are committed stripped, with a typed `parameters` cell, and define nothing."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: Every notebook git tracks: the stage notebooks and the tests' own.
TRACKED = NOTEBOOKS + sorted((ROOT / "tests" / "notebooks").glob("*.ipynb"))
#: What scripts/strip-notebooks.sh adds to nbstripout's defaults.
EXTRA_KEYS = "metadata.language_info"


def test_there_are_stage_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    assert {
        "01_clean_round.ipynb",
        "02_construct_panel.ipynb",
        "03_estimate_impacts.ipynb",
        "04_programme_report.ipynb",
        "05_village_report.ipynb",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_has_one_parameters_cell_with_typed_defaults(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged `parameters`"
    tree = ast.parse(tagged[0].source)
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), f"{path.name}: parameter without a type annotation"
    inferred = pm.inspect_notebook(str(path))
    assert inferred, f"{path.name}: papermill sees no parameters"
    assert all(p["inferred_type_name"] != "None" for p in inferred.values())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_defines_no_functions_or_classes(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda), (
                f"{path.name}: notebooks call into `analysis`; logic belongs in src/analysis"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_kernel_is_the_projects_own(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "berdaya"


def test_committed_as_nbstripout_leaves_them() -> None:
    # Otherwise git's filtered copy differs from the file and a fresh clone shows it modified.
    command = [sys.executable, "-m", "nbstripout", "--verify", "--extra-keys", EXTRA_KEYS, *map(str, TRACKED)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"run {' '.join(command[1:3])} --extra-keys {EXTRA_KEYS} on: {result.stdout}"


def _git(folder: Path, *args: str) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.org"]
    return subprocess.run(
        ["git", *identity, *args], cwd=folder, check=True, capture_output=True, text=True
    ).stdout


def test_a_notebook_opened_and_run_in_jupyterlab_does_not_show_as_modified(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q")
    shutil.copy(ROOT / ".gitattributes", tmp_path / ".gitattributes")
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "strip-notebooks.sh", tmp_path / "scripts")
    subprocess.run(["bash", "scripts/strip-notebooks.sh", sys.executable], cwd=tmp_path, check=True)
    notebook = tmp_path / "05_village_report.ipynb"
    shutil.copy(ROOT / "notebooks" / notebook.name, notebook)
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "notebooks")
    # What JupyterLab writes when the kernel starts and the cells run, and papermill's record.
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    nb["metadata"]["language_info"] = {
        "name": "python", "version": "3.11.9", "mimetype": "text/x-python", "file_extension": ".py",
        "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3",
        "nbconvert_exporter": "python",
    }  # fmt: skip
    for number, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = number + 1
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["village 101 read as 0101\n"]}]
        cell["metadata"]["execution"] = {"iopub.execute_input": "2025-01-01T00:00:00.000Z"}
        cell["metadata"]["scrolled"] = True
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    # git compares the stripped notebook: nothing to commit. (Until a `git add` refreshes the
    # index, `git status` may list the file from its new size alone, as for any git filter.)
    _git(tmp_path, "add", "--all")
    assert _git(tmp_path, "status", "--porcelain") == ""
    # A real edit still counts.
    nb["cells"][-1]["source"] = ["print('changed')"]
    notebook.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    _git(tmp_path, "add", "--all")
    assert _git(tmp_path, "status", "--porcelain").strip() == f"M  {notebook.name}"
