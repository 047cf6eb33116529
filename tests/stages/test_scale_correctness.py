"""At 5,000 households the stages' estimates equal a plain statsmodels computation on the panel."""

from __future__ import annotations

import pandas as pd
import pytest
import statsmodels.formula.api as smf


@pytest.fixture
def run(scale_run: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo at 50 villages × 100 households (seed 7) through clean, construct and estimate,
    in-process in a background process (``scale_run`` in tests/conftest.py, tests/jobs.py)."""
    return scale_run


@pytest.mark.parametrize("outcome", ["income_pc", "participation_score"])
def test_estimates_equal_an_independent_statsmodels_fit(
    run: tuple[pd.DataFrame, pd.DataFrame], outcome: str
) -> None:
    panel, impact = run
    sample = panel.loc[panel["in_sample"]]
    wide = sample.pivot_table(index="hh", columns="round", values=outcome, aggfunc="first")
    design = sample.drop_duplicates("hh").set_index("hh")[["treatment", "village", "strata"]]
    wide = wide.join(design).dropna(subset=["baseline", "followup"]).reset_index()
    wide["change"] = wide["followup"] - wide["baseline"]
    groups = pd.factorize(wide["village"])[0]
    fits = {
        "did": smf.ols("change ~ treatment + C(strata)", data=wide),
        "ancova": smf.ols("followup ~ treatment + baseline + C(strata)", data=wide),
    }
    table = impact.set_index(["outcome", "estimator"])
    assert len(wide) > 4000
    for estimator, model in fits.items():
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        row = table.loc[(outcome, estimator)]
        assert row["estimate"] == pytest.approx(fit.params["treatment"], rel=1e-8)
        assert row["std_error"] == pytest.approx(fit.bse["treatment"], rel=1e-8)
        assert row["n_obs"] == len(wide)
