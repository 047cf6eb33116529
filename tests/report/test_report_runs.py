"""The demo's reports end to end (real kernels, nbconvert): languages, provenance, disclosure, XSS and paths.

The runs are the session's ``demo_run`` and ``hostile_run`` (tests/conftest.py), shared read-only.
"""

from __future__ import annotations

import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_demo import (
    ENGLISH_PROGRAMME,
    ENGLISH_VILLAGE,
    ENGLISH_VILLAGE_PAGE,
    HOSTILE_CODE,
    HOSTILE_CODE_2,
    HOSTILE_NAME,
    DemoRun,
    personal_values,
)

from analysis.report import programme as pr
from analysis.report.text import TEXT
from analysis.shared.disclosure import scan_html

SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]+(\.[a-z]{2})?\.(html|pdf)$")


class _Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


@pytest.fixture
def demo(demo_run: DemoRun) -> Path:
    """The output folder of the session's demo run (tests/conftest.py); its data are beside it."""
    return demo_run.out


@pytest.fixture
def hostile(hostile_run: DemoRun) -> Path:
    return hostile_run.out


def test_village_reports_exist_in_both_languages(demo: Path) -> None:
    indonesian = (demo / "villages" / f"{ENGLISH_VILLAGE}.html").read_text()
    english = (demo / ENGLISH_VILLAGE_PAGE).read_text()
    assert '<html lang="id">' in indonesian and '<html lang="en">' in english
    for key in ("village_title", "households", "income", "participation", "goals", "data_quality", "provenance"):
        assert TEXT[key]["id"] in indonesian, key
        assert TEXT[key]["en"] in english, key
    assert "Median pendapatan bulanan per orang" in indonesian
    assert "Median monthly income per person" in english
    assert "kisaran" in indonesian and "(95% intervals)" in english
    # The attribution statement: the before/after change alone is not the programme's doing.
    assert "cannot be attributed to the programme" in english


def test_programme_report_in_both_languages_has_every_section(demo: Path) -> None:
    indonesian = (demo / "programme.html").read_text()
    english = (demo / ENGLISH_PROGRAMME).read_text()
    for key in ("programme_title", "summary", "design", "data_quality", "attrition", "impacts", "methods"):
        assert TEXT[key]["id"] in indonesian and TEXT[key]["en"] in english, key
    assert "McKenzie 2012" in english and "ANCOVA is the primary estimator" in english
    for table, key in (
        ("balance.csv", "balance"),
        ("lee_bounds.csv", "attrition"),
        ("alkire_foster.csv", "alkire_foster"),
        ("mde.csv", "mde"),
    ):
        if (demo / "tables" / table).is_file():
            assert TEXT[key]["en"] in english, table
            assert f"this run did not produce tables/{table}" not in english
        else:
            assert f"this run did not produce tables/{table}" in english


def test_every_page_is_self_contained_without_code_or_parameters(demo: Path) -> None:
    folder = demo.parent
    for page in _pages(demo):
        html = page.read_text()
        assert "study_path" not in html and "processed_dir" not in html and "tables_dir" not in html, page
        assert "from analysis" not in html and "import " not in html, page
        assert str(folder) not in html and "/tmp/" not in html, f"{page.name} leaks a local path"
        for tag, attrs in _tags(html):
            for name in ("src", "href"):
                value = attrs.get(name) or ""
                assert not re.match(r"^(https?:)?//", value), (page.name, tag, value)
            if tag == "img":
                assert (attrs.get("src") or "").startswith("data:image/png;base64,"), page.name
                assert attrs.get("alt") and "No description" not in (attrs.get("alt") or ""), page.name
        assert "default-src 'none'" in html


def test_scan_finds_no_personal_data_and_no_cell_under_min_cell(demo: Path) -> None:
    forbidden = personal_values(demo.parent / "data")
    assert len(forbidden) > 100  # names, phones, NIKs, GPS and household ids of the raw exports
    for page in _pages(demo):
        findings = scan_html(page.read_text(), min_cell=10, forbidden=forbidden)
        assert findings == [], (page.name, findings[:5])
    # The scan has something to check: counts and bases are marked in the village reports.
    village = (demo / "villages" / f"{ENGLISH_VILLAGE}.html").read_text()
    assert village.count('class="n') >= 5 and village.count("data-base=") >= 3


