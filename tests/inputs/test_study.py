"""The study file: the minimal form, richer keys, and clear errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from analysis.errors import StudyError
from analysis.inputs.study import QualityOptions, Study, is_safe_identifier, load_study, slug

MINIMAL = """
name: Example study
rounds: {baseline: baseline.csv, followup: followup.csv}
id: hhid
treatment: treat
village: village
cluster: village
outcomes:
  - {name: income, column: income, family: income}
  - {name: participation, column: got, family: participation}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "baseline.csv").write_text("hhid,treat,village,income\n1,1,a,10\n")
    (tmp_path / "followup.csv").write_text("hhid,treat,village,income,got\n1,1,a,12,1\n")
    return tmp_path


def test_minimal_study(folder: Path) -> None:
    (folder / "study.yml").write_text(MINIMAL)
    study = load_study(folder / "study.yml")
    assert study.name == "Example study"
    assert study.rounds["baseline"].file == (folder / "baseline.csv").resolve()
    assert study.cluster_column == "village"
    assert [o.name for o in study.outcomes] == ["income", "participation"]
    assert study.outcomes[1].columns == {"baseline": "got", "followup": "got"}
    assert study.number_style == "plain"  # no codebook: plain numbers
    assert study.codebook is None and study.villages is None


def test_column_may_differ_between_rounds(folder: Path) -> None:
    text = MINIMAL.replace("column: income,", "column: {baseline: inc_bl, followup: inc_fu},")
    (folder / "study.yml").write_text(text)
    assert load_study(folder / "study.yml").outcomes[0].columns == {
        "baseline": "inc_bl",
        "followup": "inc_fu",
    }


def test_cluster_defaults_to_village_and_can_be_absent(folder: Path) -> None:
    text = MINIMAL.replace("village: village\ncluster: village\n", "")
    (folder / "study.yml").write_text(text)
    study = load_study(folder / "study.yml")
    assert study.village is None and study.cluster_column is None


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("treatment: treat\n", ""), r"`treatment` is required \(or `rollout`\)"),
        (lambda t: t.replace("baseline.csv", "nope.csv"), "nope.csv, which does not exist"),
        (lambda t: t + "min_cell: 3\n", "may not be below 5"),
        (lambda t: t + "language: fr\n", "expecting one of id, en"),
        (
            lambda t: t.replace("followup: followup.csv", "follow-up: followup.csv"),
            "did you mean `rounds.followup`",
        ),
        (lambda t: t + "  - {name: income}\n", "outcome names repeat: income"),
        (lambda t: t + "outcomes: [\n", "line"),
    ],
)
def test_errors_name_the_problem(folder: Path, edit, message: str) -> None:
    (folder / "study.yml").write_text(edit(MINIMAL))
    with pytest.raises(StudyError, match=message):
        load_study(folder / "study.yml")


SETTINGS = """\
description: A note for whoever reads the file
labels: {income: Pendapatan}
quality: {min_minutes: 5, outlier_iqr: null, escalate: [too_short, outlier]}
fieldwork: {baseline: [2023-02-01, '2023-03-31'], followup: }
gps: village
new_households: quarantine
"""


def test_cleaning_settings_are_typed_fields(folder: Path) -> None:
    (folder / "study.yml").write_text(MINIMAL + SETTINGS)
    study = load_study(folder / "study.yml")
    # `null` turns the outlier rule off; a quoted day is read like an unquoted one; a round left
    # empty has no window.
    assert study.quality == QualityOptions(
        min_minutes=5.0, outlier_iqr=None, escalate=("too_short", "outlier")
    )
    assert study.fieldwork == {"baseline": (dt.date(2023, 2, 1), dt.date(2023, 3, 31))}
    assert (study.gps, study.new_households) == ("village", "quarantine")
    # Notes nobody reads are checked but not carried, and there is no untyped bag of settings.
    fields = {f.name for f in dataclasses.fields(Study)}
    assert not {"extra", "description", "labels"} & fields


def test_cleaning_settings_left_out_take_their_defaults(folder: Path) -> None:
    (folder / "study.yml").write_text(MINIMAL + "quality: {min_minutes: 20}\n")
    partial = load_study(folder / "study.yml")
    (folder / "study.yml").write_text(MINIMAL)
    study = load_study(folder / "study.yml")
    defaults = {f.name: f.default for f in dataclasses.fields(QualityOptions)}
    assert study.quality == QualityOptions(**defaults) and defaults["min_minutes"] is not None
    assert partial.quality == QualityOptions(**{**defaults, "min_minutes": 20.0})
    assert study.fieldwork == {}
    assert (study.gps, study.new_households) == ("drop", "keep")


def test_missing_study_file(tmp_path: Path) -> None:
    with pytest.raises(StudyError, match="does not exist"):
        load_study(tmp_path / "absent.yml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0712", "0712"),
        ("../../etc/passwd", "etc_passwd"),
        ("<script>alert(1)</script>", "script_alert_1_script"),
        ('Sukamaju "Barat"\n', "Sukamaju_Barat"),
        ("", "unnamed"),
    ],
)
def test_slug_is_a_safe_file_name(text: str, expected: str) -> None:
    assert slug(text) == expected


def test_parameter_names_are_allow_listed() -> None:
    assert is_safe_identifier("village")
    assert not is_safe_identifier("x\nimport os")
    assert not is_safe_identifier("1abc")
