"""The Monte Carlo draws of tests/methods/test_monte_carlo.py.

Each draw generates the demo survey (``write_demo``, 30 villages of 40 households) with its own
seed, runs the real stages in-process (clean, construct) and estimates DiD and ANCOVA of seven
outcomes with the estimator functions directly (no notebooks). Under ``effect_scale = 0`` it also
runs the wild cluster restricted bootstrap test.

The always-run draws are computed in four parts by :func:`draw_part`, in the session's
background job process or, for the parts it has not begun when the test needs them, in the
tests' own process (tests/conftest.py), so they use whichever core is free.
"""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from analysis.demo.survey import write_demo
from analysis.estimate.regressions import designs_for, fit_design
from analysis.inputs.study import load_study
from analysis.methods.few_clusters import wcr_bootstrap
from analysis.stages import clean_stage, construct_stage

OUTCOMES = (
    "income_pc",
    "participation_score",
    "bumdes_active",
    "owns_umkm",
    "improved_sanitation",
    "food_secure",
    "trust_neighbours",
)
ESTIMATORS = ("did", "ancova")
WILD_REPS = 999
#: The first seed of the draws with the programme effect, and of those without.
EFFECT_SEED, NULL_SEED = 10_000, 20_000


def one_draw(seed: int, effect_scale: float) -> list[dict[str, object]]:
    """Generate, clean and construct one demo survey; test DiD and ANCOVA of every outcome."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_demo(folder / "raw", villages=30, households=40, seed=seed, effect_scale=effect_scale)
        study_path = folder / "raw" / "study.yml"
        for round_name in ("baseline", "followup"):
            clean_stage(study_path, round_name, folder / "processed")
        construct_stage(study_path, folder / "processed")
        panel = pd.read_parquet(folder / "processed" / "panel.parquet")
        truth = json.loads((folder / "raw" / "truth.json").read_text())
        study = load_study(study_path)
    rows: list[dict[str, object]] = []
    for outcome in (o for o in study.outcomes if o.name in OUTCOMES):
        for design in designs_for(panel, outcome, clustered=True):
            if design.estimator not in ESTIMATORS:
                continue
            fit = fit_design(design)
            low, high = fit.conf_int.loc[design.term]
            record: dict[str, object] = {
                "seed": seed,
                "outcome": outcome.name,
                "estimator": design.estimator,
                "covers": bool(low <= truth[outcome.name] <= high),
                "reject_cr1": bool(fit.pvalues[design.term] <= 0.05),
            }
            if effect_scale == 0.0:
                wild = wcr_bootstrap(
                    design.y, design.X, design.clusters, param=design.term, reps=WILD_REPS, seed=seed
                )
                record["reject_wild"] = wild.p_value <= 0.05
            rows.append(record)
    return rows


def frame(results: list[list[dict[str, object]]]) -> pd.DataFrame:
    return pd.DataFrame([row for rows in results for row in rows])


def simulate(seeds: range, effect_scale: float) -> pd.DataFrame:
    """Run the draws on both cores (each draw is seeded on its own, so order does not matter)."""
    workers = min(2, os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return frame(list(pool.map(one_draw, seeds, [effect_scale] * len(seeds))))


def draw_part(effect_scale: float, first_seed: int, n_draws: int) -> pd.DataFrame:
    """``n_draws`` draws from ``first_seed`` on, one after another in this process (a part of the always-run ones)."""
    return frame([one_draw(seed, effect_scale) for seed in range(first_seed, first_seed + n_draws)])
