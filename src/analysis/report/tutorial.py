"""Sentences and small tables for the guided tutorial (``notebooks/tutorial*.ipynb``).

The tutorial's text around numbers is written here, from the same tables the reports use, so
no number in the tutorial is typed by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.config import ESTIMATORS, TESTED_ESTIMATORS
from analysis.report.text import Language
from analysis.shared import layout
from analysis.shared.files import read_csv

#: The lesson starts from the naive before/after change and then shows what the tested
#: estimators correct: the untested ones first, each group in the tables' order (a stable sort).
ESTIMATORS_SHOWN = tuple(sorted(ESTIMATORS, key=lambda e: e in TESTED_ESTIMATORS))


def compare_estimators(impact: pd.DataFrame, *, outcome: str) -> pd.DataFrame:
    """The four estimates of one outcome side by side, with intervals and sample sizes."""
    rows = impact.loc[(impact["outcome"] == outcome) & impact["estimator"].isin(ESTIMATORS_SHOWN)]
    rows = rows.set_index("estimator").reindex([e for e in ESTIMATORS_SHOWN if e in set(rows["estimator"])])
    return rows[["estimate", "std_error", "ci_low", "ci_high", "n_obs", "n_clusters", "se_type"]]


def before_after_lesson(impact: pd.DataFrame, *, outcome: str, language: Language) -> str:
    """Why the before/after change in programme villages is not the programme's effect."""
    table = compare_estimators(impact, outcome=outcome)
    if not {"before_after", "did"} <= set(table.index):
        return ""
    before_after = float(table.at["before_after", "estimate"])  # type: ignore[arg-type]
    did = float(table.at["did", "estimate"])  # type: ignore[arg-type]
    trend = before_after - did
    if language == "en":
        return (
            f"In programme villages `{outcome}` changed by {before_after:,.3g} between the rounds. "
            f"Comparison villages, which had no programme, changed by about {trend:,.3g} over the "
            f"same period. The difference-in-differences estimate, {did:,.3g}, removes that "
            "common change; the before/after number does not, so it is not an impact estimate."
        )
    return (
        f"Di desa program `{outcome}` berubah {before_after:,.3g} antara dua putaran. Desa "
        f"pembanding, tanpa program, berubah sekitar {trend:,.3g} pada periode yang sama. "
        f"Perkiraan selisih-dari-selisih, {did:,.3g}, menghapus perubahan bersama itu; angka "
        "sebelum–sesudah tidak, jadi bukan perkiraan dampak."
    )


def clustering_lesson(impact: pd.DataFrame, *, outcome: str, language: Language) -> str:
    """How many villages the standard errors are clustered over, and why."""
    table = compare_estimators(impact, outcome=outcome)
    if "did" not in table.index:
        return ""
    g = float(table.at["did", "n_clusters"])  # type: ignore[arg-type]
    n = float(table.at["did", "n_obs"])  # type: ignore[arg-type]
    if language == "en":
        return (
            f"The DiD estimate uses {int(n)} households in {int(g)} villages. Households in one "
            "village share roads, prices, leaders and weather, so they are not independent draws: "
            f"the standard error is clustered by village, and tests use t with {int(g) - 1} degrees "
            "of freedom (villages minus one), as Stata's `vce(cluster village)` does."
        )
    return (
        f"Perkiraan DiD memakai {int(n)} rumah tangga di {int(g)} desa. Rumah tangga dalam satu "
        "desa berbagi jalan, harga, pemimpin dan cuaca, jadi tidak saling bebas: galat baku "
        f"dikelompokkan per desa, dan uji memakai t dengan derajat bebas {int(g) - 1} (jumlah "
        "desa dikurangi satu), seperti `vce(cluster village)` di Stata."
    )


def read_tables(work_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The tables the tutorial discusses, from a finished estimate stage (text as written)."""
    tables = Path(work_dir) / layout.TABLES_DIR
    return {p.stem: read_csv(p) for p in sorted(tables.glob("*.csv"))}
