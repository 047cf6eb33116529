"""Women's participation: the participation outcomes re-estimated on women respondents.

When the codebook gives a variable the role ``respondent_sex``, every outcome of the
``participation`` family gets a twin, ``<name>_women`` in family ``participation_women``, whose
value is the household's answer in the rounds where the respondent was a woman and missing
otherwise. Estimated with the ordinary estimators this is a subsample analysis: the follow-up
difference uses households with a woman respondent at follow-up; DiD and ANCOVA use households
with a woman respondent in both rounds, so a change of respondent between rounds (a man at
baseline, a woman at follow-up) is never read as a change in participation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.inputs.study import OutcomeSpec

#: Cleaned values that mean a woman respondent (compared case-insensitively, trimmed).
#: A numeric code (BPS writes 2 for perempuan) needs a codebook recode to one of these.
FEMALE_VALUES: frozenset[str] = frozenset({"female", "perempuan", "wanita", "woman", "f"})

SUFFIX = "_women"


def is_woman(values: pd.Series) -> pd.Series:
    """Whether each respondent is a woman; missing or other values are False."""
    # Each distinct answer is compared once and spread back to the rows: trimming and
    # case-folding 400,000 cells of a national panel took a second, for a handful of answers.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype("string").str.strip().str.casefold()
    woman = np.append(text.isin(FEMALE_VALUES).fillna(False).to_numpy(dtype=bool), False)
    return pd.Series(woman[codes], index=values.index, name=values.name, dtype=bool)


def women_outcomes(
    panel: pd.DataFrame,
    outcomes: Sequence[OutcomeSpec],
    *,
    sex_column: str,
    families: Sequence[str] = ("participation",),
) -> tuple[pd.DataFrame, tuple[OutcomeSpec, ...]]:
    """Women-respondent twins of the outcomes of ``families``.

    Parameters
    ----------
    panel
        The long panel, with the respondent's sex in ``sex_column`` (per round).
    outcomes
        The study's outcomes.
    sex_column
        Panel column holding the respondent's sex.
    families
        Families whose outcomes get a twin.

    Returns
    -------
    tuple of pandas.DataFrame and tuple of OutcomeSpec
        New panel columns (``<column>__women``, aligned with the panel) and the twin outcomes
        (family ``<family>_women``). Empty when the column is absent or holds no woman.
    """
    if sex_column not in panel.columns:
        return pd.DataFrame(index=panel.index), ()
    woman = is_woman(panel[sex_column])
    if not woman.any():
        return pd.DataFrame(index=panel.index), ()
    taken = {o.name for o in outcomes}
    columns: dict[str, pd.Series] = {}
    specs: list[OutcomeSpec] = []
    for outcome in outcomes:
        name = f"{outcome.name}{SUFFIX}"
        if outcome.family not in families or name in taken:
            continue
        mapping: dict[str, str] = {}
        for round_name, column in outcome.columns.items():
            if column not in panel.columns:
                continue
            twin = f"{column}__women"
            if twin not in columns:
                values = pd.to_numeric(panel[column], errors="coerce")
                columns[twin] = values.where(woman, np.nan)
            mapping[round_name] = twin
        if mapping:
            label = None if outcome.label is None else f"{outcome.label} (women respondents)"
            specs.append(
                OutcomeSpec(
                    name,
                    mapping,
                    family=f"{outcome.family}{SUFFIX}",
                    direction=outcome.direction,
                    label=label,
                    index=outcome.index,
                )
            )
    return pd.DataFrame(columns, index=panel.index), tuple(specs)
