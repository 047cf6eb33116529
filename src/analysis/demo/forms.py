"""The demo survey's XLSForms: the Kobo forms the two rounds' exports could have come from.

:func:`render_forms` writes one form per round (``survey``, ``choices`` and ``settings``
sheets; Indonesian and English labels) whose questions, groups and names give exactly the
columns of the demo exports: the follow-up form renamed its groups and questions as the
follow-up export did. The forms also carry the demo's analysis plan in ``berdaya::`` columns
(``docs/xlsform.md``), so that ``berdaya codebook --from-xlsform`` rebuilds the hand-written
codebook's analysis from the forms alone.

The forms are built from the codebook's rows (passed in, so this module needs nothing else of
the demo), and written byte for byte the same on every run: the workbook's creation and
modification times and the times stored in the zip are fixed.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping, Sequence

import pandas as pd

__all__ = ["BASELINE_FORM", "FOLLOWUP_FORM", "FORM_FILES", "render_forms"]

BASELINE_FORM = "form_baseline_2023.xlsx"
FOLLOWUP_FORM = "form_followup_2025.xlsx"
FORM_FILES: tuple[str, ...] = (BASELINE_FORM, FOLLOWUP_FORM)

#: The moment written into every form (workbook properties and zip entries).
_FIXED_TIME = dt.datetime(2023, 1, 9, 8, 0, 0)

_ID = "Indonesian (id)"
_EN = "English (en)"
SURVEY_COLUMNS: tuple[str, ...] = (
    "type",
    "name",
    f"label::{_ID}",
    f"label::{_EN}",
    f"hint::{_ID}",
    f"hint::{_EN}",
    "required",
    "relevant",
    "constraint",
    f"constraint_message::{_ID}",
    "appearance",
    "berdaya::name",
    "berdaya::role",
    "berdaya::family",
    "berdaya::direction",
    "berdaya::unit",
    "berdaya::valid_min",
    "berdaya::valid_max",
    "berdaya::missing_codes",
)
CHOICE_COLUMNS: tuple[str, ...] = ("list_name", "name", f"label::{_ID}", f"label::{_EN}", "berdaya::value")

#: Group name -> (Indonesian label, English label), for both rounds' group names.
_GROUPS: dict[str, tuple[str, str]] = {
    "hh": ("Rumah tangga", "Household"),
    "rt": ("Rumah tangga", "Household"),
    "responden": ("Responden", "Respondent"),
    "resp": ("Responden", "Respondent"),
    "pendapatan": ("Pendapatan bulan lalu", "Income last month"),
    "penghasilan": ("Penghasilan bulan lalu", "Income last month"),
    "partisipasi": ("Partisipasi dalam pembangunan desa", "Taking part in village development"),
    "peran_serta": ("Peran serta dalam pembangunan desa", "Taking part in village development"),
    "program": ("Program pemberdayaan", "The empowerment programme"),
    "lembaga": ("Kelembagaan desa", "Village institutions"),
    "kelembagaan": ("Kelembagaan desa", "Village institutions"),
    "usaha": ("Usaha", "Business"),
    "umkm": ("Usaha mikro dan kecil", "Micro and small business"),
    "lingkungan": ("Lingkungan", "Environment"),
    "kehidupan": ("Kehidupan rumah tangga", "Household life"),
    "kesejahteraan": ("Kesejahteraan", "Well-being"),
    "masyarakat": ("Kemasyarakatan", "Community"),
    "sosial": ("Kehidupan sosial", "Social life"),
    "izin": ("Persetujuan", "Consent"),
    "lokasi": ("Lokasi", "Location"),
}
_YES_NO_RECODE = "ya=1; tidak=0"
_MONEY_HINT = (
    "Rp per bulan; tulis seperti yang disebut responden (mis. 1,5 juta)",
    "Rp per month; write it as the respondent says it (e.g. 1,5 juta)",
)
_DEBT_HINT = ("Rp; seluruh sisa utang", "Rp; all outstanding debt")
_SETTINGS = {
    "baseline": ("Survei Rumah Tangga Sukamaju 2023 (baseline)", "sukamaju_baseline_2023", "2301091"),
    "followup": ("Survei Rumah Tangga Sukamaju 2025 (tindak lanjut)", "sukamaju_followup_2025", "2501061"),
}


def _pairs(text: str) -> list[tuple[str, str]]:
    return [
        (raw.strip(), value.strip()) for raw, value in (p.split("=", 1) for p in text.split(";") if "=" in p)
    ]


def _question(row: Mapping[str, str], source: str, consent: str) -> tuple[dict[str, str], str]:
    """One survey row for a codebook row, and the choice list it needs (or "")."""
    name = source.split("/")[-1]
    vtype = row["type"]
    cells = dict.fromkeys(SURVEY_COLUMNS, "")
    cells.update(
        {
            "name": name,
            f"label::{_ID}": row["label_id"],
            f"label::{_EN}": row["label_en"],
            "required": "true",
            "berdaya::name": row["name"],
            "berdaya::role": row["role"],
            "berdaya::family": row["family"],
            "berdaya::direction": row["direction"] if row["family"] else "",
            "berdaya::unit": row["unit"],
            "berdaya::missing_codes": row["missing_codes"],
        }
    )
    if row["role"] != "consent" and consent:
        cells["relevant"] = f"${{{consent}}} = 'ya'"
    choice_list = ""
    if source in ("gps", "lokasi/gps"):
        cells.update(type="geopoint", required="false")
    elif vtype == "category":
        choice_list = "ya_tidak" if row["recode"] == _YES_NO_RECODE else row["name"]
        cells["type"] = f"select_one {choice_list}"
    elif vtype == "integer":
        low, high = row["valid_min"], row["valid_max"]
        cells.update(
            type="integer",
            constraint=f". >= {low} and . <= {high}",
            **{f"constraint_message::{_ID}": f"Isikan angka {low} sampai {high}"},
        )
    elif vtype == "money":
        # Amounts are typed as text, as enumerators say them ("1,5 juta"); the hint says Rp,
        # which is how the form reader knows they are money.
        hint = _DEBT_HINT if row["role"] != "income_component" else _MONEY_HINT
        cells.update(
            {"type": "text", f"hint::{_ID}": hint[0], f"hint::{_EN}": hint[1]},
            **{"berdaya::valid_min": row["valid_min"], "berdaya::valid_max": row["valid_max"]},
        )
    else:
        cells["type"] = "text"
        if name in ("no_hp", "hp", "nik"):
            cells["appearance"] = "numbers"
    return cells, choice_list


def _choices(lists: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for list_name, recode in lists:
        if list_name == "ya_tidak":
            rows += [
                {"list_name": "ya_tidak", "name": "ya", f"label::{_ID}": "Ya", f"label::{_EN}": "Yes"},
                {"list_name": "ya_tidak", "name": "tidak", f"label::{_ID}": "Tidak", f"label::{_EN}": "No"},
            ]
            continue
        for raw, value in _pairs(recode):
            rows.append(
                {
                    "list_name": list_name,
                    "name": raw,
                    f"label::{_ID}": raw.capitalize(),
                    f"label::{_EN}": value.capitalize(),
                    "berdaya::value": value,
                }
            )
    return [{c: r.get(c, "") for c in CHOICE_COLUMNS} for r in rows]


def form_sheets(codebook: pd.DataFrame, round_name: str) -> dict[str, list[dict[str, str]]]:
    """The rows of one round's ``survey``, ``choices`` and ``settings`` sheets.

    Parameters
    ----------
    codebook
        The demo codebook (text cells), in the exports' column order.
    round_name
        ``baseline`` or ``followup``.
    """
    rows = [{str(k): str(v) for k, v in r.items()} for r in codebook.to_dict("records")]
    asked = [r for r in rows if r[f"source_{round_name}"] and not r[f"source_{round_name}"].startswith("_")]
    consent = next((r[f"source_{round_name}"].split("/")[-1] for r in asked if r["role"] == "consent"), "")
    survey: list[dict[str, str]] = [
        {
            **dict.fromkeys(SURVEY_COLUMNS, ""),
            "type": "note",
            "name": "pengantar",
            f"label::{_ID}": "Perkenalkan diri Anda dan jelaskan tujuan survei sebelum bertanya.",
            f"label::{_EN}": "Introduce yourself and explain the survey before asking anything.",
        }
    ]
    lists: list[tuple[str, str]] = []
    group = ""
    for row in asked:
        source = row[f"source_{round_name}"]
        prefix = source.rsplit("/", 1)[0] if "/" in source else ""
        if prefix != group:
            if group:
                survey.append({**dict.fromkeys(SURVEY_COLUMNS, ""), "type": "end_group"})
            if prefix:
                label_id, label_en = _GROUPS[prefix]
                survey.append(
                    {
                        **dict.fromkeys(SURVEY_COLUMNS, ""),
                        "type": "begin_group",
                        "name": prefix,
                        f"label::{_ID}": label_id,
                        f"label::{_EN}": label_en,
                    }
                )
            group = prefix
        cells, choice_list = _question(row, source, consent)
        survey.append(cells)
        if choice_list and choice_list not in [name for name, _ in lists]:
            lists.append((choice_list, row["recode"]))
    if group:
        survey.append({**dict.fromkeys(SURVEY_COLUMNS, ""), "type": "end_group"})
    title, form_id, version = _SETTINGS[round_name]
    settings = [{"form_title": title, "form_id": form_id, "version": version, "default_language": _ID}]
    return {"survey": survey, "choices": _choices(lists), "settings": settings}


def _workbook_bytes(sheets: Mapping[str, list[dict[str, str]]]) -> bytes:
    """An .xlsx of ``sheets`` (header from the first row's keys), the same bytes on every run."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        header = list(rows[0]) if rows else []
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([row.get(c, "") or None for c in header])
        sheet.freeze_panes = "A2"
    workbook.properties.creator = "berdaya demo"
    workbook.properties.created = workbook.properties.modified = _FIXED_TIME
    raw = io.BytesIO()
    # ExcelWriter, not Workbook.save: save() stamps the modification time with the clock.
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    # The zip entries carry the clock too; copy them with the fixed time.
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, source.read(info.filename))
    return fixed.getvalue()


def render_forms(codebook: pd.DataFrame) -> dict[str, bytes]:
    """The two forms as .xlsx bytes: file name -> content, baseline first.

    Parameters
    ----------
    codebook
        The demo codebook (text cells), whose rows are in the exports' column order.
    """
    return {
        name: _workbook_bytes(form_sheets(codebook, round_name))
        for name, round_name in zip(FORM_FILES, ("baseline", "followup"), strict=True)
    }
