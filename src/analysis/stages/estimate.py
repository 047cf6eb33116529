"""Stage 3: estimate every outcome from the panel and write the tidy tables, in two tiers.

Reads ``panel.parquet`` (and the row states for the accounting table) and computes the tables of
:func:`analysis.estimate.tables.analyse`. Writes them twice (``docs/disclosure.md``):

- the **public tier** into ``tables/`` (the output folder, which the reports, the index and a
  replication package's ``expected/`` are built from): small groups suppressed by
  :func:`analysis.shared.disclosure.public_tables`;
- the **internal tier** into ``<processed>/internal/``: the same file names, unsuppressed, for
  the evaluator. It is never published and never packaged.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from analysis.config import IMPACT_COLUMNS, ROUNDS
from analysis.construct.indicators import CONSTRUCTED
from analysis.construct.long_panel import two_round_view
from analysis.construct.panel import linkage_by_village
from analysis.errors import BerdayaError
from analysis.estimate.latex import (
    attrition_latex,
    balance_latex,
    impact_latex,
    indices_latex,
    is_money,
    outcome_labels,
)
from analysis.estimate.multi_round import LINKED_ESTIMATORS, cross_section_impact, staggered_tables
from analysis.estimate.tables import ImpactTables, analyse, respondent_sex_column, text_columns_read
from analysis.inputs.codebook import load_codebook
from analysis.inputs.rounds import study_rounds
from analysis.inputs.study import Study, load_study
from analysis.shared import layout
from analysis.shared.disclosure import (
    ARM_LABELS,
    UNKNOWN_ARM,
    is_small,
    public_tables,
    public_villages,
    suppress_arms,
    village_suppression,
)
from analysis.shared.files import read_csv, write_csv, write_text_atomic
from analysis.shared.run_warnings import RunWarning, read_stage_warnings, warnings_file, warnings_frame
from analysis.shared.text import bidi_controls, show_bidi_controls

#: Statistics of ``villages.csv``: the column and how it is summarized per village and round.
VILLAGE_STATISTICS: dict[str, str] = {"income_pc": "median", "participation_score": "mean"}


def internal_dir(processed: str | Path) -> Path:
    """Where the internal (unsuppressed) tier of the tables goes: ``<processed>/internal``."""
    return Path(processed) / layout.INTERNAL_DIR


def read_panel(processed: Path, study: Study, *, sex_column: str | None = None) -> pd.DataFrame:
    """``panel.parquet`` without the text columns this stage never reads.

    Raw answers, missing-value reasons and other text make up most of a national panel's
    bytes; the estimates read the text columns of :func:`analysis.estimate.tables.text_columns_read`
    and the village tables the village names. Every other column is read.
    """
    path = processed / layout.PANEL_PARQUET
    keep = text_columns_read(study, sex_column=sex_column) | {"village_name"}
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    columns = [
        field.name
        for field in pq.read_schema(path)
        if field.name in keep or not any(is_text(field.type) for is_text in text)
    ]
    return pd.read_parquet(path, columns=columns)


def row_accounting(processed: Path, *, rounds: Sequence[str] = ROUNDS) -> pd.DataFrame:
    """Raw rows per round by final state; ``n_raw = clean + quarantined + excluded`` is checked."""
    rows = []
    for round_name in rounds:
        path = processed / layout.row_states_csv(round_name)
        # Only the state is counted: parsing the other columns of 400,000 rows took seconds.
        states = read_csv(path, dtype=str, keep_default_na=False, usecols=["state"])
        counts = states["state"].value_counts()
        record: dict[str, object] = {
            "round": round_name,
            "n_raw": len(states),
            "clean": int(counts.get("clean", 0)),
            "quarantined": int(counts.get("quarantined", 0)),
            "excluded": int(counts.get("excluded", 0)),
        }
        if len(states) != sum(int(counts.get(s, 0)) for s in ("clean", "quarantined", "excluded")):
            # A check that `python -O` keeps: the row states file may have been edited by hand.
            raise BerdayaError(
                f"{path}: the row accounting does not add up "
                f"(n_raw {len(states)} is not clean + quarantined + excluded: {record}); "
                "rerun the clean stage"
            )
        rows.append(record)
    return pd.DataFrame(rows)


def village_tables(panel: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per village, unsuppressed, and the households behind each of its statistics.

    Returns
    -------
    tuple of pandas.DataFrame
        The internal ``villages.csv`` (arm, households per round and linkage status, attrition
        rate, median income per person and mean participation score per round), and on the same
        index the number of households each statistic is computed from (never published: the
        public tier uses it to hide a statistic from fewer than ``min_cell`` households).
        Both are empty when the panel has no village.
    """
    if panel["village"].isna().all():
        return pd.DataFrame(), pd.DataFrame()
    linkage = linkage_by_village(panel).sort_values("village", kind="stable").reset_index(drop=True)
    names = panel.drop_duplicates("village").set_index("village")["village_name"]
    linkage["village_name"] = linkage["village"].map(names)
    out, bases = linkage, linkage[["village"]]
    for column, statistic in VILLAGE_STATISTICS.items():
        if column not in panel.columns:
            continue
        grouped = panel.groupby(["village", "round"])[column]
        centre, count = grouped.agg(statistic).unstack("round"), grouped.count().unstack("round")
        centre.columns = count.columns = [f"{column}_{r}" for r in centre.columns]
        # Left merges keep the rows in order, so the two frames stay aligned row by row.
        out = out.merge(centre, left_on="village", right_index=True, how="left")
        bases = bases.merge(count, left_on="village", right_index=True, how="left")
    return out, bases.drop(columns="village")


