"""Replication packages: everything an examiner needs to rebuild every table, and a verifier.

``berdaya package STUDY --out DIR`` writes, in the order of the AEA Data Editor's template:

``README.md``
    Data provenance, software, run time and memory, instructions, and a table mapping each
    table to the notebook and file that make it.
``study/``
    The study file, codebook and village list, and the corrections and decisions files as a
    record of what was done: household ids pseudonymized with the same keyed hash as the
    processed data (so they still line up), values of personal columns masked as the change
    log masks them, and free-text reasons kept only when they hold no personal data.
``data/processed/``
    The de-identified cleaned rounds and their logs (never the raw, identified exports unless
    asked; never the internal tier of small-cell tables, ``data/processed/internal/``).
``notebooks/``, ``code/``, ``requirements.lock``
    The code path, the berdaya source that made the tables, and the exact package pins.
``expected/tables/`` and ``MANIFEST.json``
    The expected outputs, and the SHA-256 of every file of the package.

The package is built in a hidden sibling folder and renamed into place at the end, so a failed
or interrupted build leaves nothing behind that would block the next attempt.

``berdaya verify DIR`` checks every file against the SHA-256 in ``MANIFEST.json``, then rebuilds
the panel and every table from the packaged processed data and compares them with the expected
outputs, table by table and cell by cell.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis.clean.corrections import CORRECTION_COLUMNS, read_corrections
from analysis.clean.deidentify import known_names, personal_columns, resolve_key
from analysis.clean.duplicates import DECISION_COLUMNS, read_decisions
from analysis.config import NOTEBOOKS_DIR, PROJECT_ROOT, ROUNDS
from analysis.errors import BerdayaError
from analysis.inputs.codebook import (
    CODEBOOK_COLUMNS,
    Codebook,
    Variable,
    codebook_from_study,
    load_codebook,
    looks_personal,
)
from analysis.inputs.readers import normalize_text
from analysis.inputs.rounds import round_table, study_rounds
from analysis.inputs.study import Study, is_round_key, load_study
from analysis.shared import layout
from analysis.shared.files import sha256_file, write_csv, write_json_atomic, write_text_atomic
from analysis.shared.masking import MASK, KnownNames, mask_personal, screen_reason
from analysis.shared.pseudonyms import PseudonymKey, id_pseudonyms, pseudonymize
from analysis.shared.versions import git_commit, package_versions
from analysis.stages.clean import clean_stage
from analysis.stages.construct import construct_stage
from analysis.stages.estimate import estimate_stage

#: Which notebook makes which table; the README's table of outputs is built from it.
TABLE_SOURCES: dict[str, str] = {
    name: layout.NOTEBOOKS["estimate"]
    for name in (
        layout.IMPACT_CSV,
        layout.IMPACT_DETAIL_CSV,
        layout.ROW_ACCOUNTING_CSV,
        layout.LINKAGE_CSV,
        layout.VILLAGES_CSV,
    )
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
    """Result of :func:`verify_package`.

    Attributes
    ----------
    tables
        The expected tables, in the manifest's order.
    differences
        Every differing cell (or whole table).
    files
        One line per file that is not as ``MANIFEST.json`` records it (changed, missing or
        added), and per table the rebuild makes that the manifest does not list.
    """

    tables: tuple[str, ...]
    differences: tuple[Difference, ...] = field(default_factory=tuple)
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when every file is as recorded and every table matches."""
        return not self.differences and not self.files


#: Files of the package that ``MANIFEST.json`` does not record: itself, and the README made from it.
UNRECORDED = (layout.MANIFEST_JSON, "README.md")


def _copy(source: Path | None, target_dir: Path) -> str | None:
    if source is None:
        return None
    target_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target_dir / source.name)
    return source.name


