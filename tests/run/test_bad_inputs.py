"""One fixture and one test per bad-input case of docs/bad-inputs.md section 1.

Each test writes its fixture into ``tmp_path`` and asserts the promised behaviour: the message
text or log entry, the final state of every raw row, and the accounting invariant
``n_raw = clean + quarantined + excluded`` (for errors: nothing gets a state).

Where each case is tested:

==== =======================================================================================
case test
==== =======================================================================================
1    tests/inputs/test_readers.py ``test_semicolon_separator_is_detected_and_logged``, ``test_header_glued_into_one_column_is_an_error``, ``test_explicit_comma_on_a_semicolon_file_is_an_error`` (``;`` sniffed and logged; glued header refused)
2    tests/inputs/test_readers.py ``test_bom_is_removed_and_logged``, ``test_bom_file_on_the_csv_module_error_path`` (BOM on the pandas and csv-module paths)
3    tests/inputs/test_readers.py ``test_cp1252_names_round_trip_and_are_logged``, ``test_undecidable_encoding_names_row_and_column``, ``test_declared_encoding_is_used_strictly`` (cp1252 round trip; undecidable encoding)
4    tests/inputs/test_readers.py ``test_multiline_notes_are_one_record_with_their_start_line``, ``test_row_and_line_are_both_named_after_multiline_text`` (multi-line text: one record, start line named)
5    tests/inputs/test_readers.py ``test_no_data_rows``, ``test_truncated_last_record``, ``test_quote_never_closed_at_end_of_file`` (empty, header-only, truncated files)
6    tests/inputs/test_readers.py ``test_duplicated_headers_are_an_error``, ``test_duplicated_headers_in_xlsx_name_the_sheet`` (duplicated headers, CSV and XLSX)
7    tests/inputs/test_readers.py ``test_label_headers_are_refused``, ``test_xml_headers_pass`` (label headers refused); ``test_label_headers_explain_the_missing_sources`` here
     (the same error when cleaning finds the codebook's sources missing)
8    tests/inputs/test_readers.py ``test_group_prefixes_resolve_to_form_names``, ``test_name_in_two_groups_without_prefix_is_an_error``, ``test_name_in_two_groups_with_prefix_keeps_the_path`` (group prefixes resolved; ambiguous leaf refused)
9    ``test_schema_diff_and_fail_closed_until_mapped``, ``test_a_dash_marks_a_question_as_not_asked`` here (schema diff; construct stage fails closed until mapped)
10   ``test_older_versions_get_not_asked_never_zero``, ``test_codebook_versions_decide_even_over_a_zero`` here (``not_asked_in_version``, never 0; rows per version logged)
11   ``test_summary_and_dummy_disagree_is_an_error_listing_rows`` here (summary vs dummy disagreement lists rows and columns)
12   ``test_unanswered_select_multiple_stays_missing``, ``test_dummies_alone_are_enough`` here (unanswered select_multiple: dummies NA, mean excludes them)
13   ``test_labels_with_spaces_are_refused`` here (labels with spaces refused)
14   ``test_unknown_choices_are_quarantined_after_normalising`` here (``unknown_choice:q5`` after normalisation)
15   not read: a round is one household-level table (docs/bad-inputs.md)
16   tests/inputs/test_readers.py ``test_leading_zeros_survive`` (leading zeros kept)
17   tests/inputs/test_readers.py ``test_nik_with_a_blank_stays_exact`` (NIK with a blank stays exact); the
     ``invalid_nik_format`` quarantine: ``test_impossible_values_fail_schema_checks``, ``test_pandera_failure_cases_carry_no_personal_data_into_logs`` here
18   tests/inputs/test_readers.py ``test_excel_numeric_nik_lost_precision``, ``test_scientific_notation_from_a_csv_saved_by_excel`` (Excel-number NIK refused); ``test_excel_numeric_nik_lost_precision``, ``test_scientific_notation_from_a_csv_saved_by_excel``
     here (cleaning checks every ``id`` column the same way; whole ``12.0`` codes without
     leading zeros are read as integers, see also tests/clean/test_clean_shapes.py)
19   ``test_excel_serials_mixed_with_text_dates`` here (Excel serials with text dates; ``_raw`` kept; implausible)
20   ``test_locale_dates_and_ambiguous_order`` here (ODK Java dates; dd/mm vs mm/dd refused; per-source format)
21   ``test_times_are_tz_aware_and_flagged``, ``test_a_project_rule_escalates_a_flag``, ``test_quality_settings_are_read_and_checked`` here (tz-aware times; quality flags; escalation)
22   tests/inputs/test_readers.py ``test_stata_non_unique_labels_keep_codes`` (non-unique Stata labels)
23   tests/inputs/test_readers.py ``test_spss_user_missing_codes_stay_distinct``; ``test_spss_user_missing_become_reasons`` here (reasons after cleaning)
24   tests/inputs/test_readers.py ``test_stata_extended_missing_kept_distinct``; ``test_stata_extended_missing_stay_distinct`` here (distinct reasons)
25   tests/clean/test_money.py ``test_sentinels_parse_to_their_exact_codes``; ``test_sentinels_map_to_reasons_and_unlisted_ones_are_flagged`` here (codebook map, reason
     column, unlisted ``999`` flagged not recoded)
26   tests/inputs/test_readers.py ``test_sentinels_and_missing_words_survive``, ``test_a_person_named_nan_survives_in_xlsx``, ``test_sentinels_and_missing_words_survive``, ``test_a_person_named_nan_survives_in_xlsx``; ``test_text_missing_codes_and_a_person_named_nan`` here
27   tests/clean/test_money.py ``test_indonesian_money``, ``test_one_dot_is_thousands_even_when_every_value_has_one``; ``<col>_raw`` kept: ``test_sentinels_map_to_reasons_and_unlisted_ones_are_flagged`` here
28   tests/clean/test_money.py ``test_english_format_is_ambiguous``, ``test_babel_alone_would_have_guessed``; quarantine: tests/clean/test_clean.py
29   tests/inputs/test_readers.py ``test_invisible_whitespace_is_stripped_and_counted``; ``test_invisible_characters_are_stripped_and_counted`` here (counts in the log)
30   ``test_mixed_case_matches_the_choice_list`` here (casefold match logged; unknown ones go to case 14)
31   ``test_exact_duplicate_submission_is_collapsed`` here (exact duplicate collapsed)
32   ``test_conflicting_submissions_are_both_quarantined_and_reported``, ``test_decisions_are_reapplied_and_never_pick_at_random``, ``test_corrections_check_the_old_value`` here (conflict quarantined; report; decisions; corrections)
33   ``test_followup_id_not_in_baseline``, ``test_not_in_baseline_reaches_the_row_states`` here (anti-join report; ``not_in_baseline`` through the stages)
34   ``test_attrited_household_stays_clean`` here (attrited household stays clean; village × arm table)
35   ``test_duplicate_keys_on_both_sides`` here (duplicate keys on both sides of the merge)
36   ``test_outliers_are_flagged_never_deleted`` here (outliers flagged, never deleted; winsorising into a copy)
37   ``test_impossible_values_fail_schema_checks``, ``test_pandera_failure_cases_carry_no_personal_data_into_logs`` here (pandera checks → ``<check>:<column>``; no values in the log)
38   ``test_consent_test_pilot_and_unapproved_submissions_are_excluded`` here (no consent, test, pre-fieldwork, not approved)
39   ``test_blank_and_total_rows_in_xlsx`` here (blank and ``Total`` rows in XLSX)
40   ``test_formula_cells_are_neutralised_in_exports`` here (formula cells neutralised in CSV/XLSX; values unchanged)
41   ``test_parameter_names_are_allow_listed_and_codes_stay_text`` here (parameter allow-list; ``"0712"`` stays text)
42   tests/inputs/test_readers.py ``test_file_over_the_memory_budget_is_refused`` (memory budget)
43   tests/inputs/test_readers.py ``test_text_formatted_cells_keep_leading_zeros`` (lost leading zero refused)
44   ``test_identifiers_are_removed_before_writing``, ``test_gps_is_coarsened_to_the_village_before_writing`` here (identifiers removed before writing, removal logged)
==== =======================================================================================
"""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import papermill.translators
import pyreadstat
import pytest

