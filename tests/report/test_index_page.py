"""The index page: escaped, disclosure-controlled, every village's status and reason, sortable offline."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.inputs.study import Study
from analysis.report.index_page import INDEX_SCRIPT, index_page
from analysis.run.batch import VillageResult
from analysis.shared.disclosure import scan_html


def _result(village: str, file: str, status: Any, **values: Any) -> VillageResult:
    return VillageResult(village, file, status, seconds=values.pop("seconds", 1.0), **values)


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


def _results() -> list[VillageResult]:
    return [
        _result("../../etc/passwd", "etc_passwd.html", "ok"),
        _result("0102", "0102.html", "ok"),
        _result("0103", "0103.html", "ok"),
        _result("0104", "0104.html", "failed", error="PapermillExecutionError: <img src=x onerror=alert(3)>"),
    ]


def test_hostile_names_are_text_and_links_use_safe_file_names(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results(), has_programme=True)
    body = html.split("<body>")[1]
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<img" not in body and "&lt;img src=x onerror=alert(3)&gt;" in body
    assert re.findall(r'href="([^"]+)"', body) == ["programme.html", "villages/etc_passwd.html", "villages/0102.html", "villages/0103.html"]
    assert "Study &lt;b&gt;" in html


def test_small_counts_are_hidden_and_response_rates_are_exact(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results(), has_programme=True)
    assert scan_html(html, min_cell=10) == []
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr data-arm="[^"]*"[^>]*>(?:<td[^>]*>)([^<]*)</td>.*?</tr>', html)}
    # 36 of 40 found: the 4 not found are a fieldwork count, published at any size, so the rate
    # is exact (it used to read "≥ 78%", the bound a hidden count of 4 implies).
    assert 'data-value="0.9">90%' in rows["../../etc/passwd"] and "≥" not in html
    assert "71%" in rows["0102"]  # 30 of 42 found, 12 lost: exact
    assert '<span class="suppressed">hidden</span>' in rows["0103"]  # a base of 6 households
    assert "fewer than 10 households: figures hidden" in rows["0103"]
    assert 'data-status="suppressed"' in rows["0103"]
    assert "Error:</span> PapermillExecutionError" in rows["0104"] and "<a " not in rows["0104"]


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


def _row(html: str, village: str) -> str:
    match = re.search(rf'<tr [^>]*><td data-value="{re.escape(village)}">.*?</tr>', html)
    assert match is not None, village
    return match.group(0)


def _failed(**values: Any) -> VillageResult:
    return _result(
        "0104",
        "0104.html",
        "failed",
        **{
            "error": "ValueError: <script>alert(4)</script> & more",
            "failure": "exception",
            "cell": 7,
            "cell_source": 'vr.figure("<b>")',
            "failed_notebook": "villages/0104.failed.ipynb",
            **values,
        },
    )


def test_a_failed_village_shows_its_cell_and_error_and_links_its_kept_notebook(tmp_path: Path) -> None:
    results = [*_results()[:3], _failed()]
    html = index_page(_study(tmp_path), _tables(tmp_path), results, has_programme=False)
    row = _row(html, "0104")
    assert 'data-status="failed"' in row
    assert '<span class="status-failed">failed</span>' in row
    # The cell and the error are separate, labelled, and escaped.
    assert (
        '<div class="failure-cell"><span class="note">Cell:</span> '
        "<code>In [7] `vr.figure(&quot;&lt;b&gt;&quot;)`</code></div>"
    ) in row
    assert (
        '<div class="failure-error"><span class="note">Error:</span> '
        "ValueError: &lt;script&gt;alert(4)&lt;/script&gt; &amp; more</div>"
    ) in row
    assert "<script>alert(4)" not in html and "<b>" not in row
    # The kept notebook is linked relative to index.html (reports are opened from file:).
    assert (
        '<div class="failure-notebook"><a href="villages/0104.failed.ipynb">Failed notebook</a></div>' in row
    )
    assert re.findall(r'href="([^"]+)"', row) == ["villages/0104.failed.ipynb"]
    # The report's own file, which does not exist, is not linked.
    assert 'href="villages/0104.html"' not in html


def test_a_failed_village_in_indonesian_and_without_a_cell_or_notebook(tmp_path: Path) -> None:
    tables = _tables(tmp_path)
    html = index_page(_study(tmp_path, "id"), tables, [_failed()], has_programme=False)
    row = _row(html, "0104")
    assert '<span class="status-failed">gagal</span>' in row
    assert '<span class="note">Sel:</span> <code>In [7]' in row
    assert '<span class="note">Galat:</span> ValueError: &lt;script&gt;' in row
    assert '<a href="villages/0104.failed.ipynb">Notebook yang gagal</a>' in row
    # A timeout the pool noticed has no cell and no notebook: only the error is shown.
    lost = _failed(
        error="took longer than 5 s", failure="timeout", cell=None, cell_source="", failed_notebook=""
    )
    row = _row(index_page(_study(tmp_path), tables, [lost], has_programme=False), "0104")
    assert "failure-cell" not in row and "failure-notebook" not in row and "<a " not in row
    assert '<span class="note">Error:</span> took longer than 5 s</div>' in row


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../0104.failed.ipynb",
        "villages/../../secret.ipynb",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "C:\\reports\\0104.failed.ipynb",
        "//evil.example/x.ipynb",
    ],
)
def test_a_failed_notebook_path_outside_the_output_folder_is_not_linked(tmp_path: Path, path: str) -> None:
    html = index_page(
        _study(tmp_path), _tables(tmp_path), [_failed(failed_notebook=path)], has_programme=False
    )
    row = _row(html, "0104")
    assert "<a " not in row and "failure-notebook" not in row
    assert "Error:</span> ValueError" in row


def test_a_failed_notebook_name_is_url_encoded(tmp_path: Path) -> None:
    result = _failed(failed_notebook="villages/desa #1?.failed.ipynb")
    html = index_page(_study(tmp_path), _tables(tmp_path), [result], has_programme=False)
    assert 'href="villages/desa%20%231%3F.failed.ipynb"' in _row(html, "0104")


def test_villages_the_public_tier_hid_read_hidden_with_their_reason(tmp_path: Path) -> None:
    tables = tmp_path / "tables"
    tables.mkdir()
    pd.DataFrame(
        {
            "village": ["0101", "0102", "0103"], "treatment": [1, 1, 1], "panel": [None, None, 30],
            "baseline_only": [0, 2, 3], "followup_only": [0, 1, 0], "baseline": [None, None, 33],
            "followup": [None, None, 30], "village_name": ["A", "B", "C"],
            "income_pc_followup": [None, None, 900000], "suppressed": ["small", "complementary", None],
        }
    ).to_csv(tables / "villages.csv", index=False)  # fmt: skip
    html = index_page(_study(tmp_path), tables, [], has_programme=False)
    assert scan_html(html, min_cell=10) == []
    small, complement, shown = (_row(html, v) for v in ("0101", "0102", "0103"))
    assert "fewer than 10 households: figures hidden" in small
    assert "figures hidden so that a smaller village" in complement
    for row in (small, complement):
        assert 'data-status="suppressed"' in row and row.count(">hidden<") == 3  # two counts and the rate
    assert 'data-value="0.9090909090909091">91%' in shown and 'data-status="not_run"' in shown
    assert "Disclosure control: no published table" in html
