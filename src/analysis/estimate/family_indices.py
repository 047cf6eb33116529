"""One summary index per outcome family, built on the panel so it is estimated like any outcome.

For every family with at least two usable components this adds two panel columns,
``index_klk_<family>`` (Kling–Liebman–Katz mean effects, docs/methods.md §3.1) and
``index_icw_<family>`` (Anderson's inverse-covariance-weighted index, §3.2), in both rounds.
The conventions, the same for every family:

- components are the family's outcomes measured in both rounds (an index must be the same
  construct at baseline and follow-up for DiD and ANCOVA to mean anything), oriented by their
  ``direction`` and left out when the study file says ``index: false``;
- a component that is an exact linear combination of the others (``participation_score`` is the
  sum of the ladder rungs) is left out, the first such in study order, because it would count
  the others twice and make the ICW covariance matrix singular;
- every component is standardized on the **baseline comparison group** (mean and n − 1 SD of
  in-sample comparison households at baseline), in both rounds, so an effect is in baseline
  comparison-SD units and the standardization cannot absorb any programme effect;
- KLK: missing components of a household with at least one valid component are imputed at
  the mean of its round × arm cell (KLK's assignment-group rule, applied per round);
- ICW: the covariance matrix is computed on all in-sample baseline households (both arms,
  pairwise complete, n − 1), the weights ``w = Σ⁻¹1`` are applied in both rounds over each
  household's observed components, and the index is rescaled to mean 0 and SD 1 in the
  baseline comparison group.

Survey weights are not used in building the indices (they are used in estimating them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import EstimationError
from analysis.estimate.regressions import measured_in, redundant_column
from analysis.inputs.study import OutcomeSpec
from analysis.methods.indices import icw_index, klk_index, standardize

INDEX_KINDS: tuple[str, ...] = ("klk", "icw")

WEIGHT_COLUMNS: tuple[str, ...] = (
    "family",
    "index",
    "component",
    "direction",
    "included",
    "weight",
    "share",
    "reference_mean",
    "reference_sd",
    "n_reference",
    "condition_number",
    "note",
)


def index_name(kind: str, family: str) -> str:
    """Outcome (and panel column) name of a family index, e.g. ``index_klk_income``."""
    return f"index_{kind}_{family}"


@dataclass(frozen=True)
class FamilyIndices:
    """The family indices of a study.

    Attributes
    ----------
    columns
        New panel columns (one per index), aligned with the panel's index; NaN outside the
        estimation sample.
    outcomes
        One outcome per index, to estimate like any other (family = the family summarized).
    weights
        One row per family × index × candidate component (columns :data:`WEIGHT_COLUMNS`):
        ICW weights (KLK: 1/K), the standardization, and why a component was left out.
    """

    columns: pd.DataFrame
    outcomes: tuple[OutcomeSpec, ...]
    weights: pd.DataFrame


def _values(panel: pd.DataFrame, outcome: OutcomeSpec) -> pd.Series:
    """The outcome's value in each panel row, taken from that row's round column."""
    out = pd.Series(np.nan, index=panel.index, dtype="float64")
    for round_name, column in outcome.columns.items():
        if column in panel.columns:
            rows = panel["round"] == round_name
            out[rows] = pd.to_numeric(panel.loc[rows, column], errors="coerce")
    return out


def _weight_row(family: str, kind: str, outcome: OutcomeSpec, **values: object) -> dict[str, object]:
    row: dict[str, object] = {c: np.nan for c in WEIGHT_COLUMNS}
    row.update(family=family, index=kind, component=outcome.name, direction=outcome.direction)
    row.update(included=False, note="")
    row.update(values)
    return row


def build_family_indices(
    panel: pd.DataFrame, outcomes: Sequence[OutcomeSpec], *, min_components: int = 2
) -> FamilyIndices:
    """Build the KLK and ICW index of every family (see the module docstring for conventions).

    Parameters
    ----------
    panel
        The long panel (``hh``, ``round``, ``treatment``, ``in_sample`` and the outcome columns).
    outcomes
        The study's outcomes; their ``family`` groups them.
    min_components
        Smallest number of usable components for a family to get an index.

    Returns
    -------
    FamilyIndices
    """
    in_sample = panel["in_sample"].astype(bool) & panel["treatment"].isin([0.0, 1.0])
    reference = in_sample & (panel["round"] == "baseline") & (panel["treatment"] == 0)
    families: list[str] = []
    for outcome in outcomes:
        if outcome.family is not None and outcome.family not in families:
            families.append(outcome.family)

    columns: dict[str, pd.Series] = {}
    specs: list[OutcomeSpec] = []
    rows: list[dict[str, object]] = []
    for family in families:
        members = [o for o in outcomes if o.family == family]
        usable: list[OutcomeSpec] = []
        reasons: dict[str, str] = {}
        for outcome in members:
            if not outcome.index:
                reasons[outcome.name] = "index: false in the study file"
            elif not (measured_in(panel, outcome, "baseline") and measured_in(panel, outcome, "followup")):
                reasons[outcome.name] = "not measured in both rounds"
            else:
                usable.append(outcome)
        frame = pd.DataFrame({o.name: _values(panel, o) for o in usable}, index=panel.index).loc[in_sample]
        for outcome in list(usable):
            ref_values = frame.loc[reference[in_sample], outcome.name].dropna()
            if len(ref_values) < 2 or not ref_values.std(ddof=1) > 0:
                reasons[outcome.name] = "no variation in the baseline comparison group"
                usable.remove(outcome)
        frame = frame[[o.name for o in usable]]
        while frame.shape[1] >= 2 and (dropped := redundant_column(frame)) is not None:
            reasons[dropped] = "an exact linear combination of the other components (counted twice)"
            usable = [o for o in usable if o.name != dropped]
            frame = frame.drop(columns=dropped)
        excluded = [o for o in members if o.name in reasons]
        if len(usable) < min_components:
            for outcome in members:
                note = reasons.get(outcome.name, f"fewer than {min_components} usable components: no index")
                for kind in INDEX_KINDS:
                    rows.append(_weight_row(family, kind, outcome, note=note))
            continue

        directions = {o.name: o.direction for o in usable}
        ref = reference.loc[frame.index]
        treated = panel.loc[frame.index, "treatment"] == 1
        rounds = panel.loc[frame.index, "round"].astype(str)
        oriented = frame * pd.Series(directions)
        z = standardize(oriented, reference=ref)
        mean = oriented.loc[ref].mean()
        sd = oriented.loc[ref].std(ddof=1)
        n_ref = oriented.loc[ref].notna().sum()

        standardization = {
            o.name: {
                "included": True,
                "reference_mean": float(mean[o.name]) * o.direction,
                "reference_sd": float(sd[o.name]),
                "n_reference": int(n_ref[o.name]),
            }
            for o in usable
        }

        name = index_name("klk", family)
        try:
            klk = klk_index(frame, reference=ref, treated=treated, directions=directions, groups=rounds)
        except EstimationError as exc:
            for outcome in members:
                note = reasons.get(outcome.name, f"no KLK index: {exc}")
                rows.append(_weight_row(family, "klk", outcome, note=note))
        else:
            columns[name] = klk.reindex(panel.index)
            specs.append(OutcomeSpec(name, {"baseline": name, "followup": name}, family=family, index=False))
            share = 1.0 / len(usable)
            rows += [
                _weight_row(family, "klk", o, weight=share, share=share, **standardization[o.name])
                for o in usable
            ]
            rows += [_weight_row(family, "klk", o, note=reasons[o.name]) for o in excluded]

        baseline = rounds == "baseline"
        name = index_name("icw", family)
        try:
            result = icw_index(frame.loc[baseline], reference=ref.loc[baseline], directions=directions)
        except EstimationError as exc:
            for outcome in members:
                note = reasons.get(outcome.name, f"no ICW index: {exc}")
                rows.append(_weight_row(family, "icw", outcome, note=note))
            continue
        weights = result.weights
        observed = z.notna()
        numerator = z.fillna(0.0).mul(weights, axis=1).sum(axis=1)
        denominator = observed.mul(weights, axis=1).sum(axis=1)
        usable_rows = observed.any(axis=1) & (denominator.abs() > 1e-12 * float(weights.abs().sum()))
        raw = (numerator / denominator).where(usable_rows)
        reference_index = raw.loc[ref].dropna()
        icw = (raw - reference_index.mean()) / reference_index.std(ddof=1)
        columns[name] = icw.reindex(panel.index)
        specs.append(OutcomeSpec(name, {"baseline": name, "followup": name}, family=family, index=False))
        warning = "; ".join(result.warnings)
        total = float(weights.sum())
        rows += [
            _weight_row(
                family,
                "icw",
                o,
                weight=float(weights[o.name]),
                share=float(weights[o.name]) / total,
                condition_number=result.condition_number,
                note=warning,
                **standardization[o.name],
            )
            for o in usable
        ]
        rows += [_weight_row(family, "icw", o, note=reasons[o.name]) for o in excluded]

    table = pd.DataFrame(rows, columns=list(WEIGHT_COLUMNS))
    return FamilyIndices(
        columns=pd.DataFrame(columns, index=panel.index),
        outcomes=tuple(specs),
        weights=table,
    )
