"""The index page: escaped, disclosure-controlled, every village's status and reason, sortable offline."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from analysis.disclosure import scan_html
from analysis.index_page import INDEX_SCRIPT, index_page
from analysis.study import Study


@dataclass(frozen=True)
class Result:
    village: str
    file: str
    status: str
    seconds: float = 1.0
    error: str = ""


def _study(tmp_path: Path, language: str = "en") -> Study:
    return Study(
        path=tmp_path / "study.yml",
        name="Study <b>",
        rounds={},
        id="hhid",
        treatment="treat",
        outcomes=(),
        language=language,  # type: ignore[arg-type]
        min_cell=10,
    )


def _tables(tmp_path: Path) -> Path:
    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame(
        [
            # village, treatment, found, lost, new, baseline, followup, name, incomes, scores
            ["../../etc/passwd", 1, 36, 4, 2, 40, 38, "<script>alert(1)</script>", 800000, 900000, 1.5, 2.0],
            ["0102", 0, 30, 12, 0, 42, 30, "Karangmulyo", 700000, 735000, 1.4, 1.5],
            ["0103", 0, 5, 1, 0, 6, 5, "Tiny", None, None, None, None],
            ["0104", 1, 30, 10, 0, 40, 30, "Broken", 600000, 630000, 1.0, 1.2],
        ],
        columns=[
            "village", "treatment", "panel", "baseline_only", "followup_only", "baseline", "followup",
            "village_name", "income_pc_baseline", "income_pc_followup", "participation_score_baseline",
            "participation_score_followup",
        ],
    ).to_csv(tables / "villages.csv", index=False)  # fmt: skip
    return tables


def _results() -> list[Result]:
    return [
        Result("../../etc/passwd", "etc_passwd.html", "ok"),
        Result("0102", "0102.html", "ok"),
        Result("0103", "0103.html", "ok"),
        Result("0104", "0104.html", "failed", error="PapermillExecutionError: <img src=x onerror=alert(3)>"),
    ]


def test_hostile_names_are_text_and_links_use_safe_file_names(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results(), has_programme=True)
    body = html.split("<body>")[1]
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img" not in body and "&lt;img src=x onerror=alert(3)&gt;" in body
    assert re.findall(r'href="([^"]+)"', body) == ["programme.html", "villages/etc_passwd.html", "villages/0102.html", "villages/0103.html"]
    assert "Study &lt;b&gt;" in html


def test_small_counts_are_hidden_and_rates_bounded(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results(), has_programme=True)
    assert scan_html(html, min_cell=10) == []
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr data-arm="[^"]*"[^>]*>(?:<td[^>]*>)([^<]*)</td>.*?</tr>', html)}
    assert "≥ 78%" in rows["../../etc/passwd"]  # 36 of 40 found; the 4 lost are hidden
    assert "71%" in rows["0102"]  # 30 of 42 found, 12 lost: exact
    assert "fewer than 10 households: figures hidden" in rows["0103"]
    assert 'data-status="suppressed"' in rows["0103"]
    assert "failed: PapermillExecutionError" in rows["0104"] and "<a " not in rows["0104"]


def test_the_page_needs_no_network_and_only_its_own_script_runs(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results(), has_programme=False)
    assert "programme.html" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    digest = base64.b64encode(hashlib.sha256(INDEX_SCRIPT.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in html and html.count("<script>") == 1


def test_headings_follow_the_study_language(tmp_path: Path) -> None:
    tables = _tables(tmp_path)
    indonesian = index_page(_study(tmp_path, "id"), tables, _results(), has_programme=True)
    english = index_page(replace(_study(tmp_path), language="en"), tables, _results(), has_programme=True)
    assert '<html lang="id">' in indonesian and "Semua desa" in indonesian and "Laporan program" in indonesian
    assert '<html lang="en">' in english and "All villages" in english


def test_sorting_values_are_numbers_and_hidden_cells_sort_last(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results(), has_programme=True)
    assert 'data-value="0.125"' in html  # 900000 / 800000 − 1
    assert re.search(r'<td data-value="">[^<]*<span class="n suppressed">', html)  # 0103's 5 follow-up households


def test_a_village_without_a_result_is_marked_not_run(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results()[:1], has_programme=True)
    assert html.count("not run") == 3
