"""Every heading, label and sentence of the reports, in Bahasa Indonesia and English.

Text is HTML-safe by construction: :class:`Safe` marks a string that is already HTML, and
:func:`render` escapes both the template and every value that is not :class:`Safe`. Numbers are
written by the formatters here, in the number style of the page's language (``Rp 812.000`` and
``0,03`` in Indonesian, ``Rp 812,000`` and ``0.03`` in English), so a report never contains a
number typed by hand, and a village name such as ``<script>`` can only ever reach a
page as text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable
from typing import Literal

from analysis.shared.text import html_text

Language = Literal["id", "en"]
LANGUAGES: tuple[Language, ...] = ("id", "en")
#: Each language named in itself: the link from a page to its other language.
LANGUAGE_NAMES: dict[str, str] = {"id": "Bahasa Indonesia", "en": "English"}

#: The six empowerment goals (domain brief), in the order reports show them, then the ladder.
GOALS: tuple[str, ...] = ("institutions", "business", "income", "environment", "life", "community")

FAMILY_LABELS: dict[str, dict[str, str]] = {
    "institutions": {"id": "Kelembagaan", "en": "Institutions"},
    "business": {"id": "Usaha", "en": "Business"},
    "income": {"id": "Pendapatan", "en": "Income"},
    "environment": {"id": "Lingkungan", "en": "Environment"},
    "life": {"id": "Kehidupan", "en": "Lives"},
    "community": {"id": "Kemasyarakatan", "en": "Community"},
    "participation": {"id": "Partisipasi", "en": "Participation"},
    "participation_women": {"id": "Partisipasi perempuan", "en": "Women's participation"},
}

ESTIMATOR_LABELS: dict[str, dict[str, str]] = {
    "followup_diff": {"id": "Selisih survei lanjutan", "en": "Follow-up difference"},
    "did": {"id": "Selisih-dari-selisih (DiD)", "en": "Difference-in-differences"},
    "ancova": {"id": "ANCOVA", "en": "ANCOVA"},
    "before_after": {"id": "Sebelum–sesudah (deskriptif)", "en": "Before/after (descriptive)"},
    "twfe": {
        "id": "Efek tetap dua arah (twfe): bias bila waktu program bertahap dan dampaknya heterogen",
        "en": "Two-way fixed effects (twfe): biased under staggered timing with heterogeneous effects",
    },
    "cs_att": {"id": "Callaway–Sant'Anna (cs_att)", "en": "Callaway–Sant'Anna (cs_att)"},
}

TEXT: dict[str, dict[str, str]] = {
    # Titles and headings
    "programme_title": {"id": "Laporan program", "en": "Programme report"},
    "village_title": {"id": "Laporan desa", "en": "Village report"},
    "index_title": {"id": "Semua desa", "en": "All villages"},
    "summary": {"id": "Ringkasan", "en": "Summary"},
    "design": {"id": "Desain evaluasi", "en": "Evaluation design"},
    "data_quality": {"id": "Kualitas data", "en": "Data quality"},
    "households": {"id": "Rumah tangga yang disurvei", "en": "Households surveyed"},
    "attrition": {"id": "Atrisi", "en": "Attrition"},
    "balance": {"id": "Keseimbangan pada survei awal", "en": "Balance at baseline"},
    "impacts": {"id": "Dampak program", "en": "Programme impacts"},
    "indices": {"id": "Indeks per tujuan pemberdayaan", "en": "Indices by empowerment goal"},
    "alkire_foster": {"id": "Profil Alkire–Foster", "en": "Alkire–Foster profile"},
    "mde": {"id": "Efek terkecil yang dapat dideteksi", "en": "Minimum detectable effect"},
    "coefficients": {"id": "Semua indikator sekilas", "en": "All outcomes at a glance"},
    "methods": {"id": "Metode", "en": "Methods"},
    "income": {"id": "Pendapatan", "en": "Income"},
    "participation": {"id": "Partisipasi", "en": "Participation"},
    "goals": {"id": "Enam tujuan pemberdayaan", "en": "The six empowerment goals"},
    "provenance": {"id": "Asal-usul angka", "en": "Provenance"},
    "how_to_read": {"id": "Cara membaca laporan ini", "en": "How to read this report"},
    "publication": {"id": "Tabel untuk publikasi", "en": "Tables for publication"},
    # Words
    "baseline": {"id": "Survei awal", "en": "Baseline"},
    "followup": {"id": "Survei lanjutan", "en": "Follow-up"},
    "programme": {"id": "Program", "en": "Programme"},
    "comparison": {"id": "Pembanding", "en": "Comparison"},
    "total": {"id": "Jumlah", "en": "Total"},
    "programme_village": {"id": "Desa program", "en": "Programme village"},
    "comparison_village": {"id": "Desa pembanding", "en": "Comparison village"},
    "programme_villages": {"id": "Desa program", "en": "Programme villages"},
    "comparison_villages": {"id": "Desa pembanding", "en": "Comparison villages"},
    "other_comparison_villages": {"id": "Desa pembanding lainnya", "en": "Other comparison villages"},
    "programme_average": {"id": "Rata-rata desa program", "en": "Programme average"},
    "this_village": {"id": "Desa ini", "en": "This village"},
    "this_village_baseline": {"id": "Desa ini, survei awal", "en": "This village, baseline"},
    "this_village_followup": {"id": "Desa ini, survei lanjutan", "en": "This village, follow-up"},
    "unknown_arm": {"id": "tidak diketahui", "en": "unknown"},
    "hidden": {"id": "disembunyikan", "en": "hidden"},
    "fewer_than": {"id": "kurang dari {n}", "en": "fewer than {n}"},
    "outcome": {"id": "Indikator", "en": "Outcome"},
    "goal": {"id": "Tujuan", "en": "Goal"},
    "n_households": {"id": "Rumah tangga", "en": "Households"},
    "records": {"id": "Catatan", "en": "Records"},
    "round": {"id": "Putaran", "en": "Round"},
    "raw_rows": {"id": "Baris mentah", "en": "Raw rows"},
    "clean_rows": {"id": "Bersih", "en": "Clean"},
    "quarantined_rows": {"id": "Dikarantina", "en": "Quarantined"},
    "excluded_rows": {"id": "Dikeluarkan", "en": "Excluded"},
    "surveyed_baseline": {"id": "Diwawancarai pada survei awal", "en": "Surveyed at baseline"},
    "found_again": {"id": "Ditemukan lagi", "en": "Found again"},
    "not_found": {"id": "Tidak ditemukan lagi", "en": "Not found (attrition)"},
    "new_followup": {"id": "Baru pada survei lanjutan", "en": "New at follow-up"},
    "surveyed_followup": {"id": "Diwawancarai pada survei lanjutan", "en": "Surveyed at follow-up"},
    "response_rate": {"id": "Ditemukan lagi (%)", "en": "Found again (%)"},
    "p_cr1": {"id": "p (CR1)", "en": "p (CR1)"},
    "p_se": {"id": "p ({se})", "en": "p ({se})"},
    "p_wild": {"id": "p (bootstrap liar)", "en": "p (wild bootstrap)"},
    # The indices' q-values are adjusted across the goals (all indices of one kind), not within one.
    "q_value": {"id": "q antar tujuan", "en": "q across goals"},
    "q_within_goal": {"id": "q dalam tujuan", "en": "q within goal"},
    "unit": {"id": "Satuan", "en": "Unit"},
    "unit_pp": {"id": "poin persen", "en": "pp"},
    "unit_rp": {"id": "Rp", "en": "Rp"},
    "unit_sd": {"id": "simpangan baku", "en": "SD"},
    "unit_scale": {"id": "skala", "en": "scale"},
    "comparison_mean": {"id": "Rata-rata pembanding", "en": "Comparison mean"},
    "n_obs": {"id": "N", "en": "N"},
    "table_number": {"id": "Tabel {n}", "en": "Table {n}"},
    "figure_number": {"id": "Gambar {n}", "en": "Figure {n}"},
    "index_klk": {"id": "Indeks KLK", "en": "KLK index"},
    "index_icw": {"id": "Indeks ICW", "en": "ICW index"},
    "rung": {"id": "Anak tangga", "en": "Rung"},
    "report": {"id": "Laporan", "en": "Report"},
    "ok": {"id": "siap", "en": "ok"},
    "failed": {"id": "gagal", "en": "failed"},
    "not_run": {"id": "tidak dijalankan", "en": "not run"},
    "code": {"id": "Kode", "en": "Code"},
    "village": {"id": "Desa", "en": "Village"},
    "arm": {"id": "Kelompok", "en": "Arm"},
    "filter": {"id": "Saring desa…", "en": "Filter villages…"},
    "sort_hint": {
        "id": "Klik judul kolom untuk mengurutkan.",
        "en": "Click a column heading to sort.",
    },
    "programme_report_link": {"id": "Laporan program", "en": "Programme report"},
    "rp_thousand_axis": {"id": "Rp ribu per orang per bulan", "en": "Rp '000 per person per month"},
    "share_households": {"id": "Persentase rumah tangga", "en": "Share of households"},
    "index_axis": {
        "id": "Nilai tujuan (0 = rata-rata desa pembanding pada survei awal)",
        "en": "Goal score (0 = comparison villages' average at baseline)",
    },
    "trajectory_heading": {"id": "Perjalanan di semua putaran", "en": "Every round"},
    "trajectory_reading": {
        "id": "{outcome}: rata-rata pada setiap putaran, desa ini dibandingkan dengan desa program "
        "dan desa pembanding lainnya (kelompok dengan terlalu sedikit rumah tangga tidak ditampilkan).",
        "en": "{outcome}: the mean in every round, this village against the other programme and "
        "comparison villages (a group with too few households is not shown).",
    },
    "rounds_heading": {
        "id": "Semua putaran dan waktu program",
        "en": "Every round and the programme's timing",
    },
    "rounds_compare": {
        "id": "Studi ini punya {n} putaran ({rounds}). Tabel survei awal, atrisi dan dampak di atas "
        "membandingkan putaran terakhir ({last}) dengan putaran acuan ({first}).",
        "en": "This study has {n} rounds ({rounds}). The baseline, attrition and impact tables above "
        "compare the last round ({last}) with the reference round ({first}).",
    },
    "programme_group_reached": {
        "id": "Kelompok program adalah rumah tangga yang dijangkau program pada suatu putaran.",
        "en": "The programme group is the households the programme reached in some round.",
    },
    "rcs_design": {
        "id": "Desain ini potong lintang berulang: setiap putaran mewawancarai rumah tangga yang "
        "berbeda dan tidak ada rumah tangga yang diikuti. Karena itu tidak ada atrisi dan tidak ada "
        "batas Lee; DiD adalah regresi gabungan (kelompok, sesudah, dan interaksinya) yang "
        "membandingkan perubahan rata-rata kelompok, bukan perubahan rumah tangga yang sama; ANCOVA "
        "dan perubahan sebelum–sesudah tidak dihitung.",
        "en": "This design is a repeated cross-section: each round interviewed different households "
        "and no household is followed. So there is no attrition and no Lee bounds; DiD is the pooled "
        "regression (group, after, and their interaction), which compares the change in the groups' "
        "means, not the change of the same households; ANCOVA and the before/after change are not "
        "computed.",
    },
    "rcs_village_households": {
        "id": "Setiap putaran mewawancarai rumah tangga yang berbeda (potong lintang berulang): tidak "
        "ada rumah tangga yang diikuti, jadi tidak ada yang hilang atau ditemukan lagi.",
        "en": "Each round interviewed different households (a repeated cross-section): no household "
        "is followed, so none is lost or found again.",
    },
    "rcs_no_attrition": {
        "id": "Bagian ini dilewati: potong lintang berulang tidak mengikuti rumah tangga, jadi tidak "
        "ada atrisi dan tidak ada batas Lee.",
        "en": "Section left out: a repeated cross-section follows no household, so there is no "
        "attrition and there are no Lee bounds.",
    },
    "twfe_label": {
        "id": "twfe (efek tetap dua arah) bias bila waktu program bertahap dan dampaknya berbeda "
        "antar kelompok atau bertambah dengan waktu: rumah tangga yang sudah dijangkau menjadi "
        "pembanding. Bacalah cs_att (Callaway–Sant'Anna), yang hanya membandingkan dengan rumah "
        "tangga yang {controls}.",
        "en": "twfe (two-way fixed effects) is biased under staggered timing with heterogeneous "
        "effects: households already reached serve as comparisons. Read cs_att "
        "(Callaway–Sant'Anna), which compares only with households {controls}.",
    },
    "controls_never_treated": {"id": "tidak pernah dijangkau", "en": "never reached"},
    "controls_not_yet_treated": {"id": "belum dijangkau", "en": "not yet reached"},
    "staggered_caption": {"id": "Dampak dengan semua putaran", "en": "Effects using every round"},
    "event_axis": {"id": "Putaran sejak program tiba", "en": "Rounds since the programme arrived"},
    "event_effect_axis": {"id": "Dampak, selang 95%", "en": "Effect, 95% interval"},
    "event_reference": {"id": "acuan", "en": "reference"},
    "event_study_reading": {
        "id": "{outcome}: dampak menurut jumlah putaran sejak program tiba (0 = putaran pertama "
        "dengan program), dengan selang 95%; −1 adalah putaran acuan (nol menurut definisi); titik "
        "sebelum −1 memeriksa tren sejajar sebelum program.",
        "en": "{outcome}: the effect by rounds since the programme arrived (0 = the first round "
        "with the programme), with 95% intervals; −1 is the reference round (zero by "
        "construction); points before −1 check parallel trends before the programme.",
    },
    "pretrend_sentence": {
        "id": "Uji gabungan semua koefisien sebelum program ({estimator}): {test}, p = {p}. {verdict}",
        "en": "Joint test of every pre-programme coefficient ({estimator}): {test}, p = {p}. {verdict}",
    },
    "pretrend_ok": {
        "id": "Tidak ada bukti bahwa kelompok sudah berbeda tren sebelum program.",
        "en": "No evidence that the groups trended differently before the programme.",
    },
    "pretrend_bad": {
        "id": "Kelompok sudah berbeda tren sebelum program: baca dampaknya dengan hati-hati.",
        "en": "The groups already trended differently before the programme: read the effects with care.",
    },
    "pretrend_none": {
        "id": "Uji gabungan koefisien sebelum program ({estimator}) tidak tersedia: {why}.",
        "en": "No joint test of the pre-programme coefficients ({estimator}): {why}.",
    },
    "effect_axis": {
        "id": "Dampak (simpangan baku kelompok pembanding), selang 95%",
        "en": "Effect (comparison-group SDs), 95% interval",
    },
    # Notes
    "hidden_note": {
        "id": "“disembunyikan”: kurang dari {n} rumah tangga, atau angka yang bisa dipakai untuk "
        "menghitung angka tersembunyi dari jumlahnya. Ini melindungi kerahasiaan rumah tangga.",
        "en": "“hidden”: fewer than {n} households, or a value from which a hidden one could be worked "
        "out using the totals. This protects the households' privacy.",
    },
    "section_missing": {
        "id": "Bagian ini dilewati: tabel {table} tidak dibuat pada proses ini.",
        "en": "Section omitted: this run did not produce {table}.",
    },
    "too_few_households": {
        "id": "Kurang dari {n} rumah tangga desa ini menjawab pada salah satu survei, jadi angka ini "
        "tidak ditampilkan untuk melindungi kerahasiaan mereka.",
        "en": "Fewer than {n} households of this village answered in one of the rounds, so this figure "
        "is not shown, to protect the households' privacy.",
    },
    # A village that the public tables hide (villages.csv's ``suppressed`` column) shows no count
    # or statistic of its own; these say why, in the words of the index page.
    "village_hidden_small": {
        "id": "Desa ini memiliki kurang dari {n} rumah tangga yang disurvei pada salah satu survei, "
        "jadi jumlah rumah tangga dan angka-angkanya tidak ditampilkan, untuk melindungi "
        "kerahasiaan mereka. Jumlah rumah tangga yang tidak ditemukan lagi atau baru pada survei "
        "lanjutan tetap ditampilkan: angka ini menggambarkan pelaksanaan survei.",
        "en": "This village had fewer than {n} surveyed households in one of the rounds, so its number "
        "of households and its figures are not shown, to protect the households' privacy. The "
        "households not found again or new at follow-up are still shown: they describe the "
        "fieldwork.",
    },
    "village_hidden_section": {
        "id": "Tidak ditampilkan: angka-angka desa ini disembunyikan untuk melindungi kerahasiaan "
        "rumah tangga (lihat awal laporan).",
        "en": "Not shown: this village's figures are hidden to protect the households' privacy (see "
        "the top of the report).",
    },
    "village_hidden_complementary": {
        "id": "Jumlah rumah tangga dan angka-angka desa ini disembunyikan agar angka desa lain yang "
        "lebih kecil tidak bisa dihitung dari jumlah seluruh kelompok. Jumlah rumah tangga yang "
        "tidak ditemukan lagi atau baru pada survei lanjutan tetap ditampilkan: angka ini "
        "menggambarkan pelaksanaan survei.",
        "en": "This village's number of households and its figures are hidden so that a smaller "
        "village's cannot be worked out from the totals of its group. The households not found "
        "again or new at follow-up are still shown: they describe the fieldwork.",
    },
    "figure_suppressed": {
        "id": "Gambar tidak ditampilkan: kurang dari {n} rumah tangga dalam satu kelompok.",
        "en": "Figure not shown: a group has fewer than {n} households.",
    },
    "no_ladder": {
        "id": "Kuesioner ini tidak memuat tangga partisipasi.",
        "en": "This survey has no participation ladder.",
    },
    "no_goals": {
        "id": "Tidak ada indikator tujuan pemberdayaan yang diukur pada kedua survei.",
        "en": "No empowerment-goal indicator was measured in both rounds.",
    },
    "no_income": {
        "id": "Survei ini tidak memuat pendapatan per orang.",
        "en": "This survey has no income per person.",
    },
    # Village report: reading aids
    "how_to_read_village": {
        "id": "Laporan ini membandingkan rumah tangga di desa ini pada survei awal ({y0}) dan survei "
        "lanjutan ({y1}). Hanya sebagian rumah tangga yang disurvei, jadi setiap angka adalah "
        "perkiraan. Angka dalam kurung adalah kisaran yang masuk akal untuk angka sebenarnya. "
        "Angka yang dihitung dari kurang dari {n} rumah tangga tidak pernah ditampilkan, begitu "
        "pula jumlah rumah tangga desa bila kurang dari {n}. Jumlah rumah tangga yang tidak "
        "ditemukan lagi atau yang baru, dan catatan yang disisihkan atau diperbaiki, selalu "
        "ditampilkan: angka ini menggambarkan pelaksanaan survei, bukan jawaban rumah tangga. Di "
        "gambar, pendapatan 1% rumah tangga teratas dipotong agar tidak ada rumah tangga yang "
        "menonjol.",
        "en": "This report compares the households of this village in the baseline ({y0}) and follow-up "
        "({y1}) surveys. Only some households were surveyed, so every figure is an estimate. "
        "Ranges in brackets are the values that are plausible for the true figure (95% "
        "intervals). No figure computed from fewer than {n} households is ever shown, nor the "
        "village's number of households when it is below {n}. Households not found again or new "
        "at follow-up, and records set aside or corrected, are counted at any size, because they "
        "describe the fieldwork rather than anyone's answers. In the figures, the top 1% of "
        "incomes are capped, so that no single household stands out.",
    },
    "attribution_programme": {
        "id": "Perubahan di desa ini saja belum tentu karena program: harga, panen dan program lain "
        "juga berubah selama masa ini. Selisih dengan desa pembanding ({diff}) adalah perkiraan "
        "dampak program di desa ini, dengan anggapan bahwa tanpa program desa ini akan berubah "
        "seperti desa pembanding. Satu desa adalah sampel kecil, jadi perkiraan untuk seluruh "
        "desa program di bawah ini lebih dapat diandalkan.",
        "en": "The change in this village alone cannot be attributed to the programme: prices, harvests "
        "and other programmes changed over the same period. The difference from comparison "
        "villages ({diff}) estimates the programme's effect in this village, assuming that "
        "without the programme this village would have changed like the comparison villages. One "
        "village is a small sample, so the estimate for all programme villages below is more "
        "reliable.",
    },
    "attribution_comparison": {
        "id": "Ini desa pembanding: program tidak berjalan di sini. Perubahannya menunjukkan apa yang "
        "terjadi tanpa program, jadi bukan dampak program.",
        "en": "This is a comparison village: the programme did not run here. Its change shows what "
        "happened without the programme, so it cannot be attributed to the programme.",
    },
    "attribution_unknown": {
        "id": "Kelompok desa ini tidak diketahui, jadi perubahannya tidak bisa dikaitkan dengan program.",
        "en": "This village's arm is unknown, so its change cannot be attributed to the programme.",
    },
    "programme_wide_no_inference": {
        "id": "Untuk seluruh desa program, perkiraan dampak program pada {outcome} adalah {effect}. "
        "{how} {why} Rincian teknisnya ada di laporan program.",
        "en": "Across all programme villages, the estimated effect of the programme on {outcome} is "
        "{effect}. {how} {why} The technical details are in the programme report.",
    },
    "programme_wide": {
        "id": "Untuk seluruh desa program, perkiraan dampak program pada {outcome} adalah {effect} "
        "(kisaran {low} sampai {high}). {how} {chance} Rincian teknisnya ada di laporan program.",
        "en": "Across all programme villages, the estimated effect of the programme on {outcome} is "
        "{effect} (range {low} to {high}). {how} {chance} The technical details are in the "
        "programme report.",
    },
    "chance_withheld_not_computed": {
        "id": "Belum bisa dinilai apakah selisih ini lebih dari kebetulan.",
        "en": "Whether this is more than chance could not be worked out.",
    },
    "chance_withheld_one_cluster": {
        "id": "Karena semua rumah tangga termasuk satu kelompok, belum bisa dinilai apakah selisih ini "
        "lebih dari kebetulan.",
        "en": "With every household in a single group, there is no telling yet whether this is more "
        "than chance.",
    },
    "chance_withheld_one_control_cluster": {
        "id": "Karena hanya ada satu desa pembanding, belum bisa dinilai apakah selisih ini lebih dari "
        "kebetulan.",
        "en": "With only one comparison village, there is no telling yet whether this is more than chance.",
    },
    "chance_withheld_one_treated_cluster": {
        "id": "Karena hanya ada satu desa program, belum bisa dinilai apakah selisih ini lebih dari "
        "kebetulan.",
        "en": "With only one programme village, there is no telling yet whether this is more than chance.",
    },
    "chance_not_significant": {
        "id": "Selisih sebesar ini bisa saja muncul hanya karena kebetulan, jadi belum bisa dipastikan "
        "bahwa program mengubahnya.",
        "en": "A difference this size could arise by chance alone, so it is not yet certain that the "
        "programme changed it.",
    },
    "chance_significant": {
        "id": "Selisih sebesar ini jarang muncul hanya karena kebetulan.",
        "en": "A difference this large rarely arises by chance alone.",
    },
    "how_before_after": {
        "id": "Perkiraan ini hanya membandingkan keadaan sebelum dan sesudah di desa program.",
        "en": "It only compares before and after in the programme villages.",
    },
    "how_followup_diff": {
        "id": "Perkiraan ini membandingkan rumah tangga di desa program dan di desa pembanding pada "
        "survei lanjutan.",
        "en": "It compares households in programme and comparison villages at follow-up.",
    },
    "how_did": {
        "id": "Perkiraan ini membandingkan perubahan di desa program dengan perubahan di desa pembanding.",
        "en": "It compares the change in programme villages with the change in comparison villages.",
    },
    "how_ancova": {
        "id": "Perkiraan ini membandingkan rumah tangga di desa program dan di desa pembanding pada "
        "survei lanjutan, dengan memperhitungkan keadaan setiap rumah tangga pada survei awal.",
        "en": "It compares households in programme and comparison villages at follow-up, taking into "
        "account where each household stood at baseline.",
    },
    "significant": {"id": "berbeda nyata dari nol, {p}", "en": "distinguishable from zero, {p}"},
    "not_significant": {
        "id": "tidak berbeda nyata dari nol, {p}",
        "en": "not distinguishable from zero, {p}",
    },
    # A significance judgement is only made when there is a reliable p-value; otherwise the
    # sentence says why there is none (one cluster, or one cluster in an arm).
    "no_inference": {
        "id": "tanpa selang kepercayaan atau nilai p: {reason}",
        "en": "no confidence interval or p-value: {reason}",
    },
    "withheld_one_treated_cluster": {
        "id": "dengan hanya satu desa (klaster) program, galat baku maupun p bootstrap liar tidak "
        "dapat diandalkan",
        "en": "with a single programme village (cluster), no standard error or wild-bootstrap "
        "p-value is reliable",
    },
    "withheld_one_control_cluster": {
        "id": "dengan hanya satu desa (klaster) pembanding, galat baku maupun p bootstrap liar tidak "
        "dapat diandalkan",
        "en": "with a single comparison village (cluster), no standard error or wild-bootstrap "
        "p-value is reliable",
    },
    "withheld_one_cluster": {
        "id": "semua rumah tangga berada dalam satu klaster, sehingga galat baku berkelompok tidak "
        "dapat dihitung",
        "en": "every household is in a single cluster, so no clustered standard error can be computed",
    },
    "withheld_not_computed": {
        "id": "keduanya tidak dapat dihitung (alasannya di kolom note pada tables/impact_detail.csv)",
        "en": "they could not be computed (the note column of tables/impact_detail.csv says why)",
    },
    "p_is": {"id": "p {p}", "en": "p {p}"},
    "p_wild_is": {"id": "p bootstrap liar {p}", "en": "wild-bootstrap p {p}"},
    "income_caption": {
        "id": "Batang: separuh rumah tangga yang berada di tengah; titik: nilai tengah (median); garis: "
        "80% rumah tangga di tengah, tanpa 10% terbawah dan 10% teratas, hanya bila setidaknya "
        "{n} rumah tangga berada di luar setiap ujungnya. Pendapatan di atas Rp\u00a0{cap} ribu (1% "
        "teratas) digambar sebagai Rp\u00a0{cap} ribu.",
        "en": "Bar: the middle half of households; dot: the middle value (median); line: the middle 80% "
        "of households, without the lowest and highest 10%, shown only where at least {n} "
        "households lie beyond each end. Incomes above Rp\u00a0{cap} thousand (the top 1%) are drawn "
        "at Rp\u00a0{cap} thousand.",
    },
    "goals_caption": {
        "id": "Belah ketupat: rata-rata desa program pada survei lanjutan; lingkaran kosong: desa ini "
        "pada survei awal; lingkaran penuh: desa ini pada survei lanjutan.",
        "en": "Diamond: programme villages' average at follow-up; open circle: this village at "
        "baseline; filled circle: this village at follow-up.",
    },
    "income_sentence": {
        "id": "Median pendapatan bulanan per orang (pendapatan rumah tangga yang berada di tengah) "
        "{verb} dari {before} menjadi {after} ({change}; kisaran {low} sampai {high}). Di "
        "{group}, median ini {cverb} {cchange} ({clow} sampai {chigh}).",
        "en": "Median monthly income per person (the income of the household in the middle) {verb} from "
        "{before} to {after} ({change}; range {low} to {high}); in {group} it {cverb} by "
        "{cchange} ({clow} to {chigh}).",
    },
    "income_sentence_no_comparison": {
        "id": "Median pendapatan bulanan per orang (pendapatan rumah tangga yang berada di tengah) "
        "{verb} dari {before} menjadi {after} ({change}; kisaran {low} sampai {high}).",
        "en": "Median monthly income per person (the income of the household in the middle) {verb} from "
        "{before} to {after} ({change}; range {low} to {high}).",
    },
    "participation_sentence": {
        "id": "Rata-rata, rumah tangga mencapai {after} dari {rungs} anak tangga partisipasi pada "
        "survei lanjutan, dibanding {before} pada survei awal ({change}; kisaran {low} sampai "
        "{high}). Di {group}, perubahannya {cchange} ({clow} sampai {chigh}).",
        "en": "On average, households reached {after} of the {rungs} rungs of the participation ladder "
        "at follow-up, against {before} at baseline ({change}; range {low} to {high}); in {group} "
        "the change was {cchange} ({clow} to {chigh}).",
    },
    "difference_pp": {"id": "{value} poin persen", "en": "{value} percentage points"},
    "difference_rungs": {"id": "{value} anak tangga", "en": "{value} rungs"},
    "ladder_reading": {
        "id": "Setiap batang menunjukkan persentase rumah tangga yang mencapai anak tangga itu.",
        "en": "Each bar shows the share of households that reached that rung.",
    },
    "goals_reading_above": {
        "id": "Pada survei lanjutan, desa ini berada di atas rata-rata desa program untuk: {above}.",
        "en": "At follow-up, this village is above the programme villages' average in: {above}.",
    },
    "goals_reading_below": {
        "id": "Di bawah rata-rata itu untuk: {below}.",
        "en": "Below that average in: {below}.",
    },
    "goals_explain": {
        "id": "Setiap tujuan menggabungkan beberapa pertanyaan survei menjadi satu nilai, lalu "
        "dirata-ratakan untuk semua rumah tangga. Nilai 0 adalah rata-rata desa pembanding pada "
        "survei awal. Nilai 1 berarti lebih baik sebesar selisih yang lazim antara satu rumah "
        "tangga dan rata-ratanya. Pertanyaan yang lebih baik bila nilainya kecil (misalnya utang) "
        "dibalik dulu.",
        "en": "Each goal combines several survey questions into one score, averaged over the "
        "households. 0 is the comparison villages' average at baseline; 1 means better by the "
        "typical gap between one household and the average. Questions where lower is better (such "
        "as debt) are turned round first.",
    },
    "other_languages": {"id": "Baca dalam bahasa lain:", "en": "Read in another language:"},
    "verb_same": {"id": "tetap", "en": "stayed the same"},
    "verb_fell": {"id": "turun", "en": "fell"},
    "verb_rose": {"id": "naik", "en": "rose"},
    "women_suffix": {"id": "{label} (perempuan)", "en": "{label} (women)"},
    "alt_goal": {
        "id": "{goal}: {before} → {after} ({reference} {average})",
        "en": "{goal}: {before} → {after} ({reference} {average})",
    },
    "alt_income": {
        "id": "{round}, {group}: median {p50}, separuh di tengah {p25}–{p75} (Rp ribu)",
        "en": "{round}, {group}: median {p50}, middle half {p25}–{p75} (Rp '000)",
    },
    "interval": {"id": "kisaran {low} sampai {high}", "en": "range {low} to {high}"},
    "goals_income_differs": {
        "id": "Di gambar ini, nilai {goal} desa ini {goal_verb}, sedangkan median pendapatan di bagian "
        "{section} {median_verb}. Keduanya mengukur hal yang berbeda: gambar ini memakai "
        "rata-rata semua rumah tangga, yang bisa digeser oleh beberapa rumah tangga dengan "
        "perubahan besar; median adalah pendapatan rumah tangga yang berada di tengah.",
        "en": "In this chart, this village's {goal} score {goal_verb}, while the median income in the "
        "{section} section {median_verb}. They measure different things: the chart uses the "
        "average over all households, which a few households with large changes can pull either "
        "way; the median is the income of the household in the middle.",
    },
    "goals_comparison_village": {
        "id": "Desa ini adalah desa pembanding: program tidak berjalan di sini. Rata-rata desa program "
        "ditampilkan hanya sebagai titik acuan. Selisih antara desa ini dan rata-rata itu bukan "
        "ukuran keberhasilan desa ini, dan juga bukan dampak program.",
        "en": "This is a comparison village: the programme did not run here. The programme villages' "
        "average is shown only as a point of reference. The gap between this village and that "
        "average is neither a measure of how well this village did nor an effect of the "
        "programme.",
    },
    "response_sentence": {
        "id": "{rate} rumah tangga yang diwawancarai pada survei awal ditemukan lagi pada survei lanjutan.",
        "en": "{rate} of the households surveyed at baseline were found again at follow-up.",
    },
    "attrition_reading": {
        "id": "Rumah tangga yang tidak ditemukan lagi bisa membuat perbandingan keliru jika mereka "
        "berbeda dari rumah tangga yang ditemukan.",
        "en": "Households not found again can bias comparisons if they differ from those found.",
    },
    "quality_round": {
        "id": "{round}: {used} wawancara dipakai; {quarantined} catatan disisihkan untuk diperiksa dan "
        "{corrected} nilai diperbaiki otomatis.",
        "en": "{round}: {used} interviews used; {quarantined} records set aside for checking "
        "(quarantined) and {corrected} values corrected automatically.",
    },
    "quality_kinds": {
        "id": "Perbaikan otomatis meliputi jumlah uang yang diketik sebagai teks, kode “tidak tahu” "
        "atau “menolak”, dan spasi berlebih. Catatan yang disisihkan tidak dipakai sampai "
        "diperiksa.",
        "en": "Automatic corrections include amounts typed as text, “don't know” or “refused” codes, "
        "and stray spaces. Records set aside are not used until they are checked.",
    },
    # Programme report
    "rows_accounting": {
        "id": "Setiap baris data mentah berakhir di satu tempat: bersih, dikarantina (menunggu "
        "koreksi), atau dikeluarkan (dengan alasan). Jumlahnya harus sama dengan baris mentah.",
        "en": "Every raw row ends in exactly one place: clean, quarantined (waiting for a "
        "correction) or excluded (with a reason). The counts must add up to the raw rows.",
    },
    # The design paragraph: the level at which the arm varies is read from the panel
    # (analysis.report.summaries.assignment), never assumed to be the village.
    "design_village": {
        "id": "Program ditugaskan per desa: {treated} desa program dan {control} desa pembanding; "
        "{households} rumah tangga disurvei setidaknya sekali.",
        "en": "The programme was assigned by village: {treated} programme villages and {control} "
        "comparison villages; {households} households surveyed at least once.",
    },
    "design_cluster": {
        "id": "Program ditugaskan per {unit}, tingkat di atas desa: {treated} klaster program "
        "({treated_villages} desa) dan {control} klaster pembanding ({control_villages} desa); "
        "{households} rumah tangga disurvei setidaknya sekali.",
        "en": "The programme was assigned by {unit}, a level above the village: {treated} programme "
        "clusters ({treated_villages} villages) and {control} comparison clusters "
        "({control_villages} villages); {households} households surveyed at least once.",
    },
    "design_household": {
        "id": "Program ditugaskan per rumah tangga di dalam desa: {mixed} dari {villages} desa "
        "memiliki rumah tangga program dan rumah tangga pembanding; {treated} rumah tangga program "
        "dan {control} rumah tangga pembanding disurvei setidaknya sekali.",
        "en": "The programme was assigned to households within villages: {mixed} of the "
        "{villages} villages hold both programme and comparison households; {treated} programme "
        "and {control} comparison households were surveyed at least once.",
    },
    "design_household_no_village": {
        "id": "Data tidak memuat desa, jadi program dibandingkan antar rumah tangga: {treated} "
        "rumah tangga program dan {control} rumah tangga pembanding disurvei setidaknya sekali.",
        "en": "The data hold no village, so the programme is compared household by household: "
        "{treated} programme and {control} comparison households were surveyed at least once.",
    },
    # What the standard errors are: read from impact_detail.csv's se_type and the panel's
    # cluster column, so the words match what was computed.
    "se_cr1_village": {
        "id": "Galat baku dikelompokkan per desa (CR1, seperti vce(cluster) di Stata; {clusters} "
        "klaster) dengan uji t(G−1).",
        "en": "Standard errors are clustered by village (CR1, as Stata's vce(cluster); {clusters} "
        "clusters) with t(G−1) tests.",
    },
    "se_cr1_household": {
        "id": "Galat baku dikelompokkan per rumah tangga (CR1; {clusters} klaster) dengan uji t(G−1).",
        "en": "Standard errors are clustered by household (CR1; {clusters} clusters) with t(G−1) tests.",
    },
    "se_cr1_cluster": {
        "id": "Galat baku dikelompokkan per {unit} (CR1, seperti vce(cluster) di Stata; "
        "{clusters} klaster) dengan uji t(G−1).",
        "en": "Standard errors are clustered by {unit} (CR1, as Stata's vce(cluster); {clusters} "
        "clusters) with t(G−1) tests.",
    },
    "se_hc1": {
        "id": "Galat baku tahan heteroskedastisitas (HC1), tidak dikelompokkan, dengan uji t(N−K).",
        "en": "Standard errors are heteroskedasticity-robust (HC1), not clustered, with t(N−K) tests.",
    },
    "se_at_assignment": {
        "id": "Ini adalah tingkat penugasan program.",
        "en": "This is the level at which the programme was assigned.",
    },
    "se_above_assignment": {
        "id": "Program ditugaskan per {level}, jadi pengelompokan ini konservatif: ia juga "
        "memperhitungkan kemiripan unit-unit dalam satu klaster.",
        "en": "The programme was assigned by {level}, so this clustering is conservative: it also "
        "allows for the units of one cluster being alike.",
    },
    "se_below_assignment": {
        "id": "Ini di bawah tingkat penugasan program ({level}), sehingga galat baku ini terlalu "
        "kecil; isi kunci cluster pada berkas studi dengan kolom {level}.",
        "en": "This is below the level at which the programme was assigned ({level}), so these "
        "standard errors are too small; set the study file's cluster key to the {level} column.",
    },
    "level_household": {"id": "rumah tangga", "en": "household"},
    "level_village": {"id": "desa", "en": "village"},
    "impact_reading": {
        "id": "Setiap sel berisi perkiraan dengan galat baku dalam kurung, dalam satuan barisnya: poin "
        "persen untuk pertanyaan ya/tidak, rupiah per orang per bulan tanpa desimal untuk uang, "
        "simpangan baku untuk indeks, dan skala indikator itu sendiri untuk lainnya. Rata-rata "
        "pembanding adalah rata-rata rumah tangga pembanding pada survei lanjutan (dalam persen "
        "untuk pertanyaan ya/tidak); N adalah jumlah rumah tangga dalam perkiraan penduga utama "
        "({primary}). Tidak ada bintang signifikansi (sesuai pedoman AEA): bacalah nilai p "
        "penduga utama. {which}",
        "en": "Each cell is the estimate with its standard error in brackets, in the unit of its row: "
        "percentage points for yes/no questions, rupiah per person per month without decimals for "
        "money, standard deviations for indices, and the outcome's own scale otherwise. The "
        "comparison mean is the comparison households' mean at follow-up (a percentage for yes/no "
        "questions); N is the households in the primary estimate ({primary}). There are no "
        "significance stars (as the AEA asks): read the primary estimator's p-values. {which}",
    },
    "impact_p_wild": {
        "id": "Kolom p pertama adalah p bootstrap liar, nilai p yang dibaca laporan ini (lebih "
        "dapat diandalkan dengan sedikit klaster); p {se} ditampilkan di sampingnya.",
        "en": "The first p column is the wild-bootstrap p-value, the one this report reads (more "
        "reliable with few clusters); the {se} p-value is shown beside it.",
    },
    "impact_p_se": {
        "id": "Nilai p berasal dari galat baku {se}.",
        "en": "The p-values come from the {se} standard errors.",
    },
    "impact_fallback_note": {
        "id": "† Penduga utama ({primary}) tidak tersedia untuk indikator ini ({reason}); nilai p dan N "
        "barisnya berasal dari selisih survei lanjutan.",
        "en": "† The primary estimator ({primary}) is not available for this outcome ({reason}); the "
        "row's p-values and N are those of the follow-up difference.",
    },
    "fallback_why": {
        "id": "Selisih survei lanjutan menggantikan {primary}: {reason}.",
        "en": "The follow-up difference stands in for {primary}: {reason}.",
    },
    "reason_followup_only": {
        "id": "indikator ini hanya diukur pada survei lanjutan, jadi tidak ada nilai survei awal",
        "en": "the outcome was measured only at follow-up, so it has no baseline value",
    },
    "reason_not_estimated": {
        "id": "penduga itu tidak dapat dihitung untuk indikator ini",
        "en": "that estimator could not be computed for this outcome",
    },
    "summary_why_declared": {
        "id": "Indikator di atas adalah indikator utama yang disebut berkas studi (main_outcomes); "
        "semua {k} indikator ada di tabel dampak.",
        "en": "The outcomes above are the main outcomes named in the study file (main_outcomes); "
        "all {k} outcomes are in the impact table.",
    },
    "summary_why_default": {
        "id": "Indikator di atas dipilih dengan aturan bawaan: berkas studi tidak menyebut "
        "indikator utama (main_outcomes), jadi setiap tujuan diwakili oleh indikator pertama yang "
        "dicantumkan untuknya. Semua {k} indikator ada di tabel dampak.",
        "en": "The outcomes above follow the default rule: the study file names no main outcomes "
        "(main_outcomes), so each goal is represented by the first outcome listed for it. All {k} "
        "outcomes are in the impact table.",
    },
    "p_label_wild": {"id": "nilai p bootstrap liar", "en": "the wild-bootstrap p-value"},
    "p_label_se": {"id": "nilai p {se}", "en": "the {se} p-value"},
    "impact_headline": {
        "id": "{outcome}: {estimator} memperkirakan dampak {effect} (selang 95% {low} sampai {high}; "
        "{significance}).",
        "en": "{outcome}: {estimator} estimates an effect of {effect} (95% interval {low} to "
        "{high}; {significance}).",
    },
    "impact_headline_no_inference": {
        "id": "{outcome}: {estimator} memperkirakan dampak {effect} ({why}).",
        "en": "{outcome}: {estimator} estimates an effect of {effect} ({why}).",
    },
    "impact_count_withheld": {
        "id": "Tidak ada indikator yang diuji terhadap nol: {reason}.",
        "en": "No outcome is tested against zero: {reason}.",
    },
    "balance_reading_withheld": {
        "id": "Rata-rata kedua kelompok pada survei awal ditampilkan tanpa uji: {reason}. Selisih "
        "ternormalisasi tetap dapat dibaca.",
        "en": "The arms' baseline means are shown without tests: {reason}. The normalized differences "
        "can still be read.",
    },
    "indices_withheld": {
        "id": "Tidak ada nilai q: {reason}.",
        "en": "No q-values: {reason}.",
    },
    "methods_withheld": {
        "id": "Dalam proses ini tidak ada galat baku, selang kepercayaan atau nilai p yang "
        "dilaporkan untuk dampak: {reason}. Perkiraan hanya menggambarkan desa-desa ini.",
        "en": "In this run no standard error, confidence interval or p-value is reported for the "
        "impacts: {reason}. The estimates describe these villages only.",
    },
    "run_warnings_title": {"id": "Peringatan proses", "en": "Run warnings"},
    "run_warnings_lead": {
        "id": "Proses ini tetap berjalan, tetapi dengan catatan berikut (dalam bahasa Inggris). "
        "Bacalah sebelum membaca hasilnya; daftar lengkapnya ada di tables/warnings.csv.",
        "en": "This run went ahead with the caveats below. Read them before the results; the "
        "full list is in tables/warnings.csv.",
    },
    # Counted by the same p-value the sentences above it quote (wild bootstrap where computed).
    "impact_count": {
        "id": "Dari {k} indikator, {s} berbeda nyata dari nol pada taraf 5% menurut {p_label} "
        "({estimator}), nilai p yang dikutip di atas; secara kebetulan saja diharapkan sekitar "
        "{expected}.",
        "en": "Of {k} outcomes, {s} are distinguishable from zero at the 5% level by {p_label} "
        "({estimator}), the p-value quoted above; about {expected} would be by chance alone.",
    },
    "balance_reading": {
        "id": "Dari {k} perbandingan pada survei awal, {s} berbeda nyata pada taraf 5% (nilai p {se}, "
        "satu variabel demi satu); secara kebetulan diharapkan sekitar {expected}.",
        "en": "Of {k} baseline comparisons, {s} differ at the 5% level ({se} p-values, one variable at "
        "a time); about {expected} would by chance.",
    },
    # Joint tests (balance and selective attrition): the randomization-inference p leads; the
    # clustered F, which over-rejects with many variables and few clusters, stands beside it.
    "joint_ri": {
        "id": "{test} ({sample}), dengan inferensi pengacakan ({reps} penugasan yang diundi ulang): p {p}.",
        "en": "{test} ({sample}), by randomization inference ({reps} re-drawn assignments): p {p}.",
    },
    "joint_f": {
        "id": "{test} ({sample}): F({df1}, {df2}) = {f}, p {p}.",
        "en": "{test} ({sample}): F({df1}, {df2}) = {f}, p {p}.",
    },
    "joint_f_beside": {
        "id": "Di sampingnya, uji F berkelompok: F({df1}, {df2}) = {f}, p {p}. Dengan banyak "
        "variabel dan sedikit klaster uji ini terlalu sering menolak, jadi bukan uji yang dibaca.",
        "en": "Beside it, the clustered F test: F({df1}, {df2}) = {f}, p {p}. With many variables "
        "and few clusters this test rejects far too often, so it is not the one to read.",
    },
    "joint_not_computed": {
        "id": "{test} ({sample}): tidak dapat dihitung{reason}.",
        "en": "{test} ({sample}): could not be computed{reason}.",
    },
    "joint_balance": {"id": "Uji gabungan semua variabel", "en": "Joint test of all variables"},
    "joint_composition": {
        "id": "Atrisi selektif (apakah rumah tangga yang hilang berbeda antar kelompok)",
        "en": "Selective attrition (do the households lost differ between arms)",
    },
    "balance_alike": {
        "id": "Menurut uji ini kedua kelompok mirip pada survei awal, seperti hasil pengacakan yang "
        "berhasil.",
        "en": "By this test the arms look alike at baseline, as a successful randomization makes them.",
    },
    "balance_not_alike": {
        "id": "Menurut uji ini kedua kelompok berbeda pada survei awal lebih dari yang dapat dijelaskan "
        "kebetulan: bandingkan ketiga penduga dan baca selisih ternormalisasi di bawah.",
        "en": "By this test the arms differ at baseline by more than chance would explain: compare the "
        "three estimators and read the normalized differences below.",
    },
    "composition_alike": {
        "id": "Menurut uji ini rumah tangga yang hilang tidak berbeda antar kelompok lebih dari "
        "yang dapat dijelaskan kebetulan.",
        "en": "By this test the households lost do not differ between the arms by more than chance "
        "would explain.",
    },
    "composition_not_alike": {
        "id": "Menurut uji ini rumah tangga yang hilang berbeda antar kelompok: baca batas Lee.",
        "en": "By this test the households lost differ between the arms: read the Lee bounds.",
    },
    "table_reading_generic": {
        "id": "Tabel lengkap ada di tables/{table}.",
        "en": "The full table is in tables/{table}.",
    },
    "attrition_programme_reading": {
        "id": "Atrisi di desa program {rate_t}, di desa pembanding {rate_c}. Atrisi yang berbeda "
        "antar kelompok dapat membuat perkiraan bias; batas Lee menunjukkan seberapa besar.",
        "en": "Attrition is {rate_t} in programme villages and {rate_c} in comparison villages. "
        "Attrition that differs between arms can bias estimates; Lee bounds show by how much.",
    },
    "lee_reading": {
        "id": "Batas Lee untuk {outcome}: dampak antara {lower} dan {upper} bila rumah tangga yang "
        "hilang berbeda dengan cara terburuk yang mungkin.",
        "en": "Lee bounds for {outcome}: the effect lies between {lower} and {upper} if the "
        "households lost differ in the worst possible way.",
    },
    "indices_reading": {
        "id": "Indeks menggabungkan indikator satu tujuan menjadi satu angka (dalam simpangan baku), "
        "sehingga satu uji per tujuan menggantikan banyak uji. Nilai q mengoreksi untuk banyaknya "
        "tujuan yang diuji (FDR tajam Anderson 2008). {strong}",
        "en": "An index combines the indicators of one goal into one number (in standard "
        "deviations), so one test per goal replaces many. The q-values correct for testing several "
        "goals (Anderson 2008 sharpened FDR). {strong}",
    },
    "indices_strong": {
        "id": "Tujuan dengan q < 0,05: {goals}.",
        "en": "Goals with q < 0.05: {goals}.",
    },
    "indices_none": {
        "id": "Tidak ada tujuan dengan q < 0,05.",
        "en": "No goal has q < 0.05.",
    },
    "af_reading": {
        "id": "Metode Alkire–Foster menghitung, untuk setiap rumah tangga, bagian indikator yang "
        "belum tercapai; rumah tangga dengan skor di atas ambang k dihitung belum berdaya. H adalah "
        "persentase rumah tangga yang belum berdaya, A rata-rata kekurangan mereka, dan M0 = H × A.",
        "en": "The Alkire–Foster method counts, for each household, the share of indicators not "
        "yet achieved; a household scoring above the cutoff k counts as disempowered. H is the "
        "share disempowered, A their average shortfall, and M0 = H × A.",
    },
    "af_cutoffs_reading": {
        "id": "Rumah tangga dianggap cukup pada suatu indikator bila mencapai ambang pada tabel di "
        "bawah. Ambang bertanda “median survei awal” dipilih dari data, bukan ditetapkan "
        "sebelumnya (kunci alkire_foster.cutoffs pada berkas studi menetapkannya), dan profil ini "
        "tidak memiliki galat baku: profil ini menggambarkan rumah tangga, tidak menguji program, "
        "jadi tidak masuk ringkasan.",
        "en": "A household is adequate in an indicator when it reaches the cutoff in the table below. "
        "Cutoffs marked “baseline median” are chosen from the data rather than set in advance "
        "(the study file's alkire_foster.cutoffs key sets them), and the profile has no standard "
        "error: it describes the households rather than testing the programme, so it is not in "
        "the summary.",
    },
    "af_cutoffs_caption": {
        "id": "Ambang kecukupan Alkire–Foster ({k})",
        "en": "Alkire–Foster adequacy cutoffs ({k})",
    },
    "indicator": {"id": "Indikator", "en": "Indicator"},
    "cutoff": {"id": "Ambang", "en": "Cutoff"},
    "cutoff_source": {"id": "Asal ambang", "en": "Where the cutoff comes from"},
    "cutoff_data": {"id": "median survei awal (dari data)", "en": "baseline median (from the data)"},
    "cutoff_binary": {"id": "ya/tidak: jawaban yang baik", "en": "yes/no: the good answer"},
    "cutoff_poverty": {"id": "tidak di bawah garis kemiskinan", "en": "not below the poverty line"},
    "cutoff_study": {"id": "berkas studi", "en": "the study file"},
    "accounting_caption": {
        "id": "Baris mentah per putaran dan hasil pembersihan",
        "en": "Raw rows by round and cleaning outcome",
    },
    "attrition_caption": {
        "id": "Rumah tangga per kelompok: disurvei, ditemukan lagi, hilang dan baru",
        "en": "Households by arm: surveyed, found again, lost and new",
    },
    "programme_households": {"id": "Rumah tangga program", "en": "Programme households"},
    "comparison_households": {"id": "Rumah tangga pembanding", "en": "Comparison households"},
    "mde_reading": {
        "id": "Dengan jumlah desa dan rumah tangga ini, studi dapat mendeteksi (kekuatan 80%, "
        "α = 5%) dampak sebesar {value} atau lebih; dampak yang lebih kecil bisa saja ada tetapi "
        "tidak terlihat.",
        "en": "With this many villages and households, the study can detect (80% power, 5% "
        "significance) effects of {value} or more; smaller effects may exist but go unseen.",
    },
    "mde_reading_generic": {
        "id": "Efek terkecil yang dapat dideteksi (kekuatan 80%, α = 5%): dampak yang lebih kecil "
        "bisa saja ada tetapi tidak terlihat dengan ukuran sampel ini.",
        "en": "Minimum detectable effects (80% power, 5% significance): smaller effects may exist "
        "but cannot be seen with this sample size.",
    },
    "coefficients_reading": {
        "id": "Setiap titik adalah perkiraan dampak dalam simpangan baku kelompok pembanding pada "
        "survei awal, dengan selang 95%; titik di kanan garis nol berarti lebih tinggi di desa "
        "program. Indikator dikelompokkan per tujuan.",
        "en": "Each point is an estimated effect in comparison-group baseline standard deviations, with "
        "its 95% interval; points right of the zero line mean higher in programme villages. "
        "Outcomes are grouped by goal.",
    },
    "methods_randomized": {
        "id": "Tiga penduga ditampilkan berdampingan: selisih survei lanjutan, selisih-dari-selisih "
        "(DiD, setara dengan efek tetap rumah tangga) dan ANCOVA (mengontrol nilai survei awal). "
        "{assigned} dipilih secara acak, jadi ANCOVA adalah penduga utama: dalam desain acak, "
        "ANCOVA tidak bias dan lebih efisien daripada DiD maupun selisih survei lanjutan, "
        "terutama bila indikator tidak terlalu berkorelasi antar putaran (McKenzie 2012).",
        "en": "Three estimators are shown side by side: the follow-up difference, "
        "difference-in-differences (DiD, equivalent to household fixed effects) and ANCOVA "
        "(controlling for the baseline value). {assigned} were randomized, so ANCOVA is the "
        "primary estimator: in a randomized design it is unbiased and more efficient than DiD or "
        "the follow-up difference, especially when outcomes are not strongly correlated across "
        "rounds (McKenzie 2012).",
    },
    "methods_matched": {
        "id": "Tiga penduga ditampilkan berdampingan: selisih survei lanjutan, selisih-dari-selisih "
        "(DiD) dan ANCOVA. Desa pembanding dipilih dengan pencocokan, bukan pengacakan, jadi DiD "
        "dan ANCOVA dilaporkan bersama: DiD bergantung pada asumsi tren paralel, ANCOVA pada "
        "ketidakbergantungan bersyarat pada nilai survei awal, dan keduanya mengapit dampak "
        "sebenarnya dalam kondisi yang umum (McKenzie 2012).",
        "en": "Three estimators are shown side by side: the follow-up difference, "
        "difference-in-differences (DiD) and ANCOVA. Comparison villages were matched, not "
        "randomized, so DiD and ANCOVA are reported together: DiD rests on parallel trends, "
        "ANCOVA on unconfoundedness given the baseline value, and under common conditions the two "
        "bracket the true effect (McKenzie 2012).",
    },
    "methods_strata": {
        "id": "Setiap regresi dampak dan uji keseimbangan memuat efek tetap untuk {n} strata "
        "pengacakan ({name}).",
        "en": "Every impact regression and balance test includes fixed effects for the {n} "
        "randomization strata ({name}).",
    },
    "methods_no_strata": {
        "id": "Studi ini tidak menyebut strata pengacakan, jadi regresi tidak memuat efek tetap strata.",
        "en": "The study names no randomization strata, so the regressions have no strata fixed effects.",
    },
    "methods_wild": {
        "id": "Dengan {clusters} klaster, nilai p dari galat baku berkelompok terlalu sering "
        "menolak, jadi laporan ini membaca nilai p bootstrap liar berkelompok: {draws} dengan "
        "bobot {weights} per klaster, dengan hipotesis nol “tanpa dampak” diterapkan pada setiap "
        "sampel bootstrap (bootstrap terbatas, WCR; Cameron, Gelbach dan Miller 2008). Nilai p "
        "inilah yang dipakai ringkasan, hitungan signifikansi dan nilai q.",
        "en": "With {clusters} clusters, p-values from clustered standard errors over-reject, so "
        "this report reads the wild cluster bootstrap p-value: {draws} with {weights} weights by "
        "cluster, with the null hypothesis of no effect imposed on every bootstrap sample "
        "(restricted, WCR; Cameron, Gelbach and Miller 2008). It is the p-value of the summary, "
        "of the significance counts and of the q-values.",
    },
    "wild_draws": {"id": "{n} tarikan", "en": "{n} draws"},
    "wild_enumerated": {
        "id": "semua {n} kombinasi tanda (setiap tarikan yang mungkin)",
        "en": "all {n} sign vectors (every possible draw)",
    },
    "methods_no_wild": {
        "id": "Nilai p berasal dari galat baku {se}; tidak ada bootstrap liar dalam proses ini.",
        "en": "p-values come from the {se} standard errors; this run has no wild bootstrap.",
    },
    "methods_rest": {
        "id": "Nilai q mengoreksi untuk banyak uji dalam satu tujuan (FDR tajam Anderson 2008); "
        "untuk indeks, antar tujuan. Perubahan sebelum–sesudah hanya deskriptif. Pendapatan per "
        "orang adalah jumlah semua sumber pendapatan dibagi jumlah anggota rumah tangga.",
        "en": "q-values correct for multiple tests within a goal (Anderson 2008 sharpened FDR); "
        "for the indices, across goals. The before/after change is descriptive only. Income per "
        "person is the sum of all income sources divided by household size.",
    },
    # The disclosure rule itself is analysis.shared.disclosure.disclosure_rule (one text for the reports,
    # the index and docs/disclosure.md); this adds the figures' top-coding.
    "methods_top_coding": {
        "id": "Pendapatan dalam gambar dibatasi pada persentil ke-99 gabungan; estimasi memakai nilai "
        "yang tidak dibatasi.",
        "en": "Income in figures is capped at the pooled 99th percentile; estimates use the uncapped values.",
    },
    "publication_note": {
        "id": "Versi LaTeX (booktabs) dari tabel-tabel ini ada di folder tables/ hasil proses: {files}.",
        "en": "LaTeX (booktabs) versions of these tables are in the run's tables/ folder: {files}.",
    },
    # Provenance
    "prov_study": {"id": "Studi", "en": "Study"},
    "prov_commit": {"id": "Commit git", "en": "Git commit"},
    "prov_not_git": {"id": "bukan checkout git", "en": "not a git checkout"},
    "prov_run_time": {
        "id": "Waktu jalan: {when} (laporan dihitung dalam {s} detik)",
        "en": "Run time: {when} (report computed in {s} s)",
    },
    "prov_rebuild": {"id": "Buat ulang", "en": "Rebuild"},
    "prov_parameters": {"id": "Parameter", "en": "Parameters"},
    "prov_inputs": {"id": "Berkas masukan (SHA-256)", "en": "Input files (SHA-256)"},
    "prov_packages": {"id": "Paket", "en": "Packages"},
    # Index page
    "index_lead": {
        "id": "{villages} desa. Angka tentang kurang dari {n} rumah tangga disembunyikan.",
        "en": "{villages} villages. Numbers about fewer than {n} households are hidden.",
    },
    "reason_small": {
        "id": "kurang dari {n} rumah tangga: angka disembunyikan",
        "en": "fewer than {n} households: figures hidden",
    },
    "quarantine_caption": {
        "id": "Catatan yang dikarantina per alasan",
        "en": "Quarantined records by reason",
    },
    "quarantine_reason": {"id": "Alasan karantina", "en": "Quarantine reason"},
    "minutes": {"id": "{n} menit", "en": "{n} minutes"},
    "why_possible_missing_code": {
        "id": "nilai yang mungkin kode “tidak ada jawaban”: {column}",
        "en": "a value that may be a no-answer code: {column}",
    },
    "why_outlier": {
        "id": "nilai yang sangat jauh dari nilai lainnya: {column}",
        "en": "a value far from all the others: {column}",
    },
    "why_outside_fieldwork_window": {
        "id": "wawancara di luar masa survei lapangan",
        "en": "an interview outside the fieldwork dates",
    },
    "why_too_short": {
        "id": "wawancara terlalu singkat (kurang dari {detail})",
        "en": "the interview is too short (under {detail})",
    },
    "why_end_before_start": {
        "id": "wawancara selesai sebelum dimulai",
        "en": "the interview ends before it starts",
    },
    "why_outside_indonesia": {
        "id": "koordinat di luar Indonesia: {column}",
        "en": "a coordinate outside Indonesia: {column}",
    },
    "why_invalid_nik_format": {
        "id": "NIK dengan format yang salah: {column}",
        "en": "an NIK in the wrong format: {column}",
    },
    "why_not_integer": {"id": "bukan bilangan bulat: {column}", "en": "not a whole number: {column}"},
    "why_out_of_range": {
        "id": "nilai di luar batas yang wajar: {column}",
        "en": "a value outside its valid range: {column}",
    },
    "why_duplicate_submission_conflict": {
        "id": "satu kiriman dengan dua isi yang berbeda",
        "en": "one submission with two different contents",
    },
    "why_duplicate_id_conflict": {
        "id": "dua wawancara berbeda dengan nomor rumah tangga yang sama",
        "en": "two different interviews with the same household id",
    },
    "why_unknown_choice": {
        "id": "jawaban di luar pilihan kuesioner: {column}",
        "en": "an answer not among the form's choices: {column}",
    },
    "why_implausible_date": {
        "id": "tanggal yang tidak masuk akal: {column}",
        "en": "an implausible date: {column}",
    },
    "why_unparseable_date": {
        "id": "tanggal yang tidak terbaca: {column}",
        "en": "a date that could not be read: {column}",
    },
    "why_unparseable_coordinate": {
        "id": "koordinat yang tidak terbaca: {column}",
        "en": "a coordinate that could not be read: {column}",
    },
    "why_unparseable_consent": {
        "id": "jawaban persetujuan yang tidak terbaca: {column}",
        "en": "a consent answer that could not be read: {column}",
    },
    "why_unparseable_weight": {
        "id": "bobot survei yang tidak terbaca: {column}",
        "en": "a survey weight that could not be read: {column}",
    },
    "why_unparseable_treatment": {
        "id": "kelompok program yang tidak terbaca: {column}",
        "en": "a programme arm that could not be read: {column}",
    },
    "why_unparseable_number": {
        "id": "angka yang tidak terbaca: {column}",
        "en": "a number that could not be read: {column}",
    },
    "why_unparseable_amount": {
        "id": "jumlah uang yang tidak terbaca: {column}",
        "en": "an amount that could not be read: {column}",
    },
    "why_ambiguous_number": {
        "id": "angka yang bisa dibaca dua cara (misalnya 1.500 atau 1,500): {column}",
        "en": "a number that reads two ways (such as 1.500 or 1,500): {column}",
    },
    # Index page (helper E): summary, status filter, links, columns and notes
    "index_summary_all": {
        "id": "Semua {total} laporan desa tersedia.",
        "en": "All {total} village reports are available.",
    },
    "index_summary": {
        "id": "{ok} dari {total} laporan desa tersedia",
        "en": "{ok} of {total} village reports available",
    },
    "index_summary_failed": {"id": "{n} gagal", "en": "{n} failed"},
    "index_summary_not_run": {"id": "{n} tidak dijalankan", "en": "{n} not run"},
    "index_summary_outdated": {"id": "{n} usang", "en": "{n} outdated"},
    "index_show": {"id": "Tampilkan:", "en": "Show:"},
    "index_show_failures": {"id": "Tampilkan desa yang gagal", "en": "Show the failed villages"},
    "index_show_all": {"id": "semua", "en": "all"},
    "index_show_failed": {"id": "gagal", "en": "failed"},
    "index_show_ok": {"id": "tersedia", "en": "available"},
    "index_show_hidden": {"id": "angka disembunyikan", "en": "figures hidden"},
    "index_show_not_run": {"id": "tidak dijalankan", "en": "not run"},
    "index_show_outdated": {"id": "usang", "en": "outdated"},
    "index_tables_link": {"id": "Tabel (CSV, LaTeX)", "en": "Tables (CSV, LaTeX)"},
    "index_run_link": {"id": "Catatan proses (run.json)", "en": "Run record (run.json)"},
    "index_all_arms": {"id": "Semua kelompok", "en": "All arms"},
    "index_income": {"id": "Median pendapatan per orang", "en": "Median income per person"},
    "index_score": {"id": "Skor partisipasi (0–6)", "en": "Participation score (0–6)"},
    "index_change": {"id": "Perubahan", "en": "Change"},
    "index_not_found": {"id": "Tidak ditemukan lagi", "en": "Not found again"},
    "index_quality": {"id": "Kualitas data (catatan)", "en": "Data quality (records)"},
    "index_quarantined": {"id": "Dikarantina", "en": "Quarantined"},
    "index_flagged": {"id": "Ditandai", "en": "Flagged"},
    "index_duplicates": {"id": "Duplikat", "en": "Duplicates"},
    "index_short": {"id": "Terlalu singkat", "en": "Too short"},
    "index_within_noise": {"id": "dalam batas kebetulan", "en": "within noise"},
    "index_noise_note": {
        "id": (
            "≈ di belakang perubahan: masih dalam batas kebetulan. Rentang dalam kurung adalah "
            "rentang 95%: rumah tangga desa itu sendiri diambil ulang secara acak {reps} kali pada "
            "setiap putaran survei (bootstrap). Bila rentang itu mencakup nol, perubahan sebesar ini "
            "bisa muncul hanya karena rumah tangga mana yang kebetulan diwawancarai. Perubahan "
            "sebelum–sesudah di satu desa bukan dampak program: laporan program membandingkan desa "
            "program dengan desa pembanding."
        ),
        "en": (
            "≈ after a change: within noise. The range in brackets is a 95% interval: the village's "
            "own households redrawn at random {reps} times in each round (bootstrap). When it "
            "includes zero, a change this size could come from which households happened to be "
            "interviewed. A village's before/after change is not the programme's effect: the "
            "programme report compares programme and comparison villages."
        ),
    },
    "index_quality_note": {
        "id": (
            "Kualitas data menghitung catatan kedua putaran survei: dikarantina (disisihkan saat "
            "pembersihan), ditandai (wawancara dengan tanda kualitas: terlalu singkat, di luar masa "
            "survei lapangan, atau nilai yang tidak biasa), duplikat (catatan dengan nomor rumah "
            "tangga yang sama tetapi jawaban berbeda) dan terlalu singkat (wawancara lebih singkat "
            "dari batas minimum studi). Ini angka pembersihan data, ditampilkan berapa pun besarnya."
        ),
        "en": (
            "Data quality counts the records of both rounds: quarantined (set aside in cleaning), "
            "flagged (an interview with a quality flag: too short, outside the fieldwork window, or "
            "an unusual value), duplicates (records sharing a household id with different answers) "
            "and too short (interviews shorter than the study's minimum). These are cleaning "
            "counts, shown at any size."
        ),
    },
}


class Safe(str):
    """A string that is already safe HTML (escaped text or markup built by this package)."""

    __slots__ = ()


def esc(value: object) -> Safe:
    """``value`` as HTML text, unless it is already :class:`Safe`.

    Every string from the data reaches a page through here (directly, or via :func:`join`,
    :func:`render` and ``report.element``), so this is where it is escaped and its bidi
    controls neutralised (:func:`analysis.shared.text.html_text`): a village name with U+202E
    cannot reverse the report's words after it. Attribute values use
    :func:`analysis.shared.text.html_attribute` instead.
    """
    if isinstance(value, Safe):
        return value
    return Safe(html_text(value))


def join(parts: Iterable[object], separator: str = "") -> Safe:
    """Concatenate parts, escaping every part that is not :class:`Safe`."""
    return Safe(html.escape(separator).join(esc(p) for p in parts))


def check_language(language: str) -> Language:
    """``language`` when it is ``id`` or ``en``; raises otherwise."""
    if language not in LANGUAGES:
        raise ValueError(f"language is {language!r}; expecting one of id, en")
    return "id" if language == "id" else "en"


def t(key: str, language: Language, **values: object) -> str:
    """The plain text ``key`` in ``language``, with ``{placeholders}`` filled (not escaped)."""
    return TEXT[key][check_language(language)].format(**values)


def render(key: str, language: Language, **values: object) -> Safe:
    """The text ``key`` as safe HTML: the template and every non-:class:`Safe` value are escaped."""
    template = html.escape(TEXT[key][check_language(language)], quote=False)
    return Safe(template.format(**{name: esc(value) for name, value in values.items()}))


#: Run-warning codes (``tables/warnings.csv``) under which no impact is tested, in the order
#: :func:`analysis.methods.few_clusters.inference_gap` checks them.
WITHHELD_CODES: tuple[str, ...] = ("one_cluster", "one_treated_cluster", "one_control_cluster")


def withheld_code(codes: Iterable[str]) -> str:
    """The first of ``codes`` under which no impact is tested (empty when none is)."""
    present = set(codes)
    return next((c for c in WITHHELD_CODES if c in present), "")


def withheld_reason(code: str, language: Language) -> Safe:
    """Why no interval or p-value is given: the run's warning ``code``, else "not computed"."""
    key = f"withheld_{code}" if code in WITHHELD_CODES else "withheld_not_computed"
    return render(key, language)


