"""The index page: escaped, disclosure-controlled, every village's status and reason, sortable offline."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from analysis.inputs.study import Study
from analysis.report import summaries
from analysis.report.html_export import style_sheet
from analysis.report.index_page import BOOTSTRAP_REPS, CHANGES, INDEX_SCRIPT, index_page
from analysis.report.text import number, percent
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
    assert re.findall(r'href="([^"]+)"', body) == [
        "programme.html", "tables/", "run.json", "villages/etc_passwd.html", "villages/0102.html", "villages/0103.html",
    ]  # fmt: skip
    assert "Study &lt;b&gt;" in html


def test_small_counts_are_hidden_and_response_rates_are_exact(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results(), has_programme=True)
    assert scan_html(html, min_cell=10) == []
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr data-arm="[^"]*"[^>]*>(?:<td[^>]*>)([^<]*)</td>.*?</tr>', html)
    }
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
    assert 'href="tables/"' in html and 'href="run.json"' in html
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
    assert re.search(
        r'<td data-value="">[^<]*<span class="n suppressed">', html
    )  # 0103's 5 follow-up households


def test_a_village_without_a_result_is_marked_not_run(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results()[:1], has_programme=True)
    assert html.count('<div class="status-box">not run') == 3
    assert len(re.findall(r'data-show="[^"]*\bnot_run\b', html)) == 3


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


# --- the run's summary and the status filter ----------------------------------------------------


def _summary(html: str) -> str:
    match = re.search(r'<p class="run-summary[^"]*" id="run-summary">(.*?)</p>', html)
    assert match is not None
    return re.sub(r"<[^>]+>", "", match.group(1))


def test_a_failed_village_puts_a_summary_and_a_status_filter_at_the_top(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), _results(), has_programme=True)
    # 0104 failed; 0103 was written, although its figures are hidden.
    assert _summary(html) == "3 of 4 village reports available, 1 failed. Show the failed villages"
    assert '<p class="run-summary failed"' in html
    assert html.index('id="run-summary"') < html.index('id="villages"')
    # The summary's label ticks the filter's "failed" button: one click to the failures.
    assert '<label class="show-failed" for="show-failed">' in html
    # A button per status some village has, with its count; none for "not run" or "outdated".
    radios = re.findall(r'<input type="radio" name="status" id="show-([a-z_]+)"', html)
    assert radios == ["all", "failed", "ok", "hidden"]
    assert (
        '<label for="show-all">all (4)</label>' in html
        and '<label for="show-failed">failed (1)</label>' in html
    )
    assert '<label for="show-ok">available (3)</label>' in html
    assert '<label for="show-hidden">figures hidden (1)</label>' in html
    assert 'checked="checked"' in html.split('id="show-all"')[1].split(">")[0]
    # Rows carry the tokens the CSS selects on; a failure wins data-status over hidden figures.
    assert 'data-status="failed" data-show="all failed"' in _row(html, "0104")
    assert 'data-status="suppressed" data-show="all hidden ok"' in _row(html, "0103")
    # The radios come before the table's wrapper (the CSS's ~ needs them as earlier siblings).
    block = html.split('<div class="village-index">')[1]
    assert block.index('id="show-failed"') < block.index('<div class="wide">')
    css = style_sheet()
    assert "#show-failed:checked ~ .wide #villages tbody tr:not([data-show~=failed])" in css
    assert html.count("<script>") == 1  # the filter adds no script


def test_the_summary_counts_reports_not_run_and_outdated(tmp_path: Path) -> None:
    tables = _tables(tmp_path)
    ok = [replace(r, status="ok") for r in _results()]
    html = index_page(_study(tmp_path), tables, ok, has_programme=True)
    assert _summary(html) == "All 4 village reports are available."
    assert '<p class="run-summary" id="run-summary">' in html and "show-failed" not in html.split("<body>")[1]
    html = index_page(_study(tmp_path), tables, [replace(ok[0], outdated=True)], has_programme=True)
    assert _summary(html) == "1 of 4 village reports available, 3 not run, 1 outdated."
    assert re.findall(r'id="show-([a-z_]+)"', html) == ["all", "ok", "hidden", "not_run", "outdated"]
    indonesian = index_page(_study(tmp_path, "id"), tables, _results(), has_programme=True)
    assert _summary(indonesian) == "3 dari 4 laporan desa tersedia, 1 gagal. Tampilkan desa yang gagal"


def test_failure_details_sit_in_a_box_that_wraps(tmp_path: Path) -> None:
    html = index_page(_study(tmp_path), _tables(tmp_path), [_failed()], has_programme=False)
    assert '<td class="left status" data-value="failed"><div class="status-box">' in _row(html, "0104")
    css = style_sheet()
    assert re.search(r"#villages \.status-box \{[^}]*max-width: 30em;[^}]*overflow-wrap: anywhere", css)


def test_links_to_the_tables_the_run_record_and_the_other_language(tmp_path: Path) -> None:
    tables = _tables(tmp_path)
    html = index_page(
        _study(tmp_path, "id"),
        tables,
        [],
        has_programme=True,
        alternate={"en": "index_en.html", "id": "x.html"},
    )
    links = re.search(r'<p class="links">(.*?)</p>', html)
    assert links is not None
    assert re.findall(r'href="([^"]+)"', links.group(1)) == [
        "programme.html",
        "tables/",
        "run.json",
        "index_en.html",
    ]
    assert '<a href="index_en.html" hreflang="en" lang="en">English</a>' in html
    for unsafe in ("https://evil.example/index.html", "/etc/index.html", "../index_en.html"):
        html = index_page(_study(tmp_path, "id"), tables, [], has_programme=True, alternate={"en": unsafe})
        assert unsafe not in html


# --- intervals and cleaning counts from the processed folder -----------------------------------


def _write_processed(tmp_path: Path) -> tuple[Path, Path]:
    """A processed folder and the public ``villages.csv`` made from it.

    0201 doubles every income and adds one to every score; 0202 has the same answers in both
    rounds; 0203 has six households (hidden by the public tier). Cleaning files: quarantined
    rows 100, 101 (0201) and 102 (0203) at baseline; flags on rows 2 (twice: short and an
    outlier), 3 and 100 at baseline and row 2 at follow-up; duplicates rows 100 and 101.
    """
    processed, tables = tmp_path / "processed", tmp_path / "tables"
    processed.mkdir()
    tables.mkdir()
    rng = np.random.default_rng(7)
    panel_rows, clean_rows = [], {"baseline": [], "followup": []}
    for village, n, factor in (("0201", 40, 2.0), ("0202", 40, 1.0), ("0203", 6, 1.0)):
        base = rng.lognormal(13.5, 0.3, n)
        for round_name, values in (("baseline", base), ("followup", base * factor)):
            bump = 1.0 if factor > 1 and round_name == "followup" else 0.0
            for i, value in enumerate(values):
                panel_rows.append(
                    {
                        "village": village,
                        "round": round_name,
                        "income_pc": value,
                        "participation_score": i % 4 + bump,
                    }
                )
                clean_rows[round_name].append(village)
    panel = pd.DataFrame(panel_rows)
    panel.to_parquet(processed / "panel.parquet")
    for round_name, villages in clean_rows.items():
        # Row numbers start at 2 (a spreadsheet's first data row): rows 2 and 3 are 0201's.
        pd.DataFrame({"_row": range(2, 2 + len(villages)), "village": villages}).to_parquet(
            processed / f"{round_name}_clean.parquet"
        )
    pd.DataFrame({"_row": [100, 101, 102], "village": ["0201", "0201", "0203"], "reason": "x"}).to_csv(
        processed / "baseline_quarantine.csv", index=False
    )
    pd.DataFrame(
        {
            "_row": [2, 2, 3, 100],
            "flag": ["too_short:10min", "outlier:income", "outlier:debt", "too_short:10min"],
        }
    ).assign(detail="").to_csv(processed / "baseline_quality.csv", index=False)
    pd.DataFrame({"_row": [2], "flag": ["too_short:10min"], "detail": [""]}).to_csv(
        processed / "followup_quality.csv", index=False
    )
    pd.DataFrame({"round": "baseline", "group": 1, "row": [100, 101], "state": "quarantined"}).to_csv(
        processed / "baseline_duplicates.csv", index=False
    )
    stats = panel.groupby(["village", "round"]).agg(
        income=("income_pc", "median"), score=("participation_score", "mean"), n=("income_pc", "size")
    )
    villages = pd.DataFrame(
        {
            "village": ["0201", "0202", "0203"], "treatment": [1, 0, 0], "baseline_only": [0, 0, 0],
            "followup_only": [0, 0, 0], "panel": [40, 40, None], "baseline": [40, 40, None],
            "followup": [40, 40, None], "village_name": ["Doubles", "Same", "Tiny"],
            "suppressed": ["", "", "small"],
        }
    )  # fmt: skip
    for column, stat in (("income_pc", "income"), ("participation_score", "score")):
        for round_name in ("baseline", "followup"):
            values = [stats.at[(v, round_name), stat] for v in ("0201", "0202")]
            villages[f"{column}_{round_name}"] = [*values, None]
    villages.to_csv(tables / "villages.csv", index=False)
    return processed, tables


def _cells(row: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row)


def test_each_village_shows_its_cleaning_counts(tmp_path: Path) -> None:
    processed, tables = _write_processed(tmp_path)
    html = index_page(_study(tmp_path), tables, [], has_programme=False, processed=processed)
    assert scan_html(html, min_cell=10) == []
    # Columns 11–14: quarantined, flagged, duplicates, too short (both rounds).
    counts = {
        v: [re.sub(r"<[^>]+>", "", c) for c in _cells(_row(html, v))[11:15]] for v in ("0201", "0202", "0203")
    }
    # 0201: rows 100 and 101 quarantined; flagged rows 2, 3 and 100 at baseline and 2 at
    # follow-up (row 2's two flags count once); duplicates 100 and 101; too short 2, 100, 2.
    assert counts["0201"] == ["2", "4", "2", "3"]
    assert counts["0202"] == ["0", "0", "0", "0"]
    # A hidden village's cleaning counts are published at any size (docs/disclosure.md rule 4).
    assert counts["0203"] == ["1", "0", "0", "0"]
    assert '<span class="n fieldwork">1</span>' in _row(html, "0203")
    assert "Data quality counts the records of both rounds" in html
    # Without the processed folder the columns read "–".
    bare = index_page(_study(tmp_path), tables, [], has_programme=False)
    assert [re.sub(r"<[^>]+>", "", c) for c in _cells(_row(bare, "0201"))[11:15]] == ["–"] * 4


def test_a_change_within_noise_is_marked_and_its_interval_shown(tmp_path: Path) -> None:
    processed, tables = _write_processed(tmp_path)
    study = _study(tmp_path)
    html = index_page(study, tables, [], has_programme=False, processed=processed)
    doubles, same, tiny = (_cells(_row(html, v)) for v in ("0201", "0202", "0203"))
    panel = pd.read_parquet(processed / "panel.parquet")
    for cells, village in ((doubles, "0201"), (same, "0202")):
        for index, column, relative in ((3, "income_pc", True), (5, "participation_score", False)):
            change = summaries.village_change(
                panel.assign(treatment=0), village=village, column=column, statistic="median" if relative else "mean",
                relative=relative, min_cell=10, seed=study.seed, reps=999,
            ).village  # fmt: skip
            fmt = (
                (lambda v: percent(v, "en", signed=True))
                if relative
                else (lambda v: number(v, "en", digits=1, signed=True))
            )
            assert f'<span class="ci">[{fmt(change.low)}, {fmt(change.high)}]</span>' in cells[index], (
                village,
                column,
            )
            assert ('class="noise"' in cells[index]) == (village == "0202"), (village, column)
    assert doubles[3].startswith("+100%")
    # A hidden village shows neither a change nor an interval.
    assert 'class="ci"' not in tiny[3] and 'class="noise"' not in tiny[3]
    assert "within noise" in html and "999 times" in html
    assert scan_html(html, min_cell=10) == []
    # With a decimal comma, the interval's two ends are separated by a semicolon.
    indonesian = index_page(_study(tmp_path, "id"), tables, [], has_programme=False, processed=processed)
    assert re.search(r'<span class="ci">\[[+−]\d+,\d; [+−]\d+,\d\]</span>', _row(indonesian, "0201"))


def test_the_index_draws_the_intervals_the_village_report_draws() -> None:
    from analysis.report import village
    from analysis.stages.estimate import VILLAGE_STATISTICS

    assert BOOTSTRAP_REPS == village.BOOTSTRAP_REPS
    assert {column: statistic for column, (statistic, _) in CHANGES.items()} == VILLAGE_STATISTICS


def _one_village(before: np.ndarray, after: np.ndarray, column: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "village": "A",
            "round": ["baseline"] * len(before) + ["followup"] * len(after),
            column: np.concatenate([before, after]),
        }
    )


def test_village_intervals_agree_with_scipy_s_bootstrap() -> None:
    from scipy import stats

    rng = np.random.default_rng(11)
    before, after = rng.lognormal(13.5, 0.5, 400), rng.lognormal(13.6, 0.5, 300)
    got = summaries.village_changes(
        _one_village(before, after, "income_pc"), column="income_pc", statistic="median", relative=True,
        min_cell=10, seed=3, reps=4999,
    ).loc["A"]  # fmt: skip

    def ratio(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(a, axis=axis) / np.median(b, axis=axis) - 1

    ref = stats.bootstrap(
        (after, before), ratio, paired=False, vectorized=True, n_resamples=4999, method="percentile",
        rng=np.random.default_rng(5),
    ).confidence_interval  # fmt: skip
    assert got["change"] == pytest.approx(np.median(after) / np.median(before) - 1)
    width = ref.high - ref.low
    assert abs(got["low"] - ref.low) < 0.1 * width and abs(got["high"] - ref.high) < 0.1 * width
    assert (got["n_before"], got["n_after"]) == (400, 300)


def test_village_intervals_of_a_mean_agree_with_the_normal_approximation() -> None:
    rng = np.random.default_rng(12)
    before, after = rng.integers(0, 7, 500).astype(float), rng.integers(0, 7, 450).astype(float) + 0.2
    got = summaries.village_changes(
        _one_village(before, after, "score"), column="score", statistic="mean", relative=False,
        min_cell=10, seed=4, reps=4999,
    ).loc["A"]  # fmt: skip
    difference = after.mean() - before.mean()
    half = 1.959964 * np.sqrt(after.var(ddof=1) / len(after) + before.var(ddof=1) / len(before))
    assert got["change"] == pytest.approx(difference)
    assert got["low"] == pytest.approx(difference - half, abs=0.08 * half)
    assert got["high"] == pytest.approx(difference + half, abs=0.08 * half)
    assert not got["within_noise"] if difference - half > 0 else got["within_noise"]


def test_village_intervals_are_the_village_report_s_and_hidden_below_min_cell() -> None:
    rng = np.random.default_rng(13)
    panel = pd.concat(
        [
            _one_village(rng.normal(5, 1, 30), rng.normal(5.5, 1, 25), "x").assign(village=v)
            for v in ("A", "B")
        ]
        + [_one_village(rng.normal(5, 1, 9), rng.normal(5, 1, 30), "x").assign(village="C")]
    ).sample(frac=1, random_state=1)  # households of all villages interleaved, as in a panel
    got = summaries.village_changes(
        panel, column="x", statistic="mean", relative=False, min_cell=10, seed=9, reps=199
    )
    for village in ("A", "B"):
        own = summaries.village_change(
            panel.assign(treatment=1), village=village, column="x", statistic="mean", relative=False,
            min_cell=10, seed=9, reps=199,
        ).village  # fmt: skip
        assert (got.at[village, "low"], got.at[village, "high"]) == (own.low, own.high)
    assert (
        np.isnan(got.at["C", "change"]) and np.isnan(got.at["C", "low"]) and not got.at["C", "within_noise"]
    )
    assert got.at["C", "n_before"] == 9


def test_within_noise_is_an_interval_holding_zero() -> None:
    assert summaries.within_noise(-0.1, 0.2) and summaries.within_noise(0.0, 0.3)
    assert not summaries.within_noise(0.01, 0.2) and not summaries.within_noise(-0.3, -0.01)
    assert not summaries.within_noise(float("nan"), 0.2)


def test_quality_by_village_counts_each_record_once_per_kind() -> None:
    rows = pd.DataFrame(
        {
            "round": ["baseline"] * 3 + ["followup"] * 2,
            "_row": [2, 3, 4, 2, 3],
            "village": ["A", "A", "B", "B", None],
        }
    )
    got = summaries.quality_by_village(
        rows,
        quarantine=pd.DataFrame({"round": ["baseline"], "_row": ["4"]}),
        flags=pd.DataFrame(
            {
                "round": ["baseline", "baseline", "followup", "followup"],
                "_row": ["2", "2", "2", "3"],
                "flag": ["too_short:5min", "outlier:x", "outside_fieldwork_window", "too_short:5min"],
            }
        ),
        duplicates=pd.DataFrame({"round": ["baseline", "baseline", "followup"], "_row": [2, 3, 9]}),
    )
    # Row 2 is A's at baseline and B's at follow-up; follow-up row 3 has no village; row 9 no record.
    assert got.to_dict("index") == {
        "A": {"quarantined": 0, "flagged": 1, "duplicates": 2, "short": 1},
        "B": {"quarantined": 1, "flagged": 1, "duplicates": 0, "short": 0},
    }


@pytest.mark.parametrize(
    ("language", "others", "index"),
    [
        ("id", {}, "index.html"),  # one language
        ("id", {"en": "0101.en.html"}, "index.html"),  # the run's first language
        ("en", {"id": "0101.html"}, "index.en.html"),  # a second language
    ],
)
def test_a_village_report_links_back_to_the_index_in_its_language(
    language: str, others: dict[str, str], index: str
) -> None:
    from types import SimpleNamespace

    from analysis.report.village import _index_file

    assert _index_file(SimpleNamespace(language=language, other_languages=others)) == index  # type: ignore[arg-type]
