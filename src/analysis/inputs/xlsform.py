"""Read an XLSForm (KoboToolbox, ODK, SurveyCTO) into a starting codebook.

The form is the best codebook a survey team already has: its ``survey`` sheet names every
question, its type, its group, its labels in each language and its constraint; its
``choices`` sheet holds every answer. :func:`read_xlsform` reads the sheets (with openpyxl,
through :func:`analysis.inputs.readers.read_table`); :func:`codebook_from_xlsforms` turns one
form, or one form per round, into codebook rows (``docs/codebook.md``), each guess it could not
be sure of with a ``# check`` note. ``docs/xlsform.md`` lists what is read and what is not.

A form may also carry the analysis plan in optional columns named ``berdaya::<codebook
column>`` (``berdaya::name``, ``berdaya::family``, ``berdaya::role``, ``berdaya::direction``,
``berdaya::unit``, ``berdaya::missing_codes``, ...): their cells are copied into the codebook
as they are, over whatever the form's own columns imply. In the ``choices`` sheet,
``berdaya::value`` gives an answer's harmonized value (``laki-laki`` -> ``male``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.config import ROUNDS
from analysis.errors import InputError
from analysis.inputs.codebook import (
    CODEBOOK_COLUMNS,
    OPTIONAL_COLUMNS,
    codebook_template,
    harmonized_name,
    looks_personal,
)
from analysis.inputs.readers import read_table
from analysis.inputs.readers.workbook import sheet_names

#: Prefix of the optional analysis columns a form may carry.
BERDAYA_PREFIX = "berdaya::"
#: Codebook columns a ``berdaya::`` column may set (the sources come from the form itself).
SETTABLE_COLUMNS: tuple[str, ...] = tuple(
    c for c in CODEBOOK_COLUMNS + OPTIONAL_COLUMNS if not c.startswith("source_")
)
#: Every column of a codebook written from forms, in order.
COLUMNS: tuple[str, ...] = CODEBOOK_COLUMNS + OPTIONAL_COLUMNS

#: XLSForm types read as numbers; ``range`` is a number picked on a slider.
_NUMBER_TYPES = {"integer": "integer", "decimal": "number", "range": "number"}
#: XLSForm types read as dates or times of day, with the role the device time has.
_DATE_TYPES = {"date": "", "datetime": "", "today": "", "start": "interview_start", "end": "interview_end"}
#: Types whose answers are personal data whatever the question is called.
_PERSONAL_TYPES = frozenset(
    {
        "geopoint", "geotrace", "geoshape", "deviceid", "subscriberid", "simserial", "phonenumber",
        "username", "email", "image", "audio", "video", "file", "background-audio", "audit",
    }
)  # fmt: skip
#: Types that hold no answer of their own and are not exported.
_NOT_EXPORTED = frozenset({"note", "end_group", "end_repeat"})
#: Roles whose variable is a code, kept as text and never parsed as a number.
_CODE_ROLES = frozenset({"household_id", "village", "cluster", "submission_id"})
#: Kobo and ODK spellings of a geopoint's parts: the Kobo suffix, the ODK suffix, the codebook
#: suffix and role. Latitude and longitude are read as numbers for the GPS checks; altitude and
#: accuracy stay text, as they are only ever dropped.
_GEOPOINT_PARTS: tuple[tuple[str, str, str, str], ...] = (
    ("latitude", "Latitude", "latitude", "gps_latitude"),
    ("longitude", "Longitude", "longitude", "gps_longitude"),
    ("altitude", "Altitude", "altitude", ""),
    ("precision", "Accuracy", "precision", ""),
)

#: Choice names (or labels) of a yes/no list; the harmonized values are 1 and 0.
_YES = frozenset({"ya", "iya", "yes", "y", "1", "true", "benar"})
_NO = frozenset({"tidak", "tdk", "no", "n", "0", "false", "bukan", "salah"})
#: Choice names or labels that mean "no answer", and the missing-code reason they get.
_MISSING_CHOICES: dict[str, str] = {
    **dict.fromkeys(
        ("tidak tahu", "tidak_tahu", "tdk tahu", "tdk_tahu", "dont_know", "don't know", "dont know",
         "do not know", "dk", "tt"),
        "dont_know",
    ),
    **dict.fromkeys(("menolak", "menolak menjawab", "refused", "refuse", "tidak mau menjawab"), "refused"),
}  # fmt: skip

_BOUND_RE = re.compile(r"\.\s*(>=|<=|>|<)\s*(-?[0-9]+(?:\.[0-9]+)?)")
_PII_HINT_RE = re.compile(r"\bpii\b", re.IGNORECASE)
_MONEY_RE = re.compile(r"\b(?:rp|rupiah|idr)\b", re.IGNORECASE)
_TRUE = frozenset({"yes", "ya", "true", "1", "y"})


@dataclass(frozen=True)
class Choice:
    """One answer of a choice list.

    Attributes
    ----------
    name
        The value the export holds (the XLSForm ``name``).
    labels
        Label per report language (``id``, ``en``).
    value
        The harmonized value from ``berdaya::value``, or empty.
    """

    name: str
    labels: Mapping[str, str]
    value: str = ""


@dataclass(frozen=True)
class Question:
    """One question of a form's ``survey`` sheet.

    Attributes
    ----------
    path
        The enclosing groups, then the question's name (``("hh", "hhid")``).
    type
        The XLSForm type word (``integer``, ``select_one``, ``geopoint``...), lower case.
    list_name
        The choice list of a select question.
    labels
        Label per report language (``id``, ``en``).
    hints
        Every hint text, in any language.
    constraint
        The constraint expression, as written.
    calculation
        The calculation of a ``calculate`` field.
    pii
        The form's ``pii`` column says yes, or a hint says ``pii``.
    settings
        ``berdaya::`` cells: codebook column -> text.
    row
        The spreadsheet row (header = row 1).
    other
        ``select_one list or_other``: the answer may be typed in.
    """

    path: tuple[str, ...]
    type: str
    list_name: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    hints: tuple[str, ...] = ()
    constraint: str = ""
    calculation: str = ""
    pii: bool = False
    settings: Mapping[str, str] = field(default_factory=dict)
    row: int = 0
    other: bool = False

    @property
    def name(self) -> str:
        """The question's own name, without its groups."""
        return self.path[-1]