from analysis.clean.corrections import read_corrections
from analysis.clean.duplicates import read_decisions
from analysis.clean.quality import QualityRules
from analysis.clean.round import CleanRound, clean_round
from analysis.clean.schema import check_mappings, column_inventory, schema_diff
from analysis.clean.validation import validate
from analysis.config import NOTEBOOKS_DIR
from analysis.construct.indicators import construct
from analysis.construct.panel import build_panel, linkage_by_village
from analysis.errors import CodebookError, InputError, ReportError
from analysis.inputs.codebook import Codebook, codebook_from_study, read_codebook
from analysis.inputs.readers import read_table
from analysis.inputs.study import load_study
from analysis.run.execute import check_parameters
from analysis.shared.files import neutralize_formulas, write_csv
from analysis.stages.clean import clean_stage
from analysis.stages.construct import construct_stage

CODEBOOK_HEADER = (
    "name",
    "source_baseline",
    "source_followup",
    "type",
    "unit",
    "valid_min",
    "valid_max",
    "categories",
    "recode",
    "missing_codes",
    "role",
    "pii",
    "format",
    "versions",
)
HHID = {
    "name": "hhid",
    "source_baseline": "hhid",
    "source_followup": "hhid",
    "type": "id",
    "role": "household_id",
}
UUID = {
    "name": "submission",
    "source_baseline": "_uuid",
    "source_followup": "_uuid",
    "type": "id",
    "role": "submission_id",
}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def make_codebook(tmp_path: Path, rows: list[dict[str, str]]) -> Codebook:
    path = tmp_path / "codebook.csv"
    pd.DataFrame(rows).reindex(columns=list(CODEBOOK_HEADER)).astype(object).fillna("").to_csv(
        path, index=False
    )
    return read_codebook(path)


def states(result: CleanRound) -> dict[int, tuple[str, str]]:
    """Final state of every raw row, after checking the accounting invariant."""
    counts = result.counts
    assert counts["raw"] == counts["clean"] + counts["quarantined"] + counts["excluded"]
    assert len(result.data) == counts["clean"] and len(result.quarantine) == counts["quarantined"]
    return {
        int(r): (s, w) for r, s, w in result.row_states[["_row", "state", "reason"]].itertuples(index=False)
    }


def all_clean(rows: range | list[int]) -> dict[int, tuple[str, str]]:
    return {r: ("clean", "") for r in rows}


# --------------------------------------------------------------------------------------------
# Case 9: a column renamed and retyped between rounds


@pytest.fixture
def renamed_study(tmp_path: Path) -> Path:
    frame = pd.DataFrame(
        {"hhid": ["001", "002", "003"], "treat": [1.0, 0.0, 1.0], "q12_income": [5.0, 6.0, 7.0]}
    )
    pyreadstat.write_dta(frame, str(tmp_path / "baseline.dta"))
    write(tmp_path, "followup.csv", "hhid,treat,q12_pendapatan\n001,1,lima juta\n002,0,6 jt\n003,1,7 juta\n")
    rows = [
        HHID,
        {
            "name": "treat",
            "source_baseline": "treat",
            "source_followup": "treat",
            "type": "number",
            "role": "treatment",
        },
        {"name": "income", "source_baseline": "q12_income", "type": "money"},
    ]
    make_codebook(tmp_path, rows)
    write(
        tmp_path,
        "study.yml",
        "rounds: {baseline: baseline.dta, followup: followup.csv}\nid: hhid\ntreatment: treat\n"
        "codebook: codebook.csv\npseudonym_key: test-key\noutcomes: [income]\n",
    )
    return tmp_path / "study.yml"


def test_schema_diff_and_fail_closed_until_mapped(renamed_study: Path, tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    for round_name in ("baseline", "followup"):
        summary = clean_stage(renamed_study, round_name, processed)
        assert summary.counts == {"clean": 3, "quarantined": 0, "excluded": 0, "raw": 3}
    with pytest.raises(CodebookError) as info:
        construct_stage(renamed_study, processed)
    assert str(info.value).startswith(
        "codebook.csv: q12_income (baseline.dta) has no recorded mapping in followup.csv; "
        "unmapped columns there: q12_pendapatan"
    )
    assert not (processed / "panel.parquet").exists()  # nothing downstream was written
    diff = pd.read_csv(processed / "schema_diff.csv", dtype=str, keep_default_na=False).set_index("variable")
    assert diff.loc["income", "status"] == "removed"
    assert diff.loc["", "source_followup"] == "q12_pendapatan"  # the unmapped column is listed

    # Entering the mapping resolves it; the diff then reports a renamed and retyped variable.
    book = pd.read_csv(tmp_path / "codebook.csv", dtype=str, keep_default_na=False)
    book.loc[book["name"] == "income", "source_followup"] = "q12_pendapatan"
    book.to_csv(tmp_path / "codebook.csv", index=False)
    clean_stage(renamed_study, "followup", processed)
    construct_stage(renamed_study, processed)
    diff = pd.read_csv(processed / "schema_diff.csv", dtype=str, keep_default_na=False).set_index("variable")
    assert diff.loc["income", "status"] == "renamed+retyped"
    assert (diff.loc["income", "kind_baseline"], diff.loc["income", "kind_followup"]) == ("integer", "text")
    assert (processed / "panel.parquet").is_file()


def test_a_dash_marks_a_question_as_not_asked(renamed_study: Path, tmp_path: Path) -> None:
    book = pd.read_csv(tmp_path / "codebook.csv", dtype=str, keep_default_na=False)
    book.loc[book["name"] == "income", "source_followup"] = "-"
    book.to_csv(tmp_path / "codebook.csv", index=False)
    codebook = read_codebook(tmp_path / "codebook.csv")
    study = load_study(renamed_study)
    inventories = {
        r: column_inventory(read_table(study.rounds[r].file), codebook, r) for r in ("baseline", "followup")
    }
    diff = schema_diff(inventories, codebook)
    assert diff.set_index("variable").loc["income", "status"] == "not_asked"
    check_mappings(diff, files={"baseline": "baseline.dta", "followup": "followup.csv"}, codebook=None)


# --------------------------------------------------------------------------------------------
# Case 10: columns that exist only in some form versions

VERSIONED = "_uuid,hhid,__version__,q30\nu1,00001,2401,\nu2,00002,2401,\nu3,00003,2403,5\nu4,00004,2403,0\nu5,00005,2403,\n"
VERSION_ROWS = [
    HHID,
    {"name": "version", "source_baseline": "__version__", "type": "text", "role": "form_version"},
    {"name": "q30", "source_baseline": "q30", "type": "integer"},
]


def test_older_versions_get_not_asked_never_zero(tmp_path: Path) -> None:
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", VERSIONED)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, VERSION_ROWS),
    )
    assert states(result) == all_clean(range(2, 7))
    data = result.data.set_index("hhid")
    assert data["q30"].isna().tolist() == [True, True, False, False, True]
    assert data["q30_missing"].tolist() == [
        "not_asked_in_version",
        "not_asked_in_version",
        "",
        "",
        "skipped_or_not_asked",
    ]
    assert data["q30"].mean() == 2.5  # the older version's rows are not zeros
    assert {"form version 2401: 2 rows", "form version 2403: 3 rows"} <= set(result.notes)
    missing = result.missing.set_index(["variable", "reason"])["count"]
    assert missing[("q30", "not_asked_in_version")] == 2


