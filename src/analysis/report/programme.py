"""Content of the programme report (``notebooks/04_programme_report.ipynb``).

The notebook calls :func:`load` once, then one function per section; each returns a list of
displayable objects. Sections built on the estimate stage's optional tables (balance,
attrition, Lee bounds, inference, indices, Alkire–Foster, MDE) appear when the table exists and
are replaced by a one-line note when it does not; their columns are read defensively, because
the estimate stage grows independently of the report.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis.config import PROJECT_ROOT, ROUNDS, STAGGERED_ESTIMATORS, TESTED_ESTIMATORS
from analysis.construct.long_panel import two_round_view
from analysis.estimate.women import is_woman
from analysis.inputs.codebook import Codebook, load_codebook
from analysis.inputs.rounds import study_rounds
from analysis.inputs.study import Study, load_study
from analysis.report import figures, summaries
from analysis.report.blocks import (
    Column,
    Design,
    GroupRow,
    Html,
    Table,
    bullets,
    count,
    element,
    fieldwork_count,
    figure_block,
    fragment,
    heading,
    inference_value,
    is_money,
    language_links,
    latex_escape,
    note,
    outcome_family,
    outcome_label,
    paragraph,
    primary_estimator,
    provenance_block,
    read_output_table,
    read_provenance,
    statistic,
    study_design,
)
from analysis.report.text import (
    ESTIMATOR_LABELS,
    FAMILY_LABELS,
    GOALS,
    Language,
    Safe,
    check_language,
    integer,
    join,
    list_words,
    number,
    p_relation,
    p_value,
    percent,
    reason_text,
    render,
    rupiah,
    significant_figures,
    t,
    withheld_code,
    withheld_reason,
)
from analysis.shared import layout
from analysis.shared.disclosure import SuppressedTable, check_min_cell, disclosure_rule
from analysis.shared.files import read_csv, write_text_atomic
from analysis.shared.run_warnings import RunWarning, read_warnings_table

#: Tables of the estimate stage that sections are built on (each optional).
OPTIONAL_TABLES: tuple[str, ...] = (
    layout.IMPACT_INFERENCE_CSV,
    layout.BALANCE_CSV,
    layout.ATTRITION_CSV,
    layout.LEE_BOUNDS_CSV,
    layout.MDE_CSV,
    layout.ALKIRE_FOSTER_CSV,
    layout.INDEX_WEIGHTS_CSV,
    layout.OUTCOMES_CSV,
)


@dataclass(frozen=True)
class ProgrammeContext:
    """Everything the programme report reads, loaded once."""

    study: Study
    codebook: Codebook | None
    panel: pd.DataFrame
    impact: pd.DataFrame
    accounting: pd.DataFrame
    tables: dict[str, pd.DataFrame | None]
    tables_dir: Path
    processed_dir: Path
    language: Language
    started: float = field(default_factory=time.time)
    warnings: tuple[RunWarning, ...] = ()
    #: Table and figure numbers, given in the order the notebook first shows them (``table:<key>``
    #: → n), so that the LaTeX export, built after the sections, reuses the page's numbers.
    numbers: dict[str, int] = field(default_factory=dict, compare=False)
    #: Whether each outcome looked at so far is yes/no (:func:`_is_binary`): asked for every
    #: number the report writes, and each answer reads the outcome's whole panel columns. Not
    #: an argument: a context made with ``dataclasses.replace`` (another panel) starts afresh.
    binary: dict[str, bool] = field(default_factory=dict, init=False, compare=False, repr=False)
    #: The same report in the run's other languages: language code → file, relative to this one.
    other_languages: Mapping[str, str] = field(default_factory=dict)
    #: A study with more rounds or no ``id``: the study with every round, and the long panel.
    #: ``study`` and ``panel`` are then its reference and last rounds as a two-round study
    #: (:func:`analysis.construct.long_panel.two_round_view`), which the two-round sections read.
    all_rounds: Study | None = None
    long_panel: pd.DataFrame | None = None

    @property
    def cross_section(self) -> bool:
        """Whether the study is a repeated cross-section (no household is followed)."""
        return self.all_rounds is not None and self.all_rounds.round_design.kind == "repeated_cross_section"

    @property
    def min_cell(self) -> int:
        """The study's disclosure threshold."""
        return self.study.min_cell

    @property
    def withheld(self) -> str:
        """The run-warning code under which no impact is tested (one cluster, or one in an arm).

        Empty when impacts are tested. Under such a code no sentence of the report judges
        whether an effect differs from zero, whatever numbers the tables hold (with ``vcov:
        HC1`` they still hold p-values, which are not reliable then either).
        """
        return withheld_code(w.code for w in self.warnings if w.stage == "estimate")

    @property
    def design(self) -> Design:
        """``randomized`` unless the study file says the comparison villages were matched."""
        return study_design(self.study)

    @property
    def primary(self) -> str:
        """The primary estimator: ANCOVA in a randomized design, DiD with matched villages.

        DiD in a repeated cross-section, which has no household in both rounds for ANCOVA.
        """
        return "did" if self.cross_section else primary_estimator(self.study)

    def table(self, name: str) -> pd.DataFrame | None:
        """An optional table of the estimate stage (None when this run did not write it)."""
        return self.tables.get(name)

    @cached_property
    def assignment(self) -> summaries.Assignment:
        """Where the programme arm varies (household, village or cluster), read from the panel."""
        return summaries.assignment(self.panel)

    @cached_property
    def clustering(self) -> summaries.Clustering:
        """What the impact standard errors were computed with (``impact_detail.csv``'s ``se_type``)."""
        return summaries.clustering(self.panel, self.impact, estimators=TESTED_ESTIMATORS)

    @cached_property
    def families(self) -> dict[str, str]:
        """Each outcome's family as ``outcomes.csv`` gives it (women's twins included)."""
        listing = self.table(layout.OUTCOMES_CSV)
        if listing is None or not {"outcome", "family"} <= set(listing.columns):
            return {}
        known = listing.dropna(subset=["family"])
        return dict(zip(known["outcome"].astype(str), known["family"].astype(str), strict=True))


def load(
    study_path: str,
    *,
    processed_dir: str,
    tables_dir: str,
    language: str = "",
    other_languages: Mapping[str, str] | None = None,
) -> ProgrammeContext:
    """Read the study, the panel and the estimate tables.

    Parameters
    ----------
    study_path
        The study file.
    processed_dir, tables_dir
        Outputs of the earlier stages.
    language
        ``id`` or ``en``; empty means the study file's ``language``.
    other_languages
        The report in the run's other languages (``{"en": "programme.en.html"}``), linked from
        the top of the page.
    """
    study = load_study(study_path)
    check_min_cell(study.min_cell)
    tables = Path(tables_dir)
    panel = pd.read_parquet(Path(processed_dir) / layout.PANEL_PARQUET)
    all_rounds, long_panel = None, None
    if study.round_design.kind != "two_round_panel":
        all_rounds, long_panel = study_rounds(study), panel
        panel, study = two_round_view(long_panel, all_rounds)
    return ProgrammeContext(
        study=study,
        codebook=load_codebook(all_rounds or study),
        panel=panel,
        all_rounds=all_rounds,
        long_panel=long_panel,
        impact=read_csv(tables / layout.IMPACT_DETAIL_CSV),
        accounting=read_csv(tables / layout.ROW_ACCOUNTING_CSV),
        tables={name: read_output_table(tables, name) for name in OPTIONAL_TABLES},
        tables_dir=tables,
        processed_dir=Path(processed_dir),
        language=check_language(language or study.language),
        warnings=tuple(read_warnings_table(tables)),
        other_languages={check_language(k): str(v) for k, v in (other_languages or {}).items()},
    )


def _label(ctx: ProgrammeContext, outcome: str) -> str:
    return outcome_label(outcome, study=ctx.study, codebook=ctx.codebook, language=ctx.language)


Kind = Literal["money", "share", "index", "scale"]

#: Decimals of each kind of outcome in tables, fixed so that a column lines up: rupiah without
#: decimals, yes/no outcomes in percentage points to one decimal, indices (SD units) to three,
#: other scales (days, counts, 1–5 ratings) to two.
DECIMALS: dict[Kind, int] = {"money": 0, "share": 1, "index": 3, "scale": 2}

UNITS: dict[Kind, str] = {"money": "unit_rp", "share": "unit_pp", "index": "unit_sd", "scale": "unit_scale"}


def _base_outcome(outcome: str) -> str:
    """The outcome a women's twin (``<name>_women``) re-estimates; the name itself otherwise."""
    return outcome.removesuffix("_women") if outcome.endswith("_women") else outcome


def _column(ctx: ProgrammeContext, outcome: str, round_name: str) -> str | None:
    """The panel column of ``outcome`` in ``round_name`` (None when that round has no measure)."""
    base = _base_outcome(outcome)
    for spec in ctx.study.outcomes:
        if spec.name == base:
            column = spec.columns.get(round_name)
            return column if column in ctx.panel.columns else None
    return base if base in ctx.panel.columns else None


def _kind(ctx: ProgrammeContext, outcome: str) -> Kind:
    """How an outcome is written: rupiah, a yes/no share, an index in SD units, or its own scale."""
    if outcome.startswith("index_"):
        return "index"
    if is_money(_base_outcome(outcome), ctx.codebook):
        return "money"
    return "share" if _is_binary(ctx, outcome) else "scale"


