"""The codebook: one row per harmonized variable, edited by people who do not program.

``docs/codebook.md`` describes the columns. A study without a codebook gets one built from the
study file (:func:`codebook_from_study`), so the cleaning code has a single path.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

import pandas as pd

from analysis.config import ROUNDS
from analysis.errors import CodebookError, StudyError
from analysis.inputs.readers import RawTable, read_table
from analysis.inputs.study import Study

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

#: Optional codebook columns, read when present (older codebooks work without them).
#: ``format``: explicit date format(s); ``versions``: form versions in which a question was asked;
#: ``note``: what a person should check (``berdaya codebook`` writes its guesses there), never read.
OPTIONAL_COLUMNS: tuple[str, ...] = ("format", "versions", "note")

#: Roles the workbench acts on (docs/codebook.md).
ROLES: tuple[str, ...] = (
    "household_id",
    "village",
    "treatment",
    "consent",
    "submission_id",
    "form_version",
    "submission_time",
    "interview_start",
    "interview_end",
    "enumerator",
    "validation_status",
    "nik",
    "gps_latitude",
    "gps_longitude",
    "household_size",
    "adults",
    "children",
    "respondent_sex",
    "income_component",
    "ladder",
    "weight",
    "covariate",
    "cluster",
)

#: A source cell holding only this marks a question explicitly not asked in that round (no
#: rename to look for); an empty cell means the same when the round's export has no column
#: left unmapped.
NOT_ASKED = "-"

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
    """One harmonized variable of the codebook.

    Attributes
    ----------
    name
        The harmonized name used downstream.
    type
        One of :data:`VarType`.
    sources
        Raw column per round; a round without a source did not ask the question.
    not_asked
        Rounds whose source cell is ``-``: explicitly not asked there (no rename to look for).
    formats
        Explicit date format per round (``strftime`` codes); key ``"*"`` applies to every round.
    versions
        Form versions in which the question was asked (exact values, or ``>=N`` for numeric
        versions); empty means every version, or as the data show (see :mod:`analysis.clean.round`).
    pii
        Personal data: ``id``-typed variables are pseudonymized, the others dropped.
    pii_no
        ``pii`` was written ``no``: keep the variable even if its name looks personal.
    date_min, date_max
        For ``date`` variables: the plausible range (ISO dates, from ``valid_min``/``valid_max``).
    """

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
    not_asked: frozenset[str] = frozenset()
    formats: Mapping[str, str] = field(default_factory=dict)
    versions: tuple[str, ...] = ()
    pii_no: bool = False
    date_min: str | None = None
    date_max: str | None = None

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

    def format_for(self, round_name: str) -> str | None:
        """The explicit format of ``round_name``'s source, or None.

        For ``date`` variables a ``strftime`` format; for ``integer``, ``number`` and ``money``
        the number style, ``id`` (``1.500`` = 1500) or ``plain`` (``1.500`` = 1.5).
        """
        return self.formats.get(round_name) or self.formats.get("*") or None

    def dummy_name(self, choice: str) -> str:
        """Harmonized name of a select_multiple dummy: ``<name>_<choice>`` in snake_case."""
        return f"{self.name}_{_snake(choice)}"


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


def _snake(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", text.casefold()).strip("_") or "x"


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


def _iso_date(text: str, *, file: Path | None, row: int, column: str) -> str | None:
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise CodebookError(
            f"`{text}` is not a date written YYYY-MM-DD", file=file, rows=[row], column=column
        ) from None


def _formats(text: str, *, file: Path | None, row: int) -> dict[str, str]:
    """``%d/%m/%Y`` (every round) or ``baseline=%d/%m/%Y; followup=%m/%d/%Y``."""
    text = text.strip()
    if not text:
        return {}
    if "=" not in text:
        return {"*": text}
    pairs = _pairs(text, file=file, row=row, column="format")
    unknown = sorted(set(pairs) - set(ROUNDS))
    if unknown:
        raise CodebookError(
            f"format names unknown rounds {', '.join(unknown)}; expecting baseline and/or followup",
            file=file,
            rows=[row],
            column="format",
        )
    return pairs


#: Variable types read as numbers; their ``format`` cell is a number style.
NUMBER_TYPES: tuple[str, ...] = ("integer", "number", "money")
#: Number styles a ``format`` cell of a number variable may hold (as the study's ``number_style``).
NUMBER_FORMATS: tuple[str, ...] = ("id", "plain")

_PII_YES = ("yes", "ya", "true", "1", "y")
_PII_NO = ("no", "tidak", "false", "0", "n")


def _read_codebook_csv(path: Path) -> pd.DataFrame:
    """Read a CSV codebook as text, refusing a row with more cells than the header.

    pandas would read such a row (an unquoted comma in a label) by shifting its cells or by
    taking the first one as an index, so every later cell lands in the wrong column; the
    records are split here instead, and the row is named.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CodebookError(
            "is not UTF-8 text – save it from the spreadsheet as CSV UTF-8", file=path
        ) from None
    first = text.split("\n", 1)[0]
    # A spreadsheet in an Indonesian locale saves "CSV" with semicolons.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise CodebookError(
            f"is not a readable CSV ({exc}) – save it again from the spreadsheet as CSV UTF-8", file=path
        ) from None
    records = [r for r in records if any(cell.strip() for cell in r)]
    if not records:
        raise CodebookError("is empty; see docs/codebook.md", file=path)
    header, body = [cell.strip() for cell in records[0]], records[1:]
    repeated = sorted({c for c in header if c and header.count(c) > 1})
    if repeated:
        raise CodebookError(
            f"the header names {', '.join(repeated)} more than once – keep one of each column",
            file=path,
            rows=[1],
        )
    width = len(header)
    rows: list[list[str]] = []
    reader_rows = _record_rows(text, delimiter)
    for number, record in zip(reader_rows, body, strict=False):
        extra = record[width:]
        if any(cell.strip() for cell in extra):
            raise CodebookError(
                f"has {len(record)} cells where the header has {width} – a label or other text "
                'with a comma must be in double quotes ("Bantuan sosial (PKH, BLT)"); fix the row '
                "or save the codebook again from the spreadsheet as CSV",
                file=path,
                rows=[number],
            )
        rows.append(record[:width] + [""] * (width - len(record)))
    frame = pd.DataFrame(rows, columns=header, dtype=str)
    # Columns without a header (a trailing comma) hold nothing the codebook reads.
    return frame.loc[:, [bool(c) for c in header]]


