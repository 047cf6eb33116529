"""Tests of analysis.methods.power against docs/methods.md sections 1.2 and 6 and statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower

from analysis.errors import EstimationError
from analysis.methods.power import (
    clusters_needed,
    design_effect,
    icc,
    mde_cluster,
    sample_size_per_arm,
    variance_factors,
)

# docs/methods.md section 1.2 table, m = r = 1: rho -> (F_POST, F_DiD, F_ANCOVA).
FACTOR_TABLE = {0.25: (1, 1.5, 0.9375), 0.5: (1, 1, 0.75), 0.8: (1, 0.4, 0.36)}


@pytest.mark.parametrize(("rho", "expected"), FACTOR_TABLE.items())
def test_variance_factor_table(rho, expected):
    f = variance_factors(rho)
    assert (f["post"], f["did"], f["ancova"]) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.floats(min_value=-0.99, max_value=1.0))
def test_variance_factors_single_rounds_reduce(rho):
    # docs/methods.md section 1.2: with m = r = 1 the factors are 1, 2(1 - rho) and 1 - rho^2.
    f = variance_factors(rho)
    assert f["post"] == pytest.approx(1.0)
    assert f["did"] == pytest.approx(2 * (1 - rho), abs=1e-12)
    assert f["ancova"] == pytest.approx(1 - rho**2, abs=1e-12)


def test_variance_factors_ancova_never_worse():
    # docs/methods.md section 1.3: ANCOVA is never less efficient than POST or DiD.
    for rho in np.linspace(0, 1, 21):
        for m in (1, 2, 3):
            for r in (1, 2, 4):
                f = variance_factors(float(rho), m=m, r=r)
                assert f["ancova"] <= min(f["post"], f["did"]) + 1e-12


def test_published_brown_prescott_example_with_rounded_z():
    n = sample_size_per_arm(76, 5, rho=0.53, m=1, r=4, estimator="post", z_decimals=2)
    # docs/methods.md section 1.2 [pub]: 30.86, i.e. 31 per group (floating point 30.864512),
    # computed with z = 1.96 and 0.84.
    assert n == pytest.approx(30.864512, abs=5e-7)
    assert math.ceil(n) == 31


def test_exact_quantile_version_matches_statsmodels():
    n = sample_size_per_arm(76, 5, rho=0.53, m=1, r=4, estimator="post")
    factor = (1 + 3 * 0.53) / 4  # F_POST, docs/methods.md section 1.2
    # statsmodels NormalIndPower, one-sided at alpha/2, is exactly the closed form
    # (z_{1-alpha/2} + z_power)^2 * 2 / es^2 with es = delta / sqrt(sigma2 F).
    expected = NormalIndPower().solve_power(
        effect_size=5 / math.sqrt(76 * factor),
        alpha=0.025,
        power=0.8,
        ratio=1,
        alternative="larger",
    )
    assert n == pytest.approx(expected, rel=1e-6)
    assert n > 30.864512  # exact z sum 2.8016 exceeds the rounded 2.80


@pytest.mark.parametrize("estimator", ["post", "did", "ancova"])
def test_sample_size_uses_variance_factor(estimator):
    base = sample_size_per_arm(1.0, 0.2, rho=0.0, m=1, r=1, estimator="post")
    n = sample_size_per_arm(1.0, 0.2, rho=0.5, m=2, r=3, estimator=estimator)
    assert n == pytest.approx(base * variance_factors(0.5, m=2, r=3)[estimator], rel=1e-12)


def test_iid_sample_size_section_6():
    ours = sample_size_per_arm(1.0, 0.2, rho=0.0, m=1, r=1, estimator="post")
    normal = NormalIndPower().solve_power(effect_size=0.2, alpha=0.05, power=0.8, ratio=1)
    ttest = TTestIndPower().solve_power(effect_size=0.2, alpha=0.05, power=0.8, ratio=1)
    # docs/methods.md section 6: statsmodels NormalIndPower = 392.44, TTestIndPower = 393.41.
    assert normal == pytest.approx(392.44, abs=0.005)
    assert ttest == pytest.approx(393.41, abs=0.005)
    assert ours == pytest.approx(392.44, abs=0.005)
    # The two-sided statsmodels solve also counts the far rejection tail (about 1e-6 of
    # power), which moves n by 2.5e-6 relative; one-sided at alpha/2 is the closed form.
    assert ours == pytest.approx(normal, rel=1e-5)
    one_sided = NormalIndPower().solve_power(
        effect_size=0.2, alpha=0.025, power=0.8, ratio=1, alternative="larger"
    )
    assert ours == pytest.approx(one_sided, rel=1e-8)
    # Not matched by design: the t-based figure is ~1 unit larger than the normal formula.
    assert 0.9 < ttest - ours < 1.1


def test_mde_cluster_section_6():
    # docs/methods.md section 6: J = 40, m = 20, rho = 0.10, alpha = 0.05, power 0.8, P = 0.5.
    assert mde_cluster(40, 20, 0.10) == pytest.approx(0.337356, abs=5e-7)
    mde_t = mde_cluster(40, 20, 0.10, dist="t")
    assert mde_t == pytest.approx(0.3463, abs=5e-5)
    m_t = stats.t.ppf(0.975, 38) + stats.t.ppf(0.8, 38)
    assert m_t == pytest.approx(2.8756, abs=5e-5)  # docs/methods.md section 6: M = 2.8756
    assert mde_t / mde_cluster(40, 20, 0.10) == pytest.approx(m_t / (1.959964 + 0.841621), rel=1e-6)
    assert mde_cluster(40, 20, 0.10, r2_cluster=0.5, r2_individual=0.5) == pytest.approx(0.2385, abs=5e-5)


def test_clusters_needed_section_6():
    j = clusters_needed(0.2, 20, 0.1)
    # docs/methods.md section 6: J = 113.8 villages in total; DEFF = 2.9; 1138 households and about
    # 57 villages of 20 per arm.
    assert j == pytest.approx(113.8, abs=0.05)
    assert design_effect(20, 0.1) == pytest.approx(2.9, rel=1e-12)
    assert j * 20 / 2 == pytest.approx(1138, abs=0.5)
    assert math.ceil(j / 2) == 57
    # Cross-check: i.i.d. n from statsmodels (one-sided at alpha/2, i.e. without the far tail)
    # times DEFF equals households per arm.
    n_iid = NormalIndPower().solve_power(
        effect_size=0.2, alpha=0.025, power=0.8, ratio=1, alternative="larger"
    )
    assert j * 20 / 2 == pytest.approx(n_iid * 2.9, rel=1e-8)


@pytest.mark.parametrize("dist", ["normal", "t"])
@pytest.mark.parametrize(
    ("mde", "size", "rho", "share", "r2c", "r2i"),
    [(0.2, 20, 0.1, 0.5, 0.0, 0.0), (0.35, 8, 0.05, 0.3, 0.4, 0.2), (1.5, 10, 0.3, 0.5, 0.0, 0.0)],
)
def test_clusters_needed_inverts_mde(dist, mde, size, rho, share, r2c, r2i):
    kwargs = dict(share_treated=share, r2_cluster=r2c, r2_individual=r2i, dist=dist)
    j = clusters_needed(mde, size, rho, **kwargs)
    assert mde_cluster(j, size, rho, **kwargs) == pytest.approx(mde, rel=1e-8)


def test_design_effect_unequal_sizes():
    # docs/methods.md section 6: DEFF = 1 + ((CV^2 + 1) m - 1) rho; CV = 0.5, m = 20, rho = 0.1.
    assert design_effect(20, 0.1, cv=0.5) == pytest.approx(1 + (1.25 * 20 - 1) * 0.1)


def test_icc_matches_anova_estimator_on_balanced_data():
    rng = np.random.default_rng(2024)
    n_clusters, size = 30, 12
    groups = np.repeat(np.arange(n_clusters), size)
    y = rng.normal(scale=0.6, size=n_clusters)[groups] + rng.normal(size=n_clusters * size)
    # One-way ANOVA estimator, equal to REML on balanced data when it is positive.
    means = y.reshape(n_clusters, size).mean(axis=1)
    msb = size * np.sum((means - y.mean()) ** 2) / (n_clusters - 1)
    msw = np.sum((y.reshape(n_clusters, size) - means[:, None]) ** 2) / (n_clusters * (size - 1))
    s2u = (msb - msw) / size
    expected = s2u / (s2u + msw)
    assert 0.1 < expected < 0.5
    assert icc(y, groups) == pytest.approx(expected, abs=1e-4)


def test_icc_is_zero_without_between_variance():
    groups = np.repeat(np.arange(6), 3)
    for shift in ([0.0] * 6, [0.0, 0.1, -0.1, 0.05, -0.05, 0.0]):
        y = np.tile([4.0, 5.0, 6.0], 6) + np.repeat(shift, 3)
        # Between-cluster mean square (at most 0.015) is below the within one (1), so the
        # ANOVA estimate is negative and REML puts the between variance on its boundary, 0.
        assert icc(y, groups) == pytest.approx(0.0, abs=1e-6)


def test_validation():
    with pytest.raises(ValueError, match="expecting one of"):
        sample_size_per_arm(1, 0.2, rho=0.5, m=1, r=1, estimator="diff")
    with pytest.raises(ValueError, match="expecting one of"):
        mde_cluster(40, 20, 0.1, dist="z")
    with pytest.raises(ValueError, match="expecting one of"):
        clusters_needed(0.2, 20, 0.1, dist="z")
    with pytest.raises(ValueError, match="rho"):
        variance_factors(1.5)
    with pytest.raises(ValueError, match="share_treated"):
        mde_cluster(40, 20, 0.1, share_treated=1.0)
    with pytest.raises(EstimationError):
        icc([1.0, 2.0, 3.0], [0, 0, 0])


def test_icc_anova_equals_reml_on_balanced_data_and_is_the_moment_formula() -> None:
    rng = np.random.default_rng(12)
    groups = np.repeat(np.arange(25), 16)
    values = 0.6 * rng.normal(size=25)[groups] + rng.normal(size=len(groups))
    assert icc(values, groups, method="anova") == pytest.approx(icc(values, groups), rel=1e-5)
    # Unequal sizes: (MSB - MSW) / n0, written out.
    sizes = rng.integers(3, 30, 20)
    g = np.repeat(np.arange(20), sizes)
    y = 0.5 * rng.normal(size=20)[g] + rng.normal(size=len(g))
    frame = pd.DataFrame({"y": y, "g": g})
    means = frame.groupby("g")["y"].mean()
    msb = (sizes * (means - y.mean()) ** 2).sum() / 19
    msw = ((y - frame.groupby("g")["y"].transform("mean")) ** 2).sum() / (len(y) - 20)
    n0 = (len(y) - (sizes**2).sum() / len(y)) / 19
    between = (msb - msw) / n0
    assert icc(y, g, method="anova") == pytest.approx(between / (between + msw), rel=1e-12)
    # No between-cluster variance: 0, not a negative number.
    flat = np.tile(np.arange(10.0), 5)
    assert icc(flat, np.repeat(np.arange(5), 10), method="anova") == 0.0


def test_icc_is_the_same_for_text_labels_a_categorical_and_a_plain_list() -> None:
    rng = np.random.default_rng(5)
    groups = rng.integers(0, 30, 900)
    y = rng.normal(size=30)[groups] + rng.normal(size=900)
    text = pd.Series([f"v{g:02d}" for g in groups], dtype="str")
    expected = icc(y, list(text), method="anova")
    assert icc(y, text, method="anova") == expected
    assert icc(y, text.astype("category"), method="anova") == expected
    with pytest.raises(EstimationError, match="missing"):
        icc(y, text.astype("category").where(text != "v03"), method="anova")
