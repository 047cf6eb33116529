"""Content of one village report (``notebooks/05_village_report.ipynb``).

Written for a village head: plain language in Bahasa Indonesia or English, no code, no personal
data, and no statistic about fewer than ``min_cell`` households. The notebook calls :func:`load`
once, then one function per section; each returns a list of displayable objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis import figures, summaries
from analysis.codebook import Codebook, load_codebook
from analysis.config import PROJECT_ROOT
from analysis.disclosure import check_min_cell, rate_display, top_code
from analysis.errors import ReportError
from analysis.report import (
    Column,
    Html,
    Table,
    count,
    element,
    fewer_than,
    figure_block,
    fragment,
    heading,
    inference_value,
    note,
    outcome_label,
    paragraph,
    primary_estimator,
    provenance_block,
    read_provenance,
    read_table,
    statistic,
)
from analysis.report_text import (
    ESTIMATOR_LABELS,
    FAMILY_LABELS,
    GOALS,
    Language,
    check_language,
    integer,
    join,
    list_words,
    number,
    p_relation,
    percent,
    render,
    rose_or_fell,
    rupiah,
    t,
)
from analysis.study import Study, load_study

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
    def too_small(self) -> bool:
        """Whether both rounds have fewer than ``min_cell`` households: nothing can be shown."""
        counts = self.counts
        return counts["baseline"] < self.min_cell and counts["followup"] < self.min_cell

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
    """
    study = load_study(study_path)
    check_min_cell(study.min_cell)
    lang = check_language(language or study.language)
    panel = pd.read_parquet(Path(processed_dir) / "panel.parquet")
    panel["village"] = panel["village"].astype("string")
    here = panel.loc[panel["village"] == str(village)]
    if here.empty:
        raise ReportError(f"village {village!r} has no households in the panel")
    name = here["village_name"].dropna() if "village_name" in here else pd.Series(dtype=str)
    arm = here["treatment"].dropna()
    return VillageContext(
        study=study,
        codebook=load_codebook(study),
        village=str(village),
        village_name=str(name.iloc[0]) if len(name) and str(name.iloc[0]).strip() else str(village),
        treatment=float(arm.iloc[0]) if len(arm) else float("nan"),
        panel=panel,
        impact=pd.read_csv(Path(tables_dir) / "impact_detail.csv"),
        inference=read_table(Path(tables_dir), "impact_inference.csv"),
        processed_dir=Path(processed_dir),
        tables_dir=Path(tables_dir),
        language=lang,
    )


def _arm_label(ctx: VillageContext) -> str:
    if ctx.treatment == 1:
        return t("programme_village", ctx.language)
    if ctx.treatment == 0:
        return t("comparison_village", ctx.language)
    return t("unknown_arm", ctx.language)


def _comparison_label(ctx: VillageContext) -> str:
    key = "comparison_villages" if ctx.treatment != 0 else "other_comparison_villages"
    return t(key, ctx.language)


