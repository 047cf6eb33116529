"""One disclosure policy for every published file: the public tier hides, the internal tier keeps.

The study is the session's shrunk demo (``tiers_run`` in tests/conftest.py, built by
tests/tiers_demo.py): one programme village has a single household and one comparison village
three; the estimate stage then writes ``tables/`` (public) and ``<processed>/internal/`` (for the
evaluator). docs/disclosure.md states the policy tested here.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers_demo import MIN_CELL, Run

from analysis.config import IMPACT_COLUMNS
from analysis.estimate.latex import attrition_latex
from analysis.inputs.study import load_study
from analysis.report.index_page import index_page
from analysis.shared.disclosure import (
    COMPLEMENTARY,
    FIELDWORK_COUNTS,
    SMALL,
    disclosure_rule,
    is_small,
    public_tables,
    recoverable,
    scan_html,
    suppress_arms,
    suppress_counts,
    village_suppression,
)
from analysis.stages import estimate_stage

#: Columns that count the households of a group (a village, an arm, a sample): published only when
#: zero or at least min_cell. Fieldwork and cleaning counts (FIELDWORK_COUNTS) are left out, and so
#: is villages.csv's ``panel`` (found again), which is its published baseline minus its published
#: households not found.
GROUP_COUNTS = {
    "n", "n_obs", "n_baseline", "n_treatment", "n_comparison", "baseline", "followup", "n_reference",
    "n_assigned", "n_observed", "households",
}  # fmt: skip


@pytest.fixture
def run(tiers_run: Run) -> Run:
    """The session's shrunk study (read-only: a test that writes copies it first)."""
    return tiers_run


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / name, dtype={"village": str})


def _villages(run: Run, tier: str) -> pd.DataFrame:
    return _read(run.public if tier == "public" else run.internal, "villages.csv").set_index("village")


def test_both_tiers_hold_the_same_files_and_columns(run: Run) -> None:
    public, internal = run.public, run.internal
    names = sorted(p.name for p in public.iterdir())
    assert names == sorted(p.name for p in internal.iterdir())
    assert {"villages.csv", "linkage.csv", "attrition.csv", "alkire_foster.csv", "impact.tex"} <= set(names)
    for name in (n for n in names if n.endswith(".csv")):
        assert list(_read(public, name).columns) == list(_read(internal, name).columns), name
    assert tuple(_read(public, "impact.csv").columns) == IMPACT_COLUMNS
    # The internal tier sits in the processed folder, never in the output folder.
    assert not internal.is_relative_to(public.parent / "tables")


def test_no_public_table_shows_a_group_count_or_statistic_of_fewer_than_min_cell_households(
    run: Run,
) -> None:
    public = run.public
    checked = 0
    for path in sorted(public.glob("*.csv")):
        frame = pd.read_csv(path)
        for column in sorted(GROUP_COUNTS & set(frame.columns)):
            values = pd.to_numeric(frame[column], errors="coerce")
            if path.name == "linkage.csv":
                values = values.where(frame["linkage"] == "panel")
            small = [v for v in values.dropna() if is_small(v, MIN_CELL)]
            assert not small, f"{path.name}:{column} publishes {small}"
            checked += 1
    assert checked >= 10
    # Every statistic of a village rests on at least min_cell households of its round.
    shown, full = _villages(run, "public"), _villages(run, "internal")
    for round_name in ("baseline", "followup"):
        for column in ("income_pc", "participation_score"):
            present = shown[f"{column}_{round_name}"].notna()
            assert (full.loc[present[present].index, round_name] >= MIN_CELL).all()
    # The LaTeX attrition table counts baseline households per arm: none below min_cell.
    for line in (public / "attrition.tex").read_text().splitlines():
        cells = line.removesuffix(r" \\").split(" & ")
        if len(cells) == 4 and cells[1].replace("{,}", "").isdigit():
            assert not is_small(int(cells[1].replace("{,}", "")), MIN_CELL), line


def test_the_small_villages_are_hidden_in_public_and_kept_internally(run: Run) -> None:
    shown, full = _villages(run, "public"), _villages(run, "internal")
    tiny, three = run.tiny, run.three
    assert full.loc[tiny, "baseline"] == 1 and full.loc[three, "baseline"] == 3
    statistics = ["income_pc_baseline", "income_pc_followup", "participation_score_followup"]
    assert full.loc[[tiny, three], statistics].notna().all().all()  # the evaluator sees them
    hidden = ["panel", "baseline", "followup", "attrition_rate", *statistics]
    assert shown.loc[[tiny, three], hidden].isna().all().all()
    assert shown.loc[tiny, "suppressed"] == SMALL and shown.loc[three, "suppressed"] == SMALL
    assert (full["suppressed"].fillna("") == shown["suppressed"].fillna("")).all()


