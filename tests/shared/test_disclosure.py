"""Disclosure control: primary and complementary suppression, rates, top-coding, and the page scan."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.report.summaries import ATTRITION_KEYS, ATTRITION_TOTALS, attrition_by_arm
from analysis.shared.disclosure import (
    check_min_cell,
    is_small,
    rate_display,
    recoverable,
    safe_statistic,
    scan_html,
    suppress_counts,
    top_code,
)

ONE_WAY = {"baseline": ["panel", "lost"], "followup": ["panel", "new"]}


def test_min_cell_below_five_is_refused() -> None:
    with pytest.raises(ValueError, match="below 5"):
        check_min_cell(4)
    assert check_min_cell(5) == 5


def test_zero_is_published_and_small_counts_are_not() -> None:
    assert not is_small(0, 10)
    assert is_small(1, 10) and is_small(9, 10)
    assert not is_small(10, 10)


def test_a_small_count_takes_its_complement_with_it() -> None:
    # baseline 20 = found 18 + lost 2: hiding 2 alone would leave it as 20 − 18.
    table = suppress_counts(
        {"baseline": 20, "panel": 18, "lost": 2, "new": 0, "followup": 18}, totals=ONE_WAY, min_cell=10
    )
    assert "lost" in table.primary
    assert {"lost", "panel"} <= table.hidden
    # followup 18 = panel + new 0 would give panel back, so one more cell goes.
    assert table.hidden & {"new", "followup"}
    assert not recoverable(list(table.values), ONE_WAY, table.hidden)


def test_nothing_is_hidden_when_every_count_is_large() -> None:
    table = suppress_counts(
        {"baseline": 40, "panel": 28, "lost": 12, "new": 10, "followup": 38}, totals=ONE_WAY, min_cell=10
    )
    assert table.hidden == frozenset()
    assert table.shown("lost") == 12


def test_two_way_table_publishes_lost_and_new_and_cannot_be_recomputed() -> None:
    # Programme: 26 found, 4 lost; comparison: 27 found, 3 lost; nobody new. Households not
    # found are fieldwork counts (docs/disclosure.md, rule 4): published at any size, and
    # nothing needs hiding. (They used to be hidden, with their complements.)
    panel = pd.DataFrame(
        {
            "hh": [f"h{i}" for i in range(60)],
            "treatment": [1.0] * 30 + [0.0] * 30,
            "linkage": ["panel"] * 26 + ["baseline_only"] * 4 + ["panel"] * 27 + ["baseline_only"] * 3,
        }
    )
    table = attrition_by_arm(panel, min_cell=10)
    assert table.values[("lost", "programme")] == 4 and table.values[("lost", "total")] == 7
    assert table.hidden == frozenset()
    # A programme arm of 8: its sizes go, and the comparison arm's with them (the total less
    # the comparison arm would give it back); households lost and new stay published.
    panel = pd.DataFrame(
        {
            "hh": [f"h{i}" for i in range(38)],
            "treatment": [1.0] * 8 + [0.0] * 30,
            "linkage": ["panel"] * 6 + ["baseline_only"] * 2 + ["panel"] * 27 + ["baseline_only"] * 3,
        }
    )
    table = attrition_by_arm(panel, min_cell=10)
    sizes = {(key, arm) for key in ("baseline", "panel", "followup") for arm in ("programme", "comparison")}
    assert table.hidden == sizes
    constraints = [
        ((total, column), [(p, column) for p in parts])
        for column in ("programme", "comparison", "total")
        for total, parts in ATTRITION_TOTALS.items()
    ] + [((k, "total"), [(k, "programme"), (k, "comparison")]) for k in ATTRITION_KEYS]
    assert not recoverable(list(table.values), constraints, table.hidden)


@settings(max_examples=150, deadline=None)
@given(
    found=st.integers(0, 60),
    lost=st.integers(0, 60),
    new=st.integers(0, 60),
    min_cell=st.integers(5, 15),
)
def test_no_hidden_count_is_ever_recoverable(found: int, lost: int, new: int, min_cell: int) -> None:
    values = {"baseline": found + lost, "panel": found, "lost": lost, "new": new, "followup": found + new}
    table = suppress_counts(values, totals=ONE_WAY, min_cell=min_cell)
    assert {k for k, v in values.items() if is_small(v, min_cell)} <= table.hidden
    assert not recoverable(list(values), ONE_WAY, table.hidden)


def test_recoverable_matches_brute_force_on_a_small_table() -> None:
    keys = ["t", "a", "b", "c"]
    totals = {"t": ["a", "b", "c"]}
    for size in range(len(keys) + 1):
        for hidden in itertools.combinations(keys, size):
            # With one equation, a hidden cell is determined exactly when it is the only one hidden.
            expected = set(hidden) if len(hidden) == 1 else set()
            assert recoverable(keys, totals, hidden) == expected


def test_rates_follow_their_counts() -> None:
    assert rate_display(30, 40, min_cell=10) == (0.75, None)
    rate, bound = rate_display(36, 40, min_cell=10)  # 4 lost: hidden, so only a bound
    assert rate is None and bound == pytest.approx(31 / 40)
    assert rate_display(3, 40, min_cell=10) == (None, None)  # the numerator itself is small
    assert rate_display(8, 9, min_cell=10) == (None, None)  # the base is small


def test_statistics_need_min_cell_values() -> None:
    value, n = safe_statistic(pd.Series([1.0] * 9 + [np.nan]), statistic="mean", min_cell=10)
    assert np.isnan(value) and n == 9
    value, n = safe_statistic(pd.Series(range(10), dtype=float), statistic="median", min_cell=10)
    assert value == 4.5 and n == 10


def test_top_coding_caps_only_the_display() -> None:
    data = pd.Series([1.0] * 99 + [1000.0])
    capped, cap = top_code(data, quantile=0.99)
    assert capped.max() == cap < 1000
    assert data.max() == 1000  # the input is not touched


def test_scan_finds_personal_values_small_counts_and_small_bases() -> None:
    page = (
        "<p>Budi Santoso lives here. Phone 081234567890.</p>"
        '<table><tr><td class="n">7</td><td class="n">12</td><td class="n suppressed">hidden</td></tr></table>'
        '<p>Median <span class="stat" data-base="6">Rp 800.000</span>; 3 households moved.</p>'
    )
    findings = scan_html(page, min_cell=10, forbidden=["Budi Santoso", "081234567890", "11.1", "Ani"])
    kinds = sorted(f.kind for f in findings)
    assert kinds == ["personal_data", "personal_data", "small_base", "small_count", "small_count_in_text"]
    assert all("Budi" not in f.detail and "0812345" not in f.detail for f in findings)  # never echoes them


def test_scan_passes_a_clean_page_and_ignores_script_text() -> None:
    page = (
        '<p><span class="n">20</span> households; <span class="n suppressed">fewer than 10</span> lost; '
        '<span class="n">0</span> new.</p><script>var x = "3 households";</script>'
    )
    assert scan_html(page, min_cell=10) == []
