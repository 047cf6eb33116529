"""The report figures survive greyscale printing and small screens.

A photocopied handout loses colour: each series must differ in shape or pattern as well. A
phone shrinks the picture: the PNG must carry twice the pixels of its displayed size.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from PIL import Image

from analysis.report import figures
from analysis.report.blocks import figure_image
from analysis.report.text import Language


def _income_stats() -> pd.DataFrame:
    rows = []
    for round_label in ("Baseline", "Follow-up"):
        for kind, group, shift in (("village", "This village", 0.0), ("comparison", "Comparison", 0.4)):
            rows.append(
                {"group": group, "kind": kind, "round": round_label, "p10": 0.5 + shift, "p25": 1.0 + shift,
                 "p50": 2.0 + shift, "p75": 3.0 + shift, "p90": 5.0 + shift}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _bars(fig: object) -> list[Rectangle]:
    ax = fig.axes[0]  # type: ignore[attr-defined]
    return [
        patch for container in ax.containers if isinstance(container, BarContainer) for patch in container
    ]


def test_income_bars_of_this_village_and_the_comparison_differ_in_hatch_not_only_colour() -> None:
    stats = _income_stats()
    fig = figures.income_ranges(stats, language="en")
    assert fig is not None
    bars = _bars(fig)
    assert len(bars) == len(stats)
    hatches = {kind: {bar.get_hatch() or "" for bar, k in zip(bars, stats["kind"], strict=True) if k == kind}
               for kind in ("village", "comparison")}  # fmt: skip
    # Each kind draws all its bars alike, and the two kinds differ in pattern.
    assert len(hatches["village"]) == 1 and len(hatches["comparison"]) == 1
    assert hatches["village"] != hatches["comparison"]


def _coefficients(estimators: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for estimator in estimators:
        for group, label in (("Income", "Income per person"), ("Participation", "Attended musdes")):
            z = float(rng.normal())
            rows.append(
                {"label": label, "group": group, "estimator": estimator, "z": z, "lo": z - 0.3, "hi": z + 0.3}
            )
    return pd.DataFrame(rows)


def test_coefficient_plot_tells_estimators_apart_by_marker_shape() -> None:
    estimators = ["followup_diff", "did", "ancova"]
    fig = figures.coefficient_plot(_coefficients(estimators), language="id")
    assert fig is not None
    containers = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(containers) == len(estimators)
    markers = [container.lines[0].get_marker() for container in containers]
    assert all(m not in (None, "", "None", " ") for m in markers), markers
    assert len(set(markers)) == len(estimators), markers
    # The legend shows the same shapes, so a grey printout can still be read against it.
    drawn = {line.get_marker() for line in fig.legends[0].findobj(Line2D)}
    assert set(markers) <= drawn, drawn


def test_figures_are_rendered_at_twice_their_displayed_size() -> None:
    fig = figures.income_ranges(_income_stats(), language="id")
    assert fig is not None
    image = figure_image(fig, alt="income")
    with Image.open(io.BytesIO(image.png)) as png:
        width, height = png.size
    # (Both sizes are rounded to whole pixels: one pixel either way.)
    assert width >= 2 * image.width - 1 and height >= 2 * image.height - 1
    # The smallest text (8 pt tick labels) is then at least 20 pixels tall in the PNG, and
    # legible when a phone halves the displayed size.
    assert 8 / 72 * width / fig.get_size_inches()[0] >= 20


@pytest.mark.parametrize(
    ("language", "expected"),
    [("id", ["−0,4", "−0,2", "0,0", "0,2", "0,4", "0,6"]), ("en", ["−0.4", "−0.2", "0.0", "0.2", "0.4", "0.6"])],
)
def test_tick_labels_follow_the_pages_number_style(language: Language, expected: list[str]) -> None:
    fig, ax = figures.new_figure(4, 2)
    ax.plot([-0.3, 0.45], [0, 1])
    figures.localize_axis(ax, language)
    fig.canvas.draw()
    assert [label.get_text() for label in ax.get_xticklabels()] == expected


def test_thousands_on_an_axis_are_grouped_by_the_languages_separator() -> None:
    labels = {}
    for language in ("id", "en"):
        fig, ax = figures.new_figure(4, 2)
        ax.plot([0, 1500], [0, 1])
        figures.localize_axis(ax, language)
        fig.canvas.draw()
        labels[language] = [label.get_text() for label in ax.get_xticklabels()]
    assert "1.500" in labels["id"] and "1,500" in labels["en"]
