"""A seeded synthetic demo survey: a fictional programme in Kabupaten Sukamaju.

:func:`generate_demo` builds, in memory and from one ``numpy.random.default_rng(seed)``, a
two-round household survey (baseline 2023, follow-up 2025) of a village-randomized
empowerment programme, exported the way KoboToolbox exports it and carrying the faults real
exports carry (money typed as text, missing codes, duplicates, attrition, ...; each fault is
counted in :class:`RoundFaults`).
:func:`write_demo` writes it as files:

``villages.csv``
    The village list: code, name, kecamatan and arm (``treat``).
``baseline_2023.csv``, ``followup_2025.csv``
    Kobo-style exports: ``;``-separated, every field quoted, grouped column names; the
    follow-up form was revised, so many columns are renamed.
``codebook.csv``
    The harmonized variables in the format of ``docs/codebook.md``.
``study.yml``
    The study file that ties them together.
``truth.json``
    The true average effect of the programme on every outcome, computed from the latent
    potential outcomes, so an estimator can be checked against it; also on every family
    index (``index_klk_<family>``, ``index_icw_<family>``), with the estimator's conventions.
``README.md``
    What the data are and which faults were injected.
``form_baseline_2023.xlsx``, ``form_followup_2025.xlsx``
    The rounds' Kobo XLSForms (:mod:`analysis.demo.forms`), carrying the analysis plan in
    ``berdaya::`` columns: ``berdaya init`` builds the study from them and the exports alone.

Everything is vectorized over households (no Python loop per household): 2,000 villages of
100 households generate and write in seconds. The same arguments give byte-identical files:
rows are laid out by submission time drawn from the generator, never from the clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, reduce
from itertools import repeat
from math import log
from operator import add
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from analysis.config import DEFAULT_SEED
from analysis.demo.forms import FORM_FILES, render_forms

__all__ = ["DemoManifest", "DemoSurvey", "RoundFaults", "generate_demo", "write_demo"]

Array = npt.NDArray[Any]

VILLAGES_FILE = "villages.csv"
BASELINE_FILE = "baseline_2023.csv"
FOLLOWUP_FILE = "followup_2025.csv"
CODEBOOK_FILE = "codebook.csv"
STUDY_FILE = "study.yml"
TRUTH_FILE = "truth.json"
README_FILE = "README.md"
FILES: tuple[str, ...] = (
    VILLAGES_FILE,
    BASELINE_FILE,
    FOLLOWUP_FILE,
    CODEBOOK_FILE,
    STUDY_FILE,
    TRUTH_FILE,
    README_FILE,
    *FORM_FILES,
)

CPI = {"baseline": 100.0, "followup": 106.3}

# ------------------------------------------------------------------------------------------
# Result types


@dataclass(frozen=True)
class RoundFaults:
    """What one round's export holds, and how many of each injected fault.

    Faults that change a row's state (ambiguous number, out-of-range value, conflicting
    duplicate, exact duplicate, no consent, not in baseline) never share a row, and the
    cell-level faults (money text, missing codes, category variants, id whitespace) avoid
    those rows, so every count maps to one expected outcome of cleaning.

    Attributes
    ----------
    rows
        Data rows in the export (the header not counted).
        ``rows == households + exact_duplicate + conflicting_duplicate + no_consent``.
    households
        Consenting households interviewed (each once, before duplicates).
    money_text
        Money cells written as Indonesian text (``Rp 1.500.000``, ``1,5 juta``, ``2 jt``,
        ``500rb``, ``150.000``); they parse unambiguously. Other money cells are plain digits.
    ambiguous_number
        Money cells written ``750,000`` (English grouping): expected
        ``quarantined(ambiguous_number:<variable>)``; one per row.
    missing_code
        Income or Likert cells holding ``-99``, ``-98`` or ``tidak tahu``.
    category_variant
        Yes/no cells written ``Ya``, ``YA``, ``ya `` (and the like for ``tidak``).
    id_whitespace
        Household ids with a leading space or a trailing no-break space.
    exact_duplicate
        Extra copies of a submission, identical in every field including ``_uuid`` and
        ``_index``: expected ``excluded(duplicate_submission)``.
    conflicting_duplicate
        Household ids submitted twice with different ``_uuid`` and different answers (two
        rows each): expected ``quarantined(duplicate_id_conflict)`` for both rows.
    no_consent
        Rows with consent ``tidak`` and every answer empty: expected ``excluded(no_consent)``.
    out_of_range
        Rows with one impossible value (baseline: trust in the village government ``9`` on a
        1-5 scale; follow-up: household size ``0``): expected ``quarantined(out_of_range:...)``.
    not_in_baseline
        Follow-up households that were not interviewed at baseline (new households).
    """

    rows: int
    households: int
    money_text: int
    ambiguous_number: int
    missing_code: int
    category_variant: int
    id_whitespace: int
    exact_duplicate: int
    conflicting_duplicate: int
    no_consent: int
    out_of_range: int
    not_in_baseline: int


@dataclass(frozen=True, eq=False)
class DemoSurvey:
    """A generated demo survey, held in memory.

    Attributes
    ----------
    seed
        The seed it was generated from.
    households_per_village
        Households per village at baseline.
    villages
        The village list (``village``, ``village_name``, ``kecamatan``, ``treat``).
    baseline, followup
        The raw exports as text: every cell a ``str`` exactly as written to the file, columns
        named as in the file.
    codebook
        The codebook, every cell a ``str`` (empty for "not applicable").
    study_yml
        The text of ``study.yml``.
    truth
        True average effect per outcome of the study, plus ``income_total``.
    readme
        The text of ``README.md``.
    baseline_faults, followup_faults
        Row counts and injected faults per round.
    attrited
        Baseline households without a consenting follow-up interview.
    """

    seed: int
    households_per_village: int
    villages: pd.DataFrame
    baseline: pd.DataFrame
    followup: pd.DataFrame
    codebook: pd.DataFrame
    study_yml: str
    truth: Mapping[str, float]
    readme: str
    baseline_faults: RoundFaults
    followup_faults: RoundFaults
    attrited: int

    def files(self) -> dict[str, bytes]:
        """Render every file of the demo.

        Returns
        -------
        dict of str to bytes
            File name to content, in the order of :data:`FILES`.
        """
        return {
            VILLAGES_FILE: _plain_csv(self.villages),
            BASELINE_FILE: _kobo_csv(self.baseline),
            FOLLOWUP_FILE: _kobo_csv(self.followup),
            CODEBOOK_FILE: _plain_csv(self.codebook),
            STUDY_FILE: self.study_yml.encode("utf-8"),
            TRUTH_FILE: (json.dumps(dict(self.truth), indent=2, sort_keys=True) + "\n").encode("utf-8"),
            README_FILE: self.readme.encode("utf-8"),
            **render_forms(self.codebook),
        }


@dataclass(frozen=True)
class DemoManifest:
    """What :func:`write_demo` wrote.

    Attributes
    ----------
    out_dir
        The folder written into.
    files
        The files written, in the order of :data:`FILES`.
    seed
        The seed.
    villages
        Number of villages.
    households
        Households per village at baseline.
    kecamatan
        Number of kecamatan (randomization strata).
    treated_villages
        Villages in the programme arm.
    attrited
        Baseline households without a consenting follow-up interview (random, ~8 %).
    baseline, followup
        Row counts and injected faults per round.
    """

    out_dir: Path
    files: tuple[Path, ...]
    seed: int
    villages: int
    households: int
    kecamatan: int
    treated_villages: int
    attrited: int
    baseline: RoundFaults
    followup: RoundFaults

    @property
    def new_households(self) -> int:
        """Follow-up households not interviewed at baseline."""
        return self.followup.not_in_baseline


# ------------------------------------------------------------------------------------------
# The variables: one entry per codebook row, in the export's column order


class _Var(NamedTuple):
    name: str
    label_id: str
    label_en: str
    source_baseline: str
    source_followup: str
    type: str
    unit: str = ""
    valid_min: str = ""
    valid_max: str = ""
    categories: str = ""
    recode: str = ""
    missing_codes: str = ""
    family: str = ""
    role: str = ""
    direction: str = ""
    pii: str = ""


_MISSING = "-99=refused; -98=dont_know; tidak tahu=dont_know"
_YES_NO = {"categories": "0;1", "recode": "ya=1; tidak=0"}


def _yes_no(
    name: str, lid: str, len_: str, b: str, f: str, family: str, *, role: str = "", d: str = "1"
) -> _Var:
    return _Var(name, lid, len_, b, f, "category", **_YES_NO, family=family, role=role, direction=d)


def _likert(name: str, lid: str, len_: str, b: str, f: str, family: str) -> _Var:
    return _Var(
        name, lid, len_, b, f, "integer", "score 1-5", "1", "5",
        missing_codes=_MISSING, family=family, direction="1",
    )  # fmt: skip


def _money(name: str, lid: str, len_: str, b: str, f: str, *, role: str, family: str, d: str) -> _Var:
    return _Var(
        name, lid, len_, b, f, "money", "Rp/month" if role else "Rp", "0",
        "100000000" if role else "1000000000", missing_codes=_MISSING, family=family, role=role,
        direction=d,
    )  # fmt: skip


def _pii(name: str, lid: str, len_: str, b: str, f: str, vtype: str = "text") -> _Var:
    return _Var(name, lid, len_, b, f, vtype, pii="yes")


INCOME_COMPONENTS: tuple[str, ...] = (
    "income_wage",
    "income_farm",
    "income_business",
    "income_transfer",
    "income_remittance",
    "income_other",
)
LADDER: tuple[str, ...] = (
    "took_part_planning",
    "took_part_implementing",
    "took_part_monitoring",
    "took_part_evaluating",
    "attended_musdes",
    "group_member",
)

_VARS: tuple[_Var, ...] = (
    _yes_no("consent", "Persetujuan responden", "Respondent consent", "persetujuan",
            "izin/setuju", "", role="consent", d=""),
    _Var("hhid", "ID rumah tangga", "Household ID", "hh/hhid", "rt/id_rt", "id",
         role="household_id"),
    _Var("village", "Kode desa", "Village code", "hh/desa", "rt/kode_desa", "id", role="village"),
    _Var("household_size", "Jumlah anggota rumah tangga", "Household size", "hh/jml_art",
         "rt/jumlah_art", "integer", "persons", "1", "30", role="household_size"),
    _Var("adults", "Anggota rumah tangga berumur 14 tahun ke atas", "Members aged 14 or older",
         "hh/dewasa", "rt/art_dewasa", "integer", "persons", "1", "30", role="adults"),
    _Var("children", "Anggota rumah tangga berumur di bawah 14 tahun", "Members younger than 14",
         "hh/anak", "rt/art_anak", "integer", "persons", "0", "30", role="children"),
    _pii("respondent_name", "Nama responden", "Respondent name", "responden/nama",
         "resp/nama_responden"),
    _Var("respondent_sex", "Jenis kelamin responden", "Respondent sex", "responden/jk",
         "resp/jenis_kelamin", "category", categories="male;female",
         recode="laki-laki=male; perempuan=female", role="respondent_sex"),
    _pii("phone", "Nomor HP responden", "Respondent phone number", "responden/no_hp", "resp/hp"),
    _pii("nik", "NIK responden", "Respondent national ID (NIK)", "responden/nik", "resp/nik",
         "id"),
    _money("income_wage", "Pendapatan dari upah/gaji", "Wage income", "pendapatan/upah",
           "penghasilan/gaji_upah", role="income_component", family="income", d="1"),
    _money("income_farm", "Pendapatan bersih dari pertanian", "Net farm income",
           "pendapatan/tani", "penghasilan/pertanian", role="income_component", family="income",
           d="1"),
    _money("income_business", "Keuntungan usaha (UMKM)", "Net business (UMKM) profit",
           "pendapatan/usaha", "penghasilan/umkm", role="income_component", family="income",
           d="1"),
    _money("income_transfer", "Bantuan sosial (PKH, BLT, dll.)",
           "Social transfers (PKH, BLT, ...)", "pendapatan/bantuan", "penghasilan/bansos",
           role="income_component", family="income", d="1"),
    _money("income_remittance", "Kiriman uang dari anggota keluarga", "Remittances",
           "pendapatan/kiriman", "penghasilan/kiriman_uang", role="income_component",
           family="income", d="1"),
    _money("income_other", "Pendapatan lainnya", "Other income", "pendapatan/lainnya",
           "penghasilan/lain", role="income_component", family="income", d="1"),
    _yes_no("took_part_planning", "Ikut merencanakan kegiatan desa",
            "Took part in planning village activities", "partisipasi/perencanaan",
            "peran_serta/ikut_rencana", "participation", role="ladder"),
    _yes_no("took_part_implementing", "Ikut melaksanakan kegiatan desa",
            "Took part in carrying out village activities", "partisipasi/pelaksanaan",
            "peran_serta/ikut_laksana", "participation", role="ladder"),
    _yes_no("took_part_monitoring", "Ikut mengawasi kegiatan desa",
            "Took part in monitoring village activities", "partisipasi/pengawasan",
            "peran_serta/ikut_awasi", "participation", role="ladder"),
    _yes_no("took_part_evaluating", "Ikut mengevaluasi kegiatan desa",
            "Took part in evaluating village activities", "partisipasi/evaluasi",
            "peran_serta/ikut_evaluasi", "participation", role="ladder"),
    _yes_no("attended_musdes", "Hadir di musyawarah desa (12 bulan terakhir)",
            "Attended the village meeting (musyawarah desa) in the last 12 months",
            "partisipasi/musdes", "peran_serta/hadir_musdes", "participation", role="ladder"),
    _yes_no("group_member", "Anggota kelompok masyarakat", "Member of a community group",
            "partisipasi/kelompok", "peran_serta/anggota_kelompok", "participation",
            role="ladder"),
    _yes_no("programme_participation", "Ikut program pemberdayaan",
            "Took part in the empowerment programme", "", "program/ikut_program",
            "participation"),
    _yes_no("bumdes_active", "BUMDes di desa berjalan", "The village enterprise (BUMDes) is active",
            "lembaga/bumdes_aktif", "kelembagaan/bumdes_aktif", "institutions"),
    _likert("trust_village_gov", "Kepercayaan pada pemerintah desa (1-5)",
            "Trust in the village government (1-5)", "lembaga/percaya_pemdes",
            "kelembagaan/kepercayaan_pemdes", "institutions"),
    _yes_no("koperasi_member", "Anggota koperasi", "Member of a cooperative (koperasi)",
            "lembaga/anggota_koperasi", "kelembagaan/koperasi", "institutions"),
    _yes_no("owns_umkm", "Memiliki usaha mikro/kecil (UMKM)",
            "Owns a micro or small business (UMKM)", "usaha/punya_umkm", "umkm/punya_usaha",
            "business"),
    _Var("employees", "Jumlah pekerja dari luar rumah tangga",
         "Workers employed from outside the household", "usaha/jml_pekerja",
         "umkm/jumlah_pekerja", "integer", "persons", "0", "100", family="business",
         direction="1"),
    _yes_no("credit_access", "Mendapat pinjaman usaha (12 bulan terakhir)",
            "Obtained business credit in the last 12 months", "usaha/akses_kredit",
            "umkm/kredit", "business"),
    _yes_no("training_received", "Ikut pelatihan usaha (12 bulan terakhir)",
            "Received business training in the last 12 months", "usaha/pelatihan",
            "umkm/ikut_pelatihan", "business"),
    _yes_no("clean_water", "Memiliki akses air bersih", "Has access to clean water",
            "lingkungan/air_bersih", "lingkungan/air_bersih", "environment"),
    _yes_no("improved_sanitation", "Memiliki jamban layak", "Has improved sanitation",
            "lingkungan/jamban_layak", "lingkungan/sanitasi", "environment"),
    _yes_no("waste_handled", "Sampah diangkut atau dikelola (tidak dibakar/dibuang ke sungai)",
            "Household waste collected or managed", "lingkungan/sampah",
            "lingkungan/kelola_sampah", "environment"),
    _likert("feels_safe", "Merasa aman di desa (1-5)", "Feels safe in the village (1-5)",
            "lingkungan/rasa_aman", "lingkungan/rasa_aman", "environment"),
    _yes_no("food_secure", "Tidak pernah kekurangan makan (3 bulan terakhir)",
            "Never short of food in the last 3 months", "kehidupan/tahan_pangan",
            "kesejahteraan/cukup_pangan", "life"),
    _Var("children_in_school", "Jumlah anak usia 7-15 tahun yang bersekolah",
         "Children aged 7-15 attending school", "kehidupan/anak_sekolah",
         "kesejahteraan/anak_bersekolah", "integer", "children", "0", "20", family="life",
         direction="1"),
    _yes_no("posyandu_visit", "Berkunjung ke Posyandu (3 bulan terakhir)",
            "Visited the Posyandu in the last 3 months", "kehidupan/posyandu",
            "kesejahteraan/ke_posyandu", "life"),
    _money("debt", "Sisa utang rumah tangga", "Outstanding household debt", "kehidupan/utang",
           "kesejahteraan/jumlah_utang", role="", family="life", d="-1"),
    _Var("gotong_royong_days", "Hari ikut gotong royong per bulan",
         "Days of mutual help (gotong royong) per month", "masyarakat/gotong_royong",
         "sosial/hari_gotong_royong", "integer", "days/month", "0", "30", family="community",
         direction="1"),
    _likert("trust_neighbours", "Kepercayaan pada tetangga (1-5)", "Trust in neighbours (1-5)",
            "masyarakat/percaya_tetangga", "sosial/kepercayaan_tetangga", "community"),
    _yes_no("conflict", "Mengalami konflik di desa (12 bulan terakhir)",
            "Experienced a conflict in the village in the last 12 months",
            "masyarakat/konflik", "sosial/konflik", "community", d="-1"),
    # Kobo writes a geopoint as the raw "lat lon alt acc" string plus four split columns named
    # after the question (without its group). Decimal points there are C-locale, so the split
    # columns are typed text: they are personal data and are dropped unparsed.
    _pii("gps", "Lokasi GPS (teks asli)", "GPS location (raw string)", "gps", "lokasi/gps"),
    _pii("gps_latitude", "Lintang GPS", "GPS latitude", "_gps_latitude", "_gps_latitude"),
    _pii("gps_longitude", "Bujur GPS", "GPS longitude", "_gps_longitude", "_gps_longitude"),
    _pii("gps_altitude", "Ketinggian GPS", "GPS altitude", "_gps_altitude", "_gps_altitude"),
    _pii("gps_precision", "Presisi GPS", "GPS precision", "_gps_precision", "_gps_precision"),
    _Var("submission_id", "ID kiriman Kobo", "Kobo submission id", "_uuid", "_uuid", "id",
         role="submission_id"),
    _Var("submission_time", "Waktu kiriman (UTC)", "Submission time (UTC)", "_submission_time",
         "_submission_time", "date"),
    _Var("kobo_index", "Nomor urut ekspor", "Export row index", "_index", "_index", "integer"),
)  # fmt: skip

_VAR = {v.name: v for v in _VARS}
_YES_NO_ITEMS = tuple(v.name for v in _VARS if v.recode == _YES_NO["recode"] and v.name != "consent")
_LIKERT_ITEMS = tuple(v.name for v in _VARS if v.unit == "score 1-5")
_MONEY_ITEMS = tuple(v.name for v in _VARS if v.type == "money")

# ------------------------------------------------------------------------------------------
# The latent model of every non-income outcome: a logit-scale index per household, item and
# round, made of a village effect, a household effect shared within the outcome family (so
# indicators of one goal move together), round noise, a common time trend and the effect.

_FAMILIES = ("institutions", "business", "environment", "life", "community", "participation")


class _Item(NamedTuple):
    name: str
    kind: str  # binary | likert | count | school
    family: str
    alpha: float  # intercept of the index
    trend: float  # change 2023 -> 2025 in every village
    tau: float  # programme effect on the index (follow-up, programme villages)


_ITEMS: tuple[_Item, ...] = (
    _Item("bumdes_active", "binary", "institutions", -0.3, 0.15, 0.45),
    _Item("trust_village_gov", "likert", "institutions", 0.3, 0.0, 0.35),
    _Item("koperasi_member", "binary", "institutions", -1.5, 0.0, 0.3),
    _Item("owns_umkm", "binary", "business", -1.1, 0.05, 0.3),
    _Item("employees", "count", "business", log(0.9), 0.0, 0.0),
    _Item("credit_access", "binary", "business", -1.4, 0.0, 0.35),
    _Item("training_received", "binary", "business", -2.0, 0.0, 0.9),
    _Item("clean_water", "binary", "environment", 1.2, 0.15, 0.0),
    _Item("improved_sanitation", "binary", "environment", 0.5, 0.1, 0.15),
    _Item("waste_handled", "binary", "environment", -0.5, 0.05, 0.25),
    _Item("feels_safe", "likert", "environment", 0.8, 0.0, 0.0),
    _Item("food_secure", "binary", "life", 1.1, 0.05, 0.2),
    _Item("children_in_school", "school", "life", 2.2, 0.1, 0.3),
    _Item("posyandu_visit", "binary", "life", -0.3, 0.0, 0.0),
    _Item("has_debt", "binary", "life", -0.4, 0.0, 0.0),
    _Item("gotong_royong_days", "count", "community", log(2.5), 0.0, 0.12),
    _Item("trust_neighbours", "likert", "community", 0.9, 0.0, 0.2),
    _Item("conflict", "binary", "community", -2.0, 0.0, 0.0),
    _Item("took_part_planning", "binary", "participation", -1.1, 0.0, 0.45),
    _Item("took_part_implementing", "binary", "participation", -0.4, 0.0, 0.6),
    _Item("took_part_monitoring", "binary", "participation", -1.6, 0.0, 0.45),
    _Item("took_part_evaluating", "binary", "participation", -2.0, 0.0, 0.35),
    _Item("attended_musdes", "binary", "participation", -0.6, 0.0, 0.45),
    _Item("group_member", "binary", "participation", -0.3, 0.0, 0.5),
    # Follow-up only. Comparison villages hear of the programme too, but rarely join.
    _Item("programme_participation", "binary", "participation", -3.35, 0.0, 3.55),
)
# Scales of the village, household and round parts of the index: logit scale for yes/no and
# Likert items, log scale (smaller) for counts.
_SCALE = {"logit": (0.45, 0.8, 0.5), "log": (0.2, 0.35, 0.15)}
_LIKERT_CUTS = np.array([-2.2, -0.8, 0.6, 2.0])

# Income: one log-income level per household and round, log X = mu + village + household +
# round noise (variances 0.20 / 0.06 / 0.20). Each source is a share of X with its own gamma
# noise, present or not, which adds household-level variation: household income ends with an
# ICC near 0.1 and a correlation near 0.5 between rounds (checked at 400 villages).
_INCOME_MU = log(2_300_000)
_INCOME_SD = (0.20**0.5, 0.06**0.5, 0.20**0.5)
_INCOME_TREND = log(1.09)  # nominal: CPI +6.3 % plus a little real growth, in every village


class _Source(NamedTuple):
    share: float  # of the household's level X when present
    present: float  # probability the source is present (business: owns_umkm)
    effect: float  # multiplier of the amount in programme villages at follow-up


_SOURCES = {
    "income_wage": _Source(0.75, 0.6, 1.04),
    "income_farm": _Source(0.55, 0.5, 1.05),
    "income_business": _Source(0.9, 0.0, 1.10),
    "income_transfer": _Source(0.0, 0.35, 1.0),
    "income_remittance": _Source(0.3, 0.2, 1.0),
    "income_other": _Source(0.1, 0.3, 1.0),
}
_TRANSFER_AMOUNTS = np.array([150_000, 200_000, 225_000, 300_000, 400_000, 600_000, 750_000])

# Fault rates per genuine row of a round (each at least one); at 30 x 40 they give 1-5 each.
_RATE = {
    "ambiguous_number": 0.002,
    "out_of_range": 1 / 1500,
    "conflicting_duplicate": 1 / 1000,
    "exact_duplicate": 0.002,
    "id_whitespace": 0.0025,
    "missing_code": 0.003,
    "category_variant": 0.004,
    "no_consent": 1 / 1500,
}
_MONEY_TEXT_SHARE = 0.08  # of non-zero money cells; typing styles are common, not rare
_ATTRITION = 0.08
_NEW = 0.04

# Fieldwork: baseline from 6 February 2023, follow-up from 3 February 2025, for 8 weeks;
# interviews between 07:00 and 17:00 WIB (00:00-10:00 UTC, as Kobo stores the time).
_FIELDWORK = {"baseline": np.datetime64("2023-02-06", "s"), "followup": np.datetime64("2025-02-03", "s")}
_FIELD_DAYS = 56

# ------------------------------------------------------------------------------------------
# Names

_VILLAGE_PREFIXES = (
    "Suka", "Mekar", "Sido", "Tani", "Karang", "Wono", "Sumber", "Tegal", "Harja", "Jati",
    "Banyu", "Cipta", "Giri", "Mulya", "Rejo", "Sari",
)  # fmt: skip
_VILLAGE_SUFFIXES = (
    "maju", "jaya", "makmur", "rejo", "mulyo", "sari", "asih", "harjo", "agung", "wangi",
    "mukti", "rahayu", "tani", "asri", "mekar", "luhur", "kerto", "dadi", "karya", "indah",
)  # fmt: skip
_KEC_PREFIXES = ("Kali", "Tanjung", "Pager", "Ci", "Batu", "Gunung", "Sungai", "Pasir", "Bukit", "Muara")
_KEC_SUFFIXES = ("wangi", "sari", "anyar", "jaya", "mas", "kidul", "lor", "tengah", "baru", "raya")
_MALE = (
    "Budi", "Agus", "Slamet", "Joko", "Bambang", "Dedi", "Hendra", "Rudi", "Eko", "Wahyu",
    "Andi", "Yusuf", "Asep", "Ahmad", "Supriyadi", "Darto", "Made", "Rizki", "Iwan", "Teguh",
)  # fmt: skip
_FEMALE = (
    "Siti", "Sri", "Dewi", "Ani", "Wati", "Yuni", "Rina", "Nur", "Lestari", "Fitri",
    "Kartini", "Endang", "Tuti", "Sumarni", "Ratna", "Indah", "Ayu", "Nining", "Wulan", "Aminah",
)  # fmt: skip
_FAMILY_NAMES = (
    "Rahayu", "Santoso", "Wijaya", "Susanto", "Hidayat", "Saputra", "Purnomo", "Setiawan",
    "Kurniawan", "Nugroho", "Hartono", "Sulastri", "Handayani", "Pratama", "Maulana",
    "Siregar", "Harahap", "Wulandari", "Suryani", "Gunawan",
)  # fmt: skip
_OPERATORS = ("11", "12", "13", "21", "22", "23", "52", "53", "57", "58", "77", "78", "81",
              "82", "83", "95", "96", "98")  # fmt: skip

# ------------------------------------------------------------------------------------------
# Vectorized string helpers (object arrays of str)


@cache
def _pad_table(width: int) -> Array:
    """Zero-padded strings of 0 .. 10**width - 1."""
    return np.array([f"{i:0{width}d}" for i in range(10**width)], dtype=object)


@cache
def _hex_table() -> Array:
    return np.array([f"{i:04x}" for i in range(1 << 16)], dtype=object)


def _cat(*parts: Any) -> Array:
    """Concatenate object arrays of str and str scalars element-wise.

    One ``str.join`` per element (run by ``map`` in C) builds each result once, where chained
    ``+`` would build every intermediate string.
    """
    n = max(len(p) for p in parts if not isinstance(p, str))
    columns = [repeat(p, n) if isinstance(p, str) else np.asarray(p).tolist() for p in parts]
    out = np.empty(n, dtype=object)
    out[:] = list(map("".join, zip(*columns, strict=True)))
    return out


def _digits(values: Array, width: int) -> Array:
    """Non-negative integers as zero-padded strings of ``width`` digits."""
    values = np.asarray(values, dtype=np.int64)
    pieces = []
    while width > 0:
        w = min(3, width)
        pieces.append(_pad_table(w)[values % 10**w])
        values = values // 10**w
        width -= w
    return _cat(*reversed(pieces))


def _str(values: Array) -> Array:
    """Integers as plain decimal strings."""
    return np.array(list(map(str, np.asarray(values, dtype=np.int64).tolist())), dtype=object)


def _lookup(table: tuple[str, ...] | list[str], index: Array) -> Array:
    return np.asarray(table, dtype=object)[np.asarray(index, dtype=np.int64)]


def _fixed(values: Array, decimals: int) -> Array:
    """Floats with a fixed number of decimals (C locale), formatted without a per-value call."""
    scaled = np.rint(np.abs(values) * 10**decimals).astype(np.int64)
    sign = np.where(values < 0, "-", "").astype(object)
    return _cat(sign, _str(scaled // 10**decimals), ".", _digits(scaled % 10**decimals, decimals))


def _grouped_id(values: Array) -> Array:
    """Non-negative integers grouped the Indonesian way: ``1.500.000``."""
    values = np.asarray(values, dtype=np.int64)
    out = _str(values)
    for groups in (2, 3, 4):
        sel = values >= 1000 ** (groups - 1)
        if not sel.any():
            break
        v = values[sel]
        parts: list[Any] = [_str(v // 1000 ** (groups - 1))]
        for j in range(groups - 2, -1, -1):
            parts += [".", _pad_table(3)[(v // 1000**j) % 1000]]
        out[sel] = _cat(*parts)
    return out


def _uuids(rng: np.random.Generator, n: int) -> Array:
    """Random version-4 UUID strings from the generator (not from the operating system)."""
    words = rng.integers(0, 1 << 16, size=(8, n))
    words[3] = 0x4000 | (words[3] & 0x0FFF)
    words[4] = 0x8000 | (words[4] & 0x3FFF)
    h = _hex_table()
    return _cat(h[words[0]], h[words[1]], "-", h[words[2]], "-", h[words[3]], "-", h[words[4]],
                "-", h[words[5]], h[words[6]], h[words[7]])  # fmt: skip


def _expit(x: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-x))


@cache
def _int_table() -> Array:
    """``str(i)`` for small non-negative integers (sizes, counts, scores)."""
    return np.array([str(i) for i in range(1000)], dtype=object)


def _small(values: Array) -> Array:
    return _int_table()[np.asarray(values, dtype=np.int64)]


@cache
def _roman(count: int) -> tuple[str, ...]:
    """Suffixes that tell apart villages sharing a name: "", " II", " III", ..."""
    numerals = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
    out = [""]
    for k in range(2, count + 1):
        text, rest = "", k
        for value, numeral in numerals:
            text, rest = text + numeral * (rest // value), rest % value
        out.append(" " + text)
    return tuple(out)


def _round_money(x: Array) -> Array:
    """Amounts as enumerators record them: to Rp 1,000 below Rp 100,000, else to Rp 10,000.

    Multiples of Rp 10,000 above a million can always be written ``1,25 juta``, and multiples
    of Rp 1,000 below it ``250rb``, so every text form of an amount is exact.
    """
    x = np.minimum(x, 95_000_000.0)
    step = np.where(x < 100_000, 1_000, 10_000)
    return (np.rint(x / step) * step).astype(np.int64)


def _n_faults(name: str, rows: int) -> int:
    return max(1, round(_RATE[name] * rows))


# ------------------------------------------------------------------------------------------
# Villages


class _Villages(NamedTuple):
    code: Array
    name: Array
    kecamatan: Array
    kec: Array
    treat: Array
    lat: Array
    lon: Array
    alt: Array
    day: dict[str, Array]


def _make_villages(rng: np.random.Generator, n: int) -> _Villages:
    # About 25 villages per kecamatan (at least 3 kecamatan, 2 villages each): the village
    # code is kecamatan (2 digits) + village within it (2 digits), so "0101" keeps its zero.
    k = max(1, min(max(3, -(-n // 25)), n // 2, 99))
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    if sizes.max() > 99:
        raise ValueError(f"villages={n}: at most 9801 villages fit a 4-digit village code")
    starts = np.cumsum(sizes) - sizes
    kec = np.repeat(np.arange(k), sizes)
    within = np.arange(n) - starts[kec]
    code = _cat(_digits(kec + 1, 2), _digits(within + 1, 2))

    combos = [p + s for p in _VILLAGE_PREFIXES for s in _VILLAGE_SUFFIXES if p.lower() != s]
    names = np.asarray(combos, dtype=object)[rng.permutation(len(combos))]
    idx = np.arange(n)
    name = _cat(names[idx % len(names)], _lookup(_roman(n // len(names) + 1), idx // len(names)))
    kec_combos = [p + s for p in _KEC_PREFIXES for s in _KEC_SUFFIXES]
    kec_names = np.asarray(kec_combos, dtype=object)[rng.permutation(len(kec_combos))[:k]]

    # Randomized within kecamatan: half of each, and when a kecamatan has an odd number of
    # villages the spare one goes to the programme in half of those kecamatan (chosen at
    # random), so the whole study is exactly half treated when the number of villages is even.
    quota = sizes // 2
    odd = np.flatnonzero(sizes % 2 == 1)
    quota[rng.permutation(odd)[: len(odd) // 2]] += 1
    order = np.lexsort((rng.random(n), kec))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[kec[order]]
    treat = (rank < quota[kec]).astype(np.int64)

    lat = rng.uniform(-7.35, -6.85, n)
    lon = rng.uniform(107.9, 108.5, n)
    alt = rng.uniform(60.0, 700.0, n)
    day = {r: rng.integers(0, _FIELD_DAYS, n) for r in ("baseline", "followup")}
    return _Villages(code, name, kec_names[kec], kec, treat, lat, lon, alt, day)


# ------------------------------------------------------------------------------------------
# Households and their latent outcomes


class _Person(NamedTuple):
    name: Array
    female: Array
    phone: Array
    nik: Array


def _people(rng: np.random.Generator, n: int, kec: Array) -> _Person:
    """Synthetic respondents: names, phones and NIKs that belong to no one."""
    female = rng.random(n) < 0.45
    first = rng.integers(0, len(_MALE), n)
    name = _cat(
        np.where(female, _lookup(_FEMALE, first), _lookup(_MALE, first)),
        " ",
        _lookup(_FAMILY_NAMES, rng.integers(0, len(_FAMILY_NAMES), n)),
    )
    phone = _cat("08", _lookup(_OPERATORS, rng.integers(0, len(_OPERATORS), n)),
                 _digits(rng.integers(0, 10**8, n), 8))  # fmt: skip
    # NIK: province, regency, district, DDMMYY of birth (day + 40 for women), 4-digit serial.
    # Most were issued here (West Java, 32); a few respondents moved from Papua (94), whose
    # NIKs exceed 2**53, where a float64 no longer holds every integer (docs/bad-inputs.md case 17).
    papua = rng.random(n) < 0.04
    province = np.where(papua, 94, 32)
    regency = np.where(papua, rng.integers(1, 30, n), 5)
    district = np.where(papua, rng.integers(1, 40, n), kec % 99 + 1)
    day = rng.integers(1, 29, n) + 40 * female
    month = rng.integers(1, 13, n)
    year = rng.integers(1955, 2006, n) % 100
    serial = rng.integers(1, 3000, n)
    nik = (
        province * 10**14
        + regency * 10**12
        + district * 10**10
        + day * 10**8
        + month * 10**6
        + year * 10**4
        + serial
    )
    return _Person(name, female, phone, _digits(nik, 16))


def _scaled(multiplier: float, effect_scale: float) -> float:
    """An income-effect multiplier with its effect scaled; exactly ``multiplier`` at scale 1."""
    return multiplier if effect_scale == 1.0 else 1.0 + (multiplier - 1.0) * effect_scale


def _index_truth(
    baseline: Mapping[str, Array],
    comparison: Array,
    truth: Mapping[str, float],
    outcomes: list[tuple[str, str, int]],
) -> dict[str, float]:
    """True effects on the family indices, with the estimator's conventions.

    Components are the family's outcomes measured at baseline, oriented by direction, except
    ``participation_score`` (the sum of the ladder rungs, which the estimator leaves out as an
    exact linear combination of the others). Each is standardized on the baseline comparison
    households (mean, n - 1 SD) of the latent data, so the KLK effect is the mean of
    ``direction * truth / SD``. For ICW the weights are ``Sigma^-1 1`` with Sigma the covariance
    of the standardized components over all baseline households, and the index is rescaled by
    its SD among baseline comparison households.
    """
    out: dict[str, float] = {}
    for family in dict.fromkeys(f for _, f, _ in outcomes):
        parts = [
            (name, d)
            for name, f, d in outcomes
            if f == family and name in baseline and name != "participation_score"
        ]
        if len(parts) < 2:
            continue
        y = np.column_stack([d * np.asarray(baseline[name], dtype=float) for name, d in parts])
        sd = y[comparison].std(axis=0, ddof=1)
        z = (y - y[comparison].mean(axis=0)) / sd
        effect = np.array([d * truth[name] for name, d in parts]) / sd
        out[f"index_klk_{family}"] = float(effect.mean())
        weights = np.linalg.solve(np.cov(z, rowvar=False, ddof=1), np.ones(len(parts)))
        spread = (z @ weights / weights.sum())[comparison].std(ddof=1)
        out[f"index_icw_{family}"] = float(effect @ weights / weights.sum() / spread)
    return out


class _World(NamedTuple):
    """The latent households of both rounds and what the exports are built from."""

    hhid: Array
    vix: Array
    treat: Array
    n_baseline: int
    at_followup: Array  # bool: interviewed at follow-up (stayers and new households)
    values: dict[str, dict[str, Array]]  # round -> harmonized name -> realized values
    people: dict[str, _Person]
    gps: dict[str, dict[str, Array]]
    truth: dict[str, float]
    refusal_baseline: tuple[Array, Array]  # hhid, village index
    refusal_followup: Array  # indices (into the world) of attrited households that refused
    attrited: int


def _make_world(
    rng: np.random.Generator, vil: _Villages, households: int, *, effect_scale: float = 1.0
) -> _World:
    n_vil = len(vil.code)
    n_base = n_vil * households
    n_new = max(1, round(_NEW * n_base))
    n_attr = max(1, round(_ATTRITION * n_base))
    n_ref = {r: _n_faults("no_consent", n_base) for r in ("baseline", "followup")}

    # Ids: village code + 3 digits. Baseline households are 001..H in each village; the
    # baseline refusals and then the new households of the follow-up get the next numbers.
    vix_base = np.repeat(np.arange(n_vil), households)
    num_base = np.tile(np.arange(1, households + 1), n_vil)
    extra_vix = rng.integers(0, n_vil, n_ref["baseline"] + n_new)
    order = np.lexsort((np.arange(len(extra_vix)), extra_vix))
    sorted_vix = extra_vix[order]
    extra_num = np.empty(len(extra_vix), dtype=np.int64)
    extra_num[order] = households + 1 + np.arange(len(sorted_vix)) - np.searchsorted(sorted_vix, sorted_vix)
    if extra_num.max() > 999:
        raise ValueError(f"households={households}: too many for a 3-digit household number")
    ref_vix, new_vix = extra_vix[: n_ref["baseline"]], extra_vix[n_ref["baseline"] :]
    ref_num, new_num = extra_num[: n_ref["baseline"]], extra_num[n_ref["baseline"] :]
    vix = np.concatenate([vix_base, new_vix])
    hhid = _cat(vil.code[vix], _digits(np.concatenate([num_base, new_num]), 3))
    n = len(vix)
    treat = vil.treat[vix]

    # Attrition is random (not differential by arm): a simple random sample of baseline
    # households is not found again.
    gone = rng.permutation(n_base)[:n_attr]
    at_followup = np.ones(n, dtype=bool)
    at_followup[gone] = False
    refusal_followup = np.sort(gone[: min(n_ref["followup"], n_attr)])

    # Household roster: size, children (< 14) and adults; by 2025 some gain or lose a member.
    size0 = np.minimum(1 + rng.poisson(2.8, n), 12)
    children0 = rng.binomial(size0 - 1, 0.35)
    change = rng.choice(np.array([-1, 0, 1]), size=n, p=[0.08, 0.84, 0.08])
    size1 = np.maximum(size0 + change, 1)
    children1 = np.clip(children0 + (change > 0), 0, size1 - 1)
    size = {"baseline": size0, "followup": size1}
    children = {"baseline": children0, "followup": children1}
    school_age = {r: rng.binomial(children[r], 0.55) for r in size}

    # Respondents: four in five follow-up interviews are with the baseline respondent.
    p0 = _people(rng, n, vil.kec[vix])
    fresh = _people(rng, n, vil.kec[vix])
    same = rng.random(n) < 0.8
    p1 = _Person(*(np.where(same, a, b) for a, b in zip(p0, fresh, strict=True)))

    # GPS: the house does not move; each visit measures it with a little error.
    home_lat = vil.lat[vix] + rng.normal(0.0, 0.004, n)
    home_lon = vil.lon[vix] + rng.normal(0.0, 0.004, n)
    gps: dict[str, dict[str, Array]] = {}
    for r in size:
        lat = _fixed(home_lat + rng.normal(0.0, 5e-5, n), 6)
        lon = _fixed(home_lon + rng.normal(0.0, 5e-5, n), 6)
        alt = _fixed(vil.alt[vix] + rng.normal(0.0, 4.0, n), 1)
        acc = _fixed(rng.uniform(3.0, 20.0, n), 1)
        gps[r] = {"gps_latitude": lat, "gps_longitude": lon, "gps_altitude": alt,
                  "gps_precision": acc, "gps": _cat(lat, " ", lon, " ", alt, " ", acc)}  # fmt: skip

    # ---- latent indices of every item (see _ITEMS) -----------------------------------
    names = [it.name for it in _ITEMS]
    col = {name: j for j, name in enumerate(names)}
    fam = np.array([_FAMILIES.index(it.family) for it in _ITEMS])
    scale = np.array([_SCALE["log" if it.kind == "count" else "logit"] for it in _ITEMS])
    alpha = np.array([it.alpha for it in _ITEMS])
    trend = np.array([it.trend for it in _ITEMS])
    tau = np.array([it.tau for it in _ITEMS]) * effect_scale
    village_part = 0.6 * rng.standard_normal((n_vil, 6))[:, fam] + 0.8 * rng.standard_normal(
        (n_vil, len(names))
    )
    household_part = 0.6 * rng.standard_normal((n, 6))[:, fam] + 0.8 * rng.standard_normal((n, len(names)))
    base = alpha + scale[:, 0] * village_part[vix] + scale[:, 1] * household_part
    eta0 = base + scale[:, 2] * rng.standard_normal(base.shape)
    eta1 = base + trend + scale[:, 2] * rng.standard_normal(base.shape)
    del base, village_part, household_part
    # Realized index: the programme acts in programme villages at the follow-up only.
    eta = {"baseline": eta0, "followup": eta1 + tau * treat[:, None]}

    values: dict[str, dict[str, Array]] = {r: {} for r in size}
    debt_amount: dict[str, Array] = {}
    for r, e in eta.items():
        u = rng.random(e.shape)
        out = values[r]
        for j, it in enumerate(_ITEMS):
            if it.kind == "binary":
                out[it.name] = (u[:, j] < _expit(e[:, j])).astype(np.int64)
            elif it.kind == "likert":
                logistic = np.log(u[:, j] / (1.0 - u[:, j]))
                out[it.name] = 1 + (e[:, j, None] + logistic[:, None] > _LIKERT_CUTS).sum(axis=1)
            elif it.kind == "count":
                out[it.name] = rng.poisson(np.minimum(np.exp(e[:, j]), 10.0))
            else:  # school: children of school age attending
                out[it.name] = rng.binomial(school_age[r], _expit(e[:, j]))
        out["employees"] = out["employees"] * out["owns_umkm"]
        debt_amount[r] = np.maximum(_round_money(np.exp(rng.normal(log(3_000_000), 0.9, n))), 100_000)
        out["debt"] = debt_amount[r] * out.pop("has_debt")
        out["household_size"] = size[r]
        out["children"] = children[r]
        out["adults"] = size[r] - children[r]
    values["baseline"].pop("programme_participation")

    # ---- income ----------------------------------------------------------------------
    sd_v, sd_h, sd_r = _INCOME_SD
    level = _INCOME_MU + sd_v * rng.standard_normal(n_vil)[vix] + sd_h * rng.standard_normal(n)
    # Wages, farming and transfers are stable sources; remittances and other income come and
    # go; business profit exists when the household owns an UMKM in that round.
    steady = {
        k: rng.random(n) < _SOURCES[k].present for k in ("income_wage", "income_farm", "income_transfer")
    }
    transfer = _TRANSFER_AMOUNTS[rng.integers(0, len(_TRANSFER_AMOUNTS), n)]
    amount: dict[str, Array] = {}
    present: dict[str, Array] = {}
    for t, r in enumerate(size):
        x = np.exp(level + t * _INCOME_TREND + sd_r * rng.standard_normal(n) + 0.2 * np.log(size[r]))
        amount = {k: x * s.share * rng.gamma(4.0, 0.25, n) for k, s in _SOURCES.items()}
        present = {
            **steady,
            "income_business": values[r]["owns_umkm"].astype(bool),
            "income_remittance": rng.random(n) < _SOURCES["income_remittance"].present,
            "income_other": rng.random(n) < _SOURCES["income_other"].present,
        }
        for k, s in _SOURCES.items():
            if k == "income_transfer":
                realized = transfer  # fixed programme amounts (PKH, BLT), no effect
            elif r == "followup":
                realized = _round_money(
                    amount[k] * np.where(treat == 1, _scaled(s.effect, effect_scale), 1.0)
                )
            else:
                realized = _round_money(amount[k])
            values[r][k] = np.where(present[k], realized, 0).astype(np.int64)
    # `amount` and `present` now hold the follow-up round.

    # ---- the truth: average over follow-up households of E[Y(1)] - E[Y(0)] -----------
    f = at_followup
    e1 = eta1[f]
    p_on = _expit(e1 + tau)
    p_off = _expit(e1)
    diffs: dict[str, Array] = {}
    for j, it in enumerate(_ITEMS):
        if it.kind == "binary":
            diffs[it.name] = p_on[:, j] - p_off[:, j]
        elif it.kind == "likert":
            cut = e1[:, j, None] - _LIKERT_CUTS
            diffs[it.name] = (_expit(cut + tau[j]) - _expit(cut)).sum(axis=1)
        elif it.kind == "count":
            diffs[it.name] = np.minimum(np.exp(e1[:, j] + tau[j]), 10.0) - np.minimum(np.exp(e1[:, j]), 10.0)
        else:
            diffs[it.name] = school_age["followup"][f] * (p_on[:, j] - p_off[:, j])
    own = col["owns_umkm"]
    # Employees and business profit exist only with a business: both move with ownership.
    diffs["employees"] = (p_on[:, own] - p_off[:, own]) * np.minimum(np.exp(e1[:, col["employees"]]), 10.0)
    diffs["debt"] = diffs.pop("has_debt") * debt_amount["followup"][f]
    diffs["participation_score"] = reduce(add, (diffs[k] for k in LADDER))
    gain = np.zeros(int(f.sum()))
    for k in ("income_wage", "income_farm", "income_remittance", "income_other"):
        a = amount[k][f]
        gain += present[k][f] * (
            _round_money(a * _scaled(_SOURCES[k].effect, effect_scale)) - _round_money(a)
        )
    a = amount["income_business"][f]
    gain += p_on[:, own] * _round_money(a * _scaled(_SOURCES["income_business"].effect, effect_scale))
    gain -= p_off[:, own] * _round_money(a)
    diffs["income_total"] = gain
    diffs["income_pc"] = gain / size1[f]
    truth = {k: float(np.mean(v)) for k, v in diffs.items()}

    people = {"baseline": p0, "followup": p1}
    return _World(
        hhid=hhid,
        vix=vix,
        treat=treat,
        n_baseline=n_base,
        at_followup=at_followup,
        values=values,
        people=people,
        gps=gps,
        truth=truth,
        refusal_baseline=(_cat(vil.code[ref_vix], _digits(ref_num, 3)), ref_vix),
        refusal_followup=refusal_followup,
        attrited=n_attr,
    )


# ------------------------------------------------------------------------------------------
# The exports


def _money_text(rng: np.random.Generator, v: Array) -> Array:
    """Write amounts the ways enumerators type them; every form parses back to ``v`` exactly."""
    n = len(v)
    form = rng.choice(6, size=n, p=[0.25, 0.1, 0.2, 0.2, 0.05, 0.2])
    unit = rng.integers(0, 4, n)
    grouped = _grouped_id(v)
    # "1,25 juta": the fraction of a million in hundredths, trailing zeros dropped.
    cents = (v % 1_000_000) // 10_000
    hundredths = [f"{i:02d}".rstrip("0") for i in range(100)]
    fraction = np.where(cents > 0, _cat(",", _lookup(hundredths, cents)), "")
    juta = _cat(_str(v // 1_000_000), fraction)
    candidates = [
        _cat("Rp ", grouped),  # Rp 1.500.000
        _cat("Rp", grouped),  # Rp1.500.000
        grouped,  # 150.000 (dots are thousands in Indonesian)
        _cat(juta, _lookup((" juta", "juta", " jt", "jt"), unit)),  # 1,5 juta / 2 jt
        _cat("Rp", juta, "jt"),  # Rp1,5jt
        _cat(_str(v // 1000), _lookup(("rb", " rb", "ribu", " ribu"), unit)),  # 500rb
    ]
    is_juta = (v >= 1_000_000) & (v % 10_000 == 0)
    ok = [v >= 0, v >= 0, v >= 1000, is_juta, is_juta, (v >= 1000) & (v < 1_000_000) & (v % 1000 == 0)]
    form = np.where(np.choose(form, ok), form, 0)
    return np.choose(form, candidates)


def _export_round(
    rng: np.random.Generator,
    round_name: str,
    cols: dict[str, Array],
    money: Array,
    time: Array,
    *,
    protected: Array,
    refusals: tuple[Array, Array, Array],
    conflicts: bool,
    out_of_range: tuple[str, str],
) -> tuple[pd.DataFrame, RoundFaults]:
    """Inject the faults into one round's genuine rows and lay the rows out as Kobo does.

    ``cols`` maps harmonized names to text for the genuine rows, ``money`` holds their
    amounts (one column per money variable, in the order of ``_MONEY_ITEMS``), ``time`` their
    submission times (seconds after the start of fieldwork), ``protected`` marks rows that
    must keep their own fault only (new households), ``refusals`` gives the id, village code
    and time of the no-consent rows.
    """
    n = len(time)
    counts = {k: _n_faults(k, n) for k in _RATE}
    if not conflicts:
        counts["conflicting_duplicate"] = 0
    candidates = rng.permutation(np.flatnonzero(~protected))

    # Ambiguous numbers need an amount below a million ("750,000"); pick rows that have one.
    small = (money >= 1000) & (money < 1_000_000)
    amb_rows = candidates[small[candidates].any(axis=1)][: counts["ambiguous_number"]]
    candidates = candidates[~np.isin(candidates, amb_rows)]
    blocks: dict[str, Array] = {"ambiguous_number": amb_rows}
    start = 0
    for key in ("out_of_range", "conflicting_duplicate", "exact_duplicate", "id_whitespace",
                "missing_code", "category_variant"):  # fmt: skip
        blocks[key] = candidates[start : start + counts[key]]
        start += counts[key]
    if start > len(candidates) or len(amb_rows) < counts["ambiguous_number"]:
        raise ValueError("the sample is too small to hold every injected fault; use more households")
    faulty = np.zeros(n, dtype=bool)
    for rows in blocks.values():
        faulty[rows] = True

    # Money typed as text: a share of the non-zero amounts in rows without another fault.
    text_cells = (money > 0) & ~faulty[:, None] & (rng.random(money.shape) < _MONEY_TEXT_SHARE)
    money_text = 0
    for jj, k in enumerate(_MONEY_ITEMS):
        rows = np.flatnonzero(text_cells[:, jj])
        cols[k][rows] = _money_text(rng, money[rows, jj])
        money_text += len(rows)

    # One English-grouped amount per ambiguous row.
    j = np.argmax(rng.random((len(amb_rows), len(_MONEY_ITEMS))) * small[amb_rows], axis=1)
    v = money[amb_rows, j]
    for jj, k in enumerate(_MONEY_ITEMS):
        hit = j == jj
        cols[k][amb_rows[hit]] = _cat(_str(v[hit] // 1000), ",", _pad_table(3)[v[hit] % 1000])

    # Special missing codes in income and Likert items.
    rows = blocks["missing_code"]
    targets = INCOME_COMPONENTS + _LIKERT_ITEMS
    j = rng.integers(0, len(targets), len(rows))
    code = _lookup(("-99", "-98", "tidak tahu"), rng.integers(0, 3, len(rows)))
    for jj, k in enumerate(targets):
        cols[k][rows[j == jj]] = code[j == jj]

    # Case and whitespace variants of yes/no answers.
    rows = blocks["category_variant"]
    items = [k for k in _YES_NO_ITEMS if k in cols]
    j = rng.integers(0, len(items), len(rows))
    pick = rng.integers(0, 4, len(rows))
    for jj, k in enumerate(items):
        r = rows[j == jj]
        yes = cols[k][r] == "ya"
        cols[k][r] = np.where(
            yes,
            _lookup(("Ya", "YA", "ya ", "Ya\u00a0"), pick[j == jj]),
            _lookup(("Tidak", "TIDAK", "tidak ", " Tidak"), pick[j == jj]),
        )

    # Ids with a leading space or a trailing no-break space (copied from a spreadsheet).
    rows = blocks["id_whitespace"]
    lead = rng.random(len(rows)) < 0.5
    cols["hhid"][rows] = np.where(lead, _cat(" ", cols["hhid"][rows]), _cat(cols["hhid"][rows], "\u00a0"))

    name, bad = out_of_range
    cols[name][blocks["out_of_range"]] = bad

    # A second submission for the same household, with other answers (a re-interview).
    rows = blocks["conflicting_duplicate"]
    second = {k: v[rows].copy() for k, v in cols.items()}
    factor = rng.uniform(0.6, 0.8, (len(rows), len(INCOME_COMPONENTS)))
    factor = np.where(rng.random(factor.shape) < 0.5, factor, 2.0 - factor)
    for jj, k in enumerate(INCOME_COMPONENTS):
        second[k] = _str(_round_money(money[rows, _MONEY_ITEMS.index(k)] * factor[:, jj]))
    trust = np.asarray(second["trust_village_gov"], dtype=object)
    second["trust_village_gov"] = _small(trust.astype(np.int64) % 5 + 1)  # always a different score
    second_time = time[rows] + rng.integers(86_400, 3 * 86_400, len(rows))

    # Refusals: consent "tidak" and nothing else answered.
    ref_id, ref_village, ref_time = refusals
    n_ref = len(ref_id)
    refusal = {k: np.full(n_ref, "", dtype=object) for k in cols}
    refusal.update(consent=np.full(n_ref, "tidak", dtype=object), hhid=ref_id, village=ref_village)

    parts = (cols, second, refusal)
    table = {k: np.concatenate([p[k] for p in parts]) for k in cols}
    seconds = np.concatenate([time, second_time, ref_time])
    table["submission_id"] = _uuids(rng, len(seconds))
    order = np.argsort(seconds, kind="stable")
    table = {k: v[order] for k, v in table.items()}
    stamp = _FIELDWORK[round_name] + seconds[order].astype("timedelta64[s]")
    table["submission_time"] = np.datetime_as_string(stamp, unit="s").astype(object)
    table["kobo_index"] = _str(np.arange(1, len(order) + 1))

    # Overlapping downloads: whole submissions repeated at the end of the file.
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    copies = np.sort(position[blocks["exact_duplicate"]])
    table = {k: np.concatenate([v, v[copies]]) for k, v in table.items()}

    source = f"source_{round_name}"
    frame = pd.DataFrame(
        {getattr(var, source): table[var.name] for var in _VARS if getattr(var, source)},
        dtype=object,
    )
    faults = RoundFaults(
        rows=len(frame),
        households=n,
        money_text=money_text,
        ambiguous_number=len(amb_rows),
        missing_code=len(blocks["missing_code"]),
        category_variant=len(blocks["category_variant"]),
        id_whitespace=len(blocks["id_whitespace"]),
        exact_duplicate=len(copies),
        conflicting_duplicate=len(blocks["conflicting_duplicate"]),
        no_consent=n_ref,
        out_of_range=len(blocks["out_of_range"]),
        not_in_baseline=int(protected.sum()),
    )
    return frame, faults


def _round_columns(
    world: _World, vil: _Villages, round_name: str, rows: Array
) -> tuple[dict[str, Array], Array]:
    """The genuine rows of one round as text keyed by harmonized name, and their amounts."""
    values = world.values[round_name]
    person = world.people[round_name]
    yes_no = np.array(["tidak", "ya"], dtype=object)
    cols: dict[str, Array] = {
        "consent": np.full(len(rows), "ya", dtype=object),
        "hhid": world.hhid[rows],
        "village": vil.code[world.vix[rows]],
        "respondent_name": person.name[rows],
        "respondent_sex": np.where(person.female[rows], "perempuan", "laki-laki").astype(object),
        "phone": person.phone[rows],
        "nik": person.nik[rows],
    }
    for name, v in values.items():
        if name in _YES_NO_ITEMS:
            cols[name] = yes_no[v[rows]]
        elif name in _MONEY_ITEMS:
            cols[name] = _str(v[rows])
        else:
            cols[name] = _small(v[rows])
    for name, v in world.gps[round_name].items():
        cols[name] = v[rows]
    return cols, np.column_stack([values[k][rows] for k in _MONEY_ITEMS])


def _interview_times(rng: np.random.Generator, day: Array) -> Array:
    """Seconds after the start of fieldwork: the village's day, 07:00-17:00 WIB."""
    return day * 86_400 + rng.integers(0, 10 * 3600, len(day))


