"""The codebook: reading its optional columns, and `berdaya codebook-template`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import CodebookError
from analysis.inputs.codebook import (
    CODEBOOK_COLUMNS,
    OPTIONAL_COLUMNS,
    codebook_template,
    looks_personal,
    read_codebook,
)
from analysis.run.cli import main

BASELINE = (
    "_uuid,__version__,start,end,_submission_time,hh/hhid,hh/nama,hh/no_hp,hh/assets,hh/assets/tv,"
    "hh/assets/motor,hh/income,usaha/pelatihan_teknik,_gps_latitude\n"
    "u1,2401,2023-03-01,2023-03-01,2023-03-01,001,Siti,0812,tv,1,0,5,ya,-7.2\n"
)
FOLLOWUP = (
    "_uuid,rt/id_rt,rt/nama,hh/assets,hh/assets/tv,hh/assets/motor,rt/pendapatan\nu9,001,Siti,motor,0,1,6\n"
)


@pytest.fixture
def study(tmp_path: Path) -> Path:
    (tmp_path / "baseline.csv").write_text(BASELINE)
    (tmp_path / "followup.csv").write_text(FOLLOWUP)
    (tmp_path / "study.yml").write_text(
        "rounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\ntreatment: treat\noutcomes: [y]\n"
    )
    return tmp_path / "study.yml"


def test_codebook_template_command_writes_a_readable_starting_codebook(
    study: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "codebook_template.csv"
    assert main(["codebook-template", str(study), "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    template = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert tuple(template.columns) == CODEBOOK_COLUMNS + OPTIONAL_COLUMNS
    rows = template.set_index("name")
    # the same column in both rounds shares a row; renamed ones get a row each, to be merged by hand
    assert (rows.loc["uuid", "source_baseline"], rows.loc["uuid", "source_followup"]) == ("_uuid", "_uuid")
    assert rows.loc["hhid", "source_followup"] == "" and rows.loc["id_rt", "source_baseline"] == ""
    # select_multiple: one row, categories from the dummies, no rows for the dummies
    assert (rows.loc["assets", "type"], rows.loc["assets", "categories"]) == ("select_multiple", "tv;motor")
    assert rows.loc["assets", "source_followup"] == "hh/assets"
    assert not template["source_baseline"].str.contains("assets/").any()
    roles = rows["role"].to_dict()
    assert (roles["uuid"], roles["version"], roles["start"], roles["end"]) == (
        "submission_id",
        "form_version",
        "interview_start",
        "interview_end",
    )
    assert rows.loc["submission_time", "type"] == "date"
    personal = set(rows.index[rows["pii"] == "yes"])
    assert {"nama", "no_hp", "gps_latitude"} <= personal
    # a question whose group alone was renamed (hh/nama -> rt/nama) is one row, noted
    assert rows.loc["nama", "source_followup"] == "rt/nama" and "renamed" in rows.loc["nama", "note"]
    assert "pelatihan_teknik" not in personal  # "teknik" is not "nik"
    assert len(read_codebook(out).variables) == len(template)  # the reader accepts it as it is


def test_default_template_path_is_next_to_the_study(study: Path) -> None:
    assert main(["codebook-template", str(study)]) == 0
    assert (study.parent / "codebook_template.csv").is_file()


def test_template_from_columns_alone() -> None:
    frame = codebook_template({"baseline": ["KEY", "q1", "q1-a", "q1-b"], "followup": []})
    assert frame["name"].tolist() == ["key", "q1"]
    assert frame.loc[1, "categories"] == "a;b" and frame.loc[0, "role"] == "submission_id"


def test_looks_personal_matches_words_not_fragments() -> None:
    assert looks_personal("resp/nama_responden") and looks_personal("_gps_latitude")
    assert looks_personal("hh-Latitude") and looks_personal("_submitted_by") and looks_personal("no_hp")
    assert not looks_personal("usaha/pelatihan_teknik") and not looks_personal("klinik")


HEADER = "name,type,source_baseline,source_followup,valid_min,valid_max,pii,format,versions\n"


def test_optional_columns_and_markers(tmp_path: Path) -> None:
    path = tmp_path / "codebook.csv"
    path.write_text(
        HEADER
        + "tgl,date,tanggal,-,2023-01-01,2023-12-31,,baseline=%d/%m/%Y,\n"
        + "q30,integer,q30,q30,,,no,,>=2403;2401\n"
        + "desa_name,text,desa_name,,,,no,,\n"
    )
    book = read_codebook(path)
    tgl = book.get("tgl")
    assert tgl.sources == {"baseline": "tanggal"} and tgl.not_asked == frozenset({"followup"})
    assert (tgl.date_min, tgl.date_max, tgl.valid_min) == ("2023-01-01", "2023-12-31", None)
    assert tgl.format_for("baseline") == "%d/%m/%Y" and tgl.format_for("followup") is None
    assert book.get("q30").versions == (">=2403", "2401") and book.get("q30").pii_no


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("tgl,date,t,,15/03/2023,,,,\n", r"codebook.csv row 2 column valid_min: `15/03/2023` is not a date"),
        ("x,integer,x,,,,maybe,,\n", r"row 2 column pii: pii must be yes, no or empty"),
        ("x,date,x,,,,,midline=%d,\n", r"row 2 column format: format names unknown rounds midline"),
    ],
)
def test_malformed_optional_cells_name_row_and_column(tmp_path: Path, row: str, message: str) -> None:
    path = tmp_path / "codebook.csv"
    path.write_text(HEADER + row)
    with pytest.raises(CodebookError, match=message):
        read_codebook(path)
