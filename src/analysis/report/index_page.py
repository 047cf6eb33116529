"""The index page: every village in one sortable, filterable table, linking to its report.

It needs no network: the sorting and filtering script is inline, tiny, and the only script
the page's Content-Security-Policy allows (by hash). Every value from the data is escaped.
It shows the public tier of ``villages.csv`` (``docs/disclosure.md``): cells that tier left
empty and counts below ``min_cell`` read "hidden", and a response rate is exact wherever its
baseline count is shown (the households not found are a fieldwork count, published at any size).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import quote

import pandas as pd

from analysis.inputs.study import Study
from analysis.report.blocks import count, element, void_element
from analysis.report.html_export import page
from analysis.report.text import (
    Language,
    Safe,
    check_language,
    integer,
    join,
    number,
    percent,
    render,
    rupiah,
    t,
)
from analysis.shared import layout
from analysis.shared.disclosure import COMPLEMENTARY, SMALL, disclosure_rule, is_small
from analysis.shared.files import read_csv


class _VillageOutcome(Protocol):
    """What the index needs of a village report's outcome (the run's ``VillageResult`` is one).

    A protocol of its own, so that the report layer never imports the run layer above it.
    """

    @property
    def village(self) -> str: ...
    @property
    def file(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def error(self) -> str: ...
    @property
    def failed_notebook(self) -> str: ...
    def where(self) -> str: ...


def _float(value: object) -> float:
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return result


#: Labels of a failed village's details (the details themselves are the engine's English).
_FAILURE_LABELS: dict[str, dict[Language, str]] = {
    "cell": {"id": "Sel", "en": "Cell"},
    "error": {"id": "Galat", "en": "Error"},
    "notebook": {"id": "Notebook yang gagal", "en": "Failed notebook"},
}

#: Next to a report a ``--villages`` run left as it was although its data changed.
_OUTDATED: dict[Language, str] = {
    "id": "usang: jalankan ulang tanpa --villages",
    "en": "outdated: rerun without --villages",
}


def _notebook_link(path: str) -> str | None:
    """``path`` (relative to the output folder) as a link relative to ``index.html``, or None.

    The page is opened from ``file:``, so only a relative path inside the output folder will do;
    anything else (absolute, ``..``, a drive or scheme) gets no link.
    """
    if not path or "\\" in path or ":" in path:
        return None
    parts = PurePosixPath(path)
    if parts.is_absolute() or ".." in parts.parts:
        return None
    return quote(parts.as_posix())


def _failure_details(result: _VillageOutcome, language: Language) -> list[Safe]:
    """The failing cell, the error and a link to the kept notebook, each labelled on its own line."""

    def line(key: str, content: object, cls: str) -> Safe:
        label = element("span", f"{_FAILURE_LABELS[key][language]}:", cls="note")
        return element("div", join([label, " ", content]), cls=cls)

    details = []
    where = result.where()
    if where:
        details.append(line("cell", element("code", where), "failure-cell"))
    if result.error:
        details.append(line("error", result.error, "failure-error"))
    href = _notebook_link(result.failed_notebook)
    if href is not None:
        link = element("a", _FAILURE_LABELS["notebook"][language], href=href)
        details.append(element("div", link, cls="failure-notebook"))
    return details


def _cell(content: object, *, sort_value: float | str | None, cls: str | None = None) -> Safe:
    """A table cell with the value the sorting script uses (empty sorts last)."""
    if isinstance(sort_value, float) and not math.isfinite(sort_value):
        sort_value = None
    return element("td", content, cls=cls, data_value="" if sort_value is None else str(sort_value))


def village_rows(
    frame: pd.DataFrame, results: Mapping[str, _VillageOutcome], *, min_cell: int, language: Language
) -> list[Safe]:
    """One ``<tr>`` per village of ``villages.csv``."""
    rows = []
    for rec in frame.to_dict("records"):
        village = str(rec["village"])
        name = str(rec.get("village_name") or "").strip() or village
        treatment = _float(rec.get("treatment"))
        arm = (
            t("programme", language)
            if treatment == 1
            else t("comparison", language)
            if treatment == 0
            else t("unknown_arm", language)
        )
        # An empty count is one the public tier hid (docs/disclosure.md).
        baseline, followup, found = (_float(rec.get(k)) for k in ("baseline", "followup", "panel"))
        rate = found_again_rate(found, baseline, min_cell=min_cell)
        if rate is not None:
            rate_text: object = percent(rate, language)
            rate_sort: float | None = rate
        else:
            rate_text, rate_sort = element("span", t("hidden", language), cls="suppressed"), None
        income0, income1 = _float(rec.get("income_pc_baseline")), _float(rec.get("income_pc_followup"))
        income_change = income1 / income0 - 1 if math.isfinite(income0) and income0 > 0 else float("nan")
        score0 = _float(rec.get("participation_score_baseline"))
        score1 = _float(rec.get("participation_score_followup"))
        reason = _suppression(rec, baseline, followup, min_cell=min_cell)
        result = results.get(village)
        link: object = name
        details: list[Safe] = []
        if result is None:
            status: object = t("not_run", language)
        elif result.status == "ok":
            link = element("a", name, href=f"{layout.VILLAGES_DIR}/{quote(result.file)}")
            status = t("ok", language)
        else:
            status = element("span", t("failed", language), cls="status-failed")
            # The batch engine's cell and message are English in both languages, as in the log
            # and run.json, so that all three can be searched alike.
            details = _failure_details(result, language)
        if result is not None and getattr(result, "outdated", False):
            # Left as it was by a run with --villages although its data changed (pipeline).
            status = join([status, " · ", element("span", _OUTDATED[language], cls="outdated")])
        if reason:
            text = (
                render("reason_small", language, n=min_cell)
                if reason == SMALL
                else _REASON_COMPLEMENTARY[language]
            )
            status = join([status, " · ", element("span", text, cls="reason")])
        if details:
            status = join([status, *details])
        rows.append(
            element(
                "tr",
                join(
                    [
                        _cell(village, sort_value=village),
                        _cell(link, sort_value=name.casefold(), cls="left"),
                        _cell(arm, sort_value=arm),
                        _cell(
                            count(_or_none(baseline), language=language, min_cell=min_cell),
                            sort_value=_shown(baseline, min_cell),
                        ),
                        _cell(
                            count(_or_none(followup), language=language, min_cell=min_cell),
                            sort_value=_shown(followup, min_cell),
                        ),
                        _cell(rate_text, sort_value=rate_sort),
                        _cell(rupiah(income1, language), sort_value=income1),
                        _cell(percent(income_change, language, signed=True), sort_value=income_change),
                        _cell(number(score1, language, digits=1), sort_value=score1),
                        _cell(
                            number(score1 - score0, language, digits=1, signed=True),
                            sort_value=score1 - score0,
                        ),
                        _cell(status, sort_value=None if result is None else result.status, cls="left"),
                    ]
                ),
                data_arm="programme" if treatment == 1 else "comparison" if treatment == 0 else "unknown",
                data_status="suppressed" if reason else (result.status if result else "not_run"),
            )
        )
    return rows


def _shown(value: float, min_cell: int) -> float | None:
    return None if not math.isfinite(value) or is_small(value, min_cell) else float(value)


def _or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


#: Why a village that is not itself small has its figures hidden (complementary suppression).
_REASON_COMPLEMENTARY: dict[Language, str] = {
    "id": "angka disembunyikan agar angka desa yang lebih kecil tidak bisa dihitung",
    "en": "figures hidden so that a smaller village's cannot be worked out",
}


def found_again_rate(found: float, baseline: float, *, min_cell: int) -> float | None:
    """The share of baseline households found again, or None when the baseline count is hidden.

    The households not found are a fieldwork count, published at any size
    (:data:`analysis.shared.disclosure.FIELDWORK_COUNTS`), so the rate is exact whenever the baseline
    count is shown; it used to be a bound (``≥ 78%``) whenever fewer than ``min_cell`` were lost.
    """
    if not (math.isfinite(found) and math.isfinite(baseline)) or baseline <= 0:
        return None
    if is_small(baseline, min_cell):
        return None
    return found / baseline


def _suppression(rec: Mapping[Hashable, object], baseline: float, followup: float, *, min_cell: int) -> str:
    """Why the village's figures are hidden (``small``, ``complementary``) or ``""``.

    ``villages.csv`` says so in its ``suppressed`` column; a table without it (written before
    that column existed) is judged by its counts.
    """
    marked = str(rec.get("suppressed") or "").strip()
    if marked in (SMALL, COMPLEMENTARY):
        return marked
    if marked in ("True", "False") or "suppressed" not in rec:
        small = any(math.isfinite(v) and is_small(v, min_cell) for v in (baseline, followup))
        return SMALL if small or marked == "True" else ""
    return ""


def index_page(study: Study, tables: Path, results: Sequence[_VillageOutcome], *, has_programme: bool) -> str:
    """The index: one sortable, filterable table of all villages with links to their reports.

    Parameters
    ----------
    study
        The study (its name, language and ``min_cell``).
    tables
        The run's ``tables/`` folder (``villages.csv``).
    results
        The village reports' outcomes (status, file name; for a failure the failing cell, the
        error and the kept notebook, relative to the output folder).
    has_programme
        Whether ``programme.html`` exists to link to.
    """
    language = check_language(study.language)
    min_cell = study.min_cell
    path = tables / layout.VILLAGES_CSV
    frame = (
        read_csv(path, dtype={"village": str}, keep_default_na=False) if path.is_file() else pd.DataFrame()
    )
    by_village = {r.village: r for r in results}
    rows = village_rows(frame, by_village, min_cell=min_cell, language=language) if not frame.empty else []
    groups = [
        ("", 3),
        (t("n_households", language), 3),
        ({"id": "Median pendapatan per orang", "en": "Median income per person"}[language], 2),
        ({"id": "Skor partisipasi (0–6)", "en": "Participation score (0–6)"}[language], 2),
        ("", 1),
    ]
    followup, change = t("followup", language), {"id": "Perubahan", "en": "Change"}[language]
    headers = [
        t("code", language),
        t("village", language),
        t("arm", language),
        t("baseline", language),
        followup,
        t("response_rate", language),
        followup,
        change,
        followup,
        change,
        t("report", language),
    ]
    group_row = element(
        "tr",
        join(
            element("th", text, colspan=str(span), scope="colgroup" if text else None)
            for text, span in groups
        ),
        cls="groups",
    )
    head = join(
        [
            group_row,
            element(
                "tr",
                join(
                    element(
                        "th",
                        h,
                        cls="sortable left" if i in (1, 10) else "sortable",
                        scope="col",
                        tabindex="0",
                    )
                    for i, h in enumerate(headers)
                ),
            ),
        ]
    )
    arm_options = join(
        element("option", text, value=value)
        for value, text in (
            ("", {"id": "Semua kelompok", "en": "All arms"}[language]),
            ("programme", t("programme_villages", language)),
            ("comparison", t("comparison_villages", language)),
        )
    )
    programme = (
        element("p", element("a", t("programme_report_link", language), href=layout.PROGRAMME_HTML))
        if has_programme
        else ""
    )
    body = join(
        [
            element("h1", join([study.name, " · ", t("index_title", language)])),
            programme,
            element("p", render("index_lead", language, villages=integer(len(rows), language), n=min_cell)),
            element("p", disclosure_rule(language, min_cell=min_cell), cls="note"),
            element(
                "p",
                join(
                    [
                        void_element(
                            "input",
                            type="search",
                            id="filter",
                            placeholder=t("filter", language),
                            aria_label=t("filter", language),
                        ),
                        " ",
                        element("select", arm_options, id="arm", aria_label=t("arm", language)),
                        " ",
                        element("span", t("sort_hint", language), cls="note"),
                    ]
                ),
                cls="controls",
            ),
            element(
                "div",
                element(
                    "table",
                    join([element("thead", head), element("tbody", join(rows))]),
                    id="villages",
                    cls="data",
                ),
                cls="wide",
            ),
        ],
        "\n",
    )
    return page(
        f"{study.name} – {t('index_title', language)}",
        str(body),
        language=language,
        script=INDEX_SCRIPT,
        wide=True,
    )


#: Sorting (click or Enter on a heading; numbers by ``data-value``, text otherwise, empty last)
#: and filtering (free text and arm). Kept inline so the page works from a USB stick.
INDEX_SCRIPT = """
(function () {
  'use strict';
  var table = document.getElementById('villages');
  var body = table.tBodies[0];
  var filter = document.getElementById('filter');
  var arm = document.getElementById('arm');
  function apply() {
    var q = filter.value.toLowerCase();
    var a = arm.value;
    Array.prototype.forEach.call(body.rows, function (row) {
      var show = row.textContent.toLowerCase().indexOf(q) >= 0 && (!a || row.getAttribute('data-arm') === a);
      row.hidden = !show;
    });
  }
  filter.addEventListener('input', apply);
  arm.addEventListener('change', apply);
  function key(row, col) {
    var v = row.cells[col].getAttribute('data-value');
    if (v === null || v === '') { return null; }
    var n = Number(v);
    return isNaN(n) ? v.toLowerCase() : n;
  }
  function sortBy(th, col) {
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var x = key(r1, col), y = key(r2, col);
      if (x === null && y === null) { return 0; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      var c = (typeof x === 'number' && typeof y === 'number') ? x - y : String(x).localeCompare(String(y));
      return ascending ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[table.tHead.rows.length - 1].cells, function (other) {
      other.removeAttribute('aria-sort');
    });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    table.setAttribute('data-sorted-by', String(col));
  }
  Array.prototype.forEach.call(table.tHead.rows[table.tHead.rows.length - 1].cells, function (th, col) {
    th.addEventListener('click', function () { sortBy(th, col); });
    th.addEventListener('keydown', function (e) { if (e.key === 'Enter') { sortBy(th, col); } });
  });
})();
"""
