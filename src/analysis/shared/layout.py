"""Every file name one part of a run writes and another reads, defined once.

A stage reads only the previous stage's files, so the names are the contract between them:
the clean stage writes per-round files into the processed folder, the construct stage the
panel next to them, the estimate stage the tables (public tier in ``<out>/tables/``, internal
tier in ``<processed>/internal/``), and the run the pages and its record into the output
folder. Each name says who writes it and who reads it. Names a user sees in messages come
from here too, so a renamed file cannot leave a message pointing at the old name.

Raw survey files, the study file and the files a study team keeps (corrections, decisions,
codebook) are named by the study, not here.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

#: A round name that is used as it is in file names (every round named in a study file's
#: ``rounds`` keys is one; the values of a long file's round column may not be).
_SAFE_ROUND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def round_stem(round_name: str) -> str:
    """The file-name form of a round: the name itself when it is safe, else a slug and a hash.

    Rounds named in a long file's round column can hold spaces, slashes or dots (``2020 Q1``,
    ``1/2021``); their files get a slug of letters, digits, ``-`` and ``_`` and 8 hex digits
    of the name's SHA-256, so two names that slug alike (``2020 Q1``, ``2020-Q1``) never share
    a file. ``baseline`` stays ``baseline``.

    >>> round_stem("midline")
    'midline'
    >>> round_stem("2020 Q1")
    '2020_Q1-92defc57'
    """
    if _SAFE_ROUND.match(round_name) or round_name == "*":
        # "*" stays, so that clean_parquet("*") globs every round's file.
        return round_name
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", round_name).strip("_-")[:60] or "round"
    return f"{cleaned}-{hashlib.sha256(round_name.encode('utf-8')).hexdigest()[:8]}"


# ---------------------------------------------------------------------------------------------
# The processed folder: one set per round, written by the clean stage (stages/clean.py)


def clean_parquet(round_name: str) -> str:
    """Clean rows, de-identified: clean writes; construct, village summaries, replication read."""
    return f"{round_stem(round_name)}_clean.parquet"


def id_forms_parquet(round_name: str) -> str:
    """Keyed hashes of the normalised household ids: clean writes; construct reads (linkage check)."""
    return f"{round_stem(round_name)}_id_forms.parquet"


def quarantine_csv(round_name: str) -> str:
    """Quarantined rows and reasons: clean writes, construct appends; the reports read it."""
    return f"{round_stem(round_name)}_quarantine.csv"


def row_states_csv(round_name: str) -> str:
    """One state per raw row: clean writes, construct updates; estimate reads (row accounting)."""
    return f"{round_stem(round_name)}_row_states.csv"


def changes_csv(round_name: str) -> str:
    """The cell-level cleaning log: clean writes; the village report's data quality reads it."""
    return f"{round_stem(round_name)}_changes.csv"


def missing_csv(round_name: str) -> str:
    """Values set to missing, by variable and reason: clean writes; for the user."""
    return f"{round_stem(round_name)}_missing.csv"


def quality_csv(round_name: str) -> str:
    """Quality flags: clean writes; for the user."""
    return f"{round_stem(round_name)}_quality.csv"


def validation_csv(round_name: str) -> str:
    """Schema-check failures: clean writes; for the user."""
    return f"{round_stem(round_name)}_validation.csv"


def duplicates_csv(round_name: str) -> str:
    """The duplicates report, to copy into the decisions file: clean writes; for the user."""
    return f"{round_stem(round_name)}_duplicates.csv"


def columns_csv(round_name: str) -> str:
    """The raw columns with their variable and kind: clean writes; construct reads (schema diff)."""
    return f"{round_stem(round_name)}_columns.csv"


def summary_json(round_name: str) -> str:
    """Counts, notes, removed and hashed columns: clean writes; the run record reads it."""
    return f"{round_stem(round_name)}_summary.json"


def warnings_json(name: str) -> str:
    """Warnings of a round (clean) or of ``construct``: that stage writes; estimate gathers them."""
    return f"{name}_warnings.json"


# ---------------------------------------------------------------------------------------------
# The processed folder: the panel, written by the construct stage (stages/construct.py)

