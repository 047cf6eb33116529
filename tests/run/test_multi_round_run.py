"""Studies with more than two rounds, one long file or no id, through the stages and `berdaya run`.

Issue 13. One module-scoped `berdaya run` of the generated three-round, two-wave demo (12
villages × 20 households, seed 4, no PDFs) is shared by the tests of the run; the repeated
cross-section (Wooldridge's injury data, one long file with a period column), the household
that switches back and the single treated village run through the stages in-process or on
small studies of their own.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import commands
import pandas as pd
import pytest
from e2e_builds import PUBLISHED, THREE_ROUND_DEMO, MultiRoundRuns, injury_study, survey_without_id

from analysis.config import EVENT_STUDY_COLUMNS, IMPACT_COLUMNS
from analysis.errors import InputError, StudyError
from analysis.estimate.multi_round import PRETREND_COLUMNS
from analysis.inputs.rounds import study_rounds
from analysis.inputs.study import load_study
from analysis.report.html_export import find_chromium
from analysis.shared import layout
from analysis.stages import clean_stage, construct_stage, estimate_stage

BERDAYA = [sys.executable, "-m", "analysis.run.cli"]
DEMO = THREE_ROUND_DEMO


def berdaya(*args: str) -> subprocess.CompletedProcess[str]:
    return commands.berdaya(*args, timeout=1200)


@pytest.fixture
def three_rounds(multi_round_runs: MultiRoundRuns) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """`berdaya run --no-pdf` of the three-round demo (tests/e2e_builds.py): process, output, demo folder."""
    runs = multi_round_runs
    return runs.three_rounds, runs.out, runs.data


@pytest.mark.e2e
def test_the_three_round_demo_runs_and_writes_the_event_study(three_rounds) -> None:
    done, out, _ = three_rounds
    assert done.returncode == 0, done.stderr
    events = pd.read_csv(out / layout.TABLES_DIR / layout.EVENT_STUDY_CSV)
    assert tuple(events.columns) == EVENT_STUDY_COLUMNS
    for (outcome, estimator), part in events.groupby(["outcome", "estimator"]):
        times = part.set_index("event_time")
        # The pre-period (-2) is shown; -1 is the reference: 0 without a standard error.
        assert list(times.index) == [-2, -1, 0, 1], (outcome, estimator)
        assert times.loc[-1, "estimate"] == 0 and pd.isna(times.loc[-1, "std_error"])
        assert times.drop(index=-1)["std_error"].gt(0).all()
    assert set(events["estimator"]) == {"twfe", "cs_att"}
    impact = pd.read_csv(out / layout.TABLES_DIR / layout.IMPACT_CSV)
    assert tuple(impact.columns) == IMPACT_COLUMNS
    assert {"followup_diff", "did", "ancova", "twfe", "cs_att"} <= set(impact["estimator"])
    tests = pd.read_csv(out / layout.TABLES_DIR / layout.PRETREND_CSV)
    assert tuple(tests.columns) == PRETREND_COLUMNS
    assert tests["p_value"].between(0, 1).all() and (tests["df"] == 1).all()


@pytest.mark.e2e
def test_the_programme_report_draws_the_event_study_and_labels_twfe(three_rounds) -> None:
    done, out, _ = three_rounds
    assert done.returncode == 0, done.stderr
    page = (out / layout.PROGRAMME_HTML).read_text(encoding="utf-8")
    events = pd.read_csv(out / layout.TABLES_DIR / layout.EVENT_STUDY_CSV)
    # One event-study figure per outcome, its alt text carrying the numbers of every event time.
    for outcome in ("income_pc", "savings"):
        assert f'alt="{outcome}. ' in page
    first = events.loc[(events["outcome"] == "savings") & (events["estimator"] == "cs_att")]
    post = first.loc[first["event_time"] == 0, "estimate"].iloc[0]
    assert f"e = 0: +{post:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".") in page
    assert "bias bila waktu program bertahap" in page  # twfe's label (the report is Indonesian)
    assert "Uji gabungan semua koefisien sebelum program" in page
    # The village reports follow every round.
    villages = sorted((out / layout.VILLAGES_DIR).glob("*.html"))
    assert len(villages) == DEMO["villages"]
    assert "Perjalanan di semua putaran" in villages[0].read_text(encoding="utf-8")


@pytest.mark.e2e
def test_cs_att_covers_the_truth_and_twfe_shows_the_bias_of_growing_effects(three_rounds) -> None:
    done, out, data = three_rounds
    assert done.returncode == 0, done.stderr
    truth = json.loads((data / "truth.json").read_text())
    impact = pd.read_csv(out / layout.TABLES_DIR / layout.IMPACT_CSV).set_index(["outcome", "estimator"])
    for outcome in ("income_pc", "savings"):
        cs = impact.loc[(outcome, "cs_att")]
        assert cs["ci_low"] <= truth[outcome]["cs_att"] <= cs["ci_high"], outcome
    # Income's effect grows with exposure: the early villages, serving as controls of the later
    # ones while their own effect still grows, pull twfe below the true ATT (about half here).
    income = truth["income_pc"]
    assert income["twfe"] < 0.75 * income["cs_att"]
    assert impact.loc[("income_pc", "twfe"), "estimate"] < 0.75 * income["cs_att"]
    assert impact.loc[("income_pc", "twfe"), "estimate"] < impact.loc[("income_pc", "cs_att"), "estimate"]


@pytest.mark.e2e
def test_a_second_run_of_the_three_round_demo_skips_every_step(three_rounds) -> None:
    done, out, data = three_rounds
    assert done.returncode == 0, done.stderr
    again = berdaya("run", str(data / "study.yml"), "--out", str(out), "--no-pdf")
    assert again.returncode == 0, again.stderr
    for step in ("clean baseline", "clean midline", "clean endline", "construct panel", "estimate impacts"):
        assert f"{step}: unchanged, skipped" in again.stderr
    assert f"village reports: all {DEMO['villages']} unchanged, skipped" in again.stderr


@pytest.mark.e2e
def test_a_replication_package_of_the_three_round_demo_verifies(multi_round_runs: MultiRoundRuns) -> None:
    built, verified = multi_round_runs.package, multi_round_runs.verify
    assert built.returncode == 0, built.stderr
    package = multi_round_runs.folder / "package"
    assert len(list((package / "data" / "processed").glob(layout.clean_parquet("*")))) == 3
    assert verified.returncode == 0, verified.stdout + verified.stderr
    output = verified.stdout + verified.stderr
    assert f"{layout.EVENT_STUDY_CSV}: matches" in output and f"{layout.PRETREND_CSV}: matches" in output


@pytest.mark.e2e
@pytest.mark.skipif(find_chromium() is None, reason="chromium is not installed (`make test` installs it)")
def test_the_three_round_demo_prints_its_reports(three_rounds, tmp_path: Path) -> None:
    # The printed page's date is the last round's (a three-round study has no `followup`). On a
    # copy of the run's output with one village report: the run prints what is there.
    _, out, data = three_rounds
    copy = shutil.copytree(out, tmp_path / "out")
    for page in (copy / layout.VILLAGES_DIR).glob("*.html"):
        if page.name != layout.village_html("0101"):
            page.unlink()
    done = berdaya("run", str(data / "study.yml"), "--out", str(copy), "--villages", "0101")
    assert done.returncode == 0, done.stderr
    assert "construct panel: unchanged, skipped" in done.stderr
    assert (copy / layout.PROGRAMME_PDF).stat().st_size > 0
    assert (copy / layout.VILLAGES_DIR / layout.village_pdf("0101")).stat().st_size > 0


def _stages(study_path: Path, processed: Path, tables: Path) -> pd.DataFrame:
    """Clean every round, construct and estimate, in-process."""
    study = study_rounds(load_study(study_path))
    for round_name in study.round_design.round_order:
        clean_stage(study, round_name, processed)
    construct_stage(study_path, processed)
    estimate_stage(study_path, processed, tables)
    return pd.read_csv(tables / layout.IMPACT_CSV)


def _injury(tmp_path: Path) -> Path:
    """Wooldridge's injury data as one long file, the period in column afchnge, no id."""
    return injury_study(tmp_path / "injury").parent


