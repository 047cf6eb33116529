"""Tests of analysis.methods.lee_bounds against docs/methods.md section 5.2 and independent computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from analysis.errors import EstimationError
from analysis.methods.lee_bounds import lee_bounds


def _arms(treated_y, n_treated, control_y, n_control):
    """Stack two arms; units beyond the observed values are attrited (y = NaN)."""
    y = np.r_[
        treated_y,
        np.full(n_treated - len(treated_y), np.nan),
        control_y,
        np.full(n_control - len(control_y), np.nan),
    ]
    treated = np.r_[np.ones(n_treated), np.zeros(n_control)]
    observed = (~np.isnan(y)).astype(float)
    return y, treated, observed


def test_worked_example_section_5_2():
    # docs/methods.md section 5.2: treated 10 assigned, 8 observed (1..8); control 10 assigned,
    # 6 observed (1..6); q1 = 0.8, q0 = 0.6, p = 0.25; LB = 0.0, UB = 2.0.
    res = lee_bounds(*_arms(np.arange(1, 9), 10, np.arange(1, 7), 10))
    assert res.q_treated == pytest.approx(0.8)
    assert res.q_control == pytest.approx(0.6)
    assert res.trim_share == pytest.approx(0.25)
    assert res.trimmed_arm == "treated"
    assert res.lower == pytest.approx(0.0, abs=1e-12)
    assert res.upper == pytest.approx(2.0, abs=1e-12)
    assert res.ci_low is None and res.n_boot == 0


def test_flipped_case_trims_control():
    # Section 5.2 with the arms swapped (q0 = 0.8 > q1 = 0.6): trim p = 0.25 of the 8 controls.
    # By hand: UB = 3.5 - mean(1..6) = 0; LB = 3.5 - mean(3..8) = -2.
    res = lee_bounds(*_arms(np.arange(1, 7), 10, np.arange(1, 9), 10))
    assert res.trimmed_arm == "control"
    assert res.trim_share == pytest.approx(0.25)
    assert res.lower == pytest.approx(-2.0, abs=1e-12)
    assert res.upper == pytest.approx(0.0, abs=1e-12)


def test_ties_at_the_cut_with_fractional_weight():
    # Hand-checked: treated 9 assigned, 6 observed Y = (1, 2, 2, 3, 3, 5), q1 = 2/3; control
    # 10 assigned, 5 observed Y = (1..5), q0 = 1/2, mean 3. p = (2/3 - 1/2)/(2/3) = 1/4, so
    # 1.5 of the 6 treated units are trimmed and 4.5 kept.
    # Upper: drop the 1 and half of one 2 -> (0.5*2 + 2 + 3 + 3 + 5)/4.5 = 14/4.5 = 28/9.
    # Lower: drop the 5 and half of one 3 -> (1 + 2 + 2 + 3 + 0.5*3)/4.5 = 9.5/4.5 = 19/9.
    res = lee_bounds(*_arms([1, 2, 2, 3, 3, 5], 9, [1, 2, 3, 4, 5], 10))
    assert res.trim_share == pytest.approx(0.25)
    assert res.upper == pytest.approx(28 / 9 - 3, abs=1e-12)
    assert res.lower == pytest.approx(19 / 9 - 3, abs=1e-12)


def test_equal_response_rates_give_difference_in_means():
    y, treated, observed = _arms([2.0, 4.0, 9.0], 5, [1.0, 3.0, 5.0], 5)
    res = lee_bounds(y, treated, observed)
    assert res.trimmed_arm == "none" and res.trim_share == 0.0
    assert res.lower == pytest.approx(5.0 - 3.0) and res.upper == pytest.approx(5.0 - 3.0)


def _linprog_trimmed_mean(values, keep, sense):
    """Independent bound: extreme weighted mean with weights in [0, 1] summing to ``keep``."""
    c = np.asarray(values, float) * (1.0 if sense == "min" else -1.0)
    res = optimize.linprog(
        c, A_eq=np.ones((1, len(c))), b_eq=[keep], bounds=[(0, 1)] * len(c), method="highs"
    )
    assert res.status == 0
    return float(res.x @ values) / keep


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_discrete_outcome_matches_linear_programme(seed):
    rng = np.random.default_rng(seed)
    n1, n0 = rng.integers(30, 60, size=2)
    treated = np.r_[np.ones(n1), np.zeros(n0)]
    y = rng.integers(0, 5, size=n1 + n0).astype(float)  # many ties
    observed = (rng.random(n1 + n0) < np.where(treated == 1, 0.85, 0.7)).astype(float)
    flip = seed % 2 == 1  # odd seeds: treated attrit more, so controls are trimmed
    if flip:
        treated = 1 - treated
    res = lee_bounds(np.where(observed == 1, y, np.nan), treated, observed)
    q1 = observed[treated == 1].mean()
    q0 = observed[treated == 0].mean()
    y1, y0 = y[(treated == 1) & (observed == 1)], y[(treated == 0) & (observed == 1)]
    # Lee bounds = extreme means over the always-observed share of the trimmed arm.
    if q1 > q0:
        keep = len(y1) * q0 / q1
        lo = _linprog_trimmed_mean(y1, keep, "min") - y0.mean()
        hi = _linprog_trimmed_mean(y1, keep, "max") - y0.mean()
        assert res.trimmed_arm == "treated"
    else:
        keep = len(y0) * q1 / q0
        lo = y1.mean() - _linprog_trimmed_mean(y0, keep, "max")
        hi = y1.mean() - _linprog_trimmed_mean(y0, keep, "min")
        assert res.trimmed_arm == "control"
    assert res.lower == pytest.approx(lo, abs=1e-9)
    assert res.upper == pytest.approx(hi, abs=1e-9)


def _clustered_sample(seed):
    rng = np.random.default_rng(seed)
    n_villages = 14
    size = rng.integers(4, 9, size=n_villages)
    village = np.repeat(np.arange(n_villages), size)
    treated = (village % 2).astype(float)
    y = rng.normal(size=len(village)) + 0.3 * treated + rng.normal(size=n_villages)[village]
    observed = (rng.random(len(village)) < np.where(treated == 1, 0.9, 0.75)).astype(float)
    return np.where(observed == 1, y, np.nan), treated, observed, village


def test_cluster_bootstrap_matches_explicit_resampling():
    y, treated, observed, village = _clustered_sample(4)
    reps, seed = 300, 11
    res = lee_bounds(y, treated, observed, clusters=village, reps=reps, seed=seed)
    # Independent check of the vectorized weighting: redraw the same cluster counts (one
    # multinomial call of size reps, as in the implementation), duplicate the villages'
    # rows explicitly, and recompute the point bounds on each resampled data set.
    rng = np.random.default_rng(seed)
    n_villages = village.max() + 1
    counts = rng.multinomial(n_villages, np.full(n_villages, 1 / n_villages), size=reps)
    lows, highs = [], []
    for row in counts:
        idx = np.concatenate([np.flatnonzero(village == g) for g in np.repeat(np.arange(n_villages), row)])
        if observed[idx][treated[idx] == 1].sum() == 0 or observed[idx][treated[idx] == 0].sum() == 0:
            continue
        b = lee_bounds(y[idx], treated[idx], observed[idx])
        lows.append(b.lower)
        highs.append(b.upper)
    assert res.n_boot == len(lows)
    assert res.se_lower == pytest.approx(np.std(lows, ddof=1), rel=1e-10)
    assert res.se_upper == pytest.approx(np.std(highs, ddof=1), rel=1e-10)


def test_imbens_manski_interval():
    y, treated, observed, village = _clustered_sample(7)
    res = lee_bounds(y, treated, observed, clusters=village, reps=400, seed=3, ci_level=0.9)
    assert res.ci_low is not None and res.ci_high is not None
    assert res.se_lower is not None and res.se_upper is not None
    c_low = (res.lower - res.ci_low) / res.se_lower
    c_high = (res.ci_high - res.upper) / res.se_upper
    assert c_low == pytest.approx(c_high, rel=1e-9)
    # Imbens & Manski (2004) eq. for C: Phi(C + width/max se) - Phi(-C) = level.
    width = (res.upper - res.lower) / max(res.se_lower, res.se_upper)
    assert stats.norm.cdf(c_low + width) - stats.norm.cdf(-c_low) == pytest.approx(0.9, abs=1e-9)
    assert stats.norm.ppf(0.9) < c_low < stats.norm.ppf(0.95)


def test_imbens_manski_point_identified_is_two_sided_normal():
    rng = np.random.default_rng(0)
    village = np.repeat(np.arange(10), 6)
    treated = (village % 2).astype(float)
    y = rng.normal(size=60)
    observed = np.ones(60)
    res = lee_bounds(y, treated, observed, clusters=village, reps=200, seed=1)
    assert res.lower == res.upper
    c = (res.lower - res.ci_low) / res.se_lower
    assert c == pytest.approx(stats.norm.ppf(0.975), rel=1e-12)


def test_bootstrap_is_deterministic_and_unit_level_without_clusters():
    y, treated, observed, _ = _clustered_sample(2)
    a = lee_bounds(y, treated, observed, reps=100, seed=5)
    b = lee_bounds(y, treated, observed, reps=100, seed=5)
    assert a == b and a.n_boot == 100


def test_validation():
    y, treated, observed = _arms(np.arange(1, 9), 10, np.arange(1, 7), 10)
    with pytest.raises(ValueError, match="seed"):
        lee_bounds(y, treated, observed, reps=10)
    with pytest.raises(ValueError, match="same length"):
        lee_bounds(y[:-1], treated, observed)
    with pytest.raises(EstimationError, match="0/1"):
        lee_bounds(y, treated * 2, observed)
    with pytest.raises(EstimationError, match="no observed outcome"):
        lee_bounds(y, treated, observed * treated)
    with pytest.raises(EstimationError, match="finite"):
        lee_bounds(np.where(observed == 1, np.nan, 0.0), treated, observed)


def test_trimmed_means_equal_unit_by_unit_trimming() -> None:
    # The prefix-sum form against the direct one: every unit keeps clip(keep - weight before
    # it, 0, its weight) from the bottom (and the same from the top), ties and zero weights
    # included.
    from analysis.methods.lee_bounds import _trimmed_means

    rng = np.random.default_rng(5)
    for case in range(200):
        n, draws = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        y = np.sort(rng.choice([0.0, 1.0, 3.0], n) if case % 2 else rng.normal(size=n))
        w = rng.integers(0, 4, size=(draws, n)).astype(float)
        w[0] = 1.0
        trim = rng.choice([0.0, 0.25, 1 / 3, float(rng.uniform(0, 0.9))], draws)
        total = w.sum(axis=1)
        keep = (1 - trim) * total
        cum = np.cumsum(w, axis=1)
        low_w = np.clip(keep[:, None] - (cum - w), 0, w)
        high_w = np.clip(keep[:, None] - (total[:, None] - cum), 0, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            expected = (low_w @ y / keep, high_w @ y / keep)
        for got, want in zip(_trimmed_means(y, w, trim), expected, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, equal_nan=True)
