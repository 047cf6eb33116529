"""Tests of analysis.methods.few_clusters against docs/methods.md section 2 and independent implementations."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import statsmodels.api as sm
from scipy import stats
from toy_data import toy_design, toy_frame
from wildboottest.wildboottest import wildboottest

from analysis.errors import EstimationError
from analysis.methods.few_clusters import (
    _assignments,
    _exceeds,
    crv3_se,
    randomization_inference,
    wild_cluster_bootstrap,
)

# pyfixest 0.60.0 calls pandas methods with inplace=True, deprecated in pandas 3.1.
pytestmark = pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")

# docs/methods.md section 2.1: CR1 t of treat on the toy.
TOY_T_TREAT = 1.330395


def _seeded_design(seed: int, n_clusters: int, size_range: tuple[int, int] = (8, 20)):
    """Unbalanced clustered data with a cluster-level treatment and a cluster shock."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(*size_range, size=n_clusters)
    village = np.repeat(np.arange(n_clusters), sizes)
    treat_c = np.zeros(n_clusters)
    treat_c[rng.permutation(n_clusters)[: n_clusters // 2]] = 1.0
    treat = treat_c[village]
    x = rng.normal(size=len(village))
    y = 0.2 * treat + 0.5 * x + rng.normal(size=n_clusters)[village] + rng.normal(size=len(village))
    df = pd.DataFrame({"y": y, "treat": treat, "x": x, "village": village})
    X = pd.DataFrame({"const": 1.0, "treat": df["treat"], "x": df["x"]})
    return df, X


def _numpy_wcr_tstats(y, X, clusters, k, v):
    """Independent WCR bootstrap-t: restricted fit, y* = y~ + v_g u~, CR1 t of column k.

    v has shape (B, G). Written directly from docs/methods.md section 2.2 steps 1-2.
    """
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    codes = pd.factorize(pd.Series(np.asarray(clusters)))[0]
    n, p = X.shape
    g = codes.max() + 1
    Xr = np.delete(X, k, axis=1)
    beta_r = np.linalg.lstsq(Xr, y, rcond=None)[0]
    fitted, resid = Xr @ beta_r, y - Xr @ beta_r
    ystar = fitted[None, :] + v[:, codes] * resid[None, :]
    xtx_inv = np.linalg.inv(X.T @ X)
    beta = ystar @ X @ xtx_inv  # (B, p)
    u = ystar - beta @ X.T
    c = g / (g - 1) * (n - 1) / (n - p)
    t = np.empty(len(v))
    for b in range(len(v)):
        scores = np.zeros((g, p))
        np.add.at(scores, codes, X * u[b][:, None])
        vcov = c * xtx_inv @ scores.T @ scores @ xtx_inv
        t[b] = beta[b, k] / np.sqrt(vcov[k, k])
    return t


def test_toy_builder_reproduces_section_2_1():
    y, X, village = toy_design()
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": village}, use_t=True)
    # docs/methods.md section 2.1 table (beta and CR1 SE of const, treat, x).
    np.testing.assert_allclose(fit.params, [0.943679, 0.495611, 0.237654], atol=5e-7)
    np.testing.assert_allclose(fit.bse, [0.310096, 0.372529, 0.139709], atol=5e-7)
    # docs/methods.md section 2.1: t(treat) = 1.330395, p = 0.225092 from t(7).
    assert fit.tvalues["treat"] == pytest.approx(TOY_T_TREAT, abs=5e-7)
    assert fit.pvalues["treat"] == pytest.approx(0.225092, abs=5e-7)


def test_wcr_toy_rademacher_full_enumeration():
    y, X, village = toy_design()
    res = wild_cluster_bootstrap(y, X, village, param="treat", weights_type="rademacher", seed=20240601)
    # docs/methods.md section 2.2: p = 60/256 = 0.234375 with all 2^8 = 256 Rademacher draws.
    assert res.p_value == 60 / 256
    assert res.enumerated is True
    assert res.reps_used == 256
    assert res.weights_type == "rademacher"
    assert res.n_clusters == 8
    assert res.t_stat == pytest.approx(TOY_T_TREAT, abs=5e-7)  # docs/methods.md section 2.1


def test_wcr_toy_ties_counted_by_independent_enumeration():
    y, X, village = toy_design()
    v = np.array(list(itertools.product([-1.0, 1.0], repeat=8)))
    t_star = _numpy_wcr_tstats(y, X, village, 1, v)
    t_hat = TOY_T_TREAT
    strict = np.abs(t_star) > t_hat + 1e-6
    ties = np.abs(np.abs(t_star) - t_hat) <= 1e-6
    # docs/methods.md section 2.2: 58 draws strictly greater, 2 ties (v = 1 and v = -1).
    assert int(strict.sum()) == 58
    assert int(ties.sum()) == 2
    res = wild_cluster_bootstrap(y, X, village, param="treat", weights_type="rademacher", seed=1)
    assert res.p_value == (strict.sum() + ties.sum()) / 256


def test_ties_within_tolerance_count_as_exceedances():
    # docs/methods.md section 2.2: ties count, with a tolerance of 1e-9; a reproduced statistic can
    # land a few ulps below the original, which a strict comparison would drop.
    stats_ = np.array([1.33 - 1e-12, -1.33 + 1e-12, 1.33 - 1e-6, 2.0, -0.5])
    np.testing.assert_array_equal(_exceeds(stats_, 1.33), [True, True, False, True, False])
    np.testing.assert_array_equal(_exceeds(stats_, -1.33), [True, True, False, True, False])


def test_wcr_toy_matches_pyfixest_and_wildboottest_wrapper():
    df = toy_frame()
    y, X, village = toy_design()
    ours = wild_cluster_bootstrap(y, X, village, param="treat", weights_type="rademacher", seed=3)
    fit = pf.feols("y ~ treat + x", df, vcov={"CRV1": "village"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fit.wildboottest(reps=9999, param="treat", seed=3, weights_type="rademacher")
        wrapper = wildboottest(
            sm.OLS(y, X),
            B=9999,
            cluster=village.to_numpy(),
            param="treat",
            seed=3,
            show=False,
            parallel=False,
        )
    # pyfixest 0.60.0 and the wildboottest 0.3.2 wrapper, computed here; both give 0.234375
    # (docs/methods.md section 2.2).
    assert ours.p_value == pytest.approx(float(theirs["Pr(>|t|)"]), abs=1e-12)
    assert ours.t_stat == pytest.approx(float(theirs["t value"]), rel=1e-10)
    assert ours.p_value == pytest.approx(float(wrapper["p-value"].iloc[0]), abs=1e-12)
    assert ours.t_stat == pytest.approx(float(np.ravel(wrapper["statistic"].iloc[0])[0]), rel=1e-10)


def test_wcr_enumerates_when_reps_equals_two_to_the_g():
    y, X, village = toy_design()
    at_bound = wild_cluster_bootstrap(
        y, X, village, param="treat", reps=256, weights_type="rademacher", seed=5
    )
    assert at_bound.enumerated and at_bound.reps_used == 256
    assert at_bound.p_value == 60 / 256  # docs/methods.md section 2.2
    below = wild_cluster_bootstrap(y, X, village, param="treat", reps=255, weights_type="rademacher", seed=5)
    assert not below.enumerated and below.reps_used == 255


def test_wcr_auto_weights_follow_number_of_clusters():
    y, X, village = toy_design()
    assert wild_cluster_bootstrap(y, X, village, param="treat", reps=99, seed=1).weights_type == ("webb")
    df, X12 = _seeded_design(11, 12)
    res = wild_cluster_bootstrap(df["y"], X12, df["village"], param="treat", reps=999, seed=1)
    assert res.weights_type == "rademacher" and not res.enumerated and res.reps_used == 999
    res = wild_cluster_bootstrap(df["y"], X12, df["village"], param="treat", reps=9999, seed=1)
    assert res.enumerated and res.reps_used == 2**12


@pytest.mark.parametrize("impose_null", [True, False])
def test_wcr_webb_matches_pyfixest_same_seed(impose_null):
    df, X = _seeded_design(2024, 10)
    ours = wild_cluster_bootstrap(
        df["y"],
        X,
        df["village"],
        param="treat",
        reps=1999,
        weights_type="webb",
        seed=77,
        impose_null=impose_null,
    )
    fit = pf.feols("y ~ treat + x", df, vcov={"CRV1": "village"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = fit.wildboottest(
            reps=1999, param="treat", seed=77, weights_type="webb", impose_null=impose_null
        )
    # pyfixest 0.60.0 drives the same wildboottest engine with numpy default_rng(seed), so the
    # Webb draws are identical and the p-values agree exactly (Webb weights are continuous
    # enough that no draw ties the observed t, so strict vs >= does not matter).
    assert not ours.enumerated and ours.reps_used == 1999
    assert ours.p_value == pytest.approx(float(theirs["Pr(>|t|)"]), abs=1e-12)
    assert ours.t_stat == pytest.approx(float(theirs["t value"]), rel=1e-10)


def test_wcr_webb_agrees_with_independent_numpy_bootstrap_within_monte_carlo_error():
    df, X = _seeded_design(99, 9)
    reps = 9999
    ours = wild_cluster_bootstrap(
        df["y"], X, df["village"], param="treat", reps=reps, weights_type="webb", seed=8
    )
    # Independent draws (a different generator) of the 6-point Webb distribution.
    rng = np.random.default_rng(123456)
    points = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
    b_ref = 20000
    v = rng.choice(points, size=(b_ref, 9))
    t_star = _numpy_wcr_tstats(df["y"], X, df["village"], 1, v)
    p_ref = np.mean(np.abs(t_star) >= abs(ours.t_stat) - 1e-9)
    # Two independent Monte Carlo estimates of the same p: their difference has
    # SD sqrt(p(1-p)(1/reps + 1/b_ref)); 4.5 SD keeps a false failure below 1e-5.
    sd = math.sqrt(p_ref * (1 - p_ref) * (1 / reps + 1 / b_ref))
    assert 0.02 < p_ref < 0.98  # the check is informative only away from 0 and 1
    assert abs(ours.p_value - p_ref) <= 4.5 * sd


def test_wcr_deterministic_and_silent(capsys):
    y, X, village = toy_design()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a = wild_cluster_bootstrap(y, X, village, param="treat", reps=499, seed=42)
        b = wild_cluster_bootstrap(y, X, village, param="treat", reps=499, seed=42)
        c = wild_cluster_bootstrap(y, X, village, param="treat", weights_type="rademacher", seed=1)
    assert a == b
    assert c.enumerated
    assert caught == []
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_wcr_validation():
    y, X, village = toy_design()
    with pytest.raises(ValueError, match="expecting one of"):
        wild_cluster_bootstrap(y, X, village, param="treat", weights_type="mammen", seed=1)
    with pytest.raises(ValueError, match="expecting one of"):
        wild_cluster_bootstrap(y, X, village, param="nope", seed=1)
    with pytest.raises(EstimationError):
        X2 = X.assign(dup=X["treat"])
        wild_cluster_bootstrap(y, X2, village, param="treat", seed=1)


# docs/methods.md section 2.3 table: SE (const, treat, x) under each scaling.
CRV3_TABLE = {
    "jackknife": [0.339748, 0.424575, 0.120665],
    "plain": [0.363206, 0.453890, 0.128996],
    "pyfixest": [0.398639, 0.498171, 0.141581],
}


@pytest.mark.parametrize("scaling", list(CRV3_TABLE))
def test_crv3_toy_table(scaling):
    y, X, village = toy_design()
    se = crv3_se(y, X, village, scaling=scaling)
    assert list(se.index) == ["const", "treat", "x"]
    np.testing.assert_allclose(se.to_numpy(), CRV3_TABLE[scaling], atol=5e-7)


def test_crv3_toy_t_and_p_pyfixest_scaling():
    y, X, village = toy_design()
    se = crv3_se(y, X, village, scaling="pyfixest")
    beta = np.linalg.lstsq(X.to_numpy(), y.to_numpy(), rcond=None)[0]
    t = beta[1] / se["treat"]
    # docs/methods.md section 2.3: t(treat) = 0.994862, p = 0.352942 from t(7).
    assert t == pytest.approx(0.994862, abs=5e-7)
    assert 2 * stats.t.sf(abs(t), 7) == pytest.approx(0.352942, abs=5e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crv3_matches_pyfixest_on_seeded_data(seed):
    df, X = _seeded_design(seed, 7 + seed)
    default = pf.feols("y ~ treat + x", df, vcov={"CRV3": "village"}).se()
    plain = pf.feols("y ~ treat + x", df, vcov={"CRV3": "village"}, ssc=pf.ssc(k_adj=False, G_adj=False)).se()
    # pyfixest 0.60.0 computed here (docs/methods.md section 2.3 names these two settings).
    np.testing.assert_allclose(
        crv3_se(df["y"], X, df["village"], scaling="pyfixest").to_numpy(),
        default.to_numpy(),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        crv3_se(df["y"], X, df["village"], scaling="plain").to_numpy(),
        plain.to_numpy(),
        rtol=1e-9,
    )
    g = df["village"].nunique()
    np.testing.assert_allclose(
        crv3_se(df["y"], X, df["village"], scaling="jackknife").to_numpy(),
        plain.to_numpy() * math.sqrt((g - 1) / g),
        rtol=1e-9,
    )


def test_crv3_errors():
    y, X, village = toy_design()
    with pytest.raises(ValueError, match="expecting one of"):
        crv3_se(y, X, village, scaling="hc1")
    # A regressor that is non-zero in one village only vanishes when that village is left out.
    only_v0 = X.assign(v0=(village == 0).astype(float) * np.arange(40))
    with pytest.raises(EstimationError, match="collinear"):
        crv3_se(y, only_v0, village)


def _statsmodels_ri_count(df, assignments, covariates, strata=None):
    """Independent RI: refit with statsmodels for every assignment; return (obs, stats)."""
    village = df["village"].to_numpy()
    base = df[covariates].copy()
    if strata is not None:
        base = base.join(pd.get_dummies(df[strata], prefix="s", drop_first=True, dtype=float))
    out = []
    for treated_villages in assignments:
        d = np.isin(village, list(treated_villages)).astype(float)
        X = sm.add_constant(base.assign(d=d))
        fit = sm.OLS(df["y"], X).fit(cov_type="cluster", cov_kwds={"groups": village}, use_t=True)
        out.append((fit.params["d"], fit.tvalues["d"]))
    return np.array(out)


@pytest.mark.parametrize("statistic", ["coef", "t"])
def test_ri_toy_enumerates_70_assignments(statistic):
    df = toy_frame()
    res = randomization_inference(
        df,
        outcome="y",
        treatment="treat",
        cluster="village",
        covariates=["x"],
        statistic=statistic,
        seed=1,
    )
    # docs/methods.md section 2.4: C(8,4) = 70 assignments, 20 reach the observed |statistic|.
    assert res.enumerated and res.n_assignments == 70 and res.n_possible == 70
    assert res.n_extreme == 20
    assert res.p_value == 20 / 70
    # docs/methods.md section 2.1: beta_treat = 0.495611, t = 1.330395.
    expected = 0.495611 if statistic == "coef" else TOY_T_TREAT
    assert res.observed == pytest.approx(expected, abs=5e-7)


def test_ri_toy_matches_statsmodels_loop():
    df = toy_frame()
    combos = list(itertools.combinations(range(8), 4))
    ref = _statsmodels_ri_count(df, combos, ["x"])
    obs = ref[combos.index((1, 3, 5, 7))]
    for col, statistic in enumerate(["coef", "t"]):
        res = randomization_inference(
            df,
            outcome="y",
            treatment="treat",
            cluster="village",
            covariates=["x"],
            statistic=statistic,
            seed=1,
        )
        # statsmodels 0.15.0 refit over all 70 assignments, computed here.
        assert res.observed == pytest.approx(obs[col], rel=1e-10)
        assert res.n_extreme == int(np.sum(np.abs(ref[:, col]) >= abs(obs[col]) - 1e-9))


def test_ri_with_strata_matches_statsmodels_loop():
    df = toy_frame().assign(stratum=lambda d: d["village"] // 4)
    # Strata {0,1,2,3} and {4,5,6,7}, two treated villages in each: C(4,2)^2 = 36 assignments.
    combos = [
        a + b for a in itertools.combinations(range(4), 2) for b in itertools.combinations(range(4, 8), 2)
    ]
    ref = _statsmodels_ri_count(df, combos, ["x"], strata="stratum")
    obs = ref[combos.index((1, 3, 5, 7))]
    for col, statistic in enumerate(["coef", "t"]):
        res = randomization_inference(
            df,
            outcome="y",
            treatment="treat",
            cluster="village",
            covariates=["x"],
            strata="stratum",
            statistic=statistic,
            seed=1,
        )
        assert res.n_possible == 36 and res.enumerated
        assert res.observed == pytest.approx(obs[col], rel=1e-10)
        assert res.n_extreme == int(np.sum(np.abs(ref[:, col]) >= abs(obs[col]) - 1e-9))


def test_ri_sampled_draws_keep_number_treated_per_stratum():
    treat_c = np.array([1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1], dtype=float)
    stratum_c = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2])
    draws, n_possible, enumerated = _assignments(treat_c, stratum_c, reps=150, rng_seed=3)
    assert n_possible == math.comb(4, 2) * math.comb(5, 2) * math.comb(3, 2)  # 180 > reps
    assert not enumerated and draws.shape == (150, 12)
    for s in range(3):
        cols = stratum_c == s
        assert (draws[:, cols].sum(axis=1) == treat_c[cols].sum()).all()
    # 150 uniform draws from 180 assignments hit about 180 (1 - exp(-150/180)) = 102 distinct
    # ones; a sampler stuck on few assignments would not.
    assert len({tuple(r) for r in draws}) > 80


def test_ri_sampling_agrees_with_enumeration_within_monte_carlo_error():
    df, _ = _seeded_design(5, 16, size_range=(3, 6))
    kwargs = dict(outcome="y", treatment="treat", cluster="village", covariates=["x"])
    full = randomization_inference(df, **kwargs, reps=20000, seed=1)  # C(16,8) = 12870
    assert full.enumerated and full.n_possible == 12870
    sampled = randomization_inference(df, **kwargs, reps=4000, seed=9)
    assert not sampled.enumerated and sampled.n_assignments == 4000
    sd = math.sqrt(full.p_value * (1 - full.p_value) / 4000)
    assert 0.02 < full.p_value < 0.98
    assert abs(sampled.p_value - full.p_value) <= 4.5 * sd
    assert randomization_inference(df, **kwargs, reps=4000, seed=9) == sampled


def test_ri_validation():
    df = toy_frame()
    with pytest.raises(ValueError, match="expecting one of"):
        randomization_inference(
            df,
            outcome="y",
            treatment="treat",
            cluster="village",
            statistic="z",
            seed=1,
        )
    bad = df.assign(treat=np.r_[1.0, np.zeros(39)])
    with pytest.raises(EstimationError, match="constant within each cluster"):
        randomization_inference(bad, outcome="y", treatment="treat", cluster="village", seed=1)
    with pytest.raises(ValueError, match="not in data"):
        randomization_inference(df, outcome="nope", treatment="treat", cluster="village", seed=1)
