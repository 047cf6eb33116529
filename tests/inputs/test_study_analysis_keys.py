"""Study-file keys of the estimate stage (docs/study-file.md): defaults, choices and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import StudyError
from analysis.inputs.reference import poverty_lines
from analysis.inputs.study import GOAL_FAMILIES, load_study

MINIMAL = """
rounds: {baseline: baseline.csv, followup: followup.csv}
id: hhid
treatment: treat
outcomes:
  - {name: income, family: income}
  - {name: a, family: participation}
  - {name: b, family: participation}
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "baseline.csv").write_text("hhid,treat,income,a,b\n1,1,10,0,1\n")
    (tmp_path / "followup.csv").write_text("hhid,treat,income,a,b\n1,1,12,1,1\n")
    return tmp_path


def study(folder: Path, extra: str = "", text: str = MINIMAL):
    (folder / "study.yml").write_text(text + extra)
    return load_study(folder / "study.yml")


def test_defaults_keep_the_minimal_form_valid(folder: Path) -> None:
    s = study(folder)
    assert s.vcov_extra == () and s.did_fixed_effects == "household" and s.wild_bootstrap_below == 50
    assert not s.romano_wolf and s.family_indices and s.women_subsample
    assert s.main_outcomes == ("income", "a")  # the first outcome of each family
    assert (s.lee_bounds_reps, s.design_test_reps, s.wild_bootstrap_reps) == (999, 999, 9999)
    assert s.design_test_ri_below == 200 and s.design == "randomized"
    assert (s.power_alpha, s.power_target) == (0.05, 0.8)
    assert s.alkire_foster.k == pytest.approx(1 / 3) and s.alkire_foster.families == GOAL_FAMILIES
    assert s.income.poverty_line is None  # no baseline year: no default line
    assert s.outcomes[0].index is True


def test_every_key_is_read(folder: Path) -> None:
    s = study(
        folder,
        """
vcov_extra: [CRV3, RI]
did_fixed_effects: none
wild_bootstrap_below: 30
romano_wolf: true
family_indices: false
main_outcomes: [b]
lee_bounds_reps: 199
design_test_reps: 99
design_test_ri_below: 40
design: matched
power: {alpha: 0.1, power: 0.9}
women_subsample: false
income: {poverty_line: 600000, winsor_quantile: 0.95}
alkire_foster: {k: 0.25, families: [income], cutoffs: {income: 11}}
""",
        MINIMAL.replace("{name: b, family: participation}", "{name: b, family: participation, index: false}"),
    )
    assert s.vcov_extra == ("CRV3", "RI") and s.did_fixed_effects == "none" and s.wild_bootstrap_below == 30
    assert s.romano_wolf and not s.family_indices and not s.women_subsample
    assert s.main_outcomes == ("b",) and s.outcomes[2].index is False
    assert (s.lee_bounds_reps, s.design_test_reps, s.power_alpha, s.power_target) == (199, 99, 0.1, 0.9)
    assert s.design_test_ri_below == 40 and s.design == "matched"
    assert s.income.poverty_line == 600000 and s.income.winsor_quantile == 0.95
    assert s.alkire_foster.k == 0.25 and s.alkire_foster.cutoffs == {"income": 11.0}


def test_default_poverty_line_is_the_bps_line_of_the_baseline_year(folder: Path) -> None:
    text = MINIMAL.replace("baseline: baseline.csv", "baseline: {file: baseline.csv, year: 2024}")
    s = study(folder, text=text)
    lines = poverty_lines().set_index("round")
    assert s.income.poverty_line == float(lines.loc["Mar 2024", "national"])
    assert "proxy" in s.income.poverty_line_source and "Mar 2024" in s.income.poverty_line_source
    rural = study(folder, "income: {poverty_area: rural}\n", text)
    assert rural.income.poverty_line == float(lines.loc["Mar 2024", "rural"])
    assert study(folder, "income: {poverty_line: none}\n", text).income.poverty_line is None
    # A year without a published March line gives no default, and an explicit request is an error.
    old = MINIMAL.replace("baseline: baseline.csv", "baseline: {file: baseline.csv, year: 2019}")
    assert study(folder, text=old).income.poverty_line is None
    with pytest.raises(StudyError, match="no BPS"):
        study(folder, "income: {poverty_line: bps}\n", old)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("vcov_extra: [CRV2]\n", "vcov_extra"),
        ("did_fixed_effects: village\n", "did_fixed_effects"),
        ("romano_wolf: yes please\n", "romano_wolf"),
        ("main_outcomes: [nope]\n", "main_outcomes"),
        ("lee_bounds_reps: 0\n", "lee_bounds_reps"),
        ("power: {alpha: 2}\n", "power.alpha"),
        ("income: {poverty_line: -3}\n", "poverty_line"),
        ("alkire_foster: {k: 1.5}\n", "alkire_foster.k"),
    ],
)
def test_bad_values_are_named(folder: Path, extra: str, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        study(folder, extra)


def test_a_misspelt_design_is_refused_naming_the_file(folder: Path) -> None:
    with pytest.raises(StudyError, match=r"study\.yml.*design"):
        study(folder, "design: matchd\n")


def test_the_design_chooses_the_reports_primary_estimator(folder: Path) -> None:
    from analysis.report.blocks import primary_estimator

    assert primary_estimator(study(folder)) == "ancova"
    assert primary_estimator(study(folder, "design: matched\n")) == "did"
