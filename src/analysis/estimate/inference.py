"""Inference beside CR1 for every impact estimate: few-cluster p-values and multiple testing.

For each outcome × estimator (``followup_diff``, ``did``, ``ancova``) :func:`impact_inference`
adds, in one tidy row of ``tables/impact_inference.csv``:

- the wild cluster restricted bootstrap p-value (docs/methods.md §2.2) whenever the study has fewer
  than ``wild_below`` clusters (default 50): Rademacher weights, Webb's six-point weights below
  12 clusters, all ``2**G`` Rademacher vectors when ``2**G <= reps``, drawn from the study's
  seed otherwise. One matrix of village weights serves every outcome, so the draws of
  different outcomes are joint, as Romano–Wolf needs;
- optionally the CRV3 (cluster jackknife, ``(G-1)/G`` scaling) standard error and its t(G − 1)
  p-value, and a randomization-inference p-value (randomization-t, the actual design's number
  of treated villages within strata), study key ``vcov_extra``;
- Anderson's sharpened q-value (§4.1) within the outcome's adjustment group and estimator:
  the outcome's family, or for family indices all indices of the same kind. It is computed from
  the wild bootstrap p-value where there is one (few clusters, where CR1 over-rejects) and from
  the CR1 p-value otherwise (``q_source`` says which);
- optionally the Romano–Wolf step-down p-value (§4.2) within the same group, from the joint
  wild bootstrap (study key ``romano_wolf``).

With a single cluster, or a single treated or comparison cluster, in an estimate's sample
none of these is computed (no p-value of any kind is reliable then, see
:func:`analysis.methods.few_clusters.inference_gap`): the columns are empty and ``note`` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.config import TESTED_ESTIMATORS
from analysis.errors import EstimationError
from analysis.estimate.regressions import Design
from analysis.methods.few_clusters import (
    crv3_se,
    randomization_inference,
    wcr_t_statistics,
    wild_draws,
    wild_p_value,
)
from analysis.methods.multiple_testing import romano_wolf, sharpened_qvalues

INFERENCE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "estimator",
    "family",
    "q_group",
    "estimate",
    "n_clusters",
    "p_value_cr1",
    "p_value_wild",
    "wild_weights",
    "wild_reps",
    "wild_enumerated",
    "se_crv3",
    "p_value_crv3",
    "p_value_ri",
    "ri_assignments",
    "q_value_family",
    "q_source",
    "p_value_romano_wolf",
    "note",
)


@dataclass(frozen=True)
class InferenceOptions:
    """What :func:`impact_inference` computes.

    Attributes
    ----------
    wild_below
        Compute the wild bootstrap when there are fewer clusters than this.
    reps
        Bootstrap draws (and randomization draws).
    seed
        Seed of every draw.
    crv3, ri
        Add the CRV3 and randomization-inference p-values.
    romano_wolf
        Add Romano–Wolf p-values (computes the wild bootstrap whatever the number of clusters).
    """

    wild_below: int = 50
    reps: int = 9999
    seed: int = 0
    crv3: bool = False
    ri: bool = False
    romano_wolf: bool = False


def _weights(design: Design) -> pd.Series | None:
    """Survey weights when they vary (as :func:`analysis.estimate.regressions.fit_ols` uses them)."""
    w = design.weights
    return w if w is not None and w.nunique() > 1 else None


def _distinct_labels(clusters: pd.Series) -> pd.Index:
    """``pd.Index(clusters.astype(str).unique())``; a categorical's labels are not rebuilt per row."""
    if isinstance(clusters.dtype, pd.CategoricalDtype):
        return pd.Index(pd.Series(clusters.unique()).astype(str))
    return pd.Index(clusters.astype(str).unique())


def _transformed(design: Design) -> tuple[np.ndarray, pd.DataFrame]:
    """Return y and X multiplied by the square root of the weights (WLS as OLS)."""
    w = _weights(design)
    if w is None:
        return design.y.to_numpy(dtype=float), design.X
    root = np.sqrt(w.to_numpy(dtype=float))
    return design.y.to_numpy(dtype=float) * root, design.X.mul(root, axis=0)


def _crv3(design: Design, estimate: float) -> tuple[float, float]:
    assert design.clusters is not None
    y, X = _transformed(design)
    se = float(crv3_se(y, X, design.clusters, scaling="jackknife")[design.term])
    groups = int(design.clusters.nunique())
    p = float(2 * stats.t.sf(abs(estimate / se), groups - 1))
    return se, p


def _ri(design: Design, *, reps: int, seed: int) -> tuple[float, int, str]:
    if design.term != "treatment" or _weights(design) is not None:
        return np.nan, 0, "randomization inference needs an unweighted household-level regression"
    assert design.clusters is not None
    X = design.X  # built on each access: take it once
    controls = [c for c in X.columns if c not in ("const", "treatment") and not c.startswith("strata_")]
    data = X[controls].copy()
    data["__y"] = design.y.to_numpy(dtype=float)
    data["__t"] = X["treatment"]
    data["__c"] = design.clusters.astype(str).to_numpy()
    strata = None
    if design.strata is not None and design.strata.notna().all() and design.strata.nunique() > 1:
        data["__s"] = design.strata.astype(str).to_numpy()
        strata = "__s"
    result = randomization_inference(
        data,
        outcome="__y",
        treatment="__t",
        cluster="__c",
        covariates=controls,
        strata=strata,
        statistic="t",
        reps=reps,
        seed=seed,
    )
    return result.p_value, result.n_assignments, ""