def title(ctx: VillageContext) -> Html:
    """Heading with the village name and arm, and how to read the report."""
    years = [ctx.study.rounds[r].year for r in ("baseline", "followup")]
    parts: list[object] = [
        heading(join([t("village_title", ctx.language), ": ", ctx.village_name]), level=1),
        paragraph(join([ctx.study.name, " · ", _arm_label(ctx)]), cls="subtitle"),
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
    if ctx.too_small:
        parts.append(paragraph(render("too_few_households", ctx.language, n=ctx.min_cell), cls="warning"))
    return fragment(*parts)


def households_section(ctx: VillageContext) -> list[object]:
    """Households surveyed, found again, lost and new: a table and the attrition flow."""
    lang = ctx.language
    table = summaries.attrition_table(ctx.here, min_cell=ctx.min_cell)
    labels = {
        "baseline": t("surveyed_baseline", lang),
        "panel": t("found_again", lang),
        "lost": t("not_found", lang),
        "new": t("new_followup", lang),
        "followup": t("surveyed_followup", lang),
    }
    rows = [[labels[key], count(table.shown(key), language=lang, min_cell=ctx.min_cell)] for key in labels]
    shown = {
        key: t("hidden", lang) if table.shown(key) is None else integer(table.values[key], lang)
        for key in labels
    }
    fig = figures.attrition_flow(shown, language=lang, hidden=sorted(table.hidden))
    alt = "; ".join(f"{labels[k]}: {shown[k]}" for k in labels)
    counts = table.values
    exact, bound = rate_display(counts["panel"], counts["baseline"], min_cell=ctx.min_cell)
    if exact is not None:
        response: object = paragraph(render("response_sentence", lang, rate=percent(exact, lang)))
    elif bound is not None:
        rate = render("at_least_rate", lang, rate=percent(bound, lang))
        response = paragraph(render("response_sentence", lang, rate=rate))
    else:
        response = ""
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


# ---------------------------------------------------------------------------------------------
# Income and participation sentences


def programme_wide_sentence(ctx: VillageContext, outcome: str, *, money: bool) -> object:
    """The programme-wide impact on ``outcome`` with its interval and p-value, or nothing."""
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

    shown_p = wild if np.isfinite(wild) else p
    significance = render(
        "significant" if shown_p < 0.05 else "not_significant",
        lang,
        p=render("p_wild_is" if np.isfinite(wild) else "p_is", lang, p=p_relation(shown_p, lang)),
    )
    return render(
        "programme_wide",
        lang,
        outcome=outcome_label(outcome, study=ctx.study, codebook=ctx.codebook, language=lang),
        effect=fmt(float(row["estimate"])),
        low=fmt(float(row["ci_low"])),
        high=fmt(float(row["ci_high"])),
        estimator=ESTIMATOR_LABELS[estimator][lang],
        significance=significance,
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
    if not np.isfinite(change.difference):
        return "–"
    lang = ctx.language
    if unit == "pp":
        value = number(change.difference * 100, lang, digits=0, signed=True)
        low = number(change.difference_low * 100, lang, digits=0, signed=True)
        high = number(change.difference_high * 100, lang, digits=0, signed=True)
        core = render("difference_pp", lang, value=value)
    else:
        value = number(change.difference, lang, digits=1, signed=True)
        low = number(change.difference_low, lang, digits=1, signed=True)
        high = number(change.difference_high, lang, digits=1, signed=True)
        core = render("difference_rungs", lang, value=value)
    interval = {"id": f"selang 95% {low} sampai {high}", "en": f"95% interval {low} to {high}"}[lang]
    return join([core, "; ", interval])


def income_section(ctx: VillageContext) -> list[object]:
    """The plain-language income sentence, the attribution, the programme-wide effect and the figure."""
    lang = ctx.language
    parts: list[object] = [fragment(heading(t("income", lang)))]
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
        f"{r['round']}, {r['group']}: median {number(r['p50'], lang, digits=0)}, "
        f"{number(r['p25'], lang, digits=0)}–{number(r['p75'], lang, digits=0)} (Rp '000)"
        for r in rows
    )
    return fig, int(stats["n"].min()), alt, cap


def participation_section(ctx: VillageContext) -> list[object]:
    """The participation ladder: the score sentence and the share reaching each rung."""
    lang = ctx.language
    parts: list[object] = [fragment(heading(t("participation", lang)))]
    rungs = [(v.name, v.label(lang)) for v in (ctx.codebook.by_role("ladder") if ctx.codebook else [])]
    rungs = [(name, text) for name, text in rungs if name in ctx.panel.columns]
    if not rungs:
        return parts + [fragment(note(render("no_ladder", lang)))]
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
    reading = []
    if above:
        reading.append(render("goals_reading_above", lang, above=list_words(above, lang)))
    if below:
        reading.append(render("goals_reading_below", lang, below=list_words(below, lang)))
    parts.append(
        fragment(paragraph(join(reading, " ")) if reading else "", note(render("goals_explain", lang)))
    )
    alt = "; ".join(
        f"{r['label']}: {number(r['village_baseline'], lang)} → {number(r['village_followup'], lang)} "
        f"({t('programme_average', lang)} {number(r['programme_followup'], lang)})"
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
                    used=count(counts[round_name], language=lang, min_cell=ctx.min_cell),
                    quarantined=_small_count(numbers["quarantined"], ctx),
                    corrected=_small_count(numbers["corrected"], ctx),
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


def _small_count(value: int, ctx: VillageContext) -> object:
    if 0 < value < ctx.min_cell:
        return fewer_than(ctx.min_cell, language=ctx.language)
    return count(value, language=ctx.language, min_cell=ctx.min_cell)


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
