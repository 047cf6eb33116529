"""A4 PDFs of the report pages: one headless chromium prints them all, byte for byte reproducibly.

A village meeting reads the village report on paper, and an evaluator files the programme
report; both get a PDF next to the HTML page. The printing is chromium's own (the page's print
style sheet in ``templates/report.css`` decides the layout), driven by playwright so that one
browser prints every page of a run: starting chromium once per page costs a second or more each.
The system chromium is launched by path; ``playwright install`` is never needed.

Chromium stamps each PDF with the time it was printed and a random document id. Both are
replaced (pikepdf, qpdf's deterministic id) by values that follow from the run's inputs: the
dates become the day the follow-up fieldwork ended (or the follow-up year), and the id is a
hash of the file's content. Two builds of the same inputs therefore give identical PDFs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.errors import ReportError
from analysis.report.text import LANGUAGES, Language, t
from analysis.shared.text import strip_bidi_controls

#: The printed page: A4 with room for the running header and footer. ``@page`` in
#: ``templates/report.css`` says the same, for a reader who prints the HTML page.
PAGE_FORMAT = "A4"
MARGINS = {"top": "18mm", "bottom": "16mm", "left": "16mm", "right": "16mm"}

#: Chromium's switches: nothing from the network, no profile, no first-run work.
BROWSER_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--font-render-hinting=none",
)

#: The header and footer are small pages of their own; their text must set its own size.
_BAND = (
    "style=\"font: 7.5pt 'DejaVu Sans', sans-serif; color: #52606d; width: 100%; "
    'margin: 0 16mm; display: flex; justify-content: space-between; gap: 6mm"'
)


@dataclass(frozen=True)
class PdfPage:
    """One report page to print: the HTML page and the PDF to write next to it."""

    html: Path
    pdf: Path


@dataclass(frozen=True)
class PdfStamp:
    """What every PDF of a run carries besides the page.

    Attributes
    ----------
    dated
        The date shown in the running header (plain text, may be empty), by the language of the
        page (its ``<html lang>``); a page in another language gets the first.
    date
        The PDF's creation and modification date (None: no dates at all).
    footer
        Plain text for the left of the footer (the study, the inputs' hash).
    """

    dated: Mapping[str, str]
    date: dt.date | None
    footer: str

    def dated_for(self, html_page: Path) -> str:
        """The header's date in the language of ``html_page``."""
        head = html_page.read_text(encoding="utf-8", errors="replace")[:400]
        found = re.search(r'<html lang="([^"]+)"', head)
        language = found.group(1) if found else ""
        return self.dated.get(language, next(iter(self.dated.values()), ""))


def data_dates(fieldwork_end: dt.date | None, year: int | None) -> tuple[dict[str, str], dt.date | None]:
    """:func:`data_date` in every report language: the header texts by language, and the date."""
    texts: dict[str, str] = {
        language: data_date(fieldwork_end, year, language=language)[0] for language in LANGUAGES
    }
    return texts, data_date(fieldwork_end, year, language=LANGUAGES[0])[1]


def data_date(
    fieldwork_end: dt.date | None, year: int | None, *, language: Language
) -> tuple[str, dt.date | None]:
    """The date the reports describe, as header text and as a date: the follow-up fieldwork.

    The day printed would differ between two builds (and between two time zones on the same
    day), so the header shows the data's date instead: the month the follow-up fieldwork ended
    (``fieldwork.followup``), else the follow-up year.

    Parameters
    ----------
    fieldwork_end
        Last day of the follow-up fieldwork, if the study gives its window.
    year
        The follow-up round's year, if given.
    language
        The report language (month names).

    Returns
    -------
    tuple
        The header text ("Tindak lanjut: Maret 2025", "Follow-up: 2025" or "") and the date
        for the PDF's metadata.
    """
    label = t("followup", language)
    if fieldwork_end is not None:
        from babel.dates import format_date

        return f"{label}: {format_date(fieldwork_end, 'MMMM y', locale=language)}", fieldwork_end
    if year is not None:
        return f"{label}: {year}", dt.date(year, 1, 1)
    return "", None


def header_template(dated: str) -> str:
    """The running header: the page's title (the village name) on the left, the date on the right.

    Chromium fills ``class="title"`` with the page's ``<title>`` itself, as text.
    """
    return f'<div {_BAND}><span class="title"></span><span>{_text(dated)}</span></div>'


def footer_template(text: str) -> str:
    """The running footer: the study and the inputs' hash on the left, "page / pages" on the right."""
    return (
        f"<div {_BAND}><span>{_text(text)}</span>"
        '<span><span class="pageNumber"></span> / <span class="totalPages"></span></span></div>'
    )


def _text(value: str) -> str:
    return html.escape(strip_bidi_controls(value))


def print_pdfs(
    pages: Sequence[PdfPage],
    *,
    stamp: PdfStamp,
    on_done: Callable[[PdfPage], None] | None = None,
    on_error: Callable[[PdfPage, str], None] | None = None,
    timeout: float = 120.0,
) -> list[Path]:
    """Print each page to its PDF with one headless chromium; returns the PDFs written.

    Each PDF is written beside its target and renamed, like every other output. A page that
    cannot be printed is reported to ``on_error`` (with a one-line reason) and the others go on.

    Raises
    ------
    ReportError
        When chromium is not installed or does not start (one line, saying which).
    """
    if not pages:
        return []
    # Imported here: html_export brings nbconvert (1.5 s), which a run that prints nothing,
    # or has exported no page in this process, need not pay.
    from analysis.report.html_export import find_chromium

    chromium = find_chromium()
    if chromium is None:
        raise ReportError(missing_chromium())
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _print_all(chromium, pages, stamp, on_done, on_error, timeout)
    # Playwright's synchronous API refuses to run where an event loop runs (a notebook that
    # calls the pipeline): print from a thread of its own.
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["done"] = _print_all(chromium, pages, stamp, on_done, on_error, timeout)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="berdaya-pdf")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    written: list[Path] = outcome["done"]
    return written


