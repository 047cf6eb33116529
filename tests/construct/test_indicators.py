"""The income conventions of analysis.construct.indicators, checked against docs/methods.md section 7 by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.construct.indicators import construct
from analysis.inputs.codebook import Codebook, Variable

COMPONENTS = ("wage", "farm")


def codebook() -> Codebook:
    roles = {"wage": "income_component", "farm": "income_component", "size": "household_size",
             "adults": "adults", "children": "children"}  # fmt: skip
    return Codebook(
        variables=tuple(
            Variable(name=n, type="number", sources={"baseline": n, "followup": n}, role=r) for n, r in roles.items()
        )
    )


def round_frame(n: int = 100, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    adults = rng.integers(1, 4, n)
    children = rng.integers(0, 4, n)
    frame = pd.DataFrame(
        {
            "wage": rng.integers(0, 3_000_000, n).astype(float),
            "farm": rng.integers(0, 1_000_000, n).astype(float),
            "adults": adults.astype(float),
            "children": children.astype(float),
            "size": (adults + children).astype(float),
        }
    )
    frame.loc[3, "farm"] = np.nan  # a refused amount: the total is unknown, not smaller
    frame.loc[7, "wage"] = 90_000_000.0  # an outlier for the winsorizing
    return frame


def test_per_capita_adult_equivalent_real_ihs_and_poverty() -> None:
    frame = round_frame()
    out = construct(frame, codebook=codebook(), cpi=106.3, base_cpi=100.0, poverty_line=550_458.0)
    total = frame["wage"] + frame["farm"]
    assert np.isnan(out.loc[3, "income_total"])
    np.testing.assert_allclose(out["income_total"], total)
    np.testing.assert_allclose(out["income_pc"], total / frame["size"])
    ae = 1 + 0.5 * (frame["adults"] - 1) + 0.3 * frame["children"]  # OECD-modified
    np.testing.assert_allclose(out["income_ae"], total / ae)
    np.testing.assert_allclose(out["income_pc_real"], total / frame["size"] * 100.0 / 106.3)
    np.testing.assert_allclose(out["income_pc_ihs"], np.log(out["income_pc"] / 1000 + np.sqrt((out["income_pc"] / 1000) ** 2 + 1)))
    poor = (out["income_pc_real"] < 550_458.0).astype(float).where(out["income_pc_real"].notna())
    pd.testing.assert_series_equal(out["poor"], poor, check_names=False)
    # The worked check of docs/methods.md section 7: 2 adults and 2 children are 2.1 adult equivalents.
    two_two = construct(
        pd.DataFrame({"wage": [2100.0], "farm": [0.0], "adults": [2.0], "children": [2.0], "size": [4.0]}),
        codebook=codebook(),
    )
    assert two_two.loc[0, "income_ae"] == pytest.approx(1000.0)


def test_winsorizing_is_per_round_at_the_99th_percentile() -> None:
    base, follow = round_frame(seed=1), round_frame(seed=2)
    follow[list(COMPONENTS)] *= 1.5
    out_base = construct(base, codebook=codebook())
    out_follow = construct(follow, codebook=codebook())
    for frame, out in ((base, out_base), (follow, out_follow)):
        pc = (frame["wage"] + frame["farm"]) / frame["size"]
        cap = np.quantile(pc.dropna(), 0.99, method="linear")
        np.testing.assert_allclose(out["income_pc_w99"], pc.clip(upper=cap))
        assert out["income_pc_w99"].max() == pytest.approx(cap) and out["income_pc"].max() > cap
    # The docs/methods.md worked check of the percentile definition: 1..99 and 10000 give 198.01.
    values = pd.Series(list(range(1, 100)) + [10_000], dtype=float)
    frame = pd.DataFrame({"wage": values, "farm": 0.0, "adults": 1.0, "children": 0.0, "size": 1.0})
    assert construct(frame, codebook=codebook())["income_pc_w99"].max() == pytest.approx(198.01)


def test_no_poverty_line_no_poor_indicator() -> None:
    assert "poor" not in construct(round_frame(), codebook=codebook()).columns
