"""One programme village, one comparison village, one village in all (issue #12).

With a single cluster, or a single cluster in an arm, the run completes: every estimate is
still given, but no standard error, p-value, interval or few-cluster p-value is (NaN, with the
reason), the estimate stage adds a run warning, and the reports make no significance claim.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from jobs import OneClusterStages
from panel_data import make_panel

from analysis.errors import BerdayaError, EstimationError
from analysis.estimate.attrition import attrition_table, lee_bounds_table
from analysis.estimate.balance import balance_table
from analysis.estimate.mde import mde_table
from analysis.estimate.regressions import fit_ols
from analysis.estimate.tables import analyse
from analysis.inputs.study import OutcomeSpec, RoundSpec, Study
from analysis.methods.few_clusters import (
    INFERENCE_GAPS,
    crv3_se,
    inference_gap,
    randomization_inference,
    randomization_wald,
    wcr_bootstrap,
    wild_cluster_bootstrap,
)
from analysis.methods.lee_bounds import lee_bounds
from analysis.report import programme as pr
from analysis.report import village as village_report
from analysis.report.text import WITHHELD_CODES
from analysis.shared.run_warnings import read_warnings_table

TESTED = ("followup_diff", "did", "ancova")


# The demo survey with 4 villages × 15 households and one village in an arm
# (jobs.one_cluster_study), built in background processes from the session's start.
@pytest.fixture
def pilot(one_cluster_pilot: tuple[Path, Path, Path, Path, int]) -> tuple[Path, Path, Path, Path, int]:
    """The whole pipeline (notebooks included) on a study with one programme village (e2e)."""
    return one_cluster_pilot


@pytest.fixture
def pilot_stages(one_cluster_stages: OneClusterStages) -> tuple[Path, Path, Path]:
    """The data stages in-process on the same study with one programme village."""
    return one_cluster_stages.pilot


@pytest.fixture
def one_comparison(one_cluster_stages: OneClusterStages) -> tuple[Path, Path]:
    """The data stages in-process on a study with one comparison village."""
    return one_cluster_stages.one_comparison


def study_for(tmp_path: Path, **options: object) -> Study:
    """A study over :func:`panel_data.make_panel`'s columns (no files are read)."""
    outcomes = tuple(
        OutcomeSpec(name=n, columns={"baseline": n, "followup": n}, family="life") for n in ("y", "b1", "c")
    )
    rounds = {r: RoundSpec(r, tmp_path / f"{r}.csv") for r in ("baseline", "followup")}
    base = Study(
        path=tmp_path / "study.yml",
        name="one village",
        rounds=rounds,
        id="hh",
        treatment="treat",
        outcomes=outcomes,
        village="village",
        cluster="village",
        covariates=("x",),
        wild_bootstrap_reps=99,
        lee_bounds_reps=49,
        design_test_reps=49,
        main_outcomes=("y",),
        vcov_extra=("CRV3", "RI"),
    )
    return dataclasses.replace(base, **options)  # type: ignore[arg-type]


def one_village_panel(seed: int = 3) -> pd.DataFrame:
    """One village of 60 households, half of them treated (randomized within the village)."""
    panel = make_panel(villages=1, per=60, seed=seed)
    number = panel["hh"].str.extract(r"(\d+)")[0].astype(int)
    panel["treatment"] = (number % 2).astype(float)
    return panel


# ------------------------------------------------------------------------ the gap and the fit


def test_inference_gap_names_one_cluster_and_one_cluster_per_arm() -> None:
    clusters = pd.Series(["a", "a", "b", "b", "c", "c", "d", "d"])
    assert inference_gap(pd.Series(["a"] * 4), pd.Series([0.0, 1.0, 0.0, 1.0]))[0] == "one_cluster"
    assert inference_gap(clusters, pd.Series([1.0, 1, 0, 0, 0, 0, 0, 0]))[0] == "one_treated_cluster"
    assert inference_gap(clusters, pd.Series([1.0, 1, 1, 1, 1, 1, 0, 0]))[0] == "one_control_cluster"
    assert inference_gap(clusters, pd.Series([1.0, 1, 1, 1, 0, 0, 0, 0])) == ("", "")
    assert inference_gap(None, None) == ("", "")
    # The reports recognise exactly the codes the estimate stage raises.
    assert WITHHELD_CODES == INFERENCE_GAPS


