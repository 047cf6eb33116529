"""Estimators of analysis.estimate.regressions against docs/methods.md worked numbers and independent computations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from toy_data import toy_design

from analysis.errors import EstimationError
from analysis.estimate.regressions import designs_for, estimate_outcome, fit_design, fit_ols
from analysis.inputs.study import OutcomeSpec


def test_cr1_matches_methods_toy() -> None:
    # docs/methods.md §2.1: statsmodels, pyfixest and a manual computation agree on these numbers.
    y, X, g = toy_design()
    fit = fit_ols(y, X, clusters=g)
    assert fit.se_type == "CR1"
    assert fit.n_clusters == 8
    np.testing.assert_allclose(fit.params.to_numpy(), [0.943679, 0.495611, 0.237654], atol=5e-7)
    np.testing.assert_allclose(fit.bse.to_numpy(), [0.310096, 0.372529, 0.139709], atol=5e-7)
    # p from t(G-1) = t(7), not the normal distribution (0.183388 would be the pitfall)
    assert fit.pvalues["treat"] == pytest.approx(0.225092, abs=5e-7)
    assert fit.df_inference == 7


def test_cr1_equals_hand_formula() -> None:
    # V = c (X'X)^-1 [sum_g X_g' u_g u_g' X_g] (X'X)^-1, c = G/(G-1) (N-1)/(N-K): docs/methods.md §2.1
    y, X, g = toy_design()
    Xm, ym = X.to_numpy(), y.to_numpy()
    beta = np.linalg.solve(Xm.T @ Xm, Xm.T @ ym)
    u = ym - Xm @ beta
    bread = np.linalg.inv(Xm.T @ Xm)
    meat = sum(np.outer(Xm[g == k].T @ u[g == k], Xm[g == k].T @ u[g == k]) for k in np.unique(g))
    n, k, G = len(ym), Xm.shape[1], 8
    c = G / (G - 1) * (n - 1) / (n - k)
    assert c == pytest.approx(1.204633, abs=5e-7)
    se = np.sqrt(np.diag(c * bread @ meat @ bread))
    fit = fit_ols(y, X, clusters=g)
    np.testing.assert_allclose(fit.bse.to_numpy(), se, rtol=1e-10)
    lo, hi = beta[1] + np.array([-1, 1]) * stats.t.ppf(0.975, G - 1) * se[1]
    assert fit.conf_int.loc["treat"].tolist() == pytest.approx([lo, hi], rel=1e-10)


def test_hc1_without_clusters_matches_hand_formula() -> None:
    y, X, _ = toy_design()
    Xm, ym = X.to_numpy(), y.to_numpy()
    beta = np.linalg.solve(Xm.T @ Xm, Xm.T @ ym)
    u = ym - Xm @ beta
    bread = np.linalg.inv(Xm.T @ Xm)
    n, k = Xm.shape
    V = n / (n - k) * bread @ (Xm.T * u**2) @ Xm @ bread
    fit = fit_ols(y, X)
    assert fit.se_type == "HC1"
    np.testing.assert_allclose(fit.bse.to_numpy(), np.sqrt(np.diag(V)), rtol=1e-10)
    assert fit.df_inference == n - k


def test_collinear_design_is_an_estimation_error() -> None:
    y, X, g = toy_design()
    X = X.assign(treat=0.0)
    with pytest.raises(EstimationError, match="variation in treatment"):
        fit_ols(y, X, clusters=g)


def _panel(seed: int = 7, villages: int = 12, per: int = 15) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = villages * per
    village = np.repeat(np.arange(villages), per).astype(str)
    treat = np.repeat(np.arange(villages) % 2, per).astype(float)
    v_eff = np.repeat(rng.normal(0, 1, villages), per)
    y0 = 10 + v_eff + rng.normal(0, 2, n)
    y1 = 11 + 0.6 * y0 + 1.5 * treat + v_eff + rng.normal(0, 2, n)
    hh = [f"h{i:04d}" for i in range(n)]
    base = pd.DataFrame({"hh": hh, "round": "baseline", "y": y0})
    follow = pd.DataFrame({"hh": hh, "round": "followup", "y": y1})
    follow = follow.iloc[10:]  # attrition: the first 10 households are not found again
    new = pd.DataFrame({"hh": ["new1", "new2"], "round": "followup", "y": [12.0, 13.0]})
    data = pd.concat([base, follow, new], ignore_index=True)
    design = pd.DataFrame(
        {
            "hh": hh + ["new1", "new2"],
            "treatment": list(treat) + [1.0, 0.0],
            "village": list(village) + ["0", "1"],
        }
    )
    data = data.merge(design, on="hh")
    data["cluster"] = data["village"]
    data["strata"] = None
    data["weight"] = 1.0
    data["in_sample"] = True
    return data


def test_estimators_match_independent_statsmodels_formulas() -> None:
    panel = _panel()
    table = estimate_outcome(panel, OutcomeSpec("y", {"baseline": "y", "followup": "y"}), clustered=True)
    got = table.set_index("estimator")
    assert list(got.index) == ["followup_diff", "did", "ancova", "before_after"]
    wide = panel.pivot_table(index="hh", columns="round", values="y").join(
        panel.drop_duplicates("hh").set_index("hh")[["treatment", "cluster"]]
    )
    # DiD with household fixed effects, estimated the textbook way: household dummies, round dummy,
    # treatment x post, on the long panel of households seen twice, clustered by village.
    both = wide.dropna(subset=["baseline", "followup"]).index
    long = panel.loc[panel["hh"].isin(both)].assign(post=lambda f: (f["round"] == "followup").astype(float))
    long["tp"] = long["treatment"] * long["post"]
    fe = smf.ols("y ~ tp + post + C(hh)", data=long).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(long["cluster"])[0]}, use_t=True
    )
    assert got.loc["did", "estimate"] == pytest.approx(fe.params["tp"], rel=1e-9)
    assert got.loc["did", "n_obs"] == len(both)
    # ANCOVA on the same households
    w = wide.loc[both].reset_index()
    anc = smf.ols("followup ~ treatment + baseline", data=w).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(w["cluster"])[0]}, use_t=True
    )
    assert got.loc["ancova", "estimate"] == pytest.approx(anc.params["treatment"], rel=1e-9)
    assert got.loc["ancova", "std_error"] == pytest.approx(anc.bse["treatment"], rel=1e-9)
    # Follow-up difference uses every household seen at follow-up, new ones included
    f = wide.dropna(subset=["followup"]).reset_index()
    post = smf.ols("followup ~ treatment", data=f).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(f["cluster"])[0]}, use_t=True
    )
    assert got.loc["followup_diff", "estimate"] == pytest.approx(post.params["treatment"], rel=1e-9)
    assert got.loc["followup_diff", "n_obs"] == len(f)
    assert got.loc["followup_diff", "p_value"] == pytest.approx(post.pvalues["treatment"], rel=1e-9)
    # before/after: mean change among programme households seen twice
    change = (w["followup"] - w["baseline"])[w["treatment"] == 1]
    assert got.loc["before_after", "estimate"] == pytest.approx(change.mean(), rel=1e-12)
    assert set(got["se_type"]) == {"CR1"}


def test_followup_only_outcome_gets_followup_diff_alone() -> None:
    panel = _panel()
    panel["got"] = np.where(panel["round"] == "followup", panel["treatment"], np.nan)
    table = estimate_outcome(
        panel, OutcomeSpec("got", {"baseline": "got", "followup": "got"}), clustered=True
    )
    assert table["estimator"].tolist() == ["followup_diff"]


def test_rows_out_of_sample_are_not_used() -> None:
    panel = _panel()
    panel.loc[panel["hh"] == "h0015", "in_sample"] = False  # a programme household seen twice
    table = estimate_outcome(panel, OutcomeSpec("y", {"baseline": "y", "followup": "y"}), clustered=False)
    full = estimate_outcome(_panel(), OutcomeSpec("y", {"baseline": "y", "followup": "y"}), clustered=False)
    assert (table["n_obs"].to_numpy() == full["n_obs"].to_numpy() - 1).all()
    assert set(table["se_type"]) == {"HC1"}


# ---------------------------------------------------------------- covariates, weights, pooled DiD


def _clustered(formula: str, data: pd.DataFrame, *, weights: pd.Series | None = None):
    groups = pd.factorize(data["cluster"])[0]
    model = smf.wls(formula, data=data, weights=weights) if weights is not None else smf.ols(formula, data=data)
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)


def test_covariates_enter_as_baseline_values_with_a_missing_dummy() -> None:
    from panel_data import make_panel

    panel = make_panel(seed=3)
    spec = OutcomeSpec("y", {"baseline": "y", "followup": "y"})
    got = estimate_outcome(panel, spec, clustered=True, covariates=["x"]).set_index("estimator")
    # Independent construction: wide frame by hand, x from baseline, missing -> 0 plus a dummy.
    base = panel[panel["round"] == "baseline"].set_index("hh")
    follow = panel[panel["round"] == "followup"].set_index("hh")
    wide = follow[["y", "treatment", "cluster"]].rename(columns={"y": "y1"})
    wide["y0"] = base["y"].reindex(wide.index)
    x = base["x"].reindex(wide.index)
    wide["xf"] = x.fillna(0.0)
    wide["xm"] = x.isna().astype(float)
    assert wide["xm"].sum() > 0  # new households and a few missing values
    post = _clustered("y1 ~ treatment + xf + xm", wide)
    assert got.loc["followup_diff", "estimate"] == pytest.approx(post.params["treatment"], rel=1e-10)
    assert got.loc["followup_diff", "std_error"] == pytest.approx(post.bse["treatment"], rel=1e-10)
    both = wide.dropna(subset=["y0"]).assign(d=lambda f: f["y1"] - f["y0"])
    anc = _clustered("y1 ~ treatment + y0 + xf + xm", both)
    assert got.loc["ancova", "estimate"] == pytest.approx(anc.params["treatment"], rel=1e-10)
    fd = _clustered("d ~ treatment + xf + xm", both)
    assert got.loc["did", "std_error"] == pytest.approx(fd.bse["treatment"], rel=1e-10)
    # before/after stays a plain mean change
    assert got.loc["before_after", "estimate"] == pytest.approx(both.loc[both["treatment"] == 1, "d"].mean())


def test_survey_weights_are_analytic_weights() -> None:
    from panel_data import make_panel

    panel = make_panel(seed=4, weights=True)
    spec = OutcomeSpec("y", {"baseline": "y", "followup": "y"})
    got = estimate_outcome(panel, spec, clustered=True).set_index("estimator")
    follow = panel[panel["round"] == "followup"]
    fit = _clustered("y ~ treatment", follow, weights=follow["weight"])
    assert got.loc["followup_diff", "estimate"] == pytest.approx(fit.params["treatment"], rel=1e-10)
    assert got.loc["followup_diff", "std_error"] == pytest.approx(fit.bse["treatment"], rel=1e-10)


def test_pooled_did_is_the_t_post_interaction_on_the_long_panel() -> None:
    from panel_data import make_panel

    panel = make_panel(seed=5, strata=2)
    spec = OutcomeSpec("y", {"baseline": "y", "followup": "y"})
    got = estimate_outcome(panel, spec, clustered=True, did_form="none").set_index("estimator")
    long = panel.assign(post=(panel["round"] == "followup").astype(float))
    fit = _clustered("y ~ treatment * post + C(strata)", long)
    assert got.loc["did", "estimate"] == pytest.approx(fit.params["treatment:post"], rel=1e-10)
    assert got.loc["did", "std_error"] == pytest.approx(fit.bse["treatment:post"], rel=1e-10)
    assert got.loc["did", "n_obs"] == len(long)  # household-rounds, attriters and new households too
    # With a balanced panel and no strata the pooled and the first-difference DiD coincide.
    balanced = make_panel(seed=5, attrition=0.0)
    balanced = balanced[~balanced["hh"].str.startswith("new")]
    fd = estimate_outcome(balanced, spec, clustered=True).set_index("estimator")
    pooled = estimate_outcome(balanced, spec, clustered=True, did_form="none").set_index("estimator")
    assert pooled.loc["did", "estimate"] == pytest.approx(fd.loc["did", "estimate"], rel=1e-9)


def test_pooled_did_without_villages_clusters_by_household() -> None:
    from panel_data import make_panel

    panel = make_panel(seed=6)
    spec = OutcomeSpec("y", {"baseline": "y", "followup": "y"})
    got = estimate_outcome(panel, spec, clustered=False, did_form="none").set_index("estimator")
    long = panel.assign(post=(panel["round"] == "followup").astype(float))
    fit = smf.ols("y ~ treatment * post", data=long).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(long["hh"])[0]}, use_t=True
    )
    assert got.loc["did", "std_error"] == pytest.approx(fit.bse["treatment:post"], rel=1e-10)
    assert got.loc["did", "n_clusters"] == long["hh"].nunique()


def test_wald_test_matches_statsmodels() -> None:
    from analysis.estimate.regressions import wald_test

    y, X, g = toy_design()
    fit = fit_ols(y, X, clusters=g)
    test = wald_test(fit, ["treat", "x"])
    sm_fit = smf.ols("y ~ treat + x", data=toy_design_frame()).fit(
        cov_type="cluster", cov_kwds={"groups": g}, use_t=True
    )
    ref = sm_fit.f_test("treat = 0, x = 0")
    assert test.f_stat == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-10)
    assert (test.df_num, test.df_denom) == (2, 7)
    assert test.p_value == pytest.approx(float(ref.pvalue), rel=1e-8)
    # More restrictions than G - 1 degrees of freedom cannot be tested.
    few = wald_test(dataclasses.replace(fit, df_inference=1.0), ["treat", "x"])
    assert np.isnan(few.f_stat) and "exceed" in few.note


def toy_design_frame() -> pd.DataFrame:
    y, X, _ = toy_design()
    return X.assign(y=y)


def test_redundant_column_finds_a_sum_of_items() -> None:
    from analysis.estimate.regressions import redundant_column

    rng = np.random.default_rng(0)
    items = pd.DataFrame(rng.integers(0, 2, (60, 4)).astype(float), columns=list("abcd"))
    assert redundant_column(items) is None
    with_score = items.assign(score=items.sum(axis=1))[["score", "a", "b", "c", "d"]]
    assert redundant_column(with_score) == "score"  # the first column in the relation
    assert redundant_column(with_score.drop(columns="score")) is None


@pytest.mark.parametrize("se", ["CR1", "HC1", "iid"])
@pytest.mark.parametrize("weighted", [False, True])
def test_absorbed_strata_equal_strata_dummies(se: str, weighted: bool) -> None:
    # Frisch–Waugh–Lovell: absorbing the strata must give the regression with one dummy per
    # stratum, small-sample factor and t degrees of freedom included (Stata regress i.strata).
    rng = np.random.default_rng(41)
    n, villages = 600, 30
    village = rng.integers(0, villages, n)
    strata = pd.Series(np.array(["a", "b", "c", "d", "e"])[village % 5])
    frame = pd.DataFrame(
        {
            "treatment": (village % 2).astype(float),
            "x": rng.normal(size=n),
            "strata": strata,
            "cluster": village.astype(str),
            "weight": rng.uniform(0.5, 2.0, n) if weighted else 1.0,
        }
    )
    frame["y"] = 0.4 * frame["treatment"] + 0.3 * frame["x"] + (village % 5) * 0.7 + rng.normal(size=n)
    X = pd.DataFrame({"const": 1.0, "treatment": frame["treatment"], "x": frame["x"]})
    dummies = pd.get_dummies(strata, prefix="s", drop_first=True).astype(float)
    clusters = frame["cluster"] if se == "CR1" else None
    weights = frame["weight"]
    full = fit_ols(frame["y"], X.join(dummies), clusters=clusters, weights=weights, se=se)  # type: ignore[arg-type]
    absorbed = fit_ols(frame["y"], X, clusters=clusters, weights=weights, absorb=strata, se=se)  # type: ignore[arg-type]
    terms = ["treatment", "x"]
    np.testing.assert_allclose(absorbed.params[terms], full.params[terms], rtol=1e-10)
    np.testing.assert_allclose(absorbed.bse[terms], full.bse[terms], rtol=1e-10)
    np.testing.assert_allclose(absorbed.pvalues[terms], full.pvalues[terms], rtol=1e-9)
    np.testing.assert_allclose(absorbed.conf_int.loc[terms], full.conf_int.loc[terms], rtol=1e-10)
    np.testing.assert_allclose(absorbed.cov_params.loc[terms, terms], full.cov_params.loc[terms, terms], rtol=1e-9)
    assert absorbed.df_inference == full.df_inference
    assert absorbed.nobs == full.nobs and absorbed.se_type == full.se_type
    assert "const" not in absorbed.params.index


def test_absorbed_strata_keep_collinearity_an_estimation_error() -> None:
    # Treatment constant within every stratum is absorbed entirely: nothing identifies it.
    frame = pd.DataFrame({"strata": list("aabbcc") * 5, "y": np.arange(30.0) % 7})
    frame["treatment"] = (frame["strata"] == "a").astype(float)
    X = pd.DataFrame({"const": 1.0, "treatment": frame["treatment"]})
    with pytest.raises(EstimationError, match="collinear"):
        fit_ols(frame["y"], X, absorb=frame["strata"], se="HC1")


def test_design_fit_absorbs_strata_with_the_numbers_of_its_design_matrix() -> None:
    # fit_design absorbs the strata; design.X still holds their dummies (for the bootstrap and
    # randomization code), and both fits agree.
    panel = _panel()
    panel["strata"] = "s" + (panel["cluster"].astype(int) // 4).astype(str)  # 3 strata of 4 villages
    outcome = OutcomeSpec("y", {"baseline": "y", "followup": "y"})
    for design in designs_for(panel, outcome, clustered=True):
        if design.empty:
            continue
        fast = fit_design(design)
        slow = fit_ols(design.y, design.X, clusters=design.clusters, weights=design.weights)
        if design.estimator != "before_after":
            assert any(c.startswith("strata_") for c in design.X.columns)
        assert fast.params[design.term] == pytest.approx(slow.params[design.term], rel=1e-9)
        assert fast.bse[design.term] == pytest.approx(slow.bse[design.term], rel=1e-9)
        assert fast.pvalues[design.term] == pytest.approx(slow.pvalues[design.term], rel=1e-8)
