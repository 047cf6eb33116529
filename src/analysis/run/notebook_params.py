"""Turn a notebook's ``parameters`` into what the stage code needs, wherever the kernel runs.

A stage notebook is run in three ways: by the pipeline (absolute paths, kernel in
``notebooks/``), by a student with papermill from the repository root or from ``notebooks/``,
and in JupyterLab (kernel in the notebook's folder). The defaults in each ``parameters`` cell
are written relative to the project root; :func:`project_path` finds them from any of those
folders while keeping a path the student typed relative to their own folder.

papermill's ``-p village 0205`` reads the value as YAML-like text and passes the integer 205;
:func:`village_code` turns it back into the study's code ``"0205"`` and says so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from analysis.config import PROJECT_ROOT
from analysis.errors import BerdayaError
from analysis.shared import layout

#: How many village codes an unknown-village error lists.
CODES_SHOWN = 10


def project_path(
    path: str | os.PathLike[str],
    *,
    output: bool = False,
    cwd: str | os.PathLike[str] | None = None,
    root: str | os.PathLike[str] = PROJECT_ROOT,
) -> str:
    """The absolute path a notebook parameter means.

    Rule, first match wins:

    1. an absolute path (after ``~`` expansion) is kept;
    2. a relative path that exists from the current folder is taken from there: a student's
       own ``-p study_path my/study.yml`` means their file, and the old
       ``../data/raw/demo/study.yml`` still works from ``notebooks/``;
    3. a relative path that exists from the project root is taken from there: the notebook
       defaults (``data/raw/demo/study.yml``) from ``notebooks/`` or JupyterLab;
    4. ``output=True`` only, for a folder that exists nowhere yet: from the current folder
       when its parent folder exists there (``-p processed_dir out`` from any folder, or
       ``my/out`` next to an existing ``my/``), since that is where the student is looking;
    5. otherwise from the project root, where the defaults are written relative to.

    An output folder resolves to the same place before and after a stage creates it: a
    folder created under rule 4 is found next run under rule 2, one created under rule 5
    under rule 3 (unless the current folder is the root, where both agree). So the stage that
    writes ``processed_dir`` and the next one that reads it agree, run from the same folder.
    A relative input found nowhere is reported as missing under the project root.

    Parameters
    ----------
    path
        The parameter value.
    output
        The path is a folder a stage may create (``processed_dir``, ``tables_dir``).
    cwd
        The current folder (default: the process's).
    root
        The project root (default: :data:`analysis.config.PROJECT_ROOT`).

    Returns
    -------
    str
        An absolute path (a string, as the stage functions and papermill parameters use).
    """
    given = Path(path).expanduser()
    if given.is_absolute():
        return str(given)
    here = Path(cwd) if cwd is not None else Path.cwd()
    base = Path(root)
    if (here / given).exists():
        chosen = here / given
    elif (base / given).exists():
        chosen = base / given
    elif output and (here / given).parent.is_dir():
        chosen = here / given
    else:
        chosen = base / given
    return str(chosen.absolute())


def _without_leading_zeros(code: str) -> str:
    stripped = code.lstrip("0")
    # "0", "00": keep one zero so the all-zero code still matches itself.
    return stripped if stripped or not code else "0"


def _as_text(village: object) -> str:
    """The village parameter as text; papermill turns ``-p village 0205`` into ``205``."""
    if isinstance(village, bool):
        return str(village)
    if isinstance(village, float) and village.is_integer():
        return str(int(village))
    return str(village).strip()


def match_village(village: object, codes: Sequence[str]) -> tuple[str, str]:
    """The study's code for ``village``, and a note when it was not given literally.

    Parameters
    ----------
    village
        The notebook parameter: text, or a number when papermill parsed ``-p village 0205``.
    codes
        The village codes of the run (``tables/villages.csv``).

    Returns
    -------
    tuple[str, str]
        The code, and ``""`` or a one-line note such as ``village 205 read as 0205``.

    Raises
    ------
    BerdayaError
        No code equals ``village`` even after leading zeros are put back, or several do.
    """
    text = _as_text(village)
    if text in codes:
        return text, ""
    key = _without_leading_zeros(text)
    candidates = [code for code in codes if _without_leading_zeros(code) == key] if key else []
    if len(candidates) == 1:
        return candidates[0], f"village {village} read as {candidates[0]}"
    if candidates:
        raise BerdayaError(
            f"village {village} matches several codes ({', '.join(candidates)}): pass the code as "
            f"text, e.g. papermill -r village {candidates[0]} (-p reads 0205 as the number 205)"
        )
    shown = ", ".join(codes[:CODES_SHOWN]) + (
        f", ... ({len(codes)} in all)" if len(codes) > CODES_SHOWN else ""
    )
    raise BerdayaError(
        f"village {text!r} is not a village of this run; the codes are: {shown or '(none)'}. "
        "Pass one of them as text (papermill -r village CODE)"
    )


def village_code(village: object, *, tables_dir: str | os.PathLike[str]) -> str:
    """The village code a report notebook should use, checked against ``tables/villages.csv``.

    Prints one line when the code was completed (``village 205 read as 0205``), so the
    change is never silent.

    Parameters
    ----------
    village
        The notebook parameter (text or a number).
    tables_dir
        The run's ``tables/`` folder, written by the estimate stage.

    Returns
    -------
    str
        The village code as the panel spells it.

    Raises
    ------
    BerdayaError
        ``villages.csv`` is missing, or the village is unknown or ambiguous (see
        :func:`match_village`).
    """
    from analysis.stages.folders import villages_of

    tables = Path(tables_dir)
    villages = tables / layout.VILLAGES_CSV
    if not villages.is_file():
        raise BerdayaError(
            f"{villages} not found: set tables_dir to the tables folder of a run "
            f"(run {layout.NOTEBOOKS['estimate']} or berdaya run first)"
        )
    code, note = match_village(village, villages_of(tables))
    if note:
        print(note)
    return code
