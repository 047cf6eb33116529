"""Statistical disclosure control for published reports (``docs/bad-inputs.md`` §2.4–2.5).

Rules applied by every report:

- **Primary suppression.** A count of the households of a group (a village, an arm) that is not
  zero but below ``min_cell`` is hidden, and so is any statistic (mean, median, share, headcount,
  estimate) computed from fewer than ``min_cell`` households.
- **Complementary suppression.** When a hidden count could be worked out from published totals
  (``found again = surveyed − not found``), more cells are hidden until no hidden cell is
  determined by the published ones. :func:`suppress_counts` checks this exactly with linear
  algebra over the table's additive constraints, so it works for one-way lists with a total and
  for two-way tables with margins alike.
- **Rates follow their counts.** A rate is published exactly where its base count is published
  (the households not found again are a fieldwork count, so a response rate is never a secret
  of its own), and hidden with its base. :func:`rate_display` keeps the older bound form
  (``≥ 55%``) for tables that still hide a numerator.
- **Top-coding.** Income shown in figures is capped at a pooled upper quantile.
- **Fieldwork and cleaning counts are published at any size.** Households not found again,
  households new at follow-up, and records quarantined, excluded or corrected describe the
  survey and the cleaning, not anything a household answered (:data:`FIELDWORK_COUNTS`).

The same rules make the **public tier** of the estimate stage's tables (``tables/``, which the
reports, the index and the replication package's ``expected/`` are built from); the **internal
tier** (``<processed>/internal/``) holds the same files unsuppressed for the evaluator and is
never published. :func:`public_tables` turns the one into the other; :func:`disclosure_rule` is
the paragraph a report shows to state the rule. ``docs/disclosure.md`` explains the policy.

:func:`scan_html` is the check run on finished pages: no personal value, no count below
``min_cell`` and no statistic from a base below ``min_cell``.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Generic, Literal, TypeVar

import numpy as np
import pandas as pd

from analysis.shared import layout

#: The smallest ``min_cell`` any report accepts (``study.py`` refuses lower values as well).
MIN_CELL_FLOOR = 5

K = TypeVar("K", bound=Hashable)


def check_min_cell(min_cell: int) -> int:
    """``min_cell`` when it is at least :data:`MIN_CELL_FLOOR`; raises otherwise."""
    if int(min_cell) < MIN_CELL_FLOOR:
        raise ValueError(f"min_cell is {min_cell}; it may not be below {MIN_CELL_FLOOR}")
    return int(min_cell)


def is_small(count: float, min_cell: int) -> bool:
    """Whether a count must be hidden: above zero and below ``min_cell``.

    A zero is published: it says nothing about any household's answers, and hiding zeros would
    hide most of a small village's tables for no protection.
    """
    return 0 < count < min_cell


@dataclass(frozen=True)
class SuppressedTable(Generic[K]):
    """Counts after suppression.

    Attributes
    ----------
    values
        Every cell's true count (never published where it is hidden).
    hidden
        Cells to hide.
    primary
        The hidden cells that are themselves small (the others are complementary).
    """

    values: Mapping[K, int]
    hidden: frozenset[K]
    primary: frozenset[K]

    def shown(self, key: K) -> int | None:
        """The count to publish, or None when it is hidden."""
        return None if key in self.hidden else int(self.values[key])


Constraints = Mapping[K, Sequence[K]] | Sequence[tuple[K, Sequence[K]]]


def _pairs(totals: Constraints[K] | None) -> list[tuple[K, Sequence[K]]]:
    if totals is None:
        return []
    if isinstance(totals, Mapping):
        return list(totals.items())
    return list(totals)


def _constraint_matrix(keys: Sequence[K], totals: Sequence[tuple[K, Sequence[K]]]) -> np.ndarray:
    position = {k: i for i, k in enumerate(keys)}
    rows = []
    for total, parts in totals:
        row = np.zeros(len(keys))
        row[position[total]] = 1.0
        for part in parts:
            row[position[part]] -= 1.0
        rows.append(row)
    return np.array(rows).reshape(len(rows), len(keys))


def recoverable(keys: Sequence[K], totals: Constraints[K], hidden: Iterable[K]) -> set[K]:
    """The hidden cells whose value is determined exactly by the published cells.

    With ``A x = 0`` the table's additive constraints, the published cells ``S`` and the hidden
    ones ``U`` satisfy ``A_U x_U = −A_S x_S``. A hidden cell ``j`` is determined exactly when the
    unit vector ``e_j`` lies in the row space of ``A_U``, i.e. adding it does not raise the rank.
    """
    pairs = _pairs(totals)
    hidden_keys = [k for k in keys if k in set(hidden)]
    if not hidden_keys or not pairs:
        return set()
    matrix = _constraint_matrix(keys, pairs)
    columns = [keys.index(k) for k in hidden_keys]
    sub = matrix[:, columns]
    rank = np.linalg.matrix_rank(sub) if sub.size else 0
    found = set()
    for j, key in enumerate(hidden_keys):
        unit = np.zeros((1, len(hidden_keys)))
        unit[0, j] = 1.0
        if np.linalg.matrix_rank(np.vstack([sub, unit])) == rank:
            found.add(key)
    return found


def suppress_counts(
    values: Mapping[K, int],
    *,
    totals: Constraints[K] | None = None,
    min_cell: int,
    hide: Iterable[K] = (),
    publish: Iterable[K] = (),
) -> SuppressedTable[K]:
    """Primary and complementary suppression of a table of household counts.

    Parameters
    ----------
    values
        Every cell of the table, totals included, keyed by any hashable (``"lost"``,
        ``("lost", "programme")``).
    totals
        For each total cell, the cells that add up to it (``{"baseline": ["panel", "lost"]}``),
        or a list of ``(total, parts)`` pairs when a cell is the total of several constraints
        (the corner of a two-way table with margins).
    min_cell
        The smallest count that may be published (at least 5).
    hide
        Cells to hide whatever their size: hidden by another table that shares them (an arm
        hidden in the village table is hidden in every table by arm).
    publish
        Cells published at any size (fieldwork and cleaning counts, :data:`FIELDWORK_COUNTS`):
        never hidden, neither as primary nor as complementary cells. A cell that these
        published cells determine on their own is published too, since hiding it protects
        nothing.

    Returns
    -------
    SuppressedTable
        The cells to hide. Complementary cells are chosen greedily, smallest count first
        (the least information lost), among the cells sharing a constraint with a cell that is
        still recoverable; the loop ends when no hidden cell is determined by the others.
    """
    check_min_cell(min_cell)
    pairs = _pairs(totals)
    keys = list(values)
    published = set(publish)
    if published & set(hide):
        raise ValueError(f"cells both hidden and published: {sorted(map(str, published & set(hide)))}")
    if published:
        published |= recoverable(keys, pairs, [k for k in keys if k not in published])
    primary = {k for k in keys if is_small(values[k], min_cell) and k not in published}
    hidden = primary | (set(hide) & set(keys)) - published
    while True:
        exposed = recoverable(keys, pairs, hidden)
        if not exposed:
            break
        candidates: set[K] = set()
        for key in exposed:
            for total, parts in pairs:
                members = {total, *parts}
                if key in members:
                    candidates |= members - hidden - published
        if not candidates:  # not seen in berdaya's tables; hiding more could not help
            hidden |= exposed
            break
        # Deterministic choice: the smallest count, then the table's own order.
        choice = min(candidates, key=lambda k: (values[k], keys.index(k)))
        hidden.add(choice)
    return SuppressedTable(values=dict(values), hidden=frozenset(hidden), primary=frozenset(primary))


def rate_display(numerator: int, denominator: int, *, min_cell: int) -> tuple[float | None, float | None]:
    """A rate that respects the suppression of its counts.

    Returns
    -------
    tuple
        ``(rate, None)`` when the rate may be published exactly; ``(None, bound)`` when the
        numerator or its complement is hidden, where ``bound`` is the lower bound on the rate
        that the hidden count already implies (``(denominator − (min_cell − 1)) / denominator``
        when the complement is small); ``(None, None)`` when the base is itself too small or the
        numerator is small.
    """
    if denominator < min_cell or denominator <= 0:
        return None, None
    complement = denominator - numerator
    if is_small(numerator, min_cell):
        return None, None
    if is_small(complement, min_cell):
        return None, max(0.0, (denominator - (min_cell - 1)) / denominator)
    return numerator / denominator, None


def safe_statistic(
    values: pd.Series, *, statistic: Literal["mean", "median"], min_cell: int
) -> tuple[float, int]:
    """A mean or median with its base, NaN when fewer than ``min_cell`` values are present."""
    data = pd.to_numeric(values, errors="coerce").dropna()
    n = len(data)
    if n < min_cell:
        return float("nan"), n
    return (float(data.median()) if statistic == "median" else float(data.mean())), n


def top_code(
    values: pd.Series, *, quantile: float = 0.99, cap: float | None = None
) -> tuple[pd.Series, float]:
    """Cap ``values`` at ``cap`` (default: their ``quantile``) for display; returns the capped series and cap.

    Top-coding (sdcMicro ``topBotCoding``) stops the richest household from standing out in a
    figure; estimates always use the uncapped values.
    """
    data = pd.to_numeric(values, errors="coerce")
    limit = float(data.quantile(quantile)) if cap is None else float(cap)
    return data.clip(upper=limit), limit


# ---------------------------------------------------------------------------------------------
# The policy for published files: the public tier of the estimate stage's tables

#: Counts of fieldwork and cleaning events, published at any size in every tier: households not
#: found again (``baseline_only``, ``n_attrited``) or new at follow-up (``followup_only``),
#: households left out of the Alkire–Foster index for a missing indicator (``n_dropped``), and
#: records by cleaning outcome (``row_accounting.csv``). They describe the survey and the cleaning,
#: not anything a household answered, so they are not attribute disclosures; hiding them also
#: made the index print "≥ 78%" for every village instead of its real response rate.
FIELDWORK_COUNTS: frozenset[str] = frozenset(
    {"baseline_only", "followup_only", "n_attrited", "n_dropped", "n_raw", "clean", "quarantined", "excluded"}
)

#: Arm labels of the tables by arm (``panel_linkage.csv``, ``attrition.csv``, ``alkire_foster.csv``).
ARM_LABELS: dict[float, str] = {0.0: "comparison", 1.0: "treatment"}

#: Households whose treatment is missing or invalid: excluded in cleaning, so a cleaning count.
UNKNOWN_ARM = "unknown"

#: The ``suppressed`` column of ``villages.csv``: why the public tier hides a village's counts.
SMALL, COMPLEMENTARY = "small", "complementary"

_RULE: dict[str, str] = {
    "en": (
        "Disclosure control: no published table, figure or sentence shows a statistic (a mean, "
        "median, share, headcount or estimate) computed from fewer than {n} households, nor the "
        "number of households of a village or arm when it is below {n}; where a hidden number "
        "could be worked out from published totals, further numbers are hidden until it cannot "
        "(complementary suppression). Counts of households not found again at follow-up or new at "
        "follow-up, and of records quarantined, excluded or corrected in cleaning, are shown at "
        "any size: they describe the fieldwork and the cleaning, not anything a household "
        "answered. The unsuppressed tables stay with the evaluation team and are never published."
    ),
    "id": (
        "Kontrol pengungkapan: tidak ada tabel, gambar atau kalimat yang diterbitkan yang "
        "menampilkan statistik (rata-rata, median, proporsi, angka kemiskinan atau estimasi) yang "
        "dihitung dari kurang dari {n} rumah tangga, atau jumlah rumah tangga sebuah desa atau "
        "kelompok bila kurang dari {n}; bila angka yang disembunyikan bisa dihitung dari jumlah "
        "yang diterbitkan, angka lain ikut disembunyikan sampai tidak bisa lagi (penyembunyian "
        "pelengkap). Jumlah rumah tangga yang tidak ditemukan lagi atau baru saat survei lanjutan, "
        "serta catatan yang dikarantina, dikeluarkan atau dikoreksi saat pembersihan data, "
        "ditampilkan berapa pun besarnya: angka ini menggambarkan pelaksanaan survei dan "
        "pembersihan data, bukan jawaban rumah tangga. Tabel lengkap tanpa penyembunyian hanya "
        "disimpan oleh tim evaluasi dan tidak pernah diterbitkan."
    ),
}


def disclosure_rule(language: str, *, min_cell: int) -> str:
    """The disclosure policy in one paragraph, for a report to state (plain text, not HTML).

    Parameters
    ----------
    language
        ``id`` or ``en``.
    min_cell
        The study's threshold.
    """
    if language not in _RULE:
        raise ValueError(f"language is {language!r}; expected one of {sorted(_RULE)}")
    return _RULE[language].format(n=check_min_cell(min_cell))


def arm_label(treatment: object) -> str:
    """``comparison``, ``treatment`` or ``unknown`` for a treatment value (0, 1, anything else)."""
    try:
        value = float(treatment)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return UNKNOWN_ARM
    return ARM_LABELS.get(value, UNKNOWN_ARM)


def suppress_members(
    sizes: Mapping[K, float],
    group_of: Mapping[K, Hashable],
    *,
    hide: Iterable[K],
    hidden_groups: Iterable[Hashable] = (),
) -> frozenset[K]:
    """Complementary suppression of the members of groups whose totals are published elsewhere.

    Each group's total is the sum of its members (villages of an arm). A published total with
    exactly one hidden member would give it back, so the smallest other member is hidden too; a
    hidden total (``hidden_groups``) with no hidden member would be their sum, so its smallest
    member is hidden. The totals are assumed protected among themselves (``hidden_groups`` from
    :func:`suppress_counts` on the table of totals). The constraints then form a tree (members →
    groups → all), on which a hidden cell is determined exactly when some constraint holds it as
    its only hidden cell; none is left, so no hidden member is determined. Linear time, unlike
    :func:`recoverable`, so it scales to thousands of villages.

    Parameters
    ----------
    sizes
        Every member and its size (the choice of complementary members: smallest first, then
        the order of ``sizes``).
    group_of
        The group of each member.
    hide
        The members hidden by rule (primary suppression).
    hidden_groups
        Groups whose total is hidden.

    Returns
    -------
    frozenset
        Every hidden member. A lone member of a group with a published total stays determined
        (its total is its count); the caller publishes only groups where that is acceptable.
    """
    hidden = set(hide) & set(sizes)
    totals_hidden = set(hidden_groups)
    order = {key: i for i, key in enumerate(sizes)}
    members: dict[Hashable, list[K]] = {}
    for key in sizes:
        members.setdefault(group_of[key], []).append(key)
    for group, keys in members.items():
        inside = [k for k in keys if k in hidden]
        wanted = 1 if group in totals_hidden else 2
        if inside and len(inside) >= wanted or not inside and group not in totals_hidden:
            continue
        shown = [k for k in keys if k not in hidden]
        if shown:
            hidden.add(min(shown, key=lambda k: (sizes[k], order[k])))
    return frozenset(hidden)


def _arm_counts(linkage: pd.DataFrame) -> dict[str, tuple[int, int, int]]:
    """``{arm: (found again, not found, new)}`` from a long ``arm, linkage, households`` table."""
    counts: dict[str, tuple[int, int, int]] = {}
    for arm, part in linkage.groupby("arm", sort=False):
        by_status = pd.to_numeric(part.set_index("linkage")["households"], errors="coerce").fillna(0)
        counts[str(arm)] = tuple(  # type: ignore[assignment]
            int(by_status.get(s, 0)) for s in ("panel", "baseline_only", "followup_only")
        )
    return counts


def _small_group(found: int, lost: int, new: int, min_cell: int) -> bool:
    """Whether a group's baseline (found + lost) or follow-up (found + new) count is small."""
    return is_small(found + lost, min_cell) or is_small(found + new, min_cell)