def printer() -> str:
    """The versions that shape a PDF's bytes beyond its page (a change reprints every PDF).

    Chromium's own version is known only once it runs; the packages around it are named here.
    """
    from importlib import metadata

    return ", ".join(f"{name} {metadata.version(name)}" for name in ("playwright", "pikepdf"))


def missing_chromium() -> str:
    """The one line that says PDFs need chromium, and how to get or name it."""
    configured = os.environ.get("BERDAYA_CHROMIUM")
    if configured:
        return (
            f"PDFs not written: BERDAYA_CHROMIUM names {configured}, which is not a file; "
            "point it at chromium or unset it (the HTML reports are written)"
        )
    return (
        "PDFs not written: chromium is not installed (Debian package `chromium`, or set "
        "BERDAYA_CHROMIUM to its path); the HTML reports are written"
    )


def _print_all(
    chromium: str,
    pages: Sequence[PdfPage],
    stamp: PdfStamp,
    on_done: Callable[[PdfPage], None] | None,
    on_error: Callable[[PdfPage, str], None] | None,
    timeout: float,
) -> list[Path]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    footer = footer_template(stamp.footer)
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=list(BROWSER_ARGS), headless=True, timeout=timeout * 1000
            )
        except PlaywrightError as exc:
            raise ReportError(
                f"PDFs not written: chromium ({chromium}) did not start: {_first_line(exc)}"
            ) from exc
        try:
            # One context for all pages: offline, no script (reports have none), a fixed locale
            # and time zone, so that nothing about the machine reaches the page.
            context = browser.new_context(
                offline=True,
                java_script_enabled=False,
                locale="en-US",
                timezone_id="UTC",
                color_scheme="light",
            )
            for page_spec in pages:
                try:
                    header = header_template(stamp.dated_for(page_spec.html))
                    _print_one(context, page_spec, header, footer, stamp, timeout)
                except Exception as exc:  # one page's problem never stops the others
                    if not browser.is_connected():
                        raise ReportError(
                            f"PDFs not finished: chromium stopped ({_first_line(exc)})"
                        ) from exc
                    if on_error is not None:
                        on_error(page_spec, _first_line(exc))
                    continue
                written.append(page_spec.pdf)
                if on_done is not None:
                    on_done(page_spec)
            context.close()
        finally:
            browser.close()
    return written


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _print_one(
    context: Any, spec: PdfPage, header: str, footer: str, stamp: PdfStamp, timeout: float
) -> None:
    # The name an interrupted run's clean-up knows (run.batch.clean_temporary_files).
    partial = spec.pdf.with_name(f".{spec.pdf.name}.tmp")
    spec.pdf.parent.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    try:
        page.goto(spec.html.resolve().as_uri(), wait_until="load", timeout=timeout * 1000)
        data = page.pdf(
            format=PAGE_FORMAT,
            margin=MARGINS,
            print_background=True,
            display_header_footer=True,
            header_template=header,
            footer_template=footer,
            prefer_css_page_size=True,
            outline=True,
            tagged=True,
        )
    finally:
        page.close()
    try:
        partial.write_bytes(data)
        reproducible(partial, date=stamp.date)
        os.replace(partial, spec.pdf)
    finally:
        partial.unlink(missing_ok=True)


