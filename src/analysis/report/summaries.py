"""The statistics the reports describe, computed from the panel with disclosure rules applied.

Pure functions on DataFrames: household counts and attrition, before/after changes with
bootstrap intervals, participation-ladder shares and the six-goal index profile. Every
statistic from fewer than ``min_cell`` households comes back as NaN, so presentation code
cannot show it by accident.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis.config import ROUNDS
from analysis.errors import EstimationError
from analysis.inputs.codebook import Codebook
from analysis.inputs.study import Study
from analysis.methods.indices import klk_index
from analysis.shared import layout
from analysis.shared.disclosure import SuppressedTable, suppress_arms, suppress_counts
from analysis.shared.files import read_csv

Statistic = Literal["mean", "median"]

#: How the attrition counts add up: baseline = found again + lost; follow-up = found again + new.
ATTRITION_TOTALS: dict[str, list[str]] = {"baseline": ["panel", "lost"], "followup": ["panel", "new"]}
ATTRITION_KEYS: tuple[str, ...] = ("baseline", "panel", "lost", "new", "followup")
#: The attrition cells that are fieldwork counts, published at any size.
FIELDWORK_CELLS: tuple[str, ...] = ("lost", "new")
#: The columns of :func:`attrition_by_arm`, and the arm of ``suppress_arms`` each one stands for.
ARM_COLUMNS: dict[str, str] = {"programme": "treatment", "comparison": "comparison", "total": "all"}


def attrition_counts(panel: pd.DataFrame) -> dict[str, int]:
    """Households surveyed at baseline, found again, lost, new at follow-up, surveyed at follow-up."""
    first = panel.drop_duplicates("hh")
    counts = first["linkage"].value_counts()
    found = int(counts.get("panel", 0))
    lost = int(counts.get("baseline_only", 0))
    new = int(counts.get("followup_only", 0))
    # A repeated cross-section's records are new in every round: counted by round, none followed.
    baseline = followup = 0
    if "cross_section" in counts.index:
        records = panel.loc[panel["linkage"] == "cross_section", "round"].value_counts()
        baseline, followup = int(records.get("baseline", 0)), int(records.get("followup", 0))
    return {
        "baseline": found + lost + baseline,
        "panel": found,
        "lost": lost,
        "new": new,
        "followup": found + new + followup,
    }


def attrition_table(panel: pd.DataFrame, *, min_cell: int, hide: Iterable[str] = ()) -> SuppressedTable[str]:
    """:func:`attrition_counts` suppressed by the disclosure policy (``docs/disclosure.md``).

    Households not found again (``lost``) and new at follow-up (``new``) are fieldwork counts,
    published at any size (:data:`analysis.shared.disclosure.FIELDWORK_COUNTS`); the group's sizes
    (``baseline``, ``followup``) and its households found again (``panel``) are hidden when small
    and complementarily. Because ``lost`` and ``new`` are published, hiding one size hides all
    three.

    Parameters
    ----------
    panel
        Rows of one group (a village).
    min_cell
        The study's threshold.
    hide
        Cells to hide whatever their size: a village that ``tables/villages.csv`` hides
        (``suppressed`` not empty) passes ``("baseline", "panel", "followup")``, so that its
        report does not print what the table protects.
    """
    counts = attrition_counts(panel)
    publish = FIELDWORK_CELLS
    return suppress_counts(counts, totals=ATTRITION_TOTALS, min_cell=min_cell, hide=hide, publish=publish)


def attrition_by_arm(panel: pd.DataFrame, *, min_cell: int) -> SuppressedTable[tuple[str, str]]:
    """Attrition counts by arm with an all-households column, suppressed as one two-way table.

    Keys are ``(row, column)`` with rows from :data:`ATTRITION_KEYS` and columns ``programme``,
    ``comparison`` and ``total``; every column adds up down the rows and every row across.
    Households not found again and new at follow-up are published at any size (fieldwork
    counts). An arm that the public tables hide (:func:`analysis.shared.disclosure.suppress_arms`, the
    decision behind ``linkage.csv`` and ``attrition.csv``) has its sizes hidden here too, so the
    report never prints a count the tables protect.
    """
    arms = {"programme": panel["treatment"] == 1, "comparison": panel["treatment"] == 0}
    values: dict[tuple[str, str], int] = {}
    for arm, mask in arms.items():
        for key, value in attrition_counts(panel.loc[mask]).items():
            values[(key, arm)] = value
    for key in ATTRITION_KEYS:
        values[(key, "total")] = values[(key, "programme")] + values[(key, "comparison")]
    constraints: list[tuple[tuple[str, str], list[tuple[str, str]]]] = [
        ((total, column), [(part, column) for part in parts])
        for column in ("programme", "comparison", "total")
        for total, parts in ATTRITION_TOTALS.items()
    ]
    constraints += [((key, "total"), [(key, "programme"), (key, "comparison")]) for key in ATTRITION_KEYS]
    linkage = pd.DataFrame(
        [
            {"arm": ARM_COLUMNS[column], "linkage": status, "households": values[(key, column)]}
            for column in ("programme", "comparison")
            for key, status in (("panel", "panel"), ("lost", "baseline_only"), ("new", "followup_only"))
        ]
    )
    hidden_arms = suppress_arms(linkage, min_cell=min_cell).hidden
    hide = {
        (key, column)
        for column, arm in ARM_COLUMNS.items()
        if arm in hidden_arms
        for key in ("baseline", "panel", "followup")
    }
    publish = {(key, column) for key in FIELDWORK_CELLS for column in ARM_COLUMNS}
    return suppress_counts(values, totals=constraints, min_cell=min_cell, hide=hide, publish=publish)


# ---------------------------------------------------------------------------------------------
# The design as the data show it: where the arm varies, and what the standard errors cluster on

AssignmentLevel = Literal["household", "village", "cluster"]
ClusterLevel = Literal["household", "village", "cluster", "none"]


@dataclass(frozen=True)
class Assignment:
    """The level at which the programme arm varies, read from the panel.

    Attributes
    ----------
    level
        ``household`` when the arm varies within at least one village (or there is no village),
        ``cluster`` when it is constant within clusters that group several villages (a design
        randomized by kecamatan), else ``village``.
    treated, comparison
        Units of that level in each arm (households, villages or clusters).
    treated_villages, comparison_villages
        Villages in each arm (a village holding both arms counts in both).
    villages
        Villages in the panel.
    mixed_villages
        Villages holding households of both arms.
    """

    level: AssignmentLevel
    treated: int
    comparison: int
    treated_villages: int
    comparison_villages: int
    villages: int
    mixed_villages: int


def _households(panel: pd.DataFrame) -> pd.DataFrame:
    """One row per household with a known arm (0 or 1)."""
    first = panel.drop_duplicates("hh")
    return first.loc[first["treatment"].isin([0, 1])]


def assignment(panel: pd.DataFrame) -> Assignment:
    """Where the programme arm varies: within villages, between villages, or between clusters.

    The arm of a village is never taken from one of its households: a study randomized at
    household level within villages has villages holding both arms, and is described as such.
    """
    households = _households(panel)
    has_village = "village" in households.columns and households["village"].notna().any()
    if not has_village:
        arms = households["treatment"].value_counts()
        return Assignment("household", int(arms.get(1, 0)), int(arms.get(0, 0)), 0, 0, 0, 0)
    placed = households.dropna(subset=["village"])
    by_village = placed.groupby("village", sort=False)["treatment"]
    mixed = int((by_village.nunique() > 1).sum())
    treated_villages = int(by_village.max().eq(1).sum())
    comparison_villages = int(by_village.min().eq(0).sum())
    villages = int(placed["village"].nunique())
    if mixed:
        arms = households["treatment"].value_counts()
        return Assignment(
            "household", int(arms.get(1, 0)), int(arms.get(0, 0)),
            treated_villages, comparison_villages, villages, mixed,
        )  # fmt: skip
    level: AssignmentLevel = "village"
    treated, comparison = treated_villages, comparison_villages
    if "cluster" in placed.columns and placed["cluster"].notna().all():
        by_cluster = placed.groupby("cluster", sort=False)["treatment"]
        clusters = int(placed["cluster"].nunique())
        if clusters < villages and (by_cluster.nunique() == 1).all():
            level = "cluster"
            treated, comparison = int(by_cluster.max().eq(1).sum()), int(by_cluster.min().eq(0).sum())
    return Assignment(level, treated, comparison, treated_villages, comparison_villages, villages, 0)


@dataclass(frozen=True)
class Clustering:
    """What the impact standard errors were computed with.

    Attributes
    ----------
    se_type
        ``CR1`` or ``HC1`` (``impact_detail.csv``'s ``se_type`` of the tested estimators), or
        empty when the table has none.
    level
        What CR1 clusters on: ``village``, ``household`` (each cluster one household),
        ``cluster`` (another column); ``none`` for HC1.
    clusters
        The largest number of clusters of a tested estimate (NaN without clusters).
    """

    se_type: str
    level: ClusterLevel
    clusters: float


def clustering(panel: pd.DataFrame, impact: pd.DataFrame, *, estimators: Sequence[str]) -> Clustering:
    """The standard errors of ``impact`` (rows of ``estimators``) and what they cluster on."""
    rows = impact.loc[impact["estimator"].isin(list(estimators))] if "estimator" in impact else impact
    types = rows["se_type"].dropna().astype(str) if "se_type" in rows else pd.Series(dtype=str)
    types = types.loc[types != ""]
    se_type = str(types.mode().iloc[0]) if len(types) else ""
    counts = pd.to_numeric(rows.get("n_clusters", pd.Series(dtype=float)), errors="coerce").dropna()
    clusters = float(counts.max()) if len(counts) else float("nan")
    if se_type != "CR1" or "cluster" not in panel.columns or panel["cluster"].isna().all():
        return Clustering(se_type, "none", float("nan") if se_type != "CR1" else clusters)
    placed = panel.dropna(subset=["cluster"])
    level: ClusterLevel = "cluster"
    if "village" in placed.columns and (placed["cluster"].astype(str) == placed["village"].astype(str)).all():
        level = "village"
    elif int(placed.groupby("cluster")["hh"].nunique().max()) == 1:
        level = "household"
    return Clustering(se_type, level, clusters)


def arm_mean(
    panel: pd.DataFrame,
    column: str,
    *,
    arm: int = 0,
    round_name: str = "followup",
    rows: pd.Series | None = None,
) -> tuple[float, int]:
    """The (survey-weighted) mean of ``column`` in one arm and round, and its number of households.

    ``rows`` restricts the households further (women respondents for the ``_women`` outcomes).
    The mean is NaN when no household has a value; the caller applies ``min_cell``.
    """
    if column not in panel.columns:
        return float("nan"), 0
    mask = (panel["round"] == round_name) & (panel["treatment"] == arm)
    if "in_sample" in panel.columns:
        mask &= panel["in_sample"].astype(bool)
    if rows is not None:
        mask &= rows.reindex(panel.index, fill_value=False).astype(bool)
    values = pd.to_numeric(panel.loc[mask, column], errors="coerce")
    weights = pd.to_numeric(panel.loc[mask, "weight"], errors="coerce") if "weight" in panel else None
    keep = values.notna() if weights is None else values.notna() & weights.notna() & (weights > 0)
    if not keep.any():
        return float("nan"), 0
    if weights is None:
        return float(values[keep].mean()), int(keep.sum())
    return float(np.average(values[keep], weights=weights[keep])), int(keep.sum())


# ---------------------------------------------------------------------------------------------
# Before/after changes with bootstrap intervals


@dataclass(frozen=True)
class Change:
    """A before/after change of one statistic in one group, with a bootstrap interval.

    ``change`` is relative (``after / before − 1``) or absolute (``after − before``) as asked.
    Every field is NaN when a round has fewer than ``min_cell`` households.
    """

    before: float
    after: float
    n_before: int
    n_after: int
    change: float
    low: float
    high: float
    draws: np.ndarray

    @property
    def available(self) -> bool:
        """Whether the change may be shown."""
        return bool(np.isfinite(self.change))


@dataclass(frozen=True)
class VillageChange:
    """The change in one village, in the comparison villages, and their difference."""

    village: Change
    comparison: Change | None
    difference: float
    difference_low: float
    difference_high: float


def _statistic(values: np.ndarray, statistic: Statistic, axis: int | None = None) -> np.ndarray:
    return np.median(values, axis=axis) if statistic == "median" else np.mean(values, axis=axis)


def _ratio(after: np.ndarray | float, before: np.ndarray | float, relative: bool) -> np.ndarray:
    a, b = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    if not relative:
        return a - b
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / b - 1.0, np.nan)


def _empty_change(n_before: int, n_after: int) -> Change:
    nan = float("nan")
    return Change(nan, nan, n_before, n_after, nan, nan, nan, np.array([]))


def household_change(
    before: np.ndarray,
    after: np.ndarray,
    *,
    statistic: Statistic,
    relative: bool,
    min_cell: int,
    reps: int,
    rng: np.random.Generator,
) -> Change:
    """The change in one village, households resampled within each round.

    The two rounds are resampled independently: not every household was surveyed twice, and
    the households found again are only part of each round.
    """
    before, after = before[np.isfinite(before)], after[np.isfinite(after)]
    if len(before) < min_cell or len(after) < min_cell:
        return _empty_change(len(before), len(after))
    b, a = float(_statistic(before, statistic)), float(_statistic(after, statistic))
    draws_b = _statistic(before[rng.integers(0, len(before), (reps, len(before)))], statistic, axis=1)
    draws_a = _statistic(after[rng.integers(0, len(after), (reps, len(after)))], statistic, axis=1)
    draws = _ratio(draws_a, draws_b, relative)
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return Change(
        b, a, len(before), len(after), float(_ratio(a, b, relative)), float(low), float(high), draws
    )


def cluster_change(
    before: Sequence[np.ndarray],
    after: Sequence[np.ndarray],
    *,
    statistic: Statistic,
    relative: bool,
    min_cell: int,
    reps: int,
    rng: np.random.Generator,
) -> Change:
    """The change over a group of villages, resampling villages and then households within them.

    The two-stage bootstrap keeps village-level shocks in the interval (villages, not
    households, are the units of assignment). ``before[i]`` and ``after[i]`` belong to village i.
    """
    before = [b[np.isfinite(b)] for b in before]
    after = [a[np.isfinite(a)] for a in after]
    n_b, n_a = sum(len(b) for b in before), sum(len(a) for a in after)
    if n_b < min_cell or n_a < min_cell or not before:
        return _empty_change(n_b, n_a)
    b = float(_statistic(np.concatenate(before), statistic))
    a = float(_statistic(np.concatenate(after), statistic))
    draws = np.empty(reps)
    flat_b, flat_a = _flatten(before), _flatten(after)
    groups = len(before)
    for r in range(reps):
        chosen = rng.integers(0, groups, groups)
        sb = _statistic(_two_stage(flat_b, chosen, rng), statistic)
        sa = _statistic(_two_stage(flat_a, chosen, rng), statistic)
        draws[r] = _ratio(sa, sb, relative)
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return Change(b, a, n_b, n_a, float(_ratio(a, b, relative)), float(low), float(high), draws)


def _flatten(groups: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sizes = np.array([len(g) for g in groups])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    values = np.concatenate(groups) if len(groups) else np.array([])
    return values, offsets, sizes


def _two_stage(
    flat: tuple[np.ndarray, np.ndarray, np.ndarray], chosen: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    values, offsets, sizes = flat
    n = sizes[chosen]
    if n.sum() == 0:
        return np.array([np.nan])
    starts = np.repeat(offsets[chosen], n)
    lengths = np.repeat(n, n)
    return values[starts + (rng.random(int(n.sum())) * lengths).astype(int)]


def village_seed(seed: int, village: str, outcome: str) -> np.random.Generator:
    """A generator that depends on the study seed, the village and the outcome only.

    crc32 rather than ``hash()``: Python salts string hashes per process, and reports must be
    identical on every run.
    """
    return np.random.default_rng([seed, zlib.crc32(village.encode()), zlib.crc32(outcome.encode())])


def village_change(
    panel: pd.DataFrame,
    *,
    village: str,
    column: str,
    statistic: Statistic,
    relative: bool,
    min_cell: int,
    seed: int,
    reps: int = 999,
) -> VillageChange:
    """Before/after change of ``column`` in ``village`` and in the (other) comparison villages.

    Parameters
    ----------
    panel
        The household panel (one row per household and round).
    village
        The village code.
    column
        The household-level variable.
    statistic
        ``median`` or ``mean`` per round.
    relative
        Change as ``after / before − 1`` (income) or ``after − before`` (scores).
    min_cell
        Smallest number of households per round and group.
    seed
        The study seed; the bootstrap stream also depends on the village and column.
    reps
        Bootstrap replications.

    Returns
    -------
    VillageChange
        The difference (village change minus comparison change) is the village-level
        difference-in-differences; its interval combines both bootstraps, which are independent.
    """
    rng = village_seed(seed, village, column)
    data = panel.loc[panel[column].notna(), ["village", "round", "treatment", column]]
    here = data.loc[data["village"] == village]
    own = _own_change(
        here, column, statistic=statistic, relative=relative, min_cell=min_cell, reps=reps, rng=rng
    )
    others = data.loc[(data["treatment"] == 0) & (data["village"] != village)]
    comparison = None
    if not others.empty:
        codes = sorted(others["village"].dropna().unique())
        comparison = cluster_change(
            [_values(others.loc[others["village"] == c], "baseline", column) for c in codes],
            [_values(others.loc[others["village"] == c], "followup", column) for c in codes],
            statistic=statistic,
            relative=relative,
            min_cell=min_cell,
            reps=reps,
            rng=rng,
        )
    nan = float("nan")
    if comparison is None or not (own.available and comparison.available):
        return VillageChange(own, comparison, nan, nan, nan)
    draws = own.draws - comparison.draws
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return VillageChange(own, comparison, own.change - comparison.change, float(low), float(high))


def _values(frame: pd.DataFrame, round_name: str, column: str) -> np.ndarray:
    return frame.loc[frame["round"] == round_name, column].to_numpy(dtype=float)


def _own_change(
    here: pd.DataFrame,
    column: str,
    *,
    statistic: Statistic,
    relative: bool,
    min_cell: int,
    reps: int,
    rng: np.random.Generator,
) -> Change:
    """One village's own change: :func:`household_change` of its two rounds.

    The village report and the index draw it alike, so both print the same interval.
    """
    return household_change(
        _values(here, "baseline", column),
        _values(here, "followup", column),
        statistic=statistic,
        relative=relative,
        min_cell=min_cell,
        reps=reps,
        rng=rng,
    )


# ---------------------------------------------------------------------------------------------
# Quantiles for the income figure


def quantile_row(values: pd.Series, *, min_cell: int) -> dict[str, float] | None:
    """Quartiles of ``values`` (None below ``min_cell``); p10/p90 only with ``min_cell`` beyond each.

    A 10th percentile of 20 households sits between the 2nd and 3rd poorest household, so the
    whiskers appear only when at least ``min_cell`` households lie beyond each end.
    """
    data = pd.to_numeric(values, errors="coerce").dropna()
    n = len(data)
    if n < min_cell:
        return None
    row = {f"p{int(q * 100)}": float(data.quantile(q)) for q in (0.25, 0.5, 0.75)}
    tails = n * 0.10 >= min_cell
    row["p10"] = float(data.quantile(0.10)) if tails else float("nan")
    row["p90"] = float(data.quantile(0.90)) if tails else float("nan")
    row["n"] = n
    return row


# ---------------------------------------------------------------------------------------------
# Participation ladder and the six goals


def ladder_shares(panel: pd.DataFrame, *, rungs: Sequence[tuple[str, str]], min_cell: int) -> pd.DataFrame:
    """Share of households reaching each rung per round (NaN when the base is below ``min_cell``).

    Parameters
    ----------
    panel
        Rows of one village (or any group).
    rungs
        ``(column, display label)`` pairs in ladder order.
    """
    rows = []
    for column, text in rungs:
        record: dict[str, object] = {"rung": text}
        for round_name in ROUNDS:
            values = (
                panel.loc[panel["round"] == round_name, column].dropna() if column in panel else pd.Series()
            )
            record[round_name] = float(values.mean()) if len(values) >= min_cell else float("nan")
            record[f"n_{round_name}"] = len(values)
        rows.append(record)
    return pd.DataFrame(rows, columns=["rung", *ROUNDS, *(f"n_{r}" for r in ROUNDS)])


def goal_components(study: Study, panel: pd.DataFrame, goal: str) -> dict[str, int]:
    """Outcomes of ``goal`` usable in an index: in the panel and measured at baseline (name → direction)."""
    result = {}
    for outcome in study.outcomes:
        if outcome.family != goal or outcome.name not in panel.columns:
            continue
        column = pd.to_numeric(panel[outcome.name], errors="coerce")
        if column.loc[panel["round"] == "baseline"].notna().sum() < 2:
            continue
        result[outcome.name] = outcome.direction
    return result


def goal_indices(panel: pd.DataFrame, *, study: Study, goals: Sequence[str]) -> pd.DataFrame:
    """Household-level Kling–Liebman–Katz index of each goal, standardized on comparison baseline.

    Components constant in the reference group carry no information and are left out (their SD
    is zero); a goal with no usable component is absent from the result.
    """
    reference = (panel["round"] == "baseline") & (panel["treatment"] == 0)
    if not reference.any():
        reference = panel["round"] == "baseline"
    out = pd.DataFrame(index=panel.index)
    for goal in goals:
        components = goal_components(study, panel, goal)
        usable = {
            name: direction
            for name, direction in components.items()
            if pd.to_numeric(panel.loc[reference, name], errors="coerce").std() > 0
        }
        if not usable:
            continue
        frame = panel[list(usable)].apply(pd.to_numeric, errors="coerce")
        try:
            out[goal] = klk_index(frame, reference=reference, directions=usable)
        except EstimationError:
            continue
    return out


def goal_profile(
    panel: pd.DataFrame, *, village: str, study: Study, goals: Sequence[str], min_cell: int
) -> pd.DataFrame:
    """Mean goal index: this village at baseline and follow-up, all programme villages at follow-up.

    Returns
    -------
    pandas.DataFrame
        One row per goal with ``goal``, ``village_baseline``, ``village_followup``,
        ``programme_followup`` and the bases ``n_village_baseline``, ``n_village_followup``,
        ``n_programme_followup``; means from fewer than ``min_cell`` households are NaN.
    """
    indices = goal_indices(panel, study=study, goals=goals)
    masks = {
        "village_baseline": (panel["village"] == village) & (panel["round"] == "baseline"),
        "village_followup": (panel["village"] == village) & (panel["round"] == "followup"),
        "programme_followup": (panel["treatment"] == 1) & (panel["round"] == "followup"),
    }
    rows = []
    for goal in indices.columns:
        record: dict[str, object] = {"goal": goal}
        for name, mask in masks.items():
            values = indices.loc[mask, goal].dropna()
            record[name] = float(values.mean()) if len(values) >= min_cell else float("nan")
            record[f"n_{name}"] = len(values)
        rows.append(record)
    columns = ["goal", *masks, *(f"n_{m}" for m in masks)]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------------------------
# Data quality of one village


def village_quality(
    processed: Path, *, village: str, village_column: str | None
) -> dict[str, dict[str, int]]:
    """Quarantined records and automatic corrections of ``village``, per round.

    Corrections are matched to the village through the row number (``_row``) shared by the
    change log, the clean data and the quarantine file.
    """
    result: dict[str, dict[str, int]] = {}
    for round_name in ROUNDS:
        quarantine_path = processed / layout.quarantine_csv(round_name)
        changes_path = processed / layout.changes_csv(round_name)
        clean_path = processed / layout.clean_parquet(round_name)
        rows_here: set[str] = set()
        quarantined = 0
        if quarantine_path.is_file() and village_column:
            quarantine = read_csv(quarantine_path, dtype=str, keep_default_na=False)
            if village_column in quarantine.columns and "_row" in quarantine.columns:
                mine = quarantine.loc[quarantine[village_column].str.strip() == village]
                quarantined = int(mine["_row"].nunique())
                rows_here |= set(mine["_row"])
        if clean_path.is_file() and village_column:
            try:  # two columns only: the clean data can be large
                clean = pd.read_parquet(clean_path, columns=["_row", village_column])
            except (KeyError, ValueError, OSError):
                clean = pd.DataFrame()
            if village_column in clean.columns and "_row" in clean.columns:
                rows_here |= set(clean.loc[clean[village_column].astype(str) == village, "_row"].astype(str))
        corrected = 0
        if changes_path.is_file():
            changes = read_csv(changes_path, dtype=str, keep_default_na=False)
            if "_row" in changes.columns:
                corrected = int(changes["_row"].isin(rows_here).sum())
        result[round_name] = {"quarantined": quarantined, "corrected": corrected}
    return result


def village_column(study: Study, codebook: Codebook | None) -> str | None:
    """The harmonized name of the village column in processed files."""
    if codebook is not None:
        names = [v.name for v in codebook.by_role("village")]
        if names:
            return names[0]
    return study.village


# ---------------------------------------------------------------------------------------------
# Every village at once, for the index page


#: The index's data-quality columns: records quarantined, interviews flagged (any quality flag),
#: records in a group of conflicting duplicates, and interviews flagged as too short.
QUALITY_COLUMNS: tuple[str, ...] = ("quarantined", "flagged", "duplicates", "short")
#: The quality flag of an interview shorter than the study's minimum (clean/quality.py).
SHORT_FLAG = "too_short"


def village_changes(
    panel: pd.DataFrame,
    *,
    column: str,
    statistic: Statistic,
    relative: bool,
    min_cell: int,
    seed: int,
    reps: int = 999,
) -> pd.DataFrame:
    """Each village's own before/after change of ``column`` with its 95% bootstrap interval.

    The interval of :func:`household_change`, drawn from the same stream as the village report's
    own change (:func:`village_seed` with the same village and column, households in panel
    order), so the index and the village report print the same interval. A village with fewer
    than ``min_cell`` households in a round gets NaN.

    Parameters
    ----------
    panel
        The household panel (``village``, ``round`` and ``column``).
    column, statistic, relative, min_cell, seed, reps
        As for :func:`village_change`.

    Returns
    -------
    pandas.DataFrame
        Indexed by village code: ``before``, ``after``, ``change``, ``low``, ``high``,
        ``n_before``, ``n_after`` and ``within_noise`` (:func:`within_noise`).
    """
    columns = ["before", "after", "change", "low", "high", "n_before", "n_after", "within_noise"]
    data = panel.loc[panel[column].notna(), ["village", "round", column]]
    rows = {}
    # sort=False and groupby's stable order keep each village's households in panel order, as
    # village_change sees them: the resampled positions then pick the same households.
    for village, here in data.groupby("village", sort=False):
        code = str(village)
        own = _own_change(
            here,
            column,
            statistic=statistic,
            relative=relative,
            min_cell=min_cell,
            reps=reps,
            rng=village_seed(seed, code, column),
        )
        rows[code] = [
            own.before, own.after, own.change, own.low, own.high, own.n_before, own.n_after,
            within_noise(own.low, own.high),
        ]  # fmt: skip
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "village"
    return frame


def within_noise(low: float, high: float) -> bool:
    """Whether an interval ``[low, high]`` holds zero change (False when it is unknown)."""
    return bool(np.isfinite(low) and np.isfinite(high) and low <= 0.0 <= high)


def quality_by_village(
    rows: pd.DataFrame, *, quarantine: pd.DataFrame, flags: pd.DataFrame, duplicates: pd.DataFrame
) -> pd.DataFrame:
    """Records quarantined, interviews flagged, duplicate records and short interviews per village.

    Cleaning counts (``docs/disclosure.md``, rule 4), summed over the rounds. A record is counted
    once per column however many flags it has.

    Parameters
    ----------
    rows
        ``round``, ``_row`` and ``village`` of every record with a village: the clean data and
        the quarantine (a row number is unique within its round only).
    quarantine
        ``round`` and ``_row`` of the quarantined records.
    flags
        ``round``, ``_row`` and ``flag`` of the quality report (``too_short:10min``, ``outlier:x``).
    duplicates
        ``round`` and ``_row`` of the records in a group of conflicting duplicates.

    Returns
    -------
    pandas.DataFrame
        Indexed by village code, one integer column per :data:`QUALITY_COLUMNS`; villages of
        ``rows`` with none of a kind get 0. Records whose village is unknown are not counted.
    """
    key = ["round", "_row"]
    where = rows.loc[rows["village"].notna() & (rows["village"].astype(str).str.strip() != "")]
    where = where.assign(_row=where["_row"].astype(str), village=where["village"].astype(str).str.strip())
    where = where.drop_duplicates(key)[[*key, "village"]]
    villages = pd.Index(sorted(where["village"].unique()), name="village")

    def per_village(records: pd.DataFrame) -> pd.Series:
        records = records.assign(_row=records["_row"].astype(str))[key].drop_duplicates()
        found = records.merge(where, on=key, how="inner")
        return found.groupby("village").size().reindex(villages, fill_value=0).astype(int)

    is_short = flags["flag"].astype(str).str.split(":").str[0] == SHORT_FLAG
    return pd.DataFrame(
        {
            "quarantined": per_village(quarantine),
            "flagged": per_village(flags),
            "duplicates": per_village(duplicates),
            "short": per_village(flags.loc[is_short]),
        },
        index=villages,
    )


def read_quality_by_village(processed: Path, *, village_column: str) -> pd.DataFrame:
    """:func:`quality_by_village` from the clean stage's files in ``processed``.

    Reads ``<round>_clean.parquet`` (two columns), ``<round>_quarantine.csv``,
    ``<round>_quality.csv`` and ``<round>_duplicates.csv`` (whose ``row`` is the ``_row`` of the
    others); a missing file or column counts as no records.
    """
    rows, quarantine, flags, duplicates = [], [], [], []
    for round_name in ROUNDS:
        clean_path = processed / layout.clean_parquet(round_name)
        if clean_path.is_file():
            try:  # two columns only: the clean data can be large
                clean = pd.read_parquet(clean_path, columns=["_row", village_column])
            except (KeyError, ValueError, OSError):
                clean = pd.DataFrame()
            if {"_row", village_column} <= set(clean.columns):
                rows.append(_keyed(clean, round_name, village=village_column))
        path = processed / layout.quarantine_csv(round_name)
        if path.is_file():
            frame = read_csv(path, dtype=str, keep_default_na=False)
            if "_row" in frame.columns:
                quarantine.append(_keyed(frame, round_name))
                if village_column in frame.columns:
                    rows.append(_keyed(frame, round_name, village=village_column))
        path = processed / layout.quality_csv(round_name)
        if path.is_file():
            frame = read_csv(path, dtype=str, keep_default_na=False)
            if {"_row", "flag"} <= set(frame.columns):
                flags.append(_keyed(frame, round_name).assign(flag=frame["flag"].to_numpy()))
        path = processed / layout.duplicates_csv(round_name)
        if path.is_file():
            frame = read_csv(path, dtype=str, keep_default_na=False)
            if "row" in frame.columns:
                duplicates.append(_keyed(frame.rename(columns={"row": "_row"}), round_name))

    def stack(frames: list[pd.DataFrame], *extra: str) -> pd.DataFrame:
        names = ["round", "_row", *extra]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=names)

    return quality_by_village(
        stack(rows, "village"),
        quarantine=stack(quarantine),
        flags=stack(flags, "flag"),
        duplicates=stack(duplicates),
    )


def _keyed(frame: pd.DataFrame, round_name: str, *, village: str | None = None) -> pd.DataFrame:
    """``round`` and ``_row`` (as text, stripped) of ``frame``, with its ``village`` when asked."""
    out = pd.DataFrame({"round": round_name, "_row": frame["_row"].astype(str).str.strip().to_numpy()})
    if village is not None:
        out["village"] = frame[village].astype("string").str.strip().to_numpy()
    return out
