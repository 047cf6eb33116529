"""``berdaya init DIR``: a study skeleton next to a user's exports, asking nothing.

:func:`init_study` looks at the files in one folder: the two rounds' exports (told apart by
their names: ``baseline``/``endline``/``followup``, or the years), the XLSForms (workbooks with
a ``survey`` sheet) and a village list (a table named like ``villages`` or ``desa`` whose codes
are the exports' village codes). It writes, and never overwrites:

``study.yml``
    Every study key, the ones it could fill in active and the others commented out with their
    defaults; the guesses marked ``# check``.
``codebook.csv``
    From the XLSForms when there are any (:mod:`analysis.inputs.xlsform`), else inferred from
    the exports (:mod:`analysis.inputs.infer`).
``README.md``
    The two commands to run.

The outcomes follow the codebook's families, in the order the families first appear: a family
built from a constructed indicator's ingredients is led by the indicator (``income_pc`` for
the income sources, ``participation_score`` for the ladder), then its other items, then the
ladder's rungs (each an outcome of its own); income sources alone are not outcomes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.config import DEFAULT_SEED, ROUNDS
from analysis.construct.indicators import CONSTRUCTED
from analysis.errors import BerdayaError
from analysis.inputs.codebook import write_codebook
from analysis.inputs.infer import VillageColumns, guess_roles, guess_village_list, infer_codebook
from analysis.inputs.readers import SUFFIXES, read_table
from analysis.inputs.xlsform import codebook_from_xlsforms, is_xlsform, read_xlsform

STUDY_FILE = "study.yml"
CODEBOOK_FILE = "codebook.csv"
README_FILE = "README.md"
#: What ``berdaya init`` writes, in this order.
WRITTEN: tuple[str, ...] = (STUDY_FILE, CODEBOOK_FILE, README_FILE)

#: The constructed indicator that leads a family whose items are its ingredients (by role).
HEADLINES: dict[str, str] = {"income_component": "income_pc", "ladder": "participation_score"}
#: Roles of ingredients that are outcomes of their own, listed after the family's other items.
OWN_OUTCOME_ROLES = frozenset({"ladder"})

_BASELINE_WORDS = frozenset({"baseline", "base", "bl", "awal", "pra", "pre", "pretest"})
_FOLLOWUP_WORDS = frozenset({"followup", "follow", "endline", "end", "el", "akhir", "fu", "post", "midline"})
_VILLAGE_WORDS = frozenset({"desa", "village", "villages", "kelurahan", "villagelist"})
_NUMERIC_TYPES = ("integer", "number", "money")


@dataclass(frozen=True)
class Found:
    """The files of a folder, sorted out: exports per round, forms per round, village list."""

    exports: Mapping[str, Path]
    forms: Mapping[str, Path]
    villages: Path | None
    years: Mapping[str, int]
    notes: tuple[str, ...] = ()


def _words(path: Path) -> list[str]:
    return re.findall(r"[a-z]+|[0-9]+", path.stem.casefold())


def _round_of(path: Path) -> str | None:
    words = set(_words(path))
    joined = "".join(_words(path))
    base = bool(words & _BASELINE_WORDS) or "baseline" in joined
    follow = bool(words & _FOLLOWUP_WORDS) or any(w in joined for w in ("followup", "endline"))
    return "baseline" if base and not follow else "followup" if follow and not base else None


def _year_of(path: Path) -> int | None:
    years = [int(w) for w in _words(path) if re.fullmatch(r"(?:19|20)[0-9]{2}", w)]
    return years[0] if len(years) == 1 else None


def assign_rounds(paths: Sequence[Path], *, what: str) -> tuple[dict[str, Path], list[str]]:
    """Which of two files is the baseline: by the words in their names, else by their years.

    Parameters
    ----------
    paths
        Two files (the exports, or the forms).
    what
        What they are, for the messages (``exports``, ``XLSForms``).

    Returns
    -------
    dict, list of str
        Round -> file, and the notes (a guess from the order of the names is noted).

    Raises
    ------
    BerdayaError
        When there are not exactly two files.
    """
    if len(paths) != 2:
        shown = ", ".join(p.name for p in paths) or "none"
        raise BerdayaError(
            f"berdaya init needs the baseline and follow-up {what} in the folder, found {len(paths)} "
            f"({shown}): keep the two rounds' files there, named with baseline/followup or their years"
        )
    rounds = [_round_of(p) for p in paths]
    if rounds.count(None) == 1:  # one file says its round: the other is the other round
        known = next(r for r in rounds if r is not None)
        rounds = [r or next(o for o in ROUNDS if o != known) for r in rounds]
    if sorted(r or "" for r in rounds) == sorted(ROUNDS):
        return {r: p for r, p in zip(rounds, paths, strict=True) if r is not None}, []
    years = [_year_of(p) for p in paths]
    if None not in years and years[0] != years[1]:
        first, second = sorted(paths, key=lambda p: _year_of(p) or 0)
        return {"baseline": first, "followup": second}, []
    first, second = sorted(paths, key=lambda p: p.name)
    note = (
        f"the file names do not say which of the {what} is the baseline: {first.name} is taken as the "
        f"baseline and {second.name} as the follow-up"
    )
    return {"baseline": first, "followup": second}, [note]


def scan(folder: Path, *, forms: Mapping[str, Path] | None = None) -> Found:
    """Sort the files of ``folder`` into exports, forms and a village list.

    Parameters
    ----------
    folder
        The folder ``berdaya init`` was given.
    forms
        Forms named on the command line (round -> file); without them the folder's XLSForms
        are used.
    """
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "~$")) and p.suffix.lower() in SUFFIXES
    )
    found_forms = [p for p in files if is_xlsform(p)]
    data = [p for p in files if p not in found_forms and p.name not in WRITTEN]
    village_lists = [p for p in data if set(_words(p)) & _VILLAGE_WORDS and _round_of(p) is None]
    exports = [p for p in data if p not in village_lists]
    if len(exports) > 2:
        named = [p for p in exports if _round_of(p) is not None]
        exports = named if len(named) == 2 else exports
    by_round, notes = assign_rounds(exports, what="exports")
    if forms is None and found_forms:
        if len(found_forms) == 1:
            forms = {r: found_forms[0] for r in ROUNDS}
        else:
            forms, form_notes = assign_rounds(found_forms, what="XLSForms")
            notes += form_notes
    years = {r: y for r, p in by_round.items() if (y := _year_of(p)) is not None}
    return Found(
        exports=by_round,
        forms=dict(forms or {}),
        villages=village_lists[0] if len(village_lists) == 1 else None,
        years=years,
        notes=tuple(notes),
    )


def outcomes_of(codebook: pd.DataFrame) -> list[tuple[str, str, int]]:
    """(name, family, direction) of the outcomes a codebook's families imply; see the module.

    Without families (an inferred codebook), every number and yes/no variable the follow-up
    asked that has no role and is not personal, without a family.
    """
    rows = [r for r in codebook.to_dict("records") if str(r["source_followup"]) and str(r["pii"]) != "yes"]
    measurable = [
        r
        for r in rows
        if r["type"] in _NUMERIC_TYPES or (r["type"] == "category" and r["categories"] == "0;1")
    ]
    families = list(dict.fromkeys(str(r["family"]) for r in codebook.to_dict("records") if r["family"]))
    chosen: list[tuple[str, str, int]] = []
    for family in families:
        members = [r for r in codebook.to_dict("records") if r["family"] == family]
        roles = [str(r["role"]) for r in members]
        chosen += [(HEADLINES[role], family, 1) for role in dict.fromkeys(roles) if role in HEADLINES]
        items = [r for r in measurable if r["family"] == family]
        chosen += [_outcome(r) for r in items if r["role"] not in HEADLINES]
        chosen += [_outcome(r) for r in items if r["role"] in OWN_OUTCOME_ROLES]
    if families:
        return chosen
    # Export metadata (`_index`) are numbers too, but never outcomes.
    return [
        (str(r["name"]), "", 1)
        for r in measurable
        if not r["role"] and not str(r["source_followup"]).startswith("_")
    ]


def _outcome(row: Mapping[Any, Any]) -> tuple[str, str, int]:
    return str(row["name"]), str(row["family"]), -1 if str(row["direction"]).strip() == "-1" else 1


def _yaml_text(text: str) -> str:
    """``text`` as a YAML scalar: plain when that reads back the same, else double-quoted."""
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-/]*", text) and text.casefold() not in (
        "yes", "no", "true", "false", "null", "on", "off", "y", "n", "~",
    ):  # fmt: skip
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Plan:
    """What :func:`init_study` found and will write."""

    found: Found
    codebook: pd.DataFrame
    village_columns: VillageColumns | None
    name: str
    source: str


def _role_name(codebook: pd.DataFrame, role: str) -> str | None:
    names = codebook.loc[codebook["role"] == role, "name"].tolist()
    return str(names[0]) if names else None


def study_text(plan: Plan) -> str:
    """The ``study.yml`` of a plan: every key, commented where it is off or a default."""
    book, found, columns = plan.codebook, plan.found, plan.village_columns
    id_name = _role_name(book, "household_id")
    village = _role_name(book, "village")
    treatment = _role_name(book, "treatment") or (columns.treatment if columns is not None else None)
    cluster = _role_name(book, "cluster")

    def key(name: str, value: str | None, note: str, *, guess: bool = False, default: str = "") -> str:
        if value is None:
            shown = f" {default}" if default else ""
            return f"# {name}:{shown}  # {note}"
        return f"{name}: {value}  # {note}" + (" (check)" if guess else "")

    lines = [
        f"# Study file written by `berdaya init` from the files next to it ({plan.source}).",
        "# Every key the workbench reads is here: the ones init filled in are active, the others are",
        "# commented out and show their default. Lines that say `check` are guesses: read them,",
        "# and the `note` column of codebook.csv, before trusting the results. docs/study-file.md",
        "# describes every key.",
        "",
        f"name: {_yaml_text(plan.name)}  # shown in every report",
        "# description:  # a note for whoever reads this file; not shown in reports",
        "",
        "rounds:  # the two exports (paths are relative to this file)",
    ]
    for round_name in ROUNDS:
        parts = [f"file: {_yaml_text(found.exports[round_name].name)}"]
        if round_name in found.years:
            parts.append(f"year: {found.years[round_name]}")
        lines.append(f"  {round_name}: {{{', '.join(parts)}}}")
    lines += [
        "  # Each round may also give `sheet` (an .xlsx worksheet) and `cpi`, the consumer price index",
        "  # that deflates money to baseline prices, e.g. {file: ..., year: 2023, cpi: 100.0}: without",
        "  # it incomes are compared in Rupiah of each round's own year.",
        f"codebook: {CODEBOOK_FILE}  # harmonizes the rounds' columns (docs/codebook.md)",
        "",
        key("id", id_name, "the household id that links the rounds", guess=True, default="hhid")
        + ("" if id_name else " – no column looked like one: name it (required)"),
        key("treatment", treatment, "the 0/1 programme arm: a codebook variable or a village-list column",
            guess=True, default="treat")
        + ("" if treatment else " – no 0/1 arm column found: name it (required)"),
        key("village", village, "the village code: reporting unit and default cluster", guess=True,
            default="village"),
        key("cluster", cluster if cluster and cluster != village else None,
            "clustering column for standard errors", default=village or "village"),
    ]  # fmt: skip
    if columns is not None and found.villages is not None:
        parts = [f"file: {_yaml_text(found.villages.name)}", f"id: {columns.id}"]
        parts += [f"{k}: {v}" for k, v in (("name", columns.name), ("strata", columns.strata)) if v]
        lines.append(f"villages: {{{', '.join(parts)}}}  # the village list: code, name, strata (check)")
    else:
        lines.append("# villages: {file: villages.csv, id: village, name: village_name, strata: kecamatan}")
    outcomes = outcomes_of(book)
    lines += [
        "",
        "outcomes:  # one entry per outcome: a codebook variable or a constructed indicator (check)",
        "  # an entry may also give `column` ({baseline: x, followup: y}), `label` and `index: false`",
    ]
    for name, family, direction in outcomes:
        parts = [f"name: {name}"] + ([f"family: {family}"] if family else [])
        parts += ["direction: -1"] if direction == -1 else []
        lines.append(f"  - {{{', '.join(parts)}}}")
    if not outcomes:
        lines.append("  - {name: income}  # no number or yes/no question found: name your outcomes (check)")
    lines += [
        "# main_outcomes: []  # default: the first outcome of each family",
        "",
        "# Data and privacy",
        "# weights:  # survey-weight column",
        "# covariates: []  # baseline covariates in every impact regression",
        "# pii_columns: []  # more personal-data columns to drop (the codebook's pii marks come first)",
        "# keep_text_columns: []  # free-text columns checked by hand and kept as typed",
        "# number_style: id  # how numbers are written: id (1.500 = 1500) or plain (1.5)",
        "# language: id  # report language: id or en",
        "# languages: [id, en]  # every report also in English (file.en.html), language first",
        "# pdf: true  # an A4 PDF next to every report page (needs chromium); false: none",
        "# min_cell: 10  # smallest group a report may describe (at least 5)",
        "# processed:  # folder for de-identified data (default: <out>/processed)",
        "# pseudonym_key_file:  # the pseudonym secret's file (default ~/.config/berdaya/pseudonym.key)",
        "# pseudonym_key:  # the secret itself: only for demo or public data",
        "# decisions:  # decisions file for duplicate submissions",
        "# corrections:  # corrections file of documented cell corrections",
        "# gps: drop  # drop household GPS points, or `village` for the village centroid",
        "# new_households: keep  # follow-up households not in the baseline: keep or quarantine",
        "# labels: {}  # your own notes on names; reports take labels from the codebook",
        "",
        "# Cleaning",
        "# quality: {min_minutes: 10, outlier_iqr: 3, escalate: []}",
        "# fieldwork: {baseline: [2023-02-01, 2023-03-31], followup: [2025-02-01, 2025-03-31]}",
        "",
        "# Analysis",
        "# design: randomized  # or matched",
        "# vcov: auto  # CR1 with a cluster, else HC1",
        "# vcov_extra: []  # CRV3 and/or RI",
        "# did_fixed_effects: household  # or none for repeated cross-sections",
        "# rollout: {column: first_round}  # staggered rollout: each unit's first treated round",
        f"# seed: {DEFAULT_SEED}",
        "# wild_bootstrap_reps: 9999",
        "# wild_bootstrap_below: 50",
        "# romano_wolf: false",
        "# family_indices: true",
        "# lee_bounds_reps: 999",
        "# design_test_reps: 999",
        "# design_test_ri_below: 200",
        "# power: {alpha: 0.05, power: 0.8}",
        "# women_subsample: true",
        "# income: {poverty_line: bps, poverty_area: national, winsor_quantile: 0.99}",
        "# alkire_foster: {k: 0.333}  # and `families` (default: the six goals), `cutoffs`",
    ]
    for note in found.notes:
        lines.append(f"# check: {note}")
    return "\n".join(lines) + "\n"


def readme_text(plan: Plan, folder: Path) -> str:
    """The README: what init wrote, what to check, and the two commands."""
    checks = int((plan.codebook["note"].astype(str) != "").sum())
    return f"""# {plan.name}

