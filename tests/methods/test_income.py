"""Income and poverty conventions against docs/methods.md §7."""

from __future__ import annotations

import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from analysis.inputs.reference import poverty_lines
from analysis.methods.income import (
    deflate,
    fgt,
    ihs,
    oecd_modified_scale,
    oecd_original_scale,
    square_root_scale,
    winsorize_upper,
)

# ---------------------------------------------------------------- equivalence scales


def test_equivalence_scales_two_adults_two_children() -> None:
    # docs/methods.md §7: 2 adults + 2 children give AE 2.1 (OECD-modified), 2.7 (original OECD)
    # and 2.0 (square root).
    assert oecd_modified_scale(2, 2) == pytest.approx(2.1, rel=1e-12)
    assert oecd_original_scale(2, 2) == pytest.approx(2.7, rel=1e-12)
    assert square_root_scale(2, 2) == pytest.approx(2.0, rel=1e-12)


def test_oecd_modified_scale_on_series_keeps_index_and_missing() -> None:
    adults = pd.Series([1, 2, 3, np.nan], index=list("abcd"))
    children = pd.Series([0, 2, 1, 1], index=list("abcd"))
    scale = oecd_modified_scale(adults, children)
    # docs/methods.md §7 formula by hand: 1; 1 + .5 + .6 = 2.1; 1 + 1 + .3 = 2.3; missing stays missing.
    np.testing.assert_allclose(scale, [1.0, 2.1, 2.3, np.nan], rtol=1e-12)
    assert list(scale.index) == list("abcd")


@pytest.mark.parametrize(("adults", "children"), [(0, 2), (-1, 0), (2, -1), (1.5, 0)])
def test_equivalence_scale_rejects_impossible_households(adults: float, children: float) -> None:
    with pytest.raises(ValueError):
        oecd_modified_scale(adults, children)


# ---------------------------------------------------------------- winsorizing


def test_winsorize_p99_of_one_to_99_plus_10000() -> None:
    values = pd.Series([*range(1, 100), 10000], name="income", dtype=float)
    before = values.copy()
    out = winsorize_upper(values)
    # docs/methods.md §7: numpy "linear" 99th percentile of 1..99 plus 10000 is 198.01.
    assert out.max() == pytest.approx(198.01, rel=1e-9)
    assert (out.iloc[:99] == values.iloc[:99]).all()
    assert out.name == "income"
    pd.testing.assert_series_equal(values, before)  # input untouched
    assert out is not values


def test_winsorize_per_round_by_hand() -> None:
    values = pd.Series([*range(1, 100), 10000, *range(1, 11)], dtype=float)
    rounds = pd.Series(["baseline"] * 100 + ["endline"] * 10)
    values.iloc[3] = np.nan
    out = winsorize_upper(values, by=rounds)
    # Per round (docs/methods.md §7). Endline 1..10: position (10 - 1) * 0.99 = 8.91, so the cap is
    # 9 + 0.91 * (10 - 9) = 9.91. Baseline without its 4: position 98 * .99 = 97.02 of the 99
    # remaining values, 99 + 0.02 * (10000 - 99) = 297.02.
    assert out.iloc[-1] == pytest.approx(9.91, rel=1e-9)
    assert out.iloc[99] == pytest.approx(297.02, rel=1e-9)
    assert out.iloc[100:109].tolist() == [float(v) for v in range(1, 10)]
    assert math.isnan(out.iloc[3])


def test_winsorize_weighted_by_hand() -> None:
    values = pd.Series([1.0, 2.0, 3.0, 4.0, 100.0])
    weights = pd.Series([1.0, 1.0, 1.0, 1.0, 4.0])
    # Weighted inverted CDF: total weight 8, q = 0.45 needs cumulative weight 3.6; the
    # cumulative weights are 1, 2, 3, 4, 8, so the cap is the value 4.
    out = winsorize_upper(values, q=0.45, weights=weights)
    assert out.tolist() == [1.0, 2.0, 3.0, 4.0, 4.0]


def test_winsorize_integer_weights_equal_repeated_rows() -> None:
    rng = np.random.default_rng(3)
    values = pd.Series(rng.lognormal(size=50))
    counts = pd.Series(rng.integers(1, 5, size=50))
    expanded = np.repeat(values.to_numpy(), counts.to_numpy())
    cap = np.quantile(expanded, 0.9, method="inverted_cdf")
    out = winsorize_upper(values, q=0.9, weights=counts.astype(float))
    assert out.max() == cap
    assert (out == np.minimum(values, cap)).all()


def test_winsorize_rejects_bad_arguments() -> None:
    values = pd.Series([1.0, 2.0])
    with pytest.raises(ValueError, match="quantile"):
        winsorize_upper(values, q=99)
    with pytest.raises(ValueError, match="non-negative"):
        winsorize_upper(values, weights=pd.Series([1.0, -1.0]))


