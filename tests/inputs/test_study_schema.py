"""The study-file schema: every key typed, unknown keys refused, every problem reported at once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis import config
from analysis.errors import StudyError
from analysis.inputs.study import (
    _ROUND,
    FLAG_KINDS,
    SCHEMA,
    GpsRule,
    NewHouseholds,
    QualityOptions,
    load_study,
)
from analysis.run import cli

MINIMAL = """\
rounds: {baseline: baseline.csv, followup: followup.csv}
id: hhid
treatment: treat
outcomes:
  - {name: income, family: income}
  - {name: debt, family: life, direction: -1}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "baseline.csv").write_text("hhid,treat,income,debt\n1,1,10,0\n")
    (tmp_path / "followup.csv").write_text("hhid,treat,income,debt\n1,1,12,1\n")
    return tmp_path


def problem(folder: Path, text: str) -> str:
    """The one-line message load_study raises for ``text``."""
    (folder / "study.yml").write_text(text)
    with pytest.raises(StudyError) as caught:
        load_study(folder / "study.yml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("study.yml: ")
    return message


# --------------------------------------------------------------------------------------------
# Wrong types: one line naming the key and what it expects


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t + "min_cell: ten\n", "`min_cell` is 'ten', expecting a whole number of 5 or more"),
        (lambda t: t + "min_cell: 4\n", "`min_cell` is 4, expecting a whole number of 5 or more"),
        (lambda t: t + "seed: abc\n", "`seed` is 'abc', expecting a whole number of 0 or more"),
        (lambda t: t + "seed: -1\n", "`seed` is -1, expecting a whole number of 0 or more"),
        (lambda t: t + "seed: 4.5\n", "`seed` is 4.5, expecting a whole number"),
        (
            lambda t: t.replace("baseline: baseline.csv", "baseline: {file: baseline.csv, year: twenty}"),
            "`rounds.baseline.year` is 'twenty', expecting a whole number such as 2023",
        ),
        (
            lambda t: t.replace("followup: followup.csv", "followup: {file: followup.csv, cpi: high}"),
            "`rounds.followup.cpi` is 'high', expecting a positive number",
        ),
        (
            lambda t: t.replace("direction: -1", "direction: up"),
            "`outcomes[debt].direction` is 'up', expecting 1 (higher is better) or -1 (lower is better)",
        ),
        (
            lambda t: t.replace("family: income}", "family: income, index: maybe}"),
            "`outcomes[income].index` is 'maybe', expecting true or false",
        ),
        (lambda t: t + "romano_wolf: yes please\n", "`romano_wolf` is 'yes please', expecting true or false"),
        (lambda t: t + "women_subsample: 1\n", "`women_subsample` is 1, expecting true or false"),
        (lambda t: t + "language: english\n", "`language` is 'english', expecting one of id, en"),
        (
            lambda t: t + "vcov: cr1\n",
            "`vcov` is 'cr1', expecting one of auto, CR1, HC1, iid (did you mean `CR1`?)",
        ),
        (lambda t: t + "number_style: dots\n", "`number_style` is 'dots', expecting one of id, plain"),
        (lambda t: t + "gps: jitter\n", "`gps` is 'jitter', expecting one of drop, village"),
        (
            lambda t: t + "gps: vilage\n",
            "`gps` is 'vilage', expecting one of drop, village (did you mean `village`?)",
        ),
        (lambda t: t + "gps: [drop]\n", "`gps` is ['drop'], expecting one of drop, village"),
        (
            lambda t: t + "new_households: drop\n",
            "`new_households` is 'drop', expecting one of keep, quarantine",
        ),
        (
            lambda t: t + "new_households: quarantined\n",
            "`new_households` is 'quarantined', expecting one of keep, quarantine "
            "(did you mean `quarantine`?)",
        ),
        (lambda t: t + "power: {alpha: 5}\n", "`power.alpha` is 5, expecting a number between 0 and 1"),
        (
            lambda t: t + "power: 0.8\n",
            "`power` is 0.8, expecting a mapping such as {alpha: 0.05, power: 0.8}",
        ),
        (lambda t: t + "income: {winsor_quantile: 99}\n", "`income.winsor_quantile` is 99"),
        (
            lambda t: t + "lee_bounds_reps: 0\n",
            "`lee_bounds_reps` is 0, expecting a whole number of 1 or more",
        ),
        (
            lambda t: t + "quality: {min_minutes: ten}\n",
            "`quality.min_minutes` is 'ten', expecting a positive",
        ),
        (
            lambda t: t + "quality: {escalate: [too_short:10min]}\n",
            "`quality.escalate[1]` is 'too_short:10min', expecting one of end_before_start, too_short",
        ),
        (
            lambda t: t + "quality: {escalate: [outliers]}\n",
            "`quality.escalate[1]` is 'outliers', expecting one of end_before_start, too_short, "
            "outside_fieldwork_window, outlier, possible_missing_code (did you mean `outlier`?)",
        ),
        (
            lambda t: t + "quality: {outlier_iqr: 0}\n",
            "`quality.outlier_iqr` is 0, expecting a positive number, or null to turn the rule off",
        ),
        (
            lambda t: t + "quality: {min_minutes: true}\n",
            "`quality.min_minutes` is True, expecting a positive number of minutes",
        ),
        (lambda t: t + "quality: strict\n", "`quality` is 'strict', expecting a mapping"),
        (
            lambda t: t + "fieldwork: {baseline: [2023-13-01, 2023-03-31]}\n",
            "`fieldwork.baseline` is ['2023-13-01', datetime.date(2023, 3, 31)], expecting [first day, last day]",
        ),
        (
            lambda t: t + "fieldwork: {baseline: [2023-03-31, 2023-03-01]}\n",
            "`fieldwork.baseline` ends (2023-03-01) before it starts (2023-03-31): swap the two days",
        ),
        (lambda t: t + "covariates: {a: 1}\n", "`covariates` is {'a': 1}, expecting a list of column names"),
        (lambda t: t + "labels: [a, b]\n", "`labels` is ['a', 'b'], expecting a mapping of names to labels"),
        (lambda t: t + "description: [a]\n", "`description` is ['a'], expecting text"),
        (lambda t: t + "codebook: .\n", "`codebook` names ., which is a folder, not a file"),
    ],
)
def test_a_wrong_type_names_the_key_and_what_it_expects(folder: Path, edit, expected: str) -> None:
    assert expected in problem(folder, edit(MINIMAL))


