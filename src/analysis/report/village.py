"""Content of one village report (``notebooks/05_village_report.ipynb``).

Written for a village head: plain language in Bahasa Indonesia or English, no code, no personal
data, and no statistic about fewer than ``min_cell`` households. The notebook calls :func:`load`
once, then one function per section; each returns a list of displayable objects.

The report follows the disclosure policy of every published file (``docs/disclosure.md``): a
village that the public ``tables/villages.csv`` hides (its ``suppressed`` column is ``small`` or
``complementary``) has no household count or statistic of its own in its report either, and
households not found again or new at follow-up, and records quarantined or corrected, are shown
at any size (fieldwork and cleaning counts).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.config import PROJECT_ROOT
from analysis.construct.long_panel import two_round_view
from analysis.errors import ReportError
from analysis.inputs.codebook import Codebook, load_codebook
from analysis.inputs.rounds import study_rounds
from analysis.inputs.study import Study, load_study
from analysis.report import figures, summaries
from analysis.report.blocks import (
    Column,
    Html,
    Table,
    count,
    element,
    fieldwork_count,
    figure_block,
    fragment,
    heading,
    inference_value,
    is_money,
    language_links,
    note,
    outcome_label,
    paragraph,
    primary_estimator,
    provenance_block,
    read_output_table,
    read_provenance,
    statistic,
)
from analysis.report.text import (
    FAMILY_LABELS,
    GOALS,
    TEXT,
    WITHHELD_CODES,
    Language,
    as_shown,
    check_language,
    integer,
    join,
    list_words,
    number,
    percent,
    render,
    rose_or_fell,
    rupiah,
    t,
    withheld_code,
)
from analysis.shared import layout
from analysis.shared.disclosure import (
    COMPLEMENTARY,
    SMALL,
    SuppressedTable,
    check_min_cell,
    is_small,
    top_code,
)
from analysis.shared.files import read_csv
from analysis.shared.run_warnings import RunWarning, read_warnings_table

#: Bootstrap replications behind every interval in a village report.
BOOTSTRAP_REPS = 999


@dataclass(frozen=True)
class VillageContext:
    """Everything one village report reads, loaded once."""

    study: Study
    codebook: Codebook | None
    village: str
    village_name: str
    treatment: float
    panel: pd.DataFrame
    impact: pd.DataFrame
    inference: pd.DataFrame | None
    processed_dir: Path
    tables_dir: Path
    language: Language
    started: float = field(default_factory=time.time)
    warnings: tuple[RunWarning, ...] = ()
    suppressed: str = ""
    #: The same report in the run's other languages: language code → file, relative to this one.
    other_languages: Mapping[str, str] = field(default_factory=dict)
    #: A study with more rounds or no ``id``: the study with every round, and the long panel.
    #: ``study`` and ``panel`` are then its reference and last rounds as a two-round study
    #: (:func:`analysis.construct.long_panel.two_round_view`), which the two-round sections read.
    all_rounds: Study | None = None
    long_panel: pd.DataFrame | None = None

    @property
    def withheld(self) -> str:
        """The run-warning code under which no impact is tested (empty when impacts are)."""
        return withheld_code(w.code for w in self.warnings if w.stage == "estimate")

    @property
    def min_cell(self) -> int:
        """The study's disclosure threshold."""
        return self.study.min_cell

    @property
    def here(self) -> pd.DataFrame:
        """The rows of this village in the panel."""
        return self.panel.loc[self.panel["village"] == self.village]

    @property
    def counts(self) -> dict[str, int]:
        """Households per round in this village."""
        return summaries.attrition_counts(self.here)

    @property
    def hidden(self) -> bool:
        """Whether the public tables hide this village: no count or statistic of its own is shown.

        ``suppressed`` (from ``tables/villages.csv``, see :func:`suppression_mark`) is ``small``
        when a round has fewer than ``min_cell`` households, ``complementary`` when a larger
        village is hidden so that a small one cannot be worked out from the arm totals. The
        report hides both alike: printing a complementary village's numbers here would undo the
        table's protection of the small one.
        """
        return bool(self.suppressed)

    @property
    def is_programme(self) -> bool:
        """Whether this is a programme village."""
        return bool(self.treatment == 1)


