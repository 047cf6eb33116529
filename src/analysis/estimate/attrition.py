"""Attrition: who was not found again, whether that differs by arm, and bounds (docs/methods.md §5).

:func:`attrition_table` reports, on the baseline households of the estimation sample (attrited =
linkage ``baseline_only``):

- ``rate``: households at baseline, attrited and the attrition rate, by arm and overall;
- ``differential_rate`` (test a): ``A ~ 1 + T (+ strata FE)``; the T coefficient is the
  difference in attrition rates, with the study's standard errors (CR1 by village);
- ``differential_composition`` (test b): ``A ~ 1 + T + X0 + T×X0 (+ strata FE)`` with X0 the
  baseline values of the main outcomes and the covariates (missing set to 0 plus a missing
  dummy); joint F test of the T×X0 terms, F(q, G − 1), and, with village clusters, the
  randomization p-value of the same F statistic (``p_value_ri``; re-drawn village assignments
  within strata), which keeps its size when q is not small next to the number of villages.

Balance among stayers (test c) is the ``panel`` sample of ``tables/balance.csv``. With a single
village, or a single village in either arm, the tests report no standard error or p-value and
say why in ``note`` (:func:`analysis.methods.few_clusters.inference_gap`); the rates are still given.

:func:`lee_bounds_table` gives Lee (2009) bounds on the follow-up effect of each main outcome,
treating a household as observed when it was found at follow-up and answered the outcome, with
a bootstrap that resamples villages and the Imbens–Manski 95 % interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import EstimationError
from analysis.estimate.regressions import fit_ols, strata_dummies, wald_test
from analysis.inputs.study import OutcomeSpec, VcovChoice
from analysis.methods.few_clusters import inference_gap, randomization_skipped, randomization_wald
from analysis.methods.lee_bounds import lee_bounds

ATTRITION_COLUMNS: tuple[str, ...] = (
    "test",
    "arm",
    "n_baseline",
    "n_attrited",
    "rate",
    "estimate",
    "std_error",
    "f_stat",
    "df_num",
    "df_denom",
    "p_value",
    "p_value_ri",
    "ri_assignments",
    "n_obs",
    "n_clusters",
    "variables",
    "note",
)

LEE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "lower",
    "upper",
    "ci_low",
    "ci_high",
    "ci_level",
    "trimmed_arm",
    "trim_share",
    "q_treated",
    "q_comparison",
    "se_lower",
    "se_upper",
    "n_boot",
    "n_assigned",
    "n_observed",
    "note",
)


def baseline_households(panel: pd.DataFrame) -> pd.DataFrame:
    """In-sample baseline rows with ``attrited`` (1 when not found at follow-up)."""
    base = panel.loc[panel["in_sample"] & (panel["round"] == "baseline")].copy()
    base["attrited"] = (base["linkage"] == "baseline_only").astype(float)
    return base.reset_index(drop=True)


def _empty(test: str) -> dict[str, object]:
    row: dict[str, object] = {c: np.nan for c in ATTRITION_COLUMNS}
    row.update(test=test, arm="", variables="", note="")
    return row


def attrition_table(
    panel: pd.DataFrame,
    *,
    controls: Sequence[tuple[str, str]],
    clustered: bool,
    vcov: VcovChoice = "auto",
    strata_fe: bool = True,
    ri_reps: int = 999,
    ri_below: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Attrition rates by arm and the differential-rate and differential-composition tests.

    Parameters
    ----------
    panel
        The long panel (with ``linkage``).
    controls
        ``(name, baseline column)`` pairs forming X0 of the composition test.
    clustered
        Cluster standard errors by the panel's ``cluster`` column.
    vcov
        The study's standard-error choice.
    strata_fe
        Include strata fixed effects.
    ri_reps
        Re-drawn assignments for the randomization p-value of the composition test (0: none).
    ri_below
        Compute that p-value only with fewer clusters than this (see
        :func:`analysis.methods.few_clusters.randomization_skipped`).
    seed
        Seed of those draws.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ATTRITION_COLUMNS`, one row per arm for ``rate`` and one per test.
    """
    base = baseline_households(panel).dropna(subset=["treatment"])
    rows: list[dict[str, object]] = []
    for arm, label in ((0.0, "comparison"), (1.0, "treatment"), (None, "all")):
        part = base if arm is None else base.loc[base["treatment"] == arm]
        row = _empty("rate")
        row.update(
            arm=label,
            n_baseline=len(part),
            n_attrited=int(part["attrited"].sum()),
            rate=float(part["attrited"].mean()) if len(part) else np.nan,
        )
        rows.append(row)

    if base["attrited"].nunique() < 2:
        # Nobody (or everybody, as in repeated cross-sections) was lost: nothing to test.
        for name in ("differential_rate", "differential_composition"):
            row = _empty(name)
            row["note"] = "attrition does not vary: no test"
            rows.append(row)
        return pd.DataFrame(rows, columns=list(ATTRITION_COLUMNS))
    clusters = base["cluster"] if clustered else None
    X = pd.DataFrame({"const": 1.0, "treatment": base["treatment"].astype(float)}, index=base.index)
    absorb = base["strata"] if strata_fe else None
    row = _empty("differential_rate")
    try:
        fit = fit_ols(
            base["attrited"],
            X,
            clusters=clusters,
            weights=base["weight"],
            absorb=absorb,
            se=vcov,
            arms=base["treatment"],
        )
        row.update(
            estimate=float(fit.params["treatment"]),
            std_error=float(fit.bse["treatment"]),
            p_value=float(fit.pvalues["treatment"]),
            n_obs=fit.nobs,
            n_clusters=np.nan if fit.n_clusters is None else fit.n_clusters,
            note=fit.note,
        )
    except EstimationError as exc:
        row["note"] = str(exc)
    rows.append(row)

    row = _empty("differential_composition")
    X0 = pd.DataFrame(index=base.index)
    names = []
    for name, column in controls:
        if column not in base.columns or name in names:
            continue
        values = pd.to_numeric(base[column], errors="coerce")
        missing = values.isna()
        if missing.all() or values.nunique() < 2:
            continue
        names.append(name)
        X0[name] = values.fillna(0.0)
        if missing.any():
            X0[f"{name}_missing"] = missing.astype(float)
    interactions = [f"treatment_x_{c}" for c in X0.columns]
    design = X.join(X0)
    for column in X0.columns:
        design[f"treatment_x_{column}"] = X0[column] * X["treatment"]
    row["variables"] = " ".join(names)
    _, gap = inference_gap(clusters, base["treatment"]) if vcov in ("auto", "CR1") else ("", "")
    if not interactions:
        row["note"] = "no baseline variable to test"
    elif gap:
        # The test is only a joint F test (and its re-drawn assignments): with one cluster in an
        # arm neither exists, so there is nothing to report but the reason.
        row.update(n_obs=len(base), n_clusters=int(base["cluster"].nunique()), note=gap)
    else:
        try:
            fit = fit_ols(
                base["attrited"], design, clusters=clusters, weights=base["weight"], absorb=absorb, se=vcov
            )
            test = wald_test(fit, interactions)
            skipped = (
                randomization_skipped(int(base["cluster"].nunique()), below=ri_below) if clustered else ""
            )
            ri: dict[str, object] = {"note": skipped} if skipped else {}
            if clustered and ri_reps > 0 and not skipped:
                # The randomization test refits with every re-drawn assignment: give it the dummies.
                full = X.join(strata_dummies(base["strata"], strata_fe=strata_fe))
                ri = _composition_ri(base, full, X0, ri_reps=ri_reps, seed=seed)
            row.update(
                f_stat=test.f_stat,
                df_num=test.df_num,
                df_denom=test.df_denom,
                p_value=test.p_value,
                n_obs=fit.nobs,
                n_clusters=np.nan if fit.n_clusters is None else fit.n_clusters,
                p_value_ri=ri.get("p_value_ri", np.nan),
                ri_assignments=ri.get("ri_assignments", np.nan),
                note="; ".join(str(n) for n in (test.note, ri.get("note", "")) if n),
            )
        except EstimationError as exc:
            row["note"] = str(exc)
    rows.append(row)
    return pd.DataFrame(rows, columns=list(ATTRITION_COLUMNS))


