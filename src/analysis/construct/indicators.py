"""Constructed indicators, built once, in one place, for every round.

Each function takes one round's de-identified, harmonized table and returns the indicator;
:func:`construct` adds every indicator whose ingredients the codebook provides. Because both
rounds go through the same code, baseline and follow-up indicators are exactly comparable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.inputs.codebook import Codebook
from analysis.methods.income import ihs, oecd_modified_scale, winsorize_upper

#: Indicators this module can build, with the codebook roles each needs. Labels are shown in
#: reports when the codebook has no row of that name.
CONSTRUCTED: dict[str, dict[str, str]] = {
    "income_total": {
        "needs": "income_component",
        "label_en": "Household income (Rp/month)",
        "label_id": "Pendapatan rumah tangga (Rp/bulan)",
    },
    "income_pc": {
        "needs": "income_component,household_size",
        "label_en": "Income per person (Rp/month)",
        "label_id": "Pendapatan per kapita (Rp/bulan)",
    },
    "income_ae": {
        "needs": "income_component,adults,children",
        "label_en": "Income per adult equivalent, OECD-modified (Rp/month)",
        "label_id": "Pendapatan per ekuivalen dewasa, OECD termodifikasi (Rp/bulan)",
    },
    "income_pc_real": {
        "needs": "income_component,household_size",
        "label_en": "Income per person, baseline prices (Rp/month)",
        "label_id": "Pendapatan per kapita, harga dasar (Rp/bulan)",
    },
    "income_pc_w99": {
        "needs": "income_component,household_size",
        "label_en": "Income per person, winsorized at p99 (Rp/month)",
        "label_id": "Pendapatan per kapita, winsorisasi p99 (Rp/bulan)",
    },
    "income_pc_ihs": {
        "needs": "income_component,household_size",
        "label_en": "Income per person, inverse hyperbolic sine of Rp '000",
        "label_id": "Pendapatan per kapita, sinus hiperbolik invers (Rp ribu)",
    },
    "poor": {
        "needs": "income_component,household_size",
        "label_en": "Below the BPS poverty line (income-based proxy)",
        "label_id": "Di bawah garis kemiskinan BPS (proksi pendapatan)",
    },
    "participation_score": {
        "needs": "ladder",
        "label_en": "Participation score (rungs reached, 0–6)",
        "label_id": "Skor partisipasi (jumlah anak tangga, 0–6)",
    },
}


def _names(codebook: Codebook, role: str, frame: pd.DataFrame) -> list[str]:
    return [v.name for v in codebook.by_role(role) if v.name in frame.columns]


def household_income(frame: pd.DataFrame, components: list[str]) -> pd.Series:
    """Monthly household income: the sum of its sources.

    Missing when any source is missing: a refused wage amount makes the total unknown, and
    treating it as zero would bias income down.
    """
    return (
        frame[components].sum(axis=1, min_count=len(components)).where(frame[components].notna().all(axis=1))
    )


def participation_score(frame: pd.DataFrame, rungs: list[str]) -> pd.Series:
    """Rungs of the participation ladder reached (0 to the number of rungs); missing if any rung is."""
    return frame[rungs].sum(axis=1).where(frame[rungs].notna().all(axis=1))


def construct(
    frame: pd.DataFrame,
    *,
    codebook: Codebook,
    cpi: float | None = None,
    base_cpi: float | None = None,
    poverty_line: float | None = None,
    winsor_quantile: float = 0.99,
) -> pd.DataFrame:
    """Add every constructed indicator whose ingredients are present.

    Parameters
    ----------
    frame
        One round's harmonized table.
    codebook
        Gives the roles (income components, household size, ladder rungs, ...).
    cpi, base_cpi
        Consumer price index of this round and of the baseline; real income is in baseline prices.
    poverty_line
        Rp per person per month, in baseline prices. Without it, ``poor`` is not built.
    winsor_quantile
        Upper quantile for ``income_pc_w99``, computed within this round on the pooled arms.

    Returns
    -------
    pandas.DataFrame
        A copy of ``frame`` with the new columns.
    """
    out = frame.copy()
    components = _names(codebook, "income_component", out)
    size = _names(codebook, "household_size", out)
    if components:
        out["income_total"] = household_income(out, components)
        if size:
            persons = out[size[0]].where(out[size[0]] > 0)
            out["income_pc"] = out["income_total"] / persons
            deflator = 1.0 if not (cpi and base_cpi) else base_cpi / cpi
            out["income_pc_real"] = out["income_pc"] * deflator
            out["income_pc_w99"] = winsorize_upper(out["income_pc"], q=winsor_quantile)
            # The IHS depends on the unit, so it is fixed here: Rp '000 per person per month.
            out["income_pc_ihs"] = ihs(out["income_pc"] / 1000.0)
            if poverty_line is not None:
                out["poor"] = (
                    (out["income_pc_real"] < poverty_line)
                    .astype("float64")
                    .where(out["income_pc_real"].notna())
                )
        adults, children = _names(codebook, "adults", out), _names(codebook, "children", out)
        if adults and children:
            scale = oecd_modified_scale(out[adults[0]], out[children[0]])
            out["income_ae"] = out["income_total"] / np.where(scale > 0, scale, np.nan)
    rungs = _names(codebook, "ladder", out)
    if rungs:
        out["participation_score"] = participation_score(out, rungs)
    return out