def generate_demo(
    *, villages: int = 30, households: int = 40, seed: int = DEFAULT_SEED, effect_scale: float = 1.0
) -> DemoSurvey:
    """Generate the demo survey in memory.

    Parameters
    ----------
    villages
        Number of villages (at least 2, at most 9801); half are in the programme,
        randomized within kecamatan.
    households
        Households per village at baseline (10 to 900).
    seed
        Seed of the one ``numpy.random.default_rng`` everything is drawn from.
    effect_scale
        Multiplies every programme effect (1 is the documented programme; 0 a programme with
        no effect at all, for checking the size of tests). The villages, their arms and the
        latent household indices come from the seed alone; realized outcomes, and the draws
        after them, depend on the scale too. Scale 1 reproduces the documented demo exactly.

    Returns
    -------
    DemoSurvey
        The tables and texts; :meth:`DemoSurvey.files` renders them as bytes.

    Raises
    ------
    ValueError
        If ``villages`` or ``households`` is out of range.

    Examples
    --------
    >>> demo = generate_demo(villages=4, households=10, seed=1)
    >>> int(demo.villages["treat"].sum())
    2
    """
    if not 2 <= villages <= 9801:
        raise ValueError(f"villages={villages}: expecting 2 to 9801")
    if not 10 <= households <= 900:
        raise ValueError(f"households={households}: expecting 10 to 900")
    rng = np.random.default_rng(seed)
    vil = _make_villages(rng, villages)
    world = _make_world(rng, vil, households, effect_scale=effect_scale)

    base_rows = np.arange(world.n_baseline)
    ref_id, ref_vix = world.refusal_baseline
    baseline, base_faults = _export_round(
        rng,
        "baseline",
        *_round_columns(world, vil, "baseline", base_rows),
        _interview_times(rng, vil.day["baseline"][world.vix[base_rows]]),
        protected=np.zeros(len(base_rows), dtype=bool),
        refusals=(ref_id, vil.code[ref_vix], _interview_times(rng, vil.day["baseline"][ref_vix])),
        conflicts=True,
        out_of_range=("trust_village_gov", "9"),
    )
    follow_rows = np.flatnonzero(world.at_followup)
    ref = world.refusal_followup
    followup, follow_faults = _export_round(
        rng,
        "followup",
        *_round_columns(world, vil, "followup", follow_rows),
        _interview_times(rng, vil.day["followup"][world.vix[follow_rows]]),
        protected=follow_rows >= world.n_baseline,
        refusals=(
            world.hhid[ref],
            vil.code[world.vix[ref]],
            _interview_times(rng, vil.day["followup"][world.vix[ref]]),
        ),
        conflicts=False,
        out_of_range=("household_size", "0"),
    )

    village_frame = pd.DataFrame(
        {
            "village": vil.code,
            "village_name": vil.name,
            "kecamatan": vil.kecamatan,
            "treat": vil.treat,
        }
    )
    outcomes = _outcomes()
    truth = {name: world.truth[name] for name, _, _ in outcomes}
    truth["income_total"] = world.truth["income_total"]
    interviewed = slice(0, world.n_baseline)  # the baseline households (new ones come after)
    truth |= _index_truth(
        {k: v[interviewed] for k, v in world.values["baseline"].items()},
        world.treat[interviewed] == 0,
        truth,
        outcomes,
    )
    survey_faults = (base_faults, follow_faults)
    return DemoSurvey(
        seed=seed,
        households_per_village=households,
        villages=village_frame,
        baseline=baseline,
        followup=followup,
        codebook=_codebook_frame(),
        study_yml=_study_yml(outcomes),
        truth=MappingProxyType(dict(sorted(truth.items()))),
        readme=_readme(
            seed=seed,
            villages=villages,
            households=households,
            kecamatan=len(np.unique(vil.kec)),
            attrited=world.attrited,
            faults=survey_faults,
        ),
        baseline_faults=base_faults,
        followup_faults=follow_faults,
        attrited=world.attrited,
    )


