"""Building blocks shared by the reports: safe HTML fragments, tables, figures, provenance.

The notebooks display only objects made here. Each renders itself as HTML whose every
data-derived string was escaped (:mod:`analysis.report.text`); nbconvert's sanitizer then checks
it a second time (:mod:`analysis.report.html_export`). Counts carry ``class="n"`` and statistics carry
``data-base`` (their number of households), so :func:`analysis.shared.disclosure.scan_html` can verify a
finished page.
"""

from __future__ import annotations

import base64
import html as html_lib
import io
import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from matplotlib.figure import Figure

from analysis.construct.indicators import CONSTRUCTED
from analysis.estimate import latex
from analysis.estimate.latex import LATEX_SPECIAL
from analysis.inputs.codebook import Codebook
from analysis.inputs.study import Study, StudyDesign
from analysis.report.text import (
    FAMILY_LABELS,
    LANGUAGE_NAMES,
    Language,
    Safe,
    esc,
    integer,
    join,
    number,
    render,
    t,
)
from analysis.shared import layout
from analysis.shared.files import hash_inputs, read_csv
from analysis.shared.text import html_attribute, strip_bidi_controls
from analysis.shared.versions import git_commit, package_versions

# ---------------------------------------------------------------------------------------------
# HTML fragments


@dataclass(frozen=True, repr=False)
class Html:
    """A fragment of safe HTML, displayed as ``text/html`` by the notebook."""

    markup: Safe

    def _repr_html_(self) -> str:
        return str(self.markup)

    def __str__(self) -> str:
        return str(self.markup)

    def __repr__(self) -> str:
        # What JupyterLab's plain-text view and a console show: the words, not the markup.
        return plain_text(self.markup)


def _attribute_value(value: object) -> str:
    # An attribute cannot hold <bdi>, so a value from the data loses its bidi controls instead.
    return value if isinstance(value, Safe) else html_attribute(value)


def _attributes(attrs: dict[str, object]) -> str:
    # Python names become attribute names: ``data_base`` → ``data-base``, ``class_`` → ``class``.
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{_attribute_value(value)}"'
        for name, value in attrs.items()
        if value is not None
    )


def element(tag: str, content: object = "", *, cls: str | None = None, **attrs: object) -> Safe:
    """``<tag class=… attrs…>content</tag>`` with the content escaped unless it is :class:`Safe`."""
    return Safe(f"<{tag}{_attributes({'class': cls} | attrs)}>{esc(content)}</{tag}>")


def void_element(tag: str, **attrs: object) -> Safe:
    """An element without content (``<input …>``), attributes escaped."""
    return Safe(f"<{tag}{_attributes(attrs)}>")


def heading(text: object, *, level: int = 2, anchor: str | None = None) -> Safe:
    """A heading; ``anchor`` gives it an id for links."""
    return element(f"h{level}", text, id=anchor)


def paragraph(content: object, *, cls: str | None = None) -> Safe:
    """A paragraph of escaped (or already safe) content."""
    return element("p", content, cls=cls)


def note(content: object) -> Safe:
    """A muted explanatory paragraph."""
    return paragraph(content, cls="note")


def bullets(items: Iterable[object]) -> Safe:
    """An unordered list."""
    return element("ul", join(element("li", item) for item in items))


def language_links(language: Language, other_languages: Mapping[str, str]) -> Safe:
    """A line linking the page to itself in the run's other languages (empty when there are none).

    ``other_languages`` maps a language code to the same report in that language, relative to
    this page (``0101.en.html``); each link is named in its own language (“English”).
    """
    links = [
        element("a", LANGUAGE_NAMES.get(code, code), href=href)
        for code, href in sorted(other_languages.items())
        if code != language and href
    ]
    if not links:
        return Safe("")
    return paragraph(join([t("other_languages", language), " ", join(links, " · ")]), cls="language-links")


def fragment(*parts: object) -> Html:
    """Join safe parts into one displayable fragment."""
    return Html(join(parts, "\n"))