def _effect(
    ctx: ProgrammeContext, outcome: str, value: float, *, signed: bool = True, table: bool = False
) -> str:
    """An effect (a difference) in its outcome's unit, with the kind's fixed decimals.

    Yes/no outcomes are in percentage points (the unit is the table's Unit column, or words in a
    sentence); money is in rupiah without decimals (``Rp 289.000`` in a sentence).
    """
    lang = ctx.language
    kind = _kind(ctx, outcome)
    if kind == "money" and not table:
        return rupiah(value, lang, signed=signed)
    if kind == "share":
        points = number(float(value) * 100 if _finite_number(value) else value, lang, digits=1, signed=signed)
        return points if table or points == "–" else str(render("difference_pp", lang, value=points))
    return number(value, lang, digits=DECIMALS[kind], signed=signed)


def _level(ctx: ProgrammeContext, outcome: str, value: float) -> str:
    """A mean in its outcome's unit for a table: yes/no outcomes as percentages (``26.7%``)."""
    kind = _kind(ctx, outcome)
    if kind == "share":
        return percent(value, ctx.language, digits=1)
    return number(value, ctx.language, digits=DECIMALS[kind])


def _finite_number(value: object) -> bool:
    return bool(np.isfinite(_number(value)))


def _unit(ctx: ProgrammeContext, outcome: str) -> str:
    return t(UNITS[_kind(ctx, outcome)], ctx.language)


def _numbered(ctx: ProgrammeContext, key: str, caption: object, *, kind: str = "table") -> Safe:
    """``Table 3. caption``: tables and figures are numbered in the order the report shows them."""
    name = f"{kind}:{key}"
    if name not in ctx.numbers:
        ctx.numbers[name] = 1 + sum(1 for k in ctx.numbers if k.startswith(f"{kind}:"))
    label = t("table_number" if kind == "table" else "figure_number", ctx.language, n=ctx.numbers[name])
    return join([label, ". ", caption])


def _missing(ctx: ProgrammeContext, table: str) -> Html:
    return fragment(note(render("section_missing", ctx.language, table=f"{layout.TABLES_DIR}/{table}")))


def _impact_row(ctx: ProgrammeContext, outcome: str, estimator: str) -> pd.Series | None:
    rows = ctx.impact.loc[(ctx.impact["outcome"] == outcome) & (ctx.impact["estimator"] == estimator)]
    if rows.empty or not np.isfinite(pd.to_numeric(rows["estimate"], errors="coerce").iloc[0]):
        return None
    return rows.iloc[0]


def _inference_value(ctx: ProgrammeContext, outcome: str, estimator: str, column: str) -> float:
    return inference_value(ctx.table(layout.IMPACT_INFERENCE_CSV), outcome, estimator, column)


FallbackReason = Literal["", "reason_followup_only", "reason_not_estimated"]


@dataclass(frozen=True)
class Primary:
    """The estimate a row of the report reads: the primary estimator's, or its stand-in.

    ``reason`` is empty for the primary estimator; otherwise the text key saying why the
    follow-up difference stands in (an outcome measured only at follow-up has no baseline for
    ANCOVA or DiD).
    """

    estimator: str
    row: pd.Series
    reason: FallbackReason


def _primary(ctx: ProgrammeContext, outcome: str) -> Primary | None:
    """The primary estimate of ``outcome``, else the follow-up difference, saying why."""
    row = _impact_row(ctx, outcome, ctx.primary)
    if row is not None:
        return Primary(ctx.primary, row, "")
    fallback = _impact_row(ctx, outcome, "followup_diff")
    if fallback is None:
        return None
    baseline = _column(ctx, outcome, "baseline")
    measured = (
        baseline is not None and ctx.panel.loc[ctx.panel["round"] == "baseline", baseline].notna().any()
    )
    return Primary("followup_diff", fallback, "reason_not_estimated" if measured else "reason_followup_only")


def _judged_p(ctx: ProgrammeContext, outcome: str, chosen: Primary) -> tuple[float, bool]:
    """The p-value the report reads for an estimate: wild bootstrap where computed, else the SE's.

    Returns the p-value and whether it is the wild-bootstrap one. The summary's sentences, its
    count of outcomes distinguishable from zero and the table's first p column all use this.
    """
    wild = _inference_value(ctx, outcome, chosen.estimator, "p_value_wild")
    if np.isfinite(wild):
        return wild, True
    return _number(chosen.row.get("p_value")), False


def _se_name(ctx: ProgrammeContext) -> str:
    """``CR1`` or ``HC1``: the standard errors the estimate stage computed."""
    return ctx.clustering.se_type or "CR1"


def _significance(ctx: ProgrammeContext, outcome: str, chosen: Primary) -> object:
    """``distinguishable from zero, p = …`` (or not); None when no p-value may be judged."""
    lang = ctx.language
    if ctx.withheld:
        return None
    p, wild = _judged_p(ctx, outcome, chosen)
    if not np.isfinite(p):
        return None
    text = render("p_wild_is" if wild else "p_is", lang, p=p_relation(p, lang))
    return render("significant" if p < 0.05 else "not_significant", lang, p=text)


def _withheld_reason(ctx: ProgrammeContext) -> object:
    """Why the report gives no interval or p-value (the run warning's reason, or "not computed")."""
    return withheld_reason(ctx.withheld, ctx.language)


def run_warnings(ctx: ProgrammeContext) -> Safe:
    """Every row of ``tables/warnings.csv`` in a marked box; nothing when the run had none.

    The box comes first, before the summary, because a warning (one programme village, float
    codes, a reused pseudonym key, ...) changes how every number after it should be read. The
    messages are English (they are also printed by the command line and kept in
    ``run.json``); the box's title and lead are in the report's language. Every message is
    escaped: it names columns and codes from the user's files.
    """
    if not ctx.warnings:
        return Safe("")
    lang = ctx.language
    items = [join([element("code", w.code), ": ", w.message]) for w in ctx.warnings]
    return element(
        "div",
        join(
            [
                element("p", element("strong", t("run_warnings_title", lang))),
                paragraph(render("run_warnings_lead", lang)),
                bullets(items),
            ]
        ),
        cls="warning run-warnings",
    )


def _outcomes(ctx: ProgrammeContext, *, indices: bool) -> list[str]:
    names = list(dict.fromkeys(ctx.impact["outcome"].astype(str)))
    chosen = [n for n in names if n.startswith("index_") == indices]
    return sorted(chosen, key=lambda n: _family_order(_family(ctx, n)))


def _family(ctx: ProgrammeContext, outcome: str) -> str | None:
    """The family of an outcome: the study's, else ``outcomes.csv``'s (``participation_women``)."""
    return outcome_family(outcome, ctx.study) or ctx.families.get(outcome)


def _family_label(ctx: ProgrammeContext, family: str | None) -> str:
    return FAMILY_LABELS.get(family or "", {}).get(ctx.language, family or "")


def _family_order(family: str | None) -> int:
    order = [*GOALS, "participation", "participation_women"]
    return order.index(family) if family in order else len(order)


def _main_outcomes(ctx: ProgrammeContext) -> list[str]:
    """The study's main outcomes (study file, else ``outcomes.csv``'s ``main`` flag), else income."""
    declared = [str(o) for o in getattr(ctx.study, "main_outcomes", ()) or ()]
    listing = ctx.table(layout.OUTCOMES_CSV)
    if not declared and listing is not None and {"outcome", "main"} <= set(listing.columns):
        declared = [str(o) for o in listing.loc[listing["main"].astype(str) == "True", "outcome"]]
    available = set(ctx.impact["outcome"].astype(str))
    chosen = [o for o in declared if o in available]
    if not chosen:
        chosen = [o for o in ("income_pc", "participation_score") if o in available]
    if not chosen:
        chosen = [o for o in _outcomes(ctx, indices=False)][:2]
    return chosen


# ---------------------------------------------------------------------------------------------
# Sections


def title(ctx: ProgrammeContext) -> Html:
    """The report heading and a summary of the main results in plain language.

    The summary says why its outcomes were chosen, and counts the outcomes distinguishable from
    zero by the same p-value its sentences quote. The Alkire–Foster profile is not in it: its
    cutoffs are partly chosen from the data and it has no standard error (its section says so).
    """
    lang = ctx.language
    lines = [headline(ctx, outcome) for outcome in _main_outcomes(ctx)]
    return fragment(
        heading(join([t("programme_title", lang), ": ", ctx.study.name]), level=1),
        language_links(lang, ctx.other_languages),
        run_warnings(ctx),
        heading(t("summary", lang)),
        element("ul", join(element("li", line) for line in lines if line)) if any(lines) else "",
        paragraph(_why_these_outcomes(ctx)) if any(lines) else "",
        paragraph(_significance_count(ctx)),
    )


def _default_main_outcomes(ctx: ProgrammeContext) -> list[str]:
    """The study file's default main outcomes: the first outcome listed in each family."""
    chosen: dict[object, str] = {}
    for outcome in ctx.study.outcomes:
        chosen.setdefault(outcome.family if outcome.family is not None else ("", outcome.name), outcome.name)
    return list(chosen.values())


def _why_these_outcomes(ctx: ProgrammeContext) -> Safe:
    """Why the summary shows these outcomes: named in the study file, or the default rule."""
    declared = list(ctx.study.main_outcomes) != _default_main_outcomes(ctx)
    k = len(_outcomes(ctx, indices=False))
    return render("summary_why_declared" if declared else "summary_why_default", ctx.language, k=k)