@dataclass(frozen=True)
class XLSForm:
    """A form as read by :func:`read_xlsform`.

    Attributes
    ----------
    path
        The workbook.
    title
        ``settings.form_title``, or empty.
    questions
        The questions that have an answer in the export, in form order (groups, notes and
        questions inside repeats left out).
    choices
        Choice list name -> its answers, in form order.
    skipped
        One line per part of the form that was not read (repeats), for the notes.
    """

    path: Path
    title: str
    questions: tuple[Question, ...]
    choices: Mapping[str, tuple[Choice, ...]]
    skipped: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------------
# Reading the workbook


def _language(header: str, default: str | None) -> str | None:
    """The report language of a ``label``/``hint`` column: ``id``, ``en`` or None.

    ``label::Indonesian (id)``, ``label::Bahasa Indonesia``, ``label::English (en)``; a plain
    ``label`` is in the form's ``default_language`` when that is one of the two.
    """
    if "::" not in header:
        return default
    spoken = header.split("::", 1)[1].strip().casefold()
    code = re.search(r"\(([a-z]{2,3})(?:[-_][a-z]+)?\)\s*$", spoken)
    if code is not None:
        return {"id": "id", "ind": "id", "in": "id", "en": "en", "eng": "en"}.get(code.group(1))
    if "indones" in spoken or spoken in ("id", "bahasa"):
        return "id"
    if "english" in spoken or spoken == "en":
        return "en"
    return None


def _sheet(path: Path, name: str, sheets: Sequence[str]) -> pd.DataFrame | None:
    """A sheet of the form as text (``None`` when the workbook has no sheet of that name)."""
    found = [s for s in sheets if s.strip().casefold() == name]
    if not found:
        return None
    table = read_table(path, sheet=found[0])
    frame = table.frame.copy()
    frame.columns = pd.Index([str(c).strip() for c in frame.columns], dtype=object)
    frame["__row"] = table.row_numbers
    return frame


