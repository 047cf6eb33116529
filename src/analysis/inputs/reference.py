"""Reference tables shipped with the package: the BPS poverty lines.

They are inputs like the survey files (read from ``analysis/data``, versioned with the code),
so they live here and not among the methods, which take numbers and never read files.
"""

from __future__ import annotations

from importlib import resources
from io import StringIO

import pandas as pd

#: The package table of BPS poverty lines, in ``analysis/data``.
POVERTY_LINES_FILE = "bps_poverty_lines.csv"


def poverty_lines() -> pd.DataFrame:
    """BPS poverty lines (Garis Kemiskinan), Rp per capita per month (docs/methods.md §7).

    Read from the versioned package table ``analysis/data/bps_poverty_lines.csv``.

    .. warning::
       Every value comes from **press reports** of BPS releases (the ``source`` column),
       not from BPS's own tables. Check each against the BPS "Profil Kemiskinan di
       Indonesia" release before using it as a default. Missing urban/rural splits
       (March 2022, September 2024) must be taken from that release, never interpolated.

    Returns
    -------
    pandas.DataFrame
        Columns ``round`` (e.g. ``"Mar 2024"``), ``national``, ``urban``, ``rural``,
        ``food`` (the food line, national; nullable integers, ``<NA>`` where not
        reported) and ``source``. ``attrs["notes"]`` holds the file's header comments
        (version and caveats).
    """
    text = (
        resources.files("analysis").joinpath("data").joinpath(POVERTY_LINES_FILE).read_text(encoding="utf-8")
    )
    notes = [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]
    table = pd.read_csv(
        StringIO(text),
        comment="#",
        dtype={
            "round": "string",
            "national": "Int64",
            "urban": "Int64",
            "rural": "Int64",
            "food": "Int64",
            "source": "string",
        },
        keep_default_na=False,
        na_values={c: [""] for c in ("national", "urban", "rural", "food")},
    )
    table.attrs["notes"] = tuple(notes)
    return table