def headline(ctx: ProgrammeContext, outcome: str) -> object:
    """One plain-language sentence on the primary estimate of ``outcome``.

    Yes/no outcomes are written in percentage points, money in rupiah. An outcome without a
    primary estimate (measured only at follow-up) falls back to the follow-up difference, and
    the sentence says why.
    """
    chosen = _primary(ctx, outcome)
    if chosen is None:
        return ""
    lang, row = ctx.language, chosen.row

    def fmt(value: float) -> object:
        return _effect(ctx, outcome, value, signed=True)

    why = (
        render(
            "fallback_why",
            lang,
            primary=ESTIMATOR_LABELS[ctx.primary][lang],
            reason=render(chosen.reason, lang),
        )
        if chosen.reason
        else ""
    )
    significance = _significance(ctx, outcome, chosen)
    if significance is None or not np.isfinite(_number(row["ci_low"])):
        sentence = render(
            "impact_headline_no_inference",
            lang,
            outcome=_label(ctx, outcome),
            estimator=ESTIMATOR_LABELS[chosen.estimator][lang],
            effect=fmt(float(row["estimate"])),
            why=render("no_inference", lang, reason=_withheld_reason(ctx)),
        )
    else:
        sentence = render(
            "impact_headline",
            lang,
            outcome=_label(ctx, outcome),
            estimator=ESTIMATOR_LABELS[chosen.estimator][lang],
            effect=fmt(float(row["estimate"])),
            low=fmt(float(row["ci_low"])),
            high=fmt(float(row["ci_high"])),
            significance=significance,
        )
    return join([sentence, " ", why]) if why else sentence


def _is_binary(ctx: ProgrammeContext, outcome: str) -> bool:
    """Whether an outcome only takes the values 0 and 1 (a yes/no question)."""
    if outcome not in ctx.binary:
        ctx.binary[outcome] = _takes_zero_one(ctx, outcome)
    return ctx.binary[outcome]


def _takes_zero_one(ctx: ProgrammeContext, outcome: str) -> bool:
    columns = {c for c in (_column(ctx, outcome, r) for r in ROUNDS) if c is not None}
    if not columns:
        return False
    values = pd.concat([pd.to_numeric(ctx.panel[c], errors="coerce") for c in columns]).dropna().unique()
    return len(values) > 0 and set(values.tolist()) <= {0.0, 1.0}


def _significance_count(ctx: ProgrammeContext) -> object:
    """How many outcomes are distinguishable from zero, by the p-value the summary quotes."""
    if ctx.withheld:
        return render("impact_count_withheld", ctx.language, reason=_withheld_reason(ctx))
    judged = []
    for outcome in _outcomes(ctx, indices=False):
        chosen = _primary(ctx, outcome)
        if chosen is not None:
            judged.append(_judged_p(ctx, outcome, chosen))
    p = np.array([value for value, _ in judged if np.isfinite(value)])
    if not len(p):
        return ""
    wild = any(is_wild for value, is_wild in judged if np.isfinite(value))
    lang = ctx.language
    return render(
        "impact_count",
        lang,
        k=len(p),
        s=int((p < 0.05).sum()),
        expected=number(0.05 * len(p), lang, digits=1),
        estimator=ESTIMATOR_LABELS[ctx.primary][lang],
        p_label=t("p_label_wild", lang) if wild else t("p_label_se", lang, se=_se_name(ctx)),
    )


def _level_word(ctx: ProgrammeContext, level: str) -> str:
    """``household``, ``village`` or the study's cluster column, in the report's language."""
    if level in ("household", "village"):
        return t(f"level_{level}", ctx.language)
    return ctx.study.cluster_column or "cluster"


def design_section(ctx: ProgrammeContext) -> list[object]:
    """Where the programme was assigned (household, village or cluster) and the standard errors.

    The level is read from the panel (:func:`analysis.report.summaries.assignment`): a study
    randomized at household level within villages is described so, never by the arm of each
    village's first household. The standard errors are those the estimate stage computed.
    """
    lang, a = ctx.language, ctx.assignment
    households = count(ctx.panel["hh"].nunique(), language=lang, min_cell=ctx.min_cell)
    if a.level == "village":
        text = render(
            "design_village",
            lang,
            treated=integer(a.treated, lang),
            control=integer(a.comparison, lang),
            households=households,
        )
    elif a.level == "cluster":
        text = render(
            "design_cluster",
            lang,
            unit=_level_word(ctx, "cluster"),
            treated=integer(a.treated, lang),
            control=integer(a.comparison, lang),
            treated_villages=integer(a.treated_villages, lang),
            control_villages=integer(a.comparison_villages, lang),
            households=households,
        )
    else:
        arms = {
            "treated": count(a.treated, language=lang, min_cell=ctx.min_cell),
            "control": count(a.comparison, language=lang, min_cell=ctx.min_cell),
        }
        text = (
            render(
                "design_household",
                lang,
                mixed=integer(a.mixed_villages, lang),
                villages=integer(a.villages, lang),
                **arms,
            )
            if a.villages
            else render("design_household_no_village", lang, **arms)
        )
    return [fragment(heading(t("design", lang)), paragraph(join([text, " ", _standard_errors(ctx)])))]


#: Levels of assignment and clustering, from the finest; HC1 is household level.
_LEVEL_ORDER = {"household": 0, "none": 0, "village": 1, "cluster": 2}


def _standard_errors(ctx: ProgrammeContext) -> Safe:
    """What the standard errors are (as computed) and how that compares with the assignment level."""
    lang, c, a = ctx.language, ctx.clustering, ctx.assignment
    if c.se_type == "CR1":
        key = {"village": "se_cr1_village", "household": "se_cr1_household"}.get(c.level, "se_cr1_cluster")
        clusters = integer(c.clusters, lang) if np.isfinite(c.clusters) else "–"
        sentence = render(key, lang, clusters=clusters, unit=ctx.study.cluster_column or "cluster")
    elif c.se_type == "HC1":
        sentence = render("se_hc1", lang)
    else:
        return Safe("")
    clustered, assigned = _LEVEL_ORDER[c.level], _LEVEL_ORDER[a.level]
    if clustered == assigned:
        match = render("se_at_assignment", lang)
    elif clustered > assigned:
        match = render("se_above_assignment", lang, level=_level_word(ctx, a.level))
    else:
        match = render("se_below_assignment", lang, level=_level_word(ctx, a.level))
    return join([sentence, " ", match])


def data_quality_section(ctx: ProgrammeContext) -> list[object]:
    """Raw rows per round (clean, quarantined, excluded) and quarantine reasons.

    Records by cleaning outcome are cleaning counts, published at any size in every tier
    (``docs/disclosure.md``, rule 4; ``row_accounting.csv`` is not suppressed either): they
    describe the cleaning, not anything a household answered.
    """
    lang = ctx.language
    rows = []
    for rec in ctx.accounting.to_dict("records"):
        values = {k: int(rec.get(k, 0) or 0) for k in ("n_raw", "clean", "quarantined", "excluded")}
        rows.append(
            [t(str(rec.get("round")), lang) if rec.get("round") in ROUNDS else str(rec.get("round"))]
            + [fieldwork_count(v, language=lang) for v in values.values()]
        )
    accounting = Table(
        [
            Column(t("round", lang), "left"),
            Column(t("raw_rows", lang)),
            Column(t("clean_rows", lang)),
            Column(t("quarantined_rows", lang)),
            Column(t("excluded_rows", lang)),
        ],
        rows,
        caption=_numbered(ctx, "accounting", t("accounting_caption", lang)),
    )
    parts: list[object] = [
        fragment(heading(t("data_quality", lang)), paragraph(render("rows_accounting", lang))),
        accounting,
    ]
    reasons = _quarantine_reasons(ctx)
    if reasons is not None:
        parts.append(reasons)
    return parts


def _quarantine_reasons(ctx: ProgrammeContext) -> Table | None:
    lang = ctx.language
    counts: dict[str, dict[str, int]] = {}
    # Every round of a study with more; baseline and followup otherwise.
    rounds = ctx.all_rounds.round_design.round_order if ctx.all_rounds is not None else ROUNDS
    for round_name in rounds:
        path = ctx.processed_dir / layout.quarantine_csv(round_name)
        if not path.is_file():
            continue
        frame = read_csv(path, dtype=str, keep_default_na=False, usecols=lambda c: c in ("_row", "reason"))
        if "reason" not in frame.columns:
            continue
        for reason, n in frame.drop_duplicates().groupby("reason").size().items():
            counts.setdefault(str(reason), {})[round_name] = int(n)
    if not counts:
        return None
    # Records quarantined are cleaning counts: shown at any size.
    # Reason codes (``ambiguous_number:income_other``) as phrases with the column's label.
    rows = [
        [reason_text(reason, lang, label=lambda name: _label(ctx, name))]
        + [fieldwork_count(by_round.get(r, 0), language=lang) for r in rounds]
        for reason, by_round in sorted(counts.items())
    ]
    header = t("quarantine_reason", lang)
    caption = t("quarantine_caption", lang)
    return Table(
        [Column(header, "left"), *(Column(t(r, lang) if r in ROUNDS else r) for r in rounds)],
        rows,
        caption=_numbered(ctx, "quarantine", caption),
    )