def count(value: float | int | None, *, language: Language, min_cell: int) -> Safe:
    """A household count, marked for the disclosure scan; hidden when small or when ``None``.

    ``None`` means a complementary suppression decided elsewhere: the text is the same
    “hidden” either way, so a reader cannot tell the small cell from its complement.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or 0 < value < min_cell:
        return element("span", t("hidden", language), cls="n suppressed")
    return element("span", integer(value, language), cls="n")


def fieldwork_count(value: float | int, *, language: Language) -> Safe:
    """A fieldwork or cleaning count, shown at any size (``docs/disclosure.md``, rule 4).

    Households not found again or new at follow-up, and records quarantined, excluded or
    corrected (:data:`analysis.shared.disclosure.FIELDWORK_COUNTS`), describe the survey and the
    cleaning, not anything a household answered. Class ``n fieldwork`` tells the disclosure scan.
    """
    return element("span", integer(value, language), cls="n fieldwork")


def fewer_than(min_cell: int, *, language: Language) -> Safe:
    """``fewer than 10`` as a hidden count (primary suppression in a sentence)."""
    return element("span", t("fewer_than", language, n=min_cell), cls="n suppressed")


def statistic(text: str, *, base: int) -> Safe:
    """A statistic computed from ``base`` households; the base is kept for the disclosure scan."""
    return element("span", text, cls="stat", data_base=str(int(base)))


# ---------------------------------------------------------------------------------------------
# Tables


Align = Literal["left", "right"]


@dataclass(frozen=True)
class Column:
    """A table column: header text, alignment and an optional CSS class for its cells."""

    header: str
    align: Align = "right"
    cls: str | None = None


@dataclass(frozen=True)
class GroupRow:
    """A heading row inside a table (an outcome family), spanning every column."""

    text: str


@dataclass(frozen=True)
class Table:
    """A table rendered as plain escaped HTML (and as LaTeX for papers).

    pandas' notebook display and ``Styler`` emit ``<style>`` blocks that the report sanitizer
    escapes, and ``Styler`` does not escape cells by default (``docs/bad-inputs.md`` §4.2); this emits
    only table markup, every cell escaped unless it is :class:`Safe` markup made by this package.
    """

    columns: Sequence[Column]
    rows: Sequence[Sequence[object] | GroupRow]
    caption: str | None = None
    notes: Sequence[object] = field(default_factory=tuple)
    cls: str = "data"

    def _repr_html_(self) -> str:
        head = join(
            element("th", c.header, cls="left" if c.align == "left" else None, scope="col")
            for c in self.columns
        )
        body = []
        for row in self.rows:
            if isinstance(row, GroupRow):
                body.append(
                    element(
                        "tr",
                        element("th", row.text, scope="colgroup", colspan=str(len(self.columns))),
                        cls="group",
                    )
                )
                continue
            cells = []
            for column, value in zip(self.columns, row, strict=True):
                classes = " ".join(x for x in (column.cls, "left" if column.align == "left" else "") if x)
                cells.append(element("td", "–" if value is None else value, cls=classes or None))
            body.append(element("tr", join(cells)))
        caption = element("caption", self.caption) if self.caption else ""
        table = element(
            "table",
            join([caption, element("thead", element("tr", head)), element("tbody", join(body))]),
            cls=self.cls,
        )
        wrapped = element("div", table, cls="wide")
        if self.notes:
            wrapped = join([wrapped, *(note(n) for n in self.notes)])
        return str(wrapped)

    def __repr__(self) -> str:
        return f"Table({len(self.rows)} rows × {len(self.columns)} columns)"

    def to_latex(self, *, label: str | None = None) -> str:
        """A booktabs ``table`` environment with every cell escaped for LaTeX."""
        spec = "".join("l" if c.align == "left" else "r" for c in self.columns)
        lines = [
            "\\begin{table}[htbp]",
            "\\centering",
        ]
        if self.caption:
            # The caption may hold markup (a household count marked for the disclosure scan).
            lines.append(f"\\caption{{{latex_escape(plain_text(self.caption))}}}")
        if label:
            lines.append(f"\\label{{{latex_escape(label)}}}")
        lines += [
            f"\\begin{{tabular}}{{{spec}}}",
            "\\toprule",
            " & ".join(latex_escape(c.header) for c in self.columns) + " \\\\",
            "\\midrule",
        ]
        for row in self.rows:
            if isinstance(row, GroupRow):
                lines.append(
                    f"\\multicolumn{{{len(self.columns)}}}{{l}}{{\\textit{{{latex_escape(row.text)}}}}} \\\\"
                )
                continue
            lines.append(" & ".join(latex_escape(plain_text(v)) for v in row) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        for n in self.notes:
            lines.append(f"\\par\\footnotesize {latex_escape(plain_text(n))}")
        lines.append("\\end{table}")
        return "\n".join(lines)


def plain_text(value: object) -> str:
    """The visible text of a cell (markup removed, entities decoded)."""
    if value is None:
        return "–"
    return html_lib.unescape(re.sub(r"<[^>]+>", "", str(value)))


# The characters of analysis.estimate.latex, plus the typographic symbols report text uses.
_LATEX_SPECIAL = {
    **LATEX_SPECIAL,
    "−": "$-$",
    "≥": r"$\geq$",
    "<": r"$<$",
    ">": r"$>$",
    "×": r"$\times$",
    "\u00a0": "~",  # the no-break space after "Rp"
}


def latex_escape(text: str) -> str:
    """Escape text for LaTeX so data-derived strings can never become commands.

    Bidi controls are dropped: LaTeX engines reject or ignore them.
    """
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in strip_bidi_controls(str(text)))


# ---------------------------------------------------------------------------------------------
# Figures


@dataclass(frozen=True)
class FigureImage:
    """A figure as an embedded PNG with alt text.

    Returning PNG bytes rather than the Figure makes the report independent of the kernel's
    matplotlib backend; dropping the PNG's software tag keeps the bytes reproducible. The alt
    text reaches the page through nbconvert's own escaping of image metadata.
    """

    png: bytes
    alt: str
    width: int
    height: int

    def _repr_mimebundle_(
        self, include: Any = None, exclude: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        data = {"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": self.alt}
        metadata = {"image/png": {"alt": self.alt, "width": self.width, "height": self.height}}
        return data, metadata


def figure_image(fig: Figure, *, alt: str, dpi: int = 192) -> FigureImage:
    """Render ``fig`` to PNG at ``dpi``; the displayed size is the figure's size at 96 dpi.

    Twice the displayed resolution by default: a phone shrinks the picture to its width, and a
    printer has three times a screen's dots, so 8-point labels stay sharp in both.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    width, height = fig.get_size_inches()
    # The alt text becomes an attribute (no <bdi> possible): labels from the data lose their
    # bidi controls here.
    alt = strip_bidi_controls(alt)
    return FigureImage(buffer.getvalue(), alt, int(round(width * 96)), int(round(height * 96)))


