"""Report building blocks and statistics: tables, figures, provenance, changes, ladder, goal profile."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from analysis.inputs.study import OutcomeSpec, Study
from analysis.report import figures, summaries
from analysis.report import village as village_report
from analysis.report.blocks import (
    Column,
    GroupRow,
    Html,
    Table,
    count,
    element,
    figure_image,
    latex_escape,
    plain_text,
    provenance_block,
    void_element,
)
from analysis.report.text import TEXT, Safe
from analysis.shared.run_warnings import RunWarning


def _panel(seed: int = 1) -> pd.DataFrame:
    """Four villages (two per arm), 30 households each, both rounds; income rises in programme villages."""
    rng = np.random.default_rng(seed)
    rows = []
    for v, treat in (("A", 1.0), ("B", 1.0), ("C", 0.0), ("D", 0.0)):
        for h in range(30):
            base = float(rng.lognormal(13.5, 0.5))
            for round_name, factor in (("baseline", 1.0), ("followup", 1.2 if treat else 1.05)):
                rows.append(
                    {
                        "hh": f"{v}{h}",
                        "round": round_name,
                        "village": v,
                        "treatment": treat,
                        "linkage": "panel",
                        "income_pc": base * factor,
                        "water": float(rng.random() < 0.5),
                        "debt": float(rng.random() * 10),
                        "rung1": float(rng.random() < (0.6 if treat and round_name == "followup" else 0.3)),
                    }
                )
    return pd.DataFrame(rows)


def _study(tmp_path) -> Study:
    return Study(
        path=tmp_path / "study.yml",
        name="Test",
        rounds={},
        id="hhid",
        treatment="treat",
        outcomes=(
            OutcomeSpec("water", {}, family="environment"),
            OutcomeSpec("debt", {}, family="environment", direction=-1),
            OutcomeSpec("income_pc", {}, family="income"),
        ),
    )


# ---------------------------------------------------------------------------------------------
# HTML building blocks


def test_table_escapes_every_cell_but_keeps_package_markup() -> None:
    table = Table(
        [Column("<h>", "left"), Column("n")],
        [GroupRow("<Goal>"), ["<script>alert(1)</script>", count(12, language="en", min_cell=10)]],
        caption="A & B",
        notes=["x < y"],
    )
    html = table._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<span class="n">12</span>' in html
    assert 'colspan="2"' in html and "&lt;Goal&gt;" in html
    assert "A &amp; B" in html and "x &lt; y" in html


def test_count_hides_small_values_and_none() -> None:
    assert count(9, language="en", min_cell=10) == '<span class="n suppressed">hidden</span>'
    assert count(None, language="id", min_cell=10) == '<span class="n suppressed">disembunyikan</span>'
    assert count(0, language="en", min_cell=10) == '<span class="n">0</span>'
    assert count(1200, language="id", min_cell=10) == '<span class="n">1.200</span>'


def test_elements_escape_attributes() -> None:
    assert element("a", "x", href='"><script>') == '<a href="&quot;&gt;&lt;script&gt;">x</a>'
    assert void_element("input", type="search", aria_label="F") == '<input type="search" aria-label="F">'
    assert repr(Html(Safe("<p>Hi &amp; bye</p>"))) == "Hi & bye"


def test_latex_escapes_data_strings() -> None:
    assert latex_escape(r"50% of $x_1 & {y}\ ") == r"50\% of \$x\_1 \& \{y\}\textbackslash{} "
    table = Table(
        [Column("Outcome", "left"), Column("n")], [GroupRow("Income"), ["\\input{/etc/passwd}", "12"]]
    )
    latex = table.to_latex(label="tab:x")
    assert "\\input{" not in latex and "\\textbackslash{}input\\{" in latex
    assert "\\multicolumn{2}{l}{\\textit{Income}}" in latex and "\\toprule" in latex


def test_provenance_block_shows_names_not_folders_and_one_run_time_line() -> None:
    facts = {
        "study": "S <1>",
        "git_commit": "abc123",
        "inputs_sha256": {"/home/siti/private/baseline.csv": "f" * 64},
        "packages": {"pandas": "3.0"},
        "command": "berdaya run study.yml",
    }
    html = str(provenance_block(facts, parameters={"village": "0101"}, language="en", started=time.time()))
    assert "/home/siti" not in html and "baseline.csv" in html and "S &lt;1&gt;" in html
    # Reproducibility checks mask the run-time line as one text node.
    assert re.search(r"<li>Run time: [^<]+ \(report computed in [\d.]+ s\)</li>", html)
    assert "village = 0101" in html


# ---------------------------------------------------------------------------------------------
# Figures


def test_figures_render_to_png_with_alt_text() -> None:
    stats = pd.DataFrame(
        [
            {"group": "This village", "kind": "village", "round": "Baseline", "p25": 1, "p50": 2, "p75": 3,
             "p10": np.nan, "p90": np.nan},
            {"group": "Comparison", "kind": "comparison", "round": "Baseline", "p25": 1, "p50": 2.5, "p75": 4,
             "p10": 0.5, "p90": 6},
        ]
    )  # fmt: skip
    for fig in (
        figures.income_ranges(stats, language="en"),
        figures.ladder_chart(
            pd.DataFrame({"rung": ["Planning"], "baseline": [0.2], "followup": [0.5]}), language="id"
        ),
        figures.goals_profile(
            pd.DataFrame(
                {
                    "goal": ["Income"],
                    "village_baseline": [0.1],
                    "village_followup": [0.3],
                    "programme_followup": [0.2],
                }
            ),
            language="en",
        ),
        figures.attrition_flow(
            {"baseline": "20", "panel": "hidden", "lost": "hidden", "new": "0", "followup": "18"},
            language="en",
            hidden=["panel", "lost"],
        ),
    ):
        assert fig is not None
        image = figure_image(fig, alt="a <figure>")
        assert image.png.startswith(b"\x89PNG") and b"Software" not in image.png[:200]
        data, metadata = image._repr_mimebundle_()
        assert metadata["image/png"]["alt"] == "a <figure>" and data["image/png"]


def test_empty_figures_are_none() -> None:
    assert figures.income_ranges(pd.DataFrame(), language="en") is None
    assert figures.ladder_chart(
        pd.DataFrame({"rung": ["a"], "baseline": [np.nan], "followup": [np.nan]}), language="en"
    ) is None  # fmt: skip
    assert figures.coefficient_plot(pd.DataFrame(), language="en") is None


# ---------------------------------------------------------------------------------------------
# Statistics


def test_village_change_is_deterministic_and_brackets_the_change() -> None:
    panel = _panel()
    first = summaries.village_change(
        panel,
        village="A",
        column="income_pc",
        statistic="median",
        relative=True,
        min_cell=10,
        seed=3,
        reps=199,
    )
    second = summaries.village_change(
        panel,
        village="A",
        column="income_pc",
        statistic="median",
        relative=True,
        min_cell=10,
        seed=3,
        reps=199,
    )
    assert first.village.change == second.village.change and first.difference_low == second.difference_low
    assert first.village.change == pytest.approx(0.2)  # every household's income rose by 20%
    assert first.village.low <= first.village.change <= first.village.high
    assert first.comparison is not None and first.comparison.change == pytest.approx(0.05)
    assert first.difference == pytest.approx(0.15)
    assert first.difference_low <= first.difference <= first.difference_high


def test_village_change_is_hidden_below_min_cell() -> None:
    panel = _panel()
    small = panel.loc[~((panel["village"] == "A") & (panel["hh"].str[1:].astype(int) >= 9))]
    change = summaries.village_change(
        small,
        village="A",
        column="income_pc",
        statistic="median",
        relative=True,
        min_cell=10,
        seed=3,
        reps=99,
    )
    assert not change.village.available and np.isnan(change.difference)


def test_a_comparison_village_is_compared_with_the_other_comparison_villages() -> None:
    panel = _panel()
    panel.loc[(panel["village"] == "C") & (panel["round"] == "followup"), "income_pc"] *= 2
    change = summaries.village_change(
        panel,
        village="C",
        column="income_pc",
        statistic="median",
        relative=True,
        min_cell=10,
        seed=1,
        reps=99,
    )
    assert change.comparison is not None and change.comparison.change == pytest.approx(0.05)


def test_quantiles_need_min_cell_households_beyond_each_whisker() -> None:
    assert summaries.quantile_row(pd.Series(range(9), dtype=float), min_cell=10) is None
    row = summaries.quantile_row(pd.Series(range(40), dtype=float), min_cell=10)
    assert row is not None and np.isnan(row["p10"]) and row["p50"] == 19.5
    row = summaries.quantile_row(pd.Series(range(100), dtype=float), min_cell=10)
    assert row is not None and np.isfinite(row["p10"]) and np.isfinite(row["p90"])


def test_ladder_shares_hide_small_bases() -> None:
    panel = _panel()
    here = panel.loc[panel["village"] == "A"]
    shares = summaries.ladder_shares(here, rungs=[("rung1", "Planning")], min_cell=10)
    assert shares.loc[0, "n_baseline"] == 30 and 0 <= shares.loc[0, "followup"] <= 1
    tiny = summaries.ladder_shares(here.head(12), rungs=[("rung1", "Planning")], min_cell=10)
    assert np.isnan(tiny.loc[0, "baseline"]) or np.isnan(tiny.loc[0, "followup"])


def test_goal_profile_is_in_comparison_baseline_sd_units(tmp_path) -> None:
    panel = _panel()
    profile = summaries.goal_profile(
        panel, village="A", study=_study(tmp_path), goals=["environment", "income"], min_cell=10
    )
    assert list(profile["goal"]) == ["environment", "income"]
    indices = summaries.goal_indices(panel, study=_study(tmp_path), goals=["income"])
    reference = (panel["round"] == "baseline") & (panel["treatment"] == 0)
    assert indices.loc[reference, "income"].mean() == pytest.approx(0.0, abs=1e-12)
    assert indices.loc[reference, "income"].std() == pytest.approx(1.0)
    income = profile.set_index("goal").loc["income"]
    assert income["village_followup"] > income["village_baseline"]


def test_goal_profile_hides_small_groups(tmp_path) -> None:
    panel = _panel()
    panel = panel.loc[~((panel["village"] == "A") & (panel["hh"].str[1:].astype(int) >= 5))]
    profile = summaries.goal_profile(
        panel, village="A", study=_study(tmp_path), goals=["income"], min_cell=10
    )
    assert np.isnan(profile.loc[0, "village_baseline"]) and np.isfinite(profile.loc[0, "programme_followup"])


# ---------------------------------------------------------------------------------------------
# The village report's words: plain, consistent with its own figures


def _village(tmp_path, panel: pd.DataFrame, **values) -> village_report.VillageContext:  # type: ignore[no-untyped-def]
    fields = {
        "study": _study(tmp_path),
        "codebook": None,
        "village": "A",
        "village_name": "A",
        "treatment": 1.0,
        "panel": panel,
        "impact": pd.DataFrame(columns=["outcome", "estimator", "estimate", "p_value", "ci_low", "ci_high"]),
        "inference": None,
        "processed_dir": tmp_path,
        "tables_dir": tmp_path,
        "language": "id",
    }
    return village_report.VillageContext(**(fields | values))


def _impact(p: float) -> pd.DataFrame:
    return pd.DataFrame(
        [{"outcome": "income_pc", "estimator": "ancova", "estimate": 85_000.0, "p_value": p,
          "ci_low": -10_000.0, "ci_high": 180_000.0}]
    )  # fmt: skip


def test_the_programme_wide_sentence_says_what_it_compares_not_which_estimator(tmp_path) -> None:
    panel = _panel()
    ctx = _village(tmp_path, panel, impact=_impact(0.2))
    text = plain_text(village_report.programme_wide_sentence(ctx, "income_pc", money=True))
    assert "+Rp\u00a085.000" in text and "−Rp\u00a010.000 sampai +Rp\u00a0180.000" in text
    assert TEXT["how_ancova"]["id"] in text and TEXT["chance_not_significant"]["id"] in text
    assert "ANCOVA" not in text and "galat baku" not in text and "bootstrap" not in text
    english = _village(tmp_path, panel, impact=_impact(0.01), language="en")
    text = plain_text(village_report.programme_wide_sentence(english, "income_pc", money=True))
    assert "+Rp\u00a085,000" in text and TEXT["chance_significant"]["en"] in text
    withheld = _village(
        tmp_path, panel, impact=_impact(0.01), warnings=(RunWarning("estimate", "one_treated_cluster", "x"),)
    )
    text = plain_text(village_report.programme_wide_sentence(withheld, "income_pc", money=True))
    assert TEXT["chance_withheld_one_treated_cluster"]["id"] in text and "kisaran" not in text


def test_the_difference_is_computed_from_the_changes_as_printed(tmp_path) -> None:
    def change(value: float) -> summaries.Change:
        return summaries.Change(1.0, 1.0 + value, 20, 20, value, value - 1, value + 1, np.array([]))

    # The page prints +0,6 (0.56) and 0,0 (0.04): the difference it gives is +0,6, not +0,5.
    shown = summaries.VillageChange(change(0.56), change(0.04), 0.52, -0.3, 1.2)
    text = plain_text(village_report._difference_text(_village(tmp_path, _panel()), shown, unit="rungs"))
    assert text.startswith("+0,6 anak tangga; kisaran −0,3 sampai +1,2")
    # Percentages: +33% and +5% make +28 points.
    shown = summaries.VillageChange(change(0.334), change(0.054), 0.28, 0.1, 0.5)
    text = plain_text(village_report._difference_text(_village(tmp_path, _panel()), shown, unit="pp"))
    assert text.startswith("+28 poin persen")


def _income_panel(top_followup: float) -> pd.DataFrame:
    """Village A's median income rises (100 → 110); its mean follows the top household."""
    panel = _panel()
    here = panel["village"] == "A"
    base = (panel["round"] == "baseline") & here
    follow = (panel["round"] == "followup") & here
    panel.loc[base, "income_pc"] = [100.0] * 29 + [5_000_000.0]
    panel.loc[follow, "income_pc"] = [110.0] * 29 + [top_followup]
    return panel


