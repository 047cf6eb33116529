"""Before/after impact estimators, returned as tidy tables.

For each outcome (McKenzie 2012; ``docs/methods.md`` §1):

``followup_diff``
    Y_i1 = α + τ·T_i + ε_i on every household measured at follow-up.
``did``
    Difference-in-differences with household fixed effects (the default, study key
    ``did_fixed_effects: household``). With two rounds this is the first-difference regression
    ΔY_i = δ + τ·T_i + ε_i on households measured in both rounds, which is numerically
    identical to the household-FE regression and needs no dummy per household (so it scales to
    national surveys). With ``did_fixed_effects: none`` it is the pooled regression
    Y_it = α + β·T_i + δ·Post_t + τ·(T_i × Post_t) + ε_it on every household-round of the long
    panel (repeated cross-sections included), clustered by village, or by household when the
    study has no cluster.
``ancova``
    Y_i1 = α + τ·T_i + θ·Y_i0 + ε_i on households measured in both rounds.
``before_after``
    The mean change ΔY_i among programme households only. Descriptive: it mixes the programme
    with everything else that changed, so it is never an impact estimate.

Strata fixed effects enter when the study has strata. Baseline covariates (study key
``covariates``) enter every regression except ``before_after``: each is the household's baseline
value, with a missing value set to 0 and a missing-value dummy added (docs/methods.md §1.1), so no
household is dropped for a missing covariate. Survey weights enter as analytic weights (WLS).
Standard errors are CR1 clustered by the study's cluster column, matching Stata
``regress, vce(cluster)``, with tests and intervals from t(G − 1); without a cluster column they
are HC1 with t(N − K). With a single cluster, or a single treated or comparison cluster, the
estimate is still given but its standard error, p-value and interval are not (NaN, with the
reason in ``note``; :func:`analysis.methods.few_clusters.inference_gap`). Estimation is done by
statsmodels; this module only prepares the data (:class:`Design`, reused by
:mod:`analysis.estimate.inference` for the few-cluster p-values) and collects the results.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analysis.config import ESTIMATORS, IMPACT_COLUMNS, ROUNDS
from analysis.errors import EstimationError
from analysis.inputs.study import DidForm, OutcomeSpec, VcovChoice
from analysis.methods.few_clusters import inference_gap

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
    cov_params: pd.DataFrame | None = None
    #: Why there are no standard errors, p-values or intervals (then NaN); empty when there are.
    note: str = ""


def fit_ols(
    y: pd.Series,
    X: pd.DataFrame,
    *,
    clusters: pd.Series | None = None,
    weights: pd.Series | None = None,
    absorb: pd.Series | None = None,
    se: VcovChoice = "auto",
    alpha: float = 0.05,
    arms: pd.Series | None = None,
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
    absorb
        Labels (randomization strata) whose fixed effects enter the regression. They are
        partialled out (Frisch–Waugh–Lovell: y and X demeaned within level, weighted with
        weights) rather than entered as one dummy per level, so a national survey with
        hundreds of strata fits in a fraction of the time and memory. Coefficients, residuals
        and covariance are those of the regression with the constant and ``levels − 1``
        dummies, as Stata ``regress y x i.strata``: the small-sample factor counts every
        absorbed level. The constant is then absorbed too and not reported.
    se
        ``auto`` (CR1 with clusters, else HC1), ``CR1``, ``HC1`` or ``iid``.
    alpha
        1 − confidence level of the intervals.
    arms
        The 0/1 treatment of each row when the coefficient of interest compares the arms. With
        clustered standard errors and a single cluster in either arm (or a single cluster in
        all), the coefficients are still estimated but standard errors, p-values and intervals
        are NaN and :attr:`Fit.note` says why (see :func:`inference_gap`).

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
    # statsmodels is given numpy arrays and integer cluster codes, and the names are put back
    # on its results here: with pandas objects it aligns, validates and re-labels every input
    # of every fit, which at national scale cost more than the regressions.
    w = None if weights is None else weights.to_numpy(dtype=float)
    weighted = w is not None and varies(w)
    values = y.to_numpy(dtype=float)
    n_absorbed = 0
    if absorb is not None and absorb.notna().any() and absorb.nunique() > 1:
        # The same levels as `_design`'s dummies: a missing stratum is a level of its own.
        text_like = isinstance(absorb.dtype, (pd.CategoricalDtype, pd.StringDtype))
        codes = pd.factorize(absorb if text_like else absorb.astype(str))[0]
        n_absorbed = int(codes.max()) + 1
        X = X.drop(columns="const")
        # y and X in one pass, so the level totals are counted once.
        both = _demean(np.column_stack([values, X.to_numpy(dtype=float)]), codes, w if weighted else None)
        values, matrix = np.ascontiguousarray(both[:, 0]), np.ascontiguousarray(both[:, 1:])
    else:
        matrix = X.to_numpy(dtype=float)
    names = pd.Index(X.columns)
    if np.linalg.matrix_rank(matrix) < matrix.shape[1]:
        raise EstimationError(
            "the regressors are collinear (is there variation in treatment in this sample?)"
        )
    # The constant is the `const` column when there is one (`_design` leaves no other constant
    # column); telling statsmodels spares it a search that only feeds R² and information criteria.
    hasconst = "const" in names
    model = (
        sm.WLS(values, matrix, weights=w, hasconst=hasconst)
        if weighted
        else sm.OLS(values, matrix, hasconst=hasconst)
    )
    use_cluster = clusters is not None and se in ("auto", "CR1")
    gap = inference_gap(clusters, arms)[1] if use_cluster else ""
    if gap:
        assert clusters is not None
        return _without_inference(model, names, n_clusters=int(clusters.nunique()), note=gap)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        if use_cluster:
            assert clusters is not None
            groups, n_groups = cluster_codes(clusters)
            if len(values) >= OWN_CR1_ROWS and groups.dtype == np.int32:
                result = cr1_fit(model, groups, n_groups)
            else:
                # use_t=True is essential: statsmodels otherwise reports normal p-values
                # (docs/methods.md §2.1); with it, inference uses t(G − 1) like Stata.
                result = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
            n_clusters: int | None = n_groups
            se_type = "CR1"
        elif se == "iid":
            result = model.fit(use_t=True)
            n_clusters, se_type = None, "iid"
        else:
            result = model.fit(cov_type="HC1", use_t=True)
            n_clusters, se_type = None, "HC1"
    df = float(getattr(result, "df_resid_inference", None) or result.df_resid)
    params = pd.Series(result.params, index=names)
    if not n_absorbed:
        return Fit(
            params=params,
            bse=pd.Series(result.bse, index=names),
            pvalues=pd.Series(result.pvalues, index=names),
            conf_int=pd.DataFrame(result.conf_int(alpha=alpha), index=names),
            nobs=int(result.nobs),
            n_clusters=n_clusters,
            se_type=se_type,
            df_inference=df,
            cov_params=pd.DataFrame(result.cov_params(), index=names, columns=names),
        )
    # statsmodels saw K = X's columns; the full regression has the absorbed levels as well (the
    # constant and levels − 1 dummies). Its CR1, HC1 and classical covariances all carry the
    # factor 1 / (N − K), so rescaling by (N − K) / (N − K_full) gives the full regression's;
    # and t(N − K_full) replaces t(N − K) when there are no clusters.
    n_obs, k = int(result.nobs), matrix.shape[1]
    k_full = k + n_absorbed
    if n_obs <= k_full:
        raise EstimationError("more parameters than observations once the strata are counted")
    cov = pd.DataFrame(result.cov_params(), index=names, columns=names) * ((n_obs - k) / (n_obs - k_full))
    if n_clusters is None:
        df = float(n_obs - k_full)
    bse = pd.Series(np.sqrt(np.diag(cov.to_numpy())), index=names)
    t_crit = float(stats.t.ppf(1 - alpha / 2, df))
    return Fit(
        params=params,
        bse=bse,
        pvalues=pd.Series(2 * stats.t.sf(np.abs(params / bse), df), index=names),
        conf_int=pd.DataFrame({0: params - t_crit * bse, 1: params + t_crit * bse}),
        nobs=n_obs,
        n_clusters=n_clusters,
        se_type=se_type,
        df_inference=df,
        cov_params=cov,
    )


#: From this many rows a clustered fit takes its CR1 covariance from :func:`cr1_fit`; smaller
#: samples (every published and worked example) take it from statsmodels itself.
OWN_CR1_ROWS = 20_000


@dataclass(frozen=True)
class CR1Result:
    """What :func:`fit_ols` reads of statsmodels' ``fit(cov_type="cluster", use_t=True)``."""

    params: np.ndarray
    cov: np.ndarray
    nobs: float
    df_resid: float
    df_resid_inference: float

    @property
    def bse(self) -> np.ndarray:
        """Standard errors: the square roots of the covariance's diagonal."""
        return np.sqrt(np.diag(self.cov))

    @property
    def pvalues(self) -> np.ndarray:
        """Two-sided p-values from t(G − 1)."""
        return np.asarray(stats.t.sf(np.abs(self.params / self.bse), self.df_resid_inference) * 2)

    def conf_int(self, alpha: float = 0.05) -> np.ndarray:
        """Intervals at level 1 − ``alpha`` from t(G − 1), one row per coefficient."""
        q = stats.t.ppf(1 - alpha / 2, self.df_resid_inference)
        return np.column_stack([self.params - q * self.bse, self.params + q * self.bse])

    def cov_params(self) -> np.ndarray:
        """The CR1 covariance matrix."""
        return self.cov