def test_fieldwork_counts_are_the_same_in_both_tiers(run: Run) -> None:
    shown, full = _villages(run, "public"), _villages(run, "internal")
    for column in ("baseline_only", "followup_only"):
        assert column in FIELDWORK_COUNTS
        assert (shown[column] == full[column]).all()
    for name in ("row_accounting.csv", "warnings.csv"):
        assert _read(run.public, name).equals(_read(run.internal, name))
    attrition = [_read(folder, "attrition.csv") for folder in (run.public, run.internal)]
    assert attrition[0]["n_attrited"].equals(attrition[1]["n_attrited"])


def test_complementary_suppression_cannot_be_undone_from_the_arm_totals(run: Run) -> None:
    shown = _villages(run, "public").reset_index()
    linkage = _read(run.public, "linkage.csv")
    arm_of = {0: "comparison", 1: "treatment"}
    hidden_villages = shown.loc[shown["baseline"].isna(), "village"].tolist()
    # Each arm with a small village hides a second one, so that neither is its arm's total less
    # the others.
    assert set(shown.loc[shown["suppressed"] == COMPLEMENTARY, "treatment"]) == {0, 1}
    # The published system: every village's baseline adds up to its arm's (found + not found in
    # linkage.csv, empty when hidden), and the arms to all households.
    keys = [*shown["village"], "comparison", "treatment", "all"]
    totals = [
        (arm, shown.loc[shown["treatment"] == code, "village"].tolist()) for code, arm in arm_of.items()
    ] + [("all", ["comparison", "treatment"])]
    hidden_arms = set(linkage.loc[(linkage["linkage"] == "panel") & linkage["households"].isna(), "arm"])
    assert recoverable(keys, totals, [*hidden_villages, *hidden_arms]) == set()
    # A lone hidden village would have been given back.
    assert recoverable(keys, totals, [run.tiny]) == {run.tiny}


def test_the_index_shows_real_response_rates(run: Run) -> None:
    study = load_study(run.study)
    html = index_page(study, run.public, [], has_programme=False)
    assert scan_html(html, min_cell=MIN_CELL) == []
    assert "≥" not in html
    full = _villages(run, "internal")
    shown = _villages(run, "public")
    for village, rec in shown.iterrows():
        row = re.search(rf'<tr [^>]*><td data-value="{village}">.*?</tr>', html)
        assert row is not None
        if pd.isna(rec["baseline"]):
            assert 'data-status="suppressed"' in row.group(0)
            continue
        rate = full.at[str(village), "panel"] / full.at[str(village), "baseline"]
        assert f'data-value="{rate}"' in row.group(0), (village, rate)
    assert disclosure_rule("id", min_cell=MIN_CELL)[:40] in html


