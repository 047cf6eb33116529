"""The codebook: one row per harmonized variable, edited by people who do not program.

``docs/codebook.md`` describes the columns. A study without a codebook gets one built from the
study file (:func:`codebook_from_study`), so the cleaning code has a single path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from analysis.config import ROUNDS
from analysis.errors import CodebookError
from analysis.readers import RawTable, read_table
from analysis.study import Study

VarType = Literal["integer", "number", "money", "category", "select_multiple", "date", "text", "id"]

CODEBOOK_COLUMNS: tuple[str, ...] = (
    "name",
    "label_id",
    "label_en",
    "source_baseline",
    "source_followup",
    "type",
    "unit",
    "valid_min",
    "valid_max",
    "categories",
    "recode",
    "missing_codes",
    "family",
    "role",
    "direction",
    "pii",
)

#: Column-name fragments that mark personal data even when nobody flagged them.
PII_NAME_HINTS: tuple[str, ...] = (
    "nama",
    "name",
    "phone",
    "no_hp",
    "nohp",
    "telepon",
    "nik",
    "no_kk",
    "gps",
    "latitude",
    "longitude",
    "altitude",
    "_attachments",
    "deviceid",
    "imei",
    "simserial",
    "phonenumber",
    "_submitted_by",
    "alamat",
    "address",
)


@dataclass(frozen=True)
class Variable:
    """One harmonized variable of the codebook."""

    name: str
    type: VarType
    sources: Mapping[str, str]
    label_id: str = ""
    label_en: str = ""
    unit: str = ""
    valid_min: float | None = None
    valid_max: float | None = None
    categories: tuple[str, ...] = ()
    recode: Mapping[str, str] = field(default_factory=dict)
    missing_codes: Mapping[str, str] = field(default_factory=dict)
    family: str | None = None
    role: str | None = None
    direction: int = 1
    pii: bool = False

    @property
    def is_numeric(self) -> bool:
        """Whether the cleaned variable is stored as a number."""
        if self.type in ("integer", "number", "money"):
            return True
        return (
            self.type == "category" and bool(self.categories) and all(_is_number(c) for c in self.categories)
        )

    def label(self, language: str) -> str:
        """The label in ``language`` (``id`` or ``en``), falling back to the other, then the name."""
        first, second = (
            (self.label_id, self.label_en)
            if language == "id"
            else (
                self.label_en,
                self.label_id,
            )
        )
        return first or second or self.name


@dataclass(frozen=True)
class Codebook:
    """All harmonized variables of a study."""

    variables: tuple[Variable, ...]
    path: Path | None = None

    def __post_init__(self) -> None:
        names = [v.name for v in self.variables]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise CodebookError(
                f"variable names repeat: {', '.join(repeated)}",
                file=self.path,
                column="name",
            )

    def get(self, name: str) -> Variable:
        """The variable called ``name``."""
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(v.name == name for v in self.variables)

    def by_role(self, role: str) -> list[Variable]:
        """Variables with the given role, in codebook order."""
        return [v for v in self.variables if v.role == role]

    def for_round(self, round_name: str) -> list[Variable]:
        """Variables that have a source column in ``round_name``."""
        return [v for v in self.variables if round_name in v.sources]

    def labels(self, language: str) -> dict[str, str]:
        """Map of variable name to label in ``language``."""
        return {v.name: v.label(language) for v in self.variables}


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _pairs(text: str, *, file: Path | None, row: int, column: str) -> dict[str, str]:
    """Parse ``a=b; c=d`` into a dict with stripped, casefolded keys."""
    result: dict[str, str] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        if "=" not in part:
            raise CodebookError(
                f"`{part.strip()}` is not a `raw=value` pair", file=file, rows=[row], column=column
            )
        key, value = part.split("=", 1)
        result[key.strip().casefold()] = value.strip()
    return result


def _number(text: str, *, file: Path | None, row: int, column: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise CodebookError(f"`{text}` is not a number", file=file, rows=[row], column=column) from None


def read_codebook(path: str | Path) -> Codebook:
    """Read a codebook from CSV or XLSX (first sheet).

    Parameters
    ----------
    path
        The codebook file.

    Returns
    -------
    Codebook

    Raises
    ------
    CodebookError
        Naming the row and column of the first malformed cell.
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        frame = pd.read_excel(path, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in ("name", "type") if c not in frame.columns]
    if missing:
        raise CodebookError(
            f"required columns missing: {', '.join(missing)}; see docs/codebook.md", file=path
        )
    frame = frame.reindex(columns=list(CODEBOOK_COLUMNS), fill_value="")
    allowed = get_args(VarType)
    variables = []
    for i, rec in enumerate(frame.to_dict("records")):
        row = i + 2  # the header is spreadsheet row 1
        cells = {k: str(v).strip() for k, v in rec.items()}
        if not cells["name"]:
            continue
        if cells["type"] not in allowed:
            raise CodebookError(
                f"type `{cells['type']}` is not one of {', '.join(allowed)}",
                file=path,
                rows=[row],
                column="type",
            )
        sources = {r: cells[f"source_{r}"] for r in ROUNDS if cells[f"source_{r}"]}
        direction = cells["direction"] or "1"
        if direction not in ("1", "-1"):
            raise CodebookError("direction must be 1 or -1", file=path, rows=[row], column="direction")
        variables.append(
            Variable(
                name=cells["name"],
                type=cells["type"],  # type: ignore[arg-type]
                sources=sources,
                label_id=cells["label_id"],
                label_en=cells["label_en"],
                unit=cells["unit"],
                valid_min=_number(cells["valid_min"], file=path, row=row, column="valid_min"),
                valid_max=_number(cells["valid_max"], file=path, row=row, column="valid_max"),
                categories=tuple(c.strip() for c in cells["categories"].split(";") if c.strip()),
                recode=_pairs(cells["recode"], file=path, row=row, column="recode"),
                missing_codes=_pairs(cells["missing_codes"], file=path, row=row, column="missing_codes"),
                family=cells["family"] or None,
                role=cells["role"] or None,
                direction=int(direction),
                pii=cells["pii"].casefold() in ("yes", "ya", "true", "1", "y"),
            )
        )
    return Codebook(variables=tuple(variables), path=path)


