"""Monte Carlo: coverage of the CR1 intervals and size of the CR1 and wild bootstrap tests.

Each draw (tests/monte_carlo.py) generates the demo survey (analysis.demo.survey.generate_demo
through write_demo, 30 villages of 40 households) with its own seed, runs the real stages
in-process (clean, construct) and estimates DiD and ANCOVA with the estimator functions directly
(no notebooks):

- effect_scale = 1: the 95 % CR1 interval should cover the true effect (truth.json) 92–98 %
  of the time;
- effect_scale = 0 (no programme effect at all): the 5 % CR1 test and the wild cluster
  restricted bootstrap test (Rademacher, 999 draws) should reject 2–8 % of the time.

Rates are pooled over seven outcomes of different kinds (income, a score, yes/no items and a
Likert item) and reported per estimator. The full version (200 + 200 draws) takes several
minutes on the 2-core machine and is marked ``slow`` (``pytest -m slow tests/methods/test_monte_carlo.py``);
the always-run version uses 20 + 20 draws with bands wide enough for that number (it catches
gross miscalibration, not a 2-point error). Its draws are computed in four parts, in the session's
background job process from the start of the session and, for the parts not yet begun when this
module (which runs last) needs them, in the tests' own process (``monte_carlo_small`` in
tests/conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from monte_carlo import EFFECT_SEED, ESTIMATORS, NULL_SEED, OUTCOMES, simulate

from analysis.demo.survey import write_demo


def rates(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame.groupby("estimator")[column].mean()


def check(
    effect: pd.DataFrame,
    null: pd.DataFrame,
    n_draws: int,
    *,
    coverage: tuple[float, float],
    size: tuple[float, float],
) -> None:
    assert len(effect) == len(null) == n_draws * len(OUTCOMES) * len(ESTIMATORS)
    summary = pd.DataFrame(
        {
            "coverage": rates(effect, "covers"),
            "reject_cr1_null": rates(null, "reject_cr1"),
            "reject_wild_null": rates(null, "reject_wild"),
        }
    )
    print(f"\n{n_draws} + {n_draws} draws, pooled over {len(OUTCOMES)} outcomes:\n{summary}")
    print(effect.groupby(["estimator", "outcome"])["covers"].mean().unstack(0))
    print(null.groupby(["estimator", "outcome"])[["reject_cr1", "reject_wild"]].mean().unstack(0))
    for estimator in ESTIMATORS:
        assert coverage[0] <= summary.loc[estimator, "coverage"] <= coverage[1], summary
        for column in ("reject_cr1_null", "reject_wild_null"):
            assert size[0] <= summary.loc[estimator, column] <= size[1], summary


def test_monte_carlo_small(monte_carlo_small: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    # 20 draws x 7 outcomes = 140 intervals per estimator: a binomial SD of about 1.8 points
    # at 95 % (more with the correlation between outcomes of one draw), so these bands sit about
    # 4 SD from the nominal rates. They catch a broken estimator, not a small miscalibration.
    # The draws run in four parts, in the background and the tests' lanes (tests/conftest.py).
    effect, null = monte_carlo_small
    assert sorted(set(effect["seed"])) == list(range(EFFECT_SEED, EFFECT_SEED + 20))
    assert sorted(set(null["seed"])) == list(range(NULL_SEED, NULL_SEED + 20))
    check(effect, null, 20, coverage=(0.88, 1.0), size=(0.0, 0.12))


@pytest.mark.slow
def test_monte_carlo_full() -> None:
    # 200 draws x 7 outcomes = 1,400 per estimator (binomial SD 0.6 points at 95 %).
    effect = simulate(range(EFFECT_SEED, EFFECT_SEED + 200), 1.0)
    null = simulate(range(NULL_SEED, NULL_SEED + 200), 0.0)
    check(effect, null, 200, coverage=(0.92, 0.98), size=(0.02, 0.08))


def test_effect_scale_zero_removes_every_effect(tmp_path: Path) -> None:
    write_demo(tmp_path / "one", villages=6, households=20, seed=3)
    write_demo(tmp_path / "zero", villages=6, households=20, seed=3, effect_scale=0.0)
    truth_zero = json.loads((tmp_path / "zero" / "truth.json").read_text())
    truth_one = json.loads((tmp_path / "one" / "truth.json").read_text())
    assert set(truth_zero) == set(truth_one)
    assert all(v == 0.0 for v in truth_zero.values()), truth_zero
    assert truth_one["income_pc"] > 0 and truth_one["index_klk_participation"] > 0
    # The villages (names, kecamatan, arms) come first from the seed and do not change.
    assert (tmp_path / "one" / "villages.csv").read_bytes() == (tmp_path / "zero" / "villages.csv").read_bytes()