def attrition_section(ctx: ProgrammeContext) -> list[object]:
    """Households by arm (surveyed, found again, lost, new), attrition tests and Lee bounds."""
    lang = ctx.language
    if ctx.cross_section:
        return [fragment(heading(t("attrition", lang)), note(render("rcs_no_attrition", lang)))]
    table = summaries.attrition_by_arm(ctx.panel, min_cell=ctx.min_cell)
    labels = {
        "baseline": t("surveyed_baseline", lang),
        "panel": t("found_again", lang),
        "lost": t("not_found", lang),
        "new": t("new_followup", lang),
        "followup": t("surveyed_followup", lang),
    }
    arms = ("programme", "comparison", "total")
    rows = [
        [labels[key]]
        + [
            # Households not found again or new are fieldwork counts, published at any size.
            fieldwork_count(table.values[(key, arm)], language=lang)
            if key in summaries.FIELDWORK_CELLS
            else count(table.shown((key, arm)), language=lang, min_cell=ctx.min_cell)
            for arm in arms
        ]
        for key in labels
    ]
    # The arms are named by the unit that was assigned: villages, or households within them.
    arm_names = (
        ("programme_households", "comparison_households")
        if ctx.assignment.level == "household"
        else ("programme_villages", "comparison_villages")
    )
    counts_table = Table(
        [
            Column("", "left"),
            Column(t(arm_names[0], lang)),
            Column(t(arm_names[1], lang)),
            Column(t("total", lang)),
        ],
        rows,
        caption=_numbered(ctx, "attrition", t("attrition_caption", lang)),
        notes=[render("hidden_note", lang, n=ctx.min_cell)] if table.hidden else [],
    )
    # With an arm's size hidden, the difference in attrition rates would give it back from the
    # published households not found (the public attrition.csv leaves it empty as well).
    small = any(table.shown(("baseline", arm)) is None for arm in ("programme", "comparison"))
    reading = render(
        "attrition_programme_reading",
        lang,
        rate_t=_attrition_rate(ctx, table, "programme"),
        rate_c=_attrition_rate(ctx, table, "comparison"),
    )
    parts: list[object] = [fragment(heading(t("attrition", lang)), paragraph(reading)), counts_table]
    tests = _attrition_tests(ctx, hide_difference=small)
    if tests:
        parts.append(fragment(bullets(tests)))
    lee = ctx.table(layout.LEE_BOUNDS_CSV)
    parts += [_missing(ctx, layout.LEE_BOUNDS_CSV)] if lee is None else _lee_section(ctx, lee)
    return parts


def _attrition_rate(ctx: ProgrammeContext, table: SuppressedTable[tuple[str, str]], arm: str) -> object:
    """The attrition rate of one arm: exact where its baseline count is shown, hidden with it.

    The households not found are published at any size, so the rate needs no bound; where the
    baseline is hidden the rate is too (with the published number lost it would give it back).
    """
    base = table.shown(("baseline", arm))
    if base is None:
        return t("hidden", ctx.language)
    if base == 0:
        return "–"
    return percent(table.values[("lost", arm)] / base, ctx.language)


def _attrition_tests(ctx: ProgrammeContext, *, hide_difference: bool) -> list[object]:
    """Sentences for the differential-attrition tests of ``attrition.csv``.

    The selective-attrition (composition) test leads with its randomization-inference p-value,
    with the clustered F beside it and the warning that it over-rejects.
    """
    lang = ctx.language
    frame = ctx.table(layout.ATTRITION_CSV)
    if frame is None or "test" not in frame.columns:
        return []
    lines: list[object] = []
    for rec in frame.loc[frame["test"] != "rate"].to_dict("records"):
        test = str(rec["test"])
        if test == "differential_composition":
            sentences = _joint_test(
                ctx,
                rec,
                test=t("joint_composition", lang),
                sample=t("surveyed_baseline", lang).lower(),
                verdicts=("composition_alike", "composition_not_alike"),
            )
            lines.append(join(sentences, " "))
            continue
        p = _number(rec.get("p_value"))
        name = {
            "differential_rate": {
                "id": "Selisih tingkat atrisi (program − pembanding)",
                "en": "Difference in attrition rates (programme − comparison)",
            },
        }.get(test, {"id": test, "en": test})[lang]
        if not np.isfinite(p):
            reason = str(rec.get("note") or "").strip()
            fallback = {"id": "tidak dapat dihitung", "en": "could not be computed"}[lang]
            lines.append(join([name, ": ", fallback, f" ({reason})" if reason else ""]))
            continue
        estimate = _number(rec.get("estimate"))
        if test == "differential_rate" and np.isfinite(estimate) and not hide_difference:
            value = number(estimate * 100, lang, digits=1, signed=True)
            lines.append(
                join(
                    [
                        name,
                        ": ",
                        render("difference_pp", lang, value=value),
                        ", ",
                        render("p_is", lang, p=p_relation(p, lang)),
                    ]
                )
            )
        else:
            lines.append(join([name, ": ", render("p_is", lang, p=p_relation(p, lang))]))
    return lines


def _joint_test(
    ctx: ProgrammeContext,
    rec: Mapping[Hashable, object],
    *,
    test: str,
    sample: str,
    verdicts: tuple[str, str] | None,
) -> list[object]:
    """A joint test in words: the reliable p-value first, and the verdict that follows from it.

    The randomization-inference p-value (``p_value_ri``) leads when the estimate stage computed
    it (few clusters): the clustered F, shown beside it, over-rejects when the variables are not
    few next to the clusters. With many clusters there is no re-randomization and the F leads.
    ``verdicts`` are the text keys for "alike" and "not alike" (none: no verdict).
    """
    lang = ctx.language
    p_ri, p_f, f_stat = (_number(rec.get(k)) for k in ("p_value_ri", "p_value", "f_stat"))
    degrees = {
        "df1": integer(rec.get("df_num"), lang),
        "df2": integer(rec.get("df_denom"), lang),
        "f": number(f_stat, lang),
    }
    if np.isfinite(p_ri):
        reliable = p_ri
        parts: list[object] = [
            render(
                "joint_ri",
                lang,
                test=test,
                sample=sample,
                reps=integer(rec.get("ri_assignments"), lang),
                p=p_relation(p_ri, lang),
            )
        ]
    elif np.isfinite(p_f):
        reliable = p_f
        parts = [render("joint_f", lang, test=test, sample=sample, p=p_relation(p_f, lang), **degrees)]
    else:
        reason = str(rec.get("note") or "").strip()
        return [
            render(
                "joint_not_computed", lang, test=test, sample=sample, reason=f" ({reason})" if reason else ""
            )
        ]
    if verdicts is not None:
        parts.append(render(verdicts[0] if reliable >= 0.05 else verdicts[1], lang))
    if np.isfinite(p_ri) and np.isfinite(p_f):
        parts.append(render("joint_f_beside", lang, p=p_relation(p_f, lang), **degrees))
    return parts


def _number(value: object) -> float:
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
    return result


def _lee_section(ctx: ProgrammeContext, lee: pd.DataFrame) -> list[object]:
    lang = ctx.language
    if not {"outcome", "lower", "upper"} <= set(lee.columns):
        return [generic_table(ctx, lee, name=layout.LEE_BOUNDS_CSV)]
    main = _main_outcomes(ctx)
    readings = [
        paragraph(
            render(
                "lee_reading",
                lang,
                outcome=_label(ctx, str(rec["outcome"])),
                lower=_effect(ctx, str(rec["outcome"]), _number(rec["lower"])),
                upper=_effect(ctx, str(rec["outcome"]), _number(rec["upper"])),
            )
        )
        for rec in lee.to_dict("records")
        if rec["outcome"] in main[:2] and np.isfinite(_number(rec["lower"]))
    ]
    columns = [
        Column(t("outcome", lang), "left"),
        Column(t("unit", lang), "left"),
        Column({"id": "Batas bawah", "en": "Lower bound"}[lang]),
        Column({"id": "Batas atas", "en": "Upper bound"}[lang]),
        Column({"id": "Selang 95%", "en": "95% interval"}[lang]),
        Column({"id": "Kelompok dipangkas", "en": "Trimmed arm"}[lang]),
        Column({"id": "Bagian dipangkas", "en": "Share trimmed"}[lang]),
    ]
    rows = []
    for rec in lee.to_dict("records"):
        name = str(rec["outcome"])
        low, high = _number(rec.get("ci_low")), _number(rec.get("ci_high"))
        arm = str(rec.get("trimmed_arm") or "")
        rows.append(
            [
                _label(ctx, name),
                _unit(ctx, name),
                _effect(ctx, name, _number(rec["lower"]), table=True),
                _effect(ctx, name, _number(rec["upper"]), table=True),
                f"{_effect(ctx, name, low, table=True)} … {_effect(ctx, name, high, table=True)}"
                if np.isfinite(low)
                else "–",
                {
                    "control": t("comparison", lang),
                    "comparison": t("comparison", lang),
                    "treatment": t("programme", lang),
                }.get(arm, arm),
                percent(_number(rec.get("trim_share")), lang, digits=1),
            ]
        )
    caption = {"id": "Batas Lee (Lee 2009)", "en": "Lee (2009) bounds"}[lang]
    return [
        fragment(*readings),
        Table(
            columns,
            rows,
            caption=_numbered(ctx, "lee", caption),
            notes=[render("table_reading_generic", lang, table=layout.LEE_BOUNDS_CSV)],
        ),
    ]


