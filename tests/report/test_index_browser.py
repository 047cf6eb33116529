"""The index in a real browser (Debian chromium, headless, driven by playwright): issue 14.

On a phone (390 px wide) every village's name and its income stay on the screen, the page is
no wider than the screen (the table scrolls in its own box) and the name stays in view when the
table is scrolled to its last column. A failed village puts a summary line at the top, the
status filter (CSS only, no script) shows the failures alone, and the failure's details wrap
instead of widening the page.

The pages are the session's ``demo_run`` index, and an index of the same run with one village
failed, written in-process with :func:`analysis.report.index_page.index_page` (no second run).
Screenshots go to ``test-artifacts/`` (gitignored). Skipped, with the reason, only when chromium
is not installed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from report_demo import DemoRun

from analysis.config import PROJECT_ROOT
from analysis.inputs.study import load_study
from analysis.report.html_export import find_chromium
from analysis.report.index_page import index_page
from analysis.run.batch import VillageResult

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = find_chromium()
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PHONE = 390

if CHROMIUM is None:
    pytest.skip(
        "chromium is not installed (Debian package `chromium`; `make test` installs it via "
        "scripts/install-chromium.sh)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


def _open(browser: Any, path: Path, width: int) -> tuple[Any, list[str]]:
    errors: list[str] = []
    page = browser.new_page(viewport={"width": width, "height": 844})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, errors


def _within(box: dict[str, float] | None, width: int) -> bool:
    return box is not None and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


def _visible_villages(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#villages tbody tr",
        "trs => trs.filter(r => r.getClientRects().length > 0).map(r => r.cells[0].textContent)",
    )


def test_a_phone_shows_every_village_s_name_and_income(browser: Any, demo_run: DemoRun) -> None:
    page, errors = _open(browser, demo_run.out / "index.html", PHONE)
    try:
        rows = page.locator("#villages tbody tr")
        assert rows.count() > 0
        for i in range(rows.count()):
            name, income = rows.nth(i).locator("td.name"), rows.nth(i).locator("td.income")
            assert _within(name.bounding_box(), PHONE), (i, name.bounding_box())
            assert _within(income.bounding_box(), PHONE), (i, income.bounding_box())
            assert name.inner_text().strip() and income.inner_text().startswith("Rp")
        # The page is no wider than the phone: the table scrolls inside its own box.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "index-390.png"), full_page=True)
        # Scrolled to its last column, the table still shows each village's name beside it.
        page.eval_on_selector(".wide", "el => { el.scrollLeft = el.scrollWidth; }")
        assert page.eval_on_selector(".wide", "el => el.scrollLeft") > 0
        for i in range(rows.count()):
            assert _within(rows.nth(i).locator("td.name").bounding_box(), PHONE), i
            assert _within(rows.nth(i).locator("td.status").bounding_box(), PHONE), i
        page.screenshot(path=str(ARTIFACTS / "index-390-scrolled.png"), full_page=True)
        assert errors == []
    finally:
        page.close()


def test_a_failed_village_is_summarized_filtered_and_wrapped(
    browser: Any, demo_run: DemoRun, tmp_path: Path
) -> None:
    out = demo_run.out
    villages = pd.read_csv(out / "tables" / "villages.csv", dtype={"village": str})["village"].tolist()
    failing = villages[1]
    results = [VillageResult(v, f"{v}.html", "ok", 1.0) for v in villages]
    results[1] = VillageResult(
        failing,
        f"{failing}.html",
        "failed",
        1.0,
        # A long error without spaces and a long cell: they must wrap, not widen the page.
        error="FileNotFoundError: /" + "/".join(["a_rather_long_folder_name"] * 12) + "/x.parquet",
        failure="exception",
        cell=7,
        cell_source="vr.income_figure(ctx, " + "keyword_argument_without_spaces=1," * 6 + ")",
        failed_notebook=f"villages/{failing}.failed.ipynb",
    )
    study = load_study(demo_run.study)
    html = index_page(study, out / "tables", results, has_programme=True, processed=out / "processed")
    index = tmp_path / "index.html"
    index.write_text(html, encoding="utf-8")
    n = len(villages)
    for width in (PHONE, 1280):
        page, errors = _open(browser, index, width)
        try:
            summary = page.locator("#run-summary")
            assert summary.is_visible()
            # The demo's reports are in Indonesian: "3 of 4 ... available, 1 failed."
            assert summary.inner_text().startswith(f"{n - 1} dari {n} laporan desa tersedia, 1 gagal.")
            assert _within(summary.bounding_box(), width)
            assert len(_visible_villages(page)) == n
            # The summary's label ticks the filter: only the failed village is left.
            page.click("#run-summary label")
            assert page.is_checked("#show-failed")
            assert _visible_villages(page) == [failing]
            # Its details wrap in a box of at most 30em, and the page is no wider than the window.
            box = page.locator("#villages tr[data-status=failed] .status-box")
            em = page.eval_on_selector("#villages", "el => parseFloat(getComputedStyle(el).fontSize)")
            assert box.bounding_box()["width"] <= 30 * em + 1
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            if width == PHONE:
                page.screenshot(path=str(ARTIFACTS / "index-390-failed.png"), full_page=True)
            page.click("label[for=show-ok]")
            assert failing not in _visible_villages(page) and len(_visible_villages(page)) == n - 1
            page.click("label[for=show-all]")
            assert len(_visible_villages(page)) == n
            # The filter is CSS: the page still runs only its own (sorting) script.
            assert page.eval_on_selector_all("script", "els => els.length") == 1
            assert errors == []
        finally:
            page.close()


def test_every_village_report_links_back_to_its_index(demo_run: DemoRun) -> None:
    pages = sorted((demo_run.out / "villages").glob("*.html"))
    assert pages
    for report in pages:
        links = re.findall(r'<p class="back-link"><a href="([^"]+)">', report.read_text(encoding="utf-8"))
        assert len(links) == 1, report.name
        target = (report.parent / links[0]).resolve()
        assert target.parent == demo_run.out.resolve() and target.is_file(), (report.name, links[0])
