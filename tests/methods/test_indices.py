"""Summary indices against the worked example of docs/methods.md §3.3 and hand-checked cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.errors import EstimationError
from analysis.methods.indices import icw_index, klk_index, standardize

RTOL = 1e-6


def example() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Return the 8-household, 3-component table of docs/methods.md §3.3 with its masks."""
    frame = pd.DataFrame(
        {
            "y1": [1, 2, 3, 4, 3, 5, 4, 6],
            "y2": [2, 2, 5, 3, 4, 6, 5, 5],
            "y3": [3, 4, 3, 6, 5, 4, 7, 6],
        },
        index=pd.Index(range(1, 9), name="hh"),
    )
    treated = pd.Series([False] * 4 + [True] * 4, index=frame.index)
    return frame, ~treated, treated


def effect(index: pd.Series, treated: pd.Series) -> float:
    """Treated mean minus control mean, as §3.3 defines the effect."""
    return float(index[treated].mean() - index[~treated].mean())


# ---------------------------------------------------------------- standardize


def test_standardize_uses_control_means_and_sds_of_section_3_3() -> None:
    frame, control, _ = example()
    z = standardize(frame, reference=control)
    # docs/methods.md §3.3: control means (2.5, 3, 4), control SDs (n-1) (1.290994, 1.414214, 1.414214).
    means = np.array([2.5, 3.0, 4.0])
    sds = np.array([1.290994, 1.414214, 1.414214])
    np.testing.assert_allclose(z.to_numpy(), (frame.to_numpy() - means) / sds, rtol=RTOL)


def test_standardize_zero_reference_sd_names_the_column() -> None:
    frame, control, _ = example()
    frame = frame.assign(flat=[0.1, 0.1, 0.1, 0.1, 1.0, 2.0, 3.0, 4.0])
    with pytest.raises(EstimationError, match="'flat'.*standard deviation"):
        standardize(frame, reference=control)


def test_standardize_refuses_a_misaligned_mask() -> None:
    frame, control, _ = example()
    with pytest.raises(ValueError, match="not aligned"):
        standardize(frame, reference=control.reset_index(drop=True))


# ---------------------------------------------------------------- KLK


def test_klk_index_and_effect_of_section_3_3() -> None:
    frame, control, treated = example()
    index = klk_index(frame, reference=control, treated=treated)
    # docs/methods.md §3.3: KLK index vector.
    expected = [-0.858703, -0.364802, 0.364802, 0.858703, 0.600504, 1.352604, 1.565810, 1.846505]
    np.testing.assert_allclose(index.to_numpy(), expected, rtol=RTOL)
    # docs/methods.md §3.3: KLK effect (treated mean - control mean) = 1.341356.
    assert effect(index, treated) == pytest.approx(1.341356, rel=RTOL)


def test_klk_effect_equals_mean_of_standardized_component_effects() -> None:
    # docs/methods.md §3.1 step 4: with no missing component the index effect is the mean of the
    # component effects in control-SD units. The right-hand side is computed here with numpy.
    rng = np.random.default_rng(20240517)
    frame = pd.DataFrame(rng.normal(size=(60, 4)) * [1, 3, 0.5, 10], columns=list("abcd"))
    treated = pd.Series(np.arange(60) % 2 == 1)
    y, t = frame.to_numpy(), treated.to_numpy()
    component_effects = (y[t].mean(axis=0) - y[~t].mean(axis=0)) / y[~t].std(axis=0, ddof=1)
    index = klk_index(frame, reference=~treated, treated=treated)
    assert effect(index, treated) == pytest.approx(component_effects.mean(), rel=1e-12)


