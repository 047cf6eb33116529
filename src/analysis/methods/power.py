"""Sample size, power and minimum detectable effects (docs/methods.md sections 1.2 and 6).

- :func:`variance_factors` and :func:`sample_size_per_arm` -- individual-level designs with
  m baseline and r follow-up rounds (McKenzie 2012; Frison & Pocock 1992);
- :func:`mde_cluster`, :func:`clusters_needed` and :func:`design_effect` -- cluster-randomised
  designs (the PowerUp! / Bloom formula with cluster- and individual-level R-squared);
- :func:`icc` -- the intra-cluster correlation from a random-intercept model.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.errors import EstimationError

Estimator = Literal["post", "did", "ancova"]
Dist = Literal["normal", "t"]
IccMethod = Literal["reml", "anova"]


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}={value!r}: expecting one of {choices}")


def _check_alpha_power(alpha: float, power: float) -> None:
    if not (0 < alpha < 1):
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    if not (0 < power < 1):
        raise ValueError(f"power must lie in (0, 1), got {power}")


def variance_factors(rho: float, *, m: int = 1, r: int = 1) -> dict[str, float]:
    """Variance factors of the POST, DiD and ANCOVA estimators under compound symmetry.

    With ``m`` baseline rounds, ``r`` follow-up rounds and a constant correlation ``rho``
    between any two rounds (McKenzie 2012, eqs. 3-5):

    - ``F_POST = (1 + (r-1) rho) / r``
    - ``F_DiD = (1 + (r-1) rho) / r + (1 + (m-1) rho) / m - 2 rho``
    - ``F_ANCOVA = (1 + (r-1) rho) / r - m rho^2 / (1 + (m-1) rho)``

    Parameters
    ----------
    rho
        Autocorrelation of the outcome between rounds.
    m
        Number of baseline rounds (at least 1).
    r
        Number of follow-up rounds (at least 1).

    Returns
    -------
    dict
        ``{"post": F_POST, "did": F_DiD, "ancova": F_ANCOVA}``.

    Raises
    ------
    ValueError
        If ``m`` or ``r`` is below 1, or ``rho`` does not give a valid correlation matrix
        (``-1/(m+r-1) < rho <= 1``).
    """
    if int(m) != m or int(r) != r or m < 1 or r < 1:
        raise ValueError(f"m and r must be integers >= 1, got m={m}, r={r}")
    if not (-1.0 / (m + r - 1) < rho <= 1.0):
        raise ValueError(f"rho={rho} is not a valid compound-symmetry correlation for m={m}, r={r}")
    post = (1 + (r - 1) * rho) / r
    pre = (1 + (m - 1) * rho) / m
    return {
        "post": post,
        "did": post + pre - 2 * rho,
        "ancova": post - m * rho**2 / (1 + (m - 1) * rho),
    }


def _z_sum(alpha: float, power: float, z_decimals: int | None) -> float:
    z_alpha = float(stats.norm.ppf(1 - alpha / 2))
    z_power = float(stats.norm.ppf(power))
    if z_decimals is not None:
        z_alpha, z_power = round(z_alpha, z_decimals), round(z_power, z_decimals)
    return z_alpha + z_power


def sample_size_per_arm(
    sigma2: float,
    delta: float,
    *,
    rho: float,
    m: int,
    r: int,
    estimator: Estimator,
    alpha: float = 0.05,
    power: float = 0.8,
    z_decimals: int | None = None,
) -> float:
    """Compute the units needed per arm, ``n = (z_{1-a/2} + z_{power})^2 2 sigma2 / delta^2 F``.

    Two-sided test, equal arms, normal approximation (docs/methods.md section 1.2). The result is
    not rounded; round it up to get a sample size.

    Parameters
    ----------
    sigma2
        Outcome variance.
    delta
        Effect to detect, in outcome units.
    rho
        Autocorrelation between rounds.
    m
        Number of baseline rounds.
    r
        Number of follow-up rounds.
    estimator
        ``"post"``, ``"did"`` or ``"ancova"``: which variance factor applies.
    alpha
        Two-sided size.
    power
        Power, ``1 - kappa``.
    z_decimals
        Round both normal quantiles to this many decimals before use, as printed tables do
        (2 gives the textbook 1.96 and 0.84); None uses exact quantiles.

    Returns
    -------
    float
        Units per arm.

    Raises
    ------
    ValueError
        If an option is invalid or ``sigma2``/``delta`` is not positive.
    """
    _check_choice("estimator", estimator, get_args(Estimator))
    _check_alpha_power(alpha, power)
    if sigma2 <= 0 or delta == 0:
        raise ValueError("sigma2 must be positive and delta non-zero")
    factor = variance_factors(rho, m=m, r=r)[estimator]
    return _z_sum(alpha, power, z_decimals) ** 2 * 2 * sigma2 / delta**2 * factor


def _multiplier(alpha: float, power: float, dist: Dist, df: float) -> float:
    if dist == "normal":
        return _z_sum(alpha, power, None)
    return float(stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df))


def _cluster_check(
    cluster_size: float, icc: float, share_treated: float, r2_cluster: float, r2_individual: float
) -> None:
    if cluster_size < 1:
        raise ValueError(f"cluster_size must be >= 1, got {cluster_size}")
    if not (0 <= icc <= 1):
        raise ValueError(f"icc must lie in [0, 1], got {icc}")
    if not (0 < share_treated < 1):
        raise ValueError(f"share_treated must lie in (0, 1), got {share_treated}")
    for name, v in (("r2_cluster", r2_cluster), ("r2_individual", r2_individual)):
        if not (0 <= v < 1):
            raise ValueError(f"{name} must lie in [0, 1), got {v}")


def _mde_per_multiplier(
    n_clusters: float,
    cluster_size: float,
    icc: float,
    share_treated: float,
    r2_cluster: float,
    r2_individual: float,
) -> float:
    pq_j = share_treated * (1 - share_treated) * n_clusters
    return float(
        np.sqrt(icc * (1 - r2_cluster) / pq_j + (1 - icc) * (1 - r2_individual) / (pq_j * cluster_size))
    )


def mde_cluster(
    n_clusters: float,
    cluster_size: float,
    icc: float,
    *,
    share_treated: float = 0.5,
    r2_cluster: float = 0.0,
    r2_individual: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    dist: Dist = "normal",
) -> float:
    """Minimum detectable effect of a two-arm cluster-randomised design, in SD units.

    ``MDE/sigma = M * sqrt(icc (1 - R2_C) / (P(1-P) J) + (1 - icc)(1 - R2_I) / (P(1-P) J m))``
    with ``M = z_{1-alpha/2} + z_{power}`` (``dist="normal"``) or the same with t quantiles
    on ``J - 2`` degrees of freedom (``dist="t"``), docs/methods.md section 6.

    Parameters
    ----------
    n_clusters
        Total number of clusters J (both arms).
    cluster_size
        Units per cluster m.
    icc
        Intra-cluster correlation.
    share_treated
        Share P of clusters treated.
    r2_cluster
        Share of the cluster-level variance explained by covariates.
    r2_individual
        Share of the individual-level variance explained by covariates.
    alpha
        Two-sided size.
    power
        Power.
    dist
        ``"normal"`` or ``"t"`` quantiles.

    Returns
    -------
    float
        The MDE divided by the outcome SD.

    Raises
    ------
    ValueError
        If an option is invalid (``dist="t"`` needs more than 2 clusters).
    """
    _check_choice("dist", dist, get_args(Dist))
    _check_alpha_power(alpha, power)
    _cluster_check(cluster_size, icc, share_treated, r2_cluster, r2_individual)
    if n_clusters <= (2 if dist == "t" else 0):
        raise ValueError(f"n_clusters={n_clusters} is too small")
    mult = _multiplier(alpha, power, dist, n_clusters - 2)
    return mult * _mde_per_multiplier(n_clusters, cluster_size, icc, share_treated, r2_cluster, r2_individual)


def clusters_needed(
    mde: float,
    cluster_size: float,
    icc: float,
    *,
    share_treated: float = 0.5,
    r2_cluster: float = 0.0,
    r2_individual: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
    dist: Dist = "normal",
) -> float:
    """Total number of clusters J needed to detect ``mde`` (in SD units).

    Inverts :func:`mde_cluster` in J. With normal quantiles this is closed form; with t
    quantiles (``J - 2`` df) the equation is solved numerically. The result is not rounded.

    Parameters
    ----------
    mde
        Effect to detect, in SD units.
    cluster_size
        Units per cluster m.
    icc
        Intra-cluster correlation.
    share_treated
        Share P of clusters treated.
    r2_cluster
        Share of the cluster-level variance explained by covariates.
    r2_individual
        Share of the individual-level variance explained by covariates.
    alpha
        Two-sided size.
    power
        Power.
    dist
        ``"normal"`` or ``"t"`` quantiles.

    Returns
    -------
    float
        Total clusters J (both arms).

    Raises
    ------
    ValueError
        If an option is invalid or ``mde`` is not positive.
    """
    _check_choice("dist", dist, get_args(Dist))
    _check_alpha_power(alpha, power)
    _cluster_check(cluster_size, icc, share_treated, r2_cluster, r2_individual)
    if mde <= 0:
        raise ValueError(f"mde must be positive, got {mde}")
    # MDE scales as 1/sqrt(J) for a fixed multiplier, so J = J_1 * (M / mde)^2 with J_1 the
    # J at which the multiplier-free part equals 1.
    unit = _mde_per_multiplier(1.0, cluster_size, icc, share_treated, r2_cluster, r2_individual) ** 2
    j_normal = unit * (_z_sum(alpha, power, None) / mde) ** 2
    if dist == "normal":
        return j_normal

    def gap(j: float) -> float:
        return (
            mde_cluster(
                j,
                cluster_size,
                icc,
                share_treated=share_treated,
                r2_cluster=r2_cluster,
                r2_individual=r2_individual,
                alpha=alpha,
                power=power,
                dist="t",
            )
            - mde
        )

    # t quantiles exceed normal ones, so the answer is above the normal J; expand until bracketed.
    low = max(j_normal, 2.0 + 1e-9)
    high = max(2 * low, 4.0)
    while gap(high) > 0:
        high *= 2
    return float(optimize.brentq(gap, low, high, xtol=1e-10))


def design_effect(cluster_size: float, icc: float, *, cv: float = 0.0) -> float:
    """Design effect ``1 + ((cv^2 + 1) m - 1) icc`` of cluster sampling.

    With equal cluster sizes (``cv = 0``) this is ``1 + (m - 1) icc`` (docs/methods.md section 6).

    Parameters
    ----------
    cluster_size
        Mean cluster size m.
    icc
        Intra-cluster correlation.
    cv
        Coefficient of variation of the cluster sizes.

    Returns
    -------
    float
        The factor by which clustering inflates the variance of a mean.

    Raises
    ------
    ValueError
        If an input is out of range.
    """
    if cluster_size < 1 or not (0 <= icc <= 1) or cv < 0:
        raise ValueError("expecting cluster_size >= 1, 0 <= icc <= 1 and cv >= 0")
    return 1 + ((cv**2 + 1) * cluster_size - 1) * icc


def icc(
    values: Sequence[float] | np.ndarray | pd.Series,
    clusters: Sequence[object] | np.ndarray | pd.Series,
    *,
    method: IccMethod = "reml",
) -> float:
    """Intra-cluster correlation ``s2_u / (s2_u + s2_e)`` from a random-intercept model.

    ``method="reml"`` fits ``values = mu + u_cluster + e`` by REML with statsmodels
    ``MixedLM``. ``method="anova"`` uses the one-way ANOVA (moment) estimator for unequal
    cluster sizes, ``s2_u = (MSB - MSW) / n0`` with ``n0 = (N - Σ n_g² / N) / (G - 1)`` and
    ``s2_e = MSW`` (Donner 1986); it needs no optimizer, and with equal cluster sizes it equals
    REML whenever that is inside the parameter space. Either way a between-cluster variance
    estimate at or below zero gives 0.

    Parameters
    ----------
    values
        The outcome, one value per unit (no missing values).
    clusters
        The cluster of each unit.

    Returns
    -------
    float
        The estimated ICC.

    Raises
    ------
    ValueError
        If the lengths differ.
    EstimationError
        If there are missing values, fewer than 2 clusters, or the fit does not converge.
    """
    import statsmodels.api as sm

    y = np.asarray(values, dtype=float).reshape(-1)
    # A Series is used as it is (a categorical is counted and coded without its text labels).
    labels = clusters if isinstance(clusters, pd.Series) else pd.Series(np.asarray(clusters).reshape(-1))
    if len(y) != len(labels):
        raise ValueError(f"values and clusters must have the same length, got {len(y)} and {len(labels)}")
    if not np.isfinite(y).all() or labels.isna().any():
        raise EstimationError("values and clusters must not contain missing values")
    if labels.nunique() < 2:  # hashing, not np.unique's sort of text labels
        raise EstimationError("need at least 2 clusters to estimate an ICC")
    _check_choice("method", method, get_args(IccMethod))
    if method == "anova":
        codes, _ = pd.factorize(labels)
        sizes = np.bincount(codes).astype(float)
        n_obs, n_groups = float(len(y)), len(sizes)
        if n_obs - n_groups < 1:
            raise EstimationError("need more units than clusters to estimate an ICC")
        means = np.bincount(codes, weights=y) / sizes
        msb = float(np.sum(sizes * (means - y.mean()) ** 2) / (n_groups - 1))
        msw = float(np.sum((y - means[codes]) ** 2) / (n_obs - n_groups))
        n0 = (n_obs - np.sum(sizes**2) / n_obs) / (n_groups - 1)
        between = max((msb - msw) / n0, 0.0)
        return between / (between + msw) if between + msw > 0 else 0.0
    model = sm.MixedLM(y, np.ones((len(y), 1)), groups=np.asarray(labels))
    # Boundary and convergence warnings are turned into the checks below instead of noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = model.fit(reml=True)
        except np.linalg.LinAlgError:
            fit = None
        # The gradient optimizers stall when the between variance is at its boundary 0;
        # derivative-free Powell reaches it.
        if fit is None or not fit.converged:
            fit = model.fit(reml=True, method=["powell"])
    if not fit.converged:
        raise EstimationError("the random-intercept model did not converge")
    between = max(float(np.asarray(fit.cov_re)[0, 0]), 0.0)
    within = float(fit.scale)
    return between / (between + within)
