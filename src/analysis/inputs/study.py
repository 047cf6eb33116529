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

The whole file is checked against one schema, :data:`SCHEMA`: a table of every key the
workbench reads, at every level, with the type of its value. A key that is not in the table is
an error with a did-you-mean (a misspelt ``min_cel: 50`` must not silently leave the default
disclosure threshold in force), and so is a value of the wrong type. Every problem is collected
and reported at once in one :class:`~analysis.errors.StudyError` line, so a user fixes the file
in one pass and nothing runs on a half-understood study.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd
import yaml

from analysis import config
from analysis.config import DEFAULT_SEED, ROUNDS
from analysis.errors import InputError, StudyError

Language = Literal["id", "en"]
NumberStyle = Literal["id", "plain"]
VcovChoice = Literal["auto", "CR1", "HC1", "iid"]
VcovExtra = Literal["CRV3", "RI"]
DidForm = Literal["household", "none"]
StudyDesign = Literal["randomized", "matched"]
PovertyArea = Literal["national", "urban", "rural"]
#: The ``gps`` choices; the same as ``analysis.clean.deidentify.GPS_RULES`` (which imports this module,
#: so the list cannot be imported from there; tests/inputs/test_study_schema.py keeps them equal).
GpsRule = Literal["drop", "village"]
#: The ``new_households`` choices; the same as ``analysis.construct.panel.NEW_HOUSEHOLDS``.
NewHouseholds = Literal["keep", "quarantine"]

#: Kinds of quality flag that ``quality.escalate`` may name (``analysis.clean.quality``; the part of
#: a flag before ``:``, e.g. ``too_short`` for ``too_short:10min``).
FlagKind = Literal[
    "end_before_start",
    "too_short",
    "outside_fieldwork_window",
    "outlier",
    "possible_missing_code",
]
FLAG_KINDS: tuple[str, ...] = get_args(FlagKind)

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
    column
        The one variable that names the outcome in every round (``column`` written as one
        name, or left to default to ``name``); None when ``column`` maps rounds to variables.
        For one long file without ``rounds.order`` the rounds, and so ``columns``, are known
        only from the data (:func:`with_round_order`).
    """

    name: str
    columns: Mapping[str, str]
    family: str | None = None
    direction: int = 1
    label: str | None = None
    index: bool = True
    column: str | None = None


@dataclass(frozen=True)
class VillageList:
    """A table of villages with their codes, names, strata and (optionally) arm."""

    file: Path
    id: str = "village"
    name: str | None = None
    strata: str | None = None


@dataclass(frozen=True)
class IncomeOptions:
    """Income and poverty conventions (``income`` key; docs/methods.md §7).

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
        score exceeds k (``c > k``, docs/methods.md §8.4).
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
class QualityOptions:
    """The quality-flag rules (``quality`` key; ``analysis.clean.quality``).

    The defaults are those of ``analysis.clean.quality.QualityRules`` (which this module cannot
    import; tests/inputs/test_study_schema.py keeps them equal).

    Attributes
    ----------
    min_minutes
        Interviews shorter than this are flagged ``too_short``; None (``null`` in the file)
        turns the flag off.
    outlier_iqr
        ``k`` of the outlier rule; None turns the rule off.
    escalate
        Flag kinds that quarantine the row instead of only flagging it.
    """

    min_minutes: float | None = 10.0
    outlier_iqr: float | None = 3.0
    escalate: tuple[FlagKind, ...] = ()


#: The shapes of data a study file describes (docs/study-file.md, issue 13).
RoundsDesign = Literal["two_round_panel", "panel", "repeated_cross_section"]
#: The comparison units of ``cs_att`` (``rollout.controls``); the same as
#: ``analysis.estimate.staggered.ControlGroup`` (which imports this module, so the list cannot be
#: imported from there; tests/inputs/test_study_rounds.py keeps them equal).
RolloutControls = Literal["never_treated", "not_yet_treated"]
#: The keys of the one-file form of ``rounds``; no round may be called by one of them.
LONG_ROUNDS_KEYS: tuple[str, ...] = ("file", "column", "order", "sheet")


@dataclass(frozen=True)
class RoundDesign:
    """How the rounds of a study fit together (``rounds``, ``id`` and ``rollout`` keys).

    Attributes
    ----------
    kind
        ``two_round_panel``: rounds ``baseline`` and ``followup``, each in its own file, linked
        by ``id``, the arm in ``treatment`` (the design ``berdaya run`` analyses today);
        ``panel``: any other study with an ``id`` (more rounds, one long file, rollout timing);
        ``repeated_cross_section``: a study without ``id`` (new households every round).
    round_order
        The round names in time order: the ``rounds`` keys as written, or for one long file
        ``rounds.order``. Empty for a long file without ``order``, whose rounds are known only
        from its data (:func:`order_long_rounds`, then :func:`with_round_order`).
    reference_round
        The pre-programme round later rounds are compared with: the first round (None while
        the order is unknown). With a rollout each cohort is also measured against its own last
        round before adoption (event time −1).
    long_file
        The one file every round is in (``rounds: {file, column}``), else None.
    round_column
        The column of ``long_file`` that says which round a row belongs to.
    rollout_column
        ``rollout.column``: the column, in the data or the village list, holding each unit's
        first treated round (a round name; empty means never treated; read by
        :func:`rollout_cohorts`). None when the timing,
        if any, comes from ``treatment`` (which may then vary by round: 1 once the programme is
        active for the unit; ``analysis.estimate.staggered.first_treated_round`` derives the
        cohort and refuses a unit that switches back).
    controls
        ``rollout.controls``: ``never_treated`` (default) or ``not_yet_treated`` units as the
        comparison of ``cs_att``.
    never_treated
        ``rollout.never``: the value of the rollout column that means never treated, besides an
        empty cell (``0`` in exports made for R's ``did`` or Stata's ``csdid``).
    """

    kind: RoundsDesign = "two_round_panel"
    round_order: tuple[str, ...] = ROUNDS
    reference_round: str | None = ROUNDS[0]
    long_file: RoundSpec | None = None
    round_column: str | None = None
    rollout_column: str | None = None
    controls: RolloutControls = "never_treated"
    never_treated: str | None = None

    def describe(self) -> str:
        """The design in words, for messages: ``a panel of 3 rounds (baseline, midline, endline)``."""
        noun = "a repeated cross-section (no `id`)" if self.kind == "repeated_cross_section" else "a panel"
        order = ", ".join(self.round_order)
        if self.long_file is not None:
            rounds = (
                f" with every round in {self.long_file.file.name}, told apart by column {self.round_column} "
                + (f"(rounds {order})" if order else "(rounds in the order of their numbers)")
            )
        else:
            rounds = f" of {len(self.round_order)} rounds ({order})"
        rollout = f", rollout timing from column {self.rollout_column}" if self.rollout_column else ""
        return noun + rounds + rollout