def test_a_repeated_cross_section_in_one_file_reproduces_wooldridge_example_13_4(tmp_path: Path) -> None:
    folder = _injury(tmp_path)
    study = load_study(folder / "study.yml")
    assert study.round_design.kind == "repeated_cross_section"
    impact = _stages(folder / "study.yml", tmp_path / "processed", tmp_path / "tables")
    [expected] = pd.read_csv(PUBLISHED / "wooldridge_injury" / "expected.csv").to_dict("records")
    did = impact.loc[impact["estimator"] == "did"].iloc[0]
    assert round(did["estimate"], 3) == expected["estimate"]
    assert round(did["std_error"], 3) == expected["std_error"]  # HC1: no village to cluster by
    assert did["se_type"] == "HC1"
    assert did["n_obs"] == expected["n_obs"]
    # Nothing that needs the same households twice: no ANCOVA, no before/after, no attrition.
    assert set(impact["estimator"]) == {"followup_diff", "did"}
    assert pd.read_csv(tmp_path / "tables" / layout.ATTRITION_CSV).empty
    assert pd.read_csv(tmp_path / "tables" / layout.LEE_BOUNDS_CSV).empty
    # Each period of the long file was cleaned as its own round, every record kept.
    accounting = pd.read_csv(tmp_path / "tables" / layout.ROW_ACCOUNTING_CSV, dtype={"round": str})
    assert accounting.set_index("round")["clean"].to_dict() == {"0": 2938, "1": 2688}