def load(
    study_path: str,
    *,
    village: str,
    processed_dir: str,
    tables_dir: str,
    language: str = "",
    other_languages: Mapping[str, str] | None = None,
) -> VillageContext:
    """Read what the report of ``village`` needs.

    Parameters
    ----------
    study_path
        The study file.
    village
        The village code (a string: ``"0712"`` keeps its leading zero).
    processed_dir, tables_dir
        Outputs of the earlier stages.
    language
        ``id`` or ``en``; empty means the study file's ``language``.
    other_languages
        The same report in the run's other languages (``{"en": "0101.en.html"}``), linked from
        the top of the page.
    """
    study = load_study(study_path)
    check_min_cell(study.min_cell)
    lang = check_language(language or study.language)
    panel = pd.read_parquet(Path(processed_dir) / layout.PANEL_PARQUET)
    panel["village"] = panel["village"].astype("string")
    all_rounds, long_panel = None, None
    if study.round_design.kind != "two_round_panel":
        all_rounds, long_panel = study_rounds(study), panel
        panel, study = two_round_view(long_panel, all_rounds)
    here = panel.loc[panel["village"] == str(village)]
    if here.empty:
        raise ReportError(f"village {village!r} has no households in the panel")
    name = here["village_name"].dropna() if "village_name" in here else pd.Series(dtype=str)
    arm = here["treatment"].dropna()
    counts = summaries.attrition_counts(here)
    return VillageContext(
        study=study,
        codebook=load_codebook(all_rounds or study),
        all_rounds=all_rounds,
        long_panel=long_panel,
        village=str(village),
        village_name=str(name.iloc[0]) if len(name) and str(name.iloc[0]).strip() else str(village),
        treatment=float(arm.iloc[0]) if len(arm) else float("nan"),
        panel=panel,
        impact=read_csv(Path(tables_dir) / layout.IMPACT_DETAIL_CSV),
        inference=read_output_table(Path(tables_dir), layout.IMPACT_INFERENCE_CSV),
        processed_dir=Path(processed_dir),
        tables_dir=Path(tables_dir),
        language=lang,
        warnings=tuple(read_warnings_table(Path(tables_dir))),
        suppressed=suppression_mark(Path(tables_dir), str(village), counts=counts, min_cell=study.min_cell),
        other_languages={check_language(k): str(v) for k, v in (other_languages or {}).items()},
    )


def suppression_mark(tables_dir: Path, village: str, *, counts: Mapping[str, int], min_cell: int) -> str:
    """Why the public tables hide ``village``: ``small``, ``complementary`` or ``""``.

    Parameters
    ----------
    tables_dir
        The run's public ``tables/`` folder; its ``villages.csv`` has a ``suppressed`` column
        (``analysis.shared.disclosure.village_suppression``).
    village
        The village code.
    counts
        The village's households per round (:func:`analysis.report.summaries.attrition_counts`).
    min_cell
        The study's threshold.

    Returns
    -------
    str
        The table's mark. A village the table does not mark but whose baseline or follow-up
        count is small is ``small`` (a table from before the column existed, or stale); an
        unknown mark counts as ``small`` too, so a damaged table never shows more.
    """
    mark = ""
    path = tables_dir / layout.VILLAGES_CSV
    if path.is_file():
        frame = read_csv(path, dtype={"village": str}, keep_default_na=False)
        if {"village", "suppressed"} <= set(frame.columns):
            marks = frame.loc[frame["village"].astype(str) == village, "suppressed"].astype(str).str.strip()
            mark = marks.iloc[0] if len(marks) else ""
    if mark in (SMALL, COMPLEMENTARY):
        return mark
    if mark not in ("", "False") or any(is_small(counts[r], min_cell) for r in ("baseline", "followup")):
        return SMALL
    return ""


def _arm_label(ctx: VillageContext) -> str:
    if ctx.treatment == 1:
        return t("programme_village", ctx.language)
    if ctx.treatment == 0:
        return t("comparison_village", ctx.language)
    return t("unknown_arm", ctx.language)


def _comparison_label(ctx: VillageContext) -> str:
    key = "comparison_villages" if ctx.treatment != 0 else "other_comparison_villages"
    return t(key, ctx.language)


