"""The study file for many rounds, one long file, repeated cross-sections and rollout (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from analysis.config import ROUNDS
from analysis.errors import InputError, StudyError
from analysis.estimate.staggered import ControlGroup
from analysis.inputs.study import (
    RolloutControls,
    check_run_supported,
    load_study,
    order_long_rounds,
    rollout_cohorts,
    with_round_order,
)
from analysis.run import cli

TWO_ROUNDS = """\
rounds: {baseline: baseline.csv, followup: followup.csv}
id: hhid
treatment: treat
village: village
outcomes:
  - {name: income, family: income}
"""

THREE_ROUNDS = """\
rounds:
  baseline: {file: baseline.csv, year: 2021, cpi: 100}
  midline: midline.csv
  endline: {file: endline.csv, year: 2025}
id: hhid
treatment: treat
village: village
outcomes:
  - {name: income, family: income}
  - {name: savings, column: {midline: sav_m, endline: sav_e}}
"""

LONG = """\
rounds: {file: survey.csv, column: period}
treatment: treat
village: village
outcomes:
  - {name: income, column: inc}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("baseline", "midline", "endline", "followup"):
        (tmp_path / f"{name}.csv").write_text("hhid,treat,village,income\n1,1,a,10\n")
    (tmp_path / "survey.csv").write_text("period,treat,village,inc\n2019,1,a,10\n2020,1,a,12\n")
    return tmp_path


def load(folder: Path, text: str):
    (folder / "study.yml").write_text(text)
    return load_study(folder / "study.yml")


def problem(folder: Path, text: str) -> str:
    (folder / "study.yml").write_text(text)
    with pytest.raises(StudyError) as caught:
        load_study(folder / "study.yml")
    return str(caught.value)


# --------------------------------------------------------------------------------------------
# The design each shape is read as


def test_a_two_round_study_is_read_as_before(folder: Path) -> None:
    # The rounds written follow-up first: baseline is still the reference round.
    study = load(
        folder,
        TWO_ROUNDS.replace(
            "{baseline: baseline.csv, followup: followup.csv}",
            "{followup: followup.csv, baseline: baseline.csv}",
        ),
    )
    design = study.round_design
    assert (design.kind, design.round_order, design.reference_round) == (
        "two_round_panel",
        ROUNDS,
        "baseline",
    )
    assert (study.id, study.treatment) == ("hhid", "treat")
    assert study.outcomes[0].columns == {r: "income" for r in ROUNDS}
    assert design.long_file is None and design.rollout_column is None


def test_any_number_of_rounds_in_order(folder: Path) -> None:
    study = load(folder, THREE_ROUNDS)
    design = study.round_design
    assert design.kind == "panel"
    assert design.round_order == ("baseline", "midline", "endline") == tuple(study.rounds)
    assert design.reference_round == "baseline"
    assert (study.rounds["baseline"].year, study.rounds["baseline"].cpi) == (2021, 100.0)
    assert study.rounds["midline"].file == (folder / "midline.csv").resolve()
    income, savings = study.outcomes
    assert income.columns == {"baseline": "income", "midline": "income", "endline": "income"}
    assert (income.column, savings.column) == ("income", None)
    assert savings.columns == {"midline": "sav_m", "endline": "sav_e"}
    assert "panel of 3 rounds (baseline, midline, endline)" in design.describe()


def test_the_poverty_line_comes_from_the_first_rounds_year(folder: Path) -> None:
    text = THREE_ROUNDS.replace("baseline: {file: baseline.csv, year: 2021, cpi: 100}", "start: baseline.csv")
    message = problem(folder, text + "income: {poverty_line: bps}\n")
    assert "`income.poverty_line: bps` needs `rounds.start.year`" in message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace("{midline: sav_m,", "{midlne: sav_m,"),
            "`outcomes[savings].column.midlne` is not a round (did you mean "
            "`outcomes[savings].column.midline`?): the rounds are baseline, midline, endline",
        ),
        (
            lambda t: t + "fieldwork: {endlin: [2025-02-01, 2025-03-01]}\n",
            "`fieldwork.endlin` is not a round (did you mean `fieldwork.endline`?)",
        ),
        (
            lambda t: t.replace("  midline: midline.csv\n  endline: {file: endline.csv, year: 2025}\n", ""),
            "`rounds` names 1 round: a study needs at least two",
        ),
        (
            lambda t: t.replace("midline: midline.csv", "mid line: midline.csv"),
            "`rounds.mid line`: a round name",
        ),
        (
            lambda t: t.replace("midline: midline.csv", "colum: midline.csv"),
            "`rounds.colum` is not a round (did you mean `rounds.column`?)",
        ),
    ],
)
def test_round_names_are_checked_with_a_suggestion(folder: Path, edit, expected: str) -> None:
    assert expected in problem(folder, edit(THREE_ROUNDS))