def balance_section(ctx: ProgrammeContext) -> list[object]:
    """Baseline balance between the arms, led by the joint test that can be relied on.

    The joint test of all variables leads with its randomization-inference p-value
    (``balance.csv``'s ``p_value_ri``), and whether the arms look alike follows from it; the
    clustered F stands beside it with the warning that, with many variables and few clusters,
    it rejects far too often. The count of single variables that differ comes after.
    """
    lang = ctx.language
    balance = ctx.table(layout.BALANCE_CSV)
    parts: list[object] = [fragment(heading(t("balance", lang)))]
    if balance is None:
        return parts + [_missing(ctx, layout.BALANCE_CSV)]
    needed = {"variable", "mean_treatment", "mean_comparison", "difference", "p_value"}
    if not needed <= set(balance.columns):
        return parts + [generic_table(ctx, balance, name=layout.BALANCE_CSV)]
    frame = balance
    if "sample" in frame.columns and (frame["sample"] == "baseline").any():
        frame = frame.loc[frame["sample"] == "baseline"]
    kind = frame["row_type"] if "row_type" in frame.columns else pd.Series("variable", index=frame.index)
    variables = frame.loc[kind == "variable"]
    p = pd.to_numeric(variables["p_value"], errors="coerce")
    normalized = pd.to_numeric(
        variables.get("normalized_difference", pd.Series(dtype=float)), errors="coerce"
    )
    joint: list[object] = []
    for rec in balance.loc[balance.get("row_type", pd.Series(dtype=str)) == "joint_test"].to_dict("records"):
        sample = str(rec.get("sample"))
        label = {"baseline": t("surveyed_baseline", lang), "panel": t("found_again", lang)}.get(
            sample, sample
        )
        joint.append(
            paragraph(
                join(
                    _joint_test(
                        ctx,
                        rec,
                        test=t("joint_balance", lang),
                        sample=label.lower(),
                        # Whether the arms look alike is judged on the randomized sample.
                        verdicts=("balance_alike", "balance_not_alike") if sample == "baseline" else None,
                    ),
                    " ",
                )
            )
        )
    if ctx.withheld or not p.notna().any():
        reading = render("balance_reading_withheld", lang, reason=_withheld_reason(ctx))
    else:
        reading = render(
            "balance_reading",
            lang,
            k=int(p.notna().sum()),
            s=int((p < 0.05).sum()),
            expected=number(0.05 * p.notna().sum(), lang, digits=1),
            se=_se_name(ctx),
        )
    extra = []
    if normalized.notna().any():
        large = int((normalized.abs() > 0.25).sum())
        extra.append(
            {
                "id": f"Selisih ternormalisasi di atas 0,25 (aturan praktis Imbens–Rubin): {large}.",
                "en": f"Normalized differences above 0.25 (the Imbens–Rubin rule of thumb): {large}.",
            }[lang]
        )
    columns = [
        Column({"id": "Variabel", "en": "Variable"}[lang], "left"),
        Column(t("unit", lang), "left"),
        Column({"id": "Rata-rata program", "en": "Programme mean"}[lang]),
        Column({"id": "Rata-rata pembanding", "en": "Comparison mean"}[lang]),
        Column({"id": "Selisih (galat baku)", "en": "Difference (std. error)"}[lang]),
        Column({"id": "Selisih ternormalisasi", "en": "Normalized difference"}[lang]),
        Column(t("p_se", lang, se=_se_name(ctx))),
    ]
    rows = []
    for rec in variables.to_dict("records"):
        name = str(rec["variable"])
        rows.append(
            [
                _label(ctx, name),
                _unit(ctx, name),
                _level(ctx, name, _number(rec["mean_treatment"])),
                _level(ctx, name, _number(rec["mean_comparison"])),
                f"{_effect(ctx, name, _number(rec['difference']), signed=False, table=True)} "
                f"({_effect(ctx, name, _number(rec.get('std_error')), signed=False, table=True)})",
                number(_number(rec.get("normalized_difference")), lang, signed=True),
                p_value(_number(rec["p_value"]), lang),
            ]
        )
    n_t = pd.to_numeric(variables.get("n_treatment", pd.Series(dtype=float)), errors="coerce").max()
    n_c = pd.to_numeric(variables.get("n_comparison", pd.Series(dtype=float)), errors="coerce").max()
    caption = join(
        [
            t("balance", lang),
            " · ",
            t("programme", lang),
            ": ",
            count(n_t if np.isfinite(n_t) else None, language=lang, min_cell=ctx.min_cell),
            ", ",
            t("comparison", lang),
            ": ",
            count(n_c if np.isfinite(n_c) else None, language=lang, min_cell=ctx.min_cell),
            " ",
            t("n_households", lang).lower(),
        ]
    )
    parts += [
        fragment(*joint, paragraph(join([reading, *(join([" ", e]) for e in extra)]))),
        Table(
            columns,
            rows,
            caption=_numbered(ctx, "balance", caption),
            notes=[render("table_reading_generic", lang, table=layout.BALANCE_CSV)],
        ),
    ]
    return parts


def impact_section(ctx: ProgrammeContext) -> list[object]:
    """The main impact table, as esttab or iebaltab lay it out, without significance stars.

    One row per outcome, grouped by goal: its unit, the comparison households' mean at
    follow-up, the estimate (standard error) of each estimator in the unit of the row, the
    primary estimator's p-values (the wild-bootstrap one first where computed: the p-value the
    report reads), its q-value within the goal and its number of households. An outcome with no
    primary estimate (measured only at follow-up) takes the follow-up difference's p-values and
    N, marked † and explained below the table.
    """
    lang = ctx.language
    outcomes = _outcomes(ctx, indices=False)
    estimators = [e for e in TESTED_ESTIMATORS if (ctx.impact["estimator"] == e).any()]
    primary = ESTIMATOR_LABELS[ctx.primary][lang]
    chosen = {o: _primary(ctx, o) for o in outcomes}

    def inference(outcome: str, column: str) -> float:
        pick = chosen[outcome]
        return _inference_value(ctx, outcome, pick.estimator, column) if pick is not None else float("nan")

    has_wild = any(np.isfinite(inference(o, "p_value_wild")) for o in outcomes)
    has_q = any(np.isfinite(inference(o, "q_value_family")) for o in outcomes)
    se = _se_name(ctx)
    columns = [
        Column(t("outcome", lang), "left"),
        Column(t("unit", lang), "left"),
        Column(t("comparison_mean", lang)),
    ]
    columns += [Column(ESTIMATOR_LABELS[e][lang]) for e in estimators]
    if has_wild:
        columns.append(Column(t("p_wild", lang)))
    columns.append(Column(t("p_se", lang, se=se)))
    if has_q:
        columns.append(Column(t("q_within_goal", lang)))
    columns.append(Column(t("n_obs", lang)))
    rows: list[object] = []
    current: str | None = "-"
    fallbacks: dict[str, str] = {}
    for outcome in outcomes:
        family = _family(ctx, outcome)
        if family != current:
            current = family
            # An outcome without a family gets no (empty) group row.
            if _family_label(ctx, family):
                rows.append(GroupRow(_family_label(ctx, family)))
        pick = chosen[outcome]
        label: object = _label(ctx, outcome)
        if pick is not None and pick.reason:
            label = join([label, " †"])
            fallbacks.setdefault(pick.reason, outcome)
        cells: list[object] = [label, _unit(ctx, outcome), _comparison_mean(ctx, outcome)]
        cells += [_estimate_cell(ctx, outcome, _impact_row(ctx, outcome, e)) for e in estimators]
        if has_wild:
            cells.append(p_value(inference(outcome, "p_value_wild"), lang))
        cells.append(p_value(pick.row["p_value"], lang) if pick is not None else "–")
        if has_q:
            cells.append(p_value(inference(outcome, "q_value_family"), lang))
        cells.append(
            count(pick.row["n_obs"], language=lang, min_cell=ctx.min_cell) if pick is not None else "–"
        )
        rows.append(cells)
    notes: list[object] = [
        render("impact_fallback_note", lang, primary=primary, reason=render(reason, lang))
        for reason in fallbacks
    ]
    if ctx.withheld:
        notes.append(render("no_inference", lang, reason=_withheld_reason(ctx)))
    which = render("impact_p_wild", lang, se=se) if has_wild else render("impact_p_se", lang, se=se)
    table = Table(
        columns,
        rows,  # type: ignore[arg-type]
        caption=_numbered(ctx, "impacts", t("impacts", lang)),
        notes=notes,
    )
    return [
        fragment(
            heading(t("impacts", lang)),
            paragraph(render("impact_reading", lang, primary=primary, which=which)),
        ),
        table,
    ]


def _comparison_mean(ctx: ProgrammeContext, outcome: str) -> object:
    """The comparison households' mean at follow-up (women respondents for a women's twin).

    A mean of fewer than ``min_cell`` households is hidden; the shown one carries its base for
    the disclosure scan.
    """
    column = _column(ctx, outcome, "followup")
    if column is None:
        return "–"
    rows = None
    if outcome.endswith("_women"):
        sex = ctx.codebook.by_role("respondent_sex") if ctx.codebook is not None else []
        if not sex or sex[0].name not in ctx.panel.columns:
            return "–"
        rows = is_woman(ctx.panel[sex[0].name])
    mean, n = summaries.arm_mean(ctx.panel, column, arm=0, rows=rows)
    if n < ctx.min_cell:
        return element("span", t("hidden", ctx.language), cls="n suppressed") if n else "–"
    return statistic(_level(ctx, outcome, mean), base=n)


def _estimate_cell(ctx: ProgrammeContext, outcome: str, row: pd.Series | None) -> str:
    """``estimate (standard error)`` in the unit of the outcome, with its fixed decimals; no stars."""
    if row is None:
        return "–"
    value = _effect(ctx, outcome, float(row["estimate"]), signed=False, table=True)
    se = _effect(ctx, outcome, float(row["std_error"]), signed=False, table=True)
    return f"{value} ({se})"