def build_package(study_path: str | Path, *, out: str | Path, include_raw: bool = False) -> Path:
    """Write a replication package for a study.

    The package is built in a hidden sibling folder (``.<name>.partial-...``) and renamed to
    ``out`` only when complete; on any failure the partial folder is removed, so a retry finds
    ``out`` as it was.

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

    Raises
    ------
    BerdayaError
        When ``out`` is a file or a folder that is not empty, or the study cannot be packaged.
    """
    # Every round known: those of one long file come from its round column.
    study = study_rounds(load_study(study_path))
    # The package lists each round as its own file, by name: a value of a long file's round
    # column such as "2021 Q1" cannot be a key there, and the package would not verify.
    odd = [r for r in study.round_design.round_order if not is_round_key(r)]
    if odd:
        raise BerdayaError(
            f"{study.path.name}: cannot package rounds named {', '.join(repr(r) for r in odd)}: the "
            "package lists each round by name, and a round name may hold only letters, digits, _ "
            f"and -; recode column {study.round_design.round_column} (2021_Q1, not 2021 Q1)"
        )
    out = Path(out).resolve()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BerdayaError(f"{out} is not empty; choose a new folder for the package")
    # A sibling, so the final rename stays on one file system; mkdir (not mkdtemp) so the
    # package gets the user's usual permissions rather than mkdtemp's owner-only ones.
    building = out.parent / f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        building.mkdir()
    except OSError as exc:
        raise BerdayaError(f"cannot create the package folder {out}: {exc.strerror or exc}") from exc
    try:
        _build(study, building, include_raw=include_raw)
        try:
            if out.exists():
                out.rmdir()  # empty, checked above
            building.rename(out)
        except OSError as exc:
            raise BerdayaError(f"cannot move the finished package to {out}: {exc.strerror or exc}") from exc
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return out


