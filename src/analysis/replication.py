"""Replication packages: everything an examiner needs to rebuild every table, and a verifier.

``berdaya package STUDY --out DIR`` writes, in the order of the AEA Data Editor's template:

``README.md``
    Data provenance, software, run time and memory, instructions, and a table mapping each
    table to the notebook and file that make it.
``study/``
    The study file, codebook, village list, decisions and corrections files.
``data/processed/``
    The de-identified cleaned rounds (never the raw, identified exports unless asked).
``notebooks/``, ``requirements.lock``
    The code path and the exact package pins.
``expected/tables/`` and ``MANIFEST.json``
    The expected outputs with their SHA-256.

``berdaya verify DIR`` rebuilds the panel and every table from the packaged processed data and
compares them with the expected outputs, table by table and cell by cell.
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis.codebook import CODEBOOK_COLUMNS, Codebook, load_codebook
from analysis.config import NOTEBOOKS_DIR, PROJECT_ROOT, ROUNDS
from analysis.errors import BerdayaError
from analysis.provenance import (
    git_commit,
    package_versions,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)
from analysis.stage_clean import clean_stage
from analysis.stage_construct import construct_stage
from analysis.stage_estimate import estimate_stage
from analysis.study import load_study

#: Which notebook makes which table; the README's table of outputs is built from it.
TABLE_SOURCES: dict[str, str] = {
    "impact.csv": "03_estimate_impacts.ipynb",
    "impact_detail.csv": "03_estimate_impacts.ipynb",
    "row_accounting.csv": "03_estimate_impacts.ipynb",
    "linkage.csv": "03_estimate_impacts.ipynb",
    "villages.csv": "03_estimate_impacts.ipynb",
}

#: Relative tolerance for numbers when verifying; tables are written with 10 significant
#: digits, so anything beyond that is formatting, not a different result.
RTOL = 1e-9


@dataclass(frozen=True)
class Difference:
    """One cell (or whole table) that differs from the expected output."""

    table: str
    row: int | None
    column: str | None
    expected: str
    found: str

    def describe(self) -> str:
        """One line for the verification report."""
        if self.row is None:
            return f"{self.table}: {self.expected} expected, {self.found} found"
        return (
            f"{self.table} row {self.row + 2} column {self.column}: "
            f"expected {self.expected}, found {self.found}"
        )


@dataclass(frozen=True)
class Verification:
    """Result of :func:`verify_package`."""

    tables: tuple[str, ...]
    differences: tuple[Difference, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when every table matches."""
        return not self.differences


def _copy(source: Path | None, target_dir: Path) -> str | None:
    if source is None:
        return None
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target_dir / source.name)
    return source.name


