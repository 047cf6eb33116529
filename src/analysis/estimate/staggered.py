"""Estimators for more than two rounds: ``twfe``, ``cs_att`` and the event study (issue 13).

All functions take one long DataFrame, one row per unit and round (column names are keyword
options, so the estimate stage can pass the panel's own names):

``unit`` (default ``"unit"``)
    What is followed across rounds: a household id, or a village for village-level series.
``period`` (default ``"round"``)
    The round as a number that orders the rounds (1, 2, 3, a year, a quarter number). Event
    times count rounds, not calendar units: with rounds 2010, 2012 and 2017 the round after
    2010 is 2012 (event time 1), as the R ``did`` package and ``diff-diff`` also count them.
``cohort`` (default ``"cohort"``)
    The first round in which the unit is treated (a value of ``period``); missing means never
    treated. Adoption is staggered: once treated, a unit stays treated, so the treatment of a
    row is ``period >= cohort``. :func:`first_treated_round` derives the cohort from a 0/1
    treatment that varies by round and refuses a unit that switches back.
the outcome
    A numeric column; rows where it is missing are left out.
``cluster`` (optional)
    The cluster (village) of each row; standard errors are clustered by it, and by the unit
    when it is None.

Estimators (docs/methods.md §10):

``twfe``
    Y_it = α_i + λ_t + τ·D_it + ε_it, unit and round fixed effects, CR1 by cluster with
    t(G − 1), through statsmodels (:func:`analysis.estimate.regressions.fit_ols`, the unit
    effects partialled out, numerically the regression with one dummy per unit). Biased when
    adoption is staggered and effects differ across cohorts or grow with time (Goodman-Bacon
    2021): the already treated serve as controls. It is reported, labelled so (:data:`TWFE_NOTE`).
``cs_att``
    The Callaway–Sant'Anna (2021) ATT: 2×2 DiDs of each cohort against never-treated units (or
    not-yet-treated ones), aggregated with weights proportional to cohort size (the ``simple``
    aggregation of R ``did::aggte``); its event-study (``dynamic``) aggregation gives one
    coefficient per event time. Computed by the maintained ``diff-diff`` package.
the event study
    One row per event time (columns :data:`analysis.config.EVENT_STUDY_COLUMNS`); event time −1
    is the reference (estimate 0, no standard error); pre-periods are shown, and
    :func:`pretrend_test` gives the joint test that they are all zero.
``did`` for a repeated cross-section
    :func:`pooled_did`: Y = α + β·G + δ·Post + τ·(G × Post) + ε on every observation, CR1 by
    cluster when there is one, else HC1.

With a single treated (or comparison) cluster the standard error of ``twfe`` and ``cs_att`` is
still computed, so that it can be compared with other software, but the result carries the
code of :func:`analysis.methods.few_clusters.inference_gap` and
:meth:`StaggeredEstimate.impact_row` withholds it, as the two-round estimators do.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from analysis.config import EVENT_STUDY_COLUMNS, IMPACT_COLUMNS
from analysis.errors import EstimationError
from analysis.estimate.regressions import Fit, fit_ols
from analysis.inputs.study import VcovChoice
from analysis.methods.few_clusters import inference_gap

ControlGroup = Literal["never_treated", "not_yet_treated"]
BasePeriod = Literal["universal", "varying"]

#: The label every ``twfe`` row carries (issue 13: report it, but say when it is biased).
TWFE_NOTE = (
    "two-way fixed effects: biased when adoption is staggered and effects differ across "
    "cohorts or grow with time (already treated units serve as controls); read cs_att"
)

#: The event time every event study is normalised to (its coefficient is 0 by construction).
REFERENCE_EVENT_TIME = -1


@dataclass(frozen=True)
class StaggeredEstimate:
    """One estimate of the programme effect: a row of ``tables/impact.csv``.

    Attributes
    ----------
    outcome, estimator
        What the row estimates (``twfe``, ``cs_att`` or ``did``).
    estimate, std_error, p_value, ci_low, ci_high
        The estimate and its inference; the standard error is computed even when ``gap`` says
        it cannot be trusted (:meth:`impact_row` withholds it then).
    n_obs
        Observations used: unit-rounds for ``twfe`` and ``did``, units for ``cs_att``.
    n_clusters
        Clusters of the standard error (None when it is not clustered).
    se_type
        ``CR1`` (clustered), ``HC1``, ``iid``, or ``IF`` (``cs_att`` without clusters: the
        variance of the unit-level influence function).
    gap
        A code of :data:`analysis.methods.few_clusters.INFERENCE_GAPS` (``one_treated_cluster``,
        ...) when clustered inference cannot be trusted, else empty.
    note
        Caveats in words (the ``twfe`` label, the reason for ``gap``).
    """

    outcome: str
    estimator: str
    estimate: float
    std_error: float
    p_value: float
    ci_low: float
    ci_high: float
    n_obs: int
    n_clusters: int | None
    se_type: str
    gap: str = ""
    note: str = ""

    @classmethod
    def from_fit(
        cls, fit: Fit, term: str, *, outcome: str, estimator: str, gap: str, note: str
    ) -> StaggeredEstimate:
        """The estimate of ``term`` in a statsmodels fit (:func:`analysis.estimate.regressions.fit_ols`)."""
        low, high = fit.conf_int.loc[term].to_numpy(dtype=float)
        return cls(
            outcome=outcome,
            estimator=estimator,
            estimate=float(fit.params[term]),
            std_error=float(fit.bse[term]),
            p_value=float(fit.pvalues[term]),
            ci_low=float(low),
            ci_high=float(high),
            n_obs=fit.nobs,
            n_clusters=fit.n_clusters,
            se_type=fit.se_type,
            gap=gap,
            note=note,
        )

    def impact_row(self) -> dict[str, object]:
        """The row of ``tables/impact.csv`` (its columns plus ``note``).

        With an inference gap the standard error, p-value and interval are NaN, as
        :func:`analysis.estimate.regressions.fit_ols` reports them for the two-round estimators.
        """
        withheld = bool(self.gap)
        row: dict[str, object] = {
            "outcome": self.outcome,
            "estimator": self.estimator,
            "estimate": self.estimate,
            "std_error": np.nan if withheld else self.std_error,
            "p_value": np.nan if withheld else self.p_value,
            "ci_low": np.nan if withheld else self.ci_low,
            "ci_high": np.nan if withheld else self.ci_high,
            "n_obs": self.n_obs,
            "n_clusters": np.nan if self.n_clusters is None else self.n_clusters,
            "se_type": self.se_type,
            "note": self.note,
        }
        assert tuple(row)[: len(IMPACT_COLUMNS)] == IMPACT_COLUMNS
        return row


@dataclass(frozen=True)
class PretrendTest:
    """The joint test that every pre-period event-study coefficient is zero.

    Attributes
    ----------
    statistic
        The Wald statistic ``b'V⁻¹b`` (chi-squared form) or ``b'V⁻¹b / q`` (F form).
    df
        q, the number of pre-period coefficients tested.
    df_denom
        The denominator degrees of freedom of the F form (G − 1 with clusters), else None.
    p_value
        Upper tail of chi²(q), or of F(q, df_denom).
    note
        Why there is no test (then ``statistic`` and ``p_value`` are NaN), else empty.
    """

    statistic: float
    df: int
    df_denom: float | None
    p_value: float
    note: str = ""


@dataclass(frozen=True)
class EventStudy:
    """Event-study coefficients of one outcome and estimator, and the pre-trend test.

    Attributes
    ----------
    table
        One row per event time, columns :data:`analysis.config.EVENT_STUDY_COLUMNS`, the
        reference event time −1 included (estimate 0, no standard error). ``n_obs`` counts the
        treated units observed at that event time (the units the coefficient averages over);
        ``n_clusters`` is the number of clusters of the standard errors (NaN when unclustered).
    pre_test
        :func:`pretrend_test` of the coefficients before event time −1 (for the ``varying``
        base period of ``cs_att``, of every negative event time).
    covariance
        The covariance matrix of the estimated coefficients (reference excluded), indexed by
        event time; None when there is no usable one.
    gap, note
        As in :class:`StaggeredEstimate`.
    """

    table: pd.DataFrame
    pre_test: PretrendTest
    covariance: pd.DataFrame | None = field(default=None, repr=False)
    gap: str = ""
    note: str = ""


# ---------------------------------------------------------------------------------------------
# Cohorts and the long frame


def first_treated_round(data: pd.DataFrame, *, unit: str, period: str, treatment: str) -> pd.Series:
    """Each unit's first treated round from a 0/1 treatment that varies by round.

    Parameters
    ----------
    data
        The long frame.
    unit, period
        Unit and round columns.
    treatment
        1 when the programme was active for the unit in that round, else 0.

    Returns
    -------
    pandas.Series
        Indexed by unit: the first round with treatment 1, NaN for a unit never treated.

    Raises
    ------
    EstimationError
        When a treatment is not 0/1, or a unit goes back to 0 after being treated (the
        estimators assume staggered adoption); the message names the first such unit.
    """
    frame = data[[unit, period, treatment]].dropna(subset=[treatment])
    values = pd.to_numeric(frame[treatment], errors="coerce")
    if not values.isin([0, 1]).all():
        raise EstimationError(f"{treatment} must be 0 or 1 in every round")
    frame = frame.assign(**{treatment: values}).sort_values([unit, period], kind="stable")
    switched_off = frame.groupby(unit, sort=False)[treatment].diff() < 0
    if switched_off.any():
        row = frame.loc[switched_off].iloc[0]
        raise EstimationError(
            f"unit {row[unit]} is treated before round {row[period]} and not in it: the "
            f"estimators for several rounds need staggered adoption (once treated, always treated)"
        )
    treated = frame.loc[frame[treatment] == 1]
    first = treated.groupby(unit, sort=False)[period].min()
    return first.reindex(pd.unique(frame[unit])).rename("cohort")


@dataclass(frozen=True)
class _Panel:
    """The long frame reduced to what the estimators use, rounds as positions 1 … T."""

    frame: pd.DataFrame  # y, unit, position, cohort_position (0: never), cluster, treated, ever
    periods: tuple[float, ...]  # the round values, in order
    clustered_by: str  # the column the standard errors are clustered by


def _panel(
    data: pd.DataFrame, *, outcome: str, unit: str, period: str, cohort: str, cluster: str | None
) -> _Panel:
    columns = [outcome, unit, period, cohort] + ([cluster] if cluster else [])
    missing = [c for c in dict.fromkeys(columns) if c not in data.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}")
    frame = data.loc[data[outcome].notna()]
    y = pd.to_numeric(frame[outcome], errors="coerce")
    if y.isna().any():
        raise EstimationError(f"{outcome} must be numeric")
    rounds = pd.to_numeric(frame[period], errors="coerce")
    if rounds.isna().any():
        raise EstimationError(f"{period} must be a number in every row (it orders the rounds)")
    periods = tuple(sorted(rounds.unique()))
    if len(periods) < 2:
        raise EstimationError(f"{outcome} is measured in fewer than two rounds")
    position = {value: i + 1 for i, value in enumerate(periods)}
    cohorts = pd.to_numeric(frame[cohort], errors="coerce")
    unknown = sorted(set(cohorts.dropna()) - set(periods))
    if unknown:
        raise EstimationError(f"{cohort} {unknown[0]:g} is not a round of the data")
    if frame.groupby(unit, sort=False)[cohort].nunique(dropna=False).gt(1).any():
        raise EstimationError(f"{cohort} must be the same in every round of a unit")
    if frame[[unit, period]].duplicated().any():
        raise EstimationError(f"more than one row per {unit} and {period}")
    cluster_values = frame[cluster] if cluster else frame[unit]
    if cluster_values.isna().any():
        raise EstimationError(f"{cluster} is missing in some rows")
    out = pd.DataFrame(
        {
            "y": y.to_numpy(dtype=float),
            "unit": frame[unit].to_numpy(),
            "position": rounds.map(position).to_numpy(dtype=int),
            "cohort_position": cohorts.map(position).fillna(0).to_numpy(dtype=int),
            "cluster": cluster_values.to_numpy(),
        }
    )
    out["ever"] = out["cohort_position"] > 0
    out["treated"] = (out["ever"] & (out["position"] >= out["cohort_position"])).astype(float)
    return _Panel(out, periods, cluster or unit)


def _gap(frame: pd.DataFrame) -> tuple[str, str]:
    """The few-cluster code and note of a panel, the arms being ever-treated and never-treated."""
    return inference_gap(frame["cluster"], frame["ever"].astype(float))


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


# ---------------------------------------------------------------------------------------------
# Two-way fixed effects


def _fit_twfe(panel: _Panel, terms: pd.DataFrame) -> Fit:
    """Unit and round fixed effects plus ``terms``, CR1 by cluster, reghdfe's small-sample factor.

    statsmodels (through :func:`fit_ols`) fits the regression with the unit effects partialled
    out: the coefficients, residuals and cluster sums of the regression with one dummy per unit.
    Its CR1 factor G/(G − 1)·(N − 1)/(N − K) counts every unit dummy in K, as Stata's ``areg``
    does. When each unit stays in one cluster, Stata's reghdfe and R's fixest leave those nested
    effects out of K (a unit effect uses no degree of freedom that the cluster-robust variance
    has not already lost; Cameron & Miller 2015, §IIIB) but count the constant, and so does
    berdaya: the covariance is rescaled by (N − K)/(N − K + units − 1). Otherwise a short panel
    of many households would have its standard errors inflated by up to √2 (two rounds: K is
    about N/2).
    """
    frame = panel.frame
    round_dummies = pd.get_dummies(frame["position"], prefix="round", drop_first=True, dtype=float)
    X = pd.concat([pd.DataFrame({"const": 1.0}, index=frame.index), terms, round_dummies], axis=1)
    # arms=None: the standard error is computed even with one treated cluster (the caller flags
    # it); fit_ols would otherwise leave it out.
    fit = fit_ols(frame["y"], X, clusters=frame["cluster"], absorb=frame["unit"], se="CR1")
    nested = bool(frame.groupby("unit", sort=False)["cluster"].nunique().max() == 1)
    if not nested or fit.cov_params is None:
        return fit
    n_units = int(frame["unit"].nunique())
    k_counted = len(fit.params) + n_units  # the terms, the round dummies and every unit effect
    # reghdfe and fixest count the terms, the round dummies and the constant.
    scale = (fit.nobs - k_counted) / (fit.nobs - k_counted + n_units - 1)
    cov = fit.cov_params * scale
    bse = fit.bse * math.sqrt(scale)
    t_crit = float(stats.t.ppf(0.975, fit.df_inference))
    return dataclasses.replace(
        fit,
        bse=bse,
        pvalues=pd.Series(2 * stats.t.sf(np.abs(fit.params / bse), fit.df_inference), index=bse.index),
        conf_int=pd.DataFrame({0: fit.params - t_crit * bse, 1: fit.params + t_crit * bse}),
        cov_params=cov,
    )


def twfe(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str = "unit",
    period: str = "round",
    cohort: str = "cohort",
    cluster: str | None = None,
) -> StaggeredEstimate:
    """The two-way fixed-effects estimate of the programme effect (``twfe``).

    Y_it = α_i + λ_t + τ·D_it + ε_it with D_it = 1 from the unit's cohort on; CR1 standard
    errors clustered by ``cluster`` (the unit when None), t(G − 1) tests and 95 % intervals.
    The small-sample factor G/(G − 1)·(N − 1)/(N − K) is reghdfe's and fixest's: when every
    unit stays in one cluster, K counts τ, the round effects and the constant but not the unit
    effects, so the standard error equals pyfixest's and is √((N − K_all)/(N − K)) times that of
    statsmodels (or Stata ``regress``) with one dummy per unit, K_all counting every dummy
    (docs/methods.md §10.1).

    Parameters
    ----------
    data
        The long frame (module docstring).
    outcome, unit, period, cohort, cluster
        Its columns.

    Returns
    -------
    StaggeredEstimate
        With ``note`` :data:`TWFE_NOTE`, and ``gap`` set when one cluster is treated (or one
        is a comparison).

    Raises
    ------
    EstimationError
        When the data cannot identify τ (no variation in treatment within units and rounds).
    """
    panel = _panel(data, outcome=outcome, unit=unit, period=period, cohort=cohort, cluster=cluster)
    frame = panel.frame
    if not frame["treated"].any():
        raise EstimationError(f"no unit is treated in a round where {outcome} is measured")
    fit = _fit_twfe(panel, frame[["treated"]])
    code, why = _gap(frame)
    return StaggeredEstimate.from_fit(
        fit,
        "treated",
        outcome=outcome,
        estimator="twfe",
        gap=code,
        note=_join(TWFE_NOTE, why),
    )


def _treated_counts(frame: pd.DataFrame) -> pd.Series:
    """Treated units observed at each event time (rounds since the cohort's first round)."""
    ever = frame.loc[frame["ever"]]
    event = ever["position"] - ever["cohort_position"]
    return ever.groupby(event.to_numpy())["unit"].nunique()


def twfe_event_study(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str = "unit",
    period: str = "round",
    cohort: str = "cohort",
    cluster: str | None = None,
) -> EventStudy:
    """The dynamic two-way fixed-effects regression: one coefficient per event time.

    Y_it = α_i + λ_t + Σ_{e ≠ −1} β_e·1{t − g_i = e} + ε_it over all units, the never-treated
    having every event dummy 0; CR1 by cluster, t(G − 1). Under staggered adoption with
    heterogeneous effects the β_e are contaminated by other event times (Sun & Abraham 2021);
    the ``cs_att`` event study is the one to read. The pre-trend test is the F form of
    :func:`pretrend_test` with G − 1 denominator degrees of freedom (Stata's ``test`` after
    ``regress, vce(cluster)``).

    Raises
    ------
    EstimationError
        Without never-treated units (the dummies of every event time and the round effects are
        then collinear), or without a treated unit.
    """
    panel = _panel(data, outcome=outcome, unit=unit, period=period, cohort=cohort, cluster=cluster)
    frame = panel.frame
    if not frame["ever"].any():
        raise EstimationError(f"no unit is ever treated where {outcome} is measured")
    if frame["ever"].all():
        raise EstimationError(
            "the two-way fixed-effects event study needs never-treated units: with every unit "
            "treated at some round, event times and rounds are collinear"
        )
    event = np.where(frame["ever"], frame["position"] - frame["cohort_position"], np.nan)
    times = sorted(int(e) for e in pd.unique(event[~np.isnan(event)]) if e != REFERENCE_EVENT_TIME)
    names = {e: f"event_{e}" for e in times}
    dummies = pd.DataFrame({names[e]: (event == e).astype(float) for e in times}, index=frame.index)
    fit = _fit_twfe(panel, dummies)
    code, why = _gap(frame)
    counts = _treated_counts(frame)
    rows = []
    for e in sorted([*times, REFERENCE_EVENT_TIME]):
        if e == REFERENCE_EVENT_TIME:
            estimate, se, low, high = 0.0, np.nan, np.nan, np.nan
        else:
            name = names[e]
            estimate, se = float(fit.params[name]), float(fit.bse[name])
            interval = fit.conf_int.loc[name].to_numpy(dtype=float)
            low, high = float(interval[0]), float(interval[1])
        rows.append((outcome, "twfe", e, estimate, se, low, high, int(counts.get(e, 0)), fit.n_clusters))
    table = pd.DataFrame(rows, columns=list(EVENT_STUDY_COLUMNS))
    covariance = None
    if fit.cov_params is not None:
        order = [names[e] for e in times]
        covariance = pd.DataFrame(fit.cov_params.loc[order, order].to_numpy(), index=times, columns=times)
    pre = [e for e in times if e < REFERENCE_EVENT_TIME]
    test = _pre_test(table, covariance, pre, df_denom=fit.df_inference)
    return EventStudy(table=table, pre_test=test, covariance=covariance, gap=code, note=_join(TWFE_NOTE, why))


# ---------------------------------------------------------------------------------------------
# The joint test of the pre-periods


def pretrend_test(
    estimates: Sequence[float] | np.ndarray,
    covariance: np.ndarray | pd.DataFrame,
    *,
    df_denom: float | None = None,
) -> PretrendTest:
    """Joint Wald test that the pre-period coefficients are all zero.

    W = b'V⁻¹b for the q coefficients b and their covariance V. Without ``df_denom`` the
    p-value is that of chi²(q) (R ``did``'s pre-test of the group-time effects); with it the
    statistic is W/q and the p-value that of F(q, df_denom) (Stata's ``test`` after a clustered
    regression, df_denom = G − 1). With clusters the covariance has rank at most G − 1, so
    more restrictions than ``df_denom`` cannot be tested (NaN, with the reason).

    Parameters
    ----------
    estimates
        The pre-period coefficients (the reference event time left out).
    covariance
        Their q × q covariance matrix.
    df_denom
        Denominator degrees of freedom for the F form, or None for chi².

    Returns
    -------
    PretrendTest
    """
    b = np.asarray(estimates, dtype=float).reshape(-1)
    V = np.asarray(covariance, dtype=float)
    q = len(b)
    if q == 0:
        return PretrendTest(np.nan, 0, df_denom, np.nan, "no pre-period coefficient to test")
    if V.shape != (q, q) or not (np.isfinite(b).all() and np.isfinite(V).all()):
        return PretrendTest(
            np.nan, q, df_denom, np.nan, "no covariance matrix of the pre-period coefficients"
        )
    if df_denom is not None and q > df_denom:
        return PretrendTest(
            np.nan, q, df_denom, np.nan, f"{q} restrictions exceed the {df_denom:g} degrees of freedom"
        )
    try:
        wald = float(b @ np.linalg.solve(V, b))
    except np.linalg.LinAlgError:
        return PretrendTest(
            np.nan, q, df_denom, np.nan, "the covariance matrix of the pre-periods is singular"
        )
    if df_denom is None:
        return PretrendTest(wald, q, None, float(stats.chi2.sf(wald, q)))
    f_stat = wald / q
    return PretrendTest(f_stat, q, df_denom, float(stats.f.sf(f_stat, q, df_denom)))


def _pre_test(
    table: pd.DataFrame, covariance: pd.DataFrame | None, pre: Sequence[int], *, df_denom: float | None
) -> PretrendTest:
    if covariance is None:
        return PretrendTest(np.nan, len(pre), df_denom, np.nan, "no covariance matrix (inference withheld)")
    estimates = table.set_index("event_time").loc[list(pre), "estimate"].to_numpy(dtype=float)
    return pretrend_test(estimates, covariance.loc[list(pre), list(pre)].to_numpy(), df_denom=df_denom)


# ---------------------------------------------------------------------------------------------
# Callaway–Sant'Anna


@dataclass(frozen=True)
class CallawaySantAnna:
    """What :func:`callaway_santanna` estimates for one outcome.

    Attributes
    ----------
    overall
        The ``cs_att`` row: the simple aggregation of the post-treatment ATT(g, t).
    event_study
        The dynamic aggregation, one row per event time (estimator ``cs_att``).
    group_time
        The ATT(g, t): columns ``cohort``, ``period`` (round values), ``estimate``,
        ``std_error``, ``n_treated``, ``n_control``.
    """

    overall: StaggeredEstimate
    event_study: EventStudy
    group_time: pd.DataFrame


def callaway_santanna(
    data: pd.DataFrame,
    *,
    outcome: str,
    unit: str = "unit",
    period: str = "round",
    cohort: str = "cohort",
    cluster: str | None = None,
    control_group: ControlGroup = "never_treated",
    base_period: BasePeriod = "universal",
    alpha: float = 0.05,
) -> CallawaySantAnna:
    """The Callaway–Sant'Anna ATT (``cs_att``) and its event study, by ``diff-diff``.

    Each cohort g is compared with the control units in a 2×2 DiD for every round t:
    ATT(g, t) = E[Y_t − Y_b | G = g] − E[Y_t − Y_b | control], with b the last round before g
    for t ≥ g. ``cs_att`` is their average over t ≥ g weighted by cohort size (R
    ``did::aggte(type = "simple")``); the event study averages them by e = t − g (``dynamic``).
    No covariates enter, so the outcome-regression, IPW and doubly robust forms coincide.
    Standard errors come from the influence function: per unit without ``cluster``
    (``se_type`` ``IF``, normal intervals, as R ``did`` with ``bstrap = FALSE``), or CR1 on its
    cluster sums with t(G − 1) intervals (``CR1``). The numbers equal R ``did`` 2.x on its mpdta
    example (docs/methods.md §10.2).

    Parameters
    ----------
    data
        The long frame (module docstring). In an unbalanced panel each ATT(g, t) uses the units
        observed in both of its rounds (``diff-diff``'s default; R ``did`` drops every unit
        missing a round), and ``note`` says so.
    outcome, unit, period, cohort, cluster
        Its columns.
    control_group
        ``never_treated`` (the default) or ``not_yet_treated`` (units not treated by round t,
        the never-treated included).
    base_period
        ``universal`` (the default): every ATT(g, t) is measured against round g − 1, so event
        time −1 is the reference (0) and the pre-period coefficients are long differences.
        ``varying``: a pre-period ATT(g, t) is measured against round t − 1 (R ``did``'s
        default and published output); post-period numbers are the same either way.
    alpha
        1 − confidence level of the intervals.

    Returns
    -------
    CallawaySantAnna

    Raises
    ------
    EstimationError
        When there is no treated cohort with a round before its first treated round, or no
        control unit.
    """
    if control_group not in ("never_treated", "not_yet_treated"):
        raise ValueError(f"control_group is {control_group!r}; expecting never_treated or not_yet_treated")
    if base_period not in ("universal", "varying"):
        raise ValueError(f"base_period is {base_period!r}; expecting universal or varying")
    panel = _panel(data, outcome=outcome, unit=unit, period=period, cohort=cohort, cluster=cluster)
    frame = panel.frame
    if not (frame["cohort_position"] > 1).any():
        raise EstimationError("no unit is first treated after the first round: nothing to compare")
    if control_group == "never_treated" and frame["ever"].all():
        raise EstimationError(
            "no never-treated unit: use the not-yet-treated units as controls (control_group)"
        )
    # Imported here: diff-diff takes about a second to import, which every run of the
    # two-round estimate stage would otherwise pay.
    from diff_diff import CallawaySantAnna as DiffDiffCS

    clustered = cluster is not None
    model = DiffDiffCS(
        control_group=control_group,
        estimation_method="dr",
        alpha=alpha,
        cluster="cluster" if clustered else None,
        base_period=base_period,
        n_bootstrap=0,
    )
    with warnings.catch_warnings():
        # Its notes on small cohorts and on unbalanced panels are facts about the data that the
        # tables show (n_obs) or the note below says.
        warnings.simplefilter("ignore", category=UserWarning)
        result = model.fit(frame, outcome="y", unit="unit", time="position", first_treat="cohort_position")
        simple = result.aggregate("simple").to_dataframe().iloc[0]
        dynamic = result.aggregate("event_study")
    code, why = _gap(frame)
    if frame.groupby("unit", sort=False)["position"].size().min() < len(panel.periods):
        why = _join(why, "unbalanced panel: each ATT(g, t) uses the units observed in both of its rounds")
    n_clusters = int(result.n_clusters) if clustered and result.n_clusters is not None else None
    overall = StaggeredEstimate(
        outcome=outcome,
        estimator="cs_att",
        estimate=float(simple["att"]),
        std_error=float(simple["se"]),
        p_value=float(simple["p_value"]),
        ci_low=float(simple["conf_int_lower"]),
        ci_high=float(simple["conf_int_upper"]),
        n_obs=int(result.n_treated_units + result.n_control_units),
        n_clusters=n_clusters,
        se_type="CR1" if clustered else "IF",
        gap=code,
        note=why,
    )
    event_study = _cs_event_study(
        frame, dynamic, outcome=outcome, n_clusters=n_clusters, base_period=base_period
    )
    event_study = EventStudy(
        table=event_study.table,
        pre_test=event_study.pre_test,
        covariance=event_study.covariance,
        gap=code,
        note=why,
    )
    group_time = pd.DataFrame(
        [
            {
                "cohort": panel.periods[g - 1],
                "period": panel.periods[t - 1],
                "estimate": float(cell["effect"]),
                "std_error": float(cell["se"]),
                "n_treated": int(cell["n_treated"]),
                "n_control": int(cell["n_control"]),
            }
            for (g, t), cell in sorted(result.group_time_effects.items())
        ]
    )
    return CallawaySantAnna(overall=overall, event_study=event_study, group_time=group_time)


def _cs_event_study(
    frame: pd.DataFrame, dynamic: object, *, outcome: str, n_clusters: int | None, base_period: BasePeriod
) -> EventStudy:
    """The rows of diff-diff's event-study aggregation, in :data:`EVENT_STUDY_COLUMNS`."""
    es = dynamic.to_dataframe()  # type: ignore[attr-defined]
    counts = _treated_counts(frame)
    estimates = es.set_index(es["event_time"].astype(int))
    if REFERENCE_EVENT_TIME not in estimates.index:
        raise EstimationError("no cohort is observed in the round before its first treated round")
    rows = []
    for e, row in estimates.sort_index().iterrows():
        reference = bool(row["is_reference"])
        rows.append(
            (
                outcome,
                "cs_att",
                int(e),
                0.0 if reference else float(row["att"]),
                np.nan if reference else float(row["se"]),
                np.nan if reference else float(row["conf_int_lower"]),
                np.nan if reference else float(row["conf_int_upper"]),
                int(counts.get(int(e), 0)),
                n_clusters,
            )
        )
    table = pd.DataFrame(rows, columns=list(EVENT_STUDY_COLUMNS))
    vcov = getattr(dynamic, "vcov", None)
    index = getattr(dynamic, "vcov_index", None)
    covariance = (
        None
        if vcov is None or index is None
        else pd.DataFrame(np.asarray(vcov), index=[int(e) for e in index], columns=[int(e) for e in index])
    )
    # With the universal base period −1 is the reference and the test covers the earlier ones;
    # with the varying one −1 is a coefficient like the others (R did's output).
    last_pre = REFERENCE_EVENT_TIME - 1 if base_period == "universal" else REFERENCE_EVENT_TIME
    pre = [int(e) for e in table["event_time"] if e <= last_pre]
    df_denom = None if n_clusters is None else float(n_clusters - 1)
    return EventStudy(
        table=table, pre_test=_pre_test(table, covariance, pre, df_denom=df_denom), covariance=covariance
    )


# ---------------------------------------------------------------------------------------------
# Repeated cross-sections


def pooled_did(
    data: pd.DataFrame,
    *,
    outcome: str,
    group: str,
    post: str,
    cluster: str | None = None,
    vcov: VcovChoice = "auto",
) -> StaggeredEstimate:
    """The pooled DiD of a repeated cross-section (``did`` without a household id).

    Y = α + β·G + δ·Post + τ·(G × Post) + ε on every observation with an outcome: G is 1 in
    the programme group, Post 1 in the later round. Standard errors are CR1 by ``cluster``
    with t(G − 1), or HC1 without one (``vcov="auto"``); ``vcov="iid"`` gives the conventional
    OLS ones that textbooks print (docs/methods.md §10.4).

    Parameters
    ----------
    data
        One row per observation.
    outcome, group, post
        Columns: the outcome and two 0/1 indicators.
    cluster
        The cluster (village) column, or None.
    vcov
        As :func:`analysis.estimate.regressions.fit_ols`.

    Returns
    -------
    StaggeredEstimate
        ``n_obs`` is the number of observations used.
    """
    columns = [outcome, group, post] + ([cluster] if cluster else [])
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}")
    frame = data.loc[:, columns].dropna()
    for name in (group, post):
        if not pd.to_numeric(frame[name], errors="coerce").isin([0, 1]).all():
            raise EstimationError(f"{name} must be 0 or 1")
    g = frame[group].astype(float)
    p = frame[post].astype(float)
    X = pd.DataFrame({"const": 1.0, "group": g, "post": p, "group_x_post": g * p}, index=frame.index)
    clusters = frame[cluster] if cluster else None
    fit = fit_ols(frame[outcome].astype(float), X, clusters=clusters, se=vcov)
    code, why = ("", "") if clusters is None or vcov not in ("auto", "CR1") else inference_gap(clusters, g)
    return StaggeredEstimate.from_fit(
        fit,
        "group_x_post",
        outcome=outcome,
        estimator="did",
        gap=code,
        note=why,
    )