def test_fit_ols_with_one_treated_cluster_keeps_the_estimate_and_drops_inference() -> None:
    rng = np.random.default_rng(11)
    clusters = pd.Series(np.repeat(["a", "b", "c", "d"], 10))
    treat = pd.Series((clusters == "a").astype(float))
    y = pd.Series(1.0 + 0.7 * treat + rng.normal(size=40))
    X = pd.DataFrame({"const": 1.0, "treatment": treat})
    fit = fit_ols(y, X, clusters=clusters, arms=treat)
    expected = smf.ols("y ~ treatment", data=pd.DataFrame({"y": y, "treatment": treat})).fit()
    assert fit.params["treatment"] == pytest.approx(expected.params["treatment"], rel=1e-12)
    assert fit.bse.isna().all() and fit.pvalues.isna().all() and fit.conf_int.isna().all().all()
    assert fit.note.startswith("1 treated cluster")
    # Without `arms` the same regression is just clustered (four clusters).
    assert np.isfinite(fit_ols(y, X, clusters=clusters).bse["treatment"])


def test_fit_ols_with_a_single_cluster_does_not_divide_by_zero() -> None:
    rng = np.random.default_rng(12)
    treat = pd.Series(np.tile([0.0, 1.0], 15))
    y = pd.Series(2.0 + treat + rng.normal(size=30))
    X = pd.DataFrame({"const": 1.0, "treatment": treat})
    fit = fit_ols(y, X, clusters=pd.Series(["only"] * 30), arms=treat)
    assert np.isfinite(fit.params["treatment"]) and np.isnan(fit.bse["treatment"])
    assert fit.n_clusters == 1 and fit.note.startswith("1 cluster")


# ------------------------------------------------------------------------ few-cluster tools


@pytest.mark.parametrize(
    ("treated", "why"),
    [(["a"], "1 treated cluster"), (["a", "b", "c"], "1 comparison cluster")],
    ids=["one_treated", "one_comparison"],
)
def test_few_cluster_tools_refuse_one_cluster_in_an_arm(treated: list[str], why: str) -> None:
    rng = np.random.default_rng(5)
    clusters = pd.Series(np.repeat(["a", "b", "c", "d"], 8))
    treat = clusters.isin(treated).astype(float)
    y = pd.Series(rng.normal(size=32) + 0.5 * treat)
    X = pd.DataFrame({"const": 1.0, "treatment": treat})
    with pytest.raises(EstimationError, match=why):
        wild_cluster_bootstrap(y, X, clusters, param="treatment", reps=99, seed=1)
    with pytest.raises(EstimationError, match=why):
        wcr_bootstrap(y, X, clusters, param="treatment", reps=99, seed=1)
    data = pd.DataFrame({"y": y, "t": treat, "c": clusters})
    with pytest.raises(EstimationError, match=why):
        randomization_inference(data, outcome="y", treatment="t", cluster="c", reps=99, seed=1)
    with pytest.raises(EstimationError, match=why):
        randomization_wald(
            lambda t: (t, np.column_stack([np.ones(32), y.to_numpy()])),
            treatment=treat.to_numpy(),
            clusters=clusters.to_numpy(),
            terms=[1],
            reps=99,
            seed=1,
        )
    with pytest.raises(EstimationError, match="cluster bootstrap"):
        lee_bounds(y, treat, np.ones(32), clusters=clusters, reps=49, seed=1)
    # Leaving the lone cluster out leaves nothing to compare: the jackknife says so.
    with pytest.raises(EstimationError, match="CRV3 is not defined"):
        crv3_se(y, X, clusters)
    # Without the bootstrap the bounds themselves are still there.
    assert np.isfinite(lee_bounds(y, treat, np.ones(32), clusters=clusters).lower)


