"""Family indices on the panel: docs/methods.md §3.3 at baseline, and the conventions in both rounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.estimate.family_indices import WEIGHT_COLUMNS, build_family_indices
from analysis.inputs.study import OutcomeSpec

# docs/methods.md section 3.3: 8 households, the first four control.
Y = np.array([[1, 2, 3], [2, 2, 4], [3, 5, 3], [4, 3, 6], [3, 4, 5], [5, 6, 4], [4, 5, 7], [6, 5, 6]], float)
KLK = [-0.858703, -0.364802, 0.364802, 0.858703, 0.600504, 1.352604, 1.565810, 1.846505]
ICW = [-0.986885, -0.736001, 0.871303, 0.851582, 1.686513, 1.508374, 3.973725, 1.623955]
ICW_WEIGHTS = [-0.740186, 1.258403, 1.101595]


def worked_panel(follow: np.ndarray | None = None) -> pd.DataFrame:
    follow = Y + 1.0 if follow is None else follow
    frames = []
    for round_name, values in (("baseline", Y), ("followup", follow)):
        frames.append(
            pd.DataFrame(
                {
                    "hh": [f"h{i}" for i in range(8)],
                    "round": round_name,
                    "treatment": [0.0] * 4 + [1.0] * 4,
                    "in_sample": True,
                    "y1": values[:, 0],
                    "y2": values[:, 1],
                    "y3": values[:, 2],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


OUTCOMES = [OutcomeSpec(n, {"baseline": n, "followup": n}, family="fam") for n in ("y1", "y2", "y3")]


def test_baseline_index_is_the_worked_example() -> None:
    panel = worked_panel()
    result = build_family_indices(panel, OUTCOMES)
    base = panel["round"] == "baseline"
    np.testing.assert_allclose(result.columns.loc[base, "index_klk_fam"], KLK, atol=5e-7)
    # The ICW covariance is the baseline (pooled arms) one, as in the worked example.
    np.testing.assert_allclose(result.columns.loc[base, "index_icw_fam"], ICW, atol=5e-6)
    weights = result.weights.loc[result.weights["index"] == "icw"].set_index("component")["weight"]
    np.testing.assert_allclose(weights[["y1", "y2", "y3"]], ICW_WEIGHTS, atol=5e-6)
    assert tuple(result.weights.columns) == WEIGHT_COLUMNS
    assert [o.name for o in result.outcomes] == ["index_klk_fam", "index_icw_fam"]
    assert all(o.family == "fam" and not o.index for o in result.outcomes)


def test_followup_uses_the_baseline_standardization_and_weights() -> None:
    follow = Y[::-1] * 2.0
    panel = worked_panel(follow)
    result = build_family_indices(panel, OUTCOMES)
    mean, sd = Y[:4].mean(axis=0), Y[:4].std(axis=0, ddof=1)
    z_follow = (follow - mean) / sd
    fol = panel["round"] == "followup"
    np.testing.assert_allclose(result.columns.loc[fol, "index_klk_fam"], z_follow.mean(axis=1), rtol=1e-12)
    w = np.array(ICW_WEIGHTS)
    z_base = (Y - mean) / sd
    s_base, s_follow = z_base @ w / w.sum(), z_follow @ w / w.sum()
    expected = (s_follow - s_base[:4].mean()) / s_base[:4].std(ddof=1)
    np.testing.assert_allclose(result.columns.loc[fol, "index_icw_fam"], expected, atol=1e-5)


def test_directions_exclusions_and_an_exact_sum() -> None:
    rng = np.random.default_rng(3)
    n = 40
    frames = []
    for round_name in ("baseline", "followup"):
        items = rng.integers(0, 2, (n, 3)).astype(float)
        frames.append(
            pd.DataFrame(
                {
                    "hh": [f"h{i}" for i in range(n)],
                    "round": round_name,
                    "treatment": (np.arange(n) % 2).astype(float),
                    "in_sample": True,
                    "score": items.sum(axis=1),
                    "a": items[:, 0],
                    "b": items[:, 1],
                    "c": items[:, 2],
                    "bad": rng.normal(size=n),
                    "late": rng.normal(size=n) if round_name == "followup" else np.nan,
                    "skip": rng.normal(size=n),
                }
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    outcomes = [
        OutcomeSpec("score", {"baseline": "score", "followup": "score"}, family="p"),
        OutcomeSpec("a", {"baseline": "a", "followup": "a"}, family="p"),
        OutcomeSpec("b", {"baseline": "b", "followup": "b"}, family="p"),
        OutcomeSpec("c", {"baseline": "c", "followup": "c"}, family="p"),
        OutcomeSpec("bad", {"baseline": "bad", "followup": "bad"}, family="p", direction=-1),
        OutcomeSpec("late", {"followup": "late"}, family="p"),
        OutcomeSpec("skip", {"baseline": "skip", "followup": "skip"}, family="p", index=False),
        OutcomeSpec("alone", {"baseline": "a", "followup": "a"}, family="q"),
    ]
    result = build_family_indices(panel, outcomes)
    klk = result.weights.loc[result.weights["index"] == "klk"].set_index("component")
    assert klk.loc[["a", "b", "c", "bad"], "included"].all()
    assert "linear combination" in klk.loc["score", "note"]
    assert "both rounds" in klk.loc["late", "note"]
    assert "index: false" in klk.loc["skip", "note"]
    assert [o.name for o in result.outcomes] == ["index_klk_p", "index_icw_p"]  # q has one component
    # KLK: mean of the oriented z-scores (bad enters with its sign flipped)
    ref = (panel["round"] == "baseline") & (panel["treatment"] == 0)
    parts = panel[["a", "b", "c"]].assign(bad=-panel["bad"])
    z = (parts - parts[ref].mean()) / parts[ref].std(ddof=1)
    np.testing.assert_allclose(result.columns["index_klk_p"], z.mean(axis=1), rtol=1e-12)
    assert klk.loc["bad", "reference_mean"] == pytest.approx(panel.loc[ref, "bad"].mean())


def test_klk_imputes_missing_components_within_round_and_arm() -> None:
    panel = worked_panel()
    panel.loc[(panel["round"] == "followup") & (panel["hh"] == "h5"), "y2"] = np.nan
    result = build_family_indices(panel, OUTCOMES)
    mean, sd = Y[:4].mean(axis=0), Y[:4].std(axis=0, ddof=1)
    z = (Y + 1.0 - mean) / sd
    treated_follow = [4, 6, 7]  # the other treated households at follow-up
    z[5, 1] = z[treated_follow, 1].mean()
    fol = (panel["round"] == "followup").to_numpy()
    np.testing.assert_allclose(result.columns.loc[fol, "index_klk_fam"], z.mean(axis=1), rtol=1e-12)
