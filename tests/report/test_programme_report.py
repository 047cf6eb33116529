"""The programme report says what was computed (issue 14, "The programme report").

Built in-process from the session's ``demo_stages`` (the bundled demo through clean, construct
and estimate; tests/conftest.py): balance and selective attrition led by the
randomization-inference p-value, no significance stars, fixed decimals by outcome type with the
comparison mean and N on every row, numbered tables and figures, the design read from the panel
(household or village assignment) with the standard errors as computed, the methods' strata
fixed effects and wild bootstrap, and the summary's choice of outcomes, its follow-up-only
fallback and its count by the p-value it quotes. Expected values are computed here from the
estimate stage's tables and the panel, not taken from the report's code. The last test reads
the demo's exported ``programme.en.html`` (``demo_run``, end to end).
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_demo import ENGLISH_PROGRAMME, DemoRun

from analysis.config import DEMO_STUDY
from analysis.report import programme as pr
from analysis.shared.disclosure import scan_html

SECTIONS = (
    pr.design_section,
    pr.data_quality_section,
    pr.balance_section,
    pr.attrition_section,
    pr.impact_section,
    pr.indices_section,
    pr.coefficient_section,
    pr.alkire_foster_section,
    pr.mde_section,
    pr.methods_section,
)


def _html(parts: list[object]) -> str:
    return "\n".join(p._repr_html_() for p in parts if hasattr(p, "_repr_html_"))  # type: ignore[attr-defined]


def _text(markup: str) -> str:
    """The visible words: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def _page(ctx: pr.ProgrammeContext) -> str:
    parts: list[object] = [pr.title(ctx)]
    for section in SECTIONS:
        parts += section(ctx)
    return _html(parts)


