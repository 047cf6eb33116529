"""Demo runs shared by the report tests, built once per pytest process.

Both runs go through the real command line (papermill kernels, nbconvert, the batch engine):

- :func:`demo_reports` — the demo survey (4 villages × 20 households, seed 5) in the study's
  language (Indonesian), plus one village report and the programme report executed again in
  English into ``villages_en/`` and ``programme_en.html``;
- :func:`hostile_reports` — the same generator with two villages renamed to hostile strings:
  code ``../../etc/passwd`` named ``<script>alert(1)</script>``, and code
  ``<img src=x onerror=alert(2)>``.

They are cached in module globals (not fixtures) so that several test modules can share them
without a conftest; the folders live under the system temp directory and are removed at exit.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from analysis.config import NOTEBOOKS_DIR
from analysis.report.html_export import export_html
from analysis.run.execute import execute

HOSTILE_CODE = "../../etc/passwd"
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_CODE_2 = "<img src=x onerror=alert(2)>"
ENGLISH_VILLAGE = "0102"

_CACHE: dict[str, Path] = {}


def _workspace() -> Path:
    if "root" not in _CACHE:
        root = Path(tempfile.mkdtemp(prefix="berdaya-report-tests-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _CACHE["root"] = root
    return _CACHE["root"]


def berdaya(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command line as a user would."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(
        [sys.executable, "-m", "analysis.run.cli", *args], capture_output=True, text=True, env=env, timeout=1500
    )


def _run(folder: Path, *, villages: int, households: int, seed: int, hostile: bool) -> Path:
    data = folder / "data"
    made = berdaya(
        "demo-data", "--out", str(data), "--villages", str(villages), "--households", str(households),
        "--seed", str(seed),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    if hostile:
        _make_hostile(data)
    out = folder / "out"
    run = berdaya("run", str(data / "study.yml"), "--out", str(out), "--workers", "2")
    assert run.returncode == 0, run.stderr[-4000:]
    return out


def _make_hostile(data: Path) -> None:
    """Rename two villages in the raw exports and the village list (Kobo quotes every field)."""
    renames = {"0101": HOSTILE_CODE, "0102": HOSTILE_CODE_2}
    for name in ("baseline_2023.csv", "followup_2025.csv"):
        path = data / name
        text = path.read_text(encoding="utf-8")
        for old, new in renames.items():
            assert f'"{old}"' in text
            text = text.replace(f'"{old}"', '"' + new.replace('"', '""') + '"')
        path.write_text(text, encoding="utf-8")
    villages = pd.read_csv(data / "villages.csv", dtype=str, keep_default_na=False)
    villages.loc[villages["village"] == "0101", "village_name"] = HOSTILE_NAME
    villages["village"] = villages["village"].replace(renames)
    villages.to_csv(data / "villages.csv", index=False)


def demo_reports() -> Path:
    """The demo's reports (Indonesian), with one village and the programme also in English."""
    if "demo" not in _CACHE:
        folder = _workspace() / "demo"
        out = _run(folder, villages=4, households=20, seed=5, hostile=False)
        common = {
            "study_path": str(folder / "data" / "study.yml"),
            "processed_dir": str(out / "processed"),
            "tables_dir": str(out / "tables"),
            "language": "en",
        }
        village = execute(
            NOTEBOOKS_DIR / "05_village_report.ipynb",
            out / "notebooks" / "en" / f"{ENGLISH_VILLAGE}.ipynb",
            parameters={**common, "village": ENGLISH_VILLAGE},
            cwd=NOTEBOOKS_DIR,
        )
        export_html(village, out / "villages_en" / f"{ENGLISH_VILLAGE}.html", title="", language="en")
        programme = execute(
            NOTEBOOKS_DIR / "04_programme_report.ipynb",
            out / "notebooks" / "en" / "programme.ipynb",
            parameters=common,
            cwd=NOTEBOOKS_DIR,
        )
        export_html(programme, out / "programme_en.html", title="", language="en")
        _CACHE["demo"] = out
    return _CACHE["demo"]


def hostile_reports() -> Path:
    """Reports of a demo whose village codes and names are XSS and path-traversal payloads."""
    if "hostile" not in _CACHE:
        _CACHE["hostile"] = _run(_workspace() / "hostile", villages=4, households=12, seed=7, hostile=True)
    return _CACHE["hostile"]


def personal_values(data: Path) -> list[str]:
    """Every personal value in the raw exports: names, phones, NIKs, GPS, raw household ids.

    The columns are those the codebook flags as personal data (plus the household id and the
    split GPS columns), looked up under each round's own raw column name.
    """
    codebook = pd.read_csv(data / "codebook.csv", dtype=str, keep_default_na=False)
    personal = codebook.loc[(codebook["pii"] == "yes") | (codebook["role"] == "household_id")]
    values: set[str] = set()
    for round_name, file_name in (("baseline", "baseline_2023.csv"), ("followup", "followup_2025.csv")):
        raw = pd.read_csv(data / file_name, sep=";", dtype=str, keep_default_na=False)
        columns = [c for c in personal[f"source_{round_name}"] if c in raw.columns]
        columns += [c for c in raw.columns if "gps" in c.lower() or "latitude" in c.lower()]
        for column in columns:
            values |= {v.strip() for v in raw[column] if len(v.strip()) >= 4}
    return sorted(values)
