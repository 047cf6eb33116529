"""An Alkire–Foster counting index of deprivation across the empowerment goals (docs/methods.md §8.4).

Each outcome of the goal families (by default the six goals: institutions, business, income,
environment, life, community) measured in both rounds is an indicator. A household is
*adequate* in an indicator when its value reaches the indicator's cutoff:

1. the study's ``alkire_foster.cutoffs`` (at least the cutoff; at most it for outcomes with
   ``direction: -1``);
2. otherwise a yes/no outcome is adequate at the good answer (1, or 0 for ``direction: -1``);
3. otherwise a per-person income outcome (``income_pc…``) is adequate when the household is not
   below the poverty line (the ``poor`` indicator, an income-based proxy), when there is one;
4. otherwise the median of the pooled baseline values is the cutoff (a data-driven default,
   named in the table so it can be replaced): adequate at least at the median, or strictly
   better than it when the median is the worst observed value (so that an indicator such as
   "employees", whose median is 0, does not count everyone as adequate).

Weights are nested and equal: each goal present gets the same weight, shared equally by its
indicators (exact fractions, so scores tie exactly). A household is deprived when its weighted
deprivation score c exceeds k (default 1/3). H, A and M0 = H·A, the censored and uncensored
headcounts, and the contribution of each indicator and goal to M0 are reported per round and
arm. Households with a missing indicator are left out of that round's aggregates and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import numpy as np
import pandas as pd

from analysis.errors import EstimationError
from analysis.estimate.regressions import measured_in
from analysis.inputs.study import OutcomeSpec
from analysis.methods.alkire_foster import alkire_foster

AF_COLUMNS: tuple[str, ...] = (
    "round",
    "arm",
    "statistic",
    "goal",
    "indicator",
    "value",
    "n",
    "n_dropped",
    "k",
    "note",
)


def _values(panel: pd.DataFrame, outcome: OutcomeSpec) -> pd.Series:
    out = pd.Series(np.nan, index=panel.index, dtype="float64")
    for round_name, column in outcome.columns.items():
        if column in panel.columns:
            rows = panel["round"] == round_name
            out[rows] = pd.to_numeric(panel.loc[rows, column], errors="coerce")
    return out


def adequacy(
    panel: pd.DataFrame,
    outcomes: Sequence[OutcomeSpec],
    *,
    cutoffs: Mapping[str, float],
) -> tuple[pd.DataFrame, dict[str, tuple[float, str]]]:
    """Adequacy (1/0/missing) of every panel row in every indicator, and each indicator's rule.

    Returns
    -------
    tuple of pandas.DataFrame and dict
        The adequacy frame (one column per outcome, aligned with ``panel``) and, per outcome,
        the cutoff value and a description of the rule used.
    """
    baseline = panel["in_sample"].astype(bool) & (panel["round"] == "baseline")
    frame = pd.DataFrame(index=panel.index)
    rules: dict[str, tuple[float, str]] = {}
    for outcome in outcomes:
        values = _values(panel, outcome)
        sign = float(outcome.direction)
        observed = values.dropna()
        columns = set(outcome.columns.values())
        if outcome.name in cutoffs:
            cut = float(cutoffs[outcome.name])
            rule = "study file"
        elif len(observed) and observed.isin([0.0, 1.0]).all():
            cut = 1.0 if sign > 0 else 0.0
            rule = "yes/no: the good answer"
        elif "poor" in panel.columns and any(c.startswith("income_pc") for c in columns):
            poor = pd.to_numeric(panel["poor"], errors="coerce")
            frame[outcome.name] = (1.0 - poor).where(values.notna() & poor.notna())
            rules[outcome.name] = (np.nan, "not below the poverty line (`poor`, income-based proxy)")
            continue
        else:
            cut = float(values[baseline].median())
            rule = "at least as good as the baseline median (data-driven default)"
            worst = float((sign * values[baseline]).min())
            if sign * cut <= worst:
                # A median at the worst observed value would make everyone adequate: require
                # strictly better than it instead (e.g. at least one employee).
                rule = "better than the baseline median, which is the worst value (data-driven default)"
                adequate = (sign * values > sign * cut).astype(float)
                frame[outcome.name] = adequate.where(values.notna())
                rules[outcome.name] = (cut, rule)
                continue
        adequate = (sign * values >= sign * cut).astype(float)
        frame[outcome.name] = adequate.where(values.notna())
        rules[outcome.name] = (cut, rule)
    return frame, rules


def goal_weights(outcomes: Sequence[OutcomeSpec]) -> dict[str, Fraction]:
    """Nested equal weights: 1/(goals) per goal, shared equally by the goal's indicators."""
    goals: dict[str, list[str]] = {}
    for outcome in outcomes:
        goals.setdefault(str(outcome.family), []).append(outcome.name)
    return {name: Fraction(1, len(goals)) / len(members) for members in goals.values() for name in members}