def test_a_sheet_on_a_csv_round_is_refused(folder: Path) -> None:
    text = MINIMAL.replace("baseline: baseline.csv", "baseline: {file: baseline.csv, sheet: Sheet1}")
    assert problem(folder, text) == (
        "study.yml: `rounds.baseline.sheet` is set but baseline.csv is a CSV file, which has no sheets: "
        "remove `sheet`"
    )


def test_quoted_and_whole_float_numbers_are_still_read(folder: Path) -> None:
    (folder / "study.yml").write_text(MINIMAL + "seed: '42'\nmin_cell: 20.0\n")
    study = load_study(folder / "study.yml")
    assert (study.seed, study.min_cell) == (42, 20)


def test_a_study_file_that_is_not_utf8_is_one_line(folder: Path) -> None:
    (folder / "study.yml").write_bytes(MINIMAL.encode() + "name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(
        StudyError, match=r"^study\.yml: not UTF-8 text \(byte \d+\); save the file as UTF-8$"
    ):
        load_study(folder / "study.yml")


# --------------------------------------------------------------------------------------------
# Unknown keys: refused with a did-you-mean at every level


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t + "min_cel: 50\n", "`min_cel` is not a study key (did you mean `min_cell`?)"),
        (
            lambda t: t + "pii_colums: [phone]\n",
            "`pii_colums` is not a study key (did you mean `pii_columns`?)",
        ),
        (
            lambda t: t.replace("baseline: baseline.csv", "baseline: {file: baseline.csv, yaer: 2023}"),
            "`rounds.baseline.yaer` is not a study key (did you mean `rounds.baseline.year`?)",
        ),
        (
            lambda t: t.replace("followup: followup.csv", "folowup: followup.csv"),
            "`rounds.folowup` is not a round (did you mean `rounds.followup`?): name the rounds "
            "baseline and followup, list every round in order",
        ),
        (
            lambda t: t.replace("{name: income, family: income}", "{name: income, familly: income}"),
            "`outcomes[income].familly` is not a study key (did you mean `outcomes[income].family`?)",
        ),
        (
            lambda t: t.replace(
                "{name: income, family: income}", "{name: income, column: {baseline: a, endline: b}}"
            ),
            "`outcomes[income].column.endline` is not a round",
        ),
        (
            lambda t: t.replace("{name: income, family: income}", "{nme: income}"),
            "`outcomes[1].nme` is not a study key (did you mean `outcomes[1].name`?)",
        ),
        (
            lambda t: t + "villages: {file: baseline.csv, strat: kecamatan}\n",
            "`villages.strat` is not a study key (did you mean `villages.strata`?)",
        ),
        (
            lambda t: t + "income: {poverty_lin: 500000}\n",
            "`income.poverty_lin` is not a study key (did you mean `income.poverty_line`?)",
        ),
        (
            lambda t: t + "alkire_foster: {familes: [income]}\n",
            "`alkire_foster.familes` is not a study key (did you mean `alkire_foster.families`?)",
        ),
        (
            lambda t: t + "power: {alpah: 0.1}\n",
            "`power.alpah` is not a study key (did you mean `power.alpha`?)",
        ),
        (
            lambda t: t + "power: {beta: 0.2}\n",
            "`power.beta` is not a study key (`power` takes alpha, power)",
        ),
        (
            lambda t: t + "quality: {min_minute: 5}\n",
            "`quality.min_minute` is not a study key (did you mean `quality.min_minutes`?)",
        ),
        (
            lambda t: t + "fieldwork: {baselin: [2023-03-01, 2023-03-31]}\n",
            "`fieldwork.baselin` is not a round (did you mean `fieldwork.baseline`?)",
        ),
        (lambda t: t + "zzz: 1\n", "`zzz` is not a study key (docs/study-file.md lists every key)"),
    ],
)
def test_an_unknown_key_is_refused_with_a_suggestion(folder: Path, edit, expected: str) -> None:
    assert expected in problem(folder, edit(MINIMAL))


