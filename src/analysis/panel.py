"""Construct the household panel from the cleaned, de-identified rounds.

The panel is long: one row per household and round, with the standard columns

``hh`` (pseudonymized id), ``round``, ``treatment`` (0/1), ``village``, ``cluster``,
``strata``, ``weight``, ``linkage`` (``panel``, ``baseline_only`` = attrited,
``followup_only`` = new), ``in_sample`` and ``exclusion_reason``,

followed by every harmonized variable and constructed indicator. Linking never uses an
implicit inner join: every household of either round is in the panel with its linkage flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.codebook import Codebook
from analysis.config import ROUNDS
from analysis.errors import InputError
from analysis.study import Study

STANDARD = (
    "hh",
    "round",
    "treatment",
    "village",
    "village_name",
    "cluster",
    "strata",
    "weight",
    "linkage",
    "in_sample",
    "exclusion_reason",
)


@dataclass(frozen=True)
class Panel:
    """The constructed panel and its linkage summary."""

    data: pd.DataFrame
    linkage: pd.DataFrame
    exclusions: pd.DataFrame


def read_villages(study: Study) -> pd.DataFrame | None:
    """The study's village list with standard column names, or None."""
    if study.villages is None:
        return None
    spec = study.villages
    frame = pd.read_csv(spec.file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if spec.id not in frame.columns:
        raise InputError(
            f"the village list has no column `{spec.id}` (set villages.id in the study file)",
            file=spec.file,
            rows=[1],
        )
    out = pd.DataFrame({"village": frame[spec.id].str.strip()})
    if spec.name and spec.name in frame.columns:
        out["village_name"] = frame[spec.name]
    if spec.strata and spec.strata in frame.columns:
        out["strata"] = frame[spec.strata]
    if study.treatment in frame.columns:
        out["treatment"] = pd.to_numeric(frame[study.treatment], errors="coerce")
    repeated = out["village"][out["village"].duplicated()]
    if len(repeated):
        raise InputError(
            f"village code {repeated.iloc[0]} appears more than once",
            file=spec.file,
            rows=[int(i) + 2 for i in repeated.index],
            column=spec.id,
        )
    return out


def _role_column(codebook: Codebook, role: str, fallback: str | None) -> str | None:
    named = codebook.by_role(role)
    if named:
        return named[0].name
    return fallback


def _standardize(frame: pd.DataFrame, *, round_name: str, codebook: Codebook, study: Study) -> pd.DataFrame:
    """Give one round the standard column names."""
    id_col = _role_column(codebook, "household_id", study.id)
    village_col = _role_column(codebook, "village", study.village)
    treat_col = _role_column(codebook, "treatment", study.treatment)
    weight_col = _role_column(codebook, "weight", study.weights)
    cluster_col = study.cluster if study.cluster and study.cluster != study.village else None
    out = frame.copy()
    out.insert(0, "round", round_name)
    out.insert(0, "hh", frame[id_col].astype(object))
    out["village"] = frame[village_col].astype(object) if village_col in frame else None
    out["treatment"] = frame[treat_col] if treat_col in frame else np.nan
    out["weight"] = frame[weight_col] if weight_col in frame else 1.0
    if cluster_col and cluster_col in frame:
        out["cluster"] = frame[cluster_col].astype(object)
    return out


def build_panel(rounds: Mapping[str, pd.DataFrame], *, codebook: Codebook, study: Study) -> Panel:
    """Link the cleaned rounds into one long household panel.

    Parameters
    ----------
    rounds
        De-identified clean tables (with constructed indicators) of ``baseline`` and ``followup``.
    codebook
        Gives the role columns (id, village, treatment, weight).
    study
        Gives the village list and clustering.

    Returns
    -------
    Panel
    """
    parts = [_standardize(rounds[r], round_name=r, codebook=codebook, study=study) for r in ROUNDS]
    base, follow = parts
    for part, name in ((base, "baseline"), (follow, "followup")):
        dup = part["hh"][part["hh"].duplicated()]
        # Cleaning quarantines conflicting ids; a duplicate here means the rounds were
        # cleaned outside berdaya. Merging would multiply rows, so stop.
        if len(dup):
            raise InputError(f"merge baseline×followup: duplicate household ids in the {name} round")

    linked = pd.merge(
        base[["hh"]], follow[["hh"]], on="hh", how="outer", indicator=True, validate="one_to_one"
    )
    linkage = linked.set_index("hh")["_merge"].map(
        {"both": "panel", "left_only": "baseline_only", "right_only": "followup_only"}
    )
    assert len(linkage) == base["hh"].nunique() + follow["hh"].nunique() - int(
        (linked["_merge"] == "both").sum()
    )

    # The arm is a property of the household, taken from baseline when present there.
    treat = base.set_index("hh")["treatment"].combine_first(follow.set_index("hh")["treatment"])
    village = base.set_index("hh")["village"].combine_first(follow.set_index("hh")["village"])

    data = pd.concat([base, follow], ignore_index=True, sort=False)
    data["linkage"] = data["hh"].map(linkage).astype(object)
    data["treatment"] = pd.to_numeric(data["hh"].map(treat), errors="coerce")
    data["village"] = data["hh"].map(village)

    villages = read_villages(study)
    if villages is not None:
        data["village"] = data["village"].astype(object).where(data["village"].notna(), None)
        info = villages.set_index("village")
        if "treatment" in info and data["treatment"].isna().any():
            from_list = data["village"].map(info["treatment"])
            data["treatment"] = data["treatment"].combine_first(from_list)
        for column in ("village_name", "strata"):
            if column in info:
                data[column] = data["village"].map(info[column])
    if "cluster" not in data.columns:
        data["cluster"] = data["village"] if study.cluster_column else None
    for column in ("village_name", "strata"):
        if column not in data.columns:
            data[column] = None

    reason = np.full(len(data), "", dtype=object)
    treatment = data["treatment"]
    reason[(~treatment.isin([0, 1]) & treatment.notna()).to_numpy()] = "invalid_treatment"
    reason[treatment.isna().to_numpy()] = "missing_treatment"
    if study.cluster_column:
        no_cluster = data["cluster"].isna().to_numpy() & (reason == "")
        reason[no_cluster] = "missing_cluster"
    weight = pd.to_numeric(data["weight"], errors="coerce")
    reason[(weight.isna() | (weight <= 0)).to_numpy() & (reason == "")] = "invalid_weight"
    data["weight"] = weight
    data["exclusion_reason"] = reason
    data["in_sample"] = reason == ""

    ordered = list(STANDARD) + [c for c in data.columns if c not in STANDARD]
    data = data[ordered].sort_values(["round", "village", "hh"], kind="stable", na_position="last")
    data = data.reset_index(drop=True)

    first = data.drop_duplicates("hh")
    summary = (
        first.assign(arm=first["treatment"].map({1.0: "treatment", 0.0: "comparison"}).fillna("unknown"))
        .groupby(["arm", "linkage"], dropna=False)
        .size()
        .rename("households")
        .reset_index()
    )
    exclusions = (
        data.loc[~data["in_sample"]]
        .groupby(["round", "exclusion_reason"])
        .size()
        .rename("rows")
        .reset_index()
    )
    return Panel(data=data, linkage=summary, exclusions=exclusions)


def linkage_by_village(panel: pd.DataFrame) -> pd.DataFrame:
    """Households per village and arm by linkage status (panel, attrited, new)."""
    first = panel.drop_duplicates("hh")
    table = (
        first.groupby(["village", "treatment", "linkage"], dropna=False)
        .size()
        .unstack("linkage", fill_value=0)
        .reset_index()
    )
    for column in ("panel", "baseline_only", "followup_only"):
        if column not in table.columns:
            table[column] = 0
    table["baseline"] = table["panel"] + table["baseline_only"]
    table["followup"] = table["panel"] + table["followup_only"]
    table["attrition_rate"] = table["baseline_only"] / table["baseline"].where(table["baseline"] > 0)
    return table
