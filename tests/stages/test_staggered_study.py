"""A staggered rollout written as real exports come: the `did` package's county panel, one long
file with a year column and `first.treat` holding 0 for never treated, through the stages.

The published numbers (R ``did``, never-treated controls, ``est_method = reg``) are in
tests/fixtures/published/mpdta/expected.csv; the estimator itself is checked against them in
tests/estimate/test_staggered.py. Here the study file, the long file's rounds, the rollout column
and the long panel must bring the same numbers out of ``impact.csv`` and ``event_study.csv``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.inputs.rounds import study_rounds
from analysis.inputs.study import load_study, rollout_cohorts
from analysis.shared import layout
from analysis.stages import clean_stage, construct_stage, estimate_stage

MPDTA = Path(__file__).resolve().parents[1] / "fixtures" / "published" / "mpdta"


def _study(folder: Path, *, never: str) -> Path:
    folder.mkdir()
    (folder / "mpdta.csv").write_bytes((MPDTA / "mpdta.csv").read_bytes())
    (folder / "study.yml").write_text(
        "name: County teen employment\n"
        "rounds: {file: mpdta.csv, column: year}\n"
        "id: countyreal\n"
        f"rollout: {{column: first.treat{never}}}\n"
        "pseudonym_key: test-key-not-secret\n"
        "wild_bootstrap_reps: 99\nlee_bounds_reps: 49\ndesign_test_reps: 49\n"
        "outcomes:\n  - {name: lemp}\n"
    )
    return folder / "study.yml"


def test_the_county_panel_with_0_for_never_treated_gives_the_published_att(tmp_path: Path) -> None:
    path = _study(tmp_path / "study", never=", never: 0")
    study = study_rounds(load_study(path))
    assert study.round_design.round_order == ("2003", "2004", "2005", "2006", "2007")
    for round_name in study.round_design.round_order:
        clean_stage(study, round_name, tmp_path / "processed")
    construct_stage(path, tmp_path / "processed")
    estimate_stage(path, tmp_path / "processed", tmp_path / "tables")
    expected = pd.read_csv(MPDTA / "expected.csv")
    simple = expected.loc[expected["quantity"] == "simple"].iloc[0]
    impact = pd.read_csv(tmp_path / "tables" / layout.IMPACT_CSV).set_index("estimator")
    assert impact.loc["cs_att", "estimate"] == pytest.approx(simple["estimate"], abs=1e-4)
    assert impact.loc["cs_att", "std_error"] == pytest.approx(simple["std_error"], rel=0.10)
    assert impact.loc["cs_att", "n_obs"] == 500  # counties
    # After adoption the event study is the package's (before it, the reference differs: ours
    # is event time -1 for every period, the package's default compares consecutive periods).
    events = pd.read_csv(tmp_path / "tables" / layout.EVENT_STUDY_CSV)
    ours = events.loc[events["estimator"] == "cs_att"].set_index("event_time")["estimate"]
    published = expected.loc[expected["quantity"] == "event_study"].set_index("event_time")["estimate"]
    for event_time in (0, 1, 2, 3):
        assert ours[event_time] == pytest.approx(published[float(event_time)], abs=1e-4), event_time


def test_0_for_never_treated_without_never_is_one_error_that_says_how() -> None:
    values = pd.Series(["2004", "0", "", "2007"])
    with pytest.raises(InputError, match=r"never: 0\}`"):
        rollout_cohorts(values, column="first.treat", round_order=("2003", "2004", "2007"))
    cohorts = rollout_cohorts(values, column="first.treat", round_order=("2003", "2004", "2007"), never="0")
    assert cohorts.tolist()[::3] == [2.0, 3.0] and cohorts[[1, 2]].isna().all()


def test_a_value_that_is_neither_a_round_nor_never_is_still_an_error() -> None:
    with pytest.raises(InputError, match="2010 is not a round") as caught:
        rollout_cohorts(pd.Series(["2010", "0"]), column="g", round_order=("2003", "2004"), never="0")
    assert "never:" not in str(caught.value)