def test_a_key_written_twice_is_refused(folder: Path) -> None:
    message = problem(folder, "min_cell: 50\n" + MINIMAL + "min_cell: 10\n")
    assert message == "study.yml: `min_cell` is written twice (lines 1 and 8): keep one"


# --------------------------------------------------------------------------------------------
# One value where a list is expected is a one-item list


@pytest.mark.parametrize(
    ("line", "attribute", "expected"),
    [
        ("pii_columns: contact_other", "pii_columns", ("contact_other",)),
        ("covariates: income", "covariates", ("income",)),
        ("keep_text_columns: comments", "keep_text_columns", ("comments",)),
        ("main_outcomes: debt", "main_outcomes", ("debt",)),
        ("vcov_extra: CRV3", "vcov_extra", ("CRV3",)),
    ],
)
def test_a_single_value_is_a_one_item_list(folder: Path, line: str, attribute: str, expected: tuple) -> None:
    (folder / "study.yml").write_text(MINIMAL + line + "\n")
    assert getattr(load_study(folder / "study.yml"), attribute) == expected


def test_single_family_and_flag_kind_are_one_item_lists(folder: Path) -> None:
    (folder / "study.yml").write_text(
        MINIMAL + "alkire_foster: {families: income}\nquality: {escalate: too_short}\n"
    )
    study = load_study(folder / "study.yml")
    assert study.alkire_foster.families == ("income",)
    assert study.quality.escalate == ("too_short",)


