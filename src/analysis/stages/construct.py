"""Stage 2: build indicators for each round and link the rounds into one household panel.

Reads both ``<round>_clean.parquet`` (and ``<round>_columns.csv``,
``<round>_id_forms.parquet``); writes ``panel.parquet``, ``panel_linkage.csv`` (households by
arm and linkage), ``panel_exclusions.csv``, ``linkage_by_village.csv`` (households per village
and arm by linkage, with attrition), ``linkage_summary.json`` (the same counts for the run
record), ``unlinked.csv`` (the anti-join report: households found in one round only),
``schema_diff.csv`` (what changed between the rounds' columns) and ``construct_warnings.json``.

The columns the study names are checked against the constructed rounds
(:func:`analysis.construct.study_columns.check_constructed`), and linkage that cannot be right stops the
stage (:func:`analysis.construct.panel.check_linkage`).

With a codebook, the stage fails closed when a variable of one round has no recorded mapping
in the other while that round has unmapped columns (:func:`analysis.clean.schema.check_mappings`).
With ``new_households: quarantine`` in the study file, follow-up households that are not in the
baseline are ``quarantined(not_in_baseline)``: the follow-up row states and quarantine file are
updated, and the accounting invariant is checked again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from analysis.clean.round import ROW, STATES, quarantine_column
from analysis.clean.schema import check_mappings, schema_diff
from analysis.config import ROUNDS
from analysis.construct.indicators import construct
from analysis.construct.long_panel import (
    finish_panel,
    rollout_cohort,
    round_files,
    stack_rounds,
    switch_back_error,
)
from analysis.construct.panel import (
    Panel,
    build_panel,
    check_linkage,
    linkage_by_village,
    linkage_summary,
    read_id_forms,
)
from analysis.construct.study_columns import check_constructed, read_raw_columns, village_list_columns
from analysis.errors import BerdayaError, EstimationError
from analysis.estimate.staggered import first_treated_round
from analysis.inputs.codebook import Codebook, load_codebook
from analysis.inputs.rounds import RECORD_ID, study_rounds, with_record_variable
from analysis.inputs.study import Study, load_study
from analysis.shared import layout
from analysis.shared.files import read_csv, write_csv, write_parquet, write_text_atomic
from analysis.shared.run_warnings import RunWarning, write_stage_warnings

NOT_IN_BASELINE = "not_in_baseline"


def _schema(study: Study, processed: Path) -> None:
    """Write the schema diff of the rounds; with a codebook, fail closed on unmapped renames."""
    paths = {r: processed / layout.columns_csv(r) for r in ROUNDS}
    if not all(p.is_file() for p in paths.values()):
        return  # processed by an older version: nothing to compare
    inventories = {r: read_csv(p, dtype=str, keep_default_na=False) for r, p in paths.items()}
    codebook = load_codebook(study)
    diff = schema_diff(inventories, codebook)
    write_csv(diff, processed / layout.SCHEMA_DIFF_CSV)
    if study.codebook is not None:
        check_mappings(diff, files={r: study.rounds[r].file.name for r in ROUNDS}, codebook=study.codebook)


def _quarantine_new_households(panel: Panel, followup: pd.DataFrame, processed: Path) -> None:
    """Record ``quarantined(not_in_baseline)`` in the follow-up row states and quarantine file."""
    states_path = processed / layout.row_states_csv("followup")
    # berdaya's reader: both files are written again, and write_csv guards them once more.
    states = read_csv(states_path, dtype=str, keep_default_na=False)
    rows = set(panel.not_in_baseline[ROW].astype(int).astype(str))
    hit = states[ROW].isin(rows) & (states["state"] == "clean")
    states.loc[hit, "state"] = "quarantined"
    states.loc[hit, "reason"] = NOT_IN_BASELINE
    counts = states["state"].value_counts()
    if len(states) != sum(int(counts.get(s, 0)) for s in STATES):
        # n_raw = clean + quarantined + excluded: a bug if it fails, but never skipped by `python -O`.
        raise BerdayaError(f"row accounting of the follow-up does not add up after linkage: {dict(counts)}")
    quarantine_path = processed / layout.quarantine_csv("followup")
    quarantine = read_csv(quarantine_path, dtype=str, keep_default_na=False)
    # Idempotent: a rerun of this stage replaces the rows it added before.
    quarantine = quarantine.loc[quarantine.get("reason", pd.Series(dtype=str)) != NOT_IN_BASELINE]
    moved = (
        followup.loc[followup[ROW].astype(int).astype(str).isin(rows)]
        .rename(columns=quarantine_column)
        .assign(reason=NOT_IN_BASELINE)
    )
    quarantine = pd.concat([quarantine, moved.astype(object)], ignore_index=True)
    write_csv(quarantine, quarantine_path)
    write_csv(states, states_path)


def construct_stage(study_path: str | Path | Study, processed: str | Path) -> pd.DataFrame:
    """Build indicators for each round and link the rounds into ``panel.parquet``.

    Parameters
    ----------
    study_path
        The study file (or a study already loaded).
    processed
        The processed-data folder written by the clean stage.

    Returns
    -------
    pandas.DataFrame
        The linkage summary (households by arm and linkage status).
    """
    study = study_path if isinstance(study_path, Study) else load_study(study_path)
    processed = Path(processed)
    if study.round_design.kind != "two_round_panel":
        return construct_long_stage(study, processed)
    _schema(study, processed)
    codebook = load_codebook(study)
    rounds = _indicators(study, processed, ROUNDS, codebook)
    # Outcomes, covariates and the arm named in the study must exist now that indicators are
    # built (each round's raw header was checked by the clean stage).
    check_constructed(
        study,
        rounds,
        codebook=codebook if study.codebook is not None else None,
        raw_columns=read_raw_columns(processed),
        village_columns=village_list_columns(study),
    )
    new_households = study.new_households
    panel = build_panel(
        rounds,
        codebook=codebook,
        study=study,
        new_households=new_households,
        id_forms=read_id_forms(processed),
    )
    write_stage_warnings(processed, "construct", panel.warnings)
    if len(panel.not_in_baseline):
        _quarantine_new_households(panel, rounds["followup"], processed)
    write_parquet(panel.data.drop(columns=[ROW], errors="ignore"), processed / layout.PANEL_PARQUET)
    write_csv(panel.linkage, processed / layout.PANEL_LINKAGE_CSV)
    write_csv(panel.exclusions, processed / layout.PANEL_EXCLUSIONS_CSV)
    write_csv(panel.unlinked, processed / layout.UNLINKED_CSV)
    write_csv(linkage_by_village(panel.data), processed / layout.LINKAGE_BY_VILLAGE_CSV)
    summary = {"new_households": new_households, **linkage_summary(panel.data)}
    write_text_atomic(processed / layout.LINKAGE_SUMMARY_JSON, json.dumps(summary, indent=2) + "\n")
    return panel.linkage


def _cohort_from_treatment(data: pd.DataFrame, study: Study) -> tuple[pd.Series, list[RunWarning]]:
    """Each row's cohort from a ``treatment`` that varies by round; a unit switching back stops.

    A ``treatment`` that is 1 in every round for every programme household (the arm written in
    each round, as in a two-round study) is read as the arm: the programme starts after the
    reference round, so every programme household's first treated round is the second one.
    The run says so in a warning.
    """
    try:
        first = first_treated_round(data, unit="hh", period="round_number", treatment="treatment")
    except EstimationError:
        error = switch_back_error(data, files=round_files(study), column=study.treatment)
        if error is None:
            raise
        raise error from None
    warnings = []
    if len(first.dropna()) and (first.dropna() == 1).all():
        first = first.where(first.isna(), 2.0)
        warnings.append(
            RunWarning(
                "construct",
                "treatment_is_arm",
                f"`{study.treatment}` is 1 in every round for every programme household, so it is "
                f"read as the arm and the programme as starting after the reference round "
                f"({study.round_design.round_order[0]}); if the programme reached households at "
                "different rounds, write 1 only from the round it reached them, or give "
                "`rollout: {column: ...}`",
            )
        )
    return data["hh"].map(first).astype(float), warnings


def _check_long_linkage(
    data: pd.DataFrame, study: Study, codebook: Codebook, processed: Path
) -> list[RunWarning]:
    """The linkage check of two rounds (:func:`check_linkage`) on the reference and last rounds.

    A panel whose first and last rounds share almost no household id stops, as a two-round one
    does: ids re-coded between rounds, damaged by a spreadsheet, or a repeated cross-section
    given an `id`.
    """
    order = study.round_design.round_order
    ends = {"baseline": order[0], "followup": order[-1]}
    paths = {key: processed / layout.id_forms_parquet(name) for key, name in ends.items()}
    forms = (
        {k: pd.read_parquet(p) for k, p in paths.items()}
        if all(p.is_file() for p in paths.values())
        else None
    )
    named = codebook.by_role("household_id")
    return check_linkage(
        data.loc[data["round"] == ends["baseline"], "hh"],
        data.loc[data["round"] == ends["followup"], "hh"],
        files={key: study.rounds[name].file.name for key, name in ends.items()},
        columns={
            key: named[0].sources.get(name, named[0].name) if named else study.id
            for key, name in ends.items()
        },
        forms=forms,
        study_file=study.path.name,
        cross_section_fix=(
            f"leave `id` out of {study.path.name} (a repeated cross-section: pooled DiD, no linkage)"
        ),
    )


def _indicators(
    study: Study, processed: Path, order: Sequence[str], codebook: Codebook
) -> dict[str, pd.DataFrame]:
    """Each round's cleaned table with its indicators, built by the one function for every round.

    Money is in the first round's prices (its ``cpi``).
    """
    base_cpi = study.rounds[order[0]].cpi
    rounds = {}
    for round_name in order:
        frame = pd.read_parquet(processed / layout.clean_parquet(round_name))
        rounds[round_name] = construct(
            frame,
            codebook=codebook,
            cpi=study.rounds[round_name].cpi,
            base_cpi=base_cpi,
            poverty_line=study.income.poverty_line,
            winsor_quantile=study.income.winsor_quantile,
        )
    return rounds


def construct_long_stage(study: Study, processed: Path) -> pd.DataFrame:
    """The construct stage of a study with more than two rounds, one long file or no ``id``.

    Builds the indicators of every round with the same function as for two rounds
    (:func:`analysis.construct.indicators.construct`), stacks the rounds into
    ``panel.parquet`` (:mod:`analysis.construct.long_panel`: ``round_number``, ``cohort``,
    ``treated``) and writes the linkage files. A panel's cohort comes from ``rollout.column``
    or from a ``treatment`` that varies by round; a repeated cross-section has none.

    Returns
    -------
    pandas.DataFrame
        Households by arm and linkage status.
    """
    study = study_rounds(study)
    order = study.round_design.round_order
    codebook = load_codebook(study)
    if not study.id:
        codebook = with_record_variable(codebook, order)  # cleaned with a record id per row
    rounds = _indicators(study, processed, order, codebook)
    # Without `id` the rounds were cleaned with a record id (analysis.stages.rounds).
    named = study if study.id else replace(study, id=RECORD_ID)
    check_constructed(
        named,
        rounds,
        codebook=codebook if study.codebook is not None else None,
        raw_columns=read_raw_columns(processed, rounds=order),
        village_columns=village_list_columns(study),
    )
    data = stack_rounds(rounds, codebook=codebook, study=named, order=order)
    cohort: pd.Series | None = None
    warnings: list[RunWarning] = []
    if study.round_design.kind != "repeated_cross_section":
        warnings += _check_long_linkage(data, study, codebook, processed)
        if study.round_design.rollout_column:
            cohort = rollout_cohort(data, study, files=round_files(study))
        else:
            cohort, warnings = _cohort_from_treatment(data, study)
    panel = finish_panel(data, study=study, cohort=cohort)
    write_stage_warnings(processed, "construct", warnings)
    write_parquet(panel.data.drop(columns=[ROW], errors="ignore"), processed / layout.PANEL_PARQUET)
    write_csv(panel.linkage, processed / layout.PANEL_LINKAGE_CSV)
    write_csv(panel.exclusions, processed / layout.PANEL_EXCLUSIONS_CSV)
    unlinked = panel.data.loc[
        panel.data["linkage"].isin(["baseline_only", "followup_only"]), ["hh", "round", "linkage"]
    ]
    write_csv(unlinked.reset_index(drop=True), processed / layout.UNLINKED_CSV)
    write_csv(linkage_by_village(panel.data), processed / layout.LINKAGE_BY_VILLAGE_CSV)
    summary = {"design": study.round_design.kind, "rounds": list(order), **linkage_summary(panel.data)}
    write_text_atomic(processed / layout.LINKAGE_SUMMARY_JSON, json.dumps(summary, indent=2) + "\n")
    return panel.linkage
