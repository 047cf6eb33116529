"""Alkire–Foster counting method, WEAI and A-WEAI (docs/methods.md §8).

Each person i has binary adequacy x_ij in indicators j with weights w_j summing to 1.
Their inadequacy score is c_i = Σ_j w_j (1 − x_ij); they are disempowered when
c_i > k. The aggregates H, A and M0 = H·A, the censored headcounts and the indicator
contributions follow §8.4, and so do the Gender Parity Index and the headline
WEAI = 0.9·5DE + 0.1·GPI.

Functions are pure and work on a frame with one 0/1 column per indicator and one row per
person. Rows with any missing indicator are dropped from the aggregates and counted, as
the ``sample5do`` rule of the OPHI/IFPRI do-files does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

import numpy as np
import pandas as pd

from analysis.errors import EstimationError

A_WEAI_WEIGHTS: Mapping[str, Fraction] = MappingProxyType(
    {
        "input": Fraction(1, 5),  # input in productive decisions
        "own": Fraction(2, 15),  # ownership of assets
        "credit": Fraction(1, 15),  # access to and decisions on credit
        "income": Fraction(1, 5),  # control over use of income
        "group": Fraction(1, 5),  # group membership
        "work": Fraction(1, 5),  # workload
    }
)
"""A-WEAI (2015) indicator weights, docs/methods.md §8.2, as exact fractions."""

A_WEAI_K = 0.2
"""A-WEAI/WEAI disempowerment cutoff on c_i (empowered ⇔ 5DE score ≥ 0.80)."""

# Why a tolerance: c_i and k are sums of fifths and fifteenths, which binary floating
# point cannot hold exactly, so a person exactly at the cutoff can land on either side of
# a strict `c > k` depending on how the numbers were produced. Examples: 2/15 + 1/15 is
# exactly 1/5 in rational arithmetic and happens to round to the double 0.2, but the
# natural cutoff `1 - 0.8` is 0.19999999999999996, so `0.2 > 1 - 0.8` is True and a
# woman inadequate only in assets and credit would be wrongly disempowered; computing
# c_i as 1 − Σ_j w_j x_ij with WEAI weights gives 0.20000000000000007 for a score of
# exactly 1/5. The FtF do-file compares with `float(20/100)` and weaiR with a 1e-4
# margin for the same reason. With the published weights (multiples of 1/30 or 1/12)
# a score that really differs from the cutoff does so by at least 1/60, so 1e-9 only
# absorbs rounding.
_TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class AlkireFosterResult:
    """Alkire–Foster aggregates and individual identification (docs/methods.md §8.4).

    Attributes
    ----------
    headcount_ratio
        H = q/n, the (weighted) share disempowered.
    intensity
        A, the (weighted) mean inadequacy score among the disempowered; NaN when nobody
        is disempowered.
    m0
        Adjusted headcount ratio M0 = H·A, the mean censored score.
    n
        Number of persons used (complete indicators).
    n_dropped
        Number of persons dropped because an indicator was missing.
    k
        The cutoff used: disempowered ⇔ c_i > k (with a 1e-9 tolerance for float ties).
    weights
        Indicator weights as floats.
    scores
        c_i for every input row; NaN for dropped rows.
    disempowered
        Identification flag for every input row (nullable boolean; ``<NA>`` for dropped
        rows). Use it, ``1 − scores`` and the indicators as impact-regression outcomes.
    censored_headcounts
        h_j = share both inadequate in j and disempowered, per indicator.
    uncensored_headcounts
        Share inadequate in j, whether disempowered or not, per indicator.
    contributions
        Relative contribution w_j h_j / M0 per indicator (sums to 1); NaN when M0 = 0.
    """

    headcount_ratio: float
    intensity: float
    m0: float
    n: int
    n_dropped: int
    k: float
    weights: pd.Series
    scores: pd.Series
    disempowered: pd.Series
    censored_headcounts: pd.Series
    uncensored_headcounts: pd.Series
    contributions: pd.Series

    @property
    def empowerment_index(self) -> float:
        """1 − M0: the 5DE for WEAI and A-WEAI, the 3DE for pro-WEAI."""
        return 1.0 - self.m0


@dataclass(frozen=True)
class GpiResult:
    """Gender Parity Index over dual-adult households (docs/methods.md §8.4).

    Attributes
    ----------
    h_gpi
        Share of households lacking parity.
    i_gpi
        Mean gap among households lacking parity; 0 when none lacks parity (the weaiR
        convention, so that GPI = 1).
    gpi
        1 − H_GPI · I_GPI.
    n_households
        Number of households used.
    n_dropped
        Households dropped because the woman's or the man's score was missing.
    cutoff
        Empowerment cutoff on the 1 − c scale (0.8 for WEAI/A-WEAI).
    lacks_parity
        Per household: the woman is disempowered and her censored score exceeds the
        man's.
    gap
        Per household: (c̃_W − c̃_M)/(1 − c̃_M) where parity is lacking, else 0.
    """

    h_gpi: float
    i_gpi: float
    gpi: float
    n_households: int
    n_dropped: int
    cutoff: float
    lacks_parity: pd.Series
    gap: pd.Series


def af_scores(adequacy: pd.DataFrame, *, weights: Mapping[str, float | Fraction]) -> pd.Series:
    """Inadequacy score c_i = Σ_j w_j (1 − x_ij) of each person (docs/methods.md §8.4).

    When every weight is a :class:`fractions.Fraction` (or an int), the sum is formed
    exactly and rounded once to the nearest float, so a score of exactly 1/5 is the
    double ``0.2`` whatever the indicator order.

    Parameters
    ----------
    adequacy
        One column per indicator, exactly the keys of ``weights``; values 1 (adequate),
        0 (inadequate) or missing; booleans are accepted.
    weights
        Indicator weights, positive and summing to 1.

    Returns
    -------
    pandas.Series
        c_i, named ``"inadequacy_score"``; NaN for a row with any missing indicator.
        The empowerment score is 1 − c_i.

    Raises
    ------
    ValueError
        If the columns and weights do not match, the weights are not positive or do not
        sum to 1, or a value is not 0, 1 or missing.
    """
    columns, float_weights = _check_weights(adequacy, weights)
    inadequate = 1.0 - _adequacy_matrix(adequacy, columns)
    scores = _score_matrix(inadequate, [weights[c] for c in columns], float_weights)
    return pd.Series(scores, index=adequacy.index, name="inadequacy_score")


def alkire_foster(
    adequacy: pd.DataFrame,
    *,
    weights: Mapping[str, float | Fraction],
    k: float,
    sample_weights: pd.Series | None = None,
) -> AlkireFosterResult:
    """Alkire–Foster adjusted headcount M0 and its decomposition (docs/methods.md §8.4).

    A person is disempowered when c_i > k, compared with a tolerance of 1e-9 so that a
    score equal to k up to float rounding (e.g. 2/15 + 1/15 against k = 1 − 0.8) is not
    counted. Then H = q/n, A = mean c_i among the disempowered, M0 = H·A (the mean
    censored score), h_j = share inadequate in j and disempowered, M0 = Σ_j w_j h_j,
    and the contribution of j is w_j h_j / M0. With ``sample_weights`` every share and
    mean is weighted.

    Parameters
    ----------
    adequacy
        One 0/1 column per indicator (exactly the keys of ``weights``), one row per
        person. Rows with any missing indicator are dropped and counted.
    weights
        Indicator weights, positive and summing to 1 (e.g. :data:`A_WEAI_WEIGHTS`).
    k
        Disempowerment cutoff on c_i in [0, 1): 0.2 for WEAI and A-WEAI; pro-WEAI
        versions differ (§8.3), so it is never implied.
    sample_weights
        Non-negative sampling weights aligned with ``adequacy``.

    Returns
    -------
    AlkireFosterResult
        Aggregates, per-indicator headcounts and contributions, and per-person scores
        and flags. ``empowerment_index`` gives 1 − M0 (5DE or 3DE).

    Raises
    ------
    EstimationError
        If no person has complete indicators or the total sample weight is zero.
    ValueError
        If ``k`` is outside [0, 1), or the inputs are malformed (see :func:`af_scores`).
    """
    if not 0 <= k < 1:
        raise ValueError(f"k={k!r}: expecting a cutoff in [0, 1)")
    columns, float_weights = _check_weights(adequacy, weights)
    inadequate_all = 1.0 - _adequacy_matrix(adequacy, columns)
    scores = pd.Series(
        _score_matrix(inadequate_all, [weights[c] for c in columns], float_weights),
        index=adequacy.index,
        name="inadequacy_score",
    )
    complete = scores.notna()
    n = int(complete.sum())
    if n == 0:
        raise EstimationError("no person has all indicators; nothing to aggregate")
    if sample_weights is None:
        w = np.ones(n)
    else:
        w = _person_weights(sample_weights, adequacy.index)[complete.to_numpy()]

    total = w.sum()
    if not total > 0:
        raise EstimationError("the total sample weight of complete rows is zero")
    c = scores[complete].to_numpy()
    poor = c > k + _TIE_TOLERANCE
    headcount = float(w[poor].sum() / total)
    m0 = float((w * np.where(poor, c, 0.0)).sum() / total)
    intensity = float((w[poor] * c[poor]).sum() / w[poor].sum()) if poor.any() else math.nan

    inadequate = inadequate_all[complete.to_numpy()]
    weight_series = pd.Series(float_weights, index=columns, name="weight")
    censored = pd.Series(
        (w[:, None] * inadequate * poor[:, None]).sum(axis=0) / total,
        index=columns,
        name="censored_headcount",
    )
    uncensored = pd.Series(
        (w[:, None] * inadequate).sum(axis=0) / total,
        index=columns,
        name="uncensored_headcount",
    )
    contributions = weight_series * censored / m0 if m0 > 0 else pd.Series(math.nan, index=columns)
    contributions.name = "contribution"

    flags = pd.Series(pd.NA, index=adequacy.index, dtype="boolean", name="disempowered")
    flags[complete] = poor
    return AlkireFosterResult(
        headcount_ratio=headcount,
        intensity=intensity,
        m0=m0,
        n=n,
        n_dropped=int(len(scores) - n),
        k=float(k),
        weights=weight_series,
        scores=scores,
        disempowered=flags,
        censored_headcounts=censored,
        uncensored_headcounts=uncensored,
        contributions=contributions,
    )


def a_weai(adequacy: pd.DataFrame, *, sample_weights: pd.Series | None = None) -> AlkireFosterResult:
    """Five Domains of Empowerment (5DE) of the A-WEAI (docs/methods.md §8.2, §8.4).

    :func:`alkire_foster` with :data:`A_WEAI_WEIGHTS` and k = 0.2. For the headline
    A-WEAI, compute this on women, pass the women's and men's ``scores`` of dual-adult
    households to :func:`gpi`, and combine with :func:`weai_headline`.

    Parameters
    ----------
    adequacy
        Columns ``input``, ``own``, ``credit``, ``income``, ``group``, ``work`` (0/1),
        one row per person.
    sample_weights
        Non-negative sampling weights aligned with ``adequacy``.

    Returns
    -------
    AlkireFosterResult
        ``empowerment_index`` is the 5DE.
    """
    return alkire_foster(adequacy, weights=A_WEAI_WEIGHTS, k=A_WEAI_K, sample_weights=sample_weights)


def gpi(
    c_women: pd.Series,
    c_men: pd.Series,
    *,
    cutoff: float = 0.8,
    sample_weights: pd.Series | None = None,
) -> GpiResult:
    """Gender Parity Index of dual-adult households (docs/methods.md §8.4).

    Scores are censored at c̃ = max(c, 1 − cutoff). A household lacks parity when the
    woman is disempowered (c_W > 1 − cutoff, with the 1e-9 tie tolerance) and
    c̃_W > c̃_M; its gap is (c̃_W − c̃_M)/(1 − c̃_M). H_GPI is the share lacking parity,
    I_GPI the mean gap among them, and GPI = 1 − H_GPI · I_GPI. Scores are used as given
    (weaiR rounds them to 4 decimals first; this does not).

    Parameters
    ----------
    c_women, c_men
        Inadequacy scores of the primary woman and man, indexed by household (the same
        households, each once). Households with either score missing are dropped and
        counted.
    cutoff
        Empowerment cutoff on the 1 − c scale, in (0, 1]; 0.8 for WEAI/A-WEAI.
    sample_weights
        Non-negative household weights indexed like ``c_women``.

    Returns
    -------
    GpiResult
        H_GPI, I_GPI, GPI and the per-household parity flags and gaps.

    Raises
    ------
    EstimationError
        If no household has both scores.
    ValueError
        If the two Series do not cover the same households, a household repeats, a score
        is outside [0, 1], or ``cutoff`` is outside (0, 1].
    """
    if not 0 < cutoff <= 1:
        raise ValueError(f"cutoff={cutoff!r}: expecting a value in (0, 1]")
    if c_women.index.has_duplicates or c_men.index.has_duplicates:
        raise ValueError("each household must appear once in c_women and in c_men")
    if not c_women.index.sort_values().equals(c_men.index.sort_values()):
        raise ValueError("c_women and c_men must be indexed by the same households")
    women = c_women.astype("float64")
    men = c_men.astype("float64").reindex(women.index)
    for name, s in (("c_women", women), ("c_men", men)):
        if ((s < 0) | (s > 1)).any():
            raise ValueError(f"{name} must lie in [0, 1]")
    complete = women.notna() & men.notna()
    if not complete.any():
        raise EstimationError("no dual-adult household has both scores")
    women, men = women[complete], men[complete]
    if sample_weights is None:
        w = np.ones(len(women))
    else:
        w = _person_weights(sample_weights, c_women.index)[complete.to_numpy()]
        if not w.sum() > 0:
            raise EstimationError("the total weight of complete households is zero")

    floor = 1.0 - cutoff  # 1 - 0.8 is 0.19999999999999996: another reason for the tolerance
    cw = women.clip(lower=floor)
    cm = men.clip(lower=floor)
    lacks = (women > floor + _TIE_TOLERANCE) & (cw > cm + _TIE_TOLERANCE)
    # c̃_M < c̃_W ≤ 1 wherever parity is lacking, so the denominator is positive there.
    gap = ((cw - cm) / (1.0 - cm)).where(lacks, 0.0)
    lacking = lacks.to_numpy()
    h_gpi = float(w[lacking].sum() / w.sum())
    i_gpi = float((w[lacking] * gap[lacks]).sum() / w[lacking].sum()) if lacking.any() else 0.0
    return GpiResult(
        h_gpi=h_gpi,
        i_gpi=i_gpi,
        gpi=1.0 - h_gpi * i_gpi,
        n_households=int(complete.sum()),
        n_dropped=int((~complete).sum()),
        cutoff=float(cutoff),
        lacks_parity=lacks.rename("lacks_parity"),
        gap=gap.rename("gpi_gap"),
    )


def weai_headline(five_de: float, gpi: float) -> float:
    """Headline WEAI (or A-WEAI) = 0.9·5DE + 0.1·GPI (docs/methods.md §8.4).

    For pro-WEAI pass the 3DE as ``five_de``.

    Parameters
    ----------
    five_de
        The women's 5DE (1 − M0), e.g. ``a_weai(...).empowerment_index``.
    gpi
        The GPI, e.g. ``gpi(...).gpi``.

    Returns
    -------
    float
        The headline index.

    Raises
    ------
    ValueError
        If either input is outside [0, 1].
    """
    for name, value in (("five_de", five_de), ("gpi", gpi)):
        if not 0 <= value <= 1:
            raise ValueError(f"{name}={value!r}: expecting a value in [0, 1]")
    return 0.9 * five_de + 0.1 * gpi


def _check_weights(
    adequacy: pd.DataFrame, weights: Mapping[str, float | Fraction]
) -> tuple[list[str], np.ndarray]:
    """Validate indicator weights against the columns; return names and float weights."""
    columns = list(weights)
    missing = [c for c in columns if c not in adequacy.columns]
    extra = [str(c) for c in adequacy.columns if c not in weights]
    if missing or extra:
        raise ValueError(
            "adequacy columns must be exactly the weighted indicators"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not weighted: {', '.join(extra)}" if extra else "")
        )
    bad = [c for c in columns if not weights[c] > 0]
    if bad:
        raise ValueError("indicator weights must be positive: " + ", ".join(bad))
    values = list(weights.values())
    if all(isinstance(w, Fraction | int) for w in values):
        total_is_one = sum(Fraction(w) for w in values) == 1
    else:
        total_is_one = abs(math.fsum(float(w) for w in values) - 1.0) <= 1e-9
    if not total_is_one:
        raise ValueError("indicator weights must sum to 1")
    return columns, np.array([float(weights[c]) for c in columns])


def _score_matrix(
    inadequate: np.ndarray, exact: list[float | Fraction], float_weights: np.ndarray
) -> np.ndarray:
    """Return c_i for each row of the 0/1 inadequacy matrix; NaN for incomplete rows."""
    complete = ~np.isnan(inadequate).any(axis=1)
    scores = np.full(len(inadequate), np.nan)
    fractions = [Fraction(w) for w in exact if isinstance(w, Fraction | int)]
    denominator = math.lcm(*(f.denominator for f in fractions)) if len(fractions) == len(exact) else 0
    if 0 < denominator < 2**31:
        # Integer numerators over the common denominator: the sum is exact, and one
        # correctly rounded division turns it into the nearest double. (Huge denominators,
        # e.g. from Fraction(0.2), would overflow int64 and fall back to floats.)
        numerators = np.array(
            [f.numerator * (denominator // f.denominator) for f in fractions], dtype=np.int64
        )
        scores[complete] = (inadequate[complete].astype(np.int64) @ numerators) / denominator
    else:
        scores[complete] = inadequate[complete] @ float_weights
    return scores


def _adequacy_matrix(adequacy: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Return the indicators as a float matrix, checking every value is 0, 1 or NaN."""
    matrix = np.empty((len(adequacy), len(columns)))
    for j, column in enumerate(columns):
        series = adequacy[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            raise ValueError(f"indicator {column!r} must be 0/1, not {series.dtype}")
        values = series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        known = values[~np.isnan(values)]
        if not np.isin(known, (0.0, 1.0)).all():
            raise ValueError(f"indicator {column!r} has values other than 0, 1 or missing")
        matrix[:, j] = values
    return matrix


def _person_weights(sample_weights: pd.Series, index: pd.Index) -> np.ndarray:
    """Return sampling weights on ``index`` as an array, checking they are usable."""
    if not isinstance(sample_weights, pd.Series):
        raise ValueError("sample_weights must be a pandas Series aligned with the data")
    if not sample_weights.index.equals(index):
        if index.has_duplicates or not index.isin(sample_weights.index).all():
            raise ValueError("sample_weights is not aligned with the data (different index)")
        sample_weights = sample_weights.reindex(index)
    w = sample_weights.astype("float64").to_numpy()
    if np.isnan(w).any() or (w < 0).any():
        raise ValueError("sample_weights must be present and non-negative")
    return w
