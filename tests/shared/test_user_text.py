"""User text in pages and identifiers: bidi controls are isolated, the formula guard round-trips.

Issue #12: a U+202E RIGHT-TO-LEFT OVERRIDE in a village, study or outcome name must not reverse
the report's own words after it, and a village coded ``=X`` must get its report and show as
``=X`` (the spreadsheet guard ``'=X`` stays in the CSV files only).

The first tests check the helpers directly; the last ones run the data stages in-process on a
small demo (4 villages × 12 households, seed 7) whose village codes start with spreadsheet
formula triggers and whose names and labels carry bidi controls.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from jobs import ARABIC, CODES, HOSTILE_NAME, RLO

from analysis.inputs.study import load_study
from analysis.report import programme as programme_report
from analysis.report import summaries
from analysis.report import village as village_report
from analysis.report.blocks import element, heading, paragraph, plain_text
from analysis.report.html_export import clean_report_html, export_html, page
from analysis.report.index_page import index_page
from analysis.report.text import esc, join, render
from analysis.shared.files import neutralize_formulas, read_csv, restore_formulas, write_csv
from analysis.shared.text import BIDI_CONTROLS, BIDI_EMBEDDINGS, html_attribute, html_text, show_bidi_controls
from analysis.stages import villages_of

RLM = "\u200f"  # RIGHT-TO-LEFT MARK


def _no_bidi_controls(text: str) -> bool:
    return not any(ch in BIDI_CONTROLS for ch in text)


# ---------------------------------------------------------------------------------------------
# Escaping and isolation helpers


@pytest.mark.parametrize("control", sorted(BIDI_EMBEDDINGS))
def test_html_text_removes_every_embedding_override_and_isolate(control: str) -> None:
    assert html_text(f"Desa{control} <b>") == "Desa &lt;b&gt;"


def test_html_text_isolates_right_to_left_text_and_leaves_other_text_as_it_was() -> None:
    assert html_text(ARABIC) == f"<bdi>{ARABIC}</bdi>"
    assert html_text(f"Desa {ARABIC} 2") == f"<bdi>Desa {ARABIC} 2</bdi>"
    # A mark is an invisible strong letter: harmless once isolated, so it stays, isolated.
    assert html_text(f"abc{RLM}") == f"<bdi>abc{RLM}</bdi>"
    assert html_text("Karangmulyo & Co") == "Karangmulyo &amp; Co"
    assert html_text("-1") == "-1"


def test_html_attribute_drops_every_bidi_control_including_marks() -> None:
    assert html_attribute(f'a{RLO}b{RLM}c"') == "abc&quot;"


def test_escaping_isolates_each_value_in_a_sentence() -> None:
    """The report's words after an overriding label are intact: the override is gone."""
    values = {
        "effect": "+1",
        "low": "0",
        "high": "2",
        "how": "It compares households.",
        "chance": "A difference this large rarely arises by chance alone.",
    }
    hostile = render("programme_wide", "en", outcome=f"Income {RLO}per person", **values)
    plain = render("programme_wide", "en", outcome="Income per person", **values)
    assert hostile == plain
    arabic = render("programme_wide", "en", outcome=ARABIC, **values)
    assert f"on <bdi>{ARABIC}</bdi> is +1 (range 0 to 2" in arabic
    assert join(["Village report: ", f"{RLO}Desa"]) == "Village report: Desa"
    assert esc(f"{RLO}x") == "x"


def test_attributes_from_the_data_lose_bidi_controls() -> None:
    cell = element("td", f"{RLO}Desa", data_value=f"{RLO}desa", title=f"{ARABIC}{RLM}")
    assert cell == f'<td data-value="desa" title="{ARABIC}">Desa</td>'


def test_the_sanitizer_keeps_bdi_and_the_page_title_has_no_controls() -> None:
    assert clean_report_html(f"<p><bdi>{ARABIC}</bdi> x</p>") == f"<p><bdi>{ARABIC}</bdi> x</p>"
    html = page(f"Village report: {RLO}Desa{RLM}", "<p>x</p>")
    title = re.search(r"<title>(.*)</title>", html)
    assert title is not None and title.group(1) == "Village report: Desa"


