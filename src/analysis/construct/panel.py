"""Construct the household panel from the cleaned, de-identified rounds.

The panel is long: one row per household and round, with the standard columns

``hh`` (pseudonymized id), ``round``, ``treatment`` (0/1), ``village``, ``cluster``,
``strata``, ``weight``, ``linkage`` (``panel``, ``baseline_only`` = attrited,
``followup_only`` = new), ``in_sample`` and ``exclusion_reason``,

followed by every harmonized variable and constructed indicator. Linking never uses an
implicit inner join: every household of either round is in the panel with its linkage flag.

Linkage that cannot be right stops the run (:func:`check_linkage`): when almost no follow-up
id is found in the baseline, or when many more would be found with their leading zeros
restored or a trailing ``.0`` removed (the usual spreadsheet damage). Ids are pseudonymized
before they reach this module, so the clean stage writes, per round, the de-identified forms
needed to see that (:func:`id_forms`: keyed hashes of the normalised id, its length and what
was normalised; never the id itself).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from analysis.config import ROUNDS
from analysis.construct.study_columns import check_village_list
from analysis.errors import InputError
from analysis.inputs.codebook import Codebook, treatment_value
from analysis.inputs.study import Study
from analysis.shared import layout
from analysis.shared.pseudonyms import PseudonymKey, pseudonymize
from analysis.shared.run_warnings import RunWarning

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
    warnings
        Run warnings about the linkage (a few ids that look damaged, :func:`check_linkage`).
    """

    data: pd.DataFrame
    linkage: pd.DataFrame
    exclusions: pd.DataFrame
    unlinked: pd.DataFrame = field(default_factory=_no_rows)
    not_in_baseline: pd.DataFrame = field(default_factory=_no_rows)
    warnings: tuple[RunWarning, ...] = ()


