"""XLSForms read into codebooks: types, groups, labels, constraints, choices, personal data, two forms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis.config import DEMO_DIR, ROUNDS
from analysis.demo.forms import FORM_FILES
from analysis.errors import InputError
from analysis.inputs.codebook import read_codebook, write_codebook
from analysis.inputs.readers import read_table
from analysis.inputs.study import load_study
from analysis.inputs.xlsform import COLUMNS, codebook_from_xlsforms, is_xlsform, read_xlsform

ID, EN = "label::Indonesian (id)", "label::English (en)"
SURVEY_HEADER = ("type", "name", ID, EN, "hint::Indonesian (id)", "constraint", "pii", "berdaya::family")


def write_form(
    path: Path,
    survey: Sequence[Sequence[str]],
    choices: Sequence[Sequence[str]] = (),
    *,
    header: Sequence[str] = SURVEY_HEADER,
    choice_header: Sequence[str] = ("list_name", "name", ID, EN),
    settings: dict[str, str] | None = None,
) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "survey"
    sheet.append(list(header))
    for row in survey:
        sheet.append(list(row) + [""] * (len(header) - len(row)))
    if choices:
        sheet = book.create_sheet("choices")
        sheet.append(list(choice_header))
        for row in choices:
            sheet.append(list(row))
    if settings:
        sheet = book.create_sheet("settings")
        sheet.append(list(settings))
        sheet.append(list(settings.values()))
    book.save(path)
    return path


YES_NO = [
    ("yn", "ya", "Ya", "Yes"),
    ("yn", "tidak", "Tidak", "No"),
    ("yn", "tidak_tahu", "Tidak tahu", "Don't know"),
]
SURVEY = [
    ("start", "start"),
    ("note", "intro", "Selamat pagi", "Good morning"),
    ("begin_group", "hh", "Rumah tangga", "Household"),
    ("text", "hhid", "ID rumah tangga", "Household ID"),
    ("integer", "jml_art", "Jumlah anggota", "Household size", "", ". >= 1 and . <= 30"),
    ("decimal", "luas", "Luas lahan", "Land area", "", ". > 0"),
    ("begin group", "usaha", "Usaha", "Business"),  # ODK's spelling, nested
    ("select_one yn", "punya", "Punya usaha?", "Owns a business?", "", "", "", "business"),
    ("text", "omzet", "Omzet bulan lalu", "Turnover last month", "Rp per bulan", "", "", "business"),
    ("end group",),
    ("end_group",),
    ("begin_group", "resp", "Responden", "Respondent"),
    ("text", "nama", "Nama", "Name"),
    ("text", "nik", "NIK", "National id"),
    ("text", "panggilan", "Nama panggilan", "Nickname", "", "", "yes"),
    ("text", "catatan", "Catatan", "Notes", "pii: jangan dibagikan"),
    ("select_multiple aset", "aset", "Aset", "Assets"),
    ("select_one jk", "jk", "Jenis kelamin", "Sex"),
    ("end_group",),
    ("geopoint", "gps", "Lokasi", "Location"),
    ("calculate", "total", "", "", "", "", "", ""),
    ("begin_repeat", "anggota", "Anggota", "Members"),
    ("text", "nama_anggota", "Nama anggota", "Member's name"),
    ("end_repeat",),
    ("text", "komentar", "Komentar", "Comments", "", "regex(., '^[a-z]+$')"),
]
CHOICES = [
    *YES_NO,
    ("aset", "tv", "TV", "TV"),
    ("aset", "motor", "Motor", "Motorbike"),
    ("jk", "1", "Laki-laki", "Male"),
    ("jk", "2", "Perempuan", "Female"),
]


@pytest.fixture
def form(tmp_path: Path) -> Path:
    return write_form(tmp_path / "form.xlsx", SURVEY, CHOICES, settings={"form_title": "Survei (baseline)"})


def one_form(form: Path, columns: dict[str, list[str]] | None = None) -> pd.DataFrame:
    read = read_xlsform(form)
    return codebook_from_xlsforms(dict.fromkeys(ROUNDS, read), columns=columns).set_index("name")


def test_types_groups_labels_and_constraints(form: Path) -> None:
    book = one_form(form)
    assert list(book.columns) == [c for c in COLUMNS if c != "name"]
    assert book.loc["hhid", "source_baseline"] == "hh/hhid" == book.loc["hhid", "source_followup"]
    assert book.loc["punya", "source_baseline"] == "hh/usaha/punya"  # nested groups
    assert (
        book.loc["jml_art", "type"],
        book.loc["jml_art", "valid_min"],
        book.loc["jml_art", "valid_max"],
    ) == (
        "integer",
        "1",
        "30",
    )
    assert (book.loc["luas", "type"], book.loc["luas", "valid_min"]) == ("number", "0")
    assert "strict" in book.loc["luas", "note"]
    assert (book.loc["jml_art", "label_id"], book.loc["jml_art", "label_en"]) == (
        "Jumlah anggota",
        "Household size",
    )
    assert (book.loc["start", "type"], book.loc["start", "role"]) == ("date", "interview_start")
    assert book.loc["omzet", "type"] == "money" and "Rp" in book.loc["omzet", "note"]
    assert book.loc["punya", "family"] == "business" and book.loc["punya", "direction"] == "1"
    assert "regex" in book.loc["komentar", "note"] and book.loc["komentar", "valid_min"] == ""
    assert book.loc["total", "type"] == "text" and "calculated" in book.loc["total", "note"]
    # notes and repeats have no rows; the repeat is named in a note
    assert not {"intro", "nama_anggota", "anggota"} & set(book.index)
    assert "repeat anggota" in " ".join(book["note"])


def test_choices_become_categories_recodes_and_missing_codes(form: Path) -> None:
    book = one_form(form)
    assert (book.loc["punya", "type"], book.loc["punya", "categories"]) == ("category", "0;1")
    recode = dict(p.split("=") for p in book.loc["punya", "recode"].split("; "))
    assert recode["ya"] == recode["Yes"] == "1" and recode["tidak"] == recode["No"] == "0"
    assert book.loc["punya", "missing_codes"] == "tidak_tahu=dont_know"
    # other answers keep their value; labels read to it, so a labelled export reads the same
    assert book.loc["jk", "categories"] == "1;2"
    assert "Perempuan=2" in book.loc["jk", "recode"] and "Male=1" in book.loc["jk", "recode"]
    assert (book.loc["aset", "type"], book.loc["aset", "categories"]) == ("select_multiple", "tv;motor")


def test_personal_questions_are_marked(form: Path) -> None:
    book = one_form(form)
    personal = set(book.index[book["pii"] == "yes"])
    # by name (nama, nik), the pii column, a hint saying pii, and the geopoint with its parts
    assert {"nama", "nik", "panggilan", "catatan", "gps", "gps_latitude", "gps_precision"} <= personal
    assert not {"hhid", "jml_art", "omzet", "komentar"} & personal
    assert book.loc["nik", "type"] == "id"  # pseudonymized, not dropped
    assert (book.loc["gps_latitude", "role"], book.loc["gps_longitude", "role"]) == (
        "gps_latitude",
        "gps_longitude",
    )
    assert book.loc["gps_latitude", "source_baseline"] == "_gps_latitude"  # as Kobo exports it


def test_sources_follow_the_export_and_metadata_get_rows(form: Path) -> None:
    # an ODK export: group-question, geopoint parts as gps-Latitude; plus a dummy and metadata
    columns = [
        "start", "hh-hhid", "hh-jml_art", "hh-luas", "hh-usaha-punya", "hh-usaha-omzet", "resp-nama",
        "resp-nik", "resp-panggilan", "resp-catatan", "resp-aset", "resp-aset-tv", "resp-aset-motor",
        "resp-jk", "gps", "gps-Latitude", "gps-Longitude", "gps-Altitude", "gps-Accuracy", "total",
        "komentar", "KEY", "SubmissionDate", "enumerator_note",
    ]  # fmt: skip
    book = one_form(form, {r: columns for r in ROUNDS})
    assert book.loc["punya", "source_baseline"] == "hh-usaha-punya"
    assert book.loc["gps_latitude", "source_followup"] == "gps-Latitude"
    assert book.loc["aset", "source_baseline"] == "resp-aset"
    sources = set(book["source_baseline"])
    assert "resp-aset-tv" not in sources  # dummies belong to their question
    assert (book.loc["key", "role"], book.loc["submissiondate", "role"]) == (
        "submission_id",
        "submission_time",
    )
    assert "not in the form" in book.loc["enumerator_note", "note"]
    assert book.loc["key", "type"] == "id"
    # every export column is read by exactly one row or is a dummy
    assert sources == set(columns) - {"resp-aset-tv", "resp-aset-motor"}


def test_a_question_missing_from_the_export_is_noted(form: Path) -> None:
    book = one_form(form, {r: ["hh/hhid"] for r in ROUNDS})
    assert book.loc["jml_art", "source_baseline"] == ""
    assert "not in the baseline export" in book.loc["jml_art", "note"]


def test_two_forms_merge_by_berdaya_name_question_name_and_label(tmp_path: Path) -> None:
    header = ("type", "name", ID, EN, "berdaya::name", "berdaya::role")
    baseline = write_form(
        tmp_path / "b.xlsx",
        [
            ("begin_group", "hh"),
            ("text", "hhid", "ID", "Household id", "hhid", "household_id"),
            ("integer", "anak", "Anak", "Children"),
            ("integer", "dewasa", "Dewasa", "Adults"),
            ("integer", "sawah", "Luas sawah", "Rice field"),
            ("end_group",),
        ],
        header=header,
    )
    followup = write_form(
        tmp_path / "f.xlsx",
        [
            ("begin_group", "rt"),
            ("text", "id_rt", "ID", "Household id", "hhid", "household_id"),  # berdaya::name
            ("decimal", "anak", "Anak", "Children"),  # question name (group renamed, type changed)
            ("integer", "art_dewasa", "Dewasa", "Adults"),  # the label only
            ("integer", "ternak", "Ternak", "Livestock"),  # new
            ("integer", "kebun", "Luas kebun", "Garden"),  # new
            ("end_group",),
        ],
        header=header,
    )
    forms = {"baseline": read_xlsform(baseline), "followup": read_xlsform(followup)}
    book = codebook_from_xlsforms(forms)
    pairs = list(zip(book["source_baseline"], book["source_followup"], strict=True))
    assert pairs == [
        ("hh/hhid", "rt/id_rt"),
        ("hh/anak", "rt/anak"),
        ("hh/dewasa", "rt/art_dewasa"),
        ("", "rt/ternak"),  # follow-up questions come after the row before them
        ("", "rt/kebun"),
        ("hh/sawah", ""),
    ]
    rows = book.set_index("name")
    assert rows.loc["hhid", "type"] == "id"  # the role of a code
    assert "label" in rows.loc["dewasa", "note"]
    assert "decimal" not in rows.loc["anak", "note"] and "number in the follow-up" in rows.loc["anak", "note"]
    assert rows.loc["hhid", "note"] == ""


def test_written_codebook_reads_back(form: Path, tmp_path: Path) -> None:
    frame = one_form(form).reset_index()
    path = write_codebook(frame, tmp_path / "codebook.csv")
    codebook = read_codebook(path)
    assert [v.name for v in codebook.variables] == frame["name"].tolist()
    assert codebook.get("punya").recode["tidak"] == "0" and codebook.get("punya").missing_codes == {
        "tidak_tahu": "dont_know"
    }


@pytest.mark.parametrize(
    ("survey", "choices", "message"),
    [
        ([("select_one nope", "q", "Q")], [("yn", "ya", "Ya", "Yes")], "sheet survey row 2 column type:"),
        ([("begin_group", "g", "G"), ("text", "q", "Q")], [], "sheet survey row 2: group g is opened"),
        ([("end_group",)], [], "closes no open group"),
        ([("text", "", "Q")], [], "row 2 column name: a text question has no name"),
    ],
)
def test_malformed_forms_are_one_line(tmp_path: Path, survey, choices, message: str) -> None:
    path = write_form(tmp_path / "bad.xlsx", survey, choices)
    with pytest.raises(InputError, match=message) as caught:
        read_xlsform(path)
    assert "\n" not in str(caught.value) and str(caught.value).startswith("bad.xlsx")


def test_an_unknown_berdaya_column_and_a_workbook_without_survey(tmp_path: Path) -> None:
    path = write_form(tmp_path / "x.xlsx", [("text", "q")], header=("type", "name", "berdaya::famly"))
    with pytest.raises(InputError, match="column berdaya::famly: `famly` is not a codebook column"):
        read_xlsform(path)
    book = openpyxl.Workbook()
    book.active.title = "data"
    book.active.append(["a"])
    book.active.append(["1"])
    book.save(tmp_path / "export.xlsx")
    assert not is_xlsform(tmp_path / "export.xlsx") and is_xlsform(DEMO_DIR / "form_baseline_2023.xlsx")
    with pytest.raises(InputError, match="is not an XLSForm: it has no survey sheet"):
        read_xlsform(tmp_path / "export.xlsx")


#: Where the codebook built from the shipped forms may differ from the hand-written one, and why:
#: the form knows the geopoint's parts are coordinates (roles for the GPS checks, read as numbers);
#: export metadata (`_uuid`, `_index`) are not in a form and get the template's names and types;
#: the recode also holds the answers' labels (`Yes=1`), which these exports never hold.
FORM_EXTRAS = {"gps_latitude", "gps_longitude"}


def test_the_shipped_forms_rebuild_the_hand_written_codebook() -> None:
    study = load_study(DEMO_DIR / "study.yml")
    hand = read_codebook(DEMO_DIR / "codebook.csv")
    forms = {
        "baseline": read_xlsform(DEMO_DIR / "form_baseline_2023.xlsx"),
        "followup": read_xlsform(DEMO_DIR / "form_followup_2025.xlsx"),
    }
    columns = {r: list(read_table(study.rounds[r].file).frame.columns) for r in ROUNDS}
    frame = codebook_from_xlsforms(forms, columns=columns)
    built = {v.sources.get("baseline") or v.sources["followup"]: v for v in _read(frame).variables}
    assert len(built) == len(hand.variables)
    for expected in hand.variables:
        got = built[expected.sources.get("baseline") or expected.sources["followup"]]
        assert got.sources == expected.sources, expected.name
        if expected.name in FORM_EXTRAS:
            assert got.pii and got.role == expected.name
            continue
        if expected.sources.get("baseline", "").startswith("_"):  # export metadata: not in the forms
            assert got.pii == expected.pii, expected.name
            continue
        assert got.name == expected.name
        assert (got.label_id, got.label_en) == (expected.label_id, expected.label_en)
        assert (got.type, got.categories, got.valid_min, got.valid_max) == (
            expected.type,
            expected.categories,
            expected.valid_min,
            expected.valid_max,
        ), expected.name
        assert (got.family, got.direction, got.pii, got.missing_codes, got.unit) == (
            expected.family,
            expected.direction,
            expected.pii,
            expected.missing_codes,
            expected.unit,
        ), expected.name
        assert got.role == expected.role, expected.name
        assert expected.recode.items() <= got.recode.items(), expected.name


def _read(frame: pd.DataFrame):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return read_codebook(write_codebook(frame, Path(folder) / "codebook.csv"))


def test_a_plain_label_is_in_the_default_language(tmp_path: Path) -> None:
    header = ("type", "name", "label", "label::Bahasa Indonesia")
    path = write_form(
        tmp_path / "f.xlsx",
        [("integer", "q", "Household size", "Jumlah anggota")],
        header=header,
        settings={"default_language": "English (en)"},
    )
    book = one_form(path)
    assert (book.loc["q", "label_en"], book.loc["q", "label_id"]) == ("Household size", "Jumlah anggota")


def test_codebook_command_from_the_shipped_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.run.cli import main

    forms = [f"{r}={DEMO_DIR / name}" for r, name in zip(ROUNDS, FORM_FILES, strict=True)]
    out = tmp_path / "codebook.csv"
    argv = ["codebook", str(DEMO_DIR / "study.yml"), "--out", str(out)]
    assert main([*argv, "--from-xlsform", forms[0], "--from-xlsform", forms[1]]) == 0
    assert "with a `# check` note" in capsys.readouterr().out
    built = read_codebook(out)
    assert built.get("income_wage").sources == {
        "baseline": "pendapatan/upah",
        "followup": "penghasilan/gaji_upah",
    }
    assert (
        main(
            [*argv[:-1], str(tmp_path / "other.csv"), "--from-xlsform", forms[0], "--from-xlsform", forms[0]]
        )
        == 2
    )
    assert "names baseline twice" in capsys.readouterr().err
