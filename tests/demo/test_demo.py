"""The seeded synthetic demo survey (analysis.demo.survey)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.clean.money import parse_numbers
from analysis.demo.survey import FILES, INCOME_COMPONENTS, LADDER, DemoManifest, generate_demo, write_demo
from analysis.inputs.codebook import CODEBOOK_COLUMNS, read_codebook
from analysis.inputs.study import load_study

ROUNDS = {"baseline": "baseline_2023.csv", "followup": "followup_2025.csv"}
MISSING_CODES = {"-99", "-98", "tidak tahu"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    out = tmp_path_factory.mktemp("demo")
    return out, write_demo(out)


def read_export(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=";", dtype=str, keep_default_na=False, encoding="utf-8")


def codebook_frame(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "codebook.csv", dtype=str, keep_default_na=False)


def harmonized(folder: Path, round_name: str) -> pd.DataFrame:
    """The round's export with harmonized column names (raw text, not cleaned)."""
    book = codebook_frame(folder)
    mapping = dict(zip(book[f"source_{round_name}"], book["name"], strict=True))
    mapping.pop("", None)
    return read_export(folder / ROUNDS[round_name]).rename(columns=mapping)


def answered(frame: pd.DataFrame) -> pd.DataFrame:
    """Consenting submissions, each once, with ids stripped of stray whitespace."""
    out = frame[frame["consent"] == "ya"].drop_duplicates()
    return out.assign(hhid=out["hhid"].str.strip())


# ------------------------------------------------------------------------ files and determinism


