"""The closed-form wild bootstrap, the joint randomization tests and the impact inference table."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from panel_data import make_panel
from toy_data import toy_design

from analysis.estimate.inference import INFERENCE_COLUMNS, InferenceOptions, impact_inference
from analysis.estimate.regressions import designs_for
from analysis.inputs.study import OutcomeSpec
from analysis.methods.few_clusters import (
    cr1_wald_f,
    crv3_se,
    randomization_wald,
    wcr_bootstrap,
    wcr_t_statistics,
    wild_cluster_bootstrap,
    wild_draws,
)
from analysis.methods.multiple_testing import sharpened_qvalues


def _clustered_data(seed: int, n_clusters: int):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(6, 15, n_clusters)
    g = np.repeat(np.arange(n_clusters), sizes)
    treat = (rng.permutation(n_clusters) < n_clusters // 2).astype(float)[g]
    x = rng.normal(size=len(g))
    y = 0.3 * treat + x + rng.normal(size=n_clusters)[g] + rng.normal(size=len(g))
    return y, pd.DataFrame({"const": 1.0, "treat": treat, "x": x}), g


def test_closed_form_wcr_toy_matches_methods_worked_example() -> None:
    # docs/methods.md section 2.2: all 2^8 Rademacher draws, ties counted: p = 60/256.
    y, X, g = toy_design()
    result = wcr_bootstrap(y, X, g, param="treat", reps=9999, weights_type="rademacher", seed=1)
    assert result.enumerated and result.reps_used == 256
    assert result.t_stat == pytest.approx(1.330395, abs=5e-7)
    assert result.p_value == 60 / 256


@pytest.mark.parametrize(("seed", "n_clusters"), [(1, 9), (2, 10), (3, 11)])
def test_closed_form_wcr_equals_wildboottest_under_enumeration(seed: int, n_clusters: int) -> None:
    y, X, g = _clustered_data(seed, n_clusters)
    mine = wcr_bootstrap(y, X, g, param="treat", reps=5000, weights_type="rademacher", seed=seed)
    package = wild_cluster_bootstrap(y, X, g, param="treat", reps=5000, weights_type="rademacher", seed=seed)
    assert mine.enumerated and package.enumerated
    assert mine.t_stat == pytest.approx(package.t_stat, rel=1e-10)
    assert mine.p_value == package.p_value


@pytest.mark.parametrize("weighted", [False, True])
def test_closed_form_t_statistics_equal_refitting_each_draw(weighted: bool) -> None:
    # Independent computation: restricted fit, y* = y~ + v_g u~, WLS/OLS refit with CR1 by statsmodels.
    y, X, g = _clustered_data(4, 12)
    w = np.random.default_rng(9).uniform(0.5, 2.0, len(y)) if weighted else None
    draws = wild_draws(12, reps=6, weights_type="webb", seed=5)
    t_stat, t_boot = wcr_t_statistics(y, X, g, param="treat", draws=draws.matrix, weights=w)
    weights = np.ones(len(y)) if w is None else w
    restricted = sm.WLS(y, X.drop(columns="treat"), weights=weights).fit()
    for b in range(6):
        y_star = restricted.fittedvalues + draws.matrix[b][g] * restricted.resid
        refit = sm.WLS(y_star, X, weights=weights).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
        assert t_boot[b] == pytest.approx(refit.tvalues["treat"], rel=1e-9)
    full = sm.WLS(y, X, weights=weights).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    assert t_stat == pytest.approx(full.tvalues["treat"], rel=1e-10)


def test_wild_draws() -> None:
    enumerated = wild_draws(5, reps=100, seed=0, weights_type="rademacher")
    assert enumerated.enumerated and enumerated.matrix.shape == (32, 5)
    assert len({tuple(r) for r in enumerated.matrix}) == 32
    webb = wild_draws(5, reps=2000, seed=0)  # auto: Webb below 12 clusters
    assert webb.weights_type == "webb" and not webb.enumerated
    assert set(np.round(np.abs(webb.matrix).ravel() ** 2, 12)) == {0.5, 1.0, 1.5}
    assert wild_draws(30, reps=999, seed=0).weights_type == "rademacher"
    # seeded: the same seed gives the same draws
    assert (wild_draws(20, reps=50, seed=3).matrix == wild_draws(20, reps=50, seed=3).matrix).all()


def test_cr1_wald_f_matches_statsmodels() -> None:
    y, X, g = _clustered_data(6, 15)
    frame = X.assign(y=y)
    fit = smf.ols("y ~ treat + x", data=frame).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
    ref = float(np.squeeze(fit.f_test("treat = 0, x = 0").fvalue))
    assert cr1_wald_f(y, X.to_numpy(), g, [1, 2]) == pytest.approx(ref, rel=1e-9)


def test_randomization_wald_enumerates_village_assignments() -> None:
    # 8 villages, 4 treated: all C(8, 4) = 70 assignments. Independent loop with statsmodels.
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(8), 6)
    treat = (np.arange(8) % 2 == 1).astype(float)[g]
    X0 = rng.normal(size=(len(g), 2))

    def design(t: np.ndarray):
        return t, np.column_stack([np.ones(len(t)), X0])

    result = randomization_wald(design, treatment=treat, clusters=g, terms=[1, 2], reps=1000, seed=0)
    assert result.enumerated and result.n_assignments == 70
    stats = []
    for combo in itertools.combinations(range(8), 4):
        t = np.isin(g, combo).astype(float)
        frame = pd.DataFrame({"t": t, "a": X0[:, 0], "b": X0[:, 1]})
        fit = smf.ols("t ~ a + b", data=frame).fit(cov_type="cluster", cov_kwds={"groups": g}, use_t=True)
        stats.append(float(np.squeeze(fit.f_test("a = 0, b = 0").fvalue)))
    observed = stats[list(itertools.combinations(range(8), 4)).index((1, 3, 5, 7))]
    assert result.observed == pytest.approx(observed, rel=1e-9)
    expected = np.mean(np.array(stats) >= observed - 1e-9 * max(1.0, observed))
    assert result.p_value == pytest.approx(expected)


# ------------------------------------------------------------------------ the inference table


def _designs(panel: pd.DataFrame, outcomes: list[OutcomeSpec]):
    designs = []
    for outcome in outcomes:
        designs += designs_for(panel, outcome, clustered=True)
    return designs


def _impact(designs) -> pd.DataFrame:
    from analysis.estimate.regressions import estimate_designs

    return estimate_designs(designs)


def test_impact_inference_wild_q_crv3_ri_and_romano_wolf() -> None:
    panel = make_panel(seed=21, villages=10, per=12, strata=2)
    outcomes = [OutcomeSpec(n, {"baseline": n, "followup": n}, family="fam") for n in ("y", "b1", "b2")]
    outcomes.append(OutcomeSpec("f", {"followup": "f"}, family="other"))
    designs = _designs(panel, outcomes)
    impact = _impact(designs)
    options = InferenceOptions(reps=999, seed=5, crv3=True, ri=True, romano_wolf=True)
    table = impact_inference(
        designs,
        impact,
        q_groups={o.name: o.family or "" for o in outcomes},
        families={o.name: o.family or "" for o in outcomes},
        clustered=True,
        options=options,
    )
    assert tuple(table.columns) == INFERENCE_COLUMNS
    assert set(table["estimator"]) == {"followup_diff", "did", "ancova"}  # before_after is never tested
    assert len(table) == 3 * 3 + 1
    # 10 clusters < 12: Webb weights, drawn with the study seed (6^10 > 999: not enumerated).
    assert set(table["wild_weights"]) == {"webb"} and set(table["wild_reps"]) == {999}
    draws = wild_draws(10, reps=999, seed=5)
    labels = pd.Index(sorted(panel["cluster"].astype(str).unique()))
    boot = {}
    for design in designs:
        if design.estimator == "before_after":
            continue
        codes = labels.get_indexer(pd.Index(design.clusters.astype(str)))
        t, t_star = wcr_t_statistics(design.y, design.X, codes, param=design.term, draws=draws.matrix)
        boot[(design.outcome, design.estimator)] = (t, t_star)
        row = table.set_index(["outcome", "estimator"]).loc[(design.outcome, design.estimator)]
        assert row["p_value_wild"] == pytest.approx(np.mean(np.abs(t_star) >= abs(t) - 1e-9 * max(1, abs(t))))
        # CRV3, jackknife scaling, p from t(G - 1)
        se = crv3_se(design.y, design.X, design.clusters, scaling="jackknife")[design.term]
        est = impact.set_index(["outcome", "estimator"]).loc[(design.outcome, design.estimator), "estimate"]
        assert row["se_crv3"] == pytest.approx(se, rel=1e-10)
        from scipy import stats

        assert row["p_value_crv3"] == pytest.approx(2 * stats.t.sf(abs(est / se), 9), rel=1e-10)
        assert 0 <= row["p_value_ri"] <= 1 and row["ri_assignments"] > 0
    # q-values: sharpened within (family, estimator), from the wild p-values
    for _, part in table.groupby(["q_group", "estimator"]):
        expected = sharpened_qvalues(part["p_value_wild"].to_numpy())
        np.testing.assert_allclose(part["q_value_family"].to_numpy(), expected)
        assert set(part["q_source"]) == {"wild"}
    # Romano-Wolf from the same joint draws (docs/methods.md section 4.2 rule, written out here)
    part = table.loc[(table["q_group"] == "fam") & (table["estimator"] == "ancova")]
    t_obs = np.array([abs(boot[(o, "ancova")][0]) for o in part["outcome"]])
    t_star = np.abs(np.column_stack([boot[(o, "ancova")][1] for o in part["outcome"]]))
    order = np.argsort(-t_obs)
    p_sorted = []
    for j, k in enumerate(order):
        maxima = t_star[:, order[j:]].max(axis=1)
        p_sorted.append((np.sum(maxima >= t_obs[k]) + 1) / (len(maxima) + 1))
    p_sorted = np.maximum.accumulate(p_sorted)
    expected = np.empty(len(order))
    expected[order] = p_sorted
    np.testing.assert_allclose(part["p_value_romano_wolf"].to_numpy(), expected)


def test_many_clusters_use_cr1_for_q_values() -> None:
    panel = make_panel(seed=22, villages=52, per=4)
    outcomes = [OutcomeSpec(n, {"baseline": n, "followup": n}, family="fam") for n in ("y", "b1")]
    designs = _designs(panel, outcomes)
    impact = _impact(designs)
    table = impact_inference(
        designs, impact, q_groups={"y": "fam", "b1": "fam"}, families={"y": "fam", "b1": "fam"},
        clustered=True, options=InferenceOptions(reps=199, seed=1),
    )  # fmt: skip
    assert table["p_value_wild"].isna().all()
    assert set(table["q_source"]) == {"cr1"}
    assert table["note"].str.contains("52 clusters").all()


def test_unclustered_studies_get_q_values_only() -> None:
    panel = make_panel(seed=23)
    outcomes = [OutcomeSpec(n, {"baseline": n, "followup": n}, family="fam") for n in ("y", "b1")]
    designs = []
    for outcome in outcomes:
        designs += designs_for(panel, outcome, clustered=False)
    impact = _impact(designs)
    table = impact_inference(
        designs, impact, q_groups={"y": "fam", "b1": "fam"}, families={"y": "fam", "b1": "fam"},
        clustered=False, options=InferenceOptions(reps=199, seed=1, crv3=True, romano_wolf=True),
    )  # fmt: skip
    assert table["p_value_wild"].isna().all() and table["p_value_crv3"].isna().all()
    assert table["q_value_family"].between(0, 1).all()
    assert not math.isnan(float(table["p_value_cr1"].iloc[0]))
