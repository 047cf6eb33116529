"""Turn an executed notebook into a self-contained, code-free HTML page.

nbconvert runs with ``exclude_input`` and ``sanitize_html`` on (``bad-inputs.md`` §4.2): no code,
no injected parameters, and any HTML that came from the data is escaped. The page uses the
``basic`` template wrapped in the workbench's own head, so it loads nothing from the network:
figures are embedded PNG data, the style sheet is inline, there is no MathJax or require.js.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

import bleach
import nbformat
from nbconvert import HTMLExporter

from analysis.provenance import write_text_atomic

#: Cells with these tags never reach the HTML: parameters may carry paths or ids.
HIDDEN_TAGS = ("parameters", "injected-parameters", "remove-cell")

#: Markup a report may contain. nbconvert's own list has no headings, paragraphs or table
#: headers, so reports would lose their structure; this list adds those and nothing active:
#: no script, style, iframe, form or event-handler attribute survives.
ALLOWED_TAGS = frozenset(
    {
        *bleach.ALLOWED_TAGS,
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
ALLOWED_ATTRIBUTES = {
    "*": ["class", "id"],
    "a": ["href", "title"],
    "th": ["colspan", "rowspan", "scope"],
    "td": ["colspan", "rowspan"],
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


def page(title: str, body: str, *, language: str = "en", extra_head: str = "") -> str:
    """Wrap ``body`` (already safe HTML) in a complete page with the inline style sheet."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(language)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # A strict policy: the page may use only inline style and data: images.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
        f"<title>{html.escape(title)}</title>\n<style>\n{style_sheet()}\n</style>\n{extra_head}"
        f"</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
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


def export_html(notebook: nbformat.NotebookNode, output: Path, *, title: str, language: str = "en") -> Path:
    """Write ``notebook`` as a self-contained HTML report at ``output`` (atomically)."""
    write_text_atomic(output, page(title, notebook_body(notebook), language=language))
    return output