@dataclass(frozen=True)
class Study:
    """A parsed, validated study file. Build it with :func:`load_study`.

    Each attribute is the study key of the same name (``docs/study-file.md``), except
    ``processed_dir`` (``processed``), ``power_alpha`` / ``power_target`` (``power``) and
    ``number_style_set``: whether ``number_style`` was written in the file rather than defaulted,
    so cleaning knows whether the user decided the thousands separator. ``fieldwork`` holds the
    first and last day of each round that has a window. ``description`` and ``labels`` are
    checked but not kept: they are notes for whoever reads the file, and nothing reads them.
    """

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
    keep_text_columns: tuple[str, ...] = ()
    language: Language = "id"
    #: Every language the reports are written in, ``language`` first (``languages: [id, en]``);
    #: empty means ``language`` alone (see :attr:`report_languages`).
    languages: tuple[Language, ...] = ()
    number_style: NumberStyle = "plain"
    number_style_set: bool = False
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
    pdf: bool = True
    income: IncomeOptions = field(default_factory=IncomeOptions)
    alkire_foster: AlkireFosterOptions = field(default_factory=AlkireFosterOptions)
    quality: QualityOptions = field(default_factory=QualityOptions)
    fieldwork: Mapping[str, tuple[dt.date, dt.date]] = field(default_factory=dict)
    gps: GpsRule = "drop"
    new_households: NewHouseholds = "keep"
    #: The design: which rounds, in which order, linked or not, and the rollout. ``id`` is empty
    #: for a repeated cross-section and ``treatment`` when ``rollout`` alone gives the timing.
    round_design: RoundDesign = field(default_factory=RoundDesign)

    @property
    def folder(self) -> Path:
        """The folder holding the study file; relative paths start here."""
        return self.path.parent

    @property
    def cluster_column(self) -> str | None:
        """The column standard errors are clustered by (``cluster``, else ``village``)."""
        return self.cluster or self.village

    @property
    def report_languages(self) -> tuple[Language, ...]:
        """The languages of the reports, the report language (``language``) first."""
        rest = tuple(code for code in self.languages if code != self.language)
        return (self.language, *rest)

    def input_files(self) -> list[Path]:
        """Every input file the study reads, in a fixed order (for hashing)."""
        # A long file holds every round: it is listed once.
        long_file = self.round_design.long_file
        rounds = [r.file for r in self.rounds.values()] + ([long_file.file] if long_file else [])
        files = [self.path, *dict.fromkeys(rounds)]
        for extra in (self.codebook, self.decisions, self.corrections):
            if extra is not None:
                files.append(extra)
        if self.villages is not None:
            files.append(self.villages.file)
        return files


# --------------------------------------------------------------------------------------------
# The schema: one table of every study key and the type of its value


class _Bad:
    """Marks a value that failed its check (the problem is already recorded)."""


_BAD = _Bad()


@dataclass
class _Context:
    """What checking one study file needs: its folder, and the problems found so far."""

    base: Path
    problems: list[str] = field(default_factory=list)
    #: Dotted paths of the keys that had a problem, so later checks do not pile on.
    bad: set[str] = field(default_factory=set)
    #: Keys whose file may not exist yet (the codebook that ``berdaya codebook`` is to write).
    may_be_missing: frozenset[str] = frozenset()
    #: The round names ``rounds`` gives (even when a round's file has a problem), for checking
    #: the keys that name rounds (``rounds`` is checked first); None when ``rounds`` is missing.
    round_names: tuple[str, ...] | None = None
    #: Whether ``rounds`` is one long file (its round names are known only with ``order``).
    long_rounds: bool = False

    def problem(self, at: str, text: str) -> _Bad:
        self.problems.append(text)
        self.bad.add(at)
        return _BAD

    def wrong(self, at: str, value: Any, expects: str) -> _Bad:
        return self.problem(at, f"`{at}` is {_show(value)}, expecting {expects}")


def _show(value: Any) -> str:
    """The value as the message shows it: short, and always on one line."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: str, options: list[str]) -> str | None:
    """The option ``word`` was most likely meant to be, if one is close (case is ignored)."""
    lowered = {o.lower(): o for o in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def _did_you_mean(hint: str | None) -> str:
    return f" (did you mean `{hint}`?)" if hint else ""


def _whole(value: Any) -> int | None:
    """``value`` as a whole number, or None. ``"2023"`` and ``2023.0`` count; ``True`` does not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    return None