# ---------------------------------------------------------------- IHS, deflation


def test_ihs_values() -> None:
    # docs/methods.md §7: asinh(100) = 5.298342 (close to ln 200 = 5.298317); defined at 0.
    assert ihs(100) == pytest.approx(5.298342, rel=1e-6)
    assert ihs(100) != pytest.approx(math.log(200), rel=1e-6)
    assert ihs(0) == 0.0
    series = ihs(pd.Series([0.0, 100.0], index=["a", "b"]))
    assert series["b"] == pytest.approx(5.298342, rel=1e-6)


def test_deflate_to_base_prices_by_hand() -> None:
    # docs/methods.md §7: real = nominal * CPI_base / CPI.
    assert deflate(110.0, cpi=110.0, base_cpi=100.0) == pytest.approx(100.0)
    nominal = pd.Series([200.0, 300.0], index=[10, 11])
    cpi = pd.Series([125.0, 100.0], index=[10, 11])
    np.testing.assert_allclose(deflate(nominal, cpi=cpi, base_cpi=100.0), [160.0, 300.0])
    with pytest.raises(ValueError, match="positive"):
        deflate(nominal, cpi=0.0, base_cpi=100.0)


# ---------------------------------------------------------------- FGT


def test_fgt_by_hand() -> None:
    income = pd.Series([50.0, 100.0, 150.0, 80.0])
    # docs/methods.md §7 formula, z = 100: the poor are 50 and 80 (100 is at the line, not below).
    # P0 = 2/4; P1 = (.5 + .2)/4 = .175; P2 = (.25 + .04)/4 = .0725.
    assert fgt(income, line=100.0, alpha=0) == pytest.approx(0.5)
    assert fgt(income, line=100.0, alpha=1) == pytest.approx(0.175)
    assert fgt(income, line=100.0, alpha=2) == pytest.approx(0.0725)
    # Weights (1, 1, 1, 2): P0 = 3/5, P1 = (.5 + .4)/5 = .18, P2 = (.25 + .08)/5 = .066.
    w = pd.Series([1.0, 1.0, 1.0, 2.0])
    assert fgt(income, line=100.0, alpha=0, weights=w) == pytest.approx(0.6)
    assert fgt(income, line=100.0, alpha=1, weights=w) == pytest.approx(0.18)
    assert fgt(income, line=100.0, alpha=2, weights=w) == pytest.approx(0.066)
    # Household-specific lines: 80 against a line of 60 is not poor, so P0 = 1/4.
    lines = pd.Series([100.0, 100.0, 100.0, 60.0])
    assert fgt(income, line=lines, alpha=0) == pytest.approx(0.25)


def test_fgt_rejects_bad_alpha_and_missing_income() -> None:
    with pytest.raises(ValueError, match="expecting one of 0, 1, 2"):
        fgt(pd.Series([1.0]), line=2.0, alpha=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing"):
        fgt(pd.Series([1.0, np.nan]), line=2.0, alpha=0)


# ---------------------------------------------------------------- poverty lines


def test_poverty_lines_match_section_7_table() -> None:
    table = poverty_lines()
    assert list(table.columns) == ["round", "national", "urban", "rural", "food", "source"]
    rows = {r["round"]: r for _, r in table.iterrows()}
    # docs/methods.md §7 table "BPS Garis Kemiskinan", Rp per capita per month (press reports).
    expected = {
        "Mar 2022": (505469, None, None, None, "okezone, 17-07-2022"),
        "Mar 2023": (550458, 569299, 525050, None, "bisnis.com, 17-07-2023"),
        "Mar 2024": (582932, 601871, 556874, 433906, "okezone, 02-07-2024; indotoday.id"),
        "Sep 2024": (595242, None, None, 443433, "emitennews / bloombergtechnoz, 15-01-2025"),
        "Mar 2025": (609160, 629561, 580349, 454299, "antaranews (Jabar), 25-07-2025"),
    }
    assert list(rows) == list(expected)
    for round_, (national, urban, rural, food, source) in expected.items():
        row = rows[round_]
        for column, value in zip(
            ("national", "urban", "rural", "food"), (national, urban, rural, food), strict=True
        ):
            if value is None:
                assert pd.isna(row[column]), (round_, column)
            else:
                assert row[column] == value, (round_, column)
        assert row["source"] == source
    assert any("press reports" in note for note in table.attrs["notes"])


def test_poverty_lines_file_is_package_data() -> None:
    path = resources.files("analysis").joinpath("data").joinpath("bps_poverty_lines.csv")
    assert path.is_file()
    assert "national" in path.read_text(encoding="utf-8")
