"""Notebook parameters work wherever the kernel runs, and village codes keep their leading zeros."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from e2e_builds import STAGE_NOTEBOOKS, WHERE, NotebookRun

from analysis.config import DEMO_DIR, DEMO_STUDY
from analysis.errors import BerdayaError
from analysis.inputs.study import load_study
from analysis.run.notebook_params import match_village, project_path, village_code

# ---------------------------------------------------------------------------------------------
# The path rule
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A project root with the demo layout, and a separate current folder."""
    root, here = tmp_path / "root", tmp_path / "here"
    (root / "data" / "raw" / "demo").mkdir(parents=True)
    (root / "data" / "raw" / "demo" / "study.yml").write_text("name: x\n", encoding="utf-8")
    (root / "data" / "processed").mkdir()
    here.mkdir()
    return root, here


def test_absolute_path_is_kept(folders: tuple[Path, Path]) -> None:
    root, here = folders
    target = here / "elsewhere" / "study.yml"
    assert project_path(str(target), cwd=here, root=root) == str(target)
    assert project_path(str(target), output=True, cwd=here, root=root) == str(target)


def test_default_input_is_found_under_the_project_root(folders: tuple[Path, Path]) -> None:
    root, here = folders
    assert project_path("data/raw/demo/study.yml", cwd=here, root=root) == str(
        root / "data/raw/demo/study.yml"
    )


def test_input_that_exists_in_the_current_folder_wins(folders: tuple[Path, Path]) -> None:
    root, here = folders
    (here / "data" / "raw" / "demo").mkdir(parents=True)
    (here / "data" / "raw" / "demo" / "study.yml").write_text("name: mine\n", encoding="utf-8")
    assert project_path("data/raw/demo/study.yml", cwd=here, root=root) == str(
        here / "data/raw/demo/study.yml"
    )


def test_old_notebook_relative_default_still_works_from_notebooks(folders: tuple[Path, Path]) -> None:
    root, _ = folders
    notebooks = root / "notebooks"
    notebooks.mkdir()
    resolved = project_path("../data/raw/demo/study.yml", cwd=notebooks, root=root)
    assert Path(resolved).resolve() == (root / "data/raw/demo/study.yml").resolve()


def test_missing_input_is_reported_under_the_project_root(folders: tuple[Path, Path]) -> None:
    root, here = folders
    assert project_path("my/study.yml", cwd=here, root=root) == str(root / "my/study.yml")


def test_new_output_folder_goes_to_the_root_when_its_parent_is_not_here(folders: tuple[Path, Path]) -> None:
    root, here = folders
    assert project_path("data/processed/demo", output=True, cwd=here, root=root) == str(
        root / "data/processed/demo"
    )


def test_new_output_folder_goes_to_the_current_folder_when_its_parent_is_here(
    folders: tuple[Path, Path],
) -> None:
    root, here = folders
    assert project_path("out", output=True, cwd=here, root=root) == str(here / "out")
    (here / "runs").mkdir()
    assert project_path("runs/one", output=True, cwd=here, root=root) == str(here / "runs" / "one")


def test_output_folder_resolves_the_same_before_and_after_it_is_created(folders: tuple[Path, Path]) -> None:
    root, here = folders
    for name in ("data/processed/demo", "fresh"):
        first = Path(project_path(name, output=True, cwd=here, root=root))
        first.mkdir(parents=True)
        # The next stage reads the folder as an input: it must find the same one.
        assert project_path(name, cwd=here, root=root) == str(first)
        assert project_path(name, output=True, cwd=here, root=root) == str(first)


def test_existing_output_folder_under_the_root_is_reused(folders: tuple[Path, Path]) -> None:
    root, here = folders
    (root / "reports" / "tables").mkdir(parents=True)
    (here / "reports").mkdir()  # its parent exists here too, but the folder itself only at the root
    assert project_path("reports/tables", output=True, cwd=here, root=root) == str(root / "reports/tables")


# ---------------------------------------------------------------------------------------------
# The village-code rule
# ---------------------------------------------------------------------------------------------

CODES = ["0101", "0102", "0205"]


def test_integer_village_gets_its_leading_zero_back() -> None:
    assert match_village(205, CODES) == ("0205", "village 205 read as 0205")


def test_text_village_without_leading_zero_is_completed() -> None:
    assert match_village("205", CODES) == ("0205", "village 205 read as 0205")


