"""Every heading, label and sentence of the reports, in Bahasa Indonesia and English.

Sentences are built from numbers by small functions here, so a report never contains text typed
by hand next to a number, and every data-derived string is HTML-escaped before it reaches
Markdown.
"""

from __future__ import annotations

import html
import math
from typing import Literal

Language = Literal["id", "en"]

TEXT: dict[str, dict[str, str]] = {
    "programme_title": {"id": "Laporan program", "en": "Programme report"},
    "village_title": {"id": "Laporan desa", "en": "Village report"},
    "design": {"id": "Desain evaluasi", "en": "Evaluation design"},
    "data_quality": {"id": "Kualitas data", "en": "Data quality"},
    "attrition": {"id": "Rumah tangga yang disurvei", "en": "Households surveyed"},
    "impacts": {"id": "Dampak program", "en": "Programme impacts"},
    "methods": {"id": "Metode", "en": "Methods"},
    "income": {"id": "Pendapatan", "en": "Income"},
    "participation": {"id": "Partisipasi", "en": "Participation"},
    "provenance": {"id": "Asal-usul angka", "en": "Provenance"},
    "baseline": {"id": "Data dasar", "en": "Baseline"},
    "followup": {"id": "Tindak lanjut", "en": "Follow-up"},
    "programme_villages": {"id": "Desa program", "en": "Programme villages"},
    "comparison_villages": {"id": "Desa pembanding", "en": "Comparison villages"},
    "this_village": {"id": "Desa ini", "en": "This village"},
    "suppressed": {
        "id": "disembunyikan (kurang dari {n} rumah tangga)",
        "en": "suppressed (fewer than {n} households)",
    },
    "rows_accounting": {
        "id": "Setiap baris data mentah berakhir di satu tempat: bersih, dikarantina (menunggu "
        "koreksi), atau dikeluarkan (dengan alasan). Jumlahnya harus sama dengan baris mentah.",
        "en": "Every raw row ends in exactly one place: clean, quarantined (waiting for a "
        "correction) or excluded (with a reason). The counts must add up to the raw rows.",
    },
    "before_after_caveat": {
        "id": "Perubahan sebelum–sesudah di desa ini saja tidak bisa disebut dampak program: "
        "banyak hal lain ikut berubah dalam dua tahun. Perbandingan dengan desa pembanding "
        "(selisih-dari-selisih) dapat ditafsirkan sebagai dampak, dengan asumsi tren yang sama "
        "tanpa program.",
        "en": "A before/after change in this village alone cannot be attributed to the "
        "programme: many other things changed over two years. The difference from comparison "
        "villages (difference-in-differences) can be, under the assumption that both would "
        "have followed the same trend without the programme.",
    },
    "methods_text": {
        "id": "Tiga penduga ditampilkan berdampingan (McKenzie 2012): selisih tindak lanjut, "
        "selisih-dari-selisih (DiD) dengan efek tetap rumah tangga, dan ANCOVA (mengontrol "
        "nilai data dasar). Dalam desain acak, ANCOVA adalah penduga utama karena paling "
        "efisien. Bila desa pembanding dipilih tanpa pengacakan, DiD dan ANCOVA dilaporkan "
        "bersama karena keduanya mengapit dampak sebenarnya. Galat baku dikelompokkan per "
        "desa (CR1, seperti Stata `vce(cluster)`), dengan uji t(G−1).",
        "en": "Three estimators are shown side by side (McKenzie 2012): the follow-up "
        "difference, difference-in-differences (DiD) with household fixed effects, and ANCOVA "
        "(controlling for the baseline value). In a randomized design ANCOVA is the primary "
        "estimate because it is the most efficient. When comparison villages were not "
        "randomized, DiD and ANCOVA are reported together because they bracket the true effect. "
        "Standard errors are clustered by village (CR1, as Stata's `vce(cluster)`), with "
        "t(G−1) tests.",
    },
}

ESTIMATOR_LABELS: dict[str, dict[str, str]] = {
    "followup_diff": {"id": "Selisih tindak lanjut", "en": "Follow-up difference"},
    "did": {"id": "Selisih-dari-selisih (DiD)", "en": "Difference-in-differences"},
    "ancova": {"id": "ANCOVA", "en": "ANCOVA"},
    "before_after": {"id": "Sebelum–sesudah (deskriptif)", "en": "Before/after (descriptive)"},
}


def t(key: str, language: Language, **values: object) -> str:
    """The text ``key`` in ``language``, with ``{placeholders}`` filled."""
    if language not in ("id", "en"):
        raise ValueError(f"language is {language!r}; expecting one of id, en")
    return TEXT[key][language].format(**values)


def esc(text: object) -> str:
    """Escape data-derived text for HTML and Markdown (village names, labels)."""
    escaped = html.escape(str(text), quote=True)
    # Markdown would otherwise turn these into emphasis, links or code.
    for ch in "*_`[]":
        escaped = escaped.replace(ch, "\\" + ch)
    return escaped


def rupiah(value: float, language: Language) -> str:
    """Format money the Indonesian way (``Rp 812.000``) in both languages."""
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{abs(value):,.0f}".replace(",", ".")
    return ("−" if value < 0 else "") + f"Rp {text}"


def percent(value: float, language: Language, *, signed: bool = False) -> str:
    """Format a share as a percentage with the language's decimal mark."""
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value * 100:+.0f}%" if signed else f"{value * 100:.0f}%"
    return text.replace("+", "+").replace("-", "−")


def number(value: float, language: Language, *, digits: int = 2) -> str:
    """Format a number with the language's decimal mark (``,`` in Indonesian)."""
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:,.{digits}f}"
    if language == "id":
        text = text.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")
    return text.replace("-", "−")


def income_sentence(
    *,
    before: float,
    after: float,
    comparison_change: float | None,
    ci: tuple[float, float] | None,
    language: Language,
) -> str:
    """A plain-language sentence on median income per person, with its uncertainty.

    Example (en): "Median monthly income per person rose from Rp 812.000 to Rp 905.000 (+11%);
    in comparison villages it rose by 4%."
    """
    change = (after - before) / before if before else float("nan")
    if language == "en":
        verb = "rose" if after >= before else "fell"
        text = (
            f"Median monthly income per person {verb} from {rupiah(before, language)} to "
            f"{rupiah(after, language)} ({percent(change, language, signed=True)})"
        )
        if comparison_change is not None and math.isfinite(comparison_change):
            cverb = "rose" if comparison_change >= 0 else "fell"
            text += f"; in comparison villages it {cverb} by {percent(abs(comparison_change), language)}"
        text += "."
        if ci is not None:
            text += (
                f" The programme's estimated effect on average income per person (DiD) lies between "
                f"{rupiah(ci[0], language)} and {rupiah(ci[1], language)} a month (95% confidence interval)."
            )
        return text
    verb = "naik" if after >= before else "turun"
    text = (
        f"Median pendapatan bulanan per orang {verb} dari {rupiah(before, language)} menjadi "
        f"{rupiah(after, language)} ({percent(change, language, signed=True)})"
    )
    if comparison_change is not None and math.isfinite(comparison_change):
        cverb = "naik" if comparison_change >= 0 else "turun"
        text += f"; di desa pembanding {cverb} {percent(abs(comparison_change), language)}"
    text += "."
    if ci is not None:
        text += (
            f" Perkiraan dampak program pada rata-rata pendapatan per orang (DiD) antara "
            f"{rupiah(ci[0], language)} dan {rupiah(ci[1], language)} per bulan (selang kepercayaan 95%)."
        )
    return text
