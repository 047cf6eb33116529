"""The index page: every village in one sortable, filterable table, linking to its report.

An evaluator with 30 or 300 villages reads it to find the villages that need a look: a summary
of the run at the top ("29 of 30 village reports available, 1 failed") with a status filter,
then per village its income and participation changes with a 95% interval (a change within
noise is marked), its households and attrition, and the cleaning counts (records quarantined,
interviews flagged, duplicates, short interviews).

It needs no network. Sorting and the text and arm filters are an inline script, tiny, and the
only script the page's Content-Security-Policy allows (by hash); the status filter is CSS only
(radio buttons and ``:checked``), so it works with scripts off. Every value from the data is
escaped. It shows the public tier of ``villages.csv`` (``docs/disclosure.md``): cells that tier
left empty and counts below ``min_cell`` read "hidden", a response rate is exact wherever its
baseline count is shown, and households not found again and the cleaning counts are published
at any size (rule 4). An interval is shown only where the public tier shows both rounds' value.

On a phone (390 px) the village's name stays in view while the other columns scroll, and the
income columns come right after it (``templates/report.css``).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import quote

import pandas as pd
import pyarrow.parquet as pq

from analysis.config import ROUNDS
from analysis.inputs.codebook import load_codebook
from analysis.inputs.study import Study
from analysis.report import summaries
from analysis.report.blocks import count, element, fieldwork_count, void_element
from analysis.report.html_export import page
from analysis.report.text import (
    LANGUAGE_NAMES,
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

#: Bootstrap draws of the intervals: the village report's (``village.BOOTSTRAP_REPS``), so that
#: both pages print the same interval for a village.
BOOTSTRAP_REPS = 999

#: The changes with an interval: the panel column, its statistic per village and round (as in
#: ``villages.csv``, ``stages.estimate.VILLAGE_STATISTICS``) and whether the change is relative.
CHANGES: dict[str, tuple[summaries.Statistic, bool]] = {
    "income_pc": ("median", True),
    "participation_score": ("mean", False),
}

#: The status filter's choices, in order: the ``data-show`` token of a row, and its label key.
FILTERS: tuple[tuple[str, str], ...] = (
    ("all", "index_show_all"),
    ("failed", "index_show_failed"),
    ("ok", "index_show_ok"),
    ("hidden", "index_show_hidden"),
    ("not_run", "index_show_not_run"),
    ("outdated", "index_show_outdated"),
)


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


@dataclass(frozen=True)
class IndexData:
    """What the index shows beside ``villages.csv``, read from the processed folder.

    Attributes
    ----------
    changes
        Per column of :data:`CHANGES`, :func:`analysis.report.summaries.village_changes`.
    quality
        :func:`analysis.report.summaries.read_quality_by_village` (cleaning counts per village).
    """

    changes: Mapping[str, pd.DataFrame]
    quality: pd.DataFrame | None


def index_inputs(processed: Path) -> list[Path]:
    """The processed files the index reads (the run hashes them to know when to rewrite it)."""
    files = [processed / layout.PANEL_PARQUET]
    for round_name in ROUNDS:
        files += [
            processed / layout.clean_parquet(round_name),
            processed / layout.quarantine_csv(round_name),
            processed / layout.quality_csv(round_name),
            processed / layout.duplicates_csv(round_name),
        ]
    return [f for f in files if f.is_file()]


def read_index_data(study: Study, processed: Path) -> IndexData:
    """The intervals and the cleaning counts of every village, from ``processed``.

    The panel is read for the columns of :data:`CHANGES` only; the village column of the clean
    files is the codebook's (the codebook is read only when the study names a file, since
    inferring one would read the raw exports again).
    """
    changes: dict[str, pd.DataFrame] = {}
    panel_path = processed / layout.PANEL_PARQUET
    if panel_path.is_file():
        names = set(pq.read_schema(panel_path).names)
        wanted = [c for c in CHANGES if c in names]
        if wanted and {"village", "round"} <= names:
            panel = pd.read_parquet(panel_path, columns=["village", "round", *wanted])
            panel["village"] = panel["village"].astype("string")
            for column in wanted:
                statistic, relative = CHANGES[column]
                changes[column] = summaries.village_changes(
                    panel,
                    column=column,
                    statistic=statistic,
                    relative=relative,
                    min_cell=study.min_cell,
                    seed=study.seed,
                    reps=BOOTSTRAP_REPS,
                )
    codebook = load_codebook(study) if study.codebook is not None else None
    village_col = summaries.village_column(study, codebook) or "village"
    quality = summaries.read_quality_by_village(processed, village_column=village_col)
    return IndexData(changes=changes, quality=quality)


def _change_cell(
    change: float,
    interval: pd.DataFrame | None,
    village: str,
    *,
    shown: bool,
    relative: bool,
    language: Language,
) -> Safe:
    """The change, ``≈`` when within noise, and its 95% interval below it (when it may be shown)."""

    def fmt(value: float) -> str:
        if relative:
            return percent(value, language, signed=True)
        return number(value, language, digits=1, signed=True)

    parts: list[object] = [fmt(change)]
    if shown and math.isfinite(change) and interval is not None and village in interval.index:
        low, high = _float(interval.at[village, "low"]), _float(interval.at[village, "high"])
        if math.isfinite(low) and math.isfinite(high):
            if summaries.within_noise(low, high):
                noise = t("index_within_noise", language)
                parts += ["\u2009", element("span", "≈", cls="noise", title=noise, aria_label=noise)]
            # A semicolon where the comma is the decimal mark: "[−0,7; +0,3]".
            separator = "; " if language == "id" else ", "
            parts.append(element("span", f"[{fmt(low)}{separator}{fmt(high)}]", cls="ci"))
    return _cell(join(parts), sort_value=change)


def _quality_cells(quality: pd.DataFrame | None, village: str, language: Language) -> list[Safe]:
    """The cleaning counts of a village (shown at any size), or dashes when they are unknown."""
    cells = []
    for name in summaries.QUALITY_COLUMNS:
        if quality is None:
            cells.append(_cell("–", sort_value=None))
            continue
        value = int(quality[name].get(village, 0))
        cells.append(
            _cell(
                fieldwork_count(value, language=language),
                sort_value=float(value),
                cls="flag" if value else None,
            )
        )
    return cells


@dataclass(frozen=True)
class _Row:
    """One village's row and the status tokens the summary and the status filter count."""

    html: Safe
    tokens: frozenset[str]