def read_villages(study: Study) -> pd.DataFrame | None:
    """The study's village list with standard column names, or None."""
    if study.villages is None:
        return None
    spec = study.villages
    frame = pd.read_csv(spec.file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    # id, name and strata must be columns of the list: a misspelled one was silently skipped.
    check_village_list(study, [str(c) for c in frame.columns])
    out = pd.DataFrame({"village": frame[spec.id].str.strip()})
    if spec.name:
        out["village_name"] = frame[spec.name]
    if spec.strata:
        out["strata"] = frame[spec.strata]
    if study.treatment in frame.columns:
        out["treatment"] = _village_list_treatment(frame[study.treatment], spec.file, study.treatment)
    cluster = study.cluster
    if cluster and cluster not in (study.village, spec.id) and cluster in frame.columns:
        # A cluster above the village (the kecamatan of a design randomized by kecamatan) is a
        # property of the village, so the village list may give it.
        out["cluster"] = frame[cluster].str.strip()
    repeated = out["village"][out["village"].duplicated()]
    if len(repeated):
        raise InputError(
            f"village code {repeated.iloc[0]} appears more than once",
            file=spec.file,
            rows=[int(i) + 2 for i in repeated.index],
            column=spec.id,
        )
    return out


def _village_list_treatment(values: pd.Series, file: Path, column: str) -> pd.Series:
    """The village list's arm as 1/0, read like the rounds' treatment (``ya``/``tidak``, ``1.0``).

    A blank cell stays missing (the rounds may give the arm); any other value that is not a
    known spelling is refused, since coercing it to missing would silently drop the village.
    """
    text = values.fillna("").astype(str).str.strip()
    read = text.map(lambda v: treatment_value(v) if v else None)
    unknown = text[(text != "") & read.isna()]
    if len(unknown):
        found = ", ".join(sorted(set(unknown))[:8])
        raise InputError(
            f"the programme arm must be 1/0 or a yes/no word (ya/tidak, treatment/control); found {found}. "
            "Recode these values in the village list",
            file=file,
            rows=[int(i) + 2 for i in unknown.index],
            column=column,
        )
    return pd.to_numeric(read, errors="coerce")


def _role_column(codebook: Codebook, role: str, fallback: str | None) -> str | None:
    named = codebook.by_role(role)
    if named:
        return named[0].name
    return fallback


def standardize(frame: pd.DataFrame, *, round_name: str, codebook: Codebook, study: Study) -> pd.DataFrame:
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


# ------------------------------------------------------------------------ linkage checks

#: Below this share of the smaller round's households linked, the rounds are not a panel.
MIN_LINKED_SHARE = 0.05

#: Columns of ``<round>_id_forms.parquet`` (:func:`id_forms`).
ID_FORM_COLUMNS: tuple[str, ...] = ("hh", "canonical", "digits", "leading_zeros", "point_zero")

_POINT_ZERO = re.compile(r"([+-]?[0-9]+)[.,]0+")
_DIGITS = re.compile(r"[0-9]+")


def canonical_id(text: str) -> tuple[str, int, bool, bool]:
    """An id with the usual spreadsheet damage undone, and which damage it showed.

    A trailing ``.0`` (the id went through a floating-point number) is removed, then the
    leading zeros of an all-digit id; other ids are only stripped of surrounding spaces.

    Returns
    -------
    tuple
        ``(canonical form, characters as written without a .0, had a trailing .0, had leading
        zeros)``.

    >>> canonical_id("01001"), canonical_id("1001.0"), canonical_id("A-01")
    (('1001', 5, False, True), ('1001', 4, True, False), ('A-01', 4, False, False))
    """
    form = text.strip()
    point_zero = False
    match = _POINT_ZERO.fullmatch(form)
    if match:
        form, point_zero = match.group(1), True
    written = len(form)
    zeros = bool(_DIGITS.fullmatch(form)) and written > 1 and form.startswith("0")
    if zeros:
        form = form.lstrip("0") or "0"
    return form, written, point_zero, zeros


def id_forms(ids: pd.Series, *, key: PseudonymKey) -> pd.DataFrame:
    """De-identified forms of one round's household ids, for :func:`check_linkage`.

    The linkage check must compare ids the way a person would (``01001`` is ``1001``), but
    only pseudonyms may be written to the processed folder. Each distinct id therefore gives
    its pseudonym (``hh``, as in the clean table), a keyed hash of its canonical form
    (:func:`canonical_id`; under a separate label, so it never equals another id's pseudonym),
    its number of characters as written, and whether it had leading zeros or a trailing
    ``.0``. Nothing here can be turned back into an id without the key.

    Parameters
    ----------
    ids
        The round's household ids as cleaned (text), before pseudonymization.
    key
        The pseudonymization key of the clean stage.

    Returns
    -------
    pandas.DataFrame
        One row per distinct id, columns :data:`ID_FORM_COLUMNS`.
    """
    distinct = pd.Series(ids.dropna().astype(str).unique(), dtype=object)
    forms = [canonical_id(text) for text in distinct]
    # HMAC-SHA256 under the key, from a copy of the keyed state rather than keying it again for
    # each of a national round's 200,000 ids (the same digests).
    keyed = hmac.new(key.secret, digestmod=hashlib.sha256)

    def canonical_hash(form: str) -> str:
        digest = keyed.copy()
        digest.update(f"canonical-id\0{form}".encode())
        return digest.hexdigest()[:16]

    return pd.DataFrame(
        {
            "hh": pseudonymize(distinct, key=key),
            "canonical": pd.Series([canonical_hash(form) for form, _, _, _ in forms], dtype=object),
            "digits": pd.Series([written for _, written, _, _ in forms], dtype="int64"),
            "leading_zeros": pd.Series([zeros for _, _, _, zeros in forms], dtype=bool),
            "point_zero": pd.Series([point for _, _, point, _ in forms], dtype=bool),
        },
        columns=list(ID_FORM_COLUMNS),
    )


def round_id_forms(
    clean: pd.DataFrame, *, codebook: Codebook, study: Study, key: PseudonymKey
) -> pd.DataFrame:
    """:func:`id_forms` of a clean round (before de-identification), found by the id's role."""
    column = _role_column(codebook, "household_id", study.id)
    if column is None or column not in clean.columns:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in ID_FORM_COLUMNS})
    return id_forms(clean[column], key=key)


def read_id_forms(processed: Path) -> dict[str, pd.DataFrame] | None:
    """Both rounds' ``<round>_id_forms.parquet``, or None when the clean stage did not write them."""
    paths = {r: Path(processed) / layout.id_forms_parquet(r) for r in ROUNDS}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {r: pd.read_parquet(p) for r, p in paths.items()}


