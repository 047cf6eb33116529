"""Estimators for more than two rounds (issue 13): twfe, cs_att, the event study, the pooled DiD.

Checked on three published data sets shipped under tests/fixtures/published/ (each folder's
CITATION.md gives the source): R did's mpdta (Callaway & Sant'Anna), the organ-donation
state panel with one treated state (The Effect, ch. 18) and Wooldridge's INJURY (Example 13.4).
The reference numbers are the published ones, independent regressions (statsmodels with
dummies, pyfixest) or hand computations of the same estimand, never the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from analysis.config import EVENT_STUDY_COLUMNS, IMPACT_COLUMNS
from analysis.errors import EstimationError
from analysis.estimate import staggered as st

PUBLISHED = Path(__file__).resolve().parents[1] / "fixtures" / "published"


def _mpdta() -> pd.DataFrame:
    data = pd.read_csv(PUBLISHED / "mpdta" / "mpdta.csv")
    # R did codes never-treated counties as 0; berdaya's cohort column leaves them empty.
    return data.assign(cohort=data["first.treat"].where(data["first.treat"] > 0))


def _organ() -> pd.DataFrame:
    data = pd.read_csv(PUBLISHED / "organ_donations" / "organ_donations.csv")
    california = data["State"] == "California"
    return data.assign(
        cohort=np.where(california, 4.0, np.nan),
        treated=(california & (data["quarter_num"] >= 4)).astype(float),
    )


MPDTA = {"unit": "countyreal", "period": "year", "cohort": "cohort"}
ORGAN = {"unit": "State", "period": "quarter_num", "cohort": "cohort"}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return _mpdta()


@pytest.fixture(scope="module")
def cs_varying(mpdta: pd.DataFrame) -> st.CallawaySantAnna:
    """R did's defaults: never-treated controls, varying base period (its published output)."""
    return st.callaway_santanna(mpdta, outcome="lemp", base_period="varying", **MPDTA)


@pytest.fixture(scope="module")
def cs_universal(mpdta: pd.DataFrame) -> st.CallawaySantAnna:
    """berdaya's default: event time −1 is the reference."""
    return st.callaway_santanna(mpdta, outcome="lemp", **MPDTA)


def _published(quantity: str) -> list[dict]:
    table = pd.read_csv(PUBLISHED / "mpdta" / "expected.csv")
    return table.loc[table["quantity"] == quantity].to_dict("records")


def _within_printed(got: float, expected: dict) -> bool:
    """Whether ``got`` prints as the published number with its published decimals."""
    return abs(got - expected["estimate"]) <= 0.5 * 10.0 ** -int(expected["decimals"]) + 1e-12


def _hand_att_gt(data: pd.DataFrame, g: int, t: int, *, not_yet: bool = False) -> float:
    """ATT(g, t) as the 2×2 difference of mean changes (R did's estimand, no covariates)."""
    wide = data.pivot(index="countyreal", columns="year", values="lemp")
    first = data.groupby("countyreal")["first.treat"].first().reindex(wide.index)
    base = g - 1 if t >= g else t - 1
    change = wide[t] - wide[base]
    controls = (first == 0) | ((first > max(t, base)) & (first != g)) if not_yet else first == 0
    return float(change[first == g].mean() - change[controls].mean())


# ---------------------------------------------------------------------------------------------
# twfe on the organ-donation panel (one treated state)


def test_twfe_equals_statsmodels_with_state_and_quarter_dummies() -> None:
    data = _organ()
    got = st.twfe(data, outcome="Rate", **ORGAN)
    dummies = smf.ols("Rate ~ treated + C(State) + C(quarter_num)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["State"])[0]}, use_t=True
    )
    assert got.estimate == pytest.approx(dummies.params["treated"], abs=1e-6)
    assert got.n_obs == 162 and got.n_clusters == 27 and got.se_type == "CR1"
    # The documented small-sample convention (reghdfe/fixest: the state effects, nested in the
    # state clusters, are not counted in K): N = 162, K = 7 against K_all = 33 with dummies.
    n_obs, k, k_all = 162, 1 + 5 + 1, 1 + 5 + 1 + 26
    assert got.std_error == pytest.approx(
        dummies.bse["treated"] * np.sqrt((n_obs - k_all) / (n_obs - k)), rel=1e-9
    )
    assert abs(got.std_error / dummies.bse["treated"] - 1) < 0.10


