"""Nothing leaked: after a whole run, no name, phone, NIK or GPS value of the raw files is anywhere.

The run is the session's ``demo_run`` (tests/conftest.py): the real command line (papermill
kernels, nbconvert HTML, village reports) on a small demo. Every file it wrote is searched:
processed data and logs, tables, HTML reports, their PDFs (as text), executed notebooks and the
run record.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from pypdf import PdfReader
from report_demo import DEMO_VILLAGES, DemoRun

#: Base64 data in a data: URL or a notebook's image output, at least 64 characters long.
BASE64 = re.compile(r"(?<=base64,)[A-Za-z0-9+/=]{64,}|(?<=\"image/png\": \")[A-Za-z0-9+/=\\n]{64,}")
ROUNDS = {"baseline": "baseline_2023.csv", "followup": "followup_2025.csv"}


def personal_values(data: Path) -> set[str]:
    """Names, phones, NIKs and GPS values of the raw exports (the codebook's `pii` columns)."""
    codebook = pd.read_csv(data / "codebook.csv", dtype=str, keep_default_na=False)
    sensitive = codebook.loc[codebook["pii"] == "yes"]
    values: set[str] = set()
    for round_name, file in ROUNDS.items():
        raw = pd.read_csv(data / file, sep=";", dtype=str, keep_default_na=False)
        for column in sensitive[f"source_{round_name}"]:
            if column:
                # Short numbers (an altitude of "317.0") occur by chance anywhere; names, phones,
                # NIKs and coordinates are long or contain letters.
                values |= {
                    v.strip()
                    for v in raw[column]
                    if len(v.strip()) >= 8 or (len(v.strip()) >= 4 and any(c.isalpha() for c in v))
                }
    return values


def _text_of(path: Path) -> str:
    """What a reader of the file sees: a table's cells, a PDF's page text (its streams are compressed)."""
    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_csv()
    if path.suffix == ".pdf":
        return "\n".join(page.extract_text() for page in PdfReader(path).pages)
    # Embedded images (PNG bytes in base64, most of a page) hold no text to read; searching them
    # for hundreds of values made this test the suite's slowest.
    return BASE64.sub("base64,", path.read_text(errors="replace"))


def test_no_personal_value_reaches_processed_data_or_reports(demo_run: DemoRun) -> None:
    data, out = demo_run.data, demo_run.out
    values = personal_values(data)
    assert len(values) > 300, "the demo should carry personal data to test against"
    files = sorted(p for p in out.rglob("*") if p.is_file())
    kinds = {p.suffix for p in files}
    assert {".parquet", ".csv", ".json", ".html", ".ipynb", ".pdf"} <= kinds
    # Scanned too: each village in Indonesian and in English, and each page printed to PDF.
    assert len(list((out / "villages").glob("*.html"))) == 2 * len(DEMO_VILLAGES)
    assert len(list((out / "villages").glob("*.pdf"))) == 2 * len(DEMO_VILLAGES)
    leaks = {}
    for path in files:
        text = _text_of(path)
        found = [v for v in values if v in text]
        if found:
            leaks[str(path.relative_to(out))] = len(found)
    assert not leaks, f"personal values found in {leaks}"


def test_the_processed_folder_holds_the_linkage_counts(demo_run: DemoRun) -> None:
    import json

    out = demo_run.out
    processed = out / "processed"
    by_village = pd.read_csv(processed / "linkage_by_village.csv", dtype={"village": str})
    summary = json.loads((processed / "linkage_summary.json").read_text())
    panel = pd.read_parquet(processed / "panel.parquet")
    assert (
        summary["households"]
        == panel["hh"].nunique()
        == int(by_village[["panel", "baseline_only", "followup_only"]].to_numpy().sum())
    )
    assert sorted(v["village"] for v in summary["by_village"]) == sorted(by_village["village"])