def test_codebook_versions_decide_even_over_a_zero(tmp_path: Path) -> None:
    rows = [*VERSION_ROWS[:2], {**VERSION_ROWS[2], "versions": ">=2403"}]
    text = VERSIONED.replace("u2,00002,2401,", "u2,00002,2401,0")  # an export that wrote 0
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
    )
    assert states(result) == all_clean(range(2, 7))
    assert result.data["q30"].isna().tolist() == [True, True, False, False, True]
    changed = result.changes.loc[result.changes["rule"] == "not_asked_in_version"]
    assert changed[["_row", "column", "old"]].values.tolist() == [[3, "q30", "0"]]


# --------------------------------------------------------------------------------------------
# Cases 11-13: select_multiple

ASSETS = {
    "name": "assets",
    "source_baseline": "assets",
    "type": "select_multiple",
    "categories": "tv;motor;sepeda",
}


def test_summary_and_dummy_disagree_is_an_error_listing_rows(tmp_path: Path) -> None:
    text = (
        "_uuid,hhid,assets,assets/tv,assets/motor,assets/sepeda\n"
        "u1,001,tv motor,1,1,0\n"
        "u2,002,tv,1,1,0\n"  # motor ticked but not in the summary
        "u3,003,motor,0,1,0\n"
        "u4,004,tv,1,1,0\n"  # again
    )
    table = read_table(write(tmp_path, "baseline.csv", text))
    with pytest.raises(InputError) as info:
        clean_round(table, round_name="baseline", codebook=make_codebook(tmp_path, [HHID, ASSETS]))
    assert str(info.value) == (
        "baseline.csv rows 3, 5 columns assets vs assets/motor: summary and dummy disagree – "
        "re-export the form, or correct the cells in the corrections file"
    )
    assert info.value.rows == [3, 5]
    assert type(info.value) is InputError  # printed as one line by the command line, even from a notebook


def test_unanswered_select_multiple_stays_missing(tmp_path: Path) -> None:
    text = (
        "_uuid,hhid,assets,assets/tv,assets/motor,assets/sepeda\n"
        "u1,001,tv motor,1,1,0\n"
        "u2,002,,,,\n"  # Kobo writes '' for every dummy of an unanswered question
        "u3,003,motor,0,1,0\n"
    )
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, [HHID, ASSETS]),
    )
    assert states(result) == all_clean(range(2, 5))
    data = result.data
    assert data["assets"].tolist() == ["tv motor", None, "motor"]
    assert data["assets_tv"].tolist()[0::2] == [1.0, 0.0] and np.isnan(data["assets_tv"].iloc[1])
    assert data["assets_tv"].mean() == 0.5  # the unanswered row is not a 0
    missing = result.missing.set_index(["variable", "reason"])["count"]
    assert missing[("assets", "skipped_or_not_asked")] == 1


def test_dummies_alone_are_enough(tmp_path: Path) -> None:
    text = "_uuid,hhid,assets/tv,assets/motor\nu1,001,1,0\nu2,002,,\nu3,003,0,0\n"
    rows = [HHID, {**ASSETS, "categories": "tv;motor"}]
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
    )
    assert states(result) == all_clean(range(2, 5))
    assert result.data["assets"].tolist() == ["tv", None, ""]
    assert result.data["assets_motor"].tolist()[0::2] == [0.0, 0.0]


@pytest.mark.parametrize("recode", ["", "televisi=tv; sepeda motor=motor; tidak tahu=dont_know"])
def test_labels_with_spaces_are_refused(tmp_path: Path, recode: str) -> None:
    text = "_uuid,hhid,assets\nu1,001,Tidak tahu Sepeda motor\nu2,002,Televisi\n"
    rows = [HHID, {**ASSETS, "categories": "tv;motor;dont_know", "recode": recode}]
    with pytest.raises(InputError) as info:
        clean_round(
            read_table(write(tmp_path, "baseline.csv", text)),
            round_name="baseline",
            codebook=make_codebook(tmp_path, rows),
        )
    assert str(info.value) == (
        "baseline.csv column assets: labels contain spaces, cannot split – re-export with choice values"
    )


# --------------------------------------------------------------------------------------------
# Case 14: choice value not in the choice list


def test_unknown_choices_are_quarantined_after_normalising(tmp_path: Path) -> None:
    text = "_uuid,hhid,q5\nu1,001,ya\nu2,002,Mungkin\nu3,003,4\nu4,004,yaa\nu5,005,TIDAK \n"
    rows = [
        HHID,
        {
            "name": "q5",
            "source_baseline": "q5",
            "type": "category",
            "categories": "1;2;3",
            "recode": "ya=1; tidak=2",
        },
    ]
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
    )
    assert states(result) == {
        2: ("clean", ""),
        3: ("quarantined", "unknown_choice:q5"),
        4: ("quarantined", "unknown_choice:q5"),
        5: ("quarantined", "unknown_choice:q5"),
        6: ("clean", ""),
    }
    assert result.quarantine[["_row", "reason"]].values.tolist() == [
        [3, "unknown_choice:q5"],
        [4, "unknown_choice:q5"],
        [5, "unknown_choice:q5"],
    ]
    assert result.data["q5"].tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------------------------
# Cases 19-21: dates and times

DATE = {"name": "tanggal", "source_baseline": "tanggal", "type": "date"}


def test_excel_serials_mixed_with_text_dates(tmp_path: Path) -> None:
    text = "_uuid,hhid,tanggal\nu1,001,45000\nu2,002,15/03/2023\nu3,003,12\nu4,004,16/03/2023\nu5,005,\n"
    rows = [HHID, {**DATE, "format": "%d/%m/%Y"}]
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
    )
    assert states(result) == {
        2: ("clean", ""),
        3: ("clean", ""),
        4: ("quarantined", "implausible_date:tanggal"),  # serial 12 is 1900-01-11
        5: ("clean", ""),
        6: ("clean", ""),
    }
    data = result.data
    assert data["tanggal"].dt.strftime("%Y-%m-%d").tolist()[:3] == ["2023-03-15", "2023-03-15", "2023-03-16"]
    assert data["tanggal_raw"].tolist()[:3] == ["45000", "15/03/2023", "16/03/2023"]
    assert "tanggal: 1 Excel serial date converted (origin 1899-12-30)" in result.notes
    serials = result.changes.loc[result.changes["rule"] == "excel_serial_date"]
    assert serials[["_row", "old"]].values.tolist() == [[2, "45000"]]


def test_locale_dates_and_ambiguous_order(tmp_path: Path) -> None:
    java = '_uuid,hhid,tanggal\nu1,001,"Apr 26, 2018 8:56:00 AM"\nu2,002,"Apr 27, 2018 1:05:00 PM"\n'
    result = clean_round(
        read_table(write(tmp_path, "briefcase.csv", java)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, [HHID, {**DATE, "unit": "UTC"}]),
    )
    assert states(result) == all_clean([2, 3])
    assert result.data["tanggal"].astype(str).tolist() == [
        "2018-04-26 08:56:00+00:00",
        "2018-04-27 13:05:00+00:00",
    ]

    ambiguous = "_uuid,hhid,start\nu1,001,03/04/2023\nu2,002,05/06/2023\n"
    rows = [HHID, {**DATE, "name": "start", "source_baseline": "start"}]
    with pytest.raises(InputError) as info:
        clean_round(
            read_table(write(tmp_path, "interviews.csv", ambiguous)),
            round_name="baseline",
            codebook=make_codebook(tmp_path, rows),
        )
    assert str(info.value).startswith(
        "interviews.csv column start: dd/mm vs mm/dd ambiguous – set the date format for this source"
    )
    # Each source has its own format: month first for this baseline export.
    rows[1] = {**rows[1], "format": "baseline=%m/%d/%Y; followup=%d/%m/%Y"}
    result = clean_round(
        read_table(tmp_path / "interviews.csv"), round_name="baseline", codebook=make_codebook(tmp_path, rows)
    )
    assert result.data["start"].dt.strftime("%Y-%m-%d").tolist() == ["2023-03-04", "2023-05-06"]


