"""The benchmarks as slow tests: `make bench` (`pytest -m slow benchmarks -s`) runs them.

They report timings and ratios; they never fail on a time limit (the machine is shared).
"""

from __future__ import annotations

import batch
import pytest


@pytest.mark.slow
def test_village_batch_benchmark() -> None:
    summary = batch.main([])
    assert summary["naive_over_berdaya2"] > 0 and summary["berdaya2_over_floor"] > 0
    assert set(summary["memory"]) == {
        "100 villages, 1 worker(s)",
        "100 villages, 2 worker(s)",
        "25 villages, 2 worker(s)",
    }
