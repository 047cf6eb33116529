"""A seeded staggered-rollout demo: a panel of several rounds, villages reached in waves.

:func:`generate_staggered` builds, from one ``numpy.random.default_rng(seed)``, a household panel
of ``rounds`` rounds (baseline 2021, then every two years) in which a programme reaches the
villages in ``waves`` waves: the first wave from the second round on, the next one a round
later, and so on; about a third of the villages are never reached. The programme's effect
grows with exposure (``event time`` e = rounds since the village was reached), which is the
case where the two-way fixed-effects estimate is biased: the villages reached early serve as
controls for those reached later while their own effect is still growing (Goodman-Bacon 2021).
:func:`write_staggered` writes it as files:

``villages.csv``
    The village list: code, name, kecamatan and ``first_round``, the round the programme
    reached the village (empty: never).
``baseline_2021.csv``, ``midline_2023.csv``, ``endline_2025.csv`` (three rounds)
    One plain CSV per round: ``hhid``, ``village``, ``household_size``, ``income_pc`` and
    ``savings``. The same households in every round (a balanced panel; the two-round demo of
    :mod:`analysis.demo.survey` is the one with attrition and export faults).
``study.yml``
    The study file: the rounds in order, ``rollout: first_round`` from the village list.
``truth.json``
    The true effects, computed from the generated potential outcomes: per outcome the
    ``cs_att`` estimand (ATT(g, t) averaged over treated cells with weights proportional to
    cohort size, as ``did::aggte(type = "simple")``), the average effect per event time, each
    ATT(g, t), and the ``twfe`` estimand (what two-way fixed effects converges to on this
    timing, a weighted average of the same effects with some weights zero or negative).
``README.md``
    What the data are.

Villages, their codes, names and kecamatan come from :mod:`analysis.demo.survey`'s generator,
and the files are written by its CSV writer, so the two demos look alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.config import DEFAULT_SEED
from analysis.demo.survey import (
    README_FILE,
    STUDY_FILE,
    TRUTH_FILE,
    VILLAGES_FILE,
    Array,
    _cat,
    _digits,
    _make_villages,
    _plain_csv,
    _round_money,
    write_files,
)

__all__ = ["StaggeredDemo", "generate_staggered", "round_names", "write_staggered"]

#: The first survey year; each later round comes two years after the one before.
FIRST_YEAR = 2021
#: Share of villages the programme never reaches (the comparison group of ``cs_att``).
NEVER_SHARE = 1 / 3
#: The column of the village list holding the first treated round.
ROLLOUT_COLUMN = "first_round"

# Income per person (Rp/month) without the programme: a level, village and household parts,
# a common trend, a village-by-round shock (so clustering by village matters) and noise.
_INCOME = {"mean": 800_000.0, "village": 120_000.0, "household": 200_000.0, "trend": 40_000.0,
           "village_round": 15_000.0, "noise": 60_000.0}  # fmt: skip
_SAVINGS = {"mean": 1_500_000.0, "village": 300_000.0, "household": 600_000.0, "trend": 50_000.0,
            "village_round": 30_000.0, "noise": 150_000.0}  # fmt: skip
#: Effect on income per person at event time e: grows by ``growth`` every round of exposure.
_INCOME_EFFECT = {"first": 50_000.0, "growth": 150_000.0}
#: Effect on savings: the same at every event time, where two-way fixed effects is unbiased.
_SAVINGS_EFFECT = {"first": 200_000.0, "growth": 0.0}
#: Household spread of the effect (its standard deviation relative to the mean effect).
_EFFECT_SPREAD = 0.3
OUTCOMES: tuple[str, ...] = ("income_pc", "savings")


@dataclass(frozen=True, eq=False)
class StaggeredDemo:
    """A generated staggered-rollout demo, held in memory.

    Attributes
    ----------
    seed
        The seed it was generated from.
    round_names
        The rounds in time order (``baseline``, ``midline``, ``endline`` for three).
    villages
        The village list (``village``, ``village_name``, ``kecamatan``, ``first_round``).
    rounds
        Each round's data, keyed by round name, as written to its file.
    study_yml, readme
        The texts of ``study.yml`` and ``README.md``.
    truth
        The contents of ``truth.json`` (module docstring).
    """

    seed: int
    round_names: tuple[str, ...]
    villages: pd.DataFrame
    rounds: Mapping[str, pd.DataFrame]
    study_yml: str
    readme: str
    truth: Mapping[str, Any]

    def files(self) -> dict[str, bytes]:
        """Every file of the demo, name to content."""
        return {
            VILLAGES_FILE: _plain_csv(self.villages),
            **{round_file(self.round_names, r): _plain_csv(frame) for r, frame in self.rounds.items()},
            STUDY_FILE: self.study_yml.encode("utf-8"),
            TRUTH_FILE: (json.dumps(dict(self.truth), indent=2, sort_keys=True) + "\n").encode("utf-8"),
            README_FILE: self.readme.encode("utf-8"),
        }


def round_names(rounds: int) -> tuple[str, ...]:
    """Names of ``rounds`` rounds: baseline, midline, endline; more: baseline, round_2, ..., endline."""
    if rounds == 3:
        return ("baseline", "midline", "endline")
    return ("baseline", *(f"round_{k}" for k in range(2, rounds)), "endline")


def round_file(names: tuple[str, ...], round_name: str) -> str:
    """The file of a round, named by its year: ``midline_2023.csv``."""
    return f"{round_name}_{FIRST_YEAR + 2 * names.index(round_name)}.csv"


def _outcome(
    rng: np.random.Generator,
    spec: Mapping[str, float],
    effect: Mapping[str, float],
    *,
    vix: Array,
    event: Array,
) -> tuple[Array, Array]:
    """Realized outcome and its potential outcome without the programme, households × rounds.

    ``event`` is the event time of each household and round (NaN before treatment and for the
    never treated); both outcomes are rounded as amounts are recorded, so the truth is the
    difference of what would have been written.
    """
    n, rounds = event.shape
    n_vil = int(vix.max()) + 1
    level: Array = (
        spec["mean"]
        + spec["village"] * rng.standard_normal(n_vil)[vix]
        + spec["household"] * rng.standard_normal(n)
    )
    trend = spec["trend"] * np.arange(rounds)
    shock = spec["village_round"] * rng.standard_normal((n_vil, rounds))[vix]
    untreated: Array = level[:, None] + trend + shock + spec["noise"] * rng.standard_normal((n, rounds))
    spread = 1.0 + _EFFECT_SPREAD * rng.standard_normal((n, 1))
    tau: Array = np.where(np.isnan(event), 0.0, effect["first"] + effect["growth"] * np.nan_to_num(event))
    y0 = _round_money(np.maximum(untreated, 0.0))
    y1 = _round_money(np.maximum(untreated + tau * spread, 0.0))
    return y1, y0


def _truth(y1: Array, y0: Array, cohort: Array, names: tuple[str, ...]) -> dict[str, Any]:
    """The ``cs_att`` and ``twfe`` estimands and the effects by cohort and event time.

    ``cohort`` is each household's first treated round as a position (1 = the second round),
    -1 for the never treated. The ``twfe`` estimand: with balanced data the coefficient of
    D_it in the regression on unit and round effects is sum(D~ · Y) / sum(D~ · D), D~ the
    treatment net of unit and round means; the untreated outcome averages out (parallel
    trends), leaving sum(D~ · effect) / sum(D~ · D) (de Chaisemartin and D'Haultfœuille 2020).
    """
    effect = (y1 - y0).astype(float)
    rounds = len(names)
    treated = (cohort[:, None] >= 0) & (np.arange(rounds) >= cohort[:, None])
    cells: dict[str, dict[str, float]] = {}
    weighted, weight = 0.0, 0
    by_event: dict[int, list[tuple[float, int]]] = {}
    for g in sorted(set(cohort[cohort >= 0].tolist())):
        members = cohort == g
        cells[names[g]] = {}
        for t in range(g, rounds):
            att = float(effect[members, t].mean())
            cells[names[g]][names[t]] = att
            size = int(members.sum())
            weighted += size * att
            weight += size
            by_event.setdefault(t - g, []).append((att, size))
    d = treated.astype(float)
    d_tilde = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    return {
        "cs_att": weighted / weight,
        "event_time": {
            str(e): sum(a * m for a, m in parts) / sum(m for _, m in parts)
            for e, parts in sorted(by_event.items())
        },
        "group_time": cells,
        "twfe": float((d_tilde * effect).sum() / (d_tilde * d).sum()),
    }


def generate_staggered(
    *, villages: int = 30, households: int = 40, rounds: int = 3, waves: int = 2, seed: int = DEFAULT_SEED
) -> StaggeredDemo:
    """Generate the staggered-rollout demo in memory.

    Parameters
    ----------
    villages
        Number of villages (at least ``3 * (waves + 1)``, so every wave and the never-treated
        group have villages in several kecamatan).
    households
        Households per village (5 to 999).
    rounds
        Survey rounds (3 to 6).
    waves
        Waves of the rollout (1 to ``rounds - 1``): wave k reaches its villages in round k + 1.
    seed
        Seed of the one ``numpy.random.default_rng`` everything is drawn from.

    Returns
    -------
    StaggeredDemo

    Raises
    ------
    ValueError
        If a size is out of range.

    Examples
    --------
    >>> demo = generate_staggered(villages=9, households=5, seed=1)
    >>> demo.round_names
    ('baseline', 'midline', 'endline')
    >>> sorted(demo.villages["first_round"].unique())
    ['', 'endline', 'midline']
    """
    if not 3 <= rounds <= 6:
        raise ValueError(f"rounds={rounds}: expecting 3 to 6")
    if not 1 <= waves <= rounds - 1:
        raise ValueError(f"waves={waves}: expecting 1 to {rounds - 1} (one wave per round after the first)")
    if not 3 * (waves + 1) <= villages <= 9801:
        raise ValueError(f"villages={villages}: expecting {3 * (waves + 1)} to 9801")
    if not 5 <= households <= 999:
        raise ValueError(f"households={households}: expecting 5 to 999")
    rng = np.random.default_rng(seed)
    names = round_names(rounds)
    vil = _make_villages(rng, villages)

    # Waves: a third of the villages never reached, the rest in equal waves, drawn at random.
    never = round(NEVER_SHARE * villages)
    sizes = np.full(waves, (villages - never) // waves)
    sizes[: (villages - never) % waves] += 1
    wave = np.repeat(np.arange(-1, waves), np.concatenate([[never], sizes]))[rng.permutation(villages)]
    village_cohort = np.where(wave >= 0, wave + 1, -1)  # the round (position) first treated

    vix = np.repeat(np.arange(villages), households)
    hhid = _cat(vil.code[vix], _digits(np.tile(np.arange(1, households + 1), villages), 3))
    cohort = village_cohort[vix]
    event = np.where(cohort[:, None] >= 0, np.arange(rounds) - cohort[:, None], -1).astype(float)
    event[event < 0] = np.nan
    size = np.minimum(1 + rng.poisson(2.8, len(vix)), 12)
    outcomes = {
        "income_pc": _outcome(rng, _INCOME, _INCOME_EFFECT, vix=vix, event=event),
        "savings": _outcome(rng, _SAVINGS, _SAVINGS_EFFECT, vix=vix, event=event),
    }
    frames = {
        r: pd.DataFrame(
            {
                "hhid": hhid,
                "village": vil.code[vix],
                "household_size": size,
                **{name: realized[:, t] for name, (realized, _) in outcomes.items()},
            }
        )
        for t, r in enumerate(names)
    }
    first_round = np.asarray(["", *names], dtype=object)[village_cohort + 1]
    village_frame = pd.DataFrame(
        {
            "village": vil.code,
            "village_name": vil.name,
            "kecamatan": vil.kecamatan,
            ROLLOUT_COLUMN: first_round,
        }
    )
    truth = {name: _truth(y1, y0, cohort, names) for name, (y1, y0) in outcomes.items()}
    reached = {names[k + 1]: int(s) for k, s in enumerate(sizes)}
    readme = _readme(
        names, truth, seed=seed, villages=villages, households=households, never=never, reached=reached
    )
    return StaggeredDemo(
        seed=seed,
        round_names=names,
        villages=village_frame,
        rounds=frames,
        study_yml=_study_yml(names),
        readme=readme,
        truth=truth,
    )


def write_staggered(
    out_dir: Path,
    *,
    villages: int = 30,
    households: int = 40,
    rounds: int = 3,
    waves: int = 2,
    seed: int = DEFAULT_SEED,
) -> tuple[Path, ...]:
    """Generate the staggered-rollout demo and write its files into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into; created if needed. Files of the same name are replaced.
    villages, households, rounds, waves, seed
        As in :func:`generate_staggered`.

    Returns
    -------
    tuple of Path
        The files written.
    """
    demo = generate_staggered(villages=villages, households=households, rounds=rounds, waves=waves, seed=seed)
    return write_files(Path(out_dir), demo.files())


def _study_yml(names: tuple[str, ...]) -> str:
    lines = ['name: "Demo study: staggered rollout in Kabupaten Sukamaju (fictional)"', "rounds:"]
    for t, r in enumerate(names):
        lines.append(f"  {r}: {{file: {round_file(names, r)}, year: {FIRST_YEAR + 2 * t}}}")
    lines += [
        f"villages: {{file: {VILLAGES_FILE}, id: village, name: village_name, strata: kecamatan}}",
        "id: hhid",
        "village: village",
        "cluster: village",
        "# The round the programme reached each village (empty: never), from the village list.",
        f"rollout: {{column: {ROLLOUT_COLUMN}, controls: never_treated}}",
        "# A fixed, documented key so the demo's pseudonyms are the same on every machine",
        "# (a real study keeps its key outside the repository; see docs/study-file.md).",
        "pseudonym_key: berdaya-demo-key-not-secret",
        "outcomes:",
        "  - {name: income_pc, family: income}",
        "  - {name: savings, family: life}",
    ]
    return "\n".join(lines) + "\n"


def _readme(
    names: tuple[str, ...],
    truth: Mapping[str, Any],
    *,
    seed: int,
    villages: int,
    households: int,
    never: int,
    reached: Mapping[str, int],
) -> str:
    waves = ", ".join(f"{n} villages from the {r}" for r, n in reached.items())
    income = truth["income_pc"]
    events = ", ".join(f"e = {e}: Rp {v:,.0f}" for e, v in income["event_time"].items())
    return f"""# Demo survey: staggered rollout in Kabupaten Sukamaju (fictional)

Synthetic data for trying the designs with more than two rounds. Nothing in it is real.

Generated by `analysis.demo.staggered.write_staggered` with seed {seed}:
{villages} villages, {households} households each, interviewed in {len(names)} rounds
({", ".join(names)}), two years apart from {FIRST_YEAR}. The same households answer every round.
The programme reached the villages in waves:
{waves};
{never} villages were never reached (`first_round` empty in `villages.csv`).
`study.yml` reads the timing with `rollout: {{column: first_round}}`.

The effect on income per person grows with exposure:
{events}.
The effect on savings is the same every round. `truth.json` holds, per outcome, the true
`cs_att` (the effects averaged over the treated village-rounds, weighted by cohort size), the
effect per event time and per cohort and round, and the `twfe` estimand: what two-way fixed
effects converges to on this timing. For income it is far below the true effect:
Rp {income["twfe"]:,.0f} against Rp {income["cs_att"]:,.0f},
because villages reached early serve as controls for those reached later while their own
effect still grows.

`berdaya run study.yml --out reports` analyses it: `tables/impact.csv` has `twfe` and `cs_att`,
`tables/event_study.csv` the event study, and the programme report draws it.
"""