def test_twfe_equals_pyfixest_reghdfe_convention() -> None:
    data = _organ()
    got = st.twfe(data, outcome="Rate", **ORGAN)
    fixest = pf.feols("Rate ~ treated | State + quarter_num", data=data, vcov={"CRV1": "State"})
    assert got.estimate == pytest.approx(fixest.coef()["treated"], abs=1e-10)
    assert got.std_error == pytest.approx(fixest.se()["treated"], rel=1e-9)
    assert got.p_value == pytest.approx(fixest.pvalue()["treated"], rel=1e-6)
    assert (got.ci_low, got.ci_high) == pytest.approx(tuple(fixest.confint().loc["treated"]), rel=1e-8)


def test_one_treated_state_is_flagged_and_its_standard_error_withheld() -> None:
    got = st.twfe(_organ(), outcome="Rate", **ORGAN)
    assert got.gap == "one_treated_cluster"
    assert st.TWFE_NOTE in got.note and "1 treated cluster" in got.note
    row = got.impact_row()
    assert tuple(row)[: len(IMPACT_COLUMNS)] == IMPACT_COLUMNS
    assert row["estimate"] == got.estimate and row["estimator"] == "twfe"
    assert all(np.isnan(row[c]) for c in ("std_error", "p_value", "ci_low", "ci_high"))
    # cs_att sees the same single treated state.
    cs = st.callaway_santanna(_organ(), outcome="Rate", cluster="State", **ORGAN)
    assert cs.overall.gap == cs.event_study.gap == "one_treated_cluster"


def test_twfe_without_a_single_treated_cluster_keeps_its_inference(mpdta: pd.DataFrame) -> None:
    got = st.twfe(mpdta, outcome="lemp", **MPDTA)
    assert got.gap == ""
    assert got.note == st.TWFE_NOTE
    row = got.impact_row()
    assert row["std_error"] == got.std_error and row["n_clusters"] == 500


def test_twfe_event_study_equals_pyfixest(mpdta: pd.DataFrame) -> None:
    got = st.twfe_event_study(mpdta, outcome="lemp", **MPDTA)
    data = mpdta.assign(
        rel=np.where(mpdta["cohort"].notna(), mpdta["year"] - mpdta["cohort"], -1000).astype(int)
    )
    # Never-treated counties get a relative time of their own (−1000), dropped as collinear
    # with the county effects: their event dummies are all 0, as in berdaya's regression.
    with pytest.warns(UserWarning, match="multicollinearity"):
        fixest = pf.feols("lemp ~ i(rel, ref=-1) | countyreal + year", data=data, vcov={"CRV1": "countyreal"})
    coef, se = fixest.coef(), fixest.se()
    table = got.table.set_index("event_time")
    assert list(table.index) == [-4, -3, -2, -1, 0, 1, 2, 3]
    for e in (-4, -3, -2, 0, 1, 2, 3):
        name = f"rel::{e}"
        assert table.loc[e, "estimate"] == pytest.approx(coef[name], abs=1e-10)
        assert table.loc[e, "std_error"] == pytest.approx(se[name], rel=1e-9)
    assert table.loc[-1, "estimate"] == 0 and np.isnan(table.loc[-1, "std_error"])
    # The pre-trend test: pyfixest's Wald statistic of e = −4, −3, −2 is q times the F form.
    R = np.zeros((3, len(coef)))
    for row, e in enumerate((-4, -3, -2)):
        R[row, list(coef.index).index(f"rel::{e}")] = 1.0
    wald = float(fixest.wald_test(R=R, distribution="chi2")["statistic"])
    f_stat = wald / 3
    assert got.pre_test.statistic == pytest.approx(f_stat, rel=1e-8)
    assert (got.pre_test.df, got.pre_test.df_denom) == (3, 499)
    assert got.pre_test.p_value == pytest.approx(stats.f.sf(f_stat, 3, 499), rel=1e-8)


# ---------------------------------------------------------------------------------------------
# cs_att on mpdta (R did's example)


