"""Bilingual text: every string in both languages, numbers written the local way, escaping by construction."""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
import pytest

from analysis.report.blocks import language_links
from analysis.report.text import (
    ESTIMATOR_LABELS,
    FAMILY_LABELS,
    GOALS,
    TEXT,
    WITHHELD_CODES,
    Safe,
    as_shown,
    check_language,
    esc,
    join,
    list_words,
    number,
    p_relation,
    p_value,
    percent,
    reason_text,
    render,
    rose_or_fell,
    rupiah,
    significant_figures,
    t,
)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXT))
def test_every_text_exists_in_both_languages_with_the_same_placeholders(key: str) -> None:
    entry = TEXT[key]
    assert set(entry) == {"id", "en"}
    assert entry["id"].strip() and entry["en"].strip()
    assert _fields(entry["id"]) == _fields(entry["en"]), key


def test_label_tables_cover_both_languages() -> None:
    for table in (FAMILY_LABELS, ESTIMATOR_LABELS):
        for key, labels in table.items():
            assert set(labels) == {"id", "en"}, key
    assert set(GOALS) <= set(FAMILY_LABELS)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="expecting one of id, en"):
        check_language("fr")
    with pytest.raises(ValueError):
        t("summary", "de")  # type: ignore[arg-type]


def test_render_escapes_values_and_the_template() -> None:
    html = render("impact_headline", "en", outcome="<script>alert(1)</script>", estimator="A&B",
                  effect="1", low="0", high="2", significance=Safe("<b>ok</b>"))  # fmt: skip
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "A&amp;B" in html
    assert "<b>ok</b>" in html  # Safe markup made by the package passes through
    assert "q &lt; 0.05" in render("indices_strong", "en", goals="x")  # the template's own "<"


def test_esc_and_join() -> None:
    assert esc('"x" <y>') == "&quot;x&quot; &lt;y&gt;"
    assert esc(Safe("<i>a</i>")) == "<i>a</i>"
    assert join(["<", Safe("<br>"), ">"]) == "&lt;<br>&gt;"


def test_numbers_are_written_the_local_way() -> None:
    assert number(1234.5, "id") == "1.234,50"
    assert number(1234.5, "en") == "1,234.50"
    assert number(-0.25, "en", signed=True) == "−0.25"
    assert number(0.26, "id", signed=True, digits=1) == "+0,3"
    assert number(float("nan"), "en") == "–"
    assert number(-0.001, "id", signed=True) == "0,00"  # rounds to zero: no sign
    assert percent(0.113, "en", signed=True) == "+11%"
    assert percent(0.1125, "id", digits=1) == "11,2%"


def test_rupiah_follows_the_language_and_keeps_rp_with_its_amount() -> None:
    nbsp = "\u00a0"  # "Rp" never ends a line apart from its amount
    assert rupiah(1_112_345, "id") == f"Rp{nbsp}1.112.000"
    assert rupiah(1_112_345, "en") == f"Rp{nbsp}1,112,000"
    assert rupiah(-1_380_000, "en") == f"−Rp{nbsp}1,380,000"
    assert rupiah(85_000, "id", signed=True) == f"+Rp{nbsp}85.000"
    assert rupiah(None, "en") == "–"  # type: ignore[arg-type]


def test_figures_shown_are_read_back_as_printed() -> None:
    # "+0,5" and "0,0" on the page make "+0,5", not the "+0,6" of the unrounded values.
    own, other = 0.54, 0.04
    assert number(as_shown(own, 1) - as_shown(other, 1), "id", digits=1, signed=True) == "+0,5"
    assert number(own - other, "id", digits=1, signed=True) == "+0,5"
    assert number(0.56 - 0.04, "id", digits=1, signed=True) == "+0,5"
    assert number(as_shown(0.56, 1) - as_shown(0.04, 1), "id", digits=1, signed=True) == "+0,6"
    assert np.isnan(as_shown(float("nan"), 1))


def test_p_values() -> None:
    assert p_value(0.0004, "en") == "< 0.001"
    assert p_value(0.0004, "id") == "< 0,001"
    assert p_value(0.034, "en") == "0.03"
    assert p_value(0.0072, "en") == "0.007"
    assert p_relation(0.0004, "en") == "< 0.001" and p_relation(0.2, "id") == "= 0,20"


def test_significant_figures_for_mixed_units() -> None:
    assert significant_figures(0.061432, "en") == "0.0614"
    assert significant_figures(887075.8, "en") == "887,076"
    assert significant_figures(0, "en") == "0"


def test_words() -> None:
    assert rose_or_fell(0.1, "en") == "rose" and rose_or_fell(-1, "id") == "turun"
    assert rose_or_fell(0.0, "en") == "stayed the same"
    assert list_words(["a", "b", "c"], "en") == "a, b and c"
    assert list_words(["a", "b"], "id") == "a dan b"


# ---------------------------------------------------------------------------------------------
# One catalogue: every phrase of the reports is a key of TEXT, and every key used exists

SRC = Path(__file__).resolve().parents[2] / "src" / "analysis"
#: t("key", ...) / render("key", ...) / TEXT["key"] with a literal key.
_KEY_USE = re.compile(r"""\b(?:t|render)\(\s*"([a-z0-9_]+)"|TEXT\["([a-z0-9_]+)"\]""")
#: Keys built as f"prefix_{...}": the prefix and every value the code can give it.
DYNAMIC = {
    "how_": ("ancova", "did", "followup_diff", "before_after"),
    "chance_withheld_": (*WITHHELD_CODES, "not_computed"),
    "withheld_": (*WITHHELD_CODES, "not_computed"),
}


