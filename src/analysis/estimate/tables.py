"""Every table of the estimate stage, computed from the panel and the study in one pure call.

:func:`analyse` is what :func:`analysis.stages.estimate.estimate_stage` writes to ``tables/``:
the impact table (study outcomes, then the women-respondent twins of the participation
outcomes, then the family indices), its inference table, the index weights, a catalogue of the
outcomes, and the design checks (balance, attrition, Lee bounds, MDE), the Alkire–Foster index
across the goals and the income conventions. README.md, section "Tables", documents every
column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd
from pandas.api.types import is_string_dtype

from analysis.errors import EstimationError, StudyError
from analysis.estimate.attrition import attrition_table, lee_bounds_table
from analysis.estimate.balance import balance_table
from analysis.estimate.deprivation import deprivation_table
from analysis.estimate.family_indices import WEIGHT_COLUMNS, build_family_indices
from analysis.estimate.inference import InferenceOptions, impact_inference
from analysis.estimate.mde import mde_table
from analysis.estimate.regressions import (
    Design,
    HouseholdSample,
    designs_for,
    estimate_designs,
    measured_in,
)
from analysis.estimate.women import women_outcomes
from analysis.inputs.study import OutcomeSpec, Study
from analysis.methods.few_clusters import inference_gap
from analysis.shared.run_warnings import RunWarning

CATALOGUE_COLUMNS: tuple[str, ...] = (
    "outcome",
    "kind",
    "family",
    "q_group",
    "direction",
    "main",
    "label",
    "based_on",
)


@dataclass(frozen=True)
class ImpactTables:
    """The tables of the estimate stage (file names in parentheses)."""

    impact: pd.DataFrame  # impact.csv (contract columns) and impact_detail.csv (+ note)
    inference: pd.DataFrame  # impact_inference.csv
    index_weights: pd.DataFrame  # index_weights.csv
    outcomes: pd.DataFrame  # outcomes.csv
    balance: pd.DataFrame  # balance.csv
    attrition: pd.DataFrame  # attrition.csv
    lee_bounds: pd.DataFrame  # lee_bounds.csv
    mde: pd.DataFrame  # mde.csv
    alkire_foster: pd.DataFrame  # alkire_foster.csv
    income_conventions: pd.DataFrame  # income_conventions.csv
    warnings: list[RunWarning] = field(default_factory=list)  # warnings.csv (with the earlier stages')


def income_conventions(study: Study) -> pd.DataFrame:
    """The income and poverty conventions of the constructed indicators, for the report."""
    base, follow = study.rounds["baseline"], study.rounds["followup"]
    income = study.income
    rows = [
        ("income_total", "sum of the income components, monthly; missing when any component is missing", ""),
        ("income_pc", "income_total / household size (Rp per person per month)", ""),
        (
            "income_ae",
            "income_total / OECD-modified adult equivalents, 1 + 0.5·(members 14+ − 1) + 0.3·children",
            "",
        ),
        (
            "income_pc_real",
            "income_pc × CPI_baseline / CPI_round (baseline prices)",
            f"CPI baseline {base.cpi if base.cpi is not None else 'not given'}, "
            f"follow-up {follow.cpi if follow.cpi is not None else 'not given'}",
        ),
        (
            "income_pc_w99",
            f"income_pc winsorized above its {income.winsor_quantile:g} quantile, per round on the "
            "pooled arms (numpy 'linear' percentile)",
            "unwinsorized income_pc is kept for the robustness check",
        ),
        ("income_pc_ihs", "asinh(income_pc in Rp '000)", "effects depend on the unit; report levels too"),
        (
            "poor",
            "income_pc_real below the poverty line (a person exactly at the line is not poor)",
            (
                f"line Rp {income.poverty_line:,.0f} per person per month: {income.poverty_line_source}. "
                "BPS defines poverty on consumption, so this is an income-based proxy"
                if income.poverty_line is not None
                else "no poverty line: `poor` is not built"
            ),
        ),
    ]
    return pd.DataFrame(rows, columns=["indicator", "definition", "note"])


def respondent_sex_column(study: Study) -> str | None:
    """The codebook variable with role ``respondent_sex``, when the study has a codebook."""
    if study.codebook is None:
        return None
    from analysis.inputs.codebook import read_codebook

    named = read_codebook(study.codebook).by_role("respondent_sex")
    return named[0].name if named else None


def _baseline_variables(
    panel: pd.DataFrame, outcomes: Sequence[OutcomeSpec], covariates: Sequence[str]
) -> list[tuple[str, str]]:
    pairs = [
        (o.name, o.columns["baseline"])
        for o in outcomes
        if "baseline" in o.columns and measured_in(panel, o, "baseline")
    ]
    pairs += [(c, c) for c in covariates if c not in {name for name, _ in pairs}]
    return pairs


def check_both_arms(panel: pd.DataFrame, study: Study) -> None:
    """Raise a one-line :class:`EstimationError` unless the sample has households in both arms.

    Every estimate compares the arms; with one arm (every household treated, or none) the
    regressions are collinear and statsmodels fails deep inside, so the user is told here which
    column to check instead.
    """
    rows = panel.loc[panel["in_sample"].astype(bool)]
    households = rows.drop_duplicates("hh")["treatment"]
    treated, comparison = int((households == 1).sum()), int((households == 0).sum())
    if treated and comparison:
        return
    missing = int(households.isna().sum())
    raise EstimationError(
        f"{study.path.name}: treatment column `{study.treatment}` has only one arm after cleaning: "
        f"{treated} households with 1 (programme), {comparison} with 0 (comparison)"
        + (f", {missing} missing" if missing else "")
        + "; an impact needs both, so check that column (and the village list's arm column) "
        "codes programme households 1 and comparison households 0"
    )


def cluster_warnings(panel: pd.DataFrame, study: Study, *, clustered: bool) -> list[RunWarning]:
    """The run warning when the sample has one cluster, or one cluster in an arm.

    Each estimate's own sample is checked again when it is fitted (its note in
    ``impact_detail.csv`` then says why it has no standard error); this is the one line that
    tells the reader of the reports, whatever the standard-error choice (``vcov``).
    """
    if not clustered:
        return []
    rows = panel.loc[panel["in_sample"].astype(bool) & panel["treatment"].isin([0.0, 1.0])]
    rows = rows.dropna(subset=["cluster"])
    code, _ = inference_gap(rows["cluster"], rows["treatment"])
    if not code or (code == "one_cluster" and study.vcov not in ("auto", "CR1")):
        # With every household in one village, treatment can only vary within it, and the
        # unclustered HC1 or iid errors the study chose are then the ones to use.
        return []
    n_treated = int(rows.loc[rows["treatment"] == 1, "cluster"].nunique())
    n_comparison = int(rows.loc[rows["treatment"] == 0, "cluster"].nunique())
    column = study.cluster_column
    found, why, fix = {
        "one_cluster": (
            f"Every household is in a single cluster (`{column}`)",
            "a clustered standard error needs at least 2 clusters",
            "cluster by a finer unit in the study file (`cluster`) or add villages",
        ),
        "one_treated_cluster": (
            f"Only 1 programme cluster (`{column}`), against {n_comparison} comparison clusters",
            "with one treated cluster no standard error or wild-bootstrap p-value is reliable",
            "add programme villages",
        ),
        "one_control_cluster": (
            f"Only 1 comparison cluster (`{column}`), against {n_treated} programme clusters",
            "with one comparison cluster no standard error or wild-bootstrap p-value is reliable",
            "add comparison villages",
        ),
    }[code]
    if study.vcov in ("auto", "CR1"):
        consequence = (
            "so impact.csv leaves standard errors, p-values and confidence intervals empty and no "
            "wild-bootstrap or randomization p-value is computed"
        )
    else:
        consequence = (
            f"and the {study.vcov} standard errors the study asks for (`vcov`) treat households as "
            "independent, so they are not reliable either"
        )
    return [
        RunWarning(
            stage="estimate",
            code=code,
            message=(
                f"{found}: {why}, {consequence}. Read the estimates as a description of the "
                f"villages surveyed, not as a tested effect, or {fix}."
            ),
        )
    ]


#: Text columns coded once as categoricals: the household, cluster, stratum and village ids, the
#: round and the linkage status.
CODED_COLUMNS: tuple[str, ...] = ("hh", "cluster", "strata", "village", "round", "linkage")


def text_columns_read(study: Study, *, sex_column: str | None = None) -> set[str]:
    """The panel's text columns that an estimate may read (every other column is a number).

    The coded columns, the outcomes' columns (an outcome may be stored as text and read as a
    number), the covariates and the respondent's sex.
    """
    keep = {*CODED_COLUMNS, *study.covariates}
    keep |= {column for outcome in study.outcomes for column in outcome.columns.values()}
    if sex_column is not None:
        keep.add(sex_column)
    return keep


def estimation_panel(panel: pd.DataFrame, study: Study, *, sex_column: str | None = None) -> pd.DataFrame:
    """The panel as the estimators read it: the text columns they use, the ids coded once.

    At national scale the panel has hundreds of thousands of rows and dozens of text columns
    (raw answers, missing-value reasons, names) that no estimate reads, and every row selection
    copied them all, for each of some 250 regressions. Those columns are left out (numeric
    columns are kept: they are cheap and any may be an outcome). The ids, the round and the
    linkage status (:data:`CODED_COLUMNS`) become categoricals whose categories are the sorted
    labels, so selecting rows moves integer codes instead of text and comparing, grouping or
    factorizing them is immediate; their labels, order and missing values are those of the text.
    """
    keep = text_columns_read(study, sex_column=sex_column)
    columns = [
        c for c in panel.columns if c in keep or not (is_string_dtype(panel[c]) or panel[c].dtype == object)
    ]
    slim = panel[columns]  # a copy on write: the caller's panel is never changed
    for name in CODED_COLUMNS:
        if name in slim.columns and is_string_dtype(slim[name]):
            codes, labels = pd.factorize(slim[name], sort=True)
            slim[name] = pd.Categorical.from_codes(codes, categories=labels)
    return slim


def analyse(panel: pd.DataFrame, study: Study, *, sex_column: str | None = None) -> ImpactTables:
    """Compute every table of the estimate stage.

    Parameters
    ----------
    panel
        The constructed long panel.
    study
        The study (options, outcomes, covariates).
    sex_column
        Panel column of the respondent's sex (codebook role ``respondent_sex``); None skips the
        women-respondent estimates. :func:`analysis.stages.estimate.estimate_stage` reads it from
        the codebook.

    Returns
    -------
    ImpactTables
        With a run warning (``one_cluster``, ``one_treated_cluster`` or ``one_control_cluster``)
        when the sample has one cluster, or one cluster in an arm: the estimates are still
        given, their inference is not (see :func:`analysis.methods.few_clusters.inference_gap`).

    Raises
    ------
    EstimationError
        When every in-sample household is in the same arm (:func:`check_both_arms`).
    """
    missing = [c for c in study.covariates if c not in panel.columns]
    if missing:
        raise StudyError(f"{study.path.name}: covariates not found in the panel: {', '.join(missing)}")
    clustered = study.cluster_column is not None and bool(panel["cluster"].notna().any())
    covariates = tuple(study.covariates)
    check_both_arms(panel, study)
    warnings = cluster_warnings(panel, study, clustered=clustered)
    panel = estimation_panel(panel, study, sex_column=sex_column)

    women_cols = pd.DataFrame(index=panel.index)
    women_specs: tuple[OutcomeSpec, ...] = ()
    if sex_column is not None and study.women_subsample:
        women_cols, women_specs = women_outcomes(panel, study.outcomes, sex_column=sex_column)
    work = panel.join(women_cols) if len(women_cols.columns) else panel
    base_outcomes = (*study.outcomes, *women_specs)
    indices = build_family_indices(work, base_outcomes) if study.family_indices else None
    if indices is not None and len(indices.columns.columns):
        work = work.join(indices.columns)
    index_specs: tuple[OutcomeSpec, ...] = indices.outcomes if indices is not None else ()
    all_outcomes = (*base_outcomes, *index_specs)

    designs: list[Design] = []
    households = HouseholdSample.of(work)
    for outcome in all_outcomes:
        designs += designs_for(
            work,
            outcome,
            clustered=clustered,
            covariates=covariates,
            did_form=study.did_fixed_effects,
            households=households,
        )
    impact = estimate_designs(designs, vcov=study.vcov)

    kinds = {o.name: "outcome" for o in study.outcomes}
    kinds |= {o.name: "women" for o in women_specs}
    kinds |= {o.name: "index_" + o.name.split("_")[1] for o in index_specs}
    q_groups = {o.name: o.family or "(no family)" for o in base_outcomes}
    q_groups |= {o.name: f"indices_{kinds[o.name].split('_')[1]}" for o in index_specs}
    families = {o.name: o.family or "" for o in all_outcomes}
    options = InferenceOptions(
        wild_below=study.wild_bootstrap_below,
        reps=study.wild_bootstrap_reps,
        seed=study.seed,
        crv3="CRV3" in study.vcov_extra,
        ri="RI" in study.vcov_extra,
        romano_wolf=study.romano_wolf,
    )
    inference = impact_inference(
        designs, impact, q_groups=q_groups, families=families, clustered=clustered, options=options
    )

    main = [o for o in study.outcomes if o.name in study.main_outcomes]
    catalogue = pd.DataFrame(
        [
            {
                "outcome": o.name,
                "kind": kinds[o.name],
                "family": o.family or "",
                "q_group": q_groups[o.name],
                "direction": o.direction,
                "main": o.name in study.main_outcomes,
                "label": o.label or "",
                "based_on": (
                    o.name.removesuffix("_women")
                    if kinds[o.name] == "women"
                    else " ".join(
                        indices.weights.loc[
                            (indices.weights["family"] == o.family)
                            & (indices.weights["index"] == kinds[o.name].split("_")[1])
                            & indices.weights["included"].astype(bool),
                            "component",
                        ]
                    )
                    if indices is not None and kinds[o.name].startswith("index")
                    else ""
                ),
            }
            for o in all_outcomes
        ],
        columns=list(CATALOGUE_COLUMNS),
    )

    balance = balance_table(
        work,
        _baseline_variables(work, study.outcomes, covariates),
        clustered=clustered,
        vcov=study.vcov,
        ri_reps=study.design_test_reps,
        ri_below=study.design_test_ri_below,
        seed=study.seed,
    )
    attrition = attrition_table(
        work,
        controls=_baseline_variables(work, main, covariates),
        clustered=clustered,
        vcov=study.vcov,
        ri_reps=study.design_test_reps,
        ri_below=study.design_test_ri_below,
        seed=study.seed,
    )
    lee = lee_bounds_table(work, main, clustered=clustered, reps=study.lee_bounds_reps, seed=study.seed)
    mde = mde_table(
        work,
        (*study.outcomes, *index_specs),
        clustered=clustered,
        alpha=study.power_alpha,
        power=study.power_target,
    )
    af = study.alkire_foster
    deprivation = deprivation_table(work, study.outcomes, families=af.families, k=af.k, cutoffs=af.cutoffs)
    weights = indices.weights if indices is not None else pd.DataFrame(columns=list(WEIGHT_COLUMNS))
    return ImpactTables(
        impact=impact,
        inference=inference,
        index_weights=weights,
        outcomes=catalogue,
        balance=balance,
        attrition=attrition,
        lee_bounds=lee,
        mde=mde,
        alkire_foster=deprivation,
        income_conventions=income_conventions(study),
        warnings=warnings,
    )
