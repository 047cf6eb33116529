"""Content of the programme report (``notebooks/04_programme_report.ipynb``).

The notebook calls :func:`load` once, then one function per section; each returns safe
Markdown, a display DataFrame or a Figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown

from analysis import report
from analysis.codebook import Codebook
from analysis.config import PROJECT_ROOT
from analysis.report_text import Language, esc, t
from analysis.stages import load_codebook
from analysis.study import Study, load_study


@dataclass(frozen=True)
class ProgrammeContext:
    """Everything the programme report reads, loaded once."""

    study: Study
    codebook: Codebook | None
    panel: pd.DataFrame
    impact: pd.DataFrame
    accounting: pd.DataFrame
    tables_dir: Path
    language: Language


def load(study_path: str, *, processed_dir: str, tables_dir: str, language: str) -> ProgrammeContext:
    """Read the study, the panel and the estimate tables."""
    if language not in ("id", "en"):
        raise ValueError(f"language is {language!r}; expecting one of id, en")
    study = load_study(study_path)
    tables = Path(tables_dir)
    return ProgrammeContext(
        study=study,
        codebook=load_codebook(study),
        panel=pd.read_parquet(Path(processed_dir) / "panel.parquet"),
        impact=pd.read_csv(tables / "impact_detail.csv"),
        accounting=pd.read_csv(tables / "row_accounting.csv"),
        tables_dir=tables,
        language=language,  # type: ignore[arg-type]
    )


def _style(frame: pd.DataFrame) -> report.Table:
    # Escaped: values come from the data and must never become markup.
    return report.Table(frame)


def title(ctx: ProgrammeContext) -> str:
    """The report heading."""
    return f"# {t('programme_title', ctx.language)}: {esc(ctx.study.name)}"


def design_text(ctx: ProgrammeContext) -> str:
    """Design summary and the data-quality accounting sentence."""
    first = ctx.panel.drop_duplicates("hh")
    villages = first.dropna(subset=["village"]).drop_duplicates("village")
    n_t = int((villages["treatment"] == 1).sum())
    n_c = int((villages["treatment"] == 0).sum())
    if ctx.language == "en":
        lead = (
            f"{n_t} programme villages and {n_c} comparison villages; {len(first):,} households "
            "in at least one round."
        )
    else:
        lead = (
            f"{n_t} desa program dan {n_c} desa pembanding; {len(first):,} rumah tangga "
            "dalam setidaknya satu putaran."
        ).replace(",", ".")
    return (
        f"## {t('design', ctx.language)}\n\n{lead}\n\n## {t('data_quality', ctx.language)}\n\n"
        f"{t('rows_accounting', ctx.language)}"
    )


def row_accounting(ctx: ProgrammeContext) -> report.Table:
    """Raw rows per round: clean, quarantined, excluded."""
    return _style(ctx.accounting)


def attrition_text(ctx: ProgrammeContext) -> str:
    """Heading of the attrition section."""
    return f"## {t('attrition', ctx.language)}"


def attrition(ctx: ProgrammeContext) -> report.Table:
    """Households by arm: surveyed, found again, lost and new."""
    rows = []
    for arm_value, arm_key in ((1.0, "programme_villages"), (0.0, "comparison_villages")):
        part = ctx.panel.loc[ctx.panel["treatment"] == arm_value]
        table = report.attrition_table(part, village=None, min_cell=ctx.study.min_cell, language=ctx.language)
        table = table.rename(columns={"n": t(arm_key, ctx.language)}).set_index("")
        rows.append(table)
    return _style(pd.concat(rows, axis=1).reset_index())


def impact_text(ctx: ProgrammeContext) -> str:
    """Heading and how to read the impact table."""
    if ctx.language == "en":
        note = (
            "Each cell shows the estimate with its standard error in brackets; "
            "\\* p < 0.1, \\*\\* p < 0.05, \\*\\*\\* p < 0.01 (CR1, t(G−1)). "
            "The before/after column is descriptive only."
        )
    else:
        note = (
            "Setiap sel menunjukkan perkiraan dengan galat baku dalam kurung; "
            "\\* p < 0,1, \\*\\* p < 0,05, \\*\\*\\* p < 0,01 (CR1, t(G−1)). "
            "Kolom sebelum–sesudah hanya deskriptif."
        )
    return f"## {t('impacts', ctx.language)}\n\n{note}"


def impact_table(ctx: ProgrammeContext) -> report.Table:
    """The main impact table: outcomes × estimators."""
    table = report.impact_display(ctx.impact, study=ctx.study, codebook=ctx.codebook, language=ctx.language)
    return report.Table(table)


def coefficient_figure(ctx: ProgrammeContext) -> Image | Markdown:
    """Coefficient plot across outcomes."""
    fig = report.coefficient_plot(ctx.impact, study=ctx.study, codebook=ctx.codebook, language=ctx.language)
    return report.as_image(fig)


def methods_text(ctx: ProgrammeContext) -> str:
    """Which estimator is primary and why."""
    clusters = ctx.impact["n_clusters"].dropna()
    g = int(clusters.max()) if len(clusters) else 0
    extra = (
        f" G = {g}."
        if g
        else (
            " No cluster column: HC1 standard errors."
            if ctx.language == "en"
            else " Tanpa kolom klaster: galat baku HC1."
        )
    )
    return f"## {t('methods', ctx.language)}\n\n{t('methods_text', ctx.language)}{extra}"


def provenance(ctx: ProgrammeContext, *, run_time: str) -> str:
    """The provenance block."""
    facts = report.read_provenance(ctx.tables_dir, ctx.study, root=PROJECT_ROOT)
    return report.provenance_markdown(
        facts,
        parameters={
            "language": ctx.language,
            "min_cell": ctx.study.min_cell,
            "seed": ctx.study.seed,
        },
        language=ctx.language,
        run_time=run_time,
    )
