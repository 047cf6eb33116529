"""The inferred codebook: types from values, roles and names from the study, and `berdaya codebook`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.inputs.codebook import read_codebook
from analysis.inputs.infer import guess_roles, guess_type, guess_village_list, infer_codebook
from analysis.inputs.study import load_study
from analysis.run.cli import main
from analysis.stages import clean_stage, construct_stage, estimate_stage


@pytest.mark.parametrize(
    ("values", "vtype", "cells", "note"),
    [
        (
            ["Ya", "tidak", "YA ", "Tidak"],
            "category",
            {"categories": "0;1", "recode": "ya=1; tidak=0"},
            "yes/no",
        ),
        (["1,9jt", "Rp 620.000", "150000", "-99"], "money", {"missing_codes": "-99=code-99"}, "Rp 620.000"),
        (["1.234.567", "2.500.000", "12"], "integer", {"format": "id"}, "thousands"),
        (["1.5", "0.25", "3"], "number", {"format": "plain"}, ""),
        (["1.500", "2.250", "7"], "number", {}, "write id (1.500 = 1500) or plain"),
        (
            ["3", "4", "tidak tahu", "-98"],
            "integer",
            {"missing_codes": "tidak tahu=dont_know; -98=code-98"},
            "",
        ),
        (["2023-02-07T00:03:06", "2023-02-08"], "date", {}, "date"),
        (["0101", "0102", "0101"], "text", {}, "leading zeros"),
        (
            ["padi", "jagung", "Padi", "padi", "jagung", "ubi"],
            "category",
            {"categories": "padi;jagung;ubi"},
            "",
        ),
        (["jalan rusak", "air kotor", "tidak ada"], "text", {}, "free text"),
        (["", " "], "text", {}, "empty"),
    ],
)
def test_guess_type(values: list[str], vtype: str, cells: dict[str, str], note: str) -> None:
    guess = guess_type(pd.Series(values))
    assert guess.type == vtype
    assert cells.items() <= dict(guess.cells).items()
    assert note in guess.note


def test_personal_values_are_never_quoted() -> None:
    guess = guess_type(pd.Series(["Rp 1.500.000", "Rp 2.000.000"]), name="gaji_nama_suami")
    assert guess.type == "money" and "1.500.000" not in guess.note
    assert "Rp 1.500.000" in guess_type(pd.Series(["Rp 1.500.000", "Rp 2.000.000"]), name="gaji").note


def households(round_name: str) -> pd.DataFrame:
    """A labelled Kobo-like export of 8 villages x 6 households; the follow-up renamed a group."""
    rng = np.random.default_rng(7 if round_name == "baseline" else 8)
    n = 48
    village = np.repeat([f"0{v:03d}" for v in range(1, 9)], 6)
    treated = np.isin(village, ["0002", "0004", "0006", "0008"])
    after = round_name == "followup"
    took_part = rng.random(n) < 0.3 + 0.4 * (treated & after)
    income = (rng.integers(10, 40, n) * 100_000 * (1 + 0.2 * (treated & after))).astype(int)
    money = [
        f"{m // 1000:,}".replace(",", ".") + ".000" if i % 3 else f"Rp {m / 1e6:.1f} jt".replace(".", ",")
        for i, m in enumerate(income)
    ]
    money[5] = "-99"
    group = "hh" if round_name == "baseline" else "rt"
    return pd.DataFrame(
        {
            f"{group}/hhid": [f"{v}{i % 6:02d}" for i, v in enumerate(village)],
            f"{group}/desa": village,
            "arm": np.where(treated, "Treatment", "Control"),
            "resp/nama": [f"Nama {i}" for i in range(n)],
            "q/ikut": np.where(took_part, "Yes", "No"),
            "q/pendapatan": money,
            "q/luas": [f"{x:.2f}" for x in rng.random(n) * 3],
            "_submission_time": [f"2023-02-{1 + i % 20:02d}T08:00:00" for i in range(n)],
        }
    )


@pytest.fixture
def study(tmp_path: Path) -> Path:
    for round_name in ("baseline", "followup"):
        households(round_name).to_csv(tmp_path / f"{round_name}.csv", index=False)
    (tmp_path / "study.yml").write_text(
        "rounds: {baseline: baseline.csv, followup: followup.csv}\n"
        "codebook: codebook.csv\n"  # named before it exists: `berdaya codebook` writes it
        "id: hhid\ntreatment: arm\nvillage: desa\n"
        "outcomes:\n  - {name: ikut, family: participation}\n  - {name: pendapatan, family: income}\n"
        "wild_bootstrap_reps: 99\nlee_bounds_reps: 19\ndesign_test_reps: 19\nmin_cell: 5\n"
        "pseudonym_key: test-key-not-secret\n"
    )
    return tmp_path / "study.yml"


def test_infer_from_data_and_study(study: Path) -> None:
    loaded = load_study(study, codebook_may_be_missing=True)
    tables = {r: households(r).astype(str) for r in ("baseline", "followup")}
    book = infer_codebook(tables, study=loaded).set_index("name")
    assert (book.loc["hhid", "role"], book.loc["hhid", "type"]) == ("household_id", "id")
    # the group was renamed (hh -> rt): one row, noted
    assert (book.loc["hhid", "source_baseline"], book.loc["hhid", "source_followup"]) == (
        "hh/hhid",
        "rt/hhid",
    )
    assert "group was renamed" in book.loc["hhid", "note"]
    assert (book.loc["desa", "role"], book.loc["arm", "role"], book.loc["arm", "categories"]) == (
        "village",
        "treatment",
        "0;1",
    )
    assert (book.loc["ikut", "recode"], book.loc["ikut", "family"]) == ("yes=1; no=0", "participation")
    assert (book.loc["pendapatan", "type"], book.loc["pendapatan", "missing_codes"]) == (
        "money",
        "-99=code-99",
    )
    assert (book.loc["luas", "type"], book.loc["luas", "format"]) == ("number", "plain")
    assert book.loc["nama", "pii"] == "yes" and "Nama 1" not in " ".join(book["note"])
    assert book.loc["submission_time", "role"] == "submission_time"
    assert book["note"].str.startswith("# check: ").all()


def test_berdaya_codebook_writes_a_codebook_the_run_uses_as_it_is(
    study: Path, tmp_path: Path, capsys
) -> None:
    # The study names codebook.csv, which does not exist yet: the command must not refuse.
    assert main(["codebook", str(study)]) == 0
    assert "wrote" in capsys.readouterr().out and (tmp_path / "codebook.csv").is_file()
    assert len(read_codebook(tmp_path / "codebook.csv").variables) == 8
    processed, tables = tmp_path / "processed", tmp_path / "tables"
    for round_name in ("baseline", "followup"):
        clean_stage(study, round_name, processed)
    construct_stage(study, processed)
    estimate_stage(study, processed, tables)
    impact = pd.read_csv(tables / "impact.csv")
    assert {"ikut", "pendapatan"} <= set(impact["outcome"])
    assert impact["estimate"].notna().all()
    # and it never overwrites: a second run is one line, exit 2
    assert main(["codebook", str(study)]) == 2
    assert "never overwrites" in capsys.readouterr().err


def test_codebook_template_alias_keeps_its_default_file(study: Path, tmp_path: Path) -> None:
    assert main(["codebook-template", str(study)]) == 0
    assert (tmp_path / "codebook_template.csv").is_file() and not (tmp_path / "codebook.csv").exists()


def test_roles_from_names_without_a_study() -> None:
    tables = {r: households(r).astype(str) for r in ("baseline", "followup")}
    book = guess_roles(infer_codebook(tables)).set_index("name")
    assert book.loc["hhid", "role"] == "household_id" and book.loc["desa", "role"] == "village"
    assert book.loc["arm", "role"] == "treatment"
    assert "from the column's name" in book.loc["arm", "note"]


def test_village_list_columns() -> None:
    listing = pd.DataFrame(
        {
            "no": ["1", "2", "3", "4"],
            "kode": ["0001", "0002", "0003", "0004"],
            "nama_desa": ["Sukamaju", "Sukamulya", "Cibodas", "Cikole"],
            "kecamatan": ["A", "A", "B", "B"],
            "kelompok": ["kontrol", "program", "program", "kontrol"],
        }
    )
    found = guess_village_list(listing, codes=["0001", "0002", "0003", "0004", "0005"])
    assert found is not None
    assert (found.id, found.name, found.strata, found.treatment) == (
        "kode",
        "nama_desa",
        "kecamatan",
        "kelompok",
    )
    assert guess_village_list(listing, codes=["9999"]) is None
