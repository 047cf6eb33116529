"""`berdaya init DIR`: a study skeleton from the exports (and XLSForms) alone, and its round trip.

The end-to-end test is issue 16's first "done when": from the shipped XLSForms and the demo
exports, `berdaya init` then `berdaya run`, no file edited, give the hand-written demo study's
tables. The one principled exception is the consumer price index: the demo study deflates the
follow-up with `cpi: 106.3`, which neither a form nor an export holds, so init leaves it out
(commented in study.yml) and the tables that use it differ where, and only where, it enters.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from commands import berdaya
from e2e_builds import keyless_env

from analysis.config import DEMO_DIR, DEMO_STUDY
from analysis.demo.forms import FORM_FILES
from analysis.inputs.codebook import load_codebook, read_codebook
from analysis.inputs.study import SCHEMA, load_study
from analysis.run.cli import main
from analysis.run.scaffold import assign_rounds, outcomes_of

EXPORTS = ("baseline_2023.csv", "followup_2025.csv")


def copy_demo(folder: Path, *, forms: bool = True, villages: bool = True) -> Path:
    """The files a user would have: the exports, the village list and (optionally) the forms."""
    folder.mkdir(parents=True)
    names = [*EXPORTS, *(["villages.csv"] if villages else []), *(FORM_FILES if forms else [])]
    for name in names:
        shutil.copy(DEMO_DIR / name, folder / name)
    return folder


def test_init_from_the_forms_writes_the_demo_study(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_demo(tmp_path / "mine")
    assert main(["init", str(folder)]) == 0
    assert "berdaya run" in capsys.readouterr().out
    mine, demo = load_study(folder / "study.yml"), load_study(DEMO_STUDY)

    def plan(study):
        return [(o.name, o.family, o.direction, dict(o.columns)) for o in study.outcomes]

    assert plan(mine) == plan(demo)
    assert mine.main_outcomes == demo.main_outcomes
    assert (mine.id, mine.treatment, mine.village, mine.cluster_column) == (
        demo.id,
        demo.treatment,
        demo.village,
        demo.cluster_column,
    )
    assert mine.villages is not None and demo.villages is not None
    assert (mine.villages.file.name, mine.villages.id, mine.villages.name, mine.villages.strata) == (
        demo.villages.file.name,
        demo.villages.id,
        demo.villages.name,
        demo.villages.strata,
    )
    assert {r: (s.file.name, s.year) for r, s in mine.rounds.items()} == {
        r: (s.file.name, s.year) for r, s in demo.rounds.items()
    }
    assert all(s.cpi is None for s in mine.rounds.values())  # no form or export holds it
    assert mine.name == "Survei Rumah Tangga Sukamaju 2023"  # the form's title, without "(baseline)"
    # the codebook has the hand-written one's variables, sources and roles
    hand = {v.name: (dict(v.sources), v.role) for v in read_codebook(DEMO_DIR / "codebook.csv").variables}
    built = {v.name: (dict(v.sources), v.role) for v in load_codebook(mine).variables}
    questions = {n: s for n, s in hand.items() if not next(iter(s[0].values())).startswith("_")}
    assert {n: built[n] for n in questions} == questions
    # every study key is in the file, active or commented out with its default
    text = (folder / "study.yml").read_text()
    assert [k for k in SCHEMA.fields if f"\n{k}:" not in text and f"\n# {k}:" not in text] == []
    readme = (folder / "README.md").read_text()
    assert "berdaya run study.yml --out reports --no-village-reports" in readme
    assert "berdaya run study.yml --out reports\n" in readme


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = copy_demo(tmp_path / "mine")
    (folder / "README.md").write_text("my notes\n")
    assert main(["init", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "README.md exists: berdaya init never overwrites a file" in err[0]
    assert not (folder / "study.yml").exists() and (folder / "README.md").read_text() == "my notes\n"


def test_init_without_forms_infers_a_codebook_that_loads(tmp_path: Path) -> None:
    folder = copy_demo(tmp_path / "mine", forms=False)
    assert main(["init", str(folder)]) == 0
    study = load_study(folder / "study.yml")
    assert (study.id, study.village, study.treatment) == ("hhid", "desa", "treat")  # treat: village list
    codebook = load_codebook(study)
    assert codebook.get("hhid").role == "household_id" and codebook.get("desa").role == "village"
    assert study.outcomes and all(codebook.get(o.name).type != "text" for o in study.outcomes)
    assert (folder / "codebook.csv").read_text().count("# check") >= len(codebook.variables) - 1


@pytest.mark.parametrize(
    ("names", "baseline"),
    [
        (["endline.csv", "baseline.csv"], "baseline.csv"),
        (["survei_2025.csv", "survei_2023.csv"], "survei_2023.csv"),
        (["Follow-up data.xlsx", "data.xlsx"], "data.xlsx"),  # the other is the other round
        (["b.csv", "a.csv"], "a.csv"),  # nothing to tell them apart: the order of the names, noted
    ],
)
def test_rounds_from_file_names(names: list[str], baseline: str) -> None:
    rounds, notes = assign_rounds([Path(n) for n in names], what="exports")
    assert rounds["baseline"].name == baseline
    assert bool(notes) == (baseline == "a.csv")


def test_init_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(DEMO_DIR / EXPORTS[0], folder / EXPORTS[0])
    assert main(["init", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs the baseline and follow-up exports" in err[0]


def test_outcomes_lead_each_family_with_its_constructed_indicator() -> None:
    book = pd.DataFrame(
        {
            "name": ["wage", "farm", "rung1", "rung2", "joined", "debt", "phone"],
            "source_followup": ["w", "f", "r1", "r2", "j", "d", "p"],
            "type": ["money", "money", "category", "category", "category", "money", "text"],
            "categories": ["", "", "0;1", "0;1", "0;1", "", ""],
            "family": ["income", "income", "participation", "participation", "participation", "life", ""],
            "role": ["income_component", "income_component", "ladder", "ladder", "", "", ""],
            "direction": ["1", "1", "1", "1", "1", "-1", ""],
            "pii": ["", "", "", "", "", "", "yes"],
        }
    )
    assert outcomes_of(book) == [
        ("income_pc", "income", 1),
        ("participation_score", "participation", 1),
        ("joined", "participation", 1),
        ("rung1", "participation", 1),
        ("rung2", "participation", 1),
        ("debt", "life", -1),
    ]


def _table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.e2e
def test_init_then_run_gives_the_hand_written_studys_tables(tmp_path: Path, demo_stages) -> None:
    folder = copy_demo(tmp_path / "exports")
    # No key in the study file (init never writes one): the demo's documented key comes from the
    # environment, so that pseudonyms, and the order of households they give, are the demo's.
    env = keyless_env(tmp_path / "home")
    env["BERDAYA_PSEUDONYM_KEY"] = str(load_study(DEMO_STUDY).pseudonym_key)
    made = berdaya("init", str(folder), env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "out"
    ran = berdaya(
        "run", str(folder / "study.yml"), "--out", str(out), "--no-village-reports", "--no-pdf", env=env, cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    expected = sorted(p.name for p in demo_stages.tables.iterdir())
    assert expected and set(expected) <= {p.name for p in (out / "tables").iterdir()}
    cpi_tables = {"alkire_foster.csv", "income_conventions.csv"}
    for name in expected:
        if name not in cpi_tables:
            assert (out / "tables" / name).read_bytes() == (demo_stages.tables / name).read_bytes(), name
    # income_conventions.csv: only the deflation's note differs (no CPI given).
    mine, hand = (
        _table(out / "tables" / "income_conventions.csv"),
        _table(demo_stages.tables / "income_conventions.csv"),
    )
    real = mine["indicator"] == "income_pc_real"
    assert mine[~real].equals(hand[~real]) and mine["indicator"].equals(hand["indicator"])
    assert mine.loc[real, "note"].item() == "CPI baseline not given, follow-up not given"
    # alkire_foster.csv: the same rows; the baseline's (deflated by CPI/CPI = 1 either way) equal.
    mine, hand = (
        _table(out / "tables" / "alkire_foster.csv"),
        _table(demo_stages.tables / "alkire_foster.csv"),
    )
    keys = ["round", "arm", "statistic", "goal", "indicator"]
    assert mine[keys].equals(hand[keys])
    assert mine[mine["round"] != "followup"].equals(hand[hand["round"] != "followup"])