def reproducible(path: Path, *, date: dt.date | None) -> None:
    """Rewrite a PDF so that it depends only on what it shows (in place).

    The creation and modification dates become ``date`` (or go), the XMP metadata (which
    repeats them) goes, and the trailer's ``/ID`` becomes a hash of the content. Links to
    ``file:`` addresses go too: chromium makes a link to a neighbouring page absolute, so it
    would name a folder of the machine that printed it (and differ between two builds).
    """
    import pikepdf

    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        for page in pdf.pages:
            annotations = page.obj.get("/Annots")
            if annotations is None:
                continue
            kept = [a for a in annotations if not _local_link(a)]
            if len(kept) != len(annotations):
                page.obj["/Annots"] = pikepdf.Array(kept)
        info = pdf.docinfo
        for key in ("/CreationDate", "/ModDate"):
            if date is None:
                if key in info:
                    del info[key]
            else:
                info[key] = pikepdf.String(f"D:{date:%Y%m%d}000000Z")
        if "/Metadata" in pdf.Root:
            del pdf.Root["/Metadata"]
        _renumber_structure_ids(pdf)
        # qpdf keeps the first half of an existing /ID: chromium's, which differs with the
        # node ids above. Without one, both halves come from the content.
        if "/ID" in pdf.trailer:
            del pdf.trailer["/ID"]
        pdf.save(path, deterministic_id=True)


def _renumber_structure_ids(pdf: Any) -> None:
    """Number the tagged structure's element ids ``node00000000``, ``node00000001`` … in order.

    Chromium names each structure element after its DOM node id, a counter of the renderer
    process: the same page printed after other pages, or while the machine is busy, can start
    one higher, and every id (and the PDF's bytes) shifts with it. The ids tie the id tree to
    its elements and a table cell to its headers (``/Headers``); renumbering all of them by
    their order keeps the structure and makes the bytes depend on the page alone.
    """
    import pikepdf

    root = pdf.Root.get("/StructTreeRoot")
    tree = None if root is None else root.get("/IDTree")
    if tree is None:
        return
    keys: list[str] = []

    def collect(node: Any) -> None:
        names = node.get("/Names")
        if names is not None:
            keys.extend(str(names[i]) for i in range(0, len(names), 2))
        for kid in node.get("/Kids", []):
            collect(kid)

    collect(tree)
    # Chromium pads the numbers, so text order is number order and survives the shift.
    new = {key: f"node{rank:08d}" for rank, key in enumerate(sorted(set(keys)))}

    def rewrite(node: Any) -> None:
        names = node.get("/Names")
        if names is not None:
            renamed = pikepdf.Array()
            for i in range(0, len(names), 2):
                key, element = str(names[i]), names[i + 1]
                renamed.append(pikepdf.String(new[key]))
                renamed.append(element)
                if isinstance(element, pikepdf.Dictionary) and "/ID" in element:
                    element.ID = pikepdf.String(new[str(element.ID)])
            node.Names = renamed
        limits = node.get("/Limits")
        if limits is not None:
            node.Limits = pikepdf.Array([pikepdf.String(new[str(limit)]) for limit in limits])
        for kid in node.get("/Kids", []):
            rewrite(kid)

    rewrite(tree)

    def headers(attributes: Any) -> None:
        if isinstance(attributes, pikepdf.Dictionary) and "/Headers" in attributes:
            attributes.Headers = pikepdf.Array(
                [pikepdf.String(new.get(str(h), str(h))) for h in attributes.Headers]
            )

    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary) or "/A" not in obj:
            continue
        attributes = obj.A
        for item in attributes if isinstance(attributes, pikepdf.Array) else [attributes]:
            headers(item)


def _local_link(annotation: Any) -> bool:
    action = annotation.get("/A")
    uri = action.get("/URI") if action is not None else None
    return uri is not None and str(uri).lower().startswith("file:")