def build_package(study_path: str | Path, *, out: str | Path, include_raw: bool = False) -> Path:
    """Write a replication package for a study.

    Parameters
    ----------
    study_path
        The study file.
    out
        The package folder (created; must be empty or absent).
    include_raw
        Also copy the raw exports. They are identified data: only for a secure enclave.

    Returns
    -------
    pathlib.Path
        The package folder.
    """
    study = load_study(study_path)
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()):
        raise BerdayaError(f"{out} is not empty; choose a new folder for the package")
    started = time.perf_counter()
    tracemalloc.start()
    processed = out / "data" / "processed"
    for round_name in ROUNDS:
        clean_stage(study.path, round_name, processed)
    tables = out / "expected" / "tables"
    construct_stage(study.path, processed)
    estimate_stage(study.path, processed, tables)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    seconds = time.perf_counter() - started
    # The panel is rebuilt by verify; shipping only the cleaned rounds keeps one source of truth.
    for derived in ("panel.parquet",):
        (processed / derived).unlink(missing_ok=True)

    study_dir = out / "study"
    files = {
        "decisions": _copy(study.decisions, study_dir),
        "corrections": _copy(study.corrections, study_dir),
        "villages": _copy(study.villages.file if study.villages else None, study_dir),
    }
    codebook = load_codebook(study)
    _codebook_frame(codebook).to_csv(study_dir / "codebook.csv", index=False)
    files["codebook"] = "codebook.csv"
    if include_raw:
        for spec in study.rounds.values():
            _copy(spec.file, out / "data" / "raw")
    write_text_atomic(
        study_dir / "study.yml", _package_study(study.path, files, number_style=study.number_style)
    )
    shutil.copytree(NOTEBOOKS_DIR, out / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    lock = PROJECT_ROOT / "requirements.lock"
    if lock.is_file():
        shutil.copy2(lock, out / "requirements.lock")
    # The code that made the tables travels with them, so that a data editor needs nothing
    # but this folder and PyPI: `pip install ./code` installs this exact berdaya.
    code = out / "code"
    shutil.copytree(
        Path(__file__).resolve().parent,
        code / "src" / "analysis",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    for name in ("pyproject.toml", "README.md"):
        if (PROJECT_ROOT / name).is_file():
            shutil.copy2(PROJECT_ROOT / name, code / name)

    manifest = {
        "study": study.name,
        "study_file": "study/study.yml",
        "created_with": {"git_commit": git_commit(), "packages": package_versions()},
        "include_raw": include_raw,
        "files": files,
        "expected": {f"expected/tables/{p.name}": sha256_file(p) for p in sorted(tables.glob("*.csv"))},
        "processed": {
            f"data/processed/{p.name}": sha256_file(p) for p in sorted(processed.glob("*_clean.parquet"))
        },
    }
    write_json_atomic(out / "MANIFEST.json", manifest)
    write_text_atomic(out / "README.md", _readme(study.name, manifest, seconds=seconds, peak=peak))
    return out


def _codebook_frame(codebook: Codebook) -> pd.DataFrame:
    """The codebook as the CSV a user edits (so a study without one ships the implied one)."""
    rows = []
    for v in codebook.variables:
        rows.append(
            {
                "name": v.name,
                "label_id": v.label_id,
                "label_en": v.label_en,
                "source_baseline": v.sources.get("baseline", ""),
                "source_followup": v.sources.get("followup", ""),
                "type": v.type,
                "unit": v.unit,
                "valid_min": "" if v.valid_min is None else v.valid_min,
                "valid_max": "" if v.valid_max is None else v.valid_max,
                "categories": ";".join(v.categories),
                "recode": "; ".join(f"{k}={x}" for k, x in v.recode.items()),
                "missing_codes": "; ".join(f"{k}={x}" for k, x in v.missing_codes.items()),
                "family": v.family or "",
                "role": v.role or "",
                "direction": v.direction,
                "pii": "yes" if v.pii else "",
            }
        )
    return pd.DataFrame(rows, columns=list(CODEBOOK_COLUMNS))


def _package_study(original: Path, files: dict[str, str | None], *, number_style: str) -> str:
    """The study file as it is inside the package: paths point at the packaged files.

    The rounds point at the cleaned, de-identified tables (verify never reads raw data), and no
    pseudonymization key travels with the package.
    """
    raw = yaml.safe_load(original.read_text(encoding="utf-8"))
    for round_name in ROUNDS:
        spec = raw["rounds"][round_name]
        spec = dict(spec) if isinstance(spec, dict) else {}
        spec["file"] = f"../data/processed/{round_name}_clean.parquet"
        raw["rounds"][round_name] = spec
    raw["codebook"] = files["codebook"]
    raw["number_style"] = number_style
    for key in ("decisions", "corrections"):
        if files.get(key):
            raw[key] = files[key]
    if files.get("villages"):
        villages = raw["villages"] if isinstance(raw["villages"], dict) else {"file": raw["villages"]}
        villages["file"] = files["villages"]
        raw["villages"] = villages
    for key in ("processed", "pseudonym_key", "pseudonym_key_file"):
        raw.pop(key, None)
    header = "# The study file as packaged: rounds point at the de-identified cleaned tables.\n"
    return header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def _readme(name: str, manifest: dict[str, object], *, seconds: float, peak: int) -> str:
    expected = manifest["expected"]
    assert isinstance(expected, dict)
    rows = "\n".join(
        f"| `{path}` | `notebooks/{TABLE_SOURCES.get(Path(path).name, '03_estimate_impacts.ipynb')}` |"
        for path in expected
    )
    return f"""# Replication package: {name}

## Data availability and provenance

The data are household surveys of the study above, cleaned and de-identified by berdaya:
names, phone numbers, NIK, GPS and other direct identifiers were dropped and household ids
replaced by a keyed hash before anything was written. `data/processed/` holds the cleaned
rounds (`<round>_clean.parquet`). The raw, identified exports are
{"included in `data/raw/` (secure use only)" if manifest["include_raw"] else "not included"}.

## Software

Python {platform.python_version()}, the exact packages in `requirements.lock`, and the berdaya
code that made the tables in `code/` (commit in `MANIFEST.json`, with every package version):

```bash
python3.11 -m venv .venv && . .venv/bin/activate
pip install -r requirements.lock && pip install --no-deps ./code
```

## Run time and memory

Building the expected outputs took {seconds:.1f} s with a Python-level peak of
{peak / 2**20:.0f} MiB on the machine that created the package ({platform.machine()},
{platform.system()}).

## Instructions

```bash
berdaya verify .
```

rebuilds the household panel and every table from `data/processed/` and compares each table
cell by cell with `expected/tables/`. It exits 0 only when everything matches.

## Tables and the code that makes them

| output | made by |
|---|---|
{rows}
"""


def _compare(name: str, expected: pd.DataFrame, found: pd.DataFrame) -> list[Difference]:
    if list(expected.columns) != list(found.columns):
        return [
            Difference(
                name, None, None, f"columns {list(expected.columns)}", f"columns {list(found.columns)}"
            )
        ]
    if len(expected) != len(found):
        return [Difference(name, None, None, f"{len(expected)} rows", f"{len(found)} rows")]
    differences = []
    for column in expected.columns:
        a, b = expected[column], found[column]
        a_num, b_num = pd.to_numeric(a, errors="coerce"), pd.to_numeric(b, errors="coerce")
        numeric = a_num.notna() & b_num.notna()
        same = (a.astype(str) == b.astype(str)) | (a.isna() & b.isna())
        close = np.isclose(a_num.fillna(0), b_num.fillna(0), rtol=RTOL, atol=0) & numeric.to_numpy()
        for row in np.flatnonzero(~(same.to_numpy() | close)):
            differences.append(Difference(name, int(row), str(column), str(a.iloc[row]), str(b.iloc[row])))
    return differences


def verify_package(package: str | Path) -> Verification:
    """Rebuild a package's tables from its processed data and compare them with the expected ones.

    Parameters
    ----------
    package
        A folder written by :func:`build_package`.

    Returns
    -------
    Verification
        The tables compared and every differing cell.
    """
    package = Path(package).resolve()
    manifest_path = package / "MANIFEST.json"
    if not manifest_path.is_file():
        raise BerdayaError(f"{package} has no MANIFEST.json: not a berdaya replication package")
    try:
        manifest = json.loads(manifest_path.read_text())
        study_path = package / manifest["study_file"]
        expected = list(manifest["expected"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BerdayaError(f"{manifest_path}: not a readable berdaya manifest ({exc})") from exc
    # Rebuild outside the package, which may sit on read-only media (an archive, a DOI mirror).
    with tempfile.TemporaryDirectory(prefix="berdaya-verify-") as scratch:
        work = Path(scratch)
        processed = work / "processed"
        shutil.copytree(package / "data" / "processed", processed)
        construct_stage(study_path, processed)
        estimate_stage(study_path, processed, work / "tables")
        differences: list[Difference] = []
        names = []
        for relative in expected:
            name = Path(relative).name
            names.append(name)
            rebuilt = work / "tables" / name
            if not rebuilt.is_file():
                differences.append(Difference(name, None, None, "the table", "nothing"))
                continue
            want = pd.read_csv(package / relative, dtype=str, keep_default_na=False)
            differences += _compare(name, want, pd.read_csv(rebuilt, dtype=str, keep_default_na=False))
    return Verification(tables=tuple(names), differences=tuple(differences))