def figure_block(
    fig: Figure | None, *, alt: str, caption: Safe | str, base: int | None, language: Language, min_cell: int
) -> list[object]:
    """A figure and its caption, or the note saying it was not shown.

    The caption carries the smallest group's number of households (``data-base``) for the
    disclosure scan.
    """
    if fig is None:
        return [Html(note(render("figure_suppressed", language, n=min_cell)))]
    marker = statistic("", base=base) if base is not None else Safe("")
    return [figure_image(fig, alt=alt), Html(element("p", join([caption, marker]), cls="caption"))]


# ---------------------------------------------------------------------------------------------
# Labels


def outcome_label(name: str, *, study: Study, codebook: Codebook | None, language: Language) -> str:
    """Display label of an outcome: study label, else codebook, else constructed, else the name."""
    for outcome in study.outcomes:
        if outcome.name == name and outcome.label:
            return str(outcome.label)
    if codebook is not None and name in codebook:
        text = codebook.get(name).label(language)
        if text:
            return text
    if name in CONSTRUCTED:
        return CONSTRUCTED[name][f"label_{language}"]
    if name.endswith("_women") and name != "_women":
        # Outcomes re-estimated on women respondents (the estimate stage's subsample).
        base = outcome_label(name.removesuffix("_women"), study=study, codebook=codebook, language=language)
        return t("women_suffix", language, label=base)
    for prefix, key in (("index_klk_", "index_klk"), ("index_icw_", "index_icw")):
        if name.startswith(prefix):
            family = name[len(prefix) :]
            return f"{t(key, language)}: {FAMILY_LABELS.get(family, {}).get(language, family)}"
    return name