def indices_section(ctx: ProgrammeContext) -> list[object]:
    """Family indices (KLK and ICW) with their q-values, adjusted across goals."""
    lang = ctx.language
    parts: list[object] = [fragment(heading(t("indices", lang)))]
    names = _outcomes(ctx, indices=True)
    if not names:
        return parts + [_missing(ctx, f"{layout.IMPACT_CSV} (index_klk_*, index_icw_*)")]
    families = list(dict.fromkeys(_family(ctx, n) or "" for n in names))
    kinds = [k for k in ("klk", "icw") if any(n.startswith(f"index_{k}_") for n in names)]
    columns = [Column(t("goal", lang), "left")]
    for kind in kinds:
        columns += [Column(t(f"index_{kind}", lang)), Column(t("q_value", lang))]
    rows = []
    strong = []
    for family in families:
        cells: list[object] = [_family_label(ctx, family)]
        for kind in kinds:
            name = f"index_{kind}_{family}"
            row = _impact_row(ctx, name, ctx.primary)
            cells.append(_estimate_cell(ctx, name, row))
            q = _inference_value(ctx, name, ctx.primary, "q_value_family")
            cells.append(p_value(q, lang))
            if kind == kinds[0] and np.isfinite(q) and q < 0.05:
                strong.append(_family_label(ctx, family))
        rows.append(cells)
    has_q = ctx.table(layout.IMPACT_INFERENCE_CSV) is not None
    if ctx.withheld:
        judged: object = render("indices_withheld", lang, reason=_withheld_reason(ctx))
    elif strong:
        judged = render("indices_strong", lang, goals=list_words(strong, lang))
    else:
        judged = render("indices_none", lang) if has_q else ""
    reading = render("indices_reading", lang, strong=judged)
    missing = render("section_missing", lang, table=f"{layout.TABLES_DIR}/{layout.IMPACT_INFERENCE_CSV}")
    caption = f"{t('indices', lang)} · {ESTIMATOR_LABELS[ctx.primary][lang]}"
    parts += [
        fragment(paragraph(reading)),
        Table(columns, rows, caption=_numbered(ctx, "indices", caption), notes=[] if has_q else [missing]),
    ]
    if ctx.table(layout.INDEX_WEIGHTS_CSV) is not None:
        parts.append(fragment(note(render("table_reading_generic", lang, table=layout.INDEX_WEIGHTS_CSV))))
    return parts


def coefficient_section(ctx: ProgrammeContext) -> list[object]:
    """A coefficient plot of every outcome in comparison-group SD units, grouped by family."""
    lang = ctx.language
    data = coefficient_data(ctx)
    if data.empty and ctx.withheld:
        # The plot is of intervals; without any, say why rather than show an empty figure.
        why = render("no_inference", lang, reason=_withheld_reason(ctx))
        return [fragment(heading(t("coefficients", lang)), note(why))]
    fig = figures.coefficient_plot(data, language=lang)
    alt = "; ".join(
        f"{r['label']} ({ESTIMATOR_LABELS[str(r['estimator'])][lang]}): {number(r['z'], lang)} "
        f"[{number(r['lo'], lang)}, {number(r['hi'], lang)}]"
        for r in data.to_dict("records")
        if r["estimator"] == ctx.primary
    )
    return [fragment(heading(t("coefficients", lang)))] + figure_block(
        fig,
        alt=alt,
        caption=_numbered(ctx, "coefficients", render("coefficients_reading", lang), kind="figure"),
        base=None,
        language=lang,
        min_cell=ctx.min_cell,
    )


def coefficient_data(ctx: ProgrammeContext) -> pd.DataFrame:
    """Estimates and intervals of DiD and ANCOVA divided by the comparison group's baseline SD.

    Outcomes have different units, so each is divided by its standard deviation among
    comparison households at baseline (at follow-up when it was not measured at baseline);
    family indices are already in those units.
    """
    rows = []
    for outcome in _outcomes(ctx, indices=False) + _outcomes(ctx, indices=True):
        if outcome.startswith("index_icw_"):
            continue  # the KLK index stands for each family; ICW is in the indices table
        sd = 1.0 if outcome.startswith("index_") else _comparison_sd(ctx, outcome)
        if not np.isfinite(sd) or sd <= 0:
            continue
        family = _family(ctx, outcome) or ""
        group = _family_label(ctx, family)
        for estimator in ("ancova", "did"):
            row = _impact_row(ctx, outcome, estimator)
            if row is None or not np.isfinite(row["ci_low"]):
                continue
            label = _label(ctx, outcome)
            rows.append(
                {
                    "label": label,
                    "group": group,
                    "estimator": estimator,
                    "z": float(row["estimate"]) / sd,
                    "lo": float(row["ci_low"]) / sd,
                    "hi": float(row["ci_high"]) / sd,
                    "order": _family_order(family),
                }
            )
    frame = pd.DataFrame(rows, columns=["label", "group", "estimator", "z", "lo", "hi", "order"])
    return frame.sort_values("order", kind="stable").reset_index(drop=True)


def _comparison_sd(ctx: ProgrammeContext, outcome: str) -> float:
    if outcome not in ctx.panel.columns:
        return float("nan")
    values = pd.to_numeric(ctx.panel[outcome], errors="coerce")
    comparison = ctx.panel["treatment"] == 0
    for round_name in ROUNDS:
        chosen = values.loc[comparison & (ctx.panel["round"] == round_name)].dropna()
        if len(chosen) >= 2:
            return float(chosen.std(ddof=1))
    return float("nan")


def alkire_foster_section(ctx: ProgrammeContext) -> list[object]:
    """The Alkire–Foster profile: H, A and M0 by round and arm, and each goal's contribution."""
    lang = ctx.language
    parts: list[object] = [fragment(heading(t("alkire_foster", lang)))]
    table = ctx.table(layout.ALKIRE_FOSTER_CSV)
    if table is None:
        return parts + [_missing(ctx, layout.ALKIRE_FOSTER_CSV)]
    if not {"round", "arm", "statistic", "value"} <= set(table.columns):
        return parts + [generic_table(ctx, table, name=layout.ALKIRE_FOSTER_CSV)]
    arms = {
        "treatment": t("programme", lang),
        "programme": t("programme", lang),
        "comparison": t("comparison", lang),
        "all": t("total", lang),
    }
    headline_rows = table.loc[table["statistic"].isin(["H", "A", "M0"])]
    rows = []
    for (round_name, arm), group in headline_rows.groupby(["round", "arm"], sort=False):
        values = dict(zip(group["statistic"], pd.to_numeric(group["value"], errors="coerce"), strict=False))
        n = pd.to_numeric(group.get("n", pd.Series(dtype=float)), errors="coerce").max()
        rows.append(
            [
                t(str(round_name), lang) if round_name in ROUNDS else str(round_name),
                arms.get(str(arm), str(arm)),
                percent(values.get("H"), lang, digits=1),
                percent(values.get("A"), lang, digits=1),
                number(values.get("M0"), lang, digits=3),
                count(n if np.isfinite(n) else None, language=lang, min_cell=ctx.min_cell),
            ]
        )
    k = pd.to_numeric(table.get("k", pd.Series(dtype=float)), errors="coerce").dropna()
    cutoff = f"k = {number(k.iloc[0], lang, digits=2)}" if len(k) else ""
    profile = Table(
        [
            Column(t("round", lang), "left"),
            Column(t("arm", lang), "left"),
            Column({"id": "H (belum berdaya)", "en": "H (disempowered)"}[lang]),
            Column({"id": "A (intensitas)", "en": "A (intensity)"}[lang]),
            Column("M0 = H × A"),
            Column(t("n_households", lang)),
        ],
        rows,
        caption=_numbered(ctx, "af_profile", f"{t('alkire_foster', lang)} · {cutoff}"),
    )
    cutoffs = _af_cutoffs(ctx, table, k=cutoff)
    reading = [paragraph(render("af_reading", lang))]
    if cutoffs is not None:
        reading.append(paragraph(render("af_cutoffs_reading", lang)))
    parts += [fragment(*reading), profile]
    if cutoffs is not None:
        parts.append(cutoffs)
    contributions = table.loc[(table["statistic"] == "contribution") & (table["round"] == "followup")]
    if "indicator" in contributions.columns and contributions["indicator"].isna().any():
        # Goal-level rows (no indicator) already sum their indicators; use them alone.
        contributions = contributions.loc[contributions["indicator"].isna()]
    if not contributions.empty and "goal" in contributions.columns:
        by_goal = (
            contributions.assign(value=pd.to_numeric(contributions["value"], errors="coerce"))
            .groupby(["goal", "arm"])["value"]
            .sum()
            .unstack("arm")
        )
        goal_rows = [
            [FAMILY_LABELS.get(str(goal), {}).get(lang, str(goal))]
            + [percent(by_goal.loc[goal].get(a), lang, digits=1) for a in by_goal.columns]
            for goal in sorted(by_goal.index, key=lambda g: _family_order(str(g)))
        ]
        parts.append(
            Table(
                [Column(t("goal", lang), "left")]
                + [Column(arms.get(str(a), str(a))) for a in by_goal.columns],
                goal_rows,
                caption=_numbered(
                    ctx,
                    "af_contributions",
                    {
                        "id": "Sumbangan setiap tujuan pada M0, survei lanjutan",
                        "en": "Contribution of each goal to M0, follow-up",
                    }[lang],
                ),
                notes=[render("table_reading_generic", lang, table=layout.ALKIRE_FOSTER_CSV)],
            )
        )
    return parts


