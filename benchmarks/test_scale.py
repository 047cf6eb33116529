"""The scale benchmark as a slow test (`make bench`); it reports, it never fails on time."""

from __future__ import annotations

import pytest
import scale


@pytest.mark.slow
def test_scale_benchmark() -> None:
    summary = scale.main([])
    assert summary["ratio_to_floor"] > 0
    assert [r["households"] for r in summary["results"]] == [20_000, 50_000, 200_000]