def _arm_linkage(panel: pd.DataFrame) -> pd.DataFrame:
    """Households by arm and linkage status, as the construct stage's ``panel_linkage.csv``."""
    first = panel.drop_duplicates("hh")
    arm = first["treatment"].map(ARM_LABELS).fillna(UNKNOWN_ARM)
    return first.assign(arm=arm).groupby(["arm", "linkage"]).size().rename("households").reset_index()


def village_summary(panel: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """``villages.csv`` as published: one row per village, small villages suppressed.

    :func:`village_tables` with the public tier's rules applied
    (:func:`analysis.shared.disclosure.public_villages`), so the index page and village reports never
    describe a handful of households, and the arm totals cannot give a hidden village back.
    """
    villages, bases = village_tables(panel)
    if villages.empty:
        return villages
    arms = suppress_arms(_arm_linkage(panel), min_cell=min_cell).hidden
    return public_villages(villages, min_cell=min_cell, hidden_arms=arms, bases=bases)


def small_arm_warnings(linkage: pd.DataFrame, *, min_cell: int) -> list[RunWarning]:
    """A warning for each arm with fewer than ``min_cell`` households in a round.

    The public tables hide its counts and statistics, but every comparison of the arms rests on
    those few households, so the impact estimates themselves can reveal their answers.
    """
    warnings = []
    for arm, part in linkage.groupby("arm", sort=True):
        if arm == UNKNOWN_ARM:
            continue
        by_status = part.set_index("linkage")["households"]
        found, lost, new = (int(by_status.get(s, 0)) for s in ("panel", "baseline_only", "followup_only"))
        if is_small(found + lost, min_cell) or is_small(found + new, min_cell):
            warnings.append(
                RunWarning(
                    "estimate",
                    "small_arm",
                    f"the {arm} arm has fewer than {min_cell} (min_cell) households in a round: the "
                    "public tables hide its counts and statistics, but the impact estimates compare "
                    "those few households with the others and can reveal their answers; review "
                    f"{layout.TABLES_DIR}/{layout.IMPACT_CSV} before publishing it",
                )
            )
    return warnings


def estimate_stage(
    study_path: str | Path, processed: str | Path, tables: str | Path, *, internal: bool = True
) -> pd.DataFrame:
    """Estimate every outcome from ``panel.parquet`` and write the tidy tables in two tiers.

    Writes into ``tables`` (the public tier): ``impact.csv`` (exactly the contract columns),
    ``impact_detail.csv`` (plus notes), ``impact_inference.csv``, ``index_weights.csv``,
    ``outcomes.csv``, ``balance.csv``, ``attrition.csv``, ``lee_bounds.csv``, ``mde.csv``,
    ``alkire_foster.csv``, ``income_conventions.csv``, the LaTeX tables ``impact.tex``,
    ``indices.tex``, ``balance.tex`` and ``attrition.tex``, ``row_accounting.csv``,
    ``linkage.csv``, ``villages.csv`` and ``warnings.csv``. README.md ("Tables") documents every
    column, ``docs/disclosure.md`` what the public tier hides.

    Parameters
    ----------
    study_path
        The study file.
    processed
        The processed folder (``panel.parquet``, the row states and the earlier warnings).
    tables
        The public tier's folder.
    internal
        Also write the same files unsuppressed into ``<processed>/internal/`` (the evaluator's
        tier). A replication package passes False: it never carries the internal tier.

    Returns
    -------
    pandas.DataFrame
        The published impact table (contract columns plus ``note``).
    """
    study = load_study(study_path)
    processed, tables = Path(processed), Path(tables)
    sex_column = respondent_sex_column(study)
    design = study.round_design
    rounds: tuple[str, ...] = ROUNDS
    extra: dict[str, pd.DataFrame] = {}
    long_panel: pd.DataFrame | None = None
    if design.kind != "two_round_panel":
        study = study_rounds(study)
        rounds = study.round_design.round_order
        long_panel = read_panel(processed, study, sex_column=sex_column)
        # The two-round tables compare the last round with the reference round.
        panel, two_rounds = two_round_view(long_panel, study)
    else:
        panel = read_panel(processed, study, sex_column=sex_column)
        two_rounds = study
    # One BLAS thread: the regressions are tall and thin (hundreds of thousands of rows, a few
    # columns), where a second OpenBLAS thread gains nothing and its spinning competes with the
    # work itself; at national scale the stage took twice as long with two threads.
    with threadpool_limits(limits=1, user_api="blas"):
        result = analyse(panel, two_rounds, sex_column=sex_column)
        if long_panel is not None:
            result, extra = _multi_round(result, long_panel, panel, study)
    # berdaya's reader: linkage.csv is written again, and its codes must not be guarded twice.
    linkage = read_csv(processed / layout.PANEL_LINKAGE_CSV)
    kept: dict[str, pd.DataFrame] = {
        layout.IMPACT_CSV: result.impact[list(IMPACT_COLUMNS)],
        layout.IMPACT_DETAIL_CSV: result.impact,
        layout.IMPACT_INFERENCE_CSV: result.inference,
        layout.INDEX_WEIGHTS_CSV: result.index_weights,
        layout.OUTCOMES_CSV: result.outcomes,
        layout.BALANCE_CSV: result.balance,
        layout.ATTRITION_CSV: result.attrition,
        layout.LEE_BOUNDS_CSV: result.lee_bounds,
        layout.MDE_CSV: result.mde,
        layout.ALKIRE_FOSTER_CSV: result.alkire_foster,
        layout.INCOME_CONVENTIONS_CSV: result.income_conventions,
        layout.ROW_ACCOUNTING_CSV: row_accounting(processed, rounds=rounds),
        layout.LINKAGE_CSV: linkage,
        **extra,
    }
    villages, bases = village_tables(panel)
    if not villages.empty:
        arms = suppress_arms(linkage, min_cell=study.min_cell).hidden
        villages["suppressed"] = village_suppression(villages, min_cell=study.min_cell, hidden_arms=arms)
        kept[layout.VILLAGES_CSV] = villages
    published = public_tables(kept, min_cell=study.min_cell, village_bases=bases)
    small_arms = small_arm_warnings(linkage, min_cell=study.min_cell)
    # Reports drop bidi controls from names and labels; the run says so rather than hiding it.
    direction = [RunWarning("estimate", "bidi_controls", m) for m in text_direction_findings(study, panel)]
    warnings = gather_warnings(processed, [*result.warnings, *small_arms, *direction], rounds=rounds)
    kinds = result.outcomes.set_index("outcome")["kind"]
    main = [o for o in dict.fromkeys(result.impact["outcome"]) if kinds.get(o) in ("outcome", "women")]
    note = (
        f"Empty cells are hidden: fewer than {study.min_cell} households, or they would reveal a "
        "hidden number (docs/disclosure.md)."
    )
    notes = {name: [note] for name in published if _hides(published[name], kept[name])}
    # The LaTeX tables name outcomes by their labels and write rupiah without decimals.
    codebook = load_codebook(study)
    names = [*result.impact["outcome"].astype(str), *result.balance["variable"].dropna().astype(str)]
    constructed = {name: spec["label_en"] for name, spec in CONSTRUCTED.items()}
    labels = outcome_labels(dict.fromkeys(names), study=study, codebook=codebook, constructed=constructed)
    money = {name for name in labels if is_money(name, codebook)}
    write_tier(published, tables, main=main, warnings=warnings, notes=notes, labels=labels, money=money)
    if internal:
        write_tier(kept, internal_dir(processed), main=main, warnings=warnings, labels=labels, money=money)
    return published[layout.IMPACT_DETAIL_CSV]


def _multi_round(
    result: ImpactTables, long_panel: pd.DataFrame, view: pd.DataFrame, study: Study
) -> tuple[ImpactTables, dict[str, pd.DataFrame]]:
    """The tables of a study with more rounds or no ``id``, from the two-round analysis.

    A panel adds ``twfe`` and ``cs_att`` to the impact table and writes the event study and
    the pre-trend tests; a repeated cross-section gets the pooled ``did`` and no table that
    needs linked households (:mod:`analysis.estimate.multi_round`).
    """
    clustered = study.cluster_column is not None and bool(long_panel["cluster"].notna().any())
    last = study.round_design.round_order[-1]
    if study.round_design.kind == "repeated_cross_section":
        impact = cross_section_impact(result.impact, view, study, clustered=clustered)
        inference = result.inference.loc[
            ~result.inference["estimator"].isin(["did", *LINKED_ESTIMATORS])
        ].reset_index(drop=True)
        # Nobody is followed, so nobody attrits: the tables keep their columns and no row.
        attrition, lee_bounds = result.attrition.iloc[0:0], result.lee_bounds.iloc[0:0]
        return replace(
            result, impact=impact, inference=inference, attrition=attrition, lee_bounds=lee_bounds
        ), {}
    outcomes = {o.name: o.columns.get(last) or o.name for o in study.outcomes}
    staggered = staggered_tables(long_panel, study, outcomes=outcomes, clustered=clustered)
    impact = pd.concat([result.impact, staggered.impact], ignore_index=True)
    extra = {layout.EVENT_STUDY_CSV: staggered.event_study, layout.PRETREND_CSV: staggered.pretrend}
    return replace(result, impact=impact), extra


def _hides(public: pd.DataFrame, full: pd.DataFrame) -> bool:
    """Whether the public tier emptied a cell that the internal tier fills."""
    return bool((public.isna().to_numpy() & full.notna().to_numpy()).any())


def write_tier(
    frames: Mapping[str, pd.DataFrame],
    folder: Path,
    *,
    main: list[str],
    warnings: list[RunWarning],
    notes: Mapping[str, list[str]] | None = None,
    labels: Mapping[str, str] | None = None,
    money: Collection[str] = (),
) -> None:
    """Write one tier: every table, its LaTeX versions and the run's warnings.

    ``notes`` (by CSV file name) go below the LaTeX tables made from that file: the public
    tier's note that empty cells are hidden. ``labels`` name the outcomes in the LaTeX tables,
    and outcomes in ``money`` are written there without decimals.
    """
    notes = notes or {}
    for name, frame in frames.items():
        write_csv(frame, folder / name)
    impact, inference = frames[layout.IMPACT_DETAIL_CSV], frames[layout.IMPACT_INFERENCE_CSV]
    on_impact = notes.get(layout.IMPACT_DETAIL_CSV, [])
    write_text_atomic(
        folder / layout.IMPACT_TEX,
        impact_latex(impact, inference, outcomes=main, notes=on_impact, labels=labels, money=money),
    )
    write_text_atomic(
        folder / layout.INDICES_TEX, indices_latex(impact, inference, notes=on_impact, labels=labels)
    )
    balance, attrition = frames[layout.BALANCE_CSV], frames[layout.ATTRITION_CSV]
    write_text_atomic(
        folder / layout.BALANCE_TEX,
        balance_latex(balance, notes=notes.get(layout.BALANCE_CSV, []), labels=labels, money=money),
    )
    write_text_atomic(
        folder / layout.ATTRITION_TEX, attrition_latex(attrition, notes=notes.get(layout.ATTRITION_CSV, []))
    )
    write_csv(warnings_frame(warnings), folder / layout.WARNINGS_CSV)


def gather_warnings(
    processed: Path, estimate: list[RunWarning], *, rounds: Sequence[str] = ROUNDS
) -> list[RunWarning]:
    """Every warning of the run so far: cleaning per round, construction, then estimation."""
    found: list[RunWarning] = []
    for stage in (*(f"clean_{r}" for r in rounds), "construct"):
        found.extend(read_stage_warnings(warnings_file(processed, stage)))
    return found + list(estimate)


def text_direction_findings(study: Study, panel: pd.DataFrame) -> list[str]:
    """One line per user text with bidi controls: the study name, outcome labels, villages.

    Reports drop the controls (:func:`html_text`), so the run goes ahead; the lines become run
    warnings so that nobody is surprised that a name reads differently than in another program.
    They name village codes, never quote the names.
    """
    study_file = study.path.name
    found: list[tuple[str, str]] = [(f"{study_file}: the study name", study.name)]
    found += [(f"{study_file}: the label of outcome {o.name}", o.label or "") for o in study.outcomes]
    source = study.villages.file.name if study.villages is not None else "the survey data"
    if "village" in panel.columns:
        columns = ["village", *(["village_name"] if "village_name" in panel.columns else [])]
        villages = panel[columns].drop_duplicates("village").dropna(subset=["village"])
        for record in villages.to_dict("records"):
            code = str(record["village"])
            found.append((f"{source}: village code {show_bidi_controls(code)}", code))
            name = record.get("village_name")
            if isinstance(name, str):
                found.append((f"{source}: the name of village {show_bidi_controls(code)}", name))
    return [
        f"{where} holds invisible text-direction characters ({', '.join(bidi_controls(text))}), "
        "which can make a name read backwards or reorder the words after it; the reports leave "
        "them out. Remove them from the file if they are not meant to be there."
        for where, text in found
        if bidi_controls(text)
    ]