@pytest.mark.e2e
def test_a_repeated_cross_section_runs_and_its_report_says_what_the_design_means(
    multi_round_runs: MultiRoundRuns,
) -> None:
    done, out = multi_round_runs.injury, multi_round_runs.folder / "injury_out"
    assert done.returncode == 0, done.stderr
    page = (out / layout.PROGRAMME_HTML).read_text(encoding="utf-8")
    assert "Desain ini potong lintang berulang" in page
    # Attrition and Lee bounds are left out with a sentence; DiD is the estimate the summary reads.
    assert "jadi tidak ada atrisi dan tidak ada batas Lee" in page and "Batas Lee untuk" not in page
    assert "ldurat: Selisih-dari-selisih (DiD) memperkirakan dampak +0,19" in page


def _survey_without_id(tmp_path: Path, *, keep_role: bool = False) -> Path:
    """The bundled two-round demo as a repeated cross-section: `id` removed (and its role)."""
    return survey_without_id(tmp_path / "survey", keep_role=keep_role)


def test_a_codebook_that_names_a_household_id_without_id_in_the_study_is_refused(tmp_path: Path) -> None:
    study = load_study(_survey_without_id(tmp_path, keep_role=True))
    with pytest.raises(StudyError, match=r"has no `id`, so it is read as a repeated cross-section, but"):
        clean_stage(study, "baseline", tmp_path / "processed")


@pytest.mark.e2e
def test_a_repeated_cross_section_with_villages_and_a_codebook_runs(multi_round_runs: MultiRoundRuns) -> None:
    done, out = multi_round_runs.no_id, multi_round_runs.folder / "no_id_out"
    assert done.returncode == 0, done.stderr
    impact = pd.read_csv(out / layout.TABLES_DIR / layout.IMPACT_CSV).set_index(["outcome", "estimator"])
    did = impact.loc[("income_pc", "did")]
    assert did["se_type"] == "CR1" and did["n_clusters"] == 30  # clustered by village
    assert not {"ancova", "before_after"} & set(impact.index.get_level_values("estimator"))
    page = (out / layout.VILLAGES_DIR / "0101.html").read_text(encoding="utf-8")
    assert "Setiap putaran mewawancarai rumah tangga yang berbeda" in page
    assert "Ditemukan lagi" not in page