def is_xlsform(path: str | Path) -> bool:
    """Whether ``path`` is an ``.xlsx`` workbook with a ``survey`` sheet."""
    path = Path(path)
    if path.suffix.lower() not in (".xlsx", ".xlsm") or not path.is_file():
        return False
    try:
        return any(s.strip().casefold() == "survey" for s in sheet_names(path))
    except InputError:
        return False


def _settings(cells: Mapping[str, str]) -> dict[str, str]:
    """The ``berdaya::`` cells of one row, checked against the codebook's columns."""
    return {
        k[len(BERDAYA_PREFIX) :].strip(): v.strip()
        for k, v in cells.items()
        if k.casefold().startswith(BERDAYA_PREFIX) and v.strip()
    }


def _check_settings(frame: pd.DataFrame, path: Path, sheet: str, allowed: Sequence[str]) -> None:
    for column in frame.columns:
        if not str(column).casefold().startswith(BERDAYA_PREFIX):
            continue
        key = str(column)[len(BERDAYA_PREFIX) :].strip()
        if key not in allowed:
            raise InputError(
                f"`{key}` is not a codebook column a form can set; berdaya:: columns may be "
                f"{', '.join(allowed)} (docs/xlsform.md)",
                file=path,
                sheet=sheet,
                column=str(column),
            )


def _labels(cells: Mapping[str, str], prefix: str, default: str | None) -> dict[str, str]:
    """Label per language from the ``label``/``label::...`` cells (the first filled one wins)."""
    found: dict[str, str] = {}
    for column, text in cells.items():
        head = column.split("::", 1)[0].strip().casefold()
        if head != prefix or not text.strip():
            continue
        language = _language(column, default)
        if language is not None:
            found.setdefault(language, " ".join(text.split()))
    return found


def _choices(frame: pd.DataFrame | None, path: Path, default: str | None) -> dict[str, tuple[Choice, ...]]:
    if frame is None:
        return {}
    columns = {c.casefold(): c for c in frame.columns}
    list_column = columns.get("list_name") or columns.get("list name")
    if list_column is None or "name" not in columns:
        raise InputError(
            "the choices sheet needs the columns list_name and name", file=path, sheet="choices", rows=[1]
        )
    _check_settings(frame, path, "choices", ("value",))
    lists: dict[str, list[Choice]] = {}
    for record in frame.to_dict("records"):
        cells = {str(k): str(v) for k, v in record.items() if k != "__row"}
        list_name, name = cells[list_column].strip(), cells[columns["name"]].strip()
        if not list_name:
            continue
        if not name:
            raise InputError(
                f"an answer of the list {list_name} has no name",
                file=path,
                sheet="choices",
                rows=[int(record["__row"])],
                column="name",
            )
        lists.setdefault(list_name, []).append(
            Choice(
                name=name, labels=_labels(cells, "label", default), value=_settings(cells).get("value", "")
            )
        )
    return {k: tuple(v) for k, v in lists.items()}


def _type_words(text: str) -> list[str]:
    """``select one yes_no`` / ``begin group`` (ODK's spellings) as XLSForm's words."""
    words = text.strip().split()
    if len(words) >= 2 and words[0].casefold() in ("select", "begin", "end"):
        words = [f"{words[0]}_{words[1]}", *words[2:]]
    return [words[0].casefold(), *words[1:]] if words else []