def _number(value: Any) -> float | None:
    """``value`` as a finite number, or None (a quoted ``"106.3"`` counts; ``true`` does not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


class _Check:
    """The type of one study value.

    ``check`` returns the value normalised (paths made absolute, one name made a one-item
    list...), None when the key is left empty, or ``_BAD`` after recording a problem.
    """

    expects: str = ""

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class _Text(_Check):
    """Text; with ``numbers``, a number is read as its text (a study called ``2024``)."""

    expects: str = "text"
    numbers: bool = False

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            return value
        if self.numbers and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return ctx.wrong(at, value, self.expects)


_COLUMN = _Text(expects="a column name")


@dataclass(frozen=True)
class _Whole(_Check):
    """A whole number, at least ``minimum``."""

    expects: str = "a whole number"
    minimum: int | None = None

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None:
            return None
        number = _whole(value)
        if number is None or (self.minimum is not None and number < self.minimum):
            return ctx.wrong(at, value, self.expects)
        return number


@dataclass(frozen=True)
class _Number(_Check):
    """A number in a range; ``low_open`` / ``high_open`` leave the end out."""

    expects: str = "a number"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None:
            return None
        number = _number(value)
        if (
            number is None
            or (self.low is not None and (number <= self.low if self.low_open else number < self.low))
            or (self.high is not None and (number >= self.high if self.high_open else number > self.high))
        ):
            return ctx.wrong(at, value, self.expects)
        return number


_SHARE = _Number(expects="a number between 0 and 1", low=0, high=1, low_open=True, high_open=True)
_REPS = _Whole(expects="a whole number of 1 or more", minimum=1)


@dataclass(frozen=True)
class _Flag(_Check):
    expects: str = "true or false"

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None or isinstance(value, bool):
            return value
        return ctx.wrong(at, value, self.expects)


@dataclass(frozen=True)
class _Choice(_Check):
    """One of a closed list of options; a near miss gets a did-you-mean."""

    options: tuple[Any, ...] = ()

    @property
    def expects(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(map(str, self.options))

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None or (
            isinstance(value, Hashable) and not isinstance(value, bool) and value in self.options
        ):
            return value
        hint = _suggest(str(value), [str(o) for o in self.options]) if isinstance(value, str) else None
        return ctx.problem(at, f"`{at}` is {_show(value)}, expecting {self.expects}{_did_you_mean(hint)}")


def _choice(literal: Any) -> _Choice:
    return _Choice(options=get_args(literal))


@dataclass(frozen=True)
class _Direction(_Check):
    expects: str = "1 (higher is better) or -1 (lower is better)"

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None:
            return None
        number = _whole(value)
        return number if number in (1, -1) else ctx.wrong(at, value, self.expects)


@dataclass(frozen=True)
class _List(_Check):
    """A list of ``item``. One value written without brackets is a one-item list.

    ``pii_columns: phone`` means ``[phone]``; reading the text as a sequence would give the
    letters p, h, o, n, e and drop no column at all.
    """

    item: _Check = field(default_factory=lambda: _COLUMN)
    expects: str = "a list such as [a, b]"
    nonempty: bool = False
    #: Names an item in messages (default ``key[n]``, counted from 1).
    label: Callable[[str, int, Any], str] | None = None

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None:
            return None
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list) or (self.nonempty and not value):
            return ctx.wrong(at, value, self.expects)
        before = len(ctx.problems)
        items = []
        for i, item in enumerate(value):
            where = self.label(at, i, item) if self.label is not None else f"{at}[{i + 1}]"
            checked = self.item.check(item, where, ctx)
            if checked is not None and checked is not _BAD:
                items.append(checked)
        return items if len(ctx.problems) == before else _BAD


@dataclass(frozen=True)
class _Fields(_Check):
    """A mapping of known keys, each with its own type; any other key is a problem.

    With ``shorthand``, a text value stands for ``{shorthand: value}`` (``rounds.baseline:
    b.csv`` is ``{file: b.csv}``). The result holds the keys that were written and passed their
    check (an empty one as None), so defaults apply only to keys the user did not write.
    """

    fields: Mapping[str, _Check] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    expects: str = "a mapping"
    shorthand: str | None = None
    #: Keys checked before the others, whatever their place in the file (``rounds``, whose
    #: round names the keys by round are checked against).
    first: tuple[str, ...] = ()
    #: A required key that another key can stand in for (``treatment`` or ``rollout``).
    alternatives: Mapping[str, str] = field(default_factory=dict)

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None:
            return None
        short = self.shorthand is not None and isinstance(value, str)
        if short:
            value = {self.shorthand: value}
        if not isinstance(value, Mapping):
            return ctx.wrong(at, value, self.expects)
        out: dict[str, Any] = {}
        # Keys already reported (misspelt, or with a bad value) are not also "required".
        meant: set[str] = set()
        items = sorted(value.items(), key=lambda kv: kv[0] not in self.first)
        for key, item in items:
            name = str(key)
            where = f"{at}.{name}" if at else name
            spec = self.fields.get(name) if isinstance(key, str) else None
            if spec is None:
                hint = _suggest(name, list(self.fields))
                if hint is not None:
                    meant.add(hint)
                ctx.problem(where, self._unknown(at, where, hint))
                continue
            checked = spec.check(item, at if short else where, ctx)
            if checked is _BAD:
                meant.add(name)
            else:
                out[name] = checked
        for key in self.required:
            where = f"{at}.{key}" if at else key
            other = self.alternatives.get(key)
            if other is not None and (out.get(other) is not None or other in meant):
                continue
            if out.get(key) is None and key not in meant:
                also = f" (or `{other}`)" if other is not None else ""
                ctx.problem(where, f"the key `{where}` is required{also}")
        return out

    def _unknown(self, at: str, where: str, hint: str | None) -> str:
        meant = _did_you_mean(None if hint is None else f"{at}.{hint}" if at else hint)
        if hint is not None:
            return f"`{where}` is not a study key{meant}"
        if at:
            return f"`{where}` is not a study key (`{at}` takes {', '.join(self.fields)})"
        return f"`{where}` is not a study key (docs/study-file.md lists every key)"


@dataclass(frozen=True)
class _MapOf(_Check):
    """A mapping whose keys are the user's own names (outcomes, variables), each to ``value``."""

    value: _Check = field(default_factory=_Text)
    expects: str = "a mapping"

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            return ctx.wrong(at, value, self.expects)
        out = {}
        for key, item in value.items():
            checked = self.value.check(item, f"{at}.{key}", ctx)
            if checked is not _BAD:
                out[str(key)] = checked
        return out


@dataclass(frozen=True)
class _File(_Check):
    """A path relative to the study file, made absolute; ``folder`` for a folder to write."""

    must_exist: bool = True
    folder: bool = False

    @property
    def expects(self) -> str:  # type: ignore[override]
        return "a folder path" if self.folder else "a file path"

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not value.strip():
            return ctx.wrong(at, value, self.expects)
        resolved = (ctx.base / Path(value).expanduser()).resolve()
        if self.must_exist and not resolved.exists() and at not in ctx.may_be_missing:
            return ctx.problem(at, f"`{at}` names {value}, which does not exist")
        if not self.folder and resolved.is_dir():
            return ctx.problem(at, f"`{at}` names {value}, which is a folder, not a file")
        if self.folder and resolved.is_file():
            return ctx.problem(at, f"`{at}` names {value}, which is a file, not a folder")
        return resolved


@dataclass(frozen=True)
class _RoundColumns(_Check):
    """An outcome's ``column``: one name for every round, or ``{baseline: x, followup: y}``.

    One name is returned as text (:func:`load_study` gives it to every round), a mapping as a
    dict without the rounds left empty (they have no measure of the outcome); its keys must be
    the study's rounds (:class:`_ByRound`), and a long file takes one name only.
    """

    expects: str = "a column name, or {baseline: column, followup: column}"

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None:
            return None
        if isinstance(value, Mapping):
            if ctx.long_rounds:
                return ctx.problem(
                    at, f"`{at}` names a column per round, but one file holds every round: give one column"
                )
            columns = _ByRound(value=_COLUMN, expects=self.expects).check(value, at, ctx)
            if columns is _BAD:
                return _BAD
            return {r: c for r, c in columns.items() if c is not None}
        column = _COLUMN.check(value, at, ctx)
        if column is None or column is _BAD:
            return column if column is _BAD else ctx.wrong(at, value, self.expects)
        return column


@dataclass(frozen=True)
class _ByRound(_MapOf):
    """A mapping by round (``fieldwork``, an outcome's ``column``): every key must be a round.

    The rounds are those of ``rounds``, checked first; baseline and followup when ``rounds``
    is missing; any name for one long file without ``order``, whose rounds come from its data.
    """

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        out = super().check(value, at, ctx)
        if not isinstance(out, dict):
            return out
        rounds = ctx.round_names if ctx.round_names is not None else ROUNDS
        if ctx.long_rounds and not rounds:
            return out
        before = len(ctx.problems)
        for key in out:
            if key not in rounds:
                hint = _suggest(key, list(rounds))
                ctx.problem(
                    f"{at}.{key}",
                    f"`{at}.{key}` is not a round{_did_you_mean(hint and f'{at}.{hint}')}: "
                    f"the rounds are {', '.join(rounds)}",
                )
        return out if len(ctx.problems) == before and len(out) == len(value) else _BAD


