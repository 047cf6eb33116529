"""Every column the study file names must exist: one error naming the key, the file and a match.

A misspelled ``cluster`` used to cluster by village (8 clusters instead of 4), a misspelled
``weights`` gave unweighted estimates, a misspelled outcome an empty row. Each is now a
one-line error raised by the clean stage on the raw header (or, for what needs both rounds or
the constructed indicators, by the construct stage).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.construct.study_columns import suggest
from analysis.errors import StudyError
from analysis.run.cli import main
from analysis.stages.clean import clean_stage
from analysis.stages.construct import construct_stage

COLUMNS = ("hhid", "village", "kec", "treat", "income", "weight", "age")


def survey(tmp_path: Path, *, followup_rename: dict[str, str] | None = None) -> None:
    """8 villages in 4 kecamatan (randomized by kecamatan), 12 households, both rounds."""
    rng = np.random.default_rng(12)
    frames = []
    for post in (0, 1):
        rows = []
        for v in range(8):
            for h in range(12):
                treat = (v // 2) % 2
                rows.append(
                    {
                        "hhid": f"{v + 1:02d}{h:03d}",
                        "village": f"v{v}",
                        "kec": f"k{v // 2}",
                        "treat": treat,
                        "income": int(round(1000 + 50 * treat * post + rng.normal(0, 100))),
                        "weight": 1 + v % 3,
                        "age": int(rng.integers(20, 70)),
                    }
                )
        frames.append(pd.DataFrame(rows, columns=list(COLUMNS)))
    base, follow = frames
    if followup_rename:
        follow = follow.rename(columns=followup_rename)
    base.to_csv(tmp_path / "baseline.csv", index=False)
    follow.to_csv(tmp_path / "followup.csv", index=False)
    villages = pd.DataFrame(
        {"village": [f"v{v}" for v in range(8)], "name": [f"Desa {v}" for v in range(8)]}
    ).assign(kecamatan=[f"k{v // 2}" for v in range(8)])
    villages.to_csv(tmp_path / "villages.csv", index=False)


def study(tmp_path: Path, extra: str = "", *, outcomes: str = "  - {name: income, column: income}\n") -> Path:
    path = tmp_path / "study.yml"
    path.write_text(
        "name: Columns\nrounds: {baseline: baseline.csv, followup: followup.csv}\n"
        "id: hhid\ntreatment: treat\nvillage: village\npseudonym_key: test-key\n"
        + extra
        + "outcomes:\n"
        + outcomes
    )
    return path


def clean_both(path: Path, processed: Path) -> None:
    for round_name in ("baseline", "followup"):
        clean_stage(path, round_name, processed)


LISTED = "Its columns are: hhid, village, kec, treat, income, weight, age"


def test_misspelled_cluster_stops_the_clean_stage_with_the_close_column(tmp_path: Path) -> None:
    survey(tmp_path)
    with pytest.raises(StudyError) as info:
        clean_stage(study(tmp_path, "cluster: kecc\n"), "baseline", tmp_path / "processed")
    assert str(info.value) == (
        f"study.yml: `cluster` names column kecc, which baseline.csv does not have; did you mean kec? {LISTED}"
    )
    assert not (tmp_path / "processed" / "baseline_clean.parquet").exists()  # no work was done


@pytest.mark.e2e
def test_misspelled_cluster_through_the_command_line_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    survey(tmp_path)
    path = study(tmp_path, "cluster: kecc\n")
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--no-village-reports"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: study.yml: `cluster` names column kecc, which baseline.csv does not have; "
        f"did you mean kec? {LISTED}"
    ]


def test_the_right_cluster_gives_four_clusters_not_eight_villages(tmp_path: Path) -> None:
    survey(tmp_path)
    path, processed = study(tmp_path, "cluster: kec\n"), tmp_path / "processed"
    clean_both(path, processed)
    construct_stage(path, processed)
    panel = pd.read_parquet(processed / "panel.parquet")
    assert panel["cluster"].nunique() == 4


def test_cluster_may_come_from_the_village_list(tmp_path: Path) -> None:
    survey(tmp_path)
    extra = "villages: {file: villages.csv, id: village, name: name, strata: kecamatan}\ncluster: kecamatan\n"
    path, processed = study(tmp_path, extra), tmp_path / "processed"
    clean_both(path, processed)
    construct_stage(path, processed)
    panel = pd.read_parquet(processed / "panel.parquet")
    assert sorted(panel["cluster"].unique()) == ["k0", "k1", "k2", "k3"]
    assert panel["in_sample"].all()


def test_misspelled_weights_is_an_error_not_unweighted_estimates(tmp_path: Path) -> None:
    survey(tmp_path)
    with pytest.raises(StudyError) as info:
        clean_stage(study(tmp_path, "weights: wieght\n"), "baseline", tmp_path / "processed")
    assert str(info.value) == (
        "study.yml: `weights` names column wieght, which baseline.csv does not have; "
        f"did you mean weight? {LISTED}"
    )


def test_misspelled_village_is_an_error(tmp_path: Path) -> None:
    survey(tmp_path)
    path = study(tmp_path).read_text().replace("village: village", "village: vilage")
    (tmp_path / "study.yml").write_text(path)
    with pytest.raises(StudyError) as info:
        clean_stage(tmp_path / "study.yml", "baseline", tmp_path / "processed")
    assert str(info.value).startswith(
        "study.yml: `village` names column vilage, which baseline.csv does not have; did you mean village?"
    )


def test_misspelled_id_is_an_error(tmp_path: Path) -> None:
    survey(tmp_path)
    (tmp_path / "study.yml").write_text(study(tmp_path).read_text().replace("id: hhid", "id: HHID"))
    with pytest.raises(StudyError) as info:
        clean_stage(tmp_path / "study.yml", "baseline", tmp_path / "processed")
    assert "`id` names column HHID, which baseline.csv does not have; did you mean hhid?" in str(info.value)


def test_treatment_in_neither_round_nor_the_village_list_stops_the_construct_stage(tmp_path: Path) -> None:
    survey(tmp_path)
    path = tmp_path / "study.yml"
    path.write_text(study(tmp_path).read_text().replace("treatment: treat", "treatment: treatmnt"))
    processed = tmp_path / "processed"
    clean_both(path, processed)  # either round alone cannot tell: the other may have it
    with pytest.raises(StudyError) as info:
        construct_stage(path, processed)
    assert str(info.value) == (
        "study.yml: `treatment` names column treatmnt, which neither baseline.csv nor followup.csv has; "
        f"did you mean treat? {LISTED}"
    )
    assert not (processed / "panel.parquet").exists()


def test_treatment_from_the_village_list_is_accepted(tmp_path: Path) -> None:
    survey(tmp_path)
    villages = pd.read_csv(tmp_path / "villages.csv").assign(arm=[(v // 2) % 2 for v in range(8)])
    villages.to_csv(tmp_path / "villages.csv", index=False)
    for name in ("baseline.csv", "followup.csv"):
        pd.read_csv(tmp_path / name, dtype=str).drop(columns="treat").to_csv(tmp_path / name, index=False)
    text = study(tmp_path, "villages: {file: villages.csv, id: village}\n").read_text()
    (tmp_path / "study.yml").write_text(text.replace("treatment: treat", "treatment: arm"))
    processed = tmp_path / "processed"
    clean_both(tmp_path / "study.yml", processed)
    construct_stage(tmp_path / "study.yml", processed)
    assert set(pd.read_parquet(processed / "panel.parquet")["treatment"]) == {0.0, 1.0}


def test_misspelled_outcome_column_is_an_error_not_an_empty_row(tmp_path: Path) -> None:
    survey(tmp_path)
    path, processed = study(tmp_path, outcomes="  - {name: income, column: incme}\n"), tmp_path / "processed"
    clean_stage(path, "baseline", processed)  # the outcome may be new at follow-up
    with pytest.raises(StudyError) as info:
        clean_stage(path, "followup", processed)
    message = str(info.value)
    assert message.startswith(
        "study.yml: outcome income: `column` names column incme, which followup.csv does not have; "
        f"did you mean income? {LISTED}"
    )
    assert "\n" not in message


def test_outcome_measured_at_follow_up_only_is_legitimate(tmp_path: Path) -> None:
    survey(tmp_path)
    base = pd.read_csv(tmp_path / "baseline.csv", dtype=str).drop(columns="age")
    base.to_csv(tmp_path / "baseline.csv", index=False)
    outcomes = "  - {name: income, column: income}\n  - {name: age, column: age}\n  - {name: age2, column: {followup: age}}\n"
    path, processed = study(tmp_path, outcomes=outcomes), tmp_path / "processed"
    clean_both(path, processed)
    construct_stage(path, processed)
    assert "age" in pd.read_parquet(processed / "panel.parquet").columns


def test_misspelled_covariate_is_an_error_at_baseline(tmp_path: Path) -> None:
    survey(tmp_path)
    with pytest.raises(StudyError) as info:
        clean_stage(study(tmp_path, "covariates: [agee]\n"), "baseline", tmp_path / "processed")
    assert str(info.value) == (
        "study.yml: `covariates` names column agee, which baseline.csv does not have; "
        f"did you mean age? {LISTED}; covariates enter as baseline values"
    )


def test_outcome_renamed_between_rounds_without_a_mapping_says_how_to_map_it(tmp_path: Path) -> None:
    survey(tmp_path, followup_rename={"income": "income_rp"})
    path, processed = study(tmp_path), tmp_path / "processed"
    clean_stage(path, "baseline", processed)
    with pytest.raises(StudyError) as info:
        clean_stage(path, "followup", processed)
    assert str(info.value) == (
        "study.yml: outcome income: `column` names column income, which followup.csv does not have; "
        "did you mean income_rp? Its columns are: hhid, village, kec, treat, income_rp, weight, age; "
        "if the question was renamed between rounds, write "
        "column: {baseline: income, followup: <its name in the follow-up>}"
    )
    # The mapping the message asks for is accepted.
    path = study(tmp_path, outcomes="  - {name: income, column: {baseline: income, followup: income_rp}}\n")
    clean_both(path, processed)
    construct_stage(path, processed)


def test_village_renamed_between_rounds_without_a_codebook_is_an_error(tmp_path: Path) -> None:
    survey(tmp_path, followup_rename={"village": "desa"})
    path, processed = study(tmp_path), tmp_path / "processed"
    clean_stage(path, "baseline", processed)
    with pytest.raises(StudyError) as info:
        clean_stage(path, "followup", processed)
    assert str(info.value) == (
        "study.yml: `village` names column village, which followup.csv does not have; its columns are: "
        "hhid, desa, kec, treat, income, weight, age; if the column has another name in this round, map "
        "the two names in a codebook (`berdaya codebook-template` writes a starting one)"
    )


@pytest.mark.parametrize(
    ("villages", "key", "column", "guess"),
    [
        ("{file: villages.csv, id: vilage}", "villages.id", "vilage", "village"),
        ("{file: villages.csv, id: village, name: nama}", "villages.name", "nama", "name"),
        ("{file: villages.csv, id: village, strata: kecamatn}", "villages.strata", "kecamatn", "kecamatan"),
    ],
)
def test_village_list_columns_must_exist(
    tmp_path: Path, villages: str, key: str, column: str, guess: str
) -> None:
    survey(tmp_path)
    with pytest.raises(StudyError) as info:
        clean_stage(study(tmp_path, f"villages: {villages}\n"), "baseline", tmp_path / "processed")
    assert str(info.value) == (
        f"study.yml: `{key}` names column {column}, which villages.csv does not have; did you mean {guess}? "
        "Its columns are: village, name, kecamatan"
    )


# ------------------------------------------------------------------------- with a codebook

CODEBOOK = (
    "name,source_baseline,source_followup,type,role,family\n"
    "hhid,hhid,hhid,id,household_id,\n"
    "village,village,village,id,village,\n"
    "kecamatan,kec,kec,id,,\n"
    "treat,treat,treat,number,treatment,\n"
    "wage,income,income,money,income_component,income\n"
    "age,age,age,integer,,\n"
)


def codebook_study(tmp_path: Path, extra: str = "", outcomes: str = "  - {name: wage}\n") -> Path:
    survey(tmp_path)
    (tmp_path / "codebook.csv").write_text(CODEBOOK)
    return study(tmp_path, "codebook: codebook.csv\n" + extra, outcomes=outcomes)


def test_with_a_codebook_names_are_its_variables(tmp_path: Path) -> None:
    path = codebook_study(tmp_path, "cluster: kec\n")  # the raw name, not the variable
    with pytest.raises(StudyError) as info:
        clean_stage(path, "baseline", tmp_path / "processed")
    assert str(info.value) == (
        "study.yml: `cluster` names kec, which is not a variable of codebook.csv; did you mean kecamatan? "
        "Its variables are: hhid, village, kecamatan, treat, wage, age"
    )
    path = codebook_study(tmp_path, "cluster: kecamatan\n")
    clean_both(path, tmp_path / "processed")
    construct_stage(path, tmp_path / "processed")
    assert pd.read_parquet(tmp_path / "processed" / "panel.parquet")["cluster"].nunique() == 4


def test_with_a_codebook_an_indicator_outcome_is_accepted_when_it_can_be_built(tmp_path: Path) -> None:
    path = codebook_study(tmp_path, outcomes="  - {name: income_total}\n")
    clean_both(path, tmp_path / "processed")
    construct_stage(path, tmp_path / "processed")
    assert "income_total" in pd.read_parquet(tmp_path / "processed" / "panel.parquet").columns


def test_with_a_codebook_an_indicator_that_cannot_be_built_says_what_it_needs(tmp_path: Path) -> None:
    path = codebook_study(tmp_path, outcomes="  - {name: income_pc}\n")  # no household_size role
    clean_both(path, tmp_path / "processed")
    with pytest.raises(StudyError) as info:
        construct_stage(path, tmp_path / "processed")
    assert str(info.value) == (
        "study.yml: outcome income_pc: `column` names income_pc, which could not be built for the followup "
        "round; income_pc is an indicator berdaya constructs; it needs codebook roles income_component, "
        "household_size"
    )


def test_with_a_codebook_a_misspelled_outcome_fails_before_cleaning(tmp_path: Path) -> None:
    path = codebook_study(tmp_path, outcomes="  - {name: wages}\n")
    with pytest.raises(StudyError) as info:
        clean_stage(path, "baseline", tmp_path / "processed")
    assert str(info.value).startswith(
        "study.yml: outcome wages: `column` names wages, which is not a variable of codebook.csv; "
        "did you mean wage?"
    )


def test_with_a_codebook_a_setting_the_codebook_role_would_override_is_an_error(tmp_path: Path) -> None:
    path = codebook_study(tmp_path)
    path.write_text(path.read_text().replace("village: village", "village: kecamatan"))
    with pytest.raises(StudyError) as info:
        clean_stage(path, "baseline", tmp_path / "processed")
    assert str(info.value) == (
        "study.yml: `village` is kecamatan, but codebook.csv gives the role village to village; "
        "write village: village or change the role in codebook.csv"
    )


def test_without_a_codebook_an_indicator_name_explains_it_needs_one(tmp_path: Path) -> None:
    survey(tmp_path)
    with pytest.raises(StudyError) as info:
        clean_stage(study(tmp_path, outcomes="  - {name: income_pc}\n"), "followup", tmp_path / "processed")
    assert str(info.value).endswith(
        "; income_pc is an indicator berdaya constructs; it needs codebook roles income_component, household_size"
    )


def test_suggestions_prefer_case_and_group_prefixes() -> None:
    assert suggest("HHID", ["hhid", "treat"]) == "hhid"
    assert suggest("hhid", ["hh/hhid", "treat"]) == "hh/hhid"
    assert suggest("kecc", ["hhid", "kec"]) == "kec"
    assert suggest("zzz", ["hhid"]) is None


def test_misspelled_personal_column_with_a_codebook_fails_before_anything_is_written(tmp_path: Path) -> None:
    path = codebook_study(tmp_path, "pii_columns: [agee]\n")
    with pytest.raises(StudyError) as info:
        clean_stage(path, "baseline", tmp_path / "processed")
    assert str(info.value).startswith(
        "study.yml: `pii_columns` names agee, which is not a variable of codebook.csv; did you mean age?"
    )
    assert not (tmp_path / "processed").exists()


def test_personal_column_in_neither_round_without_a_codebook_is_an_error(tmp_path: Path) -> None:
    survey(tmp_path)
    path, processed = study(tmp_path, "pii_columns: [agee]\n"), tmp_path / "processed"
    clean_both(path, processed)
    with pytest.raises(StudyError) as info:
        construct_stage(path, processed)
    assert str(info.value) == (
        "study.yml: `pii_columns` names column agee, which neither baseline.csv nor followup.csv has; "
        f"did you mean age? {LISTED}"
    )
    # Spelled right, the column is dropped and the run goes on.
    path = study(tmp_path, "pii_columns: [age]\n")
    clean_both(path, processed)
    construct_stage(path, processed)
    assert "age" not in pd.read_parquet(processed / "panel.parquet").columns
