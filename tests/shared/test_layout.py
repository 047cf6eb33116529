"""One file-name contract: the stages write exactly the names of shared/layout, and no module spells them."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from analysis.config import ROUNDS
from analysis.shared import layout

PACKAGE = Path(layout.__file__).resolve().parents[1]


#: Raw input files that share a name with an output: the demo's village list is not the
#: estimate stage's ``tables/villages.csv``.
RAW_INPUTS = {("demo/survey.py", "villages.csv")}

#: The per-round file names of the processed folder, by their layout function.
ROUND_FILES = (
    layout.clean_parquet,
    layout.id_forms_parquet,
    layout.quarantine_csv,
    layout.row_states_csv,
    layout.changes_csv,
    layout.missing_csv,
    layout.quality_csv,
    layout.validation_csv,
    layout.duplicates_csv,
    layout.columns_csv,
    layout.summary_json,
    layout.warnings_json,
)

#: What the construct stage adds to the processed folder.
PANEL_FILES = {
    layout.PANEL_PARQUET,
    layout.PANEL_LINKAGE_CSV,
    layout.PANEL_EXCLUSIONS_CSV,
    layout.UNLINKED_CSV,
    layout.LINKAGE_BY_VILLAGE_CSV,
    layout.LINKAGE_SUMMARY_JSON,
    layout.SCHEMA_DIFF_CSV,
    layout.warnings_json("construct"),
}

#: What the estimate stage writes into each tier.
TABLE_FILES = {
    layout.IMPACT_CSV,
    layout.IMPACT_DETAIL_CSV,
    layout.IMPACT_INFERENCE_CSV,
    layout.INDEX_WEIGHTS_CSV,
    layout.OUTCOMES_CSV,
    layout.BALANCE_CSV,
    layout.ATTRITION_CSV,
    layout.LEE_BOUNDS_CSV,
    layout.MDE_CSV,
    layout.ALKIRE_FOSTER_CSV,
    layout.INCOME_CONVENTIONS_CSV,
    layout.ROW_ACCOUNTING_CSV,
    layout.LINKAGE_CSV,
    layout.VILLAGES_CSV,
    layout.WARNINGS_CSV,
    layout.IMPACT_TEX,
    layout.INDICES_TEX,
    layout.BALANCE_TEX,
    layout.ATTRITION_TEX,
}


def layout_names() -> set[str]:
    """Every file name of the layout, and the fixed parts of the per-round ones (``_clean.parquet``)."""
    names: set[str] = set()
    for name, value in vars(layout).items():
        if name.isupper() and isinstance(value, str) and "." in value.strip("."):
            names.add(value)
        elif name.isupper() and isinstance(value, dict):
            names |= {v for v in value.values() if isinstance(v, str)}
        elif (
            inspect.isfunction(value)
            and value.__module__ == layout.__name__
            and len(inspect.signature(value).parameters) == 1
        ):
            # A marker where the argument goes leaves the parts the function adds around it.
            # (Functions of more arguments, such as in_language, rename a name; they add none.)
            # The marker is a safe round name, which round_stem keeps as it is.
            marker = "MARKER0"
            names |= {part for part in value(marker).split(marker) if "." in part or len(part) > 3}
    return names


def spelled_names(source: str, names: set[str]) -> list[tuple[int, str]]:
    """String literals of ``source`` (docstrings left out) that spell a name of ``names``."""
    tree = ast.parse(source)
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            text = node.value
            if any(text == n or text.endswith(f"/{n}") for n in names):
                found.append((node.lineno, text))
    return found


def test_the_guard_finds_a_spelled_name() -> None:
    names = layout_names()
    source = 'PATH = out / "panel.parquet"\nOTHER = f"{r}_clean.parquet"\nOK = "the panel.parquet"\n'
    assert [text for _, text in spelled_names(source, names)] == ["panel.parquet", "_clean.parquet"]


def test_no_module_spells_a_file_name_of_the_layout() -> None:
    names = layout_names()
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if path.name == "layout.py":
            continue
        offenders += [
            f"{relative}:{line}: {text!r}"
            for line, text in spelled_names(path.read_text(), names)
            if (relative, text) not in RAW_INPUTS
        ]
    assert offenders == []


@pytest.fixture
def stages_run(layout_stages: tuple[Path, Path]) -> tuple[Path, Path]:
    """The demo (10 villages × 20 households, seed 5, few resamples: only the file names matter
    here) through the stages, in the session's job process (tests/jobs.py)."""
    return layout_stages


def test_the_stages_write_exactly_the_names_of_the_layout(stages_run: tuple[Path, Path]) -> None:
    processed, tables = stages_run
    per_round = {name(round_name) for name in ROUND_FILES for round_name in ROUNDS}
    assert {p.name for p in processed.iterdir() if p.is_file()} == per_round | PANEL_FILES
    assert {p.name for p in processed.iterdir() if p.is_dir()} == {layout.INTERNAL_DIR}
    assert {p.name for p in tables.iterdir()} == TABLE_FILES
    assert {p.name for p in (processed / layout.INTERNAL_DIR).iterdir()} == TABLE_FILES
