"""Lee (2009) bounds on a treatment effect under differential attrition (docs/methods.md section 5.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, sparse, stats

from analysis.errors import EstimationError
from analysis.methods.few_clusters import inference_gap

# The bootstrap holds (draws x observed units) weight matrices; this caps their size.
_MAX_CELLS = 4_000_000

ArrayLike1D = Sequence[float] | np.ndarray | pd.Series


@dataclass(frozen=True)
class LeeBoundsResult:
    """Result of :func:`lee_bounds`.

    Attributes
    ----------
    lower, upper
        Lee lower and upper bounds on the effect for always-observed units.
    trim_share
        Share of the observed units of the trimmed arm that is trimmed, ``|q1 - q0| / max(q1, q0)``.
    trimmed_arm
        ``"treated"`` when q1 > q0, ``"control"`` when q0 > q1, ``"none"`` when equal.
    q_treated, q_control
        Observation (response) rates by arm.
    n_boot
        Bootstrap draws with both bounds defined (0 without bootstrap).
    se_lower, se_upper
        Bootstrap standard deviations of the bounds (None without bootstrap).
    ci_low, ci_high
        Imbens-Manski confidence interval for the effect (None without bootstrap).
    ci_level
        Coverage of that interval.
    """

    lower: float
    upper: float
    trim_share: float
    trimmed_arm: Literal["treated", "control", "none"]
    q_treated: float
    q_control: float
    n_boot: int = 0
    se_lower: float | None = None
    se_upper: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float = 0.95


def _trimmed_means(y_sorted: np.ndarray, w: np.ndarray, trim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Means after trimming a share ``trim`` of the weight from the top and from the bottom.

    ``y_sorted`` is ascending with shape (n,); ``w`` holds one row of unit weights per draw,
    shape (B, n); ``trim`` has shape (B,). The unit at the cut keeps the fraction of its weight
    needed to keep exactly ``(1 - trim)`` of the total, which handles ties and non-integer trim
    counts alike (the fractional-weight rule of ``Felipe-SO/leeweights``).

    Returns
    -------
    tuple of numpy.ndarray
        (mean of the kept lowest values, mean of the kept highest values), each shape (B,).
    """
    # Written as prefix sums: the sum of y over the lowest x of the weight is the prefix up to
    # the last unit that fits in x, plus the fraction of the next one. The kept highest values
    # are everything minus the lowest (total - keep). Five passes over the (B, n) arrays
    # instead of a dozen with per-unit clipping: this is the hot spot of the bootstrap.
    n_units = w.shape[1]
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1]
    keep = (1.0 - trim) * total
    cum_wy = np.cumsum(w * y_sorted, axis=1)
    rows = np.arange(len(w))

    def lowest(x: np.ndarray) -> np.ndarray:
        whole = (cum <= x[:, None]).sum(axis=1)  # units that fit entirely within x
        last = np.maximum(whole - 1, 0)
        prefix_w = np.where(whole > 0, cum[rows, last], 0.0)
        prefix_wy = np.where(whole > 0, cum_wy[rows, last], 0.0)
        cut = np.minimum(whole, n_units - 1)
        return prefix_wy + np.where(whole < n_units, (x - prefix_w) * y_sorted[cut], 0.0)

    with np.errstate(invalid="ignore", divide="ignore"):
        low = lowest(keep) / keep
        high = (cum_wy[:, -1] - lowest(total - keep)) / keep
    return low, high


