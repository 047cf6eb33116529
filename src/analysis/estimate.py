"""Before/after impact estimators, returned as tidy tables.

For each outcome (McKenzie 2012; ``methods.md`` §1):

``followup_diff``
    Y_i1 = α + τ·T_i + ε_i on every household measured at follow-up.
``did``
    Difference-in-differences with household fixed effects. With two rounds this is the
    first-difference regression ΔY_i = δ + τ·T_i + ε_i on households measured in both rounds,
    which is numerically identical to the household-FE regression and needs no dummy per
    household (so it scales to national surveys).
``ancova``
    Y_i1 = α + τ·T_i + θ·Y_i0 + ε_i on households measured in both rounds.
``before_after``
    The mean change ΔY_i among programme households only. Descriptive: it mixes the programme
    with everything else that changed, so it is never an impact estimate.

Strata fixed effects enter when the study has strata. Standard errors are CR1 clustered by the
study's cluster column, matching Stata ``regress, vce(cluster)``, with tests and intervals from
t(G − 1); without a cluster column they are HC1 with t(N − K). Estimation is done by
statsmodels; this module only prepares the data and collects the results.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.config import ESTIMATORS, IMPACT_COLUMNS
from analysis.errors import EstimationError
from analysis.study import OutcomeSpec, VcovChoice

SeType = str


@dataclass(frozen=True)
class Fit:
    """One fitted regression, reduced to what the tables need."""

    params: pd.Series
    bse: pd.Series
    pvalues: pd.Series
    conf_int: pd.DataFrame
    nobs: int
    n_clusters: int | None
    se_type: SeType
    df_inference: float


def fit_ols(
    y: pd.Series,
    X: pd.DataFrame,
    *,
    clusters: pd.Series | None = None,
    weights: pd.Series | None = None,
    se: VcovChoice = "auto",
    alpha: float = 0.05,
) -> Fit:
    """Fit OLS (WLS with weights) with the workbench's standard errors.

    Parameters
    ----------
    y, X
        Outcome and regressors (``X`` includes the constant).
    clusters
        Cluster labels; with them (and ``se`` ``auto`` or ``CR1``) SEs are CR1 with t(G − 1).
    weights
        Survey weights (analytic weights, as Stata's ``[aw=]``).
    se
        ``auto`` (CR1 with clusters, else HC1), ``CR1``, ``HC1`` or ``iid``.
    alpha
        1 − confidence level of the intervals.

    Returns
    -------
    Fit

    Raises
    ------
    EstimationError
        When the design matrix is rank-deficient (for example, no variation in treatment).
    """
    if se not in ("auto", "CR1", "HC1", "iid"):
        raise ValueError(f"se is {se!r}; expecting one of auto, CR1, HC1, iid")
    if se == "CR1" and clusters is None:
        raise EstimationError("CR1 standard errors need a cluster column")
    if np.linalg.matrix_rank(X.to_numpy(dtype=float)) < X.shape[1]:
        raise EstimationError(
            "the regressors are collinear (is there variation in treatment in this sample?)"
        )
    model = sm.WLS(y, X, weights=weights) if weights is not None and weights.nunique() > 1 else sm.OLS(y, X)
    use_cluster = clusters is not None and se in ("auto", "CR1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        if use_cluster:
            assert clusters is not None
            groups = pd.factorize(clusters, sort=True)[0]
            # use_t=True is essential: statsmodels otherwise reports normal p-values
            # (methods.md §2.1); with it, inference uses t(G − 1) like Stata.
            result = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
            n_clusters: int | None = int(len(np.unique(groups)))
            se_type = "CR1"
        elif se == "iid":
            result = model.fit(use_t=True)
            n_clusters, se_type = None, "iid"
        else:
            result = model.fit(cov_type="HC1", use_t=True)
            n_clusters, se_type = None, "HC1"
    df = float(getattr(result, "df_resid_inference", None) or result.df_resid)
    return Fit(
        params=result.params,
        bse=result.bse,
        pvalues=result.pvalues,
        conf_int=result.conf_int(alpha=alpha),
        nobs=int(result.nobs),
        n_clusters=n_clusters,
        se_type=se_type,
        df_inference=df,
    )


def outcome_frame(panel: pd.DataFrame, outcome: OutcomeSpec) -> pd.DataFrame:
    """One row per household: ``y0``, ``y1``, and the household's design columns.

    Only rows in the estimation sample (``in_sample``) are used; a round in which the outcome
    was not measured gives an all-missing column.
    """
    design = ["hh", "treatment", "cluster", "strata", "weight", "village"]
    sample = panel.loc[panel["in_sample"]]
    wide = sample.drop_duplicates("hh", keep="last")[design].set_index("hh")
    for short, round_name in (("y0", "baseline"), ("y1", "followup")):
        column = outcome.columns.get(round_name)
        part = sample.loc[sample["round"] == round_name]
        if column is not None and column in part.columns:
            values = pd.to_numeric(part.set_index("hh")[column], errors="coerce")
            wide[short] = values.reindex(wide.index)
        else:
            wide[short] = np.nan
    return wide.reset_index()


def measured_in(panel: pd.DataFrame, outcome: OutcomeSpec, round_name: str) -> bool:
    """Whether the outcome has at least one value in ``round_name``."""
    column = outcome.columns.get(round_name)
    if column is None or column not in panel.columns:
        return False
    values = panel.loc[panel["round"] == round_name, column]
    return bool(pd.to_numeric(values, errors="coerce").notna().any())


def _design(frame: pd.DataFrame, *, terms: Sequence[str], strata_fe: bool) -> pd.DataFrame:
    X = pd.DataFrame({"const": 1.0}, index=frame.index)
    for term in terms:
        X[term] = frame[term].astype(float)
    if strata_fe and frame["strata"].notna().any() and frame["strata"].nunique() > 1:
        dummies = pd.get_dummies(frame["strata"].astype(str), prefix="strata", drop_first=True)
        X = X.join(dummies.astype(float))
    return X


def _row(
    outcome: str, estimator: str, fit: Fit | None, *, term: str, n_obs: int, note: str = ""
) -> dict[str, object]:
    if fit is None:
        return {
            "outcome": outcome,
            "estimator": estimator,
            "estimate": np.nan,
            "std_error": np.nan,
            "p_value": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n_obs": n_obs,
            "n_clusters": np.nan,
            "se_type": "",
            "note": note,
        }
    return {
        "outcome": outcome,
        "estimator": estimator,
        "estimate": float(fit.params[term]),
        "std_error": float(fit.bse[term]),
        "p_value": float(fit.pvalues[term]),
        "ci_low": float(fit.conf_int.to_numpy()[list(fit.params.index).index(term), 0]),
        "ci_high": float(fit.conf_int.to_numpy()[list(fit.params.index).index(term), 1]),
        "n_obs": fit.nobs,
        "n_clusters": np.nan if fit.n_clusters is None else fit.n_clusters,
        "se_type": fit.se_type,
        "note": note,
    }


def estimate_outcome(
    panel: pd.DataFrame,
    outcome: OutcomeSpec,
    *,
    clustered: bool,
    vcov: VcovChoice = "auto",
    strata_fe: bool = True,
) -> pd.DataFrame:
    """Every applicable estimator for one outcome, as tidy rows.

    An outcome measured in both rounds gets ``followup_diff``, ``did``, ``ancova`` and
    ``before_after``; one measured only at follow-up gets ``followup_diff`` alone.

    Parameters
    ----------
    panel
        The constructed long panel (see :mod:`analysis.panel`).
    outcome
        The outcome to estimate.
    clustered
        Whether to cluster standard errors by the panel's ``cluster`` column.
    vcov
        Standard-error choice, see :func:`fit_ols`.
    strata_fe
        Include strata fixed effects when the panel has strata.

    Returns
    -------
    pandas.DataFrame
        One row per estimator with the columns of ``tables/impact.csv`` plus ``note``.
    """
    wide = outcome_frame(panel, outcome)
    both_rounds = measured_in(panel, outcome, "baseline") and measured_in(panel, outcome, "followup")
    estimators = ESTIMATORS if both_rounds else ("followup_diff",)
    rows = []
    for estimator in estimators:
        if estimator == "followup_diff":
            sample = wide.dropna(subset=["y1", "treatment"])
            y, terms = sample["y1"], ["treatment"]
        elif estimator == "ancova":
            sample = wide.dropna(subset=["y0", "y1", "treatment"])
            y, terms = sample["y1"], ["treatment", "y0"]
        elif estimator == "did":
            sample = wide.dropna(subset=["y0", "y1", "treatment"])
            y, terms = sample["y1"] - sample["y0"], ["treatment"]
        else:  # before_after: programme households only, so there is no comparison term
            sample = wide.dropna(subset=["y0", "y1"]).loc[lambda f: f["treatment"] == 1]
            y, terms = sample["y1"] - sample["y0"], []
        term = "treatment" if terms else "const"
        if sample.empty:
            rows.append(_row(outcome.name, estimator, None, term=term, n_obs=0, note="no data"))
            continue
        X = _design(sample, terms=terms, strata_fe=strata_fe and estimator != "before_after")
        try:
            fit = fit_ols(
                y,
                X,
                clusters=sample["cluster"] if clustered else None,
                weights=sample["weight"],
                se=vcov,
            )
        except EstimationError as exc:
            rows.append(_row(outcome.name, estimator, None, term=term, n_obs=len(sample), note=str(exc)))
            continue
        rows.append(_row(outcome.name, estimator, fit, term=term, n_obs=fit.nobs))
    return pd.DataFrame(rows)


def estimate_impacts(
    panel: pd.DataFrame,
    outcomes: Sequence[OutcomeSpec],
    *,
    clustered: bool,
    vcov: VcovChoice = "auto",
) -> pd.DataFrame:
    """Tidy impact table for every outcome: one row per outcome × estimator.

    The first columns are exactly :data:`analysis.config.IMPACT_COLUMNS`; ``note`` follows.
    """
    frames = [estimate_outcome(panel, outcome, clustered=clustered, vcov=vcov) for outcome in outcomes]
    table = pd.concat(frames, ignore_index=True)
    return table[list(IMPACT_COLUMNS) + ["note"]]
