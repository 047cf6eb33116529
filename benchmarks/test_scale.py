"""The scale benchmark as a slow test (`make bench`); it reports, it never fails on time.

At each size it times the data stages in-process and `berdaya run --no-village-reports` from the
command line, in the same run.
"""

from __future__ import annotations

import pytest
import scale


@pytest.mark.slow
def test_scale_benchmark() -> None:
    summary = scale.main([])
    assert summary["ratio_to_floor"] > 0
    # `berdaya run` from the command line ran at every size, against the in-process stages.
    assert summary["command_over_pipeline"] > 0
    assert all(r["cli_s"] > 0 and r["cli_stages"]["estimate"] > 0 for r in summary["results"])
    assert [r["households"] for r in summary["results"]] == [20_000, 50_000, 200_000]
