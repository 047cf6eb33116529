"""Bilingual text: every string in both languages, numbers written the local way, escaping by construction."""

from __future__ import annotations

import string

import pytest

from analysis.report.text import (
    ESTIMATOR_LABELS,
    FAMILY_LABELS,
    GOALS,
    TEXT,
    Safe,
    check_language,
    esc,
    join,
    list_words,
    number,
    p_relation,
    p_value,
    percent,
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


def test_rupiah_is_indonesian_in_both_languages_and_rounded() -> None:
    assert rupiah(812_345, "en") == "Rp 812.000"
    assert rupiah(812_345, "id") == "Rp 812.000"
    assert rupiah(-1_380_000, "en") == "−Rp 1.380.000"
    assert rupiah(85_000, "id", signed=True) == "+Rp 85.000"
    assert rupiah(None, "en") == "–"  # type: ignore[arg-type]


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