def test_show_bidi_controls_makes_them_visible_in_a_log_line() -> None:
    assert show_bidi_controls(f"01{RLO}02") == "01<U+202E>02"


def test_an_exported_page_keeps_the_sentence_after_an_overriding_name(tmp_path: Path) -> None:
    """The whole path of a report: notebook output → nbconvert sanitizer → page and title."""
    body = join(
        [
            heading(join(["Village report: ", f"Sukamaju{RLO} ", ARABIC]), level=1),
            paragraph(join(["Households in ", f"{RLO}Sukamaju", " were surveyed twice."])),
        ]
    )
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("title")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": str(body), "text/plain": "x"})]
    nb.cells = [cell]
    html = export_html(nb, tmp_path / "village.html", title="", language="en").read_text(encoding="utf-8")
    assert _no_bidi_controls(html)
    assert "<p>Households in Sukamaju were surveyed twice.</p>" in html
    assert f"Village report: Sukamaju <bdi>{ARABIC}</bdi>" in html
    assert f"<title>Village report: Sukamaju {ARABIC}</title>" in html


# ---------------------------------------------------------------------------------------------
# The spreadsheet guard round-trips

#: Every string of up to three characters over the guard's interesting characters.
ALPHABET = ["'", "=", "+", "-", "@", "\t", "1", ".", "a"]
EVERY_SHORT_TEXT = ["".join(p) for n in range(4) for p in itertools.product(ALPHABET, repeat=n)]


def test_the_guard_is_undone_exactly_for_every_short_text() -> None:
    frame = pd.DataFrame({"text": EVERY_SHORT_TEXT})
    guarded = neutralize_formulas(frame)
    assert restore_formulas(guarded)["text"].tolist() == EVERY_SHORT_TEXT
    # Different texts stay different once guarded: nothing is ambiguous on the way back.
    assert guarded["text"].nunique() == len(EVERY_SHORT_TEXT)


def test_the_guard_still_protects_spreadsheets() -> None:
    cells = ["=X", "+62", "-1", "@a", "'=X", "'ok", "-99", "+6281", "=1+2", "\tx"]
    guarded = neutralize_formulas(pd.DataFrame({"x": cells}))["x"].tolist()
    assert guarded == ["'=X", "+62", "-1", "'@a", "''=X", "'ok", "-99", "+6281", "'=1+2", "'\tx"]


def test_restoring_leaves_numbers_and_missing_cells_alone() -> None:
    frame = pd.DataFrame(
        {"n": [1.5, np.nan], "s": ["'=X", None], "t": pd.array(["'@a", pd.NA], dtype="string")}
    )
    restored = restore_formulas(frame)
    assert restored["n"].tolist()[0] == 1.5 and np.isnan(restored["n"].tolist()[1])
    assert restored["s"].iloc[0] == "=X" and restored["s"].isna().iloc[1]
    assert restored["s"].dtype == frame["s"].dtype
    assert restored["t"].dtype == "string" and restored["t"].tolist()[0] == "@a"


def test_read_csv_gives_back_what_write_csv_wrote(tmp_path: Path) -> None:
    frame = pd.DataFrame({"village": ["=X", "+62", "-1", "@a", "'=X", "0101"], "n": [1, 2, 3, 4, 5, 6]})
    write_csv(frame, tmp_path / "villages.csv")
    text = (tmp_path / "villages.csv").read_text(encoding="utf-8")
    assert "'=X,1" in text and "'@a,4" in text and "''=X,5" in text and "\n+62,2" in text
    back = read_csv(tmp_path / "villages.csv", dtype={"village": str}, keep_default_na=False)
    pd.testing.assert_frame_equal(back, frame)


# ---------------------------------------------------------------------------------------------
# A study with formula-like village codes and bidi controls in its names and labels

# Built in the session's job process (``user_text_stages`` in tests/conftest.py, tests/jobs.py).
@pytest.fixture
def run(user_text_stages: tuple[Path, Path, Path]) -> tuple[Path, Path, Path]:
    """The small demo with formula-like village codes and bidi controls, after its stages."""
    return user_text_stages


