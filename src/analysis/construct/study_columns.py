"""Every column the study file names must exist where berdaya will look for it.

A study file names columns under ``id``, ``treatment``, ``village``, ``cluster``, ``weights``,
``covariates``, each outcome's ``column`` and the village list's ``id``/``name``/``strata``.
A name the data lack used to be skipped without a word: a misspelled ``cluster`` clustered by
village, a misspelled ``weights`` gave unweighted estimates, a misspelled outcome an empty
row.  Each is now one error naming the key and the file, with a close match suggested::

    study.yml: `cluster` names column kecc, which followup.csv does not have; did you mean kec?
    Its columns are: hhid, village, kec, treat, income

How a name resolves depends on the study (see :func:`analysis.inputs.codebook.codebook_from_study`):

* without a codebook the names are raw columns of the round files;
* with a codebook they are the codebook's harmonized variables (``name``), select_multiple
  dummies (``<name>_<choice>``) or, for outcomes and covariates, indicators berdaya constructs
  (:data:`analysis.construct.indicators.CONSTRUCTED`), which exist only after the construct stage.

Where a name must be found:

==================  ===================================================================
``id``, ``cluster``  every round (a cluster may instead be a column of the village list)
``weights``          every round
``village``          every round (with a codebook, a ``-`` source says "not asked")
``treatment``        a round or the village list
``covariates``       the baseline (they enter as baseline values)
``pii_columns``      a round (with a codebook: its variables)
outcome ``column``   text: the follow-up (the baseline is optional: an outcome may be new at
                     follow-up); ``{baseline: x, followup: y}``: each round named
==================  ===================================================================

The clean stage calls :func:`check_round_columns` on each round's raw header before any work;
the construct stage calls :func:`check_constructed` on the constructed rounds, for what only
both rounds together (or the constructed indicators) can tell.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pandas as pd

from analysis.config import ROUNDS
from analysis.construct.indicators import CONSTRUCTED
from analysis.errors import InputError, StudyError
from analysis.inputs.codebook import Codebook, Variable
from analysis.inputs.study import OutcomeSpec, Study
from analysis.shared import layout
from analysis.shared.files import read_csv

#: Where a named column must be found (module docstring).
Need = Literal["every", "baseline", "followup", "any"]

#: Columns shown in a message before "and N more".
SHOWN = 15

_CODEBOOK_HINT = (
    "if the column has another name in this round, map the two names in a codebook "
    "(`berdaya codebook-template` writes a starting one)"
)


@dataclass(frozen=True)
class Named:
    """One column the study file names.

    Attributes
    ----------
    key
        How the message names the setting, e.g. the key in backquotes, or ``outcome income:`` and
        the key.
    column
        The name written in the study file.
    need
        Where it must be found (:data:`Need`); ``baseline``/``followup`` for one round only.
    role
        The codebook role that may also define this column (``village``, ``weight``, ...).
    hint
        What to do when a round lacks it, added to the message.
    """

    key: str
    column: str
    need: Need
    role: str | None = None
    hint: str = ""


def _outcome_needs(outcome: OutcomeSpec) -> list[Named]:
    """An outcome's columns: text is needed at follow-up; a per-round map in each round named."""
    key = f"outcome {outcome.name}: `column`"
    columns = dict(outcome.columns)
    if set(columns) == set(ROUNDS) and len(set(columns.values())) == 1:
        column = columns["followup"]
        hint = (
            "if the question was renamed between rounds, write "
            f"column: {{baseline: {column}, followup: <its name in the follow-up>}}"
        )
        return [Named(key, column, "followup", hint=hint)]
    return [
        Named(key, column, round_name, hint=f"fix column: {{{round_name}: ...}}")  # type: ignore[arg-type]
        for round_name, column in columns.items()
    ]