TIMES = (
    "_uuid,hhid,_submission_time,start,end\n"
    "u1,001,2023-03-15T02:00:00Z,2023-03-15T09:10+08:00,2023-03-15T09:55+08:00\n"
    "u2,002,2023-03-15T03:00:00Z,2023-03-15T10:00+08:00,2023-03-15T09:30+08:00\n"
    "u3,003,2023-03-15T04:00:00Z,2023-03-15T11:00+08:00,2023-03-15T11:03+08:00\n"
    "u4,004,2023-05-02T04:00:00Z,2023-05-02T11:00+08:00,2023-05-02T11:40+08:00\n"
)
TIME_ROWS = [
    HHID,
    {"name": "submitted", "source_baseline": "_submission_time", "type": "date", "role": "submission_time"},
    {
        "name": "start",
        "source_baseline": "start",
        "type": "date",
        "role": "interview_start",
        "unit": "Asia/Makassar",
    },
    {
        "name": "end",
        "source_baseline": "end",
        "type": "date",
        "role": "interview_end",
        "unit": "Asia/Makassar",
    },
]
WINDOW = QualityRules(
    min_minutes=10, fieldwork=(pd.Timestamp("2023-03-01").date(), pd.Timestamp("2023-03-31").date())
)


def test_times_are_tz_aware_and_flagged(tmp_path: Path) -> None:
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", TIMES)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, TIME_ROWS),
        rules=WINDOW,
    )
    assert states(result) == all_clean(range(2, 6))  # flags never change a row's state
    data = result.data
    assert str(data["start"].dtype) == "datetime64[us, UTC]"
    assert data["start"].iloc[0] == pd.Timestamp("2023-03-15T01:10Z")  # 09:10 WITA
    assert data["submitted"].iloc[0] == pd.Timestamp("2023-03-15T02:00Z")
    assert result.quality[["_row", "flag"]].values.tolist() == [
        [3, "end_before_start"],
        [4, "too_short:10min"],
        [5, "outside_fieldwork_window"],
    ]
    assert data["qc_end_before_start"].tolist() == [False, True, False, False]
    assert data["qc_too_short"].tolist() == [False, False, True, False]


def test_a_project_rule_escalates_a_flag(tmp_path: Path) -> None:
    rules = dataclasses.replace(WINDOW, escalate=frozenset({"end_before_start"}))
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", TIMES)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, TIME_ROWS),
        rules=rules,
    )
    assert states(result) == {**all_clean(range(2, 6)), 3: ("quarantined", "end_before_start")}


# --------------------------------------------------------------------------------------------
# Cases 23-26: missing codes of every kind


def test_spss_user_missing_become_reasons(tmp_path: Path) -> None:
    frame = pd.DataFrame({"hhid": ["001", "002", "003", "004"], "income": [1500000.0, -99.0, -98.0, -99.0]})
    path = tmp_path / "baseline.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        missing_ranges={"income": [-99, -98]},
        variable_value_labels={"income": {-99: "Refused", -98: "Don't know"}},
    )
    rows = [HHID, {"name": "income", "source_baseline": "income", "type": "money"}]
    result = clean_round(read_table(path), round_name="baseline", codebook=make_codebook(tmp_path, rows))
    assert states(result) == all_clean(range(2, 6))
    missing = result.missing.set_index(["variable", "reason"])["count"]
    assert (missing[("income", "refused")], missing[("income", "dont_know")]) == (2, 1)  # as in the raw codes
    assert result.data["income_missing"].tolist() == ["", "refused", "dont_know", "refused"]
    assert result.data["income"].mean() == 1500000.0


def test_stata_extended_missing_stay_distinct(tmp_path: Path) -> None:
    income = pd.Series([1500000.0, "a", "r", "d", 2.0], dtype=object)
    path = tmp_path / "baseline.dta"
    pyreadstat.write_dta(
        pd.DataFrame({"hhid": ["1", "2", "3", "4", "5"], "income": income}),
        str(path),
        missing_user_values={"income": ["a", "r", "d"]},
    )
    rows = [HHID, {"name": "income", "source_baseline": "income", "type": "number"}]
    result = clean_round(read_table(path), round_name="baseline", codebook=make_codebook(tmp_path, rows))
    assert states(result) == all_clean(range(2, 7))
    assert result.data["income_missing"].tolist() == [
        "",
        "stata_missing_a",
        "stata_missing_r",
        "stata_missing_d",
        "",
    ]


def test_sentinels_map_to_reasons_and_unlisted_ones_are_flagged(tmp_path: Path) -> None:
    text = "_uuid,hhid,income\nu1,001,Rp 1.500.000\nu2,002,-99\nu3,003,-98\nu4,004,999\nu5,005,9999\nu6,006,2000000\n"
    rows = [
        HHID,
        {
            "name": "income",
            "source_baseline": "income",
            "type": "money",
            "missing_codes": "-99=refused; -98=dont_know; 9999=not_applicable",
        },
    ]
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
    )
    assert states(result) == all_clean(range(2, 8))
    data = result.data
    assert data["income_missing"].tolist() == ["", "refused", "dont_know", "", "not_applicable", ""]
    assert data["income"].mean() == pytest.approx((1_500_000 + 999 + 2_000_000) / 3)  # NA excluded
    assert data["income"].iloc[3] == 999  # flagged, not recoded
    assert result.quality[["_row", "flag"]].values.tolist() == [[5, "possible_missing_code:income"]]
    assert data["income_raw"].iloc[0] == "Rp 1.500.000"  # case 27: the raw text is kept


def test_text_missing_codes_and_a_person_named_nan(tmp_path: Path) -> None:
    text = "_uuid,hhid,nama,alasan\nu1,001,Nan,tidak tahu\nu2,002,Na,TT\nu3,003,Siti,menolak\nu4,004,Budi,-\nu5,005,Ani,n/a\nu6,006,Eko,NA\nu7,007,Dewi,bekerja\n"
    codes = "don't know=dont_know; tidak tahu=dont_know; tt=dont_know; menolak=refused; -=not_applicable; n/a=not_applicable; na=not_applicable"
    rows = [
        HHID,
        {"name": "nama", "source_baseline": "nama", "type": "text", "pii": "yes"},
        {"name": "alasan", "source_baseline": "alasan", "type": "text", "missing_codes": codes},
    ]
    result = clean_round(
        read_table(write(tmp_path, "members.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
    )
    assert states(result) == all_clean(range(2, 9))
    assert result.data["nama"].tolist()[:2] == ["Nan", "Na"]  # real answers, not NaN
    assert result.data["alasan_missing"].tolist() == [
        "dont_know",
        "dont_know",
        "refused",
        "not_applicable",
        "not_applicable",
        "not_applicable",
        "",
    ]
    assert result.data["alasan"].tolist()[-1] == "bekerja"


# --------------------------------------------------------------------------------------------
# Cases 29-30: invisible whitespace and mixed case

YES_NO = {"name": "jawab", "source_baseline": "jawab", "type": "category", "categories": "ya;tidak"}


def test_invisible_characters_are_stripped_and_counted(tmp_path: Path) -> None:
    text = "_uuid,hhid,jawab\nu1, 00123,Ya\u00a0\nu2,00124\u00a0,tidak\nu3,001\u200b25,ya\nu4,00126,ya\n"
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, [HHID, YES_NO]),
    )
    assert states(result) == all_clean(range(2, 6))
    assert result.data["hhid"].tolist() == ["00123", "00124", "00125", "00126"]
    stripped = result.changes.loc[result.changes["rule"] == "whitespace_removed"]
    assert stripped.groupby("column").size().to_dict() == {"hhid": 3, "jawab": 1}
    assert set(stripped.loc[stripped["column"] == "hhid", "old"]) == {"******"}  # ids are masked


