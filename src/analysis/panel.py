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
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

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


NewHouseholds = Literal["keep", "quarantine"]
NEW_HOUSEHOLDS: tuple[str, ...] = get_args(NewHouseholds)


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ("hh", "round", "_row", "linkage")})


@dataclass(frozen=True)
class Panel:
    """The constructed panel and its linkage summary.

    Attributes
    ----------
    data
        One row per household and round (see the module docstring).
    linkage
        Households by arm and linkage status.
    exclusions
        Rows left out of estimation, by round and reason.
    unlinked
        The anti-join report: every household found in one round only (``hh``, ``round``,
        ``_row``, ``linkage``), attrited ones included.
    not_in_baseline
        Follow-up records set aside because their household is not in the baseline (only with
        ``new_households="quarantine"``); they are not in ``data``.
    """

    data: pd.DataFrame
    linkage: pd.DataFrame
    exclusions: pd.DataFrame
    unlinked: pd.DataFrame = field(default_factory=_no_rows)
    not_in_baseline: pd.DataFrame = field(default_factory=_no_rows)


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


def check_unique_keys(base: pd.Series, follow: pd.Series) -> None:
    """Refuse duplicated household ids on either side of the baseline × follow-up merge (case 35).

    Cleaning quarantines conflicting ids, so a duplicate here means the rounds were cleaned
    outside berdaya; a merge would multiply rows.

    Raises
    ------
    InputError
        ``merge baseline×followup: duplicate keys hh <id> (2 left, 2 right)``; ids are the
        pseudonyms of the processed data.
    """
    left, right = base.value_counts(), follow.value_counts()
    keys = sorted(set(left.index[left > 1]) | set(right.index[right > 1]), key=str)
    if not keys:
        return
    shown = ", ".join(f"hh {k} ({int(left.get(k, 0))} left, {int(right.get(k, 0))} right)" for k in keys[:3])
    more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
    raise InputError(f"merge baseline×followup: duplicate keys {shown}{more}")


def build_panel(
    rounds: Mapping[str, pd.DataFrame],
    *,
    codebook: Codebook,
    study: Study,
    new_households: NewHouseholds = "keep",
) -> Panel:
    """Link the cleaned rounds into one long household panel.

    Parameters
    ----------
    rounds
        De-identified clean tables (with constructed indicators) of ``baseline`` and ``followup``.
    codebook
        Gives the role columns (id, village, treatment, weight).
    study
        Gives the village list and clustering.
    new_households
        Follow-up households that are not in the baseline: ``keep`` them as ``followup_only``
        (new households, e.g. a refreshment sample), or ``quarantine`` them
        (``quarantined(not_in_baseline)``: probably a mistyped id).  Either way they are listed
        in :attr:`Panel.unlinked`.

    Returns
    -------
    Panel

    Raises
    ------
    InputError
        When a household id is duplicated in either round.
    ValueError
        If ``new_households`` is not one of the allowed choices.
    """
    if new_households not in NEW_HOUSEHOLDS:
        raise ValueError(f"new_households={new_households!r}: expecting one of {', '.join(NEW_HOUSEHOLDS)}")
    parts = [_standardize(rounds[r], round_name=r, codebook=codebook, study=study) for r in ROUNDS]
    base, follow = parts
    check_unique_keys(base["hh"], follow["hh"])

    # Never an implicit inner join: an outer merge with indicator, and the counts asserted.
    linked = pd.merge(
        base[["hh"]], follow[["hh"]], on="hh", how="outer", indicator=True, validate="one_to_one"
    )
    linkage = linked.set_index("hh")["_merge"].map(
        {"both": "panel", "left_only": "baseline_only", "right_only": "followup_only"}
    )
    both = int((linked["_merge"] == "both").sum())
    assert len(linkage) == base["hh"].nunique() + follow["hh"].nunique() - both
    assert int((linked["_merge"] == "left_only").sum()) == len(base) - both
    assert int((linked["_merge"] == "right_only").sum()) == len(follow) - both

    unlinked = _unlinked(base, follow, linkage)
    not_in_baseline = unlinked.loc[unlinked["linkage"] == "followup_only"].reset_index(drop=True)
    if new_households == "quarantine" and len(not_in_baseline):
        follow = follow.loc[~follow["hh"].isin(not_in_baseline["hh"])]
        linkage = linkage.loc[linkage != "followup_only"]
    else:
        not_in_baseline = _no_rows()

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
    return Panel(
        data=data, linkage=summary, exclusions=exclusions, unlinked=unlinked, not_in_baseline=not_in_baseline
    )


def _unlinked(base: pd.DataFrame, follow: pd.DataFrame, linkage: pd.Series) -> pd.DataFrame:
    """Households in one round only, with the record's spreadsheet row when known."""
    parts = []
    for part, status in ((base, "baseline_only"), (follow, "followup_only")):
        ids = linkage.index[linkage == status]
        rows = part.loc[part["hh"].isin(ids)]
        parts.append(
            pd.DataFrame(
                {
                    "hh": rows["hh"].to_numpy(),
                    "round": rows["round"].to_numpy(),
                    "_row": rows["_row"].to_numpy() if "_row" in rows else np.full(len(rows), np.nan),
                    "linkage": status,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def linkage_summary(panel: pd.DataFrame) -> dict[str, Any]:
    """Linkage counts for the run record: households by arm and by village, as plain JSON types.

    Returns
    -------
    dict
        ``households`` (total), ``by_arm`` (``{arm: {panel, baseline_only, followup_only}}``)
        and ``by_village`` (one entry per village: ``village``, ``treatment``, the three counts,
        ``baseline``, ``followup`` and ``attrition_rate``).
    """
    first = panel.drop_duplicates("hh")
    arm = first["treatment"].map({1.0: "treatment", 0.0: "comparison"}).fillna("unknown")
    by_arm_table = first.assign(arm=arm).groupby(["arm", "linkage"]).size().unstack("linkage", fill_value=0)
    by_arm = {
        str(a): {k: int(by_arm_table.loc[a].get(k, 0)) for k in ("panel", "baseline_only", "followup_only")}
        for a in by_arm_table.index
    }
    villages = linkage_by_village(panel)
    by_village = []
    for record in villages.to_dict("records"):
        rate = record["attrition_rate"]
        treatment = record["treatment"]
        by_village.append(
            {
                "village": None if pd.isna(record["village"]) else str(record["village"]),
                "treatment": None if pd.isna(treatment) else int(treatment),
                **{
                    k: int(record[k])
                    for k in ("panel", "baseline_only", "followup_only", "baseline", "followup")
                },
                "attrition_rate": None if pd.isna(rate) else round(float(rate), 6),
            }
        )
    return {"households": int(len(first)), "by_arm": by_arm, "by_village": by_village}


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