def _record_rows(text: str, delimiter: str) -> list[int]:
    """Spreadsheet row of every non-blank data record (header = row 1; quoted line breaks kept)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, row = [], 0
    for record in reader:
        row += 1
        if any(cell.strip() for cell in record):
            rows.append(row)
    return rows[1:]


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
        frame = _read_codebook_csv(path)
    missing = [c for c in ("name", "type") if c not in frame.columns]
    if missing:
        raise CodebookError(
            f"required columns missing: {', '.join(missing)}; see docs/codebook.md", file=path
        )
    frame = frame.reindex(columns=list(CODEBOOK_COLUMNS + OPTIONAL_COLUMNS), fill_value="")
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
        raw_sources = {r: cells[f"source_{r}"] for r in ROUNDS}
        sources = {r: c for r, c in raw_sources.items() if c and c != NOT_ASKED}
        direction = cells["direction"] or "1"
        if direction not in ("1", "-1"):
            raise CodebookError("direction must be 1 or -1", file=path, rows=[row], column="direction")
        is_date = cells["type"] == "date"
        # For dates the valid range is written as ISO dates; for numbers, as numbers.
        low, high = (
            (None, None)
            if is_date
            else tuple(_number(cells[c], file=path, row=row, column=c) for c in ("valid_min", "valid_max"))
        )
        first, last = (
            tuple(_iso_date(cells[c], file=path, row=row, column=c) for c in ("valid_min", "valid_max"))
            if is_date
            else (None, None)
        )
        formats = _formats(cells["format"], file=path, row=row)
        if cells["type"] in NUMBER_TYPES:
            wrong = sorted({f for f in formats.values() if f not in NUMBER_FORMATS})
            if wrong:
                raise CodebookError(
                    f"format `{wrong[0]}` of a {cells['type']} variable is not a number style; "
                    "write id (1.500 = 1500) or plain (1.500 = 1.5), or leave it empty",
                    file=path,
                    rows=[row],
                    column="format",
                )
            formats = {k: v.casefold() for k, v in formats.items()}
        pii_text = cells["pii"].casefold()
        if pii_text and pii_text not in _PII_YES + _PII_NO:
            raise CodebookError("pii must be yes, no or empty", file=path, rows=[row], column="pii")
        variables.append(
            Variable(
                name=cells["name"],
                type=cells["type"],  # type: ignore[arg-type]
                sources=sources,
                label_id=cells["label_id"],
                label_en=cells["label_en"],
                unit=cells["unit"],
                valid_min=low,
                valid_max=high,
                categories=tuple(c.strip() for c in cells["categories"].split(";") if c.strip()),
                recode=_pairs(cells["recode"], file=path, row=row, column="recode"),
                missing_codes=_pairs(cells["missing_codes"], file=path, row=row, column="missing_codes"),
                family=cells["family"] or None,
                role=cells["role"] or None,
                direction=int(direction),
                pii=pii_text in _PII_YES,
                not_asked=frozenset(r for r, c in raw_sources.items() if c == NOT_ASKED),
                formats=formats,
                versions=tuple(v.strip() for v in cells["versions"].split(";") if v.strip()),
                pii_no=pii_text in _PII_NO,
                date_min=first,
                date_max=last,
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
    # baseline and followup first, as always; any other round in the order given.
    order = [*(r for r in ROUNDS if r in present), *(r for r in present if r not in ROUNDS)]

    def sources(column: str) -> dict[str, str]:
        return {r: column for r in order if column in present[r]}

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
    # The first treated round, when the rounds hold it (else it is in the village list).
    add(study.round_design.rollout_column, "text", None)
    for covariate in study.covariates:
        add(covariate, "number", "covariate")
    for outcome in study.outcomes:
        for column in outcome.columns.values():
            add(column, "number", None, family=outcome.family, direction=outcome.direction)
    for column in study.pii_columns:
        add(column, "text", None, pii=True)
    return Codebook(variables=tuple(v for v in variables if v.sources))


#: How programme assignment is commonly written, in Indonesian and English, read as 1/0 without
#: a recode (matched after trimming and casefolding). Anything else needs the codebook's recode.
TREATMENT_SPELLINGS: dict[str, int] = {
    **dict.fromkeys(
        ("ya", "iya", "y", "yes", "true", "benar", "treatment", "treated", "program", "programme",
         "perlakuan", "intervensi", "intervention", "penerima", "peserta"),
        1,
    ),
    **dict.fromkeys(
        ("tidak", "tdk", "bukan", "n", "no", "false", "salah", "control", "kontrol", "comparison",
         "pembanding", "non-program", "non program", "bukan program", "bukan penerima",
         "bukan peserta"),
        0,
    ),
}  # fmt: skip
_CODE_NUMBER_RE = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")


def treatment_value(text: str) -> float | None:
    """Programme assignment written as a number or a common word, as a number; None if unknown.

    Numbers keep their value (``1.0`` and ``1,0`` are 1, so are exports through a float);
    the words of :data:`TREATMENT_SPELLINGS` are 1 or 0.

    >>> [treatment_value(v) for v in (" Ya ", "Control", "1.0", "Intensive session")]
    [1.0, 0.0, 1.0, None]
    """
    folded = text.strip().casefold()
    if _CODE_NUMBER_RE.fullmatch(folded):
        return float(folded.replace(",", "."))
    code = TREATMENT_SPELLINGS.get(folded)
    return None if code is None else float(code)


_PERSONAL_TOKENS = frozenset(
    {
        "nama", "name", "phone", "hp", "telepon", "telp", "nik", "kk", "gps", "geopoint",
        "latitude", "longitude", "altitude", "accuracy", "alamat", "address", "email",
        "attachments", "photo", "foto", "audio", "signature", "ttd", "deviceid", "imei",
        "simserial", "subscriberid", "phonenumber", "username",
    }
)  # fmt: skip
_PERSONAL_FRAGMENTS = (
    "submitted_by",
    "no_hp",
    "nohp",
    "phonenumber",
    "deviceid",
    "simserial",
    "_attachments",
)


def looks_personal(column: str) -> bool:
    """Whether a column name looks like personal data (name, phone, NIK, GPS, device, ...).

    Matching is on whole words of the name (split at ``/``, ``-``, ``_``, ``.`` and spaces), so
    ``nama_responden`` and ``_gps_latitude`` match while ``teknik`` or ``klinik`` do not.

    >>> looks_personal("resp/nama_responden"), looks_personal("usaha/pelatihan_teknik")
    (True, False)
    """
    lowered = column.casefold()
    tokens = {t for t in re.split(r"[^0-9a-z]+", lowered) if t}
    return bool(tokens & _PERSONAL_TOKENS) or any(f in lowered for f in _PERSONAL_FRAGMENTS)


_META_ROLES: dict[str, tuple[str, str]] = {
    "_uuid": ("id", "submission_id"),
    "key": ("id", "submission_id"),
    "instanceid": ("id", "submission_id"),
    "__version__": ("text", "form_version"),
    "formdef_version": ("text", "form_version"),
    "_submission_time": ("date", "submission_time"),
    "submissiondate": ("date", "submission_time"),
    "start": ("date", "interview_start"),
    "end": ("date", "interview_end"),
    "_validation_status": ("text", "validation_status"),
    "review_status": ("text", "validation_status"),
    "enumerator": ("text", "enumerator"),
}


def _leaf(column: str) -> str:
    return column.replace("-", "/").split("/")[-1]


def _dummies(names: list[str]) -> dict[str, list[str]]:
    """select_multiple summary column -> its ``summary/choice`` or ``summary-choice`` dummies."""
    present = set(names)
    found: dict[str, list[str]] = {}
    for column in names:
        for cut in (i for i, ch in enumerate(column) if ch in "/-"):
            summary, suffix = column[:cut], column[cut + 1 :]
            if summary in present and suffix and not re.search(r"[/-]", suffix):
                found.setdefault(summary, []).append(column)
                break
    return found


def codebook_template(columns: Mapping[str, list[str]]) -> pd.DataFrame:
    """A starting codebook listing every raw column, in the manner of ``iecodebook template``.

    Columns with the same name in both rounds share one row; every other column gets its own
    row, so the user can merge renamed questions by editing the sources.  The template also
    guesses what a name alone can tell:

    * select_multiple questions exported with dummies (``assets`` plus ``assets/tv``,
      ``assets/motor``) become one ``select_multiple`` row whose categories are the dummies'
      choices; the dummies get no row of their own;
    * export metadata get their role: ``_uuid``/``KEY`` (``submission_id``), ``__version__``/
      ``formdef_version`` (``form_version``), ``_submission_time``/``SubmissionDate``
      (``submission_time``), ``start``/``end`` (interview times), ``_validation_status``;
    * ``pii`` is ``yes`` for names that look like personal data (:func:`looks_personal`).

    Parameters
    ----------
    columns
        The raw column names of each round, in file order.

    Returns
    -------
    pandas.DataFrame
        With the columns of :data:`CODEBOOK_COLUMNS` and :data:`OPTIONAL_COLUMNS`, every cell
        text.
    """
    rows: list[dict[str, str]] = []
    index: dict[str, dict[str, str]] = {}
    taken_roles: set[str] = set()
    for round_name in ROUNDS:
        names = list(columns.get(round_name, []))
        dummies = _dummies(names)
        skip = {d for ds in dummies.values() for d in ds}
        for column in names:
            if column in skip:
                continue
            if column not in index:
                row = dict.fromkeys(CODEBOOK_COLUMNS + OPTIONAL_COLUMNS, "")
                row["name"] = harmonized_name(_leaf(column), taken={r["name"] for r in rows})
                row["type"] = "text"
                row["direction"] = "1"
                row["pii"] = "yes" if looks_personal(column) else ""
                vtype, role = _META_ROLES.get(_leaf(column).casefold(), ("", ""))
                if role and role not in taken_roles:
                    row["type"], row["role"] = vtype, role
                    taken_roles.add(role)
                    if role == "enumerator":
                        row["pii"] = "yes"  # enumerators' names are personal data too
                if column in dummies:
                    row["type"] = "select_multiple"
                    row["categories"] = ";".join(d[len(column) + 1 :] for d in dummies[column])
                index[column] = row
                rows.append(row)
            index[column][f"source_{round_name}"] = column
    return pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS + OPTIONAL_COLUMNS))


#: Codebook columns of free text: the only cells guarded against spreadsheet formulas when a
#: codebook is written. The others are syntax :func:`read_codebook` parses (``-99=refused``)
#: and must be written as they are.
_FREE_TEXT_COLUMNS = ("label_id", "label_en", "unit", "note")


def write_codebook(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a codebook as CSV (UTF-8, ``,``), readable by :func:`read_codebook` as it is.

    Labels and notes that a spreadsheet would run as a formula get a leading ``'``; the other
    cells are written unchanged, since a guard there would change what they mean.

    Parameters
    ----------
    frame
        Text cells, with the columns of :data:`CODEBOOK_COLUMNS` (and optional ones).
    path
        The file to write (atomically).

    Returns
    -------
    pathlib.Path
    """
    from analysis.shared.files import neutralize_formulas, write_text_atomic

    text = frame.fillna("").astype(str)
    free = [c for c in _FREE_TEXT_COLUMNS if c in text.columns]
    if free:
        text[free] = neutralize_formulas(text[free])
    path = Path(path)
    write_text_atomic(path, text.to_csv(index=False, lineterminator="\n"))
    return path


