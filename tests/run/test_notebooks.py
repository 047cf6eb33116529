"""Notebooks are committed without outputs, with a typed `parameters` cell, and define nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


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
