"""Cleaning survives ordinary data shapes (issue #12).

Real exports write the treatment as words, codes through a float (``12.0``), amounts with
thousands dots, ids named like the report's own columns, and codebook labels with commas. Each
test writes its small study into ``tmp_path`` and checks the row states and corrected numbers,
or the one-line error (a :class:`~analysis.errors.BerdayaError`, which the CLI prints as
``error: ...`` with exit code 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.clean.duplicates import REPORT_COLUMNS
from analysis.clean.round import clean_round
from analysis.errors import BerdayaError, CodebookError, InputError
from analysis.inputs.codebook import read_codebook
from analysis.inputs.readers import read_table
from analysis.shared.run_warnings import read_stage_warnings, warnings_file
from analysis.stages.clean import clean_stage

CODEBOOK_HEADER = (
    "name",
    "label_id",
    "source_baseline",
    "source_followup",
    "type",
    "categories",
    "recode",
    "role",
    "pii",
    "format",
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def study(
    tmp_path: Path,
    rows: list[dict[str, str]],
    *,
    extra: str = "",
    codebook: list[dict[str, str]] | None = None,
    id_column: str = "hhid",
    outcomes: str = "[y]",
) -> Path:
    """A study with the same baseline and follow-up file (the clean stage reads one round)."""
    frame = pd.DataFrame(rows, dtype=str)
    frame.to_csv(tmp_path / "baseline.csv", index=False)
    frame.to_csv(tmp_path / "followup.csv", index=False)
    text = (
        "rounds: {baseline: baseline.csv, followup: followup.csv}\n"
        f"id: {id_column}\ntreatment: treat\npseudonym_key: test-key\noutcomes: {outcomes}\n{extra}"
    )
    if codebook is not None:
        book = pd.DataFrame(codebook).reindex(columns=list(CODEBOOK_HEADER)).astype(object).fillna("")
        book.to_csv(tmp_path / "codebook.csv", index=False)
        text += "codebook: codebook.csv\n"
    return write(tmp_path / "study.yml", text)


def households(treat: list[str], **columns: list[str]) -> list[dict[str, str]]:
    """One row per household: ids 001, 002, ..., the treatment, and outcome y = 1, 2, ..."""
    rows = []
    for i, arm in enumerate(treat):
        row = {"hhid": f"{i + 1:03d}", "treat": arm, "y": str(i + 1)}
        row.update({name: values[i] for name, values in columns.items()})
        rows.append(row)
    return rows


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def one_line(error: BaseException) -> str:
    """The message the CLI would print: one line, a BerdayaError, no traceback text."""
    assert isinstance(error, BerdayaError)
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    return message


# --------------------------------------------------------------------------------------------
# The treatment written as text


@pytest.mark.parametrize(
    ("yes", "no"),
    [
        ("ya", "tidak"),
        ("Treatment", "Control"),
        ("true", "false"),
        ("yes", "no"),
        ("1.0", "0.0"),
        ("Y", "N"),
        ("program", "kontrol"),
        ("perlakuan", "kontrol"),
        (" YA ", "Tidak"),
    ],
)
def test_common_treatment_spellings_are_read_as_one_and_zero(tmp_path: Path, yes: str, no: str) -> None:
    path = study(tmp_path, households([yes, no, yes, no]))
    summary = clean_stage(path, "baseline", tmp_path / "processed")
    assert summary.counts == {"clean": 4, "quarantined": 0, "excluded": 0, "raw": 4}
    clean = pd.read_parquet(tmp_path / "processed" / "baseline_clean.parquet")
    assert clean["treat"].tolist() == [1.0, 0.0, 1.0, 0.0]
    changes = read(tmp_path / "processed" / "baseline_changes.csv")
    read_as = changes.loc[(changes["column"] == "treat") & (changes["rule"] == "treatment_read")]
    assert read_as["new"].tolist() == ["1", "0", "1", "0"]
    assert any(n.startswith("treat: treatment read as numbers:") for n in summary.notes)


def test_treatment_labels_berdaya_does_not_know_stop_with_the_codebook_row_to_write(tmp_path: Path) -> None:
    arms = ["Intensive session", "Simple session", "Intensive session"]
    path = study(tmp_path, households(arms))
    with pytest.raises(InputError) as info:
        clean_stage(path, "baseline", tmp_path / "processed")
    message = one_line(info.value)
    assert message.startswith(
        "baseline.csv column treat: the treatment is written as 'Intensive session' (2 rows), "
        "'Simple session' (1 row), which berdaya cannot read as 1 (programme) or 0 (comparison)"
    )
    # No codebook: the message says how to write the codebook row, recode included.
    assert "type=category, categories=0;1, recode=`intensive session=1; simple session=0`" in message
    assert "role=treatment" in message and "unparseable_amount" not in message


def test_treatment_labels_with_a_codebook_ask_for_the_recode_and_then_read(tmp_path: Path) -> None:
    rows = households(["Intensive session", "Simple session"])
    book = [
        {"name": "hhid", "source_baseline": "hhid", "type": "id", "role": "household_id"},
        {"name": "treat", "source_baseline": "treat", "type": "number", "role": "treatment"},
        {"name": "y", "source_baseline": "y", "type": "number"},
    ]
    path = study(tmp_path, rows, codebook=book)
    with pytest.raises(InputError, match=r"add a recode to the row treat of codebook.csv: `intensive "):
        clean_stage(path, "baseline", tmp_path / "processed")
    book[1]["recode"] = "intensive session=1; simple session=0"
    path = study(tmp_path, rows, codebook=book)
    assert clean_stage(path, "baseline", tmp_path / "processed").counts["clean"] == 2
    clean = pd.read_parquet(tmp_path / "processed" / "baseline_clean.parquet")
    assert clean["treat"].tolist() == [1.0, 0.0]


def test_unreadable_values_are_named_by_their_kind(tmp_path: Path) -> None:
    book = [
        {"name": "hhid", "source_baseline": "hhid", "type": "id", "role": "household_id"},
        {"name": "treat", "source_baseline": "treat", "type": "number", "role": "treatment"},
        {"name": "y", "source_baseline": "y", "type": "number"},
        {"name": "wage", "source_baseline": "wage", "type": "money"},
    ]
    rows = households(["1", "0", "1"], wage=["Rp 5.000", "banyak", "10000"])
    rows[0]["y"] = "lima"
    result = clean_round(
        read_table(study(tmp_path, rows, codebook=book).parent / "baseline.csv"),
        round_name="baseline",
        codebook=read_codebook(tmp_path / "codebook.csv"),
    )
    assert result.row_states["reason"].tolist() == ["unparseable_number:y", "unparseable_amount:wage", ""]


# --------------------------------------------------------------------------------------------
# A round with nothing left


def test_a_round_with_every_row_quarantined_stops_after_writing_the_quarantine(tmp_path: Path) -> None:
    rows = households(["1", "0", "1"])
    for row in rows:
        row["y"] = "tidak tahu"
    rows[2]["hhid"] = "Total"  # a summary row: excluded
    path = study(tmp_path, rows)
    processed = tmp_path / "processed"
    with pytest.raises(InputError) as info:
        clean_stage(path, "baseline", processed)
    assert one_line(info.value) == (
        "baseline.csv: no row of the baseline round is left to analyse: 2 of 3 rows quarantined and "
        "1 excluded (top reasons: unparseable_number:y (2 rows), no_valid_id (1 row)) – open "
        f"{processed / 'baseline_quarantine.csv'} and baseline_row_states.csv to see the rows, then "
        "fix the data, the codebook or the study file"
    )
    quarantine = read(processed / "baseline_quarantine.csv")
    assert quarantine["reason"].tolist() == ["unparseable_number:y"] * 2
    assert (processed / "baseline_row_states.csv").is_file()


# --------------------------------------------------------------------------------------------
# An id named like a column of the duplicates report


@pytest.mark.parametrize("name", [c for c in REPORT_COLUMNS])
def test_an_id_named_like_a_report_column_keeps_the_report_whole(tmp_path: Path, name: str) -> None:
    rows = households(["1", "0", "1", "0"])
    for row in rows:
        row[name] = row.pop("hhid")
    rows[1][name] = rows[0][name]  # one id, two different submissions
    path = study(tmp_path, rows, id_column=name)
    processed = tmp_path / "processed"
    summary = clean_stage(path, "baseline", processed)
    assert summary.counts == {"clean": 2, "quarantined": 2, "excluded": 0, "raw": 4}
    report = read(processed / "baseline_duplicates.csv")
    assert list(report.columns) == ["round", "group", f"id_{name}", *REPORT_COLUMNS[2:]]
    assert report["state"].tolist() == ["quarantined", "quarantined"]
    assert report["row"].tolist() == ["2", "3"] and report["round"].eq("baseline").all()
    # The id is pseudonymized under its report name, never shown.
    assert report[f"id_{name}"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert report["differs"].tolist() == ["treat, y", "treat, y"]


def test_a_variable_called_reason_keeps_its_values_in_the_quarantine_file(tmp_path: Path) -> None:
    rows = households(["1", "0", "1"], reason=["5", "6", "7"])
    rows[0]["y"] = "lima"
    path = study(tmp_path, rows, outcomes="[y, reason]")
    clean_stage(path, "baseline", tmp_path / "processed")
    quarantine = read(tmp_path / "processed" / "baseline_quarantine.csv")
    assert quarantine[["var_reason", "reason"]].to_dict("records") == [
        {"var_reason": "5", "reason": "unparseable_number:y"}
    ]


# --------------------------------------------------------------------------------------------
# Integer codes that went through a float


def test_whole_codes_written_through_a_float_are_read_as_integers(tmp_path: Path) -> None:
    rows = households(["1", "0", "1"], desa=["12.0", "13.0", "7"])
    for row, hhid in zip(rows, ("101.0", "102.0", "103"), strict=True):
        row["hhid"] = hhid
    path = study(tmp_path, rows, extra="village: desa\ncluster: desa\n")
    processed = tmp_path / "processed"
    summary = clean_stage(path, "baseline", processed)
    assert summary.counts["clean"] == 3
    clean = pd.read_parquet(processed / "baseline_clean.parquet")
    assert clean["desa"].tolist() == ["12", "13", "7"]
    changes = read(processed / "baseline_changes.csv")
    fixed = changes.loc[changes["rule"] == "float_code_to_integer"]
    assert fixed.groupby("column").size().to_dict() == {"desa": 2, "hhid": 2}
    assert (
        "desa: 2 codes written like 12.0 (a column that went through a number) read as whole numbers (12)"
        in (summary.notes)
    )
    warnings = read_stage_warnings(warnings_file(processed, "clean_baseline"))
    assert [(w.code, w.message.split(":")[0]) for w in warnings] == [
        ("float_codes", "baseline.csv column hhid"),
        ("float_codes", "baseline.csv column desa"),
    ]
    assert all("101" not in w.message for w in warnings)  # no id values in published text


@pytest.mark.parametrize(
    ("codes", "why"),
    [
        (
            ["12.0", "0712", "13"],
            "other values keep leading zeros, so the codes are text that lost its zeros (row 3)",
        ),
        (["12.0", "12.5", "13"], "other values are not whole numbers (row 3)"),
    ],
)
def test_float_codes_that_would_be_a_guess_are_refused(tmp_path: Path, codes: list[str], why: str) -> None:
    path = study(tmp_path, households(["1", "0", "1"], desa=codes), extra="village: desa\n")
    with pytest.raises(InputError) as info:
        clean_stage(path, "baseline", tmp_path / "processed")
    assert one_line(info.value) == (
        "baseline.csv row 2 column desa: ID ends in '.0' – it passed through a floating-point number "
        f"and cannot be read as a whole number because {why}; re-export the column as text"
    )


def test_a_nik_that_went_through_excel_is_still_refused(tmp_path: Path) -> None:
    book = [
        {"name": "hhid", "source_baseline": "hhid", "type": "id", "role": "household_id"},
        {"name": "nik", "source_baseline": "nik", "type": "id", "pii": "yes"},
    ]
    rows = [{"hhid": "1.0", "nik": "3.2e+15"}, {"hhid": "2.0", "nik": "3205015712671843.0"}]
    path = study(tmp_path, rows, codebook=book)
    with pytest.raises(InputError) as info:
        clean_round(
            read_table(path.parent / "baseline.csv"),
            round_name="baseline",
            codebook=read_codebook(tmp_path / "codebook.csv"),
        )
    message = one_line(info.value)
    assert message.startswith("baseline.csv row 2 column nik: ID in scientific notation (like 9.4E+15)")
    assert message.endswith("; also row 3: ID ends in '.0'") and "3205" not in message
    # A 16-digit NIK through a float is whole, yet lost its last digit: still refused.
    write(tmp_path / "baseline.csv", "hhid,nik\n1,3205015712671843.0\n2,3205015712671844.0\n")
    with pytest.raises(InputError) as info:
        clean_round(
            read_table(tmp_path / "baseline.csv"),
            round_name="baseline",
            codebook=read_codebook(tmp_path / "codebook.csv"),
        )
    assert one_line(info.value) == (
        "baseline.csv rows 2, 3 column nik: ID ends in '.0' – it passed through a floating-point "
        "number and cannot be read as a whole number because values longer than 15 digits lost "
        "their last digits in the number (rows 2, 3); re-export the column as text"
    )


# --------------------------------------------------------------------------------------------
# Thousands separators: one reading per column


def test_thousands_dots_in_the_default_plain_style_are_read_from_the_whole_column(tmp_path: Path) -> None:
    path = study(tmp_path, households(["1", "0", "1"], y=["687.000", "4.314.000", "250000"]))
    summary = clean_stage(path, "baseline", tmp_path / "processed")
    assert summary.counts["clean"] == 3
    clean = pd.read_parquet(tmp_path / "processed" / "baseline_clean.parquet")
    assert clean["y"].tolist() == [687_000.0, 4_314_000.0, 250_000.0]
    assert "y: read with '.' as the thousands separator, as the column's values show (e.g. 4.314.000)" in (
        summary.notes
    )


def test_decimal_points_with_an_unset_id_style_are_read_as_decimals(tmp_path: Path) -> None:
    book = [
        {"name": "hhid", "source_baseline": "hhid", "type": "id", "role": "household_id"},
        {"name": "treat", "source_baseline": "treat", "type": "number", "role": "treatment"},
        {"name": "y", "source_baseline": "y", "type": "number"},
    ]
    # With a codebook the default style is id, but the study file did not set it.
    path = study(tmp_path, households(["1", "0", "1"], y=["23.625", "1.5", "2.75"]), codebook=book)
    clean_stage(path, "baseline", tmp_path / "processed")
    clean = pd.read_parquet(tmp_path / "processed" / "baseline_clean.parquet")
    assert clean["y"].tolist() == [23.625, 1.5, 2.75]


def test_values_against_a_set_style_are_all_quarantined_as_ambiguous(tmp_path: Path) -> None:
    path = study(tmp_path, households(["1", "0", "1"], y=["23.625", "1.5", "20"]), extra="number_style: id\n")
    summary = clean_stage(path, "baseline", tmp_path / "processed")
    states = read(tmp_path / "processed" / "baseline_row_states.csv")
    # 23.625 is not read as 23625 next to a 1.5 that shows the dot is a decimal point.
    assert states["reason"].tolist() == ["ambiguous_number:y", "ambiguous_number:y", ""]
    assert summary.counts["clean"] == 1


def test_a_column_mixing_both_readings_is_quarantined_as_ambiguous(tmp_path: Path) -> None:
    path = study(tmp_path, households(["1", "0", "1", "0"], y=["4.314.000", "1.5", "687.000", "12"]))
    clean_stage(path, "baseline", tmp_path / "processed")
    states = read(tmp_path / "processed" / "baseline_row_states.csv")
    assert states["reason"].tolist() == ["ambiguous_number:y"] * 3 + [""]


def test_three_decimals_everywhere_stop_until_the_style_is_set(tmp_path: Path) -> None:
    rows = households(["1", "0", "1"], y=["687.000", "23.625", "12"])
    path = study(tmp_path, rows)
    with pytest.raises(InputError) as info:
        clean_stage(path, "baseline", tmp_path / "processed")
    assert one_line(info.value) == (
        "baseline.csv column y: every number with a separator has one dot and three decimals "
        "(687.000, 23.625: 687.000 is 687000 with '.' as the thousands separator, 687 with '.' as "
        "the decimal point), so the column can be read two ways – say which: write "
        "`number_style: id` (1.500 = 1500) or `number_style: plain` (1.500 = 1.5) in the study file"
    )
    path = study(tmp_path, rows, extra="number_style: plain\n")
    clean_stage(path, "baseline", tmp_path / "processed")
    clean = pd.read_parquet(tmp_path / "processed" / "baseline_clean.parquet")
    assert clean["y"].tolist() == [687.0, 23.625, 12.0]


def test_the_codebook_format_sets_the_style_of_one_column(tmp_path: Path) -> None:
    book = [
        {"name": "hhid", "source_baseline": "hhid", "type": "id", "role": "household_id"},
        {"name": "treat", "source_baseline": "treat", "type": "number", "role": "treatment"},
        {"name": "y", "source_baseline": "y", "type": "number"},
        {"name": "z", "source_baseline": "z", "type": "number", "format": "plain"},
    ]
    rows = households(["1", "0"], y=["687.000", "23.625"], z=["687.000", "23.625"])
    path = study(tmp_path, rows, codebook=book, outcomes="[y, z]")
    with pytest.raises(
        InputError, match=r"or id or plain in the `format` cell of the row y in codebook.csv$"
    ):
        clean_stage(path, "baseline", tmp_path / "processed")
    book[2]["format"] = "id"
    path = study(tmp_path, rows, codebook=book, outcomes="[y, z]")
    clean_stage(path, "baseline", tmp_path / "processed")
    clean = pd.read_parquet(tmp_path / "processed" / "baseline_clean.parquet")
    assert clean["y"].tolist() == [687_000.0, 23_625.0] and clean["z"].tolist() == [687.0, 23.625]


def test_a_number_format_that_is_not_a_style_is_a_codebook_error(tmp_path: Path) -> None:
    write(tmp_path / "codebook.csv", "name,type,source_baseline,format\nhhid,id,hhid,\ny,number,y,%d/%m/%Y\n")
    with pytest.raises(CodebookError) as info:
        read_codebook(tmp_path / "codebook.csv")
    assert one_line(info.value).startswith(
        "codebook.csv row 3 column format: format `%d/%m/%Y` of a number variable is not a number style"
    )


# --------------------------------------------------------------------------------------------
# The codebook


@pytest.mark.parametrize(
    ("text", "row"),
    [
        ("name,label_id,type,source_baseline\nhhid,ID,id,hhid\nwage,Upah, gaji,money,wage\n", 3),
        # pandas would take the first cell of a too-long first row as an index, silently.
        ("name,label_id,type,source_baseline\nwage,Upah, gaji,money,wage\nhhid,ID,id,hhid\n", 2),
    ],
)
def test_an_unquoted_comma_in_a_codebook_label_names_the_row(tmp_path: Path, text: str, row: int) -> None:
    with pytest.raises(CodebookError) as info:
        read_codebook(write(tmp_path / "codebook.csv", text))
    assert one_line(info.value) == (
        f"codebook.csv row {row}: has 5 cells where the header has 4 – a label or other text with a "
        'comma must be in double quotes ("Bantuan sosial (PKH, BLT)"); fix the row or save the '
        "codebook again from the spreadsheet as CSV"
    )


def test_a_quoted_comma_and_a_trailing_empty_cell_are_fine(tmp_path: Path) -> None:
    text = 'name,label_id,type,source_baseline\nhhid,ID,id,hhid,\nwage,"Upah, gaji",money,wage\n'
    codebook = read_codebook(write(tmp_path / "codebook.csv", text))
    assert codebook.get("wage").label_id == "Upah, gaji" and codebook.get("hhid").sources == {
        "baseline": "hhid"
    }


def test_the_clean_summary_records_the_counts(tmp_path: Path) -> None:
    path = study(tmp_path, households(["ya", "tidak"]))
    clean_stage(path, "baseline", tmp_path / "processed")
    summary = json.loads((tmp_path / "processed" / "baseline_summary.json").read_text())
    assert summary["counts"] == {"clean": 2, "quarantined": 0, "excluded": 0, "raw": 2}