def harmonized_name(text: str, *, taken: set[str]) -> str:
    """``text`` as a snake_case variable name not in ``taken`` (``Jml ART`` -> ``jml_art``, ``jml_art_2``)."""
    base = "".join(ch if ch.isalnum() else "_" for ch in text.casefold()).strip("_") or "var"
    if base[0].isdigit():
        base = f"v_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


#: The study keys that name a column with a role, and that role.
STUDY_KEY_ROLES: tuple[tuple[str, str], ...] = (
    ("id", "household_id"),
    ("village", "village"),
    ("treatment", "treatment"),
)


def study_key_variable(codebook: Codebook, column: str) -> Variable | None:
    """The variable a study key names: by its ``name``, else as the only one with that raw source.

    A study written before its codebook names raw export columns (``id: hh/hhid``); with the
    codebook the same column is a variable's source. Two variables reading one raw column
    give no answer (None): the study key must then name one of them.
    """
    if column in codebook:
        return codebook.get(column)
    reading = [v for v in codebook.variables if column in v.sources.values()]
    return reading[0] if len(reading) == 1 else None


def with_study_roles(codebook: Codebook, study: Study) -> Codebook:
    """The codebook with the roles the study's ``id``, ``village`` and ``treatment`` keys imply.

    A codebook need not repeat what the study file says: the variable a key names
    (:func:`study_key_variable`) gets the key's role when no variable has it. A key naming a
    column absent from the codebook is left to the column checks of the clean stage (the
    treatment may be a column of the village list).

    Raises
    ------
    StudyError
        When the codebook gives the role to another variable than the key names, or gives the
        variable the key names another role: one line naming both, since either choice made
        silently would analyse a column the user did not mean.
    """
    book = codebook.path.name if codebook.path is not None else "the codebook"
    given: dict[str, str] = {}  # variable name -> the role a study key gives it
    for key, role in STUDY_KEY_ROLES:
        column = getattr(study, key)
        if not column:
            continue
        target = study_key_variable(codebook, column)
        owners = codebook.by_role(role)
        if owners and owners[0] is not target:
            raise StudyError(
                f"{study.path.name}: `{key}` is {column}, but {book} gives the role {role} "
                f"to {owners[0].name}; write {key}: {owners[0].name} or change the role in {book}"
            )
        if target is None or target.role == role:
            continue
        other = target.role or given.get(target.name)
        if other is not None:
            raise StudyError(
                f"{study.path.name}: `{key}` is {column}, but {book} gives {target.name} the role "
                f"{other}; write role {role} for {target.name} in {book} or change `{key}`"
            )
        given[target.name] = role
    if not given:
        return codebook
    variables = tuple(replace(v, role=given[v.name]) if v.name in given else v for v in codebook.variables)
    return Codebook(variables=variables, path=codebook.path)


