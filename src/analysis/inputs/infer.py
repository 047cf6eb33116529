"""A starting codebook inferred from the exports (and the study file), when there is no form.

:func:`infer_codebook` starts from :func:`~analysis.inputs.codebook.codebook_template` (one
row per raw column, export metadata and select_multiple questions recognised), then:

* joins a question renamed only by its group (``responden/nik`` -> ``resp/nik``) into one row;
* types every column from its values: dates, yes/no answers (a ``category`` ``0;1`` with its
  recode), numbers and money (``1.234.567``, ``1,9jt``, ``Rp 620.000``) with the number style
  the values show, codes with leading zeros, short lists of answers (a ``category`` with its
  values), free text; answers such as ``-99`` or ``tidak tahu`` in a number column become
  missing codes;
* gives the columns the study file names their roles (``id``, ``village``, ``cluster``,
  ``treatment``, ``weights``, ``covariates``), the outcomes their family and direction, and
  ``pii_columns`` the ``pii`` mark; without a study file, :func:`guess_roles` guesses the id,
  village and treatment columns from their names.

Every guess is written in the row's ``note`` as ``# check: ...``, for a person to confirm.
Values are quoted in notes only for columns that do not look personal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd

from analysis.config import ROUNDS
from analysis.inputs.codebook import (
    CODEBOOK_COLUMNS,
    OPTIONAL_COLUMNS,
    codebook_template,
    harmonized_name,
    looks_personal,
    treatment_value,
)
from analysis.inputs.study import Study

#: Every column of an inferred codebook, in order.
COLUMNS: tuple[str, ...] = CODEBOOK_COLUMNS + OPTIONAL_COLUMNS

#: At most this many different answers make a column a category (more: free text).
MAX_CATEGORIES = 12

_YES = frozenset({"ya", "iya", "yes", "y", "true", "benar"})
_NO = frozenset({"tidak", "tdk", "no", "n", "false", "bukan", "salah"})
#: Answers that mean "no answer" wherever they appear in a number column, and their reason.
_MISSING_WORDS: dict[str, str] = {
    **dict.fromkeys(("tidak tahu", "tdk tahu", "tt", "dk", "don't know", "dont know"), "dont_know"),
    **dict.fromkeys(("menolak", "refused", "tidak mau menjawab"), "refused"),
    **dict.fromkeys(("n/a", "na", "tidak berlaku"), "not_applicable"),
}
#: Negative codes survey teams use for "no answer" (``-99`` refused, ``-98`` don't know ...).
_MISSING_NUMBER_RE = re.compile(r"-(?:9{2,4}|8{2,4}|7{2,4}|9[78]|97)")

_DATE_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?|[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"
)
_PLAIN_INT_RE = re.compile(r"[+-]?[0-9]+")
#: ``1.5``, ``0.25``, ``-7.210510``: only a decimal point reads these.
_POINT_DECIMAL_RE = re.compile(r"[+-]?[0-9]*\.(?:[0-9]{1,2}|[0-9]{4,})")
#: ``1.234.567`` (two groups or more) and ``1,5``: only Indonesian separators read these.
_ID_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3}){2,}(?:,[0-9]+)?|[0-9]+,[0-9]{1,2})")
#: ``687.000``: 687000 with Indonesian separators, 687 with a decimal point.
_THREE_RE = re.compile(r"[+-]?[0-9]{1,3}\.[0-9]{3}")
#: ``1,500,000``: English grouping, which the cleaning quarantines as ambiguous.
_EN_GROUPED_RE = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_MONEY_RE = re.compile(
    r"(?:rp\.?|idr)\s*[0-9][0-9.,]*(?:\s*(?:ribu|rb|juta|jt|miliar|m)\.?)?|"
    r"[0-9][0-9.,]*\s*(?:ribu|rb|k|juta|jt|miliar|milyar)\.?(?:\s*rupiah)?|[0-9][0-9.,]*\s*rupiah",
    re.IGNORECASE,
)
_LEADING_ZERO_RE = re.compile(r"0[0-9]+")

_ID_NAMES = re.compile(r"(?:hh_?id|id_?rt|household_?id|id_?ruta|kode_?rt|id_?rumah_?tangga|rt_?id|hhid)")
_VILLAGE_NAMES = re.compile(r"(?:village(?:_?(?:id|code))?|desa|kode_?desa|id_?desa|kelurahan|desa_?kel)")
_TREATMENT_NAMES = re.compile(r"(?:treat|treatment|treated|arm|perlakuan|intervensi|kelompok_?perlakuan)")


@dataclass(frozen=True)
class Guess:
    """What a column's values say about it.

    Attributes
    ----------
    type
        A codebook type.
    cells
        Other codebook cells the values fill (``categories``, ``recode``, ``missing_codes``,
        ``format``).
    note
        What to check, or empty.
    """

    type: str
    cells: Mapping[str, str]
    note: str = ""


def _leaf(column: str) -> str:
    return column.replace("-", "/").split("/")[-1]


def _shown(values: Iterable[str], *, limit: int = 3) -> str:
    return ", ".join(list(dict.fromkeys(values))[:limit])


def _missing(distinct: list[str]) -> dict[str, str]:
    """Answers among ``distinct`` that mean "no answer": raw text -> reason."""
    found: dict[str, str] = {}
    for value in distinct:
        folded = value.casefold()
        if folded in _MISSING_WORDS:
            found[value] = _MISSING_WORDS[folded]
        elif _MISSING_NUMBER_RE.fullmatch(value):
            found[value] = f"code{value}"
    return found


def _number_guess(distinct: list[str], missing: Mapping[str, str], *, personal: bool) -> Guess | None:
    """A number, integer or money guess when every answer reads as a number; else None."""
    rest = [v for v in distinct if v not in missing]
    money = [v for v in rest if _MONEY_RE.fullmatch(v)]
    numbers = [v for v in rest if v not in money]
    kinds = {
        "int": [v for v in numbers if _PLAIN_INT_RE.fullmatch(v)],
        "point": [v for v in numbers if _POINT_DECIMAL_RE.fullmatch(v)],
        "id": [v for v in numbers if _ID_NUMBER_RE.fullmatch(v)],
        "three": [v for v in numbers if _THREE_RE.fullmatch(v)],
        "english": [v for v in numbers if _EN_GROUPED_RE.fullmatch(v) and not _ID_NUMBER_RE.fullmatch(v)],
    }
    read = {v for values in kinds.values() for v in values}
    if not rest or len(read) + len(money) < len(rest):
        return None
    if (
        kinds["int"]
        and all(_LEADING_ZERO_RE.fullmatch(v.lstrip("+-")) for v in kinds["int"])
        and not (money or kinds["point"] or kinds["id"])
    ):
        return None  # codes such as 0101: text, see _guess
    notes: list[str] = []
    cells: dict[str, str] = {}
    if missing:
        cells["missing_codes"] = "; ".join(f"{k}={v}" for k, v in missing.items())
        notes.append(f"missing codes {_shown(missing, limit=5)}: check what each means")
    example = "" if personal else " ({})"
    # Money only on the evidence of `Rp`, `jt`, `rb`...: 1.234.567 alone may count anything.
    if money:
        shown = example.format(_shown(money + kinds["id"] + kinds["three"]))
        notes.append(f"money: amounts written as Rupiah{shown}")
        if kinds["english"]:
            notes.append(
                f"{len(kinds['english'])} amounts use English grouping (1,500,000) and will be quarantined"
            )
        return Guess("money", cells, "; ".join(notes))
    if kinds["id"] and not kinds["point"]:  # Indonesian: "," is the decimal mark
        whole = not any("," in v for v in kinds["id"])
    elif kinds["three"] and not kinds["point"]:  # 1.500: 1500 or 1.5, cannot tell
        whole = False
    else:
        whole = not kinds["point"] and not any("." in v for v in kinds["english"])
    vtype = "integer" if whole else "number"
    if kinds["id"] and not kinds["point"]:
        cells["format"] = "id"
        notes.append(f"numbers written with '.' between thousands{example.format(_shown(kinds['id']))}")
    elif kinds["point"] and not kinds["id"]:
        cells["format"] = "plain"
        if kinds["three"]:
            notes.append("'.' read as the decimal point, as the other values show")
    elif kinds["point"] and kinds["id"]:
        notes.append(
            "the values mix '.' as the decimal point and between thousands: write id or plain in format"
        )
    elif kinds["three"]:
        notes.append(
            f"every number with a separator is like 1.500{example.format(_shown(kinds['three']))}: "
            "write id (1.500 = 1500) or plain (1.500 = 1.5) in format"
        )
    if kinds["english"]:
        notes.append(f"{len(kinds['english'])} values use English grouping (1,500) and will be quarantined")
    if not notes:
        notes.append(f"{vtype}: every answer is a number")
    return Guess(vtype, cells, "; ".join(notes))


def guess_type(values: pd.Series, *, name: str = "") -> Guess:
    """The codebook type a column's values suggest, with the cells that go with it.

    Parameters
    ----------
    values
        The column's cells as text (all rounds together); empty cells are skipped.
    name
        The column's name: a personal-looking one is never quoted in the note.

    Returns
    -------
    Guess

    Examples
    --------
    >>> guess_type(pd.Series(["Ya", "tidak", "ya "])).cells["recode"]
    'ya=1; tidak=0'
    >>> guess_type(pd.Series(["1,9jt", "Rp 620.000", "150000"])).type
    'money'
    """
    personal = looks_personal(name)
    text = values.astype(str).str.strip()
    distinct = list(dict.fromkeys(text[text != ""]))
    if not distinct:
        return Guess("text", {}, "empty in the data: type unknown")
    missing = _missing(distinct)
    rest = [v for v in distinct if v not in missing]
    if rest and all(_DATE_RE.fullmatch(v) for v in rest):
        return Guess("date", {}, "date: every answer is a date")
    folded = list(dict.fromkeys(v.casefold() for v in rest))
    if folded and set(folded) <= _YES | _NO:
        pairs = [f"{v}={1 if v in _YES else 0}" for v in sorted(folded, key=lambda v: v not in _YES)]
        cells = {"categories": "0;1", "recode": "; ".join(pairs)}
        if missing:
            cells["missing_codes"] = "; ".join(f"{k}={v}" for k, v in missing.items())
        return Guess("category", cells, "yes/no: yes = 1, no = 0")
    number = _number_guess(distinct, missing, personal=personal)
    if number is not None:
        return number
    if any(_LEADING_ZERO_RE.fullmatch(v) for v in distinct) and all(v.isdigit() for v in distinct):
        return Guess("text", {}, "codes with leading zeros: kept as text")
    if personal:
        return Guess("text", {}, "")
    many = text[text != ""]
    answers = list(dict.fromkeys(many.str.casefold()))
    if (
        len(answers) <= MAX_CATEGORIES
        and len(many) >= 2 * len(answers)
        and not any(";" in v or "=" in v for v in distinct)
    ):
        spelled = {v.casefold(): v for v in reversed(distinct)}  # the first spelling of each
        categories = [spelled[a] for a in answers]
        return Guess(
            "category",
            {"categories": ";".join(categories)},
            f"category: {len(categories)} answers ({_shown(categories, limit=6)})",
        )
    return Guess("text", {}, "free text")


def _join_renamed(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """One row for a question the follow-up renamed only by its group (``hh/nik`` -> ``rt/nik``).

    A baseline-only row and a follow-up-only row join when their question names (without
    group) are equal and no other such row has that name.
    """
    only = {
        r: [row for row in rows if row[f"source_{r}"] and not row[f"source_{o}"]]
        for r, o in (("baseline", "followup"), ("followup", "baseline"))
    }
    leaves = {r: [_leaf(row[f"source_{r}"]) for row in only[r]] for r in ROUNDS}
    dropped: list[int] = []
    for row, leaf in zip(only["followup"], leaves["followup"], strict=True):
        if leaves["followup"].count(leaf) != 1 or leaves["baseline"].count(leaf) != 1:
            continue
        target = only["baseline"][leaves["baseline"].index(leaf)]
        if (target["type"], target["categories"]) != (row["type"], row["categories"]):
            continue
        target["source_followup"] = row["source_followup"]
        target["_notes"] = "joined across rounds by the question's name (its group was renamed)"
        dropped.append(id(row))
    return [row for row in rows if id(row) not in dropped]


def _values(tables: Mapping[str, pd.DataFrame], row: Mapping[str, str]) -> pd.Series:
    parts = [
        tables[r][row[f"source_{r}"]].astype(str)
        for r in ROUNDS
        if r in tables and row[f"source_{r}"] in tables[r].columns
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=str)


def _find(rows: list[dict[str, str]], column: str) -> dict[str, str] | None:
    """The row a study key names: by name, by source, or by the question name without group."""
    for test in (
        lambda r: r["name"] == column,
        lambda r: column in (r["source_baseline"], r["source_followup"]),
        lambda r: column in (_leaf(r["source_baseline"]), _leaf(r["source_followup"])),
    ):
        hits = [r for r in rows if test(r)]
        if len(hits) == 1:
            return hits[0]
    return None


def _is_name(text: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) is not None


def _name(rows: list[dict[str, str]], row: dict[str, str], wanted: str, key: str) -> None:
    """Give ``row`` the name the study uses for it, when that name can be a variable's."""
    if row["name"] == wanted:
        return
    if not _is_name(wanted):
        _add(row, f"the study's `{key}` is {wanted}; write `{key}: {row['name']}` there with this codebook")
        return
    for other in rows:
        if other is not row and other["name"] == wanted:
            other["name"] = harmonized_name(wanted, taken={r["name"] for r in rows})
    row["name"] = wanted


