"""The demo's XLSForms: written the same byte for byte, shipped as written, matching the exports."""

from __future__ import annotations

import io
import time
import zipfile

import openpyxl
import pandas as pd

from analysis.config import DEMO_DIR
from analysis.demo.forms import FORM_FILES, render_forms
from analysis.inputs.readers import read_table


def demo_codebook() -> pd.DataFrame:
    return pd.read_csv(DEMO_DIR / "codebook.csv", dtype=str, keep_default_na=False)


def test_forms_do_not_depend_on_the_clock() -> None:
    first = render_forms(demo_codebook())
    time.sleep(2.1)  # zip times have a two-second resolution
    second = render_forms(demo_codebook())
    assert first == second
    for content in first.values():
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            assert {info.date_time for info in archive.infolist()} == {(2023, 1, 9, 8, 0, 0)}
        properties = openpyxl.load_workbook(io.BytesIO(content)).properties
        assert properties.created == properties.modified


def test_the_shipped_forms_are_the_rendered_ones() -> None:
    for name, content in render_forms(demo_codebook()).items():
        assert (DEMO_DIR / name).read_bytes() == content, name


def test_each_form_asks_exactly_the_export_questions() -> None:
    for form, export in zip(FORM_FILES, ("baseline_2023.csv", "followup_2025.csv"), strict=True):
        survey = read_table(DEMO_DIR / form, sheet="survey").frame
        groups: list[str] = []
        paths = []
        for kind, name in zip(survey["type"], survey["name"], strict=True):
            if kind == "begin_group":
                groups.append(name)
            elif kind == "end_group":
                groups.pop()
            elif kind != "note":
                paths.append("/".join([*groups, name]))
        columns = list(read_table(DEMO_DIR / export).frame.columns)
        assert paths == [c for c in columns if not c.startswith("_")], form
        assert set(read_table(DEMO_DIR / form, sheet="settings").frame.columns) >= {"form_title", "version"}
