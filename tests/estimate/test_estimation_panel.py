"""The estimate stage's cheap representations give the numbers of the plain ones.

At national scale the estimate stage codes the text ids once (categoricals), gives statsmodels
numpy arrays and 32-bit cluster codes, and arranges the households once for every outcome. Each
test here holds one of those against the representation it replaces, on the same data.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from panel_data import make_panel

from analysis.config import DEMO_STUDY
from analysis.estimate.regressions import (
    HouseholdSample,
    cluster_codes,
    cr1_fit,
    designs_for,
    fit_ols,
    varies,
)
from analysis.estimate.tables import CODED_COLUMNS, estimation_panel
from analysis.inputs.study import OutcomeSpec, Study, load_study


@pytest.fixture(scope="module")
def demo_study() -> Study:
    return load_study(DEMO_STUDY)


def _panel_with_text() -> pd.DataFrame:
    panel = make_panel(villages=8, per=6, strata=2)
    panel["answer_text"] = np.where(panel["y"] > 10, "1", "0")  # an outcome stored as text
    panel["note_raw"] = "free text nobody estimates"
    panel["hh"] = panel["hh"].astype("str")
    panel.loc[panel.index[:3], "cluster"] = None  # missing labels stay missing
    return panel


def test_coded_ids_keep_the_labels_their_order_and_missing_values(demo_study: Study) -> None:
    panel = _panel_with_text()
    slim = estimation_panel(panel, demo_study)
    for name in CODED_COLUMNS:
        assert isinstance(slim[name].dtype, pd.CategoricalDtype), name
        # The same labels in the same rows, and the same codes under a sorted factorization.
        assert slim[name].astype(object).where(slim[name].notna(), None).tolist() == (
            panel[name].astype(object).where(panel[name].notna(), None).tolist()
        )
        np.testing.assert_array_equal(
            pd.factorize(slim[name], sort=True)[0], pd.factorize(panel[name], sort=True)[0]
        )
    assert slim["cluster"].isna().sum() == 3


def test_only_text_columns_no_estimate_reads_are_left_out(demo_study: Study) -> None:
    panel = _panel_with_text()
    outcome = OutcomeSpec("answer", {"baseline": "answer_text", "followup": "answer_text"}, family="x")
    study = _with_outcomes(demo_study, (*demo_study.outcomes, outcome))
    slim = estimation_panel(panel, study, sex_column="sex")
    assert "note_raw" not in slim.columns  # text, read by no estimate
    assert {"answer_text", "sex", "y", "b1", "weight", "in_sample"} <= set(slim.columns)
    assert slim.index.equals(panel.index)
    assert "note_raw" in panel.columns and panel["hh"].dtype == "str"  # the caller's panel is unchanged


def _with_outcomes(study: Study, outcomes: tuple[OutcomeSpec, ...]) -> Study:
    return dataclasses.replace(study, outcomes=outcomes)


@pytest.mark.parametrize("se", ["auto", "HC1", "iid"])
@pytest.mark.parametrize("weighted", [False, True])
def test_fits_with_coded_clusters_and_strata_equal_those_with_text(se: str, weighted: bool) -> None:
    panel = make_panel(villages=10, per=8, strata=3, weights=weighted)
    rows = panel.loc[panel["round"] == "followup"].reset_index(drop=True)
    X = pd.DataFrame({"const": 1.0, "treatment": rows["treatment"]})
    text = {"clusters": rows["cluster"].astype("str"), "absorb": rows["strata"].astype("str")}
    coded = {
        "clusters": rows["cluster"].astype("category"),
        "absorb": rows["strata"].astype("category"),
    }
    a = fit_ols(rows["y"], X, weights=rows["weight"], se=se, arms=rows["treatment"], **text)
    b = fit_ols(rows["y"], X, weights=rows["weight"], se=se, arms=rows["treatment"], **coded)
    pd.testing.assert_series_equal(a.params, b.params, check_exact=False, rtol=1e-13)
    pd.testing.assert_series_equal(a.bse, b.bse, check_exact=False, rtol=1e-13)
    assert (a.nobs, a.n_clusters, a.df_inference) == (b.nobs, b.n_clusters, b.df_inference)


def test_32_bit_cluster_codes_give_statsmodels_covariance_of_64_bit_codes() -> None:
    rng = np.random.default_rng(3)
    n, g = 600, 37
    labels = pd.Series(rng.integers(0, g, n)).map(lambda v: f"village-{v:03d}")
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    y = X @ [1.0, 0.5, -0.2] + rng.normal(size=n)
    groups, n_groups = cluster_codes(labels)
    assert groups.dtype == np.int32 and n_groups == g
    wide = pd.factorize(labels, sort=True)[0].astype(np.int64)
    np.testing.assert_array_equal(groups, wide)
    cov = {
        name: sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True).cov_params()
        for name, codes in (("int32", groups), ("int64", wide))
    }
    np.testing.assert_allclose(cov["int32"], cov["int64"], rtol=1e-12, atol=0)
    # A missing label keeps statsmodels' own codes (-1) rather than a 32-bit copy.
    labels[0] = None
    codes, _ = cluster_codes(labels)
    assert codes.dtype == np.int64 and codes[0] == -1


def test_varies_is_nunique_above_one() -> None:
    for values in (
        [1.0, 1.0],
        [1.0, np.nan, 1.0],
        [np.nan, np.nan],
        [],
        [0.0, -0.0],
        [1.0, 2.0],
        [np.nan, 1, 3],
    ):
        array = np.asarray(values, dtype=float)
        assert varies(array) == (pd.Series(array).nunique() > 1), values


def test_designs_from_shared_households_equal_those_built_per_outcome() -> None:
    panel = make_panel(villages=8, per=6, strata=2)
    panel.loc[panel.index[::7], "in_sample"] = False
    households = HouseholdSample.of(panel)
    outcomes = [
        OutcomeSpec("y", {"baseline": "y", "followup": "y"}),
        OutcomeSpec("f", {"followup": "f"}),
        OutcomeSpec("c", {"baseline": "c", "followup": "c"}),
    ]
    for outcome in outcomes:
        own = designs_for(panel, outcome, clustered=True, covariates=["x"])
        shared = designs_for(panel, outcome, clustered=True, covariates=["x"], households=households)
        assert [d.estimator for d in own] == [d.estimator for d in shared]
        for a, b in zip(own, shared, strict=True):
            pd.testing.assert_series_equal(a.y, b.y)
            pd.testing.assert_frame_equal(a.X, b.X)
            assert a.clusters is not None and b.clusters is not None
            pd.testing.assert_series_equal(a.clusters, b.clusters)


@pytest.mark.parametrize("weighted", [False, True])
def test_own_cr1_covariance_is_statsmodels_cluster_covariance(weighted: bool) -> None:
    rng = np.random.default_rng(8)
    n, g = 3000, 41
    village = rng.integers(0, g, n)
    X = np.column_stack([np.ones(n), (village % 2).astype(float), rng.normal(size=n)])
    y = X @ [2.0, 0.3, -1.0] + rng.normal(size=g)[village] + rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    model = sm.WLS(y, X, weights=w) if weighted else sm.OLS(y, X)
    groups, n_groups = cluster_codes(pd.Series(village).map(lambda v: f"v{v}"))
    own = cr1_fit(model, groups, n_groups)
    ref = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    np.testing.assert_allclose(own.cov_params(), ref.cov_params(), rtol=1e-10, atol=0)
    np.testing.assert_allclose(own.params, ref.params, rtol=1e-10, atol=0)
    np.testing.assert_allclose(own.bse, ref.bse, rtol=1e-10, atol=0)
    np.testing.assert_allclose(own.pvalues, ref.pvalues, rtol=1e-10, atol=0)
    for alpha in (0.05, 0.1):
        np.testing.assert_allclose(own.conf_int(alpha), ref.conf_int(alpha), rtol=1e-10, atol=0)
    assert (own.nobs, own.df_resid, own.df_resid_inference) == (
        ref.nobs,
        ref.df_resid,
        ref.df_resid_inference,
    )


def test_large_clustered_fits_equal_statsmodels_with_strata_dummies() -> None:
    # At OWN_CR1_ROWS rows and above fit_ols takes the covariance from cr1_fit; the reported
    # numbers must still be those of statsmodels' clustered regression with strata dummies.
    import statsmodels.formula.api as smf

    from analysis.estimate.regressions import OWN_CR1_ROWS

    rng = np.random.default_rng(9)
    n, g = OWN_CR1_ROWS + 500, 60
    village = rng.integers(0, g, n)
    frame = pd.DataFrame(
        {
            "y": rng.normal(size=g)[village] + rng.normal(size=n) + 0.2 * (village % 2),
            "treatment": (village % 2).astype(float),
            "stratum": (village % 5).astype(str),
            "village": [f"v{v:02d}" for v in village],
        }
    )
    X = pd.DataFrame({"const": 1.0, "treatment": frame["treatment"]})
    fit = fit_ols(frame["y"], X, clusters=frame["village"], absorb=frame["stratum"], arms=frame["treatment"])
    groups = pd.factorize(frame["village"], sort=True)[0]
    ref = smf.ols("y ~ treatment + C(stratum)", data=frame).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    for ours, theirs in (
        (fit.params["treatment"], ref.params["treatment"]),
        (fit.bse["treatment"], ref.bse["treatment"]),
        (fit.pvalues["treatment"], ref.pvalues["treatment"]),
        (fit.conf_int.loc["treatment", 0], ref.conf_int().loc["treatment", 0]),
        (fit.conf_int.loc["treatment", 1], ref.conf_int().loc["treatment", 1]),
    ):
        assert ours == pytest.approx(theirs, rel=1e-9)
    assert fit.n_clusters == g and fit.df_inference == g - 1