def write_files(out_dir: Path, files: Mapping[str, bytes]) -> tuple[Path, ...]:
    """Write a demo's files into ``out_dir`` (created), each beside its target and then renamed.

    A reader never sees half a file. Returns the paths written, in the order given.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = out_dir / name
        partial = path.with_name(f".{name}.partial")
        partial.write_bytes(content)
        partial.replace(path)
        written.append(path)
    return tuple(written)


def write_demo(
    out_dir: Path,
    *,
    villages: int = 30,
    households: int = 40,
    seed: int = DEFAULT_SEED,
    effect_scale: float = 1.0,
) -> DemoManifest:
    """Generate the demo survey and write its files into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into; created if needed. Files of the same name are replaced.
    villages, households, seed, effect_scale
        As in :func:`generate_demo`.

    Returns
    -------
    DemoManifest
        The files written and the counts of every injected fault.

    Raises
    ------
    ValueError
        If ``villages`` or ``households`` is out of range.
    """
    demo = generate_demo(villages=villages, households=households, seed=seed, effect_scale=effect_scale)
    out_dir = Path(out_dir)
    return DemoManifest(
        out_dir=out_dir,
        files=write_files(out_dir, demo.files()),
        seed=seed,
        villages=villages,
        households=households,
        kecamatan=int(demo.villages["kecamatan"].nunique()),
        treated_villages=int(demo.villages["treat"].sum()),
        attrited=demo.attrited,
        baseline=demo.baseline_faults,
        followup=demo.followup_faults,
    )


# ------------------------------------------------------------------------------------------
# Codebook, study file, README and the CSV writers


def _codebook_frame() -> pd.DataFrame:
    return pd.DataFrame([tuple(v) for v in _VARS], columns=list(_Var._fields), dtype=object)


def _outcomes() -> list[tuple[str, str, int]]:
    """(name, family, direction) of every outcome, in the order reports show them."""
    chosen = [("income_pc", "income", 1), ("participation_score", "participation", 1)]
    chosen += [("programme_participation", "participation", 1)]
    chosen += [(k, "participation", 1) for k in LADDER]
    for family in ("institutions", "business", "environment", "life", "community"):
        chosen += [(v.name, family, int(v.direction)) for v in _VARS if v.family == family]
    return chosen


def _study_yml(outcomes: list[tuple[str, str, int]]) -> str:
    lines = [
        'name: "Demo study: Kabupaten Sukamaju (fictional)"',
        "rounds:",
        f"  baseline: {{file: {BASELINE_FILE}, year: 2023, cpi: {CPI['baseline']}}}",
        f"  followup: {{file: {FOLLOWUP_FILE}, year: 2025, cpi: {CPI['followup']}}}",
        f"codebook: {CODEBOOK_FILE}",
        f"villages: {{file: {VILLAGES_FILE}, id: village, name: village_name, strata: kecamatan}}",
        "id: hhid",
        "treatment: treat",
        "village: village",
        "cluster: village",
        "language: id",
        "# A fixed, documented key so the demo's pseudonyms are the same on every machine.",
        "# Real studies keep their key outside the repository (BERDAYA_PSEUDONYM_KEY or",
        "# pseudonym_key_file); see docs/study-file.md.",
        "pseudonym_key: berdaya-demo-key-not-secret",
        "outcomes:   # one entry per outcome; `column` defaults to `name` "
        "(a codebook name or a constructed indicator)",
    ]
    for name, family, direction in outcomes:
        extra = ", direction: -1" if direction == -1 else ""
        lines.append(f"  - {{name: {name}, family: {family}{extra}}}")
    return "\n".join(lines) + "\n"


def _readme(
    *,
    seed: int,
    villages: int,
    households: int,
    kecamatan: int,
    attrited: int,
    faults: tuple[RoundFaults, RoundFaults],
) -> str:
    base, follow = faults
    rows = [
        ("Data rows in the export", base.rows, follow.rows),
        ("Consenting households interviewed", base.households, follow.households),
        ("Money typed as text (`Rp 1.500.000`, `1,5 juta`, `2 jt`, `500rb`, `150.000`)",
         base.money_text, follow.money_text),
        ("Ambiguous amount `750,000` → quarantined(ambiguous_number)", base.ambiguous_number,
         follow.ambiguous_number),
        ("Missing codes `-99`, `-98`, `tidak tahu` (cells)", base.missing_code, follow.missing_code),
        ("`Ya` / `YA` / `ya ` variants (cells)", base.category_variant, follow.category_variant),
        ("Id with a leading space or trailing no-break space", base.id_whitespace,
         follow.id_whitespace),
        ("Exact duplicate submission → excluded(duplicate_submission)", base.exact_duplicate,
         follow.exact_duplicate),
        ("Id submitted twice with different answers (ids; 2 rows each) → "
         "quarantined(duplicate_id_conflict)", base.conflicting_duplicate,
         follow.conflicting_duplicate),
        ("No consent → excluded(no_consent)", base.no_consent, follow.no_consent),
        ("Out-of-range value → quarantined(out_of_range)", base.out_of_range, follow.out_of_range),
        ("New household, not in baseline", base.not_in_baseline, follow.not_in_baseline),
    ]  # fmt: skip
    table = "\n".join(f"| {label} | {b} | {f} |" for label, b, f in rows)
    return f"""# Demo survey: Kabupaten Sukamaju (fictional)