def _add(row: dict[str, str], note: str) -> None:
    row["_notes"] = "; ".join(filter(None, (row.get("_notes", ""), note)))


def _set_role(row: dict[str, str], role: str, vtype: str, why: str) -> None:
    row.update(role=role, type=vtype)
    if vtype == "id":  # a code: no categories or number style
        row.update(categories="", recode="", format="", missing_codes="")
    _add(row, why)


def _apply_study(rows: list[dict[str, str]], study: Study, tables: Mapping[str, pd.DataFrame]) -> None:
    keyed = [
        ("id", study.id, "household_id", "id"),
        ("village", study.village, "village", "id"),
        ("cluster", study.cluster if study.cluster != study.village else None, "cluster", "id"),
        ("weights", study.weights, "weight", "number"),
    ]
    for key, column, role, vtype in keyed:
        row = _find(rows, column) if column else None
        if row is None or column is None:
            continue
        for other in rows:
            if other is not row and other["role"] == role:
                other["role"] = ""
        _set_role(row, role, vtype, f"{role}: the study's `{key}`")
        _name(rows, row, column, key)
    row = _find(rows, study.treatment)
    if row is not None:
        values = _values(tables, row).str.strip()
        words = [v for v in dict.fromkeys(values[values != ""])]
        unread = [v for v in words if treatment_value(v) is None]
        _set_role(row, "treatment", "category", "treatment: the study's `treatment`")
        row.update(categories="0;1", recode="", missing_codes="")
        if unread and not looks_personal(row["name"]):
            _add(row, f"write the recode to 1/0 for {_shown(unread, limit=5)}")
        _name(rows, row, study.treatment, "treatment")
    for covariate in study.covariates:
        row = _find(rows, covariate)
        if row is not None:
            row["role"] = row["role"] or "covariate"
            _add(row, "covariate: the study's `covariates`")
            _name(rows, row, covariate, "covariates")
    for outcome in study.outcomes:
        for column in dict.fromkeys(outcome.columns.values()):
            row = _find(rows, column)
            if row is None:
                continue
            row["family"] = outcome.family or ""
            row["direction"] = str(outcome.direction)
            if row["type"] not in ("integer", "number", "money") and row["categories"] != "0;1":
                _add(row, f"outcome {outcome.name} is not a number or yes/no here: give its type and recode")
            _name(rows, row, column, f"outcomes[{outcome.name}]")
    for column in study.pii_columns:
        row = _find(rows, column)
        if row is not None:
            row["pii"] = "yes"