def _af_cutoffs(ctx: ProgrammeContext, table: pd.DataFrame, *, k: str) -> Table | None:
    """The adequacy cutoff of each indicator, and whether it was set or chosen from the data."""
    lang = ctx.language
    if not {"goal", "indicator", "note"} <= set(table.columns):
        return None
    rows_in = table.loc[table["statistic"] == "cutoff"]
    if rows_in.empty:
        return None
    rows = []
    for rec in rows_in.to_dict("records"):
        indicator, note_text = str(rec.get("indicator")), str(rec.get("note") or "")
        value = _number(rec.get("value"))
        if "data-driven" in note_text or "median" in note_text:
            source = t("cutoff_data", lang)
        elif note_text.startswith("yes/no"):
            source = t("cutoff_binary", lang)
        elif "poverty line" in note_text:
            source = t("cutoff_poverty", lang)
        else:
            source = note_text or t("cutoff_study", lang)
        rows.append(
            [
                _family_label(ctx, str(rec.get("goal"))),
                _label(ctx, indicator),
                number(value, lang, digits=0 if float(value).is_integer() else 2)
                if np.isfinite(value)
                else "–",
                source,
            ]
        )
    return Table(
        [
            Column(t("goal", lang), "left"),
            Column(t("indicator", lang), "left"),
            Column(t("cutoff", lang)),
            Column(t("cutoff_source", lang), "left"),
        ],
        rows,
        caption=_numbered(ctx, "af_cutoffs", t("af_cutoffs_caption", lang, k=k)),
    )


def mde_section(ctx: ProgrammeContext) -> list[object]:
    """Minimum detectable effects: what this sample could and could not have seen."""
    lang = ctx.language
    parts: list[object] = [fragment(heading(t("mde", lang)))]
    table = ctx.table(layout.MDE_CSV)
    if table is None:
        return parts + [_missing(ctx, layout.MDE_CSV)]
    if not {"outcome", "mde_sd"} <= set(table.columns):
        return parts + [generic_table(ctx, table, name=layout.MDE_CSV)]
    table = table.assign(mde_sd=pd.to_numeric(table["mde_sd"], errors="coerce"))
    rows = []
    chosen: dict[str, dict[str, object]] = {}
    for outcome, group in table.groupby("outcome", sort=False):
        usable = group.loc[group["mde_sd"].notna()]
        if usable.empty:
            continue
        preferred = usable.loc[usable.get("design", pd.Series(dtype=str)) == ctx.primary]
        chosen[str(outcome)] = {
            str(k): v for k, v in (preferred if len(preferred) else usable).iloc[0].items()
        }
    for outcome in sorted(chosen, key=lambda o: _family_order(_family(ctx, o))):
        rec = chosen[outcome]
        design = str(rec.get("design", ""))
        rows.append(
            [
                _label(ctx, outcome),
                ESTIMATOR_LABELS.get(design, {}).get(lang, design),
                number(_number(rec.get("icc")), lang, digits=2),
                number(_number(rec.get("mde_sd")), lang, digits=2),
                _effect(ctx, outcome, _number(rec.get("mde")), signed=False, table=True),
                _unit(ctx, outcome),
            ]
        )
    reading: object = render("mde_reading_generic", lang)
    for outcome in _main_outcomes(ctx):
        if outcome in chosen:
            rec = chosen[outcome]
            value = join(
                [
                    _effect(ctx, outcome, _number(rec.get("mde")), signed=False),
                    f" ({number(_number(rec.get('mde_sd')), lang, digits=2)} SD)",
                ]
            )
            reading = join([_label(ctx, outcome), ": ", render("mde_reading", lang, value=value)])
            break
    notes = sorted({str(n) for n in table.get("note", pd.Series(dtype=str)).dropna() if str(n).strip()})
    columns = [
        Column(t("outcome", lang), "left"),
        Column({"id": "Penduga", "en": "Estimator"}[lang], "left"),
        Column("ICC"),
        Column({"id": "MDE (simpangan baku)", "en": "MDE (standard deviations)"}[lang]),
        Column({"id": "MDE (satuan indikator)", "en": "MDE (outcome units)"}[lang]),
        Column(t("unit", lang), "left"),
    ]
    return parts + [
        fragment(paragraph(reading)),
        Table(
            columns,
            rows,
            caption=_numbered(ctx, "mde", t("mde", lang)),
            notes=[*notes, render("table_reading_generic", lang, table=layout.MDE_CSV)],
        ),
    ]


def rounds_section(ctx: ProgrammeContext) -> list[object]:
    """A study with more than two rounds or no ``id``: what the design means, and the event study.

    For a repeated cross-section, what the design means for reading the tables. For a panel,
    ``twfe`` and ``cs_att`` of every outcome (``twfe`` labelled as biased under staggered
    timing), and for each outcome the event-study plot (estimate and 95% band by event time,
    −1 the reference, pre-periods shown) and the joint test of the pre-period coefficients.
    Nothing for a two-round study.
    """
    if ctx.all_rounds is None:
        return []
    lang = ctx.language
    order = ctx.all_rounds.round_design.round_order
    parts: list[object] = [
        fragment(
            heading(t("rounds_heading", lang)),
            paragraph(
                render(
                    "rounds_compare",
                    lang,
                    n=len(order),
                    rounds=", ".join(order),
                    first=order[0],
                    last=order[-1],
                )
            ),
        )
    ]
    if ctx.cross_section:
        return parts + [fragment(paragraph(render("rcs_design", lang)))]
    parts.append(fragment(paragraph(render("programme_group_reached", lang))))
    events = read_output_table(ctx.tables_dir, layout.EVENT_STUDY_CSV)
    tests = read_output_table(ctx.tables_dir, layout.PRETREND_CSV)
    controls = t(f"controls_{ctx.all_rounds.round_design.controls}", lang)
    parts.append(fragment(note(render("twfe_label", lang, controls=controls))))
    outcomes = [o for o in dict.fromkeys(ctx.impact["outcome"].astype(str)) if not o.startswith("index_")]
    rows = []
    for outcome in outcomes:
        cells = [_label(ctx, outcome), _unit(ctx, outcome)]
        found = False
        for estimator in STAGGERED_ESTIMATORS:
            row = _impact_row(ctx, outcome, estimator)
            found = found or row is not None
            cells.append(_estimate_cell(ctx, outcome, row))
        if found:
            rows.append(cells)
    if rows:
        columns = [Column(t("outcome", lang), "left"), Column(t("unit", lang), "left")]
        columns += [Column(ESTIMATOR_LABELS[e][lang]) for e in STAGGERED_ESTIMATORS]
        caption = _numbered(ctx, "staggered", t("staggered_caption", lang))
        parts.append(Table(columns, rows, caption=caption))
    if events is None or events.empty:
        return parts + [_missing(ctx, layout.EVENT_STUDY_CSV)]
    for outcome in outcomes:
        data = events.loc[events["outcome"].astype(str) == outcome]
        if data.empty:
            continue
        label = _label(ctx, outcome)
        alt = " ".join(
            f"{ESTIMATOR_LABELS[str(estimator)][lang].split(':')[0]}: "
            + "; ".join(
                f"e = {int(r['event_time'])}: "
                + (
                    t("event_reference", lang)
                    if int(r["event_time"]) == -1
                    else f"{_effect(ctx, outcome, r['estimate'], table=True)} "
                    f"[{_effect(ctx, outcome, r['ci_low'], table=True)}, "
                    f"{_effect(ctx, outcome, r['ci_high'], table=True)}]"
                )
                for r in part.sort_values("event_time").to_dict("records")
            )
            + "."
            for estimator, part in data.groupby("estimator", sort=False)
        )
        parts.append(fragment(heading(label, level=3)))
        parts += figure_block(
            figures.event_study_plot(data, language=lang),
            alt=f"{label}. {alt}",
            caption=_numbered(
                ctx,
                f"event_study_{outcome}",
                render("event_study_reading", lang, outcome=label),
                kind="figure",
            ),
            base=None,
            language=lang,
            min_cell=ctx.min_cell,
        )
        for estimator in STAGGERED_ESTIMATORS:
            if (
                tests is not None
                and ((tests["outcome"] == outcome) & (tests["estimator"] == estimator)).any()
            ):
                parts.append(fragment(paragraph(_pretrend(ctx, tests, outcome, estimator))))
    return parts


def _pretrend(ctx: ProgrammeContext, tests: pd.DataFrame, outcome: str, estimator: str) -> Safe:
    """The sentence of one joint pre-trend test (``tables/pretrend.csv``)."""
    lang = ctx.language
    row = tests.loc[(tests["outcome"] == outcome) & (tests["estimator"] == estimator)].iloc[0]
    name = ESTIMATOR_LABELS[estimator][lang].split(":")[0]
    p = _number(row["p_value"])
    if not np.isfinite(p):
        why = str(row["note"]) if isinstance(row["note"], str) and row["note"] else "–"
        return render("pretrend_none", lang, estimator=name, why=why)
    df, denom = int(row["df"]), _number(row["df_denom"])
    statistic = number(row["statistic"], lang)
    test = f"F({df}, {int(denom)}) = {statistic}" if np.isfinite(denom) else f"χ²({df}) = {statistic}"
    verdict = t("pretrend_ok" if p >= 0.05 else "pretrend_bad", lang)
    return render("pretrend_sentence", lang, estimator=name, test=test, p=p_value(p, lang), verdict=verdict)


