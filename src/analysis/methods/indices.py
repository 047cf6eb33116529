"""Summary indices of several outcome components (docs/methods.md §3).

Two indices are provided, both built from components standardized on a reference
(comparison) group:

- :func:`klk_index`, the Kling–Liebman–Katz (2007) mean-effects index (§3.1);
- :func:`icw_index`, Anderson's (2008) inverse-covariance-weighted index (§3.2).

The functions are pure: they take a frame with one column per component and boolean
row masks aligned with it, and return new objects without touching their inputs.
Treatment effects are left to the estimators; the worked example of §3.3 computes
them as a plain difference of treated and control means.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import pandas as pd

from analysis.errors import EstimationError

CovarianceSample = Literal["pooled", "reference"]
"""Rows used for the covariance matrix of the ICW index (see :func:`icw_index`)."""

CONDITION_NUMBER_WARNING = 100.0
"""Condition number of the covariance matrix above which :func:`icw_index` warns.

In the §3.3 example the pooled matrix has a condition number of about 15 and gives
sensible weights, while the control-only matrix (four rows for three components) has
about 700 and gives weights near ±90. The threshold sits between the two.
"""

# A standard deviation this small relative to the mean is rounding noise around a constant
# (a column of 0.1s has a pandas SD of about 1.7e-17), not real variation.
_RELATIVE_SD_FLOOR = 1e-12


@dataclass(frozen=True)
class IcwResult:
    """Anderson inverse-covariance-weighted index and how it was built.

    Attributes
    ----------
    index
        The index, one value per row of the input; NaN where every component is
        missing.
    weights
        The weights w = 1'Σ̂⁻¹, one per component (oriented, standardized scale).
        Always report them: they can be negative when components are collinear.
    condition_number
        2-norm condition number of Σ̂.
    warnings
        Human-readable warnings (near-singular Σ̂, negative weights, ...); empty when
        nothing looked wrong.
    covariance
        Which rows Σ̂ was computed on, ``"pooled"`` or ``"reference"``.
    rescaled
        Whether the index was rescaled to reference mean 0 and SD 1.
    """

    index: pd.Series
    weights: pd.Series
    condition_number: float
    warnings: tuple[str, ...]
    covariance: CovarianceSample
    rescaled: bool


def standardize(frame: pd.DataFrame, *, reference: pd.Series) -> pd.DataFrame:
    """Z-score every column on the reference rows.

    z_ik = (y_ik − μ_k) / σ_k, where μ_k and σ_k (n − 1 denominator) are computed on the
    non-missing values of column k in the rows where ``reference`` is true
    (docs/methods.md §3.1, step 2).

    Parameters
    ----------
    frame
        One numeric column per component, one row per unit. Missing values are allowed
        and stay missing.
    reference
        Boolean mask aligned with ``frame`` (same index), true for the reference rows,
        typically the comparison group.

    Returns
    -------
    pandas.DataFrame
        A new frame of z-scores with the same index and columns.

    Raises
    ------
    EstimationError
        If no row is a reference row, or a column has zero standard deviation (or fewer
        than two non-missing values) in the reference rows; the message names the
        column.
    ValueError
        If a column is not numeric or ``reference`` is not a boolean mask aligned with
        ``frame``.
    """
    values = _numeric_frame(frame)
    mask = _aligned_mask(reference, frame.index, name="reference")
    if not mask.any():
        raise EstimationError("cannot standardize: 'reference' selects no rows")
    reference_rows = values.loc[mask]
    mean = reference_rows.mean()
    sd = reference_rows.std(ddof=1)
    for column in values.columns:
        n_valid = int(reference_rows[column].notna().sum())
        if n_valid < 2:
            raise EstimationError(
                f"cannot standardize column {column!r}: it has {n_valid} non-missing "
                "value(s) in the reference rows, at least 2 are needed"
            )
        # `not (a > b)` also catches a NaN standard deviation.
        if not sd[column] > _RELATIVE_SD_FLOOR * abs(mean[column]):
            raise EstimationError(
                f"cannot standardize column {column!r}: its standard deviation in the "
                "reference rows is zero (the column is constant there)"
            )
    return (values - mean) / sd


def klk_index(
    frame: pd.DataFrame,
    *,
    reference: pd.Series,
    treated: pd.Series | None = None,
    directions: Mapping[str, int] | None = None,
    groups: pd.Series | None = None,
) -> pd.Series:
    """Kling–Liebman–Katz (2007) mean-effects index (docs/methods.md §3.1).

    Each component is oriented so that higher is better, standardized on the reference
    rows (:func:`standardize`), and the index is the mean of the standardized
    components.

    Missing components are handled by KLK's rule when ``treated`` is given: for a row
    with at least one valid component, each missing component is imputed at the mean of
    that standardized component in the row's own assignment group (treated rows at the
    treated mean, the others at the comparison mean). KLK (2007, appendix) impute "at the
    random assignment group mean"; this keeps the difference of index means equal to the
    mean of the component differences. Without ``treated``, the index is the mean of the
    row's non-missing components. Rows with no valid component are NaN either way.

    Parameters
    ----------
    frame
        One numeric column per component, one row per unit.
    reference
        Boolean mask aligned with ``frame``, true for the rows whose mean and SD define
        the standardization (the baseline or same-round comparison group; document which).
    treated
        Boolean mask aligned with ``frame``, true for treated rows. Turns on KLK's
        imputation of missing components.
    directions
        Component name to ``1`` (higher is better) or ``-1`` (lower is better; the sign is
        flipped before standardizing). Components not listed count as ``1``.
    groups
        Labels aligned with ``frame`` that refine the imputation cells: with ``treated``, a
        missing component is imputed at the mean of the row's (group, arm) cell, e.g. survey
        round × arm when a panel's rounds are stacked. Ignored without ``treated``.

    Returns
    -------
    pandas.Series
        The index, named ``"klk_index"``, in reference-SD units.

    Raises
    ------
    EstimationError
        If standardization fails (see :func:`standardize`) or an assignment group has no
        observed value of a component it needs to impute.
    ValueError
        If ``directions`` names an unknown column or holds a value other than 1 or -1, or
        a mask is not aligned with ``frame``.

    Notes
    -----
    With no missing components, the treated-minus-comparison difference of the index is
    the mean of the standardized component effects (§3.1, step 4).
    """
    z = standardize(_orient(frame, directions), reference=reference)
    has_any = z.notna().any(axis=1)
    if treated is None:
        index = z.mean(axis=1, skipna=True)
    else:
        arm = _aligned_mask(treated, frame.index, name="treated")
        if groups is None:
            cells = pd.Series("", index=frame.index)
        else:
            if not isinstance(groups, pd.Series) or not groups.index.equals(frame.index):
                raise ValueError("'groups' must be a pandas Series aligned with the data")
            if groups.isna().any():
                raise ValueError("'groups' has missing labels")
            cells = groups.astype(str)
        imputed = z.copy()
        for cell in pd.unique(cells):
            in_cell = cells == cell
            for in_arm, label in ((arm, "treated"), (~arm, "comparison")):
                rows = in_arm & has_any & in_cell
                group_means = z.loc[rows].mean()
                where = f" in group {cell!r}" if groups is not None else ""
                for column in z.columns:
                    needs = rows & z[column].isna()
                    if not needs.any():
                        continue
                    if np.isnan(group_means[column]):
                        raise EstimationError(
                            f"cannot impute column {column!r} for {int(needs.sum())} "
                            f"{label} row(s){where}: no {label} row has a value for it"
                        )
                    imputed.loc[needs, column] = group_means[column]
        index = imputed.mean(axis=1, skipna=False)
    index = index.where(has_any)
    index.name = "klk_index"
    return index


def icw_index(
    frame: pd.DataFrame,
    *,
    reference: pd.Series,
    directions: Mapping[str, int] | None = None,
    covariance: CovarianceSample = "pooled",
    rescale: bool = True,
) -> IcwResult:
    """Anderson (2008) inverse-covariance-weighted index (docs/methods.md §3.2).

    Components are oriented and standardized on the reference rows as for
    :func:`klk_index`. With Σ̂ the covariance matrix of the standardized components,
    the weights are w = 1'Σ̂⁻¹ (the column sums of Σ̂⁻¹) and each row's index is

        s_i = Σ_{k ∈ obs(i)} w_k z_ik / Σ_{k ∈ obs(i)} w_k,

    over the row's own non-missing components, so the denominator varies by row.
    Optionally s is rescaled to mean 0 and SD 1 (n − 1) in the reference rows.

    Σ̂ is the sample covariance (n − 1 denominator) computed pairwise on the rows
    where both components are observed. Its scale cancels in s.

    Parameters
    ----------
    frame
        One numeric column per component, one row per unit.
    reference
        Boolean mask aligned with ``frame``, true for the comparison (reference) rows.
    directions
        Component name to ``1`` or ``-1`` as in :func:`klk_index`.
    covariance
        ``"pooled"`` (default) computes Σ̂ on all rows, like Stata ``swindex`` and the
        Python ``icw-index`` package; ``"reference"`` uses the reference rows only, as in
        Anderson's appendix and ``pbrimble/econometrics``. The latter needs many more
        reference rows than components (§3.3).
    rescale
        Rescale the index to reference mean 0 and SD 1 (as ``swindex`` and
        ``icw-index`` do).

    Returns
    -------
    IcwResult
        The index (named ``"icw_index"``), the weights, the condition number of Σ̂ and
        any warnings.

    Raises
    ------
    EstimationError
        If standardization fails, Σ̂ cannot be computed or inverted, or the reference
        index has zero spread when rescaling.
    ValueError
        If ``covariance`` is not one of the allowed values, or an argument is malformed
        (see :func:`klk_index`).
    """
    _check_choice(covariance, get_args(CovarianceSample), name="covariance")
    z = standardize(_orient(frame, directions), reference=reference)
    mask = _aligned_mask(reference, frame.index, name="reference")
    sample = z if covariance == "pooled" else z.loc[mask]

    sigma = sample.cov(ddof=1)
    if sigma.isna().to_numpy().any():
        raise EstimationError(
            f"cannot compute the {covariance} covariance matrix: some pair of components "
            "is never observed together in enough rows"
        )
    sigma_values = sigma.to_numpy(dtype=float)
    condition_number = float(np.linalg.cond(sigma_values))
    if not np.isfinite(condition_number) or condition_number > 1 / np.finfo(float).eps:
        raise EstimationError(
            f"the {covariance} covariance matrix of the components is singular "
            f"(condition number {condition_number:.3g}); drop a redundant component"
        )
    notes: list[str] = []
    if np.linalg.eigvalsh(sigma_values).min() <= 0:
        # Pairwise-complete covariances need not form a positive definite matrix.
        notes.append(
            f"the {covariance} covariance matrix is not positive definite "
            "(pairwise-complete estimates under missing data); weights are unreliable"
        )
    if condition_number > CONDITION_NUMBER_WARNING:
        notes.append(
            f"the {covariance} covariance matrix is near-singular (condition number "
            f"{condition_number:.1f} > {CONDITION_NUMBER_WARNING:g}, {len(sample)} rows "
            f"for {z.shape[1]} components); the weights are unstable"
        )
    # Σ̂ is symmetric, so Σ̂⁻¹·1 equals the column sums 1'Σ̂⁻¹; solving avoids forming
    # the inverse explicitly.
    weights = pd.Series(
        np.linalg.solve(sigma_values, np.ones(len(sigma_values))),
        index=z.columns,
        name="weight",
    )
    negative = [str(c) for c in weights.index if weights[c] < 0]
    if negative:
        notes.append("negative weight for " + ", ".join(negative) + " (components are collinear)")

    observed = z.notna()
    numerator = z.fillna(0.0).mul(weights, axis=1).sum(axis=1)
    denominator = observed.mul(weights, axis=1).sum(axis=1)
    # A row whose observed weights cancel out has no meaningful weighted mean.
    degenerate = observed.any(axis=1) & (denominator.abs() <= 1e-12 * float(weights.abs().sum()))
    if degenerate.any():
        notes.append(
            f"{int(degenerate.sum())} row(s) have observed components whose weights sum "
            "to zero; their index is NaN"
        )
    index = (numerator / denominator).where(observed.any(axis=1) & ~degenerate)

    if rescale:
        reference_index = index.loc[mask].dropna()
        spread = reference_index.std(ddof=1)
        if len(reference_index) < 2 or not spread > 0:
            raise EstimationError("cannot rescale the ICW index: it has no spread in the reference rows")
        index = (index - reference_index.mean()) / spread
    index.name = "icw_index"
    return IcwResult(
        index=index,
        weights=weights,
        condition_number=condition_number,
        warnings=tuple(notes),
        covariance=covariance,
        rescaled=rescale,
    )


def _numeric_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` as float64, refusing non-numeric columns by name."""
    if frame.shape[1] == 0:
        raise ValueError("expecting at least one component column, got none")
    bad = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if bad:
        raise ValueError("components must be numeric; not numeric: " + ", ".join(bad))
    return frame.astype("float64")