def read_xlsform(path: str | Path) -> XLSForm:
    """Read a form's ``survey``, ``choices`` and ``settings`` sheets.

    Parameters
    ----------
    path
        The XLSForm workbook (``.xlsx``).

    Returns
    -------
    XLSForm

    Raises
    ------
    InputError
        One line naming the sheet, row and column: no ``survey`` sheet, a question without a
        name or type, a select question whose list is not in ``choices``, a group left open or
        closed twice, a ``berdaya::`` column that is not a codebook column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("the XLSForm does not exist", file=path)
    sheets = sheet_names(path)
    survey = _sheet(path, "survey", sheets)
    if survey is None:
        raise InputError(
            f"is not an XLSForm: it has no survey sheet (its sheets are {', '.join(sheets)})", file=path
        )
    settings_frame = _sheet(path, "settings", sheets)
    settings = (
        {}
        if settings_frame is None or settings_frame.empty
        else {str(k).casefold(): str(v).strip() for k, v in settings_frame.iloc[0].items() if k != "__row"}
    )
    default = (
        _language(f"label::{settings['default_language']}", None)
        if settings.get("default_language")
        else None
    )
    # A plain `label` column is in the default language; without one, Indonesian is the guess
    # (it is the form's own language in the surveys this workbench is for).
    default = default or "id"
    choices = _choices(_sheet(path, "choices", sheets), path, default)
    columns = {c.casefold(): c for c in survey.columns}
    for needed in ("type", "name"):
        if needed not in columns:
            raise InputError(f"the survey sheet has no {needed} column", file=path, sheet="survey", rows=[1])
    _check_settings(survey, path, "survey", SETTABLE_COLUMNS)
    groups: list[tuple[str, int, bool]] = []  # name, row, is_repeat
    questions: list[Question] = []
    skipped: list[str] = []
    for record in survey.to_dict("records"):
        row = int(record["__row"])
        cells = {str(k): str(v) for k, v in record.items() if k != "__row"}
        words = _type_words(cells[columns["type"]])
        name = cells[columns["name"]].strip()
        if not words:
            if name:
                raise InputError(
                    f"question {name} has no type", file=path, sheet="survey", rows=[row], column="type"
                )
            continue
        kind = words[0]
        if kind in ("begin_group", "begin_repeat"):
            if not name:
                raise InputError(
                    f"{kind} without a name", file=path, sheet="survey", rows=[row], column="name"
                )
            groups.append((name, row, kind == "begin_repeat"))
            if kind == "begin_repeat" and not any(g[2] for g in groups[:-1]):
                skipped.append(
                    f"repeat {name} (row {row}): its answers are in a separate table of the export and are "
                    "not read"
                )
            continue
        if kind in ("end_group", "end_repeat"):
            if not groups:
                raise InputError(
                    f"{kind} closes no open group", file=path, sheet="survey", rows=[row], column="type"
                )
            groups.pop()
            continue
        if kind in _NOT_EXPORTED or any(g[2] for g in groups):
            continue
        if not name:
            raise InputError(
                f"a {kind} question has no name", file=path, sheet="survey", rows=[row], column="name"
            )
        list_name = words[1] if kind in ("select_one", "select_multiple", "rank") and len(words) > 1 else ""
        if kind in ("select_one", "select_multiple") and list_name not in choices:
            raise InputError(
                f"question {name} uses the choice list {list_name or '(none)'}, which the choices sheet "
                "does not have",
                file=path,
                sheet="survey",
                rows=[row],
                column="type",
            )
        hints = tuple(v for k, v in cells.items() if k.split("::", 1)[0].strip().casefold() == "hint" and v)
        pii_cell = cells.get(columns.get("pii", ""), "").strip().casefold()
        questions.append(
            Question(
                path=(*(g[0] for g in groups), name),
                type=kind,
                list_name=list_name,
                labels=_labels(cells, "label", default),
                hints=hints,
                constraint=cells.get(columns.get("constraint", ""), "").strip(),
                calculation=cells.get(columns.get("calculation", ""), "").strip(),
                pii=pii_cell in _TRUE or any(_PII_HINT_RE.search(h) for h in hints),
                settings=_settings(cells),
                row=row,
                other=len(words) > 2 and words[2].casefold() == "or_other",
            )
        )
    if groups:
        name, row, _ = groups[-1]
        raise InputError(
            f"group {name} is opened here and never closed (end_group)", file=path, sheet="survey", rows=[row]
        )
    return XLSForm(
        path=path,
        title=settings.get("form_title", ""),
        questions=tuple(questions),
        choices=choices,
        skipped=tuple(skipped),
    )


# ------------------------------------------------------------------------------------------
# One form -> codebook entries


@dataclass
class _Entry:
    """One codebook row as one form gives it, before the rounds are merged."""

    cells: dict[str, str]
    #: Export column names this row may have, most likely first.
    spellings: tuple[str, ...]
    #: The question's own name and its labels, to match the row in the other round's form.
    question: str = ""
    labels: tuple[str, ...] = ()
    #: The ``berdaya::name`` cell, which matches across forms before anything else.
    explicit: str = ""
    notes: list[str] = field(default_factory=list)
    #: For the parts of a geopoint: the entry of the geopoint itself, and the part.
    parent: _Entry | None = None
    part: str = ""


def _bounds(constraint: str, *, whole: bool) -> tuple[str, str, str]:
    """``valid_min``, ``valid_max`` and a note from a constraint such as ``. >= 0 and . <= 100``.

    Only conjunctions of bounds on ``.`` are read; anything else (``or``, ``regex()``,
    ``${other}``) is left to the note. ``. > 0`` is ``1`` for whole numbers; for decimals the
    inclusive bound is kept and the note says so.
    """
    text = constraint.strip()
    if not text:
        return "", "", ""
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    low: float | None = None
    high: float | None = None
    strict = False
    for part in re.split(r"\s+and\s+", text):
        part = part.strip().strip("()").strip()
        match = _BOUND_RE.fullmatch(part)
        if match is None:
            return "", "", f"constraint `{constraint}` not read: write valid_min/valid_max"
        operator, number = match.group(1), float(match.group(2))
        if operator in (">", "<"):
            if whole:
                number += 1 if operator == ">" else -1
            else:
                strict = True
        if operator.startswith(">"):
            low = number if low is None else max(low, number)
        else:
            high = number if high is None else min(high, number)
    note = f"constraint `{constraint}` is strict; the valid range includes its ends" if strict else ""
    return _number_text(low), _number_text(high), note


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() else repr(value)


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^0-9a-z]+", text.casefold()) if t}


def _choice_cells(choices: Sequence[Choice]) -> tuple[str, str, str, str]:
    """``categories``, ``recode``, ``missing_codes`` and a note for a select_one question.

    Yes/no lists (``ya``/``tidak``, ``yes``/``no``) become ``0;1``; other answers keep their
    name unless ``berdaya::value`` gives another value. The recode maps each name and each
    label to the value, so an export with labels (``Ya``, ``Laki-laki``) reads the same; a
    "don't know" or "refused" answer becomes a missing code.
    """
    missing: dict[str, str] = {}
    answers: list[Choice] = []
    for choice in choices:
        said = [choice.name.casefold(), *(label.casefold() for label in choice.labels.values())]
        reason = next((_MISSING_CHOICES[s] for s in said if s in _MISSING_CHOICES), None)
        if reason is not None and not choice.value:
            missing[choice.name] = reason
        else:
            answers.append(choice)
    names = {c.name.casefold() for c in answers}
    yes_no = len(answers) == 2 and len(names & _YES) == 1 and len(names & _NO) == 1
    values: dict[str, str] = {}
    for choice in answers:
        if choice.value:
            values[choice.name] = choice.value
        elif yes_no:
            values[choice.name] = "1" if choice.name.casefold() in _YES else "0"
        else:
            values[choice.name] = choice.name
    recode: dict[str, str] = {}  # casefolded raw -> value
    spelling: dict[str, str] = {}  # casefolded raw -> as the form writes it (the reader casefolds)
    clashes: set[str] = set()
    for choice in answers:
        value = values[choice.name]
        for raw in (choice.name, *choice.labels.values()):
            key = raw.strip()
            folded = key.casefold()
            # Pairs are `raw=value; ...`: a label holding `=` or `;` cannot be written.
            if not key or "=" in key or ";" in key or folded == value.casefold():
                continue
            if folded in recode and recode[folded] != value:
                clashes.add(folded)
            recode.setdefault(folded, value)
            spelling.setdefault(folded, key)
    pairs = [f"{spelling[k]}={v}" for k, v in recode.items() if k not in clashes]
    # A yes/no list is 0;1 whichever answer the form lists first.
    categories = "0;1" if yes_no else ";".join(dict.fromkeys(values[c.name] for c in answers))
    note = "labels shared by several answers are left out of the recode" if clashes else ""
    return (
        categories,
        "; ".join(pairs),
        "; ".join(f"{k}={v}" for k, v in missing.items()),
        note,
    )


def _spellings(path: tuple[str, ...]) -> tuple[str, ...]:
    """How an export may name a question: Kobo ``g/q``, ODK ``g-q``, or without its groups."""
    return tuple(dict.fromkeys(("/".join(path), "-".join(path), path[-1])))


def _entries(form: XLSForm) -> list[_Entry]:
    """The codebook rows one form gives, in form order (a geopoint gives five)."""
    entries: list[_Entry] = []
    for question in form.questions:
        entry = _question_entry(question, form)
        entries.append(entry)
        if question.type == "geopoint":
            for kobo, odk, suffix, role in _GEOPOINT_PARTS:
                path, name = question.path, question.name
                cells = dict.fromkeys(COLUMNS, "")
                cells.update(
                    type="number" if role else "text",
                    role=role,
                    pii="yes",
                    label_id=_part_label(entry.cells["label_id"], suffix, "id"),
                    label_en=_part_label(entry.cells["label_en"], suffix, "en"),
                )
                spellings = (
                    f"_{name}_{kobo}",
                    "/".join((*path[:-1], f"_{name}_{kobo}")),
                    "-".join((*path, odk)),
                    "/".join((*path, odk)),
                )
                base = entry.explicit or question.name
                entries.append(
                    _Entry(
                        cells,
                        tuple(dict.fromkeys(spellings)),
                        question=f"{base}_{suffix}",
                        parent=entry,
                        part=suffix,
                    )
                )
    return entries


_PART_WORDS = {
    "latitude": ("lintang", "latitude"),
    "longitude": ("bujur", "longitude"),
    "altitude": ("ketinggian", "altitude"),
    "precision": ("presisi", "precision"),
}


def _part_label(label: str, part: str, language: str) -> str:
    word = _PART_WORDS[part][0 if language == "id" else 1]
    return f"{label} ({word})" if label else ""


def _question_entry(question: Question, form: XLSForm) -> _Entry:
    """One question's codebook cells, with a note for every guess."""
    cells = dict.fromkeys(COLUMNS, "")
    notes: list[str] = []
    kind = question.type
    cells["label_id"] = question.labels.get("id", "")
    cells["label_en"] = question.labels.get("en", "")
    words = _tokens("/".join(question.path))
    vtype, role = "text", ""
    if kind in _NUMBER_TYPES:
        vtype = _NUMBER_TYPES[kind]
    elif kind in _DATE_TYPES:
        vtype, role = "date", _DATE_TYPES[kind]
    elif kind == "select_one":
        vtype = "category"
        categories, recode, missing, note = _choice_cells(form.choices[question.list_name])
        cells.update(categories=categories, recode=recode, missing_codes=missing)
        if note:
            notes.append(note)
        if question.other:
            notes.append(
                "the answer may be typed in (or_other): typed answers are quarantined as unknown_choice"
            )
    elif kind == "select_multiple":
        vtype = "select_multiple"
        cells["categories"] = ";".join(c.name for c in form.choices[question.list_name])
    elif kind == "calculate":
        notes.append(
            f"calculated in the form ({question.calculation or 'no calculation'}): type guessed as text"
        )
    elif kind in ("select_one_from_file", "select_multiple_from_file", "select_one_external"):
        notes.append(f"{kind}: its answers are in a file the form names, not in the form; typed as text")
    elif (
        kind not in ("text", "barcode", "hidden", "acknowledge", "rank", "time")
        and kind not in _PERSONAL_TYPES
    ):
        notes.append(f"type {kind} is not one berdaya knows: read as text")
    money_words = " ".join((*question.labels.values(), *question.hints))
    if vtype in ("text", "integer", "number") and _MONEY_RE.search(money_words) and kind != "calculate":
        vtype = "money"
        if "type" not in question.settings:
            notes.append("an amount in Rp (the label or hint says so): typed money")
    if vtype == "text" and words & {"nik", "kk"}:
        vtype = "id"  # a national id links people across sources: pseudonymized, not dropped
    personal = question.pii or kind in _PERSONAL_TYPES or looks_personal("/".join(question.path))
    low, high, note = _bounds(question.constraint, whole=vtype == "integer")
    if vtype in ("integer", "number", "money"):
        cells.update(valid_min=low, valid_max=high)
        if note:
            notes.append(note)
    elif question.constraint and vtype != "date":
        notes.append(f"constraint `{question.constraint}` not read")
    explicit = question.settings.get("name", "")
    cells.update(
        name=explicit,
        type=vtype,
        role=role,
        pii="yes" if personal else "",
    )
    for column, value in question.settings.items():
        cells[column] = value
    if cells["role"] in _CODE_ROLES and cells["type"] in ("text", "integer", "number", "category"):
        cells["type"] = "id"
    if cells["family"] and not cells["direction"]:
        cells["direction"] = "1"
    return _Entry(
        cells=cells,
        spellings=_spellings(question.path),
        question=question.name,
        labels=tuple(v.casefold() for v in question.labels.values() if v),
        explicit=explicit,
        notes=notes,
    )