def guess_roles(frame: pd.DataFrame) -> pd.DataFrame:
    """The codebook with the household id, village and treatment guessed from column names.

    For a study with no study file yet (``berdaya init``): the first column named like a
    household id (``hhid``, ``id_rt``...), a village (``desa``, ``kode_desa``, ``village``...) or
    an arm (``treat``, ``perlakuan``...) gets the role, with a note, unless a column has it.
    """
    rows = [{str(k): str(v) for k, v in r.items()} for r in frame.to_dict("records")]
    guesses = (
        ("household_id", _ID_NAMES, "id"),
        ("village", _VILLAGE_NAMES, "id"),
        ("treatment", _TREATMENT_NAMES, "category"),
    )
    for role, pattern, vtype in guesses:
        if any(row["role"] == role for row in rows):
            continue
        for row in rows:
            names = {row["name"], _leaf(row["source_baseline"]), _leaf(row["source_followup"])} - {""}
            if row["role"] or row["pii"] == "yes" or not any(pattern.fullmatch(n.casefold()) for n in names):
                continue
            row["_notes"] = row["note"].removeprefix("# check: ")
            _set_role(row, role, vtype, f"{role}, from the column's name")
            if role == "treatment":
                row.update(categories="0;1", recode="")
            row["note"] = f"# check: {row.pop('_notes')}"
            break
    return pd.DataFrame(rows, columns=frame.columns)


