"""Replication packages carry no personal data, build atomically, and verify checks every file.

One small study with a codebook, a corrections file and a decisions file full of personal data
(phone numbers, names, NIK, raw household ids) is packaged once per module; the README's
minimal study (no codebook, villages, corrections or decisions) is packaged once too, and the
verify tests tamper with copies of it. The pseudonym-key test runs `berdaya run` twice on the
minimal study with HOME in tmp_path.
"""

from __future__ import annotations

import io
import json
import shutil
import tracemalloc
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analysis.run.replication
from analysis.clean.deidentify import KEY_ENV
from analysis.errors import BerdayaError
from analysis.run.cli import main
from analysis.shared.masking import MASK, REMOVED
from analysis.shared.pseudonyms import PseudonymKey, pseudonymize

KEY = "package-privacy-test-key"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def berdaya(*argv: str) -> Run:
    # capsys is function-scoped; the module-scoped builds capture output themselves.
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return Run(code, out.getvalue(), err.getvalue())


def pseudonym(raw_id: str) -> str:
    return str(pseudonymize(pd.Series([raw_id]), key=PseudonymKey(KEY.encode(), "test")).iloc[0])


def minimal_study(folder: Path, *, households: int = 40) -> Path:
    """The README's minimal study: two CSV exports and a study file, nothing else."""
    rng = np.random.default_rng(20240601)
    ids = [f"H{i:04d}" for i in range(households)]
    frame = pd.DataFrame(
        {
            "hhid": ids,
            "village": [f"V{i % 8}" for i in range(households)],
            "treat": [int(i % 8 < 4) for i in range(households)],
            "income": rng.integers(100, 1000, households),
            "got": rng.integers(0, 2, households),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "baseline.csv", index=False)
    frame.assign(income=rng.integers(100, 1000, households), got=rng.integers(0, 2, households)).to_csv(
        folder / "followup.csv", index=False
    )
    (folder / "study.yml").write_text(
        "name: Example study\n"
        "rounds: {baseline: baseline.csv, followup: followup.csv}\n"
        "id: hhid\ntreatment: treat\nvillage: village\ncluster: village\n"
        "outcomes:\n"
        "  - {name: income, column: income, family: income}\n"
        "  - {name: participation, column: got, family: participation}\n"
    )
    return folder / "study.yml"


# --- a study whose hand-written files hold personal data ------------------------------------

NAMES = [
    f"{a} {b}"
    for a in ("Sekar", "Larasati", "Gilang", "Wibisono", "Kinanti")
    for b in (
        "Wulandari",
        "Prameswari",
        "Hadiningrat",
        "Kusumawardhani",
        "Suryoputro",
        "Tjokrosuseno",
        "Mangunkusumo",
        "Notonegoro",
    )
]
ENUMERATORS = ["Ratna Kumalasari", "Yohanes Pattiasina"]
NEW_PHONE = "0857-2468-1357"
NEW_NIK = "3374056607890012"
REASON_PHONE = "+62 896 1357 2468"
NEW_ID = "RT-79999"

CODEBOOK = """name,type,source_baseline,source_followup,role,pii,categories
hhid,id,hhid,hhid,household_id,,
village,id,desa,desa,village,,
treat,number,treat,treat,treatment,,
income,money,pendapatan,pendapatan,,,
got,number,ikut,ikut,,,
enumerator,text,enum,enum,enumerator,yes,
respondent_name,text,nama,nama,,yes,
phone,text,hp,hp,,yes,
nik,id,nik,nik,,yes,
other_specify,text,lain,lain,,,
"""


def private_study(folder: Path) -> tuple[Path, pd.DataFrame]:
    n = 40
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "hhid": [f"RT-7{i:04d}" for i in range(n)],
            "desa": [f"{101 + i % 8:04d}" for i in range(n)],
            "treat": [int(i % 8 < 4) for i in range(n)],
            "pendapatan": rng.integers(100, 1000, n) * 1000,
            "ikut": rng.integers(0, 2, n),
            "enum": [ENUMERATORS[i % 2] for i in range(n)],
            "nama": NAMES[:n],
            "hp": [f"0821-{5000 + i:04d}-{7300 + i:04d}" for i in range(n)],
            "nik": [f"33740{i:03d}07890{i:03d}" for i in range(n)],
            "lain": [""] * n,
        }
    )
    frame.loc[7, "lain"] = "beli bibit"
    # A second, different submission for household RT-70010 (spreadsheet row 42).
    second = frame.iloc[[10]].assign(pendapatan=999000)
    baseline = pd.concat([frame, second], ignore_index=True)
    folder.mkdir(parents=True, exist_ok=True)
    baseline.to_csv(folder / "baseline.csv", index=False)
    frame.assign(pendapatan=rng.integers(100, 1000, n) * 1000).to_csv(folder / "followup.csv", index=False)
    (folder / "codebook.csv").write_text(CODEBOOK)
    b = frame
    corrections = pd.DataFrame(
        [
            ("baseline", "RT-70003", "income", str(b.loc[3, "pendapatan"]), "555000",
             f"confirmed with {NAMES[3]} on {REASON_PHONE}"),
            ("baseline", "RT-70004", "phone", b.loc[4, "hp"], NEW_PHONE, "new number from the respondent"),
            ("baseline", "RT-70005", "nama", b.loc[5, "nama"], "Sekar Wulandary", "spelling on the KTP"),
            ("baseline", "RT-70006", "nik", b.loc[6, "nik"], NEW_NIK, f"KK shows {NEW_NIK}"),
            ("baseline", "RT-70007", "other_specify", "beli bibit", f"beli bibit, hp {NEW_PHONE}",
             "same answer as RT-70008"),
        ],
        columns=["round", "id", "column", "old", "new", "reason"],
    )  # fmt: skip
    corrections.to_csv(folder / "corrections.csv", index=False)
    decisions = pd.DataFrame(
        [
            ("baseline", "RT-70010", 12, "keep", "", f"reinterview confirmed by {ENUMERATORS[0]}"),
            ("baseline", "RT-70010", 42, "new_id", NEW_ID, f"paper form says {NEW_ID}"),
        ],
        columns=["round", "id", "row", "action", "new_id", "reason"],
    )
    decisions.to_csv(folder / "decisions.csv", index=False)
    (folder / "study.yml").write_text(
        "name: Private study\n"
        "rounds: {baseline: baseline.csv, followup: followup.csv}\n"
        "codebook: codebook.csv\ncorrections: corrections.csv\ndecisions: decisions.csv\n"
        "id: hhid\ntreatment: treat\nvillage: village\n"
        f"pseudonym_key: {KEY}\n"
        "outcomes:\n"
        "  - {name: income, family: income}\n"
        "  - {name: got, family: participation}\n"
    )
    return folder / "study.yml", baseline


