"""Reading raw exports as text: one fixture per bad-input case (docs/bad-inputs.md section 1).

Every fixture is written byte for byte into ``tmp_path`` by the test itself.  Case numbers
refer to the table in ``docs/bad-inputs.md``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.errors import BerdayaError, InputError
from analysis.inputs.readers import (
    RawTable,
    check_id_text,
    check_xml_headers,
    float_codes,
    normalize_text,
    read_table,
    resolve_form_names,
    without_point_zero,
)

NIK = "9401011201900013"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_all_text(table: RawTable) -> None:
    frame = table.frame
    assert isinstance(frame.index, pd.RangeIndex)
    assert len(table.row_numbers) == len(frame)
    for name in frame.columns:
        values = frame[name].tolist()
        assert all(type(v) is str for v in values), name


def xlsx(tmp_path: Path, name: str, rows: list[list[object]], *, sheet: str = "data") -> Path:
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


# --------------------------------------------------------------------------------------------
# Case 1: Kobo CSV with ';' separator


def test_semicolon_separator_is_detected_and_logged(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "baseline.csv",
        b'"_uuid";"hh/hhid";"hh/income"\n"u1";"00123";"Rp 1.500.000"\n"u2";"00124";"2 rb"\n',
    )
    table = read_table(path)
    assert list(table.frame.columns) == ["_uuid", "hh/hhid", "hh/income"]
    assert table.delimiter == ";"
    assert "sep=';' detected" in table.fixes
    assert table.frame["hh/income"].tolist() == ["Rp 1.500.000", "2 rb"]
    assert table.row_numbers.tolist() == [2, 3]
    assert_all_text(table)


def test_header_glued_into_one_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "baseline.csv", b'"_uuid;hh/hhid;hh/income"\n"u1;00123;5"\n')
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value) == (
        "baseline.csv row 1 column 1: header parsed as one column containing ';' – file looks ;-separated"
    )


def test_explicit_comma_on_a_semicolon_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "baseline.csv", b"_uuid;hhid\nu1;00123\n")
    with pytest.raises(InputError, match="row 1 column 1: header parsed as one column"):
        read_table(path, delimiter=",")


def test_tab_and_pipe_delimiters_are_sniffed(tmp_path: Path) -> None:
    tab = read_table(write(tmp_path, "a.tsv", b"hhid\tdesa\n00123\t0712\n"))
    pipe = read_table(write(tmp_path, "b.txt", b"hhid|desa\n00123|0712\n"))
    assert tab.delimiter == "\t" and "sep='\\t' detected" in tab.fixes
    assert pipe.delimiter == "|" and pipe.frame["desa"].tolist() == ["0712"]


# --------------------------------------------------------------------------------------------
# Case 2: UTF-8 byte-order mark


def test_bom_is_removed_and_logged(tmp_path: Path) -> None:
    path = write(tmp_path, "baseline.csv", b"\xef\xbb\xbfhhid,desa\n00123,0712\n")
    table = read_table(path)
    assert list(table.frame.columns) == ["hhid", "desa"]
    assert "BOM removed" in table.fixes
    assert table.encoding == "utf-8"


def test_bom_file_on_the_csv_module_error_path(tmp_path: Path) -> None:
    # A bad record is located with the csv module, which does not strip a BOM by itself.
    path = write(tmp_path, "baseline.csv", b"\xef\xbb\xbfhhid,desa\n00123,0712\n00124\n")
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value).startswith("baseline.csv row 3: has 1 field, expected 2")


# --------------------------------------------------------------------------------------------
# Case 3: cp1252 encoding


def test_cp1252_names_round_trip_and_are_logged(tmp_path: Path) -> None:
    path = write(tmp_path, "members.csv", "hhid,nama\n00123,José\n00124,Pâ\n".encode("cp1252"))
    table = read_table(path)
    assert table.frame["nama"].tolist() == ["José", "Pâ"]
    assert "encoding=cp1252" in table.fixes
    assert table.encoding == "cp1252"


def test_undecidable_encoding_names_row_and_column(tmp_path: Path) -> None:
    # Valid UTF-8 ("Sité") mixed with a cp1252 byte: no single encoding reads the file.
    data = "hhid,nama\n00123,Sité\n".encode() + b"00124,Jos\xe9\n"
    path = write(tmp_path, "members.csv", data)
    with pytest.raises(InputError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(
        "members.csv row 3 column nama: byte 0xE9 is not UTF-8 and the encoding could not be determined"
    )
    assert "Jos" not in message  # no personal values, no mojibake


def test_declared_encoding_is_used_strictly(tmp_path: Path) -> None:
    path = write(tmp_path, "members.csv", "hhid,nama\n1,José\n".encode("latin-1"))
    assert read_table(path, encoding="latin-1").frame["nama"].tolist() == ["José"]
    with pytest.raises(InputError, match="row 2 column nama: byte 0xE9 is not valid utf-8"):
        read_table(path, encoding="utf-8")
    with pytest.raises(InputError, match="unknown encoding"):
        read_table(path, encoding="no-such-codec")


def test_utf16_excel_unicode_text_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, "export.txt", "hhid\tnama\n00123\tJosé\n".encode("utf-16"))
    table = read_table(path)
    assert table.frame.to_dict("list") == {"hhid": ["00123"], "nama": ["José"]}
    assert "encoding=utf-16" in table.fixes


# --------------------------------------------------------------------------------------------
# Case 4: quoted multi-line free text


def test_multiline_notes_are_one_record_with_their_start_line(tmp_path: Path) -> None:
    data = (
        b"_uuid,notes,income\r\n"
        b'u1,"Jalan rusak,\r\nbelum diperbaiki",100\r\n'
        b"u2,biasa,200\r\n"
        b'u3,"tiga\nbaris\ndi sini",300\r\n'
        b"u4,akhir,400\r\n"
    )
    table = read_table(write(tmp_path, "followup.csv", data))
    assert len(table.frame) == table.frame["_uuid"].nunique() == 4
    assert table.frame["notes"].iloc[0] == "Jalan rusak,\r\nbelum diperbaiki"
    assert table.row_numbers.tolist() == [2, 3, 4, 5]
    assert table.line_numbers is not None
    assert table.line_numbers.tolist() == [2, 4, 5, 8]


def test_row_and_line_are_both_named_after_multiline_text(tmp_path: Path) -> None:
    data = b'_uuid,notes,income\nu1,"a\nb\nc",1\nu2,ok,2\nu3,cut\n'
    with pytest.raises(InputError) as info:
        read_table(write(tmp_path, "followup.csv", data))
    assert str(info.value) == (
        "followup.csv row 4: has 2 fields, expected 3 (record starts on line 6) "
        "(file truncated?) – re-download the export"
    )


def test_blank_lines_are_skipped_and_logged_but_keep_row_numbers(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "a.csv", b"hhid,x\n1,a\n\n2,b\n"))
    assert table.frame["hhid"].tolist() == ["1", "2"]
    assert table.row_numbers.tolist() == [2, 4]
    assert "skipped 1 blank line" in table.fixes


# --------------------------------------------------------------------------------------------
# Case 5: empty, header-only or truncated file


@pytest.mark.parametrize("data", [b"", b"hhid,income\n", b"hhid,income", b"\n\n", b"hhid\n\n"])
def test_no_data_rows(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError) as info:
        read_table(write(tmp_path, "followup.csv", data))
    assert str(info.value) == "followup.csv: 0 data rows"


def test_truncated_last_record(tmp_path: Path) -> None:
    header = ",".join(f"q{i}" for i in range(40))
    full = ",".join(str(i) for i in range(40))
    lines = [header] + [full] * 1199 + [",".join(str(i) for i in range(12))]
    path = write(tmp_path, "followup.csv", ("\n".join(lines)).encode())
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value) == (
        "followup.csv row 1201: has 12 fields, expected 40 (file truncated?) – re-download the export"
    )
    assert info.value.rows == [1201]


def test_quote_never_closed_at_end_of_file(tmp_path: Path) -> None:
    path = write(tmp_path, "followup.csv", b'_uuid,notes\nu1,ok\nu2,"dipotong di tengah\n')
    with pytest.raises(InputError, match=r"row 3: a quoted value is never closed \(file truncated\?\)"):
        read_table(path)


def test_records_with_extra_fields_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "followup.csv", b"a,b\n1,2\n3,4,5\n6,7\n8,9,10\n")
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value).startswith("followup.csv rows 3, 5: wrong number of fields, expected 2")


# --------------------------------------------------------------------------------------------
# Case 6: duplicated column headers


def test_duplicated_headers_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "baseline.csv", b"hhid,income,income\n00123,5,6\n")
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value).startswith("baseline.csv row 1: duplicated column names income (columns 2 and 3)")


def test_duplicated_headers_in_xlsx_name_the_sheet(tmp_path: Path) -> None:
    path = xlsx(tmp_path, "baseline.xlsx", [["hhid", "income", "income"], ["00123", 5, 6]])
    with pytest.raises(InputError, match=r"baseline.xlsx sheet data row 1: duplicated column names"):
        read_table(path)


def test_empty_unnamed_columns_are_dropped_but_not_ones_with_data(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "a.csv", b"hhid,x,\n1,a,\n2,b,\n"))
    assert list(table.frame.columns) == ["hhid", "x"]
    assert "dropped 1 empty column without a header" in table.fixes
    with pytest.raises(InputError, match=r"a.csv row 3 column 3: has no header but holds values"):
        read_table(write(tmp_path, "a.csv", b"hhid,x,\n1,a,\n2,b,oops\n"))


# --------------------------------------------------------------------------------------------
# Case 7: labels used as headers


def test_label_headers_are_refused(tmp_path: Path) -> None:
    path = xlsx(
        tmp_path,
        "baseline.xlsx",
        [["_uuid", "Group 1/Sub Group 1/G1SG1Q1", "Berapa pendapatan bulan lalu?"], ["u1", 1, 2]],
    )
    table = read_table(path)
    with pytest.raises(InputError) as info:
        check_xml_headers(table)
    assert str(info.value).startswith(
        "baseline.xlsx sheet data: export uses question labels as headers; re-export with XML values"
    )


def test_xml_headers_pass(tmp_path: Path) -> None:
    data = b"_uuid,__version__,hh/hhid,hh/assets/1,meta-instanceID,KEY,SET-OF-anggota\nu,v,1,0,i,k,s\n"
    check_xml_headers(read_table(write(tmp_path, "a.csv", data)))


# --------------------------------------------------------------------------------------------
# Case 8: group-prefix variants of the same form

FORM = ["consent", "hh/hhid", "hh/income", "hh/assets", "farm/land", "farm/crop", "plot/crop"]


@pytest.mark.parametrize(
    ("header", "fix"),
    [
        (b"hh/hhid,hh/income,hh/assets,hh/assets/tv,farm/land,_uuid", "column hh/income -> income"),
        (b"hh-hhid,hh-income,hh-assets,hh-assets-tv,farm-land,_uuid", "column hh-income -> income"),
        (b"hhid,income,assets,assets/tv,land,_uuid", None),
    ],
)
def test_group_prefixes_resolve_to_form_names(tmp_path: Path, header: bytes, fix: str | None) -> None:
    table = read_table(write(tmp_path, "baseline.csv", header + b"\n1,2,tv,1,3,u\n"))
    resolved = resolve_form_names(table, FORM)
    columns = list(resolved.frame.columns)
    assert columns[:3] == ["hhid", "income", "assets"]
    assert columns[3] in ("assets/tv", "assets-tv")  # the dummy keeps its choice suffix
    assert columns[4:] == ["land", "_uuid"]
    if fix is None:
        assert resolved is table  # nothing to rename
    else:
        assert f"{fix} (XLSForm name)" in resolved.fixes


def test_name_in_two_groups_without_prefix_is_an_error(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "baseline.csv", b"hhid,crop\n1,padi\n"))
    with pytest.raises(InputError) as info:
        resolve_form_names(table, FORM)
    assert str(info.value).startswith(
        "baseline.csv column crop: name exists in groups farm and plot and the export has no group prefix"
    )


def test_name_in_two_groups_with_prefix_keeps_the_path(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "baseline.csv", b"farm/crop,plot-crop\npadi,jagung\n"))
    assert list(resolve_form_names(table, FORM).frame.columns) == ["farm/crop", "plot/crop"]


# --------------------------------------------------------------------------------------------
# Cases 16, 17: IDs with leading zeros, NIK with a blank


def test_leading_zeros_survive(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "baseline.csv", b"hhid,desa,income\n00123,0712,5\n00007,0001,6\n"))
    assert table.frame["hhid"].tolist() == ["00123", "00007"]
    assert table.frame["desa"].iloc[0] == "0712"
    check_id_text(table, "hhid", expected_length=5)


def test_nik_with_a_blank_stays_exact(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "members.csv", f"hhid,nik\n00123,{NIK}\n00124,\n".encode()))
    assert table.frame["nik"].tolist() == [NIK, ""]
    assert float(NIK) != int(NIK)  # what float64 would have done: ...012
    check_id_text(table, "nik", expected_length=16)


# --------------------------------------------------------------------------------------------
# Case 18: NIK or phone stored as an Excel number


def test_excel_numeric_nik_lost_precision(tmp_path: Path) -> None:
    rows: list[list[object]] = [["hhid", "nik"]]
    rows += [[f"{i:05d}", 9401011201900010 + 1000 * i] for i in range(5)]
    rows += [["00099", NIK]]  # typed as text: fine
    path = xlsx(tmp_path, "survey.xlsx", rows)
    table = read_table(path)
    assert table.frame["nik"].iloc[0] == "9401011201900010"  # digits, no float artefact
    with pytest.raises(InputError) as info:
        check_id_text(table, "nik", expected_length=16)
    assert str(info.value) == (
        "survey.xlsx sheet data rows 2, 3, 4 and 2 more column nik: numeric ID lost precision "
        "in Excel – re-export the column as text"
    )
    assert info.value.rows == [2, 3, 4, 5, 6]


def test_scientific_notation_from_a_csv_saved_by_excel(tmp_path: Path) -> None:
    path = write(tmp_path, "survey.csv", b"hhid,nik,hp\n1,9.40101E+15,8.12E+11\n2,,081234567890\n")
    table = read_table(path)
    with pytest.raises(InputError) as info:
        check_id_text(table, "nik")
    assert str(info.value).startswith("survey.csv row 2 column nik: ID in scientific notation")
    assert "9.40101" not in str(info.value)
    with pytest.raises(InputError, match=r"survey.csv row 2 column hp: ID in scientific notation"):
        check_id_text(table, "hp")


def test_trailing_point_zero_is_refused(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "survey.csv", b"hhid\n123.0\n00124\n"))
    assert not float_codes(table, "hhid").any()  # 00124 shows the codes are text
    with pytest.raises(InputError) as info:
        check_id_text(table, "hhid")
    assert str(info.value) == (
        "survey.csv row 2 column hhid: ID ends in '.0' – it passed through a floating-point number and "
        "cannot be read as a whole number because other values keep leading zeros, so the codes are "
        "text that lost its zeros (row 3); re-export the column as text"
    )


def test_whole_codes_through_a_float_are_marked_for_reading_as_integers(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "survey.csv", b'desa,x\n12.0,a\n7,b\n,c\n0.0,d\n"13,00",e\n'))
    assert float_codes(table, "desa").tolist() == [True, False, False, True, True]
    assert without_point_zero(table.frame["desa"]).tolist() == ["12", "7", "", "0", "13"]
    for bad in (b"desa\n12.0\n12.5\n", b"desa\n12.0\n0712\n", b"nik\n3205015712671843.0\n"):
        assert not float_codes(
            read_table(write(tmp_path, "bad.csv", bad)), "desa" if b"desa" in bad else "nik"
        ).any()


def test_check_id_text_unknown_column_and_bad_length(tmp_path: Path) -> None:
    table = read_table(write(tmp_path, "survey.csv", b"hhid\n00123\n"))
    with pytest.raises(InputError, match="column nik: column not found"):
        check_id_text(table, "nik")
    with pytest.raises(ValueError, match="expecting a positive integer"):
        check_id_text(table, "hhid", expected_length=0)


# --------------------------------------------------------------------------------------------
# Cases 22, 24: Stata non-unique value labels and extended missing values


def test_stata_non_unique_labels_keep_codes(tmp_path: Path) -> None:
    frame = pd.DataFrame({"hhid": ["00123", "00124", "00125"], "q1": [1.0, 3.0, 2.0]})
    path = tmp_path / "baseline.dta"
    labels = {"q1": {1: "Lainnya", 2: "Ya", 3: "Lainnya"}}
    pyreadstat.write_dta(frame, str(path), variable_value_labels=labels)
    with pytest.raises(ValueError, match="not unique"):
        pd.read_stata(path)  # the trap this reader avoids
    table = read_table(path)
    assert table.frame["q1"].tolist() == ["1", "3", "2"]
    assert table.frame["hhid"].tolist() == ["00123", "00124", "00125"]
    assert "variable q1: non-unique value labels, codes kept" in table.fixes
    assert table.value_labels["q1"] == {"1": "Lainnya", "2": "Ya", "3": "Lainnya"}
    assert_all_text(table)


def test_stata_extended_missing_kept_distinct(tmp_path: Path) -> None:
    income = pd.Series([1500000.0, 0.5, "a", "r", np.nan, 2.0], dtype=object)
    frame = pd.DataFrame({"income": income, "nama": ["Nan", "NA", "x", "y", "", "z"]})
    path = tmp_path / "baseline.dta"
    pyreadstat.write_dta(frame, str(path), missing_user_values={"income": ["a", "r"]})
    table = read_table(path)
    assert table.frame["income"].tolist() == ["1500000", "0.5", ".a", ".r", "", "2"]
    assert table.frame["nama"].tolist() == ["Nan", "NA", "x", "y", "", "z"]
    assert set(table.user_missing["income"]) == {".a", ".r"}
    assert_all_text(table)


def test_stata_numbers_render_without_float_artefacts(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"x": [0.1, 1.5, 3.0, -2.0, 1e-5], "f": np.array([1.1, 2.5, 3.0, 4.0, 0.2], dtype=np.float32)}
    )
    path = tmp_path / "a.dta"
    frame.to_stata(path, write_index=False)  # pandas writes float32 as a Stata "float"
    table = read_table(path)
    assert table.frame["x"].tolist() == ["0.1", "1.5", "3", "-2", "0.00001"]
    assert table.frame["f"].tolist() == ["1.1", "2.5", "3", "4", "0.2"]


def test_stata_numeric_nik_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.dta"
    pyreadstat.write_dta(pd.DataFrame({"nik": [float(NIK), 1.0]}), str(path))
    table = read_table(path)
    with pytest.raises(InputError, match=r"a.dta row 2 column nik: numeric ID stored as a floating-point"):
        check_id_text(table, "nik")


# --------------------------------------------------------------------------------------------
# Case 23: SPSS user-defined missing values


def test_spss_user_missing_codes_stay_distinct(tmp_path: Path) -> None:
    income = [1500000.0, -99.0, -98.0, np.nan, 2.5, -99.0]
    frame = pd.DataFrame({"income": income, "nama": ["Nan", "NA", "", "x", "y", "z"]})
    path = tmp_path / "baseline.sav"
    pyreadstat.write_sav(
        frame,
        str(path),
        missing_ranges={"income": [-99, -98]},
        variable_value_labels={"income": {-99: "Refused", -98: "Don't know"}},
    )
    table = read_table(path)
    values = table.frame["income"]
    assert values.tolist() == ["1500000", "-99", "-98", "", "2.5", "-99"]
    assert table.user_missing["income"] == {"-99": "Refused", "-98": "Don't know"}
    counts = {code: int((values == code).sum()) for code in table.user_missing["income"]}
    assert counts == {"-99": 2, "-98": 1}  # the count per reason matches the raw codes
    assert any(f.startswith("variable income: user-missing codes kept") for f in table.fixes)
    assert table.frame["nama"].tolist() == ["Nan", "NA", "", "x", "y", "z"]
    assert_all_text(table)


# --------------------------------------------------------------------------------------------
# Cases 25, 26: numeric sentinels and text codes for missing survive as text


def test_sentinels_and_missing_words_survive(tmp_path: Path) -> None:
    data = b"nama,income\nNan,-99\nNA,-98\nnull,999\nn/a,9999\n#N/A,\nNone,tidak tahu\n"
    table = read_table(write(tmp_path, "members.csv", data))
    assert table.frame["nama"].tolist() == ["Nan", "NA", "null", "n/a", "#N/A", "None"]
    assert table.frame["income"].tolist() == ["-99", "-98", "999", "9999", "", "tidak tahu"]
    assert not table.frame.isna().any().any()


def test_a_person_named_nan_survives_in_xlsx(tmp_path: Path) -> None:
    path = xlsx(tmp_path, "members.xlsx", [["nama", "umur"], ["Nan", 34], ["NA", None]])
    table = read_table(path)
    assert table.frame["nama"].tolist() == ["Nan", "NA"]
    assert table.frame["umur"].tolist() == ["34", ""]


# --------------------------------------------------------------------------------------------
# Case 29: invisible whitespace


def test_invisible_whitespace_is_stripped_and_counted(tmp_path: Path) -> None:
    data = "hhid,jawab\n 00123,Ya\u00a0\n00124\u00a0,Tidak\n001\u200b25,Ya\n00126,ya\n".encode()
    table = read_table(write(tmp_path, "baseline.csv", data))
    ids, changed = normalize_text(table.frame["hhid"])
    assert ids.tolist() == ["00123", "00124", "00125", "00126"]
    assert changed == 3
    answers, changed = normalize_text(table.frame["jawab"])
    assert answers.tolist() == ["Ya", "Tidak", "Ya", "ya"] and changed == 1
    check_id_text(table, "hhid", expected_length=5)  # the NBSP does not count as a character


def test_normalize_text_keeps_inner_spaces_and_non_strings() -> None:
    series = pd.Series(["Sepeda\u00a0motor", None, 3, "ok"], index=[10, 11, 12, 13], dtype=object)
    cleaned, changed = normalize_text(series)
    assert cleaned.tolist() == ["Sepeda motor", None, 3, "ok"]
    assert list(cleaned.index) == [10, 11, 12, 13] and changed == 1


# --------------------------------------------------------------------------------------------
# Case 42: file too large for memory


def test_file_over_the_memory_budget_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "followup.csv", b"hhid\n" + b"00123\n" * 1000)
    with pytest.raises(InputError, match=r"followup.csv: file exceeds the memory budget"):
        read_table(path, max_bytes=1000)


# --------------------------------------------------------------------------------------------
# Case 43: Excel cells formatted as Text


def test_text_formatted_cells_keep_leading_zeros(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    assert worksheet is not None
    worksheet.title = "rumah_tangga"
    worksheet.append(["hhid", "desa"])
    worksheet.append(["00123", "0712"])
    worksheet.append([124, "0713"])  # number typed into a Text-formatted cell: zeros gone
    worksheet.append(["00125", 714])
    for cell in ("A2", "A3", "A4", "B2", "B3", "B4"):
        worksheet[cell].number_format = "@"
    path = tmp_path / "survey.xlsx"
    workbook.save(path)

    table = read_table(path)
    assert table.sheet == "rumah_tangga"
    assert table.frame["hhid"].tolist() == ["00123", "124", "00125"]
    with pytest.raises(InputError) as info:
        check_id_text(table, "hhid", expected_length=5)
    assert str(info.value).startswith(
        "survey.xlsx sheet rumah_tangga row 3 column hhid: ID shorter than the expected 5 characters"
    )
    with pytest.raises(InputError, match=r"sheet rumah_tangga row 4 column desa: ID shorter"):
        check_id_text(table, "desa", expected_length=4)


# --------------------------------------------------------------------------------------------
# XLSX details


def test_xlsx_values_are_rendered_as_typed(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["hhid", "x", "tanggal", "ok"],
        ["00123", 0.1, dt.datetime(2023, 3, 15), True],
        ["00124", 3.0, dt.datetime(2023, 3, 15, 9, 10), False],
        ["00125", 1500000, None, None],
        [None, None, None, None],
    ]
    table = read_table(xlsx(tmp_path, "a.xlsx", rows))
    assert table.frame.to_dict("list") == {
        "hhid": ["00123", "00124", "00125"],
        "x": ["0.1", "3", "1500000"],
        "tanggal": ["2023-03-15", "2023-03-15 09:10:00", ""],
        "ok": ["TRUE", "FALSE", ""],
    }
    assert table.row_numbers.tolist() == [2, 3, 4]
    assert_all_text(table)


def test_xlsx_sheet_selection(tmp_path: Path) -> None:
    path = xlsx(tmp_path, "a.xlsx", [["hhid"], ["00123"]])
    assert read_table(path, sheet="data").sheet == "data"
    with pytest.raises(InputError, match=r"a.xlsx: sheet 'anggota' not found; the workbook has data"):
        read_table(path, sheet="anggota")
    with pytest.raises(InputError, match=r"cannot be opened as an .xlsx workbook"):
        read_table(write(tmp_path, "b.xlsx", b"not a zip"))


# --------------------------------------------------------------------------------------------
# Dispatch and options


def test_unknown_suffix_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"survey.xls: unsupported file type '.xls'.*re-save it as .xlsx"):
        read_table(write(tmp_path, "survey.xls", b"x"))
    with pytest.raises(InputError, match="nothere.csv: file not found"):
        read_table(tmp_path / "nothere.csv")
    path = write(tmp_path, "a.csv", b"a\n1\n")
    with pytest.raises(ValueError, match="sheet= applies only to .xlsx"):
        read_table(path, sheet="data")
    with pytest.raises(ValueError, match="expecting one character"):
        read_table(path, delimiter=";;")


def test_raw_table_rejects_inconsistent_row_numbers() -> None:
    frame = pd.DataFrame({"a": ["1", "2"]})
    assert RawTable(frame, Path("x.csv")).row_numbers.tolist() == [2, 3]
    with pytest.raises(ValueError, match="row_numbers"):
        RawTable(frame, Path("x.csv"), row_numbers=np.array([2]))


def test_200k_row_csv_reads_every_row_and_line_number(tmp_path: Path) -> None:
    # No time limit is asserted (the machine is shared, and no test fails on time): it is printed.
    n = 200_000
    frame = pd.DataFrame(
        {
            "_uuid": [f"uuid-{i:08d}" for i in range(n)],
            "hhid": [f"{i:06d}" for i in range(n)],
            "nik": [NIK] * n,
            "income": (np.arange(n) * 7919 % 10_000_000).astype(str),
            "notes": np.where(np.arange(n) % 10 == 0, "Jalan rusak,\nbelum diperbaiki", "ok"),
        }
    )
    for i in range(15):
        frame[f"q{i}"] = (np.arange(n) % (i + 2)).astype(str)
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False, sep=";")
    start = time.perf_counter()
    table = read_table(path)
    elapsed = time.perf_counter() - start
    assert table.frame.shape == (n, 20)
    assert table.frame["hhid"].iloc[-1] == f"{n - 1:06d}"
    assert table.line_numbers is not None and table.line_numbers[-1] == n + n // 10 + 1
    print(f"\n{n:,} rows read in {elapsed:.1f} s")


# --------------------------------------------------------------------------------------------
# Property: arbitrary bytes never escape as anything but a BerdayaError

_PIECES = [b"a", b"b", b"1", b",", b";", b"\t", b"|", b'"', b"\n", b"\r", b"\r\n", b" ", b"\xe9"]
_PIECES += [b"\xc3\xa9", b"\xef\xbb\xbf", b"\x00", b"\xff\xfe", b"\xa0"]
_CSVISH = st.lists(st.sampled_from(_PIECES), max_size=60).map(b"".join)


@settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.one_of(st.binary(max_size=200), _CSVISH))
def test_read_table_on_arbitrary_bytes_raises_only_project_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "any.csv"
        path.write_bytes(data)
        try:
            table = read_table(path)
        except BerdayaError:
            return
    assert_all_text(table)
    assert len(table.frame) > 0
    if table.line_numbers is not None:
        assert (np.diff(table.line_numbers) > 0).all()


def test_instruction_files_are_read_as_trimmed_text_with_their_line_numbers(tmp_path: Path) -> None:
    from analysis.inputs.readers import read_instruction_file

    path = tmp_path / "corrections.csv"
    path.write_text("round,id,old,new\n baseline ,h1, 1.000 ,1000\nfollowup,h2,x,y\n")
    frame = read_instruction_file(
        path, kind="corrections", columns=("round", "id", "submission", "old", "new"),
        required=("round",), one_of=("id", "submission"), verbatim=("old",),
    )  # fmt: skip
    assert list(frame.columns) == ["round", "id", "submission", "old", "new", "_line"]
    assert frame["round"].tolist() == ["baseline", "followup"]  # trimmed
    assert frame["old"].tolist() == [" 1.000 ", "x"]  # kept as written
    assert frame["submission"].tolist() == ["", ""] and frame["_line"].tolist() == [2, 3]
    assert frame.attrs["path"] == str(path)
    bare = tmp_path / "bare.csv"
    bare.write_text("round,old\nbaseline,1\n")
    with pytest.raises(
        InputError, match=r"corrections file lacks the column\(s\) reason, id or submission"
    ) as err:
        read_instruction_file(
            bare, kind="corrections", columns=("round", "id", "reason"), required=("round", "reason"),
            one_of=("id", "submission"),
        )  # fmt: skip
    assert "bare.csv" in str(err.value)
