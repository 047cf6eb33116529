"""The HTML village and programme reports follow the one disclosure policy (docs/disclosure.md).

The study of ``test_disclosure_tiers`` (the session fixture ``tiers_run``: a programme village of
one household, a comparison village of three, and the villages hidden to protect them) is rendered
in-process, section by section, as the notebooks do, without papermill.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from tiers_demo import MIN_CELL, Run

from analysis.report import programme as pr
from analysis.report import village as vr
from analysis.report.text import esc, percent
from analysis.shared.disclosure import COMPLEMENTARY, SMALL, disclosure_rule, scan_html

VILLAGE_SECTIONS = (
    vr.households_section,
    vr.income_section,
    vr.participation_section,
    vr.goals_section,
    vr.data_quality_section,
)
PROGRAMME_SECTIONS = (pr.design_section, pr.data_quality_section, pr.attrition_section, pr.methods_section)


@pytest.fixture
def tiers(tiers_run: Run) -> Run:
    """The shrunk demo study of test_disclosure_tiers, after its estimate stage (read-only)."""
    return tiers_run


def _html(parts: list[object]) -> str:
    return "\n".join(p._repr_html_() for p in parts if hasattr(p, "_repr_html_"))  # type: ignore[attr-defined]


def _village(tiers: Run, village: str, language: str = "en") -> vr.VillageContext:
    return vr.load(
        str(tiers.study),
        village=village,
        processed_dir=str(tiers.processed),
        tables_dir=str(tiers.public),
        language=language,
    )


def _village_page(tiers: Run, village: str, language: str = "en") -> str:
    ctx = _village(tiers, village, language)
    parts: list[object] = [vr.title(ctx)]
    for section in VILLAGE_SECTIONS:
        parts += section(ctx)
    return _html(parts)


def _programme(tiers: Run, language: str = "en") -> pr.ProgrammeContext:
    return pr.load(
        str(tiers.study), processed_dir=str(tiers.processed), tables_dir=str(tiers.public), language=language
    )


def _programme_page(ctx: pr.ProgrammeContext) -> str:
    parts: list[object] = [pr.title(ctx)]
    for section in PROGRAMME_SECTIONS:
        parts += section(ctx)
    return _html(parts)


def _villages(tiers: Run, tier: str) -> pd.DataFrame:
    folder = tiers.public if tier == "public" else tiers.internal
    frame = pd.read_csv(folder / "villages.csv", dtype={"village": str}, keep_default_na=False)
    return frame.set_index("village")


def _row(html: str, label: str) -> str:
    """The ``<tr>`` of a table whose first cell is ``label``."""
    found = re.search(rf"<tr><td class=\"left\">{re.escape(label)}</td>.*?</tr>", html, re.S)
    assert found is not None, label
    return found.group(0)


def _fieldwork(html: str) -> list[str]:
    return re.findall(r'<span class="n fieldwork">([^<]*)</span>', html)


def _plain_counts(html: str) -> list[str]:
    """Counts printed as group sizes (class ``n`` alone), whatever their size."""
    return re.findall(r'<span class="n">([^<]*)</span>', html)


# ---------------------------------------------------------------------------------------------
# Village reports


def test_village_reports_print_lost_and_new_households_as_fieldwork_counts(tiers: Run) -> None:
    public = _villages(tiers, "public")
    for village, rec in public.iterrows():
        html = _html(vr.households_section(_village(tiers, str(village))))
        assert _fieldwork(_row(html, "Not found (attrition)")) == [str(rec["baseline_only"])], village
        assert _fieldwork(_row(html, "New at follow-up")) == [str(rec["followup_only"])], village
    # The complementary comparison village lost households: fewer than min_cell, shown all the same.
    assert any(0 < int(n) < MIN_CELL for n in public["baseline_only"])


def test_village_response_rates_are_exact_where_the_baseline_is_shown(tiers: Run) -> None:
    public, internal = _villages(tiers, "public"), _villages(tiers, "internal")
    exact_with_few_lost = 0
    for village, rec in public.iterrows():
        html = _html(vr.households_section(_village(tiers, str(village))))
        assert "At least" not in html and "≥" not in html
        if rec["suppressed"]:
            assert "were found again at follow-up" not in html, village
            continue
        found, baseline = int(internal.at[village, "panel"]), int(internal.at[village, "baseline"])
        rate = percent(found / baseline, "en")
        assert f"<p>{rate} of the households surveyed at baseline were found again" in html, village
        exact_with_few_lost += int(0 < baseline - found < MIN_CELL)
    assert exact_with_few_lost >= 3  # the rates that used to be printed as "≥ …%"


def test_hidden_villages_show_no_household_count_or_statistic(tiers: Run) -> None:
    public, internal = _villages(tiers, "public"), _villages(tiers, "internal")
    marks = dict(public["suppressed"])
    assert marks[tiers.tiny] == marks[tiers.three] == SMALL
    complementary = [v for v, m in marks.items() if m == COMPLEMENTARY]
    assert len(complementary) == 2  # one per arm
    for village in [tiers.tiny, tiers.three, *complementary]:
        ctx = _village(tiers, village)
        assert ctx.hidden and ctx.suppressed == marks[village]
        html = _village_page(tiers, village)
        assert _plain_counts(html) == [], village  # every group size reads "hidden"
        assert "data-base=" not in html and 'class="stat"' not in html, village
        assert "were found again at follow-up" not in html
        assert "in comparison villages" not in html and "in other comparison villages" not in html
        key = "village_hidden_complementary" if marks[village] == COMPLEMENTARY else "village_hidden_small"
        assert str(vr.render(key, "en", n=MIN_CELL)) in html, village
        # The evaluator's numbers for this village appear nowhere in the page.
        for column in ("baseline", "followup", "panel"):
            value = internal.at[village, column]
            assert f">{value}<" not in html.replace('class="n fieldwork">', "x"), (village, column)
    # A published village still shows its counts and statistics.
    shown = next(v for v, m in marks.items() if not m)
    html = _village_page(tiers, shown)
    assert _plain_counts(html) and "data-base=" in html and not _village(tiers, shown).hidden


def test_the_village_report_follows_villages_csv_not_its_own_count(tiers: Run, tmp_path: Path) -> None:
    complementary = next(v for v, m in _villages(tiers, "public")["suppressed"].items() if m == COMPLEMENTARY)
    counts = _village(tiers, complementary).counts
    assert min(counts["baseline"], counts["followup"]) >= MIN_CELL  # large enough on its own
    # Without the column (or the table), a village is judged by either round's count.
    assert vr.suppression_mark(tmp_path, "0101", counts={"baseline": 12, "followup": 4}, min_cell=10) == SMALL
    assert vr.suppression_mark(tmp_path, "0101", counts={"baseline": 12, "followup": 14}, min_cell=10) == ""
    # An unknown mark hides rather than shows.
    pd.DataFrame({"village": ["0101"], "suppressed": ["yes"]}).to_csv(tmp_path / "villages.csv", index=False)
    assert (
        vr.suppression_mark(tmp_path, "0101", counts={"baseline": 40, "followup": 40}, min_cell=10) == SMALL
    )


def test_village_cleaning_counts_are_shown_at_any_size(tiers: Run) -> None:
    html = _html(vr.data_quality_section(_village(tiers, tiers.tiny)))
    lines = re.findall(r"<li>.*?</li>", html)
    assert len(lines) == 2
    for line in lines:
        assert len(_fieldwork(line)) == 2 and "fewer than" not in line  # quarantined, corrected
        assert '<span class="n suppressed">hidden</span> interviews used' in line


# ---------------------------------------------------------------------------------------------
# The programme report


def test_programme_attrition_prints_lost_and_new_at_any_size_with_exact_rates(tiers: Run) -> None:
    ctx = _programme(tiers)
    html = _html(pr.attrition_section(ctx))
    linkage = pd.read_csv(tiers.public / "linkage.csv").set_index(["arm", "linkage"])["households"]
    lost = {arm: int(linkage[(arm, "baseline_only")]) for arm in ("treatment", "comparison")}
    new = {arm: int(linkage[(arm, "followup_only")]) for arm in ("treatment", "comparison")}
    assert _fieldwork(_row(html, "Not found (attrition)")) == [
        str(lost["treatment"]), str(lost["comparison"]), str(sum(lost.values()))
    ]  # fmt: skip
    assert _fieldwork(_row(html, "New at follow-up")) == [
        str(new["treatment"]), str(new["comparison"]), str(sum(new.values()))
    ]  # fmt: skip
    assert 0 < lost["treatment"] < MIN_CELL  # a count the report used to hide
    rates = {
        arm: percent(lost[arm] / (lost[arm] + int(linkage[(arm, "panel")])), "en")
        for arm in ("treatment", "comparison")
    }
    assert (
        f"Attrition is {rates['treatment']} in programme villages and {rates['comparison']} in comparison villages."
        in html
    )


def test_a_programme_arm_below_min_cell_hides_its_sizes_and_rates(tiers: Run) -> None:
    ctx = _programme(tiers)
    panel = ctx.panel
    programme = sorted(panel.loc[panel["treatment"] == 1, "hh"].unique())[:8]
    small = panel.loc[(panel["treatment"] == 0) | panel["hh"].isin(programme)]
    html = _html(pr.attrition_section(replace(ctx, panel=small)))
    for label in ("Surveyed at baseline", "Found again", "Surveyed at follow-up"):
        cells = re.findall(r'<span class="(n[^"]*)">([^<]*)</span>', _row(html, label))
        # Programme and comparison hidden (the total less one arm is the other); the total shown.
        assert [c for c, _ in cells] == ["n suppressed", "n suppressed", "n"], label
    assert len(_fieldwork(_row(html, "Not found (attrition)"))) == 3
    assert "Attrition is hidden in programme villages and hidden in comparison villages." in html
    assert scan_html(html, min_cell=MIN_CELL) == []


def test_programme_cleaning_counts_are_shown_at_any_size(tiers: Run) -> None:
    html = _html(pr.data_quality_section(_programme(tiers)))
    accounting = pd.read_csv(tiers.public / "row_accounting.csv")
    for rec in accounting.to_dict("records"):
        row = _row(html, "Baseline" if rec["round"] == "baseline" else "Follow-up")
        expected = [str(int(rec[k])) for k in ("n_raw", "clean", "quarantined", "excluded")]
        assert _fieldwork(row) == expected
    assert "fewer than" not in html and "hidden" not in html


@pytest.mark.parametrize("language", ["en", "id"])
def test_the_programme_report_states_the_rule_of_the_index_and_docs(tiers: Run, language: str) -> None:
    html = _html(pr.methods_section(_programme(tiers, language)))
    assert str(esc(disclosure_rule(language, min_cell=MIN_CELL))) in html


# ---------------------------------------------------------------------------------------------
# Every page


@pytest.mark.parametrize("language", ["en", "id"])
def test_every_report_page_passes_the_disclosure_scan(tiers: Run, language: str) -> None:
    pages = {"programme": _programme_page(_programme(tiers, language))}
    for village in _villages(tiers, "public").index:
        pages[str(village)] = _village_page(tiers, str(village), language)
    for name, html in pages.items():
        assert scan_html(html, min_cell=MIN_CELL) == [], name
    # The scan had small fieldwork counts to accept.
    assert any(0 < int(n) < MIN_CELL for html in pages.values() for n in _fieldwork(html))
