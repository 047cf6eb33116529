"""Small seeded long panels with the standard columns of analysis.construct.panel, for the analysis tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_panel(
    *,
    seed: int = 7,
    villages: int = 12,
    per: int = 15,
    attrition: float = 0.1,
    strata: int = 1,
    weights: bool = False,
    effect: float = 0.5,
) -> pd.DataFrame:
    """A two-round household panel randomized by village (half treated, within strata).

    Outcomes: ``y`` (continuous), ``b1``, ``b2``, ``b3`` (correlated yes/no items) and ``c``
    (a count), in both rounds; ``f`` (yes/no) at follow-up only; covariates ``x`` (baseline,
    with a few missing) and ``sex`` (``female``/``male`` per round). About ``attrition`` of the
    baseline households are not found again; two new households appear at follow-up.
    """
    rng = np.random.default_rng(seed)
    n = villages * per
    village = np.repeat(np.arange(villages), per)
    stratum = village % strata
    treat_v = np.zeros(villages)
    for s in range(strata):
        members = np.flatnonzero(np.arange(villages) % strata == s)
        treat_v[rng.permutation(members)[: len(members) // 2]] = 1.0
    treat = treat_v[village]
    v_eff = rng.normal(0, 0.5, villages)[village]
    h_eff = rng.normal(0, 1, n)
    x = rng.normal(0, 1, n)
    rows = []
    for post in (0, 1):
        latent = v_eff + h_eff + 0.5 * x + rng.normal(0, 1, n) + 0.2 * post
        y = 10 + latent + effect * treat * post
        shared = rng.normal(0, 1, n)
        items = {
            f"b{k}": (latent + shared + rng.normal(0, 1, n) + effect * treat * post > 0.3 * k).astype(float)
            for k in (1, 2, 3)
        }
        c = rng.poisson(np.exp(0.3 + 0.2 * latent.clip(-2, 2)))
        frame = pd.DataFrame(
            {
                "hh": [f"h{i:04d}" for i in range(n)],
                "round": "followup" if post else "baseline",
                "treatment": treat,
                "village": [f"v{v:02d}" for v in village],
                "strata": [f"s{s}" for s in stratum],
                "weight": rng.uniform(0.5, 2.0, n) if weights else 1.0,
                "y": y,
                **items,
                "c": c.astype(float),
                "x": np.where(rng.random(n) < 0.05, np.nan, x) if not post else np.nan,
                "sex": np.where(rng.random(n) < 0.5, "female", "male"),
            }
        )
        frame["f"] = (rng.random(n) < 0.3 + 0.3 * treat).astype(float) if post else np.nan
        rows.append(frame)
    base, follow = rows
    lost = rng.permutation(n)[: int(round(attrition * n))]
    follow = follow.drop(index=lost)
    new = follow.iloc[:2].copy()
    new["hh"] = ["new1", "new2"]
    follow = pd.concat([follow, new], ignore_index=True)
    panel = pd.concat([base, follow], ignore_index=True)
    in_base = set(base["hh"])
    in_follow = set(follow["hh"])
    panel["linkage"] = [
        "panel" if h in in_base and h in in_follow else ("baseline_only" if h in in_base else "followup_only")
        for h in panel["hh"]
    ]
    panel["cluster"] = panel["village"]
    panel["in_sample"] = True
    if strata == 1:
        panel["strata"] = None
    return panel