def test_mixed_case_matches_the_choice_list(tmp_path: Path) -> None:
    text = "_uuid,hhid,jawab\nu1,001,Ya\nu2,002,YA\nu3,003,ya \nu4,004,Yes\n"
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, [HHID, YES_NO]),
    )
    assert states(result) == {**all_clean(range(2, 5)), 5: ("quarantined", "unknown_choice:jawab")}
    assert result.data["jawab"].tolist() == ["ya", "ya", "ya"]
    folded = result.changes.loc[result.changes["rule"] == "case_folded"]
    assert folded["_row"].tolist() == [2, 3]


# --------------------------------------------------------------------------------------------
# Cases 31-32: duplicates, the decisions file and the corrections file


def test_exact_duplicate_submission_is_collapsed(tmp_path: Path) -> None:
    text = "_uuid,hhid,income,_index\nu1,001,5,1\nu2,002,6,2\nu1,001,5,3\n"  # _index counts the export's rows
    rows = [HHID, UUID, {"name": "income", "source_baseline": "income", "type": "number"}]
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
    )
    assert states(result) == {2: ("clean", ""), 3: ("clean", ""), 4: ("excluded", "duplicate_submission")}


CONFLICT = "_uuid,hhid,nama,income\nu1,00123,Siti,750000\nu2,00123,Siti Aminah,800000\nu3,00124,Budi,500000\n"
CONFLICT_ROWS = [
    HHID,
    UUID,
    {"name": "nama", "source_baseline": "nama", "type": "text", "pii": "yes"},
    {"name": "income", "source_baseline": "income", "type": "money"},
]


def _conflict(tmp_path: Path, decisions: str | None = None, corrections: str | None = None) -> CleanRound:
    return clean_round(
        read_table(write(tmp_path, "baseline.csv", CONFLICT)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, CONFLICT_ROWS),
        decisions=None if decisions is None else read_decisions(write(tmp_path, "decisions.csv", decisions)),
        corrections=None
        if corrections is None
        else read_corrections(write(tmp_path, "corrections.csv", corrections)),
    )


def test_conflicting_submissions_are_both_quarantined_and_reported(tmp_path: Path) -> None:
    result = _conflict(tmp_path)
    assert states(result) == {
        2: ("quarantined", "duplicate_id_conflict"),
        3: ("quarantined", "duplicate_id_conflict"),
        4: ("clean", ""),
    }
    report = result.duplicates
    assert report[["hhid", "submission", "row", "differs"]].values.tolist() == [
        ["00123", "u1", 2, "nama, income"],
        ["00123", "u2", 3, "nama, income"],
    ]
    assert report["values"].tolist() == ["nama=****; income=750000", "nama=Si*******ah; income=800000"]
    assert "Siti" not in report.to_csv()


DECIDE = "round,id,submission,row,action,new_id,reason\n"


def test_decisions_are_reapplied_and_never_pick_at_random(tmp_path: Path) -> None:
    result = _conflict(
        tmp_path,
        DECIDE + "baseline,00123,u1,,keep,,first visit complete\nbaseline,00123,u2,,drop,,repeat visit\n",
    )
    assert states(result) == {2: ("clean", ""), 3: ("excluded", "dropped_by_decision"), 4: ("clean", "")}
    assert result.duplicates[["state", "action"]].values.tolist() == [["clean", "keep"], ["excluded", "drop"]]

    # A keep alone does not resolve the group: the other record is still undecided.
    result = _conflict(tmp_path, DECIDE + "baseline,00123,u1,,keep,,first visit complete\n")
    assert states(result)[2] == ("quarantined", "duplicate_id_conflict")

    result = _conflict(tmp_path, DECIDE + "baseline,,u2,,new_id,00199,paper form says 00199\n")
    assert states(result) == all_clean(range(2, 5))
    assert sorted(result.data["hhid"]) == ["00123", "00124", "00199"]
    renamed = result.changes.loc[result.changes["rule"] == "decision_new_id"]
    assert renamed[["_row", "old", "new"]].values.tolist() == [[3, "*****", "*****"]]

    with pytest.raises(InputError, match=r"baseline.csv rows 2, 3: decisions keep more than one record"):
        _conflict(tmp_path, DECIDE + "baseline,,u1,,keep,,a\nbaseline,,u2,,keep,,b\n")
    with pytest.raises(InputError) as info:
        _conflict(tmp_path, DECIDE + "baseline,00999,u1,,drop,,stale\n")
    assert str(info.value).startswith(
        "decisions.csv row 2 column id: the record it names (baseline.csv row 2)"
    )
    with pytest.raises(InputError, match=r"decisions.csv row 2 column reason: expecting why"):
        _conflict(tmp_path, DECIDE + "baseline,,u1,,drop,,\n")


CORRECT = "round,id,submission,column,old,new,reason\n"


def test_corrections_check_the_old_value(tmp_path: Path) -> None:
    result = _conflict(
        tmp_path, corrections=CORRECT + "baseline,00124,,income,500000,550000,confirmed by phone\n"
    )
    assert states(result)[4] == ("clean", "")
    assert result.data.set_index("hhid").loc["00124", "income"] == 550000
    logged = result.changes.loc[result.changes["rule"] == "correction"]
    assert logged[["_row", "column", "old", "new"]].values.tolist() == [[4, "income", "500000", "550000"]]
    # a personal column's values are masked in the log
    result = _conflict(tmp_path, corrections=CORRECT + "baseline,,u3,nama,Budi,Budi Santoso,spelling\n")
    assert result.changes.loc[result.changes["rule"] == "correction", "new"].tolist() == ["Bu********so"]

    with pytest.raises(InputError) as info:
        _conflict(tmp_path, corrections=CORRECT + "baseline,00124,,income,400000,550000,typo\n")
    assert str(info.value) == (
        "corrections.csv row 2 column old: baseline.csv row 4 column income holds '500000', expected "
        "'400000' – the export changed or the correction was already made; update or remove this correction"
    )
    with pytest.raises(InputError) as info:
        _conflict(tmp_path, corrections=CORRECT + "baseline,,u1,nama,Sita,Siti,typo\n")
    assert "Siti" not in str(info.value) and "Sita" not in str(info.value)
    with pytest.raises(
        InputError, match=r"corrections.csv row 2 column id: 2 records of baseline.csv \(rows 2, 3\)"
    ):
        _conflict(tmp_path, corrections=CORRECT + "baseline,00123,,income,750000,1,x\n")


# --------------------------------------------------------------------------------------------
# Cases 33-35: linking the rounds