def _bounds(
    y1: np.ndarray, w1: np.ndarray, q1: np.ndarray, y0: np.ndarray, w0: np.ndarray, q0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Lee bounds per row of the weight matrices (one row per draw)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.where(q1 > q0, (q1 - q0) / q1, 0.0)
        p0 = np.where(q0 > q1, (q0 - q1) / q0, 0.0)
    # At most one of p1, p0 is positive; trimming the other arm by 0 gives its plain mean,
    # so one expression covers both directions of attrition.
    low1, high1 = _trimmed_means(y1, w1, p1)
    low0, high0 = _trimmed_means(y0, w0, p0)
    return low1 - high0, high1 - low0


def _imbens_manski(
    lower: float, upper: float, se_lower: float, se_upper: float, level: float
) -> tuple[float, float]:
    """Imbens & Manski (2004) interval that covers the effect (not the set) with ``level``."""
    sigma = max(se_lower, se_upper)
    z_two = float(stats.norm.ppf(0.5 + level / 2))
    if sigma <= 0:
        return lower, upper
    width = (upper - lower) / sigma

    def gap(c: float) -> float:
        return float(stats.norm.cdf(c + width) - stats.norm.cdf(-c) - level)

    # The critical value lies between the one-sided (wide set) and two-sided (point) quantiles.
    c = z_two if gap(z_two) <= 0 else float(optimize.brentq(gap, 0.0, z_two, xtol=1e-12))
    return lower - c * se_lower, upper + c * se_upper


def lee_bounds(
    y: ArrayLike1D,
    treated: ArrayLike1D,
    observed: ArrayLike1D,
    *,
    clusters: ArrayLike1D | Sequence[object] | None = None,
    reps: int = 0,
    seed: int | None = None,
    ci_level: float = 0.95,
) -> LeeBoundsResult:
    """Lee (2009) trimming bounds with an optional cluster bootstrap.

    With response rates ``q1`` (treated) and ``q0`` (control) and monotone selection:
    if ``q1 > q0`` the observed treated are trimmed by ``p = (q1 - q0)/q1`` and
    ``UB = mean(treated, lowest p trimmed) - mean(control)``,
    ``LB = mean(treated, highest p trimmed) - mean(control)``; if ``q0 > q1`` the observed
    controls are trimmed by ``p = (q0 - q1)/q0`` and the roles flip
    (``UB`` trims the highest controls, ``LB`` the lowest). The unit at the cut keeps a
    fractional weight, so ties and non-integer trim counts are handled exactly.

    With ``reps > 0``, clusters (or units when ``clusters`` is None) are resampled with
    replacement, both bounds are recomputed for every draw (vectorized over draws), and the
    Imbens-Manski (2004) interval ``[LB - c*se_LB, UB + c*se_UB]`` is reported, where c solves
    ``Phi(c + (UB - LB)/max(se_LB, se_UB)) - Phi(-c) = ci_level`` and the SEs are the
    bootstrap standard deviations (the ``cieffect`` interval of Stata ``leebounds``).
    Draws in which an arm has no observed unit are discarded (see ``n_boot``).

    Parameters
    ----------
    y
        Outcome; its value is ignored (may be NaN) where ``observed`` is 0.
    treated
        0/1 assignment for every assigned unit, observed or not.
    observed
        0/1 indicator that the outcome is observed (S = 1).
    clusters
        Cluster (village) identifiers for the bootstrap; None resamples units.
    reps
        Number of bootstrap draws; 0 skips the bootstrap.
    seed
        Seed of ``numpy.random.default_rng``; required when ``reps > 0``.
    ci_level
        Coverage of the Imbens-Manski interval, in [0.5, 1).

    Returns
    -------
    LeeBoundsResult
        Bounds, trimming share and arm, and the bootstrap interval when requested.

    Raises
    ------
    ValueError
        If the inputs have different lengths or an option is invalid.
    EstimationError
        If an arm has no observed unit, or the indicators are not 0/1, or a cluster bootstrap
        is asked for with a single cluster, or a single cluster in an arm.
    """
    yv = np.asarray(y, dtype=float).reshape(-1)
    tv = np.asarray(treated, dtype=float).reshape(-1)
    sv = np.asarray(observed, dtype=float).reshape(-1)
    n = len(yv)
    if not (len(tv) == len(sv) == n):
        raise ValueError(f"y, treated and observed must have the same length, got {n}, {len(tv)}, {len(sv)}")
    if not (0.5 <= ci_level < 1):
        raise ValueError(f"ci_level must lie in [0.5, 1), got {ci_level}")
    if reps < 0:
        raise ValueError(f"reps must be >= 0, got {reps}")
    if reps > 0 and seed is None:
        raise ValueError("a seed is required when reps > 0, so that the bootstrap is reproducible")
    for name, v in (("treated", tv), ("observed", sv)):
        if not np.isin(v, (0.0, 1.0)).all():
            raise EstimationError(f"{name} must be 0/1 without missing values")
    if not np.isfinite(yv[sv == 1]).all():
        raise EstimationError("y must be finite wherever observed is 1")
    if clusters is None:
        codes = np.arange(n)
    else:
        cl = np.asarray(clusters).reshape(-1)
        if len(cl) != n:
            raise ValueError(f"clusters must have length {n}, got {len(cl)}")
        codes_raw, _ = pd.factorize(pd.Series(cl), use_na_sentinel=True)
        if (codes_raw < 0).any():
            raise EstimationError("clusters must not contain missing values")
        codes = codes_raw.astype(np.intp)
        if reps > 0:
            # A cluster bootstrap with one cluster (or one in an arm) redraws that cluster or
            # drops the arm: its interval would look precise and mean nothing.
            _, gap = inference_gap(pd.Series(codes), pd.Series(tv))
            if gap:
                raise EstimationError(f"cluster bootstrap: {gap}; compute the bounds with reps=0")
    n_clusters = int(codes.max()) + 1

    arms = {}
    for arm in (1.0, 0.0):
        in_arm = tv == arm
        obs = np.flatnonzero(in_arm & (sv == 1))
        if len(obs) == 0:
            arm_name = "treated" if arm else "control"
            raise EstimationError(f"no observed outcome in the {arm_name} arm")
        # Units with the same value are trimmed alike (the fractional-weight rule gives a tied
        # block the same kept weight in total however it is split), so each arm is reduced to
        # its distinct values with a (value x cluster) count matrix. A draw's weights are then
        # counts @ that matrix: two columns for a yes/no outcome instead of one per household,
        # which is what makes the bootstrap cheap at national scale.
        values, position = np.unique(yv[obs], return_inverse=True)
        per_value = sparse.csr_matrix(
            (np.ones(len(obs)), (position.reshape(-1), codes[obs])), shape=(len(values), n_clusters)
        )
        arms[arm] = (
            values,
            per_value,
            np.bincount(codes[in_arm], minlength=n_clusters).astype(float),
            np.bincount(codes[obs], minlength=n_clusters).astype(float),
        )

    def bounds_for(cluster_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y1, n1, assigned1, seen1 = arms[1.0]
        y0, n0, assigned0, seen0 = arms[0.0]
        with np.errstate(invalid="ignore", divide="ignore"):
            q1 = cluster_w @ seen1 / (cluster_w @ assigned1)
            q0 = cluster_w @ seen0 / (cluster_w @ assigned0)
        w1 = np.asarray((n1 @ cluster_w.T).T)
        w0 = np.asarray((n0 @ cluster_w.T).T)
        return _bounds(y1, w1, q1, y0, w0, q0)

    lower, upper = (float(b[0]) for b in bounds_for(np.ones((1, n_clusters))))
    q1 = float(arms[1.0][3].sum() / arms[1.0][2].sum())
    q0 = float(arms[0.0][3].sum() / arms[0.0][2].sum())
    trimmed_arm: Literal["treated", "control", "none"]
    if q1 > q0:
        trimmed_arm, trim_share = "treated", (q1 - q0) / q1
    elif q0 > q1:
        trimmed_arm, trim_share = "control", (q0 - q1) / q0
    else:
        trimmed_arm, trim_share = "none", 0.0
    result = LeeBoundsResult(
        lower=lower,
        upper=upper,
        trim_share=trim_share,
        trimmed_arm=trimmed_arm,
        q_treated=q1,
        q_control=q0,
        ci_level=ci_level,
    )
    if reps == 0:
        return result

    rng = np.random.default_rng(seed)
    n_values = len(arms[1.0][0]) + len(arms[0.0][0])  # columns of the weight matrices
    chunk = max(1, _MAX_CELLS // max(n_values, n_clusters))
    lows, highs = [], []
    for start in range(0, reps, chunk):
        size = min(chunk, reps - start)
        counts = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=size)
        lo, hi = bounds_for(counts.astype(float))
        lows.append(lo)
        highs.append(hi)
    lo_all, hi_all = np.concatenate(lows), np.concatenate(highs)
    ok = np.isfinite(lo_all) & np.isfinite(hi_all)
    if ok.sum() < 2:
        raise EstimationError("fewer than 2 bootstrap draws have both arms observed")
    se_lower = float(np.std(lo_all[ok], ddof=1))
    se_upper = float(np.std(hi_all[ok], ddof=1))
    ci_low, ci_high = _imbens_manski(lower, upper, se_lower, se_upper, ci_level)
    return LeeBoundsResult(
        lower=lower,
        upper=upper,
        trim_share=trim_share,
        trimmed_arm=trimmed_arm,
        q_treated=q1,
        q_control=q0,
        n_boot=int(ok.sum()),
        se_lower=se_lower,
        se_upper=se_upper,
        ci_low=ci_low,
        ci_high=ci_high,
        ci_level=ci_level,
    )
