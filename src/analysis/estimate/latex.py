r"""LaTeX versions of the main tables, to paste into a paper.

Each function takes the tidy table the estimate stage writes and returns a ``tabular`` (no
float, no caption: the paper decides those) in ``booktabs`` style, so the preamble needs
``\usepackage{booktabs}``. Rows are named by their labels (``labels``, from
:func:`outcome_labels`) and every text from the data is escaped; numbers are written with a fixed
number of decimals (none for rupiah), standard errors in parentheses, q-values in brackets,
p-values below 0.001 as ``$<$0.001``. There are no significance stars (the AEA's style). Joint
tests lead with their randomization-inference p-value where the estimate stage computed one:
the clustered F beside it over-rejects with many variables and few clusters.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.config import TESTED_ESTIMATORS
from analysis.inputs.codebook import Codebook
from analysis.inputs.study import Study

#: LaTeX's special characters and their escaped forms (shared with analysis.report.blocks).
LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}

#: Column headings of the tested estimators (config.TESTED_ESTIMATORS), the columns of the tables.
ESTIMATOR_HEADINGS: dict[str, str] = {
    "followup_diff": "Follow-up difference",
    "did": "Difference-in-differences",
    "ancova": "ANCOVA",
}


#: Decimals of money amounts (rupiah): none, as in the reports.
MONEY_DECIMALS = 0


def is_money(name: str, codebook: Codebook | None) -> bool:
    """Whether an outcome is in rupiah: an income measure (not its IHS transform) or a money variable."""
    if name.startswith("income") and not name.endswith("_ihs"):
        return True
    if codebook is not None and name in codebook:
        return codebook.get(name).type == "money"
    return False


def outcome_labels(
    names: Iterable[str],
    *,
    study: Study,
    codebook: Codebook | None,
    constructed: Mapping[str, str],
    language: str = "en",
) -> dict[str, str]:
    """The display label of each outcome: the study's, else the codebook's, else ``constructed``.

    ``constructed`` maps the construct stage's indicators to their labels (this layer cannot
    read them itself). ``<name>_women`` is its outcome's label with "(women)"; a family index
    ``index_klk_<family>`` reads "KLK index: <family>". A name with no label stays as it is.
    """
    declared = {o.name: o.label for o in study.outcomes if o.label}

    def label(name: str) -> str:
        if name in declared:
            return str(declared[name])
        if codebook is not None and name in codebook and codebook.get(name).label(language):
            return codebook.get(name).label(language)
        if name in constructed:
            return constructed[name]
        if name.endswith("_women") and name != "_women":
            return f"{label(name.removesuffix('_women'))} ({'perempuan' if language == 'id' else 'women'})"
        for kind in ("klk", "icw"):
            if name.startswith(f"index_{kind}_"):
                family = name.removeprefix(f"index_{kind}_").replace("_", " ")
                return f"{kind.upper()} {'indeks' if language == 'id' else 'index'}: {family}"
        return name

    return {name: label(name) for name in names}


def escape(text: object) -> str:
    """Escape the characters LaTeX treats specially."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in str(text))


def number(value: object, decimals: int = 3) -> str:
    """A number with fixed decimals; empty for a missing value.

    Whole numbers (rupiah, degrees of freedom) get thousands separators, ``1{,}150{,}154``.
    """
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    if decimals == 0:
        return f"{x:,.0f}".replace(",", "{,}")
    return f"{x:.{decimals}f}"


def p_text(value: object) -> str:
    """A p-value with three decimals, ``$<$0.001`` below that (never "0.000"); empty when missing."""
    text = number(value)
    if text and float(value) < 0.001:  # type: ignore[arg-type]
        return "$<$0.001"
    return text


def p_relation(value: object) -> str:
    """``= 0.184`` or ``$<$ 0.001``: a p-value after its symbol."""
    text = p_text(value)
    return text.replace("$<$", "$<$ ") if text.startswith("$<$") else f"= {text}"


def _joint_test(row: Mapping[Hashable, object], *, name: str) -> str:
    """One joint test, its randomization-inference p first and the clustered F beside it."""
    f_text = (
        f"clustered F({_count(row.get('df_num'))}, {number(row.get('df_denom'), 0)}) = "
        f"{number(row.get('f_stat'))}, p {p_relation(row.get('p_value'))}"
    )
    if p_text(row.get("p_value_ri")):
        return (
            f"{name}: randomization-inference p {p_relation(row.get('p_value_ri'))} "
            f"({_count(row.get('ri_assignments'))} re-drawn assignments); beside it, {f_text}, which "
            "over-rejects with many variables and few clusters."
        )
    return f"{name}: {f_text}."