def label(mapping: dict[str, dict[str, str]], key: str, language: Language) -> str:
    """A label from one of the label tables, falling back to the key itself."""
    return mapping.get(key, {}).get(language, key)


# ---------------------------------------------------------------------------------------------
# Numbers. Indonesian writes 1.234,5; English 1,234.5. Minus is U+2212 so it never wraps apart.


def _finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _localize(text: str, language: Language) -> str:
    if language == "id":
        text = text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return text.replace("-", "−")


def number(value: object, language: Language, *, digits: int = 2, signed: bool = False) -> str:
    """A number with the language's separators (``1.234,56`` in Indonesian); ``–`` when missing."""
    if not _finite(value):
        return "–"
    x = float(value)  # type: ignore[arg-type]
    if round(x, digits) == 0:
        x = 0.0  # no "−0.00": a value that rounds to zero has no sign
    spec = f"{'+' if signed and x != 0 else ''},.{digits}f"
    return _localize(format(x, spec), language)


def integer(value: object, language: Language) -> str:
    """A whole number with thousands separators."""
    return number(value, language, digits=0)


#: Between "Rp" and its amount: a no-break space (U+00A0), so a line never ends on "Rp".
RP = "Rp\u00a0"


def rupiah(value: object, language: Language, *, signed: bool = False, round_to: int = 1000) -> str:
    """Money in the language's number style, rounded to ``round_to``.

    ``Rp 1.112.000`` in Indonesian, ``Rp 1,112,000`` in English (one convention per page), with a
    no-break space after ``Rp``. Rounding to Rp 1.000 keeps sentences readable and avoids
    suggesting false precision.
    """
    if not _finite(value):
        return "–"
    amount = round(float(value) / round_to) * round_to  # type: ignore[arg-type]
    text = _localize(f"{abs(amount):,.0f}", language)
    sign = "−" if amount < 0 else ("+" if signed and amount > 0 else "")
    return f"{sign}{RP}{text}"