def _build(study: Study, out: Path, *, include_raw: bool) -> None:
    """Write the whole package into ``out`` (an empty folder)."""
    started = time.perf_counter()
    processed = out / "data" / "processed"
    for round_name in study.round_design.round_order:
        clean_stage(study, round_name, processed)
    tables = out / "expected" / "tables"
    construct_stage(study.path, processed)
    # Only the public tier: the internal one holds small cells for the study team.
    estimate_stage(study.path, processed, tables, internal=False)
    seconds = time.perf_counter() - started
    # The process's own high-water mark (what a machine must have to rebuild), not tracemalloc:
    # tracing every allocation made the build 2.6 times slower, and a build that failed left it
    # tracing for the rest of the process (a notebook, or a test session).
    from analysis.run.kernels import peak_rss

    peak = peak_rss(os.getpid())
    # The panel is rebuilt by verify; shipping only the cleaned rounds keeps one source of truth.
    for derived in (layout.PANEL_PARQUET,):
        (processed / derived).unlink(missing_ok=True)
    # The internal tier holds small cells for the study team only: it is never published.
    for internal in (processed / layout.INTERNAL_DIR, tables / layout.INTERNAL_DIR):
        shutil.rmtree(internal, ignore_errors=True)

    study_dir = out / "study"
    study_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str | None] = {"decisions": None, "corrections": None}
    if study.decisions is not None or study.corrections is not None:
        screen = _InstructionScreen.for_study(study)
        if study.decisions is not None:
            write_csv(screen.decisions(read_decisions(study.decisions)), study_dir / "decisions.csv")
            files["decisions"] = "decisions.csv"
        if study.corrections is not None:
            corrections = screen.corrections(read_corrections(study.corrections))
            write_csv(corrections, study_dir / "corrections.csv")
            files["corrections"] = "corrections.csv"
    files["villages"] = _copy(study.villages.file if study.villages else None, study_dir)
    codebook = load_codebook(study)
    _codebook_frame(codebook).to_csv(study_dir / "codebook.csv", index=False)
    files["codebook"] = "codebook.csv"
    if include_raw:
        for spec in study.rounds.values():
            _copy(spec.file, out / "data" / "raw")
    write_text_atomic(
        study_dir / "study.yml",
        _package_study(
            study.path, files, number_style=study.number_style, rounds=study.round_design.round_order
        ),
    )
    shutil.copytree(NOTEBOOKS_DIR, out / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    lock = PROJECT_ROOT / "requirements.lock"
    if lock.is_file():
        shutil.copy2(lock, out / "requirements.lock")
    # The code that made the tables travels with them, so that a data editor needs nothing
    # but this folder and PyPI: `pip install ./code` installs this exact berdaya.
    code = out / "code"
    shutil.copytree(
        Path(__file__).resolve().parents[1],  # the whole analysis package
        code / "src" / "analysis",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    for name in ("pyproject.toml", "README.md"):
        if (PROJECT_ROOT / name).is_file():
            shutil.copy2(PROJECT_ROOT / name, code / name)

    cleaned = sorted(processed.glob(layout.clean_parquet("*")))
    manifest = {
        "study": study.name,
        "study_file": "study/study.yml",
        "created_with": {"git_commit": git_commit(), "packages": package_versions()},
        "include_raw": include_raw,
        "files": files,
        "expected": {f"expected/tables/{p.name}": sha256_file(p) for p in sorted(tables.glob("*.csv"))},
        "processed": {f"data/processed/{p.name}": sha256_file(p) for p in cleaned},
        # Every file the package holds, so that verify notices an edited notebook, code file or
        # processed table even when the rebuilt tables still match.
        "checksums": {path: sha256_file(out / path) for path in _package_files(out)},
    }
    write_json_atomic(out / layout.MANIFEST_JSON, manifest)
    write_text_atomic(out / "README.md", _readme(study.name, manifest, seconds=seconds, peak=peak))


def _ignored(relative: Path) -> bool:
    """Files a package may gain without being changed: hidden files and Python build leftovers.

    ``pip install ./code`` can leave ``build/``, ``*.egg-info`` and ``__pycache__`` in the
    package; they are not part of what it claims.
    """
    parts = relative.parts
    if any(p.startswith(".") or p == "__pycache__" or p.endswith(".egg-info") for p in parts):
        return True
    if parts[0] == "code" and len(parts) > 1 and parts[1] in ("build", "dist"):
        return True
    return relative.suffix == ".pyc"


def _package_files(root: Path) -> list[str]:
    """Every file of a package that its manifest records (relative, POSIX, sorted)."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(root)
        if relative.as_posix() in UNRECORDED or _ignored(relative):
            continue
        found.append(relative.as_posix())
    return sorted(found)


@dataclass(frozen=True)
class _RoundPrivacy:
    codebook: Codebook
    hashed: frozenset[str]
    dropped: frozenset[str]

    def variable_name(self, round_name: str, column: str) -> str:
        """A corrections file's ``column`` (a variable or a raw column) as the change log names it."""
        if column in self.codebook and round_name in self.codebook.get(column).sources:
            return column
        for variable in self.codebook.for_round(round_name):
            if variable.sources[round_name] == column:
                return variable.name
        return column


@dataclass(frozen=True)
class _InstructionScreen:
    """Makes the corrections and decisions files fit to publish (see the module docstring)."""

    key: PseudonymKey
    rounds: Mapping[str, _RoundPrivacy]
    names: KnownNames
    raw_ids: tuple[str, ...]
    keep: frozenset[str]

    @classmethod
    def for_study(cls, study: Study) -> _InstructionScreen:
        """Read what the screen needs from the raw exports: names to look for and raw ids."""
        rounds = {}
        identified = []
        raw_ids: list[str] = []
        for round_name in study.round_design.round_order:
            _, table = round_table(study, round_name)
            codebook = (
                load_codebook(study)
                if study.codebook is not None
                else codebook_from_study(study, {round_name: list(table.frame.columns)})
            )
            hashed, dropped = personal_columns(codebook, study)
            rounds[round_name] = _RoundPrivacy(codebook, frozenset(hashed), frozenset(dropped))
            sources = {
                v.sources[round_name]: v.name
                for v in codebook.for_round(round_name)
                if v.sources[round_name] in table.frame.columns
            }
            frame = table.frame[list(sources)].rename(columns=sources)
            identified.append(frame)
            for variable in codebook.by_role("household_id"):
                if variable.name in frame.columns:
                    raw_ids += _normalized(frame[variable.name])
        names = known_names(
            identified,
            _all_variables(r.codebook for r in rounds.values()),
            dropped=set().union(*(r.dropped for r in rounds.values())),
        )
        return cls(
            key=resolve_key(study),
            rounds=rounds,
            names=names,
            raw_ids=tuple(raw_ids),
            keep=frozenset(getattr(study, "keep_text_columns", ())),
        )

    def _hash(self, values: pd.Series) -> pd.Series:
        blank = values == ""
        hashed = pseudonymize(values.where(~blank, None), key=self.key)
        return hashed.where(~blank, "").astype(object)

    def _reasons(self, frame: pd.DataFrame, ids: Iterable[str]) -> pd.Series:
        pseudonyms = id_pseudonyms([*self.raw_ids, *ids], key=self.key)
        return frame["reason"].map(lambda r: screen_reason(str(r), names=self.names, pseudonyms=pseudonyms))

    def _submissions(self, frame: pd.DataFrame) -> pd.Series:
        """Submission ids: as written, unless the codebook makes them personal."""
        out = frame["submission"].astype(object).copy()
        for round_name, privacy in self.rounds.items():
            mine = (frame["round"] == round_name) & (out != "")
            submission = [v.name for v in privacy.codebook.by_role("submission_id")]
            if not mine.any() or not submission:
                continue
            if submission[0] in privacy.hashed:
                out[mine] = self._hash(frame.loc[mine, "submission"])
            elif submission[0] in privacy.dropped:
                out[mine] = MASK
        return out

    def decisions(self, decisions: pd.DataFrame) -> pd.DataFrame:
        """The decisions file as packaged: ids and new ids pseudonymized, reasons screened."""
        out = decisions[list(DECISION_COLUMNS)].astype(str).copy()
        ids = [*out["id"], *out["new_id"]]
        out["reason"] = self._reasons(out, ids)
        out["submission"] = self._submissions(out)
        for column in ("id", "new_id"):
            out[column] = self._hash(out[column])
        return out

    def corrections(self, corrections: pd.DataFrame) -> pd.DataFrame:
        """The corrections file as packaged.

        Household ids pseudonymized; ``old`` and ``new`` masked for the columns the change
        log masks (hashed or dropped personal columns, and raw columns whose name looks
        personal), personal data inside the others masked; reasons screened.
        """
        out = corrections[list(CORRECTION_COLUMNS)].astype(str).copy()
        out["reason"] = self._reasons(out, out["id"])
        out["submission"] = self._submissions(out)
        out["id"] = self._hash(out["id"])
        for i, record in out.iterrows():
            privacy = self.rounds[record["round"]]
            name = privacy.variable_name(record["round"], record["column"])
            personal = name in privacy.hashed or name in privacy.dropped
            if name not in privacy.codebook and looks_personal(name):
                personal = True
            for part in ("old", "new"):
                if personal:
                    out.at[i, part] = MASK
                elif name not in self.keep:
                    out.at[i, part] = mask_personal(record[part], names=self.names)[0]
        return out


def _normalized(values: pd.Series) -> list[str]:
    text = normalize_text(values.dropna().astype(str))[0]
    return [str(v) for v in text if str(v)]


def _all_variables(codebooks: Iterable[Codebook]) -> Codebook:
    """One codebook with the variables of several (the rounds' codebooks without one given)."""
    variables: dict[str, Variable] = {}
    for codebook in codebooks:
        for variable in codebook.variables:
            variables.setdefault(variable.name, variable)
    return Codebook(variables=tuple(variables.values()))


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


def _package_study(
    original: Path, files: dict[str, str | None], *, number_style: str, rounds: Sequence[str] = ROUNDS
) -> str:
    """The study file as it is inside the package: paths point at the packaged files.

    The rounds point at the cleaned, de-identified tables (verify never reads raw data), and no
    pseudonymization key travels with the package. The rounds of one long file become one
    table each, in time order.
    """
    raw = yaml.safe_load(original.read_text(encoding="utf-8"))
    given = raw["rounds"] if not ({"file", "column"} <= set(raw["rounds"])) else {}
    packaged = {}
    for round_name in rounds:
        spec = given.get(round_name)
        spec = dict(spec) if isinstance(spec, dict) else {}
        spec["file"] = f"../data/processed/{layout.clean_parquet(round_name)}"
        spec.pop("sheet", None)  # the packaged table has no worksheets; load_study refuses a sheet
        packaged[round_name] = spec
    raw["rounds"] = packaged
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
    if files.get("decisions") or files.get("corrections"):
        header += (
            "# The corrections and decisions were applied when those tables were made; their files\n"
            "# are the record, with household ids pseudonymized and personal values masked.\n"
        )
    return header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)


def _memory(peak: int) -> str:
    """The README's memory clause: the building process's peak resident memory, when known."""
    if peak <= 0:
        return " (memory not measured on this system)"
    return (
        f", and the process that built them peaked at {peak / 2**20:.0f} MiB of resident memory"
        " (Python and its libraries included)"
    )


def _readme(name: str, manifest: dict[str, object], *, seconds: float, peak: int) -> str:
    expected = manifest["expected"]
    assert isinstance(expected, dict)
    rows = "\n".join(
        f"| `{path}` | `notebooks/{TABLE_SOURCES.get(Path(path).name, layout.NOTEBOOKS['estimate'])}` |"
        for path in expected
    )
    cleaned = layout.clean_parquet("<round>")
    return f"""# Replication package: {name}

## Data availability and provenance

The data are household surveys of the study above, cleaned and de-identified by berdaya:
names, phone numbers, NIK, GPS and other direct identifiers were dropped and household ids
replaced by a keyed hash before anything was written; phone numbers, NIK/KK numbers and known
names typed into free-text answers were masked. `data/processed/` holds the cleaned
rounds (`{cleaned}`) and their cleaning logs. The corrections and decisions files in
`study/` record what was changed by hand, with household ids pseudonymized the same way,
values of personal columns masked and reasons that held personal data removed. The key is
not part of the package. The raw, identified exports are
{"included in `data/raw/` (secure use only)" if manifest["include_raw"] else "not included"}.

## Software

Python {platform.python_version()}, the exact packages in `requirements.lock`, and the berdaya
code that made the tables in `code/` (commit in `{layout.MANIFEST_JSON}`, with every package version):

```bash
python3.11 -m venv .venv && . .venv/bin/activate
pip install -r requirements.lock && pip install --no-deps ./code
```

## Run time and memory

Building the expected outputs took {seconds:.1f} s{_memory(peak)} on the machine that created
the package ({platform.machine()}, {platform.system()}).

## Instructions

```bash
berdaya verify .
```

checks every file of the package against the SHA-256 recorded in `{layout.MANIFEST_JSON}`, then
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
    """Check a package's files, rebuild its tables from its processed data and compare them.

    Every file is checked against the SHA-256 recorded in ``MANIFEST.json`` (code, notebooks,
    processed data, study files, expected tables); a file changed, missing or added is one
    line of :attr:`Verification.files`. The tables are then rebuilt and compared cell by cell
    with the expected ones; a table the rebuild makes that the manifest does not list is also
    reported, so a shortened ``expected`` list cannot hide one.

    Parameters
    ----------
    package
        A folder written by :func:`build_package`.

    Returns
    -------
    Verification
        The tables compared, every differing cell, and every file not as recorded.

    Raises
    ------
    BerdayaError
        When the package cannot be checked at all: no or unreadable ``MANIFEST.json``, an empty
        ``expected`` list, no recorded checksums, or no processed data.
    """
    package = Path(package).resolve()
    manifest_path = package / layout.MANIFEST_JSON
    if not manifest_path.is_file():
        raise BerdayaError(f"{package} has no {layout.MANIFEST_JSON}: not a berdaya replication package")
    try:
        manifest = json.loads(manifest_path.read_text())
        study_path = package / manifest["study_file"]
        expected = dict(manifest["expected"])
        checksums = dict(manifest.get("checksums") or {})
    except (ValueError, KeyError, TypeError) as exc:
        raise BerdayaError(f"{manifest_path}: not a readable berdaya manifest ({exc})") from exc
    if not expected:
        raise BerdayaError(
            f"{manifest_path}: the `expected` list is empty, so there is nothing to verify – the "
            "package is damaged; get a fresh copy or rebuild it with berdaya package"
        )
    if not checksums:
        raise BerdayaError(
            f"{manifest_path}: records no checksums of the package's files (made by an older "
            "berdaya, or edited), so its code and data cannot be checked – rebuild it with berdaya package"
        )
    if not (package / "data" / "processed").is_dir() or not study_path.is_file():
        raise BerdayaError(
            f"{package}: data/processed/ or {manifest['study_file']} is missing – the package is "
            "damaged; get a fresh copy"
        )
    files = _check_files(package, checksums, expected)
    # Rebuild outside the package, which may sit on read-only media (an archive, a DOI mirror).
    with tempfile.TemporaryDirectory(prefix="berdaya-verify-") as scratch:
        work = Path(scratch)
        processed = work / "processed"
        shutil.copytree(package / "data" / "processed", processed)
        construct_stage(study_path, processed)
        estimate_stage(study_path, processed, work / "tables", internal=False)
        differences: list[Difference] = []
        names = []
        for relative in expected:
            name = Path(relative).name
            names.append(name)
            rebuilt = work / "tables" / name
            if not rebuilt.is_file():
                differences.append(Difference(name, None, None, "the table", "nothing"))
                continue
            if not (package / relative).is_file():
                continue  # reported as a missing file
            want = pd.read_csv(package / relative, dtype=str, keep_default_na=False)
            differences += _compare(name, want, pd.read_csv(rebuilt, dtype=str, keep_default_na=False))
        listed = {Path(r).name for r in expected}
        for table in sorted((work / "tables").glob("*.csv")):
            if table.name not in listed:
                files.append(
                    f"{table.name}: made by the rebuild but not in {layout.MANIFEST_JSON}'s expected list "
                    "(the list was edited)"
                )
    return Verification(tables=tuple(names), differences=tuple(differences), files=tuple(files))


def _check_files(package: Path, checksums: Mapping[str, str], expected: Mapping[str, str]) -> list[str]:
    """One line per file not as the manifest records it."""
    manifest = layout.MANIFEST_JSON
    problems = []
    for relative, sha in checksums.items():
        path = package / relative
        if not path.is_file():
            problems.append(f"{relative}: missing ({manifest} records it)")
        elif sha256_file(path) != sha:
            problems.append(
                f"{relative}: changed since the package was made (SHA-256 differs from {manifest})"
            )
    for relative in _package_files(package):
        if relative not in checksums:
            problems.append(f"{relative}: not part of the package as made ({manifest} does not record it)")
    for relative, sha in expected.items():
        if checksums.get(relative) != sha:
            problems.append(
                f"{manifest}: the expected list was edited ({relative} does not match its checksum)"
            )
    return problems