#: The household panel: construct writes; estimate and the reports read it.
PANEL_PARQUET: Final = "panel.parquet"
#: Households by arm and linkage status: construct writes; estimate reads (linkage.csv).
PANEL_LINKAGE_CSV: Final = "panel_linkage.csv"
#: Rows left out of the panel and why: construct writes; for the user.
PANEL_EXCLUSIONS_CSV: Final = "panel_exclusions.csv"
#: Households found in one round only: construct writes; for the user.
UNLINKED_CSV: Final = "unlinked.csv"
#: Households per village and arm by linkage: construct writes; for the user.
LINKAGE_BY_VILLAGE_CSV: Final = "linkage_by_village.csv"
#: Linkage counts: construct writes; the run record reads it.
LINKAGE_SUMMARY_JSON: Final = "linkage_summary.json"
#: What changed between the rounds' columns: construct writes; for the user.
SCHEMA_DIFF_CSV: Final = "schema_diff.csv"

# ---------------------------------------------------------------------------------------------
# The processed folder: the run's own records

#: The internal (unsuppressed) tier of the tables, inside the processed folder: estimate writes
#: it for the evaluator; nothing reads it, and a replication package leaves it out.
INTERNAL_DIR: Final = "internal"
#: The processed folder of a study kept outside ``data/raw/``, inside the output folder.
OUT_PROCESSED_DIR: Final = "processed"
#: The record of the study file that owns a processed folder: the run writes and reads it.
PROCESSED_OWNER: Final = ".berdaya-study.json"
#: The lock a run holds in its output and processed folders: the run writes and reads it.
LOCK_FILE: Final = ".berdaya.lock"

# ---------------------------------------------------------------------------------------------
# The tables (``<out>/tables/`` and ``<processed>/internal/``), written by the estimate stage
# (stages/estimate.py) unless said otherwise

#: The tables folder inside the output folder: estimate writes; reports, index and package read.
TABLES_DIR: Final = "tables"
#: The impact contract (exactly config.IMPACT_COLUMNS): estimate writes; the user and package read.
IMPACT_CSV: Final = "impact.csv"
#: impact.csv plus notes: estimate writes; the reports read it.
IMPACT_DETAIL_CSV: Final = "impact_detail.csv"
#: Event-study coefficients of a study with more than two rounds (exactly
#: config.EVENT_STUDY_COLUMNS): estimate writes; the programme report reads it.
EVENT_STUDY_CSV: Final = "event_study.csv"
#: The joint test of the pre-period event-study coefficients, per outcome and estimator, of a
#: study with more than two rounds (columns analysis.estimate.multi_round.PRETREND_COLUMNS):
#: estimate writes; the programme report reads it.
PRETREND_CSV: Final = "pretrend.csv"
#: Few-cluster p-values and q-values: estimate writes; the reports read it.
IMPACT_INFERENCE_CSV: Final = "impact_inference.csv"
#: Index weights of the family indices: estimate writes; the programme report reads it.
INDEX_WEIGHTS_CSV: Final = "index_weights.csv"
#: The outcomes and their kind: estimate writes; the programme report reads it.
OUTCOMES_CSV: Final = "outcomes.csv"
#: Baseline balance: estimate writes; the programme report reads it.
BALANCE_CSV: Final = "balance.csv"
#: Attrition tests: estimate writes; the programme report reads it.
ATTRITION_CSV: Final = "attrition.csv"
#: Lee bounds: estimate writes; the programme report reads it.
LEE_BOUNDS_CSV: Final = "lee_bounds.csv"
#: Minimum detectable effects: estimate writes; the programme report reads it.
MDE_CSV: Final = "mde.csv"
#: Multidimensional poverty: estimate writes; the programme report reads it.
ALKIRE_FOSTER_CSV: Final = "alkire_foster.csv"
#: The income conventions used: estimate writes; for the user.
INCOME_CONVENTIONS_CSV: Final = "income_conventions.csv"
#: Raw rows per round by state: estimate writes; the programme report reads it.
ROW_ACCOUNTING_CSV: Final = "row_accounting.csv"
#: Households by arm and linkage (public tier of panel_linkage.csv): estimate writes; for the user.
LINKAGE_CSV: Final = "linkage.csv"
#: One row per village: estimate writes; the run (village list), index and village reports read it.
VILLAGES_CSV: Final = "villages.csv"
#: Every warning of the run: estimate writes; the reports and the run read it.
WARNINGS_CSV: Final = "warnings.csv"
#: LaTeX impact table: estimate writes; for the paper.
IMPACT_TEX: Final = "impact.tex"
#: LaTeX family-index table: estimate writes; for the paper.
INDICES_TEX: Final = "indices.tex"
#: LaTeX balance table: estimate writes; for the paper.
BALANCE_TEX: Final = "balance.tex"
#: LaTeX attrition table: estimate writes; for the paper.
ATTRITION_TEX: Final = "attrition.tex"
#: The programme report's tables in LaTeX: the programme report writes; for the paper.
PROGRAMME_TEX: Final = "programme_report.tex"
#: Provenance facts: the run writes it once; every report reads it.
PROVENANCE_JSON: Final = "provenance.json"

