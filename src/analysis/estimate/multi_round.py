"""The tables of a study with more than two rounds or without an id (issue 13).

The estimate stage reads the long panel of :mod:`analysis.construct.long_panel` (one row per
household, or record, and round, with ``round_number``, ``cohort`` and ``treated``) and

- runs the two-round analysis (:func:`analysis.estimate.tables.analyse`) on
  :func:`analysis.construct.long_panel.two_round_view`: the reference round as ``baseline``
  and the last round as ``followup``, the programme group being the units treated in some round. So ``did``,
  ``ancova`` and ``followup_diff`` keep their meaning and compare the last round with the
  reference round, and balance, attrition, Lee bounds, indices and MDE are those of that
  comparison;
- for a panel adds ``twfe`` and ``cs_att`` to ``impact.csv`` (:func:`staggered_tables`), with
  the event studies of both and their joint pre-trend tests;
- for a repeated cross-section replaces ``did`` by the pooled regression
  (:func:`analysis.estimate.staggered.pooled_did`, clustered by village when there is one,
  else HC1) and drops what needs linked households (``ancova``, ``before_after``, attrition
  and Lee bounds): :func:`cross_section_impact`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.config import EVENT_STUDY_COLUMNS, ROUNDS
from analysis.errors import EstimationError
from analysis.estimate.regressions import empty_row
from analysis.estimate.staggered import (
    EventStudy,
    PretrendTest,
    StaggeredEstimate,
    callaway_santanna,
    pooled_did,
    twfe,
    twfe_event_study,
)
from analysis.inputs.study import Study

#: Columns of ``tables/pretrend.csv``: the joint test that every pre-period event-study
#: coefficient is zero, one row per outcome and estimator (docs/methods.md §10.3).
PRETREND_COLUMNS: tuple[str, ...] = (
    "outcome",
    "estimator",
    "statistic",
    "df",
    "df_denom",
    "p_value",
    "note",
)

#: Estimators that need households linked across rounds: left out of a repeated cross-section.
LINKED_ESTIMATORS: tuple[str, ...] = ("ancova", "before_after")


@dataclass(frozen=True)
class StaggeredTables:
    """What the estimators for several rounds add to the tables (:func:`staggered_tables`).

    Attributes
    ----------
    impact
        ``twfe`` and ``cs_att`` rows: the columns of ``impact_detail.csv``.
    event_study
        One row per outcome × estimator × event time (:data:`analysis.config.EVENT_STUDY_COLUMNS`).
    pretrend
        One row per outcome × estimator (:data:`PRETREND_COLUMNS`).
    """

    impact: pd.DataFrame
    event_study: pd.DataFrame
    pretrend: pd.DataFrame


def _event_rows(study: EventStudy) -> pd.DataFrame:
    """The event-study rows, inference withheld (as in ``impact.csv``) when it cannot be trusted."""
    table = study.table.copy()
    if study.gap:
        table[["std_error", "ci_low", "ci_high"]] = np.nan
    return table


def _pretrend_row(outcome: str, estimator: str, test: PretrendTest, *, gap: str) -> dict[str, object]:
    if gap:
        test = PretrendTest(np.nan, test.df, test.df_denom, np.nan, f"not reported: {gap}")
    return {
        "outcome": outcome,
        "estimator": estimator,
        "statistic": test.statistic,
        "df": test.df,
        "df_denom": np.nan if test.df_denom is None else test.df_denom,
        "p_value": test.p_value,
        "note": test.note,
    }


def staggered_tables(
    panel: pd.DataFrame, study: Study, *, outcomes: Mapping[str, str], clustered: bool
) -> StaggeredTables:
    """``twfe`` and ``cs_att`` for every outcome, their event studies and pre-trend tests.

    Parameters
    ----------
    panel
        The long panel (in-sample rows are used).
    study
        Gives the comparison units of ``cs_att`` (``rollout.controls``).
    outcomes
        The outcomes to estimate, by name, and the panel column holding each; where an
        estimator cannot be computed (an outcome measured in one round only) the row says why
        in ``note``.
    clustered
        Cluster by the panel's ``cluster`` column (else by household).

    Returns
    -------
    StaggeredTables
    """
    data = panel.loc[panel["in_sample"].astype(bool)]
    cluster = "cluster" if clustered else None
    impact: list[dict[str, object]] = []
    events: list[pd.DataFrame] = []
    tests: list[dict[str, object]] = []
    for outcome, column in outcomes.items():
        if column not in data.columns:
            continue
        frame = data.assign(**{outcome: pd.to_numeric(data[column], errors="coerce")})
        try:
            fit = twfe(
                frame, outcome=outcome, unit="hh", period="round_number", cohort="cohort", cluster=cluster
            )
            dynamic = twfe_event_study(
                frame, outcome=outcome, unit="hh", period="round_number", cohort="cohort", cluster=cluster
            )
        except EstimationError as exc:
            impact.append(_not_estimated(outcome, "twfe", str(exc)))
        else:
            impact.append(fit.impact_row())
            events.append(_event_rows(dynamic))
            tests.append(_pretrend_row(outcome, "twfe", dynamic.pre_test, gap=dynamic.gap))
        try:
            cs = callaway_santanna(
                frame,
                outcome=outcome,
                unit="hh",
                period="round_number",
                cohort="cohort",
                cluster=cluster,
                control_group=study.round_design.controls,
            )
        except EstimationError as exc:
            impact.append(_not_estimated(outcome, "cs_att", str(exc)))
        else:
            impact.append(cs.overall.impact_row())
            events.append(_event_rows(dataclasses.replace(cs.event_study, gap=cs.overall.gap)))
            tests.append(_pretrend_row(outcome, "cs_att", cs.event_study.pre_test, gap=cs.overall.gap))
    event_study = (
        pd.concat(events, ignore_index=True) if events else pd.DataFrame(columns=list(EVENT_STUDY_COLUMNS))
    )
    return StaggeredTables(
        impact=pd.DataFrame(impact),
        event_study=event_study[list(EVENT_STUDY_COLUMNS)],
        pretrend=pd.DataFrame(tests, columns=list(PRETREND_COLUMNS)),
    )


def _not_estimated(outcome: str, estimator: str, why: str) -> dict[str, object]:
    return empty_row(outcome, estimator, n_obs=0, note=f"not estimated: {why}")


def cross_section_impact(
    impact: pd.DataFrame, view: pd.DataFrame, study: Study, *, clustered: bool
) -> pd.DataFrame:
    """The impact table of a repeated cross-section.

    ``did`` is :func:`analysis.estimate.staggered.pooled_did` on the reference and last rounds
    (the programme group against the comparison group, before against after), clustered by
    village when the study has one, else HC1; ``ancova`` and ``before_after`` need the same
    households in both rounds and are left out.

    Parameters
    ----------
    impact
        The two-round analysis of :func:`analysis.construct.long_panel.two_round_view`
        (``impact_detail.csv`` columns).
    view
        The two-round view of the panel.
    study
        The study (its outcomes give the columns).
    clustered
        Whether the study clusters (by village).
    """
    keep = impact.loc[~impact["estimator"].isin([*LINKED_ESTIMATORS, "did"])]
    data = view.loc[view["in_sample"].astype(bool)].assign(post=(view["round"] == ROUNDS[1]).astype(float))
    rows = []
    for outcome in study.outcomes:
        column = outcome.columns.get(ROUNDS[1]) or outcome.name
        if column not in data.columns:
            continue
        frame = data.assign(y=pd.to_numeric(data[column], errors="coerce"))
        try:
            estimate: StaggeredEstimate = pooled_did(
                frame,
                outcome="y",
                group="treatment",
                post="post",
                cluster="cluster" if clustered else None,
                vcov=study.vcov,
            )
        except EstimationError as exc:
            rows.append(_not_estimated(outcome.name, "did", str(exc)))
            continue
        row = estimate.impact_row()
        row["outcome"] = outcome.name
        notes = ("pooled DiD of a repeated cross-section (no household is followed)", str(row["note"]))
        row["note"] = "; ".join(n for n in notes if n)
        rows.append(row)
    did = pd.DataFrame(rows, columns=list(impact.columns))
    out = pd.concat([keep, did], ignore_index=True)
    order = {name: i for i, name in enumerate(dict.fromkeys(impact["outcome"]))}
    ranks = {name: i for i, name in enumerate(("followup_diff", "did"))}
    return out.sort_values(
        ["outcome", "estimator"], key=lambda s: s.map(order if s.name == "outcome" else ranks), kind="stable"
    ).reset_index(drop=True)