def test_few_cluster_tools_refuse_a_single_cluster() -> None:
    rng = np.random.default_rng(6)
    treat = pd.Series(np.tile([0.0, 1.0], 10))
    y = pd.Series(rng.normal(size=20))
    clusters = pd.Series(["v"] * 20)
    X = pd.DataFrame({"const": 1.0, "treatment": treat})
    for call in (
        lambda: wcr_bootstrap(y, X, clusters, param="treatment", reps=99, seed=1),
        lambda: crv3_se(y, X, clusters),
        lambda: randomization_wald(
            lambda t: (t, np.column_stack([np.ones(20), y.to_numpy()])),
            treatment=np.zeros(20),
            clusters=clusters.to_numpy(),
            terms=[1],
            reps=9,
            seed=1,
        ),
        lambda: randomization_inference(
            pd.DataFrame({"y": y, "t": 1.0, "c": clusters}), outcome="y", treatment="t", cluster="c", seed=1
        ),
        lambda: lee_bounds(y, treat, np.ones(20), clusters=clusters, reps=49, seed=1),
    ):
        with pytest.raises(EstimationError, match="cluster"):
            call()


# ------------------------------------------------------------------------ one village in all


def test_one_village_in_all_completes_with_estimates_and_no_inference(tmp_path: Path) -> None:
    panel = one_village_panel()
    result = analyse(panel, study_for(tmp_path))
    assert [(w.stage, w.code) for w in result.warnings] == [("estimate", "one_cluster")]
    tested = result.impact.loc[result.impact["estimator"].isin(TESTED)]
    assert tested["estimate"].notna().all()
    for column in ("std_error", "p_value", "ci_low", "ci_high"):
        assert tested[column].isna().all(), column
    assert tested["note"].str.startswith("1 cluster").all()
    assert result.inference["note"].str.startswith("1 cluster").all()
    for column in ("p_value_wild", "p_value_crv3", "p_value_ri", "q_value_family"):
        assert result.inference[column].isna().all(), column
    # The point estimate is that of an ordinary regression on the same households, with the
    # baseline covariate x entered as the study says (missing set to 0, plus a missing dummy).
    follow = panel.loc[panel["round"] == "followup"].dropna(subset=["y"]).set_index("hh")
    x0 = panel.loc[panel["round"] == "baseline"].set_index("hh")["x"].reindex(follow.index)
    data = follow.assign(x0=x0.fillna(0.0), x0_missing=x0.isna().astype(float))
    expected = smf.ols("y ~ treatment + x0 + x0_missing", data=data).fit().params["treatment"]
    impact = result.impact.set_index(["outcome", "estimator"])
    assert impact.loc[("y", "followup_diff"), "estimate"] == pytest.approx(expected, rel=1e-10)
    assert impact.loc[("y", "followup_diff"), "n_obs"] == len(data)
    # The design checks give what they can and say why there is no test.
    for table in (result.balance, result.attrition.loc[result.attrition["test"] != "rate"]):
        assert table["p_value"].isna().all()
        assert table["note"].str.contains("1 cluster").all()
    assert result.lee_bounds["lower"].notna().all() and result.lee_bounds["ci_low"].isna().all()
    assert result.lee_bounds["note"].str.startswith("1 cluster").all()
    assert result.mde["mde"].isna().all() and result.mde["note"].str.startswith("1 cluster").all()
    assert len(result.alkire_foster) and len(result.index_weights)


def test_one_village_in_all_with_hc1_standard_errors_is_tested_without_a_warning(tmp_path: Path) -> None:
    # Household randomization within one village, with the unclustered errors the user chose.
    result = analyse(one_village_panel(), study_for(tmp_path, vcov="HC1"))
    assert result.warnings == []
    tested = result.impact.loc[result.impact["estimator"].isin(TESTED)]
    assert tested["std_error"].notna().all() and set(tested["se_type"]) == {"HC1"}


@pytest.mark.parametrize("arm", [0.0, 1.0], ids=["nobody_treated", "everybody_treated"])
def test_one_arm_after_cleaning_is_one_line_naming_the_column_and_counts(tmp_path: Path, arm: float) -> None:
    panel = make_panel(villages=4, per=10, seed=2).assign(treatment=arm)
    with pytest.raises(EstimationError) as caught:
        analyse(panel, study_for(tmp_path))
    message = str(caught.value)
    assert isinstance(caught.value, BerdayaError) and "\n" not in message
    households = panel["hh"].nunique()
    treated, comparison = (households, 0) if arm else (0, households)
    assert message.startswith("study.yml: treatment column `treat` has only one arm")
    assert f"{treated} households with 1 (programme), {comparison} with 0 (comparison)" in message