def cr1_fit(model: sm.WLS, groups: np.ndarray, n_groups: int) -> CR1Result:
    """Fit with statsmodels and compute its CR1 covariance here, step for step as statsmodels does.

    The coefficients, residuals and (X'X)⁻¹ are statsmodels' own (``model.fit()``); the
    covariance repeats what ``fit(cov_type="cluster", use_t=True)`` does with them
    (``sandwich_covariance.cov_cluster``: score sums per cluster by ``np.bincount``, the
    sandwich, the factor G/(G − 1)·(N − 1)/(N − K)), and the tests and intervals use t(G − 1).
    Only the counting of the clusters is left out: statsmodels counts them twice per fit with
    ``np.unique`` on every row, which at national scale cost more than the regression. The
    numbers are statsmodels' (tests/estimate/test_estimation_panel.py holds them to it).

    ``groups`` are the codes 0 … G − 1 of :func:`cluster_codes`, every one present.
    """
    fitted = model.fit()
    scores = model.wexog * fitted.wresid[:, None]
    sums = np.array([np.bincount(groups, weights=scores[:, col]) for col in range(scores.shape[1])]).T
    bread = fitted.normalized_cov_params
    cov = np.dot(np.dot(bread, np.dot(sums.T, sums)), bread.T)
    nobs, k = scores.shape
    cov *= n_groups / (n_groups - 1.0) * ((nobs - 1.0) / float(nobs - k))
    return CR1Result(
        params=np.asarray(fitted.params),
        cov=cov,
        nobs=float(fitted.nobs),
        df_resid=float(fitted.df_resid),
        df_resid_inference=float(n_groups - 1),
    )