def test_the_internal_tier_can_be_left_out(run: Run, tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    shutil.copytree(run.processed, processed, ignore=shutil.ignore_patterns("internal"))
    estimate_stage(run.study, processed, tmp_path / "tables", internal=False)
    assert not (processed / "internal").exists()
    for name in ("villages.csv", "impact.csv", "alkire_foster.csv"):
        assert (tmp_path / "tables" / name).read_bytes() == (run.public / name).read_bytes()


# ---------------------------------------------------------------------------------------------
# The policy's pieces, on hand-made tables


def test_fieldwork_cells_are_published_and_take_no_complement() -> None:
    totals = {"baseline": ["panel", "lost"], "followup": ["panel", "new"]}
    # 36 found + 4 lost: the 4 are a fieldwork count, so nothing is hidden.
    values = {"baseline": 40, "panel": 36, "lost": 4, "new": 2, "followup": 38}
    assert suppress_counts(values, totals=totals, min_cell=10, publish={"lost", "new"}).hidden == frozenset()
    # A village of 6: its baseline goes, and with it found again and follow-up, never lost or new.
    values = {"baseline": 6, "panel": 5, "lost": 1, "new": 20, "followup": 25}
    table = suppress_counts(values, totals=totals, min_cell=10, publish={"lost", "new"})
    assert table.hidden == {"baseline", "panel", "followup"}
    assert not recoverable(list(values), totals, table.hidden)


@settings(max_examples=120, deadline=None)
@given(
    sizes=st.lists(
        st.tuples(st.integers(0, 1), st.integers(1, 30), st.integers(0, 3)), min_size=2, max_size=12
    )
)
def test_no_hidden_village_or_arm_is_ever_recoverable(sizes: list[tuple[int, int, int]]) -> None:
    villages = pd.DataFrame(
        [
            {"village": f"v{i}", "treatment": float(t), "panel": n, "baseline_only": lost, "followup_only": 0}
            for i, (t, n, lost) in enumerate(sizes)
        ]
    )
    linkage = pd.DataFrame(
        [
            {
                "arm": {0.0: "comparison", 1.0: "treatment"}[float(t)],
                "linkage": status,
                "households": int(part[status].sum()),
            }
            for t, part in villages.groupby("treatment")
            for status in ("panel", "baseline_only", "followup_only")
        ]
    )
    arms = suppress_arms(linkage, min_cell=MIN_CELL)
    reason = village_suppression(villages, min_cell=MIN_CELL, hidden_arms=arms.hidden)
    baseline = villages["panel"] + villages["baseline_only"]
    assert (reason[baseline.map(lambda v: is_small(v, MIN_CELL))] == SMALL).all()
    present = [a for a in ("comparison", "treatment") if a in set(linkage["arm"])]
    keys = [*villages["village"], *present, "all"]
    totals = [
        (arm, villages.loc[villages["treatment"] == code, "village"].tolist())
        for code, arm in ((0.0, "comparison"), (1.0, "treatment"))
        if arm in present
    ] + [("all", present)]
    hidden = [*villages.loc[reason != "", "village"], *(arms.hidden & set(keys))]
    assert recoverable(keys, totals, hidden) == set()


def test_thousands_of_tiny_villages_are_all_hidden() -> None:
    rng = np.random.default_rng(5)
    villages = pd.DataFrame(
        {
            "village": [f"{i:05d}" for i in range(2_004)],
            "treatment": rng.integers(0, 2, 2_004).astype(float),
            "panel": [3] * 2_000 + [40, 40, 40, 40],
            "baseline_only": 0,
            "followup_only": 0,
        }
    )
    reason = village_suppression(villages, min_cell=MIN_CELL, hidden_arms=frozenset())
    assert (reason.iloc[:2_000] == SMALL).all() and (reason.iloc[2_000:] == "").all()


def _arm_tables(*, treated: int) -> dict[str, pd.DataFrame]:
    """Internal tables of a study whose programme arm has ``treated`` households."""
    linkage = pd.DataFrame(
        {
            "arm": ["comparison"] * 3 + ["treatment"] * 3,
            "linkage": ["panel", "baseline_only", "followup_only"] * 2,
            "households": [90, 10, 2, treated - 1, 1, 0],
        }
    )
    attrition = pd.DataFrame(
        {
            "test": ["rate", "rate", "rate", "differential_rate"],
            "arm": ["comparison", "treatment", "all", np.nan],
            "n_baseline": [100, treated, 100 + treated, np.nan],
            "n_attrited": [10, 1, 11, np.nan],
            "rate": [0.1, 1 / treated, 11 / (100 + treated), np.nan],
            "estimate": [np.nan, np.nan, np.nan, 0.05],
            "std_error": [np.nan, np.nan, np.nan, 0.02],
            "p_value": [np.nan, np.nan, np.nan, 0.01],
            "note": [""] * 4,
        }
    )
    af = pd.DataFrame(
        {
            "round": ["baseline"] * 6,
            "arm": ["comparison", "treatment", "all"] * 2,
            "statistic": ["H"] * 3 + ["M0"] * 3,
            "value": [0.5, 0.9, 0.52, 0.2, 0.4, 0.21],
            "n": [98, treated, 98 + treated] * 2,
            "n_dropped": [2, 0, 2] * 2,
            "note": [""] * 6,
        }
    )
    balance = pd.DataFrame(
        {
            "sample": ["baseline"],
            "row_type": ["variable"],
            "variable": ["income_pc"],
            "n_treatment": [treated],
            "mean_treatment": [5.0],
            "sd_treatment": [1.0],
            "n_comparison": [100],
            "mean_comparison": [4.0],
            "sd_comparison": [1.0],
            "difference": [1.0],
            "std_error": [0.5],
            "p_value": [0.05],
            "normalized_difference": [1.0],
            "n_obs": [100 + treated],
            "note": [""],
        }
    )
    return {
        "linkage.csv": linkage,
        "attrition.csv": attrition,
        "alkire_foster.csv": af,
        "balance.csv": balance,
    }


def test_an_arm_below_min_cell_is_hidden_in_every_table_by_arm() -> None:
    public = public_tables(_arm_tables(treated=4), min_cell=MIN_CELL)
    # The tiny arm and, so that all households less the other arm cannot give it back, the other.
    rates = public["attrition.csv"].set_index("arm")
    assert rates.loc[["comparison", "treatment"], ["n_baseline", "rate"]].isna().all().all()
    assert rates.loc["all", "n_baseline"] == 104 and rates.loc["treatment", "n_attrited"] == 1
    assert math.isnan(public["attrition.csv"].loc[3, "estimate"])  # would give the arm size back
    af = public["alkire_foster.csv"].set_index("arm")
    assert af.loc[["comparison", "treatment"], ["value", "n"]].isna().all().all()
    assert (af.loc["all", "value"] == [0.52, 0.21]).all() and (af["n_dropped"] == [2, 0, 2] * 2).all()
    assert af.loc["treatment", "note"].str.startswith("hidden in the public tables").all()
    balance = public["balance.csv"].iloc[0]
    for column in (
        "n_treatment",
        "mean_treatment",
        "n_comparison",
        "mean_comparison",
        "difference",
        "p_value",
    ):
        assert pd.isna(balance[column]), column
    assert balance["n_obs"] == 104
    linkage = public["linkage.csv"].set_index(["arm", "linkage"])["households"]
    assert pd.isna(linkage[("treatment", "panel")]) and linkage[("treatment", "baseline_only")] == 1
    tex = attrition_latex(public["attrition.csv"], notes=["Empty cells are hidden."])
    assert "Treatment &  & 1 &  \\\\" in tex and "Empty cells are hidden." in tex


def test_large_arms_are_published_unchanged() -> None:
    internal = _arm_tables(treated=100)
    public = public_tables(internal, min_cell=MIN_CELL)
    for name, frame in internal.items():
        pd.testing.assert_frame_equal(public[name], frame, check_dtype=False)


def test_estimates_from_fewer_than_min_cell_households_are_hidden() -> None:
    impact = pd.DataFrame(
        {
            "outcome": ["y", "y_women"], "estimator": ["did", "did"], "estimate": [1.0, 2.0],
            "std_error": [0.1, 0.5], "p_value": [0.01, 0.2], "ci_low": [0.8, 1.0], "ci_high": [1.2, 3.0],
            "n_obs": [200, 6], "n_clusters": [20, 3], "se_type": ["CR1", "CR1"], "note": ["", ""],
        }
    )  # fmt: skip
    inference = pd.DataFrame(
        {"outcome": ["y", "y_women"], "estimator": ["did", "did"], "estimate": [1.0, 2.0],
         "p_value_wild": [0.02, 0.3], "q_value_family": [0.03, 0.3], "note": ["", ""]}
    )  # fmt: skip
    public = public_tables(
        {"impact_detail.csv": impact, "impact_inference.csv": inference}, min_cell=MIN_CELL
    )
    detail = public["impact_detail.csv"].set_index("outcome")
    assert detail.loc["y", "estimate"] == 1.0 and detail.loc["y", "n_obs"] == 200
    assert (
        detail.loc["y_women", ["estimate", "std_error", "p_value", "ci_low", "ci_high", "n_obs"]].isna().all()
    )
    assert "fewer than 10 households" in detail.loc["y_women", "note"]
    rows = public["impact_inference.csv"].set_index("outcome")
    assert rows.loc["y_women", ["estimate", "p_value_wild", "q_value_family"]].isna().all()


def test_the_rule_is_stated_in_both_languages() -> None:
    english, indonesian = disclosure_rule("en", min_cell=12), disclosure_rule("id", min_cell=12)
    assert "fewer than 12 households" in english and "not found again" in english
    assert "kurang dari 12 rumah tangga" in indonesian and "tidak ditemukan lagi" in indonesian
    with pytest.raises(ValueError):
        disclosure_rule("fr", min_cell=12)


def test_the_page_scan_accepts_small_fieldwork_counts_only_when_marked() -> None:
    lost = '<p>Not found: <span class="n fieldwork">3</span></p>'
    assert scan_html(lost, min_cell=MIN_CELL) == []
    assert scan_html(lost.replace(" fieldwork", ""), min_cell=MIN_CELL)[0].kind == "small_count"