def _used_keys() -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for match in _KEY_USE.finditer(path.read_text(encoding="utf-8")):
            used.setdefault(match.group(1) or match.group(2), []).append(path.name)
    return used


def test_every_key_used_in_the_code_is_in_the_catalogue() -> None:
    used = _used_keys()
    assert len(used) > 100  # the pattern finds the reports' keys
    missing = {key: files for key, files in used.items() if key not in TEXT}
    assert missing == {}
    for prefix, values in DYNAMIC.items():
        assert [v for v in values if f"{prefix}{v}" not in TEXT] == [], prefix


def test_the_village_report_has_no_phrase_outside_the_catalogue() -> None:
    # Sentences and labels in two languages live in text.py, not as {"id": ..., "en": ...}
    # literals or language tests in the modules that build the village report.
    for name in ("village.py", "summaries.py", "blocks.py"):
        code = (SRC / "report" / name).read_text(encoding="utf-8")
        assert '{"id":' not in code and '== "id"' not in code and "== 'id'" not in code, name


#: Words a village meeting should not have to know, and calques of them.
JARGON = {
    "id": (
        "ANCOVA",
        "galat baku",
        "bootstrap",
        "simpangan baku",
        "Kling",
        "Liebman",
        "berlian",
        "klaster",
        "p ",
    ),
    "en": ("ANCOVA", "standard error", "bootstrap", "standard deviation", "Kling", "cluster", "p-value"),
}


def _village_keys() -> set[str]:
    code = (SRC / "report" / "village.py").read_text(encoding="utf-8")
    keys = {m.group(1) or m.group(2) for m in _KEY_USE.finditer(code)}
    keys |= {f"how_{e}" for e in DYNAMIC["how_"]} | {
        f"chance_withheld_{c}" for c in DYNAMIC["chance_withheld_"]
    }
    # Labels the village figures draw (analysis.report.figures) and the blocks around them.
    keys |= {"index_axis", "programme_average", "this_village_baseline", "this_village_followup"}
    return keys


@pytest.mark.parametrize("language", ["id", "en"])
def test_village_report_phrases_are_plain(language: str) -> None:
    keys = _village_keys()
    assert {"programme_wide", "goals_explain", "goals_caption", "how_ancova"} <= keys
    for key in sorted(keys):
        text = TEXT[key][language]
        found = [word for word in JARGON[language] if re.search(rf"\b{re.escape(word)}\b", text, re.I)]
        assert found == [], (key, text)


def test_marker_shapes_and_the_two_surveys_have_indonesian_names() -> None:
    assert TEXT["goals_caption"]["id"].startswith("Belah ketupat")
    assert "lingkaran" in TEXT["goals_caption"]["id"]
    # One word for each survey round everywhere, not the calque "tindak lanjut".
    for key, entry in TEXT.items():
        assert "tindak lanjut" not in entry["id"].lower() and "data dasar" not in entry["id"].lower(), key


def test_reason_codes_become_phrases_with_the_column_label() -> None:
    labels = {"income_other": "Pendapatan lain"}
    text = reason_text("ambiguous_number:income_other", "id", label=lambda c: labels.get(c, c))
    assert text == "angka yang bisa dibaca dua cara (misalnya 1.500 atau 1,500): Pendapatan lain"
    assert "ambiguous_number" not in text
    assert reason_text("too_short:7.5min", "id") == "wawancara terlalu singkat (kurang dari 7,5 menit)"
    assert reason_text("too_short:10min;duplicate_id_conflict", "en") == (
        "the interview is too short (under 10 minutes); two different interviews with the same household id"
    )
    assert reason_text("some_new_check:x", "en") == "some_new_check:x"  # unknown: shown as it is


#: The kinds of quarantine reason the cleaning writes (clean/round.py, validation.py, quality.py).
REASON_KINDS = (
    "ambiguous_number", "unparseable_amount", "unparseable_number", "unparseable_treatment",
    "unparseable_weight", "unparseable_consent", "unparseable_coordinate", "unparseable_date",
    "implausible_date", "unknown_choice", "duplicate_id_conflict", "duplicate_submission_conflict",
    "out_of_range", "not_integer", "invalid_nik_format", "outside_indonesia", "end_before_start",
    "too_short", "outside_fieldwork_window", "outlier",
)  # fmt: skip


def test_every_reason_code_the_cleaning_writes_has_a_phrase() -> None:
    code = "\n".join(p.read_text(encoding="utf-8") for p in (SRC / "clean").glob("*.py"))
    for kind in REASON_KINDS:
        # The kind is still written as such (unparseable_<kind> is built from _kind()).
        assert kind in code or kind.removeprefix("unparseable_") in code, kind
        for language in ("id", "en"):
            phrase = reason_text(f"{kind}:income_pc", language, label=lambda c: "Pendapatan per orang")
            assert kind not in phrase and phrase, (kind, language)


def test_language_links_name_each_language_in_itself_and_escape_the_target() -> None:
    html = language_links("id", {"en": '0101.en.html"><script>'})
    assert html.startswith('<p class="language-links">Baca dalam bahasa lain: <a href="0101.en.html')
    assert ">English</a>" in html and "<script>" not in html
    assert language_links("en", {"en": "x.html"}) == ""  # the page itself: no link
    assert language_links("en", {}) == ""