def test_design_checks_with_one_treated_cluster_report_no_test(tmp_path: Path) -> None:
    panel = make_panel(villages=4, per=15, seed=4)
    panel["treatment"] = (panel["village"] == "v00").astype(float)
    balance = balance_table(panel, [("y", "y"), ("c", "c")], clustered=True, ri_reps=49, seed=1)
    assert balance["difference"].notna().sum() == 4 and balance["p_value"].isna().all()
    assert balance["note"].str.contains("1 treated cluster").all()
    attrition = attrition_table(panel, controls=[("y", "y")], clustered=True, ri_reps=49, seed=1)
    tests = attrition.loc[attrition["test"] != "rate"]
    assert tests["p_value"].isna().all() and tests["note"].str.startswith("1 treated cluster").all()
    outcome = OutcomeSpec(name="y", columns={"baseline": "y", "followup": "y"})
    lee = lee_bounds_table(panel, [outcome], clustered=True, reps=49, seed=1)
    assert lee["lower"].notna().all() and lee["ci_low"].isna().all() and (lee["n_boot"] == 0).all()
    mde = mde_table(panel, [outcome], clustered=True)
    assert mde["mde"].isna().all() and mde["note"].str.startswith("1 treated cluster").all()


# ------------------------------------------------------------------------ one comparison village


def test_one_comparison_village_completes_with_its_own_warning(one_comparison: tuple[Path, Path]) -> None:
    _, tables = one_comparison
    warnings = read_warnings_table(tables)
    assert [w.code for w in warnings if w.stage == "estimate"] == ["one_control_cluster"]
    impact = pd.read_csv(tables / "impact_detail.csv")
    tested = impact.loc[impact["estimator"].isin(TESTED) & impact["estimate"].notna()]
    assert len(tested) and tested["std_error"].isna().all()
    assert tested["note"].str.startswith("1 comparison cluster").all()
    # The programme-only before/after change has three villages: it keeps its clustered error.
    before_after = impact.loc[impact["estimator"] == "before_after"]
    assert before_after["std_error"].notna().any()


# ------------------------------------------------------------------------ one programme village, end to end


@pytest.mark.e2e
def test_one_programme_village_run_completes_with_the_warning(
    pilot: tuple[Path, Path, Path, Path, int],
) -> None:
    _, _, tables, out, code = pilot
    assert code == 0
    warnings = pd.read_csv(tables / "warnings.csv", dtype=str, keep_default_na=False)
    mine = warnings.loc[warnings["stage"] == "estimate"]
    assert mine["code"].tolist() == ["one_treated_cluster"]
    assert mine["message"].iloc[0].startswith("Only 1 programme cluster (`village`), against 3 comparison")
    assert (out / "programme.html").is_file()


def test_one_programme_village_tables_have_no_inference_and_say_why(
    pilot_stages: tuple[Path, Path, Path],
) -> None:
    _, _, tables = pilot_stages
    impact = pd.read_csv(tables / "impact.csv")
    detail = pd.read_csv(tables / "impact_detail.csv")
    tested = impact["estimator"].isin(TESTED) & impact["estimate"].notna()
    assert tested.sum() > 20
    for column in ("std_error", "p_value", "ci_low", "ci_high"):
        assert impact.loc[tested, column].isna().all(), column
    assert detail.loc[tested, "note"].str.startswith("1 treated cluster").all()
    inference = pd.read_csv(tables / "impact_inference.csv")
    fitted = inference["estimate"].notna()
    assert inference.loc[fitted, ["p_value_wild", "p_value_crv3", "p_value_ri"]].isna().all().all()
    assert inference.loc[fitted, "note"].str.startswith("1 treated cluster").all()


@pytest.mark.parametrize("estimator", ["followup_diff", "ancova"])
def test_one_programme_village_estimates_equal_plain_ols(
    pilot_stages: tuple[Path, Path, Path], estimator: str
) -> None:
    _, processed, tables = pilot_stages
    panel = pd.read_parquet(processed / "panel.parquet")
    panel = panel.loc[panel["in_sample"]]
    rounds = {r: panel.loc[panel["round"] == r].set_index("hh") for r in ("baseline", "followup")}
    frame = pd.DataFrame(
        {
            "y1": pd.to_numeric(rounds["followup"]["income_pc"]),
            "treatment": rounds["followup"]["treatment"],
            "strata": rounds["followup"]["strata"].astype(str),
        }
    )
    frame["y0"] = pd.to_numeric(rounds["baseline"]["income_pc"]).reindex(frame.index)
    formula = "y1 ~ treatment + C(strata)" + (" + y0" if estimator == "ancova" else "")
    data = frame.dropna(subset=["y1", "treatment"] + (["y0"] if estimator == "ancova" else []))
    expected = smf.ols(formula, data=data).fit().params["treatment"]
    impact = pd.read_csv(tables / "impact_detail.csv")
    row = impact.loc[(impact["outcome"] == "income_pc") & (impact["estimator"] == estimator)].iloc[0]
    assert row["estimate"] == pytest.approx(expected, rel=1e-6)
    assert row["n_obs"] == len(data)