@pytest.fixture(scope="module")
def private(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, Run]:
    folder = tmp_path_factory.mktemp("private")
    study, raw = private_study(folder / "study")
    run = berdaya("package", str(study), "--out", str(folder / "package"))
    return folder / "package", raw, run


def personal_values(raw: pd.DataFrame) -> set[str]:
    values = set()
    for column in ("hhid", "enum", "nama", "hp", "nik"):
        values |= set(raw[column])
    return values | {NEW_PHONE, NEW_NIK, REASON_PHONE, NEW_ID, "Sekar Wulandary", "RT-70008"}


def package_text(package: Path) -> dict[str, str]:
    texts = {}
    for path in sorted(package.rglob("*")):
        if path.is_file():
            text = (
                pd.read_parquet(path).to_csv()
                if path.suffix == ".parquet"
                else path.read_text(errors="replace")
            )
            texts[str(path.relative_to(package))] = text
    return texts


def test_the_package_holds_no_raw_phone_name_nik_or_household_id(
    private: tuple[Path, pd.DataFrame, Run],
) -> None:
    package, raw, run = private
    assert run.code == 0, run.err
    values = personal_values(raw)
    leaks = {name: sorted(v for v in values if v in text) for name, text in package_text(package).items()}
    assert not {k: v for k, v in leaks.items() if v}
    assert (package / "study" / "corrections.csv").is_file() and (
        package / "study" / "decisions.csv"
    ).is_file()


