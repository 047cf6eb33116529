"""Multiple-testing adjustments within an outcome family (docs/methods.md section 4).

- :func:`sharpened_qvalues` -- Anderson (2008) sharpened FDR q-values (the Benjamini,
  Krieger & Yekutieli 2006 two-stage procedure run over a grid of q levels);
- :func:`romano_wolf` -- the Romano & Wolf (2005) step-down adjusted p-values given the
  original and resampled t statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# Anderson's do-file steps q down by 0.001; the grid is built from integers because
# accumulated floating-point steps change results near q = 0.001 (docs/methods.md section 4.1).
_GRID_STEPS = 1000


def _bh_rejections(p_sorted: np.ndarray, levels: np.ndarray, m: int) -> np.ndarray:
    """For each level, the largest rank r with ``p_(r) <= level * r / m`` (0 if none): BH's rejections.

    All levels of the grid at once (levels × ranks): the same comparisons, made in one array
    operation instead of one call per level.
    """
    ranks = np.arange(1, len(p_sorted) + 1)
    ok = p_sorted[None, :] <= levels[:, None] * ranks[None, :] / m
    return (ok * ranks[None, :]).max(axis=1)


def sharpened_qvalues(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Anderson (2008) sharpened FDR q-values.

    For q = 1.000, 0.999, ..., 0.001 (q = j/1000), run the two-stage BKY procedure at level q:
    stage 1 is Benjamini-Hochberg at ``q' = q/(1+q)`` giving R1 rejections; the number of true
    nulls is estimated as ``m0 = m - R1`` (``m`` if R1 = 0, 1 if R1 = m); stage 2 is BH at
    ``min(q' * m / m0, 1)``. A hypothesis's q-value is the smallest q at which it is rejected,
    and 1 if it never is (docs/methods.md section 4.1, Anderson's ``fdr_sharpened_qvalues.do``).

    Unlike statsmodels ``fdrcorrection_twostage``, whose adjusted p-values depend on the alpha
    given, these q-values do not depend on any chosen level.

    Parameters
    ----------
    pvalues
        The p-values of one family. NaN entries are ignored (they do not count in ``m``) and
        returned as NaN.

    Returns
    -------
    numpy.ndarray
        The sharpened q-values, in the input order.

    Raises
    ------
    ValueError
        If the input is not one-dimensional or a p-value lies outside [0, 1].
    """
    p = np.asarray(pvalues, dtype=float)
    if p.ndim != 1:
        raise ValueError(f"pvalues must be one-dimensional, got shape {p.shape}")
    valid = ~np.isnan(p)
    if ((p[valid] < 0) | (p[valid] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    pv = p[valid]
    m = len(pv)
    if m == 0:
        return out
    order = np.argsort(pv, kind="stable")
    p_sorted = pv[order]
    q = np.arange(_GRID_STEPS, 0, -1) / _GRID_STEPS  # 1.000, 0.999, ..., 0.001
    q_adj = q / (1 + q)
    r1 = _bh_rejections(p_sorted, q_adj, m)
    m0 = np.where(r1 == 0, m, np.where(r1 == m, 1, m - r1))
    r2 = _bh_rejections(p_sorted, np.minimum(q_adj * m / m0, 1.0), m)
    # Rank i's q-value is the smallest q of the grid whose second stage rejects it (1 if none).
    q_sorted = np.array([q[r2 > i].min() if (r2 > i).any() else 1.0 for i in range(m)])
    qv = np.empty(m)
    qv[order] = q_sorted
    out[valid] = qv
    return out


def romano_wolf(
    t_stats: Sequence[float] | np.ndarray, boot_t_stats: Sequence[Sequence[float]] | np.ndarray
) -> np.ndarray:
    """Romano-Wolf step-down adjusted p-values (family-wise error rate).

    Hypotheses are ordered by ``|t|`` descending. At step j the p-value is
    ``(#{b : max over the hypotheses not yet stepped past of |t*_b| >= |t_(j)|} + 1) / (B + 1)``,
    made monotone by a running maximum, then mapped back to the input order
    (docs/methods.md section 4.2; the same rule as pyfixest's ``_get_rwolf_pval``).

    Parameters
    ----------
    t_stats
        The S original t statistics.
    boot_t_stats
        A (B, S) matrix of t statistics from B resamples with the null imposed
        (wild cluster bootstrap, recentred cluster bootstrap, or randomization draws).

    Returns
    -------
    numpy.ndarray
        The S adjusted p-values, in the input order.

    Raises
    ------
    ValueError
        If the shapes do not match or a statistic is not finite.
    """
    t = np.abs(np.asarray(t_stats, dtype=float))
    boot = np.abs(np.asarray(boot_t_stats, dtype=float))
    if t.ndim != 1 or boot.ndim != 2 or boot.shape[1] != t.shape[0]:
        raise ValueError(
            "expecting t_stats of shape (S,) and boot_t_stats of shape (B, S), "
            f"got {t.shape} and {boot.shape}"
        )
    if not (np.isfinite(t).all() and np.isfinite(boot).all()):
        raise ValueError("t statistics must be finite")
    n_boot = boot.shape[0]
    stepdown = np.argsort(t, kind="stable")[::-1]
    # The max over hypotheses ranked j..S is a reverse running maximum over the sorted columns.
    tail_max = np.maximum.accumulate(boot[:, stepdown][:, ::-1], axis=1)[:, ::-1]
    counts = (tail_max >= t[stepdown][None, :]).sum(axis=0)
    p_sorted = np.minimum(1.0, (counts + 1) / (n_boot + 1))
    p_sorted = np.maximum.accumulate(p_sorted)
    out = np.empty_like(p_sorted)
    out[stepdown] = p_sorted
    return out
