"""Baseline balance between the arms, in the manner of Stata's ``iebaltab`` (World Bank ietoolkit).

:func:`balance_table` compares the baseline value of every outcome and covariate across arms,
twice: on every baseline household (the randomized sample) and on the households found again
at follow-up (balance among stayers, attrition test (c) of docs/methods.md §5.1). For each variable:

- N, mean and SD in each arm (weighted by the survey weights when they vary; SD with the
  n − 1 correction);
- the difference: the treatment coefficient of ``x ~ 1 + T (+ strata FE)``, with the study's
  standard errors (CR1 by village) and its p-value from t(G − 1);
- the normalized difference ``(mean_T − mean_C) / sqrt((SD_T² + SD_C²) / 2)`` (Imbens & Rubin;
  iebaltab's ``nrmd``), which does not grow with the sample;

and per sample one joint orthogonality test: ``T ~ 1 + x_1 + … + x_K (+ strata FE)`` on
households with every variable present, F test that all x coefficients are zero with the same
standard errors, F(K, G − 1) as Stata's ``test`` after a clustered ``regress``. With village
clusters that F test is unreliable when K is not small next to G (its covariance matrix has
rank at most G − 1, and it rejects far too often), so the same F statistic is also referred to
its randomization distribution (re-drawn village assignments within strata,
:func:`analysis.methods.few_clusters.randomization_wald`): ``p_value_ri``, the p-value to read. A
variable that is constant or an exact linear combination of the others (a score and its items)
is left out of the joint test and named in its note. With a single village (or a single village
in either arm) no standard error, p-value or joint test is reported, and the note says why
(:func:`analysis.methods.few_clusters.inference_gap`); the means, SDs and differences still are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import EstimationError
from analysis.estimate.regressions import fit_ols, redundant_column, strata_dummies, wald_test
from analysis.inputs.study import VcovChoice
from analysis.methods.few_clusters import inference_gap, randomization_skipped, randomization_wald

BALANCE_COLUMNS: tuple[str, ...] = (
    "sample",
    "row_type",
    "variable",
    "n_treatment",
    "mean_treatment",
    "sd_treatment",
    "n_comparison",
    "mean_comparison",
    "sd_comparison",
    "difference",
    "std_error",
    "p_value",
    "normalized_difference",
    "f_stat",
    "df_num",
    "df_denom",
    "p_value_ri",
    "ri_assignments",
    "n_obs",
    "n_clusters",
    "note",
)


def weighted_mean_sd(values: pd.Series, weights: pd.Series | None = None) -> tuple[float, float]:
    """Mean and SD of ``values``; with weights, analytic-weight versions.

    Without weights (or equal weights) these are the plain mean and the n − 1 SD. With
    weights ``w``: mean ``Σwx/Σw`` and variance ``Σw(x − mean)²/Σw · n/(n − 1)``, which reduces
    to the plain ones when all weights are equal.
    """
    x = values.to_numpy(dtype=float)
    n = len(x)
    if n == 0:
        return np.nan, np.nan
    w = np.ones(n) if weights is None else weights.to_numpy(dtype=float)
    mean = float(np.sum(w * x) / np.sum(w))
    if n < 2:
        return mean, np.nan
    var = float(np.sum(w * (x - mean) ** 2) / np.sum(w) * n / (n - 1))
    return mean, float(np.sqrt(var))


def _variable_row(
    frame: pd.DataFrame, variable: str, *, clustered: bool, vcov: VcovChoice, strata_fe: bool
) -> dict[str, object]:
    # Only the columns this row uses: the frame holds every variable of the table.
    used = frame[["treatment", "cluster", "strata", "weight", variable]]
    data = used.dropna(subset=[variable, "treatment"])
    row: dict[str, object] = {c: np.nan for c in BALANCE_COLUMNS}
    row.update(row_type="variable", variable=variable, note="")
    weights = data["weight"] if data["weight"].nunique() > 1 else None
    for arm, label in ((1.0, "treatment"), (0.0, "comparison")):
        part = data.loc[data["treatment"] == arm]
        mean, sd = weighted_mean_sd(part[variable], None if weights is None else part["weight"])
        row[f"n_{label}"] = len(part)
        row[f"mean_{label}"], row[f"sd_{label}"] = mean, sd
    sd_t, sd_c = float(row["sd_treatment"]), float(row["sd_comparison"])  # type: ignore[arg-type]
    pooled = np.sqrt((sd_t**2 + sd_c**2) / 2)
    if np.isfinite(pooled) and pooled > 0:
        row["normalized_difference"] = (float(row["mean_treatment"]) - float(row["mean_comparison"])) / pooled  # type: ignore[arg-type]
    X = pd.DataFrame({"const": 1.0, "treatment": data["treatment"].astype(float)}, index=data.index)
    try:
        fit = fit_ols(
            data[variable].astype(float),
            X,
            clusters=data["cluster"] if clustered else None,
            weights=data["weight"],
            absorb=data["strata"] if strata_fe else None,
            se=vcov,
            arms=data["treatment"],
        )
    except EstimationError as exc:
        row["note"] = str(exc)
        return row
    row.update(
        difference=float(fit.params["treatment"]),
        std_error=float(fit.bse["treatment"]),
        p_value=float(fit.pvalues["treatment"]),
        n_obs=fit.nobs,
        n_clusters=np.nan if fit.n_clusters is None else fit.n_clusters,
        note=fit.note,
    )
    return row


def _joint_row(
    frame: pd.DataFrame,
    variables: Sequence[str],
    *,
    clustered: bool,
    vcov: VcovChoice,
    strata_fe: bool,
    ri_reps: int,
    ri_below: int,
    seed: int,
) -> dict[str, object]:
    row: dict[str, object] = {c: np.nan for c in BALANCE_COLUMNS}
    row.update(row_type="joint_test", variable="joint_orthogonality", note="")
    data = frame.dropna(subset=[*variables, "treatment"])
    notes: list[str] = []
    kept = [v for v in variables if data[v].nunique() > 1]
    if len(kept) < len(variables):
        notes.append("constant, left out: " + ", ".join(v for v in variables if v not in kept))
    dropped: list[str] = []
    while len(kept) >= 2 and (name := redundant_column(data[kept])) is not None:
        kept.remove(name)
        dropped.append(name)
    if dropped:
        notes.append("exact linear combinations of the others, left out: " + ", ".join(dropped))
    if not kept:
        row["note"] = "; ".join(notes + ["no variable to test"])
        return row
    _, gap = (
        inference_gap(data["cluster"], data["treatment"])
        if clustered and vcov in ("auto", "CR1")
        else ("", "")
    )
    if gap:
        # Neither the clustered F test nor re-drawing the assignment can say anything with one
        # cluster in an arm (only as many assignments as clusters): report no test.
        row.update(n_obs=len(data), n_clusters=int(data["cluster"].nunique()), note="; ".join([*notes, gap]))
        return row
    X = pd.DataFrame({"const": 1.0}, index=data.index).join(data[kept].astype(float))
    try:
        fit = fit_ols(
            data["treatment"].astype(float),
            X,
            clusters=data["cluster"] if clustered else None,
            weights=data["weight"],
            absorb=data["strata"] if strata_fe else None,
            se=vcov,
        )
    except EstimationError as exc:
        row["note"] = "; ".join([*notes, str(exc)])
        return row
    test = wald_test(fit, kept)
    if test.note:
        notes.append(test.note)
    skipped = randomization_skipped(int(data["cluster"].nunique()), below=ri_below) if clustered else ""
    if skipped:
        notes.append(skipped)
    elif clustered and ri_reps > 0:
        # The randomization test refits with every re-drawn assignment: give it the dummies.
        X = X.join(strata_dummies(data["strata"], strata_fe=strata_fe))
        positions = [list(X.columns).index(v) for v in kept]
        root = np.sqrt(data["weight"].to_numpy(dtype=float)) if data["weight"].nunique() > 1 else None
        Xv = X.to_numpy(dtype=float)

        def design(treat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if root is None:
                return treat, Xv
            return treat * root, Xv * root[:, None]

        try:
            ri = randomization_wald(
                design,
                treatment=data["treatment"].to_numpy(dtype=float),
                clusters=data["cluster"].astype(str).to_numpy(),
                terms=positions,
                strata=None if data["strata"].isna().any() else data["strata"].astype(str).to_numpy(),
                reps=ri_reps,
                seed=seed,
            )
            row.update(p_value_ri=ri.p_value, ri_assignments=ri.n_assignments)
        except EstimationError as exc:
            notes.append(f"randomization test: {exc}")
    row.update(
        f_stat=test.f_stat,
        df_num=test.df_num,
        df_denom=test.df_denom,
        p_value=test.p_value,
        n_obs=fit.nobs,
        n_clusters=np.nan if fit.n_clusters is None else fit.n_clusters,
        note="; ".join(notes),
    )
    return row


def balance_table(
    panel: pd.DataFrame,
    variables: Sequence[tuple[str, str]],
    *,
    clustered: bool,
    vcov: VcovChoice = "auto",
    strata_fe: bool = True,
    ri_reps: int = 999,
    ri_below: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Baseline balance by arm, per variable and jointly (see the module docstring).

    Parameters
    ----------
    panel
        The long panel.
    variables
        ``(name, baseline column)`` pairs: the name shown in the table and the panel column
        holding its baseline value.
    clustered
        Cluster standard errors by the panel's ``cluster`` column.
    vcov
        The study's standard-error choice.
    strata_fe
        Include strata fixed effects in the difference and joint regressions.
    ri_reps
        Re-drawn assignments for the randomization p-value of the joint test (0: none).
    ri_below
        Compute that p-value only with fewer clusters than this (see
        :func:`analysis.methods.few_clusters.randomization_skipped`).
    seed
        Seed of those draws.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BALANCE_COLUMNS`; for each sample (``baseline``, ``panel``) one row per
        variable and a final ``joint_test`` row.
    """
    base = panel.loc[panel["in_sample"] & (panel["round"] == "baseline")]
    frame = base[["hh", "treatment", "cluster", "strata", "weight", "linkage"]].copy()
    names: list[str] = []
    for name, column in variables:
        if column in base.columns and name not in names:
            frame[name] = pd.to_numeric(base[column], errors="coerce")
            names.append(name)
    rows: list[dict[str, object]] = []
    for sample, rows_of in (("baseline", frame), ("panel", frame.loc[frame["linkage"] == "panel"])):
        if rows_of.empty:
            continue
        for name in names:
            rows.append(
                {
                    **_variable_row(rows_of, name, clustered=clustered, vcov=vcov, strata_fe=strata_fe),
                    "sample": sample,
                }
            )
        rows.append(
            {
                **_joint_row(
                    rows_of,
                    names,
                    clustered=clustered,
                    vcov=vcov,
                    strata_fe=strata_fe,
                    ri_reps=ri_reps,
                    ri_below=ri_below,
                    seed=seed,
                ),
                "sample": sample,
            }
        )
    return pd.DataFrame(rows, columns=list(BALANCE_COLUMNS))
