r"""LaTeX versions of the main tables, to paste into a paper.

Each function takes the tidy table the estimate stage writes and returns a ``tabular`` (no
float, no caption: the paper decides those) in ``booktabs`` style, so the preamble needs
``\usepackage{booktabs}``. Text from the data (outcome and variable names) is escaped; numbers
are written with a fixed number of decimals, standard errors in parentheses, q-values and
p-values in brackets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.config import TESTED_ESTIMATORS

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


def escape(text: object) -> str:
    """Escape the characters LaTeX treats specially."""
    return "".join(LATEX_SPECIAL.get(c, c) for c in str(text))


def number(value: object, decimals: int = 3) -> str:
    """A number with fixed decimals; empty for a missing value."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    return f"{x:.{decimals}f}"


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


def balance_latex(balance: pd.DataFrame, *, sample: str = "baseline", notes: Sequence[str] = ()) -> str:
    """Baseline balance: means (SD) by arm, difference (SE), p-value, normalized difference.

    ``notes`` are added below the table (the public tier's note on hidden cells).
    """
    part = balance.loc[balance["sample"] == sample]
    body = []
    for row in part.loc[part["row_type"] == "variable"].to_dict("records"):
        body.append(
            [escape(row["variable"]), number(row["mean_comparison"]), number(row["mean_treatment"]),
             number(row["difference"]), number(row["p_value"]), number(row["normalized_difference"])]
        )  # fmt: skip
        body.append(
            ["", _wrap(row["sd_comparison"], "(", ")"), _wrap(row["sd_treatment"], "(", ")"),
             _wrap(row["std_error"], "(", ")"), "", ""]
        )  # fmt: skip
    lines = ["Means with standard deviations in parentheses; difference = treatment coefficient with its SE."]
    joint = part.loc[part["row_type"] == "joint_test"]
    if len(joint):
        j = joint.iloc[0]
        if number(j["f_stat"]):
            lines.append(
                f"Joint orthogonality: F({_count(j['df_num'])}, {number(j['df_denom'], 0)}) = "
                f"{number(j['f_stat'])}, p = {number(j['p_value'])}."
            )
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
            f"(SE {number(d['std_error'])}), p = {number(d['p_value'])}."
        )
    comp = attrition.loc[attrition["test"] == "differential_composition"]
    if len(comp) and number(comp.iloc[0]["f_stat"]):
        c = comp.iloc[0]
        lines.append(
            f"Differential composition (treatment $\\times$ baseline variables): "
            f"F({_count(c['df_num'])}, {number(c['df_denom'], 0)}) = {number(c['f_stat'])}, "
            f"p = {number(c['p_value'])}."
        )
    header = ["Arm", "Baseline households", "Not found at follow-up", "Attrition rate"]
    return _tabular("lrrr", header, body, [*lines, *map(escape, notes)])


def _estimate_cells(
    table: pd.DataFrame, outcome: str, estimators: Sequence[str], *, q: pd.DataFrame | None
) -> list[list[str]]:
    est, se, extra = [escape(outcome)], [""], [""]
    for estimator in estimators:
        hit = table.loc[(table["outcome"] == outcome) & (table["estimator"] == estimator)]
        if hit.empty:
            est.append("")
            se.append("")
            extra.append("")
            continue
        row = hit.iloc[0]
        est.append(number(row["estimate"]))
        se.append(_wrap(row["std_error"], "(", ")"))
        value = np.nan
        if q is not None:
            qhit = q.loc[(q["outcome"] == outcome) & (q["estimator"] == estimator)]
            value = qhit.iloc[0]["q_value_family"] if len(qhit) else np.nan
        extra.append(_wrap(value, "[", "]"))
    rows = [est, se]
    if q is not None:
        rows.append(extra)
    return rows


def impact_latex(
    impact: pd.DataFrame,
    inference: pd.DataFrame | None = None,
    *,
    outcomes: Sequence[str] | None = None,
    estimators: Sequence[str] = TESTED_ESTIMATORS,
    notes: Sequence[str] = (),
) -> str:
    """The main impact table: one block per outcome, one column per estimator.

    Estimate, standard error in parentheses and (with ``inference``) the within-family
    sharpened q-value in brackets; ``notes`` are added below the table.
    """
    names = list(dict.fromkeys(impact["outcome"])) if outcomes is None else list(outcomes)
    body: list[list[str]] = []
    for name in names:
        body += _estimate_cells(impact, name, estimators, q=inference)
    first = impact.loc[impact["estimator"].isin(estimators)]
    clusters = first["n_clusters"].dropna()
    lines = ["Standard errors in parentheses"]
    if inference is not None:
        lines[0] += "; sharpened q-values within outcome family in brackets"
    se_types = sorted({str(s) for s in first["se_type"] if isinstance(s, str) and s})
    if se_types:
        lines[0] += f" ({', '.join(se_types)}"
        lines[0] += f", {int(clusters.max())} clusters)." if len(clusters) else ")."
    header = ["Outcome", *(ESTIMATOR_HEADINGS.get(e, escape(e)) for e in estimators)]
    return _tabular("l" + "r" * len(estimators), header, body, [*lines, *map(escape, notes)])


def indices_latex(impact: pd.DataFrame, inference: pd.DataFrame, *, notes: Sequence[str] = ()) -> str:
    """Family indices (KLK and ICW) by estimator with standard errors and q-values across families.

    ``notes`` are added below the table.
    """
    names = [o for o in dict.fromkeys(impact["outcome"]) if str(o).startswith("index_")]
    body: list[list[str]] = []
    for name in names:
        body += _estimate_cells(impact, name, TESTED_ESTIMATORS, q=inference)
    lines = [
        "Effects in SD units of the baseline comparison group. Standard errors in parentheses; "
        "sharpened q-values across the family indices of the same kind in brackets."
    ]
    header = ["Index", *(ESTIMATOR_HEADINGS[e] for e in TESTED_ESTIMATORS)]
    return _tabular("l" + "r" * len(TESTED_ESTIMATORS), header, body, [*lines, *map(escape, notes)])