def impact_inference(
    designs: Sequence[Design],
    impact: pd.DataFrame,
    *,
    q_groups: Mapping[str, str],
    families: Mapping[str, str],
    clustered: bool,
    options: InferenceOptions,
) -> pd.DataFrame:
    """Few-cluster and multiple-testing inference for every tested impact estimate.

    Parameters
    ----------
    designs
        The regressions behind ``impact`` (:func:`analysis.estimate.regressions.designs_for`).
    impact
        The impact table (``outcome``, ``estimator``, ``estimate``, ``p_value``, ``n_clusters``).
    q_groups
        Outcome name to its multiple-testing group (family, or the index kind for indices).
    families
        Outcome name to the family it belongs to (or summarizes).
    clustered
        Whether standard errors are clustered by village; without it only q-values are added.
    options
        What to compute.

    Returns
    -------
    pandas.DataFrame
        One row per outcome × tested estimator, columns :data:`INFERENCE_COLUMNS`.
    """
    keyed: dict[tuple[str, str], dict[str, float]] = {
        (str(r["outcome"]), str(r["estimator"])): {
            "estimate": float(r["estimate"]),
            "p_value": float(r["p_value"]),
            "n_clusters": float(r["n_clusters"]),
        }
        for r in impact.to_dict("records")
    }
    # One row per tested estimator (config.TESTED_ESTIMATORS); before_after is descriptive.
    tested = [d for d in designs if d.estimator in TESTED_ESTIMATORS]
    labels = pd.Index([])
    if clustered:
        for design in tested:
            if design.clusters is not None and not design.empty:
                labels = labels.union(_distinct_labels(design.clusters))
    n_clusters = len(labels)
    want_wild = clustered and n_clusters >= 2 and (n_clusters < options.wild_below or options.romano_wolf)
    draws = (
        wild_draws(n_clusters, reps=options.reps, weights_type="auto", seed=options.seed)
        if want_wild
        else None
    )

    rows: list[dict[str, object]] = []
    boot: dict[tuple[str, str], tuple[float, np.ndarray]] = {}
    for design in tested:
        key = (design.outcome, design.estimator)
        record = keyed.get(key)
        estimate = np.nan if record is None else float(record["estimate"])
        row: dict[str, object] = {c: np.nan for c in INFERENCE_COLUMNS}
        row.update(
            outcome=design.outcome,
            estimator=design.estimator,
            family=families.get(design.outcome, ""),
            q_group=q_groups.get(design.outcome, ""),
            estimate=estimate,
            n_clusters=np.nan if record is None else record["n_clusters"],
            p_value_cr1=np.nan if record is None else record["p_value"],
            wild_weights="",
            q_source="",
            note="",
        )
        notes: list[str] = []
        fitted = not design.empty and np.isfinite(estimate)
        _, gap = design.inference_gap() if fitted and clustered else ("", "")
        if gap:
            # One cluster, or one in an arm: the wild bootstrap, CRV3 and randomization
            # inference all rest on the same cluster scores (or, for randomization inference,
            # on a handful of possible assignments), so none of them is reported either.
            notes.append(gap)
        elif fitted and clustered and design.clusters is not None:
            if draws is not None:
                codes = labels.get_indexer(pd.Index(design.clusters.astype(str)))
                try:
                    t_stat, t_boot = wcr_t_statistics(
                        design.y,
                        design.X,
                        codes,
                        param=design.term,
                        draws=draws.matrix,
                        weights=_weights(design),
                    )
                except EstimationError as exc:
                    notes.append(f"wild bootstrap: {exc}")
                else:
                    boot[key] = (t_stat, t_boot)
                    if n_clusters < options.wild_below or options.romano_wolf:
                        row.update(
                            p_value_wild=wild_p_value(t_stat, t_boot),
                            wild_weights=draws.weights_type,
                            wild_reps=len(t_boot),
                            wild_enumerated=draws.enumerated,
                        )
            if options.crv3:
                try:
                    row["se_crv3"], row["p_value_crv3"] = _crv3(design, estimate)
                except EstimationError as exc:
                    notes.append(f"CRV3: {exc}")
            if options.ri:
                try:
                    p_ri, n_ri, why = _ri(design, reps=options.reps, seed=options.seed)
                except EstimationError as exc:
                    notes.append(f"randomization inference: {exc}")
                else:
                    row.update(p_value_ri=p_ri, ri_assignments=n_ri if n_ri else np.nan)
                    if why:
                        notes.append(why)
        if fitted and not gap and clustered and n_clusters >= options.wild_below and not options.romano_wolf:
            notes.append(f"{n_clusters} clusters: CR1 is used without the wild bootstrap")
        row["note"] = "; ".join(notes)
        rows.append(row)

    table = pd.DataFrame(rows, columns=list(INFERENCE_COLUMNS))
    if table.empty:
        return table
    wild = pd.to_numeric(table["p_value_wild"], errors="coerce")
    cr1 = pd.to_numeric(table["p_value_cr1"], errors="coerce")
    preferred = wild.where(wild.notna(), cr1)
    table["q_source"] = np.where(wild.notna(), "wild", np.where(cr1.notna(), "cr1", ""))
    keys = list(zip(table["outcome"].astype(str), table["estimator"].astype(str), strict=True))
    for _, idx in table.groupby(["q_group", "estimator"], sort=False).groups.items():
        positions = [int(i) for i in idx]
        table.loc[positions, "q_value_family"] = sharpened_qvalues(preferred.loc[positions].to_numpy())
        members = [i for i in positions if keys[i] in boot]
        if options.romano_wolf and members:
            t_obs = np.array([boot[keys[i]][0] for i in members])
            t_star = np.column_stack([boot[keys[i]][1] for i in members])
            table.loc[members, "p_value_romano_wolf"] = romano_wolf(t_obs, t_star)
    return table