def methods_section(ctx: ProgrammeContext) -> list[object]:
    """Which estimator is primary and why, inference, and disclosure control.

    Inference is described as computed: the standard errors (CR1 by what, or HC1), the strata
    fixed effects by name, and the wild bootstrap's draws, weights and the null it imposes. The
    design paragraph is in the design section only.
    """
    lang = ctx.language
    method = "methods_randomized" if ctx.design == "randomized" else "methods_matched"
    assigned = t(
        "programme_households" if ctx.assignment.level == "household" else "programme_villages", lang
    )
    return [
        fragment(
            heading(t("methods", lang)),
            paragraph(render(method, lang, assigned=assigned)),
            paragraph(join([_standard_errors(ctx), " ", _strata_sentence(ctx)])),
            paragraph(_wild_sentence(ctx)),
            paragraph(render("methods_rest", lang)),
            paragraph(render("methods_withheld", lang, reason=_withheld_reason(ctx))) if ctx.withheld else "",
            # The same rule, word for word, as the index page and docs/disclosure.md.
            paragraph(disclosure_rule(lang, min_cell=ctx.min_cell)),
            paragraph(render("methods_top_coding", lang)),
        )
    ]


def _strata_sentence(ctx: ProgrammeContext) -> Safe:
    """The strata fixed effects by name (the village list's strata column) and number."""
    lang = ctx.language
    strata = ctx.panel["strata"].dropna() if "strata" in ctx.panel.columns else pd.Series(dtype=object)
    if strata.nunique() <= 1:
        return render("methods_no_strata", lang)
    name = (
        ctx.study.villages.strata
        if ctx.study.villages is not None and ctx.study.villages.strata
        else "strata"
    )
    return render("methods_strata", lang, n=integer(strata.nunique(), lang), name=name)


_WILD_WEIGHTS = {"rademacher": "Rademacher", "webb": "Webb (six-point)", "mammen": "Mammen"}


def _wild_sentence(ctx: ProgrammeContext) -> Safe:
    """How the wild-bootstrap p-values were drawn (``impact_inference.csv``), or that there are none."""
    lang = ctx.language
    inference = ctx.table(layout.IMPACT_INFERENCE_CSV)
    needed = {"p_value_wild", "wild_reps", "wild_weights"}
    rows = pd.DataFrame() if inference is None or not needed <= set(inference.columns) else inference
    if len(rows):
        rows = rows.loc[pd.to_numeric(rows["p_value_wild"], errors="coerce").notna()]
    if rows.empty:
        return render("methods_no_wild", lang, se=_se_name(ctx))
    reps = pd.to_numeric(rows["wild_reps"], errors="coerce").max()
    enumerated = (
        "wild_enumerated" in rows and rows["wild_enumerated"].astype(str).str.lower().eq("true").any()
    )
    draws = render("wild_enumerated" if enumerated else "wild_draws", lang, n=integer(reps, lang))
    weights = (
        str(rows["wild_weights"].dropna().astype(str).mode().iloc[0])
        if rows["wild_weights"].notna().any()
        else ""
    )
    clusters = ctx.clustering.clusters
    return render(
        "methods_wild",
        lang,
        clusters=integer(clusters, lang) if np.isfinite(clusters) else "–",
        draws=draws,
        weights=_WILD_WEIGHTS.get(weights.lower(), weights),
    )


def publication_section(ctx: ProgrammeContext) -> list[object]:
    """Where the LaTeX tables are (file names only)."""
    lang = ctx.language
    files = sorted(p.name for p in ctx.tables_dir.glob("*.tex"))
    if not files:
        return []
    return [
        fragment(
            heading(t("publication", lang)),
            paragraph(render("publication_note", lang, files=", ".join(files))),
        )
    ]


def provenance(ctx: ProgrammeContext) -> Html:
    """The provenance block."""
    facts = read_provenance(ctx.tables_dir, ctx.study, root=PROJECT_ROOT)
    return provenance_block(
        facts,
        parameters={
            "language": ctx.language,
            "min_cell": ctx.min_cell,
            "seed": ctx.study.seed,
            "design": ctx.design,
            "primary_estimator": ctx.primary,
        },
        language=ctx.language,
        started=ctx.started,
    )


# ---------------------------------------------------------------------------------------------
# Generic rendering of the estimate stage's tables, and the LaTeX export

_HEADERS: dict[str, dict[str, str]] = {
    "outcome": {"id": "Indikator", "en": "Outcome"},
    "variable": {"id": "Variabel", "en": "Variable"},
    "family": {"id": "Tujuan", "en": "Goal"},
    "estimator": {"id": "Penduga", "en": "Estimator"},
    "arm": {"id": "Kelompok", "en": "Arm"},
    "round": {"id": "Putaran", "en": "Round"},
    "mean_treatment": {"id": "Rata-rata program", "en": "Programme mean"},
    "mean_control": {"id": "Rata-rata pembanding", "en": "Comparison mean"},
    "mean_comparison": {"id": "Rata-rata pembanding", "en": "Comparison mean"},
    "difference": {"id": "Selisih", "en": "Difference"},
    "estimate": {"id": "Perkiraan", "en": "Estimate"},
    "std_error": {"id": "Galat baku", "en": "Std. error"},
    "p_value": {"id": "p", "en": "p"},
    "n_obs": {"id": "Rumah tangga", "en": "Households"},
    "n_clusters": {"id": "Desa", "en": "Villages"},
    "lower": {"id": "Batas bawah", "en": "Lower bound"},
    "upper": {"id": "Batas atas", "en": "Upper bound"},
}

#: Columns of the estimate stage's tables that are never shown (bookkeeping, not results).
_SKIP = {"note", "q_group", "q_source", "se_type", "wild_enumerated"}


def generic_table(ctx: ProgrammeContext, frame: pd.DataFrame, *, name: str, max_rows: int = 60) -> Table:
    """Show a table of the estimate stage: labels for known columns, numbers formatted.

    Columns named ``n``, ``n_*`` or ``households*`` are household counts and go through
    disclosure control like every other count; ``p_*`` and ``q_*`` are p-values.
    """
    lang = ctx.language
    shown = [c for c in frame.columns if c not in _SKIP and frame[c].notna().any()]
    columns = [
        Column(
            _HEADERS.get(c, {}).get(lang, c.replace("_", " ")),
            "left" if not pd.api.types.is_numeric_dtype(frame[c]) else "right",
        )
        for c in shown
    ]
    rows = []
    for rec in frame.head(max_rows).to_dict("records"):
        cells: list[object] = []
        for c in shown:
            value = rec[c]
            if c in ("outcome", "variable", "component") and isinstance(value, str):
                cells.append(_label(ctx, value))
            elif c == "family" and isinstance(value, str):
                cells.append(FAMILY_LABELS.get(value, {}).get(lang, value))
            elif c == "estimator" and isinstance(value, str):
                cells.append(ESTIMATOR_LABELS.get(value, {}).get(lang, value))
            elif _is_count_column(c) and pd.api.types.is_number(value):
                number_ = float(value)  # type: ignore[arg-type]
                cells.append(
                    count(number_ if np.isfinite(number_) else None, language=lang, min_cell=ctx.min_cell)
                )
            elif (c.startswith("p_") or c.startswith("q_") or c == "p") and pd.api.types.is_number(value):
                cells.append(p_value(value, lang))
            elif isinstance(value, bool | np.bool_):
                cells.append("✓" if value else "")
            elif pd.api.types.is_number(value):
                cells.append(significant_figures(value, lang))
            else:
                cells.append(
                    "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
                )
        rows.append(cells)
    notes = [render("table_reading_generic", lang, table=name)]
    return Table(columns, rows, notes=notes)


def _is_count_column(name: str) -> bool:
    return name == "n" or name.startswith("n_") and name != "n_clusters" or name.startswith("households")


def latex_document(ctx: ProgrammeContext) -> str:
    """The programme report's tables as one standalone LaTeX (booktabs) document.

    Tables only: figures are in ``programme.html``. Every cell is escaped for LaTeX.
    """
    # In the order of the page, so that the tables keep the numbers they have there.
    sections: list[tuple[str, list[object]]] = [
        (t("data_quality", ctx.language), data_quality_section(ctx)),
        (t("balance", ctx.language), balance_section(ctx)),
        (t("attrition", ctx.language), attrition_section(ctx)),
        (t("impacts", ctx.language), impact_section(ctx)),
        (t("indices", ctx.language), indices_section(ctx)),
        (t("alkire_foster", ctx.language), alkire_foster_section(ctx)),
        (t("mde", ctx.language), mde_section(ctx)),
    ]
    body = []
    for number_, (title_text, parts) in enumerate(sections, start=1):
        tables = [p for p in parts if isinstance(p, Table)]
        if not tables:
            continue
        body.append(f"\\section*{{{latex_escape(title_text)}}}")
        body += [tab.to_latex(label=f"tab:{number_}-{i}") for i, tab in enumerate(tables, start=1)]
    return "\n".join(
        [
            "\\documentclass[11pt]{article}",
            "\\usepackage[utf8]{inputenc}",
            "\\usepackage[T1]{fontenc}",
            "\\usepackage{booktabs}",
            "\\usepackage[margin=2cm]{geometry}",
            f"\\title{{{latex_escape(t('programme_title', ctx.language) + ': ' + ctx.study.name)}}}",
            "\\date{}",
            "\\begin{document}",
            "\\maketitle",
            *body,
            "\\end{document}",
            "",
        ]
    )


def write_latex(ctx: ProgrammeContext) -> Path:
    """Write :func:`latex_document` to ``tables/programme_report.tex`` (atomically)."""
    path = ctx.tables_dir / layout.PROGRAMME_TEX
    write_text_atomic(path, latex_document(ctx))
    return path