def deprivation_table(
    panel: pd.DataFrame,
    outcomes: Sequence[OutcomeSpec],
    *,
    families: Sequence[str],
    k: float,
    cutoffs: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The Alkire–Foster index across goals by round and arm (see the module docstring).

    Parameters
    ----------
    panel
        The long panel.
    outcomes
        The study's outcomes; those of ``families`` measured in both rounds are the indicators.
    families
        The goal families.
    k
        Deprivation cutoff on the weighted score (deprived when c > k).
    cutoffs
        Adequacy cutoffs by outcome name.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AF_COLUMNS`. Statistics ``H``, ``A``, ``M0`` (goal and indicator
        empty); per indicator ``weight``, ``cutoff`` (with the rule in ``note``),
        ``uncensored_headcount``, ``censored_headcount`` and ``contribution``; per goal
        ``weight`` and ``contribution``.
    """
    indicators = [
        o
        for o in outcomes
        if o.family in families and measured_in(panel, o, "baseline") and measured_in(panel, o, "followup")
    ]
    if len({o.family for o in indicators}) < 1 or len(indicators) < 2:
        return pd.DataFrame(columns=list(AF_COLUMNS))
    frame, rules = adequacy(panel, indicators, cutoffs=cutoffs or {})
    weights = goal_weights(indicators)
    goal_of = {o.name: str(o.family) for o in indicators}
    in_sample = panel["in_sample"].astype(bool) & panel["treatment"].isin([0.0, 1.0])
    rows: list[dict[str, object]] = []

    def add(round_name: str, arm: str, statistic: str, value: float, **extra: object) -> None:
        row: dict[str, object] = {c: "" for c in AF_COLUMNS}
        row.update(
            round=round_name, arm=arm, statistic=statistic, value=value, k=k, n=np.nan, n_dropped=np.nan
        )
        row.update(extra)
        rows.append(row)

    for name, weight in weights.items():
        cut, rule = rules[name]
        add("", "", "weight", float(weight), goal=goal_of[name], indicator=name)
        add("", "", "cutoff", cut, goal=goal_of[name], indicator=name, note=rule)
    for goal in dict.fromkeys(goal_of.values()):
        add("", "", "weight", float(sum(w for n, w in weights.items() if goal_of[n] == goal)), goal=goal)

    for round_name in ("baseline", "followup"):
        for arm, mask in (
            ("comparison", panel["treatment"] == 0),
            ("treatment", panel["treatment"] == 1),
            ("all", panel["treatment"].notna()),
        ):
            rows_of = in_sample & mask & (panel["round"] == round_name)
            if not rows_of.any():
                continue
            try:
                result = alkire_foster(
                    frame.loc[rows_of, list(weights)],
                    weights=weights,
                    k=k,
                    sample_weights=pd.to_numeric(panel.loc[rows_of, "weight"], errors="coerce"),
                )
            except EstimationError as exc:
                add(round_name, arm, "M0", np.nan, note=str(exc))
                continue
            counts = {"n": result.n, "n_dropped": result.n_dropped}
            add(round_name, arm, "H", result.headcount_ratio, **counts)
            add(round_name, arm, "A", result.intensity, **counts)
            add(round_name, arm, "M0", result.m0, **counts)
            for name in weights:
                goal = goal_of[name]
                add(round_name, arm, "uncensored_headcount", float(result.uncensored_headcounts[name]),
                    goal=goal, indicator=name, **counts)  # fmt: skip
                add(round_name, arm, "censored_headcount", float(result.censored_headcounts[name]),
                    goal=goal, indicator=name, **counts)  # fmt: skip
                add(round_name, arm, "contribution", float(result.contributions[name]),
                    goal=goal, indicator=name, **counts)  # fmt: skip
            for goal in dict.fromkeys(goal_of.values()):
                members = [n for n in weights if goal_of[n] == goal]
                add(round_name, arm, "contribution", float(result.contributions[members].sum()),
                    goal=goal, **counts)  # fmt: skip
    return pd.DataFrame(rows, columns=list(AF_COLUMNS))