def as_shown(value: float, digits: int) -> float:
    """``value`` as :func:`number` prints it with ``digits`` decimals, read back as a number.

    A difference a reader can check is computed from the rounded figures on the page: "+0,5"
    and "0,0" make "+0,5", whatever the unrounded values were.
    """
    return float(f"{value:.{digits}f}") if _finite(value) else float("nan")


def percent(value: object, language: Language, *, signed: bool = False, digits: int = 0) -> str:
    """A share (0.11) as a percentage (``11%``; ``+11%`` when signed)."""
    if not _finite(value):
        return "–"
    return number(float(value) * 100, language, digits=digits, signed=signed) + "%"  # type: ignore[arg-type]


def p_value(value: object, language: Language) -> str:
    """A p-value with two significant decimals, ``< 0.001`` below that."""
    if not _finite(value):
        return "–"
    p = float(value)  # type: ignore[arg-type]
    if p < 0.001:
        return "< " + number(0.001, language, digits=3)
    return number(p, language, digits=3 if p < 0.01 else 2)


def p_relation(value: object, language: Language) -> str:
    """``= 0.03`` or ``< 0.001``: a p-value after its symbol, with the right relation."""
    text = p_value(value, language)
    return text if text.startswith("<") else f"= {text}"


def significant_figures(value: object, language: Language, *, figures: int = 3, signed: bool = False) -> str:
    """A number with about ``figures`` significant digits (tables of mixed units)."""
    if not _finite(value):
        return "–"
    x = float(value)  # type: ignore[arg-type]
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    digits = max(0, figures - 1 - magnitude)
    return number(x, language, digits=min(digits, 6), signed=signed)


