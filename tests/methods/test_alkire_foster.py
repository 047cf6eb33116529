"""Alkire–Foster, A-WEAI and GPI against the worked examples of docs/methods.md §8.5."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.errors import EstimationError
from analysis.methods.alkire_foster import (
    A_WEAI_WEIGHTS,
    a_weai,
    af_scores,
    alkire_foster,
    gpi,
    weai_headline,
)

RTOL = 1e-6
INDICATORS = ["input", "own", "credit", "income", "group", "work"]
# docs/methods.md §8.2: A-WEAI weights, as floats (the module's constant holds fractions).
FLOAT_WEIGHTS = dict(zip(INDICATORS, [1 / 5, 2 / 15, 1 / 15, 1 / 5, 1 / 5, 1 / 5], strict=True))


def four_women() -> pd.DataFrame:
    """Return the adequacy vectors of the 4-women A-WEAI example (docs/methods.md §8.5)."""
    return pd.DataFrame(
        [
            [1, 1, 1, 1, 1, 1],
            [1, 1, 0, 1, 1, 1],
            [0, 1, 1, 1, 0, 1],
            [0, 0, 0, 1, 0, 0],
        ],
        columns=INDICATORS,
        index=pd.Index(["w1", "w2", "w3", "w4"], name="woman"),
    )


def test_a_weai_weights_are_those_of_section_8_2() -> None:
    # docs/methods.md §8.2: (1/5, 2/15, 1/15, 1/5, 1/5, 1/5), summing to 1.
    assert list(A_WEAI_WEIGHTS) == INDICATORS
    assert list(A_WEAI_WEIGHTS.values()) == [
        Fraction(1, 5),
        Fraction(2, 15),
        Fraction(1, 15),
        Fraction(1, 5),
        Fraction(1, 5),
        Fraction(1, 5),
    ]


@pytest.mark.parametrize("weights", [A_WEAI_WEIGHTS, FLOAT_WEIGHTS], ids=["fractions", "floats"])
def test_a_weai_four_women(weights: dict[str, float]) -> None:
    result = alkire_foster(four_women(), weights=weights, k=0.2)
    # docs/methods.md §8.5 table: c = (0, 1/15, 0.40, 0.80); disempowered (F, F, T, T).
    np.testing.assert_allclose(result.scores, [0.0, 1 / 15, 0.4, 0.8], rtol=1e-12, atol=1e-15)
    assert result.disempowered.tolist() == [False, False, True, True]
    # docs/methods.md §8.5: H = 0.5, A = 0.6, M0 = 0.30, 5DE = 0.70.
    assert result.headcount_ratio == pytest.approx(0.5, rel=RTOL)
    assert result.intensity == pytest.approx(0.6, rel=RTOL)
    assert result.m0 == pytest.approx(0.30, rel=RTOL)
    assert result.empowerment_index == pytest.approx(0.70, rel=RTOL)
    assert (result.n, result.n_dropped) == (4, 0)


def test_a_weai_convenience_equals_generic_call() -> None:
    result = a_weai(four_women())
    # docs/methods.md §8.5: 5DE = 0.70 for the 4-women example.
    assert result.empowerment_index == pytest.approx(0.70, rel=RTOL)
    assert result.k == 0.2


def test_decomposition_sums_to_m0() -> None:
    result = a_weai(four_women())
    # Censored headcounts by hand from the §8.5 table: only women 3 and 4 are disempowered.
    # input: both; own: w4; credit: w4 (w2's credit gap is censored); income: none;
    # group: both; work: w4 -- out of 4 women.
    expected_h = [0.5, 0.25, 0.25, 0.0, 0.5, 0.25]
    np.testing.assert_allclose(result.censored_headcounts, expected_h, rtol=1e-12)
    # Uncensored adds w2's credit gap: credit = 2/4.
    np.testing.assert_allclose(
        result.uncensored_headcounts, [0.5, 0.25, 0.5, 0.0, 0.5, 0.25], rtol=1e-12
    )
    # docs/methods.md §8.4: M0 = sum_j w_j h_j; contributions w_j h_j / M0 sum to 1.
    assert float((result.weights * result.censored_headcounts).sum()) == pytest.approx(result.m0)
    assert result.m0 == pytest.approx(0.30, rel=RTOL)  # docs/methods.md §8.5
    assert result.contributions.sum() == pytest.approx(1.0)
    # By hand: input contributes (1/5 * 0.5)/0.3 = 1/3.
    assert result.contributions["input"] == pytest.approx(1 / 3)


def test_gpi_two_couples_and_headline_weai() -> None:
    # docs/methods.md §8.5 (weaiR test-compute_gpi.R case): women c = (1/3, 1), men c = (0, 0).
    women = pd.Series([1 / 3, 1.0], index=["HH1", "HH2"])
    men = pd.Series([0.0, 0.0], index=["HH1", "HH2"])
    result = gpi(women, men, cutoff=0.8)
    # docs/methods.md §8.5: gaps (1/3 - 0.2)/0.8 = 0.16667 and (1 - 0.2)/0.8 = 1.
    np.testing.assert_allclose(result.gap, [1 / 6, 1.0], rtol=1e-12)
    # docs/methods.md §8.5: H_GPI = 1, I_GPI = 0.583333, GPI = 0.416667.
    assert result.h_gpi == pytest.approx(1.0, rel=RTOL)
    assert result.i_gpi == pytest.approx(0.583333, rel=RTOL)
    assert result.gpi == pytest.approx(0.416667, rel=RTOL)
    # docs/methods.md §8.5: WEAI = 0.9 * 0.70 + 0.1 * 0.416667 = 0.671667, with the 5DE of the
    # 4-women example.
    five_de = a_weai(four_women()).empowerment_index
    assert weai_headline(five_de, result.gpi) == pytest.approx(0.671667, rel=RTOL)


def test_gpi_without_any_household_lacking_parity_is_one() -> None:
    # weaiR convention (compute_gpi.R): I_GPI = 0 when no household lacks parity, so GPI = 1.
    result = gpi(pd.Series([0.0, 0.5]), pd.Series([0.0, 0.6]))
    assert (result.h_gpi, result.i_gpi, result.gpi) == (0.0, 0.0, 1.0)


def test_weair_5de_unit_test() -> None:
    # docs/methods.md §8.5 (weaiR test-compute_5de.R): dscore (0.4, 0.3, 0, 0.5) with empowered
    # (0, 0, 1, 0). With ten indicators at 1/10 (pro-WEAI core, §8.3) those scores are 4, 3,
    # 0 and 5 inadequacies.
    names = [f"i{j}" for j in range(10)]
    rows = [[0] * n + [1] * (10 - n) for n in (4, 3, 0, 5)]
    result = alkire_foster(
        pd.DataFrame(rows, columns=names), weights=dict.fromkeys(names, 0.1), k=0.2
    )
    assert result.disempowered.tolist() == [True, True, False, True]
    # docs/methods.md §8.5: H = 0.75, M0 = 0.30, A = 0.40.
    assert result.headcount_ratio == pytest.approx(0.75, rel=RTOL)
    assert result.m0 == pytest.approx(0.30, rel=RTOL)
    assert result.intensity == pytest.approx(0.40, rel=RTOL)


def test_float_tie_at_the_cutoff_is_not_disempowered() -> None:
    # docs/methods.md §8.4: 2/15 + 1/15 = 0.2 is a float tie. Written as 1 - 0.8 the cutoff is
    # 0.19999999999999996, below the double 0.2, so a strict `c > k` would misclassify.
    assert 0.2 > 1 - 0.8
    tie = pd.DataFrame([[1, 0, 0, 1, 1, 1]], columns=INDICATORS)
    for weights in (A_WEAI_WEIGHTS, FLOAT_WEIGHTS):
        for k in (0.2, 1 - 0.8):
            result = alkire_foster(tie, weights=weights, k=k)
            assert result.disempowered.tolist() == [False], (weights, k)
            assert result.headcount_ratio == 0.0
    # Exact fractions give the nearest double to 1/5 whatever the order of the indicators.
    reordered = {c: A_WEAI_WEIGHTS[c] for c in reversed(INDICATORS)}
    assert af_scores(tie[list(reordered)], weights=reordered).iloc[0] == 0.2
    # GPI: a woman exactly at the cutoff is not disempowered, so there is parity.
    parity = gpi(pd.Series([2 / 15 + 1 / 15]), pd.Series([0.0]), cutoff=0.8)
    assert parity.lacks_parity.tolist() == [False]
    assert parity.gpi == 1.0


def test_rows_with_missing_indicators_are_dropped_and_counted() -> None:
    adequacy = four_women().astype(float)
    adequacy.loc["w5"] = [0, np.nan, 0, 0, 0, 0]
    result = a_weai(adequacy)
    assert (result.n, result.n_dropped) == (4, 1)
    # docs/methods.md §8.5: unchanged aggregates for the four complete women.
    assert result.m0 == pytest.approx(0.30, rel=RTOL)
    assert math.isnan(result.scores["w5"])
    assert result.disempowered.isna().tolist() == [False] * 4 + [True]


def test_sample_weights_by_hand() -> None:
    weights = pd.Series([1.0, 1.0, 1.0, 3.0], index=four_women().index)
    result = a_weai(four_women(), sample_weights=weights)
    # By hand (docs/methods.md §8.4 as weighted means): total weight 6; H = (1 + 3)/6;
    # M0 = (0.4 + 3 * 0.8)/6; A = (0.4 + 3 * 0.8)/4.
    assert result.headcount_ratio == pytest.approx(4 / 6)
    assert result.m0 == pytest.approx(2.8 / 6)
    assert result.intensity == pytest.approx(0.7)


def test_nobody_disempowered() -> None:
    result = a_weai(four_women().iloc[:2])
    assert (result.headcount_ratio, result.m0) == (0.0, 0.0)
    assert math.isnan(result.intensity)
    assert result.contributions.isna().all()


def test_invalid_inputs_are_refused() -> None:
    adequacy = four_women()
    with pytest.raises(ValueError, match="sum to 1"):
        alkire_foster(adequacy, weights={**FLOAT_WEIGHTS, "work": 0.3}, k=0.2)
    with pytest.raises(ValueError, match="not weighted: extra"):
        alkire_foster(adequacy.assign(extra=1), weights=FLOAT_WEIGHTS, k=0.2)
    with pytest.raises(ValueError, match="'own' has values other than 0, 1"):
        alkire_foster(adequacy.assign(own=2), weights=FLOAT_WEIGHTS, k=0.2)
    with pytest.raises(ValueError, match="same households"):
        gpi(pd.Series([0.1], index=["a"]), pd.Series([0.1], index=["b"]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        weai_headline(1.2, 0.5)
    with pytest.raises(EstimationError):
        a_weai(adequacy.astype(float) * np.nan)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 1), min_size=6, max_size=6), min_size=1, max_size=30),
    st.sampled_from([0.0, 0.2, 1 / 3, 0.5]),
)
def test_identities_of_section_8_4(rows: list[list[int]], k: float) -> None:
    result = alkire_foster(pd.DataFrame(rows, columns=INDICATORS), weights=A_WEAI_WEIGHTS, k=k)
    # docs/methods.md §8.4: M0 = H * A, 5DE = (1 - H) + H * (1 - A), M0 = sum_j w_j h_j.
    if result.headcount_ratio > 0:
        assert result.m0 == pytest.approx(result.headcount_ratio * result.intensity)
        assert result.empowerment_index == pytest.approx(
            (1 - result.headcount_ratio) + result.headcount_ratio * (1 - result.intensity)
        )
    assert float((result.weights * result.censored_headcounts).sum()) == pytest.approx(
        result.m0, abs=1e-12
    )