def _village_row(
    rec: Mapping[Hashable, object],
    result: _VillageOutcome | None,
    *,
    data: IndexData | None,
    min_cell: int,
    language: Language,
) -> _Row:
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
    lost = _float(rec.get("baseline_only"))
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
    link: object = name
    details: list[Safe] = []
    tokens = {"all"}
    if result is None:
        status: object = t("not_run", language)
        tokens.add("not_run")
    elif result.status == "ok":
        link = element("a", name, href=f"{layout.VILLAGES_DIR}/{quote(result.file)}")
        status = t("ok", language)
        tokens.add("ok")
    else:
        status = element("span", t("failed", language), cls="status-failed")
        tokens.add("failed")
        # The batch engine's cell and message are English in both languages, as in the log
        # and run.json, so that all three can be searched alike.
        details = _failure_details(result, language)
    if result is not None and getattr(result, "outdated", False):
        # Left as it was by a run with --villages although its data changed (pipeline).
        status = join([status, " · ", element("span", _OUTDATED[language], cls="outdated")])
        tokens.add("outdated")
    if reason:
        text = (
            render("reason_small", language, n=min_cell)
            if reason == SMALL
            else _REASON_COMPLEMENTARY[language]
        )
        status = join([status, " · ", element("span", text, cls="reason")])
        tokens.add("hidden")
    if details:
        status = join([status, *details])
    changes = data.changes if data is not None else {}
    # An interval rests on the households of the values it brackets: shown only where the public
    # tier shows both rounds' values (a hidden village's interval would give its figures back).
    income_shown = not reason and math.isfinite(income0) and math.isfinite(income1)
    score_shown = not reason and math.isfinite(score0) and math.isfinite(score1)
    cells = [
        _cell(village, sort_value=village),
        _cell(link, sort_value=name.casefold(), cls="left name"),
        _cell(rupiah(income1, language), sort_value=income1, cls="income"),
        _change_cell(
            income_change,
            changes.get("income_pc"),
            village,
            shown=income_shown,
            relative=True,
            language=language,
        ),
        _cell(number(score1, language, digits=1), sort_value=score1),
        _change_cell(
            score1 - score0,
            changes.get("participation_score"),
            village,
            shown=score_shown,
            relative=False,
            language=language,
        ),
        _cell(arm, sort_value=arm, cls="left"),
        _cell(
            count(_or_none(baseline), language=language, min_cell=min_cell),
            sort_value=_shown(baseline, min_cell),
        ),
        _cell(
            count(_or_none(followup), language=language, min_cell=min_cell),
            sort_value=_shown(followup, min_cell),
        ),
        # Households not found again: a fieldwork count, published at any size (rule 4).
        _cell(
            fieldwork_count(lost, language=language) if math.isfinite(lost) else "–",
            sort_value=lost,
        ),
        _cell(rate_text, sort_value=rate_sort),
        *_quality_cells(data.quality if data is not None else None, village, language),
        _cell(
            element("div", status, cls="status-box"),
            sort_value=None if result is None else result.status,
            cls="left status",
        ),
    ]
    # A failure comes first: it is what the reader has to act on.
    if "failed" in tokens:
        state = "failed"
    else:
        state = "suppressed" if reason else (result.status if result else "not_run")
    row = element(
        "tr",
        join(cells),
        data_arm="programme" if treatment == 1 else "comparison" if treatment == 0 else "unknown",
        data_status=state,
        data_show=" ".join(sorted(tokens)),
    )
    return _Row(row, frozenset(tokens))


