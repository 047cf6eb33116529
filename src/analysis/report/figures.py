"""The report figures (matplotlib and seaborn).

Every function here draws from *aggregates* that the report modules computed and checked for
disclosure (quantiles of at least ``min_cell`` households, shares, index means, suppressed
counts), never from household rows, so a figure cannot show a single household. Figures are
built outside pyplot's registry, so a notebook shows each once, where it is returned.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.ticker import Formatter, PercentFormatter

from analysis.config import TESTED_ESTIMATORS
from analysis.report.text import ESTIMATOR_LABELS, Language, number, percent, t

PALETTE = {
    "village": "#d9822b",
    "comparison": "#7b8794",
    "programme": "#0b6e4f",
    "baseline": "#9aa5b1",
    "followup": "#0b6e4f",
    "ancova": "#0b6e4f",
    "did": "#3b82c4",
    "followup_diff": "#7b8794",
    "cs_att": "#0b6e4f",
    "twfe": "#d9822b",
    "hidden": "#e4e7eb",
}

#: Printed in greyscale, this village's orange and the comparison's grey become the same grey:
#: this village's bars are hatched as well, the comparison's stay plain.
HATCHES = {"village": "////", "comparison": "", "programme": ""}

#: Estimators differ by marker shape as well as colour, for the same reason.
MARKERS = {"ancova": "o", "did": "s", "followup_diff": "^", "cs_att": "o", "twfe": "D"}


class LocalizedFormatter(Formatter):
    """Matplotlib's own tick values, written in the page's number style (``0,5`` and ``1.500`` in id).

    The axis keeps matplotlib's choice of ticks, and every tick gets the fewest decimals that
    write all of them exactly (``0,25`` and ``0,50``, not ``0,2`` and ``0,5``); only the separators
    follow the language, as every number in the text does.
    """

    def __init__(self, language: Language) -> None:
        self.language = language
        self.ticks: np.ndarray = np.array([])

    def set_locs(self, locs: Sequence[float]) -> None:
        """Remember the visible ticks: their decimals are decided together."""
        self.ticks = np.asarray(locs, dtype=float)

    def __call__(self, x: float, pos: int | None = None) -> str:
        """The tick label of ``x``."""
        ticks = self.ticks if self.ticks.size else np.array([x], dtype=float)
        decimals = next((d for d in range(7) if np.allclose(np.round(ticks, d), ticks, rtol=0, atol=1e-9)), 6)
        return number(x, self.language, digits=decimals)


def localize_axis(ax: Axes, language: Language, *, which: str = "x") -> None:
    """Write an axis's tick labels in ``language``'s number style."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(LocalizedFormatter(language))


def setup_style() -> None:
    """One look for every figure: seaborn's white grid, DejaVu Sans (always installed with matplotlib)."""
    sns.set_theme(style="whitegrid", context="notebook", font="DejaVu Sans")
    matplotlib.rcParams.update({"axes.titlesize": 11, "axes.labelsize": 10, "legend.fontsize": 8.5})


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure outside pyplot's registry with one axis."""
    setup_style()
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots()


def income_ranges(stats: pd.DataFrame, *, language: Language) -> Figure | None:
    """Income per person before and after: this village against comparison villages.

    Parameters
    ----------
    stats
        One row per group and round with columns ``group`` (display label), ``kind``
        (``village`` or ``comparison``), ``round`` (display label), ``p25``, ``p50``, ``p75`` and
        optionally ``p10``/``p90`` (NaN when that group is too small for whiskers), in Rp '000.
    language
        Report language.

    Returns
    -------
    Figure or None
        None when ``stats`` is empty.
    """
    if stats.empty:
        return None
    rows = stats.to_dict("records")
    fig, ax = new_figure(7.6, 0.55 * len(rows) + 1.3)
    labels = []
    for y, row in enumerate(rows):
        color = PALETTE[str(row["kind"])]
        p10, p25, p50, p75, p90 = (float(row.get(q, np.nan)) for q in ("p10", "p25", "p50", "p75", "p90"))
        if np.isfinite(p10) and np.isfinite(p90):
            ax.plot([p10, p90], [y, y], color=color, lw=1.4, solid_capstyle="butt")
        ax.barh(
            y,
            p75 - p25,
            left=p25,
            height=0.5,
            color=color,
            alpha=0.85,
            hatch=HATCHES.get(str(row["kind"]), ""),
            edgecolor="#1f2933",
            linewidth=0.6,
        )
        ax.plot([p50], [y], marker="o", ms=8, color="white", mec="#1f2933", mew=1.4)
        # The median's value sits right of everything drawn on its row, clear of the whisker.
        ax.annotate(
            number(p50, language, digits=0),
            (max(p75, p90) if np.isfinite(p90) else p75, y),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            fontsize=8.5,
            color="#1f2933",
        )
        labels.append(f"{row['round']}\n{row['group']}")
    ax.set_yticks(range(len(rows)), labels, fontsize=8.5)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    localize_axis(ax, language)
    ax.set_xlabel(t("rp_thousand_axis", language))
    ax.grid(axis="y", visible=False)
    return fig