def test_one_programme_village_design_checks_say_why_there_is_no_test(
    pilot_stages: tuple[Path, Path, Path],
) -> None:
    _, _, tables = pilot_stages
    balance = pd.read_csv(tables / "balance.csv")
    assert balance["p_value"].isna().all() and balance["note"].str.contains("1 treated cluster").all()
    attrition = pd.read_csv(tables / "attrition.csv")
    tests = attrition.loc[attrition["test"] != "rate"]
    assert tests["p_value"].isna().all() and tests["note"].str.contains("1 treated cluster").all()
    lee = pd.read_csv(tables / "lee_bounds.csv")
    assert lee["lower"].notna().all() and lee["ci_low"].isna().all()
    mde = pd.read_csv(tables / "mde.csv")
    assert mde["mde"].isna().all() and mde["note"].str.startswith("1 treated cluster").all()


def visible_text(page: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S))


@pytest.mark.e2e
def test_programme_html_shows_the_warning_first_and_judges_no_effect(
    pilot: tuple[Path, Path, Path, Path, int],
) -> None:
    _, _, _, out, _ = pilot
    page = (out / "programme.html").read_text(encoding="utf-8")
    text = visible_text(page)
    assert 'class="warning run-warnings"' in page
    assert "Run warnings" in text and "one_treated_cluster" in text
    assert "Only 1 programme cluster" in text
    # The box comes before the summary.
    assert text.index("Run warnings") < text.index("Summary")
    assert "distinguishable" not in text
    assert "differ from zero at the 5% level" not in text and "q &lt; 0.05" not in page
    assert "no confidence interval or p-value: with a single programme village" in text
    assert "No outcome is tested against zero" in text


def test_programme_report_box_escapes_messages_and_is_absent_without_warnings(
    pilot_stages: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    study, processed, tables = pilot_stages
    copy = tmp_path / "tables"
    copy.mkdir()
    for path in tables.iterdir():
        if path.is_file():
            (copy / path.name).write_bytes(path.read_bytes())
    pd.DataFrame(
        [{"stage": "construct", "code": "odd", "message": "column <script>alert(1)</script> & more"}]
    ).to_csv(copy / "warnings.csv", index=False)
    ctx = pr.load(str(study), processed_dir=str(processed), tables_dir=str(copy), language="id")
    box = str(pr.run_warnings(ctx))
    assert "Peringatan proses" in box and "<script>" not in box
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in box
    # Without the one-cluster warning the significance sentences come back.
    assert ctx.withheld == ""
    pd.DataFrame(columns=["stage", "code", "message"]).to_csv(copy / "warnings.csv", index=False)
    ctx = pr.load(str(study), processed_dir=str(processed), tables_dir=str(copy), language="en")
    assert str(pr.run_warnings(ctx)) == "" and "run-warnings" not in str(pr.title(ctx))


def test_village_report_makes_no_significance_claim_with_one_programme_village(
    pilot_stages: tuple[Path, Path, Path],
) -> None:
    study, processed, tables = pilot_stages
    panel = pd.read_parquet(processed / "panel.parquet")
    village = str(panel.loc[panel["treatment"] == 1, "village"].iloc[0])
    ctx = village_report.load(
        str(study), village=village, processed_dir=str(processed), tables_dir=str(tables), language="en"
    )
    assert ctx.withheld == "one_treated_cluster"
    sentence = str(village_report.programme_wide_sentence(ctx, "income_pc", money=True))
    assert sentence.startswith("Across all programme villages")
    assert "distinguishable" not in sentence and "chance alone" not in sentence and "range –" not in sentence
    assert "With only one programme village, there is no telling yet" in sentence
