"""With a codebook, the study's ``id``, ``treatment`` and ``village`` keys give the roles.

A codebook written from an XLSForm or inferred from the data may carry no ``household_id`` role;
the study file already says which column is the id, so nothing is added by hand. A codebook that
gives a role to another column than the study key names is a one-line error (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import StudyError
from analysis.inputs.codebook import read_codebook, study_key_variable, with_study_roles
from analysis.inputs.study import load_study
from analysis.run.cli import main
from analysis.stages.clean import clean_stage
from analysis.stages.construct import construct_stage

HEADER = "name,type,source_baseline,source_followup,role\n"
#: The roles a hand-written codebook gives; the study keys imply the same.
ROLES = {"hhid": "household_id", "village": "village", "treat": "treatment"}


def write_survey(folder: Path) -> None:
    """4 villages × 5 households; the follow-up renamed its groups (hh/ → rt/), as Kobo exports do."""
    rows = [
        {"hhid": f"{v + 1:02d}{h:02d}", "village": f"0{v + 1}", "treat": v % 2, "income": 100 + 7 * v + h}
        for v in range(4)
        for h in range(5)
    ]
    frame = pd.DataFrame(rows)
    frame.rename(columns={"hhid": "hh/hhid", "village": "hh/desa"}).to_csv(folder / "baseline.csv", index=False)
    follow = frame.assign(income=frame["income"] + 10 * frame["treat"])
    follow.rename(columns={"hhid": "rt/id_rt", "village": "rt/kode_desa"}).to_csv(
        folder / "followup.csv", index=False
    )


def write_codebook(folder: Path, *, roles: dict[str, str] | None = None) -> None:
    roles = roles or {}
    lines = [
        ("hhid", "id", "hh/hhid", "rt/id_rt"),
        ("village", "id", "hh/desa", "rt/kode_desa"),
        ("treat", "integer", "treat", "treat"),
        ("income", "number", "income", "income"),
    ]
    text = HEADER + "".join(f"{','.join(line)},{roles.get(line[0], '')}\n" for line in lines)
    (folder / "codebook.csv").write_text(text)


def write_study(folder: Path, *, id_key: str = "hhid", village_key: str = "village") -> Path:
    path = folder / "study.yml"
    path.write_text(
        "name: Roles\nrounds: {baseline: baseline.csv, followup: followup.csv}\ncodebook: codebook.csv\n"
        f"id: {id_key}\ntreatment: treat\nvillage: {village_key}\npseudonym_key: test-key\n"
        "outcomes:\n  - {name: income}\n"
    )
    return path


def panel(study: Path, processed: Path) -> pd.DataFrame:
    for round_name in ("baseline", "followup"):
        clean_stage(study, round_name, processed)
    construct_stage(study, processed)
    return pd.read_parquet(processed / "panel.parquet")


@pytest.fixture
def with_roles(tmp_path: Path) -> pd.DataFrame:
    """The panel of the study whose codebook writes the three roles out."""
    folder = tmp_path / "with_roles"
    folder.mkdir()
    write_survey(folder)
    write_codebook(folder, roles=ROLES)
    return panel(write_study(folder), folder / "processed")


@pytest.mark.parametrize(
    ("id_key", "village_key"),
    [("hhid", "village"), ("hh/hhid", "rt/kode_desa")],
    ids=["codebook-names", "raw-source-columns"],
)
def test_a_codebook_without_roles_runs_from_the_study_keys(
    tmp_path: Path, with_roles: pd.DataFrame, id_key: str, village_key: str
) -> None:
    write_survey(tmp_path)
    write_codebook(tmp_path)  # no role at all
    built = panel(write_study(tmp_path, id_key=id_key, village_key=village_key), tmp_path / "processed")
    pd.testing.assert_frame_equal(built, with_roles)
    assert set(built["linkage"]) == {"panel"} and built["village"].nunique() == 4
    assert built.groupby("village")["treatment"].first().tolist() == [0, 1, 0, 1]


def test_the_roles_go_to_the_variable_the_key_names(tmp_path: Path) -> None:
    write_survey(tmp_path)
    write_codebook(tmp_path)
    study = load_study(write_study(tmp_path, id_key="rt/id_rt"))
    book = with_study_roles(read_codebook(tmp_path / "codebook.csv"), study)
    assert {v.name: v.role for v in book.variables} == {**ROLES, "income": None}
    # A codebook that already says it all comes back as it was.
    write_codebook(tmp_path, roles=ROLES)
    complete = read_codebook(tmp_path / "codebook.csv")
    assert with_study_roles(complete, study) is complete


def test_a_raw_column_two_variables_read_names_neither(tmp_path: Path) -> None:
    (tmp_path / "codebook.csv").write_text(HEADER + "a,id,q1,q1,\nb,text,q1,,\nc,id,q2,q2,\n")
    book = read_codebook(tmp_path / "codebook.csv")
    assert study_key_variable(book, "q1") is None
    assert study_key_variable(book, "q2") is book.get("c") and study_key_variable(book, "a") is book.get("a")


def test_a_role_given_to_another_column_stops_the_run_in_one_line(tmp_path: Path, capsys) -> None:
    write_survey(tmp_path)
    write_codebook(tmp_path, roles={"village": "household_id"})
    study = write_study(tmp_path)
    assert main(["run", str(study), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: study.yml: `id` is hhid, but codebook.csv gives the role household_id to village; "
        "write id: village or change the role in codebook.csv\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_key_naming_a_variable_with_another_role_is_an_error(tmp_path: Path) -> None:
    write_survey(tmp_path)
    write_codebook(tmp_path, roles={"village": "cluster"})
    study = load_study(write_study(tmp_path))
    with pytest.raises(StudyError) as info:
        with_study_roles(read_codebook(tmp_path / "codebook.csv"), study)
    assert str(info.value) == (
        "study.yml: `village` is village, but codebook.csv gives village the role cluster; "
        "write role village for village in codebook.csv or change `village`"
    )