def named_columns(study: Study) -> list[Named]:
    """Every column the study file names, with where it must be found."""
    # A repeated cross-section has no `id`, and a rollout column may stand in for `treatment`.
    named = [Named("`id`", study.id, "every", role="household_id", hint=_CODEBOOK_HINT)] if study.id else []
    if study.village:
        named.append(Named("`village`", study.village, "every", role="village", hint=_CODEBOOK_HINT))
    if study.cluster and study.cluster != study.village:
        named.append(Named("`cluster`", study.cluster, "every", hint=_CODEBOOK_HINT))
    if study.weights:
        named.append(Named("`weights`", study.weights, "every", role="weight", hint=_CODEBOOK_HINT))
    if study.treatment:
        named.append(Named("`treatment`", study.treatment, "any", role="treatment"))
    rollout = study.round_design.rollout_column
    if rollout:
        named.append(Named("`rollout.column`", rollout, "any"))
    for covariate in study.covariates:
        named.append(Named("`covariates`", covariate, "baseline", hint="covariates enter as baseline values"))
    for outcome in study.outcomes:
        named += _outcome_needs(outcome)
    for column in study.pii_columns:
        # With a codebook a misspelled one would leave a personal column in the data.
        named.append(Named("`pii_columns`", column, "any"))
    return named


# ------------------------------------------------------------------------------ messages


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate the user most likely meant by ``name``, or None.

    In order: the same name in another case; the same last part of a group path (``hhid`` →
    ``hh/hhid``); the closest by :func:`difflib.get_close_matches` (similarity 0.7, so that
    ``village`` does not suggest ``age``); a name that starts with the other (``kec`` →
    ``kecamatan``).

    >>> suggest("kecc", ["hhid", "village", "kec", "treat"])
    'kec'
    >>> suggest("hhid", ["hh/hhid", "treat"])
    'hh/hhid'
    >>> suggest("kec", ["hhid", "kecamatan"])
    'kecamatan'
    >>> suggest("village", ["hhid", "age"]) is None
    True
    """
    folded: dict[str, str] = {}
    leaves: dict[str, str] = {}
    for candidate in candidates:
        if candidate == name:
            continue
        folded.setdefault(candidate.casefold(), candidate)
        leaves.setdefault(candidate.replace("-", "/").split("/")[-1].casefold(), candidate)
    target = name.casefold()
    for table in (folded, leaves):
        if target in table:
            return table[target]
    close = difflib.get_close_matches(target, list(folded), n=1, cutoff=0.7)
    if close:
        return folded[close[0]]
    if len(target) >= 3:
        for key, candidate in folded.items():
            if len(key) >= 3 and (key.startswith(target) or target.startswith(key)):
                return candidate
    return None


def listing(names: Sequence[str], *, limit: int = SHOWN) -> str:
    """``a, b, c`` or ``a, b, … and 12 more``.

    >>> listing(["a", "b"])
    'a, b'
    >>> listing([str(i) for i in range(20)], limit=3)
    '0, 1, 2 and 17 more'
    """
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def missing_message(
    study: Study,
    item: Named,
    where: str,
    candidates: Sequence[str],
    *,
    what: str = "columns",
    noun: str = "column ",
    hint: str = "",
) -> str:
    """``study.yml: `cluster` names column kecc, which f.csv does not have; did you mean kec? ...``.

    Parameters
    ----------
    study
        The study (its file name starts the message).
    item
        The setting and the name written there.
    where
        The clause after "which", e.g. ``followup.csv does not have``.
    candidates
        What exists instead (columns or codebook variables), listed and searched for a match.
    what
        ``columns`` or ``variables``: how the list is introduced.
    noun
        Put before the name (``column ``), or empty.
    hint
        What to do, appended after a semicolon.
    """
    text = f"{study.path.name}: {item.key} names {noun}{item.column}, which {where}"
    guess = suggest(item.column, candidates)
    shown = listing(list(candidates)) if candidates else "(none)"
    if guess is not None:
        text += f"; did you mean {guess}? Its {what} are: {shown}"
    else:
        text += f"; its {what} are: {shown}"
    return f"{text}; {hint}" if hint else text


def _constructed_hint(column: str) -> str:
    needs = CONSTRUCTED[column]["needs"].replace(",", ", ")
    extra = " and a poverty line (income.poverty_line)" if column == "poor" else ""
    return f"{column} is an indicator berdaya constructs; it needs codebook roles {needs}{extra}"


# ------------------------------------------------------------------- the clean stage (raw)


def village_list_columns(study: Study) -> list[str] | None:
    """The village list's header, read as :func:`~analysis.construct.panel.read_villages` does."""
    if study.villages is None:
        return None
    try:
        header = pd.read_csv(study.villages.file, dtype=str, nrows=0, encoding="utf-8-sig")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read the village list as a comma-separated UTF-8 file ({type(exc).__name__})",
            file=study.villages.file,
        ) from None
    return [str(c) for c in header.columns]