def _id_source(codebook: Codebook, study: Study, round_name: str) -> str:
    """The raw column holding the household id in ``round_name`` (for messages)."""
    named = codebook.by_role("household_id")
    if named:
        return named[0].sources.get(round_name, named[0].name)
    return study.id


@dataclass(frozen=True)
class _Repair:
    """Unlinked follow-up ids that a normalised form would link, and how."""

    count: int = 0
    damaged: str = "followup"
    width: int | None = None
    point_zero: bool = False

    def how(self) -> str:
        parts = []
        if self.width is not None:
            parts.append(f"leading zeros restored to {self.width} digits")
        if self.point_zero:
            parts.append("the trailing .0 removed")
        return " and ".join(parts) or "their written form normalised"


def _repairs(
    unlinked_base: set[Any], unlinked_follow: set[Any], forms: Mapping[str, pd.DataFrame]
) -> _Repair:
    """How many unlinked follow-up ids match an unlinked baseline id in canonical form."""
    base = forms["baseline"].loc[forms["baseline"]["hh"].isin(unlinked_base)]
    follow = forms["followup"].loc[forms["followup"]["hh"].isin(unlinked_follow)]
    pairs = follow.merge(base, on="canonical", suffixes=("_f", "_b"))
    if pairs.empty:
        return _Repair()
    count = int(pairs["hh_f"].nunique())
    # The damaged round is the one whose ids lost their zeros or gained a .0.
    zeros_b, zeros_f = int(pairs["leading_zeros_b"].sum()), int(pairs["leading_zeros_f"].sum())
    point_b, point_f = int(pairs["point_zero_b"].sum()), int(pairs["point_zero_f"].sum())
    damaged = "followup" if (zeros_b - zeros_f) + (point_f - point_b) >= 0 else "baseline"
    intact, lost = ("_b", "_f") if damaged == "followup" else ("_f", "_b")
    padded = pairs.loc[pairs[f"leading_zeros{intact}"] & ~pairs[f"leading_zeros{lost}"]]
    digits = padded[f"digits{intact}"]
    width = int(digits.mode().iloc[0]) if len(digits) else None
    point = bool(pairs["point_zero_f" if damaged == "followup" else "point_zero_b"].any())
    return _Repair(count=count, damaged=damaged, width=width, point_zero=point)