def suppress_arms(linkage: pd.DataFrame, *, min_cell: int) -> SuppressedTable[str]:
    """Arms whose household counts every public table hides, from ``panel_linkage.csv``.

    An arm's households at baseline, found again and at follow-up differ only by its published
    fieldwork counts (not found, new), so they stand or fall together: the arm is hidden when
    either round's count is small, and then complementarily so that the all-households total
    cannot give it back. The ``unknown`` arm (missing or invalid treatment) is a cleaning count
    and published. Keys are ``comparison``, ``treatment``, ``unknown`` and ``all``; values the
    baseline counts.
    """
    counts = _arm_counts(linkage)
    values = {arm: found + lost for arm, (found, lost, _) in counts.items()}
    values["all"] = sum(values.values())
    small = {arm for arm, c in counts.items() if _small_group(*c, min_cell) and arm != UNKNOWN_ARM}
    found_all, lost_all, new_all = (sum(c[i] for c in counts.values()) for i in range(3))
    if _small_group(found_all, lost_all, new_all, min_cell):
        small.add("all")
    return suppress_counts(
        values,
        totals={"all": [a for a in counts]},
        min_cell=min_cell,
        hide=small,
        publish={UNKNOWN_ARM} & set(values),
    )


def village_suppression(villages: pd.DataFrame, *, min_cell: int, hidden_arms: Iterable[str]) -> pd.Series:
    """Why the public tier hides each row of ``villages.csv``: ``small``, ``complementary`` or ``""``.

    A village is hidden (its households at baseline, found again and at follow-up, its attrition
    rate and every statistic) when either round's count is small; then more villages of the same
    arm are hidden with :func:`suppress_members`, so that the arm totals published in
    ``linkage.csv``, ``attrition.csv`` and the reports cannot give a hidden one back.
    """
    if villages.empty:
        return pd.Series(dtype=object)
    statuses = villages.reindex(columns=["panel", "baseline_only", "followup_only"])
    numbers = statuses.apply(pd.to_numeric, errors="coerce").fillna(0).astype(int)
    counts = {i: (int(f), int(lost), int(new)) for i, f, lost, new in numbers.itertuples()}
    small = {i for i, c in counts.items() if _small_group(*c, min_cell)}
    hidden = suppress_members(
        {i: 2 * c[0] + c[1] + c[2] for i, c in counts.items()},
        {i: arm_label(villages.at[i, "treatment"]) for i in counts},
        hide=small,
        hidden_groups=set(hidden_arms) - {UNKNOWN_ARM, "all"},
    )
    return pd.Series(
        [SMALL if i in small else COMPLEMENTARY if i in hidden else "" for i in villages.index],
        index=villages.index,
        dtype=object,
    )