def _index_file(ctx: VillageContext) -> str:
    """The index in this report's language (``index.html``, or ``index.en.html`` for a second one).

    The run's first language keeps the plain names (:func:`analysis.shared.layout.in_language`):
    it is the other language whose file carries no language code, or else this report's own.
    """
    plain = (c for c, file in ctx.other_languages.items() if not file.endswith(f".{c}{layout.HTML_SUFFIX}"))
    first = next(plain, ctx.language)
    return layout.in_language(layout.INDEX_HTML, ctx.language, first=first)


def title(ctx: VillageContext) -> Html:
    """Heading with the village name and arm, and how to read the report."""
    years = [ctx.study.rounds[r].year for r in ("baseline", "followup")]
    parts: list[object] = [
        # Back to the index of all villages: reports live in villages/, the index beside it.
        paragraph(
            element("a", join(["← ", t("index_title", ctx.language)]), href=f"../{_index_file(ctx)}"),
            cls="back-link",
        ),
        heading(join([t("village_title", ctx.language), ": ", ctx.village_name]), level=1),
        paragraph(join([ctx.study.name, " · ", _arm_label(ctx)]), cls="subtitle"),
        language_links(ctx.language, ctx.other_languages),
        heading(t("how_to_read", ctx.language), level=2),
        paragraph(
            render(
                "how_to_read_village",
                ctx.language,
                y0=years[0] or t("baseline", ctx.language).lower(),
                y1=years[1] or t("followup", ctx.language).lower(),
                n=ctx.min_cell,
            )
        ),
    ]
    if ctx.hidden:
        parts.append(paragraph(_hidden_reason(ctx), cls="warning"))
    return fragment(*parts)


def _hidden_reason(ctx: VillageContext) -> object:
    """Why this village's figures are not shown (a small village, or one hidden to protect one)."""
    key = "village_hidden_complementary" if ctx.suppressed == COMPLEMENTARY else "village_hidden_small"
    return render(key, ctx.language, n=ctx.min_cell)


def households_section(ctx: VillageContext) -> list[object]:
    """Households surveyed, found again, lost and new: a table and the attrition flow."""
    lang = ctx.language
    sizes = ("baseline", "panel", "followup")
    table = summaries.attrition_table(ctx.here, min_cell=ctx.min_cell, hide=sizes if ctx.hidden else ())
    labels = {
        "baseline": t("surveyed_baseline", lang),
        "panel": t("found_again", lang),
        "lost": t("not_found", lang),
        "new": t("new_followup", lang),
        "followup": t("surveyed_followup", lang),
    }
    if ctx.all_rounds is not None and ctx.all_rounds.round_design.kind == "repeated_cross_section":
        # Different households every round: how many were surveyed, and nothing to follow.
        surveyed = [[labels[key], _attrition_cell(table, key, ctx)] for key in ("baseline", "followup")]
        return [
            fragment(heading(t("households", lang)), note(render("rcs_village_households", lang))),
            Table(
                [Column("", "left"), Column(t("n_households", lang), cls="num")],
                surveyed,
                notes=[render("hidden_note", lang, n=ctx.min_cell)] if table.hidden else [],
            ),
        ]
    rows = [[labels[key], _attrition_cell(table, key, ctx)] for key in labels]
    shown = {
        key: t("hidden", lang) if table.shown(key) is None else integer(table.values[key], lang)
        for key in labels
    }
    fig = figures.attrition_flow(shown, language=lang, hidden=sorted(table.hidden))
    alt = "; ".join(f"{labels[k]}: {shown[k]}" for k in labels)
    # The households not found are published at any size, so the response rate is exact
    # wherever the baseline count is shown, and hidden with it (it would give the count back).
    response: object = ""
    if table.shown("baseline") and table.shown("panel") is not None:
        rate = table.values["panel"] / table.values["baseline"]
        response = paragraph(render("response_sentence", lang, rate=percent(rate, lang)))
    result: list[object] = [
        fragment(heading(t("households", lang)), response),
        Table(
            [Column("", "left"), Column(t("n_households", lang), cls="num")],
            rows,
            notes=[render("hidden_note", lang, n=ctx.min_cell)] if table.hidden else [],
        ),
    ]
    result += figure_block(
        fig,
        alt=alt,
        caption=render("attrition_reading", lang),
        base=None,
        language=lang,
        min_cell=ctx.min_cell,
    )
    return result


