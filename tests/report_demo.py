"""How the shared demo runs of ``tests/conftest.py`` are built, and what the tests read from them.

Both runs go through the real command line (papermill kernels, nbconvert, the batch engine):

- :func:`build_demo` — the demo survey (4 villages × 20 households, seed 5) in Indonesian and
  English in one run (``berdaya run --language id,en``): ``villages/0101.html`` and
  ``villages/0101.en.html``, ``programme.html`` and ``programme.en.html``, ``index.html`` and
  ``index.en.html``;
- :func:`build_hostile` — the same generator with two villages renamed to hostile strings:
  code ``../../etc/passwd`` named ``<script>alert(1)</script>``, and code
  ``<img src=x onerror=alert(2)>``.

The builds only start processes (conftest.py may run them in a background thread); the
session fixtures ``demo_run`` and ``hostile_run`` build each once per pytest process.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from commands import berdaya

HOSTILE_CODE = "../../etc/passwd"
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_CODE_2 = "<img src=x onerror=alert(2)>"
ENGLISH_VILLAGE = "0102"
DEMO_VILLAGES = ["0101", "0102", "0201", "0202"]
#: The demo's English pages, relative to its output folder (the run's second language).
ENGLISH_VILLAGE_PAGE = f"villages/{ENGLISH_VILLAGE}.en.html"
ENGLISH_PROGRAMME = "programme.en.html"


@dataclass(frozen=True)
class DemoRun:
    """A demo study run through ``berdaya run``: ``folder/data`` (the study) and ``folder/out``."""

    folder: Path
    run: subprocess.CompletedProcess[str]
    #: The study file when it is not ``folder/data/study.yml`` (a copy of another run's output).
    study_file: Path | None = None

    @property
    def data(self) -> Path:
        return self.folder / "data" if self.study_file is None else self.study_file.parent

    @property
    def study(self) -> Path:
        return self.data / "study.yml" if self.study_file is None else self.study_file

    @property
    def out(self) -> Path:
        return self.folder / "out"


def _run(
    folder: Path,
    *,
    villages: int,
    households: int,
    seed: int,
    hostile: bool,
    env: Mapping[str, str] | None,
    options: tuple[str, ...] = (),
) -> DemoRun:
    data, out = folder / "data", folder / "out"
    made = berdaya(
        "demo-data", "--out", str(data), "--villages", str(villages), "--households", str(households),
        "--seed", str(seed), env=env, cwd=folder,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    if hostile:
        _make_hostile(data)
    done = berdaya(
        "run", str(data / "study.yml"), "--out", str(out), "--workers", "2", *options, env=env, cwd=folder
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return DemoRun(folder, done)


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


#: The options of the demo's run: a test that runs it again passes them too, or it would redo
#: the pages of a run in other languages.
DEMO_OPTIONS = ("--language", "id,en")


def build_demo(folder: Path, *, env: Mapping[str, str] | None = None) -> DemoRun:
    """The demo's reports in Indonesian and English, written by one run."""
    return _run(folder, villages=4, households=20, seed=5, hostile=False, env=env, options=DEMO_OPTIONS)


def build_hostile(folder: Path, *, env: Mapping[str, str] | None = None) -> DemoRun:
    """Reports of a demo whose village codes and names are XSS and path-traversal payloads."""
    return _run(folder, villages=4, households=12, seed=7, hostile=True, env=env)


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
