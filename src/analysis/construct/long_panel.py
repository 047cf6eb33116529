"""The household panel of a study with more than two rounds, or without an id (issue 13).

:func:`stack_rounds` stacks every round's constructed table (indicators built by
:func:`analysis.construct.indicators.construct`, as for two rounds) into one long frame with
the standard columns of :mod:`analysis.construct.panel` plus

``round_number``
    The round's position in time order (1 for the reference round, 2, 3, ...).
``cohort``
    The position of the unit's first treated round, NaN for a unit never treated. From the
    study's ``rollout.column`` (in the data or the village list) here; from a ``treatment``
    that varies by round by the construct stage
    (:func:`analysis.estimate.staggered.first_treated_round`, with :func:`switch_back_error`
    naming the unit that switches back).
``treated``
    1 in the rounds the programme was active for the unit (staggered adoption: from its cohort
    on), else 0.

``treatment`` is the arm as the reports read it: 1 for a unit treated in some round (the
programme group), 0 for the never-treated (the comparison group).

For a panel (the study has ``id``), ``linkage`` compares the reference round with the last
round: ``panel`` (in both), ``baseline_only`` (not found in the last round) or
``followup_only`` (not in the reference round). A repeated cross-section has new households
every round and nothing to link: its ``linkage`` is ``cross_section``, and its ``treatment``
is the group of each record as the data give it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import ROUNDS
from analysis.construct.panel import (
    STANDARD,
    add_village_list,
    panel_counts,
    read_villages,
    sort_order,
    standardize,
)
from analysis.errors import InputError
from analysis.inputs.codebook import Codebook
from analysis.inputs.study import RoundDesign, RoundSpec, Study, rollout_cohorts

#: The spreadsheet row of each record (the clean stage's ``_row`` column).
ROW = "_row"
#: The linkage status of every record of a repeated cross-section.
CROSS_SECTION = "cross_section"
#: Columns a long panel has beyond :data:`analysis.construct.panel.STANDARD`.
LONG_COLUMNS: tuple[str, ...] = ("round_number", "cohort", "treated")


@dataclass(frozen=True)
class LongPanel:
    """The stacked rounds (:func:`stack_rounds`).

    Attributes
    ----------
    data
        One row per household (record) and round.
    linkage
        Households by arm and linkage status.
    exclusions
        Rows left out of estimation, by round and reason.
    """

    data: pd.DataFrame
    linkage: pd.DataFrame
    exclusions: pd.DataFrame


def _rollout_values(data: pd.DataFrame, study: Study) -> pd.Series:
    """The rollout column for every row: from the data, else through the village list."""
    column = study.round_design.rollout_column
    assert column is not None
    if column in data.columns:
        return data[column]
    villages = study.villages
    if villages is None:
        raise InputError(
            f"`rollout.column` names {column}, which is in neither the rounds nor a village list",
            file=study.path,
        )
    frame = pd.read_csv(villages.file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if column not in frame.columns:
        raise InputError(
            f"`rollout.column` names {column}, which is in neither the rounds nor this village list",
            file=villages.file,
        )
    first = rollout_cohorts(
        frame[column],
        column=column,
        round_order=study.round_design.round_order,
        file=villages.file,
        never=study.round_design.never_treated,
    )
    by_village = pd.Series(first.to_numpy(), index=frame[villages.id].str.strip())
    return data["village"].map(by_village)


def rollout_cohort(data: pd.DataFrame, study: Study, *, files: Mapping[str, str]) -> pd.Series:
    """Each row's cohort (position of the first treated round) from ``rollout.column``.

    Parameters
    ----------
    data
        The stacked rounds (``hh``, ``round``, ``village`` and the rollout column when the data
        hold it).
    study
        Gives the column, the round order and the village list.
    files
        Each round's file name, for messages.

    Raises
    ------
    InputError
        When a value is not a round, or a household's rounds disagree on it.
    """
    values = _rollout_values(data, study)
    column = study.round_design.rollout_column
    assert column is not None
    if values.dtype != float:
        values = rollout_cohorts(
            values.reset_index(drop=True),
            column=column,
            round_order=study.round_design.round_order,
            file=files.get(str(data["round"].iloc[0])) if len(data) else None,
            never=study.round_design.never_treated,
        ).set_axis(data.index)
    differs = values.groupby(data["hh"].to_numpy()).nunique(dropna=False) > 1
    if differs.any():
        hh = differs.index[differs.to_numpy()][0]
        rows = data.loc[data["hh"] == hh]
        first = rows.iloc[0]
        raise InputError(
            f"the first treated round differs between the rounds of one household (rounds "
            f"{', '.join(map(str, rows['round']))}): a household has one first treated round",
            file=files.get(str(first["round"])),
            rows=[int(first[ROW])] if ROW in rows and pd.notna(first[ROW]) else None,
            column=column,
        )
    return values.astype(float).rename("cohort")


def switch_back_error(data: pd.DataFrame, *, files: Mapping[str, str], column: str) -> InputError | None:
    """The error for the first unit that is treated in a round and untreated in a later one.

    Households are pseudonymized by now, so the message names the record: the file and
    spreadsheet row of the round where the unit is untreated again (and the village, when the
    arm is a village's), and the round where it was treated.

    Parameters
    ----------
    data
        The stacked rounds: ``hh``, ``round``, ``round_number``, ``treatment`` (0/1 by round),
        ``village`` and ``_row``.
    files
        Each round's file name.
    column
        The treatment column as the study names it.

    Returns
    -------
    InputError or None
        None when no unit switches back.
    """
    frame = data.dropna(subset=["treatment"]).sort_values(["hh", "round_number"], kind="stable")
    back = frame.groupby("hh", sort=False)["treatment"].diff() < 0
    if not back.any():
        return None
    row = frame.loc[back].iloc[0]
    before = frame.loc[(frame["hh"] == row["hh"]) & (frame["round_number"] < row["round_number"])]
    treated_in = before.loc[before["treatment"] == 1, "round"].iloc[-1]
    village = row.get("village")
    where = f" in village {village}" if isinstance(village, str) and village else ""
    return InputError(
        f"this household{where} is treated in the {treated_in} round and untreated again in the "
        f"{row['round']} round: with more than two rounds `treatment` must stay 1 once the programme "
        "has reached a household (staggered adoption); fix the value, or give the first treated "
        "round in `rollout: {column: ...}`",
        file=files.get(str(row["round"])),
        rows=[int(row[ROW])] if ROW in frame.columns and pd.notna(row[ROW]) else None,
        column=column,
    )


def stack_rounds(
    rounds: Mapping[str, pd.DataFrame],
    *,
    codebook: Codebook,
    study: Study,
    order: Sequence[str],
) -> pd.DataFrame:
    """Every round's constructed table in one long frame with the standard columns.

    Parameters
    ----------
    rounds
        Each round's de-identified clean table with its indicators, by round name.
    codebook
        Gives the role columns (id, village, treatment, weight).
    study
        Gives the village list and clustering.
    order
        The rounds in time order.

    Returns
    -------
    pandas.DataFrame
        The standard columns, ``round_number`` and every other column of the rounds; the
        ``treatment`` of each row as the round gives it (filled from the village list where it
        is missing), and ``village_name``, ``strata`` and ``cluster`` as for two rounds.

    Raises
    ------
    InputError
        When a household appears twice in one round.
    """
    parts = []
    for number, name in enumerate(order, start=1):
        part = standardize(rounds[name], round_name=name, codebook=codebook, study=study)
        part.insert(2, "round_number", number)
        parts.append(part)
    data = pd.concat(parts, ignore_index=True, sort=False)
    twice = data.duplicated(["hh", "round"]) & data["hh"].notna()
    if twice.any():
        first = data.loc[twice].iloc[0]
        raise InputError(
            f"a household id appears twice in the {first['round']} round after cleaning",
            file=study.rounds[str(first["round"])].file,
        )
    data["treatment"] = pd.to_numeric(data["treatment"], errors="coerce")
    add_village_list(data, read_villages(study), study=study)
    return data


def finish_panel(data: pd.DataFrame, *, study: Study, cohort: pd.Series | None) -> LongPanel:
    """Add linkage, arm, cohort, exclusions, and order the rows and columns.

    Parameters
    ----------
    data
        :func:`stack_rounds`.
    study
        Gives the design (panel or repeated cross-section) and clustering.
    cohort
        Each row's cohort (:func:`rollout_cohort`, or the construct stage's
        ``first_treated_round`` mapped to the rows); None for a repeated cross-section.

    Returns
    -------
    LongPanel
    """
    data = data.copy()
    last = int(data["round_number"].max())
    if study.round_design.kind == "repeated_cross_section" or cohort is None:
        data["linkage"] = CROSS_SECTION
        data["cohort"] = np.nan
        data["treated"] = (data["treatment"] * (data["round_number"] > 1)).astype(float)
    else:
        seen = data.groupby("hh")["round_number"].agg(["min", "max"])
        first, final = data["hh"].map(seen["min"]), data["hh"].map(seen["max"])
        data["linkage"] = np.where(
            (first == 1) & (final == last), "panel", np.where(first == 1, "baseline_only", "followup_only")
        )
        data["cohort"] = cohort.to_numpy(dtype=float)
        ever = data["cohort"].notna()
        data["treated"] = (ever & (data["round_number"] >= data["cohort"])).astype(float)
        # The arm the reports show: programme (reached in some round) or comparison (never).
        data["treatment"] = ever.astype(float)
    reason = np.full(len(data), "", dtype=object)
    treatment = data["treatment"]
    reason[(~treatment.isin([0, 1]) & treatment.notna()).to_numpy()] = "invalid_treatment"
    reason[treatment.isna().to_numpy()] = "missing_treatment"
    if study.cluster_column:
        reason[data["cluster"].isna().to_numpy() & (reason == "")] = "missing_cluster"
    weight = pd.to_numeric(data["weight"], errors="coerce")
    reason[(weight.isna() | (weight <= 0)).to_numpy() & (reason == "")] = "invalid_weight"
    data["weight"] = weight
    data["exclusion_reason"] = reason
    data["in_sample"] = reason == ""
    leading = [*STANDARD, *LONG_COLUMNS]
    data = data[leading + [c for c in data.columns if c not in leading]]
    data = data.take(sort_order(data, ["round_number", "village", "hh"])).reset_index(drop=True)
    linkage, exclusions = panel_counts(data)
    return LongPanel(data=data, linkage=linkage, exclusions=exclusions)


def round_files(study: Study) -> dict[str, str]:
    """Each round's file name, for messages (one long file names every round)."""
    return {name: spec.file.name for name, spec in study.rounds.items()}