#: A round name: it becomes part of file names, so letters, digits, ``_`` and ``-`` only.
_ROUND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def is_round_key(name: str) -> bool:
    """Whether ``name`` may be a key of ``rounds`` (letters, digits, ``_`` and ``-``)."""
    return bool(_ROUND_NAME.match(name))


@dataclass(frozen=True)
class _Rounds(_Check):
    """``rounds``: every round in time order, or one long file holding them all.

    The first form is ``{name: FILE or {file, sheet, year, cpi}, ...}``, the second ``{file,
    column, order, sheet}``. Returns ``{"long": {...}}`` for the long form, else the rounds as
    ``{name: {file, ...}}``. A misspelt ``baseline`` or ``followup`` (the other one being
    there) is an error with a did-you-mean, not a round of its own.
    """

    expects: str = "a mapping {baseline: FILE, followup: FILE} or {file: FILE, column: COLUMN}"

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            return ctx.wrong(at, value, self.expects)
        names = [str(k) for k in value]
        if set(names) & set(LONG_ROUNDS_KEYS):
            long = _LONG_ROUNDS.check(value, at, ctx)
            if long is _BAD:
                return _BAD
            order = long.get("order") or []
            ctx.round_names, ctx.long_rounds = tuple(order), True
            twice = sorted({r for r in order if order.count(r) > 1})
            if twice:
                return ctx.problem(
                    f"{at}.order", f"`{at}.order` lists {', '.join(twice)} twice: list each round once"
                )
            return {"long": long}
        out: dict[str, Any] = {}
        missing = [r for r in ROUNDS if r not in names]
        typo_possible = len(missing) == 1
        before = len(ctx.problems)
        accepted: list[str] = []
        for name, spec in zip(names, value.values(), strict=True):
            where = f"{at}.{name}"
            hint = _suggest(name, missing) if typo_possible and name not in ROUNDS else None
            if hint is not None:
                accepted.append(hint)  # what was meant, for the keys by round
            hint = hint or _suggest(name, ["file", "column"])
            if hint is not None:
                ctx.problem(
                    where,
                    f"`{where}` is not a round (did you mean `{at}.{hint}`?): name the rounds "
                    "baseline and followup, list every round in order, or give {file, column} "
                    "for one file holding every round",
                )
                continue
            if not _ROUND_NAME.match(name):
                ctx.problem(
                    where,
                    f"`{where}`: a round name may hold only letters, digits, _ and - "
                    "(it becomes part of file names)",
                )
                continue
            accepted.append(name)
            checked = _ROUND.check(spec, where, ctx)
            if checked is not _BAD and checked is not None:
                out[name] = checked
        ctx.round_names = tuple(accepted)
        if len(ctx.problems) == before and len(out) < 2:
            return ctx.problem(
                at, f"`{at}` names {len(out)} round{'s' * (len(out) != 1)}: a study needs at least two"
            )
        return out if len(ctx.problems) == before else _BAD


@dataclass(frozen=True)
class _PovertyLine(_Check):
    """``income.poverty_line``: Rp, ``bps`` or ``none``; returns a float, "bps" or "none"."""

    expects: str = "Rp per person per month (a positive number), `bps` or `none`"

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        # An empty value and `false` have always meant "no line".
        if (
            value is None
            or value is False
            or (isinstance(value, str) and value.strip().lower() in ("", "none"))
        ):
            return "none"
        if isinstance(value, str) and value.strip().lower() == "bps":
            return "bps"
        number = _number(value)
        if number is None or number <= 0:
            return ctx.wrong(at, value, self.expects)
        return number


@dataclass(frozen=True)
class _Window(_Check):
    """A fieldwork window ``[first day, last day]``, as two dates; left empty, the round has none."""

    expects: str = "[first day, last day] as YYYY-MM-DD"

    def check(self, value: Any, at: str, ctx: _Context) -> Any:
        if value is None or value == "" or value == []:
            return None
        days = [_date(v) for v in value] if isinstance(value, list) and len(value) == 2 else [None]
        first, last = (days + [None])[:2]
        if first is None or last is None:
            return ctx.wrong(at, value, self.expects)
        if last < first:
            return ctx.problem(at, f"`{at}` ends ({last}) before it starts ({first}): swap the two days")
        return first, last


def _outcome_label(at: str, index: int, item: Any) -> str:
    """An outcome entry is named by its ``name`` when it has one: ``outcomes[income]``."""
    name = item.get("name") if isinstance(item, Mapping) else item
    if isinstance(name, str) and name.strip():
        return f"{at}[{name}]"
    return f"{at}[{index + 1}]"


_ROUND = _Fields(
    fields={
        "file": _File(),
        "sheet": _Text(expects="a worksheet name", numbers=True),
        "year": _Whole(expects="a whole number such as 2023"),
        "cpi": _Number(expects="a positive number such as 106.3", low=0, low_open=True),
    },
    required=("file",),
    expects="a file name or a mapping {file, sheet, year, cpi}",
    shorthand="file",
)

_LONG_ROUNDS = _Fields(
    fields={
        "file": _File(),
        "column": _COLUMN,
        "order": _List(
            item=_Text(expects="a round as written in the column", numbers=True),
            expects="a list of the column's values in time order, such as [pre, mid, post]",
            nonempty=True,
        ),
        "sheet": _Text(expects="a worksheet name", numbers=True),
    },
    required=("file", "column"),
    expects="a mapping {file: FILE, column: COLUMN, order: [...]}",
)

_OUTCOME = _Fields(
    fields={
        "name": _Text(expects="an outcome name", numbers=True),
        "column": _RoundColumns(),
        "family": _Text(expects="a family name such as income"),
        "direction": _Direction(),
        "label": _Text(expects="a label", numbers=True),
        "index": _Flag(),
    },
    required=("name",),
    expects="an outcome name or a mapping {name, column, family, direction, label, index}",
    shorthand="name",
)