# --------------------------------------------------------------------------------------------
# Names that must name outcomes or families


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "main_outcomes: [incom]",
            "`main_outcomes` names incom, which is not an outcome (did you mean `income`?)",
        ),
        (
            "alkire_foster: {cutoffs: {det: 1}}",
            "`alkire_foster.cutoffs` names det, which is not an outcome (did you mean `debt`?)",
        ),
        (
            "alkire_foster: {families: [incme, life]}",
            "`alkire_foster.families` names incme, which no outcome has (did you mean `income`?): "
            "the outcome families are income, life",
        ),
    ],
)
def test_names_must_name_the_studys_outcomes(folder: Path, line: str, expected: str) -> None:
    assert problem(folder, MINIMAL + line + "\n") == f"study.yml: {expected}"


# --------------------------------------------------------------------------------------------
# Every problem at once


def misspell(key: str) -> str:
    return key + key[-1]


def nested(name: str) -> bool:
    return hasattr(SCHEMA.fields[name], "fields")


def every_leaf_misspelt() -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A study with every key misspelt once, the sections themselves spelt right.

    Returns the study and the expected (written, meant) dotted paths.
    """
    misspelt: list[tuple[str, str]] = []

    def section(prefix: str, keys: Any, value: Any = "x") -> dict[str, Any]:
        out = {}
        for key in keys:
            out[misspell(key)] = value
            misspelt.append((f"{prefix}{misspell(key)}", f"{prefix}{key}"))
        return out

    study: dict[str, Any] = {}
    for name, spec in SCHEMA.fields.items():
        if name == "rounds":
            baseline = section("rounds.baseline.", _ROUND.fields)
            study["rounds"] = {"baseline": baseline, misspell("followup"): "followup.csv"}
            misspelt.append(("rounds.followupp", "rounds.followup"))
        elif name == "outcomes":
            entry = section("outcomes[1].", SCHEMA.fields["outcomes"].item.fields)
            columns = section("outcomes[b].column.", ("baseline", "followup"))
            study["outcomes"] = [entry, {"name": "b", "column": columns}]
        elif nested(name):
            study[name] = section(f"{name}.", spec.fields)
        elif name not in ("labels",):  # labels' keys are the user's own names
            study.update(section("", [name]))
    return study, misspelt


def test_every_misspelt_key_is_reported_at_once(folder: Path) -> None:
    study, misspelt = every_leaf_misspelt()
    message = problem(folder, yaml.safe_dump(study, sort_keys=False))
    assert message.startswith(f"study.yml: {len(misspelt)} problems: ")
    for written, meant in misspelt:
        assert re.search(
            rf"`{re.escape(written)}` is not a (study key|round) \(did you mean `{re.escape(meant)}`\?\)",
            message,
        ), written
    assert "required" not in message  # a misspelt required key is reported once, as misspelt


def test_every_misspelt_section_is_reported_at_once(folder: Path) -> None:
    sections = [
        name
        for name in SCHEMA.fields
        if nested(name) or name in ("outcomes", "labels", "rounds", "fieldwork")
    ]
    study = {"id": "hhid", "treatment": "treat", **{misspell(name): {} for name in sections}}
    message = problem(folder, yaml.safe_dump(study))
    assert message.startswith(f"study.yml: {len(sections)} problems: ")
    for name in sections:
        assert f"`{misspell(name)}` is not a study key (did you mean `{name}`?)" in message


def test_a_run_on_a_misspelt_study_stops_before_anything_is_written(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study, misspelt = every_leaf_misspelt()
    (folder / "study.yml").write_text(yaml.safe_dump(study, sort_keys=False))
    before = sorted(p.name for p in folder.iterdir())
    out = folder / "out"
    assert cli.main(["run", str(folder / "study.yml"), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: study.yml: {len(misspelt)} problems: ")
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists() and sorted(p.name for p in folder.iterdir()) == before


# --------------------------------------------------------------------------------------------
# The processed folder stays out of the raw data


@pytest.mark.parametrize(
    ("processed", "expected"),
    [
        (".", "`processed` is the folder holding the raw file baseline.csv"),
        ("..", "which holds the raw file"),
        ("raw", "`processed` is the folder holding the raw file codebook.csv"),
        ("baseline.csv", "`processed` names baseline.csv, which is a file, not a folder"),
    ],
)
def test_processed_among_the_raw_files_is_refused(folder: Path, processed: str, expected: str) -> None:
    (folder / "raw").mkdir()
    (folder / "raw" / "codebook.csv").write_text("name,type\nhhid,text\n")
    message = problem(folder, MINIMAL + f"codebook: raw/codebook.csv\nprocessed: {processed}\n")
    assert expected in message
    assert message.endswith("no raw data") or "not a folder" in message


def test_processed_under_the_projects_raw_folder_is_refused(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = folder / "data" / "raw"
    (raw / "other").mkdir(parents=True)
    monkeypatch.setattr(config, "RAW_DIR", raw)
    message = problem(folder, MINIMAL + "processed: data/raw/other/processed\n")
    assert "inside the project's raw-data folder" in message and "remove `processed`" in message


def test_a_processed_subfolder_without_raw_files_is_accepted(folder: Path) -> None:
    (folder / "study.yml").write_text(MINIMAL + "processed: processed\n")
    assert load_study(folder / "study.yml").processed_dir == (folder / "processed").resolve()


# --------------------------------------------------------------------------------------------
# New keys, and the schema kept in step with the modules and the docs


def test_number_style_set_says_whether_the_user_wrote_it(folder: Path) -> None:
    (folder / "study.yml").write_text(MINIMAL)
    unset = load_study(folder / "study.yml")
    (folder / "study.yml").write_text(MINIMAL + "number_style: plain\n")
    written = load_study(folder / "study.yml")
    assert (unset.number_style, unset.number_style_set) == ("plain", False)
    assert (written.number_style, written.number_style_set) == ("plain", True)
    assert unset.keep_text_columns == ()


def test_the_choice_lists_match_the_modules_that_use_them() -> None:
    from typing import get_args

    from analysis.clean import deidentify, quality
    from analysis.construct import panel

    assert get_args(GpsRule) == deidentify.GPS_RULES
    assert get_args(NewHouseholds) == panel.NEW_HOUSEHOLDS
    documented = re.findall(r"^``([a-z_]+)(?::[^`]*)?``$", quality.__doc__ or "", flags=re.M)
    assert sorted(documented) == sorted(FLAG_KINDS)
    # The study's quality defaults are the cleaning rules' defaults.
    rules, options = quality.QualityRules(), QualityOptions()
    assert (options.min_minutes, options.outlier_iqr) == (rules.min_minutes, rules.outlier_iqr)
    assert frozenset(options.escalate) == rules.escalate


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("gps: jitter", "gps"),
        ("new_households: drop", "new_households"),
        ("quality: {min_minutes: -5}", "quality.min_minutes"),
    ],
)
def test_a_wrong_setting_stops_a_run_with_one_line(
    folder: Path, capsys: pytest.CaptureFixture[str], line: str, key: str
) -> None:
    # These settings are only read by the clean and construct stages; the typo must stop the
    # run before the first stage, not minutes into it.
    (folder / "study.yml").write_text(MINIMAL + line + "\n")
    out = folder / "out"
    assert cli.main(["run", str(folder / "study.yml"), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: study.yml: `{key}` is ")
    assert "expecting" in lines[0] and "Traceback" not in captured.err + captured.out
    assert not out.exists()


def test_every_key_is_documented() -> None:
    docs = (config.PROJECT_ROOT / "docs" / "study-file.md").read_text(encoding="utf-8")
    for name, spec in SCHEMA.fields.items():
        assert f"`{name}`" in docs, name
        inner = getattr(spec, "fields", None) or getattr(getattr(spec, "item", None), "fields", {})
        for key in inner:
            assert f"`{key}`" in docs or f"`{name}.{key}`" in docs, f"{name}.{key}"


def test_the_bundled_studies_still_load() -> None:
    studies = [config.DEMO_STUDY, *sorted((config.PROJECT_ROOT / "tests" / "fixtures").rglob("study.yml"))]
    for path in studies:
        assert load_study(path).outcomes, path