@pytest.fixture
def two_rounds(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, Codebook, object]:
    (tmp_path / "b.csv").write_text("x\n")
    (tmp_path / "f.csv").write_text("x\n")
    (tmp_path / "study.yml").write_text(
        "rounds: {baseline: b.csv, followup: f.csv}\nid: hhid\ntreatment: treat\nvillage: desa\noutcomes: [y]\n"
    )
    study = load_study(tmp_path / "study.yml")
    cols = ["hhid", "treat", "desa", "y"]
    codebook = codebook_from_study(study, {"baseline": cols, "followup": cols})
    base = pd.DataFrame(
        {
            "_row": [2, 3, 4],
            "hhid": ["00123", "00456", "00789"],
            "treat": [1.0, 0.0, 1.0],
            "desa": ["v1", "v2", "v1"],
            "y": [1.0, 2, 3],
        }
    )
    follow = pd.DataFrame(
        {
            "_row": [2, 3, 4],
            "hhid": ["00123", "00789", "00999"],
            "treat": [1.0, 1.0, 1.0],
            "desa": ["v1", "v1", "v1"],
            "y": [2.0, 3, 4],
        }
    )
    return base, follow, codebook, study


def test_followup_id_not_in_baseline(two_rounds) -> None:
    base, follow, codebook, study = two_rounds
    kept = build_panel({"baseline": base, "followup": follow}, codebook=codebook, study=study)
    report = kept.unlinked.set_index("hh")
    assert report.loc["00999", "linkage"] == "followup_only" and report.loc["00999", "_row"] == 4
    quarantined = build_panel(
        {"baseline": base, "followup": follow}, codebook=codebook, study=study, new_households="quarantine"
    )
    assert quarantined.not_in_baseline[["hh", "_row"]].values.tolist() == [["00999", 4]]
    assert "00999" not in set(quarantined.data["hh"])


def test_not_in_baseline_reaches_the_row_states(tmp_path: Path) -> None:
    write(tmp_path, "baseline.csv", "hhid,treat,y\n001,1,5\n002,0,6\n")
    write(tmp_path, "followup.csv", "hhid,treat,y\n001,1,7\n002,0,8\n999,1,9\n")
    write(
        tmp_path,
        "study.yml",
        "rounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\ntreatment: treat\n"
        "pseudonym_key: test-key\noutcomes: [y]\n",
    )
    study = load_study(tmp_path / "study.yml")
    study = dataclasses.replace(study, new_households="quarantine")
    processed = tmp_path / "processed"
    for round_name in ("baseline", "followup"):
        clean_stage(study, round_name, processed)
    construct_stage(study, processed)
    row_states = pd.read_csv(processed / "followup_row_states.csv", dtype=str, keep_default_na=False)
    assert row_states[["_row", "state", "reason"]].values.tolist() == [
        ["2", "clean", ""],
        ["3", "clean", ""],
        ["4", "quarantined", "not_in_baseline"],
    ]
    quarantine = pd.read_csv(processed / "followup_quarantine.csv", dtype=str, keep_default_na=False)
    assert quarantine["reason"].tolist() == ["not_in_baseline"]
    construct_stage(study, processed)  # rerunning the stage does not add the row twice
    assert len(pd.read_csv(processed / "followup_quarantine.csv")) == 1
    panel = pd.read_parquet(processed / "panel.parquet")
    assert len(panel) == 4 and set(panel["linkage"]) == {"panel"}


def test_attrited_household_stays_clean(two_rounds) -> None:
    base, follow, codebook, study = two_rounds
    panel = build_panel({"baseline": base, "followup": follow}, codebook=codebook, study=study)
    rows = panel.data.set_index(["hh", "round"])
    assert rows.loc[("00456", "baseline"), "linkage"] == "baseline_only"
    assert bool(rows.loc[("00456", "baseline"), "in_sample"])  # still used where a baseline suffices
    assert len(panel.data) == len(base) + len(follow)  # never an inner join
    table = linkage_by_village(panel.data).set_index(["village", "treatment"])
    assert table.loc[("v2", 0.0), ["baseline", "baseline_only", "attrition_rate"]].tolist() == [1, 1, 1.0]
    assert table.loc[("v1", 1.0), ["panel", "followup_only"]].tolist() == [2, 1]


def test_duplicate_keys_on_both_sides(two_rounds) -> None:
    base, follow, codebook, study = two_rounds
    base = pd.concat([base, base.iloc[[0]]], ignore_index=True)
    follow = pd.concat([follow, follow.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError) as info:
        build_panel({"baseline": base, "followup": follow}, codebook=codebook, study=study)
    assert str(info.value) == "merge baseline×followup: duplicate keys hh 00123 (2 left, 2 right)"


# --------------------------------------------------------------------------------------------
# Cases 36-39: outliers, impossible values, exclusions, summary rows


def test_outliers_are_flagged_never_deleted(tmp_path: Path) -> None:
    incomes = [800000, 900000, 1000000, 1100000, 1200000, 950000, 1050000, 100000000]
    land = [1.0, 0.5, 2.0, 1.5, 0.8, 1.2, 0.9, 500]
    lines = ["_uuid,hhid,income,land"] + [
        f"u{i},{i:03d},{a},{b}" for i, (a, b) in enumerate(zip(incomes, land, strict=True))
    ]
    rows = [
        HHID,
        {"name": "income", "source_baseline": "income", "type": "money", "role": "income_component"},
        {"name": "land", "source_baseline": "land", "type": "number"},
        {"name": "size", "source_baseline": "size", "type": "integer", "role": "household_size"},
    ]
    text = "\n".join(lines) + "\n"
    text = (
        text.replace("_uuid,hhid,income,land", "_uuid,hhid,income,land,size")
        .replace("\n", ",2\n")
        .replace("land,size,2", "land,size")
    )
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
        number_style="plain",
    )
    assert states(result) == all_clean(range(2, 10))
    assert result.quality[["_row", "flag"]].values.tolist() == [[9, "outlier:income"], [9, "outlier:land"]]
    assert result.data["income"].iloc[-1] == 100_000_000 and result.data["land"].iloc[-1] == 500
    built = construct(result.data, codebook=make_codebook(tmp_path, rows), winsor_quantile=0.9)
    assert built["income_pc"].iloc[-1] == 50_000_000  # the value itself is untouched
    assert built["income_pc_w99"].iloc[-1] < built["income_pc"].iloc[-1]  # winsorised in a copy


IMPOSSIBLE = [
    HHID,
    {"name": "age", "source_baseline": "age", "type": "integer", "valid_min": "0", "valid_max": "120"},
    {"name": "size", "source_baseline": "size", "type": "integer", "valid_min": "1", "valid_max": "30"},
    {"name": "wage", "source_baseline": "wage", "type": "money", "valid_min": "0"},
    {"name": "farm_profit", "source_baseline": "farm", "type": "money"},
    {
        "name": "lat",
        "source_baseline": "_gps_latitude",
        "type": "number",
        "role": "gps_latitude",
        "pii": "yes",
    },
    {"name": "nik", "source_baseline": "nik", "type": "id", "pii": "yes"},
]


def test_impossible_values_fail_schema_checks(tmp_path: Path) -> None:
    text = (
        "_uuid,hhid,age,size,wage,farm,_gps_latitude,nik\n"
        "u1,001,34,4,1500000,-200000,-7.21,9401011201900013\n"  # negative farm profit is possible
        "u2,002,150,4,1500000,0,-7.21,9401011201900013\n"
        "u3,003,34,0,1500000,0,-7.21,9401011201900013\n"
        "u4,004,34,4,-500000,0,-7.21,9401011201900013\n"
        "u5,005,34,4,1500000,0,40.5,9401011201900013\n"
        "u6,006,34,4,1500000,0,-7.21,94010112019\n"
    )
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, IMPOSSIBLE),
    )
    assert states(result) == {
        2: ("clean", ""),
        3: ("quarantined", "out_of_range:age"),
        4: ("quarantined", "out_of_range:size"),
        5: ("quarantined", "out_of_range:wage"),
        6: ("quarantined", "outside_indonesia:lat"),
        7: ("quarantined", "invalid_nik_format:nik"),
    }
    assert result.validation["value"].tolist() == [
        "number with 3 digits",
        "number with 1 digit",
        "number with 6 digits",
        "number with 3 digits",
        "text of 11 characters",
    ]


