"""Published results reproduced by the data stages, to their published precision.

Each folder of tests/fixtures/published holds a small extract of real data (from a PyPI
package), its study file, CITATION.md and expected.csv (the published numbers with their
number of decimals and source). The test runs the data stages in-process (clean, construct,
estimate: what ``berdaya run STUDY --no-village-reports`` runs in its notebooks) and compares the
tables with the published numbers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.config import IMPACT_COLUMNS, ROUNDS
from analysis.stages import clean_stage, construct_stage, estimate_stage

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "published"
STUDIES = sorted(p.name for p in FIXTURES.iterdir() if (p / "study.yml").is_file())
EXPECTED = [
    (name, row)
    for name in STUDIES
    for row in pd.read_csv(FIXTURES / name / "expected.csv", dtype={"outcome": str}).to_dict("records")
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each fixture's study through the data stages; the folder holding its ``tables/``."""
    out: dict[str, Path] = {}
    for name in STUDIES:
        folder = tmp_path_factory.mktemp(name)
        study = FIXTURES / name / "study.yml"
        processed = folder / "processed"
        for round_name in ROUNDS:
            clean_stage(study, round_name, processed)
        construct_stage(study, processed)
        estimate_stage(study, processed, folder / "tables")
        out[name] = folder
    return out


def test_there_are_at_least_two_published_fixtures() -> None:
    assert len(STUDIES) >= 2
    for name in STUDIES:
        folder = FIXTURES / name
        assert {"study.yml", "CITATION.md", "expected.csv", "baseline.csv", "followup.csv"} <= {
            p.name for p in folder.iterdir()
        }
        assert "Wooldridge" in (folder / "CITATION.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", STUDIES)
def test_the_stages_write_the_impact_table(runs, name: str) -> None:
    folder = runs[name]
    assert tuple(pd.read_csv(folder / "tables" / "impact.csv").columns) == IMPACT_COLUMNS


@pytest.mark.parametrize(
    ("name", "expected"), EXPECTED, ids=[f"{n}-{r['table']}-{r['estimator']}" for n, r in EXPECTED]
)
def test_published_number_is_reproduced(runs, name: str, expected: dict) -> None:
    folder = runs[name]
    if expected["table"] == "impact":
        table = pd.read_csv(folder / "tables" / "impact.csv")
        row = table.loc[(table["outcome"] == expected["outcome"]) & (table["estimator"] == expected["estimator"])]
        got_estimate, got_se = row["estimate"], row["std_error"]
    else:
        table = pd.read_csv(folder / "tables" / "balance.csv")
        row = table.loc[
            (table["sample"] == "baseline") & (table["row_type"] == "variable") & (table["variable"] == expected["outcome"])
        ]
        got_estimate, got_se = row["difference"], row["std_error"]
    assert len(row) == 1, f"no {expected['estimator']} row for {expected['outcome']}"
    # Published precision: the number printed with `decimals` decimals is what the source shows.
    half_unit = 0.5 * 10.0 ** -int(expected["decimals"]) + 1e-9
    assert abs(float(got_estimate.iloc[0]) - expected["estimate"]) <= half_unit, expected["source"]
    assert abs(float(got_se.iloc[0]) - expected["std_error"]) <= half_unit, expected["source"]
    assert int(row["n_obs"].iloc[0]) == int(expected["n_obs"])
    if expected["table"] == "impact":
        assert row["se_type"].iloc[0] == "iid"