def ladder_chart(table: pd.DataFrame, *, language: Language) -> Figure | None:
    """Share of households reaching each rung, baseline against follow-up.

    Parameters
    ----------
    table
        Columns ``rung`` (display label), ``baseline`` and ``followup`` (shares, NaN when the
        round's base is below ``min_cell``).
    """
    if table.empty or table[["baseline", "followup"]].isna().all().all():
        return None
    # Long codebook labels would squeeze the bars; wrap them onto two or three lines.
    table = table.assign(rung=[textwrap.fill(str(r), 30) for r in table["rung"]])
    long = table.melt(
        id_vars="rung", value_vars=["baseline", "followup"], var_name="round", value_name="share"
    )
    long["round"] = long["round"].map(lambda r: t(str(r), language))
    fig, ax = new_figure(7.6, 0.62 * len(table) + 1.4)
    sns.barplot(
        data=long,
        y="rung",
        x="share",
        hue="round",
        ax=ax,
        palette=[PALETTE["baseline"], PALETTE["followup"]],
        hue_order=[t("baseline", language), t("followup", language)],
    )
    for container in ax.containers:
        values = getattr(container, "datavalues", [])
        ax.bar_label(
            container,  # type: ignore[arg-type]
            labels=[percent(v, language) if np.isfinite(v) else "" for v in values],
            fontsize=8,
            padding=3,
        )
    ax.set_xlim(0, 1.08)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(t("share_households", language))
    ax.set_ylabel("")
    ax.tick_params(axis="y", labelsize=8.5)
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()
    fig.legend(loc="outside lower center", ncol=2, frameon=False)
    return fig


def goals_profile(profile: pd.DataFrame, *, language: Language) -> Figure | None:
    """The six empowerment goals as family-index means: this village against the programme average.

    Parameters
    ----------
    profile
        One row per goal with ``goal`` (display label), ``village_baseline``,
        ``village_followup`` and ``programme_followup`` (index means in SD units, NaN when
        suppressed).
    """
    if profile.empty or profile[["village_followup", "programme_followup"]].isna().all().all():
        return None
    fig, ax = new_figure(7.6, 0.5 * len(profile) + 1.5)
    y = np.arange(len(profile))
    series = [
        ("programme_followup", t("programme_average", language), PALETTE["programme"], "D", "full"),
        ("village_baseline", t("this_village_baseline", language), PALETTE["village"], "o", "none"),
        ("village_followup", t("this_village_followup", language), PALETTE["village"], "o", "full"),
    ]
    for column, name, color, marker, fill in series:
        values = profile[column].to_numpy(dtype=float)
        ax.plot(
            values,
            y,
            linestyle="none",
            marker=marker,
            ms=8,
            color=color,
            mfc=color if fill == "full" else "white",
            mew=1.6,
            label=name,
        )
    for i, rec in enumerate(profile.to_dict("records")):
        start, end = float(rec["village_baseline"]), float(rec["village_followup"])
        if np.isfinite(start) and np.isfinite(end):
            ax.annotate(
                "",
                xy=(end, i),
                xytext=(start, i),
                arrowprops={"arrowstyle": "->", "color": PALETTE["village"], "lw": 1.2},
            )
    ax.axvline(0, color="#52606d", lw=1)
    ax.set_yticks(y, list(profile["goal"]))
    ax.invert_yaxis()
    localize_axis(ax, language)
    ax.set_xlabel(t("index_axis", language))
    fig.legend(loc="outside lower center", ncol=3, frameon=False)
    return fig