def test_pandera_failure_cases_carry_no_personal_data_into_logs(tmp_path: Path) -> None:
    phone = "081234567890"
    text = f"_uuid,hhid,age,size,wage,farm,_gps_latitude,nik\nu1,001,{phone},4,0,0,-7.2,12345\n"
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, IMPOSSIBLE),
    )
    assert states(result) == {2: ("quarantined", "out_of_range:age;invalid_nik_format:nik")}
    logged = result.validation.to_csv()
    assert "81234567890" not in logged and "12345" not in logged
    # pandera's own table does hold the values: that is what the log must never show
    import pandera.pandas as pa

    from analysis.clean.validation import build_schema

    with pytest.raises(pa.errors.SchemaErrors) as info:
        build_schema(make_codebook(tmp_path, IMPOSSIBLE), ["age"]).validate(
            pd.DataFrame({"age": [81234567890.0]}), lazy=True
        )
    assert 81234567890.0 in info.value.failure_cases["failure_case"].tolist()
    checked = validate(
        pd.DataFrame({"age": [81234567890.0]}), make_codebook(tmp_path, IMPOSSIBLE), rows=np.array([2])
    )
    assert "81234567890" not in checked.log.to_csv() and checked.quarantine[0][1] == "out_of_range:age"


def test_consent_test_pilot_and_unapproved_submissions_are_excluded(tmp_path: Path) -> None:
    text = (
        "_uuid,hhid,consent,enumerator,_submission_time,_validation_status\n"
        "u1,001,ya,Budi,2023-03-02T02:00:00,validation_status_approved\n"
        "u2,002,tidak,Budi,2023-03-02T02:00:00,\n"
        "u3,003,ya,test,2023-03-02T02:00:00,\n"
        "u4,004,ya,Budi,2023-02-20T02:00:00,\n"  # before fieldwork: a pilot
        "u5,005,ya,Budi,2023-03-03T02:00:00,validation_status_not_approved\n"
    )
    rows = [
        HHID,
        {
            "name": "consent",
            "source_baseline": "consent",
            "type": "category",
            "categories": "0;1",
            "recode": "ya=1; tidak=0",
            "role": "consent",
        },
        {
            "name": "enumerator",
            "source_baseline": "enumerator",
            "type": "text",
            "role": "enumerator",
            "pii": "yes",
        },
        {
            "name": "submitted",
            "source_baseline": "_submission_time",
            "type": "date",
            "role": "submission_time",
            "unit": "UTC",
        },
        {
            "name": "review",
            "source_baseline": "_validation_status",
            "type": "text",
            "role": "validation_status",
        },
    ]
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
        rules=WINDOW,
    )
    assert states(result) == {
        2: ("clean", ""),
        3: ("excluded", "no_consent"),
        4: ("excluded", "test_submission"),
        5: ("excluded", "test_submission"),
        6: ("excluded", "not_approved"),
    }