def check_village_list(study: Study, columns: Sequence[str]) -> None:
    """The village list's ``id``, ``name`` and ``strata`` must be columns of its file.

    Raises
    ------
    StudyError
        ``study.yml: `villages.strata` names column kecamatn, which villages.csv does not have;
        did you mean kecamatan? Its columns are: ...``
    """
    spec = study.villages
    if spec is None:
        return
    for key, column in (
        ("villages.id", spec.id),
        ("villages.name", spec.name),
        ("villages.strata", spec.strata),
    ):
        if column and str(column) not in columns:
            item = Named(f"`{key}`", str(column), "any")
            raise StudyError(missing_message(study, item, f"{spec.file.name} does not have", columns))


def _in_codebook(codebook: Codebook, name: str) -> Variable | None:
    """The codebook variable ``name`` stands for (itself, or the question of a dummy)."""
    if name in codebook:
        return codebook.get(name)
    for variable in codebook.variables:
        if variable.type == "select_multiple" and name in {
            variable.dummy_name(c) for c in variable.categories
        }:
            return variable
    return None


def _book(codebook: Codebook) -> str:
    return codebook.path.name if codebook.path is not None else "the codebook"


def check_round_columns(
    study: Study,
    columns: Sequence[str],
    *,
    round_name: str,
    codebook: Codebook | None = None,
    village_columns: Sequence[str] | None = None,
) -> None:
    """Refuse a study that names a column this round (or the codebook) does not have.

    Called by the clean stage on the raw header, before any cleaning, so that a typo fails in
    seconds.  What only both rounds together can tell (a treatment column in neither round) is
    left to :func:`check_constructed`.

    Parameters
    ----------
    study
        The study.
    columns
        The raw columns of the round.
    round_name
        ``baseline`` or ``followup``.
    codebook
        The study's own codebook, or None when the study has none (names are raw columns).
    village_columns
        The village list's columns (:func:`village_list_columns`), when the study has one.

    Raises
    ------
    StudyError
        Naming the key, the file, the columns there are and the closest match.
    """
    file = study.rounds[round_name].file.name
    columns = [str(c) for c in columns]
    village_columns = [str(c) for c in village_columns or []]
    check_village_list(study, village_columns)
    for item in named_columns(study):
        if codebook is None:
            _check_raw(
                study, item, columns, round_name=round_name, file=file, village_columns=village_columns
            )
        else:
            _check_codebook(study, item, codebook, round_name=round_name, village_columns=village_columns)


def _needed_in(item: Named, round_name: str) -> bool:
    return item.need == "every" or item.need == round_name


def _from_village_list(item: Named, village_columns: Sequence[str]) -> bool:
    """The arm and the cluster may be columns of the village list instead of the rounds."""
    return item.key in ("`treatment`", "`cluster`", "`rollout.column`") and item.column in village_columns