Synthetic data for trying the workbench. Nothing in it is real: the villages, names, phone
numbers, NIKs and GPS points are generated and belong to no one.

Generated by `analysis.demo.survey.write_demo` with seed {seed}: {villages} villages in {kecamatan}
kecamatan, {households} households per village at baseline. The same seed and sizes give
byte-identical files; to regenerate them run

    berdaya demo-data --out DIR --villages {villages} --households {households} --seed {seed}

## The study

Half of the villages are in an empowerment programme (`treat` = 1 in `villages.csv`),
randomized within kecamatan. Households were interviewed at baseline (2023) and again at
follow-up (2025). The exports come from KoboToolbox: `;`-separated, every field quoted, columns
named by group. The follow-up form was revised, so many questions have new names (baseline
`hh/hhid`, follow-up `rt/id_rt`); `codebook.csv` maps both to one harmonized name. Money is
typed as enumerators type it. Personal data (name, phone, NIK, GPS) is in the exports on
purpose, so that de-identification can be tested.

Outcomes follow the six goals of empowerment (institutions, business, income, environment,
life, community) plus the participation ladder; `study.yml` lists them. The programme raises
income per person by about a tenth, each rung of the ladder by 5-15 percentage points and
programme participation from about 5 % to about 55 %; some indicators (clean water, feeling
safe, Posyandu visits, debt, conflict) are not affected at all. `truth.json` gives the true
average effect of every outcome at follow-up, computed from the generated potential outcomes
(for yes/no items, the average difference in probability), for checking estimators.

Attrition: {attrited} baseline households ({attrited / (villages * households):.1%}) have no
consenting follow-up interview; which ones was decided at random, the same way in both arms.

## Injected faults

| fault | baseline | follow-up |
|---|---:|---:|
{table}
"""


def _plain_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _kobo_csv(frame: pd.DataFrame) -> bytes:
    """Kobo's CSV layout: ``;`` between fields, every field in double quotes, UTF-8."""
    columns = [frame[c].to_numpy(dtype=object).tolist() for c in frame.columns]
    for j, cells in enumerate(columns):
        if '"' in "".join(cells):
            columns[j] = [c.replace('"', '""') for c in cells]
    header = '"' + '";"'.join(str(c).replace('"', '""') for c in frame.columns) + '"\n'
    body = '"' + '"\n"'.join(map('";"'.join, zip(*columns, strict=True))) + '"\n'
    return (header + body).encode("utf-8")
