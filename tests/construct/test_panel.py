"""Linking the rounds: linkage flags, the arm from baseline, and estimation exclusions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.construct.panel import build_panel, linkage_by_village
from analysis.inputs.codebook import codebook_from_study
from analysis.inputs.study import load_study


def _study(tmp_path: Path) -> Path:
    (tmp_path / "b.csv").write_text("x\n")
    (tmp_path / "f.csv").write_text("x\n")
    (tmp_path / "study.yml").write_text(
        "rounds: {baseline: b.csv, followup: f.csv}\nid: hhid\ntreatment: treat\nvillage: desa\n"
        "outcomes: [y]\n"
    )
    return tmp_path / "study.yml"


def test_linkage_flags_and_treatment_from_baseline(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path))
    cols = {"baseline": ["hhid", "treat", "desa", "y"], "followup": ["hhid", "treat", "desa", "y"]}
    codebook = codebook_from_study(study, cols)
    base = pd.DataFrame(
        {
            "hhid": ["a", "b", "c", "d"],
            "treat": [1.0, 0.0, 1.0, np.nan],
            "desa": ["v1", "v2", "v1", "v2"],
            "y": [1.0, 2, 3, 4],
        }
    )
    follow = pd.DataFrame(
        {"hhid": ["a", "b", "e"], "treat": [0.0, 0.0, 1.0], "desa": ["v1", "v2", None], "y": [2.0, 3, 5]}
    )
    panel = build_panel({"baseline": base, "followup": follow}, codebook=codebook, study=study)
    first = panel.data.drop_duplicates("hh").set_index("hh")
    assert first["linkage"].to_dict() == {
        "a": "panel",
        "b": "panel",
        "c": "baseline_only",
        "d": "baseline_only",
        "e": "followup_only",
    }
    # "a" says 0 at follow-up but 1 at baseline: the arm is taken from baseline
    assert set(panel.data.loc[panel.data["hh"] == "a", "treatment"]) == {1.0}
    # "d" has no arm anywhere, "e" has no village (the cluster): both excluded, with reasons
    reasons = panel.data.set_index(["hh", "round"])["exclusion_reason"]
    assert reasons[("d", "baseline")] == "missing_treatment"
    assert reasons[("e", "followup")] == "missing_cluster"
    assert panel.exclusions["rows"].sum() == 2
    by_village = linkage_by_village(panel.data).set_index("village")
    assert by_village.loc["v1", "baseline"] == 2 and by_village.loc["v1", "attrition_rate"] == 0.5


def test_linkage_summary_is_plain_json_for_the_run_record(tmp_path: Path) -> None:
    import json

    from analysis.construct.panel import linkage_summary

    study = load_study(_study(tmp_path))
    cols = {"baseline": ["hhid", "treat", "desa", "y"], "followup": ["hhid", "treat", "desa", "y"]}
    codebook = codebook_from_study(study, cols)
    base = pd.DataFrame(
        {"hhid": ["a", "b", "c"], "treat": [1.0, 0.0, 1.0], "desa": ["v1", "v2", "v1"], "y": 1.0}
    )
    follow = pd.DataFrame({"hhid": ["a", "d"], "treat": [1.0, 0.0], "desa": ["v1", "v2"], "y": 2.0})
    panel = build_panel({"baseline": base, "followup": follow}, codebook=codebook, study=study)
    summary = linkage_summary(panel.data)
    assert json.loads(json.dumps(summary)) == summary  # nothing numpy-typed
    assert summary["households"] == 4
    assert summary["by_arm"] == {
        "comparison": {"panel": 0, "baseline_only": 1, "followup_only": 1},
        "treatment": {"panel": 1, "baseline_only": 1, "followup_only": 0},
    }
    v1 = next(v for v in summary["by_village"] if v["village"] == "v1")
    assert v1 == {
        "village": "v1",
        "treatment": 1,
        "panel": 1,
        "baseline_only": 1,
        "followup_only": 0,
        "baseline": 2,
        "followup": 1,
        "attrition_rate": 0.5,
    }
    assert panel.unlinked.sort_values("hh")[["hh", "linkage"]].values.tolist() == [
        ["b", "baseline_only"],
        ["c", "baseline_only"],
        ["d", "followup_only"],
    ]


def test_panel_row_order_is_that_of_a_stable_sort_by_round_village_household() -> None:
    # build_panel sorts by integer codes of each key; the order must be pandas' own stable sort
    # with missing values last, ties kept in their original order.
    from analysis.construct.panel import sort_order

    rng = np.random.default_rng(11)
    n = 400
    frame = pd.DataFrame(
        {
            "round": rng.choice(["followup", "baseline"], n),
            "village": pd.Series(rng.choice(["0101", "0102", "10", "9", None], n), dtype=object),
            "hh": pd.Series(rng.choice([f"h{i}" for i in range(60)] + [None], n), dtype="str"),
            "row": np.arange(n),
        }
    )
    expected = frame.sort_values(["round", "village", "hh"], kind="stable", na_position="last")
    np.testing.assert_array_equal(sort_order(frame, ["round", "village", "hh"]), expected["row"].to_numpy())