def _hidden_note(note: object, min_cell: int) -> str:
    text = f"hidden in the public tables: fewer than {min_cell} households, or it would reveal a hidden value"
    old = "" if note is None or (isinstance(note, float) and np.isnan(note)) else str(note)
    return f"{old}; {text}" if old else text


def _blank(frame: pd.DataFrame, rows: pd.Series | np.ndarray, columns: Sequence[str]) -> None:
    present = [c for c in columns if c in frame.columns]
    for column in present:
        if pd.api.types.is_integer_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
            frame[column] = frame[column].astype("Int64" if frame[column].dtype != bool else object)
        frame.loc[rows, column] = np.nan if pd.api.types.is_float_dtype(frame[column]) else pd.NA


def _as_nullable(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Whole-number columns as nullable integers, so a hidden cell is empty and the rest stay ``40``."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            values = pd.to_numeric(out[column], errors="coerce")
            if values.dropna().mod(1).eq(0).all():
                out[column] = values.round().astype("Int64")
    return out


def public_villages(
    villages: pd.DataFrame, *, min_cell: int, hidden_arms: Iterable[str], bases: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``villages.csv`` for the public tier.

    Parameters
    ----------
    villages
        The internal table (every count and statistic); its ``suppressed`` column, if any, is
        recomputed.
    min_cell
        The study's threshold.
    hidden_arms
        From :func:`suppress_arms`.
    bases
        Households behind each statistic column (same index and column names); a statistic from
        fewer than ``min_cell`` is hidden.

    Returns
    -------
    pandas.DataFrame
        The same rows and columns. A hidden village keeps its code, name, arm and fieldwork
        counts (not found again, new at follow-up); its other counts, attrition rate and
        statistics are empty, and ``suppressed`` says why.
    """
    out = villages.copy()
    if out.empty:
        return out
    # Decided afresh from the counts (the same answer as the internal tier's column), so that a
    # table written under older rules cannot carry its verdict over.
    out["suppressed"] = village_suppression(out, min_cell=min_cell, hidden_arms=hidden_arms)
    statistics = [c for c in out.columns if c.startswith(("income_pc_", "participation_score_"))]
    out = _as_nullable(out, ["panel", "baseline_only", "followup_only", "baseline", "followup"])
    hidden = out["suppressed"] != ""
    _blank(out, hidden, ["panel", "baseline", "followup", "attrition_rate", *statistics])
    if bases is not None:
        for column in statistics:
            if column in bases.columns:
                base = pd.to_numeric(bases[column], errors="coerce").reindex(out.index).fillna(0)
                _blank(out, base < min_cell, [column])
    return out


def public_linkage(linkage: pd.DataFrame, *, hidden_arms: Iterable[str]) -> pd.DataFrame:
    """``linkage.csv`` for the public tier: a hidden arm's households found again are empty."""
    out = _as_nullable(linkage, ["households"])
    rows = out["arm"].astype(str).isin(set(hidden_arms)) & (out["linkage"] == "panel")
    _blank(out, rows, ["households"])
    return out


_ARMS_AND_ALL = ("comparison", "treatment", "all")


def _suppress_by_arm(
    counts: Mapping[str, float], *, min_cell: int, hidden_arms: Iterable[str]
) -> frozenset[str]:
    """Hidden groups of a table with a comparison, a treatment and an all-households group."""
    values = {a: int(v) for a, v in counts.items() if a in _ARMS_AND_ALL and np.isfinite(v)}
    totals = {"all": ["comparison", "treatment"]} if set(_ARMS_AND_ALL) <= set(values) else None
    table = suppress_counts(values, totals=totals, min_cell=min_cell, hide=set(hidden_arms) & set(values))
    return table.hidden


def public_attrition(attrition: pd.DataFrame, *, min_cell: int, hidden_arms: Iterable[str]) -> pd.DataFrame:
    """``attrition.csv`` for the public tier.

    A hidden arm's baseline households and attrition rate are empty (the rate and the published
    number not found would give the count back); the households not found stay. When an arm is
    hidden, the differential-rate estimate, which with the published counts would give the arm's
    size back, is empty too.
    """
    out = _as_nullable(
        attrition, ["n_baseline", "n_attrited", "n_obs", "n_clusters", "df_num", "ri_assignments"]
    )
    rates = out["test"] == "rate"
    n_baseline = pd.to_numeric(out.loc[rates, "n_baseline"], errors="coerce").astype(float)
    counts = {str(a): float(n) for a, n in zip(out.loc[rates, "arm"], n_baseline, strict=True)}
    hidden = _suppress_by_arm(counts, min_cell=min_cell, hidden_arms=hidden_arms)
    rows = rates & out["arm"].astype(str).isin(hidden)
    _blank(out, rows, ["n_baseline", "rate"])
    if rows.any():
        diff = out["test"] == "differential_rate"
        _blank(out, diff, ["estimate", "std_error", "p_value"])
        out.loc[rows | diff, "note"] = [_hidden_note(n, min_cell) for n in out.loc[rows | diff, "note"]]
    return out


def public_alkire_foster(af: pd.DataFrame, *, min_cell: int, hidden_arms: Iterable[str]) -> pd.DataFrame:
    """``alkire_foster.csv`` for the public tier.

    Per round, the arms and the all-households group are suppressed as one table of their
    household counts ``n`` (all = comparison + treatment): a group with fewer than ``min_cell``
    households, or hidden by arm, loses every statistic and its ``n``, and so does one more
    group, so that the all-households figures cannot give it back. ``n_dropped`` stays.
    """
    out = _as_nullable(af, ["n", "n_dropped"])
    arms = out["arm"].astype(str)
    for round_name in [r for r in dict.fromkeys(out["round"].astype(str)) if r]:
        in_round = out["round"].astype(str) == round_name
        n = pd.to_numeric(out.loc[in_round, "n"], errors="coerce").astype(float).groupby(arms[in_round]).max()
        counts = {str(a): float(v) for a, v in n.items()}
        hidden = _suppress_by_arm(counts, min_cell=min_cell, hidden_arms=hidden_arms)
        rows = in_round & arms.isin(hidden)
        if rows.any():
            _blank(out, rows, ["value", "n"])
            out.loc[rows, "note"] = [_hidden_note(n, min_cell) for n in out.loc[rows, "note"]]
    return out


def public_balance(balance: pd.DataFrame, *, min_cell: int, hidden_arms: Iterable[str]) -> pd.DataFrame:
    """``balance.csv`` for the public tier.

    For each variable, the two arms and ``n_obs`` are suppressed as one table (n_obs = the arms'
    sum). A hidden arm loses its count, mean and SD, and the row its difference, standard error,
    p-value and normalized difference, which with the other arm's mean would give the hidden one
    back.
    """
    count_columns = ["n_treatment", "n_comparison", "n_obs", "n_clusters", "df_num", "ri_assignments"]
    out = _as_nullable(balance, count_columns)
    numbers = out.reindex(columns=["n_treatment", "n_comparison", "n_obs"]).apply(
        pd.to_numeric, errors="coerce"
    )
    for i in out.index[out["row_type"] == "variable"]:
        counts = dict(zip(("treatment", "comparison", "all"), numbers.loc[i].astype(float), strict=True))
        hidden = _suppress_by_arm(counts, min_cell=min_cell, hidden_arms=hidden_arms)
        if not hidden:
            continue
        row = out.index == i
        for arm in hidden - {"all"}:
            _blank(out, row, [f"n_{arm}", f"mean_{arm}", f"sd_{arm}"])
        if "all" in hidden:
            _blank(out, row, ["n_obs"])
        _blank(out, row, ["difference", "std_error", "p_value", "normalized_difference"])
        out.loc[row, "note"] = _hidden_note(out.at[i, "note"], min_cell)
    return out


def public_index_weights(weights: pd.DataFrame, *, min_cell: int, hidden_arms: Iterable[str]) -> pd.DataFrame:
    """``index_weights.csv`` for the public tier.

    A component's mean and SD in the baseline comparison group (and its count) are empty when
    that group is hidden or has fewer than ``min_cell`` households.
    """
    out = _as_nullable(weights, ["n_reference"])
    if out.empty or "n_reference" not in out.columns:
        return out
    n = pd.to_numeric(out["n_reference"], errors="coerce").fillna(0)
    rows = n.map(lambda v: is_small(v, min_cell)) | ("comparison" in set(hidden_arms))
    _blank(out, rows, ["reference_mean", "reference_sd", "n_reference"])
    return out


#: Columns of ``impact.csv`` / ``impact_detail.csv`` emptied for an estimate from few households.
_ESTIMATE_COLUMNS = ("estimate", "std_error", "p_value", "ci_low", "ci_high", "n_obs")
#: Columns of ``impact_inference.csv`` emptied with them.
_INFERENCE_COLUMNS = (
    "estimate", "p_value_cr1", "p_value_wild", "se_crv3", "p_value_crv3", "p_value_ri",
    "q_value_family", "p_value_romano_wolf",
)  # fmt: skip


def small_estimates(impact: pd.DataFrame, *, min_cell: int) -> set[tuple[str, str]]:
    """``(outcome, estimator)`` of the impact rows estimated from fewer than ``min_cell`` households.

    A women-respondent twin with few women, or a before/after on few programme households.
    """
    n = pd.to_numeric(impact["n_obs"], errors="coerce").fillna(0)
    rows = impact.loc[n.map(lambda v: is_small(v, min_cell))]
    return set(zip(rows["outcome"].astype(str), rows["estimator"].astype(str), strict=True))


def public_impact(impact: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """``impact.csv`` / ``impact_detail.csv`` for the public tier.

    The same columns (the ``impact.csv`` contract holds); an estimate from fewer than
    ``min_cell`` households is empty, with the reason in ``note`` when the table has one.
    """
    out = _as_nullable(impact, ["n_obs", "n_clusters"])
    small = small_estimates(impact, min_cell=min_cell)
    rows = pd.Series(
        [(str(o), str(e)) in small for o, e in zip(out["outcome"], out["estimator"], strict=True)],
        index=out.index,
    )
    _blank(out, rows, _ESTIMATE_COLUMNS)
    if rows.any() and "note" in out.columns:
        out.loc[rows, "note"] = [_hidden_note(n, min_cell) for n in out.loc[rows, "note"]]
    return out


def public_inference(inference: pd.DataFrame, *, small: set[tuple[str, str]], min_cell: int) -> pd.DataFrame:
    """``impact_inference.csv`` for the public tier: the rows of :func:`small_estimates` empty."""
    out = _as_nullable(inference, ["n_clusters", "wild_reps", "ri_assignments"])
    if out.empty:
        return out
    rows = pd.Series(
        [(str(o), str(e)) in small for o, e in zip(out["outcome"], out["estimator"], strict=True)],
        index=out.index,
    )
    _blank(out, rows, _INFERENCE_COLUMNS)
    if rows.any() and "note" in out.columns:
        out.loc[rows, "note"] = [_hidden_note(n, min_cell) for n in out.loc[rows, "note"]]
    return out


def public_event_study(events: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """``event_study.csv`` for the public tier: a coefficient of fewer than ``min_cell`` units empty.

    ``n_obs`` counts the treated units (households) an event time averages over; with few of
    them the coefficient describes those few households' answers, as a small estimate of
    ``impact.csv`` would. The reference event time (0 by construction) stays.
    """
    out = _as_nullable(events, ["n_obs", "n_clusters"])
    if out.empty:
        return out
    counts = pd.to_numeric(out["n_obs"], errors="coerce").fillna(0)
    rows = counts.map(lambda n: is_small(float(n), min_cell)) & (out["event_time"] != -1)
    _blank(out, rows, _ESTIMATE_COLUMNS)
    return out


def public_tables(
    internal: Mapping[str, pd.DataFrame], *, min_cell: int, village_bases: pd.DataFrame | None = None
) -> dict[str, pd.DataFrame]:
    """The public tier of the estimate stage's tables, from the internal tier.

    Parameters
    ----------
    internal
        Every table by file name (``villages.csv``, ``linkage.csv``, ...), unsuppressed.
        ``linkage.csv`` (households by arm and linkage) decides which arms are hidden.
    min_cell
        The study's threshold.
    village_bases
        Households behind each statistic of ``villages.csv`` (see :func:`public_villages`).

    Returns
    -------
    dict
        The same file names. ``villages.csv``, ``linkage.csv``, ``attrition.csv``,
        ``alkire_foster.csv``, ``balance.csv``, ``index_weights.csv``, ``impact.csv``,
        ``impact_detail.csv``, ``impact_inference.csv`` and ``event_study.csv`` follow the
        policy (module docstring and ``docs/disclosure.md``); the other tables hold no count or
        statistic of a group smaller than the whole sample (``row_accounting.csv`` holds
        cleaning counts only) and are the same in both tiers.
    """
    check_min_cell(min_cell)
    linkage = internal.get(layout.LINKAGE_CSV)
    arms = suppress_arms(linkage, min_cell=min_cell).hidden if linkage is not None else frozenset()
    small = set()
    if layout.IMPACT_DETAIL_CSV in internal:
        small = small_estimates(internal[layout.IMPACT_DETAIL_CSV], min_cell=min_cell)
    out: dict[str, pd.DataFrame] = {}
    for name, frame in internal.items():
        if name == layout.VILLAGES_CSV:
            out[name] = public_villages(frame, min_cell=min_cell, hidden_arms=arms, bases=village_bases)
        elif name == layout.LINKAGE_CSV:
            out[name] = public_linkage(frame, hidden_arms=arms)
        elif name == layout.ATTRITION_CSV:
            out[name] = public_attrition(frame, min_cell=min_cell, hidden_arms=arms)
        elif name == layout.ALKIRE_FOSTER_CSV:
            out[name] = public_alkire_foster(frame, min_cell=min_cell, hidden_arms=arms)
        elif name == layout.BALANCE_CSV:
            out[name] = public_balance(frame, min_cell=min_cell, hidden_arms=arms)
        elif name == layout.INDEX_WEIGHTS_CSV:
            out[name] = public_index_weights(frame, min_cell=min_cell, hidden_arms=arms)
        elif name in (layout.IMPACT_CSV, layout.IMPACT_DETAIL_CSV):
            out[name] = public_impact(frame, min_cell=min_cell)
        elif name == layout.IMPACT_INFERENCE_CSV:
            out[name] = public_inference(frame, small=small, min_cell=min_cell)
        elif name == layout.EVENT_STUDY_CSV:
            out[name] = public_event_study(frame, min_cell=min_cell)
        else:
            out[name] = frame.copy()
    return out


# ---------------------------------------------------------------------------------------------
# The scan of finished pages


@dataclass(frozen=True)
class Finding:
    """One problem :func:`scan_html` found."""

    kind: Literal["personal_data", "small_count", "small_base", "small_count_in_text"]
    detail: str


class _CountCollector(HTMLParser):
    """Collects the text of elements with class ``n`` and every ``data-base`` attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.counts: list[tuple[str, bool]] = []
        self.bases: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []
        self._buffer: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag in ("script", "style"):
            self._skip += 1
        if "data-base" in attributes:
            self.bases.append(attributes["data-base"] or "")
        is_count = "n" in classes
        if tag in ("br", "img", "hr", "meta", "input", "link"):
            return
        # A fieldwork or cleaning count (class ``n fieldwork``) is published at any size.
        self._stack.append((tag, is_count, "suppressed" in classes or "fieldwork" in classes))
        if is_count:
            self._buffer = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        while self._stack:
            open_tag, is_count, suppressed = self._stack.pop()
            if is_count:
                self.counts.append(("".join(self._buffer).strip(), suppressed))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._buffer.append(data)
        # A marked count is checked as a count (a fieldwork count at any size); leaving it out of
        # the text keeps "1 records quarantined" from being flagged again as an unmarked count.
        if not any(is_count for _, is_count, _ in self._stack):
            self.text.append(data)


_NUMBER = re.compile(r"^[+−-]?[\d.,\u2009 ]+$")
_COUNT_IN_TEXT = re.compile(
    r"(?<![\d.,])(\d{1,3})\s+(households?|rumah tangga|records?|catatan|interviews?|wawancara)\b",
    re.IGNORECASE,
)


def _as_int(text: str) -> int | None:
    digits = re.sub(r"[.,\u2009 ]", "", text.replace("−", "-"))
    try:
        return int(digits)
    except ValueError:
        return None


def scan_html(page: str, *, min_cell: int, forbidden: Iterable[str] = ()) -> list[Finding]:
    """Check a finished report page for disclosure problems.

    Parameters
    ----------
    page
        The HTML of one report.
    min_cell
        The study's threshold.
    forbidden
        Personal values that must not appear anywhere in the page (names, phone numbers, NIKs,
        GPS coordinates, raw household ids). Text shorter than 4 characters and numbers shorter
        than 6 (a GPS precision of ``11.1``) are ignored: they occur by chance in any report.

    Returns
    -------
    list of Finding
        Empty when the page passes. Counts are the text of elements with class ``n`` (every count
        the reports print is marked so; ``n fieldwork`` marks a fieldwork or cleaning count of
        :data:`FIELDWORK_COUNTS`, published at any size); bases are ``data-base`` attributes
        carried by statistics and figures. The visible text is also searched for phrases such as
        ``3 households``.
    """
    findings: list[Finding] = []
    unescaped = html_lib.unescape(page)
    for value in forbidden:
        text = str(value).strip()
        shortest = 6 if any(ch.isdigit() for ch in text) else 4
        if len(text) >= shortest and (text in page or text in unescaped):
            findings.append(Finding("personal_data", f"{text[:3]}… appears in the page"))
    parser = _CountCollector()
    parser.feed(page)
    for text, suppressed in parser.counts:
        if suppressed:
            continue
        if not _NUMBER.match(text):
            findings.append(Finding("small_count", f"count cell holds {text!r}, not a number"))
            continue
        parsed = _as_int(text)
        if parsed is None or is_small(parsed, min_cell):
            findings.append(Finding("small_count", f"count {text!r} is below min_cell={min_cell}"))
    for base in parser.bases:
        parsed = _as_int(base)
        if parsed is None or parsed < min_cell:
            findings.append(Finding("small_base", f"statistic from {base!r} households"))
    visible = " ".join(parser.text)
    for match in _COUNT_IN_TEXT.finditer(visible):
        if is_small(int(match.group(1)), min_cell):
            findings.append(Finding("small_count_in_text", match.group(0)))
    return findings