def _wrap(value: object, left: str, right: str, decimals: int = 3) -> str:
    text = number(value, decimals)
    return f"{left}{text}{right}" if text else ""


def _count(value: object) -> str:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return f"{int(x):,}".replace(",", "{,}") if math.isfinite(x) else ""


def _tabular(
    spec: str, header: Sequence[str], body: Sequence[Sequence[str]], notes: Sequence[str] = ()
) -> str:
    lines = [f"\\begin{{tabular}}{{{spec}}}", r"\toprule", " & ".join(header) + r" \\", r"\midrule"]
    lines += [" & ".join(row) + r" \\" for row in body]
    lines.append(r"\bottomrule")
    width = len(header)
    lines += [f"\\multicolumn{{{width}}}{{l}}{{\\footnotesize {note}}} \\\\" for note in notes]
    lines.append(r"\end{tabular}")
    return "\n".join(lines) + "\n"


def balance_latex(
    balance: pd.DataFrame,
    *,
    sample: str = "baseline",
    notes: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    money: Collection[str] = (),
) -> str:
    """Baseline balance: means (SD) by arm, difference (SE), p-value, normalized difference.

    ``labels`` name the variables (their names otherwise); variables in ``money`` are written
    without decimals. ``notes`` are added below the table (the public tier's note on hidden
    cells).
    """
    labels = labels or {}
    part = balance.loc[balance["sample"] == sample]
    body = []
    for row in part.loc[part["row_type"] == "variable"].to_dict("records"):
        name = str(row["variable"])
        d = MONEY_DECIMALS if name in money else 3
        body.append(
            [escape(labels.get(name, name)), number(row["mean_comparison"], d),
             number(row["mean_treatment"], d), number(row["difference"], d), p_text(row["p_value"]),
             number(row["normalized_difference"])]
        )  # fmt: skip
        body.append(
            ["", _wrap(row["sd_comparison"], "(", ")", d), _wrap(row["sd_treatment"], "(", ")", d),
             _wrap(row["std_error"], "(", ")", d), "", ""]
        )  # fmt: skip
    lines = [
        "Means with standard deviations in parentheses; difference = treatment coefficient with its SE; "
        "rupiah without decimals."
    ]
    joint = part.loc[part["row_type"] == "joint_test"]
    if len(joint):
        j = joint.iloc[0].to_dict()
        if number(j["f_stat"]):
            lines.append(_joint_test(j, name="Joint orthogonality"))
        else:
            lines.append(f"Joint orthogonality test not computed: {escape(j['note'])}.")
    header = ["Variable", "Comparison", "Treatment", "Difference", "$p$", "Norm. diff."]
    return _tabular("lrrrrr", header, body, [*lines, *map(escape, notes)])


def attrition_latex(attrition: pd.DataFrame, *, notes: Sequence[str] = ()) -> str:
    """Attrition by arm and the differential-rate and differential-composition tests.

    ``notes`` are added below the table (the public tier's note on hidden cells).
    """
    body = []
    for row in attrition.loc[attrition["test"] == "rate"].to_dict("records"):
        body.append(
            [escape(str(row["arm"]).capitalize()), _count(row["n_baseline"]), _count(row["n_attrited"]),
             number(row["rate"])]
        )  # fmt: skip
    lines = []
    diff = attrition.loc[attrition["test"] == "differential_rate"]
    if len(diff) and number(diff.iloc[0]["estimate"]):
        d = diff.iloc[0]
        lines.append(
            f"Differential attrition (treatment $-$ comparison): {number(d['estimate'])} "
            f"(SE {number(d['std_error'])}), p {p_relation(d['p_value'])}."
        )
    comp = attrition.loc[attrition["test"] == "differential_composition"]
    if len(comp) and number(comp.iloc[0]["f_stat"]):
        lines.append(
            _joint_test(
                comp.iloc[0].to_dict(),
                name="Differential composition (treatment $\\times$ baseline variables)",
            )
        )
    header = ["Arm", "Baseline households", "Not found at follow-up", "Attrition rate"]
    return _tabular("lrrr", header, body, [*lines, *map(escape, notes)])


