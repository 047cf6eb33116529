"""Tests of analysis.methods.multiple_testing against docs/methods.md section 4 and pyfixest."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyfixest.estimation.post_estimation.multcomp import _get_rwolf_pval
from statsmodels.stats.multitest import fdrcorrection_twostage

from analysis.methods.multiple_testing import romano_wolf, sharpened_qvalues

# docs/methods.md section 4.1 worked examples (Anderson's Stata do-file): p -> sharpened q.
ANDERSON_CASES = [
    (
        [0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
        [0.007, 0.013, 0.016, 0.039, 0.064, 0.137],
    ),
    (
        [0.02, 0.01, 0.03, 0.08, 0.168, 0.168, 0.168],
        [0.076, 0.076, 0.076, 0.087, 0.107, 0.107, 0.107],
    ),
    (
        [0.001, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50],
        [0.012, 0.334, 0.429, 0.51, 0.563, 0.579, 0.579, 0.579, 0.579, 0.579, 0.579],
    ),
]


@pytest.mark.parametrize(("pvalues", "expected"), ANDERSON_CASES)
def test_sharpened_qvalues_worked_examples_exactly(pvalues, expected):
    # q-values lie on the grid j/1000, so they must equal the published decimals exactly.
    np.testing.assert_array_equal(sharpened_qvalues(pvalues), np.array(expected))


def test_statsmodels_two_stage_is_not_sharpened_q():
    first, second = ANDERSON_CASES[0][0], ANDERSON_CASES[1][0]
    # docs/methods.md section 4.1, statsmodels 0.15.0 values (printed to 4 decimals there).
    documented = {
        (0, 0.05): [0.0032, 0.0079, 0.0105, 0.0394, 0.063, 0.2625],
        (0, 0.10): [0.0022, 0.0055, 0.0073, 0.0275, 0.044, 0.1833],
        (1, 0.05): [0.0735, 0.0735, 0.0735, 0.147, 0.1764, 0.1764, 0.1764],
    }
    for (case, alpha), values in documented.items():
        p = np.array([first, second][case])
        adjusted = fdrcorrection_twostage(p, alpha=alpha)[1]
        np.testing.assert_allclose(adjusted, values, atol=5e-5)
        assert not np.allclose(adjusted, sharpened_qvalues(p), atol=5e-4)
    # The statsmodels numbers move with alpha; sharpened q-values take no alpha at all.
    a05 = fdrcorrection_twostage(np.array(first), alpha=0.05)[1]
    a10 = fdrcorrection_twostage(np.array(first), alpha=0.10)[1]
    assert not np.allclose(a05, a10)


def test_sharpened_qvalues_nan_passes_through():
    p, expected = ANDERSON_CASES[0]
    with_nan = [p[0], np.nan, *p[1:3], np.nan, *p[3:]]
    q = sharpened_qvalues(with_nan)
    assert np.isnan(q[1]) and np.isnan(q[4])
    # NaNs do not count in m, so the others keep their section 4.1 values.
    np.testing.assert_array_equal(q[~np.isnan(q)], expected)
    assert np.isnan(sharpened_qvalues([np.nan, np.nan])).all()


def test_sharpened_qvalues_never_rejected_gets_one():
    np.testing.assert_array_equal(sharpened_qvalues([0.9, 0.95, 1.0]), [1.0, 1.0, 1.0])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12))
def test_sharpened_qvalues_order_preserving(pvalues):
    p = np.array(pvalues)
    q = sharpened_qvalues(p)
    order = np.argsort(p, kind="stable")
    assert (np.diff(q[order]) >= 0).all()
    assert ((q > 0) & (q <= 1)).all()
    # Permuting the input permutes the output.
    perm = np.random.default_rng(0).permutation(len(p))
    np.testing.assert_array_equal(sharpened_qvalues(p[perm]), q[perm])


def test_sharpened_qvalues_validation():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sharpened_qvalues([0.1, 1.2])
    with pytest.raises(ValueError, match="one-dimensional"):
        sharpened_qvalues([[0.1, 0.2]])


def test_romano_wolf_worked_example():
    t = [3.0, 1.0, 2.0]
    boot = [[0.5, 1.2, 2.5], [2.1, 0.3, 0.4], [1.0, 3.5, 0.2], [0.1, 0.9, 1.1]]
    # docs/methods.md section 4.2: (0.4, 0.6, 0.6) = (2/5, 3/5, 3/5).
    np.testing.assert_allclose(romano_wolf(t, boot), [0.4, 0.6, 0.6], rtol=0, atol=1e-15)


@pytest.mark.parametrize(("seed", "n_boot", "n_hyp"), [(0, 50, 1), (1, 99, 3), (2, 999, 7), (3, 200, 12)])
def test_romano_wolf_matches_pyfixest(seed, n_boot, n_hyp):
    rng = np.random.default_rng(seed)
    t = rng.normal(scale=2.0, size=n_hyp)
    cov = 0.5 * np.ones((n_hyp, n_hyp)) + 0.5 * np.eye(n_hyp)
    boot = rng.multivariate_normal(np.zeros(n_hyp), cov, size=n_boot)
    # pyfixest 0.60.0 _get_rwolf_pval computed here on the same inputs.
    expected = _get_rwolf_pval(t.copy(), boot.copy())
    np.testing.assert_allclose(romano_wolf(t, boot), expected, rtol=0, atol=1e-15)


def test_romano_wolf_validation():
    with pytest.raises(ValueError, match="expecting t_stats of shape"):
        romano_wolf([1.0, 2.0], np.zeros((5, 3)))
    with pytest.raises(ValueError, match="finite"):
        romano_wolf([1.0, np.nan], np.zeros((5, 2)))