def outcome_family(name: str, study: Study) -> str | None:
    """The family of an outcome (from the study file, or the index name)."""
    for outcome in study.outcomes:
        if outcome.name == name:
            return outcome.family
    for prefix in ("index_klk_", "index_icw_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return None


def is_money(name: str, codebook: Codebook | None) -> bool:
    """Whether an outcome is in rupiah (income, debt, ...): the rule of the LaTeX tables too."""
    return latex.is_money(name, codebook)


Design = StudyDesign


def study_design(study: Study) -> Design:
    """``randomized`` unless the study file says the comparison villages were ``matched``."""
    return study.design


def primary_estimator(study: Study) -> str:
    """ANCOVA in a randomized design (McKenzie 2012); DiD when comparison villages were matched."""
    return "ancova" if study_design(study) == "randomized" else "did"


def inference_value(inference: pd.DataFrame | None, outcome: str, estimator: str, column: str) -> float:
    """One number of ``impact_inference.csv`` (NaN when the table, the row or the column is absent)."""
    if inference is None or not {"outcome", column} <= set(inference.columns):
        return float("nan")
    mask = inference["outcome"] == outcome
    if "estimator" in inference.columns:
        mask &= inference["estimator"] == estimator
    values = pd.to_numeric(inference.loc[mask, column], errors="coerce").dropna()
    return float(values.iloc[0]) if len(values) else float("nan")


def read_output_table(tables_dir: Path, name: str) -> pd.DataFrame | None:
    """A table of the estimate stage, or None when this run did not write it (or it is empty).

    Not :func:`analysis.inputs.readers.read_table`, which reads a raw survey export.

    Text cells come back as they were before the spreadsheet formula guard (``=X``, not ``'=X``).
    """
    path = tables_dir / name
    if not path.is_file():
        return None
    try:
        frame = read_csv(path, dtype={"village": str})
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None
    return frame if len(frame.columns) else None


def first_column(frame: pd.DataFrame, *candidates: str) -> str | None:
    """The first of ``candidates`` that ``frame`` has (tables from other stages evolve)."""
    return next((c for c in candidates if c in frame.columns), None)


# ---------------------------------------------------------------------------------------------
# Provenance


def write_provenance(study: Study, path: Path, *, root: Path) -> dict[str, object]:
    """Compute the provenance facts once per run and store them for every report."""
    facts: dict[str, object] = {
        "study": study.name,
        "git_commit": git_commit(),
        "inputs_sha256": hash_inputs(study.input_files(), root=root),
        "packages": package_versions(),
        "command": f"berdaya run {study.path.name}",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(facts, indent=2, sort_keys=True) + "\n")
    return facts


def read_provenance(tables_dir: Path, study: Study, *, root: Path) -> dict[str, object]:
    """The run's provenance facts, computing them when the pipeline has not."""
    path = tables_dir / layout.PROVENANCE_JSON
    if path.is_file():
        facts: dict[str, object] = json.loads(path.read_text())
        return facts
    return write_provenance(study, path, root=root)


def provenance_block(
    facts: Mapping[str, object],
    *,
    parameters: Mapping[str, object],
    language: Language,
    started: float,
) -> Html:
    """The provenance block that ends every report.

    Only file names (never folders, which can name a person) and personal-data-free parameters
    are shown.
    """
    inputs = facts.get("inputs_sha256") or {}
    packages = facts.get("packages") or {}
    assert isinstance(inputs, dict) and isinstance(packages, dict)
    commit = facts.get("git_commit") or t("prov_not_git", language)
    generated = time.strftime("%Y-%m-%d %H:%M %Z")
    seconds = number(time.time() - started, language, digits=1)
    items = [
        join([element("b", t("prov_study", language)), ": ", facts.get("study", "")]),
        join([element("b", t("prov_commit", language)), ": ", element("code", commit)]),
        # One text node on purpose: reproducibility checks mask this line as a whole.
        t("prov_run_time", language, when=generated, s=seconds),
        join([element("b", t("prov_rebuild", language)), ": ", element("code", facts.get("command", ""))]),
        join(
            [
                element("b", t("prov_parameters", language)),
                ": ",
                ", ".join(f"{k} = {v}" for k, v in sorted(parameters.items())),
            ]
        ),
        join(
            [
                element("b", t("prov_inputs", language)),
                ":",
                bullets(
                    join([Path(str(name)).name, ": ", element("code", digest)])
                    for name, digest in sorted(inputs.items())
                ),
            ]
        ),
        join(
            [
                element("b", t("prov_packages", language)),
                ": ",
                ", ".join(f"{k} {v}" for k, v in sorted(packages.items())),
            ]
        ),
    ]
    return Html(
        element("div", join([heading(t("provenance", language), level=2), bullets(items)]), cls="provenance")
    )