def _check_raw(
    study: Study,
    item: Named,
    columns: list[str],
    *,
    round_name: str,
    file: str,
    village_columns: list[str],
) -> None:
    if item.column in columns or _from_village_list(item, village_columns):
        return
    if not _needed_in(item, round_name):
        return  # may be in the other round: the construct stage checks both together
    hint = item.hint
    if item.column in CONSTRUCTED:
        hint = _constructed_hint(item.column)
    elif hint == _CODEBOOK_HINT and suggest(item.column, columns) is not None:
        hint = ""  # a typo, most likely: the suggestion says it all
    raise StudyError(missing_message(study, item, f"{file} does not have", columns, hint=hint))


def as_variable(item: Named, codebook: Codebook | None) -> Named:
    """A key naming a raw source column of its role's variable, as that variable's name.

    ``id: hh/hhid`` with a codebook whose ``household_id`` variable ``hhid`` reads ``hh/hhid``
    (:func:`analysis.inputs.codebook.with_study_roles`) stands for ``hhid``.
    """
    if codebook is None or item.role is None:
        return item
    owners = codebook.by_role(item.role)
    if owners and item.column != owners[0].name and item.column in owners[0].sources.values():
        return replace(item, column=owners[0].name)
    return item


def _check_codebook(
    study: Study,
    item: Named,
    codebook: Codebook,
    *,
    round_name: str,
    village_columns: list[str],
) -> None:
    book = _book(codebook)
    item = as_variable(item, codebook)
    owners = codebook.by_role(item.role) if item.role is not None else []
    if owners and owners[0].name != item.column:
        # The codebook's role decides which column is used: the study's setting would be ignored.
        setting = item.key.strip("`")
        raise StudyError(
            f"{study.path.name}: {item.key} is {item.column}, but {book} gives the role {item.role} "
            f"to {owners[0].name}; write {setting}: {owners[0].name} or change the role in {book}"
        )
    variable = _in_codebook(codebook, item.column)
    if variable is None:
        if _from_village_list(item, village_columns):
            return
        if item.column in CONSTRUCTED and (item.key.startswith("outcome") or item.key == "`covariates`"):
            return  # built by the construct stage, which checks that it was
        where = f"is not a variable of {book}"
        if study.villages is not None and item.key in ("`treatment`", "`cluster`"):
            where += f" nor a column of {study.villages.file.name}"
        names = [v.name for v in codebook.variables]
        raise StudyError(missing_message(study, item, where, names, what="variables", noun=""))
    # A variable without a source in a round it is needed in is left to the construct stage,
    # after the schema diff, whose message can list the round's unmapped columns.


def _no_source(study: Study, item: Named, codebook: Codebook, round_name: str) -> StudyError:
    book = _book(codebook)
    file = study.rounds[round_name].file.name
    also = (
        " or remove the outcome, whose impact needs a follow-up measure"
        if item.key.startswith("outcome")
        else ""
    )
    return StudyError(
        f"{study.path.name}: {item.key} names {item.column}, which {book} gives no source in "
        f"{round_name} ({file}); fill source_{round_name} in {book} with its column in {file}{also}"
    )


# --------------------------------------------------------------- the construct stage (built)