def codebook_from_study(study: Study, columns: Mapping[str, Iterable[str]]) -> Codebook:
    """Build the codebook a study without one implies.

    Each raw column the study names becomes a variable of the same name, taken from every
    round that has it. Outcomes and covariates are numbers in the study's number style.

    Parameters
    ----------
    study
        The study.
    columns
        The raw column names of each round.
    """
    present = {r: set(cols) for r, cols in columns.items()}

    def sources(column: str) -> dict[str, str]:
        return {r: column for r in ROUNDS if column in present.get(r, set())}

    variables: list[Variable] = []
    seen: set[str] = set()

    def add(
        column: str | None,
        vtype: VarType,
        role: str | None,
        *,
        family: str | None = None,
        direction: int = 1,
        pii: bool = False,
    ) -> None:
        if not column or column in seen:
            return
        seen.add(column)
        variables.append(
            Variable(
                name=column,
                type=vtype,
                sources=sources(column),
                role=role,
                family=family,
                direction=direction,
                pii=pii,
            )
        )

    add(study.id, "id", "household_id")
    add(study.village, "id", "village")
    add(study.cluster, "id", "cluster")
    add(study.treatment, "number", "treatment")
    add(study.weights, "number", "weight")
    for covariate in study.covariates:
        add(covariate, "number", "covariate")
    for outcome in study.outcomes:
        for column in outcome.columns.values():
            add(column, "number", None, family=outcome.family, direction=outcome.direction)
    for column in study.pii_columns:
        add(column, "text", None, pii=True)
    return Codebook(variables=tuple(v for v in variables if v.sources))


def codebook_template(columns: Mapping[str, list[str]]) -> pd.DataFrame:
    """A starting codebook listing every raw column, in the manner of ``iecodebook template``.

    Columns with the same name in both rounds share one row; every other column gets its own
    row, so the user can merge renamed questions by editing the sources.

    Parameters
    ----------
    columns
        The raw column names of each round, in file order.

    Returns
    -------
    pandas.DataFrame
        With the columns of :data:`CODEBOOK_COLUMNS`; ``pii`` is pre-filled ``yes`` for names
        that look like personal data.
    """
    rows: list[dict[str, str]] = []
    index: dict[str, dict[str, str]] = {}
    for round_name in ROUNDS:
        for column in columns.get(round_name, []):
            short = column.replace("-", "/").split("/")[-1]
            key = column
            if key not in index:
                row = dict.fromkeys(CODEBOOK_COLUMNS, "")
                row["name"] = _harmonized_name(short, taken={r["name"] for r in rows})
                row["type"] = "text"
                row["direction"] = "1"
                lowered = column.casefold()
                row["pii"] = "yes" if any(h in lowered for h in PII_NAME_HINTS) else ""
                index[key] = row
                rows.append(row)
            index[key][f"source_{round_name}"] = column
    return pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS))


def _harmonized_name(text: str, *, taken: set[str]) -> str:
    base = "".join(ch if ch.isalnum() else "_" for ch in text.casefold()).strip("_") or "var"
    if base[0].isdigit():
        base = f"v_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def load_codebook(study: Study, tables: dict[str, RawTable] | None = None) -> Codebook:
    """The study's codebook, or the one its study file implies."""
    if study.codebook is not None:
        return read_codebook(study.codebook)
    if tables is None:
        tables = {r: read_table(study.rounds[r].file, sheet=study.rounds[r].sheet) for r in ROUNDS}
    return codebook_from_study(study, {r: list(t.frame.columns) for r, t in tables.items()})