def test_villages_coded_like_formulas_get_their_reports(run: tuple[Path, Path, Path]) -> None:
    study, processed, tables = run
    assert villages_of(tables) == sorted(CODES.values())
    names = {}
    for code in villages_of(tables):
        ctx = village_report.load(
            str(study), village=code, processed_dir=str(processed), tables_dir=str(tables), language="en"
        )
        names[code] = ctx.village_name
        assert ctx.village == code
    assert names["=X"] == HOSTILE_NAME and names["+62"] == ARABIC


def test_the_csv_files_keep_the_guard_once_for_spreadsheets(run: tuple[Path, Path, Path]) -> None:
    _, processed, tables = run
    for path in (tables / "villages.csv", processed / "linkage_by_village.csv"):
        lines = path.read_text(encoding="utf-8").splitlines()
        codes = sorted(line.split(",")[0] for line in lines[1:])
        assert codes == ["'=X", "'@a", "+62", "-1"], path.name
    # The construct stage reads and rewrites the follow-up quarantine: still guarded once only.
    quarantine = pd.read_csv(processed / "followup_quarantine.csv", dtype=str, keep_default_na=False)
    assert not quarantine["village"].str.startswith("''").any()


def test_a_guarded_village_code_counts_its_quarantined_records(run: tuple[Path, Path, Path]) -> None:
    study, processed, _ = run
    raw = pd.read_csv(processed / "baseline_quarantine.csv", dtype=str, keep_default_na=False)
    expected = int(raw.loc[raw["village"] == "'=X", "_row"].nunique())
    assert expected > 0
    quality = summaries.village_quality(processed, village="=X", village_column="village")
    assert quality["baseline"]["quarantined"] == expected


def test_the_village_report_shows_the_code_and_name_without_controls(
    run: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    study, processed, tables = run
    ctx = village_report.load(
        str(study), village="=X", processed_dir=str(processed), tables_dir=str(tables), language="en"
    )
    title = str(village_report.title(ctx))
    sentence = str(village_report.programme_wide_sentence(ctx, "income_pc", money=True))
    provenance = str(village_report.provenance(ctx))
    for html in (title, sentence, provenance):
        assert _no_bidi_controls(html)
    assert "<h1>Village report: Mekaragung</h1>" in title
    assert "Studi uji · Programme village" in title
    assert plain_text(sentence).startswith(
        "Across all programme villages, the estimated effect of the programme on Pendapatan per orang is "
    )
    assert "village = =X" in plain_text(provenance) and "'=X" not in provenance


def test_the_programme_report_title_has_the_study_name_without_controls(run: tuple[Path, Path, Path]) -> None:
    study, processed, tables = run
    ctx = programme_report.load(
        str(study), processed_dir=str(processed), tables_dir=str(tables), language="en"
    )
    title = str(programme_report.title(ctx))
    assert _no_bidi_controls(title)
    assert "<h1>Programme report: Studi uji</h1>" in title


def test_the_index_shows_original_codes_and_isolated_names(run: tuple[Path, Path, Path]) -> None:
    study, _, tables = run
    html = index_page(load_study(study), tables, [], has_programme=False)
    assert _no_bidi_controls(html)
    assert "<title>Studi uji – " in html and "<h1>Studi uji · " in html
    for code in ("=X", "+62", "-1", "@a"):
        assert f'<td data-value="{code}">{code}</td>' in html
    assert "&#x27;=X" not in html and "'=X" not in html
    assert ">Mekaragung<" in html
    assert f"<bdi>{ARABIC}</bdi>" in html


def test_the_run_warns_about_each_text_with_bidi_controls(run: tuple[Path, Path, Path]) -> None:
    _, _, tables = run
    warnings = read_csv(tables / "warnings.csv", dtype=str, keep_default_na=False)
    messages = warnings.loc[warnings["code"] == "bidi_controls", "message"].tolist()
    assert [m.split(" holds ")[0] for m in messages] == [
        "study.yml: the study name",
        "study.yml: the label of outcome income_pc",
        "villages.csv: the name of village =X",
    ]
    assert all("(U+202E)" in m and _no_bidi_controls(m) for m in messages)
    assert all(HOSTILE_NAME not in m for m in messages)