def test_klk_missing_components_imputed_at_own_arm_mean_by_hand() -> None:
    frame, control, treated = example()
    frame = frame.astype(float)
    frame.loc[5, "y2"] = np.nan  # treated household
    frame.loc[8, :] = np.nan  # treated household with no valid component
    frame.loc[1, "y3"] = np.nan  # control household
    index = klk_index(frame, reference=control, treated=treated)
    # Hand computation from the §3.3 table (docs/methods.md §3.1 step 3, KLK's rule):
    # y1, y2 keep the control mean/SD of §3.3 (2.5, sqrt(5/3)) and (3, sqrt(2)).
    # y3 control values are now 4, 3, 6: mean 13/3, SD sqrt(7/3).
    # hh5's y2 is imputed at the treated mean of z2 over hh6, hh7: ((6-3) + (5-3))/2/sqrt(2).
    z51 = (3 - 2.5) / math.sqrt(5 / 3)
    z52 = 2.5 / math.sqrt(2)
    z53 = (5 - 13 / 3) / math.sqrt(7 / 3)
    assert index[5] == pytest.approx((z51 + z52 + z53) / 3, rel=1e-12)
    # hh1's y3 is imputed at the control mean of z3, which is 0 by construction.
    z11 = (1 - 2.5) / math.sqrt(5 / 3)
    z12 = (2 - 3) / math.sqrt(2)
    assert index[1] == pytest.approx((z11 + z12 + 0.0) / 3, rel=1e-12)
    assert math.isnan(index[8])
    # Without `treated`, a row averages its valid components only.
    plain = klk_index(frame, reference=control)
    assert plain[5] == pytest.approx((z51 + z53) / 2, rel=1e-12)
    assert math.isnan(plain[8])


def test_klk_direction_minus_one_flips_the_component() -> None:
    frame, control, treated = example()
    flipped = klk_index(frame, reference=control, treated=treated, directions={"y3": -1})
    negated = klk_index(frame.assign(y3=-frame["y3"]), reference=control, treated=treated)
    pd.testing.assert_series_equal(flipped, negated)
    with pytest.raises(ValueError, match="expecting one of 1, -1"):
        klk_index(frame, reference=control, directions={"y3": 2})
    with pytest.raises(ValueError, match="unknown components: y9"):
        klk_index(frame, reference=control, directions={"y9": 1})


def test_klk_does_not_modify_its_input() -> None:
    frame, control, treated = example()
    before = frame.copy()
    klk_index(frame, reference=control, treated=treated, directions={"y1": -1})
    pd.testing.assert_frame_equal(frame, before)


# ---------------------------------------------------------------- ICW


def test_icw_pooled_covariance_matches_section_3_3() -> None:
    frame, control, treated = example()
    unscaled = icw_index(frame, reference=control, rescale=False)
    # docs/methods.md §3.3: weights with full-sample Sigma (n-1).
    np.testing.assert_allclose(unscaled.weights, [-0.740186, 1.258403, 1.101595], rtol=RTOL)
    # docs/methods.md §3.3: unrescaled s.
    expected_s = [-0.499288, -0.372360, 0.440812, 0.430835, 0.853246, 0.763121, 2.010399, 0.821596]
    np.testing.assert_allclose(unscaled.index, expected_s, rtol=RTOL)

    result = icw_index(frame, reference=control)
    # docs/methods.md §3.3: index rescaled to control mean 0, SD 1 (n-1).
    expected = [-0.986885, -0.736001, 0.871303, 0.851582, 1.686513, 1.508374, 3.973725, 1.623955]
    np.testing.assert_allclose(result.index, expected, rtol=RTOL)
    # docs/methods.md §3.3: ICW effect = 2.198142.
    assert effect(result.index, treated) == pytest.approx(2.198142, rel=RTOL)
    assert result.rescaled and result.covariance == "pooled"
    # The negative weight of y1 must be reported (§3.2 step 4); Sigma is well conditioned.
    assert any("negative weight for y1" in w for w in result.warnings)
    assert not any("near-singular" in w for w in result.warnings)


def test_icw_control_covariance_variant_warns_near_singular() -> None:
    frame, control, treated = example()
    result = icw_index(frame, reference=control, covariance="reference")
    # docs/methods.md §3.3: control-group Sigma variant weights and rescaled effect 4.557417.
    np.testing.assert_allclose(result.weights, [-93.384053, 65.501037, 80.114909], rtol=RTOL)
    assert effect(result.index, treated) == pytest.approx(4.557417, rel=RTOL)
    # docs/methods.md §3.3: four control rows for three components make Sigma_C nearly singular.
    assert any("near-singular" in w for w in result.warnings)


