"""The shrunk study of the disclosure tests, built by the session fixture ``tiers_run``.

A small seeded demo study is shrunk so that one programme village has a single household and one
comparison village three; the estimate stage then writes ``tables/`` (public) and
``<processed>/internal/`` (for the evaluator). The data stages run in-process.
tests/stages/test_disclosure_tiers.py checks the tables, tests/report/test_report_disclosure.py
the HTML sections rendered from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.demo.survey import write_demo
from analysis.stages import clean_stage, construct_stage, estimate_stage

MIN_CELL = 10  # the demo study's default


@dataclass(frozen=True)
class Run:
    """The shrunk study after its estimate stage: both tiers and the two small villages."""

    study: Path
    processed: Path
    public: Path
    internal: Path
    tiny: str  # a programme village of one household
    three: str  # a comparison village of three


def arm_linkage(panel: pd.DataFrame) -> pd.DataFrame:
    """``panel_linkage.csv`` recomputed as the construct stage does, after the panel was shrunk."""
    first = panel.drop_duplicates("hh")
    arm = first["treatment"].map({1.0: "treatment", 0.0: "comparison"}).fillna("unknown")
    return first.assign(arm=arm).groupby(["arm", "linkage"]).size().rename("households").reset_index()


def build_tiers(folder: Path) -> Run:
    """Write the demo (10 villages × 20 households, seed 11), shrink two villages, run the stages."""
    write_demo(folder / "study", villages=10, households=20, seed=11)
    study = folder / "study" / "study.yml"
    study.write_text(
        study.read_text() + "wild_bootstrap_reps: 99\nlee_bounds_reps: 49\ndesign_test_reps: 49\n"
    )
    processed = folder / "processed"
    for round_name in ("baseline", "followup"):
        clean_stage(study, round_name, processed)
    construct_stage(study, processed)
    panel = pd.read_parquet(processed / "panel.parquet")
    arms = panel.drop_duplicates("village").set_index("village")["treatment"]
    tiny, three = str(arms[arms == 1].index[0]), str(arms[arms == 0].index[0])
    for village, keep in ((tiny, 1), (three, 3)):
        households = sorted(panel.loc[panel["village"] == village, "hh"].unique())[:keep]
        panel = panel.loc[(panel["village"] != village) | panel["hh"].isin(households)]
    panel.to_parquet(processed / "panel.parquet")
    arm_linkage(panel).to_csv(processed / "panel_linkage.csv", index=False)
    estimate_stage(study, processed, folder / "tables")
    return Run(study, processed, folder / "tables", processed / "internal", tiny, three)
