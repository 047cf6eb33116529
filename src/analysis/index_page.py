"""The index page: every village in one sortable, filterable table, linking to its report.

It needs no network: the sorting and filtering script is inline and tiny.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from analysis.html_export import page
from analysis.study import Study

if TYPE_CHECKING:
    from analysis.pipeline import VillageResult


def index_page(study: Study, tables: Path, results: Sequence[VillageResult], *, has_programme: bool) -> str:
    """The index: one sortable, filterable table of all villages with links to their reports."""
    by_village = {r.village: r for r in results}
    path = tables / "villages.csv"
    frame = (
        pd.read_csv(path, dtype={"village": str}, keep_default_na=False) if path.is_file() else pd.DataFrame()
    )
    rows = []
    for rec in frame.to_dict("records"):
        village = str(rec["village"])
        result = by_village.get(village)
        arm = {"1.0": "programme", "1": "programme", "0.0": "comparison", "0": "comparison"}.get(
            str(rec.get("treatment", "")), "unknown"
        )
        if result is None:
            link, status = html.escape(str(rec.get("village_name") or village)), "not run"
        elif result.status == "ok":
            link = (
                f'<a href="villages/{html.escape(result.file)}">'
                f"{html.escape(str(rec.get('village_name') or village))}</a>"
            )
            status = "ok"
        else:
            link = html.escape(str(rec.get("village_name") or village))
            status = f'<span class="status-failed">failed: {html.escape(result.error)}</span>'
        if rec.get("suppressed") in (True, "True"):
            status += ' <span class="suppressed">(fewer than min_cell households: figures suppressed)</span>'

        def cell(value: object, fmt: str = "{:,.0f}") -> str:
            try:
                return fmt.format(float(value))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return '<span class="suppressed">–</span>'

        rows.append(
            "<tr>"
            f"<td>{html.escape(village)}</td><td>{link}</td><td>{arm}</td>"
            f"<td>{cell(rec.get('baseline'))}</td><td>{cell(rec.get('followup'))}</td>"
            f"<td>{cell(rec.get('attrition_rate'), '{:.0%}')}</td>"
            f"<td>{cell(rec.get('income_pc_baseline'))}</td><td>{cell(rec.get('income_pc_followup'))}</td>"
            f"<td>{cell(rec.get('participation_score_baseline'), '{:.2f}')}</td>"
            f"<td>{cell(rec.get('participation_score_followup'), '{:.2f}')}</td>"
            f"<td>{status}</td></tr>"
        )
    header = (
        "<tr>"
        + "".join(
            f'<th class="sortable">{h}</th>'
            for h in (
                "Code",
                "Village (desa)",
                "Arm",
                "Households baseline",
                "Households follow-up",
                "Attrition",
                "Median income/person baseline",
                "Median income/person follow-up",
                "Participation baseline",
                "Participation follow-up",
                "Report",
            )
        )
        + "</tr>"
    )
    programme = '<p><a href="programme.html">Programme report</a></p>' if has_programme else ""
    body = (
        f"<h1>{html.escape(study.name)}</h1>{programme}"
        '<p><input type="search" id="filter" placeholder="Filter villages…" aria-label="Filter villages"></p>'
        f'<div class="wide"><table id="villages"><thead>{header}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f"<script>{_INDEX_SCRIPT}</script>"
    )
    return page(f"{study.name} – villages", body, language="en")


_INDEX_SCRIPT = """
(function () {
  var table = document.getElementById('villages');
  var body = table.tBodies[0];
  var filter = document.getElementById('filter');
  filter.addEventListener('input', function () {
    var q = filter.value.toLowerCase();
    Array.prototype.forEach.call(body.rows, function (row) {
      row.style.display = row.textContent.toLowerCase().indexOf(q) >= 0 ? '' : 'none';
    });
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    var ascending = true;
    th.addEventListener('click', function () {
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent.trim(), y = b.cells[col].textContent.trim();
        var nx = parseFloat(x.replace(/[,%]/g, '')), ny = parseFloat(y.replace(/[,%]/g, ''));
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return ascending ? c : -c;
      });
      ascending = !ascending;
      rows.forEach(function (r) { body.appendChild(r); });
      table.setAttribute('data-sorted-by', String(col));
    });
  });
})();
"""