def test_icw_missing_components_use_person_specific_denominator_by_hand() -> None:
    # Control rows: y1 = 0, 1, 2 and y2 = 0, 2, 1, so both have mean 1 and SD 1 and
    # z1 = (-1, 0, 1), z2 = (-1, 1, 0). Their correlation is (1 + 0 + 0)/2 = 0.5, so with
    # the reference (control) Sigma = [[1, .5], [.5, 1]] both weights are 1/1.5 = 2/3
    # (docs/methods.md §3.2 step 2: column sums of the inverse).
    frame = pd.DataFrame(
        {
            "y1": [0, 1, 2, 3, np.nan, 2, np.nan],
            "y2": [0, 2, 1, np.nan, 4, 2, np.nan],
        }
    )
    control = pd.Series([True, True, True, False, False, False, False])
    result = icw_index(frame, reference=control, covariance="reference", rescale=False)
    np.testing.assert_allclose(result.weights, [2 / 3, 2 / 3], rtol=1e-12)
    # docs/methods.md §3.2 step 3: s_i averages only the observed components, so row 3 is z1 = 2,
    # row 4 is z2 = 3; complete rows are (z1 + z2)/2; row 6 has nothing and stays NaN.
    expected = [-1.0, 0.5, 0.5, 2.0, 3.0, 1.0, np.nan]
    np.testing.assert_allclose(result.index, expected, rtol=1e-12)
    # Rescaled: control s (-1, .5, .5) has mean 0 and SD sqrt(1.5/2).
    rescaled = icw_index(frame, reference=control, covariance="reference")
    np.testing.assert_allclose(rescaled.index, np.array(expected) / math.sqrt(0.75), rtol=1e-12)
    # KLK on the same data (docs/methods.md §3.1 step 3): treated means of z1 over rows 3, 5 is 1.5,
    # of z2 over rows 4, 5 is 2; so row 3 = (2 + 2)/2, row 4 = (1.5 + 3)/2.
    klk = klk_index(frame, reference=control, treated=~control)
    np.testing.assert_allclose(klk, [-1.0, 0.5, 0.5, 2.0, 2.25, 1.0, np.nan], rtol=1e-12)


def test_icw_rejects_unknown_covariance_choice() -> None:
    frame, control, _ = example()
    with pytest.raises(ValueError, match="expecting one of 'pooled', 'reference'"):
        icw_index(frame, reference=control, covariance="control")  # type: ignore[arg-type]


def test_icw_singular_covariance_is_an_error() -> None:
    frame, control, _ = example()
    with pytest.raises(EstimationError, match="singular"):
        icw_index(frame.assign(y4=frame["y1"] + frame["y2"]), reference=control)


def test_icw_cross_check_against_icw_index_package() -> None:
    # docs/methods.md §3.3: the PyPI `icw-index` package (validated against Stata swindex) gives
    # the same rescaled index with icw_index([y1, y2, y3], reference_mask=control).
    icw = pytest.importorskip("icw")
    frame, control, _ = example()
    theirs = icw.icw_index(
        [frame[c].to_numpy(float) for c in frame], reference_mask=control.to_numpy()
    )
    np.testing.assert_allclose(icw_index(frame, reference=control).index, theirs, rtol=1e-10)

    rng = np.random.default_rng(7)
    base = rng.normal(size=(300, 1))
    data = pd.DataFrame(base + rng.normal(size=(300, 4)), columns=list("abcd"))
    reference = pd.Series(rng.random(300) < 0.5)
    theirs = icw.icw_index([data[c].to_numpy() for c in data], reference_mask=reference.to_numpy())
    np.testing.assert_allclose(icw_index(data, reference=reference).index, theirs, rtol=1e-10)
