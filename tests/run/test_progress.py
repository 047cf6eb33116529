"""Long work reports its progress: each stage its time, the village batch a line every tenth.

On a terminal the batch shows a live tqdm bar (tests/run/test_batch.py); written to a file (a
log, CI, ``make report > log``) a redrawn bar is unreadable and silence looks like a hang, so
the batch writes a line at every tenth of the villages instead.
"""

from __future__ import annotations

import re

import pytest
from report_demo import DEMO_VILLAGES, DemoRun

from analysis.run import batch
from analysis.run.batch import ProgressLines

LINE = re.compile(r"village reports: (\d+)/(\d+) done \((\d+)%\), (\d+) failed, [\dminhs ]+ so far")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(batch.time, "monotonic", fake)
    return fake


def test_a_line_at_every_tenth_of_the_villages(clock: Clock) -> None:
    lines: list[str] = []
    progress = ProgressLines(25, lines.append)
    for done in range(1, 26):
        clock.now += 6.0  # six seconds a village
        progress.update(failed=1 if done > 4 else 0)
    assert len(lines) == 10
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    done = [int(m.group(1)) for m in parsed if m]
    # The first village of each new tenth: 3/25 is the first past 10 %, 5/25 reaches 20 %, ...
    assert done == [3, 5, 8, 10, 13, 15, 18, 20, 23, 25]
    assert [int(m.group(3)) for m in parsed if m] == [100 * d // 25 for d in done]
    assert lines[0] == "village reports: 3/25 done (12%), 0 failed, 18 s so far, about 2 min 12 s to go"
    assert lines[-1] == "village reports: 25/25 done (100%), 1 failed, 2 min 30 s so far"


def test_a_small_batch_gets_a_line_per_village(clock: Clock) -> None:
    lines: list[str] = []
    progress = ProgressLines(3, lines.append)
    for _ in range(3):
        clock.now += 70.0
        progress.update(failed=0)
    assert [line.split(",")[0] for line in lines] == [
        "village reports: 1/3 done (33%)",
        "village reports: 2/3 done (66%)",
        "village reports: 3/3 done (100%)",
    ]
    assert lines[0].endswith("1 min 10 s so far, about 2 min 20 s to go")


def test_berdaya_run_to_a_file_shows_each_stage_time_and_the_batch_progress(demo_run: DemoRun) -> None:
    # The session's demo run: `berdaya run ... --workers 2`, its stderr captured (not a terminal).
    lines = demo_run.run.stderr.splitlines()
    for stage in ("clean baseline", "clean followup", "construct panel", "estimate impacts", "programme report"):
        assert f"{stage} ..." in lines
        assert any(re.fullmatch(rf"{stage}: done in \d+\.\d s", line) for line in lines), stage
    progress = [m for m in map(LINE.match, lines) if m]
    total = 2 * len(DEMO_VILLAGES)  # the demo run writes each village in Indonesian and English: one batch
    assert [(int(m.group(1)), int(m.group(2))) for m in progress] == [(k, total) for k in range(1, total + 1)]
    assert not any("\r" in line or "elapsed," in line for line in lines)  # no progress bar redrawn
    assert re.fullmatch(r"done: .+ \(\d+ s in all\)", lines[-1])