_Rows = Mapping[tuple[Hashable, Hashable], Mapping[Hashable, object]]


def _first_rows(table: pd.DataFrame) -> _Rows:
    """Each (outcome, estimator)'s first row of ``table``: one pass instead of two masks per cell."""
    rows: dict[tuple[Hashable, Hashable], Mapping[Hashable, object]] = {}
    for row in table.to_dict("records"):
        rows.setdefault((row["outcome"], row["estimator"]), row)
    return rows


def _estimate_cells(
    rows: _Rows,
    outcome: str,
    estimators: Sequence[str],
    *,
    q: _Rows | None,
    label: str,
    decimals: int = 3,
) -> list[list[str]]:
    """One outcome's estimate, standard-error and (with ``q``) q-value rows, from :func:`_first_rows`."""
    est, se, extra = [escape(label)], [""], [""]
    for estimator in estimators:
        row = rows.get((outcome, estimator))
        if row is None:
            est.append("")
            se.append("")
            extra.append("")
            continue
        est.append(number(row["estimate"], decimals))
        se.append(_wrap(row["std_error"], "(", ")", decimals))
        qrow = None if q is None else q.get((outcome, estimator))
        extra.append(_wrap(np.nan if qrow is None else qrow["q_value_family"], "[", "]"))
    rows_out = [est, se]
    if q is not None:
        rows_out.append(extra)
    return rows_out


def impact_latex(
    impact: pd.DataFrame,
    inference: pd.DataFrame | None = None,
    *,
    outcomes: Sequence[str] | None = None,
    estimators: Sequence[str] = TESTED_ESTIMATORS,
    notes: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    money: Collection[str] = (),
) -> str:
    """The main impact table: one block per outcome, one column per estimator.

    Estimate, standard error in parentheses and (with ``inference``) the within-family
    sharpened q-value in brackets; ``notes`` are added below the table. ``labels`` name the
    outcomes (their names otherwise); outcomes in ``money`` are written without decimals.
    """
    labels = labels or {}
    names = list(dict.fromkeys(impact["outcome"])) if outcomes is None else list(outcomes)
    body: list[list[str]] = []
    rows, q_rows = _first_rows(impact), None if inference is None else _first_rows(inference)
    for name in names:
        decimals = MONEY_DECIMALS if name in money else 3
        body += _estimate_cells(
            rows, name, estimators, q=q_rows, label=labels.get(name, name), decimals=decimals
        )
    first = impact.loc[impact["estimator"].isin(estimators)]
    clusters = first["n_clusters"].dropna()
    lines = ["Standard errors in parentheses"]
    if inference is not None:
        lines[0] += "; sharpened q-values within outcome family in brackets"
    if any(name in money for name in names):
        lines[0] += "; rupiah without decimals"
    se_types = sorted({str(s) for s in first["se_type"] if isinstance(s, str) and s})
    if se_types:
        lines[0] += f" ({', '.join(se_types)}"
        lines[0] += f", {int(clusters.max())} clusters)." if len(clusters) else ")."
    header = ["Outcome", *(ESTIMATOR_HEADINGS.get(e, escape(e)) for e in estimators)]
    return _tabular("l" + "r" * len(estimators), header, body, [*lines, *map(escape, notes)])


def indices_latex(
    impact: pd.DataFrame,
    inference: pd.DataFrame,
    *,
    notes: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> str:
    """Family indices (KLK and ICW) by estimator with standard errors and q-values across goals.

    ``labels`` name the indices (their names otherwise); ``notes`` are added below the table.
    """
    labels = labels or {}
    names = [o for o in dict.fromkeys(impact["outcome"]) if str(o).startswith("index_")]
    body: list[list[str]] = []
    rows, q_rows = _first_rows(impact), _first_rows(inference)
    for name in names:
        body += _estimate_cells(rows, name, TESTED_ESTIMATORS, q=q_rows, label=labels.get(name, name))
    lines = [
        "Effects in SD units of the baseline comparison group. Standard errors in parentheses; "
        "sharpened q-values across goals (the family indices of the same kind) in brackets."
    ]
    header = ["Index", *(ESTIMATOR_HEADINGS[e] for e in TESTED_ESTIMATORS)]
    return _tabular("l" + "r" * len(TESTED_ESTIMATORS), header, body, [*lines, *map(escape, notes)])