def test_group_time_effects_equal_the_hand_2x2_dids(mpdta: pd.DataFrame, cs_varying) -> None:
    cells = cs_varying.group_time
    assert len(cells) == 12
    for cell in cells.to_dict("records"):
        assert cell["estimate"] == pytest.approx(
            _hand_att_gt(mpdta, cell["cohort"], cell["period"]), abs=1e-10
        )
    assert set(cells["n_control"]) == {309}


@pytest.mark.parametrize(
    "expected", _published("att_gt"), ids=lambda r: f"{int(r['cohort'])}-{int(r['period'])}"
)
def test_group_time_effects_reproduce_r_did(cs_varying, expected: dict) -> None:
    cells = cs_varying.group_time.set_index(["cohort", "period"])
    got = cells.loc[(int(expected["cohort"]), int(expected["period"]))]
    assert _within_printed(got["estimate"], expected), expected["source"]
    # Analytic standard errors against the README's bootstrap ones.
    assert abs(got["std_error"] / expected["std_error"] - 1) < 0.10


@pytest.mark.parametrize("expected", _published("event_study"), ids=lambda r: f"e{int(r['event_time'])}")
def test_event_study_reproduces_r_did(cs_varying, expected: dict) -> None:
    table = cs_varying.event_study.table.set_index("event_time")
    got = table.loc[int(expected["event_time"])]
    assert _within_printed(got["estimate"], expected), expected["source"]
    assert abs(got["std_error"] / expected["std_error"] - 1) < 0.10


def test_cs_att_reproduces_the_published_simple_aggregation(mpdta: pd.DataFrame, cs_varying) -> None:
    [expected] = _published("simple")
    got = cs_varying.overall
    assert _within_printed(got.estimate, expected)
    assert abs(got.std_error / expected["std_error"] - 1) < 0.10
    # The simple aggregation by hand: post-treatment cells weighted by cohort size.
    sizes = mpdta.groupby("countyreal")["first.treat"].first().value_counts()
    post = [(g, t) for g in (2004, 2006, 2007) for t in range(g, 2008)]
    weights = np.array([sizes[g] for g, _ in post], dtype=float)
    by_hand = np.dot(weights / weights.sum(), [_hand_att_gt(mpdta, g, t) for g, t in post])
    assert got.estimate == pytest.approx(by_hand, abs=1e-10)
    assert (got.estimator, got.n_obs, got.n_clusters, got.se_type, got.gap) == ("cs_att", 500, None, "IF", "")
    assert got.ci_low < got.estimate < got.ci_high


def test_pretrend_test_reproduces_r_did_pretest(mpdta: pd.DataFrame) -> None:
    """R did's Wald pre-test of the 5 pre-period ATT(g, t): W = 7.7912, p = 0.16812 [pub].

    The covariance is the one R uses, Ψ'Ψ/n² from the unit-level influence functions, here
    written out for the 2×2 difference of means (no covariates).
    """
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    first = mpdta.groupby("countyreal")["first.treat"].first().reindex(wide.index).to_numpy()
    n = len(wide)
    estimates, influence = [], []
    for g, t in [(2006, 2004), (2006, 2005), (2007, 2004), (2007, 2005), (2007, 2006)]:
        change = (wide[t] - wide[t - 1]).to_numpy()
        treated, control = first == g, first == 0
        n_sub = treated.sum() + control.sum()
        psi = np.zeros(n)
        psi[treated] = (change[treated] - change[treated].mean()) / (treated.sum() / n_sub)
        psi[control] = -(change[control] - change[control].mean()) / (control.sum() / n_sub)
        estimates.append(change[treated].mean() - change[control].mean())
        influence.append(psi * n / n_sub)
    psi_all = np.column_stack(influence)
    test = st.pretrend_test(estimates, psi_all.T @ psi_all / n**2)
    [expected] = _published("pretest_p")
    assert (test.df, test.df_denom, test.note) == (5, None, "")
    assert test.statistic == pytest.approx(7.7912, abs=5e-5)
    assert round(test.p_value, 5) == expected["estimate"]