def check_linkage(
    base: pd.Series,
    follow: pd.Series,
    *,
    files: Mapping[str, str],
    columns: Mapping[str, str],
    forms: Mapping[str, pd.DataFrame] | None = None,
    cross_sections: bool = False,
    study_file: str = "the study file",
    cross_section_fix: str | None = None,
) -> list[RunWarning]:
    """Stop when the household linkage between the rounds cannot be right.

    Fewer than :data:`MIN_LINKED_SHARE` of the smaller round's households linked (none, or a
    handful by chance) means the rounds are not one panel: the ids were damaged (leading zeros
    lost, a ``.0`` added), re-coded, or the rounds are a repeated cross-section. Run on, that
    would report an attrition of 100 %. With the :func:`id_forms` of both rounds the message
    says whether, and how, the ids would link once normalised; so does a partial repair that
    would link at least as many more households. A few such ids are a run warning instead.

    A study that declares repeated cross-sections (``did_fixed_effects: none``, the pooled
    difference-in-differences, which links nobody) may have no linked household: that is a run
    warning. Damaged ids are refused all the same.

    Parameters
    ----------
    base, follow
        Each round's (pseudonymized) household ids.
    files
        Each round's raw file name, for the message.
    columns
        Each round's raw id column, for the message.
    forms
        Each round's :func:`id_forms`, or None.
    cross_sections
        The study declares repeated cross-sections (``did_fixed_effects: none``).
    study_file
        The study file's name, for the message.
    cross_section_fix
        What the message tells a study of repeated cross-sections to do; by default, to set
        ``did_fixed_effects: none`` (a study of more rounds is told to leave out ``id``).

    Returns
    -------
    list of RunWarning
        ``id_forms``: a few unlinked ids that would link once normalised;
        ``repeated_cross_sections``: almost no household linked in a study that declares
        repeated cross-sections.

    Raises
    ------
    InputError
        Naming the damaged file and id column, the counts, and the fix.
    """
    in_base, in_follow = set(base.dropna()), set(follow.dropna())
    if not in_base or not in_follow:
        return []
    linked = in_base & in_follow
    floor = MIN_LINKED_SHARE * min(len(in_base), len(in_follow))
    repair = _Repair() if forms is None else _repairs(in_base - linked, in_follow - linked, forms)
    found = f"{len(linked)} of {len(in_follow)} follow-up ids appear in the baseline ({len(in_base)} ids)"
    if repair.count and (len(linked) < floor or repair.count >= floor):
        file, column = files[repair.damaged], columns[repair.damaged]
        what = "ids lost their leading zeros (a spreadsheet read them as numbers)"
        if repair.point_zero:
            what = (
                "ids went through a floating-point number"
                if repair.width is None
                else "ids went through a number, losing their leading zeros"
            )
        fix = f"re-export {file} with {column} stored as text"
        if repair.width is not None:
            zeros = "0" * repair.width
            fix += f', or pad {column} to {repair.width} digits (in a spreadsheet: =TEXT(A2,"{zeros}"))'
        raise InputError(
            f"{found}; {repair.count}{' more' if linked else ''} would match with {repair.how()}: "
            f"the {repair.damaged} {what}. "
            f"Fix: {fix}, then run again",
            file=file,
            column=column,
        )
    if len(linked) < floor and cross_sections:
        return [
            RunWarning(
                "construct",
                "repeated_cross_sections",
                f"{found}: the rounds are analysed as repeated cross-sections "
                "(did_fixed_effects: none), so no household is followed over time",
            )
        ]
    if len(linked) < floor:
        checked = (
            ", and restoring leading zeros or removing a trailing .0 links no more"
            if forms is not None
            else " (check that both files write the ids the same way: leading zeros, a trailing .0)"
        )
        raise InputError(
            f"{found}{checked}: the rounds are not one household panel (ids re-coded between "
            "rounds, or different households in each round). berdaya needs a household panel "
            "here: if the ids were re-coded, add each household's baseline id to "
            f"{files['followup']} and name that column in `id`; if the rounds are repeated "
            "cross-sections by design, "
            + (
                cross_section_fix
                or f"set did_fixed_effects: none in {study_file} (the pooled difference-in-differences, "
                "which links no household)"
            ),
            file=files["followup"],
            column=columns["followup"],
        )
    if repair.count:
        return [
            RunWarning(
                "construct",
                "id_forms",
                f"{repair.count} follow-up ids not found in the baseline would match a baseline id "
                f"with {repair.how()}; they count as new households and their baseline match as "
                f"attrited (check {columns[repair.damaged]} in {files[repair.damaged]})",
            )
        ]
    return []


