"""The study file: what to read, how to link it, and what to estimate.

A study file is YAML; every path in it is relative to the file itself. The minimal form is::

    name: Example study
    rounds: {baseline: baseline.csv, followup: followup.csv}
    id: hhid
    treatment: treat
    village: village        # optional
    cluster: village        # optional, defaults to `village`
    outcomes:
      - {name: income, column: income, family: income}

Everything else has a default that keeps the minimal form valid; ``docs/study-file.md`` lists
every key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from analysis.config import DEFAULT_SEED, ROUNDS
from analysis.errors import StudyError

Language = Literal["id", "en"]
NumberStyle = Literal["id", "plain"]
VcovChoice = Literal["auto", "CR1", "HC1", "iid"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class RoundSpec:
    """One survey round's export.

    Attributes
    ----------
    name
        ``baseline`` or ``followup``.
    file
        Absolute path of the raw export.
    sheet
        Worksheet name for XLSX exports.
    year
        Survey year, shown in reports.
    cpi
        Consumer price index of the round, used to deflate money to baseline prices.
    """

    name: str
    file: Path
    sheet: str | None = None
    year: int | None = None
    cpi: float | None = None


@dataclass(frozen=True)
class OutcomeSpec:
    """One outcome to estimate.

    Attributes
    ----------
    name
        The name shown in ``tables/impact.csv``.
    columns
        The variable in each round. With a codebook this is a harmonized name or a constructed
        indicator; without one, the raw column. A round missing from the map has no measure.
    family
        Outcome family (one of the six goals, ``participation``, or empty).
    direction
        ``1`` when higher is better, ``-1`` when lower is better.
    label
        Optional display label overriding the codebook's.
    """

    name: str
    columns: Mapping[str, str]
    family: str | None = None
    direction: int = 1
    label: str | None = None


@dataclass(frozen=True)
class VillageList:
    """A table of villages with their codes, names, strata and (optionally) arm."""

    file: Path
    id: str = "village"
    name: str | None = None
    strata: str | None = None


@dataclass(frozen=True)
class Study:
    """A parsed, validated study file. Build it with :func:`load_study`."""

    path: Path
    name: str
    rounds: Mapping[str, RoundSpec]
    id: str
    treatment: str
    outcomes: tuple[OutcomeSpec, ...]
    village: str | None = None
    cluster: str | None = None
    codebook: Path | None = None
    villages: VillageList | None = None
    weights: str | None = None
    covariates: tuple[str, ...] = ()
    pii_columns: tuple[str, ...] = ()
    language: Language = "id"
    number_style: NumberStyle = "plain"
    vcov: VcovChoice = "auto"
    wild_bootstrap_reps: int = 9999
    seed: int = DEFAULT_SEED
    min_cell: int = 10
    processed_dir: Path | None = None
    pseudonym_key: str | None = None
    pseudonym_key_file: Path | None = None
    decisions: Path | None = None
    corrections: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        """The folder holding the study file; relative paths start here."""
        return self.path.parent

    @property
    def cluster_column(self) -> str | None:
        """The column standard errors are clustered by (``cluster``, else ``village``)."""
        return self.cluster or self.village

    def input_files(self) -> list[Path]:
        """Every input file the study reads, in a fixed order (for hashing)."""
        files = [self.path] + [r.file for r in self.rounds.values()]
        for extra in (self.codebook, self.decisions, self.corrections):
            if extra is not None:
                files.append(extra)
        if self.villages is not None:
            files.append(self.villages.file)
        return files


def _require(raw: Mapping[str, Any], key: str, path: Path) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise StudyError(f"{path.name}: the key `{key}` is required")
    return raw[key]


def _choice(value: Any, allowed: Any, key: str, path: Path) -> Any:
    options = get_args(allowed)
    if value not in options:
        raise StudyError(
            f"{path.name}: `{key}` is {value!r}; expecting one of {', '.join(map(str, options))}"
        )
    return value


def _path(value: Any, base: Path, key: str, study_path: Path, *, must_exist: bool = True) -> Path:
    if not isinstance(value, str) or not value:
        raise StudyError(f"{study_path.name}: `{key}` must be a file path")
    resolved = (base / value).resolve()
    if must_exist and not resolved.exists():
        raise StudyError(f"{study_path.name}: `{key}` names {value}, which does not exist")
    return resolved


def _round(name: str, value: Any, base: Path, study_path: Path) -> RoundSpec:
    if isinstance(value, str):
        return RoundSpec(name=name, file=_path(value, base, f"rounds.{name}", study_path))
    if isinstance(value, Mapping):
        file = _path(_require(value, "file", study_path), base, f"rounds.{name}.file", study_path)
        cpi = value.get("cpi")
        year = value.get("year")
        return RoundSpec(
            name=name,
            file=file,
            sheet=value.get("sheet"),
            year=None if year is None else int(year),
            cpi=None if cpi is None else float(cpi),
        )
    raise StudyError(f"{study_path.name}: `rounds.{name}` must be a file name or a mapping")


def _outcome(value: Any, index: int, study_path: Path) -> OutcomeSpec:
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        raise StudyError(f"{study_path.name}: outcome {index + 1} must be a mapping")
    name = str(_require(value, "name", study_path))
    column = value.get("column", name)
    if isinstance(column, str):
        columns = {r: column for r in ROUNDS}
    elif isinstance(column, Mapping):
        unknown = set(column) - set(ROUNDS)
        if unknown:
            raise StudyError(
                f"{study_path.name}: outcome {name}: `column` has unknown rounds "
                f"{sorted(unknown)}; expecting baseline and/or followup"
            )
        columns = {str(r): str(c) for r, c in column.items() if c not in (None, "")}
    else:
        raise StudyError(f"{study_path.name}: outcome {name}: `column` must be text or a mapping")
    direction = int(value.get("direction", 1))
    if direction not in (1, -1):
        raise StudyError(f"{study_path.name}: outcome {name}: `direction` must be 1 or -1")
    family = value.get("family")
    return OutcomeSpec(
        name=name,
        columns=columns,
        family=None if family in (None, "") else str(family),
        direction=direction,
        label=value.get("label"),
    )


def load_study(path: str | Path) -> Study:
    """Read and validate a study file.

    Parameters
    ----------
    path
        The YAML study file.

    Returns
    -------
    Study
        The validated study, with every path made absolute.

    Raises
    ------
    StudyError
        When the file is missing, is not valid YAML, or lacks a required key.
    """
    study_path = Path(path).resolve()
    if not study_path.is_file():
        raise StudyError(f"study file {path} does not exist")
    try:
        raw = yaml.safe_load(study_path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise StudyError(f"{study_path.name}{where}: not valid YAML ({exc})") from None
    if not isinstance(raw, Mapping):
        raise StudyError(f"{study_path.name}: expected a mapping of keys at the top level")
    base = study_path.parent

    rounds_raw = _require(raw, "rounds", study_path)
    if not isinstance(rounds_raw, Mapping) or set(rounds_raw) != set(ROUNDS):
        raise StudyError(f"{study_path.name}: `rounds` must name exactly baseline and followup")
    rounds = {name: _round(name, rounds_raw[name], base, study_path) for name in ROUNDS}

    outcomes_raw = _require(raw, "outcomes", study_path)
    if not isinstance(outcomes_raw, list) or not outcomes_raw:
        raise StudyError(f"{study_path.name}: `outcomes` must be a non-empty list")
    outcomes = tuple(_outcome(o, i, study_path) for i, o in enumerate(outcomes_raw))
    names = [o.name for o in outcomes]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise StudyError(f"{study_path.name}: outcome names repeat: {', '.join(duplicated)}")

    villages = None
    if raw.get("villages") not in (None, ""):
        vraw = raw["villages"]
        if isinstance(vraw, str):
            vraw = {"file": vraw}
        villages = VillageList(
            file=_path(_require(vraw, "file", study_path), base, "villages.file", study_path),
            id=str(vraw.get("id", raw.get("village") or "village")),
            name=vraw.get("name"),
            strata=vraw.get("strata"),
        )

    def optional_path(key: str) -> Path | None:
        value = raw.get(key)
        return None if value in (None, "") else _path(value, base, key, study_path)

    processed = raw.get("processed")
    key_file = raw.get("pseudonym_key_file")
    study = Study(
        path=study_path,
        name=str(raw.get("name") or study_path.stem),
        rounds=rounds,
        id=str(_require(raw, "id", study_path)),
        treatment=str(_require(raw, "treatment", study_path)),
        outcomes=outcomes,
        village=raw.get("village") or None,
        cluster=raw.get("cluster") or None,
        codebook=optional_path("codebook"),
        villages=villages,
        weights=raw.get("weights") or None,
        covariates=tuple(raw.get("covariates") or ()),
        pii_columns=tuple(raw.get("pii_columns") or ()),
        language=_choice(raw.get("language", "id"), Language, "language", study_path),
        number_style=_choice(
            raw.get("number_style", "id" if raw.get("codebook") else "plain"),
            NumberStyle,
            "number_style",
            study_path,
        ),
        vcov=_choice(raw.get("vcov", "auto"), VcovChoice, "vcov", study_path),
        wild_bootstrap_reps=int(raw.get("wild_bootstrap_reps", 9999)),
        seed=int(raw.get("seed", DEFAULT_SEED)),
        min_cell=int(raw.get("min_cell", 10)),
        processed_dir=None if not processed else (base / str(processed)).resolve(),
        pseudonym_key=None if raw.get("pseudonym_key") is None else str(raw["pseudonym_key"]),
        pseudonym_key_file=None if not key_file else (base / str(key_file)).expanduser(),
        decisions=optional_path("decisions"),
        corrections=optional_path("corrections"),
        extra={k: v for k, v in raw.items() if k in ("income", "labels", "description")},
    )
    if study.min_cell < 5:
        raise StudyError(f"{study_path.name}: `min_cell` is {study.min_cell}; it may not be below 5")
    for label, column in (("id", study.id), ("treatment", study.treatment)):
        if not column.strip():
            raise StudyError(f"{study_path.name}: `{label}` is empty")
    return study


def slug(text: str) -> str:
    """Reduce ``text`` to safe file-name characters (letters, digits, ``-`` and ``_``).

    >>> slug("../../etc/passwd")
    'etc_passwd'
    >>> slug("<script>alert(1)</script>")
    'script_alert_1_script'
    """
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-")
    return cleaned[:80] or "unnamed"


def is_safe_identifier(name: str) -> bool:
    """Whether ``name`` can be used as a papermill parameter name."""
    return bool(_IDENTIFIER.match(name)) and name.isidentifier()
