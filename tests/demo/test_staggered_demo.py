"""The staggered-rollout demo: three rounds, villages reached in two waves (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.config import DEFAULT_SEED
from analysis.demo.staggered import OUTCOMES, ROLLOUT_COLUMN, write_staggered
from analysis.estimate.staggered import callaway_santanna, first_treated_round, twfe
from analysis.inputs.study import check_run_supported, load_study, rollout_cohorts
from analysis.run import cli


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("staggered")
    assert cli.main(["demo-data", "--out", str(out), "--rounds", "3", "--waves", "2"]) == 0
    return out


def long_frame(folder: Path) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """The rounds as the study file names them, stacked, with each household's cohort."""
    study = load_study(folder / "study.yml")
    order = study.round_design.round_order
    text = {"hhid": str, "village": str}
    frames = [
        pd.read_csv(study.rounds[r].file, dtype=text).assign(round=position)
        for position, r in enumerate(order, start=1)
    ]
    villages = pd.read_csv(study.villages.file, dtype={**text, ROLLOUT_COLUMN: str}, keep_default_na=False)
    cohort = rollout_cohorts(villages[ROLLOUT_COLUMN], column=ROLLOUT_COLUMN, round_order=order)
    cohort.index = villages["village"]  # empty: never treated (NaN)
    long = pd.concat(frames, ignore_index=True)
    return long.assign(cohort=long["village"].map(cohort)), order


def test_the_demo_is_a_three_round_study_with_a_rollout(demo: Path) -> None:
    study = load_study(demo / "study.yml")
    design = study.round_design
    assert design.kind == "panel" and design.round_order == ("baseline", "midline", "endline")
    assert (design.rollout_column, study.id, study.treatment) == (ROLLOUT_COLUMN, "hhid", "")
    assert [study.rounds[r].year for r in design.round_order] == [2021, 2023, 2025]
    check_run_supported(study)  # `berdaya run` analyses it (tests/run/test_multi_round_run.py)
    villages = pd.read_csv(demo / "villages.csv", dtype=str, keep_default_na=False)
    counts = villages[ROLLOUT_COLUMN].value_counts()
    # Two waves and a never-treated group, each about a third of the 30 villages.
    assert set(counts.index) == {"", "midline", "endline"} and counts.min() >= 9


def test_same_seed_same_bytes(demo: Path, tmp_path: Path) -> None:
    again = write_staggered(tmp_path / "a", seed=DEFAULT_SEED)
    for path in again:
        assert path.read_bytes() == (demo / path.name).read_bytes(), path.name
    other = write_staggered(tmp_path / "b", seed=DEFAULT_SEED + 1)
    assert other[1].read_bytes() != again[1].read_bytes()


def test_the_cohorts_follow_from_a_treatment_that_varies_by_round(demo: Path) -> None:
    long, _ = long_frame(demo)
    treated = (long["round"] >= long["cohort"]).astype(int)  # NaN cohort: never treated
    first = first_treated_round(long.assign(d=treated), unit="hhid", period="round", treatment="d")
    cohort = long.drop_duplicates("hhid").set_index("hhid")["cohort"]
    pd.testing.assert_series_equal(first, cohort.reindex(first.index), check_names=False)


def test_callaway_santanna_covers_the_truth_and_twfe_is_biased_down(demo: Path) -> None:
    truth = json.loads((demo / "truth.json").read_text())
    long, _ = long_frame(demo)
    for outcome in OUTCOMES:
        kw = {"outcome": outcome, "unit": "hhid", "period": "round", "cohort": "cohort", "cluster": "village"}
        cs = callaway_santanna(long, **kw)
        true = truth[outcome]
        assert cs.overall.ci_low <= true["cs_att"] <= cs.overall.ci_high, outcome
        table = cs.event_study.table.set_index("event_time")
        # Several intervals at once: each event time's at the Bonferroni level of all four.
        z = stats.norm.ppf(1 - 0.05 / (2 * 2 * len(true["event_time"])))
        for event, value in true["event_time"].items():
            row = table.loc[int(event)]
            assert abs(row["estimate"] - value) <= z * row["std_error"], (outcome, event)
        pre = table.loc[table.index < -1]  # no anticipation: the pre-period effects are 0
        assert ((pre["ci_low"] <= 0) & (pre["ci_high"] >= 0)).all(), outcome
        tw = twfe(long, **kw)
        assert tw.ci_low <= true["twfe"] <= tw.ci_high, outcome  # twfe estimates its own estimand
    income = truth["income_pc"]
    # The effect grows with exposure, so the twfe estimand is below the ATT (the midline villages
    # are controls at endline while their effect grows), and the estimate visibly so.
    assert income["event_time"]["1"] > 2 * income["event_time"]["0"]
    assert income["twfe"] < 0.7 * income["cs_att"]
    tw = twfe(long, outcome="income_pc", unit="hhid", period="round", cohort="cohort", cluster="village")
    assert tw.ci_high < income["cs_att"]
    # With an effect that does not grow (savings) the two estimands agree.
    savings = truth["savings"]
    assert savings["twfe"] == pytest.approx(savings["cs_att"], rel=0.05)


def test_truth_is_the_cohort_weighted_average_of_its_cells(demo: Path) -> None:
    truth = json.loads((demo / "truth.json").read_text())
    villages = pd.read_csv(demo / "villages.csv", dtype=str, keep_default_na=False)
    size = villages[ROLLOUT_COLUMN].value_counts()  # households per village are equal
    for outcome in OUTCOMES:
        cells = truth[outcome]["group_time"]
        weights = [(size[g], att) for g, row in cells.items() for att in row.values()]
        expected = sum(w * a for w, a in weights) / sum(w for w, _ in weights)
        assert truth[outcome]["cs_att"] == pytest.approx(expected, rel=1e-12)
        assert truth[outcome]["event_time"]["1"] == cells["midline"]["endline"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--rounds", "3", "--waves", "3"], "waves=3: expecting 1 to 2"),
        (["--waves", "2"], "--waves needs --rounds 3 or more"),
        (["--rounds", "3", "--villages", "4"], "villages=4: expecting 9 to 9801"),
    ],
)
def test_options_out_of_range_are_one_line(
    tmp_path: Path, options: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo-data", "--out", str(tmp_path / "out"), *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0]
    assert not (tmp_path / "out" / "study.yml").exists()


def test_more_rounds_and_waves(tmp_path: Path) -> None:
    write_staggered(tmp_path, villages=12, households=5, rounds=4, waves=3, seed=7)
    study = load_study(tmp_path / "study.yml")
    assert study.round_design.round_order == ("baseline", "round_2", "round_3", "endline")
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert sorted(truth["income_pc"]["event_time"], key=int) == ["0", "1", "2"]
    assert np.isfinite(truth["income_pc"]["twfe"])