`berdaya init` wrote this study's files from the exports in this folder ({plan.source}):

- `{STUDY_FILE}`: the study file; lines that say `check` are guesses;
- `{CODEBOOK_FILE}`: one row per variable; {checks} rows have a `# check` note;
- this README.

Read the lines marked `check` first. Then, from this folder ({folder.name}):

    berdaya run {STUDY_FILE} --out reports --no-village-reports

writes the tables (`reports/tables/`) and the programme report in a few minutes, and

    berdaya run {STUDY_FILE} --out reports

adds one report per village. Personal data (names, phone numbers, NIK, GPS) never leave
cleaning; `reports/` can be shared, the exports cannot.
"""


def plan_study(folder: Path, *, forms: Mapping[str, Path] | None = None) -> Plan:
    """What :func:`init_study` would write for ``folder`` (nothing is written)."""
    found = scan(folder, forms=forms)
    tables = {r: read_table(p) for r, p in found.exports.items()}
    frames = {r: t.frame for r, t in tables.items()}
    if found.forms:
        read = {r: read_xlsform(p) for r, p in found.forms.items()}
        codebook = codebook_from_xlsforms(read, columns={r: list(f.columns) for r, f in frames.items()})
        names = sorted({p.name for p in found.forms.values()})
        source = f"the XLSForm{'s' if len(names) > 1 else ''} {' and '.join(names)}"
        # "Survei Sukamaju 2023 (baseline)" names the study "Survei Sukamaju 2023".
        title = re.sub(r"\s*\([^()]*\)\s*$", "", read["baseline"].title)
    else:
        codebook = guess_roles(infer_codebook(frames))
        source = "no XLSForm: the codebook is inferred from the data"
        title = ""
    village_columns = None
    if found.villages is not None:
        village = codebook.loc[codebook["role"] == "village"]
        codes: list[str] = []
        for row in village.to_dict("records"):
            for r in ROUNDS:
                source_column = str(row[f"source_{r}"])
                if source_column in frames[r].columns:
                    codes += frames[r][source_column].astype(str).str.strip().unique().tolist()
        listing = read_table(found.villages).frame
        village_columns = guess_village_list(
            listing, codes=codes, village=str(_role_name(codebook, "village"))
        )
        if village_columns is None:
            found = Found(found.exports, found.forms, None, found.years, found.notes)
    return Plan(found, codebook, village_columns, name=title or folder.resolve().name, source=source)


def init_study(folder: str | Path, *, forms: Mapping[str, Path] | None = None) -> tuple[list[Path], Plan]:
    """Write ``study.yml``, ``codebook.csv`` and ``README.md`` into ``folder``.

    Parameters
    ----------
    folder
        The folder holding the exports (and the XLSForms and village list, if any).
    forms
        Forms per round given on the command line; default: the XLSForms in ``folder``.

    Returns
    -------
    list of pathlib.Path, Plan
        The files written, and what they were written from.

    Raises
    ------
    BerdayaError
        One line: the folder does not exist, one of the files exists already (nothing is
        overwritten, and nothing is written), or the exports cannot be told apart.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise BerdayaError(f"{folder} {what}: give the folder that holds the survey exports")
    existing = [name for name in WRITTEN if (folder / name).exists()]
    if existing:
        raise BerdayaError(
            f"{folder / existing[0]} exists: berdaya init never overwrites a file; move "
            f"{' and '.join(existing)} away or init another folder"
        )
    plan = plan_study(folder, forms=forms)
    assert all(h in CONSTRUCTED for h in HEADLINES.values())  # the indicators the outcomes name
    study = folder / STUDY_FILE
    write_codebook(plan.codebook, folder / CODEBOOK_FILE)
    from analysis.shared.files import write_text_atomic

    write_text_atomic(study, study_text(plan))
    write_text_atomic(folder / README_FILE, readme_text(plan, folder))
    return [folder / name for name in WRITTEN], plan
