"""The printed reports: A4 PDFs next to every HTML page, laid out for paper, identical on rebuild.

The PDFs are those ``berdaya run`` wrote for the session's ``demo_run`` (tests/conftest.py);
two builds are the ``checkouts`` of tests/run/test_reproducible.py. ``--no-pdf`` and a missing
chromium are checked on a copy of the demo run, run again: every other step is then skipped.
Text per page comes from pypdf, as a reader's PDF viewer would find it. Tests that use those
runs are marked ``e2e`` by tests/conftest.py; the others (the study key, no chromium on the PATH)
run in ``make test-fast``.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import unicodedata
from pathlib import Path

import pytest
from commands import berdaya
from report_demo import DEMO_OPTIONS, DEMO_VILLAGES, DemoRun

from analysis.errors import ReportError
from analysis.inputs.study import load_study
from analysis.report.html_export import find_chromium
from analysis.report.pdf import PdfPage, PdfStamp, data_dates, print_pdfs
from analysis.report.text import t
from analysis.shared import layout

pypdf = pytest.importorskip("pypdf")

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian package `chromium`; `make test` installs it)"
)

#: A4 in PostScript points, and what a PDF viewer would call the same size.
A4 = (595.28, 841.89)
#: Fewer letters than this besides headings is a page that holds nothing but a heading.
MIN_BODY_LETTERS = 20
#: A hash or commit (the provenance block's): the footer's 12-digit hash is shorter.
HASH = re.compile(r"[0-9a-f]{24,}")


def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _headings(page_html: str) -> list[str]:
    found = re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", page_html, flags=re.DOTALL)
    return [_normal(html.unescape(re.sub(r"<[^>]+>", "", h)).replace("¶", "")) for h in found]


def _pages(pdf: Path) -> list[str]:
    return [_normal(page.extract_text() or "") for page in pypdf.PdfReader(pdf).pages]


def _body(text: str, *, title: str, dated: str, study: str) -> str:
    """A page's text without the running header (the page's title and date) and footer."""
    text = text.replace(title, " ").replace(_normal(dated), " ")
    text = re.sub(re.escape(_normal(study)) + r" · berdaya · SHA-256 [0-9a-f]{12}", " ", text)
    return re.sub(r"\b\d+ / \d+\b", " ", text)


def _printed(demo: DemoRun) -> list[tuple[Path, Path]]:
    villages = demo.out / layout.VILLAGES_DIR
    pairs = [(demo.out / layout.PROGRAMME_HTML, demo.out / layout.PROGRAMME_PDF)]
    pairs += [(villages / layout.village_html(v), villages / layout.village_pdf(v)) for v in DEMO_VILLAGES]
    return pairs


@needs_chromium
def test_every_report_has_an_a4_pdf_next_to_it(demo_run: DemoRun) -> None:
    for page_html, pdf in _printed(demo_run):
        assert page_html.is_file(), page_html
        assert pdf.is_file(), f"no PDF next to {page_html.name}: {demo_run.run.stderr[-2000:]}"
        reader = pypdf.PdfReader(pdf)
        assert len(reader.pages) >= 1
        for number, page in enumerate(reader.pages, start=1):
            size = (float(page.mediabox.width), float(page.mediabox.height))
            assert size == pytest.approx(A4, abs=1.0), (pdf.name, number, size)
    assert "PDFs:" in demo_run.run.stderr


@needs_chromium
@pytest.mark.parametrize("which", ["programme", *DEMO_VILLAGES])
def test_no_page_holds_only_a_heading_or_only_provenance(demo_run: DemoRun, which: str) -> None:
    pairs = dict(zip(["programme", *DEMO_VILLAGES], _printed(demo_run), strict=True))
    page_html, pdf = pairs[which]
    source = page_html.read_text(encoding="utf-8")
    title = _normal(html.unescape(re.search(r"<title>(.*?)</title>", source, flags=re.DOTALL).group(1)))
    headings = sorted(_headings(source), key=len, reverse=True)
    provenance = _normal(t("provenance", "id"))
    study = load_study(demo_run.study)
    fieldwork = study.fieldwork.get("followup")
    dated = data_dates(fieldwork[1] if fieldwork else None, study.rounds["followup"].year)[0][study.language]
    assert dated
    pages = _pages(pdf)
    assert pages, pdf
    for number, text in enumerate(pages, start=1):
        # The running header and footer are on every page: the title, and the inputs' hash.
        assert title in text and _normal(dated) in text, (number, title, dated, text[:200])
        assert re.search(r"SHA-256 [0-9a-f]{12}", text), (number, text[-200:])
        body = _body(text, title=title, dated=dated, study=study.name)
        rest = body
        for heading in headings:
            rest = rest.replace(heading, " ")
        letters = len(re.sub(r"\W", "", rest))
        assert letters >= MIN_BODY_LETTERS, f"{pdf.name} page {number} holds only headings: {body!r}"
        # Provenance stays on screen: no page of hashes, no run time that would differ per build.
        assert not HASH.search(text), f"{pdf.name} page {number} prints hashes"
        assert provenance not in text, f"{pdf.name} page {number} prints the provenance block"


@needs_chromium
def test_no_chart_is_cut_across_two_pages(demo_run: DemoRun) -> None:
    for _, pdf in _printed(demo_run):
        seen: dict[str, int] = {}
        for number, page in enumerate(pypdf.PdfReader(pdf).pages, start=1):
            for image in page.images:
                digest = hashlib.sha256(image.data).hexdigest()
                assert digest not in seen, f"{pdf.name}: one chart on pages {seen[digest]} and {number}"
                seen[digest] = number
        if pdf.name == layout.PROGRAMME_PDF:
            assert seen, "the programme report prints its coefficient plot"


@needs_chromium
def test_pdfs_carry_no_print_time_and_a_content_id(demo_run: DemoRun) -> None:
    for _, pdf in _printed(demo_run):
        reader = pypdf.PdfReader(pdf)
        info = reader.metadata or {}
        # The demo study gives the follow-up year, so the dates are the data's, not the print's.
        for key in ("/CreationDate", "/ModDate"):
            assert str(info.get(key, "")).startswith("D:2025"), (pdf.name, key, info.get(key))
        assert "/Metadata" not in reader.trailer["/Root"]
        assert len(reader.trailer["/ID"]) == 2


@pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / ".git").exists(), reason="needs the project's git repository"
)
@needs_chromium
def test_two_builds_give_identical_pdfs(checkouts: dict[str, Path]) -> None:
    first, second = checkouts["checkout-a"], checkouts["checkout-b"]
    pdfs = sorted(p.relative_to(first).as_posix() for p in first.rglob(f"*{layout.PDF_SUFFIX}"))
    assert layout.PROGRAMME_PDF in pdfs and any(p.startswith(f"{layout.VILLAGES_DIR}/") for p in pdfs)
    assert pdfs == sorted(p.relative_to(second).as_posix() for p in second.rglob(f"*{layout.PDF_SUFFIX}"))
    differing = [p for p in pdfs if (first / p).read_bytes() != (second / p).read_bytes()]
    assert differing == []


# --- without PDFs: --no-pdf, and no chromium --------------------------------------------------


@pytest.fixture(scope="module")
def rerun_copy(demo_run: DemoRun, tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """A copy of the demo run's output folder, its PDFs deleted: a run again redoes nothing but them.

    The study stays where it is: a moved study folder rewrites the provenance, and with it the
    programme report.
    """
    folder = tmp_path_factory.mktemp("pdf-rerun")
    shutil.copytree(demo_run.out, folder / "out")
    for pdf in (folder / "out").rglob(f"*{layout.PDF_SUFFIX}"):
        pdf.unlink()
    return DemoRun(folder, demo_run.run, study_file=demo_run.study)


def _run_again(copy: DemoRun, *extra: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = berdaya("run", str(copy.study), "--out", str(copy.out), "--workers", "1", *DEMO_OPTIONS, *extra,
                   env=env, cwd=copy.folder)  # fmt: skip
    return done.returncode, done.stderr


def test_no_pdf_writes_none(rerun_copy: DemoRun) -> None:
    code, stderr = _run_again(rerun_copy, "--no-pdf")
    assert code == 0, stderr[-3000:]
    assert list(rerun_copy.out.rglob(f"*{layout.PDF_SUFFIX}")) == []
    assert "Traceback" not in stderr and "PDFs:" not in stderr
    assert "programme report: unchanged, skipped" in stderr  # only the PDFs were redone


def test_missing_chromium_is_one_line_and_the_run_goes_on(
    rerun_copy: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    env = {**os.environ, "BERDAYA_CHROMIUM": str(tmp_path / "no-chromium-here")}
    code, stderr = _run_again(rerun_copy, env=env)
    assert code == 0, stderr[-3000:]
    assert list(rerun_copy.out.rglob(f"*{layout.PDF_SUFFIX}")) == []
    lines = [line for line in stderr.splitlines() if "chromium" in line.lower()]
    assert len(lines) == 1 and lines[0].startswith("PDFs not written:"), stderr[-3000:]
    assert "BERDAYA_CHROMIUM" in lines[0] and "Traceback" not in stderr
    assert (rerun_copy.out / layout.PROGRAMME_HTML).is_file()


@needs_chromium
def test_a_pdf_is_printed_again_only_when_its_page_changed(rerun_copy: DemoRun) -> None:
    # After the two runs above (no PDFs), a plain run prints them all; the next one none.
    code, stderr = _run_again(rerun_copy)
    assert code == 0, stderr[-3000:]
    pdfs = sorted(rerun_copy.out.rglob(f"*{layout.PDF_SUFFIX}"))
    assert rerun_copy.out / layout.PROGRAMME_PDF in pdfs and len(pdfs) > len(DEMO_VILLAGES)
    assert f"PDFs: {len(pdfs)} written" in stderr, stderr[-2000:]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in pdfs}
    code, stderr = _run_again(rerun_copy)
    assert code == 0, stderr[-3000:]
    assert f"PDFs: all {len(pdfs)} unchanged, skipped" in stderr, stderr[-2000:]
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in pdfs} == before


def test_print_pdfs_without_chromium_on_the_path_raises_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("BERDAYA_CHROMIUM", raising=False)
    page = PdfPage(tmp_path / "r.html", tmp_path / "r.pdf")
    with pytest.raises(ReportError, match=r"^PDFs not written: chromium is not installed") as raised:
        print_pdfs([page], stamp=PdfStamp(dated={}, date=None, footer=""))
    assert "\n" not in str(raised.value)
    assert not page.pdf.exists()


@pytest.mark.parametrize(("value", "expected"), [(None, True), ("false", False), ("true", True)])
def test_the_study_key_pdf_turns_printing_off(tmp_path: Path, value: str | None, expected: bool) -> None:
    (tmp_path / "b.csv").write_text("hhid,treat,y\n1,1,0\n")
    text = "rounds: {baseline: b.csv, followup: b.csv}\nid: hhid\ntreatment: treat\noutcomes: [{name: y}]\n"
    (tmp_path / "study.yml").write_text(text + (f"pdf: {value}\n" if value else ""))
    assert load_study(tmp_path / "study.yml").pdf is expected


def test_a_bad_pdf_key_is_named(tmp_path: Path) -> None:
    from analysis.errors import StudyError

    (tmp_path / "b.csv").write_text("hhid,treat,y\n1,1,0\n")
    text = "rounds: {baseline: b.csv, followup: b.csv}\nid: hhid\ntreatment: treat\noutcomes: [{name: y}]\n"
    (tmp_path / "study.yml").write_text(text + "pdf: sometimes\n")
    with pytest.raises(StudyError, match="`pdf`"):
        load_study(tmp_path / "study.yml")


def _tagged_pdf(path: Path, first_id: int) -> Path:
    """A one-page PDF with a tagged table: a header cell and a data cell that names it in /Headers."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    head, cell = f"node{first_id:08d}", f"node{first_id + 1:08d}"
    th = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name.TH, ID=head))
    td = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.StructElem,
            S=pikepdf.Name.TD,
            ID=cell,
            A=pikepdf.Array([pikepdf.Dictionary(O=pikepdf.Name.Table, Headers=pikepdf.Array([head]))]),
        )
    )
    ids = pikepdf.Dictionary(Names=pikepdf.Array([head, th, cell, td]), Limits=pikepdf.Array([head, cell]))
    pdf.Root.StructTreeRoot = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=pikepdf.Array([th, td]), IDTree=ids)
    )
    pdf.trailer.ID = pikepdf.Array([pikepdf.String(str(first_id)), pikepdf.String(str(first_id))])
    pdf.save(path)
    return path


def test_element_ids_that_chromium_numbered_from_another_start_give_the_same_bytes(tmp_path: Path) -> None:
    # Chromium names structure elements after DOM node ids, which start one higher when the
    # renderer is busier: the rewrite numbers them from 0, headers and id tree alike.
    import pikepdf

    from analysis.report.pdf import reproducible

    one, two = _tagged_pdf(tmp_path / "a.pdf", 51), _tagged_pdf(tmp_path / "b.pdf", 52)
    assert one.read_bytes() != two.read_bytes()
    for path in (one, two):
        reproducible(path, date=None)
    assert one.read_bytes() == two.read_bytes()
    with pikepdf.open(one) as pdf:
        tree = pdf.Root.StructTreeRoot
        assert [str(x) for x in tree.IDTree.Names[::2]] == ["node00000000", "node00000001"]
        assert str(tree.K[1].A[0].Headers[0]) == "node00000000" == str(tree.K[0].ID)