def _attrition_cell(table: SuppressedTable[str], key: str, ctx: VillageContext) -> object:
    """A cell of the households table: fieldwork counts at any size, the sizes as the table says."""
    if key in summaries.FIELDWORK_CELLS:
        return fieldwork_count(table.values[key], language=ctx.language)
    return count(table.shown(key), language=ctx.language, min_cell=ctx.min_cell)


# ---------------------------------------------------------------------------------------------
# Income and participation sentences


def programme_wide_sentence(ctx: VillageContext, outcome: str, *, money: bool) -> object:
    """The programme-wide impact on ``outcome`` in plain words, or nothing.

    A village meeting reads what the estimate compares and whether chance alone could explain
    it; the estimator's name, the standard errors and the p-value are in the programme report.
    Whether the difference could be chance is judged by the p-value the programme report reads
    (the wild-bootstrap one where it was computed).
    """
    estimator = primary_estimator(ctx.study)
    rows = ctx.impact.loc[(ctx.impact["outcome"] == outcome) & (ctx.impact["estimator"] == estimator)]
    if rows.empty or not np.isfinite(rows["estimate"].iloc[0]):
        return ""
    row = rows.iloc[0]
    p = float(row["p_value"])
    wild = inference_value(ctx.inference, outcome, estimator, "p_value_wild")
    lang = ctx.language

    def fmt(value: float) -> str:
        return rupiah(value, lang, signed=True) if money else number(value, lang, signed=True)

    how = render(f"how_{estimator}", lang) if f"how_{estimator}" in TEXT else ""
    label = outcome_label(outcome, study=ctx.study, codebook=ctx.codebook, language=lang)
    shown_p = wild if np.isfinite(wild) else p
    if ctx.withheld or not (np.isfinite(shown_p) and np.isfinite(float(row["ci_low"]))):
        # No reliable p-value (one programme village, say): give the estimate, say why nobody
        # can tell whether it is more than chance, and make no claim either way.
        code = ctx.withheld if ctx.withheld in WITHHELD_CODES else "not_computed"
        return render(
            "programme_wide_no_inference",
            lang,
            outcome=label,
            effect=fmt(float(row["estimate"])),
            how=how,
            why=render(f"chance_withheld_{code}", lang),
        )
    return render(
        "programme_wide",
        lang,
        outcome=label,
        effect=fmt(float(row["estimate"])),
        low=fmt(float(row["ci_low"])),
        high=fmt(float(row["ci_high"])),
        how=how,
        chance=render("chance_significant" if shown_p < 0.05 else "chance_not_significant", lang),
    )


def _attribution(ctx: VillageContext, difference: object) -> object:
    if ctx.treatment == 1:
        return render("attribution_programme", ctx.language, diff=difference)
    if ctx.treatment == 0:
        return render("attribution_comparison", ctx.language)
    return render("attribution_unknown", ctx.language)


def income_change(ctx: VillageContext) -> summaries.VillageChange | None:
    """The change of median income per person here and in comparison villages."""
    if "income_pc" not in ctx.panel.columns:
        return None
    return summaries.village_change(
        ctx.panel,
        village=ctx.village,
        column="income_pc",
        statistic="median",
        relative=True,
        min_cell=ctx.min_cell,
        seed=ctx.study.seed,
        reps=BOOTSTRAP_REPS,
    )


