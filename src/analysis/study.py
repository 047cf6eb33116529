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

import pandas as pd
import yaml

from analysis.config import DEFAULT_SEED, ROUNDS
from analysis.errors import StudyError

Language = Literal["id", "en"]
NumberStyle = Literal["id", "plain"]
VcovChoice = Literal["auto", "CR1", "HC1", "iid"]
VcovExtra = Literal["CRV3", "RI"]
DidForm = Literal["household", "none"]
StudyDesign = Literal["randomized", "matched"]
PovertyArea = Literal["national", "urban", "rural"]

#: Families counted by the Alkire–Foster index by default: the six empowerment goals.
GOAL_FAMILIES: tuple[str, ...] = ("institutions", "business", "income", "environment", "life", "community")

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
    index
        Whether the outcome is a component of its family's summary indices (default true).
    """

    name: str
    columns: Mapping[str, str]
    family: str | None = None
    direction: int = 1
    label: str | None = None
    index: bool = True


@dataclass(frozen=True)
class VillageList:
    """A table of villages with their codes, names, strata and (optionally) arm."""

    file: Path
    id: str = "village"
    name: str | None = None
    strata: str | None = None


@dataclass(frozen=True)
class IncomeOptions:
    """Income and poverty conventions (``income`` key; methods.md §7).

    Attributes
    ----------
    poverty_line
        Rp per person per month in baseline prices for the ``poor`` indicator, or None.
    poverty_line_source
        Where the line comes from: ``study file``, or the BPS round and area it was taken from.
    poverty_area
        Which BPS line a default is taken from: ``national``, ``urban`` or ``rural``.
    winsor_quantile
        Upper quantile of ``income_pc_w99`` (computed per round on the pooled arms).
    """

    poverty_line: float | None = None
    poverty_line_source: str = ""
    poverty_area: PovertyArea = "national"
    winsor_quantile: float = 0.99


@dataclass(frozen=True)
class AlkireFosterOptions:
    """The Alkire–Foster counting index across the goals (``alkire_foster`` key).

    Attributes
    ----------
    k
        Poverty (deprivation) cutoff: a household is deprived when its weighted deprivation
        score exceeds k (``c > k``, methods.md §8.4).
    families
        The families (goals) whose outcomes are the indicators; each family gets equal weight,
        shared equally by its indicators.
    cutoffs
        Adequacy cutoff per outcome name: adequate when the value is at least the cutoff (at most,
        for outcomes with ``direction: -1``).
    """

    k: float = 1 / 3
    families: tuple[str, ...] = GOAL_FAMILIES
    cutoffs: Mapping[str, float] = field(default_factory=dict)


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
    vcov_extra: tuple[VcovExtra, ...] = ()
    did_fixed_effects: DidForm = "household"
    design: StudyDesign = "randomized"
    wild_bootstrap_below: int = 50
    romano_wolf: bool = False
    family_indices: bool = True
    main_outcomes: tuple[str, ...] = ()
    lee_bounds_reps: int = 999
    design_test_reps: int = 999
    design_test_ri_below: int = 200
    power_alpha: float = 0.05
    power_target: float = 0.8
    women_subsample: bool = True
    income: IncomeOptions = field(default_factory=IncomeOptions)
    alkire_foster: AlkireFosterOptions = field(default_factory=AlkireFosterOptions)
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
    index = value.get("index", True)
    if not isinstance(index, bool):
        raise StudyError(f"{study_path.name}: outcome {name}: `index` must be true or false")
    return OutcomeSpec(
        name=name,
        columns=columns,
        family=None if family in (None, "") else str(family),
        direction=direction,
        label=value.get("label"),
        index=index,
    )


def _flag(raw: Mapping[str, Any], key: str, default: bool, path: Path) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise StudyError(f"{path.name}: `{key}` must be true or false")
    return value


def _positive_int(raw: Mapping[str, Any], key: str, default: int, path: Path) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StudyError(f"{path.name}: `{key}` must be a positive whole number, not {value!r}")
    return value


def _share(value: Any, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < float(value) < 1:
        raise StudyError(f"{path.name}: `{key}` must be a number between 0 and 1, not {value!r}")
    return float(value)


def _income(raw: Any, rounds: Mapping[str, RoundSpec], path: Path) -> IncomeOptions:
    """Resolve the ``income`` key, with the BPS line of the baseline year as the default."""
    if raw in (None, ""):
        raw = {}
    if not isinstance(raw, Mapping):
        raise StudyError(f"{path.name}: `income` must be a mapping")
    area = _choice(raw.get("poverty_area", "national"), PovertyArea, "income.poverty_area", path)
    quantile = _share(raw.get("winsor_quantile", 0.99), "income.winsor_quantile", path)
    line = raw.get("poverty_line", "bps")
    if line in (None, False, "none", ""):
        return IncomeOptions(None, "", area, quantile)
    if isinstance(line, int | float) and not isinstance(line, bool):
        if not line > 0:
            raise StudyError(f"{path.name}: `income.poverty_line` must be positive")
        return IncomeOptions(float(line), "study file", area, quantile)
    if line != "bps":
        raise StudyError(
            f"{path.name}: `income.poverty_line` is {line!r}; expecting Rp per person per month, "
            "`bps` or `none`"
        )
    # The default: BPS's March line of the baseline year, in that year's prices, which are the
    # baseline prices real income is expressed in. It is a press-reported value and BPS defines
    # poverty on consumption, so anything built on it is labelled an income-based proxy.
    explicit = "poverty_line" in raw
    year = rounds["baseline"].year
    if year is None:
        if explicit:
            raise StudyError(f"{path.name}: `income.poverty_line: bps` needs `rounds.baseline.year`")
        return IncomeOptions(None, "", area, quantile)
    from analysis.income import poverty_lines

    table = poverty_lines().set_index("round")
    label = f"Mar {year}"
    value = table[area].get(label) if label in table.index else None
    if value is None or pd.isna(value):
        if explicit:
            raise StudyError(
                f"{path.name}: no BPS {area} poverty line for {label} in "
                "analysis/data/bps_poverty_lines.csv; give `income.poverty_line` in Rp"
            )
        return IncomeOptions(None, "", area, quantile)
    source = (
        f"BPS garis kemiskinan, {area}, {label} (press report of the BPS release: "
        f"{table.at[label, 'source']!s}); income-based proxy"
    )
    return IncomeOptions(float(value), source, area, quantile)


def _alkire_foster(raw: Any, path: Path) -> AlkireFosterOptions:
    if raw in (None, ""):
        return AlkireFosterOptions()
    if not isinstance(raw, Mapping):
        raise StudyError(f"{path.name}: `alkire_foster` must be a mapping")
    k = raw.get("k", 1 / 3)
    if isinstance(k, bool) or not isinstance(k, int | float) or not 0 <= float(k) < 1:
        raise StudyError(f"{path.name}: `alkire_foster.k` must be a number in [0, 1), not {k!r}")
    families = raw.get("families", list(GOAL_FAMILIES))
    if not isinstance(families, list) or not all(isinstance(f, str) for f in families):
        raise StudyError(f"{path.name}: `alkire_foster.families` must be a list of family names")
    cutoffs = raw.get("cutoffs") or {}
    if not isinstance(cutoffs, Mapping) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in cutoffs.values()
    ):
        raise StudyError(f"{path.name}: `alkire_foster.cutoffs` must map outcome names to numbers")
    return AlkireFosterOptions(
        k=float(k), families=tuple(families), cutoffs={str(n): float(v) for n, v in cutoffs.items()}
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

    extras_raw = raw.get("vcov_extra") or []
    if isinstance(extras_raw, str):
        extras_raw = [extras_raw]
    if not isinstance(extras_raw, list):
        raise StudyError(f"{study_path.name}: `vcov_extra` must be a list such as [CRV3]")
    vcov_extra = tuple(_choice(v, VcovExtra, "vcov_extra", study_path) for v in extras_raw)
    main_raw = raw.get("main_outcomes")
    if main_raw in (None, ""):
        # Default: the first outcome listed in each family (outcomes without a family count alone).
        main: list[str] = []
        seen: set[str | None] = set()
        for o in outcomes:
            key = o.family if o.family is not None else f"\0{o.name}"
            if key not in seen:
                seen.add(key)
                main.append(o.name)
    elif isinstance(main_raw, list) and all(isinstance(m, str) for m in main_raw):
        unknown = [m for m in main_raw if m not in names]
        if unknown:
            raise StudyError(
                f"{study_path.name}: `main_outcomes` names unknown outcomes: {', '.join(unknown)}"
            )
        main = list(main_raw)
    else:
        raise StudyError(f"{study_path.name}: `main_outcomes` must be a list of outcome names")
    power_raw = raw.get("power") or {}
    if not isinstance(power_raw, Mapping):
        raise StudyError(f"{study_path.name}: `power` must be a mapping such as {{alpha: 0.05, power: 0.8}}")
    income = _income(raw.get("income"), rounds, study_path)
    # stage_construct reads the poverty line from `extra["income"]`: give it the resolved one.
    income_extra = dict(raw.get("income") or {}) if isinstance(raw.get("income"), Mapping) else {}
    income_extra.update(
        poverty_line=income.poverty_line,
        poverty_line_source=income.poverty_line_source,
        winsor_quantile=income.winsor_quantile,
    )
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
        wild_bootstrap_reps=_positive_int(raw, "wild_bootstrap_reps", 9999, study_path),
        seed=int(raw.get("seed", DEFAULT_SEED)),
        min_cell=int(raw.get("min_cell", 10)),
        processed_dir=None if not processed else (base / str(processed)).resolve(),
        pseudonym_key=None if raw.get("pseudonym_key") is None else str(raw["pseudonym_key"]),
        pseudonym_key_file=None if not key_file else (base / str(key_file)).expanduser(),
        decisions=optional_path("decisions"),
        corrections=optional_path("corrections"),
        vcov_extra=vcov_extra,
        did_fixed_effects=_choice(
            raw.get("did_fixed_effects", "household"), DidForm, "did_fixed_effects", study_path
        ),
        design=_choice(raw.get("design", "randomized"), StudyDesign, "design", study_path),
        wild_bootstrap_below=_positive_int(raw, "wild_bootstrap_below", 50, study_path),
        romano_wolf=_flag(raw, "romano_wolf", False, study_path),
        family_indices=_flag(raw, "family_indices", True, study_path),
        main_outcomes=tuple(main),
        lee_bounds_reps=_positive_int(raw, "lee_bounds_reps", 999, study_path),
        design_test_reps=_positive_int(raw, "design_test_reps", 999, study_path),
        design_test_ri_below=_positive_int(raw, "design_test_ri_below", 200, study_path),
        power_alpha=_share(power_raw.get("alpha", 0.05), "power.alpha", study_path),
        power_target=_share(power_raw.get("power", 0.8), "power.power", study_path),
        women_subsample=_flag(raw, "women_subsample", True, study_path),
        income=income,
        alkire_foster=_alkire_foster(raw.get("alkire_foster"), study_path),
        extra={
            # Cleaning settings are validated by the cleaning modules that use them
            # (analysis.quality.rules_from_settings and friends).
            **{
                k: v
                for k, v in raw.items()
                if k in ("labels", "description", "quality", "fieldwork", "gps", "new_households")
            },
            "income": income_extra,
        },
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
