"""What the report notebooks show: tables, figures and the provenance block.

Each function returns a DataFrame, a matplotlib Figure or safe Markdown; the notebooks only
call them and display the result. Disclosure control happens here: no statistic describes
fewer than ``min_cell`` households, and income is top-coded in displays.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Image, Markdown
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from analysis.codebook import Codebook
from analysis.indicators import CONSTRUCTED
from analysis.provenance import git_commit, hash_inputs, package_versions
from analysis.report_text import ESTIMATOR_LABELS, Language, esc, t
from analysis.study import Study

PALETTE = {"programme": "#0b6e4f", "comparison": "#9aa5b1", "village": "#d9822b"}


def setup_style() -> None:
    """One look for every figure."""
    sns.set_theme(style="whitegrid", context="notebook", font="DejaVu Sans")
    matplotlib.rcParams.update({"figure.dpi": 96, "savefig.dpi": 96, "figure.figsize": (7.5, 3.6)})


def as_image(fig: Figure | None, *, alt_text: str = "") -> Image | Markdown:
    """Render a figure as an embedded PNG (or a note when it was suppressed).

    Returning PNG bytes rather than the Figure makes the report independent of the kernel's
    matplotlib backend, and dropping the PNG's software tag keeps the bytes reproducible.
    """
    if fig is None:
        return Markdown(f"*{esc(alt_text)}*" if alt_text else "")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return Image(data=buffer.getvalue(), format="png")


def new_figure(width: float, height: float) -> tuple[Figure, matplotlib.axes.Axes]:
    """A figure outside pyplot's registry, so a notebook shows it once, where it is returned."""
    fig = Figure(figsize=(width, height), layout="tight")
    return fig, fig.subplots()


@dataclass(frozen=True)
class Table:
    """A DataFrame shown as a plain, escaped HTML table.

    pandas' notebook display and ``Styler`` both emit ``<style>`` blocks, which the report
    sanitizer escapes; this emits only table markup, with every cell HTML-escaped.
    """

    frame: pd.DataFrame
    index: bool = False

    def _repr_html_(self) -> str:
        return self.frame.to_html(
            index=self.index, escape=True, border=0, na_rep="–", classes="data", float_format=_fmt
        )

    def __repr__(self) -> str:
        return self.frame.to_string(index=self.index)


def _fmt(value: float) -> str:
    if not np.isfinite(value):
        return "–"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{value:,.0f}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}"


def outcome_label(name: str, codebook: Codebook | None, language: Language, study: Study) -> str:
    """Display label of an outcome: study label, else codebook, else constructed, else the name."""
    for outcome in study.outcomes:
        if outcome.name == name and outcome.label:
            return str(outcome.label)
    if codebook is not None and name in codebook:
        return codebook.get(name).label(language)
    if name in CONSTRUCTED:
        return CONSTRUCTED[name][f"label_{language}"]
    return name


def short_number(value: float) -> str:
    """A compact, readable number: thousands separated for large values, 3 significant digits else."""
    if not np.isfinite(value):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def impact_display(
    impact: pd.DataFrame, *, study: Study, codebook: Codebook | None, language: Language
) -> pd.DataFrame:
    """The main impact table, one row per outcome and one column per estimator.

    Each cell is ``estimate stars (standard error)``.
    """
    order = ("followup_diff", "did", "ancova", "before_after")
    outcome_header = "Outcome" if language == "en" else "Indikator"
    rows: dict[str, dict[str, str]] = {}
    for rec in impact.to_dict("records"):
        label = outcome_label(str(rec["outcome"]), codebook, language, study)
        if pd.isna(rec["estimate"]):
            cell = "–"
        else:
            p = rec["p_value"]
            stars = "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""
            cell = f"{short_number(rec['estimate'])}{stars} ({short_number(rec['std_error'])})"
        rows.setdefault(label, {})[str(rec["estimator"])] = cell
    columns = [e for e in order if any(e in r for r in rows.values())]
    table = pd.DataFrame(
        [[label] + [cells.get(e, "") for e in columns] for label, cells in rows.items()],
        columns=[outcome_header] + [ESTIMATOR_LABELS[e][language] for e in columns],
    )
    return table