def infer_codebook(tables: Mapping[str, pd.DataFrame], *, study: Study | None = None) -> pd.DataFrame:
    """A starting codebook from the rounds' exports, and the study file when there is one.

    Parameters
    ----------
    tables
        Each round's export as text (``RawTable.frame``), keyed ``baseline``/``followup``.
    study
        The study file: its keys give roles, names, outcome families and ``pii`` marks.

    Returns
    -------
    pandas.DataFrame
        Text cells, with the columns of :data:`COLUMNS`; each guess is in ``note``.
    """
    template = codebook_template({r: list(t.columns) for r, t in tables.items()})
    rows = [{str(k): str(v) for k, v in r.items()} for r in template.to_dict("records")]
    for row in rows:
        row["_notes"] = ""
    rows = _join_renamed(rows)
    for row in rows:
        if row["type"] == "select_multiple":
            _add(row, f"select_multiple, from its dummy columns ({row['categories'].replace(';', ', ')})")
            continue
        if row["role"]:
            _add(row, f"{row['role']}, from the column's name (export metadata)")
            continue
        source = row["source_baseline"] or row["source_followup"]
        if row["pii"] == "yes":
            words = set(re.split(r"[^0-9a-z]+", source.casefold()))
            if words & {"nik", "kk"}:
                row["type"] = "id"  # pseudonymized, so that it can still link people
            elif words & {"latitude", "longitude"}:
                part = "latitude" if "latitude" in words else "longitude"
                row.update(type="number", role=row["role"] or f"gps_{part}")
            _add(row, "personal data (its name): dropped, or pseudonymized if an id")
            continue
        guess = guess_type(_values(tables, row), name=source)
        row["type"] = guess.type
        row.update(guess.cells)
        _add(row, guess.note)
    if study is not None:
        _apply_study(rows, study, tables)
    for row in rows:
        row["note"] = f"# check: {row['_notes']}" if row["_notes"] else ""
    return pd.DataFrame([{c: row.get(c, "") for c in COLUMNS} for row in rows], columns=list(COLUMNS))


