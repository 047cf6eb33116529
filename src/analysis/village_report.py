"""Content of one village report (``notebooks/05_village_report.ipynb``).

Written for a village head: plain language, Indonesian or English, no code, no personal data,
and no statistic about fewer than ``min_cell`` households.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Image, Markdown

from analysis import report
from analysis.codebook import Codebook
from analysis.config import PROJECT_ROOT
from analysis.errors import ReportError
from analysis.report_text import Language, esc, income_sentence, t
from analysis.stages import load_codebook
from analysis.study import Study, load_study


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
    processed_dir: Path
    tables_dir: Path
    language: Language


def load(
    study_path: str, *, village: str, processed_dir: str, tables_dir: str, language: str
) -> VillageContext:
    """Read what the report of ``village`` needs."""
    if language not in ("id", "en"):
        raise ValueError(f"language is {language!r}; expecting one of id, en")
    study = load_study(study_path)
    panel = pd.read_parquet(Path(processed_dir) / "panel.parquet")
    here = panel.loc[panel["village"].astype(str) == str(village)]
    if here.empty:
        raise ReportError(f"village {village!r} has no households in the panel")
    name = here["village_name"].dropna()
    return VillageContext(
        study=study,
        codebook=load_codebook(study),
        village=str(village),
        village_name=str(name.iloc[0]) if len(name) else str(village),
        treatment=float(here["treatment"].dropna().iloc[0]) if here["treatment"].notna().any() else np.nan,
        panel=panel,
        impact=pd.read_csv(Path(tables_dir) / "impact_detail.csv"),
        processed_dir=Path(processed_dir),
        tables_dir=Path(tables_dir),
        language=language,  # type: ignore[arg-type]
    )


def title(ctx: VillageContext) -> str:
    """Heading with the village name and arm."""
    arm = (
        t("programme_villages", ctx.language)
        if ctx.treatment == 1
        else t("comparison_villages", ctx.language)
    )
    return f"# {t('village_title', ctx.language)}: {esc(ctx.village_name)}\n\n{esc(ctx.study.name)} · {arm}"


def households_text(ctx: VillageContext) -> str:
    """Heading of the households section."""
    return f"## {t('attrition', ctx.language)}"


def households(ctx: VillageContext) -> report.Table:
    """Households surveyed, found again, lost and new (small counts suppressed)."""
    table = report.attrition_table(
        ctx.panel, village=ctx.village, min_cell=ctx.study.min_cell, language=ctx.language
    )
    return report.Table(table)


def _median(frame: pd.DataFrame, round_name: str, min_cell: int) -> float:
    values = frame.loc[frame["round"] == round_name, "income_pc"].dropna()
    return float(values.median()) if len(values) >= min_cell else float("nan")


def income_text(ctx: VillageContext) -> str:
    """The plain-language income sentence, with uncertainty and the attribution caveat."""
    heading = f"## {t('income', ctx.language)}"
    if "income_pc" not in ctx.panel.columns:
        return heading
    here = ctx.panel.loc[ctx.panel["village"] == ctx.village]
    comparison = ctx.panel.loc[ctx.panel["treatment"] == 0]
    before, after = (
        _median(here, "baseline", ctx.study.min_cell),
        _median(here, "followup", ctx.study.min_cell),
    )
    if not (np.isfinite(before) and np.isfinite(after)):
        return f"{heading}\n\n{t('suppressed', ctx.language, n=ctx.study.min_cell)}"
    c_before = _median(comparison, "baseline", ctx.study.min_cell)
    c_after = _median(comparison, "followup", ctx.study.min_cell)
    c_change = (c_after - c_before) / c_before if c_before else None
    did = ctx.impact.loc[(ctx.impact["outcome"] == "income_pc") & (ctx.impact["estimator"] == "did")]
    ci = None
    if len(did) and np.isfinite(did["ci_low"].iloc[0]):
        ci = (float(did["ci_low"].iloc[0]), float(did["ci_high"].iloc[0]))
    sentence = income_sentence(
        before=before, after=after, comparison_change=c_change, ci=ci, language=ctx.language
    )
    return f"{heading}\n\n{sentence}\n\n{t('before_after_caveat', ctx.language)}"


def income_figure(ctx: VillageContext) -> Image | Markdown:
    """Income distribution before and after, this village against comparison villages."""
    fig = report.income_figure(
        ctx.panel, village=ctx.village, min_cell=ctx.study.min_cell, language=ctx.language
    )
    return report.as_image(fig, alt_text=t("suppressed", ctx.language, n=ctx.study.min_cell))


def participation_text(ctx: VillageContext) -> str:
    """Heading of the participation section."""
    return f"## {t('participation', ctx.language)}"


def participation_figure(ctx: VillageContext) -> Image | Markdown:
    """Share of households on each rung of the participation ladder, baseline against follow-up."""
    table = report.ladder_table(
        ctx.panel,
        codebook=ctx.codebook,
        village=ctx.village,
        min_cell=ctx.study.min_cell,
        language=ctx.language,
    )
    fig = report.ladder_figure(table, language=ctx.language)
    return report.as_image(fig, alt_text=t("suppressed", ctx.language, n=ctx.study.min_cell))


def data_quality_text(ctx: VillageContext) -> str:
    """Quarantined rows of this village, by reason (counts only)."""
    lines = [f"## {t('data_quality', ctx.language)}", ""]
    for round_name in ("baseline", "followup"):
        path = ctx.processed_dir / f"{round_name}_quarantine.csv"
        if not path.is_file():
            continue
        quarantine = pd.read_csv(path, dtype=str, keep_default_na=False)
        village_col = next(
            (v.name for v in (ctx.codebook.by_role("village") if ctx.codebook else [])),
            ctx.study.village,
        )
        if village_col and village_col in quarantine.columns:
            quarantine = quarantine.loc[quarantine[village_col] == ctx.village]
        count = len(quarantine)
        if ctx.language == "en":
            lines.append(f"- {t(round_name, ctx.language)}: {count} record(s) set aside for checking.")
        else:
            lines.append(f"- {t(round_name, ctx.language)}: {count} catatan disisihkan untuk diperiksa.")
    return "\n".join(lines)


def provenance(ctx: VillageContext, *, run_time: str) -> str:
    """The provenance block."""
    facts = report.read_provenance(ctx.tables_dir, ctx.study, root=PROJECT_ROOT)
    return report.provenance_markdown(
        facts,
        parameters={
            "language": ctx.language,
            "min_cell": ctx.study.min_cell,
            "village": ctx.village,
        },
        language=ctx.language,
        run_time=run_time,
    )