def income_sentence(ctx: VillageContext, change: summaries.VillageChange) -> object:
    """“Median monthly income per person rose from Rp 812.000 to Rp 905.000 (+11%; …)”."""
    lang = ctx.language
    own = change.village
    if not own.available:
        return render("too_few_households", lang, n=ctx.min_cell)
    values = {
        "verb": rose_or_fell(own.after - own.before, lang),
        "before": statistic(rupiah(own.before, lang), base=own.n_before),
        "after": statistic(rupiah(own.after, lang), base=own.n_after),
        "change": percent(own.change, lang, signed=True),
        "low": percent(own.low, lang, signed=True),
        "high": percent(own.high, lang, signed=True),
    }
    comparison = change.comparison
    if comparison is None or not comparison.available:
        return render("income_sentence_no_comparison", lang, **values)
    return render(
        "income_sentence",
        lang,
        **values,
        group=_comparison_label(ctx).lower(),
        cverb=rose_or_fell(comparison.change, lang),
        cchange=statistic(
            percent(abs(comparison.change), lang), base=min(comparison.n_before, comparison.n_after)
        ),
        clow=percent(comparison.low, lang, signed=True),
        chigh=percent(comparison.high, lang, signed=True),
    )


def _difference_text(ctx: VillageContext, change: summaries.VillageChange, *, unit: str) -> object:
    """The village's change minus the comparison villages', as the page's own figures give it.

    The difference is computed from the two changes as they are printed (``+33%`` and ``+5%``
    make ``+28`` points; ``+0,5`` and ``0,0`` make ``+0,5``), so a reader who subtracts gets the
    same number; its interval is the bootstrap interval of the unrounded difference.
    """
    comparison = change.comparison
    if comparison is None or not np.isfinite(change.difference):
        return "–"
    lang = ctx.language
    scale, digits, key = (100, 0, "difference_pp") if unit == "pp" else (1, 1, "difference_rungs")
    difference = as_shown(change.village.change * scale, digits) - as_shown(comparison.change * scale, digits)
    core = render(key, lang, value=number(difference, lang, digits=digits, signed=True))
    interval = render(
        "interval",
        lang,
        low=number(change.difference_low * scale, lang, digits=digits, signed=True),
        high=number(change.difference_high * scale, lang, digits=digits, signed=True),
    )
    return join([core, "; ", interval])


def income_section(ctx: VillageContext) -> list[object]:
    """The plain-language income sentence, the attribution, the programme-wide effect and the figure."""
    lang = ctx.language
    parts: list[object] = [fragment(heading(t("income", lang)))]
    if "income_pc" not in ctx.panel.columns:
        return parts + [fragment(note(render("no_income", lang)))]
    if ctx.hidden:
        return parts + [_hidden_section(ctx, "income_pc", money=True)]
    change = income_change(ctx)
    if change is None:
        return parts + [fragment(note(render("no_income", lang)))]
    parts.append(
        fragment(
            paragraph(income_sentence(ctx, change)),
            paragraph(_attribution(ctx, _difference_text(ctx, change, unit="pp"))),
            paragraph(programme_wide_sentence(ctx, "income_pc", money=True)),
        )
    )
    fig, base, alt, cap = income_figure(ctx)
    parts += figure_block(
        fig,
        alt=alt,
        caption=render("income_caption", lang, n=ctx.min_cell, cap=number(cap / 1000, lang, digits=0)),
        base=base,
        language=lang,
        min_cell=ctx.min_cell,
    )
    return parts


def _hidden_section(ctx: VillageContext, outcome: str, *, money: bool) -> Html:
    """A section of a hidden village: why its figures are not shown, and the programme-wide effect.

    The programme-wide estimate comes from the public ``impact_detail.csv`` and describes every
    programme village together, so it may be shown. Nothing about "the other comparison
    villages" is: with the arm's published figures it would give this village's back.
    """
    return fragment(
        note(render("village_hidden_section", ctx.language)),
        paragraph(programme_wide_sentence(ctx, outcome, money=money)),
    )


