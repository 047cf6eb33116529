"""The village list's programme arm is read like the rounds' treatment, never coerced away."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.construct.panel import read_villages
from analysis.errors import InputError
from analysis.inputs.study import load_study


def _study(tmp_path: Path, arms: list[str]) -> Path:
    rows = "\n".join(f"hh{i},V{i}" for i in range(len(arms)))
    for name in ("baseline.csv", "followup.csv"):
        (tmp_path / name).write_text(f"hhid,village\n{rows}\n", encoding="utf-8")
    listing = "\n".join(f"V{i},{arm}" for i, arm in enumerate(arms))
    (tmp_path / "villages.csv").write_text(f"village,treat\n{listing}\n", encoding="utf-8")
    study = tmp_path / "study.yml"
    study.write_text(
        "rounds: {baseline: baseline.csv, followup: followup.csv}\n"
        "id: hhid\ntreatment: treat\nvillage: village\nvillages: villages.csv\n"
        "outcomes: [{name: income, column: income}]\n",
        encoding="utf-8",
    )
    return study


def test_yes_no_words_in_the_village_list_are_the_arms(tmp_path: Path) -> None:
    villages = read_villages(load_study(_study(tmp_path, ["ya", "Tidak", "1.0", "control", ""])))
    assert villages is not None
    assert villages["treatment"].tolist()[:4] == [1.0, 0.0, 1.0, 0.0]
    assert villages["treatment"].isna().tolist() == [False] * 4 + [True]


def test_an_unknown_arm_in_the_village_list_names_the_file_row_and_values(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_villages(load_study(_study(tmp_path, ["ya", "Intensive session"])))
    message = str(caught.value)
    assert message.startswith("villages.csv row 3 column treat:")
    assert "Intensive session" in message and "\n" not in message