def village_rows(
    frame: pd.DataFrame,
    results: Mapping[str, _VillageOutcome],
    *,
    min_cell: int,
    language: Language,
    data: IndexData | None = None,
) -> list[Safe]:
    """One ``<tr>`` per village of ``villages.csv``."""
    return [r.html for r in _rows(frame, results, min_cell=min_cell, language=language, data=data)]


def _rows(
    frame: pd.DataFrame,
    results: Mapping[str, _VillageOutcome],
    *,
    min_cell: int,
    language: Language,
    data: IndexData | None,
) -> list[_Row]:
    return [
        _village_row(rec, results.get(str(rec["village"])), data=data, min_cell=min_cell, language=language)
        for rec in frame.to_dict("records")
    ]


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


def run_summary(rows: Sequence[_Row], language: Language) -> Safe:
    """“29 of 30 village reports available, 1 failed.” (with the not run and outdated ones)."""
    total = len(rows)
    tally = {token: sum(token in r.tokens for r in rows) for token, _ in FILTERS}
    if tally["ok"] == total and not tally["outdated"]:
        return render("index_summary_all", language, total=integer(total, language))
    parts = [
        render("index_summary", language, ok=integer(tally["ok"], language), total=integer(total, language))
    ]
    for token, key in (("failed", "index_summary_failed"), ("not_run", "index_summary_not_run")):
        if tally[token]:
            parts.append(render(key, language, n=integer(tally[token], language)))
    if tally["outdated"]:
        parts.append(render("index_summary_outdated", language, n=integer(tally["outdated"], language)))
    return join([join(parts, ", "), "."])


def _status_filter(rows: Sequence[_Row], language: Language) -> tuple[Safe, Safe]:
    """The radio buttons (siblings of the table, for the CSS) and their labels with counts.

    Only choices that match a village are offered, besides "all". The radios come before the
    table in the page so that ``#show-failed:checked ~ .wide tr…`` can hide the other rows.
    """
    radios, labels = [], []
    for token, key in FILTERS:
        n = len(rows) if token == "all" else sum(token in r.tokens for r in rows)
        if token != "all" and n == 0:
            continue
        ident = f"show-{token}"
        radios.append(
            void_element(
                "input",
                type="radio",
                name="status",
                id=ident,
                value=token,
                class_="status-radio",
                checked="checked" if token == "all" else None,
            )
        )
        labels.append(element("label", f"{t(key, language)} ({integer(n, language)})", for_=ident))
    shown = element("span", t("index_show", language), cls="note")
    return join(radios), element("p", join([shown, " ", join(labels, " ")]), cls="status-filter")