def test_packaged_corrections_are_pseudonymized_masked_and_screened(
    private: tuple[Path, pd.DataFrame, Run],
) -> None:
    package, raw, _ = private
    corrections = pd.read_csv(package / "study" / "corrections.csv", dtype=str, keep_default_na=False)
    assert corrections["id"].tolist() == [pseudonym(f"RT-7{i:04d}") for i in (3, 4, 5, 6, 7)]
    by_column = corrections.set_index("column")
    # income is not personal: the numbers stay, the reason named someone and is removed
    assert by_column.loc["income", ["old", "new", "reason"]].tolist() == [
        str(raw.loc[3, "pendapatan"]),
        "555000",
        REMOVED,
    ]
    for column in ("phone", "nama", "nik"):  # masked exactly as the change log masks them
        assert by_column.loc[column, ["old", "new"]].tolist() == [MASK, MASK]
    assert by_column.loc["phone", "reason"] == "new number from the respondent"
    assert by_column.loc["nik", "reason"] == REMOVED
    assert by_column.loc["other_specify", "new"] == f"beli bibit, hp {MASK}"
    # a raw id in a reason becomes the pseudonym the processed data carry
    assert by_column.loc["other_specify", "reason"] == f"same answer as {pseudonym('RT-70008')}"
    clean = pd.read_parquet(package / "data" / "processed" / "baseline_clean.parquet")
    assert set(corrections["id"]) <= set(clean["hhid"])  # they still line up


def test_packaged_decisions_line_up_with_the_processed_data(private: tuple[Path, pd.DataFrame, Run]) -> None:
    package, _, _ = private
    decisions = pd.read_csv(package / "study" / "decisions.csv", dtype=str, keep_default_na=False)
    assert decisions["id"].tolist() == [pseudonym("RT-70010")] * 2
    assert decisions["new_id"].tolist() == ["", pseudonym(NEW_ID)]
    assert decisions["reason"].tolist() == [REMOVED, f"paper form says {pseudonym(NEW_ID)}"]
    clean = pd.read_parquet(package / "data" / "processed" / "baseline_clean.parquet")
    assert {pseudonym("RT-70010"), pseudonym(NEW_ID)} <= set(clean["hhid"])
    report = pd.read_csv(
        package / "data" / "processed" / "baseline_duplicates.csv", dtype=str, keep_default_na=False
    )
    assert sorted(report["reason"]) == sorted(decisions["reason"])


def test_a_package_with_screened_files_still_verifies(private: tuple[Path, pd.DataFrame, Run]) -> None:
    package, _, _ = private
    assert berdaya("verify", str(package)).code == 0


# --- the README's minimal study ---------------------------------------------------------------


