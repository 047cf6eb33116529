"""Income and poverty conventions (docs/methods.md §7).

Equivalence scales, upper winsorizing, the inverse hyperbolic sine, CPI deflation,
Foster–Greer–Thorbecke poverty measures and the BPS poverty lines (Garis Kemiskinan).

BPS defines poverty on per-capita monthly *consumption expenditure*; a poverty rate
computed here on income is a proxy and must be labelled as such.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, overload

import numpy as np
import pandas as pd

FgtAlpha = Literal[0, 1, 2]
"""FGT poverty aversion: 0 headcount, 1 poverty gap, 2 severity."""



@overload
def oecd_modified_scale(adults: float, children: float) -> float: ...
@overload
def oecd_modified_scale(adults: pd.Series, children: pd.Series | float) -> pd.Series: ...
def oecd_modified_scale(adults: Any, children: Any) -> Any:
    """OECD-modified equivalence scale, the workbench default (docs/methods.md §7).

    AE = 1 + 0.5·(adults − 1) + 0.3·children, where adults are persons aged 14 or
    older and children are younger than 14.

    Parameters
    ----------
    adults
        Number of household members aged 14 or older (at least 1).
    children
        Number of household members younger than 14.

    Returns
    -------
    float or pandas.Series
        Adult equivalents; a Series when ``adults`` is a Series. Missing counts give NaN.

    Raises
    ------
    ValueError
        If a count is negative or not whole, or a household has no member aged 14+.
    """
    a, c = _household_counts(adults, children)
    return _like(adults, 1.0 + 0.5 * (a - 1.0) + 0.3 * c)


@overload
def oecd_original_scale(adults: float, children: float) -> float: ...
@overload
def oecd_original_scale(adults: pd.Series, children: pd.Series | float) -> pd.Series: ...
def oecd_original_scale(adults: Any, children: Any) -> Any:
    """Original ("Oxford") OECD equivalence scale, for comparison only.

    AE = 1 + 0.7·(adults − 1) + 0.5·children, with the same age split as
    :func:`oecd_modified_scale`.

    Parameters
    ----------
    adults
        Number of household members aged 14 or older (at least 1).
    children
        Number of household members younger than 14.

    Returns
    -------
    float or pandas.Series
        Adult equivalents; a Series when ``adults`` is a Series.

    Raises
    ------
    ValueError
        If a count is negative or not whole, or a household has no member aged 14+.
    """
    a, c = _household_counts(adults, children)
    return _like(adults, 1.0 + 0.7 * (a - 1.0) + 0.5 * c)


@overload
def square_root_scale(adults: float, children: float) -> float: ...
@overload
def square_root_scale(adults: pd.Series, children: pd.Series | float) -> pd.Series: ...
def square_root_scale(adults: Any, children: Any) -> Any:
    """Square-root equivalence scale, for comparison only: AE = √(household size).

    Parameters
    ----------
    adults
        Number of household members aged 14 or older (at least 1).
    children
        Number of household members younger than 14.

    Returns
    -------
    float or pandas.Series
        Adult equivalents; a Series when ``adults`` is a Series.

    Raises
    ------
    ValueError
        If a count is negative or not whole, or a household has no member aged 14+.
    """
    a, c = _household_counts(adults, children)
    return _like(adults, np.sqrt(a + c))


def winsorize_upper(
    values: pd.Series,
    *,
    q: float = 0.99,
    by: pd.Series | None = None,
    weights: pd.Series | None = None,
) -> pd.Series:
    """Replace values above the q-th quantile with that quantile (docs/methods.md §7).

    The quantile is computed on the non-missing values, separately for each group of
    ``by`` (e.g. per survey round, pooling the arms). Its definition:

    - unweighted: numpy's ``"linear"`` method (``numpy.quantile(x, q,
      method="linear")``, Hyndman–Fan type 7, the default of numpy and R), which
      interpolates between order statistics;
    - weighted: numpy's weighted ``"inverted_cdf"`` method, the smallest value whose
      cumulative weight share reaches q (no interpolation). With equal weights this is
      the type 1 quantile, so it can differ from the unweighted result on the same
      data: for 1, …, 99 and 10000 the unweighted 99th percentile is 198.01 and the
      equally weighted one is 99.

    Apply it to the final constructed variable and keep the unwinsorized variable for
    the robustness check.

    Parameters
    ----------
    values
        Numeric values; NaN stays NaN and is left out of the quantile.
    q
        Quantile in (0, 1]; 0.99 is the 99th percentile.
    by
        Group labels aligned with ``values`` (same index); one cap per group.
    weights
        Non-negative sampling weights aligned with ``values``.

    Returns
    -------
    pandas.Series
        A new Series with the same index and name; ``values`` is not modified.

    Raises
    ------
    ValueError
        If ``q`` is out of range, ``values`` is not numeric, ``by`` or ``weights`` is not
        aligned or has missing labels, or a weight is negative or missing where the value
        is present.
    """
    if not 0 < q <= 1:
        raise ValueError(f"q={q!r}: expecting a quantile in (0, 1]")
    if not pd.api.types.is_numeric_dtype(values):
        raise ValueError("winsorize_upper needs numeric values")
    result = values.astype("float64")  # astype returns a new object: never edit input
    groups = pd.Series(0, index=values.index) if by is None else _aligned(by, values.index, name="by")
    if groups.isna().any():
        raise ValueError("'by' has missing group labels")
    w = None if weights is None else _aligned(weights, values.index, name="weights")
    if w is not None:
        w = w.astype("float64")
        if (w < 0).any() or w[result.notna()].isna().any():
            raise ValueError("weights must be non-negative and present for every value")
    for _, rows in groups.groupby(groups, sort=False).groups.items():
        x = result.loc[rows]
        present = x.notna()
        if not present.any():
            continue
        if w is None:
            cap = float(np.quantile(x[present].to_numpy(), q, method="linear"))
        else:
            group_weights = w.loc[rows][present]
            if not group_weights.sum() > 0:
                raise ValueError("the weights of a group's non-missing values sum to zero")
            cap = float(
                np.quantile(
                    x[present].to_numpy(),
                    q,
                    method="inverted_cdf",
                    weights=group_weights.to_numpy(),
                )
            )
        result.loc[rows] = x.where(~(x > cap), cap)
    return result


@overload
def ihs(values: float) -> float: ...
@overload
def ihs(values: pd.Series) -> pd.Series: ...
@overload
def ihs(values: np.ndarray) -> np.ndarray: ...
def ihs(values: Any) -> Any:
    """Inverse hyperbolic sine, asinh(y) = ln(y + √(y² + 1)) (docs/methods.md §7).

    Defined at 0 and for negative values. Effects on the IHS scale depend on the units
    of y (Bellemare & Wichman 2020; Chen & Roth 2024), so fix the unit (e.g. Rp '000)
    and also report levels. Never use log(1 + y).

    Parameters
    ----------
    values
        A number, array or Series.

    Returns
    -------
    float, numpy.ndarray or pandas.Series
        ``numpy.arcsinh(values)``, of the same kind as the input.
    """
    out = np.arcsinh(values)
    return float(out) if np.ndim(out) == 0 and not isinstance(values, np.ndarray) else out


@overload
def deflate(nominal: float, *, cpi: float, base_cpi: float) -> float: ...
@overload
def deflate(nominal: pd.Series, *, cpi: pd.Series | float, base_cpi: float) -> pd.Series: ...
def deflate(nominal: Any, *, cpi: Any, base_cpi: float) -> Any:
    """Convert nominal amounts to base-period prices (docs/methods.md §7).

    real = nominal × CPI_base / CPI, with the BPS CPI (IHK) and the baseline round as
    base.

    Parameters
    ----------
    nominal
        Nominal amounts.
    cpi
        CPI of the period each amount was observed in: one number, or a Series aligned
        with ``nominal`` (e.g. mapped from each row's round).
    base_cpi
        CPI of the base period.

    Returns
    -------
    float or pandas.Series
        Amounts in base-period prices.

    Raises
    ------
    ValueError
        If a CPI is missing or not positive, or a CPI Series is not aligned with
        ``nominal``.
    """
    if isinstance(cpi, pd.Series) and isinstance(nominal, pd.Series):
        # pandas would align on the index and silently give NaN where labels differ.
        cpi = _aligned(cpi, nominal.index, name="cpi")
    cpi_values = np.asarray(cpi, dtype=float)
    if not base_cpi > 0 or not (cpi_values > 0).all():
        raise ValueError("CPI values must be present and positive")
    return nominal * base_cpi / cpi


def fgt(
    income: pd.Series,
    *,
    line: float | pd.Series,
    alpha: FgtAlpha,
    weights: pd.Series | None = None,
) -> float:
    """Foster–Greer–Thorbecke poverty measure P_α (docs/methods.md §7).

    P_α = (1/N) Σ_{i : y_i < z} ((z − y_i)/z)^α: α = 0 is the headcount ratio, 1 the
    poverty gap, 2 the severity. A person exactly at the line is not poor. Negative
    incomes are not censored, so their gap exceeds 1. With weights the sum and N are
    weighted.

    Parameters
    ----------
    income
        Per-capita (or adult-equivalent) amounts, one per person or household.
    line
        Poverty line z: one number, or a Series aligned with ``income`` (e.g. the
        province and urban/rural BPS line of each household).
    alpha
        0, 1 or 2.
    weights
        Non-negative sampling weights aligned with ``income``.

    Returns
    -------
    float
        P_α.

    Raises
    ------
    ValueError
        If ``alpha`` is not 0, 1 or 2, an income, line or weight is missing, a line is
        not positive, a weight is negative, or the total weight is zero.
    """
    if alpha not in get_args(FgtAlpha) or isinstance(alpha, bool):
        raise ValueError(f"alpha={alpha!r}: expecting one of 0, 1, 2")
    y = pd.Series(income, dtype="float64")
    if y.isna().any():
        # An aggregate over a silently shrunken sample would be wrong: drop or impute
        # missing incomes explicitly before calling.
        raise ValueError(f"income has {int(y.isna().sum())} missing value(s)")
    z = (
        _aligned(line, y.index, name="line").astype("float64")
        if isinstance(line, pd.Series)
        else pd.Series(float(line), index=y.index)
    )
    if z.isna().any() or (z <= 0).any():
        raise ValueError("poverty lines must be present and positive")
    if weights is None:
        w = pd.Series(1.0, index=y.index)
    else:
        w = _aligned(weights, y.index, name="weights").astype("float64")
        if w.isna().any() or (w < 0).any():
            raise ValueError("weights must be present and non-negative")
    if not w.sum() > 0:
        raise ValueError("the total weight is zero")
    poor = y < z
    gap = ((z - y) / z).where(poor, 0.0)
    # 0**0 is 1 in numpy, so the headcount needs the poverty flag, not gap**0.
    contribution = poor.astype(float) if alpha == 0 else gap**alpha
    return float((w * contribution).sum() / w.sum())


def _household_counts(adults: Any, children: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate member counts and return them as float arrays (NaN stays NaN)."""
    if isinstance(adults, pd.Series) and isinstance(children, pd.Series):
        # The arithmetic below is positional, so the two Series must share their index.
        children = _aligned(children, adults.index, name="children")
    a = np.asarray(adults, dtype=float)
    c = np.asarray(children, dtype=float)
    for name, counts in (("adults", a), ("children", c)):
        known = counts[~np.isnan(counts)]
        if (known < 0).any() or (known != np.round(known)).any():
            raise ValueError(f"{name} must be whole, non-negative numbers of persons")
    if (a[~np.isnan(a)] < 1).any():
        # The scale gives weight 1 to a first member aged 14+; without one the formula
        # is undefined, and such households need a decision, not a silent number.
        raise ValueError("every household needs at least one member aged 14 or older")
    return a, c


def _like(template: Any, values: np.ndarray) -> Any:
    """Return ``values`` shaped like ``template``: Series (of adult equivalents), array or float."""
    if isinstance(template, pd.Series):
        return pd.Series(values, index=template.index, name="adult_equivalents")
    if np.ndim(values) == 0:
        return float(values)
    return values


def _aligned(series: pd.Series, index: pd.Index, *, name: str) -> pd.Series:
    """Return ``series`` on ``index``, refusing misaligned input."""
    if not isinstance(series, pd.Series):
        raise ValueError(f"'{name}' must be a pandas Series aligned with the values")
    if series.index.equals(index):
        return series
    if index.has_duplicates or not index.isin(series.index).all():
        raise ValueError(f"'{name}' is not aligned with the values (different index)")
    return series.reindex(index)
