"""Stage 3: estimate every outcome from the panel and write the tidy tables.

Reads ``panel.parquet`` (and the row states for the accounting table); writes
``tables/impact.csv`` and the other tables listed in :func:`estimate_stage`, with the
computations of :func:`analysis.impact_tables.analyse`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.config import IMPACT_COLUMNS, ROUNDS
from analysis.impact_tables import analyse, respondent_sex_column
from analysis.latex import attrition_latex, balance_latex, impact_latex, indices_latex
from analysis.panel import linkage_by_village
from analysis.provenance import write_text_atomic
from analysis.run_warnings import RunWarning, read_stage_warnings, warnings_file, warnings_frame
from analysis.storage import write_csv
from analysis.study import load_study


def row_accounting(processed: Path) -> pd.DataFrame:
    """Raw rows per round by final state; ``n_raw = clean + quarantined + excluded`` is checked."""
    rows = []
    for round_name in ROUNDS:
        states = pd.read_csv(processed / f"{round_name}_row_states.csv", dtype=str, keep_default_na=False)
        counts = states["state"].value_counts()
        record: dict[str, object] = {
            "round": round_name,
            "n_raw": len(states),
            "clean": int(counts.get("clean", 0)),
            "quarantined": int(counts.get("quarantined", 0)),
            "excluded": int(counts.get("excluded", 0)),
        }
        if len(states) != sum(int(counts.get(s, 0)) for s in ("clean", "quarantined", "excluded")):
            raise AssertionError(f"row accounting does not add up for {round_name}: {record}")
        rows.append(record)
    return pd.DataFrame(rows)


def village_summary(panel: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """One row per village: arm, households per round, attrition, and headline means.

    Statistics over fewer than ``min_cell`` households are suppressed (NaN), so the index page
    and village reports never describe a handful of households.
    """
    if panel["village"].isna().all():
        return pd.DataFrame()
    linkage = linkage_by_village(panel)
    names = panel.drop_duplicates("village").set_index("village")["village_name"]
    linkage["village_name"] = linkage["village"].map(names)
    stats = []
    for column in ("income_pc", "participation_score"):
        if column not in panel.columns:
            continue
        grouped = panel.groupby(["village", "round"])[column]
        centre = grouped.median() if column == "income_pc" else grouped.mean()
        wide = centre.where(grouped.count() >= min_cell).unstack("round")
        wide.columns = [f"{column}_{r}" for r in wide.columns]
        stats.append(wide)
    out = linkage
    for table in stats:
        out = out.merge(table, left_on="village", right_index=True, how="left")
    small = out["baseline"].lt(min_cell) & out["followup"].lt(min_cell)
    out["suppressed"] = small
    return out.sort_values("village", kind="stable").reset_index(drop=True)


def estimate_stage(study_path: str | Path, processed: str | Path, tables: str | Path) -> pd.DataFrame:
    """Estimate every outcome from ``panel.parquet`` and write the tidy tables.

    Writes into ``tables``: ``impact.csv`` (exactly the contract columns), ``impact_detail.csv``
    (plus notes), ``impact_inference.csv``, ``index_weights.csv``, ``outcomes.csv``,
    ``balance.csv``, ``attrition.csv``, ``lee_bounds.csv``, ``mde.csv``, ``alkire_foster.csv``,
    ``income_conventions.csv``, the LaTeX tables ``impact.tex``, ``indices.tex``,
    ``balance.tex`` and ``attrition.tex``, and ``row_accounting.csv``, ``linkage.csv`` and
    ``villages.csv``. README.md ("Tables") documents every column.

    Returns
    -------
    pandas.DataFrame
        The impact table (contract columns plus ``note``).
    """
    study = load_study(study_path)
    processed, tables = Path(processed), Path(tables)
    panel = pd.read_parquet(processed / "panel.parquet")
    result = analyse(panel, study, sex_column=respondent_sex_column(study))
    impact = result.impact
    write_csv(impact[list(IMPACT_COLUMNS)], tables / "impact.csv")
    write_csv(impact, tables / "impact_detail.csv")
    write_csv(result.inference, tables / "impact_inference.csv")
    write_csv(result.index_weights, tables / "index_weights.csv")
    write_csv(result.outcomes, tables / "outcomes.csv")
    write_csv(result.balance, tables / "balance.csv")
    write_csv(result.attrition, tables / "attrition.csv")
    write_csv(result.lee_bounds, tables / "lee_bounds.csv")
    write_csv(result.mde, tables / "mde.csv")
    write_csv(result.alkire_foster, tables / "alkire_foster.csv")
    write_csv(result.income_conventions, tables / "income_conventions.csv")
    kinds = result.outcomes.set_index("outcome")["kind"]
    main = [o for o in dict.fromkeys(impact["outcome"]) if kinds.get(o) in ("outcome", "women")]
    write_text_atomic(tables / "impact.tex", impact_latex(impact, result.inference, outcomes=main))
    write_text_atomic(tables / "indices.tex", indices_latex(impact, result.inference))
    write_text_atomic(tables / "balance.tex", balance_latex(result.balance))
    write_text_atomic(tables / "attrition.tex", attrition_latex(result.attrition))
    write_csv(row_accounting(processed), tables / "row_accounting.csv")
    write_csv(pd.read_csv(processed / "panel_linkage.csv"), tables / "linkage.csv")
    villages = village_summary(panel, min_cell=study.min_cell)
    if not villages.empty:
        write_csv(villages, tables / "villages.csv")
    write_csv(warnings_frame(gather_warnings(processed, result.warnings)), tables / "warnings.csv")
    return impact


def gather_warnings(processed: Path, estimate: list[RunWarning]) -> list[RunWarning]:
    """Every warning of the run so far: cleaning per round, construction, then estimation."""
    found: list[RunWarning] = []
    for stage in (*(f"clean_{r}" for r in ROUNDS), "construct"):
        found.extend(read_stage_warnings(warnings_file(processed, stage)))
    return found + list(estimate)


def villages_of(tables: Path) -> list[str]:
    """Village codes with a report to write (from ``villages.csv``), in a fixed order."""
    path = tables / "villages.csv"
    if not path.is_file():
        return []
    frame = pd.read_csv(path, dtype={"village": str}, keep_default_na=False)
    return sorted(v for v in frame["village"].astype(str) if v)
