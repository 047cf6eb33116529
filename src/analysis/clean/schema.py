"""Compare the rounds' columns: the schema-diff report, and failing closed on unmapped renames.

Questions get renamed (``q12_income`` → ``q12_pendapatan``) and retyped between rounds.  The
codebook records the mapping; this module reports what changed and refuses to go on when a
variable of one round has no source in the other while that round has columns nobody mapped
(docs/bad-inputs.md case 9)::

    codebook.csv: q12_income (baseline.dta) has no recorded mapping in followup.csv – ...

A source cell ``-`` in the codebook says "not asked in this round" explicitly and silences the
check for that variable.

The clean stage writes each round's column inventory (:func:`column_inventory`; column names
and inferred kinds only, no values) and the construct stage compares the two
(:func:`schema_diff`, :func:`check_mappings`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis.clean.select_multiple import dummy_columns
from analysis.config import ROUNDS
from analysis.errors import CodebookError
from analysis.inputs.codebook import Codebook
from analysis.inputs.readers import RawTable

INVENTORY_COLUMNS = ("column", "variable", "kind", "filled")
DIFF_COLUMNS = (
    "variable",
    "status",
    "source_baseline",
    "source_followup",
    "kind_baseline",
    "kind_followup",
)

# Export metadata: never a renamed question.
_META_RE = re.compile(
    r"_.*|meta[-/].*|key|parent_key|instanceid|submissiondate|formdef_version|review_.*|start|end|today"
    r"|deviceid|subscriberid|simserial|phonenumber|username|audit|caseid|set-of-.*|__version__",
    re.IGNORECASE,
)

_KINDS = (
    ("integer", r"[+-]?[0-9]+"),
    ("number", r"[+-]?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)"),
    ("date", r"[0-9]{4}-[0-9]{2}-[0-9]{2}.*|[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{2,4}.*"),
)


def is_meta(column: str) -> bool:
    """Whether a column is export metadata (``_uuid``, ``meta-instanceID``, ``KEY``, ``start`` ...)."""
    leaf = column.replace("-", "/").split("/")[-1]
    return bool(_META_RE.fullmatch(column) or _META_RE.fullmatch(leaf))


def infer_kind(values: pd.Series) -> str:
    """The narrowest kind 95 % of the distinct filled values fit: integer, number, date, text; or empty."""
    distinct = values.unique()
    if isinstance(values.dtype, pd.StringDtype):
        sample = pd.Series(distinct, dtype=values.dtype).str.strip()  # text already: no round trip
    else:
        sample = pd.Series(distinct, dtype=object).astype(str).str.strip()
    sample = sample[sample != ""]
    if sample.empty:
        return "empty"
    for kind, pattern in _KINDS:
        if sample.str.fullmatch(pattern).mean() >= 0.95:
            return kind
    return "text"


def column_inventory(table: RawTable, codebook: Codebook, round_name: str) -> pd.DataFrame:
    """Every raw column of one round: the variable it maps to (or ``""``), its kind, filled cells.

    select_multiple dummies map to their question's variable.
    """
    columns = [str(c) for c in table.frame.columns]
    mapped: dict[str, str] = {}
    for variable in codebook.for_round(round_name):
        source = variable.sources[round_name]
        mapped[source] = variable.name
        if variable.type == "select_multiple":
            for dummy in dummy_columns(columns, source, variable.categories):
                mapped.setdefault(dummy, variable.name)
    return pd.DataFrame(
        {
            "column": columns,
            "variable": [mapped.get(c, "") for c in columns],
            "kind": [infer_kind(table.frame[c]) for c in columns],
            "filled": [int((table.frame[c] != "").sum()) for c in columns],
        }
    )


def schema_diff(inventories: Mapping[str, pd.DataFrame], codebook: Codebook) -> pd.DataFrame:
    """The schema-diff report between the rounds.

    Parameters
    ----------
    inventories
        :func:`column_inventory` of each round.
    codebook
        The mapping between the rounds.

    Returns
    -------
    pandas.DataFrame
        One row per codebook variable and per unmapped raw column (:data:`DIFF_COLUMNS`).
        ``status``: ``unchanged``, ``renamed``, ``retyped``, ``renamed+retyped``, ``removed``
        (baseline only), ``added`` (follow-up only), ``not_asked`` (one round, marked ``-``)
        or ``unmapped`` (a raw column no variable uses; metadata are left out).
    """
    kinds = {r: dict(zip(inv["column"], inv["kind"], strict=True)) for r, inv in inventories.items()}
    records = []
    for variable in codebook.variables:
        sources = {r: variable.sources.get(r, "") for r in ROUNDS}
        kind = {r: kinds.get(r, {}).get(sources[r], "") if sources[r] else "" for r in ROUNDS}
        base, follow = sources["baseline"], sources["followup"]
        if base and follow:
            changes = []
            if base != follow:
                changes.append("renamed")
            empty = "empty" in (kind["baseline"], kind["followup"])
            if kind["baseline"] and kind["followup"] and kind["baseline"] != kind["followup"] and not empty:
                changes.append("retyped")
            status = "+".join(changes) or "unchanged"
        elif base or follow:
            missing_round = "followup" if base else "baseline"
            status = "not_asked" if missing_round in variable.not_asked else ("removed" if base else "added")
        else:
            continue
        records.append(
            {
                "variable": variable.name,
                "status": status,
                "source_baseline": base,
                "source_followup": follow,
                "kind_baseline": kind["baseline"],
                "kind_followup": kind["followup"],
            }
        )
    for round_name, inventory in inventories.items():
        for column, kind, name in zip(
            inventory["column"], inventory["kind"], inventory["variable"], strict=True
        ):
            if name or is_meta(column):
                continue
            records.append(
                {
                    "variable": "",
                    "status": "unmapped",
                    "source_baseline": column if round_name == "baseline" else "",
                    "source_followup": column if round_name == "followup" else "",
                    "kind_baseline": kind if round_name == "baseline" else "",
                    "kind_followup": kind if round_name == "followup" else "",
                }
            )
    if not records:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DIFF_COLUMNS})
    return pd.DataFrame(records, columns=list(DIFF_COLUMNS))


def check_mappings(diff: pd.DataFrame, *, files: Mapping[str, str], codebook: Path | None) -> None:
    """Fail closed when a variable of one round may have been renamed in the other.

    A variable with a source in one round only is suspect when the other round's export has
    unmapped columns: one of them may be the renamed question.  Mark the variable ``-`` in the
    other round's source (not asked), or enter the new column name.

    Parameters
    ----------
    diff
        :func:`schema_diff`.
    files
        The raw file name of each round, for the message.
    codebook
        The codebook file, named in the message.

    Raises
    ------
    CodebookError
        ``q12_income (baseline.dta) has no recorded mapping in followup.csv – ...``.
    """
    unmapped = {r: [c for c in diff.loc[diff["status"] == "unmapped", f"source_{r}"] if c] for r in ROUNDS}
    problems = []
    for record in diff.loc[diff["status"].isin(["removed", "added"])].to_dict("records"):
        present = "baseline" if record["status"] == "removed" else "followup"
        other = "followup" if present == "baseline" else "baseline"
        if unmapped[other]:
            problems.append((record[f"source_{present}"], present, other))
    if not problems:
        return
    source, present, other = problems[0]
    candidates = unmapped[other]
    shown = ", ".join(candidates[:5]) + (f" and {len(candidates) - 5} more" if len(candidates) > 5 else "")
    also = f" (and {len(problems) - 1} more variable(s) like it)" if len(problems) > 1 else ""
    raise CodebookError(
        f"{source} ({files[present]}) has no recorded mapping in {files[other]}{also}; unmapped "
        f"columns there: {shown} – enter the {other} column in source_{other}, or write - if the "
        "question was not asked",
        file=codebook,
    )