# ------------------------------------------------------------------------------------------
# Forms of two rounds -> one codebook


def _match(followup: list[_Entry], baseline: list[_Entry]) -> dict[int, tuple[int, str]]:
    """Follow-up entry -> (baseline entry, how it was matched), for the entries that match.

    By ``berdaya::name`` when both carry one; else by the question's name; else by a label the
    two share and no other question has (noted, to be checked).
    """
    found: dict[int, tuple[int, str]] = {}
    taken: set[int] = set()
    questions = [(i, e) for i, e in enumerate(baseline) if e.parent is None]

    def only(candidates: list[int]) -> int | None:
        free = [i for i in candidates if i not in taken]
        return free[0] if len(free) == 1 and len(candidates) == 1 else None

    for j, entry in enumerate(followup):
        if entry.parent is not None:
            continue
        if entry.explicit and any(e.explicit for _, e in questions):
            # Both forms carry the plan: a different berdaya::name is a different question.
            hit = only([i for i, e in questions if e.explicit == entry.explicit])
            if hit is not None:
                found[j] = (hit, "")
                taken.add(hit)
            continue
        pool = [(i, e) for i, e in questions if not (e.explicit and entry.explicit)]
        hit = only([i for i, e in pool if e.question == entry.question])
        how = ""
        if hit is None and entry.labels:
            hit = only([i for i, e in pool if set(e.labels) & set(entry.labels)])
            how = "matched to the baseline question by its label: check that it is the same question"
        if hit is not None:
            found[j] = (hit, how)
            taken.add(hit)
    # The parts of a geopoint follow the geopoint.
    parts = {(id(e.parent), e.part): i for i, e in enumerate(baseline) if e.parent is not None}
    for j, entry in enumerate(followup):
        parent = entry.parent
        if parent is None:
            continue
        parent_index = followup.index(parent)
        if parent_index in found:
            hit = parts.get((id(baseline[found[parent_index][0]]), entry.part))
            if hit is not None:
                found[j] = (hit, "")
    return found