def _rows(markup: str) -> list[list[str]]:
    """The cells (visible text) of every body row of the tables in ``markup``."""
    found = []
    for row in re.findall(r"<tr>(.*?)</tr>", markup, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        if cells:
            found.append([_text(c) for c in cells])
    return found


def _p(value: float) -> str:
    """A p-value as an English report writes it (two decimals, three below 0.01)."""
    return "< 0.001" if value < 0.001 else f"{value:.3f}" if value < 0.01 else f"{value:.2f}"


@pytest.fixture(scope="module")
def ctx(demo_stages) -> pr.ProgrammeContext:  # type: ignore[no-untyped-def]
    return pr.load(
        str(DEMO_STUDY),
        processed_dir=str(demo_stages.processed),
        tables_dir=str(demo_stages.tables),
        language="en",
    )


def _fresh(ctx: pr.ProgrammeContext, **changes: object) -> pr.ProgrammeContext:
    """A copy with its own table numbers (and any field replaced)."""
    return replace(ctx, numbers={}, **changes)  # type: ignore[arg-type]


def _with_table(ctx: pr.ProgrammeContext, name: str, frame: pd.DataFrame) -> pr.ProgrammeContext:
    return _fresh(ctx, tables={**ctx.tables, name: frame})


# ---------------------------------------------------------------------------------------------
# Balance and selective attrition


def _joint(ctx: pr.ProgrammeContext, sample: str = "baseline") -> pd.Series:
    balance = ctx.table("balance.csv")
    assert balance is not None
    return balance.loc[(balance["row_type"] == "joint_test") & (balance["sample"] == sample)].iloc[0]


def test_balance_leads_with_the_randomization_inference_p_and_warns_about_the_f(
    ctx: pr.ProgrammeContext,
) -> None:
    joint = _joint(ctx)
    ri, f_p = float(joint["p_value_ri"]), float(joint["p_value"])
    assert np.isfinite(ri) and f_p < 0.05 <= ri  # the demo's case: the F alone says "imbalanced"
    text = _text(_html(pr.balance_section(_fresh(ctx))))
    lead = f"by randomization inference ({int(joint['ri_assignments'])} re-drawn assignments): p = {_p(ri)}"
    assert lead in text
    assert text.index(lead) < text.index("the clustered F test: F(")
    assert f"F({int(joint['df_num'])}, {int(joint['df_denom'])}) = {joint['f_stat']:.2f}" in text
    assert "rejects far too often" in text
    # The verdict follows the reliable test, not the F.
    assert "the arms look alike at baseline" in text and "differ at baseline" not in text


@pytest.mark.parametrize(("ri", "f_p", "alike"), [(0.01, 0.60, False), (0.60, 1e-9, True)])
def test_whether_the_arms_look_alike_follows_the_randomization_inference_p(
    ctx: pr.ProgrammeContext, ri: float, f_p: float, alike: bool
) -> None:
    balance = ctx.table("balance.csv")
    assert balance is not None
    joint = (balance["row_type"] == "joint_test") & (balance["sample"] == "baseline")
    changed = balance.copy()
    changed.loc[joint, "p_value_ri"] = ri
    changed.loc[joint, "p_value"] = f_p
    text = _text(_html(pr.balance_section(_with_table(ctx, "balance.csv", changed))))
    assert f"p = {_p(ri)}. By this test" in text
    assert ("the arms look alike at baseline" in text) is alike
    assert ("the arms differ at baseline" in text) is not alike


def test_without_a_randomization_p_the_f_test_leads_without_the_warning(ctx: pr.ProgrammeContext) -> None:
    # Many clusters: the estimate stage skips the re-draws and the F test is the one to read.
    balance = ctx.table("balance.csv")
    assert balance is not None
    text = _text(
        _html(pr.balance_section(_with_table(ctx, "balance.csv", balance.assign(p_value_ri=np.nan))))
    )
    assert "randomization inference" not in text and "rejects far too often" not in text
    assert "Joint test of all variables (surveyed at baseline): F(25, 29)" in text
    assert "differ at baseline" in text  # the F's p is below 0.001 in the demo


def test_selective_attrition_leads_with_the_randomization_inference_p(ctx: pr.ProgrammeContext) -> None:
    attrition = ctx.table("attrition.csv")
    assert attrition is not None
    test = attrition.loc[attrition["test"] == "differential_composition"].iloc[0]
    text = _text(_html(pr.attrition_section(_fresh(ctx))))
    lead = (
        f"Selective attrition (do the households lost differ between arms) (surveyed at baseline), by "
        f"randomization inference ({int(test['ri_assignments'])} re-drawn assignments): "
        f"p = {_p(float(test['p_value_ri']))}"
    )
    assert lead in text
    beside = f"the clustered F test: F({int(test['df_num'])}, {int(test['df_denom'])})"
    assert text.index(lead) < text.index(beside) and "rejects far too often" in text


# ---------------------------------------------------------------------------------------------
# The impact table


def test_no_significance_stars_in_the_report_or_its_latex(ctx: pr.ProgrammeContext, demo_stages) -> None:  # type: ignore[no-untyped-def]
    page = _page(_fresh(ctx))
    assert not re.search(r"\d\*", page) and "***" not in page
    assert not re.search(r"\d\*", pr.latex_document(_fresh(ctx)))
    for name in ("impact.tex", "indices.tex", "balance.tex"):
        assert "*" not in (demo_stages.tables / name).read_text(), name


def _impact_rows(ctx: pr.ProgrammeContext) -> dict[str, list[str]]:
    rows = _rows(_html(pr.impact_section(_fresh(ctx))))
    return {r[0].removesuffix(" †"): r for r in rows}


def test_impact_rows_have_fixed_decimals_by_type_the_comparison_mean_and_n(ctx: pr.ProgrammeContext) -> None:
    rows = _impact_rows(ctx)
    detail = ctx.impact.set_index(["outcome", "estimator"])
    panel = ctx.panel
    comparison = panel.loc[(panel["round"] == "followup") & (panel["treatment"] == 0)]
    cases = {
        # label, outcome, kind
        "Took part in planning village activities": ("took_part_planning", "share"),
        "Income per person (Rp/month)": ("income_pc", "money"),
        "Days of mutual help (gotong royong) per month": ("gotong_royong_days", "scale"),
    }
    for label, (outcome, kind) in cases.items():
        cells = rows[label]
        # Outcome | Unit | Comparison mean | Follow-up diff | DiD | ANCOVA | p wild | p CR1 | q | N
        assert len(cells) == 10, cells
        ancova = detail.loc[(outcome, "ancova")]
        mean = comparison[outcome].mean()
        if kind == "share":
            assert cells[1] == "pp"
            assert cells[2] == f"{mean * 100:.1f}%"
            expected = f"{ancova['estimate'] * 100:.1f} ({ancova['std_error'] * 100:.1f})"
        elif kind == "money":
            assert cells[1] == "Rp"
            assert cells[2] == f"{mean:,.0f}"
            expected = f"{ancova['estimate']:,.0f} ({ancova['std_error']:,.0f})"
        else:
            assert cells[1] == "scale"
            assert cells[2] == f"{mean:.2f}"
            expected = f"{ancova['estimate']:.2f} ({ancova['std_error']:.2f})"
        assert cells[5] == expected.replace("-", "−"), (label, cells)
        assert cells[9] == f"{int(ancova['n_obs']):,}"
    # One number of decimals per column and kind: no "0.00430 (0.0711)" beside "0.167 (0.0321)".
    for cells in rows.values():
        for cell in cells[3:6]:
            if cell != "–":
                decimals = {len(part) for part in re.findall(r"\.(\d+)", cell)}
                assert len(decimals) <= 1, cells


def test_women_rows_have_their_own_group_and_no_group_row_is_empty(ctx: pr.ProgrammeContext) -> None:
    markup = _html(pr.impact_section(_fresh(ctx)))
    groups = [_text(g) for g in re.findall(r'<tr class="group">(.*?)</tr>', markup, re.S)]
    assert groups and all(groups), groups
    assert "Women's participation" in groups
    assert len(groups) == len(set(groups))  # each goal is one block


def test_a_follow_up_only_outcome_falls_back_to_the_follow_up_difference(ctx: pr.ProgrammeContext) -> None:
    outcome = "programme_participation"
    detail = ctx.impact
    assert not ((detail["outcome"] == outcome) & (detail["estimator"] == "ancova")).any()
    follow = detail.loc[(detail["outcome"] == outcome) & (detail["estimator"] == "followup_diff")].iloc[0]
    inference = ctx.table("impact_inference.csv")
    assert inference is not None
    wild = inference.loc[(inference["outcome"] == outcome) & (inference["estimator"] == "followup_diff")]
    markup = _html(pr.impact_section(_fresh(ctx)))
    row = next(r for r in _rows(markup) if r[0] == "Took part in the empowerment programme †")
    assert row[6] == _p(float(wild["p_value_wild"].iloc[0])) and row[7] == _p(float(follow["p_value"]))
    assert row[9] == f"{int(follow['n_obs']):,}"
    assert "measured only at follow-up" in _text(markup)
    # In the summary, when it is a main outcome.
    study = replace(ctx.study, main_outcomes=(outcome, "income_pc"))
    summary = _text(str(pr.title(_fresh(ctx, study=study))))
    assert (
        "Took part in the empowerment programme: Follow-up difference estimates an effect of +47.4" in summary
    )
    assert (
        "The follow-up difference stands in for ANCOVA: the outcome was measured only at follow-up" in summary
    )


def _expected_count(ctx: pr.ProgrammeContext, inference: pd.DataFrame) -> tuple[int, int]:
    detail = ctx.impact.loc[~ctx.impact["outcome"].astype(str).str.startswith("index_")]
    k = s = 0
    for outcome in dict.fromkeys(detail["outcome"]):
        rows = detail.loc[detail["outcome"] == outcome].set_index("estimator")
        estimator = "ancova" if "ancova" in rows.index else "followup_diff"
        hit = inference.loc[(inference["outcome"] == outcome) & (inference["estimator"] == estimator)]
        wild = float(hit["p_value_wild"].iloc[0]) if len(hit) else np.nan
        p = wild if np.isfinite(wild) else float(rows.loc[estimator, "p_value"])
        k += 1
        s += int(p < 0.05)
    return k, s


def test_the_summary_counts_by_the_p_value_it_quotes(ctx: pr.ProgrammeContext) -> None:
    inference = ctx.table("impact_inference.csv")
    assert inference is not None
    k, s = _expected_count(ctx, inference)
    summary = _text(str(pr.title(_fresh(ctx))))
    assert (
        f"Of {k} outcomes, {s} are distinguishable from zero at the 5% level by the wild-bootstrap p-value"
        in summary
    )
    # Where the wild p and the CR1 p disagree, both the sentence and the count follow the wild one.
    target = (inference["outcome"] == "owns_umkm") & (inference["estimator"] == "ancova")
    assert float(inference.loc[target, "p_value_cr1"].iloc[0]) < 0.05
    changed = inference.copy()
    changed.loc[target, "p_value_wild"] = 0.40
    summary = _text(str(pr.title(_with_table(ctx, "impact_inference.csv", changed))))
    assert f"Of {k} outcomes, {s - 1} are distinguishable" in summary
    assert "not distinguishable from zero, wild-bootstrap p = 0.40" in summary


def test_the_summary_says_why_its_outcomes_were_chosen_and_leaves_out_alkire_foster(
    ctx: pr.ProgrammeContext,
) -> None:
    summary = _text(str(pr.title(_fresh(ctx))))
    assert "each goal is represented by the first outcome listed for it" in summary
    assert "Alkire" not in summary and "empowered" not in summary
    study = replace(ctx.study, main_outcomes=("income_pc", "food_secure"))
    declared = _text(str(pr.title(_fresh(ctx, study=study))))
    assert "the main outcomes named in the study file" in declared
    assert declared.count("ANCOVA estimates an effect") == 2


def test_alkire_foster_states_its_cutoffs_and_which_come_from_the_data(ctx: pr.ProgrammeContext) -> None:
    table = ctx.table("alkire_foster.csv")
    assert table is not None
    cutoffs = table.loc[table["statistic"] == "cutoff"]
    from_data = int(cutoffs["note"].astype(str).str.contains("data-driven").sum())
    assert from_data > 0
    markup = _html(pr.alkire_foster_section(_fresh(ctx)))
    rows = [
        r
        for r in _rows(markup)
        if len(r) == 4
        and r[3]
        in ("baseline median (from the data)", "yes/no: the good answer", "not below the poverty line")
    ]
    assert len(rows) == len(cutoffs)
    assert sum(r[3] == "baseline median (from the data)" for r in rows) == from_data
    assert "no standard error" in _text(markup)


# ---------------------------------------------------------------------------------------------
# Indices, numbering and LaTeX


def test_indices_header_says_across_goals(ctx: pr.ProgrammeContext) -> None:
    markup = _html(pr.indices_section(_fresh(ctx)))
    assert "q across goals" in markup and "within family" not in markup
    inference = ctx.table("impact_inference.csv")
    assert inference is not None
    q = inference.loc[
        (inference["outcome"] == "index_klk_business") & (inference["estimator"] == "ancova"),
        "q_value_family",
    ].iloc[0]
    row = next(r for r in _rows(markup) if r[0] == "Business")
    assert row[2] == _p(float(q))


def test_tables_and_figures_are_numbered_in_page_order(ctx: pr.ProgrammeContext) -> None:
    fresh = _fresh(ctx)
    page = _page(fresh)
    tables = [int(n) for n in re.findall(r"<caption>Table (\d+)\. ", page)]
    assert tables == list(range(1, len(tables) + 1)) and len(tables) >= 8
    assert page.count("<table") == len(tables)  # every table has its number
    assert re.search(r'class="caption">Figure 1\. ', page)
    # The LaTeX export keeps the page's numbers.
    latex = pr.latex_document(fresh)
    assert [int(n) for n in re.findall(r"\\caption\{Table (\d+)\. ", latex)] == [
        n for n in tables if f"\\caption{{Table {n}. " in latex
    ]
    assert "\\caption{Table 3. Balance at baseline" in latex and "<span" not in latex


def test_latex_tables_use_labels_rupiah_without_decimals_and_no_p_of_zero(
    ctx: pr.ProgrammeContext,
    demo_stages,  # type: ignore[no-untyped-def]
) -> None:
    impact = (demo_stages.tables / "impact.tex").read_text()
    assert "Income per person (Rp/month) &" in impact and "income\\_pc" not in impact
    detail = ctx.impact.set_index(["outcome", "estimator"])
    ancova = detail.loc[("income_pc", "ancova"), "estimate"]
    assert f"{ancova:,.0f}".replace(",", "{,}") in impact
    assert not re.search(r"Income per person[^\n]*\d\.\d", impact)
    balance = (demo_stages.tables / "balance.tex").read_text()
    assert "p = 0.000" not in balance and "0.000 &" not in balance
    joint = _joint(ctx)
    assert f"randomization-inference p = {joint['p_value_ri']:.3f}" in balance
    assert "p $<$ 0.001" in balance and "over-rejects" in balance
    attrition = (demo_stages.tables / "attrition.tex").read_text()
    assert "randomization-inference p = " in attrition


# ---------------------------------------------------------------------------------------------
# Design, standard errors and methods


def test_the_demo_is_described_as_randomized_by_village(ctx: pr.ProgrammeContext) -> None:
    villages = ctx.panel.drop_duplicates("village")
    treated, control = int((villages["treatment"] == 1).sum()), int((villages["treatment"] == 0).sum())
    text = _text(_html(pr.design_section(_fresh(ctx))))
    assert f"assigned by village: {treated} programme villages and {control} comparison villages" in text
    assert "clustered by village (CR1" in text and "the level at which the programme was assigned" in text


def _household_design(panel: pd.DataFrame) -> pd.DataFrame:
    """The demo's households re-assigned within their villages (every other household treated)."""
    codes = {hh: i % 2 for i, hh in enumerate(sorted(panel["hh"].unique()))}
    return panel.assign(treatment=panel["hh"].map(codes).astype(float))


def test_a_household_randomized_panel_is_described_so_with_its_clustering(ctx: pr.ProgrammeContext) -> None:
    panel = _household_design(ctx.panel)
    households = panel.drop_duplicates("hh")
    villages = households["village"].nunique()
    text = _text(_html(pr.design_section(_fresh(ctx, panel=panel))))
    assert f"assigned to households within villages: {villages} of the {villages} villages" in text
    treated = int((households["treatment"] == 1).sum())
    assert f"{treated:,} programme and" in text
    assert "programme villages" not in text
    # Clustered by village above a household assignment: conservative, and said so.
    assert "clustered by village (CR1" in text and "conservative" in text
    # HC1 (no cluster column): at the household level of assignment.
    hc1 = ctx.impact.assign(se_type="HC1", n_clusters=np.nan)
    text = _text(_html(pr.design_section(_fresh(ctx, panel=panel, impact=hc1))))
    assert "heteroskedasticity-robust (HC1), not clustered" in text and "clustered by village" not in text
    assert "the level at which the programme was assigned" in text
    # CR1 with each household its own cluster.
    by_household = panel.assign(cluster=panel["hh"])
    text = _text(_html(pr.design_section(_fresh(ctx, panel=by_household))))
    assert "clustered by household (CR1" in text


def test_standard_errors_below_the_assignment_level_are_flagged(ctx: pr.ProgrammeContext) -> None:
    hc1 = ctx.impact.assign(se_type="HC1", n_clusters=np.nan)
    text = _text(_html(pr.design_section(_fresh(ctx, impact=hc1))))
    assert "(HC1)" in text and "below the level at which the programme was assigned (village)" in text
    methods = _text(_html(pr.methods_section(_fresh(ctx, impact=hc1))))
    assert "(HC1)" in methods and "clustered by village" not in methods


def test_methods_name_the_strata_and_the_wild_bootstrap_once_without_repeating_the_design(
    ctx: pr.ProgrammeContext,
) -> None:
    strata = ctx.panel["strata"].nunique()
    inference = ctx.table("impact_inference.csv")
    assert inference is not None
    reps = int(pd.to_numeric(inference["wild_reps"], errors="coerce").max())
    methods = _text(_html(pr.methods_section(_fresh(ctx))))
    assert f"fixed effects for the {strata} randomization strata (kecamatan)" in methods
    assert f"{reps:,} draws with Rademacher weights" in methods
    assert "null hypothesis of no effect imposed on every bootstrap sample" in methods
    page = _text(_page(_fresh(ctx)))
    assert page.count("Three estimators are shown side by side") == 1
    assert page.count("The programme was assigned by village") == 1


def test_the_page_passes_the_disclosure_scan(ctx: pr.ProgrammeContext) -> None:
    assert scan_html(_page(_fresh(ctx)), min_cell=ctx.min_cell) == []


# ---------------------------------------------------------------------------------------------
# The exported page (end to end)


def test_the_exported_page_shows_the_randomization_p_of_balance_csv(demo_run: DemoRun) -> None:
    out: Path = demo_run.out
    balance = pd.read_csv(out / "tables" / "balance.csv")
    joint = balance.loc[(balance["row_type"] == "joint_test") & (balance["sample"] == "baseline")].iloc[0]
    page = _text((out / ENGLISH_PROGRAMME).read_text(encoding="utf-8"))
    shown = re.search(r"Joint test of all variables \(surveyed at baseline\), by randomization inference "
                      r"\([\d,]+ re-drawn assignments\): p (= \d+\.\d+|< 0\.001)", page)  # fmt: skip
    assert shown is not None
    assert shown.group(1).removeprefix("= ") == _p(float(joint["p_value_ri"]))
    assert not re.search(r"\d\*", page)
