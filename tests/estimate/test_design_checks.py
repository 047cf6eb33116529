"""Balance, attrition, Lee bounds, MDE, the goal deprivation index, women's twins and LaTeX."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from panel_data import make_panel
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from analysis.estimate.attrition import ATTRITION_COLUMNS, LEE_COLUMNS, attrition_table, lee_bounds_table
from analysis.estimate.balance import BALANCE_COLUMNS, balance_table, weighted_mean_sd
from analysis.estimate.deprivation import AF_COLUMNS, deprivation_table, goal_weights
from analysis.estimate.latex import attrition_latex, balance_latex, escape, impact_latex, indices_latex
from analysis.estimate.mde import MDE_COLUMNS, mde_table
from analysis.estimate.regressions import estimate_outcome
from analysis.estimate.women import is_woman, women_outcomes
from analysis.inputs.study import OutcomeSpec


def _cluster_fit(formula: str, data: pd.DataFrame):
    return smf.ols(formula, data=data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["cluster"])[0]}, use_t=True
    )


# ------------------------------------------------------------------------------------ balance


def test_weighted_mean_sd() -> None:
    x = pd.Series([1.0, 4.0, 2.0, 8.0, 5.0])
    assert weighted_mean_sd(x) == pytest.approx((x.mean(), x.std(ddof=1)))
    w = pd.Series([1.0, 2.0, 0.5, 1.5, 1.0])
    d = DescrStatsW(x.to_numpy(), weights=w.to_numpy())
    mean, sd = weighted_mean_sd(x, w)
    assert mean == pytest.approx(d.mean)
    assert sd == pytest.approx(np.sqrt(d.var * 5 / 4))  # analytic weights, n - 1 correction


def test_balance_table_against_independent_computations() -> None:
    panel = make_panel(seed=31, villages=14, per=10, strata=2)
    table = balance_table(panel, [("y", "y"), ("b1", "b1"), ("x", "x")], clustered=True, ri_reps=200, seed=1)
    assert tuple(table.columns) == BALANCE_COLUMNS
    assert list(table["sample"].unique()) == ["baseline", "panel"]
    base = panel[panel["round"] == "baseline"].copy()
    row = table.set_index(["sample", "variable"]).loc[("baseline", "y")]
    t, c = base.loc[base["treatment"] == 1, "y"], base.loc[base["treatment"] == 0, "y"]
    assert row["mean_treatment"] == pytest.approx(t.mean()) and row["sd_comparison"] == pytest.approx(c.std())
    assert row["normalized_difference"] == pytest.approx((t.mean() - c.mean()) / np.sqrt((t.var() + c.var()) / 2))
    fit = _cluster_fit("y ~ treatment + C(strata)", base)
    assert row["difference"] == pytest.approx(fit.params["treatment"], rel=1e-10)
    assert row["std_error"] == pytest.approx(fit.bse["treatment"], rel=1e-10)
    assert row["p_value"] == pytest.approx(fit.pvalues["treatment"], rel=1e-8)
    # joint orthogonality: T on all variables, CR1 F test, F(K, G - 1)
    joint = table.loc[(table["sample"] == "baseline") & (table["row_type"] == "joint_test")].iloc[0]
    complete = base.dropna(subset=["y", "b1", "x"])
    jf = _cluster_fit("treatment ~ y + b1 + x + C(strata)", complete)
    ref = jf.f_test("y = 0, b1 = 0, x = 0")
    assert joint["f_stat"] == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-9)
    assert (joint["df_num"], joint["df_denom"]) == (3, 13)
    assert joint["p_value"] == pytest.approx(stats.f.sf(joint["f_stat"], 3, 13), rel=1e-9)
    assert 0 < joint["p_value_ri"] <= 1 and joint["ri_assignments"] == 200
    # stayers only
    stayers = table.set_index(["sample", "variable"]).loc[("panel", "y")]
    kept = base[base["linkage"] == "panel"]
    assert stayers["n_treatment"] + stayers["n_comparison"] == len(kept)


def test_balance_joint_test_leaves_out_an_exact_sum() -> None:
    panel = make_panel(seed=32)
    panel["score"] = panel[["b1", "b2", "b3"]].sum(axis=1)
    variables = [("score", "score"), ("b1", "b1"), ("b2", "b2"), ("b3", "b3")]
    table = balance_table(panel, variables, clustered=True, ri_reps=0)
    joint = table.loc[table["row_type"] == "joint_test"].iloc[0]
    assert "score" in joint["note"] and joint["df_num"] == 3


# ---------------------------------------------------------------------------------- attrition


def test_attrition_rates_and_tests() -> None:
    panel = make_panel(seed=33, villages=16, per=12, attrition=0.15)
    table = attrition_table(panel, controls=[("y", "y"), ("x", "x")], clustered=True, ri_reps=100, seed=2)
    assert tuple(table.columns) == ATTRITION_COLUMNS
    base = panel[panel["round"] == "baseline"].assign(
        a=lambda f: (f["linkage"] == "baseline_only").astype(float)
    )
    rates = table.loc[table["test"] == "rate"].set_index("arm")
    for arm, value in (("comparison", 0.0), ("treatment", 1.0)):
        part = base[base["treatment"] == value]
        assert rates.loc[arm, "rate"] == pytest.approx(part["a"].mean())
        assert rates.loc[arm, "n_attrited"] == part["a"].sum()
    diff = table.loc[table["test"] == "differential_rate"].iloc[0]
    fit = _cluster_fit("a ~ treatment", base)
    assert diff["estimate"] == pytest.approx(fit.params["treatment"], rel=1e-10)
    assert diff["std_error"] == pytest.approx(fit.bse["treatment"], rel=1e-10)
    comp = table.loc[table["test"] == "differential_composition"].iloc[0]
    base["xf"] = base["x"].fillna(0.0)
    base["xm"] = base["x"].isna().astype(float)
    cf = _cluster_fit("a ~ treatment * (y + xf + xm)", base)
    ref = cf.f_test("treatment:y = 0, treatment:xf = 0, treatment:xm = 0")
    assert comp["f_stat"] == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-8)
    assert comp["df_num"] == 3 and comp["variables"] == "y x"
    assert 0 < comp["p_value_ri"] <= 1


def test_lee_bounds_table_on_the_methods_toy() -> None:
    # docs/methods.md section 5.2: treated 8 of 10 observed (1..8), control 6 of 10 (1..6): LB 0, UB 2.
    rows = []
    for arm, observed in ((1.0, 8), (0.0, 6)):
        for i in range(10):
            hh = f"{int(arm)}-{i}"
            linkage = "panel" if i < observed else "baseline_only"
            rows.append({"hh": hh, "round": "baseline", "treatment": arm, "linkage": linkage, "y": 0.0})
            if i < observed:
                rows.append({"hh": hh, "round": "followup", "treatment": arm, "linkage": linkage, "y": i + 1.0})
    panel = pd.DataFrame(rows).assign(cluster=lambda f: f["hh"], in_sample=True, strata=None, weight=1.0)
    spec = OutcomeSpec("y", {"baseline": "y", "followup": "y"})
    table = lee_bounds_table(panel, [spec], clustered=False, reps=200, seed=3)
    assert tuple(table.columns) == LEE_COLUMNS
    row = table.iloc[0]
    assert (row["lower"], row["upper"]) == pytest.approx((0.0, 2.0))
    assert row["trimmed_arm"] == "treated" and row["trim_share"] == pytest.approx(0.25)
    assert row["ci_low"] <= 0.0 and row["ci_high"] >= 2.0 and row["n_observed"] == 14


# ---------------------------------------------------------------------------------------- MDE


def test_mde_table_evaluates_the_formula_at_the_realized_design() -> None:
    panel = make_panel(seed=34, villages=20, per=15)
    spec = OutcomeSpec("y", {"baseline": "y", "followup": "y"})
    raw = mde_table(panel, [spec], clustered=True)
    assert tuple(raw.columns) == MDE_COLUMNS
    table = raw.set_index("design")
    base = panel[panel["round"] == "baseline"]
    follow = panel[panel["round"] == "followup"]
    # ICC by one-way ANOVA written out (equal cluster sizes at baseline)
    groups = base.groupby("cluster")["y"]
    m = 15
    msb = m * ((groups.mean() - base["y"].mean()) ** 2).sum() / (20 - 1)
    msw = ((base["y"] - groups.transform("mean")) ** 2).sum() / (len(base) - 20)
    rho = max((msb - msw) / m, 0) / (max((msb - msw) / m, 0) + msw)
    row = table.loc["followup_diff"]
    assert row["icc"] == pytest.approx(rho, rel=1e-10)
    J, size = 20, len(follow) / 20
    mult = stats.t.ppf(0.975, J - 2) + stats.t.ppf(0.8, J - 2)
    expected = mult * np.sqrt(rho / (0.25 * J) + (1 - rho) / (0.25 * J * size))
    assert row["mde_sd"] == pytest.approx(expected, rel=1e-10)
    assert row["mde"] == pytest.approx(expected * base["y"].std(ddof=1), rel=1e-10)
    anc = table.loc["ancova"]
    assert 0 < anc["r2_individual"] < 1 and anc["mde_sd"] < row["mde_sd"]


# ------------------------------------------------------------------- Alkire-Foster across goals


def test_goal_weights_are_nested_and_equal() -> None:
    outcomes = [
        OutcomeSpec("a", {}, family="g1"),
        OutcomeSpec("b", {}, family="g1"),
        OutcomeSpec("c", {}, family="g2"),
    ]
    weights = goal_weights(outcomes)
    assert [str(w) for w in weights.values()] == ["1/4", "1/4", "1/2"]


def test_deprivation_table_against_a_direct_count() -> None:
    panel = make_panel(seed=35)
    outcomes = [
        OutcomeSpec("b1", {"baseline": "b1", "followup": "b1"}, family="institutions"),
        OutcomeSpec("b2", {"baseline": "b2", "followup": "b2"}, family="institutions"),
        OutcomeSpec("y", {"baseline": "y", "followup": "y"}, family="life"),
        OutcomeSpec("c", {"baseline": "c", "followup": "c"}, family="community", direction=-1),
        OutcomeSpec("f", {"followup": "f"}, family="life"),  # one round only: not an indicator
    ]
    table = deprivation_table(
        panel, outcomes, families=("institutions", "life", "community"), k=1 / 3, cutoffs={"y": 10.0}
    )
    assert tuple(table.columns) == AF_COLUMNS
    assert set(table.loc[table["statistic"] == "weight", "indicator"]) - {""} == {"b1", "b2", "y", "c"}
    base_c = panel.loc[panel["round"] == "baseline", "c"].median()
    for round_name in ("baseline", "followup"):
        part = panel[panel["round"] == round_name]
        deprived = np.column_stack(
            [part["b1"] == 0, part["b2"] == 0, part["y"] < 10.0,
             part["c"] > base_c if base_c > part["c"].min() else part["c"] >= base_c]
        ).astype(float)  # fmt: skip
        score = deprived @ np.array([1 / 6, 1 / 6, 1 / 3, 1 / 3])
        poor = score > 1 / 3 + 1e-9
        got = table.loc[(table["round"] == round_name) & (table["arm"] == "all")].set_index("statistic")
        assert got.loc["H", "value"] == pytest.approx(poor.mean())
        assert got.loc["M0", "value"] == pytest.approx(np.where(poor, score, 0).mean())
        assert got.loc["A", "value"] == pytest.approx(score[poor].mean())
    contributions = table.loc[
        (table["statistic"] == "contribution") & (table["indicator"] == "") & (table["round"] == "followup")
        & (table["arm"] == "all")
    ]  # fmt: skip
    assert contributions["value"].sum() == pytest.approx(1.0)


# ------------------------------------------------------------------------------------- women


def test_women_twins_use_the_rounds_with_a_woman_respondent() -> None:
    assert is_woman(pd.Series(["female", " Perempuan", "male", None, "F", "laki-laki"])).tolist() == [
        True, True, False, False, True, False
    ]  # fmt: skip
    panel = make_panel(seed=36)
    outcomes = [
        OutcomeSpec("b1", {"baseline": "b1", "followup": "b1"}, family="participation"),
        OutcomeSpec("y", {"baseline": "y", "followup": "y"}, family="income"),
    ]
    columns, specs = women_outcomes(panel, outcomes, sex_column="sex")
    assert [s.name for s in specs] == ["b1_women"] and specs[0].family == "participation_women"
    work = panel.join(columns)
    table = estimate_outcome(work, specs[0], clustered=True).set_index("estimator")
    woman = panel.assign(w=panel["sex"] == "female").pivot_table(index="hh", columns="round", values="w")
    both = int(((woman["baseline"] == 1) & (woman["followup"] == 1)).sum())
    at_follow = int((woman["followup"] == 1).sum())
    assert table.loc["did", "n_obs"] == both and table.loc["ancova", "n_obs"] == both
    assert table.loc["followup_diff", "n_obs"] == at_follow
    only = work[work["sex"] == "female"]
    fit = _cluster_fit("b1 ~ treatment", only[only["round"] == "followup"])
    assert table.loc["followup_diff", "estimate"] == pytest.approx(fit.params["treatment"], rel=1e-10)


# ------------------------------------------------------------------------------------- LaTeX


def test_latex_tables_are_well_formed() -> None:
    assert escape("a_b & 50% #1") == r"a\_b \& 50\% \#1"
    panel = make_panel(seed=37)
    balance = balance_table(panel, [("y", "y"), ("b_1", "b1")], clustered=True, ri_reps=0)
    attrition = attrition_table(panel, controls=[("y", "y")], clustered=True, ri_reps=0)
    impact = pd.concat(
        [
            estimate_outcome(panel, OutcomeSpec(n, {"baseline": c, "followup": c}), clustered=True)
            for n, c in (("y", "y"), ("index_klk_fam", "b1"))
        ]
    )
    inference = impact.assign(q_value_family=0.5)[["outcome", "estimator", "q_value_family"]]
    for text in (
        balance_latex(balance),
        attrition_latex(attrition),
        impact_latex(impact, inference),
        indices_latex(impact, inference),
    ):
        assert text.startswith("\\begin{tabular}") and text.rstrip().endswith("\\end{tabular}")
        assert text.count("\\toprule") == text.count("\\bottomrule") == 1
        body = text.split("\\midrule\n")[1].split("\\bottomrule")[0]
        columns = {line.count(" & ") for line in body.strip().splitlines()}
        assert len(columns) == 1  # every row has the same number of cells
    assert "b\\_1" in balance_latex(balance)
    assert "[0.500]" in impact_latex(impact, inference)


def test_randomization_tests_are_skipped_with_many_clusters_and_say_so() -> None:
    # With design_test_ri_below clusters or more the re-draws are skipped (hours at national
    # scale), the table says why, and the F test is still there.
    panel = make_panel(seed=34, villages=16, per=12, attrition=0.15)
    for below, computed in ((16, False), (17, True)):
        balance = balance_table(panel, [("y", "y"), ("x", "x")], clustered=True, ri_reps=50, ri_below=below, seed=1)
        joint = balance.loc[balance["row_type"] == "joint_test"].iloc[0]
        attrition = attrition_table(panel, controls=[("y", "y")], clustered=True, ri_reps=50, ri_below=below, seed=1)
        composition = attrition.loc[attrition["test"] == "differential_composition"].iloc[0]
        for row in (joint, composition):
            assert np.isfinite(row["f_stat"]) and np.isfinite(row["p_value"])
            assert np.isfinite(row["p_value_ri"]) == computed
            assert ("randomization test not run: 16 clusters" in str(row["note"])) == (not computed)