def test_universal_base_makes_minus_one_the_reference(cs_varying, cs_universal) -> None:
    table = cs_universal.event_study.table
    assert tuple(table.columns) == EVENT_STUDY_COLUMNS
    assert set(table["estimator"]) == {"cs_att"} and set(table["outcome"]) == {"lemp"}
    reference = table.loc[table["event_time"] == -1].iloc[0]
    assert reference["estimate"] == 0 and np.isnan(reference["std_error"]) and np.isnan(reference["ci_low"])
    # Post-treatment coefficients and the overall ATT do not depend on the base period.
    varying = cs_varying.event_study.table.set_index("event_time")
    universal = table.set_index("event_time")
    for e in (0, 1, 2, 3):
        assert universal.loc[e, "estimate"] == pytest.approx(varying.loc[e, "estimate"], abs=1e-12)
    assert cs_universal.overall.estimate == pytest.approx(cs_varying.overall.estimate, abs=1e-12)
    # Universal pre-periods are long differences against g − 1: e = −2 is minus the
    # varying e = −1 here (the cohorts observed at both are the same, 2006 and 2007).
    assert universal.loc[-2, "estimate"] == pytest.approx(-varying.loc[-1, "estimate"], abs=1e-12)
    # Treated counties observed at each event time: 131 + 40 (e = −3), 20 + 40 (e = 1).
    assert universal.loc[-3, "n_obs"] == 171 and universal.loc[1, "n_obs"] == 60
    # The pre-trend test covers the coefficients before the reference.
    assert cs_universal.event_study.pre_test.df == 3
    assert cs_varying.event_study.pre_test.df == 3  # e = −3, −2, −1 under the varying base
    cov = cs_universal.event_study.covariance
    b = universal.loc[[-4, -3, -2], "estimate"].to_numpy()
    wald = float(b @ np.linalg.solve(cov.loc[[-4, -3, -2], [-4, -3, -2]].to_numpy(), b))
    assert cs_universal.event_study.pre_test.statistic == pytest.approx(wald, rel=1e-12)
    assert np.sqrt(cov.loc[0, 0]) == pytest.approx(universal.loc[0, "std_error"], rel=1e-9)


def test_not_yet_treated_controls(mpdta: pd.DataFrame) -> None:
    got = st.callaway_santanna(mpdta, outcome="lemp", control_group="not_yet_treated", **MPDTA)
    cells = got.group_time.set_index(["cohort", "period"])
    for g, t in [(2004, 2005), (2006, 2006), (2004, 2007)]:
        assert cells.loc[(g, t), "estimate"] == pytest.approx(
            _hand_att_gt(mpdta, g, t, not_yet=True), abs=1e-10
        )
    with pytest.raises(EstimationError, match="never-treated"):
        st.callaway_santanna(mpdta.loc[mpdta["cohort"].notna()], outcome="lemp", **MPDTA)


