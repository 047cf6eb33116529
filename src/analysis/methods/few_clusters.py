"""Inference on one OLS coefficient when there are few village clusters.

Three tools, all described in ``docs/methods.md`` section 2:

- :func:`wild_cluster_bootstrap` -- the wild cluster restricted bootstrap-t (WCR, section 2.2),
  run by the maintained ``wildboottest`` package; :func:`wcr_bootstrap` computes the same
  statistics in closed form from cluster-level sums (fast enough for every outcome of a study,
  and able to reuse one matrix of cluster weights across outcomes, as Romano-Wolf needs);
- :func:`crv3_se` -- the cluster jackknife (CRV3) standard errors (section 2.3);
- :func:`randomization_inference` -- randomization inference that re-draws the village-level
  assignment with the number of treated villages held fixed (section 2.4).
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast, get_args

import numpy as np
import pandas as pd

from analysis.errors import EstimationError

WeightsType = Literal["auto", "rademacher", "webb"]
Crv3Scaling = Literal["jackknife", "plain", "pyfixest"]
RiStatistic = Literal["coef", "t"]

# Below this many clusters Rademacher weights give too few distinct draws, so "auto" picks
# Webb (docs/methods.md section 2.2: "For G up to about 11, prefer Webb weights").
WEBB_BELOW_G = 12

# Ties must count as exceedances (docs/methods.md section 2.2); the tie is detected up to this
# relative tolerance because the reproduced statistic differs from the original in the last bits.
TIE_TOLERANCE = 1e-9

# Randomization inference holds an (observations x assignments) matrix; this caps its size.
_MAX_CELLS = 4_000_000


#: Run-warning codes of :func:`inference_gap`, in the order they are checked.
INFERENCE_GAPS: tuple[str, ...] = ("one_cluster", "one_treated_cluster", "one_control_cluster")


def inference_gap(clusters: pd.Series | None, arms: pd.Series | None = None) -> tuple[str, str]:
    """Why clustered inference cannot be trusted here: ``(code, note)``, or ``("", "")``.

    A cluster-robust covariance is a sum over clusters of score outer products. With one
    cluster it is zero (statsmodels then divides by G − 1 = 0). With one treated cluster (or one
    comparison cluster) the treatment dummy fits that cluster's mean residual exactly, so its
    score is close to zero and the standard error is far too small: the CR1 test rejects far
    too often, and the wild cluster bootstrap does not repair it (restricted, it almost never
    rejects; unrestricted, it rejects far too often: MacKinnon & Webb 2017, 2018, "The wild
    bootstrap for few (treated) clusters"; Conley & Taber 2011). So no standard error,
    p-value, interval or bootstrap is reported at all, rather than a number that looks precise.

    Parameters
    ----------
    clusters
        Cluster label of each observation (None: not clustered, nothing to check).
    arms
        The 0/1 treatment of each observation when the tested coefficient compares the arms;
        None when it does not (a mean among programme households).

    Returns
    -------
    tuple of str
        A code of :data:`INFERENCE_GAPS` and a one-line note, or two empty strings.
    """
    if clusters is None:
        return "", ""
    # Labels as integer codes (-1: missing), counted once: counting the distinct text labels of
    # each arm converted them to a new string array every time, a large share of the estimate
    # stage at national scale (it runs for every regression).
    codes = pd.factorize(clusters)[0]
    n_clusters = int(codes.max()) + 1 if len(codes) else 0
    if n_clusters < 2:
        return "one_cluster", (
            f"{n_clusters} cluster: a clustered standard error needs at least 2, "
            "so no standard error, p-value or confidence interval is reported"
        )
    if arms is None:
        return "", ""
    values = arms.to_numpy(dtype=float)
    # Distinct clusters per arm by counting codes (np.unique would sort or hash every row).
    treated = int(np.count_nonzero(np.bincount(codes[(values == 1) & (codes >= 0)], minlength=n_clusters)))
    control = int(np.count_nonzero(np.bincount(codes[(values == 0) & (codes >= 0)], minlength=n_clusters)))
    for code, arm, count in (
        ("one_treated_cluster", "treated", treated),
        ("one_control_cluster", "comparison", control),
    ):
        if count == 1:
            return code, (
                f"1 {arm} cluster: no standard error, p-value, confidence interval or wild-bootstrap "
                f"p-value is reliable with a single {arm} cluster, so none is reported"
            )
    return "", ""


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}={value!r}: expecting one of {choices}")


def _exceeds(stats: np.ndarray, observed: float) -> np.ndarray:
    """Return which ``|stats|`` are at least ``|observed|``, ties included."""
    tol = TIE_TOLERANCE * max(1.0, abs(observed))
    return np.abs(stats) >= abs(observed) - tol


@dataclass(frozen=True)
class WildBootstrapResult:
    """Result of :func:`wild_cluster_bootstrap`.

    Attributes
    ----------
    param
        The tested coefficient (H0: coefficient = 0).
    t_stat
        The CR1 t statistic of the original sample.
    p_value
        Symmetric bootstrap p-value, share of draws with ``|t*| >= |t|`` (ties count).
    reps_used
        Number of bootstrap draws actually used (``2**G`` under full enumeration).
    enumerated
        True when all ``2**G`` Rademacher weight vectors were enumerated.
    weights_type
        The weight distribution used (``"auto"`` resolved).
    n_clusters
        Number of clusters G.
    impose_null
        True for WCR (null imposed), False for WCU.
    """

    param: str
    t_stat: float
    p_value: float
    reps_used: int
    enumerated: bool
    weights_type: Literal["rademacher", "webb"]
    n_clusters: int
    impose_null: bool


def _design(
    y: pd.Series | np.ndarray, X: pd.DataFrame, clusters: pd.Series | np.ndarray | Sequence[object]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Validate the inputs and return y, X, integer cluster codes and G."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a pandas DataFrame with named columns (including a constant)")
    yv = np.asarray(y, dtype=float).reshape(-1)
    Xv = X.to_numpy(dtype=float)
    cl = np.asarray(clusters).reshape(-1)
    if not (len(yv) == Xv.shape[0] == len(cl)):
        raise ValueError(
            f"y, X and clusters must have the same length, got {len(yv)}, {Xv.shape[0]} and {len(cl)}"
        )
    if not (np.isfinite(yv).all() and np.isfinite(Xv).all()):
        raise EstimationError("y and X must not contain missing or infinite values")
    codes, uniques = pd.factorize(pd.Series(cl), use_na_sentinel=True)
    if (codes < 0).any():
        raise EstimationError("clusters must not contain missing values")
    n_clusters = len(uniques)
    if n_clusters < 2:
        raise EstimationError(f"need at least 2 clusters, got {n_clusters}")
    if np.linalg.matrix_rank(Xv) < Xv.shape[1]:
        raise EstimationError("the columns of X are collinear")
    return yv, Xv, codes.astype(np.intp), n_clusters


def _single_cluster_arm(values: np.ndarray, codes: np.ndarray, name: str) -> None:
    """Raise :class:`EstimationError` when a 0/1 ``values`` is 1 (or 0) in one cluster only.

    The tested coefficient of such a dummy (the treatment, in a village-randomized design) is
    identified by that one cluster, whose residuals it absorbs: no cluster-robust t statistic,
    wild bootstrap or re-drawn assignment gives a reliable p-value then (MacKinnon & Webb
    2017), so none is returned, with the reason (:func:`inference_gap`).
    """
    values = np.asarray(values, dtype=float).reshape(-1)
    if not np.isin(values, (0.0, 1.0)).all() or len(np.unique(values)) < 2:
        return
    code, note = inference_gap(pd.Series(np.asarray(codes).reshape(-1)), pd.Series(values))
    if code:
        raise EstimationError(f"`{name}`: {note}")


def wild_cluster_bootstrap(
    y: pd.Series | np.ndarray,
    X: pd.DataFrame,
    clusters: pd.Series | np.ndarray | Sequence[object],
    *,
    param: str,
    reps: int = 9999,
    weights_type: WeightsType = "auto",
    seed: int,
    impose_null: bool = True,
) -> WildBootstrapResult:
    """Wild cluster bootstrap-t p-value for H0: ``X[param]`` has coefficient 0.

    The bootstrap itself is the one of the maintained ``wildboottest`` package (type ``"11"``:
    CR1 scores and CR1 small-sample factor ``G/(G-1)*(N-1)/(N-K)``). This function drives the
    package's ``WildboottestCL`` class in the same order as ``wildboottest.wildboottest()`` and
    pyfixest's ``Feols.wildboottest`` do, because the wrapper returns only its own p-value, which
    counts ``|t*| > |t|`` strictly. Here the p-value is recomputed from the package's bootstrap
    statistics so that ties count as exceedances (docs/methods.md section 2.2); with full enumeration
    the draw ``v = 1`` reproduces the original t and must be counted.

    Parameters
    ----------
    y
        Outcome, length N.
    X
        Regressors with named columns, including the constant.
    clusters
        Cluster (village) identifier, length N.
    param
        Column of ``X`` whose coefficient is tested against 0.
    reps
        Number of bootstrap draws. With Rademacher weights and ``2**G <= reps`` all ``2**G``
        weight vectors are enumerated instead.
    weights_type
        ``"rademacher"``, ``"webb"`` or ``"auto"`` (Webb when G < 12, Rademacher otherwise).
    seed
        Seed of the package's ``numpy.random.default_rng``; the result is deterministic given it.
    impose_null
        True for the restricted bootstrap (WCR), False for the unrestricted one (WCU).

    Returns
    -------
    WildBootstrapResult
        The t statistic, bootstrap p-value, number of draws and whether they were enumerated.

    Raises
    ------
    ValueError
        If an option is invalid or ``param`` is not a column of ``X``.
    EstimationError
        If the data cannot be used (missing values, collinear X, fewer than 2 clusters).
    """
    _check_choice("weights_type", weights_type, get_args(WeightsType))
    if param not in X.columns:
        raise ValueError(f"param={param!r} is not a column of X: expecting one of {list(X.columns)}")
    if reps < 1:
        raise ValueError(f"reps must be a positive integer, got {reps}")
    yv, Xv, codes, n_clusters = _design(y, X, clusters)
    _single_cluster_arm(X[param].to_numpy(dtype=float), codes, param)

    resolved: Literal["rademacher", "webb"]
    if weights_type == "auto":
        resolved = "webb" if n_clusters < WEBB_BELOW_G else "rademacher"
    else:
        resolved = weights_type

    want_enumeration = resolved == "rademacher" and 2**n_clusters <= reps
    # wildboottest enumerates only when 2**G < B (strictly); asking for one more draw makes
    # it enumerate at 2**G == reps too, as docs/methods.md section 2.2 requires.
    b_arg = max(reps, 2**n_clusters + 1) if want_enumeration else reps

    from wildboottest.wildboottest import WildboottestCL

    R = np.zeros(Xv.shape[1])
    R[list(X.columns).index(param)] = 1.0
    # The package and numba can print or warn; none of that belongs in a library call.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        boot = WildboottestCL(X=Xv, Y=yv, cluster=codes, R=R, B=b_arg, seed=seed, parallel=False)
        boot.get_scores(bootstrap_type="11", impose_null=impose_null, adj=True, cluster_adj=True)
        _, reps_used, enumerated = boot.get_weights(weights_type=resolved)
        boot.get_numer()
        boot.get_denom()
        boot.get_tboot()
        boot.get_vcov()
        boot.get_tstat()

    enumerated = bool(enumerated)
    if enumerated != want_enumeration or (enumerated and reps_used != 2**n_clusters):
        raise EstimationError(
            "wildboottest did not enumerate the Rademacher weights as expected "
            f"(enumerated={enumerated}, draws={reps_used}, G={n_clusters})"
        )
    t_stat = float(np.asarray(boot.t_stat).reshape(-1)[0])
    t_boot = np.asarray(boot.t_boot, dtype=float).reshape(-1)
    if not np.isfinite(t_boot).all():
        raise EstimationError("some bootstrap t statistics are not finite")
    p_value = float(np.mean(_exceeds(t_boot, t_stat)))
    return WildBootstrapResult(
        param=param,
        t_stat=t_stat,
        p_value=p_value,
        reps_used=int(reps_used),
        enumerated=enumerated,
        weights_type=resolved,
        n_clusters=n_clusters,
        impose_null=impose_null,
    )


@dataclass(frozen=True)
class WildDraws:
    """Cluster weights of a wild bootstrap, one row per draw.

    Attributes
    ----------
    matrix
        (B, G) weights; column g belongs to cluster code g.
    weights_type
        ``"rademacher"`` or ``"webb"``.
    enumerated
        True when the rows are all ``2**G`` Rademacher sign vectors.
    """

    matrix: np.ndarray
    weights_type: Literal["rademacher", "webb"]
    enumerated: bool


_WEBB_POINTS = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


def wild_draws(n_clusters: int, *, reps: int, weights_type: WeightsType = "auto", seed: int) -> WildDraws:
    """Draw (or enumerate) the cluster weights of a wild cluster bootstrap.

    ``"auto"`` picks Webb's six-point weights below 12 clusters and Rademacher weights
    otherwise (docs/methods.md section 2.2). Rademacher weights are enumerated, all ``2**G`` sign
    vectors, when ``2**G <= reps``; otherwise ``reps`` rows are drawn from
    ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n_clusters
        Number of clusters G (at least 2).
    reps
        Number of draws wanted.
    weights_type
        ``"rademacher"``, ``"webb"`` or ``"auto"``.
    seed
        Seed of the draws.

    Returns
    -------
    WildDraws
    """
    _check_choice("weights_type", weights_type, get_args(WeightsType))
    if n_clusters < 2:
        raise EstimationError(f"need at least 2 clusters, got {n_clusters}")
    if reps < 1:
        raise ValueError(f"reps must be a positive integer, got {reps}")
    resolved: Literal["rademacher", "webb"]
    if weights_type == "auto":
        resolved = "webb" if n_clusters < WEBB_BELOW_G else "rademacher"
    else:
        resolved = weights_type
    if resolved == "rademacher" and 2**n_clusters <= reps:
        signs = (np.arange(2**n_clusters)[:, None] >> np.arange(n_clusters)[None, :]) & 1
        return WildDraws(matrix=1.0 - 2.0 * signs, weights_type=resolved, enumerated=True)
    rng = np.random.default_rng(seed)
    if resolved == "rademacher":
        matrix = 1.0 - 2.0 * rng.integers(0, 2, size=(reps, n_clusters))
    else:
        matrix = _WEBB_POINTS[rng.integers(0, 6, size=(reps, n_clusters))]
    return WildDraws(matrix=matrix, weights_type=resolved, enumerated=False)


def wcr_t_statistics(
    y: pd.Series | np.ndarray,
    X: pd.DataFrame,
    codes: np.ndarray | Sequence[int],
    *,
    param: str,
    draws: np.ndarray,
    weights: pd.Series | np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """CR1 t statistic and its wild cluster restricted bootstrap draws, in closed form.

    The restricted model (``param`` dropped) gives fitted values ỹ and residuals ũ; draw b
    sets ``y* = ỹ + v_{g(i),b} ũ_i`` and re-estimates the full model. Because ỹ lies in the
    column space of X, the bootstrap coefficient is ``C v_b`` with ``C_g = A_g ũ_g`` (A the
    OLS projection rows of cluster g), and the cluster scores of ``param`` are ``M v_b`` with
    ``M = diag(d) - E C``, ``d_g = Σ_{i∈g} a_i ũ_i`` and ``E_g = Σ_{i∈g} a_i x_i'`` (a the row
    of A for ``param``). So every draw costs O(G²) whatever N is; the statistics are exactly
    those of re-fitting OLS with CR1 standard errors (small-sample factor
    ``G/(G-1)·(N-1)/(N-K)``, wildboottest's bootstrap type ``"11"``) on each ``y*``.

    Parameters
    ----------
    y
        Outcome, length N.
    X
        Regressors with named columns, including the constant.
    codes
        Integer cluster code of each observation: the column of ``draws`` it takes its weight
        from. Codes need not be contiguous, so one weight matrix can serve several samples.
    param
        Column of ``X`` tested against 0.
    draws
        (B, G_all) cluster weights, e.g. :attr:`WildDraws.matrix`.
    weights
        Survey weights (analytic, as WLS): the data are multiplied by their square root first,
        which leaves coefficients and CR1 scores those of WLS.

    Returns
    -------
    tuple of float and numpy.ndarray
        The sample's CR1 t statistic and the B bootstrap t statistics.

    Raises
    ------
    EstimationError
        If the data cannot be used (missing values, collinear X, fewer than 2 clusters).
    """
    if param not in X.columns:
        raise ValueError(f"param={param!r} is not a column of X: expecting one of {list(X.columns)}")
    codes_all = np.asarray(codes).reshape(-1).astype(np.intp)
    yv, Xv, _, _ = _design(y, X, codes_all)
    _single_cluster_arm(X[param].to_numpy(dtype=float), codes_all, param)
    if weights is not None:
        root = np.sqrt(np.asarray(weights, dtype=float).reshape(-1))
        if not (np.isfinite(root).all() and (root > 0).all()):
            raise EstimationError("survey weights must be positive")
        yv, Xv = yv * root, Xv * root[:, None]
    present, local = np.unique(codes_all, return_inverse=True)
    n_clusters = len(present)
    if n_clusters < 2:
        raise EstimationError(f"need at least 2 clusters, got {n_clusters}")
    if present.max() >= draws.shape[1]:
        raise ValueError("a cluster code has no column in draws")
    n_obs, k = Xv.shape
    j = list(X.columns).index(param)
    A = np.linalg.solve(Xv.T @ Xv, Xv.T)  # (K, N): rows of (X'X)^-1 X'
    a = A[j]
    ssc = n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - k)

    # Cluster sums as a product with the (G, N) membership matrix: far faster than np.add.at.
    member = np.zeros((n_clusters, n_obs))
    member[local, np.arange(n_obs)] = 1.0

    def by_cluster(values: np.ndarray) -> np.ndarray:
        """Sum rows of a (N, ...) array within clusters: (G, ...)."""
        return member @ values

    beta = A @ yv
    resid = yv - Xv @ beta
    t_stat = float(beta[j] / np.sqrt(ssc * np.sum(by_cluster(a * resid) ** 2)))

    Xr = np.delete(Xv, j, axis=1)
    resid_r = yv - Xr @ np.linalg.lstsq(Xr, yv, rcond=None)[0]
    C = by_cluster(A.T * resid_r[:, None]).T  # (K, G)
    d = by_cluster(a * resid_r)  # (G,)
    E = by_cluster(a[:, None] * Xv)  # (G, K)
    M = np.diag(d) - E @ C  # (G, G)
    V = np.asarray(draws, dtype=float)[:, present]
    numer = V @ C[j]
    scores = V @ M.T
    with np.errstate(divide="ignore", invalid="ignore"):
        t_boot = numer / np.sqrt(ssc * np.einsum("bg,bg->b", scores, scores))
    if not np.isfinite(t_boot).all():
        raise EstimationError("some bootstrap t statistics are not finite")
    return t_stat, t_boot


def wild_p_value(t_stat: float, t_boot: np.ndarray) -> float:
    """Symmetric bootstrap p-value, the share of draws with ``|t*| >= |t|`` (ties count)."""
    return float(np.mean(_exceeds(np.asarray(t_boot, dtype=float), t_stat)))


def wcr_bootstrap(
    y: pd.Series | np.ndarray,
    X: pd.DataFrame,
    clusters: pd.Series | np.ndarray | Sequence[object],
    *,
    param: str,
    reps: int = 9999,
    weights_type: WeightsType = "auto",
    seed: int,
    weights: pd.Series | np.ndarray | None = None,
) -> WildBootstrapResult:
    """Wild cluster restricted bootstrap-t p-value, computed in closed form.

    The same test as :func:`wild_cluster_bootstrap` (docs/methods.md section 2.2: restricted
    residuals, CR1 t, symmetric p-value with ties counted, Rademacher enumeration when
    ``2**G <= reps``, Webb below 12 clusters under ``"auto"``), with the statistics of
    :func:`wcr_t_statistics` and the weights of :func:`wild_draws`. Under enumeration the two
    functions give identical p-values; with random draws they use different random numbers.
    Survey weights are supported (WLS).

    Parameters
    ----------
    y, X, clusters, param, reps, weights_type, seed
        As in :func:`wild_cluster_bootstrap`.
    weights
        Survey weights, or None.

    Returns
    -------
    WildBootstrapResult
    """
    codes, uniques = pd.factorize(pd.Series(np.asarray(clusters).reshape(-1)), use_na_sentinel=True)
    if (codes < 0).any():
        raise EstimationError("clusters must not contain missing values")
    draws = wild_draws(len(uniques), reps=reps, weights_type=weights_type, seed=seed)
    t_stat, t_boot = wcr_t_statistics(y, X, codes, param=param, draws=draws.matrix, weights=weights)
    return WildBootstrapResult(
        param=param,
        t_stat=t_stat,
        p_value=wild_p_value(t_stat, t_boot),
        reps_used=len(t_boot),
        enumerated=draws.enumerated,
        weights_type=draws.weights_type,
        n_clusters=len(uniques),
        impose_null=True,
    )


def _leave_one_cluster_out(Xv: np.ndarray, yv: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """Return the (G, K) matrix of estimates with each cluster left out in turn."""
    k = Xv.shape[1]
    xtx_g = np.zeros((n_clusters, k, k))
    np.add.at(xtx_g, codes, Xv[:, :, None] * Xv[:, None, :])
    xty_g = np.zeros((n_clusters, k))
    np.add.at(xty_g, codes, Xv * yv[:, None])
    a = xtx_g.sum(axis=0)[None, :, :] - xtx_g
    b = xty_g.sum(axis=0)[None, :] - xty_g
    ranks = np.linalg.matrix_rank(a)
    if (ranks < k).any():
        bad = np.flatnonzero(ranks < k).tolist()
        raise EstimationError(
            f"leaving out cluster(s) at position {bad} makes X collinear; CRV3 is not defined"
        )
    return np.linalg.solve(a, b[:, :, None])[:, :, 0]


def crv3_se(
    y: pd.Series | np.ndarray,
    X: pd.DataFrame,
    clusters: pd.Series | np.ndarray | Sequence[object],
    *,
    scaling: Crv3Scaling = "jackknife",
) -> pd.Series:
    """CRV3 (leave-one-cluster-out jackknife) standard errors of an OLS fit.

    With ``b_g`` the estimate that leaves cluster g out and ``b`` the full-sample estimate,
    ``S = sum_g (b_g - b)(b_g - b)'`` (centred on ``b``, as in docs/methods.md section 2.3) and

    - ``"jackknife"``: ``V = (G-1)/G * S`` (MacKinnon, Nielsen & Webb);
    - ``"plain"``: ``V = S`` (pyfixest with ``ssc(k_adj=False, G_adj=False)``);
    - ``"pyfixest"``: ``V = G/(G-1) * (N-1)/(N-K) * S`` (pyfixest's default ``{"CRV3": ...}``).

    Parameters
    ----------
    y
        Outcome, length N.
    X
        Regressors with named columns, including the constant.
    clusters
        Cluster identifier, length N.
    scaling
        Which of the three scalings above to apply.

    Returns
    -------
    pandas.Series
        Standard error per column of ``X``, indexed by the column names.

    Raises
    ------
    ValueError
        If ``scaling`` is not one of the allowed values.
    EstimationError
        If the data cannot be used or leaving a cluster out makes X collinear.
    """
    _check_choice("scaling", scaling, get_args(Crv3Scaling))
    yv, Xv, codes, n_clusters = _design(y, X, clusters)
    n_obs, k = Xv.shape
    beta = np.linalg.lstsq(Xv, yv, rcond=None)[0]
    dev = _leave_one_cluster_out(Xv, yv, codes, n_clusters) - beta[None, :]
    var = np.einsum("gi,gi->i", dev, dev)
    if scaling == "jackknife":
        var = var * (n_clusters - 1) / n_clusters
    elif scaling == "pyfixest":
        var = var * n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - k)
    return pd.Series(np.sqrt(var), index=X.columns, name="crv3_se")


@dataclass(frozen=True)
class RandomizationResult:
    """Result of :func:`randomization_inference`.

    Attributes
    ----------
    statistic
        ``"coef"`` (randomization-c) or ``"t"`` (randomization-t, CR1 by cluster).
    observed
        The statistic under the actual assignment.
    p_value
        Share of the assignments used whose ``|statistic| >= |observed|`` (ties count).
    n_extreme
        Number of those assignments.
    n_assignments
        Number of assignments used (all of them when enumerated, else ``reps`` draws).
    n_possible
        Number of distinct assignments the design allows.
    enumerated
        True when every possible assignment was evaluated.
    """

    statistic: Literal["coef", "t"]
    observed: float
    p_value: float
    n_extreme: int
    n_assignments: int
    n_possible: int
    enumerated: bool


def _cluster_constant(values: pd.Series, codes: np.ndarray, n_clusters: int, name: str) -> np.ndarray:
    """Return one value per cluster, raising when a cluster holds several."""
    frame = pd.DataFrame({"c": codes, "v": values.to_numpy()})
    if (frame.groupby("c")["v"].nunique(dropna=False) > 1).any():
        raise EstimationError(f"{name} must be constant within each cluster")
    return frame.groupby("c")["v"].first().reindex(range(n_clusters)).to_numpy()


def _assignments(
    treat_c: np.ndarray, stratum_c: np.ndarray, *, reps: int, rng_seed: int
) -> tuple[np.ndarray, int, bool]:
    """Return a (draws, G) 0/1 matrix of village assignments, the count possible, and enumerated."""
    strata = [np.flatnonzero(stratum_c == s) for s in pd.unique(stratum_c)]
    n_treated = [int(treat_c[idx].sum()) for idx in strata]
    n_possible = math.prod(math.comb(len(idx), t) for idx, t in zip(strata, n_treated, strict=True))
    n_clusters = len(treat_c)
    if n_possible <= reps:
        per_stratum = [
            list(itertools.combinations(idx.tolist(), t)) for idx, t in zip(strata, n_treated, strict=True)
        ]
        draws = np.zeros((n_possible, n_clusters))
        for row, combo in enumerate(itertools.product(*per_stratum)):
            for treated in combo:
                draws[row, list(treated)] = 1.0
        return draws, n_possible, True
    rng = np.random.default_rng(rng_seed)
    draws = np.zeros((reps, n_clusters))
    for idx in strata:
        block = np.broadcast_to(treat_c[idx].astype(float), (reps, len(idx)))
        draws[:, idx] = rng.permuted(block, axis=1)
    return draws, n_possible, False


def _ri_statistics(
    yv: np.ndarray,
    W: np.ndarray,
    T: np.ndarray,
    order: np.ndarray,
    starts: np.ndarray,
    *,
    statistic: RiStatistic,
    ssc: float,
) -> np.ndarray:
    """Coefficient or CR1 t statistic of T (columns = assignments) given controls W.

    Uses Frisch-Waugh-Lovell: partialling W out of T and y gives the coefficient of T, and the
    T-row of the sandwich only needs the partialled-out T and the full-model residuals.
    """
    q, _ = np.linalg.qr(W)
    t_tilde = T - q @ (q.T @ T)
    y_tilde = yv - q @ (q.T @ yv)
    ttt = np.einsum("ij,ij->j", t_tilde, t_tilde)
    if (ttt <= 1e-12 * len(yv)).any():
        raise EstimationError("treatment has no variation left after the controls")
    beta = (t_tilde.T @ y_tilde) / ttt
    if statistic == "coef":
        return beta
    resid = y_tilde[:, None] - t_tilde * beta[None, :]
    scores = np.add.reduceat((t_tilde * resid)[order], starts, axis=0)
    se = np.sqrt(ssc * np.einsum("gj,gj->j", scores, scores)) / ttt
    return beta / se


def randomization_inference(
    data: pd.DataFrame,
    *,
    outcome: str,
    treatment: str,
    cluster: str,
    covariates: Sequence[str] = (),
    strata: str | None = None,
    statistic: RiStatistic = "coef",
    reps: int = 10000,
    seed: int,
) -> RandomizationResult:
    """Randomization-inference p-value for a village-level treatment.

    The assignment is re-drawn at cluster level with the actual design: the same number of
    treated clusters, within each stratum when ``strata`` is given (docs/methods.md section 2.4).
    pyfixest's ``ritest`` draws each cluster independently and so cannot be used here.
    The regression is ``outcome ~ 1 + treatment + covariates (+ stratum dummies)``.

    When the number of possible assignments is at most ``reps`` all of them are evaluated
    (this includes the actual one). Otherwise ``reps`` assignments are drawn with
    ``numpy.random.default_rng(seed)`` and the p-value is the share of draws at least as
    extreme as the observed statistic (the convention of Stata ``ritest``; the observed
    assignment is not added to the draws).

    Parameters
    ----------
    data
        One row per observation.
    outcome
        Outcome column.
    treatment
        0/1 treatment column, constant within each cluster.
    cluster
        Cluster (village) column; the unit of assignment.
    covariates
        Additional control columns.
    strata
        Randomization strata column, constant within each cluster, or None.
    statistic
        ``"coef"`` (randomization-c) or ``"t"`` (randomization-t with CR1 cluster SEs).
    reps
        Maximum number of assignments to enumerate; otherwise the number of random draws.
    seed
        Seed for the random draws (unused when every assignment is enumerated).

    Returns
    -------
    RandomizationResult
        Observed statistic, p-value and how the assignments were obtained.

    Raises
    ------
    ValueError
        If an option is invalid or a column is missing.
    EstimationError
        If the data cannot be used (missing values, treatment not 0/1 or varying within a cluster).
    """
    _check_choice("statistic", statistic, get_args(RiStatistic))
    if reps < 1:
        raise ValueError(f"reps must be a positive integer, got {reps}")
    columns = [outcome, treatment, cluster, *covariates] + ([strata] if strata is not None else [])
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(f"columns not in data: {missing}")
    if data[columns].isna().to_numpy().any():
        raise EstimationError(f"missing values in {columns}")
    treat = data[treatment].astype(float)
    if not treat.isin([0.0, 1.0]).all():
        raise EstimationError(f"{treatment} must be 0/1")

    codes, uniques = pd.factorize(data[cluster])
    codes = codes.astype(np.intp)
    n_clusters = len(uniques)
    if n_clusters < 2:
        raise EstimationError(f"need at least 2 clusters, got {n_clusters}")
    treat_c = _cluster_constant(treat, codes, n_clusters, treatment).astype(float)
    # With one treated (or comparison) cluster there are only G assignments, each putting a
    # single cluster in that arm, and the statistic is one cluster's residual mean: no p-value.
    _single_cluster_arm(treat_c, np.arange(n_clusters), treatment)
    if strata is None:
        stratum_c = np.zeros(n_clusters)
        strata_dummies = np.empty((len(data), 0))
    else:
        stratum_c = _cluster_constant(data[strata], codes, n_clusters, strata)
        strata_dummies = pd.get_dummies(data[strata], drop_first=True, dtype=float).to_numpy()

    yv = data[outcome].to_numpy(dtype=float)
    W = np.column_stack([np.ones(len(data)), data[list(covariates)].to_numpy(dtype=float), strata_dummies])
    if np.linalg.matrix_rank(W) < W.shape[1]:
        raise EstimationError("the covariates (with the constant and strata) are collinear")
    n_obs, k = len(data), W.shape[1] + 1
    ssc = n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - k)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])

    ri_statistic = cast(RiStatistic, statistic)

    def stats_for(assign: np.ndarray) -> np.ndarray:
        return _ri_statistics(yv, W, assign[:, codes].T, order, starts, statistic=ri_statistic, ssc=ssc)

    observed = float(stats_for(treat_c[None, :])[0])
    draws, n_possible, enumerated = _assignments(treat_c, stratum_c, reps=reps, rng_seed=seed)
    chunk = max(1, _MAX_CELLS // n_obs)
    n_extreme = 0
    for start in range(0, len(draws), chunk):
        n_extreme += int(_exceeds(stats_for(draws[start : start + chunk]), observed).sum())
    return RandomizationResult(
        statistic=statistic,
        observed=observed,
        p_value=n_extreme / len(draws),
        n_extreme=n_extreme,
        n_assignments=len(draws),
        n_possible=n_possible,
        enumerated=enumerated,
    )


def cr1_wald_f(y: np.ndarray, X: np.ndarray, codes: np.ndarray, terms: Sequence[int]) -> float:
    """Wald F statistic ``b'(R V R')⁻¹ b / q`` of ``X[:, terms]`` with CR1 covariance ``V``.

    ``V = c (X'X)⁻¹ Σ_g X_g'u_g u_g'X_g (X'X)⁻¹`` with ``c = G/(G-1)·(N-1)/(N-K)``, as
    statsmodels' clustered OLS and Stata ``regress, vce(cluster)`` followed by ``test``.
    Returns NaN when ``X`` or ``R V R'`` is singular.
    """
    n_obs, k = X.shape
    codes = np.asarray(codes)
    present, local = np.unique(codes, return_inverse=True)
    n_clusters = len(present)
    if n_clusters < 2:
        return float("nan")  # no clustered covariance with a single cluster
    # The statistic does not change when a column is rescaled; unit-length columns keep X'X
    # well conditioned when money (millions of Rp) sits beside 0/1 dummies.
    norms = np.linalg.norm(X, axis=0)
    if (norms == 0).any():
        return float("nan")
    X = X / norms
    xtx = X.T @ X
    if np.linalg.matrix_rank(xtx) < k:
        return float("nan")
    bread = np.linalg.inv(xtx)
    beta = bread @ (X.T @ y)
    resid = y - X @ beta
    # Cluster sums of the scores; a dense cluster-membership matrix would be G × N floats
    # (3 GB for 2,000 villages and 200,000 households).
    weighted = X * resid[:, None]
    scores = np.column_stack([np.bincount(local, weights=col, minlength=n_clusters) for col in weighted.T])
    ssc = n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - k)
    V = ssc * bread @ (scores.T @ scores) @ bread
    idx = list(terms)
    try:
        solved = np.linalg.solve(V[np.ix_(idx, idx)], beta[idx])
    except np.linalg.LinAlgError:
        return float("nan")
    return float(beta[idx] @ solved / len(idx))


def randomization_skipped(n_clusters: int, *, below: int) -> str:
    """Why a design test's randomization p-value is not computed ("" when it is).

    Re-drawing the assignment refits the test's regression every time (``design_test_reps``
    times), which at national scale (thousands of villages, hundreds of thousands of
    households) takes hours. The randomization p-value is there because a clustered F test of
    many variables over-rejects with few clusters; with ``below`` clusters or more its own
    p-value is the one to read, so the re-draws are skipped, and the table says so.
    """
    if n_clusters < below:
        return ""
    return (
        f"randomization test not run: {n_clusters} clusters (design_test_ri_below = {below}); "
        "with this many, read p_value"
    )


def randomization_wald(
    design: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    *,
    treatment: np.ndarray,
    clusters: np.ndarray | Sequence[object],
    terms: Sequence[int],
    strata: np.ndarray | Sequence[object] | None = None,
    reps: int = 999,
    seed: int,
) -> RandomizationResult:
    """Randomization p-value of a joint CR1 Wald test, re-drawing the village assignment.

    With few clusters a cluster-robust Wald test of many restrictions rejects far too often (its
    covariance matrix has rank at most G − 1). Re-drawing the assignment as the design did it
    (the same number of treated clusters, within strata, as :func:`randomization_inference`)
    and recomputing the same F statistic gives a test of the right size whatever the number of
    restrictions. The p-value is the share of assignments whose F is at least the observed one
    (ties count); all assignments are used when there are at most ``reps``. An assignment under
    which the regression is collinear (so the statistic is undefined) is left out of the count.

    Parameters
    ----------
    design
        Maps an observation-level 0/1 treatment vector to ``(y, X)``: the regression whose
        ``terms`` are tested (the treatment may be the outcome, as in a balance test, or enter
        X, as in an attrition-composition test).
    treatment
        The actual observation-level 0/1 treatment, constant within clusters.
    clusters
        Cluster of each observation (the unit of assignment and of the CR1 covariance).
    terms
        Column positions in X of the tested coefficients.
    strata
        Randomization stratum of each observation (constant within clusters), or None.
    reps
        Maximum assignments enumerated, otherwise random draws.
    seed
        Seed of the draws.

    Returns
    -------
    RandomizationResult
        ``statistic="t"`` is not meaningful here; ``observed`` is the F statistic.
    """
    codes, uniques = pd.factorize(pd.Series(np.asarray(clusters).reshape(-1)))
    codes = codes.astype(np.intp)
    n_clusters = len(uniques)
    if n_clusters < 2:
        raise EstimationError(f"need at least 2 clusters, got {n_clusters}")
    treat = pd.Series(np.asarray(treatment, dtype=float).reshape(-1))
    treat_c = _cluster_constant(treat, codes, n_clusters, "treatment").astype(float)
    _single_cluster_arm(treat_c, np.arange(n_clusters), "treatment")
    if strata is None:
        stratum_c = np.zeros(n_clusters)
    else:
        stratum_c = _cluster_constant(pd.Series(np.asarray(strata).reshape(-1)), codes, n_clusters, "strata")

    def statistic(assign_obs: np.ndarray) -> float:
        y, X = design(assign_obs)
        return cr1_wald_f(np.asarray(y, dtype=float), np.asarray(X, dtype=float), codes, terms)

    observed = statistic(treat_c[codes])
    if not np.isfinite(observed):
        raise EstimationError("the Wald statistic is not defined for the actual assignment")
    draws, n_possible, enumerated = _assignments(treat_c, stratum_c, reps=reps, rng_seed=seed)
    values = np.array([statistic(row[codes]) for row in draws])
    values = values[np.isfinite(values)]
    tol = TIE_TOLERANCE * max(1.0, abs(observed))
    n_extreme = int((values >= observed - tol).sum())
    return RandomizationResult(
        statistic="t",
        observed=observed,
        p_value=n_extreme / len(values),
        n_extreme=n_extreme,
        n_assignments=len(values),
        n_possible=n_possible,
        enumerated=enumerated,
    )