def build_panel(
    rounds: Mapping[str, pd.DataFrame],
    *,
    codebook: Codebook,
    study: Study,
    new_households: NewHouseholds = "keep",
    id_forms: Mapping[str, pd.DataFrame] | None = None,
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
    id_forms
        Each round's :func:`id_forms` (written by the clean stage), to tell damaged ids from a
        repeated cross-section; without them linkage is still checked, with a vaguer message.

    Returns
    -------
    Panel

    Raises
    ------
    InputError
        When a household id is duplicated in either round, or when the linkage cannot be right
        (:func:`check_linkage`).
    ValueError
        If ``new_households`` is not one of the allowed choices.
    """
    if new_households not in NEW_HOUSEHOLDS:
        raise ValueError(f"new_households={new_households!r}: expecting one of {', '.join(NEW_HOUSEHOLDS)}")
    parts = [standardize(rounds[r], round_name=r, codebook=codebook, study=study) for r in ROUNDS]
    base, follow = parts
    check_unique_keys(base["hh"], follow["hh"])
    id_columns = {r: _id_source(codebook, study, r) for r in ROUNDS}
    warnings = check_linkage(
        base["hh"],
        follow["hh"],
        files={r: study.rounds[r].file.name for r in ROUNDS},
        columns=id_columns,
        forms=id_forms,
        cross_sections=study.did_fixed_effects == "none",
        study_file=study.path.name,
    )

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

    data = pd.concat([base, follow], ignore_index=True, sort=False)
    # Households as integer codes (missing ids included, as a lookup by id would treat them):
    # looking 400,000 text ids up in an index of 200,000 took most of the stage at national
    # scale; the same lookups by code give the same values.
    codes = pd.Series(pd.factorize(data["hh"], use_na_sentinel=False)[0], index=data.index)
    base_codes, follow_codes = codes.iloc[: len(base)].to_numpy(), codes.iloc[len(base) :].to_numpy()

    def by_household(column: str) -> pd.Series:
        """The household's value of ``column``: baseline's when present there, else follow-up's."""
        first = pd.Series(base[column].to_numpy(), index=base_codes)
        return first.combine_first(pd.Series(follow[column].to_numpy(), index=follow_codes))

    # Linkage by code: in both rounds, baseline only or follow-up only, as the merge above found.
    in_base = np.zeros(len(data), dtype=bool)
    in_base[base_codes] = True
    in_follow = np.zeros(len(data), dtype=bool)
    in_follow[follow_codes] = True
    status = np.where(in_base & in_follow, "panel", np.where(in_base, "baseline_only", "followup_only"))
    data["linkage"] = pd.Series(status.astype(object)[codes.to_numpy()], index=data.index, dtype=object)
    # The arm is a property of the household, taken from baseline when present there.
    data["treatment"] = pd.to_numeric(codes.map(by_household("treatment")), errors="coerce")
    data["village"] = codes.map(by_household("village"))
    if "village_name" in data.columns:
        # Names from the value labels of a .dta/.sav village code (clean stage): one per village,
        # also on a row whose own round was unlabelled; a village list's names replace them below.
        labelled = data.dropna(subset=["village", "village_name"]).drop_duplicates("village")
        data["village_name"] = data["village"].map(labelled.set_index("village")["village_name"])

    villages = read_villages(study)
    if villages is not None:
        data["village"] = data["village"].astype(object).where(data["village"].notna(), None)
    add_village_list(data, villages, study=study)

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
    data = data[ordered].take(sort_order(data, ["round", "village", "hh"])).reset_index(drop=True)

    summary, exclusions = panel_counts(data)
    return Panel(
        data=data,
        linkage=summary,
        exclusions=exclusions,
        unlinked=unlinked,
        not_in_baseline=not_in_baseline,
        warnings=tuple(warnings),
    )


def sort_order(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Row positions of ``frame.sort_values(columns, kind="stable", na_position="last")``.

    Each column is sorted as integer codes of its sorted values (missing last), which is how
    pandas orders several columns, without comparing 400,000 text ids again and again.
    """
    keys = []
    for column in reversed(columns):  # np.lexsort: the last key is the primary one
        codes, uniques = pd.factorize(frame[column], sort=True)
        keys.append(np.where(codes < 0, len(uniques), codes))
    return np.lexsort(keys)


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


def panel_counts(data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Households by arm and linkage (each counted once), and excluded rows by round and reason.

    Parameters
    ----------
    data
        A panel (two rounds or more): ``hh``, ``treatment``, ``linkage``, ``round``,
        ``in_sample`` and ``exclusion_reason``.

    Returns
    -------
    tuple of (pandas.DataFrame, pandas.DataFrame)
        ``arm, linkage, households`` and ``round, exclusion_reason, rows``.
    """
    first = data.drop_duplicates("hh")
    linkage = (
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
    return linkage, exclusions


def add_village_list(data: pd.DataFrame, villages: pd.DataFrame | None, *, study: Study) -> None:
    """Fill the rows' arm, name, stratum and cluster from the village list (in place).

    The arm is taken from the list only where the data have none; a study without a cluster
    column clusters by village when it has villages. ``village_name`` and ``strata`` exist
    afterwards, empty without a list.
    """
    if villages is not None:
        info = villages.set_index("village")
        if "treatment" in info and data["treatment"].isna().any():
            from_list = data["village"].map(info["treatment"])
            data["treatment"] = data["treatment"].combine_first(from_list)
        for column in ("village_name", "strata"):
            if column in info:
                data[column] = data["village"].map(info[column])
        if "cluster" in info and "cluster" not in data.columns:
            data["cluster"] = data["village"].map(info["cluster"])
    if "cluster" not in data.columns:
        data["cluster"] = data["village"] if study.cluster_column else None
    for column in ("village_name", "strata"):
        if column not in data.columns:
            data[column] = None