#: Every key of the study file, at every level, with the type of its value. ``load_study``
#: refuses any other key; docs/study-file.md documents each one.
SCHEMA = _Fields(
    fields={
        "name": _Text(numbers=True),
        "description": _Text(numbers=True),
        "rounds": _Rounds(),
        "id": _COLUMN,
        "treatment": _COLUMN,
        "village": _COLUMN,
        "cluster": _COLUMN,
        "outcomes": _List(
            item=_OUTCOME, expects="a non-empty list of outcomes", nonempty=True, label=_outcome_label
        ),
        "codebook": _File(),
        "villages": _Fields(
            fields={"file": _File(), "id": _COLUMN, "name": _COLUMN, "strata": _COLUMN},
            required=("file",),
            expects="a file name or a mapping {file, id, name, strata}",
            shorthand="file",
        ),
        "weights": _COLUMN,
        "covariates": _List(expects="a list of column names such as [hh_size, land]"),
        "pii_columns": _List(expects="a list of column names such as [phone, address]"),
        "keep_text_columns": _List(expects="a list of column names such as [comments]"),
        "language": _choice(Language),
        "languages": _List(item=_choice(Language), expects="a list such as [id, en]", nonempty=True),
        "number_style": _choice(NumberStyle),
        "vcov": _choice(VcovChoice),
        "wild_bootstrap_reps": _REPS,
        "seed": _Whole(expects="a whole number of 0 or more", minimum=0),
        "min_cell": _Whole(
            expects="a whole number of 5 or more (it may not be below 5: smaller groups could "
            "point to single households)",
            minimum=5,
        ),
        "processed": _File(must_exist=False, folder=True),
        "pseudonym_key": _Text(numbers=True),
        "pseudonym_key_file": _File(must_exist=False),
        "decisions": _File(),
        "corrections": _File(),
        "vcov_extra": _List(item=_choice(VcovExtra), expects="a list such as [CRV3, RI]"),
        "did_fixed_effects": _choice(DidForm),
        "design": _choice(StudyDesign),
        "wild_bootstrap_below": _REPS,
        "romano_wolf": _Flag(),
        "family_indices": _Flag(),
        "main_outcomes": _List(item=_Text(expects="an outcome name"), expects="a list of outcome names"),
        "lee_bounds_reps": _REPS,
        "design_test_reps": _REPS,
        "design_test_ri_below": _REPS,
        "power": _Fields(
            fields={"alpha": _SHARE, "power": _SHARE},
            expects="a mapping such as {alpha: 0.05, power: 0.8}",
        ),
        "women_subsample": _Flag(),
        "pdf": _Flag(),
        "income": _Fields(
            fields={
                "poverty_line": _PovertyLine(),
                "poverty_area": _choice(PovertyArea),
                "winsor_quantile": _SHARE,
            },
            expects="a mapping such as {poverty_line: bps}",
        ),
        "alkire_foster": _Fields(
            fields={
                "k": _Number(
                    expects="a number from 0 up to (not including) 1", low=0, high=1, high_open=True
                ),
                "families": _List(item=_Text(expects="a family name"), expects="a list of family names"),
                "cutoffs": _MapOf(
                    value=_Number(expects="a number"),
                    expects="a mapping of outcome names to numbers such as {income_pc: 500000}",
                ),
            },
            expects="a mapping such as {k: 0.33, families: [income, life]}",
        ),
        # Cleaning settings, read by the clean and construct stages: checked here, so a typo fails
        # before anything runs.
        "quality": _Fields(
            fields={
                "min_minutes": _Number(
                    expects="a positive number of minutes, or null to turn the rule off", low=0, low_open=True
                ),
                "outlier_iqr": _Number(
                    expects="a positive number, or null to turn the rule off", low=0, low_open=True
                ),
                "escalate": _List(
                    item=_Choice(options=FLAG_KINDS),
                    expects="a list of flag kinds such as [end_before_start]",
                ),
            },
            expects="a mapping such as {min_minutes: 10, escalate: [end_before_start]}",
        ),
        "fieldwork": _ByRound(
            value=_Window(), expects="a mapping such as {baseline: [2023-02-01, 2023-03-31]}"
        ),
        "rollout": _Fields(
            fields={
                "column": _COLUMN,
                "controls": _choice(RolloutControls),
                "never": _Text(expects="the value that means never treated, such as 0", numbers=True),
            },
            required=("column",),
            expects="a column name or a mapping {column, controls, never}",
            shorthand="column",
        ),
        "gps": _choice(GpsRule),
        "new_households": _choice(NewHouseholds),
        "labels": _MapOf(
            value=_Text(expects="a label", numbers=True), expects="a mapping of names to labels"
        ),
    },
    # Without `id` the study is a repeated cross-section; `rollout` can give the timing instead
    # of `treatment`.
    required=("rounds", "treatment", "outcomes"),
    alternatives={"treatment": "rollout"},
    first=("rounds",),
    expects="a mapping of keys",
)

#: Suffixes of round files that have no worksheets, and what to call them.
_NO_SHEETS = {
    ".csv": "a CSV",
    ".tsv": "a CSV",
    ".txt": "a CSV",
    ".dta": "a Stata",
    ".sav": "an SPSS",
    ".parquet": "a Parquet",
}


