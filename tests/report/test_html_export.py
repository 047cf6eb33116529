"""nbconvert export: no code, no parameters, sanitized outputs, a strict policy, and the PDF print."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from analysis.report.html_export import (
    clean_report_html,
    content_security_policy,
    export_html,
    first_heading,
    notebook_body,
    page,
)


def _notebook() -> nbformat.NotebookNode:
    parameters = new_code_cell('village = "0101"\nstudy_path = "/home/siti/secret/study.yml"')
    parameters.metadata["tags"] = ["parameters"]
    injected = new_code_cell('village = "../../etc/passwd"')
    injected.metadata["tags"] = ["injected-parameters"]
    hidden_note = new_markdown_cell("Requires `/home/siti/secret`")
    hidden_note.metadata["tags"] = ["remove-cell"]
    body = new_code_cell("from analysis import village_report as vr\ndisplay(vr.title(ctx))")
    body.outputs = [
        new_output("stream", name="stderr", text="Warning in /home/siti/secret/file.py"),
        new_output(
            "display_data",
            data={
                "text/html": '<h1>Village report: &lt;b&gt;</h1><script>alert(1)</script>'
                '<img src=x onerror="alert(2)"><span class="n" data-base="12" onclick="x()">12</span>'
                '<p data-base="3">p</p>'
            },
        ),
    ]
    return new_notebook(cells=[parameters, injected, hidden_note, body])


def test_notebook_body_has_no_code_parameters_or_stderr() -> None:
    html = notebook_body(_notebook())
    for leaked in ("study_path", "/home/siti", "etc/passwd", "import", "display(", "Warning in"):
        assert leaked not in html, leaked


def test_outputs_are_sanitized_but_keep_the_report_markup() -> None:
    html = notebook_body(_notebook())
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and '&lt;img src=x onerror="alert(2)"&gt;' in html  # shown as text, inert
    assert "onclick" not in html
    assert '<span class="n" data-base="12">12</span>' in html  # the disclosure scan's marks survive
    assert '<p data-base="3">' not in html  # data-base only where the reports use it


def test_clean_report_html_escapes_rather_than_drops() -> None:
    cleaned = clean_report_html("<iframe src='http://x'></iframe><h2 id='a'>T</h2>")
    assert "&lt;iframe" in cleaned and '<h2 id="a">T</h2>' in cleaned


def test_page_policy_allows_only_its_own_script() -> None:
    script = "document.title = 'x';"
    html = page("A <title>", "<p>body</p>", language="id", script=script)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html
    assert "<title>A &lt;title&gt;</title>" in html and '<html lang="id">' in html
    report = page("R", "<p>x</p>")
    assert "script-src" not in report and "default-src 'none'" in report  # reports run no script
    assert "http://" not in report and "https://" not in report
    assert "unsafe-inline" in content_security_policy() and "'unsafe-eval'" not in content_security_policy()


def test_title_comes_from_the_report_heading(tmp_path: Path) -> None:
    out = export_html(_notebook(), tmp_path / "r.html", title="fallback", language="en")
    assert "<title>Village report: &lt;b&gt;</title>" in out.read_text()
    assert first_heading("<p>no heading</p>") is None