def test_names_near_baseline_are_rounds_when_followup_is_not_misspelt(folder: Path) -> None:
    # Only a near miss of the one canonical round that is missing is a typo: midline and
    # endline are rounds of their own, and so are names unlike both.
    for names in (("baseline", "midline", "endline"), ("pre", "post"), ("base", "mid", "end")):
        text = TWO_ROUNDS.replace(
            "{baseline: baseline.csv, followup: followup.csv}",
            "{" + ", ".join(f"{n}: baseline.csv" for n in names) + "}",
        )
        assert load(folder, text).round_design.round_order == names


# --------------------------------------------------------------------------------------------
# One long file with a round column


def test_one_long_file_without_id_is_a_repeated_cross_section(folder: Path) -> None:
    study = load(folder, LONG)
    design = study.round_design
    assert design.kind == "repeated_cross_section" and study.id == ""
    assert design.long_file is not None and design.long_file.file == (folder / "survey.csv").resolve()
    assert (design.round_column, design.round_order, design.reference_round) == ("period", (), None)
    assert study.rounds == {} and study.outcomes[0].column == "inc"
    assert study.input_files().count((folder / "survey.csv").resolve()) == 1
    assert "repeated cross-section" in design.describe()


def test_one_long_file_with_order_knows_its_rounds(folder: Path) -> None:
    study = load(
        folder, "id: hhid\n" + LONG.replace("column: period}", "column: period, order: [2019, 2020]}")
    )
    assert study.round_design.kind == "panel"
    assert tuple(study.rounds) == ("2019", "2020") == study.round_design.round_order
    assert {spec.file for spec in study.rounds.values()} == {(folder / "survey.csv").resolve()}
    assert study.outcomes[0].columns == {"2019": "inc", "2020": "inc"}
    assert study.input_files().count((folder / "survey.csv").resolve()) == 1


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda t: t.replace("column: period", "colum: period"),
            "`rounds.colum` is not a study key (did you mean `rounds.column`?)",
        ),
        (lambda t: t.replace(", column: period", ""), "the key `rounds.column` is required"),
        (
            lambda t: t.replace("column: period}", "column: period, order: [a, b, a]}"),
            "`rounds.order` lists a twice: list each round once",
        ),
        (
            lambda t: t.replace("column: inc}", "column: {a: x, b: y}}"),
            "`outcomes[income].column` names a "
            "column per round, but one file holds every round: give one column",
        ),
        (
            lambda t: t.replace("column: period}", "column: period, sheet: one}"),
            "`rounds.sheet` is set but survey.csv is a CSV file",
        ),
        (
            lambda t: (
                t.replace("column: period}", "column: period, order: [a, b]}")
                + "fieldwork: {c: [2025-02-01, 2025-03-01]}\n"
            ),
            "`fieldwork.c` is not a round: the rounds are a, b",
        ),
    ],
)
def test_a_long_file_is_checked(folder: Path, edit, expected: str) -> None:
    assert expected in problem(folder, edit(LONG))


def test_the_rounds_of_a_long_file_order_numerically(folder: Path) -> None:
    values = pd.Series(["10", "2", " 2 ", "2.0", "1"])
    names, order = order_long_rounds(values, column="period")
    assert order == ("1", "2", "10")
    assert names.tolist() == ["10", "2", "2", "2", "1"]
    years = pd.Series([2020.0, 2019.0])
    assert order_long_rounds(years, column="year")[1] == ("2019", "2020")


def test_text_rounds_follow_order(folder: Path) -> None:
    values = pd.Series(["post", "pre", "mid", "pre"])
    names, order = order_long_rounds(values, column="period", order=["pre", "mid", "post"])
    assert order == ("pre", "mid", "post") and names.tolist() == ["post", "pre", "mid", "pre"]
    # `order` decides for numbers too (a fiscal year written as 1, 2 ... need not start at 1).
    assert order_long_rounds(pd.Series([1, 2]), column="q", order=[2, 1])[1] == ("2", "1")


@pytest.mark.parametrize(
    ("values", "order", "expected"),
    [
        (
            ["pre", "post"],
            (),
            "the rounds (post, pre) are not numbers, so their order is not known: list "
            "them first to last in `rounds.order`",
        ),
        (["pre", "post", "mid"], ("pre", "post"), "the column holds mid, which `rounds.order` does not list"),
        (
            ["pre", "post"],
            ("pre", "pots"),
            "`rounds.order` lists pots, which the column does not hold (did you mean `post`?)",
        ),
        (["pre", "post"], ("pre", "post", "pre"), "`rounds.order` lists pre twice"),
        (["2019", "2019"], (), "holds one round (2019): a study needs at least two"),
        (["2019", "", None, "2020"], (), "survey.csv rows 3, 4 column period: the round is empty"),
    ],
)
def test_a_round_column_that_cannot_be_ordered_is_one_line(values, order, expected: str) -> None:
    with pytest.raises(InputError) as caught:
        order_long_rounds(pd.Series(values, dtype=object), column="period", order=order, file="survey.csv")
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert message.startswith("survey.csv") and "column period" in message