def index_page(
    study: Study,
    tables: Path,
    results: Sequence[_VillageOutcome],
    *,
    has_programme: bool,
    processed: Path | None = None,
    alternate: Mapping[str, str] | None = None,
) -> str:
    """The index: one sortable, filterable table of all villages with links to their reports.

    Parameters
    ----------
    study
        The study (its name, language, ``min_cell`` and seed).
    tables
        The run's ``tables/`` folder (``villages.csv``), inside the output folder.
    results
        The village reports' outcomes (status, file name; for a failure the failing cell, the
        error and the kept notebook, relative to the output folder).
    has_programme
        Whether ``programme.html`` exists to link to.
    processed
        The processed folder: the panel (for each village's interval) and the clean stage's
        files (the cleaning counts). Without it those columns read "–".
    alternate
        The index in other languages: language code → link relative to this page.
    """
    language = check_language(study.language)
    min_cell = study.min_cell
    path = tables / layout.VILLAGES_CSV
    frame = (
        read_csv(path, dtype={"village": str}, keep_default_na=False) if path.is_file() else pd.DataFrame()
    )
    data = read_index_data(study, processed) if processed is not None and processed.is_dir() else None
    by_village = {r.village: r for r in results}
    rows = (
        _rows(frame, by_village, min_cell=min_cell, language=language, data=data) if not frame.empty else []
    )
    groups = [
        ("", 1),
        ("", 1),
        (t("index_income", language), 2),
        (t("index_score", language), 2),
        ("", 1),
        (t("n_households", language), 4),
        (t("index_quality", language), 4),
        ("", 1),
    ]
    followup, change = t("followup", language), t("index_change", language)
    headers = [
        (t("code", language), ""),
        (t("village", language), "left name"),
        (followup, "income"),
        (change, ""),
        (followup, ""),
        (change, ""),
        (t("arm", language), "left"),
        (t("baseline", language), ""),
        (followup, ""),
        (t("index_not_found", language), ""),
        (t("response_rate", language), ""),
        (t("index_quarantined", language), ""),
        (t("index_flagged", language), ""),
        (t("index_duplicates", language), ""),
        (t("index_short", language), ""),
        (t("report", language), "left"),
    ]
    group_row = element(
        "tr",
        join(
            element("th", text, colspan=str(span) if span > 1 else None, scope="colgroup" if text else None)
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
                    element("th", h, cls=f"sortable {cls}".strip(), scope="col", tabindex="0")
                    for h, cls in headers
                ),
            ),
        ]
    )
    arm_options = join(
        element("option", text, value=value)
        for value, text in (
            ("", t("index_all_arms", language)),
            ("programme", t("programme_villages", language)),
            ("comparison", t("comparison_villages", language)),
        )
    )
    radios, status_filter = _status_filter(rows, language)
    summary: object = ""
    if rows:
        failed = any("failed" in r.tokens for r in rows)
        text = run_summary(rows, language)
        if failed:
            # The label ticks the "failed" filter: one click from the summary to the failures.
            show = element("label", t("index_show_failures", language), for_="show-failed", cls="show-failed")
            text = join([text, " ", show])
        summary = element("p", text, cls="run-summary failed" if failed else "run-summary", id="run-summary")
    # Below the table, so that a phone reaches the villages first; the lead says the rule in short.
    footnotes = [
        element("p", render("index_noise_note", language, reps=integer(BOOTSTRAP_REPS, language)), cls="note")
    ]
    if data is not None and data.quality is not None:
        footnotes.append(element("p", render("index_quality_note", language), cls="note"))
    footnotes.append(element("p", disclosure_rule(language, min_cell=min_cell), cls="note"))
    body = join(
        [
            element("h1", join([study.name, " · ", t("index_title", language)])),
            summary,
            _links(
                has_programme=has_programme,
                alternate=alternate or {},
                language=language,
                first=(study.languages or (study.language,))[0],
            ),
            element("p", render("index_lead", language, villages=integer(len(rows), language), n=min_cell)),
            element(
                "div",
                join(
                    [
                        radios,
                        status_filter,
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
                                join([element("thead", head), element("tbody", join(r.html for r in rows))]),
                                id="villages",
                                cls="data",
                            ),
                            cls="wide",
                        ),
                    ],
                    "\n",
                ),
                cls="village-index",
            ),
            *footnotes,
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


def _links(*, has_programme: bool, alternate: Mapping[str, str], language: Language, first: str) -> Safe:
    """The programme report, the tables folder, the run record and the other languages' index.

    ``first`` is the run's first language, whose pages keep the plain file names: the programme
    report linked is the one in this page's language.
    """
    links: list[Safe] = []
    if has_programme:
        programme = layout.in_language(layout.PROGRAMME_HTML, language, first=first)
        links.append(element("a", t("programme_report_link", language), href=programme))
    links.append(element("a", t("index_tables_link", language), href=f"{layout.TABLES_DIR}/"))
    links.append(element("a", t("index_run_link", language), href=layout.RUN_JSON))
    for code, href in alternate.items():
        target = _notebook_link(href)
        if code != language and code in LANGUAGE_NAMES and target is not None:
            links.append(element("a", LANGUAGE_NAMES[code], href=target, hreflang=code, lang=code))
    return element("p", join(links, " · "), cls="links")


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