#: The column of village names in a clean round and in the panel (the village list's ``name``).
VILLAGE_NAME = "village_name"


def village_labels(table: RawTable, codebook: Codebook, round_name: str) -> dict[str, str]:
    """Village code -> name, from the value labels of a .dta/.sav round's village column.

    Stata and SPSS exports label the village code (``1 "Sukamaju"``); without these names a
    study with no village list shows villages as 1, 10, 11. Labelled missing-value codes
    (``-99 "Tidak tahu"``, Stata's ``.a``) are not villages and are left out.

    Parameters
    ----------
    table
        The raw round, as read (its ``value_labels`` are empty for CSV and XLSX).
    codebook
        Gives the village variable (role ``village``) and its source column in the round.
    round_name
        ``baseline`` or ``followup``.
    """
    for variable in codebook.by_role("village"):
        source = variable.sources.get(round_name, "")
        missing = table.user_missing.get(source, {})
        labels = {
            code: name.strip()
            for code, name in table.value_labels.get(source, {}).items()
            if name.strip() and code not in missing and not code.startswith(".")
        }
        if labels:
            return labels
    return {}


def with_village_names(frame: pd.DataFrame, labels: Mapping[str, str], *, codebook: Codebook) -> pd.DataFrame:
    """A clean round with a ``village_name`` column from :func:`village_labels`.

    The construct stage takes the names from here when the village list gives none (a list's
    names win). A round that already has a ``village_name`` variable, or no labels, is
    returned as it is.
    """
    villages = [v.name for v in codebook.by_role("village") if v.name in frame.columns]
    if not labels or not villages or VILLAGE_NAME in frame.columns:
        return frame
    names = [None if pd.isna(code) else labels.get(str(code).strip()) for code in frame[villages[0]]]
    return frame.assign(**{VILLAGE_NAME: pd.Series(names, index=frame.index, dtype=object)})


def load_codebook(study: Study, tables: dict[str, RawTable] | None = None) -> Codebook:
    """The study's codebook (with the roles its keys imply), or the one its study file implies."""
    if study.codebook is not None:
        return with_study_roles(read_codebook(study.codebook), study)
    if tables is None:
        # Every round's file, each read once (one long file holds every round).
        read: dict[tuple[Path, str | None], RawTable] = {}
        tables = {}
        for name, spec in study.rounds.items():
            where = (spec.file, spec.sheet)
            if where not in read:
                read[where] = read_table(spec.file, sheet=spec.sheet)
            tables[name] = read[where]
    return codebook_from_study(study, {r: list(t.frame.columns) for r, t in tables.items()})