def test_with_round_order_fills_in_the_rounds_of_a_long_file(folder: Path) -> None:
    study = load(folder, LONG)
    names, order = order_long_rounds(pd.read_csv(folder / "survey.csv")["period"], column="period")
    known = with_round_order(study, order)
    assert tuple(known.rounds) == ("2019", "2020") == known.round_design.round_order
    assert known.round_design.reference_round == "2019"
    assert known.outcomes[0].columns == {"2019": "inc", "2020": "inc"}
    three = load(folder, THREE_ROUNDS)
    assert with_round_order(three, ("baseline", "midline", "endline")) is three
    with pytest.raises(ValueError, match="not"):
        with_round_order(three, ("midline", "baseline", "endline"))


# --------------------------------------------------------------------------------------------
# Rollout timing


def test_rollout_names_the_first_treated_round(folder: Path) -> None:
    text = THREE_ROUNDS.replace("treatment: treat\n", "rollout: first_round\n")
    study = load(folder, text)
    design = study.round_design
    assert (design.rollout_column, design.controls, study.treatment) == ("first_round", "never_treated", "")
    assert "rollout timing from column first_round" in design.describe()
    text = THREE_ROUNDS.replace("treatment: treat\n", "rollout: {column: wave, controls: not_yet_treated}\n")
    assert load(folder, text).round_design.controls == "not_yet_treated"
    # Two rounds with a rollout are a panel too: the two-round stages read `treatment`.
    assert load(folder, TWO_ROUNDS.replace("treatment: treat\n", "rollout: w\n")).round_design.kind == "panel"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("treatment: treat\n", ""), "the key `treatment` is required (or `rollout`)"),
        (lambda t: t + "rollout: wave\n", "`treatment` and `rollout` both give the programme's timing"),
        (
            lambda t: t.replace("treatment: treat\n", "rollout: {column: w, controls: not_yet}\n"),
            "`rollout.controls` is 'not_yet', expecting one of never_treated, not_yet_treated "
            "(did you mean `not_yet_treated`?)",
        ),
        (
            lambda t: t.replace("treatment: treat\n", "rolout: w\n"),
            "`rolout` is not a study key (did you mean `rollout`?)",
        ),
        (
            lambda t: t.replace("treatment: treat\n", "rollout: {colunm: w}\n"),
            "`rollout.colunm` is not a study key (did you mean `rollout.column`?)",
        ),
    ],
)
def test_rollout_is_checked(folder: Path, edit, expected: str) -> None:
    message = problem(folder, edit(THREE_ROUNDS))
    assert expected in message
    assert "treatment` is required" not in message or "rolout" not in message


def test_rollout_values_become_cohorts() -> None:
    values = pd.Series(["midline", "", None, "endline", " midline "], dtype=object)
    cohorts = rollout_cohorts(values, column="first_round", round_order=("baseline", "midline", "endline"))
    assert cohorts.tolist()[:1] + cohorts.tolist()[3:] == [2.0, 3.0, 2.0]
    assert cohorts.iloc[1:3].isna().all()
    # Rounds named by numbers (a long file's years) take the number, written either way.
    years = rollout_cohorts(
        pd.Series([2020.0, np.nan, 2021]), column="w", round_order=("2019", "2020", "2021")
    )
    assert years.iloc[[0, 2]].tolist() == [2.0, 3.0] and np.isnan(years.iloc[1])


def test_a_rollout_value_that_is_not_a_round_is_one_line() -> None:
    values = pd.Series(["midline", "midlin", ""], dtype=object)
    with pytest.raises(InputError) as caught:
        rollout_cohorts(
            values, column="first_round", round_order=("baseline", "midline"), file="villages.csv"
        )
    assert str(caught.value) == (
        "villages.csv row 3 column first_round: midlin is not a round (did you mean `midline`?): the first "
        "treated round must be one of baseline, midline, or empty for never treated"
    )


def test_the_rollout_controls_are_the_estimators(folder: Path) -> None:
    assert get_args(RolloutControls) == get_args(ControlGroup)


# --------------------------------------------------------------------------------------------
# `berdaya run` runs every design but one, and stops on that one in one line


@pytest.mark.parametrize(
    "text",
    [
        THREE_ROUNDS,
        LONG,
        TWO_ROUNDS.replace("id: hhid\n", ""),
        TWO_ROUNDS.replace("treatment: treat\n", "rollout: wave\n"),
    ],
)
def test_berdaya_run_accepts_more_rounds_one_long_file_no_id_and_a_rollout(folder: Path, text: str) -> None:
    (folder / "study.yml").write_text(text)
    check_run_supported(load_study(folder / "study.yml"))  # no StudyError


def test_berdaya_run_stops_on_a_rollout_without_id_before_any_work(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = TWO_ROUNDS.replace("id: hhid\n", "").replace("treatment: treat\n", "rollout: wave\n")
    (folder / "study.yml").write_text(text)
    before = sorted(p.name for p in folder.iterdir())
    out = folder / "out"
    assert cli.main(["run", str(folder / "study.yml"), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: study.yml: ")
    assert (
        "read as a repeated cross-section (no `id`) of 2 rounds (baseline, followup), rollout timing"
        in lines[0]
    )
    assert "does not analyse a rollout in a repeated cross-section yet (issue 13)" in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists() and sorted(p.name for p in folder.iterdir()) == before
