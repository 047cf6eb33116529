"""Paths and fixed settings, defined once.

Every folder the workbench reads or writes is named here, and so is the one random seed
that every stochastic step (demo data, bootstrap, randomization inference) starts from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: The repository root (``src/analysis/config.py`` → two levels up from ``src``).
PROJECT_ROOT: Final[Path] = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR: Final[Path] = PROJECT_ROOT / "notebooks"
DATA_DIR: Final[Path] = PROJECT_ROOT / "data"
RAW_DIR: Final[Path] = DATA_DIR / "raw"
PROCESSED_DIR: Final[Path] = DATA_DIR / "processed"
REPORTS_DIR: Final[Path] = PROJECT_ROOT / "reports"
DEMO_DIR: Final[Path] = RAW_DIR / "demo"
DEMO_STUDY: Final[Path] = DEMO_DIR / "study.yml"

#: The seed every random step derives from unless a study file sets its own ``seed``.
#: Change it here and nowhere else.
DEFAULT_SEED: Final[int] = 20231

#: Names of the two survey rounds, in time order.
ROUNDS: Final[tuple[str, str]] = ("baseline", "followup")

#: The estimators that are tested (p-values, few-cluster inference, q-values), in the order
#: tables show them.
TESTED_ESTIMATORS: Final[tuple[str, ...]] = ("followup_diff", "did", "ancova")

#: Every estimator, in the order tables show them: ``before_after`` (the change in programme
#: villages) is descriptive, never tested, and comes last.
ESTIMATORS: Final[tuple[str, ...]] = (*TESTED_ESTIMATORS, "before_after")

#: Estimators of a study with more than two rounds (analysis.estimate.staggered), in the order
#: tables show them: ``twfe`` (unit and round fixed effects, biased under staggered timing with
#: heterogeneous effects) and ``cs_att`` (Callaway–Sant'Anna). They are not in ESTIMATORS:
#: every two-round design is built for each of those, and these need more than two rounds.
STAGGERED_ESTIMATORS: Final[tuple[str, ...]] = ("twfe", "cs_att")

#: Columns of ``tables/impact.csv`` (the public contract).
IMPACT_COLUMNS: Final[tuple[str, ...]] = (
    "outcome",
    "estimator",
    "estimate",
    "std_error",
    "p_value",
    "ci_low",
    "ci_high",
    "n_obs",
    "n_clusters",
    "se_type",
)

#: Columns of ``tables/event_study.csv`` (the public contract): one row per outcome ×
#: estimator × event time; event time −1 is the reference (estimate 0, no standard error).
EVENT_STUDY_COLUMNS: Final[tuple[str, ...]] = (
    "outcome",
    "estimator",
    "event_time",
    "estimate",
    "std_error",
    "ci_low",
    "ci_high",
    "n_obs",
    "n_clusters",
)

#: Outcome families: the six empowerment goals plus the participation ladder.
FAMILIES: Final[tuple[str, ...]] = (
    "institutions",
    "business",
    "income",
    "environment",
    "life",
    "community",
    "participation",
)