__all__ = [
    "CROSS_SECTION",
    "LONG_COLUMNS",
    "LongPanel",
    "finish_panel",
    "rollout_cohort",
    "round_files",
    "stack_rounds",
    "switch_back_error",
]


def two_round_view(panel: pd.DataFrame, study: Study) -> tuple[pd.DataFrame, Study]:
    """The reference round and the last round of a long panel, as a two-round study.

    Parameters
    ----------
    panel
        The long panel (``round_number`` 1 … T).
    study
        The study, its rounds known (:func:`analysis.stages.rounds.study_rounds`).

    Returns
    -------
    tuple of (pandas.DataFrame, Study)
        The rows of rounds 1 and T with ``round`` renamed ``baseline`` and ``followup``, and
        the study with those two rounds (each outcome's column in each) and the two-round
        design. A repeated cross-section keeps its pooled DiD (``did_fixed_effects: none``).
    """
    order = study.round_design.round_order
    first, last = order[0], order[-1]
    rows = panel.loc[panel["round_number"].isin([1, len(order)])].copy()
    rows["round"] = np.where(rows["round_number"] == 1, ROUNDS[0], ROUNDS[1])
    names = {ROUNDS[0]: first, ROUNDS[1]: last}
    rounds = {
        new: dataclasses.replace(study.rounds[old], name=new)
        if old in study.rounds
        else RoundSpec(name=new, file=study.path)
        for new, old in names.items()
    }
    outcomes = tuple(
        dataclasses.replace(
            o, columns={new: o.columns[old] for new, old in names.items() if old in o.columns}
        )
        for o in study.outcomes
    )
    view = dataclasses.replace(
        study,
        rounds=rounds,
        outcomes=outcomes,
        fieldwork={new: study.fieldwork[old] for new, old in names.items() if old in study.fieldwork},
        round_design=RoundDesign(),
    )
    if study.round_design.kind == "repeated_cross_section":
        view = dataclasses.replace(view, did_fixed_effects="none")
    return rows.reset_index(drop=True), view
