"""The demo's reports in a real browser: Debian chromium, headless, driven by playwright.

Each page must load every image (naturalWidth > 0), log no console error, request nothing but
``file:`` and ``data:`` URLs, and the index must sort and filter. Hostile village names must not
run a script (no dialog opens). Screenshots go to ``test-artifacts/`` (gitignored).

The pages are those of the session's ``demo_run`` and ``hostile_run`` (tests/conftest.py). These
tests are skipped, with the reason, only when chromium is not installed. ``playwright
install`` is never needed: the system chromium is launched by path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from report_demo import (
    DEMO_VILLAGES,
    ENGLISH_PROGRAMME,
    ENGLISH_VILLAGE,
    ENGLISH_VILLAGE_PAGE,
    HOSTILE_NAME,
    DemoRun,
)

from analysis.config import PROJECT_ROOT
from analysis.report.html_export import find_chromium

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

CHROMIUM = find_chromium()
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if CHROMIUM is None:
    pytest.skip(
        "chromium is not installed (Debian package `chromium`; `make test` installs it via "
        "scripts/install-chromium.sh)",
        allow_module_level=True,
    )


@dataclass
class Visit:
    """What happened while a page was open."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


def _open(browser: Any, page_path: Path, *, width: int = 1280) -> tuple[Any, Visit]:
    visit = Visit()
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.page_errors.append(str(e)))
    page.on("request", lambda r: visit.requests.append(r.url))

    def dismiss(dialog: Any) -> None:
        visit.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.goto(page_path.resolve().as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, visit


def _check(page: Any, visit: Visit, *, min_images: int) -> None:
    images = page.eval_on_selector_all(
        "img", "els => els.map(e => ({ok: e.complete && e.naturalWidth > 0, w: e.naturalWidth}))"
    )
    assert len(images) >= min_images, images
    assert all(i["ok"] for i in images), images
    assert visit.console_errors == [], visit.console_errors
    assert visit.page_errors == [], visit.page_errors
    assert visit.dialogs == [], visit.dialogs
    foreign = [u for u in visit.requests if not (u.startswith("file://") or u.startswith("data:"))]
    assert foreign == [], foreign


def _screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


@pytest.mark.parametrize(
    ("relative", "language", "min_images", "shot"),
    [
        (f"villages/{ENGLISH_VILLAGE}.html", "id", 4, "village-id.png"),
        (ENGLISH_VILLAGE_PAGE, "en", 4, "village-en.png"),
        ("programme.html", "id", 1, "programme-id.png"),
        (ENGLISH_PROGRAMME, "en", 1, "programme-en.png"),
    ],
)
def test_report_loads_every_image_without_errors_or_network(
    browser: Any, demo_run: DemoRun, relative: str, language: str, min_images: int, shot: str
) -> None:
    page, visit = _open(browser, demo_run.out / relative)
    try:
        _check(page, visit, min_images=min_images)
        assert page.get_attribute("html", "lang") == language
        assert page.eval_on_selector_all("script", "els => els.length") == 0
        _screenshot(page, shot)
    finally:
        page.close()


def test_index_sorts_and_filters_offline(browser: Any, demo_run: DemoRun) -> None:
    page, visit = _open(browser, demo_run.out / "index.html")
    try:
        _check(page, visit, min_images=0)
        rows = "#villages tbody tr"
        assert page.locator(rows).count() == len(DEMO_VILLAGES)

        def column(index: int) -> list[str]:
            return page.eval_on_selector_all(
                rows, f"trs => trs.map(r => r.cells[{index}].getAttribute('data-value'))"
            )

        headers = page.locator("#villages thead tr:last-child th")
        headers.nth(3).click()  # the change in income (a number)
        ascending = [float(v) for v in column(3) if v]
        assert ascending == sorted(ascending)
        assert page.get_attribute("#villages thead tr:last-child th:nth-child(4)", "aria-sort") == "ascending"
        headers.nth(3).click()
        descending = [float(v) for v in column(3) if v]
        assert descending == sorted(descending, reverse=True)
        headers.nth(1).click()  # village names, as text
        names = column(1)
        assert names == sorted(names)

        page.fill("#filter", "0202")
        visible = page.eval_on_selector_all(rows, "trs => trs.filter(r => !r.hidden).length")
        assert visible == 1
        page.fill("#filter", "")
        page.select_option("#arm", "programme")
        arms = page.eval_on_selector_all(
            rows, "trs => trs.filter(r => !r.hidden).map(r => r.getAttribute('data-arm'))"
        )
        assert arms and set(arms) == {"programme"}
        page.select_option("#arm", "")
        _screenshot(page, "index.png")
        links = page.eval_on_selector_all("#villages a", "as => as.map(a => a.href)")
        assert links and all(link.startswith("file://") and "/villages/" in link for link in links)
        assert visit.console_errors == [] and visit.page_errors == []
    finally:
        page.close()


def test_hostile_village_names_run_no_script(browser: Any, hostile_run: DemoRun) -> None:
    out = hostile_run.out
    for relative, shot in (
        ("villages/etc_passwd.html", "hostile-village.png"),
        ("villages/img_src_x_onerror_alert_2.html", None),
        ("index.html", "hostile-index.png"),
        ("programme.html", None),
    ):
        page, visit = _open(browser, out / relative)
        try:
            _check(page, visit, min_images=0)
            if relative.startswith("villages/etc"):
                assert HOSTILE_NAME in page.inner_text("h1")  # shown as text
            if relative == "index.html":
                assert HOSTILE_NAME in page.inner_text("#villages")
            if shot:
                _screenshot(page, shot)
        finally:
            page.close()