def test_clustered_cs_att_uses_cr1_on_the_influence_function(mpdta: pd.DataFrame) -> None:
    data = mpdta.assign(state=mpdta["countyreal"] // 1000)
    got = st.callaway_santanna(data, outcome="lemp", cluster="state", **MPDTA)
    n_states = data["state"].nunique()
    assert (got.overall.se_type, got.overall.n_clusters) == ("CR1", n_states)
    assert set(got.event_study.table["n_clusters"]) == {n_states}
    assert got.event_study.pre_test.df_denom == n_states - 1
    # By county, the cluster sums are the unit terms: the analytic SE times √(G/(G − 1)).
    by_county = st.callaway_santanna(data, outcome="lemp", cluster="countyreal", **MPDTA)
    unclustered = st.callaway_santanna(data, outcome="lemp", **MPDTA)
    assert by_county.overall.std_error == pytest.approx(
        unclustered.overall.std_error * np.sqrt(500 / 499), rel=1e-9
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
def test_twfe_is_biased_when_effects_grow_and_cs_att_is_not() -> None:
    """Noise-free staggered data with effects growing by event time: cs_att recovers the
    simple ATT exactly; twfe, which uses already treated units as controls, does not."""
    rows = []
    for unit in range(30):
        cohort = (3, 5, np.nan)[unit % 3]
        for period in range(1, 8):
            effect = 0.0 if np.isnan(cohort) or period < cohort else 1.0 + (period - cohort)
            rows.append((unit, period, cohort, 0.3 * unit + 0.5 * period + effect))
    data = pd.DataFrame(rows, columns=["unit", "round", "cohort", "y"])
    treated = data.loc[data["cohort"].notna() & (data["round"] >= data["cohort"])]
    truth = float((1.0 + treated["round"] - treated["cohort"]).mean())
    cs = st.callaway_santanna(data, outcome="y")
    assert cs.overall.estimate == pytest.approx(truth, abs=1e-10)
    by_event = cs.event_study.table.set_index("event_time")["estimate"]
    assert by_event[[0, 1, 2, 3]].to_numpy() == pytest.approx([1, 2, 3, 4], abs=1e-10)
    assert by_event[[-2, -3]].to_numpy() == pytest.approx([0, 0], abs=1e-10)
    assert st.twfe(data, outcome="y").estimate < truth - 0.5


# ---------------------------------------------------------------------------------------------
# The repeated cross-section (Wooldridge Example 13.4)


@pytest.mark.parametrize("vcov", ["iid", "auto"])
def test_pooled_did_reproduces_wooldridge_example_13_4(vcov: str) -> None:
    data = pd.read_csv(PUBLISHED / "wooldridge_injury" / "injury.csv")
    [expected] = pd.read_csv(PUBLISHED / "wooldridge_injury" / "expected.csv").to_dict("records")
    got = st.pooled_did(data, outcome="ldurat", group="highearn", post="afchnge", vcov=vcov)
    half_unit = 0.5 * 10.0 ** -int(expected["decimals"])
    assert abs(got.estimate - expected["estimate"]) <= half_unit, expected["source"]
    assert abs(got.std_error - expected["std_error"]) <= half_unit, expected["source"]
    assert got.n_obs == expected["n_obs"] == 5626
    assert got.se_type == ("iid" if vcov == "iid" else "HC1")
    assert (got.estimator, got.n_clusters, got.gap) == ("did", None, "")


# ---------------------------------------------------------------------------------------------
# Cohorts and input checks


def test_first_treated_round_and_a_unit_that_switches_back() -> None:
    data = pd.DataFrame(
        {
            "hh": ["a"] * 3 + ["b"] * 3 + ["c"] * 3,
            "round": [1, 2, 3] * 3,
            "active": [0, 1, 1, 0, 0, 0, 0, 0, 1],
        }
    )
    first = st.first_treated_round(data, unit="hh", period="round", treatment="active")
    assert first["a"] == 2 and np.isnan(first["b"]) and first["c"] == 3
    broken = data.assign(active=[0, 1, 0, 0, 0, 0, 0, 0, 1])
    with pytest.raises(EstimationError, match="unit a .*round 3"):
        st.first_treated_round(broken, unit="hh", period="round", treatment="active")


def test_a_cohort_that_is_not_a_round_is_refused(mpdta: pd.DataFrame) -> None:
    with pytest.raises(EstimationError, match="2009 is not a round"):
        st.twfe(mpdta.assign(cohort=mpdta["cohort"].replace(2007, 2009)), outcome="lemp", **MPDTA)
    with pytest.raises(EstimationError, match="never-treated units"):
        st.twfe_event_study(mpdta.loc[mpdta["cohort"].notna()], outcome="lemp", **MPDTA)


def test_an_unbalanced_panel_is_used_cell_by_cell_and_said_so(mpdta: pd.DataFrame) -> None:
    # County 8001 (cohort 2007) loses its 2005 outcome: ATT(2007, 2005) and ATT(2007, 2006)
    # (varying base) use the other 2007 counties; cells not involving 2005 keep it.
    data = mpdta.assign(lemp=mpdta["lemp"].where(~((mpdta["countyreal"] == 8001) & (mpdta["year"] == 2005))))
    got = st.callaway_santanna(data, outcome="lemp", base_period="varying", **MPDTA)
    assert "unbalanced panel" in got.overall.note
    cells = got.group_time.set_index(["cohort", "period"])
    assert cells.loc[(2007, 2005), "n_treated"] == 130 and cells.loc[(2007, 2004), "n_treated"] == 131
    # pandas' means skip the county's missing change: the 2×2 on the counties observed in both rounds.
    kept = data.dropna(subset=["lemp"])
    assert cells.loc[(2007, 2005), "estimate"] == pytest.approx(_hand_att_gt(kept, 2007, 2005), abs=1e-10)