def income_figure(ctx: VillageContext) -> tuple[Figure | None, int | None, str, float]:
    """The income ranges figure: quartiles per round of this village and the comparison villages.

    Income is top-coded at the pooled 99th percentile before any quantile is taken.
    """
    lang = ctx.language
    data = ctx.panel.loc[
        ctx.panel["income_pc"].notna(), ["village", "round", "treatment", "income_pc"]
    ].copy()
    capped, cap = top_code(data["income_pc"], quantile=0.99)
    data["income"] = capped / 1000
    groups = {
        "village": (data["village"] == ctx.village, t("this_village", lang)),
        "comparison": (
            (data["treatment"] == 0) & (data["village"] != ctx.village),
            _comparison_label(ctx),
        ),
    }
    rows = []
    for round_name in ("baseline", "followup"):
        for kind, (mask, name) in groups.items():
            row = summaries.quantile_row(
                data.loc[mask & (data["round"] == round_name), "income"], min_cell=ctx.min_cell
            )
            if row is None:
                if kind == "village":
                    return None, None, "", cap
                continue
            rows.append({"group": name, "kind": kind, "round": t(round_name, lang), **row})
    stats = pd.DataFrame(rows)
    fig = figures.income_ranges(stats, language=lang)
    alt = "; ".join(
        t(
            "alt_income",
            lang,
            round=r["round"],
            group=r["group"],
            p50=number(r["p50"], lang, digits=0),
            p25=number(r["p25"], lang, digits=0),
            p75=number(r["p75"], lang, digits=0),
        )
        for r in rows
    )
    return fig, int(stats["n"].min()), alt, cap


def trajectory_data(ctx: VillageContext, outcome: str, column: str) -> pd.DataFrame:
    """Mean of one outcome per round: this village, programme villages and comparison villages.

    Returns
    -------
    pandas.DataFrame
        Columns ``group`` (``village``, ``programme``, ``comparison``; the other villages of
        this village's arm exclude it), ``round``, ``round_number``, ``mean`` and ``n``. A
        group-round with fewer than ``min_cell`` households is left out (its mean would describe
        a handful of households); the village's own rows are left out when it is hidden.
    """
    panel = ctx.long_panel
    if panel is None or column not in panel.columns:
        return pd.DataFrame(columns=["group", "round", "round_number", "mean", "n"])
    values = pd.to_numeric(panel[column], errors="coerce")
    data = panel.assign(y=values).loc[values.notna() & panel["in_sample"].astype(bool)]
    others = data["village"] != ctx.village
    groups = {
        "village": data["village"] == ctx.village,
        "programme": (data["treatment"] == 1) & others,
        "comparison": (data["treatment"] == 0) & others,
    }
    rows = []
    for group, mask in groups.items():
        if group == "village" and ctx.hidden:
            continue
        part = data.loc[mask].groupby(["round_number", "round"], sort=True)["y"].agg(["mean", "count"])
        for record in part.reset_index().to_dict("records"):
            if int(record["count"]) >= ctx.min_cell:
                rows.append(
                    (
                        group,
                        str(record["round"]),
                        int(record["round_number"]),
                        float(record["mean"]),
                        int(record["count"]),
                    )
                )
    return pd.DataFrame(rows, columns=["group", "round", "round_number", "mean", "n"])


def trajectory_section(ctx: VillageContext) -> list[object]:
    """A study with more than two rounds: each outcome's mean in every round, as a line chart.

    This village against the programme and comparison villages (each without this village),
    so the whole path is visible, not only the first and last rounds. Nothing for two rounds
    or a repeated cross-section (whose households differ from round to round).
    """
    if ctx.all_rounds is None or ctx.all_rounds.round_design.kind == "repeated_cross_section":
        return []
    lang = ctx.language
    last = ctx.all_rounds.round_design.round_order[-1]
    parts: list[object] = [fragment(heading(t("trajectory_heading", lang)))]
    names = {
        "village": t("this_village", lang),
        "programme": t("programme_villages", lang),
        "comparison": _comparison_label(ctx),
    }
    for outcome in ctx.all_rounds.outcomes:
        data = trajectory_data(ctx, outcome.name, outcome.columns.get(last) or outcome.name)
        if data.empty:
            continue
        label = outcome_label(outcome.name, study=ctx.study, codebook=ctx.codebook, language=lang)
        digits = 0 if is_money(outcome.name, ctx.codebook) else 2  # rupiah without decimals
        alt = "; ".join(
            f"{names[str(g)]}: "
            + ", ".join(
                f"{r['round']} {number(r['mean'], lang, digits=digits)}" for r in part.to_dict("records")
            )
            for g, part in data.groupby("group", sort=False)
        )
        parts += figure_block(
            figures.trajectory_plot(data, names=names, title=label, language=lang),
            alt=f"{label}. {alt}",
            caption=render("trajectory_reading", lang, outcome=label),
            base=int(data["n"].min()),
            language=lang,
            min_cell=ctx.min_cell,
        )
    return parts if len(parts) > 1 else []