def test_blank_and_total_rows_in_xlsx(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (
        ["hhid", "income"],
        ["001", 5],
        ["002", 6],
        [None, None],
        ["003", 7],
        ["Total", 18],
        [None, None],
    ):
        sheet.append(row)
    workbook.save(tmp_path / "baseline.xlsx")
    table = read_table(tmp_path / "baseline.xlsx")
    assert "dropped 1 empty row after the last row with data" in table.fixes
    rows = [HHID, {"name": "income", "source_baseline": "income", "type": "number"}]
    result = clean_round(table, round_name="baseline", codebook=make_codebook(tmp_path, rows))
    assert states(result) == {
        2: ("clean", ""),
        3: ("clean", ""),
        4: ("excluded", "no_valid_id"),
        5: ("clean", ""),
        6: ("excluded", "no_valid_id"),
    }
    assert result.reason_counts().set_index("reason").loc["no_valid_id", "rows"] == 2


# --------------------------------------------------------------------------------------------
# Cases 40-41: active content and papermill parameters


def test_formula_cells_are_neutralised_in_exports(tmp_path: Path) -> None:
    text = '_uuid,hhid,catatan,size\nu1,001,"=HYPERLINK(""http://x"",""klik"")",4\nu2,002,<img src=x onerror=alert(1)>,0\nu3,003,-99,3\n'
    rows = [
        HHID,
        {"name": "catatan", "source_baseline": "catatan", "type": "text"},
        {"name": "size", "source_baseline": "size", "type": "integer", "valid_min": "1"},
    ]
    result = clean_round(
        read_table(write(tmp_path, "baseline.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, rows),
    )
    assert states(result) == {2: ("clean", ""), 3: ("quarantined", "out_of_range:size"), 4: ("clean", "")}
    assert (
        result.data["catatan"].iloc[0] == '=HYPERLINK("http://x","klik")'
    )  # the analysis value is unchanged
    write_csv(result.data, tmp_path / "clean.csv")
    exported = pd.read_csv(tmp_path / "clean.csv", dtype=str, keep_default_na=False)
    assert exported["catatan"].tolist()[0] == '\'=HYPERLINK("http://x","klik")'
    assert exported["catatan"].tolist()[1] == "-99"  # a plain number is not a formula
    assert exported["hhid"].tolist() == ["001", "003"]  # other columns untouched

    # XLSX: openpyxl stores a text cell starting with '=' as a formula unless neutralised.
    frame = result.data[["catatan"]]
    frame.to_excel(tmp_path / "raw.xlsx", index=False)
    neutralize_formulas(frame).to_excel(tmp_path / "safe.xlsx", index=False)
    assert openpyxl.load_workbook(tmp_path / "raw.xlsx").active["A2"].data_type == "f"  # the trap
    assert openpyxl.load_workbook(tmp_path / "safe.xlsx").active["A2"].data_type == "s"


def test_parameter_names_are_allow_listed_and_codes_stay_text() -> None:
    notebook = NOTEBOOKS_DIR / "05_village_report.ipynb"
    check_parameters(notebook, {"village": "0712", "language": "id"})
    with pytest.raises(ReportError, match="not a Python identifier"):
        check_parameters(notebook, {"village\nimport os": "0712"})
    with pytest.raises(ReportError, match="has no parameter 'desa'"):
        check_parameters(notebook, {"desa": "0712"})
    name = 'Sukamaju "Barat"\n'
    code = papermill.translators.PythonTranslator.codify({"village": "0712", "village_name": name})
    tree = ast.parse(code)
    assignments = [node for node in tree.body if isinstance(node, ast.Assign)]
    assert len(assignments) == 2  # the quote and newline stay inside one assignment
    values = {a.targets[0].id: ast.literal_eval(a.value) for a in assignments}  # type: ignore[attr-defined]
    assert values == {"village": "0712", "village_name": name}


# --------------------------------------------------------------------------------------------
# Case 44: direct identifiers in an analysis input


def test_identifiers_are_removed_before_writing(tmp_path: Path) -> None:
    values = {
        "nama": ["Siti Rahayu", "Budi Santoso"],
        "nik": ["9401011201900013", "9401014507850002"],
        "no_hp": ["081234567890", "085298765432"],
        "_gps_latitude": ["-7.210510", "-7.219763"],
        "_attachments": ["https://kf.example/att/123.jpg", "https://kf.example/att/456.jpg"],
        "deviceid": ["collect:AbCdEf123456", "collect:ZyXwVu987654"],
    }
    frame = pd.DataFrame({"hhid": ["00123", "00124"], "treat": ["1", "0"], "y": ["5", "6"], **values})
    frame.to_csv(tmp_path / "baseline.csv", index=False)
    frame.to_csv(tmp_path / "followup.csv", index=False)
    rows = [
        HHID,
        {
            "name": "treat",
            "source_baseline": "treat",
            "source_followup": "treat",
            "type": "number",
            "role": "treatment",
        },
        {"name": "y", "source_baseline": "y", "source_followup": "y", "type": "number"},
        {"name": "nama", "source_baseline": "nama", "source_followup": "nama", "type": "text", "pii": "yes"},
        {"name": "nik", "source_baseline": "nik", "source_followup": "nik", "type": "id", "pii": "yes"},
        # flags forgotten: the names alone mark them as personal
        {"name": "phone", "source_baseline": "no_hp", "source_followup": "no_hp", "type": "text"},
        {
            "name": "lat",
            "source_baseline": "_gps_latitude",
            "source_followup": "_gps_latitude",
            "type": "text",
        },
        {
            "name": "photos",
            "source_baseline": "_attachments",
            "source_followup": "_attachments",
            "type": "text",
        },
        {"name": "device", "source_baseline": "deviceid", "source_followup": "deviceid", "type": "text"},
    ]
    make_codebook(tmp_path, rows)
    write(
        tmp_path,
        "study.yml",
        "rounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\ntreatment: treat\n"
        "codebook: codebook.csv\npseudonym_key: test-key\noutcomes: [y]\n",
    )
    processed = tmp_path / "processed"
    summary = clean_stage(tmp_path / "study.yml", "baseline", processed)
    assert summary.counts == {"clean": 2, "quarantined": 0, "excluded": 0, "raw": 2}  # no row effect
    assert set(summary.dropped_columns) == {"nama", "phone", "lat", "photos", "device"}
    assert set(summary.hashed_columns) == {"hhid", "nik"}
    logged = json.loads((processed / "baseline_summary.json").read_text())
    assert any("phone, lat, photos, device" in note for note in logged["notes"])
    clean = pd.read_parquet(processed / "baseline_clean.parquet")
    assert list(clean.columns) == ["_row", "hhid", "treat", "y", "nik"]
    written = "".join(p.read_text() for p in processed.glob("*.csv")) + clean.to_csv()
    written += (processed / "baseline_summary.json").read_text()
    leaked = [v for column in [*values.values(), ["00123", "00124"]] for v in column if v in written]
    assert not leaked


# --------------------------------------------------------------------------------------------
# Cases 7 and 18 inside cleaning: the reader's checks guard every round


def test_label_headers_explain_the_missing_sources(tmp_path: Path) -> None:
    text = "_uuid,ID rumah tangga,Berapa pendapatan bulan lalu?\nu1,001,5\n"
    rows = [HHID, {"name": "income", "source_baseline": "income", "type": "money"}]
    with pytest.raises(InputError) as info:
        clean_round(
            read_table(write(tmp_path, "baseline.csv", text)),
            round_name="baseline",
            codebook=make_codebook(tmp_path, rows),
        )
    assert str(info.value).startswith(
        "baseline.csv: export uses question labels as headers; re-export with XML values"
    )


def test_ids_that_went_through_a_number_stop_the_round(tmp_path: Path) -> None:
    text = "_uuid,hhid,nik\nu1,001,9.40101E+15\nu2,002,9401011201900013\n"
    rows = [HHID, {"name": "nik", "source_baseline": "nik", "type": "id", "pii": "yes"}]
    with pytest.raises(InputError) as info:
        clean_round(
            read_table(write(tmp_path, "survey.csv", text)),
            round_name="baseline",
            codebook=make_codebook(tmp_path, rows),
        )
    assert str(info.value).startswith("survey.csv row 2 column nik: ID in scientific notation")
    assert "9.40101" not in str(info.value)
    # A lost leading zero next to a float-rendered id: the '.0' cannot be dropped safely.
    write(tmp_path, "survey.csv", "_uuid,hhid\nu1,001\nu2,2.0\n")
    with pytest.raises(InputError, match=r"survey.csv row 3 column hhid: ID ends in '.0' .* leading zeros"):
        clean_round(
            read_table(tmp_path / "survey.csv"),
            round_name="baseline",
            codebook=make_codebook(tmp_path, [HHID]),
        )


def test_whole_ids_through_a_float_are_read_as_integers(tmp_path: Path) -> None:
    # The old rule refused every '.0'; a Stata or pandas export of integer ids looks like this.
    text = "_uuid,hhid\nu1,101.0\nu2,102.0\nu3,103\n"
    result = clean_round(
        read_table(write(tmp_path, "survey.csv", text)),
        round_name="baseline",
        codebook=make_codebook(tmp_path, [HHID]),
    )
    assert states(result) == all_clean([2, 3, 4])
    assert result.data["hhid"].tolist() == ["101", "102", "103"]
    assert [w.code for w in result.warnings] == ["float_codes"]
    log = result.changes.loc[result.changes["rule"] == "float_code_to_integer"]
    assert log["_row"].tolist() == [2, 3] and not {"101.0", "102.0"} & set(log["old"])  # masked


def test_gps_is_coarsened_to_the_village_before_writing(tmp_path: Path) -> None:
    text = (
        "hhid,treat,desa,y,_gps_latitude,_gps_longitude\n"
        "001,1,0101,5,-7.210510,108.461864\n002,1,0101,6,-7.219763,108.467339\n003,0,0102,7,-7.100001,108.300000\n"
    )
    write(tmp_path, "baseline.csv", text)
    write(tmp_path, "followup.csv", text)
    rows = [
        HHID,
        {
            "name": "desa",
            "source_baseline": "desa",
            "source_followup": "desa",
            "type": "id",
            "role": "village",
        },
        {
            "name": "treat",
            "source_baseline": "treat",
            "source_followup": "treat",
            "type": "number",
            "role": "treatment",
        },
        {"name": "y", "source_baseline": "y", "source_followup": "y", "type": "number"},
        {
            "name": "lat",
            "source_baseline": "_gps_latitude",
            "source_followup": "_gps_latitude",
            "type": "number",
            "role": "gps_latitude",
            "pii": "yes",
        },
        {
            "name": "lon",
            "source_baseline": "_gps_longitude",
            "source_followup": "_gps_longitude",
            "type": "number",
            "role": "gps_longitude",
            "pii": "yes",
        },
    ]
    make_codebook(tmp_path, rows)
    write(
        tmp_path,
        "study.yml",
        "rounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\ntreatment: treat\nvillage: desa\n"
        "codebook: codebook.csv\npseudonym_key: test-key\noutcomes: [y]\n",
    )
    study = load_study(tmp_path / "study.yml")
    processed = tmp_path / "processed"
    summary = clean_stage(dataclasses.replace(study, gps="village"), "baseline", processed)
    assert summary.counts["clean"] == 3  # GPS read as device numbers, inside Indonesia
    clean = pd.read_parquet(processed / "baseline_clean.parquet")
    assert "lat" not in clean.columns and clean["village_latitude"].tolist() == [-7.215, -7.215, -7.1]
    assert "-7.210510" not in "".join(p.read_text() for p in processed.glob("*.csv"))
    dropped = clean_stage(study, "baseline", processed)  # the default: drop the points
    assert {"lat", "lon"} <= set(dropped.dropped_columns)
    assert "village_latitude" not in pd.read_parquet(processed / "baseline_clean.parquet").columns
    # A wrong `gps` value stops load_study, before any stage (tests/inputs/test_study_schema.py).