def test_exact_code_stays_without_a_note() -> None:
    assert match_village("0101", CODES) == ("0101", "")


def test_whole_float_village_is_read_as_its_integer() -> None:
    assert match_village(101.0, CODES) == ("0101", "village 101.0 read as 0101")


def test_unknown_village_names_the_codes_that_exist() -> None:
    with pytest.raises(
        BerdayaError, match=r"village '999' is not a village of this run; the codes are: 0101, 0102, 0205"
    ):
        match_village(999, CODES)


def test_unknown_village_lists_only_the_first_ten_codes() -> None:
    codes = [f"{i:04d}" for i in range(1, 25)]
    with pytest.raises(BerdayaError) as info:
        match_village("abc", codes)
    message = str(info.value)
    assert "0010" in message and "0011" not in message and "(24 in all)" in message
    assert "\n" not in message


def test_ambiguous_village_is_an_error_naming_the_candidates() -> None:
    with pytest.raises(
        BerdayaError, match=r"village 205 matches several codes \(0205, 00205\).*-r village 0205"
    ):
        match_village(205, ["0205", "00205"])


def test_all_zero_code_matches_itself() -> None:
    assert match_village(0, ["00", "0101"]) == ("00", "village 0 read as 00")


def test_village_code_reads_the_runs_village_list_and_prints_the_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pd.DataFrame({"village": CODES, "households": [20, 20, 20]}).to_csv(
        tmp_path / "villages.csv", index=False
    )
    assert village_code(205, tables_dir=tmp_path) == "0205"
    assert capsys.readouterr().out == "village 205 read as 0205\n"
    assert village_code("0101", tables_dir=str(tmp_path)) == "0101"
    assert capsys.readouterr().out == ""


def test_village_code_without_a_village_list_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(BerdayaError, match=r"villages\.csv not found: set tables_dir"):
        village_code("0101", tables_dir=tmp_path)


# ---------------------------------------------------------------------------------------------
# Real papermill runs (kept few: each starts a kernel)
# ---------------------------------------------------------------------------------------------


def _outputs(nb: nbformat.NotebookNode) -> str:
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(str(output.get("text", "")))
            texts.append(str(output.get("data", {}).get("text/plain", "")))
            texts.append(str(output.get("data", {}).get("text/html", "")))
    return "\n".join(texts)


# The ten runs are made by the session in the background, one after another, on copies of the
# session's demo stages (``stage_notebook_runs`` in tests/conftest.py, tests/e2e_builds.py).
@pytest.mark.e2e
@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("notebook", list(STAGE_NOTEBOOKS))
def test_stage_notebook_runs_with_papermill_from_the_root_and_from_notebooks(
    demo_stages, stage_notebook_runs: dict[tuple[str, str], NotebookRun], notebook: str, where: str
) -> None:
    run = stage_notebook_runs[notebook, where]
    processed, tables, before, out = run.processed, run.tables, run.before, run.out
    assert run.result.returncode == 0, run.result.stderr[-3000:]

    def rewritten(folder: Path, name: str) -> pd.DataFrame:
        path = folder / name
        assert path.stat().st_mtime_ns != before[path], f"{name} was not written"
        return pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)

    def reference(folder: Path, name: str) -> pd.DataFrame:
        path = folder / name
        return pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)

    # The default study (data/raw/demo/study.yml) was found from either folder: each stage
    # writes what the same stage wrote in-process for the bundled demo.
    shown = _outputs(nbformat.read(out, as_version=4))
    if notebook.startswith("01"):
        name = "followup_clean.parquet"
        pd.testing.assert_frame_equal(rewritten(processed, name), reference(demo_stages.processed, name))
    elif notebook.startswith("02"):
        name = "panel.parquet"
        pd.testing.assert_frame_equal(rewritten(processed, name), reference(demo_stages.processed, name))
    elif notebook.startswith("03"):
        pd.testing.assert_frame_equal(rewritten(tables, "impact.csv"), reference(demo_stages.tables, "impact.csv"))
    elif notebook.startswith("04"):
        assert load_study(DEMO_STUDY).name in shown
    else:
        assert "village 101 read as 0101" in shown and "no households" not in shown
        villages = pd.read_csv(DEMO_DIR / "villages.csv", dtype=str).set_index("village")
        assert str(villages.loc["0101", "village_name"]) in shown