def test_the_goals_chart_says_why_its_income_moves_against_the_median(tmp_path) -> None:
    panel = _income_panel(top_followup=1_000_000.0)  # the mean falls, the median rises
    ctx = _village(tmp_path, panel)
    profile = summaries.goal_profile(panel, village="A", study=ctx.study, goals=["income"], min_cell=10)
    text = plain_text(village_report._income_differs(ctx, profile))
    assert "Pendapatan desa ini turun" in text and "median pendapatan di bagian Pendapatan naik" in text
    rising = _income_panel(top_followup=9_000_000.0)  # both rise: nothing to explain
    profile = summaries.goal_profile(rising, village="A", study=ctx.study, goals=["income"], min_cell=10)
    assert village_report._income_differs(_village(tmp_path, rising), profile) == ""


def test_a_comparison_village_is_told_what_the_programme_average_is_not(tmp_path) -> None:
    panel = _panel()
    comparison = _village(tmp_path, panel, village="C", village_name="C", treatment=0.0)
    page = " ".join(
        plain_text(str(part)) for part in village_report.goals_section(comparison) if isinstance(part, Html)
    )
    assert TEXT["goals_comparison_village"]["id"] in page
    programme = _village(tmp_path, panel)
    page = " ".join(
        plain_text(str(part)) for part in village_report.goals_section(programme) if isinstance(part, Html)
    )
    assert TEXT["goals_comparison_village"]["id"] not in page and "Belah ketupat" in page