def _three_rounds(folder: Path, *, treatment: dict[tuple[str, int], int], villages: int = 6) -> Path:
    """A small three-round panel: households h of villages V0.. with treatment by (hh, round)."""
    folder.mkdir(parents=True)
    rounds = ("baseline", "midline", "endline")
    for t, name in enumerate(rounds):
        with (folder / f"{name}.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["hhid", "village", "treat", "income"])
            for v in range(villages):
                for h in range(12):
                    hid = f"{v}{h:02d}"
                    treat = treatment.get((hid, t), 0)
                    writer.writerow([hid, f"V{v}", treat, 1000 + 100 * t + 7 * h + 13 * v + 50 * treat])
    study = folder / "study.yml"
    study.write_text(
        "name: Three rounds\nrounds: {baseline: baseline.csv, midline: midline.csv, endline: endline.csv}\n"
        "id: hhid\nvillage: village\ntreatment: treat\npseudonym_key: test-key-not-secret\n"
        "wild_bootstrap_reps: 99\npdf: false\noutcomes:\n  - {name: income, family: income}\n"
    )
    return study


@pytest.mark.e2e
def test_a_household_that_switches_back_stops_the_run_with_one_line(tmp_path: Path) -> None:
    treated = {(f"{v}{h:02d}", t): 1 for v in range(3) for h in range(12) for t in (1, 2)}
    treated[("002", 2)] = 0  # treated in the midline, untreated again in the endline
    study = _three_rounds(tmp_path / "data", treatment=treated)
    done = berdaya("run", str(study), "--out", str(tmp_path / "out"), "--no-village-reports", "--no-pdf")
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    # Household 002 is the fourth line of endline.csv (the header is row 1).
    assert errors[0].startswith("error: endline.csv row 4 column treat: ")
    assert "treated in the midline round and untreated again in the endline round" in errors[0]


def test_one_treated_village_fires_the_few_clusters_warning(tmp_path: Path) -> None:
    # Village V0 alone is reached, from the midline on: twfe and cs_att keep their estimates
    # but not their standard errors, and the run warns, as for two rounds.
    treated = {(f"0{h:02d}", t): 1 for h in range(12) for t in (1, 2)}
    study = _three_rounds(tmp_path / "data", treatment=treated)
    impact = _stages(study, tmp_path / "processed", tmp_path / "tables").set_index("estimator")
    for estimator in ("twfe", "cs_att"):
        assert pd.notna(impact.loc[estimator, "estimate"]) and pd.isna(impact.loc[estimator, "std_error"])
    warnings = pd.read_csv(tmp_path / "tables" / layout.WARNINGS_CSV)
    assert "one_treated_cluster" in set(warnings["code"])
    events = pd.read_csv(tmp_path / "tables" / layout.EVENT_STUDY_CSV)
    assert events["std_error"].isna().all()


def test_a_panel_whose_last_round_shares_no_id_with_the_first_stops(tmp_path: Path) -> None:
    treated = {(f"{v}{h:02d}", t): 1 for v in range(3) for h in range(12) for t in (1, 2)}
    study = _three_rounds(tmp_path / "data", treatment=treated)
    endline = tmp_path / "data" / "endline.csv"
    lines = endline.read_text().splitlines()
    endline.write_text("\n".join([lines[0], *(f"9{line}" for line in lines[1:])]) + "\n")  # ids re-coded
    with pytest.raises(InputError, match=r"^endline.csv column hhid: 0 of 72 follow-up ids appear") as error:
        _stages(study, tmp_path / "processed", tmp_path / "tables")
    # The advice of a study of more rounds: without `id` it is a repeated cross-section.
    assert str(error.value).endswith(
        "leave `id` out of study.yml (a repeated cross-section: pooled DiD, no linkage)"
    )


def test_a_treatment_written_as_the_arm_in_every_round_starts_after_the_reference_round(
    tmp_path: Path,
) -> None:
    arm = {(f"{v}{h:02d}", t): 1 for v in range(3) for h in range(12) for t in (0, 1, 2)}
    study = _three_rounds(tmp_path / "data", treatment=arm)
    impact = _stages(study, tmp_path / "processed", tmp_path / "tables").set_index("estimator")
    panel = pd.read_parquet(tmp_path / "processed" / layout.PANEL_PARQUET)
    assert set(panel.loc[panel["treatment"] == 1, "cohort"]) == {2.0}
    assert panel["cohort"].loc[panel["treatment"] == 0].isna().all()
    # The data add 50 to every programme household in every round, the baseline included:
    # with the programme read as starting at the midline there is no effect to find.
    assert abs(impact.loc["cs_att", "estimate"]) < 1e-6
    warnings = pd.read_csv(tmp_path / "tables" / layout.WARNINGS_CSV)
    assert "treatment_is_arm" in set(warnings["code"])


def test_rounds_named_with_spaces_get_file_safe_names(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    rows = [["hhid", "period", "treat", "y"]]
    for period in ("2021 Q1", "2021 Q2"):
        effect = 3 if period == "2021 Q2" else 0
        rows += [[f"{i:03d}", period, int(i < 20), 10 + i % 7 + effect * (i < 20)] for i in range(40)]
    with (folder / "survey.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    (folder / "study.yml").write_text(
        "name: Quarters\nrounds: {file: survey.csv, column: period, order: ['2021 Q1', '2021 Q2']}\n"
        "id: hhid\ntreatment: treat\npseudonym_key: test-key-not-secret\nwild_bootstrap_reps: 99\n"
        "outcomes:\n  - {name: y}\n"
    )
    impact = _stages(folder / "study.yml", tmp_path / "processed", tmp_path / "tables")
    assert (tmp_path / "processed" / layout.clean_parquet("2021 Q1")).is_file()
    assert " " not in layout.clean_parquet("2021 Q1")
    assert layout.clean_parquet("2021 Q1") != layout.clean_parquet("2021-Q1")
    did = impact.set_index("estimator").loc["did"]
    assert did["estimate"] == pytest.approx(3.0)


def test_the_public_event_study_hides_a_coefficient_of_few_households() -> None:
    from analysis.shared.disclosure import public_event_study

    events = pd.DataFrame(
        {
            "outcome": "y",
            "estimator": "cs_att",
            "event_time": [-2, -1, 0, 1],
            "estimate": [0.1, 0.0, 1.0, 2.0],
            "std_error": [0.2, float("nan"), 0.3, 0.4],
            "ci_low": [-0.3, float("nan"), 0.4, 1.2],
            "ci_high": [0.5, float("nan"), 1.6, 2.8],
            "n_obs": [4, 30, 30, 9],
            "n_clusters": 12,
        }
    )
    public = public_event_study(events, min_cell=10).set_index("event_time")
    assert public.loc[[-2, 1], ["estimate", "std_error", "n_obs"]].isna().all().all()
    assert public.loc[0, "estimate"] == 1.0 and public.loc[-1, "estimate"] == 0.0


def test_rounds_that_cannot_be_study_keys_are_refused_by_package_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Quarterly rounds in one long file run (test above), but the package lists each round by
    # name and would not verify: refused before any work, saying what to recode.
    from analysis.run import cli

    rows = ["period,hhid,treat,income"] + [
        f"2021 Q{q},{h},{int(h < 5 and q > 1)},{100 + q + h}" for q in (1, 2) for h in range(10)
    ]
    (tmp_path / "survey.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "study.yml").write_text(
        "name: Quarters\nrounds: {file: survey.csv, column: period, order: [2021 Q1, 2021 Q2]}\n"
        "id: hhid\ntreatment: treat\npseudonym_key: test-key-not-secret\noutcomes: [income]\n"
    )
    code = cli.main(["package", str(tmp_path / "study.yml"), "--out", str(tmp_path / "package")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Traceback" not in err[0]
    assert "cannot package rounds named '2021 Q1', '2021 Q2'" in err[0] and "recode column period" in err[0]
    assert not (tmp_path / "package").exists()