def check_constructed(
    study: Study,
    frames: Mapping[str, pd.DataFrame],
    *,
    codebook: Codebook | None = None,
    raw_columns: Mapping[str, Sequence[str]] | None = None,
    village_columns: Sequence[str] | None = None,
) -> None:
    """Check the columns the study names against the constructed rounds.

    The clean stage has checked each round on its own; this finds what needs both rounds or
    the constructed indicators: a treatment column in neither round nor the village list, and
    an outcome or covariate that is missing where it is needed (an indicator that could not be
    built says what it needs).

    Parameters
    ----------
    study
        The study.
    frames
        Each round's clean table with its constructed indicators.
    codebook
        The study's own codebook, or None.
    raw_columns
        Each round's raw columns (from ``<round>_columns.csv``), listed in the message; the
        frame's columns when absent.
    village_columns
        The village list's columns, when the study has one.

    Raises
    ------
    StudyError
        Naming the key, the file(s), the columns there are and the closest match.
    """
    village_columns = [str(c) for c in village_columns or []]
    # The rounds as given (baseline and followup, or every round of a longer study in order).
    rounds, last = tuple(frames), tuple(frames)[-1]
    for item in (as_variable(named, codebook) for named in named_columns(study)):
        present = [r for r in rounds if item.column in frames[r].columns]
        if _from_village_list(item, village_columns):
            continue
        if item.key == "`pii_columns`":
            # Dropped by de-identification, so looked up among the raw columns; with a codebook
            # the clean stage has checked them against its variables.
            if codebook is None and raw_columns is not None:
                if not any(item.column in raw_columns.get(r, ()) for r in rounds):
                    files = " nor ".join(study.rounds[r].file.name for r in rounds)
                    shown = [str(c) for c in raw_columns.get(last, ())]
                    raise StudyError(missing_message(study, item, f"neither {files} has", shown))
            continue
        if item.need == "every":
            for round_name in rounds:
                if round_name not in present:
                    _raise_absent(study, item, round_name, frames, raw_columns, codebook)
            continue
        if item.need == "any":
            if present:
                continue
            places = [study.rounds[r].file.name for r in rounds]
            if study.villages is not None:
                places.append(study.villages.file.name)
            what, shown = _shown(frames, raw_columns, last, codebook)
            where = f"neither {' nor '.join(places)} has"
            raise StudyError(missing_message(study, item, where, shown, what=what))
        if item.need not in present:
            _raise_absent(study, item, item.need, frames, raw_columns, codebook)


def _raise_absent(
    study: Study,
    item: Named,
    round_name: str,
    frames: Mapping[str, pd.DataFrame],
    raw_columns: Mapping[str, Sequence[str]] | None,
    codebook: Codebook | None,
) -> None:
    """Raise for a column missing from a round it is needed in (see :func:`check_constructed`)."""
    variable = None if codebook is None else _in_codebook(codebook, item.column)
    file = study.rounds[round_name].file.name
    in_raw = raw_columns is not None and item.column in raw_columns.get(round_name, ())
    if (variable is not None and round_name in variable.sources) or (codebook is None and in_raw):
        # In the export but not in the cleaned table: de-identification removed it.
        raise StudyError(
            f"{study.path.name}: {item.key} names {item.column}, which was removed from {file} as "
            "personal data (its name or codebook flag says so); if it is not personal, write "
            f"pii: no for it in the codebook, or rename the column"
        )
    if codebook is not None and variable is not None:
        if item.key == "`village`" and round_name in variable.not_asked:
            return  # the codebook says explicitly that the round did not ask it
        raise _no_source(study, item, codebook, round_name)
    if item.column in CONSTRUCTED:
        raise StudyError(
            f"{study.path.name}: {item.key} names {item.column}, which could not be built for "
            f"the {round_name} round; {_constructed_hint(item.column)}"
        )
    what, shown = _shown(frames, raw_columns, round_name, codebook)
    raise StudyError(missing_message(study, item, f"{file} does not have", shown, what=what, hint=item.hint))


def _shown(
    frames: Mapping[str, pd.DataFrame],
    raw_columns: Mapping[str, Sequence[str]] | None,
    round_name: str,
    codebook: Codebook | None,
) -> tuple[str, list[str]]:
    """What a message lists: the codebook's variables, or the round's raw columns."""
    if codebook is not None:
        return "variables", [v.name for v in codebook.variables]
    if raw_columns is not None and round_name in raw_columns:
        return "columns", [str(c) for c in raw_columns[round_name]]
    return "columns", [str(c) for c in frames[round_name].columns if not str(c).startswith("_")]


def read_raw_columns(processed: Path, *, rounds: Sequence[str] = ROUNDS) -> dict[str, list[str]] | None:
    """Each round's raw columns from the clean stage's ``<round>_columns.csv``, if all exist."""
    paths = {r: Path(processed) / layout.columns_csv(r) for r in rounds}
    if not all(p.is_file() for p in paths.values()):
        return None
    return {r: read_csv(p, dtype=str, keep_default_na=False)["column"].tolist() for r, p in paths.items()}