# --------------------------------------------------------------------------------------------
# Reading the file


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, noting keys written twice in one mapping.

    Plain YAML keeps the last of two equal keys; a stricter ``min_cell: 50`` written above a
    forgotten ``min_cell: 10`` would be dropped without a word.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.repeated: list[tuple[str, int, int]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable) and key in lines:
                self.repeated.append((str(key), lines[key], line))
            else:
                lines[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        # YAML reads 2023-13-01 as a date and raises ValueError on the month; keep it as text,
        # so the key that holds it is reported like any other wrong value.
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _read_yaml(study_path: Path) -> tuple[Any, list[tuple[str, int, int]]]:
    try:
        text = study_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise StudyError(
            f"{study_path.name}: not UTF-8 text (byte {exc.start + 1}); save the file as UTF-8"
        ) from None
    loader = _Loader(text)
    try:
        return loader.get_single_data(), loader.repeated
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        # PyYAML's message spans several lines; the command line shows one.
        detail = " ".join(str(exc).split())
        raise StudyError(f"{study_path.name}{where}: not valid YAML ({detail})") from None
    finally:
        loader.dispose()


# --------------------------------------------------------------------------------------------
# Checks across keys


def _check_sheets(rounds: Mapping[str, Any], ctx: _Context) -> None:
    """``sheet`` only for workbooks; ``rounds`` maps the dotted key of each file to its spec."""
    for key, spec in rounds.items():
        file, sheet = spec.get("file"), spec.get("sheet")
        if sheet is None or not isinstance(file, Path) or file.suffix.lower() == ".xlsx":
            continue
        kind = _NO_SHEETS.get(file.suffix.lower(), f"a {file.suffix or 'suffix-less'}")
        at = f"{key}.sheet"
        ctx.problem(at, f"`{at}` is set but {file.name} is {kind} file, which has no sheets: remove `sheet`")


def _default_main_outcomes(outcomes: tuple[OutcomeSpec, ...]) -> list[str]:
    """The first outcome listed in each family (outcomes without a family count alone)."""
    main: list[str] = []
    seen: set[str | None] = set()
    for o in outcomes:
        key = o.family if o.family is not None else f"\0{o.name}"
        if key not in seen:
            seen.add(key)
            main.append(o.name)
    return main


def _check_names(data: Mapping[str, Any], outcomes: tuple[OutcomeSpec, ...], ctx: _Context) -> None:
    """Keys that name outcomes or families must name ones the study has."""
    names = [o.name for o in outcomes]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        ctx.problem(
            "outcomes", f"outcome names repeat: {', '.join(repeated)} (give each outcome its own name)"
        )
    for name in data.get("main_outcomes") or []:
        if name not in names:
            ctx.problem(
                "main_outcomes",
                f"`main_outcomes` names {name}, which is not an outcome"
                f"{_did_you_mean(_suggest(name, names))}",
            )
    af = data.get("alkire_foster") or {}
    for name in af.get("cutoffs") or {}:
        if name not in names:
            ctx.problem(
                f"alkire_foster.cutoffs.{name}",
                f"`alkire_foster.cutoffs` names {name}, which is not an outcome"
                f"{_did_you_mean(_suggest(name, names))}",
            )
    families = sorted({o.family for o in outcomes if o.family is not None})
    for family in af.get("families") or []:
        if family not in families:
            ctx.problem(
                "alkire_foster.families",
                f"`alkire_foster.families` names {family}, which no outcome has"
                f"{_did_you_mean(_suggest(family, families))}: the outcome families are "
                f"{', '.join(families) or 'none'}",
            )


def _income(
    raw: Mapping[str, Any], year: int | None, ctx: _Context, *, year_key: str = "rounds.baseline.year"
) -> IncomeOptions | None:
    """Resolve the ``income`` key, with the BPS line of the first round's year as the default.

    ``year_key`` is where that year is written (``rounds.baseline.year``).
    """
    area: PovertyArea = raw.get("poverty_area") or "national"
    quantile = raw.get("winsor_quantile") or 0.99
    line = raw.get("poverty_line", "bps")
    if line == "none":
        return IncomeOptions(None, "", area, quantile)
    if isinstance(line, float):
        return IncomeOptions(line, "study file", area, quantile)
    # The default: BPS's March line of the baseline year, in that year's prices, which are the
    # baseline prices real income is expressed in. It is a press-reported value and BPS defines
    # poverty on consumption, so anything built on it is labelled an income-based proxy.
    explicit = "poverty_line" in raw
    if year is None:
        if explicit and year_key not in ctx.bad:
            ctx.problem(
                "income.poverty_line",
                f"`income.poverty_line: bps` needs `{year_key}`: give the year or the line in Rp",
            )
        return IncomeOptions(None, "", area, quantile)
    from analysis.inputs.reference import poverty_lines

    table = poverty_lines().set_index("round")
    label = f"Mar {year}"
    value = table[area].get(label) if label in table.index else None
    if value is None or pd.isna(value):
        if explicit:
            ctx.problem(
                "income.poverty_line",
                f"no BPS {area} poverty line for {label} in analysis/data/bps_poverty_lines.csv: "
                "give `income.poverty_line` in Rp",
            )
        return IncomeOptions(None, "", area, quantile)
    source = (
        f"BPS garis kemiskinan, {area}, {label} (press report of the BPS release: "
        f"{table.at[label, 'source']!s}); income-based proxy"
    )
    return IncomeOptions(float(value), source, area, quantile)


def _check_processed(processed: Path, raw_files: list[Path], ctx: _Context) -> None:
    """Processed data never go where the raw exports are.

    Cleaning writes many files into the processed folder; next to the raw exports they are easily
    mistaken for, or shipped with, the personal data, and a name clash could overwrite an export.
    """
    todo = "remove `processed` to use the default folder, or name a folder that holds no raw data"
    for file in raw_files:
        if file.parent == processed:
            ctx.problem("processed", f"`processed` is the folder holding the raw file {file.name}: {todo}")
            return
    raw_root = config.RAW_DIR.resolve()
    if processed.is_relative_to(raw_root):
        ctx.problem(
            "processed",
            f"`processed` is {processed}, inside the project's raw-data folder {raw_root}: {todo}",
        )
        return
    for file in raw_files:
        if file.is_relative_to(processed):
            ctx.problem(
                "processed",
                f"`processed` is {processed}, which holds the raw file {file.relative_to(processed)}: {todo}",
            )
            return


def _summary(study_path: Path, problems: list[str]) -> str:
    if len(problems) == 1:
        return f"{study_path.name}: {problems[0]}"
    return f"{study_path.name}: {len(problems)} problems: " + "; ".join(problems)


def load_study(path: str | Path, *, codebook_may_be_missing: bool = False) -> Study:
    """Read and validate a study file.

    Parameters
    ----------
    path
        The YAML study file.
    codebook_may_be_missing
        Accept a ``codebook`` file that does not exist yet (``berdaya codebook`` writes it);
        ``Study.codebook`` is then the path it is to have.

    Returns
    -------
    Study
        The validated study, with every path made absolute.

    Raises
    ------
    StudyError
        When the file is missing or is not valid YAML, and otherwise with every problem found
        at once: a key that is not in :data:`SCHEMA` (with a did-you-mean), a key written twice,
        a missing required key, a value of the wrong type, a path that does not exist, a name
        that is not an outcome, or a ``processed`` folder among the raw data.
    """
    study_path = Path(path).resolve()
    if not study_path.is_file():
        raise StudyError(f"study file {path} does not exist")
    raw, repeated = _read_yaml(study_path)
    if not isinstance(raw, Mapping):
        raise StudyError(f"{study_path.name}: expected a mapping of keys at the top level")
    ctx = _Context(
        base=study_path.parent,
        may_be_missing=frozenset({"codebook"} if codebook_may_be_missing else ()),
    )
    for key, first, second in repeated:
        ctx.problem(key, f"`{key}` is written twice (lines {first} and {second}): keep one")
    data: dict[str, Any] = SCHEMA.check(raw, "", ctx)

    rounds_given: Mapping[str, Any] = data.get("rounds") or {}
    long_raw: Mapping[str, Any] | None = rounds_given.get("long")
    rounds_raw: Mapping[str, Any] = {} if long_raw is not None else rounds_given
    _check_sheets({f"rounds.{name}": spec for name, spec in rounds_raw.items()}, ctx)
    if long_raw is not None:
        _check_sheets({"rounds": long_raw}, ctx)
    known = ctx.round_names if ctx.round_names is not None else ROUNDS
    if set(known) == set(ROUNDS):
        known = ROUNDS  # baseline first, however the file lists them
    outcomes: tuple[OutcomeSpec, ...] = tuple(
        OutcomeSpec(
            name=o["name"],
            # One column names the outcome in every round; a mapping gives the rounds that have it.
            columns=(
                o["column"]
                if isinstance(o.get("column"), dict)
                else {r: o.get("column") or o["name"] for r in known}
            ),
            family=o.get("family"),
            direction=o.get("direction") or 1,
            label=o.get("label"),
            index=o.get("index", True) is not False,
            column=None if isinstance(o.get("column"), dict) else o.get("column") or o["name"],
        )
        for o in data.get("outcomes") or []
        if o.get("name") is not None
    )
    if outcomes:
        _check_names(data, outcomes, ctx)
    if data.get("rollout") is not None and data.get("treatment") is not None:
        ctx.problem(
            "rollout",
            "`treatment` and `rollout` both give the programme's timing: keep `treatment` (1 in "
            "the rounds the programme was active) or `rollout` (the first treated round)",
        )
    languages = _languages(data, ctx)
    first_round = next(iter(rounds_raw), "baseline")
    baseline_year = (rounds_raw.get(first_round) or {}).get("year")
    income = _income(data.get("income") or {}, baseline_year, ctx, year_key=f"rounds.{first_round}.year")
    codebook = data.get("codebook")
    villages_raw = data.get("villages")
    villages = (
        None
        if not villages_raw or villages_raw.get("file") is None
        else VillageList(
            file=villages_raw["file"],
            id=villages_raw.get("id") or data.get("village") or "village",
            name=villages_raw.get("name"),
            strata=villages_raw.get("strata"),
        )
    )
    processed = data.get("processed")
    if processed is not None:
        raw_files = [spec["file"] for spec in rounds_raw.values() if spec.get("file") is not None]
        raw_files += [long_raw["file"]] if long_raw is not None else []
        raw_files += [f for f in (codebook, villages and villages.file) if f is not None]
        _check_processed(processed, raw_files, ctx)
    if ctx.problems:
        raise StudyError(_summary(study_path, ctx.problems))

    rounds = {
        name: RoundSpec(
            name=name,
            file=spec["file"],
            sheet=spec.get("sheet"),
            year=spec.get("year"),
            cpi=spec.get("cpi"),
        )
        for name, spec in rounds_raw.items()
    }
    assert income is not None
    round_design = _round_design(data, rounds, long_raw)
    if long_raw is not None:
        rounds = {r: RoundSpec(name=r, file=long_raw["file"], sheet=long_raw.get("sheet")) for r in known}
    af = data.get("alkire_foster") or {}
    power = data.get("power") or {}
    quality_raw = data.get("quality") or {}
    defaults = QualityOptions()
    # A key written empty (`min_minutes: null`) turns its rule off; only a key left out keeps the
    # default.
    quality = QualityOptions(
        min_minutes=quality_raw.get("min_minutes", defaults.min_minutes),
        outlier_iqr=quality_raw.get("outlier_iqr", defaults.outlier_iqr),
        escalate=tuple(quality_raw.get("escalate") or ()),
    )
    fieldwork = {r: w for r, w in (data.get("fieldwork") or {}).items() if w is not None}

    def get(key: str, default: Any) -> Any:
        value = data.get(key)
        return default if value is None else value

    return Study(
        path=study_path,
        name=get("name", study_path.stem),
        rounds=rounds,
        id=data.get("id") or "",
        treatment=data.get("treatment") or "",
        outcomes=outcomes,
        village=data.get("village"),
        cluster=data.get("cluster"),
        codebook=codebook,
        villages=villages,
        weights=data.get("weights"),
        covariates=tuple(get("covariates", ())),
        pii_columns=tuple(get("pii_columns", ())),
        keep_text_columns=tuple(get("keep_text_columns", ())),
        language=languages[0],
        languages=languages,
        number_style=get("number_style", "id" if codebook is not None else "plain"),
        number_style_set=data.get("number_style") is not None,
        vcov=get("vcov", "auto"),
        wild_bootstrap_reps=get("wild_bootstrap_reps", 9999),
        seed=get("seed", DEFAULT_SEED),
        min_cell=get("min_cell", 10),
        processed_dir=processed,
        pseudonym_key=data.get("pseudonym_key"),
        pseudonym_key_file=data.get("pseudonym_key_file"),
        decisions=data.get("decisions"),
        corrections=data.get("corrections"),
        vcov_extra=tuple(get("vcov_extra", ())),
        did_fixed_effects=get("did_fixed_effects", "household"),
        design=get("design", "randomized"),
        wild_bootstrap_below=get("wild_bootstrap_below", 50),
        romano_wolf=get("romano_wolf", False),
        family_indices=get("family_indices", True),
        main_outcomes=tuple(data.get("main_outcomes") or _default_main_outcomes(outcomes)),
        lee_bounds_reps=get("lee_bounds_reps", 999),
        design_test_reps=get("design_test_reps", 999),
        design_test_ri_below=get("design_test_ri_below", 200),
        power_alpha=power.get("alpha") or 0.05,
        power_target=power.get("power") or 0.8,
        women_subsample=get("women_subsample", True),
        pdf=get("pdf", True),
        income=income,
        alkire_foster=AlkireFosterOptions(
            k=1 / 3 if af.get("k") is None else af["k"],
            families=tuple(af.get("families") or GOAL_FAMILIES),
            cutoffs=af.get("cutoffs") or {},
        ),
        quality=quality,
        fieldwork=fieldwork,
        gps=get("gps", "drop"),
        new_households=get("new_households", "keep"),
        round_design=round_design,
    )


def _round_design(
    data: Mapping[str, Any], rounds: Mapping[str, RoundSpec], long_raw: Mapping[str, Any] | None
) -> RoundDesign:
    """The design the keys describe (:class:`RoundDesign`)."""
    rollout = data.get("rollout") or {}
    if long_raw is not None:
        order = tuple(long_raw.get("order") or ())
        long_file = RoundSpec(name=long_raw["column"], file=long_raw["file"], sheet=long_raw.get("sheet"))
    else:
        order, long_file = tuple(rounds), None
    two_rounds = long_file is None and set(order) == set(ROUNDS)
    kind: RoundsDesign
    if data.get("id") is None:
        kind = "repeated_cross_section"
    elif two_rounds and not rollout:
        kind = "two_round_panel"
    else:
        kind = "panel"
    if two_rounds:
        order = ROUNDS  # baseline first, however the file lists them
    return RoundDesign(
        kind=kind,
        round_order=order,
        reference_round=order[0] if order else None,
        long_file=long_file,
        round_column=None if long_raw is None else long_raw["column"],
        rollout_column=rollout.get("column"),
        controls=rollout.get("controls") or "never_treated",
        never_treated=None if rollout.get("never") is None else _round_label(rollout["never"]),
    )


def _languages(data: Mapping[str, Any], ctx: _Context) -> tuple[Language, ...]:
    """The report languages: ``languages`` (first one first), else ``language``, else Indonesian.

    Both keys may be written when ``language`` is the first of ``languages``; a language listed
    twice, or a ``language`` that is not the first of ``languages``, is a problem.
    """
    one = data.get("language")
    listed = data.get("languages")
    if not isinstance(listed, list) or not listed:
        return (one if isinstance(one, str) else "id",)  # type: ignore[return-value]
    twice = sorted({code for code in listed if listed.count(code) > 1})
    if twice:
        ctx.problem("languages", f"`languages` lists {', '.join(twice)} twice: list each language once")
    if isinstance(one, str) and one != listed[0]:
        ctx.problem(
            "languages",
            f"`language` is {one} but `languages` starts with {listed[0]}: the first of `languages` "
            "is the report language, so drop `language` or list it first",
        )
    return tuple(dict.fromkeys(listed))


def check_run_supported(study: Study) -> None:
    """Stop ``berdaya run`` before any work on a design it does not analyse (issue 13).

    Two rounds, more rounds, one long file, a rollout and a repeated cross-section are run.
    A repeated cross-section with ``rollout`` is not: the cohort estimators follow units from
    round to round, and a repeated cross-section has none to follow. It stops here with one
    line saying what was read, rather than failing later with a traceback.

    Raises
    ------
    StudyError
        For a repeated cross-section with a rollout.
    """
    design = study.round_design
    if design.kind != "repeated_cross_section" or design.rollout_column is None:
        return
    raise StudyError(
        f"{study.path.name}: read as {design.describe()}; `berdaya run` does not analyse a rollout "
        "in a repeated cross-section yet (issue 13): the cohort estimators need `id` to follow "
        "households; without `id`, give the programme group in `treatment` for the pooled DiD"
    )


def _round_label(value: Any) -> str:
    """A round as text: a whole number without ``.0`` (2019, not 2019.0), text stripped."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def order_long_rounds(
    values: pd.Series, *, column: str, order: Sequence[str] = (), file: str | Path | None = None
) -> tuple[pd.Series, tuple[str, ...]]:
    """The round of every row of one long file, and the rounds in time order.

    The column's distinct values are the rounds. When every value is a number they are ordered
    numerically (2019 < 2020, 2 < 10); otherwise ``order`` (``rounds.order``) must list them,
    each exactly once. ``order``, when given, always decides, and must list exactly the values
    found. Pure: the clean stage calls it on the column it read.

    Parameters
    ----------
    values
        The round column as read (text or numbers), in file order (row ``i`` is spreadsheet
        row ``i + 2``).
    column
        Its name, for messages.
    order
        ``rounds.order``: the rounds as text, first to last.
    file
        The file, for messages.

    Returns
    -------
    tuple of (pandas.Series, tuple of str)
        Each row's round name (text; whole numbers without ``.0``), aligned with ``values``, and
        the round names in time order.

    Raises
    ------
    InputError
        When a row has no round, the column holds fewer than two rounds, text rounds come
        without ``order``, or ``order`` misses a value, adds one or repeats one.
    """
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    if empty.any():
        rows = [int(i) + 2 for i in empty.to_numpy().nonzero()[0]]
        why = "the round is empty: every row must say which round it belongs to"
        raise InputError(why, file=file, rows=rows, column=column)
    numbers = pd.to_numeric(text, errors="coerce")
    numeric = bool(numbers.notna().all())
    names = numbers.map(_round_label) if numeric else text.astype(object)
    found = list(dict.fromkeys(names))
    if len(found) < 2:
        raise InputError(
            f"holds one round ({found[0]}): a study needs at least two", file=file, column=column
        )
    if order:
        wanted = [_round_label(v) for v in order]
        problems = [
            f"`rounds.order` lists {v} twice" for v in sorted({v for v in wanted if wanted.count(v) > 1})
        ]
        problems += [
            f"the column holds {v}, which `rounds.order` does not list" for v in found if v not in wanted
        ]
        unlisted = [f for f in found if f not in wanted]
        problems += [
            f"`rounds.order` lists {v}, which the column does not hold{_did_you_mean(_suggest(v, unlisted))}"
            for v in wanted
            if v not in found
        ]
        if problems:
            why = "; ".join(problems) + f" (its rounds are {', '.join(found)})"
            raise InputError(why, file=file, column=column)
        return pd.Series(names, index=values.index, name=column), tuple(dict.fromkeys(wanted))
    if not numeric:
        shown = ", ".join(sorted(found)[:6]) + (", ..." if len(found) > 6 else "")
        raise InputError(
            f"the rounds ({shown}) are not numbers, so their order is not known: list them "
            "first to last in `rounds.order`",
            file=file,
            column=column,
        )
    ordered = tuple(_round_label(v) for v in sorted(set(numbers)))
    return pd.Series(names, index=values.index, name=column), ordered


def rollout_cohorts(
    values: pd.Series,
    *,
    column: str,
    round_order: Sequence[str],
    file: str | Path | None = None,
    never: str | None = None,
) -> pd.Series:
    """Each row's cohort from the ``rollout`` column: the position of its first treated round.

    Parameters
    ----------
    values
        The rollout column as read (from the data or the village list): a round name, or for
        rounds named by numbers the number (``2020`` or ``2020.0``); empty for never treated.
    column
        Its name, for messages.
    round_order
        The study's rounds in time order (:attr:`RoundDesign.round_order`).
    file
        The file, for messages.
    never
        A value that means never treated, as an empty cell does (``rollout.never``).

    Returns
    -------
    pandas.Series
        Aligned with ``values``: 1 for the first round, 2 for the second ...; NaN for never
        treated. This is the ``cohort`` of ``analysis.estimate.staggered`` with the rounds
        numbered 1, 2, ...

    Raises
    ------
    InputError
        When a value is not one of the rounds (with a did-you-mean); the rows are listed.
    """
    position = {r: float(i) for i, r in enumerate(round_order, start=1)}
    labels = values.map(lambda v: None if pd.isna(v) or not str(v).strip() else _round_label(v))
    if never is not None:
        labels = labels.mask(labels == never, None)
    unknown = labels.notna() & ~labels.isin(list(position))
    if unknown.any():
        first = str(labels[unknown].iloc[0])
        rows = [int(i) + 2 for i in unknown.to_numpy().nonzero()[0]]
        # Exports made for R's did or Stata's csdid mark never-treated units with 0.
        hint = (
            f" (if {first} means never treated, write `rollout: {{column: {column}, never: {first}}}`)"
            if never is None and first in ("0", "-1", "99", "999", "9999", "Inf", "inf")
            else ""
        )
        why = (
            f"{first} is not a round{_did_you_mean(_suggest(first, list(round_order)))}: the first "
            f"treated round must be one of {', '.join(round_order)}, or empty for never treated{hint}"
        )
        raise InputError(why, file=file, rows=rows, column=column)
    return labels.map(position).astype(float).rename(column)


def with_round_order(study: Study, order: Sequence[str]) -> Study:
    """The study of one long file with its rounds known (from :func:`order_long_rounds`).

    Each round becomes a :class:`RoundSpec` on the long file, each outcome's one column names it
    in every round, and the first round is the reference round. A study whose rounds are in
    their own files is returned unchanged when ``order`` is its order.

    Raises
    ------
    ValueError
        When the study's rounds are in their own files and ``order`` is another order.
    """
    design = study.round_design
    order = tuple(order)
    if design.long_file is None:
        if order != design.round_order:
            raise ValueError(f"the rounds of {study.path.name} are {design.round_order}, not {order}")
        return study
    long_file = design.long_file
    return dataclasses.replace(
        study,
        rounds={r: RoundSpec(name=r, file=long_file.file, sheet=long_file.sheet) for r in order},
        outcomes=tuple(
            o if o.column is None else dataclasses.replace(o, columns={r: o.column for r in order})
            for o in study.outcomes
        ),
        round_design=dataclasses.replace(design, round_order=order, reference_round=order[0]),
    )


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
