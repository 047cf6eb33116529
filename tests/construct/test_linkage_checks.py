"""Household linkage that cannot be right stops the run instead of reporting 100 % attrition.

Ids are pseudonymized by the clean stage, so each round also writes ``<round>_id_forms.parquet``
(keyed hashes of the normalised ids); the construct stage uses them to tell ids damaged by a
spreadsheet (lost leading zeros, a trailing ``.0``) from rounds that are not one panel.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.construct.panel import ID_FORM_COLUMNS, check_linkage, id_forms
from analysis.errors import InputError
from analysis.run.cli import main
from analysis.shared.pseudonyms import PseudonymKey, pseudonymize
from analysis.shared.run_warnings import read_stage_warnings, warnings_file
from analysis.stages.clean import clean_stage
from analysis.stages.construct import construct_stage

FILES = {"baseline": "baseline.csv", "followup": "followup.csv"}
IDS = {"baseline": "hhid", "followup": "hhid"}
KEY = PseudonymKey(b"test-key", "test")


def baseline_ids() -> list[str]:
    """96 five-digit ids with a leading zero: 8 villages × 12 households (``01000`` … ``08011``)."""
    return [f"{v + 1:02d}{h:03d}" for v in range(8) for h in range(12)]


def write_rounds(tmp_path: Path, follow_ids: list[str], *, extra: str = "") -> Path:
    """A baseline of :func:`baseline_ids` and a follow-up with the given ids, same villages."""
    rng = np.random.default_rng(3)
    base_ids = baseline_ids()
    village = [f"v{i // 12}" for i in range(96)]
    treat = [(i // 12) % 2 for i in range(96)]

    def frame(ids: list[str]) -> pd.DataFrame:
        n = len(ids)
        return pd.DataFrame(
            {
                "hhid": ids,
                "village": village[:n],
                "treat": treat[:n],
                "income": rng.integers(800, 1200, n),
            }
        )

    frame(base_ids).to_csv(tmp_path / "baseline.csv", index=False)
    frame(follow_ids).to_csv(tmp_path / "followup.csv", index=False)
    path = tmp_path / "study.yml"
    path.write_text(
        "name: Linkage\nrounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\n"
        "treatment: treat\nvillage: village\npseudonym_key: test-key\n"
        + extra
        + "outcomes:\n  - {name: income, column: income}\n"
    )
    return path


def run_stages(path: Path, processed: Path) -> pd.DataFrame:
    for round_name in ("baseline", "followup"):
        clean_stage(path, round_name, processed)
    return construct_stage(path, processed)


def test_follow_up_ids_that_lost_their_leading_zeros_stop_with_the_fix(tmp_path: Path) -> None:
    path = write_rounds(tmp_path, [str(int(i)) for i in baseline_ids()])
    with pytest.raises(InputError) as info:
        run_stages(path, tmp_path / "processed")
    assert str(info.value) == (
        "followup.csv column hhid: 0 of 96 follow-up ids appear in the baseline (96 ids); 96 would match "
        "with leading zeros restored to 5 digits: the followup ids lost their leading zeros (a spreadsheet "
        "read them as numbers). Fix: re-export followup.csv with hhid stored as text, or pad hhid to 5 "
        'digits (in a spreadsheet: =TEXT(A2,"00000")), then run again'
    )
    assert not (tmp_path / "processed" / "panel.parquet").exists()


def test_ids_with_a_trailing_point_zero_stop_with_the_counts() -> None:
    raw = {"baseline": pd.Series([str(1000 + i) for i in range(40)]), "followup": None}
    raw["followup"] = raw["baseline"] + ".0"
    forms = {r: id_forms(ids, key=KEY) for r, ids in raw.items()}
    with pytest.raises(InputError) as info:
        check_linkage(
            pseudonymize(raw["baseline"], key=KEY),
            pseudonymize(raw["followup"], key=KEY),
            files=FILES,
            columns=IDS,
            forms=forms,
        )
    assert str(info.value) == (
        "followup.csv column hhid: 0 of 40 follow-up ids appear in the baseline (40 ids); 40 would match "
        "with the trailing .0 removed: the followup ids went through a floating-point number. "
        "Fix: re-export followup.csv with hhid stored as text, then run again"
    )


def test_text_ids_with_a_trailing_point_zero_stop_the_construct_stage(tmp_path: Path) -> None:
    # An id typed `text` in the codebook is kept as written, so the .0 reaches the linkage.
    path = write_rounds(tmp_path, [f"{i}.0" for i in baseline_ids()])
    (tmp_path / "codebook.csv").write_text(
        "name,source_baseline,source_followup,type,role\nhhid,hhid,hhid,text,household_id\n"
        "village,village,village,id,village\ntreat,treat,treat,number,treatment\n"
        "income,income,income,integer,\n"
    )
    path.write_text(path.read_text().replace("id: hhid\n", "id: hhid\ncodebook: codebook.csv\n"))
    with pytest.raises(InputError) as info:
        run_stages(path, tmp_path / "processed")
    assert str(info.value).startswith(
        "followup.csv column hhid: 0 of 96 follow-up ids appear in the baseline (96 ids); 96 would match "
        "with the trailing .0 removed"
    )


def test_rounds_with_no_common_household_are_not_a_panel(tmp_path: Path) -> None:
    path = write_rounds(tmp_path, [f"X{i:03d}" for i in range(96)])
    with pytest.raises(InputError) as info:
        run_stages(path, tmp_path / "processed")
    message = str(info.value)
    assert message.startswith(
        "followup.csv column hhid: 0 of 96 follow-up ids appear in the baseline (96 ids), and restoring "
        "leading zeros or removing a trailing .0 links no more: the rounds are not one household panel"
    )
    assert "set did_fixed_effects: none in study.yml" in message
    assert "\n" not in message


def test_almost_no_common_household_is_not_a_panel_either(tmp_path: Path) -> None:
    ids = baseline_ids()[:3] + [f"X{i:03d}" for i in range(93)]
    with pytest.raises(InputError) as info:
        run_stages(write_rounds(tmp_path, ids), tmp_path / "processed")
    assert "3 of 96 follow-up ids appear in the baseline (96 ids)" in str(info.value)


def test_declared_repeated_cross_sections_run_with_a_warning(tmp_path: Path) -> None:
    path = write_rounds(tmp_path, [f"X{i:03d}" for i in range(96)], extra="did_fixed_effects: none\n")
    processed = tmp_path / "processed"
    run_stages(path, processed)
    warnings = read_stage_warnings(warnings_file(processed, "construct"))
    assert [w.code for w in warnings] == ["repeated_cross_sections"]
    assert warnings[0].message.startswith("0 of 96 follow-up ids appear in the baseline (96 ids)")


def test_many_damaged_ids_in_a_linked_panel_stop_the_run(tmp_path: Path) -> None:
    ids = baseline_ids()
    ids[:10] = [str(int(i)) for i in ids[:10]]  # 10 of 96 (over 5 %) lost their zeros
    with pytest.raises(InputError) as info:
        run_stages(write_rounds(tmp_path, ids), tmp_path / "processed")
    assert str(info.value).startswith(
        "followup.csv column hhid: 86 of 96 follow-up ids appear in the baseline (96 ids); 10 more would "
        "match with leading zeros restored to 5 digits"
    )


def test_a_few_damaged_ids_are_a_run_warning(tmp_path: Path) -> None:
    ids = baseline_ids()
    ids[:2] = [str(int(i)) for i in ids[:2]]
    processed = tmp_path / "processed"
    run_stages(write_rounds(tmp_path, ids), processed)
    warnings = read_stage_warnings(warnings_file(processed, "construct"))
    assert [(w.stage, w.code) for w in warnings] == [("construct", "id_forms")]
    assert warnings[0].message == (
        "2 follow-up ids not found in the baseline would match a baseline id with leading zeros restored "
        "to 5 digits; they count as new households and their baseline match as attrited "
        "(check hhid in followup.csv)"
    )


def test_a_normal_panel_with_attrition_and_new_households_still_runs(tmp_path: Path) -> None:
    ids = baseline_ids()[:86] + ["09000", "09001"]  # 10 attrited, 2 new
    processed = tmp_path / "processed"
    linkage = run_stages(write_rounds(tmp_path, ids), processed)
    counts = linkage.groupby("linkage")["households"].sum().to_dict()
    assert counts == {"panel": 86, "baseline_only": 10, "followup_only": 2}
    assert read_stage_warnings(warnings_file(processed, "construct")) == []


def test_the_id_forms_file_holds_no_raw_id(tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    run_stages(write_rounds(tmp_path, baseline_ids()), processed)
    for round_name in ("baseline", "followup"):
        forms = pd.read_parquet(processed / f"{round_name}_id_forms.parquet")
        assert tuple(forms.columns) == ID_FORM_COLUMNS
        assert len(forms) == 96
        cells = {str(v) for v in forms.to_numpy().ravel()}
        raw = set(baseline_ids()) | {str(int(i)) for i in baseline_ids()}
        assert not raw & cells
        # The pseudonyms are those of the clean table, so the forms line up with the panel.
        clean = pd.read_parquet(processed / f"{round_name}_clean.parquet")
        assert set(forms["hh"]) == set(clean["hhid"])


def test_without_id_forms_the_check_still_stops_a_panel_with_no_links() -> None:
    base = pd.Series([f"a{i}" for i in range(20)])
    follow = pd.Series([f"b{i}" for i in range(20)])
    with pytest.raises(InputError) as info:
        check_linkage(base, follow, files=FILES, columns=IDS)
    assert "0 of 20 follow-up ids appear in the baseline (20 ids) (check that both files" in str(info.value)


@pytest.mark.e2e
def test_linkage_error_through_the_command_line_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_rounds(tmp_path, [str(int(i)) for i in baseline_ids()])
    code = main(["run", str(path), "--out", str(tmp_path / "out"), "--no-village-reports"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(
        "error: followup.csv column hhid: 0 of 96 follow-up ids appear in the baseline"
    )
    record = tmp_path / "out" / "run.json"
    if record.is_file():  # the run record says which stage stopped
        stages = {s["name"]: s["status"] for s in json.loads(record.read_text()).get("stages", [])}
        assert stages.get("construct") != "ok"