def _aligned_mask(mask: pd.Series, index: pd.Index, *, name: str) -> pd.Series:
    """Return ``mask`` as a plain bool Series on ``index``, or raise a clear error."""
    if not isinstance(mask, pd.Series):
        raise ValueError(f"'{name}' must be a boolean pandas Series aligned with the data")
    if not mask.index.equals(index):
        if index.has_duplicates or not index.isin(mask.index).all():
            raise ValueError(f"'{name}' is not aligned with the data (different index)")
        mask = mask.reindex(index)
    if not pd.api.types.is_bool_dtype(mask.dtype) or mask.isna().any():
        raise ValueError(f"'{name}' must be boolean without missing values")
    return mask.astype(bool)


def _orient(frame: pd.DataFrame, directions: Mapping[str, int] | None) -> pd.DataFrame:
    """Flip the sign of components whose direction is -1."""
    values = _numeric_frame(frame)
    if not directions:
        return values
    unknown = [str(c) for c in directions if c not in values.columns]
    if unknown:
        raise ValueError("directions name unknown components: " + ", ".join(unknown))
    for column, sign in directions.items():
        if sign not in (1, -1):
            raise ValueError(f"direction of {column!r} is {sign!r}; expecting one of 1, -1")
    signs = pd.Series({c: float(directions.get(c, 1)) for c in values.columns})
    return values.mul(signs, axis=1)


def _check_choice(value: object, choices: tuple[object, ...], *, name: str) -> None:
    """Raise ValueError if ``value`` is not one of ``choices``."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={value!r}: expecting one of {allowed}")
