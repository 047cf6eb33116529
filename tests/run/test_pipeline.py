"""End to end through the real command line: papermill kernels, nbconvert HTML, run.json.

The demo run is the session's ``demo_run`` (tests/conftest.py), shared read-only with the report
and privacy tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import commands
import pandas as pd
import pytest
from e2e_builds import keyless_env
from report_demo import DEMO_VILLAGES, DemoRun

from analysis.config import IMPACT_COLUMNS
from analysis.report.html_export import find_chromium

BERDAYA = [sys.executable, "-m", "analysis.run.cli"]


def berdaya(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return commands.berdaya(*args, cwd=cwd, timeout=900)


def test_run_exits_zero_and_writes_the_layout(demo_run: DemoRun) -> None:
    out, run = demo_run.out, demo_run.run
    assert run.returncode == 0, run.stderr[-3000:]
    assert (out / "index.html").is_file()
    assert (out / "programme.html").is_file()
    villages = sorted(p.name for p in (out / "villages").glob("*.html"))
    # The demo is written in Indonesian and English (tests/report_demo.py).
    assert villages == sorted([f"{v}.html" for v in DEMO_VILLAGES] + [f"{v}.en.html" for v in DEMO_VILLAGES])
    impact = pd.read_csv(out / "tables" / "impact.csv")
    assert tuple(impact.columns) == IMPACT_COLUMNS
    assert "Traceback" not in run.stderr


def test_run_json_records_what_is_needed_to_explain_a_difference(demo_run: DemoRun) -> None:
    out = demo_run.out
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"]["workers"] == 2
    assert {"numpy", "pandas", "statsmodels", "papermill", "nbconvert", "python"} <= set(record["packages"])
    assert "git_commit" in record
    inputs = record["inputs_sha256"]
    assert any(name.endswith("baseline_2023.csv") for name in inputs)
    assert all(len(d) == 64 for d in inputs.values())
    stages = {s["name"]: s for s in record["stages"]}
    assert {
        "clean_baseline",
        "clean_followup",
        "construct",
        "estimate",
        "programme_report",
        "village_reports",
        "index",
    } <= set(stages)
    # Without chromium the PDFs are skipped (one line says so); every other stage ran.
    printed = find_chromium() is not None
    assert all(s["status"] == "ok" and s["seconds"] >= 0 for n, s in stages.items() if n != "pdf" or printed)
    # What cleaning and linkage did, with the same counts as the tables.
    data = record["data"]
    accounting = pd.read_csv(out / "tables" / "row_accounting.csv").set_index("round")
    for round_name in ("baseline", "followup"):
        counts = data[round_name]["counts"]
        assert counts["raw"] == accounting.loc[round_name, "n_raw"]
        assert counts["clean"] + counts["quarantined"] + counts["excluded"] == counts["raw"]
        assert (
            sum(v for k, v in data[round_name]["reasons"].items() if k.startswith("excluded"))
            == counts["excluded"]
        )
        assert "respondent_name" in data[round_name]["dropped_columns"]
    linkage = data["linkage"]
    assert "by_village" not in linkage
    assert linkage["households"] == sum(sum(arm.values()) for arm in linkage["by_arm"].values())


def test_reports_show_no_code_no_parameters_and_load_nothing_from_the_network(demo_run: DemoRun) -> None:
    folder, out = demo_run.folder, demo_run.out
    for page in [out / "index.html", out / "programme.html", *sorted((out / "villages").glob("*.html"))]:
        html = page.read_text()
        assert "study_path" not in html and "processed_dir" not in html, page.name
        assert "import " not in html and "from analysis" not in html, page.name
        assert str(folder) not in html, f"{page.name} leaks a local path"
        assert 'src="http' not in html and 'href="http' not in html and "@import" not in html, page.name
    village = (out / "villages" / "0101.html").read_text()
    assert "data:image/png;base64," in village  # figures are embedded


def test_a_second_run_notes_changed_inputs(demo_run: DemoRun) -> None:
    out = demo_run.out
    record = json.loads((out / "run.json").read_text())
    assert record["changed_inputs"] == []


def test_run_json_records_each_village_and_the_batch(demo_run: DemoRun) -> None:
    record = json.loads((demo_run.out / "run.json").read_text())
    villages = {v["village"]: v for v in record["villages"]}
    assert sorted(villages) == DEMO_VILLAGES
    assert all(v["status"] == "ok" and len(v["key"]) == 64 and v["worker"] for v in villages.values())
    batch = record["incremental"]["batch"]
    # Both languages' reports in one batch (tests/report_demo.py writes the demo in id and en).
    assert batch["villages_run"] == 2 * len(DEMO_VILLAGES) and batch["scheduler"] is None
    assert all(peak > 0 for peak in batch["peak_rss_per_worker"].values())
    stages = record["incremental"]["stages"]
    assert {"clean_baseline", "construct", "estimate", "programme_report", "index"} <= set(stages)
    # Outputs are named relative to the output folder, so a copied folder stays current.
    assert all(name.startswith("<out>/") for name in stages["construct"]["outputs"])


def test_run_help_lists_the_batch_options() -> None:
    run = berdaya("run", "--help")
    assert run.returncode == 0
    for option in (
        "--workers",
        "--scheduler",
        "--villages",
        "--retry-failed",
        "--timeout",
        "--no-village-reports",
    ):
        assert option in run.stdout


@pytest.mark.parametrize(
    "option", [["--workers", "0"], ["--timeout", "-5"], ["--villages", " , "], ["--workers", "two"]]
)
def test_bad_batch_options_are_usage_errors(option: list[str], tmp_path: Path) -> None:
    run = berdaya("run", "--out", str(tmp_path / "out"), *option)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.e2e
def test_minimal_study_without_village_or_codebook(tmp_path: Path) -> None:
    rows = []
    for i in range(60):
        treat = float(i % 2)
        rows.append({"hhid": i + 1, "treat": treat, "income": 100 + i % 7 + 5 * treat, "got": int(treat)})
    base = pd.DataFrame(rows)
    base.loc[0, "treat"] = None  # a missing arm: excluded with a reason, never a crash
    follow = base.assign(income=base["income"] + 3 + 2 * base["treat"].fillna(0))
    base.drop(columns="got").to_csv(tmp_path / "baseline.csv", index=False)
    follow.iloc[2:].to_csv(tmp_path / "followup.csv", index=False)
    (tmp_path / "study.yml").write_text(
        "name: Minimal\nrounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\ntreatment: treat\n"
        "outcomes:\n  - {name: income, column: income, family: income}\n"
        "  - {name: participation, column: got, family: participation}\n"
    )
    # Printing is tested on the demo (tests/report/test_pdf.py); this study tests the data path.
    # No key in the study, as a new user writes it: the run makes one in the home folder, a
    # temporary one here (this test once wrote the key into the real ~/.config/berdaya).
    home = tmp_path / "home"
    run = commands.berdaya(
        "run", str(tmp_path / "study.yml"), "--out", str(tmp_path / "out"), "--no-pdf", env=keyless_env(home)
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert (home / ".config" / "berdaya" / "pseudonym.key").is_file()
    impact = pd.read_csv(tmp_path / "out" / "tables" / "impact.csv")
    assert set(impact["se_type"]) == {"HC1"}
    assert impact.loc[impact["outcome"] == "participation", "estimator"].tolist() == ["followup_diff"]
    assert not (tmp_path / "out" / "villages").exists() or not list(
        (tmp_path / "out" / "villages").glob("*.html")
    )
    did = impact.set_index(["outcome", "estimator"]).loc[("income", "did")]
    assert did["estimate"] == pytest.approx(2.0)  # the exact built-in change difference
    exclusions = pd.read_csv(tmp_path / "out" / "processed" / "panel_exclusions.csv")
    assert exclusions.set_index("exclusion_reason").loc["missing_treatment", "rows"] == 1


def test_bad_study_gives_one_line_error_without_traceback(tmp_path: Path) -> None:
    (tmp_path / "study.yml").write_text("rounds: {baseline: b.csv, followup: f.csv}\nid: hhid\n")
    run = berdaya("run", str(tmp_path / "study.yml"), "--out", str(tmp_path / "out"))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("error: study.yml")
    debug = berdaya("--debug", "run", str(tmp_path / "study.yml"), "--out", str(tmp_path / "out"))
    assert "Traceback" in debug.stderr


@pytest.mark.e2e
def test_bad_raw_file_names_file_row_and_column(tmp_path: Path) -> None:
    (tmp_path / "baseline.csv").write_text("hhid,treat,income,income\n1,1,2,3\n")
    (tmp_path / "followup.csv").write_text("hhid,treat,income\n1,1,2\n")
    (tmp_path / "study.yml").write_text(
        "rounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\ntreatment: treat\noutcomes: [income]\n"
    )
    run = berdaya("run", str(tmp_path / "study.yml"), "--out", str(tmp_path / "out"), "--no-village-reports")
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert "baseline.csv" in run.stderr and "duplicated column names income" in run.stderr