# ---------------------------------------------------------------------------------------------
# The output folder, written by the run (run/pipeline.py, run/batch.py)

#: The run record: the run writes it; the next run (what to skip) and ``berdaya`` commands read it.
RUN_JSON: Final = "run.json"
#: The programme report: the run writes it; the index links to it.
PROGRAMME_HTML: Final = "programme.html"
#: The programme report printed to A4: the run writes it (report/pdf.py); for the user.
PROGRAMME_PDF: Final = "programme.pdf"
#: The index page: the run writes it; the user opens it.
INDEX_HTML: Final = "index.html"
#: Village reports (and failed village notebooks): the batch writes; the index links to them.
VILLAGES_DIR: Final = "villages"
#: Executed notebooks (village ones in ``notebooks/villages/``): the run writes; for the user.
EXECUTED_DIR: Final = "notebooks"
#: The extension of a report page.
HTML_SUFFIX: Final = ".html"
#: The extension of a failed village's partly executed notebook, kept next to the reports.
FAILED_SUFFIX: Final = ".failed.ipynb"
#: The extension of an executed notebook.
NOTEBOOK_SUFFIX: Final = ".ipynb"
#: The extension of a report printed to A4 (next to its HTML page).
PDF_SUFFIX: Final = ".pdf"


def village_html(stem: str) -> str:
    """A village report in ``villages/``: the batch writes; the index links to it."""
    return f"{stem}{HTML_SUFFIX}"


def village_pdf(stem: str) -> str:
    """A village report printed to A4, next to its HTML page in ``villages/``: the run writes it."""
    return f"{stem}{PDF_SUFFIX}"


def printed_pdf(page: str) -> str:
    """The A4 PDF of a report page (``programme.html`` → ``programme.pdf``), next to it: the run writes it."""
    return f"{page.removesuffix(HTML_SUFFIX)}{PDF_SUFFIX}"


def in_language(name: str, language: str, *, first: str) -> str:
    """A report's file name in ``language``: the run's first language keeps ``name``.

    The others add their code before the extension (``0101.html`` → ``0101.en.html``,
    ``programme.html`` → ``programme.en.html``, ``index.html`` → ``index.en.html``). Village
    file names are slugs without dots, so no village's name can be another's translation.
    """
    if language == first:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{language}.{suffix}" if dot else f"{name}.{language}"


def failed_notebook(stem: str) -> str:
    """A failed village's notebook in ``villages/``: the batch writes; the index links to it."""
    return f"{stem}{FAILED_SUFFIX}"


def executed_notebook(stem: str) -> str:
    """An executed notebook in ``notebooks/`` (or ``notebooks/villages/``): the run writes it."""
    return f"{stem}{NOTEBOOK_SUFFIX}"


#: The notebooks of the stages and reports in the project's ``notebooks/`` folder; the run
#: executes them, a replication package names them.
NOTEBOOKS: Final[dict[str, str]] = {
    "clean": "01_clean_round.ipynb",
    "construct": "02_construct_panel.ipynb",
    "estimate": "03_estimate_impacts.ipynb",
    "programme": "04_programme_report.ipynb",
    "village": "05_village_report.ipynb",
}


def executed_clean_notebook(round_name: str) -> str:
    """The clean notebook as executed for one round, in ``notebooks/``: the run writes it."""
    return executed_notebook(f"01_clean_{round_stem(round_name)}")


# ---------------------------------------------------------------------------------------------
# A replication package (run/replication.py)

#: The package's checksums and expected tables: ``berdaya package`` writes; ``verify`` reads it.
MANIFEST_JSON: Final = "MANIFEST.json"