def participation_section(ctx: VillageContext) -> list[object]:
    """The participation ladder: the score sentence and the share reaching each rung."""
    lang = ctx.language
    parts: list[object] = [fragment(heading(t("participation", lang)))]
    rungs = [(v.name, v.label(lang)) for v in (ctx.codebook.by_role("ladder") if ctx.codebook else [])]
    rungs = [(name, text) for name, text in rungs if name in ctx.panel.columns]
    if not rungs:
        return parts + [fragment(note(render("no_ladder", lang)))]
    if ctx.hidden:
        return parts + [_hidden_section(ctx, "participation_score", money=False)]
    if "participation_score" in ctx.panel.columns:
        change = summaries.village_change(
            ctx.panel,
            village=ctx.village,
            column="participation_score",
            statistic="mean",
            relative=False,
            min_cell=ctx.min_cell,
            seed=ctx.study.seed,
            reps=BOOTSTRAP_REPS,
        )
        own, comparison = change.village, change.comparison
        if own.available and comparison is not None and comparison.available:
            sentence = render(
                "participation_sentence",
                lang,
                after=statistic(number(own.after, lang, digits=1), base=own.n_after),
                before=statistic(number(own.before, lang, digits=1), base=own.n_before),
                rungs=len(rungs),
                group=_comparison_label(ctx).lower(),
                change=number(own.change, lang, digits=1, signed=True),
                low=number(own.low, lang, digits=1, signed=True),
                high=number(own.high, lang, digits=1, signed=True),
                cchange=statistic(
                    number(comparison.change, lang, digits=1, signed=True),
                    base=min(comparison.n_before, comparison.n_after),
                ),
                clow=number(comparison.low, lang, digits=1, signed=True),
                chigh=number(comparison.high, lang, digits=1, signed=True),
            )
            parts.append(
                fragment(
                    paragraph(sentence),
                    paragraph(_attribution(ctx, _difference_text(ctx, change, unit="rungs"))),
                    paragraph(programme_wide_sentence(ctx, "participation_score", money=False)),
                )
            )
    shares = summaries.ladder_shares(ctx.here, rungs=rungs, min_cell=ctx.min_cell)
    fig = figures.ladder_chart(shares, language=lang)
    alt = "; ".join(
        f"{r['rung']}: {percent(r['baseline'], lang)} → {percent(r['followup'], lang)}"
        for r in shares.to_dict("records")
    )
    bases = [int(b) for b in shares[["n_baseline", "n_followup"]].to_numpy().ravel() if b >= ctx.min_cell]
    parts += figure_block(
        fig,
        alt=alt,
        caption=render("ladder_reading", lang),
        base=min(bases) if bases else None,
        language=lang,
        min_cell=ctx.min_cell,
    )
    return parts


def goals_section(ctx: VillageContext) -> list[object]:
    """The six empowerment goals: this village against the programme average."""
    lang = ctx.language
    parts: list[object] = [fragment(heading(t("goals", lang)))]
    if ctx.hidden:
        return parts + [fragment(note(render("village_hidden_section", lang)))]
    profile = summaries.goal_profile(
        ctx.panel, village=ctx.village, study=ctx.study, goals=GOALS, min_cell=ctx.min_cell
    )
    if profile.empty:
        return parts + [fragment(note(render("no_goals", lang)))]
    profile["label"] = [FAMILY_LABELS[g][lang] for g in profile["goal"]]
    shown = profile.assign(goal=profile["label"])
    fig = figures.goals_profile(shown, language=lang)
    records = profile.to_dict("records")
    gaps = [(str(r["label"]), float(r["village_followup"]) - float(r["programme_followup"])) for r in records]
    above = [name for name, gap in gaps if np.isfinite(gap) and gap > 0]
    below = [name for name, gap in gaps if np.isfinite(gap) and gap < 0]
    differs = _income_differs(ctx, profile)
    reading = []
    if above:
        reading.append(render("goals_reading_above", lang, above=list_words(above, lang)))
    if below:
        reading.append(render("goals_reading_below", lang, below=list_words(below, lang)))
    parts.append(
        fragment(
            paragraph(join(reading, " ")) if reading else "",
            # A comparison village drawn beside the programme villages' average: say what that
            # gap is not.
            paragraph(render("goals_comparison_village", lang)) if ctx.treatment == 0 else "",
            paragraph(differs) if differs else "",
            note(render("goals_explain", lang)),
        )
    )
    alt = "; ".join(
        t(
            "alt_goal",
            lang,
            goal=r["label"],
            before=number(r["village_baseline"], lang),
            after=number(r["village_followup"], lang),
            reference=t("programme_average", lang),
            average=number(r["programme_followup"], lang),
        )
        for r in records
    )
    columns = ["n_village_baseline", "n_village_followup", "n_programme_followup"]
    bases = [int(b) for b in profile[columns].to_numpy().ravel() if b >= ctx.min_cell]
    parts += figure_block(
        fig,
        alt=alt,
        caption=render("goals_caption", lang),
        base=min(bases) if bases else None,
        language=lang,
        min_cell=ctx.min_cell,
    )
    return parts


