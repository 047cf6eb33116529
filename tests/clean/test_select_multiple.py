"""select_multiple: summary and dummies, in every export spelling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.clean.select_multiple import convert_select_multiple, dummy_columns
from analysis.errors import InputError
from analysis.inputs.codebook import Variable

CHOICES = ("tv", "motor", "sepeda", "hp")
ASSETS = Variable(name="assets", type="select_multiple", sources={"baseline": "assets"}, categories=CHOICES)


def convert(frame: pd.DataFrame, variable: Variable = ASSETS, skip: np.ndarray | None = None):
    skip = np.zeros(len(frame), dtype=bool) if skip is None else skip
    return convert_select_multiple(frame, variable, source="assets", skip=skip, file="baseline.csv")


def test_dummy_spellings_of_kobo_odk_and_surveycto() -> None:
    columns = ["assets", "assets/tv", "assets-motor", "assets_sepeda", "assets_count", "assetsx"]
    assert dummy_columns(columns, "assets", CHOICES) == {
        "assets/tv": "tv",
        "assets-motor": "motor",
        "assets_sepeda": "sepeda",
    }


def test_summary_is_normalised_to_codebook_order_and_logged() -> None:
    result = convert(pd.DataFrame({"assets": ["motor TV", "hp", ""]}))
    assert result.columns["assets"].tolist() == ["tv motor", "hp", None]
    assert result.rewritten.tolist() == [True, False, False]
    assert result.columns["assets_hp"].tolist()[:2] == [0.0, 1.0]


def test_recode_maps_old_values_and_unknown_ones_quarantine() -> None:
    variable = Variable(
        name="assets", type="select_multiple", sources={}, categories=CHOICES, recode={"televisi": "tv"}
    )
    frame = pd.DataFrame({"assets": ["televisi", "tv", "radio", "motor", "hp"]})
    result = convert(frame, variable)
    assert result.columns["assets"].tolist()[:2] == ["tv", "tv"]
    assert result.unknown.tolist() == [False, False, True, False, False]


def test_skipped_rows_are_not_checked_against_the_dummies() -> None:
    frame = pd.DataFrame({"assets": ["-99", "tv"], "assets/tv": ["1", "1"]})
    result = convert(frame, skip=np.array([True, False]))
    assert result.answered.tolist() == [False, True]
    assert np.isnan(result.columns["assets_tv"].iloc[0])


def test_a_ticked_dummy_on_an_unanswered_row_disagrees() -> None:
    frame = pd.DataFrame({"assets": ["", "tv"], "assets/tv": ["1", "1"]})
    with pytest.raises(
        InputError, match=r"baseline.csv row 2 columns assets vs assets/tv: summary and dummy"
    ):
        convert(frame)


def test_mostly_unknown_words_without_spaces_are_refused_too() -> None:
    frame = pd.DataFrame({"assets": ["Televisi", "Motor", "Radio"]})
    with pytest.raises(InputError, match="2 of 3 answers hold choices that are not in the codebook"):
        convert(frame)


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sets(st.sampled_from(CHOICES), min_size=1)), min_size=1, max_size=30))
def test_summary_and_dummies_give_the_same_answers(answers: list[set[str] | None]) -> None:
    summary = ["" if a is None else " ".join(sorted(a)) for a in answers]
    dummies = {f"assets/{c}": ["" if a is None else str(int(c in a)) for a in answers] for c in CHOICES}
    both = convert(pd.DataFrame({"assets": summary, **dummies}))
    only_summary = convert(pd.DataFrame({"assets": summary}))
    only_dummies = convert(pd.DataFrame(dummies))
    for result in (both, only_summary, only_dummies):
        assert result.answered.tolist() == [a is not None for a in answers]
        for choice in CHOICES:
            expected = [np.nan if a is None else float(choice in a) for a in answers]
            np.testing.assert_array_equal(result.columns[f"assets_{choice}"].to_numpy(), expected)
    assert both.columns["assets"].tolist() == only_dummies.columns["assets"].tolist()