def test_write_demo_writes_every_file(demo: tuple[Path, DemoManifest]) -> None:
    folder, manifest = demo
    assert [p.name for p in manifest.files] == list(FILES)
    assert all(p.parent == folder and p.is_file() for p in manifest.files)
    assert sorted(p.name for p in folder.iterdir()) == sorted(FILES)  # no partial files left


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    first = write_demo(tmp_path / "a", villages=6, households=20, seed=7)
    second = write_demo(tmp_path / "b", villages=6, households=20, seed=7)
    for a, b in zip(first.files, second.files, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    other = write_demo(tmp_path / "c", villages=6, households=20, seed=8)
    assert other.files[1].read_bytes() != first.files[1].read_bytes()


def test_write_demo_writes_what_generate_demo_returns(demo: tuple[Path, DemoManifest]) -> None:
    folder, _ = demo
    rendered = generate_demo().files()
    assert list(rendered) == list(FILES)
    for name, content in rendered.items():
        assert (folder / name).read_bytes() == content, name


@pytest.mark.parametrize(("villages", "households"), [(1, 40), (9802, 40), (30, 9), (30, 901)])
def test_sizes_out_of_range_are_refused(villages: int, households: int) -> None:
    with pytest.raises(ValueError, match="expecting"):
        generate_demo(villages=villages, households=households)


# ------------------------------------------------------------------------ villages


def test_villages_half_treated_within_kecamatan(demo: tuple[Path, DemoManifest]) -> None:
    folder, manifest = demo
    villages = pd.read_csv(folder / "villages.csv", dtype=str, keep_default_na=False)
    assert list(villages.columns) == ["village", "village_name", "kecamatan", "treat"]
    assert len(villages) == manifest.villages == 30
    assert villages["village"].iloc[0] == "0101"
    assert villages["village"].str.fullmatch(r"0\d{3}").all()
    assert villages["village"].is_unique and villages["village_name"].is_unique
    treat = villages["treat"].astype(int)
    assert set(treat) == {0, 1}
    assert treat.sum() == manifest.treated_villages == 15
    per = villages.assign(treat=treat).groupby("kecamatan")["treat"].agg(["sum", "size"])
    assert len(per) == manifest.kecamatan >= 3
    assert ((per["size"] - 2 * per["sum"]).abs() <= 1).all()


def test_two_thousand_villages_keep_unique_codes_and_names() -> None:
    villages = generate_demo(villages=2000, households=10).villages
    assert villages["village"].is_unique and villages["village_name"].is_unique
    assert villages["village"].str.fullmatch(r"\d{4}").all()
    assert villages["village"].str.startswith("0").any()
    assert villages["treat"].sum() == 1000
    per = villages.groupby("kecamatan")["treat"].agg(["sum", "size"])
    assert ((per["size"] - 2 * per["sum"]).abs() <= 1).all()


# ------------------------------------------------------------------------ the exports


@pytest.mark.parametrize("round_name", list(ROUNDS))
def test_exports_are_kobo_style(demo: tuple[Path, DemoManifest], round_name: str) -> None:
    folder, manifest = demo
    raw = (folder / ROUNDS[round_name]).read_text(encoding="utf-8")
    lines = raw.splitlines()
    assert len(lines) == 1 + getattr(manifest, round_name).rows
    # Every field quoted and ';'-separated: re-writing the parsed records with QUOTE_ALL
    # gives back the file exactly.
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(csv.reader(io.StringIO(raw), delimiter=";"))
    assert buffer.getvalue() == raw
    # A plain comma read sees one column: the trap of docs/bad-inputs.md case 1.
    assert pd.read_csv(folder / ROUNDS[round_name], nrows=0).shape[1] == 1
    columns = read_export(folder / ROUNDS[round_name]).columns
    expected = {"_uuid", "_submission_time", "_index", "_gps_latitude", "_gps_longitude"}
    assert expected <= set(columns)
    assert not any("treat" in c for c in columns)
    if round_name == "baseline":
        assert {"hh/hhid", "pendapatan/upah", "gps", "responden/nik"} <= set(columns)
    else:
        assert {"rt/id_rt", "penghasilan/gaji_upah", "lokasi/gps", "program/ikut_program"} <= set(columns)
        assert "hh/hhid" not in columns


def test_nik_has_16_digits_and_some_exceed_float_precision(demo: tuple[Path, DemoManifest]) -> None:
    folder, _ = demo
    nik = answered(harmonized(folder, "baseline"))["nik"]
    assert nik.str.fullmatch(r"\d{16}").all()
    papua = nik[nik.str.startswith("94")]
    assert len(papua) > 0
    assert all(int(n) > 2**53 for n in papua)
    # Read as float64, some of them change: why ids must stay text.
    assert any(int(float(n)) != int(n) for n in papua)


def test_personal_data_looks_real_but_synthetic(demo: tuple[Path, DemoManifest]) -> None:
    folder, _ = demo
    base = answered(harmonized(folder, "baseline"))
    assert base["phone"].str.fullmatch(r"08\d{10}").all()
    assert base["respondent_sex"].isin(["laki-laki", "perempuan"]).all()
    assert base["gps"].str.split(" ").str.len().eq(4).all()
    lat = base["gps_latitude"].astype(float)
    assert lat.between(-8, -6).all()
    assert (base["gps"].str.split(" ").str[0] == base["gps_latitude"]).all()


def test_households_per_village_attrition_and_new(demo: tuple[Path, DemoManifest]) -> None:
    folder, manifest = demo
    base = answered(harmonized(folder, "baseline"))
    follow = answered(harmonized(folder, "followup"))
    ids = base["hhid"].drop_duplicates()
    assert len(ids) == manifest.baseline.households == 30 * 40
    assert (base.drop_duplicates("hhid").groupby("village").size() == 40).all()
    assert (base["hhid"].str.slice(0, 4) == base["village"]).all()
    assert ids.str.fullmatch(r"\d{7}").all()
    attrited = ~ids.isin(follow["hhid"])
    assert attrited.sum() == manifest.attrited
    assert attrited.mean() == pytest.approx(0.08, abs=0.01)
    new = ~follow["hhid"].isin(base["hhid"])
    assert new.sum() == manifest.new_households == manifest.followup.not_in_baseline
    assert new.mean() == pytest.approx(0.04, abs=0.01)
    # Adults and children add up to the household size (the out-of-range row aside).
    for frame in (base, follow):
        sized = frame[frame["household_size"] != "0"]
        total = sized["adults"].astype(int) + sized["children"].astype(int)
        assert (total == sized["household_size"].astype(int)).all()


@pytest.mark.parametrize("round_name", list(ROUNDS))
def test_manifest_counts_every_fault(demo: tuple[Path, DemoManifest], round_name: str) -> None:
    folder, manifest = demo
    faults = getattr(manifest, round_name)
    frame = harmonized(folder, round_name)
    assert faults.rows == len(frame)
    assert faults.rows == (
        faults.households + faults.exact_duplicate + faults.conflicting_duplicate + faults.no_consent
    )
    assert frame.duplicated().sum() == faults.exact_duplicate
    assert frame["submission_id"].duplicated().sum() == faults.exact_duplicate
    refused = frame[frame["consent"] == "tidak"]
    assert len(refused) == faults.no_consent
    assert (refused.drop(columns=["consent", "hhid", "village", "submission_id",
                                 "submission_time", "kobo_index"]) == "").all().all()  # fmt: skip
    unique = frame.drop_duplicates()
    conflicts = unique[unique["hhid"].duplicated(keep=False) & (unique["consent"] == "ya")]
    assert conflicts["hhid"].nunique() == faults.conflicting_duplicate
    assert len(conflicts) == 2 * faults.conflicting_duplicate
    ids = unique["hhid"]
    assert (ids != ids.str.strip()).sum() == faults.id_whitespace

    money = unique[[*INCOME_COMPONENTS, "debt"]].to_numpy().ravel()
    ambiguous = [m for m in money if re.fullmatch(r"\d{1,3},\d{3}", m)]
    assert len(ambiguous) == faults.ambiguous_number
    texts = [m for m in money if not re.fullmatch(r"\d*", m) and m not in MISSING_CODES]
    assert len(texts) - len(ambiguous) == faults.money_text
    likert = ["trust_village_gov", "feels_safe", "trust_neighbours"]
    codes = unique[[*INCOME_COMPONENTS, *likert]].isin(list(MISSING_CODES)).to_numpy().sum()
    assert codes == faults.missing_code

    yes_no = [c for c in frame.columns if c in LADDER or c in ("owns_umkm", "conflict", "food_secure")]
    cells = unique.loc[unique["consent"] == "ya", yes_no].to_numpy().ravel()
    variants = [c for c in cells if c not in ("ya", "tidak")]
    assert all(v.strip().casefold() in ("ya", "tidak") for v in variants)
    assert len(variants) <= faults.category_variant
    book = codebook_frame(folder)
    all_yes_no = book.loc[book["recode"] == "ya=1; tidak=0", "name"].tolist()
    all_yes_no = [c for c in all_yes_no if c in frame.columns and c != "consent"]
    cells = unique.loc[unique["consent"] == "ya", all_yes_no].to_numpy().ravel()
    assert sum(c not in ("ya", "tidak") for c in cells) == faults.category_variant

    if round_name == "baseline":
        assert (unique["trust_village_gov"] == "9").sum() == faults.out_of_range
    else:
        assert (unique["household_size"] == "0").sum() == faults.out_of_range
    for name in ("ambiguous_number", "missing_code", "id_whitespace", "exact_duplicate", "no_consent"):
        assert 1 <= getattr(faults, name) <= 5, name


def test_money_text_parses_to_whole_rupiah(demo: tuple[Path, DemoManifest]) -> None:
    folder, _ = demo
    frame = answered(harmonized(folder, "followup"))
    cells = pd.Series(frame[[*INCOME_COMPONENTS, "debt"]].to_numpy().ravel(), dtype="str")
    cells = cells[~cells.isin(list(MISSING_CODES))]
    parsed = parse_numbers(cells, kind="money", style="id")
    assert set(parsed["status"]) == {"ok", "ambiguous"}
    values = parsed.loc[parsed["status"] == "ok", "value"]
    assert (values >= 0).all() and (values % 1000 == 0).all()
    forms = cells[~cells.str.fullmatch(r"\d+")]
    for pattern in (
        r"Rp ?\d{1,3}(\.\d{3})+",
        r"\d+(,\d+)? ?(juta|jt)",
        r"\d+ ?(rb|ribu)",
        r"\d{1,3}(\.\d{3})+",
    ):
        assert forms.str.fullmatch(pattern).any(), pattern


# ------------------------------------------------------------------------ codebook and study


def test_codebook_follows_the_documented_format(demo: tuple[Path, DemoManifest]) -> None:
    folder, _ = demo
    book = codebook_frame(folder)
    assert tuple(book.columns) == CODEBOOK_COLUMNS
    parsed = read_codebook(folder / "codebook.csv")  # the workbench's own reader accepts it
    roles = {role: [v.name for v in parsed.by_role(role)] for role in
             ("household_id", "village", "consent", "submission_id", "household_size", "adults",
              "children", "respondent_sex", "income_component", "ladder")}  # fmt: skip
    assert roles["household_id"] == ["hhid"]
    assert roles["income_component"] == list(INCOME_COMPONENTS)
    assert roles["ladder"] == list(LADDER)
    assert all(len(names) == 1 for role, names in roles.items() if role not in ("income_component", "ladder"))
    assert parsed.get("submission_id").sources == {"baseline": "_uuid", "followup": "_uuid"}
    sex = parsed.get("respondent_sex")
    assert sex.categories == ("male", "female")
    assert dict(sex.recode) == {"laki-laki": "male", "perempuan": "female"}
    for name in LADDER:
        assert parsed.get(name).categories == ("0", "1")
        assert dict(parsed.get(name).recode) == {"ya": "1", "tidak": "0"}
        assert parsed.get(name).family == "participation"
    programme = parsed.get("programme_participation")
    assert list(programme.sources) == ["followup"] and programme.family == "participation"
    pii = {v.name for v in parsed.variables if v.pii}
    assert {"respondent_name", "phone", "nik", "gps", "gps_latitude", "gps_longitude"} <= pii
    assert "submission_time" not in pii and "hhid" not in pii
    assert parsed.get("nik").type == "id"
    assert {v.family for v in parsed.variables} >= {
        "institutions", "business", "income", "environment", "life", "community", "participation"
    }  # fmt: skip
    assert {v.name for v in parsed.variables if v.direction == -1} == {"debt", "conflict"}


@pytest.mark.parametrize("round_name", list(ROUNDS))
def test_codebook_sources_exist_in_their_round(demo: tuple[Path, DemoManifest], round_name: str) -> None:
    folder, _ = demo
    book = codebook_frame(folder)
    sources = [s for s in book[f"source_{round_name}"] if s]
    columns = list(read_export(folder / ROUNDS[round_name]).columns)
    assert sorted(sources) == sorted(columns)  # every source exists, and nothing is unmapped


def test_study_file_and_truth(demo: tuple[Path, DemoManifest]) -> None:
    folder, _ = demo
    raw = yaml.safe_load((folder / "study.yml").read_text(encoding="utf-8"))
    assert raw["rounds"]["followup"] == {"file": "followup_2025.csv", "year": 2025, "cpi": 106.3}
    assert raw["villages"] == {
        "file": "villages.csv", "id": "village", "name": "village_name", "strata": "kecamatan"
    }  # fmt: skip
    assert (raw["id"], raw["treatment"], raw["village"], raw["cluster"]) == (
        "hhid", "treat", "village", "village"
    )  # fmt: skip
    study = load_study(folder / "study.yml")  # the workbench's own loader accepts it
    names = [o.name for o in study.outcomes]
    assert names[:3] == ["income_pc", "participation_score", "programme_participation"]
    book = codebook_frame(folder).set_index("name")
    for outcome in study.outcomes:
        assert outcome.family
        if outcome.name in book.index:
            assert book.loc[outcome.name, "family"] == outcome.family
    assert set(LADDER) <= set(names)

    text = (folder / "truth.json").read_text(encoding="utf-8")
    truth = json.loads(text)
    indices = {f"index_{kind}_{family}" for kind in ("klk", "icw") for family in
               ("participation", "institutions", "business", "environment", "life", "community")}  # fmt: skip
    assert set(truth) == set(names) | {"income_total"} | indices
    assert list(truth) == sorted(truth)
    for value in truth.values():
        assert repr(float(value)) in text  # written with full precision
    assert truth["programme_participation"] == pytest.approx(0.5, abs=0.1)
    assert all(0.04 <= truth[k] <= 0.16 for k in LADDER)
    assert truth["participation_score"] == pytest.approx(sum(truth[k] for k in LADDER), rel=1e-12)
    zero = [k for k, v in truth.items() if v == 0.0]
    assert {"clean_water", "feels_safe", "conflict", "debt"} <= set(zero)
    assert truth["income_pc"] > 0 and truth["income_total"] > truth["income_pc"]


def test_readme_names_the_seed_and_faults(demo: tuple[Path, DemoManifest]) -> None:
    folder, manifest = demo
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert str(manifest.seed) in text and "fictional" in text
    assert "| Exact duplicate submission → excluded(duplicate_submission) | " in text


# ------------------------------------------------------------------------ statistical sanity


def test_naive_followup_difference_is_near_the_truth(tmp_path: Path) -> None:
    write_demo(tmp_path, villages=200, households=40, seed=11)
    truth = json.loads((tmp_path / "truth.json").read_text())
    villages = pd.read_csv(tmp_path / "villages.csv", dtype=str, keep_default_na=False)
    arm = dict(zip(villages["village"], villages["treat"].astype(int), strict=True))
    follow = answered(harmonized(tmp_path, "followup"))
    treat = follow["village"].map(arm)
    rungs = follow[list(LADDER)].apply(lambda c: c.str.strip().str.casefold().map({"ya": 1, "tidak": 0}))
    rung_mean = rungs.mean(axis=1)
    naive = rung_mean[treat == 1].mean() - rung_mean[treat == 0].mean()
    # Across seeds this difference has a standard deviation of about 0.005 (200 villages).
    assert naive == pytest.approx(truth["participation_score"] / len(LADDER), abs=0.03)
    took = follow["programme_participation"].str.strip().str.casefold().eq("ya")
    assert took[treat == 0].mean() == pytest.approx(0.05, abs=0.03)
    assert took[treat == 1].mean() == pytest.approx(0.55, abs=0.06)

    # Income per person: the programme adds 8-12 % to the comparison arm's mean.
    income = np.zeros(len(follow))
    usable = np.ones(len(follow), dtype=bool)
    for name in INCOME_COMPONENTS:
        parsed = parse_numbers(follow[name].str.strip(), kind="money", style="id")
        usable &= (parsed["status"] == "ok").to_numpy()
        income += parsed["value"].fillna(0).to_numpy()
    size = follow["household_size"].astype(int).to_numpy()
    usable &= size > 0
    per_person = income[usable] / size[usable]
    control = per_person[(treat.to_numpy() == 0)[usable]].mean()
    assert 0.08 <= truth["income_pc"] / control <= 0.12


# ------------------------------------------------------------------------ scale


@pytest.mark.slow
def test_two_thousand_villages_of_one_hundred(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    manifest = write_demo(tmp_path, villages=2000, households=100)
    elapsed = time.perf_counter() - start
    assert capsys.readouterr() == ("", "")
    assert manifest.baseline.households == 200_000
    assert manifest.attrited == 16_000
    assert manifest.treated_villages == 1000
    print(f"\n2,000 villages written in {elapsed:.1f} s")  # printed, not limited: the machine is shared
    head = (tmp_path / "baseline_2023.csv").read_bytes()[:200]
    assert head.startswith(b'"persetujuan";"hh/hhid"')