def _income_differs(ctx: VillageContext, profile: pd.DataFrame) -> object:
    """Why the goals chart's income and the income section's median move apart, when they do.

    The chart's income goal is a mean over households, the income section gives the median: a
    few households with large changes can move the two in opposite directions. When they do,
    this says so beside the chart; otherwise it says nothing.
    """
    if "income_pc" not in ctx.panel.columns or "income" not in set(profile["goal"]):
        return ""
    goal = profile.loc[profile["goal"] == "income"].iloc[0]
    # As the chart's text gives it (two decimals), so that "no change" there is no change here.
    goal_change = as_shown(float(goal["village_followup"]), 2) - as_shown(float(goal["village_baseline"]), 2)
    medians = []
    for round_name in ("baseline", "followup"):
        values = pd.to_numeric(ctx.here.loc[ctx.here["round"] == round_name, "income_pc"], errors="coerce")
        values = values.dropna()
        if len(values) < ctx.min_cell:
            return ""
        medians.append(float(np.median(values)))
    median_change = medians[1] - medians[0]
    if not (np.isfinite(goal_change) and goal_change != 0 and median_change != 0):
        return ""
    if (goal_change > 0) == (median_change > 0):
        return ""
    return render(
        "goals_income_differs",
        ctx.language,
        goal=FAMILY_LABELS["income"][ctx.language],
        goal_verb=rose_or_fell(goal_change, ctx.language),
        section=t("income", ctx.language),
        median_verb=rose_or_fell(median_change, ctx.language),
    )


def data_quality_section(ctx: VillageContext) -> list[object]:
    """Interviews used, records quarantined and values corrected in this village, per round."""
    lang = ctx.language
    quality = summaries.village_quality(
        ctx.processed_dir,
        village=ctx.village,
        village_column=summaries.village_column(ctx.study, ctx.codebook),
    )
    counts = ctx.counts
    lines = []
    for round_name, numbers in quality.items():
        lines.append(
            element(
                "li",
                render(
                    "quality_round",
                    lang,
                    round=t(round_name, lang),
                    used=count(
                        None if ctx.hidden else counts[round_name], language=lang, min_cell=ctx.min_cell
                    ),
                    # Records set aside and values corrected are cleaning counts: shown at any size.
                    quarantined=fieldwork_count(numbers["quarantined"], language=lang),
                    corrected=fieldwork_count(numbers["corrected"], language=lang),
                ),
            )
        )
    return [
        fragment(
            heading(t("data_quality", lang)),
            element("ul", join(lines)),
            note(render("quality_kinds", lang)),
        )
    ]


def provenance(ctx: VillageContext) -> Html:
    """The provenance block: study, commit, input hashes, packages, parameters, time, rebuild."""
    facts = read_provenance(ctx.tables_dir, ctx.study, root=PROJECT_ROOT)
    return provenance_block(
        facts,
        parameters={
            "village": ctx.village,
            "language": ctx.language,
            "min_cell": ctx.min_cell,
            "seed": ctx.study.seed,
            "bootstrap_reps": BOOTSTRAP_REPS,
        },
        language=ctx.language,
        started=ctx.started,
    )