def _composition_ri(
    base: pd.DataFrame, X: pd.DataFrame, X0: pd.DataFrame, *, ri_reps: int, seed: int
) -> dict[str, object]:
    """Randomization p-value of the composition F test (treatment re-drawn by village)."""
    fixed = X.drop(columns="treatment").to_numpy(dtype=float)
    controls = X0.to_numpy(dtype=float)
    y = base["attrited"].to_numpy(dtype=float)
    root = np.sqrt(base["weight"].to_numpy(dtype=float)) if base["weight"].nunique() > 1 else None
    k_fixed, k0 = fixed.shape[1], controls.shape[1]
    terms = list(range(k_fixed + 1 + k0, k_fixed + 1 + 2 * k0))

    def design(treat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        full = np.column_stack([fixed, treat, controls, controls * treat[:, None]])
        if root is None:
            return y, full
        return y * root, full * root[:, None]

    strata = base["strata"]
    try:
        ri = randomization_wald(
            design,
            treatment=base["treatment"].to_numpy(dtype=float),
            clusters=base["cluster"].astype(str).to_numpy(),
            terms=terms,
            strata=None if strata.isna().any() else strata.astype(str).to_numpy(),
            reps=ri_reps,
            seed=seed,
        )
    except EstimationError as exc:
        return {"note": f"randomization test: {exc}"}
    return {"p_value_ri": ri.p_value, "ri_assignments": ri.n_assignments}


def _or_nan(value: float | None) -> float:
    """A bootstrap statistic, NaN when there was no bootstrap (so the column stays numeric)."""
    return np.nan if value is None else float(value)


def lee_bounds_table(
    panel: pd.DataFrame,
    outcomes: Sequence[OutcomeSpec],
    *,
    clustered: bool,
    reps: int,
    seed: int,
) -> pd.DataFrame:
    """Lee bounds on the follow-up effect of each outcome measured at follow-up.

    Parameters
    ----------
    panel
        The long panel.
    outcomes
        The outcomes to bound (the study's main outcomes).
    clustered
        Resample villages (else households) in the bootstrap.
    reps
        Bootstrap draws (none, and no interval, with a single village or a single village in
        either arm; ``note`` then says why).
    seed
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`LEE_COLUMNS`, one row per outcome.
    """
    base = baseline_households(panel).dropna(subset=["treatment"])
    follow = panel.loc[panel["in_sample"] & (panel["round"] == "followup")].set_index("hh")
    # A village bootstrap with one village (or one in an arm) redraws that village every time
    # or leaves the arm out: its interval would look precise and mean nothing. The bounds
    # themselves are still computed; the interval is not.
    _, gap = inference_gap(base["cluster"], base["treatment"]) if clustered else ("", "")
    rows = []
    for outcome in outcomes:
        row: dict[str, object] = {c: np.nan for c in LEE_COLUMNS}
        row.update(outcome=outcome.name, trimmed_arm="", note="")
        column = outcome.columns.get("followup")
        if column is None or column not in follow.columns:
            row["note"] = "not measured at follow-up"
            rows.append(row)
            continue
        y = pd.to_numeric(follow[column], errors="coerce").reindex(base["hh"]).to_numpy()
        observed = ((base["linkage"] == "panel").to_numpy() & np.isfinite(y)).astype(float)
        try:
            result = lee_bounds(
                np.where(observed == 1, y, np.nan),
                base["treatment"].to_numpy(dtype=float),
                observed,
                clusters=base["cluster"].to_numpy() if clustered else None,
                reps=0 if gap else reps,
                seed=seed,
            )
        except EstimationError as exc:
            row["note"] = str(exc)
            rows.append(row)
            continue
        row.update(
            lower=result.lower,
            upper=result.upper,
            ci_low=_or_nan(result.ci_low),
            ci_high=_or_nan(result.ci_high),
            ci_level=result.ci_level,
            trimmed_arm=result.trimmed_arm,
            trim_share=result.trim_share,
            q_treated=result.q_treated,
            q_comparison=result.q_control,
            se_lower=_or_nan(result.se_lower),
            se_upper=_or_nan(result.se_upper),
            n_boot=result.n_boot,
            n_assigned=len(base),
            n_observed=int(observed.sum()),
            note=gap,
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(LEE_COLUMNS))