@pytest.fixture(scope="module")
def minimal(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    folder = tmp_path_factory.mktemp("minimal")
    study = minimal_study(folder / "study")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(KEY_ENV, KEY)  # never the user's ~/.config
        run = berdaya("package", str(study), "--out", str(folder / "package"))
    return folder / "package", run


@pytest.fixture
def minimal_package(minimal: tuple[Path, Run], tmp_path: Path) -> Path:
    """A copy of the minimal package, for a test to tamper with."""
    package, run = minimal
    assert run.code == 0, run.err
    return Path(shutil.copytree(package, tmp_path / "package"))


def test_the_minimal_study_packages_and_verifies(minimal: tuple[Path, Run]) -> None:
    package, run = minimal
    assert run.code == 0 and "Traceback" not in run.err, run.err
    assert (package / "study" / "study.yml").is_file() and (package / "study" / "codebook.csv").is_file()
    assert not list(package.rglob("internal"))  # the unsuppressed tier never travels
    verified = berdaya("verify", str(package))
    assert verified.code == 0, verified.out + verified.err
    assert verified.out.splitlines()[-1].startswith("all ")
    assert not list(package.parent.glob(".package.partial-*"))


def test_a_failed_package_leaves_nothing_that_blocks_a_retry(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    study = minimal_study(tmp_path / "study", households=16)
    out = tmp_path / "package"

    def broken(*args: object, **kwargs: object) -> None:
        raise BerdayaError("the estimate stage failed")

    monkeypatch.setattr(analysis.run.replication, "estimate_stage", broken)
    assert main(["package", str(study), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == "error: the estimate stage failed\n"
    # Nothing of the failed build stays switched on in this process: memory tracing once did,
    # and slowed everything the process did after it tenfold.
    assert not tracemalloc.is_tracing()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]  # no package, no partial folder
    # A failure in the user's data (a correction that no longer applies) leaves nothing either.
    monkeypatch.undo()
    monkeypatch.setenv(KEY_ENV, KEY)
    (tmp_path / "study" / "corrections.csv").write_text(
        "round,id,column,old,new,reason\nbaseline,H0001,income,1,2,typo\n"
    )
    (tmp_path / "study" / "study.yml").write_text(
        (tmp_path / "study" / "study.yml").read_text() + "corrections: corrections.csv\n"
    )
    out.mkdir()  # an empty folder is a fine target
    assert main(["package", str(study), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: corrections.csv row 2 column old:") and "Traceback" not in err
    assert out.is_dir() and not any(out.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["package", "study"]


# --- verify checks every file -------------------------------------------------------------------


def verify_lines(package: Path) -> tuple[int, list[str]]:
    run = berdaya("verify", str(package))
    assert "Traceback" not in run.out + run.err
    return run.code, run.out.splitlines()


def test_verify_names_each_edited_code_notebook_and_processed_file(minimal_package: Path) -> None:
    package = minimal_package
    with (package / "code" / "src" / "analysis" / "estimate" / "regressions.py").open("a") as handle:
        handle.write("\n# altered\n")
    notebook = package / "notebooks" / "03_estimate_impacts.ipynb"
    notebook.write_text(notebook.read_text().replace("estimate", "estimat", 1))
    summary = package / "data" / "processed" / "baseline_summary.json"
    summary.write_text(summary.read_text() + " ")
    code, lines = verify_lines(package)
    assert code == 1
    problems = [line for line in lines if "SHA-256 differs" in line]
    assert problems == [
        "code/src/analysis/estimate/regressions.py: changed since the package was made (SHA-256 differs from MANIFEST.json)",
        "data/processed/baseline_summary.json: changed since the package was made "
        "(SHA-256 differs from MANIFEST.json)",
        "notebooks/03_estimate_impacts.ipynb: changed since the package was made "
        "(SHA-256 differs from MANIFEST.json)",
    ]
    assert lines[-1].startswith("3 files not as MANIFEST.json records them; all ")


def test_verify_refuses_an_emptied_expected_list_in_one_line(minimal_package: Path, capsys) -> None:
    manifest = minimal_package / "MANIFEST.json"
    content = json.loads(manifest.read_text())
    content["expected"] = {}
    manifest.write_text(json.dumps(content))
    assert main(["verify", str(minimal_package)]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "the `expected` list is empty" in captured.err
    assert captured.out == "" and "Traceback" not in captured.err


def test_verify_notices_a_table_dropped_from_the_expected_list(minimal_package: Path) -> None:
    manifest = minimal_package / "MANIFEST.json"
    content = json.loads(manifest.read_text())
    del content["expected"]["expected/tables/impact.csv"]
    del content["checksums"]["expected/tables/impact.csv"]
    (minimal_package / "expected" / "tables" / "impact.csv").unlink()
    manifest.write_text(json.dumps(content))
    code, lines = verify_lines(minimal_package)
    assert code == 1
    assert (
        "impact.csv: made by the rebuild but not in MANIFEST.json's expected list (the list was edited)"
        in lines
    )


# --- the pseudonym key ----------------------------------------------------------------------------


@pytest.mark.e2e
def test_creating_the_key_is_announced_once_and_the_next_run_skips_unchanged_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import analysis.run.fingerprint

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(KEY_ENV, raising=False)
    # The fingerprint includes berdaya's own source; pin it so the test sees only the key.
    monkeypatch.setattr(analysis.run.fingerprint, "source_digest", lambda folder=None: "pinned")
    study = minimal_study(tmp_path / "study", households=16)
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--no-village-reports", "--no-pdf"]) == 0
    first = capsys.readouterr().err
    key = home / ".config" / "berdaya" / "pseudonym.key"
    assert key.is_file()
    notes = [line for line in first.splitlines() if "pseudonymization key" in line]
    assert len(notes) == 1 and str(key) in notes[0] and "back it up" in notes[0]
    assert main(["run", str(study), "--out", str(out), "--no-village-reports", "--no-pdf"]) == 0
    second = capsys.readouterr().err
    assert "pseudonymization key" not in second
    stages = {s["name"]: s["status"] for s in json.loads((out / "run.json").read_text())["stages"]}
    for name in ("clean_baseline", "clean_followup", "construct", "estimate"):
        assert stages[name] == "skipped", stages
