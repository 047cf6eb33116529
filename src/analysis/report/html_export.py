"""Turn an executed notebook into a self-contained, code-free HTML page (and a PDF of it).

nbconvert runs with ``exclude_input`` and ``sanitize_html`` on (``docs/bad-inputs.md`` §4.2): no code,
no injected parameters, and any HTML that came from the data is escaped. The page uses the
``basic`` template wrapped in the workbench's own head, so it loads nothing from the network:
figures are embedded PNG data, the style sheet is inline, there is no MathJax or require.js,
and a Content-Security-Policy forbids every other source (reports allow no script at all; the
index allows only its own inline script, by hash).
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import shutil
from importlib import resources
from pathlib import Path

import bleach
import nbformat
from nbconvert import HTMLExporter

from analysis.shared.files import write_text_atomic
from analysis.shared.text import html_attribute

#: Cells with these tags never reach the HTML: parameters may carry paths or ids, and
#: ``remove-cell`` marks notes and file exports meant for JupyterLab readers only.
HIDDEN_TAGS = ("parameters", "injected-parameters", "remove-cell")

#: Markup a report may contain. nbconvert's own list has no headings, paragraphs or table
#: headers, so reports would lose their structure; this list adds those and nothing active:
#: no script, style, iframe, form or event-handler attribute survives. ``bdi`` isolates text
#: from the data (``safe_export.html_text``) so that its direction cannot reorder the report.
ALLOWED_TAGS = frozenset(
    {
        *bleach.ALLOWED_TAGS,
        "bdi",
        "div",
        "pre",
        "span",
        "p",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "caption",
        "sup",
        "sub",
        "small",
        "dl",
        "dt",
        "dd",
    }
)
#: ``data-base`` carries a statistic's number of households for the disclosure scan; it is
#: inert text to a browser.
ALLOWED_ATTRIBUTES = {
    "*": ["class", "id"],
    "a": ["href", "title"],
    "th": ["colspan", "rowspan", "scope"],
    "td": ["colspan", "rowspan"],
    "span": ["data-base"],
    "abbr": ["title"],
}


def clean_report_html(element: object) -> str:
    """Sanitize HTML from notebook outputs and Markdown (nbconvert's ``clean_html`` filter).

    Disallowed tags are escaped, not dropped, so a payload such as ``<script>`` shows up as
    harmless text instead of vanishing silently.
    """
    text = element.decode() if isinstance(element, bytes) else str(element)
    return bleach.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols={"http", "https", "mailto"},
        strip=False,
        strip_comments=True,
    )


def style_sheet() -> str:
    """The inline CSS shared by every page."""
    return resources.files("analysis").joinpath("templates/report.css").read_text(encoding="utf-8")


def content_security_policy(script: str | None = None) -> str:
    """The page's policy: inline style and ``data:`` images only; a script only by its hash."""
    policy = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
    )
    if script is not None:
        digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
        policy += f"; script-src 'sha256-{digest}'"
    return policy


def page(
    title: str, body: str, *, language: str = "en", script: str | None = None, wide: bool = False
) -> str:
    """Wrap ``body`` (already safe HTML) in a complete page with the inline style sheet.

    Parameters
    ----------
    title
        Plain text; it is escaped here, and loses its bidi control characters: a ``<title>``
        cannot isolate a name with ``<bdi>``, so a U+202E in it would reverse the rest.
    body
        Safe HTML.
    language
        The page's ``lang`` attribute.
    script
        Inline JavaScript the page needs (the index's sorting); allowed by its SHA-256 hash,
        so no other script, injected or not, can run.
    wide
        Use the full window width (the index's many columns) instead of a reading column.
    """
    script_tag = f"<script>{script}</script>\n" if script is not None else ""
    main_tag = '<main class="full">' if wide else "<main>"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy(script)}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html_attribute(title)}</title>\n<style>\n{style_sheet()}\n</style>\n"
        f"</head>\n<body>\n{main_tag}\n{body}\n</main>\n{script_tag}</body>\n</html>\n"
    )


def notebook_body(notebook: nbformat.NotebookNode) -> str:
    """The HTML of a notebook's outputs and markdown, without code, prompts or stderr."""
    nb = nbformat.from_dict(notebook)
    kept = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & set(HIDDEN_TAGS):
            continue
        if cell.cell_type == "code":
            # Warnings and logs go to stderr; they can carry paths, so they stay out.
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
        kept.append(cell)
    nb.cells = kept
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        sanitize_html=True,
        embed_images=False,
        filters={"clean_html": clean_report_html},
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def first_heading(body: str) -> str | None:
    """The text of the first ``<h1>`` of a page body (its natural title), or None."""
    match = re.search(r"<h1[^>]*>(.*?)</h1>", body, flags=re.DOTALL)
    if not match:
        return None
    text = html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).replace("¶", "").strip()
    return text or None


def export_html(notebook: nbformat.NotebookNode, output: Path, *, title: str, language: str = "en") -> Path:
    """Write ``notebook`` as a self-contained HTML report at ``output`` (atomically).

    The page title is the report's own first heading (in the report's language) when it has
    one, else ``title``.
    """
    body = notebook_body(notebook)
    write_text_atomic(output, page(first_heading(body) or title, body, language=language))
    return output


# ---------------------------------------------------------------------------------------------
# The chromium that prints the PDFs (analysis.report.pdf) and runs the browser tests


def find_chromium() -> str | None:
    """The chromium executable (``BERDAYA_CHROMIUM``, else ``chromium`` on the PATH), or None.

    A ``BERDAYA_CHROMIUM`` that names no file gives None rather than some other chromium: the
    user chose that browser, and is told it is not there.
    """
    configured = os.environ.get("BERDAYA_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None