def rose_or_fell(change: float, language: Language) -> str:
    """The verb for a change: ``rose``/``fell`` (``naik``/``turun``), ``stayed the same`` at zero."""
    if not _finite(change):
        return "–"
    if change == 0:
        return t("verb_same", language)
    return t("verb_rose" if change > 0 else "verb_fell", language)


def reason_text(code: str, language: Language, *, label: Callable[[str], str] = str) -> str:
    """A cleaning reason code (``ambiguous_number:income_other``) as a phrase a reader understands.

    The part before ``:`` picks the phrase (``why_<kind>`` in :data:`TEXT`); the part after is
    the column, shown through ``label`` (the codebook's label, say), or for ``too_short`` the
    shortest plausible interview (``10min``). Several codes joined by ``;`` (one record, several
    reasons) become phrases joined by ``; ``. A code without a phrase is shown as it is.
    """
    phrases = []
    for part in (piece.strip() for piece in code.split(";")):
        if not part:
            continue
        kind, _, detail = part.partition(":")
        key = f"why_{kind}"
        if key not in TEXT:
            phrases.append(part)
        elif kind == "too_short":
            minutes = detail.removesuffix("min")
            shown_minutes = (
                t(
                    "minutes",
                    language,
                    n=number(float(minutes), language, digits=0 if float(minutes).is_integer() else 1),
                )
                if _finite(minutes)
                else detail
            )
            phrases.append(t(key, language, detail=shown_minutes))
        else:
            phrases.append(t(key, language, column=label(detail) if detail else "–"))
    return "; ".join(phrases)


def list_words(items: list[str], language: Language) -> str:
    """``a, b and c`` / ``a, b dan c``."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    conjunction = " dan " if language == "id" else " and "
    return ", ".join(items[:-1]) + conjunction + items[-1]