def attrition_flow(shown: Mapping[str, str], *, language: Language, hidden: Sequence[str] = ()) -> Figure:
    """Households surveyed at baseline, found again, not found, and new at follow-up.

    Boxes are drawn the same size whatever the count: proportional bars would reveal hidden
    counts through their length.

    Parameters
    ----------
    shown
        Display text for ``baseline``, ``panel``, ``lost``, ``new`` and ``followup`` (a number or
        the word for hidden).
    hidden
        Keys whose value is hidden (drawn greyed).
    """
    fig, ax = new_figure(7.6, 2.5)
    ax.set_axis_off()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 4)
    width, height = 2.6, 1.15
    # Top row: the households followed through; bottom row: those who left and those who joined.
    boxes = {
        "baseline": (0.1, 2.6, t("surveyed_baseline", language)),
        "panel": (3.7, 2.6, t("found_again", language)),
        "followup": (7.3, 2.6, t("surveyed_followup", language)),
        "lost": (1.9, 0.25, t("not_found", language)),
        "new": (5.5, 0.25, t("new_followup", language)),
    }
    for key, (x, y, label) in boxes.items():
        face = PALETTE["hidden"] if key in hidden else ("#e6f2ee" if key in ("panel", "new") else "#f5f7fa")
        ax.add_patch(
            FancyBboxPatch(
                (x, y), width, height, boxstyle="round,pad=0.02,rounding_size=0.12", fc=face, ec="#9aa5b1"
            )
        )
        # Wrapped to the box: "Diwawancarai pada survei lanjutan" is wider than one line of it.
        wrapped = textwrap.fill(label, 24)
        ax.text(
            x + width / 2, y + height * 0.72, wrapped, ha="center", va="center", fontsize=8, linespacing=1.05
        )
        ax.text(
            x + width / 2,
            y + height * 0.25,
            shown[key],
            ha="center",
            va="center",
            fontsize=11,
            weight="bold",
            color="#52606d" if key in hidden else "#1f2933",
        )

    def arrow(start: tuple[float, float], end: tuple[float, float]) -> None:
        ax.add_patch(
            FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color="#52606d", lw=1.1)
        )

    middle = 2.6 + height / 2
    arrow((2.7, middle), (3.7, middle))
    arrow((6.3, middle), (7.3, middle))
    arrow((1.4, 2.6), (2.4, 0.25 + height))
    arrow((7.3, 0.25 + height), (8.4, 2.6))
    return fig


def coefficient_plot(data: pd.DataFrame, *, language: Language) -> Figure | None:
    """Standardized effects with 95% intervals, outcomes grouped by family.

    Parameters
    ----------
    data
        Columns ``label`` (outcome), ``group`` (family label), ``estimator``, ``z``, ``lo`` and
        ``hi`` (effect and interval in comparison-group SD units). Rows appear in the given order.
    """
    if data.empty:
        return None
    labels = list(dict.fromkeys(zip(data["group"], data["label"], strict=True)))
    groups = list(dict.fromkeys(data["group"]))
    # One row per outcome plus one spacer row for each family heading.
    positions: dict[tuple[str, str], float] = {}
    ticks: list[float] = []
    tick_labels: list[str] = []
    headings: list[tuple[float, str]] = []
    y = 0.0
    for group in groups:
        headings.append((y, group))
        y += 1
        for key in labels:
            if key[0] == group:
                positions[key] = y
                ticks.append(y)
                tick_labels.append(key[1])
                y += 1
        y += 0.3
    # The width of an A4 page's text and a row pitch of 0.16 inch (8-point labels): printed, a
    # plot of 40 outcomes fills one page at its own size, so its labels stay legible.
    fig, ax = new_figure(7.0, 0.16 * y + 1.1)
    # The tables' order reversed: ANCOVA, the primary estimator of a randomized design, first.
    estimators = [e for e in reversed(TESTED_ESTIMATORS) if e in set(data["estimator"])]
    offsets = dict(
        zip(
            estimators,
            np.linspace(-0.22, 0.22, len(estimators)) if len(estimators) > 1 else [0.0],
            strict=False,
        )
    )
    for estimator in estimators:
        part = data.loc[data["estimator"] == estimator]
        ys = np.array([positions[(g, lab)] for g, lab in zip(part["group"], part["label"], strict=True)])
        ys = ys + offsets[estimator]
        ax.errorbar(
            part["z"],
            ys,
            xerr=[part["z"] - part["lo"], part["hi"] - part["z"]],
            fmt=MARKERS.get(estimator, "o"),
            ms=4,
            capsize=0,
            lw=1.2,
            color=PALETTE[estimator],
            label=ESTIMATOR_LABELS[estimator][language],
        )
    ax.axvline(0, color="#52606d", lw=1)
    ax.set_yticks(ticks, tick_labels, fontsize=8)
    for position, group in headings:
        ax.text(
            0.0,
            position,
            group,
            transform=ax.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=8.5,
            weight="bold",
            color="#0b6e4f",
        )
    ax.set_ylim(y, -0.8)
    # Wrapped: the axis is narrower than the figure (the labels take the left), and a label
    # wider than the axis would run off the picture.
    localize_axis(ax, language)
    ax.set_xlabel(textwrap.fill(t("effect_axis", language), 48))
    # Above the plot: a tall figure would push a legend below it out of sight.
    fig.legend(loc="outside upper center", ncol=3, frameon=False)
    return fig


