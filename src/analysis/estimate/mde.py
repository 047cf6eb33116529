"""Minimum detectable effects of the study's own clustered design (docs/methods.md §6).

:func:`mde_table` evaluates the PowerUp!/Bloom formula (:func:`analysis.methods.power.mde_cluster`,
t quantiles on J − 2 degrees of freedom) at the design the study actually has:

- J: villages with follow-up households in the estimation sample; m: follow-up households per
  village (mean); P: share of those villages in the programme;
- the ICC of the outcome, estimated at baseline (pre-programme, both arms) by the one-way
  ANOVA estimator of a random-intercept model (:func:`analysis.methods.power.icc`, ``method="anova"``;
  REML by MixedLM gives the same on balanced data and takes a hundred times longer);
- for ``followup_diff`` no covariate (R² = 0); for ``ancova`` the baseline outcome as the
  covariate, with R²_C the squared correlation of village means of the follow-up and baseline
  outcome and R²_I the squared correlation of their within-village deviations, both among
  comparison households measured in both rounds (so the programme's effect does not enter);
- the MDE in SD units, and in outcome units using the baseline SD (pooled arms).

Without village clusters the design is individually randomized: J is the number of
households, m = 1 and the ICC is 0. With a single village, or a single village in either arm,
there is no MDE (``note`` says why).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import EstimationError
from analysis.estimate.regressions import measured_in
from analysis.inputs.study import OutcomeSpec
from analysis.methods.few_clusters import inference_gap
from analysis.methods.power import icc as estimate_icc
from analysis.methods.power import mde_cluster

MDE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "design",
    "n_clusters",
    "households_per_cluster",
    "share_treated",
    "icc",
    "r2_cluster",
    "r2_individual",
    "sd_baseline",
    "alpha",
    "power",
    "mde_sd",
    "mde",
    "note",
)


_GAP_NOTES = {
    "one_cluster": "1 cluster: no minimum detectable effect for a clustered design with a single cluster",
    "one_treated_cluster": (
        "1 treated cluster: no minimum detectable effect, the clustered test it assumes needs at "
        "least 2 clusters in each arm"
    ),
    "one_control_cluster": (
        "1 comparison cluster: no minimum detectable effect, the clustered test it assumes needs at "
        "least 2 clusters in each arm"
    ),
}


def _round_values(
    panel: pd.DataFrame, outcome: OutcomeSpec, round_name: str, *, rows: _RoundRows | None = None
) -> pd.DataFrame:
    """In-sample rows of one round with the outcome as ``y`` (rows without it or an arm dropped).

    ``rows`` is :func:`_round_rows` of the round, when the caller has it already.
    """
    column = outcome.columns.get(round_name)
    if column is None or column not in panel.columns:
        return pd.DataFrame(columns=["hh", "cluster", "treatment", "y"])
    mask, design = _round_rows(panel, round_name) if rows is None else rows
    out = design.copy()
    out["y"] = pd.to_numeric(panel.loc[mask, column], errors="coerce")
    return out.dropna(subset=["y", "treatment"])


#: The rows of one round in the sample, and their household, cluster and arm.
_RoundRows = tuple[pd.Series, pd.DataFrame]


def _round_rows(panel: pd.DataFrame, round_name: str) -> _RoundRows:
    """The in-sample rows of one round, selected once for every outcome."""
    mask = panel["in_sample"] & (panel["round"] == round_name)
    return mask, panel.loc[mask, ["hh", "cluster", "treatment"]]


def _squared_correlation(a: pd.Series, b: pd.Series) -> float:
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return np.nan
    r = float(np.corrcoef(a.to_numpy(dtype=float), b.to_numpy(dtype=float))[0, 1])
    # R² below 0 cannot happen; above 1 only by rounding. The formula needs [0, 1).
    return float(min(max(r * r, 0.0), 0.999))


def mde_table(
    panel: pd.DataFrame,
    outcomes: Sequence[OutcomeSpec],
    *,
    clustered: bool,
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """Minimum detectable effect of each outcome measured at baseline (see the module docstring).

    Parameters
    ----------
    panel
        The long panel.
    outcomes
        The outcomes (those without a baseline measure are skipped).
    clustered
        Whether the design is randomized by village (the panel's ``cluster``).
    alpha
        Two-sided size.
    power
        Target power.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MDE_COLUMNS`, rows ``followup_diff`` and ``ancova`` per outcome.
    """
    rows: list[dict[str, object]] = []
    by_round = {r: _round_rows(panel, r) for r in ("baseline", "followup")}
    for outcome in outcomes:
        if not (measured_in(panel, outcome, "baseline") and measured_in(panel, outcome, "followup")):
            continue
        base = _round_values(panel, outcome, "baseline", rows=by_round["baseline"])
        follow = _round_values(panel, outcome, "followup", rows=by_round["followup"])
        if clustered:
            n_clusters = int(follow["cluster"].nunique())
            size = len(follow) / max(n_clusters, 1)
            arms = follow.drop_duplicates("cluster")["treatment"]
            code, _ = inference_gap(follow["cluster"], follow["treatment"])
            if code:
                # The formula is that of a clustered t test, which does not exist here.
                why = _GAP_NOTES[code]
                rows += [
                    {"outcome": outcome.name, "design": d, "n_clusters": n_clusters, "note": why}
                    for d in ("followup_diff", "ancova")
                ]
                continue
            try:
                # Text labels; a categorical of them (analysis.estimate.tables) is used as it is.
                labels = base["cluster"]
                if not isinstance(labels.dtype, pd.CategoricalDtype):
                    labels = labels.astype(str)
                rho = estimate_icc(base["y"], labels, method="anova")
            except EstimationError as exc:
                rows.append({"outcome": outcome.name, "design": "followup_diff", "note": f"ICC: {exc}"})
                continue
        else:
            n_clusters, size, rho = len(follow), 1.0, 0.0
            arms = follow["treatment"]
        share = float(arms.mean()) if len(arms) else np.nan
        sd = float(base["y"].std(ddof=1)) if len(base) > 1 else np.nan

        both = base.merge(follow[["hh", "y"]], on="hh", suffixes=("0", "1"))
        comparison = both.loc[both["treatment"] == 0]
        if clustered:
            means = comparison.groupby("cluster")[["y0", "y1"]].mean()
            r2_c = _squared_correlation(means["y0"], means["y1"])
            within = comparison[["y0", "y1"]] - comparison.groupby("cluster")[["y0", "y1"]].transform("mean")
            r2_i = _squared_correlation(within["y0"], within["y1"])
        else:
            r2_c = 0.0
            r2_i = _squared_correlation(comparison["y0"], comparison["y1"])

        for design, r2c, r2i in (("followup_diff", 0.0, 0.0), ("ancova", r2_c, r2_i)):
            row: dict[str, object] = {
                "outcome": outcome.name,
                "design": design,
                "n_clusters": n_clusters,
                "households_per_cluster": size,
                "share_treated": share,
                "icc": rho,
                "r2_cluster": r2c,
                "r2_individual": r2i,
                "sd_baseline": sd,
                "alpha": alpha,
                "power": power,
                "note": "",
            }
            try:
                if not (np.isfinite(r2c) and np.isfinite(r2i)):
                    raise ValueError("R² could not be estimated (too few comparison villages or households)")
                mde_sd = mde_cluster(
                    n_clusters,
                    size,
                    rho,
                    share_treated=share,
                    r2_cluster=r2c,
                    r2_individual=r2i,
                    alpha=alpha,
                    power=power,
                    dist="t",
                )
            except ValueError as exc:
                row["note"] = str(exc)
            else:
                row["mde_sd"] = mde_sd
                row["mde"] = mde_sd * sd
            rows.append(row)
    return pd.DataFrame(rows, columns=list(MDE_COLUMNS))