def test_provenance_block_ends_every_report(demo: Path) -> None:
    for page in [demo / "programme.html", demo / ENGLISH_PROGRAMME, *sorted((demo / "villages").glob("*.html"))]:
        html = page.read_text()
        block = html[html.index('class="provenance"') :]
        for name in ("study.yml", "baseline_2023.csv", "followup_2025.csv", "codebook.csv", "villages.csv"):
            assert re.search(re.escape(name) + r": <code>[0-9a-f]{64}</code>", block), (page.name, name)
        assert "berdaya run study.yml" in block and "pandas" in block and "min_cell = 10" in block
        assert re.search(r"(Run time|Waktu jalan): \d{4}-\d\d-\d\d", block)


def test_latex_export_of_the_programme_tables(demo: Path) -> None:
    latex = (demo / "tables" / "programme_report.tex").read_text()
    assert latex.startswith("\\documentclass") and latex.rstrip().endswith("\\end{document}")
    assert latex.count("\\begin{tabular}") >= 3 and "\\toprule" in latex
    # Outcome names such as income_pc reach LaTeX only escaped.
    assert not re.search(r"(?<!\\)_", latex.replace("\\_", ""))


def test_sections_are_omitted_with_a_note_when_their_table_is_missing(demo: Path) -> None:
    ctx = pr.load(
        str(demo.parent / "data" / "study.yml"),
        processed_dir=str(demo / "processed"),
        tables_dir=str(demo / "tables"),
        language="en",
    )
    bare = replace(ctx, tables=dict.fromkeys(pr.OPTIONAL_TABLES))
    for section, table in (
        (pr.balance_section, "balance.csv"),
        (pr.alkire_foster_section, "alkire_foster.csv"),
        (pr.mde_section, "mde.csv"),
        (pr.attrition_section, "lee_bounds.csv"),
    ):
        html = "".join(p._repr_html_() for p in section(bare) if hasattr(p, "_repr_html_"))
        assert f"this run did not produce tables/{table}" in html, table
    impact = "".join(p._repr_html_() for p in pr.impact_section(bare) if hasattr(p, "_repr_html_"))
    assert "p (CR1)" in impact and "p (wild bootstrap)" not in impact  # no inference table: CR1 only


# ---------------------------------------------------------------------------------------------
# Hostile village names and codes


def test_hostile_villages_get_safe_file_names_inside_the_output(hostile: Path) -> None:
    names = sorted(p.name for p in (hostile / "villages").iterdir())
    assert all(SAFE_NAME.match(n) for n in names), names
    assert "etc_passwd.html" in names and "img_src_x_onerror_alert_2.html" in names
    root = hostile.parent
    outside = [p for p in root.rglob("*") if "passwd" in p.name and not p.is_relative_to(hostile)]
    assert outside == []
    assert not Path("/etc/passwd.html").exists()
    notebooks = [p.name for p in (hostile / "notebooks").rglob("*.ipynb")]
    assert all(re.match(r"^[A-Za-z0-9_.-]+$", n) for n in notebooks), notebooks


def test_hostile_names_are_harmless_text_in_every_report(hostile: Path) -> None:
    report = (hostile / "villages" / "etc_passwd.html").read_text()
    assert "Laporan desa: &lt;script&gt;alert(1)&lt;/script&gt;" in report
    for page in _pages(hostile):
        html = page.read_text()
        scripts = [t for t, _ in _tags(html) if t == "script"]
        assert len(scripts) == (1 if page.name == "index.html" else 0), page.name
        for tag, attrs in _tags(html):
            assert not any(name.startswith("on") for name in attrs), (page.name, tag, attrs)
            assert tag not in ("iframe", "object", "embed", "form"), page.name
        assert "<img src=x" not in html and HOSTILE_NAME not in html, page.name
    index = (hostile / "index.html").read_text()
    assert 'href="villages/etc_passwd.html"' in index and 'href="villages/img_src_x_onerror_alert_2.html"' in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    assert HOSTILE_CODE in index or "../../etc/passwd" in index  # the code itself is shown, as text
    assert "&lt;img src=x onerror=alert(2)&gt;" in index and HOSTILE_CODE_2 not in index