def varies(values: np.ndarray) -> bool:
    """Whether ``values`` holds two different non-missing numbers (``nunique() > 1``, without hashing)."""
    present = values[~np.isnan(values)]
    return bool(len(present)) and bool((present != present[0]).any())


def cluster_codes(clusters: pd.Series) -> tuple[np.ndarray, int]:
    """The cluster of each row as an integer code in label order, and the number of clusters.

    These are the ``groups`` statsmodels is given. Codes of ``pd.factorize(sort=True)``, as
    32-bit integers when no label is missing: statsmodels counts the distinct groups twice per
    fit with ``np.unique``, which is several times faster on them than on 64-bit integers (same
    groups, same order, so the same covariance).
    """
    codes = pd.factorize(clusters, sort=True)[0]
    if len(codes) and codes.min() >= 0 and codes.max() < np.iinfo(np.int32).max:
        return codes.astype(np.int32), int(codes.max()) + 1
    return codes, len(np.unique(codes))


def _without_inference(model: sm.WLS, names: pd.Index, *, n_clusters: int, note: str) -> Fit:
    """Coefficients only: the clustered covariance cannot be trusted (see :func:`inference_gap`)."""
    params = pd.Series(model.fit().params, index=names)
    missing = pd.Series(np.nan, index=params.index)
    return Fit(
        params=params,
        bse=missing,
        pvalues=missing.copy(),
        conf_int=pd.DataFrame({0: missing, 1: missing}),
        nobs=int(model.nobs),
        n_clusters=n_clusters,
        se_type="CR1",
        df_inference=float(n_clusters - 1),
        cov_params=None,
        note=note,
    )