# ------------------------------------------------------------------------------------------
# The village list


_NAME_WORDS = frozenset({"name", "nama"})
_STRATA_WORDS = frozenset(
    {"kecamatan", "strata", "stratum", "district", "block", "blok", "kabupaten", "region", "wilayah"}
)


@dataclass(frozen=True)
class VillageColumns:
    """The columns of a village list, as :func:`guess_village_list` reads them.

    Attributes
    ----------
    id
        The village code (matching the exports' village column).
    name, strata, treatment
        The village name, the randomization stratum and the arm, or None.
    """

    id: str
    name: str | None = None
    strata: str | None = None
    treatment: str | None = None


def _words(column: str) -> set[str]:
    return {w for w in re.split(r"[^0-9a-z]+", column.casefold()) if w}


def guess_village_list(
    frame: pd.DataFrame, *, codes: Iterable[str], village: str = ""
) -> VillageColumns | None:
    """Which columns of a village list hold the code, name, stratum and arm.

    Parameters
    ----------
    frame
        The village list as text.
    codes
        The village codes of the exports: the code column is the one holding most of them.
    village
        The village variable's name, preferred as the code column when several hold the codes.

    Returns
    -------
    VillageColumns or None
        None when no column holds the exports' codes (the file is not their village list).
    """
    wanted = {str(c).strip() for c in codes} - {""}
    text = {c: frame[c].astype(str).str.strip() for c in frame.columns}
    best, share = None, 0.0
    for column, values in text.items():
        present = set(values) - {""}
        if not present or not wanted:
            continue
        found = len(wanted & present) / len(wanted)
        if found > share or (found == share and column == village):
            best, share = column, found
    if best is None or share < 0.5:
        return None
    rest = [c for c in frame.columns if c != best]
    name = next((c for c in rest if _words(c) & _NAME_WORDS), None)
    strata = next((c for c in rest if c != name and _words(c) & _STRATA_WORDS), None)

    def arm(column: str) -> bool:
        values = [treatment_value(v) for v in set(text[column]) - {""}]
        return bool(values) and set(values) == {0.0, 1.0}

    others = [c for c in rest if c not in (name, strata)]
    named = [c for c in others if _TREATMENT_NAMES.fullmatch(c.casefold()) and arm(c)]
    arms = named or [c for c in others if arm(c)]
    treatment = arms[0] if arms else None
    return VillageColumns(id=best, name=name, strata=strata, treatment=treatment)
