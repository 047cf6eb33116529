"""Scale: a 200,000-household round cleans in seconds (run with ``make bench`` or ``-m slow``).

No time limit is asserted (the machine is shared); the time is printed, and the accounting
must hold at scale.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from analysis.clean.round import clean_round
from analysis.config import DEMO_DIR
from analysis.inputs.codebook import read_codebook
from analysis.inputs.readers import RawTable, read_table


@pytest.mark.slow
def test_200k_households_clean_with_the_accounting_intact() -> None:
    table = read_table(DEMO_DIR / "baseline_2023.csv")
    copies = 170
    frame = pd.concat([table.frame] * copies, ignore_index=True)
    copy = np.repeat(np.arange(copies), len(table.frame)).astype(str)
    for column in ("hh/hhid", "_uuid"):
        frame[column] = pd.Series(frame[column].astype(str).to_numpy(dtype=object) + "-" + copy, dtype="str")
    big = RawTable(frame=frame, path=table.path)
    start = time.perf_counter()
    result = clean_round(big, round_name="baseline", codebook=read_codebook(DEMO_DIR / "codebook.csv"))
    print(f"\n{len(frame):,} rows cleaned in {time.perf_counter() - start:.1f} s")
    counts = result.counts
    assert counts["raw"] == len(frame) == counts["clean"] + counts["quarantined"] + counts["excluded"]
    single = clean_round(
        table, round_name="baseline", codebook=read_codebook(DEMO_DIR / "codebook.csv")
    ).counts
    assert counts["quarantined"] == copies * single["quarantined"]
    assert counts["excluded"] == copies * single["excluded"]