def _source(entry: _Entry, columns: Sequence[str] | None) -> str:
    """The export column of ``entry``: the first spelling the export has (Kobo's without export)."""
    if columns is None:
        return entry.spellings[0]
    present = set(columns)
    return next((s for s in entry.spellings if s in present), "")


def _differences(first: dict[str, str], second: dict[str, str]) -> list[str]:
    return [
        f"{column} is {second[column] or 'empty'} in the follow-up form"
        for column in ("type", "categories", "valid_min", "valid_max")
        if first[column] != second[column]
    ]


def codebook_from_xlsforms(
    forms: Mapping[str, XLSForm],
    *,
    columns: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """A codebook from the form of each round (one form may serve both).

    The rows of the two forms are merged by ``berdaya::name`` where both forms carry it, else
    by the question's name, else by a label the two questions share (noted). A follow-up
    question the baseline form lacks comes after the row it follows in the follow-up form.

    Parameters
    ----------
    forms
        ``{"baseline": form, "followup": form}``; the same form under both keys for a survey
        that did not change.
    columns
        The export's column names per round. With them each question's source is the spelling
        the export uses (``hh/income``, ``hh-income`` or ``income``), and export columns the
        form does not have (``_uuid``, ``_submission_time``...) get rows too. Without them
        sources are Kobo's ``group/question``.

    Returns
    -------
    pandas.DataFrame
        Text cells, with the columns of :data:`COLUMNS`; ``note`` says what to check.
    """
    missing = [r for r in ROUNDS if r not in forms]
    if missing:
        raise ValueError(f"no form for {', '.join(missing)}")
    baseline, followup = _entries(forms["baseline"]), _entries(forms["followup"])
    same_form = forms["baseline"].path == forms["followup"].path
    matched = {j: (j, "") for j in range(len(followup))} if same_form else _match(followup, baseline)
    into = {b: (j, how) for j, (b, how) in matched.items()}

    def source(entry: _Entry, round_name: str, notes: list[str]) -> str:
        found = _source(entry, None if columns is None else columns.get(round_name, []))
        if not found:
            notes.append(f"not in the {round_name} export")
        return found

    keyed: list[tuple[float, dict[str, str]]] = []
    for i, entry in enumerate(baseline):
        notes = list(entry.notes)
        row = {**entry.cells, "source_baseline": source(entry, "baseline", notes)}
        if i in into:
            j, how = into[i]
            row["source_followup"] = source(followup[j], "followup", notes)
            notes += [how] if how else []
            notes += [] if same_form else _differences(entry.cells, followup[j].cells)
        keyed.append((float(i), _finish(row, entry, notes)))
    # A follow-up question the baseline form lacks goes after the row before it in the follow-up.
    after = -1.0
    for j, entry in enumerate(followup):
        if j in matched:
            after = float(matched[j][0])
            continue
        notes = list(entry.notes)
        after += 1e-6
        keyed.append(
            (
                after,
                _finish({**entry.cells, "source_followup": source(entry, "followup", notes)}, entry, notes),
            )
        )
    rows = _name_rows([row for _, row in sorted(keyed, key=lambda item: item[0])])
    if columns is not None:
        rows += _export_rows(rows, columns)
    skipped = [
        f"{forms[r].path.name}: {line}" for r in ROUNDS[: 1 if same_form else 2] for line in forms[r].skipped
    ]
    if rows and skipped:
        rows[0]["_notes"] = "; ".join(filter(None, (rows[0]["_notes"], *skipped)))
    return pd.DataFrame(
        [{**{c: row.get(c, "") for c in COLUMNS}, "note": _note(row)} for row in rows],
        columns=list(COLUMNS),
    )


def _finish(row: dict[str, str], entry: _Entry, notes: list[str]) -> dict[str, str]:
    """The row with what naming and the note need: its question's name and the notes."""
    row["_question"] = entry.question
    row["_notes"] = "; ".join(dict.fromkeys(notes))
    return row


def _note(row: Mapping[str, str]) -> str:
    text = "; ".join(p for p in (row.get("note", ""), row.get("_notes", "")) if p)
    return f"# check: {text}" if text else ""


def _name_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Give every row a unique harmonized name: ``berdaya::name``, else its question's own."""
    taken = {r["name"] for r in rows if r["name"]}
    for row in rows:
        if not row["name"]:
            row["name"] = harmonized_name(row["_question"], taken=taken)
            taken.add(row["name"])
    return rows


def _export_rows(rows: list[dict[str, str]], columns: Mapping[str, Sequence[str]]) -> list[dict[str, str]]:
    """Rows for the export columns no form row reads: metadata (``_uuid``), and any other.

    They are the rows :func:`~analysis.inputs.codebook.codebook_template` writes for them
    (metadata roles, personal-looking names marked ``pii``), renamed where a form row has the
    name already; select_multiple dummies (``assets/tv``) belong to their question's row.
    """
    left: dict[str, list[str]] = {}
    for round_name in ROUNDS:
        sources = {row[f"source_{round_name}"] for row in rows} - {""}
        multiple = [row[f"source_{round_name}"] for row in rows if row["type"] == "select_multiple"]
        left[round_name] = [
            c
            for c in columns.get(round_name, [])
            if c not in sources and not any(c.startswith((f"{s}/", f"{s}-")) for s in multiple if s)
        ]
    taken_names = {r["name"] for r in rows}
    taken_roles = {r["role"] for r in rows if r["role"]}
    extra: list[dict[str, str]] = []
    for record in codebook_template(left).to_dict("records"):
        row = {str(k): str(v) for k, v in record.items()}
        if row["name"] in taken_names:
            row["name"] = harmonized_name(row["name"], taken=taken_names)
        taken_names.add(row["name"])
        if row["role"] in taken_roles:
            row["role"] = ""
        taken_roles.add(row["role"])
        metadata = (row["source_baseline"] or row["source_followup"]).startswith("_")
        row["_notes"] = "" if metadata or row["role"] else "not in the form: typed as text"
        extra.append(row)
    return extra