def _demean(values: np.ndarray, codes: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Columns of ``values`` minus their (weighted) mean within each level of ``codes``."""
    # Without weights the sums are taken of the values themselves (1.0 * x is x, so the means
    # are those of weights all 1, without multiplying every column by them).
    totals = np.bincount(codes).astype(float) if weights is None else np.bincount(codes, weights=weights)
    means = (
        np.column_stack(
            [
                np.bincount(codes, weights=column if weights is None else weights * column) / totals
                for column in values.T
            ]
        )
        if values.shape[1]
        else np.zeros((len(totals), 0))
    )
    return values - means[codes]


@dataclass(frozen=True)
class WaldTest:
    """A joint test that several coefficients are zero.

    Attributes
    ----------
    f_stat
        ``W / q`` with ``W = b'(R V R')⁻¹ b`` from the fit's own covariance matrix.
    df_num, df_denom
        q and the fit's inference degrees of freedom (G − 1 with clusters, as Stata's
        ``test`` after ``regress, vce(cluster)``; N − K otherwise).
    p_value
        Upper tail of F(q, df_denom).
    note
        Why the test could not be computed (then ``f_stat`` and ``p_value`` are NaN).
    """

    f_stat: float
    df_num: int
    df_denom: float
    p_value: float
    note: str = ""


def wald_test(fit: Fit, terms: Sequence[str]) -> WaldTest:
    """Joint F test that the coefficients of ``terms`` are all zero (see :class:`WaldTest`)."""
    q = len(terms)
    if fit.note:
        return WaldTest(np.nan, q, fit.df_inference, np.nan, fit.note)
    if q == 0 or fit.cov_params is None:
        return WaldTest(np.nan, q, fit.df_inference, np.nan, "nothing to test")
    if q > fit.df_inference:
        # A clustered covariance matrix has rank at most G - 1: more restrictions than that
        # cannot be tested jointly.
        return WaldTest(
            np.nan,
            q,
            fit.df_inference,
            np.nan,
            f"{q} restrictions exceed the {fit.df_inference:g} degrees of freedom",
        )
    b = fit.params[list(terms)].to_numpy(dtype=float)
    V = fit.cov_params.loc[list(terms), list(terms)].to_numpy(dtype=float)
    try:
        solved = np.linalg.solve(V, b)
    except np.linalg.LinAlgError:
        return WaldTest(
            np.nan, q, fit.df_inference, np.nan, "the covariance matrix of the tested terms is singular"
        )
    f_stat = float(b @ solved / q)
    p_value = float(stats.f.sf(f_stat, q, fit.df_inference))
    return WaldTest(f_stat, q, fit.df_inference, p_value)


def redundant_column(frame: pd.DataFrame, *, tolerance: float = 1e-9) -> str | None:
    """The first column that is an exact linear combination of the others and a constant.

    Checked on the rows where every column is present. The columns are centred (which removes
    the constant) and scaled to unit length; a column is redundant when it takes part in an
    exact linear relation, i.e. has a non-zero entry in a right singular vector whose singular
    value is below ``tolerance`` times the largest. Columns are tried in order, so the earliest
    redundant one is named (dropping it and asking again finds any further one).
    """
    complete = frame.dropna()
    if complete.shape[1] < 2 or len(complete) <= complete.shape[1] + 1:
        return None
    values = complete.to_numpy(dtype=float)
    values = values - values.mean(axis=0)
    norms = np.linalg.norm(values, axis=0)
    if (norms == 0).any():
        return None  # a constant column is the caller's to handle
    # The singular values and right singular vectors of a tall matrix are those of the R of
    # its QR decomposition: computing them from R skips the left vectors (one per row), most
    # of the cost at national scale.
    _, singular, vt = np.linalg.svd(np.linalg.qr(values / norms, mode="r"))
    null = vt[singular <= tolerance * singular[0]]
    if not len(null):
        return None
    involved = np.abs(null).max(axis=0) > 1e-6
    return str(complete.columns[int(np.argmax(involved))])


#: Columns of :func:`outcome_frame` that describe the household rather than the outcome.
DESIGN_COLUMNS: tuple[str, ...] = ("hh", "treatment", "cluster", "strata", "weight", "village")


@dataclass(frozen=True)
class HouseholdSample:
    """The estimation sample arranged by household, once for every outcome.

    Every outcome's :func:`outcome_frame` has the same households in the same order; only the
    outcome's columns differ. Finding the households (factorizing the ids of some 400,000
    household-rounds at national scale) is done here once instead of once per outcome.
    """

    positions: np.ndarray  # panel row of each in-sample row
    codes: np.ndarray  # household code of each in-sample row
    rounds: dict[str, np.ndarray]  # per round: which in-sample rows are of that round
    last: np.ndarray  # in-sample position of each household's last row (the order of `wide`)
    n_households: int
    wide: pd.DataFrame  # DESIGN_COLUMNS, one row per household

    @classmethod
    def of(cls, panel: pd.DataFrame) -> HouseholdSample:
        """The in-sample households of ``panel``, in the order of their last row."""
        used = [*DESIGN_COLUMNS, "round"]
        sample = panel.loc[panel["in_sample"], [c for c in used if c in panel.columns]]
        # Households as integer codes, so that each round's values are placed by position rather
        # than by looking up text ids (which cost more than the regressions at national scale).
        codes, ids = pd.factorize(sample["hh"])
        last = np.flatnonzero(~pd.Series(codes).duplicated(keep="last").to_numpy())
        rounds = sample["round"].to_numpy()
        return cls(
            positions=np.flatnonzero(panel["in_sample"].to_numpy(dtype=bool)),
            codes=codes,
            rounds={r: rounds == r for r in ROUNDS},
            last=last,
            n_households=len(ids),
            wide=sample.iloc[last][list(DESIGN_COLUMNS)].reset_index(drop=True),
        )

    def by_household(self, panel: pd.DataFrame, column: str, round_name: str) -> np.ndarray:
        """The value of ``column`` in each household's ``round_name`` row (NaN without one)."""
        in_round = self.rounds[round_name]
        values = np.full(self.n_households, np.nan)
        numbers = pd.to_numeric(panel[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        values[self.codes[in_round]] = numbers[self.positions][in_round]
        return values[self.codes[self.last]]


def outcome_frame(
    panel: pd.DataFrame,
    outcome: OutcomeSpec,
    *,
    covariates: Sequence[str] = (),
    households: HouseholdSample | None = None,
) -> pd.DataFrame:
    """One row per household: ``y0``, ``y1``, the design columns and baseline covariates.

    Only rows in the estimation sample (``in_sample``) are used; a round in which the outcome
    was not measured gives an all-missing column. Each covariate ``c`` becomes ``cov_<c>``, the
    household's baseline value (missing for households without a baseline interview).
    ``households`` is ``HouseholdSample.of(panel)``, when the caller has it already.
    """
    households = HouseholdSample.of(panel) if households is None else households
    wide = households.wide.copy()
    for short, round_name in (("y0", "baseline"), ("y1", "followup")):
        column = outcome.columns.get(round_name)
        if column is not None and column in panel.columns:
            wide[short] = households.by_household(panel, column, round_name)
        else:
            wide[short] = np.nan
    for name in covariates:
        present = name in panel.columns
        wide[f"cov_{name}"] = households.by_household(panel, name, "baseline") if present else np.nan
    return wide


def measured_in(panel: pd.DataFrame, outcome: OutcomeSpec, round_name: str) -> bool:
    """Whether the outcome has at least one value in ``round_name``."""
    column = outcome.columns.get(round_name)
    if column is None or column not in panel.columns:
        return False
    values = panel.loc[panel["round"] == round_name, column]
    return bool(pd.to_numeric(values, errors="coerce").notna().any())


@dataclass(frozen=True)
class Regressors:
    """The ingredients of a design matrix, kept instead of the matrix itself.

    A study with many strata at national scale (80 kecamatan, 200,000 households) makes every
    matrix about 130 MB, mostly strata dummies, and the estimate stage keeps three designs for
    each of some fifty outcomes alive for the inference step: that is what made it need more
    than 17 GiB. Keeping the few source columns and building the dummies when a fit asks for
    them costs a fraction of a second per fit and keeps memory flat in the number of outcomes.
    """

    frame: pd.DataFrame
    terms: tuple[str, ...]
    strata_fe: bool
    covariates: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, frame: pd.DataFrame, *, terms: Sequence[str], strata_fe: bool, covariates: Sequence[str] = ()
    ) -> Regressors:
        """Keep only the columns of ``frame`` the matrix is built from."""
        columns = [*terms, "strata", *(f"cov_{c}" for c in covariates)]
        return cls(frame[columns].copy(), tuple(terms), strata_fe, tuple(covariates))

    def matrix(self) -> pd.DataFrame:
        """The design matrix: constant, terms, strata dummies, covariates (with missing dummies)."""
        return _design(self.frame, terms=self.terms, strata_fe=self.strata_fe, covariates=self.covariates)


def strata_dummies(strata: pd.Series, *, strata_fe: bool = True) -> pd.DataFrame:
    """One 0/1 column per stratum but the first (none without strata or with a single one)."""
    if not strata_fe or strata.isna().all() or strata.nunique() <= 1:
        return pd.DataFrame(index=strata.index)
    return pd.get_dummies(strata.astype(str), prefix="strata", drop_first=True).astype(float)


def _design(
    frame: pd.DataFrame, *, terms: Sequence[str], strata_fe: bool, covariates: Sequence[str] = ()
) -> pd.DataFrame:
    X = pd.DataFrame({"const": 1.0}, index=frame.index)
    for term in terms:
        X[term] = frame[term].astype(float)
    X = X.join(strata_dummies(frame["strata"], strata_fe=strata_fe))
    for name in covariates:
        values = frame[f"cov_{name}"].astype(float)
        missing = values.isna()
        X[f"cov_{name}"] = values.fillna(0.0)
        if missing.any():
            X[f"cov_{name}_missing"] = missing.astype(float)
    # A strata dummy or covariate that does not vary in this sample (e.g. a covariate missing for
    # every household) is collinear with the constant and identifies nothing: leave it out.
    fixed = [c for c in X.columns if c != "const" and c not in terms and X[c].nunique() <= 1]
    return X.drop(columns=fixed)


@dataclass(frozen=True)
class Design:
    """The regression behind one row of the impact table.

    Attributes
    ----------
    outcome, estimator
        What the row estimates.
    y, X
        Dependent variable and regressors (``X`` holds the constant; it is assembled from
        ``regressors`` on each access).
    term
        The column of ``X`` whose coefficient is the reported estimate.
    clusters
        Cluster labels when standard errors are clustered (villages, or households for the
        pooled DiD without a study cluster); otherwise None.
    weights
        Survey weights, or None.
    n_obs
        Households used (household-rounds for the pooled DiD).
    note
        Why there is no regression (empty when there is one).
    strata
        Randomization strata labels aligned with ``y`` (for randomization inference), or None.
    """

    outcome: str
    estimator: str
    y: pd.Series
    regressors: Regressors
    term: str
    clusters: pd.Series | None
    weights: pd.Series | None
    n_obs: int
    note: str = ""
    strata: pd.Series | None = None

    @property
    def X(self) -> pd.DataFrame:  # noqa: N802 (the econometric name for the design matrix)
        """The regressors, built on each access; see :class:`Regressors` for why."""
        return self.regressors.matrix()

    @property
    def empty(self) -> bool:
        """Whether there is nothing to estimate."""
        return self.n_obs == 0 or bool(self.note)

    @property
    def arms(self) -> pd.Series | None:
        """The 0/1 treatment of each row when the estimate compares the arms, else None."""
        if "treatment" not in self.regressors.terms:
            return None
        return self.regressors.frame["treatment"]

    def inference_gap(self) -> tuple[str, str]:
        """Why this regression's clustered inference is not reported (:func:`inference_gap`)."""
        return inference_gap(self.clusters, self.arms)


def _pooled_did(
    panel: pd.DataFrame,
    outcome: OutcomeSpec,
    wide: pd.DataFrame,
    *,
    clustered: bool,
    strata_fe: bool,
    covariates: Sequence[str],
) -> Design:
    """Pooled T, Post, T×Post regression on every in-sample household-round with a value."""
    parts = []
    for round_name, post in (("baseline", 0.0), ("followup", 1.0)):
        column = outcome.columns.get(round_name)
        rows = panel.loc[panel["in_sample"] & (panel["round"] == round_name)]
        if column is None or column not in rows.columns:
            continue
        part = pd.DataFrame({"hh": rows["hh"].to_numpy(), "y": pd.to_numeric(rows[column], errors="coerce")})
        part["post"] = post
        parts.append(part)
    long = pd.concat(parts, ignore_index=True).dropna(subset=["y"])
    household = wide.set_index("hh")
    keep = ["treatment", "cluster", "strata", "weight"] + [f"cov_{c}" for c in covariates]
    long = long.join(household[keep], on="hh").dropna(subset=["treatment"])
    long["treatment_x_post"] = long["treatment"] * long["post"]
    regressors = Regressors.of(
        long, terms=["treatment", "post", "treatment_x_post"], strata_fe=strata_fe, covariates=covariates
    )
    # Households appear in both rounds, so without villages the household is the cluster.
    clusters = long["cluster"] if clustered else long["hh"]
    return Design(
        outcome=outcome.name,
        estimator="did",
        y=long["y"],
        regressors=regressors,
        term="treatment_x_post",
        clusters=clusters,
        weights=long["weight"],
        n_obs=len(long),
        note="" if len(long) else "no data",
        strata=long["strata"],
    )


def designs_for(
    panel: pd.DataFrame,
    outcome: OutcomeSpec,
    *,
    clustered: bool,
    strata_fe: bool = True,
    covariates: Sequence[str] = (),
    did_form: DidForm = "household",
    households: HouseholdSample | None = None,
) -> list[Design]:
    """The regressions of every applicable estimator for one outcome.

    An outcome measured in both rounds gets ``followup_diff``, ``did``, ``ancova`` and
    ``before_after``; one measured only at follow-up gets ``followup_diff`` alone.

    Parameters
    ----------
    panel
        The constructed long panel (see :mod:`analysis.construct.panel`).
    outcome
        The outcome to estimate.
    clustered
        Whether to cluster standard errors by the panel's ``cluster`` column.
    strata_fe
        Include strata fixed effects when the panel has strata.
    covariates
        Panel columns whose baseline values enter as controls (missing set to 0 plus a dummy).
    did_form
        ``household`` (first differences, equal to household fixed effects) or ``none``
        (pooled T, Post, T×Post on the long panel).
    households
        ``HouseholdSample.of(panel)``, shared by the outcomes of one panel (built when None).

    Returns
    -------
    list of Design
        One per estimator, in the order of :data:`analysis.config.ESTIMATORS`.
    """
    if did_form not in ("household", "none"):
        raise ValueError(f"did_form is {did_form!r}; expecting household or none")
    wide = outcome_frame(panel, outcome, covariates=covariates, households=households)
    both_rounds = measured_in(panel, outcome, "baseline") and measured_in(panel, outcome, "followup")
    estimators = ESTIMATORS if both_rounds else ("followup_diff",)
    designs = []
    twice: list[pd.DataFrame] = []

    def measured_twice() -> pd.DataFrame:
        """Households with the outcome in both rounds: the sample of did and ancova, taken once."""
        if not twice:
            twice.append(wide.dropna(subset=["y0", "y1", "treatment"]))
        return twice[0]

    for estimator in estimators:
        controls: Sequence[str] = covariates
        if estimator == "did" and did_form == "none":
            designs.append(
                _pooled_did(
                    panel, outcome, wide, clustered=clustered, strata_fe=strata_fe, covariates=covariates
                )
            )
            continue
        if estimator == "followup_diff":
            sample = wide.dropna(subset=["y1", "treatment"])
            y, terms = sample["y1"], ["treatment"]
        elif estimator == "ancova":
            sample = measured_twice()
            y, terms = sample["y1"], ["treatment", "y0"]
        elif estimator == "did":
            sample = measured_twice()
            y, terms = sample["y1"] - sample["y0"], ["treatment"]
        else:  # before_after: programme households only, so there is no comparison term
            sample = wide.dropna(subset=["y0", "y1"]).loc[lambda f: f["treatment"] == 1]
            y, terms, controls = sample["y1"] - sample["y0"], [], ()
        term = "treatment" if terms else "const"
        regressors = Regressors.of(
            sample,
            terms=terms,
            strata_fe=strata_fe and estimator != "before_after",
            covariates=controls,
        )
        designs.append(
            Design(
                outcome=outcome.name,
                estimator=estimator,
                y=y,
                regressors=regressors,
                term=term,
                clusters=sample["cluster"] if clustered else None,
                weights=sample["weight"],
                n_obs=len(sample),
                note="" if len(sample) else "no data",
                strata=sample["strata"],
            )
        )
    return designs


def fit_design(design: Design, *, vcov: VcovChoice = "auto") -> Fit:
    """Fit one :class:`Design` with :func:`fit_ols`."""
    regressors = design.regressors
    if not regressors.strata_fe:
        return fit_ols(
            design.y, design.X, clusters=design.clusters, weights=design.weights, se=vcov, arms=design.arms
        )
    # The strata enter as absorbed fixed effects: the same numbers as design.X's dummies, at a
    # fraction of the cost (see fit_ols).
    small = _design(
        regressors.frame, terms=regressors.terms, strata_fe=False, covariates=regressors.covariates
    )
    return fit_ols(
        design.y,
        small,
        clusters=design.clusters,
        weights=design.weights,
        absorb=regressors.frame["strata"],
        se=vcov,
        arms=design.arms,
    )


def empty_row(outcome: str, estimator: str, *, n_obs: int, note: str) -> dict[str, object]:
    """An impact row without an estimate (``impact_detail.csv`` columns); ``note`` says why."""
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


def _row(
    outcome: str, estimator: str, fit: Fit | None, *, term: str, n_obs: int, note: str = ""
) -> dict[str, object]:
    if fit is None:
        return empty_row(outcome, estimator, n_obs=n_obs, note=note)
    position = list(fit.params.index).index(term)
    return {
        "outcome": outcome,
        "estimator": estimator,
        "estimate": float(fit.params[term]),
        "std_error": float(fit.bse[term]),
        "p_value": float(fit.pvalues[term]),
        "ci_low": float(fit.conf_int.to_numpy()[position, 0]),
        "ci_high": float(fit.conf_int.to_numpy()[position, 1]),
        "n_obs": n_obs,
        "n_clusters": np.nan if fit.n_clusters is None else fit.n_clusters,
        "se_type": fit.se_type,
        "note": "; ".join(n for n in (note, fit.note) if n),
    }


def estimate_designs(designs: Sequence[Design], *, vcov: VcovChoice = "auto") -> pd.DataFrame:
    """Fit every design; one tidy row each (the columns of ``tables/impact.csv`` plus ``note``)."""
    rows = []
    for design in designs:
        if design.empty:
            rows.append(
                _row(design.outcome, design.estimator, None, term=design.term, n_obs=design.n_obs,
                     note=design.note or "no data")
            )  # fmt: skip
            continue
        try:
            fit = fit_design(design, vcov=vcov)
        except EstimationError as exc:
            rows.append(
                _row(
                    design.outcome,
                    design.estimator,
                    None,
                    term=design.term,
                    n_obs=design.n_obs,
                    note=str(exc),
                )
            )
            continue
        rows.append(_row(design.outcome, design.estimator, fit, term=design.term, n_obs=design.n_obs))
    return pd.DataFrame(rows, columns=[*IMPACT_COLUMNS, "note"])


def estimate_outcome(
    panel: pd.DataFrame,
    outcome: OutcomeSpec,
    *,
    clustered: bool,
    vcov: VcovChoice = "auto",
    strata_fe: bool = True,
    covariates: Sequence[str] = (),
    did_form: DidForm = "household",
) -> pd.DataFrame:
    """Every applicable estimator for one outcome, as tidy rows.

    An outcome measured in both rounds gets ``followup_diff``, ``did``, ``ancova`` and
    ``before_after``; one measured only at follow-up gets ``followup_diff`` alone.

    Parameters
    ----------
    panel
        The constructed long panel (see :mod:`analysis.construct.panel`).
    outcome
        The outcome to estimate.
    clustered
        Whether to cluster standard errors by the panel's ``cluster`` column.
    vcov
        Standard-error choice, see :func:`fit_ols`.
    strata_fe
        Include strata fixed effects when the panel has strata.
    covariates
        Baseline covariates, see :func:`designs_for`.
    did_form
        ``household`` or ``none``, see :func:`designs_for`.

    Returns
    -------
    pandas.DataFrame
        One row per estimator with the columns of ``tables/impact.csv`` plus ``note``.
    """
    designs = designs_for(
        panel, outcome, clustered=clustered, strata_fe=strata_fe, covariates=covariates, did_form=did_form
    )
    return estimate_designs(designs, vcov=vcov)


def estimate_impacts(
    panel: pd.DataFrame,
    outcomes: Sequence[OutcomeSpec],
    *,
    clustered: bool,
    vcov: VcovChoice = "auto",
    covariates: Sequence[str] = (),
    did_form: DidForm = "household",
) -> pd.DataFrame:
    """Tidy impact table for every outcome: one row per outcome × estimator.

    The first columns are exactly :data:`analysis.config.IMPACT_COLUMNS`; ``note`` follows.
    """
    frames = [
        estimate_outcome(
            panel, outcome, clustered=clustered, vcov=vcov, covariates=covariates, did_form=did_form
        )
        for outcome in outcomes
    ]
    table = pd.concat(frames, ignore_index=True)
    return table[list(IMPACT_COLUMNS) + ["note"]]
