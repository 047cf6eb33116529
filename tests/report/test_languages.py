"""Reports in two languages from one run: file names, links, plain Indonesian, one number style per page.

The unit tests build nothing; the end-to-end ones read the session's demo run (``demo_run``,
tests/conftest.py), which ``berdaya run --language id,en`` wrote (tests/report_demo.py).
"""

from __future__ import annotations

import html as html_lib
import json
import re
import shutil
from pathlib import Path

import pytest
from report_demo import DEMO_VILLAGES, ENGLISH_PROGRAMME, ENGLISH_VILLAGE, ENGLISH_VILLAGE_PAGE, DemoRun

from analysis.errors import StudyError
from analysis.inputs.study import Study, load_study
from analysis.report.text import TEXT
from analysis.run import cli, pipeline
from analysis.run.pipeline import in_languages, village_file_names, village_parameters
from analysis.shared import layout

MINIMAL = """\
rounds: {baseline: baseline.csv, followup: followup.csv}
id: hhid
treatment: treat
outcomes: [income]
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "baseline.csv").write_text("hhid,treat,income\n1,1,10\n")
    (tmp_path / "followup.csv").write_text("hhid,treat,income\n1,1,12\n")
    return tmp_path


def _study(folder: Path, extra: str) -> Study:
    (folder / "study.yml").write_text(MINIMAL + extra)
    return load_study(folder / "study.yml")


# ---------------------------------------------------------------------------------------------
# The `languages` key, --language and the file names


def test_languages_key_lists_the_report_languages_first_one_first(folder: Path) -> None:
    assert _study(folder, "").report_languages == ("id",)
    assert _study(folder, "language: en\n").report_languages == ("en",)
    study = _study(folder, "languages: [en, id]\n")
    assert study.language == "en" and study.report_languages == ("en", "id")
    assert _study(folder, "language: id\nlanguages: [id, en]\n").report_languages == ("id", "en")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("languages: [id, fr]\n", "`languages[2]` is 'fr', expecting one of id, en"),
        ("languages: []\n", "`languages` is [], expecting a list such as [id, en]"),
        ("languages: [en, en]\n", "`languages` lists en twice: list each language once"),
        ("language: en\nlanguages: [id, en]\n", "`language` is en but `languages` starts with id"),
    ],
)
def test_a_wrong_languages_key_is_one_line(folder: Path, extra: str, expected: str) -> None:
    with pytest.raises(StudyError) as caught:
        _study(folder, extra)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_language_option_is_checked_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["run", "--language", "id,fr", "--out", str(tmp_path / "out")])
    assert caught.value.code == 2
    assert "expecting id, en or id,en, got id,fr" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_first_language_keeps_todays_names_the_others_add_their_code() -> None:
    assert layout.in_language("0101.html", "id", first="id") == "0101.html"
    assert layout.in_language("0101.html", "en", first="id") == "0101.en.html"
    assert layout.in_language(layout.PROGRAMME_HTML, "id", first="en") == "programme.id.html"
    names = village_file_names(["0101", "../0101", "0102"])
    files = in_languages(names, ("id", "en"), first="id")
    assert files["id"] == {"0101": "0101.html", "../0101": "0101_2.html", "0102": "0102.html"}
    assert files["en"] == {"0101": "0101.en.html", "../0101": "0101_2.en.html", "0102": "0102.en.html"}


def test_a_one_language_run_passes_no_links_so_its_reports_keep_their_keys(tmp_path: Path) -> None:
    study = _study_object(tmp_path)
    alone = village_parameters(study, "0101", processed=tmp_path, tables=tmp_path)
    assert "other_languages" not in alone and alone["language"] == "id"
    both = village_parameters(
        study, "0101", processed=tmp_path, tables=tmp_path, language="en", other_languages={"id": "0101.html"}
    )
    assert both["language"] == "en" and both["other_languages"] == {"id": "0101.html"}


def _study_object(folder: Path) -> Study:
    (folder / "baseline.csv").write_text("hhid,treat,income\n1,1,10\n")
    (folder / "followup.csv").write_text("hhid,treat,income\n1,1,12\n")
    return _study(folder, "")


# ---------------------------------------------------------------------------------------------
# The demo, written in Indonesian and English by one run


def _visible(page: Path) -> str:
    """The words of a page before its provenance block (hashes and versions are not prose)."""
    text = page.read_text(encoding="utf-8")
    body = text[text.index("<body") :]
    body = body.split('class="provenance"')[0]
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", body))


def test_one_run_writes_both_languages_without_redoing_the_data_stages(demo_run: DemoRun) -> None:
    out, log = demo_run.out, demo_run.run.stderr
    for name in ("clean baseline ...", "construct panel ...", "estimate impacts ..."):
        assert log.count(name) == 1, name
    assert "programme report (en)" in log
    for village in DEMO_VILLAGES:
        assert (out / "villages" / f"{village}.html").is_file() and (
            out / "villages" / f"{village}.en.html"
        ).is_file()
    assert (out / ENGLISH_PROGRAMME).is_file() and (out / "index.en.html").is_file()
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"]["languages"] == ["id", "en"]
    english = {r["village"]: r for r in record["translations"]["en"]}
    assert sorted(english) == DEMO_VILLAGES and all(r["status"] == "ok" for r in english.values())
    assert {r["file"] for r in record["villages"]} == {f"{v}.html" for v in DEMO_VILLAGES}
    # One LaTeX file, in the report language: the English programme report does not write it.
    assert "Dampak program" in (out / "tables" / layout.PROGRAMME_TEX).read_text(encoding="utf-8")


def test_every_page_links_to_itself_in_the_other_language(demo_run: DemoRun) -> None:
    out = demo_run.out
    for village in DEMO_VILLAGES:
        indonesian = (out / "villages" / f"{village}.html").read_text(encoding="utf-8")
        english = (out / "villages" / f"{village}.en.html").read_text(encoding="utf-8")
        assert f'<a href="{village}.en.html">English</a>' in indonesian
        assert f'<a href="{village}.html">Bahasa Indonesia</a>' in english
        assert '<html lang="id">' in indonesian and '<html lang="en">' in english
    assert '<a href="programme.en.html">English</a>' in (out / "programme.html").read_text(encoding="utf-8")
    assert '<a href="programme.html">Bahasa Indonesia</a>' in (out / ENGLISH_PROGRAMME).read_text(
        encoding="utf-8"
    )
    assert 'href="index.en.html"' in (out / "index.html").read_text(encoding="utf-8")


#: What a village meeting is not asked to know (issue 14), and the calques it had become.
JARGON = (
    "ANCOVA",
    "galat baku",
    "bootstrap",
    "simpangan baku",
    "Kling",
    "Liebman",
    "berlian",
    "tindak lanjut",
)


def test_the_indonesian_village_reports_speak_plainly(demo_run: DemoRun) -> None:
    for village in DEMO_VILLAGES:
        words = _visible(demo_run.out / "villages" / f"{village}.html")
        found = [word for word in JARGON if word.lower() in words.lower()]
        assert found == [], (village, found)
        assert "Belah ketupat" in words
        assert TEXT["how_ancova"]["id"] in words or TEXT["how_did"]["id"] in words
        # Reason codes and raw names never reach the page.
        assert not re.search(r"\b[a-z]+_[a-z_]+:[a-z_]+\b", words), village
    # The technical line stays in the programme report.
    assert "bootstrap" in _visible(demo_run.out / "programme.html")


def test_each_page_writes_numbers_in_its_language(demo_run: DemoRun) -> None:
    out = demo_run.out
    english = [out / ENGLISH_PROGRAMME, out / "index.en.html", *sorted((out / "villages").glob("*.en.html"))]
    indonesian = [
        out / "programme.html",
        out / "index.html",
        *(out / "villages" / f"{v}.html" for v in DEMO_VILLAGES),
    ]
    amounts = 0
    for page in english:
        words = _visible(page)
        assert not re.search(r"\d\.\d{3}\.\d{3}", words), page.name
        assert not re.search(r"\d,\d\d?(?!\d)", words), page.name  # no decimal comma
        amounts += len(re.findall(r"Rp\u00a0\d{1,3}(,\d{3})+", words))
        assert not re.search(r"Rp \d", words), page.name  # "Rp" is kept with its amount
    for page in indonesian:
        words = _visible(page)
        assert not re.search(r"\d,\d{3},\d{3}", words), page.name
        assert not re.search(r"Rp \d", words), page.name
        amounts += len(re.findall(r"Rp\u00a0\d{1,3}(\.\d{3})+", words))
    assert amounts >= 10  # the checks above had amounts to look at
    village = (out / ENGLISH_VILLAGE_PAGE).read_text(encoding="utf-8")
    assert re.search(r"report computed in \d+\.\d s", village)
    indonesian_village = (out / "villages" / f"{ENGLISH_VILLAGE}.html").read_text(encoding="utf-8")
    assert re.search(r"laporan dihitung dalam \d+,\d detik", indonesian_village)


def test_a_second_run_reuses_every_report_in_both_languages(
    demo_run: DemoRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A copy of the output folder, run again on the same study file (a moved study folder
    # names its inputs differently, and that alone reruns the reports).
    out = tmp_path / "out"
    shutil.copytree(demo_run.out, out, symlinks=True)
    record = json.loads((out / "run.json").read_text())
    # The build's code and package fingerprint: an edit to src/ since the build (another
    # developer's, in a shared checkout) would otherwise rerun every step and test nothing.
    monkeypatch.setattr(pipeline, "environment", lambda study: record["incremental"]["environment"])
    lines: list[str] = []
    code = pipeline.run_study(
        demo_run.study,
        out=out,
        workers=2,
        languages=["id", "en"],
        progress=False,
        log=lines.append,
    )
    assert code == 0, lines
    assert "village reports: all 4 unchanged, skipped" in lines
    assert "village reports (en): all 4 unchanged, skipped" in lines
    assert "programme report (en): unchanged, skipped" in lines
    assert not any(line.endswith(" ...") for line in lines), lines  # no stage ran again
    again = json.loads((out / "run.json").read_text())
    assert {r["file"] for r in again["translations"]["en"]} == {f"{v}.en.html" for v in DEMO_VILLAGES}