def event_study_plot(data: pd.DataFrame, *, language: Language) -> Figure | None:
    """The event study of one outcome: estimates and 95% bands by event time, −1 the reference.

    Parameters
    ----------
    data
        Rows of ``tables/event_study.csv`` for one outcome: ``estimator`` (``cs_att`` and/or
        ``twfe``), ``event_time``, ``estimate``, ``ci_low`` and ``ci_high``. ``cs_att`` is drawn
        as a line with a shaded band, ``twfe`` as offset points with bars, so the two stay
        apart in greyscale. The pre-periods are shown; a dotted line marks the programme's
        arrival (between −1 and 0).
    """
    if data.empty:
        return None
    fig, ax = new_figure(7.0, 3.4)
    estimators = [e for e in ("cs_att", "twfe") if e in set(data["estimator"])]
    offsets = dict(zip(estimators, (0.0, 0.12), strict=False))
    for estimator in estimators:
        part = data.loc[data["estimator"] == estimator].sort_values("event_time")
        x = part["event_time"].to_numpy(dtype=float) + offsets[estimator]
        y = part["estimate"].to_numpy(dtype=float)
        low, high = part["ci_low"].to_numpy(dtype=float), part["ci_high"].to_numpy(dtype=float)
        # The reference (−1) is 0 without an interval: the band narrows to it rather than break.
        reference = part["event_time"].to_numpy() == -1
        low, high = np.where(reference, 0.0, low), np.where(reference, 0.0, high)
        colour = PALETTE[estimator]
        label = ESTIMATOR_LABELS[estimator][language].split(":")[0]
        if estimator == "cs_att":
            ax.fill_between(x, low, high, color=colour, alpha=0.15, lw=0)
            ax.plot(x, y, marker=MARKERS[estimator], ms=5, lw=1.6, color=colour, label=label)
        else:
            bars = np.vstack([y - low, high - y])
            ax.errorbar(
                x,
                y,
                yerr=np.where(np.isfinite(bars), bars, 0.0),
                fmt=MARKERS[estimator],
                ms=4,
                capsize=0,
                lw=1.0,
                color=colour,
                label=label,
            )
    ax.axhline(0, color="#52606d", lw=1)
    ax.axvline(-0.5, color="#52606d", lw=1, ls=":")
    times = sorted({int(e) for e in data["event_time"]})
    ax.set_xticks(times, [f"{e}\n({t('event_reference', language)})" if e == -1 else str(e) for e in times])
    localize_axis(ax, language, which="y")
    ax.set_xlabel(t("event_axis", language))
    ax.set_ylabel(textwrap.fill(t("event_effect_axis", language), 30))
    fig.legend(loc="outside upper center", ncol=2, frameon=False)
    return fig


def trajectory_plot(
    data: pd.DataFrame, *, names: Mapping[str, str], title: str, language: Language
) -> Figure | None:
    """One outcome's mean in every round: this village and the programme and comparison villages.

    Parameters
    ----------
    data
        Columns ``group`` (``village``, ``programme``, ``comparison``), ``round``,
        ``round_number`` and ``mean``.
    names
        Each group's label in the legend.
    title
        The outcome's label.
    """
    if data.empty:
        return None
    fig, ax = new_figure(7.0, 3.0)
    styles = {"village": ("-", "o", 2.2), "programme": ("--", "s", 1.4), "comparison": (":", "^", 1.4)}
    rounds = data.drop_duplicates("round_number").sort_values("round_number")
    for group, (line, marker, width) in styles.items():
        part = data.loc[data["group"] == group].sort_values("round_number")
        if part.empty:
            continue
        ax.plot(
            part["round_number"],
            part["mean"],
            ls=line,
            marker=marker,
            lw=width,
            ms=5,
            color=PALETTE[group],
            label=names[group],
        )
    ax.set_xticks(rounds["round_number"].tolist(), rounds["round"].astype(str).tolist())
    localize_axis(ax, language, which="y")
    ax.set_title(title, loc="left")
    fig.legend(loc="outside upper center", ncol=3, frameon=False)
    return fig