def coefficient_plot(
    impact: pd.DataFrame, *, study: Study, codebook: Codebook | None, language: Language
) -> Figure:
    """Estimates with 95% intervals in control-SD-free units: one panel per estimator, outcomes on y."""
    setup_style()
    data = impact.loc[impact["estimator"].isin(["did", "ancova"]) & impact["estimate"].notna()].copy()
    if data.empty:
        data = impact.loc[impact["estimate"].notna()].copy()
    # Outcomes have different units, so each is shown relative to its own interval width.
    data["label"] = [outcome_label(o, codebook, language, study) for o in data["outcome"]]
    scale = (data["ci_high"] - data["ci_low"]).abs().groupby(data["outcome"]).transform("max") / 2
    scale = scale.where(scale > 0, 1.0)
    data["z"] = data["estimate"] / scale
    data["lo"] = data["ci_low"] / scale
    data["hi"] = data["ci_high"] / scale
    labels = list(dict.fromkeys(data["label"]))
    fig, ax = new_figure(7.5, 0.38 * len(labels) + 1.4)
    offsets = {"did": -0.15, "ancova": 0.15, "followup_diff": 0.0, "before_after": 0.3}
    colors = {
        "did": "#0b6e4f",
        "ancova": "#3b82c4",
        "followup_diff": "#7b8794",
        "before_after": "#d9822b",
    }
    for estimator, part in data.groupby("estimator", sort=False):
        y = np.array([labels.index(v) for v in part["label"]]) + offsets.get(str(estimator), 0)
        ax.errorbar(
            part["z"],
            y,
            xerr=[part["z"] - part["lo"], part["hi"] - part["z"]],
            fmt="o",
            color=colors.get(str(estimator), "k"),
            label=ESTIMATOR_LABELS[str(estimator)][language],
            ms=4,
            capsize=2,
        )
    ax.axvline(0, color="#52606d", lw=1)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(
        "Effect ÷ half-width of its 95% interval (|x| > 1: significant)"
        if language == "en"
        else "Efek ÷ setengah lebar selang 95% (|x| > 1: signifikan)"
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def arm_of(treatment: float) -> str:
    """``programme`` or ``comparison``."""
    return "programme" if treatment == 1 else "comparison"


def income_figure(
    panel: pd.DataFrame,
    *,
    village: str,
    min_cell: int,
    language: Language,
    top_quantile: float = 0.99,
) -> Figure | None:
    """Income per person before and after: this village against the comparison villages.

    Income is top-coded at the pooled 99th percentile so no single rich household stands out.
    Returns None when this village has fewer than ``min_cell`` households in a round.
    """
    if "income_pc" not in panel.columns:
        return None
    setup_style()
    data = panel.loc[panel["income_pc"].notna(), ["village", "round", "treatment", "income_pc"]].copy()
    cap = data["income_pc"].quantile(top_quantile)
    data["income"] = data["income_pc"].clip(upper=float(cap)) / 1000
    here = data["village"] == village
    if data.loc[here].groupby("round").size().reindex(["baseline", "followup"]).fillna(0).min() < min_cell:
        return None
    data["group"] = np.where(
        here,
        t("this_village", language),
        np.where(data["treatment"] == 0, t("comparison_villages", language), ""),
    )
    data = data.loc[data["group"] != ""]
    data["round_label"] = data["round"].map(
        {"baseline": t("baseline", language), "followup": t("followup", language)}
    )
    fig, ax = new_figure(7.5, 3.4)
    sns.boxplot(
        data=data,
        x="income",
        y="round_label",
        hue="group",
        ax=ax,
        showfliers=False,
        palette=[PALETTE["village"], PALETTE["comparison"]],
        hue_order=[t("this_village", language), t("comparison_villages", language)],
    )
    ax.set_xlabel("Rp '000 per person per month" if language == "en" else "Rp ribu per orang per bulan")
    ax.set_ylabel("")
    ax.legend(title="", fontsize=8, loc="lower right")
    return fig


def ladder_table(
    panel: pd.DataFrame,
    *,
    codebook: Codebook | None,
    village: str,
    min_cell: int,
    language: Language,
) -> pd.DataFrame:
    """Share of households reaching each rung of the participation ladder, by round."""
    if codebook is None:
        return pd.DataFrame()
    rungs = [v for v in codebook.by_role("ladder") if v.name in panel.columns]
    here = panel.loc[panel["village"] == village]
    rows = []
    for rung in rungs:
        record: dict[str, object] = {"rung": rung.label(language)}
        for round_name in ("baseline", "followup"):
            values = here.loc[here["round"] == round_name, rung.name].dropna()
            record[t(round_name, language)] = values.mean() if len(values) >= min_cell else np.nan
        rows.append(record)
    return pd.DataFrame(rows)


def ladder_figure(table: pd.DataFrame, *, language: Language) -> Figure | None:
    """The participation ladder as horizontal bars, baseline against follow-up."""
    if table.empty or table.drop(columns="rung").isna().all().all():
        return None
    setup_style()
    long = table.melt(id_vars="rung", var_name="round", value_name="share").dropna()
    fig, ax = new_figure(7.5, 0.45 * len(table) + 1.2)
    sns.barplot(data=long, y="rung", x="share", hue="round", ax=ax, palette=["#9aa5b1", "#0b6e4f"])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("Share of households" if language == "en" else "Persentase rumah tangga")
    ax.set_ylabel("")
    ax.legend(title="", fontsize=8, loc="lower right")
    return fig


def attrition_table(
    panel: pd.DataFrame, *, village: str | None, min_cell: int, language: Language
) -> pd.DataFrame:
    """Households surveyed at baseline, found again, lost, and new at follow-up."""
    data = panel if village is None else panel.loc[panel["village"] == village]
    first = data.drop_duplicates("hh")
    counts = first["linkage"].value_counts()
    panel_n = int(counts.get("panel", 0))
    lost = int(counts.get("baseline_only", 0))
    new = int(counts.get("followup_only", 0))
    if language == "en":
        labels = [
            "Surveyed at baseline",
            "Found again at follow-up",
            "Not found (attrition)",
            "New at follow-up",
        ]
    else:
        labels = [
            "Disurvei saat data dasar",
            "Ditemukan lagi",
            "Tidak ditemukan (atrisi)",
            "Baru saat tindak lanjut",
        ]
    values = [panel_n + lost, panel_n, lost, new]
    # Suppress small counts, plus enough others that they cannot be recovered from the total.
    shown: list[object] = list(values)
    small = [i for i in (1, 2, 3) if 0 < values[i] < min_cell]
    if small:
        for i in small:
            shown[i] = t("suppressed", language, n=min_cell)
        if len(small) == 1 and small[0] in (1, 2):
            shown[3 - small[0]] = t("suppressed", language, n=min_cell)  # complementary cell
    return pd.DataFrame({"": labels, "n": shown})


def write_provenance(study: Study, path: Path, *, root: Path) -> dict[str, object]:
    """Compute the provenance facts once per run and store them for every report."""
    facts: dict[str, object] = {
        "study": study.name,
        "git_commit": git_commit(),
        "inputs_sha256": hash_inputs(study.input_files(), root=root),
        "packages": package_versions(),
        "command": f"berdaya run {study.path.name}",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
    return facts


def provenance_markdown(
    facts: dict[str, object], *, parameters: dict[str, object], language: Language, run_time: str
) -> str:
    """The provenance block that ends every report (safe Markdown)."""
    inputs = facts.get("inputs_sha256") or {}
    packages = facts.get("packages") or {}
    lines = [
        f"## {t('provenance', language)}",
        "",
        f"- Study: {esc(facts.get('study'))}",
        f"- Git commit: `{esc(facts.get('git_commit') or 'not a git checkout')}`",
        f"- Run time: {esc(run_time)}",
        f"- Rebuild: `{esc(facts.get('command'))}`",
        "- Parameters: " + ", ".join(f"{esc(k)} = {esc(v)}" for k, v in sorted(parameters.items())),
        "- Input files (SHA-256):",
    ]
    assert isinstance(inputs, dict) and isinstance(packages, dict)
    lines += [
        f"    - {esc(Path(str(name)).name)}: `{esc(digest)}`" for name, digest in sorted(inputs.items())
    ]
    lines.append("- Packages: " + ", ".join(f"{esc(k)} {esc(v)}" for k, v in sorted(packages.items())))
    return "\n".join(lines)


def read_provenance(tables_dir: Path, study: Study, *, root: Path) -> dict[str, object]:
    """The run's provenance facts, computing them when the pipeline has not."""
    path = tables_dir / "provenance.json"
    if path.is_file():
        facts: dict[str, object] = json.loads(path.read_text())
        return facts
    return write_provenance(study, path, root=root)
